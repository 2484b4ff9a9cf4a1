//! The SQLite tables of an export: [`fill`] creates them, inserts the rows of one pass
//! ([`super::rows`]) through a [`Sink`] of prepared statements, and builds the indexes.

use super::rows::{note, produce, BucketRow, KvRow, LeaseRow, MemberRow, ObjectRow, RevisionRow, RevisionTimes, Sink, SourceRow};
use super::schema::{HISTORY_INDEXES, HISTORY_TABLES, INDEXES, SCHEMA_VERSION, TABLES, WAL_INDEXES, WAL_TABLES};
use super::sql_error;
use super::{ExportOptions, ExportSummary};
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::k8s::decoder::Decoder;
use crate::snapshot::Snapshot;
use crate::views::progress::Progress;
use rusqlite::{params, Connection, Statement};
use std::path::Path;

/// Creates the tables in `conn` (a new, empty database) and fills them from `snap`, in one
/// transaction. `path` names the database in errors.
pub fn fill(
    conn: &Connection,
    snap: &Snapshot<'_>,
    decoder: &Decoder,
    options: &ExportOptions,
    path: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<ExportSummary> {
    let sql = |e| sql_error(path, e);
    conn.execute_batch("BEGIN").map_err(sql)?;
    conn.execute_batch(TABLES).map_err(sql)?;
    if options.history {
        conn.execute_batch(HISTORY_TABLES).map_err(sql)?;
    }
    if options.wal.is_some() {
        conn.execute_batch(WAL_TABLES).map_err(sql)?;
    }
    let summary = {
        let mut tables = Tables::new(conn, path, options, decoder.options.show_secrets)?;
        let mut summary = produce(&mut tables, snap, decoder, options, progress)?;
        if let Some(dir) = &options.wal {
            summary.wal_entries = wal_tables(conn, &tables, dir, decoder, &mut summary.largest_value, progress)?;
        }
        summary
    };
    options.cancel.check()?;
    conn.execute_batch(INDEXES).map_err(sql)?;
    if options.history {
        conn.execute_batch(HISTORY_INDEXES).map_err(sql)?;
    }
    if options.wal.is_some() {
        conn.execute_batch(WAL_INDEXES).map_err(sql)?;
    }
    conn.execute_batch("COMMIT").map_err(sql)?;
    Ok(summary)
}

/// The SQLite tables as a [`Sink`]: one prepared statement per table, inside the caller's
/// transaction.
struct Tables<'c> {
    path: &'c Path,
    show_secrets: bool,
    cancel: &'c Cancel,
    buckets: Statement<'c>,
    kv: Statement<'c>,
    kv_value: Statement<'c>,
    objects: Statement<'c>,
    object_json: Statement<'c>,
    labels: Statement<'c>,
    annotations: Statement<'c>,
    owners: Statement<'c>,
    revision_times: Statement<'c>,
    revisions: Option<Statement<'c>>,
    leases: Statement<'c>,
    members: Statement<'c>,
    source: Statement<'c>,
}

impl<'c> Tables<'c> {
    fn new(conn: &'c Connection, path: &'c Path, options: &'c ExportOptions, show_secrets: bool) -> Result<Tables<'c>> {
        let prepare = |sql: &str| conn.prepare(sql).map_err(|e| sql_error(path, e));
        Ok(Tables {
            path,
            show_secrets,
            cancel: &options.cancel,
            buckets: prepare("INSERT INTO buckets VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")?,
            // Row i of a values table belongs to row i of its rows table (both rowids count from 1).
            kv: prepare("INSERT INTO kv_rows VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?,
            kv_value: prepare("INSERT INTO kv_values VALUES (?1)")?,
            objects: prepare("INSERT INTO object_rows VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)")?,
            object_json: prepare("INSERT INTO object_json VALUES (?1)")?,
            labels: prepare("INSERT INTO labels VALUES (?1, ?2, ?3)")?,
            annotations: prepare("INSERT INTO annotations VALUES (?1, ?2, ?3)")?,
            owners: prepare("INSERT INTO owner_refs VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?,
            revision_times: prepare("INSERT INTO revision_times VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")?,
            revisions: if options.history {
                Some(prepare("INSERT INTO revisions VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)")?)
            } else {
                None
            },
            leases: prepare("INSERT INTO leases VALUES (?1, ?2, ?3, ?4, ?5)")?,
            members: prepare("INSERT INTO members VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?,
            source: prepare("INSERT INTO source VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)")?,
        })
    }

    fn sql(&self, e: rusqlite::Error) -> Error {
        sql_error(self.path, e)
    }
}

impl Sink for Tables<'_> {
    fn bucket(&mut self, b: &BucketRow<'_>) -> Result<()> {
        let st = b.stats;
        self.buckets
            .execute(params![
                String::from_utf8_lossy(b.name),
                b.description,
                st.keys as i64,
                st.branch_pages as i64,
                st.leaf_pages as i64,
                st.overflow_pages as i64,
                b.pages() as i64,
                st.allocated_bytes as i64,
                st.used_bytes as i64,
                st.inline
            ])
            .map_err(|e| sql_error(self.path, e))?;
        Ok(())
    }

    fn key(&mut self, kv: &KvRow<'_>, object: Option<&ObjectRow<'_>>) -> Result<()> {
        let sql = |e| sql_error(self.path, e);
        self.kv
            .execute(params![kv.key, kv.key_text, kv.create_revision, kv.mod_revision, kv.version, kv.lease, kv.value_size, kv.encoding, kv.redacted])
            .map_err(sql)?;
        self.kv_value.execute(params![kv.value]).map_err(sql)?;
        let Some(o) = object else { return Ok(()) };
        let owner = o.owner;
        self.objects
            .execute(params![
                o.key,
                o.api_group,
                o.api_version,
                o.kind,
                o.resource,
                o.namespace,
                o.name,
                o.uid,
                o.resource_version,
                o.generation,
                o.creation_timestamp,
                o.deletion_timestamp,
                owner.and_then(|o| o.kind.as_deref()),
                owner.and_then(|o| o.name.as_deref()),
                owner.and_then(|o| o.uid.as_deref()),
                o.node_name,
                o.phase,
                o.size,
                o.encoding,
                o.error,
            ])
            .map_err(sql)?;
        self.object_json.execute(params![o.object]).map_err(sql)?;
        for (name, value) in o.labels {
            self.labels.execute(params![o.key, name, value]).map_err(sql)?;
        }
        for (name, value) in o.annotations {
            self.annotations.execute(params![o.key, name, value]).map_err(sql)?;
        }
        for r in o.owners {
            self.owners
                .execute(params![o.key, r.api_version, r.kind, r.name, r.uid, r.controller.unwrap_or(false), r.block_owner_deletion.unwrap_or(false)])
                .map_err(sql)?;
        }
        Ok(())
    }

    fn revision_time(&mut self, r: &RevisionTimes) -> Result<()> {
        let unix_ns = |s: &crate::k8s::facts::Stamp| s.seconds.checked_mul(1_000_000_000).and_then(|n| n.checked_add(i64::from(s.nanos)));
        let (e, l) = (&r.earliest, &r.latest);
        self.revision_times
            .execute(params![
                r.revision,
                e.time.rfc3339(),
                unix_ns(&e.time),
                e.field.as_str(),
                String::from_utf8_lossy(&e.key),
                l.time.rfc3339(),
                unix_ns(&l.time),
                l.field.as_str(),
                String::from_utf8_lossy(&l.key),
                r.count,
                r.field_names().join(","),
            ])
            .map_err(|e| sql_error(self.path, e))?;
        Ok(())
    }

    fn revision(&mut self, r: &RevisionRow<'_>) -> Result<()> {
        let Some(insert) = self.revisions.as_mut() else { return Ok(()) };
        insert
            .execute(params![
                r.revision,
                r.sub,
                r.key,
                r.key_text,
                r.event,
                r.version,
                r.create_revision,
                r.lease,
                r.value_size,
                r.value,
                r.redacted,
                r.prev_revision,
                r.api_group,
                r.resource,
            ])
            .map_err(|e| sql_error(self.path, e))?;
        Ok(())
    }

    fn lease(&mut self, l: &LeaseRow) -> Result<()> {
        self.leases.execute(params![l.id, format!("{:016x}", l.id), l.granted_ttl, l.remaining_ttl, l.keys as i64]).map_err(|e| sql_error(self.path, e))?;
        Ok(())
    }

    fn member(&mut self, m: &MemberRow<'_>) -> Result<()> {
        self.members
            .execute(params![format!("{:x}", m.id), m.name, m.peer_urls.join(","), m.client_urls.join(","), m.learner, m.removed])
            .map_err(|e| sql_error(self.path, e))?;
        Ok(())
    }

    fn source(&mut self, s: &SourceRow<'_>) -> Result<()> {
        self.source
            .execute(params![
                s.input,
                s.kind,
                s.db_path,
                s.trailer,
                s.revision,
                s.read_revision,
                s.compact_revision,
                s.consistent_index.and_then(|i| i64::try_from(i).ok()),
                s.term.and_then(|t| i64::try_from(t).ok()),
                format!("{:x}", s.cluster_id),
                s.page_size as i64,
                i64::try_from(s.file_size).unwrap_or(i64::MAX),
                s.history,
                s.secrets_shown,
                s.etcd_prefix,
                crate::k8s::json::time::rfc3339(s.exported_at, None),
                env!("CARGO_PKG_VERSION"),
                SCHEMA_VERSION,
            ])
            .map_err(|e| sql_error(self.path, e))?;
        Ok(())
    }
}

/// The WAL tables: every entry (read past damage, which gets its own table), and every put in
/// the entries, decoded as `wal` decodes them. Returns the number of entries.
fn wal_tables(conn: &Connection, t: &Tables<'_>, dir: &Path, decoder: &Decoder, largest: &mut u64, progress: &mut dyn FnMut(Progress)) -> Result<u64> {
    use crate::views::wal::{read_reporting, Request, StoredValue, WalLine, WalQuery};
    use crate::wal::record::entry_type_name;
    use crate::wal::request::puts;
    let sql = |e| t.sql(e);
    let prepare = |q: &str| conn.prepare(q).map_err(sql);
    let mut entries = prepare("INSERT INTO wal_entries VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)")?;
    let mut put_rows = prepare("INSERT INTO wal_puts VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")?;
    let mut damage = prepare("INSERT INTO wal_damage VALUES (?1, ?2, ?3, ?4, ?5)")?;
    let query = WalQuery { best_effort: true, ..Default::default() };
    let mut count = 0u64;
    read_reporting(
        dir,
        &query,
        Some(decoder),
        &mut |line| {
            t.cancel.check()?;
            let e = match line {
                WalLine::Entry(e) => e,
                WalLine::Damage(d) => {
                    damage.execute(params![d.segment, d.offset as i64, d.record as i64, d.kind, d.what]).map_err(sql)?;
                    return Ok(());
                }
                _ => return Ok(()),
            };
            count += 1;
            let (op, (key, range_end)) = match &e.request {
                Request::V3 { request, .. } => (Some(crate::wal::request::v3_op(request)), named_key(request)),
                _ => (None, (None, None)),
            };
            let error = match &e.request {
                Request::Undecodable(why) => Some(why.as_str()),
                _ => None,
            };
            let (put_list, values): (Vec<&crate::etcd::pb::etcdserverpb::PutRequest>, &[StoredValue]) = match &e.request {
                Request::V3 { request, values, .. } => (puts(request), values),
                _ => (Vec::new(), &[]),
            };
            let single = match (put_list.as_slice(), values) {
                ([_], [StoredValue::Object { json, encoding }]) => Some((json.as_str(), *encoding)),
                _ => None,
            };
            let value_size: Option<i64> = (!put_list.is_empty()).then(|| put_list.iter().map(|p| p.value.len() as i64).sum());
            let key_text = key.map(String::from_utf8_lossy);
            note(
                largest,
                &[key.map_or(0, <[u8]>::len), key_text.as_ref().map_or(0, |k| k.len()), range_end.map_or(0, <[u8]>::len), single.map_or(0, |s| s.0.len())],
            );
            entries
                .execute(params![
                    e.at.segment,
                    e.at.offset as i64,
                    e.index as i64,
                    e.term as i64,
                    entry_type_name(e.entry_type),
                    e.class,
                    op,
                    e.committed,
                    e.in_db,
                    e.superseded,
                    key,
                    key_text,
                    range_end,
                    put_list.len() as i64,
                    value_size,
                    single.map(|s| s.0),
                    single.map(|s| s.1),
                    error,
                ])
                .map_err(sql)?;
            for (n, (p, v)) in put_list.iter().zip(values.iter().chain(std::iter::repeat(&StoredValue::Bytes))).enumerate() {
                let hidden = *v == StoredValue::SecretRedacted || (!t.show_secrets && decoder.stored_secret(&p.key, &p.value));
                let (object, encoding) = match v {
                    StoredValue::Object { json, encoding } => (Some(json.as_str()), Some(*encoding)),
                    StoredValue::Encrypted { .. } => (None, Some("encrypted")),
                    _ => (None, None),
                };
                let key_text = String::from_utf8_lossy(&p.key);
                note(largest, &[p.key.len(), key_text.len(), p.value.len(), object.map_or(0, str::len)]);
                put_rows
                    .execute(params![
                        e.index as i64,
                        e.term as i64,
                        n as i64,
                        p.key,
                        key_text,
                        p.lease,
                        p.value.len() as i64,
                        if hidden { None } else { Some(p.value.as_slice()) },
                        hidden,
                        object,
                        encoding,
                    ])
                    .map_err(sql)?;
            }
            Ok(())
        },
        progress,
    )?;
    Ok(count)
}

/// The key (and range end) a v3 request names: a put's or a delete's or a range's key, a txn's
/// first compare (or first put).
fn named_key(r: &crate::etcd::pb::etcdserverpb::InternalRaftRequest) -> (Option<&[u8]>, Option<&[u8]>) {
    fn end(e: &[u8]) -> Option<&[u8]> {
        Some(e).filter(|e| !e.is_empty())
    }
    if let Some(p) = &r.put {
        (Some(p.key.as_slice()), None)
    } else if let Some(d) = &r.delete_range {
        (Some(d.key.as_slice()), end(&d.range_end))
    } else if let Some(rr) = &r.range {
        (Some(rr.key.as_slice()), end(&rr.range_end))
    } else if let Some(t) = &r.txn {
        (t.compare.first().map(|c| c.key.as_slice()).or_else(|| crate::wal::request::puts(r).first().map(|p| p.key.as_slice())), None)
    } else {
        (None, None)
    }
}
