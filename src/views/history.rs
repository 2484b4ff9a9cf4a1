//! `history`: every retained revision of a key, of the keys under a prefix, or of Kubernetes
//! objects, oldest first, as etcd's watch would replay them from a revision: an offline
//! `kubectl get -w` for the past.
//!
//! One pass over the `key` bucket from the oldest retained revision up to `to`, keeping per key
//! only its last put (borrowed) and the generation it belongs to; events from `from` on are
//! handed to the caller one at a time. An update of a Kubernetes object is compared field by
//! field with the key's previous put, both decoded unredacted; what is shown of a Secret is
//! redacted afterwards unless secrets were asked for. Whether a value is a Secret's is the
//! decoder's to say ([`crate::k8s::secret`]: its key under the secrets prefix, whatever its
//! shape, or its kind), and an event never carries a Secret's stored bytes: they are withheld
//! here, not by printers.

use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::etcd::mvcc::{KeyValueRef, RevisionEntry};
use crate::etcd::revision::Revision;
use crate::etcd::KeyRange;
use crate::k8s::decoder::{redact_shown, DecodeOptions, Decoded, Decoder};
use crate::k8s::fields::{diff, Change};
use crate::k8s::key::{normalize_prefix, Catalog, Namespace, ObjectId};
use crate::k8s::secret::shown_changes;
use crate::snapshot::Snapshot;
use crate::views::progress::{self, Counter, Progress};
use crate::views::record::KeyValueRecord;
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;
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
    /// revision, as etcd's watch sends it. When [`Event::value_redacted`], `value` is empty.
    pub kv: KeyValueRef<'a>,
    /// The size of the stored value (also when it is withheld).
    pub value_size: usize,
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
    pub previous: Option<PreviousPut>,
    /// The stored value is a Secret's and secrets were not asked for: `kv.value` is left empty
    /// (the bytes hold the Secret's data in clear unless encrypted at rest).
    pub value_redacted: bool,
}

/// One event as `history -o json|jsonl|yaml` writes it: etcdctl's watch event (`type`, `kv`,
/// exactly as `etcdctl watch -w json` prints them, but for a withheld Secret's `valueRedacted`)
/// and what etcdscope knows besides, under our names: `keyText`, `event`, `sub` (when not 0),
/// `incarnation`, `stateAtCompaction`, `valueSize` (of a put), the object the key names
/// (`group`, `resource`, `kind`, `namespace`, `name`), the `object` decoded (or why it is
/// `undecodable`) and an update's field `changes`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRecord<'e> {
    #[serde(rename = "type")]
    pub watch_type: &'static str,
    pub kv: KeyValueRecord<'e>,
    #[serde(serialize_with = "crate::views::record::lossy_text")]
    pub key_text: &'e [u8],
    pub event: &'static str,
    #[serde(skip_serializing_if = "crate::views::record::is_zero")]
    pub sub: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incarnation: Option<i64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub state_at_compaction: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_size: Option<usize>,
    #[serde(flatten)]
    pub object_id: Option<&'e ObjectId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<&'e Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undecodable: Option<&'e str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<&'e [Change]>,
}

impl<'a> Event<'a> {
    /// The event as `history` writes it in JSON and YAML.
    pub fn record(&self) -> EventRecord<'_> {
        let withheld = (self.value_redacted && self.value_size > 0).then_some(self.value_size);
        let (object, undecodable) = match &self.object {
            Some(Ok(o)) => (Some(o), None),
            Some(Err(reason)) => (None, Some(reason.as_str())),
            None => (None, None),
        };
        EventRecord {
            watch_type: if self.kind == EventKind::Delete { "DELETE" } else { "PUT" },
            kv: KeyValueRecord::new(&self.kv, withheld),
            key_text: self.kv.key,
            event: self.kind.as_str(),
            sub: self.revision.sub,
            incarnation: self.incarnation,
            state_at_compaction: self.before_compaction,
            value_size: (self.kind != EventKind::Delete).then_some(self.value_size),
            object_id: self.object_id.as_ref(),
            object,
            undecodable,
            changes: self.changes.as_deref(),
        }
    }
}

/// What `history -o json|yaml` says before its events: the revisions read.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentHead {
    pub compact_revision: i64,
    pub current_revision: i64,
    /// The first revision asked for (0: from the oldest retained).
    pub from_revision: i64,
    pub to_revision: i64,
}

impl DocumentHead {
    /// Known before the first event: from the store and the revisions asked for.
    pub fn of(snap: &Snapshot<'_>, query: &HistoryQuery) -> DocumentHead {
        let store = snap.store();
        let current = store.current_revision();
        DocumentHead {
            compact_revision: store.compact_revision(),
            current_revision: current,
            from_revision: query.from_rev.filter(|r| *r > 0).unwrap_or(0),
            to_revision: query.to_rev.filter(|r| *r > 0).unwrap_or(current),
        }
    }
}

/// What `history -o json|yaml` says after its events, known only then.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentTail<'s> {
    /// For objects of a namespaced type: `all`, or the namespace covered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<&'s str>,
    /// The oldest retained revision of the keys followed (0 when none).
    pub oldest_retained_revision: i64,
}

impl HistorySummary {
    pub fn tail(&self) -> DocumentTail<'_> {
        DocumentTail { namespaces: self.namespaces.as_ref().map(Covered::as_str), oldest_retained_revision: self.oldest_retained }
    }
}

/// What is known of an update's previous put, without its bytes (they may be a Secret's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviousPut {
    pub mod_revision: i64,
    pub value_size: usize,
    /// The update wrote the same bytes again.
    pub same_value: bool,
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
    /// For objects of a namespaced type: the namespaces covered.
    pub namespaces: Option<Covered>,
}

/// The namespaces a view covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Covered {
    All,
    One(String),
}

impl Covered {
    /// `all`, or the namespace's name: what `-o json` says.
    pub fn as_str(&self) -> &str {
        match self {
            Covered::All => "all",
            Covered::One(ns) => ns,
        }
    }

    /// `all namespaces`, `namespace team-a`: what a note says.
    pub fn describe(&self) -> String {
        match self {
            Covered::All => "all namespaces".into(),
            Covered::One(ns) => format!("namespace {ns}"),
        }
    }

    /// What a namespace choice covers for a type (None for a cluster-scoped one).
    pub fn of(namespace: &Namespace, namespaced: bool) -> Option<Covered> {
        match (namespace, namespaced) {
            (_, false) => None,
            (Namespace::All, true) => Some(Covered::All),
            (Namespace::Default, true) => Some(Covered::One("default".into())),
            (Namespace::One(ns), true) => Some(Covered::One(ns.clone())),
        }
    }
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
    let (range, namespaces) = match &query.target {
        Target::Key(k) => (KeyRange::single(k), None),
        Target::Prefix(p) => (KeyRange::prefix(p), None),
        Target::Objects { type_name, name, namespace } => {
            let (info, range) = catalog.object_range(&prefix, type_name, name.as_deref(), namespace)?;
            (range, Covered::of(namespace, info.namespaced))
        }
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
    let mut summary = HistorySummary { compact_revision: compact, current_revision: current, from_rev: from, to_rev: to, namespaces, ..Default::default() };
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
                    value_size: 0,
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
        let hide = !decoder.options.show_secrets;
        let mut secret = None;
        if object_id.is_some() {
            // Decoded unredacted to compare; each says whether it is a Secret's, and what is
            // shown is redacted afterwards.
            let decode = |kv: &KeyValueRef<'_>| match decoder.decode_at_with(kv.key, kv.value, Some(kv.mod_revision), unredacted) {
                Decoded::Object { json, secret, .. } => json.value().map(|v| (v, secret)),
                Decoded::Encrypted { provider, key_name, reason, .. } => Err(format!("encrypted ({provider}, key {key_name}): {reason}")),
                Decoded::Raw { reason } => Err(reason),
            };
            let now = decode(&kv);
            secret = now.as_ref().ok().map(|(_, s)| *s);
            if let (Some(prev), Ok(new)) = (&previous, &now) {
                if let Ok(old) = decode(prev) {
                    changes = shown_changes(diff(&old.0, &new.0, query.all_fields), (&old.0, old.1), (&new.0, new.1), hide);
                }
            }
            object = Some(now.and_then(|(mut v, secret)| {
                if hide && secret {
                    redact_shown(&mut v)?;
                }
                if !query.all_fields {
                    strip_managed_fields(&mut v);
                }
                Ok(v)
            }));
        }
        let value_redacted = hide && secret.unwrap_or_else(|| decoder.stored_secret(kv.key, kv.value));
        let value_size = kv.value.len();
        let previous = previous.map(|p| PreviousPut { mod_revision: p.mod_revision, value_size: p.value.len(), same_value: p.value == kv.value });
        let event = Event {
            revision: entry.revision,
            kind,
            kv: if value_redacted { KeyValueRef { value: &[], ..kv } } else { kv },
            value_size,
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
        self.catalog.locate(key, self.prefix).object_id()
    }
}

/// `metadata.managedFields` says which client last wrote each field; it is most of an object's
/// bytes and none of what an operator reads.
pub fn strip_managed_fields(object: &mut Value) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
}

/// Why a history read found nothing, told apart so the user knows what to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NothingFound {
    /// The target has retained revisions, none between the revisions asked for: these are its
    /// oldest and newest retained ones.
    OutsideRange { first: i64, last: i64 },
    /// No revision of the target is retained. With no compaction it never existed; after one,
    /// it never existed or was deleted before the compaction (etcd then keeps nothing of it).
    /// `near`: existing keys or objects whose names are close to the one asked for
    /// (`/hist/updated`, `pod/web-1 -n team-a`), closest first.
    NoTrace { near: Vec<String> },
    /// A type with no object in the namespace asked for: the namespaces that do have some.
    OtherNamespaces { namespaces: Vec<String> },
}

/// Suggestions shown at most.
const NEAR: usize = 3;
/// Jaro-Winkler similarity from which a name counts as close (clap's threshold for flags).
const CLOSE: f64 = 0.8;
/// How much less similar than the closest a suggestion may be.
const TIE: f64 = 0.03;

/// The revisions a history read searched: from the first revision asked for (or the oldest
/// etcd keeps: the compaction revision, or 1) to the last.
pub fn revisions_searched(summary: &HistorySummary) -> (i64, i64) {
    let from = if summary.from_rev > 0 { summary.from_rev } else { summary.compact_revision.max(1) };
    (from, summary.to_rev)
}

/// Says why [`history_each`] found nothing for `query` (call it when the summary counts no
/// event).
pub fn nothing_found(snap: &Snapshot<'_>, query: &HistoryQuery, decoder: &Decoder) -> Result<NothingFound> {
    nothing_found_suggesting(snap, query, decoder, true)
}

/// [`nothing_found`], with `suggest` false leaving out the close names (which compare the asked
/// name with every live key: fine once on the command line, too dear for a server to do for any
/// request).
pub fn nothing_found_suggesting(snap: &Snapshot<'_>, query: &HistoryQuery, decoder: &Decoder, suggest: bool) -> Result<NothingFound> {
    let store = snap.store();
    let prefix = normalize_prefix(&query.etcd_prefix);
    let catalog = snap.catalog(decoder, &prefix)?;
    let range = match &query.target {
        Target::Key(k) => KeyRange::single(k),
        Target::Prefix(p) => KeyRange::prefix(p),
        Target::Objects { type_name, name, namespace } => catalog.object_range(&prefix, type_name, name.as_deref(), namespace)?.1,
    };
    let current = store.current_revision();
    let (mut first, mut last) = (0, 0);
    for entry in store.revisions(Some(&range), 0..=current).until(&query.cancel) {
        let main = entry?.main();
        if first == 0 {
            first = main;
        }
        last = last.max(main);
    }
    if first > 0 {
        return Ok(NothingFound::OutsideRange { first, last });
    }
    if !suggest {
        return Ok(NothingFound::NoTrace { near: Vec::new() });
    }
    // The live keys a suggestion is drawn from: every key for a key, the type's for objects.
    let live = |range: &KeyRange| store.range_until(range, current, &query.cancel);
    Ok(match &query.target {
        Target::Key(k) => {
            let text = |k: &[u8]| String::from_utf8_lossy(k).into_owned();
            NothingFound::NoTrace { near: nearest(&text(k), live(&KeyRange::all())?.iter().map(|e| (text(e.key), text(e.key)))) }
        }
        Target::Prefix(_) => NothingFound::NoTrace { near: Vec::new() },
        Target::Objects { type_name, name, namespace } => {
            let (info, all) = catalog.object_range(&prefix, type_name, None, &Namespace::All)?;
            let ids: Vec<ObjectId> = live(&all)?.iter().filter_map(|e| catalog.locate(e.key, &prefix).object_id()).collect();
            match name {
                Some(name) => {
                    let shown = |id: &ObjectId| match &id.namespace {
                        Some(ns) => format!("{} -n {ns}", id.kubectl_name()),
                        None => id.kubectl_name(),
                    };
                    NothingFound::NoTrace { near: nearest(name, ids.iter().map(|id| (id.name.clone(), shown(id)))) }
                }
                None if info.namespaced && !matches!(namespace, Namespace::All) => {
                    let mut namespaces: Vec<String> = ids.into_iter().filter_map(|id| id.namespace).collect();
                    namespaces.sort();
                    namespaces.dedup();
                    NothingFound::OtherNamespaces { namespaces }
                }
                None => NothingFound::NoTrace { near: Vec::new() },
            }
        }
    })
}

/// The candidates (each: the name compared, what is shown) closest to `asked`, closest first.
fn nearest(asked: &str, candidates: impl Iterator<Item = (String, String)>) -> Vec<String> {
    let mut scored: Vec<(f64, String)> = candidates.map(|(name, shown)| (strsim::jaro_winkler(asked, &name), shown)).filter(|(s, _)| *s >= CLOSE).collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    // Only the closest: a near-tie is a real choice, a distant second is noise.
    let best = scored.first().map_or(0.0, |s| s.0);
    scored.into_iter().take_while(|(s, _)| best - s <= TIE).take(NEAR).map(|(_, c)| c).collect()
}
