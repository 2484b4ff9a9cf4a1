//! Pages and nodes. A `Page` is a page run (header page plus overflow pages) borrowed from the
//! mapped file; a `Node` is the branch or leaf content of a page run or of an inline bucket.
//! Every element access is bounds-checked against the run, never against a single page.

use super::layout::*;
use crate::error::{Error, Location, Result};
use std::path::Path;
use std::sync::Arc;

/// A page run as found in the file.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    pub id: u64,
    pub flags: u16,
    pub count: u16,
    pub overflow: u32,
    /// The whole run: `(overflow + 1) * page_size` bytes, header included.
    pub bytes: &'a [u8],
    /// File offset of `bytes[0]`.
    pub offset: u64,
}

/// Branch or leaf content, from a page run or from an inline bucket value.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    /// The page that holds this node (for an inline bucket, the page holding the bucket value).
    pub page_id: u64,
    pub is_leaf: bool,
    pub inline: bool,
    pub count: usize,
    /// Node bytes starting at its 16-byte header.
    data: &'a [u8],
    /// File offset of `data[0]`.
    base: u64,
}

/// One leaf element: a key and either a value or (flag set) a nested bucket header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafElement<'a> {
    pub flags: u32,
    pub key: &'a [u8],
    pub value: &'a [u8],
    /// File offset of the value's first byte (for locating inline buckets and reporting).
    pub value_offset: u64,
}

impl LeafElement<'_> {
    pub fn is_bucket(&self) -> bool {
        self.flags & BUCKET_LEAF_FLAG != 0
    }
}

/// One branch element: the smallest key of a child and the child's page id.
#[derive(Debug, Clone, Copy)]
pub struct BranchElement<'a> {
    pub key: &'a [u8],
    pub child: u64,
    /// File offset of the element record (where the child id is stored).
    pub offset: u64,
}

impl<'a> Node<'a> {
    /// The node stored in a branch or leaf page run.
    pub fn from_page(page: &Page<'a>, file: &Arc<Path>) -> Result<Node<'a>> {
        let is_leaf = match page.flags {
            LEAF_PAGE => true,
            BRANCH_PAGE => false,
            other => {
                return Err(corrupt_at(
                    file,
                    page.id,
                    page.offset + PAGE_FLAGS as u64,
                    format!("expected a branch or leaf page, found flags 0x{other:02x} ({})", page_type_name(other)),
                ))
            }
        };
        Node::new(page.id, is_leaf, false, page.count as usize, page.bytes, page.offset, file)
    }

    /// The pseudo-page inside an inline bucket value (after its 16-byte bucket header).
    pub fn inline(holder_page: u64, bytes: &'a [u8], base: u64, file: &Arc<Path>) -> Result<Node<'a>> {
        let (Some(flags), Some(count)) = (u16_at(bytes, PAGE_FLAGS), u16_at(bytes, PAGE_COUNT)) else {
            return Err(corrupt_at(file, holder_page, base, format!("inline bucket value is {} bytes, too short for its page header", bytes.len())));
        };
        if flags != LEAF_PAGE {
            return Err(corrupt_at(file, holder_page, base + PAGE_FLAGS as u64, format!("inline bucket page has flags 0x{flags:02x}, expected leaf (0x02)")));
        }
        Node::new(holder_page, true, true, count as usize, bytes, base, file)
    }

    fn new(page_id: u64, is_leaf: bool, inline: bool, count: usize, data: &'a [u8], base: u64, file: &Arc<Path>) -> Result<Node<'a>> {
        // Both element kinds are 16 bytes. `count` comes from a u16, but saturate anyway: a
        // count too large for usize is simply too large for the node.
        let need = count.saturating_mul(LEAF_ELEMENT_SIZE).saturating_add(PAGE_HEADER_SIZE);
        if need > data.len() {
            return Err(corrupt_at(
                file,
                page_id,
                base + PAGE_COUNT as u64,
                format!("element count {count} needs {need} bytes but the {} holds {}", if inline { "inline bucket" } else { "page run" }, data.len()),
            ));
        }
        Ok(Node { page_id, is_leaf, inline, count, data, base })
    }

    fn element_offset(&self, i: usize) -> usize {
        PAGE_HEADER_SIZE + i * LEAF_ELEMENT_SIZE
    }

    /// File offset of element `i`'s record.
    pub fn element_file_offset(&self, i: usize) -> u64 {
        self.base + self.element_offset(i) as u64
    }

    /// Bytes this node occupies in use: header, element records, keys and values.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    pub fn leaf(&self, i: usize, file: &Arc<Path>) -> Result<LeafElement<'a>> {
        debug_assert!(self.is_leaf && i < self.count);
        let e = self.element_offset(i);
        let field = |o| u32_at(self.data, e + o).unwrap_or_default() as usize;
        let (flags, pos, ksize, vsize) = (field(LEAF_FLAGS) as u32, field(LEAF_POS), field(LEAF_KSIZE), field(LEAF_VSIZE));
        // pos, ksize and vsize are each up to u32::MAX: every sum is checked (it wraps in a
        // 32-bit usize) before it bounds a slice.
        let range = e.checked_add(pos).and_then(|k| {
            let key_end = k.checked_add(ksize)?;
            Some((k, key_end, key_end.checked_add(vsize)?))
        });
        let Some((key_start, key_end, value_end)) = range.filter(|&(_, _, v)| v <= self.data.len()) else {
            return Err(self.corrupt(
                file,
                e,
                format!(
                    "leaf element {i}: key and value (pos {pos}, key {ksize} bytes, value {vsize} bytes) run past the end of the {}-byte run",
                    self.data.len()
                ),
            ));
        };
        if ksize == 0 {
            return Err(self.corrupt(file, e, format!("leaf element {i} has an empty key")));
        }
        Ok(LeafElement { flags, key: &self.data[key_start..key_end], value: &self.data[key_end..value_end], value_offset: self.base + key_end as u64 })
    }

    pub fn branch(&self, i: usize, file: &Arc<Path>) -> Result<BranchElement<'a>> {
        debug_assert!(!self.is_leaf && i < self.count);
        let e = self.element_offset(i);
        let pos = u32_at(self.data, e + BRANCH_POS).unwrap_or_default() as usize;
        let ksize = u32_at(self.data, e + BRANCH_KSIZE).unwrap_or_default() as usize;
        let child = u64_at(self.data, e + BRANCH_CHILD).unwrap_or_default();
        let key = e.checked_add(pos).and_then(|start| self.data.get(start..start.checked_add(ksize)?));
        let Some(key) = key else {
            return Err(self.corrupt(
                file,
                e,
                format!("branch element {i}: key (pos {pos}, {ksize} bytes) runs past the end of the {}-byte run", self.data.len()),
            ));
        };
        Ok(BranchElement { key, child, offset: self.base + e as u64 })
    }

    /// The key of element `i`, whichever the node kind.
    pub fn key(&self, i: usize, file: &Arc<Path>) -> Result<&'a [u8]> {
        if self.is_leaf {
            Ok(self.leaf(i, file)?.key)
        } else {
            Ok(self.branch(i, file)?.key)
        }
    }

    /// Index of the first element whose key is >= `target`, and whether it is equal.
    pub fn search(&self, target: &[u8], file: &Arc<Path>) -> Result<(usize, bool)> {
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.key(mid, file)? < target {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let exact = lo < self.count && self.key(lo, file)? == target;
        Ok((lo, exact))
    }

    pub fn corrupt(&self, file: &Arc<Path>, offset_in_node: usize, what: String) -> Error {
        corrupt_at(file, self.page_id, self.base + offset_in_node as u64, what)
    }
}

pub(crate) fn corrupt_at(file: &Arc<Path>, page: u64, offset: u64, what: impl Into<String>) -> Error {
    Error::corrupt(Location { file: file.clone(), page: Some(page), offset }, what)
}
