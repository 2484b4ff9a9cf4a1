//! CBOR-stored objects (custom resources with the CBOR serving/storage feature, Kubernetes
//! 1.32+): the self-described CBOR item (tag 55799) converted to the JSON it stands for.

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
        // Kubernetes writes strings as text; a byte string is shown as base64, as JSON would carry it.
        Cbor::Bytes(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Cbor::Array(a) => Value::Array(a.into_iter().map(|x| convert(x, depth + 1)).collect::<Result<_, _>>()?),
        Cbor::Map(entries) => {
            let mut m = Map::new();
            for (k, v) in entries {
                let key = match k {
                    Cbor::Text(s) => s,
                    Cbor::Bytes(b) => String::from_utf8(b).map_err(|_| "CBOR map key is not UTF-8")?,
                    other => return Err(format!("CBOR map key is {}, not a string", kind(&other))),
                };
                m.insert(key, convert(v, depth + 1)?);
            }
            Value::Object(m)
        }
        // The self-describe tag (55799) and any other tag: the tagged item is the value.
        Cbor::Tag(_, inner) => convert(*inner, depth + 1)?,
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
