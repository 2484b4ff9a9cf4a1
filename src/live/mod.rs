//! A live etcd member, reached over etcd's v3 gRPC API: the one place etcdscope talks to a
//! running cluster (`replay` writes through it). Blocking calls over a private single-threaded
//! runtime, so the rest of the library stays synchronous.

pub mod client;

pub use client::{Credentials, Endpoint, LiveEtcd, TlsFiles};
