//! The `lease` bucket: lease ID (8 bytes big-endian) → leasepb.Lease.

use super::backend::{Backend, LEASE};
use super::pb::leasepb;
use crate::error::{Error, Location, Result};
use prost::Message;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// etcdctl prints it as `%016x`.
    pub id: i64,
    pub ttl: i64,
    pub remaining_ttl: i64,
}

pub fn read_leases(backend: &Backend<'_>) -> Result<Vec<Lease>> {
    let db = &backend.db;
    let Some(bucket) = backend.bucket(LEASE)? else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for entry in bucket.iter(db) {
        let entry = entry?;
        let at = || Location { file: db.file().clone(), page: Some(entry.page), offset: entry.element.value_offset };
        let lease = leasepb::Lease::decode(entry.value())
            .map_err(|e| Error::corrupt(at(), format!("lease value is not a leasepb.Lease: {e}")))?;
        out.push(Lease { id: lease.id, ttl: lease.ttl, remaining_ttl: lease.remaining_ttl });
    }
    Ok(out)
}
