//! Record framing and the CRC chain across segments (docs/format/wal.md §2, §4).
//!
//! Each frame is a little-endian u64 length word (low 56 bits: record length `n`; top byte
//! `0x80|p` when `p` bytes of padding follow), the `walpb.Record` bytes and the padding, so every
//! frame starts 8-aligned. A zero length word (the preallocated tail) or the end of the file ends
//! a segment. Every record's `crc` is the running CRC-32C of the data of all records before it
//! and its own; a crc record at the top of each segment carries the running value over.
//!
//! Segments are read into memory, not mapped (see [`Wal`]).
//!
//! What is wrong is told apart as etcd tells it: a last record cut short, or one that fails in
//! the last segment and has an all-zero 512-byte sector chunk, is *torn* (etcd would truncate it
//! on start); anything else is *corrupt*. With `best_effort` the reader then looks for the next
//! plausible frame and goes on, with the CRC chain restarted there.

use super::segment::Segments;
use crate::error::{Error, Location, Result};
use crate::protowire::{fields, Wire};
use std::fs::File;
use std::io::Read;
use std::path::Path;

pub use super::layout::{CRC, ENTRY, MAX_RECORD_BYTES, METADATA, SNAPSHOT, STATE};
use super::layout::{LENGTH_BITS, SECTOR, WORD};

/// One record as framed on disk.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Index into the segment list.
    pub segment: usize,
    /// Record number within its segment, from 0.
    pub record: u64,
    /// Offset of the frame's length word in the segment file.
    pub offset: u64,
    pub rtype: i64,
    pub crc: u32,
    pub data: &'a [u8],
    /// False for the first record after a resynchronisation (nothing to check it against).
    pub crc_checked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DamageKind {
    /// A torn last write: etcd repairs it by truncating the segment at `offset`.
    Torn,
    Corrupt,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub segment: usize,
    pub record: u64,
    pub offset: u64,
    pub kind: DamageKind,
    pub what: String,
    /// With best effort: where reading went on (segment, offset), if anywhere.
    pub resumed_at: Option<(usize, u64)>,
}

/// How a segment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentEnd {
    /// A zero length word at `offset` (the preallocated, zero-filled tail) of `tail` bytes.
    ZeroTail { offset: u64, tail: u64 },
    /// The end of the file, right after a record.
    Eof { offset: u64 },
    /// Reading stopped at damage.
    Damaged { offset: u64 },
}

#[derive(Debug, Clone)]
pub enum Event<'a> {
    Frame(Frame<'a>),
    Damage(Damage),
    End { segment: usize, end: SegmentEnd },
}

/// Data a segment may hold: etcd cuts a segment once it passes 64 MB, so one holds at most
/// that plus one record (under 10 MiB). A larger file is not read into memory.
pub const MAX_SEGMENT_DATA: u64 = 256 << 20;
/// Zero bytes kept after a segment's last non-zero byte (the rest of the preallocated,
/// zero-filled tail is not held): enough for the zero length word that ends the log and for
/// any record torn into the tail to be seen as running into zeros.
const ZERO_TAIL_KEPT: usize = 64 << 10;

/// One segment's bytes, read into memory. Segments are read, not memory-mapped: a running etcd
/// truncates a segment when it cuts the next one, and a map of a file that shrinks kills the
/// reader with SIGBUS; a read just returns fewer bytes.
struct SegmentBytes {
    /// The file's bytes, with its zero-filled tail cut to at most [`ZERO_TAIL_KEPT`] bytes.
    data: Vec<u8>,
    /// The file's length as read.
    file_len: u64,
}

fn read_segment(path: &Path) -> Result<SegmentBytes> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut chunk = vec![0u8; 1 << 20];
    let (mut data, mut zeros, mut file_len) = (Vec::new(), 0usize, 0u64);
    loop {
        let n = match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        file_len = file_len.saturating_add(n as u64);
        let part = &chunk[..n];
        match part.iter().rposition(|&b| b != 0) {
            // A zero-filled run is counted, not held: it can be as long as the file.
            None => zeros = zeros.saturating_add(n),
            Some(last) => {
                if data.len().saturating_add(zeros).saturating_add(last + 1) as u64 > MAX_SEGMENT_DATA {
                    return Err(Error::corrupt(
                        Location { file: path.into(), page: None, offset: file_len.saturating_sub(n as u64) },
                        format!("segment holds more than {MAX_SEGMENT_DATA} bytes of data, more than etcd writes to one segment; not read"),
                    ));
                }
                data.resize(data.len() + zeros, 0);
                data.extend_from_slice(&part[..=last]);
                zeros = n - last - 1;
            }
        }
    }
    data.resize(data.len() + zeros.min(ZERO_TAIL_KEPT), 0);
    Ok(SegmentBytes { data, file_len })
}

/// The segments of one WAL. Reading holds one segment in memory at a time.
pub struct Wal {
    pub segments: Segments,
}

impl Wal {
    pub fn open(segments: Segments) -> Result<Wal> {
        Ok(Wal { segments })
    }

    /// Every record of every segment, in order, with damage and segment ends as events, handed
    /// to `visit` one at a time. Each segment is read into memory when its turn comes and let go
    /// after it (no lock is taken: a running etcd's WAL can be read).
    pub fn scan(&self, best_effort: bool, visit: &mut dyn FnMut(Event<'_>) -> Result<()>) -> Result<()> {
        let count = self.segments.files.len();
        let mut chain = Chain::default();
        for (segment, file) in self.segments.files.iter().enumerate() {
            if chain.stopped {
                break;
            }
            let read = read_segment(&file.path)?;
            let mut events = Events {
                bytes: &read.data,
                file_len: read.file_len,
                segment,
                last: segment + 1 == count,
                best_effort,
                pos: 0,
                record: 0,
                chain: &mut chain,
                finished: false,
                pending: None,
                resync_work: 0,
            };
            while let Some(e) = events.next() {
                visit(e)?;
            }
        }
        Ok(())
    }
}

/// What carries over from one segment to the next.
#[derive(Default)]
struct Chain {
    /// The running CRC.
    crc: u32,
    /// After a resync, the next record re-seeds the chain instead of being checked.
    broken: bool,
    /// Reading stopped at damage (not best-effort).
    stopped: bool,
}

/// The events of one segment.
struct Events<'a, 'c> {
    bytes: &'a [u8],
    file_len: u64,
    segment: usize,
    last: bool,
    best_effort: bool,
    pos: u64,
    record: u64,
    chain: &'c mut Chain,
    /// This segment is done.
    finished: bool,
    pending: Option<Event<'a>>,
    /// Bytes of candidate records parsed while resynchronising in this segment.
    resync_work: u64,
}

/// A record's fields, borrowed.
struct Parsed<'a> {
    rtype: i64,
    crc: u32,
    data: &'a [u8],
}

fn parse_record(b: &[u8]) -> std::result::Result<Parsed<'_>, String> {
    let (mut rtype, mut crc, mut data) = (None, None, &[][..]);
    for f in fields(b) {
        match f.map_err(|e| format!("record does not parse: {} at byte {} of the record", e.what, e.offset))? {
            (1, Wire::Varint(v)) => rtype = Some(v as i64),
            (2, Wire::Varint(v)) => crc = Some(v as u32),
            (3, Wire::Bytes(d)) => data = d,
            (n @ 1..=3, w) => return Err(format!("record field {n} has wire type {}", w.type_name())),
            _ => {}
        }
    }
    Ok(Parsed { rtype: rtype.ok_or("record has no type")?, crc: crc.unwrap_or(0), data })
}

/// The frame at `pos`: (record length, padding) from its length word, or why not.
fn length_word(bytes: &[u8], pos: u64) -> Option<(u64, u64)> {
    let at = usize::try_from(pos).ok()?;
    let w = u64::from_le_bytes(bytes.get(at..at.checked_add(8)?)?.try_into().ok()?);
    let n = w & !(0xff << LENGTH_BITS);
    let pad = if (w as i64) < 0 { (w >> LENGTH_BITS) & 7 } else { 0 };
    Some((n, pad))
}

/// etcd's torn-write test: some 512-byte-sector-aligned chunk of the frame body is all zeros.
fn has_zero_sector_chunk(body: &[u8], body_offset: u64) -> bool {
    let mut off = body_offset;
    let mut rest = body;
    while !rest.is_empty() {
        let take = usize::try_from(SECTOR - off % SECTOR).unwrap_or(usize::MAX).min(rest.len());
        let (chunk, tail) = rest.split_at(take);
        if chunk.iter().all(|&b| b == 0) {
            return true;
        }
        off += take as u64;
        rest = tail;
    }
    false
}

impl<'a> Events<'a, '_> {
    fn damage(&mut self, kind: DamageKind, what: String) -> Event<'a> {
        let offset = self.pos;
        let mut d = Damage { segment: self.segment, record: self.record, offset, kind, what, resumed_at: None };
        let end = Event::End { segment: self.segment, end: SegmentEnd::Damaged { offset } };
        if self.best_effort {
            let found = self.resync();
            if found.is_none() && self.resync_work > self.resync_budget() {
                d.what.push_str(&format!("; gave up looking for the next record in this segment after parsing {} bytes of candidates", self.resync_work));
            }
            self.chain.broken = true;
            if let Some(at) = found {
                d.resumed_at = Some((self.segment, at));
                self.pos = at;
                return Event::Damage(d);
            }
            // Nothing more in this segment: go on with the next one.
            self.pending = Some(end);
            self.finished = true;
            if !self.last {
                d.resumed_at = Some((self.segment + 1, 0));
            }
            return Event::Damage(d);
        }
        self.chain.stopped = true;
        self.finished = true;
        self.pending = Some(end);
        Event::Damage(d)
    }

    /// Bytes of candidate records resynchronisation may parse in one segment: a crafted segment
    /// can put a plausible length word at every 8-byte offset, each claiming megabytes that
    /// parse slowly, and searching it all would be quadratic.
    fn resync_budget(&self) -> u64 {
        (self.bytes.len() as u64).saturating_mul(8).saturating_add(MAX_RECORD_BYTES)
    }

    /// The next 8-aligned offset after the damage that holds a plausible frame, within the
    /// segment's resynchronisation budget.
    fn resync(&mut self) -> Option<u64> {
        let bytes = self.bytes;
        let len = bytes.len() as u64;
        let budget = self.resync_budget();
        let mut at = self.pos + WORD;
        while at + WORD <= len {
            if let Some((n, pad)) = length_word(bytes, at) {
                let plausible_pad = pad == (WORD - n % WORD) % WORD;
                if n > 0 && n < MAX_RECORD_BYTES && plausible_pad && at + WORD + n + pad <= len {
                    self.resync_work += n;
                    if self.resync_work > budget {
                        return None;
                    }
                    let body = &bytes[(at + WORD) as usize..(at + WORD + n) as usize];
                    if parse_record(body).is_ok_and(|p| (METADATA..=SNAPSHOT).contains(&p.rtype)) {
                        return Some(at);
                    }
                }
            }
            at += WORD;
        }
        None
    }

    fn end(&mut self, end: SegmentEnd) -> Event<'a> {
        self.finished = true;
        Event::End { segment: self.segment, end }
    }

    fn next(&mut self) -> Option<Event<'a>> {
        if let Some(e) = self.pending.take() {
            return Some(e);
        }
        if self.finished {
            return None;
        }
        let bytes = self.bytes;
        let len = bytes.len() as u64;
        let pos = self.pos;
        if pos == len {
            return Some(self.end(SegmentEnd::Eof { offset: pos }));
        }
        let Some((n, pad)) = length_word(bytes, pos) else {
            let kind = if self.last { DamageKind::Torn } else { DamageKind::Corrupt };
            return Some(self.damage(kind, format!("{} bytes left where a length word belongs", len - pos)));
        };
        if n == 0 && pad == 0 {
            let tail = self.file_len.saturating_sub(pos);
            return Some(self.end(SegmentEnd::ZeroTail { offset: pos, tail }));
        }
        if n >= MAX_RECORD_BYTES.saturating_sub(pad) {
            return Some(self.damage(DamageKind::Corrupt, format!("record length {n} is over etcd's limit of {MAX_RECORD_BYTES} bytes")));
        }
        let end = pos + WORD + n + pad;
        if end > len {
            let kind = if self.last { DamageKind::Torn } else { DamageKind::Corrupt };
            return Some(self.damage(kind, format!("record of {n} bytes runs {} bytes past the end of the segment", end - len)));
        }
        let body_start = (pos + WORD) as usize;
        let body = &bytes[body_start..body_start + n as usize];
        let framed = &bytes[body_start..end as usize];
        let torn_or = |this: &Self| if this.last && has_zero_sector_chunk(framed, pos + WORD) { DamageKind::Torn } else { DamageKind::Corrupt };
        let parsed = match parse_record(body) {
            Ok(p) => p,
            Err(e) => {
                let kind = torn_or(self);
                return Some(self.damage(kind, e));
            }
        };
        let mut crc_checked = true;
        if self.chain.broken {
            // After a resync (or a skipped segment) there is nothing to check this record
            // against: it re-seeds the chain.
            self.chain.crc = parsed.crc;
            self.chain.broken = false;
            crc_checked = false;
        } else if parsed.rtype == CRC {
            if self.chain.crc != 0 && parsed.crc != self.chain.crc {
                let what = format!("crc record carries {:08x}, the running CRC is {:08x}", parsed.crc, self.chain.crc);
                return Some(self.damage(DamageKind::Corrupt, what));
            }
            self.chain.crc = parsed.crc;
        } else {
            let running = crc32c::crc32c_append(self.chain.crc, parsed.data);
            if running != parsed.crc {
                let kind = torn_or(self);
                let what = format!("CRC mismatch: record says {:08x}, data gives {running:08x}", parsed.crc);
                return Some(self.damage(kind, what));
            }
            self.chain.crc = running;
        }
        let frame = Frame { segment: self.segment, record: self.record, offset: pos, rtype: parsed.rtype, crc: parsed.crc, data: parsed.data, crc_checked };
        self.record += 1;
        self.pos = end;
        Some(Event::Frame(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_sector_chunks_follow_file_offsets() {
        // 16 bytes starting at offset 504: chunks [504, 512) and [512, 520).
        let mut b = [1u8; 16];
        assert!(!has_zero_sector_chunk(&b, 504));
        b[8..].fill(0);
        assert!(has_zero_sector_chunk(&b, 504));
        assert!(!has_zero_sector_chunk(&b, 496), "one chunk [496, 512), not all zero");
    }

    #[test]
    fn length_words() {
        // n = 4, p = 4: top byte 0x84.
        assert_eq!(length_word(&[4, 0, 0, 0, 0, 0, 0, 0x84], 0), Some((4, 4)));
        assert_eq!(length_word(&[32, 0, 0, 0, 0, 0, 0, 0], 0), Some((32, 0)));
        assert_eq!(length_word(&[1, 2, 3], 0), None);
    }
}
