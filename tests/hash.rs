//! `hash` against real etcd 3.5.1 (scripts/check_hash.py): for every revision of a member's
//! history, before and after a compaction, `hash --kind kv --rev R` of its `snapshot save` file
//! equals what `etcdctl endpoint hashkv --rev R` printed for the member, and is refused where
//! etcd refused (at or below the compaction, above the current revision); the status hash is
//! `etcdutl snapshot status`'s; the sha256 trailer is found intact. And `analyze` of the
//! compacted snapshot: its totals (live keys and bytes, leased keys; retained revisions,
//! tombstones and their stored bytes) equal what etcdctl's get, get --rev at the compaction and
//! watch from after it say the member holds.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn hashes_equal_etcds_own_tools() {
    if bin_dir_or_skip("3.5.1").is_none() {
        return;
    }
    let r = recording("check_hash.py", &[]);
    let current = r["current"].as_i64().unwrap();
    let compact = r["compact"].as_i64().unwrap();
    for stage in ["uncompacted", "compacted"] {
        let s = &r[stage];
        let mut compared = 0;
        for (rev, both) in s["revisions"].as_object().unwrap() {
            let (etcd, ours) = (&both["etcd"], &both["ours"]);
            let rev: i64 = rev.parse().unwrap();
            if etcd["exit_code"] == 0 {
                assert_eq!(ours["exit_code"], 0, "{stage} rev {rev}: etcd answered, we refused: {}", ours["stderr"]);
                let kv = &ours["json"]["kv"];
                assert_eq!(kv["hash"], etcd["hash"], "{stage} rev {rev}: hashkv");
                assert_eq!(kv["compactRevision"], etcd["compact_revision"], "{stage} rev {rev}: compact revision");
                compared += 1;
            } else {
                assert_eq!(ours["exit_code"], 2, "{stage} rev {rev}: etcd refused ({}), we answered", etcd["stderr"]);
            }
            if rev == 0 {
                let j = &ours["json"];
                assert_eq!(j["status"], s["status"]["hash"], "{stage}: etcdutl snapshot status hash");
                assert_eq!(j["sha256"]["trailer"], "ok");
            }
        }
        let refused_below = if stage == "compacted" { compact } else { 0 };
        assert_eq!(compared as i64, current - refused_below + 1, "{stage}: every revision etcd answered was compared");
    }
}

/// proto3 bytes of an mvccpb.KeyValue as etcd stores it (zero fields left out), from the fields
/// etcdctl printed.
fn stored_keyvalue(kv: &Value, tombstone: bool) -> usize {
    use base64::Engine;
    let b64 = |f: &str| kv[f].as_str().map(|s| base64::engine::general_purpose::STANDARD.decode(s).unwrap()).unwrap_or_default();
    let varint_len = |mut v: u64| {
        let mut n = 1;
        while v >= 0x80 {
            v >>= 7;
            n += 1;
        }
        n
    };
    let bytes_field = |b: &[u8]| if b.is_empty() { 0 } else { 1 + varint_len(b.len() as u64) + b.len() };
    let int_field = |f: &str| kv[f].as_i64().filter(|v| *v != 0).map_or(0, |v| 1 + varint_len(v as u64));
    let key = bytes_field(&b64("key"));
    if tombstone {
        return key;
    }
    key + int_field("create_revision") + int_field("mod_revision") + int_field("version") + bytes_field(&b64("value")) + int_field("lease")
}

#[test]
fn analyze_totals_equal_etcds_keyspace_and_history() {
    use base64::Engine;
    if bin_dir_or_skip("3.5.1").is_none() {
        return;
    }
    let r = recording("check_hash.py", &[]);
    let a = &r["analyze"];
    let total = &a["ours"]["total"];
    let kvs = a["get"]["kvs"].as_array().unwrap();
    let len = |kv: &Value, f: &str| kv[f].as_str().map(|s| base64::engine::general_purpose::STANDARD.decode(s).unwrap().len()).unwrap_or(0) as u64;
    assert_eq!(total["keys"].as_u64().unwrap(), kvs.len() as u64, "live keys = etcdctl get's");
    assert_eq!(total["liveBytes"].as_u64().unwrap(), kvs.iter().map(|kv| len(kv, "key") + len(kv, "value")).sum::<u64>(), "live bytes");
    assert_eq!(total["leasedKeys"].as_u64().unwrap(), kvs.iter().filter(|kv| kv["lease"].as_i64().unwrap_or(0) != 0).count() as u64);
    // Retained history: each key's state at the compaction, then every event after it.
    let at_compact = a["get_at_compact"]["kvs"].as_array().unwrap();
    let events = a["events"].as_array().unwrap();
    let deletes = events.iter().filter(|e| e["type"] == "DELETE" || e["type"] == 1).count() as u64;
    let expected_revisions = at_compact.len() as u64 + events.len() as u64;
    let expected_bytes: u64 = at_compact.iter().map(|kv| 17 + stored_keyvalue(kv, false) as u64).sum::<u64>()
        + events
            .iter()
            .map(|e| {
                let del = e["type"] == "DELETE" || e["type"] == 1;
                (if del { 18 } else { 17 }) + stored_keyvalue(&e["kv"], del) as u64
            })
            .sum::<u64>();
    assert_eq!(total["revisions"].as_u64().unwrap(), expected_revisions, "retained revisions");
    assert_eq!(total["tombstones"].as_u64().unwrap(), deletes, "tombstones");
    assert_eq!(total["historyBytes"].as_u64().unwrap(), expected_bytes, "history bytes (revision keys plus stored KeyValues)");
    let groups: u64 = a["ours"]["groups"].as_array().unwrap().iter().map(|g| g["historyBytes"].as_u64().unwrap()).sum();
    assert_eq!(groups, expected_bytes, "the groups add up to the total");
    assert_eq!(a["ours"]["treemap"]["value"].as_u64(), Some(expected_bytes));
}
