//! `diff` and `history` against what real etcd says of the same data. scripts/make_diff_data.py
//! drives etcd 3.5.1 and 3.4.23: snapshot OLD, then creates, updates (some with identical
//! bytes), deletes, delete-and-recreate, a revoked lease, Kubernetes objects; snapshot NEW. Its
//! ground truth comes from etcd's tools only: `etcdctl get "" --prefix -w json` on members
//! started from etcd's own restore of each snapshot, `etcdctl watch -w json` from the
//! compaction revision and from OLD, lease lists, and the objects' uids, owners and nodes
//! decoded by the script's own wire reader from the restored members' answers.
//!
//! The classes are computed here from the two restored keyspaces, independently of our reader.
//! Recorded pairs (testdata/diff-*) are checked always; the live test makes fresh ones (and
//! fails when etcd is missing and ETCDSCOPE_REQUIRE_ETCD=1).

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

fn load(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// key (base64) → the KeyValue etcdctl printed.
fn keyspace(get: &Value) -> BTreeMap<String, Value> {
    get["kvs"].as_array().map(|kvs| kvs.iter().map(|kv| (kv["key"].as_str().unwrap().to_string(), kv.clone())).collect()).unwrap_or_default()
}

fn etcdscope(args: &[&OsStr]) -> (Option<i32>, Vec<u8>, String) {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "etcdscope {args:?} panicked: {stderr}");
    (out.status.code(), out.stdout, stderr)
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// Flattens `etcdctl watch -w json` output (one WatchResponse a line) into (type, kv) events.
fn watch_events(path: &Path) -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut events = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let resp: Value = serde_json::from_str(line).unwrap();
        for e in resp["Events"].as_array().unwrap() {
            let kind = if e.get("type").and_then(Value::as_i64) == Some(1) { "DELETE" } else { "PUT" };
            events.push((kind.to_string(), e["kv"].clone()));
        }
    }
    events
}

fn history_events(snapshot: &Path, from: i64) -> Vec<(String, Value)> {
    let from = from.to_string();
    // etcd's watch sends a Secret's stored bytes as they are: compare with --show-secrets.
    let (code, out, err) =
        etcdscope(&[os("history"), snapshot.as_os_str(), os(""), os("--prefix"), os("--from-rev"), os(&from), os("-o"), os("jsonl"), os("--show-secrets")]);
    assert_eq!(code, Some(0), "history --from-rev {from}: {err}");
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| (v["type"].as_str().unwrap().to_string(), v["kv"].clone()))
        .collect()
}

fn check_pair(dir: &Path) {
    let meta = load(&dir.join("meta.json"));
    let label = dir.display().to_string();
    let (old_db, new_db) = (dir.join("old.db"), dir.join("new.db"));
    let old = keyspace(&load(&dir.join("expected/restored-old.json")));
    let new = keyspace(&load(&dir.join("expected/restored-new.json")));
    let want = common::restore_classes(&old, &new);
    assert!(want.values().collect::<BTreeSet<_>>().len() == 5, "{label}: the scenario must exercise every class");

    // diff OLD NEW: every key in its class, each side with etcd's create and mod revisions,
    // version and lease under etcdctl's names (`key` base64 as etcdctl writes it, its text beside it).
    let (code, out, err) = etcdscope(&[os("diff"), old_db.as_os_str(), new_db.as_os_str(), os("-o"), os("json")]);
    assert_eq!(code, Some(0), "{label}: diff: {err}");
    let ours: Value = serde_json::from_slice(&out).unwrap();
    let mut got: BTreeMap<String, &'static str> = BTreeMap::new();
    for class in ["lost", "reappear", "revert", "rewritten"] {
        for e in ours[class].as_array().unwrap() {
            let key = e["key"].as_str().unwrap().to_string();
            assert_eq!(e["keyText"].as_str().unwrap(), String::from_utf8_lossy(&B64.decode(&key).unwrap()), "{label}: key text");
            for (side, theirs) in [("old", &old), ("new", &new)] {
                match theirs.get(&key) {
                    None => assert_eq!(e[side], Value::Null, "{label}: {key}: {side} has no such key"),
                    Some(kv) => {
                        for field in ["create_revision", "mod_revision", "version", "lease"] {
                            // etcdctl writes int64s as numbers and leaves zero fields out.
                            let want = kv.get(field).and_then(Value::as_i64).unwrap_or(0);
                            assert_eq!(e[side][field].as_i64(), Some(want), "{label}: {key}: {side}'s {field}");
                        }
                        let size = kv.get("value").map_or(0, |v| B64.decode(v.as_str().unwrap()).unwrap().len());
                        assert_eq!(e[side]["valueSize"].as_u64(), Some(size as u64), "{label}: {key}: {side}'s valueSize");
                    }
                }
            }
            assert!(got.insert(key, class).is_none(), "{label}: a key listed twice");
        }
    }
    let unchanged: u64 = ours["summary"].as_object().unwrap().values().map(|c| c["unchanged"].as_u64().unwrap()).sum();
    let want_listed: BTreeMap<String, &'static str> = want.iter().filter(|(_, c)| **c != "unchanged").map(|(k, c)| (k.clone(), *c)).collect();
    assert_eq!(got, want_listed, "{label}: classes differ from those of etcd's restored members");
    assert_eq!(unchanged as usize, want.values().filter(|c| **c == "unchanged").count(), "{label}: unchanged count");
    assert_eq!(ours["old"]["revision"], meta["marks"]["old_rev"], "{label}");
    assert_eq!(ours["new"]["revision"], meta["marks"]["new_rev"], "{label}");

    // Kubernetes reverts: the parts that changed, as the script decoded them from etcd's answers.
    for s in meta["scenario"].as_array().unwrap().iter().filter(|s| s.get("changed").is_some()) {
        let e = ours["revert"].as_array().unwrap().iter().find(|e| e["key"] == s["key_b64"]).unwrap_or_else(|| panic!("{label}: {} not a revert", s["key"]));
        assert_eq!(e["parts"], s["changed"], "{label}: {} changed parts", s["key"]);
        assert!(!e["changes"].as_array().unwrap().is_empty());
    }

    // Hazards, against what the script found in the restored members' data.
    let h = &meta["hazards"];
    let orphans: BTreeSet<(String, String, bool)> = ours["hazards"]["orphans"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|o| {
            o["dependents"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |d| (d["keyText"].as_str().unwrap().into(), o["owner"]["uid"].as_str().unwrap().into(), o["ownerInNew"].as_bool().unwrap()))
        })
        .collect();
    let want_orphans: BTreeSet<(String, String, bool)> = h["orphans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["key"].as_str().unwrap().into(), o["owner_uid"].as_str().unwrap().into(), o["owner_in_new"].as_bool().unwrap()))
        .collect();
    assert_eq!(orphans, want_orphans, "{label}: orphans");
    let pods: BTreeSet<(String, String, bool)> = ours["hazards"]["podsOnMissingNodes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| {
            n["pods"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |p| (p["keyText"].as_str().unwrap().into(), n["node"].as_str().unwrap().into(), n["nodeInNew"].as_bool().unwrap()))
        })
        .collect();
    let want_pods: BTreeSet<(String, String, bool)> = h["pods_on_missing_nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["key"].as_str().unwrap().into(), p["node"].as_str().unwrap().into(), p["node_in_new"].as_bool().unwrap()))
        .collect();
    assert_eq!(pods, want_pods, "{label}: pods on missing nodes");
    let leases: Vec<(String, i64, Vec<String>)> = ours["hazards"]["leasesBack"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["id"].as_str().unwrap().into(),
                l["ttl"].as_i64().unwrap(),
                l["keys"].as_array().unwrap().iter().map(|k| k["keyText"].as_str().unwrap().into()).collect(),
            )
        })
        .collect();
    let want_leases: Vec<(String, i64, Vec<String>)> = h["leases_gone"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                format!("{:016x}", l["id"].as_u64().unwrap()),
                l["ttl"].as_i64().unwrap(),
                l["keys"].as_array().unwrap().iter().map(|k| k.as_str().unwrap().into()).collect(),
            )
        })
        .collect();
    assert_eq!(leases, want_leases, "{label}: leases that come back");
    let rewind = h["revision"]["new"].as_i64().unwrap() - h["revision"]["old"].as_i64().unwrap();
    assert_eq!(ours["hazards"]["revisionRewind"], rewind, "{label}: revision rewind");

    // One input at two revisions: NEW read at OLD's revision is OLD's keyspace (etcd's own read
    // of the restored OLD says what that is), so the diff is the same.
    let old_rev = meta["marks"]["old_rev"].to_string();
    let (code, out, err) = etcdscope(&[os("kv"), os("get"), new_db.as_os_str(), os(""), os("--prefix"), os("--rev"), os(&old_rev), os("-o"), os("json")]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(keyspace(&serde_json::from_slice(&out).unwrap()), old, "{label}: NEW at OLD's revision is OLD's keyspace");
    let (code, out, err) = etcdscope(&[os("diff"), new_db.as_os_str(), new_db.as_os_str(), os("--rev-old"), os(&old_rev), os("-o"), os("json")]);
    assert_eq!(code, Some(0), "{err}");
    let same: Value = serde_json::from_slice(&out).unwrap();
    for class in ["lost", "reappear", "revert", "rewritten", "summary"] {
        assert_eq!(same[class], ours[class], "{label}: diff of one input at two revisions, {class}");
    }

    // --fail-on: a gate.
    let gate = |old: &Path, new: &Path, classes: &str| etcdscope(&[os("diff"), old.as_os_str(), new.as_os_str(), os("--fail-on"), os(classes)]).0;
    assert_eq!(gate(&old_db, &new_db, "lost"), Some(1), "{label}");
    assert_eq!(gate(&old_db, &new_db, "hazard"), Some(1), "{label}");
    assert_eq!(gate(&old_db, &old_db, "lost,reappear,revert,rewritten"), Some(0), "{label}: a snapshot against itself");
    assert_eq!(gate(&old_db, &new_db, "bogus"), Some(2), "{label}");
    // TYPE and namespace filters.
    let (code, out, _) = etcdscope(&[os("diff"), old_db.as_os_str(), new_db.as_os_str(), os("deploy"), os("-n"), os("team-a"), os("-o"), os("json")]);
    assert_eq!(code, Some(0));
    let filtered: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(filtered["summary"].as_object().unwrap().keys().collect::<Vec<_>>(), ["deployments.apps"], "{label}: only deployments");
    assert_eq!(filtered["summary"]["deployments.apps"], ours["summary"]["deployments.apps"]);

    // history replays what etcd's watch replays, from the compaction revision and from OLD + 1.
    let c = meta["marks"]["compact_rev"].as_i64().unwrap();
    let o = meta["marks"]["old_rev"].as_i64().unwrap();
    for (from, file) in [(c, "watch-from-compact.jsonl"), (o + 1, "watch-from-old.jsonl")] {
        let theirs = watch_events(&dir.join("expected").join(file));
        let ours = history_events(&new_db, from);
        assert!(theirs.len() > 10, "{label}: {file} has events");
        assert_eq!(ours.len(), theirs.len(), "{label}: history --from-rev {from}: event count");
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(a, b, "{label}: history --from-rev {from}: event {i} differs from etcdctl watch");
        }
    }
    // A TYPE without a name: every event of the type in the namespace, as the watch saw them.
    let from_c = c.to_string();
    let (code, out, err) =
        etcdscope(&[os("history"), new_db.as_os_str(), os("pods"), os("-n"), os("team-a"), os("--from-rev"), os(&from_c), os("-o"), os("jsonl")]);
    assert_eq!(code, Some(0), "{err}");
    let ours: Vec<(String, Value)> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| (v["type"].as_str().unwrap().to_string(), v["kv"].clone()))
        .collect();
    let theirs: Vec<(String, Value)> = watch_events(&dir.join("expected/watch-from-compact.jsonl"))
        .into_iter()
        .filter(|(_, kv)| B64.decode(kv["key"].as_str().unwrap()).unwrap().starts_with(b"/registry/pods/team-a/"))
        .collect();
    assert!(theirs.len() >= 5, "{label}: pod events");
    assert_eq!(ours, theirs, "{label}: history pods -n team-a");
    // Below the compaction revision it is refused, as etcd refuses the watch.
    let below = load(&dir.join("expected/watch-below-compact.json"));
    assert_ne!(below["exit_code"], 0);
    assert!(below["stderr"].as_str().unwrap().contains("required revision has been compacted"));
    let (code, _, err) = etcdscope(&[os("history"), new_db.as_os_str(), os(""), os("--prefix"), os("--from-rev"), os(&(c - 1).to_string())]);
    assert_eq!(code, Some(2), "{label}: history below the compaction revision");
    assert!(err.contains("required revision has been compacted"), "{label}: {err}");

    // history of one object: its events, with field changes where etcd's answers differ.
    let (code, out, err) = etcdscope(&[os("history"), new_db.as_os_str(), os("deploy/web"), os("-n"), os("team-a"), os("-o"), os("json")]);
    assert_eq!(code, Some(0), "{err}");
    let web: Value = serde_json::from_slice(&out).unwrap();
    let events = web["events"].as_array().unwrap();
    assert_eq!(events.iter().map(|e| e["event"].as_str().unwrap()).collect::<Vec<_>>(), ["create", "update"], "{label}");
    assert_eq!(events[1]["changes"], serde_json::json!([{"path": "spec.replicas", "old": 1, "new": 3}]), "{label}");
    assert_eq!(events[1]["kv"]["mod_revision"], meta["marks"]["op:deployment_web_scale"], "{label}");
    assert!(events.iter().all(|e| e["object"]["metadata"].get("managedFields").is_none()), "managedFields hidden");
    // A deleted Secret: its data never shown without --show-secrets.
    let (code, out, _) = etcdscope(&[os("history"), new_db.as_os_str(), os("secret/db"), os("-n"), os("team-a"), os("-o"), os("json")]);
    assert_eq!(code, Some(0));
    let secret: Value = serde_json::from_slice(&out).unwrap();
    let events = secret["events"].as_array().unwrap();
    assert_eq!(events.iter().map(|e| e["event"].as_str().unwrap()).collect::<Vec<_>>(), ["create", "delete"]);
    for v in events[0]["object"]["data"].as_object().unwrap().values() {
        assert!(v.as_str().unwrap().starts_with("<redacted"), "{label}: {v}");
    }
    // Nor its stored bytes (in clear: the snapshot is not encrypted at rest).
    assert!(
        events[0]["kv"].get("value").is_none() && events[0]["kv"]["valueRedacted"].as_str().unwrap().starts_with("<redacted"),
        "{label}: {}",
        events[0]["kv"]
    );
    let (_, out, _) = etcdscope(&[os("history"), new_db.as_os_str(), os(""), os("--prefix"), os("-o"), os("jsonl")]);
    let secret_key = B64.encode(b"/registry/secrets/team-a/db");
    for line in String::from_utf8(out).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["kv"]["key"] == secret_key.as_str() {
            assert!(v["kv"].get("value").is_none(), "{label}: a Secret's bytes in history without --show-secrets");
        }
    }
}

fn recorded_pairs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo().join("testdata"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("diff-")))
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn recorded_pairs_match_etcd() {
    let dirs = recorded_pairs();
    assert_eq!(dirs.len(), 2, "testdata/diff-3.5.1 and testdata/diff-3.4.23");
    for dir in dirs {
        check_pair(&dir);
    }
}

/// Field names etcd's tools print (etcdctl's KeyValue and response header), which keep
/// etcdctl's snake_case (docs/architecture.md, "One JSON naming convention").
const ETCDCTL_FIELDS: [&str; 9] = ["key", "create_revision", "mod_revision", "version", "value", "lease", "cluster_id", "member_id", "revision"];

/// Every member name in `v` that is neither etcdctl's nor lowerCamelCase, with its path; the
/// decoded Kubernetes `object`, a change's `old`/`new` values and the summary's group names are
/// data, not names of ours.
fn misnamed(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (name, x) in m {
                let camel = name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && name.chars().all(|c| c.is_ascii_alphanumeric());
                if !camel && !ETCDCTL_FIELDS.contains(&name.as_str()) {
                    out.push(format!("{path}.{name}"));
                }
                let data = name == "object" || (name == "summary" && path.is_empty()) || (path.ends_with("changes[]") && (name == "old" || name == "new"));
                if !data {
                    misnamed(x, &format!("{path}.{name}"), out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| misnamed(x, &format!("{path}[]"), out)),
        _ => {}
    }
}

#[test]
fn diff_and_history_json_follow_one_naming_convention() {
    let dir = repo().join("testdata/diff-3.5.1");
    let (old_db, new_db) = (dir.join("old.db"), dir.join("new.db"));
    let mut docs = Vec::new();
    let (code, out, err) = etcdscope(&[os("diff"), old_db.as_os_str(), new_db.as_os_str(), os("--details"), os("-o"), os("json")]);
    assert_eq!(code, Some(0), "{err}");
    docs.push(("diff".to_string(), serde_json::from_slice::<Value>(&out).unwrap()));
    for target in [&["deploy/web", "-n", "team-a"][..], &["secret/db", "-n", "team-a"], &["", "--prefix"]] {
        let (code, out, err) =
            etcdscope(&[&[os("history"), new_db.as_os_str()], &target.iter().map(|t| os(t)).collect::<Vec<_>>()[..], &[os("-o"), os("json")]].concat());
        assert!(code == Some(0), "{err}");
        docs.push((format!("history {target:?}"), serde_json::from_slice::<Value>(&out).unwrap()));
    }
    for (what, doc) in &docs {
        let mut bad = Vec::new();
        misnamed(doc, "", &mut bad);
        assert!(bad.is_empty(), "{what}: fields neither etcdctl's nor lowerCamelCase: {bad:?}");
    }
    // What a convention is for: the same thing under the same name in both commands. An object
    // key's `key` (base64) and `keyText`, and the object's group, resource, kind, namespace, name.
    let (_, diff) = &docs[0];
    let web_diff = diff["revert"].as_array().unwrap().iter().find(|e| e["keyText"] == "/registry/deployments/team-a/web").expect("deploy/web reverts");
    let web_history = &docs[1].1["events"][0];
    for field in ["group", "resource", "kind", "namespace", "name"] {
        assert_eq!(web_diff[field], web_history[field], "{field}");
    }
    assert_eq!(web_diff["key"], web_history["kv"]["key"]);
    assert_eq!(web_diff["keyText"], web_history["keyText"]);
    assert_eq!((web_diff["group"].as_str(), web_diff["resource"].as_str(), web_diff["kind"].as_str()), (Some("apps"), Some("deployments"), Some("Deployment")));
}

/// `replay --from-diff` reads the keys of a class from `diff -o json`: exactly the keys etcd's
/// restored members put in that class (the ground truth `check_pair` uses), binary keys included.
#[test]
#[cfg(feature = "live")]
fn replay_reads_the_keys_of_a_class_from_diff_json() {
    let dir = repo().join("testdata/diff-3.5.1");
    let old = keyspace(&load(&dir.join("expected/restored-old.json")));
    let new = keyspace(&load(&dir.join("expected/restored-new.json")));
    let want = common::restore_classes(&old, &new);
    let (code, out, err) = etcdscope(&[os("diff"), dir.join("old.db").as_os_str(), dir.join("new.db").as_os_str(), os("-o"), os("json")]);
    assert_eq!(code, Some(0), "{err}");
    let doc: Value = serde_json::from_slice(&out).unwrap();
    for class in ["lost", "reappear", "revert", "rewritten"] {
        let got: BTreeSet<Vec<u8>> = etcdscope::views::replay::keys_from_diff(&doc, class).unwrap().into_iter().collect();
        let expected: BTreeSet<Vec<u8>> = want.iter().filter(|(_, c)| **c == class).map(|(k, _)| B64.decode(k).unwrap()).collect();
        assert!(!expected.is_empty() || class == "rewritten");
        assert_eq!(got, expected, "{class}");
    }
}

fn live(version: &str) {
    if bin_dir_or_skip(version).is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(format!("diff-{version}"));
    let status = Command::new("python3")
        .arg(repo().join("scripts/make_diff_data.py"))
        .args(["--version", version, "--random-ports", "--out"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success(), "make_diff_data.py --version {version} failed");
    check_pair(&dir);
}

#[test]
fn live_etcd_3_5_1() {
    live("3.5.1");
}

#[test]
fn live_etcd_3_4_23() {
    live("3.4.23");
}
