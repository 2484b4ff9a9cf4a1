//! The wire → JSON writer on hand-made protobuf: protobuf's own rules (last scalar wins,
//! repeated singular messages merge, packed and unpacked repeated scalars, map entries sorted
//! with the last duplicate kept), what the API server changes on read (resourceVersion), what we
//! redact (Secrets), what we report (unknown fields, malformed bytes with their path), and that
//! no damaged object makes it panic.

use etcdscope::k8s::json::{render_object, render_object_text, RenderOptions};
use etcdscope::k8s::schema::Schemas;
use serde_json::{json, Value};

/// A protobuf encoder for tests: just enough to build objects field by field.
#[derive(Default, Clone)]
struct Msg(Vec<u8>);

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

impl Msg {
    fn new() -> Self {
        Msg::default()
    }
    fn int(mut self, field: u32, v: u64) -> Self {
        varint(u64::from(field) << 3, &mut self.0);
        varint(v, &mut self.0);
        self
    }
    fn bytes(mut self, field: u32, b: &[u8]) -> Self {
        varint(u64::from(field) << 3 | 2, &mut self.0);
        varint(b.len() as u64, &mut self.0);
        self.0.extend_from_slice(b);
        self
    }
    fn str(self, field: u32, s: &str) -> Self {
        self.bytes(field, s.as_bytes())
    }
    fn msg(self, field: u32, m: &Msg) -> Self {
        self.bytes(field, &m.0)
    }
    fn entry(self, field: u32, k: &str, v: &str) -> Self {
        self.msg(field, &Msg::new().str(1, k).str(2, v))
    }
}

fn schemas() -> Schemas {
    Schemas::embedded().expect("embedded schemas")
}

fn render(s: &Schemas, api_version: &str, kind: &str, m: &Msg, opts: RenderOptions) -> Value {
    render_object(s, api_version, kind, &m.0, opts).expect("renders").json
}

// core/v1 ObjectMeta: name 1, namespace 3, resourceVersion 6, labels 11.
fn meta(name: &str) -> Msg {
    Msg::new().str(1, name).str(3, "default")
}

#[test]
fn last_scalar_wins_and_singular_messages_merge() {
    let s = schemas();
    // ConfigMap: metadata 1 (twice: the two halves merge), data 2.
    let cm = Msg::new().msg(1, &Msg::new().str(1, "first")).msg(1, &Msg::new().str(1, "web").str(3, "prod"));
    let v = render(&s, "v1", "ConfigMap", &cm, RenderOptions::default());
    assert_eq!(v["metadata"], json!({"name": "web", "namespace": "prod"}));
}

#[test]
fn map_keys_are_sorted_and_the_last_duplicate_is_kept() {
    let s = schemas();
    let cm = Msg::new().msg(1, &meta("cm")).entry(2, "b", "2").entry(2, "a", "1").entry(2, "b", "3");
    let t = render_object_text(&s, "v1", "ConfigMap", &cm.0, RenderOptions::default()).unwrap();
    assert!(t.json.contains(r#""data":{"a":"1","b":"3"}"#), "{}", t.json);
}

#[test]
fn packed_and_unpacked_repeated_scalars_read_alike() {
    let s = schemas();
    // Pod spec 2 → PodSpec.securityContext 14 → PodSecurityContext.supplementalGroups 4
    // (repeated int64; gogo writes it unpacked, protobuf readers must take both).
    let unpacked = Msg::new().int(4, 1000).int(4, 2000);
    let mut packed_body = Vec::new();
    varint(1000, &mut packed_body);
    varint(2000, &mut packed_body);
    let packed = Msg::new().bytes(4, &packed_body);
    let pod = |sc: &Msg| Msg::new().msg(1, &meta("p")).msg(2, &Msg::new().msg(14, sc));
    let a = render(&s, "v1", "Pod", &pod(&unpacked), RenderOptions::default());
    let b = render(&s, "v1", "Pod", &pod(&packed), RenderOptions::default());
    assert_eq!(a["spec"]["securityContext"]["supplementalGroups"], json!([1000, 2000]));
    assert_eq!(a, b);
}

#[test]
fn resource_version_is_set_where_go_writes_it() {
    let s = schemas();
    let cm = Msg::new().msg(1, &Msg::new().str(1, "cm").str(3, "default").str(5, "uid-1"));
    let opts = RenderOptions { resource_version: Some(42), ..Default::default() };
    let t = render_object_text(&s, "v1", "ConfigMap", &cm.0, opts).unwrap();
    assert!(t.json.contains(r#""metadata":{"name":"cm","namespace":"default","uid":"uid-1","resourceVersion":"42"}"#), "{}", t.json);
}

#[test]
fn secret_values_are_redacted_unless_asked() {
    let s = schemas();
    // Secret: metadata 1, data 2 (map<string, bytes>), stringData 4, type 3.
    let secret = Msg::new().msg(1, &meta("db")).msg(2, &Msg::new().str(1, "password").bytes(2, b"hunter2")).entry(4, "u", "admin").str(3, "Opaque");
    let shown = render(&s, "v1", "Secret", &secret, RenderOptions::default());
    assert_eq!(shown["data"]["password"], "aHVudGVyMg==");
    let hidden = render(&s, "v1", "Secret", &secret, RenderOptions { redact_secrets: true, ..Default::default() });
    assert_eq!(hidden["data"]["password"], "<redacted: 12 characters; --show-secrets to show>");
    assert_eq!(hidden["stringData"]["u"], "<redacted: 5 characters; --show-secrets to show>");
    assert_eq!(hidden["type"], "Opaque");
    // Only Secrets: a ConfigMap's data stays.
    let cm = Msg::new().msg(1, &meta("cm")).entry(2, "password", "x");
    assert_eq!(render(&s, "v1", "ConfigMap", &cm, RenderOptions { redact_secrets: true, ..Default::default() })["data"]["password"], "x");
}

#[test]
fn unknown_fields_are_reported_and_shown_on_request() {
    let s = schemas();
    let cm = Msg::new().msg(1, &meta("cm").str(99, "from the future").int(98, 7)).int(97, 1);
    let t = render_object_text(&s, "v1", "ConfigMap", &cm.0, RenderOptions::default()).unwrap();
    assert_eq!(t.unknown_fields, vec!["metadata.#98", "metadata.#99", "#97"]);
    assert!(!t.json.contains("__unknownFields__"));
    let v = render(&s, "v1", "ConfigMap", &cm, RenderOptions { show_unknown: true, ..Default::default() });
    assert_eq!(v["metadata"]["__unknownFields__"], json!({"98": [{"varint": 7}], "99": [{"bytes": "ZnJvbSB0aGUgZnV0dXJl"}]}));
    assert_eq!(v["__unknownFields__"], json!({"97": [{"varint": 1}]}));
}

#[test]
fn malformed_bytes_are_an_error_that_says_where() {
    let s = schemas();
    // metadata.name with a length running past the end.
    let mut bad = Msg::new().msg(1, &meta("cm")).0;
    bad.extend_from_slice(&[0x12, 0x05, 0x0a]);
    let e = render_object_text(&s, "v1", "ConfigMap", &bad, RenderOptions::default()).unwrap_err().to_string();
    assert!(e.contains("runs past the end"), "{e}");
    // A varint where metadata (a message) belongs.
    let e = render_object_text(&s, "v1", "ConfigMap", &Msg::new().int(1, 5).0, RenderOptions::default()).unwrap_err().to_string();
    assert!(e.contains("at metadata"), "{e}");
    // A string that is not UTF-8.
    let e = render_object_text(&s, "v1", "ConfigMap", &Msg::new().msg(1, &Msg::new().bytes(1, &[0xff, 0xfe])).0, RenderOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("not UTF-8") && e.contains("metadata.name"), "{e}");
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let s = schemas();
    // JSONSchemaProps.not is itself a JSONSchemaProps: 10,000 levels of it.
    let props_not = s.message("k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps").unwrap();
    let not_field = props_not.fields().find(|f| f.json_name() == "not").expect("JSONSchemaProps.not").number();
    let mut m = Msg::new();
    for _ in 0..10_000 {
        m = Msg::new().msg(not_field, &m);
    }
    let desc = s.message("k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps").unwrap();
    let e = etcdscope::k8s::json::render_message_bytes(&s, &desc, &m.0, RenderOptions::default()).unwrap_err();
    assert!(e.contains("nesting deeper than"), "{e}");
}

/// Never a panic, whatever the bytes: every HEAD fixture damaged in many deterministic ways
/// (bytes flipped, cut, duplicated) must render or fail with an error. The only oracle is that
/// the loop finishes.
#[test]
fn damaged_objects_never_panic() {
    let s = schemas();
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/k8s-fixtures/HEAD");
    assert!(dir.is_dir(), "{} is missing", dir.display());
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut rendered, mut refused) = (0, 0);
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "pb")).collect();
    names.sort();
    for path in names {
        let bytes = std::fs::read(&path).unwrap();
        let Ok(etcdscope::k8s::envelope::Value::Protobuf(u)) = etcdscope::k8s::envelope::classify(&bytes) else { continue };
        if u.raw.is_empty() {
            continue;
        }
        for round in 0..40 {
            let mut raw = u.raw.to_vec();
            match round % 4 {
                0 => {
                    let i = next() as usize % raw.len();
                    raw[i] ^= 1 << (next() % 8);
                }
                1 => raw.truncate(next() as usize % raw.len()),
                2 => {
                    let i = next() as usize % raw.len();
                    raw[i] = 0xff;
                }
                _ => {
                    let i = next() as usize % raw.len();
                    let j = (i + next() as usize % 64).min(raw.len());
                    let copy = raw[i..j].to_vec();
                    raw.splice(i..i, copy);
                }
            }
            match render_object_text(&s, &u.api_version, &u.kind, &raw, RenderOptions { show_unknown: true, ..Default::default() }) {
                Ok(t) => {
                    serde_json::from_str::<Value>(&t.json).expect("whatever renders is valid JSON");
                    rendered += 1;
                }
                Err(_) => refused += 1,
            }
        }
    }
    println!("{rendered} damaged objects rendered, {refused} refused");
    assert!(rendered + refused > 5000);
}

/// Go's encoding/json over Kubernetes' struct tags (schemas/kubernetes/go-json.txt): gogo writes
/// every non-pointer field even when zero, and only the tag says whether the API server shows it.
#[test]
fn zero_values_follow_the_go_struct_tags() {
    let s = schemas();
    // apps/v1 DeploymentStatus: replicas 2, readyReplicas 7 (int32, omitempty), collisionCount 8
    // (*int32, omitempty) — all zero on the wire.
    let status = Msg::new().int(2, 0).int(7, 0).int(8, 0).int(4, 3);
    let dep = Msg::new().msg(1, &meta("api")).msg(3, &status);
    let v = render(&s, "apps/v1", "Deployment", &dep, RenderOptions::default());
    assert_eq!(v["status"], json!({"availableReplicas": 3, "collisionCount": 0}), "zero non-pointers hidden, a zero pointer shown");

    // core/v1 PodCondition: type 1 and status 2 have no omitempty (shown even when empty);
    // lastProbeTime 3 is a metav1.Time by value: zero → null; reason 5 is omitempty.
    let cond = Msg::new().str(1, "Ready").str(2, "").msg(3, &Msg::new()).str(5, "");
    let pod = Msg::new().msg(1, &meta("p")).msg(3, &Msg::new().msg(2, &cond));
    let v = render(&s, "v1", "Pod", &pod, RenderOptions::default());
    assert_eq!(v["status"]["conditions"][0], json!({"type": "Ready", "status": "", "lastProbeTime": null}));

    // rbac/v1 Role.rules (`json:"rules"`, a slice): absent → null.
    let role = Msg::new().msg(1, &meta("r"));
    assert_eq!(render(&s, "rbac.authorization.k8s.io/v1", "Role", &role, RenderOptions::default())["rules"], Value::Null);
    assert!(render_object_text(&s, "rbac.authorization.k8s.io/v1", "Role", &role.0, RenderOptions::default()).unwrap().json.contains(r#""rules":null"#));

    // ObjectMeta.creationTimestamp is `omitempty,omitzero`: a zero Time is not shown.
    let cm = Msg::new().msg(1, &meta("cm").msg(8, &Msg::new()));
    assert!(render(&s, "v1", "ConfigMap", &cm, RenderOptions::default())["metadata"].get("creationTimestamp").is_none());

    // core/v1 Volume.volumeSource is `json:",inline"`: its fields are the volume's.
    let vol = Msg::new().str(1, "data").msg(2, &Msg::new().msg(2, &Msg::new()));
    let pod = Msg::new().msg(1, &meta("p")).msg(2, &Msg::new().msg(1, &vol));
    assert_eq!(render(&s, "v1", "Pod", &pod, RenderOptions::default())["spec"]["volumes"][0], json!({"name": "data", "emptyDir": {}}));
}
