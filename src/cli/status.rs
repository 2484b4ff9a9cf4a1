//! `etcdscope status`: the status view as an aligned table for people, or JSON for tools.

use super::format::{human_size, table};
use super::{CliResult, EXIT_FINDINGS, EXIT_OK};
use clap::{Args, ValueEnum};
use etcdscope::snapshot::Snapshot;
use etcdscope::source::{InputKind, Source};
use etcdscope::views::status::{status, Status};
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct StatusArgs {
    /// Snapshot file, member db, member dir or data dir.
    src: PathBuf,
    /// Output format.
    #[arg(short = 'o', long = "output", value_name = "FORMAT", visible_alias = "write-out", short_alias = 'w', value_enum, default_value_t = Format::Table)]
    output: Format,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

pub fn run(a: &StatusArgs, out: &mut impl Write) -> CliResult {
    let source = Source::open(&a.src)?;
    let s = status(&Snapshot::open(&source)?)?;
    match a.output {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &s).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        Format::Table => out.write_all(render_table(&s).as_bytes())?,
    }
    Ok(if s.has_findings() { EXIT_FINDINGS } else { EXIT_OK })
}

fn kind_label(k: InputKind) -> String {
    match k {
        InputKind::Snapshot => "snapshot file".into(),
        InputKind::Db => "bbolt db file".into(),
        InputKind::MemberDir => "member dir".into(),
        InputKind::DataDir => "data dir".into(),
    }
}

fn hex_ids(ids: &[u64]) -> String {
    ids.iter().map(|i| format!("{i:x}")).collect::<Vec<_>>().join(" ")
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(T::to_string).unwrap_or_else(|| "-".into())
}

fn render_table(s: &Status) -> String {
    let row = |k: &str, v: String| vec![k.to_string(), v];
    let damaged = s.member_damage.iter().filter(|d| d.bucket == "members").map(|d| match d.id {
        Some(id) => format!("{id:x} (unreadable: {}; see the warning)", d.what),
        None => format!("? (unreadable, key {:?}: {}; see the warning)", d.key, d.what),
    });
    let members = if s.members.is_empty() && s.member_damage.is_empty() {
        "none recorded".to_string()
    } else {
        s.members
            .iter()
            .map(|m| {
                let learner = if m.is_learner { " (learner)" } else { "" };
                {
                    let clients = if m.client_urls.is_empty() { "(not recorded)".to_string() } else { m.client_urls.join(",") };
                    format!("{:x} {}{learner} peers={} clients={clients}", m.id, m.name, m.peer_urls.join(","))
                }
            })
            .chain(damaged)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let compact = match (s.scheduled_compact_revision, s.finished_compact_revision) {
        (None, None) => "never compacted".to_string(),
        (sch, fin) => format!("{} (scheduled {}, finished {})", s.compact_revision, opt(&sch), opt(&fin)),
    };
    let mut rows = vec![
        row("input", format!("{} ({})", s.input, kind_label(s.input_kind))),
        row("trailer", s.trailer.sentence()),
        row("meta", s.active_meta.reason.clone()),
        row("hash", format!("{:x}", s.hash)),
        row("revision", format!("{} (current revision {})", s.revision, s.current_revision)),
        row("compaction", compact),
        row("keys", format!("{} live, {} revisions, {} tombstones", s.live_keys, s.revisions, s.tombstones)),
        row("total keys", format!("{} (etcdutl's count: entries in all buckets)", s.total_key)),
        row("leases", s.leases.to_string()),
        row("consistent index", opt(&s.consistent_index)),
        row("term", opt(&s.term)),
        row("cluster id", format!("{:x}", s.cluster_id)),
        row("members", members.lines().next().unwrap_or_default().to_string()),
    ];
    for extra in members.lines().skip(1) {
        rows.push(row("", extra.to_string()));
    }
    rows.extend([
        row(
            "quorum",
            if !s.member_damage.is_empty() {
                "- (a member entry could not be read: whether it votes is unknown)".into()
            } else if s.members.is_empty() {
                "-".into()
            } else {
                format!("{} (tolerates {} failed)", s.quorum, s.fault_tolerance)
            },
        ),
        row("confState voters", s.conf_state_voters.as_ref().map(|v| hex_ids(v)).unwrap_or_else(|| "-".into())),
        row("cluster version", opt(&s.cluster_version)),
        row(
            "storage version",
            match (&s.storage_version, s.version.is_empty()) {
                (Some(v), true) => format!("{v} (derived: meta has `term` but no `storageVersion`)"),
                (v, _) => opt(v),
            },
        ),
        row("page size", s.page_size.to_string()),
        row("file size", format!("{} ({} bytes)", human_size(s.file_size), s.file_size)),
        row("total size", format!("{} ({} pages)", human_size(s.total_size), s.high_water_mark)),
        row("in use", human_size(s.in_use_bytes)),
        row(
            "free",
            format!(
                "{} ({} pages; {})",
                human_size(s.free_bytes),
                s.free_pages,
                if s.freelist_persisted { "from the persisted freelist" } else { "unreachable pages; freelist not persisted" }
            ),
        ),
    ]);
    let mut text = table(&rows);
    text.push('\n');
    let mut buckets = vec![["BUCKET", "KEYS", "BRANCH", "LEAF", "OVERFLOW", "ALLOCATED", "USED", "HOLDS"].map(String::from).to_vec()];
    for b in &s.buckets {
        buckets.push(vec![
            b.name.clone(),
            b.keys.to_string(),
            b.branch_pages.to_string(),
            b.leaf_pages.to_string(),
            b.overflow_pages.to_string(),
            if b.inline { "inline".into() } else { human_size(b.allocated_bytes) },
            human_size(b.used_bytes),
            b.description.to_string(),
        ]);
    }
    text.push_str(&table(&buckets));
    for w in &s.warnings {
        text.push_str(&format!("\nwarning: {w}"));
    }
    if !s.warnings.is_empty() {
        text.push('\n');
    }
    text
}
