//! Live: start a fresh real etcd of every installed version (scripts/make_testdata.py), write a
//! varied keyspace, record etcdctl/etcdutl outputs, run etcdscope against the data dir and the db
//! *while etcd runs*, then compare everything with etcd's own answers.
//!
//! With ETCDSCOPE_REQUIRE_ETCD=1 (CI, scripts/test.sh) a missing etcd version fails the test.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn live(version: &str) {
    if bin_dir_or_skip(version).is_none() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join(format!("etcd-{version}"));
    let status = Command::new("python3")
        .arg(repo().join("scripts/make_testdata.py"))
        .args(["--version", version, "--out"])
        .arg(&dir)
        .arg("--random-ports")
        .arg("--etcdscope")
        .arg(bin())
        .status()
        .expect("make_testdata.py runs");
    assert!(status.success(), "make_testdata.py --version {version} failed");

    // Snapshot and stopped member db against etcdutl / etcdctl.
    let expected: Value = serde_json::from_slice(&std::fs::read(dir.join("expected/snapshot-status.json")).unwrap()).unwrap();
    check_status(&expected, &status_json(&dir.join("snapshot.db"))).unwrap_or_else(|e| panic!("etcd {version} snapshot: {e}"));
    let mut failures = Vec::new();
    let mut cases = 0;
    for file in ["snapshot.db", "member-db"] {
        let (n, f) = check_get_cases(&dir, &dir.join(file));
        cases += n;
        failures.extend(f);
    }
    // export sqlite of the live member's snapshot: its kv rows are etcdctl's get.
    check_export_kv(&dir.join("snapshot.db"), &dir.join("expected/get/all.json")).unwrap_or_else(|e| panic!("etcd {version} export: {e}"));
    println!("etcd {version}: {cases} etcdctl get cases compared, {} failed", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // Reads made while etcd was running, from the data dir and from member/snap/db directly.
    let runs: Value = serde_json::from_slice(&std::fs::read(dir.join("live/runs.json")).unwrap()).unwrap();
    let all = std::fs::read(dir.join("expected/get/all.json")).unwrap();
    for run in runs["runs"].as_array().unwrap() {
        let name = run["name"].as_str().unwrap();
        assert_eq!(run["exit_code"], 0, "etcd {version} live {name}: {}", run["stderr"]);
        let stdout = std::fs::read(dir.join(run["stdout"].as_str().unwrap())).unwrap();
        if name.starts_with("kv-get") {
            compare_get("json", &stdout, &all).unwrap_or_else(|e| panic!("etcd {version} live {name}: {e}"));
        } else {
            let ours: Value = serde_json::from_slice(&stdout).unwrap();
            let theirs: Value = serde_json::from_slice(&all).unwrap();
            assert_eq!(ours["liveKeys"], theirs["count"], "etcd {version} live status vs etcdctl count");
            assert_eq!(ours["currentRevision"], theirs["header"]["revision"], "etcd {version} live status revision");
        }
    }
    assert!(!Path::new(&dir.join("snapshot.db.part")).exists());
}

#[test]
fn live_etcd_3_5_1() {
    live("3.5.1");
}

#[test]
fn live_etcd_3_4_23() {
    live("3.4.23");
}

/// `snapshot restore` with etcd's own tool under a new member: the restored db's status must
/// match etcd's tool again, and (3.5+, which stores confState) our stale-confState warning fires
/// because restore rewrites members but leaves confState from the source cluster.
fn restore(version: &str) {
    let Some(dir) = bin_dir_or_skip(version) else { return };
    let snapshot = repo().join(format!("testdata/etcd-{version}/snapshot.db"));
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("restored");
    let tool = |name: &str| Path::new(&dir).join(name);
    let (restorer, status_tool) = if version.starts_with("3.4") { (tool("etcdctl"), tool("etcdctl")) } else { (tool("etcdutl"), tool("etcdutl")) };
    let out = Command::new(&restorer)
        .env("ETCDCTL_API", "3")
        .args(["snapshot", "restore"])
        .arg(&snapshot)
        .arg("--data-dir")
        .arg(&data)
        .args(["--name", "restored", "--initial-cluster", "restored=http://127.0.0.1:12380"])
        .args(["--initial-advertise-peer-urls", "http://127.0.0.1:12380", "--initial-cluster-token", "restore-test"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "restore failed: {}", String::from_utf8_lossy(&out.stderr));
    let db = data.join("member/snap/db");
    // Status on a copy: etcd's tool must not get a chance to touch what we compare.
    let copy = tmp.path().join("copy.db");
    std::fs::copy(&db, &copy).unwrap();
    let theirs = Command::new(&status_tool).env("ETCDCTL_API", "3").args(["snapshot", "status", "-w", "json"]).arg(&copy).output().unwrap();
    assert!(theirs.status.success(), "{}", String::from_utf8_lossy(&theirs.stderr));
    let expected: Value = serde_json::from_slice(&theirs.stdout).unwrap();
    let ours = status_json(&data);
    check_status(&expected, &ours).unwrap_or_else(|e| panic!("etcd {version} restored db: {e}"));
    assert_eq!(ours["consistentIndex"], 1, "restore writes consistent_index = number of members");
    let warnings = ours["warnings"].to_string();
    if version.starts_with("3.4") {
        // etcd 3.4's restore writes the new membership only to the .snap file (v2 store) and
        // the WAL; the backend's members bucket keeps the source cluster's members.
        assert_eq!(ours["members"][0]["name"], "etcdscope-testdata", "3.4 restore leaves members untouched");
        assert!(ours["confStateVoters"].is_null(), "3.4 does not store confState");
        assert!(warnings.contains("looks freshly restored"), "expected the restore warning: {warnings}");
    } else {
        assert_eq!(ours["members"][0]["name"], "restored");
        assert!(warnings.contains("confState is stale"), "expected the stale confState warning: {warnings}");
    }
}

#[test]
fn restored_db_3_5_1() {
    restore("3.5.1");
}

#[test]
fn restored_db_3_4_23() {
    restore("3.4.23");
}
