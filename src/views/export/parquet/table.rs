//! One table's files in one partition: rows are gathered into Arrow columns a batch at a time,
//! handed to arrow-rs's Parquet writer (which encodes and compresses them into pages as they
//! come), and a row group is closed when its encoded size or row count reaches its limit. A file
//! that has grown past the part size is closed at a row group's end and the next part begun.
//!
//! Memory is bounded by the limits, not by the table: one batch of raw values
//! ([`BATCH_BYTES`]) and one row group of encoded pages ([`ROW_GROUP_BYTES`]) per table.

use super::schema::{Column, Encoding, Kind, Table, SCHEMA_VERSION, VERSION_KEY};
use crate::error::{Error, Result};
use arrow_array::builder::{BinaryBuilder, BooleanBuilder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Raw bytes gathered before they go to the encoder.
const BATCH_BYTES: usize = 4 << 20;
/// Rows gathered before they go to the encoder.
const BATCH_ROWS: usize = 8192;
/// A row group is closed once its encoded pages reach this size…
const ROW_GROUP_BYTES: usize = 32 << 20;
/// …or this many rows (DuckDB's own row group size: one thread's unit of a scan).
const ROW_GROUP_ROWS: usize = 122_880;
/// Distinct values a bloom filter is sized for (about 32 KiB at 5% false positives): a row
/// group of objects holds some tens of thousands.
const BLOOM_NDV: u64 = 32_768;
/// zstd's level: its fastest band, where it still compresses JSON about tenfold.
const ZSTD_LEVEL: i32 = 1;
/// Longest minimum/maximum kept in statistics and page indexes (a key prefix is enough to
/// prune by key).
const STATISTICS_BYTES: usize = 64;

/// A value for one column of one row, in the column's order.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    Binary(Option<&'a [u8]>),
    Text(Option<&'a str>),
    Int(Option<i64>),
    Unsigned(Option<u64>),
    Bool(bool),
    /// Microseconds since the Unix epoch, UTC.
    Time(Option<i64>),
}

/// A column being gathered.
enum Builder {
    Binary(BinaryBuilder),
    Text(StringBuilder),
    Int(Int64Builder),
    Unsigned(UInt64Builder),
    Bool(BooleanBuilder),
    Time(TimestampMicrosecondBuilder),
}

impl Builder {
    fn new(c: &Column) -> Builder {
        match c.kind {
            Kind::Binary => Builder::Binary(BinaryBuilder::new()),
            Kind::Text | Kind::Json => Builder::Text(StringBuilder::new()),
            Kind::Int => Builder::Int(Int64Builder::new()),
            Kind::Unsigned => Builder::Unsigned(UInt64Builder::new()),
            Kind::Bool => Builder::Bool(BooleanBuilder::new()),
            Kind::Time => Builder::Time(TimestampMicrosecondBuilder::new().with_timezone("UTC")),
        }
    }

    /// Appends `cell`; its raw size, or `None` when it is not of this column's type.
    fn push(&mut self, cell: Cell<'_>) -> Option<usize> {
        Some(match (self, cell) {
            (Builder::Binary(b), Cell::Binary(v)) => {
                b.append_option(v);
                v.map_or(0, <[u8]>::len)
            }
            (Builder::Text(b), Cell::Text(v)) => {
                b.append_option(v);
                v.map_or(0, str::len)
            }
            (Builder::Int(b), Cell::Int(v)) => {
                b.append_option(v);
                8
            }
            (Builder::Unsigned(b), Cell::Unsigned(v)) => {
                b.append_option(v);
                8
            }
            (Builder::Bool(b), Cell::Bool(v)) => {
                b.append_value(v);
                1
            }
            (Builder::Time(b), Cell::Time(v)) => {
                b.append_option(v);
                8
            }
            _ => return None,
        })
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Binary(b) => Arc::new(b.finish()),
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Unsigned(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
        }
    }
}

/// How the files of `table` are written: zstd, dictionaries and statistics per column
/// ([`Encoding`]), row groups sized for scans, the schema version in the metadata.
pub fn properties(table: &Table) -> WriterProperties {
    let mut p = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(ZSTD_LEVEL).unwrap_or_default()))
        .set_max_row_group_size(ROW_GROUP_ROWS)
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_statistics_truncate_length(Some(STATISTICS_BYTES))
        .set_column_index_truncate_length(Some(STATISTICS_BYTES))
        .set_created_by(format!("etcdscope {} (parquet-rs)", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(vec![KeyValue::new(VERSION_KEY.to_string(), SCHEMA_VERSION.to_string())]));
    for c in table.columns {
        let path = ColumnPath::from(c.name);
        p = match c.encoding {
            Encoding::Dictionary => p.set_column_dictionary_enabled(path, true),
            Encoding::Plain => p,
            Encoding::Lookup => p.set_column_bloom_filter_enabled(path.clone(), true).set_column_bloom_filter_ndv(path, BLOOM_NDV),
            Encoding::Bulk => p.set_column_statistics_enabled(path, EnabledStatistics::None),
        };
    }
    p.build()
}

/// The files of one table in one partition directory.
pub struct TableWriter {
    table: Table,
    dir: PathBuf,
    part_bytes: u64,
    properties: WriterProperties,
    schema: arrow_schema::SchemaRef,
    builders: Vec<Builder>,
    batch_rows: usize,
    batch_bytes: usize,
    writer: Option<ArrowWriter<File>>,
    /// Parts closed so far (the open one is `part-<parts>`).
    parts: u32,
    pub rows: u64,
    /// Bytes of the parts closed so far.
    pub bytes: u64,
}

impl TableWriter {
    /// A writer of `table`'s parts into `dir` (created now); a part is closed past
    /// `part_bytes`.
    pub fn new(table: Table, dir: PathBuf, part_bytes: u64) -> Result<TableWriter> {
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let builders = table.columns.iter().map(Builder::new).collect();
        let properties = properties(&table);
        Ok(TableWriter {
            table,
            dir,
            part_bytes,
            properties,
            schema: table.arrow_schema(),
            builders,
            batch_rows: 0,
            batch_bytes: 0,
            writer: None,
            parts: 0,
            rows: 0,
            bytes: 0,
        })
    }

    fn part_path(&self) -> PathBuf {
        self.dir.join(format!("part-{}.parquet", self.parts))
    }

    /// Appends one row: a cell per column, in the table's order.
    pub fn row(&mut self, cells: &[Cell<'_>]) -> Result<()> {
        if cells.len() != self.builders.len() {
            return Err(self.mismatch(format!("{} cells for {} columns", cells.len(), self.builders.len())));
        }
        for (i, cell) in cells.iter().enumerate() {
            match self.builders[i].push(*cell) {
                Some(n) => self.batch_bytes += n,
                None => return Err(self.mismatch(format!("column {} is {:?}, given {cell:?}", self.table.columns[i].name, self.table.columns[i].kind))),
            }
        }
        self.batch_rows += 1;
        self.rows += 1;
        if self.batch_rows >= BATCH_ROWS || self.batch_bytes >= BATCH_BYTES {
            self.write_batch()?;
        }
        Ok(())
    }

    /// A row that does not fit the table: a defect of ours, reported rather than panicked on.
    fn mismatch(&self, what: String) -> Error {
        Error::Output { path: self.dir.clone(), what: format!("Parquet table {}: {what}", self.table.name) }
    }

    /// Hands the gathered rows to the encoder; closes the row group, and the part, when full.
    fn write_batch(&mut self) -> Result<()> {
        let columns: Vec<ArrayRef> = self.builders.iter_mut().map(Builder::finish).collect();
        let (path, part_bytes) = (self.part_path(), self.part_bytes);
        let batch = RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| parquet_error(&path, e))?;
        self.batch_rows = 0;
        self.batch_bytes = 0;
        let writer = self.open()?;
        let row_groups = writer.flushed_row_groups().len();
        writer.write(&batch).map_err(|e| parquet_error(&path, e))?;
        if writer.in_progress_size() >= ROW_GROUP_BYTES {
            writer.flush().map_err(|e| parquet_error(&path, e))?;
        }
        // A row group ended, closed above by its size or by the writer at its row count: past
        // the part size, the part is closed (rows still in progress end it as a last row group).
        if writer.flushed_row_groups().len() > row_groups && writer.bytes_written() as u64 >= part_bytes {
            self.close_part()?;
        }
        Ok(())
    }

    /// The open part, opened now if none is (mode 0600: it may hold Secrets).
    fn open(&mut self) -> Result<&mut ArrowWriter<File>> {
        if self.writer.is_none() {
            let path = self.part_path();
            let file = create_private(&path)?;
            let writer = ArrowWriter::try_new(file, self.schema.clone(), Some(self.properties.clone())).map_err(|e| parquet_error(&path, e))?;
            self.writer = Some(writer);
        }
        Ok(self.writer.as_mut().expect("opened above"))
    }

    /// Closes the open part: its footer written, the file synced.
    fn close_part(&mut self) -> Result<()> {
        let Some(writer) = self.writer.take() else { return Ok(()) };
        let path = self.part_path();
        let file = writer.into_inner().map_err(|e| parquet_error(&path, e))?;
        file.sync_all().map_err(|e| Error::io(&path, e))?;
        self.bytes += file.metadata().map_err(|e| Error::io(&path, e))?.len();
        self.parts += 1;
        Ok(())
    }

    /// Writes what is gathered and closes the last part. A table without rows still gets one
    /// (empty) file, so every table of every snapshot has its partition and its schema.
    pub fn finish(mut self) -> Result<TableFiles> {
        if self.batch_rows > 0 || (self.parts == 0 && self.writer.is_none()) {
            self.write_batch()?;
        }
        self.close_part()?;
        Ok(TableFiles { name: self.table.name, rows: self.rows, files: self.parts, bytes: self.bytes })
    }
}

/// What was written for one table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableFiles {
    pub name: &'static str,
    pub rows: u64,
    pub files: u32,
    pub bytes: u64,
}

fn parquet_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Output { path: path.to_path_buf(), what: format!("Parquet: {e}") }
}

/// A new file readable by its owner only.
fn create_private(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(|e| Error::io(path, e))
}
