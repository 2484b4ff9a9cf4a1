//! `query` as an operator runs it on a bad day: a statement that never ends is stopped by its
//! time limit or by Ctrl-C (exit 130, nothing left in the temporary directory), a second
//! statement is refused instead of dropped, and `-o csv` is RFC 4180 as Python's csv module reads
//! it (the reader, not our own code, is the judge).

mod common;

use common::{bin, repo, run};
use std::ffi::OsStr;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Counts forever: SQLite's recursive CTE queue never empties and count(*) never returns a row.
const FOREVER: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";

fn snapshot() -> std::path::PathBuf {
    repo().join("testdata/etcd-3.5.1/snapshot.db")
}

fn query(sql: &str, extra: &[&str]) -> std::process::Output {
    let db = snapshot();
    let mut args: Vec<&OsStr> = vec!["query".as_ref(), db.as_os_str(), sql.as_ref()];
    args.extend(extra.iter().map(OsStr::new));
    run(&args)
}

/// Waits for `child` at most `limit`; kills it and fails with `why` after that.
fn wait_within(child: &mut Child, limit: Duration, why: &str) -> (Option<i32>, String) {
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("child status") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?}: {why}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child.stderr.as_mut().expect("piped stderr").read_to_string(&mut err).expect("stderr is text");
    (status.code(), err)
}

#[test]
fn a_statement_that_never_ends_is_stopped_by_its_timeout() {
    let db = snapshot();
    let started = Instant::now();
    let mut child = Command::new(bin())
        .args([OsStr::new("query"), db.as_os_str(), OsStr::new(FOREVER), OsStr::new("--timeout"), OsStr::new("1")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("etcdscope runs");
    let (code, err) = wait_within(&mut child, Duration::from_secs(30), "--timeout 1 did not stop the statement");
    assert_eq!(code, Some(2), "a timeout is exit 2: {err}");
    assert!(err.contains("--timeout 1") && err.contains("longer than"), "the message names the limit: {err}");
    assert!(started.elapsed() < Duration::from_secs(20), "stopped within a few seconds of its limit ({:?})", started.elapsed());
    // Without a limit given, the default (60 s) is in force: a quick statement is untouched;
    // so it is under the largest limit that can be written.
    for extra in [&[][..], &["--timeout", "18446744073709551615"][..]] {
        let quick = query("SELECT count(*) AS n FROM kv", &[extra, &["-o", "jsonl"]].concat());
        assert_eq!(quick.status.code(), Some(0), "{extra:?}: {}", String::from_utf8_lossy(&quick.stderr));
        assert_eq!(String::from_utf8_lossy(&quick.stdout), "{\"n\":3046}\n");
    }
}

#[test]
fn ctrl_c_stops_a_running_statement_and_leaves_nothing_behind() {
    let db = snapshot();
    // SQLite puts its private temporary database (and any spill files) here.
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin())
        .args([OsStr::new("query"), db.as_os_str(), OsStr::new(FOREVER), OsStr::new("--timeout"), OsStr::new("0")])
        .env("SQLITE_TMPDIR", tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("etcdscope runs");
    // Building the tables of this snapshot takes well under a second; then the statement runs.
    std::thread::sleep(Duration::from_secs(3));
    assert!(child.try_wait().unwrap().is_none(), "the statement is still running (--timeout 0: no limit)");
    // SAFETY: a signal to our own child, by its pid.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let signalled = Instant::now();
    // The CLI's last resort exits 130 too, 5 s after the signal: stopping must come before it.
    let (code, err) = wait_within(&mut child, Duration::from_secs(30), "SIGINT did not stop the statement");
    assert_eq!(code, Some(130), "{err}");
    assert!(signalled.elapsed() < Duration::from_millis(4500), "the statement itself stopped ({:?} after the signal)", signalled.elapsed());
    assert!(err.contains("etcdscope: interrupted") && !err.contains("did not stop"), "{err}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left in SQLITE_TMPDIR: {left:?}");
}

#[test]
fn one_statement_only() {
    for sql in ["SELECT 1 AS a; SELECT 2 AS b", "SELECT 1 AS a;SELECT 2", "SELECT 1 AS a; DELETE FROM kv", "SELECT 1 AS a; nonsense"] {
        for format in ["jsonl", "json", "csv", "table"] {
            let o = query(sql, &["-o", format]);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{sql:?}: {err}");
            assert!(err.contains("one statement"), "{sql:?}: {err}");
            assert!(o.stdout.is_empty(), "{sql:?} -o {format}: nothing runs, nothing is printed: {}", String::from_utf8_lossy(&o.stdout));
        }
    }
    for sql in ["SELECT 1 AS a;", "SELECT 1 AS a;  -- done\n", "/* first */ SELECT 1 AS a /* last */ ;\n\n", "SELECT 1 AS a;;", "SELECT ';' AS a"] {
        let o = query(sql, &["-o", "jsonl"]);
        assert_eq!(o.status.code(), Some(0), "{sql:?}: {}", String::from_utf8_lossy(&o.stderr));
        let want = if sql.contains("';'") { "{\"a\":\";\"}\n" } else { "{\"a\":1}\n" };
        assert_eq!(String::from_utf8_lossy(&o.stdout), want, "{sql:?}");
    }
    let empty = query("-- nothing\n;", &[]);
    assert_eq!(empty.status.code(), Some(2), "no statement at all is refused: {}", String::from_utf8_lossy(&empty.stderr));
}

/// Python's csv module reads `csv_text` back: the rows as JSON.
fn python_csv(csv_text: &[u8]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    std::fs::write(&path, csv_text).unwrap();
    let o = Command::new("python3")
        .args(["-c", "import csv, json, sys; csv.field_size_limit(sys.maxsize); print(json.dumps(list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))))"])
        .arg(&path)
        .output()
        .expect("python3 runs");
    assert!(o.status.success(), "python3: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn csv_is_read_back_by_pythons_csv_module() {
    let sql = "SELECT 'a,b' AS \"comma,name\", 'say \"hi\"' AS quote, 'one' || char(10) || 'two' AS lf, 'cr' || char(13) AS cr, \
               'x' || char(13, 10) || 'y' AS crlf, NULL AS null_cell, '' AS empty, x'00ff10' AS blob, 1.5 AS real, 42 AS int, ' pad ' AS spaces, \
               'é ü' AS utf8";
    let o = query(sql, &["-o", "csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = python_csv(&o.stdout);
    let want = serde_json::json!([
        ["comma,name", "quote", "lf", "cr", "crlf", "null_cell", "empty", "blob", "real", "int", "spaces", "utf8"],
        ["a,b", "say \"hi\"", "one\ntwo", "cr\r", "x\r\ny", "", "", "AP8Q", "1.5", "42", " pad ", "é ü"]
    ]);
    assert_eq!(rows, want, "as written:\n{}", String::from_utf8_lossy(&o.stdout));
    // The bytes themselves: quoted only where RFC 4180 needs it, quotes doubled, LF line ends.
    let expected = "\"comma,name\",quote,lf,cr,crlf,null_cell,empty,blob,real,int,spaces,utf8\n\
                    \"a,b\",\"say \"\"hi\"\"\",\"one\ntwo\",\"cr\r\",\"x\r\ny\",,,AP8Q,1.5,42, pad ,é ü\n";
    assert_eq!(String::from_utf8_lossy(&o.stdout), expected);

    // A row of one empty cell is still a row (an empty line would be read as no field at all).
    let o = query("SELECT NULL AS n UNION ALL SELECT '' UNION ALL SELECT 'x'", &["-o", "csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(python_csv(&o.stdout), serde_json::json!([["n"], [""], [""], ["x"]]), "as written: {:?}", String::from_utf8_lossy(&o.stdout));

    // Real rows: every key under /sort/ of the real snapshot, its bytes as etcd stored them.
    let o = query("SELECT key_text, value FROM kv WHERE key_text LIKE '/%' ORDER BY key", &["-o", "csv"]);
    assert_eq!(o.status.code(), Some(0));
    let rows = python_csv(&o.stdout);
    let rows = rows.as_array().unwrap();
    let jsonl = query("SELECT key_text, value FROM kv WHERE key_text LIKE '/%' ORDER BY key", &["-o", "jsonl"]);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&jsonl.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), lines.len() + 1, "one CSV record per row, whatever the keys and values hold");
    for (row, line) in rows[1..].iter().zip(&lines) {
        assert_eq!(row[0], line["key_text"]);
        assert_eq!(row[1], line["value"].as_str().map_or(serde_json::json!(""), |s| serde_json::json!(s)));
    }
}
