//! A tiny protobuf wire-format walker (no schema): field numbers, wire types and raw values.

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WireVal<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

impl WireVal<'_> {
    /// The value a proto2 writer emits for a non-pointer zero field (omitted in JSON).
    pub fn is_zero(&self) -> bool {
        match self {
            WireVal::Varint(v) | WireVal::Fixed64(v) => *v == 0,
            WireVal::Fixed32(v) => *v == 0,
            WireVal::Bytes(b) => b.is_empty(),
        }
    }

    /// Short human-readable form for provenance notes.
    pub fn describe(&self) -> String {
        match self {
            WireVal::Varint(v) => format!("wire type 0 value {v}"),
            WireVal::Fixed64(v) => format!("wire type 1 value {}", f64::from_bits(*v)),
            WireVal::Fixed32(v) => format!("wire type 5 value {}", f32::from_bits(*v)),
            WireVal::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic() || c == ' ') && s.len() <= 60 => {
                    format!("wire type 2 value '{s}'")
                }
                _ => format!("wire type 2, {} bytes", b.len()),
            },
        }
    }
}

pub fn varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Every field of one message, in wire order; `None` if the bytes are not a message.
pub fn parse(b: &[u8]) -> Option<Vec<(u32, WireVal<'_>)>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let key = varint(b, &mut pos)?;
        let num = u32::try_from(key >> 3).ok().filter(|n| *n > 0 && *n < (1 << 29))?;
        let v = match key & 7 {
            0 => WireVal::Varint(varint(b, &mut pos)?),
            1 => {
                let s = b.get(pos..pos + 8)?;
                pos += 8;
                WireVal::Fixed64(u64::from_le_bytes(s.try_into().unwrap()))
            }
            2 => {
                let len = usize::try_from(varint(b, &mut pos)?).ok()?;
                let s = b.get(pos..pos.checked_add(len)?)?;
                pos += len;
                WireVal::Bytes(s)
            }
            5 => {
                let s = b.get(pos..pos + 4)?;
                pos += 4;
                WireVal::Fixed32(u32::from_le_bytes(s.try_into().unwrap()))
            }
            _ => return None,
        };
        out.push((num, v));
    }
    Some(out)
}

/// Packed varints (a packed repeated scalar's payload).
pub fn packed_varints(b: &[u8]) -> Option<Vec<u64>> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < b.len() {
        out.push(varint(b, &mut pos)?);
    }
    Some(out)
}

/// Standard base64 with padding (how encoding/json writes []byte).
pub fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` -> (seconds since the epoch, fraction in nanoseconds if any).
pub fn rfc3339(s: &str) -> Option<(i64, Option<i64>)> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || *b.last()? != b'Z' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (hh, mm, ss) = (n(11..13)?, n(14..16)?, n(17..19)?);
    let frac = match &s[19..s.len() - 1] {
        "" => None,
        f => {
            let digits = f.strip_prefix('.')?;
            if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            Some(digits.parse::<i64>().ok()? * 10i64.pow(9 - digits.len() as u32))
        }
    };
    // days_from_civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hh * 3600 + mm * 60 + ss, frac))
}

#[cfg(test)]
mod tests {
    #[test]
    fn basics() {
        assert_eq!(super::base64(b"\x0c"), "DA==");
        assert_eq!(super::base64(b"abc"), "YWJj");
        assert_eq!(super::base64(b"ab"), "YWI=");
        assert_eq!(super::rfc3339("1970-01-01T00:00:00Z"), Some((0, None)));
        assert_eq!(super::rfc3339("2023-11-14T22:13:20.123456Z"), Some((1_700_000_000, Some(123_456_000))));
        let b = [0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i'];
        let f = super::parse(&b).unwrap();
        assert_eq!(f, vec![(1, super::WireVal::Varint(150)), (2, super::WireVal::Bytes(b"hi"))]);
    }
}
