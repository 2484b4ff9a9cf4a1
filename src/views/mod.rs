//! Views: data ready to print, built from the layers below.
pub mod analyze;
pub mod check;
pub mod compare;
pub mod diff;
pub mod export;
pub mod get;
pub mod hash;
pub mod history;
pub mod ids;
pub mod kv_get;
pub mod parallel;
pub mod progress;
pub mod rebuild;
pub mod replay;
pub mod salvage;
pub mod status;
pub mod wal;
