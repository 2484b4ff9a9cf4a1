//! The WAL's on-disk constants, shared by the reader ([`super::frame`]) and the writer
//! ([`super::write`]) (docs/format/wal.md §2–§4).
//!
//! ```text
//! frame: | length word u64 LE | walpb.Record bytes (n) | padding (p zero bytes) |
//!          low 56 bits: n; top byte 0x80|p when p > 0, so every frame starts 8-aligned
//! ```

/// Record types (walpb.Record.type).
pub const METADATA: i64 = 1;
pub const ENTRY: i64 = 2;
pub const STATE: i64 = 3;
pub const CRC: i64 = 4;
pub const SNAPSHOT: i64 = 5;

/// etcd refuses records of this size or more (`maxWALEntrySizeLimit`).
pub const MAX_RECORD_BYTES: u64 = 10 * 1024 * 1024;
/// Frames start on this alignment; the length word is this long.
pub const WORD: u64 = 8;
/// etcd's torn-write test looks at the record in chunks of this size.
pub const SECTOR: u64 = 512;
/// Bits of the length word that hold the record length.
pub const LENGTH_BITS: u32 = 56;
/// Top-byte flag of the length word: padding follows, its size in the low 3 bits.
pub const PADDED_FLAG: u64 = 0x80;
/// The size etcd preallocates (and cuts) each segment at (`SegmentSizeBytes`, 64 MB decimal).
pub const SEGMENT_BYTES: u64 = 64_000_000;

/// The length word of a record of `n` bytes, and the padding that follows it.
pub fn length_word(n: u64) -> (u64, u64) {
    let pad = (WORD - n % WORD) % WORD;
    let word = if pad > 0 { n | ((PADDED_FLAG | pad) << LENGTH_BITS) } else { n };
    (word, pad)
}

/// A segment's file name: `<sequence>-<first index>.wal`, both 16 hex digits.
pub fn segment_name(sequence: u64, index: u64) -> String {
    format!("{sequence:016x}-{index:016x}.wal")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_goes_in_the_top_byte() {
        assert_eq!(length_word(16), (16, 0));
        assert_eq!(length_word(13), (13 | (0x83 << 56), 3));
        assert_eq!(segment_name(0, 0x15), "0000000000000000-0000000000000015.wal");
    }
}
