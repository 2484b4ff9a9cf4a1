//! `salvage`: what can still be read from a damaged snapshot or db, written as a clean one, and
//! an account of what could not be: lost, admitted, left out, uncertain.
//!
//! 1. The tree is walked from the meta with `check`'s tolerant walker: its findings are the
//!    damage, and the `key` bucket entries it reads are the ones the tree vouches for. Where it
//!    could not read part of the `key` bucket (a page, a subtree, an element), the entries it
//!    did read on either side bound what was there: the bucket is ordered by revision, so the
//!    lost entries lay strictly between those two revisions — a *gap*.
//! 2. Every page of the file is scanned (not only those the tree still reaches) with the same
//!    walker, for copies of `key` bucket entries (a revision key and a KeyValue whose mod
//!    revision is that revision) and for entries of the other buckets by their keys' shapes.
//!    bbolt copies pages on write, so free pages hold older copies of leaves.
//! 3. A revision found only in pages the tree no longer reaches is *admitted* when it falls in a
//!    gap (it may be what the lost part held) and something shows it is still live: it is above
//!    a known compaction (nothing removes those), or a put of its key above the compaction is
//!    its next version (so the compaction kept it). Outside every gap it is stale by
//!    construction — had it been live, the tree would hold it between its neighbours — and it
//!    stays out, as does what the compaction rule removes. The rest of a gap's revisions, at or
//!    below the compaction (or with the compaction unknown), is left out as *unsure*: a live
//!    survivor and the last put of a key whose tombstone the compaction removed look the same,
//!    and nothing in a page tells a live leaf from a stale copy. This holds for every kind of
//!    gap: a lost leaf, a lost branch, a truncated file, an unreadable root.
//!    `admit_unsure` writes the unsure revisions too (what the issue calls "may fill that gap":
//!    every live key back, and possibly deleted ones), while the proven-stale and compacted stay
//!    out; `include_unreachable` writes everything found. Neither salvage is complete.
//! 4. Everything is written with the bbolt writer (with a sha256 trailer, as `snapshot save`
//!    does) under a temporary name made before the input is read, renamed to OUT only when
//!    whole.
//!
//! The report lists each gap (the pages that could not be read, the revisions around them,
//! the revisions above the compaction of which no copy was found anywhere), every admitted and
//! every excluded revision (key, revision, page), and entries that are uncertain (read from a
//! damaged page, or whose copies disagree). It is [`SalvageReport::complete`] only when the tree
//! was whole, the trailer (if any) matched, and nothing the tree does not hold was written.

use crate::bolt::check::{check_walk, Finding, Severity};
use crate::bolt::layout::*;
use crate::bolt::page::{Node, Page};
use crate::bolt::tree::Entry;
use crate::bolt::walk::{Observer, PageSet, Place, Problem, TreeStats, WalkOptions, Walker};
use crate::bolt::write::{FileWriter, TreeWriter};
use crate::bolt::Db;
use crate::cancel::Cancel;
use crate::error::Result;
use crate::etcd::backend::{Backend, KEY, LEASE, META};
use crate::etcd::pb::leasepb;
use crate::etcd::revision::{Revision, RevisionKey};
use crate::etcd::wire;
use crate::output::PendingFile;
use crate::source::{Source, Trailer};
use prost::Message;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct SalvageOptions {
    /// Write every revision found, also those found only in pages the tree no longer reaches
    /// that fall outside every gap the damage left, or that a compaction removed (old values,
    /// deleted objects' last versions). The CLI's `--include-unreachable` (`--free-pages`, its
    /// former name).
    pub include_unreachable: bool,
    /// Write the revisions found in a gap that nothing proves removed (the *unsure* ones: live
    /// objects, or the last puts of objects deleted before the compaction), while what is proven
    /// stale or compacted stays out. The CLI's `--admit-unsure`.
    pub admit_unsure: bool,
    /// Checked at every page scanned and every few thousand entries written.
    pub cancel: Cancel,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SalvageReport {
    pub input: String,
    pub out: PathBuf,
    pub pages_scanned: u64,
    pub leaf_pages: u64,
    /// Pages the tree from the meta still reaches.
    pub reachable_pages: u64,
    /// Whether nothing was lost or uncertain: the tree was whole (no damage found), every bucket
    /// was read through it, the sha256 trailer (if any) matched, and nothing the tree does not
    /// hold was written (`include_unreachable`). Exit 0 only then.
    pub complete: bool,
    /// The input's sha256 trailer: `ok`, `missing` (a member's db) or `mismatch` (then also a
    /// finding in `damage`: some bytes changed, and which cannot be told).
    pub trailer: &'static str,
    /// The compaction revision: the meta bucket's when `compaction_known`, else the largest
    /// compaction mark found in pages the tree no longer reaches (the compaction was at least
    /// that), or none.
    pub compact_revision: Option<i64>,
    /// Whether the compaction is known (the meta bucket was read). When it is not, no revision is
    /// known to be above it, and nothing in a gap is admitted on that ground.
    pub compaction_known: bool,
    /// `key` bucket revisions written, and how many came only from unreachable pages.
    pub revisions: u64,
    pub revisions_from_unreachable_pages: u64,
    /// Copies of the same revision seen on several pages.
    pub duplicates: u64,
    /// Revisions etcd's compaction rule removes (found in free pages, or an unfinished
    /// compaction's), and how many were written anyway (`include_unreachable`).
    pub compacted_found: u64,
    pub compacted_written: u64,
    /// Revisions the tree does not hold, left out by the rules and written anyway
    /// (`include_unreachable`): old values, and possibly the last puts of deleted objects.
    pub written_anyway: u64,
    /// Where the tree could not be read in the `key` bucket, and what that cost.
    pub gaps: Vec<Gap>,
    /// Revisions found only in unreachable pages, written because they fill a gap.
    pub admitted: Vec<RevisionNote>,
    /// Revisions found only in unreachable pages (or removed by compaction) and left out, with
    /// why; `written` when `include_unreachable` took them anyway.
    pub excluded: Vec<RevisionNote>,
    /// Written, but not to be trusted: read from a page with damage, or copies that disagree.
    pub uncertain: Vec<RevisionNote>,
    /// Entries that looked like `key` bucket entries but did not parse, with their page.
    pub unparseable: Vec<PageNote>,
    /// Buckets written: name, entries, and how they were read (tree or scan).
    pub buckets: Vec<BucketNote>,
    /// Keys whose newest revision is a tombstone while their last value is still here.
    pub deleted_with_value: Vec<DeletedKey>,
    /// What `check` found in the input (the damage), and what the scan met.
    pub damage: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PageNote {
    pub page: u64,
    pub what: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketNote {
    pub name: String,
    pub entries: u64,
    pub read_by: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedKey {
    pub key: String,
    pub deleted_at: i64,
    pub last_put: i64,
    pub value_size: usize,
}

/// One `key` bucket revision: its user key, revision, the page it was read from, and why it is
/// listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionNote {
    pub key: String,
    pub revision: i64,
    pub sub: i64,
    pub tombstone: bool,
    pub page: u64,
    /// In one word: `gap` (admitted into a gap), `compacted`, `stale` (outside every gap),
    /// `unsure` (in a gap, and nothing shows a compaction did not remove it), `damagedPage`,
    /// `copiesDisagree`.
    pub reason: &'static str,
    pub why: &'static str,
    /// Written to OUT (for excluded revisions: `include_unreachable` took it).
    pub written: bool,
}

/// A revision as the `key` bucket orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Rev {
    pub main: i64,
    pub sub: i64,
    pub tombstone: bool,
}

/// Main revisions `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RevRange {
    pub first: i64,
    pub last: i64,
}

/// A part of the `key` bucket the tree could not read.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gap {
    /// The last revision read before it and the first after it (none: the bucket's start or
    /// end); what the lost part held lay strictly between.
    pub after: Option<Rev>,
    pub before: Option<Rev>,
    /// The first key of the lost page as its parent branch gives it (bbolt keeps a branch's key
    /// equal to its child's first key), when a branch points at it: nothing lost lay below.
    pub from: Option<Rev>,
    /// What could not be read: page, byte offset, why.
    pub damage: Vec<Finding>,
    /// Revisions admitted into it from pages the tree no longer reaches.
    pub admitted: u64,
    /// Main revisions in it above the compaction with nothing written: lost (every
    /// revision above the compaction has at least one entry).
    pub missing: Vec<RevRange>,
    /// Main revisions in it at or below the compaction (all of them, when it is unknown) of
    /// which nothing was written: lost, or removed by the compaction (which keeps only each
    /// key's newest revision) — the file no longer tells. Sub-revisions of the two bounds cannot
    /// be told either.
    pub missing_or_compacted: Vec<RevRange>,
}

/// Entries visited by the page scan, at most: twice the element records the file can hold (free
/// pages' stale runs may cover pages in use), plus a full page of a run. A sound file needs far
/// less; a file whose pages share bytes is cut short (and the salvage is incomplete).
fn scan_visit_limit(bytes: usize) -> u64 {
    2 * (bytes / LEAF_ELEMENT_SIZE) as u64 + (u16::MAX as u64)
}

/// One copy of a `key` bucket entry.
#[derive(Debug, Clone, Copy)]
struct Found<'a> {
    value: &'a [u8],
    page: u64,
    /// Read through the tree (not only by the scan).
    reached: bool,
}

/// A `key` bucket entry: the key parses as a revision key and the value as a KeyValue whose mod
/// revision is that revision (a tombstone stores only its key).
fn key_entry(key: &[u8], value: &[u8]) -> Option<RevisionKey> {
    let rk = RevisionKey::parse(key).ok()?;
    if value.is_empty() {
        return Some(rk); // a revision-bump marker
    }
    wire::bytes_field(value, 1).ok()??;
    if !rk.tombstone && wire::int64_field(value, 3).ok()? != rk.revision.main {
        return None;
    }
    Some(rk)
}

fn rev_of(rk: &RevisionKey) -> Rev {
    Rev { main: rk.revision.main, sub: rk.revision.sub, tombstone: rk.tombstone }
}

fn user_key(value: &[u8]) -> &[u8] {
    wire::bytes_field(value, 1).ok().flatten().unwrap_or_default()
}

/// Which small bucket a stray leaf entry belongs to, by its key's shape.
fn bucket_by_shape(key: &[u8], value: &[u8]) -> Option<&'static [u8]> {
    match key {
        b"consistent_index" | b"term" | b"confState" | b"scheduledCompactRev" | b"finishedCompactRev" | b"storageVersion" => Some(META),
        b"clusterVersion" | b"downgrade" => Some(b"cluster"),
        b"authEnabled" | b"authRevision" => Some(b"auth"),
        _ if key.len() == 8 && leasepb::Lease::decode(value).is_ok_and(|l| l.id.to_be_bytes() == key) => Some(LEASE),
        _ if std::str::from_utf8(key).is_ok_and(|k| !k.is_empty() && k.len() <= 16 && k.bytes().all(|b| b.is_ascii_hexdigit()))
            && value.starts_with(b"{\"id\":") =>
        {
            Some(b"members")
        }
        _ => None,
    }
}

/// Entries of the small buckets the scan found, by (bucket, key): the value, whether it came
/// from a page the tree reaches, and the page.
type Strays<'a> = BTreeMap<(&'static [u8], &'a [u8]), (&'a [u8], bool, u64)>;

/// A bucket's rows (key, value, page) to write, and how they were read.
type Rows = (Vec<(Vec<u8>, Vec<u8>, u64)>, &'static str);

const KNOWN_BUCKETS: [&[u8]; 9] = [META, LEASE, b"members", b"members_removed", b"cluster", b"auth", b"authUsers", b"authRoles", b"alarm"];

// ---------------------------------------------------------------------------------------------
// 1. The tree: the key bucket's entries in order, and the gaps between them.

/// A gap being gathered while the walk goes on.
struct OpenGap<'a> {
    after: Option<&'a [u8]>,
    from: Option<&'a [u8]>,
    damage: Vec<Finding>,
}

/// A gap's bounds: what it held lay above `after`, at or above `from`, below `before`.
#[derive(Debug, Clone, Copy, Default)]
struct Bounds<'a> {
    after: Option<&'a [u8]>,
    from: Option<&'a [u8]>,
    before: Option<&'a [u8]>,
}

impl<'a> Bounds<'a> {
    /// The lowest key the gap may hold, and whether that key itself may be in it.
    fn low(&self) -> Option<(&'a [u8], bool)> {
        match (self.after, self.from) {
            (Some(a), Some(f)) if f > a => Some((f, true)),
            (Some(a), _) => Some((a, false)),
            (None, Some(f)) => Some((f, true)),
            (None, None) => None,
        }
    }

    fn contains(&self, key: &[u8]) -> bool {
        let above = match self.low() {
            Some((low, inclusive)) => key > low || (inclusive && key == low),
            None => true,
        };
        above && self.before.map_or(true, |b| key < b)
    }
}

/// Watches the check walk from the meta: the `key` bucket's entries (nesting 1 under "key")
/// and the problems that made it skip something.
#[derive(Default)]
struct KeyTree<'a> {
    found: BTreeMap<&'a [u8], Found<'a>>,
    /// Entries of the key bucket read whose key is not a revision key or whose value does not
    /// parse: lost, listed.
    unparseable: Vec<PageNote>,
    last: Option<&'a [u8]>,
    open: Option<OpenGap<'a>>,
    gaps: Vec<(Bounds<'a>, Vec<Finding>)>,
    entered: bool,
    /// Skips at the root bucket's level, which may have hidden the key bucket.
    root_skips: Vec<Finding>,
    /// Pages with damage (the entries read from them are uncertain).
    damaged_pages: BTreeSet<u64>,
}

impl<'a> KeyTree<'a> {
    fn in_key_bucket(place: &Place<'a>) -> bool {
        place.nested == 1 && place.bucket == Some(KEY)
    }

    fn close(&mut self, before: Option<&'a [u8]>) {
        if let Some(open) = self.open.take() {
            self.gaps.push((Bounds { after: open.after, from: open.from, before }, open.damage));
        }
    }

    /// The gaps, once the walk is over: one still open runs to the bucket's end; a key bucket
    /// never entered while the root bucket lost something may be anywhere.
    fn finish(&mut self) {
        self.close(None);
        if !self.entered && !self.root_skips.is_empty() {
            let damage = std::mem::take(&mut self.root_skips);
            self.gaps.push((Bounds::default(), damage));
        }
    }
}

impl<'a> Observer<'a> for KeyTree<'a> {
    fn problem(&mut self, place: Place<'a>, p: Problem) -> Result<()> {
        if p.severity == Severity::Error {
            self.damaged_pages.insert(p.page);
        }
        if !p.skipped {
            return Ok(());
        }
        let finding = Finding::bolt(p.severity, Some(p.page), Some(p.offset), p.what);
        if KeyTree::in_key_bucket(&place) {
            let (after, from) = (self.last, place.low);
            let open = self.open.get_or_insert_with(|| OpenGap { after, from, damage: Vec::new() });
            open.damage.push(finding);
        } else if place.nested == 0 {
            self.root_skips.push(finding);
        }
        Ok(())
    }

    fn element(&mut self, place: Place<'a>, entry: &Entry<'a>) -> Result<()> {
        if !KeyTree::in_key_bucket(&place) || entry.is_bucket() {
            return Ok(());
        }
        let key = entry.key();
        self.close(Some(key));
        self.last = Some(key);
        match key_entry(key, entry.value()) {
            Some(_) => {
                self.found.insert(key, Found { value: entry.value(), page: entry.page, reached: true });
            }
            None => self.unparseable.push(PageNote { page: entry.page, what: unparseable_what(key, entry.value()) }),
        }
        Ok(())
    }

    fn entered(&mut self, place: Place<'a>) {
        self.entered |= KeyTree::in_key_bucket(&place);
    }
}

fn unparseable_what(key: &[u8], value: &[u8]) -> String {
    match RevisionKey::parse(key) {
        Ok(rk) => format!(
            "revision {}_{}{}: the value is not a KeyValue of that revision ({} bytes)",
            rk.revision.main,
            rk.revision.sub,
            if rk.tombstone { " (tombstone)" } else { "" },
            value.len()
        ),
        Err(e) => format!("a key bucket entry whose key is not a revision key: {e}"),
    }
}

/// A gap's key range: low end (and whether it is included), high end (excluded); `None`:
/// unbounded.
type GapRange<'a> = (Option<(&'a [u8], bool)>, Option<&'a [u8]>);

/// Membership in the gaps: their key ranges merged into disjoint ones sorted by their low
/// ends, for a binary search. (Gaps come from one walk in key order and do not overlap in a
/// sorted tree; keys out of order could make them.)
struct GapSet<'a> {
    ranges: Vec<GapRange<'a>>,
}

impl<'a> GapSet<'a> {
    fn new(gaps: &[(Bounds<'a>, Vec<Finding>)]) -> GapSet<'a> {
        let mut all: Vec<GapRange<'a>> = gaps.iter().map(|(b, _)| (b.low(), b.before)).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        let mut ranges: Vec<GapRange<'a>> = Vec::new();
        for (low, high) in all {
            let joins = |last: &GapRange<'_>| match (last.1, low) {
                (None, _) | (_, None) => true,
                (Some(end), Some((start, _))) => start < end,
            };
            match ranges.last_mut() {
                Some(last) if joins(last) => {
                    if last.1.is_some() && high.map_or(true, |h| Some(h) > last.1) {
                        last.1 = high;
                    }
                }
                _ => ranges.push((low, high)),
            }
        }
        GapSet { ranges }
    }

    /// Whether `key` may have been held in a part of the tree that could not be read.
    fn contains(&self, key: &[u8]) -> bool {
        let i = self.ranges.partition_point(|(low, _)| low.map_or(true, |(low, _)| low <= key));
        let Some(&(low, high)) = i.checked_sub(1).and_then(|i| self.ranges.get(i)) else { return false };
        let above = low.map_or(true, |(low, inclusive)| key > low || (inclusive && key == low));
        above && high.map_or(true, |h| key < h)
    }
}

// ---------------------------------------------------------------------------------------------
// 2. The scan.

/// A leaf page holding `key` bucket entries: the first and last revision keys on it.
#[derive(Debug, Clone, Copy)]
struct LeafCopy<'a> {
    page: u64,
    first: &'a [u8],
    last: &'a [u8],
}

/// What the page scan gathers: copies of key bucket entries the tree did not give, entries of
/// the other buckets by their shapes, and the key range of every leaf of `key` bucket entries.
struct Scan<'k, 'a> {
    tree: &'k mut KeyTree<'a>,
    copies: Vec<LeafCopy<'a>>,
    gaps: &'k GapSet<'a>,
    strays: Strays<'a>,
    reachable: &'k PageSet,
    duplicates: u64,
    /// Revisions whose copies differ: (key, page of the differing copy).
    disagree: Vec<(&'a [u8], u64)>,
    unparseable: Vec<PageNote>,
}

impl<'a> Observer<'a> for Scan<'_, 'a> {
    fn problem(&mut self, _: Place<'a>, _: Problem) -> Result<()> {
        // Free pages hold anything; the tree's damage was reported by the check walk, and a
        // scan cut short by its visit budget is reported by the scan loop.
        Ok(())
    }

    fn element(&mut self, place: Place<'a>, entry: &Entry<'a>) -> Result<()> {
        if entry.is_bucket() {
            return Ok(());
        }
        let (key, value, page) = (entry.key(), entry.value(), entry.page);
        if place.bucket.is_none() || place.bucket == Some(KEY) {
            if key_entry(key, value).is_some() {
                if place.bucket.is_none() {
                    self.note_leaf(key, page);
                }
                self.copy_of_revision(key, value, page);
                return Ok(());
            }
            if RevisionKey::parse(key).is_ok() {
                if self.gaps.contains(key) && !self.tree.found.contains_key(key) {
                    self.unparseable.push(PageNote { page, what: unparseable_what(key, value) });
                }
                return Ok(());
            }
        }
        let named = place.bucket.and_then(|b| KNOWN_BUCKETS.into_iter().find(|n| *n == b));
        if let Some(name) = named.or_else(|| bucket_by_shape(key, value)) {
            let here = self.reachable.contains(page);
            let slot = self.strays.entry((name, key)).or_insert((value, here, page));
            if here && !slot.1 {
                *slot = (value, true, page);
            }
        }
        Ok(())
    }
}

impl<'a> Scan<'_, 'a> {
    /// Widens the key range of the leaf `page` (its entries come in order, one page at a time).
    fn note_leaf(&mut self, key: &'a [u8], page: u64) {
        match self.copies.last_mut() {
            Some(copy) if copy.page == page => copy.last = key,
            _ => self.copies.push(LeafCopy { page, first: key, last: key }),
        }
    }

    fn copy_of_revision(&mut self, key: &'a [u8], value: &'a [u8], page: u64) {
        match self.tree.found.get(key) {
            Some(known) => {
                self.duplicates += 1;
                if known.value != value && known.page != page {
                    self.disagree.push((key, page));
                }
            }
            None => {
                self.tree.found.insert(key, Found { value, page, reached: false });
            }
        }
    }
}

/// The leaf page run at `p` as its own header describes it (whatever the tree says), or `None`
/// when its header does not name it, is not a leaf's, or runs past the end of `data`.
fn leaf_node_at<'a>(db: &Db<'a>, data: &'a [u8], p: u64) -> Option<Node<'a>> {
    let ps = db.page_size();
    let pages = (data.len() / ps) as u64;
    let at = usize::try_from(p).ok()?.checked_mul(ps)?;
    let header = data.get(at..at.checked_add(PAGE_HEADER_SIZE)?)?;
    let (id, flags, overflow) = (u64_at(header, PAGE_ID)?, u16_at(header, PAGE_FLAGS)?, u32_at(header, PAGE_OVERFLOW)?);
    let run = 1 + u64::from(overflow);
    if id != p || flags != LEAF_PAGE || p >= pages || run > pages - p {
        return None;
    }
    let bytes = &data[at..at + (run as usize) * ps];
    let page = Page { id: p, flags, count: u16_at(header, PAGE_COUNT).unwrap_or(0), overflow, bytes, offset: at as u64 };
    Node::from_page(&page, db.file()).ok()
}

/// Every leaf run of the file (by its header), each read through the walker with its inline
/// buckets; runs the tree vouches for are skipped whole, others one page at a time (a free
/// page's stale header may claim an overflow over pages that hold live leaves). Returns (pages
/// scanned, leaf pages), and a finding when the visit budget cut the scan short.
fn scan_pages<'a>(db: &Db<'a>, data: &'a [u8], reachable: &PageSet, scan: &mut Scan<'_, 'a>, cancel: &Cancel) -> Result<(u64, u64, Option<Finding>)> {
    let ps = db.page_size();
    let pages = (data.len() / ps) as u64;
    let mut visits = PageSet::new(0);
    let mut stats = TreeStats::default();
    let options = WalkOptions { enter_nested: true, follow_pages: false, key_order: false };
    let mut walker = Walker::new(db, &mut visits, &mut stats, options, scan).cancellable(cancel).visit_limit(scan_visit_limit(data.len()));
    let (mut leaves, mut p) = (0, 2u64);
    while p < pages {
        let Some(node) = leaf_node_at(db, data, p) else {
            p += 1;
            continue;
        };
        leaves += 1;
        walker.scan_node(&node)?;
        if walker.stopped() {
            let what = format!(
                "the page scan stopped at page {p}: more element visits than the file's pages can hold (pages or nested bucket values share bytes); pages after it were not read"
            );
            return Ok((pages, leaves, Some(Finding::bolt(Severity::Error, Some(p), Some(p * ps as u64), what))));
        }
        let run = node.data().len().div_ceil(ps) as u64;
        p += if reachable.contains(p) { run.max(1) } else { 1 };
    }
    Ok((pages, leaves, None))
}

// ---------------------------------------------------------------------------------------------
// 3. Which revisions are written.

/// Whether a revision at or below the compaction was removed by it: it is not its key's newest
/// there, or that newest is a tombstone.
fn compacted_away(newest: Option<&(Revision, bool)>, rev: Revision) -> bool {
    match newest {
        Some((kept, tombstone)) => *kept != rev || *tombstone,
        None => true,
    }
}

fn note(key: &[u8], f: &Found<'_>, (reason, why): Why, written: bool) -> RevisionNote {
    let rk = RevisionKey::parse(key).expect("stored from a parsed key");
    RevisionNote {
        key: String::from_utf8_lossy(user_key(f.value)).into_owned(),
        revision: rk.revision.main,
        sub: rk.revision.sub,
        tombstone: rk.tombstone,
        page: f.page,
        reason,
        why,
        written,
    }
}

/// What the file tells of the compaction revision.
#[derive(Debug, Clone, Copy)]
struct Compaction {
    /// The meta bucket's (0 when it says none) when `known`; else the largest compaction mark
    /// found in pages (0 when none): the compaction only grows, so it was at least that.
    at_least: i64,
    /// Read from the meta bucket through the tree.
    known: bool,
}

impl Compaction {
    /// Whether main revision `main` is above the compaction for certain: never when it is
    /// unknown (a mark found in a free page may be an old one).
    fn above(&self, main: i64) -> bool {
        self.known && main > self.at_least
    }

    /// As the report gives it: the revision, or none when neither the meta bucket nor a mark
    /// was found.
    fn revision(&self) -> Option<i64> {
        (self.known || self.at_least > 0).then_some(self.at_least)
    }
}

/// The compaction revision: the meta bucket's (0 when it says none: then a mark the scan found,
/// if any), known; or, when the meta bucket cannot be read, the largest compaction mark the scan
/// found, as a lower bound only. `newest` is the newest revision found: a scheduled compaction
/// beyond it is one etcd refuses to apply.
fn compaction(backend: &Backend<'_>, strays: &Strays<'_>, newest: i64) -> Compaction {
    let from_meta = crate::etcd::meta::read_meta(backend).ok().filter(|_| backend.bucket(META).is_ok_and(|b| b.is_some())).map(|m| m.compact_revision(newest));
    let marks = strays
        .iter()
        .filter(|((b, k), _)| *b == META && (*k == b"scheduledCompactRev" || *k == b"finishedCompactRev"))
        .filter_map(|(_, (v, _, _))| RevisionKey::parse(v).ok().map(|r| r.revision.main))
        .max();
    match from_meta {
        Some(c) if c > 0 => Compaction { at_least: c, known: true },
        Some(c) => Compaction { at_least: marks.unwrap_or(c), known: true },
        None => Compaction { at_least: marks.unwrap_or(0), known: false },
    }
}

/// Why a revision is written or left out: (reason, sentence).
type Why = (&'static str, &'static str);
const COMPACTED_IN_TREE: Why = ("compacted", "not its key's newest at or below the compaction (an unfinished compaction etcd completes at start)");
const COMPACTED_COPY: Why = ("compacted", "a copy of a revision the compaction removed");
const STALE: Why = ("stale", "outside every gap: the tree holds that range whole");
const GAP_ABOVE: Why = ("gap", "in a gap, above the compaction (nothing removes those)");
const GAP_KEPT: Why = ("gap", "in a gap, at or below the compaction; a put of its key above the compaction is its next version, so the compaction kept it");
const GAP_UNSURE: Why = (
    "unsure",
    "in a gap, at or below the compaction, and nothing shows it outlived the compaction: it may be the last put of a deleted object (--admit-unsure takes it)",
);
const GAP_UNKNOWN: Why = ("unsure", "in a gap, and the compaction is unknown: nothing shows a compaction did not remove it (a deleted object?)");
const GAP_ADMITTED: Why =
    ("unsure", "in a gap, and nothing shows whether a compaction removed it: written as asked (--admit-unsure); it may be the last put of a deleted object");
const REMOVED: Why = ("compacted", "a newer copy of its leaf's range lacks it: a compaction removed it");
const DAMAGED_PAGE: Why = ("damagedPage", "read from a page with damage");
const DISAGREE: Why = ("copiesDisagree", "its copies disagree (the other copy is on this page)");

/// Copies of `key` bucket leaves, to tell which revisions a compaction removed: etcd only ever
/// appends revisions (each above every one before it), so a leaf never gains a key between its
/// first and last; a leaf copy whose range spans a revision it does not hold was written after
/// that revision had been removed.
struct Evidence<'d, 'a> {
    db: &'d Db<'a>,
    data: &'a [u8],
    /// Copies holding two revisions or more, sorted by first key, and the largest last key
    /// among each copy and those before it.
    copies: Vec<LeafCopy<'a>>,
    reach: Vec<&'a [u8]>,
}

/// Copies looked at per revision at most (overlapping stale runs could make it more).
const COPIES_PER_REVISION: usize = 64;

impl<'d, 'a> Evidence<'d, 'a> {
    fn new(db: &'d Db<'a>, data: &'a [u8], mut copies: Vec<LeafCopy<'a>>) -> Evidence<'d, 'a> {
        copies.retain(|c| c.first < c.last);
        copies.sort_by(|a, b| a.first.cmp(b.first));
        let mut reach: Vec<&'a [u8]> = Vec::with_capacity(copies.len());
        for c in &copies {
            let before = reach.last().copied().unwrap_or(c.last);
            reach.push(before.max(c.last));
        }
        Evidence { db, data, copies, reach }
    }

    /// Whether a leaf copy spans `key` without holding it: the revision was removed.
    fn removed(&self, key: &[u8]) -> bool {
        let end = self.copies.partition_point(|c| c.first < key);
        (0..end)
            .rev()
            .take_while(|&i| self.reach[i] > key)
            .take(COPIES_PER_REVISION)
            .any(|i| self.copies[i].last > key && !self.holds(self.copies[i].page, key))
    }

    fn holds(&self, page: u64, key: &[u8]) -> bool {
        match leaf_node_at(self.db, self.data, page) {
            Some(node) => node.search(key, self.db.file()).map_or(true, |(_, exact)| exact),
            None => true,
        }
    }
}

/// The versions of the puts found above the compaction, by (key, create revision, version):
/// evidence that the put of the same key and generation one version lower, at or below the
/// compaction, was the key's newest there, which the compaction keeps. etcd numbers a
/// generation's puts 1, 2, 3, … (a put's version is its predecessor's plus one), so a put of
/// version v + 1 above the compaction leaves no revision of the key between its version v and
/// it. Empty when the compaction is unknown (no revision is known to be above it).
fn next_versions<'a>(found: &BTreeMap<&'a [u8], Found<'a>>, compaction: Compaction) -> HashSet<(&'a [u8], i64, i64)> {
    let mut out = HashSet::default();
    for (k, f) in found {
        let rk = RevisionKey::parse(k).expect("stored from a parsed key");
        if rk.tombstone || !compaction.above(rk.revision.main) {
            continue;
        }
        if let Some(generation) = generation_of(f.value) {
            out.insert(generation);
        }
    }
    out
}

/// A put's (key, create revision, version), when both numbers are there (a put has them ≥ 1).
fn generation_of(value: &[u8]) -> Option<(&[u8], i64, i64)> {
    let create = wire::int64_field(value, 2).ok().filter(|c| *c > 0)?;
    let version = wire::int64_field(value, 4).ok().filter(|v| *v > 0)?;
    Some((user_key(value), create, version))
}

/// Whether a put at or below the compaction is shown to be its key's newest there: the next
/// version of its generation was found above the compaction.
fn kept_by_compaction(value: &[u8], tombstone: bool, next: &HashSet<(&[u8], i64, i64)>) -> bool {
    match generation_of(value) {
        Some((key, create, version)) if !tombstone => version.checked_add(1).is_some_and(|v| next.contains(&(key, create, v))),
        _ => false,
    }
}

/// Sorts every revision found into written and not, filling the report's lists. Returns the
/// revisions to write, in key order.
///
/// Read through the tree: written, unless etcd's compaction rule removes it. Found only in pages
/// the tree no longer reaches: outside every gap, stale; inside one, written only when something
/// shows it is live — it is above the (known) compaction, or its key's next version is — and
/// otherwise left out as unsure. The same rule holds whatever was lost: a leaf, a branch, the
/// bucket's root, the end of the file. `include_unreachable` writes everything found.
fn choose<'f, 'a>(
    found: &'f BTreeMap<&'a [u8], Found<'a>>,
    gaps: &GapSet<'a>,
    evidence: &Evidence<'_, 'a>,
    compaction: Compaction,
    options: &SalvageOptions,
    report: &mut SalvageReport,
) -> Vec<(&'a [u8], &'f Found<'a>)> {
    let include_unreachable = options.include_unreachable;
    // etcd's compaction: at or below it, each key keeps its newest revision unless a tombstone.
    // Every copy found counts as evidence: a stale copy is a revision the key really had. (An
    // unknown compaction was at least `at_least`: what that one removed is removed.)
    let compact = compaction.at_least;
    let mut newest: HashMap<&[u8], (Revision, bool)> = HashMap::default();
    for (k, f) in found {
        let rk = RevisionKey::parse(k).expect("stored from a parsed key");
        if rk.revision.main <= compact {
            newest.insert(user_key(f.value), (rk.revision, rk.tombstone));
        }
    }
    let next = next_versions(found, compaction);
    let mut kept = Vec::new();
    for (k, f) in found {
        let rk = RevisionKey::parse(k).expect("stored from a parsed key");
        let below = rk.revision.main <= compact;
        let compacted = below && compacted_away(newest.get(user_key(f.value)), rk.revision);
        let why = match (compacted, f.reached, gaps.contains(k)) {
            (true, true, _) => Err(COMPACTED_IN_TREE),
            (true, false, _) => Err(COMPACTED_COPY),
            (false, true, _) => Ok(None),
            (false, false, false) => Err(STALE),
            (false, false, true) if evidence.removed(k) => Err(REMOVED),
            (false, false, true) if compaction.above(rk.revision.main) => Ok(Some(GAP_ABOVE)),
            (false, false, true) if compaction.known && kept_by_compaction(f.value, rk.tombstone, &next) => Ok(Some(GAP_KEPT)),
            (false, false, true) if options.admit_unsure => Ok(Some(GAP_ADMITTED)),
            (false, false, true) if compaction.known => Err(GAP_UNSURE),
            (false, false, true) => Err(GAP_UNKNOWN),
        };
        match why {
            Ok(Some(why)) => report.admitted.push(note(k, f, why, true)),
            Ok(None) => {}
            Err(why) => {
                report.excluded.push(note(k, f, why, include_unreachable));
                if why.0 == "compacted" {
                    report.compacted_found += 1;
                    report.compacted_written += u64::from(include_unreachable);
                }
                if !include_unreachable {
                    continue;
                }
                report.written_anyway += 1;
            }
        }
        if !f.reached {
            report.revisions_from_unreachable_pages += 1;
        }
        kept.push((*k, f));
    }
    report.revisions = kept.len() as u64;
    kept
}

/// Each gap as the report gives it: its bounds, its damage, what filled it and what is missing.
fn account_gaps<'a>(tree: &KeyTree<'a>, kept: &[(&'a [u8], &Found<'a>)], found: &BTreeMap<&'a [u8], Found<'a>>, compact: Option<i64>) -> Vec<Gap> {
    // Unknown (the meta bucket lost): any revision may have been compacted.
    let compact = compact.unwrap_or(i64::MAX);
    let written: BTreeSet<i64> = kept.iter().map(|(k, _)| RevisionKey::parse(k).expect("parsed").revision.main).collect();
    let newest_found = found.keys().filter_map(|k| RevisionKey::parse(k).ok()).map(|rk| rk.revision.main).max();
    let rev = |k: Option<&[u8]>| k.and_then(|k| RevisionKey::parse(k).ok()).map(|rk| rev_of(&rk));
    tree.gaps
        .iter()
        .map(|(bounds, damage)| {
            let (after, before, from) = (rev(bounds.after), rev(bounds.before), rev(bounds.from));
            let admitted = kept.iter().filter(|(k, f)| !f.reached && bounds.contains(k)).count() as u64;
            // Main revisions between the bounds with nothing written: above the compaction each
            // had an entry (lost); at or below it, it may have been compacted. A gap open to the
            // bucket's start starts after revision 1 (etcd's first write is revision 2); one open
            // to its end ends at the newest revision found anywhere.
            let low = after.map(|a| a.main).max(from.map(|f| f.main.saturating_sub(1))).unwrap_or(1);
            let high = before.map(|b| b.main).or(newest_found.map(|n| n.saturating_add(1))).unwrap_or(low);
            let (mut missing, mut missing_or_compacted) = (Vec::new(), Vec::new());
            for r in missing_ranges(&written, low, high) {
                if r.first <= compact {
                    missing_or_compacted.push(RevRange { first: r.first, last: r.last.min(compact) });
                }
                if r.last > compact {
                    missing.push(RevRange { first: r.first.max(compact.saturating_add(1)), last: r.last });
                }
            }
            Gap { after, before, from, damage: damage.clone(), admitted, missing, missing_or_compacted }
        })
        .collect()
}

/// Main revisions strictly between `low` and `high` not in `written`, as ranges.
fn missing_ranges(written: &BTreeSet<i64>, low: i64, high: i64) -> Vec<RevRange> {
    let mut out = Vec::new();
    if high.saturating_sub(low) < 2 {
        return out;
    }
    let mut next = low + 1;
    for &m in written.range(low + 1..high) {
        if m > next {
            out.push(RevRange { first: next, last: m - 1 });
        }
        next = m + 1;
    }
    if next < high {
        out.push(RevRange { first: next, last: high - 1 });
    }
    out
}

/// Keys whose newest written revision is a tombstone while a put of theirs is written too.
fn deleted_with_value(kept: &[(&[u8], &Found<'_>)]) -> Vec<DeletedKey> {
    let mut latest: HashMap<&[u8], (i64, bool)> = HashMap::default();
    let mut last_put: HashMap<&[u8], (i64, usize)> = HashMap::default();
    for (k, f) in kept {
        let rk = RevisionKey::parse(k).expect("stored from a parsed key");
        let key = user_key(f.value);
        latest.insert(key, (rk.revision.main, rk.tombstone));
        if !rk.tombstone && !f.value.is_empty() {
            last_put.insert(key, (rk.revision.main, wire::bytes_field(f.value, 5).ok().flatten().unwrap_or_default().len()));
        }
    }
    let mut deleted: Vec<DeletedKey> = latest
        .iter()
        .filter(|(_, (_, tomb))| *tomb)
        .filter_map(|(k, (at, _))| {
            last_put.get(k).map(|(put, size)| DeletedKey { key: String::from_utf8_lossy(k).into_owned(), deleted_at: *at, last_put: *put, value_size: *size })
        })
        .collect();
    deleted.sort_by(|a, b| a.key.cmp(&b.key));
    deleted
}

// ---------------------------------------------------------------------------------------------
// 4. The whole salvage.

/// Salvages `source` into a new snapshot file `out` (which must not exist): its temporary is
/// made before the input is read (an output that cannot be written is refused at once), and
/// renamed to `out` when whole.
pub fn salvage(source: &Source, out: &Path, options: &SalvageOptions) -> Result<SalvageReport> {
    crate::output::refuse_existing(out, false)?;
    let mut pending = PendingFile::beside(out)?;
    let report = salvage_into(source, &mut pending, options)?;
    pending.commit(false)?;
    Ok(report)
}

/// Salvages `source` into `pending` (made by the caller before anything is read), which is left
/// whole but not committed: a caller writing more than one output (the CLI's
/// `--export-sqlite`) renames them together.
/// Errors raised while `pending` is written name its target, not the temporary.
pub fn salvage_into(source: &Source, pending: &mut PendingFile, options: &SalvageOptions) -> Result<SalvageReport> {
    write_salvage(source, pending, options).map_err(|e| pending.name_target(e))
}

fn write_salvage(source: &Source, pending: &mut PendingFile, options: &SalvageOptions) -> Result<SalvageReport> {
    let cancel = &options.cancel;
    let data = source.db_bytes();
    let db = Db::open_permissive(data, source.db_path.clone())?;
    let mut report = SalvageReport { input: source.input.display().to_string(), out: pending.target().to_path_buf(), ..Default::default() };

    // The trailer check hashes the whole file and shares nothing with the walk: give it a core.
    let (walked, trailer) = std::thread::scope(|scope| {
        let trailer = scope.spawn(|| source.verify_trailer());
        let mut tree = KeyTree::default();
        let walked = check_walk(&db, &mut report.damage, &mut tree, cancel).map(|w| (w, tree));
        (walked, trailer.join().expect("the trailer check does not panic"))
    });
    let ((checked, reachable), mut tree) = walked?;
    report.trailer = trailer.label();
    let trailer_damage = match &trailer {
        Trailer::Mismatch { stored, computed } => Some(format!(
            "sha256 trailer mismatch: stored {}, computed {}: bytes of the file changed after `snapshot save`, and which cannot be told",
            crate::source::hex(stored),
            crate::source::hex(computed)
        )),
        Trailer::Partial { .. } => {
            Some(format!("{}: the file was cut short after `snapshot save`, and whether the db before it is whole cannot be told", trailer.describe()))
        }
        Trailer::Ok | Trailer::Missing => None,
    };
    if let Some(what) = trailer_damage {
        report.damage.push(Finding { severity: Severity::Error, layer: "trailer", page: None, offset: Some(data.len() as u64), what });
    }
    tree.finish();
    report.reachable_pages = checked.reachable;
    report.unparseable = std::mem::take(&mut tree.unparseable);

    let gaps = GapSet::new(&tree.gaps);
    let mut scan = Scan {
        tree: &mut tree,
        copies: Vec::new(),
        gaps: &gaps,
        strays: BTreeMap::new(),
        reachable: &reachable,
        duplicates: 0,
        disagree: Vec::new(),
        unparseable: Vec::new(),
    };
    let (scanned, leaves, stopped) = scan_pages(&db, data, &reachable, &mut scan, cancel)?;
    let Scan { strays, duplicates, disagree, unparseable, copies, .. } = scan;
    let evidence = Evidence::new(&db, data, copies);
    (report.pages_scanned, report.leaf_pages, report.duplicates) = (scanned, leaves, duplicates);
    report.unparseable.extend(unparseable);
    report.damage.extend(stopped.clone());

    let backend = Backend::new(db.clone());
    let newest = tree.found.keys().next_back().and_then(|k| RevisionKey::parse(k).ok()).map_or(0, |rk| rk.revision.main);
    let compaction = compaction(&backend, &strays, newest);
    (report.compact_revision, report.compaction_known) = (compaction.revision(), compaction.known);
    if !compaction.known {
        let what = match compaction.revision() {
            Some(c) => format!("the compaction revision is unknown (the meta bucket was not read; marks found in pages the tree no longer reaches say it was at least {c}): no revision is known to be above it, so nothing a gap may have held is admitted on that ground"),
            None => "the compaction revision is unknown (the meta bucket was not read, and no copy of its compaction marks was found): no revision is known to be above it, so nothing a gap may have held is admitted on that ground".into(),
        };
        report.damage.push(Finding::bolt(Severity::Warning, None, None, what));
    }
    let kept = choose(&tree.found, &gaps, &evidence, compaction, options, &mut report);
    report.gaps = account_gaps(&tree, &kept, &tree.found, compaction.known.then_some(compaction.at_least));
    report.uncertain = uncertain(&tree, &kept, &disagree);
    report.deleted_with_value = deleted_with_value(&kept);

    let file = pending.file().try_clone().map_err(|e| crate::error::Error::io(pending.path(), e))?;
    let mut writer = FileWriter::in_file(file, pending.path(), db.page_size())?;
    let mut all_by_tree = true;
    for name in bucket_names(&backend, &strays) {
        let mut tree_writer = TreeWriter::new();
        let (entries, read_by) = if name == KEY {
            for (i, (k, f)) in kept.iter().enumerate() {
                if i % 4096 == 0 {
                    cancel.check()?;
                }
                tree_writer.put(writer.page_file(), k, f.value)?;
            }
            (kept.len() as u64, if report.revisions_from_unreachable_pages == 0 { "tree" } else { "tree and page scan" })
        } else {
            let (mut rows, how) = other_bucket(&db, &backend, &name, &strays);
            all_by_tree &= how == "tree";
            // A value etcd refuses would make the whole file unreadable (meta), or a member's
            // data dir fail at start (members): left out, listed.
            let problem = |k: &[u8], v: &[u8]| match name.as_slice() {
                META => crate::etcd::meta::meta_value_problem(k, v),
                other => crate::etcd::members::entry_problem(other, k, v),
            };
            rows.retain(|(k, v, page)| match problem(k, v) {
                Some(what) => {
                    let entry = format!("{}/{}", String::from_utf8_lossy(&name), String::from_utf8_lossy(k));
                    report.unparseable.push(PageNote { page: *page, what: format!("{entry}: {what}: left out") });
                    false
                }
                None => true,
            });
            for (k, v, _) in &rows {
                tree_writer.put(writer.page_file(), k, v)?;
            }
            (rows.len() as u64, how)
        };
        writer.add_bucket(&name, 0, tree_writer)?;
        report.buckets.push(BucketNote { name: String::from_utf8_lossy(&name).into_owned(), entries, read_by });
    }
    cancel.check()?;
    writer.finish(true)?;
    report.complete = all_by_tree
        && stopped.is_none()
        && report.unparseable.is_empty()
        && report.gaps.is_empty()
        && report.uncertain.is_empty()
        && report.written_anyway == 0
        && !report.damage.iter().any(|f| f.severity == Severity::Error);
    Ok(report)
}

/// Written entries not to be trusted: read from a page the check found damage on, or whose
/// copies on different pages disagree.
fn uncertain(tree: &KeyTree<'_>, kept: &[(&[u8], &Found<'_>)], disagree: &[(&[u8], u64)]) -> Vec<RevisionNote> {
    let mut out: Vec<RevisionNote> = kept.iter().filter(|(_, f)| tree.damaged_pages.contains(&f.page)).map(|(k, f)| note(k, f, DAMAGED_PAGE, true)).collect();
    let written: HashMap<&[u8], &Found<'_>> = kept.iter().map(|(k, f)| (*k, *f)).collect();
    for (k, page) in disagree {
        if let Some(f) = written.get(k) {
            let mut n = note(k, f, DISAGREE, true);
            n.page = *page;
            out.push(n);
        }
    }
    out
}

/// The top-level buckets to write: the tree's, those the scan found entries of, and `key`; when
/// the root bucket cannot be read whole, every bucket etcd makes (empty if nothing of it was
/// found: a fresh etcd has them, and a restore needs `members`).
fn bucket_names(backend: &Backend<'_>, strays: &Strays<'_>) -> Vec<Vec<u8>> {
    let mut names: Vec<Vec<u8>> = match backend.buckets() {
        Ok(buckets) => buckets.into_iter().map(|(n, _)| n.to_vec()).collect(),
        Err(_) => KNOWN_BUCKETS.iter().map(|n| n.to_vec()).collect(),
    };
    names.extend(strays.keys().map(|(b, _)| b.to_vec()));
    names.push(KEY.to_vec());
    names.sort();
    names.dedup();
    names
}

/// A bucket other than `key`: through its tree when that reads whole (nested buckets left out:
/// etcd has none), else what the scan found of it by its keys' shapes.
fn other_bucket(db: &Db<'_>, backend: &Backend<'_>, name: &[u8], strays: &Strays<'_>) -> Rows {
    let via_tree = backend.bucket(name).ok().flatten().and_then(|b| {
        b.iter(db)
            .filter(|e| e.as_ref().map_or(true, |e| !e.is_bucket()))
            .map(|e| e.map(|e| (e.key().to_vec(), e.value().to_vec(), e.page)))
            .collect::<Result<Vec<_>>>()
            .ok()
    });
    let (mut rows, how) = match via_tree {
        Some(rows) => (rows, "tree"),
        None => (strays.iter().filter(|((b, _), _)| *b == name).map(|((_, k), (v, _, page))| (k.to_vec(), v.to_vec(), *page)).collect(), "page scan"),
    };
    rows.retain(|(k, _, _)| !k.is_empty() && k.len() <= MAX_KEY_SIZE);
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows.dedup_by(|a, b| a.0 == b.0);
    (rows, how)
}
