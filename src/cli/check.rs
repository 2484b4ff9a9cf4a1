//! `etcdscope check SRC`: every finding, not the first error (docs/commands/check.md).
//! Exit codes: 0 clean, 1 findings, 2 unreadable.

use super::format::{one_line, table};
use super::formats::TableOrJson;
use super::{CliResult, EXIT_FINDINGS, EXIT_OK};
use clap::Args;
use etcdscope::source::Source;
use etcdscope::views::check::check;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct CheckArgs {
    /// Snapshot file, member db, member dir or data dir.
    src: PathBuf,
    /// Read a file whose meta pages are both invalid through the one that still parses, and a
    /// truncated file as far as it goes.
    #[arg(long)]
    best_effort: bool,
    /// Output format.
    #[arg(short = 'o', long, value_name = "FORMAT", value_enum, default_value_t = TableOrJson::Table)]
    output: TableOrJson,
}

pub fn run(a: &CheckArgs, out: &mut impl Write) -> CliResult {
    let source = Source::open(&a.src)?;
    // SIGINT/SIGTERM stop the walk at the next page (exit 130): it is long on multi-GB files.
    let report = check(&source, a.best_effort, &super::interrupt::watch())?;
    if a.output == TableOrJson::Json {
        serde_json::to_writer_pretty(&mut *out, &report).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}: {}", report.input, report.meta)?;
        writeln!(
            out,
            "{} pages ({} reachable{}), {} key bucket entries",
            report.tree.pages,
            report.tree.reachable,
            freelist_summary(&report.tree),
            report.key_entries
        )?;
        if !report.findings.is_empty() {
            let mut rows = vec![vec!["SEVERITY".to_string(), "LAYER".into(), "PAGE".into(), "OFFSET".into(), "FINDING".into()]];
            for f in &report.findings {
                let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
                rows.push(vec![format!("{:?}", f.severity).to_lowercase(), f.layer.into(), opt(f.page), opt(f.offset), one_line(&f.what)]);
            }
            out.write_all(table(&rows).as_bytes())?;
        }
        writeln!(
            out,
            "{} error(s), {} warning(s), {} note(s)",
            report.errors,
            report.warnings,
            report.findings.len() as u64 - report.errors - report.warnings
        )?;
    }
    Ok(if report.has_findings() { EXIT_FINDINGS } else { EXIT_OK })
}

/// What the meta says of the freelist, and what was read of it.
fn freelist_summary(tree: &etcdscope::bolt::check::TreeCheck) -> String {
    match (tree.freelist_page, tree.freelist_read) {
        (None, _) => ", freelist not persisted".into(),
        (Some(page), true) => format!(", {} on the freelist (page {page})", tree.freed),
        (Some(page), false) => format!(", the freelist (page {page}) unreadable"),
    }
}
