//! `query`: the export's tables built in a private temporary database, one SQL statement run
//! over them, its rows handed out one at a time.

use super::{bulk_load_pragmas, fill, sql_error, ExportOptions, Progress};
use crate::error::{Error, Result};
use crate::k8s::decoder::Decoder;
use crate::snapshot::Snapshot;
use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use std::path::Path;

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
    let name = Path::new("<temporary database>");
    // An empty file name: SQLite's private temporary database, removed when closed.
    let conn = Connection::open("").map_err(|e| sql_error(name, e))?;
    bulk_load_pragmas(&conn).map_err(|e| sql_error(name, e))?;
    fill(&conn, snap, decoder, options, name, progress)?;
    // The user's SQL reads these tables: nothing else is attached to them.
    conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0);
    Ok(conn)
}

/// What a running query hands out: its column names once, then each row in order.
pub enum Event<'e> {
    Columns(&'e [String]),
    Row(&'e [Cell]),
}

/// Runs one SQL statement, handing its columns and rows to `visit`; returns the number of rows.
pub fn run(conn: &Connection, sql: &str, visit: &mut dyn FnMut(Event<'_>) -> Result<()>) -> Result<u64> {
    let refuse = |e: rusqlite::Error| Error::Usage(format!("SQL: {e}"));
    let mut stmt = conn.prepare(sql).map_err(refuse)?;
    let names: Vec<String> = stmt.column_names().into_iter().map(str::to_string).collect();
    visit(Event::Columns(&names))?;
    let mut rows = stmt.query([]).map_err(refuse)?;
    let mut n = 0;
    let mut cells = Vec::with_capacity(names.len());
    while let Some(r) = rows.next().map_err(refuse)? {
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
