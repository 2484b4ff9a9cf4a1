//! `export parquet`: snapshots into one Hive-partitioned Parquet dataset that DuckDB, pyarrow,
//! Spark and Trino read. Each snapshot adds a partition to every table
//! (`DIR/<table>/cluster_id=<hex>/snapshot_revision=<rev>/part-<n>.parquet`), written from the
//! same rows as `export sqlite` ([`super::rows`]).
//!
//! - [`schema`]: the tables and their columns, the one documented schema.
//! - [`table`]: one table's files (batches, row groups, parts; zstd, dictionaries, statistics).
//! - [`sink`]: a snapshot's rows into the tables.
//! - [`dataset`]: the directory, the partition layout, staging and the atomic commit.
//!
//! The layout, the types and the choices behind them: docs/format/parquet.md.

pub mod dataset;
pub mod schema;
pub mod sink;
pub mod table;

use super::rows::{produce, ExportOptions, ExportSummary};
use super::Progress;
use crate::error::Result;
use crate::k8s::decoder::Decoder;
use crate::snapshot::Snapshot;
pub use dataset::{Dataset, Partition};
use sink::ParquetSink;
use std::path::Path;
pub use table::TableFiles;

/// Default size past which a table's file is closed and the next part begun.
pub const PART_BYTES: u64 = 1 << 30;

/// How a snapshot enters a dataset.
#[derive(Debug, Clone)]
pub struct ParquetOptions {
    /// Replace the snapshot's partitions when the dataset holds them already.
    pub replace: bool,
    /// The cluster ID to partition by, instead of the one derived from the members.
    pub cluster_id: Option<u64>,
    /// A file is closed at the first row group end past this size.
    pub part_bytes: u64,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions { replace: false, cluster_id: None, part_bytes: PART_BYTES }
    }
}

/// What one snapshot's export wrote.
#[derive(Debug, Clone)]
pub struct ParquetSummary {
    pub partition: Partition,
    /// Whether partitions of the same snapshot were replaced.
    pub replaced: bool,
    pub tables: Vec<TableFiles>,
    pub export: ExportSummary,
}

impl ParquetSummary {
    pub fn bytes(&self) -> u64 {
        self.tables.iter().map(|t| t.bytes).sum()
    }

    pub fn files(&self) -> u64 {
        self.tables.iter().map(|t| u64::from(t.files)).sum()
    }
}

/// The partition `snap` goes to: its cluster (derived from the members unless given) and the
/// revision read.
pub fn partition_of(snap: &Snapshot<'_>, options: &ExportOptions, parquet: &ParquetOptions) -> Result<Partition> {
    let snapshot_revision = snap.store().read_revision(options.revision)?;
    let cluster_id = match parquet.cluster_id {
        Some(id) => id,
        None => snap.membership()?.cluster_id(),
    };
    Ok(Partition { cluster_id, snapshot_revision })
}

/// Exports `snap` into the dataset at `root` (created if missing). A snapshot already there is
/// refused unless [`ParquetOptions::replace`], checked before reading and again before the
/// commit. Nothing of the export is visible in the dataset until every file is written; an
/// error or a cancelled token leaves the dataset as it was ([`dataset`]).
pub fn export_parquet(
    snap: &Snapshot<'_>,
    decoder: &Decoder,
    root: &Path,
    options: &ExportOptions,
    parquet: &ParquetOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ParquetSummary> {
    let partition = partition_of(snap, options, parquet)?;
    let dataset = Dataset::open(root)?;
    dataset.refuse_present(&partition, parquet.replace)?;
    let staging = dataset.stage()?;
    let written = (|| {
        // The db's own time: for a data dir or member dir, the directory's is not the backup's.
        let modified = std::fs::metadata(&*snap.source().db_path).and_then(|m| m.modified()).ok();
        let modified = modified.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).and_then(|d| i64::try_from(d.as_micros()).ok());
        let mut sink = ParquetSink::new(staging.path(), &partition, options.history, parquet.part_bytes, modified)?;
        let export = produce(&mut sink, snap, decoder, options, progress)?;
        Ok((export, sink.finish()?))
    })();
    let (export, tables) = written.map_err(|e| staging.name_target(e))?;
    options.cancel.check()?;
    let replaced = dataset.commit(staging.path(), &partition, parquet.replace)?;
    Ok(ParquetSummary { partition, replaced, tables, export })
}
