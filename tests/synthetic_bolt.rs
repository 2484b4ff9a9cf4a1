//! bbolt features etcd's files never contain: the persisted freelist in both of its count
//! encodings, and nested buckets; and crafted files that once crashed the reader (each kept
//! as a regression test).
//!
//! etcd never persists bbolt's freelist (its meta says 0xFFFFFFFFFFFFFFFF) and uses only
//! top-level buckets, so no file made by real etcd has either, and no other bbolt writer is
//! installable here. These files are therefore
//! built in the test, byte by byte, from the layout in docs/format/bbolt.md: two metas, an empty
//! root leaf and a freelist page run. They are sparse files with 512-byte pages, so the
//! 0xFFFF-overflow encoding (65,535 or more ids) costs little disk.

use etcdscope::bolt::freelist::read_freelist;
use etcdscope::bolt::layout::*;
use etcdscope::bolt::meta::fnv1a64;
use etcdscope::bolt::space::measure;
use etcdscope::bolt::Db;
use std::path::Path;
use std::sync::Arc;

const PS: usize = 512;

fn header(id: u64, flags: u16, count: u16, overflow: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(PAGE_HEADER_SIZE);
    h.extend_from_slice(&id.to_le_bytes());
    h.extend_from_slice(&flags.to_le_bytes());
    h.extend_from_slice(&count.to_le_bytes());
    h.extend_from_slice(&overflow.to_le_bytes());
    h
}

/// A db of `hwm` pages: metas (txid 1 and 2), root leaf at page 2, freelist run at page 3.
fn build(hwm: u64, ids: &[u64], header_count: Option<u16>) -> Vec<u8> {
    let mut f = vec![0u8; hwm as usize * PS];
    for (page, txid) in [(0u64, 1u64), (1, 2)] {
        let off = page as usize * PS;
        f[off..off + PAGE_HEADER_SIZE].copy_from_slice(&header(page, META_PAGE, 0, 0));
        let mut m = Vec::new();
        m.extend_from_slice(&MAGIC.to_le_bytes());
        m.extend_from_slice(&VERSION.to_le_bytes());
        m.extend_from_slice(&(PS as u32).to_le_bytes());
        m.extend_from_slice(&0u32.to_le_bytes());
        m.extend_from_slice(&2u64.to_le_bytes()); // root page
        m.extend_from_slice(&0u64.to_le_bytes()); // root sequence
        m.extend_from_slice(&3u64.to_le_bytes()); // freelist page
        m.extend_from_slice(&hwm.to_le_bytes());
        m.extend_from_slice(&txid.to_le_bytes());
        let sum = fnv1a64(&m);
        m.extend_from_slice(&sum.to_le_bytes());
        f[off + META_MAGIC..off + META_END].copy_from_slice(&m);
    }
    f[2 * PS..2 * PS + PAGE_HEADER_SIZE].copy_from_slice(&header(2, LEAF_PAGE, 0, 0));
    let overflow_count = ids.len() >= FREELIST_COUNT_OVERFLOW as usize;
    let mut body = Vec::new();
    if overflow_count {
        body.extend_from_slice(&(ids.len() as u64).to_le_bytes());
    }
    for id in ids {
        body.extend_from_slice(&id.to_le_bytes());
    }
    let run = (PAGE_HEADER_SIZE + body.len()) / PS + 1;
    let count = header_count.unwrap_or(if overflow_count { FREELIST_COUNT_OVERFLOW } else { ids.len() as u16 });
    f[3 * PS..3 * PS + PAGE_HEADER_SIZE].copy_from_slice(&header(3, FREELIST_PAGE, count, run as u32 - 1));
    f[3 * PS + PAGE_HEADER_SIZE..3 * PS + PAGE_HEADER_SIZE + body.len()].copy_from_slice(&body);
    f
}

fn open(bytes: &[u8]) -> Db<'_> {
    Db::open(bytes, Arc::from(Path::new("synthetic.db"))).expect("synthetic db opens")
}

#[test]
fn count_in_the_header() {
    let ids: Vec<u64> = (10..110).collect();
    let bytes = build(200, &ids, None);
    let db = open(&bytes);
    assert_eq!(db.page_size(), PS);
    assert_eq!(db.meta().txid, 2, "the meta with the higher txid is active");
    assert_eq!(read_freelist(&db).unwrap(), Some(ids.clone()));
    let space = measure(&db).unwrap();
    assert!(space.freelist_persisted);
    assert_eq!(space.free_pages, 100);
    assert_eq!(space.reachable_pages, 1, "only the empty root leaf is reachable");
}

#[test]
fn count_overflowing_the_header() {
    // 70,000 ids: the header holds 0xFFFF and the real count is the first u64 of the body.
    let ids: Vec<u64> = (2000..72_000).collect();
    let bytes = build(72_000, &ids, None);
    let db = open(&bytes);
    assert_eq!(db.page(3).unwrap().count, FREELIST_COUNT_OVERFLOW);
    assert_eq!(read_freelist(&db).unwrap(), Some(ids));
    assert_eq!(measure(&db).unwrap().free_pages, 70_000);
}

#[test]
fn count_beyond_the_run_is_refused() {
    let ids: Vec<u64> = (10..20).collect();
    let bytes = build(64, &ids, Some(5000));
    let err = read_freelist(&open(&bytes)).unwrap_err().to_string();
    assert!(err.contains("freelist claims 5000 page ids") && err.contains("page 3"), "{err}");
}

#[test]
fn ids_outside_the_file_are_refused() {
    let bytes = build(64, &[10, 11, 900], None);
    let err = read_freelist(&open(&bytes)).unwrap_err().to_string();
    assert!(err.contains("names page 900") && err.contains("byte offset"), "{err}");
}

/// One leaf element record plus its key and value, laid out as bbolt does for a single element.
fn single_leaf(id: u64, flags: u32, key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut p = header(id, LEAF_PAGE, 1, 0);
    p.extend_from_slice(&flags.to_le_bytes());
    p.extend_from_slice(&(LEAF_ELEMENT_SIZE as u32).to_le_bytes()); // data right after the element
    p.extend_from_slice(&(key.len() as u32).to_le_bytes());
    p.extend_from_slice(&(value.len() as u32).to_le_bytes());
    p.extend_from_slice(key);
    p.extend_from_slice(value);
    p
}

fn bucket_header(root: u64, sequence: u64) -> Vec<u8> {
    [root.to_le_bytes(), sequence.to_le_bytes()].concat()
}

#[test]
fn nested_and_inline_buckets() {
    // root leaf (page 2): "outer" -> bucket on page 5; page 5: "inner" -> inline bucket {k: v}.
    let mut bytes = build(8, &[], None);
    let root = single_leaf(2, BUCKET_LEAF_FLAG, b"outer", &bucket_header(5, 7));
    bytes[2 * PS..2 * PS + root.len()].copy_from_slice(&root);
    let inline = [bucket_header(0, 0), single_leaf(0, 0, b"k", b"v")].concat();
    let outer = single_leaf(5, BUCKET_LEAF_FLAG, b"inner", &inline);
    bytes[5 * PS..5 * PS + outer.len()].copy_from_slice(&outer);

    let db = open(&bytes);
    let outer = db.root().bucket(&db, b"outer").unwrap().expect("outer bucket");
    assert_eq!(outer.header.sequence, 7);
    assert!(!outer.is_inline());
    assert_eq!(outer.get(&db, b"inner").unwrap(), None, "a bucket is not a value");
    let inner = outer.bucket(&db, b"inner").unwrap().expect("inner bucket");
    assert!(inner.is_inline());
    assert_eq!(inner.get(&db, b"k").unwrap(), Some(&b"v"[..]));
    assert_eq!(inner.iter_rev(&db).count(), 1);

    let space = measure(&db).unwrap();
    let stats = &space.buckets[0].stats;
    assert_eq!((stats.nested_buckets, stats.keys, stats.leaf_pages), (1, 1, 1));
    assert_eq!(space.reachable_pages, 2, "root leaf and outer's leaf");
    assert_eq!(space.free_pages, 0, "the persisted freelist is empty");
}

/// Two metas (txid 1 and 2) naming the root leaf at page 2 and no persisted freelist.
fn metas_only(hwm: u64) -> Vec<u8> {
    let mut f = build(hwm, &[], None);
    for page in [0usize, 1] {
        let off = page * PS;
        f[off + META_FREELIST..off + META_FREELIST + 8].copy_from_slice(&NO_FREELIST.to_le_bytes());
        let sum = fnv1a64(&f[off + META_MAGIC..off + META_CHECKSUM]);
        f[off + META_CHECKSUM..off + META_CHECKSUM + 8].copy_from_slice(&sum.to_le_bytes());
    }
    f[3 * PS..4 * PS].fill(0);
    f
}

/// Found by review: 40,000 inline buckets, each the only value of the one above, in a ~2 MB root
/// leaf. The whole-tree walk recursed once per level and aborted on a stack overflow.
#[test]
fn deeply_nested_inline_buckets_are_refused_not_a_stack_overflow() {
    const LEVELS: usize = 40_000;
    // Each level: bucket header, a leaf header with one element, the element, its key "n"; the
    // innermost bucket holds k = v. Written outside in, so sizes are known from the inside out.
    let innermost = [bucket_header(0, 0), single_leaf(0, 0, b"k", b"v")].concat();
    let per_level = 16 + PAGE_HEADER_SIZE + LEAF_ELEMENT_SIZE + 1;
    let mut value = Vec::with_capacity(LEVELS * per_level + innermost.len());
    for level in 0..LEVELS {
        let rest = (LEVELS - level - 1) * per_level + innermost.len();
        value.extend_from_slice(&bucket_header(0, 0));
        value.extend_from_slice(&header(0, LEAF_PAGE, 1, 0));
        value.extend_from_slice(&BUCKET_LEAF_FLAG.to_le_bytes());
        value.extend_from_slice(&(LEAF_ELEMENT_SIZE as u32).to_le_bytes());
        value.extend_from_slice(&1u32.to_le_bytes());
        value.extend_from_slice(&(rest as u32).to_le_bytes());
        value.push(b'n');
    }
    value.extend_from_slice(&innermost);
    let mut root = single_leaf(2, BUCKET_LEAF_FLAG, b"outer", &value);
    let run = root.len().div_ceil(PS);
    root[PAGE_OVERFLOW..PAGE_OVERFLOW + 4].copy_from_slice(&(run as u32 - 1).to_le_bytes());
    let hwm = 2 + run as u64;
    let mut bytes = metas_only(hwm);
    bytes[2 * PS..2 * PS + root.len()].copy_from_slice(&root);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested.db");
    std::fs::write(&path, &bytes).unwrap();
    // In a child process: a stack overflow would abort this whole test binary.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_etcdscope")).arg("status").arg(&path).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "status must refuse the file, not crash: {:?} {err}", out.status);
    assert!(err.contains("nested deeper than") && err.contains("byte offset"), "{err}");
    assert!(measure(&open(&bytes)).unwrap_err().to_string().contains("nested deeper than"));
}

/// Found by review: a freelist listing one page 300 times gave more free pages than the file
/// has, and in-use bytes of 18446744073709402112 (a panic with overflow checks).
#[test]
fn a_page_freed_twice_is_refused() {
    let bytes = build(64, &[10; 300], None);
    let db = open(&bytes);
    let err = read_freelist(&db).unwrap_err().to_string();
    assert!(err.contains("names page 10 again") && err.contains("byte offset"), "{err}");
    assert!(measure(&db).is_err());
}
