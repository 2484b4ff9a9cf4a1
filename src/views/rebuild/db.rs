//! The new member's db: every bucket of the snapshot copied into a fresh, compact bbolt file
//! ([`crate::bolt::write`]), with what a restore changes:
//! - `members` holds the new cluster's members and `members_removed` nothing (etcdutl empties
//!   both and adds the new members);
//! - `meta/consistent_index` and `meta/term` point at the last bootstrap entry of the new WAL
//!   (index = number of members, term 1); `meta/confState` is left as it was, as etcdutl leaves
//!   it (etcd rewrites it when it next applies a snapshot);
//! - with a target revision, `key` entries after it are dropped;
//! - with a WAL replay, its entries follow the snapshot's, a compaction it replayed is carried
//!   out (and marked finished), and its lease grants and revokes change `lease`;
//! - with a revision bump, an empty `key` entry at latest + N and `meta/scheduledCompactRev`
//!   set to it (etcdutl 3.5's `--bump-revision --mark-compacted`).

use super::cluster::{member_json, NewCluster};
use super::wal_apply::WalApplied;
use crate::bolt::write::{FileWriter, TreeWriter, WrittenFile};
use crate::bolt::Db;
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::etcd::backend::LEASE;
use crate::etcd::backend::{Backend, KEY, MEMBERS, MEMBERS_REMOVED, META};
use crate::etcd::revision::{Revision, RevisionKey};
use crate::etcd::wire;
use rustc_hash::FxHashMap as HashMap;
use std::path::Path;

/// How the keyspace is cut, extended and marked.
#[derive(Debug, Clone, Default)]
pub struct KeyspaceEdit<'r> {
    /// Keep `key` entries with a main revision up to this one (None: all).
    pub to_revision: Option<i64>,
    /// What a WAL replay adds after the snapshot's entries (and a later compaction).
    pub wal_applied: Option<&'r WalApplied>,
    /// Add this to the latest revision and mark the result compacted.
    pub bump: Option<i64>,
}

/// Which `key` entries a compaction at `compact` keeps: for each key, its newest entry at or
/// below `compact` unless that is a tombstone, and everything above `compact`. `None` when
/// there is nothing to compact beyond what the snapshot already did.
struct Compaction {
    compact: i64,
    newest: HashMap<Vec<u8>, (Revision, bool)>,
}

impl Compaction {
    fn plan(db: &Db<'_>, bucket: &crate::bolt::Bucket<'_>, replay: &WalApplied, source_compact: i64, pace: &Pace<'_>) -> Result<Option<Compaction>> {
        let compact = replay.compact;
        if compact <= source_compact {
            return Ok(None);
        }
        let mut newest = HashMap::default();
        let mut note = |rev: RevisionKey, raw: &[u8]| {
            if rev.revision.main <= compact {
                let key = wire::bytes_field(raw, 1).ok().flatten().unwrap_or_default();
                newest.insert(key.to_vec(), (rev.revision, rev.tombstone));
            }
        };
        for entry in bucket.iter(db) {
            let entry = entry?;
            pace.step()?;
            let rev = RevisionKey::parse(entry.key()).map_err(|e| db.corrupt(entry.page, entry.element.value_offset, format!("key bucket: {e}")))?;
            if rev.revision.main > compact {
                break;
            }
            note(rev, entry.value());
        }
        for (k, v) in &replay.entries {
            if let Ok(rev) = RevisionKey::parse(k) {
                note(rev, v);
            }
        }
        Ok(Some(Compaction { compact, newest }))
    }

    fn keeps(&self, rev: &RevisionKey, raw: &[u8]) -> bool {
        if rev.revision.main > self.compact {
            return true;
        }
        let key = wire::bytes_field(raw, 1).ok().flatten().unwrap_or_default();
        matches!(self.newest.get(key), Some((newest, tombstone)) if *newest == rev.revision && !tombstone)
    }
}

/// What writing the db did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbWritten {
    pub file: WrittenFile,
    /// `key` entries written / dropped for being after the target revision.
    pub key_entries: u64,
    pub dropped_entries: u64,
    /// The latest revision in the written `key` bucket (after any bump).
    pub latest: Revision,
}

/// The meta bucket's key for the consistent index and its term, and the compaction marks.
const CONSISTENT_INDEX: &[u8] = b"consistent_index";
const TERM: &[u8] = b"term";
const SCHEDULED_COMPACT: &[u8] = b"scheduledCompactRev";
const FINISHED_COMPACT: &[u8] = b"finishedCompactRev";

/// How the db write goes: stopped at the next entry when cancelled.
pub struct Pace<'c> {
    pub cancel: &'c Cancel,
}

impl Pace<'_> {
    /// Before each entry written.
    fn step(&self) -> Result<()> {
        self.cancel.check()
    }
}

/// Writes `out` from the backend of `src`, for the member `cluster.local()` of `cluster`, whose
/// WAL will end its bootstrap at raft index `index`, term `term`.
pub fn write_db(backend: &Backend<'_>, out: &Path, cluster: &NewCluster, index: u64, term: u64, edit: &KeyspaceEdit, pace: &Pace<'_>) -> Result<DbWritten> {
    let db = &backend.db;
    let mut writer = FileWriter::create(out, db.page_size())?;
    let mut key_entries = 0;
    let mut dropped = 0;
    let mut latest = Revision { main: 0, sub: 0 };
    let source_compact = crate::etcd::mvcc::compact_revision_of(backend)?;
    let mut buckets = backend.buckets()?;
    for name in [MEMBERS, MEMBERS_REMOVED] {
        if !buckets.iter().any(|(n, _)| *n == name) {
            buckets.push((name, crate::bolt::Bucket { header: Default::default(), root: crate::bolt::tree::Root::Page(0) }));
        }
    }
    buckets.sort_by(|a, b| a.0.cmp(b.0));
    // The key bucket is written first so the meta bucket (after it in name order) can record
    // the latest revision of a bump.
    for (name, bucket) in &buckets {
        let sequence = bucket.header.sequence;
        let mut tree = TreeWriter::new();
        match *name {
            KEY => {
                let compaction = match edit.wal_applied {
                    Some(replay) => Compaction::plan(db, bucket, replay, source_compact, pace)?,
                    None => None,
                };
                let keeps = |rev: &RevisionKey, raw: &[u8]| compaction.as_ref().map_or(true, |c| c.keeps(rev, raw));
                for entry in bucket.iter(db) {
                    let entry = entry?;
                    pace.step()?;
                    no_nested(db, name, &entry)?;
                    let rev = RevisionKey::parse(entry.key()).map_err(|e| db.corrupt(entry.page, entry.element.value_offset, format!("key bucket: {e}")))?;
                    if edit.to_revision.is_some_and(|r| rev.revision.main > r) || !keeps(&rev, entry.value()) {
                        dropped += 1;
                        continue;
                    }
                    latest = latest.max(rev.revision);
                    tree.put(writer.page_file(), entry.key(), entry.value())?;
                    key_entries += 1;
                }
                for (k, v) in edit.wal_applied.map(|r| r.entries.as_slice()).unwrap_or_default() {
                    pace.step()?;
                    let rev = RevisionKey::parse(k).map_err(|e| Error::Usage(format!("a replayed entry's revision key: {e}")))?;
                    if !keeps(&rev, v) {
                        dropped += 1;
                        continue;
                    }
                    latest = latest.max(rev.revision);
                    tree.put(writer.page_file(), k, v)?;
                    key_entries += 1;
                }
                if let Some(n) = edit.bump {
                    latest = Revision {
                        main: latest.main.checked_add(n).ok_or_else(|| Error::Usage(format!("--bump-revision {n} overflows the revision")))?,
                        sub: 0,
                    };
                    let k = RevisionKey { revision: latest, tombstone: false }.encode();
                    tree.put(writer.page_file(), &k, &[])?;
                    key_entries += 1;
                }
            }
            MEMBERS => {
                let mut members: Vec<(String, String)> = cluster.members.iter().map(|m| (format!("{:x}", m.id), member_json(m))).collect();
                members.sort();
                for (k, v) in &members {
                    tree.put(writer.page_file(), k.as_bytes(), v.as_bytes())?;
                }
            }
            MEMBERS_REMOVED => {}
            META => {
                let mut replaced: Vec<(&[u8], Vec<u8>)> = vec![(CONSISTENT_INDEX, index.to_be_bytes().to_vec()), (TERM, term.to_be_bytes().to_vec())];
                let mark = |main: i64| RevisionKey { revision: Revision { main, sub: 0 }, tombstone: false }.encode();
                if let Some(r) = edit.wal_applied.filter(|r| r.compact > source_compact) {
                    // The replayed compaction is done here, so it is both scheduled and finished.
                    replaced.push((FINISHED_COMPACT, mark(r.compact)));
                    if edit.bump.is_none() {
                        replaced.push((SCHEDULED_COMPACT, mark(r.compact)));
                    }
                }
                if edit.bump.is_some() {
                    replaced.push((SCHEDULED_COMPACT, mark(latest.main)));
                }
                let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
                for entry in bucket.iter(db) {
                    let entry = entry?;
                    pace.step()?;
                    no_nested(db, name, &entry)?;
                    if !replaced.iter().any(|(k, _)| *k == entry.key()) {
                        entries.push((entry.key().to_vec(), entry.value().to_vec()));
                    }
                }
                entries.extend(replaced.into_iter().map(|(k, v)| (k.to_vec(), v)));
                entries.sort();
                for (k, v) in &entries {
                    tree.put(writer.page_file(), k, v)?;
                }
            }
            LEASE if edit.wal_applied.is_some_and(|r| !r.leases.is_empty()) => {
                let changes = &edit.wal_applied.expect("checked").leases;
                let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
                for entry in bucket.iter(db) {
                    let entry = entry?;
                    pace.step()?;
                    no_nested(db, name, &entry)?;
                    let id = <[u8; 8]>::try_from(entry.key()).map(i64::from_be_bytes).ok();
                    if id.map_or(true, |id| !changes.contains_key(&id)) {
                        entries.push((entry.key().to_vec(), entry.value().to_vec()));
                    }
                }
                entries.extend(changes.iter().filter_map(|(id, v)| v.as_ref().map(|v| (id.to_be_bytes().to_vec(), v.clone()))));
                entries.sort();
                for (k, v) in &entries {
                    tree.put(writer.page_file(), k, v)?;
                }
            }
            _ => {
                for entry in bucket.iter(db) {
                    let entry = entry?;
                    pace.step()?;
                    no_nested(db, name, &entry)?;
                    tree.put(writer.page_file(), entry.key(), entry.value())?;
                }
            }
        }
        writer.add_bucket(name, sequence, tree)?;
    }
    let file = writer.finish(false)?;
    Ok(DbWritten { file, key_entries, dropped_entries: dropped, latest })
}

/// etcd's buckets hold no buckets; a rebuild does not guess what one inside them would mean.
fn no_nested(db: &Db<'_>, bucket: &[u8], entry: &crate::bolt::Entry<'_>) -> Result<()> {
    if entry.is_bucket() {
        return Err(db.corrupt(
            entry.page,
            entry.element.value_offset,
            format!(
                "bucket {:?} holds a nested bucket {:?}; etcd's buckets never do, so a rebuild stops here",
                String::from_utf8_lossy(bucket),
                String::from_utf8_lossy(entry.key())
            ),
        ));
    }
    Ok(())
}
