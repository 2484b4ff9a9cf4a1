//! `salvage` of real etcd 3.5.1 snapshots damaged by this test; what was recovered is judged by
//! real `etcdutl snapshot status` on the salvaged file:
//! - undamaged: the same hash, revision and key count as the original (every bucket whole);
//! - a branch page of the `key` bucket zeroed: the tree is broken, every leaf survived, and the
//!   salvaged file has the original's hash again;
//! - a leaf page of the `key` bucket zeroed: exactly the revisions on that leaf are missing
//!   (etcdutl's key count drops by the leaf's entry count, read from the original page here);
//! - `--free-pages`: the compacted revisions free pages still hold come back too (more keys).

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const PS: usize = 4096;

fn status(etcdutl: &Path, db: &Path) -> Option<Value> {
    let out = Command::new(etcdutl).args(["snapshot", "status", "-w", "json"]).arg(db).output().ok()?;
    out.status.success().then(|| serde_json::from_slice(&out.stdout).unwrap())
}

fn salvage(src: &Path, out: &Path, extra: &[&str]) -> Value {
    let mut args = vec![std::ffi::OsStr::new("salvage"), src.as_os_str(), "--out".as_ref(), out.as_os_str(), "-o".as_ref(), "json".as_ref()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    let o = run(&args);
    assert!(o.status.code().is_some_and(|c| c <= 1), "salvage failed: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

#[test]
fn salvage_recovers_what_survived() {
    let Some(bins) = bin_dir_or_skip("3.5.1") else { return };
    let etcdutl = Path::new(&bins).join("etcdutl");
    let src = repo().join("testdata/etcd-3.5.1/snapshot.db");
    let original = status(&etcdutl, &src).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let out = dir.path().join("clean.db");
    salvage(&src, &out, &[]);
    let got = status(&etcdutl, &out).unwrap();
    for k in ["hash", "revision", "totalKey"] {
        assert_eq!(got[k], original[k], "undamaged: {k}");
    }

    let bytes = std::fs::read(&src).unwrap();
    let db = &bytes[..bytes.len() - 32];
    let hwm = u64_at(db, 56) as usize;
    // Leaf and branch pages of the key bucket: pages whose header names them and whose first
    // key is a 17- or 18-byte revision key.
    let (mut branches, mut leaves) = (Vec::new(), Vec::new());
    for p in 2..hwm {
        let at = p * PS;
        if u64_at(db, at) != p as u64 {
            continue;
        }
        let flags = u16::from_le_bytes(db[at + 8..at + 10].try_into().unwrap());
        let count = u16::from_le_bytes(db[at + 10..at + 12].try_into().unwrap()) as usize;
        if count == 0 {
            continue;
        }
        let e = at + 16;
        // The key size field: bytes 4..8 of a branch element, 8..12 of a leaf element.
        let ksize_at = if flags == 0x01 { e + 4 } else { e + 8 };
        let ksize = u32::from_le_bytes(db[ksize_at..ksize_at + 4].try_into().unwrap()) as usize;
        if (ksize == 17 || ksize == 18) && flags == 0x01 {
            branches.push(p);
        }
        if (ksize == 17 || ksize == 18) && flags == 0x02 {
            leaves.push((p, count));
        }
    }
    let zeroed = |p: usize| {
        let mut b = bytes.clone();
        b[p * PS..(p + 1) * PS].fill(0);
        b.truncate(b.len() - 32); // no trailer: the damaged file is a member db
        b
    };
    let in_use = |b: &[u8]| {
        let path = dir.path().join("probe.db");
        std::fs::write(&path, b).unwrap();
        status(&etcdutl, &path).map(|s| s["hash"].clone()) != Some(original["hash"].clone())
    };

    let branch = branches.iter().copied().find(|&p| in_use(&zeroed(p))).expect("a key bucket branch in use");
    let damaged = dir.path().join("branch.db");
    std::fs::write(&damaged, zeroed(branch)).unwrap();
    assert_eq!(run(&["check".as_ref(), damaged.as_os_str()]).status.code(), Some(1), "the damage is found");
    let out = dir.path().join("from-branch.db");
    let report = salvage(&damaged, &out, &[]);
    let got = status(&etcdutl, &out).unwrap();
    for k in ["hash", "revision", "totalKey"] {
        assert_eq!(got[k], original[k], "branch page {branch} zeroed: {k} ({report})");
    }
    assert!(report["revisionsFromUnreachablePages"].as_u64().unwrap() > 0, "leaves under the zeroed branch are read by the scan");
    // --export-sqlite: the recovered keyspace as SQL; its kv rows are etcdctl's keys.
    let sqlite = dir.path().join("recovered.sqlite");
    salvage(&damaged, &dir.path().join("again.db"), &["--export-sqlite", sqlite.to_str().unwrap()]);
    let expected: Value = serde_json::from_slice(&std::fs::read(repo().join("testdata/etcd-3.5.1/expected/get/all.json")).unwrap()).unwrap();
    let conn = rusqlite::Connection::open(&sqlite).unwrap();
    let rows: i64 = conn.query_row("SELECT count(*) FROM kv", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, expected["count"].as_i64().unwrap(), "kv rows of the salvaged export = etcdctl get's count");

    let (leaf, count) = leaves.iter().copied().find(|&(p, _)| in_use(&zeroed(p))).expect("a key bucket leaf in use");
    let damaged = dir.path().join("leaf.db");
    std::fs::write(&damaged, zeroed(leaf)).unwrap();
    let out = dir.path().join("from-leaf.db");
    salvage(&damaged, &out, &[]);
    let got = status(&etcdutl, &out).unwrap();
    assert_eq!(got["totalKey"].as_u64().unwrap(), original["totalKey"].as_u64().unwrap() - count as u64, "leaf {leaf} zeroed: its {count} revisions lost, the rest kept");

    let out = dir.path().join("free.db");
    let report = salvage(&src, &out, &["--free-pages"]);
    let got = status(&etcdutl, &out).unwrap();
    let extra = report["compactedWritten"].as_u64().unwrap();
    assert!(extra > 0, "the sample's free pages hold compacted revisions");
    assert_eq!(got["totalKey"].as_u64().unwrap(), original["totalKey"].as_u64().unwrap() + extra);
}
