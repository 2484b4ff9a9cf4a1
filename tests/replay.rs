//! `replay` against a live real etcd 3.5.1 (scripts/check_replay.py drives it; everything
//! checked here is what etcd's own etcdctl answered):
//! - the keys `diff` says a restore lost are put back with NEW's exact values and revisions
//!   taken in order, nothing else in the member changes, and a second replay writes nothing;
//! - under a concurrent writer putting the same 3,000 keys, every write of the replay is a
//!   creation (version 1 in etcd's watch history): an existing key is never overwritten;
//! - over TLS with client-certificate auth, with etcdctl's --cacert/--cert/--key, and refused
//!   without a client certificate or with an unknown CA; like etcdctl, a --cacert is the only CA
//!   trusted: a server the system roots trust is refused when another CA is given;
//! - `-o json` streams one line per key as it is written: when etcd refuses a later write, every
//!   key already written is in the stream, with the revision etcd gave it; when stdout is closed,
//!   the replay stops right after the write whose line could not be printed (and names it);
//! - `--overwrite-if-unchanged` under a writer that keeps changing the keys the replay is about to
//!   write: in etcd's watch history, no key the replay overwrote changed between the read it
//!   planned with and its write, every key skipped did change, and every key nobody else touched
//!   was overwritten.

mod common;

use base64::Engine;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;

fn kvs_by_key(get: &Value) -> BTreeMap<String, Value> {
    get["kvs"].as_array().map(|a| a.iter().map(|kv| (kv["key"].as_str().unwrap().to_string(), kv.clone())).collect()).unwrap_or_default()
}

/// `replay -o json` output (JSON Lines: one object per key, then `{"summary": …}`) as
/// `{"summary": …, "keys": […]}`; the summary is null when the replay stopped before it.
fn report(stdout: &Value) -> Value {
    let text = stdout.as_str().expect("recorded stdout");
    let mut keys = Vec::new();
    let mut summary = Value::Null;
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}"));
        match v.get("summary") {
            Some(s) => summary = s.clone(),
            None => keys.push(v),
        }
    }
    serde_json::json!({"summary": summary, "keys": keys})
}

fn b64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap_or("")).unwrap()
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
    let lost = report(&r["lost"]["stdout"]);
    let lines = lost["keys"].as_array().unwrap();
    assert_eq!(r["lost"]["exit_code"], 0, "{}", r["lost"]["stderr"]);
    assert_eq!(lines.len(), 8, "the diff's lost keys");
    for line in lines {
        let key = line["key"].as_str().unwrap();
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
    let again = report(&r["lost_again"]["stdout"]);
    assert_eq!(again["summary"]["written"], 0);
    assert_eq!(again["summary"]["skipped"], 8);

    // 2. The race: the replay's writes are all creations.
    let race = &r["race"];
    let race_report = report(&race["stdout"]);
    let summary = &race_report["summary"];
    assert!(race["racer_done"].as_bool().unwrap());
    assert_eq!(summary["selected"], 3000);
    let written = summary["written"].as_u64().unwrap();
    assert_eq!(written + summary["skipped"].as_u64().unwrap(), 3000);
    let b64 = base64::engine::general_purpose::STANDARD;
    let events = race["events"].as_array().unwrap();
    let ours: Vec<&Value> = events.iter().filter(|e| !b64.decode(e["kv"]["value"].as_str().unwrap_or("")).unwrap().starts_with(b"racer-")).collect();
    assert_eq!(events.len() as u64, 3000 + written, "every put of both writers is in etcd's history");
    assert_eq!(ours.len() as u64, written, "the replay's writes in etcd's history");
    for e in &ours {
        assert_eq!(e["kv"]["version"], 1, "the replay overwrote a live key: {e}");
        assert_eq!(e["kv"]["create_revision"], e["kv"]["mod_revision"]);
    }
    assert!(written > 0 && written < 3000, "the race interleaved (written {written}); if not, the check proves less");
    for line in race_report["keys"].as_array().unwrap().iter().filter(|l| l["outcome"] == "skipped") {
        let reason = line["reason"].as_str().unwrap();
        assert!(reason.contains("exists in the live cluster") || reason.contains("created in the live cluster after it was planned"), "{reason}");
    }

    // 3. TLS.
    let tls = report(&r["tls"]["stdout"]);
    assert_eq!(tls["summary"]["selected"], 6, "{}", r["tls"]["stderr"]);
    assert!(tls["summary"]["endpoint"].as_str().unwrap().starts_with("https://"));
    assert_eq!(r["tls_no_client_cert"]["exit_code"], 2);
    assert_eq!(r["tls_unknown_ca"]["exit_code"], 2);
    only_the_given_ca(&r);

    // 4. The record streams.
    later_write_fails(&r["later_write_fails"]);
    for (name, format) in [("closed_stdout_json", "json"), ("closed_stdout_table", "table")] {
        closed_stdout_stops_before_the_next_write(&r[name], name, format);
    }

    // 5. Overwrites under a racing writer.
    overwrites_only_what_did_not_change(&r["overwrite_race"]);
}

/// The server's CA is a system root (SSL_CERT_FILE); the replay is given another CA.
fn only_the_given_ca(r: &Value) {
    let (other, system) = (&r["tls_other_ca"], &r["tls_system_roots"]);
    // Without --cacert the system roots are used, by etcdctl and by us: the control.
    assert_eq!(system["etcdctl_exit_code"], 0, "etcdctl trusts SSL_CERT_FILE's CA without --cacert: {}", system["etcdctl_stderr"]);
    assert_eq!(report(&system["stdout"])["summary"]["selected"], 6, "so do we: {}", system["stderr"]);
    // With --cacert, only that CA.
    assert_ne!(other["etcdctl_exit_code"], 0, "etcdctl refuses a server its --cacert did not sign");
    assert_eq!(other["exit_code"], 2, "so do we, whatever the system roots say: {}", other["stderr"]);
    assert!(other["stderr"].as_str().unwrap().contains("certificate"), "{}", other["stderr"]);
}

/// etcd refuses the first object over --max-request-bytes; every key written before is in the
/// stream with the revision etcd gave it, and nothing else was written.
fn later_write_fails(run: &Value) {
    assert_eq!(run["exit_code"], 2, "{}", run["stderr"]);
    assert!(run["stderr"].as_str().unwrap().contains("request is too large"), "etcd's refusal is said: {}", run["stderr"]);
    let streamed = report(&run["stdout"]);
    let written: BTreeMap<String, i64> = streamed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            assert_eq!(l["outcome"], "written", "{l}");
            (l["key"].as_str().unwrap().to_string(), l["revision"].as_i64().unwrap())
        })
        .collect();
    let in_etcd: BTreeMap<String, i64> = kvs_by_key(&run["after"]).into_iter().map(|(k, kv)| (k, kv["mod_revision"].as_i64().unwrap())).collect();
    assert!(!in_etcd.is_empty(), "some keys were written before the refusal");
    assert_eq!(written, in_etcd, "the stream names exactly the keys etcd holds, at etcd's revisions");
}

/// stdout closed after the first line: the replay stops at the next line it cannot print, right
/// after the write that line was for; the keys in etcd are the first n of the selection (key
/// order), the n-th is named on stderr, and n is short of all 1,000.
fn closed_stdout_stops_before_the_next_write(run: &Value, name: &str, format: &str) {
    let err = run["stderr"].as_str().unwrap();
    assert_eq!(run["exit_code"], 2, "{name}: {err}");
    let mut in_etcd: Vec<Vec<u8>> = kvs_by_key(&run["after"]).keys().map(|k| b64(&Value::from(k.as_str()))).collect();
    in_etcd.sort();
    let n = in_etcd.len();
    let prefix = if name.ends_with("json") { 0 } else { 1000 };
    let selection: Vec<Vec<u8>> = (prefix..prefix + 1000).map(|i| format!("/small/k{i:06}").into_bytes()).collect();
    assert!(n > 0 && n < 1000, "{name}: stopped midway ({n} of 1000 written)");
    assert_eq!(in_etcd, selection[..n], "{name}: written in key order, nothing after the stop");
    let last = String::from_utf8(selection[n - 1].clone()).unwrap();
    assert!(err.contains(&last), "{name}: the key written whose line was lost is named ({last}): {err}");
    let first = run["first_line"].as_str().unwrap();
    let first_key = String::from_utf8(selection[0].clone()).unwrap();
    match format {
        "json" => {
            let line: Value = serde_json::from_str(first).unwrap();
            assert_eq!((line["keyText"].as_str(), line["outcome"].as_str()), (Some(first_key.as_str()), Some("written")), "{name}");
        }
        // The table's first line is its header, flushed with the first key's row.
        _ => assert!(first.starts_with("OUTCOME") && first.trim_end().ends_with("KEY"), "{name}: {first:?}"),
    }
}

fn overwrites_only_what_did_not_change(race: &Value) {
    let streamed = report(&race["stdout"]);
    let lines: BTreeMap<Vec<u8>, &Value> = streamed["keys"].as_array().unwrap().iter().map(|l| (b64(&l["key"]), l)).collect();
    assert_eq!(lines.len(), 1000, "{}", race["stderr"]);
    // Every event of the 1,000 keys since they were put, in revision order, per key.
    let mut events: BTreeMap<Vec<u8>, Vec<&Value>> = BTreeMap::new();
    for e in race["events"].as_array().unwrap() {
        events.entry(b64(&e["kv"]["key"])).or_default().push(e);
    }
    let rev = |e: &Value| e["kv"]["mod_revision"].as_i64().unwrap();
    let theirs = |e: &Value| b64(&e["kv"]["value"]).starts_with(b"racer-");
    let (mut overwritten, mut changed) = (0, 0);
    for (key, line) in &lines {
        let key_text = String::from_utf8_lossy(key);
        let history: &[&Value] = events.get(key).map_or(&[], Vec::as_slice);
        let planned = line["liveModRevision"].as_i64().unwrap_or_else(|| panic!("{key_text}: planned over a live key: {line}"));
        let ours: Vec<&&Value> = history.iter().filter(|e| !theirs(e)).collect();
        match line["outcome"].as_str().unwrap() {
            "overwritten" => {
                overwritten += 1;
                assert_eq!(ours.len(), 1, "{key_text}: one write of the replay in etcd's history");
                let write = rev(ours[0]);
                assert_eq!(Some(write), line["revision"].as_i64(), "{key_text}: the revision the stream reports");
                assert!(ours[0]["kv"]["version"].as_i64().unwrap() > 1, "{key_text}: it overwrote the live key");
                let between: Vec<i64> = history.iter().map(|e| rev(e)).filter(|r| *r > planned && *r < write).collect();
                assert!(
                    between.is_empty(),
                    "{key_text}: overwritten although it changed at {between:?}, after it was planned at {planned} and before the write at {write}"
                );
            }
            "skipped" => {
                changed += 1;
                let reason = line["reason"].as_str().unwrap();
                assert!(reason.contains("changed in the live cluster after it was planned"), "{key_text}: {reason}");
                assert!(ours.is_empty(), "{key_text}: skipped, and not written");
                assert!(history.iter().any(|e| theirs(e) && rev(e) > planned), "{key_text}: skipped although it did not change after {planned}");
            }
            other => panic!("{key_text}: outcome {other}"),
        }
        if !history.iter().any(|e| theirs(e)) {
            assert_eq!(line["outcome"], "overwritten", "{key_text}: nobody else wrote it, so the replay overwrote it");
        }
    }
    assert!(overwritten > 0 && changed > 0, "the race interleaved ({overwritten} overwritten, {changed} changed first); if not, the check proves less");
    assert_eq!(race["exit_code"], 1, "skipped keys are findings: {}", race["stderr"]);
}

/// Issue 18: `replay --user`/`--password` as etcdctl takes them (`name:password`, or `--user name
/// --password p`), against real etcd 3.5.1 with auth enabled (`etcdctl user add root`, `auth
/// enable`): refused by etcd without them, written with them (etcdctl, as root, reads the keys
/// back). The target, a new member, is at a revision far below the snapshot's: the summary
/// warns (the cluster was restored without a revision bump) and advises the bump. The table
/// has a header.
#[test]
fn replay_authenticates_as_etcdctl_and_warns_when_the_target_is_behind() {
    let Some(bin_dir) = bin_dir_or_skip("3.5.1") else { return };
    let etcd = etcd_server::EtcdServer::start(&bin_dir);
    let ok = |o: std::process::Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o
    };
    ok(etcd.etcdctl(&["user", "add", "root", "--new-user-password", "s3cret:x"]));
    ok(etcd.etcdctl(&["auth", "enable"]));
    let header: Value = serde_json::from_slice(&ok(etcd.etcdctl(&["--user", "root:s3cret:x", "get", "/", "-w", "json"])).stdout).unwrap();
    let live_revision = header["header"]["revision"].as_i64().unwrap();
    let snapshot = repo().join("testdata/etcd-3.5.1/snapshot.db");
    let replay = |extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = vec!["replay".as_ref(), snapshot.as_os_str(), "/txn/".as_ref(), "--prefix".as_ref()];
        args.extend(["--endpoints", &etcd.client_url].iter().map(|s| std::ffi::OsStr::new(*s)));
        args.extend(extra.iter().map(|s| std::ffi::OsStr::new(*s)));
        run(&args)
    };

    let refused = replay(&["--dry-run"]);
    assert_eq!(refused.status.code(), Some(2), "without a user etcd refuses: {}", String::from_utf8_lossy(&refused.stderr));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("user name is empty"), "{}", String::from_utf8_lossy(&refused.stderr));
    let wrong = replay(&["--user", "root:nope", "--dry-run"]);
    assert_ne!(wrong.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("authentication failed"), "{}", String::from_utf8_lossy(&wrong.stderr));
    let no_password = replay(&["--user", "root", "--dry-run"]);
    assert_eq!(no_password.status.code(), Some(2), "--user NAME without a password is a usage error");

    let written = replay(&["--user", "root:s3cret:x", "-o", "json"]);
    assert!(written.status.success(), "{}", String::from_utf8_lossy(&written.stderr));
    let lines: Vec<Value> = written.stdout.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap()).collect();
    let summary = &lines.last().unwrap()["summary"];
    let got: Value = serde_json::from_slice(&ok(etcd.etcdctl(&["--user", "root:s3cret:x", "get", "/txn/", "--prefix", "-w", "json"])).stdout).unwrap();
    assert_eq!(summary["written"].as_u64(), Some(got["count"].as_u64().unwrap()), "etcd holds what the replay says it wrote: {got}");
    assert!(summary["written"].as_u64().unwrap() > 0);
    let warnings = summary["warnings"].as_array().expect("summary.warnings");
    let behind = warnings.iter().filter_map(Value::as_str).find(|w| w.contains("below")).unwrap_or_else(|| panic!("no revision warning in {warnings:?}"));
    assert!(behind.contains(&format!("revision {live_revision}")), "{behind}: etcdctl says the target was at {live_revision}");
    assert!(behind.contains("--bump-revision") && behind.contains("--mark-compacted"), "{behind}");

    // `--user NAME --password P`, as etcdctl; everything now exists, so all are skipped (exit 1).
    let again = replay(&["--user", "root", "--password", "s3cret:x", "--dry-run"]);
    assert_eq!(again.status.code(), Some(1), "{}", String::from_utf8_lossy(&again.stderr));
    let table = String::from_utf8(again.stdout).unwrap();
    let header = table.lines().next().unwrap_or("");
    assert!(header.starts_with("OUTCOME") && header.contains("KEY"), "a table header first: {table}");
    assert!(table.contains("warning: ") && table.contains("--bump-revision"), "{table}");
}
