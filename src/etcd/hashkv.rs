//! The other checksums people compare members with:
//! - `hashkv`: what `etcdctl endpoint hashkv [--rev R]` prints. CRC-32C of the bucket name `key`,
//!   then every `key` bucket entry (revision key and stored value) up to revision R, except the
//!   entries at or below the compaction that a compaction at R would remove (each key's newest
//!   entry at or below R is kept unless it is a tombstone). Refused, as etcd refuses it, for R at
//!   or below the compaction or above the current revision.
//! - the hash of `etcd-dump-db hash` (etcd 3.5): CRC-32C of every bucket's name and entries, as
//!   the snapshot hash, but without `meta/consistent_index` and `meta/term` (which members may
//!   differ in without differing in data). etcd 3.4's tool left out only `consistent_index`.

use super::backend::{Backend, KEY, META};
use super::revision::{Revision, RevisionKey};
use super::wire;
use super::Store;
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HashKv {
    pub hash: u32,
    /// The revision hashed up to.
    pub revision: i64,
    /// The compaction revision as etcd reports it: -1 when the store was never compacted.
    pub compact_revision: i64,
}

/// `etcdctl endpoint hashkv --rev rev` (0 = the current revision) of the store.
pub fn hash_kv(store: &Store<'_>, rev: i64) -> Result<HashKv> {
    hash_kv_compacted_at(store, rev, store.compact_revision(), &Cancel::default())
}

/// [`hash_kv`] as if the store were compacted at `compact` (at least its own compaction): how
/// members compacted at different revisions are compared on equal terms. Stops at the next
/// entry once `cancel` is cancelled.
pub fn hash_kv_compacted_at(store: &Store<'_>, rev: i64, compact: i64, cancel: &Cancel) -> Result<HashKv> {
    let (compact, current) = (compact.max(store.compact_revision()), store.current_revision());
    if rev > 0 && rev <= compact {
        return Err(Error::Compacted { requested: rev, compact_revision: compact });
    }
    if rev > current {
        return Err(Error::FutureRevision { requested: rev, current_revision: current });
    }
    let rev = if rev == 0 { current } else { rev };
    let meta = &store.meta;
    let never = meta.scheduled_compact_revision.is_none() && meta.finished_compact_revision.is_none() && compact == 0;
    let reported = if never { -1 } else { compact };
    let db = store.db();
    let Some(bucket) = store.backend().bucket(KEY)? else {
        return Ok(HashKv { hash: crc32c::crc32c(KEY), revision: rev, compact_revision: reported });
    };
    let parse = |entry: &crate::bolt::Entry<'_>| {
        RevisionKey::parse(entry.key()).map_err(|e| db.corrupt(entry.page, entry.element.value_offset, format!("key bucket: {e}")))
    };
    // What a compaction at `rev` keeps: each key's newest revision at or below it, unless a tombstone.
    let mut newest: HashMap<&[u8], (Revision, bool)> = HashMap::default();
    for entry in bucket.iter(db) {
        let entry = entry?;
        cancel.check()?;
        let rk = parse(&entry)?;
        if rk.revision.main > rev {
            break;
        }
        let key = wire::bytes_field(entry.value(), 1).ok().flatten().unwrap_or_default();
        newest.insert(key, (rk.revision, rk.tombstone));
    }
    let any_kept = newest.values().any(|(_, tombstone)| !tombstone);
    let mut crc = crc32c::crc32c(KEY);
    for entry in bucket.iter(db) {
        let entry = entry?;
        cancel.check()?;
        let rk = parse(&entry)?;
        if rk.revision.main > rev {
            break;
        }
        if rk.revision.main <= compact && any_kept {
            let key = wire::bytes_field(entry.value(), 1).ok().flatten().unwrap_or_default();
            let kept = matches!(newest.get(key), Some((r, false)) if *r == rk.revision);
            if !kept {
                continue;
            }
        }
        crc = crc32c::crc32c_append(crc, entry.key());
        crc = crc32c::crc32c_append(crc, entry.value());
    }
    Ok(HashKv { hash: crc, revision: rev, compact_revision: reported })
}

/// `etcd-dump-db hash` of etcd 3.5.
pub fn dump_db_hash(backend: &Backend<'_>) -> Result<u32> {
    let db = &backend.db;
    let mut crc = 0u32;
    for (name, bucket) in backend.buckets()? {
        crc = crc32c::crc32c_append(crc, name);
        for entry in bucket.iter(db) {
            let entry = entry?;
            if name == META && (entry.key() == b"consistent_index" || entry.key() == b"term") {
                continue;
            }
            crc = crc32c::crc32c_append(crc, entry.key());
            if !entry.is_bucket() {
                crc = crc32c::crc32c_append(crc, entry.value());
            }
        }
    }
    Ok(crc)
}
