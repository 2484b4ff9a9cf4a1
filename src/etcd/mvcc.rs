//! MVCC over the `key` bucket: every retained revision as a typed, borrowed iterator, and the
//! keyspace as of any retained revision, as etcd's range reads see it.
//!
//! The bucket is ordered by revision (main, sub), not by user key. [`Store::revisions`] seeks
//! the lower revision bound and stops after the upper one; a read at a revision scans up to it
//! and keeps, per user key in the range, the newest entry: memory is one small record per
//! matching key (keys and values stay in the mapped file), never the file's size.

use super::backend::{Backend, KEY};
use super::meta::{read_meta, EtcdMeta};
use super::pb::mvccpb;
use super::revision::{main_revision_start, Revision, RevisionKey};
use super::wire;
use crate::bolt::{tree::Iter, Bucket, Db, Entry};
use crate::cancel::Cancel;
use crate::error::{Error, Location, Result};
use crate::protowire::{fields, Wire};
use prost::Message;
use rustc_hash::FxHashMap as HashMap;
use std::ops::RangeInclusive;
use std::path::Path;
use std::sync::Arc;

/// A key range with etcd's conventions: empty `end` = the single key `key`; `end` = `\0` = every
/// key >= `key`; otherwise the half-open range [key, end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    pub key: Vec<u8>,
    pub end: Vec<u8>,
}

impl KeyRange {
    pub fn single(key: &[u8]) -> KeyRange {
        KeyRange { key: key.to_vec(), end: Vec::new() }
    }
    /// Every key starting with `prefix` (all keys when `prefix` is empty).
    pub fn prefix(prefix: &[u8]) -> KeyRange {
        if prefix.is_empty() {
            return KeyRange::all();
        }
        KeyRange { key: prefix.to_vec(), end: prefix_end(prefix) }
    }
    /// Every key.
    pub fn all() -> KeyRange {
        KeyRange { key: vec![0], end: vec![0] }
    }
    /// Every key >= `key` (all keys when `key` is empty).
    pub fn from_key(key: &[u8]) -> KeyRange {
        let key = if key.is_empty() { vec![0] } else { key.to_vec() };
        KeyRange { key, end: vec![0] }
    }
    pub fn contains(&self, k: &[u8]) -> bool {
        range_contains(&self.key, &self.end, k)
    }
}

/// Whether the range `key`..`end` holds `k`, as etcd reads a range: an empty `end` is `key`
/// alone, `\0` is every key from `key` on. The one range test ([`KeyRange::contains`], and the
/// requests the WAL replay applies).
pub fn range_contains(key: &[u8], end: &[u8], k: &[u8]) -> bool {
    match end {
        [] => k == key,
        [0] => k >= key,
        end => k >= key && k < end,
    }
}

/// The first key after every key with this prefix: the prefix with its last byte below 0xff
/// incremented and what follows dropped; `\0` (no upper bound) if every byte is 0xff.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// One entry of the `key` bucket, borrowed from the file: a put or a tombstone of one user key
/// at one revision, or a revision-bump marker (an empty value, written by
/// `etcdutl snapshot restore --bump-revision`, which belongs to no key).
#[derive(Debug, Clone, Copy)]
pub struct RevisionEntry<'a> {
    pub revision: Revision,
    pub tombstone: bool,
    /// The user key (empty for a marker).
    pub key: &'a [u8],
    /// The stored mvccpb.KeyValue bytes (empty for a marker).
    pub raw: &'a [u8],
    /// The page holding the entry, and the file offset of `raw`, for errors.
    pub page: u64,
    pub offset: u64,
}

/// A stored mvccpb.KeyValue read in one pass, its bytes borrowed. Absent fields are 0 / empty,
/// as proto3 reads them; a tombstone stores only its key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyValueRef<'a> {
    pub key: &'a [u8],
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
    pub value: &'a [u8],
    pub lease: i64,
}

impl<'a> RevisionEntry<'a> {
    pub fn main(&self) -> i64 {
        self.revision.main
    }
    pub fn sub(&self) -> i64 {
        self.revision.sub
    }
    pub fn is_marker(&self) -> bool {
        self.raw.is_empty()
    }

    /// Every field of the stored KeyValue, borrowed. `file` names the db in errors.
    pub fn kv(&self, file: &Arc<Path>) -> Result<KeyValueRef<'a>> {
        let mut kv = KeyValueRef::default();
        for field in fields(self.raw) {
            let (number, value) = field.map_err(|e| self.corrupt(file, &e.to_string()))?;
            match (number, value) {
                (1, Wire::Bytes(b)) => kv.key = b,
                (2, Wire::Varint(v)) => kv.create_revision = v as i64,
                (3, Wire::Varint(v)) => kv.mod_revision = v as i64,
                (4, Wire::Varint(v)) => kv.version = v as i64,
                (5, Wire::Bytes(b)) => kv.value = b,
                (6, Wire::Varint(v)) => kv.lease = v as i64,
                (1..=6, other) => return Err(self.corrupt(file, &format!("field {number} is {}, not of its declared type", other.type_name()))),
                _ => {}
            }
        }
        Ok(kv)
    }

    /// Decodes the stored KeyValue into an owned message.
    pub fn decode(&self, file: &Arc<Path>) -> Result<mvccpb::KeyValue> {
        mvccpb::KeyValue::decode(self.raw).map_err(|e| self.corrupt(file, &e.to_string()))
    }

    /// One int64 field of the stored KeyValue (2 create, 3 mod, 4 version, 6 lease), unparsed rest.
    pub fn int64_field(&self, field: u64, file: &Arc<Path>) -> Result<i64> {
        wire::int64_field(self.raw, field).map_err(|wire::Malformed| self.corrupt(file, "malformed field"))
    }

    /// The stored value bytes, borrowed.
    pub fn value(&self, file: &Arc<Path>) -> Result<&'a [u8]> {
        wire::bytes_field(self.raw, 5).map(Option::unwrap_or_default).map_err(|wire::Malformed| self.corrupt(file, "malformed value field"))
    }

    fn corrupt(&self, file: &Arc<Path>, what: &str) -> Error {
        let at = Location { file: file.clone(), page: Some(self.page), offset: self.offset };
        Error::corrupt(at, format!("value is not a valid mvccpb.KeyValue: {what}"))
    }
}

/// Counts over the whole history in the `key` bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryCounts {
    /// Entries in the `key` bucket (puts and tombstones, every retained revision).
    pub revisions: u64,
    pub tombstones: u64,
    /// Keys whose newest entry is a put.
    pub live_keys: u64,
    /// Distinct user keys with any retained entry.
    pub distinct_keys: u64,
}

/// Entries a scan reads between two looks at its cancel token.
const CANCEL_EVERY: usize = 1024;

/// Read access to the MVCC keyspace of a backend.
pub struct Store<'a> {
    backend: Backend<'a>,
    key_bucket: Option<Bucket<'a>>,
    pub meta: EtcdMeta,
    /// Main revision of the newest entry in the `key` bucket (0 when empty).
    pub last_revision: i64,
    /// Main revision of the oldest entry in the `key` bucket (0 when empty).
    pub first_revision: i64,
}

/// The main revision of the newest entry of the `key` bucket `bucket` (0 when empty).
fn newest_revision_in(db: &Db<'_>, bucket: &Bucket<'_>) -> Result<i64> {
    match bucket.iter_rev(db).next() {
        Some(entry) => Ok(parse_revision(db, &entry?)?.revision.main),
        None => Ok(0),
    }
}

/// The compaction etcd applies when it starts on `backend` ([`EtcdMeta::compact_revision`]),
/// for a caller that needs no [`Store`].
pub fn compact_revision_of(backend: &Backend<'_>) -> Result<i64> {
    let newest = match backend.bucket(KEY)? {
        Some(bucket) => newest_revision_in(&backend.db, &bucket)?,
        None => 0,
    };
    Ok(read_meta(backend)?.compact_revision(newest))
}

impl<'a> Store<'a> {
    pub fn open(backend: Backend<'a>) -> Result<Store<'a>> {
        let meta = read_meta(&backend)?;
        let key_bucket = backend.bucket(KEY)?;
        let (mut first_revision, mut last_revision) = (0, 0);
        if let Some(bucket) = &key_bucket {
            if let Some(entry) = bucket.iter(&backend.db).next() {
                first_revision = parse_revision(&backend.db, &entry?)?.revision.main;
            }
            last_revision = newest_revision_in(&backend.db, bucket)?;
        }
        Ok(Store { backend, key_bucket, meta, last_revision, first_revision })
    }

    pub fn backend(&self) -> &Backend<'a> {
        &self.backend
    }

    pub fn db(&self) -> &Db<'a> {
        &self.backend.db
    }

    /// The store revision etcd would report after starting on this backend.
    pub fn current_revision(&self) -> i64 {
        self.last_revision.max(self.compact_revision()).max(1)
    }

    /// The compaction etcd applies when it starts on this backend ([`EtcdMeta::compact_revision`]).
    pub fn compact_revision(&self) -> i64 {
        self.meta.compact_revision(self.last_revision)
    }

    /// Resolves a requested read revision (0 = current) or refuses it as etcd does.
    pub fn read_revision(&self, requested: i64) -> Result<i64> {
        let current = self.current_revision();
        if requested <= 0 {
            return Ok(current);
        }
        if requested > current {
            return Err(Error::FutureRevision { requested, current_revision: current });
        }
        if requested < self.compact_revision() {
            return Err(Error::Compacted { requested, compact_revision: self.compact_revision() });
        }
        Ok(requested)
    }

    /// Every `key` bucket entry whose main revision lies in `revisions`, in revision order,
    /// starting with a seek to the lower bound. With `keys`, only entries of user keys in that
    /// range (markers belong to none); without, every entry, markers included.
    pub fn revisions<'s>(&'s self, keys: Option<&'s KeyRange>, revisions: RangeInclusive<i64>) -> Revisions<'s, 'a> {
        let (from, to) = (*revisions.start(), *revisions.end());
        let inner = self.key_bucket.as_ref().filter(|_| from <= to).map(|b| b.iter_from(self.db(), &main_revision_start(from.max(0))));
        Revisions { db: self.db(), inner, keys, to, cancel: None, read: 0 }
    }

    /// The live keys in `range` as of revision `rev` (already resolved by `read_revision`),
    /// sorted by key: each key's newest entry at or below `rev`, unless that is a tombstone.
    pub fn range(&self, range: &KeyRange, rev: i64) -> Result<Vec<RevisionEntry<'a>>> {
        self.range_until(range, rev, &Cancel::default())
    }

    /// [`Store::range`], stopping with [`crate::Error::Interrupted`] once `cancel` is cancelled
    /// (the scan reads every revision up to `rev`: most of a large file).
    pub fn range_until(&self, range: &KeyRange, rev: i64, cancel: &Cancel) -> Result<Vec<RevisionEntry<'a>>> {
        let mut latest: HashMap<&'a [u8], RevisionEntry<'a>> = HashMap::default();
        for entry in self.revisions(Some(range), 0..=rev).until(cancel) {
            let entry = entry?;
            latest.insert(entry.key, entry);
        }
        let mut live: Vec<RevisionEntry<'a>> = latest.into_values().filter(|s| !s.tombstone).collect();
        live.sort_unstable_by(|a, b| a.key.cmp(b.key));
        Ok(live)
    }

    /// Counts over the whole retained history.
    pub fn history_counts(&self) -> Result<HistoryCounts> {
        let mut counter = HistoryCounter::default();
        for entry in self.revisions(None, 0..=i64::MAX) {
            counter.add(&entry?);
        }
        Ok(counter.finish())
    }
}

/// [`HistoryCounts`] built one `key` bucket entry at a time, for passes that read the bucket
/// for something else too (`status` hashes it in the same pass).
///
/// Entries may come in chunks (runs of consecutive entries) taken in descending order, as the
/// right-hand side of a split walk takes them: a key's state is replaced only by one from the
/// same or a later chunk.
#[derive(Default)]
pub struct HistoryCounter<'a> {
    counts: HistoryCounts,
    /// Per key: the chunk of its newest entry seen, and whether that entry is a tombstone.
    newest: HashMap<&'a [u8], (u32, bool)>,
    chunk: u32,
}

impl<'a> HistoryCounter<'a> {
    /// A counter whose key index is sized for about `keys` distinct keys from the start (growing
    /// it step by step was an eighth of `status`).
    pub fn with_capacity(keys: usize) -> HistoryCounter<'a> {
        HistoryCounter { newest: HashMap::with_capacity_and_hasher(keys, Default::default()), ..Default::default() }
    }

    /// The entries that follow are chunk `index` (chunks are numbered in revision order).
    pub fn start_chunk(&mut self, index: u32) {
        self.chunk = index;
    }

    pub fn add(&mut self, entry: &RevisionEntry<'a>) {
        self.counts.revisions += 1;
        self.counts.tombstones += u64::from(entry.tombstone);
        if entry.is_marker() {
            return;
        }
        let state = (self.chunk, entry.tombstone);
        match self.newest.entry(entry.key) {
            std::collections::hash_map::Entry::Occupied(mut o) if o.get().0 <= self.chunk => *o.get_mut() = state,
            std::collections::hash_map::Entry::Occupied(_) => {}
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(state);
            }
        }
    }

    /// The counts of this counter's entries followed by `newer`'s (the next revisions): a
    /// key's newest state is `newer`'s when it has one. Looks this side's keys up there rather
    /// than inserting them (half the work of merging the maps).
    pub fn finish_with_newer(self, newer: HistoryCounter<'a>) -> HistoryCounts {
        let mut counts = newer.counts;
        counts.revisions += self.counts.revisions;
        counts.tombstones += self.counts.tombstones;
        counts.distinct_keys = newer.newest.len() as u64;
        counts.live_keys = newer.newest.values().filter(|(_, t)| !t).count() as u64;
        for (key, (_, tombstone)) in &self.newest {
            if !newer.newest.contains_key(key) {
                counts.distinct_keys += 1;
                counts.live_keys += u64::from(!tombstone);
            }
        }
        counts
    }

    pub fn finish(self) -> HistoryCounts {
        let mut counts = self.counts;
        counts.distinct_keys = self.newest.len() as u64;
        counts.live_keys = self.newest.values().filter(|(_, t)| !t).count() as u64;
        counts
    }
}

/// One `key` bucket entry as a revision entry (the bucket's own iteration, for passes that do
/// not go through [`Store::revisions`]).
pub fn revision_entry<'a>(db: &Db<'a>, entry: &Entry<'a>) -> Result<RevisionEntry<'a>> {
    parse_entry(db, entry)
}

/// The iterator of [`Store::revisions`]; it stops after the first error it yields.
pub struct Revisions<'s, 'a> {
    db: &'s Db<'a>,
    inner: Option<Iter<'s, 'a>>,
    keys: Option<&'s KeyRange>,
    to: i64,
    cancel: Option<&'s Cancel>,
    /// Entries read from the bucket (matching or not), for the cancel check.
    read: usize,
}

impl<'s> Revisions<'s, '_> {
    /// Ends the iteration with [`Error::Interrupted`] once `cancel` is cancelled, looked at every
    /// `CANCEL_EVERY` entries read (those outside the key range included: a scan for one key
    /// reads the whole bucket).
    pub fn until(mut self, cancel: &'s Cancel) -> Self {
        self.cancel = Some(cancel);
        self
    }
}

impl<'a> Iterator for Revisions<'_, 'a> {
    type Item = Result<RevisionEntry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            // Once, then the iteration is over (`inner` gone).
            if self.read % CANCEL_EVERY == 0 && self.inner.is_some() && self.cancel.is_some_and(Cancel::is_cancelled) {
                self.inner = None;
                return Some(Err(Error::Interrupted));
            }
            self.read += 1;
            let step = self.parse_next()?;
            match step {
                Ok(entry) if entry.main() > self.to => {
                    self.inner = None;
                    return None;
                }
                Ok(entry) => match self.keys {
                    Some(range) if entry.is_marker() || !range.contains(entry.key) => continue,
                    _ => return Some(Ok(entry)),
                },
                Err(e) => {
                    self.inner = None;
                    return Some(Err(e));
                }
            }
        }
    }
}

impl<'a> Revisions<'_, 'a> {
    fn parse_next(&mut self) -> Option<Result<RevisionEntry<'a>>> {
        let entry = match self.inner.as_mut()?.next()? {
            Ok(entry) => entry,
            Err(e) => return Some(Err(e)),
        };
        Some(parse_entry(self.db, &entry))
    }
}

fn parse_entry<'a>(db: &Db<'a>, entry: &Entry<'a>) -> Result<RevisionEntry<'a>> {
    let rk = parse_revision(db, entry)?;
    let raw = entry.value();
    let key = if raw.is_empty() {
        &[][..]
    } else {
        match wire::bytes_field(raw, 1) {
            Ok(Some(k)) => k,
            Ok(None) => return Err(corrupt(db, entry, "mvccpb.KeyValue without a key")),
            Err(wire::Malformed) => return Err(corrupt(db, entry, "value is not a valid mvccpb.KeyValue")),
        }
    };
    Ok(RevisionEntry { revision: rk.revision, tombstone: rk.tombstone, key, raw, page: entry.page, offset: entry.element.value_offset })
}

fn parse_revision(db: &Db<'_>, entry: &Entry<'_>) -> Result<RevisionKey> {
    RevisionKey::parse(entry.key()).map_err(|e| corrupt(db, entry, &e.to_string()))
}

fn corrupt(db: &Db<'_>, entry: &Entry<'_>, what: &str) -> Error {
    let offset = entry.element.value_offset - entry.key().len() as u64;
    let at = Location { file: db.file().clone(), page: Some(entry.page), offset };
    Error::corrupt(at, format!("key bucket entry {}: {what}", hex(entry.key())))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_follows_etcd() {
        assert_eq!(prefix_end(b"abc"), b"abd");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b"\xff\xff"), b"\0");
    }

    #[test]
    fn ranges() {
        let r = KeyRange { key: b"b".to_vec(), end: b"d".to_vec() };
        assert!(r.contains(b"b") && r.contains(b"c\xff") && !r.contains(b"d") && !r.contains(b"a"));
        assert!(KeyRange::from_key(b"").contains(b"\0"));
        assert!(KeyRange::prefix(b"").contains(b"\0\0"));
        assert!(KeyRange::single(b"x").contains(b"x") && !KeyRange::single(b"x").contains(b"xy"));
    }

    fn entry(main: i64, key: &'static [u8], tombstone: bool) -> RevisionEntry<'static> {
        let revision = crate::etcd::revision::Revision { main, sub: 0 };
        RevisionEntry { revision, tombstone, key, raw: b"kv", page: 0, offset: 0 }
    }

    /// The history a, b put; a deleted; b put again; c put; a put again, read in chunks
    /// [r1 r2] [r3 r4] [r5 r6]: one side takes chunk 0 ascending, the other 2 then 1
    /// (descending), as a split walk does. Counts equal one ordered pass.
    #[test]
    fn chunks_taken_from_both_ends_count_as_one_pass() {
        let history = [entry(1, b"a", false), entry(2, b"b", false), entry(3, b"a", true), entry(4, b"b", false), entry(5, b"c", false), entry(6, b"a", false)];
        let mut ordered = HistoryCounter::default();
        history.iter().for_each(|e| ordered.add(e));
        let ordered = ordered.finish();
        assert_eq!((ordered.revisions, ordered.tombstones, ordered.distinct_keys, ordered.live_keys), (6, 1, 3, 3));

        let (mut left, mut right) = (HistoryCounter::default(), HistoryCounter::default());
        left.start_chunk(0);
        history[0..2].iter().for_each(|e| left.add(e));
        right.start_chunk(2);
        history[4..6].iter().for_each(|e| right.add(e));
        right.start_chunk(1);
        history[2..4].iter().for_each(|e| right.add(e));
        assert_eq!(left.finish_with_newer(right), ordered);

        // Without the last put of a, a's newest state is chunk 1's tombstone.
        let (mut left, mut right) = (HistoryCounter::default(), HistoryCounter::default());
        history[0..2].iter().for_each(|e| left.add(e));
        right.start_chunk(2);
        right.add(&history[4]);
        right.start_chunk(1);
        history[2..4].iter().for_each(|e| right.add(e));
        let counts = left.finish_with_newer(right);
        assert_eq!((counts.revisions, counts.tombstones, counts.distinct_keys, counts.live_keys), (5, 1, 3, 2));
    }
}
