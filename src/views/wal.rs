//! `wal`: every record of a WAL, decoded into typed lines (the raft entry, the etcd request in
//! it as etcd's own messages, and the Kubernetes objects its puts store, decoded), streamed one
//! at a time, and a summary; [`shown`] gives both as serializable views, and the command line
//! only chooses the format. Two passes over the segments (each read into memory in turn): the
//! first finds what only the end of the log can tell (the final commit index, entries a later
//! term overwrote), the second decodes and hands each record to the caller. Memory does not grow with the number of entries (the
//! first pass keeps only the overwrite points, one per leader change that dropped entries).

use crate::cancel::Cancel;
use crate::error::{Error, Location, Result};
use crate::etcd::pb::{etcdserverpb, raftpb};
use crate::k8s::decoder::{Decoded, Decoder, ObjectJson};
use crate::views::progress::{self, Counter, Progress};
use crate::wal::frame::{DamageKind, Event, SegmentEnd, Wal};
use crate::wal::record::{Entry, Record};
use crate::wal::request::{class_fast, compares_mut, payload, puts, Payload};
use crate::wal::segment::{discover, wal_dir};
use crate::wal::startup::{first_segment_read, start_point, Checker, Place, SnapshotRecords, StartFrom, StartPoint, MAX_SNAPSHOT_RECORDS};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

pub mod shown;

#[derive(Debug, Clone, Default)]
pub struct WalQuery {
    /// Resynchronise after damage and go on (else reading stops at the first damage).
    pub best_effort: bool,
    pub from_index: Option<u64>,
    pub to_index: Option<u64>,
    /// Entry classes to show (`put`, `delete`, `txn`, `lease`, `conf`, …); empty: every record.
    pub types: Vec<String>,
    /// Only entries touching a key with this prefix.
    pub key_prefix: Option<Vec<u8>>,
    /// Only the summary is wanted: records are checked and counted, not decoded or shown.
    pub summary_only: bool,
    /// Stops the read at the next record.
    pub cancel: Cancel,
}

/// Where a record is: segment file name, byte offset, record number within the segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordAt {
    pub segment: String,
    pub offset: u64,
    pub record: u64,
}

/// One record of the log, as shown.
#[derive(Debug, Clone)]
pub enum WalLine {
    Entry(Box<EntryLine>),
    /// A record other than an entry: crc, metadata, hard state, snapshot marker, unknown type.
    Record {
        at: RecordAt,
        record: OtherRecord,
    },
    /// A record whose frame is sound but whose content does not decode.
    Undecodable {
        at: RecordAt,
        error: String,
    },
    Damage(DamageReport),
}

#[derive(Debug, Clone)]
pub enum OtherRecord {
    Crc(u32),
    Metadata { node_id: u64, cluster_id: u64 },
    State { term: u64, vote: u64, commit: u64 },
    Snapshot { index: u64, term: u64, conf_state: Option<raftpb::ConfState> },
    Unknown(i64),
}

/// A raft entry and what it asks.
#[derive(Debug, Clone)]
pub struct EntryLine {
    pub at: RecordAt,
    pub index: u64,
    pub term: u64,
    /// raftpb.EntryType: 0 normal, 1 conf change, 2 conf change v2.
    pub entry_type: i32,
    /// `put`, `delete`, `txn`, `lease`, `conf`, … (what `--type` selects).
    pub class: &'static str,
    /// At or below the last hard state's commit index and not overwritten by a later term.
    pub committed: bool,
    /// At or below the member db's consistent index (with a member dir).
    pub in_db: Option<bool>,
    /// Overwritten by an entry of the same index from a later term.
    pub superseded: bool,
    pub request: Request,
}

/// The entry's request, as etcd's own messages.
#[derive(Debug, Clone)]
pub enum Request {
    /// A normal entry without data: a new leader's first entry.
    Empty,
    Undecodable(String),
    ConfChange(raftpb::ConfChange),
    ConfChangeV2(raftpb::ConfChangeV2),
    V2(Box<etcdserverpb::Request>),
    V3 {
        request: Box<etcdserverpb::InternalRaftRequest>,
        /// The values the request stores, in [`puts`] order, as they are shown.
        values: Vec<StoredValue>,
        /// For each compare of a value, in [`compares_mut`] order: `Some(length)` when its
        /// bytes were a Secret's and were taken out of `request` (left empty), `None` when shown.
        withheld_compare_values: Vec<Option<usize>>,
    },
}

/// A value a put stores, as it is shown.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredValue {
    /// Shown as bytes (not a Kubernetes object, or no decoder asked for).
    Bytes,
    /// A Kubernetes object, decoded.
    Object { json: ObjectJson, encoding: &'static str },
    /// Encrypted at rest and not decryptable here.
    Encrypted { provider: String, key_name: String },
    /// A Secret's bytes that do not decode (or are not shown decoded: something other than a
    /// Secret under the secrets prefix): not shown without --show-secrets.
    SecretRedacted,
}

/// Takes the bytes of every value compare on a Secret's key out of the request (unless a decoder
/// says Secrets are shown), so no printer is handed them: one entry per value compare, in
/// [`compares_mut`] order, `Some(length)` where the bytes were taken.
fn withhold_compare_values(decoder: Option<&Decoder>, r: &mut etcdserverpb::InternalRaftRequest) -> Vec<Option<usize>> {
    use etcdserverpb::compare::TargetUnion as T;
    let mut withheld = Vec::new();
    let (Some(d), Some(txn)) = (decoder, r.txn.as_mut()) else { return withheld };
    compares_mut(txn, &mut |c| {
        if let Some(T::Value(v)) = &mut c.target_union {
            let secret = !d.options.show_secrets && d.stored_secret(&c.key, v);
            withheld.push(secret.then(|| std::mem::take(v).len()));
        }
    });
    withheld
}

/// How a stored value is shown: decoded as a Kubernetes object when it is one and a decoder is
/// given, else as bytes; a Secret's bytes that do not decode are withheld
/// ([`Decoder::stored_secret`]: under the decoder's secrets prefix, or naming kind Secret).
fn stored_value(decoder: Option<&Decoder>, key: &[u8], value: &[u8]) -> StoredValue {
    let Some(d) = decoder else { return StoredValue::Bytes };
    let bytes = || if !d.options.show_secrets && d.stored_secret(key, value) { StoredValue::SecretRedacted } else { StoredValue::Bytes };
    if !key.starts_with(b"/") {
        return bytes();
    }
    match d.decode_at(key, value, None) {
        Decoded::Object { json, encoding, .. } => StoredValue::Object { json, encoding },
        Decoded::Encrypted { provider, key_name, .. } => StoredValue::Encrypted { provider, key_name },
        Decoded::Raw { .. } => bytes(),
    }
}

/// Damage found, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamageReport {
    pub segment: String,
    pub record: u64,
    pub offset: u64,
    /// `torn` (etcd would truncate it on start) or `corrupt`.
    pub kind: &'static str,
    pub what: String,
    pub resumed_at: Option<(String, u64)>,
}

#[derive(Debug, Clone, Default)]
pub struct WalSummary {
    pub dir: String,
    pub segments: usize,
    pub records: u64,
    pub entries: u64,
    pub entries_by_class: BTreeMap<String, u64>,
    pub first_entry: Option<(u64, u64)>,
    pub last_entry: Option<(u64, u64)>,
    /// The last hard state: (term, vote, commit).
    pub hard_state: Option<(u64, u64, u64)>,
    /// The last snapshot marker: (index, term).
    pub snapshot: Option<(u64, u64)>,
    pub node_id: Option<u64>,
    pub cluster_id: Option<u64>,
    pub superseded: u64,
    pub uncommitted: u64,
    /// Records whose CRC was verified, and records read after a resync (unchecked).
    pub crc_verified: u64,
    pub crc_unchecked: u64,
    pub damage: Vec<DamageReport>,
    /// Records whose frame and CRC are sound but which etcd would not start from (or would stop
    /// applying): unknown types, data that does not unmarshal, conflicting metadata, gaps, …
    pub invalid: Vec<InvalidReport>,
    /// The snapshot etcd starts from (None when it could not be worked out).
    pub start: Option<StartPoint>,
    /// How the last segment ended.
    pub tail: Option<String>,
    pub order_problems: Vec<String>,
    /// Segments with no record at all (etcd starts every segment with a crc record).
    pub empty_segments: Vec<String>,
    pub ignored_files: Vec<(String, String)>,
    /// With a member or data dir: the member's snapshot files and its db's consistent index.
    pub member: Option<MemberState>,
}

/// Something etcd checks when it starts that this WAL fails, and where (`segment` is None for
/// what no one record holds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidReport {
    pub segment: Option<String>,
    pub record: u64,
    pub offset: u64,
    /// What is wrong and what etcd does about it.
    pub what: String,
}

/// What the member dir beside the WAL says about it.
#[derive(Debug, Clone, Default)]
pub struct MemberState {
    pub snap_files: Vec<crate::wal::snap::SnapFile>,
    /// `meta/consistent_index` of `snap/db`: entries up to it are applied to the db.
    pub consistent_index: Option<u64>,
    /// Why the db could not be read, when it could not.
    pub db_problem: Option<String>,
    /// Committed entries after the consistent index (applied again when etcd starts).
    pub committed_not_in_db: u64,
}

impl WalSummary {
    pub fn has_damage(&self) -> bool {
        !self.damage.is_empty() || !self.order_problems.is_empty() || !self.invalid.is_empty()
    }

    /// Everything reported as wrong, one line each: damage and order problems, empty segments,
    /// `.snap` files etcd would refuse, a db that cannot be read. What exit codes follow.
    pub fn findings(&self) -> Vec<String> {
        let mut out: Vec<String> = self.damage.iter().map(|d| format!("{} {}: {} at byte {}", d.kind, d.segment, d.what, d.offset)).collect();
        out.extend(self.invalid.iter().map(InvalidReport::to_string));
        out.extend(self.order_problems.iter().cloned());
        out.extend(self.empty_segments.iter().map(|s| format!("segment {s} holds no record (etcd starts every segment with a crc record)")));
        if let Some(m) = &self.member {
            for f in &m.snap_files {
                if let crate::wal::snap::SnapStatus::Bad(why) = &f.status {
                    out.push(format!("snapshot file {}: {why}", f.name));
                }
            }
            if let Some(p) = &m.db_problem {
                out.push(format!("member db: {p}"));
            }
        }
        out
    }
}

impl std::fmt::Display for InvalidReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.segment {
            Some(s) => write!(f, "{s} record {} at byte {}: {}", self.record, self.offset, self.what),
            None => f.write_str(&self.what),
        }
    }
}

/// An overwrite point: the `seq`-th entry read had index `index`, not above an earlier one.
struct Overwrite {
    seq: u64,
    index: u64,
}

/// Reads the WAL at (or under) `input`, calling `visit` with one typed line per record shown.
pub fn read(input: &Path, q: &WalQuery, decoder: Option<&Decoder>, visit: &mut dyn FnMut(WalLine) -> Result<()>) -> Result<WalSummary> {
    read_reporting(input, q, decoder, visit, &mut progress::ignore)
}

/// [`read`], reporting the bytes of segments read in each of the two passes.
pub fn read_reporting(
    input: &Path,
    q: &WalQuery,
    decoder: Option<&Decoder>,
    visit: &mut dyn FnMut(WalLine) -> Result<()>,
    report: &mut dyn FnMut(Progress),
) -> Result<WalSummary> {
    let dir = wal_dir(input)?;
    let segments = discover(&dir)?;
    let mut summary = WalSummary {
        dir: dir.display().to_string(),
        segments: segments.files.len(),
        order_problems: segments.problems.iter().map(|p| p.to_string()).collect(),
        ignored_files: segments.ignored.iter().map(|(n, why)| (n.clone(), why.to_string())).collect(),
        ..WalSummary::default()
    };
    summary.member = member_state(&dir);
    let consistent_index = summary.member.as_ref().and_then(|m| m.consistent_index);
    let wal = Wal::open(segments)?;
    let name = |i: usize| wal.segments.files[i].name.file_name();
    // Bytes before each segment, for progress.
    let mut before = Vec::with_capacity(wal.segments.files.len());
    let mut total = 0u64;
    for f in &wal.segments.files {
        before.push(total);
        total = total.saturating_add(f.len);
    }
    let at = |segment: usize, offset: u64| before.get(segment).copied().unwrap_or(total).saturating_add(offset);

    // Pass 1: the final commit, the overwrite points and the snapshot records.
    let mut overwrites: Vec<Overwrite> = Vec::new();
    let (mut seq, mut last_index, mut commit) = (0u64, 0u64, 0u64);
    let mut last_state = None;
    let mut snapshot_records = SnapshotRecords::default();
    let mut progress = Counter::new(&mut *report, "WAL check", total);
    wal.scan(q.best_effort, &mut |ev| {
        q.cancel.check()?;
        if let Event::Frame(f) = ev {
            progress.set(at(f.segment, f.offset));
            match Record::of(&f) {
                Ok(Record::Entry(e)) => {
                    if seq > 0 && e.index <= last_index {
                        overwrites.push(Overwrite { seq, index: e.index });
                    }
                    last_index = e.index;
                    seq += 1;
                }
                Ok(Record::State(h)) => {
                    commit = h.commit();
                    last_state = Some((h.term(), h.vote(), h.commit()));
                }
                Ok(Record::Snapshot(s)) => snapshot_records.add(s.index(), s.term()),
                _ => {}
            }
        }
        Ok(())
    })?;
    let mut checker = start_checker(&wal, &snapshot_records, last_state, &mut summary);
    // Suffix minimum of overwritten indexes: entry `s` with index `i` is superseded when an
    // overwrite after it starts at or below `i`.
    let mut suffix_min: Vec<u64> = overwrites.iter().map(|o| o.index).collect();
    for i in (0..suffix_min.len().saturating_sub(1)).rev() {
        suffix_min[i] = suffix_min[i].min(suffix_min[i + 1]);
    }

    // Pass 2: decode and show.
    let mut next_overwrite = 0;
    let mut seq = 0u64;
    let mut records_in_segment = 0u64;
    progress.set(total);
    let mut progress = Counter::new(&mut *report, "WAL read", total);
    wal.scan(q.best_effort, &mut |ev| {
        q.cancel.check()?;
        match ev {
            Event::Frame(f) => {
                progress.set(at(f.segment, f.offset));
                summary.records += 1;
                records_in_segment += 1;
                if f.crc_checked {
                    summary.crc_verified += 1;
                } else {
                    summary.crc_unchecked += 1;
                }
                let at = RecordAt { segment: name(f.segment), offset: f.offset, record: f.record };
                let place = Place { segment: f.segment, record: f.record, offset: f.offset };
                let record = match Record::of(&f) {
                    Ok(r) => r,
                    Err(why) => {
                        if let Some(c) = checker.as_mut() {
                            c.undecodable(place, f.rtype, &why);
                        }
                        if q.types.is_empty() && !q.summary_only {
                            visit(WalLine::Undecodable { at, error: why.to_string() })?;
                        }
                        return Ok(());
                    }
                };
                if let Some(c) = checker.as_mut() {
                    c.record(place, &record, f.data);
                }
                match record {
                    Record::Entry(e) => {
                        while next_overwrite < overwrites.len() && overwrites[next_overwrite].seq <= seq {
                            next_overwrite += 1;
                        }
                        let superseded = suffix_min.get(next_overwrite).is_some_and(|&m| m <= e.index);
                        seq += 1;
                        let committed = !superseded && e.index <= commit;
                        let class = class_fast(&e);
                        summary.entries += 1;
                        *summary.entries_by_class.entry(class.to_string()).or_default() += 1;
                        summary.first_entry.get_or_insert((e.index, e.term));
                        summary.last_entry = Some((e.index, e.term));
                        summary.superseded += u64::from(superseded);
                        summary.uncommitted += u64::from(!superseded && !committed);
                        let in_db = consistent_index.map(|ci| e.index <= ci);
                        if committed && in_db == Some(false) {
                            if let Some(m) = summary.member.as_mut() {
                                m.committed_not_in_db += 1;
                            }
                        }
                        // What etcd applies at start is decoded whether shown or not.
                        let mut decoded = None;
                        if let Some(c) = checker.as_mut().filter(|c| c.applies(place, &e, superseded)) {
                            let p = payload(&e);
                            c.applied_entry(place, &e, &p);
                            decoded = Some(p);
                        }
                        if q.summary_only || !index_and_class_shown(q, &e, class) {
                            return Ok(());
                        }
                        let p = decoded.unwrap_or_else(|| payload(&e));
                        if !keys_shown(q, &p) {
                            return Ok(());
                        }
                        let request = match p {
                            Payload::Empty => Request::Empty,
                            Payload::Undecodable(why) => Request::Undecodable(why),
                            Payload::ConfChange(c) => Request::ConfChange(c),
                            Payload::ConfChangeV2(c) => Request::ConfChangeV2(c),
                            Payload::V2(r) => Request::V2(r),
                            Payload::V3(mut r) => {
                                let values = puts(&r).into_iter().map(|p| stored_value(decoder, &p.key, &p.value)).collect();
                                let withheld_compare_values = withhold_compare_values(decoder, &mut r);
                                Request::V3 { request: r, values, withheld_compare_values }
                            }
                        };
                        visit(WalLine::Entry(Box::new(EntryLine {
                            at,
                            index: e.index,
                            term: e.term,
                            entry_type: e.entry_type,
                            class,
                            committed,
                            in_db,
                            superseded,
                            request,
                        })))?;
                    }
                    other => {
                        let Some(record) = note_record(&other, &mut summary) else { return Ok(()) };
                        if q.summary_only || !q.types.is_empty() || q.from_index.is_some() || q.to_index.is_some() || q.key_prefix.is_some() {
                            return Ok(());
                        }
                        visit(WalLine::Record { at, record })?;
                    }
                }
            }
            Event::Damage(d) => {
                let report = DamageReport {
                    segment: name(d.segment),
                    record: d.record,
                    offset: d.offset,
                    kind: if d.kind == DamageKind::Torn { "torn" } else { "corrupt" },
                    what: d.what.clone(),
                    resumed_at: d.resumed_at.map(|(s, o)| (name(s), o)),
                };
                if q.types.is_empty() && !q.summary_only {
                    visit(WalLine::Damage(report.clone()))?;
                }
                summary.damage.push(report);
            }
            Event::End { segment, end } => {
                if records_in_segment == 0 && matches!(end, SegmentEnd::ZeroTail { .. } | SegmentEnd::Eof { .. }) {
                    summary.empty_segments.push(name(segment));
                }
                records_in_segment = 0;
                if segment + 1 == summary.segments {
                    summary.tail = Some(match end {
                        SegmentEnd::ZeroTail { offset, tail } => format!("zero-filled preallocated tail from byte {offset} ({tail} bytes)"),
                        SegmentEnd::Eof { offset } => format!("ends at its last record (byte {offset})"),
                        SegmentEnd::Damaged { offset } => format!("damaged at byte {offset}"),
                    });
                }
            }
        }
        Ok(())
    })?;
    progress.set(total);
    for finding in checker.map(Checker::finish).unwrap_or_default() {
        let (segment, record, offset) = match finding.at {
            Some(p) => (Some(name(p.segment)), p.record, p.offset),
            None => (None, 0, 0),
        };
        summary.invalid.push(InvalidReport { segment, record, offset, what: finding.to_string() });
    }
    Ok(summary)
}

/// Works out the snapshot etcd starts from (into the summary, with what the member's db says
/// about it) and the checker of what etcd then reads; None when the log holds too many snapshot
/// records to say.
fn start_checker(wal: &Wal, records: &SnapshotRecords, last_state: Option<(u64, u64, u64)>, summary: &mut WalSummary) -> Option<Checker> {
    let commit = last_state.map_or(0, |(_, _, c)| c);
    let snap_files = summary.member.as_ref().map(|m| m.snap_files.as_slice());
    let Some(start) = start_point(records, commit, snap_files) else {
        summary.invalid.push(InvalidReport {
            segment: None,
            record: 0,
            offset: 0,
            what: format!("more than {MAX_SNAPSHOT_RECORDS} snapshot records: the snapshot etcd starts from is not worked out, and what etcd checks after it is not checked"),
        });
        return None;
    };
    if let Some(what) = summary.member.as_ref().and_then(|m| db_reaches(Path::new(&summary.dir), m, &start)) {
        summary.invalid.push(InvalidReport { segment: None, record: 0, offset: 0, what });
    }
    summary.start = Some(start.clone());
    let first_read = first_segment_read(&wal.segments.files, start.index);
    let db_index = summary.member.as_ref().and_then(|m| m.consistent_index);
    Some(Checker::new(start, first_read, last_state).with_db_index(db_index))
}

/// Why etcd could not bring the member's db up to the snapshot it starts from: a db that is
/// missing or behind the snapshot is replaced by the `<index>.snap.db` file a leader sent, and
/// without one etcd refuses to start.
fn db_reaches(wal_dir: &Path, m: &MemberState, start: &StartPoint) -> Option<String> {
    let StartFrom::SnapFile(name) = &start.from else { return None };
    let snap_dir = wal_dir.parent()?.join("snap");
    let db_index = match m.consistent_index {
        Some(ci) if ci >= start.index => return None,
        Some(ci) => format!("the db's consistent index {ci} is behind it"),
        None if m.db_problem.is_some() => return None,
        None if snap_dir.join("db").is_file() => "the db records no consistent index".to_string(),
        None => "there is no db".to_string(),
    };
    let needed = format!("{:016x}.snap.db", start.index);
    if snap_dir.join(&needed).exists() {
        return None;
    }
    Some(format!(
        "etcd starts from the snapshot at index {} ({name}) and {db_index}; it then needs snap/{needed}, which is not there: etcd refuses to start (\"failed to recover v3 backend from snapshot\")",
        start.index
    ))
}

/// The member dir around a WAL dir (`<member>/wal`): its `.snap` files and the db's
/// consistent index. `None` for a bare WAL directory.
fn member_state(wal_dir: &Path) -> Option<MemberState> {
    if wal_dir.file_name()? != "wal" {
        return None;
    }
    let snap = wal_dir.parent()?.join("snap");
    if !snap.is_dir() {
        return None;
    }
    let mut m = MemberState::default();
    match crate::wal::snap::snap_files(&snap) {
        Ok(files) => m.snap_files = files,
        Err(e) => m.db_problem = Some(format!("snap dir: {e}")),
    }
    let db = snap.join("db");
    if db.is_file() {
        let consistent_index = crate::source::Source::open(&db).and_then(|src| Ok(crate::snapshot::Snapshot::open(&src)?.store().meta.consistent_index));
        match consistent_index {
            Ok(index) => m.consistent_index = index,
            Err(e) => m.db_problem = Some(e.to_string()),
        }
    }
    Some(m)
}

/// The error for the first corrupt (not torn) damage, when reading was not best-effort.
pub fn corruption_error(summary: &WalSummary) -> Option<Error> {
    let d = summary.damage.iter().find(|d| d.kind == "corrupt")?;
    let file: Arc<Path> = Path::new(&summary.dir).join(&d.segment).into();
    Some(Error::corrupt(Location { file, page: None, offset: d.offset }, format!("WAL record {}: {}", d.record, d.what)))
}

fn index_and_class_shown(q: &WalQuery, e: &Entry<'_>, class: &str) -> bool {
    if q.from_index.is_some_and(|f| e.index < f) || q.to_index.is_some_and(|t| e.index > t) {
        return false;
    }
    q.types.is_empty() || q.types.iter().any(|t| t == class)
}

fn keys_shown(q: &WalQuery, p: &Payload) -> bool {
    match &q.key_prefix {
        None => true,
        Some(prefix) => keys_of(p).iter().any(|k| k.starts_with(prefix)),
    }
}

/// Every key a v3 request names (put, delete, txn compares and operations).
fn keys_of(p: &Payload) -> Vec<&[u8]> {
    fn txn_keys<'a>(t: &'a etcdserverpb::TxnRequest, out: &mut Vec<&'a [u8]>) {
        out.extend(t.compare.iter().map(|c| c.key.as_slice()));
        for op in t.success.iter().chain(&t.failure) {
            use etcdserverpb::request_op::Request as R;
            match &op.request {
                Some(R::RequestPut(p)) => out.push(&p.key),
                Some(R::RequestDeleteRange(d)) => out.push(&d.key),
                Some(R::RequestRange(r)) => out.push(&r.key),
                Some(R::RequestTxn(t)) => txn_keys(t, out),
                None => {}
            }
        }
    }
    let mut out = Vec::new();
    if let Payload::V3(r) = p {
        if let Some(put) = &r.put {
            out.push(put.key.as_slice());
        }
        if let Some(d) = &r.delete_range {
            out.push(d.key.as_slice());
        }
        if let Some(t) = &r.txn {
            txn_keys(t, &mut out);
        }
    }
    out
}

/// What a record other than an entry says, noted in the summary (`None` for an entry).
fn note_record(r: &Record<'_>, summary: &mut WalSummary) -> Option<OtherRecord> {
    Some(match r {
        Record::Crc(c) => OtherRecord::Crc(*c),
        Record::Metadata { node_id, cluster_id } => {
            summary.node_id = Some(*node_id);
            summary.cluster_id = Some(*cluster_id);
            OtherRecord::Metadata { node_id: *node_id, cluster_id: *cluster_id }
        }
        Record::State(h) => {
            summary.hard_state = Some((h.term(), h.vote(), h.commit()));
            OtherRecord::State { term: h.term(), vote: h.vote(), commit: h.commit() }
        }
        Record::Snapshot(snap) => {
            summary.snapshot = Some((snap.index(), snap.term()));
            OtherRecord::Snapshot { index: snap.index(), term: snap.term(), conf_state: snap.conf_state.clone() }
        }
        Record::Unknown(t) => OtherRecord::Unknown(*t),
        Record::Entry(_) => return None,
    })
}
