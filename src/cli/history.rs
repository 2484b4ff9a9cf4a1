//! `etcdscope history SRC KEY|TYPE/NAME|TYPE`: every retained revision, oldest first.
//! `-o jsonl` writes one watch event a line (the view's typed [`EventRecord`]: etcdctl's `type`
//! and `kv`, plus the decoded object and its changes); `-o json`/`yaml` one document; the table
//! one row per event, from the typed event.

use super::format::{cell, human_size, kubectl_table, printable_key};
use super::{CliError, CliResult, EXIT_FINDINGS, EXIT_OK};
use clap::{Args, ValueEnum};
use etcdscope::k8s::fields::Change;
use etcdscope::k8s::key::Namespace;
use etcdscope::snapshot::Snapshot;
use etcdscope::source::Source;
use etcdscope::views::history::{
    history_each_reporting, nothing_found, revisions_searched, DocumentHead, DocumentTail, Event, EventKind, EventRecord, HistoryQuery, HistorySummary,
    NothingFound, Target,
};
use serde_json::{Map, Value};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

#[derive(Args)]
pub struct HistoryArgs {
    /// Snapshot file, member db, member dir or data dir.
    src: PathBuf,
    /// A key (starting with /, or any bytes with --key or --prefix), TYPE/NAME, or TYPE for
    /// every object of the type.
    target: OsString,
    /// Every key starting with TARGET ("" with --prefix: every key).
    #[arg(long)]
    prefix: bool,
    /// TARGET is a key even without a leading slash.
    #[arg(long)]
    key: bool,
    /// The namespace of TYPE's objects, as kubectl -n.
    #[arg(short = 'n', long)]
    namespace: Option<String>,
    /// TYPE's objects in every namespace, as kubectl -A.
    #[arg(short = 'A', long)]
    all_namespaces: bool,
    /// First revision shown (refused below the compaction revision, as etcd refuses a watch).
    #[arg(long)]
    from_rev: Option<i64>,
    /// Last revision shown.
    #[arg(long)]
    to_rev: Option<i64>,
    /// Only what happened after TIME (RFC 3339): the revisions after the one `get --at TIME`
    /// reads (resolved from the timestamps objects carry; said on stderr).
    #[arg(long, value_name = "TIME", conflicts_with = "from_rev")]
    since: Option<String>,
    /// Only what happened up to TIME (RFC 3339): up to the revision `get --at TIME` reads.
    #[arg(long, value_name = "TIME", conflicts_with = "to_rev")]
    until: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_name = "FORMAT", value_enum, default_value_t = Format::Table)]
    output: Format,
    #[command(flatten)]
    compare: super::decoding::CompareArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
    Jsonl,
    Yaml,
}

fn target(a: &HistoryArgs) -> Result<(Target, bool), CliError> {
    let raw = a.target.as_bytes();
    if a.prefix {
        return Ok((Target::Prefix(raw.to_vec()), false));
    }
    if a.key || raw.starts_with(b"/") {
        return Ok((Target::Key(raw.to_vec()), true));
    }
    let text = a.target.to_str().ok_or_else(|| CliError::Usage("TYPE/NAME must be text; give a binary key with --key".into()))?;
    let (type_name, name) = match text.split_once('/') {
        Some((t, n)) if !t.is_empty() && !n.is_empty() => (t.to_string(), Some(n.to_string())),
        Some(_) => return Err(CliError::Usage(format!("{text:?} is neither TYPE/NAME nor a key starting with /"))),
        None => (text.to_string(), None),
    };
    let namespace = match (&a.namespace, a.all_namespaces) {
        (_, true) => Namespace::All,
        (Some(n), false) => Namespace::One(n.clone()),
        (None, false) => Namespace::Default,
    };
    let single = name.is_some();
    Ok((Target::Objects { type_name, name, namespace }, single))
}

pub fn run(a: &HistoryArgs, out: &mut impl Write) -> CliResult {
    let decoder = a.compare.decoding.decoder_for(&a.compare.etcd_prefix)?;
    let (target, single) = target(a)?;
    let mut query = HistoryQuery {
        target,
        from_rev: a.from_rev,
        to_rev: a.to_rev,
        etcd_prefix: a.compare.etcd_prefix.clone(),
        all_fields: a.compare.all_fields,
        cancel: super::interrupt::watch(),
    };
    let source = Source::open(&a.src)?;
    let snap = Snapshot::open(&source)?;
    if a.since.is_some() || a.until.is_some() {
        let asked: Vec<(&str, &str)> = [("--since", &a.since), ("--until", &a.until)].into_iter().filter_map(|(f, t)| Some((f, t.as_deref()?))).collect();
        let mut resolved = super::at::resolve(&snap, &decoder, &a.compare.etcd_prefix, &asked)?.into_iter();
        if a.since.is_some() {
            query.from_rev = resolved.next().map(|r| r.revision + 1);
        }
        if a.until.is_some() {
            query.to_rev = resolved.next().map(|r| r.revision);
        }
        let last = query.to_rev.unwrap_or_else(|| snap.store().current_revision());
        if let Some(first) = query.from_rev.filter(|f| *f > last) {
            say!("note: no revision lies after revision {} and up to revision {last}: nothing happened in that time", first - 1);
            return Ok(EXIT_OK);
        }
    }
    let mut findings = false;
    let mut doc = Document::new(a.output, &DocumentHead::of(&snap, &query));
    let mut rows = Vec::new();
    let mut bar = super::progress::Bar::new();
    let summary = match history_each_reporting(
        &snap,
        &query,
        &decoder,
        &mut |e| {
            if let Some(Err(reason)) = &e.object {
                say!("etcdscope: warning: {} at revision {}: {reason}", printable_key(e.kv.key), e.revision.main);
                findings = true;
            }
            match a.output {
                Format::Jsonl => {
                    let mut line = serde_json::to_vec(&e.record()).map_err(|err| super::stdout_error(err.into()))?;
                    line.push(b'\n');
                    out.write_all(&line).map_err(super::stdout_error)?;
                }
                Format::Json | Format::Yaml => doc.event(&e.record(), out).map_err(super::stdout_error)?,
                Format::Table => rows.push(table_row(&e)),
            }
            Ok(())
        },
        &mut |p| bar.update(p),
    ) {
        Ok(summary) => {
            drop(bar);
            summary
        }
        Err(etcdscope::Error::Usage(m)) if matches!(query.target, Target::Objects { .. }) && m.contains("resource type") => {
            return Err(CliError::Usage(format!("{m} (a key not starting with / needs --key or --prefix)")));
        }
        Err(e) => return Err(e.into()),
    };
    notes(&summary, query.from_rev.is_none());
    if let (Some(ns), Format::Table) = (&summary.namespaces, a.output) {
        say!("note: {} (-n NS for another, -A for all)", ns.describe());
    }
    match a.output {
        Format::Jsonl => {}
        Format::Json | Format::Yaml => doc.finish(&summary.tail(), out)?,
        Format::Table => {
            if !rows.is_empty() {
                out.write_all(table(rows).as_bytes())?;
            }
        }
    }
    if summary.events == 0 {
        say!(
            "{}",
            nothing_found_text(&nothing_found(&snap, &query, &decoder)?, &summary, &a.target.to_string_lossy(), a.namespace.as_deref().unwrap_or("default"))
        );
        findings |= single;
    }
    Ok(if findings { EXIT_FINDINGS } else { EXIT_OK })
}

/// `-o json` / `-o yaml`: one document written event by event, so a long history is never held.
/// JSON: the view's [`DocumentHead`], `events`, then its [`DocumentTail`] (known only at the
/// end); YAML: the same members in order, as kubectl's emitter sorts them.
struct Document {
    format: Format,
    head: Map<String, Value>,
    events: usize,
}

impl Document {
    fn new(format: Format, head: &DocumentHead) -> Document {
        Document { format, head: members(head), events: 0 }
    }

    fn event(&mut self, e: &EventRecord<'_>, out: &mut impl Write) -> std::io::Result<()> {
        if self.events == 0 {
            out.write_all(self.opening().as_bytes())?;
        } else if self.format == Format::Json {
            out.write_all(b",\n")?;
        }
        self.events += 1;
        if self.format == Format::Json {
            let text = serde_json::to_string_pretty(e)?;
            write!(out, "    {}", text.replace('\n', "\n    "))
        } else {
            let value = serde_json::to_value(e)?;
            out.write_all(super::get::yaml_list_item(&etcdscope::k8s::yaml::to_yaml(&value)).as_bytes())
        }
    }

    /// Everything before the first event.
    fn opening(&self) -> String {
        match self.format {
            Format::Json => {
                let mut t = String::from("{\n");
                for (name, v) in &self.head {
                    t.push_str(&format!("  {}: {v},\n", Value::from(name.as_str())));
                }
                t.push_str("  \"events\": [\n");
                t
            }
            _ => {
                let before: Map<String, Value> = self.head.iter().filter(|(n, _)| n.as_str() < EVENTS).map(|(n, v)| (n.clone(), v.clone())).collect();
                format!("{}{EVENTS}:\n", etcdscope::k8s::yaml::to_yaml(&Value::Object(before)))
            }
        }
    }

    fn finish(self, tail: &DocumentTail<'_>, out: &mut impl Write) -> std::io::Result<()> {
        let tail = members(tail);
        match self.format {
            Format::Json => {
                if self.events == 0 {
                    out.write_all(self.opening().trim_end_matches("[\n").as_bytes())?;
                    out.write_all(b"[]")?;
                } else {
                    out.write_all(b"\n  ]")?;
                }
                for (name, v) in &tail {
                    write!(out, ",\n  {}: {v}", Value::from(name.as_str()))?;
                }
                out.write_all(b"\n}\n")
            }
            _ => {
                if self.events == 0 {
                    out.write_all(self.opening().trim_end_matches('\n').as_bytes())?;
                    out.write_all(b" []\n")?;
                }
                let after: Map<String, Value> = self.head.into_iter().filter(|(n, _)| n.as_str() > EVENTS).chain(tail).collect();
                out.write_all(etcdscope::k8s::yaml::to_yaml(&Value::Object(after)).as_bytes())
            }
        }
    }
}

/// The member the events are written under.
const EVENTS: &str = "events";

/// A record's members, in order.
fn members(record: &impl serde::Serialize) -> Map<String, Value> {
    match serde_json::to_value(record) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// Why nothing was found, in a sentence: never a revision below what etcd keeps.
fn nothing_found_text(why: &NothingFound, s: &HistorySummary, asked: &str, namespace: &str) -> String {
    let (from, to) = revisions_searched(s);
    let asked = super::format::one_line(asked);
    match why {
        NothingFound::OutsideRange { first, last } => {
            format!("No revisions of {asked} between revisions {from} and {to}; its retained revisions are {first} to {last}.")
        }
        NothingFound::OtherNamespaces { namespaces } if namespaces.is_empty() => format!("No {asked} in any namespace (revisions {from} to {to} searched)."),
        NothingFound::OtherNamespaces { namespaces } => {
            format!(
                "No {asked} in namespace {} (revisions {from} to {to} searched); there are some in: {} (-n NS, or -A for all).",
                namespace,
                namespaces.join(", ")
            )
        }
        NothingFound::NoTrace { near } => {
            let why = if s.compact_revision > 0 {
                format!(
                    "(revisions {from} to {to} searched, compacted at {c}): it never existed, or it was deleted at or before revision {c} and etcd keeps nothing of it",
                    c = s.compact_revision
                )
            } else {
                format!("(revisions {from} to {to} searched, nothing compacted): it never existed in this keyspace")
            };
            let near = if near.is_empty() { String::new() } else { format!("; did you mean {}?", near.join(", or ")) };
            format!("No revision of {asked} is retained {why}{near}")
        }
    }
}

fn notes(s: &HistorySummary, from_oldest: bool) {
    if from_oldest && s.compact_revision > 0 && s.oldest_retained > 0 && s.oldest_retained < s.compact_revision {
        say!(
            "note: compacted at revision {c}: history before it is gone; entries older than {c} are only each key's state at {c} (etcd replays history from --from-rev {c})",
            c = s.compact_revision
        );
    }
}

struct Row {
    revision: String,
    event: &'static str,
    namespace: String,
    name: String,
    version: String,
    created: String,
    lease: String,
    size: String,
    changes: String,
}

fn table_row(e: &Event<'_>) -> Row {
    let (namespace, name) = match &e.object_id {
        Some(id) => (id.namespace.as_deref().map(cell).unwrap_or_default(), cell(&id.kubectl_name())),
        None => (String::new(), printable_key(e.kv.key)),
    };
    let revision = if e.revision.sub == 0 { e.revision.main.to_string() } else { format!("{}.{}", e.revision.main, e.revision.sub) };
    let changes = match (e.kind, &e.previous, &e.changes) {
        (EventKind::Update, Some(prev), _) if prev.same_value => "same value written again".to_string(),
        (EventKind::Update, _, Some(c)) if c.is_empty() => "no field changed (managedFields or resourceVersion only)".to_string(),
        (EventKind::Update, _, Some(c)) => summarize(c),
        (EventKind::Update, Some(prev), None) => format!("value {} → {}", human_size(prev.value_size as u64), human_size(e.value_size as u64)),
        (EventKind::Update, None, _) => "previous revision compacted".to_string(),
        _ if e.before_compaction => "state at the compaction".to_string(),
        _ => String::new(),
    };
    Row {
        revision,
        event: e.kind.as_str(),
        namespace,
        name,
        version: if e.kind == EventKind::Delete { "-".into() } else { e.kv.version.to_string() },
        created: e.incarnation.map(|i| i.to_string()).unwrap_or_else(|| "-".into()),
        lease: if e.kv.lease == 0 { "-".into() } else { format!("{:016x}", e.kv.lease as u64) },
        size: if e.kind == EventKind::Delete { "-".into() } else { human_size(e.value_size as u64) },
        changes,
    }
}

/// The first few changed paths with their values, then how many more.
pub fn summarize(changes: &[Change]) -> String {
    summarize_with(changes, 3, 32)
}

/// The first `shown` changes as `path: old → new`, values cut to `max` characters.
pub fn summarize_with(changes: &[Change], shown: usize, max: usize) -> String {
    let mut parts: Vec<String> = changes.iter().take(shown).map(|c| format!("{}: {} → {}", cell(&c.path), short(&c.old, max), short(&c.new, max))).collect();
    if changes.len() > shown {
        parts.push(format!("+{} more", changes.len() - shown));
    }
    parts.join("; ")
}

fn short(v: &Option<Value>, max: usize) -> String {
    let text = match v {
        None => return "(none)".into(),
        Some(v) => v.to_string(),
    };
    let text: Vec<char> = printable_key(text.as_bytes()).chars().collect();
    if text.len() <= max {
        return text.into_iter().collect();
    }
    // Keep both ends: long values (uids, timestamps, hashes) often differ only at the end.
    let tail = max.saturating_sub(1) / 2;
    let head = max.saturating_sub(1) - tail;
    let mut cut: String = text[..head].iter().collect();
    cut.push('…');
    cut.extend(&text[text.len() - tail..]);
    cut
}

fn table(rows: Vec<Row>) -> String {
    let with_ns = rows.iter().any(|r| !r.namespace.is_empty());
    let mut cells = Vec::with_capacity(rows.len() + 1);
    let mut header = vec!["REVISION", "EVENT"];
    if with_ns {
        header.push("NAMESPACE");
    }
    header.extend(["NAME", "VERSION", "CREATED", "LEASE", "SIZE", "CHANGES"]);
    cells.push(header.into_iter().map(String::from).collect::<Vec<_>>());
    for r in rows {
        let mut row = vec![r.revision, r.event.to_string()];
        if with_ns {
            row.push(if r.namespace.is_empty() { "-".into() } else { r.namespace });
        }
        row.extend([r.name, r.version, r.created, r.lease, r.size, r.changes]);
        cells.push(row);
    }
    kubectl_table(&cells)
}
