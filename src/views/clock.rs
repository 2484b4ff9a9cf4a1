//! The snapshot's clock: a snapshot file says nothing of when it was taken, yet kubectl's AGE
//! and every "how long ago" need a "now". The best estimate is the newest time the cluster
//! itself wrote into the keyspace: Leases renewed every few seconds by kubelets and
//! controllers (`spec.renewTime`), Events (`lastTimestamp`, `eventTime`,
//! `series.lastObservedTime`), and any write's `metadata.managedFields[].time` or
//! `creationTimestamp`. One estimate serves a whole snapshot, so an object shows the same age
//! whatever else is listed with it.
//!
//! Only the values written last are decoded: the newest time is on the newest writes (in a
//! live cluster most writes are Lease renewals and Events). They are the last entries of the
//! revision-ordered `key` bucket, found with a seek, so the estimate costs the same on a
//! snapshot of any size (an earlier version ranged over every key and decoded every Lease:
//! 0.75 s on 1.2 GB, docs/benchmarks.md). A value since overwritten or deleted is still
//! evidence of when it was written. Never `deletionTimestamp`: graceful deletion sets it in
//! the future. The timestamps are read by the one reader of them, `k8s::facts::object_times`
//! (off the protobuf wire, without rendering the object), as `views::timeline` reads them.

use crate::cancel::Cancel;
use crate::error::Result;
use crate::etcd::mvcc::{RevisionEntry, Store};
use crate::etcd::KeyRange;
use crate::k8s::decoder::Decoder;
use crate::k8s::facts::{object_times, Stamp, TimeField};
use crate::k8s::key::normalize_prefix;
use crate::snapshot::Snapshot;

/// Objects decoded for evidence besides the Leases: the most recently written ones.
pub const NEWEST_WRITES: usize = 256;

/// The estimated time of a snapshot and where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotTime {
    /// Seconds since the Unix epoch.
    pub seconds: i64,
    /// The time as the object states it (RFC 3339).
    pub text: String,
    /// The key of the object that holds it, and the field (`spec.renewTime`).
    pub key: Vec<u8>,
    pub field: String,
}

/// The newest timestamp the cluster wrote into `snap`'s keyspace at its current revision, or
/// None when no object carries one. Stops at the next object once `cancel` is cancelled.
pub fn snapshot_time(snap: &Snapshot<'_>, decoder: &Decoder, etcd_prefix: &str, cancel: &Cancel) -> Result<Option<SnapshotTime>> {
    let store = snap.store();
    let prefix = normalize_prefix(etcd_prefix);
    let objects = KeyRange::prefix(format!("{prefix}/").as_bytes());
    let newest = newest_writes(store, &objects, cancel)?;
    let file = snap.file();
    let mut best: Option<SnapshotTime> = None;
    for entry in newest.iter().rev() {
        cancel.check()?;
        let kv = entry.kv(file)?;
        let Some(times) = object_times(decoder, kv.key, kv.value) else { continue };
        for t in times.into_iter().filter(|t| CLOCK_FIELDS.contains(&t.field)) {
            if best.as_ref().map_or(true, |b| t.at.seconds > b.seconds) {
                best = Some(SnapshotTime { seconds: t.at.seconds, text: t.at.rfc3339(), key: kv.key.to_vec(), field: t.field.as_str().to_string() });
            }
        }
    }
    Ok(best)
}

/// The last [`NEWEST_WRITES`] puts of keys in `range`, in revision order: read from a window
/// at the end of the `key` bucket, widened (×4) while it holds too few (deletes, other keys).
fn newest_writes<'a>(store: &Store<'a>, range: &KeyRange, cancel: &Cancel) -> Result<Vec<RevisionEntry<'a>>> {
    let current = store.current_revision();
    let mut window = NEWEST_WRITES as i64;
    loop {
        let from = current.saturating_sub(window).max(0);
        let mut puts = Vec::new();
        for entry in store.revisions(Some(range), from..=current).until(cancel) {
            let entry = entry?;
            if !entry.tombstone {
                puts.push(entry);
            }
        }
        if puts.len() >= NEWEST_WRITES || from == 0 {
            let skip = puts.len().saturating_sub(NEWEST_WRITES);
            return Ok(puts.split_off(skip));
        }
        window = window.saturating_mul(4);
    }
}

/// The timestamps the estimate reads ([`object_times`], the one reader of them): those the
/// cluster writes at the time of a write. Not the deletion request nor condition times: a
/// condition keeps its time across many writes, and neither is as fresh as a Lease renewal.
const CLOCK_FIELDS: [TimeField; 7] = [
    TimeField::CreationTimestamp,
    TimeField::ManagedFieldsTime,
    TimeField::RenewTime,
    TimeField::AcquireTime,
    TimeField::LastTimestamp,
    TimeField::EventTime,
    TimeField::SeriesLastObservedTime,
];

/// Seconds since the Unix epoch of an RFC 3339 time (`2026-01-02T03:04:05Z`, fractions and
/// numeric offsets accepted): [`Stamp::parse`], the fraction dropped.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    Stamp::parse(s).map(|t| t.seconds)
}
