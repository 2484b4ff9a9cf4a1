//! A structural check of a bbolt file that keeps going: every problem becomes a finding naming
//! its page (and byte offset), in bbolt's own words where `bbolt check` has them ("unreachable
//! unfreed", "already freed", "reachable freed", "multiple references", "out of bounds",
//! "invalid type", "keys out of order"), and the walk goes on past it. What it looks at: both
//! meta pages; a file shorter than its meta says; every page reachable from the active meta
//! (ids within the high-water mark, page headers naming their own id, page types, overflow runs,
//! element bounds, keys ascending within a page and within the bounds the parent branch sets);
//! nested and inline buckets; the persisted freelist against reachability.
//!
//! The walk is the one every reader uses ([`super::walk::Walker`]), with an observer that
//! records instead of stopping, so its guards (pages reached twice, depth, overlapping nested
//! bucket values, the visit budget) hold here too.

use super::db::Db;
use super::freelist::{list_freelist, Listing};
use super::layout::*;
use super::meta::{Impossible, MetaChoice};
use super::tree::Root;
use super::walk::{Observer, PageSet, Place, Problem, TreeStats, WalkOptions, Walker};
use crate::bolt::tree::Entry;
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, not a fault (a restored member's stale confState, no trailer on a db).
    Info,
    /// Inconsistent but readable; etcd may work around it.
    Warning,
    /// Damage: data is lost, misplaced or unreadable.
    Error,
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// `bbolt` (pages, trees), `etcd` (buckets' contents) or `trailer`.
    pub layer: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    pub what: String,
}

impl Finding {
    pub fn bolt(severity: Severity, page: Option<u64>, offset: Option<u64>, what: impl Into<String>) -> Finding {
        Finding { severity, layer: "bbolt", page, offset, what: what.into() }
    }

    /// A finding from a reader's error (which names the page and offset when it can).
    pub fn from_error(layer: &'static str, e: &Error) -> Finding {
        match e {
            Error::Corrupt { at, what } => Finding { severity: Severity::Error, layer, page: at.page, offset: Some(at.offset), what: what.clone() },
            other => Finding { severity: Severity::Error, layer, page: None, offset: None, what: other.to_string() },
        }
    }

    fn of_problem(p: &Problem) -> Finding {
        Finding::bolt(p.severity, Some(p.page), Some(p.offset), p.what.clone())
    }
}

/// What the walk saw, for the etcd layer and for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TreeCheck {
    /// The high-water mark used (the whole pages present, for a truncated file).
    pub pages: u64,
    pub reachable: u64,
    /// Whether the meta names a freelist page (etcd never persists one).
    pub freelist_persisted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freelist_page: Option<u64>,
    /// Whether that page could be read as a list (its entries are judged one by one).
    pub freelist_read: bool,
    /// Entries on the freelist.
    pub freed: u64,
}

/// An observer that wants nothing more than the findings.
struct Nothing;

impl<'a> Observer<'a> for Nothing {
    fn problem(&mut self, _: Place<'a>, _: Problem) -> Result<()> {
        Ok(())
    }
}

/// Records every problem as a finding and passes problems and entries on to `also`.
struct Findings<'o, 'a> {
    out: &'o mut Vec<Finding>,
    also: &'o mut dyn Observer<'a>,
}

impl<'a> Observer<'a> for Findings<'_, 'a> {
    fn problem(&mut self, place: Place<'a>, problem: Problem) -> Result<()> {
        self.out.push(Finding::of_problem(&problem));
        self.also.problem(place, problem)
    }
    fn element(&mut self, place: Place<'a>, entry: &Entry<'a>) -> Result<()> {
        self.also.element(place, entry)
    }
    fn entered(&mut self, place: Place<'a>) {
        self.also.entered(place)
    }
}

/// Checks the whole file, adding findings to `out`. Ends early only when `cancel` is cancelled
/// ([`Error::Interrupted`]).
pub fn check_tree(db: &Db<'_>, out: &mut Vec<Finding>, cancel: &Cancel) -> Result<TreeCheck> {
    Ok(check_walk(db, out, &mut Nothing, cancel)?.0)
}

/// [`check_tree`], also returning the pages reached from the meta (trees, overflow, freelist), and
/// handing every problem and entry of the walk from the meta's root to `also` (whose answer to a
/// problem is ignored but for an error, which ends the check with it).
pub fn check_walk<'a>(db: &Db<'a>, out: &mut Vec<Finding>, also: &mut dyn Observer<'a>, cancel: &Cancel) -> Result<(TreeCheck, PageSet)> {
    let hwm = db.high_water_mark();
    check_metas(db, out);
    let mut seen = PageSet::new(hwm);
    seen.insert(0);
    seen.insert(1.min(hwm.saturating_sub(1)));
    {
        let mut findings = Findings { out: &mut *out, also };
        let options = WalkOptions { key_order: true, ..WalkOptions::default() };
        let mut stats = TreeStats::default();
        let active = db.meta_choice().slots[db.meta_choice().active].page;
        let pointer = (active, active * db.page_size() as u64 + META_ROOT as u64);
        Walker::new(db, &mut seen, &mut stats, options, &mut findings).cancellable(cancel).bucket(Root::Page(db.meta().root.root), Some(pointer))?;
    }
    let mut report = TreeCheck { pages: hwm, ..Default::default() };
    check_freelist(db, &mut seen, &mut report, out);
    report.reachable = seen.len();
    Ok((report, seen))
}

/// Invalid metas (bbolt uses the other), metas bbolt accepts whose page ids are impossible,
/// and a file shorter than the active meta says.
fn check_metas(db: &Db<'_>, out: &mut Vec<Finding>) {
    let choice = db.meta_choice();
    let ps = db.page_size() as u64;
    for (i, slot) in choice.slots.iter().enumerate() {
        if let Some(problem) = &slot.problem {
            let used = &choice.slots[choice.active];
            let then = if used.is_valid() { format!("bbolt uses meta page {}", used.page) } else { "bbolt refuses a file with no valid meta".into() };
            out.push(Finding::bolt(
                Severity::Warning,
                Some(slot.page),
                Some(slot.page * ps),
                format!("meta page {} is invalid ({problem}); {then}", slot.page),
            ));
        }
        if let Some(why) = &slot.impossible {
            out.push(impossible_meta(choice, i, why, ps));
        }
    }
    if let Some(t) = db.truncation() {
        out.push(Finding::bolt(
            Severity::Error,
            Some(t.present_pages),
            // The page the file ends in, at its offset (the file's size is in the message).
            Some(t.present_pages.saturating_mul(ps)),
            format!(
                "file is truncated: the active meta (txid {}) says the database has {} pages of {ps} bytes ({} bytes) but only {} bytes are present; \
             read as {} pages, what the tree kept beyond is lost",
                db.meta().txid,
                t.stated_pages,
                t.stated_pages.saturating_mul(ps),
                t.bytes,
                t.present_pages
            ),
        ));
    }
}

/// The finding for meta slot `i`, which bbolt accepts but whose page ids are impossible: an
/// error when bbolt would read through it (passed over for the other meta, or used for want of
/// a better one), a warning when it is the older meta (bbolt falls back to it, and would fail,
/// only if the newer one were damaged).
fn impossible_meta(choice: &MetaChoice, i: usize, why: &Impossible, ps: u64) -> Finding {
    let slot = &choice.slots[i];
    let at = (Some(slot.page), Some(slot.page * ps + why.field as u64));
    let name = slot.name();
    let what = &why.what;
    if choice.passed_over == Some(i) {
        let used = choice.slots[choice.active].name();
        return Finding::bolt(
            Severity::Error,
            at.0,
            at.1,
            format!(
                "{name} has a valid checksum and the higher txid, so bbolt uses it, but its {what}; bbolt fails on it (etcd cannot open this file): \
             read through {used} instead, which loses what the newer transaction wrote"
            ),
        );
    }
    if choice.active == i {
        return Finding::bolt(
            Severity::Error,
            at.0,
            at.1,
            format!("{name} is the meta bbolt uses, but its {what}; the other meta is not usable: read as far as the file's pages go"),
        );
    }
    Finding::bolt(
        Severity::Warning,
        at.0,
        at.1,
        format!("{name} has a valid checksum but its {what}; not used now, but bbolt would fall back to it (and fail) if the other meta were damaged"),
    )
}

/// The persisted freelist against reachability, entry by entry, in bbolt check's words: a page
/// listed twice is "already freed", a listed page a tree reaches is "reachable freed", and a
/// page neither reached nor listed is "unreachable unfreed".
fn check_freelist(db: &Db<'_>, seen: &mut PageSet, report: &mut TreeCheck, out: &mut Vec<Finding>) {
    let fl = db.meta().freelist;
    report.freelist_persisted = fl != NO_FREELIST;
    report.freelist_page = report.freelist_persisted.then_some(fl);
    let listing = match list_freelist(db) {
        Ok(Some(listing)) => listing,
        Ok(None) => return,
        Err(e) => {
            out.push(Finding::from_error("bbolt", &e));
            return;
        }
    };
    report.freelist_read = true;
    report.freed = listing.entries.len() as u64;
    let ps = db.page_size() as u64;
    for id in fl..fl + listing.run_pages {
        if !seen.insert(id) {
            out.push(Finding::bolt(Severity::Error, Some(id), Some(id * ps), format!("page {id}: multiple references (the freelist's run and a tree)")));
        }
    }
    let free = judge_entries(db, &listing, seen, out);
    for id in 2..db.high_water_mark() {
        if !seen.contains(id) && !free.contains(id) {
            out.push(Finding::bolt(Severity::Warning, Some(id), Some(id * ps), format!("page {id}: unreachable unfreed")));
        }
    }
}

/// Each freelist entry: out of range, listed twice, or reachable; the set of pages listed.
fn judge_entries(db: &Db<'_>, listing: &Listing, seen: &PageSet, out: &mut Vec<Finding>) -> PageSet {
    let hwm = db.high_water_mark();
    let ps = db.page_size() as u64;
    let mut free = PageSet::new(hwm);
    for (i, &(at, id)) in listing.entries.iter().enumerate() {
        if id < 2 || id >= hwm {
            out.push(Finding::bolt(
                Severity::Error,
                Some(listing.page),
                Some(at),
                format!("freelist entry {i} names page {id}: out of bounds: outside the data pages 2..{hwm}"),
            ));
            continue;
        }
        if !free.insert(id) {
            out.push(Finding::bolt(Severity::Error, Some(id), Some(at), format!("page {id}: already freed (freelist entry {i} lists it again)")));
            continue;
        }
        if seen.contains(id) {
            out.push(Finding::bolt(
                Severity::Error,
                Some(id),
                Some(id * ps),
                format!("page {id}: reachable freed (on the freelist, and a tree still reaches it)"),
            ));
        }
    }
    free
}
