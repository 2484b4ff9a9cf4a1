//! Whole-tree walks: every page reachable from the active meta, with per-bucket page statistics.
//! A page reached twice is an error (two parents, or a cycle). Used for space accounting: etcd
//! does not persist its freelist, so free pages are the ones nothing reaches.
//!
//! A walk can also hand each entry of the walked bucket to a visitor, in key order, so one pass
//! over the pages serves both the accounting and a reader of every entry (`status` hashes them).
//! [`walk_bucket_split`] walks a big tree on two cores, one from each end.

use super::db::Db;
use super::layout::*;
use super::page::Node;
use super::tree::{Bucket, Entry, Root};
use crate::error::Result;
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

/// A set of page ids below the high-water mark.
pub struct PageSet {
    bits: Vec<u64>,
}

impl PageSet {
    pub fn new(pages: u64) -> PageSet {
        PageSet { bits: vec![0; pages.div_ceil(64) as usize] }
    }
    /// Marks `id`; false if it was already marked.
    pub fn insert(&mut self, id: u64) -> bool {
        let (w, b) = ((id / 64) as usize, id % 64);
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
    /// Adds every page of `other` (a set of the same size); the first page already here, if any.
    fn union_disjoint(&mut self, other: &PageSet) -> Option<u64> {
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

/// Walks the tree of `bucket`, marking its pages in `seen` and adding them to `stats`.
/// With `enter_nested` false, nested buckets are counted but their trees are not walked (used
/// for the root bucket, whose entries are the top-level buckets, walked one by one).
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
    let mut walker = Walker { db, seen, stats, enter_nested, visitor, nested: 0 };
    walker.root(bucket.root, 0)
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
    let mut top = Walker { db, seen, stats, enter_nested: true, visitor: first, nested: 0 };
    let node = top.enter(id, None, 0)?;
    if node.is_leaf || node.count < 2 {
        top.visitor.chunk(0);
        let depth = top.node(id, &node, 0)?;
        stats.depth = stats.depth.max(depth);
        return Ok(());
    }
    let children = top.children(&node)?;
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
        let mut walker = Walker { db, seen: &mut seen, stats: &mut stats, enter_nested: true, visitor, nested: 0 };
        let mut depth = 0;
        while let Some(i) = take(from_left) {
            let (child, at) = children[i];
            walker.visitor.chunk(i);
            depth = depth.max(walker.page(child, Some((id, at)), 1)?);
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
            return Err(db.corrupt(id, id.saturating_mul(db.page_size() as u64), format!(
                "page {p} is reached twice under page {id}: a cycle or a page shared by two parents"
            )));
        }
    }
    stats.add(&a.1);
    stats.add(&b.1);
    stats.depth = stats.depth.max(a.2.max(b.2) + 1);
    Ok(())
}

struct Walker<'w, 'a> {
    db: &'w Db<'a>,
    seen: &'w mut PageSet,
    stats: &'w mut TreeStats,
    enter_nested: bool,
    visitor: &'w mut dyn Visitor<'a>,
    /// Buckets entered below the walked one (0: its own entries, which the visitor gets).
    nested: usize,
}

impl<'a> Walker<'_, 'a> {
    /// Walks a bucket's tree; `nesting` counts every level above it (pages and buckets alike),
    /// so buckets nested in buckets, inline or not, cannot recurse without bound.
    fn root(&mut self, root: Root<'a>, nesting: usize) -> Result<()> {
        if nesting >= MAX_TREE_DEPTH {
            let what = format!("buckets nested deeper than {MAX_TREE_DEPTH} levels");
            return Err(match root {
                Root::Page(id) => self.db.corrupt(id, id.saturating_mul(self.db.page_size() as u64), what),
                Root::Inline(node) => node.corrupt(self.db.file(), 0, what),
            });
        }
        match root {
            Root::Page(id) => {
                let depth = self.page(id, None, nesting)?;
                if nesting == 0 {
                    self.stats.depth = self.stats.depth.max(depth);
                }
                Ok(())
            }
            Root::Inline(node) => {
                if nesting == 0 {
                    self.stats.inline = true;
                }
                self.leaf(&node, nesting)
            }
        }
    }

    /// Walks the subtree at page `id` (referenced from `parent`: page and byte offset) and
    /// returns its depth.
    fn page(&mut self, id: u64, parent: Option<(u64, u64)>, level: usize) -> Result<u32> {
        let node = self.enter(id, parent, level)?;
        self.node(id, &node, level)
    }

    /// Checks and marks the page run at `id` and counts its pages; its node.
    fn enter(&mut self, id: u64, parent: Option<(u64, u64)>, level: usize) -> Result<Node<'a>> {
        let db = self.db;
        let (from, at) = parent.unwrap_or((id, id.saturating_mul(db.page_size() as u64)));
        if level >= MAX_TREE_DEPTH {
            return Err(db.corrupt(from, at, format!("tree deeper than {MAX_TREE_DEPTH} levels at page {id}")));
        }
        if id < 2 || id >= db.high_water_mark() {
            return Err(db.corrupt(from, at, format!(
                "page {from} points to page {id}, outside the data pages 2..{}",
                db.high_water_mark()
            )));
        }
        let page = db.page(id)?;
        for p in id..=id + u64::from(page.overflow) {
            if !self.seen.insert(p) {
                return Err(db.corrupt(from, at, format!(
                    "page {p} is reached twice (last from page {from}): a cycle or a page shared by two parents"
                )));
            }
        }
        let node = Node::from_page(&page, db.file())?;
        self.stats.overflow_pages += u64::from(page.overflow);
        self.stats.allocated_bytes += page.bytes.len() as u64;
        Ok(node)
    }

    /// Walks an entered page's node: a leaf's entries, or a branch's children.
    fn node(&mut self, id: u64, node: &Node<'a>, level: usize) -> Result<u32> {
        if node.is_leaf {
            self.stats.leaf_pages += 1;
            self.leaf(node, level)?;
            return Ok(1);
        }
        let mut depth = 0;
        for (child, at) in self.children(node)? {
            depth = depth.max(self.page(child, Some((id, at)), level + 1)?);
        }
        Ok(depth + 1)
    }

    /// A branch's children (page id, file offset of the reference), counting the branch.
    fn children(&mut self, node: &Node<'a>) -> Result<Vec<(u64, u64)>> {
        let file = self.db.file();
        self.stats.branch_pages += 1;
        let mut used = PAGE_HEADER_SIZE as u64;
        let mut children = Vec::with_capacity(node.count);
        for i in 0..node.count {
            let e = node.branch(i, file)?;
            used += (BRANCH_ELEMENT_SIZE + e.key.len()) as u64;
            children.push((e.child, e.offset + BRANCH_CHILD as u64));
        }
        self.stats.used_bytes += used;
        Ok(children)
    }

    fn leaf(&mut self, node: &Node<'a>, level: usize) -> Result<()> {
        let mut used = PAGE_HEADER_SIZE as u64;
        // End (file offset) of the previous nested bucket's value in this node. bbolt writes
        // values in element order, so they never overlap; bucket values that did could nest
        // inline buckets within one page so that a walk visits each level's bucket once per
        // element pointing at it: 2^63 visits from a 4 KiB page.
        let mut bucket_values_end = 0u64;
        for i in 0..node.count {
            let e = node.leaf(i, self.db.file())?;
            used += (LEAF_ELEMENT_SIZE + e.key.len() + e.value.len()) as u64;
            if self.nested == 0 {
                self.visitor.entry(&Entry { page: node.page_id, element: e })?;
            }
            if !e.is_bucket() {
                self.stats.keys += 1;
                continue;
            }
            if e.value_offset < bucket_values_end {
                return Err(self.db.corrupt(node.page_id, node.element_file_offset(i), format!(
                    "leaf element {i}: nested bucket value at byte offset {} overlaps the previous nested bucket's value",
                    e.value_offset
                )));
            }
            bucket_values_end = e.value_offset.saturating_add(e.value.len() as u64);
            self.stats.nested_buckets += 1;
            if self.enter_nested {
                let child = Bucket::from_element(self.db, node.page_id, &e)?;
                self.nested += 1;
                let walked = self.root(child.root, level + 1);
                self.nested -= 1;
                walked?;
            }
        }
        // An inline bucket lives inside its parent's value: count its bytes, not a page.
        self.stats.used_bytes += if node.inline { node.data().len() as u64 } else { used };
        Ok(())
    }
}
