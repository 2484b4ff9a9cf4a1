//! `etcdscope wal DIR`: every WAL record decoded, streamed (`-o jsonl`: one JSON object per
//! record, then one `{"summary": …}` line; `-o table`: one line per record, then the summary;
//! `-o json`: one document). `--verify` prints only the summary and exits 1 on any damage.

use super::format::{one_line, printable_key};
use super::{CliError, CliResult, EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK};
use clap::{Args, ValueEnum};
use etcdscope::k8s::decoder::ObjectJson;
use etcdscope::views::wal::shown::{line_view, request_view, summary_view, RequestView};
use etcdscope::views::wal::{corruption_error, read_reporting, EntryLine, OtherRecord, Request, WalLine, WalQuery, WalSummary};
use etcdscope::wal::snap::SnapStatus;
use etcdscope::wal::startup::{StartFrom, StartPoint};
use serde_json::value::RawValue;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;

/// `wal -o`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// One line per record, then the summary.
    Table,
    /// One document: {"records": […], "summary": {…}}.
    Json,
    /// One JSON object per record, then {"summary": …}, streamed.
    Jsonl,
}

#[derive(Args)]
pub struct WalArgs {
    /// A WAL directory, a member dir (wal/) or a data dir (member/wal/).
    dir: PathBuf,
    /// Only entries from this raft index on.
    #[arg(long)]
    from_index: Option<u64>,
    /// Only entries up to this raft index.
    #[arg(long)]
    to_index: Option<u64>,
    /// Only these entry classes: put, delete, txn, range, compaction, lease, alarm, auth,
    /// cluster, v2, conf, empty (comma-separated).
    #[arg(long = "type", value_delimiter = ',')]
    types: Vec<String>,
    /// Only entries touching a key with this prefix.
    #[arg(long)]
    key_prefix: Option<String>,
    /// Check only: print the summary, exit 1 on any damage.
    #[arg(long)]
    verify: bool,
    /// After damage, find the next record and go on (the CRC chain restarts there).
    #[arg(long)]
    best_effort: bool,
    /// Output format.
    #[arg(short = 'o', long, value_name = "FORMAT", value_enum, default_value_t = Format::Table)]
    output: Format,
    /// The etcd prefix kube-apiserver was run with (`--etcd-prefix`): Secrets' keys are under
    /// `<prefix>/secrets/`.
    #[arg(long, default_value = super::decoding::DEFAULT_ETCD_PREFIX)]
    etcd_prefix: String,
    #[command(flatten)]
    decoding: super::decoding::DecodingArgs,
}

const CLASSES: &[&str] = &["put", "delete", "txn", "range", "compaction", "lease", "alarm", "auth", "cluster", "v2", "conf", "empty", "none", "undecodable"];

pub fn run(a: &WalArgs, out: &mut impl Write) -> CliResult {
    if let Some(bad) = a.types.iter().find(|t| !CLASSES.contains(&t.as_str())) {
        return Err(CliError::Usage(format!("--type {bad}: not an entry class (one of {})", CLASSES.join(", "))));
    }
    if let (Some(from), Some(to)) = (a.from_index, a.to_index) {
        if from > to {
            return Err(CliError::Usage(format!("--from-index {from} is after --to-index {to}: no entry lies between them")));
        }
    }
    let decoder = a.decoding.decoder_for(&a.etcd_prefix)?;
    let q = WalQuery {
        best_effort: a.best_effort,
        from_index: a.from_index,
        to_index: a.to_index,
        types: a.types.clone(),
        key_prefix: a.key_prefix.as_ref().map(|p| p.as_bytes().to_vec()),
        summary_only: a.verify,
        // SIGINT/SIGTERM stop the read at the next record (exit 130).
        cancel: super::interrupt::watch(),
    };
    // `-o json` is one document, written record by record: {"records": [...], "summary": {...}}.
    let mut records_written = 0usize;
    let mut io_error = None;
    // Tables show a put's key and size, not its object: no need to decode it.
    let decoding = if a.output == Format::Table { None } else { Some(&decoder) };
    let mut bar = super::progress::Bar::new();
    let summary = read_reporting(
        &a.dir,
        &q,
        decoding,
        &mut |line| {
            if a.verify {
                return Ok(());
            }
            let r = match a.output {
                Format::Jsonl => {
                    serde_json::to_writer(&mut *out, &line_view(&line, &mut object_text)).map_err(std::io::Error::from).and_then(|()| out.write_all(b"\n"))
                }
                Format::Json => {
                    let head: &[u8] = if records_written == 0 { b"{\n    \"records\": [\n" } else { b",\n" };
                    records_written += 1;
                    out.write_all(head).and_then(|()| out.write_all(super::get::json_list_item(&line_view(&line, &mut object_value)).as_bytes()))
                }
                Format::Table => {
                    let head = if records_written == 0 { format!("{TABLE_HEADER}\n") } else { String::new() };
                    records_written += 1;
                    writeln!(out, "{head}{}", table_line(&line))
                }
            };
            r.map_err(|e| {
                let kind = e.kind();
                io_error = Some(e);
                etcdscope::Error::io(std::path::Path::new("<stdout>"), std::io::Error::from(kind))
            })
        },
        &mut |p| bar.update(p),
    );
    drop(bar);
    if let Some(e) = io_error {
        return Err(CliError::Io(e));
    }
    let summary = summary?;
    let s = summary_view(&summary);
    match a.output {
        Format::Jsonl => {
            serde_json::to_writer(&mut *out, &SummaryLine { summary: &s }).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        Format::Json if !a.verify => {
            let summary = super::get::json_list_item(&s);
            let summary = summary.trim_start().replace("\n    ", "\n");
            if records_written == 0 {
                out.write_all(b"{\n    \"records\": [],\n")?;
            } else {
                out.write_all(b"\n    ],\n")?;
            }
            writeln!(out, "    \"summary\": {summary}\n}}")?;
        }
        Format::Json => super::get::write_json(out, &s)?,
        Format::Table => out.write_all(summary_text(&summary).as_bytes())?,
    }
    for p in &summary.order_problems {
        say!("etcdscope: warning: {p}");
    }
    for d in &summary.damage {
        let resumed = d.resumed_at.as_ref().map(|(s, o)| format!("; went on at {s} byte {o}")).unwrap_or_default();
        let hint = if d.kind == "torn" { " (a torn last write: etcd truncates it on start)" } else { "" };
        say!("etcdscope: {}: {} record {} at byte {}: {}{hint}{resumed}", d.kind, d.segment, d.record, d.offset, d.what);
    }
    for i in &summary.invalid {
        say!("etcdscope: invalid: {i}");
    }
    for s in &summary.empty_segments {
        say!("etcdscope: warning: segment {s} holds no record (etcd starts every segment with a crc record)");
    }
    if let Some(m) = &summary.member {
        for f in &m.snap_files {
            if let SnapStatus::Bad(why) = &f.status {
                say!("etcdscope: warning: snapshot file {}: {why}", f.name);
            }
        }
        if let Some(p) = &m.db_problem {
            say!("etcdscope: warning: member db: {p}");
        }
    }
    let findings = !summary.findings().is_empty();
    if a.verify {
        return Ok(if findings { EXIT_FINDINGS } else { EXIT_OK });
    }
    if !a.best_effort {
        if let Some(e) = corruption_error(&summary) {
            say!("etcdscope: error: {e} (--best-effort reads past it)");
            return Ok(EXIT_BAD_INPUT);
        }
    }
    Ok(if findings { EXIT_FINDINGS } else { EXIT_OK })
}

/// `-o jsonl`'s last line.
#[derive(serde::Serialize)]
struct SummaryLine<'s> {
    summary: &'s etcdscope::views::wal::shown::SummaryView<'s>,
}

/// `-o jsonl` writes an object's text in place, unparsed (`None` only if the text the renderer
/// wrote is not JSON, which is then shown as null).
fn object_text(o: &ObjectJson) -> Option<&RawValue> {
    let mut de = serde_json::Deserializer::from_str(o.as_str());
    // Nesting is bounded by the renderer (k8s::json::parse_rendered), not by serde_json's 128.
    de.disable_recursion_limit();
    let raw = serde::Deserialize::deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(raw)
}

/// `-o json` indents the objects too: they are parsed.
fn object_value(o: &ObjectJson) -> Option<Value> {
    o.value().ok()
}

fn start_text(p: &StartPoint) -> String {
    match &p.from {
        StartFrom::SnapFile(name) => format!("etcd starts from the snapshot at index {} (term {}, {name})", p.index, p.term),
        StartFrom::NoSnapshot => "etcd starts from index 0 (no usable .snap file)".into(),
        StartFrom::Assumed => format!("etcd would start from the snapshot at index {} (term {}; no snap/ dir here to check)", p.index, p.term),
    }
}

fn summary_text(s: &WalSummary) -> String {
    let by_class: Vec<String> = s.entries_by_class.iter().map(|(c, n)| format!("{c} {n}")).collect();
    let span = match (s.first_entry, s.last_entry) {
        (Some((fi, ft)), Some((li, lt))) => format!("index {fi} (term {ft}) to {li} (term {lt})"),
        _ => "no entries".into(),
    };
    let commit = s.hard_state.map(|(_, _, c)| c.to_string()).unwrap_or_else(|| "none".into());
    let crc = if s.damage.is_empty() { format!("CRC ok ({} records verified)", s.crc_verified) } else { format!("{} damaged place(s)", s.damage.len()) };
    let start = s.start.as_ref().map(|p| format!("{}\n", start_text(p))).unwrap_or_default();
    let invalid = match s.invalid.len() {
        0 => String::new(),
        n => format!("at start etcd would refuse, stop or not work: {n} problem(s), listed on stderr\n"),
    };
    let member = match &s.member {
        None => String::new(),
        Some(m) => {
            let good = m.snap_files.iter().filter(|f| matches!(f.status, SnapStatus::Ok { .. })).count();
            let newest = m.snap_files.iter().rev().find_map(|f| match f.status {
                SnapStatus::Ok { index, term, .. } => Some(format!(", newest at index {index} term {term}")),
                _ => None,
            });
            let db = match (m.consistent_index, &m.db_problem) {
                (Some(ci), _) => format!("db consistent index {ci} ({} committed entries after it)", m.committed_not_in_db),
                (None, Some(p)) => format!("db unreadable: {p}"),
                (None, None) => "no db".into(),
            };
            format!("member: {} snapshot file(s) ({good} ok{}), {db}\n", m.snap_files.len(), newest.unwrap_or_default())
        }
    };
    format!(
        "summary: {} segment(s), {} records, {} entries ({}), {span}, commit {commit}, {} superseded, {} uncommitted, {crc}; last segment: {}\n{member}{start}{invalid}",
        s.segments,
        s.records,
        s.entries,
        if by_class.is_empty() { "none".into() } else { by_class.join(", ") },
        s.superseded,
        s.uncommitted,
        s.tail.as_deref().unwrap_or("-"),
    )
}

/// The table's header row: the columns every entry line fills (other records put their gist
/// after RECORD).
const TABLE_HEADER: &str = "SEGMENT:OFFSET           RECORD    INDEX TERM CLASS      DETAIL";

/// One record as a table line: where, what, and the gist of the request, read from the typed
/// line (a put's size is its value's length, not a guess from an encoding).
fn table_line(line: &WalLine) -> String {
    let place = |segment: &str, offset: u64| format!("{}:{offset}", segment.get(..16).unwrap_or(""));
    match line {
        WalLine::Entry(e) => {
            let flags = if e.superseded {
                " superseded"
            } else if !e.committed {
                " uncommitted"
            } else {
                ""
            };
            let at = place(&e.at.segment, e.at.offset);
            format!("{at:<24} entry  {:>8} {:>4} {:<10} {}{flags}", e.index, e.term, e.class, entry_detail(e))
        }
        WalLine::Record { at, record } => {
            let at = place(&at.segment, at.offset);
            match record {
                OtherRecord::State { term, vote, commit } => format!("{at:<24} state  term {term} vote {vote:x} commit {commit}"),
                OtherRecord::Snapshot { index, term, .. } => format!("{at:<24} snap   index {index} term {term}"),
                OtherRecord::Metadata { node_id, cluster_id } => format!("{at:<24} meta   member {node_id:x} cluster {cluster_id:x}"),
                OtherRecord::Crc(c) => format!("{at:<24} crc    {c:08x}"),
                OtherRecord::Unknown(t) => format!("{at:<24} unknown record type {t}"),
            }
        }
        WalLine::Undecodable { at, error } => format!("{:<24} undecodable {}", place(&at.segment, at.offset), one_line(error)),
        WalLine::Damage(d) => format!("{:<24} DAMAGE {}: {}", place(&d.segment, d.offset), d.kind, one_line(&d.what)),
    }
}

/// The DETAIL cell of an entry: a put's key and size, a delete's range, a txn's shape, a v2
/// request's method and path; other requests as their JSON (what `-o jsonl` shows of them, etcd's
/// bytes fields as text where they are UTF-8: [`text_json`]).
fn entry_detail(e: &EntryLine) -> String {
    let v3 = match &e.request {
        Request::V3 { request, .. } => Some(request.as_ref()),
        _ => None,
    };
    match (e.class, v3, &e.request) {
        ("put", Some(r), _) => match &r.put {
            Some(p) => format!("{} ({} bytes)", printable_key(&p.key), p.value.len()),
            None => "?".into(),
        },
        ("delete", Some(r), _) => match &r.delete_range {
            Some(d) if d.range_end.is_empty() => printable_key(&d.key),
            Some(d) => format!("[{}, {})", printable_key(&d.key), printable_key(&d.range_end)),
            None => "?".into(),
        },
        ("txn", Some(r), _) => match &r.txn {
            Some(t) => format!("{} compares, {} success, {} failure ops", t.compare.len(), t.success.len(), t.failure.len()),
            None => "?".into(),
        },
        (_, _, Request::V2(r)) => format!("{} {}", printable_key(r.method().as_bytes()), printable_key(r.path().as_bytes())),
        (_, _, Request::Empty) => String::new(),
        (_, _, Request::Undecodable(why)) => one_line(why),
        // Conf changes and the other v3 requests: their JSON, as one line.
        _ => match request_view(&e.request, &mut object_value) {
            RequestView::ConfChange(c) => one_line(&text_json(&c)),
            RequestView::ConfChangeV2(c) => one_line(&text_json(&c)),
            RequestView::V3(r) => one_line(&format!("{} {}", r.op, r.body.as_ref().map(text_json).unwrap_or_default())),
            _ => String::new(),
        },
    }
}

/// etcd's bytes fields and the text written beside each in JSON (docs/architecture.md, "Keys,
/// objects and two sides in JSON").
const BYTES_WITH_TEXT: [(&str, &str); 4] = [("key", "keyText"), ("range_end", "rangeEndText"), ("value", "valueText"), ("context", "contextText")];

/// A request's JSON as a table cell shows it: tables show text, so each bytes field that is
/// UTF-8 shows its text under etcd's name; one that is not keeps its base64 there.
fn text_json(request: &impl serde::Serialize) -> String {
    let mut v = serde_json::to_value(request).unwrap_or_default();
    bytes_as_text(&mut v);
    v.to_string()
}

fn bytes_as_text(v: &mut Value) {
    use base64::Engine;
    match v {
        Value::Object(m) => {
            for (name, text_name) in BYTES_WITH_TEXT {
                let Some(Value::String(text)) = m.shift_remove(text_name) else { continue };
                let exact = m.get(name).and_then(Value::as_str).and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
                if exact.as_deref() == Some(text.as_bytes()) {
                    m.insert(name.to_string(), Value::String(text));
                }
            }
            m.values_mut().for_each(bytes_as_text);
        }
        Value::Array(a) => a.iter_mut().for_each(bytes_as_text),
        _ => {}
    }
}
