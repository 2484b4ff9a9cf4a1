//! One served input: the opened snapshot, the revision it is served at, the catalogue of its
//! resources, its clock, and the index of its live keys that makes a page of a list cost what
//! the page holds rather than what the file holds.
//!
//! A context lives as long as the server; its `Source` is leaked at start so every request
//! borrows the same memory map for `'static` without a self-referential struct.

use crate::cancel::Cancel;
use crate::error::Result;
use crate::etcd::mvcc::RevisionEntry;
use crate::etcd::KeyRange;
use crate::k8s::decoder::Decoder;
use crate::k8s::key::{normalize_prefix, Catalog};
use crate::snapshot::Snapshot;
use crate::source::Source;
use crate::views::clock::{snapshot_time, SnapshotTime};
use std::sync::{Arc, OnceLock};

/// One input as the server sees it.
pub struct Context {
    /// The kubeconfig context name, also the first segment of every URL path served for it.
    pub name: String,
    pub snapshot: Snapshot<'static>,
    pub decoder: Arc<Decoder>,
    pub catalog: Arc<Catalog>,
    /// The etcd prefix kube-apiserver wrote under (normalized: `/registry`).
    pub prefix: String,
    /// The revision served (`--rev`, else the snapshot's current one).
    pub revision: i64,
    /// Revisions below this one are compacted away: lists and watches there are 410 Gone.
    pub compacted: i64,
    /// The "now" of Age cells: the snapshot's newest timestamp.
    pub clock: Option<SnapshotTime>,
    index: OnceLock<std::result::Result<KeyIndex, String>>,
}

/// The live keys at the served revision, sorted by key.
pub struct KeyIndex {
    pub entries: Vec<RevisionEntry<'static>>,
}

impl KeyIndex {
    /// The entries whose keys fall in `range` (a prefix or single-key range), from `start` on.
    pub fn slice(&self, range: &KeyRange, start: Option<&[u8]>) -> &[RevisionEntry<'static>] {
        let from = start.filter(|s| *s > range.key.as_slice()).unwrap_or(&range.key);
        let lo = self.entries.partition_point(|e| e.key < from);
        let hi = if range.end.is_empty() {
            self.entries[lo..].partition_point(|e| e.key == range.key.as_slice()) + lo
        } else if range.end == [0] {
            self.entries.len()
        } else {
            self.entries[lo..].partition_point(|e| e.key < range.end.as_slice()) + lo
        };
        &self.entries[lo..hi.max(lo)]
    }
}

impl Context {
    /// Opens `source` (leaked: it lives as long as the process) and reads what every request
    /// needs: the catalogue (CRDs), the served revision and the clock. The key index is built
    /// on first use ([`Context::index`]).
    pub fn open(name: String, source: Source, decoder: Arc<Decoder>, etcd_prefix: &str, revision: i64, cancel: &Cancel) -> Result<Context> {
        let source: &'static Source = Box::leak(Box::new(source));
        let snapshot = Snapshot::open(source)?;
        let prefix = normalize_prefix(etcd_prefix);
        let revision = snapshot.store().read_revision(revision)?;
        let compacted = snapshot.store().compact_revision();
        let catalog = snapshot.catalog(&decoder, &prefix)?;
        let clock = snapshot_time(&snapshot, &decoder, &prefix, cancel)?;
        Ok(Context { name, snapshot, decoder, catalog, prefix, revision, compacted, clock, index: OnceLock::new() })
    }

    /// The index of live keys at the served revision, built on first call (one pass over the
    /// `key` bucket). Its failure is kept and given to every caller.
    pub fn index(&'static self) -> std::result::Result<&'static KeyIndex, String> {
        self.index
            .get_or_init(|| {
                let entries = self.snapshot.store().range_until(&KeyRange::all(), self.revision, &Cancel::default()).map_err(|e| e.to_string())?;
                Ok(KeyIndex { entries })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Age cells' "now", in Unix seconds (0 when the keyspace holds no time at all).
    pub fn now(&self) -> i64 {
        self.clock.as_ref().map_or(0, |c| c.seconds)
    }
}
