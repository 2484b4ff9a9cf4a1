//! `etcdscope serve` judged by the Python Kubernetes client (PyPI `kubernetes`,
//! scripts/install-python-kubernetes.sh) over testdata/serve-3.5.1: paged lists equal the
//! full list and etcdctl's keys, and continue tokens that are not this server's are refused
//! with the status the API server gives. The client does the requests and reports what it got;
//! the judgement is here, against etcdctl's recorded keys.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::serve::*;
use serde_json::{json, Value};
use std::process::Command;

/// Runs with the Python client: argv[1] the kubeconfig, argv[2] another server's kubeconfig.
/// Prints one JSON document of what the client received.
const CLIENT: &str = r#"
import base64, json, sys
from kubernetes import client, config
from kubernetes.client.rest import ApiException

def core(kubeconfig):
    return client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))

api, other = core(sys.argv[1]), core(sys.argv[2])

def rows(items):
    return [[p.metadata.namespace, p.metadata.name, p.metadata.resource_version] for p in items]

def paged(call, limit, **kw):
    pages, versions, token = [], [], None
    while True:
        r = call(limit=limit, _continue=token, **kw) if token else call(limit=limit, **kw)
        pages.append(rows(r.items))
        versions.append(r.metadata.resource_version)
        token = r.metadata._continue
        if not token:
            return pages, versions

def refused(call):
    try:
        call()
        return None
    except ApiException as e:
        body = json.loads(e.body) if e.body else None
        return {"status": e.status, "reason": body and body.get("reason"), "kind": body and body.get("kind")}

full = api.list_pod_for_all_namespaces()
pages, versions = paged(api.list_pod_for_all_namespaces, 2)
web_full = api.list_pod_for_all_namespaces(label_selector="app=web")
web_pages, _ = paged(api.list_pod_for_all_namespaces, 1, label_selector="app=web")
shop_full = api.list_namespaced_pod("shop")
shop_pages, _ = paged(lambda **kw: api.list_namespaced_pod("shop", **kw), 3)
# A token the other server made for the same list.
foreign = other.list_pod_for_all_namespaces(limit=2).metadata._continue
# The API server's own token format (base64 of its JSON), which this server did not sign.
forged = base64.b64encode(json.dumps({"v": "meta.k8s.io/v1", "rv": int(full.metadata.resource_version), "start": "shop/"}).encode()).decode()
print(json.dumps({
    "full": rows(full.items),
    "full_version": full.metadata.resource_version,
    "pages": pages,
    "versions": versions,
    "web_full": rows(web_full.items),
    "web_pages": web_pages,
    "shop_full": rows(shop_full.items),
    "shop_pages": shop_pages,
    "foreign_token": foreign,
    "foreign": refused(lambda: api.list_pod_for_all_namespaces(limit=2, _continue=foreign)),
    "garbled": refused(lambda: api.list_pod_for_all_namespaces(limit=2, _continue="%%not-a-token%%")),
    "forged": refused(lambda: api.list_pod_for_all_namespaces(limit=2, _continue=forged)),
    "truncated": refused(lambda: api.list_pod_for_all_namespaces(limit=2, _continue=foreign[: len(foreign) // 2])),
}))
"#;

/// etcdctl's pods at the fixture's last revision: [namespace, name, mod_revision].
fn etcdctl_pods() -> Vec<Value> {
    let ground: Value = serde_json::from_slice(&std::fs::read(serve_data().join("ground.json")).unwrap()).unwrap();
    let answer: Value = serde_json::from_str(ground["get_final"]["stdout"].as_str().unwrap()).unwrap();
    answer["kvs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|kv| {
            let key = String::from_utf8(B64.decode(kv["key"].as_str().unwrap()).unwrap()).unwrap();
            let rest = key.strip_prefix("/registry/pods/")?.to_string();
            let (ns, name) = rest.split_once('/').unwrap();
            Some(json!([ns, name, kv["mod_revision"].as_i64().unwrap().to_string()]))
        })
        .collect()
}

fn concat(pages: &Value) -> Vec<Value> {
    pages.as_array().unwrap().iter().flat_map(|p| p.as_array().unwrap().clone()).collect()
}

#[test]
fn paged_lists_equal_the_full_list_and_foreign_or_garbled_tokens_are_refused() {
    let Some(python) = k8s_python_or_skip() else { return };
    let snapshot = serve_data().join("snapshot.db");
    let served = serve(&[&snapshot], &[]);
    let other = serve(&[&snapshot], &[]);
    let out = Command::new(python).arg("-c").arg(CLIENT).arg(&served.kubeconfig).arg(&other.kubeconfig).output().expect("python runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the Python client failed: {stderr}\nserve: {}", served.stderr());
    let got: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));

    let full = got["full"].as_array().unwrap().clone();
    assert_eq!(full, etcdctl_pods(), "the full list is not etcdctl's pods");
    let pages = got["pages"].as_array().unwrap();
    assert_eq!(pages.len(), full.len().div_ceil(2), "pages of 2");
    assert!(pages.iter().all(|p| p.as_array().unwrap().len() <= 2));
    assert_eq!(concat(&got["pages"]), full, "the pages of 2 together are not the full list");
    for v in got["versions"].as_array().unwrap() {
        assert_eq!(v, &got["full_version"], "every page reads the revision of the first");
    }
    // Selected and per-namespace lists page the same way.
    assert!(!got["web_full"].as_array().unwrap().is_empty());
    assert_eq!(concat(&got["web_pages"]), got["web_full"].as_array().unwrap().clone(), "pages of 1 of app=web");
    let shop: Vec<Value> = full.iter().filter(|r| r[0] == "shop").cloned().collect();
    assert_eq!(got["shop_full"].as_array().unwrap().clone(), shop);
    assert_eq!(concat(&got["shop_pages"]), shop, "pages of 3 in namespace shop");

    assert!(got["foreign_token"].is_string(), "the other server gave no continue token: {got}");
    assert_eq!(got["foreign"], json!({"status": 410, "reason": "Expired", "kind": "Status"}), "a token from another serve process");
    for bad in ["garbled", "forged", "truncated"] {
        assert_eq!(got[bad], json!({"status": 400, "reason": "BadRequest", "kind": "Status"}), "a {bad} continue token");
    }
}

/// `serve --token`: the Python client sends the kubeconfig's bearer token (over plain http too,
/// unlike kubectl: serve_kubectl::serve_token_lets_the_kubeconfigs_kubectl_in_and_no_one_else)
/// and is let in; with another token, or none, it gets 401.
const TOKEN_CLIENT: &str = r#"
import json, sys
from kubernetes import client, config
from kubernetes.client.rest import ApiException

def attempt(token):
    c = config.new_client_from_config(config_file=sys.argv[1])
    if token is not None:
        # the kubeconfig loader re-reads its token before each request unless unhooked
        c.configuration.refresh_api_key_hook = None
        c.configuration.api_key = {"BearerToken": "Bearer " + token} if token else {}
    try:
        return len(client.CoreV1Api(c).list_pod_for_all_namespaces().items)
    except ApiException as e:
        return e.status

print(json.dumps({"kubeconfig": attempt(None), "wrong": attempt("wrong"), "none": attempt("")}))
"#;

#[test]
fn the_token_lets_the_kubeconfigs_client_in_and_no_one_else() {
    let Some(python) = k8s_python_or_skip() else { return };
    let served = serve(&[&serve_data().join("snapshot.db")], &["--token", "s3cr3t-test-token"]);
    let out = Command::new(python).arg("-c").arg(TOKEN_CLIENT).arg(&served.kubeconfig).output().expect("python runs");
    assert!(out.status.success(), "the Python client failed: {}", String::from_utf8_lossy(&out.stderr));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got, json!({"kubeconfig": etcdctl_pods().len(), "wrong": 401, "none": 401}));
}

/// Typed and custom-object APIs of the Python client, at the served revision and at an exact
/// older one (paged), and below the compaction.
const READS_CLIENT: &str = r#"
import json, sys
from kubernetes import client, config
from kubernetes.client.rest import ApiException

c = config.new_client_from_config(config_file=sys.argv[1])
read, below = sys.argv[2], sys.argv[3]
core, apps, batch, custom = client.CoreV1Api(c), client.AppsV1Api(c), client.BatchV1Api(c), client.CustomObjectsApi(c)
coord, rbac, ext = client.CoordinationV1Api(c), client.RbacAuthorizationV1Api(c), client.ApiextensionsV1Api(c)

def rows(items):
    return [[i.metadata.namespace, i.metadata.name, i.metadata.resource_version] for i in items]

typed = {
    "pods": core.list_pod_for_all_namespaces(), "nodes": core.list_node(), "namespaces": core.list_namespace(),
    "events": core.list_event_for_all_namespaces(), "secrets": core.list_secret_for_all_namespaces(),
    "services": core.list_service_for_all_namespaces(), "configmaps": core.list_config_map_for_all_namespaces(),
    "deployments": apps.list_deployment_for_all_namespaces(), "replicasets": apps.list_replica_set_for_all_namespaces(),
    "jobs": batch.list_job_for_all_namespaces(), "leases": coord.list_lease_for_all_namespaces(),
    "clusterroles": rbac.list_cluster_role(), "customresourcedefinitions": ext.list_custom_resource_definition(),
}
out = {"typed": {k: rows(v.items) for k, v in typed.items()}}
out["widgets"] = custom.list_cluster_custom_object("example.com", "v1", "widgets")["items"]
out["widgets_shop"] = custom.list_namespaced_custom_object("example.com", "v1", "shop", "widgets")["items"]
out["gadget"] = custom.get_cluster_custom_object("example.com", "v1", "gadgets", "g-1")
out["pod"] = rows([core.read_namespaced_pod("web-7d9f5c6b8-aaaaa", "shop")])
out["node_phase"] = core.read_node("node-a").status.conditions[-1].type
pages, token = [], None
while True:
    kw = {"limit": 2, "_continue": token} if token else {"limit": 2, "resource_version": read, "resource_version_match": "Exact"}
    r = core.list_pod_for_all_namespaces(**kw)
    pages.append(rows(r.items))
    token = r.metadata._continue
    if not token:
        break
out["pages_at_read"] = pages
try:
    core.list_pod_for_all_namespaces(resource_version=below, resource_version_match="Exact")
    out["below"] = None
except ApiException as e:
    out["below"] = [e.status, json.loads(e.body)["reason"]]
print(json.dumps(out))
"#;

/// `etcdscope get <fixture> ARGS -o json`'s items.
fn get_items(args: &[&str]) -> Vec<Value> {
    let src = serve_data().join("snapshot.db");
    let mut all = vec!["get", src.to_str().unwrap()];
    all.extend_from_slice(args);
    all.extend(["-o", "json"]);
    let (code, text, err) = common::out(&all);
    assert_eq!(code, 0, "etcdscope {all:?}: {err}");
    serde_json::from_str::<Value>(&text).unwrap()["items"].as_array().unwrap().clone()
}

fn ground_pods(name: &str) -> Vec<Value> {
    let ground: Value = serde_json::from_slice(&std::fs::read(serve_data().join("ground.json")).unwrap()).unwrap();
    let answer: Value = serde_json::from_str(ground[name]["stdout"].as_str().unwrap()).unwrap();
    answer["kvs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|kv| {
            let key = String::from_utf8(B64.decode(kv["key"].as_str().unwrap()).unwrap()).unwrap();
            let (ns, name) = key.strip_prefix("/registry/pods/")?.split_once('/')?;
            Some(json!([ns, name, kv["mod_revision"].as_i64().unwrap().to_string()]))
        })
        .collect()
}

#[test]
fn typed_and_custom_object_apis_read_what_get_reads() {
    let Some(python) = k8s_python_or_skip() else { return };
    let ground: Value = serde_json::from_slice(&std::fs::read(serve_data().join("ground.json")).unwrap()).unwrap();
    let read = ground["revisions"]["read"].as_i64().unwrap();
    let below = ground["revisions"]["compact"].as_i64().unwrap() - 1;
    let served = serve(&[&serve_data().join("snapshot.db")], &[]);
    let out =
        Command::new(python).arg("-c").arg(READS_CLIENT).arg(&served.kubeconfig).arg(read.to_string()).arg(below.to_string()).output().expect("python runs");
    assert!(out.status.success(), "the Python client failed: {}\nserve: {}", String::from_utf8_lossy(&out.stderr), served.stderr());
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (resource, rows) in got["typed"].as_object().unwrap() {
        let wanted: Vec<Value> =
            get_items(&[resource, "-A"]).iter().map(|o| json!([o["metadata"]["namespace"], o["metadata"]["name"], o["metadata"]["resourceVersion"]])).collect();
        assert!(!wanted.is_empty(), "{resource}");
        assert_eq!(rows.as_array().unwrap(), &wanted, "the Python client's typed list of {resource}");
    }
    assert_eq!(got["widgets"].as_array().unwrap(), &get_items(&["widgets.example.com", "-A"]), "custom objects, all namespaces");
    assert_eq!(got["widgets_shop"].as_array().unwrap(), &get_items(&["widgets.example.com", "-n", "shop"]), "custom objects in shop");
    let g1 = get_items(&["gadgets.example.com", "-A"]).into_iter().find(|o| o["metadata"]["name"] == "g-1").unwrap();
    assert_eq!(got["gadget"], g1, "one cluster-scoped custom object");
    assert_eq!(got["pod"][0][1], "web-7d9f5c6b8-aaaaa");
    assert_eq!(got["node_phase"], "Ready");
    let pages = got["pages_at_read"].as_array().unwrap();
    assert!(pages.len() > 1, "paged");
    let paged: Vec<Value> = pages.iter().flat_map(|p| p.as_array().unwrap().clone()).collect();
    assert_eq!(paged, ground_pods("get_read"), "pages of 2 at resourceVersion={read} Exact are not etcdctl's pods at {read}");
    assert_ne!(paged, ground_pods("get_final"));
    assert_eq!(got["below"], json!([410, "Expired"]), "below the compaction");
}

const WATCH_CLIENT: &str = r#"
import json, sys
from kubernetes import client, config, watch

core = client.CoreV1Api(config.new_client_from_config(config_file=sys.argv[1]))
seen = []
for e in watch.Watch().stream(core.list_pod_for_all_namespaces, resource_version=sys.argv[2], timeout_seconds=2):
    o = e["object"]
    seen.append([e["type"], "/registry/pods/%s/%s" % (o.metadata.namespace, o.metadata.name), int(o.metadata.resource_version)])
print(json.dumps(seen))
"#;

/// The Python client's watch from COMPACT sees etcdctl's pod events from there (a put whose
/// create revision is its mod revision ADDED, another MODIFIED, a delete DELETED).
#[test]
fn a_watch_from_the_compaction_sees_etcdctls_events() {
    let Some(python) = k8s_python_or_skip() else { return };
    let ground: Value = serde_json::from_slice(&std::fs::read(serve_data().join("ground.json")).unwrap()).unwrap();
    let compact = ground["revisions"]["compact"].as_i64().unwrap();
    let mut wanted = Vec::new();
    for line in ground["watch_from_compact"]["stdout"].as_str().unwrap().lines().filter(|l| !l.trim().is_empty()) {
        let response: Value = serde_json::from_str(line).unwrap();
        for e in response["Events"].as_array().into_iter().flatten() {
            let kv = &e["kv"];
            let key = String::from_utf8(B64.decode(kv["key"].as_str().unwrap()).unwrap()).unwrap();
            if key.starts_with("/registry/pods/") {
                let kind = match (e["type"].as_i64(), kv["create_revision"] == kv["mod_revision"]) {
                    (Some(1), _) => "DELETED",
                    (_, true) => "ADDED",
                    (_, false) => "MODIFIED",
                };
                wanted.push(json!([kind, key, kv["mod_revision"]]));
            }
        }
    }
    assert!(!wanted.is_empty());
    let served = serve(&[&serve_data().join("snapshot.db")], &[]);
    let out = Command::new(python).arg("-c").arg(WATCH_CLIENT).arg(&served.kubeconfig).arg(compact.to_string()).output().expect("python runs");
    assert!(out.status.success(), "the Python client's watch failed: {}", String::from_utf8_lossy(&out.stderr));
    let seen: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen, wanted, "the Python client's watch from {compact}");
}
