//! etcdscope reads etcd's files offline and tells the truth about them.
//!
//! The pipeline, one module per stage; dependencies point down this list only:
//!
//! ```text
//! source   open read-only (mmap, no lock, no write); find the db; check the sha256 trailer
//! bolt     bbolt pages: meta, branch/leaf/overflow, buckets (nested, inline), freelist, walks;
//!          and a bulk-load writer of fresh files
//! etcd     etcd's buckets, MVCC revisions, meta, members, leases, hashes, ranges at a revision;
//!          requests applied as etcd applies them (what `rebuild --wal` applies)
//! wal      WAL segments: framing, the CRC chain, torn tails, raft entries, etcd requests; and
//!          a segment writer
//! k8s      Kubernetes objects: /registry keys, value envelopes, encryption, schemas, JSON/YAML,
//!          field-level differences, the facts relations need (uid, owners, node)
//! snapshot an opened input (source, db, backend, MVCC store, CRD catalogue): what views take
//! live     a running etcd member over gRPC (replay's guarded writes; the `live` feature)
//! views    status, kv_get, get, wal, history, diff, export (`sqlite`), rebuild, replay
//!          (`live`), check, analyze, hash, salvage, compare: typed values ready to print
//!          (`Serialize`), and the files rebuild, salvage and export write (the library never
//!          prints); beside them clock, cluster, ids, parallel, progress and table (a type's
//!          printer columns), which views share
//! protowire  the protobuf wire format, read without copying (used by etcd and k8s)
//! serve    the Kubernetes API over views (issue 19, being built: the request parser so far)
//! cancel   a token long views check, so a signal or a caller can stop them between items
//! output   files and directories written under a temporary name and renamed when whole
//! ```
//! The `etcdscope` binary (src/main.rs, src/cli) is a thin layer of argument parsing and printers.
//!
//! Features (both default): `live` (tonic, tokio, rustls: `replay`) and `sqlite` (rusqlite:
//! `views::export`, `export sqlite`, `query`). `--no-default-features` builds the offline reader.

pub mod bolt;
pub mod cancel;
pub mod error;
pub mod etcd;
pub mod k8s;
#[cfg(feature = "live")]
pub mod live;
pub mod output;
pub mod protowire;
#[cfg(feature = "serve")]
pub mod serve;
pub mod snapshot;
pub mod source;
pub mod views;
pub mod wal;

pub use error::{Error, Result};
