//! A minimal borrowed protobuf field reader for hot paths: it finds one field of a message (the
//! user key of an `mvccpb.KeyValue` during scans, a sort key) without copying or decoding the
//! rest. Full decoding goes through the prost types in `pb`.

/// Reads a varint at `*pos`, advancing it.
fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// A field value as found on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

/// The last occurrence of length-delimited field `field` in `msg` (protobuf's "last one wins"),
/// `Ok(None)` if absent, `Err(())` if the message is malformed.
pub fn bytes_field(msg: &[u8], field: u64) -> Result<Option<&[u8]>, ()> {
    match find(msg, field)? {
        Some(Wire::Bytes(b)) => Ok(Some(b)),
        Some(Wire::Varint(_)) => Err(()),
        None => Ok(None),
    }
}

/// The last occurrence of varint field `field` read as an int64 (0 when absent).
pub fn int64_field(msg: &[u8], field: u64) -> Result<i64, ()> {
    match find(msg, field)? {
        Some(Wire::Varint(v)) => Ok(v as i64),
        Some(Wire::Bytes(_)) => Err(()),
        None => Ok(0),
    }
}

fn find(msg: &[u8], field: u64) -> Result<Option<Wire<'_>>, ()> {
    let mut pos = 0;
    let mut found = None;
    while pos < msg.len() {
        let tag = varint(msg, &mut pos).ok_or(())?;
        match tag & 7 {
            0 => {
                let v = varint(msg, &mut pos).ok_or(())?;
                if tag >> 3 == field {
                    found = Some(Wire::Varint(v));
                }
            }
            1 => pos = pos.checked_add(8).filter(|&p| p <= msg.len()).ok_or(())?,
            5 => pos = pos.checked_add(4).filter(|&p| p <= msg.len()).ok_or(())?,
            2 => {
                let len = varint(msg, &mut pos).ok_or(())?;
                let end = usize::try_from(len).ok().and_then(|l| pos.checked_add(l)).filter(|&e| e <= msg.len()).ok_or(())?;
                if tag >> 3 == field {
                    found = Some(Wire::Bytes(&msg[pos..end]));
                }
                pos = end;
            }
            _ => return Err(()),
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
        assert_eq!(int64_field(&kv, 1), Err(()));
    }

    #[test]
    fn rejects_truncated_messages() {
        assert_eq!(bytes_field(&[0x0a, 5, b'a'], 1), Err(()));
        assert_eq!(bytes_field(&[0x10], 1), Err(()));
        assert_eq!(bytes_field(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], 1), Err(()));
        assert_eq!(bytes_field(&[0x0f], 1), Err(()));
    }
}
