//! The `meta` bucket: where the backend stands in the raft log and in compaction.

use super::backend::{Backend, META};
use super::revision::RevisionKey;
use crate::error::{Error, Location, Result};
use serde::{Deserialize, Serialize};

/// raftpb.ConfState as etcd 3.5+ stores it in `meta/confState` (JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfState {
    #[serde(default)]
    pub voters: Vec<u64>,
    #[serde(default)]
    pub learners: Vec<u64>,
    #[serde(default, rename = "voters_outgoing")]
    pub voters_outgoing: Vec<u64>,
    #[serde(default, rename = "learners_next")]
    pub learners_next: Vec<u64>,
    #[serde(default, rename = "auto_leave")]
    pub auto_leave: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EtcdMeta {
    pub consistent_index: Option<u64>,
    /// Raft term of the consistent index entry (etcd 3.5+).
    pub term: Option<u64>,
    pub conf_state: Option<ConfState>,
    pub scheduled_compact_revision: Option<i64>,
    pub finished_compact_revision: Option<i64>,
    /// `meta/storageVersion` as stored (etcd 3.6+); see `schema_version` for the derived one.
    pub storage_version: Option<String>,
    /// Keys of the meta bucket etcdscope does not interpret.
    pub other_keys: Vec<String>,
}

impl EtcdMeta {
    /// The storage schema version: stored one (3.6+), or "3.5" when `term` exists, or None (≤3.4).
    pub fn schema_version(&self) -> Option<String> {
        self.storage_version.clone().or_else(|| self.term.map(|_| "3.5.0".into()))
    }

    /// The revision below which etcd refuses reads once started on this db, whose newest `key`
    /// bucket revision is `newest`: the finished compaction, or a scheduled one above it, which
    /// etcd resumes at startup — unless that lies beyond the store's revision (the larger of
    /// `newest` and the finished compaction): etcd 3.5.1 refuses to compact at a future
    /// revision (a warning in its log) and keeps the finished one.
    pub fn compact_revision(&self, newest: i64) -> i64 {
        let finished = self.finished_compact_revision.unwrap_or(0);
        match self.scheduled_compact_revision {
            Some(scheduled) if scheduled > finished && scheduled <= newest.max(finished) => scheduled,
            _ => finished,
        }
    }
}

pub fn read_meta(backend: &Backend<'_>) -> Result<EtcdMeta> {
    let mut meta = EtcdMeta::default();
    let Some(bucket) = backend.bucket(META)? else { return Ok(meta) };
    let db = &backend.db;
    for entry in bucket.iter(db) {
        let entry = entry?;
        let (key, value) = (entry.key(), entry.value());
        read_entry(&mut meta, key, value).map_err(|what| {
            let at = Location { file: db.file().clone(), page: Some(entry.page), offset: entry.element.value_offset };
            Error::corrupt(at, format!("meta/{}: {what}", String::from_utf8_lossy(key)))
        })?;
    }
    Ok(meta)
}

/// What [`read_meta`] refuses in one `meta` bucket entry's value (etcd refuses it too), if
/// anything: salvage leaves such a value out rather than write a file no reader opens.
pub fn meta_value_problem(key: &[u8], value: &[u8]) -> Option<String> {
    read_entry(&mut EtcdMeta::default(), key, value).err()
}

/// Reads one `meta` bucket entry into `meta`; what is wrong with its value, if anything.
fn read_entry(meta: &mut EtcdMeta, key: &[u8], value: &[u8]) -> std::result::Result<(), String> {
    let be_u64 = || value.try_into().map(u64::from_be_bytes).map_err(|_| format!("{} bytes, expected 8", value.len()));
    let rev = || RevisionKey::parse(value).map(|r| r.revision.main).map_err(|e| e.to_string());
    match key {
        b"consistent_index" => meta.consistent_index = Some(be_u64()?),
        b"term" => meta.term = Some(be_u64()?),
        b"confState" => meta.conf_state = Some(serde_json::from_slice(value).map_err(|e| format!("not ConfState JSON: {e}"))?),
        b"scheduledCompactRev" => meta.scheduled_compact_revision = Some(rev()?),
        b"finishedCompactRev" => meta.finished_compact_revision = Some(rev()?),
        b"storageVersion" => meta.storage_version = Some(String::from_utf8_lossy(value).into_owned()),
        _ => meta.other_keys.push(String::from_utf8_lossy(key).into_owned()),
    }
    Ok(())
}
