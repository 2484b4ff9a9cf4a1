//! `etcdscope salvage SRC --out NEW.db`: what a damaged file still holds, as a clean snapshot,
//! and what was lost, admitted, left out or uncertain (docs/commands/salvage.md).
//!
//! OUT and `--export-sqlite` are refused before any work when they exist, and their temporaries
//! are made before the input is read (a directory that cannot be written is refused at once).
//! Both stay pending until both are whole; then the export is renamed into place and OUT right
//! after it (should OUT's rename fail, the export just renamed is removed again). SIGINT/SIGTERM
//! stop the scan, the writing or the export at the next page or row (exit 130) and leave
//! neither.

use super::format::{cell, one_line};
use super::formats::TableOrJson;
use super::{CliError, CliResult, EXIT_FINDINGS, EXIT_OK};
use clap::Args;
use etcdscope::bolt::check::Severity;
use etcdscope::output::PendingFile;
use etcdscope::source::Source;
use etcdscope::views::salvage::{salvage_into, Gap, RevisionNote, SalvageOptions, SalvageReport};
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct SalvageArgs {
    /// The damaged snapshot file, member db, member dir or data dir.
    src: PathBuf,
    /// The snapshot file to write (must not exist); it gets a sha256 trailer.
    #[arg(long)]
    out: PathBuf,
    /// Also write every revision found only in pages the tree no longer reaches: those outside
    /// the gaps the damage left (stale by construction) and those a compaction removed (old
    /// values, deleted objects' last versions). `--free-pages` is its former name.
    #[arg(long, alias = "free-pages")]
    include_unreachable: bool,
    /// Also write what a damaged part of the tree may have held when nothing proves it removed
    /// (the "unsure" revisions: live objects, or the last puts of objects deleted before the
    /// compaction), while revisions proven stale or compacted stay out. Listed as admitted;
    /// never a complete salvage.
    #[arg(long)]
    admit_unsure: bool,
    /// Also export what was recovered to this SQLite database (the tables of `export sqlite`,
    /// with the revisions table), to query it at once.
    #[arg(long)]
    export_sqlite: Option<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long, value_name = "FORMAT", value_enum, default_value_t = TableOrJson::Table)]
    output: TableOrJson,
    #[command(flatten)]
    decoding: super::decoding::DecodingArgs,
}

/// Lines of each list the table shows (JSON has them all).
const SHOWN: usize = 20;

pub fn run(a: &SalvageArgs, out: &mut impl Write) -> CliResult {
    if a.export_sqlite.is_some() && !cfg!(feature = "sqlite") {
        return Err(CliError::Usage("--export-sqlite: this etcdscope was built without SQLite (the `sqlite` feature)".into()));
    }
    // Everything that can refuse the run does so before any work.
    etcdscope::output::refuse_existing(&a.out, false).map_err(|_| CliError::Usage(format!("{}: exists; salvage writes a new file", a.out.display())))?;
    let decoder = match &a.export_sqlite {
        Some(db) => {
            etcdscope::output::refuse_existing(db, false).map_err(|_| CliError::Usage(format!("{}: exists; salvage writes a new database", db.display())))?;
            if db == &a.out {
                return Err(CliError::Usage(format!("{}: both --out and --export-sqlite", db.display())));
            }
            Some(a.decoding.decoder()?)
        }
        None => None,
    };
    // Both temporaries before the input is read: an output that cannot be written is refused
    // now, not after the scan.
    let mut pending_out = PendingFile::beside(&a.out)?;
    let pending_export = a.export_sqlite.as_deref().map(PendingFile::beside).transpose()?;
    let source = Source::open(&a.src)?;
    let cancel = super::interrupt::watch();
    let r = salvage_into(
        &source,
        &mut pending_out,
        &SalvageOptions { include_unreachable: a.include_unreachable, admit_unsure: a.admit_unsure, cancel: cancel.clone() },
    )?;
    let exported = match (&pending_export, &decoder) {
        (Some(pending), Some(decoder)) => Some(export_salvaged(&a.out, &pending_out, pending, decoder, &cancel)?),
        _ => None,
    };
    commit_together(pending_out, pending_export)?;
    if a.output == TableOrJson::Json {
        serde_json::to_writer_pretty(&mut *out, &r).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        print_table(&r, out)?;
        if let (Some(db), Some(e)) = (&a.export_sqlite, &exported) {
            writeln!(out, "exported: {} ({} keys, {} objects, {} revisions)", db.display(), e.keys, e.objects, e.revisions)?;
        }
    }
    Ok(if r.complete { EXIT_OK } else { EXIT_FINDINGS })
}

/// What the export of the salvaged file wrote (for the table's last line).
struct Exported {
    keys: u64,
    objects: u64,
    revisions: u64,
}

/// Exports the salvaged file (still at `salvaged`'s temporary path, named `out` in messages)
/// into `pending`, with its revisions.
#[cfg(feature = "sqlite")]
fn export_salvaged(
    out: &std::path::Path,
    salvaged: &PendingFile,
    pending: &PendingFile,
    decoder: &etcdscope::k8s::decoder::Decoder,
    cancel: &etcdscope::cancel::Cancel,
) -> Result<Exported, CliError> {
    let mut source = Source::open(salvaged.path())?;
    source.input = out.to_path_buf();
    let snap = etcdscope::snapshot::Snapshot::open(&source)?;
    let options = etcdscope::views::export::ExportOptions { history: true, cancel: cancel.clone(), ..Default::default() };
    let e = etcdscope::views::export::export_sqlite_into(&snap, decoder, pending, &options, &mut |_| {})?;
    Ok(Exported { keys: e.keys, objects: e.objects, revisions: e.revisions })
}

/// Without SQLite nothing is exported (`run` refuses `--export-sqlite` before any work).
#[cfg(not(feature = "sqlite"))]
fn export_salvaged(
    _: &std::path::Path,
    _: &PendingFile,
    _: &PendingFile,
    _: &etcdscope::k8s::decoder::Decoder,
    _: &etcdscope::cancel::Cancel,
) -> Result<Exported, CliError> {
    Err(CliError::Usage("--export-sqlite: this etcdscope was built without SQLite (the `sqlite` feature)".into()))
}

/// Renames the export into place, then OUT, so that OUT is never there without the export it
/// was asked with. Should OUT's rename fail after the export's succeeded, the export (this run's
/// own file, renamed a moment ago without replacing anything) is removed again.
fn commit_together(out: PendingFile, export: Option<PendingFile>) -> Result<(), CliError> {
    let Some(export) = export else { return Ok(out.commit(false)?) };
    let exported = export.target().to_path_buf();
    export.commit(false)?;
    out.commit(false).map_err(|e| {
        let _ = std::fs::remove_file(&exported);
        CliError::from(e)
    })
}

fn print_table(r: &SalvageReport, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "{}: {} pages scanned, {} leaf pages, {} reachable from the meta", r.input, r.pages_scanned, r.leaf_pages, r.reachable_pages)?;
    let errors = r.damage.iter().filter(|f| f.severity == Severity::Error).count();
    let warnings = r.damage.iter().filter(|f| f.severity == Severity::Warning).count();
    writeln!(out, "damage found: {errors} error(s), {warnings} warning(s) (etcdscope check lists them)")?;
    // Errors first, then warnings (an unknown compaction is one, and changes what is written).
    let shown: Vec<_> = r.damage.iter().filter(|f| f.severity == Severity::Error).chain(r.damage.iter().filter(|f| f.severity == Severity::Warning)).collect();
    for f in shown.iter().take(SHOWN) {
        writeln!(out, "  {}", one_line(&f.what))?;
    }
    if shown.len() > SHOWN {
        writeln!(out, "  … {} more (-o json lists them all)", shown.len() - SHOWN)?;
    }
    let left_out = |reason: &str| r.excluded.iter().filter(|n| n.reason == reason).count();
    writeln!(
        out,
        "key bucket: {} revisions written ({} from pages the tree no longer reaches), {} duplicate copies; {} left out ({} compacted, {} stale, {} unsure){}",
        r.revisions,
        r.revisions_from_unreachable_pages,
        r.duplicates,
        r.excluded.len(),
        left_out("compacted"),
        left_out("stale"),
        left_out("unsure"),
        if r.excluded.iter().any(|n| n.written) { ", written anyway (--include-unreachable)" } else { "" }
    )?;
    for g in &r.gaps {
        print_gap(g, r.compaction_known, out)?;
    }
    print_notes("admitted (fill a gap)", &r.admitted.iter().collect::<Vec<_>>(), out)?;
    // The nearest to a loss first: what a gap may have held, then stale copies, then compacted.
    let mut excluded: Vec<&RevisionNote> = r.excluded.iter().collect();
    excluded.sort_by_key(|n| match n.reason {
        "unsure" => 0,
        "stale" => 1,
        _ => 2,
    });
    print_notes("left out", &excluded, out)?;
    print_notes("uncertain", &r.uncertain.iter().collect::<Vec<_>>(), out)?;
    for b in &r.buckets {
        writeln!(out, "bucket {:<16} {} entries (read by {})", cell(&b.name), b.entries, b.read_by)?;
    }
    for n in r.unparseable.iter().take(SHOWN) {
        writeln!(out, "not recovered: page {}: {}", n.page, one_line(&n.what))?;
    }
    if r.unparseable.len() > SHOWN {
        writeln!(out, "not recovered: {} more", r.unparseable.len() - SHOWN)?;
    }
    if !r.deleted_with_value.is_empty() {
        writeln!(out, "{} deleted key(s) whose last value is still here (history KEY shows it):", r.deleted_with_value.len())?;
        for d in r.deleted_with_value.iter().take(SHOWN) {
            writeln!(out, "  {}  deleted at {}, last put at {} ({} bytes)", one_line(&d.key), d.deleted_at, d.last_put, d.value_size)?;
        }
    }
    if r.written_anyway > 0 {
        writeln!(
            out,
            "{} revision(s) the tree no longer holds were written (--include-unreachable): old values, and possibly the last puts of deleted objects; they are listed above as left out",
            r.written_anyway
        )?;
    }
    writeln!(out, "written: {}", r.out.display())?;
    let damaged =
        !r.gaps.is_empty() || !r.uncertain.is_empty() || !r.unparseable.is_empty() || errors > 0 || r.buckets.iter().any(|b| b.read_by == "page scan");
    let unsure = r.excluded.iter().filter(|n| n.reason == "unsure" && !n.written).count();
    if unsure > 0 {
        writeln!(
            out,
            "left out as unsure: {unsure} revision(s) a damaged part of the tree may have held: live objects, or the last puts of objects deleted before the compaction; nothing in the file tells which. --admit-unsure writes them (each listed), keeping what is proven stale or compacted out"
        )?;
    }
    if r.complete {
        writeln!(out, "complete: the tree was whole")
    } else if damaged {
        writeln!(out, "incomplete: the input was damaged; what was lost, admitted, left out and uncertain is listed above (-o json: all of it)")
    } else {
        writeln!(out, "incomplete: the tree was whole, but revisions it no longer holds were written (--include-unreachable)")
    }
}

fn print_gap(g: &Gap, compaction_known: bool, out: &mut impl Write) -> std::io::Result<()> {
    let rev = |r: &etcdscope::views::salvage::Rev| format!("{}_{}{}", r.main, r.sub, if r.tombstone { "t" } else { "" });
    let span = match (&g.after, &g.before) {
        (Some(a), Some(b)) => format!("between {} and {}", rev(a), rev(b)),
        (None, Some(b)) => format!("before {}", rev(b)),
        (Some(a), None) => format!("after {}", rev(a)),
        (None, None) => "anywhere (its tree could not be read at all)".into(),
    };
    let from = g.from.as_ref().map(|f| format!(", from {} as its parent branch says", rev(f))).unwrap_or_default();
    let why = match g.damage.as_slice() {
        [] => String::new(),
        [one] => format!(": {}", one_line(&one.what)),
        [first, rest @ ..] => format!(": {} (and {} more)", one_line(&first.what), rest.len()),
    };
    writeln!(out, "lost: key bucket revisions {span}{from}{why}")?;
    writeln!(out, "  {} revision(s) admitted into it from pages the tree no longer reaches", g.admitted)?;
    if !g.missing.is_empty() {
        writeln!(out, "  revisions with nothing written (lost): {}", ranges(&g.missing))?;
    }
    if !g.missing_or_compacted.is_empty() && compaction_known {
        writeln!(out, "  revisions at or below the compaction with nothing written (lost, or removed by the compaction): {}", ranges(&g.missing_or_compacted))?;
    } else if !g.missing_or_compacted.is_empty() {
        writeln!(out, "  revisions with nothing written (lost, or removed by a compaction whose revision is unknown): {}", ranges(&g.missing_or_compacted))?;
    }
    Ok(())
}

fn ranges(list: &[etcdscope::views::salvage::RevRange]) -> String {
    let shown: Vec<String> = list.iter().take(SHOWN).map(|m| if m.first == m.last { m.first.to_string() } else { format!("{}-{}", m.first, m.last) }).collect();
    format!("{}{}", shown.join(", "), if list.len() > SHOWN { ", …" } else { "" })
}

fn print_notes(title: &str, notes: &[&RevisionNote], out: &mut impl Write) -> std::io::Result<()> {
    if notes.is_empty() {
        return Ok(());
    }
    writeln!(out, "{title}: {} (key, revision, page, why)", notes.len())?;
    for n in notes.iter().take(SHOWN) {
        writeln!(out, "  {}  {}_{}{}  page {}  {}: {}", one_line(&n.key), n.revision, n.sub, if n.tombstone { "t" } else { "" }, n.page, n.reason, n.why)?;
    }
    if notes.len() > SHOWN {
        writeln!(out, "  … {} more (-o json lists them all)", notes.len() - SHOWN)?;
    }
    Ok(())
}
