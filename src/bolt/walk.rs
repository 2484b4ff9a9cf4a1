//! Whole-tree walks: every page reachable from the active meta, with per-bucket page statistics.
//! A page reached twice is an error (two parents, or a cycle). Used for space accounting: etcd
//! does not persist its freelist, so free pages are the ones nothing reaches.

use super::db::Db;
use super::layout::*;
use super::page::Node;
use super::tree::{Bucket, Root};
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
}

/// Walks the tree of `bucket`, marking its pages in `seen` and adding them to `stats`.
/// With `enter_nested` false, nested buckets are counted but their trees are not walked (used
/// for the root bucket, whose entries are the top-level buckets, walked one by one).
pub fn walk_bucket(db: &Db<'_>, bucket: &Bucket<'_>, seen: &mut PageSet, stats: &mut TreeStats, enter_nested: bool) -> Result<()> {
    let mut walker = Walker { db, seen, stats, enter_nested };
    walker.root(bucket.root, 0)
}

struct Walker<'w, 'a> {
    db: &'w Db<'a>,
    seen: &'w mut PageSet,
    stats: &'w mut TreeStats,
    enter_nested: bool,
}

impl Walker<'_, '_> {
    /// Walks a bucket's tree; `nesting` counts every level above it (pages and buckets alike),
    /// so buckets nested in buckets, inline or not, cannot recurse without bound.
    fn root(&mut self, root: Root<'_>, nesting: usize) -> Result<()> {
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
        if node.is_leaf {
            self.stats.leaf_pages += 1;
            self.leaf(&node, level)?;
            return Ok(1);
        }
        self.stats.branch_pages += 1;
        let mut used = PAGE_HEADER_SIZE as u64;
        let mut depth = 0;
        for i in 0..node.count {
            let e = node.branch(i, db.file())?;
            used += (BRANCH_ELEMENT_SIZE + e.key.len()) as u64;
            depth = depth.max(self.page(e.child, Some((id, e.offset + BRANCH_CHILD as u64)), level + 1)?);
        }
        self.stats.used_bytes += used;
        Ok(depth + 1)
    }

    fn leaf(&mut self, node: &Node<'_>, level: usize) -> Result<()> {
        let mut used = PAGE_HEADER_SIZE as u64;
        // End (file offset) of the previous nested bucket's value in this node. bbolt writes
        // values in element order, so they never overlap; bucket values that did could nest
        // inline buckets within one page so that a walk visits each level's bucket once per
        // element pointing at it: 2^63 visits from a 4 KiB page.
        let mut bucket_values_end = 0u64;
        for i in 0..node.count {
            let e = node.leaf(i, self.db.file())?;
            used += (LEAF_ELEMENT_SIZE + e.key.len() + e.value.len()) as u64;
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
                self.root(child.root, level + 1)?;
            }
        }
        // An inline bucket lives inside its parent's value: count its bytes, not a page.
        self.stats.used_bytes += if node.inline { node.data().len() as u64 } else { used };
        Ok(())
    }
}
