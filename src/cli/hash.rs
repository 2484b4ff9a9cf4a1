//! `etcdscope hash SRC [--kind …] [--rev R]`: the checksums etcd's tools print, offline
//! (docs/commands/hash.md).

use super::formats::TableOrJson;
use super::{CliResult, EXIT_FINDINGS, EXIT_OK};
use clap::{Args, ValueEnum};
use etcdscope::snapshot::Snapshot;
use etcdscope::source::Source;
use etcdscope::views::hash::{hashes, HashKind};
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct HashArgs {
    /// Snapshot file, member db, member dir or data dir.
    src: PathBuf,
    /// Which hashes (default: all): status (etcdutl snapshot status), dump-db (etcd-dump-db
    /// hash), kv (etcdctl endpoint hashkv), sha256 (the snapshot file's trailer).
    #[arg(long, value_enum, value_delimiter = ',')]
    kind: Vec<Kind>,
    /// For kv: hash up to this revision (0 = current), as `endpoint hashkv --rev`.
    #[arg(long, default_value_t = 0)]
    rev: i64,
    /// Output format.
    #[arg(short = 'o', long, value_name = "FORMAT", value_enum, default_value_t = TableOrJson::Table)]
    output: TableOrJson,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Kind {
    Status,
    DumpDb,
    Kv,
    Sha256,
}

pub fn run(a: &HashArgs, out: &mut impl Write) -> CliResult {
    let kinds: Vec<HashKind> = if a.kind.is_empty() { vec![Kind::Status, Kind::DumpDb, Kind::Kv, Kind::Sha256] } else { a.kind.clone() }
        .into_iter()
        .map(|k| match k {
            Kind::Status => HashKind::Status,
            Kind::DumpDb => HashKind::DumpDb,
            Kind::Kv => HashKind::Kv,
            Kind::Sha256 => HashKind::Sha256,
        })
        .collect();
    let source = Source::open(&a.src)?;
    let h = hashes(&Snapshot::open(&source)?, &kinds, a.rev)?;
    let mismatch = h.sha256.as_ref().is_some_and(|s| s.trailer == "mismatch");
    if a.output == TableOrJson::Json {
        serde_json::to_writer_pretty(&mut *out, &h).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        if let Some(s) = h.status {
            writeln!(out, "status   {s:x}  (etcdutl snapshot status; {s} in decimal)")?;
        }
        if let Some(d) = h.dump_db {
            writeln!(out, "dump-db  {d}  (etcd-dump-db hash, etcd 3.5)")?;
        }
        if let Some(k) = &h.kv {
            writeln!(out, "kv       {}  at revision {}, compact revision {}  (etcdctl endpoint hashkv)", k.hash, k.revision, k.compact_revision)?;
        }
        if let Some(s) = &h.sha256 {
            match (&s.stored, s.trailer) {
                (Some(_), "ok") => writeln!(out, "sha256   {}  (the trailer matches)", s.computed)?,
                (None, _) => writeln!(out, "sha256   {}  (of the db; the file has no trailer)", s.computed)?,
                (Some(stored), _) => writeln!(out, "sha256   {}  MISMATCH: the trailer says {stored}", s.computed)?,
            }
        }
    }
    Ok(if mismatch { EXIT_FINDINGS } else { EXIT_OK })
}
