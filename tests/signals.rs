//! Signals the command line must survive or report: a mapped input truncated under the reader
//! (SIGBUS) ends in one line and exit 2, not a core dump, and leaves no temporary output.

mod common;

use common::*;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Waits until `pid` sleeps (blocked writing to a full pipe), at most `limit`.
fn wait_until_blocked(pid: u32, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The state is the field after the parenthesised command name.
        let state = stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next());
        if state == Some('S') {
            std::thread::sleep(Duration::from_millis(200));
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// `kv get` prints values read from the mapped file. Its stdout is a pipe nobody reads until
/// the file has been cut to its two meta pages, so the pages of the values still to print are
/// gone when it reads them: the kernel raises SIGBUS, and the handler says so in one line.
#[test]
fn an_input_truncated_while_mapped_is_reported_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("member-db");
    std::fs::copy(repo().join("testdata/etcd-3.5.1/member-db"), &db).unwrap();
    let mut child = Command::new(bin()).args(["kv", "get"]).arg(&db).args(["", "--prefix"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    assert!(wait_until_blocked(child.id(), Duration::from_secs(20)), "kv get never blocked on its output");
    std::fs::OpenOptions::new().write(true).open(&db).unwrap().set_len(8192).unwrap();
    let mut printed = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut printed).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("an input file shrank while it was being read (SIGBUS)"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(printed.len() < 383_593, "the whole output was printed ({} bytes): nothing was read past the cut", printed.len());
}

/// Hidden temporaries beside an output (`.NAME.partial-…`, `.NAME.rebuild-…`).
fn temporaries(dir: &std::path::Path, name: &str) -> Vec<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with(&format!(".{name}."))).collect()
}

/// Found in review: the SIGBUS report exited at once, leaving the export's temporary database
/// (which may hold everything in the keyspace) beside OUT. The handler now removes pending
/// outputs with nothing but system calls before it exits.
#[test]
fn sigbus_removes_pending_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("big.db");
    common::big_db::big_db(&db, 300_000);
    let out = dir.path().join("out.sqlite");
    let mut child = Command::new(bin()).args(["export", "sqlite"]).arg(&db).arg(&out).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while temporaries(dir.path(), "out.sqlite").is_empty() {
        assert!(started.elapsed() < Duration::from_secs(30), "the export never made its temporary file");
        assert!(child.try_wait().unwrap().is_none(), "the export ended before it could be disturbed");
        std::thread::sleep(Duration::from_millis(2));
    }
    std::fs::OpenOptions::new().write(true).open(&db).unwrap().set_len(8192).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("(SIGBUS)"), "{stderr}");
    assert!(!out.exists(), "OUT must not appear");
    assert_eq!(temporaries(dir.path(), "out.sqlite"), Vec::<String>::new(), "temporaries left behind");
}

/// Found by the hostile pass: commands that never check a cancel token (decode, status, hash)
/// were ended by the signal's default action (shell status 143 for SIGTERM, 129 for SIGHUP),
/// not the README's 130, and so was any command signalled before it set up its watcher. The
/// watcher is now installed first thing for every command; a command that does not stop by
/// itself is ended at once with 130.
#[test]
fn every_command_exits_130_on_sigint_sigterm_and_sighup() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let mut child = Command::new(bin()).args(["decode", "--stream"]).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        // Blocked reading a stdin that stays open.
        assert!(wait_until_blocked(child.id(), Duration::from_secs(20)));
        // SAFETY: kill(2) on the PID of a child this test started and has not reaped.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
        let started = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "signal {signal}: still running");
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        assert_eq!(status.code(), Some(130), "signal {signal}: {status:?} {stderr}");
        assert!(started.elapsed() < Duration::from_secs(3), "signal {signal}: ended at once, not after the grace period");
        assert!(stderr.contains("etcdscope: interrupted"), "{stderr}");
    }
}
