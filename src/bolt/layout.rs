//! bbolt's on-disk layout as constants. Offsets chain from one another so the diagram in
//! docs/format/bbolt.md can be checked against the code line by line. All integers are
//! little-endian (bbolt writes native order; every platform etcd ships for is little-endian).
//!
//! ```text
//! page header (16 bytes, start of every page)
//! 0        8       10      12          16
//! | id u64 | flags | count | overflow  |
//! ```

/// Magic number in every meta page.
pub const MAGIC: u32 = 0xED0C_DAED;
/// The only bbolt file format version.
pub const VERSION: u32 = 2;
/// Freelist page id meaning "freelist not persisted" (etcd's default on Linux).
pub const NO_FREELIST: u64 = u64::MAX;

// Page header.
pub const PAGE_ID: usize = 0;
pub const PAGE_FLAGS: usize = PAGE_ID + 8;
pub const PAGE_COUNT: usize = PAGE_FLAGS + 2;
pub const PAGE_OVERFLOW: usize = PAGE_COUNT + 2;
pub const PAGE_HEADER_SIZE: usize = PAGE_OVERFLOW + 4;

// Page type flags (exactly one is set).
pub const BRANCH_PAGE: u16 = 0x01;
pub const LEAF_PAGE: u16 = 0x02;
pub const META_PAGE: u16 = 0x04;
pub const FREELIST_PAGE: u16 = 0x10;

// Meta body, starting right after the page header of page 0 and page 1.
pub const META_MAGIC: usize = PAGE_HEADER_SIZE;
pub const META_VERSION: usize = META_MAGIC + 4;
pub const META_PAGE_SIZE: usize = META_VERSION + 4;
pub const META_FLAGS: usize = META_PAGE_SIZE + 4;
pub const META_ROOT: usize = META_FLAGS + 4; // a 16-byte bucket header
pub const META_FREELIST: usize = META_ROOT + BUCKET_HEADER_SIZE;
pub const META_HWM: usize = META_FREELIST + 8;
pub const META_TXID: usize = META_HWM + 8;
pub const META_CHECKSUM: usize = META_TXID + 8;
pub const META_END: usize = META_CHECKSUM + 8;

// Branch element (16 bytes): key at elem+pos, ksize bytes long; child page id.
pub const BRANCH_POS: usize = 0;
pub const BRANCH_KSIZE: usize = BRANCH_POS + 4;
pub const BRANCH_CHILD: usize = BRANCH_KSIZE + 4;
pub const BRANCH_ELEMENT_SIZE: usize = BRANCH_CHILD + 8;

// Leaf element (16 bytes): key at elem+pos, value right after the key.
pub const LEAF_FLAGS: usize = 0;
pub const LEAF_POS: usize = LEAF_FLAGS + 4;
pub const LEAF_KSIZE: usize = LEAF_POS + 4;
pub const LEAF_VSIZE: usize = LEAF_KSIZE + 4;
pub const LEAF_ELEMENT_SIZE: usize = LEAF_VSIZE + 4;
/// Leaf element flag: the value is a nested bucket header, not a user value.
pub const BUCKET_LEAF_FLAG: u32 = 0x01;

// Bucket header (value of a bucket entry, and the meta's root): root page id (0 = inline), sequence.
pub const BUCKET_ROOT: usize = 0;
pub const BUCKET_SEQUENCE: usize = BUCKET_ROOT + 8;
pub const BUCKET_HEADER_SIZE: usize = BUCKET_SEQUENCE + 8;

/// Freelist header count meaning "the real count is the first u64 of the body".
pub const FREELIST_COUNT_OVERFLOW: u16 = 0xFFFF;

/// Page sizes read and written, powers of two only. bbolt takes its page size from a valid meta
/// page 0 whatever it is (the OS page size when the file was made, or `Options.PageSize`); 512 B
/// is the smallest seen (bbolt's own tests), 16 MiB far above any OS page. The reader and the
/// writer share this range, so whatever is read can be written back.
pub const PAGE_SIZES: std::ops::RangeInclusive<usize> = 512..=(1 << 24);

/// Whether `page_size` is one etcdscope reads and writes (a power of two in [`PAGE_SIZES`]).
pub fn page_size_supported(page_size: usize) -> bool {
    page_size.is_power_of_two() && PAGE_SIZES.contains(&page_size)
}

/// Largest key bbolt accepts; used to reject nonsense lengths early.
pub const MAX_KEY_SIZE: usize = 32768;

/// Deepest tree a walk will follow. bbolt trees of any realistic size are under 10 levels.
pub const MAX_TREE_DEPTH: usize = 64;

pub fn page_type_name(flags: u16) -> &'static str {
    match flags {
        BRANCH_PAGE => "branch",
        LEAF_PAGE => "leaf",
        META_PAGE => "meta",
        FREELIST_PAGE => "freelist",
        _ => "invalid",
    }
}

pub(crate) fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off.checked_add(2)?)?.try_into().ok()?))
}
pub(crate) fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off.checked_add(4)?)?.try_into().ok()?))
}
pub(crate) fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off.checked_add(8)?)?.try_into().ok()?))
}
