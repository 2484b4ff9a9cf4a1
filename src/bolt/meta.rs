//! The two meta pages: parsing, validation (magic, version, FNV-1a checksum) and the choice of the
//! active one, as bbolt makes it: the valid meta with the higher transaction id.

use super::layout::*;
use serde::Serialize;

/// A bucket header: the root page of a bucket's tree (0 = inline) and its sequence counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BucketHeader {
    pub root: u64,
    pub sequence: u64,
}

/// One decoded meta page, valid or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub magic: u32,
    pub version: u32,
    pub page_size: u32,
    pub flags: u32,
    pub root: BucketHeader,
    /// Freelist page id, or `u64::MAX` when the freelist is not persisted.
    pub freelist: u64,
    /// High-water mark: the first page id never allocated (pages in use or free are below it).
    pub high_water_mark: u64,
    pub txid: u64,
    pub checksum: u64,
}

/// Why a meta page is not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaProblem {
    TooShort { have: usize },
    NotMetaPage { flags: u16 },
    BadMagic { found: u32 },
    BadVersion { found: u32 },
    BadChecksum { stored: u64, computed: u64 },
    /// Valid on its own, but its page size disagrees with the other meta's.
    PageSizeMismatch { found: u32, expected: u32 },
}

impl std::fmt::Display for MetaProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetaProblem::TooShort { have } => write!(f, "only {have} bytes, a meta page needs {META_END}"),
            MetaProblem::NotMetaPage { flags } => {
                write!(f, "page flags 0x{flags:02x} ({}), expected meta (0x04)", page_type_name(*flags))
            }
            MetaProblem::BadMagic { found } => write!(f, "magic 0x{found:08x}, expected 0x{MAGIC:08x}"),
            MetaProblem::BadVersion { found } => write!(f, "format version {found}, expected {VERSION}"),
            MetaProblem::BadChecksum { stored, computed } => {
                write!(f, "checksum 0x{stored:016x} stored, 0x{computed:016x} computed")
            }
            MetaProblem::PageSizeMismatch { found, expected } => {
                write!(f, "page size {found} disagrees with the other meta's {expected}")
            }
        }
    }
}

/// FNV-1a, 64 bit: the meta checksum.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Meta {
    /// Decodes and validates the meta in `page` (the page's first bytes, header included).
    pub fn parse(page: &[u8]) -> Result<Meta, (Option<Meta>, MetaProblem)> {
        let (Some(flags), Some(body)) = (u16_at(page, PAGE_FLAGS), page.get(..META_END)) else {
            return Err((None, MetaProblem::TooShort { have: page.len() }));
        };
        let rd32 = |o| u32_at(body, o).unwrap_or_default();
        let rd64 = |o| u64_at(body, o).unwrap_or_default();
        let meta = Meta {
            magic: rd32(META_MAGIC),
            version: rd32(META_VERSION),
            page_size: rd32(META_PAGE_SIZE),
            flags: rd32(META_FLAGS),
            root: BucketHeader { root: rd64(META_ROOT + BUCKET_ROOT), sequence: rd64(META_ROOT + BUCKET_SEQUENCE) },
            freelist: rd64(META_FREELIST),
            high_water_mark: rd64(META_HWM),
            txid: rd64(META_TXID),
            checksum: rd64(META_CHECKSUM),
        };
        let problem = if meta.magic != MAGIC {
            Some(MetaProblem::BadMagic { found: meta.magic })
        } else if meta.version != VERSION {
            Some(MetaProblem::BadVersion { found: meta.version })
        } else {
            let computed = fnv1a64(&body[META_MAGIC..META_CHECKSUM]);
            (computed != meta.checksum).then_some(MetaProblem::BadChecksum { stored: meta.checksum, computed })
        };
        // The flags check comes after the content checks: a zeroed page is better described by
        // its magic than by its flags.
        let problem = problem.or_else(|| (flags != META_PAGE).then_some(MetaProblem::NotMetaPage { flags }));
        match problem {
            None => Ok(meta),
            Some(p) => Err((Some(meta), p)),
        }
    }
}

/// What was found at one of the two meta slots.
#[derive(Debug, Clone)]
pub struct MetaSlot {
    /// 0 or 1.
    pub page: u64,
    pub meta: Option<Meta>,
    pub problem: Option<MetaProblem>,
}

impl MetaSlot {
    pub fn is_valid(&self) -> bool {
        self.problem.is_none() && self.meta.is_some()
    }
}

/// The outcome of reading both metas: which one is active and why.
#[derive(Debug, Clone)]
pub struct MetaChoice {
    pub slots: [MetaSlot; 2],
    /// Index into `slots` of the active meta.
    pub active: usize,
}

impl MetaChoice {
    pub fn active_meta(&self) -> &Meta {
        self.slots[self.active].meta.as_ref().expect("the active slot holds a valid meta")
    }

    /// One sentence saying which meta is used and why, as an operator would want it.
    pub fn reason(&self) -> String {
        let chosen = &self.slots[self.active];
        let other = &self.slots[1 - self.active];
        let txid = chosen.meta.as_ref().map(|m| m.txid).unwrap_or_default();
        match (&other.problem, &other.meta) {
            (None, Some(o)) => format!(
                "meta page {} (txid {txid}) is used: both metas are valid and it has the higher txid (page {} has txid {})",
                chosen.page, other.page, o.txid
            ),
            (Some(p), _) => format!(
                "meta page {} (txid {txid}) is used: meta page {} is invalid ({p})",
                chosen.page, other.page
            ),
            (None, None) => format!("meta page {} (txid {txid}) is used", chosen.page),
        }
    }

    /// Picks the active meta: the valid one with the higher txid. `None` if neither is valid.
    pub fn choose(slot0: MetaSlot, slot1: MetaSlot) -> Option<MetaChoice> {
        let mut slots = [slot0, slot1];
        // Two valid metas must agree on the page size; if they don't, the older one is suspect.
        if let (true, true) = (slots[0].is_valid(), slots[1].is_valid()) {
            let (a, b) = (slots[0].meta.as_ref().unwrap(), slots[1].meta.as_ref().unwrap());
            if a.page_size != b.page_size {
                let (older, expected) = if a.txid < b.txid { (0, b.page_size) } else { (1, a.page_size) };
                let found = slots[older].meta.as_ref().unwrap().page_size;
                slots[older].problem = Some(MetaProblem::PageSizeMismatch { found, expected });
            }
        }
        let txid = |s: &MetaSlot| s.meta.as_ref().map(|m| m.txid);
        let active = match (slots[0].is_valid(), slots[1].is_valid()) {
            (true, true) => usize::from(txid(&slots[1]) > txid(&slots[0])),
            (true, false) => 0,
            (false, true) => 1,
            (false, false) => return None,
        };
        Some(MetaChoice { slots, active })
    }
}
