//! The `lease` bucket: lease ID (8 bytes big-endian) → leasepb.Lease, read as etcd's lessor
//! reads it when it starts (etcd 3.5 `lessor.initAndRecover`, the same in 3.4): it ranges over
//! the keys from 8 zero bytes up to, not including, the bytes of the largest int64; decodes
//! every value (a value that does not decode stops etcd: here it is an error); and files each
//! lease under the ID *in the value*, not the key, a later entry replacing an earlier one with
//! the same ID. So a bucket whose key and stored ID differ, or two entries holding one ID, gives
//! etcd fewer leases than entries; [`read_lease_bucket`] gives the leases etcd would have and
//! sets the other entries aside, each with where it is and why.

use super::backend::{Backend, LEASE};
use super::pb::leasepb;
use crate::error::{Error, Location, Result};
use prost::Message;
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// etcdctl prints it as `%016x`.
    pub id: i64,
    pub ttl: i64,
    pub remaining_ttl: i64,
}

/// An entry of the `lease` bucket that gives etcd no lease of its own, or gives one under
/// another key than its ID's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseEntryNote {
    /// The entry's key, in hex.
    pub key: String,
    pub page: u64,
    /// File offset of the entry's key.
    pub offset: u64,
    /// Whether etcd has no lease from this entry (another entry's replaced it, or etcd never
    /// reads it); false when etcd has its lease, only not under this key's ID.
    pub dropped: bool,
    pub what: String,
}

impl std::fmt::Display for LeaseEntryNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "lease bucket key {} (page {}, byte offset {}): {}", self.key, self.page, self.offset, self.what)
    }
}

/// The `lease` bucket as etcd reads it: its leases, and the entries set aside.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseBucket {
    /// The leases etcd would have, one per ID (in the key order of each ID's first entry).
    pub leases: Vec<Lease>,
    /// Entries whose key is not their lease's ID, entries replaced by a later one with the same
    /// ID, entries etcd never reads; in key order.
    pub notes: Vec<LeaseEntryNote>,
}

/// The first key etcd's lessor reads (int64 0) and the first it does not (the largest int64).
const FIRST_KEY_READ: [u8; 8] = 0i64.to_be_bytes();
const FIRST_KEY_NOT_READ: [u8; 8] = i64::MAX.to_be_bytes();

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The leases etcd would have from this backend ([`read_lease_bucket`] also says what it set
/// aside).
pub fn read_leases(backend: &Backend<'_>) -> Result<Vec<Lease>> {
    Ok(read_lease_bucket(backend)?.leases)
}

/// The `lease` bucket as etcd's lessor reads it at start (module doc). A page that cannot be
/// read, or a value in etcd's range that is not a leasepb.Lease, is an error.
pub fn read_lease_bucket(backend: &Backend<'_>) -> Result<LeaseBucket> {
    let db = &backend.db;
    let Some(bucket) = backend.bucket(LEASE)? else { return Ok(LeaseBucket::default()) };
    let mut out = LeaseBucket::default();
    // Per lease ID, the entry whose lease etcd keeps so far: (index in `out.leases`, key, page, offset).
    let mut kept: HashMap<i64, (usize, String, u64, u64)> = HashMap::default();
    for entry in bucket.iter(db) {
        let entry = entry?;
        if entry.is_bucket() {
            continue;
        }
        let key = entry.key();
        let (page, value_at) = (entry.page, entry.element.value_offset);
        let key_at = value_at.saturating_sub(key.len() as u64);
        let note = |dropped, what: String| LeaseEntryNote { key: hex(key), page, offset: key_at, dropped, what };
        if key < &FIRST_KEY_READ[..] || key >= &FIRST_KEY_NOT_READ[..] {
            out.notes.push(note(true, "outside the keys etcd reads (0000000000000000 up to 7fffffffffffffff): etcd never loads this entry".into()));
            continue;
        }
        let at = Location { file: db.file().clone(), page: Some(page), offset: value_at };
        let lease = leasepb::Lease::decode(entry.value())
            .map_err(|e| Error::corrupt(at, format!("lease bucket key {}: value is not a leasepb.Lease (etcd panics reading it at start): {e}", hex(key))))?;
        let lease = Lease { id: lease.id, ttl: lease.ttl, remaining_ttl: lease.remaining_ttl };
        let id_key = lease.id.to_be_bytes();
        if key != &id_key[..] {
            out.notes.push(note(
                false,
                format!("holds lease {:016x} (the ID in its value), not {}: etcd files the lease under the ID in the value", lease.id as u64, hex(key)),
            ));
        }
        let here = (hex(key), page, key_at);
        match kept.get_mut(&lease.id) {
            Some((slot, earlier_key, earlier_page, earlier_at)) => {
                out.notes.push(LeaseEntryNote {
                    key: earlier_key.clone(),
                    page: *earlier_page,
                    offset: *earlier_at,
                    dropped: true,
                    what: format!(
                        "lease {:016x} is held again by key {} (page {page}, byte offset {key_at}), which etcd reads later and keeps: this entry's lease (TTL {}) is dropped",
                        lease.id as u64,
                        here.0,
                        out.leases[*slot].ttl
                    ),
                });
                out.leases[*slot] = lease;
                (*earlier_key, *earlier_page, *earlier_at) = here;
            }
            None => {
                kept.insert(lease.id, (out.leases.len(), here.0, here.1, here.2));
                out.leases.push(lease);
            }
        }
    }
    out.notes.sort_by(|a, b| a.key.cmp(&b.key).then(a.dropped.cmp(&b.dropped)));
    Ok(out)
}
