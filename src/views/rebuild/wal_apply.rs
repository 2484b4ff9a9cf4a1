//! `rebuild --wal`: the committed entries a member's WAL holds after the snapshot's consistent
//! index, applied to the snapshot's keyspace as etcd applied them ([`crate::etcd::apply`]), up to
//! a raft index or a revision. What only the WAL still holds comes back with the same revisions
//! etcd gave it.

use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::etcd::apply::{Applied, Applier, LiveKey};
use crate::etcd::pb::leasepb;
use crate::etcd::KeyRange;
use crate::snapshot::Snapshot;
use crate::views::wal::{read, Request, WalLine, WalQuery};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

/// What the replay changes, for the db writer.
#[derive(Debug, Clone, Default)]
pub struct WalApplied {
    /// New `key` bucket entries in revision order: (revision key, mvccpb.KeyValue bytes).
    pub entries: Vec<(Vec<u8>, Vec<u8>)>,
    /// Leases granted (the stored value) or revoked (None).
    pub leases: BTreeMap<i64, Option<Vec<u8>>>,
    /// The compaction revision after the replay (the snapshot's, or a later one replayed).
    pub compact: i64,
    pub report: WalApplyReport,
}

/// What a replay did, for people.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WalApplyReport {
    /// The snapshot's consistent index: entries at or below it are already in the db.
    pub from_index: u64,
    /// The last entry applied (the consistent index the source member would have).
    pub to_index: u64,
    pub entries: u64,
    /// Entries that wrote keys, and the revision the last one took.
    pub writes: u64,
    pub revision: i64,
    pub compact_revision: i64,
    pub leases_granted: u64,
    pub leases_revoked: u64,
    /// Requests etcd refused when it applied them (they changed nothing then either).
    pub refused: u64,
    /// Requests of kinds a rebuild does not replay, by kind (membership, auth, alarm, v2, conf change).
    pub not_replayed: BTreeMap<String, u64>,
    /// Why the replay stopped where it did.
    pub stopped: String,
}

#[derive(Debug, Clone, Default)]
pub struct WalApplyLimits {
    pub to_index: Option<u64>,
    pub to_revision: Option<i64>,
}

/// Replays the WAL in `wal` (a data dir, member dir or WAL dir) on top of `snap`; stops at the
/// next key or record once `cancel` is cancelled.
pub fn apply_wal(snap: &Snapshot<'_>, wal: &Path, limits: &WalApplyLimits, cancel: &Cancel) -> Result<WalApplied> {
    let store = snap.store();
    let file = snap.file();
    let from = store
        .meta
        .consistent_index
        .ok_or_else(|| Error::Usage(format!("{}: the db records no consistent index, so it cannot say which WAL entries it already holds", file.display())))?;
    let current = store.current_revision();
    let mut live = Vec::new();
    for entry in store.range(&KeyRange::all(), current)? {
        cancel.check()?;
        let kv = entry.kv(file)?;
        live.push((
            entry.key,
            LiveKey {
                create_revision: kv.create_revision,
                mod_revision: kv.mod_revision,
                version: kv.version,
                lease: kv.lease,
                value: Cow::Borrowed(kv.value),
            },
        ));
    }
    let leases = snap.leases()?.into_iter().map(|l| leasepb::Lease { id: l.id, ttl: l.ttl, remaining_ttl: l.remaining_ttl });
    let mut applier = Applier::new(live, leases, current, store.compact_revision());
    let mut report = WalApplyReport { from_index: from, to_index: from, ..Default::default() };
    let max_rev = limits.to_revision.unwrap_or(i64::MAX);
    let max_index = limits.to_index.unwrap_or(u64::MAX);
    let Some(mut expected) = from.checked_add(1) else {
        return Err(Error::Usage(format!("{}: the consistent index {from} leaves no room for WAL entries after it", file.display())));
    };
    let mut stopped: Option<String> = None;
    let query = WalQuery { best_effort: false, from_index: Some(expected), cancel: cancel.clone(), ..Default::default() };
    read(wal, &query, None, &mut |line| {
        let WalLine::Entry(e) = line else { return Ok(()) };
        if stopped.is_some() || e.index <= from || e.superseded {
            return Ok(());
        }
        if !e.committed {
            stopped = Some(format!("entry {} and later are not committed (the last hard state commits {})", e.index, e.index - 1));
            return Ok(());
        }
        if e.index > max_index {
            stopped = Some(format!("--to-index {max_index}"));
            return Ok(());
        }
        if e.index != expected {
            return Err(Error::Usage(format!(
                "the WAL does not continue the snapshot: the next entry after index {} is {} (the WAL starts after the snapshot, or segments are missing)",
                expected - 1,
                e.index
            )));
        }
        let outcome = match &e.request {
            Request::Empty => Applied::NoKeyChange,
            Request::ConfChange(_) | Request::ConfChangeV2(_) => Applied::NotReplayed("conf change"),
            Request::V2(_) => Applied::NotReplayed("v2"),
            Request::Undecodable(why) => {
                return Err(Error::Usage(format!("WAL entry {} ({} offset {}) does not decode: {why}", e.index, e.at.segment, e.at.offset)))
            }
            Request::V3 { request, .. } => match applier.apply_until(request, max_rev) {
                Some(outcome) => {
                    if request.lease_grant.is_some() && outcome == Applied::NoKeyChange {
                        report.leases_granted += 1;
                    }
                    if request.lease_revoke.is_some() && !matches!(outcome, Applied::Refused(_)) {
                        report.leases_revoked += 1;
                    }
                    outcome
                }
                None => {
                    stopped = Some(format!("--to-revision {max_rev} (entry {} would write revision {})", e.index, max_rev.saturating_add(1)));
                    return Ok(());
                }
            },
        };
        match outcome {
            Applied::Wrote { .. } => report.writes += 1,
            Applied::Refused(_) => report.refused += 1,
            Applied::NotReplayed(kind) => *report.not_replayed.entry(kind.to_string()).or_default() += 1,
            Applied::NoKeyChange => {}
        }
        report.entries += 1;
        report.to_index = e.index;
        expected = e.index.saturating_add(1);
        Ok(())
    })?;
    if let Some(r) = limits.to_revision {
        if applier.revision < r {
            return Err(Error::Usage(format!("--to-revision {r}: the snapshot and its WAL reach revision {} only", applier.revision)));
        }
    }
    report.stopped = stopped.unwrap_or_else(|| "the end of the WAL".into());
    report.revision = applier.revision;
    report.compact_revision = applier.compact;
    Ok(WalApplied { entries: applier.entries, leases: applier.lease_changes, compact: applier.compact, report })
}
