//! Printing `query`'s rows as they come: `table`, `json`, `jsonl` or `csv`.
//!
//! Memory does not grow with the result. `jsonl`, `json` and `csv` write each row when SQLite
//! hands it out, values straight from SQLite's buffer (JSON strings escaped and blobs base64
//! encoded on the way out, never copied whole). The table holds only its first rows, to size its
//! columns ([`WIDTH_ROWS`] rows or [`WIDTH_BYTES`] of text, whichever comes first; later rows use
//! those widths, as `kubectl get` lays out each chunk it prints), and cuts a cell longer than
//! [`CELL_BYTES`]: a table is for reading, the other formats carry whole values.
//!
//! A long value is written in pieces with the run's [`Stop`] checked between them, so Ctrl-C
//! and `--timeout` stop a print to a slow reader too, not only the statement.

use super::format::{one_line, printable_key};
use base64::Engine;
use etcdscope::k8s::json::ascii_escape;
use etcdscope::views::export::query::{Cell, Stop};
use etcdscope::Result;
use std::io::Write;

/// Rows (besides the header) the table holds to size its columns.
pub const WIDTH_ROWS: usize = 500;

/// Text the table holds to size its columns, at most (fewer rows when they are wide).
pub const WIDTH_BYTES: usize = 4 << 20;

/// The longest text or blob a table cell shows whole, in bytes; a longer one shows this much
/// (cut back to a whole character) and `…[+N bytes]`.
pub const CELL_BYTES: usize = 4096;

/// Spaces between table columns.
const GAP: usize = 2;

/// How much of one value is written between two checks of the run's [`Stop`] (a multiple of 3,
/// so that base64 pieces need no padding between them).
const PIECE: usize = 3 << 18;

/// The output formats of `query -o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns, widths from the first rows.
    Table,
    /// An array of objects keyed by column.
    Json,
    /// One object per row.
    Jsonl,
    /// Comma-separated values.
    Csv,
}

/// Where a run's rows go, one at a time.
pub struct Printer<'o, W: Write> {
    sink: Sink<'o, W>,
    stop: Stop,
}

enum Sink<'o, W: Write> {
    Table(Table<'o, W>),
    /// `jsonl` (one object a line) or `json` (`lines` false: an array of them).
    Json {
        out: &'o mut W,
        keys: Vec<String>,
        rows: u64,
        lines: bool,
    },
    /// The header is written with the first row (or at the end): a statement that fails at
    /// once prints nothing.
    Csv {
        w: Box<csv::Writer<&'o mut W>>,
        header: Option<Vec<String>>,
    },
}

impl<'o, W: Write> Printer<'o, W> {
    pub fn new(format: Format, out: &'o mut W, stop: Stop) -> Printer<'o, W> {
        let sink = match format {
            Format::Table => Sink::Table(Table { out, widths: None, held: Vec::new(), held_bytes: 0, cut: 0 }),
            Format::Json | Format::Jsonl => Sink::Json { out, keys: Vec::new(), rows: 0, lines: format == Format::Jsonl },
            Format::Csv => Sink::Csv { w: Box::new(csv::WriterBuilder::new().from_writer(out)), header: None },
        };
        Printer { sink, stop }
    }

    /// The column names, once, before any row. Nothing is printed before the first row or the
    /// end: a statement SQLite refuses, or that fails at its first step, prints nothing.
    pub fn columns(&mut self, names: &[String]) -> Result<()> {
        match &mut self.sink {
            Sink::Table(t) => t.hold(names.iter().map(|n| one_line(n)).collect()),
            Sink::Json { keys, .. } => {
                // Each key encoded once as JSON, with its colon. Names that repeat stay, in
                // column order, as sqlite3 -json writes them (readers take the last).
                *keys = names.iter().map(|n| format!("{}:", serde_json::Value::from(n.as_str()))).collect();
                Ok(())
            }
            Sink::Csv { header, .. } => {
                *header = Some(names.to_vec());
                Ok(())
            }
        }
    }

    pub fn row(&mut self, cells: &[Cell<'_>]) -> Result<()> {
        let stop = &self.stop;
        match &mut self.sink {
            Sink::Table(t) => {
                let row = cells.iter().map(|c| table_cell(c, &mut t.cut)).collect();
                t.hold(row)
            }
            Sink::Json { out, keys, rows, lines } => {
                if !*lines {
                    out.write_all(if *rows == 0 { b"[\n" } else { b",\n" }).map_err(io)?;
                }
                json_object(&mut **out, keys, cells, stop)?;
                if *lines {
                    out.write_all(b"\n").map_err(io)?;
                }
                *rows += 1;
                Ok(())
            }
            Sink::Csv { w, header } => {
                csv_header(w, header)?;
                for c in cells {
                    match c {
                        Cell::Text(t) => w.write_field(String::from_utf8_lossy(t).as_bytes()),
                        Cell::Blob(b) => {
                            stop.check()?;
                            w.write_field(blob(b))
                        }
                        other => w.write_field(text_cell(other)),
                    }
                    .map_err(csv_error)?;
                }
                w.write_record(None::<&[u8]>).map_err(csv_error)
            }
        }
    }

    /// Ends the output of a run that went to its end; returns how many table cells were cut.
    pub fn finish(self) -> Result<u64> {
        match self.sink {
            Sink::Table(mut t) => {
                t.release()?;
                Ok(t.cut)
            }
            Sink::Json { out, rows, lines: false, .. } => out.write_all(if rows == 0 { b"[]\n" } else { b"\n]\n" }).map_err(io).map(|()| 0),
            Sink::Json { .. } => Ok(0),
            Sink::Csv { mut w, mut header } => {
                csv_header(&mut w, &mut header)?;
                w.flush().map_err(io).map(|()| 0)
            }
        }
    }

    /// Ends the output of a run that failed or was stopped: what was printed stays (the CSV
    /// writer's buffer is flushed); the rows a table still held to size its columns are dropped.
    pub fn abandon(self) -> Result<()> {
        match self.sink {
            Sink::Csv { mut w, .. } => w.flush().map_err(io),
            _ => Ok(()),
        }
    }
}

/// Writes the CSV header if it is still to be written.
fn csv_header<W: Write>(w: &mut csv::Writer<W>, header: &mut Option<Vec<String>>) -> Result<()> {
    let Some(names) = header.take() else { return Ok(()) };
    w.write_record(names.iter().map(String::as_bytes)).map_err(csv_error)
}

/// A table: the header and first rows held until the column widths are known, then every row
/// written as it comes.
struct Table<'o, W: Write> {
    out: &'o mut W,
    widths: Option<Vec<usize>>,
    held: Vec<Vec<String>>,
    held_bytes: usize,
    /// Cells cut at [`CELL_BYTES`].
    cut: u64,
}

impl<W: Write> Table<'_, W> {
    fn hold(&mut self, row: Vec<String>) -> Result<()> {
        if let Some(widths) = &self.widths {
            return write_line(self.out, widths, &row);
        }
        self.held_bytes += row.iter().map(String::len).sum::<usize>();
        self.held.push(row);
        if self.held.len() > WIDTH_ROWS || self.held_bytes >= WIDTH_BYTES {
            self.release()?;
        }
        Ok(())
    }

    /// Sizes the columns from the rows held (each the widest cell and the gap; the last column
    /// is not padded) and writes them.
    fn release(&mut self) -> Result<()> {
        if self.widths.is_some() {
            return Ok(());
        }
        let columns = self.held.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns).map(|c| self.held.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count() + GAP).max().unwrap_or(0)).collect();
        for row in std::mem::take(&mut self.held) {
            write_line(self.out, &widths, &row)?;
        }
        self.widths = Some(widths);
        Ok(())
    }
}

/// One table line: each cell but the last padded to its column's width; a cell wider than its
/// column (a row after the ones that sized it) is followed by the gap alone, pushing the rest of
/// its own line.
fn write_line<W: Write>(out: &mut W, widths: &[usize], row: &[String]) -> Result<()> {
    let mut line = String::new();
    for (c, cell) in row.iter().enumerate() {
        line.push_str(cell);
        if c + 1 < row.len() {
            let have = cell.chars().count();
            let width = widths.get(c).copied().unwrap_or(0);
            let pad = if have + GAP <= width { width - have } else { GAP };
            line.extend(std::iter::repeat(' ').take(pad));
        }
    }
    out.write_all(line.trim_end().as_bytes()).map_err(io)?;
    out.write_all(b"\n").map_err(io)
}

/// A table cell: NULL empty (as sqlite3 shows it), text and blobs with control characters and
/// invalid UTF-8 escaped, cut at [`CELL_BYTES`] (counted in `cut`).
fn table_cell(c: &Cell<'_>, cut: &mut u64) -> String {
    let (bytes, text) = match c {
        Cell::Text(t) => (*t, true),
        Cell::Blob(b) => (*b, false),
        other => return text_cell(other),
    };
    if bytes.len() <= CELL_BYTES {
        return printable_key(bytes);
    }
    let mut end = CELL_BYTES;
    // Text is cut at the start of a character, not between the bytes of one.
    while text && end + 3 > CELL_BYTES && end > 0 && bytes[end] & 0xC0 == 0x80 {
        end -= 1;
    }
    *cut += 1;
    format!("{}…[+{} bytes]", printable_key(&bytes[..end]), bytes.len() - end)
}

/// A number as CSV and table text: integers as SQLite holds them, reals as JSON writes them
/// (`1.5`, `1e100`); NULL empty (as sqlite3 writes it; `-o jsonl` tells NULL from '').
fn text_cell(c: &Cell<'_>) -> String {
    match c {
        Cell::Null => String::new(),
        Cell::Integer(v) => v.to_string(),
        Cell::Real(v) => serde_json::Number::from_f64(*v).map_or_else(|| if *v > 0.0 { "Inf".into() } else { "-Inf".into() }, |n| n.to_string()),
        Cell::Text(t) => String::from_utf8_lossy(t).into_owned(),
        Cell::Blob(b) => blob(b),
    }
}

/// Blobs are base64 in JSON and CSV, as etcdctl writes keys and values in JSON.
fn blob(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// One row as a JSON object, keys in column order.
fn json_object<W: Write>(out: &mut W, keys: &[String], cells: &[Cell<'_>], stop: &Stop) -> Result<()> {
    out.write_all(b"{").map_err(io)?;
    for (i, (key, cell)) in keys.iter().zip(cells).enumerate() {
        if i > 0 {
            out.write_all(b",").map_err(io)?;
        }
        out.write_all(key.as_bytes()).map_err(io)?;
        match cell {
            Cell::Null => out.write_all(b"null").map_err(io)?,
            Cell::Integer(v) => out.write_all(itoa::Buffer::new().format(*v).as_bytes()).map_err(io)?,
            Cell::Real(v) => match serde_json::Number::from_f64(*v) {
                Some(n) => out.write_all(n.to_string().as_bytes()).map_err(io)?,
                None => out.write_all(b"null").map_err(io)?,
            },
            Cell::Text(t) => json_string(out, &String::from_utf8_lossy(t), stop)?,
            Cell::Blob(b) => json_base64(out, b, stop)?,
        }
    }
    out.write_all(b"}").map_err(io)
}

/// `text` as a JSON string, escaped as serde_json escapes it (`\"`, `\\`, `\b \f \n \r \t`,
/// other control characters `\u00xx`), written in pieces.
fn json_string<W: Write>(out: &mut W, text: &str, stop: &Stop) -> Result<()> {
    out.write_all(b"\"").map_err(io)?;
    // Only ASCII bytes are escaped: pieces may split a character's bytes between two writes.
    for piece in text.as_bytes().chunks(PIECE) {
        stop.check()?;
        let mut start = 0;
        for (i, &b) in piece.iter().enumerate() {
            let Some(escaped) = ascii_escape(b) else { continue };
            out.write_all(&piece[start..i]).map_err(io)?;
            out.write_all(escaped.as_bytes()).map_err(io)?;
            start = i + 1;
        }
        out.write_all(&piece[start..]).map_err(io)?;
    }
    out.write_all(b"\"").map_err(io)
}

/// `bytes` in base64 as a JSON string, encoded in pieces as it is written.
fn json_base64<W: Write>(out: &mut W, bytes: &[u8], stop: &Stop) -> Result<()> {
    out.write_all(b"\"").map_err(io)?;
    let mut encoded = vec![0u8; PIECE / 3 * 4];
    for piece in bytes.chunks(PIECE) {
        stop.check()?;
        let n = base64::engine::general_purpose::STANDARD.encode_slice(piece, &mut encoded).map_err(|e| io(std::io::Error::other(e)))?;
        out.write_all(&encoded[..n]).map_err(io)?;
    }
    out.write_all(b"\"").map_err(io)
}

fn io(e: std::io::Error) -> etcdscope::Error {
    super::stdout_error(e)
}

fn csv_error(e: csv::Error) -> etcdscope::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => io(e),
        other => io(std::io::Error::other(format!("{other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcdscope::views::export::query::RunOptions;

    fn printed(format: Format, names: &[&str], rows: &[Vec<Cell<'_>>]) -> String {
        let mut out = Vec::new();
        let mut p = Printer::new(format, &mut out, RunOptions::default().stop());
        p.columns(&names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        for r in rows {
            p.row(r).unwrap();
        }
        p.finish().unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_strings_are_escaped_as_serde_json_escapes_them() {
        let all: String = (0u8..=0x7f).map(char::from).chain("é\u{2028}✓".chars()).collect();
        let line = printed(Format::Jsonl, &["t"], &[vec![Cell::Text(all.as_bytes())]]);
        assert_eq!(line, format!("{{\"t\":{}}}\n", serde_json::Value::from(all.as_str())));
    }

    #[test]
    fn blobs_are_base64_across_pieces() {
        let bytes: Vec<u8> = (0..PIECE * 2 + 7).map(|i| (i * 7 % 251) as u8).collect();
        let line = printed(Format::Jsonl, &["b"], &[vec![Cell::Blob(&bytes)]]);
        assert_eq!(line, format!("{{\"b\":\"{}\"}}\n", blob(&bytes)));
    }

    #[test]
    fn a_stopped_run_stops_inside_a_long_value() {
        let cancel = etcdscope::cancel::Cancel::new();
        let stop = RunOptions { cancel: cancel.clone(), timeout: None }.stop();
        cancel.cancel();
        let mut out = Vec::new();
        let mut p = Printer::new(Format::Jsonl, &mut out, stop);
        p.columns(&["b".to_string()]).unwrap();
        let long = vec![0u8; PIECE * 4];
        assert!(matches!(p.row(&[Cell::Blob(&long)]), Err(etcdscope::Error::Interrupted)));
        p.abandon().unwrap();
        assert!(out.len() < PIECE, "stopped before the first piece: {} bytes", out.len());
    }
}
