//! One table's files in one partition: rows are gathered into Arrow columns a batch at a time,
//! handed to arrow-rs's Parquet writer (which encodes and compresses them into pages as they
//! come), and a row group is closed when its encoded size or row count reaches its limit. A file
//! that has grown past the part size is closed at a row group's end and the next part begun.
//!
//! Memory is bounded by the limits, not by the table: a batch or two of raw values
//! (`BATCH_BYTES`) and one row group of compressed pages per table. A row group is bounded by
//! the raw bytes given to it, which bounds its compressed size too whatever the data. (With
//! data pages v1, parquet-rs keeps each compressed page in a buffer allocated at the page's raw
//! size, so an open row group held its raw size: 1.4 GiB peak on a snapshot whose JSON
//! compresses a hundredfold, with row groups closed by encoded size. Pages v2 compress into a
//! buffer of their own size.)

use super::schema::{Column, Encoding, Kind, Table, SCHEMA_VERSION, VERSION_KEY};
use crate::error::{Error, Result};
use arrow_array::builder::{BinaryBuilder, BooleanBuilder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder, UInt64Builder};
use arrow_array::{Array, ArrayRef, RecordBatch};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Raw bytes gathered before they go to the encoder.
const BATCH_BYTES: usize = 2 << 20;
/// Rows gathered before they go to the encoder.
const BATCH_ROWS: usize = 8192;
/// A row group is closed once the raw bytes given to it reach this size (a table with large
/// values: kv, objects, annotations, revisions)…
const ROW_GROUP_BYTES_BULK: usize = 64 << 20;
/// …or this size (any other table)…
const ROW_GROUP_BYTES: usize = 16 << 20;
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

impl Cell<'_> {
    /// Bytes of a binary or text value (0 for the others).
    fn byte_len(&self) -> usize {
        match self {
            Cell::Binary(v) => v.map_or(0, <[u8]>::len),
            Cell::Text(v) => v.map_or(0, str::len),
            _ => 0,
        }
    }
}

/// The largest value a byte column takes: Arrow's i32 offsets and Parquet's i32 page sizes,
/// with room for a page's other bytes.
const MAX_VALUE_BYTES: usize = (i32::MAX as usize) - (64 << 20);

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

    /// The gathered column, the builder left empty with room for a batch like this one (so
    /// the next batch is copied in once, not regrown by doubling).
    fn finish(&mut self) -> ArrayRef {
        fn room(bytes: usize) -> usize {
            bytes + bytes / 8
        }
        match self {
            Builder::Binary(b) => {
                let a = b.finish();
                *b = BinaryBuilder::with_capacity(a.len(), room(a.value_data().len()));
                Arc::new(a)
            }
            Builder::Text(b) => {
                let a = b.finish();
                *b = StringBuilder::with_capacity(a.len(), room(a.value_data().len()));
                Arc::new(a)
            }
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
        // Data pages v2: the values are compressed straight into the page (v1 copies them
        // into the page first, and keeps each compressed page in a buffer the size of its raw
        // values). PLAIN where there is no dictionary: v2's default for byte arrays,
        // DELTA_BYTE_ARRAY, costs time on JSON and is read by fewer engines.
        .set_writer_version(WriterVersion::PARQUET_2_0)
        .set_encoding(parquet::basic::Encoding::PLAIN)
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

/// The files of one table in one partition directory. Rows are gathered on the caller's thread;
/// the batches go to a thread of the table's own that encodes, compresses and writes them
/// (`Encoder`), so the tables of one export are encoded beside each other and beside the
/// decoding.
pub struct TableWriter {
    table: Table,
    dir: PathBuf,
    schema: arrow_schema::SchemaRef,
    builders: Vec<Builder>,
    batch_rows: usize,
    batch_bytes: usize,
    pub rows: u64,
    to_encoder: Option<SyncSender<Message>>,
    encoder: Option<JoinHandle<Result<Written>>>,
}

/// What the gathering side asks of the encoder.
enum Message {
    /// Rows, and their raw bytes.
    Batch(RecordBatch, usize),
    EndRowGroup,
    Finish,
}

/// Parts and bytes an encoder wrote.
type Written = (u32, u64);

/// Batches waiting for the encoder, per table: one being gathered, one queued, one encoding.
const QUEUED: usize = 1;

impl TableWriter {
    /// A writer of `table`'s parts into `dir` (created now); a part is closed past
    /// `part_bytes`.
    pub fn new(table: Table, dir: PathBuf, part_bytes: u64) -> Result<TableWriter> {
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let builders = table.columns.iter().map(Builder::new).collect();
        let encoder = Encoder::new(table, dir.clone(), part_bytes);
        let (to_encoder, messages) = sync_channel(QUEUED);
        let thread = std::thread::Builder::new()
            .name(format!("parquet-{}", table.name))
            .spawn(move || encoder.run(messages))
            .map_err(|e| Error::io(Path::new("<Parquet encoder thread>"), e))?;
        Ok(TableWriter {
            table,
            dir,
            schema: table.arrow_schema(),
            builders,
            batch_rows: 0,
            batch_bytes: 0,
            rows: 0,
            to_encoder: Some(to_encoder),
            encoder: Some(thread),
        })
    }

    /// Appends one row: a cell per column, in the table's order.
    pub fn row(&mut self, cells: &[Cell<'_>]) -> Result<()> {
        if cells.len() != self.builders.len() {
            return Err(self.mismatch(format!("{} cells for {} columns", cells.len(), self.builders.len())));
        }
        // Arrow's byte columns count offsets in i32: a batch ends before a value would pass
        // them, and a value larger than a Parquet page can hold is refused.
        let largest = cells.iter().map(Cell::byte_len).max().unwrap_or(0);
        if largest > MAX_VALUE_BYTES {
            return Err(Error::Output {
                path: self.dir.clone(),
                what: format!("Parquet table {}: a value of {largest} bytes is more than a Parquet page holds ({MAX_VALUE_BYTES})", self.table.name),
            });
        }
        if self.batch_rows > 0 && self.batch_bytes.saturating_add(largest) > MAX_VALUE_BYTES {
            self.send_batch()?;
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
            self.send_batch()?;
        }
        Ok(())
    }

    /// A row that does not fit the table: a defect of ours, reported rather than panicked on.
    fn mismatch(&self, what: String) -> Error {
        Error::Output { path: self.dir.clone(), what: format!("Parquet table {}: {what}", self.table.name) }
    }

    /// Hands the gathered rows to the encoder.
    fn send_batch(&mut self) -> Result<()> {
        let columns: Vec<ArrayRef> = self.builders.iter_mut().map(Builder::finish).collect();
        let batch = RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| parquet_error(&self.dir, e))?;
        let raw = std::mem::take(&mut self.batch_bytes);
        self.batch_rows = 0;
        self.send(Message::Batch(batch, raw))
    }

    fn send(&mut self, message: Message) -> Result<()> {
        let sent = self.to_encoder.as_ref().map(|to| to.send(message));
        match sent {
            Some(Ok(())) => Ok(()),
            // The encoder stopped: its error says why.
            _ => Err(self.join().err().unwrap_or_else(|| parquet_error(&self.dir, "the encoder stopped"))),
        }
    }

    /// Waits for the encoder to end; what it wrote, or its error.
    fn join(&mut self) -> Result<Written> {
        self.to_encoder = None;
        match self.encoder.take().map(JoinHandle::join) {
            Some(Ok(written)) => written,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Err(parquet_error(&self.dir, "the encoder has ended")),
        }
    }

    /// Closes the open row group (with what is gathered), and the part when it has grown past
    /// the part size: what is buffered goes to disk.
    pub fn end_row_group(&mut self) -> Result<()> {
        if self.batch_rows > 0 {
            self.send_batch()?;
        }
        self.send(Message::EndRowGroup)
    }

    /// Writes what is gathered and closes the last part. A table without rows still gets one
    /// (empty) file, so every table of every snapshot has its partition and its schema.
    pub fn finish(mut self) -> Result<TableFiles> {
        if self.batch_rows > 0 {
            self.send_batch()?;
        }
        self.send(Message::Finish)?;
        let (files, bytes) = self.join()?;
        Ok(TableFiles { name: self.table.name, rows: self.rows, files, bytes })
    }
}

impl Drop for TableWriter {
    /// An export abandoned (an error, an interrupt): the encoder stops at its next message and
    /// is waited for, so nothing writes into the staging directory once it is being removed.
    fn drop(&mut self) {
        self.to_encoder = None;
        if let Some(thread) = self.encoder.take() {
            let _ = thread.join();
        }
    }
}

/// The encoding half of a [`TableWriter`], on its own thread: arrow-rs's writer, the row groups
/// and the parts.
struct Encoder {
    dir: PathBuf,
    part_bytes: u64,
    properties: WriterProperties,
    schema: arrow_schema::SchemaRef,
    /// Raw bytes given to the open row group, and its limit.
    group_bytes: usize,
    group_limit: usize,
    /// Rows in the open row group.
    group_rows: usize,
    writer: Option<ArrowWriter<File>>,
    /// Parts closed so far (the open one is `part-<parts>`).
    parts: u32,
    /// Bytes of the parts closed so far.
    bytes: u64,
}

impl Encoder {
    fn new(table: Table, dir: PathBuf, part_bytes: u64) -> Encoder {
        let bulk = table.columns.iter().any(|c| c.encoding == Encoding::Bulk);
        let group_limit = if bulk { ROW_GROUP_BYTES_BULK } else { ROW_GROUP_BYTES };
        Encoder {
            dir,
            part_bytes,
            properties: properties(&table),
            schema: table.arrow_schema(),
            group_bytes: 0,
            group_limit,
            group_rows: 0,
            writer: None,
            parts: 0,
            bytes: 0,
        }
    }

    /// Takes messages until `Finish`; a closed channel before it is an abandoned export.
    fn run(mut self, messages: Receiver<Message>) -> Result<Written> {
        for message in messages {
            match message {
                Message::Batch(batch, raw) => self.write(&batch, raw)?,
                Message::EndRowGroup => self.end_row_group()?,
                Message::Finish => return self.finish(),
            }
        }
        Err(Error::Interrupted)
    }

    fn part_path(&self) -> PathBuf {
        self.dir.join(format!("part-{}.parquet", self.parts))
    }

    /// Encodes a batch; a row group is closed when its rows reach [`ROW_GROUP_ROWS`] (the batch
    /// split there, so the rows after it start the next row group, and the next part past the
    /// part size) or the raw bytes given to it reach its limit.
    fn write(&mut self, batch: &RecordBatch, raw: usize) -> Result<()> {
        let (mut batch, mut raw) = (batch.clone(), raw);
        loop {
            let rows = batch.num_rows();
            let room = ROW_GROUP_ROWS.saturating_sub(self.group_rows).max(1);
            let take = rows.min(room);
            let head = if take == rows { batch.clone() } else { batch.slice(0, take) };
            // The raw bytes are counted per batch: a split shares them by rows.
            let head_raw = if take == rows { raw } else { raw / rows * take };
            let path = self.part_path();
            self.open()?.write(&head).map_err(|e| parquet_error(&path, e))?;
            self.group_rows += take;
            self.group_bytes += head_raw;
            if self.group_rows >= ROW_GROUP_ROWS || self.group_bytes >= self.group_limit {
                self.end_row_group()?;
            }
            if take == rows {
                return Ok(());
            }
            batch = batch.slice(take, rows - take);
            raw -= head_raw;
        }
    }

    /// Closes the open row group, and the part once it has grown past the part size.
    fn end_row_group(&mut self) -> Result<()> {
        let path = self.part_path();
        let Some(writer) = self.writer.as_mut() else { return Ok(()) };
        writer.flush().map_err(|e| parquet_error(&path, e))?;
        self.group_bytes = 0;
        self.group_rows = 0;
        if writer.bytes_written() as u64 >= self.part_bytes {
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

    /// Closes the last part; a table that got no rows gets one empty file all the same.
    fn finish(mut self) -> Result<Written> {
        if self.parts == 0 {
            self.open()?;
        }
        self.close_part()?;
        // The parts' names are durable before the directory is renamed into the dataset.
        std::fs::File::open(&self.dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(&self.dir, e))?;
        Ok((self.parts, self.bytes))
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

#[cfg(test)]
mod tests {
    use super::super::schema::{KV, LEASES};
    use super::*;

    fn parts(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    fn kv_row(value: &[u8]) -> [Cell<'_>; 10] {
        [
            Cell::Binary(Some(b"/k")),
            Cell::Text(Some("/k")),
            Cell::Int(Some(1)),
            Cell::Int(Some(2)),
            Cell::Int(Some(1)),
            Cell::Int(Some(0)),
            Cell::Binary(Some(value)),
            Cell::Int(Some(value.len() as i64)),
            Cell::Text(Some("raw")),
            Cell::Bool(false),
        ]
    }

    /// A table without rows still gets a file (its schema, no row groups).
    #[test]
    fn an_empty_table_has_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let files = TableWriter::new(LEASES, dir.path().join("t"), PART).unwrap().finish().unwrap();
        assert_eq!((files.rows, files.files), (0, 1));
        assert_eq!(parts(&dir.path().join("t")), ["part-0.parquet"]);
    }

    const PART: u64 = 1 << 30;

    /// Past the part size, the next row group goes to a new part.
    #[test]
    fn a_file_past_the_part_size_is_followed_by_the_next_part() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = TableWriter::new(KV, dir.path().join("t"), 1).unwrap();
        let value = vec![7u8; 1000];
        for _ in 0..3 {
            w.row(&kv_row(&value)).unwrap();
            w.end_row_group().unwrap();
        }
        let files = w.finish().unwrap();
        assert_eq!((files.rows, files.files), (3, 3));
        assert_eq!(parts(&dir.path().join("t")), ["part-0.parquet", "part-1.parquet", "part-2.parquet"]);
    }

    /// A row group the writer ends at its row count ends the part too, past the part size.
    #[test]
    fn a_row_group_ended_by_its_row_count_ends_the_part() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = TableWriter::new(LEASES, dir.path().join("t"), 1).unwrap();
        for id in 0..=ROW_GROUP_ROWS as i64 {
            w.row(&[Cell::Int(Some(id)), Cell::Text(Some("x")), Cell::Int(Some(1)), Cell::Int(Some(1)), Cell::Int(Some(0))]).unwrap();
        }
        let files = w.finish().unwrap();
        assert_eq!((files.rows, files.files), (ROW_GROUP_ROWS as u64 + 1, 2));
    }

    /// A row of the wrong shape is an error naming the table and column, not a panic.
    #[test]
    fn a_row_of_the_wrong_shape_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = TableWriter::new(LEASES, dir.path().join("t"), PART).unwrap();
        let short = w.row(&[Cell::Int(Some(1))]).unwrap_err().to_string();
        assert!(short.contains("leases") && short.contains("1 cells for 5 columns"), "{short}");
        let typed = w.row(&[Cell::Text(Some("x")), Cell::Text(Some("x")), Cell::Int(None), Cell::Int(None), Cell::Int(None)]).unwrap_err().to_string();
        assert!(typed.contains("column id"), "{typed}");
        // A null in a required column is refused when the batch is made.
        let mut w = TableWriter::new(LEASES, dir.path().join("u"), PART).unwrap();
        w.row(&[Cell::Int(None), Cell::Text(Some("x")), Cell::Int(Some(1)), Cell::Int(Some(1)), Cell::Int(Some(0))]).unwrap();
        assert!(w.finish().is_err());
    }
}
