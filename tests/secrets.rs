//! Secrets stay secret in every output of every command unless --show-secrets. Marker Secrets
//! are stored by a real etcd 3.5.1 in every form kube-apiserver can write them: protobuf (with
//! kubectl's last-applied-configuration annotation, which repeats the data), JSON, CBOR,
//! encrypted at rest with aescbc and aesgcm, inside a txn, updated (so history and diff compare
//! two versions), and damaged; then every command runs in every output format and no marker
//! may appear, in clear or base64 at any alignment. `kv get` is etcdctl's raw read and shows
//! stored bytes by design; it is not part of this.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::*;
use etcdscope::k8s::encryption::{seal, Provider};
use serde_json::{json, Value};
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

const MARKER: &[u8] = b"S3cr3t-Marker-A1";
const MARKER2: &[u8] = b"S3cr3t-Marker-B2";
const CBC_KEY: [u8; 32] = *b"cbc-key-0123456789abcdef01234567";
const GCM_KEY: [u8; 32] = *b"gcm-key-0123456789abcdef01234567";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn field(out: &mut Vec<u8>, number: u64, bytes: &[u8]) {
    varint(number << 3 | 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn entry(k: &[u8], v: &[u8]) -> Vec<u8> {
    let mut e = Vec::new();
    field(&mut e, 1, k);
    field(&mut e, 2, v);
    e
}

/// A v1 Secret as kube-apiserver stores it: k8s\0 + runtime.Unknown{typeMeta, raw = Secret{
/// metadata{name 1, namespace 3, annotations 12}, data 2, type 3}}.
fn protobuf_secret(name: &str, secret: &[u8]) -> Vec<u8> {
    let applied = json!({"apiVersion": "v1", "kind": "Secret", "data": {"password": B64.encode(secret)}}).to_string();
    let mut meta = Vec::new();
    field(&mut meta, 1, name.as_bytes());
    field(&mut meta, 3, b"s");
    field(&mut meta, 12, &entry(LAST_APPLIED.as_bytes(), applied.as_bytes()));
    let mut obj = Vec::new();
    field(&mut obj, 1, &meta);
    field(&mut obj, 2, &entry(b"password", secret));
    field(&mut obj, 3, b"Opaque");
    let mut type_meta = Vec::new();
    field(&mut type_meta, 1, b"v1");
    field(&mut type_meta, 2, b"Secret");
    let mut unknown = Vec::new();
    field(&mut unknown, 1, &type_meta);
    field(&mut unknown, 2, &obj);
    [b"k8s\0".as_slice(), &unknown].concat()
}

fn json_secret(name: &str) -> Vec<u8> {
    let applied = json!({"apiVersion": "v1", "kind": "Secret", "data": {"password": B64.encode(MARKER)}}).to_string();
    let s = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "s", "annotations": {LAST_APPLIED: applied}},
                   "data": {"password": B64.encode(MARKER)}, "stringData": {"user": String::from_utf8_lossy(MARKER)}, "type": "Opaque"});
    format!("{s}\n").into_bytes()
}

/// 55799({"apiVersion": "v1", "kind": "Secret", "metadata": {"name", "namespace"}, "data": {"password": base64}})
fn cbor_secret(name: &str) -> Vec<u8> {
    let text = |s: &str, out: &mut Vec<u8>| {
        out.push(0x78);
        out.push(s.len() as u8);
        out.extend_from_slice(s.as_bytes());
    };
    let mut c = vec![0xd9, 0xd9, 0xf7, 0xa4];
    text("apiVersion", &mut c);
    text("v1", &mut c);
    text("kind", &mut c);
    text("Secret", &mut c);
    text("metadata", &mut c);
    c.push(0xa2);
    text("name", &mut c);
    text(name, &mut c);
    text("namespace", &mut c);
    text("s", &mut c);
    text("data", &mut c);
    c.push(0xa1);
    text("password", &mut c);
    text(&B64.encode(MARKER), &mut c);
    c
}

/// The marker in clear, and the parts of its base64 that any encoding containing it shows,
/// whatever its alignment within the encoded bytes.
fn marker_forms() -> Vec<String> {
    let mut forms = Vec::new();
    for m in [MARKER, MARKER2] {
        forms.push(String::from_utf8_lossy(m).into_owned());
        for pad in 0..3 {
            let enc = B64.encode([vec![0u8; pad], m.to_vec()].concat());
            let start = if pad == 0 { 0 } else { 4 };
            forms.push(enc[start..enc.len() - 4].to_string());
        }
    }
    forms
}

fn config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("encryption.yaml");
    std::fs::write(&path, format!(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - aescbc:\n      keys:\n      - name: cbc1\n        secret: {}\n  - aesgcm:\n      keys:\n      - name: gcm1\n        secret: {}\n  - identity: {{}}\n",
        B64.encode(CBC_KEY), B64.encode(GCM_KEY)
    )).unwrap();
    path
}

#[test]
fn no_output_shows_a_secret_without_show_secrets() {
    if bin_dir_or_skip("3.5.1").is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut puts = Vec::new();
    let mut put = |key: &str, bytes: Vec<u8>, txn: bool| {
        let file = tmp.path().join(format!("value-{}", puts.len()));
        std::fs::write(&file, bytes).unwrap();
        puts.push(json!({"key": key, "value_file": file, "txn": txn}));
    };
    put("/registry/secrets/s/pb", protobuf_secret("pb", MARKER), false);
    put("/registry/secrets/s/js", json_secret("js"), false);
    put("/registry/secrets/s/cb", cbor_secret("cb"), false);
    let cbc_key = "/registry/secrets/s/cbc";
    put(cbc_key, seal(Provider::AesCbc, "cbc1", &CBC_KEY, cbc_key.as_bytes(), &[3u8; 16], &protobuf_secret("cbc", MARKER)).unwrap(), false);
    let gcm_key = "/registry/secrets/s/gcm";
    put(gcm_key, seal(Provider::AesGcm, "gcm1", &GCM_KEY, gcm_key.as_bytes(), &[5u8; 12], &protobuf_secret("gcm", MARKER)).unwrap(), false);
    put("/registry/secrets/s/damaged", [b"k8s\0\x0a\x07garbage ".as_slice(), MARKER].concat(), false);
    put("/registry/secrets/s/intxn", protobuf_secret("intxn", MARKER), true);
    put("/registry/configmaps/s/beside", br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"beside","namespace":"s"},"data":{"a":"b"}}"#.to_vec(), false);
    put("/registry/secrets/s/pb", protobuf_secret("pb", MARKER2), false);
    let manifest = tmp.path().join("puts.json");
    std::fs::write(&manifest, serde_json::to_vec(&puts).unwrap()).unwrap();
    let out_dir = tmp.path().join("out");
    let status = Command::new("python3")
        .arg(repo().join("scripts/put_values.py"))
        .args(["--version", "3.5.1", "--random-ports", "--keep-member", "--manifest"])
        .arg(&manifest)
        .arg("--out")
        .arg(&out_dir)
        .status()
        .unwrap();
    assert!(status.success());
    let done: Vec<Value> = serde_json::from_slice(&std::fs::read(out_dir.join("puts.json")).unwrap()).unwrap();
    let first_pb = done[0]["mod_revision"].as_i64().unwrap();
    let snap = out_dir.join("snapshot.db");
    let data = out_dir.join("data");
    let cfg = config(tmp.path());
    let value = tmp.path().join("value-0");
    let (s, d, c, v) = (snap.into_os_string(), data.into_os_string(), cfg.into_os_string(), value.into_os_string());
    let with = |mut args: Vec<OsString>| {
        args.push("--encryption-config".into());
        args.push(c.clone());
        args
    };
    let os = |items: &[&str]| items.iter().map(OsString::from).collect::<Vec<_>>();
    let mut runs: Vec<Vec<OsString>> = Vec::new();
    for format in ["table", "wide", "json", "yaml", "name", "jsonl", "jsonpath={.items[*].data}"] {
        runs.push(with([os(&["get"]), vec![s.clone()], os(&["secrets", "-n", "s", "-o", format])].concat()));
    }
    for format in ["json", "yaml"] {
        runs.push(with([os(&["get"]), vec![s.clone()], os(&["secret/pb", "-n", "s", "-o", format])].concat()));
    }
    runs.push(with([os(&["get"]), vec![s.clone()], os(&["--all-objects", "-o", "jsonl"])].concat()));
    runs.push(with([os(&["get"]), vec![s.clone()], os(&["--key", "/registry/secrets/s/pb"])].concat()));
    runs.push(with([os(&["get"]), vec![s.clone()], os(&["--key", "/registry/secrets/s/gcm"])].concat()));
    runs.push([os(&["get"]), vec![s.clone()], os(&["--list-keys"])].concat());
    runs.push([os(&["decode"]), vec![v.clone()]].concat());
    runs.push([os(&["decode"]), vec![v.clone()], os(&["-o", "yaml"])].concat());
    for format in ["table", "json", "jsonl", "yaml"] {
        runs.push(with([os(&["history"]), vec![s.clone()], os(&["secret/pb", "-n", "s", "-o", format])].concat()));
        runs.push(with([os(&["history"]), vec![s.clone()], os(&["/registry/secrets/", "--prefix", "-o", format])].concat()));
    }
    let rev = first_pb.to_string();
    for extra in [vec!["-o", "json"], vec!["--details"]] {
        runs.push(with([os(&["diff"]), vec![s.clone(), s.clone()], os(&["--rev-old", &rev]), os(&extra)].concat()));
    }
    for format in ["table", "json", "jsonl"] {
        runs.push(with([os(&["wal"]), vec![d.clone()], os(&["-o", format])].concat()));
        runs.push([os(&["wal"]), vec![d.clone()], os(&["-o", format])].concat());
    }
    for sql in ["SELECT * FROM kv", "SELECT * FROM objects", "SELECT * FROM annotations", "SELECT * FROM revisions", "SELECT * FROM wal_puts", "SELECT * FROM wal_entries"] {
        for format in ["table", "json", "csv"] {
            runs.push(with([os(&["query"]), vec![s.clone(), sql.into()], os(&["--history", "--wal"]), vec![d.clone()], os(&["-o", format])].concat()));
        }
    }
    let forms = marker_forms();
    // export sqlite: no table of the file holds a marker in any form, nor do its raw bytes.
    let db = tmp.path().join("export.sqlite");
    let exported = Command::new(bin()).args(with([os(&["export", "sqlite"]), vec![s.clone(), db.clone().into_os_string()], os(&["--history", "--wal"]), vec![d.clone()]].concat())).output().unwrap();
    assert_eq!(exported.status.code(), Some(0), "{}", String::from_utf8_lossy(&exported.stderr));
    let bytes = std::fs::read(&db).unwrap();
    for marker in [MARKER, MARKER2] {
        assert!(!bytes.windows(marker.len()).any(|w| w == marker), "the export's bytes hold a Secret");
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    for form in &forms {
        assert!(!text.contains(form.as_str()), "the export holds a Secret ({form})");
    }
    let damaged = Command::new(bin()).arg("query").arg(&s).arg("SELECT error FROM objects WHERE key = '/registry/secrets/s/damaged'").args(["-o", "jsonl"]).output().unwrap();
    assert!(String::from_utf8_lossy(&damaged.stdout).contains("\"error\":\""), "an undecodable object gets a row with the reason: {}", String::from_utf8_lossy(&damaged.stdout));
    for args in &runs {
        let out = Command::new(bin()).args(args).output().unwrap();
        let text = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
        assert!(out.status.code().is_some_and(|c| c <= 2), "{args:?}: {text}");
        if args[0] == "query" {
            assert_eq!(out.status.code(), Some(0), "{args:?}: {text}");
        }
        for form in &forms {
            assert!(!text.contains(form.as_str()), "{args:?} shows a Secret ({form}):\n{}", &text[..text.len().min(3000)]);
        }
    }
    // The search finds them where they are shown: raw stored bytes (base64 at any alignment).
    for args in [
        with([os(&["history"]), vec![s.clone()], os(&["/registry/secrets/", "--prefix", "-o", "jsonl", "--show-secrets"])].concat()),
        with([os(&["wal"]), vec![d.clone()], os(&["-o", "jsonl", "--show-secrets"])].concat()),
        with([os(&["query"]), vec![s.clone(), "SELECT * FROM kv".into()], os(&["-o", "jsonl", "--show-secrets"])].concat()),
    ] {
        let out = Command::new(bin()).args(&args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(forms.iter().any(|f| text.contains(f.as_str())), "{args:?} with --show-secrets shows the markers");
    }
    // The markers are there to be found: --show-secrets shows them.
    let shown = Command::new(bin()).arg("get").arg(&s).args(["secrets", "-n", "s", "-o", "json", "--show-secrets"]).arg("--encryption-config").arg(&c).output().unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    for name in ["pb", "js", "cb", "cbc", "gcm", "intxn"] {
        let item = serde_json::from_str::<Value>(&text).unwrap()["items"].as_array().unwrap().iter().find(|i| i["metadata"]["name"] == name).cloned();
        let item = item.unwrap_or_else(|| panic!("{name} listed"));
        assert!(item.to_string().contains(&B64.encode(MARKER)) || item.to_string().contains(&B64.encode(MARKER2)), "{name}: {item}");
    }
}
