//! CBOR-stored objects (custom resources with the CBOR serving/storage feature, Kubernetes
//! 1.32+): the self-described CBOR item (tag 55799) converted to the JSON it stands for, read as
//! Kubernetes' CBOR serializer reads it (apimachinery's `cbor/internal/modes` decode options):
//! indefinite-length strings, arrays and maps are accepted, tags are read through to their
//! content, a byte string read as text is its bytes (or, inside tag 21, 22 or 23, its base64url,
//! base64 or base16 form), a byte-string map key is the text of its bytes, and a map with a key
//! twice is refused outright. What a value's `kind` is, and so whether it is a Secret, is read
//! from this conversion and nothing else (`k8s::secret::stored_kind`).

use base64::Engine;
use ciborium::value::Value as Cbor;
use serde_json::{Map, Number, Value};

/// Depth bound: CBOR nesting in a crafted value cannot exhaust the stack.
const MAX_DEPTH: usize = 256;

pub fn to_json(bytes: &[u8]) -> Result<Value, String> {
    let item: Cbor = ciborium::de::from_reader_with_recursion_limit(bytes, MAX_DEPTH).map_err(|e| format!("not valid CBOR: {}", describe(&e)))?;
    convert(item, 0)
}

/// ciborium's errors in words (its Display is its Debug form).
fn describe<E: std::fmt::Display>(e: &ciborium::de::Error<E>) -> String {
    use ciborium::de::Error;
    match e {
        Error::Io(io) => format!("cannot read the item ({io}): the value ends before it does"),
        Error::Syntax(at) => format!("syntax error at byte {at}"),
        Error::Semantic(Some(at), what) => format!("{what} at byte {at}"),
        Error::Semantic(None, what) => what.clone(),
        Error::RecursionLimitExceeded => format!("nested deeper than {MAX_DEPTH} levels"),
    }
}

/// Tags saying which text encoding a byte string is expected to be shown in (RFC 8949 3.4.5.2).
const TAG_BASE64URL: u64 = 21;
const TAG_BASE64: u64 = 22;
const TAG_BASE16: u64 = 23;

/// `bytes` in the text encoding `tag` asks for: base64url without padding, base64 with it, or
/// lowercase base16.
fn expected_encoding(tag: u64, bytes: &[u8]) -> String {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    match tag {
        TAG_BASE64URL => URL_SAFE_NO_PAD.encode(bytes),
        TAG_BASE64 => STANDARD.encode(bytes),
        _ => bytes.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// What kind of CBOR item this is, for messages.
fn kind(v: &Cbor) -> &'static str {
    match v {
        Cbor::Integer(_) => "an integer",
        Cbor::Bytes(_) => "a byte string",
        Cbor::Float(_) => "a float",
        Cbor::Text(_) => "a text string",
        Cbor::Bool(_) => "a boolean",
        Cbor::Null => "null",
        Cbor::Tag(..) => "a tagged item",
        Cbor::Array(_) => "an array",
        Cbor::Map(_) => "a map",
        _ => "an item of an unknown kind",
    }
}

fn convert(v: Cbor, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err("CBOR nested too deeply".into());
    }
    Ok(match v {
        Cbor::Null => Value::Null,
        Cbor::Bool(b) => Value::Bool(b),
        Cbor::Integer(i) => {
            let i: i128 = i.into();
            if let Ok(n) = i64::try_from(i) {
                Value::Number(n.into())
            } else if let Ok(n) = u64::try_from(i) {
                Value::Number(n.into())
            } else {
                return Err(format!("CBOR integer {i} does not fit JSON"));
            }
        }
        Cbor::Float(f) => Number::from_f64(f).map(Value::Number).ok_or("CBOR float is not finite")?,
        Cbor::Text(s) => Value::String(s),
        // Kubernetes decodes a byte string into a string (or an untyped value) as its bytes;
        // JSON text cannot hold bytes that are not UTF-8, which Go's encoder writes as U+FFFD.
        Cbor::Bytes(b) => Value::String(String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())),
        Cbor::Array(a) => Value::Array(a.into_iter().map(|x| convert(x, depth + 1)).collect::<Result<_, _>>()?),
        Cbor::Map(entries) => {
            let mut m = Map::new();
            for (k, v) in entries {
                let key = match k {
                    Cbor::Text(s) => s,
                    Cbor::Bytes(b) => String::from_utf8(b).map_err(|_| "CBOR map key is not UTF-8")?,
                    other => return Err(format!("CBOR map key is {}, not a string", kind(&other))),
                };
                if m.contains_key(&key) {
                    return Err(format!("CBOR map has the key {key:?} twice (Kubernetes refuses such a value)"));
                }
                m.insert(key, convert(v, depth + 1)?);
            }
            Value::Object(m)
        }
        // The self-describe tag (55799) and any other tag: the tagged item is the value; a byte
        // string for which a later text encoding is expected (RFC 8949 3.4.5.2) is that text, as
        // Kubernetes reads it into a string.
        Cbor::Tag(tag, inner) => match (tag, *inner) {
            (TAG_BASE64URL | TAG_BASE64 | TAG_BASE16, Cbor::Bytes(b)) => Value::String(expected_encoding(tag, &b)),
            (_, item) => convert(item, depth + 1)?,
        },
        other => return Err(format!("unsupported CBOR item: {}", kind(&other))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_described_map() {
        // 55799({"kind": "Widget", "spec": {"size": 3, "on": true}})
        let mut b = vec![0xd9, 0xd9, 0xf7, 0xa2];
        b.extend_from_slice(&[0x64, b'k', b'i', b'n', b'd', 0x66, b'W', b'i', b'd', b'g', b'e', b't']);
        b.extend_from_slice(&[0x64, b's', b'p', b'e', b'c', 0xa2, 0x64, b's', b'i', b'z', b'e', 0x03, 0x62, b'o', b'n', 0xf5]);
        assert_eq!(to_json(&b).unwrap(), serde_json::json!({"kind": "Widget", "spec": {"size": 3, "on": true}}));
        let truncated = to_json(&[0xd9, 0xd9, 0xf7, 0xa1]).unwrap_err();
        assert!(truncated.contains("ends before") && !truncated.contains("Error {"), "{truncated}");
        let bad = to_json(&[0xd9, 0xd9, 0xf7, 0xa1, 0x01, 0x02]).unwrap_err();
        assert_eq!(bad, "CBOR map key is an integer, not a string");
        let syntax = to_json(&[0xfc]).unwrap_err();
        assert!(!syntax.contains("Syntax("), "{syntax}");
    }
}
