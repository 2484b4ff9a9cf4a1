//! The hash `etcdutl snapshot status` prints: CRC-32C (Castagnoli) over, for every top-level
//! bucket in order, the bucket name and then every key and value. Nothing is excluded. The same
//! pass yields etcdutl's `revision` (main revision of the last `key` bucket entry) and `totalKey`
//! (every key/value pair in every bucket, as etcdutl 3.5 counts it).

use super::backend::{Backend, KEY};
use super::mvcc::{revision_entry, HistoryCounter, HistoryCounts};
use super::revision::RevisionKey;
use crate::error::Result;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotHash {
    pub hash: u32,
    pub revision: i64,
    pub total_key: u64,
}

pub fn snapshot_hash(backend: &Backend<'_>) -> Result<SnapshotHash> {
    Ok(snapshot_hash_and_counts(backend, false)?.0)
}

/// The snapshot hash and, in the same pass over the `key` bucket, the history counts (`status`
/// needs both, and the bucket is most of the file).
pub fn snapshot_hash_and_counts(backend: &Backend<'_>, with_counts: bool) -> Result<(SnapshotHash, Option<HistoryCounts>)> {
    let db = &backend.db;
    let mut crc = 0u32;
    let mut out = SnapshotHash::default();
    // Distinct keys are rarely more than the file's pages (a 4 KiB page holds many small
    // entries; a large value spans pages); capped, so a huge file reserves at most 4 Mi slots.
    let expected = usize::try_from(db.high_water_mark()).unwrap_or(usize::MAX).min(4 << 20);
    let mut counter = with_counts.then(|| HistoryCounter::with_capacity(expected));
    for (name, bucket) in backend.buckets()? {
        crc = crc32c::crc32c_append(crc, name);
        let is_key = name == KEY;
        for entry in bucket.iter(db) {
            let entry = entry?;
            crc = crc32c::crc32c_append(crc, entry.key());
            // A nested bucket has no value for bbolt's ForEach; etcd has none anyway.
            if !entry.is_bucket() {
                crc = crc32c::crc32c_append(crc, entry.value());
            }
            if is_key {
                if let Ok(rk) = RevisionKey::parse(entry.key()) {
                    out.revision = rk.revision.main;
                }
                if let Some(counter) = counter.as_mut() {
                    counter.add(&revision_entry(db, &entry)?);
                }
            }
            out.total_key += 1;
        }
    }
    out.hash = crc;
    Ok((out, counter.map(HistoryCounter::finish)))
}
