//! `wal`: every record of a WAL, decoded, as JSON values ready to print, streamed one at a time,
//! and a summary. Two passes over the segments (each read into memory in turn): the first finds what only the end of the
//! log can tell (the final commit index, entries a later term overwrote), the second decodes
//! and hands each record to the caller. Memory does not grow with the number of entries (the
//! first pass keeps only the overwrite points, one per leader change that dropped entries).

use crate::views::progress::{self, Counter, Progress};
use crate::error::{Error, Location, Result};
use crate::etcd::pb::{etcdserverpb, raftpb};
use crate::k8s::decoder::{Decoded, Decoder, ObjectJson};
use crate::wal::frame::{DamageKind, Event, SegmentEnd, Wal};
use crate::wal::record::{Entry, Record};
use crate::wal::request::{class_fast, payload, v3_op, Payload};
use crate::wal::segment::{discover, wal_dir};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

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
}

/// One record as JSON, with the Kubernetes objects in it kept as the text they were rendered
/// to (at `objects`' JSON pointers the value holds `null`), so writing a line costs no parse.
#[derive(Debug, Clone)]
pub struct WalLine {
    pub json: Value,
    pub objects: Vec<(String, ObjectJson)>,
}

impl WalLine {
    /// The whole line as one value (objects parsed into place).
    pub fn to_value(&self) -> Value {
        let mut v = self.json.clone();
        for (ptr, obj) in &self.objects {
            if let (Some(slot), Ok(o)) = (v.pointer_mut(ptr), obj.value()) {
                *slot = o;
            }
        }
        v
    }

    /// The line as compact JSON, objects written from their text.
    pub fn write_compact(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        fn write(v: &Value, path: &mut String, objects: &[(String, ObjectJson)], out: &mut dyn std::io::Write) -> std::io::Result<()> {
            if let Some((_, o)) = objects.iter().find(|(p, _)| p == path) {
                return out.write_all(o.as_str().as_bytes());
            }
            match v {
                Value::Object(m) => {
                    out.write_all(b"{")?;
                    for (i, (k, x)) in m.iter().enumerate() {
                        if i > 0 {
                            out.write_all(b",")?;
                        }
                        serde_json::to_writer(&mut *out, k)?;
                        out.write_all(b":")?;
                        let len = path.len();
                        path.push('/');
                        path.push_str(k);
                        write(x, path, objects, out)?;
                        path.truncate(len);
                    }
                    out.write_all(b"}")
                }
                Value::Array(a) => {
                    out.write_all(b"[")?;
                    for (i, x) in a.iter().enumerate() {
                        if i > 0 {
                            out.write_all(b",")?;
                        }
                        let len = path.len();
                        path.push('/');
                        path.push_str(&i.to_string());
                        write(x, path, objects, out)?;
                        path.truncate(len);
                    }
                    out.write_all(b"]")
                }
                scalar => Ok(serde_json::to_writer(&mut *out, scalar)?),
            }
        }
        if self.objects.is_empty() {
            return Ok(serde_json::to_writer(&mut *out, &self.json)?);
        }
        write(&self.json, &mut String::new(), &self.objects, out)
    }
}

impl From<Value> for WalLine {
    fn from(json: Value) -> Self {
        WalLine { json, objects: Vec::new() }
    }
}

/// How stored values are shown, and the Kubernetes objects found so far (by JSON pointer).
struct Values<'d> {
    decoder: Option<&'d Decoder>,
    objects: Vec<(String, ObjectJson)>,
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
    /// How the last segment ended.
    pub tail: Option<String>,
    pub order_problems: Vec<String>,
    /// Segments with no record at all (etcd starts every segment with a crc record).
    pub empty_segments: Vec<String>,
    pub ignored_files: Vec<(String, String)>,
    /// With a member or data dir: the member's snapshot files and its db's consistent index.
    pub member: Option<MemberState>,
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
        !self.damage.is_empty() || !self.order_problems.is_empty()
    }

    /// Everything reported as wrong, one line each: damage and order problems, empty segments,
    /// `.snap` files etcd would refuse, a db that cannot be read. What exit codes follow.
    pub fn findings(&self) -> Vec<String> {
        let mut out: Vec<String> = self.damage.iter().map(|d| format!("{} {}: {} at byte {}", d.kind, d.segment, d.what, d.offset)).collect();
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

/// An overwrite point: the `seq`-th entry read had index `index`, not above an earlier one.
struct Overwrite {
    seq: u64,
    index: u64,
}

/// Reads the WAL at (or under) `input`, calling `visit` with one JSON value per record shown.
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

    // Pass 1: the final commit and the overwrite points.
    let mut overwrites: Vec<Overwrite> = Vec::new();
    let (mut seq, mut last_index, mut commit) = (0u64, 0u64, 0u64);
    let mut progress = Counter::new(&mut *report, "WAL check", total);
    wal.scan(q.best_effort, &mut |ev| {
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
                Ok(Record::State(h)) => commit = h.commit(),
                _ => {}
            }
        }
        Ok(())
    })?;
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
                let mut line = Map::new();
                line.insert("segment".into(), Value::String(name(f.segment)));
                line.insert("offset".into(), json!(f.offset));
                line.insert("record".into(), json!(f.record));
                let record = match Record::of(&f) {
                    Ok(r) => r,
                    Err(why) => {
                        line.insert("kind".into(), json!("undecodable"));
                        line.insert("error".into(), json!(why));
                        if q.types.is_empty() && !q.summary_only {
                            visit(Value::Object(line).into())?;
                        }
                        return Ok(());
                    }
                };
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
                        if q.summary_only || !index_and_class_shown(q, &e, class) {
                            return Ok(());
                        }
                        let p = payload(&e);
                        if !keys_shown(q, &p) {
                            return Ok(());
                        }
                        line.insert("kind".into(), json!("entry"));
                        line.insert("index".into(), json!(e.index));
                        line.insert("term".into(), json!(e.term));
                        line.insert("type".into(), json!(entry_type_name(e.entry_type)));
                        line.insert("class".into(), json!(class));
                        line.insert("committed".into(), json!(committed));
                        if let Some(ci) = consistent_index {
                            let in_db = e.index <= ci;
                            line.insert("in_db".into(), json!(in_db));
                            if committed && !in_db {
                                if let Some(m) = summary.member.as_mut() {
                                    m.committed_not_in_db += 1;
                                }
                            }
                        }
                        if superseded {
                            line.insert("superseded".into(), json!(true));
                        }
                        let mut vals = Values { decoder, objects: Vec::new() };
                        payload_json(&p, &mut vals, &mut line);
                        visit(WalLine { json: Value::Object(line), objects: vals.objects })?;
                    }
                    other => {
                        let (kind, fields) = record_json(&other, &mut summary);
                        if q.summary_only || !q.types.is_empty() || q.from_index.is_some() || q.to_index.is_some() || q.key_prefix.is_some() {
                            return Ok(());
                        }
                        line.insert("kind".into(), json!(kind));
                        line.extend(fields);
                        visit(Value::Object(line).into())?;
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
                    visit(WalLine::from(json!({"kind": "damage", "segment": report.segment, "offset": report.offset, "record": report.record,
                        "damage": report.kind, "error": report.what,
                        "resumed_at": report.resumed_at.as_ref().map(|(s, o)| json!({"segment": s, "offset": o}))})))?;
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
    Ok(summary)
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
        let consistent_index = crate::source::Source::open(&db)
            .and_then(|src| Ok(crate::snapshot::Snapshot::open(&src)?.store().meta.consistent_index));
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

fn entry_type_name(t: i32) -> &'static str {
    match t {
        0 => "normal",
        1 => "conf_change",
        2 => "conf_change_v2",
        _ => "unknown",
    }
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

fn record_json(r: &Record<'_>, summary: &mut WalSummary) -> (&'static str, Map<String, Value>) {
    let mut m = Map::new();
    let kind = match r {
        Record::Crc(c) => {
            m.insert("crc".into(), json!(format!("{c:08x}")));
            "crc"
        }
        Record::Metadata { node_id, cluster_id } => {
            summary.node_id = Some(*node_id);
            summary.cluster_id = Some(*cluster_id);
            m.insert("node_id".into(), json!(format!("{node_id:x}")));
            m.insert("cluster_id".into(), json!(format!("{cluster_id:x}")));
            "metadata"
        }
        Record::State(h) => {
            summary.hard_state = Some((h.term(), h.vote(), h.commit()));
            m.insert("term".into(), json!(h.term()));
            m.insert("vote".into(), json!(format!("{:x}", h.vote())));
            m.insert("commit".into(), json!(h.commit()));
            "state"
        }
        Record::Snapshot(s) => {
            summary.snapshot = Some((s.index(), s.term()));
            m.insert("index".into(), json!(s.index()));
            m.insert("term".into(), json!(s.term()));
            if let Some(cs) = &s.conf_state {
                m.insert("conf_state".into(), conf_state_json(cs));
            }
            "snapshot"
        }
        Record::Unknown(t) => {
            m.insert("type".into(), json!(t));
            "unknown"
        }
        Record::Entry(_) => "entry",
    };
    (kind, m)
}

fn conf_state_json(cs: &raftpb::ConfState) -> Value {
    let hex = |v: &[u64]| v.iter().map(|i| format!("{i:x}")).collect::<Vec<_>>();
    json!({"voters": hex(&cs.voters), "learners": hex(&cs.learners), "voters_outgoing": hex(&cs.voters_outgoing),
           "learners_next": hex(&cs.learners_next), "auto_leave": cs.auto_leave()})
}

/// `key` as text when it is UTF-8, else `key_base64`.
fn put_bytes(m: &mut Map<String, Value>, name: &str, b: &[u8]) {
    match std::str::from_utf8(b) {
        Ok(s) => m.insert(name.into(), Value::String(s.into())),
        Err(_) => m.insert(format!("{name}_base64"), Value::String(base64::engine::general_purpose::STANDARD.encode(b))),
    };
}

fn redacted(s: &str) -> Value {
    Value::String(format!("<redacted, {} bytes>", s.len()))
}

/// A stored value: decoded as a Kubernetes object when it is one (and a decoder is given),
/// else as bytes.
fn put_value(m: &mut Map<String, Value>, key: &[u8], value: &[u8], vals: &mut Values<'_>, path: &str) {
    if let Some(d) = vals.decoder {
        if key.starts_with(b"/") {
            match d.decode_at(key, value, None) {
                Decoded::Object { json, encoding, .. } => {
                    m.insert("value_bytes".into(), json!(value.len()));
                    m.insert("value_encoding".into(), json!(encoding));
                    // Kept as text and written in place (see WalLine): no parse and re-write.
                    m.insert("object".into(), Value::Null);
                    vals.objects.push((format!("{path}/object"), json));
                    return;
                }
                Decoded::Encrypted { provider, key_name, .. } => {
                    m.insert("value_bytes".into(), json!(value.len()));
                    m.insert("value_encrypted".into(), json!({"provider": provider, "key": key_name}));
                    return;
                }
                Decoded::Raw { .. } if is_secret_key(key) && !d.options.show_secrets => {
                    // Not decodable (damaged, unknown kind), but still a Secret's bytes.
                    m.insert("value_bytes".into(), json!(value.len()));
                    m.insert("value_redacted".into(), json!(format!("<redacted: {} bytes of a Secret that does not decode; --show-secrets to show>", value.len())));
                    return;
                }
                Decoded::Raw { .. } => {}
            }
        }
    }
    put_bytes(m, "value", value);
}

/// A key under kube-apiserver's `secrets` resource, whatever its etcd prefix.
fn is_secret_key(key: &[u8]) -> bool {
    key.windows(9).any(|w| w == b"/secrets/")
}

fn range_json(key: &[u8], end: &[u8]) -> Map<String, Value> {
    let mut m = Map::new();
    put_bytes(&mut m, "key", key);
    if !end.is_empty() {
        put_bytes(&mut m, "range_end", end);
    }
    m
}

fn put_json(p: &etcdserverpb::PutRequest, vals: &mut Values<'_>, path: &str) -> Map<String, Value> {
    let mut m = Map::new();
    put_bytes(&mut m, "key", &p.key);
    put_value(&mut m, &p.key, &p.value, vals, path);
    if p.lease != 0 {
        m.insert("lease".into(), json!(format!("{:x}", p.lease)));
    }
    for (flag, set) in [("prev_kv", p.prev_kv), ("ignore_value", p.ignore_value), ("ignore_lease", p.ignore_lease)] {
        if set {
            m.insert(flag.into(), json!(true));
        }
    }
    m
}

fn txn_json(t: &etcdserverpb::TxnRequest, vals: &mut Values<'_>, path: &str) -> Value {
    use etcdserverpb::compare::TargetUnion as T;
    use etcdserverpb::request_op::Request as R;
    let compares: Vec<Value> = t
        .compare
        .iter()
        .map(|c| {
            let mut m = range_json(&c.key, &c.range_end);
            m.insert("target".into(), json!(c.target().as_str_name()));
            m.insert("result".into(), json!(c.result().as_str_name()));
            match &c.target_union {
                Some(T::Version(v)) => m.insert("version".into(), json!(v)),
                Some(T::CreateRevision(v)) => m.insert("create_revision".into(), json!(v)),
                Some(T::ModRevision(v)) => m.insert("mod_revision".into(), json!(v)),
                Some(T::Lease(v)) => m.insert("lease".into(), json!(format!("{v:x}"))),
                Some(T::Value(v)) => {
                    put_bytes(&mut m, "value", v);
                    None
                }
                None => None,
            };
            Value::Object(m)
        })
        .collect();
    let mut ops = |ops: &[etcdserverpb::RequestOp], branch: &str| -> Vec<Value> {
        ops.iter()
            .enumerate()
            .map(|(i, op)| match &op.request {
                Some(R::RequestPut(p)) => {
                    let mut m = put_json(p, vals, &format!("{path}/{branch}/{i}"));
                    m.insert("op".into(), json!("put"));
                    Value::Object(m)
                }
                Some(R::RequestDeleteRange(d)) => {
                    let mut m = range_json(&d.key, &d.range_end);
                    m.insert("op".into(), json!("delete_range"));
                    Value::Object(m)
                }
                Some(R::RequestRange(r)) => {
                    let mut m = range_json(&r.key, &r.range_end);
                    m.insert("op".into(), json!("range"));
                    Value::Object(m)
                }
                Some(R::RequestTxn(t)) => json!({"op": "txn", "txn": txn_json(t, vals, &format!("{path}/{branch}/{i}/txn"))}),
                None => json!({"op": "none"}),
            })
            .collect()
    };
    let success = ops(&t.success, "success");
    let failure = ops(&t.failure, "failure");
    json!({"compare": compares, "success": success, "failure": failure})
}

/// The entry's request, under its operation's name; passwords and tokens never shown.
fn payload_json(p: &Payload, vals: &mut Values<'_>, line: &mut Map<String, Value>) {
    match p {
        Payload::Empty => {}
        Payload::Undecodable(why) => {
            line.insert("error".into(), json!(why));
        }
        Payload::ConfChange(c) => {
            let mut m = Map::new();
            m.insert("change".into(), json!(c.r#type().as_str_name().trim_start_matches("ConfChange")));
            m.insert("node_id".into(), json!(format!("{:x}", c.node_id())));
            if c.id() != 0 {
                m.insert("id".into(), json!(c.id()));
            }
            context_json(c.context(), &mut m);
            line.insert("conf_change".into(), Value::Object(m));
        }
        Payload::ConfChangeV2(c) => {
            let changes: Vec<Value> = c
                .changes
                .iter()
                .map(|s| json!({"change": s.r#type().as_str_name().trim_start_matches("ConfChange"), "node_id": format!("{:x}", s.node_id())}))
                .collect();
            let mut m = Map::new();
            m.insert("transition".into(), json!(c.transition().as_str_name().trim_start_matches("ConfChangeTransition")));
            m.insert("changes".into(), Value::Array(changes));
            context_json(c.context(), &mut m);
            line.insert("conf_change_v2".into(), Value::Object(m));
        }
        Payload::V2(r) => {
            let mut m = Map::new();
            m.insert("id".into(), json!(r.id()));
            m.insert("method".into(), json!(r.method()));
            m.insert("path".into(), json!(r.path()));
            // v2 auth records hold bcrypt hashes in their value.
            if r.path().starts_with("/2/") {
                m.insert("val".into(), redacted(r.val()));
            } else if r.val.is_some() {
                m.insert("val".into(), json!(r.val()));
            }
            for (name, v) in [("dir", r.dir()), ("prev_exist", r.prev_exist()), ("recursive", r.recursive()), ("refresh", r.refresh())] {
                if v {
                    m.insert(name.into(), json!(true));
                }
            }
            if r.expiration() != 0 {
                m.insert("expiration".into(), json!(r.expiration()));
            }
            line.insert("v2".into(), Value::Object(m));
        }
        Payload::V3(r) => v3_json(r, vals, line),
    }
}

/// etcd puts the member (id, peerURLs, name, clientURLs, isLearner, isPromote) as JSON in the
/// conf change context.
fn context_json(ctx: &[u8], m: &mut Map<String, Value>) {
    if ctx.is_empty() {
        return;
    }
    match serde_json::from_slice::<Value>(ctx) {
        Ok(mut v) => {
            // Member IDs are u64: show them in hex, as etcdctl does.
            if let Some(id) = v.get("id").and_then(Value::as_u64) {
                v["id"] = json!(format!("{id:x}"));
            }
            m.insert("member".into(), v);
        }
        Err(_) => put_bytes(m, "context", ctx),
    }
}

fn v3_json(r: &etcdserverpb::InternalRaftRequest, vals: &mut Values<'_>, line: &mut Map<String, Value>) {
    let op = v3_op(r);
    line.insert("op".into(), json!(op));
    let id = if r.id != 0 { r.id } else { r.header.as_ref().map_or(0, |h| h.id) };
    if id != 0 {
        line.insert("request_id".into(), json!(format!("{id:x}")));
    }
    if let Some(h) = &r.header {
        if !h.username.is_empty() {
            line.insert("username".into(), json!(h.username));
        }
        if h.auth_revision != 0 {
            line.insert("auth_revision".into(), json!(h.auth_revision));
        }
    }
    let body: Value = if let Some(p) = &r.put {
        Value::Object(put_json(p, vals, "/put"))
    } else if let Some(d) = &r.delete_range {
        let mut m = range_json(&d.key, &d.range_end);
        if d.prev_kv {
            m.insert("prev_kv".into(), json!(true));
        }
        Value::Object(m)
    } else if let Some(t) = &r.txn {
        txn_json(t, vals, "/txn")
    } else if let Some(rr) = &r.range {
        Value::Object(range_json(&rr.key, &rr.range_end))
    } else if let Some(c) = &r.compaction {
        json!({"revision": c.revision, "physical": c.physical})
    } else if let Some(g) = &r.lease_grant {
        json!({"id": format!("{:x}", g.id), "ttl": g.ttl})
    } else if let Some(l) = &r.lease_revoke {
        json!({"id": format!("{:x}", l.id)})
    } else if let Some(c) = &r.lease_checkpoint {
        json!({"checkpoints": c.checkpoints.iter().map(|c| json!({"id": format!("{:x}", c.id), "remaining_ttl": c.remaining_ttl})).collect::<Vec<_>>()})
    } else if let Some(a) = &r.alarm {
        json!({"action": a.action().as_str_name(), "member_id": format!("{:x}", a.member_id), "alarm": a.alarm().as_str_name()})
    } else if let Some(a) = &r.authenticate {
        json!({"name": a.name, "password": redacted(&a.password), "simple_token": redacted(&a.simple_token)})
    } else if let Some(u) = &r.auth_user_add {
        json!({"name": u.name, "password": redacted(&u.password), "hashed_password": redacted(&u.hashed_password),
               "no_password": u.options.as_ref().is_some_and(|o| o.no_password)})
    } else if let Some(u) = &r.auth_user_change_password {
        json!({"name": u.name, "password": redacted(&u.password), "hashed_password": redacted(&u.hashed_password)})
    } else if let Some(u) = &r.auth_user_delete {
        json!({"name": u.name})
    } else if let Some(u) = &r.auth_user_get {
        json!({"name": u.name})
    } else if let Some(g) = &r.auth_user_grant_role {
        json!({"user": g.user, "role": g.role})
    } else if let Some(g) = &r.auth_user_revoke_role {
        json!({"name": g.name, "role": g.role})
    } else if let Some(a) = &r.auth_role_add {
        json!({"name": a.name})
    } else if let Some(a) = &r.auth_role_delete {
        json!({"role": a.role})
    } else if let Some(a) = &r.auth_role_get {
        json!({"role": a.role})
    } else if let Some(g) = &r.auth_role_grant_permission {
        let mut m = Map::new();
        m.insert("name".into(), json!(g.name));
        if let Some(p) = &g.perm {
            let mut pm = range_json(&p.key, &p.range_end);
            pm.insert("type".into(), json!(p.perm_type().as_str_name()));
            m.insert("perm".into(), Value::Object(pm));
        }
        Value::Object(m)
    } else if let Some(g) = &r.auth_role_revoke_permission {
        let mut m = range_json(&g.key, &g.range_end);
        m.insert("role".into(), json!(g.role));
        Value::Object(m)
    } else if let Some(c) = &r.cluster_version_set {
        json!({"ver": c.ver})
    } else if let Some(c) = &r.cluster_member_attr_set {
        let attrs = c.member_attributes.as_ref();
        json!({"member_id": format!("{:x}", c.member_id), "name": attrs.map(|a| a.name.clone()),
               "client_urls": attrs.map(|a| a.client_urls.clone()).unwrap_or_default()})
    } else if let Some(d) = &r.downgrade_info_set {
        json!({"enabled": d.enabled, "ver": d.ver})
    } else {
        Value::Object(Map::new())
    };
    if op != "none" {
        line.insert(op.into(), body);
    }
}
