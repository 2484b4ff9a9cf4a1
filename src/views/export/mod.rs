//! `export sqlite` and `query`: the keyspace as SQLite tables anyone can query (sqlite3,
//! Datasette, DuckDB). One pass over the keys at the read revision fills `kv` and, for keys that
//! are Kubernetes objects, `objects`, `labels`, `annotations` and `owner_refs`; objects are
//! decoded on worker threads while the calling thread inserts, in key order, inside one
//! transaction. `--history` adds every retained revision. Tables: [`schema`]; their meaning:
//! docs/commands/export.md.

mod load;
pub mod query;
pub mod rows;
pub mod schema;

pub use crate::views::progress::Progress;
pub use load::{fill, ExportOptions, ExportSummary};

use crate::error::{Error, Result};
use crate::k8s::decoder::Decoder;
use crate::snapshot::Snapshot;
use rusqlite::Connection;
use std::path::Path;

/// A SQLite failure while writing or querying `path`, as a library error.
pub(crate) fn sql_error(path: &Path, e: rusqlite::Error) -> Error {
    Error::Output { path: path.to_path_buf(), what: format!("SQLite: {e}") }
}

/// Settings for a database written once, start to end, by one connection: no journal, no
/// syncs (an interrupted export is discarded whole), a bounded page cache, pages large enough
/// for objects.
pub(crate) fn bulk_load_pragmas(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "PRAGMA page_size = 65536;
         PRAGMA journal_mode = OFF;
         PRAGMA synchronous = OFF;
         PRAGMA locking_mode = EXCLUSIVE;
         PRAGMA cache_size = -32768;
         PRAGMA temp_store = FILE;
         PRAGMA threads = 2;",
    )
}

/// Writes the export of `snap` to `out`: built in a temporary file beside it (mode 0600, as it
/// may hold Secrets) and renamed over `out` only when complete, so an interrupted or failed
/// export leaves no `out`. An existing `out` is refused unless `force`.
pub fn export_sqlite(snap: &Snapshot<'_>, decoder: &Decoder, out: &Path, options: &ExportOptions, force: bool, progress: &mut dyn FnMut(Progress)) -> Result<ExportSummary> {
    refuse_input_as_output(snap, options, out)?;
    crate::output::refuse_existing(out, force)?;
    let tmp = crate::output::PendingFile::beside(out)?;
    let summary = {
        let conn = Connection::open(tmp.path()).map_err(|e| sql_error(tmp.path(), e))?;
        bulk_load_pragmas(&conn).map_err(|e| sql_error(tmp.path(), e))?;
        let summary = fill(&conn, snap, decoder, options, tmp.path(), progress)?;
        conn.close().map_err(|(_, e)| sql_error(tmp.path(), e))?;
        summary
    };
    tmp.commit(force)?;
    Ok(summary)
}

/// OUT must not be a file the export reads (with `--force` it would be replaced): the input,
/// the db read for it, a WAL segment, or a path through a link to one of them.
fn refuse_input_as_output(snap: &Snapshot<'_>, options: &ExportOptions, out: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Ok(target) = std::fs::metadata(out) else { return Ok(()) };
    let source = snap.source();
    let mut read: Vec<std::path::PathBuf> = vec![source.input.clone(), source.db_path.to_path_buf()];
    if let Some(dir) = options.wal.as_deref().and_then(|w| crate::wal::segment::wal_dir(w).ok()) {
        read.extend(std::fs::read_dir(&dir).into_iter().flatten().flatten().map(|e| e.path()));
    }
    for path in &read {
        if std::fs::metadata(path).is_ok_and(|m| m.dev() == target.dev() && m.ino() == target.ino()) {
            return Err(Error::Usage(format!("{}: is an input ({}); write the export elsewhere", out.display(), path.display())));
        }
    }
    Ok(())
}
