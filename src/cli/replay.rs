//! `etcdscope replay SRC --endpoints URLS …`: chosen keys of a snapshot written back into a
//! live etcd, never clobbering a live key (docs/commands/replay.md).
//!
//! The record of what was written is printed as it happens, one line per key, each flushed
//! before the next key is touched: `-o json` is JSON Lines (a line per key, then a summary
//! line). A line that cannot be printed stops the replay: no write goes unrecorded but the one
//! whose line failed, and that one is named on stderr.

use super::{CliError, CliResult, EXIT_FINDINGS, EXIT_OK};
use clap::{Args, ValueEnum};
use etcdscope::k8s::key::Namespace;
use etcdscope::live::{Credentials, LiveEtcd, TlsFiles};
use etcdscope::snapshot::Snapshot;
use etcdscope::source::Source;
use etcdscope::views::replay::{keys_from_diff, replay, Outcome, ReplayLine, ReplayOptions, ReplaySummaryLine, Selection};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// `replay -o`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    /// JSON Lines.
    #[value(alias = "jsonl")]
    Json,
}

/// `replay --class`: which keys of a `diff -o json` document.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DiffClass {
    /// Keys only NEW has: what a restore to OLD lost.
    Lost,
    /// Keys only OLD has: what a restore to OLD brings back.
    Reappear,
}

impl DiffClass {
    fn name(self) -> &'static str {
        match self {
            DiffClass::Lost => "lost",
            DiffClass::Reappear => "reappear",
        }
    }
}

#[derive(Args)]
pub struct ReplayArgs {
    /// Snapshot file, member db, member dir or data dir to take the values from.
    src: PathBuf,
    /// What to replay: a KEY (starts with `/`, or any key with --prefix), or a Kubernetes
    /// TYPE[/NAME] (`deploy/web`, `configmaps`).
    target: Option<String>,
    /// The live cluster: host:port or URL, comma-separated (etcdctl's --endpoints).
    #[arg(long, value_delimiter = ',', required = true)]
    endpoints: Vec<String>,
    /// TARGET is a key prefix (`""` for every key).
    #[arg(long)]
    prefix: bool,
    /// The namespace of TYPE's objects, as kubectl -n.
    #[arg(short = 'n', long)]
    namespace: Option<String>,
    /// TYPE's objects in every namespace, as kubectl -A.
    #[arg(short = 'A', long)]
    all_namespaces: bool,
    /// A `etcdscope diff -o json` document: replay the keys of one of its classes.
    #[arg(long)]
    from_diff: Option<PathBuf>,
    /// With --from-diff: which of its classes to replay (the summary line names it).
    #[arg(long, value_enum, default_value_t = DiffClass::Lost, requires = "from_diff")]
    class: DiffClass,
    /// Read SRC at this revision (0 = current).
    #[arg(long, default_value_t = 0)]
    rev: i64,
    /// Read the live cluster and print what would be written; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also overwrite keys that exist, each only if its mod revision is still the one read when
    /// it was planned.
    #[arg(long)]
    overwrite_if_unchanged: bool,
    /// CA bundle to verify the cluster's certificate (etcdctl's --cacert).
    #[arg(long)]
    cacert: Option<PathBuf>,
    /// Client certificate (etcdctl's --cert).
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Client key (etcdctl's --key).
    #[arg(long)]
    key: Option<PathBuf>,
    /// The user of an etcd with auth enabled, as etcdctl: NAME:PASSWORD, or NAME with --password.
    #[arg(long, value_name = "NAME[:PASSWORD]")]
    user: Option<String>,
    /// The password of --user NAME (etcdctl's --password).
    #[arg(long, requires = "user")]
    password: Option<String>,
    /// Time to connect and for each request (etcdctl's --dial-timeout, --command-timeout).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    timeout: Duration,
    /// The etcd prefix kube-apiserver was run with (`--etcd-prefix`).
    #[arg(long, default_value = "/registry")]
    etcd_prefix: String,
    /// Output format: table, or json (JSON Lines: one object per key as it is written, then
    /// {"summary": …}; jsonl is the same).
    #[arg(short = 'o', long, value_name = "FORMAT", value_enum, default_value_t = Format::Table)]
    output: Format,
    #[command(flatten)]
    decoding: super::decoding::DecodingArgs,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.find(|c: char| !c.is_ascii_digit()).map_or((s, "s"), |i| s.split_at(i));
    let n: u64 = n.parse().map_err(|_| format!("{s:?} is not a duration like 5s or 500ms"))?;
    match unit {
        "s" => Ok(Duration::from_secs(n)),
        "ms" => Ok(Duration::from_millis(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("{s:?}: the unit must be ms, s or m")),
    }
}

fn selection(a: &ReplayArgs) -> Result<Selection, CliError> {
    if let Some(path) = &a.from_diff {
        if a.target.is_some() {
            return Err(CliError::Usage("give TARGET or --from-diff, not both".into()));
        }
        let bytes = std::fs::read(path).map_err(|e| CliError::Usage(format!("--from-diff {}: {e}", path.display())))?;
        let doc: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| CliError::Usage(format!("--from-diff {}: not JSON: {e}", path.display())))?;
        return Ok(Selection::Keys(keys_from_diff(&doc, a.class.name())?));
    }
    let target = a.target.as_deref().ok_or_else(|| CliError::Usage("give a KEY, a TYPE[/NAME] or --from-diff".into()))?;
    if a.prefix || target.starts_with('/') {
        return Ok(Selection::Key { key: target.as_bytes().to_vec(), prefix: a.prefix });
    }
    let (type_name, name) = match target.split_once('/') {
        Some((t, n)) => (t.to_string(), Some(n.to_string())),
        None => (target.to_string(), None),
    };
    let namespace = match (&a.namespace, a.all_namespaces) {
        (_, true) => Namespace::All,
        (Some(n), false) => Namespace::One(n.clone()),
        (None, false) => Namespace::Default,
    };
    Ok(Selection::Objects { type_name, name, namespace })
}

pub fn run(a: &ReplayArgs, out: &mut impl Write) -> CliResult {
    let json = a.output == Format::Json;
    let options = ReplayOptions {
        selection: selection(a)?,
        revision: a.rev,
        etcd_prefix: a.etcd_prefix.clone(),
        dry_run: a.dry_run,
        overwrite_if_unchanged: a.overwrite_if_unchanged,
        cancel: super::interrupt::watch(),
    };
    let decoder = a.decoding.decoder_for(&a.etcd_prefix)?;
    let source = Source::open(&a.src)?;
    let snap = Snapshot::open(&source)?;
    let tls = TlsFiles { cacert: a.cacert.clone(), cert: a.cert.clone(), key: a.key.clone() };
    let credentials = a.user.as_deref().map(|u| Credentials::from_flags(u, a.password.as_deref())).transpose()?;
    let mut live = LiveEtcd::connect(&a.endpoints, &tls, credentials.as_ref(), a.timeout)?;
    // The table's header comes with its first row (none when no key is selected).
    let mut header = !json;
    let summary = replay(&snap, &decoder, &mut live, &options, &mut |l| {
        let printed = if json {
            json_line(out, &l)
        } else if std::mem::take(&mut header) {
            writeln!(out, "{}", table_row("OUTCOME", "REVISION", "KEY")).and_then(|()| print_line(out, &l))
        } else {
            print_line(out, &l)
        };
        printed.and_then(|()| out.flush()).map_err(|e| record_lost(&e, &l))
    })?;
    if json {
        let mut line = serde_json::to_vec(&ReplaySummaryLine { summary: &summary }).map_err(std::io::Error::from)?;
        line.push(b'\n');
        out.write_all(&line)?;
    } else {
        let verb = if summary.dry_run {
            format!("{} would be written", summary.would_write)
        } else {
            format!("{} written, {} overwritten", summary.written, summary.overwritten)
        };
        let class = if a.from_diff.is_some() { format!(" (the diff's {} keys, --class {})", a.class.name(), a.class.name()) } else { String::new() };
        writeln!(
            out,
            "{} key(s){class} selected at revision {} of {}: {verb}, {} skipped ({}, at revision {})",
            summary.selected,
            summary.source_revision,
            a.src.display(),
            summary.skipped,
            summary.endpoint,
            summary.target_revision
        )?;
        for w in &summary.warnings {
            writeln!(out, "warning: {w}")?;
        }
    }
    // Skipped keys are findings: the operator asked for them and they were not written.
    Ok(if summary.skipped > 0 { EXIT_FINDINGS } else { EXIT_OK })
}

/// The error that stops a replay whose record could not be printed (stdout closed, disk full):
/// not a broken pipe to shrug off, since the cluster was being written to.
fn record_lost(e: &std::io::Error, l: &ReplayLine) -> etcdscope::Error {
    let unrecorded = match (&l.outcome, l.revision) {
        (Outcome::Written | Outcome::Overwritten, Some(rev)) => format!("; {} was written at revision {rev} and is not in the record", l.key.text()),
        _ => String::new(),
    };
    etcdscope::Error::Output {
        path: "<stdout>".into(),
        what: format!("{e}: the record of this replay could not be printed, so it stopped before its next write to the cluster{unrecorded}"),
    }
}

/// One key as a JSON line (etcd's names where etcd has the field: `key`, `revision`, `lease`).
fn json_line(out: &mut impl Write, l: &ReplayLine) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(l).map_err(std::io::Error::from)?;
    line.push(b'\n');
    out.write_all(&line)
}

/// Widths of the table's first two columns: the longest outcome, a revision of 10 digits. The
/// table is printed a row at a time as keys are written, so the widths are fixed, not measured;
/// KEY is last (keys vary most) and a reason goes on the next line, under KEY.
const OUTCOME_WIDTH: usize = "would overwrite".len();
const REVISION_WIDTH: usize = 10;

fn table_row(outcome: &str, revision: &str, key: &str) -> String {
    format!("{outcome:<OUTCOME_WIDTH$}  {revision:>REVISION_WIDTH$}  {key}")
}

fn print_line(out: &mut impl Write, l: &ReplayLine) -> std::io::Result<()> {
    let (outcome, revision) = match l.outcome {
        Outcome::Written => ("written", l.revision),
        Outcome::Overwritten => ("overwritten", l.revision),
        Outcome::WouldWrite => ("would write", None),
        Outcome::WouldOverwrite => ("would overwrite", None),
        Outcome::Skipped => ("skipped", None),
    };
    let revision = revision.map_or_else(|| "-".to_string(), |r| r.to_string());
    writeln!(out, "{}", table_row(outcome, &revision, &super::format::one_line(&l.key.text())))?;
    let guard = (l.outcome == Outcome::WouldOverwrite).then(|| format!("if still at mod revision {}", l.live_mod_revision.unwrap_or(0)));
    for reason in guard.iter().chain(&l.reason) {
        writeln!(out, "{:indent$}{reason}", "", indent = OUTCOME_WIDTH + REVISION_WIDTH + 4)?;
    }
    Ok(())
}
