//! Typed errors. Every error about file content names the file, and where it can, the page id and
//! the absolute byte offset, so an operator can find the damage with a hex viewer.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where in a file a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: Arc<Path>,
    /// bbolt page id, when the problem is inside a page.
    pub page: Option<u64>,
    /// Absolute byte offset in the file.
    pub offset: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(page) = self.page {
            write!(f, ": page {page}")?;
        }
        write!(f, " (byte offset {})", self.offset)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The input is not something etcdscope can read (not bbolt, no db in a directory, …).
    #[error("{}: {reason}", path.display())]
    Unrecognised { path: PathBuf, reason: String },
    /// The file is bbolt but its structure is damaged at a known place.
    #[error("{at}: {what}")]
    Corrupt { at: Location, what: String },
    /// A read below the compaction revision, refused as etcd refuses it.
    #[error("mvcc: required revision has been compacted (requested {requested}, compact revision {compact_revision})")]
    Compacted { requested: i64, compact_revision: i64 },
    /// A read above the store's current revision.
    #[error("mvcc: required revision is a future revision (requested {requested}, current revision {current_revision})")]
    FutureRevision { requested: i64, current_revision: i64 },
    /// An argument the caller gave that cannot be honoured.
    #[error("{0}")]
    Usage(String),
    /// The caller asked to stop (an interrupt signal, a cancelled [`crate::cancel::Cancel`]).
    #[error("interrupted")]
    Interrupted,
    /// Work given a time limit (a `query` statement) ran past it and was stopped.
    #[error("{what} ran longer than its time limit of {} s and was stopped", limit.as_secs_f64())]
    TimedOut { what: String, limit: std::time::Duration },
    /// A live etcd member refused or could not be reached.
    #[error("{endpoint}: {what}")]
    Live { endpoint: String, what: String },
    /// Writing an output file (an export database) failed.
    #[error("{}: {what}", path.display())]
    Output { path: PathBuf, what: String },
}

impl Error {
    pub fn corrupt(at: Location, what: impl Into<String>) -> Self {
        Error::Corrupt { at, what: what.into() }
    }

    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io { path: path.to_path_buf(), source }
    }
}
