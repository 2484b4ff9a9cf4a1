//! The SQL side of etcdscope: `export sqlite`'s fill over generated backends (and WALs), and
//! `query` running the fuzzer's SQL over a small fixed export.
//!
//! `query`'s statements run with a time limit (the `--timeout` of the command) and every
//! string or blob is capped, so no statement can hang the harness or eat its memory; the fixed
//! export is made read-only again after every input, so one input cannot change what the next
//! one reads.

use super::recipe::Recipe;
use super::{bounded, decoder, etcd_builder, wal_builder, write_tree};
use etcdscope::cancel::Cancel;
use etcdscope::snapshot::Snapshot;
use etcdscope::source::Source;
use etcdscope::views::export::query::{run, temporary_tables, Cell, Event, RunOptions};
use etcdscope::views::export::{export_sqlite, ExportOptions};
use rusqlite::limits::Limit;
use rusqlite::Connection;
use std::path::PathBuf;
use std::time::Duration;

/// How long one fuzzed statement may run (AFL's own timeout is 2 s).
const STATEMENT_LIMIT: Duration = Duration::from_millis(250);

/// Rows a fuzzed statement may hand out before the harness stops reading them.
const ROW_LIMIT: usize = 2_000;

/// The largest string or blob a fuzzed statement may make.
const VALUE_LIMIT: i32 = 1 << 20;

/// SQL text read from an input (the fuzzer's bytes, lossily as UTF-8).
const SQL_LIMIT: usize = 16 << 10;

/// Every part of a result, read as the command's printers read it.
fn consume(event: Event<'_>, rows: &mut usize) -> etcdscope::Result<()> {
    match event {
        Event::Columns(names) => {
            let _ = names.iter().map(String::len).sum::<usize>();
        }
        Event::Row(cells) => {
            *rows += 1;
            if *rows > ROW_LIMIT {
                return Err(etcdscope::Error::Usage("enough rows".into()));
            }
            for c in cells {
                let _ = match c {
                    Cell::Null => 0,
                    Cell::Integer(v) => v.to_string().len(),
                    Cell::Real(v) => serde_json::Number::from_f64(*v).map_or(0, |n| n.to_string().len()),
                    Cell::Text(t) => t.len(),
                    Cell::Blob(b) => b.len(),
                };
            }
        }
    }
    Ok(())
}

/// Statements that read back what a fill wrote, as operators query it.
const READ_BACK: &[&str] = &[
    "SELECT * FROM kv ORDER BY key",
    "SELECT * FROM objects",
    "SELECT key, name, value FROM labels UNION ALL SELECT key, name, value FROM annotations",
    "SELECT * FROM owner_refs",
    "SELECT * FROM leases",
    "SELECT * FROM members",
    "SELECT * FROM buckets",
    "SELECT * FROM source",
    "SELECT * FROM pods_by_node",
    "SELECT * FROM revisions ORDER BY revision, sub",
    "SELECT * FROM churn_by_resource",
    "SELECT * FROM wal_entries",
    "SELECT * FROM wal_puts",
    "SELECT * FROM wal_damage",
];

/// A generated backend (sometimes truncated or with bytes flipped, sometimes with a member's WAL)
/// exported: into a file through `export sqlite`, or into `query`'s temporary database; every
/// table is then read back.
pub fn export_fill(data: &[u8]) {
    let mut r = Recipe::new(bounded(data));
    let start = r.below(4) as i64;
    let writes = etcd_builder::history_from_recipe(&mut r, start, 40);
    let mut file = etcd_builder::backend_file(&mut r, &writes);
    // Damage the fill must refuse, not panic on: a cut (the commonest damage) or a few bytes.
    match r.below(8) {
        0 => file.truncate(r.below(file.len() + 1)),
        1 => {
            for _ in 0..1 + r.below(4) {
                let at = r.below(file.len().max(1));
                if let Some(b) = file.get_mut(at) {
                    *b ^= r.u8() | 1;
                }
            }
        }
        _ => {}
    }
    let mut files: Vec<(PathBuf, Vec<u8>)> = vec![(PathBuf::from("member/snap/db"), file)];
    let with_wal = r.below(4) == 0;
    if with_wal {
        let member = wal_builder::member_from_recipe(&mut r);
        files.extend(member.wal.into_iter().map(|(name, bytes)| (PathBuf::from("member/wal").join(name), bytes)));
    }
    let borrowed: Vec<(PathBuf, &[u8])> = files.iter().map(|(p, b)| (p.clone(), b.as_slice())).collect();
    let Some(dir) = write_tree("export_fill", &borrowed) else { return };
    let Ok(source) = Source::open(dir.join("member/snap/db")) else { return };
    let Ok(snap) = Snapshot::open(&source) else { return };
    let options = ExportOptions {
        history: r.bool(),
        revision: r.below(6) as i64,
        etcd_prefix: r.pick(&["/registry", "/registry/", "registry", "/"]).to_string(),
        wal: with_wal.then(|| dir.join("member")),
        cancel: Cancel::default(),
        other_inputs: Vec::new(),
    };
    let decoder = decoder(r.bool());
    let conn = if r.bool() {
        let out = dir.join("out.sqlite");
        if export_sqlite(&snap, decoder, &out, &options, true, &mut |_| {}).is_err() {
            return;
        }
        match Connection::open(&out) {
            Ok(c) => c,
            Err(_) => return,
        }
    } else {
        match temporary_tables(&snap, decoder, &options, &mut |_| {}) {
            Ok(c) => c,
            Err(_) => return,
        }
    };
    for sql in READ_BACK {
        let mut rows = 0;
        let _ = run(&conn, sql, &RunOptions::default(), &mut |e| consume(e, &mut rows));
    }
}

/// The export every `query` input runs over: a fixed generated backend with objects, history
/// and leases, built once per thread and kept read-only.
fn fixed_export() -> Option<Connection> {
    let recipe: Vec<u8> = (0u32..700).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let mut r = Recipe::new(&recipe);
    let writes = etcd_builder::history_from_recipe(&mut r, 1, 48);
    let file = etcd_builder::backend_file(&mut r, &writes);
    let dir = write_tree("query", &[(PathBuf::from("db"), file.as_slice())])?;
    let source = Source::open(dir.join("db")).ok()?;
    let snap = Snapshot::open(&source).ok()?;
    let options = ExportOptions { history: true, ..Default::default() };
    let conn = temporary_tables(&snap, decoder(false), &options, &mut |_| {}).ok()?;
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, VALUE_LIMIT);
    Some(conn)
}

thread_local! {
    static FIXED: Option<Connection> = fixed_export();
}

/// The fuzzer's bytes as one SQL statement (or several, which must be refused), run by
/// `query`'s runner with a tight time limit over [`fixed_export`].
pub fn query(data: &[u8]) {
    let sql = String::from_utf8_lossy(&data[..data.len().min(SQL_LIMIT)]);
    FIXED.with(|conn| {
        let Some(conn) = conn else { return };
        // A statement may only read; one input's `PRAGMA query_only = 0` ends with it.
        if conn.pragma_update(None, "query_only", true).is_err() {
            return;
        }
        let mut rows = 0;
        let options = RunOptions { cancel: Cancel::default(), timeout: Some(STATEMENT_LIMIT) };
        let _ = run(conn, &sql, &options, &mut |e| consume(e, &mut rows));
    });
}
