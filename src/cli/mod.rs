//! Command-line surface. Exit codes: 0 fine, 1 findings (e.g. a snapshot trailer mismatch),
//! 2 bad input or usage. Errors go to stderr as one line naming file, page and offset.

/// `eprintln!` for messages that may carry data from a file: control characters escaped.
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::cli::format::one_line(&format!($($arg)*)))
    };
}

mod analyze;
mod at;
mod check;
mod compare;
mod decode;
mod decoding;
mod diff;
#[cfg(feature = "sqlite")]
mod export;
#[cfg(all(feature = "sqlite", feature = "parquet"))]
mod export_parquet;
mod format;
mod formats;
mod get;
mod hash;
mod history;
mod interrupt;
mod kv;
mod man;
mod progress;
#[cfg(feature = "sqlite")]
mod query_print;
mod rebuild;
#[cfg(feature = "live")]
mod replay;
mod salvage;
#[cfg(feature = "serve")]
mod serve;
mod status;
mod wal;

use clap::{Parser, Subcommand};
use std::io::Write;

pub const EXIT_OK: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_BAD_INPUT: i32 = 2;

#[derive(Parser)]
#[command(name = "etcdscope", version, about = "Read etcd snapshots, data dirs and WAL offline")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// What `etcdutl snapshot status` shows, and everything it doesn't.
    Status(status::StatusArgs),
    /// Decode one stored Kubernetes value (or a stream of hex lines, for etcd-dump-logs).
    Decode(decode::DecodeArgs),
    /// Kubernetes objects, with kubectl's conventions.
    Get(get::GetArgs),
    /// What restoring OLD over a cluster now at NEW would do: keys lost, brought back, reverted,
    /// rewritten, per resource and field, and the restore's hazards.
    Diff(diff::DiffArgs),
    /// Every retained revision of a key, a prefix or Kubernetes objects, oldest first: what
    /// etcd's watch would replay, with field-level changes of objects.
    History(history::HistoryArgs),
    /// WAL segments record by record: raft entries and the etcd requests in them, the CRC chain,
    /// torn tails and damage.
    Wal(wal::WalArgs),
    /// The keyspace as SQLite tables (kv, objects, labels, revisions, leases, members, …).
    #[cfg(feature = "sqlite")]
    Export {
        #[command(subcommand)]
        command: export::ExportCommand,
    },
    /// One SQL statement over the same tables as `export sqlite`, built in a temporary
    /// database: for one-off questions.
    #[cfg(feature = "sqlite")]
    Query(export::QueryArgs),
    /// Every finding in a snapshot or db: bbolt structure (in bbolt check's words), etcd's
    /// buckets, the sha256 trailer. Exit 0 clean, 1 findings, 2 unreadable.
    Check(check::CheckArgs),
    /// Where the keyspace's bytes go, per resource, namespace or prefix: live and retained
    /// bytes, churn, tombstones, leases; what compaction and defragmentation would give back.
    Analyze(analyze::AnalyzeArgs),
    /// What a damaged snapshot or db still holds, written as a clean snapshot: every page
    /// scanned, revisions deduplicated, a report of what was and was not recovered.
    Salvage(salvage::SalvageArgs),
    /// Several members' data dirs or snapshots side by side: revision, consistent index and
    /// term, who is behind, and the first key where their keyspaces differ.
    Compare(compare::CompareArgs),
    /// The checksums etcd's tools print, offline: snapshot status's hash, etcd-dump-db's,
    /// endpoint hashkv's (at a revision) and the sha256 trailer.
    Hash(hash::HashArgs),
    /// A new member data dir that real etcd starts from, as `etcdutl snapshot restore` writes
    /// one: compact db, optionally at an earlier revision or with the revision bumped.
    Rebuild(rebuild::RebuildArgs),
    /// Chosen keys of a snapshot written back into a live etcd, one guarded transaction per
    /// key: never over a key that exists (unless --overwrite-if-unchanged, and then only if it
    /// did not change since planned).
    #[cfg(feature = "live")]
    Replay(replay::ReplayArgs),
    /// Snapshots as a read-only Kubernetes API server: kubectl, client libraries and k9s read
    /// a backup as they read a cluster (one kubeconfig context per input).
    #[cfg(feature = "serve")]
    Serve(serve::ServeArgs),
    /// Shell completions: `etcdscope completions bash > /etc/bash_completion.d/etcdscope`.
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
    /// The man pages (roff): the top page on stdout (`etcdscope man >
    /// /usr/local/share/man/man1/etcdscope.1`), or one page per command with `--out DIR`.
    Man(man::ManArgs),
    /// etcd key-value reads (etcdctl semantics).
    Kv {
        #[command(subcommand)]
        command: KvCommand,
    },
}

#[derive(Subcommand)]
enum KvCommand {
    /// Gets a key or range of keys, as `etcdctl get` would from the same data.
    Get(kv::GetArgs),
}

pub fn run() -> i32 {
    interrupt::report_sigbus();
    interrupt::install();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let e = suggest_nearest_flag(e);
            let code = if e.use_stderr() { EXIT_BAD_INPUT } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let result = match cli.command {
        Command::Status(args) => status::run(&args, &mut out),
        Command::Kv { command: KvCommand::Get(args) } => kv::run(&args, &mut out),
        Command::Decode(args) => decode::run(&args, &mut out),
        Command::Get(args) => get::run(&args, &mut out),
        Command::History(args) => history::run(&args, &mut out),
        Command::Diff(args) => diff::run(&args, &mut out),
        Command::Wal(args) => wal::run(&args, &mut out),
        #[cfg(feature = "sqlite")]
        Command::Export { command } => export::run_export(&command, &mut out),
        #[cfg(feature = "sqlite")]
        Command::Query(args) => export::run(&args, &mut out),
        Command::Rebuild(args) => rebuild::run(&args, &mut out),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "etcdscope", &mut out);
            Ok(EXIT_OK)
        }
        Command::Man(args) => {
            use clap::CommandFactory;
            man::run(&args, Cli::command(), &mut out)
        }
        Command::Hash(args) => hash::run(&args, &mut out),
        Command::Check(args) => check::run(&args, &mut out),
        Command::Compare(args) => compare::run(&args, &mut out),
        Command::Salvage(args) => salvage::run(&args, &mut out),
        Command::Analyze(args) => analyze::run(&args, &mut out),
        #[cfg(feature = "live")]
        Command::Replay(args) => replay::run(&args, &mut out),
        #[cfg(feature = "serve")]
        Command::Serve(args) => serve::run(&args, &mut out),
    };
    let flushed = out.flush();
    match result {
        Ok(code) => match flushed {
            Ok(()) => code,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => code,
            Err(e) => fail(&format!("writing output: {e}")),
        },
        Err(CliError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(CliError::Lib(etcdscope::Error::Io { source, .. })) if source.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(CliError::Lib(etcdscope::Error::Interrupted)) => {
            say!("etcdscope: interrupted");
            interrupt::EXIT_INTERRUPTED
        }
        Err(e) => fail(&e.to_string()),
    }
}

/// An unknown `--flag` is answered with the nearest flag the command has, in clap's words ("a
/// similar argument exists"), even when nothing is close enough for clap's own suggestion:
/// clap's fallback tip ("to pass '--x' as a value, use '-- --x'") misleads far more often than
/// it helps, as no command here takes a value that starts with `--`.
fn suggest_nearest_flag(mut e: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::UnknownArgument || e.get(ContextKind::SuggestedArg).is_some() {
        return e;
    }
    let Some(ContextValue::String(given)) = e.get(ContextKind::InvalidArg) else { return e };
    let Some(flag) = given.strip_prefix("--") else { return e };
    let flag = flag.split_once('=').map_or(flag, |(name, _)| name);
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(nearest) = nearest_flag(&command_named_by(&args), flag) {
        e.insert(ContextKind::SuggestedArg, ContextValue::String(format!("--{nearest}")));
        e.insert(ContextKind::Suggested, ContextValue::StyledStrs(Vec::new()));
    }
    e
}

/// The (sub)command the arguments name: `etcdscope kv get …` is `kv get`.
fn command_named_by(args: &[std::ffi::OsString]) -> clap::Command {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    cmd.build();
    for arg in args.iter().skip(1) {
        let Some(arg) = arg.to_str() else { break };
        if arg.starts_with('-') {
            continue;
        }
        match cmd.find_subcommand(arg) {
            Some(sub) => cmd = sub.clone(),
            None => break,
        }
    }
    cmd
}

/// The visible long flag of `cmd` most like `given` (Jaro similarity, as clap's suggestions).
fn nearest_flag(cmd: &clap::Command, given: &str) -> Option<String> {
    let longs = cmd.get_arguments().filter(|a| !a.is_hide_set()).flat_map(|a| a.get_long().into_iter().chain(a.get_all_aliases().unwrap_or_default()));
    longs.map(|long| (strsim::jaro(given, long), long)).max_by(|a, b| a.0.total_cmp(&b.0)).map(|(_, long)| long.to_string())
}

/// A failed write to standard output, as a library error (views that stream call back into
/// printers through `Result<(), etcdscope::Error>`).
pub fn stdout_error(e: std::io::Error) -> etcdscope::Error {
    etcdscope::Error::io(std::path::Path::new("<stdout>"), e)
}

fn fail(msg: &str) -> i32 {
    say!("etcdscope: error: {msg}");
    EXIT_BAD_INPUT
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Lib(#[from] etcdscope::Error),
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Usage(String),
}

pub type CliResult = Result<i32, CliError>;

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every command, by its path (`etcdscope kv get`).
    fn commands() -> Vec<(String, clap::Command)> {
        fn walk(path: String, cmd: &clap::Command, all: &mut Vec<(String, clap::Command)>) {
            for sub in cmd.get_subcommands() {
                walk(format!("{path} {}", sub.get_name()), sub, all);
            }
            all.push((path, cmd.clone()));
        }
        let mut cmd = Cli::command();
        cmd.build();
        let mut all = Vec::new();
        walk("etcdscope".into(), &cmd, &mut all);
        all
    }

    fn shown(arg: &clap::Arg) -> String {
        match (arg.get_long(), arg.get_short()) {
            (Some(long), _) => format!("--{long}"),
            (None, Some(short)) => format!("-{short}"),
            (None, None) => format!("<{}>", arg.get_id()),
        }
    }

    #[test]
    fn every_argument_of_every_command_has_help() {
        let mut silent = Vec::new();
        for (path, cmd) in commands() {
            for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    silent.push(format!("{path} {}", shown(arg)));
                }
            }
        }
        assert!(silent.is_empty(), "arguments without help text:\n{}", silent.join("\n"));
    }

    #[test]
    fn every_output_flag_is_typed_and_lists_its_values() {
        for (path, cmd) in commands() {
            if let Some(output) = cmd.get_arguments().find(|a| a.get_long() == Some("output")) {
                assert_eq!(output.get_short(), Some('o'), "{path}");
                assert!(!output.get_possible_values().is_empty(), "{path} -o lists no values");
                assert_eq!(output.get_value_names().map(|n| n.iter().map(|s| s.to_string()).collect::<Vec<_>>()), Some(vec!["FORMAT".to_string()]), "{path}");
            }
        }
    }

    #[test]
    fn the_nearest_flag_is_found_when_nothing_is_close() {
        let args: Vec<std::ffi::OsString> = ["etcdscope", "kv", "get", "db", "--prefx"].map(Into::into).to_vec();
        let cmd = super::command_named_by(&args);
        assert_eq!(cmd.get_name(), "get");
        assert!(cmd.get_arguments().any(|a| a.get_long() == Some("print-value-only")), "kv get, not get");
        assert_eq!(super::nearest_flag(&cmd, "prefx").as_deref(), Some("prefix"));
        assert!(super::nearest_flag(&cmd, "zzzzzz").is_some());
    }
}
