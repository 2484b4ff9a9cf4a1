//! Test helper: rewrites `metadata.name` / `metadata.namespace` of a stored Kubernetes object on
#![allow(dead_code)]
//! the protobuf wire (k8s\0 + runtime.Unknown{raw = object{metadata = ObjectMeta{name = 1,
//! namespace = 3}}}), leaving every other byte as Kubernetes wrote it.

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn read_varint(b: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let byte = b[*pos];
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return v;
        }
        shift += 7;
    }
}

/// Calls `f(field, wire_type, whole_field_bytes, payload)` for each top-level field of `msg`.
fn fields(msg: &[u8]) -> Vec<(u64, u64, Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < msg.len() {
        let start = pos;
        let tag = read_varint(msg, &mut pos);
        let payload_start;
        match tag & 7 {
            0 => {
                payload_start = pos;
                read_varint(msg, &mut pos);
            }
            1 => {
                payload_start = pos;
                pos += 8;
            }
            5 => {
                payload_start = pos;
                pos += 4;
            }
            2 => {
                let len = read_varint(msg, &mut pos) as usize;
                payload_start = pos;
                pos += len;
            }
            w => panic!("wire type {w} in a Kubernetes object"),
        }
        out.push((tag >> 3, tag & 7, msg[start..pos].to_vec(), msg[payload_start..pos].to_vec()));
    }
    out
}

fn bytes_field(number: u64, payload: &[u8], out: &mut Vec<u8>) {
    varint(number << 3 | 2, out);
    varint(payload.len() as u64, out);
    out.extend_from_slice(payload);
}

/// Replaces (or drops, with `None`) length-delimited `field` of `msg` with `value`.
fn replace(msg: &[u8], field: u64, value: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for (n, w, whole, _) in fields(msg) {
        if n == field && w == 2 {
            if let Some(v) = value {
                bytes_field(n, v, &mut out);
            }
        } else {
            out.extend_from_slice(&whole);
        }
    }
    out
}

fn field(msg: &[u8], number: u64) -> Vec<u8> {
    fields(msg).into_iter().find(|(n, w, _, _)| *n == number && *w == 2).map(|f| f.3).expect("field present")
}

/// A stored value (k8s\0 envelope) with its object renamed; `namespace` "" keeps the field
/// present and empty, as kube-apiserver writes cluster-scoped objects.
pub fn rename(stored: &[u8], name: &str, namespace: &str) -> Vec<u8> {
    let unknown = &stored[4..];
    let object = field(unknown, 2);
    let meta = field(&object, 1);
    let meta = replace(&replace(&meta, 1, Some(name.as_bytes())), 3, Some(namespace.as_bytes()));
    let object = replace(&object, 1, Some(&meta));
    let mut out = b"k8s\0".to_vec();
    out.extend(replace(unknown, 2, Some(&object)));
    out
}

/// A protobuf message built field by field, for hand-made Kubernetes objects.
#[derive(Default, Clone)]
pub struct Msg(pub Vec<u8>);

impl Msg {
    pub fn new() -> Msg {
        Msg::default()
    }

    /// A varint field (int32, int64, bool).
    pub fn int(mut self, number: u64, v: u64) -> Msg {
        varint(number << 3, &mut self.0);
        varint(v, &mut self.0);
        self
    }

    pub fn str(mut self, number: u64, s: &str) -> Msg {
        bytes_field(number, s.as_bytes(), &mut self.0);
        self
    }

    /// A message field (appended again for each element of a repeated field).
    pub fn msg(mut self, number: u64, m: &Msg) -> Msg {
        bytes_field(number, &m.0, &mut self.0);
        self
    }
}

/// A stored value as kube-apiserver writes it: `k8s\0` and a runtime.Unknown holding the type
/// (TypeMeta: apiVersion 1, kind 2) in field 1 and the object in field 2.
pub fn stored(api_version: &str, kind: &str, object: &Msg) -> Vec<u8> {
    let type_meta = Msg::new().str(1, api_version).str(2, kind);
    let mut out = b"k8s\0".to_vec();
    out.extend(Msg::new().msg(1, &type_meta).msg(2, object).0);
    out
}
