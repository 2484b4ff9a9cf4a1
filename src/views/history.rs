//! `history`: every retained revision of a key, of the keys under a prefix, or of Kubernetes
//! objects, oldest first, as etcd's watch would replay them from a revision: an offline
//! `kubectl get -w` for the past.
//!
//! One pass over the `key` bucket from the oldest retained revision up to `to`, keeping per key
//! only its last put (borrowed) and the generation it belongs to; events from `from` on are
//! handed to the caller one at a time. An update of a Kubernetes object is compared field by
//! field with the key's previous put, both decoded unredacted; what is shown of a Secret is
//! redacted afterwards unless secrets were asked for.

use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::etcd::mvcc::{KeyValueRef, RevisionEntry};
use crate::etcd::revision::Revision;
use crate::etcd::KeyRange;
use crate::k8s::decoder::{is_secret, redact_secret, DecodeOptions, Decoded, Decoder, LAST_APPLIED};
use crate::k8s::fields::{diff, Change};
use crate::k8s::json::redaction_marker;
use crate::k8s::key::{normalize_prefix, Catalog, ObjectId};
use crate::snapshot::Snapshot;
use crate::views::progress::{self, Counter, Progress};
use crate::views::get::{object_range, Namespace};
use rustc_hash::FxHashMap as HashMap;
use serde_json::Value;

/// What to follow.
#[derive(Debug, Clone)]
pub enum Target {
    /// One key.
    Key(Vec<u8>),
    /// Every key starting with these bytes (all keys when empty).
    Prefix(Vec<u8>),
    /// Kubernetes objects: `TYPE/NAME`, or every object of `TYPE` in the namespace (or all).
    Objects { type_name: String, name: Option<String>, namespace: Namespace },
}

#[derive(Debug, Clone)]
pub struct HistoryQuery {
    pub target: Target,
    /// First revision shown (default: the oldest retained). Below the compaction revision it is
    /// refused, as etcd refuses such a watch.
    pub from_rev: Option<i64>,
    /// Last revision shown (default: the current revision).
    pub to_rev: Option<i64>,
    pub etcd_prefix: String,
    /// Keep `metadata.managedFields` in objects and `managedFields`/`resourceVersion` in changes.
    pub all_fields: bool,
    /// Cancelled to stop: the read ends with [`Error::Interrupted`] at the next revision
    /// (events already handed to the visitor stay handed).
    pub cancel: Cancel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A put that starts a generation (version 1).
    Create,
    Update,
    Delete,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Create => "create",
            EventKind::Update => "update",
            EventKind::Delete => "delete",
        }
    }
}

/// A decoded Kubernetes object, or why it could not be decoded.
pub type ObjectOutcome = std::result::Result<Value, String>;

/// One revision of one key.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub revision: Revision,
    pub kind: EventKind,
    /// The stored KeyValue; for a delete, the key with `mod_revision` set to the deleting
    /// revision, as etcd's watch sends it.
    pub kv: KeyValueRef<'a>,
    /// The generation the event belongs to (its create revision), when known: a delete's
    /// generation is unknown when none of its puts is retained.
    pub incarnation: Option<i64>,
    /// True for an entry older than the compaction revision: it is kept only as the key's state
    /// at that revision, the revisions before it are gone.
    pub before_compaction: bool,
    /// The Kubernetes object the key names, if any.
    pub object_id: Option<ObjectId>,
    /// For puts of objects: the object as the API server would show it.
    pub object: Option<ObjectOutcome>,
    /// For updates: what changed since the previous put, when that put is retained (`None`
    /// when it is not, or when either version does not decode).
    pub changes: Option<Vec<Change>>,
    /// For updates: the key's previous put, when retained.
    pub previous: Option<KeyValueRef<'a>>,
    /// The stored value is a Secret's and secrets were not asked for: printers must not show
    /// `kv.value` (the bytes hold the Secret's data in clear unless encrypted at rest).
    pub value_redacted: bool,
}

/// What a history read covered.
#[derive(Debug, Clone, Default)]
pub struct HistorySummary {
    pub compact_revision: i64,
    pub current_revision: i64,
    /// The revisions shown.
    pub from_rev: i64,
    pub to_rev: i64,
    /// Oldest retained revision of the keys followed (0 when none).
    pub oldest_retained: i64,
    pub events: u64,
    /// Distinct keys with events shown.
    pub keys: u64,
}

/// Per key: its last put (to compare the next update with) and its generation.
#[derive(Default)]
struct Track<'a> {
    last_put: Option<RevisionEntry<'a>>,
    incarnation: Option<i64>,
    shown: bool,
}

/// Streams the events of `query` to `visit`, oldest first.
pub fn history_each(snap: &Snapshot<'_>, query: &HistoryQuery, decoder: &Decoder, visit: &mut dyn FnMut(Event<'_>) -> Result<()>) -> Result<HistorySummary> {
    history_each_reporting(snap, query, decoder, visit, &mut progress::ignore)
}

/// [`history_each`], reporting the revisions read (of those from the oldest retained one to
/// `--to-rev`).
pub fn history_each_reporting(
    snap: &Snapshot<'_>,
    query: &HistoryQuery,
    decoder: &Decoder,
    visit: &mut dyn FnMut(Event<'_>) -> Result<()>,
    report: &mut dyn FnMut(Progress),
) -> Result<HistorySummary> {
    let store = snap.store();
    let file = snap.file();
    let prefix = normalize_prefix(&query.etcd_prefix);
    let catalog = snap.catalog(decoder, &prefix)?;
    let range = match &query.target {
        Target::Key(k) => KeyRange::single(k),
        Target::Prefix(p) => KeyRange::prefix(p),
        Target::Objects { type_name, name, namespace } => object_range(&catalog, &prefix, type_name, name.as_deref(), namespace)?.1,
    };
    let current = store.current_revision();
    let compact = store.compact_revision();
    // As etcd's reads: a revision of 0 (or less) means the current one; from-rev 0 means from
    // the oldest retained revision.
    let from = match query.from_rev.filter(|r| *r > 0) {
        Some(r) => store.read_revision(r)?,
        None => 0,
    };
    let to = store.read_revision(query.to_rev.unwrap_or(0))?;
    if from > to {
        return Err(Error::Usage(format!("--from-rev {from} is after --to-rev {to}: no revision lies between them")));
    }
    let mut summary = HistorySummary { compact_revision: compact, current_revision: current, from_rev: from, to_rev: to, ..Default::default() };
    let unredacted = DecodeOptions { show_secrets: true, ..decoder.options };
    let mut tracks: HashMap<&[u8], Track<'_>> = HashMap::default();
    let ids = Identify { catalog: &catalog, prefix: &prefix };
    let first = store.first_revision;
    let mut progress = Counter::new(report, "revisions", u64::try_from(to.saturating_sub(first)).unwrap_or(0) + 1);
    for entry in store.revisions(Some(&range), 0..=to).until(&query.cancel) {
        query.cancel.check()?;
        let entry = entry?;
        progress.set(u64::try_from(entry.main().saturating_sub(first)).unwrap_or(0) + 1);
        if summary.oldest_retained == 0 {
            summary.oldest_retained = entry.main();
        }
        let track = tracks.entry(entry.key).or_default();
        let shown = entry.main() >= from;
        let kv = entry.kv(file)?;
        if entry.tombstone {
            let incarnation = track.incarnation.take();
            track.last_put = None;
            if shown {
                let kv = KeyValueRef { key: kv.key, mod_revision: entry.main(), ..Default::default() };
                let event = Event {
                    revision: entry.revision,
                    kind: EventKind::Delete,
                    kv,
                    incarnation,
                    before_compaction: entry.main() < compact,
                    object_id: ids.of(kv.key),
                    object: None,
                    changes: None,
                    previous: None,
                    value_redacted: false,
                };
                count(&mut summary, track);
                visit(event)?;
            }
            continue;
        }
        let previous = track.last_put.replace(entry);
        track.incarnation = Some(kv.create_revision);
        if !shown {
            continue;
        }
        let kind = if kv.version <= 1 { EventKind::Create } else { EventKind::Update };
        let object_id = ids.of(kv.key);
        let (mut object, mut changes) = (None, None);
        let previous = match previous.filter(|_| kind == EventKind::Update) {
            Some(p) => Some(p.kv(file)?),
            None => None,
        };
        if object_id.is_some() {
            let decode = |kv: &KeyValueRef<'_>| match decoder.decode_at_with(kv.key, kv.value, Some(kv.mod_revision), unredacted) {
                Decoded::Object { json, .. } => json.value(),
                Decoded::Encrypted { provider, key_name, reason, .. } => Err(format!("encrypted ({provider}, key {key_name}): {reason}")),
                Decoded::Raw { reason } => Err(reason),
            };
            let now = decode(&kv);
            if let (Some(prev), Ok(new)) = (&previous, &now) {
                if let Ok(old) = decode(prev) {
                    let mut found = diff(&old, new, query.all_fields);
                    if !decoder.options.show_secrets && is_secret(new) {
                        redact_changes(&mut found);
                    }
                    changes = Some(found);
                }
            }
            object = Some(now.map(|mut v| {
                if !decoder.options.show_secrets {
                    redact_secret(&mut v);
                }
                if !query.all_fields {
                    strip_managed_fields(&mut v);
                }
                v
            }));
        }
        let value_redacted = !decoder.options.show_secrets && object_id.as_ref().is_some_and(|id| id.group.is_empty() && id.resource == "secrets");
        let event = Event {
            revision: entry.revision,
            kind,
            kv,
            incarnation: Some(kv.create_revision),
            before_compaction: entry.main() < compact,
            object_id,
            object,
            changes,
            previous,
            value_redacted,
        };
        count(&mut summary, track);
        visit(event)?;
    }
    Ok(summary)
}

fn count(summary: &mut HistorySummary, track: &mut Track<'_>) {
    summary.events += 1;
    if !track.shown {
        track.shown = true;
        summary.keys += 1;
    }
}

struct Identify<'c> {
    catalog: &'c Catalog,
    prefix: &'c str,
}

impl Identify<'_> {
    fn of(&self, key: &[u8]) -> Option<ObjectId> {
        self.catalog.identify(key, self.prefix)
    }
}

/// `metadata.managedFields` says which client last wrote each field; it is most of an object's
/// bytes and none of what an operator reads.
pub fn strip_managed_fields(object: &mut Value) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
}

/// What a Secret's changes may not show: `data` and `stringData` values, and kubectl's
/// last-applied-configuration annotation (the whole applied Secret), replaced by markers that
/// say only how long they were (as `redact_secret` does to the object itself).
pub fn redact_changes(changes: &mut [Change]) {
    let marker = |v: &Value| Value::String(redaction_marker(v.as_str().map(str::len).unwrap_or(0)));
    let annotation = format!("metadata.annotations[{}]", Value::String(LAST_APPLIED.into()));
    for c in changes.iter_mut() {
        let secret_map = c.path.starts_with("data") || c.path.starts_with("stringData");
        for v in [&mut c.old, &mut c.new].into_iter().flatten() {
            if secret_map {
                match v {
                    Value::Object(m) => m.values_mut().for_each(|x| *x = marker(x)),
                    other => *other = marker(other),
                }
            } else if c.path == annotation {
                *v = marker(v);
            } else if c.path == "metadata.annotations" || c.path == "metadata" {
                // The whole map (or metadata) added or removed: redact the annotation inside it.
                let mut wrapper = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {}});
                if c.path == "metadata" {
                    wrapper["metadata"] = v.clone();
                } else {
                    wrapper["metadata"]["annotations"] = v.clone();
                }
                redact_secret(&mut wrapper);
                *v = if c.path == "metadata" { wrapper["metadata"].take() } else { wrapper["metadata"]["annotations"].take() };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_changes_say_only_how_long_values_were() {
        let applied = |p: &str| format!("{{\"data\":{{\"password\":\"{p}\"}}}}");
        let old = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "annotations": {LAST_APPLIED: applied("aHVudGVyMg==")}},
                         "data": {"password": "aHVudGVyMg==", "gone": "eA=="}});
        let new = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "labels": {"a": "b"}, "annotations": {LAST_APPLIED: applied("c3dvcmRmaXNo")}},
                         "data": {"password": "c3dvcmRmaXNo", "added": "eXk="}});
        let mut changes = diff(&old, &new, false);
        redact_changes(&mut changes);
        let text = serde_json::to_string(&changes.iter().map(|c| (&c.path, &c.old, &c.new)).collect::<Vec<_>>()).unwrap();
        for secret in ["aHVudGVyMg==", "c3dvcmRmaXNo", "eA==", "eXk="] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let password = changes.iter().find(|c| c.path == "data.password").unwrap();
        assert_eq!(password.old, Some(Value::String(redaction_marker(12))));
        assert_eq!(changes.iter().find(|c| c.path == "metadata.labels").unwrap().new, Some(json!({"a": "b"})), "other fields stay");
        // The annotation map added or removed as a whole is redacted inside.
        let mut whole = diff(&json!({"metadata": {}}), &json!({"metadata": {"annotations": {LAST_APPLIED: applied("c3dvcmRmaXNo")}}}), false);
        redact_changes(&mut whole);
        assert!(!serde_json::to_string(&whole[0].new).unwrap().contains("c3dvcmRmaXNo"));
    }
}
