//! One stored Kubernetes value → the object as kube-apiserver would show it, or the reason it
//! cannot be shown: decryption with the user's keys, the envelope, then JSON text. Never fatal:
//! an undecodable value comes back as `Raw` with why. Every view that shows objects uses it.

use crate::k8s::encryption::{Decrypted, EncryptionConfig};
use crate::k8s::envelope::{classify, Value as Stored};
use crate::k8s::json::{redaction_marker, render_object_text, RenderOptions, UNKNOWN_KEY};
use crate::k8s::schema::Schemas;
use crate::k8s::secret::{is_secret, json_kind, object_kind, stored_kind, Evidence};
use serde_json::Value;
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, Default)]
pub struct DecodeOptions {
    pub show_secrets: bool,
    pub show_unknown: bool,
}

/// A decoded object as compact JSON text, the form it is written in; [`ObjectJson::value`]
/// parses it for callers that select, tabulate or re-format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectJson(String);

impl ObjectJson {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    pub fn value(&self) -> Result<Value, String> {
        crate::k8s::json::parse_rendered(&self.0).map_err(|e| format!("internal: decoded JSON does not parse: {e}"))
    }

    fn from_value(v: &Value) -> ObjectJson {
        ObjectJson(v.to_string())
    }
}

/// The outcome for one value.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Object {
        json: ObjectJson,
        /// "protobuf", "json" or "cbor".
        encoding: &'static str,
        /// Paths of fields the schema did not name.
        unknown_fields: Vec<String>,
        /// A Secret's ([`is_secret`]: its kind, or its key under the secrets prefix): `json` is
        /// redacted unless Secrets are shown, and views withhold the stored bytes.
        secret: bool,
    },
    /// Encrypted and not decryptable here (KMS, or no matching key given).
    Encrypted { provider: String, version: String, key_name: String, reason: String },
    /// Not decodable; `reason` says why.
    Raw { reason: String },
}

pub struct Decoder {
    pub schemas: Schemas,
    pub options: DecodeOptions,
    /// The user's EncryptionConfiguration, for values encrypted at rest.
    pub encryption: Option<EncryptionConfig>,
    /// kube-apiserver's `--etcd-prefix`: Secrets' keys are under `<prefix>/secrets/`. Views that
    /// take a prefix of their own for locating objects are given the same one.
    pub etcd_prefix: String,
}

impl Decoder {
    /// Decodes a value read from etcd key `key`: encrypted values are decrypted with the
    /// configured keys first (the etcd key authenticates AES-GCM and KMS ciphertexts).
    /// `resource_version` (the key's mod revision) is set as `metadata.resourceVersion`, as the
    /// API server does on read.
    pub fn decode_at(&self, key: &[u8], value: &[u8], resource_version: Option<i64>) -> Decoded {
        self.decode_at_with(key, value, resource_version, self.options)
    }

    /// As [`Decoder::decode_at`], with other options (views that compare two versions of a
    /// Secret decode it unredacted and redact what they show).
    pub fn decode_at_with(&self, key: &[u8], value: &[u8], resource_version: Option<i64>, options: DecodeOptions) -> Decoded {
        let at = Some((key, self.etcd_prefix.as_str()));
        let Some(config) = &self.encryption else { return self.decode_with(value, resource_version, options, at) };
        let encrypted = |provider: String, key_name: String, reason: String| Decoded::Encrypted { provider, version: "v1".into(), key_name, reason };
        match config.decrypt(key, value) {
            Decrypted::NotEncrypted(v) => self.decode_with(v, resource_version, options, at),
            Decrypted::Decrypted { plaintext, .. } => self.decode_with(&plaintext, resource_version, options, at),
            Decrypted::Kms { version, name } => Decoded::Encrypted {
                provider: "kms".into(),
                version,
                key_name: name,
                reason: "KMS-encrypted values need the KMS plugin and cannot be decrypted offline".into(),
            },
            Decrypted::NoMatchingKey { provider, key_name_guess } => {
                encrypted(provider.as_str().to_string(), key_name_guess, "no key of that name in --encryption-config".into())
            }
            Decrypted::Failed { provider, key_name, reason } => {
                encrypted(provider.as_str().to_string(), key_name, format!("does not decrypt with the configured key: {reason}"))
            }
            Decrypted::Unsupported { provider, version } => {
                Decoded::Encrypted { provider, version, key_name: String::new(), reason: "unknown encryption provider or version".into() }
            }
            Decrypted::Malformed => Decoded::Raw { reason: "malformed encryption prefix (k8s:enc: without provider:version:)".into() },
        }
    }

    /// Decodes one stored value (not encrypted, or already decrypted) whose key is not known:
    /// only its kind says whether it is a Secret.
    pub fn decode(&self, value: &[u8]) -> Decoded {
        self.decode_with(value, None, self.options, None)
    }

    /// Whether the value stored at `key` is a Secret's ([`is_secret`]): its key under the
    /// secrets prefix, or the kind it names (decrypted with the configuration when it can be;
    /// ciphertext that cannot be opened here shows nothing and is not one by its kind). For
    /// views that show stored bytes without decoding them; a decoded value says it itself
    /// ([`Decoded::Object`]'s `secret`).
    pub fn stored_secret(&self, key: &[u8], value: &[u8]) -> bool {
        let at = Some((key, self.etcd_prefix.as_str()));
        if is_secret(Evidence { key: at, kind: None }) {
            return true;
        }
        let plain: Cow<'_, [u8]> = match &self.encryption {
            None => Cow::Borrowed(value),
            Some(config) => match config.decrypt(key, value) {
                Decrypted::NotEncrypted(v) => Cow::Borrowed(v),
                Decrypted::Decrypted { plaintext, .. } => Cow::Owned(plaintext),
                _ => return false,
            },
        };
        is_secret(Evidence { key: at, kind: stored_kind(&plain).as_deref() })
    }

    /// `at`: the value's key and the etcd prefix, when the key is known.
    fn decode_with(&self, value: &[u8], resource_version: Option<i64>, options: DecodeOptions, at: Option<(&[u8], &str)>) -> Decoded {
        let raw = |reason: String| Decoded::Raw { reason };
        // Under the secrets prefix, kube-apiserver keeps only Secrets: anything else there may be
        // a Secret's bytes read as another type, and is not shown.
        let hidden_other = |kind: &str| {
            let under_secrets = is_secret(Evidence { key: at, kind: None });
            (under_secrets && kind != crate::k8s::secret::SECRET_KIND && !options.show_secrets).then(|| raw(hidden_reason(kind)))
        };
        // JSON and CBOR objects are values first; the API server's read-time changes are made
        // on them, then they are written as text like protobuf objects.
        // `kind`: as [`stored_kind`] reads it, so that views showing stored bytes judge the
        // value as the decoder does.
        let from_value = |mut json: Value, encoding: &'static str, kind: Option<Cow<'_, str>>| {
            let kind = kind.unwrap_or_default();
            if let Some(hidden) = hidden_other(&kind) {
                return hidden;
            }
            if let (Some(rv), Some(meta)) = (resource_version, json.get_mut("metadata").and_then(Value::as_object_mut)) {
                meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
            }
            let secret = is_secret(Evidence { key: at, kind: Some(&kind) });
            if secret && !options.show_secrets {
                redact_secret_fields(&mut json);
            }
            Decoded::Object { json: ObjectJson::from_value(&json), encoding, unknown_fields: Vec::new(), secret }
        };
        match classify(value) {
            Err(e) => raw(e.to_string()),
            Ok(Stored::Protobuf(u)) => {
                if let Some(hidden) = hidden_other(&u.kind) {
                    return hidden;
                }
                let secret = is_secret(Evidence { key: at, kind: Some(&u.kind) });
                let opts = RenderOptions { show_unknown: options.show_unknown, redact_secrets: !options.show_secrets, resource_version };
                warm(u.raw);
                match render_object_text(&self.schemas, &u.api_version, &u.kind, u.raw, opts) {
                    Ok(r) => Decoded::Object { json: ObjectJson(r.json), encoding: "protobuf", unknown_fields: r.unknown_fields, secret },
                    Err(e) => raw(e.to_string()),
                }
            }
            Ok(Stored::Json(bytes)) => match serde_json::from_slice(bytes) {
                Ok(json) => from_value(json, "json", json_kind(bytes)),
                Err(e) => raw(format!("value starts like JSON but is not: {e}")),
            },
            Ok(Stored::Cbor(bytes)) => match crate::k8s::cbor::to_json(bytes) {
                Ok(json) => {
                    let kind = object_kind(&json).map(|k| Cow::Owned(k.into_owned()));
                    from_value(json, "cbor", kind)
                }
                Err(e) => raw(e),
            },
            Ok(Stored::Encrypted(e)) => Decoded::Encrypted {
                key_name: e.key_name_guess(),
                reason: if e.provider == "kms" {
                    "KMS-encrypted values need the KMS plugin and cannot be decrypted offline".into()
                } else {
                    "no --encryption-config given".into()
                },
                provider: e.provider,
                version: e.version,
            },
            Ok(Stored::Other(_)) => raw("not a Kubernetes value (no k8s protobuf envelope, JSON or CBOR)".into()),
        }
    }
}

/// What may be shown of a decoded object that is a Secret's ([`Decoded::Object`]'s `secret`)
/// when Secrets are not shown: a Secret, with [`redact_secret_fields`]; anything else (stored
/// under the secrets prefix, so possibly a Secret's bytes read as another type) not at all,
/// and the reason is returned. [`Decoder`] applies it itself; views that decode unredacted (to
/// compare two versions) apply it to what they show.
pub fn redact_shown(obj: &mut Value) -> Result<(), String> {
    match obj.get("kind").and_then(Value::as_str) {
        Some(crate::k8s::secret::SECRET_KIND) => {
            redact_secret_fields(obj);
            Ok(())
        }
        other => Err(hidden_reason(other.unwrap_or(""))),
    }
}

fn hidden_reason(kind: &str) -> String {
    format!("stored under the secrets prefix but of kind {kind:?}: not shown without --show-secrets")
}

/// Withholds what a Secret may hold secrets in, replacing each value with a marker saying how
/// long it was, so outputs can be shared without leaking credentials: `data` and `stringData`
/// (each value of a map, or the whole of anything else), every top-level field a v1 Secret
/// does not have (a newer schema's data, or what a client wrote), fields the schema does not
/// name (`__unknownFields__`, at any depth) and kubectl's last-applied-configuration annotation.
/// Null is left (it holds nothing), and so are the fields that say which Secret it is. The
/// caller has decided that `obj` is a Secret's ([`is_secret`]).
pub fn redact_secret_fields(obj: &mut Value) {
    let Some(fields) = obj.as_object_mut() else { return };
    for (name, v) in fields.iter_mut() {
        if name == UNKNOWN_KEY {
            withhold_leaves(v, 0);
        } else if withholds_secret_field(name) {
            withhold_values(v);
        } else {
            withhold_unknown_fields(v);
        }
    }
    // `kubectl apply` keeps the whole applied object, data included, in this annotation.
    if let Some(v) = obj.pointer_mut(&format!("/metadata/annotations/{}", LAST_APPLIED.replace('/', "~1"))) {
        *v = withheld(v);
    }
}

/// The top-level fields of a v1 Secret shown when Secrets are not: what says which Secret it is
/// and how it is used. Everything else at the top is withheld ([`withholds_secret_field`]).
const SHOWN_SECRET_FIELDS: [&str; 5] = ["apiVersion", "kind", "metadata", "type", "immutable"];

/// Whether a Secret's top-level field `name` is withheld unless Secrets are shown: `data`,
/// `stringData`, and any field a v1 Secret does not have.
pub fn withholds_secret_field(name: &str) -> bool {
    !SHOWN_SECRET_FIELDS.contains(&name)
}

/// A withheld value: a marker with the length of the string, or of the JSON text of anything
/// else; null stays null.
pub fn withheld(v: &Value) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::String(s) => Value::String(redaction_marker(s.len())),
        other => Value::String(redaction_marker(other.to_string().len())),
    }
}

/// A map's values withheld one by one (the keys, like a Secret's data keys, stay); anything
/// else withheld whole.
pub fn withhold_values(v: &mut Value) {
    match v {
        Value::Object(map) => map.values_mut().for_each(|x| *x = withheld(x)),
        other => *other = withheld(other),
    }
}

/// Nesting below which a Secret is not searched for unknown fields: the deepest the protobuf
/// writer renders (it refuses more than 100 nested messages).
const MAX_UNKNOWN_DEPTH: usize = 128;

/// `__unknownFields__` withheld wherever it is under `v` (the protobuf writer renders it in any
/// message of the object).
pub fn withhold_unknown_fields(v: &mut Value) {
    withhold_unknown_fields_at(v, 0);
}

fn withhold_unknown_fields_at(v: &mut Value, depth: usize) {
    if depth > MAX_UNKNOWN_DEPTH {
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                if k == UNKNOWN_KEY {
                    withhold_leaves(x, depth + 1);
                } else {
                    withhold_unknown_fields_at(x, depth + 1);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|x| withhold_unknown_fields_at(x, depth + 1)),
        _ => {}
    }
}

/// Every scalar under `v` withheld, the maps and lists around them kept (so withheld unknown
/// fields still show their numbers and wire types).
fn withhold_leaves(v: &mut Value, depth: usize) {
    match v {
        Value::Object(map) if depth <= MAX_UNKNOWN_DEPTH => map.values_mut().for_each(|x| withhold_leaves(x, depth + 1)),
        Value::Array(items) if depth <= MAX_UNKNOWN_DEPTH => items.iter_mut().for_each(|x| withhold_leaves(x, depth + 1)),
        other => *other = withheld(other),
    }
}

pub use crate::k8s::json::LAST_APPLIED;

/// Reads one byte of every cache line of `bytes` in a tight loop, so the hardware streams the
/// object into cache before the writer's field-by-field walk (which otherwise waits on memory
/// at each field of a cold object).
fn warm(bytes: &[u8]) {
    let mut x = 0u8;
    for line in bytes.chunks(64) {
        x ^= line[0];
    }
    std::hint::black_box(x);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::schema::Schemas;

    #[test]
    fn a_secrets_last_applied_configuration_is_redacted() {
        let mut s = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"annotations": {LAST_APPLIED: "{\"data\":{\"p\":\"aHVudGVyMg==\"}}", "other": "kept"}}});
        redact_secret_fields(&mut s);
        assert!(!s.to_string().contains("aHVudGVyMg=="), "{s}");
        assert_eq!(s["metadata"]["annotations"]["other"], "kept");
    }

    fn decoder() -> Decoder {
        Decoder { schemas: Schemas::embedded().unwrap(), options: DecodeOptions::default(), encryption: None, etcd_prefix: "/registry".into() }
    }

    /// Secrets whose kind a byte search does not find: the decoder redacts them, and views that
    /// show stored bytes withhold them, by the same reading.
    #[test]
    fn odd_encodings_of_a_secret_are_judged_alike_by_decoder_and_views() {
        let t = |s: &str| [vec![0x60 | s.len() as u8], s.as_bytes().to_vec()].concat();
        let data = [t("data"), vec![0xa1], t("p"), t("aHVudGVyMg==")].concat();
        let cbor = |kind: Vec<u8>| [vec![0xd9, 0xd9, 0xf7, 0xa3], t("apiVersion"), t("v1"), t("kind"), kind, data.clone()].concat();
        let values: Vec<(&str, Vec<u8>)> = vec![
            ("CBOR indefinite-length text", cbor([vec![0x7f], t("Se"), t("cret"), vec![0xff]].concat())),
            ("CBOR byte string", cbor([vec![0x46], b"Secret".to_vec()].concat())),
            ("CBOR tagged text", cbor([vec![0xd8, 0x20], t("Secret")].concat())),
            ("JSON escapes", br#"{"apiVersion":"v1","kind":"\u0053ecret","data":{"p":"aHVudGVyMg=="}}"#.to_vec()),
            ("JSON folded key", br#"{"apiVersion":"v1","KIND":"Secret","data":{"p":"aHVudGVyMg=="}}"#.to_vec()),
            ("JSON folded key, exact one other", br#"{"apiVersion":"v1","kind":"ConfigMap","Kind":"Secret","data":{"p":"aHVudGVyMg=="}}"#.to_vec()),
            ("JSON kind not a string", br#"{"apiVersion":"v1","kind":["Secret"],"data":{"p":"aHVudGVyMg=="}}"#.to_vec()),
        ];
        let d = decoder();
        for (what, v) in values {
            assert!(d.stored_secret(b"/registry/configmaps/a/b", &v), "{what}: stored bytes withheld");
            match d.decode_at(b"/registry/configmaps/a/b", &v, None) {
                Decoded::Object { json, secret, .. } => {
                    assert!(secret, "{what}: decoded as a Secret");
                    assert!(!json.as_str().contains("aHVudGVyMg=="), "{what}: {}", json.as_str());
                }
                other => panic!("{what}: {other:?}"),
            }
        }
        // A CBOR map with a key twice is refused, as Kubernetes refuses it, and withheld.
        let twice = [vec![0xd9, 0xd9, 0xf7, 0xa3], t("kind"), t("ConfigMap"), t("kind"), t("Pod"), data.clone()].concat();
        assert!(matches!(d.decode(&twice), Decoded::Raw { reason } if reason.contains("twice")));
        assert!(d.stored_secret(b"/registry/configmaps/a/b", &twice));
        // Other kinds are not Secrets, whatever else names the word.
        let cm = br#"{"apiVersion":"v1","kind":"ConfigMap","data":{"Secret":"Secret"}}"#;
        assert!(!d.stored_secret(b"/registry/configmaps/a/b", cm));
        assert!(matches!(d.decode(cm), Decoded::Object { secret: false, .. }));
    }

    /// Whatever `data` and `stringData` hold (a string, a list, a number, a map of anything),
    /// and any field a v1 Secret does not have (a newer schema's data, or unknown fields shown
    /// by --show-unknown), nothing of it is shown; null, and the fields that say which Secret it
    /// is, stay.
    #[test]
    fn a_secrets_data_of_any_shape_and_its_unknown_fields_are_withheld() {
        let mut s = serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a", "__unknownFields__": {"99": [{"bytes": "aHVudGVyMg=="}]}},
            "data": "aHVudGVyMg==", "stringData": ["hunter2", {"p": "hunter2"}], "type": "Opaque", "immutable": true,
            "binaryData": {"p": "aHVudGVyMg=="}, "password": 4242, "__unknownFields__": {"98": [{"varint": 4242}]}, "gone": null
        });
        redact_secret_fields(&mut s);
        let text = s.to_string();
        for shown in ["aHVudGVyMg==", "hunter2", "4242"] {
            assert!(!text.contains(shown), "{shown} in {text}");
        }
        assert_eq!(s["data"], "<redacted: 12 characters; --show-secrets to show>");
        assert_eq!(s["stringData"], "<redacted: 27 characters; --show-secrets to show>");
        assert_eq!(s["binaryData"]["p"], "<redacted: 12 characters; --show-secrets to show>");
        assert_eq!(s["password"], "<redacted: 4 characters; --show-secrets to show>");
        assert_eq!(s["__unknownFields__"]["98"][0]["varint"], "<redacted: 4 characters; --show-secrets to show>");
        assert_eq!(s["metadata"]["__unknownFields__"]["99"][0]["bytes"], "<redacted: 12 characters; --show-secrets to show>");
        assert_eq!(
            (&s["type"], &s["immutable"], &s["metadata"]["name"], &s["gone"]),
            (&serde_json::json!("Opaque"), &serde_json::json!(true), &serde_json::json!("a"), &Value::Null)
        );
    }

    #[test]
    fn secrets_are_redacted() {
        let mut s = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "data": {"password": "aHVudGVyMg=="}, "stringData": {"u": "x"}});
        redact_secret_fields(&mut s);
        assert_eq!(s["data"]["password"], "<redacted: 12 characters; --show-secrets to show>");
        assert_eq!(s["stringData"]["u"], "<redacted: 1 characters; --show-secrets to show>");
    }
}
