//! A bbolt database borrowed from a byte slice (usually a read-only mmap): page size detection,
//! meta choice, and bounds-checked page access. Nothing here writes or locks.

use super::layout::*;
use super::meta::{Meta, MetaChoice, MetaProblem, MetaSlot};
use super::page::{corrupt_at, Node, Page};
use super::tree::Bucket;
use crate::error::{Error, Location, Result};
use std::path::Path;
use std::sync::Arc;

/// An open bbolt database. `data` is the database region of the file (without any trailer).
#[derive(Debug, Clone)]
pub struct Db<'a> {
    data: &'a [u8],
    file: Arc<Path>,
    page_size: usize,
    choice: MetaChoice,
    /// The high-water mark used: the active meta's, or, for a truncated file opened by
    /// [`Db::open_permissive`], the whole pages the file still has.
    hwm: u64,
}

/// A file shorter than its active meta says, opened anyway ([`Db::open_permissive`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncation {
    /// The active meta's high-water mark.
    pub stated_pages: u64,
    /// Whole pages present: the high-water mark used.
    pub present_pages: u64,
    /// Bytes of the database region present.
    pub bytes: u64,
}

const MIN_PAGE_SIZE: usize = *PAGE_SIZES.start();
const MAX_PAGE_SIZE: usize = *PAGE_SIZES.end();

impl<'a> Db<'a> {
    /// Opens the database held in `data`. `file` names it in errors. Refuses what bbolt
    /// cannot open: a file shorter than two pages, no valid meta, a file shorter than the active
    /// meta says; and, where bbolt would open it and then fail, an active meta whose page ids
    /// are impossible ([`Meta::impossibility`]).
    pub fn open(data: &'a [u8], file: Arc<Path>) -> Result<Db<'a>> {
        let page_size = detect_page_size(data, &file)?;
        let slot = |page: u64| read_slot(data, page_size, page);
        let (slot0, slot1) = (slot(0), slot(1));
        let Some(choice) = MetaChoice::choose(slot0.clone(), slot1.clone()) else {
            return Err(both_metas_invalid(&file, page_size, &slot0, &slot1));
        };
        let mut db = Db { data, file, page_size, choice, hwm: 0 };
        db.refuse_less_than_two_pages()?;
        db.refuse_impossible_meta()?;
        db.hwm = db.check_meta_fits(false)?;
        Ok(db)
    }

    /// As [`Db::open`], for `check --best-effort` and salvage, which report damage rather than
    /// stop at it: when neither meta is valid, the one that still parses (the higher txid) is
    /// used whatever its checksum says; when the meta bbolt would use names impossible pages,
    /// the other one is used if it is valid and possible ([`MetaChoice::passed_over`]), else
    /// the impossible one is read with the file's whole pages as its high-water mark; and a
    /// file shorter than the active meta's high-water mark (the commonest damage: a copy cut
    /// short) is read as far as it goes, its whole pages being the high-water mark
    /// ([`Db::truncation`] says so). A file shorter than two pages has nothing to read.
    pub fn open_permissive(data: &'a [u8], file: Arc<Path>) -> Result<Db<'a>> {
        if let Ok(db) = Db::open(data, file.clone()) {
            return Ok(db);
        }
        let page_size = match detect_page_size(data, &file) {
            Ok(ps) => ps,
            Err(e) => page_size_of_damaged_metas(data).ok_or(e)?,
        };
        let slot = |page: u64| read_slot(data, page_size, page);
        let slots = [slot(0), slot(1)];
        let mut choice = match MetaChoice::choose(slots[0].clone(), slots[1].clone()) {
            Some(choice) => choice,
            None => {
                let txid = |s: &MetaSlot| s.meta.as_ref().map(|m| m.txid);
                let active = match (txid(&slots[0]), txid(&slots[1])) {
                    (Some(a), Some(b)) => usize::from(b > a),
                    (Some(_), None) => 0,
                    (None, Some(_)) => 1,
                    (None, None) => return Db::open(data, file),
                };
                MetaChoice { slots, active, passed_over: None }
            }
        };
        choice.pass_over_impossible();
        let mut db = Db { data, file, page_size, choice, hwm: 0 };
        db.refuse_less_than_two_pages()?;
        db.hwm = db.check_meta_fits(true)?;
        Ok(db)
    }

    /// The active meta's slot.
    fn active_slot(&self) -> &MetaSlot {
        &self.choice.slots[self.choice.active]
    }

    /// bbolt refuses a file shorter than two pages ("file size too small") before it reads a
    /// meta; so does every reader here: no page but the metas could be in it. The error names
    /// where the file ends (inside meta page 0 or 1), not a page that does not exist.
    fn refuse_less_than_two_pages(&self) -> Result<()> {
        let (len, ps) = (self.data.len() as u64, self.page_size as u64);
        let two_pages = ps.saturating_mul(2);
        if len >= two_pages {
            return Ok(());
        }
        let meta = self.meta();
        Err(corrupt_at(
            &self.file,
            len / ps,
            len,
            format!(
                "file is shorter than its two meta pages: {len} bytes, where two pages of {ps} bytes need {two_pages}; \
             it ends inside meta page {}, so no page of data is present (the active meta, txid {}, says the database has {} pages)",
                len / ps,
                meta.txid,
                meta.high_water_mark
            ),
        ))
    }

    /// Refuses an active meta whose page ids are impossible (bbolt chooses it and fails),
    /// saying which meta, why, and whether the other one could be read instead.
    fn refuse_impossible_meta(&self) -> Result<()> {
        let used = self.active_slot();
        let Some(why) = &used.impossible else { return Ok(()) };
        let other = &self.choice.slots[1 - self.choice.active];
        let instead = if other.is_usable() {
            format!("{} is valid and its page ids possible: `check --best-effort` and `salvage` read through it", other.name())
        } else {
            let why_not = match (&other.problem, &other.impossible) {
                (Some(p), _) => p.to_string(),
                (None, Some(i)) => i.what.clone(),
                (None, None) => "unreadable".into(),
            };
            format!("{} is not usable either ({why_not})", other.name())
        };
        let ps = self.page_size as u64;
        Err(corrupt_at(
            &self.file,
            used.page,
            used.page * ps + why.field as u64,
            format!(
                "{} is the meta bbolt uses (valid checksum, the higher txid), but its {}; bbolt fails on it \
             (etcd, and `snapshot status`, panic: out of bounds); {instead}",
                used.name(),
                why.what
            ),
        ))
    }

    /// The high-water mark to use: the active meta's when the file holds it; with `cap`, the
    /// whole pages of a shorter file (two at least, checked before), or of any file when the
    /// active meta's own mark is impossible; else an error.
    fn check_meta_fits(&self, cap: bool) -> Result<u64> {
        let meta = self.meta();
        let hwm = meta.high_water_mark;
        let present = self.data.len() as u64 / self.page_size as u64;
        let hwm_impossible = matches!(meta.impossibility(self.page_size), Some(i) if i.field == META_HWM);
        let need = hwm.checked_mul(self.page_size as u64);
        let Some(need) = need.filter(|_| !hwm_impossible) else {
            if cap {
                return Ok(present);
            }
            let at = self.active_slot().page * self.page_size as u64 + META_HWM as u64;
            return Err(corrupt_at(&self.file, self.active_slot().page, at, format!("high-water mark {hwm} is impossible")));
        };
        if need <= self.data.len() as u64 {
            return Ok(hwm);
        }
        if cap && present >= 2 {
            return Ok(present);
        }
        // The page the file ends in (or the first one missing), where the damage is, at that
        // page's offset; the file's size is in the message.
        Err(corrupt_at(
            &self.file,
            present,
            present * self.page_size as u64,
            format!(
                "file is truncated: the active meta (txid {}) says the database has {hwm} pages of {} bytes \
             ({need} bytes) but only {} bytes are present{}",
                meta.txid,
                self.page_size,
                self.data.len(),
                if cap { "" } else { " (check --best-effort and salvage read what is there)" }
            ),
        ))
    }

    /// How the file falls short of its active meta's high-water mark, when it was opened
    /// anyway ([`Db::open_permissive`]).
    pub fn truncation(&self) -> Option<Truncation> {
        let meta = self.meta();
        let stated = meta.high_water_mark;
        let stated_impossible = matches!(meta.impossibility(self.page_size), Some(i) if i.field == META_HWM);
        (!stated_impossible && self.hwm < stated).then_some(Truncation { stated_pages: stated, present_pages: self.hwm, bytes: self.data.len() as u64 })
    }

    pub fn file(&self) -> &Arc<Path> {
        &self.file
    }

    pub fn page_size(&self) -> usize {
        self.page_size
    }

    pub fn meta(&self) -> &Meta {
        self.choice.active_meta()
    }

    pub fn meta_choice(&self) -> &MetaChoice {
        &self.choice
    }

    /// The high-water mark: the first page id never allocated. The active meta's, unless a
    /// truncated file was opened permissively ([`Db::truncation`]).
    pub fn high_water_mark(&self) -> u64 {
        self.hwm
    }

    /// Logical size of the database: high-water mark times page size (checked at open to fit
    /// in the file, so never saturated in practice).
    pub fn size(&self) -> u64 {
        self.high_water_mark().saturating_mul(self.page_size as u64)
    }

    /// The page run starting at `id`, checked to lie inside the file and below the high-water mark.
    pub fn page(&self, id: u64) -> Result<Page<'a>> {
        let hwm = self.high_water_mark();
        let ps = self.page_size as u64;
        if id >= hwm {
            return Err(self.corrupt(id, id.saturating_mul(ps), format!("page id {id} is beyond the high-water mark {hwm}")));
        }
        // id < hwm and hwm * ps <= the file's length were checked at open, so none of this
        // arithmetic can overflow; it is checked anyway, and every slice is taken with `get`,
        // so that a wrong assumption gives an error, never a panic.
        let offset = id.saturating_mul(ps);
        let beyond = || self.corrupt(id, offset, format!("page {id} lies beyond the end of the {}-byte file", self.data.len()));
        let start = usize::try_from(offset).map_err(|_| beyond())?;
        let header = start.checked_add(PAGE_HEADER_SIZE).and_then(|end| self.data.get(start..end)).ok_or_else(beyond)?;
        let flags = u16_at(header, PAGE_FLAGS).unwrap_or_default();
        let count = u16_at(header, PAGE_COUNT).unwrap_or_default();
        let overflow = u32_at(header, PAGE_OVERFLOW).unwrap_or_default();
        let run_pages = u64::from(overflow) + 1;
        // Pages id .. id + run_pages must lie below the high-water mark (hwm - id > 0 here).
        if run_pages > hwm - id {
            return Err(self.corrupt(
                id,
                offset.saturating_add(PAGE_OVERFLOW as u64),
                format!("page {id} claims {overflow} overflow pages, running past the high-water mark {hwm}"),
            ));
        }
        let stored_id = u64_at(header, PAGE_ID).unwrap_or_default();
        if stored_id != id {
            return Err(self.corrupt(id, offset, format!("page {id} holds the header of page {stored_id}")));
        }
        let bytes = run_pages
            .checked_mul(ps)
            .and_then(|len| usize::try_from(len).ok())
            .and_then(|len| self.data.get(start..start.checked_add(len)?))
            .ok_or_else(beyond)?;
        Ok(Page { id, flags, count, overflow, bytes, offset })
    }

    /// The branch or leaf node at page `id`.
    pub fn node(&self, id: u64) -> Result<Node<'a>> {
        Node::from_page(&self.page(id)?, &self.file)
    }

    /// The root bucket, whose entries are the top-level buckets.
    pub fn root(&self) -> Bucket<'a> {
        Bucket::on_page(self.meta().root)
    }

    pub fn corrupt(&self, page: u64, offset: u64, what: impl Into<String>) -> Error {
        corrupt_at(&self.file, page, offset, what)
    }
}

/// What meta slot `page` (0 or 1) holds, for pages of `page_size` bytes.
fn read_slot(data: &[u8], page_size: usize, page: u64) -> MetaSlot {
    let start = page as usize * page_size;
    let bytes = data.get(start..(start + page_size).min(data.len())).unwrap_or_default();
    match Meta::parse(bytes) {
        Ok(meta) => MetaSlot { page, impossible: meta.impossibility(page_size), meta: Some(meta), problem: None },
        Err((meta, problem)) => MetaSlot { page, meta, problem: Some(problem), impossible: None },
    }
}

/// The page size a damaged meta still states, when it carries bbolt's magic and a plausible
/// size (page 0's, or page 1's found at that size).
fn page_size_of_damaged_metas(data: &[u8]) -> Option<usize> {
    let plausible = page_size_supported;
    let stated = |bytes: &[u8]| match Meta::parse(bytes) {
        Ok(m) | Err((Some(m), _)) if m.magic == MAGIC && plausible(m.page_size as usize) => Some(m.page_size as usize),
        _ => None,
    };
    if let Some(ps) = stated(data) {
        return Some(ps);
    }
    let mut ps = MIN_PAGE_SIZE;
    while ps <= MAX_PAGE_SIZE && ps + META_END <= data.len() {
        if stated(&data[ps..]) == Some(ps) {
            return Some(ps);
        }
        ps *= 2;
    }
    None
}

/// Finds the page size: from meta page 0 if it validates, else by probing for meta page 1 at
/// power-of-two offsets (what bbolt does when page 0 is damaged).
fn detect_page_size(data: &[u8], file: &Arc<Path>) -> Result<usize> {
    if data.len() < META_END {
        return Err(Error::Unrecognised {
            path: file.to_path_buf(),
            reason: format!("not a bbolt database: only {} bytes, too short for a meta page", data.len()),
        });
    }
    let plausible = page_size_supported;
    if let Ok(meta) = Meta::parse(data) {
        if plausible(meta.page_size as usize) {
            return Ok(meta.page_size as usize);
        }
    }
    let mut ps = MIN_PAGE_SIZE;
    while ps <= MAX_PAGE_SIZE && ps + META_END <= data.len() {
        if let Ok(meta) = Meta::parse(&data[ps..]) {
            if meta.page_size as usize == ps {
                return Ok(ps);
            }
        }
        ps *= 2;
    }
    // No valid meta anywhere. If page 0 at least carries the magic, this is a damaged bbolt file;
    // report it as such with the page-0 problem, else say it is not bbolt at all.
    match Meta::parse(data) {
        Err((Some(m), problem)) if m.magic == MAGIC => {
            let ps = if plausible(m.page_size as usize) { m.page_size as usize } else { 4096 };
            let slot = |page: u64| {
                let start = page as usize * ps;
                let bytes = data.get(start..).unwrap_or_default();
                match Meta::parse(bytes) {
                    Ok(meta) => MetaSlot { page, impossible: meta.impossibility(ps), meta: Some(meta), problem: None },
                    Err((meta, problem)) => MetaSlot { page, meta, problem: Some(problem), impossible: None },
                }
            };
            let _ = problem;
            Err(both_metas_invalid(file, ps, &slot(0), &slot(1)))
        }
        _ => Err(Error::Unrecognised {
            path: file.to_path_buf(),
            reason: "not a bbolt database: no meta page with bbolt's magic number 0xED0CDAED at offset 16 \
                     or at any page-size offset"
                .into(),
        }),
    }
}

fn problem_offset(p: &MetaProblem) -> usize {
    match p {
        MetaProblem::TooShort { .. } => 0,
        MetaProblem::NotMetaPage { .. } => PAGE_FLAGS,
        MetaProblem::BadMagic { .. } => META_MAGIC,
        MetaProblem::BadVersion { .. } => META_VERSION,
        MetaProblem::BadChecksum { .. } => META_CHECKSUM,
        MetaProblem::PageSizeMismatch { .. } => META_PAGE_SIZE,
    }
}

fn both_metas_invalid(file: &Arc<Path>, page_size: usize, s0: &MetaSlot, s1: &MetaSlot) -> Error {
    let describe = |s: &MetaSlot| match &s.problem {
        Some(p) => format!("meta page {} at byte {}: {p}", s.page, s.page as usize * page_size + problem_offset(p)),
        None => format!("meta page {} unreadable", s.page),
    };
    let first = s0.problem.as_ref().map(problem_offset).unwrap_or(0) as u64;
    Error::corrupt(Location { file: file.clone(), page: Some(0), offset: first }, format!("both meta pages are invalid ({}; {})", describe(s0), describe(s1)))
}
