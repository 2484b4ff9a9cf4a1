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

#[test]
fn inputs_are_never_touched() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("member/snap");
    std::fs::create_dir_all(&data).unwrap();
    let db = data.join("db");
    std::fs::copy(recorded_dirs()[0].join("member-db"), &db).unwrap();
    let before = (std::fs::read(&db).unwrap(), std::fs::metadata(&db).unwrap().modified().unwrap());
    for args in [vec!["status", "-o", "json"], vec!["status"]] {
        let mut a: Vec<&std::ffi::OsStr> = vec![args[0].as_ref(), dir.path().as_os_str()];
        a.extend(args[1..].iter().map(|s| std::ffi::OsStr::new(*s)));
        assert!(run(&a).status.success());
    }
    let out = run(&["kv".as_ref(), "get".as_ref(), dir.path().as_os_str(), "".as_ref(), "--prefix".as_ref()]);
    assert!(out.status.success());
    let after = (std::fs::read(&db).unwrap(), std::fs::metadata(&db).unwrap().modified().unwrap());
    assert!(before == after, "the db was modified");
    let names: Vec<_> = std::fs::read_dir(&data).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("db")], "files appeared next to the db");
}
