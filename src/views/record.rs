//! The pieces every view's JSON record is built from, written once so every view names them
//! alike (docs/architecture.md, "One JSON naming convention"): a key as etcdctl writes it,
//! base64 of its exact bytes under etcdctl's name `key`, with the text beside it (`keyText`,
//! ours), and a stored KeyValue in etcdctl's shape.

use crate::etcd::mvcc::KeyValueRef;
use crate::k8s::key::ObjectId;
use base64::Engine;
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
}
