//! Cluster membership as the backend records it: `members` (JSON per member), `members_removed`,
//! and the IDs derived from it (cluster ID = SHA-1 over the sorted member IDs).
//!
//! An entry that does not parse (a member's value that is not member JSON, a key that is not a
//! hex member ID) is set aside as [`MemberDamage`], with its page and offset, instead of failing
//! the read: only views that show members need it, and they report it; the rest (a `kv get`'s
//! header) lose nothing, since etcd names each member by its key (`members/<hex id>`), so a
//! member whose value is damaged still counts by the ID its key names.

use super::backend::{Backend, CLUSTER, MEMBERS, MEMBERS_REMOVED};
use crate::error::Result;
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
    /// The members whose value is member JSON.
    pub members: Vec<Member>,
    /// IDs of removed members.
    pub removed: Vec<u64>,
    pub cluster_version: Option<String>,
    /// `cluster/downgrade` JSON, verbatim, when present.
    pub downgrade: Option<String>,
    /// Entries of `members` and `members_removed` that could not be read, in bucket order.
    pub damaged: Vec<MemberDamage>,
}

/// An entry of `members` or `members_removed` that could not be read, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberDamage {
    /// `members` or `members_removed`.
    pub bucket: &'static str,
    /// The entry's key, as text (bytes that are not UTF-8 replaced, control characters escaped).
    pub key: String,
    /// The member ID the key names (etcd's keys are the hex ID), when it does.
    #[serde(serialize_with = "hex_opt")]
    pub id: Option<u64>,
    pub page: u64,
    pub offset: u64,
    pub what: String,
}

fn hex_opt<S: serde::Serializer>(id: &Option<u64>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match id {
        Some(id) => as_hex(id, s),
        None => s.serialize_none(),
    }
}

impl std::fmt::Display for MemberDamage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} (page {}, byte offset {}): {}", self.bucket, self.key, self.page, self.offset, self.what)?;
        match (self.bucket, self.id) {
            (MEMBERS_NAME, Some(id)) => write!(f, "; its key names the member's ID, {id:x}, as etcd names members, so the cluster ID still counts it"),
            (MEMBERS_NAME, None) => write!(f, "; its key names no member ID either, so the cluster ID derived here leaves it out and is wrong"),
            _ => Ok(()),
        }
    }
}

const MEMBERS_NAME: &str = "members";

impl Membership {
    /// Cluster ID as etcd derives it from the member IDs (0 when there are no members). A
    /// member whose value is damaged counts by the ID its key names ([`Membership::member_ids`]).
    pub fn cluster_id(&self) -> u64 {
        cluster_id(self.member_ids())
    }

    /// Every member's ID, sorted: those read, and those whose value is damaged but whose key
    /// names an ID.
    pub fn member_ids(&self) -> Vec<u64> {
        let damaged = self.damaged.iter().filter(|d| d.bucket == MEMBERS_NAME).filter_map(|d| d.id);
        let mut ids: Vec<u64> = self.members.iter().map(|m| m.id).chain(damaged).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The one member's ID when exactly one member is recorded (read or damaged), else 0: what a
    /// response header from that member would carry.
    pub fn single_member_id(&self) -> u64 {
        let damaged_members = self.damaged.iter().filter(|d| d.bucket == MEMBERS_NAME).count();
        match (self.members.as_slice(), damaged_members) {
            ([only], 0) => only.id,
            ([], 1) => self.member_ids().first().copied().unwrap_or(0),
            _ => 0,
        }
    }
}

/// A member ID as etcd writes it in `members` and `members_removed` keys: hex.
fn id_of_key(key: &[u8]) -> Option<u64> {
    std::str::from_utf8(key).ok().and_then(|k| u64::from_str_radix(k, 16).ok())
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

/// A `members` value as etcd reads it at start, or what is wrong with it.
fn read_member(value: &[u8]) -> std::result::Result<Member, String> {
    serde_json::from_slice::<Member>(value).map_err(|e| format!("not member JSON: {e}"))
}

const NOT_AN_ID: &str = "not a hex member ID";

/// What is wrong with an entry of the membership bucket `bucket` (`members` or
/// `members_removed`) that etcd reads at start, if anything: the same rule
/// [`read_membership`] sets entries aside by (a writer must not copy what it would set aside).
pub fn entry_problem(bucket: &[u8], key: &[u8], value: &[u8]) -> Option<String> {
    match bucket {
        MEMBERS => read_member(value).err(),
        MEMBERS_REMOVED => id_of_key(key).is_none().then(|| NOT_AN_ID.to_string()),
        _ => None,
    }
}

/// Reads `members`, `members_removed` and `cluster`. A page that cannot be read is an error;
/// an entry that does not parse is set aside in [`Membership::damaged`].
pub fn read_membership(backend: &Backend<'_>) -> Result<Membership> {
    let mut out = Membership::default();
    let db = &backend.db;
    let damage = |bucket, entry: &crate::bolt::Entry<'_>, what: String| MemberDamage {
        bucket,
        key: String::from_utf8_lossy(entry.key()).escape_debug().to_string(),
        id: id_of_key(entry.key()),
        page: entry.page,
        offset: entry.element.value_offset,
        what,
    };
    if let Some(bucket) = backend.bucket(MEMBERS)? {
        for entry in bucket.iter(db) {
            let entry = entry?;
            match read_member(entry.value()) {
                Ok(member) => out.members.push(member),
                Err(what) => out.damaged.push(damage(MEMBERS_NAME, &entry, what)),
            }
        }
    }
    out.members.sort_by_key(|m| m.id);
    // Keys of `members_removed` are member IDs in hex, as etcd's types.ID prints them.
    if let Some(bucket) = backend.bucket(MEMBERS_REMOVED)? {
        for entry in bucket.iter(db) {
            let entry = entry?;
            match id_of_key(entry.key()) {
                Some(id) => out.removed.push(id),
                None => out.damaged.push(damage("members_removed", &entry, NOT_AN_ID.into())),
            }
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
