//! OpenAPI v3 documents for `kubectl explain`, generated from the schemas the decoder uses and
//! from the served catalogue, so `explain` prints the field names and types of the objects
//! `serve` returns.
//!
//! kubectl (1.27 and later) asks `/openapi/v3` for the list of group versions, then the one
//! group version's document, and finds the kind in two steps: a path of the resource
//! (`/api/v1/namespaces/{namespace}/pods`) whose `get` operation names the kind in
//! `x-kubernetes-group-version-kind`, then the `components.schemas` entry carrying the same
//! group-version-kind. It prints a field's type from the schema: `$ref` names the type
//! (`PodSpec`), `items` makes a list, `additionalProperties` a map. Only when `/openapi/v3`
//! fails does it fall back to `/openapi/v2`; older kubectl (before 1.27) reads only v2, which
//! is the same schemas in one document ([`super::openapi_v2`]).
//!
//! Built-in types come from the embedded protobuf descriptors through the decoder's rendering
//! plans: a field's JSON name and shape (scalar, list, map, message) are the ones the decoder
//! writes, inline embeddings are flattened as Go writes them, and apimachinery's types with a
//! JSON form of their own (Time, Quantity, IntOrString, …) get the schemas the API server
//! gives them. Every referenced message becomes one component, found by a worklist, so
//! self-referencing types (JSONSchemaProps) cost one entry each and nothing recurses on them.
//! The descriptors carry no comments: descriptions are empty, and fields are never marked
//! required (a Go `omitempty` says nothing about what the API server requires). Custom
//! resources get their CRD's `openAPIV3Schema` for the served (storage) version, read from the
//! snapshot at the served revision, with `apiVersion`, `kind` and `metadata` added as the API
//! server adds them.
//!
//! The documents are built once per context, on the first request, and kept.

use super::context::Context;
use super::discovery::{etag, Discovery, Served};
use super::openapi_v2;
use super::status::Status;
use crate::etcd::KeyRange;
use crate::k8s::decoder::Decoded;
use crate::k8s::plan::{Elem, MessagePlan, Plans, Rule, Scalar, Shape, Special};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

/// Inline embeddings followed inside one message (Kubernetes nests them at most two deep).
const MAX_INLINE_DEPTH: usize = 8;
/// Nesting of a CRD's schema beyond which it is not served (a schema from the snapshot is
/// input; real ones nest a few dozen levels at most).
pub const MAX_CRD_SCHEMA_DEPTH: usize = 128;
/// Where components live, as `$ref`s name them.
const COMPONENTS: &str = "#/components/schemas/";
const OBJECT_META: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// One context's documents: the `/openapi/v3` index and each group version's document, by
/// its path (`api/v1`, `apis/apps/v1`).
pub struct OpenApi {
    pub root: Vec<u8>,
    pub documents: BTreeMap<String, Vec<u8>>,
    /// `/openapi/v2` as JSON and as protobuf ([`super::openapi_v2`]).
    pub v2_json: Vec<u8>,
    pub v2_protobuf: Vec<u8>,
}

/// The answer to `/openapi/<path>` (`v2`, `v3`, `v3/api/v1`, …) for a request accepting
/// `accept`: the body and its Content-Type.
pub fn answer(ctx: &'static Context, discovery: &'static Discovery, path: &str, accept: Option<&str>) -> Result<(Vec<u8>, &'static str), Status> {
    if path == "v2" {
        let docs = documents(ctx, discovery);
        return Ok(match accept {
            Some(a) if a.contains("protobuf") => (docs.v2_protobuf.clone(), openapi_v2::PROTOBUF),
            _ => (docs.v2_json.clone(), "application/json"),
        });
    }
    match path.strip_prefix("v3") {
        Some("") => Ok((documents(ctx, discovery).root.clone(), "application/json")),
        Some(rest) => {
            let key = rest.trim_start_matches('/');
            documents(ctx, discovery)
                .documents
                .get(key)
                .map(|d| (d.clone(), "application/json"))
                .ok_or_else(|| Status::not_found(format!("no OpenAPI v3 document for {key:?}: the served group versions are listed at /openapi/v3")))
        }
        None => Err(Status::not_found("the server could not find the requested resource")),
    }
}

/// The documents of `ctx`, built on first use. Contexts live as long as the server, so they
/// are told apart by address.
pub fn documents(ctx: &'static Context, discovery: &'static Discovery) -> &'static OpenApi {
    static BUILT: OnceLock<Mutex<HashMap<usize, &'static OpenApi>>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let key = ctx as *const Context as usize;
    built.entry(key).or_insert_with(|| Box::leak(Box::new(build(discovery, ctx.decoder.schemas.plans(), &|s| crd_schema(ctx, s), ctx))))
}

/// What a served resource's schema is made from.
enum KindSchema {
    /// A message of the schema pool (index into the plans).
    Message(usize),
    /// A custom resource's schema, as its CRD gives it (or the reason it cannot be used).
    Crd(Result<Value, String>),
    Unknown,
}

/// Builds every group version's document and the index.
fn build(discovery: &Discovery, plans: &Plans, crd: &dyn Fn(&Served) -> Result<Value, String>, ctx: &Context) -> OpenApi {
    let mut documents = BTreeMap::new();
    let mut paths = Map::new();
    let mut every_component = Map::new();
    for (group, versions) in &discovery.groups {
        for (version, served) in versions {
            let kinds: Vec<(&Served, KindSchema)> = served.iter().map(|s| (s, kind_schema(ctx, plans, s, crd))).collect();
            let doc = group_version_document(plans, group, version, &kinds);
            if let Some(components) = doc["components"]["schemas"].as_object() {
                merge_components(&mut every_component, components);
            }
            let doc = serde_json::to_vec(&doc).expect("OpenAPI documents serialize");
            let key = if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") };
            let hash = etag(&doc).trim_matches('"').to_ascii_uppercase();
            paths.insert(key.clone(), json!({ "serverRelativeURL": format!("/openapi/v3/{key}?hash={hash}") }));
            documents.insert(key, doc);
        }
    }
    let root = serde_json::to_vec(&json!({ "paths": paths })).expect("the OpenAPI index serializes");
    every_component.sort_keys();
    let v2 = openapi_v2::document(&every_component, &kubernetes_version());
    let v2_json = serde_json::to_vec(&v2).expect("the OpenAPI v2 document serializes");
    OpenApi { root, documents, v2_protobuf: openapi_v2::protobuf(&v2), v2_json }
}

/// Adds one document's components to `all`. A type in several documents is the same schema,
/// but only the documents serving it as a kind mark it with its group-version-kinds, which are
/// kept together.
fn merge_components(all: &mut Map<String, Value>, components: &Map<String, Value>) {
    const GVK: &str = "x-kubernetes-group-version-kind";
    for (name, schema) in components {
        let Some(existing) = all.get_mut(name) else {
            all.insert(name.clone(), schema.clone());
            continue;
        };
        let mut kinds: Vec<Value> = existing.get(GVK).and_then(Value::as_array).cloned().unwrap_or_default();
        for k in schema.get(GVK).and_then(Value::as_array).into_iter().flatten() {
            if !kinds.contains(k) {
                kinds.push(k.clone());
            }
        }
        if !kinds.is_empty() {
            if let Some(obj) = existing.as_object_mut() {
                obj.insert(GVK.into(), Value::Array(kinds));
            }
        }
    }
}

fn kind_schema(ctx: &Context, plans: &Plans, s: &Served, crd: &dyn Fn(&Served) -> Result<Value, String>) -> KindSchema {
    if s.info.printer_columns.is_some() {
        return KindSchema::Crd(crd(s));
    }
    let api_version = if s.info.group.is_empty() { s.version.clone() } else { format!("{}/{}", s.info.group, s.version) };
    match ctx.decoder.schemas.for_type(&api_version, &s.info.kind).and_then(|m| plans.index_of(m.full_name())) {
        Some(i) => KindSchema::Message(i),
        None => KindSchema::Unknown,
    }
}

/// One group version's OpenAPI v3 document: a read path per resource naming its kind, and the
/// schemas of its kinds and every type they reference.
fn group_version_document(plans: &Plans, group: &str, version: &str, kinds: &[(&Served, KindSchema)]) -> Value {
    let mut components = Components::new(plans);
    let mut paths = Map::new();
    for (served, schema) in kinds {
        let gvk = json!({ "group": group, "kind": served.info.kind, "version": version });
        let name = match schema {
            KindSchema::Message(i) => Some(components.kind(*i, &gvk)),
            KindSchema::Crd(found) => Some(components.custom(group, version, &served.info.kind, found, &gvk)),
            KindSchema::Unknown => None,
        };
        let prefix = if group.is_empty() { format!("/api/{version}") } else { format!("/apis/{group}/{version}") };
        let collection = if served.info.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}", served.info.resource)
        } else {
            format!("{prefix}/{}", served.info.resource)
        };
        paths.insert(collection.clone(), json!({ "get": operation("list", &gvk, None) }));
        paths.insert(format!("{collection}/{{name}}"), json!({ "get": operation("get", &gvk, name.as_deref()) }));
    }
    json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": kubernetes_version() },
        "paths": paths,
        "components": { "schemas": components.done() },
    })
}

fn kubernetes_version() -> String {
    let (major, minor) = super::KUBERNETES_VERSION;
    format!("v{major}.{minor}.0")
}

/// A read operation on a resource path, naming its kind as the API server does.
fn operation(action: &str, gvk: &Value, schema: Option<&str>) -> Value {
    let mut response = json!({ "description": "OK" });
    if let Some(name) = schema {
        response["content"] = json!({ "application/json": { "schema": reference(name) } });
    }
    json!({
        "responses": { "200": response },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk,
    })
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("{COMPONENTS}{name}") })
}

/// The component name of a message: its Go package path as the API server names it
/// (`io.k8s.api.core.v1.Pod`, `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON`).
pub fn component_name(full_name: &str) -> String {
    match full_name.strip_prefix("k8s.io.") {
        Some(rest) => format!("io.k8s.{}", rest.replace('_', "-")),
        None => full_name.to_string(),
    }
}

/// The schemas of one document, filled by following references from the kinds.
struct Components<'p> {
    plans: &'p Plans,
    schemas: Map<String, Value>,
    queued: HashSet<usize>,
    pending: Vec<usize>,
    /// The group-version-kinds each message is served as.
    kinds: HashMap<usize, Vec<Value>>,
}

impl<'p> Components<'p> {
    fn new(plans: &'p Plans) -> Self {
        Components { plans, schemas: Map::new(), queued: HashSet::new(), pending: Vec::new(), kinds: HashMap::new() }
    }

    /// A built-in kind: its message, marked with `gvk`. Returns its component name.
    fn kind(&mut self, message: usize, gvk: &Value) -> String {
        let kinds = self.kinds.entry(message).or_default();
        if !kinds.contains(gvk) {
            kinds.push(gvk.clone());
        }
        self.reference_to(message);
        component_name(&self.plans.get(message).full_name)
    }

    /// A custom resource's kind: the CRD's schema, or, when it has none usable, an object that
    /// keeps whatever fields it has (and says why).
    fn custom(&mut self, group: &str, version: &str, kind: &str, found: &Result<Value, String>, gvk: &Value) -> String {
        let mut schema = match found {
            Ok(s) => s.clone(),
            Err(why) => json!({ "type": "object", "description": why, "x-kubernetes-preserve-unknown-fields": true }),
        };
        if let Some(obj) = schema.as_object_mut() {
            obj.entry("type").or_insert_with(|| json!("object"));
            let properties = obj.entry("properties").or_insert_with(|| json!({}));
            if let Some(props) = properties.as_object_mut() {
                props.entry("apiVersion").or_insert_with(|| json!({ "type": "string" }));
                props.entry("kind").or_insert_with(|| json!({ "type": "string" }));
            }
            obj.insert("x-kubernetes-group-version-kind".into(), json!([gvk]));
        }
        if let Some(meta) = self.plans.index_of(OBJECT_META) {
            let meta_ref = self.reference_to(meta);
            if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
                props.insert("metadata".into(), meta_ref);
            }
        }
        let reversed: Vec<&str> = group.split('.').rev().collect();
        let name = format!("{}.{version}.{kind}", reversed.join("."));
        self.schemas.insert(name.clone(), schema);
        name
    }

    /// `{"$ref": …}` to a message's component, queueing the component.
    fn reference_to(&mut self, message: usize) -> Value {
        if self.queued.insert(message) {
            self.pending.push(message);
        }
        reference(&component_name(&self.plans.get(message).full_name))
    }

    /// Writes every queued component (and those they queue in turn) and returns them all.
    fn done(mut self) -> Map<String, Value> {
        while let Some(m) = self.pending.pop() {
            let mut schema = self.message_schema(m);
            if let Some(gvks) = self.kinds.get(&m) {
                if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
                    props.entry("apiVersion").or_insert_with(|| json!({ "type": "string" }));
                    props.entry("kind").or_insert_with(|| json!({ "type": "string" }));
                }
                schema["x-kubernetes-group-version-kind"] = Value::Array(gvks.clone());
            }
            self.schemas.insert(component_name(&self.plans.get(m).full_name), schema);
        }
        self.schemas.sort_keys();
        self.schemas
    }

    /// A message's schema: the JSON its values are written as.
    fn message_schema(&mut self, m: usize) -> Value {
        let plan = self.plans.get(m);
        match plan.special {
            Special::Time | Special::MicroTime => json!({ "type": "string", "format": "date-time" }),
            Special::Duration => json!({ "type": "string" }),
            Special::Quantity => json!({ "oneOf": [{ "type": "string" }, { "type": "number" }] }),
            Special::IntOrString => json!({ "format": "int-or-string", "oneOf": [{ "type": "integer" }, { "type": "string" }] }),
            // FieldsV1 and RawExtension hold objects; apiextensions' JSON any value.
            Special::RawJson if plan.full_name.ends_with(".JSON") => json!({}),
            Special::RawJson => json!({ "type": "object" }),
            // A schema or a bool, a schema or a list: no single type.
            Special::PropsOrBool | Special::PropsOrArray => json!({}),
            Special::NamedSlice => match plan.fields.first().map(|f| f.shape) {
                Some(Shape::Repeated(Elem::Scalar(s))) => json!({ "type": "array", "items": scalar_schema(s) }),
                _ => json!({ "type": "array" }),
            },
            Special::None => {
                let mut properties = Map::new();
                self.properties(plan, &mut properties, 0);
                json!({ "type": "object", "properties": properties })
            }
        }
    }

    /// The properties of `plan` into `out`, inline embeddings flattened into it as Go writes them.
    fn properties(&mut self, plan: &'p MessagePlan, out: &mut Map<String, Value>, depth: usize) {
        for f in &plan.fields {
            match (f.rule, f.shape) {
                (Rule::Inline, Shape::Single(Elem::Message(inner))) if depth < MAX_INLINE_DEPTH => {
                    let inner = self.plans.get(inner);
                    self.properties(inner, out, depth + 1);
                }
                (_, shape) => {
                    let schema = self.field_schema(shape);
                    out.insert(f.json_name.to_string(), schema);
                }
            }
        }
    }

    fn field_schema(&mut self, shape: Shape) -> Value {
        match shape {
            Shape::Single(e) => self.elem_schema(e),
            Shape::Repeated(e) => json!({ "type": "array", "items": self.elem_schema(e) }),
            Shape::Map { value, .. } => json!({ "type": "object", "additionalProperties": self.elem_schema(value) }),
        }
    }

    fn elem_schema(&mut self, e: Elem) -> Value {
        match e {
            Elem::Scalar(s) => scalar_schema(s),
            Elem::Message(m) => self.reference_to(m),
        }
    }
}

/// A protobuf scalar as Go's JSON writes it (Kubernetes' enums are Go strings).
fn scalar_schema(s: Scalar) -> Value {
    match s {
        Scalar::Bool => json!({ "type": "boolean" }),
        Scalar::String | Scalar::Enum => json!({ "type": "string" }),
        Scalar::Bytes => json!({ "type": "string", "format": "byte" }),
        Scalar::Double | Scalar::Float => json!({ "type": "number", "format": "double" }),
        Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 | Scalar::Uint32 | Scalar::Fixed32 => json!({ "type": "integer", "format": "int32" }),
        Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 | Scalar::Uint64 | Scalar::Fixed64 => json!({ "type": "integer", "format": "int64" }),
    }
}

/// The `openAPIV3Schema` of a custom resource's served version, from its CRD at the served
/// revision; the error says why there is none.
fn crd_schema(ctx: &'static Context, s: &Served) -> Result<Value, String> {
    let name = format!("{}.{}", s.info.resource, s.info.group);
    let key = format!("{}/apiextensions.k8s.io/customresourcedefinitions/{name}", ctx.prefix);
    let index = ctx.index()?;
    let entry = index
        .slice(&KeyRange::single(key.as_bytes()), None)
        .first()
        .ok_or_else(|| format!("the CustomResourceDefinition {name} is not in the snapshot at revision {}", ctx.revision))?;
    let kv = entry.kv(ctx.snapshot.file()).map_err(|e| e.to_string())?;
    let crd = match ctx.decoder.decode_at(kv.key, kv.value, None) {
        Decoded::Object { json, .. } => json.value()?,
        Decoded::Encrypted { reason, .. } | Decoded::Raw { reason } => return Err(format!("the CustomResourceDefinition {name} does not decode: {reason}")),
    };
    served_version_schema(&crd, &s.version).ok_or_else(|| format!("the CustomResourceDefinition {name} declares no openAPIV3Schema for {}", s.version))
}

/// The schema a CRD declares for `version`: per version (apiextensions v1, and v1beta1's
/// `versions[].schema`), else v1beta1's `spec.validation`. A schema nested deeper than
/// [`MAX_CRD_SCHEMA_DEPTH`] is refused.
pub fn served_version_schema(crd: &Value, version: &str) -> Option<Value> {
    let spec = crd.get("spec")?;
    let per_version = spec.get("versions").and_then(Value::as_array).and_then(|vs| vs.iter().find(|v| v.get("name").and_then(Value::as_str) == Some(version)));
    let schema =
        per_version.and_then(|v| v.pointer("/schema/openAPIV3Schema")).or_else(|| spec.pointer("/validation/openAPIV3Schema")).filter(|s| s.is_object())?;
    if depth(schema) > MAX_CRD_SCHEMA_DEPTH {
        return Some(json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true,
            "description": format!("the CRD's schema nests deeper than {MAX_CRD_SCHEMA_DEPTH} levels; etcdscope does not serve it") }));
    }
    Some(schema.clone())
}

/// How deep `v` nests, found without recursion.
fn depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 1usize)];
    while let Some((v, d)) = stack.pop() {
        deepest = deepest.max(d);
        match v {
            Value::Object(m) => stack.extend(m.values().map(|c| (c, d + 1))),
            Value::Array(a) => stack.extend(a.iter().map(|c| (c, d + 1))),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::schema::Schemas;

    fn plans_and_pod() -> (Schemas, usize) {
        let schemas = Schemas::embedded().unwrap();
        let pod = schemas.plans().index_of("k8s.io.api.core.v1.Pod").unwrap();
        (schemas, pod)
    }

    #[test]
    fn a_kind_and_everything_it_references_become_components() {
        let (schemas, pod) = plans_and_pod();
        let mut c = Components::new(schemas.plans());
        let gvk = json!({"group": "", "kind": "Pod", "version": "v1"});
        assert_eq!(c.kind(pod, &gvk), "io.k8s.api.core.v1.Pod");
        let all = c.done();
        let pod = &all["io.k8s.api.core.v1.Pod"];
        assert_eq!(pod["x-kubernetes-group-version-kind"], json!([gvk]));
        assert_eq!(pod["properties"]["spec"], json!({"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}));
        assert_eq!(pod["properties"]["kind"], json!({"type": "string"}));
        let spec = &all["io.k8s.api.core.v1.PodSpec"]["properties"];
        assert_eq!(spec["containers"]["items"], json!({"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}));
        assert_eq!(spec["nodeSelector"], json!({"type": "object", "additionalProperties": {"type": "string"}}));
        assert_eq!(spec["activeDeadlineSeconds"], json!({"type": "integer", "format": "int64"}));
        assert_eq!(all["io.k8s.apimachinery.pkg.apis.meta.v1.Time"], json!({"type": "string", "format": "date-time"}));
        // Every reference resolves.
        let text = serde_json::to_string(&all).unwrap();
        for r in text.split("\"$ref\":\"").skip(1) {
            let name = r.split('"').next().unwrap().trim_start_matches(COMPONENTS);
            assert!(all.contains_key(name), "{name} is referenced but not defined");
        }
    }

    #[test]
    fn a_kind_keeps_its_group_version_kinds_when_another_document_only_references_it() {
        let gvk = json!([{"group": "", "kind": "Pod", "version": "v1"}]);
        let marked = json!({"Pod": {"type": "object", "x-kubernetes-group-version-kind": gvk}});
        let plain = json!({"Pod": {"type": "object"}});
        for order in [[&marked, &plain], [&plain, &marked]] {
            let mut all = Map::new();
            for doc in order {
                merge_components(&mut all, doc.as_object().unwrap());
            }
            assert_eq!(all["Pod"]["x-kubernetes-group-version-kind"], gvk);
        }
    }

    #[test]
    fn self_referencing_types_are_one_component_each() {
        let schemas = Schemas::embedded().unwrap();
        let m = schemas.plans().index_of("k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps").unwrap();
        let mut c = Components::new(schemas.plans());
        c.reference_to(m);
        let all = c.done();
        let props = &all["io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps"]["properties"];
        assert_eq!(
            props["properties"]["additionalProperties"]["$ref"],
            "#/components/schemas/io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps"
        );
        assert!(all.len() < 20, "{} components", all.len());
    }

    #[test]
    fn inline_embeddings_are_flattened() {
        // The first message of the pool that embeds another inline (Go's `json:",inline"`).
        let schemas = Schemas::embedded().unwrap();
        let plans = schemas.plans();
        let (outer, inner) = (0..)
            .map_while(|i| (i < schemas.len()).then(|| plans.get(i)))
            .find_map(|p| {
                p.fields.iter().find(|f| f.rule == Rule::Inline).and_then(|f| if let Shape::Single(Elem::Message(m)) = f.shape { Some((p, m)) } else { None })
            })
            .expect("some message embeds another inline");
        let mut c = Components::new(plans);
        let index = plans.index_of(&outer.full_name).unwrap();
        c.reference_to(index);
        let all = c.done();
        let props = &all[&component_name(&outer.full_name)]["properties"];
        for f in &plans.get(inner).fields {
            if f.rule != Rule::Inline {
                assert!(props.get(&*f.json_name).is_some(), "{} lacks inlined {}", outer.full_name, f.json_name);
            }
        }
    }

    #[test]
    fn a_crd_schema_is_taken_from_the_served_version_and_bounded() {
        let crd = json!({"spec": {"versions": [
            {"name": "v1beta1", "schema": {"openAPIV3Schema": {"type": "object", "properties": {"old": {"type": "string"}}}}},
            {"name": "v1", "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object"}}}}}]}});
        assert_eq!(served_version_schema(&crd, "v1").unwrap()["properties"]["spec"], json!({"type": "object"}));
        let legacy = json!({"spec": {"version": "v1", "validation": {"openAPIV3Schema": {"type": "object"}}}});
        assert_eq!(served_version_schema(&legacy, "v1").unwrap(), json!({"type": "object"}));
        assert!(served_version_schema(&json!({"spec": {}}), "v1").is_none());
        let mut deep = json!({"type": "string"});
        for _ in 0..200 {
            deep = json!({"type": "object", "properties": {"a": deep}});
        }
        let crd = json!({"spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": deep}}]}});
        assert_eq!(served_version_schema(&crd, "v1").unwrap()["x-kubernetes-preserve-unknown-fields"], true);
    }
}
