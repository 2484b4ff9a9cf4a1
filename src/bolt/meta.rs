//! The two meta pages: parsing, validation (magic, version, FNV-1a checksum) and the choice of the
//! active one, as bbolt makes it: the valid meta with the higher transaction id.
//!
//! bbolt validates nothing else: a meta whose checksum is right can still name pages that cannot
//! exist (a high-water mark of 0, a root page at or beyond it). bbolt chooses such a meta all the
//! same, and fails on it: opened for writing, as etcd, `etcdutl snapshot status` (3.5) and
//! `etcdctl snapshot status` (3.4) open a file, it panics ("freepages: failed to get all
//! reachable pages (page 79: out of bounds: 0)"). [`Meta::impossibility`] says what is wrong
//! with such a meta; the strict readers refuse it, naming the other meta when it is usable, and
//! the tolerant ones ([`MetaChoice::pass_over_impossible`]) read through the other meta instead.

use super::layout::*;
use serde::Serialize;

/// A bucket header: the root page of a bucket's tree (0 = inline) and its sequence counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BucketHeader {
    pub root: u64,
    pub sequence: u64,
}

/// The smallest high-water mark a database can have: two meta pages and the root bucket's page.
pub const MIN_HIGH_WATER_MARK: u64 = 3;

/// What makes a meta impossible although bbolt accepts it: one of its page ids cannot be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Impossible {
    /// Offset of the field inside the meta page (as in [`super::layout`]).
    pub field: usize,
    pub what: String,
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
    TooShort {
        have: usize,
    },
    NotMetaPage {
        flags: u16,
    },
    BadMagic {
        found: u32,
    },
    BadVersion {
        found: u32,
    },
    BadChecksum {
        stored: u64,
        computed: u64,
    },
    /// Valid on its own, but its page size disagrees with the other meta's.
    PageSizeMismatch {
        found: u32,
        expected: u32,
    },
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

impl Meta {
    /// Why this meta cannot describe a database of `page_size`-byte pages although it passes
    /// bbolt's checks: a high-water mark below [`MIN_HIGH_WATER_MARK`] or too large to be a byte
    /// size, a root page outside the data pages (2 up to the high-water mark), a persisted
    /// freelist outside them. `None` when its page ids are possible.
    pub fn impossibility(&self, page_size: usize) -> Option<Impossible> {
        let hwm = self.high_water_mark;
        let impossible = |field, what: String| Some(Impossible { field, what });
        if hwm < MIN_HIGH_WATER_MARK {
            return impossible(
                META_HWM,
                format!("high-water mark {hwm} is impossible: the two meta pages and the root bucket's page need at least {MIN_HIGH_WATER_MARK}"),
            );
        }
        if hwm.checked_mul(page_size as u64).is_none() {
            return impossible(META_HWM, format!("high-water mark {hwm} is impossible: {hwm} pages of {page_size} bytes is more bytes than a file can have"));
        }
        let root = self.root.root;
        if !(2..hwm).contains(&root) {
            return impossible(
                META_ROOT + BUCKET_ROOT,
                format!("root bucket page {root} is impossible: the data pages are 2..{hwm} (below the high-water mark {hwm})"),
            );
        }
        let freelist = self.freelist;
        if freelist != NO_FREELIST && !(2..hwm).contains(&freelist) {
            return impossible(META_FREELIST, format!("freelist page {freelist} is impossible: the data pages are 2..{hwm} (below the high-water mark {hwm})"));
        }
        None
    }
}

/// What was found at one of the two meta slots.
#[derive(Debug, Clone)]
pub struct MetaSlot {
    /// 0 or 1.
    pub page: u64,
    pub meta: Option<Meta>,
    pub problem: Option<MetaProblem>,
    /// For a meta bbolt accepts: why its page ids cannot be (bbolt chooses it all the same).
    pub impossible: Option<Impossible>,
}

impl MetaSlot {
    /// Valid as bbolt judges a meta: magic, version, checksum (and a page size agreeing with
    /// the other meta's).
    pub fn is_valid(&self) -> bool {
        self.problem.is_none() && self.meta.is_some()
    }

    /// Valid, and its page ids possible: a meta a reader can go by.
    pub fn is_usable(&self) -> bool {
        self.is_valid() && self.impossible.is_none()
    }

    /// "meta page N (txid T)".
    pub fn name(&self) -> String {
        match &self.meta {
            Some(m) => format!("meta page {} (txid {})", self.page, m.txid),
            None => format!("meta page {}", self.page),
        }
    }
}

/// The outcome of reading both metas: which one is active and why.
#[derive(Debug, Clone)]
pub struct MetaChoice {
    pub slots: [MetaSlot; 2],
    /// Index into `slots` of the active meta.
    pub active: usize,
    /// The slot bbolt would have used, when a tolerant reader passed over it because its page
    /// ids are impossible ([`MetaChoice::pass_over_impossible`]).
    pub passed_over: Option<usize>,
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
        if let (Some(_), Some(why)) = (self.passed_over, &other.impossible) {
            return format!(
                "{} is used: {} has a valid checksum and the higher txid, but {}; bbolt would use it and fail",
                chosen.name(),
                other.name(),
                why.what
            );
        }
        match (&other.problem, &other.meta) {
            (None, Some(o)) => format!(
                "meta page {} (txid {txid}) is used: both metas are valid and it has the higher txid (page {} has txid {})",
                chosen.page, other.page, o.txid
            ),
            (Some(p), _) => format!("meta page {} (txid {txid}) is used: meta page {} is invalid ({p})", chosen.page, other.page),
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
        Some(MetaChoice { slots, active, passed_over: None })
    }

    /// For readers that go on past damage: when the meta bbolt chose names impossible pages
    /// ([`Meta::impossibility`]) and the other meta is usable, reads through the other one and
    /// remembers the one passed over. Returns whether it did.
    pub fn pass_over_impossible(&mut self) -> bool {
        let other = 1 - self.active;
        if self.slots[self.active].impossible.is_none() || !self.slots[other].is_usable() {
            return false;
        }
        self.passed_over = Some(self.active);
        self.active = other;
        true
    }
}
