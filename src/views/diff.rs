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

use crate::cancel::Cancel;
use crate::error::Result;
use crate::etcd::lease::Lease;
use crate::etcd::mvcc::{KeyValueRef, RevisionEntry};
use crate::etcd::KeyRange;
use crate::k8s::decoder::{DecodeOptions, Decoded, Decoder};
use crate::k8s::facts::{object_facts, OwnerRef, Text, Wants};
use crate::k8s::fields::{diff as field_diff, parts, Change};
use crate::k8s::key::{normalize_prefix, Catalog, ObjectId};
use crate::k8s::secret::shown_changes;
use crate::snapshot::Snapshot;
use crate::source::InputKind;
use crate::views::history::Covered;
use crate::views::progress::{self, Counter, Progress};
use crate::views::record::KeyRecord;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::{Serialize, Serializer};
use std::borrow::Cow;
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
    /// Cancelled to stop: the comparison ends with [`crate::Error::Interrupted`] at the next key.
    pub cancel: Cancel,
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

/// One side's record of a key: etcd's fields under etcdctl's names, and the value's size
/// (`valueSize`, ours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Side {
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
    pub lease: i64,
    #[serde(rename = "valueSize")]
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

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InputSummary {
    pub input: String,
    pub kind: InputKind,
    /// The revision read.
    pub revision: i64,
    pub current_revision: i64,
    pub compact_revision: i64,
    /// Live keys at the read revision (before filters).
    pub keys: u64,
    /// The cluster the input belongs to (see [`crate::views::cluster::cluster_id`]); etcdctl's
    /// `cluster_id`, in hex.
    #[serde(rename = "cluster_id", serialize_with = "crate::views::ids::hex_opt")]
    pub cluster_id: Option<u64>,
}

/// Objects in OLD owned by an object OLD does not have: the garbage collector deletes them
/// after the restore. One entry per missing owner.
#[derive(Debug, Clone)]
pub struct Orphans {
    pub owner_kind: String,
    pub owner_name: String,
    pub owner_uid: String,
    /// The owner exists in NEW: the restore is what removes it.
    pub owner_in_new: bool,
    /// Keys of OLD's objects that name it as their owner, in key order.
    pub dependents: Vec<Vec<u8>>,
}

/// Pods in OLD bound to a node OLD has no Node object for. One entry per node.
#[derive(Debug, Clone)]
pub struct StrandedPods {
    pub node: String,
    /// The Node exists in NEW (the restore deletes it; its kubelet registers it again).
    pub node_in_new: bool,
    /// Keys of the Pods, in key order.
    pub pods: Vec<Vec<u8>>,
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
    pub orphans: Vec<Orphans>,
    pub stranded_pods: Vec<StrandedPods>,
    /// OLD's revision is below NEW's by this much: watchers would see revisions go backwards.
    pub revision_rewind: Option<i64>,
    pub leases_back: Vec<LeaseBack>,
    /// Objects of OLD and of NEW whose uid and owners could not be read (encrypted without a
    /// key, damaged, no metadata): orphans and stranded pods are found without them.
    pub unreadable: [u64; 2],
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
    /// The namespaces whose objects were compared (all unless the query named one; keys that
    /// are not namespaced objects are compared in either case unless types were named).
    pub namespaces: Covered,
    /// What the keys name, learned from both inputs' CRDs (hazards hold keys only).
    catalogs: [Arc<Catalog>; 2],
    prefix: String,
}

impl DiffResult {
    /// What the user should know before trusting the comparison: inputs of different
    /// clusters, and OLD newer than NEW (the arguments swapped?).
    pub fn warnings(&self) -> Vec<String> {
        let (old, new) = (&self.old, &self.new);
        let mut warnings = Vec::new();
        if let Some(w) = crate::views::cluster::different_clusters(&[("OLD", old.cluster_id), ("NEW", new.cluster_id)]) {
            warnings.push(w);
        }
        if old.revision > new.revision {
            warnings.push(format!(
                "OLD is newer than NEW (OLD at revision {}, NEW at {}): arguments swapped? diff OLD NEW shows what restoring OLD over NEW would do",
                old.revision, new.revision
            ));
        }
        warnings
    }

    /// The object a key names (as NEW's catalogue knows it, else OLD's).
    pub fn identify(&self, key: &[u8]) -> Option<ObjectId> {
        let [old, new] = &self.catalogs;
        match new.locate(key, &self.prefix) {
            l if l.is_known() => l.object_id(),
            l => old.locate(key, &self.prefix).object_id().filter(|id| !id.kind.is_empty()).or_else(|| l.object_id()),
        }
    }
}

/// `diff -o json`: the whole result as one document, borrowed from it. Each class's entries are
/// serialized one at a time as they are written, never all held as JSON.
#[derive(Serialize)]
pub struct DiffReport<'r> {
    pub old: &'r InputSummary,
    pub new: &'r InputSummary,
    pub warnings: Vec<String>,
    /// `all`, or the namespace compared.
    pub namespaces: &'r str,
    /// Counts per summary group.
    pub summary: &'r BTreeMap<String, Counts>,
    pub lost: ClassEntries<'r>,
    pub reappear: ClassEntries<'r>,
    pub revert: ClassEntries<'r>,
    pub rewritten: ClassEntries<'r>,
    pub hazards: HazardsReport<'r>,
}

/// The entries of one class, in key order, each as an [`EntryRecord`].
pub struct ClassEntries<'r> {
    result: &'r DiffResult,
    class: Class,
}

impl Serialize for ClassEntries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.result.entries.iter().filter(|e| e.class == self.class).map(EntryRecord::of))
    }
}

/// One key that is not unchanged: the key (and the object it names), its summary group, both
/// sides (`null` for the side without it) and, for reverted objects, the top-level `parts` and
/// field `changes` (OLD's value as `old`), or why they could not be compared (`undecodable`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryRecord<'r> {
    #[serde(flatten)]
    pub key: KeyRecord<'r>,
    pub summary_group: &'r str,
    pub old: Option<&'r Side>,
    pub new: Option<&'r Side>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts: Option<&'r [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<&'r [Change]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undecodable: Option<&'r str>,
}

impl<'r> EntryRecord<'r> {
    pub fn of(e: &'r DiffEntry) -> EntryRecord<'r> {
        let (parts, changes, undecodable) = match &e.changes {
            Some(Ok(c)) => (Some(e.parts.as_slice()), Some(c.as_slice()), None),
            Some(Err(reason)) => (None, None, Some(reason.as_str())),
            None => (None, None, None),
        };
        EntryRecord {
            key: KeyRecord::new(&e.key, e.object.as_ref().map(Cow::Borrowed)),
            summary_group: &e.group,
            old: e.old.as_ref(),
            new: e.new.as_ref(),
            parts,
            changes,
            undecodable,
        }
    }
}

/// The restore hazards, each key with the object it names.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HazardsReport<'r> {
    pub revision_rewind: Option<i64>,
    pub unreadable_objects: BothSides,
    pub orphans: Vec<OrphansRecord<'r>>,
    pub pods_on_missing_nodes: Vec<StrandedPodsRecord<'r>>,
    pub leases_back: Vec<LeaseBackRecord<'r>>,
}

/// A count for OLD and for NEW.
#[derive(Serialize)]
pub struct BothSides {
    pub old: u64,
    pub new: u64,
}

/// The owner Kubernetes names in an ownerReference (`kind`, `name`, `uid`).
#[derive(Serialize)]
pub struct OwnerRecord<'r> {
    pub kind: &'r str,
    pub name: &'r str,
    pub uid: &'r str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrphansRecord<'r> {
    pub owner: OwnerRecord<'r>,
    pub owner_in_new: bool,
    pub dependents: Vec<KeyRecord<'r>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StrandedPodsRecord<'r> {
    pub node: &'r str,
    pub node_in_new: bool,
    pub pods: Vec<KeyRecord<'r>>,
}

/// A lease back: its ID as etcdctl prints it (hex), its TTL, and OLD's keys attached to it.
#[derive(Serialize)]
pub struct LeaseBackRecord<'r> {
    #[serde(serialize_with = "crate::views::ids::lease_hex")]
    pub id: i64,
    pub ttl: i64,
    pub keys: Vec<KeyRecord<'r>>,
}

impl DiffResult {
    /// The result as `diff -o json` writes it.
    pub fn report(&self) -> DiffReport<'_> {
        let entries = |class| ClassEntries { result: self, class };
        DiffReport {
            old: &self.old,
            new: &self.new,
            warnings: self.warnings(),
            namespaces: self.namespaces.as_str(),
            summary: &self.summary,
            lost: entries(Class::Lost),
            reappear: entries(Class::Reappear),
            revert: entries(Class::Revert),
            rewritten: entries(Class::Rewritten),
            hazards: self.hazards_report(),
        }
    }

    fn hazards_report<'r>(&'r self) -> HazardsReport<'r> {
        let h = &self.hazards;
        let keys = |keys: &'r [Vec<u8>]| -> Vec<KeyRecord<'r>> { keys.iter().map(|k| KeyRecord::new(k, self.identify(k).map(Cow::Owned))).collect() };
        HazardsReport {
            revision_rewind: h.revision_rewind,
            unreadable_objects: BothSides { old: h.unreadable[0], new: h.unreadable[1] },
            orphans: h
                .orphans
                .iter()
                .map(|o| OrphansRecord {
                    owner: OwnerRecord { kind: &o.owner_kind, name: &o.owner_name, uid: &o.owner_uid },
                    owner_in_new: o.owner_in_new,
                    dependents: keys(&o.dependents),
                })
                .collect(),
            pods_on_missing_nodes: h
                .stranded_pods
                .iter()
                .map(|p| StrandedPodsRecord { node: &p.node, node_in_new: p.node_in_new, pods: keys(&p.pods) })
                .collect(),
            leases_back: h.leases_back.iter().map(|l| LeaseBackRecord { id: l.id, ttl: l.ttl, keys: keys(&l.keys) }).collect(),
        }
    }
}

/// One input read for the comparison: its live keys, and the facts of its objects.
struct Read<'a> {
    live: Vec<RevisionEntry<'a>>,
    revision: i64,
    catalog: Arc<Catalog>,
    /// The uid of every object whose facts could be read.
    uids: HashSet<Text<'a>>,
    /// Names of the Node objects.
    nodes: HashSet<&'a str>,
    /// OLD only (what the restore leaves): objects with owner references, Pods bound to a node.
    owned: Vec<(&'a [u8], Vec<OwnerRef<'a>>)>,
    bound: Vec<(&'a [u8], Text<'a>)>,
    /// Objects whose facts could not be read.
    unreadable: u64,
    leases: Vec<Lease>,
    file: Arc<Path>,
}

/// Reads one input; `relations` keeps what the hazards need of the objects that remain after
/// the restore (OLD's owner references and node bindings); of NEW only uids and nodes are kept.
fn read<'a>(snap: &Snapshot<'a>, rev: i64, decoder: &Decoder, prefix: &str, relations: bool, cancel: &Cancel) -> Result<Read<'a>> {
    let store = snap.store();
    let revision = store.read_revision(rev)?;
    let catalog = snap.catalog(decoder, prefix)?;
    let live = store.range_until(&KeyRange::all(), revision, cancel)?;
    let (mut uids, mut nodes, mut owned, mut bound, mut unreadable) = (HashSet::default(), HashSet::default(), Vec::new(), Vec::new(), 0);
    for entry in &live {
        cancel.check()?;
        let located = catalog.locate(entry.key, prefix);
        let Some(group_resource) = located.group_resource() else { continue };
        if group_resource == ("", "nodes") {
            nodes.extend(located.name());
        }
        let pod = relations && group_resource == ("", "pods");
        let Some(facts) = object_facts(decoder, entry.key, entry.value(snap.file())?, Wants { node_name: pod, ..Wants::default() }) else {
            unreadable += 1;
            continue;
        };
        if let Some(uid) = facts.uid.filter(|u| !u.is_empty()) {
            uids.insert(uid);
        }
        if relations && !facts.owners.is_empty() {
            owned.push((entry.key, facts.owners));
        }
        if let Some(node) = facts.node_name.filter(|n| !n.is_empty()) {
            bound.push((entry.key, node));
        }
    }
    Ok(Read { live, revision, catalog, uids, nodes, owned, bound, unreadable, leases: snap.leases()?, file: snap.file().clone() })
}

/// Compares OLD with NEW (they may be the same input, read at two revisions).
pub fn diff(old: &Snapshot<'_>, new: &Snapshot<'_>, query: &DiffQuery, decoder: &Decoder) -> Result<DiffResult> {
    diff_reporting(old, new, query, decoder, &mut progress::ignore)
}

/// [`diff`], reporting the keys of both sides compared.
pub fn diff_reporting(old: &Snapshot<'_>, new: &Snapshot<'_>, query: &DiffQuery, decoder: &Decoder, report: &mut dyn FnMut(Progress)) -> Result<DiffResult> {
    let prefix = normalize_prefix(&query.etcd_prefix);
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| read(old, query.rev_old, decoder, &prefix, true, &query.cancel));
        let b = read(new, query.rev_new, decoder, &prefix, false, &query.cancel);
        (a.join().expect("reading OLD does not panic"), b)
    });
    let (a, b) = (a?, b?);
    let filter = Filter::new(query, &a.catalog, &b.catalog)?;
    let mut counts: HashMap<Option<(&str, &str)>, Counts> = HashMap::default();
    let mut entries = Vec::new();
    // Reverted objects, compared field by field once the walk is done: (entry, OLD's kv, NEW's kv).
    let mut reverted = Vec::new();
    let (fa, fb) = (old.file(), new.file());
    let (mut i, mut j) = (0, 0);
    let mut progress = Counter::new(report, "keys", (a.live.len() + b.live.len()) as u64);
    while i < a.live.len() || j < b.live.len() {
        query.cancel.check()?;
        let (x, y) = match (a.live.get(i), b.live.get(j)) {
            (Some(x), Some(y)) if x.key < y.key => (Some(x), None),
            (Some(x), Some(y)) if x.key > y.key => (None, Some(y)),
            (x, y) => (x, y),
        };
        i += usize::from(x.is_some());
        j += usize::from(y.is_some());
        progress.set((i + j) as u64);
        let key = x.or(y).expect("one side has the key").key;
        let located = match b.catalog.locate(key, &prefix) {
            l if l.is_known() => l,
            l => match a.catalog.locate(key, &prefix) {
                known if known.is_known() => known,
                _ => l,
            },
        };
        if !filter.keeps(located.group_resource(), located.namespace()) {
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
        counts.entry(located.group_resource()).or_default().add(class);
        if class == Class::Unchanged {
            continue;
        }
        let object = located.object_id();
        let group = object.as_ref().map(ObjectId::group_resource).unwrap_or_else(|| NON_OBJECT_GROUP.to_string());
        if let (Class::Revert, Some(_), Some(p), Some(q)) = (class, &object, kx, ky) {
            reverted.push((entries.len(), p, q));
        }
        entries.push(DiffEntry {
            key: key.to_vec(),
            class,
            group,
            object,
            old: kx.as_ref().map(Side::of),
            new: ky.as_ref().map(Side::of),
            changes: None,
            parts: Vec::new(),
        });
    }
    // Decoding dominates what is left: split it over two threads.
    let (first, second) = reverted.split_at(reverted.len() / 2);
    type Compared = Vec<(usize, std::result::Result<Vec<Change>, String>)>;
    let compare = |part: &[(usize, KeyValueRef<'_>, KeyValueRef<'_>)]| -> Result<Compared> {
        part.iter()
            .map(|(at, p, q)| {
                query.cancel.check()?;
                Ok((*at, object_changes(decoder, p, q, query.all_fields)))
            })
            .collect()
    };
    let compared = std::thread::scope(|scope| -> Result<_> {
        let other = scope.spawn(|| compare(first));
        let mut done = compare(second)?;
        done.extend(other.join().expect("comparing objects does not panic")?);
        Ok(done)
    })?;
    for (at, changes) in compared {
        if let Ok(c) = &changes {
            entries[at].parts = parts(c);
        }
        entries[at].changes = Some(changes);
    }
    let summary = counts
        .into_iter()
        .map(|(g, c)| {
            let name = match g {
                Some(("", resource)) => resource.to_string(),
                Some((group, resource)) => format!("{resource}.{group}"),
                None => NON_OBJECT_GROUP.to_string(),
            };
            (name, c)
        })
        .collect();
    Ok(DiffResult {
        old: summary_of(old, &a),
        new: summary_of(new, &b),
        namespaces: query.namespace.clone().map_or(Covered::All, Covered::One),
        summary,
        entries,
        hazards: hazards(&a, &b)?,
        catalogs: [a.catalog.clone(), b.catalog.clone()],
        prefix,
    })
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
        cluster_id: crate::views::cluster::cluster_id(snap),
    }
}

/// Fields of an object that differ between OLD (`p`) and NEW (`q`), both decoded unredacted;
/// a Secret's values are redacted again unless secrets were asked for.
fn object_changes(decoder: &Decoder, p: &KeyValueRef<'_>, q: &KeyValueRef<'_>, all_fields: bool) -> std::result::Result<Vec<Change>, String> {
    let unredacted = DecodeOptions { show_secrets: true, ..decoder.options };
    let decode = |kv: &KeyValueRef<'_>, side: &str| match decoder.decode_at_with(kv.key, kv.value, Some(kv.mod_revision), unredacted) {
        Decoded::Object { json, secret, .. } => json.value().map(|v| (v, secret)).map_err(|e| format!("{side}: {e}")),
        Decoded::Encrypted { provider, key_name, reason, .. } => Err(format!("{side}: encrypted ({provider}, key {key_name}): {reason}")),
        Decoded::Raw { reason } => Err(format!("{side}: {reason}")),
    };
    let (old, new) = (decode(p, "OLD")?, decode(q, "NEW")?);
    let changes = field_diff(&old.0, &new.0, all_fields);
    shown_changes(changes, (&old.0, old.1), (&new.0, new.1), !decoder.options.show_secrets)
        .ok_or_else(|| "stored under the secrets prefix but not a Secret: not shown without --show-secrets".to_string())
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

    fn keeps(&self, group_resource: Option<(&str, &str)>, namespace: Option<&str>) -> bool {
        if self.types.is_empty() && self.namespace.is_none() {
            return true;
        }
        let Some((group, resource)) = group_resource else { return false };
        let type_ok = self.types.is_empty() || self.types.iter().any(|(g, r)| g == group && r == resource);
        let ns_ok = match &self.namespace {
            None => true,
            Some(ns) => namespace == Some(ns.as_str()),
        };
        type_ok && ns_ok
    }
}

/// An owner reference's field, `""` when a hand-written object left it out.
fn text<'t>(t: &'t Option<Text<'_>>) -> &'t str {
    t.as_deref().unwrap_or("")
}

fn hazards(old: &Read<'_>, new: &Read<'_>) -> Result<Hazards> {
    let mut h = Hazards { unreadable: [old.unreadable, new.unreadable], ..Hazards::default() };
    let mut by_owner: HashMap<&str, usize> = HashMap::default();
    for (key, owners) in &old.owned {
        for o in owners.iter().filter(|o| !old.uids.contains(text(&o.uid))) {
            let at = *by_owner.entry(text(&o.uid)).or_insert_with(|| {
                h.orphans.push(Orphans {
                    owner_kind: text(&o.kind).to_string(),
                    owner_name: text(&o.name).to_string(),
                    owner_uid: text(&o.uid).to_string(),
                    owner_in_new: new.uids.contains(text(&o.uid)),
                    dependents: Vec::new(),
                });
                h.orphans.len() - 1
            });
            h.orphans[at].dependents.push(key.to_vec());
        }
    }
    let mut by_node: HashMap<&str, usize> = HashMap::default();
    for (key, node) in old.bound.iter().filter(|(_, n)| !old.nodes.contains(n.as_ref())) {
        let at = *by_node.entry(node.as_ref()).or_insert_with(|| {
            h.stranded_pods.push(StrandedPods { node: node.to_string(), node_in_new: new.nodes.contains(node.as_ref()), pods: Vec::new() });
            h.stranded_pods.len() - 1
        });
        h.stranded_pods[at].pods.push(key.to_vec());
    }
    if old.revision < new.revision {
        h.revision_rewind = Some(new.revision - old.revision);
    }
    let new_leases: HashSet<i64> = new.leases.iter().map(|l| l.id).collect();
    for lease in old.leases.iter().filter(|l| !new_leases.contains(&l.id)) {
        h.leases_back.push(LeaseBack { id: lease.id, ttl: lease.ttl, keys: Vec::new() });
    }
    if !h.leases_back.is_empty() {
        let at: HashMap<i64, usize> = h.leases_back.iter().enumerate().map(|(i, b)| (b.id, i)).collect();
        for entry in &old.live {
            let lease = entry.int64_field(6, &old.file)?;
            if let Some(&i) = at.get(&lease).filter(|_| lease != 0) {
                h.leases_back[i].keys.push(entry.key.to_vec());
            }
        }
    }
    Ok(h)
}
