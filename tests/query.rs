//! `query` as an operator runs it on a bad day: a statement that never ends is stopped by its
//! time limit or by Ctrl-C (exit 130, nothing left in the temporary directory), a second
//! statement is refused instead of dropped, and `-o csv` is RFC 4180 as Python's csv module reads
//! it (the reader, not our own code, is the judge).

mod common;

use common::{bin, repo, run, wait_for_exit};
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
    let status = wait_for_exit(child, limit, why);
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
        .args([
            "-c",
            "import csv, json, sys; csv.field_size_limit(sys.maxsize); print(json.dumps(list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))))",
        ])
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

/// What one run printed, and the child's peak resident memory.
struct Measured {
    code: Option<i32>,
    /// Bytes printed on stdout (read as they came, never kept whole).
    printed: u64,
    /// The first 64 KiB of stdout.
    head: Vec<u8>,
    stderr: String,
    /// The kernel's peak resident set of etcdscope, in bytes (`ru_maxrss` from wait4(2): what
    /// /usr/bin/time prints as %M, kept by the kernel rather than sampled).
    peak_rss: u64,
    took: Duration,
}

/// Starts etcdscope (argv[2:]) and writes its `ru_maxrss` (KiB) to the file argv[1]. A process
/// started straight from this test would not do: the kernel counts, in a process's peak, the
/// image it replaced at exec, here the whole test process with every output it kept; python's
/// image is small.
const SPAWN_AND_MEASURE: &str = "import os, sys
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
open(sys.argv[1], 'w').write(str(usage.ru_maxrss))
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
";

/// Runs etcdscope with `args`, its stdout read and counted as it comes; a run still going
/// after `limit` is killed and fails the test (a liveness bound, not a timing test).
fn measured(args: &[&OsStr], limit: Duration) -> Measured {
    use std::os::unix::process::CommandExt;
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let usage = dir.path().join("maxrss");
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(SPAWN_AND_MEASURE)
        .arg(&usage)
        .arg(bin())
        .args(args)
        // Its own process group, so that a run past its limit is killed with etcdscope.
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let (mut printed, mut head, mut buf) = (0u64, Vec::new(), vec![0u8; 1 << 16]);
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => return (printed, head),
                Ok(n) => {
                    printed += n as u64;
                    let room = (1usize << 16).saturating_sub(head.len()).min(n);
                    head.extend_from_slice(&buf[..room]);
                }
            }
        }
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("child status") {
            break status;
        }
        if started.elapsed() > limit {
            // SAFETY: a signal to the process group this test made (python3 and etcdscope).
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
            let _ = child.wait();
            panic!("{args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    let (printed, head) = out.join().unwrap();
    let stderr = err.join().unwrap();
    let kib: u64 = std::fs::read_to_string(&usage).ok().and_then(|s| s.trim().parse().ok()).unwrap_or_else(|| panic!("no peak RSS recorded: {stderr}"));
    Measured { code: status.code(), printed, head, stderr, peak_rss: kib * 1024, took }
}

fn query_args<'a>(db: &'a std::path::Path, sql: &'a str, extra: &[&'a str]) -> Vec<&'a OsStr> {
    let mut args: Vec<&OsStr> = vec!["query".as_ref(), db.as_os_str(), sql.as_ref()];
    args.extend(extra.iter().map(|s| OsStr::new(*s)));
    args
}

/// A million rows of about 210 bytes: 200 MB to print, from a statement that needs no table.
const MANY_ROWS: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) SELECT x AS n, printf('%0200d', x) AS wide FROM c";

const MIB: u64 = 1 << 20;

#[test]
fn a_large_result_is_printed_in_bounded_memory() {
    let db = snapshot();
    for format in ["table", "jsonl", "csv", "json"] {
        let m = measured(&query_args(&db, MANY_ROWS, &["-o", format]), Duration::from_secs(120));
        assert_eq!(m.code, Some(0), "-o {format}: {}", m.stderr);
        assert!(m.printed > 190 * MIB, "-o {format}: the whole result was printed ({} bytes)", m.printed);
        // Holding the result (or the table's text) would take more than the result itself.
        assert!(m.peak_rss < 150 * MIB, "-o {format}: peak RSS {} MiB for {} MiB printed", m.peak_rss / MIB, m.printed / MIB);
        eprintln!("-o {format}: {} MiB printed, peak RSS {} MiB, {:?}", m.printed / MIB, m.peak_rss / MIB, m.took);
    }
}

#[test]
fn a_value_longer_than_the_limit_is_refused_at_once() {
    let db = snapshot();
    for n in ["100000000", "1000000000"] {
        let sql = format!("SELECT zeroblob({n}) AS z");
        for format in ["table", "jsonl", "csv", "json"] {
            let m = measured(&query_args(&db, &sql, &["-o", format]), Duration::from_secs(60));
            assert_eq!(m.code, Some(2), "{sql} -o {format}: {}", m.stderr);
            assert!(m.stderr.contains("too big") && m.stderr.contains("64 MiB"), "{sql} -o {format}: the message names the limit: {}", m.stderr);
            assert!(m.took < Duration::from_secs(10), "{sql} -o {format}: refused at once ({:?})", m.took);
            assert!(m.peak_rss < 150 * MIB, "{sql} -o {format}: peak RSS {} MiB", m.peak_rss / MIB);
            assert_eq!(m.printed, 0, "{sql} -o {format}: nothing printed");
        }
    }
    // Just under the limit, the value is printed whole, and not copied over and over on the way.
    let m = measured(&query_args(&db, "SELECT zeroblob(50000000) AS z", &["-o", "jsonl"]), Duration::from_secs(60));
    assert_eq!(m.code, Some(0), "{}", m.stderr);
    assert_eq!(m.printed, "{\"z\":\"\"}\n".len() as u64 + 50_000_000 / 3 * 4 + 4, "the whole value in base64");
    assert!(m.head.starts_with(b"{\"z\":\"AAAA"), "{:?}", String::from_utf8_lossy(&m.head[..20]));
    assert!(m.peak_rss < 200 * MIB, "peak RSS {} MiB for a 48 MiB value", m.peak_rss / MIB);
}

/// A db whose only key holds a value longer than the limit on what a statement makes.
fn db_with_a_long_value(path: &std::path::Path, len: usize) {
    let mut w = etcdscope::bolt::write::FileWriter::create(path, 4096).unwrap();
    let mut key = 2i64.to_be_bytes().to_vec();
    key.push(b'_');
    key.extend_from_slice(&0i64.to_be_bytes());
    let value = common::big_db::key_value(b"/long/value", 2, &vec![b'v'; len]);
    w.bucket(b"key", 0, [(key.as_slice(), value.as_slice())]).unwrap();
    w.bucket(b"meta", 0, std::iter::empty()).unwrap();
    w.finish(false).unwrap();
}

#[test]
fn a_stored_value_longer_than_the_limit_is_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("long.db");
    let len = 70 << 20;
    db_with_a_long_value(&db, len);
    let o = run(&query_args(&db, "SELECT key_text, length(value) AS n, value_size FROM kv", &["-o", "jsonl"]));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout), format!("{{\"key_text\":\"/long/value\",\"n\":{len},\"value_size\":{len}}}\n"));
    let m = measured(&query_args(&db, "SELECT value FROM kv", &["-o", "csv"]), Duration::from_secs(60));
    assert_eq!(m.code, Some(0), "{}", m.stderr);
    assert_eq!(m.printed, "value\n".len() as u64 + (len as u64).div_ceil(3) * 4 + 1, "the stored value, whole, in base64");
    // What a statement makes from it is bounded, all the same.
    let o = run(&query_args(&db, "SELECT value || value AS twice FROM kv", &["-o", "jsonl"]));
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn the_table_takes_its_widths_from_the_first_rows_then_streams() {
    // 501 rows: the widths come from the header and the first 500; the 501st is wider.
    let sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 501) \
               SELECT CASE WHEN x = 501 THEN 'longer-than-the-rest' ELSE 'n' || x END AS name, x FROM c";
    let o = query(sql, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 502);
    assert_eq!(lines[0], "name  x");
    assert_eq!(lines[1], "n1    1");
    assert_eq!(lines[500], "n500  500");
    assert_eq!(lines[501], "longer-than-the-rest  501", "a later, wider cell pushes only its own line");
    // Fewer rows than that: aligned on all of them, as before.
    let o = query("SELECT 'a' AS name, 1 AS x UNION ALL SELECT 'longer', 22", &[]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "name    x\na       1\nlonger  22\n");
}

#[test]
fn a_long_table_cell_is_cut_and_says_so() {
    // 4095 ASCII characters, then 'é' (2 bytes, across the 4096-byte mark), then "zz".
    let sql = "SELECT substr(hex(zeroblob(2048)), 1, 4095) || 'é' || 'zz' AS t, 1 AS one";
    let o = query(sql, &["-o", "table"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let row = text.lines().nth(1).unwrap();
    let tail: String = row.chars().skip(4000).collect();
    assert!(row == format!("{}…[+4 bytes]  1", "0".repeat(4095)), "cut at a whole character, the rest counted: {} chars, ending {tail:?}", row.chars().count());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("1 cell") && err.contains("4096 bytes") && err.contains("-o jsonl"), "{err}");
    // The other formats print it whole.
    let o = query(sql, &["-o", "jsonl"]);
    assert!(String::from_utf8_lossy(&o.stdout) == format!("{{\"t\":\"{}ézz\",\"one\":1}}\n", "0".repeat(4095)), "the whole value");
    assert!(o.stderr.is_empty());
}

/// Runs etcdscope with `args` writing to a pipe the test reads slowly (64 KiB every 50 ms); once
/// output came and the command is mid-print, sends `signal` (when given) and reads the rest.
/// Returns (exit code, stderr, bytes printed, time from the first output, or the signal, to the exit).
fn slow_reader(args: &[&OsStr], signal: Option<libc::c_int>) -> (Option<i32>, String, u64, Duration) {
    let mut child = Command::new(bin()).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("etcdscope runs");
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let mut printed = stdout.read(&mut buf).unwrap() as u64;
    assert!(printed > 0, "{args:?}: output came");
    let from = Instant::now();
    let mut signalled = None;
    loop {
        if let (None, Some(signal)) = (signalled, signal) {
            if from.elapsed() > Duration::from_millis(500) {
                assert!(child.try_wait().unwrap().is_none(), "{args:?} is still printing");
                // SAFETY: a signal to our own child, by its pid.
                assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
                signalled = Some(Instant::now());
            }
        }
        assert!(from.elapsed() < Duration::from_secs(60), "{args:?} still printing after a minute");
        std::thread::sleep(Duration::from_millis(50));
        match stdout.read(&mut buf).unwrap() {
            0 => break,
            n => printed += n as u64,
        }
    }
    let status = child.wait().unwrap();
    let took = signalled.unwrap_or(from).elapsed();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (status.code(), err, printed, took)
}

#[test]
fn ctrl_c_stops_a_long_print_by_itself() {
    let db = snapshot();
    // 200,000 rows (42 MB): minutes at the reader's pace.
    let rows = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT x AS n, printf('%0200d', x) AS wide FROM c";
    let cases: [(&str, &str); 5] = [(rows, "table"), (rows, "jsonl"), (rows, "csv"), (rows, "json"), ("SELECT zeroblob(60000000) AS z", "jsonl")];
    for (sql, format) in cases {
        let (code, err, printed, took) = slow_reader(&query_args(&db, sql, &["-o", format, "--timeout", "0"]), Some(libc::SIGINT));
        assert_eq!(code, Some(130), "{sql} -o {format}: {err}");
        assert!(err.contains("etcdscope: interrupted") && !err.contains("did not stop"), "{sql} -o {format}: stopped by its own check: {err}");
        // The last resort exits 5 s after the signal: this must come well before.
        assert!(took < Duration::from_millis(4500), "{sql} -o {format}: {took:?} after the signal");
        assert!(printed < 30 * MIB, "{sql} -o {format}: stopped midway ({printed} bytes)");
    }
}

#[test]
fn the_time_limit_holds_while_printing() {
    let db = snapshot();
    let (code, err, printed, took) = slow_reader(&query_args(&db, "SELECT zeroblob(60000000) AS z", &["-o", "jsonl", "--timeout", "2"]), None);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--timeout 2"), "{err}");
    assert!(took < Duration::from_secs(8), "stopped soon after its limit ({took:?}, {printed} bytes printed)");
}
