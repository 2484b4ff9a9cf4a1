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
    let mut type_meta = Vec::new();
    field(&mut type_meta, 1, b"v1");
    field(&mut type_meta, 2, b"Secret");
    let mut unknown = Vec::new();
    field(&mut unknown, 1, &type_meta);
    protobuf_envelope(unknown, &secret_object(name, secret))
}

/// The Secret message itself (runtime.Unknown's raw), with kubectl's last-applied annotation.
fn secret_object(name: &str, secret: &[u8]) -> Vec<u8> {
    let applied = json!({"apiVersion": "v1", "kind": "Secret", "data": {"password": B64.encode(secret)}}).to_string();
    let mut meta = Vec::new();
    field(&mut meta, 1, name.as_bytes());
    field(&mut meta, 3, b"s");
    field(&mut meta, 12, &entry(LAST_APPLIED.as_bytes(), applied.as_bytes()));
    let mut obj = Vec::new();
    field(&mut obj, 1, &meta);
    field(&mut obj, 2, &entry(b"password", secret));
    field(&mut obj, 3, b"Opaque");
    obj
}

/// k8s\0 + runtime.Unknown: `type_meta_fields` (its typeMeta field or fields), then raw = `object`.
fn protobuf_envelope(type_meta_fields: Vec<u8>, object: &[u8]) -> Vec<u8> {
    let mut unknown = type_meta_fields;
    field(&mut unknown, 2, object);
    [b"k8s\0".as_slice(), &unknown].concat()
}

fn json_secret(name: &str, marker: &[u8]) -> Vec<u8> {
    let applied = json!({"apiVersion": "v1", "kind": "Secret", "data": {"password": B64.encode(marker)}}).to_string();
    let s = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "s", "annotations": {LAST_APPLIED: applied}},
                   "data": {"password": B64.encode(marker)}, "stringData": {"user": String::from_utf8_lossy(marker)}, "type": "Opaque"});
    format!("{s}\n").into_bytes()
}

/// 55799({"apiVersion": "v1", "kind": "Secret", "metadata": {"name", "namespace"}, "data": {"password": base64}})
fn cbor_secret(name: &str, marker: &[u8]) -> Vec<u8> {
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
    text(&B64.encode(marker), &mut c);
    c
}

/// The marker in clear, and the parts of its base64 that any encoding containing it shows,
/// whatever its alignment within the encoded bytes.
fn marker_forms() -> Vec<String> {
    forms_of(&[MARKER, MARKER2])
}

/// [`marker_forms`] of other markers.
fn forms_of(markers: &[&[u8]]) -> Vec<String> {
    let mut forms = Vec::new();
    for m in markers.iter().copied() {
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
    put("/registry/secrets/s/js", json_secret("js", MARKER), false);
    put("/registry/secrets/s/cb", cbor_secret("cb", MARKER), false);
    let cbc_key = "/registry/secrets/s/cbc";
    put(cbc_key, seal(Provider::AesCbc, "cbc1", &CBC_KEY, cbc_key.as_bytes(), &[3u8; 16], &protobuf_secret("cbc", MARKER)).unwrap(), false);
    let gcm_key = "/registry/secrets/s/gcm";
    put(gcm_key, seal(Provider::AesGcm, "gcm1", &GCM_KEY, gcm_key.as_bytes(), &[5u8; 12], &protobuf_secret("gcm", MARKER)).unwrap(), false);
    put("/registry/secrets/s/damaged", [b"k8s\0\x0a\x07garbage ".as_slice(), MARKER].concat(), false);
    put("/registry/secrets/s/intxn", protobuf_secret("intxn", MARKER), true);
    put(
        "/registry/configmaps/s/beside",
        br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"beside","namespace":"s"},"data":{"a":"b"}}"#.to_vec(),
        false,
    );
    put("/registry/secrets/s/pb", protobuf_secret("pb", MARKER2), false);
    let out_dir = put_with_real_etcd(tmp.path(), &puts, true);
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
    for sql in [
        "SELECT * FROM kv",
        "SELECT * FROM objects",
        "SELECT * FROM annotations",
        "SELECT * FROM revisions",
        "SELECT * FROM wal_puts",
        "SELECT * FROM wal_entries",
    ] {
        for format in ["table", "json", "csv"] {
            runs.push(with([os(&["query"]), vec![s.clone(), sql.into()], os(&["--history", "--wal"]), vec![d.clone()], os(&["-o", format])].concat()));
        }
    }
    let forms = marker_forms();
    // export sqlite: no table of the file holds a marker in any form, nor do its raw bytes.
    let db = tmp.path().join("export.sqlite");
    let exported = Command::new(bin())
        .args(with([os(&["export", "sqlite"]), vec![s.clone(), db.clone().into_os_string()], os(&["--history", "--wal"]), vec![d.clone()]].concat()))
        .output()
        .unwrap();
    assert_eq!(exported.status.code(), Some(0), "{}", String::from_utf8_lossy(&exported.stderr));
    let bytes = std::fs::read(&db).unwrap();
    for marker in [MARKER, MARKER2] {
        assert!(!bytes.windows(marker.len()).any(|w| w == marker), "the export's bytes hold a Secret");
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    for form in &forms {
        assert!(!text.contains(form.as_str()), "the export holds a Secret ({form})");
    }
    let damaged = Command::new(bin())
        .arg("query")
        .arg(&s)
        .arg("SELECT error FROM objects WHERE key = '/registry/secrets/s/damaged'")
        .args(["-o", "jsonl"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&damaged.stdout).contains("\"error\":\""),
        "an undecodable object gets a row with the reason: {}",
        String::from_utf8_lossy(&damaged.stdout)
    );
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
    let shown = Command::new(bin())
        .arg("get")
        .arg(&s)
        .args(["secrets", "-n", "s", "-o", "json", "--show-secrets"])
        .arg("--encryption-config")
        .arg(&c)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    for name in ["pb", "js", "cb", "cbc", "gcm", "intxn"] {
        let item = serde_json::from_str::<Value>(&text).unwrap()["items"].as_array().unwrap().iter().find(|i| i["metadata"]["name"] == name).cloned();
        let item = item.unwrap_or_else(|| panic!("{name} listed"));
        assert!(item.to_string().contains(&B64.encode(MARKER)) || item.to_string().contains(&B64.encode(MARKER2)), "{name}: {item}");
    }
}

// ---- odd keys and disguised Secrets -------------------------------------------------------------

/// In values under `/registry/secrets/` whose keys are not NAMESPACE/NAME, or whose type is not
/// Secret: redacted because of where they are.
const KEY_MARK: &[u8] = b"S3cr3t-OddKey-C3";
/// In Secrets (by type) stored where Secrets are not: redacted because of what they are.
const KIND_MARK: &[u8] = b"S3cr3t-KindOf-D4";
/// In values under `/custom/secrets/`: Secrets' keys when kube-apiserver ran with
/// `--etcd-prefix /custom`.
const CUSTOM_MARK: &[u8] = b"S3cr3t-Custom-E5";

/// In Secrets whose kind a search of the bytes for "Secret" does not find, but Kubernetes
/// reads (and so does the decoder): redacted because of what they are, in every view alike.
const ENC_MARK: &[u8] = b"S3cr3t-Encode-F6";

/// CBOR text (major type 3) with a one-byte length.
fn cbor_text(s: &str) -> Vec<u8> {
    [vec![0x78, s.len() as u8], s.as_bytes().to_vec()].concat()
}

/// CBOR bytes (major type 2) with a one-byte length.
fn cbor_bytes(b: &[u8]) -> Vec<u8> {
    [vec![0x58, b.len() as u8], b.to_vec()].concat()
}

/// 55799({"apiVersion": "v1", "kind": KIND, "metadata": {"name": NAME}, "data": {"password": bytes}})
/// with the encoded `kind` entries (`kind_entries` key-value pairs) given as they are.
fn cbor_with_kind(name: &str, kind: &[u8], kind_entries: u8, marker: &[u8]) -> Vec<u8> {
    [
        vec![0xd9, 0xd9, 0xf7, 0xa3 + kind_entries],
        cbor_text("apiVersion"),
        cbor_text("v1"),
        kind.to_vec(),
        cbor_text("metadata"),
        vec![0xa1],
        cbor_text("name"),
        cbor_text(name),
        cbor_text("data"),
        vec![0xa1],
        cbor_text("password"),
        cbor_bytes(marker),
    ]
    .concat()
}

/// Secrets (holding `marker`) in encodings that hide the word "Secret" from a byte search, or
/// that Kubernetes refuses (so their kind cannot be read and they are not cleared), under keys
/// where Secrets are not kept: (key, value).
fn secrets_in_odd_encodings(marker: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let json = |kind_fields: &str| {
        format!(r#"{{"apiVersion":"v1",{kind_fields},"metadata":{{"name":"j","namespace":"ns"}},"data":{{"password":"{}"}}}}"#, B64.encode(marker)).into_bytes()
    };
    // runtime.Unknown whose typeMeta occurs twice: {kind: Secret}, then {apiVersion: v1}; merged,
    // it names a Secret (protobuf merges a repeated embedded message).
    let split_type_meta = {
        let mut type_meta = Vec::new();
        field(&mut type_meta, 2, b"Secret");
        let mut api_version = Vec::new();
        field(&mut api_version, 1, b"v1");
        let mut unknown = Vec::new();
        field(&mut unknown, 1, &type_meta);
        field(&mut unknown, 1, &api_version);
        protobuf_envelope(unknown, &secret_object("merged", marker))
    };
    vec![
        // (_ "Se" "cret"): an indefinite-length text string.
        (
            "/registry/configmaps/ns/cbor-chunked",
            cbor_with_kind("chunked", &[cbor_text("kind"), vec![0x7f, 0x62], b"Se".to_vec(), vec![0x64], b"cret".to_vec(), vec![0xff]].concat(), 1, marker),
        ),
        // (_ h'536563' h'726574'): an indefinite-length byte string, read as its bytes.
        (
            "/registry/configmaps/ns/cbor-bytes",
            cbor_with_kind("bytes", &[cbor_bytes(b"kind"), vec![0x5f, 0x43], b"Sec".to_vec(), vec![0x43], b"ret".to_vec(), vec![0xff]].concat(), 1, marker),
        ),
        // 32(…): a tag around the kind.
        (
            "/app/cbor-tagged",
            cbor_with_kind(
                "tagged",
                &[cbor_text("kind"), vec![0xd8, 0x20, 0x7f, 0x63], b"Sec".to_vec(), vec![0x63], b"ret".to_vec(), vec![0xff]].concat(),
                1,
                marker,
            ),
        ),
        // The kind key twice: Kubernetes refuses the value, so its kind cannot be read.
        (
            "/registry/configmaps/ns/cbor-twice",
            cbor_with_kind("twice", &[cbor_text("kind"), cbor_text("ConfigMap"), cbor_text("kind"), cbor_text("Pod")].concat(), 2, marker),
        ),
        // JSON: a key Go's encoding/json folds to `kind`, the last of two, and escapes.
        ("/registry/configmaps/ns/json-folded", json(r#""KIND":"Secret""#)),
        ("/app/json-twice", json(r#""kind":"ConfigMap","Kind":"Secret""#)),
        ("/app/json-escaped", json(r#""kind":"\u0053\u0065\u0063ret""#)),
        ("/registry/configmaps/ns/pb-merged", split_type_meta),
    ]
}

/// In Secrets that keep data where a v1 Secret has none, or not as a map: `data` as a string,
/// `stringData` as a list, a top-level field of a newer schema, and protobuf fields the schema
/// does not name (which `--show-unknown` shows).
const SHAPE_MARK: &[u8] = b"S3cr3t-Shaped-G7";

/// Secrets (holding `marker`) whose data is not a map of strings, or lies in fields the v1
/// Secret does not have: (key, value).
fn secrets_with_data_elsewhere(marker: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let text = String::from_utf8_lossy(marker);
    let json = |fields: serde_json::Value| {
        let mut s = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shaped", "namespace": "ns"}, "type": "Opaque"});
        s.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        s.to_string().into_bytes()
    };
    // A protobuf Secret with unknown fields: 98 at the top, 99 in its metadata (a second
    // metadata field, merged with the first).
    let with_unknown = {
        let mut object = secret_object("unknown", b"known");
        field(&mut object, 98, marker);
        let mut meta = Vec::new();
        field(&mut meta, 99, marker);
        field(&mut object, 1, &meta);
        let mut type_meta = Vec::new();
        field(&mut type_meta, 1, b"v1");
        field(&mut type_meta, 2, b"Secret");
        let mut unknown = Vec::new();
        field(&mut unknown, 1, &type_meta);
        protobuf_envelope(unknown, &object)
    };
    vec![
        ("/registry/secrets/ns/data-string", json(json!({"data": B64.encode(marker)}))),
        ("/registry/configmaps/ns/string-data-list", json(json!({"stringData": [text, {"k": text}]}))),
        ("/app/newer-field", json(json!({"data": {}, "binaryData": {"k": B64.encode(marker)}, "secretData": text}))),
        ("/registry/secrets/ns/unknown", with_unknown),
    ]
}

/// Commands that print nothing of a snapshot's values, or print them raw by design, and why.
const EXEMPT: &[(&str, &str)] = &[
    ("kv", "etcdctl's raw read (`etcdctl get` shows stored bytes; docs/commands/kv-get.md says so)"),
    ("replay", "needs a live cluster; prints keys and outcomes, never values"),
    ("completions", "reads no input"),
    ("man", "reads no input"),
    ("help", "reads no input"),
];

/// The subcommands `etcdscope --help` lists.
fn subcommands() -> Vec<String> {
    let out = std::process::Command::new(bin()).arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let commands = text.split("Commands:").nth(1).expect("a Commands: section").split("\n\n").next().unwrap_or("");
    commands.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect()
}

/// Every text and blob cell of every table of the SQLite database at `path`.
fn sqlite_cells(path: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(tables.iter().any(|t| t == "kv") && tables.iter().any(|t| t == "revisions"), "{tables:?}");
    let mut cells = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                let text = match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
                    _ => continue,
                };
                cells.push((table.clone(), text));
            }
        }
    }
    cells
}

#[test]
fn odd_keys_and_disguised_secrets_stay_secret_in_every_command() {
    if bin_dir_or_skip("3.5.1").is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut puts: Vec<Value> = Vec::new();
    let mut values: Vec<(String, std::path::PathBuf)> = Vec::new();
    let mut put = |key: &str, bytes: Vec<u8>| {
        let file = tmp.path().join(format!("value-{}", puts.len()));
        std::fs::write(&file, bytes).unwrap();
        puts.push(json!({"key": key, "value_file": file}));
        values.push((key.to_string(), file));
    };
    let configmap = |name: &str, marker: &[u8]| {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "ns"}, "data": {"a": String::from_utf8_lossy(marker)}})
            .to_string()
            .into_bytes()
    };
    // Under the secrets prefix, in keys real etcd stores as readily as NAMESPACE/NAME.
    put("/registry/secrets/ns/name/extra", protobuf_secret("extra", KEY_MARK));
    put("/registry/secrets//x", [b"raw ".as_slice(), KEY_MARK].concat());
    put("/registry/secrets/ns/", configmap("trailing", KEY_MARK));
    put("/registry/secrets/", KEY_MARK.to_vec());
    // A well-formed Secret key holding what decodes as another type.
    put("/registry/secrets/ns/cm", configmap("cm", KEY_MARK));
    // Secrets by type, where Secrets are not kept.
    put("/registry/configmaps/ns/disguised", protobuf_secret("disguised", KIND_MARK));
    put("/app/settings", json_secret("settings", KIND_MARK));
    put("bare-secret", cbor_secret("bare", KIND_MARK));
    put("/app/broken", [b"k8s\0\x0a\x0e\x0a\x02v1\x12\x06Secret\x12".as_slice(), b"\xff\xff", KIND_MARK].concat());
    // Under another etcd prefix.
    put("/custom/secrets/ns/n/extra", [b"raw ".as_slice(), CUSTOM_MARK].concat());
    put("/custom/secrets/ns/n", configmap("n", CUSTOM_MARK));
    // Updates, so history and diff compare two versions.
    put("/registry/secrets//x", [b"raw, again ".as_slice(), KEY_MARK].concat());
    put("/app/settings", json_secret("settings", KIND_MARK));
    put("/registry/configmaps/ns/disguised", protobuf_secret("disguised", KIND_MARK));
    put("/registry/configmaps/ns/plain", configmap("plain", b"not a secret"));
    for (key, value) in secrets_in_odd_encodings(ENC_MARK).into_iter().chain(secrets_with_data_elsewhere(SHAPE_MARK)) {
        put(key, value);
    }
    // A txn whose compare holds a Secret's value (kube-apiserver compares revisions, but a
    // client may compare values): the WAL holds those bytes in the compare.
    let compared = tmp.path().join("compared-value");
    std::fs::write(&compared, [b"raw, again ".as_slice(), KEY_MARK].concat()).unwrap();
    put("/registry/configmaps/ns/guarded", configmap("guarded", b"guarded by a compare"));
    puts.last_mut().unwrap()["if_value"] = json!({"key": "/registry/secrets//x", "value_file": compared});
    let out_dir = put_with_real_etcd(tmp.path(), &puts, true);
    let done: Vec<Value> = serde_json::from_slice(&std::fs::read(out_dir.join("puts.json")).unwrap()).unwrap();
    let first_rev = done[0]["mod_revision"].as_i64().unwrap().to_string();
    let snap = out_dir.join("snapshot.db").display().to_string();
    let data = out_dir.join("data").display().to_string();
    let t = |p: &Path| p.display().to_string();

    // (command, args, forbidden markers): every command that prints values, in every format.
    let default = [KEY_MARK, KIND_MARK, ENC_MARK, SHAPE_MARK];
    let custom = [CUSTOM_MARK, KIND_MARK, ENC_MARK, SHAPE_MARK];
    let mut runs: Vec<(Vec<String>, Vec<&[u8]>)> = Vec::new();
    let mut run = |args: Vec<String>, forbidden: &[&'static [u8]]| runs.push((args, forbidden.to_vec()));
    let a = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    run(a(&["status", &snap]), &default);
    run(a(&["status", &snap, "-o", "json"]), &default);
    for format in ["table", "wide", "json", "yaml", "jsonl", "name", "jsonpath={.items[*].data}"] {
        run(a(&["get", &snap, "secrets,configmaps", "-A", "-o", format]), &default);
    }
    run(a(&["get", &snap, "--all-objects", "-o", "jsonl"]), &default);
    run(a(&["get", &snap, "--list-keys", "-o", "json"]), &default);
    for (key, _) in &values {
        run(a(&["get", &snap, "--key", key]), &default);
        run(a(&["get", &snap, "--key", key, "--etcd-prefix", "/custom"]), &custom);
    }
    for (key, file) in &values {
        run(a(&["decode", &t(file), "--etcd-key", key]), &default);
        run(a(&["decode", &t(file), "--etcd-key", key, "-o", "yaml", "--etcd-prefix", "/custom"]), &custom);
        run(a(&["decode", &t(file)]), &[KIND_MARK, ENC_MARK, SHAPE_MARK]);
        run(a(&["decode", &t(file), "--etcd-key", key, "--show-unknown"]), &default);
    }
    for format in ["table", "json", "jsonl", "yaml"] {
        run(a(&["history", &snap, "", "--prefix", "-o", format]), &default);
        run(a(&["history", &snap, "", "--prefix", "-o", format, "--etcd-prefix", "/custom"]), &custom);
        run(a(&["history", &snap, "secrets", "-A", "-o", format]), &default);
        run(a(&["history", &snap, "configmaps", "-A", "-o", format]), &default);
    }
    for extra in [vec!["-o", "json"], vec!["--details"], vec![]] {
        run([a(&["diff", &snap, &snap, "--rev-old", &first_rev]), a(&extra)].concat(), &default);
        run([a(&["diff", &snap, &snap, "--rev-old", &first_rev, "--etcd-prefix", "/custom"]), a(&extra)].concat(), &custom);
    }
    for format in ["table", "json", "jsonl"] {
        run(a(&["wal", &data, "-o", format]), &default);
        run(a(&["wal", &data, "-o", format, "--etcd-prefix", "/custom"]), &custom);
    }
    for table in ["kv", "objects", "revisions", "wal_puts", "wal_entries", "annotations", "labels"] {
        for format in ["json", "table", "csv"] {
            let sql = format!("SELECT * FROM {table}");
            run(a(&["query", &snap, &sql, "--history", "--wal", &data, "-o", format]), &default);
            run(a(&["query", &snap, &sql, "--history", "--wal", &data, "-o", format, "--etcd-prefix", "/custom"]), &custom);
        }
    }
    // Fields the schema does not name, shown on request: not a Secret's.
    for format in ["json", "yaml", "jsonl"] {
        run(a(&["get", &snap, "secrets,configmaps", "-A", "-o", format, "--show-unknown"]), &default);
        run(a(&["history", &snap, "", "--prefix", "-o", format, "--show-unknown"]), &default);
    }
    run(a(&["diff", &snap, &snap, "--rev-old", &first_rev, "-o", "json", "--show-unknown"]), &default);
    run(a(&["diff", &snap, &snap, "--rev-old", &first_rev, "--details", "--show-unknown"]), &default);
    run(a(&["query", &snap, "SELECT * FROM objects", "--history", "-o", "json", "--show-unknown"]), &default);
    run(a(&["wal", &data, "-o", "json", "--show-unknown"]), &default);
    run(a(&["check", &snap]), &default);
    run(a(&["check", &snap, "-o", "json"]), &default);
    for by in ["namespace", "resource", "prefix"] {
        run(a(&["analyze", &snap, "--by", by]), &default);
    }
    run(a(&["compare", &snap, &data]), &default);
    run(a(&["hash", &snap]), &default);
    let salvaged = tmp.path().join("salvaged.db");
    let salvage_sqlite = tmp.path().join("salvaged.sqlite");
    run(a(&["salvage", &snap, "--out", &t(&salvaged), "--export-sqlite", &t(&salvage_sqlite), "-o", "json"]), &default);
    run(a(&["rebuild", &snap, "--out", &t(&tmp.path().join("rebuilt")), "--dry-run"]), &default);
    let export = tmp.path().join("export.sqlite");
    let export_custom = tmp.path().join("export-custom.sqlite");
    run(a(&["export", "sqlite", &snap, &t(&export), "--history", "--wal", &data]), &default);
    run(a(&["export", "sqlite", &snap, &t(&export_custom), "--history", "--wal", &data, "--etcd-prefix", "/custom"]), &custom);

    // A new command must be covered here or exempted with a reason (serve is checked below,
    // through real kubectl).
    let covered: std::collections::BTreeSet<&str> = runs.iter().map(|(args, _)| args[0].as_str()).chain(["serve"]).collect();
    for command in subcommands() {
        assert!(covered.contains(command.as_str()) || EXEMPT.iter().any(|(c, _)| *c == command), "`{command}` prints values and is not checked here: add it");
    }

    let mut leaks = Vec::new();
    let mut check = |what: &str, text: &str, forbidden: &[&[u8]]| {
        for form in forms_of(forbidden) {
            if text.contains(form.as_str()) {
                leaks.push(format!("{what} shows {form:?}"));
            }
        }
    };
    for (args, forbidden) in &runs {
        let out = Command::new(bin()).args(args).output().unwrap();
        let text = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
        assert!(out.status.code().is_some_and(|c| c <= 2), "{args:?}: {text}");
        if matches!(args[0].as_str(), "query" | "export" | "history" | "wal" | "salvage") {
            assert!(out.status.code().is_some_and(|c| c <= 1), "{args:?}: {text}");
        }
        check(&format!("{args:?}"), &text, forbidden);
    }
    // serve, as kubectl reads it: every form of list, get and watch the API answers (objects,
    // Tables, PartialObjectMetadata), under both prefixes.
    for (prefix, forbidden) in [("/registry", &default[..]), ("/custom", &custom[..])] {
        let served = common::serve::serve(&[Path::new(&snap)], &["--etcd-prefix", prefix]);
        for (label, kubectl) in common::serve::kubectls() {
            let mut shown = |args: &[&str]| {
                let (code, out, err) = common::serve::kubectl(&kubectl, label, &served, args);
                assert!(code == 0 || err.contains("Error from server"), "serve, kubectl {label} {args:?}: {err}");
                check(&format!("serve --etcd-prefix {prefix}, kubectl {label} {args:?}"), &format!("{out}{err}"), forbidden);
            };
            for format in ["wide", "json", "yaml", "name"] {
                shown(&["get", "secrets,configmaps", "-A", "-o", format]);
            }
            shown(&["get", "secrets,configmaps", "-A", "--show-labels"]);
            for path in [
                "/api/v1/secrets",
                "/api/v1/configmaps",
                "/api/v1/namespaces/ns/secrets/name",
                "/api/v1/namespaces/ns/secrets/cm",
                "/api/v1/namespaces/ns/configmaps/disguised",
                "/api/v1/secrets?watch=1&resourceVersion=1&timeoutSeconds=1",
                "/api/v1/configmaps?watch=1&timeoutSeconds=1",
                "/api/v1/secrets?limit=1",
            ] {
                shown(&["get", "--raw", path]);
            }
        }
    }
    // The check above can fail: with --show-secrets serve shows what is under the secrets prefix.
    let served = common::serve::serve(&[Path::new(&snap)], &["--show-secrets"]);
    for (label, kubectl) in common::serve::kubectls() {
        let (_, out, err) = common::serve::kubectl(&kubectl, label, &served, &["get", "--raw", "/api/v1/namespaces/ns/secrets/cm"]);
        assert!(forms_of(&[KEY_MARK]).iter().any(|f| out.contains(f.as_str())), "serve --show-secrets, kubectl {label}: {out}{err}");
    }
    drop(served);
    // The databases, read back table by table, and their bytes.
    for (db, forbidden) in [(&export, &default), (&export_custom, &custom), (&salvage_sqlite, &default)] {
        for (table, cell) in sqlite_cells(db) {
            check(&format!("{} table {table}", db.display()), &cell, forbidden);
        }
        check(&format!("{} bytes", db.display()), &String::from_utf8_lossy(&std::fs::read(db).unwrap()), forbidden);
    }
    // decode --stream: every value, one hex line each (no key: Secrets by type).
    let hex: String = values.iter().map(|(_, f)| std::fs::read(f).unwrap().iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n").collect();
    let mut child = Command::new(bin()).args(["decode", "--stream"]).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), hex.as_bytes()).unwrap();
    drop(child.stdin.take());
    let streamed = child.wait_with_output().unwrap();
    check("decode --stream", &String::from_utf8_lossy(&streamed.stdout), &[KIND_MARK, ENC_MARK, SHAPE_MARK]);
    assert!(leaks.is_empty(), "Secrets shown without --show-secrets:\n{}", leaks.join("\n"));

    // The markers are there to be found: --show-secrets shows each of them.
    for (args, marker) in [
        (a(&["history", &snap, "", "--prefix", "-o", "jsonl", "--show-secrets"]), KEY_MARK),
        (a(&["query", &snap, "SELECT * FROM kv", "-o", "jsonl", "--show-secrets"]), KIND_MARK),
        (a(&["query", &snap, "SELECT * FROM kv", "-o", "jsonl", "--show-secrets"]), ENC_MARK),
        (a(&["get", &snap, "--key", "/registry/secrets/ns/unknown", "--show-unknown", "--show-secrets"]), SHAPE_MARK),
        (a(&["get", &snap, "--key", "/registry/secrets/ns/data-string", "--show-secrets"]), SHAPE_MARK),
        (a(&["query", &snap, "SELECT * FROM kv", "-o", "jsonl", "--show-secrets", "--etcd-prefix", "/custom"]), CUSTOM_MARK),
    ] {
        let out = Command::new(bin()).args(&args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(forms_of(&[marker]).iter().any(|f| text.contains(f.as_str())), "{args:?} with --show-secrets shows {}", String::from_utf8_lossy(marker));
    }
    // What is not a Secret is still shown.
    let plain = Command::new(bin()).args(["get", &snap, "configmap/plain", "-n", "ns", "-o", "json"]).output().unwrap();
    assert!(String::from_utf8_lossy(&plain.stdout).contains("not a secret"));
}
