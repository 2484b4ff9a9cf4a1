//! Rows of an export, built on the worker threads: what a key-value pair is (its encoding,
//! whether it is a Secret) and, for an object, the columns read off its JSON.

use crate::k8s::envelope::{classify, EnvelopeError, Value as Stored};
use serde::Deserialize;
use serde_json::{Map, Value};

/// `kv.encoding`: how the value is stored.
pub fn encoding(value: &[u8]) -> &'static str {
    match classify(value) {
        Ok(Stored::Protobuf(_)) => "protobuf",
        Ok(Stored::Json(_)) => "json",
        Ok(Stored::Cbor(_)) => "cbor",
        Ok(Stored::Encrypted(_)) | Err(EnvelopeError::MalformedEncryptedPrefix) => "encrypted",
        Ok(Stored::Other(_)) | Err(_) => "other",
    }
}

/// The columns of `objects`, `labels`, `annotations` and `owner_refs` that come from an
/// object's JSON (everything else comes from its key and the store).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectColumns {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub uid: Option<String>,
    pub generation: Option<i64>,
    pub creation_timestamp: Option<String>,
    pub deletion_timestamp: Option<String>,
    pub node_name: Option<String>,
    pub phase: Option<String>,
    /// In the object's order.
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    pub owners: Vec<Owner>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Owner {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub uid: Option<String>,
    pub controller: Option<bool>,
    pub block_owner_deletion: Option<bool>,
}

impl ObjectColumns {
    /// The owner the `owner_*` columns name: the controller, else the first owner.
    pub fn main_owner(&self) -> Option<&Owner> {
        self.owners.iter().find(|o| o.controller == Some(true)).or(self.owners.first())
    }
}

/// Only the parts of an object the columns need; serde skips the rest without building it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    api_version: Option<Value>,
    kind: Option<Value>,
    metadata: Option<Meta>,
    spec: Option<SpecHead>,
    status: Option<StatusHead>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    uid: Option<Value>,
    generation: Option<Value>,
    creation_timestamp: Option<Value>,
    deletion_timestamp: Option<Value>,
    labels: Option<Map<String, Value>>,
    annotations: Option<Map<String, Value>>,
    owner_references: Option<Vec<Owner>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpecHead {
    node_name: Option<Value>,
}

#[derive(Deserialize)]
struct StatusHead {
    phase: Option<Value>,
}

/// A JSON string as text; any other JSON value as its JSON text (a label map written by hand
/// into a custom resource can hold anything).
fn text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn string(v: Option<Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn pairs(m: Option<Map<String, Value>>) -> Vec<(String, String)> {
    m.map(|m| m.into_iter().map(|(k, v)| (k, text(v))).collect()).unwrap_or_default()
}

/// Which parts past `metadata` an object's columns need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wants {
    /// `spec.nodeName` (Pods).
    pub node_name: bool,
    /// `status.phase` (Pods, Namespaces, PersistentVolumes and their claims, custom resources).
    pub phase: bool,
}

impl Wants {
    pub const ALL: Wants = Wants { node_name: true, phase: true };

    /// What objects of a resource can have: `spec.nodeName` only Pods, `status.phase` the
    /// built-ins that define it and any custom resource.
    pub fn for_resource(group: &str, resource: &str) -> Wants {
        let core = group.is_empty();
        let custom = !core && !group.ends_with(".k8s.io") && group.contains('.');
        Wants {
            node_name: core && resource == "pods",
            phase: custom || (core && matches!(resource, "pods" | "namespaces" | "persistentvolumes" | "persistentvolumeclaims")),
        }
    }
}

/// [`object_columns`] reading only as far as the columns need: once `apiVersion`, `kind`,
/// `metadata` and the wanted parts are read, the rest (usually `spec` and `status`, most of an
/// object) is not scanned. Objects rendered here put them first, as the API server does.
pub fn object_columns_wanted(json: &str, wants: Wants) -> ObjectColumns {
    let mut out = ObjectColumns::default();
    let mut complete = false;
    let mut de = serde_json::Deserializer::from_str(json);
    let read = serde::de::DeserializeSeed::deserialize(Top { out: &mut out, wants, complete: &mut complete }, &mut de);
    // Stopping early leaves the object unclosed, which the parser reports: expected.
    if complete || read.is_ok() {
        out
    } else {
        object_columns(json)
    }
}

/// The top-level object, read key by key until the columns are complete.
struct Top<'o> {
    out: &'o mut ObjectColumns,
    wants: Wants,
    complete: &'o mut bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for Top<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Top<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (mut meta, mut spec, mut status) = (false, !self.wants.node_name, !self.wants.phase);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "apiVersion" => self.out.api_version = string(map.next_value()?),
                "kind" => self.out.kind = string(map.next_value()?),
                "metadata" => {
                    if let Some(m) = map.next_value::<Option<Meta>>()? {
                        apply_meta(self.out, m);
                    }
                    meta = true;
                }
                "spec" if self.wants.node_name => {
                    self.out.node_name = map.next_value::<Option<SpecHead>>()?.and_then(|s| string(s.node_name));
                    spec = true;
                }
                "status" if self.wants.phase => {
                    self.out.phase = map.next_value::<Option<StatusHead>>()?.and_then(|s| string(s.phase));
                    status = true;
                }
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
            if meta && spec && status && self.out.api_version.is_some() && self.out.kind.is_some() {
                *self.complete = true;
                return Ok(());
            }
        }
        Ok(())
    }
}

fn apply_meta(out: &mut ObjectColumns, m: Meta) {
    out.uid = string(m.uid);
    out.generation = m.generation.and_then(|g| g.as_i64());
    out.creation_timestamp = string(m.creation_timestamp);
    out.deletion_timestamp = string(m.deletion_timestamp);
    out.labels = pairs(m.labels);
    out.annotations = pairs(m.annotations);
    out.owners = m.owner_references.unwrap_or_default();
}

/// The columns of an object from its JSON text. An object whose metadata is not shaped as
/// Kubernetes shapes it (a hand-written custom resource) gets the columns it has: a part that
/// does not parse is left empty rather than failing the row.
pub fn object_columns(json: &str) -> ObjectColumns {
    let head: Head = match serde_json::from_str(json) {
        Ok(h) => h,
        Err(_) => match serde_json::from_str::<Value>(json) {
            // Shaped differently: take what is there, part by part.
            Ok(v) => return from_value(v),
            Err(_) => return ObjectColumns::default(),
        },
    };
    let mut out = ObjectColumns { api_version: string(head.api_version), kind: string(head.kind), ..Default::default() };
    if let Some(m) = head.metadata {
        apply_meta(&mut out, m);
    }
    out.node_name = head.spec.and_then(|s| string(s.node_name));
    out.phase = head.status.and_then(|s| string(s.phase));
    out
}

/// [`object_columns`] for an object whose parts do not all have Kubernetes' shapes.
fn from_value(mut v: Value) -> ObjectColumns {
    let mut take = |path: &str| v.pointer_mut(path).map(Value::take);
    let mut out = ObjectColumns {
        api_version: string(take("/apiVersion")),
        kind: string(take("/kind")),
        uid: string(take("/metadata/uid")),
        generation: take("/metadata/generation").and_then(|g| g.as_i64()),
        creation_timestamp: string(take("/metadata/creationTimestamp")),
        deletion_timestamp: string(take("/metadata/deletionTimestamp")),
        node_name: string(take("/spec/nodeName")),
        phase: string(take("/status/phase")),
        ..Default::default()
    };
    let map = |v: Option<Value>| match v {
        Some(Value::Object(m)) => Some(m),
        _ => None,
    };
    out.labels = pairs(map(take("/metadata/labels")));
    out.annotations = pairs(map(take("/metadata/annotations")));
    if let Some(Value::Array(owners)) = take("/metadata/ownerReferences") {
        out.owners = owners.into_iter().filter_map(|o| serde_json::from_value(o).ok()).collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_of_a_pod() {
        let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"default","uid":"u1","resourceVersion":"7","generation":2,
            "creationTimestamp":"2024-01-01T00:00:00Z","labels":{"app":"web","tier":"front"},"annotations":{"a":"1"},
            "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-1","uid":"rs1","controller":false},
                               {"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-2","uid":"rs2","controller":true,"blockOwnerDeletion":true}]},
            "spec":{"nodeName":"node-7","containers":[{"name":"c"}]},"status":{"phase":"Running"}}"#;
        let c = object_columns(pod);
        assert_eq!((c.api_version.as_deref(), c.kind.as_deref(), c.uid.as_deref(), c.generation), (Some("v1"), Some("Pod"), Some("u1"), Some(2)));
        assert_eq!((c.node_name.as_deref(), c.phase.as_deref()), (Some("node-7"), Some("Running")));
        assert_eq!(c.labels, vec![("app".into(), "web".into()), ("tier".into(), "front".into())]);
        assert_eq!(c.main_owner().and_then(|o| o.name.as_deref()), Some("web-2"));
        assert_eq!(c.owners.len(), 2);
    }

    #[test]
    fn reading_only_what_is_wanted_gives_the_same_columns() {
        let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","uid":"u1","labels":{"a":"b"}},"spec":{"containers":[{"name":"c","args":["x\"}"]}],"nodeName":"n1"},"status":{"phase":"Running","conditions":[]}}"#;
        let deploy = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","uid":"u2","ownerReferences":[{"kind":"X","name":"x","uid":"u0"}]},"spec":{"replicas":3},"status":{"replicas":3}}"#;
        let cr = r#"{"spec":{"a":1},"status":{"phase":"Ready"},"metadata":{"name":"w","uid":"u3"},"kind":"Widget","apiVersion":"x.example.com/v1"}"#;
        for (json, wants) in [
            (pod, Wants::for_resource("", "pods")),
            (deploy, Wants::for_resource("apps", "deployments")),
            (cr, Wants::for_resource("x.example.com", "widgets")),
        ] {
            let full = object_columns(json);
            let mut expected = full.clone();
            if !wants.node_name {
                expected.node_name = None;
            }
            if !wants.phase {
                expected.phase = None;
            }
            assert_eq!(object_columns_wanted(json, wants), expected, "{json}");
        }
        assert_eq!(object_columns_wanted(pod, Wants::ALL).phase.as_deref(), Some("Running"));
        assert_eq!(object_columns_wanted(cr, Wants::ALL).phase.as_deref(), Some("Ready"));
        // Truncated after metadata: what was read is kept only if complete; otherwise the
        // whole-text reader decides (here: not JSON, nothing).
        assert_eq!(object_columns_wanted(r#"{"apiVersion":"v1","kind":"Pod","metadata":{"uid":"u"#, Wants::ALL), ObjectColumns::default());
    }

    #[test]
    fn odd_shapes_keep_what_they_can() {
        // A custom resource with a non-string label value and a spec that is a list.
        let cr = r#"{"apiVersion":"x.io/v1","kind":"W","metadata":{"name":"a","labels":{"n":3},"generation":"x"},"spec":[1,2]}"#;
        let c = object_columns(cr);
        assert_eq!(c.kind.as_deref(), Some("W"));
        assert_eq!(c.labels, vec![("n".into(), "3".into())]);
        assert_eq!(c.generation, None);
        assert_eq!(c.node_name, None);
        assert_eq!(object_columns("not json"), ObjectColumns::default());
    }
}
