//! The MVCC revision iterator on real etcd files: what it yields for a key equals the writes
//! etcd acknowledged (testdata/*/writes.json, revisions as etcd's gateway returned them), and a
//! seek to a lower bound yields exactly what a scan from the start yields past that bound.

mod common;

use etcdscope::etcd::KeyRange;
use etcdscope::snapshot::Snapshot;
use etcdscope::source::Source;
use serde_json::Value;

#[test]
fn revisions_of_a_key_are_the_writes_etcd_acknowledged() {
    for dir in common::recorded_dirs() {
        let writes: Value = serde_json::from_slice(&std::fs::read(dir.join("writes.json")).unwrap()).unwrap();
        let compact = writes["marks"]["compact_rev"].as_i64().unwrap();
        let source = Source::open(dir.join("snapshot.db")).unwrap();
        let snap = Snapshot::open(&source).unwrap();
        for key in ["/hist/updated", "/hist/recreated", "/hist/deleted", "/hist/kept"] {
            // etcd's writes to the key: (revision, is delete); compaction keeps, of those at or
            // below the compaction revision, only the newest put (a tombstone below it goes).
            let ops: Vec<(i64, bool)> = writes["writes"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|w| w["key"] == key && (w["op"] == "put" || w["op"] == "delete"))
                .map(|w| (w["rev"].as_i64().unwrap(), w["op"] == "delete"))
                .collect();
            let mut want: Vec<(i64, bool)> = ops.iter().copied().filter(|(r, _)| *r > compact).collect();
            if let Some(&(r, del)) = ops.iter().rev().find(|(r, _)| *r <= compact) {
                if !del {
                    want.insert(0, (r, false));
                }
            }
            let range = KeyRange::single(key.as_bytes());
            let got: Vec<(i64, bool)> = snap.store().revisions(Some(&range), 0..=i64::MAX).map(|e| e.unwrap()).map(|e| (e.main(), e.tombstone)).collect();
            assert_eq!(got, want, "{} {key}", dir.display());
            for e in snap.store().revisions(Some(&range), 0..=i64::MAX) {
                let e = e.unwrap();
                let kv = e.kv(snap.file()).unwrap();
                assert_eq!(kv.key, key.as_bytes());
                if !e.tombstone {
                    assert_eq!(kv.mod_revision, e.main(), "a put's mod revision is its main revision");
                }
            }
        }
    }
}

#[test]
fn seeking_a_lower_bound_equals_scanning_from_the_start() {
    let dir = &common::recorded_dirs()[0];
    let source = Source::open(dir.join("snapshot.db")).unwrap();
    let snap = Snapshot::open(&source).unwrap();
    let store = snap.store();
    let all: Vec<_> = store.revisions(None, 0..=i64::MAX).map(|e| e.unwrap()).collect();
    assert!(all.len() > 1000);
    assert_eq!(all.first().unwrap().main(), store.first_revision);
    assert_eq!(all.last().unwrap().main(), store.last_revision);
    assert!(all.windows(2).all(|w| w[0].revision < w[1].revision), "revision order");
    let (first, last) = (store.first_revision, store.last_revision);
    for (from, to) in [(first, last), (first + 1, last - 1), (last, last), (last + 1, i64::MAX), (5, 4), (1100, 1110), (0, first)] {
        let seeked: Vec<_> = store.revisions(None, from..=to).map(|e| e.unwrap().revision).collect();
        let scanned: Vec<_> = all.iter().filter(|e| e.main() >= from && e.main() <= to).map(|e| e.revision).collect();
        assert_eq!(seeked, scanned, "{from}..={to}");
    }
    // A key range filters keys, in the same revision order.
    let range = KeyRange::prefix(b"/txn/");
    let txn: Vec<_> = store.revisions(Some(&range), 0..=i64::MAX).map(|e| e.unwrap()).collect();
    let want: Vec<_> = all.iter().filter(|e| e.key.starts_with(b"/txn/")).map(|e| e.revision).collect();
    assert_eq!(txn.iter().map(|e| e.revision).collect::<Vec<_>>(), want);
    assert!(txn.iter().any(|e| e.sub() > 0), "a txn writes several subs in one revision");
}
