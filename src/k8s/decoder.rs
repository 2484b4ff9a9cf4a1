//! One stored Kubernetes value → the object as kube-apiserver would show it, or the reason it
//! cannot be shown: decryption with the user's keys, the envelope, then JSON text. Never fatal:
//! an undecodable value comes back as `Raw` with why. Every view that shows objects uses it.

use crate::k8s::encryption::{Decrypted, EncryptionConfig};
use crate::k8s::envelope::{classify, Value as Stored};
use crate::k8s::json::{redaction_marker, render_object_text, RenderOptions};
use crate::k8s::schema::Schemas;
use serde_json::Value;

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
        let Some(config) = &self.encryption else { return self.decode_with(value, resource_version, options) };
        let encrypted = |provider: String, key_name: String, reason: String| Decoded::Encrypted {
            provider,
            version: "v1".into(),
            key_name,
            reason,
        };
        match config.decrypt(key, value) {
            Decrypted::NotEncrypted(v) => self.decode_with(v, resource_version, options),
            Decrypted::Decrypted { plaintext, .. } => self.decode_with(&plaintext, resource_version, options),
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
            Decrypted::Unsupported { provider, version } => Decoded::Encrypted {
                provider,
                version,
                key_name: String::new(),
                reason: "unknown encryption provider or version".into(),
            },
            Decrypted::Malformed => Decoded::Raw { reason: "malformed encryption prefix (k8s:enc: without provider:version:)".into() },
        }
    }

    /// Decodes one stored value (not encrypted, or already decrypted).
    pub fn decode(&self, value: &[u8]) -> Decoded {
        self.decode_with(value, None, self.options)
    }

    fn decode_with(&self, value: &[u8], resource_version: Option<i64>, options: DecodeOptions) -> Decoded {
        let raw = |reason: String| Decoded::Raw { reason };
        // JSON and CBOR objects are values first; the API server's read-time changes are made
        // on them, then they are written as text like protobuf objects.
        let from_value = |mut json: Value, encoding: &'static str| {
            if let (Some(rv), Some(meta)) = (resource_version, json.get_mut("metadata").and_then(Value::as_object_mut)) {
                meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
            }
            if !options.show_secrets {
                redact_secret(&mut json);
            }
            Decoded::Object { json: ObjectJson::from_value(&json), encoding, unknown_fields: Vec::new() }
        };
        match classify(value) {
            Err(e) => raw(e.to_string()),
            Ok(Stored::Protobuf(u)) => {
                let opts = RenderOptions { show_unknown: options.show_unknown, redact_secrets: !options.show_secrets, resource_version };
                warm(u.raw);
                match render_object_text(&self.schemas, &u.api_version, &u.kind, u.raw, opts) {
                    Ok(r) => Decoded::Object { json: ObjectJson(r.json), encoding: "protobuf", unknown_fields: r.unknown_fields },
                    Err(e) => raw(e.to_string()),
                }
            }
            Ok(Stored::Json(bytes)) => match serde_json::from_slice(bytes) {
                Ok(json) => from_value(json, "json"),
                Err(e) => raw(format!("value starts like JSON but is not: {e}")),
            },
            Ok(Stored::Cbor(bytes)) => match crate::k8s::cbor::to_json(bytes) {
                Ok(json) => from_value(json, "cbor"),
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

/// A core v1 Secret.
pub fn is_secret(obj: &Value) -> bool {
    obj.get("kind").and_then(Value::as_str) == Some("Secret") && obj.get("apiVersion").and_then(Value::as_str) == Some("v1")
}

/// Replaces the values of a Secret's `data` and `stringData` with a marker saying how long they
/// were, so outputs can be shared without leaking credentials.
pub fn redact_secret(obj: &mut Value) {
    if !is_secret(obj) {
        return;
    }
    for field in ["data", "stringData"] {
        if let Some(Value::Object(map)) = obj.get_mut(field) {
            for v in map.values_mut() {
                let len = v.as_str().map(str::len).unwrap_or(0);
                *v = Value::String(redaction_marker(len));
            }
        }
    }
    // `kubectl apply` keeps the whole applied object, data included, in this annotation.
    if let Some(v) = obj.pointer_mut(&format!("/metadata/annotations/{}", LAST_APPLIED.replace('/', "~1"))) {
        let len = v.as_str().map(str::len).unwrap_or(0);
        *v = Value::String(redaction_marker(len));
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

    #[test]
    fn a_secrets_last_applied_configuration_is_redacted() {
        let mut s = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"annotations": {LAST_APPLIED: "{\"data\":{\"p\":\"aHVudGVyMg==\"}}", "other": "kept"}}});
        redact_secret(&mut s);
        assert!(!s.to_string().contains("aHVudGVyMg=="), "{s}");
        assert_eq!(s["metadata"]["annotations"]["other"], "kept");
    }

    #[test]
    fn secrets_are_redacted() {
        let mut s = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "data": {"password": "aHVudGVyMg=="}, "stringData": {"u": "x"}});
        redact_secret(&mut s);
        assert_eq!(s["data"]["password"], "<redacted: 12 characters; --show-secrets to show>");
        assert_eq!(s["stringData"]["u"], "<redacted: 1 characters; --show-secrets to show>");
        let mut cm = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}});
        redact_secret(&mut cm);
        assert_eq!(cm["data"]["a"], "b");
    }
}
