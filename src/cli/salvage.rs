//! `etcdscope salvage SRC --out NEW.db`: what a damaged file still holds, as a clean snapshot
//! (docs/commands/salvage.md).

use super::{CliError, CliResult, EXIT_FINDINGS, EXIT_OK};
use clap::Args;
use etcdscope::source::Source;
use etcdscope::views::salvage::{salvage, SalvageOptions};
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct SalvageArgs {
    /// The damaged snapshot file, member db, member dir or data dir.
    src: PathBuf,
    /// The snapshot file to write (must not exist); it gets a sha256 trailer.
    #[arg(long)]
    out: PathBuf,
    /// Also keep revisions a compaction had removed that free pages still hold (old values,
    /// deleted objects' last versions).
    #[arg(long)]
    free_pages: bool,
    /// Also export what was recovered to this SQLite database (the tables of `export sqlite`,
    /// with the revisions table), to query it at once.
    #[arg(long)]
    export_sqlite: Option<PathBuf>,
    /// table or json
    #[arg(short = 'o', long, default_value = "table")]
    output: String,
    #[command(flatten)]
    decoding: super::decoding::DecodingArgs,
}

pub fn run(a: &SalvageArgs, out: &mut impl Write) -> CliResult {
    super::format::table_or_json(&a.output, "salvage")?;
    if a.out.exists() {
        return Err(CliError::Usage(format!("{}: exists; salvage writes a new file", a.out.display())));
    }
    if let Some(db) = &a.export_sqlite {
        if db.exists() {
            return Err(CliError::Usage(format!("{}: exists; salvage writes a new database", db.display())));
        }
    }
    let source = Source::open(&a.src)?;
    let r = salvage(&source, &a.out, &SalvageOptions { free_pages: a.free_pages })?;
    let exported = match &a.export_sqlite {
        Some(db) => {
            let decoder = a.decoding.decoder()?;
            let salvaged = Source::open(&a.out)?;
            let snap = etcdscope::snapshot::Snapshot::open(&salvaged)?;
            let options = etcdscope::views::export::ExportOptions { history: true, ..Default::default() };
            Some(etcdscope::views::export::export_sqlite(&snap, &decoder, db, &options, false, &mut |_| {})?)
        }
        None => None,
    };
    if a.output == "json" {
        serde_json::to_writer_pretty(&mut *out, &r).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}: {} pages scanned, {} leaf pages, {} reachable from the meta", r.input, r.pages_scanned, r.leaf_pages, r.reachable_pages)?;
        writeln!(out, "damage found: {} finding(s) (etcdscope check lists them)", r.damage.iter().filter(|f| f.severity != etcdscope::bolt::check::Severity::Info).count())?;
        writeln!(
            out,
            "key bucket: {} revisions written ({} only from pages the tree no longer reaches), {} duplicate copies, {} compacted revisions found in free pages ({} written)",
            r.revisions, r.revisions_from_unreachable_pages, r.duplicates, r.compacted_found, r.compacted_written
        )?;
        for b in &r.buckets {
            writeln!(out, "bucket {:<16} {} entries (read by {})", b.name, b.entries, b.read_by)?;
        }
        for n in r.unparseable.iter().take(20) {
            writeln!(out, "not recovered: page {}: {}", n.page, n.what)?;
        }
        if r.unparseable.len() > 20 {
            writeln!(out, "not recovered: {} more", r.unparseable.len() - 20)?;
        }
        if !r.deleted_with_value.is_empty() {
            writeln!(out, "{} deleted key(s) whose last value is still here (history KEY shows it):", r.deleted_with_value.len())?;
            for d in r.deleted_with_value.iter().take(20) {
                writeln!(out, "  {}  deleted at {}, last put at {} ({} bytes)", super::format::one_line(&d.key), d.deleted_at, d.last_put, d.value_size)?;
            }
        }
        writeln!(out, "written: {}", r.out.display())?;
        if let (Some(db), Some(e)) = (&a.export_sqlite, &exported) {
            writeln!(out, "exported: {} ({} keys, {} objects, {} revisions)", db.display(), e.keys, e.objects, e.revisions)?;
        }
    }
    Ok(if r.unparseable.is_empty() { EXIT_OK } else { EXIT_FINDINGS })
}
