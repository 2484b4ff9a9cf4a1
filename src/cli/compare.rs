//! `etcdscope compare SRC SRC…`: members side by side (docs/commands/compare.md).
//! Exit 0 when the keyspaces agree at the common revision, 1 when they differ, 2 unreadable.

use super::format::{one_line, table};
use super::formats::TableOrJson;
use super::{CliError, CliResult, EXIT_FINDINGS, EXIT_OK};
use clap::Args;
use etcdscope::snapshot::Snapshot;
use etcdscope::source::Source;
use etcdscope::views::cluster::{cluster_id, different_clusters};
use etcdscope::views::compare::compare;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct CompareArgs {
    /// Two or more data dirs, member dirs, dbs or snapshot files (the first is the reference).
    #[arg(required = true, num_args = 2..)]
    src: Vec<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long, value_name = "FORMAT", value_enum, default_value_t = TableOrJson::Table)]
    output: TableOrJson,
    /// Compare members of different clusters (refused otherwise, exit 2).
    #[arg(long)]
    allow_different_clusters: bool,
}

pub fn run(a: &CompareArgs, out: &mut impl Write) -> CliResult {
    let sources: Vec<Source> = a.src.iter().map(Source::open).collect::<Result<_, _>>()?;
    if !a.allow_different_clusters {
        // Checked before anything is hashed: refusing costs only the membership reads.
        let snaps: Vec<Snapshot<'_>> = sources.iter().map(Snapshot::open).collect::<Result<_, _>>()?;
        let inputs: Vec<String> = a.src.iter().map(|p| one_line(&p.display().to_string())).collect();
        let ids: Vec<(&str, Option<u64>)> = inputs.iter().zip(&snaps).map(|(i, s)| (i.as_str(), cluster_id(s))).collect();
        if let Some(mismatch) = different_clusters(&ids) {
            return Err(CliError::Usage(format!("{mismatch}; pass --allow-different-clusters to compare them anyway")));
        }
    }
    // SIGINT/SIGTERM stop the comparison at the next key (exit 130).
    let c = compare(&sources, &super::interrupt::watch())?;
    for w in &c.warnings {
        say!("etcdscope: warning: {w}");
    }
    if a.output == TableOrJson::Json {
        serde_json::to_writer_pretty(&mut *out, &c).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        let mut rows = vec![["INPUT", "MEMBER", "CLUSTER", "REVISION", "COMPACTED", "INDEX", "TERM", "KEYS", "HASHKV", "BEHIND"].map(String::from).to_vec()];
        for m in &c.members {
            let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
            let behind = if m.behind_entries == 0 && m.behind_revisions == 0 {
                "-".to_string()
            } else {
                format!("{} entries, {} revisions", m.behind_entries, m.behind_revisions)
            };
            rows.push(vec![
                one_line(&m.input),
                m.member_id.clone().unwrap_or_else(|| "-".into()),
                m.cluster_id.clone(),
                m.revision.to_string(),
                m.compact_revision.to_string(),
                opt(m.consistent_index),
                opt(m.term),
                m.keys.to_string(),
                if c.comparable { m.hash_kv.to_string() } else { "-".into() },
                behind,
            ]);
        }
        out.write_all(table(&rows).as_bytes())?;
        if !c.comparable {
            writeln!(out, "not comparable: a member compacted beyond revision {}, the newest one they all hold", c.common_revision)?;
        } else if c.agree {
            writeln!(out, "the keyspaces agree at revision {} (the newest all hold)", c.common_revision)?;
        }
        for d in &c.divergences {
            let state = |k: &etcdscope::views::compare::KeyAt| {
                if k.present {
                    format!("mod revision {}, version {}, {} bytes", k.mod_revision, k.version, k.value_size)
                } else {
                    "absent".into()
                }
            };
            writeln!(
                out,
                "{} differs from {} at revision {}: {} of {} key ranges; first at key {} ({}: {}; {}: {})",
                one_line(&c.members[d.member].input),
                one_line(&c.members[0].input),
                c.common_revision,
                d.ranges_differing,
                d.ranges,
                one_line(&d.first_key),
                one_line(&c.members[0].input),
                state(&d.first),
                one_line(&c.members[d.member].input),
                state(&d.other)
            )?;
        }
    }
    Ok(if c.comparable && c.agree { EXIT_OK } else { EXIT_FINDINGS })
}
