//! `etcdscope export parquet SRC... --out DIR`: snapshots into one Hive-partitioned Parquet
//! dataset, one after another. Each snapshot is committed on its own, so a damaged backup
//! among a hundred fails alone (reported, the rest exported, exit 2); an interrupt stops the
//! run and leaves the dataset as the last committed snapshot left it. The layout:
//! docs/format/parquet.md; the command: docs/commands/export.md.

use super::export::{announce_history, warn_of};
use super::progress::Bar;
use super::{CliResult, EXIT_BAD_INPUT, EXIT_OK};
use clap::Args;
use etcdscope::snapshot::Snapshot;
use etcdscope::source::Source;
use etcdscope::views::export::parquet::{export_parquet, ParquetOptions, ParquetSummary, PART_BYTES};
use etcdscope::views::export::ExportOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct ParquetArgs {
    /// Snapshot files, member dbs, member dirs or data dirs: each adds its partition to every
    /// table.
    #[arg(required = true)]
    src: Vec<PathBuf>,
    /// The dataset's directory (created if missing; shared by every snapshot exported into it).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Replace a snapshot's partitions when the dataset holds them already (atomically, table
    /// by table).
    #[arg(long)]
    replace: bool,
    /// Add the `revisions` table: every retained revision.
    #[arg(long)]
    history: bool,
    /// Read at this revision (0 = current); the partition's snapshot_revision.
    #[arg(long, default_value_t = 0)]
    rev: i64,
    /// The etcd prefix kube-apiserver was run with (`--etcd-prefix`).
    #[arg(long, default_value = "/registry")]
    etcd_prefix: String,
    /// Partition by this cluster ID (hex, as etcdctl prints it) instead of the one etcd derives
    /// from the members (which changes when a member is replaced).
    #[arg(long, value_name = "HEX", value_parser = parse_hex)]
    cluster_id: Option<u64>,
    /// Begin a new part-<n>.parquet once a table's file passes this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = PART_BYTES)]
    part_size: u64,
    #[command(flatten)]
    decoding: super::decoding::DecodingArgs,
}

fn parse_hex(s: &str) -> Result<u64, String> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    u64::from_str_radix(digits, 16).map_err(|e| format!("not a 64-bit hex number: {e}"))
}

pub fn run(a: &ParquetArgs, out: &mut impl Write) -> CliResult {
    let decoder = a.decoding.decoder_for(&a.etcd_prefix)?;
    let options = ExportOptions {
        history: a.history,
        revision: a.rev,
        etcd_prefix: a.etcd_prefix.clone(),
        wal: None,
        cancel: super::interrupt::watch(),
        other_inputs: a.decoding.input_files(&decoder),
    };
    let parquet = ParquetOptions { replace: a.replace, cluster_id: a.cluster_id, part_bytes: a.part_size.max(1) };
    let (mut failed, mut notes) = (0usize, Vec::new());
    for src in &a.src {
        match one(src, &a.out, &decoder, &options, &parquet) {
            Ok(s) => {
                // Each line as its snapshot is committed: a long fleet run shows its progress.
                writeln!(out, "{}", summary_line(src, &a.out, &s))?;
                out.flush()?;
                notes.extend(s.export.notes.iter().map(|n| format!("{}: {n}", src.display())));
            }
            Err(etcdscope::Error::Interrupted) => return Err(etcdscope::Error::Interrupted.into()),
            Err(e) if a.src.len() > 1 => {
                say!("etcdscope: error: {}: {e}", src.display());
                failed += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
    if failed > 0 {
        say!("etcdscope: {failed} of {} inputs not exported (above); the others are in {}", a.src.len(), a.out.display());
        warn_of(&notes);
        return Ok(EXIT_BAD_INPUT);
    }
    Ok(if notes.is_empty() { EXIT_OK } else { warn_of(&notes) })
}

/// One snapshot into the dataset.
fn one(
    src: &Path,
    dir: &Path,
    decoder: &etcdscope::k8s::decoder::Decoder,
    options: &ExportOptions,
    parquet: &ParquetOptions,
) -> etcdscope::Result<ParquetSummary> {
    let source = Source::open(src)?;
    let snap = Snapshot::open(&source)?;
    if options.history {
        announce_history(&snap, options.revision).map_err(|e| etcdscope::Error::Usage(e.to_string()))?;
    }
    let mut bar = Bar::new();
    export_parquet(&snap, decoder, dir, options, parquet, &mut |p| bar.update(p))
}

fn summary_line(src: &Path, dir: &Path, s: &ParquetSummary) -> String {
    let e = &s.export;
    format!(
        "{} -> {}/*/{}{}: {} keys, {} objects ({} not decoded), {} revisions, {} leases, {} members; {} files, {} bytes",
        src.display(),
        dir.display(),
        s.partition.dir(),
        if s.replaced { " (replaced)" } else { "" },
        e.keys,
        e.objects,
        e.undecoded,
        e.revisions,
        e.leases,
        e.members,
        s.files(),
        s.bytes()
    )
}
