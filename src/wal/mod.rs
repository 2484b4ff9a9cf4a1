//! etcd's write-ahead log, read offline: segment files in order ([`segment`]), record framing
//! and the CRC chain with torn tails and damage told apart ([`frame`]), what each record holds
//! ([`record`]), what each raft entry asks etcd to do ([`request`]), the member's raft snapshot
//! files ([`snap`]), and what etcd checks when it starts from them ([`startup`]).
//! docs/format/wal.md describes the format these modules rely on.

pub mod frame;
pub mod layout;
pub mod record;
pub mod request;
pub mod segment;
pub mod snap;
pub mod startup;
pub mod write;
