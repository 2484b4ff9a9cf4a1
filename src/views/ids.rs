//! How IDs are written in JSON output: etcd's member, cluster and lease IDs are 64-bit values
//! that etcdctl prints in hex, and JSON numbers past 2^53 lose precision in most readers. The
//! views keep them as integers; these serde helpers write them as etcdctl's hex strings.

use serde::{Serialize, Serializer};

pub fn hex<S: Serializer>(id: &u64, s: S) -> Result<S::Ok, S::Error> {
    Hex(*id).serialize(s)
}

/// A 64-bit ID as etcd's tools write it: lowercase hex, no padding (a field of its own type,
/// where `serialize_with = "hex"` does not fit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hex(pub u64);

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:x}", self.0))
    }
}

pub fn hex_list<S: Serializer>(ids: &[u64], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ids.iter().map(|id| format!("{id:x}")))
}

pub fn hex_list_opt<S: Serializer>(ids: &Option<Vec<u64>>, s: S) -> Result<S::Ok, S::Error> {
    match ids {
        Some(ids) => hex_list(ids, s),
        None => s.serialize_none(),
    }
}

/// A lease ID as etcdctl prints it: `%016x` of the int64's two's-complement bits.
pub fn lease_hex<S: Serializer>(id: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{:016x}", *id as u64))
}

/// [`hex`] for an ID that may be unknown (`null`).
pub fn hex_opt<S: Serializer>(id: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => hex(id, s),
        None => s.serialize_none(),
    }
}
