//! Views: data ready to print, built from the layers below.
pub mod decode;
pub mod get;
pub mod kv_get;
pub mod status;
pub mod wal;
