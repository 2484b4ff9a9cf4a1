//! What users reach for (issue 18): `diff` and `compare` refuse inputs of different clusters
//! unless told, and `diff` warns when OLD is newer than NEW; `history` tells a key that never
//! existed from one compacted away; `get`/`history` default to namespace `default`; AGE is
//! measured from one clock for the whole snapshot. Cluster IDs are checked against what etcdctl
//! reported for the same members (recorded in testdata).

mod common;

use common::*;
use serde_json::Value;

fn path(rel: &str) -> String {
    repo().join(rel).display().to_string()
}

fn read_json(rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(repo().join(rel)).unwrap()).unwrap()
}

/// The cluster ID etcdctl reported for a recorded member, in etcdctl's hex.
fn etcdctl_cluster_id(status: &Value) -> String {
    format!("{:x}", status[0]["Status"]["header"]["cluster_id"].as_u64().unwrap())
}

fn wal_cluster_id(version: &str) -> String {
    etcdctl_cluster_id(&read_json(&format!("testdata/wal-{version}/ground.json"))["status"])
}

#[test]
fn diff_refuses_different_clusters_unless_allowed() {
    let (a, b) = (path("testdata/wal-3.5.1"), path("testdata/wal-3.4.23"));
    let (id_a, id_b) = (wal_cluster_id("3.5.1"), wal_cluster_id("3.4.23"));
    assert_ne!(id_a, id_b, "the recorded members are of two clusters");
    let (code, stdout, stderr) = out(&["diff", &a, &b]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains(&id_a) && stderr.contains(&id_b) && stderr.contains("--allow-different-clusters"), "{stderr}");

    let (code, table, stderr) = out(&["diff", &a, &b, "--allow-different-clusters"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("different clusters"), "{stderr}");
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("OLD") && lines[0].contains(&format!("cluster {id_a}")), "{table}");
    assert!(lines[1].starts_with("NEW") && lines[1].contains(&format!("cluster {id_b}")), "{table}");

    let (code, json, _) = out(&["diff", &a, &b, "--allow-different-clusters", "-o", "json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["old"]["cluster_id"], id_a.as_str());
    assert_eq!(v["new"]["cluster_id"], id_b.as_str());
    let warnings: Vec<&str> = v["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert!(warnings.iter().any(|w| w.contains("different clusters") && w.contains(&id_a) && w.contains(&id_b)), "{warnings:?}");
}

#[test]
fn diff_of_one_cluster_shows_its_id_and_no_warning() {
    let (old, new) = (path("testdata/diff-3.5.1/old.db"), path("testdata/diff-3.5.1/new.db"));
    let id = etcdctl_cluster_id(&read_json("testdata/diff-3.5.1/expected/endpoint-status-old.json"));
    assert_eq!(id, etcdctl_cluster_id(&read_json("testdata/diff-3.5.1/expected/endpoint-status-new.json")));
    let (code, json, stderr) = out(&["diff", &old, &new, "-o", "json"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["old"]["cluster_id"], id.as_str());
    assert_eq!(v["new"]["cluster_id"], id.as_str());
    assert_eq!(v["warnings"], serde_json::json!([]));
}

#[test]
fn diff_warns_when_old_is_newer_than_new() {
    let (old, new) = (path("testdata/diff-3.5.1/old.db"), path("testdata/diff-3.5.1/new.db"));
    // Revisions as etcdctl reported them: OLD 38, NEW 63; swapped, OLD is the newer.
    let rev = |f: &str| read_json(&format!("testdata/diff-3.5.1/expected/endpoint-status-{f}.json"))[0]["Status"]["header"]["revision"].as_i64().unwrap();
    let (r_old, r_new) = (rev("old"), rev("new"));
    assert!(r_old < r_new);
    let (code, table, stderr) = out(&["diff", &new, &old]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!table.is_empty());
    let warning = stderr.lines().find(|l| l.contains("swapped")).unwrap_or_else(|| panic!("no swapped-arguments warning:\n{stderr}"));
    assert!(warning.contains(&r_new.to_string()) && warning.contains(&r_old.to_string()), "{warning}");
    let (_, json, _) = out(&["diff", &new, &old, "-o", "json"]);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert!(v["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("swapped")), "{}", v["warnings"]);
    // In the right order there is no such warning, and the rewind hazard's advice names our own
    // rebuild before any etcdutl flag.
    let (_, table, stderr) = out(&["diff", &old, &new]);
    assert!(!stderr.contains("swapped"), "{stderr}");
    let hazard = table.lines().find(|l| l.contains("revision goes back")).unwrap();
    let ours = hazard.find(&format!("etcdscope rebuild {old} --out")).unwrap_or_else(|| panic!("{hazard}"));
    let flags = hazard[ours..].find("--bump-revision N --mark-compacted").unwrap_or_else(|| panic!("{hazard}"));
    assert!(!hazard[ours..ours + flags].contains('`'), "one command: {hazard}");
    if let Some(etcdutl) = hazard.find("etcdutl") {
        assert!(ours < etcdutl, "{hazard}");
    }
}

#[test]
fn compare_refuses_different_clusters_unless_allowed() {
    let (a, b) = (path("testdata/wal-3.5.1"), path("testdata/wal-3.4.23"));
    let (id_a, id_b) = (wal_cluster_id("3.5.1"), wal_cluster_id("3.4.23"));
    let (code, stdout, stderr) = out(&["compare", &a, &b]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains(&id_a) && stderr.contains(&id_b) && stderr.contains("--allow-different-clusters"), "{stderr}");
    let (code, json, stderr) = out(&["compare", &a, &b, "--allow-different-clusters", "-o", "json"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("different clusters"), "{stderr}");
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["members"][0]["cluster_id"], id_a.as_str());
    assert_eq!(v["members"][1]["cluster_id"], id_b.as_str());
    assert!(v["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("different clusters")), "{}", v["warnings"]);
    // One cluster: no refusal.
    let (code, _, stderr) = out(&["compare", &path("testdata/diff-3.5.1/old.db"), &path("testdata/diff-3.5.1/new.db")]);
    assert_eq!(code, 0, "{stderr}");
}

/// The revisions of one key as the recorded writes made them (etcdctl's own revisions).
fn written_revisions(key: &str) -> Vec<i64> {
    let w = read_json("testdata/etcd-3.5.1/writes.json");
    w["writes"].as_array().unwrap().iter().filter(|x| x["key"] == key).map(|x| x["rev"].as_i64().unwrap()).collect()
}

fn marks() -> Value {
    read_json("testdata/etcd-3.5.1/writes.json")["marks"].clone()
}

#[test]
fn history_of_a_key_never_seen_names_the_revisions_searched_and_a_near_key() {
    let snap = path("testdata/etcd-3.5.1/snapshot.db");
    let (compact, last) = (marks()["compact_rev"].as_i64().unwrap(), marks()["final_rev"].as_i64().unwrap());
    assert!(written_revisions("/hist/updatd").is_empty() && !written_revisions("/hist/updated").is_empty());
    let (code, stdout, stderr) = out(&["history", &snap, "/hist/updatd"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert!(!stderr.contains("revisions 0 "), "{stderr}");
    assert!(stderr.contains(&format!("revisions {compact} to {last}")), "the revisions searched: {stderr}");
    assert!(stderr.contains(&format!("compacted at {compact}")) && stderr.contains("deleted at or before"), "compacted away or never existed: {stderr}");
    assert!(stderr.contains("did you mean /hist/updated?"), "{stderr}");
}

#[test]
fn history_of_a_key_outside_the_range_says_where_its_revisions_are() {
    let snap = path("testdata/etcd-3.5.1/snapshot.db");
    let compact = marks()["compact_rev"].as_i64().unwrap();
    let revs = written_revisions("/hist/updated");
    let newest = *revs.iter().max().unwrap();
    // etcd keeps the key's state at the compaction: its newest put at or before it.
    let kept = *revs.iter().filter(|r| **r <= compact).max().unwrap();
    let from = (newest + 1).to_string();
    let (code, _, stderr) = out(&["history", &snap, "/hist/updated", "--from-rev", &from]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains(&format!("retained revisions are {kept} to {newest}")), "{stderr}");
    assert!(!stderr.contains("deleted at or before"), "{stderr}");
}

#[test]
fn history_of_an_object_never_seen_suggests_a_near_name() {
    let db = path("testdata/diff-3.5.1/new.db");
    let (code, json, _) = out(&["get", &db, "pods", "-n", "team-a", "-o", "json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&json).unwrap();
    let names: Vec<&str> = v["items"].as_array().unwrap().iter().map(|p| p["metadata"]["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"web-5d4f-x2") && !names.contains(&"web-5d4f-x3"), "{names:?}");
    let (code, _, stderr) = out(&["history", &db, "pod/web-5d4f-x3", "-n", "team-a"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("did you mean pod/web-5d4f-x"), "{stderr}");
    // A type with nothing in the namespace asked says where its objects are.
    let (code, _, stderr) = out(&["history", &db, "pods"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("namespace default") && stderr.contains("team-a"), "{stderr}");
}

/// The pods of the recorded snapshot, by namespace, as `get -A -o json` lists them.
fn pod_namespaces(db: &str) -> Vec<String> {
    let (code, json, _) = out(&["get", db, "pods", "-A", "-o", "json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&json).unwrap();
    let mut ns: Vec<String> = v["items"].as_array().unwrap().iter().map(|p| p["metadata"]["namespace"].as_str().unwrap().to_string()).collect();
    ns.sort();
    ns.dedup();
    ns
}

#[test]
fn get_and_history_default_to_the_default_namespace_and_say_which_they_covered() {
    let db = path("testdata/diff-3.5.1/new.db");
    assert_eq!(pod_namespaces(&db), ["team-a"], "the fixture's pods are all in team-a");
    // get: kubectl's default namespace, kubectl's message.
    let (code, table, stderr) = out(&["get", &db, "pods"]);
    assert_eq!((code, table.as_str()), (0, ""));
    assert_eq!(stderr.trim(), "No resources found in default namespace.");
    // history TYPE: the same default; -n and -A as kubectl; each says what it covered.
    for (args, covered, events) in [(vec![], "default", false), (vec!["-n", "team-a"], "team-a", true), (vec!["-A"], "all", true)] {
        let mut cmd = vec!["history", db.as_str(), "pods", "-o", "json"];
        cmd.extend(&args);
        let (code, json, stderr) = out(&cmd);
        assert_eq!(code, 0, "{stderr}");
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["namespaces"], covered, "{args:?}");
        assert_eq!(!v["events"].as_array().unwrap().is_empty(), events, "{args:?}");
        let mut cmd = vec!["history", db.as_str(), "pods"];
        cmd.extend(&args);
        let (_, _, stderr) = out(&cmd);
        let said = if covered == "all" { "all namespaces".to_string() } else { format!("namespace {covered}") };
        assert!(stderr.contains(&said), "{args:?}: {stderr}");
    }
    // Cluster-scoped objects have no namespace to state.
    let (_, json, _) = out(&["history", &db, "nodes", "-o", "json"]);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["namespaces"], Value::Null);
}

#[test]
fn diff_covers_all_namespaces_and_says_so() {
    let (old, new) = (path("testdata/diff-3.5.1/old.db"), path("testdata/diff-3.5.1/new.db"));
    let (_, json, _) = out(&["diff", &old, &new, "-o", "json"]);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["namespaces"], "all");
    let (_, table, _) = out(&["diff", &old, &new]);
    assert!(table.lines().any(|l| l.starts_with("NAMESPACES") && l.contains("all")), "{table}");
    let (_, json, _) = out(&["diff", &old, &new, "pods", "-n", "team-a", "-o", "json"]);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["namespaces"], "team-a");
}

/// The newest timestamp evidence among every object of a snapshot, from `get --all-objects`:
/// creation times, managedFields times, Lease renew/acquire times, Event times. (Not
/// deletionTimestamp: graceful deletion sets it in the future.)
fn newest_evidence(db: &str) -> (i64, String) {
    let (code, jsonl, _) = out(&["get", db, "--all-objects", "-o", "jsonl"]);
    assert_eq!(code, 0);
    let mut newest = (i64::MIN, String::new());
    for line in jsonl.lines() {
        let o: Value = serde_json::from_str(line).unwrap();
        let mut times: Vec<&str> = Vec::new();
        for p in ["/metadata/creationTimestamp", "/spec/renewTime", "/spec/acquireTime", "/lastTimestamp", "/eventTime", "/series/lastObservedTime"] {
            times.extend(o.pointer(p).and_then(Value::as_str));
        }
        for m in o.pointer("/metadata/managedFields").and_then(Value::as_array).into_iter().flatten() {
            times.extend(m["time"].as_str());
        }
        for t in times {
            let secs = chrono_free_seconds(t);
            if secs > newest.0 {
                newest = (secs, t.to_string());
            }
        }
    }
    newest
}

/// Seconds of `YYYY-MM-DDTHH:MM:SS[.frac]Z` (the fixtures' times are all UTC).
fn chrono_free_seconds(t: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| t[r].parse::<i64>().unwrap();
    let (y, mo, d) = (n(0..4), n(5..7), n(8..10));
    // Days from 1970-01-01 (Howard Hinnant's civil-from-days inverse).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
}

fn age_of(table: &str, name: &str) -> String {
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    let at = header.iter().position(|h| *h == "AGE").unwrap();
    let row = table.lines().find(|l| l.split_whitespace().next() == Some(name)).unwrap_or_else(|| panic!("{name} not in\n{table}"));
    row.split_whitespace().nth(at).unwrap().to_string()
}

#[test]
fn age_is_measured_from_the_snapshots_clock_whatever_is_listed() {
    let db = path("testdata/diff-3.5.1/new.db");
    let (clock, clock_text) = newest_evidence(&db);
    let (code, pods, stderr) = out(&["get", &db, "pods", "-n", "team-a"]);
    assert_eq!(code, 0, "{stderr}");
    // The pod alone, among its kind, and in a longer list of several types: one age.
    let (_, alone, _) = out(&["get", &db, "pods", "-n", "team-a", "--field-selector", "metadata.name=stray-p"]);
    assert_eq!(age_of(&pods, "stray-p"), age_of(&alone, "stray-p"));
    let (_, cms, _) = out(&["get", &db, "configmaps", "-n", "team-a"]);
    // The pod was created a day before the newest evidence: kubectl prints 86,400 s as 24h.
    let (_, pod_json, _) = out(&["get", &db, "pod", "stray-p", "-n", "team-a", "-o", "json"]);
    let created = chrono_free_seconds(serde_json::from_str::<Value>(&pod_json).unwrap()["metadata"]["creationTimestamp"].as_str().unwrap());
    assert_eq!(clock - created, 86_400, "the fixture's newest evidence is {clock_text}");
    assert_eq!(age_of(&alone, "stray-p"), "24h");
    assert_eq!(age_of(&cms, "settings"), "24h");
    // The reference is said once, on stderr (the table stays kubectl's).
    let said: Vec<&str> = stderr.lines().filter(|l| l.contains("AGE")).collect();
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(said[0].contains(&clock_text), "{stderr}");
    assert!(!pods.contains(&clock_text));
    // --now still overrides.
    let (_, table, _) = out(&["get", &db, "pods", "-n", "team-a", "--now", "2025-01-01T00:05:00Z"]);
    assert_eq!(age_of(&table, "stray-p"), "5m");
    // Objects as the API server shows them: nothing added to -o json.
    assert!(!pod_json.contains(&clock_text) || clock_text.is_empty());
}

#[test]
fn the_snapshot_clock_is_a_library_function() {
    use etcdscope::k8s::decoder::Decoder;
    use etcdscope::snapshot::Snapshot;
    use etcdscope::source::Source;
    let db = path("testdata/diff-3.5.1/new.db");
    let (clock, _) = newest_evidence(&db);
    let source = Source::open(std::path::Path::new(&db)).unwrap();
    let snap = Snapshot::open(&source).unwrap();
    let decoder = Decoder {
        schemas: etcdscope::k8s::schema::Schemas::embedded().unwrap(),
        options: Default::default(),
        encryption: None,
        etcd_prefix: "/registry".into(),
    };
    let found = etcdscope::views::clock::snapshot_time(&snap, &decoder, "/registry", &etcdscope::cancel::Cancel::new()).unwrap().expect("evidence");
    assert_eq!(found.seconds, clock);
}
