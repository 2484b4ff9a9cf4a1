//! The command line as a user meets it: `-o` values named everywhere (help, completions, man,
//! and the refusal of an unknown one), unknown flags answered with the nearest known flag, and
//! `man --out DIR` writing one page per command. kubectl's `get` flags are judged by real
//! kubectl in tests/kubectl_print.rs; every flag's help text by the unit test in src/cli/mod.rs.

mod common;

use common::*;
use std::collections::BTreeSet;

fn db() -> String {
    repo().join("testdata/diff-3.5.1/new.db").display().to_string()
}

/// Every command with `-o`, and the values it takes, in the order help lists them.
const OUTPUTS: &[(&[&str], &[&str])] = &[
    (&["status"], &["table", "json"]),
    (&["decode"], &["json", "yaml"]),
    (&["get"], &["table", "wide", "json", "yaml", "name", "jsonl", "jsonpath=EXPR", "custom-columns=SPEC"]),
    (&["diff"], &["table", "json"]),
    (&["history"], &["table", "json", "jsonl", "yaml"]),
    (&["wal"], &["table", "json", "jsonl"]),
    (&["query"], &["table", "json", "jsonl", "csv"]),
    (&["check"], &["table", "json"]),
    (&["analyze"], &["table", "json"]),
    (&["salvage"], &["table", "json"]),
    (&["compare"], &["table", "json"]),
    (&["hash"], &["table", "json"]),
    (&["rebuild"], &["table", "json"]),
    (&["replay"], &["table", "json"]),
    (&["kv", "get"], &["simple", "json", "fields"]),
];

#[test]
fn every_output_flag_names_its_values_and_refuses_others_by_name() {
    for (command, values) in OUTPUTS {
        let listed = format!("[possible values: {}]", values.join(", "));
        let mut help = command.to_vec();
        help.push("-h");
        let (code, text, _) = out(&help);
        assert_eq!(code, 0);
        assert!(text.contains(&listed), "{command:?} -h does not list {listed}:\n{text}");
        let mut bad = command.to_vec();
        bad.extend(["-o", "yml"]);
        let (code, _, err) = out(&bad);
        assert_eq!(code, 2, "{command:?} -o yml");
        assert!(err.starts_with("error: invalid value 'yml' for '--output <FORMAT>'"), "{command:?}: {err}");
        assert!(err.contains(&listed), "{command:?} -o yml does not name the values: {err}");
        if values.contains(&"yaml") {
            assert!(err.contains("tip: a similar value exists: 'yaml'"), "{command:?}: {err}");
        }
    }
}

#[test]
fn completions_and_man_pages_list_the_output_values() {
    let (_, bash, _) = out(&["completions", "bash"]);
    assert!(bash.contains("table wide json yaml name jsonl jsonpath=EXPR custom-columns=SPEC"), "bash completion of get -o");
    assert!(bash.contains("simple json fields"), "bash completion of kv get -o");
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = out(&["man", "--out", &dir.path().display().to_string()]);
    assert_eq!(code, 0, "{err}");
    let get = std::fs::read_to_string(dir.path().join("etcdscope-get.1")).unwrap();
    for value in ["wide", "jsonpath=EXPR", "custom\\-columns=SPEC"] {
        assert!(get.contains(value), "etcdscope-get.1 does not name -o {value}");
    }
}

#[test]
fn get_output_keeps_every_spelling_and_its_messages_for_bad_specs() {
    let db = db();
    let (code, names, err) = out(&["get", &db, "pods", "-n", "team-a", "-o", "jsonpath={.items[*].metadata.name}"]);
    assert_eq!((code, names.as_str()), (0, "api-7c9-y1 stray-p web-5d4f-x1 web-5d4f-x2"), "{err}");
    let (code, table, err) = out(&["get", &db, "pods", "-n", "team-a", "--output=custom-columns=N:.metadata.name"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(table.lines().next(), Some("N"));
    for (spec, message) in [
        ("custom-columns=BAD", "etcdscope: error: custom-columns: \"BAD\" is not HEADER:JSONPATH\n"),
        ("custom-columns=", "etcdscope: error: custom-columns: no columns given\n"),
        (
            "custom-columns=A:.x[",
            "etcdscope: error: custom-columns A: unsupported jsonpath expression \".x[\" at byte 3 (supported: .field, ['field'], [n], [*], [?(@.f==\"v\")])\n",
        ),
        (
            "jsonpath={.items[}",
            "etcdscope: error: unsupported jsonpath expression \".items[\" at byte 7 (supported: .field, ['field'], [n], [*], [?(@.f==\"v\")])\n",
        ),
    ] {
        let (code, _, err) = out(&["get", &db, "pods", "-n", "team-a", "-o", spec]);
        assert_eq!((code, err.as_str()), (2, message), "-o {spec}");
    }
}

#[test]
fn an_unknown_flag_is_answered_with_the_nearest_known_flag() {
    let db = db();
    for (args, nearest) in [
        (vec!["get", db.as_str(), "pods", "--no-header"], "--no-headers"),
        (vec!["get", db.as_str(), "pods", "--show-label"], "--show-labels"),
        (vec!["get", db.as_str(), "pods", "--labels-columns", "app"], "--label-columns"),
        (vec!["get", db.as_str(), "pods", "--namespaces", "x"], "--namespace"),
        (vec!["status", db.as_str(), "--outptu", "json"], "--output"),
        (vec!["kv", "get", db.as_str(), "a", "--prefx"], "--prefix"),
    ] {
        let (code, _, err) = out(&args);
        assert_eq!(code, 2, "{args:?}");
        assert!(err.contains(&format!("tip: a similar argument exists: '{nearest}'")), "{args:?}: {err}");
        assert!(!err.contains("as a value"), "{args:?}: {err}");
    }
    // Nothing is close: the nearest flag all the same, never "to pass '--watch' as a value".
    let (code, _, err) = out(&["get", &db, "pods", "--watch"]);
    assert_eq!(code, 2);
    assert!(err.contains("tip: a similar argument exists: '--") && !err.contains("as a value"), "{err}");
}

/// The `etcdscope-…(1)` pages a man page refers to.
fn references(page: &str) -> BTreeSet<String> {
    let text = page.replace("\\-", "-");
    text.match_indices("etcdscope-")
        .filter_map(|(at, _)| {
            let rest = &text[at..];
            let end = rest.find("(1)")?;
            let name = &rest[..end];
            name.chars().all(|c| c.is_ascii_lowercase() || c == '-').then(|| format!("{name}.1"))
        })
        .collect()
}

#[test]
fn man_writes_one_page_per_command_and_refers_only_to_pages_it_writes() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("man1");
    let (code, printed, err) = out(&["man", "--out", &out_dir.display().to_string()]);
    assert_eq!(code, 0, "{err}");
    let written: BTreeSet<String> = std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    for page in [
        "etcdscope.1",
        "etcdscope-status.1",
        "etcdscope-get.1",
        "etcdscope-kv.1",
        "etcdscope-kv-get.1",
        "etcdscope-export.1",
        "etcdscope-export-sqlite.1",
        "etcdscope-man.1",
    ] {
        assert!(written.contains(page), "{page} not written: {written:?}");
    }
    assert!(!written.iter().any(|p| p.contains("help")), "no page for clap's help subcommand: {written:?}");
    assert_eq!(printed.lines().count(), written.len(), "one line per page written:\n{printed}");
    for page in &written {
        let text = std::fs::read_to_string(out_dir.join(page)).unwrap();
        assert!(text.contains(".TH "), "{page} is not roff");
        for reference in references(&text) {
            assert!(written.contains(&reference), "{page} refers to {reference}, which is not written");
        }
    }
    let top = std::fs::read_to_string(out_dir.join("etcdscope.1")).unwrap();
    assert!(references(&top).contains("etcdscope-status.1"), "the top page names the command pages");
    // Without --out the top page is printed, the same page.
    let (code, page, _) = out(&["man"]);
    assert_eq!((code, page), (0, top));
    // A page that exists is replaced only with --force.
    let (code, _, err) = out(&["man", "--out", &out_dir.display().to_string()]);
    assert_eq!(code, 2);
    assert!(err.contains("etcdscope.1: already exists (--force to replace it)"), "{err}");
    let (code, _, err) = out(&["man", "--out", &out_dir.display().to_string(), "--force"]);
    assert_eq!(code, 0, "{err}");
}

/// The kubectl flags on get's two raw paths, which kubectl has no counterpart for.
#[test]
fn get_key_and_list_keys_take_the_kubectl_flags_too() {
    let db = db();
    assert_eq!(out(&["get", &db, "--key", "/registry/pods/team-a/nope"]).0, 1);
    let (code, printed, err) = out(&["get", &db, "--key", "/registry/pods/team-a/nope", "--ignore-not-found"]);
    assert_eq!((code, printed.as_str(), err.as_str()), (0, "", ""));
    let (code, with, _) = out(&["get", &db, "--list-keys"]);
    let (_, without, _) = out(&["get", &db, "--list-keys", "--no-headers"]);
    assert_eq!(code, 0);
    assert!(with.starts_with("KEY "), "{with}");
    let rows: Vec<Vec<&str>> = with.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(without.lines().map(|l| l.split_whitespace().collect::<Vec<_>>()).collect::<Vec<_>>(), rows);
}
