//! Odd input to the commands: endless and over-long `decode` input, hostile `--proto-path`
//! trees (symlink loops, FIFOs, device directories, too many or too large files), and names
//! with control bytes stored by a real etcd. Each must be answered promptly, in bounded memory,
//! with a message saying what is wrong, and nothing from the file may reach a terminal raw.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A small stored value (a JSON ConfigMap) as one `--stream` line.
fn value_line() -> String {
    let value = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}"#;
    value.iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n"
}

/// The resident memory of a running process, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

#[test]
fn decode_stream_answers_an_over_long_line_and_goes_on() {
    // Line 2 is the hex of a value larger than any etcd can hold (over 10 MiB).
    let mut input = value_line();
    input.push_str(&"6b".repeat(11 << 20));
    input.push('\n');
    input.push_str(&value_line());
    let mut child = Command::new(bin()).args(["decode", "--stream"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(lines.len(), 3, "one answer per line: {:?}", lines.iter().map(|l| &l[..l.len().min(100)]).collect::<Vec<_>>());
    assert!(lines[0].starts_with("OK|{"), "{}", lines[0]);
    assert!(lines[1].starts_with("ERROR:line 2: longer than ") && lines[1].ends_with('|'), "{}", lines[1]);
    assert!(lines[2].starts_with("OK|{"), "the stream goes on after it: {}", lines[2]);
}

#[test]
fn decode_stream_of_zeros_is_answered_in_bounded_memory() {
    // /dev/zero has no newline: it used to be read as one line until a 2 GiB allocation aborted.
    let zero = std::fs::File::open("/dev/zero").unwrap();
    let mut child = Command::new(bin()).args(["decode", "--stream"]).stdin(zero).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let answer = rx.recv_timeout(Duration::from_secs(20));
    // Still reading zeros (the stream goes on): its memory must stay small.
    std::thread::sleep(Duration::from_millis(500));
    let rss = rss_kib(pid);
    let _ = child.kill();
    let _ = child.wait();
    let answer = answer.expect("an answer for the endless line within 20 s");
    assert!(answer.starts_with("ERROR:line 1: longer than "), "{answer}");
    assert!(rss > 0 && rss < 256 << 10, "resident memory {rss} KiB while reading zeros");
}

#[test]
fn decode_of_an_endless_stdin_is_refused() {
    let zero = std::fs::File::open("/dev/zero").unwrap();
    let started = Instant::now();
    let out = Command::new(bin()).arg("decode").stdin(zero).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("larger than") && err.contains("stdin"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

// ---- --proto-path: a bounded walk of regular files ---------------------------------------------

const WIDGET: &str = "syntax = \"proto2\";\npackage test.v1;\nmessage Widget { optional string name = 1; }\n";

/// A value file for `decode` to read while it loads `--proto-path`.
fn value_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("value.json");
    std::fs::write(&path, br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}"#).unwrap();
    path
}

/// `decode VALUE --proto-path DIR`, killed (and failed) if it runs past 20 s.
fn decode_with_proto_path(proto_path: &std::path::Path) -> (Option<i32>, String) {
    let tmp = tempfile::tempdir().unwrap();
    let value = value_file(tmp.path());
    run_within(
        &[std::ffi::OsStr::new("decode"), value.as_os_str(), "--proto-path".as_ref(), proto_path.as_os_str()],
        Duration::from_secs(20),
        "the --proto-path walk is bounded",
    )
}

#[test]
fn proto_path_follows_no_symlink_loop() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("widget.proto"), WIDGET).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::os::unix::fs::symlink(".", dir.path().join("self")).unwrap();
    std::os::unix::fs::symlink("..", dir.path().join("sub/up")).unwrap();
    std::os::unix::fs::symlink("loop-b", dir.path().join("loop-a")).unwrap();
    std::os::unix::fs::symlink("loop-a", dir.path().join("loop-b")).unwrap();
    let (code, err) = decode_with_proto_path(dir.path());
    assert_eq!(code, Some(0), "{err}");
    // Each directory is read once, whatever the links: the file is loaded once, not as
    // self/widget.proto, self/self/widget.proto, ….
    let started = Instant::now();
    let schemas = etcdscope::k8s::schema::Schemas::with_proto_path(dir.path()).unwrap();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(schemas.message("test.v1.Widget").is_some());
}

#[test]
fn proto_path_refuses_a_fifo_named_proto() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("widget.proto"), WIDGET).unwrap();
    let fifo = dir.path().join("pipe.proto");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    let (code, err) = decode_with_proto_path(dir.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("pipe.proto") && err.contains("fifo") && err.contains("regular files"), "{err}");
}

#[test]
fn proto_path_over_a_device_directory_ends_with_a_message() {
    let (code, err) = decode_with_proto_path(std::path::Path::new("/dev"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--proto-path /dev"), "{err}");
}

#[test]
fn proto_path_walk_is_bounded_in_depth_files_entries_and_bytes() {
    // Deeper than 32 directories.
    let deep = tempfile::tempdir().unwrap();
    let mut path = deep.path().to_path_buf();
    for i in 0..40 {
        path.push(format!("d{i}"));
    }
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(path.join("widget.proto"), WIDGET).unwrap();
    let (code, err) = decode_with_proto_path(deep.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("deep"), "{err}");

    // More .proto files than any real tree holds (kubernetes/api has about 60).
    let many = tempfile::tempdir().unwrap();
    for i in 0..10_001 {
        std::fs::write(many.path().join(format!("f{i}.proto")), "").unwrap();
    }
    let (code, err) = decode_with_proto_path(many.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("10000 .proto files"), "{err}");

    // More directory entries than a walk looks at (a home directory or / by mistake).
    let wide = tempfile::tempdir().unwrap();
    for i in 0..100_001 {
        std::fs::File::create(wide.path().join(format!("n{i}"))).unwrap();
    }
    let (code, err) = decode_with_proto_path(wide.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("100000 entries"), "{err}");

    // More bytes than any real tree: a sparse 65 MiB .proto is refused without being read.
    let big = tempfile::tempdir().unwrap();
    std::fs::write(big.path().join("widget.proto"), WIDGET).unwrap();
    std::fs::File::create(big.path().join("huge.proto")).unwrap().set_len(65 << 20).unwrap();
    let (code, err) = decode_with_proto_path(big.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("huge.proto") && err.contains("MiB"), "{err}");

    // A directory without a .proto file gives nothing to add: said, not ignored.
    let empty = tempfile::tempdir().unwrap();
    let (code, err) = decode_with_proto_path(empty.path());
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no .proto file"), "{err}");
}

// ---- names with control bytes: escaped wherever they are printed -------------------------------

/// A name with ESC (a colour change), BEL, a newline and a right-to-left override (which
/// reverses what a terminal shows after it: U+202E then "exe.txt" reads "txt.exe"), as a real etcd stores
/// it under a ConfigMap's key and in the object's own metadata.name.
const EVIL: &str = "ev\u{1b}[31mil\u{7}na\nme\u{202e}txt";

/// Characters a human-readable output must never print raw: they reorder or hide what follows
/// (bidi overrides and isolates, zero-width format characters, line separators).
const INVISIBLE: [char; 4] = ['\u{202e}', '\u{2066}', '\u{200b}', '\u{2028}'];

/// Stores a ConfigMap named [`EVIL`] (and a plain one) in a real etcd 3.5.1; returns the temp
/// dir holding `out/snapshot.db` and `out/data/member`.
fn snapshot_with_evil_names() -> Option<tempfile::TempDir> {
    bin_dir_or_skip("3.5.1")?;
    let tmp = tempfile::tempdir().unwrap();
    let mut puts = Vec::new();
    // The namespace named EVIL holds the most bytes, so `analyze` names it in its notes too.
    for (i, (namespace, name, size)) in [("default", EVIL, 1), ("default", "plain", 1), (EVIL, "big", 20_000)].into_iter().enumerate() {
        let value =
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": {"k": name.repeat(size)}});
        let file = tmp.path().join(format!("value-{i}"));
        std::fs::write(&file, value.to_string()).unwrap();
        puts.push(serde_json::json!({"key": format!("/registry/configmaps/{namespace}/{name}"), "value_file": file}));
    }
    put_with_real_etcd(tmp.path(), &puts, true);
    Some(tmp)
}

#[test]
fn names_with_control_bytes_never_reach_the_terminal_raw() {
    let Some(tmp) = snapshot_with_evil_names() else { return };
    let snap = tmp.path().join("out/snapshot.db").display().to_string();
    let data = tmp.path().join("out/data").display().to_string();
    // Every command and format that prints keys or names from the file, except those that
    // print raw by design: `kv get` (etcdctl's bytes) and `get -o jsonpath` (kubectl's text).
    let mut runs: Vec<Vec<String>> = Vec::new();
    let s = |items: &[&str]| items.iter().map(|i| i.to_string()).collect::<Vec<_>>();
    for format in ["table", "wide", "name", "json", "yaml", "jsonl", "custom-columns=NAME:.metadata.name,DATA:.data.k"] {
        runs.push(s(&["get", &snap, "configmaps", "-o", format]));
    }
    runs.push(s(&["get", &snap, "--all-objects", "-o", "name"]));
    runs.push(s(&["get", &snap, "configmaps", "-A"]));
    for format in ["table", "json"] {
        runs.push(s(&["get", &snap, "--list-keys", "-o", format]));
    }
    for format in ["table", "json", "jsonl", "yaml"] {
        runs.push(s(&["history", &snap, "configmaps", "-o", format]));
        runs.push(s(&["history", &snap, "/registry/configmaps/", "--prefix", "-o", format]));
    }
    for extra in [vec!["-o", "json"], vec!["--details"], vec![]] {
        runs.push([s(&["diff", &snap, &snap, "--rev-old", "1"]), s(&extra)].concat());
    }
    for format in ["table", "json", "csv"] {
        runs.push(s(&["query", &snap, "SELECT key_text, name FROM objects", "-o", format]));
    }
    for by in ["namespace", "resource", "prefix"] {
        runs.push(s(&["analyze", &snap, "--by", by]));
    }
    for format in ["json", "jsonl"] {
        runs.push(s(&["wal", &data, "-o", format]));
    }
    runs.push(s(&["compare", &snap, &data]));
    runs.push(s(&["check", &snap]));
    let mut leaks = Vec::new();
    for args in &runs {
        let out = Command::new(bin()).args(args).output().unwrap();
        assert!(out.status.code().is_some_and(|c| c <= 2), "{args:?}");
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let text = String::from_utf8_lossy(bytes);
            // Machine formats carry the name as the API server does (JSON escapes only what
            // JSON must); everything else is for a person and shows it escaped.
            let machine = args.iter().any(|a| ["json", "jsonl", "yaml", "csv"].contains(&a.as_str())) && stream == "stdout";
            let invisible = !machine && text.contains(INVISIBLE);
            if bytes.iter().any(|b| matches!(b, 0x1b | 0x07)) || text.contains("na\nme") || invisible {
                leaks.push(format!("{args:?} {stream}:\n{}", text.escape_debug()));
            }
        }
    }
    assert!(leaks.is_empty(), "control bytes from the file reached the terminal raw:\n{}", leaks.join("\n"));
    // `-o name` shows the name escaped as tables do.
    let out = Command::new(bin()).args(["get", &snap, "configmaps", "-o", "name"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "configmap/ev\\x1b[31mil\\x07na\\x0ame\\u{202e}txt\nconfigmap/plain\n");
}
