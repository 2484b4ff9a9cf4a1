//! `etcdscope analyze SRC [--by …] [--top N]`: where the keyspace's bytes go
//! (docs/commands/analyze.md).

use super::format::{human_size, one_line, table};
use super::formats::TableOrJson;
use super::{CliError, CliResult, EXIT_FINDINGS, EXIT_OK};
use clap::Args;
use etcdscope::snapshot::Snapshot;
use etcdscope::source::Source;
use etcdscope::views::analyze::{analyze, Analysis, GroupBy};
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct AnalyzeArgs {
    /// Snapshot file, member db, member dir or data dir.
    src: PathBuf,
    /// resource, namespace, or prefix[:depth] (key segments; depth 2 by default).
    #[arg(long, default_value = "resource")]
    by: String,
    /// How many keys to list by history bytes.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// The etcd prefix kube-apiserver was run with (`--etcd-prefix`).
    #[arg(long, default_value = "/registry")]
    etcd_prefix: String,
    /// Output format (json is treemap-ready: groups with their bytes, and the top keys).
    #[arg(short = 'o', long, value_name = "FORMAT", value_enum, default_value_t = TableOrJson::Table)]
    output: TableOrJson,
    #[command(flatten)]
    decoding: super::decoding::DecodingArgs,
}

fn group_by(s: &str) -> Result<GroupBy, CliError> {
    match s.split_once(':') {
        None if s == "resource" => Ok(GroupBy::Resource),
        None if s == "namespace" => Ok(GroupBy::Namespace),
        None if s == "prefix" => Ok(GroupBy::Prefix(2)),
        Some(("prefix", d)) => {
            d.parse().ok().filter(|d| *d > 0).map(GroupBy::Prefix).ok_or_else(|| CliError::Usage(format!("--by {s}: the depth is a number from 1")))
        }
        _ => Err(CliError::Usage(format!("--by {s}: resource, namespace or prefix[:depth]"))),
    }
}

pub fn run(a: &AnalyzeArgs, out: &mut impl Write) -> CliResult {
    let by = group_by(&a.by)?;
    let decoder = a.decoding.decoder_for(&a.etcd_prefix)?;
    let source = Source::open(&a.src)?;
    // SIGINT/SIGTERM stop the pass soon (exit 130): it is long on multi-GB files.
    let r = analyze(&Snapshot::open(&source)?, &decoder, &a.etcd_prefix, &by, a.top, &super::interrupt::watch())?;
    if a.output == TableOrJson::Json {
        serde_json::to_writer_pretty(&mut *out, &treemap(&r)).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        print_table(&r, out)?;
    }
    Ok(if r.member_damage.is_empty() { EXIT_OK } else { EXIT_FINDINGS })
}

/// The analysis plus a `treemap` node tree: {name, value (history bytes), children}.
fn treemap(r: &Analysis) -> serde_json::Value {
    let children: Vec<serde_json::Value> =
        r.groups.iter().map(|g| serde_json::json!({"name": g.name, "value": g.history_bytes, "live": g.live_bytes})).collect();
    let mut v = serde_json::to_value(r).unwrap_or_default();
    v["treemap"] = serde_json::json!({"name": "keyspace", "value": r.total.history_bytes, "children": children});
    v
}

fn print_table(r: &Analysis, out: &mut impl Write) -> std::io::Result<()> {
    let mut rows = vec![["GROUP", "KEYS", "LIVE", "REVISIONS", "HISTORY", "REV/KEY", "TOMBSTONES", "LEASED", "COMPACTABLE"].map(String::from).to_vec()];
    for g in r.groups.iter().chain(std::iter::once(&r.total)) {
        rows.push(vec![
            one_line(&g.name),
            g.keys.to_string(),
            human_size(g.live_bytes),
            g.revisions.to_string(),
            human_size(g.history_bytes),
            format!("{:.1}", g.revisions as f64 / g.keys.max(1) as f64),
            g.tombstones.to_string(),
            g.leased_keys.to_string(),
            human_size(g.compactable_bytes),
        ]);
    }
    writeln!(out, "by {} at revision {} (compacted at {})", r.by, r.revision, r.compact_revision)?;
    out.write_all(table(&rows).as_bytes())?;
    if !r.top.is_empty() {
        writeln!(out)?;
        let mut rows = vec![["KEY", "GROUP", "REVISIONS", "HISTORY", "LIVE"].map(String::from).to_vec()];
        for t in &r.top {
            rows.push(vec![one_line(&t.key), one_line(&t.group), t.revisions.to_string(), human_size(t.history_bytes), human_size(t.live_bytes)]);
        }
        out.write_all(table(&rows).as_bytes())?;
    }
    writeln!(out)?;
    writeln!(out, "file {}; in use {}; free pages {}", human_size(r.file_bytes), human_size(r.in_use_bytes), human_size(r.free_bytes))?;
    writeln!(
        out,
        "defragment now: gives back {}; compact at {} then defragment: about {}",
        human_size(r.defrag_now_bytes),
        r.revision,
        human_size(r.compact_then_defrag_bytes)
    )?;
    for q in &r.quota {
        writeln!(out, "quota {}: the file is {:.1}% of it, in use {:.1}%", human_size(q.quota_bytes), q.file_percent, q.in_use_percent)?;
    }
    let m = &r.members;
    if r.member_damage.is_empty() {
        writeln!(out, "members {} ({} voting): quorum {}, {} may fail", m.members, m.voters, m.quorum, m.tolerates)?;
    } else {
        writeln!(out, "members {} read ({} voting), {} unreadable: quorum unknown", m.members, m.voters, r.member_damage.len())?;
    }
    for n in &r.notes {
        // Notes name groups (namespaces, prefixes) read from the file: escaped.
        writeln!(out, "note: {}", one_line(n))?;
    }
    Ok(())
}
