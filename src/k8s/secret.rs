//! What is a Secret's, decided in one place: every view that shows stored bytes or decoded
//! objects asks [`is_secret`] and nothing else.
//!
//! A stored value is a Secret's when
//! - its key lies under `<etcd prefix>/secrets/`: anything there, whether or not the rest of
//!   the key parses as NAMESPACE/NAME (etcd stores `/registry/secrets/ns/name/extra`,
//!   `/registry/secrets//x` or `/registry/secrets/ns/` as readily as a well-formed key, and
//!   kube-apiserver keeps nothing but Secrets there), or
//! - it decodes to kind `Secret`, wherever it is stored (a Secret under a ConfigMap's key, outside
//!   the prefix, under a key without a leading slash). A value whose type cannot be read (a
//!   damaged envelope, JSON or CBOR that does not parse) counts as one when its bytes name
//!   `Secret`: what cannot be read cannot be cleared.
//!
//! Unless Secrets are shown, views withhold such a value's stored bytes, redact a decoded
//! Secret's `data`, `stringData` and last-applied-configuration, and do not show at all what
//! decodes as another type under the secrets prefix (see `k8s::decoder`).

use crate::etcd::wire;
use crate::k8s::envelope::{classify, Value as Stored, PROTOBUF_MAGIC};
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

/// The kind a stored value (not encrypted, or already decrypted) names: the protobuf
/// envelope's, or a JSON or CBOR object's `kind`. `None` for values that are not objects
/// (and for ciphertext); `Some("Secret")` for a value whose type cannot be read but whose
/// bytes name `Secret`.
pub fn stored_kind(plain: &[u8]) -> Option<Cow<'_, str>> {
    let names_secret = || contains(plain, SECRET_KIND.as_bytes()).then_some(Cow::Borrowed(SECRET_KIND));
    // The envelope's TypeMeta, read in place: views ask this of every revision they show.
    if let Some(msg) = plain.strip_prefix(PROTOBUF_MAGIC) {
        let type_meta = wire::bytes_field(msg, 1).ok().map(Option::unwrap_or_default);
        return match type_meta.and_then(|t| wire::bytes_field(t, 2).ok()) {
            Some(kind) => Some(String::from_utf8_lossy(kind.unwrap_or_default())),
            None => names_secret(),
        };
    }
    match classify(plain) {
        Ok(Stored::Json(json)) => {
            // Without "Secret" and without an escape, the kind cannot be Secret: no parse.
            if !contains(json, SECRET_KIND.as_bytes()) && !contains(json, b"\\u") {
                return None;
            }
            match serde_json::from_slice::<TypeMeta<'_>>(json) {
                Ok(t) => t.kind,
                Err(_) => Some(Cow::Borrowed(SECRET_KIND)),
            }
        }
        // CBOR text is UTF-8 as it is: a Secret's kind is in its bytes.
        Ok(Stored::Cbor(cbor)) if !contains(cbor, SECRET_KIND.as_bytes()) => None,
        Ok(Stored::Cbor(cbor)) => match crate::k8s::cbor::to_json(cbor) {
            Ok(v) => v.get("kind").and_then(serde_json::Value::as_str).map(|k| Cow::Owned(k.to_string())),
            Err(_) => names_secret(),
        },
        // (Protobuf is read above.)
        Ok(Stored::Protobuf(_) | Stored::Encrypted(_) | Stored::Other(_)) => None,
        Err(_) => names_secret(),
    }
}

/// The one field of a JSON object that says whether it is a Secret (every other field is
/// skipped by the parser, not built).
#[derive(serde::Deserialize)]
struct TypeMeta<'a> {
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
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
        assert_eq!(stored_kind(br#"{"kind":"ConfigMap"}"#), None, "no parse without the word");
        assert_eq!(stored_kind(br#"{"kind":"Secret","data":"#).as_deref(), Some("Secret"), "unparseable but naming it");
        assert_eq!(stored_kind(b"k8s\0\x0a\xff").as_deref(), None, "a damaged envelope not naming it");
        assert_eq!(stored_kind(b"k8s\0\x0a\xffSecret").as_deref(), Some("Secret"));
        assert_eq!(stored_kind(b"Secret in plain text"), None, "not a Kubernetes value");
        assert_eq!(stored_kind(b"k8s:enc:aescbc:v1:k:Secret"), None, "ciphertext shows nothing");
    }
}
