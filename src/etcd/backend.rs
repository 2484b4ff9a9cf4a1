//! etcd's backend: the top-level buckets of the bbolt file and what each one holds.

use crate::bolt::{Bucket, Db};
use crate::error::Result;

pub const KEY: &[u8] = b"key";
pub const META: &[u8] = b"meta";
pub const LEASE: &[u8] = b"lease";
pub const MEMBERS: &[u8] = b"members";
pub const MEMBERS_REMOVED: &[u8] = b"members_removed";
pub const CLUSTER: &[u8] = b"cluster";
pub const ALARM: &[u8] = b"alarm";
pub const AUTH: &[u8] = b"auth";
pub const AUTH_USERS: &[u8] = b"authUsers";
pub const AUTH_ROLES: &[u8] = b"authRoles";

/// What a known bucket holds, for people reading `status`.
pub fn describe_bucket(name: &[u8]) -> &'static str {
    match name {
        KEY => "MVCC history: one entry per revision of every key",
        META => "consistent index, term, confState, compaction marks, storage version",
        LEASE => "leases (ID, TTL)",
        MEMBERS => "cluster members (JSON)",
        MEMBERS_REMOVED => "IDs of removed members",
        CLUSTER => "cluster version, downgrade state",
        ALARM => "raised alarms",
        AUTH => "auth enabled flag and revision",
        AUTH_USERS => "users",
        AUTH_ROLES => "roles",
        _ => "not an etcd bucket etcdscope knows",
    }
}

/// The etcd view of a bbolt database.
pub struct Backend<'a> {
    pub db: Db<'a>,
}

impl<'a> Backend<'a> {
    pub fn new(db: Db<'a>) -> Backend<'a> {
        Backend { db }
    }

    /// A top-level bucket by name.
    pub fn bucket(&self, name: &[u8]) -> Result<Option<Bucket<'a>>> {
        self.db.root().bucket(&self.db, name)
    }

    /// Every top-level bucket in key order, known or not.
    pub fn buckets(&self) -> Result<Vec<(&'a [u8], Bucket<'a>)>> {
        let mut out = Vec::new();
        for entry in self.db.root().iter(&self.db) {
            let entry = entry?;
            if entry.is_bucket() {
                out.push((entry.key(), Bucket::from_element(&self.db, entry.page, &entry.element)?));
            }
        }
        Ok(out)
    }

    /// Every (key, value) of a top-level bucket in key order; empty if the bucket is absent.
    pub fn entries(&self, name: &[u8]) -> Result<Vec<(&'a [u8], &'a [u8])>> {
        let Some(bucket) = self.bucket(name)? else { return Ok(Vec::new()) };
        bucket.iter(&self.db).filter(|e| !matches!(e, Ok(e) if e.is_bucket())).map(|e| e.map(|e| (e.key(), e.value()))).collect()
    }
}
