//! Protobuf → the JSON kube-apiserver serves, written straight from the wire bytes.
//!
//! The object's bytes are walked once with its message's [plan](super::plan) and JSON text is
//! written as the walk goes: JSON field names and Go's omitempty rules from the plan,
//! apimachinery's special types (Time, MicroTime, Duration, IntOrString, Quantity, RawExtension,
//! FieldsV1, apiextensions' JSON unions), bytes as base64, map keys sorted, fields in the order
//! Go declares them. No intermediate message or JSON tree is built; callers that need a
//! `serde_json::Value` parse the text. Fields the schema does not name are never dropped
//! silently: their paths are reported, and rendered under a marked key on request.

use super::plan::{Elem, FieldPlan, Plans, Rule, Scalar, Shape, Special};
use super::schema::Schemas;
use crate::protowire::{fields, Wire};
use base64::Engine;
use prost_reflect::MessageDescriptor;
use serde_json::Value;

/// Key under which `--show-unknown` renders fields the schema does not name.
pub const UNKNOWN_KEY: &str = "__unknownFields__";
/// Deeper nesting of messages than this is refused (protobuf's usual recursion limit).
const MAX_DEPTH: usize = 100;
/// Deepest nesting accepted in embedded JSON (managedFields' fieldsV1, CRD defaults, …): what
/// serde_json itself parses by default.
pub const MAX_EMBEDDED_DEPTH: usize = 128;

#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Render fields the schema does not name under [`UNKNOWN_KEY`].
    pub show_unknown: bool,
    /// Replace the values of a Secret's `data` and `stringData` (and kubectl's
    /// last-applied-configuration annotation) with a length marker; whether the object is a
    /// Secret is [`crate::k8s::secret::is_secret`]'s to say, by its kind.
    pub redact_secrets: bool,
    /// Set `metadata.resourceVersion`, as the API server does on read (the key's mod revision).
    pub resource_version: Option<i64>,
}

/// A rendered object as a JSON value, and the paths of fields the schema did not name
/// (`spec.template.#42`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub json: Value,
    pub unknown_fields: Vec<String>,
}

/// A rendered object as compact JSON text (what `-o jsonl` writes).
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedText {
    pub json: String,
    pub unknown_fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("no schema for {api_version} {kind} (add .proto files with --proto-path)")]
    NoSchema { api_version: String, kind: String },
    #[error("{api_version} {kind}: protobuf does not match the schema: {reason}")]
    Malformed { api_version: String, kind: String, reason: String },
}

/// Parses JSON text this module wrote. Its nesting is bounded by the writer (at most 100
/// messages, each a few JSON levels, plus embedded JSON that passed serde_json's own 128-level
/// check), which can exceed serde_json's default limit of 128, so the limit is lifted here.
pub fn parse_rendered(text: &str) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let v = serde::Deserialize::deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

/// Whether any of the eight bytes in `word` must be escaped in a JSON string: a control
/// character (below 0x20), `"` or `\\`. Each test sets a byte's high bit exactly when that byte
/// is below the bound (or equal to the character, after an XOR).
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    (below(word, 0x20) | below(quote, 1) | below(backslash, 1)) != 0
}

/// Whether all eight bytes in `word` are ASCII.
fn is_ascii_word(word: u64) -> bool {
    word & 0x8080_8080_8080_8080 == 0
}

/// The annotation in which `kubectl apply` stores the last object it applied, verbatim: for a
/// Secret, its data.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The marker that replaces a Secret value of `len` characters.
pub fn redaction_marker(len: usize) -> String {
    format!("<redacted: {len} characters; --show-secrets to show>")
}

/// The most [`render_object_text`] reserves before it knows the output's size.
const MAX_RESERVE: usize = 4 << 20;

/// Renders the object in a runtime.Unknown envelope as JSON text: apiVersion and kind first,
/// then its fields.
pub fn render_object_text(schemas: &Schemas, api_version: &str, kind: &str, raw: &[u8], opts: RenderOptions) -> Result<RenderedText, DecodeError> {
    let index = schemas.plan_for_type(api_version, kind).ok_or_else(|| DecodeError::NoSchema { api_version: api_version.into(), kind: kind.into() })?;
    let malformed = |reason: String| DecodeError::Malformed { api_version: api_version.into(), kind: kind.into(), reason };
    // The JSON of an object is about twice its protobuf (field names written out): reserved up
    // front rather than grown by copying.
    let capacity = raw.len().saturating_mul(2).saturating_add(256).min(MAX_RESERVE);
    let mut w = Writer::with_capacity(schemas.plans(), opts, capacity);
    w.buf.extend_from_slice(b"{\"apiVersion\":");
    w.string(api_version);
    w.buf.extend_from_slice(b",\"kind\":");
    w.string(kind);
    let redact = opts.redact_secrets && crate::k8s::secret::is_secret(crate::k8s::secret::Evidence { key: None, kind: Some(kind) });
    w.withhold_unknown = redact;
    let ctx = Ctx { top: true, redact, secret_meta: false, resource_version: None, inline: false };
    let mut first = false;
    w.fields(index, raw, &mut first, ctx).map_err(malformed)?;
    w.buf.push(b'}');
    w.finish().map_err(malformed)
}

/// Renders the object in a runtime.Unknown envelope as a JSON value.
pub fn render_object(schemas: &Schemas, api_version: &str, kind: &str, raw: &[u8], opts: RenderOptions) -> Result<Rendered, DecodeError> {
    let t = render_object_text(schemas, api_version, kind, raw, opts)?;
    let json = parse_rendered(&t.json).map_err(|e| DecodeError::Malformed {
        api_version: api_version.into(),
        kind: kind.into(),
        reason: format!("internal: rendered JSON does not parse: {e}"),
    })?;
    Ok(Rendered { json, unknown_fields: t.unknown_fields })
}

/// Renders one message of type `desc` from its wire bytes as JSON text (no apiVersion/kind).
pub fn render_message_text(schemas: &Schemas, desc: &MessageDescriptor, raw: &[u8], opts: RenderOptions) -> Result<RenderedText, String> {
    let index = schemas.plans().index_of(desc.full_name()).ok_or_else(|| format!("{} is not in the schemas", desc.full_name()))?;
    let mut w = Writer::new(schemas.plans(), opts);
    w.message(index, raw)?;
    w.finish()
}

/// Renders one message of type `desc` from its wire bytes (no apiVersion/kind added).
pub fn render_message_bytes(schemas: &Schemas, desc: &MessageDescriptor, raw: &[u8], opts: RenderOptions) -> Result<Rendered, String> {
    let t = render_message_text(schemas, desc, raw, opts)?;
    let json = parse_rendered(&t.json).map_err(|e| format!("internal: rendered JSON does not parse: {e}"))?;
    Ok(Rendered { json, unknown_fields: t.unknown_fields })
}

/// Which values of a map are written as redaction markers.
#[derive(Clone, Copy)]
enum MapRedact {
    None,
    Values,
    Key(&'static str),
}

impl MapRedact {
    fn applies(self, key: &str) -> bool {
        match self {
            MapRedact::None => false,
            MapRedact::Values => true,
            MapRedact::Key(k) => k == key,
        }
    }
}

/// What is special about the message being written.
#[derive(Clone, Copy, Default)]
struct Ctx {
    /// The object itself (apiVersion/kind come from the envelope; Secret redaction applies).
    top: bool,
    /// A v1 Secret's top level: `data` and `stringData` values are redacted.
    redact: bool,
    /// A redacted Secret's ObjectMeta: kubectl's last-applied-configuration annotation (the
    /// whole applied Secret) is redacted.
    secret_meta: bool,
    /// ObjectMeta of the object: resourceVersion is set to this.
    resource_version: Option<i64>,
    /// The message is an inline (`json:",inline"`) field of the one being written: its fields,
    /// and its unknown fields, belong to that object.
    inline: bool,
}

/// One segment of the JSON path of the value being written (for messages about it).
#[derive(Clone, Copy)]
enum Seg<'p> {
    Key(&'p str),
    Index(usize),
    MapKey(&'p str),
}

/// A field occurrence on the wire; `slot` is its index in the message plan (`u32::MAX` when
/// the schema does not name it).
#[derive(Clone, Copy)]
struct Occ<'p> {
    slot: u32,
    number: u32,
    wire: Wire<'p>,
}

/// A decoded scalar.
#[derive(Clone, Copy)]
enum Sv<'p> {
    Bool(bool),
    I(i64),
    U(u64),
    F(f64),
    Str(&'p str),
    Bytes(&'p [u8]),
}

impl Sv<'_> {
    fn is_zero(&self) -> bool {
        match *self {
            Sv::Bool(b) => !b,
            Sv::I(n) => n == 0,
            Sv::U(n) => n == 0,
            Sv::F(f) => f == 0.0,
            Sv::Str(s) => s.is_empty(),
            Sv::Bytes(b) => b.is_empty(),
        }
    }
}

fn zigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// The scalar `s` from its wire value; `Err` names the mismatch.
fn scalar_value(s: Scalar, w: Wire<'_>) -> Result<Sv<'_>, String> {
    let v = match (s, w) {
        (Scalar::Int32 | Scalar::Enum, Wire::Varint(v)) => Sv::I(i64::from(v as i32)),
        (Scalar::Int64, Wire::Varint(v)) => Sv::I(v as i64),
        (Scalar::Uint32, Wire::Varint(v)) => Sv::U(u64::from(v as u32)),
        (Scalar::Uint64, Wire::Varint(v)) => Sv::U(v),
        (Scalar::Sint32, Wire::Varint(v)) => Sv::I(i64::from(zigzag(v) as i32)),
        (Scalar::Sint64, Wire::Varint(v)) => Sv::I(zigzag(v)),
        (Scalar::Bool, Wire::Varint(v)) => Sv::Bool(v != 0),
        (Scalar::Fixed32, Wire::Fixed32(v)) => Sv::U(u64::from(v)),
        (Scalar::Sfixed32, Wire::Fixed32(v)) => Sv::I(i64::from(v as i32)),
        (Scalar::Float, Wire::Fixed32(v)) => Sv::F(f64::from(f32::from_bits(v))),
        (Scalar::Fixed64, Wire::Fixed64(v)) => Sv::U(v),
        (Scalar::Sfixed64, Wire::Fixed64(v)) => Sv::I(v as i64),
        (Scalar::Double, Wire::Fixed64(v)) => Sv::F(f64::from_bits(v)),
        (Scalar::String, Wire::Bytes(b)) => Sv::Str(std::str::from_utf8(b).map_err(|e| format!("string is not UTF-8 ({e})"))?),
        (Scalar::Bytes, Wire::Bytes(b)) => Sv::Bytes(b),
        (s, w) => return Err(format!("{} value where the schema has {s:?}", w.type_name())),
    };
    Ok(v)
}

/// The zero value of a scalar (a map entry without its value).
fn zero(s: Scalar) -> Sv<'static> {
    match s {
        Scalar::Bool => Sv::Bool(false),
        Scalar::String => Sv::Str(""),
        Scalar::Bytes => Sv::Bytes(b""),
        Scalar::Float | Scalar::Double => Sv::F(0.0),
        Scalar::Uint32 | Scalar::Uint64 | Scalar::Fixed32 | Scalar::Fixed64 => Sv::U(0),
        _ => Sv::I(0),
    }
}

fn is_packable(s: Scalar) -> bool {
    !matches!(s, Scalar::String | Scalar::Bytes)
}

/// The values of a packed repeated scalar field.
fn unpack(s: Scalar, b: &[u8]) -> Result<Vec<Wire<'static>>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let w = match s {
            Scalar::Fixed32 | Scalar::Sfixed32 | Scalar::Float => {
                let chunk = b.get(pos..pos + 4).ok_or("packed 32-bit values run past their field")?;
                pos += 4;
                Wire::Fixed32(u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
            }
            Scalar::Fixed64 | Scalar::Sfixed64 | Scalar::Double => {
                let chunk = b.get(pos..pos + 8).ok_or("packed 64-bit values run past their field")?;
                pos += 8;
                let mut a = [0u8; 8];
                a.copy_from_slice(chunk);
                Wire::Fixed64(u64::from_le_bytes(a))
            }
            _ => Wire::Varint(crate::protowire::varint(b, &mut pos).ok_or("truncated packed varint")?),
        };
        out.push(w);
    }
    Ok(out)
}

/// A map entry's key as JSON shows it (Go sorts them as strings).
enum MapKey<'p> {
    Str(&'p str),
    Num(String),
}

impl MapKey<'_> {
    fn as_str(&self) -> &str {
        match self {
            MapKey::Str(s) => s,
            MapKey::Num(s) => s,
        }
    }
}

struct Writer<'p> {
    plans: &'p Plans,
    opts: RenderOptions,
    buf: Vec<u8>,
    unknown: Vec<String>,
    path: Vec<Seg<'p>>,
    /// Reused occurrence lists, one per nesting level in use.
    scratch: Vec<Vec<Occ<'p>>>,
    /// Messages being written, nested (inline ones included).
    depth: usize,
    /// Unknown fields of inline messages, waiting for the object they are written into.
    inline_unknown: Vec<Occ<'p>>,
    /// The object is a Secret being redacted: the values of fields the schema does not name
    /// (a newer schema may keep data in them) are written as redaction markers, at any depth.
    withhold_unknown: bool,
}

impl<'p> Writer<'p> {
    fn new(plans: &'p Plans, opts: RenderOptions) -> Self {
        Self::with_capacity(plans, opts, 4096)
    }

    fn with_capacity(plans: &'p Plans, opts: RenderOptions, capacity: usize) -> Self {
        Writer {
            plans,
            opts,
            buf: Vec::with_capacity(capacity),
            unknown: Vec::new(),
            path: Vec::new(),
            scratch: Vec::new(),
            depth: 0,
            inline_unknown: Vec::new(),
            withhold_unknown: false,
        }
    }

    /// A writer for part of the object this one writes (merged bytes), with its settings.
    fn sub(&self) -> Self {
        let mut sub = Writer::new(self.plans, self.opts);
        sub.path = self.path.clone();
        sub.depth = self.depth;
        sub.withhold_unknown = self.withhold_unknown;
        sub
    }

    fn finish(self) -> Result<RenderedText, String> {
        let json = String::from_utf8(self.buf).map_err(|_| "internal: rendered JSON is not UTF-8".to_string())?;
        Ok(RenderedText { json, unknown_fields: self.unknown })
    }

    /// The JSON path of the value being written: `spec.containers[0].ports`.
    fn path_text(&self) -> String {
        let mut s = String::new();
        for seg in &self.path {
            match seg {
                Seg::Key(k) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(k);
                }
                Seg::Index(i) => s.push_str(&format!("[{i}]")),
                Seg::MapKey(k) => s.push_str(&format!("[{k}]")),
            }
        }
        s
    }

    fn fail(&self, what: impl std::fmt::Display) -> String {
        let path = self.path_text();
        if path.is_empty() {
            format!("{what} (top level)")
        } else {
            format!("{what} at {path}")
        }
    }

    // ---- JSON text ----

    /// A JSON string, escaped as serde_json escapes it.
    fn string(&mut self, s: &str) {
        // Text already known to be UTF-8 cannot fail the check.
        let _ = self.escaped(s.as_bytes(), true);
    }

    /// A protobuf string field's bytes as a JSON string, checked to be UTF-8 in the same pass
    /// that escapes them (the separate check was a twelfth of decoding).
    fn utf8_string(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.escaped(bytes, false)
    }

    /// Writes `bytes` as a JSON string. With `checked` false they are checked to be UTF-8:
    /// ASCII needs no check, and from the first non-ASCII byte (a character boundary) the rest
    /// is checked once.
    fn escaped(&mut self, bytes: &[u8], mut checked: bool) -> Result<(), String> {
        self.buf.push(b'"');
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            // Eight bytes at a time while none needs attention (most strings have none).
            if let Some(Ok(word)) = bytes.get(i..i + 8).map(<[u8; 8]>::try_from) {
                let word = u64::from_le_bytes(word);
                if !needs_escape(word) && (checked || is_ascii_word(word)) {
                    i += 8;
                    continue;
                }
            }
            let b = bytes[i];
            if b >= 0x80 && !checked {
                if std::str::from_utf8(&bytes[i..]).is_err() {
                    // std's message, with offsets into the whole string.
                    return Err(match std::str::from_utf8(bytes) {
                        Err(e) => format!("string is not UTF-8 ({e})"),
                        Ok(_) => "string is not UTF-8".into(),
                    });
                }
                checked = true;
            }
            let Some(esc) = ascii_escape(b) else {
                i += 1;
                continue;
            };
            self.buf.extend_from_slice(&bytes[start..i]);
            self.buf.extend_from_slice(esc.as_bytes());
            i += 1;
            start = i;
        }
        self.buf.extend_from_slice(&bytes[start..]);
        self.buf.push(b'"');
        Ok(())
    }

    fn key(&mut self, f: &FieldPlan, first: &mut bool) {
        if !*first {
            self.buf.push(b',');
        }
        *first = false;
        self.buf.extend_from_slice(f.key.as_bytes());
    }

    fn raw_key(&mut self, k: &str, first: &mut bool) {
        if !*first {
            self.buf.push(b',');
        }
        *first = false;
        self.string(k);
        self.buf.push(b':');
    }

    fn scalar(&mut self, v: Sv<'_>) {
        match v {
            Sv::Bool(true) => self.buf.extend_from_slice(b"true"),
            Sv::Bool(false) => self.buf.extend_from_slice(b"false"),
            Sv::I(n) => self.buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            Sv::U(n) => self.buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            Sv::F(f) => self.float(f),
            Sv::Str(s) => self.string(s),
            Sv::Bytes(b) => {
                self.buf.push(b'"');
                let at = self.buf.len();
                self.buf.resize(at + b.len().div_ceil(3) * 4, 0);
                let n = base64::engine::general_purpose::STANDARD.encode_slice(b, &mut self.buf[at..]).unwrap_or(0);
                self.buf.truncate(at + n);
                self.buf.push(b'"');
            }
        }
    }

    /// Go's encoding/json float format: shortest digits, plain decimal from 1e-6 up to 1e21
    /// (`1` for 1.0, `0.0000015`, `18446744073709552000`), exponent form outside (`1e-7`,
    /// `1e+21`). Go refuses NaN and infinities; they are written as null.
    fn float(&mut self, f: f64) {
        let text = if !f.is_finite() {
            "null".to_string()
        } else if f == 0.0 || (1e-6..1e21).contains(&f.abs()) {
            format!("{f}")
        } else {
            let e = format!("{f:e}");
            match e.split_once('e') {
                Some((m, x)) if !x.starts_with('-') => format!("{m}e+{x}"),
                _ => e,
            }
        };
        self.buf.extend_from_slice(text.as_bytes());
    }

    /// Embedded JSON bytes as Go writes them: compacted, otherwise as stored (`null` when
    /// empty; a string when they are not JSON).
    /// Embedded JSON nested deeper than [`MAX_EMBEDDED_DEPTH`] is refused (with its path): it
    /// would make every reader of the output recurse once per level.
    fn raw_json(&mut self, b: &[u8]) -> Result<(), String> {
        if b.is_empty() {
            self.buf.extend_from_slice(b"null");
        } else if serde_json::from_slice::<serde::de::IgnoredAny>(b).is_ok() {
            let start = self.buf.len();
            let depth = compact_json(b, &mut self.buf);
            if depth > MAX_EMBEDDED_DEPTH {
                self.buf.truncate(start);
                return Err(self.fail(format!("embedded JSON nested {depth} levels deep, more than {MAX_EMBEDDED_DEPTH}")));
            }
        } else {
            self.string(&String::from_utf8_lossy(b));
        }
        Ok(())
    }

    // ---- messages ----

    /// One message as a JSON value.
    fn message(&mut self, index: usize, bytes: &'p [u8]) -> Result<(), String> {
        let plan = self.plans.get(index);
        if plan.special != Special::None {
            return self.special(index, bytes);
        }
        self.buf.push(b'{');
        let mut first = true;
        self.fields(index, bytes, &mut first, Ctx::default())?;
        self.buf.push(b'}');
        Ok(())
    }

    /// The occurrences of `bytes`' fields, grouped by plan slot in plan order (wire order within
    /// a slot), unknown fields last.
    fn scan(&mut self, index: usize, bytes: &'p [u8]) -> Result<Vec<Occ<'p>>, String> {
        let plan = self.plans.get(index);
        let mut occs = self.scratch.pop().unwrap_or_default();
        occs.clear();
        for f in fields(bytes) {
            let (number, wire) = f.map_err(|e| self.fail(e))?;
            let slot = plan.field_index(number).map_or(u32::MAX, |i| i as u32);
            occs.push(Occ { slot, number, wire });
        }
        if !occs.windows(2).all(|w| w[0].slot <= w[1].slot) {
            occs.sort_by_key(|o| o.slot);
        }
        Ok(occs)
    }

    /// The fields of one message into the object being written (`first`: nothing written in
    /// it yet).
    fn fields(&mut self, index: usize, bytes: &'p [u8], first: &mut bool, ctx: Ctx) -> Result<(), String> {
        if self.depth >= MAX_DEPTH {
            return Err(self.fail(format!("nesting deeper than {MAX_DEPTH} messages")));
        }
        self.depth += 1;
        let r = self.fields_at_depth(index, bytes, first, ctx);
        self.depth -= 1;
        r
    }

    fn fields_at_depth(&mut self, index: usize, bytes: &'p [u8], first: &mut bool, ctx: Ctx) -> Result<(), String> {
        let plans = self.plans;
        let plan = plans.get(index);
        let occs = self.scan(index, bytes)?;
        let inline_mark = self.inline_unknown.len();
        // Absent fields matter only when some are shown as null, or resourceVersion is set;
        // otherwise only the fields present are visited.
        let visit_absent = plan.has_null_rule || ctx.resource_version.is_some();
        let mut i = 0;
        let mut slot = 0usize;
        while slot < plan.fields.len() {
            if !visit_absent {
                match occs.get(i) {
                    Some(o) if (o.slot as usize) < plan.fields.len() => slot = o.slot as usize,
                    _ => break,
                }
            }
            let f = &plan.fields[slot];
            let start = i;
            while i < occs.len() && occs[i].slot == slot as u32 {
                i += 1;
            }
            slot += 1;
            let group = &occs[start..i];
            if ctx.top && matches!(&*f.json_name, "apiVersion" | "kind") {
                continue; // the envelope's type meta was written first
            }
            if let (Some(rv), 6) = (ctx.resource_version, f.number) {
                self.key(f, first);
                self.string(&rv.to_string());
                continue;
            }
            if group.is_empty() {
                if f.rule == Rule::Null {
                    self.key(f, first);
                    self.buf.extend_from_slice(b"null");
                }
                continue;
            }
            // An inline field adds no key, so no path segment either.
            let inline = f.rule == Rule::Inline && matches!(f.shape, Shape::Single(Elem::Message(_)));
            if !inline {
                self.path.push(Seg::Key(&f.json_name));
            }
            let r = self.field(f, group, first, ctx);
            if !inline {
                self.path.pop();
            }
            r?;
        }
        while i < occs.len() && (occs[i].slot as usize) < plan.fields.len() {
            i += 1;
        }
        if ctx.inline {
            self.inline_unknown.extend_from_slice(&occs[i..]);
        } else if i < occs.len() || self.inline_unknown.len() > inline_mark {
            let mut unknown: Vec<Occ<'p>> = self.inline_unknown.drain(inline_mark..).collect();
            unknown.extend_from_slice(&occs[i..]);
            self.unknown_fields(&unknown, first);
        }
        self.scratch.push(occs);
        Ok(())
    }

    /// Records the paths of unknown fields and, with `--show-unknown`, writes them under
    /// [`UNKNOWN_KEY`] (once per object, inline messages' included).
    fn unknown_fields(&mut self, occs: &[Occ<'p>], first: &mut bool) {
        let mut numbers: Vec<u32> = occs.iter().map(|o| o.number).collect();
        numbers.sort_unstable();
        numbers.dedup();
        let base = self.path_text();
        for n in &numbers {
            self.unknown.push(if base.is_empty() { format!("#{n}") } else { format!("{base}.#{n}") });
        }
        if !self.opts.show_unknown {
            return;
        }
        self.raw_key(UNKNOWN_KEY, first);
        self.buf.push(b'{');
        for (k, n) in numbers.iter().enumerate() {
            if k > 0 {
                self.buf.push(b',');
            }
            self.string(&n.to_string());
            self.buf.extend_from_slice(b":[");
            for (j, o) in occs.iter().filter(|o| o.number == *n).enumerate() {
                if j > 0 {
                    self.buf.push(b',');
                }
                let (what, v) = match o.wire {
                    Wire::Varint(v) => ("varint", Sv::U(v)),
                    Wire::Fixed64(v) => ("fixed64", Sv::U(v)),
                    Wire::Fixed32(v) => ("fixed32", Sv::U(u64::from(v))),
                    Wire::Bytes(b) => ("bytes", Sv::Bytes(b)),
                };
                self.buf.push(b'{');
                self.string(what);
                self.buf.push(b':');
                if self.withhold_unknown {
                    let len = match v {
                        Sv::Bytes(b) => b.len().div_ceil(3) * 4,
                        Sv::U(n) => itoa::Buffer::new().format(n).len(),
                        _ => 0,
                    };
                    self.string(&redaction_marker(len));
                } else {
                    self.scalar(v);
                }
                self.buf.push(b'}');
            }
            self.buf.push(b']');
        }
        self.buf.push(b'}');
    }

    /// One known field with its occurrences (at least one).
    fn field(&mut self, f: &'p FieldPlan, group: &[Occ<'p>], first: &mut bool, ctx: Ctx) -> Result<(), String> {
        match f.shape {
            Shape::Single(Elem::Scalar(s)) => {
                let Some(last) = group.last() else { return Ok(()) };
                if let (Scalar::String, Wire::Bytes(b)) = (s, last.wire) {
                    if f.rule == Rule::Omit && b.is_empty() {
                        return Ok(());
                    }
                    self.key(f, first);
                    return self.utf8_string(b).map_err(|e| self.fail(e));
                }
                let v = scalar_value(s, last.wire).map_err(|e| self.fail(e))?;
                if f.rule == Rule::Omit && v.is_zero() {
                    return Ok(());
                }
                self.key(f, first);
                self.scalar(v);
            }
            Shape::Single(Elem::Message(m)) => {
                let inner = if ctx.top && &*f.json_name == "metadata" && self.plans.get(m).is_object_meta {
                    Ctx { resource_version: self.opts.resource_version, secret_meta: ctx.redact, ..Ctx::default() }
                } else {
                    Ctx { top: ctx.top && f.rule == Rule::Inline, inline: f.rule == Rule::Inline, ..Ctx::default() }
                };
                if group.len() > 1 {
                    // Repeated occurrences of a singular message merge: their concatenation
                    // is the merged message.
                    let mut merged = Vec::new();
                    for o in group {
                        merged.extend_from_slice(self.bytes_of(o)?);
                    }
                    return self.merged_message(f, m, &merged, first, inner);
                }
                let bytes = self.bytes_of(&group[0])?;
                match f.rule {
                    Rule::OmitZero if bytes.is_empty() => {}
                    Rule::Inline => self.fields(m, bytes, first, inner)?,
                    _ => {
                        self.key(f, first);
                        if inner.resource_version.is_some() || inner.secret_meta {
                            self.buf.push(b'{');
                            let mut inner_first = true;
                            self.fields(m, bytes, &mut inner_first, inner)?;
                            self.buf.push(b'}');
                        } else {
                            self.message(m, bytes)?;
                        }
                    }
                }
            }
            Shape::Repeated(elem) => {
                let before = self.buf.len();
                let was_first = *first;
                self.key(f, first);
                let n = self.list(elem, group)?;
                if n == 0 {
                    // A packed field with no values is an empty list: as if absent.
                    self.buf.truncate(before);
                    *first = was_first;
                    if f.rule == Rule::Null {
                        self.key(f, first);
                        self.buf.extend_from_slice(b"null");
                    }
                }
            }
            Shape::Map { key, value } => {
                self.key(f, first);
                let redact = if ctx.redact && matches!(&*f.json_name, "data" | "stringData") {
                    MapRedact::Values
                } else if ctx.secret_meta && &*f.json_name == "annotations" {
                    MapRedact::Key(LAST_APPLIED)
                } else {
                    MapRedact::None
                };
                self.map(key, value, group, redact)?;
            }
        }
        Ok(())
    }

    /// A singular message field that occurred several times, rendered from its merged bytes
    /// (which live shorter than the input, hence the writer of their own).
    fn merged_message(&mut self, f: &FieldPlan, m: usize, merged: &[u8], first: &mut bool, ctx: Ctx) -> Result<(), String> {
        let mut sub = self.sub();
        let mut sub_first = *first;
        match f.rule {
            Rule::OmitZero if merged.is_empty() => {}
            Rule::Inline => sub.fields(m, merged, &mut sub_first, ctx)?,
            _ => {
                sub.key(f, &mut sub_first);
                if ctx.resource_version.is_some() || ctx.secret_meta {
                    sub.buf.push(b'{');
                    let mut inner_first = true;
                    sub.fields(m, merged, &mut inner_first, ctx)?;
                    sub.buf.push(b'}');
                } else {
                    sub.message(m, merged)?;
                }
            }
        }
        // An inline message's unknown fields cannot outlive the merged bytes: their paths are
        // kept, their values not shown.
        let pending = std::mem::take(&mut sub.inline_unknown);
        if !pending.is_empty() {
            let opts = sub.opts;
            sub.opts.show_unknown = false;
            sub.unknown_fields(&pending, &mut sub_first);
            sub.opts = opts;
        }
        // `sub` wrote its own leading comma (if any) from `first`.
        self.buf.extend_from_slice(&sub.buf);
        self.unknown.extend(sub.unknown);
        *first = sub_first;
        Ok(())
    }

    /// A singular message from its occurrences (several merge: their concatenation is the
    /// merged message, rendered by a writer of its own as it lives shorter than the input).
    fn message_of(&mut self, m: usize, group: &[Occ<'p>]) -> Result<(), String> {
        if let [one] = group {
            let b = self.bytes_of(one)?;
            return self.message(m, b);
        }
        let mut merged = Vec::new();
        for o in group {
            merged.extend_from_slice(self.bytes_of(o)?);
        }
        let mut sub = self.sub();
        sub.message(m, &merged)?;
        self.buf.extend_from_slice(&sub.buf);
        self.unknown.extend(sub.unknown);
        Ok(())
    }

    fn bytes_of(&self, o: &Occ<'p>) -> Result<&'p [u8], String> {
        match o.wire {
            Wire::Bytes(b) => Ok(b),
            w => Err(self.fail(format!("{} value where the schema has a message", w.type_name()))),
        }
    }

    /// A repeated field's values as a JSON array; returns how many were written.
    fn list(&mut self, elem: Elem, group: &[Occ<'p>]) -> Result<usize, String> {
        self.buf.push(b'[');
        let mut n = 0;
        for o in group {
            match (elem, o.wire) {
                (Elem::Scalar(s), Wire::Bytes(b)) if is_packable(s) => {
                    for w in unpack(s, b).map_err(|e| self.fail(e))? {
                        let v = scalar_value(s, w).map_err(|e| self.fail(e))?;
                        if n > 0 {
                            self.buf.push(b',');
                        }
                        self.scalar(v);
                        n += 1;
                    }
                }
                (Elem::Scalar(s), w) => {
                    if n > 0 {
                        self.buf.push(b',');
                    }
                    self.path.push(Seg::Index(n));
                    let written = match (s, w) {
                        (Scalar::String, Wire::Bytes(b)) => self.utf8_string(b).map_err(|e| self.fail(e)),
                        _ => scalar_value(s, w).map_err(|e| self.fail(e)).map(|v| self.scalar(v)),
                    };
                    self.path.pop();
                    written?;
                    n += 1;
                }
                (Elem::Message(m), _) => {
                    if n > 0 {
                        self.buf.push(b',');
                    }
                    self.path.push(Seg::Index(n));
                    let r = self.bytes_of(o).and_then(|b| self.message(m, b));
                    self.path.pop();
                    r?;
                    n += 1;
                }
            }
        }
        self.buf.push(b']');
        Ok(n)
    }

    /// A map field as a JSON object with sorted keys (the last entry of a key wins).
    fn map(&mut self, key: Scalar, value: Elem, group: &[Occ<'p>], redact: MapRedact) -> Result<(), String> {
        let mut entries: Vec<(MapKey<'p>, Option<Wire<'p>>)> = Vec::with_capacity(group.len());
        for o in group {
            let entry = self.bytes_of(o)?;
            let (mut k, mut v) = (None, None);
            for f in fields(entry) {
                match f.map_err(|e| self.fail(e))? {
                    (1, w) => k = Some(w),
                    (2, w) => v = Some(w),
                    _ => {}
                }
            }
            let k = match k {
                Some(w) => scalar_value(key, w).map_err(|e| self.fail(e))?,
                None => zero(key),
            };
            let k = match k {
                Sv::Str(s) => MapKey::Str(s),
                Sv::I(n) => MapKey::Num(n.to_string()),
                Sv::U(n) => MapKey::Num(n.to_string()),
                Sv::Bool(b) => MapKey::Num(b.to_string()),
                _ => return Err(self.fail("map key of an unsupported type")),
            };
            entries.push((k, v));
        }
        // Stable: among equal keys the last entry stays last, and is the one kept.
        entries.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        self.buf.push(b'{');
        let mut first = true;
        for (i, (k, v)) in entries.iter().enumerate() {
            if entries.get(i + 1).is_some_and(|next| next.0.as_str() == k.as_str()) {
                continue;
            }
            self.raw_key(k.as_str(), &mut first);
            if let MapKey::Str(s) = k {
                self.path.push(Seg::MapKey(s));
            }
            let r = self.map_value(value, *v, redact.applies(k.as_str()));
            if matches!(k, MapKey::Str(_)) {
                self.path.pop();
            }
            r?;
        }
        self.buf.push(b'}');
        Ok(())
    }

    fn map_value(&mut self, value: Elem, v: Option<Wire<'p>>, redact: bool) -> Result<(), String> {
        match value {
            Elem::Scalar(s) => {
                let sv = match v {
                    Some(w) => scalar_value(s, w).map_err(|e| self.fail(e))?,
                    None => zero(s),
                };
                if redact {
                    let len = match sv {
                        Sv::Str(t) => t.len(),
                        Sv::Bytes(b) => b.len().div_ceil(3) * 4,
                        _ => 0,
                    };
                    self.string(&redaction_marker(len));
                } else {
                    self.scalar(sv);
                }
            }
            Elem::Message(m) => {
                let bytes = match v {
                    Some(Wire::Bytes(b)) => b,
                    None => &[],
                    Some(w) => return Err(self.fail(format!("{} value where the schema has a message", w.type_name()))),
                };
                self.message(m, bytes)?;
            }
        }
        Ok(())
    }

    // ---- apimachinery's special types ----

    fn special(&mut self, index: usize, bytes: &'p [u8]) -> Result<(), String> {
        let plans = self.plans;
        let plan = plans.get(index);
        // Last value of fields 1–3, which is all these types have.
        let mut last: [Option<Wire<'p>>; 4] = [None; 4];
        for f in fields(bytes) {
            let (n, w) = f.map_err(|e| self.fail(e))?;
            if let Some(slot) = last.get_mut(n as usize) {
                *slot = Some(w);
            }
        }
        let int = |w: Option<Wire<'_>>| match w {
            Some(Wire::Varint(v)) => Ok(v as i64),
            None => Ok(0),
            Some(w) => Err(format!("{} value where an integer belongs", w.type_name())),
        };
        let text = |w: Option<Wire<'p>>| match w {
            Some(Wire::Bytes(b)) => std::str::from_utf8(b).map(Some).map_err(|e| format!("string is not UTF-8 ({e})")),
            None => Ok(None),
            Some(w) => Err(format!("{} value where a string belongs", w.type_name())),
        };
        match plan.special {
            Special::None => {
                self.buf.push(b'{');
                let mut first = true;
                self.fields(index, bytes, &mut first, Ctx::default())?;
                self.buf.push(b'}');
            }
            Special::Time => match last[1] {
                Some(_) => {
                    let s = int(last[1]).map_err(|e| self.fail(e))?;
                    self.string(&time::rfc3339(s, None));
                }
                None => self.buf.extend_from_slice(b"null"),
            },
            Special::MicroTime => match last[1] {
                Some(_) => {
                    let s = int(last[1]).map_err(|e| self.fail(e))?;
                    let nanos = i64::from(int(last[2]).map_err(|e| self.fail(e))? as i32);
                    self.string(&time::rfc3339(s, Some(nanos)));
                }
                None => self.buf.extend_from_slice(b"null"),
            },
            Special::Duration => {
                let d = int(last[1]).map_err(|e| self.fail(e))?;
                self.string(&time::go_duration(d));
            }
            Special::RawJson => match last[1] {
                Some(Wire::Bytes(b)) => self.raw_json(b)?,
                None => self.buf.extend_from_slice(b"null"),
                Some(w) => return Err(self.fail(format!("{} value where embedded JSON belongs", w.type_name()))),
            },
            Special::IntOrString => {
                if int(last[1]).map_err(|e| self.fail(e))? == 1 {
                    let s = text(last[3]).map_err(|e| self.fail(e))?.unwrap_or("");
                    self.string(s);
                } else {
                    let n = i64::from(int(last[2]).map_err(|e| self.fail(e))? as i32);
                    self.scalar(Sv::I(n));
                }
            }
            Special::Quantity => {
                let s = text(last[1]).map_err(|e| self.fail(e))?.unwrap_or("0");
                self.string(s);
            }
            Special::PropsOrBool => {
                if !self.union_member(index, bytes, 2)? {
                    let b = int(last[1]).map_err(|e| self.fail(e))? != 0;
                    self.scalar(Sv::Bool(b));
                }
            }
            Special::PropsOrArray => {
                // Go: the list (JSONSchemas / Property) when not empty, else the schema, else null.
                if !self.union_member(index, bytes, 2)? && !self.union_member(index, bytes, 1)? {
                    self.buf.extend_from_slice(b"null");
                }
            }
            Special::NamedSlice => {
                let occs = self.scan(index, bytes)?;
                let n = match plan.fields.first() {
                    Some(FieldPlan { shape: Shape::Repeated(elem), .. }) => {
                        let known: Vec<Occ<'p>> = occs.iter().copied().filter(|o| o.slot == 0).collect();
                        Some((*elem, known))
                    }
                    _ => None,
                };
                self.scratch.push(occs);
                match n {
                    Some((elem, known)) => {
                        self.list(elem, &known)?;
                    }
                    None => self.buf.extend_from_slice(b"[]"),
                }
            }
        }
        Ok(())
    }

    /// Writes the value of field `number` of a union message if it is set; `false` if not.
    fn union_member(&mut self, index: usize, bytes: &'p [u8], number: u32) -> Result<bool, String> {
        let plans = self.plans;
        let plan = plans.get(index);
        let Some(slot) = plan.field_index(number) else { return Ok(false) };
        let f = &plan.fields[slot];
        let occs = self.scan(index, bytes)?;
        let group: Vec<Occ<'p>> = occs.iter().copied().filter(|o| o.slot == slot as u32).collect();
        self.scratch.push(occs);
        if group.is_empty() {
            return Ok(false);
        }
        match f.shape {
            Shape::Repeated(elem) => {
                self.list(elem, &group)?;
            }
            Shape::Single(Elem::Message(m)) => self.message_of(m, &group)?,
            Shape::Single(Elem::Scalar(s)) => {
                let v = scalar_value(s, group[group.len() - 1].wire).map_err(|e| self.fail(e))?;
                self.scalar(v);
            }
            Shape::Map { .. } => return Ok(false),
        }
        Ok(true)
    }
}

/// Appends valid JSON `b` without the whitespace between tokens (what Go's encoding/json does
/// to a Marshaler's output); strings are copied as they are.
/// Copies valid JSON without insignificant white space; returns its deepest nesting.
fn compact_json(b: &[u8], out: &mut Vec<u8>) -> usize {
    let (mut in_string, mut escaped) = (false, false);
    let (mut depth, mut deepest) = (0usize, 0usize);
    for &c in b {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
        } else if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            match c {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            out.push(c);
        }
    }
    deepest
}

/// An ASCII byte as a JSON string writes it when it cannot stand as itself, as serde_json
/// writes it: the quote, the backslash, `\b \f \n \r \t`, other control characters as
/// `\u00xx`. `None` for every other byte (written as it is). Every JSON string writer of ours
/// escapes through this table.
#[inline]
pub fn ascii_escape(b: u8) -> Option<Escaped> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let named = |c: u8| Some(Escaped { bytes: [b'\\', c, 0, 0, 0, 0], len: 2 });
    match b {
        b'"' => named(b'"'),
        b'\\' => named(b'\\'),
        b'\n' => named(b'n'),
        b'\r' => named(b'r'),
        b'\t' => named(b't'),
        0x08 => named(b'b'),
        0x0c => named(b'f'),
        0..=0x1f => Some(Escaped { bytes: [b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]], len: 6 }),
        _ => None,
    }
}

/// The escape [`ascii_escape`] gives: two or six bytes.
#[derive(Debug, Clone, Copy)]
pub struct Escaped {
    bytes: [u8; 6],
    len: usize,
}

impl Escaped {
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

pub mod time {
    //! Kubernetes' time formats.

    /// RFC 3339 in UTC: whole seconds (metav1.Time) or with 6 fraction digits (MicroTime).
    pub fn rfc3339(seconds: i64, nanos: Option<i64>) -> String {
        let days = seconds.div_euclid(86_400);
        let secs = seconds.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let base = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
        match nanos {
            None => format!("{base}Z"),
            Some(n) => format!("{base}.{:06}Z", n.rem_euclid(1_000_000_000) / 1000),
        }
    }

    /// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
    fn civil_from_days(z: i64) -> (i64, u32, u32) {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        (yoe + era * 400 + i64::from(m <= 2), m, d)
    }

    /// Go's time.Duration.String().
    pub fn go_duration(ns: i64) -> String {
        if ns == 0 {
            return "0s".into();
        }
        let neg = ns < 0;
        let u = ns.unsigned_abs();
        let body = if u < 1_000_000_000 {
            let (unit, div) = if u < 1_000 {
                ("ns", 1)
            } else if u < 1_000_000 {
                ("µs", 1_000)
            } else {
                ("ms", 1_000_000)
            };
            format!("{}{unit}", frac(u, div))
        } else {
            let (h, rem) = (u / 3_600_000_000_000, u % 3_600_000_000_000);
            let (m, rem) = (rem / 60_000_000_000, rem % 60_000_000_000);
            let s = frac(rem, 1_000_000_000);
            if h > 0 {
                format!("{h}h{m}m{s}s")
            } else if m > 0 {
                format!("{m}m{s}s")
            } else {
                format!("{s}s")
            }
        };
        if neg {
            format!("-{body}")
        } else {
            body
        }
    }

    /// `v / div` with the fraction's trailing zeros trimmed.
    fn frac(v: u64, div: u64) -> String {
        let whole = v / div;
        let rest = v % div;
        if rest == 0 {
            return whole.to_string();
        }
        let digits = div.trailing_zeros_decimal();
        let f = format!("{rest:0digits$}");
        format!("{whole}.{}", f.trim_end_matches('0'))
    }

    trait Decimal {
        fn trailing_zeros_decimal(self) -> usize;
    }
    impl Decimal for u64 {
        fn trailing_zeros_decimal(self) -> usize {
            let mut n = self;
            let mut d = 0;
            while n >= 10 {
                n /= 10;
                d += 1;
            }
            d
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn times() {
            assert_eq!(rfc3339(0, None), "1970-01-01T00:00:00Z");
            assert_eq!(rfc3339(1_700_000_000, None), "2023-11-14T22:13:20Z");
            assert_eq!(rfc3339(1_700_000_000, Some(123_456_789)), "2023-11-14T22:13:20.123456Z");
            assert_eq!(rfc3339(951_782_400, None), "2000-02-29T00:00:00Z");
        }

        #[test]
        fn durations() {
            assert_eq!(go_duration(0), "0s");
            assert_eq!(go_duration(1_500_000), "1.5ms");
            assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
            assert_eq!(go_duration(90_000_000_000), "1m30s");
            assert_eq!(go_duration(2_500_000_000), "2.5s");
            assert_eq!(go_duration(-1_000), "-1µs");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escapes(b: u8) -> bool {
        b < 0x20 || b == b'"' || b == b'\\'
    }

    #[test]
    fn needs_escape_matches_the_byte_rule_for_every_byte_and_position() {
        for b in 0..=255u8 {
            for pos in 0..8 {
                let mut word = *b"aZ ~\x7f\x80\xff0";
                word[pos] = b;
                let want = word.iter().any(|&x| escapes(x));
                assert_eq!(needs_escape(u64::from_le_bytes(word)), want, "byte {b:#x} at {pos} in {word:?}");
            }
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let plans = Plans::default();
        let mut samples: Vec<String> = vec![String::new(), "plain ascii, longer than eight bytes".into(), "é ü 漢字 🦀".into()];
        for b in 0..0x80u8 {
            samples.push(format!("0123456789{}abcdefghij{}", b as char, b as char));
            samples.push((b as char).to_string());
        }
        for s in &samples {
            let mut w = Writer::new(&plans, RenderOptions::default());
            w.string(s);
            assert_eq!(String::from_utf8(w.buf).unwrap(), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn protobuf_strings_are_checked_and_escaped_in_one_pass() {
        let plans = Plans::default();
        let render = |b: &[u8]| {
            let mut w = Writer::new(&plans, RenderOptions::default());
            w.utf8_string(b).map(|()| String::from_utf8(w.buf).unwrap())
        };
        let valid = [
            "",
            "ascii only",
            "0123456789abcdef\"\n",
            "é",
            "longer ascii prefix then é and 漢字 then \t",
            "🦀🦀🦀🦀 crab",
            "x\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}",
        ];
        for s in valid {
            assert_eq!(render(s.as_bytes()).unwrap(), serde_json::to_string(s).unwrap(), "{s:?}");
        }
        let invalid: [&[u8]; 6] =
            [b"\xff", b"abcdefgh\xc3", b"abcdefghijklmnop\xe6\xbc", b"\xc3\xa9\xff", b"ok \xed\xa0\x80 surrogate", b"12345678\xf8\x88\x80\x80\x80"];
        for b in invalid {
            let want = format!("string is not UTF-8 ({})", std::str::from_utf8(b).unwrap_err());
            assert_eq!(render(b).unwrap_err(), want, "{b:?}");
        }
    }
}
