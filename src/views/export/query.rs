//! `query`: the export's tables built in a private temporary database, one SQL statement run
//! over them, its rows handed out one at a time.
//!
//! The statement runs under a watchdog: a cancelled token or the time limit stops it even
//! while SQLite computes without returning a row (a recursive CTE that never ends). Exactly one
//! statement is run: SQL holding a second one is refused rather than cut short.
//!
//! Nothing here grows with the result: rows are handed out one at a time, their values borrowed
//! from SQLite, and no string or blob a statement makes may be longer than [`VALUE_LIMIT`]
//! (SQLite's `SQLITE_LIMIT_LENGTH`, raised to the longest value stored in the tables, so that
//! every stored value stays readable): `zeroblob(1e9)` is refused before SQLite allocates it.

use super::{bulk_load_pragmas, fill, sql_error, ExportOptions, ExportSummary, Progress, Watchdog};
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::k8s::decoder::Decoder;
use crate::snapshot::Snapshot;
use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use std::path::Path;
use std::time::{Duration, Instant};

/// One value of a result row, borrowed from SQLite while the row is handed out. Text is SQLite's
/// bytes as stored (usually UTF-8, but nothing makes it so).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'r> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'r [u8]),
    Blob(&'r [u8]),
}

/// The longest string or blob a statement may make, in bytes (64 MiB): far above any value etcd
/// stores (its requests are 1.5 MiB by default), far below what would exhaust memory. A value
/// stored in the tables is longer than this only in a db made by hand; the limit then rises to
/// it ([`temporary_tables`]).
pub const VALUE_LIMIT: u64 = 64 << 20;

/// The `SQLITE_LIMIT_LENGTH` for tables whose longest stored value is `largest` bytes.
pub fn value_limit(largest: u64) -> i32 {
    i32::try_from(largest.max(VALUE_LIMIT)).unwrap_or(i32::MAX)
}

/// The tables of `snap` in a private temporary database (on disk, deleted when dropped: a
/// large keyspace does not have to fit in memory).
pub fn temporary_tables(snap: &Snapshot<'_>, decoder: &Decoder, options: &ExportOptions, progress: &mut dyn FnMut(Progress)) -> Result<Connection> {
    Ok(temporary_tables_summarised(snap, decoder, options, progress)?.0)
}

/// [`temporary_tables`], with what filling them wrote and read around ([`ExportSummary::notes`]).
pub fn temporary_tables_summarised(
    snap: &Snapshot<'_>,
    decoder: &Decoder,
    options: &ExportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<(Connection, ExportSummary)> {
    let name = Path::new("<temporary database>");
    // An empty file name: SQLite's private temporary database, removed when closed.
    let conn = Connection::open("").map_err(|e| sql_error(name, e))?;
    bulk_load_pragmas(&conn).map_err(|e| sql_error(name, e))?;
    let watchdog = Watchdog::start(&conn, &options.cancel, None)?;
    let summary = fill(&conn, snap, decoder, options, name, progress)?;
    drop(watchdog);
    // The user's SQL reads these tables: nothing else is attached to them.
    conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0);
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, value_limit(summary.largest_value));
    Ok((conn, summary))
}

/// What a running query hands out: its column names once, then each row in order.
pub enum Event<'e> {
    Columns(&'e [String]),
    Row(&'e [Cell<'e>]),
}

/// How a statement may be stopped.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Cancelled to stop the statement: [`Error::Interrupted`].
    pub cancel: Cancel,
    /// Stop the statement once it has run this long: [`Error::TimedOut`]. `None`: no limit.
    pub timeout: Option<Duration>,
}

impl RunOptions {
    /// The stop conditions of a run starting now, for work a visitor does between rows (writing
    /// one long value to a slow reader): the statement itself is checked by [`run`].
    pub fn stop(&self) -> Stop {
        Stop { cancel: self.cancel.clone(), started: Instant::now(), limit: self.timeout }
    }
}

/// A run's token and time limit, checked between rows and inside long work on one row.
#[derive(Debug, Clone)]
pub struct Stop {
    cancel: Cancel,
    started: Instant,
    limit: Option<Duration>,
}

impl Stop {
    /// [`Error::Interrupted`] once the token is cancelled, [`Error::TimedOut`] once the limit
    /// has passed.
    pub fn check(&self) -> Result<()> {
        self.cancel.check()?;
        match self.limit {
            Some(limit) if self.started.elapsed() >= limit => Err(Error::TimedOut { what: "the statement".into(), limit }),
            _ => Ok(()),
        }
    }
}

/// Runs one SQL statement, handing its columns and rows to `visit`; returns the number of rows.
/// SQL with more than one statement (a trailing `;` and comments are fine) is refused unrun.
///
/// The token and the time limit are checked before every row as well as by the watchdog, so a
/// statement whose rows come quickly is stopped between them too (a visitor printing to a slow
/// reader).
pub fn run(conn: &Connection, sql: &str, options: &RunOptions, visit: &mut dyn FnMut(Event<'_>) -> Result<()>) -> Result<u64> {
    let refuse = |e: rusqlite::Error| refusal(conn, e);
    let mut stmt = one_statement(conn, sql)?;
    let names: Vec<String> = stmt.column_names().into_iter().map(str::to_string).collect();
    visit(Event::Columns(&names))?;
    let stop = options.stop();
    let watchdog = Watchdog::start(conn, &options.cancel, options.timeout)?;
    let stopped = |e: rusqlite::Error| watchdog.explain("the statement", e, refuse);
    let mut rows = stmt.query([]).map_err(stopped)?;
    let mut n = 0;
    while let Some(r) = rows.next().map_err(stopped)? {
        stop.check()?;
        let cells = (0..names.len())
            .map(|i| {
                Ok(match r.get_ref(i).map_err(refuse)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(v) => Cell::Integer(v),
                    ValueRef::Real(v) => Cell::Real(v),
                    ValueRef::Text(t) => Cell::Text(t),
                    ValueRef::Blob(b) => Cell::Blob(b),
                })
            })
            .collect::<Result<Vec<Cell<'_>>>>()?;
        visit(Event::Row(&cells))?;
        n += 1;
    }
    Ok(n)
}

/// A statement SQLite refused or failed, as a usage error; a value over the length limit says
/// what the limit is and what to do instead.
fn refusal(conn: &Connection, e: rusqlite::Error) -> Error {
    if e.sqlite_error_code() != Some(rusqlite::ErrorCode::TooBig) {
        return Error::Usage(format!("SQL: {e}"));
    }
    let limit = conn.limit(Limit::SQLITE_LIMIT_LENGTH);
    let limit = if i64::from(limit) == VALUE_LIMIT as i64 { "64 MiB".to_string() } else { format!("{limit} bytes (the longest value stored in the tables)") };
    Error::Usage(format!(
        "SQL: {e}: a string or blob in a query may be at most {limit}; select length() or substr() of it, or write the tables with `export sqlite` and query the file with sqlite3"
    ))
}

/// The one statement of `sql`, prepared. SQLite prepares the first statement of a text and
/// leaves the rest alone, so `A; B` would silently run only A: the rest must hold nothing but
/// semicolons, blanks and comments (SQLite's own parser decides, through rusqlite's `Batch`).
fn one_statement<'c>(conn: &'c Connection, sql: &str) -> Result<rusqlite::Statement<'c>> {
    let refuse = |e: rusqlite::Error| refusal(conn, e);
    let mut batch = rusqlite::Batch::new(conn, sql);
    let Some(first) = batch.next().map_err(refuse)? else {
        return Err(Error::Usage("SQL: no statement given".into()));
    };
    if !matches!(batch.next(), Ok(None)) {
        return Err(Error::Usage("SQL: more than one statement given; query runs exactly one (a trailing ';' and comments are fine)".into()));
    }
    Ok(first)
}
