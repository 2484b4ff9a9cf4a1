//! Rendering plans: for every message of the schema pool, what the JSON writer needs to know of
//! each field (number, JSON key, shape, Go's encoding rule) and whether the message is one of
//! apimachinery's types with a JSON form of its own. Built once per schema pool, so rendering an
//! object is a walk over its wire bytes with table lookups, with no reflection per object.

use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};
use std::collections::HashMap;

/// A protobuf scalar type, as the wire and JSON see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    Double,
    Float,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
    String,
    Bytes,
    Enum,
}

/// What one value of a field is: a scalar, or a message (an index into [`Plans`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    Scalar(Scalar),
    Message(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Single(Elem),
    Repeated(Elem),
    Map { key: Scalar, value: Elem },
}

/// How Go's encoding/json treats the field (from its struct tag), which decides what is shown
/// when the value is zero or absent. gogo writes every non-pointer field, zero or not, so a zero
/// on the wire says nothing by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// `omitempty` on a non-pointer: zero scalars are not shown.
    Omit,
    /// Zero values are shown (a pointer, or no `omitempty`).
    Keep,
    /// No `omitempty` on a slice, map or `[]byte`: shown as `null` when empty.
    Null,
    /// `omitzero` on a struct: not shown when the struct is zero (empty on the wire).
    OmitZero,
    /// `json:",inline"`: the message's fields appear in the parent object.
    Inline,
}

/// Messages whose JSON is not an object of their fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    None,
    /// metav1.Time: RFC 3339 seconds, `null` when unset.
    Time,
    /// metav1.MicroTime: RFC 3339 with microseconds.
    MicroTime,
    /// metav1.Duration: Go's duration string.
    Duration,
    /// Embedded JSON in field 1 (FieldsV1, RawExtension, apiextensions JSON).
    RawJson,
    IntOrString,
    Quantity,
    /// apiextensions JSONSchemaPropsOrBool: the schema (field 2) or the bool (field 1).
    PropsOrBool,
    /// apiextensions JSONSchemaPropsOrArray / OrStringArray: field 1, else field 2.
    PropsOrArray,
    /// A Go named slice (`ExtraValue []string`): one repeated scalar `items`, a plain array.
    NamedSlice,
}

#[derive(Debug)]
pub struct FieldPlan {
    pub number: u32,
    pub json_name: Box<str>,
    /// `"jsonName":`, escaped once.
    pub key: Box<str>,
    pub shape: Shape,
    pub rule: Rule,
}

#[derive(Debug)]
pub struct MessagePlan {
    pub full_name: Box<str>,
    pub special: Special,
    /// In declaration order, which is the order Go writes them.
    pub fields: Vec<FieldPlan>,
    /// (field number, index into `fields`), sorted by number.
    by_number: Vec<(u32, u32)>,
    /// Index into `fields` by field number, for the numbers below [`DENSE_NUMBERS`]
    /// (`u32::MAX`: no such field); looking a field up is per field of every object.
    dense: Box<[u32]>,
    /// Some field is shown as `null` when absent.
    pub has_null_rule: bool,
    /// metav1.ObjectMeta (where the API server sets resourceVersion on read).
    pub is_object_meta: bool,
}

impl MessagePlan {
    /// The index in `fields` of field `number`.
    pub fn field_index(&self, number: u32) -> Option<usize> {
        if let Some(&i) = self.dense.get(number as usize) {
            return (i != u32::MAX).then_some(i as usize);
        }
        self.by_number.binary_search_by_key(&number, |&(n, _)| n).ok().map(|i| self.by_number[i].1 as usize)
    }
}

/// Plans for every message of a pool, by index; `index` maps full names to indexes.
#[derive(Debug, Default)]
pub struct Plans {
    messages: Vec<MessagePlan>,
    index: HashMap<String, usize>,
}

const META: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.";
const APIEXT: &str = "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.";

impl Plans {
    pub fn build(pool: &DescriptorPool) -> Plans {
        let index: HashMap<String, usize> = pool.all_messages().enumerate().map(|(i, m)| (m.full_name().to_string(), i)).collect();
        let messages = pool.all_messages().map(|m| plan(&m, &index)).collect();
        Plans { messages, index }
    }

    pub fn get(&self, i: usize) -> &MessagePlan {
        &self.messages[i]
    }

    pub fn index_of(&self, full_name: &str) -> Option<usize> {
        self.index.get(full_name).copied()
    }
}

/// Field numbers below this are looked up in a table (Kubernetes' messages number their fields
/// from 1, rarely past 40); the rest by binary search.
const DENSE_NUMBERS: usize = 64;

fn plan(m: &MessageDescriptor, index: &HashMap<String, usize>) -> MessagePlan {
    let full_name = m.full_name();
    let fields: Vec<FieldPlan> = m.fields().map(|f| field_plan(&f, index)).collect();
    let mut by_number: Vec<(u32, u32)> = fields.iter().enumerate().map(|(i, f)| (f.number, i as u32)).collect();
    by_number.sort_unstable();
    let dense_len = by_number.iter().map(|&(n, _)| n as usize + 1).filter(|&n| n <= DENSE_NUMBERS).max().unwrap_or(0);
    let mut dense = vec![u32::MAX; dense_len];
    for &(n, i) in &by_number {
        if let Some(slot) = dense.get_mut(n as usize) {
            *slot = i;
        }
    }
    let special = special(full_name, &fields);
    MessagePlan {
        full_name: full_name.into(),
        special,
        has_null_rule: fields.iter().any(|f| f.rule == Rule::Null),
        is_object_meta: full_name == "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        fields,
        by_number,
        dense: dense.into(),
    }
}

fn special(full_name: &str, fields: &[FieldPlan]) -> Special {
    if let Some(short) = full_name.strip_prefix(META) {
        match short {
            "Time" => return Special::Time,
            "MicroTime" => return Special::MicroTime,
            "Duration" => return Special::Duration,
            "FieldsV1" => return Special::RawJson,
            _ => {}
        }
    }
    match full_name {
        "k8s.io.apimachinery.pkg.util.intstr.IntOrString" => return Special::IntOrString,
        "k8s.io.apimachinery.pkg.api.resource.Quantity" => return Special::Quantity,
        "k8s.io.apimachinery.pkg.runtime.RawExtension" => return Special::RawJson,
        _ => {}
    }
    if let Some(rest) = full_name.strip_prefix(APIEXT) {
        // v1.JSON, v1beta1.JSON, …
        match rest.split_once('.').map(|(_, short)| short) {
            Some("JSON") => return Special::RawJson,
            Some("JSONSchemaPropsOrBool") => return Special::PropsOrBool,
            Some("JSONSchemaPropsOrArray" | "JSONSchemaPropsOrStringArray") => return Special::PropsOrArray,
            _ => {}
        }
    }
    // Go's named slice types (authentication's `ExtraValue []string`, …) are wrapped in a
    // message with one repeated scalar `items` field on the wire, and are plain arrays in JSON.
    // (A struct whose only field is a list of messages, like DownwardAPIProjection, stays an
    // object.)
    if let [only] = fields {
        if &*only.json_name == "items" && matches!(only.shape, Shape::Repeated(Elem::Scalar(_))) {
            return Special::NamedSlice;
        }
    }
    Special::None
}

fn field_plan(f: &FieldDescriptor, index: &HashMap<String, usize>) -> FieldPlan {
    let elem = |kind: Kind| match kind {
        // Every message a field refers to is in the same pool; were one missing, its bytes
        // would still be shown (as base64) rather than dropped.
        Kind::Message(m) => index.get(m.full_name()).map_or(Elem::Scalar(Scalar::Bytes), |&i| Elem::Message(i)),
        k => Elem::Scalar(scalar(&k)),
    };
    let shape = if f.is_map() {
        match f.kind() {
            Kind::Message(entry) => Shape::Map { key: scalar(&entry.map_entry_key_field().kind()), value: elem(entry.map_entry_value_field().kind()) },
            k => Shape::Single(elem(k)),
        }
    } else if f.is_list() {
        Shape::Repeated(elem(f.kind()))
    } else {
        Shape::Single(elem(f.kind()))
    };
    let json_name = f.json_name();
    let key = format!("{}:", serde_json::Value::String(json_name.to_string()));
    FieldPlan { number: f.number(), json_name: json_name.into(), key: key.into(), shape, rule: rule(f, shape) }
}

fn scalar(k: &Kind) -> Scalar {
    match k {
        Kind::Double => Scalar::Double,
        Kind::Float => Scalar::Float,
        Kind::Int32 => Scalar::Int32,
        Kind::Int64 => Scalar::Int64,
        Kind::Uint32 => Scalar::Uint32,
        Kind::Uint64 => Scalar::Uint64,
        Kind::Sint32 => Scalar::Sint32,
        Kind::Sint64 => Scalar::Sint64,
        Kind::Fixed32 => Scalar::Fixed32,
        Kind::Fixed64 => Scalar::Fixed64,
        Kind::Sfixed32 => Scalar::Sfixed32,
        Kind::Sfixed64 => Scalar::Sfixed64,
        Kind::Bool => Scalar::Bool,
        Kind::String => Scalar::String,
        Kind::Bytes => Scalar::Bytes,
        // Map entries and messages are handled by the caller; enums are numbers.
        Kind::Enum(_) | Kind::Message(_) => Scalar::Enum,
    }
}

/// The field's rule: Go's struct tag facts when the generated list has them (every Kubernetes
/// type, inline embeddings included), else a fallback for types without facts (`--proto-path`):
/// zero strings and bools hidden, zero numbers shown, nothing inlined.
fn rule(f: &FieldDescriptor, shape: Shape) -> Rule {
    if let Some(r) = super::required::rule(f.parent_message().full_name(), f.number()) {
        return r;
    }
    match shape {
        Shape::Single(Elem::Scalar(Scalar::String | Scalar::Bool)) => Rule::Omit,
        _ => Rule::Keep,
    }
}
