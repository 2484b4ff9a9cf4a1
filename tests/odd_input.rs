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
