//! Exports: the keyspace as tables anyone can query. One pass over a snapshot ([`rows`]) yields
//! typed rows: `kv` and, for keys that are Kubernetes objects, `objects`, `labels`,
//! `annotations` and `owner_refs` (objects decoded on worker threads, handed over in key
//! order); `revision_times`; every retained revision with `--history`; `leases`, `members`,
//! `buckets` and `source`. Two writers take them:
//! - `export sqlite` and `query` ([`schema`], [`fill`]): a SQLite database, one transaction,
//!   indexes built after the rows (with `--wal`, the member's log too);
//! - `export parquet` ([`parquet`]): a Hive-partitioned Parquet dataset many snapshots share.
//!
//! Column meanings: docs/commands/export.md; the Parquet layout: docs/format/parquet.md.

#[cfg(feature = "sqlite")]
mod load;
#[cfg(feature = "parquet")]
pub mod parquet;
#[cfg(feature = "sqlite")]
pub mod query;
pub mod rows;
#[cfg(feature = "sqlite")]
pub mod schema;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use crate::views::progress::Progress;
#[cfg(feature = "sqlite")]
pub use load::fill;
pub use rows::{ExportOptions, ExportSummary};
#[cfg(feature = "sqlite")]
pub use sqlite::*;
