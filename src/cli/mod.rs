//! Command-line surface. Exit codes: 0 fine, 1 findings (e.g. a snapshot trailer mismatch),
//! 2 bad input or usage. Errors go to stderr as one line naming file, page and offset.

/// `eprintln!` for messages that may carry data from a file: control characters escaped.
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!("{}", $crate::cli::format::one_line(&format!($($arg)*)))
    };
}

mod age;
mod analyze;
mod check;
mod columns;
mod compare;
mod decode;
mod decoding;
mod diff;
#[cfg(feature = "sqlite")]
mod export;
mod format;
mod get;
mod hash;
mod history;
mod interrupt;
mod kv;
mod progress;
#[cfg(feature = "sqlite")]
mod query_print;
mod rebuild;
#[cfg(feature = "live")]
mod replay;
mod salvage;
mod status;
mod wal;
mod wal_json;

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
    /// Shell completions: `etcdscope completions bash > /etc/bash_completion.d/etcdscope`.
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
    /// The man page (roff): `etcdscope man > /usr/local/share/man/man1/etcdscope.1`.
    Man,
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
        Command::Man => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command()).render(&mut out).map(|()| EXIT_OK).map_err(CliError::Io)
        }
        Command::Hash(args) => hash::run(&args, &mut out),
        Command::Check(args) => check::run(&args, &mut out),
        Command::Compare(args) => compare::run(&args, &mut out),
        Command::Salvage(args) => salvage::run(&args, &mut out),
        Command::Analyze(args) => analyze::run(&args, &mut out),
        #[cfg(feature = "live")]
        Command::Replay(args) => replay::run(&args, &mut out),
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
