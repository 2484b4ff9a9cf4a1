//! Views: data ready to print, built from the layers below.
pub mod analyze;
pub mod check;
pub mod clock;
pub mod cluster;
pub mod compare;
pub mod diff;
#[cfg(any(feature = "sqlite", feature = "parquet"))]
pub mod export;
pub mod get;
pub mod hash;
pub mod history;
pub mod ids;
pub mod kv_get;
pub mod parallel;
pub mod progress;
pub mod rebuild;
pub mod record;
#[cfg(feature = "live")]
pub mod replay;
pub mod salvage;
pub mod status;
pub mod table;
pub mod text;
pub mod timeline;
pub mod wal;
