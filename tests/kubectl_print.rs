//! `get`'s kubectl flags judged by real kubectl 1.35 (scripts/install-kubectl.sh): --show-labels,
//! -L/--label-columns, --no-headers, --ignore-not-found, --chunk-size and "No resources found".
//!
//! kubectl prints what an API server gives it, so scripts/kubectl_api.py stands in for
//! kube-apiserver: it serves, for pods, configmaps and deployments of testdata/diff-3.5.1/new.db,
//! the table our plain `get TYPE -A` prints (its columns and cells, as server-side printing
//! would) with each row's object metadata from our `get -o json`, and the objects themselves
//! when kubectl asks for them (custom-columns). kubectl then adds the label columns, the
//! namespace and kind prefixes, drops the headers, lays the table out and decides what goes to
//! stderr and the exit code; our output for the same flags must be byte for byte the same.

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// One reference time for every AGE cell, ours and the server's alike.
const NOW: &str = "2026-07-03T12:00:00Z";

fn db() -> PathBuf {
    repo().join("testdata/diff-3.5.1/new.db")
}

fn ours(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin()).arg("get").arg(db()).args(args).args(["--now", NOW]).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// (group, version, resource, kind, singular) of the types served.
const TYPES: &[(&str, &str, &str, &str, &str)] =
    &[("", "v1", "pods", "Pod", "pod"), ("", "v1", "configmaps", "ConfigMap", "configmap"), ("apps", "v1", "deployments", "Deployment", "deployment")];

/// The server's view of one type: our plain table across namespaces, without the NAMESPACE
/// column kubectl adds itself, and the objects its rows show.
fn served_type(t: &(&str, &str, &str, &str, &str)) -> Value {
    served_selection(t, "")
}

/// [`served_type`] for lists with a field selector: the rows it selects, as our `get` selects
/// them, or, when the library refuses the selector for this resource, the API server's refusal
/// (which the server answers with a 400 BadRequest Status).
fn served_selection(&(group, version, resource, kind, singular): &(&str, &str, &str, &str, &str), field_selector: &str) -> Value {
    let info = etcdscope::k8s::resources::built_in().into_iter().find(|r| r.group == group && r.resource == resource).unwrap();
    if let Err(refusal) = etcdscope::k8s::select::FieldSelector::parse(field_selector).and_then(|f| f.for_resource(&info)) {
        return json!({"group": group, "version": version, "resource": resource, "kind": kind, "singular": singular, "namespaced": true,
            "columns": ["NAME"], "rows": [], "refusal": refusal.message});
    }
    let (code, table, err) = ours(&[resource, "-A", "--no-headers", "--field-selector", field_selector]);
    assert_eq!(code, 0, "{err}");
    let (code, list, err) = ours(&[resource, "-A", "-o", "json", "--field-selector", field_selector]);
    assert_eq!(code, 0, "{err}");
    let objects = serde_json::from_str::<Value>(&list).unwrap()["items"].as_array().unwrap().clone();
    // The columns are the type's whatever is selected (an empty selection prints no header).
    let (code, header, err) = ours(&[resource, "-A"]);
    assert_eq!(code, 0, "{err}");
    let columns: Vec<String> = header.lines().next().unwrap().split_whitespace().skip(1).map(String::from).collect();
    let lines = table.lines().map(|l| l.split_whitespace().skip(1).map(String::from).collect::<Vec<_>>());
    let rows: Vec<Value> = lines
        .zip(&objects)
        .map(|(cells, object)| {
            assert_eq!(cells.len(), columns.len(), "a {resource} cell holds a space; the table cannot be split: {cells:?}");
            assert_eq!(object["metadata"]["name"].as_str(), Some(cells[0].as_str()));
            json!({"cells": cells, "object": object})
        })
        .collect();
    assert_eq!(rows.len(), objects.len());
    json!({"group": group, "version": version, "resource": resource, "kind": kind, "singular": singular, "namespaced": true, "columns": columns, "rows": rows})
}

/// scripts/kubectl_api.py, stopped when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &Path) -> (Server, u16) {
    serve_types(dir, TYPES.iter().map(served_type).collect())
}

fn serve_types(dir: &Path, types: Vec<Value>) -> (Server, u16) {
    let spec = dir.join("spec.json");
    std::fs::write(&spec, serde_json::to_vec(&json!({ "types": types })).unwrap()).unwrap();
    let mut child = Command::new("python3").arg(repo().join("scripts/kubectl_api.py")).arg(&spec).stdout(Stdio::piped()).spawn().unwrap();
    let mut port = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut port).unwrap();
    let port = port.trim().parse().unwrap_or_else(|e| panic!("kubectl_api.py printed no port ({e}): {port:?}"));
    (Server(child), port)
}

fn kubeconfig(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{port}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    namespace: default\ncurrent-context: c\nusers:\n- name: u\n  user: {{}}\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn kubectl(kubectl: &Path, dir: &Path, config: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(kubectl)
        .env("HOME", dir)
        .arg("--kubeconfig")
        .arg(config)
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .arg("get")
        .args(args)
        .output()
        .unwrap();
    (out.status.code().unwrap(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// The message of one error line, without the program's own prefix.
fn message(stderr: &str) -> String {
    stderr.lines().map(|l| l.trim_start_matches("etcdscope: ").trim_start_matches("error: ")).collect::<Vec<_>>().join("\n")
}

const CASES: &[&[&str]] = &[
    &["pods", "-n", "team-a"],
    &["pods", "-n", "team-a", "--show-labels"],
    &["pods,configmaps", "-A", "--show-labels", "-L", "app", "-L", "pod-template-hash,example.com/tier"],
    &["pods,deployments.apps", "-n", "team-a", "--no-headers", "-L", "app"],
    &["configmaps", "-A", "--no-headers", "--show-labels", "--chunk-size", "1"],
    &["pods", "-n", "team-a", "-o", "custom-columns=NAME:.metadata.name,APP:.metadata.labels.app", "--no-headers"],
    &["pods", "-n", "team-a", "-o", "name", "--show-labels"],
    &["pods", "-n", "team-a", "-o", "json", "--show-labels"],
    &["pods", "nope", "-n", "team-a"],
    &["pods", "nope", "-n", "team-a", "--ignore-not-found"],
    &["pods", "web-5d4f-x1", "nope", "-n", "team-a", "--ignore-not-found", "-L", "app"],
    &["pods", "nope", "-n", "team-a", "-o", "json", "--ignore-not-found"],
    &["pods", "-n", "nothing-here"],
    &["pods", "-n", "nothing-here", "--ignore-not-found"],
    &["pods", "web-5d4f-x1", "-n", "team-a", "-l", "app=web"],
    &["pods/web-5d4f-x1", "-n", "team-a", "--field-selector", "metadata.name=web-5d4f-x1"],
];

#[test]
fn get_prints_kubectls_flags_as_kubectl_does() {
    let Some(kubectl_bin) = kubectl_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = serve(dir.path());
    let config = kubeconfig(dir.path(), port);
    let mut failures = Vec::new();
    for args in CASES {
        let theirs = kubectl(&kubectl_bin, dir.path(), &config, args);
        let ours = ours(args);
        let shown = args.join(" ");
        if ours.1 != theirs.1 {
            failures.push(format!("get {shown}: stdout differs\n--- kubectl\n{}--- etcdscope\n{}", theirs.1, ours.1));
        }
        if message(&ours.2) != message(&theirs.2) {
            failures.push(format!("get {shown}: stderr differs\n--- kubectl\n{}--- etcdscope\n{}", theirs.2, ours.2));
        }
        // kubectl exits 1 on any error; we exit 1 for what was not found, 2 for a usage error.
        if (ours.0 == 0) != (theirs.0 == 0) || (theirs.2.contains("NotFound") && ours.0 != theirs.0) {
            failures.push(format!("get {shown}: exit {} (kubectl: {})", ours.0, theirs.0));
        }
    }
    assert!(failures.is_empty(), "{} differences from kubectl in {} cases:\n{}", failures.len(), CASES.len(), failures.join("\n"));
}

/// Field selectors: each case served as its own cluster whose API server selects the rows our
/// `get` selects and refuses, with a 400 BadRequest Status in the library's words, the types
/// the library says refuse it. kubectl then decides what is printed where and the exit code;
/// ours must be the same, but for the resource kubectl names with its version
/// (`"/v1, Resource=configmaps"`), which `get` names as a type (`"configmaps"`).
const FIELD_SELECTOR_CASES: &[(&[&str], &str)] = &[
    (&["pods", "-A"], "status.phase=Running"),
    (&["pods", "-n", "team-a"], "spec.nodeName=node-2,status.phase!=Succeeded"),
    (&["pods,configmaps", "-A"], "status.phase=Running"),
    (&["configmaps", "-n", "team-a"], "status.phase=Running"),
    (&["pods,deployments.apps", "-n", "team-a", "-o", "name"], "spec.nodeName=node-2"),
    (&["configmaps,pods", "-A", "-o", "name"], "spec.nodeName=node-1"),
    (&["pods,configmaps", "-A", "--ignore-not-found"], "status.phase=Nope"),
    (&["pods,configmaps", "-A"], "status.phase"),
    (&["pods", "-n", "team-a", "-o", "name"], r"metadata.name=a\x"),
];

#[test]
fn a_refused_field_selector_is_printed_as_kubectl_prints_the_servers_refusal() {
    let Some(kubectl_bin) = kubectl_or_skip() else { return };
    let mut failures = Vec::new();
    for (args, selector) in FIELD_SELECTOR_CASES {
        let dir = tempfile::tempdir().unwrap();
        let (_server, port) = serve_types(dir.path(), TYPES.iter().map(|t| served_selection(t, selector)).collect());
        let config = kubeconfig(dir.path(), port);
        let args: Vec<&str> = args.iter().copied().chain(["--field-selector", selector]).collect();
        let theirs = kubectl(&kubectl_bin, dir.path(), &config, &args);
        let ours = ours(&args);
        let mut their_stderr = theirs.2.clone();
        for (group, version, resource, ..) in TYPES {
            let gv = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
            let named = if group.is_empty() { resource.to_string() } else { format!("{resource}.{group}") };
            their_stderr =
                their_stderr.replace(&format!("\"{}, Resource={resource}\"", if group.is_empty() { format!("/{gv}") } else { gv }), &format!("\"{named}\""));
        }
        let shown = args.join(" ");
        if ours.1 != theirs.1 {
            failures.push(format!("get {shown}: stdout differs\n--- kubectl\n{}--- etcdscope\n{}", theirs.1, ours.1));
        }
        if message(&ours.2) != message(&their_stderr) {
            failures.push(format!("get {shown}: stderr differs\n--- kubectl\n{}--- etcdscope\n{}", theirs.2, ours.2));
        }
        if ours.0 != theirs.0 {
            failures.push(format!("get {shown}: exit {} (kubectl: {})", ours.0, theirs.0));
        }
    }
    assert!(failures.is_empty(), "{} differences from kubectl:\n{}", failures.len(), failures.join("\n"));
}
