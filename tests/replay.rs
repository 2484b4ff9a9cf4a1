//! `replay` against a live real etcd 3.5.1 (scripts/check_replay.py drives it; everything
//! checked here is what etcd's own etcdctl answered):
//! - the keys `diff` says a restore lost are put back with NEW's exact values and revisions
//!   taken in order, nothing else in the member changes, and a second replay writes nothing;
//! - under a concurrent writer putting the same 3,000 keys, every write of the replay is a
//!   creation (version 1 in etcd's watch history): an existing key is never overwritten;
//! - over TLS with client-certificate auth, with etcdctl's --cacert/--cert/--key, and refused
//!   without a client certificate or with an unknown CA.

mod common;

use base64::Engine;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;

fn kvs_by_key(get: &Value) -> BTreeMap<String, Value> {
    get["kvs"].as_array().map(|a| a.iter().map(|kv| (kv["key"].as_str().unwrap().to_string(), kv.clone())).collect()).unwrap_or_default()
}

#[test]
fn replay_puts_back_lost_keys_and_never_overwrites() {
    if bin_dir_or_skip("3.5.1").is_none() {
        return;
    }
    let r = recording("check_replay.py", &[]);

    // 1. Lost keys: NEW's values, as etcd itself served them from a member restored from NEW.
    let restored_new: Value = serde_json::from_slice(&std::fs::read(repo().join("testdata/diff-3.5.1/expected/restored-new.json")).unwrap()).unwrap();
    let new = kvs_by_key(&restored_new);
    let (before, after) = (kvs_by_key(&r["before"]), kvs_by_key(&r["after_lost"]));
    let lines = r["lost"]["report"]["keys"].as_array().unwrap();
    assert_eq!(r["lost"]["exit_code"], 0, "{}", r["lost"]["stderr"]);
    assert_eq!(lines.len(), 8, "the diff's lost keys");
    for line in lines {
        let key = line["key_base64"].as_str().unwrap();
        assert_eq!(line["outcome"], "written", "{line}");
        assert!(!before.contains_key(key), "a lost key is absent before the replay");
        let got = &after[key];
        assert_eq!(got["value"], new[key]["value"], "{}: NEW's value", line["key"]);
        assert_eq!(got["lease"], Value::Null, "{}: the source's lease is not live, so no lease", line["key"]);
        assert_eq!(got["mod_revision"], line["revision"], "{}: the revision the replay reports", line["key"]);
        assert_eq!(got["version"], 1);
    }
    for (key, kv) in &before {
        assert_eq!(&after[key], kv, "a key the member had is untouched");
    }
    assert_eq!(after.len(), before.len() + 8);
    assert_eq!(r["lost_again"]["exit_code"], 1, "keys that exist are findings, not written");
    assert_eq!(r["lost_again"]["report"]["summary"]["written"], 0);
    assert_eq!(r["lost_again"]["report"]["summary"]["skipped"], 8);

    // 2. The race: the replay's writes are all creations.
    let race = &r["race"];
    let summary = &race["report"]["summary"];
    assert!(race["racer_done"].as_bool().unwrap());
    assert_eq!(summary["selected"], 3000);
    let written = summary["written"].as_u64().unwrap();
    assert_eq!(written + summary["skipped"].as_u64().unwrap(), 3000);
    let b64 = base64::engine::general_purpose::STANDARD;
    let events = race["events"].as_array().unwrap();
    let ours: Vec<&Value> = events
        .iter()
        .filter(|e| !b64.decode(e["kv"]["value"].as_str().unwrap_or("")).unwrap().starts_with(b"racer-"))
        .collect();
    assert_eq!(events.len() as u64, 3000 + written, "every put of both writers is in etcd's history");
    assert_eq!(ours.len() as u64, written, "the replay's writes in etcd's history");
    for e in &ours {
        assert_eq!(e["kv"]["version"], 1, "the replay overwrote a live key: {e}");
        assert_eq!(e["kv"]["create_revision"], e["kv"]["mod_revision"]);
    }
    assert!(written > 0 && written < 3000, "the race interleaved (written {written}); if not, the check proves less");
    for line in race["report"]["keys"].as_array().unwrap().iter().filter(|l| l["outcome"] == "skipped") {
        let reason = line["reason"].as_str().unwrap();
        assert!(reason.contains("exists in the live cluster") || reason.contains("created in the live cluster after it was planned"), "{reason}");
    }

    // 3. TLS.
    assert_eq!(r["tls"]["report"]["summary"]["selected"], 6, "{}", r["tls"]["stderr"]);
    assert!(r["tls"]["report"]["summary"]["endpoint"].as_str().unwrap().starts_with("https://"));
    assert_eq!(r["tls_no_client_cert"]["exit_code"], 2);
    assert_eq!(r["tls_unknown_ca"]["exit_code"], 2);
}
