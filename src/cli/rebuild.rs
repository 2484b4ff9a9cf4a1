//! `etcdscope rebuild SRC --out DIR`: a new member data dir, as `etcdutl snapshot restore`
//! writes one (docs/commands/rebuild.md).

use super::formats::TableOrJson;
use super::{CliResult, EXIT_OK};
use clap::Args;
use etcdscope::snapshot::Snapshot;
use etcdscope::source::Source;
use etcdscope::views::rebuild::cluster::ClusterFlags;
use etcdscope::views::rebuild::start::{shell_line, start_command, ServeUrls};
use etcdscope::views::rebuild::{plan, rebuild, RebuildOptions, RebuildPlan, RebuildReport};
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct RebuildArgs {
    /// Snapshot file (`etcdctl snapshot save`), member db, member dir or data dir.
    src: PathBuf,
    /// The data dir to create (must not exist, or be empty). etcd starts with --data-dir DIR.
    #[arg(long)]
    out: PathBuf,
    /// This member's name (etcd's --name).
    #[arg(long, default_value = "default")]
    name: String,
    /// The new cluster: name=peerURL,… (etcd's --initial-cluster).
    #[arg(long, default_value = "default=http://localhost:2380")]
    initial_cluster: String,
    /// The new cluster's token; member and cluster IDs derive from it.
    #[arg(long, default_value = "etcd-cluster")]
    initial_cluster_token: String,
    /// This member's peer URLs; must match its entry in --initial-cluster.
    #[arg(long, default_value = "http://localhost:2380")]
    initial_advertise_peer_urls: String,
    /// For the printed etcd command line: the URLs the member listens on for peers (default: the
    /// --initial-advertise-peer-urls).
    #[arg(long)]
    listen_peer_urls: Option<String>,
    /// For the printed etcd command line: the member's client URLs (etcd's --advertise-client-urls).
    #[arg(long, default_value = "http://localhost:2379")]
    advertise_client_urls: String,
    /// For the printed etcd command line: the URLs the member listens on for clients (default:
    /// the --advertise-client-urls).
    #[arg(long)]
    listen_client_urls: Option<String>,
    /// Use a file without (or with a wrong) sha256 trailer, e.g. a member's db.
    #[arg(long)]
    skip_hash_check: bool,
    /// The keyspace as it was at this revision (≥ the compact revision); later history dropped.
    #[arg(long)]
    to_revision: Option<i64>,
    /// Add N to the latest revision (so watchers never see revisions go back); needs --mark-compacted.
    #[arg(long)]
    bump_revision: Option<i64>,
    /// Mark the (bumped) latest revision compacted, as etcdutl does.
    #[arg(long)]
    mark_compacted: bool,
    /// A member's WAL (its data dir, member dir or wal dir): replay the committed entries after
    /// the snapshot's consistent index (up to --to-index or --to-revision).
    #[arg(long)]
    wal: Option<PathBuf>,
    /// With --wal: replay entries up to this raft index.
    #[arg(long)]
    to_index: Option<u64>,
    /// With --wal: replay a WAL whose metadata names a member the snapshot's cluster never had.
    #[arg(long)]
    force_foreign_wal: bool,
    /// Print what would be written (IDs, consistent index, revisions, warnings), write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Output format.
    #[arg(short = 'o', long, value_name = "FORMAT", value_enum, default_value_t = TableOrJson::Table)]
    output: TableOrJson,
}

pub fn run(args: &RebuildArgs, out: &mut impl Write) -> CliResult {
    let options = RebuildOptions {
        cluster: ClusterFlags {
            name: args.name.clone(),
            initial_cluster: args.initial_cluster.clone(),
            token: args.initial_cluster_token.clone(),
            advertise_peer_urls: args.initial_advertise_peer_urls.clone(),
        },
        skip_hash_check: args.skip_hash_check,
        to_revision: args.to_revision,
        bump_revision: args.bump_revision,
        mark_compacted: args.mark_compacted,
        wal: args.wal.clone(),
        to_index: args.to_index,
        force_foreign_wal: args.force_foreign_wal,
        // SIGINT/SIGTERM stop the rebuild at the next entry; its temp dir is removed (exit 130).
        cancel: super::interrupt::watch(),
    };
    let serve = ServeUrls {
        advertise_client_urls: args.advertise_client_urls.clone(),
        listen_client_urls: args.listen_client_urls.clone().unwrap_or_else(|| args.advertise_client_urls.clone()),
        listen_peer_urls: args.listen_peer_urls.clone().unwrap_or_else(|| args.initial_advertise_peer_urls.clone()),
    };
    // The data dir as an absolute path, so the printed line works from any directory.
    let data_dir = std::path::absolute(&args.out)?;
    let argv = start_command(&options.cluster, &data_dir, &serve)?;
    let line = shell_line(&argv)?;
    let source = Source::open(&args.src)?;
    let snap = Snapshot::open(&source)?;
    if args.dry_run {
        let (plan, _, _) = plan(&snap, &options)?;
        etcdscope::views::rebuild::check_out(&args.out)?;
        if args.output == TableOrJson::Json {
            let doc = RebuildReport { dry_run: true, plan: &plan, written: None, start_command: &argv };
            serde_json::to_writer_pretty(&mut *out, &doc).map_err(std::io::Error::from)?;
            writeln!(out)?;
        } else {
            print_plan(&plan, out)?;
            writeln!(out, "dry run: nothing written")?;
            writeln!(out, "start it with     {line}")?;
        }
        return Ok(EXIT_OK);
    }
    let (plan, summary) = rebuild(&snap, &options, &args.out)?;
    if args.output == TableOrJson::Json {
        let doc = RebuildReport { dry_run: false, plan: &plan, written: Some(&summary), start_command: &argv };
        serde_json::to_writer_pretty(&mut *out, &doc).map_err(std::io::Error::from)?;
        writeln!(out)?;
        return Ok(EXIT_OK);
    }
    print_plan(&plan, out)?;
    let pct = if summary.source_db_bytes > 0 { 100.0 * (1.0 - summary.db_bytes as f64 / summary.source_db_bytes as f64) } else { 0.0 };
    writeln!(out, "db                {} ({} bytes; the source's is {}, {pct:.1}% smaller)", summary.db.display(), summary.db_bytes, summary.source_db_bytes)?;
    writeln!(out, "wal               {}", summary.wal.display())?;
    writeln!(out, "snap              {}", summary.snap.display())?;
    writeln!(out, "start it with     {line}")?;
    Ok(EXIT_OK)
}

fn print_plan(plan: &RebuildPlan, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "member            {} ({:x})", plan.name, plan.member_id)?;
    writeln!(out, "cluster           {:x}, {} member(s)", plan.cluster_id, plan.members.len())?;
    for m in &plan.members {
        writeln!(out, "  {:<16} {:x}  {}", m.name, m.id, m.peer_urls.join(","))?;
    }
    writeln!(out, "consistent index  {} (term {})", plan.consistent_index, plan.term)?;
    let mut rev = format!("{} (source {}, compacted at {})", plan.revision, plan.source_revision, plan.compact_revision);
    if plan.dropped_revisions > 0 {
        rev.push_str(&format!("; {} later revision(s) dropped", plan.dropped_revisions));
    }
    if let Some(n) = plan.bumped_by {
        rev.push_str(&format!("; bumped by {n} and marked compacted"));
    }
    writeln!(out, "revision          {rev}")?;
    if let Some(r) = &plan.wal_applied {
        writeln!(
            out,
            "wal replay        entries {}..{} ({} applied, {} wrote keys, {} refused as etcd refused them); stopped at {}",
            r.from_index + 1,
            r.to_index,
            r.entries,
            r.writes,
            r.refused,
            r.stopped
        )?;
        writeln!(
            out,
            "                  revision {}, compacted at {}, {} lease(s) granted, {} revoked",
            r.revision, r.compact_revision, r.leases_granted, r.leases_revoked
        )?;
    }
    writeln!(out, "trailer           {}", plan.trailer)?;
    for w in &plan.warnings {
        writeln!(out, "warning: {w}")?;
    }
    Ok(())
}
