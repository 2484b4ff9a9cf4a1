//! Protobuf → the JSON kube-apiserver serves. The object's message is decoded with its schema
//! (prost-reflect) and written with Kubernetes' JSON conventions: JSON field names from the
//! schema, apimachinery's special types (Time, MicroTime, Duration, IntOrString, Quantity,
//! RawExtension, FieldsV1, apiextensions' JSON unions), bytes as base64, maps with sorted keys,
//! 64-bit integers as numbers. Fields the schema does not name are never dropped silently:
//! their paths are reported, and rendered under a marked key on request.

use super::schema::Schemas;
use base64::Engine;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage, Value as PValue};
use serde_json::{Map, Number, Value};

const META: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.";
const APIEXT: &str = "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1";
/// Key under which `--show-unknown` renders fields the schema does not name.
pub const UNKNOWN_KEY: &str = "__unknownFields__";

#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    pub show_unknown: bool,
}

/// A rendered object and the paths of fields the schema did not name (`spec.template.#42`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub json: Value,
    pub unknown_fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("no schema for {api_version} {kind} (add .proto files with --proto-path)")]
    NoSchema { api_version: String, kind: String },
    #[error("{api_version} {kind}: protobuf does not match the schema: {reason}")]
    Malformed { api_version: String, kind: String, reason: String },
}

/// Renders the object in a runtime.Unknown envelope: apiVersion and kind first, then its fields.
pub fn render_object(schemas: &Schemas, api_version: &str, kind: &str, raw: &[u8], opts: RenderOptions) -> Result<Rendered, DecodeError> {
    let desc = schemas
        .for_type(api_version, kind)
        .ok_or_else(|| DecodeError::NoSchema { api_version: api_version.into(), kind: kind.into() })?;
    let mut r = render_message_bytes(&desc, raw, opts)
        .map_err(|reason| DecodeError::Malformed { api_version: api_version.into(), kind: kind.into(), reason })?;
    if let Value::Object(fields) = &mut r.json {
        let mut obj = Map::new();
        obj.insert("apiVersion".into(), Value::String(api_version.into()));
        obj.insert("kind".into(), Value::String(kind.into()));
        obj.append(fields);
        r.json = Value::Object(obj);
    }
    Ok(r)
}

/// Renders one message of type `desc` from its wire bytes.
pub fn render_message_bytes(desc: &MessageDescriptor, raw: &[u8], opts: RenderOptions) -> Result<Rendered, String> {
    let msg = DynamicMessage::decode(desc.clone(), raw).map_err(|e| e.to_string())?;
    let mut w = Writer { opts, unknown: Vec::new() };
    let json = w.message(&msg, "");
    Ok(Rendered { json, unknown_fields: w.unknown })
}

struct Writer {
    opts: RenderOptions,
    unknown: Vec<String>,
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

impl Writer {
    fn message(&mut self, msg: &DynamicMessage, path: &str) -> Value {
        let desc = msg.descriptor();
        if let Some(v) = self.special(&desc, msg, path) {
            return v;
        }
        // Go's named slice types (authentication's `ExtraValue []string`, …) are wrapped in a
        // message with one repeated scalar `items` field on the wire, and are plain arrays in
        // JSON. (A struct whose only field is a list of messages, like DownwardAPIProjection,
        // stays an object.)
        let mut fields = desc.fields();
        if let (Some(only), None) = (fields.next(), fields.next()) {
            if only.name() == "items" && only.is_list() && !matches!(only.kind(), Kind::Message(_)) {
                let items = msg.get_field(&only);
                return self.field_value(&only, &items, path);
            }
        }
        let mut obj = Map::new();
        self.fields_into(msg, path, &mut obj);
        Value::Object(obj)
    }

    fn fields_into(&mut self, msg: &DynamicMessage, path: &str, obj: &mut Map<String, Value>) {
        for field in msg.descriptor().fields() {
            if !msg.has_field(&field) {
                continue;
            }
            let value = msg.get_field(&field);
            // gogo writes every non-pointer scalar, zero or not; Go's omitempty hides zero
            // strings and bools unless the field is required. (Optional numbers are nearly
            // always pointers in Kubernetes, where 0 is meaningful, so they stay.)
            if is_omitted_zero(&field, &value) {
                continue;
            }
            let name = field.json_name().to_string();
            if is_inline(&field) {
                if let PValue::Message(inner) = value.as_ref() {
                    self.fields_into(inner, path, obj);
                    continue;
                }
            }
            let rendered = self.field_value(&field, &value, &join(path, &name));
            obj.insert(name, rendered);
        }
        let unknown: Vec<u32> = msg.unknown_fields().map(|f| f.number()).collect();
        if !unknown.is_empty() {
            for n in &unknown {
                self.unknown.push(join(path, &format!("#{n}")));
            }
            if self.opts.show_unknown {
                let numbers = unknown.iter().map(|n| Value::Number((*n).into())).collect();
                obj.insert(UNKNOWN_KEY.into(), Value::Array(numbers));
            }
        }
    }

    fn field_value(&mut self, field: &FieldDescriptor, value: &PValue, path: &str) -> Value {
        match value {
            PValue::List(items) => {
                Value::Array(items.iter().enumerate().map(|(i, v)| self.scalar_or_message(&field.kind(), v, &format!("{path}[{i}]"))).collect())
            }
            PValue::Map(entries) => {
                let value_kind = match field.kind() {
                    Kind::Message(entry) => entry.map_entry_value_field().kind(),
                    k => k,
                };
                let mut keyed: Vec<(String, &PValue)> = entries.iter().map(|(k, v)| (map_key(k), v)).collect();
                keyed.sort_by(|a, b| a.0.cmp(&b.0));
                let mut obj = Map::new();
                for (k, v) in keyed {
                    let p = format!("{path}[{k}]");
                    obj.insert(k, self.scalar_or_message(&value_kind, v, &p));
                }
                Value::Object(obj)
            }
            v => self.scalar_or_message(&field.kind(), v, path),
        }
    }

    fn scalar_or_message(&mut self, _kind: &Kind, value: &PValue, path: &str) -> Value {
        match value {
            PValue::Message(m) => self.message(m, path),
            PValue::Bool(b) => Value::Bool(*b),
            PValue::I32(n) => Value::Number((*n).into()),
            PValue::I64(n) => Value::Number((*n).into()),
            PValue::U32(n) => Value::Number((*n).into()),
            PValue::U64(n) => Value::Number((*n).into()),
            PValue::F32(f) => go_float(f64::from(*f)),
            PValue::F64(f) => go_float(*f),
            PValue::String(s) => Value::String(s.clone()),
            PValue::Bytes(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
            PValue::EnumNumber(n) => Value::Number((*n).into()),
            PValue::List(_) | PValue::Map(_) => Value::Null,
        }
    }

    /// apimachinery and apiextensions types whose JSON is not their fields.
    fn special(&mut self, desc: &MessageDescriptor, msg: &DynamicMessage, path: &str) -> Option<Value> {
        let name = desc.full_name();
        let field = |n: u32| desc.get_field(n).map(|f| (msg.has_field(&f), msg.get_field(&f).into_owned()));
        let int = |n: u32| match field(n) {
            Some((_, PValue::I64(v))) => v,
            Some((_, PValue::I32(v))) => i64::from(v),
            _ => 0,
        };
        let bytes = |n: u32| match field(n) {
            Some((true, PValue::Bytes(b))) => Some(b.to_vec()),
            _ => None,
        };
        if let Some(short) = name.strip_prefix(META) {
            return match short {
                "Time" => Some(match field(1) {
                    Some((true, _)) => Value::String(time::rfc3339(int(1), None)),
                    _ => Value::Null,
                }),
                "MicroTime" => Some(match field(1) {
                    Some((true, _)) => Value::String(time::rfc3339(int(1), Some(int(2)))),
                    _ => Value::Null,
                }),
                "Duration" => Some(Value::String(time::go_duration(int(1)))),
                "FieldsV1" => Some(bytes(1).map(|b| raw_json(&b)).unwrap_or(Value::Null)),
                _ => None,
            };
        }
        match name {
            "k8s.io.apimachinery.pkg.util.intstr.IntOrString" => Some(if int(1) == 1 {
                match field(3) {
                    Some((_, PValue::String(s))) => Value::String(s),
                    _ => Value::String(String::new()),
                }
            } else {
                Value::Number(int(2).into())
            }),
            "k8s.io.apimachinery.pkg.api.resource.Quantity" => Some(match field(1) {
                Some((_, PValue::String(s))) => Value::String(s),
                _ => Value::String("0".into()),
            }),
            "k8s.io.apimachinery.pkg.runtime.RawExtension" => Some(bytes(1).map(|b| raw_json(&b)).unwrap_or(Value::Null)),
            n if n.starts_with(APIEXT) => {
                let short = &n[APIEXT.len()..];
                let sub = |num: u32, w: &mut Writer| match desc.get_field(num) {
                    Some(f) if msg.has_field(&f) => Some(w.field_value(&f, &msg.get_field(&f), path)),
                    _ => None,
                };
                match short {
                    ".JSON" => Some(bytes(1).map(|b| raw_json(&b)).unwrap_or(Value::Null)),
                    ".JSONSchemaPropsOrBool" => Some(sub(2, self).unwrap_or_else(|| match field(1) {
                        Some((_, PValue::Bool(b))) => Value::Bool(b),
                        _ => Value::Bool(false),
                    })),
                    ".JSONSchemaPropsOrArray" | ".JSONSchemaPropsOrStringArray" => {
                        Some(sub(1, self).or_else(|| sub(2, self)).unwrap_or(Value::Null))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

fn is_omitted_zero(field: &FieldDescriptor, value: &PValue) -> bool {
    let zero = match value {
        PValue::String(s) => s.is_empty(),
        PValue::Bool(b) => !b,
        _ => false,
    };
    zero && !field.is_list() && !super::required::is_required(field.parent_message().full_name(), field.json_name())
}

/// Embedded JSON bytes as a JSON value (a string when they are not JSON).
fn raw_json(b: &[u8]) -> Value {
    serde_json::from_slice(b).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b).into_owned()))
}

fn map_key(k: &MapKey) -> String {
    match k {
        MapKey::String(s) => s.clone(),
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
    }
}

/// Go's encoding/json float format: integral values without a fraction.
fn go_float(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        return Value::Number(Number::from(f as i64));
    }
    Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)
}

/// Fields whose message Go embeds inline: their fields appear in the parent object.
fn is_inline(field: &FieldDescriptor) -> bool {
    const INLINE: &[&str] = &[
        "volumeSource",
        "persistentVolumeSource",
        "handler",
        "probeHandler",
        "localObjectReference",
        "ingressRuleValue",
        "ruleWithOperations",
        "rule",
        "deviceConfiguration",
        "typeMeta",
        "ephemeralContainerCommon",
    ];
    // The generator names such fields after the proto field (no JSON name of their own).
    matches!(field.kind(), Kind::Message(_)) && INLINE.contains(&field.json_name()) && field.name() == field.json_name()
}

mod time {
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
            let (unit, div) = if u < 1_000 { ("ns", 1) } else if u < 1_000_000 { ("µs", 1_000) } else { ("ms", 1_000_000) };
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
