//! kubectl and etcdctl conventions: `get all`, `-o wide`, `--sort-by`, `-o custom-columns`,
//! "did you mean", shell completions and the man page, and the `wal` table's header. Each table
//! is checked against the same objects as `get -o json` prints them (whose rendering is proven
//! against Kubernetes' own fixtures elsewhere).

mod common;

use common::*;
use serde_json::Value;

fn db() -> String {
    repo().join("testdata/diff-3.5.1/new.db").display().to_string()
}

fn objects(kind: &str) -> Vec<Value> {
    let (code, json, _) = out(&["get", &db(), kind, "-A", "-o", "json"]);
    assert_eq!(code, 0);
    serde_json::from_str::<Value>(&json).unwrap()["items"].as_array().unwrap().clone()
}

#[test]
fn custom_columns_and_sort_by() {
    let pods = objects("pods");
    let mut expected: Vec<(String, String)> =
        pods.iter().map(|p| (p["metadata"]["name"].as_str().unwrap().to_string(), p["spec"]["nodeName"].as_str().unwrap_or("<none>").to_string())).collect();
    expected.sort();
    let (code, table, _) = out(&["get", &db(), "pods", "-A", "--sort-by", "{.metadata.name}", "-o", "custom-columns=NAME:.metadata.name,NODE:.spec.nodeName"]);
    assert_eq!(code, 0);
    let lines: Vec<Vec<&str>> = table.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines[0], ["NAME", "NODE"]);
    let got: Vec<(String, String)> = lines[1..].iter().map(|l| (l[0].to_string(), l[1].to_string())).collect();
    assert_eq!(got, expected);
    // Descending by a number: sorted by kubectl's rules, the order of the values is ascending.
    let (_, table, _) =
        out(&["get", &db(), "configmaps", "-A", "--sort-by", ".metadata.creationTimestamp", "-o", "custom-columns=T:.metadata.creationTimestamp"]);
    let times: Vec<&str> = table.lines().skip(1).map(str::trim).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    assert_eq!(out(&["get", &db(), "pods", "-o", "custom-columns=BAD"]).0, 2);
}

#[test]
fn get_all_lists_the_workload_types() {
    let (code, table, _) = out(&["get", &db(), "all", "-n", "team-a"]);
    assert_eq!(code, 0);
    for (kind, prefix) in [("pods", "pod/"), ("deployments", "deployment.apps/"), ("replicasets", "replicaset.apps/")] {
        for o in objects(kind).iter().filter(|o| o["metadata"]["namespace"] == "team-a") {
            let name = format!("{prefix}{}", o["metadata"]["name"].as_str().unwrap());
            assert!(table.lines().any(|l| l.starts_with(&format!("{name} "))), "{name} missing from get all:\n{table}");
        }
    }
    assert!(!table.contains("configmap/"), "configmaps are not in the all category");
}

#[test]
fn wide_columns_come_after_age() {
    let (_, table, _) = out(&["get", &db(), "deployments", "-A", "-o", "wide"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]);
    for d in objects("deployments") {
        let images: Vec<&str> = d["spec"]["template"]["spec"]["containers"].as_array().unwrap().iter().map(|c| c["image"].as_str().unwrap()).collect();
        let line = table.lines().find(|l| l.split_whitespace().nth(1) == d["metadata"]["name"].as_str()).unwrap();
        assert!(line.contains(&images.join(",")), "{line}");
    }
    let (_, table, _) = out(&["get", &db(), "nodes", "-o", "wide"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(&header[..5], ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]);
}

#[test]
fn did_you_mean_completions_man_and_the_wal_header() {
    let (code, _, err) = out(&["get", &db(), "deploymnets"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean deployments.apps?"), "{err}");
    for shell in ["bash", "zsh", "fish"] {
        let (code, script, _) = out(&["completions", shell]);
        assert_eq!(code, 0);
        assert!(script.contains("rebuild") && script.contains("salvage"), "{shell} completions name the commands");
    }
    let (code, man, _) = out(&["man"]);
    assert_eq!(code, 0);
    assert!(man.starts_with(".ie") && man.contains(".TH etcdscope 1"));
    let (_, wal, _) = out(&["wal", &repo().join("testdata/wal-3.5.1").display().to_string()]);
    assert!(wal.starts_with("SEGMENT:OFFSET"), "{}", wal.lines().next().unwrap_or(""));
}
