//! Reading fuzzer bytes as a recipe, and the small encoders the structure-aware targets build
//! their files with (protobuf fields, CBOR, JSON strings, CRC-32C). Every byte string is a valid
//! recipe: past its end a recipe reads zeros, so a short input builds a small file.

/// A cursor over fuzzer bytes that never fails.
pub struct Recipe<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Recipe<'a> {
    pub fn new(data: &'a [u8]) -> Recipe<'a> {
        Recipe { data, pos: 0 }
    }

    pub fn exhausted(&self) -> bool {
        self.pos >= self.data.len()
    }

    pub fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos = self.pos.saturating_add(1);
        b
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    pub fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }

    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        match n {
            0 => 0,
            1..=256 => usize::from(self.u8()) % n,
            _ => self.u16() as usize % n,
        }
    }

    /// One of `items` (which must not be empty).
    pub fn pick<'p, T>(&mut self, items: &'p [T]) -> &'p T {
        &items[self.below(items.len())]
    }

    /// Up to `max` bytes taken from the recipe as they are.
    pub fn bytes(&mut self, max: usize) -> &'a [u8] {
        let want = self.below(max + 1);
        let start = self.pos.min(self.data.len());
        let end = start.saturating_add(want).min(self.data.len());
        self.pos = self.pos.saturating_add(want);
        &self.data[start..end]
    }

    /// Up to `max` bytes as text (lossy UTF-8).
    pub fn text(&mut self, max: usize) -> String {
        String::from_utf8_lossy(self.bytes(max)).into_owned()
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        let start = self.pos.min(self.data.len());
        self.pos = self.data.len();
        &self.data[start..]
    }
}

// --- protobuf wire encoding ---

pub fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn field_varint(out: &mut Vec<u8>, field: u32, v: u64) {
    varint(out, u64::from(field) << 3);
    varint(out, v);
}

pub fn field_bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    varint(out, (u64::from(field) << 3) | 2);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A message with one length-delimited field.
pub fn message(field: u32, b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    field_bytes(&mut out, field, b);
    out
}

// --- CBOR (RFC 8949), the few items the value generators need ---

fn cbor_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

pub fn cbor_text(out: &mut Vec<u8>, s: &str) {
    cbor_head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

pub fn cbor_bytes(out: &mut Vec<u8>, b: &[u8]) {
    cbor_head(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

pub fn cbor_uint(out: &mut Vec<u8>, n: u64) {
    cbor_head(out, 0, n);
}

pub fn cbor_map(out: &mut Vec<u8>, len: usize) {
    cbor_head(out, 5, len as u64);
}

pub fn cbor_array(out: &mut Vec<u8>, len: usize) {
    cbor_head(out, 4, len as u64);
}

// --- JSON ---

/// `s` as a JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// --- CRC-32C (Castagnoli), as etcd's WAL chains it ---

pub fn crc32c_append(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 == 1 { (c >> 1) ^ 0x82F6_3B78 } else { c >> 1 };
        }
    }
    !c
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc32c_check_value() {
        assert_eq!(super::crc32c_append(0, b"123456789"), 0xE306_9283);
    }
}
