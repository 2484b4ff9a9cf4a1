//! Cluster membership as the backend records it: `members` (JSON per member), `members_removed`,
//! and the IDs derived from it (cluster ID = SHA-1 over the sorted member IDs).

use super::backend::{Backend, CLUSTER, MEMBERS, MEMBERS_REMOVED};
use crate::error::{Error, Location, Result};
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

/// One member. IDs are printed as hex, as etcdctl does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    #[serde(serialize_with = "as_hex")]
    pub id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "peerURLs", deserialize_with = "null_as_empty")]
    pub peer_urls: Vec<String>,
    #[serde(default, rename = "clientURLs", deserialize_with = "null_as_empty")]
    pub client_urls: Vec<String>,
    #[serde(default)]
    pub is_learner: bool,
}

fn as_hex<S: serde::Serializer>(id: &u64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{id:x}"))
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Clone, Default)]
pub struct Membership {
    pub members: Vec<Member>,
    /// IDs of removed members.
    pub removed: Vec<u64>,
    pub cluster_version: Option<String>,
    /// `cluster/downgrade` JSON, verbatim, when present.
    pub downgrade: Option<String>,
}

impl Membership {
    /// Cluster ID as etcd derives it from the member IDs (0 when there are no members).
    pub fn cluster_id(&self) -> u64 {
        cluster_id(self.members.iter().map(|m| m.id))
    }
}

/// First 8 bytes (big-endian) of SHA-1 over the sorted member IDs, each as 8 big-endian bytes.
pub fn cluster_id(ids: impl IntoIterator<Item = u64>) -> u64 {
    let mut ids: Vec<u64> = ids.into_iter().collect();
    if ids.is_empty() {
        return 0;
    }
    ids.sort_unstable();
    let mut h = Sha1::new();
    for id in ids {
        h.update(id.to_be_bytes());
    }
    u64::from_be_bytes(h.finalize()[..8].try_into().expect("sha1 is 20 bytes"))
}

pub fn read_membership(backend: &Backend<'_>) -> Result<Membership> {
    let mut out = Membership::default();
    let db = &backend.db;
    if let Some(bucket) = backend.bucket(MEMBERS)? {
        for entry in bucket.iter(db) {
            let entry = entry?;
            let member: Member = serde_json::from_slice(entry.value()).map_err(|e| {
                let at = Location { file: db.file().clone(), page: Some(entry.page), offset: entry.element.value_offset };
                Error::corrupt(at, format!("members/{}: not member JSON: {e}", String::from_utf8_lossy(entry.key())))
            })?;
            out.members.push(member);
        }
    }
    out.members.sort_by_key(|m| m.id);
    // Keys of `members_removed` are member IDs in hex, as etcd's types.ID prints them.
    if let Some(bucket) = backend.bucket(MEMBERS_REMOVED)? {
        for entry in bucket.iter(db) {
            let entry = entry?;
            let id = std::str::from_utf8(entry.key()).ok().and_then(|k| u64::from_str_radix(k, 16).ok());
            let Some(id) = id else {
                let at = Location { file: db.file().clone(), page: Some(entry.page), offset: entry.element.value_offset };
                return Err(Error::corrupt(at, format!("members_removed/{}: not a hex member ID", String::from_utf8_lossy(entry.key()))));
            };
            out.removed.push(id);
        }
    }
    for (k, v) in backend.entries(CLUSTER)? {
        let text = String::from_utf8_lossy(v).into_owned();
        match k {
            b"clusterVersion" => out.cluster_version = Some(text),
            b"downgrade" => out.downgrade = Some(text),
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cluster_id_of_the_default_single_member() {
        // etcd's default member (http://localhost:2380, token etcd-cluster) and its cluster ID.
        assert_eq!(super::cluster_id([0x8e9e05c52164694d]), 0xcdf818194e3a8c32);
    }
}
