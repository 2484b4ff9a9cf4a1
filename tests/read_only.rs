//! Read-only and lock-free, everywhere. Every command runs on a real member's files (the db,
//! WAL segments and .snap files etcd 3.5.1 wrote: testdata/wal-3.5.1, and a snapshot file) and
//! afterwards every file has the same bytes, size, mode and modification time, and the
//! directories list the same names: nothing written, nothing created, nothing locked open.
//! Then the same commands run over and over against the data dir of a live etcd under write
//! load (segments cut, .snap files written, compactions): each ends 0, 1 or 2, never by a signal.

mod common;

use common::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every path under `root` with what must not change: (sha256, size, mode, mtime in ns) for
/// files, the names for directories.
fn fingerprint(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let meta = std::fs::symlink_metadata(&dir).unwrap();
        if meta.is_dir() {
            let mut names: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
            names.sort();
            out.insert(dir.clone(), format!("dir mode {:o} mtime {} [{}]", meta.mode(), meta.mtime_nsec() + meta.mtime() * 1_000_000_000, names.join(",")));
            stack.extend(names.iter().map(|n| dir.join(n)));
        } else {
            let digest = Sha256::digest(std::fs::read(&dir).unwrap());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            out.insert(
                dir.clone(),
                format!("file {hex} size {} mode {:o} mtime {}", meta.len(), meta.mode(), meta.mtime() * 1_000_000_000 + meta.mtime_nsec()),
            );
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn no_command_changes_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    copy_dir(&repo().join("testdata/wal-3.5.1/member"), &data.join("member"));
    let snapshot = tmp.path().join("snapshot.db");
    std::fs::copy(repo().join("testdata/etcd-3.5.1/snapshot.db"), &snapshot).unwrap();
    let value = tmp.path().join("value.bin");
    std::fs::write(&value, b"k8s\0\x0a\x0d\x0a\x02v1\x12\x07Unknown").unwrap();
    // Old timestamps, so any write (even of the same bytes) shows.
    for entry in fingerprint(tmp.path()).keys() {
        let f = std::fs::File::options().read(true).open(entry).ok();
        if let Some(f) = f.filter(|f| f.metadata().unwrap().is_file()) {
            f.set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000)).ok();
        }
    }
    let before = fingerprint(tmp.path());
    let (d, s, member, db) = (data.as_os_str(), snapshot.as_os_str(), data.join("member"), data.join("member/snap/db"));
    let runs: Vec<Vec<&std::ffi::OsStr>> = vec![
        vec!["status".as_ref(), d],
        vec!["status".as_ref(), s, "-o".as_ref(), "json".as_ref()],
        vec!["status".as_ref(), db.as_os_str()],
        vec!["kv".as_ref(), "get".as_ref(), d, "".as_ref(), "--prefix".as_ref(), "-o".as_ref(), "json".as_ref()],
        vec!["kv".as_ref(), "get".as_ref(), s, "/".as_ref(), "--prefix".as_ref(), "-w".as_ref(), "fields".as_ref()],
        vec!["get".as_ref(), s, "--list-keys".as_ref()],
        vec!["get".as_ref(), d, "--all-objects".as_ref(), "-o".as_ref(), "jsonl".as_ref()],
        vec!["get".as_ref(), s, "pods".as_ref(), "-A".as_ref()],
        vec!["decode".as_ref(), value.as_os_str()],
        vec!["history".as_ref(), d, "".as_ref(), "--prefix".as_ref(), "-o".as_ref(), "jsonl".as_ref()],
        vec!["history".as_ref(), s, "/hist/updated".as_ref()],
        vec!["diff".as_ref(), s, d, "-o".as_ref(), "json".as_ref()],
        vec!["diff".as_ref(), d, d, "--details".as_ref()],
        vec!["wal".as_ref(), d],
        vec!["wal".as_ref(), member.as_os_str(), "-o".as_ref(), "jsonl".as_ref()],
        vec!["wal".as_ref(), d, "--verify".as_ref()],
        vec!["wal".as_ref(), d, "--best-effort".as_ref(), "-o".as_ref(), "json".as_ref()],
    ];
    for args in &runs {
        let out = run(args);
        assert!(out.status.code().is_some_and(|c| c <= 2), "{args:?}: {:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    let after = fingerprint(tmp.path());
    for (path, was) in &before {
        assert_eq!(after.get(path), Some(was), "{} changed", path.display());
    }
    assert_eq!(after.len(), before.len(), "files appeared: {:?}", after.keys().filter(|k| !before.contains_key(*k)).collect::<Vec<_>>());
}

#[test]
fn reads_of_a_member_under_write_load_never_die_by_a_signal() {
    if bin_dir_or_skip("3.5.1").is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let result = tmp.path().join("result.json");
    let status = Command::new("python3")
        .arg(repo().join("scripts/read_under_load.py"))
        .arg("--etcdscope")
        .arg(bin())
        .arg("--out")
        .arg(&result)
        .args(["--seconds", "15"])
        .status()
        .unwrap();
    assert!(status.success(), "read_under_load.py failed");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();
    let runs = r["runs"].as_array().unwrap();
    assert!(runs.len() >= 9, "every command ran at least once: {}", runs.len());
    assert!(r["segments_seen"].as_u64().unwrap() >= 2, "the WAL was cut while we read: {r}");
    assert!(r["snap_files_seen"].as_u64().unwrap() >= 1, "etcd wrote .snap files while we read");
    for run in runs {
        assert!(run["signal"].is_null(), "killed by signal {}: {}", run["signal"], run["args"]);
        let code = run["exit_code"].as_i64().unwrap();
        assert!((0..=2).contains(&code), "{}: exit {code}: {}", run["args"], run["stderr_tail"]);
        assert!(!run["stderr_tail"].as_str().unwrap().contains("panicked"), "{}: {}", run["args"], run["stderr_tail"]);
    }
}
