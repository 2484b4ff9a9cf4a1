//! What `status` says about inputs that are not a whole bbolt file (issue 18): a WAL directory
//! (it names the command that reads one), and a snapshot cut short inside its 32-byte sha256
//! trailer (how many of the 32 bytes are there, not "missing"; the db before it is whole, and
//! reads as etcdutl read the uncut file).

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

fn status(args: &[&Path]) -> std::process::Output {
    let mut a: Vec<&std::ffi::OsStr> = vec!["status".as_ref()];
    a.extend(args.iter().map(|p| p.as_os_str()));
    run(&a)
}

/// `status` on a WAL dir (a recorded member/wal, and a dir of its *.wal copied out)
/// fails (it is no db) and names `etcdscope wal DIR`; that command, run as suggested, reads it.
#[test]
fn status_on_a_wal_dir_suggests_the_wal_command() {
    let recorded = repo().join("testdata/wal-3.5.1");
    let wal_dir = recorded.join("member/wal");
    let tmp = tempfile::tempdir().unwrap();
    let copied = tmp.path().join("segments");
    std::fs::create_dir(&copied).unwrap();
    for e in std::fs::read_dir(&wal_dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "wal") {
            std::fs::copy(&p, copied.join(p.file_name().unwrap())).unwrap();
        }
    }
    for dir in [&wal_dir, &copied] {
        let out = status(&[dir]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", dir.display());
        let hint = format!("etcdscope wal {}", dir.display());
        assert!(err.contains(&hint), "{}: {err}", dir.display());
        let wal = run(&["wal".as_ref(), dir.as_os_str()]);
        assert!(wal.status.success(), "the suggested `{hint}` reads it: {}", String::from_utf8_lossy(&wal.stderr));
    }
}

/// A snapshot cut 1, 10 and 31 bytes into its trailer: "partial trailer (N of 32 bytes)" in the
/// table, `"trailer": "partial"` with the count in JSON, a finding (exit 1), and the db itself
/// as etcdutl's `snapshot status` of the uncut file says (revision, keys, size).
#[test]
fn a_trailer_cut_short_is_partial_not_missing() {
    let dir = repo().join("testdata/etcd-3.5.1");
    let whole = std::fs::read(dir.join("snapshot.db")).unwrap();
    let etcdutl: Value = serde_json::from_slice(&std::fs::read(dir.join("expected/snapshot-status.json")).unwrap()).unwrap();
    assert_eq!(whole.len() as u64 % 512, 32, "the recorded snapshot has its trailer");
    let db_len = whole.len() - 32;
    let tmp = tempfile::tempdir().unwrap();
    for present in [1usize, 10, 31] {
        let cut = tmp.path().join(format!("cut-{present}.db"));
        std::fs::write(&cut, &whole[..db_len + present]).unwrap();
        let table = status(&[&cut]);
        let text = String::from_utf8_lossy(&table.stdout);
        assert_eq!(table.status.code(), Some(1), "a cut file is a finding: {text}{}", String::from_utf8_lossy(&table.stderr));
        assert!(text.contains(&format!("partial trailer ({present} of 32 bytes)")), "{text}");
        let json = run(&["status".as_ref(), cut.as_os_str(), "-o".as_ref(), "json".as_ref()]);
        let v: Value = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(v["trailer"], "partial", "{v}");
        assert_eq!(v["trailerBytes"], present, "{v}");
        for k in ["revision", "totalKey", "totalSize"] {
            assert_eq!(v[k], etcdutl[k], "{k}: etcdutl snapshot status of the uncut file");
        }
    }
}
