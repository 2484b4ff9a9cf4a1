//! `kv get`: etcd's Range request answered from the file, with etcd 3.5's semantics for ranges,
//! revisions, limits, sorting, keys-only and count-only. The response mirrors etcdserverpb's
//! RangeResponse so printers can reproduce etcdctl's output byte for byte.

use crate::etcd::members::read_membership;
use crate::etcd::pb::mvccpb::KeyValue;
use crate::etcd::{Backend, KeyRange, Store};
use crate::error::{Error, Result};
use crate::source::Source;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortTarget {
    #[default]
    Key,
    Version,
    Create,
    Modify,
    Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    None,
    Ascend,
    Descend,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetRequest {
    pub range: KeyRange,
    /// 0 = current revision.
    pub revision: i64,
    /// 0 = no limit.
    pub limit: i64,
    pub keys_only: bool,
    pub count_only: bool,
    pub sort_target: SortTarget,
    pub sort_order: SortOrder,
}

/// What etcd would answer. Header IDs are derived from the file: cluster ID from the member IDs,
/// member ID when the file records a single member, raft term from `meta/term`.
#[derive(Debug, Clone, PartialEq)]
pub struct GetResponse {
    pub cluster_id: u64,
    pub member_id: u64,
    pub revision: i64,
    pub raft_term: u64,
    pub kvs: Vec<KeyValue>,
    pub more: bool,
    pub count: i64,
}

pub fn get(source: &Source, req: &GetRequest) -> Result<GetResponse> {
    if req.range.key.is_empty() {
        return Err(Error::Usage("etcdserver: key is not provided".into()));
    }
    let backend = Backend::new(source.db()?);
    let store = Store::open(&backend)?;
    let rev = store.read_revision(req.revision)?;
    let live = store.range(&req.range, rev)?;
    let membership = read_membership(&backend)?;

    let count = live.len() as i64;
    // As etcd's apply: an explicit sort order means fetch everything, sort, then cut to the
    // limit; otherwise the limit cuts the key-ordered result first and a non-key target sorts
    // what remains in ascending order.
    let (take, order) = match (req.sort_order, req.sort_target) {
        (SortOrder::None, SortTarget::Key) => (limit_of(req.limit, live.len()), SortOrder::None),
        (SortOrder::None, _) => (limit_of(req.limit, live.len()), SortOrder::Ascend),
        (order, _) => (live.len(), order),
    };
    let mut kvs = Vec::with_capacity(if req.count_only { 0 } else { take.min(live.len()) });
    if !req.count_only {
        for state in live.iter().take(take) {
            let mut kv = store.decode(state)?;
            if req.keys_only {
                kv.value.clear();
            }
            kvs.push(kv);
        }
        sort_kvs(&mut kvs, req.sort_target, order);
    }
    let more = req.limit > 0 && count > req.limit;
    kvs.truncate(limit_of(req.limit, kvs.len()));

    Ok(GetResponse {
        cluster_id: membership.cluster_id(),
        member_id: match membership.members.as_slice() {
            [only] => only.id,
            _ => 0,
        },
        revision: store.current_revision(),
        raft_term: store.meta.term.unwrap_or(0),
        kvs,
        more,
        count,
    })
}

fn limit_of(limit: i64, len: usize) -> usize {
    if limit > 0 {
        (limit as usize).min(len)
    } else {
        len
    }
}

/// Stable sort: ties keep key order (etcd's Go sort is not stable, so ties may differ there).
fn sort_kvs(kvs: &mut [KeyValue], target: SortTarget, order: SortOrder) {
    let cmp = |a: &KeyValue, b: &KeyValue| match target {
        SortTarget::Key => a.key.cmp(&b.key),
        SortTarget::Version => a.version.cmp(&b.version),
        SortTarget::Create => a.create_revision.cmp(&b.create_revision),
        SortTarget::Modify => a.mod_revision.cmp(&b.mod_revision),
        SortTarget::Value => a.value.cmp(&b.value),
    };
    match order {
        SortOrder::None => {}
        SortOrder::Ascend => kvs.sort_by(cmp),
        SortOrder::Descend => kvs.sort_by(|a, b| cmp(b, a)),
    }
}
