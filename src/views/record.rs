//! The pieces every view's JSON record is built from, written once so every view names them
//! alike (docs/architecture.md, "One JSON naming convention"): a key as etcdctl writes it,
//! base64 of its exact bytes under etcdctl's name `key`, with the text beside it (`keyText`,
//! ours), and a stored KeyValue in etcdctl's shape. Any other bytes field of etcd's (`range_end`,
//! a put's or compare's `value`, a conf change's `context`) is written the same way: etcd's name
//! and its JSON encoding (base64), the text beside it under `<name>Text` ([`key_entries`],
//! [`value_entries`]).

use crate::etcd::mvcc::KeyValueRef;
use crate::k8s::key::ObjectId;
use base64::Engine;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use std::borrow::Cow;

/// Bytes as base64 (standard alphabet, padded), as etcdctl's JSON writes keys and values.
pub fn base64<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Bytes as text, each invalid UTF-8 sequence replaced by U+FFFD: readable, not exact.
pub fn lossy_text<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(bytes))
}

/// Bytes that serialize as [`base64()`].
#[derive(Debug, Clone, Copy)]
pub struct Base64<'a>(pub &'a [u8]);

impl Serialize for Base64<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        base64(self.0, s)
    }
}

/// Bytes that serialize as [`lossy_text`].
#[derive(Debug, Clone, Copy)]
pub struct LossyText<'a>(pub &'a [u8]);

impl Serialize for LossyText<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        lossy_text(self.0, s)
    }
}

/// A key-like bytes field (a key, a range end) into a map: `name` in base64 (exact), then
/// `text_name` (its text, lossy only where it is not UTF-8), as [`KeyRecord`] writes `key`.
pub fn key_entries<M: SerializeMap>(m: &mut M, name: &'static str, text_name: &'static str, bytes: &[u8]) -> Result<(), M::Error> {
    m.serialize_entry(name, &Base64(bytes))?;
    m.serialize_entry(text_name, &LossyText(bytes))
}

/// A value-like bytes field (a stored value, context bytes) into a map: `name` in base64
/// (exact), then `text_name` only when the bytes are UTF-8 text; a lossy rendering of binary
/// data (a protobuf, a compressed blob) would be noise, not text.
pub fn value_entries<M: SerializeMap>(m: &mut M, name: &'static str, text_name: &'static str, bytes: &[u8]) -> Result<(), M::Error> {
    m.serialize_entry(name, &Base64(bytes))?;
    match std::str::from_utf8(bytes) {
        Ok(text) => m.serialize_entry(text_name, text),
        Err(_) => Ok(()),
    }
}

/// An owned key written as its two fields, `key` (base64) and `keyText`, for a record that owns
/// its key and flattens this into its fields (`#[serde(flatten)]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFields(pub Vec<u8>);

impl KeyFields {
    /// The key as text, lossy only where it is not UTF-8 (what `keyText` says).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

impl Serialize for KeyFields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        key_entries(&mut m, "key", "keyText", &self.0)?;
        m.end()
    }
}

/// A key, and the Kubernetes object it names if any: `key` (base64, exact), `keyText`, then the
/// object's `group`, `resource`, `kind` (when known), `namespace` (when namespaced) and `name`.
#[derive(Debug, Clone, Serialize)]
pub struct KeyRecord<'a> {
    #[serde(serialize_with = "base64")]
    pub key: &'a [u8],
    #[serde(rename = "keyText", serialize_with = "lossy_text")]
    pub key_text: &'a [u8],
    #[serde(flatten)]
    pub object: Option<Cow<'a, ObjectId>>,
}

impl<'a> KeyRecord<'a> {
    pub fn new(key: &'a [u8], object: Option<Cow<'a, ObjectId>>) -> KeyRecord<'a> {
        KeyRecord { key, key_text: key, object }
    }
}

/// A stored KeyValue as `etcdctl -w json` writes it (`key` and `value` base64; zero and empty
/// fields left out, as Go's protobuf JSON does), and, when the view withheld a Secret's bytes,
/// `valueRedacted` (ours) where `value` would be, saying how long they were.
#[derive(Debug, Clone, Serialize)]
pub struct KeyValueRecord<'a> {
    #[serde(serialize_with = "base64", skip_serializing_if = "<[u8]>::is_empty")]
    pub key: &'a [u8],
    #[serde(skip_serializing_if = "is_zero")]
    pub create_revision: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub mod_revision: i64,
    #[serde(skip_serializing_if = "is_zero")]
    pub version: i64,
    #[serde(serialize_with = "base64", skip_serializing_if = "<[u8]>::is_empty")]
    pub value: &'a [u8],
    #[serde(skip_serializing_if = "is_zero")]
    pub lease: i64,
    #[serde(rename = "valueRedacted", skip_serializing_if = "Option::is_none")]
    pub value_redacted: Option<String>,
}

impl<'a> KeyValueRecord<'a> {
    /// `kv` as etcdctl writes it; `withheld`: the length of a Secret's bytes left out of it.
    pub fn new(kv: &KeyValueRef<'a>, withheld: Option<usize>) -> KeyValueRecord<'a> {
        KeyValueRecord {
            key: kv.key,
            create_revision: kv.create_revision,
            mod_revision: kv.mod_revision,
            version: kv.version,
            value: kv.value,
            lease: kv.lease,
            value_redacted: withheld.map(|n| format!("<redacted: {n} bytes of a Secret; --show-secrets to show>")),
        }
    }
}

/// For `skip_serializing_if`: Go's protobuf JSON leaves zero integers out.
pub fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_exact_in_base64_and_readable_beside_it() {
        let id = ObjectId { group: "apps".into(), resource: "deployments".into(), kind: "Deployment".into(), namespace: Some("a".into()), name: "web".into() };
        let text = serde_json::to_string(&KeyRecord::new(b"/registry/deployments/a/web", Some(Cow::Owned(id)))).unwrap();
        assert_eq!(
            text,
            r#"{"key":"L3JlZ2lzdHJ5L2RlcGxveW1lbnRzL2Evd2Vi","keyText":"/registry/deployments/a/web","group":"apps","resource":"deployments","kind":"Deployment","namespace":"a","name":"web"}"#
        );
        assert_eq!(serde_json::to_string(&KeyRecord::new(b"/x\xff", None)).unwrap(), r#"{"key":"L3j/","keyText":"/x\ufffd"}"#.replace("\\ufffd", "\u{fffd}"));
    }

    /// A record that owns its key writes the same two fields as [`KeyRecord`].
    #[test]
    fn owned_key_fields_are_written_as_key_record_writes_them() {
        #[derive(Serialize)]
        struct Line {
            #[serde(flatten)]
            key: KeyFields,
            n: u8,
        }
        for key in [&b"/registry/pods/a/b"[..], b"/x\xff", b""] {
            let owned = serde_json::to_value(Line { key: KeyFields(key.to_vec()), n: 1 }).unwrap();
            let borrowed = serde_json::to_value(KeyRecord::new(key, None)).unwrap();
            assert_eq!(owned["key"], borrowed["key"]);
            assert_eq!(owned["keyText"], borrowed["keyText"]);
        }
    }

    /// A value's text is written only when it is UTF-8; its base64 always.
    #[test]
    fn value_text_only_when_utf8() {
        struct V(&'static [u8]);
        impl Serialize for V {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(None)?;
                value_entries(&mut m, "value", "valueText", self.0)?;
                m.end()
            }
        }
        assert_eq!(serde_json::to_string(&V(b"shown")).unwrap(), r#"{"value":"c2hvd24=","valueText":"shown"}"#);
        assert_eq!(serde_json::to_string(&V(b"\xff\x00")).unwrap(), r#"{"value":"/wA="}"#);
    }
}
