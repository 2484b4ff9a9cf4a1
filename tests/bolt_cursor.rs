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

/// One cursor serves many seeks (a merge walk does this): the page-load bound applies to each
/// seek or step, not to the cursor's whole life, so a sound file is never called damaged.
#[test]
fn one_cursor_reused_for_ten_thousand_seeks() {
    with_db(|db| {
        let key = db.root().bucket(db, b"key").unwrap().expect("key bucket");
        let all: Vec<&[u8]> = key.iter(db).map(|e| e.unwrap().key()).collect();
        let mut cursor = key.cursor(db);
        let budget = cursor.load_budget();
        let mut rng: u64 = 0x2545_F491_4F6C_DD1D;
        for i in 0..10_000u64 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let want = all[(rng % all.len() as u64) as usize];
            let (_, got) = cursor.seek(want).unwrap_or_else(|e| panic!("seek {i}: {e}")).expect("present");
            assert_eq!(got.key, want);
            // A few steps from each position, in both directions, on the same cursor.
            if i % 10 == 0 {
                let next = cursor.next().unwrap().map(|(_, e)| e.key);
                let at = all.iter().position(|k| *k == want).unwrap();
                assert_eq!(next, all.get(at + 1).copied());
                if next.is_some() {
                    assert_eq!(cursor.prev().unwrap().map(|(_, e)| e.key), Some(want));
                }
            }
        }
        assert!(10_000 * 2 > budget, "the test must exceed one cursor-lifetime budget ({budget} loads) to mean anything");
    });
}
