//! Filling an export's tables from a snapshot.

use super::schema::{HISTORY_INDEXES, HISTORY_TABLES, INDEXES, SCHEMA_VERSION, TABLES, WAL_INDEXES, WAL_TABLES};
use super::sql_error;
use crate::bolt::space::measure;
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::etcd::backend::describe_bucket;
use crate::etcd::members::Membership;
use crate::etcd::mvcc::RevisionEntry;
use crate::etcd::KeyRange;
use crate::k8s::decoder::{Decoded, Decoder};
use crate::k8s::envelope::{stored_encoding, PROTOBUF_MAGIC};
use crate::k8s::facts::{from_json_text, stored_facts, ObjectFacts, Wants};
use crate::k8s::key::{normalize_prefix, Catalog, Located};
use crate::snapshot::Snapshot;
use crate::views::parallel::ordered_map;
use crate::views::progress::{Counter, Progress};
use rusqlite::{params, Connection};
use rustc_hash::FxHashMap as HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Add the `revisions` table: every retained revision up to the read revision.
    pub history: bool,
    /// Read revision (0 = current).
    pub revision: i64,
    /// kube-apiserver's `--etcd-prefix`.
    pub etcd_prefix: String,
    /// A member's WAL (a data dir, member dir or WAL dir): `wal_entries`, `wal_puts`,
    /// `wal_damage`.
    pub wal: Option<std::path::PathBuf>,
    /// Cancelled (by a signal, a caller) to stop: the export ends with
    /// [`Error::Interrupted`] at the next row, and nothing is left behind.
    pub cancel: Cancel,
    /// Files read besides the snapshot and the WAL (the decoder's encryption config and .proto
    /// files): `export_sqlite` never writes over one of them, `--force` or not.
    pub other_inputs: Vec<std::path::PathBuf>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions { history: false, revision: 0, etcd_prefix: "/registry".into(), wal: None, cancel: Cancel::default(), other_inputs: Vec::new() }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    pub read_revision: i64,
    pub keys: u64,
    pub objects: u64,
    /// Objects whose value could not be decoded (their row has the reason, no JSON).
    pub undecoded: u64,
    pub revisions: u64,
    /// Rows of `revision_times`: revisions up to the read revision whose writes carry time
    /// evidence.
    pub revision_times: u64,
    pub leases: u64,
    pub members: u64,
    pub wal_entries: u64,
    /// The longest key, value or object JSON written to any table, in bytes: what a reader's
    /// `SQLITE_LIMIT_LENGTH` must allow for every stored value to stay readable.
    pub largest_value: u64,
    /// What the input holds that the tables do not show as stored, one sentence each with its
    /// page and offset: `lease` bucket entries etcd would not take as they are (the `leases`
    /// table has one row per lease etcd would have), `members` entries that could not be read
    /// (no row). The command line prints them as warnings and exits 1.
    pub notes: Vec<String>,
}

/// One key at the read revision, ready to insert (built on a worker thread).
struct KeyRow<'a> {
    entry: RevisionEntry<'a>,
    key_text: String,
    create_revision: i64,
    mod_revision: i64,
    version: i64,
    lease: i64,
    value: &'a [u8],
    encoding: &'static str,
    secret: bool,
    object: Option<ObjectRow<'a>>,
}

struct ObjectRow<'a> {
    api_group: String,
    resource: String,
    kind_from_catalog: String,
    namespace: Option<String>,
    name: String,
    encoding: Option<&'static str>,
    json: Option<String>,
    error: Option<String>,
    /// Read off the stored value (borrowing its strings).
    columns: ObjectFacts<'a>,
}

/// What every table writer needs: the connection (and the database's name for errors), how
/// keys are classified, whether Secrets are shown, when to stop.
struct Tables<'c> {
    conn: &'c Connection,
    path: &'c Path,
    catalog: &'c Catalog,
    prefix: &'c str,
    show_secrets: bool,
    options: &'c ExportOptions,
    /// [`ExportSummary::largest_value`] so far (atomic: the tables are shared with the decoding
    /// workers, which only read the catalog and prefix).
    largest: AtomicU64,
}

impl Tables<'_> {
    fn sql(&self, e: rusqlite::Error) -> Error {
        sql_error(self.path, e)
    }

    fn prepare(&self, sql: &str) -> Result<rusqlite::Statement<'_>> {
        self.conn.prepare(sql).map_err(|e| self.sql(e))
    }

    /// Whether the value stored at `key` is withheld: a Secret's ([`Decoder::stored_secret`]),
    /// unless Secrets are shown.
    fn hides(&self, decoder: &Decoder, key: &[u8], value: &[u8]) -> bool {
        !self.show_secrets && decoder.stored_secret(key, value)
    }

    /// Notes the lengths of the bulky columns of a row about to be inserted (keys, values,
    /// object JSON; every other column is derived from them and shorter).
    fn note(&self, lengths: &[usize]) {
        let longest = lengths.iter().copied().max().unwrap_or(0) as u64;
        self.largest.fetch_max(longest, Ordering::Relaxed);
    }
}

/// Creates the tables in `conn` (a new, empty database) and fills them from `snap`. `path`
/// names the database in errors.
pub fn fill<'a>(
    conn: &Connection,
    snap: &Snapshot<'a>,
    decoder: &Decoder,
    options: &ExportOptions,
    path: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<ExportSummary> {
    let sql = |e| sql_error(path, e);
    let store = snap.store();
    let rev = store.read_revision(options.revision)?;
    let prefix = normalize_prefix(&options.etcd_prefix);
    let catalog = snap.catalog(decoder, &prefix)?;
    let show_secrets = decoder.options.show_secrets;
    conn.execute_batch("BEGIN").map_err(sql)?;
    conn.execute_batch(TABLES).map_err(sql)?;
    if options.history {
        conn.execute_batch(HISTORY_TABLES).map_err(sql)?;
    }
    if options.wal.is_some() {
        conn.execute_batch(WAL_TABLES).map_err(sql)?;
    }
    let source = snap.source();
    // The trailer check (SHA-256 of the whole file) shares nothing with the rest: it runs
    // beside the export and its verdict is written last.
    let membership = snap.membership()?;
    let tables = Tables { conn, path, catalog: &catalog, prefix: &prefix, show_secrets, options, largest: AtomicU64::new(0) };
    std::thread::scope(|scope| {
        let trailer = scope.spawn(|| source.verify_trailer());
        let summary = fill_tables(&tables, snap, decoder, &membership, rev, progress)?;
        let trailer = trailer.join().expect("the trailer check does not panic");
        let exported_at = {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            crate::k8s::json::time::rfc3339(i64::try_from(now.as_secs()).unwrap_or(i64::MAX), None)
        };
        let meta = &store.meta;
        conn.execute(
            "INSERT INTO source VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            params![
                source.input.display().to_string(),
                serde_json::to_value(source.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
                source.db_path.display().to_string(),
                trailer.label(),
                store.current_revision(),
                rev,
                store.compact_revision(),
                meta.consistent_index.and_then(|i| i64::try_from(i).ok()),
                meta.term.and_then(|t| i64::try_from(t).ok()),
                format!("{:x}", membership.cluster_id()),
                snap.db().page_size() as i64,
                i64::try_from(source.file_size()).unwrap_or(i64::MAX),
                options.history,
                show_secrets,
                prefix,
                exported_at,
                env!("CARGO_PKG_VERSION"),
                SCHEMA_VERSION,
            ],
        )
        .map_err(sql)?;
        conn.execute_batch(INDEXES).map_err(sql)?;
        if options.history {
            conn.execute_batch(HISTORY_INDEXES).map_err(sql)?;
        }
        if options.wal.is_some() {
            conn.execute_batch(WAL_INDEXES).map_err(sql)?;
        }
        conn.execute_batch("COMMIT").map_err(sql)?;
        Ok(summary)
    })
}

/// Every table but `source`.
fn fill_tables<'a>(
    t: &Tables<'_>,
    snap: &Snapshot<'a>,
    decoder: &Decoder,
    membership: &Membership,
    rev: i64,
    progress: &mut dyn FnMut(Progress),
) -> Result<ExportSummary> {
    let sql = |e| t.sql(e);
    let (store, file, options) = (snap.store(), snap.file(), t.options);
    let mut summary = ExportSummary { read_revision: rev, ..Default::default() };
    {
        let space = measure(snap.db())?;
        let mut insert = t.prepare("INSERT INTO buckets VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")?;
        for b in &space.buckets {
            let st = &b.stats;
            let pages = st.branch_pages + st.leaf_pages + st.overflow_pages;
            insert
                .execute(params![
                    String::from_utf8_lossy(&b.name),
                    describe_bucket(&b.name),
                    st.keys as i64,
                    st.branch_pages as i64,
                    st.leaf_pages as i64,
                    st.overflow_pages as i64,
                    pages as i64,
                    st.allocated_bytes as i64,
                    st.used_bytes as i64,
                    st.inline
                ])
                .map_err(sql)?;
        }
    }

    // Keys at the read revision: decoded on the workers, inserted here in key order.
    let entries = store.range(&KeyRange::all(), rev)?;
    let mut lease_keys: HashMap<i64, u64> = HashMap::default();
    {
        // Row i of a values table belongs to row i of its rows table (both rowids count from 1).
        let mut kv = t.prepare("INSERT INTO kv_rows VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?;
        let mut kv_value = t.prepare("INSERT INTO kv_values VALUES (?1)")?;
        let mut objects =
            t.prepare("INSERT INTO object_rows VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)")?;
        let mut object_json = t.prepare("INSERT INTO object_json VALUES (?1)")?;
        let mut labels = t.prepare("INSERT INTO labels VALUES (?1, ?2, ?3)")?;
        let mut annotations = t.prepare("INSERT INTO annotations VALUES (?1, ?2, ?3)")?;
        let mut owners = t.prepare("INSERT INTO owner_refs VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?;
        let mut progress = Counter::new(&mut *progress, "keys", entries.len() as u64);
        let work = |entry: RevisionEntry<'a>| key_row(entry, file, decoder, t.catalog, t.prefix);
        ordered_map(entries, work, |row| {
            options.cancel.check()?;
            let row = row?;
            let key_text = &row.key_text;
            let hidden = row.secret && !t.show_secrets;
            t.note(&[row.entry.key.len(), key_text.len(), row.value.len(), row.object.as_ref().and_then(|o| o.json.as_ref()).map_or(0, String::len)]);
            kv.execute(params![
                row.entry.key,
                key_text,
                row.create_revision,
                row.mod_revision,
                row.version,
                row.lease,
                row.value.len() as i64,
                row.encoding,
                hidden,
            ])
            .map_err(sql)?;
            kv_value.execute(params![if hidden { None } else { Some(row.value) }]).map_err(sql)?;
            if row.lease != 0 {
                *lease_keys.entry(row.lease).or_default() += 1;
            }
            summary.keys += 1;
            if let Some(o) = row.object {
                let c = &o.columns;
                let owner = c.main_owner();
                objects
                    .execute(params![
                        key_text,
                        o.api_group,
                        c.api_version,
                        c.kind.as_deref().or(Some(o.kind_from_catalog.as_str()).filter(|k| !k.is_empty())),
                        o.resource,
                        o.namespace,
                        o.name,
                        c.uid,
                        row.mod_revision,
                        c.generation,
                        c.creation_timestamp,
                        c.deletion_timestamp,
                        owner.and_then(|o| o.kind.as_deref()),
                        owner.and_then(|o| o.name.as_deref()),
                        owner.and_then(|o| o.uid.as_deref()),
                        c.node_name,
                        c.phase,
                        row.value.len() as i64,
                        o.encoding,
                        o.error,
                    ])
                    .map_err(sql)?;
                object_json.execute(params![o.json]).map_err(sql)?;
                for (name, value) in &c.labels {
                    labels.execute(params![key_text, name, value]).map_err(sql)?;
                }
                for (name, value) in &c.annotations {
                    annotations.execute(params![key_text, name, value]).map_err(sql)?;
                }
                for r in &c.owners {
                    owners
                        .execute(params![
                            key_text,
                            r.api_version,
                            r.kind,
                            r.name,
                            r.uid,
                            r.controller.unwrap_or(false),
                            r.block_owner_deletion.unwrap_or(false)
                        ])
                        .map_err(sql)?;
                }
                summary.objects += 1;
                summary.undecoded += u64::from(o.error.is_some());
            }
            progress.step();
            Ok(())
        })?;
    }

    summary.revision_times = revision_times(t, snap, decoder, rev)?;
    if options.history {
        summary.revisions = revisions(t, snap, decoder, rev, progress)?;
    }
    if let Some(dir) = &options.wal {
        summary.wal_entries = wal_tables(t, dir, decoder, progress)?;
    }
    options.cancel.check()?;
    summary.largest_value = t.largest.load(Ordering::Relaxed);

    {
        let mut insert = t.prepare("INSERT INTO leases VALUES (?1, ?2, ?3, ?4, ?5)")?;
        let bucket = snap.lease_bucket()?;
        summary.notes.extend(bucket.notes.iter().map(|n| n.to_string()));
        for l in &bucket.leases {
            let keys = lease_keys.get(&l.id).copied().unwrap_or(0);
            insert.execute(params![l.id, format!("{:016x}", l.id), l.ttl, l.remaining_ttl, keys as i64]).map_err(sql)?;
            summary.leases += 1;
        }
    }
    {
        let mut insert = t.prepare("INSERT INTO members VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
        summary.notes.extend(membership.damaged.iter().map(|d| format!("{d}; no row in `members`")));
        for m in &membership.members {
            insert.execute(params![format!("{:x}", m.id), m.name, m.peer_urls.join(","), m.client_urls.join(","), m.is_learner, false]).map_err(sql)?;
            summary.members += 1;
        }
        for id in &membership.removed {
            insert.execute(params![format!("{id:x}"), "", "", "", false, true]).map_err(sql)?;
        }
    }

    Ok(summary)
}

/// The row of one key (and, if it is an object, the object's row).
fn key_row<'a>(entry: RevisionEntry<'a>, file: &std::sync::Arc<Path>, decoder: &Decoder, catalog: &Catalog, prefix: &str) -> Result<KeyRow<'a>> {
    let kv = entry.kv(file)?;
    let located = catalog.locate(kv.key, prefix);
    // A decoded object says whether it is a Secret's; any other value is asked.
    let mut decoded_secret = None;
    let object = located.group_resource().map(|(group, resource)| {
        let kind_from_catalog = match located {
            Located::Object { info, .. } => info.kind.clone(),
            _ => String::new(),
        };
        let (encoding, json, error, columns) = match decoder.decode_at(kv.key, kv.value, Some(kv.mod_revision)) {
            Decoded::Object { json, encoding, secret, .. } => {
                decoded_secret = Some(secret);
                let wants = Wants::for_resource(group, resource);
                // Plain protobuf is read off the wire; anything else (encrypted, JSON, CBOR) from
                // the text just rendered, so nothing is decrypted or converted twice. A Secret's
                // metadata is redacted in its rendering (kubectl's last-applied annotation holds
                // its data): its columns come from that, never from the stored bytes.
                let hidden_secret = secret && !decoder.options.show_secrets;
                let columns = if kv.value.starts_with(PROTOBUF_MAGIC) && !hidden_secret {
                    stored_facts(&decoder.schemas, kv.value, wants)
                } else {
                    from_json_text(json.as_str().as_bytes(), wants)
                };
                let columns = columns.unwrap_or_default();
                (Some(encoding), Some(json.into_string()), None, columns)
            }
            Decoded::Encrypted { provider, key_name, reason, .. } => {
                (Some("encrypted"), None, Some(format!("encrypted ({provider}, key {key_name}): {reason}")), ObjectFacts::default())
            }
            Decoded::Raw { reason } => (None, None, Some(reason), ObjectFacts::default()),
        };
        ObjectRow {
            api_group: group.to_string(),
            resource: resource.to_string(),
            kind_from_catalog,
            namespace: located.namespace().map(str::to_string),
            name: located.name().unwrap_or_default().to_string(),
            encoding,
            json,
            error,
            columns,
        }
    });
    Ok(KeyRow {
        create_revision: kv.create_revision,
        mod_revision: kv.mod_revision,
        version: kv.version,
        lease: kv.lease,
        value: kv.value,
        encoding: stored_encoding(kv.value),
        secret: decoded_secret.unwrap_or_else(|| decoder.stored_secret(kv.key, kv.value)),
        object,
        key_text: String::from_utf8_lossy(entry.key).into_owned(),
        entry,
    })
}

/// The `revision_times` table: per revision up to `rev`, the time evidence its writes set
/// ([`crate::views::timeline`]). Returns the rows written.
fn revision_times(t: &Tables<'_>, snap: &Snapshot<'_>, decoder: &Decoder, rev: i64) -> Result<u64> {
    let mut insert = t.prepare("INSERT INTO revision_times VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")?;
    let unix_ns = |s: &crate::k8s::facts::Stamp| s.seconds.checked_mul(1_000_000_000).and_then(|n| n.checked_add(i64::from(s.nanos)));
    let mut rows = 0u64;
    crate::views::timeline::revision_times_each(snap, decoder, t.prefix, rev, &t.options.cancel, &mut |r| {
        let (e, l) = (&r.earliest, &r.latest);
        insert
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
            .map_err(|e| t.sql(e))?;
        rows += 1;
        Ok(std::ops::ControlFlow::Continue(()))
    })?;
    Ok(rows)
}

/// The `revisions` table: every retained `key` bucket entry up to `rev`, markers left out.
fn revisions(t: &Tables<'_>, snap: &Snapshot<'_>, decoder: &Decoder, rev: i64, progress: &mut dyn FnMut(Progress)) -> Result<u64> {
    let (store, file) = (snap.store(), snap.file());
    let since = |r: i64| u64::try_from(r.saturating_sub(store.first_revision)).unwrap_or(0) + 1;
    let mut progress = Counter::new(progress, "revisions", since(rev));
    let mut insert = t.prepare("INSERT INTO revisions VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)")?;
    let mut previous: HashMap<&[u8], i64> = HashMap::default();
    let mut count = 0u64;
    for entry in store.revisions(None, 0..=rev) {
        t.options.cancel.check()?;
        let entry = entry?;
        if entry.is_marker() {
            continue;
        }
        let kv = entry.kv(file)?;
        let located = t.catalog.locate(entry.key, t.prefix);
        let hidden = !entry.tombstone && t.hides(decoder, entry.key, kv.value);
        let (group, resource) = located.group_resource().map_or((None, None), |(g, r)| (Some(g), Some(r)));
        let prev = previous.insert(entry.key, entry.main());
        let key_text = String::from_utf8_lossy(entry.key);
        t.note(&[entry.key.len(), key_text.len(), kv.value.len()]);
        insert
            .execute(params![
                entry.main(),
                entry.sub(),
                entry.key,
                key_text,
                if entry.tombstone { "delete" } else { "put" },
                kv.version,
                kv.create_revision,
                kv.lease,
                kv.value.len() as i64,
                if hidden || entry.tombstone { None } else { Some(kv.value) },
                hidden,
                prev,
                group,
                resource,
            ])
            .map_err(|e| t.sql(e))?;
        count += 1;
        progress.set(since(entry.main()));
    }
    progress.set(since(rev));
    Ok(count)
}

/// The WAL tables: every entry (read past damage, which gets its own table), and every put in
/// the entries, decoded as `wal` decodes them. Returns the number of entries.
fn wal_tables(t: &Tables<'_>, dir: &Path, decoder: &Decoder, progress: &mut dyn FnMut(Progress)) -> Result<u64> {
    use crate::views::wal::{read_reporting, Request, StoredValue, WalLine, WalQuery};
    use crate::wal::record::entry_type_name;
    use crate::wal::request::puts;
    let sql = |e| t.sql(e);
    let mut entries = t.prepare("INSERT INTO wal_entries VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)")?;
    let mut put_rows = t.prepare("INSERT INTO wal_puts VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")?;
    let mut damage = t.prepare("INSERT INTO wal_damage VALUES (?1, ?2, ?3, ?4, ?5)")?;
    let query = WalQuery { best_effort: true, ..Default::default() };
    let mut count = 0u64;
    read_reporting(
        dir,
        &query,
        Some(decoder),
        &mut |line| {
            t.options.cancel.check()?;
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
            t.note(&[key.map_or(0, <[u8]>::len), key_text.as_ref().map_or(0, |k| k.len()), range_end.map_or(0, <[u8]>::len), single.map_or(0, |s| s.0.len())]);
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
                let hidden = *v == StoredValue::SecretRedacted || t.hides(decoder, &p.key, &p.value);
                let (object, encoding) = match v {
                    StoredValue::Object { json, encoding } => (Some(json.as_str()), Some(*encoding)),
                    StoredValue::Encrypted { .. } => (None, Some("encrypted")),
                    _ => (None, None),
                };
                let key_text = String::from_utf8_lossy(&p.key);
                t.note(&[p.key.len(), key_text.len(), p.value.len(), object.map_or(0, str::len)]);
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
