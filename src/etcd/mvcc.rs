//! MVCC over the `key` bucket: the keyspace as of any retained revision, as etcd's range reads
//! see it. The bucket is ordered by revision, not by user key, so a read scans revisions up to
//! the requested one and keeps, per user key in the range, the newest entry; memory is one small
//! record per matching key (keys and values stay in the mapped file), never the file's size.

use super::backend::{Backend, KEY};
use super::meta::{read_meta, EtcdMeta};
use super::pb::mvccpb;
use super::revision::RevisionKey;
use super::wire;
use crate::bolt::{Bucket, Entry};
use crate::error::{Error, Location, Result};
use prost::Message;
use rustc_hash::FxHashMap as HashMap;
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
            return KeyRange { key: vec![0], end: vec![0] };
        }
        KeyRange { key: prefix.to_vec(), end: prefix_end(prefix) }
    }
    /// Every key >= `key` (all keys when `key` is empty).
    pub fn from_key(key: &[u8]) -> KeyRange {
        let key = if key.is_empty() { vec![0] } else { key.to_vec() };
        KeyRange { key, end: vec![0] }
    }
    pub fn contains(&self, k: &[u8]) -> bool {
        match self.end.as_slice() {
            [] => k == self.key.as_slice(),
            [0] => k >= self.key.as_slice(),
            end => k >= self.key.as_slice() && k < end,
        }
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

/// The newest entry of one user key at the read revision, borrowed from the file.
#[derive(Debug, Clone, Copy)]
pub struct KeyState<'a> {
    pub key: &'a [u8],
    pub revision: RevisionKey,
    /// The stored mvccpb.KeyValue bytes.
    pub raw: &'a [u8],
    pub page: u64,
    pub offset: u64,
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

/// Read access to the MVCC keyspace of a backend.
pub struct Store<'b, 'a> {
    backend: &'b Backend<'a>,
    key_bucket: Option<Bucket<'a>>,
    pub meta: EtcdMeta,
    /// Main revision of the newest entry in the `key` bucket (0 when empty).
    pub last_revision: i64,
}

impl<'b, 'a> Store<'b, 'a> {
    pub fn open(backend: &'b Backend<'a>) -> Result<Store<'b, 'a>> {
        let meta = read_meta(backend)?;
        let key_bucket = backend.bucket(KEY)?;
        let mut last_revision = 0;
        if let Some(bucket) = &key_bucket {
            if let Some(entry) = bucket.iter_rev(&backend.db).next() {
                let entry = entry?;
                last_revision = parse_revision(backend, &entry)?.revision.main;
            }
        }
        Ok(Store { backend, key_bucket, meta, last_revision })
    }

    /// The store revision etcd would report after starting on this backend.
    pub fn current_revision(&self) -> i64 {
        self.last_revision.max(self.meta.compact_revision()).max(1)
    }

    pub fn compact_revision(&self) -> i64 {
        self.meta.compact_revision()
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

    /// Calls `visit` for every `key` bucket entry with main revision <= `rev`, in revision order,
    /// with its parsed revision key and its user key. The user key is `None` for revision-bump
    /// markers (empty values, written by `etcdutl snapshot restore --bump-revision`).
    fn scan(&self, rev: i64, mut visit: impl FnMut(&Entry<'a>, RevisionKey, Option<&'a [u8]>)) -> Result<()> {
        let Some(bucket) = &self.key_bucket else { return Ok(()) };
        for entry in bucket.iter(&self.backend.db) {
            let entry = entry?;
            let rk = parse_revision(self.backend, &entry)?;
            if rk.revision.main > rev {
                break;
            }
            if entry.value().is_empty() {
                visit(&entry, rk, None);
                continue;
            }
            let key = match wire::bytes_field(entry.value(), 1) {
                Ok(Some(k)) => k,
                Ok(None) => return Err(corrupt(self.backend, &entry, "mvccpb.KeyValue without a key")),
                Err(()) => return Err(corrupt(self.backend, &entry, "value is not a valid mvccpb.KeyValue")),
            };
            visit(&entry, rk, Some(key));
        }
        Ok(())
    }

    /// The live keys in `range` as of revision `rev` (already resolved by `read_revision`),
    /// sorted by key.
    pub fn range(&self, range: &KeyRange, rev: i64) -> Result<Vec<KeyState<'a>>> {
        let mut latest: HashMap<&'a [u8], KeyState<'a>> = HashMap::default();
        self.scan(rev, |entry, revision, key| {
            let Some(key) = key else { return };
            if range.contains(key) {
                let state = KeyState { key, revision, raw: entry.value(), page: entry.page, offset: entry.element.value_offset };
                latest.insert(key, state);
            }
        })?;
        let mut live: Vec<KeyState<'a>> = latest.into_values().filter(|s| !s.revision.tombstone).collect();
        live.sort_unstable_by(|a, b| a.key.cmp(b.key));
        Ok(live)
    }

    /// Counts over the whole retained history.
    pub fn history_counts(&self) -> Result<HistoryCounts> {
        let mut counts = HistoryCounts::default();
        let mut newest_is_tombstone: HashMap<&'a [u8], bool> = HashMap::default();
        self.scan(i64::MAX, |_, rk, key| {
            counts.revisions += 1;
            counts.tombstones += u64::from(rk.tombstone);
            if let Some(key) = key {
                newest_is_tombstone.insert(key, rk.tombstone);
            }
        })?;
        counts.distinct_keys = newest_is_tombstone.len() as u64;
        counts.live_keys = newest_is_tombstone.values().filter(|t| !**t).count() as u64;
        Ok(counts)
    }
}

impl<'a> KeyState<'a> {
    /// Decodes the stored KeyValue. `file` names the db in errors.
    pub fn decode(&self, file: &Arc<Path>) -> Result<mvccpb::KeyValue> {
        mvccpb::KeyValue::decode(self.raw).map_err(|e| self.corrupt(file, &e.to_string()))
    }

    /// One int64 field of the stored KeyValue (2 create, 3 mod, 4 version, 6 lease), unparsed rest.
    pub fn int64_field(&self, field: u64, file: &Arc<Path>) -> Result<i64> {
        wire::int64_field(self.raw, field).map_err(|()| self.corrupt(file, "malformed field"))
    }

    /// The stored value bytes, borrowed.
    pub fn value(&self, file: &Arc<Path>) -> Result<&'a [u8]> {
        wire::bytes_field(self.raw, 5).map(Option::unwrap_or_default).map_err(|()| self.corrupt(file, "malformed value field"))
    }

    fn corrupt(&self, file: &Arc<Path>, what: &str) -> Error {
        let at = Location { file: file.clone(), page: Some(self.page), offset: self.offset };
        Error::corrupt(at, format!("value is not a valid mvccpb.KeyValue: {what}"))
    }
}

fn parse_revision(backend: &Backend<'_>, entry: &Entry<'_>) -> Result<RevisionKey> {
    RevisionKey::parse(entry.key()).map_err(|e| corrupt(backend, entry, &e.to_string()))
}

fn corrupt(backend: &Backend<'_>, entry: &Entry<'_>, what: &str) -> Error {
    let offset = entry.element.value_offset - entry.key().len() as u64;
    let at = Location { file: backend.db.file().clone(), page: Some(entry.page), offset };
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
}
