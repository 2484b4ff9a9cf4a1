//! One JSON naming convention (docs/architecture.md): a field etcd's tools or protobuf messages
//! have keeps etcd's name (`cluster_id`, `member_id`, `peerURLs`, `range_end`, …); every other
//! field is ours and lowerCamelCase. Checked on every key of `wal`, `status`, `compare` and
//! `rebuild` output (replay's, which needs a live member, in tests/replay.rs and the view's
//! unit test). Values that are data, not our fields, are not walked: a Kubernetes object, etcd's
//! member JSON in a conf change, maps keyed by class or kind.
//!
//! And one way to write a key (docs/architecture.md, "Keys, objects and two sides in JSON"):
//! wherever `wal`, `diff` and `history` write `key` (or `range_end`) it is base64 of the exact
//! bytes with their text beside it (`keyText`, `rangeEndText`); a `valueText` is the text of the
//! base64 `value` beside it. `replay`'s lines need a live member: the view's unit test and
//! tests/replay.rs check them.

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

/// etcd's key-like bytes fields, and the text each has beside it.
const KEY_FIELDS: &[(&str, &str)] = &[("key", "keyText"), ("range_end", "rangeEndText")];

/// Checks every key-like field under `v` (data left out, as [`bad_names`] does): base64 of
/// bytes whose text (lossy where not UTF-8) is the text beside it; and a `valueText` is the text
/// of the base64 `value` beside it. etcdctl's KeyValue (`kv`) writes `key` alone, as etcdctl
/// does. Returns how many keys were checked.
fn bad_keys(v: &Value, path: &str, out: &mut Vec<String>) -> usize {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut checked = 0;
    match v {
        Value::Object(m) => {
            for (name, text_name) in KEY_FIELDS {
                let Some(key) = m.get(*name) else { continue };
                checked += 1;
                let Some(bytes) = key.as_str().and_then(|k| b64.decode(k).ok()) else {
                    out.push(format!("{path}/{name} is not base64: {key}"));
                    continue;
                };
                match m.get(*text_name) {
                    Some(text) if text.as_str() == Some(&*String::from_utf8_lossy(&bytes)) => {}
                    None if path.ends_with("/kv") && *name == "key" => {}
                    other => out.push(format!("{path}/{text_name} is {other:?}, not the text of {name} {key}")),
                }
            }
            if let Some(text) = m.get("valueText") {
                let value = m.get("value").and_then(Value::as_str).and_then(|b| b64.decode(b).ok());
                if value.as_deref() != text.as_str().map(str::as_bytes) {
                    out.push(format!("{path}/valueText is {text}, not the text of value {:?}", m.get("value")));
                }
            }
            for (k, x) in m {
                if !DATA.contains(&k.as_str()) {
                    checked += bad_keys(x, &format!("{path}/{k}"), out);
                }
            }
        }
        Value::Array(a) => checked += a.iter().map(|x| bad_keys(x, &format!("{path}/[]"), out)).sum::<usize>(),
        _ => {}
    }
    checked
}

#[test]
fn every_key_is_base64_with_its_text_beside_it() {
    let p = |s: &str| repo().join(s).display().to_string();
    let (old, new) = (p("testdata/diff-3.5.1/old.db"), p("testdata/diff-3.5.1/new.db"));
    let (wal_35, wal_34) = (p("testdata/wal-3.5.1"), p("testdata/wal-3.4.23"));
    let runs: Vec<Vec<&str>> = vec![
        vec!["wal", &wal_35, "-o", "jsonl"],
        vec!["wal", &wal_34, "-o", "json"],
        vec!["diff", &old, &new, "-o", "json"],
        vec!["diff", &old, &new, "deploy", "-n", "team-a", "-o", "json"],
        vec!["history", &new, "", "--prefix", "-o", "jsonl"],
        vec!["history", &new, "deploy/web", "-n", "team-a", "-o", "json"],
    ];
    let mut bad = Vec::new();
    for args in &runs {
        let checked: usize = json_of(args).iter().map(|v| bad_keys(v, &args.join(" "), &mut bad)).sum();
        assert!(checked > 0, "{args:?} wrote no key to check");
    }
    assert!(bad.is_empty(), "keys not written as etcdctl writes them with their text beside them:\n{}", bad.join("\n"));
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
