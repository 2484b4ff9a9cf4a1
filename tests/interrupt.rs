//! Stopping long views on request. In the library, every long view takes a
//! [`etcdscope::cancel::Cancel`] and ends with `Error::Interrupted` at its next key, revision or
//! row once it is cancelled: at once when it comes cancelled, and without another item when a
//! visitor cancels it midway. On the command line, a real SIGINT stops a command that is
//! streaming its output: exit 130, "etcdscope: interrupted", and what was printed so far is whole
//! (complete lines, flushed), well before the watcher's last-resort exit 5 s after the signal.

mod common;

use common::{bin, repo};
use etcdscope::cancel::Cancel;
use etcdscope::k8s::decoder::{DecodeOptions, Decoder};
use etcdscope::k8s::schema::Schemas;
use etcdscope::snapshot::Snapshot;
use etcdscope::source::Source;
use etcdscope::Error;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn decoder() -> Decoder {
    Decoder { schemas: Schemas::embedded().unwrap(), options: DecodeOptions::default(), encryption: None, etcd_prefix: "/registry".into() }
}

fn cancelled() -> Cancel {
    let c = Cancel::new();
    c.cancel();
    c
}

fn interrupted<T: std::fmt::Debug>(r: etcdscope::Result<T>, what: &str) {
    assert!(matches!(r, Err(Error::Interrupted)), "{what}: {r:?}");
}

/// The Kubernetes snapshot of the diff test data (real etcd 3.5.1): 18 objects.
fn objects_db() -> std::path::PathBuf {
    repo().join("testdata/diff-3.5.1/new.db")
}

fn get_query(cancel: Cancel) -> etcdscope::views::get::GetQuery {
    etcdscope::views::get::GetQuery {
        targets: Vec::new(),
        all_objects: true,
        namespace: etcdscope::k8s::key::Namespace::All,
        labels: Default::default(),
        fields: Default::default(),
        revision: 0,
        etcd_prefix: "/registry".into(),
        cancel,
    }
}

fn history_query(cancel: Cancel) -> etcdscope::views::history::HistoryQuery {
    etcdscope::views::history::HistoryQuery {
        target: etcdscope::views::history::Target::Prefix(Vec::new()),
        from_rev: None,
        to_rev: None,
        etcd_prefix: "/registry".into(),
        all_fields: false,
        cancel,
    }
}

fn kv_request(cancel: Cancel) -> etcdscope::views::kv_get::GetRequest {
    etcdscope::views::kv_get::GetRequest::range(etcdscope::etcd::KeyRange::prefix(b""), 0, cancel)
}

#[test]
fn a_cancelled_token_stops_every_view_before_its_first_item() {
    let source = Source::open(objects_db()).unwrap();
    let snap = Snapshot::open(&source).unwrap();
    let decoder = decoder();
    let mut visited = 0;
    let mut count = |()| {
        visited += 1;
        Ok(())
    };
    let started = Instant::now();
    interrupted(etcdscope::views::get::get_each(&snap, &get_query(cancelled()), &decoder, &mut |_| count(())), "get");
    interrupted(etcdscope::views::get::list_keys_each(&snap, "/registry", 0, &decoder, &cancelled(), &mut |_| count(())), "get --list-keys");
    interrupted(etcdscope::views::kv_get::get(&snap, &kv_request(cancelled())).map(|r| r.count), "kv get");
    interrupted(etcdscope::views::history::history_each(&snap, &history_query(cancelled()), &decoder, &mut |_| count(())).map(|s| s.events), "history");
    let old_source = Source::open(repo().join("testdata/diff-3.5.1/old.db")).unwrap();
    let old = Snapshot::open(&old_source).unwrap();
    let diff_query = etcdscope::views::diff::DiffQuery { etcd_prefix: "/registry".into(), cancel: cancelled(), ..Default::default() };
    interrupted(etcdscope::views::diff::diff(&old, &snap, &diff_query, &decoder).map(|d| d.entries.len()), "diff");
    let export = etcdscope::views::export::ExportOptions { cancel: cancelled(), history: true, ..Default::default() };
    interrupted(etcdscope::views::export::query::temporary_tables(&snap, &decoder, &export, &mut |_| {}).map(drop), "query's tables");
    assert_eq!(visited, 0, "nothing is handed out after the token was cancelled");
    assert!(started.elapsed() < Duration::from_secs(10), "every view stopped at once ({:?})", started.elapsed());
}

#[test]
fn a_token_cancelled_midway_stops_at_the_next_item() {
    let source = Source::open(objects_db()).unwrap();
    let snap = Snapshot::open(&source).unwrap();
    let decoder = decoder();
    // The visitor cancels on its third item: there is no fourth.
    let stop_at_three = |cancel: &Cancel, seen: &mut usize| {
        *seen += 1;
        if *seen == 3 {
            cancel.cancel();
        }
        Ok(())
    };

    let (cancel, mut seen) = (Cancel::new(), 0);
    let r = etcdscope::views::get::get_each(&snap, &get_query(cancel.clone()), &decoder, &mut |_| stop_at_three(&cancel, &mut seen));
    interrupted(r, "get");
    assert_eq!(seen, 3, "get");

    let (cancel, mut seen) = (Cancel::new(), 0);
    let r = etcdscope::views::get::list_keys_each(&snap, "/registry", 0, &decoder, &cancel, &mut |_| stop_at_three(&cancel, &mut seen));
    interrupted(r, "get --list-keys");
    assert_eq!(seen, 3, "get --list-keys");

    let (cancel, mut seen) = (Cancel::new(), 0);
    let r = etcdscope::views::history::history_each(&snap, &history_query(cancel.clone()), &decoder, &mut |_| stop_at_three(&cancel, &mut seen));
    interrupted(r.map(|s| s.events), "history");
    assert_eq!(seen, 3, "history");

    let cancel = Cancel::new();
    let response = etcdscope::views::kv_get::get(&snap, &kv_request(cancel.clone())).unwrap();
    assert!(response.kvs.len() > 4);
    let mut values = response.key_values();
    for _ in 0..3 {
        values.next().unwrap().unwrap();
    }
    cancel.cancel();
    interrupted(values.next().unwrap(), "kv get's key-values");
    interrupted(response.key_value(&response.kvs[0]), "kv get's key-value");
}

/// A statement that never returns a row is stopped by its token, and by its time limit.
#[test]
fn a_running_statement_is_stopped_by_its_token_or_its_time_limit() {
    use etcdscope::views::export::query::{run, temporary_tables, RunOptions};
    let source = Source::open(objects_db()).unwrap();
    let snap = Snapshot::open(&source).unwrap();
    let conn = temporary_tables(&snap, &decoder(), &Default::default(), &mut |_| {}).unwrap();
    let forever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";

    let cancel = Cancel::new();
    let later = cancel.clone();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        later.cancel();
    });
    let started = Instant::now();
    let r = run(&conn, forever, &RunOptions { cancel, timeout: None }, &mut |_| Ok(()));
    canceller.join().unwrap();
    interrupted(r, "a cancelled statement");
    assert!(started.elapsed() < Duration::from_secs(5), "stopped soon after the token ({:?})", started.elapsed());

    let started = Instant::now();
    let r = run(&conn, forever, &RunOptions { cancel: Cancel::new(), timeout: Some(Duration::from_millis(300)) }, &mut |_| Ok(()));
    assert!(matches!(r, Err(Error::TimedOut { limit, .. }) if limit == Duration::from_millis(300)), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "stopped soon after its limit ({:?})", started.elapsed());

    // The connection is still good for the next statement: an old interrupt does not linger.
    let mut rows = 0;
    run(&conn, "SELECT count(*) FROM kv", &RunOptions::default(), &mut |_| {
        rows += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(rows, 2, "the columns and one row");
}

/// Runs etcdscope with `args` writing to a pipe that the test stops reading once the first line
/// came, so the command is mid-run (blocked on its full output) when SIGINT comes; then reads
/// the rest. Returns (exit code, stderr, stdout, time from the signal to the exit).
fn interrupt_while_streaming(args: &[&std::ffi::OsStr]) -> (Option<i32>, String, Vec<u8>, Duration) {
    let mut child = Command::new(bin()).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("etcdscope runs");
    let stdout = child.stdout.take().unwrap();
    // The smallest pipe Linux allows: the command fills it (and its 64 KiB buffer) at once.
    // Best effort (refused if the command already wrote more): the outputs used here (264 KB to
    // 1 MB) exceed even a default 64 KiB pipe plus the command's buffer and ours.
    // SAFETY: fcntl on a pipe descriptor we own.
    unsafe { libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&stdout), libc::F_SETPIPE_SZ, 4096) };
    let mut reader = BufReader::with_capacity(4096, stdout);
    let mut first = Vec::new();
    reader.read_until(b'\n', &mut first).unwrap();
    assert!(first.ends_with(b"\n"), "a first line came: {:?}", String::from_utf8_lossy(&first));
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "{args:?} is still running, blocked on its output");
    // SAFETY: a signal to our own child, by its pid.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let signalled = Instant::now();
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    let status = child.wait().unwrap();
    let took = signalled.elapsed();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    first.extend(rest);
    (status.code(), err, first, took)
}

fn full_output(args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let o = Command::new(bin()).args(args).output().unwrap();
    assert!(matches!(o.status.code(), Some(0 | 1)), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

fn check_stopped_stream(args: &[&std::ffi::OsStr], whole_lines: impl Fn(&[u8]) -> bool) {
    let all = full_output(args);
    let (code, err, out, took) = interrupt_while_streaming(args);
    assert_eq!(code, Some(130), "{args:?}: {err}");
    assert!(err.contains("etcdscope: interrupted") && !err.contains("did not stop"), "{args:?}: {err}");
    assert!(took < Duration::from_millis(4500), "{args:?} stopped by itself, not by the last resort ({took:?})");
    assert!(out.len() < all.len(), "{args:?} was stopped midway ({} of {} bytes)", out.len(), all.len());
    assert!(all.starts_with(&out), "{args:?}: what was printed is the start of the whole output");
    assert!(whole_lines(&out), "{args:?}: the output so far ends at a whole record");
}

fn jsonl_lines(out: &[u8]) -> bool {
    out.ends_with(b"\n") && out.split(|&b| b == b'\n').filter(|l| !l.is_empty()).all(|l| serde_json::from_slice::<serde_json::Value>(l).is_ok())
}

#[test]
fn sigint_stops_get_while_it_streams() {
    let db = objects_db();
    check_stopped_stream(&["get".as_ref(), db.as_os_str(), "--all-objects".as_ref(), "-o".as_ref(), "jsonl".as_ref()], jsonl_lines);
}

#[test]
fn sigint_stops_history_while_it_streams() {
    let db = repo().join("testdata/etcd-3.5.1/snapshot.db");
    check_stopped_stream(&["history".as_ref(), db.as_os_str(), "".as_ref(), "--prefix".as_ref(), "-o".as_ref(), "jsonl".as_ref()], jsonl_lines);
}

#[test]
fn sigint_stops_kv_get_while_it_streams() {
    let db = repo().join("testdata/etcd-3.5.1/snapshot.db");
    // etcdctl's simple format: key and value lines; what was printed ends with a newline.
    check_stopped_stream(&["kv".as_ref(), "get".as_ref(), db.as_os_str(), "".as_ref(), "--prefix".as_ref()], |out| out.ends_with(b"\n"));
}
