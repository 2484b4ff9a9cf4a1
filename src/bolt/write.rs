//! Writing a fresh, compact bbolt file by bulk load, as `bbolt compact` and etcd's defrag leave
//! one: every bucket's entries arrive in key order and are packed into full leaf nodes (a node
//! may span a short run of pages, as bbolt's nodes of large values do, so little of any page is
//! left empty), branch pages are built bottom-up as leaves
//! complete, small buckets are inlined where bbolt would inline them, and two valid meta pages are
//! written last. No freelist is persisted (etcd's setting), so nothing is free: the file is
//! exactly its high-water mark.
//!
//! Memory is one pending page per tree level: pages go to the file as soon as they are full, so
//! a bucket of any size streams through. Layout constants are the reader's ([`super::layout`]).

use super::layout::*;
use super::meta::fnv1a64;
use crate::error::{Error, Result};
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Where a finished bucket lives: its root page, or its whole content inline in the parent's
/// leaf (bbolt's inline bucket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketRoot {
    Page(u64),
    /// The inline page (16-byte page header, elements, data), without the bucket header.
    Inline(Vec<u8>),
}

impl BucketRoot {
    /// The value a parent stores for this bucket: the 16-byte bucket header (root page, or 0 for
    /// inline, then the sequence), followed by the inline page if there is one.
    pub fn header_value(&self, sequence: u64) -> Vec<u8> {
        let (root, inline): (u64, &[u8]) = match self {
            BucketRoot::Page(id) => (*id, &[]),
            BucketRoot::Inline(page) => (0, page),
        };
        let mut v = Vec::with_capacity(BUCKET_HEADER_SIZE + inline.len());
        v.extend_from_slice(&root.to_le_bytes());
        v.extend_from_slice(&sequence.to_le_bytes());
        v.extend_from_slice(inline);
        v
    }
}

/// What a finished file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFile {
    pub path: PathBuf,
    pub page_size: usize,
    /// Pages in the file (its high-water mark), metas included.
    pub pages: u64,
    /// Bytes of the bbolt file (without any sha256 trailer).
    pub db_size: u64,
    /// The sha256 appended after the db, when one was asked for.
    pub trailer: Option<[u8; 32]>,
}

/// The output file: pages are appended in id order; the two metas (pages 0 and 1) are written
/// when the file is finished.
pub struct PageFile {
    out: BufWriter<File>,
    path: PathBuf,
    page_size: usize,
    next_page: u64,
}

impl PageFile {
    /// Creates `path` (which must not exist, mode 0600 as etcd's db) for pages of `page_size` bytes.
    pub fn create(path: &Path, page_size: usize) -> Result<PageFile> {
        check_page_size(page_size)?;
        let mut options = File::options();
        options.write(true).read(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path).map_err(|e| Error::io(path, e))?;
        PageFile::in_file(file, path, page_size)
    }

    /// Writes into `file`, an empty file already open for reading and writing (a
    /// [`crate::output::PendingFile`]'s, to be renamed into place when finished); `path` names
    /// it in errors.
    pub fn in_file(file: File, path: &Path, page_size: usize) -> Result<PageFile> {
        check_page_size(page_size)?;
        let mut f = PageFile { out: BufWriter::with_capacity(1 << 20, file), path: path.to_path_buf(), page_size, next_page: 2 };
        let zero = vec![0u8; 2 * page_size];
        f.write(&zero)?;
        Ok(f)
    }

    pub fn page_size(&self) -> usize {
        self.page_size
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(|e| Error::io(&self.path, e))
    }

    /// Appends a page run holding `node` (a node image starting at its page header, whose id
    /// field is filled in here) and returns its first page id.
    fn append_run(&mut self, node: &mut Vec<u8>) -> Result<u64> {
        let id = self.next_page;
        let pages = node.len().div_ceil(self.page_size).max(1);
        let overflow = u32::try_from(pages - 1).map_err(|_| Error::Usage("a value too large for one bbolt page run".into()))?;
        node[PAGE_ID..PAGE_ID + 8].copy_from_slice(&id.to_le_bytes());
        node[PAGE_OVERFLOW..PAGE_OVERFLOW + 4].copy_from_slice(&overflow.to_le_bytes());
        node.resize(pages * self.page_size, 0);
        self.write(node)?;
        self.next_page += pages as u64;
        Ok(id)
    }

    /// Writes the metas (both valid, the same root, txids 1 and 2), optionally appends a sha256
    /// trailer over the whole db (as `etcdctl snapshot save` does), and syncs.
    pub fn finish(mut self, root: u64, with_trailer: bool) -> Result<WrittenFile> {
        let pages = self.next_page;
        self.out.flush().map_err(|e| Error::io(&self.path, e))?;
        let path = self.path.clone();
        let mut file = self.out.into_inner().map_err(|e| Error::io(&path, e.into_error()))?;
        let io = |e| Error::io(&path, e);
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        for (id, txid) in [(0u64, 1u64), (1, 2)] {
            file.write_all(&meta_page(self.page_size, id, root, pages, txid)).map_err(io)?;
        }
        let db_size = pages * self.page_size as u64;
        let trailer = if with_trailer {
            file.sync_data().map_err(io)?;
            let digest = sha256_of(&mut file, db_size).map_err(io)?;
            file.seek(SeekFrom::Start(db_size)).map_err(io)?;
            file.write_all(&digest).map_err(io)?;
            Some(digest)
        } else {
            None
        };
        file.sync_all().map_err(io)?;
        Ok(WrittenFile { path: path.clone(), page_size: self.page_size, pages, db_size, trailer })
    }
}

/// The writer takes the page sizes the reader reads ([`PAGE_SIZES`]).
fn check_page_size(page_size: usize) -> Result<()> {
    if page_size_supported(page_size) {
        return Ok(());
    }
    Err(Error::Usage(format!("page size {page_size} is not a power of two between {} and {} bytes", PAGE_SIZES.start(), PAGE_SIZES.end())))
}

fn sha256_of(file: &mut File, len: u64) -> std::io::Result<[u8; 32]> {
    use sha2::Digest;
    use std::io::Read;
    file.seek(SeekFrom::Start(0))?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut reader = file.take(len);
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().into())
}

/// One meta page: magic, version, page size, flags, the root bucket header, no freelist, the
/// high-water mark, the txid and the FNV-1a checksum of everything before it.
fn meta_page(page_size: usize, id: u64, root: u64, pages: u64, txid: u64) -> Vec<u8> {
    let mut p = vec![0u8; page_size];
    p[PAGE_ID..PAGE_ID + 8].copy_from_slice(&id.to_le_bytes());
    p[PAGE_FLAGS..PAGE_FLAGS + 2].copy_from_slice(&META_PAGE.to_le_bytes());
    p[META_MAGIC..META_MAGIC + 4].copy_from_slice(&MAGIC.to_le_bytes());
    p[META_VERSION..META_VERSION + 4].copy_from_slice(&VERSION.to_le_bytes());
    p[META_PAGE_SIZE..META_PAGE_SIZE + 4].copy_from_slice(&(page_size as u32).to_le_bytes());
    p[META_ROOT + BUCKET_ROOT..META_ROOT + BUCKET_ROOT + 8].copy_from_slice(&root.to_le_bytes());
    p[META_FREELIST..META_FREELIST + 8].copy_from_slice(&NO_FREELIST.to_le_bytes());
    p[META_HWM..META_HWM + 8].copy_from_slice(&pages.to_le_bytes());
    p[META_TXID..META_TXID + 8].copy_from_slice(&txid.to_le_bytes());
    let sum = fnv1a64(&p[META_MAGIC..META_CHECKSUM]);
    p[META_CHECKSUM..META_CHECKSUM + 8].copy_from_slice(&sum.to_le_bytes());
    p
}

/// Most elements a page can count (the header's count is 16 bits).
const MAX_ELEMENTS: usize = u16::MAX as usize;
/// Pages a node's run grows to, at most, before it is written (one element may need more).
const MAX_RUN_PAGES: usize = 4;

/// A node being filled: its elements (flags, key, value or child id) in order.
#[derive(Default)]
struct PendingNode {
    elements: Vec<(u32, Vec<u8>, Vec<u8>)>,
    /// Page header plus elements plus data, as it would be written.
    size: usize,
    /// Whether this level has already written a page (so it cannot be the root by itself).
    wrote_page: bool,
}

impl PendingNode {
    fn new() -> PendingNode {
        PendingNode { size: PAGE_HEADER_SIZE, ..Default::default() }
    }

    /// Whether the node is written before an element of `add` bytes joins it. A node may span
    /// a run of pages, as bbolt's nodes of large values do: it is written when the element
    /// would cross into another page and the node wastes little of its last page (an eighth at
    /// most), or already takes [`MAX_RUN_PAGES`]; so values of 2–4 KiB in 4 KiB pages pack
    /// into runs instead of leaving half of every page empty.
    fn full_before(&self, add: usize, page_size: usize) -> bool {
        if self.elements.is_empty() {
            return false;
        }
        if self.elements.len() == MAX_ELEMENTS {
            return true;
        }
        let pages = self.size.div_ceil(page_size);
        if self.size + add <= pages * page_size {
            return false;
        }
        let slack = pages * page_size - self.size;
        slack <= page_size / 8 || pages >= MAX_RUN_PAGES
    }

    fn element_size(is_leaf: bool, key: &[u8], value: &[u8]) -> usize {
        if is_leaf {
            LEAF_ELEMENT_SIZE + key.len() + value.len()
        } else {
            BRANCH_ELEMENT_SIZE + key.len()
        }
    }

    /// The node image: page header (id and overflow left for [`PageFile::append_run`]), the
    /// element records, then each element's key (and value) in order.
    fn image(&self, is_leaf: bool) -> Vec<u8> {
        let mut out = vec![0u8; self.size];
        let flags = if is_leaf { LEAF_PAGE } else { BRANCH_PAGE };
        out[PAGE_FLAGS..PAGE_FLAGS + 2].copy_from_slice(&flags.to_le_bytes());
        out[PAGE_COUNT..PAGE_COUNT + 2].copy_from_slice(&(self.elements.len() as u16).to_le_bytes());
        let elem_size = if is_leaf { LEAF_ELEMENT_SIZE } else { BRANCH_ELEMENT_SIZE };
        let mut data = PAGE_HEADER_SIZE + elem_size * self.elements.len();
        for (i, (flags, key, value)) in self.elements.iter().enumerate() {
            let at = PAGE_HEADER_SIZE + i * elem_size;
            let pos = (data - at) as u32;
            let put32 = |out: &mut [u8], off: usize, v: u32| out[at + off..at + off + 4].copy_from_slice(&v.to_le_bytes());
            if is_leaf {
                put32(&mut out, LEAF_FLAGS, *flags);
                put32(&mut out, LEAF_POS, pos);
                put32(&mut out, LEAF_KSIZE, key.len() as u32);
                put32(&mut out, LEAF_VSIZE, value.len() as u32);
            } else {
                put32(&mut out, BRANCH_POS, pos);
                put32(&mut out, BRANCH_KSIZE, key.len() as u32);
                out[at + BRANCH_CHILD..at + BRANCH_CHILD + 8].copy_from_slice(value);
            }
            out[data..data + key.len()].copy_from_slice(key);
            data += key.len();
            if is_leaf {
                out[data..data + value.len()].copy_from_slice(value);
                data += value.len();
            }
        }
        debug_assert_eq!(data, self.size);
        out
    }
}

/// Builds one bucket's B+tree from entries given in strictly ascending key order.
pub struct TreeWriter {
    leaf: PendingNode,
    /// Branch levels, lowest first: each holds (first key of child, child page id) elements.
    branches: Vec<PendingNode>,
    last_key: Option<Vec<u8>>,
    has_bucket: bool,
    /// Pages written for this tree (leaves, overflow runs and branches).
    pub pages: u64,
    pub keys: u64,
}

impl Default for TreeWriter {
    fn default() -> Self {
        TreeWriter::new()
    }
}

impl TreeWriter {
    pub fn new() -> TreeWriter {
        TreeWriter { leaf: PendingNode::new(), branches: Vec::new(), last_key: None, has_bucket: false, pages: 0, keys: 0 }
    }

    /// Adds a plain key/value entry.
    pub fn put(&mut self, file: &mut PageFile, key: &[u8], value: &[u8]) -> Result<()> {
        self.add(file, 0, key, value)
    }

    /// Adds a nested bucket entry (`value` from [`BucketRoot::header_value`]).
    pub fn put_bucket(&mut self, file: &mut PageFile, name: &[u8], value: &[u8]) -> Result<()> {
        self.has_bucket = true;
        self.add(file, BUCKET_LEAF_FLAG, name, value)
    }

    fn add(&mut self, file: &mut PageFile, flags: u32, key: &[u8], value: &[u8]) -> Result<()> {
        if key.is_empty() || key.len() > MAX_KEY_SIZE {
            return Err(Error::Usage(format!("a bbolt key must be 1 to {MAX_KEY_SIZE} bytes, not {}", key.len())));
        }
        if value.len() > u32::MAX as usize / 2 {
            return Err(Error::Usage(format!("a value of {} bytes is more than bbolt stores", value.len())));
        }
        if let Some(last) = &self.last_key {
            if key <= last.as_slice() {
                return Err(Error::Usage(format!("keys must ascend: {:?} after {:?}", String::from_utf8_lossy(key), String::from_utf8_lossy(last))));
            }
        }
        let size = PendingNode::element_size(true, key, value);
        if self.leaf.full_before(size, file.page_size) {
            self.flush_leaf(file)?;
        }
        self.leaf.elements.push((flags, key.to_vec(), value.to_vec()));
        self.leaf.size += size;
        self.last_key = Some(key.to_vec());
        self.keys += 1;
        Ok(())
    }

    fn flush_leaf(&mut self, file: &mut PageFile) -> Result<()> {
        let node = std::mem::replace(&mut self.leaf, PendingNode::new());
        self.leaf.wrote_page = true;
        let first = node.elements.first().map(|e| e.1.clone()).unwrap_or_default();
        let mut image = node.image(true);
        let id = file.append_run(&mut image)?;
        self.pages += (image.len() / file.page_size) as u64;
        self.push_child(file, 0, first, id)
    }

    /// Adds a child (its first key and page id) to branch level `level`, writing that level's
    /// page first if the child would not fit.
    fn push_child(&mut self, file: &mut PageFile, level: usize, first_key: Vec<u8>, id: u64) -> Result<()> {
        if self.branches.len() == level {
            self.branches.push(PendingNode::new());
        }
        let size = PendingNode::element_size(false, &first_key, &[]);
        if self.branches[level].full_before(size, file.page_size) {
            self.flush_branch(file, level)?;
        }
        let node = &mut self.branches[level];
        node.elements.push((0, first_key, id.to_le_bytes().to_vec()));
        node.size += size;
        Ok(())
    }

    fn flush_branch(&mut self, file: &mut PageFile, level: usize) -> Result<()> {
        let node = std::mem::replace(&mut self.branches[level], PendingNode::new());
        self.branches[level].wrote_page = true;
        let first = node.elements.first().map(|e| e.1.clone()).unwrap_or_default();
        let mut image = node.image(false);
        let id = file.append_run(&mut image)?;
        self.pages += (image.len() / file.page_size) as u64;
        self.push_child(file, level + 1, first, id)
    }

    /// Ends the tree. A bucket that never filled a page, holds no nested bucket and takes at
    /// most a quarter page is returned inline (bbolt's rule); otherwise the last pages are
    /// written and the root's id returned.
    pub fn finish(mut self, file: &mut PageFile) -> Result<BucketRoot> {
        if !self.leaf.wrote_page && !self.has_bucket && self.leaf.size <= file.page_size / 4 {
            return Ok(BucketRoot::Inline(self.leaf.image(true)));
        }
        if !self.leaf.elements.is_empty() || !self.leaf.wrote_page {
            self.flush_leaf(file)?;
        }
        let mut level = 0;
        loop {
            let node = &self.branches[level];
            if level + 1 == self.branches.len() && !node.wrote_page && node.elements.len() == 1 {
                let child = &node.elements[0].2;
                return Ok(BucketRoot::Page(u64::from_le_bytes(child.as_slice().try_into().expect("a child id is 8 bytes"))));
            }
            if !node.elements.is_empty() {
                self.flush_branch(file, level)?;
            }
            level += 1;
        }
    }
}

/// Builds the root bucket (the meta's root, always a page) from top-level buckets given in
/// ascending name order, and finishes the file.
pub struct FileWriter {
    file: PageFile,
    root: TreeWriter,
}

impl FileWriter {
    pub fn create(path: &Path, page_size: usize) -> Result<FileWriter> {
        Ok(FileWriter { file: PageFile::create(path, page_size)?, root: TreeWriter::new() })
    }

    /// Writes into an open, empty file ([`PageFile::in_file`]).
    pub fn in_file(file: File, path: &Path, page_size: usize) -> Result<FileWriter> {
        Ok(FileWriter { file: PageFile::in_file(file, path, page_size)?, root: TreeWriter::new() })
    }

    pub fn page_file(&mut self) -> &mut PageFile {
        &mut self.file
    }

    /// Writes a whole top-level bucket from `entries` (ascending keys).
    pub fn bucket<'e>(&mut self, name: &[u8], sequence: u64, entries: impl IntoIterator<Item = (&'e [u8], &'e [u8])>) -> Result<u64> {
        let mut tree = TreeWriter::new();
        for (k, v) in entries {
            tree.put(&mut self.file, k, v)?;
        }
        let keys = tree.keys;
        self.add_bucket(name, sequence, tree)?;
        Ok(keys)
    }

    /// Finishes `tree` and adds it as the top-level bucket `name`.
    pub fn add_bucket(&mut self, name: &[u8], sequence: u64, tree: TreeWriter) -> Result<()> {
        let root = tree.finish(&mut self.file)?;
        self.root.put_bucket(&mut self.file, name, &root.header_value(sequence))
    }

    pub fn finish(mut self, with_trailer: bool) -> Result<WrittenFile> {
        // The meta's root is never inline: force the root bucket onto a page.
        self.root.has_bucket = true;
        let root = match self.root.finish(&mut self.file)? {
            BucketRoot::Page(id) => id,
            BucketRoot::Inline(_) => unreachable!("a tree marked as holding buckets is never inline"),
        };
        self.file.finish(root, with_trailer)
    }
}
