//! `kubectl explain` against `etcdscope serve`, judged by real kubectl 1.35 (OpenAPI v3, and v2
//! for `--output plaintext-openapiv2`) and 1.20 (v2 only, when installed): the fields and
//! types it prints for built-in kinds are those of Kubernetes' own JSON for the same types (its
//! round-trip fixtures, which fill every field) and of the JSON our decoder writes for them; a
//! custom resource's are those of its CRD's schema and of its objects.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `etcdscope serve`, stopped (by its PID) when dropped.
struct Server {
    child: Child,
    dir: tempfile::TempDir,
}

impl Server {
    fn start(snapshot: &Path) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        let mut child = Command::new(bin())
            .arg("serve")
            .arg(snapshot)
            .args(["--address", "127.0.0.1:0", "--kubeconfig"])
            .arg(&kubeconfig)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("etcdscope serve starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the URL line, then keeps draining stdout so the server never blocks on it.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let server = Server { child, dir };
        let line = rx.recv_timeout(Duration::from_secs(120)).expect("serve prints where it listens");
        assert!(line.starts_with("serving ") && line.contains(" at http://127.0.0.1:"), "{line}");
        server
    }

    /// `kubectl --kubeconfig … --cache-dir … ARGS`: success, stdout, stderr.
    fn kubectl(&self, kubectl: &Path, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(self.dir.path().join("kubeconfig"))
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .output()
            .expect("kubectl runs");
        (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    }

    fn explain(&self, kubectl: &Path, args: &[&str]) -> String {
        let mut all = vec!["explain"];
        all.extend_from_slice(args);
        let (ok, out, err) = self.kubectl(kubectl, &all);
        assert!(ok, "kubectl {all:?} failed: {err}");
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn snapshot() -> PathBuf {
    repo().join("testdata/etcd-3.5.1/snapshot.db")
}

/// The fields kubectl printed: `(path, type)` in order, a path per nesting level of
/// `--recursive` (one element without it). Levels are indented by the first field's indent
/// (2 spaces from kubectl 1.27 on, 3 before).
fn fields(explain: &str) -> Vec<(Vec<String>, String)> {
    let listed = explain.split_once("FIELDS:\n").map_or("", |(_, f)| f);
    let mut path: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut step = 0;
    for line in listed.lines() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let Some((name, rest)) = line.trim_start_matches(' ').split_once("\t<") else { continue };
        let ty = rest.split_once('>').map_or(rest, |(t, _)| t);
        if step == 0 {
            step = indent.max(1);
        }
        let level = indent / step;
        assert!(level >= 1 && level <= path.len() + 1, "unexpected indentation: {line:?}");
        path.truncate(level - 1);
        path.push(name.to_string());
        out.push((path.clone(), ty.to_string()));
    }
    out
}

fn names(explain: &str) -> Vec<String> {
    let mut n: Vec<String> = fields(explain).into_iter().map(|(p, _)| p.join(".")).collect();
    n.sort();
    n
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}

/// Whether a JSON value is one kubectl's type word describes (`string`, `[]Container`,
/// `map[string]Quantity`, `ObjectMeta`, …). OpenAPI v2 calls Quantity and IntOrString
/// `string`: with `v2`, a number fits `string` too.
fn fits(ty: &str, v: &Value) -> bool {
    fits_as(ty, v, false)
}

fn fits_as(ty: &str, v: &Value, v2: bool) -> bool {
    if v.is_null() {
        return true;
    }
    if let Some(item) = ty.strip_prefix("[]") {
        return v.as_array().is_some_and(|a| a.iter().all(|x| fits_as(item, x, v2)));
    }
    if let Some(value) = ty.strip_prefix("map[string]") {
        return v.as_object().is_some_and(|m| m.values().all(|x| fits_as(value, x, v2)));
    }
    match ty {
        "string" => v.is_string() || (v2 && v.is_number()),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "Quantity" => v.is_string() || v.is_number(),
        "IntOrString" => v.is_string() || v.is_i64(),
        _ => v.is_object(),
    }
}

/// The value at a field path of `--recursive` output: lists are followed into their first
/// item, maps into their first value.
fn at<'v>(root: &'v Value, path: &[String], types: &HashMap<Vec<String>, String>) -> Option<&'v Value> {
    let mut v = root;
    for i in 0..path.len() {
        v = v.get(&path[i])?;
        let mut ty = types[&path[..=i]].as_str();
        loop {
            if let Some(rest) = ty.strip_prefix("[]") {
                v = v.as_array()?.first()?;
                ty = rest;
            } else if let Some(rest) = ty.strip_prefix("map[string]") {
                v = v.as_object()?.values().next()?;
                ty = rest;
            } else {
                break;
            }
        }
    }
    Some(v)
}

/// Every field of `object` (recursively) is one `--recursive` printed, and every field printed
/// that `object` has holds a value its printed type fits. Returns how many fields of `object`
/// were matched.
fn check_recursive(explain: &str, object: &Value, what: &str) -> usize {
    check_recursive_as(explain, object, what, false)
}

fn check_recursive_as(explain: &str, object: &Value, what: &str, v2: bool) -> usize {
    let printed = fields(explain);
    let types: HashMap<Vec<String>, String> = printed.iter().cloned().collect();
    for (path, ty) in &printed {
        let parent = if path.len() == 1 { Some(object) } else { at(object, &path[..path.len() - 1], &types) };
        if let Some(raw) = parent.and_then(|p| p.get(path.last().unwrap())) {
            assert!(fits_as(ty, raw, v2), "{what}: {} is printed as <{ty}>, but the object has {raw}", path.join("."));
        }
    }
    let mut matched = 0;
    let mut stack: Vec<(Vec<String>, &Value)> = vec![(Vec::new(), object)];
    while let Some((path, v)) = stack.pop() {
        let Some(m) = v.as_object() else { continue };
        for (k, child) in m {
            let mut p = path.clone();
            p.push(k.clone());
            let Some(ty) = types.get(&p) else { panic!("{what}: the object has {} but kubectl explain does not print it", p.join(".")) };
            matched += 1;
            for inner in items(child, ty) {
                stack.push((p.clone(), inner));
            }
        }
    }
    matched
}

/// The values whose fields are a field's subfields: the value itself for an object type, every
/// item of a list, every value of a map; none for scalars.
fn items<'v>(v: &'v Value, ty: &str) -> Vec<&'v Value> {
    if let Some(item) = ty.strip_prefix("[]") {
        return v.as_array().into_iter().flatten().flat_map(|x| items(x, item)).collect();
    }
    if let Some(value) = ty.strip_prefix("map[string]") {
        return v.as_object().into_iter().flat_map(|m| m.values()).flat_map(|x| items(x, value)).collect();
    }
    match ty {
        "string" | "integer" | "number" | "boolean" | "Quantity" | "IntOrString" => Vec::new(),
        _ => vec![v],
    }
}

/// Kubernetes' JSON for a type (its round-trip fixture) and our decoder's JSON for the same
/// object (the fixture's protobuf, decoded).
fn kubernetes_and_ours(fixture: &str) -> (Value, Value) {
    let dir = k8s_fixtures().join("HEAD");
    let theirs: Value = serde_json::from_slice(&std::fs::read(dir.join(format!("{fixture}.json"))).unwrap()).unwrap();
    let pb = dir.join(format!("{fixture}.pb"));
    let (code, out, err) = out(&["decode", pb.to_str().unwrap()]);
    assert_eq!(code, 0, "decode {}: {err}", pb.display());
    (theirs, serde_json::from_str(&out).unwrap())
}

#[test]
fn explain_pods_prints_the_fields_kubernetes_writes() {
    let Some(kubectl) = kubectl_or_skip() else { return };
    let server = Server::start(&snapshot());
    let text = server.explain(&kubectl, &["pods"]);
    assert!(text.starts_with("KIND:       Pod\nVERSION:    v1\n"), "{text}");
    let (theirs, ours) = kubernetes_and_ours("core.v1.Pod");
    assert_eq!(names(&text), keys(&theirs));
    assert_eq!(names(&text), keys(&ours));
    let printed = fields(&text);
    for (path, ty) in &printed {
        assert!(fits(ty, &theirs[&path[0]]), "{} printed as <{ty}>; Kubernetes writes {}", path[0], theirs[&path[0]]);
    }
    assert_eq!(
        printed.iter().map(|(p, t)| format!("{} <{t}>", p[0])).collect::<Vec<_>>(),
        ["apiVersion <string>", "kind <string>", "metadata <ObjectMeta>", "spec <PodSpec>", "status <PodStatus>"]
    );
}

#[test]
fn explain_pods_spec_containers_prints_the_container_fields() {
    let Some(kubectl) = kubectl_or_skip() else { return };
    let server = Server::start(&snapshot());
    let text = server.explain(&kubectl, &["pods.spec.containers"]);
    assert!(text.contains("FIELD: containers <[]Container>"), "{text}");
    let (theirs, ours) = kubernetes_and_ours("core.v1.Pod");
    let container = |v: &Value| v["spec"]["containers"][0].clone();
    assert_eq!(names(&text), keys(&container(&theirs)));
    assert_eq!(names(&text), keys(&container(&ours)));
    for (path, ty) in fields(&text) {
        let v = &container(&theirs)[&path[0]];
        assert!(fits(&ty, v), "containers.{} printed as <{ty}>; Kubernetes writes {v}", path[0]);
    }
    // The types Go gives the container's fields, as the API server's documents name them.
    let printed: Vec<String> = fields(&text).into_iter().map(|(p, t)| format!("{} <{t}>", p[0])).collect();
    for expected in ["args <[]string>", "env <[]EnvVar>", "ports <[]ContainerPort>", "resources <ResourceRequirements>", "stdin <boolean>"] {
        assert!(printed.iter().any(|p| p == expected), "{expected} not in {printed:?}");
    }
    let limits = server.explain(&kubectl, &["pods.spec.containers.resources.limits"]);
    assert!(limits.contains("FIELD: limits <map[string]Quantity>"), "{limits}");
    let port = server.explain(&kubectl, &["pods.spec.containers.livenessProbe.httpGet.port"]);
    assert!(port.contains("FIELD: port <IntOrString>"), "{port}");
    let time = server.explain(&kubectl, &["pods.metadata.creationTimestamp"]);
    assert!(time.contains("FIELD: creationTimestamp <string>"), "{time}");
}

#[test]
fn explain_deployments_recursive_matches_kubernetes_json_at_every_depth() {
    let Some(kubectl) = kubectl_or_skip() else { return };
    let server = Server::start(&snapshot());
    let text = server.explain(&kubectl, &["deployments", "--recursive"]);
    let head: Vec<&str> = text.lines().take(10).collect();
    assert_eq!(head[..6], ["GROUP:      apps", "KIND:       Deployment", "VERSION:    v1", "", "DESCRIPTION:", "    <empty>"], "{text}");
    assert_eq!(head[6..], ["FIELDS:", "  apiVersion\t<string>", "  kind\t<string>", "  metadata\t<ObjectMeta>"], "{text}");
    let (theirs, ours) = kubernetes_and_ours("apps.v1.Deployment");
    let matched = check_recursive(&text, &theirs, "Kubernetes' Deployment JSON");
    assert!(matched > 300, "only {matched} fields of the fixture matched");
    assert_eq!(check_recursive(&text, &ours, "our decoder's Deployment JSON"), matched);
}

#[test]
fn explain_of_a_custom_resource_prints_its_crds_schema() {
    let Some(kubectl) = kubectl_or_skip() else { return };
    if bin_dir_or_skip("3.5.1").is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let spec_schema = json!({"type": "object", "properties": {
        "color": {"type": "string"}, "size": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "limits": {"type": "object", "additionalProperties": {"type": "string"}},
        "owner": {"type": "object", "properties": {"name": {"type": "string"}, "team": {"type": "string"}}}}});
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com", "uid": "0b0c6c4e-1111-4c5e-9d3e-5a1e5c9c0001", "creationTimestamp": "2026-07-01T10:00:00Z"},
        "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                 "versions": [
                    {"name": "v1alpha1", "served": true, "storage": false, "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object", "properties": {"legacy": {"type": "string"}}}}}}},
                    {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": spec_schema, "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}}}}]}});
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"creationTimestamp": "2026-07-02T10:00:00Z", "name": "w1", "namespace": "team-a", "uid": "0b0c6c4e-2222-4c5e-9d3e-5a1e5c9c0002"},
        "spec": {"color": "blue", "size": 3, "tags": ["a"], "limits": {"cpu": "1"}, "owner": {"name": "x", "team": "y"}}, "status": {"ready": true}});
    let mut puts = Vec::new();
    for (key, value) in
        [("/registry/apiextensions.k8s.io/customresourcedefinitions/widgets.example.com", &crd), ("/registry/example.com/widgets/team-a/w1", &widget)]
    {
        let file = tmp.path().join(format!("value-{}", puts.len()));
        std::fs::write(&file, format!("{value}\n")).unwrap();
        puts.push(json!({"key": key, "value_file": file}));
    }
    let out_dir = put_with_real_etcd(tmp.path(), &puts, false);
    let server = Server::start(&out_dir.join("snapshot.db"));

    let text = server.explain(&kubectl, &["widgets"]);
    assert!(text.starts_with("GROUP:      example.com\nKIND:       Widget\nVERSION:    v1\n"), "{text}");
    let printed: Vec<String> = fields(&text).into_iter().map(|(p, t)| format!("{} <{t}>", p[0])).collect();
    assert_eq!(printed, ["apiVersion <string>", "kind <string>", "metadata <ObjectMeta>", "spec <Object>", "status <Object>"]);
    // The storage version's schema, in kubectl's words for each JSON Schema type.
    let spec = server.explain(&kubectl, &["widgets.spec"]);
    let printed: Vec<String> = fields(&spec).into_iter().map(|(p, t)| format!("{} <{t}>", p[0])).collect();
    assert_eq!(printed, ["color <string>", "limits <map[string]string>", "owner <Object>", "size <integer>", "tags <[]string>"]);
    // The object as kubectl reads it through serve has exactly these fields, of these types.
    let (ok, json_text, err) = server.kubectl(&kubectl, &["get", "widgets", "-n", "team-a", "w1", "-o", "json"]);
    assert!(ok, "{err}");
    let object: Value = serde_json::from_str(&json_text).unwrap();
    let recursive = server.explain(&kubectl, &["widgets.spec", "--recursive"]);
    assert_eq!(names(&spec), keys(&object["spec"]));
    assert!(check_recursive(&recursive, &object["spec"], "the widget's spec") >= 7);
    // kubectl 1.20 reads the same schema from the v2 document.
    if let Some(old) = std::env::var_os("ETCDSCOPE_KUBECTL_OLD").map(PathBuf::from).filter(|p| p.is_file()) {
        assert_eq!(names(&server.explain(&old, &["widgets.spec"])), keys(&object["spec"]));
    }
    assert_eq!(
        fields(&recursive).into_iter().filter(|(p, _)| p.len() == 2).map(|(p, t)| format!("{} <{t}>", p.join("."))).collect::<Vec<_>>(),
        ["owner.name <string>", "owner.team <string>"]
    );
}

#[test]
fn openapi_v2_serves_kubectls_v2_explain_and_the_v3_index_points_at_its_documents() {
    let Some(kubectl) = kubectl_or_skip() else { return };
    let server = Server::start(&snapshot());
    // kubectl 1.35 reads the v2 protobuf document for this output format.
    let text = server.explain(&kubectl, &["pods.spec.containers", "--output", "plaintext-openapiv2"]);
    assert!(text.contains("RESOURCE: containers <[]Object>"), "{text}");
    let (theirs, _) = kubernetes_and_ours("core.v1.Pod");
    assert_eq!(names(&text), keys(&theirs["spec"]["containers"][0]));
    let (ok, v2, err) = server.kubectl(&kubectl, &["get", "--raw", "/openapi/v2"]);
    assert!(ok, "{err}");
    let v2: Value = serde_json::from_str(&v2).unwrap();
    assert_eq!(v2["definitions"]["io.k8s.api.core.v1.Pod"]["x-kubernetes-group-version-kind"], json!([{"group": "", "kind": "Pod", "version": "v1"}]));
    // The v3 index points at documents that are there, under the context's prefix.
    let (ok, index, err) = server.kubectl(&kubectl, &["get", "--raw", "/openapi/v3"]);
    assert!(ok, "{err}");
    let index: Value = serde_json::from_str(&index).unwrap();
    let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"].as_str().expect("apps/v1 listed");
    assert!(url.starts_with("/openapi/v3/apis/apps/v1?hash="), "{url}");
    let (ok, doc, err) = server.kubectl(&kubectl, &["get", "--raw", url]);
    assert!(ok, "{err}");
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(
        doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"]["x-kubernetes-group-version-kind"],
        json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
    );
    // A field path that does not exist is kubectl's own error, not ours.
    let (ok, _, err) = server.kubectl(&kubectl, &["explain", "pods.spec.nosuch"]);
    assert!(!ok && err.contains("field \"nosuch\" does not exist"), "{err}");
}

/// kubectl 1.20 (Debian's kubernetes-client, $ETCDSCOPE_KUBECTL_OLD): its `explain` reads only
/// OpenAPI v2, as protobuf, and parses all of it first.
fn old_kubectl_or_skip() -> Option<PathBuf> {
    let found = std::env::var_os("ETCDSCOPE_KUBECTL_OLD").map(PathBuf::from).filter(|p| p.is_file());
    if found.is_none() {
        let required = std::env::var("ETCDSCOPE_REQUIRE_ETCD").is_ok_and(|v| v == "1");
        assert!(!required, "kubectl 1.20 is not installed ($ETCDSCOPE_KUBECTL_OLD); ETCDSCOPE_REQUIRE_ETCD=1 forbids skipping");
        eprintln!("SKIPPED: $ETCDSCOPE_KUBECTL_OLD (kubectl 1.20) not set and ETCDSCOPE_REQUIRE_ETCD is not 1");
    }
    found
}

#[test]
fn kubectl_1_20_explain_reads_the_v2_document() {
    let Some(kubectl) = old_kubectl_or_skip() else { return };
    let server = Server::start(&snapshot());
    let (theirs, ours) = kubernetes_and_ours("core.v1.Pod");
    let pods = server.explain(&kubectl, &["pods"]);
    assert!(pods.starts_with("KIND:     Pod\nVERSION:  v1\n"), "{pods}");
    assert_eq!(names(&pods), keys(&theirs));
    let containers = server.explain(&kubectl, &["pods.spec.containers"]);
    assert!(containers.contains("RESOURCE: containers <[]Object>"), "{containers}");
    assert_eq!(names(&containers), keys(&theirs["spec"]["containers"][0]));
    assert_eq!(names(&containers), keys(&ours["spec"]["containers"][0]));
    let recursive = server.explain(&kubectl, &["deployments", "--recursive"]);
    assert!(recursive.starts_with("KIND:     Deployment\nVERSION:  apps/v1\n"), "{recursive}");
    let (theirs, ours) = kubernetes_and_ours("apps.v1.Deployment");
    let matched = check_recursive_as(&recursive, &theirs, "Kubernetes' Deployment JSON (kubectl 1.20)", true);
    assert!(matched > 300, "only {matched} fields of the fixture matched");
    assert_eq!(check_recursive_as(&recursive, &ours, "our decoder's Deployment JSON (kubectl 1.20)", true), matched);
}
