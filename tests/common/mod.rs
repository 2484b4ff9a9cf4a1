//! Comparison of etcdscope's output with what etcd's own tools printed on the same data.
//! A recorded directory (testdata/etcd-<version>/ or one made live by scripts/make_testdata.py)
//! holds `snapshot.db`, `member-db`, `cases.json` and the outputs of etcdctl/etcdutl in
//! `expected/`. Nothing here computes an expectation itself.

#![allow(dead_code)]

pub mod big_db;
pub mod browser;
pub mod etcd_server;
pub mod fixtures;
pub mod k8s_wire;
pub mod serve;

#[allow(unused_imports)]
pub use fixtures::k8s_fixtures;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::Value;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_etcdscope"))
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(bin()).args(args).output().expect("etcdscope runs")
}

/// `etcdscope ARGS`: exit code, stdout and stderr as text.
pub fn out(args: &[&str]) -> (i32, String, String) {
    let os: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let o = run(&os);
    (o.status.code().unwrap(), String::from_utf8(o.stdout).unwrap(), String::from_utf8(o.stderr).unwrap())
}

/// The bin dirs of the etcd versions installed here (`scripts/etcd_bins.py --json`).
fn etcd_bin_dirs() -> Value {
    let out = Command::new("python3").arg(repo().join("scripts/etcd_bins.py")).arg("--json").output().expect("python3 runs scripts/etcd_bins.py");
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// The bin dir of etcd `version`; `None` (after a `SKIPPED:` line) when it is missing and
/// skipping is allowed. With ETCDSCOPE_REQUIRE_ETCD=1 (CI, scripts/test.sh) a missing version
/// fails the test.
pub fn bin_dir_or_skip(version: &str) -> Option<String> {
    if let Some(dir) = etcd_bin_dirs().get(version).and_then(Value::as_str) {
        return Some(dir.to_string());
    }
    let required = std::env::var("ETCDSCOPE_REQUIRE_ETCD").is_ok_and(|v| v == "1");
    assert!(!required, "etcd {version} is not installed (run scripts/install-etcd.sh); ETCDSCOPE_REQUIRE_ETCD=1 forbids skipping");
    eprintln!("SKIPPED: etcd {version} not installed and ETCDSCOPE_REQUIRE_ETCD is not 1");
    None
}

/// kubectl 1.35 (scripts/install-kubectl.sh): $ETCDSCOPE_KUBECTL, else the script's cache.
/// `None` (after a `SKIPPED:` line) when it is missing and skipping is allowed; with
/// ETCDSCOPE_REQUIRE_ETCD=1 (CI, scripts/test.sh: every real tool required) a missing kubectl
/// fails the test.
pub fn kubectl_or_skip() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|c| c.join("etcdscope/kubectl-v35/kubectl"));
    let found = std::env::var_os("ETCDSCOPE_KUBECTL").map(PathBuf::from).or(cache).filter(|p| p.is_file());
    if found.is_none() {
        let required = std::env::var("ETCDSCOPE_REQUIRE_ETCD").is_ok_and(|v| v == "1");
        assert!(!required, "kubectl 1.35 is not installed (run scripts/install-kubectl.sh); ETCDSCOPE_REQUIRE_ETCD=1 forbids skipping");
        eprintln!("SKIPPED: kubectl not installed (scripts/install-kubectl.sh) and ETCDSCOPE_REQUIRE_ETCD is not 1");
    }
    found
}

/// The Python with DuckDB and pyarrow (scripts/install-parquet-readers.sh), the engines
/// `export parquet` is judged by: $ETCDSCOPE_PARQUET_PYTHON, else the script's venv in the
/// cache. `None` (after a `SKIPPED:` line) when missing and skipping is allowed; with
/// ETCDSCOPE_REQUIRE_ETCD=1 (CI, scripts/test.sh: every real tool required) a missing reader
/// fails the test.
pub fn parquet_python_or_skip() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|c| c.join("etcdscope/parquet-readers/bin/python"));
    let found = std::env::var_os("ETCDSCOPE_PARQUET_PYTHON").map(PathBuf::from).or(cache).filter(|p| p.is_file());
    if found.is_none() {
        let required = std::env::var("ETCDSCOPE_REQUIRE_ETCD").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "DuckDB and pyarrow are not installed (run scripts/install-parquet-readers.sh, or set ETCDSCOPE_PARQUET_PYTHON); ETCDSCOPE_REQUIRE_ETCD=1 forbids skipping"
        );
        eprintln!("SKIPPED: DuckDB and pyarrow not installed (scripts/install-parquet-readers.sh) and ETCDSCOPE_REQUIRE_ETCD is not 1");
    }
    found
}

/// Runs `scripts/<script>` with `--etcdscope <our binary> --out <json>` and `args`, and returns
/// the JSON it recorded (etcd's answers; the script decides nothing).
pub fn recording(script: &str, args: &[&std::ffi::OsStr]) -> Value {
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("recorded.json");
    let status = Command::new("python3")
        .arg(repo().join("scripts").join(script))
        .arg("--etcdscope")
        .arg(bin())
        .arg("--out")
        .arg(&json)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("{script} runs: {e}"));
    assert!(status.success(), "{script} failed");
    serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap()
}

/// Of 3.5.1 and 3.4.23, the versions installed here (each missing one skipped or failed as
/// [`bin_dir_or_skip`] says).
pub fn installed_etcd_versions() -> Vec<&'static str> {
    ["3.5.1", "3.4.23"].into_iter().filter(|v| bin_dir_or_skip(v).is_some()).collect()
}

/// Runs etcdscope with `args`, stdout discarded; `(exit code, stderr)`. A run still going after
/// `limit` is killed and fails the test with `why` (a liveness check, not a timing test).
pub fn run_within(args: &[&std::ffi::OsStr], limit: std::time::Duration, why: &str) -> (Option<i32>, String) {
    let mut child = Command::new(bin()).args(args).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().expect("etcdscope runs");
    let status = wait_for_exit(&mut child, limit, &format!("{args:?}: {why}"));
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().expect("piped stderr"), &mut err).expect("stderr is text");
    (status.code(), err)
}

/// Waits for `child` at most `limit`; after that kills it (by its PID), reaps it and fails the
/// test with `why` (a liveness check, not a timing test).
pub fn wait_for_exit(child: &mut std::process::Child, limit: std::time::Duration, why: &str) -> std::process::ExitStatus {
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("child status") {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?}: {why}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A copy of the recorded 3.5.1 member's WAL and snap dirs: `<tmp>/member/{wal,snap}`.
pub fn wal_member_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let src = repo().join("testdata/wal-3.5.1/member");
    for sub in ["wal", "snap"] {
        std::fs::create_dir_all(tmp.path().join("member").join(sub)).unwrap();
        for e in std::fs::read_dir(src.join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), tmp.path().join("member").join(sub).join(e.file_name())).unwrap();
        }
    }
    tmp
}

/// Versions recorded under testdata/.
pub fn recorded_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo().join("testdata"))
        .expect("testdata/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("cases.json").is_file())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no recorded etcd data under testdata/");
    dirs
}

fn strip_ids(mut v: Value) -> Value {
    // cluster_id, member_id and raft_term describe the live server, not the data.
    if let Some(h) = v.get_mut("header").and_then(Value::as_object_mut) {
        h.remove("cluster_id");
        h.remove("member_id");
        h.remove("raft_term");
    }
    v
}

fn strip_id_lines(text: &[u8]) -> Vec<Vec<u8>> {
    text.split(|&b| b == b'\n')
        .filter(|l| !(l.starts_with(b"\"ClusterID\"") || l.starts_with(b"\"MemberID\"") || l.starts_with(b"\"RaftTerm\"")))
        .map(<[u8]>::to_vec)
        .collect()
}

/// etcdctl quotes `-w fields` strings with Go's %q, whose output for DEL (0x7f) changed in Go
/// 1.18: etcdctl 3.5.1 (Go 1.16) prints `\u007f`, Debian's 3.4.23 (newer Go) `\x7f`. We follow
/// 3.5.1, so 3.4.23's recording is read with that single escape mapped back.
fn go_quote_drift(dir: &Path, expected: Vec<u8>) -> Vec<u8> {
    if !dir.to_string_lossy().contains("3.4.") {
        return expected;
    }
    let text = String::from_utf8_lossy(&expected).replace("\\x7f", "\\u007f");
    text.into_bytes()
}

/// Compares one output of ours with etcdctl's; returns a description of the difference.
pub fn compare_get(format: &str, ours: &[u8], theirs: &[u8]) -> Result<(), String> {
    match format {
        "json" => {
            let a: Value = serde_json::from_slice(ours).map_err(|e| format!("our output is not JSON: {e}"))?;
            let b: Value = serde_json::from_slice(theirs).map_err(|e| format!("etcdctl output is not JSON: {e}"))?;
            let (a, b) = (strip_ids(a), strip_ids(b));
            (a == b).then_some(()).ok_or_else(|| format!("JSON differs\n ours:    {a}\n etcdctl: {b}"))
        }
        "fields" => {
            let (a, b) = (strip_id_lines(ours), strip_id_lines(theirs));
            (a == b)
                .then_some(())
                .ok_or_else(|| format!("fields differ\n ours:    {}\n etcdctl: {}", String::from_utf8_lossy(ours), String::from_utf8_lossy(theirs)))
        }
        _ => (ours == theirs)
            .then_some(())
            .ok_or_else(|| format!("output differs\n ours:    {:?}\n etcdctl: {:?}", String::from_utf8_lossy(ours), String::from_utf8_lossy(theirs))),
    }
}

/// Runs every recorded `etcdctl get` case against `db` (a snapshot, member db or data dir);
/// returns (cases run, failures).
pub fn check_get_cases(dir: &Path, db: &Path) -> (usize, Vec<String>) {
    let cases: Vec<Value> = serde_json::from_slice(&std::fs::read(dir.join("cases.json")).expect("cases.json")).expect("cases.json is JSON");
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap_or("?");
        let format = case["format"].as_str().expect("format");
        // Non-UTF-8 arguments are recorded exactly in args_b64.
        let args: Vec<OsString> = match case.get("args_b64").and_then(Value::as_array) {
            Some(b64) => b64.iter().map(|a| OsString::from_vec(B64.decode(a.as_str().expect("b64 arg")).expect("base64"))).collect(),
            None => case["args"].as_array().expect("args").iter().map(|a| OsString::from(a.as_str().expect("string arg"))).collect(),
        };
        let expected_code = case["exit_code"].as_i64().expect("exit_code");
        // A flag this etcdctl version does not have (3.4 lacks --count-only) is no ground truth.
        if expected_code != 0 && case["stderr"].as_str().is_some_and(|e| e.contains("unknown flag")) {
            println!("not applicable to {}: {name} ({format}): etcdctl has no such flag", dir.display());
            continue;
        }
        let mut cmd: Vec<&std::ffi::OsStr> = vec!["kv".as_ref(), "get".as_ref(), db.as_os_str()];
        cmd.extend(args.iter().map(OsString::as_os_str));
        cmd.extend(["-o".as_ref(), std::ffi::OsStr::new(format)]);
        let out = run(&cmd);
        let shown: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
        let label = format!("{} [{name}, {format}] etcdscope kv get {} {}", dir.display(), db.display(), shown.join(" "));
        if out.status.code() == Some(101) || String::from_utf8_lossy(&out.stderr).contains("panicked") {
            failures.push(format!("{label}: PANIC {}", String::from_utf8_lossy(&out.stderr)));
            continue;
        }
        if expected_code != 0 {
            if out.status.success() {
                failures.push(format!("{label}: etcdctl failed ({}) but we succeeded", case["stderr"]));
            }
            continue;
        }
        if !out.status.success() {
            failures.push(format!("{label}: we failed: {}", String::from_utf8_lossy(&out.stderr)));
            continue;
        }
        let expected = std::fs::read(dir.join(case["stdout"].as_str().expect("stdout path"))).expect("expected output file");
        let expected = if format == "fields" { go_quote_drift(dir, expected) } else { expected };
        if let Err(diff) = compare_get(format, &out.stdout, &expected) {
            failures.push(format!("{label}: {diff}"));
        }
    }
    (cases.len(), failures)
}

/// Our status JSON for `src`.
pub fn status_json(src: &Path) -> Value {
    let out = run(&["status".as_ref(), src.as_os_str(), "-o".as_ref(), "json".as_ref()]);
    assert!(out.status.success(), "status {} failed: {}", src.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("status JSON")
}

/// Checks etcdutl's (or 3.4 etcdctl's) `snapshot status -w json` fields against ours.
pub fn check_status(expected: &Value, ours: &Value) -> Result<(), String> {
    let obj = expected.as_object().ok_or("expected status is not an object")?;
    let mut diffs = Vec::new();
    for (k, v) in obj {
        if ours.get(k) != Some(v) {
            diffs.push(format!("{k}: etcd says {v}, we say {}", ours.get(k).unwrap_or(&Value::Null)));
        }
    }
    diffs.is_empty().then_some(()).ok_or_else(|| diffs.join("; "))
}

/// Exports `db` (`export sqlite --show-secrets`) and compares its `kv` rows, and
/// `source.revision`, with `etcdctl get "" --prefix -w json` of the same data.
pub fn check_export_kv(db: &Path, etcdctl_get: &Path) -> Result<usize, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = dir.path().join("kv.sqlite");
    let o = run(&["export".as_ref(), "sqlite".as_ref(), db.as_os_str(), out.as_os_str(), "--show-secrets".as_ref()]);
    if o.status.code() != Some(0) {
        return Err(format!("export {}: {}", db.display(), String::from_utf8_lossy(&o.stderr)));
    }
    let conn = rusqlite::Connection::open(&out).map_err(|e| e.to_string())?;
    type Row = (Vec<u8>, i64, i64, i64, i64, Vec<u8>, i64);
    let mut stmt =
        conn.prepare("SELECT key, create_revision, mod_revision, version, lease, value, value_size FROM kv ORDER BY key").map_err(|e| e.to_string())?;
    let ours: Vec<Row> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get::<_, Option<Vec<u8>>>(5)?.unwrap_or_default(), r.get(6)?)))
        .map_err(|e| e.to_string())?
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let expected: Value =
        serde_json::from_slice(&std::fs::read(etcdctl_get).map_err(|e| format!("{}: {e}", etcdctl_get.display()))?).map_err(|e| e.to_string())?;
    let b64 = |v: &Value| B64.decode(v.as_str().unwrap_or("")).unwrap_or_default();
    let int = |v: &Value| v.as_i64().unwrap_or(0);
    let theirs: Vec<Row> = expected["kvs"]
        .as_array()
        .ok_or("no kvs in etcdctl's output")?
        .iter()
        .map(|kv| {
            let value = b64(&kv["value"]);
            let size = value.len() as i64;
            (b64(&kv["key"]), int(&kv["create_revision"]), int(&kv["mod_revision"]), int(&kv["version"]), int(&kv["lease"]), value, size)
        })
        .collect();
    if ours.len() != theirs.len() {
        return Err(format!("{}: {} kv rows, etcdctl shows {}", db.display(), ours.len(), theirs.len()));
    }
    if let Some((o, t)) = ours.iter().zip(&theirs).find(|(o, t)| o != t) {
        return Err(format!("{}: key {:?}: export {o:?}, etcdctl {t:?}", db.display(), String::from_utf8_lossy(&t.0)));
    }
    let revision: i64 = conn.query_row("SELECT revision FROM source", [], |r| r.get(0)).map_err(|e| e.to_string())?;
    if revision != int(&expected["header"]["revision"]) {
        return Err(format!("{}: source.revision {revision}, etcdctl's header {}", db.display(), expected["header"]["revision"]));
    }
    Ok(ours.len())
}

/// `cmd` with a file size limit (RLIMIT_FSIZE) of `bytes`: a write past it fails as a full disk
/// does (EFBIG; SIGXFSZ is ignored so that it does not kill the process), with no root and no
/// mount needed.
pub fn with_file_size_limit(cmd: &mut std::process::Command, bytes: u64) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit and sigaction (through signal) are async-signal-safe; nothing else runs
    // between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 || libc::signal(libc::SIGXFSZ, libc::SIG_IGN) == libc::SIG_ERR {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Stores the puts of `manifest` (scripts/put_values.py's format: `key`, `value_file`, `txn`,
/// `if_value`) in a fresh real etcd 3.5.1 on free ports and saves a snapshot: returns
/// `dir/out`, holding `snapshot.db`, `puts.json` (each put's `mod_revision` as etcd returned it)
/// and, with `keep_member`, `data/member`.
pub fn put_with_real_etcd(dir: &Path, manifest: &[Value], keep_member: bool) -> PathBuf {
    let file = dir.join("puts.json");
    std::fs::write(&file, serde_json::to_vec(manifest).unwrap()).unwrap();
    let out = dir.join("out");
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(repo().join("scripts/put_values.py")).args(["--version", "3.5.1", "--random-ports"]);
    if keep_member {
        cmd.arg("--keep-member");
    }
    let status = cmd.arg("--manifest").arg(&file).arg("--out").arg(&out).status().unwrap();
    assert!(status.success(), "scripts/put_values.py failed");
    out
}

/// `testdata/DIR/ground.json`: what etcdctl answered when the fixture was made.
pub fn ground(dir: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo().join("testdata").join(dir).join("ground.json")).unwrap()).unwrap()
}

/// The class `diff` must give every key when the keyspace `new` (as etcdctl printed it from a
/// restored member: key → its `kvs` entry) is replaced by `old`: lost, reappear, revert (the
/// value differs), rewritten (same value, other revisions) or unchanged.
pub fn restore_classes<K: Ord + Clone>(
    old: &std::collections::BTreeMap<K, Value>,
    new: &std::collections::BTreeMap<K, Value>,
) -> std::collections::BTreeMap<K, &'static str> {
    let keys: std::collections::BTreeSet<&K> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .map(|k| {
            let class = match (old.get(k), new.get(k)) {
                (None, Some(_)) => "lost",
                (Some(_), None) => "reappear",
                (Some(a), Some(b)) if a.get("value") != b.get("value") => "revert",
                (Some(a), Some(b)) if a != b => "rewritten",
                _ => "unchanged",
            };
            (k.clone(), class)
        })
        .collect()
}
