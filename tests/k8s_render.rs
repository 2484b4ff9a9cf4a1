//! The wire → JSON writer on hand-made protobuf: protobuf's own rules (last scalar wins,
//! repeated singular messages merge, packed and unpacked repeated scalars, map entries sorted
//! with the last duplicate kept), what the API server changes on read (resourceVersion), what we
//! redact (Secrets), what we report (unknown fields, malformed bytes with their path), and that
//! no damaged object makes it panic.

#[path = "common/fixtures.rs"]
mod fixtures;

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
    // kubectl apply's annotation holds the whole applied Secret (ObjectMeta annotations: 12).
    let applied = r#"{"apiVersion":"v1","data":{"password":"aHVudGVyMg=="},"kind":"Secret"}"#;
    let annotated = Msg::new()
        .msg(1, &meta("db").entry(12, "kubectl.kubernetes.io/last-applied-configuration", applied).entry(12, "team", "a"))
        .msg(2, &Msg::new().str(1, "password").bytes(2, b"hunter2"));
    let hidden = render(&s, "v1", "Secret", &annotated, RenderOptions { redact_secrets: true, resource_version: Some(7), ..Default::default() });
    assert!(!hidden.to_string().contains("aHVudGVyMg=="), "{hidden}");
    assert_eq!(hidden["metadata"]["annotations"]["team"], "a");
    assert_eq!(
        hidden["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"],
        format!("<redacted: {} characters; --show-secrets to show>", applied.len())
    );
    let without_rv = render(&s, "v1", "Secret", &annotated, RenderOptions { redact_secrets: true, ..Default::default() });
    assert!(!without_rv.to_string().contains("aHVudGVyMg=="), "{without_rv}");
    // ObjectMeta written twice merges: the annotation in the second part is redacted too.
    let split = Msg::new().msg(1, &meta("db")).msg(1, &Msg::new().entry(12, "kubectl.kubernetes.io/last-applied-configuration", applied));
    let merged = render(&s, "v1", "Secret", &split, RenderOptions { redact_secrets: true, ..Default::default() });
    assert!(!merged.to_string().contains("aHVudGVyMg=="), "{merged}");
    let shown = render(&s, "v1", "Secret", &annotated, RenderOptions::default());
    assert_eq!(shown["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"], applied);
    let cm = Msg::new().msg(1, &meta("cm").entry(12, "kubectl.kubernetes.io/last-applied-configuration", "{}"));
    assert_eq!(
        render(&s, "v1", "ConfigMap", &cm, RenderOptions { redact_secrets: true, ..Default::default() })["metadata"]["annotations"]
            ["kubectl.kubernetes.io/last-applied-configuration"],
        "{}"
    );
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
fn a_secrets_unknown_fields_are_withheld_unless_secrets_are_shown() {
    let s = schemas();
    // Fields a newer Secret schema may hold data in: at the top, in metadata, and in an inline
    // message read twice (merged), as varints and bytes.
    let secret = Msg::new()
        .msg(1, &meta("db").str(99, "hunter2-in-meta"))
        .msg(2, &Msg::new().str(1, "password").bytes(2, b"x"))
        .str(98, "hunter2-on-top")
        .int(97, 424242);
    let v = render(&s, "v1", "Secret", &secret, RenderOptions { show_unknown: true, redact_secrets: true, ..Default::default() });
    let text = v.to_string();
    for shown in ["aHVudGVyMi", "hunter2", "424242"] {
        assert!(!text.contains(shown), "{shown} in {text}");
    }
    // What is withheld says where it was and how long it was, as redacted data does.
    assert_eq!(v["__unknownFields__"]["98"], json!([{"bytes": "<redacted: 20 characters; --show-secrets to show>"}]));
    assert_eq!(v["__unknownFields__"]["97"], json!([{"varint": "<redacted: 6 characters; --show-secrets to show>"}]));
    assert_eq!(v["metadata"]["__unknownFields__"]["99"], json!([{"bytes": "<redacted: 20 characters; --show-secrets to show>"}]));
    let t = render_object_text(&s, "v1", "Secret", &secret.0, RenderOptions { show_unknown: true, redact_secrets: true, ..Default::default() }).unwrap();
    assert_eq!(t.unknown_fields, vec!["metadata.#99", "#97", "#98"], "the paths are still reported");
    // Shown with --show-secrets, and another kind's unknown fields are shown as before.
    let shown = render(&s, "v1", "Secret", &secret, RenderOptions { show_unknown: true, ..Default::default() });
    assert_eq!(shown["__unknownFields__"]["97"], json!([{"varint": 424242}]));
    let cm = Msg::new().msg(1, &meta("cm")).str(98, "kept");
    assert_eq!(
        render(&s, "v1", "ConfigMap", &cm, RenderOptions { show_unknown: true, redact_secrets: true, ..Default::default() })["__unknownFields__"]["98"],
        json!([{"bytes": "a2VwdA=="}])
    );
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
    let e =
        render_object_text(&s, "v1", "ConfigMap", &Msg::new().msg(1, &Msg::new().bytes(1, &[0xff, 0xfe])).0, RenderOptions::default()).unwrap_err().to_string();
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
    let dir = fixtures::k8s_fixtures().join("HEAD");
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

const PROPS: &str = "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps";

/// The field number of `json` in message `full`.
fn num(s: &Schemas, full: &str, json: &str) -> u32 {
    s.message(full).unwrap().fields().find(|f| f.json_name() == json).unwrap_or_else(|| panic!("{full}.{json}")).number()
}

fn render_props(s: &Schemas, m: &Msg) -> Result<String, String> {
    let desc = s.message(PROPS).unwrap();
    etcdscope::k8s::json::render_message_text(s, &desc, &m.0, RenderOptions::default()).map(|r| r.json)
}

#[test]
fn recursion_in_user_types_is_bounded_too() {
    // A user's own recursive type (--proto-path), 5,000 levels deep.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("widget.proto"),
        "syntax = \"proto2\";\npackage test.v1;\nmessage Widget { optional Widget rule = 1; optional string name = 2; }\n",
    )
    .unwrap();
    let s = Schemas::with_proto_path(dir.path()).unwrap();
    let desc = s.message("test.v1.Widget").unwrap();
    let mut m = Msg::new().str(2, "leaf");
    for _ in 0..5000 {
        m = Msg::new().msg(1, &m);
    }
    let e = etcdscope::k8s::json::render_message_bytes(&s, &desc, &m.0, RenderOptions::default()).unwrap_err();
    assert!(e.contains("nesting deeper than"), "{e}");
    let shallow = Msg::new().msg(1, &Msg::new().str(2, "leaf"));
    assert_eq!(etcdscope::k8s::json::render_message_bytes(&s, &desc, &shallow.0, RenderOptions::default()).unwrap().json, json!({"rule": {"name": "leaf"}}));
}

#[test]
fn inline_messages_share_their_parents_unknown_fields() {
    let s = schemas();
    // Volume{name 1, volumeSource 2 (inline) {emptyDir 2 {}, #99}, #98}
    let vol = Msg::new().str(1, "v").msg(2, &Msg::new().msg(2, &Msg::new()).int(99, 1)).int(98, 2);
    let pod = Msg::new().msg(1, &meta("p")).msg(2, &Msg::new().msg(1, &vol));
    let opts = RenderOptions { show_unknown: true, ..Default::default() };
    let t = render_object_text(&s, "v1", "Pod", &pod.0, opts).unwrap();
    assert_eq!(t.json.matches("__unknownFields__").count(), 1, "{}", t.json);
    assert_eq!(t.unknown_fields, vec!["spec.volumes[0].#98", "spec.volumes[0].#99"], "paths name the object the fields are shown in");
    let v: Value = serde_json::from_str(&t.json).unwrap();
    assert_eq!(v["spec"]["volumes"][0]["__unknownFields__"], json!({"98": [{"varint": 2}], "99": [{"varint": 1}]}));
}

#[test]
fn embedded_json_deep_inside_deep_objects_still_parses() {
    let s = schemas();
    let mut raw = String::new();
    for _ in 0..120 {
        raw.push('[');
    }
    for _ in 0..120 {
        raw.push(']');
    }
    let mut m = Msg::new().msg(num(&s, PROPS, "default"), &Msg::new().str(1, &raw));
    for _ in 0..10 {
        m = Msg::new().msg(num(&s, PROPS, "not"), &m);
    }
    let text = render_props(&s, &m).unwrap();
    assert!(text.contains(&raw), "the embedded JSON is kept");
    // Embedded JSON is compacted as Go compacts it, and empty bytes are null.
    let spaced = Msg::new().msg(num(&s, PROPS, "default"), &Msg::new().str(1, "{ \"a\" : [1, 2] , \"s\": \"x y\" }"));
    assert_eq!(render_props(&s, &spaced).unwrap(), r#"{"default":{"a":[1,2],"s":"x y"}}"#);
    let empty = Msg::new().msg(num(&s, PROPS, "default"), &Msg::new().bytes(1, b""));
    assert_eq!(render_props(&s, &empty).unwrap(), r#"{"default":null}"#);
}

#[test]
fn schema_unions_merge_and_prefer_what_go_prefers() {
    let s = schemas();
    let ty = num(&s, PROPS, "type");
    let format = num(&s, PROPS, "format");
    // additionalProperties (JSONSchemaPropsOrBool) with its schema (2) in two halves: merged.
    let halves = Msg::new().msg(2, &Msg::new().str(ty, "string")).msg(2, &Msg::new().str(format, "fmt"));
    let m = Msg::new().msg(num(&s, PROPS, "additionalProperties"), &halves);
    assert_eq!(render_props(&s, &m).unwrap(), r#"{"additionalProperties":{"type":"string","format":"fmt"}}"#);
    // items (JSONSchemaPropsOrArray) with both a schema (1) and a list (2): Go writes the list.
    let both = Msg::new().msg(1, &Msg::new().str(ty, "object")).msg(2, &Msg::new().str(ty, "string")).msg(2, &Msg::new().str(ty, "integer"));
    let m = Msg::new().msg(num(&s, PROPS, "items"), &both);
    assert_eq!(render_props(&s, &m).unwrap(), r#"{"items":[{"type":"string"},{"type":"integer"}]}"#);
}

#[test]
fn floats_are_written_as_go_writes_them() {
    let s = schemas();
    let max = num(&s, PROPS, "maximum");
    let f = |x: f64| {
        let mut m = Msg::new();
        varint(u64::from(max) << 3 | 1, &mut m.0);
        m.0.extend_from_slice(&x.to_le_bytes());
        render_props(&s, &m).unwrap()
    };
    assert_eq!(f(1.8446744073709552e19), r#"{"maximum":18446744073709552000}"#, "no saturation at 2^63");
    assert_eq!(f(3.0), r#"{"maximum":3}"#);
    assert_eq!(f(0.5), r#"{"maximum":0.5}"#);
    assert_eq!(f(1.5e-6), r#"{"maximum":0.0000015}"#);
    assert_eq!(f(1e-7), r#"{"maximum":1e-7}"#);
    assert_eq!(f(1e21), r#"{"maximum":1e+21}"#);
    assert_eq!(f(-0.0), r#"{"maximum":-0}"#);
}

/// Found by a robustness pass: embedded JSON 20,000 levels deep (a CRD `default`, a managedFields
/// `fieldsV1`) passed validation, then every reader of the rendered object recursed once per
/// level and the process aborted on a stack overflow, taking the whole listing with it. Now the
/// object is refused with the path of the embedded value, and nothing deeper than serde_json's
/// own limit is ever written.
#[test]
fn embedded_json_deeper_than_the_limit_is_refused_with_its_path() {
    use etcdscope::k8s::json::MAX_EMBEDDED_DEPTH;
    let s = schemas();
    let nested = |depth: usize| "[".repeat(depth) + &"]".repeat(depth);
    let props = |raw: &str| Msg::new().msg(num(&s, PROPS, "not"), &Msg::new().msg(num(&s, PROPS, "default"), &Msg::new().str(1, raw)));
    assert!(render_props(&s, &props(&nested(MAX_EMBEDDED_DEPTH))).is_ok(), "the limit itself is fine");
    for depth in [MAX_EMBEDDED_DEPTH + 1, 20_000] {
        let err = render_props(&s, &props(&nested(depth))).unwrap_err();
        assert!(err.contains("embedded JSON nested") && err.contains("not.default"), "{err}");
    }
}
