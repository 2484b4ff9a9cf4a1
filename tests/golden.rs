//! Our output against what etcd's own tools printed, on the files recorded in testdata/ by
//! scripts/make_testdata.py (etcd 3.5.1 and 3.4.23).

mod common;

use common::*;
use serde_json::Value;

#[test]
fn status_matches_etcdutl() {
    for dir in recorded_dirs() {
        let expected: Value = serde_json::from_slice(&std::fs::read(dir.join("expected/snapshot-status.json")).unwrap()).unwrap();
        let ours = status_json(&dir.join("snapshot.db"));
        check_status(&expected, &ours).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert_eq!(ours["trailer"], "ok", "{}", dir.display());
        let raw = status_json(&dir.join("member-db"));
        let expected_raw: Value = serde_json::from_slice(&std::fs::read(dir.join("expected/member-db-status.json")).unwrap()).unwrap();
        check_status(&expected_raw, &raw).unwrap_or_else(|e| panic!("{}/member-db: {e}", dir.display()));
        assert_eq!(raw["trailer"], "missing");
        assert_eq!(raw["liveKeys"], ours["liveKeys"], "member db and snapshot hold the same keyspace");
    }
}

#[test]
fn kv_get_matches_etcdctl_on_snapshots_and_member_dbs() {
    let mut total = 0;
    let mut failures = Vec::new();
    for dir in recorded_dirs() {
        for file in ["snapshot.db", "member-db"] {
            let (n, f) = check_get_cases(&dir, &dir.join(file));
            total += n;
            failures.extend(f);
        }
    }
    println!("{total} etcdctl get cases compared, {} failed", failures.len());
    assert!(failures.is_empty(), "{} of {total} cases differ:\n{}", failures.len(), failures.join("\n\n"));
}
