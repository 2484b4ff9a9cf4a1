//! bbolt, read from scratch: meta pages, page runs, branch and leaf nodes, buckets (nested and
//! inline), cursors, the freelist and whole-tree walks; and a bulk-load writer of fresh files.
//! Byte layout: docs/format/bbolt.md.

pub mod check;
pub mod db;
pub mod freelist;
pub mod layout;
pub mod meta;
pub mod page;
pub mod space;
pub mod tree;
pub mod walk;
pub mod write;

pub use db::Db;
pub use meta::{Meta, MetaChoice};
pub use tree::{Bucket, Entry};
