//! Whole-tree walks: every page reachable from a bucket's root, with per-bucket page statistics,
//! and every entry handed to whoever walks (in key order). One walker serves the readers, `check`
//! and `salvage`: it meets every problem the same way and asks its [`Observer`] what to do — a
//! reader's observer turns the first problem into the error ([`walk_bucket`]); `check`'s records
//! a finding and the walk goes past it (skipping what it cannot read); `salvage` reads each page
//! it scans through the same walker ([`Walker::scan_node`]), so nested inline buckets are read
//! with the same guards wherever they are found.
//!
//! Guards, so that no file makes a walk long: pages are marked in a [`PageSet`] and a page
//! reached twice (two parents, or a cycle) is not walked again; depth (pages and buckets nested
//! together) stops at [`MAX_TREE_DEPTH`]; two nested bucket values of one node may not overlap
//! (else inline buckets sharing bytes nest so that the innermost is visited 2^levels times from
//! one page); and a global visit budget: a sound file's element records (of pages and of the
//! inline buckets inside them) are each bytes of their own, so a walk may visit at most one
//! element per 16 bytes of the file ([`visit_limit`]) — more means shared bytes, and the walk
//! stops with a problem.
//!
//! A walk can hand each entry of the walked bucket to a [`Visitor`], so one pass over the pages
//! serves both the accounting and a reader of every entry (`status` hashes them).
//! [`walk_bucket_split`] walks a big tree on two cores, one from each end.

use super::check::Severity;
use super::db::Db;
use super::layout::*;
use super::page::{LeafElement, Node, Page};
use super::tree::{Bucket, Entry, Root};
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use serde::Serialize;

/// Page and byte counts for one bucket's tree (nested buckets included).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TreeStats {
    /// Leaf entries that are values (not nested buckets).
    pub keys: u64,
    pub nested_buckets: u64,
    pub branch_pages: u64,
    pub leaf_pages: u64,
    /// Extra pages of branch and leaf runs (a run of n pages has n - 1 overflow pages).
    pub overflow_pages: u64,
    /// Tree depth (1 = a single leaf; 0 = inline bucket).
    pub depth: u32,
    pub inline: bool,
    /// Bytes of pages allocated to this tree.
    pub allocated_bytes: u64,
    /// Bytes of those pages actually holding headers, elements, keys and values.
    pub used_bytes: u64,
}

impl TreeStats {
    /// Adds the counts of a disjoint part of the same tree (depths are the caller's to set).
    fn add(&mut self, part: &TreeStats) {
        self.keys += part.keys;
        self.nested_buckets += part.nested_buckets;
        self.branch_pages += part.branch_pages;
        self.leaf_pages += part.leaf_pages;
        self.overflow_pages += part.overflow_pages;
        self.allocated_bytes += part.allocated_bytes;
        self.used_bytes += part.used_bytes;
    }
}

/// A set of page ids below the high-water mark, and the element visits made by the walks that
/// marked them (a whole-file walk shares one set, and so one visit budget).
pub struct PageSet {
    bits: Vec<u64>,
    visits: u64,
}

impl PageSet {
    pub fn new(pages: u64) -> PageSet {
        PageSet { bits: vec![0; pages.div_ceil(64) as usize], visits: 0 }
    }
    /// Marks `id`; false if it was already marked. (Walks only mark ids below the high-water
    /// mark; a set made smaller than that grows.)
    pub fn insert(&mut self, id: u64) -> bool {
        let (w, b) = ((id / 64) as usize, id % 64);
        if w >= self.bits.len() {
            self.bits.resize(w + 1, 0);
        }
        let was = self.bits[w] & (1 << b) != 0;
        self.bits[w] |= 1 << b;
        !was
    }
    pub fn contains(&self, id: u64) -> bool {
        self.bits.get((id / 64) as usize).is_some_and(|w| w & (1 << (id % 64)) != 0)
    }
    pub fn len(&self) -> u64 {
        self.bits.iter().map(|w| u64::from(w.count_ones())).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Element visits made so far by walks sharing this set.
    pub fn visits(&self) -> u64 {
        self.visits
    }
    /// Adds every page of `other` (a set of the same size); the first page already here, if any.
    fn union_disjoint(&mut self, other: &PageSet) -> Option<u64> {
        if other.bits.len() > self.bits.len() {
            self.bits.resize(other.bits.len(), 0);
        }
        self.visits = self.visits.saturating_add(other.visits);
        for (i, (mine, theirs)) in self.bits.iter_mut().zip(&other.bits).enumerate() {
            let both = *mine & theirs;
            if both != 0 {
                return Some(i as u64 * 64 + u64::from(both.trailing_zeros()));
            }
            *mine |= theirs;
        }
        None
    }
}

/// Element visits a whole-file walk of `db` may make: one per element record the file's pages
/// can hold, plus a path. In a sound file no two element records share bytes, so no walk needs
/// more.
pub fn visit_limit(db: &Db<'_>) -> u64 {
    db.size() / LEAF_ELEMENT_SIZE as u64 + MAX_TREE_DEPTH as u64
}

/// Something wrong a walk met, and where: the page to name and the byte offset to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub page: u64,
    pub offset: u64,
    pub what: String,
    /// Whether the walk left entries unread because of it (a subtree, a bucket, the rest of a
    /// node); a tolerant walk goes on after it.
    pub skipped: bool,
}

impl Problem {
    fn damage(page: u64, offset: u64, what: impl Into<String>) -> Problem {
        Problem { severity: Severity::Error, page, offset, what: what.into(), skipped: true }
    }

    /// A reader's error as a problem (`page`/`offset` when the error does not name a place).
    fn from_error(e: Error, page: u64, offset: u64) -> Problem {
        match e {
            Error::Corrupt { at, what } => Problem::damage(at.page.unwrap_or(page), at.offset, what),
            other => Problem::damage(page, offset, other.to_string()),
        }
    }
}

/// Where in a walk an entry or a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Place<'a> {
    /// Buckets entered below the walked one (0: the walked bucket's own entries).
    pub nested: usize,
    /// The key of the innermost bucket entered (`None` at the walked bucket's own level).
    pub bucket: Option<&'a [u8]>,
    /// The keys the parent branch gives the page being walked: its first key (`low`, which
    /// bbolt keeps equal to the page's first key) and the next sibling's (`high`, above all of
    /// its keys). What a page that cannot be read held lay in `[low, high)`.
    pub low: Option<&'a [u8]>,
    pub high: Option<&'a [u8]>,
    /// Pages above the page being walked in its bucket's tree (0: the bucket's root page). A
    /// bbolt tree is balanced: every leaf of a bucket is at the same depth.
    pub depth: usize,
}

/// What a walk reports to whoever walks.
pub trait Observer<'a> {
    /// A problem met at `place`. `Err` ends the walk with that error (the readers); `Ok` walks
    /// on past it, skipping what could not be read.
    fn problem(&mut self, place: Place<'a>, problem: Problem) -> Result<()>;
    /// A leaf element (a value or a nested bucket's header), in key order within its node.
    fn element(&mut self, _place: Place<'a>, _entry: &Entry<'a>) -> Result<()> {
        Ok(())
    }
    /// The walk enters a nested bucket: what follows until the walk leaves it is at `place`.
    fn entered(&mut self, _place: Place<'a>) {}
}

/// Receives the entries of the walked bucket (not those of buckets nested in it), in key order
/// within each chunk.
pub trait Visitor<'a> {
    fn entry(&mut self, entry: &Entry<'a>) -> Result<()>;
    /// A split walk ([`walk_bucket_split`]) is about to hand out the entries of chunk `index`
    /// (the subtree of the root's child `index`); chunks come in key order on each end.
    fn chunk(&mut self, _index: usize) {}
}

/// A visitor that wants nothing.
pub struct Count;

impl Visitor<'_> for Count {
    fn entry(&mut self, _: &Entry<'_>) -> Result<()> {
        Ok(())
    }
}

/// The readers' observer: any damage is the error that ends the walk (warnings pass); the
/// walked bucket's own entries go to a visitor.
struct Strict<'v, 'a> {
    db: &'v Db<'a>,
    visitor: &'v mut dyn Visitor<'a>,
}

impl<'a> Observer<'a> for Strict<'_, 'a> {
    fn problem(&mut self, _: Place<'a>, p: Problem) -> Result<()> {
        match p.severity {
            Severity::Error => Err(self.db.corrupt(p.page, p.offset, p.what)),
            _ => Ok(()),
        }
    }
    fn element(&mut self, place: Place<'a>, entry: &Entry<'a>) -> Result<()> {
        if place.nested == 0 {
            self.visitor.entry(entry)?;
        }
        Ok(())
    }
}

/// Walks the tree of `bucket`, marking its pages in `seen` and adding them to `stats`; the
/// first problem is the error. With `enter_nested` false, nested buckets are counted but their
/// trees are not walked (used for the root bucket, whose entries are the top-level buckets,
/// walked one by one).
pub fn walk_bucket(db: &Db<'_>, bucket: &Bucket<'_>, seen: &mut PageSet, stats: &mut TreeStats, enter_nested: bool) -> Result<()> {
    walk_bucket_visiting(db, bucket, seen, stats, enter_nested, &mut Count)
}

/// [`walk_bucket`], handing every entry of `bucket` itself to `visitor` in key order.
pub fn walk_bucket_visiting<'a>(
    db: &Db<'a>,
    bucket: &Bucket<'a>,
    seen: &mut PageSet,
    stats: &mut TreeStats,
    enter_nested: bool,
    visitor: &mut dyn Visitor<'a>,
) -> Result<()> {
    let mut strict = Strict { db, visitor };
    let options = WalkOptions { enter_nested, ..WalkOptions::default() };
    Walker::new(db, seen, stats, options, &mut strict).bucket(bucket.root, None)
}

/// [`walk_bucket_visiting`] with nested buckets entered, on two threads when the tree's root is
/// a branch: each child subtree of the root is a chunk; `first` takes chunks from the left
/// (ascending), `second` from the right (descending), until they meet, so the halves balance
/// whatever the subtrees weigh. Each visitor is told the index of every chunk it starts. The
/// two sides' pages are checked not to overlap. A root that is a leaf or inline is one chunk (0),
/// walked by `first`.
pub fn walk_bucket_split<'a, V: Visitor<'a> + Send>(
    db: &Db<'a>,
    bucket: &Bucket<'a>,
    seen: &mut PageSet,
    stats: &mut TreeStats,
    first: &mut V,
    second: &mut V,
) -> Result<()> {
    let id = match bucket.root {
        Root::Page(id) => id,
        Root::Inline(_) => {
            first.chunk(0);
            return walk_bucket_visiting(db, bucket, seen, stats, true, first);
        }
    };
    // A root that is a leaf (or holds one child, or is unreadable: the walk says why) is one
    // chunk, walked by `first`.
    if db.node(id).map_or(true, |node| node.is_leaf || node.count < 2) {
        first.chunk(0);
        return walk_bucket_visiting(db, bucket, seen, stats, true, first);
    }
    let options = WalkOptions::default();
    let children = {
        let mut strict = Strict { db, visitor: &mut *first };
        let mut top = Walker::new(db, seen, stats, options, &mut strict);
        let Some(node) = top.enter(id, None, 0)? else { return Ok(()) };
        let (children, complete) = top.children(&node, None)?;
        if !complete {
            return Ok(());
        }
        children
    };
    // Chunks not yet taken: [next from the left, next from the right).
    let open = std::sync::Mutex::new((0usize, children.len()));
    let take = |from_left: bool| -> Option<usize> {
        let mut open = open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if open.0 >= open.1 {
            return None;
        }
        Some(if from_left {
            open.0 += 1;
            open.0 - 1
        } else {
            open.1 -= 1;
            open.1
        })
    };
    let hwm = db.high_water_mark();
    let walk_side = |from_left: bool, visitor: &mut V| -> Result<(PageSet, TreeStats, u32)> {
        let (mut seen, mut stats) = (PageSet::new(hwm), TreeStats::default());
        let mut depth = 0;
        while let Some(i) = take(from_left) {
            let child = &children[i];
            visitor.chunk(i);
            let mut strict = Strict { db, visitor: &mut *visitor };
            let mut walker = Walker::new(db, &mut seen, &mut stats, options, &mut strict);
            walker.below_branch = true;
            depth = depth.max(walker.page(child.id, Some((id, child.pointer)), 1, None, None)?);
        }
        Ok((seen, stats, depth))
    };
    let (a, b) = std::thread::scope(|scope| {
        let b = scope.spawn(|| walk_side(false, second));
        let a = walk_side(true, first);
        (a, b.join().expect("a tree walk does not panic"))
    });
    let (a, b) = (a?, b?);
    for (part, _, _) in [&a, &b] {
        if let Some(p) = seen.union_disjoint(part) {
            return Err(db.corrupt(
                id,
                id.saturating_mul(db.page_size() as u64),
                format!("page {p} is reached twice under page {id}: a cycle or a page shared by two parents"),
            ));
        }
    }
    stats.add(&a.1);
    stats.add(&b.1);
    stats.depth = stats.depth.max(a.2.max(b.2) + 1);
    Ok(())
}

/// What a walk does besides walking.
#[derive(Debug, Clone, Copy)]
pub struct WalkOptions {
    /// Walk the trees of nested buckets (false: count them only).
    pub enter_nested: bool,
    /// Follow page ids (branch children, nested buckets' root pages); false for a page scan,
    /// which reads one node and the inline buckets in it.
    pub follow_pages: bool,
    /// Check that keys ascend within each node and lie in the range the parent branch gives
    /// (bbolt check's "keys out of order"); the readers leave that to cursors.
    pub key_order: bool,
}

impl Default for WalkOptions {
    fn default() -> WalkOptions {
        WalkOptions { enter_nested: true, follow_pages: true, key_order: false }
    }
}

/// Unreadable elements after which a tolerant walk gives up on the rest of a node.
const MAX_UNREADABLE_ELEMENTS: usize = 8;

/// A branch's child: its page, the file offset of the reference, the smallest key it may hold.
struct Child<'a> {
    id: u64,
    pointer: u64,
    key: &'a [u8],
}

/// The walker. Build one with [`Walker::new`], then walk a bucket ([`Walker::bucket`]) or a node
/// found by a scan ([`Walker::scan_node`]). Its stats are those of what it walked.
pub struct Walker<'w, 'a> {
    db: &'w Db<'a>,
    seen: &'w mut PageSet,
    stats: &'w mut TreeStats,
    options: WalkOptions,
    observer: &'w mut dyn Observer<'a>,
    cancel: Option<&'w Cancel>,
    /// Element visits allowed to walks sharing `seen` ([`visit_limit`] unless set).
    limit: u64,
    /// Set when the visit budget ran out: everything unwinds without walking further.
    stopped: bool,
    place: Place<'a>,
    /// Whether the page being entered was reached from a branch (not as a bucket's root).
    below_branch: bool,
}

impl<'w, 'a> Walker<'w, 'a> {
    pub fn new(db: &'w Db<'a>, seen: &'w mut PageSet, stats: &'w mut TreeStats, options: WalkOptions, observer: &'w mut dyn Observer<'a>) -> Walker<'w, 'a> {
        let limit = visit_limit(db);
        Walker { db, seen, stats, options, observer, cancel: None, limit, stopped: false, place: Place::default(), below_branch: false }
    }

    /// Checks `cancel` at every page: a cancelled walk ends with [`Error::Interrupted`].
    pub fn cancellable(mut self, cancel: &'w Cancel) -> Walker<'w, 'a> {
        self.cancel = Some(cancel);
        self
    }

    /// Element visits the walks sharing this walker's page set may make in all.
    pub fn visit_limit(mut self, limit: u64) -> Walker<'w, 'a> {
        self.limit = limit;
        self
    }

    /// Whether the visit budget ran out (the walk was cut short, and said so).
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Walks a bucket's tree from its root. `pointer`: where the root's page id is stored
    /// (page, file offset), named when the id is bad; the root page itself when not given.
    pub fn bucket(&mut self, root: Root<'a>, pointer: Option<(u64, u64)>) -> Result<()> {
        self.root(root, pointer, 0)
    }

    /// Reads one node found by a page scan, and the inline buckets nested in it, following no
    /// page id. The node's elements come at nesting 0, an inline bucket's with its key.
    pub fn scan_node(&mut self, node: &Node<'a>) -> Result<()> {
        if let Some(cancel) = self.cancel {
            cancel.check()?;
        }
        if node.is_leaf {
            self.leaf(node, 0, None, None)?;
        }
        Ok(())
    }

    fn report(&mut self, problem: Problem) -> Result<()> {
        self.observer.problem(self.place, problem)
    }

    /// Counts one element visit; false (after saying so once) when the budget is spent.
    fn visit(&mut self, node: &Node<'a>, i: usize) -> Result<bool> {
        if self.stopped {
            return Ok(false);
        }
        self.seen.visits += 1;
        if self.seen.visits <= self.limit {
            return Ok(true);
        }
        self.stopped = true;
        let what = format!(
            "the walk stopped after {} element visits, more than a sound {}-page file holds: pages or nested bucket values are shared between parents",
            self.limit,
            self.db.high_water_mark()
        );
        self.report(Problem::damage(node.page_id, node.element_file_offset(i), what))?;
        Ok(false)
    }

    /// Walks a bucket's tree; `level` counts every level above it (pages and buckets alike), so
    /// buckets nested in buckets, inline or not, cannot recurse without bound.
    fn root(&mut self, root: Root<'a>, pointer: Option<(u64, u64)>, level: usize) -> Result<()> {
        if level >= MAX_TREE_DEPTH {
            let what = format!("buckets nested deeper than {MAX_TREE_DEPTH} levels");
            let (page, offset) = match (root, pointer) {
                (_, Some(at)) => at,
                (Root::Page(id), None) => (id, id.saturating_mul(self.db.page_size() as u64)),
                (Root::Inline(node), None) => (node.page_id, node.element_file_offset(0)),
            };
            return self.report(Problem::damage(page, offset, what));
        }
        match root {
            Root::Page(id) if self.options.follow_pages => {
                let depth = self.page(id, pointer, level, None, None)?;
                if level == 0 {
                    self.stats.depth = self.stats.depth.max(depth);
                }
                Ok(())
            }
            Root::Page(_) => Ok(()),
            Root::Inline(node) => {
                if level == 0 {
                    self.stats.inline = true;
                }
                self.leaf(&node, level, None, None)
            }
        }
    }

    /// Walks the subtree at page `id` (referenced from `pointer`: page and byte offset) whose
    /// keys must lie in `[low, high)`, and returns its depth (0 when it could not be read).
    fn page(&mut self, id: u64, pointer: Option<(u64, u64)>, level: usize, low: Option<&'a [u8]>, high: Option<&'a [u8]>) -> Result<u32> {
        match self.enter(id, pointer, level)? {
            Some(node) => self.node(&node, level, low, high),
            None => Ok(0),
        }
    }

    /// Checks and marks the page run at `id` and counts its pages; its node, or `None` (after
    /// a problem) when it cannot be walked.
    fn enter(&mut self, id: u64, pointer: Option<(u64, u64)>, level: usize) -> Result<Option<Node<'a>>> {
        if self.stopped {
            return Ok(None);
        }
        if let Some(cancel) = self.cancel {
            cancel.check()?;
        }
        let db = self.db;
        let ps = db.page_size() as u64;
        let (from, at) = pointer.unwrap_or((id, id.saturating_mul(ps)));
        let hwm = db.high_water_mark();
        if level >= MAX_TREE_DEPTH {
            self.report(Problem::damage(from, at, format!("tree deeper than {MAX_TREE_DEPTH} levels at page {id}")))?;
            return Ok(None);
        }
        if id < 2 {
            self.report(Problem::damage(from, at, format!("page {from} points to page {id}, a meta page (invalid type: meta)")))?;
            return Ok(None);
        }
        if id >= hwm {
            let what = match db.truncation() {
                Some(t) if id < t.stated_pages => format!(
                    "page {from} points to page {id}, out of bounds: beyond the end of the truncated file ({hwm} whole pages; the meta says {})",
                    t.stated_pages
                ),
                _ => format!("page {from} points to page {id}, out of bounds: beyond the high-water mark {hwm} (data pages are 2..{hwm})"),
            };
            self.report(Problem::damage(from, at, what))?;
            return Ok(None);
        }
        if !self.seen.insert(id) {
            self.report(Problem::damage(
                id,
                id * ps,
                format!(
                    "page {id} is reached twice (multiple references; this time from page {from} at byte offset {at}): a cycle or a page shared by two parents"
                ),
            ))?;
            return Ok(None);
        }
        let page = match db.page(id) {
            Ok(page) => page,
            Err(e) => {
                self.report(Problem::from_error(e, id, id * ps))?;
                return Ok(None);
            }
        };
        for p in id + 1..=id + u64::from(page.overflow) {
            if !self.seen.insert(p) {
                self.report(Problem::damage(
                    p,
                    p * ps,
                    format!(
                    "page {p} is reached twice (multiple references: overflow of page {id}, reached from page {from}): a cycle or a page shared by two parents"
                ),
                ))?;
            }
        }
        if page.flags != BRANCH_PAGE && page.flags != LEAF_PAGE {
            self.report(Problem::damage(
                id,
                page.offset + PAGE_FLAGS as u64,
                format!(
                    "page {id}: invalid type: {} (flags 0x{:02x}), a branch or leaf page was expected (referenced by page {from})",
                    page_type_name(page.flags),
                    page.flags
                ),
            ))?;
            return Ok(None);
        }
        let node = match Node::from_page(&page, db.file()) {
            Ok(node) => node,
            Err(e) => {
                self.report(Problem::from_error(e, id, page.offset))?;
                return Ok(None);
            }
        };
        self.stats.overflow_pages += u64::from(page.overflow);
        self.stats.allocated_bytes += page.bytes.len() as u64;
        self.empty_page(&page, &node, self.below_branch)?;
        Ok(Some(node))
    }

    /// A warning for an empty page where bbolt leaves none: a branch anywhere, a leaf below a
    /// branch (a bucket's root leaf may be empty).
    fn empty_page(&mut self, page: &Page<'a>, node: &Node<'a>, below_branch: bool) -> Result<()> {
        if node.count > 0 || (node.is_leaf && !below_branch) {
            return Ok(());
        }
        let kind = if node.is_leaf { "leaf" } else { "branch" };
        self.report(Problem {
            severity: Severity::Warning,
            page: page.id,
            offset: page.offset + PAGE_COUNT as u64,
            what: format!("page {}: an empty {kind} page inside a tree", page.id),
            skipped: false,
        })
    }

    /// Walks an entered page's node whose keys must lie in `[low, high)`: a leaf's entries, or
    /// a branch's children. Returns its depth.
    fn node(&mut self, node: &Node<'a>, level: usize, low: Option<&'a [u8]>, high: Option<&'a [u8]>) -> Result<u32> {
        if node.is_leaf {
            self.stats.leaf_pages += 1;
            self.leaf(node, level, low, high)?;
            return Ok(1);
        }
        let (children, _) = self.children(node, low)?;
        let mut depth = 0;
        for (i, child) in children.iter().enumerate() {
            let next = children.get(i + 1).map(|c| c.key).or(high);
            let (saved, place) = (std::mem::replace(&mut self.below_branch, true), self.place);
            (self.place.low, self.place.high, self.place.depth) = (Some(child.key), next, place.depth + 1);
            let walked = self.page(child.id, Some((node.page_id, child.pointer)), level + 1, Some(child.key), next);
            self.place = place;
            self.below_branch = saved;
            depth = depth.max(walked?);
        }
        Ok(depth + 1)
    }

    /// A branch's children, counting the branch; false as well when an element could not be
    /// read (the children before it are returned).
    fn children(&mut self, node: &Node<'a>, low: Option<&'a [u8]>) -> Result<(Vec<Child<'a>>, bool)> {
        let file = self.db.file();
        self.stats.branch_pages += 1;
        let mut used = PAGE_HEADER_SIZE as u64;
        let mut children: Vec<Child<'a>> = Vec::with_capacity(node.count);
        let mut complete = true;
        for i in 0..node.count {
            if !self.visit(node, i)? {
                complete = false;
                break;
            }
            let e = match node.branch(i, file) {
                Ok(e) => e,
                Err(e) => {
                    self.report(Problem::from_error(e, node.page_id, node.element_file_offset(i)))?;
                    complete = false;
                    break;
                }
            };
            used += (BRANCH_ELEMENT_SIZE + e.key.len()) as u64;
            if self.options.key_order {
                self.branch_key_order(node, i, e.key, children.last().map(|c| c.key), if i == 0 { low } else { None })?;
            }
            children.push(Child { id: e.child, pointer: e.offset + BRANCH_CHILD as u64, key: e.key });
        }
        self.stats.used_bytes += used;
        Ok((children, complete))
    }

    fn branch_key_order(&mut self, node: &Node<'a>, i: usize, key: &'a [u8], previous: Option<&'a [u8]>, low: Option<&'a [u8]>) -> Result<()> {
        let at = node.element_file_offset(i);
        if let Some(p) = previous.filter(|p| key <= *p) {
            self.report(order_problem(node, at, format!("key[{i}] {} is not above key[{}] {}", show(key), i - 1, show(p))))?;
        }
        if let Some(low) = low.filter(|low| key < *low) {
            self.report(order_problem(node, at, format!("key[{i}] {} is below the key {} its parent branch gives it", show(key), show(low))))?;
        }
        Ok(())
    }

    /// A leaf's entries: each handed to the observer, nested buckets walked (or counted).
    fn leaf(&mut self, node: &Node<'a>, level: usize, low: Option<&'a [u8]>, high: Option<&'a [u8]>) -> Result<()> {
        let mut used = PAGE_HEADER_SIZE as u64;
        // End (file offset) of the previous nested bucket's value in this node. bbolt writes
        // values in element order, so they never overlap; bucket values that did could nest
        // inline buckets within one page so that a walk visits each level's bucket once per
        // element pointing at it: 2^63 visits from a 4 KiB page.
        let mut bucket_values_end = 0u64;
        let mut previous: Option<&'a [u8]> = None;
        let mut unreadable = 0;
        for i in 0..node.count {
            if !self.visit(node, i)? {
                break;
            }
            let e = match node.leaf(i, self.db.file()) {
                Ok(e) => e,
                Err(e) => {
                    // Each element record stands alone: a tolerant walk reads on past a bad
                    // one, up to a few (a page of garbage is not worth a finding per element).
                    self.report(Problem::from_error(e, node.page_id, node.element_file_offset(i)))?;
                    unreadable += 1;
                    if unreadable == MAX_UNREADABLE_ELEMENTS {
                        break;
                    }
                    continue;
                }
            };
            used += (LEAF_ELEMENT_SIZE + e.key.len() + e.value.len()) as u64;
            if self.options.key_order {
                self.leaf_key_order(node, i, e.key, previous, low, high)?;
            }
            previous = Some(e.key);
            self.observer.element(self.place, &Entry { page: node.page_id, element: e })?;
            if !e.is_bucket() {
                self.stats.keys += 1;
                continue;
            }
            if e.value_offset < bucket_values_end {
                self.report(Problem::damage(
                    node.page_id,
                    node.element_file_offset(i),
                    format!("leaf element {i}: nested bucket value at byte offset {} overlaps the previous nested bucket's value", e.value_offset),
                ))?;
                continue;
            }
            bucket_values_end = e.value_offset.saturating_add(e.value.len() as u64);
            self.stats.nested_buckets += 1;
            if self.options.enter_nested {
                self.nested_bucket(node, &e, level)?;
            }
        }
        // An inline bucket lives inside its parent's value: count its bytes, not a page.
        self.stats.used_bytes += if node.inline { node.data().len() as u64 } else { used };
        Ok(())
    }

    fn leaf_key_order(
        &mut self,
        node: &Node<'a>,
        i: usize,
        key: &'a [u8],
        previous: Option<&'a [u8]>,
        low: Option<&'a [u8]>,
        high: Option<&'a [u8]>,
    ) -> Result<()> {
        let at = node.element_file_offset(i);
        if let Some(p) = previous.filter(|p| key <= *p) {
            self.report(order_problem(node, at, format!("key[{i}] {} is not above key[{}] {}", show(key), i - 1, show(p))))?;
        }
        if let Some(low) = low.filter(|low| key < *low) {
            self.report(order_problem(node, at, format!("key[{i}] {} is below the key {} its parent branch gives it", show(key), show(low))))?;
        }
        if let Some(high) = high.filter(|high| key >= *high) {
            self.report(order_problem(node, at, format!("key[{i}] {} is not below the next branch key {}", show(key), show(high))))?;
        }
        Ok(())
    }

    /// Enters the bucket stored in leaf element `e` of `node`: its problems and entries are
    /// placed one level deeper, under its key.
    fn nested_bucket(&mut self, node: &Node<'a>, e: &LeafElement<'a>, level: usize) -> Result<()> {
        let outer = self.place;
        self.place = Place { nested: outer.nested + 1, bucket: Some(e.key), low: None, high: None, depth: 0 };
        self.observer.entered(self.place);
        let saved = std::mem::replace(&mut self.below_branch, false);
        let walked = match Bucket::from_element(self.db, node.page_id, e) {
            Ok(child) => self.root(child.root, Some((node.page_id, e.value_offset)), level + 1),
            Err(err) => self.report(Problem::from_error(err, node.page_id, e.value_offset)),
        };
        self.below_branch = saved;
        self.place = outer;
        walked
    }
}

fn order_problem(node: &Node<'_>, at: u64, what: String) -> Problem {
    // Keys out of order are read anyway: nothing is skipped.
    Problem { severity: Severity::Error, page: node.page_id, offset: at, what: format!("page {}: {what} (keys out of order)", node.page_id), skipped: false }
}

/// A key for a message: text when printable, else hex.
pub fn show(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(s) if s.chars().all(|c| !c.is_control()) && s.len() <= 64 => format!("{s:?}"),
        _ => format!("0x{}", key.iter().take(32).map(|b| format!("{b:02x}")).collect::<String>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records every problem; never stops the walk.
    #[derive(Default)]
    struct Record(Vec<Problem>);

    impl<'a> Observer<'a> for Record {
        fn problem(&mut self, _: Place<'a>, p: Problem) -> Result<()> {
            self.0.push(p);
            Ok(())
        }
    }

    fn walk(db: &Db<'_>, limit: Option<u64>) -> (Vec<Problem>, bool, u64) {
        let mut seen = PageSet::new(db.high_water_mark());
        let (mut stats, mut record) = (TreeStats::default(), Record::default());
        let mut walker = Walker::new(db, &mut seen, &mut stats, WalkOptions { key_order: true, ..WalkOptions::default() }, &mut record);
        if let Some(limit) = limit {
            walker = walker.visit_limit(limit);
        }
        walker.bucket(db.root().root, None).unwrap();
        let stopped = walker.stopped();
        (record.0, stopped, seen.visits())
    }

    /// The global visit budget: a sound file never reaches it; a walk allowed fewer visits than
    /// the file's elements stops, once, with a problem that says so.
    #[test]
    fn the_visit_budget_stops_a_walk_and_says_so() {
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/etcd-3.5.1/member-db")).unwrap();
        let db = Db::open(&bytes, std::sync::Arc::from(std::path::Path::new("member-db"))).unwrap();
        let (problems, stopped, visits) = walk(&db, None);
        assert!(problems.is_empty() && !stopped, "{problems:?}");
        assert!(visits > 3000 && visits <= visit_limit(&db), "{visits} visits, limit {}", visit_limit(&db));
        let (problems, stopped, visits) = walk(&db, Some(100));
        assert!(stopped);
        assert_eq!(visits, 101, "one visit past the budget, then nothing");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].what.starts_with("the walk stopped after 100 element visits") && problems[0].skipped, "{problems:?}");
    }
}
