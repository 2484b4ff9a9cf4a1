//! The facts about an object that are not its whole rendering: its type, uid, generation,
//! timestamps, labels, annotations, owner references, and for some types `spec.nodeName` and
//! `status.phase`. `diff` reads them for every object of two snapshots to find what a restore
//! would orphan or strand; `export` writes them as columns. This is the one reader of them.
//!
//! Protobuf objects are read straight off the wire, copying no string: the object's fields
//! `metadata`, `spec` and `status` are found by name in its schema plan (so a type whose field 1
//! is not ObjectMeta is not misread), ObjectMeta's and OwnerReference's fields by their numbers,
//! which Kubernetes never reassigns (a test holds them to the schema's names). Each fact is what
//! the JSON the renderer writes would say: a string tagged `omitempty` that is empty is absent,
//! map keys are sorted and the last entry of a key wins, a Time without seconds is `null`.
//! JSON objects are read as far as the facts need (apiVersion, kind and metadata come first);
//! CBOR objects are converted to JSON values first.

use super::decoder::Decoder;
use super::encryption::Decrypted;
use super::envelope::{classify, Unknown, Value as Stored};
use super::plan::{Elem, Plans, Shape, Special};
use super::schema::Schemas;
use crate::protowire::{fields, Wire};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Text borrowed from the stored value when it is readable in place (protobuf, not encrypted),
/// owned otherwise: reading every object of a large snapshot copies no string.
pub type Text<'v> = Cow<'v, str>;

/// One of `metadata.ownerReferences`. The API server always writes apiVersion, kind, name and
/// uid (`""` when unset); a field missing from the stored object is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerRef<'v> {
    pub api_version: Option<Text<'v>>,
    pub kind: Option<Text<'v>>,
    pub name: Option<Text<'v>>,
    pub uid: Option<Text<'v>>,
    pub controller: Option<bool>,
    pub block_owner_deletion: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectFacts<'v> {
    pub api_version: Option<Text<'v>>,
    pub kind: Option<Text<'v>>,
    pub uid: Option<Text<'v>>,
    pub generation: Option<i64>,
    pub creation_timestamp: Option<String>,
    pub deletion_timestamp: Option<String>,
    /// In the object's order (sorted, as the API server writes them), read when
    /// [`Wants::maps`].
    pub labels: Vec<(Text<'v>, Text<'v>)>,
    pub annotations: Vec<(Text<'v>, Text<'v>)>,
    pub owners: Vec<OwnerRef<'v>>,
    /// `spec.nodeName`, read when [`Wants::node_name`].
    pub node_name: Option<Text<'v>>,
    /// `status.phase`, read when [`Wants::phase`].
    pub phase: Option<Text<'v>>,
}

impl ObjectFacts<'_> {
    /// The owner an object's single-owner columns name: the controller, else the first owner.
    pub fn main_owner(&self) -> Option<&OwnerRef<'_>> {
        self.owners.iter().find(|o| o.controller == Some(true)).or(self.owners.first())
    }

    pub fn into_owned(self) -> ObjectFacts<'static> {
        let own = |t: Text<'_>| -> Text<'static> { Cow::Owned(t.into_owned()) };
        let opt = |t: Option<Text<'_>>| t.map(own);
        let pairs = |v: Vec<(Text<'_>, Text<'_>)>| v.into_iter().map(|(k, v)| (own(k), own(v))).collect();
        ObjectFacts {
            api_version: opt(self.api_version),
            kind: opt(self.kind),
            uid: opt(self.uid),
            generation: self.generation,
            creation_timestamp: self.creation_timestamp,
            deletion_timestamp: self.deletion_timestamp,
            labels: pairs(self.labels),
            annotations: pairs(self.annotations),
            owners: self
                .owners
                .into_iter()
                .map(|o| OwnerRef {
                    api_version: opt(o.api_version),
                    kind: opt(o.kind),
                    name: opt(o.name),
                    uid: opt(o.uid),
                    controller: o.controller,
                    block_owner_deletion: o.block_owner_deletion,
                })
                .collect(),
            node_name: opt(self.node_name),
            phase: opt(self.phase),
        }
    }
}

/// Which facts past type, uid, generation, timestamps and owners a caller needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Wants {
    /// `spec.nodeName` (Pods).
    pub node_name: bool,
    /// `status.phase` (Pods, Namespaces, PersistentVolumes and their claims, custom resources).
    pub phase: bool,
    /// Labels and annotations.
    pub maps: bool,
}

impl Wants {
    pub const ALL: Wants = Wants { node_name: true, phase: true, maps: true };

    /// Everything objects of a resource can have: `spec.nodeName` only Pods, `status.phase`
    /// the built-ins that define it and any custom resource.
    pub fn for_resource(group: &str, resource: &str) -> Wants {
        let core = group.is_empty();
        let custom = !core && !group.ends_with(".k8s.io") && group.contains('.');
        Wants {
            node_name: core && resource == "pods",
            phase: custom || (core && matches!(resource, "pods" | "namespaces" | "persistentvolumes" | "persistentvolumeclaims")),
            maps: true,
        }
    }
}

/// The facts of the object stored at `key`, decrypted first when it is encrypted and a key for
/// it is configured; `None` when the value cannot be read (encrypted without a key, damaged,
/// not an object, a type without a schema).
pub fn object_facts<'v>(decoder: &Decoder, key: &[u8], value: &'v [u8], wants: Wants) -> Option<ObjectFacts<'v>> {
    let value = match &decoder.encryption {
        None => value,
        Some(config) => match config.decrypt(key, value) {
            Decrypted::NotEncrypted(v) => v,
            Decrypted::Decrypted { plaintext, .. } => return stored_facts(&decoder.schemas, &plaintext, wants).map(ObjectFacts::into_owned),
            _ => return None,
        },
    };
    stored_facts(&decoder.schemas, value, wants)
}

/// The facts of a stored value that is not encrypted.
pub fn stored_facts<'v>(schemas: &Schemas, value: &'v [u8], wants: Wants) -> Option<ObjectFacts<'v>> {
    match classify(value).ok()? {
        Stored::Protobuf(u) => from_wire(schemas, u, wants),
        Stored::Json(bytes) => from_json_text(bytes, wants),
        Stored::Cbor(bytes) => Some(from_value(super::cbor::to_json(bytes).ok()?, wants)),
        Stored::Encrypted(_) | Stored::Other(_) => None,
    }
}

// ---- protobuf ----

/// ObjectMeta's field numbers (k8s.io/apimachinery generated.proto).
mod meta {
    pub const UID: u32 = 5;
    pub const GENERATION: u32 = 7;
    pub const CREATION_TIMESTAMP: u32 = 8;
    pub const DELETION_TIMESTAMP: u32 = 9;
    pub const LABELS: u32 = 11;
    pub const ANNOTATIONS: u32 = 12;
    pub const OWNER_REFERENCES: u32 = 13;
}

/// OwnerReference's field numbers.
mod owner {
    pub const KIND: u32 = 1;
    pub const NAME: u32 = 3;
    pub const UID: u32 = 4;
    pub const API_VERSION: u32 = 5;
    pub const CONTROLLER: u32 = 6;
    pub const BLOCK_OWNER_DELETION: u32 = 7;
}

fn text(b: &[u8]) -> Text<'_> {
    String::from_utf8_lossy(b)
}

/// A string field tagged `omitempty`: absent when empty.
fn non_empty(b: &[u8]) -> Option<Text<'_>> {
    (!b.is_empty()).then(|| text(b))
}

/// The number of the message field `name` of plan `index`, and the plan of its message.
fn message_field(plans: &Plans, index: usize, name: &str) -> Option<(u32, usize)> {
    let f = plans.get(index).fields.iter().find(|f| &*f.json_name == name)?;
    match f.shape {
        Shape::Single(Elem::Message(m)) => Some((f.number, m)),
        _ => None,
    }
}

/// The number of the scalar field `name` of plan `index`.
fn scalar_field(plans: &Plans, index: usize, name: &str) -> Option<u32> {
    let f = plans.get(index).fields.iter().find(|f| &*f.json_name == name)?;
    matches!(f.shape, Shape::Single(Elem::Scalar(_))).then_some(f.number)
}

/// The fields of a stored object to read, by number (0: none).
#[derive(Default)]
struct Layout {
    metadata: u32,
    spec: u32,
    node_name: u32,
    status: u32,
    phase: u32,
}

fn layout(schemas: &Schemas, api_version: &str, kind: &str, wants: Wants) -> Option<Layout> {
    let plans = schemas.plans();
    let index = schemas.plan_for_type(api_version, kind)?;
    let mut l = Layout::default();
    if let Some((n, m)) = message_field(plans, index, "metadata") {
        if plans.get(m).is_object_meta {
            l.metadata = n;
        }
    }
    if wants.node_name {
        if let Some((n, m)) = message_field(plans, index, "spec") {
            (l.spec, l.node_name) = (n, scalar_field(plans, m, "nodeName").unwrap_or(0));
        }
    }
    if wants.phase {
        if let Some((n, m)) = message_field(plans, index, "status") {
            (l.status, l.phase) = (n, scalar_field(plans, m, "phase").unwrap_or(0));
        }
    }
    Some(l)
}

fn from_wire<'v>(schemas: &Schemas, u: Unknown<'v>, wants: Wants) -> Option<ObjectFacts<'v>> {
    let l = layout(schemas, &u.api_version, &u.kind, wants)?;
    let mut facts = ObjectFacts { api_version: Some(Cow::Owned(u.api_version)), kind: Some(Cow::Owned(u.kind)), ..Default::default() };
    let (mut labels, mut annotations) = (Vec::new(), Vec::new());
    for field in fields(u.raw) {
        match field.ok()? {
            (n, Wire::Bytes(meta)) if n == l.metadata => read_meta(meta, wants, &mut facts, &mut labels, &mut annotations)?,
            (n, Wire::Bytes(spec)) if n == l.spec && l.node_name != 0 => {
                if let Some(node) = last_string(spec, l.node_name)? {
                    facts.node_name = non_empty(node);
                }
            }
            (n, Wire::Bytes(status)) if n == l.status && l.phase != 0 => {
                if let Some(phase) = last_string(status, l.phase)? {
                    facts.phase = non_empty(phase);
                }
            }
            _ => {}
        }
    }
    facts.labels = sorted_map(labels);
    facts.annotations = sorted_map(annotations);
    Some(facts)
}

/// The last value of string field `number` in `msg` (`Some(None)`: not there).
fn last_string(msg: &[u8], number: u32) -> Option<Option<&[u8]>> {
    let mut last = None;
    for f in fields(msg) {
        if let (n, Wire::Bytes(b)) = f.ok()? {
            if n == number {
                last = Some(b);
            }
        }
    }
    Some(last)
}

type Entries<'v> = Vec<(&'v [u8], &'v [u8])>;

fn read_meta<'v>(meta: &'v [u8], wants: Wants, facts: &mut ObjectFacts<'v>, labels: &mut Entries<'v>, annotations: &mut Entries<'v>) -> Option<()> {
    for field in fields(meta) {
        match field.ok()? {
            (meta::UID, Wire::Bytes(uid)) => facts.uid = non_empty(uid),
            (meta::GENERATION, Wire::Varint(g)) => facts.generation = (g != 0).then_some(g as i64),
            (meta::CREATION_TIMESTAMP, Wire::Bytes(t)) => facts.creation_timestamp = time(t)?,
            (meta::DELETION_TIMESTAMP, Wire::Bytes(t)) => facts.deletion_timestamp = time(t)?,
            (meta::LABELS, Wire::Bytes(entry)) if wants.maps => labels.push(map_entry(entry)?),
            (meta::ANNOTATIONS, Wire::Bytes(entry)) if wants.maps => annotations.push(map_entry(entry)?),
            (meta::OWNER_REFERENCES, Wire::Bytes(o)) => facts.owners.push(owner_ref(o)?),
            _ => {}
        }
    }
    Some(())
}

/// A metav1.Time as the renderer writes it: RFC 3339 seconds, `None` (null) without seconds.
fn time(t: &[u8]) -> Option<Option<String>> {
    let mut seconds = None;
    for f in fields(t) {
        if let (1, Wire::Varint(s)) = f.ok()? {
            seconds = Some(s as i64);
        }
    }
    Some(seconds.map(|s| super::json::time::rfc3339(s, None)))
}

fn map_entry(entry: &[u8]) -> Option<(&[u8], &[u8])> {
    let (mut k, mut v): (&[u8], &[u8]) = (b"", b"");
    for f in fields(entry) {
        match f.ok()? {
            (1, Wire::Bytes(b)) => k = b,
            (2, Wire::Bytes(b)) => v = b,
            _ => {}
        }
    }
    Some((k, v))
}

/// Map entries as JSON shows them: sorted by key, the last entry of a repeated key kept.
fn sorted_map(mut entries: Entries<'_>) -> Vec<(Text<'_>, Text<'_>)> {
    // Stable: among equal keys the last one stays last.
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let mut out: Vec<(Text<'_>, Text<'_>)> = Vec::with_capacity(entries.len());
    for (i, (k, v)) in entries.iter().enumerate() {
        if entries.get(i + 1).is_some_and(|next| next.0 == *k) {
            continue;
        }
        out.push((text(k), text(v)));
    }
    out
}

fn owner_ref(o: &[u8]) -> Option<OwnerRef<'_>> {
    let mut r = OwnerRef::default();
    for f in fields(o) {
        match f.ok()? {
            (owner::KIND, Wire::Bytes(b)) => r.kind = Some(text(b)),
            (owner::NAME, Wire::Bytes(b)) => r.name = Some(text(b)),
            (owner::UID, Wire::Bytes(b)) => r.uid = Some(text(b)),
            (owner::API_VERSION, Wire::Bytes(b)) => r.api_version = Some(text(b)),
            (owner::CONTROLLER, Wire::Varint(b)) => r.controller = Some(b != 0),
            (owner::BLOCK_OWNER_DELETION, Wire::Varint(b)) => r.block_owner_deletion = Some(b != 0),
            _ => {}
        }
    }
    Some(r)
}

// ---- JSON ----

/// Only the parts of an object's metadata the facts need; serde skips the rest.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    uid: Option<Value>,
    generation: Option<Value>,
    creation_timestamp: Option<Value>,
    deletion_timestamp: Option<Value>,
    labels: Option<Map<String, Value>>,
    annotations: Option<Map<String, Value>>,
    owner_references: Option<Vec<JsonOwner>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonOwner {
    api_version: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    uid: Option<String>,
    controller: Option<bool>,
    block_owner_deletion: Option<bool>,
}

impl From<JsonOwner> for OwnerRef<'static> {
    fn from(o: JsonOwner) -> Self {
        OwnerRef {
            api_version: o.api_version.map(Cow::Owned),
            kind: o.kind.map(Cow::Owned),
            name: o.name.map(Cow::Owned),
            uid: o.uid.map(Cow::Owned),
            controller: o.controller,
            block_owner_deletion: o.block_owner_deletion,
        }
    }
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
fn json_text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn json_string(v: Option<Value>) -> Option<Text<'static>> {
    match v? {
        Value::String(s) => Some(Cow::Owned(s)),
        Value::Null => None,
        other => Some(Cow::Owned(other.to_string())),
    }
}

fn json_pairs(m: Option<Map<String, Value>>) -> Vec<(Text<'static>, Text<'static>)> {
    m.map(|m| m.into_iter().map(|(k, v)| (Cow::Owned(k), Cow::Owned(json_text(v)))).collect()).unwrap_or_default()
}

fn apply_meta(out: &mut ObjectFacts<'static>, m: Meta, wants: Wants) {
    out.uid = json_string(m.uid);
    out.generation = m.generation.and_then(|g| g.as_i64());
    out.creation_timestamp = json_string(m.creation_timestamp).map(Cow::into_owned);
    out.deletion_timestamp = json_string(m.deletion_timestamp).map(Cow::into_owned);
    if wants.maps {
        out.labels = json_pairs(m.labels);
        out.annotations = json_pairs(m.annotations);
    }
    out.owners = m.owner_references.unwrap_or_default().into_iter().map(OwnerRef::from).collect();
}

/// The facts of an object's JSON text, read only as far as they need: once `apiVersion`,
/// `kind`, `metadata` and the wanted parts are read, the rest (usually `spec` and `status`, most
/// of an object) is not scanned. An object whose parts are not shaped as Kubernetes shapes them
/// (a hand-written custom resource) gets the facts it has; `None` when it is not JSON.
pub fn from_json_text(json: &[u8], wants: Wants) -> Option<ObjectFacts<'static>> {
    let mut out = ObjectFacts::default();
    let mut complete = false;
    let mut de = serde_json::Deserializer::from_slice(json);
    let read = serde::de::DeserializeSeed::deserialize(Top { out: &mut out, wants, complete: &mut complete }, &mut de);
    // Stopping early leaves the object unclosed, which the parser reports: expected.
    if complete || read.and_then(|()| de.end()).is_ok() {
        return Some(out);
    }
    // Shaped differently: take what is there, part by part.
    serde_json::from_slice::<Value>(json).ok().map(|v| from_value(v, wants))
}

/// The top-level object, read key by key until the facts are complete.
struct Top<'o> {
    out: &'o mut ObjectFacts<'static>,
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
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "apiVersion" => self.out.api_version = json_string(map.next_value()?),
                "kind" => self.out.kind = json_string(map.next_value()?),
                "metadata" => {
                    if let Some(m) = map.next_value::<Option<Meta>>()? {
                        apply_meta(self.out, m, self.wants);
                    }
                    meta = true;
                }
                "spec" if self.wants.node_name => {
                    self.out.node_name = map.next_value::<Option<SpecHead>>()?.and_then(|s| json_string(s.node_name));
                    spec = true;
                }
                "status" if self.wants.phase => {
                    self.out.phase = map.next_value::<Option<StatusHead>>()?.and_then(|s| json_string(s.phase));
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

/// The facts of an object as a JSON value whose parts may not have Kubernetes' shapes.
pub fn from_value(mut v: Value, wants: Wants) -> ObjectFacts<'static> {
    let mut take = |path: &str| v.pointer_mut(path).map(Value::take);
    let mut out = ObjectFacts {
        api_version: json_string(take("/apiVersion")),
        kind: json_string(take("/kind")),
        uid: json_string(take("/metadata/uid")),
        generation: take("/metadata/generation").and_then(|g| g.as_i64()),
        creation_timestamp: json_string(take("/metadata/creationTimestamp")).map(Cow::into_owned),
        deletion_timestamp: json_string(take("/metadata/deletionTimestamp")).map(Cow::into_owned),
        node_name: if wants.node_name { json_string(take("/spec/nodeName")) } else { None },
        phase: if wants.phase { json_string(take("/status/phase")) } else { None },
        ..Default::default()
    };
    let map = |v: Option<Value>| match v {
        Some(Value::Object(m)) => Some(m),
        _ => None,
    };
    if wants.maps {
        out.labels = json_pairs(map(take("/metadata/labels")));
        out.annotations = json_pairs(map(take("/metadata/annotations")));
    }
    if let Some(Value::Array(owners)) = take("/metadata/ownerReferences") {
        out.owners = owners.into_iter().filter_map(|o| serde_json::from_value::<JsonOwner>(o).ok()).map(OwnerRef::from).collect();
    }
    out
}

// ---- time evidence ----

/// A timestamp an object carries that bounds when a write of it happened: each is set from a
/// clock (the API server's, or the writing client's) before the write that stores it, so the
/// write, and every later revision, happened at or after it (clocks aside). `views::timeline`
/// reads them for every write to map wall-clock time to revisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimeField {
    /// `metadata.creationTimestamp`: the API server's clock at the create.
    CreationTimestamp,
    /// `metadata.managedFields[].time`: the API server's clock when a manager last changed its fields.
    ManagedFieldsTime,
    /// `metadata.deletionTimestamp` minus `metadata.deletionGracePeriodSeconds`: when deletion
    /// was asked for. The timestamp alone is in the future (the end of the grace period).
    DeletionRequested,
    /// A Lease's `spec.renewTime`, `spec.acquireTime`: the holder's clock.
    RenewTime,
    AcquireTime,
    /// An Event's `lastTimestamp`, `deprecatedLastTimestamp`, `eventTime`,
    /// `series.lastObservedTime`: the reporter's clock.
    LastTimestamp,
    DeprecatedLastTimestamp,
    EventTime,
    SeriesLastObservedTime,
    /// `status.conditions[].lastTransitionTime`, `.lastUpdateTime`, `.lastHeartbeatTime`: the
    /// writing controller's clock.
    ConditionLastTransitionTime,
    ConditionLastUpdateTime,
    ConditionLastHeartbeatTime,
}

impl TimeField {
    pub const ALL: [TimeField; 12] = [
        TimeField::CreationTimestamp,
        TimeField::ManagedFieldsTime,
        TimeField::DeletionRequested,
        TimeField::RenewTime,
        TimeField::AcquireTime,
        TimeField::LastTimestamp,
        TimeField::DeprecatedLastTimestamp,
        TimeField::EventTime,
        TimeField::SeriesLastObservedTime,
        TimeField::ConditionLastTransitionTime,
        TimeField::ConditionLastUpdateTime,
        TimeField::ConditionLastHeartbeatTime,
    ];

    /// The field's path in the object's JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeField::CreationTimestamp => "metadata.creationTimestamp",
            TimeField::ManagedFieldsTime => "metadata.managedFields[].time",
            TimeField::DeletionRequested => "metadata.deletionTimestamp-deletionGracePeriodSeconds",
            TimeField::RenewTime => "spec.renewTime",
            TimeField::AcquireTime => "spec.acquireTime",
            TimeField::LastTimestamp => "lastTimestamp",
            TimeField::DeprecatedLastTimestamp => "deprecatedLastTimestamp",
            TimeField::EventTime => "eventTime",
            TimeField::SeriesLastObservedTime => "series.lastObservedTime",
            TimeField::ConditionLastTransitionTime => "status.conditions[].lastTransitionTime",
            TimeField::ConditionLastUpdateTime => "status.conditions[].lastUpdateTime",
            TimeField::ConditionLastHeartbeatTime => "status.conditions[].lastHeartbeatTime",
        }
    }

    /// A metav1.MicroTime (microseconds shown), not a metav1.Time (seconds shown).
    pub fn is_micro(self) -> bool {
        matches!(self, TimeField::RenewTime | TimeField::AcquireTime | TimeField::EventTime | TimeField::SeriesLastObservedTime)
    }

    /// A bit of its own, for sets of fields.
    pub fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A point in time, seconds since the Unix epoch and nanoseconds (0..1e9), ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Stamp {
    pub seconds: i64,
    pub nanos: u32,
}

impl Stamp {
    /// An RFC 3339 time: `2026-01-02T03:04:05Z`, with any fraction (digits past nanoseconds are
    /// dropped), `z`, a numeric offset, and `t` or a space for `T`.
    pub fn parse(s: &str) -> Option<Stamp> {
        let b = s.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let digits = |r: std::ops::Range<usize>| -> Option<i64> {
            let t = s.get(r)?;
            t.bytes().all(|c| c.is_ascii_digit()).then(|| t.parse().ok())?
        };
        let (y, mo, d, h, mi, se) = (digits(0..4)?, digits(5..7)?, digits(8..10)?, digits(11..13)?, digits(14..16)?, digits(17..19)?);
        let mut rest = s.get(19..)?;
        let mut nanos = 0u32;
        if let Some(frac) = rest.strip_prefix('.') {
            let n = frac.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return None;
            }
            for (i, c) in frac.bytes().take(9).take(n).enumerate() {
                nanos += u32::from(c - b'0') * 10u32.pow(8 - i as u32);
            }
            rest = &frac[n..];
        }
        let offset = match rest {
            "Z" | "z" => 0,
            tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) && tz.as_bytes()[3] == b':' => {
                let sign = if tz.starts_with('-') { -1 } else { 1 };
                let (oh, om) = (digits_of(&tz[1..3])?, digits_of(&tz[4..6])?);
                if oh > 23 || om > 59 {
                    return None;
                }
                sign * (oh * 3600 + om * 60)
            }
            _ => return None,
        };
        if !(1..=12).contains(&mo) || !(1..=days_in_month(y, mo)).contains(&d) || h > 23 || mi > 59 || se > 59 {
            return None;
        }
        Some(Stamp { seconds: days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset, nanos })
    }

    /// RFC 3339 in UTC, as the API server writes a Time (seconds) or, when there is a fraction,
    /// a MicroTime (microseconds).
    pub fn rfc3339(&self) -> String {
        let nanos = (self.nanos != 0).then_some(i64::from(self.nanos));
        super::json::time::rfc3339(self.seconds, nanos)
    }

    /// This time `seconds` earlier (`None` when that is not representable).
    pub fn minus_seconds(&self, seconds: i64) -> Option<Stamp> {
        Some(Stamp { seconds: self.seconds.checked_sub(seconds)?, nanos: self.nanos })
    }

    /// The instant just before this one (one nanosecond earlier).
    pub fn just_before(&self) -> Stamp {
        match self.nanos {
            0 => Stamp { seconds: self.seconds.saturating_sub(1), nanos: 999_999_999 },
            n => Stamp { seconds: self.seconds, nanos: n - 1 },
        }
    }
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

fn digits_of(t: &str) -> Option<i64> {
    t.bytes().all(|c| c.is_ascii_digit()).then(|| t.parse().ok())?
}

/// Days of month `m` (1..=12) of year `y` (Gregorian): a date past them (February 30) is not
/// one, as Go's time.Parse, and so the API server, refuses it.
fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// One timestamp an object carries, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimeFact {
    pub field: TimeField,
    pub at: Stamp,
}

impl TimeFact {
    /// The time as the API server shows the field: a Time in whole seconds.
    fn shown(field: TimeField, at: Stamp) -> TimeFact {
        TimeFact { field, at: if field.is_micro() { at } else { Stamp { nanos: 0, ..at } } }
    }
}

/// The timestamps of the object stored at `key` ([`TimeField`]), decrypted first when a key for
/// it is configured; `None` when the value cannot be read. A Secret's (by its key under the
/// secrets prefix, or its kind) are read from its metadata only.
pub fn object_times(decoder: &Decoder, key: &[u8], value: &[u8]) -> Option<Vec<TimeFact>> {
    let secret_key = super::secret::is_secret(super::secret::Evidence { key: Some((key, decoder.etcd_prefix.as_str())), kind: None });
    match &decoder.encryption {
        None => stored_times(&decoder.schemas, value, secret_key),
        Some(config) => match config.decrypt(key, value) {
            Decrypted::NotEncrypted(v) => stored_times(&decoder.schemas, v, secret_key),
            Decrypted::Decrypted { plaintext, .. } => stored_times(&decoder.schemas, &plaintext, secret_key),
            _ => None,
        },
    }
}

/// The timestamps of a stored value that is not encrypted; `metadata_only` for a Secret's.
pub fn stored_times(schemas: &Schemas, value: &[u8], metadata_only: bool) -> Option<Vec<TimeFact>> {
    match classify(value).ok()? {
        Stored::Protobuf(u) => wire_times(schemas, u, metadata_only),
        Stored::Json(bytes) => Some(json_times(&serde_json::from_slice(bytes).ok()?, metadata_only)),
        Stored::Cbor(bytes) => Some(json_times(&super::cbor::to_json(bytes).ok()?, metadata_only)),
        Stored::Encrypted(_) | Stored::Other(_) => None,
    }
}

/// ManagedFieldsEntry's and ObjectMeta's time field numbers.
mod times {
    pub const MANAGED_FIELDS: u32 = 17;
    pub const DELETION_GRACE_PERIOD: u32 = 10;
    pub const MANAGED_TIME: u32 = 4;
}

/// Where an object's timestamps are on the wire, from its schema plan by JSON name (0: absent).
#[derive(Default)]
struct TimeLayout {
    metadata: u32,
    /// Top-level Time fields (Events).
    top: Vec<(u32, TimeField)>,
    /// `series` and its `lastObservedTime`.
    series: (u32, u32),
    /// `spec` and its Time fields (Leases).
    spec: (u32, Vec<(u32, TimeField)>),
    /// `status`, its repeated `conditions`, and a condition's Time fields.
    status: (u32, u32, Vec<(u32, TimeField)>),
}

/// The number of field `name` of plan `index` when it is a metav1.Time or MicroTime.
fn time_field(plans: &Plans, index: usize, name: &str) -> Option<u32> {
    let f = plans.get(index).fields.iter().find(|f| &*f.json_name == name)?;
    match f.shape {
        Shape::Single(Elem::Message(m)) if matches!(plans.get(m).special, Special::Time | Special::MicroTime) => Some(f.number),
        _ => None,
    }
}

fn time_fields(plans: &Plans, index: usize, names: &[(&str, TimeField)]) -> Vec<(u32, TimeField)> {
    names.iter().filter_map(|(name, field)| time_field(plans, index, name).map(|n| (n, *field))).collect()
}

fn time_layout(plans: &Plans, index: usize, metadata_only: bool) -> TimeLayout {
    let mut l = TimeLayout::default();
    if let Some((n, m)) = message_field(plans, index, "metadata") {
        if plans.get(m).is_object_meta {
            l.metadata = n;
        }
    }
    if metadata_only {
        return l;
    }
    l.top = time_fields(
        plans,
        index,
        &[("lastTimestamp", TimeField::LastTimestamp), ("deprecatedLastTimestamp", TimeField::DeprecatedLastTimestamp), ("eventTime", TimeField::EventTime)],
    );
    if let Some((n, m)) = message_field(plans, index, "series") {
        l.series = (n, time_field(plans, m, "lastObservedTime").unwrap_or(0));
    }
    if let Some((n, m)) = message_field(plans, index, "spec") {
        l.spec = (n, time_fields(plans, m, &[("renewTime", TimeField::RenewTime), ("acquireTime", TimeField::AcquireTime)]));
    }
    if let Some((n, m)) = message_field(plans, index, "status") {
        let conditions = plans.get(m).fields.iter().find(|f| &*f.json_name == "conditions");
        if let Some((c, Shape::Repeated(Elem::Message(cm)))) = conditions.map(|f| (f.number, f.shape)) {
            let names = [
                ("lastTransitionTime", TimeField::ConditionLastTransitionTime),
                ("lastUpdateTime", TimeField::ConditionLastUpdateTime),
                ("lastHeartbeatTime", TimeField::ConditionLastHeartbeatTime),
            ];
            l.status = (n, c, time_fields(plans, cm, &names));
        }
    }
    l
}

/// A metav1.Time or MicroTime off the wire: `Some(None)` without seconds (shown as null).
fn wire_stamp(t: &[u8]) -> Option<Option<Stamp>> {
    let (mut seconds, mut nanos) = (None, 0u32);
    for f in fields(t) {
        match f.ok()? {
            (1, Wire::Varint(s)) => seconds = Some(s as i64),
            (2, Wire::Varint(n)) => nanos = u32::try_from(n).ok().filter(|n| *n < 1_000_000_000).unwrap_or(0),
            _ => {}
        }
    }
    Some(seconds.map(|seconds| Stamp { seconds, nanos }))
}

/// Singular fields merge as protobuf merges them (the last occurrence wins); repeated ones
/// (managedFields, conditions) add up. A metav1.Time keeps its seconds only, as the API server
/// shows it: a fraction on the wire would make a timestamp a user reads in `get -o json` later
/// than itself (dropping it only weakens the bound).
#[derive(Default)]
struct Collected {
    singular: Vec<TimeFact>,
    repeated: Vec<TimeFact>,
}

impl Collected {
    fn set(&mut self, field: TimeField, at: Option<Stamp>) {
        self.singular.retain(|f| f.field != field);
        if let Some(at) = at {
            self.singular.push(TimeFact::shown(field, at));
        }
    }

    fn add(&mut self, field: TimeField, at: Option<Stamp>) {
        if let Some(at) = at {
            self.repeated.push(TimeFact::shown(field, at));
        }
    }

    fn finish(mut self) -> Vec<TimeFact> {
        self.singular.append(&mut self.repeated);
        self.singular.sort_unstable();
        self.singular
    }
}

fn wire_times(schemas: &Schemas, u: Unknown<'_>, metadata_only: bool) -> Option<Vec<TimeFact>> {
    let plans = schemas.plans();
    let index = schemas.plan_for_type(&u.api_version, &u.kind)?;
    let l = time_layout(plans, index, metadata_only || u.kind == super::secret::SECRET_KIND);
    let mut out = Collected::default();
    let (mut deletion, mut grace) = (None, None);
    for field in fields(u.raw) {
        let (n, Wire::Bytes(b)) = field.ok()? else { continue };
        if n == 0 {
            continue;
        }
        if n == l.metadata {
            wire_meta_times(b, &mut out, &mut deletion, &mut grace)?;
        } else if let Some(&(_, f)) = l.top.iter().find(|(m, _)| *m == n) {
            out.set(f, wire_stamp(b)?);
        } else if n == l.series.0 && l.series.1 != 0 {
            for sub in fields(b) {
                if let (m, Wire::Bytes(t)) = sub.ok()? {
                    if m == l.series.1 {
                        out.set(TimeField::SeriesLastObservedTime, wire_stamp(t)?);
                    }
                }
            }
        } else if n == l.spec.0 && !l.spec.1.is_empty() {
            for sub in fields(b) {
                if let (m, Wire::Bytes(t)) = sub.ok()? {
                    if let Some(&(_, f)) = l.spec.1.iter().find(|(k, _)| *k == m) {
                        out.set(f, wire_stamp(t)?);
                    }
                }
            }
        } else if n == l.status.0 && l.status.1 != 0 {
            for sub in fields(b) {
                let (m, Wire::Bytes(condition)) = sub.ok()? else { continue };
                if m != l.status.1 {
                    continue;
                }
                for c in fields(condition) {
                    if let (k, Wire::Bytes(t)) = c.ok()? {
                        if let Some(&(_, f)) = l.status.2.iter().find(|(j, _)| *j == k) {
                            out.add(f, wire_stamp(t)?);
                        }
                    }
                }
            }
        }
    }
    out.set(TimeField::DeletionRequested, deletion_requested(deletion, grace));
    Some(out.finish())
}

fn wire_meta_times(meta: &[u8], out: &mut Collected, deletion: &mut Option<Stamp>, grace: &mut Option<i64>) -> Option<()> {
    for field in fields(meta) {
        match field.ok()? {
            (meta::CREATION_TIMESTAMP, Wire::Bytes(t)) => out.set(TimeField::CreationTimestamp, wire_stamp(t)?),
            (meta::DELETION_TIMESTAMP, Wire::Bytes(t)) => *deletion = wire_stamp(t)?,
            (times::DELETION_GRACE_PERIOD, Wire::Varint(g)) => *grace = Some(g as i64),
            (times::MANAGED_FIELDS, Wire::Bytes(entry)) => {
                for f in fields(entry) {
                    if let (times::MANAGED_TIME, Wire::Bytes(t)) = f.ok()? {
                        out.add(TimeField::ManagedFieldsTime, wire_stamp(t)?);
                    }
                }
            }
            _ => {}
        }
    }
    Some(())
}

/// When deletion was asked for: the deletion timestamp less the grace period, which the API
/// server added to its clock. Without the grace period the time says nothing sound.
fn deletion_requested(deletion: Option<Stamp>, grace: Option<i64>) -> Option<Stamp> {
    deletion?.minus_seconds(grace.filter(|g| *g >= 0)?)
}

/// The timestamps of an object as a JSON value (stored as JSON or CBOR).
pub fn json_times(o: &Value, metadata_only: bool) -> Vec<TimeFact> {
    let mut out = Collected::default();
    let stamp = |v: Option<&Value>| v.and_then(Value::as_str).and_then(Stamp::parse);
    out.set(TimeField::CreationTimestamp, stamp(o.pointer("/metadata/creationTimestamp")));
    for m in o.pointer("/metadata/managedFields").and_then(Value::as_array).into_iter().flatten() {
        out.add(TimeField::ManagedFieldsTime, stamp(m.get("time")));
    }
    let grace = o.pointer("/metadata/deletionGracePeriodSeconds").and_then(Value::as_i64);
    out.set(TimeField::DeletionRequested, deletion_requested(stamp(o.pointer("/metadata/deletionTimestamp")), grace));
    let secret = o.get("kind").and_then(Value::as_str) == Some(super::secret::SECRET_KIND);
    if metadata_only || secret {
        return out.finish();
    }
    for (pointer, field) in [
        ("/lastTimestamp", TimeField::LastTimestamp),
        ("/deprecatedLastTimestamp", TimeField::DeprecatedLastTimestamp),
        ("/eventTime", TimeField::EventTime),
        ("/series/lastObservedTime", TimeField::SeriesLastObservedTime),
        ("/spec/renewTime", TimeField::RenewTime),
        ("/spec/acquireTime", TimeField::AcquireTime),
    ] {
        out.set(field, stamp(o.pointer(pointer)));
    }
    for c in o.pointer("/status/conditions").and_then(Value::as_array).into_iter().flatten() {
        out.add(TimeField::ConditionLastTransitionTime, stamp(c.get("lastTransitionTime")));
        out.add(TimeField::ConditionLastUpdateTime, stamp(c.get("lastUpdateTime")));
        out.add(TimeField::ConditionLastHeartbeatTime, stamp(c.get("lastHeartbeatTime")));
    }
    out.finish()
}

/// The timestamps of `now` that `before` (the same key's previous version) does not carry as
/// often: what the write of `now` set. Both sorted ([`stored_times`] sorts them).
pub fn new_times(now: &[TimeFact], before: &[TimeFact]) -> Vec<TimeFact> {
    let mut fresh = Vec::new();
    let mut old = before.iter().peekable();
    for t in now {
        while old.next_if(|o| *o < t).is_some() {}
        if old.next_if(|o| *o == t).is_none() {
            fresh.push(*t);
        }
    }
    fresh
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(json: &str, wants: Wants) -> ObjectFacts<'static> {
        from_json_text(json.as_bytes(), wants).expect("JSON")
    }

    #[test]
    fn facts_of_a_json_pod() {
        let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"default","uid":"u1","resourceVersion":"7","generation":2,
            "creationTimestamp":"2024-01-01T00:00:00Z","labels":{"app":"web","tier":"front"},"annotations":{"a":"1"},
            "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-1","uid":"rs1","controller":false},
                               {"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-2","uid":"rs2","controller":true,"blockOwnerDeletion":true}]},
            "spec":{"nodeName":"node-7","containers":[{"name":"c"}]},"status":{"phase":"Running"}}"#;
        let c = facts(pod, Wants::ALL);
        assert_eq!((c.api_version.as_deref(), c.kind.as_deref(), c.uid.as_deref(), c.generation), (Some("v1"), Some("Pod"), Some("u1"), Some(2)));
        assert_eq!((c.node_name.as_deref(), c.phase.as_deref()), (Some("node-7"), Some("Running")));
        assert_eq!(c.labels, vec![("app".into(), "web".into()), ("tier".into(), "front".into())]);
        assert_eq!(c.main_owner().and_then(|o| o.name.as_deref()), Some("web-2"));
        assert_eq!(c.owners.len(), 2);
    }

    #[test]
    fn reading_only_what_is_wanted_gives_the_same_facts() {
        let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","uid":"u1","labels":{"a":"b"}},"spec":{"containers":[{"name":"c","args":["x\"}"]}],"nodeName":"n1"},"status":{"phase":"Running","conditions":[]}}"#;
        let deploy = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","uid":"u2","ownerReferences":[{"kind":"X","name":"x","uid":"u0"}]},"spec":{"replicas":3},"status":{"replicas":3}}"#;
        let cr = r#"{"spec":{"a":1},"status":{"phase":"Ready"},"metadata":{"name":"w","uid":"u3"},"kind":"Widget","apiVersion":"x.example.com/v1"}"#;
        for (json, wants) in [
            (pod, Wants::for_resource("", "pods")),
            (deploy, Wants::for_resource("apps", "deployments")),
            (cr, Wants::for_resource("x.example.com", "widgets")),
        ] {
            let full = from_value(serde_json::from_str(json).unwrap(), Wants::ALL);
            let mut expected = full.clone();
            if !wants.node_name {
                expected.node_name = None;
            }
            if !wants.phase {
                expected.phase = None;
            }
            assert_eq!(facts(json, wants), expected, "{json}");
        }
        assert_eq!(facts(cr, Wants::ALL).phase.as_deref(), Some("Ready"));
        // Cut short after metadata: not JSON, nothing.
        assert_eq!(from_json_text(br#"{"apiVersion":"v1","kind":"Pod","metadata":{"uid":"u"#, Wants::ALL), None);
    }

    #[test]
    fn odd_shapes_keep_what_they_can() {
        // A custom resource with a non-string label value and a spec that is a list.
        let cr = r#"{"apiVersion":"x.io/v1","kind":"W","metadata":{"name":"a","labels":{"n":3},"generation":"x"},"spec":[1,2]}"#;
        let c = facts(cr, Wants::ALL);
        assert_eq!(c.kind.as_deref(), Some("W"));
        assert_eq!(c.labels, vec![("n".into(), "3".into())]);
        assert_eq!(c.generation, None);
        assert_eq!(c.node_name, None);
        assert_eq!(from_json_text(b"not json", Wants::ALL), None);
    }

    #[test]
    fn field_numbers_are_the_schemas() {
        let schemas = Schemas::embedded().expect("embedded schemas");
        let plans = schemas.plans();
        let number = |message: &str, name: &str| {
            let plan = plans.get(plans.index_of(message).expect(message));
            plan.fields.iter().find(|f| &*f.json_name == name).map(|f| f.number).expect(name)
        };
        let m = "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta";
        assert_eq!(
            [meta::UID, meta::GENERATION, meta::CREATION_TIMESTAMP, meta::DELETION_TIMESTAMP, meta::LABELS, meta::ANNOTATIONS, meta::OWNER_REFERENCES],
            ["uid", "generation", "creationTimestamp", "deletionTimestamp", "labels", "annotations", "ownerReferences"].map(|n| number(m, n))
        );
        let o = "k8s.io.apimachinery.pkg.apis.meta.v1.OwnerReference";
        assert_eq!(
            [owner::KIND, owner::NAME, owner::UID, owner::API_VERSION, owner::CONTROLLER, owner::BLOCK_OWNER_DELETION],
            ["kind", "name", "uid", "apiVersion", "controller", "blockOwnerDeletion"].map(|n| number(o, n))
        );
    }

    /// A Pod whose metadata comes in two pieces (protobuf merges them), with a repeated label
    /// key, unsorted labels, a zero generation and a Time without seconds: the facts are what
    /// the renderer (held to the API server's JSON by tests/k8s_fixtures.rs) writes.
    #[test]
    fn wire_facts_follow_protobufs_merge_and_jsons_rules() {
        use crate::protowire::Encoder;
        let e = || Encoder::new();
        let entry = |k: &str, v: &str| e().bytes(1, k.as_bytes()).bytes(2, v.as_bytes()).finish();
        let meta1 = e().bytes(5, b"u1").bytes(11, &entry("b", "1")).bytes(11, &entry("a", "1")).finish();
        let owner = e().bytes(1, b"ReplicaSet").bytes(3, b"r").bytes(4, b"ur").varint(6, 1).finish();
        let meta2 = e().bytes(11, &entry("b", "2")).varint(7, 0).bytes(8, &[]).bytes(13, &owner).bytes(12, &entry("z", "")).finish();
        let pod = e().bytes(1, &meta1).bytes(1, &meta2).bytes(2, &e().bytes(10, b"n1").finish()).bytes(3, &e().bytes(1, b"Running").finish()).finish();
        let unknown = e().bytes(1, &e().bytes(1, b"v1").bytes(2, b"Pod").finish()).bytes(2, &pod).finish();
        let stored = [crate::k8s::envelope::PROTOBUF_MAGIC, &unknown].concat();
        let schemas = Schemas::embedded().expect("embedded schemas");
        let wire = stored_facts(&schemas, &stored, Wants::ALL).expect("facts");
        assert_eq!(wire.uid.as_deref(), Some("u1"));
        assert_eq!(wire.labels, vec![("a".into(), "1".into()), ("b".into(), "2".into())]);
        assert_eq!(wire.annotations, vec![("z".into(), "".into())]);
        assert_eq!((wire.generation, wire.creation_timestamp.as_deref()), (None, None));
        assert_eq!(wire.main_owner().map(|o| (o.kind.as_deref(), o.api_version.as_deref(), o.controller)), Some((Some("ReplicaSet"), None, Some(true))));
        assert_eq!((wire.node_name.as_deref(), wire.phase.as_deref()), (Some("n1"), Some("Running")));
        let decoder = crate::k8s::decoder::Decoder { schemas, options: Default::default(), encryption: None, etcd_prefix: "/registry".into() };
        let crate::k8s::decoder::Decoded::Object { json, .. } = decoder.decode(&stored) else { panic!("renders") };
        assert_eq!(wire, from_value(json.value().unwrap(), Wants::ALL), "{}", json.as_str());
        // Not wanted, not read.
        let few = stored_facts(&decoder.schemas, &stored, Wants::default()).expect("facts");
        assert_eq!((few.labels.len(), few.node_name, few.phase, few.uid.as_deref()), (0, None, None, Some("u1")));
    }

    #[test]
    fn stamps_parse_as_rfc_3339_says() {
        let p = |s: &str| Stamp::parse(s);
        assert_eq!(p("1970-01-01T00:00:00Z"), Some(Stamp { seconds: 0, nanos: 0 }));
        assert_eq!(p("2023-11-14T22:13:20.5+01:00"), Some(Stamp { seconds: 1_700_000_000 - 3600, nanos: 500_000_000 }));
        assert_eq!(p("2023-11-14t22:13:20.123456789123z"), Some(Stamp { seconds: 1_700_000_000, nanos: 123_456_789 }));
        for bad in [
            "yesterday",
            "2023-11-14T22:13:20",
            "2023-11-14T22:13:20.Z",
            "2023-13-14T22:13:20Z",
            "2023-11-14T24:13:20Z",
            // Go's time.Parse (and so the API server) refuses a leap second.
            "2016-12-31T23:59:60Z",
            "2023-11-14T22:13:20+0100",
            "+023-11-14T22:13:20Z",
            "2026-02-30T10:00:00Z",
            "2026-02-29T10:00:00Z",
            "2100-02-29T10:00:00Z",
            "2026-04-31T10:00:00Z",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
        // Leap days of leap years are days.
        assert_eq!(p("2024-02-29T00:00:00Z"), Some(Stamp { seconds: 1_709_164_800, nanos: 0 }));
        assert!(p("2000-02-29T00:00:00Z").is_some());
        let t = p("2026-03-01T10:02:10.5Z").unwrap();
        assert_eq!(
            (t.to_string(), t.just_before() < t, Stamp { seconds: 5, nanos: 0 }.just_before()),
            ("2026-03-01T10:02:10.500000Z".into(), true, Stamp { seconds: 4, nanos: 999_999_999 })
        );
    }

    fn fact(field: TimeField, s: &str) -> TimeFact {
        TimeFact { field, at: Stamp::parse(s).unwrap() }
    }

    /// A Lease, an Event and a Pod being deleted, built on the wire with the numbers the schemas
    /// give (looked up here by JSON name), read as the JSON the renderer writes says.
    #[test]
    fn times_off_the_wire_are_the_rendered_objects() {
        use crate::protowire::Encoder;
        let schemas = Schemas::embedded().expect("embedded schemas");
        let e = || Encoder::new();
        let time = |s: i64, n: u64| e().varint(1, s as u64).varint(2, n).finish();
        let managed = |s: i64| e().bytes(1, b"kubelet").bytes(4, &time(s, 0)).finish();
        let stored = |api_version: &str, kind: &str, raw: Vec<u8>| {
            let unknown = e().bytes(1, &e().bytes(1, api_version.as_bytes()).bytes(2, kind.as_bytes()).finish()).bytes(2, &raw).finish();
            [crate::k8s::envelope::PROTOBUF_MAGIC, &unknown].concat()
        };
        let meta = e().bytes(1, b"n").bytes(8, &time(1_700_000_000, 700)).bytes(17, &managed(1_700_000_100)).bytes(17, &managed(1_700_000_050)).finish();
        let lease = stored(
            "coordination.k8s.io/v1",
            "Lease",
            e().bytes(1, &meta).bytes(2, &e().bytes(3, &time(1_700_000_001, 250_000_000)).bytes(4, &time(1_700_000_200, 0)).finish()).finish(),
        );
        let event = stored(
            "v1",
            "Event",
            e().bytes(1, &meta)
                .bytes(7, &time(1_700_000_300, 0))
                .bytes(10, &time(1_700_000_301, 5_000))
                .bytes(11, &e().varint(1, 2).bytes(2, &time(1_700_000_302, 0)).finish())
                .finish(),
        );
        let deleting = e().bytes(1, b"p").bytes(9, &time(1_700_000_430, 0)).varint(10, 30).finish();
        let condition = e().bytes(1, b"Ready").bytes(4, &time(1_700_000_399, 0)).finish();
        let pod = stored("v1", "Pod", e().bytes(1, &deleting).bytes(3, &e().bytes(1, b"Running").bytes(2, &condition).bytes(2, &condition).finish()).finish());
        let decoder = crate::k8s::decoder::Decoder { schemas, options: Default::default(), encryption: None, etcd_prefix: "/registry".into() };
        for value in [&lease, &event, &pod] {
            let crate::k8s::decoder::Decoded::Object { json, .. } = decoder.decode(value) else { panic!("renders") };
            let wire = stored_times(&decoder.schemas, value, false).expect("times");
            assert_eq!(wire, json_times(&json.value().unwrap(), false), "{}", json.as_str());
            assert!(!wire.is_empty());
        }
        let pod_times = stored_times(&decoder.schemas, &pod, false).unwrap();
        assert_eq!(
            pod_times,
            vec![
                fact(TimeField::DeletionRequested, "2023-11-14T22:20:00Z"),
                fact(TimeField::ConditionLastTransitionTime, "2023-11-14T22:19:59Z"),
                fact(TimeField::ConditionLastTransitionTime, "2023-11-14T22:19:59Z")
            ]
        );
        let lease_times = stored_times(&decoder.schemas, &lease, false).unwrap();
        assert!(lease_times.contains(&fact(TimeField::AcquireTime, "2023-11-14T22:13:21.25Z")), "{lease_times:?}");
        // A Secret's are its metadata's only, whatever it holds: the key says it is one.
        let as_secret = object_times(&decoder, b"/registry/secrets/ns/s", &lease).unwrap();
        assert_eq!(
            as_secret.iter().map(|t| t.field).collect::<Vec<_>>(),
            [TimeField::CreationTimestamp, TimeField::ManagedFieldsTime, TimeField::ManagedFieldsTime]
        );
    }

    #[test]
    fn a_write_sets_the_times_its_previous_version_did_not_carry_as_often() {
        let (c, m) = (TimeField::CreationTimestamp, TimeField::ManagedFieldsTime);
        let before = vec![fact(c, "2026-01-01T00:00:00Z"), fact(m, "2026-01-01T00:00:00Z"), fact(m, "2026-01-01T00:01:00Z")];
        let now = vec![fact(c, "2026-01-01T00:00:00Z"), fact(m, "2026-01-01T00:00:00Z"), fact(m, "2026-01-01T00:00:00Z"), fact(m, "2026-01-01T00:02:00Z")];
        assert_eq!(new_times(&now, &before), vec![fact(m, "2026-01-01T00:00:00Z"), fact(m, "2026-01-01T00:02:00Z")]);
        assert_eq!(new_times(&now, &[]), now);
        assert_eq!(new_times(&before, &before), vec![]);
    }

    #[test]
    fn time_field_numbers_are_the_schemas() {
        let schemas = Schemas::embedded().expect("embedded schemas");
        let plans = schemas.plans();
        let number = |message: &str, name: &str| {
            let plan = plans.get(plans.index_of(message).expect(message));
            plan.fields.iter().find(|f| &*f.json_name == name).map(|f| f.number).expect(name)
        };
        let m = "k8s.io.apimachinery.pkg.apis.meta.v1.";
        assert_eq!(
            [times::MANAGED_FIELDS, times::DELETION_GRACE_PERIOD, times::MANAGED_TIME],
            [
                number(&format!("{m}ObjectMeta"), "managedFields"),
                number(&format!("{m}ObjectMeta"), "deletionGracePeriodSeconds"),
                number(&format!("{m}ManagedFieldsEntry"), "time")
            ]
        );
    }
}
