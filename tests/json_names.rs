//! One JSON naming convention (docs/architecture.md): a field etcd's tools or protobuf messages
//! have keeps etcd's name (`cluster_id`, `member_id`, `peerURLs`, `range_end`, …); every other
//! field is ours and lowerCamelCase. Checked on every key of `wal`, `status`, `compare` and
//! `rebuild` output (replay's, which needs a live member, in tests/replay.rs and the view's
//! unit test). Values that are data, not our fields, are not walked: a Kubernetes object, etcd's
//! member JSON in a conf change, maps keyed by class or kind.

mod common;

use common::*;
use serde_json::Value;
use std::process::Command;

/// etcd's snake_case names our outputs keep: etcdctl's and etcd's protobuf fields.
const ETCD_NAMES: &[&str] = &[
    "cluster_id",
    "member_id",
    "node_id",
    "conf_state",
    "voters_outgoing",
    "learners_next",
    "auto_leave",
    "range_end",
    "prev_kv",
    "ignore_value",
    "ignore_lease",
    "create_revision",
    "mod_revision",
    "remaining_ttl",
    "simple_token",
    "hashed_password",
    "no_password",
    "client_urls",
    "prev_exist",
    "auth_revision",
];

/// Keys whose values are data (named by etcd, Kubernetes or by what they count).
const DATA: &[&str] = &["object", "member", "entriesByClass", "notReplayed"];

fn bad_names(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            // A WAL entry's request is under its InternalRaftRequest field name, which `op` says.
            let op = m.get("op").and_then(Value::as_str);
            for (k, x) in m {
                let ours_ok = !k.contains('_') && k.chars().next().is_some_and(|c| c.is_ascii_lowercase());
                if !ours_ok && !ETCD_NAMES.contains(&k.as_str()) && op != Some(k) {
                    out.push(format!("{path}/{k}"));
                }
                if !DATA.contains(&k.as_str()) {
                    bad_names(x, &format!("{path}/{k}"), out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| bad_names(x, &format!("{path}/[]"), out)),
        _ => {}
    }
}

fn json_of(args: &[&str]) -> Vec<Value> {
    let out = Command::new(bin()).args(args).output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    match serde_json::from_str(&text) {
        Ok(v) => vec![v],
        Err(_) => text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {l}"))).collect(),
    }
}

#[test]
fn every_json_field_follows_the_naming_convention() {
    let p = |s: &str| repo().join(s).display().to_string();
    let out = tempfile::tempdir().unwrap();
    let rebuilt = out.path().join("rebuilt").display().to_string();
    let runs: Vec<Vec<String>> = [
        vec!["wal", &p("testdata/wal-3.5.1"), "-o", "jsonl"],
        vec!["wal", &p("testdata/wal-3.4.23"), "-o", "json"],
        vec!["status", &p("testdata/etcd-3.5.1/snapshot.db"), "-o", "json"],
        vec!["status", &p("testdata/wal-3.5.1"), "-o", "json"],
        vec!["compare", &p("testdata/wal-3.5.1"), &p("testdata/wal-3.4.23"), "--allow-different-clusters", "-o", "json"],
        vec!["compare", &p("testdata/diff-3.5.1/old.db"), &p("testdata/diff-3.5.1/new.db"), "-o", "json"],
        vec![
            "rebuild",
            &p("testdata/wal-3.5.1/member/snap/db"),
            "--skip-hash-check",
            "--wal",
            &p("testdata/wal-3.5.1"),
            "--out",
            &rebuilt,
            "--dry-run",
            "-o",
            "json",
        ],
        vec!["rebuild", &p("testdata/etcd-3.5.1/snapshot.db"), "--out", &rebuilt, "-o", "json"],
    ]
    .into_iter()
    .map(|a| a.into_iter().map(String::from).collect())
    .collect();
    let mut bad = Vec::new();
    for args in &runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        for v in json_of(&args) {
            bad_names(&v, args[0], &mut bad);
        }
    }
    bad.sort();
    bad.dedup();
    assert!(bad.is_empty(), "fields neither etcd's nor lowerCamelCase: {bad:?}");

    // etcd's names where etcd has the field.
    let status = &json_of(&["status", &p("testdata/etcd-3.5.1/snapshot.db"), "-o", "json"])[0];
    assert!(status["cluster_id"].is_string(), "{status}");
    let compare = &json_of(&["compare", &p("testdata/diff-3.5.1/old.db"), &p("testdata/diff-3.5.1/new.db"), "-o", "json"])[0];
    assert!(compare["members"][0]["cluster_id"].is_string(), "{compare}");
    let compare = &json_of(&["compare", &p("testdata/wal-3.5.1"), &p("testdata/wal-3.4.23"), "--allow-different-clusters", "-o", "json"])[0];
    assert!(compare["members"][0]["member_id"].is_string(), "{compare}");
    let rebuild =
        &json_of(&["rebuild", &p("testdata/etcd-3.5.1/snapshot.db"), "--out", &out.path().join("dry").display().to_string(), "--dry-run", "-o", "json"])[0];
    let plan = &rebuild["plan"];
    assert!(plan["cluster_id"].is_string() && plan["member_id"].is_string() && plan["members"][0]["peerURLs"].is_array(), "{rebuild}");
    assert!(rebuild["startCommand"].is_array(), "{rebuild}");
}
