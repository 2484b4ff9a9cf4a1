//! `etcdscope export sqlite` and `etcdscope query`: the keyspace as SQLite tables, written to a
//! file or queried once. Tables and example queries: docs/commands/export.md.

use super::progress::Bar;
use super::query_print::{Format, Printer, CELL_BYTES};
use super::{CliError, CliResult, EXIT_FINDINGS, EXIT_OK};
use clap::{Args, Subcommand};
use etcdscope::snapshot::Snapshot;
use etcdscope::source::Source;
use etcdscope::views::export::query::{run as run_query, temporary_tables_summarised, Event, RunOptions};
use etcdscope::views::export::{export_sqlite, ExportOptions};
use std::io::Write;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ExportCommand {
    /// Write the keyspace to a SQLite database: kv, objects, labels, annotations, owner_refs,
    /// leases, members, buckets, source (and revisions with --history).
    Sqlite(SqliteArgs),
    /// Write snapshots into one Parquet dataset that DuckDB, pyarrow, Spark and Trino read:
    /// the same tables, Hive-partitioned as DIR/<table>/cluster_id=<hex>/snapshot_revision=<rev>/.
    #[cfg(feature = "parquet")]
    Parquet(super::export_parquet::ParquetArgs),
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
        ExportOptions {
            history: self.history,
            revision: self.rev,
            etcd_prefix: self.etcd_prefix.clone(),
            wal: self.wal.clone(),
            cancel,
            other_inputs: Vec::new(),
        }
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
    /// Output format.
    #[arg(short = 'o', long, value_name = "FORMAT", value_enum, default_value_t = Format::Table)]
    output: Format,
    /// Stop the statement after this many seconds (0: no limit). Building the tables is not
    /// counted.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    timeout: u64,
    #[command(flatten)]
    tables: TableArgs,
}

pub fn run_export(command: &ExportCommand, out: &mut impl Write) -> CliResult {
    let a = match command {
        ExportCommand::Sqlite(a) => a,
        #[cfg(feature = "parquet")]
        ExportCommand::Parquet(a) => return super::export_parquet::run(a, out),
    };
    let decoder = a.tables.decoding.decoder_for(&a.tables.etcd_prefix)?;
    let source = Source::open(&a.src)?;
    let snap = Snapshot::open(&source)?;
    let options = ExportOptions { other_inputs: a.tables.decoding.input_files(&decoder), ..a.tables.options() };
    if options.history {
        announce_history(&snap, options.revision)?;
    }
    let mut bar = Bar::new();
    let s = export_sqlite(&snap, &decoder, &a.out, &options, a.force, &mut |p| bar.update(p))?;
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

/// `--history` can be most of the db: before the export starts, stderr says how many revisions
/// it retains (from the oldest entry of the `key` bucket to the read revision, no scan) and the
/// db's size, which bounds the bytes the `revisions` table will hold.
pub(super) fn announce_history(snap: &Snapshot<'_>, revision: i64) -> Result<(), CliError> {
    let store = snap.store();
    let rev = store.read_revision(revision)?;
    let first = store.first_revision.min(rev);
    let size = snap.source().file_size();
    eprintln!(
        "history: revisions {first}..{rev} ({} revisions; a transaction's writes share one) retained in a {} ({size} bytes) db; \
         the revisions table gets every entry",
        rev - first + 1,
        super::format::human_size(size)
    );
    Ok(())
}

pub fn run(a: &QueryArgs, out: &mut impl Write) -> CliResult {
    let format = a.output;
    let decoder = a.tables.decoding.decoder_for(&a.tables.etcd_prefix)?;
    let source = Source::open(&a.src)?;
    let snap = Snapshot::open(&source)?;
    let mut bar = Bar::new();
    let tables = a.tables.options();
    let (conn, summary) = temporary_tables_summarised(&snap, &decoder, &tables, &mut |p| bar.update(p))?;
    drop(bar);
    let limits = RunOptions { cancel: tables.cancel.clone(), timeout: (a.timeout > 0).then(|| std::time::Duration::from_secs(a.timeout)) };
    let mut printer = Printer::new(format, out, limits.stop());
    let ran = run_query(&conn, &a.sql, &limits, &mut |event| match event {
        Event::Columns(names) => printer.columns(names),
        Event::Row(cells) => printer.row(cells),
    });
    let cut = match ran {
        Ok(_) => printer.finish()?,
        Err(e) => {
            // What was printed so far is output too, even when the statement stopped.
            printer.abandon()?;
            return Err(match e {
                etcdscope::Error::TimedOut { limit, .. } => {
                    CliError::Usage(format!("SQL: the statement ran longer than --timeout {} s and was stopped (--timeout 0: no limit)", limit.as_secs()))
                }
                other => other.into(),
            });
        }
    };
    if cut > 0 {
        let cells = if cut == 1 { "cell" } else { "cells" };
        say!("etcdscope: note: {cut} {cells} longer than {CELL_BYTES} bytes cut in the table (…[+N bytes] counts the rest); -o jsonl, json or csv print whole values");
    }
    Ok(warn_of(&summary.notes))
}

/// Prints what the tables do not show as stored (one warning each) on stderr: exit 1 if any.
pub(super) fn warn_of(notes: &[String]) -> i32 {
    for n in notes {
        say!("etcdscope: warning: {n}");
    }
    if notes.is_empty() {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    }
}
