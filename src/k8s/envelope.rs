//! What a stored value is, from its first bytes: the `k8s\0` protobuf envelope (runtime.Unknown),
//! JSON, self-described CBOR, an encryption-at-rest envelope `k8s:enc:<provider>:<version>:…`,
//! or something else (YAML storage, not Kubernetes).

use crate::etcd::wire;
use crate::protowire::{fields, Wire};

pub const PROTOBUF_MAGIC: &[u8] = b"k8s\0";
pub const ENCRYPTED_PREFIX: &[u8] = b"k8s:enc:";
/// CBOR self-describe tag 55799.
pub const CBOR_SELF_DESCRIBED: &[u8] = &[0xd9, 0xd9, 0xf7];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// `k8s\0` + runtime.Unknown: type meta and the object's own message bytes.
    Protobuf(Unknown<'a>),
    Json(&'a [u8]),
    Cbor(&'a [u8]),
    Encrypted(Encrypted<'a>),
    Other(&'a [u8]),
}

/// runtime.Unknown (typeMeta=1 {apiVersion=1, kind=2}, raw=2, contentEncoding=3, contentType=4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown<'a> {
    pub api_version: String,
    pub kind: String,
    pub raw: &'a [u8],
    pub content_encoding: String,
    pub content_type: String,
}

/// An encrypted value: `k8s:enc:<provider>:<version>:` then the key name and payload, which can
/// only be told apart with the configured key names (names may contain `:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encrypted<'a> {
    pub provider: String,
    pub version: String,
    /// Everything after `k8s:enc:<provider>:<version>:`.
    pub rest: &'a [u8],
}

impl Encrypted<'_> {
    /// The key name up to the next `:`; exact for names without `:`, a guess otherwise.
    pub fn key_name_guess(&self) -> String {
        let end = self.rest.iter().position(|&b| b == b':').unwrap_or(self.rest.len());
        String::from_utf8_lossy(&self.rest[..end]).into_owned()
    }
}

/// Why a value that claims an encoding does not hold one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("k8s protobuf envelope: runtime.Unknown is malformed")]
    MalformedUnknown,
    #[error("encrypted value: malformed prefix (expected k8s:enc:<provider>:<version>:)")]
    MalformedEncryptedPrefix,
}

pub fn classify(value: &[u8]) -> Result<Value<'_>, EnvelopeError> {
    if let Some(rest) = value.strip_prefix(ENCRYPTED_PREFIX) {
        return parse_encrypted(rest).map(Value::Encrypted);
    }
    if let Some(msg) = value.strip_prefix(PROTOBUF_MAGIC) {
        return parse_unknown(msg).map(Value::Protobuf);
    }
    if value.starts_with(CBOR_SELF_DESCRIBED) {
        return Ok(Value::Cbor(value));
    }
    let first = value.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        return Ok(Value::Json(value));
    }
    Ok(Value::Other(value))
}

fn parse_encrypted(rest: &[u8]) -> Result<Encrypted<'_>, EnvelopeError> {
    let mut parts = rest.splitn(3, |&b| b == b':');
    let (Some(provider), Some(version), Some(tail)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(EnvelopeError::MalformedEncryptedPrefix);
    };
    let text = |b: &[u8]| std::str::from_utf8(b).ok().filter(|s| !s.is_empty()).map(str::to_string);
    let (Some(provider), Some(version)) = (text(provider), text(version)) else {
        return Err(EnvelopeError::MalformedEncryptedPrefix);
    };
    Ok(Encrypted { provider, version, rest: tail })
}

fn parse_unknown(msg: &[u8]) -> Result<Unknown<'_>, EnvelopeError> {
    let bad = |_| EnvelopeError::MalformedUnknown;
    let string =
        |m: &[u8], f| -> Result<String, EnvelopeError> { Ok(String::from_utf8_lossy(wire::bytes_field(m, f).map_err(bad)?.unwrap_or_default()).into_owned()) };
    let text = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
    Ok(Unknown {
        api_version: text(type_meta_field(msg, 1)?),
        kind: text(type_meta_field(msg, 2)?),
        raw: wire::bytes_field(msg, 2).map_err(bad)?.unwrap_or_default(),
        content_encoding: string(msg, 3)?,
        content_type: string(msg, 4)?,
    })
}

/// Field `field` of runtime.Unknown's typeMeta (1: apiVersion, 2: kind), read in place from the
/// Unknown message `msg` as protobuf reads it: typeMeta is a singular embedded message, and one
/// that occurs more than once is merged, so each of its fields is the last one set in any of
/// its occurrences (a typeMeta naming kind Secret followed by one naming only an apiVersion is a
/// Secret's). An error when either message is malformed or the field is not length-delimited.
pub fn type_meta_field(msg: &[u8], field: u32) -> Result<Option<&[u8]>, EnvelopeError> {
    let malformed = |_| EnvelopeError::MalformedUnknown;
    let mut found = None;
    for occurrence in fields(msg) {
        match occurrence.map_err(malformed)? {
            (1, Wire::Bytes(type_meta)) => {
                for f in fields(type_meta) {
                    match f.map_err(malformed)? {
                        (n, Wire::Bytes(b)) if n == field => found = Some(b),
                        (n, _) if n == field => return Err(EnvelopeError::MalformedUnknown),
                        _ => {}
                    }
                }
            }
            (1, _) => return Err(EnvelopeError::MalformedUnknown),
            _ => {}
        }
    }
    Ok(found)
}

/// How a stored value is encoded, as `export`'s `kv.encoding` names it: protobuf, json, cbor,
/// encrypted (a malformed encryption prefix too) or other.
pub fn stored_encoding(value: &[u8]) -> &'static str {
    match classify(value) {
        Ok(Value::Protobuf(_)) => "protobuf",
        Ok(Value::Json(_)) => "json",
        Ok(Value::Cbor(_)) => "cbor",
        Ok(Value::Encrypted(_)) | Err(EnvelopeError::MalformedEncryptedPrefix) => "encrypted",
        Ok(Value::Other(_)) | Err(_) => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_values() {
        assert_eq!(classify(b"{\"kind\":\"Widget\"}\n"), Ok(Value::Json(b"{\"kind\":\"Widget\"}\n")));
        assert!(matches!(classify(&[0xd9, 0xd9, 0xf7, 0xa0]), Ok(Value::Cbor(_))));
        assert_eq!(classify(b"42"), Ok(Value::Other(b"42")));
        let e = classify(b"k8s:enc:aescbc:v1:key1:\x01\x02").unwrap();
        let Value::Encrypted(e) = e else { panic!() };
        assert_eq!((e.provider.as_str(), e.version.as_str(), e.key_name_guess().as_str()), ("aescbc", "v1", "key1"));
        assert_eq!(classify(b"k8s:enc:oops"), Err(EnvelopeError::MalformedEncryptedPrefix));
    }

    #[test]
    fn protobuf_envelope() {
        // typeMeta {apiVersion "v1", kind "Pod"}, raw 0x0a 0x00, contentEncoding "", contentType "".
        let v = b"k8s\0\x0a\x09\x0a\x02v1\x12\x03Pod\x12\x02\x0a\x00\x1a\x00\x22\x00";
        let Ok(Value::Protobuf(u)) = classify(v) else { panic!() };
        assert_eq!((u.api_version.as_str(), u.kind.as_str(), u.raw), ("v1", "Pod", &b"\x0a\x00"[..]));
        assert_eq!(classify(b"k8s\0\x0a\xff"), Err(EnvelopeError::MalformedUnknown));
    }
}
