//! Kubernetes objects through real etcd: Kubernetes' own fixture bytes (scripts/k8s-fixtures.sh,
//! v1.35.0), renamed on the protobuf wire, stored under realistic /registry keys in a fresh etcd
//! 3.5.1 together with a JSON-stored CRD and custom resource, a CBOR-stored custom resource and an
//! AES-GCM encrypted Secret; then `etcdscope get … -o json` on the snapshot must show each object
//! as the API server would: the fixture's JSON with the new name and namespace, and
//! resourceVersion = the key's mod revision.

mod common;

use base64::Engine;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

struct Case {
    fixture: &'static str,
    get_type: &'static str,
    key_prefix: &'static str,
    namespace: &'static str,
    name: &'static str,
}

const CASES: &[Case] = &[
    Case { fixture: "core.v1.Pod", get_type: "pods", key_prefix: "pods", namespace: "team-a", name: "web-0" },
    Case { fixture: "apps.v1.Deployment", get_type: "deploy", key_prefix: "deployments", namespace: "team-a", name: "web" },
    Case { fixture: "core.v1.ConfigMap", get_type: "cm", key_prefix: "configmaps", namespace: "team-a", name: "settings" },
    Case { fixture: "core.v1.Service", get_type: "svc", key_prefix: "services/specs", namespace: "team-a", name: "web" },
    Case { fixture: "core.v1.Endpoints", get_type: "endpoints", key_prefix: "services/endpoints", namespace: "team-a", name: "web" },
    Case { fixture: "networking.k8s.io.v1.Ingress", get_type: "ingress.networking.k8s.io", key_prefix: "ingress", namespace: "team-a", name: "web" },
    Case { fixture: "batch.v1.CronJob", get_type: "cronjobs", key_prefix: "cronjobs", namespace: "team-b", name: "nightly" },
    Case { fixture: "core.v1.Namespace", get_type: "ns", key_prefix: "namespaces", namespace: "", name: "team-a" },
    Case { fixture: "core.v1.Node", get_type: "nodes", key_prefix: "minions", namespace: "", name: "node-1" },
    Case { fixture: "rbac.authorization.k8s.io.v1.ClusterRole", get_type: "clusterroles", key_prefix: "clusterroles", namespace: "", name: "viewer" },
];

const AES_KEY: [u8; 32] = *b"0123456789abcdef0123456789abcdef";

fn expected(fixture_json: &Path, name: &str, namespace: &str, rev: i64) -> Value {
    let mut v: Value = serde_json::from_slice(&std::fs::read(fixture_json).unwrap()).unwrap();
    let meta = v["metadata"].as_object_mut().unwrap();
    meta.insert("name".into(), name.into());
    if namespace.is_empty() {
        meta.remove("namespace");
    } else {
        meta.insert("namespace".into(), namespace.into());
    }
    meta.insert("resourceVersion".into(), rev.to_string().into());
    v
}

fn get_json(snapshot: &Path, args: &[&str]) -> Value {
    let mut cmd = Command::new(bin());
    cmd.arg("get").arg(snapshot).args(args).args(["-o", "json"]);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "get {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("get {args:?}: not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn fixture_objects_through_real_etcd() {
    if bin_dir_or_skip("3.5.1").is_none() {
        return;
    }
    let fixtures = k8s_fixtures().join("v1.35.0");
    assert!(fixtures.is_dir(), "{} missing", fixtures.display());
    let tmp = tempfile::tempdir().unwrap();
    let mut puts = Vec::new();
    let mut put = |key: String, bytes: Vec<u8>| {
        let file = tmp.path().join(format!("value-{}", puts.len()));
        std::fs::write(&file, bytes).unwrap();
        puts.push(serde_json::json!({"key": key, "value_file": file}));
    };
    for c in CASES {
        let stored = std::fs::read(fixtures.join(format!("{}.pb", c.fixture))).unwrap();
        let key = match c.namespace {
            "" => format!("/registry/{}/{}", c.key_prefix, c.name),
            ns => format!("/registry/{}/{ns}/{}", c.key_prefix, c.name),
        };
        put(key, k8s_wire::rename(&stored, c.name, c.namespace));
    }
    // A Secret encrypted at rest with AES-GCM (authenticated with its etcd key).
    let secret_key = "/registry/secrets/team-a/db-password".to_string();
    let secret = k8s_wire::rename(&std::fs::read(fixtures.join("core.v1.Secret.pb")).unwrap(), "db-password", "team-a");
    let sealed =
        etcdscope::k8s::encryption::seal(etcdscope::k8s::encryption::Provider::AesGcm, "key1", &AES_KEY, secret_key.as_bytes(), &[7u8; 12], &secret).unwrap();
    put(secret_key, sealed);
    // A CRD and a custom resource stored as JSON, as kube-apiserver stores them, and one stored as CBOR.
    let crd = serde_json::json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com", "uid": "0b0c6c4e-1111-4c5e-9d3e-5a1e5c9c0001", "creationTimestamp": "2026-07-01T10:00:00Z"},
        "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wg"], "listKind": "WidgetList"},
                 "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                               "additionalPrinterColumns": [{"name": "Color", "type": "string", "jsonPath": ".spec.color"},
                                                            {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                                                            {"name": "Owner", "type": "string", "jsonPath": ".spec.owner", "priority": 1},
                                                            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]}]}});
    put("/registry/apiextensions.k8s.io/customresourcedefinitions/widgets.example.com".into(), format!("{crd}\n").into_bytes());
    let widget = serde_json::json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"creationTimestamp": "2026-07-02T10:00:00Z", "labels": {"tier": "gold"}, "name": "w1", "namespace": "team-a", "uid": "0b0c6c4e-2222-4c5e-9d3e-5a1e5c9c0002"},
        "spec": {"color": "blue <&>", "size": 3}});
    put("/registry/example.com/widgets/team-a/w1".into(), format!("{widget}\n").into_bytes());
    // 55799({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w2", "namespace": "team-a"}, "spec": {"size": 7}})
    let mut cbor = vec![0xd9, 0xd9, 0xf7, 0xa4];
    let text = |s: &str, out: &mut Vec<u8>| {
        out.push(0x60 | s.len() as u8);
        out.extend_from_slice(s.as_bytes());
    };
    text("apiVersion", &mut cbor);
    text("example.com/v1", &mut cbor);
    text("kind", &mut cbor);
    text("Widget", &mut cbor);
    text("metadata", &mut cbor);
    cbor.push(0xa2);
    text("name", &mut cbor);
    text("w2", &mut cbor);
    text("namespace", &mut cbor);
    text("team-a", &mut cbor);
    text("spec", &mut cbor);
    cbor.push(0xa1);
    text("size", &mut cbor);
    cbor.push(0x07);
    put("/registry/example.com/widgets/team-a/w2".into(), cbor);

    // Keys kube-apiserver writes that are not objects.
    put("compact_rev_key".into(), b"1234".to_vec());
    let endpoints = std::fs::read(fixtures.join("core.v1.Endpoints.pb")).unwrap();
    put("/registry/masterleases/10.0.0.1".into(), k8s_wire::rename(&endpoints, "10.0.0.1", ""));
    put("/registry/ranges/serviceips".into(), b"k8s\0not decoded here".to_vec());

    let out_dir = put_with_real_etcd(tmp.path(), &puts, false);
    let done: Vec<Value> = serde_json::from_slice(&std::fs::read(out_dir.join("puts.json")).unwrap()).unwrap();
    let rev_of = |key: &str| done.iter().find(|p| p["key"] == key).unwrap()["mod_revision"].as_i64().unwrap();
    let snap = out_dir.join("snapshot.db");
    // For documentation: keep a copy of the snapshot this test made.
    if let Ok(keep) = std::env::var("ETCDSCOPE_KEEP_SNAPSHOT") {
        std::fs::copy(&snap, &keep).unwrap();
        std::fs::write(format!("{keep}.encryption.yaml"), "").ok();
    }

    for c in CASES {
        let mut args = vec![c.get_type, c.name];
        if !c.namespace.is_empty() {
            args.extend(["-n", c.namespace]);
        }
        let key = match c.namespace {
            "" => format!("/registry/{}/{}", c.key_prefix, c.name),
            ns => format!("/registry/{}/{ns}/{}", c.key_prefix, c.name),
        };
        let want = expected(&fixtures.join(format!("{}.json", c.fixture)), c.name, c.namespace, rev_of(&key));
        assert_eq!(get_json(&snap, &args), want, "{} as {key}", c.fixture);
    }

    // The encrypted Secret: decrypted with the user's EncryptionConfiguration, redacted by default.
    let config = tmp.path().join("encryption.yaml");
    std::fs::write(&config, format!(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - aesgcm:\n      keys:\n      - name: key1\n        secret: {}\n  - identity: {{}}\n",
        base64::engine::general_purpose::STANDARD.encode(AES_KEY)
    )).unwrap();
    let cfg = config.to_str().unwrap();
    let want = expected(&fixtures.join("core.v1.Secret.json"), "db-password", "team-a", rev_of("/registry/secrets/team-a/db-password"));
    assert_eq!(get_json(&snap, &["secret", "db-password", "-n", "team-a", "--encryption-config", cfg, "--show-secrets"]), want);
    let redacted = get_json(&snap, &["secret", "db-password", "-n", "team-a", "--encryption-config", cfg]);
    assert!(redacted["data"].as_object().unwrap().values().all(|v| v.as_str().unwrap().starts_with("<redacted")), "{redacted}");
    let out = Command::new(bin()).arg("get").arg(&snap).args(["secret", "db-password", "-n", "team-a", "-o", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "without the key the Secret is reported, not decoded");
    assert!(String::from_utf8_lossy(&out.stderr).contains("encrypted (aesgcm, key key1)"), "{}", String::from_utf8_lossy(&out.stderr));

    // Custom resources, learned from the CRD in the same snapshot: JSON- and CBOR-stored.
    let mut w1 = widget.clone();
    w1["metadata"]["resourceVersion"] = rev_of("/registry/example.com/widgets/team-a/w1").to_string().into();
    assert_eq!(get_json(&snap, &["wg", "w1", "-n", "team-a"]), w1);
    let w2 = get_json(&snap, &["widgets.example.com", "w2", "-n", "team-a"]);
    assert_eq!(w2["spec"]["size"], 7);
    assert_eq!(w2["metadata"]["resourceVersion"], rev_of("/registry/example.com/widgets/team-a/w2").to_string());
    let list = get_json(&snap, &["widgets", "-n", "team-a", "-l", "tier=gold"]);
    assert_eq!((list["kind"].as_str(), list["items"].as_array().unwrap().len()), (Some("List"), 1));
    let names = Command::new(bin()).arg("get").arg(&snap).args(["pods,deploy", "-n", "team-a", "-o", "name"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&names.stdout), "pod/web-0\ndeployment.apps/web\n");

    // Every key classified: objects (built-in and custom), and keys that are not objects.
    let listed = Command::new(bin()).arg("get").arg(&snap).args(["--list-keys", "-o", "jsonl"]).output().unwrap();
    assert!(listed.status.success());
    let entries: Vec<Value> = String::from_utf8_lossy(&listed.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let class_of = |key: &str| entries.iter().find(|e| e["key"] == key).map(|e| e["class"].as_str().unwrap().to_string());
    assert_eq!(entries.len(), done.len(), "one line per key");
    assert_eq!(class_of("compact_rev_key").as_deref(), Some("not-an-object"));
    assert_eq!(class_of("/registry/masterleases/10.0.0.1").as_deref(), Some("not-an-object"));
    assert_eq!(class_of("/registry/ranges/serviceips").as_deref(), Some("not-an-object"));
    assert_eq!(class_of("/registry/minions/node-1").as_deref(), Some("object"));
    assert_eq!(class_of("/registry/example.com/widgets/team-a/w2").as_deref(), Some("object"), "learned from the CRD");

    // Every object decoded, one JSON per line: 10 fixtures, the Secret, the CRD and 2 widgets.
    let all = Command::new(bin()).arg("get").arg(&snap).args(["--all-objects", "-o", "jsonl", "--encryption-config", cfg]).output().unwrap();
    assert_eq!(all.status.code(), Some(0), "{}", String::from_utf8_lossy(&all.stderr));
    assert_eq!(String::from_utf8_lossy(&all.stdout).lines().count(), CASES.len() + 4);

    // Custom resources are tabulated with their CRD's printer columns (as the API server's
    // table for CRDs: first JSONPath value, typed; priority > 0 only in wide output).
    let table = Command::new(bin()).arg("get").arg(&snap).args(["wg", "-n", "team-a", "--now", "2026-07-03T10:00:00Z"]).output().unwrap();
    assert_eq!(table.status.code(), Some(0), "{}", String::from_utf8_lossy(&table.stderr));
    let text = String::from_utf8_lossy(&table.stdout);
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split("   ").map(str::trim).filter(|c| !c.is_empty()).collect()).collect();
    assert_eq!(rows, vec![vec!["NAME", "COLOR", "SIZE", "AGE"], vec!["w1", "blue <&>", "3", "24h"], vec!["w2", "<none>", "7", "<none>"]], "{text}");
    let wide = Command::new(bin()).arg("get").arg(&snap).args(["wg", "-n", "team-a", "-o", "wide", "--now", "2026-07-03T10:00:00Z"]).output().unwrap();
    assert!(String::from_utf8_lossy(&wide.stdout).lines().next().unwrap().contains("OWNER"));
}
