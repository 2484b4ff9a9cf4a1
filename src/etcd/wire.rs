//! A minimal borrowed protobuf field reader for hot paths: it finds one field of a message (the
//! user key of an `mvccpb.KeyValue` during scans, a sort key) without copying or decoding the
//! rest. Full decoding goes through the prost types in `pb`. The wire itself is read by
//! [`crate::protowire`].

use crate::protowire::{fields, Wire};

/// The message is not valid protobuf, or the field has another wire type. Callers say where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// The last occurrence of length-delimited field `field` in `msg` (protobuf's "last one wins"),
/// `Ok(None)` if absent, [`Malformed`] if the message is.
pub fn bytes_field(msg: &[u8], field: u64) -> Result<Option<&[u8]>, Malformed> {
    match find(msg, field)? {
        Some(Wire::Bytes(b)) => Ok(Some(b)),
        Some(_) => Err(Malformed),
        None => Ok(None),
    }
}

/// The last occurrence of varint field `field` read as an int64 (0 when absent).
pub fn int64_field(msg: &[u8], field: u64) -> Result<i64, Malformed> {
    match find(msg, field)? {
        Some(Wire::Varint(v)) => Ok(v as i64),
        Some(_) => Err(Malformed),
        None => Ok(0),
    }
}

fn find(msg: &[u8], field: u64) -> Result<Option<Wire<'_>>, Malformed> {
    let mut found = None;
    for f in fields(msg) {
        let (number, value) = f.map_err(|_| Malformed)?;
        if u64::from(number) == field {
            found = Some(value);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_key_of_a_keyvalue() {
        // foo=bar at revision 2, as etcd stores it.
        let kv = [0x0a, 3, b'f', b'o', b'o', 0x10, 2, 0x18, 2, 0x20, 1, 0x2a, 3, b'b', b'a', b'r'];
        assert_eq!(bytes_field(&kv, 1), Ok(Some(&b"foo"[..])));
        assert_eq!(bytes_field(&kv, 5), Ok(Some(&b"bar"[..])));
        assert_eq!(bytes_field(&kv, 7), Ok(None));
        assert_eq!(int64_field(&kv, 2), Ok(2));
        assert_eq!(int64_field(&kv, 6), Ok(0));
        assert_eq!(int64_field(&kv, 1), Err(Malformed));
    }

    #[test]
    fn rejects_truncated_messages() {
        assert_eq!(bytes_field(&[0x0a, 5, b'a'], 1), Err(Malformed));
        assert_eq!(bytes_field(&[0x10], 1), Err(Malformed));
        assert_eq!(bytes_field(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], 1), Err(Malformed));
        assert_eq!(bytes_field(&[0x0f], 1), Err(Malformed));
    }
}
