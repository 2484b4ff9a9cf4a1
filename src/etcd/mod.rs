//! etcd's backend on top of bbolt: the bucket catalogue, MVCC revision keys and the keyspace at a
//! revision, the meta bucket, members, leases and the hashes etcd's tools print.
//! Record layouts: docs/format/etcd.md.

pub mod apply;
pub mod backend;
pub mod check;
pub mod hash;
pub mod hashkv;
pub mod lease;
pub mod members;
pub mod meta;
pub mod mvcc;
pub mod pb;
pub mod revision;
pub mod wire;

pub use backend::Backend;
pub use mvcc::{KeyRange, Store};
