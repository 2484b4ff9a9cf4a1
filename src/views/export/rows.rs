//! The rows of an export, whatever file they go to: one pass over a snapshot produces typed rows
//! and hands them to a [`Sink`]. `export sqlite` (and `query`) insert them into SQLite tables;
//! `export parquet` appends them to Parquet files. Both therefore hold the same rows by
//! construction, and each writer only decides how a row is stored.
//!
//! The pass: the buckets' space, every key at the read revision (objects decoded on worker
//! threads, handed over in key order), the time evidence per revision, every retained revision
//! with `--history`, the leases, the members, and last the `source` row (the trailer's SHA-256
//! is checked beside the rest and only its verdict waits for the end).

use crate::bolt::space::measure;
use crate::bolt::walk::TreeStats;
use crate::cancel::Cancel;
use crate::error::Result;
use crate::etcd::backend::describe_bucket;
use crate::etcd::members::Membership;
use crate::etcd::mvcc::RevisionEntry;
use crate::etcd::KeyRange;
use crate::k8s::decoder::{Decoded, Decoder};
use crate::k8s::envelope::{stored_encoding, PROTOBUF_MAGIC};
use crate::k8s::facts::{from_json_text, stored_facts, ObjectFacts, OwnerRef, Text, Wants};
use crate::k8s::key::{normalize_prefix, Catalog, Located};
use crate::snapshot::Snapshot;
use crate::views::parallel::ordered_map;
use crate::views::progress::{Counter, Progress};
pub use crate::views::timeline::RevisionTimes;
use rustc_hash::FxHashMap as HashMap;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::mpsc::sync_channel;

/// Revision times found ahead of the sink taking them.
const TIMES_QUEUED: usize = 1024;

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
    /// [`crate::Error::Interrupted`] at the next row, and nothing is left behind.
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

/// Where the rows of an export go, all on the caller's thread. Calls come in this order:
/// [`Sink::bucket`]s; [`Sink::key`]s in key order, with [`Sink::revision_time`]s in revision
/// order between them (found on another thread as the keys are); [`Sink::keys_done`]; the rest
/// of the revision times; [`Sink::revision`]s in revision order; [`Sink::lease`]s,
/// [`Sink::member`]s, then one [`Sink::source`].
pub trait Sink {
    fn bucket(&mut self, row: &BucketRow<'_>) -> Result<()>;
    /// A key at the read revision, and its object when the key is one.
    fn key(&mut self, kv: &KvRow<'_>, object: Option<&ObjectRow<'_>>) -> Result<()>;
    /// After the last [`Sink::key`]: a writer may put away what it holds for the keys' tables.
    fn keys_done(&mut self) -> Result<()> {
        Ok(())
    }
    fn revision_time(&mut self, row: &RevisionTimes) -> Result<()>;
    /// With [`ExportOptions::history`] only.
    fn revision(&mut self, row: &RevisionRow<'_>) -> Result<()>;
    fn lease(&mut self, row: &LeaseRow) -> Result<()>;
    fn member(&mut self, row: &MemberRow<'_>) -> Result<()>;
    fn source(&mut self, row: &SourceRow<'_>) -> Result<()>;
}

/// One bbolt bucket's space.
pub struct BucketRow<'r> {
    pub name: &'r [u8],
    pub description: &'static str,
    pub stats: &'r TreeStats,
}

impl BucketRow<'_> {
    pub fn pages(&self) -> u64 {
        let s = self.stats;
        s.branch_pages + s.leaf_pages + s.overflow_pages
    }
}

/// One key at the read revision.
pub struct KvRow<'r> {
    pub key: &'r [u8],
    /// The key as UTF-8, invalid bytes replaced (U+FFFD).
    pub key_text: &'r str,
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
    pub lease: i64,
    /// The stored bytes; `None` when withheld (a Secret's, without `--show-secrets`).
    pub value: Option<&'r [u8]>,
    pub value_size: i64,
    /// How the value is stored ([`stored_encoding`]).
    pub encoding: &'static str,
    pub redacted: bool,
}

/// The Kubernetes object a key holds: where the key puts it, and what its value says.
pub struct ObjectRow<'r> {
    pub key: &'r str,
    pub api_group: &'r str,
    pub api_version: Option<&'r str>,
    /// The stored kind, else the kind the catalog gives the resource.
    pub kind: Option<&'r str>,
    pub resource: &'r str,
    pub namespace: Option<&'r str>,
    pub name: &'r str,
    pub uid: Option<&'r str>,
    pub resource_version: i64,
    pub generation: Option<i64>,
    /// RFC 3339, as stored.
    pub creation_timestamp: Option<&'r str>,
    pub deletion_timestamp: Option<&'r str>,
    /// The controller, else the first owner.
    pub owner: Option<&'r OwnerRef<'r>>,
    pub node_name: Option<&'r str>,
    pub phase: Option<&'r str>,
    pub size: i64,
    /// How the object was decoded (`protobuf`, `json`, `cbor`, `encrypted`); `None` when it
    /// could not be.
    pub encoding: Option<&'static str>,
    /// The object as the API server shows it (a Secret's data redacted unless shown).
    pub object: Option<&'r str>,
    /// Why there is no `object`.
    pub error: Option<&'r str>,
    pub labels: &'r [(Text<'r>, Text<'r>)],
    pub annotations: &'r [(Text<'r>, Text<'r>)],
    pub owners: &'r [OwnerRef<'r>],
}

/// One retained entry of the `key` bucket (markers left out).
pub struct RevisionRow<'r> {
    pub revision: i64,
    pub sub: i64,
    pub key: &'r [u8],
    pub key_text: &'r str,
    /// `put` or `delete`.
    pub event: &'static str,
    pub version: i64,
    pub create_revision: i64,
    pub lease: i64,
    pub value_size: i64,
    /// `None` for a delete and for a withheld value.
    pub value: Option<&'r [u8]>,
    pub redacted: bool,
    /// The key's previous retained revision.
    pub prev_revision: Option<i64>,
    pub api_group: Option<&'r str>,
    pub resource: Option<&'r str>,
}

/// One lease etcd would hold, and how many keys at the read revision are attached to it.
pub struct LeaseRow {
    pub id: i64,
    pub granted_ttl: i64,
    pub remaining_ttl: i64,
    pub keys: u64,
}

/// A member, or the ID of a removed one (its other fields empty).
pub struct MemberRow<'r> {
    pub id: u64,
    pub name: &'r str,
    pub peer_urls: &'r [String],
    pub client_urls: &'r [String],
    pub learner: bool,
    pub removed: bool,
}

/// What was exported, from what, when.
pub struct SourceRow<'r> {
    pub input: String,
    pub kind: String,
    pub db_path: String,
    pub trailer: &'static str,
    pub revision: i64,
    pub read_revision: i64,
    pub compact_revision: i64,
    pub consistent_index: Option<u64>,
    pub term: Option<u64>,
    /// As etcd derives it from the member IDs ([`Membership::cluster_id`]).
    pub cluster_id: u64,
    pub page_size: u64,
    pub file_size: u64,
    pub history: bool,
    pub secrets_shown: bool,
    pub etcd_prefix: &'r str,
    /// Seconds since the Unix epoch.
    pub exported_at: i64,
}

/// Produces every row of `snap` into `sink` (the [`Sink`]'s order).
pub fn produce(
    sink: &mut dyn Sink,
    snap: &Snapshot<'_>,
    decoder: &Decoder,
    options: &ExportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ExportSummary> {
    let store = snap.store();
    let rev = store.read_revision(options.revision)?;
    let prefix = normalize_prefix(&options.etcd_prefix);
    let catalog = snap.catalog(decoder, &prefix)?;
    let source = snap.source();
    let membership = snap.membership()?;
    let pass = Pass { snap, decoder, catalog: &catalog, prefix: &prefix, options, rev, show_secrets: decoder.options.show_secrets };
    // The trailer check (SHA-256 of the whole file) shares nothing with the rest: it runs
    // beside the export and its verdict is written last.
    std::thread::scope(|scope| {
        // Without a thread for it (a pids limit), the trailer is checked after the rows.
        let trailer = std::thread::Builder::new().name("trailer".into()).spawn_scoped(scope, || source.verify_trailer()).ok();
        let summary = pass.rows(sink, &membership, progress)?;
        let trailer = match trailer {
            Some(thread) => thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            None => source.verify_trailer(),
        };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let meta = &store.meta;
        sink.source(&SourceRow {
            input: source.input.display().to_string(),
            kind: serde_json::to_value(source.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            db_path: source.db_path.display().to_string(),
            trailer: trailer.label(),
            revision: store.current_revision(),
            read_revision: rev,
            compact_revision: store.compact_revision(),
            consistent_index: meta.consistent_index,
            term: meta.term,
            cluster_id: membership.cluster_id(),
            page_size: snap.db().page_size() as u64,
            file_size: source.file_size(),
            history: options.history,
            secrets_shown: pass.show_secrets,
            etcd_prefix: &prefix,
            exported_at: i64::try_from(now.as_secs()).unwrap_or(i64::MAX),
        })?;
        Ok(summary)
    })
}

/// What every part of the pass reads.
struct Pass<'p, 'a> {
    snap: &'p Snapshot<'a>,
    decoder: &'p Decoder,
    catalog: &'p Catalog,
    prefix: &'p str,
    options: &'p ExportOptions,
    rev: i64,
    show_secrets: bool,
}

impl<'a> Pass<'_, 'a> {
    /// Every row but `source`.
    fn rows(&self, sink: &mut dyn Sink, membership: &Membership, progress: &mut dyn FnMut(Progress)) -> Result<ExportSummary> {
        let mut summary = ExportSummary { read_revision: self.rev, ..Default::default() };
        for b in &measure(self.snap.db())?.buckets {
            sink.bucket(&BucketRow { name: &b.name, description: describe_bucket(&b.name), stats: &b.stats })?;
        }
        let (lease_keys, times) = self.keys_and_times(sink, &mut summary, progress)?;
        summary.revision_times = times;
        if self.options.history {
            summary.revisions = self.revisions(sink, &mut summary.largest_value, progress)?;
        }
        self.options.cancel.check()?;

        let bucket = self.snap.lease_bucket()?;
        summary.notes.extend(bucket.notes.iter().map(|n| n.to_string()));
        for l in &bucket.leases {
            let keys = lease_keys.get(&l.id).copied().unwrap_or(0);
            sink.lease(&LeaseRow { id: l.id, granted_ttl: l.ttl, remaining_ttl: l.remaining_ttl, keys })?;
            summary.leases += 1;
        }
        summary.notes.extend(membership.damaged.iter().map(|d| format!("{d}; no row in `members`")));
        for m in &membership.members {
            let (peer_urls, client_urls) = (&m.peer_urls, &m.client_urls);
            sink.member(&MemberRow { id: m.id, name: &m.name, peer_urls, client_urls, learner: m.is_learner, removed: false })?;
            summary.members += 1;
        }
        for &id in &membership.removed {
            sink.member(&MemberRow { id, name: "", peer_urls: &[], client_urls: &[], learner: false, removed: true })?;
        }
        Ok(summary)
    }

    /// The keys at the read revision: decoded on the workers, handed over here in key order.
    /// Returns the keys attached to each lease.
    /// `between` is called after each key's rows.
    fn keys(
        &self,
        sink: &mut dyn Sink,
        summary: &mut ExportSummary,
        progress: &mut dyn FnMut(Progress),
        between: &mut dyn FnMut(&mut dyn Sink) -> Result<()>,
    ) -> Result<HashMap<i64, u64>> {
        let entries = self.snap.store().range(&KeyRange::all(), self.rev)?;
        let mut lease_keys: HashMap<i64, u64> = HashMap::default();
        let mut progress = Counter::new(progress, "keys", entries.len() as u64);
        let file = self.snap.file();
        let work = |entry: RevisionEntry<'a>| key_row(entry, file, self.decoder, self.catalog, self.prefix);
        ordered_map(entries, work, |row| {
            self.options.cancel.check()?;
            let row = row?;
            let key_text: &str = &row.key_text;
            let hidden = row.secret && !self.show_secrets;
            let json = row.object.as_ref().and_then(|o| o.json.as_deref());
            note(&mut summary.largest_value, &[row.key.len(), key_text.len(), row.value.len(), json.map_or(0, str::len)]);
            let kv = KvRow {
                key: row.key,
                key_text,
                create_revision: row.create_revision,
                mod_revision: row.mod_revision,
                version: row.version,
                lease: row.lease,
                value: (!hidden).then_some(row.value),
                value_size: row.value.len() as i64,
                encoding: row.encoding,
                redacted: hidden,
            };
            let object = row.object.as_ref().map(|o| o.row(key_text, kv.mod_revision, kv.value_size));
            sink.key(&kv, object.as_ref())?;
            if row.lease != 0 {
                *lease_keys.entry(row.lease).or_default() += 1;
            }
            summary.keys += 1;
            if let Some(o) = &row.object {
                summary.objects += 1;
                summary.undecoded += u64::from(o.error.is_some());
            }
            progress.step();
            between(sink)
        })?;
        Ok(lease_keys)
    }

    /// The keys' rows and, found beside them on a thread of its own, the time evidence of
    /// each revision up to the read one ([`crate::views::timeline`]): its rows reach the sink
    /// between key rows as they come (a bounded queue), the rest after the last key. Returns
    /// the keys attached to each lease and the revision times produced.
    fn keys_and_times(&self, sink: &mut dyn Sink, summary: &mut ExportSummary, progress: &mut dyn FnMut(Progress)) -> Result<(HashMap<i64, u64>, u64)> {
        std::thread::scope(|scope| {
            // Declared in here: returning early (an error) drops the receiver before the scope
            // joins the thread, which then stops at its next send.
            let (found, times) = sync_channel::<RevisionTimes>(TIMES_QUEUED);
            let finder = std::thread::Builder::new()
                .name("time-evidence".into())
                .spawn_scoped(scope, move || {
                    crate::views::timeline::revision_times_each(self.snap, self.decoder, self.prefix, self.rev, &self.options.cancel, &mut |r| {
                        Ok(if found.send(r).is_err() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
                    })
                })
                .map_err(|e| crate::Error::io(Path::new("<time evidence thread>"), e))?;
            let mut count = 0u64;
            let mut take = |sink: &mut dyn Sink, r: RevisionTimes| -> Result<()> {
                count += 1;
                sink.revision_time(&r)
            };
            let lease_keys = self.keys(sink, summary, progress, &mut |sink| {
                while let Ok(r) = times.try_recv() {
                    take(sink, r)?;
                }
                Ok(())
            })?;
            sink.keys_done()?;
            for r in times.iter() {
                take(sink, r)?;
            }
            finder.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            Ok((lease_keys, count))
        })
    }

    /// Every retained `key` bucket entry up to the read revision, markers left out.
    fn revisions(&self, sink: &mut dyn Sink, largest: &mut u64, progress: &mut dyn FnMut(Progress)) -> Result<u64> {
        let (store, file) = (self.snap.store(), self.snap.file());
        let since = |r: i64| u64::try_from(r.saturating_sub(store.first_revision)).unwrap_or(0) + 1;
        let mut progress = Counter::new(progress, "revisions", since(self.rev));
        let mut previous: HashMap<&[u8], i64> = HashMap::default();
        let mut count = 0u64;
        for entry in store.revisions(None, 0..=self.rev) {
            self.options.cancel.check()?;
            let entry = entry?;
            if entry.is_marker() {
                continue;
            }
            let kv = entry.kv(file)?;
            let located = self.catalog.locate(entry.key, self.prefix);
            let hidden = !entry.tombstone && !self.show_secrets && self.decoder.stored_secret(entry.key, kv.value);
            let (api_group, resource) = located.group_resource().map_or((None, None), |(g, r)| (Some(g), Some(r)));
            let prev_revision = previous.insert(entry.key, entry.main());
            let key_text = String::from_utf8_lossy(entry.key);
            note(largest, &[entry.key.len(), key_text.len(), kv.value.len()]);
            sink.revision(&RevisionRow {
                revision: entry.main(),
                sub: entry.sub(),
                key: entry.key,
                key_text: &key_text,
                event: if entry.tombstone { "delete" } else { "put" },
                version: kv.version,
                create_revision: kv.create_revision,
                lease: kv.lease,
                value_size: kv.value.len() as i64,
                value: (!hidden && !entry.tombstone).then_some(kv.value),
                redacted: hidden,
                prev_revision,
                api_group,
                resource,
            })?;
            count += 1;
            progress.set(since(entry.main()));
        }
        progress.set(since(self.rev));
        Ok(count)
    }
}

/// Raises `largest` ([`ExportSummary::largest_value`]) to the longest of a row's bulky columns
/// (keys, values, object JSON; every other column is derived from them and shorter).
pub(crate) fn note(largest: &mut u64, lengths: &[usize]) {
    let longest = lengths.iter().copied().max().unwrap_or(0) as u64;
    *largest = (*largest).max(longest);
}

/// One key at the read revision, as a worker thread prepared it.
struct KeyWork<'a> {
    key: &'a [u8],
    key_text: std::borrow::Cow<'a, str>,
    create_revision: i64,
    mod_revision: i64,
    version: i64,
    lease: i64,
    value: &'a [u8],
    encoding: &'static str,
    secret: bool,
    object: Option<ObjectWork<'a>>,
}

/// Where the key puts the object: borrowed from the key and the catalog, nothing copied.
struct ObjectWork<'a> {
    api_group: &'a str,
    resource: &'a str,
    kind_from_catalog: &'a str,
    namespace: Option<&'a str>,
    name: &'a str,
    encoding: Option<&'static str>,
    json: Option<String>,
    error: Option<String>,
    /// Read off the stored value (borrowing its strings).
    columns: ObjectFacts<'a>,
}

impl<'a> ObjectWork<'a> {
    fn row<'r>(&'r self, key: &'r str, resource_version: i64, size: i64) -> ObjectRow<'r>
    where
        'a: 'r,
    {
        let c = &self.columns;
        ObjectRow {
            key,
            api_group: self.api_group,
            api_version: c.api_version.as_deref(),
            kind: c.kind.as_deref().or(Some(self.kind_from_catalog).filter(|k| !k.is_empty())),
            resource: self.resource,
            namespace: self.namespace,
            name: self.name,
            uid: c.uid.as_deref(),
            resource_version,
            generation: c.generation,
            creation_timestamp: c.creation_timestamp.as_deref(),
            deletion_timestamp: c.deletion_timestamp.as_deref(),
            owner: c.main_owner(),
            node_name: c.node_name.as_deref(),
            phase: c.phase.as_deref(),
            size,
            encoding: self.encoding,
            object: self.json.as_deref(),
            error: self.error.as_deref(),
            labels: &c.labels,
            annotations: &c.annotations,
            owners: &c.owners,
        }
    }
}

/// The row of one key (and, if it is an object, the object's row).
fn key_row<'a>(entry: RevisionEntry<'a>, file: &std::sync::Arc<Path>, decoder: &Decoder, catalog: &'a Catalog, prefix: &str) -> Result<KeyWork<'a>> {
    let kv = entry.kv(file)?;
    let located = catalog.locate(kv.key, prefix);
    // A decoded object says whether it is a Secret's; any other value is asked.
    let mut decoded_secret = None;
    let object = located.group_resource().map(|(group, resource)| {
        let kind_from_catalog = match located {
            Located::Object { info, .. } => info.kind.as_str(),
            _ => "",
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
        ObjectWork {
            api_group: group,
            resource,
            kind_from_catalog,
            namespace: located.namespace(),
            name: located.name().unwrap_or_default(),
            encoding,
            json,
            error,
            columns,
        }
    });
    Ok(KeyWork {
        key: entry.key,
        key_text: String::from_utf8_lossy(entry.key),
        create_revision: kv.create_revision,
        mod_revision: kv.mod_revision,
        version: kv.version,
        lease: kv.lease,
        value: kv.value,
        encoding: stored_encoding(kv.value),
        secret: decoded_secret.unwrap_or_else(|| decoder.stored_secret(kv.key, kv.value)),
        object,
    })
}
