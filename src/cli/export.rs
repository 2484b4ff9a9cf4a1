//! `etcdscope export sqlite` and `etcdscope query`: the keyspace as SQLite tables, written to a
//! file or queried once. Tables and example queries: docs/commands/export.md.

use super::format::{printable_key, table};
use super::progress::Bar;
use super::{CliError, CliResult, EXIT_FINDINGS, EXIT_OK};
use base64::Engine;
use clap::{Args, Subcommand};
use etcdscope::snapshot::Snapshot;
use etcdscope::source::Source;
use etcdscope::views::export::query::{run as run_query, temporary_tables_summarised, Cell, Event, RunOptions};
use etcdscope::views::export::{export_sqlite, ExportOptions};
use std::io::Write;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ExportCommand {
    /// Write the keyspace to a SQLite database: kv, objects, labels, annotations, owner_refs,
    /// leases, members, buckets, source (and revisions with --history).
    Sqlite(SqliteArgs),
}

#[derive(Args)]
pub struct TableArgs {
    /// Add the `revisions` table: every retained revision (and the churn_by_resource view).
    #[arg(long)]
    history: bool,
    /// Read at this revision (0 = current).
    #[arg(long, default_value_t = 0)]
    rev: i64,
    /// The etcd prefix kube-apiserver was run with (`--etcd-prefix`).
    #[arg(long, default_value = "/registry")]
    etcd_prefix: String,
    /// Add the member's WAL (a data dir, member dir or WAL dir): wal_entries, wal_puts, wal_damage.
    #[arg(long)]
    wal: Option<PathBuf>,
    #[command(flatten)]
    decoding: super::decoding::DecodingArgs,
}

impl TableArgs {
    /// The options, with the token SIGINT and SIGTERM cancel: the export then stops at the next
    /// row and removes its temporary file, instead of dying with it on disk.
    fn options(&self) -> ExportOptions {
        let cancel = super::interrupt::watch();
        ExportOptions { history: self.history, revision: self.rev, etcd_prefix: self.etcd_prefix.clone(), wal: self.wal.clone(), cancel }
    }
}

#[derive(Args)]
pub struct SqliteArgs {
    /// Snapshot file, member db, member dir or data dir.
    src: PathBuf,
    /// The database to write (mode 0600; it may hold Secrets with --show-secrets).
    out: PathBuf,
    /// Replace OUT if it exists.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    tables: TableArgs,
}

#[derive(Args)]
pub struct QueryArgs {
    /// Snapshot file, member db, member dir or data dir.
    src: PathBuf,
    /// One SQL statement over the export's tables.
    sql: String,
    /// table, json (an array of objects keyed by column), jsonl or csv
    #[arg(short = 'o', long, default_value = "table")]
    output: String,
    /// Stop the statement after this many seconds (0: no limit). Building the tables is not
    /// counted.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    timeout: u64,
    #[command(flatten)]
    tables: TableArgs,
}

pub fn run_export(command: &ExportCommand, out: &mut impl Write) -> CliResult {
    let ExportCommand::Sqlite(a) = command;
    let decoder = a.tables.decoding.decoder_for(&a.tables.etcd_prefix)?;
    let source = Source::open(&a.src)?;
    let snap = Snapshot::open(&source)?;
    let mut bar = Bar::new();
    let s = export_sqlite(&snap, &decoder, &a.out, &a.tables.options(), a.force, &mut |p| bar.update(p))?;
    drop(bar);
    writeln!(
        out,
        "{}: {} keys, {} objects ({} not decoded), {} revisions, {} leases, {} members at revision {}{}",
        a.out.display(),
        s.keys,
        s.objects,
        s.undecoded,
        s.revisions,
        s.leases,
        s.members,
        s.read_revision,
        if a.tables.wal.is_some() { format!("; {} WAL entries", s.wal_entries) } else { String::new() }
    )?;
    Ok(warn_of(&s.notes))
}

pub fn run(a: &QueryArgs, out: &mut impl Write) -> CliResult {
    let format = match a.output.as_str() {
        f @ ("table" | "json" | "jsonl" | "csv") => f,
        other => return Err(CliError::Usage(format!("unknown output format {other:?}: table, json, jsonl or csv"))),
    };
    let decoder = a.tables.decoding.decoder_for(&a.tables.etcd_prefix)?;
    let source = Source::open(&a.src)?;
    let snap = Snapshot::open(&source)?;
    let mut bar = Bar::new();
    let tables = a.tables.options();
    let (conn, summary) = temporary_tables_summarised(&snap, &decoder, &tables, &mut |p| bar.update(p))?;
    drop(bar);
    let limits = RunOptions { cancel: tables.cancel.clone(), timeout: (a.timeout > 0).then(|| std::time::Duration::from_secs(a.timeout)) };
    let mut names: Vec<String> = Vec::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut first = true;
    let io = super::stdout_error;
    let mut sink = if format == "csv" { Sink::Csv(Box::new(csv::WriterBuilder::new().from_writer(&mut *out))) } else { Sink::Plain(&mut *out) };
    let ran = run_query(&conn, &a.sql, &limits, &mut |event| {
        let out = match (&mut sink, event) {
            (Sink::Csv(w), Event::Columns(cols)) => return csv_record(w, cols.iter().map(String::as_bytes)),
            (Sink::Csv(w), Event::Row(cells)) => return csv_record(w, cells.iter().map(text_cell).collect::<Vec<_>>().iter().map(String::as_bytes)),
            (Sink::Plain(out), event) => (out, event),
        };
        match out {
            (out, Event::Columns(cols)) => {
                names = cols.to_vec();
                match format {
                    "table" => rows.push(names.clone()),
                    // Only once the statement is accepted: a refused one prints nothing.
                    "json" => out.write_all(b"[").map_err(io)?,
                    _ => {}
                }
                return Ok(());
            }
            (_, Event::Row(cells)) if format == "table" => rows.push(cells.iter().map(table_cell).collect()),
            (out, Event::Row(cells)) => {
                let mut object = serde_json::Map::new();
                for (name, cell) in names.iter().zip(cells) {
                    object.insert(name.clone(), json_cell(cell));
                }
                let line = serde_json::Value::Object(object).to_string();
                if format == "json" {
                    out.write_all(if first { b"\n" } else { b",\n" }).map_err(io)?;
                }
                out.write_all(line.as_bytes()).map_err(io)?;
                if format == "jsonl" {
                    out.write_all(b"\n").map_err(io)?;
                }
            }
        }
        first = false;
        Ok(())
    });
    // What the CSV writer still buffers is output so far too, even when the statement stopped.
    let flushed = match &mut sink {
        Sink::Csv(w) => w.flush(),
        Sink::Plain(_) => Ok(()),
    };
    drop(sink);
    match ran {
        Err(etcdscope::Error::TimedOut { limit, .. }) => {
            return Err(CliError::Usage(format!("SQL: the statement ran longer than --timeout {} s and was stopped (--timeout 0: no limit)", limit.as_secs())));
        }
        other => other?,
    };
    flushed?;
    match format {
        "json" => out.write_all(if first { b"]\n" } else { b"\n]\n" })?,
        "table" => out.write_all(table(&rows).as_bytes())?,
        _ => {}
    }
    Ok(warn_of(&summary.notes))
}

/// Prints what the tables do not show as stored (one warning each) on stderr: exit 1 if any.
fn warn_of(notes: &[String]) -> i32 {
    for n in notes {
        say!("etcdscope: warning: {n}");
    }
    if notes.is_empty() { EXIT_OK } else { EXIT_FINDINGS }
}

/// Where rows go: straight to the output, or through the CSV writer (which owns it meanwhile).
enum Sink<'o, W: Write> {
    Plain(&'o mut W),
    Csv(Box<csv::Writer<&'o mut W>>),
}

/// Writes one CSV record through the csv crate (RFC 4180: a field is quoted when it holds a
/// comma, a quote, CR or LF, quotes doubled; a record of one empty field is written `""`, so
/// that it is not read back as an empty line, which holds no field).
fn csv_record<'f, W: Write>(w: &mut csv::Writer<W>, fields: impl Iterator<Item = &'f [u8]>) -> etcdscope::Result<()> {
    w.write_record(fields).map_err(|e| match e.into_kind() {
        csv::ErrorKind::Io(e) => super::stdout_error(e),
        other => super::stdout_error(std::io::Error::other(format!("{other:?}"))),
    })
}

/// Blobs are base64 in JSON and CSV, as etcdctl writes keys and values in JSON.
fn blob(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn json_cell(c: &Cell) -> serde_json::Value {
    match c {
        Cell::Null => serde_json::Value::Null,
        Cell::Integer(v) => (*v).into(),
        Cell::Real(v) => serde_json::Number::from_f64(*v).map_or(serde_json::Value::Null, serde_json::Value::Number),
        Cell::Text(t) => t.clone().into(),
        Cell::Blob(b) => blob(b).into(),
    }
}

/// A cell as CSV and table text: NULL empty (as sqlite3 writes it; `-o jsonl` tells NULL from
/// an empty string), reals as JSON writes them (`1.5`, `1e100`), blobs in base64.
fn text_cell(c: &Cell) -> String {
    match c {
        Cell::Null => String::new(),
        Cell::Integer(v) => v.to_string(),
        Cell::Real(v) => serde_json::Number::from_f64(*v).map_or_else(|| if *v > 0.0 { "Inf".into() } else { "-Inf".into() }, |n| n.to_string()),
        Cell::Text(t) => t.clone(),
        Cell::Blob(b) => blob(b),
    }
}

/// A table cell: NULL shown as sqlite3 shows it (empty), text and blobs with control
/// characters and invalid UTF-8 escaped.
fn table_cell(c: &Cell) -> String {
    match c {
        Cell::Blob(b) => printable_key(b),
        Cell::Text(t) => printable_key(t.as_bytes()),
        other => text_cell(other),
    }
}
