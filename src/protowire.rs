//! The protobuf wire format, read without copying: a field iterator over a message's bytes that
//! never panics and never allocates, and says at which byte offset a malformed message breaks.
//! etcd's records and Kubernetes' objects are both read with it where whole decodes would cost
//! too much (scans, and the Kubernetes JSON writer).

/// One field value as it is on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

impl Wire<'_> {
    pub fn type_name(&self) -> &'static str {
        match self {
            Wire::Varint(_) => "varint",
            Wire::Fixed64(_) => "64-bit",
            Wire::Fixed32(_) => "32-bit",
            Wire::Bytes(_) => "length-delimited",
        }
    }
}

/// Where and why a message does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireError {
    /// Offset of the field's tag within the message.
    pub offset: usize,
    pub what: &'static str,
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.what, self.offset)
    }
}

/// Reads a varint at `*pos`, advancing it; `None` when truncated or longer than 10 bytes.
#[inline]
pub fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    // Tags and lengths are mostly one byte.
    let first = *buf.get(*pos)?;
    if first < 0x80 {
        *pos += 1;
        return Some(u64::from(first));
    }
    varint_long(buf, pos)
}

fn varint_long(buf: &[u8], pos: &mut usize) -> Option<u64> {
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

/// The fields of a message in wire order: `(field number, value)`. After an error the iterator
/// ends.
pub fn fields(msg: &[u8]) -> Fields<'_> {
    Fields { msg, pos: 0 }
}

pub struct Fields<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Wire<'a>), WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.msg.len() {
            return None;
        }
        let start = self.pos;
        let r = self.read(start);
        if r.is_err() {
            self.pos = self.msg.len();
        }
        Some(r)
    }
}

impl<'a> Fields<'a> {
    fn read(&mut self, start: usize) -> Result<(u32, Wire<'a>), WireError> {
        let err = |what| WireError { offset: start, what };
        let msg = self.msg;
        let tag = varint(msg, &mut self.pos).ok_or(err("truncated field tag"))?;
        let number = u32::try_from(tag >> 3).ok().filter(|&n| n > 0 && n < (1 << 29)).ok_or(err("field number out of range"))?;
        let take = |pos: &mut usize, n: usize| -> Result<&'a [u8], WireError> {
            let end = pos.checked_add(n).filter(|&e| e <= msg.len()).ok_or(err("value runs past the end of the message"))?;
            let s = &msg[*pos..end];
            *pos = end;
            Ok(s)
        };
        let value = match tag & 7 {
            0 => Wire::Varint(varint(msg, &mut self.pos).ok_or(err("truncated varint"))?),
            1 => Wire::Fixed64(u64::from_le_bytes(take(&mut self.pos, 8)?.try_into().map_err(|_| err("short 64-bit value"))?)),
            5 => Wire::Fixed32(u32::from_le_bytes(take(&mut self.pos, 4)?.try_into().map_err(|_| err("short 32-bit value"))?)),
            2 => {
                let len = varint(msg, &mut self.pos).ok_or(err("truncated length"))?;
                let len = usize::try_from(len).map_err(|_| err("length out of range"))?;
                Wire::Bytes(take(&mut self.pos, len)?)
            }
            3 | 4 => return Err(err("group wire types are not supported")),
            _ => return Err(err("invalid wire type")),
        };
        Ok((number, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_wire_type() {
        // 1: varint 150, 2: "hi", 3: fixed64 1, 4: fixed32 2
        let m = [0x08, 0x96, 0x01, 0x12, 2, b'h', b'i', 0x19, 1, 0, 0, 0, 0, 0, 0, 0, 0x25, 2, 0, 0, 0];
        let got: Vec<_> = fields(&m).collect::<Result<_, _>>().unwrap();
        assert_eq!(got, vec![(1, Wire::Varint(150)), (2, Wire::Bytes(b"hi")), (3, Wire::Fixed64(1)), (4, Wire::Fixed32(2))]);
    }

    #[test]
    fn errors_name_the_offset_and_end_the_iteration() {
        let m = [0x08, 0x01, 0x12, 5, b'a'];
        let mut it = fields(&m);
        assert_eq!(it.next(), Some(Ok((1, Wire::Varint(1)))));
        assert_eq!(it.next(), Some(Err(WireError { offset: 2, what: "value runs past the end of the message" })));
        assert_eq!(it.next(), None);
        assert!(fields(&[0x00]).next().unwrap().is_err(), "field number 0");
        assert!(fields(&[0x0b]).next().unwrap().is_err(), "group");
        assert!(fields(&[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).next().unwrap().is_err());
    }
}

/// Writing messages field by field, in the order given, as gogoproto marshals etcd's records:
/// every scalar field is written even when zero (etcd's messages are non-nullable), bytes only
/// when the caller has them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Encoder {
    pub bytes: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Encoder {
        Encoder::default()
    }

    fn raw_varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.bytes.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.bytes.push(v as u8);
    }

    /// A varint field (wire type 0).
    pub fn varint(&mut self, field: u32, v: u64) -> &mut Encoder {
        self.raw_varint(u64::from(field) << 3);
        self.raw_varint(v);
        self
    }

    /// A length-delimited field (wire type 2).
    pub fn bytes(&mut self, field: u32, b: &[u8]) -> &mut Encoder {
        self.raw_varint((u64::from(field) << 3) | 2);
        self.raw_varint(b.len() as u64);
        self.bytes.extend_from_slice(b);
        self
    }

    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }
}
