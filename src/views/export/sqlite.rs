//! The SQLite database file of `export sqlite`: written beside its target and renamed into
//! place whole; and the SQLite plumbing `query` shares (errors, the interrupting watchdog, the
//! bulk-load settings).

use super::{fill, ExportOptions, ExportSummary, Progress};
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::k8s::decoder::Decoder;
use crate::snapshot::Snapshot;
use rusqlite::Connection;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A SQLite failure while writing or querying `path`, as a library error. A statement SQLite
/// reports interrupted was stopped by a [`Watchdog`] for a cancelled token (a watchdog with a
/// time limit says itself which of the two it was: [`Watchdog::stopped`]).
pub(crate) fn sql_error(path: &Path, e: rusqlite::Error) -> Error {
    if is_interrupt(&e) {
        return Error::Interrupted;
    }
    Error::Output { path: path.to_path_buf(), what: format!("SQLite: {e}") }
}

/// Whether SQLite stopped a statement because `sqlite3_interrupt` was called.
pub(crate) fn is_interrupt(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted)
}

/// How often a [`Watchdog`] looks at its token and its clock.
const WATCH_EVERY: Duration = Duration::from_millis(20);

/// Stops the statements of one connection when a token is cancelled or a time limit passes.
///
/// SQLite runs a statement inside one call (`sqlite3_step`) that returns only with a row or the
/// end: a loop checking a token between rows never runs while a statement computes (a recursive
/// CTE, a sort) for minutes. SQLite's own way out is `sqlite3_interrupt`, which may be called
/// from another thread; so a small thread polls the token and the clock and calls it, and the
/// statement ends with SQLITE_INTERRUPT at its next step. The thread ends when this is dropped.
pub(crate) struct Watchdog {
    stop: Option<Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    cancel: Cancel,
    limit: Option<Duration>,
    timed_out: Arc<AtomicBool>,
}

impl Watchdog {
    /// Watches `conn` for `cancel` and, when given, a `limit` counted from now.
    pub(crate) fn start(conn: &Connection, cancel: &Cancel, limit: Option<Duration>) -> Result<Watchdog> {
        let handle = conn.get_interrupt_handle();
        // A limit too far away to represent is no limit.
        let deadline = limit.and_then(|l| Instant::now().checked_add(l));
        let timed_out = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = channel::<()>();
        let (token, late) = (cancel.clone(), timed_out.clone());
        let thread = std::thread::Builder::new()
            .name("sql-watchdog".into())
            .spawn(move || loop {
                match stopped.recv_timeout(WATCH_EVERY) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    late.store(true, Ordering::Relaxed);
                }
                // Called again at every tick: a statement started after the first call is
                // stopped too (SQLite forgets an interrupt once no statement is running).
                if late.load(Ordering::Relaxed) || token.is_cancelled() {
                    handle.interrupt();
                }
            })
            .map_err(|e| Error::io(Path::new("<SQLite watchdog thread>"), e))?;
        Ok(Watchdog { stop: Some(stop), thread: Some(thread), cancel: cancel.clone(), limit, timed_out })
    }

    /// Why a statement SQLite reported interrupted was stopped: its time limit (`what` names
    /// the work in the error) or the token.
    pub(crate) fn stopped(&self, what: &str) -> Error {
        match self.limit {
            Some(limit) if self.timed_out.load(Ordering::Relaxed) => Error::TimedOut { what: what.to_string(), limit },
            _ => Error::Interrupted,
        }
    }

    /// [`Watchdog::stopped`] for an interrupted statement; any other failure as `other` says.
    pub(crate) fn explain(&self, what: &str, e: rusqlite::Error, other: impl FnOnce(rusqlite::Error) -> Error) -> Error {
        if is_interrupt(&e) && (self.cancel.is_cancelled() || self.timed_out.load(Ordering::Relaxed)) {
            self.stopped(what)
        } else {
            other(e)
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
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
/// export leaves no `out`. An existing `out` is refused unless `force`; with it, only a regular
/// file that is none of the export's inputs is replaced ([`crate::output::refuse_existing`],
/// [`crate::output::refuse_input`]). Errors name `out`, not the temporary.
pub fn export_sqlite(
    snap: &Snapshot<'_>,
    decoder: &Decoder,
    out: &Path,
    options: &ExportOptions,
    force: bool,
    progress: &mut dyn FnMut(Progress),
) -> Result<ExportSummary> {
    crate::output::refuse_input(out, &inputs(snap, options))?;
    crate::output::refuse_existing(out, force)?;
    let tmp = crate::output::PendingFile::beside(out)?;
    let summary = export_sqlite_into(snap, decoder, &tmp, options, progress)?;
    tmp.commit(force)?;
    Ok(summary)
}

/// The export into `pending`, a temporary the caller made (before reading anything) and
/// commits: a caller writing several outputs renames them together (`salvage --export-sqlite`).
/// `pending` is left whole, not committed. Errors name the target, not the temporary.
pub fn export_sqlite_into(
    snap: &Snapshot<'_>,
    decoder: &Decoder,
    pending: &crate::output::PendingFile,
    options: &ExportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ExportSummary> {
    write_export(snap, decoder, pending.path(), options, progress).map_err(|e| pending.name_target(e))
}

/// The tables of `snap`, written to the (new) database file `path`.
fn write_export(snap: &Snapshot<'_>, decoder: &Decoder, path: &Path, options: &ExportOptions, progress: &mut dyn FnMut(Progress)) -> Result<ExportSummary> {
    let conn = Connection::open(path).map_err(|e| sql_error(path, e))?;
    bulk_load_pragmas(&conn).map_err(|e| sql_error(path, e))?;
    // The rows are checked against the token one by one; the index builds are SQL.
    let watchdog = Watchdog::start(&conn, &options.cancel, None)?;
    let summary = fill(&conn, snap, decoder, options, path, progress)?;
    drop(watchdog);
    conn.close().map_err(|(_, e)| sql_error(path, e))?;
    Ok(summary)
}

/// Every file an export reads: the input, the db read for it, the WAL's segments, and the
/// decoder's files the caller listed ([`ExportOptions::other_inputs`]).
fn inputs(snap: &Snapshot<'_>, options: &ExportOptions) -> Vec<std::path::PathBuf> {
    let source = snap.source();
    let mut read: Vec<std::path::PathBuf> = vec![source.input.clone(), source.db_path.to_path_buf()];
    if let Some(dir) = options.wal.as_deref().and_then(|w| crate::wal::segment::wal_dir(w).ok()) {
        read.extend(std::fs::read_dir(&dir).into_iter().flatten().flatten().map(|e| e.path()));
    }
    read.extend(options.other_inputs.iter().cloned());
    read
}
