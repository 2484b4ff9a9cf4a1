//! The bbolt bulk-load writer, read back: trees of several levels (small pages, long keys),
//! values from empty to many pages (overflow runs), buckets at the inline threshold and on
//! either side of it, empty buckets. Real etcd reading what the writer wrote is tests/rebuild.rs;
//! this covers shapes etcd's small test snapshots do not reach.

use etcdscope::bolt::write::{FileWriter, TreeWriter};
use etcdscope::bolt::Db;
use std::path::Path;
use std::sync::Arc;

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

type Buckets = Vec<(Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>)>;

fn bucket(rng: &mut Rng, n: usize, key_len: usize, max_value: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut keys: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let mut k = format!("{:08}-", i * 7).into_bytes();
            k.extend((0..key_len).map(|_| b'a' + rng.below(26) as u8));
            k
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|k| {
            let len = if rng.below(50) == 0 { 20_000 + rng.below(50_000) } else { rng.below(max_value + 1) };
            let v = (0..len).map(|_| rng.below(256) as u8).collect();
            (k, v)
        })
        .collect()
}

fn write(path: &Path, page_size: usize, buckets: &Buckets) {
    let mut w = FileWriter::create(path, page_size).unwrap();
    for (name, entries) in buckets {
        w.bucket(name, 7, entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))).unwrap();
    }
    let written = w.finish(false).unwrap();
    assert_eq!(std::fs::metadata(path).unwrap().len(), written.db_size);
}

fn read_back(path: &Path, buckets: &Buckets) -> Vec<bool> {
    let bytes = std::fs::read(path).unwrap();
    let db = Db::open(&bytes, Arc::from(path)).unwrap();
    let mut inline = Vec::new();
    let names: Vec<Vec<u8>> = db.root().iter(&db).map(|e| e.unwrap().key().to_vec()).collect();
    assert_eq!(names, buckets.iter().map(|b| b.0.clone()).collect::<Vec<_>>());
    for (name, entries) in buckets {
        let b = db.root().bucket(&db, name).unwrap().unwrap();
        assert_eq!(b.header.sequence, 7);
        inline.push(b.is_inline());
        let got: Vec<(Vec<u8>, Vec<u8>)> = b.iter(&db).map(|e| e.map(|e| (e.key().to_vec(), e.value().to_vec())).unwrap()).collect();
        assert_eq!(got.len(), entries.len(), "bucket {}", String::from_utf8_lossy(name));
        assert!(got == *entries, "bucket {} reads back different", String::from_utf8_lossy(name));
        // Point lookups go through the branches.
        for (k, v) in entries.iter().step_by(97) {
            assert_eq!(b.get(&db, k).unwrap(), Some(v.as_slice()));
        }
    }
    inline
}

#[test]
fn trees_of_every_shape_read_back_entry_for_entry() {
    for (page_size, seed) in [(1024, 1u64), (4096, 2), (65536, 3)] {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed);
        let quarter = page_size / 4;
        // One entry of exactly the inline limit: 16 (page header) + 16 (element) + key + value.
        let at_limit = vec![(b"k".to_vec(), vec![1u8; quarter - 16 - 16 - 1])];
        let over_limit = vec![(b"k".to_vec(), vec![1u8; quarter - 16 - 16])];
        let buckets: Buckets = vec![
            (b"deep".to_vec(), bucket(&mut rng, 6000, 180, 300)),
            (b"empty".to_vec(), vec![]),
            (b"inline-at-limit".to_vec(), at_limit),
            (b"inline-over-limit".to_vec(), over_limit),
            (b"key".to_vec(), bucket(&mut rng, 4000, 8, 3000)),
            (b"tiny".to_vec(), vec![(b"a".to_vec(), b"1".to_vec()), (b"b".to_vec(), vec![])]),
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        write(&path, page_size, &buckets);
        let inline = read_back(&path, &buckets);
        assert_eq!(inline, [false, true, true, false, false, true], "page size {page_size}: which buckets are inline");
    }
}

#[test]
fn keys_out_of_order_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = FileWriter::create(&dir.path().join("db"), 4096).unwrap();
    let mut t = TreeWriter::new();
    t.put(w.page_file(), b"b", b"").unwrap();
    assert!(t.put(w.page_file(), b"a", b"").is_err());
    assert!(t.put(w.page_file(), b"b", b"").is_err(), "a repeated key");
    assert!(t.put(w.page_file(), b"", b"").is_err(), "an empty key");
    assert!(FileWriter::create(&dir.path().join("db"), 4096).is_err(), "an existing file is never overwritten");
    assert!(FileWriter::create(&dir.path().join("db2"), 3000).is_err(), "a page size that is not a power of two");
}
