//! The few facts about an object that relations between objects need, read without rendering
//! it: its uid, its owner references and, for a Pod, the node it is bound to. `diff` reads them
//! for every object of two snapshots to find what a restore would orphan or strand, so for
//! protobuf objects they come straight off the wire (ObjectMeta is field 1 of every object
//! with metadata: uid = 5, ownerReferences = 13 {kind = 1, name = 3, uid = 4}; a Pod's spec is
//! field 2 and PodSpec.nodeName field 10). JSON and CBOR objects are parsed.

use super::decoder::Decoder;
use super::encryption::Decrypted;
use super::envelope::{classify, Value as Stored};
use crate::protowire::{fields, Wire};
use serde_json::Value;
use std::borrow::Cow;

/// Text borrowed from the stored value when it is readable in place (protobuf, not encrypted),
/// owned otherwise: reading every object of a large snapshot copies no string.
pub type Text<'v> = Cow<'v, str>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerRef<'v> {
    pub kind: Text<'v>,
    pub name: Text<'v>,
    pub uid: Text<'v>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectFacts<'v> {
    pub uid: Text<'v>,
    pub owners: Vec<OwnerRef<'v>>,
    /// `spec.nodeName`, read only when asked for (Pods).
    pub node_name: Option<Text<'v>>,
}

impl ObjectFacts<'_> {
    pub fn into_owned(self) -> ObjectFacts<'static> {
        let own = |t: Text<'_>| Cow::Owned(t.into_owned());
        ObjectFacts {
            uid: own(self.uid),
            owners: self.owners.into_iter().map(|o| OwnerRef { kind: own(o.kind), name: own(o.name), uid: own(o.uid) }).collect(),
            node_name: self.node_name.map(own),
        }
    }
}

/// The facts of the object stored at `key`, decrypted first when it is encrypted and a key for
/// it is configured; `None` when the value cannot be read (encrypted without a key, damaged,
/// not an object).
pub fn object_facts<'v>(decoder: &Decoder, key: &[u8], value: &'v [u8], want_node: bool) -> Option<ObjectFacts<'v>> {
    let value = match &decoder.encryption {
        None => value,
        Some(config) => match config.decrypt(key, value) {
            Decrypted::NotEncrypted(v) => v,
            Decrypted::Decrypted { plaintext, .. } => return stored_facts(&plaintext, want_node).map(ObjectFacts::into_owned),
            _ => return None,
        },
    };
    stored_facts(value, want_node)
}

fn stored_facts(value: &[u8], want_node: bool) -> Option<ObjectFacts<'_>> {
    match classify(value).ok()? {
        Stored::Protobuf(u) => from_wire(u.raw, want_node),
        Stored::Json(bytes) => from_json(&serde_json::from_slice(bytes).ok()?, want_node),
        Stored::Cbor(bytes) => from_json(&super::cbor::to_json(bytes).ok()?, want_node),
        Stored::Encrypted(_) | Stored::Other(_) => None,
    }
}

fn text(b: &[u8]) -> Text<'_> {
    String::from_utf8_lossy(b)
}

fn from_wire(object: &[u8], want_node: bool) -> Option<ObjectFacts<'_>> {
    let mut facts = ObjectFacts::default();
    for field in fields(object) {
        match field.ok()? {
            (1, Wire::Bytes(meta)) => read_meta(meta, &mut facts)?,
            (2, Wire::Bytes(spec)) if want_node => {
                for f in fields(spec) {
                    if let (10, Wire::Bytes(node)) = f.ok()? {
                        facts.node_name = Some(text(node));
                    }
                }
            }
            _ => {}
        }
    }
    Some(facts)
}

fn read_meta<'v>(meta: &'v [u8], facts: &mut ObjectFacts<'v>) -> Option<()> {
    for field in fields(meta) {
        match field.ok()? {
            (5, Wire::Bytes(uid)) => facts.uid = text(uid),
            (13, Wire::Bytes(owner)) => {
                let mut o = OwnerRef::default();
                for f in fields(owner) {
                    match f.ok()? {
                        (1, Wire::Bytes(b)) => o.kind = text(b),
                        (3, Wire::Bytes(b)) => o.name = text(b),
                        (4, Wire::Bytes(b)) => o.uid = text(b),
                        _ => {}
                    }
                }
                facts.owners.push(o);
            }
            _ => {}
        }
    }
    Some(())
}

fn from_json(v: &Value, want_node: bool) -> Option<ObjectFacts<'static>> {
    let meta = v.get("metadata")?;
    let s = |v: Option<&Value>| Cow::Owned(v.and_then(Value::as_str).unwrap_or_default().to_string());
    let owners = meta
        .get("ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| refs.iter().map(|r| OwnerRef { kind: s(r.get("kind")), name: s(r.get("name")), uid: s(r.get("uid")) }).collect())
        .unwrap_or_default();
    let node_name = if want_node { v.pointer("/spec/nodeName").and_then(Value::as_str).map(|n| Cow::Owned(n.to_string())) } else { None };
    Some(ObjectFacts { uid: s(meta.get("uid")), owners, node_name })
}
