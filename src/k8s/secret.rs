//! What is a Secret's, decided in one place: every view that shows stored bytes or decoded
//! objects asks [`is_secret`] and nothing else.
//!
//! A stored value is a Secret's when
//! - its key lies under `<etcd prefix>/secrets/`: anything there, whether or not the rest of
//!   the key parses as NAMESPACE/NAME (etcd stores `/registry/secrets/ns/name/extra`,
//!   `/registry/secrets//x` or `/registry/secrets/ns/` as readily as a well-formed key, and
//!   kube-apiserver keeps nothing but Secrets there), or
//! - it decodes to kind `Secret`, wherever it is stored (a Secret under a ConfigMap's key, outside
//!   the prefix, under a key without a leading slash). The kind is read as Kubernetes reads it
//!   ([`stored_kind`]), and in the same way for views that show stored bytes as for the decoder,
//!   so no encoding the decoder understands (CBOR's indefinite-length strings, byte strings and
//!   tags; JSON's escapes and case-folded keys; protobuf's merged messages) hides a Secret from
//!   one of them. A Kubernetes value whose kind cannot be read (a damaged envelope, JSON or CBOR
//!   that does not parse or that Kubernetes refuses) counts as one: what cannot be read cannot
//!   be cleared.
//!
//! Unless Secrets are shown, views withhold such a value's stored bytes, redact a decoded
//! Secret's `data`, `stringData` and last-applied-configuration, and do not show at all what
//! decodes as another type under the secrets prefix (see `k8s::decoder`). The field changes
//! `history` and `diff` show between two versions of a Secret are redacted here too
//! ([`shown_changes`]), by the same rule as the object.

use crate::k8s::decoder::{redact_secret_fields, withheld, withhold_unknown_fields, withhold_values, withholds_secret_field, LAST_APPLIED};
use crate::k8s::envelope::{classify, type_meta_field, Value as Stored, PROTOBUF_MAGIC};
use crate::k8s::fields::{top_level, Change};
use crate::k8s::json::UNKNOWN_KEY;
use serde_json::Value;
use std::borrow::Cow;

/// The kind of kube-apiserver's Secrets.
pub const SECRET_KIND: &str = "Secret";

/// What a view knows about a stored value when it asks whether it is a Secret's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evidence<'a> {
    /// The etcd key it is stored under, and kube-apiserver's `--etcd-prefix` (with or without
    /// its slashes).
    pub key: Option<(&'a [u8], &'a str)>,
    /// The kind it decodes to (or that its envelope names), when known.
    pub kind: Option<&'a str>,
}

/// The one predicate: whether a stored value is a Secret's (see the module documentation).
pub fn is_secret(e: Evidence<'_>) -> bool {
    e.key.is_some_and(|(key, prefix)| under_secrets(key, prefix)) || e.kind == Some(SECRET_KIND)
}

/// Whether `key` lies under `<etcd prefix>/secrets/`, the prefix normalized as kube-apiserver
/// writes keys (one leading slash, none trailing). No allocation: views ask for every key.
fn under_secrets(key: &[u8], etcd_prefix: &str) -> bool {
    let prefix = etcd_prefix.trim_matches('/').as_bytes();
    let Some(rest) = key.strip_prefix(b"/") else { return false };
    let rest = if prefix.is_empty() {
        rest
    } else {
        match rest.strip_prefix(prefix).and_then(|r| r.strip_prefix(b"/")) {
            Some(r) => r,
            None => return false,
        }
    };
    rest.starts_with(b"secrets/")
}

/// The kind a stored value (not encrypted, or already decrypted) names, read as Kubernetes
/// reads it: the protobuf envelope's typeMeta ([`type_meta_field`]), a JSON object's `kind`
/// ([`json_kind`]) or a CBOR object's ([`object_kind`] of what [`crate::k8s::cbor::to_json`] reads, the
/// decoder's own reading). `None` for values that are not objects (and for ciphertext);
/// `Some("Secret")` for a Kubernetes value whose kind cannot be read (a damaged envelope, JSON
/// or CBOR that does not parse or that Kubernetes refuses, a kind that is not a string): what
/// cannot be read cannot be cleared.
pub fn stored_kind(plain: &[u8]) -> Option<Cow<'_, str>> {
    // The envelope's TypeMeta, read in place: views ask this of every revision they show.
    if let Some(msg) = plain.strip_prefix(PROTOBUF_MAGIC) {
        return match type_meta_field(msg, 2) {
            Ok(kind) => Some(String::from_utf8_lossy(kind.unwrap_or_default())).filter(|k| !k.is_empty()),
            Err(_) => A_SECRET,
        };
    }
    match classify(plain) {
        Ok(Stored::Json(json)) => json_kind(json),
        Ok(Stored::Cbor(cbor)) => match crate::k8s::cbor::to_json(cbor) {
            Ok(v) => object_kind(&v).map(|k| Cow::Owned(k.into_owned())),
            Err(_) => A_SECRET,
        },
        // (Protobuf is read above.)
        Ok(Stored::Protobuf(_) | Stored::Encrypted(_) | Stored::Other(_)) => None,
        Err(_) => A_SECRET,
    }
}

/// The kind Secret: the answer too for a Kubernetes value whose kind cannot be read.
const A_SECRET: Option<Cow<'static, str>> = Some(Cow::Borrowed(SECRET_KIND));

/// The kind of a decoded CBOR object (or of a JSON object read into a map, as custom resources
/// are): its `kind` key, matched exactly. `None` when absent or null (Kubernetes leaves the kind
/// empty); `Some("Secret")` when it is not a string (it cannot be read).
pub fn object_kind(obj: &serde_json::Value) -> Option<Cow<'_, str>> {
    match obj.get("kind") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(k)) => Some(Cow::Borrowed(k.as_str())).filter(|k| !k.is_empty()),
        Some(_) => A_SECRET,
    }
}

/// The kind of a stored JSON object as Kubernetes reads it. Its JSON serializer finds an
/// object's type with Go's encoding/json, which matches keys without regard to case (Unicode
/// simple folding: `KIND`, `Kind`, the Kelvin sign for `K`), lets the last match win and leaves
/// the field as it was on a null; custom resources are read into a map, where the last key that
/// is exactly `kind` wins. Either reading naming `Secret` makes it one; otherwise the exact
/// reading is the kind. `Some("Secret")` when the JSON does not parse (serde_json refuses what
/// Go refuses) or a matching key's value is not a string (or not UTF-8).
pub fn json_kind(json: &[u8]) -> Option<Cow<'_, str>> {
    match serde_json::from_slice::<JsonKinds>(json) {
        Ok(k) if k.unreadable => A_SECRET,
        Ok(k) if k.folded.as_deref() == Some(SECRET_KIND) => A_SECRET,
        Ok(k) => k.exact.filter(|k| !k.is_empty()).map(Cow::Owned),
        Err(_) => A_SECRET,
    }
}

/// What the two readings of a JSON object's kind found (see [`json_kind`]); every other field
/// is skipped by the parser, not built.
#[derive(Default)]
struct JsonKinds {
    /// The last string value of a key folding to `kind` (Go's encoding/json).
    folded: Option<String>,
    /// The last string value of the key `kind` (a map).
    exact: Option<String>,
    /// A matching key's value is neither a string nor null.
    unreadable: bool,
}

impl<'de> serde::Deserialize<'de> for JsonKinds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(JsonKindsVisitor)
    }
}

struct JsonKindsVisitor;

impl<'de> serde::de::Visitor<'de> for JsonKindsVisitor {
    type Value = JsonKinds;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<JsonKinds, A::Error> {
        let mut kinds = JsonKinds::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if !folds_to_kind(&key) {
                map.next_value::<serde::de::IgnoredAny>()?;
                continue;
            }
            match map.next_value::<serde_json::Value>()? {
                serde_json::Value::String(k) => {
                    if key == "kind" {
                        kinds.exact = Some(k.clone());
                    }
                    kinds.folded = Some(k);
                }
                serde_json::Value::Null => {}
                _ => kinds.unreadable = true,
            }
        }
        Ok(kinds)
    }
}

/// Whether a JSON key matches the field `kind` as Go's encoding/json matches it (since Go 1.21:
/// each character upper-cased after lower-casing, so `K` (U+212A) and `ı` (U+0131) match too;
/// older Go matched a subset of these).
fn folds_to_kind(key: &str) -> bool {
    fn fold(c: char) -> char {
        let lower = c.to_lowercase().next().unwrap_or(c);
        let mut upper = lower.to_uppercase();
        match (upper.next(), upper.next()) {
            (Some(u), None) => u,
            _ => lower,
        }
    }
    key.chars().map(fold).eq("KIND".chars())
}

/// The changes between two decoded versions (each with whether it is a Secret's) as they may be
/// shown: unless Secrets are shown (`hide`), redacted when either is a Secret, and none at all
/// when either is something other than a Secret stored under the secrets prefix (which is not
/// shown either).
pub fn shown_changes(mut changes: Vec<Change>, old: (&Value, bool), new: (&Value, bool), hide: bool) -> Option<Vec<Change>> {
    if !hide || !(old.1 || new.1) {
        return Some(changes);
    }
    let other = |(v, secret): (&Value, bool)| secret && v.get("kind").and_then(Value::as_str) != Some(SECRET_KIND);
    if other(old) || other(new) {
        return None;
    }
    redact_changes(&mut changes);
    Some(changes)
}

/// What a Secret's changes may not show, as [`redact_secret_fields`] withholds it from the
/// object itself: `data`, `stringData` and every other top-level field a v1 Secret does not
/// have (whatever their shape), fields the schema does not name (`__unknownFields__`, at any
/// depth), and kubectl's last-applied-configuration annotation (the whole applied Secret); each
/// value replaced by a marker that says only how long it was.
pub fn redact_changes(changes: &mut [Change]) {
    let annotation = format!("metadata.annotations[{}]", Value::String(LAST_APPLIED.into()));
    for c in changes.iter_mut() {
        let withheld_field = withholds_secret_field(top_level(&c.path)) || c.path.contains(UNKNOWN_KEY);
        for v in [&mut c.old, &mut c.new].into_iter().flatten() {
            if withheld_field {
                withhold_values(v);
            } else if c.path == annotation {
                *v = withheld(v);
            } else if c.path == "metadata.annotations" || c.path == "metadata" {
                // The whole map (or metadata) added or removed: redact what is in it as in the
                // object (the annotation, unknown fields).
                let mut wrapper = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {}});
                if c.path == "metadata" {
                    wrapper["metadata"] = v.take();
                } else {
                    wrapper["metadata"]["annotations"] = v.take();
                }
                redact_secret_fields(&mut wrapper);
                *v = if c.path == "metadata" { wrapper["metadata"].take() } else { wrapper["metadata"]["annotations"].take() };
            } else {
                // Anything else added or removed whole (an owner reference) may hold unknown fields.
                withhold_unknown_fields(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str, prefix: &str) -> bool {
        is_secret(Evidence { key: Some((k.as_bytes(), prefix)), kind: None })
    }

    #[test]
    fn anything_under_the_secrets_prefix() {
        for k in ["/registry/secrets/ns/name", "/registry/secrets/ns/name/extra", "/registry/secrets//x", "/registry/secrets/ns/", "/registry/secrets/"] {
            assert!(key(k, "/registry"), "{k}");
            assert!(key(k, "registry/"), "{k}: the prefix as the flag may be written");
        }
        for k in ["/registry/secrets", "/registry/secretsx/a", "/registry/configmaps/secrets/a", "registry/secrets/a", "/other/secrets/a", ""] {
            assert!(!key(k, "/registry"), "{k}");
        }
        assert!(key("/custom/a/secrets/x", "/custom/a") && !key("/registry/secrets/x", "/custom/a"));
        assert!(key("/secrets/x", "/") && key("/secrets/x", ""));
    }

    #[test]
    fn anything_of_kind_secret() {
        assert!(is_secret(Evidence { key: None, kind: Some("Secret") }));
        assert!(!is_secret(Evidence { key: Some((b"/registry/configmaps/a/b", "/registry")), kind: Some("ConfigMap") }));
        let pb = b"k8s\0\x0a\x0c\x0a\x02v1\x12\x06Secret\x12\x00";
        assert_eq!(stored_kind(pb).as_deref(), Some("Secret"));
        assert_eq!(stored_kind(br#"{"apiVersion":"v1","kind":"Secret","data":{}}"#).as_deref(), Some("Secret"));
        assert_eq!(stored_kind(br#"{"kind":"\u0053ecret"}"#).as_deref(), Some("Secret"), "escapes are read");
        assert_eq!(stored_kind(br#"{"kind":"ConfigMap","data":{"a":"Secret"}}"#).as_deref(), Some("ConfigMap"));
        assert_eq!(stored_kind(br#"{"kind":"ConfigMap"}"#).as_deref(), Some("ConfigMap"));
        assert_eq!(stored_kind(br#"{"kind":"Secret","data":"#).as_deref(), Some("Secret"), "unparseable but naming it");
        assert_eq!(stored_kind(b"k8s\0\x0a\xff").as_deref(), Some("Secret"), "a damaged envelope: its kind cannot be read, so it is not cleared");
        assert_eq!(stored_kind(b"k8s\0\x0a\xffSecret").as_deref(), Some("Secret"));
        assert_eq!(stored_kind(b"Secret in plain text"), None, "not a Kubernetes value");
        assert_eq!(stored_kind(b"k8s:enc:aescbc:v1:k:Secret"), None, "ciphertext shows nothing");
    }

    /// CBOR items for the tests: a text string, a byte string, and a self-described map.
    fn text(s: &str) -> Vec<u8> {
        assert!(s.len() < 24);
        [vec![0x60 | s.len() as u8], s.as_bytes().to_vec()].concat()
    }

    fn bytes(b: &[u8]) -> Vec<u8> {
        assert!(b.len() < 24);
        [vec![0x40 | b.len() as u8], b.to_vec()].concat()
    }

    fn cbor_map(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
        let mut m = vec![0xd9, 0xd9, 0xf7, 0xa0 | entries.len() as u8];
        for (k, v) in entries {
            m.extend_from_slice(k);
            m.extend_from_slice(v);
        }
        m
    }

    #[test]
    fn a_cbor_kind_is_read_as_the_decoder_reads_it() {
        let kind = |v: &[u8]| stored_kind(v).map(|k| k.into_owned());
        let secret = Some("Secret".to_string());
        let data = (text("data"), [vec![0xa1], text("p"), bytes(b"hunter2")].concat());
        // Indefinite-length text: (_ "Se" "cret").
        let chunked = [vec![0x7f], text("Se"), text("cret"), vec![0xff]].concat();
        assert_eq!(kind(&cbor_map(&[(text("kind"), chunked), data.clone()])), secret, "indefinite-length text");
        // Indefinite-length byte string (Kubernetes reads a byte string into a string as its bytes).
        let chunked_bytes = [vec![0x5f], bytes(b"Sec"), bytes(b"ret"), vec![0xff]].concat();
        assert_eq!(kind(&cbor_map(&[(text("kind"), chunked_bytes), data.clone()])), secret, "indefinite-length bytes");
        assert_eq!(kind(&cbor_map(&[(text("kind"), bytes(b"Secret"))])), secret, "a byte string");
        assert_eq!(kind(&cbor_map(&[(bytes(b"kind"), text("Secret"))])), secret, "a byte-string key");
        // A tag around the kind, and an indefinite-length map.
        let tagged = [vec![0xd8, 0x20], text("Secret")].concat();
        assert_eq!(kind(&cbor_map(&[(text("kind"), tagged)])), secret, "a tagged kind");
        let indefinite = [vec![0xd9, 0xd9, 0xf7, 0xbf], text("kind"), chunked_text("Secret"), data.0.clone(), data.1.clone(), vec![0xff]].concat();
        assert_eq!(kind(&indefinite), secret, "an indefinite-length map");
        // Kubernetes refuses a CBOR map with a key twice: the kind cannot be read.
        assert_eq!(kind(&cbor_map(&[(text("kind"), text("ConfigMap")), (text("kind"), text("Pod"))])), secret, "a duplicate key");
        assert_eq!(kind(&cbor_map(&[(text("kind"), text("ConfigMap")), (bytes(b"kind"), text("Pod"))])), secret, "the same key as text and bytes");
        // Nothing that cannot be read is cleared: a kind that is not a string, CBOR that does not parse.
        assert_eq!(kind(&cbor_map(&[(text("kind"), vec![0x05])])), secret, "an integer kind");
        assert_eq!(kind(&[0xd9, 0xd9, 0xf7, 0xa2, 0x64]), secret, "truncated");
        // What is read is the kind: other kinds, and "Secret" elsewhere, are not Secrets.
        assert_eq!(kind(&cbor_map(&[(text("kind"), text("Widget")), (text("x"), text("Secret"))])).as_deref(), Some("Widget"));
        assert_eq!(kind(&cbor_map(&[(text("Kind"), text("Secret"))])), None, "CBOR field names match case-sensitively");
        assert_eq!(kind(&cbor_map(&[(text("spec"), text("Secret"))])), None);
    }

    /// `s` as an indefinite-length text string of one-byte chunks.
    fn chunked_text(s: &str) -> Vec<u8> {
        let mut out = vec![0x7f];
        for c in s.chars() {
            out.extend(text(&c.to_string()));
        }
        out.push(0xff);
        out
    }

    #[test]
    fn a_json_kind_is_read_as_kubernetes_reads_it() {
        let kind = |v: &str| stored_kind(v.as_bytes()).map(|k| k.into_owned());
        let secret = Some("Secret".to_string());
        // The JSON serializer finds the type with Go's encoding/json: keys match
        // case-insensitively (Unicode folding), the last match wins, null changes nothing.
        assert_eq!(kind(r#"{"KIND":"Secret","data":{"p":"aHVudGVyMg=="}}"#), secret, "keys fold");
        assert_eq!(kind("{\"\u{212a}ind\":\"Secret\"}"), secret, "the Kelvin sign folds to k");
        assert_eq!(kind("{\"k\u{131}nd\":\"Secret\"}"), secret, "so does the dotless i (Go 1.21 and later)");
        assert_eq!(kind(r#"{"kind":"ConfigMap","kind":"Secret"}"#), secret, "the last wins");
        assert_eq!(kind(r#"{"kind":"Secret","Kind":"ConfigMap","kind":"Secret"}"#), secret);
        assert_eq!(kind(r#"{"kind":"Secret","kind":null}"#), secret, "null leaves it");
        assert_eq!(kind(r#"{"kind":"\u0053\u0065cret"}"#), secret, "escapes");
        // Custom resources are read into a map, case-sensitively: either reading naming Secret makes one.
        assert_eq!(kind(r#"{"kind":"Secret","KIND":"ConfigMap"}"#), secret);
        // What cannot be read is not cleared.
        assert_eq!(kind(r#"{"kind":5,"data":{}}"#), secret, "a kind that is not a string");
        assert_eq!(kind(r#"{"kind":"ConfigMap","data":"#), secret, "JSON that does not parse");
        assert_eq!(stored_kind(b"{\"kind\":\"Secr\xffet\"}").as_deref(), Some("Secret"), "a kind that is not UTF-8");
        // Go reads text that is not UTF-8 (as U+FFFD): elsewhere, it leaves the kind readable.
        assert_eq!(stored_kind(b"{\"kind\":\"ConfigMap\",\"a\":\"\xff\"}").as_deref(), Some("ConfigMap"));
        assert_eq!(kind(r#"{"kind":"ConfigMap"} {"kind":"Secret"}"#), secret, "trailing data");
        assert_eq!(kind(r#"{"kind":"ConfigMap","data":{"kind":"Secret"}}"#).as_deref(), Some("ConfigMap"));
        assert_eq!(kind(r#"{"apiVersion":"v1","kinds":"Secret"}"#), None);
    }

    #[test]
    fn a_protobuf_kind_is_read_from_the_merged_type_meta() {
        // runtime.Unknown's typeMeta twice: embedded messages merge, the last kind set wins.
        let secret_first = b"k8s\0\x0a\x08\x12\x06Secret\x0a\x04\x0a\x02v1\x12\x00";
        assert_eq!(stored_kind(secret_first).as_deref(), Some("Secret"));
        let secret_last = b"k8s\0\x0a\x0d\x0a\x02v1\x12\x07Ignored\x0a\x08\x12\x06Secret\x12\x00";
        assert_eq!(stored_kind(secret_last).as_deref(), Some("Secret"));
        let pod_last = b"k8s\0\x0a\x08\x12\x06Secret\x0a\x05\x12\x03Pod\x12\x00";
        assert_eq!(stored_kind(pod_last).as_deref(), Some("Pod"));
    }
}

#[cfg(test)]
mod change_tests {
    use super::*;
    use crate::k8s::fields::diff;
    use crate::k8s::json::redaction_marker;
    use serde_json::json;

    #[test]
    fn secret_changes_say_only_how_long_values_were() {
        let applied = |p: &str| format!("{{\"data\":{{\"password\":\"{p}\"}}}}");
        let old = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "annotations": {LAST_APPLIED: applied("aHVudGVyMg==")}},
                         "data": {"password": "aHVudGVyMg==", "gone": "eA=="}});
        let new = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "labels": {"a": "b"}, "annotations": {LAST_APPLIED: applied("c3dvcmRmaXNo")}},
                         "data": {"password": "c3dvcmRmaXNo", "added": "eXk="}});
        let mut changes = diff(&old, &new, false);
        redact_changes(&mut changes);
        let text = serde_json::to_string(&changes.iter().map(|c| (&c.path, &c.old, &c.new)).collect::<Vec<_>>()).unwrap();
        for secret in ["aHVudGVyMg==", "c3dvcmRmaXNo", "eA==", "eXk="] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let password = changes.iter().find(|c| c.path == "data.password").unwrap();
        assert_eq!(password.old, Some(Value::String(redaction_marker(12))));
        assert_eq!(changes.iter().find(|c| c.path == "metadata.labels").unwrap().new, Some(json!({"a": "b"})), "other fields stay");
        // The annotation map added or removed as a whole is redacted inside.
        let mut whole = diff(&json!({"metadata": {}}), &json!({"metadata": {"annotations": {LAST_APPLIED: applied("c3dvcmRmaXNo")}}}), false);
        redact_changes(&mut whole);
        assert!(!serde_json::to_string(&whole[0].new).unwrap().contains("c3dvcmRmaXNo"));
    }

    #[test]
    fn a_secrets_changes_withhold_data_of_any_shape_and_unknown_fields() {
        let unknown = |b: &str| json!({"99": [{"bytes": b}]});
        let old = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "ownerReferences": [{"name": "o"}]},
                         "data": "aHVudGVyMg==", "newField": {"k": "b2xkLXNlY3JldA=="}, "__unknownFields__": unknown("b2xkLXVua25vd24=")});
        let new = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "__unknownFields__": unknown("bWV0YS11bmtub3du"),
                         "ownerReferences": [{"name": "o", "__unknownFields__": unknown("b3duZXItdW5rbm93bg==")}]},
                         "data": ["c3dvcmRmaXNo"], "newField": {"k": "bmV3LXNlY3JldA=="}, "__unknownFields__": unknown("bmV3LXVua25vd24="), "type": "Opaque"});
        let mut changes = diff(&old, &new, false);
        redact_changes(&mut changes);
        let text = serde_json::to_string(&changes.iter().map(|c| (&c.path, &c.old, &c.new)).collect::<Vec<_>>()).unwrap();
        for secret in [
            "aHVudGVyMg==",
            "c3dvcmRmaXNo",
            "b2xkLXNlY3JldA==",
            "bmV3LXNlY3JldA==",
            "b2xkLXVua25vd24=",
            "bmV3LXVua25vd24=",
            "bWV0YS11bmtub3du",
            "b3duZXItdW5rbm93bg==",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(changes.iter().find(|c| c.path == "type").unwrap().new, Some(json!("Opaque")), "what says which Secret it is stays");
    }
}
