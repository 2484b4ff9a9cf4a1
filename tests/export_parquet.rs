//! `export parquet` judged by engines no one here wrote: DuckDB and pyarrow (PyPI,
//! scripts/install-parquet-readers.sh) read the datasets through tests/parquet/judge.py, which
//! prints what they saw; the assertions are here.
//!
//! - Every table of every testdata snapshot, read by both engines, equals `export sqlite
//!   --history` of the same snapshot column by column (under the documented differences), and
//!   every file has the documented types, zstd, dictionaries, statistics and bloom filters; so
//!   do tables of several row groups and parts, and objects with odd timestamps.
//! - A dataset of two snapshots of one cluster (made by real etcd) answers "in B, not in A" and
//!   "in A, not in B" as etcd's own restored members do (`diff`'s lost and reappear sets).
//! - A filter on cluster_id prunes files, one on kind or namespace row groups (DuckDB's EXPLAIN
//!   ANALYZE).
//! - Two exports of one snapshot give the same rows; two runs into one dataset, one after the
//!   other or at once, read as one.
//! - A snapshot already in the dataset is refused without --replace (nothing changes) and
//!   replaced with it; an interrupted --replace (SIGINT, or a cancelled token) leaves the old
//!   partition as it was and no staging directory; SIGINT among several inputs keeps those
//!   committed before it.
//! - Several inputs, one of them not a snapshot: the others are exported, exit 2.

mod common;

use common::{bin, repo};
use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The snapshots every table is compared on, with the options given to both exports: two etcd
/// versions, a Kubernetes keyspace, hostile keys (not UTF-8, markup) and a Secret (redacted and
/// shown), both snapshots of the diff pair and an older revision of one, and timestamps with
/// fractions of a second (MicroTime).
const SNAPSHOTS: [(&str, &[&str]); 9] = [
    ("etcd-3.5.1/snapshot.db", &[]),
    ("etcd-3.4.23/snapshot.db", &[]),
    ("serve-3.5.1/snapshot.db", &[]),
    ("ui-3.5.1/snapshot.db", &[]),
    ("diff-3.5.1/old.db", &[]),
    ("diff-3.5.1/new.db", &[]),
    ("diff-3.5.1/new.db", &["--rev", "50"]),
    ("ui-3.5.1/snapshot.db", &["--show-secrets"]),
    ("timeline-3.5.1/timeline.db", &[]),
];

fn testdata(path: &str) -> PathBuf {
    repo().join("testdata").join(path)
}

/// `etcdscope ARGS`: exit code, stdout, stderr (a panic fails the test).
fn etcdscope(args: &[&OsStr]) -> (i32, String, String) {
    let out = Command::new(bin()).args(args).output().expect("etcdscope runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "etcdscope {args:?} panicked: {stderr}");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// `export parquet SRC... --out DIR EXTRA...`, which must succeed; its stdout.
fn export(srcs: &[&Path], dir: &Path, extra: &[&str]) -> String {
    let mut args: Vec<&OsStr> = vec![OsStr::new("export"), OsStr::new("parquet")];
    args.extend(srcs.iter().map(|s| s.as_os_str()));
    args.extend([OsStr::new("--out"), dir.as_os_str()]);
    args.extend(extra.iter().map(OsStr::new));
    let (code, stdout, stderr) = etcdscope(&args);
    assert_eq!(code, 0, "export parquet {srcs:?} {extra:?}: {stderr}");
    stdout
}

/// The partition (`cluster_id` hex, `snapshot_revision`) a summary line names.
fn partition_of(line: &str) -> (String, i64) {
    let at = line.find("cluster_id=").unwrap_or_else(|| panic!("no partition in {line:?}"));
    let rest = &line[at + "cluster_id=".len()..];
    let (cluster, rest) = rest.split_once("/snapshot_revision=").unwrap();
    let revision: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (cluster.to_string(), revision.parse().unwrap())
}

/// Runs the judge with DuckDB's and pyarrow's Python; its JSON answer.
fn judge(python: &Path, args: &[&OsStr]) -> Value {
    let out = Command::new(python).arg(repo().join("tests/parquet/judge.py")).args(args).output().expect("the judge runs");
    assert!(out.status.success(), "judge.py {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("judge.py {args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn mismatches(answer: &Value) -> &Vec<Value> {
    answer["mismatches"].as_array().expect("mismatches")
}

/// `export sqlite SRC OUT EXTRA...`, which must succeed.
fn export_sqlite(src: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec![OsStr::new("export"), OsStr::new("sqlite"), src.as_os_str(), out.as_os_str()];
    args.extend(extra.iter().map(OsStr::new));
    let (code, _, stderr) = etcdscope(&args);
    assert_eq!(code, 0, "export sqlite {} {extra:?}: {stderr}", src.display());
}

/// What a file or directory under a dataset is: size, mtime (ns) and bytes (directories: their
/// mtime only when `dir_times`, which a staging directory made and removed inside changes).
/// Staging directories are left out.
type Listing = BTreeMap<PathBuf, (u64, i128, Vec<u8>)>;

fn listing(root: &Path, dir_times: bool) -> Listing {
    fn walk(root: &Path, dir: &Path, dir_times: bool, out: &mut Listing) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with(".staging")) {
                continue; // an export's own, looked at by staging_left
            }
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mtime = i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if meta.is_dir() {
                out.insert(rel, (0, if dir_times { mtime } else { 0 }, Vec::new()));
                walk(root, &path, dir_times, out);
            } else {
                out.insert(rel, (meta.len(), mtime, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Listing::new();
    walk(root, root, dir_times, &mut out);
    out
}

/// A listing with the directories' mtimes left out.
fn listing_without_dir_times(listing: &Listing) -> Listing {
    listing.iter().map(|(p, (len, mtime, bytes))| (p.clone(), (*len, if bytes.is_empty() && *len == 0 { 0 } else { *mtime }, bytes.clone()))).collect()
}

/// Names under the dataset's root that begin with `.staging.etcdscope-` (a staging directory
/// left behind).
fn staging_left(root: &Path) -> Vec<String> {
    std::fs::read_dir(root).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with(".staging")).collect()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Every string in `v`, and the bytes of every `{"b64": ...}` the judge printed for a binary.
fn all_bytes(v: &Value, out: &mut Vec<Vec<u8>>) {
    use base64::Engine;
    match v {
        Value::String(s) => out.push(s.as_bytes().to_vec()),
        Value::Array(a) => a.iter().for_each(|x| all_bytes(x, out)),
        Value::Object(o) => match o.get("b64").and_then(Value::as_str) {
            Some(b) if o.len() == 1 => out.push(base64::engine::general_purpose::STANDARD.decode(b).unwrap()),
            _ => o.values().for_each(|x| all_bytes(x, out)),
        },
        _ => {}
    }
}

#[test]
fn every_table_read_by_duckdb_and_pyarrow_equals_the_sqlite_export() {
    let Some(python) = common::parquet_python_or_skip() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut judged = Vec::new();
    for (n, (snapshot, extra)) in SNAPSHOTS.iter().enumerate() {
        let src = testdata(snapshot);
        let snapshot = format!("{snapshot} {}", extra.join(" "));
        // A dataset each: etcd-3.5.1 and etcd-3.4.23 were made by one script on the same ports,
        // so they are one cluster ID at one revision: one partition.
        let dataset = tmp.path().join(format!("dataset-{n}"));
        let sqlite = tmp.path().join(format!("export-{n}.sqlite"));
        let line = export(&[&src], &dataset, &[&["--history"], *extra].concat());
        export_sqlite(&src, &sqlite, &[&["--history"], *extra].concat());
        let (cluster, revision) = partition_of(&line);
        if let Some(rev) = extra.iter().position(|a| *a == "--rev").map(|i| extra[i + 1]) {
            assert_eq!(revision.to_string(), rev, "{snapshot}: --rev is the partition's revision");
        }
        let rev = revision.to_string();
        let answer = judge(&python, &[OsStr::new("compare"), dataset.as_os_str(), sqlite.as_os_str(), OsStr::new(&cluster), OsStr::new(&rev)]);
        assert!(mismatches(&answer).is_empty(), "{snapshot}: the engines read other rows than the SQLite export holds: {:#}", answer["mismatches"]);
        let tables = answer["tables"].as_object().unwrap();
        assert_eq!(tables.len(), 11, "{snapshot}: every table compared: {tables:?}");
        for table in ["source", "kv", "objects", "members", "buckets", "revisions"] {
            assert!(tables[table].as_u64() > Some(0), "{snapshot}: {table} has rows to compare: {tables:?}");
        }
        let types = judge(&python, &[OsStr::new("types"), dataset.as_os_str()]);
        assert!(mismatches(&types).is_empty(), "{snapshot}: files not as documented: {:#}", types["mismatches"]);
        assert_eq!(types["files"], 11, "{snapshot}: a file per table");
        judged.push((dataset, sqlite, cluster, rev));
    }

    // The judge can tell two snapshots apart: old.db's dataset is not new.db's SQLite export.
    let ((old, _, cluster, old_rev), (_, new_sqlite, _, _)) = (&judged[4], &judged[5]);
    let answer = judge(&python, &[OsStr::new("compare"), old.as_os_str(), new_sqlite.as_os_str(), OsStr::new(cluster), OsStr::new(old_rev)]);
    assert!(mismatches(&answer).len() > 5, "the judge saw no difference between old.db and new.db: {answer:#}");

    // The key that is not UTF-8 is read as its bytes, and the Secret's value is not in the
    // dataset without --show-secrets, and is with it.
    let (ui, ui_shown) = (&judged[3].0, &judged[7].0);
    let rows = judge(&python, &[OsStr::new("rows"), ui.as_os_str()]);
    let keys: Vec<&str> = rows["kv"].as_array().unwrap().iter().filter_map(|r| r[0]["b64"].as_str()).collect();
    assert!(keys.contains(&b64(b"/binary/\xff\x00<i>").as_str()), "the non-UTF-8 key as DuckDB read it: {keys:?}");
    let marker = common::ground("ui-3.5.1")["markers"]["secret"].as_str().unwrap().to_string();
    let mut values = Vec::new();
    all_bytes(&rows, &mut values);
    let holds = |needle: &[u8]| values.iter().any(|v| v.windows(needle.len()).any(|w| w == needle));
    assert!(holds(b"/registry/secrets/"), "the Secret is in the dataset");
    for needle in [marker.clone(), b64(marker.as_bytes())] {
        assert!(!holds(needle.as_bytes()), "the Secret's value ({needle}) is in the dataset");
    }
    let mut shown = Vec::new();
    all_bytes(&judge(&python, &[OsStr::new("rows"), ui_shown.as_os_str()]), &mut shown);
    let shows = |needle: &[u8]| shown.iter().any(|v| v.windows(needle.len()).any(|w| w == needle));
    assert!(shows(marker.as_bytes()) || shows(b64(marker.as_bytes()).as_bytes()), "--show-secrets: the Secret's value is not in the dataset");
}

/// testdata/diff-3.5.1/expected/NAME: what etcdctl printed from a restored member.
fn restored(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(testdata("diff-3.5.1/expected").join(name)).unwrap()).unwrap()
}

/// key (base64) → the KeyValue etcdctl printed.
fn keyspace(get: &Value) -> BTreeMap<String, Value> {
    get["kvs"].as_array().unwrap().iter().map(|kv| (kv["key"].as_str().unwrap().to_string(), kv.clone())).collect()
}

fn strings(v: &Value) -> std::collections::BTreeSet<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

#[test]
fn a_dataset_of_two_snapshots_answers_what_etcds_restored_members_hold() {
    let Some(python) = common::parquet_python_or_skip() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dataset = tmp.path().join("dataset");
    // Two runs into one dataset: A (old.db), then B (new.db).
    let (cluster_a, rev_a) = partition_of(&export(&[&testdata("diff-3.5.1/old.db")], &dataset, &[]));
    let (cluster_b, rev_b) = partition_of(&export(&[&testdata("diff-3.5.1/new.db")], &dataset, &[]));
    let (old, new) = (restored("restored-old.json"), restored("restored-new.json"));
    // The partitions are the cluster and revisions etcd itself reports.
    for (cluster, rev, etcd) in [(&cluster_a, rev_a, &old), (&cluster_b, rev_b, &new)] {
        assert_eq!(*cluster, format!("{:x}", etcd["header"]["cluster_id"].as_u64().unwrap()));
        assert_eq!(rev, etcd["header"]["revision"].as_i64().unwrap());
    }
    let answer =
        judge(&python, &[OsStr::new("sets"), dataset.as_os_str(), OsStr::new(&cluster_a), OsStr::new(&rev_a.to_string()), OsStr::new(&rev_b.to_string())]);
    // diff's classes as restoring old.db over new.db's cluster gives them: lost = only in B,
    // reappear = only in A.
    let classes = common::restore_classes(&keyspace(&old), &keyspace(&new));
    let of = |class: &str| classes.iter().filter(|(_, c)| **c == class).map(|(k, _)| k.clone()).collect::<std::collections::BTreeSet<_>>();
    let (lost, reappear) = (of("lost"), of("reappear"));
    assert!(!lost.is_empty() && !reappear.is_empty(), "the pair has keys of both classes");
    assert_eq!(strings(&answer["in_b_not_a"]), lost, "DuckDB's 'in B, not in A' is diff's lost set");
    assert_eq!(strings(&answer["in_a_not_b"]), reappear, "DuckDB's 'in A, not in B' is diff's reappear set");
}

#[test]
fn a_filter_on_cluster_id_reads_only_that_clusters_files() {
    let Some(python) = common::parquet_python_or_skip() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dataset = tmp.path().join("dataset");
    // Two clusters, in one call.
    let printed = export(&[&testdata("diff-3.5.1/old.db"), &testdata("serve-3.5.1/snapshot.db")], &dataset, &[]);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 2, "{printed}");
    let ((diff_cluster, _), (serve_cluster, _)) = (partition_of(lines[0]), partition_of(lines[1]));
    assert_ne!(diff_cluster, serve_cluster);
    let serve_objects: u64 = lines[1].split(" keys, ").nth(1).and_then(|r| r.split(' ').next()).unwrap().parse().unwrap();

    let answer = judge(&python, &[OsStr::new("explain"), dataset.as_os_str(), OsStr::new(&serve_cluster)]);
    assert_eq!(answer["files"], 2, "{answer:#}");
    assert_eq!(answer["count"].as_u64(), Some(serve_objects), "the filter finds the cluster's objects");
    let filtered = answer["filtered"].as_str().unwrap();
    for marker in ["File Filters", &format!("cluster_id = '{serve_cluster}'"), "Scanning Files: 1/2", "Total Files Read: 1"] {
        assert!(filtered.contains(marker), "DuckDB's plan does not show {marker:?}: the filter on cluster_id did not prune files:\n{filtered}");
    }
    let unfiltered = answer["unfiltered"].as_str().unwrap();
    assert!(unfiltered.contains("Total Files Read: 2"), "without the filter both files are read:\n{unfiltered}");
}

#[test]
fn two_exports_of_one_snapshot_give_identical_rows_and_two_runs_read_as_one() {
    let Some(python) = common::parquet_python_or_skip() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (first, second, other) = (tmp.path().join("first"), tmp.path().join("second"), tmp.path().join("other"));
    let serve = testdata("serve-3.5.1/snapshot.db");
    export(&[&serve], &first, &["--history"]);
    export(&[&serve], &second, &["--history"]);
    let rows = |d: &Path| judge(&python, &[OsStr::new("rows"), d.as_os_str()]);
    let (a, b) = (rows(&first), rows(&second));
    assert_eq!(a.as_object().unwrap().len(), 11, "every table read");
    assert!(a["objects"].as_array().unwrap().len() > 10);
    assert_eq!(a, b, "two exports of one snapshot read differently");

    // A second run adds its partitions: the dataset reads as both runs' together.
    let old = testdata("diff-3.5.1/old.db");
    export(&[&old], &first, &["--history"]);
    export(&[&old], &other, &["--history"]);
    let counts = |d: &Path| judge(&python, &[OsStr::new("counts"), d.as_os_str()]);
    let (together, alone_serve, alone_old) = (counts(&first), counts(&second), counts(&other));
    for (table, partitions) in together.as_object().unwrap() {
        let mut want = alone_serve.get(table).and_then(Value::as_object).cloned().unwrap_or_default();
        want.extend(alone_old.get(table).and_then(Value::as_object).cloned().unwrap_or_default());
        assert_eq!(partitions.as_object().unwrap(), &want, "{table}: the two runs' partitions, each with its rows");
    }
    assert_eq!(together["kv"].as_object().unwrap().len(), 2, "{together:#}");
}

#[test]
fn a_snapshot_already_in_the_dataset_is_refused_without_replace_and_replaced_with_it() {
    let Some(python) = common::parquet_python_or_skip() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dataset = tmp.path().join("dataset");
    let src = testdata("diff-3.5.1/new.db");
    let line = export(&[&src], &dataset, &["--history"]);
    let (cluster, revision) = partition_of(&line);
    let partition = format!("cluster_id={cluster}/snapshot_revision={revision}");
    assert!(dataset.join("revisions").join(&partition).is_dir());
    let before = listing(&dataset, true);

    let args = [OsStr::new("export"), OsStr::new("parquet"), src.as_os_str(), OsStr::new("--out"), dataset.as_os_str()];
    let (code, stdout, stderr) = etcdscope(&args);
    assert_ne!(code, 0, "exported again without --replace: {stdout}");
    assert!(stderr.contains("already holds") && stderr.contains(&partition) && stderr.contains("--replace"), "{stderr}");
    assert!(listing(&dataset, true) == before, "a refused export changed the dataset");

    // Among several inputs, the one already there is refused and the others exported (exit 2).
    let serve = testdata("serve-3.5.1/snapshot.db");
    let args = [OsStr::new("export"), OsStr::new("parquet"), src.as_os_str(), serve.as_os_str(), OsStr::new("--out"), dataset.as_os_str()];
    let (code, stdout, stderr) = etcdscope(&args);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("already holds") && stderr.contains("1 of 2 inputs not exported"), "{stderr}");
    assert!(stdout.starts_with(&serve.display().to_string()) && stdout.lines().count() == 1, "{stdout}");
    let serve_cluster = format!("cluster_id={}", partition_of(&stdout).0);
    let now: Listing = listing(&dataset, false).into_iter().filter(|(p, _)| !p.to_string_lossy().contains(&serve_cluster)).collect();
    assert!(now == listing_without_dir_times(&before), "the refused input's partitions changed");

    // With --replace (and without --history now): the new rows, and no revisions partition.
    let line = export(&[&src], &dataset, &["--replace"]);
    assert!(line.contains("(replaced)"), "{line}");
    assert!(!dataset.join("revisions").join(&partition).exists(), "the old export's revisions partition is left");
    assert!(staging_left(&dataset).is_empty());
    let rows = judge(&python, &[OsStr::new("rows"), dataset.as_os_str()]);
    assert!(rows.get("revisions").is_none(), "revisions rows remain: {:#}", rows["revisions"]);
    let source: Vec<&Value> = rows["source"].as_array().unwrap().iter().filter(|r| r[20] == cluster.as_str() && r[21] == revision).collect();
    assert_eq!(source.len(), 1, "one source row for the partition: {source:?}");
    assert_eq!(source[0][14], false, "source.history of the new export");
}

/// A db holding one key, put at `revision` (the last revision of a [`common::big_db::big_db`] of
/// `revision - 1` puts): the same partition, written in no time.
fn one_key_db(path: &Path, revision: i64) {
    let mut w = etcdscope::bolt::write::FileWriter::create(path, 4096).unwrap();
    let mut k = revision.to_be_bytes().to_vec();
    k.push(b'_');
    k.extend_from_slice(&0i64.to_be_bytes());
    let v = common::big_db::key_value(b"/small/only", revision, b"old partition");
    w.bucket(b"key", 0, [(k.as_slice(), v.as_slice())]).unwrap();
    w.bucket(b"meta", 0, std::iter::empty()).unwrap();
    w.finish(false).unwrap();
}

/// Whether a .parquet file is under `dir` (which may vanish meanwhile: false then).
fn holds_parquet(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    entries.flatten().any(|e| {
        let path = e.path();
        path.extension().is_some_and(|x| x == "parquet") || (e.file_type().is_ok_and(|t| t.is_dir()) && holds_parquet(&path))
    })
}

/// Waits until the export has a staging directory holding a file: it is mid-run.
fn wait_for_staging(dataset: &Path, child: &mut std::process::Child) {
    let started = Instant::now();
    loop {
        let staged = staging_left(dataset).iter().any(|s| holds_parquet(&dataset.join(s)));
        if staged {
            return;
        }
        assert!(child.try_wait().unwrap().is_none(), "the export ended before it could be interrupted");
        assert!(started.elapsed() < Duration::from_secs(60), "the export never staged a file");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sigint_during_replace_leaves_the_old_partition_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let (big, small, dataset) = (tmp.path().join("big.db"), tmp.path().join("small.db"), tmp.path().join("dataset"));
    // About 2 s of export with --history on a busy machine, its first files staged within the
    // first quarter of it.
    let puts = 500_000;
    common::big_db::big_db(&big, puts);
    one_key_db(&small, puts + 1);
    let cluster = ["--cluster-id", "5eed"];
    let line = export(&[&small], &dataset, &cluster);
    assert_eq!(partition_of(&line), ("5eed".to_string(), puts + 1));
    let before = listing(&dataset, false);

    let mut child = Command::new(bin())
        .args(["export", "parquet"])
        .arg(&big)
        .arg("--out")
        .arg(&dataset)
        .args(cluster)
        .args(["--replace", "--history"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_staging(&dataset, &mut child);
    assert!(child.try_wait().unwrap().is_none(), "the export ended before the signal");
    // SAFETY: a signal to the child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let status = common::wait_for_exit(&mut child, Duration::from_secs(30), "export parquet after SIGINT");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted") && !stderr.contains("panicked"), "{stderr}");
    assert!(staging_left(&dataset).is_empty(), "a staging directory is left: {:?}", staging_left(&dataset));
    assert!(listing(&dataset, false) == before, "the interrupted --replace changed the dataset");
}

#[test]
fn sigint_among_several_inputs_keeps_those_committed_and_adds_nothing_of_the_one_interrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let (big, dataset) = (tmp.path().join("big.db"), tmp.path().join("dataset"));
    common::big_db::big_db(&big, 500_000);
    let serve = testdata("serve-3.5.1/snapshot.db");
    let mut child = Command::new(bin())
        .args(["export", "parquet"])
        .arg(&serve)
        .arg(&big)
        .arg("--out")
        .arg(&dataset)
        .args(["--cluster-id", "5eed", "--history"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first input is in (its source partition committed: serve-3.5.1 is at revision 62),
    // the second staged.
    let started = Instant::now();
    while !dataset.join("source/cluster_id=5eed/snapshot_revision=62").is_dir() {
        assert!(child.try_wait().unwrap().is_none(), "the export ended before it could be interrupted");
        assert!(started.elapsed() < Duration::from_secs(60), "the first input was never committed");
        std::thread::sleep(Duration::from_millis(5));
    }
    let first = listing(&dataset, false);
    wait_for_staging(&dataset, &mut child);
    // SAFETY: a signal to the child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let status = common::wait_for_exit(&mut child, Duration::from_secs(30), "export parquet after SIGINT");
    let (mut stdout, mut stderr) = (String::new(), String::new());
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stdout.starts_with(&serve.display().to_string()) && stdout.lines().count() == 1, "the first input's line only: {stdout}");
    assert!(staging_left(&dataset).is_empty(), "a staging directory is left");
    assert!(listing(&dataset, false) == first, "the dataset is not as the first input left it");
    assert!(first.keys().any(|p| p.starts_with("kv/cluster_id=5eed")), "the first input's partitions");
}

#[test]
fn a_cancelled_replace_leaves_the_dataset_as_it_was() {
    use etcdscope::views::export::parquet::{export_parquet, ParquetOptions};
    let tmp = tempfile::tempdir().unwrap();
    let dataset = tmp.path().join("dataset");
    let src = testdata("diff-3.5.1/new.db");
    export(&[&src], &dataset, &["--history"]);
    let before = listing(&dataset, false);

    let source = etcdscope::source::Source::open(&src).unwrap();
    let snap = etcdscope::snapshot::Snapshot::open(&source).unwrap();
    let decoder = etcdscope::k8s::decoder::Decoder {
        schemas: etcdscope::k8s::schema::Schemas::embedded().unwrap(),
        options: Default::default(),
        encryption: None,
        etcd_prefix: "/registry".into(),
    };
    let parquet = ParquetOptions { replace: true, ..Default::default() };
    // Cancelled at the first progress report (mid-read), and cancelled before it begins.
    for cancel_first in [false, true] {
        let options = etcdscope::views::export::ExportOptions { history: true, ..Default::default() };
        if cancel_first {
            options.cancel.cancel();
        }
        let token = options.cancel.clone();
        let mut reports = 0;
        let r = export_parquet(&snap, &decoder, &dataset, &options, &parquet, &mut |_| {
            reports += 1;
            token.cancel();
        });
        assert!(matches!(r, Err(etcdscope::Error::Interrupted)), "cancelled first: {cancel_first}: {r:?}");
        assert!(cancel_first || reports > 0, "no progress was reported");
        assert!(staging_left(&dataset).is_empty(), "a staging directory is left");
        assert!(listing(&dataset, false) == before, "a cancelled --replace changed the dataset");
    }
}

#[test]
fn several_inputs_with_one_not_a_snapshot_export_the_others_and_exit_2() {
    let Some(python) = common::parquet_python_or_skip() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dataset = tmp.path().join("dataset");
    let bad = tmp.path().join("notes.db");
    std::fs::write(&bad, "not a bbolt file, whatever its name says\n".repeat(200)).unwrap();
    let (old, serve) = (testdata("diff-3.5.1/old.db"), testdata("serve-3.5.1/snapshot.db"));
    let args = [OsStr::new("export"), OsStr::new("parquet"), old.as_os_str(), bad.as_os_str(), serve.as_os_str(), OsStr::new("--out"), dataset.as_os_str()];
    let (code, stdout, stderr) = etcdscope(&args);
    assert_eq!(code, 2, "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "one line per exported input: {stdout}");
    assert!(lines[0].starts_with(&old.display().to_string()) && lines[1].starts_with(&serve.display().to_string()), "{stdout}");
    assert!(stderr.contains(&bad.display().to_string()) && stderr.contains("1 of 3 inputs not exported"), "{stderr}");
    assert!(staging_left(&dataset).is_empty());

    let want: std::collections::BTreeSet<String> =
        lines.iter().map(|l| partition_of(l)).map(|(c, r)| format!("cluster_id={c}/snapshot_revision={r}")).collect();
    let tables = std::fs::read_dir(&dataset).unwrap().map(|e| e.unwrap().path()).collect::<Vec<_>>();
    assert_eq!(tables.len(), 10, "every table but revisions: {tables:?}");
    for table in &tables {
        let got: std::collections::BTreeSet<String> = listing(table, false)
            .keys()
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .map(|p| p.parent().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(got, want, "{}: the good inputs' partitions, and only theirs", table.display());
    }
    // DuckDB reads each good input's keys.
    let counts = judge(&python, &[OsStr::new("counts"), dataset.as_os_str()]);
    for line in &lines {
        let (c, r) = partition_of(line);
        let keys: u64 = line.split(": ").nth(1).and_then(|s| s.split(' ').next()).unwrap().parse().unwrap();
        assert_eq!(counts["kv"][format!("{c}/{r}")].as_u64(), Some(keys), "{line}: {counts:#}");
    }
}

#[test]
fn two_runs_at_once_into_one_dataset_read_as_both() {
    let Some(python) = common::parquet_python_or_skip() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (dataset, alone) = (tmp.path().join("dataset"), tmp.path().join("alone"));
    let inputs = [testdata("diff-3.5.1/old.db"), testdata("diff-3.5.1/new.db"), testdata("serve-3.5.1/snapshot.db")];
    let spawn = |src: &Path| {
        Command::new(bin())
            .args(["export", "parquet"])
            .arg(src)
            .arg("--out")
            .arg(&dataset)
            .arg("--history")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut children: Vec<_> = inputs.iter().map(|s| spawn(s)).collect();
    for child in &mut children {
        let status = common::wait_for_exit(child, Duration::from_secs(60), "export parquet beside others");
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(status.success(), "{stderr}");
    }
    assert!(staging_left(&dataset).is_empty());
    let refs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    export(&refs, &alone, &["--history"]);
    let rows = |d: &Path| judge(&python, &[OsStr::new("rows"), d.as_os_str()]);
    let (together, one_after_another) = (rows(&dataset), rows(&alone));
    assert_eq!(together["source"].as_array().unwrap().len(), 3);
    assert_eq!(together, one_after_another, "three runs at once read differently from one run of three");
}

/// A db of `configmaps` ConfigMaps in namespace `alpha`, then `pods` Pods in namespace `beta`,
/// stored as JSON (as kube-apiserver with `--storage-media-type=application/json`), one
/// revision each: more rows than one row group holds.
fn objects_db(path: &Path, configmaps: i64, pods: i64) {
    let object = |kind: &str, namespace: &str, name: &str, n: i64| {
        serde_json::json!({
            "apiVersion": "v1",
            "kind": kind,
            "metadata": {"name": name, "namespace": namespace, "uid": format!("00000000-0000-4000-8000-{n:012}")},
        })
        .to_string()
    };
    let objects = (0..configmaps + pods).map(|n| {
        let (kind, resource, namespace) = if n < configmaps { ("ConfigMap", "configmaps", "alpha") } else { ("Pod", "pods", "beta") };
        let name = format!("{}-{n:07}", resource.trim_end_matches('s'));
        (format!("/registry/{resource}/{namespace}/{name}"), object(kind, namespace, &name, n))
    });
    json_objects_db(path, objects);
}

/// A db of `(key, JSON)` puts, one revision each from 2 on, in key order as given.
fn json_objects_db(path: &Path, objects: impl Iterator<Item = (String, String)>) {
    let mut entries = Vec::new();
    for (n, (key, json)) in objects.enumerate() {
        let revision = n as i64 + 2;
        let mut k = revision.to_be_bytes().to_vec();
        k.push(b'_');
        k.extend_from_slice(&0i64.to_be_bytes());
        entries.push((k, common::big_db::key_value(key.as_bytes(), revision, json.as_bytes())));
    }
    let mut w = etcdscope::bolt::write::FileWriter::create(path, 4096).unwrap();
    w.bucket(b"key", 0, entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))).unwrap();
    w.bucket(b"meta", 0, std::iter::empty()).unwrap();
    w.finish(false).unwrap();
}

#[test]
fn odd_timestamps_read_as_the_instants_sqlite_holds() {
    let Some(python) = common::parquet_python_or_skip() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (db, dataset, sqlite) = (tmp.path().join("times.db"), tmp.path().join("dataset"), tmp.path().join("export.sqlite"));
    let times = [
        "1969-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "2026-03-01T12:00:00+02:00",
        "2026-03-01T10:00:00.123456Z",
        "2026-03-01T10:00:00.123456789Z",
        "1969-12-31T23:59:59.999999Z",
        "2026-02-30T10:00:00Z",
        "yesterday",
    ];
    let objects = times.iter().enumerate().map(|(n, t)| {
        let name = format!("cm-{n}");
        let json = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "times", "creationTimestamp": t, "deletionTimestamp": t}});
        (format!("/registry/configmaps/times/{name}"), json.to_string())
    });
    json_objects_db(&db, objects);
    let line = export(&[&db], &dataset, &["--history"]);
    export_sqlite(&db, &sqlite, &["--history"]);
    let (cluster, revision) = partition_of(&line);
    let answer = judge(&python, &[OsStr::new("compare"), dataset.as_os_str(), sqlite.as_os_str(), OsStr::new(&cluster), OsStr::new(&revision.to_string())]);
    let brief: Vec<String> = mismatches(&answer)
        .iter()
        .map(|m| match m.get("row") {
            Some(row) => format!("{} {} {}: parquet {} sqlite {} ({})", m["table"], m["reader"], m["column"], m["parquet"], m["sqlite"], row[0]),
            None => m.to_string(),
        })
        .collect();
    assert!(brief.is_empty(), "{brief:#?}");
    assert_eq!(answer["tables"]["objects"], times.len());
}

#[test]
fn a_filter_on_kind_or_namespace_skips_row_groups() {
    let Some(python) = common::parquet_python_or_skip() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (db, dataset) = (tmp.path().join("objects.db"), tmp.path().join("dataset"));
    let (configmaps, pods) = (100_000, 60_000);
    objects_db(&db, configmaps, pods);
    export(&[&db], &dataset, &["--cluster-id", "0b1ec75"]);
    // The rows are in key order: the ConfigMaps of `alpha` fill the first row group and part of
    // the second, which the Pods of `beta` end. A filter on ConfigMap or alpha skips the second
    // (its statistics say Pod and beta only); one on Pod reads both (the control).
    for (column, value, want, scanned) in
        [("kind", "ConfigMap", configmaps, "1 / 2"), ("namespace", "alpha", configmaps, "1 / 2"), ("kind", "Pod", pods, "2 / 2")]
    {
        let answer = judge(&python, &[OsStr::new("skip"), dataset.as_os_str(), OsStr::new(column), OsStr::new(value)]);
        let plan = answer["plan"].as_str().unwrap();
        assert_eq!(answer["row_groups"], 2, "{column} = {value}: the objects are in two row groups");
        assert_eq!(answer["count"].as_i64(), Some(want), "{column} = {value}");
        assert!(plan.contains(&format!("Row Groups Scanned: {scanned}")), "{column} = {value}: DuckDB did not scan {scanned} row groups:\n{plan}");
    }
}

#[test]
fn rows_across_row_groups_and_parts_read_as_the_sqlite_export() {
    let Some(python) = common::parquet_python_or_skip() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (db, dataset, sqlite) = (tmp.path().join("objects.db"), tmp.path().join("dataset"), tmp.path().join("export.sqlite"));
    // Just over one row group (122,880 rows) of kv and objects.
    objects_db(&db, 63_000, 60_000);
    // --part-size 1: a new file after every row group.
    let line = export(&[&db], &dataset, &["--part-size", "1"]);
    export_sqlite(&db, &sqlite, &[]);
    let (cluster, revision) = partition_of(&line);
    let objects = dataset.join("objects").join(format!("cluster_id={cluster}/snapshot_revision={revision}"));
    let mut parts: Vec<String> = std::fs::read_dir(&objects).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    parts.sort();
    assert_eq!(parts, ["part-0.parquet", "part-1.parquet"], "{line}");
    let answer = judge(&python, &[OsStr::new("compare"), dataset.as_os_str(), sqlite.as_os_str(), OsStr::new(&cluster), OsStr::new(&revision.to_string())]);
    assert!(mismatches(&answer).is_empty(), "{:#}", answer["mismatches"]);
    assert_eq!(answer["tables"]["objects"], 123_000);
}
