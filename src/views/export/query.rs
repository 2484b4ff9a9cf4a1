//! `query`: the export's tables built in a private temporary database, one SQL statement run
//! over them, its rows handed out one at a time.
//!
//! The statement runs under a [`Watchdog`]: a cancelled token or the time limit stops it even
//! while SQLite computes without returning a row (a recursive CTE that never ends). Exactly one
//! statement is run: SQL holding a second one is refused rather than cut short.

use super::{bulk_load_pragmas, fill, sql_error, ExportOptions, ExportSummary, Progress, Watchdog};
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::k8s::decoder::Decoder;
use crate::snapshot::Snapshot;
use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

/// One value of a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// The tables of `snap` in a private temporary database (on disk, deleted when dropped: a
/// large keyspace does not have to fit in memory).
pub fn temporary_tables(snap: &Snapshot<'_>, decoder: &Decoder, options: &ExportOptions, progress: &mut dyn FnMut(Progress)) -> Result<Connection> {
    Ok(temporary_tables_summarised(snap, decoder, options, progress)?.0)
}

/// [`temporary_tables`], with what filling them wrote and read around ([`ExportSummary::notes`]).
pub fn temporary_tables_summarised(snap: &Snapshot<'_>, decoder: &Decoder, options: &ExportOptions, progress: &mut dyn FnMut(Progress)) -> Result<(Connection, ExportSummary)> {
    let name = Path::new("<temporary database>");
    // An empty file name: SQLite's private temporary database, removed when closed.
    let conn = Connection::open("").map_err(|e| sql_error(name, e))?;
    bulk_load_pragmas(&conn).map_err(|e| sql_error(name, e))?;
    let watchdog = Watchdog::start(&conn, &options.cancel, None)?;
    let summary = fill(&conn, snap, decoder, options, name, progress)?;
    drop(watchdog);
    // The user's SQL reads these tables: nothing else is attached to them.
    conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0);
    Ok((conn, summary))
}

/// What a running query hands out: its column names once, then each row in order.
pub enum Event<'e> {
    Columns(&'e [String]),
    Row(&'e [Cell]),
}

/// How a statement may be stopped.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Cancelled to stop the statement: [`Error::Interrupted`].
    pub cancel: Cancel,
    /// Stop the statement once it has run this long: [`Error::TimedOut`]. `None`: no limit.
    pub timeout: Option<Duration>,
}

/// Runs one SQL statement, handing its columns and rows to `visit`; returns the number of rows.
/// SQL with more than one statement (a trailing `;` and comments are fine) is refused unrun.
pub fn run(conn: &Connection, sql: &str, options: &RunOptions, visit: &mut dyn FnMut(Event<'_>) -> Result<()>) -> Result<u64> {
    let refuse = |e: rusqlite::Error| Error::Usage(format!("SQL: {e}"));
    let mut stmt = one_statement(conn, sql)?;
    let names: Vec<String> = stmt.column_names().into_iter().map(str::to_string).collect();
    visit(Event::Columns(&names))?;
    let watchdog = Watchdog::start(conn, &options.cancel, options.timeout)?;
    let stopped = |e: rusqlite::Error| watchdog.explain("the statement", e, refuse);
    let mut rows = stmt.query([]).map_err(stopped)?;
    let mut n = 0;
    let mut cells = Vec::with_capacity(names.len());
    while let Some(r) = rows.next().map_err(stopped)? {
        options.cancel.check()?;
        cells.clear();
        for i in 0..names.len() {
            cells.push(match r.get_ref(i).map_err(refuse)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(v) => Cell::Integer(v),
                ValueRef::Real(v) => Cell::Real(v),
                ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
            });
        }
        visit(Event::Row(&cells))?;
        n += 1;
    }
    Ok(n)
}

/// The one statement of `sql`, prepared. SQLite prepares the first statement of a text and
/// leaves the rest alone, so `A; B` would silently run only A: the rest must hold nothing but
/// semicolons, blanks and comments (SQLite's own parser decides, through rusqlite's `Batch`).
fn one_statement<'c>(conn: &'c Connection, sql: &str) -> Result<rusqlite::Statement<'c>> {
    let refuse = |e: rusqlite::Error| Error::Usage(format!("SQL: {e}"));
    let mut batch = rusqlite::Batch::new(conn, sql);
    let Some(first) = batch.next().map_err(refuse)? else {
        return Err(Error::Usage("SQL: no statement given".into()));
    };
    if !matches!(batch.next(), Ok(None)) {
        return Err(Error::Usage("SQL: more than one statement given; query runs exactly one (a trailing ';' and comments are fine)".into()));
    }
    Ok(first)
}
