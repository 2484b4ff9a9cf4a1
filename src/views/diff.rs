//! `diff`: what restoring OLD over a cluster now at NEW would do, key by key. Every key of the
//! two keyspaces (each at its read revision) falls in one class:
//!
//! - **lost**: in NEW, absent in OLD: the restore deletes it;
//! - **reappear**: in OLD, absent in NEW: the restore brings it back;
//! - **revert**: in both with different value bytes: the restore rolls it back (Kubernetes
//!   objects also get the fields that differ, and which top-level parts they touch);
//! - **rewritten**: same value bytes, written again since (another mod revision);
//! - **unchanged**: same bytes, same revision.
//!
//! Both keyspaces are read at once (one thread each) as key-sorted lists of borrowed entries, then
//! merged in one walk: values are compared by length, then bytes, straight from the two mapped
//! files, so no value is held. Only objects that revert are decoded. Restore hazards are
//! computed over every object of OLD (what the cluster holds after the restore) against NEW.

use crate::error::Result;
use crate::etcd::lease::Lease;
use crate::etcd::mvcc::{KeyValueRef, RevisionEntry};
use crate::etcd::KeyRange;
use crate::k8s::decoder::{is_secret, DecodeOptions, Decoded, Decoder};
use crate::k8s::facts::{object_facts, ObjectFacts};
use crate::k8s::fields::{diff as field_diff, parts, Change};
use crate::k8s::key::{normalize_prefix, Catalog, ObjectId};
use crate::snapshot::Snapshot;
use crate::source::InputKind;
use crate::views::history::redact_changes;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The summary group of keys that are not Kubernetes objects.
pub const NON_OBJECT_GROUP: &str = "(non-object keys)";

#[derive(Debug, Clone, Default)]
pub struct DiffQuery {
    /// Read revisions (0 = current).
    pub rev_old: i64,
    pub rev_new: i64,
    /// kubectl type names; when given, only objects of these types are compared.
    pub types: Vec<String>,
    /// Only objects in this namespace (cluster-scoped objects and other keys are left out).
    pub namespace: Option<String>,
    pub etcd_prefix: String,
    /// Keep managedFields and resourceVersion in field changes.
    pub all_fields: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    Lost,
    Reappear,
    Revert,
    Rewritten,
    Unchanged,
}

impl Class {
    pub const ALL: [Class; 5] = [Class::Lost, Class::Reappear, Class::Revert, Class::Rewritten, Class::Unchanged];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Lost => "lost",
            Class::Reappear => "reappear",
            Class::Revert => "revert",
            Class::Rewritten => "rewritten",
            Class::Unchanged => "unchanged",
        }
    }

    pub fn parse(s: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// One side's record of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Side {
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
    pub lease: i64,
    pub value_size: usize,
}

impl Side {
    fn of(kv: &KeyValueRef<'_>) -> Side {
        Side { create_revision: kv.create_revision, mod_revision: kv.mod_revision, version: kv.version, lease: kv.lease, value_size: kv.value.len() }
    }
}

/// A key that is not unchanged.
#[derive(Debug, Clone)]
pub struct DiffEntry {
    pub key: Vec<u8>,
    pub class: Class,
    /// The summary group: `deployments.apps`, `pods`, or [`NON_OBJECT_GROUP`].
    pub group: String,
    pub object: Option<ObjectId>,
    pub old: Option<Side>,
    pub new: Option<Side>,
    /// For reverts of objects: the fields that differ (`old` = OLD's value, `new` = NEW's);
    /// `Err` when a side does not decode.
    pub changes: Option<std::result::Result<Vec<Change>, String>>,
    /// Top-level fields the changes touch (`spec`, `status`, `metadata`, …).
    pub parts: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub lost: u64,
    pub reappear: u64,
    pub revert: u64,
    pub rewritten: u64,
    pub unchanged: u64,
}

impl Counts {
    pub fn add(&mut self, c: Class) {
        *self.get_mut(c) += 1;
    }
    pub fn get(&self, c: Class) -> u64 {
        match c {
            Class::Lost => self.lost,
            Class::Reappear => self.reappear,
            Class::Revert => self.revert,
            Class::Rewritten => self.rewritten,
            Class::Unchanged => self.unchanged,
        }
    }
    fn get_mut(&mut self, c: Class) -> &mut u64 {
        match c {
            Class::Lost => &mut self.lost,
            Class::Reappear => &mut self.reappear,
            Class::Revert => &mut self.revert,
            Class::Rewritten => &mut self.rewritten,
            Class::Unchanged => &mut self.unchanged,
        }
    }
}

/// What one input is, as compared.
#[derive(Debug, Clone)]
pub struct InputSummary {
    pub input: String,
    pub kind: InputKind,
    /// The revision read.
    pub revision: i64,
    pub current_revision: i64,
    pub compact_revision: i64,
    /// Live keys at the read revision (before filters).
    pub keys: u64,
}

/// An object in OLD whose owner is not in OLD: the garbage collector deletes it after the restore.
#[derive(Debug, Clone)]
pub struct Orphan {
    pub key: Vec<u8>,
    pub object: ObjectId,
    pub owner_kind: String,
    pub owner_name: String,
    pub owner_uid: String,
    /// The owner exists in NEW: the restore is what removes it.
    pub owner_in_new: bool,
}

/// A Pod in OLD bound to a node OLD has no Node object for.
#[derive(Debug, Clone)]
pub struct StrandedPod {
    pub key: Vec<u8>,
    pub object: ObjectId,
    pub node: String,
    /// The Node exists in NEW (the restore deletes it; its kubelet registers it again).
    pub node_in_new: bool,
}

/// A lease in OLD that NEW no longer has (it expired or was revoked since): the restore grants
/// it again, and its keys come back until it expires once more.
#[derive(Debug, Clone)]
pub struct LeaseBack {
    pub id: i64,
    pub ttl: i64,
    /// OLD's keys attached to it.
    pub keys: Vec<Vec<u8>>,
}

#[derive(Debug, Clone, Default)]
pub struct Hazards {
    pub orphans: Vec<Orphan>,
    pub stranded_pods: Vec<StrandedPod>,
    /// OLD's revision is below NEW's by this much: watchers would see revisions go backwards.
    pub revision_rewind: Option<i64>,
    pub leases_back: Vec<LeaseBack>,
}

impl Hazards {
    pub fn is_empty(&self) -> bool {
        self.orphans.is_empty() && self.stranded_pods.is_empty() && self.revision_rewind.is_none() && self.leases_back.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct DiffResult {
    pub old: InputSummary,
    pub new: InputSummary,
    /// Counts per group, groups in name order.
    pub summary: BTreeMap<String, Counts>,
    /// Every key that is not unchanged, in key order.
    pub entries: Vec<DiffEntry>,
    pub hazards: Hazards,
}

/// One input read for the comparison: its live keys, and its objects' facts.
struct Read<'a> {
    live: Vec<RevisionEntry<'a>>,
    revision: i64,
    catalog: Arc<Catalog>,
    facts: HashMap<&'a [u8], (ObjectId, ObjectFacts)>,
    leases: Vec<Lease>,
    file: Arc<Path>,
}

fn read<'a>(snap: &Snapshot<'a>, rev: i64, decoder: &Decoder, prefix: &str) -> Result<Read<'a>> {
    let store = snap.store();
    let revision = store.read_revision(rev)?;
    let catalog = snap.catalog(decoder, prefix)?;
    let live = store.range(&KeyRange::all(), revision)?;
    let mut facts = HashMap::default();
    for entry in &live {
        let Some(id) = catalog.identify(entry.key, prefix) else { continue };
        let pod = id.group.is_empty() && id.resource == "pods";
        if let Some(f) = object_facts(decoder, entry.key, entry.value(snap.file())?, pod) {
            facts.insert(entry.key, (id, f));
        }
    }
    Ok(Read { live, revision, catalog, facts, leases: snap.leases()?, file: snap.file().clone() })
}

/// Compares OLD with NEW (they may be the same input, read at two revisions).
pub fn diff(old: &Snapshot<'_>, new: &Snapshot<'_>, query: &DiffQuery, decoder: &Decoder) -> Result<DiffResult> {
    let prefix = normalize_prefix(&query.etcd_prefix);
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| read(old, query.rev_old, decoder, &prefix));
        let b = read(new, query.rev_new, decoder, &prefix);
        (a.join().expect("reading OLD does not panic"), b)
    });
    let (a, b) = (a?, b?);
    let filter = Filter::new(query, &a.catalog, &b.catalog)?;
    let mut result = DiffResult {
        old: summary_of(old, &a),
        new: summary_of(new, &b),
        summary: BTreeMap::new(),
        entries: Vec::new(),
        hazards: hazards(&a, &b)?,
    };
    let (fa, fb) = (old.file(), new.file());
    let (mut i, mut j) = (0, 0);
    while i < a.live.len() || j < b.live.len() {
        let (x, y) = (a.live.get(i), b.live.get(j));
        let (x, y) = match (x, y) {
            (Some(x), Some(y)) if x.key < y.key => (Some(x), None),
            (Some(x), Some(y)) if x.key > y.key => (None, Some(y)),
            (x, y) => (x, y),
        };
        i += usize::from(x.is_some());
        j += usize::from(y.is_some());
        let key = x.or(y).expect("one side has the key").key;
        let object = b.catalog.identify(key, &prefix).filter(|id| !id.kind.is_empty()).or_else(|| a.catalog.identify(key, &prefix));
        if !filter.keeps(object.as_ref()) {
            continue;
        }
        let (kx, ky) = (x.map(|e| e.kv(fa)).transpose()?, y.map(|e| e.kv(fb)).transpose()?);
        let class = match (&kx, &ky) {
            (None, Some(_)) => Class::Lost,
            (Some(_), None) => Class::Reappear,
            (Some(p), Some(q)) if p.value.len() != q.value.len() || p.value != q.value => Class::Revert,
            (Some(p), Some(q)) if Side::of(p) != Side::of(q) => Class::Rewritten,
            _ => Class::Unchanged,
        };
        let group = object.as_ref().map(ObjectId::group_resource).unwrap_or_else(|| NON_OBJECT_GROUP.to_string());
        result.summary.entry(group.clone()).or_default().add(class);
        if class == Class::Unchanged {
            continue;
        }
        let mut entry = DiffEntry { key: key.to_vec(), class, group, object, old: kx.as_ref().map(Side::of), new: ky.as_ref().map(Side::of), changes: None, parts: Vec::new() };
        if let (Class::Revert, Some(_), Some(p), Some(q)) = (class, &entry.object, &kx, &ky) {
            let changes = object_changes(decoder, p, q, query.all_fields);
            if let Ok(c) = &changes {
                entry.parts = parts(c);
            }
            entry.changes = Some(changes);
        }
        result.entries.push(entry);
    }
    Ok(result)
}

fn summary_of(snap: &Snapshot<'_>, r: &Read<'_>) -> InputSummary {
    let store = snap.store();
    InputSummary {
        input: snap.source().input.display().to_string(),
        kind: snap.source().kind,
        revision: r.revision,
        current_revision: store.current_revision(),
        compact_revision: store.compact_revision(),
        keys: r.live.len() as u64,
    }
}

/// Fields of an object that differ between OLD (`p`) and NEW (`q`), both decoded unredacted;
/// a Secret's values are redacted again unless secrets were asked for.
fn object_changes(decoder: &Decoder, p: &KeyValueRef<'_>, q: &KeyValueRef<'_>, all_fields: bool) -> std::result::Result<Vec<Change>, String> {
    let unredacted = DecodeOptions { show_secrets: true, ..decoder.options };
    let decode = |kv: &KeyValueRef<'_>, side: &str| match decoder.decode_at_with(kv.key, kv.value, Some(kv.mod_revision), unredacted) {
        Decoded::Object { json, .. } => json.value().map_err(|e| format!("{side}: {e}")),
        Decoded::Encrypted { provider, key_name, reason, .. } => Err(format!("{side}: encrypted ({provider}, key {key_name}): {reason}")),
        Decoded::Raw { reason } => Err(format!("{side}: {reason}")),
    };
    let (old, new) = (decode(p, "OLD")?, decode(q, "NEW")?);
    let mut changes = field_diff(&old, &new, all_fields);
    if !decoder.options.show_secrets && (is_secret(&old) || is_secret(&new)) {
        redact_changes(&mut changes);
    }
    Ok(changes)
}

/// Which keys a query compares.
struct Filter {
    /// (group, resource) of the types asked for; empty: every key.
    types: Vec<(String, String)>,
    namespace: Option<String>,
}

impl Filter {
    fn new(q: &DiffQuery, old: &Catalog, new: &Catalog) -> Result<Filter> {
        let mut types = Vec::new();
        for t in &q.types {
            let info = new.resolve(t).or_else(|_| old.resolve(t)).map_err(crate::Error::Usage)?;
            types.push((info.group.clone(), info.resource.clone()));
        }
        Ok(Filter { types, namespace: q.namespace.clone() })
    }

    fn keeps(&self, object: Option<&ObjectId>) -> bool {
        if self.types.is_empty() && self.namespace.is_none() {
            return true;
        }
        let Some(id) = object else { return false };
        let type_ok = self.types.is_empty() || self.types.iter().any(|(g, r)| *g == id.group && *r == id.resource);
        let ns_ok = match &self.namespace {
            None => true,
            Some(ns) => id.namespace.as_deref() == Some(ns.as_str()),
        };
        type_ok && ns_ok
    }
}

fn hazards(old: &Read<'_>, new: &Read<'_>) -> Result<Hazards> {
    let uids = |r: &Read<'_>| -> HashSet<String> { r.facts.values().map(|(_, f)| f.uid.clone()).filter(|u| !u.is_empty()).collect() };
    let nodes = |r: &Read<'_>| -> HashSet<String> {
        r.facts.values().filter(|(id, _)| id.group.is_empty() && id.resource == "nodes").map(|(id, _)| id.name.clone()).collect()
    };
    let (old_uids, new_uids) = (uids(old), uids(new));
    let (old_nodes, new_nodes) = (nodes(old), nodes(new));
    let mut h = Hazards::default();
    let mut objects: Vec<(&&[u8], &(ObjectId, ObjectFacts))> = old.facts.iter().collect();
    objects.sort_unstable_by(|x, y| x.0.cmp(y.0));
    for (key, (id, facts)) in objects {
        for o in facts.owners.iter().filter(|o| !old_uids.contains(&o.uid)) {
            h.orphans.push(Orphan {
                key: key.to_vec(),
                object: id.clone(),
                owner_kind: o.kind.clone(),
                owner_name: o.name.clone(),
                owner_uid: o.uid.clone(),
                owner_in_new: new_uids.contains(&o.uid),
            });
        }
        if let Some(node) = facts.node_name.as_ref().filter(|n| !n.is_empty() && !old_nodes.contains(*n)) {
            h.stranded_pods.push(StrandedPod { key: key.to_vec(), object: id.clone(), node: node.clone(), node_in_new: new_nodes.contains(node) });
        }
    }
    if old.revision < new.revision {
        h.revision_rewind = Some(new.revision - old.revision);
    }
    let new_leases: HashSet<i64> = new.leases.iter().map(|l| l.id).collect();
    for lease in old.leases.iter().filter(|l| !new_leases.contains(&l.id)) {
        h.leases_back.push(LeaseBack { id: lease.id, ttl: lease.ttl, keys: Vec::new() });
    }
    if !h.leases_back.is_empty() {
        for entry in &old.live {
            let lease = entry.int64_field(6, &old.file)?;
            if let Some(back) = h.leases_back.iter_mut().find(|b| b.id == lease && lease != 0) {
                back.keys.push(entry.key.to_vec());
            }
        }
    }
    Ok(h)
}
