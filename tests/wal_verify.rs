//! `wal --verify` against what real etcd 3.5.1 does when it starts: each case is a copy of the
//! member recorded in testdata/wal-3.5.1 (its WAL, `.snap` files and db, all written by real
//! etcd) with one thing changed the way damage or a bug could change it, and etcd 3.5.1 is
//! started on it (scripts/etcd_starts.py: 127.0.0.1, free ports, a temp copy, stopped by PID,
//! bounded wait). Where etcd refuses to start, `wal --verify` must exit 1 and say where
//! (segment, byte offset) and why; where etcd starts, verify must be clean, except for a torn
//! last record, which etcd cuts off before it starts (it loses that write): verify reports it.
//! The unchanged member, and the same records framed anew by our writer, must start and verify
//! clean.
//!
//! Records are rewritten with `etcdscope::wal::write::SegmentWriter` (which recomputes the CRC
//! chain, so the change is not mere CRC damage); the ground truth is etcd's behaviour only.

mod common;

use common::*;
use etcdscope::etcd::pb::{raftpb, walpb};
use etcdscope::wal::write::{encode_entry, encode_hard_state, encode_metadata, SegmentWriter};
use prost::Message;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const SEGMENT: &str = "0000000000000000-0000000000000000.wal";

fn segment(dir: &Path) -> PathBuf {
    dir.join("member/wal").join(SEGMENT)
}

/// Frame offsets of a segment, by its length words alone.
fn frame_offsets(b: &[u8]) -> Vec<usize> {
    let (mut out, mut pos) = (Vec::new(), 0);
    while pos + 8 <= b.len() {
        let w = u64::from_le_bytes(b[pos..pos + 8].try_into().unwrap());
        let n = (w & ((1 << 56) - 1)) as usize;
        let pad = if w >> 63 == 1 { ((w >> 56) & 7) as usize } else { 0 };
        if n == 0 {
            break;
        }
        out.push(pos);
        pos += 8 + n + pad;
    }
    out
}

/// One record of the recorded segment: its type and data.
#[derive(Clone)]
struct Rec {
    rtype: i64,
    data: Vec<u8>,
}

impl Rec {
    fn entry_index(&self) -> Option<u64> {
        (self.rtype == 2).then(|| raftpb::Entry::decode(&self.data[..]).unwrap().index())
    }
}

/// The records of the recorded segment, crc record first.
fn recorded_records() -> Vec<Rec> {
    let b = std::fs::read(repo().join("testdata/wal-3.5.1/member/wal").join(SEGMENT)).unwrap();
    frame_offsets(&b)
        .into_iter()
        .map(|off| {
            let n = (u64::from_le_bytes(b[off..off + 8].try_into().unwrap()) & ((1 << 56) - 1)) as usize;
            let r = walpb::Record::decode(&b[off + 8..off + 8 + n]).unwrap();
            Rec { rtype: r.r#type(), data: r.data().to_vec() }
        })
        .collect()
}

/// Position of the entry record of raft index `index`.
fn entry_at(recs: &[Rec], index: u64) -> usize {
    recs.iter().position(|r| r.entry_index() == Some(index)).unwrap()
}

/// Writes `recs` (after their crc record) as the member's only segment, with a fresh CRC chain;
/// returns the byte offset of each record in the new file.
fn rewrite(dir: &Path, recs: &[Rec]) -> Vec<usize> {
    let path = segment(dir);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(recs[0].rtype, 4, "a segment starts with its crc record");
    let mut w = SegmentWriter::create(path.parent().unwrap(), 0, 0, 0).unwrap();
    for r in &recs[1..] {
        w.record(r.rtype, &r.data).unwrap();
    }
    w.finish().unwrap();
    frame_offsets(&std::fs::read(&path).unwrap())
}

/// What etcd 3.5.1 does on a copy of the data dir `dir` (scripts/etcd_starts.py's record).
fn etcd_start(dir: &Path) -> Value {
    let copy = tempfile::tempdir().unwrap();
    let status = Command::new("cp").arg("-a").arg(dir.join("member")).arg(copy.path()).status().unwrap();
    assert!(status.success());
    let out = copy.path().join("started.json");
    let status = Command::new("python3").arg(repo().join("scripts/etcd_starts.py")).arg("--data-dir").arg(copy.path()).arg("--out").arg(&out).status().unwrap();
    assert!(status.success(), "etcd_starts.py failed");
    let v: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(v["timed_out"], false, "etcd neither started nor exited in time: {}", v["log"]);
    v
}

/// `wal DIR --verify -o json`: (exit code, stderr, summary).
fn verify(dir: &Path) -> (Option<i32>, String, Value) {
    let out = Command::new(bin()).arg("wal").arg(dir).args(["--verify", "-o", "json"]).output().unwrap();
    let summary = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned(), summary)
}

/// One crafted member: what etcd must do and what `verify` must say.
struct Case {
    name: &'static str,
    dir: tempfile::TempDir,
    /// etcd's log says this when it refuses (None: etcd starts).
    etcd_says: Option<&'static str>,
    /// `verify` names this byte offset of the segment…
    offset: Option<usize>,
    /// …and says this (None: etcd starts, and verify is clean).
    verify_says: Option<&'static str>,
}

fn cases() -> Vec<Case> {
    let recs = recorded_records();
    let mut out = Vec::new();
    let mut case = |name, etcd_says, verify_says: Option<&'static str>, edit: &dyn Fn(&mut Vec<Rec>) -> Option<usize>, after: &dyn Fn(&Path)| {
        let dir = wal_member_copy();
        let mut r = recs.clone();
        let changed = edit(&mut r);
        let offsets = rewrite(dir.path(), &r);
        after(dir.path());
        out.push(Case { name, dir, etcd_says, offset: changed.map(|i| offsets[i]), verify_says });
    };
    let nothing = |_: &Path| {};
    // etcd's ReadAll stops at a record type it does not know.
    case(
        "unknown record type",
        Some("unexpected block type 9"),
        Some("unknown record type 9"),
        &|r| {
            let i = entry_at(r, 45) + 1;
            assert_eq!(r[i].rtype, 3);
            r[i].rtype = 9;
            Some(i)
        },
        &nothing,
    );
    // An entry record whose data is not a raft entry: etcd panics unmarshalling it.
    case(
        "entry record not an entry",
        Some("panic"),
        Some("does not parse"),
        &|r| {
            let i = entry_at(r, 30);
            r[i].data = vec![0x08];
            Some(i)
        },
        &nothing,
    );
    // Entry 45 comes after the newest snapshot (42), so etcd applies it at start: data that is
    // neither a v3 nor a v2 request makes it panic.
    case(
        "request not decodable, applied at start",
        Some("panic"),
        Some("neither a v3 request"),
        &|r| {
            let i = entry_at(r, 45);
            r[i].data = encode_entry(0, 2, 45, &[0x0a, 0x01]);
            Some(i)
        },
        &nothing,
    );
    // Entry 30 is covered by the snapshot etcd loads: etcd never looks at its data, and starts;
    // verify, which says what etcd would do, finds nothing to say.
    case(
        "request not decodable, before the snapshot",
        None,
        None,
        &|r| {
            let i = entry_at(r, 30);
            r[i].data = encode_entry(0, 2, 30, &[0x0a, 0x01]);
            Some(i)
        },
        &nothing,
    );
    // A second metadata record naming another member and cluster.
    case(
        "conflicting metadata",
        Some("conflicting metadata found"),
        Some("metadata conflicts"),
        &|r| {
            let i = entry_at(r, 30) + 1;
            r.insert(i, Rec { rtype: 1, data: encode_metadata(1, 2) });
            Some(i)
        },
        &nothing,
    );
    // The last hard state commits an index past the last entry: raft panics on load.
    case(
        "commit beyond the last entry",
        Some("is out of range"),
        Some("commit 60 is beyond the last entry 53"),
        &|r| {
            let i = r.iter().rposition(|x| x.rtype == 3).unwrap();
            let h = raftpb::HardState::decode(&r[i].data[..]).unwrap();
            r[i].data = encode_hard_state(h.term(), h.vote(), 60);
            Some(i)
        },
        &nothing,
    );
    // An entry missing after the snapshot etcd starts from.
    case(
        "entry index gap",
        Some("slice bounds out of range"),
        Some("entry 48 follows entry 46"),
        &|r| {
            let i = entry_at(r, 47);
            r.remove(i);
            Some(entry_at(r, 48))
        },
        &nothing,
    );
    // A second snapshot record at the index etcd starts from, with another term.
    case(
        "snapshot term mismatch",
        Some("snapshot mismatch"),
        Some("snapshot record at index 42 has term 3"),
        &|r| {
            let i = r.iter().rposition(|x| x.rtype == 5).unwrap() + 1;
            let mut s = walpb::Snapshot::decode(&r[i - 1].data[..]).unwrap();
            assert_eq!((s.index(), s.term()), (42, 2));
            s.term = Some(3);
            r.insert(i, Rec { rtype: 5, data: s.encode_to_vec() });
            Some(i)
        },
        &nothing,
    );
    // A conf change v2 entry after the snapshot: etcd 3.5 applies only normal and conf change
    // entries, and panics on any other type.
    case(
        "entry type etcd does not apply",
        Some("unknown entry type"),
        Some("conf_change_v2"),
        &|r| {
            let i = entry_at(r, 45);
            r[i].data = encode_entry(2, 2, 45, &raftpb::ConfChangeV2::default().encode_to_vec());
            Some(i)
        },
        &nothing,
    );
    // No .snap file and no snapshot record at all, not even the {0, 0} one every WAL starts
    // with: etcd's reader returns "snapshot not found" but, opened for writing, overwrites that
    // error and starts (replaying the log from index 0). So verify says nothing either.
    case(
        "no snapshot record",
        None,
        None,
        &|r| {
            r.retain(|x| x.rtype != 5);
            None
        },
        &|dir| {
            for e in std::fs::read_dir(dir.join("member/snap")).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "snap") {
                    std::fs::remove_file(p).unwrap();
                }
            }
        },
    );
    // No .snap file, and the only segment named as starting at index 1: etcd starts from index
    // 0 and finds no segment to read from there.
    case("no segment to start reading from", Some("file not found"), Some("no segment starts at or before index 0"), &|_| None, &|dir| {
        for e in std::fs::read_dir(dir.join("member/snap")).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "snap") {
                std::fs::remove_file(p).unwrap();
            }
        }
        let wal = dir.join("member/wal");
        std::fs::rename(wal.join(SEGMENT), wal.join("0000000000000000-0000000000000001.wal")).unwrap();
    });
    // The db is gone: etcd needs it (or the snapshot's .snap.db) to go past the snapshot.
    case("db missing", Some("failed to recover v3 backend from snapshot"), Some("000000000000002a.snap.db"), &|_| None, &|dir| {
        std::fs::remove_file(dir.join("member/snap/db")).unwrap();
    });
    // Raw damage to the recorded bytes, no re-framing: a flipped bit mid-log, and a last record
    // whose 512-byte sector never reached the disk.
    let original = std::fs::read(repo().join("testdata/wal-3.5.1/member/wal").join(SEGMENT)).unwrap();
    let offsets = frame_offsets(&original);
    let mut raw = |name, etcd_says, verify_says, record: usize, edit: &dyn Fn(&mut [u8])| {
        let dir = wal_member_copy();
        let mut b = original.clone();
        let (start, len) = (offsets[record], u64::from_le_bytes(original[offsets[record]..offsets[record] + 8].try_into().unwrap()) & ((1 << 56) - 1));
        edit(&mut b[start + 8..start + 8 + len as usize]);
        std::fs::write(segment(dir.path()), &b).unwrap();
        out.push(Case { name, dir, etcd_says, offset: Some(offsets[record]), verify_says: Some(verify_says) });
    };
    let mid = entry_at(&recs, 30);
    raw("CRC mismatch mid-log", Some("crc mismatch"), "CRC mismatch", mid, &|body| body[body.len() / 2] ^= 0x10);
    // etcd repairs a torn tail (truncates the segment there) and starts; verify reports it.
    raw("torn last record", None, "torn", offsets.len() - 1, &|body| body.fill(0));
    out
}

#[test]
fn verify_fails_where_etcd_refuses_to_start() {
    if bin_dir_or_skip("3.5.1").is_none() {
        return;
    }
    // The recorded member and the same records framed by our writer: etcd starts, verify is clean.
    let recorded = wal_member_copy();
    let reframed = wal_member_copy();
    rewrite(reframed.path(), &recorded_records());
    for (what, dir) in [("recorded", &recorded), ("reframed", &reframed)] {
        let started = etcd_start(dir.path());
        assert_eq!(started["started"], true, "{what}: etcd 3.5.1 starts from it: {}", started["log"]);
        let (code, err, _) = verify(dir.path());
        assert_eq!(code, Some(0), "{what}: {err}");
    }
    let mut failures = Vec::new();
    for c in cases() {
        let started = etcd_start(c.dir.path());
        let log = started["log"].as_str().unwrap_or("");
        match c.etcd_says {
            Some(says) => {
                assert_eq!(started["started"], false, "{}: etcd 3.5.1 was expected to refuse it: {log}", c.name);
                assert!(log.contains(says), "{}: etcd's log does not say {says:?}: {log}", c.name);
            }
            None => assert_eq!(started["started"], true, "{}: etcd 3.5.1 was expected to start: {log}", c.name),
        }
        let (code, err, _) = verify(c.dir.path());
        let Some(says) = c.verify_says else {
            if code != Some(0) {
                failures.push(format!("{}: etcd starts, yet verify exited {code:?}:\n{err}", c.name));
            }
            continue;
        };
        let place_named = c.offset.map_or(true, |o| err.contains(&format!("{SEGMENT} record")) && err.contains(&format!("at byte {o}:")));
        if code != Some(1) || !place_named || !err.contains(says) {
            failures.push(format!("{}: verify exited {code:?}, expected 1 naming byte {:?} and {says:?}; it said:\n{err}", c.name, c.offset));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// What etcd 3.5.1 does on a copy of `dir`, waiting at most `wait_s` seconds for it to become
/// healthy (scripts/etcd_starts.py), and with `puts` keys put once it is.
fn etcd_start_bounded(dir: &Path, wait_s: u32, puts: u32) -> Value {
    let copy = tempfile::tempdir().unwrap();
    assert!(Command::new("cp").arg("-a").arg(dir.join("member")).arg(copy.path()).status().unwrap().success());
    let out = copy.path().join("started.json");
    let status = Command::new("python3")
        .arg(repo().join("scripts/etcd_starts.py"))
        .arg("--data-dir")
        .arg(copy.path())
        .arg("--out")
        .arg(&out)
        .args(["--timeout", &wait_s.to_string(), "--puts", &puts.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "etcd_starts.py failed");
    serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap()
}

/// The consistent index of the member db in `dir`, as `status` reads it.
fn db_consistent_index(dir: &Path) -> u64 {
    status_json(&dir.join("member/snap/db"))["consistentIndex"].as_u64().expect("the recorded db has a consistent index")
}

/// Found by trying to break every command: a WAL cut right after its metadata record passed
/// `wal --verify` (exit 0), though every entry the db applied is gone; etcd 3.5.1 starts on it
/// and never elects a leader. Cut after an entry before the db's consistent index, etcd
/// starts and becomes healthy, but does not apply what it appends at the indexes up to the
/// consistent index: those puts time out and are never stored. Both are a member that cannot
/// rejoin its log: verify reports it (exit 1), naming the db's consistent index and where the
/// log ends.
#[test]
fn a_db_ahead_of_its_log_is_invalid() {
    if bin_dir_or_skip("3.5.1").is_none() {
        return;
    }
    let recs = recorded_records();
    let original = std::fs::read(repo().join("testdata/wal-3.5.1/member/wal").join(SEGMENT)).unwrap();
    let offsets = frame_offsets(&original);
    assert_eq!((recs[0].rtype, recs[1].rtype), (4, 1), "the recorded segment starts with its crc and metadata records");

    // Cut after the metadata record: no snapshot record, no entry.
    let bare = wal_member_copy();
    std::fs::write(segment(bare.path()), &original[..offsets[2]]).unwrap();
    let ci = db_consistent_index(bare.path());
    let etcd = etcd_start_bounded(bare.path(), 20, 0);
    let log = etcd["log"].as_str().unwrap_or("");
    assert_eq!(etcd["started"], false, "etcd 3.5.1 became healthy on a log cut after its metadata: {log}");
    assert!(etcd["exit_code"].is_null() && log.contains("failed to publish local member to cluster through raft"), "{etcd}");
    let (code, err, _) = verify(bare.path());
    let says = [format!("consistent index {ci} is beyond the end of raft's log"), "last index is 0".to_string(), "never elects a leader".to_string()];
    assert_eq!(code, Some(1), "verify: {err}");
    for s in &says {
        assert!(err.contains(s.as_str()), "verify does not say {s:?}: {err}");
    }

    // Cut after the last record that holds entry `last` (its hard state), entries up to the
    // consistent index gone; the newest snapshot (42) is below it.
    let last = ci - 8;
    let cut = offsets[entry_at(&recs, last + 1)];
    let behind = wal_member_copy();
    std::fs::write(segment(behind.path()), &original[..cut]).unwrap();
    let etcd = etcd_start_bounded(behind.path(), 30, 10);
    assert_eq!(etcd["started"], true, "etcd 3.5.1 starts on it: {}", etcd["log"]);
    let puts = etcd["puts"].as_array().unwrap();
    let stored: Vec<&str> = etcd["stored"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
    let lost: Vec<&str> = puts.iter().filter(|p| p["ok"] == false).map(|p| p["key"].as_str().unwrap()).collect();
    assert!(!lost.is_empty() && lost.iter().all(|k| !stored.contains(k)), "etcd was expected to lose puts: {etcd}");
    let (code, err, _) = verify(behind.path());
    assert_eq!(code, Some(1), "verify: {err}");
    for s in [
        format!("consistent index {ci} is beyond the end of raft's log (the WAL's last entry is {last})"),
        format!("does not apply the entries it appends at indexes {} to {ci}", last + 1),
    ] {
        assert!(err.contains(&s), "verify does not say {s:?}: {err}");
    }
}
