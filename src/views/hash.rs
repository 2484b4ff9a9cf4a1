//! `hash`: every checksum people compare snapshots and members with, computed offline: the
//! hash `etcdutl snapshot status` prints, `etcd-dump-db hash`'s, `etcdctl endpoint hashkv`'s (at
//! a revision, compaction-aware), and the sha256 trailer of `snapshot save` files.

use crate::error::Result;
use crate::etcd::hash::space_hash_and_counts;
use crate::etcd::hashkv::{dump_db_hash, hash_kv, HashKv};
use crate::snapshot::Snapshot;
use crate::source::{hex, Trailer};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    Status,
    DumpDb,
    Kv,
    Sha256,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hashes {
    /// `etcdutl snapshot status`'s hash (CRC-32C of every bucket).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u32>,
    /// `etcd-dump-db hash` (etcd 3.5: without meta/consistent_index and meta/term).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dump_db: Option<u32>,
    /// `etcdctl endpoint hashkv`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kv: Option<HashKv>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sha256 {
    /// ok, missing or mismatch.
    pub trailer: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored: Option<String>,
    /// SHA-256 of the db bytes (the file without its trailer).
    pub computed: String,
}

/// The hashes of `kinds` (`kv` at revision `rev`, 0 = current).
pub fn hashes(snap: &Snapshot<'_>, kinds: &[HashKind], rev: i64) -> Result<Hashes> {
    let mut out = Hashes::default();
    if kinds.contains(&HashKind::Status) {
        out.status = Some(space_hash_and_counts(snap.backend())?.1.hash);
    }
    if kinds.contains(&HashKind::DumpDb) {
        out.dump_db = Some(dump_db_hash(snap.backend())?);
    }
    if kinds.contains(&HashKind::Kv) {
        out.kv = Some(hash_kv(snap.store(), rev)?);
    }
    if kinds.contains(&HashKind::Sha256) {
        let (trailer, digest) = snap.source().db_sha256();
        let computed = hex(&digest);
        out.sha256 = Some(match trailer {
            Trailer::Ok => Sha256 { trailer: "ok", stored: Some(computed.clone()), computed },
            Trailer::Missing => Sha256 { trailer: "missing", stored: None, computed },
            Trailer::Mismatch { stored, .. } => Sha256 { trailer: "mismatch", stored: Some(hex(&stored)), computed },
            Trailer::Partial { .. } => Sha256 { trailer: "partial", stored: None, computed },
        });
    }
    Ok(out)
}

/// Every hash of `source` at its current revision, when it opens (for the fuzz harness and
/// tools that want all of them).
pub fn hashes_all(source: &crate::source::Source) -> Result<Hashes> {
    let snap = Snapshot::open(source)?;
    hashes(&snap, &[HashKind::Status, HashKind::DumpDb, HashKind::Kv, HashKind::Sha256], 0)
}
