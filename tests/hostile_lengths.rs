//! Hostile lengths and counts, one group per parser: bbolt high-water marks, page ids, overflow
//! counts, element positions and freelist counts near the top of their integer types; protobuf
//! lengths near u64::MAX; WAL length words and record fields claiming more than the segment
//! holds; `.snap` files; Kubernetes envelopes, encryption prefixes and CBOR headers. Every input
//! must give an error (or a sane answer), never a panic (the suite runs with overflow checks), and
//! never an allocation the input cannot justify: this binary's allocator records the largest
//! single allocation each test thread makes, and [`bounded`] holds it to a few times the input.

mod common;

use etcdscope::bolt::freelist::read_freelist;
use etcdscope::bolt::layout::*;
use etcdscope::bolt::meta::fnv1a64;
use etcdscope::bolt::space::measure;
use etcdscope::bolt::Db;
use etcdscope::etcd::mvcc::RevisionEntry;
use etcdscope::etcd::pb::{leasepb, mvccpb, raftpb, snappb};
use etcdscope::etcd::revision::Revision;
use etcdscope::protowire::fields;
use prost::Message;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;

// ---- the largest allocation, per thread -------------------------------------------------------

struct RecordLargest;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // try_with: the allocator also runs while threads are torn down.
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

// SAFETY: every call is passed on to the system allocator unchanged; only sizes are recorded.
unsafe impl GlobalAlloc for RecordLargest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: RecordLargest = RecordLargest;

/// What an input of `len` bytes can justify in one allocation: a few copies of it (a value
/// decoded, decrypted, base64-encoded), plus the fixed buffers readers use (1 MiB read chunks).
fn justified(len: usize) -> usize {
    (2 << 20) + 8 * len
}

/// Runs `f` and checks that no single allocation it made was larger than `input_len` justifies.
fn bounded<T>(input_len: usize, what: &str, f: impl FnOnce() -> T) -> T {
    LARGEST.with(|l| l.set(0));
    let out = f();
    let largest = LARGEST.with(Cell::get);
    assert!(largest <= justified(input_len), "{what}: one allocation of {largest} bytes for a {input_len}-byte input");
    out
}

/// The bound is really held: an allocation of 64 MiB for a 10-byte input fails the check.
#[test]
fn the_allocation_bound_is_enforced() {
    let caught = std::panic::catch_unwind(|| bounded(10, "self-test", || std::hint::black_box(vec![1u8; 64 << 20]).len()));
    assert!(caught.is_err());
    assert_eq!(bounded(10, "self-test", || vec![1u8; 1 << 10].len()), 1 << 10);
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field `field` that claims `len` bytes, followed by `tail`.
fn claims(field: u32, len: u64, tail: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    varint(u64::from(field) << 3 | 2, &mut m);
    varint(len, &mut m);
    m.extend_from_slice(tail);
    m
}

/// Field `field` holding exactly `inner` (a message that may itself claim too much).
fn nest(field: u32, inner: &[u8]) -> Vec<u8> {
    claims(field, inner.len() as u64, inner)
}

/// Lengths no message of a few bytes can hold.
const HUGE: [u64; 8] = [u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) - 1, 1 << 32, u32::MAX as u64, 1 << 31, 4];

fn run_cli(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_etcdscope")).args(args).output().expect("etcdscope runs");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

// ---- bbolt -------------------------------------------------------------------------------------

const PS: usize = 512;

fn put16(f: &mut [u8], at: usize, v: u16) {
    f[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(f: &mut [u8], at: usize, v: u32) {
    f[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(f: &mut [u8], at: usize, v: u64) {
    f[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn page_header(f: &mut [u8], id: u64, flags: u16, count: u16, overflow: u32) {
    let o = id as usize * PS;
    put64(f, o + PAGE_ID, id);
    put16(f, o + PAGE_FLAGS, flags);
    put16(f, o + PAGE_COUNT, count);
    put32(f, o + PAGE_OVERFLOW, overflow);
}

/// Both metas (txid 1 and 2, valid checksums) with these root, freelist and high-water mark.
fn metas(f: &mut [u8], root: u64, freelist: u64, hwm: u64) {
    for (page, txid) in [(0u64, 1u64), (1, 2)] {
        page_header(f, page, META_PAGE, 0, 0);
        let o = page as usize * PS;
        put32(f, o + META_MAGIC, MAGIC);
        put32(f, o + META_VERSION, VERSION);
        put32(f, o + META_PAGE_SIZE, PS as u32);
        put32(f, o + META_FLAGS, 0);
        put64(f, o + META_ROOT + BUCKET_ROOT, root);
        put64(f, o + META_ROOT + BUCKET_SEQUENCE, 0);
        put64(f, o + META_FREELIST, freelist);
        put64(f, o + META_HWM, hwm);
        put64(f, o + META_TXID, txid);
        let sum = fnv1a64(&f[o + META_MAGIC..o + META_CHECKSUM]);
        put64(f, o + META_CHECKSUM, sum);
    }
}

/// A db of `pages` pages: the root is an empty leaf at page 2, no persisted freelist.
fn db_file(pages: usize) -> Vec<u8> {
    let mut f = vec![0u8; pages * PS];
    metas(&mut f, 2, NO_FREELIST, pages as u64);
    page_header(&mut f, 2, LEAF_PAGE, 0, 0);
    f
}

fn open(bytes: &[u8]) -> etcdscope::Result<Db<'_>> {
    Db::open(bytes, Arc::from(Path::new("hostile.db")))
}

/// Every whole-file read of the library (open, walk, freelist, root iteration) and the first
/// error it gives, all within the allocation bound.
fn first_error(bytes: &[u8], what: &str) -> String {
    bounded(bytes.len(), what, || {
        let db = open(bytes).map_err(|e| e.to_string())?;
        for entry in db.root().iter(&db) {
            entry.map_err(|e| e.to_string())?;
        }
        read_freelist(&db).map_err(|e| e.to_string())?;
        measure(&db).map_err(|e| e.to_string())?;
        Ok::<(), String>(())
    })
    .expect_err(what)
}

/// `status` on the file: exit 2 with an error naming it and containing `needle`, no panic.
fn status_refuses(bytes: &[u8], needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.db");
    std::fs::write(&path, bytes).unwrap();
    let (code, err) = run_cli(&["status".as_ref(), path.as_os_str()]);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(code, Some(2), "status must refuse the file: {err}");
    assert!(err.contains(needle) && err.contains("byte offset"), "{err}");
}

#[test]
fn meta_high_water_marks_near_u64_max() {
    let pages = 8;
    let max_pages = u64::MAX / PS as u64;
    for hwm in [u64::MAX, u64::MAX - 1, max_pages + 1, max_pages, 1 << 55, 1 << 32, pages as u64 + 1, 1, 0] {
        let mut f = db_file(pages);
        metas(&mut f, 2, NO_FREELIST, hwm);
        let err = first_error(&f, &format!("high-water mark {hwm}"));
        assert!(err.contains("high-water mark") || err.contains("file is truncated"), "hwm {hwm}: {err}");
        assert!(err.contains("page ") && err.contains("byte offset"), "hwm {hwm}: {err}");
    }
    let mut f = db_file(pages);
    metas(&mut f, 2, NO_FREELIST, u64::MAX);
    status_refuses(&f, "high-water mark");
    // The largest mark the file holds is fine.
    let f = db_file(pages);
    assert_eq!(open(&f).unwrap().high_water_mark(), pages as u64);
}

#[test]
fn page_ids_near_u64_max() {
    let pages = 8u64;
    for id in [u64::MAX, u64::MAX - 1, 1 << 63, u64::MAX / PS as u64 + 1, 1 << 32, pages, 0, 1] {
        // As the root of the root bucket.
        let mut f = db_file(pages as usize);
        metas(&mut f, id, NO_FREELIST, pages);
        let err = first_error(&f, &format!("root page {id}"));
        assert!(err.contains(&format!("page {id}")), "root {id}: {err}");
        // bbolt fails on a meta whose root is not a data page (below the mark, past the metas),
        // so opening refuses it; a data page opens and reads.
        match open(&f) {
            Ok(db) => assert!((2..pages).contains(&id) && db.page(id).is_ok(), "root {id} opened"),
            Err(e) => assert!(!(2..pages).contains(&id) && e.to_string().contains("is impossible"), "root {id}: {e}"),
        }
        // As the freelist page (u64::MAX itself means "not persisted").
        if id != NO_FREELIST {
            let mut f = db_file(pages as usize);
            metas(&mut f, 2, id, pages);
            let err = first_error(&f, &format!("freelist page {id}"));
            assert!(err.contains(&format!("page {id}")), "freelist {id}: {err}");
        }
    }
    let mut f = db_file(pages as usize);
    metas(&mut f, u64::MAX - 1, NO_FREELIST, pages);
    status_refuses(&f, "root bucket page 18446744073709551614 is impossible");
}

#[test]
fn overflow_counts_near_u32_max() {
    let pages = 8usize;
    for overflow in [u32::MAX, u32::MAX - 1, 1 << 31, pages as u32 - 2] {
        let mut f = db_file(pages);
        page_header(&mut f, 2, LEAF_PAGE, 0, overflow);
        let err = first_error(&f, &format!("overflow {overflow}"));
        assert!(err.contains(&format!("claims {overflow} overflow pages")) && err.contains("page 2"), "{err}");
    }
    // A run that ends exactly at the high-water mark is fine.
    let mut f = db_file(pages);
    page_header(&mut f, 2, LEAF_PAGE, 0, pages as u32 - 3);
    let db = open(&f).unwrap();
    assert_eq!(db.page(2).unwrap().bytes.len(), (pages - 2) * PS);
    assert_eq!(measure(&db).unwrap().reachable_pages, pages as u64 - 2);
    let mut f = db_file(pages);
    page_header(&mut f, 2, LEAF_PAGE, 0, u32::MAX);
    status_refuses(&f, "overflow pages");
}

#[test]
fn leaf_element_positions_and_sizes_near_u32_max() {
    let m = u32::MAX;
    let cases = [(m, 1, 0), (16, m, 0), (16, 1, m), (m, m, m), (m - 15, 16, 0), (1 << 31, 1 << 31, 1 << 31), (16, 1 << 31, 1 << 31), (16, 1, PS as u32)];
    for (pos, ksize, vsize) in cases {
        let mut f = db_file(4);
        page_header(&mut f, 2, LEAF_PAGE, 1, 0);
        let e = 2 * PS + PAGE_HEADER_SIZE;
        put32(&mut f, e + LEAF_FLAGS, 0);
        put32(&mut f, e + LEAF_POS, pos);
        put32(&mut f, e + LEAF_KSIZE, ksize);
        put32(&mut f, e + LEAF_VSIZE, vsize);
        let err = first_error(&f, &format!("leaf element {pos}/{ksize}/{vsize}"));
        assert!(err.contains("run past the end") && err.contains("page 2"), "{pos}/{ksize}/{vsize}: {err}");
        assert!(err.contains(&format!("byte offset {e}")), "the error points at the element: {err}");
    }
    let mut f = db_file(4);
    page_header(&mut f, 2, LEAF_PAGE, 1, 0);
    put32(&mut f, 2 * PS + PAGE_HEADER_SIZE + LEAF_POS, u32::MAX);
    put32(&mut f, 2 * PS + PAGE_HEADER_SIZE + LEAF_KSIZE, 1);
    status_refuses(&f, "run past the end");
}

#[test]
fn branch_elements_near_u32_and_u64_max() {
    let m = u32::MAX;
    // (pos, ksize, child): the key "a" sits right after the one element.
    let cases: [(u32, u32, u64, &str); 8] = [
        (m, 1, 3, "runs past the end"),
        (16, m, 3, "runs past the end"),
        (m - 15, 16, 3, "runs past the end"),
        (1 << 31, 1 << 31, 3, "runs past the end"),
        (16, 1, u64::MAX, "beyond the high-water mark"),
        (16, 1, u64::MAX / PS as u64 + 1, "beyond the high-water mark"),
        (16, 1, 1, "meta page"),
        (16, 1, 2, "page 2"),
    ];
    for (pos, ksize, child, needle) in cases {
        let mut f = db_file(4);
        page_header(&mut f, 2, BRANCH_PAGE, 1, 0);
        let e = 2 * PS + PAGE_HEADER_SIZE;
        put32(&mut f, e + BRANCH_POS, pos);
        put32(&mut f, e + BRANCH_KSIZE, ksize);
        put64(&mut f, e + BRANCH_CHILD, child);
        f[e + BRANCH_ELEMENT_SIZE] = b'a';
        let err = first_error(&f, &format!("branch element {pos}/{ksize}/{child}"));
        assert!(err.contains(needle), "{pos}/{ksize}/{child}: {err}");
    }
    let mut f = db_file(4);
    page_header(&mut f, 2, BRANCH_PAGE, 1, 0);
    put32(&mut f, 2 * PS + PAGE_HEADER_SIZE + BRANCH_POS, 16);
    put32(&mut f, 2 * PS + PAGE_HEADER_SIZE + BRANCH_KSIZE, 1);
    put64(&mut f, 2 * PS + PAGE_HEADER_SIZE + BRANCH_CHILD, u64::MAX);
    status_refuses(&f, "page 2");
}

#[test]
fn element_counts_beyond_the_page_run() {
    for flags in [LEAF_PAGE, BRANCH_PAGE] {
        for count in [u16::MAX, u16::MAX - 1, (PS / 16) as u16] {
            let mut f = db_file(4);
            page_header(&mut f, 2, flags, count, 0);
            let err = first_error(&f, &format!("count {count}"));
            assert!(err.contains(&format!("element count {count} needs")), "{err}");
        }
    }
    let mut f = db_file(4);
    page_header(&mut f, 2, LEAF_PAGE, u16::MAX, 0);
    status_refuses(&f, "element count 65535");
}

#[test]
fn freelist_counts_near_u64_max() {
    let pages = 8usize;
    let room = ((PS - PAGE_HEADER_SIZE - 8) / 8) as u64;
    for count in [u64::MAX, u64::MAX - 1, u64::MAX / 8 + 1, 1 << 61, 1 << 32, room + 1] {
        let mut f = db_file(pages);
        metas(&mut f, 2, 3, pages as u64);
        page_header(&mut f, 3, FREELIST_PAGE, FREELIST_COUNT_OVERFLOW, 0);
        put64(&mut f, 3 * PS + PAGE_HEADER_SIZE, count);
        let err = first_error(&f, &format!("freelist count {count}"));
        assert!(err.contains(&format!("freelist claims {count} page ids")) && err.contains("page 3"), "{err}");
    }
    // In the header form: a count of 0xFFFE on one page.
    let mut f = db_file(pages);
    metas(&mut f, 2, 3, pages as u64);
    page_header(&mut f, 3, FREELIST_PAGE, 0xFFFE, 0);
    let err = first_error(&f, "freelist header count");
    assert!(err.contains("freelist claims 65534 page ids"), "{err}");
    // Ids near u64::MAX in the list.
    for id in [u64::MAX, u64::MAX - 1, pages as u64] {
        let mut f = db_file(pages);
        metas(&mut f, 2, 3, pages as u64);
        page_header(&mut f, 3, FREELIST_PAGE, 1, 0);
        put64(&mut f, 3 * PS + PAGE_HEADER_SIZE, id);
        let err = first_error(&f, &format!("freelist id {id}"));
        assert!(err.contains(&format!("names page {id}")), "{err}");
    }
    let mut f = db_file(pages);
    metas(&mut f, 2, 3, pages as u64);
    page_header(&mut f, 3, FREELIST_PAGE, FREELIST_COUNT_OVERFLOW, 0);
    put64(&mut f, 3 * PS + PAGE_HEADER_SIZE, u64::MAX);
    status_refuses(&f, "freelist claims");
}

/// A root leaf at page 2 with one nested-bucket element "b" whose value is `value`.
fn root_with_bucket(pages: usize, value: &[u8]) -> Vec<u8> {
    let mut f = db_file(pages);
    page_header(&mut f, 2, LEAF_PAGE, 1, 0);
    let e = 2 * PS + PAGE_HEADER_SIZE;
    put32(&mut f, e + LEAF_FLAGS, BUCKET_LEAF_FLAG);
    put32(&mut f, e + LEAF_POS, LEAF_ELEMENT_SIZE as u32);
    put32(&mut f, e + LEAF_KSIZE, 1);
    put32(&mut f, e + LEAF_VSIZE, value.len() as u32);
    f[e + LEAF_ELEMENT_SIZE] = b'b';
    f[e + LEAF_ELEMENT_SIZE + 1..e + LEAF_ELEMENT_SIZE + 1 + value.len()].copy_from_slice(value);
    f
}

#[test]
fn nested_bucket_roots_and_inline_counts() {
    for root in [u64::MAX, u64::MAX - 1, 1 << 63, 8, 1] {
        let f = root_with_bucket(8, &[root.to_le_bytes(), 0u64.to_le_bytes()].concat());
        let err = first_error(&f, &format!("bucket root {root}"));
        assert!(err.contains(&format!("page {root}")), "{root}: {err}");
        let db = open(&f).unwrap();
        let b = db.root().bucket(&db, b"b").unwrap().expect("bucket b");
        assert!(b.iter(&db).next().unwrap().is_err());
    }
    // An inline bucket whose page claims u16::MAX elements in a few bytes.
    let mut inline = [0u64.to_le_bytes(), 0u64.to_le_bytes()].concat();
    inline.extend_from_slice(&[0; PAGE_HEADER_SIZE]);
    put16(&mut inline, 16 + PAGE_FLAGS, LEAF_PAGE);
    put16(&mut inline, 16 + PAGE_COUNT, u16::MAX);
    let f = root_with_bucket(8, &inline);
    let err = first_error(&f, "inline count");
    assert!(err.contains("element count 65535") && err.contains("inline bucket"), "{err}");
    status_refuses(&f, "element count 65535");
}

/// A root leaf at page 2 holding one inline bucket "b" whose value nests `levels` inline buckets,
/// each level holding two bucket elements that point at the same value (the next level): each
/// level's keys are distinct and sorted (element 0's key is "\0k": the last byte of element 1's
/// record, always 0, and "k"; element 1's is "k"), only the walk into the values repeats. 62
/// levels fit in one 4 KiB leaf run; a walk without a guard visits the innermost 2^levels times.
fn shared_inline_levels(levels: usize) -> Vec<u8> {
    // One level: a bucket header (inline), a leaf header (count 2), two bucket elements, the
    // byte "k", then the next level.
    let per_level = 16 + PAGE_HEADER_SIZE + 2 * LEAF_ELEMENT_SIZE + 1;
    let k_at = PAGE_HEADER_SIZE + 2 * LEAF_ELEMENT_SIZE;
    let mut value = Vec::new();
    for level in 0..levels {
        let next_level = (levels - level - 1) * per_level + 16 + PAGE_HEADER_SIZE;
        value.extend_from_slice(&[0u8; 16]);
        let mut node = vec![0u8; k_at + 1];
        put16(&mut node, PAGE_FLAGS, LEAF_PAGE);
        put16(&mut node, PAGE_COUNT, 2);
        for (i, ksize) in [(0, 2usize), (1, 1)] {
            let e = PAGE_HEADER_SIZE + i * LEAF_ELEMENT_SIZE;
            put32(&mut node, e + LEAF_FLAGS, BUCKET_LEAF_FLAG);
            put32(&mut node, e + LEAF_POS, (k_at + 1 - ksize - e) as u32);
            put32(&mut node, e + LEAF_KSIZE, ksize as u32);
            put32(&mut node, e + LEAF_VSIZE, next_level as u32);
        }
        node[k_at] = b'k';
        value.extend_from_slice(&node);
    }
    // The innermost bucket: an empty inline leaf.
    value.extend_from_slice(&[0u8; 16]);
    let mut empty = vec![0u8; PAGE_HEADER_SIZE];
    put16(&mut empty, PAGE_FLAGS, LEAF_PAGE);
    value.extend_from_slice(&empty);
    let pages = 2 + (PAGE_HEADER_SIZE + LEAF_ELEMENT_SIZE + 1 + value.len()).div_ceil(PS);
    let mut f = root_with_bucket(pages, &[]);
    page_header(&mut f, 2, LEAF_PAGE, 1, (pages - 3) as u32);
    let e = 2 * PS + PAGE_HEADER_SIZE;
    put32(&mut f, e + LEAF_VSIZE, value.len() as u32);
    f[e + LEAF_ELEMENT_SIZE + 1..e + LEAF_ELEMENT_SIZE + 1 + value.len()].copy_from_slice(&value);
    f
}

/// Found by this audit: nested inline buckets whose values overlap. Each level holds two bucket
/// elements pointing at the same value, which holds the next level: 62 levels fit in one 4 KiB
/// leaf, and the space walk visited the innermost level 2^62 times (the walk never ended).
#[test]
fn inline_buckets_that_share_bytes_are_refused_not_walked_forever() {
    let f = shared_inline_levels(62);
    // Each level's value must be well-formed: the bucket opens and its first level reads.
    {
        let db = open(&f).unwrap();
        let b = db.root().bucket(&db, b"b").unwrap().expect("bucket b");
        assert!(b.is_inline());
        let keys: Vec<Vec<u8>> = b.iter(&db).map(|e| e.unwrap().key().to_vec()).collect();
        assert_eq!(keys, [b"\0k".to_vec(), b"k".to_vec()]);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let bytes = f.clone();
    std::thread::spawn(move || {
        let db = open(&bytes).unwrap();
        let _ = tx.send(measure(&db).map(|_| ()).map_err(|e| e.to_string()));
    });
    let got = rx.recv_timeout(std::time::Duration::from_secs(60)).expect("the space walk must end on shared inline buckets");
    let err = got.expect_err("shared inline buckets are damage");
    assert!(err.contains("overlaps the previous nested bucket") && err.contains("byte offset"), "{err}");
    status_refuses(&f, "overlaps the previous nested bucket");
}

/// Runs etcdscope with `args`; `(exit code, stdout)`, or a failed test naming `why` when it is
/// still running after `limit` (killed by its PID).
fn run_limited(args: &[&std::ffi::OsStr], limit: std::time::Duration, why: &str) -> (Option<i32>, String) {
    use std::io::Read;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_etcdscope"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("etcdscope runs");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let status = common::wait_for_exit(&mut child, limit, &format!("{args:?}: {why}"));
    (status.code(), reader.join().expect("stdout reader"))
}

/// Found by trying to break every command: `check` and `salvage` walked nested inline buckets
/// without the guard the space walk has, so the same shared values took them 2^levels visits
/// (20 levels: 4 s and 500 MB; 62 levels: forever). One walker serves all three now; both
/// commands end at once with a finding naming the overlap.
#[test]
fn check_and_salvage_end_on_shared_inline_buckets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    std::fs::write(&path, shared_inline_levels(62)).unwrap();
    let limit = std::time::Duration::from_secs(30);
    for extra in [&[][..], &["--best-effort"][..]] {
        let mut args = vec!["check".as_ref(), path.as_os_str(), "-o".as_ref(), "json".as_ref()];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        let (code, out) = run_limited(&args, limit, "check walks shared inline buckets once");
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains("overlaps the previous nested bucket"), "{out}");
    }
    let out_db = dir.path().join("salvaged.db");
    let (code, out) = run_limited(
        &["salvage".as_ref(), path.as_os_str(), "--out".as_ref(), out_db.as_os_str(), "-o".as_ref(), "json".as_ref()],
        limit,
        "salvage scans shared inline buckets once",
    );
    assert_eq!(code, Some(1), "damage was found: {out}");
    assert!(out.contains("overlaps the previous nested bucket"), "{out}");
}

// ---- protobuf ----------------------------------------------------------------------------------

#[test]
fn protobuf_lengths_near_u64_max() {
    let file: Arc<Path> = Arc::from(Path::new("hostile.db"));
    for len in HUGE {
        let msg = claims(1, len, b"abc");
        let first = bounded(msg.len(), "protowire", || fields(&msg).next());
        let err = first.expect("one field").expect_err("the length is more than the message holds");
        assert_eq!(err.offset, 0, "{err}");
        assert_eq!(etcdscope::etcd::wire::bytes_field(&msg, 1), Err(etcdscope::etcd::wire::Malformed));
        assert_eq!(etcdscope::etcd::wire::int64_field(&msg, 2), Err(etcdscope::etcd::wire::Malformed));
        // An mvccpb.KeyValue with a good key and a value that claims `len` bytes.
        let mut kv = claims(1, 3, b"foo");
        kv.extend_from_slice(&claims(5, len, b"bar"));
        for raw in [&msg[..], &kv[..]] {
            let entry = RevisionEntry { revision: Revision { main: 2, sub: 0 }, tombstone: false, key: b"foo", raw, page: 3, offset: 4096 };
            let err = bounded(raw.len(), "mvcc kv", || entry.kv(&file)).unwrap_err().to_string();
            assert!(err.contains("not a valid mvccpb.KeyValue") && err.contains("byte offset 4096"), "{err}");
            assert!(bounded(raw.len(), "mvcc decode", || entry.decode(&file)).is_err());
            assert!(entry.value(&file).is_err());
        }
        for m in [&msg, &kv] {
            assert!(bounded(m.len(), "prost", || mvccpb::KeyValue::decode(&m[..])).is_err());
            assert!(bounded(m.len(), "prost", || raftpb::Entry::decode(&claims(4, len, b"x")[..])).is_err());
            assert!(bounded(m.len(), "prost", || leasepb::Lease::decode(&claims(1, len, b"x")[..])).is_err());
        }
    }
    // A tag or a varint of 11 bytes, and a field number beyond 2^29.
    let eleven = [0xffu8; 10].iter().copied().chain([0x01]).collect::<Vec<_>>();
    assert!(fields(&eleven).next().unwrap().is_err());
    let mut big_tag = Vec::new();
    varint(u64::MAX, &mut big_tag);
    assert!(fields(&big_tag).next().unwrap().is_err());
}

// ---- WAL ---------------------------------------------------------------------------------------

/// A WAL directory (`<tmp>/member/wal`) holding one segment with these bytes.
fn wal_with(segment: &[u8]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let wal = tmp.path().join("member/wal");
    std::fs::create_dir_all(&wal).unwrap();
    std::fs::write(wal.join("0000000000000000-0000000000000000.wal"), segment).unwrap();
    tmp
}

/// One frame around `record` (a walpb.Record's bytes): length word, record, padding.
fn frame(record: &[u8]) -> Vec<u8> {
    let pad = (8 - record.len() % 8) % 8;
    let word = record.len() as u64 | if pad > 0 { (0x80 | pad as u64) << 56 } else { 0 };
    let mut out = word.to_le_bytes().to_vec();
    out.extend_from_slice(record);
    out.extend(std::iter::repeat(0).take(pad));
    out
}

/// A walpb.Record: type, crc, and data (field 3) as given (possibly a hostile field).
fn record(rtype: u64, crc: u32, data_field: &[u8]) -> Vec<u8> {
    let mut r = vec![0x08];
    varint(rtype, &mut r);
    r.push(0x10);
    varint(u64::from(crc), &mut r);
    r.extend_from_slice(data_field);
    r
}

/// Every event of a scan, as (frames, damage texts), strict or best effort, within the bound.
fn scan(dir: &Path, len: usize, best_effort: bool) -> (usize, Vec<String>) {
    use etcdscope::wal::frame::{Event, Wal};
    use etcdscope::wal::segment::discover;
    bounded(len, "wal scan", || {
        let wal = Wal::open(discover(&dir.join("member/wal")).unwrap()).unwrap();
        let (mut frames, mut damage) = (0, Vec::new());
        wal.scan(best_effort, &mut |ev| {
            match ev {
                Event::Frame(_) => frames += 1,
                Event::Damage(d) => damage.push(d.what),
                Event::End { .. } => {}
            }
            Ok(())
        })
        .unwrap();
        (frames, damage)
    })
}

/// The whole `wal` view (records decoded, .snap files and all), within the bound.
fn wal_view(dir: &Path, len: usize) -> etcdscope::views::wal::WalSummary {
    use etcdscope::views::wal::{read, WalQuery};
    let mut out = None;
    for best_effort in [false, true] {
        let q = WalQuery { best_effort, ..Default::default() };
        out = Some(bounded(len, "wal view", || read(dir, &q, None, &mut |_| Ok(())).unwrap()));
    }
    out.unwrap()
}

#[test]
fn wal_length_words_near_u64_max() {
    use etcdscope::wal::frame::MAX_RECORD_BYTES;
    let good = frame(&record(4, 0, &[]));
    let words = [
        u64::MAX,
        u64::MAX >> 8,                       // the largest 56-bit length, no padding
        0x80 << 56 | u64::MAX >> 8,          // ... with the padding flag and 0 bytes of it
        0x87 << 56 | u64::MAX >> 8,          // ... with 7 bytes of padding
        0x87 << 56 | (MAX_RECORD_BYTES - 1), // just under the limit once padded
        MAX_RECORD_BYTES,                    // at etcd's limit
        MAX_RECORD_BYTES - 8,                // under it, but past the segment's end
        0xff << 56,                          // no length, 7 bytes of padding
        1 << 55,
    ];
    for word in words {
        let mut seg = good.clone();
        seg.extend_from_slice(&word.to_le_bytes());
        seg.extend_from_slice(&record(1, 0, &[]));
        seg.extend_from_slice(&[0xab; 64]);
        let tmp = wal_with(&seg);
        for best_effort in [false, true] {
            let (frames, damage) = scan(tmp.path(), seg.len(), best_effort);
            assert_eq!(frames, 1, "word {word:#x}: the good record before it is read");
            assert!(!damage.is_empty(), "word {word:#x}: damage reported");
        }
        let summary = wal_view(tmp.path(), seg.len());
        assert!(summary.has_damage(), "word {word:#x}");
    }
}

#[test]
fn wal_record_fields_with_huge_lengths() {
    use etcdscope::wal::record::{entry, Record};
    use etcdscope::wal::request::{payload, Payload};
    for len in HUGE {
        // The record's own data field claims `len` bytes: the record does not parse.
        let seg = frame(&record(2, 0, &claims(3, len, b"xyz")));
        let tmp = wal_with(&seg);
        let (frames, damage) = scan(tmp.path(), seg.len(), false);
        assert_eq!(frames, 0);
        assert!(damage[0].contains("record does not parse"), "{damage:?}");
        wal_view(tmp.path(), seg.len());

        // A well-framed entry record (its CRC right) whose raftpb.Entry data claims `len` bytes.
        let data = claims(4, len, b"xyz");
        let seg = frame(&record(2, crc32c::crc32c(&data), &claims(3, data.len() as u64, &data)));
        let tmp = wal_with(&seg);
        assert_eq!(scan(tmp.path(), seg.len(), false), (1, vec![]));
        assert!(entry(&data).unwrap_err().contains("entry does not parse"));
        let summary = wal_view(tmp.path(), seg.len());
        assert_eq!(summary.records, 1);

        // An entry whose InternalRaftRequest's put claims `len` bytes of key: undecodable.
        let put = claims(4, len, b"k");
        let e = [claims(4, put.len() as u64, &put), vec![0x18, 0x01]].concat(); // data, index 1
        let parsed = entry(&e).unwrap();
        assert!(matches!(bounded(e.len(), "payload", || payload(&parsed)), Payload::Undecodable(_)));
        let data = e;
        let seg = frame(&record(2, crc32c::crc32c(&data), &claims(3, data.len() as u64, &data)));
        let tmp = wal_with(&seg);
        assert_eq!(wal_view(tmp.path(), seg.len()).entries, 1);

        // Metadata, state and snapshot records whose fields claim `len` bytes.
        for rtype in [1, 3, 5] {
            let data = claims(1, len, b"xyz");
            let seg = frame(&record(rtype, crc32c::crc32c(&data), &claims(3, data.len() as u64, &data)));
            let tmp = wal_with(&seg);
            let mut seen = 0;
            let wal = etcdscope::wal::frame::Wal::open(etcdscope::wal::segment::discover(&tmp.path().join("member/wal")).unwrap()).unwrap();
            wal.scan(false, &mut |ev| {
                if let etcdscope::wal::frame::Event::Frame(f) = ev {
                    assert!(Record::of(&f).is_err(), "type {rtype}");
                    seen += 1;
                }
                Ok(())
            })
            .unwrap();
            assert_eq!(seen, 1);
            wal_view(tmp.path(), seg.len());
        }
    }
}

#[test]
fn segment_names_at_the_u64_limits() {
    use etcdscope::wal::segment::{discover, SegmentName};
    let tmp = tempfile::tempdir().unwrap();
    let wal = tmp.path().join("member/wal");
    std::fs::create_dir_all(&wal).unwrap();
    let seg = frame(&record(4, 0, &[]));
    for name in ["fffffffffffffffe-ffffffffffffffff.wal", "ffffffffffffffff-0000000000000000.wal", "0000000000000000-ffffffffffffffff.wal"] {
        std::fs::write(wal.join(name), &seg).unwrap();
    }
    std::fs::write(wal.join("10000000000000000-0000000000000000.wal"), &seg).unwrap(); // 17 digits
    let found = discover(&wal).unwrap();
    assert_eq!(found.files.len(), 3);
    assert_eq!(found.files[2].name, SegmentName { seq: u64::MAX, index: 0 });
    assert_eq!(found.ignored.len(), 1);
    assert!(!found.problems.is_empty(), "gaps and a decreasing index are reported");
    wal_view(tmp.path(), seg.len() * 3);
}

// ---- .snap files -------------------------------------------------------------------------------

#[test]
fn snap_files_with_hostile_lengths() {
    use etcdscope::wal::snap::{read_snap, snap_files, SnapStatus};
    for len in HUGE {
        // snappb.Snapshot whose data claims `len` bytes.
        let bad = [vec![0x08, 0x01], claims(2, len, b"xyz")].concat();
        assert!(matches!(bounded(bad.len(), "snap", || read_snap(&bad)), SnapStatus::Bad(m) if m.contains("does not parse")));
        // A good CRC around a raftpb.Snapshot whose metadata (and its conf state) claim `len`.
        for inner in [claims(2, len, b"xyz"), nest(2, &claims(1, len, b"xyz"))] {
            let snap = snappb::Snapshot { crc: Some(crc32c::crc32c(&inner)), data: Some(inner.clone()) }.encode_to_vec();
            assert!(matches!(bounded(snap.len(), "snap", || read_snap(&snap)), SnapStatus::Bad(m) if m.contains("raft snapshot does not parse")));
        }
    }
    // Names at the u64 limits, a name too long, and things that are not regular files: a link to
    // /dev/zero (read without end before this audit: an ever-growing buffer) and a fifo (a read
    // that never returns).
    let tmp = tempfile::tempdir().unwrap();
    let member = tmp.path().join("member");
    let snap = member.join("snap");
    std::fs::create_dir_all(&snap).unwrap();
    std::fs::create_dir_all(member.join("wal")).unwrap();
    let seg = frame(&record(4, 0, &[]));
    std::fs::write(member.join("wal/0000000000000000-0000000000000000.wal"), &seg).unwrap();
    let raft = raftpb::Snapshot {
        data: Some(b"{}".to_vec()),
        metadata: Some(raftpb::SnapshotMetadata { index: Some(u64::MAX), term: Some(u64::MAX), ..Default::default() }),
    }
    .encode_to_vec();
    let good = snappb::Snapshot { crc: Some(crc32c::crc32c(&raft)), data: Some(raft) }.encode_to_vec();
    std::fs::write(snap.join("ffffffffffffffff-ffffffffffffffff.snap"), &good).unwrap();
    std::fs::write(snap.join("10000000000000000-0000000000000000.snap"), &good).unwrap();
    std::os::unix::fs::symlink("/dev/zero", snap.join("0000000000000001-0000000000000001.snap")).unwrap();
    std::fs::create_dir(snap.join("0000000000000002-0000000000000002.snap")).unwrap();
    let fifo = snap.join("0000000000000003-0000000000000003.snap");
    let made_fifo = std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success());
    let files = bounded(good.len(), "snap files", || snap_files(&snap).unwrap());
    let status = |name: &str| files.iter().find(|f| f.name == name).map(|f| f.status.clone());
    assert!(matches!(status("ffffffffffffffff-ffffffffffffffff.snap"), Some(SnapStatus::Ok { index: u64::MAX, term: u64::MAX, .. })));
    assert_eq!(files.iter().find(|f| f.name.starts_with("ffff")).unwrap().named, Some((u64::MAX, u64::MAX)));
    assert_eq!(files.iter().find(|f| f.name.starts_with("1000")).unwrap().named, None);
    for name in ["0000000000000001-0000000000000001.snap", "0000000000000002-0000000000000002.snap"] {
        assert!(matches!(status(name), Some(SnapStatus::Bad(m)) if m.contains("not a regular file")), "{name}: {:?}", status(name));
    }
    if made_fifo {
        assert!(matches!(status("0000000000000003-0000000000000003.snap"), Some(SnapStatus::Bad(m)) if m.contains("not a regular file")));
    }
    let summary = wal_view(&member, good.len());
    assert_eq!(summary.member.expect("a member dir").snap_files.len(), files.len());
}

// ---- Kubernetes values -------------------------------------------------------------------------

fn decoder(encryption: Option<etcdscope::k8s::encryption::EncryptionConfig>) -> etcdscope::k8s::decoder::Decoder {
    etcdscope::k8s::decoder::Decoder {
        schemas: etcdscope::k8s::schema::Schemas::embedded().expect("embedded schemas"),
        options: Default::default(),
        encryption,
        etcd_prefix: "/registry".into(),
    }
}

#[test]
fn k8s_envelope_lengths_near_u64_max() {
    use etcdscope::k8s::decoder::Decoded;
    use etcdscope::k8s::envelope::{classify, EnvelopeError};
    use etcdscope::k8s::json::{render_object_text, RenderOptions};
    let d = decoder(None);
    for len in HUGE {
        let type_meta = [claims(1, 2, b"v1"), claims(2, 3, b"Pod")].concat();
        let values = [
            // typeMeta itself, a string inside it, raw, contentEncoding claim `len` bytes.
            claims(1, len, b"xyz"),
            nest(1, &claims(1, len, b"x")),
            [claims(1, type_meta.len() as u64, &type_meta), claims(2, len, b"xyz")].concat(),
            [claims(1, type_meta.len() as u64, &type_meta), claims(3, len, b"xyz")].concat(),
        ];
        for v in values {
            let value = [b"k8s\0".to_vec(), v].concat();
            assert_eq!(bounded(value.len(), "classify", || classify(&value)), Err(EnvelopeError::MalformedUnknown));
            assert!(matches!(bounded(value.len(), "decode", || d.decode(&value)), Decoded::Raw { .. }));
        }
        // A Pod whose metadata, a label entry, a volume, or a packed repeated field
        // (spec.securityContext.supplementalGroups) claims `len` bytes.
        let pods = [claims(1, len, b"xyz"), nest(1, &claims(11, len, b"x")), nest(2, &claims(1, len, b"xyz")), nest(2, &nest(14, &claims(4, len, &[1, 2, 3])))];
        let opts = RenderOptions { show_unknown: true, redact_secrets: true, resource_version: None };
        for (i, raw) in pods.into_iter().enumerate() {
            let rendered = bounded(raw.len(), "render", || render_object_text(&d.schemas, "v1", "Pod", &raw, opts));
            assert!(rendered.is_err(), "{rendered:?}");
            let value = [b"k8s\0".to_vec(), claims(1, type_meta.len() as u64, &type_meta), claims(2, raw.len() as u64, &raw)].concat();
            assert!(matches!(bounded(value.len(), "decode", || d.decode(&value)), Decoded::Raw { .. }));
            // The facts read metadata and spec.nodeName only: the security context is not read.
            let facts =
                bounded(value.len(), "facts", || etcdscope::k8s::facts::object_facts(&d, b"/registry/pods/a/b", &value, etcdscope::k8s::facts::Wants::ALL));
            assert_eq!(facts.is_none(), i < 3, "{facts:?}");
        }
    }
    // A packed field whose length fits but whose last varint is cut short.
    let raw = nest(2, &nest(14, &nest(4, &[0x01, 0xff])));
    let opts = RenderOptions::default();
    let err = render_object_text(&d.schemas, "v1", "Pod", &raw, opts).unwrap_err().to_string();
    assert!(err.contains("truncated packed varint"), "{err}");
}

#[test]
fn encryption_prefixes_and_payloads_of_any_length() {
    use base64::Engine as _;
    use etcdscope::k8s::decoder::Decoded;
    use etcdscope::k8s::encryption::{Decrypted, EncryptionConfig};
    let b64 = |k: &[u8]| base64::engine::general_purpose::STANDARD.encode(k);
    let config = EncryptionConfig::from_yaml(&format!(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: [secrets]\n    providers:\n\
         \x20     - aescbc:\n          keys:\n            - name: key1\n              secret: {}\n\
         \x20     - aesgcm:\n          keys:\n            - name: key2\n              secret: {}\n\
         \x20     - secretbox:\n          keys:\n            - name: key3\n              secret: {}\n\
         \x20     - kms:\n          name: vault\n          endpoint: unix:///kms.sock\n",
        b64(&[1; 32]),
        b64(&[2; 16]),
        b64(&[3; 32]),
    ))
    .unwrap();
    let d = decoder(Some(config.clone()));
    let key = b"/registry/secrets/default/s";
    let mut payloads: Vec<Vec<u8>> = (0..=48).map(|n| vec![0x5a; n]).collect();
    payloads.push(vec![0x5a; 4097]);
    payloads.push(claims(1, u64::MAX, &[0; 40]));
    for prefix in ["k8s:enc:aescbc:v1:key1:", "k8s:enc:aesgcm:v1:key2:", "k8s:enc:secretbox:v1:key3:", "k8s:enc:kms:v2:vault:", "k8s:enc:kms:v1:vault:"] {
        for p in &payloads {
            let value = [prefix.as_bytes(), p].concat();
            let got = bounded(value.len(), prefix, || config.decrypt(key, &value));
            assert!(!matches!(got, Decrypted::Decrypted { .. } | Decrypted::NotEncrypted(_)), "{prefix} {}: {got:?}", p.len());
            assert!(matches!(bounded(value.len(), prefix, || d.decode_at(key, &value, Some(i64::MAX))), Decoded::Encrypted { .. }));
        }
    }
    // Prefixes of hostile shape: a 1 MiB key name, a megabyte of colons, nothing after k8s:enc:.
    let long_name = [b"k8s:enc:aescbc:v1:".to_vec(), vec![b'n'; 1 << 20]].concat();
    let colons = [b"k8s:enc:".to_vec(), vec![b':'; 1 << 20]].concat();
    let long_provider = [b"k8s:enc:".to_vec(), vec![b'p'; 1 << 20], b":v1:k:x".to_vec()].concat();
    for value in [long_name, colons, long_provider, b"k8s:enc:".to_vec(), b"k8s:enc:aescbc".to_vec(), b"k8s:enc:aescbc:v1:".to_vec()] {
        let got = bounded(value.len(), "prefix", || config.decrypt(key, &value));
        assert!(!matches!(got, Decrypted::Decrypted { .. } | Decrypted::NotEncrypted(_)), "{got:?}");
        bounded(value.len(), "prefix", || d.decode_at(key, &value, None));
    }
}

#[test]
fn cbor_lengths_near_u64_max() {
    use etcdscope::k8s::cbor::to_json;
    use etcdscope::k8s::decoder::Decoded;
    let d = decoder(None);
    let tagged = |item: &[u8]| [&[0xd9, 0xd9, 0xf7][..], item].concat();
    let mut items: Vec<Vec<u8>> = Vec::new();
    // Byte string, text, array and map headers with 8-, 4- and 2-byte lengths near their maxima.
    for major in [0x40u8, 0x60, 0x80, 0xa0] {
        items.push([&[major | 27][..], &u64::MAX.to_be_bytes()].concat());
        items.push([&[major | 27][..], &(1u64 << 63).to_be_bytes()].concat());
        items.push([&[major | 26][..], &u32::MAX.to_be_bytes()].concat());
        items.push([&[major | 25][..], &u16::MAX.to_be_bytes()].concat());
        // Inside a map value and an array.
        items.push([&[0xa1, 0x61, b'k', major | 27][..], &u64::MAX.to_be_bytes()].concat());
        items.push([&[0x82, 0x01, major | 27][..], &u64::MAX.to_be_bytes()].concat());
        // Indefinite length, never closed.
        items.push(vec![major | 31, 0x01]);
    }
    // Tags nested far deeper than the recursion limit, and arrays likewise.
    items.push([0xc6u8; 100_000].to_vec());
    items.push([0x81u8; 100_000].to_vec());
    for item in items {
        let value = tagged(&item);
        let got = bounded(value.len(), "cbor", || to_json(&value));
        assert!(got.is_err(), "{:02x?}: {got:?}", &item[..item.len().min(12)]);
        assert!(matches!(bounded(value.len(), "cbor decode", || d.decode(&value)), Decoded::Raw { .. }));
    }
}
