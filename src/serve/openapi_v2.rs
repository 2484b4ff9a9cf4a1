//! OpenAPI v2 (Swagger 2.0) for the kubectl versions whose `explain` reads only it (before
//! 1.27; Debian's 1.20 among them): the schemas of the v3 documents ([`super::openapi`]), put
//! into one `definitions` map and simplified to what v2 can say, as the API server publishes
//! its own: a `$ref` alone, one `type`, one `items` schema per array, `additionalProperties`
//! as a schema; Quantity and IntOrString as strings; what v2 cannot say (`oneOf`, `anyOf`,
//! `nullable`, an array without `items`) left out, which leaves an arbitrary value.
//!
//! client-go asks for it as protobuf (gnostic's `openapi_v2.Document`) and parses it before `explain`
//! runs: one schema it cannot parse fails every `explain`, so every schema written here is one
//! of the forms above. Others get it as JSON.

use serde_json::{json, Map, Value};

/// The media type the protobuf is sent as. client-go asks for
/// `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, but Go's media-type parser
/// refuses the `@` in a response's Content-Type, so the API server answers with this spelling.
pub const PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// Nesting followed in one schema (built-in components nest a few levels, their fields being
/// references; CRD schemas are already bounded when read).
const MAX_DEPTH: usize = 256;

/// The v2 document of `components` (v3 schemas by name).
pub fn document(components: &Map<String, Value>, version: &str) -> Value {
    let definitions: Map<String, Value> = components.iter().map(|(name, schema)| (name.clone(), schema_v2(schema, 0))).collect();
    json!({ "swagger": "2.0", "info": { "title": "Kubernetes", "version": version }, "paths": {}, "definitions": definitions })
}

/// A v3 schema as v2 says it.
fn schema_v2(s: &Value, depth: usize) -> Value {
    let Some(s) = s.as_object().filter(|_| depth < MAX_DEPTH) else { return json!({}) };
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        return json!({ "$ref": r.replace("#/components/schemas/", "#/definitions/") });
    }
    let mut out = Map::new();
    for key in ["description", "format", "x-kubernetes-group-version-kind"] {
        if let Some(v) = s.get(key).filter(|v| key == "x-kubernetes-group-version-kind" || v.is_string()) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(required) = s.get("required").and_then(Value::as_array).filter(|r| r.iter().all(Value::is_string)) {
        out.insert("required".into(), Value::Array(required.clone()));
    }
    let one_of_types = s.get("oneOf").and_then(Value::as_array).is_some_and(|alts| alts.iter().any(|a| a.get("type") == Some(&json!("string"))));
    match s.get("type").and_then(Value::as_str) {
        Some("array") => {
            if let Some(items) = s.get("items").filter(|i| i.is_object()) {
                out.insert("type".into(), json!("array"));
                out.insert("items".into(), schema_v2(items, depth + 1));
            }
        }
        Some(t @ ("object" | "string" | "integer" | "number" | "boolean")) => {
            out.insert("type".into(), json!(t));
        }
        // Quantity and IntOrString: a string or a number, which v2 writes as a string.
        None if one_of_types => {
            out.insert("type".into(), json!("string"));
        }
        _ => {}
    }
    let is_object = out.get("type") == Some(&json!("object"));
    if let Some(props) = s.get("properties").and_then(Value::as_object).filter(|_| is_object || !out.contains_key("type")) {
        let props: Map<String, Value> = props.iter().map(|(k, v)| (k.clone(), schema_v2(v, depth + 1))).collect();
        out.insert("type".into(), json!("object"));
        out.insert("properties".into(), Value::Object(props));
    } else if let Some(extra) = s.get("additionalProperties").filter(|a| a.is_object() && (is_object || !out.contains_key("type"))) {
        out.insert("type".into(), json!("object"));
        out.insert("additionalProperties".into(), schema_v2(extra, depth + 1));
    }
    Value::Object(out)
}

/// The v2 document as gnostic's protobuf `openapi_v2.Document`.
pub fn protobuf(doc: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    string_field(&mut out, 1, doc["swagger"].as_str().unwrap_or("2.0"));
    let mut info = Vec::new();
    string_field(&mut info, 1, doc["info"]["title"].as_str().unwrap_or(""));
    string_field(&mut info, 2, doc["info"]["version"].as_str().unwrap_or(""));
    message_field(&mut out, 2, &info);
    let mut definitions = Vec::new();
    for (name, schema) in doc["definitions"].as_object().into_iter().flatten() {
        message_field(&mut definitions, 1, &named_schema(name, schema, 0));
    }
    message_field(&mut out, 9, &definitions);
    out
}

/// gnostic's NamedSchema: name 1, value 2.
fn named_schema(name: &str, schema: &Value, depth: usize) -> Vec<u8> {
    let mut out = Vec::new();
    string_field(&mut out, 1, name);
    message_field(&mut out, 2, &schema_protobuf(schema, depth));
    out
}

/// gnostic's Schema message, for the keys [`schema_v2`] writes.
fn schema_protobuf(s: &Value, depth: usize) -> Vec<u8> {
    let mut out = Vec::new();
    if depth >= MAX_DEPTH {
        return out;
    }
    let text = |key: &str| s.get(key).and_then(Value::as_str);
    if let Some(r) = text("$ref") {
        string_field(&mut out, 1, r);
    }
    if let Some(f) = text("format") {
        string_field(&mut out, 2, f);
    }
    if let Some(d) = text("description") {
        string_field(&mut out, 4, d);
    }
    for r in s.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        string_field(&mut out, 19, r);
    }
    if let Some(extra) = s.get("additionalProperties") {
        let mut item = Vec::new();
        message_field(&mut item, 1, &schema_protobuf(extra, depth + 1));
        message_field(&mut out, 21, &item);
    }
    if let Some(t) = text("type") {
        let mut item = Vec::new();
        string_field(&mut item, 1, t);
        message_field(&mut out, 22, &item);
    }
    if let Some(items) = s.get("items") {
        let mut item = Vec::new();
        message_field(&mut item, 1, &schema_protobuf(items, depth + 1));
        message_field(&mut out, 23, &item);
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        let mut properties = Vec::new();
        for (name, p) in props {
            message_field(&mut properties, 1, &named_schema(name, p, depth + 1));
        }
        message_field(&mut out, 25, &properties);
    }
    if let Some(gvk) = s.get("x-kubernetes-group-version-kind") {
        // NamedAny { name 1, value 2: Any { yaml 2 } }; JSON is YAML.
        let mut any = Vec::new();
        string_field(&mut any, 2, &gvk.to_string());
        let mut named = Vec::new();
        string_field(&mut named, 1, "x-kubernetes-group-version-kind");
        message_field(&mut named, 2, &any);
        message_field(&mut out, 31, &named);
    }
    out
}

fn string_field(out: &mut Vec<u8>, number: u32, s: &str) {
    message_field(out, number, s.as_bytes());
}

/// A length-delimited field (wire type 2).
fn message_field(out: &mut Vec<u8>, number: u32, bytes: &[u8]) {
    varint(out, u64::from(number) << 3 | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_forms_become_the_v2_forms_kubectl_parses() {
        let v3 = json!({
            "A": {"type": "object", "properties": {
                "r": {"$ref": "#/components/schemas/B"},
                "list": {"type": "array", "items": {"type": "string"}},
                "untyped": {"type": "array"},
                "m": {"type": "object", "additionalProperties": {"type": "integer", "format": "int32"}},
                "n": {"nullable": true, "anyOf": [{"type": "integer"}, {"type": "string"}]}},
                "x-kubernetes-group-version-kind": [{"group": "", "kind": "A", "version": "v1"}]},
            "B": {"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]},
        });
        let doc = document(v3.as_object().unwrap(), "v1.36.0");
        let a = &doc["definitions"]["A"];
        assert_eq!(a["properties"]["r"], json!({"$ref": "#/definitions/B"}));
        assert_eq!(a["properties"]["list"], json!({"type": "array", "items": {"type": "string"}}));
        assert_eq!(a["properties"]["untyped"], json!({}));
        assert_eq!(a["properties"]["m"], json!({"type": "object", "additionalProperties": {"type": "integer", "format": "int32"}}));
        assert_eq!(a["properties"]["n"], json!({}));
        assert_eq!(doc["definitions"]["B"], json!({"type": "string", "format": "int-or-string"}));
        let pb = protobuf(&doc);
        // Document.swagger (field 1), then info (2), then definitions (9).
        assert_eq!(&pb[..5], b"\x0a\x032.0");
        assert!(pb.windows(31).any(|w| w == b"x-kubernetes-group-version-kind"));
    }
}
