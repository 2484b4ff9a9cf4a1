//! Applying etcd v3 requests to a keyspace as etcd's apply loop does, for replaying a WAL past a
//! snapshot: puts, range deletes and transactions (compares evaluated against the state before
//! the transaction, nested transactions included), compactions, lease grants and revokes. Each
//! request that changes keys takes the next main revision, its changes the sub revisions 0, 1, …
//! in the order etcd makes them; a request etcd would refuse (a put on a missing lease, a
//! compaction below the last one, …) changes nothing, as in etcd.
//!
//! The state starts from a snapshot's live keys (values borrowed from the file) and records
//! every new `key` bucket entry; membership, auth and alarm requests are counted, not applied
//! (a rebuild makes a new cluster and keeps the snapshot's auth and alarms).

use super::mvcc::range_contains;
use super::pb::{etcdserverpb as pb, leasepb, mvccpb};
use super::revision::{Revision, RevisionKey};
use prost::Message;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// A live key's newest version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveKey<'a> {
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
    pub lease: i64,
    pub value: Cow<'a, [u8]>,
}

/// etcd's smallest lease TTL with its default election timeout and heartbeat (3 × 1000 ms / 2,
/// rounded up to whole seconds): shorter grants are stored as this.
pub const MIN_LEASE_TTL: i64 = 2;
/// etcd's largest lease TTL (`MaxLeaseTTL`, 9,000,000,000 s).
pub const MAX_LEASE_TTL: i64 = 9_000_000_000;

/// What applying one request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Keys changed at this main revision.
    Wrote { revision: i64, changes: usize },
    /// The request changed no key (a compaction, a lease grant, a txn that only read, a delete
    /// that matched nothing).
    NoKeyChange,
    /// etcd would have answered with this error and changed nothing.
    Refused(String),
    /// A request of this kind is not replayed (membership, auth, alarms, v2).
    NotReplayed(&'static str),
}

/// One change a write makes.
#[derive(Debug, Clone)]
enum Change<'a> {
    Put(Vec<u8>, LiveKey<'a>),
    Delete(Vec<u8>),
}

/// The keyspace being replayed into.
pub struct Applier<'a> {
    live: BTreeMap<Vec<u8>, LiveKey<'a>>,
    leases: BTreeMap<i64, leasepb::Lease>,
    /// The current main revision (the last one a write took).
    pub revision: i64,
    /// The last compaction's revision.
    pub compact: i64,
    /// New `key` bucket entries, in revision order: (revision key, mvccpb.KeyValue bytes).
    pub entries: Vec<(Vec<u8>, Vec<u8>)>,
    /// Leases granted or revoked: the final stored value, or None when revoked.
    pub lease_changes: BTreeMap<i64, Option<Vec<u8>>>,
}

impl<'a> Applier<'a> {
    /// Starts from `live` keys (sorted or not), the snapshot's leases, its current and compact
    /// revisions.
    pub fn new(
        live: impl IntoIterator<Item = (&'a [u8], LiveKey<'a>)>,
        leases: impl IntoIterator<Item = leasepb::Lease>,
        revision: i64,
        compact: i64,
    ) -> Applier<'a> {
        Applier {
            live: live.into_iter().map(|(k, v)| (k.to_vec(), v)).collect(),
            leases: leases.into_iter().map(|l| (l.id, l)).collect(),
            revision,
            compact,
            entries: Vec::new(),
            lease_changes: BTreeMap::new(),
        }
    }

    pub fn live_keys(&self) -> usize {
        self.live.len()
    }

    /// Applies one request, as etcd would at the next revision.
    pub fn apply(&mut self, r: &pb::InternalRaftRequest) -> Applied {
        self.apply_until(r, i64::MAX).unwrap_or(Applied::NoKeyChange)
    }

    /// Applies `r` unless it would write past revision `max` (then `None`, nothing applied).
    pub fn apply_until(&mut self, r: &pb::InternalRaftRequest, max: i64) -> Option<Applied> {
        let changes = match self.plan(r) {
            Ok(Some(changes)) => changes,
            Ok(None) => return Some(self.apply_other(r)),
            Err(why) => return Some(Applied::Refused(why)),
        };
        if changes.is_empty() {
            return Some(Applied::NoKeyChange);
        }
        if self.revision >= max {
            return None;
        }
        if let Some(l) = &r.lease_revoke {
            self.leases.remove(&l.id);
            self.lease_changes.insert(l.id, None);
        }
        Some(self.commit(changes))
    }

    /// The key changes of a put, delete, txn or lease revoke (`Ok(None)` for other requests),
    /// or why etcd refuses it.
    fn plan(&self, r: &pb::InternalRaftRequest) -> Result<Option<Vec<Change<'a>>>, String> {
        let mut out = Vec::new();
        if let Some(p) = &r.put {
            self.check_put(p)?;
            self.put(p, &mut out);
        } else if let Some(d) = &r.delete_range {
            self.delete(&d.key, &d.range_end, &mut out);
        } else if let Some(t) = &r.txn {
            let mut ops = Vec::new();
            self.txn_path(t, &mut ops);
            for op in &ops {
                match op {
                    Op::Put(p) => self.check_put(p)?,
                    Op::Range(rr) => self.check_range(rr)?,
                    Op::Delete(_) => {}
                }
            }
            for op in ops {
                match op {
                    Op::Put(p) => self.put(p, &mut out),
                    Op::Delete(d) => self.delete(&d.key, &d.range_end, &mut out),
                    Op::Range(_) => {}
                }
            }
        } else if let Some(l) = &r.lease_revoke {
            if !self.leases.contains_key(&l.id) {
                return Err("etcdserver: requested lease not found".into());
            }
            // The lease's keys, in key order, deleted in one write.
            for (k, v) in &self.live {
                if v.lease == l.id {
                    out.push(Change::Delete(k.clone()));
                }
            }
            if out.is_empty() {
                // No key to delete: the revoke still removes the lease, without a revision.
                return Ok(None);
            }
        } else {
            return Ok(None);
        }
        Ok(Some(out))
    }

    /// Requests that change no key: compaction, lease grant, a revoke of a lease without keys;
    /// and the kinds not replayed.
    fn apply_other(&mut self, r: &pb::InternalRaftRequest) -> Applied {
        if let Some(c) = &r.compaction {
            if c.revision <= self.compact {
                return Applied::Refused("mvcc: required revision has been compacted".into());
            }
            if c.revision > self.revision {
                return Applied::Refused("mvcc: required revision is a future revision".into());
            }
            self.compact = c.revision;
            return Applied::NoKeyChange;
        }
        if let Some(g) = &r.lease_grant {
            if self.leases.contains_key(&g.id) {
                return Applied::Refused("etcdserver: lease already exists".into());
            }
            if g.ttl > MAX_LEASE_TTL {
                return Applied::Refused("etcdserver: too large lease TTL".into());
            }
            let lease = leasepb::Lease { id: g.id, ttl: g.ttl.max(MIN_LEASE_TTL), remaining_ttl: 0 };
            self.lease_changes.insert(g.id, Some(lease.encode_to_vec()));
            self.leases.insert(g.id, lease);
            return Applied::NoKeyChange;
        }
        if let Some(l) = &r.lease_revoke {
            // Reached only for a lease with no keys (plan handles the others).
            self.leases.remove(&l.id);
            self.lease_changes.insert(l.id, None);
            return Applied::NoKeyChange;
        }
        if r.range.is_some() || r.lease_checkpoint.is_some() || r.authenticate.is_some() || r.auth_status.is_some() {
            return Applied::NoKeyChange;
        }
        if r.alarm.is_some() {
            return Applied::NotReplayed("alarm");
        }
        if r.cluster_version_set.is_some() || r.cluster_member_attr_set.is_some() || r.downgrade_info_set.is_some() {
            return Applied::NotReplayed("membership");
        }
        if r.v2.is_some() {
            return Applied::NotReplayed("v2");
        }
        Applied::NotReplayed("auth")
    }

    /// etcd's checks of a put before anything is written.
    fn check_put(&self, p: &pb::PutRequest) -> Result<(), String> {
        if (p.ignore_value || p.ignore_lease) && !self.live.contains_key(&p.key) {
            return Err("etcdserver: key not found".into());
        }
        if p.lease != 0 && !p.ignore_lease && !self.leases.contains_key(&p.lease) {
            return Err("etcdserver: requested lease not found".into());
        }
        Ok(())
    }

    /// A range inside a txn is refused when it asks a compacted or future revision.
    fn check_range(&self, r: &pb::RangeRequest) -> Result<(), String> {
        if r.revision > self.revision {
            return Err("mvcc: required revision is a future revision".into());
        }
        if r.revision > 0 && r.revision < self.compact {
            return Err("mvcc: required revision has been compacted".into());
        }
        Ok(())
    }

    fn put(&self, p: &pb::PutRequest, out: &mut Vec<Change<'a>>) {
        let prev = self.live.get(&p.key);
        let value = match (p.ignore_value, prev) {
            (true, Some(prev)) => prev.value.clone(),
            _ => Cow::Owned(p.value.clone()),
        };
        let lease = match (p.ignore_lease, prev) {
            (true, Some(prev)) => prev.lease,
            _ => p.lease,
        };
        let (create_revision, version) = match prev {
            Some(prev) => (prev.create_revision, prev.version.saturating_add(1)),
            None => (0, 1),
        };
        out.push(Change::Put(p.key.clone(), LiveKey { create_revision, mod_revision: 0, version, lease, value }));
    }

    fn delete(&self, key: &[u8], end: &[u8], out: &mut Vec<Change<'a>>) {
        let found: Vec<Vec<u8>> = if end.is_empty() {
            self.live.get_key_value(key).map(|(k, _)| k.clone()).into_iter().collect()
        } else {
            self.live.range(key.to_vec()..).map(|(k, _)| k).take_while(|k| range_contains(key, end, k)).cloned().collect()
        };
        // A key an earlier delete of the same txn removed is gone by now: etcd reads its index
        // inside the txn, so overlapping deletes delete each key once.
        let already: std::collections::HashSet<&[u8]> = out
            .iter()
            .filter_map(|c| match c {
                Change::Delete(k) => Some(k.as_slice()),
                Change::Put(..) => None,
            })
            .collect();
        let found: Vec<Vec<u8>> = found.into_iter().filter(|k| !already.contains(k.as_slice())).collect();
        out.extend(found.into_iter().map(Change::Delete));
    }

    /// The operations of the branches a txn takes, nested txns included, every compare read
    /// against the state before the txn (as etcd computes the path before writing).
    fn txn_path<'t>(&self, t: &'t pb::TxnRequest, ops: &mut Vec<Op<'t>>) {
        use pb::request_op::Request as R;
        let branch = if t.compare.iter().all(|c| self.compare(c)) { &t.success } else { &t.failure };
        for op in branch {
            match &op.request {
                Some(R::RequestPut(p)) => ops.push(Op::Put(p)),
                Some(R::RequestDeleteRange(d)) => ops.push(Op::Delete(d)),
                Some(R::RequestRange(r)) => ops.push(Op::Range(r)),
                Some(R::RequestTxn(t)) => self.txn_path(t, ops),
                None => {}
            }
        }
    }

    /// etcd's compare: every key in the compare's range must satisfy it; no key at all compares
    /// as a zero KeyValue, except that a value compare then fails.
    fn compare(&self, c: &pb::Compare) -> bool {
        let keys: Vec<&LiveKey<'a>> = if c.range_end.is_empty() {
            self.live.get(&c.key).into_iter().collect()
        } else {
            self.live.range(c.key.clone()..).take_while(|(k, _)| range_contains(&c.key, &c.range_end, k)).map(|(_, v)| v).collect()
        };
        let target = pb::compare::CompareTarget::try_from(c.target).unwrap_or(pb::compare::CompareTarget::Version);
        if keys.is_empty() {
            if target == pb::compare::CompareTarget::Value {
                return false;
            }
            let zero = LiveKey { create_revision: 0, mod_revision: 0, version: 0, lease: 0, value: Cow::Borrowed(&[]) };
            return compare_one(c, target, &zero);
        }
        keys.into_iter().all(|k| compare_one(c, target, k))
    }

    /// Writes `changes` at the next revision.
    fn commit(&mut self, changes: Vec<Change<'a>>) -> Applied {
        let rev = self.revision.saturating_add(1);
        let n = changes.len();
        for (sub, change) in changes.into_iter().enumerate() {
            let revision = Revision { main: rev, sub: sub as i64 };
            match change {
                Change::Put(key, mut live) => {
                    if live.create_revision == 0 {
                        live.create_revision = rev;
                    }
                    live.mod_revision = rev;
                    let kv = mvccpb::KeyValue {
                        key: key.clone(),
                        create_revision: live.create_revision,
                        mod_revision: rev,
                        version: live.version,
                        value: live.value.to_vec(),
                        lease: live.lease,
                    };
                    self.entries.push((RevisionKey { revision, tombstone: false }.encode(), kv.encode_to_vec()));
                    self.live.insert(key, live);
                }
                Change::Delete(key) => {
                    let kv = mvccpb::KeyValue { key: key.clone(), ..Default::default() };
                    self.entries.push((RevisionKey { revision, tombstone: true }.encode(), kv.encode_to_vec()));
                    self.live.remove(&key);
                }
            }
        }
        self.revision = rev;
        Applied::Wrote { revision: rev, changes: n }
    }
}

enum Op<'t> {
    Put(&'t pb::PutRequest),
    Delete(&'t pb::DeleteRangeRequest),
    Range(&'t pb::RangeRequest),
}

fn compare_one(c: &pb::Compare, target: pb::compare::CompareTarget, kv: &LiveKey<'_>) -> bool {
    use pb::compare::{CompareResult as Res, CompareTarget as T, TargetUnion as U};
    let int = |want: Option<i64>, have: i64| have.cmp(&want.unwrap_or(0));
    let order = match target {
        T::Value => kv.value.as_ref().cmp(match &c.target_union {
            Some(U::Value(v)) => v.as_slice(),
            _ => &[],
        }),
        T::Create => int(if let Some(U::CreateRevision(v)) = c.target_union { Some(v) } else { None }, kv.create_revision),
        T::Mod => int(if let Some(U::ModRevision(v)) = c.target_union { Some(v) } else { None }, kv.mod_revision),
        T::Version => int(if let Some(U::Version(v)) = c.target_union { Some(v) } else { None }, kv.version),
        T::Lease => int(if let Some(U::Lease(v)) = c.target_union { Some(v) } else { None }, kv.lease),
    };
    match Res::try_from(c.result).unwrap_or(Res::Equal) {
        Res::Equal => order.is_eq(),
        Res::NotEqual => order.is_ne(),
        Res::Greater => order.is_gt(),
        Res::Less => order.is_lt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str, value: &str, lease: i64) -> pb::InternalRaftRequest {
        pb::InternalRaftRequest { put: Some(pb::PutRequest { key: key.into(), value: value.into(), lease, ..Default::default() }), ..Default::default() }
    }

    #[test]
    fn revisions_versions_and_refusals_follow_etcd() {
        let mut a = Applier::new(Vec::new(), Vec::new(), 1, 0);
        assert_eq!(a.apply(&put("a", "1", 0)), Applied::Wrote { revision: 2, changes: 1 });
        assert_eq!(a.apply(&put("a", "2", 0)), Applied::Wrote { revision: 3, changes: 1 });
        assert!(matches!(a.apply(&put("b", "1", 7)), Applied::Refused(_)), "no lease 7");
        assert_eq!(a.revision, 3);
        let live = &a.live[&b"a".to_vec()];
        assert_eq!((live.create_revision, live.mod_revision, live.version), (2, 3, 2));
        let del = pb::InternalRaftRequest { delete_range: Some(pb::DeleteRangeRequest { key: b"z".to_vec(), ..Default::default() }), ..Default::default() };
        assert_eq!(a.apply(&del), Applied::NoKeyChange, "deleting nothing takes no revision");
    }

    #[test]
    fn overlapping_deletes_in_one_txn_delete_each_key_once() {
        use pb::request_op::Request as R;
        let mut a = Applier::new(Vec::new(), Vec::new(), 1, 0);
        for k in ["k/1", "k/12", "k/2"] {
            a.apply(&put(k, "v", 0));
        }
        let del = |key: &str, end: &str| pb::RequestOp {
            request: Some(R::RequestDeleteRange(pb::DeleteRangeRequest { key: key.into(), range_end: end.into(), ..Default::default() })),
        };
        let txn = pb::InternalRaftRequest {
            txn: Some(pb::TxnRequest { success: vec![del("k/1", ""), del("k/1", "k/2")], ..Default::default() }),
            ..Default::default()
        };
        assert_eq!(a.apply(&txn), Applied::Wrote { revision: 5, changes: 2 }, "k/1 once, then k/12");
    }
}
