//! `kv get`: etcd's Range request answered from the file, with etcd 3.5's semantics for ranges,
//! revisions, limits, sorting, keys-only and count-only. The response mirrors etcdserverpb's
//! RangeResponse so printers can reproduce etcdctl's output byte for byte.

use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::etcd::mvcc::{KeyValueRef, RevisionEntry};
use crate::etcd::pb::mvccpb::KeyValue;
use crate::etcd::KeyRange;
use crate::snapshot::Snapshot;
use std::path::Path;
use std::sync::Arc;

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

#[derive(Debug, Clone)]
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
    /// Cancelled to stop: the range read, and then each key-value handed out by the response,
    /// end with [`Error::Interrupted`].
    pub cancel: Cancel,
}

impl GetRequest {
    /// Every key-value of `range` at `revision` (0: current), in key order, as `etcdctl get`
    /// with no other flags asks.
    pub fn range(range: KeyRange, revision: i64, cancel: Cancel) -> GetRequest {
        GetRequest {
            range,
            revision,
            limit: 0,
            keys_only: false,
            count_only: false,
            sort_target: SortTarget::default(),
            sort_order: SortOrder::default(),
            cancel,
        }
    }
}

/// What etcd would answer. Header IDs are derived from the file: cluster ID from the member IDs,
/// member ID when the file records a single member, raft term from `meta/term`.
/// `kvs` are borrowed states in output order; `key_values()` decodes them one at a time, so a
/// full dump never holds more than one value in memory.
#[derive(Debug, Clone)]
pub struct GetResponse<'a> {
    pub cluster_id: u64,
    pub member_id: u64,
    pub revision: i64,
    pub raft_term: u64,
    pub kvs: Vec<RevisionEntry<'a>>,
    pub keys_only: bool,
    pub more: bool,
    pub count: i64,
    /// What the caller should know about this answer (the header's IDs could not be derived).
    pub warnings: Vec<String>,
    file: Arc<Path>,
    cancel: Cancel,
}

impl<'a> GetResponse<'a> {
    /// The db file, as errors name it.
    pub fn file(&self) -> &Arc<Path> {
        &self.file
    }

    /// One key-value, borrowed from the file (its value empty with keys-only);
    /// [`Error::Interrupted`] once the request's token is cancelled.
    pub fn key_value(&self, state: &RevisionEntry<'a>) -> Result<KeyValueRef<'a>> {
        self.cancel.check()?;
        let mut kv = state.kv(&self.file)?;
        if self.keys_only {
            kv.value = &[];
        }
        Ok(kv)
    }

    /// The key-values in output order, decoded lazily (values cleared with keys-only);
    /// [`Error::Interrupted`] once the request's token is cancelled.
    pub fn key_values(&self) -> impl Iterator<Item = Result<KeyValue>> + '_ {
        self.kvs.iter().map(|s| {
            self.cancel.check()?;
            let mut kv = s.decode(&self.file)?;
            if self.keys_only {
                kv.value.clear();
            }
            Ok(kv)
        })
    }
}

pub fn get<'a>(snap: &Snapshot<'a>, req: &GetRequest) -> Result<GetResponse<'a>> {
    if req.range.key.is_empty() {
        return Err(Error::Usage("etcdserver: key is not provided".into()));
    }
    let file = snap.file().clone();
    let store = snap.store();
    let rev = store.read_revision(req.revision)?;
    let live = store.range_until(&req.range, rev, &req.cancel)?;
    // The header's IDs are all the membership is needed for: damage there must not stop a read
    // of keys. Unreadable member values still count by their keys' IDs; an unreadable bucket
    // leaves the IDs 0, and says so.
    let (cluster_id, member_id, warnings) = match snap.membership() {
        Ok(m) => (m.cluster_id(), m.single_member_id(), Vec::new()),
        Err(e) => (0, 0, vec![format!("the header's cluster_id and member_id are 0: the members could not be read: {e}")]),
    };

    let count = live.len() as i64;
    // As etcd's apply: an explicit sort order means fetch everything, sort, then cut to the
    // limit; otherwise the limit cuts the key-ordered result first and a non-key target sorts
    // what remains in ascending order.
    let (take, order) = match (req.sort_order, req.sort_target) {
        (SortOrder::None, SortTarget::Key) => (limit_of(req.limit, live.len()), SortOrder::None),
        (SortOrder::None, _) => (limit_of(req.limit, live.len()), SortOrder::Ascend),
        (order, _) => (live.len(), order),
    };
    let mut kvs: Vec<RevisionEntry<'a>> = if req.count_only { Vec::new() } else { live.into_iter().take(take).collect() };
    sort_states(&mut kvs, req.sort_target, order, &file)?;
    kvs.truncate(limit_of(req.limit, kvs.len()));

    Ok(GetResponse {
        cluster_id,
        member_id,
        revision: store.current_revision(),
        raft_term: store.meta.term.unwrap_or(0),
        kvs,
        keys_only: req.keys_only,
        more: req.limit > 0 && count > req.limit,
        count,
        warnings,
        file,
        cancel: req.cancel.clone(),
    })
}

fn limit_of(limit: i64, len: usize) -> usize {
    if limit > 0 {
        (limit as usize).min(len)
    } else {
        len
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum SortKey<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

/// Stable sort: ties keep key order (etcd's Go sort is not stable, so ties may differ there).
/// Sort keys are read from the stored bytes without decoding the rest.
fn sort_states<'a>(states: &mut Vec<RevisionEntry<'a>>, target: SortTarget, order: SortOrder, file: &Arc<Path>) -> Result<()> {
    if order == SortOrder::None {
        return Ok(());
    }
    let key_of = |s: &RevisionEntry<'a>| -> Result<SortKey<'a>> {
        Ok(match target {
            SortTarget::Key => SortKey::Bytes(s.key),
            SortTarget::Create => SortKey::Int(s.int64_field(2, file)?),
            SortTarget::Modify => SortKey::Int(s.int64_field(3, file)?),
            SortTarget::Version => SortKey::Int(s.int64_field(4, file)?),
            SortTarget::Value => SortKey::Bytes(s.value(file)?),
        })
    };
    let mut keyed = states.drain(..).map(|s| Ok((key_of(&s)?, s))).collect::<Result<Vec<_>>>()?;
    match order {
        SortOrder::Descend => keyed.sort_by(|a, b| b.0.cmp(&a.0)),
        _ => keyed.sort_by(|a, b| a.0.cmp(&b.0)),
    }
    states.extend(keyed.into_iter().map(|(_, s)| s));
    Ok(())
}
