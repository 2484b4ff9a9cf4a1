//! Buckets and cursors: ordered traversal of a bucket's B+tree (forward, backward, from a key).
//! Walks are bounded in depth and refuse a page that points back at one of its ancestors, so a
//! damaged file yields an error instead of a loop.

use super::db::Db;
use super::layout::*;
use super::meta::BucketHeader;
use super::page::{LeafElement, Node};
use crate::error::Result;

/// Where a bucket's tree lives.
#[derive(Debug, Clone, Copy)]
pub enum Root<'a> {
    Page(u64),
    Inline(Node<'a>),
}

/// A bucket: its header and the root of its tree.
#[derive(Debug, Clone, Copy)]
pub struct Bucket<'a> {
    pub header: BucketHeader,
    pub root: Root<'a>,
}

impl<'a> Bucket<'a> {
    pub(crate) fn on_page(header: BucketHeader) -> Bucket<'a> {
        Bucket { header, root: Root::Page(header.root) }
    }

    /// The bucket stored in a leaf element flagged as a bucket.
    pub fn from_element(db: &Db<'a>, holder: u64, elem: &LeafElement<'a>) -> Result<Bucket<'a>> {
        let v = elem.value;
        let (Some(root), Some(sequence)) = (u64_at(v, BUCKET_ROOT), u64_at(v, BUCKET_SEQUENCE)) else {
            return Err(db.corrupt(
                holder,
                elem.value_offset,
                format!("bucket {:?}: header is {} bytes, needs {BUCKET_HEADER_SIZE}", String::from_utf8_lossy(elem.key), v.len()),
            ));
        };
        let header = BucketHeader { root, sequence };
        if root != 0 {
            return Ok(Bucket::on_page(header));
        }
        let inline = Node::inline(holder, &v[BUCKET_HEADER_SIZE..], elem.value_offset + BUCKET_HEADER_SIZE as u64, db.file())?;
        Ok(Bucket { header, root: Root::Inline(inline) })
    }

    pub fn is_inline(&self) -> bool {
        matches!(self.root, Root::Inline(_))
    }

    /// A nested bucket by name, if present.
    pub fn bucket(&self, db: &Db<'a>, name: &[u8]) -> Result<Option<Bucket<'a>>> {
        let mut c = self.cursor(db);
        match c.seek(name)? {
            Some((holder, e)) if e.key == name && e.is_bucket() => Ok(Some(Bucket::from_element(db, holder, &e)?)),
            _ => Ok(None),
        }
    }

    /// The value stored under `key` (never a nested bucket), if present.
    pub fn get(&self, db: &Db<'a>, key: &[u8]) -> Result<Option<&'a [u8]>> {
        let mut c = self.cursor(db);
        match c.seek(key)? {
            Some((_, e)) if e.key == key && !e.is_bucket() => Ok(Some(e.value)),
            _ => Ok(None),
        }
    }

    pub fn cursor<'d>(&self, db: &'d Db<'a>) -> Cursor<'d, 'a> {
        Cursor { db, root: self.root, stack: Vec::new(), loads: 0, total_loads: 0, calls: 0, last_key: None }
    }

    /// All entries in key order (nested buckets included, flagged).
    pub fn iter<'d>(&self, db: &'d Db<'a>) -> Iter<'d, 'a> {
        Iter { cursor: self.cursor(db), state: IterState::Start, forward: true, from: None }
    }

    /// All entries in reverse key order.
    pub fn iter_rev<'d>(&self, db: &'d Db<'a>) -> Iter<'d, 'a> {
        Iter { cursor: self.cursor(db), state: IterState::Start, forward: false, from: None }
    }

    /// Entries with key >= `from`, in key order.
    pub fn iter_from<'d>(&self, db: &'d Db<'a>, from: &[u8]) -> Iter<'d, 'a> {
        Iter { cursor: self.cursor(db), state: IterState::Start, forward: true, from: Some(from.to_vec()) }
    }
}

#[derive(Debug, Clone, Copy)]
struct Frame<'a> {
    node: Node<'a>,
    index: usize,
}

/// A position in a bucket's tree. Entries come with the id of the page holding them.
///
/// Bounds keep every use of a cursor on a damaged file short, however often it is reused (a
/// merge walk seeks thousands of times):
///
/// - each positioning call (`first`, `last`, `seek`, `next`, `prev`) may load at most
///   [`Cursor::load_budget`] pages;
/// - over the cursor's life, loads may not exceed that budget plus one root-to-leaf path
///   ([`MAX_TREE_DEPTH`]) per call made;
/// - consecutive steps must yield strictly ascending (`next`) or descending (`prev`) keys.
///
/// In a sound tree a full pass loads each page once, a seek loads one path, and keys are unique
/// and sorted, so none of these can trip. In a tree whose pages are shared between parents a
/// revisited non-empty leaf repeats a key, and runs of empty shared leaves exhaust the loads
/// allowed, so a walk that could otherwise take exponentially (or, step by step, quadratically)
/// long ends with an error, after work linear in the file and the calls made.
pub struct Cursor<'d, 'a> {
    db: &'d Db<'a>,
    root: Root<'a>,
    stack: Vec<Frame<'a>>,
    /// Pages loaded by the current positioning call, and over the cursor's life.
    loads: u64,
    total_loads: u64,
    /// Positioning calls made.
    calls: u64,
    /// The key the cursor last yielded, with the page holding it.
    last_key: Option<(u64, &'a [u8])>,
}

type Positioned<'a> = Option<(u64, LeafElement<'a>)>;

impl<'d, 'a> Cursor<'d, 'a> {
    /// Page loads one positioning call may make: twice the pages in the file plus a full
    /// root-to-leaf path. A sound tree never needs more than one path per call.
    pub fn load_budget(&self) -> u64 {
        2 * (self.db.high_water_mark() + MAX_TREE_DEPTH as u64)
    }

    /// Starts a positioning call: a fresh per-call budget, one more path of lifetime allowance.
    fn begin_call(&mut self) {
        self.loads = 0;
        self.calls += 1;
    }

    fn reset(&mut self) -> Result<()> {
        self.stack.clear();
        self.begin_call();
        self.last_key = None;
        let node = match self.root {
            Root::Page(id) => self.checked_node(id, None)?,
            Root::Inline(node) => node,
        };
        self.stack.push(Frame { node, index: 0 });
        Ok(())
    }

    /// Loads page `id` as a child of the current top frame, refusing cycles and runaway depth.
    fn checked_node(&mut self, id: u64, parent: Option<(&Node<'a>, u64)>) -> Result<Node<'a>> {
        let (from_page, at) = parent.map(|(n, off)| (n.page_id, off)).unwrap_or((id, 0));
        if id < 2 {
            return Err(self.db.corrupt(from_page, at, format!("page {from_page} points to page {id}, a meta page")));
        }
        // Said here, where the pointer is known, rather than by `Db::page` at the page itself.
        let hwm = self.db.high_water_mark();
        if id >= hwm && parent.is_some() {
            return Err(self.db.corrupt(from_page, at, format!("page {from_page} points to page {id}, beyond the high-water mark {hwm}")));
        }
        if self.stack.len() >= MAX_TREE_DEPTH {
            return Err(self.db.corrupt(from_page, at, format!("tree deeper than {MAX_TREE_DEPTH} levels below page {from_page}")));
        }
        if self.stack.iter().any(|f| !f.node.inline && f.node.page_id == id) {
            return Err(self.db.corrupt(from_page, at, format!("cycle: page {from_page} points back to its ancestor page {id}")));
        }
        self.loads += 1;
        self.total_loads += 1;
        if self.loads > self.load_budget() {
            return Err(self.db.corrupt(
                from_page,
                at,
                format!(
                    "page {id} reached again after {} page loads in one cursor step in a {}-page file: pages are shared between parents",
                    self.loads - 1,
                    self.db.high_water_mark()
                ),
            ));
        }
        let lifetime = self.load_budget().saturating_add(self.calls.saturating_mul(MAX_TREE_DEPTH as u64));
        if self.total_loads > lifetime {
            return Err(self.db.corrupt(
                from_page,
                at,
                format!(
                    "page {id}: {} page loads in {} cursor calls in a {}-page file: pages are shared between parents",
                    self.total_loads - 1,
                    self.calls,
                    self.db.high_water_mark()
                ),
            ));
        }
        self.db.node(id)
    }

    /// Descends from the top frame to a leaf, always taking the first (or last) child.
    fn descend(&mut self, leftmost: bool) -> Result<()> {
        loop {
            let top = *self.stack.last().expect("descend needs a frame");
            if top.node.is_leaf {
                return Ok(());
            }
            if top.node.count == 0 {
                return Err(top.node.corrupt(self.db.file(), PAGE_COUNT, format!("branch page {} has no elements", top.node.page_id)));
            }
            let elem = top.node.branch(top.index, self.db.file())?;
            let child = self.checked_node(elem.child, Some((&top.node, elem.offset + BRANCH_CHILD as u64)))?;
            let index = if leftmost { 0 } else { child.count.saturating_sub(1) };
            self.stack.push(Frame { node: child, index });
        }
    }

    fn current(&self) -> Result<Positioned<'a>> {
        match self.stack.last() {
            Some(f) if f.node.is_leaf && f.index < f.node.count => Ok(Some((f.node.page_id, f.node.leaf(f.index, self.db.file())?))),
            _ => Ok(None),
        }
    }

    pub fn first(&mut self) -> Result<Positioned<'a>> {
        self.reset()?;
        self.descend(true)?;
        let found = match self.current()? {
            Some(e) => Some(e),
            None => self.step(true)?,
        };
        Ok(self.remember(found))
    }

    pub fn last(&mut self) -> Result<Positioned<'a>> {
        self.reset()?;
        let top = self.stack.last_mut().expect("reset pushed the root");
        top.index = top.node.count.saturating_sub(1);
        self.descend(false)?;
        let found = match self.current()? {
            Some(e) => Some(e),
            None => self.step(false)?,
        };
        Ok(self.remember(found))
    }

    /// The next entry in key order; an error if it does not sort after the last one yielded.
    /// (A cursor, like bbolt's: it returns a `Result` at the end too, so it is no `Iterator`.)
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Positioned<'a>> {
        self.begin_call();
        let found = self.step(true)?;
        self.check_order(found, true)
    }

    /// The previous entry in key order; an error if it does not sort before the last one yielded.
    pub fn prev(&mut self) -> Result<Positioned<'a>> {
        self.begin_call();
        let found = self.step(false)?;
        self.check_order(found, false)
    }

    fn remember(&mut self, found: Positioned<'a>) -> Positioned<'a> {
        self.last_key = found.map(|(page, e)| (page, e.key));
        found
    }

    fn check_order(&mut self, found: Positioned<'a>, forward: bool) -> Result<Positioned<'a>> {
        if let (Some((page, e)), Some((last_page, last))) = (found, self.last_key) {
            let in_order = if forward { e.key > last } else { e.key < last };
            if !in_order {
                let frame = self.stack.last().expect("an entry was found in a frame");
                let offset = frame.node.element_file_offset(frame.index);
                return Err(self.db.corrupt(
                    page,
                    offset,
                    format!(
                        "keys out of order: a key on page {page} does not sort {} the previous key on page {last_page}: \
                     a page reached twice (shared between parents) or an unsorted page",
                        if forward { "after" } else { "before" }
                    ),
                ));
            }
        }
        Ok(self.remember(found))
    }

    /// Moves one entry forward or backward, skipping empty leaves.
    fn step(&mut self, forward: bool) -> Result<Positioned<'a>> {
        loop {
            loop {
                let Some(top) = self.stack.last_mut() else { return Ok(None) };
                if forward && top.index + 1 < top.node.count {
                    top.index += 1;
                    break;
                }
                if !forward && top.index > 0 && top.node.count > 0 {
                    top.index -= 1;
                    break;
                }
                self.stack.pop();
            }
            self.descend(forward)?;
            if let Some(e) = self.current()? {
                return Ok(Some(e));
            }
        }
    }

    /// Positions at the first entry with key >= `target`.
    pub fn seek(&mut self, target: &[u8]) -> Result<Positioned<'a>> {
        self.reset()?;
        let found = self.seek_from_root(target)?;
        Ok(self.remember(found))
    }

    fn seek_from_root(&mut self, target: &[u8]) -> Result<Positioned<'a>> {
        loop {
            let top = *self.stack.last().expect("reset pushed the root");
            let (index, exact) = top.node.search(target, self.db.file())?;
            if top.node.is_leaf {
                let frame = self.stack.last_mut().expect("top exists");
                if index < top.node.count {
                    frame.index = index;
                    return self.current();
                }
                frame.index = top.node.count.saturating_sub(1);
                return self.step(true);
            }
            if top.node.count == 0 {
                return Err(top.node.corrupt(self.db.file(), PAGE_COUNT, format!("branch page {} has no elements", top.node.page_id)));
            }
            let index = if !exact && index > 0 { index - 1 } else { index.min(top.node.count - 1) };
            self.stack.last_mut().expect("top exists").index = index;
            let elem = top.node.branch(index, self.db.file())?;
            let child = self.checked_node(elem.child, Some((&top.node, elem.offset + BRANCH_CHILD as u64)))?;
            self.stack.push(Frame { node: child, index: 0 });
        }
    }
}

enum IterState {
    Start,
    Running,
    Done,
}

/// An iterator over a bucket's entries; stops after the first error it yields.
pub struct Iter<'d, 'a> {
    cursor: Cursor<'d, 'a>,
    state: IterState,
    forward: bool,
    from: Option<Vec<u8>>,
}

/// A bucket entry and the id of the page (or inline holder page) it was read from.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub page: u64,
    pub element: LeafElement<'a>,
}

impl<'a> Entry<'a> {
    pub fn key(&self) -> &'a [u8] {
        self.element.key
    }
    pub fn value(&self) -> &'a [u8] {
        self.element.value
    }
    pub fn is_bucket(&self) -> bool {
        self.element.is_bucket()
    }
}

impl<'a> Iterator for Iter<'_, 'a> {
    type Item = Result<Entry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let step = match self.state {
            IterState::Done => return None,
            IterState::Start => {
                self.state = IterState::Running;
                match (self.forward, self.from.take()) {
                    (true, Some(from)) => self.cursor.seek(&from),
                    (true, None) => self.cursor.first(),
                    (false, _) => self.cursor.last(),
                }
            }
            IterState::Running if self.forward => self.cursor.next(),
            IterState::Running => self.cursor.prev(),
        };
        match step {
            Ok(Some((page, element))) => Some(Ok(Entry { page, element })),
            Ok(None) => {
                self.state = IterState::Done;
                None
            }
            Err(e) => {
                self.state = IterState::Done;
                Some(Err(e))
            }
        }
    }
}
