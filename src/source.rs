//! Inputs: an `etcdctl snapshot save` file, a raw `member/snap/db`, a member dir or a data dir.
//! Files are opened read-only and memory-mapped; no lock is taken and nothing is ever written,
//! so the db of a running etcd can be read (see docs/commands/status.md for what that implies).

use crate::bolt::Db;
use crate::error::{Error, Result};
use memmap2::Mmap;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Length of the SHA-256 trailer that `etcdctl snapshot save` appends.
pub const TRAILER_LEN: u64 = 32;

/// What the user pointed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputKind {
    /// A file with the 32-byte sha256 trailer (`etcdctl snapshot save`).
    Snapshot,
    /// A bbolt file without a trailer (`member/snap/db`, or a copy of one).
    Db,
    /// A directory holding `snap/db` (an etcd member dir).
    MemberDir,
    /// A directory holding `member/snap/db` (an etcd data dir).
    DataDir,
}

/// Result of checking the snapshot trailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trailer {
    Ok,
    Missing,
    Mismatch {
        stored: [u8; 32],
        computed: [u8; 32],
    },
    /// The file was cut inside the trailer: `present` (1..=31) of its 32 bytes are there
    /// (size mod 512 is `present`); the bbolt region before them is whole but unverifiable.
    Partial {
        present: u64,
    },
}

impl Trailer {
    pub fn label(&self) -> &'static str {
        match self {
            Trailer::Ok => "ok",
            Trailer::Missing => "missing",
            Trailer::Mismatch { .. } => "mismatch",
            Trailer::Partial { .. } => "partial",
        }
    }

    /// "partial trailer (N of 32 bytes)" for a cut trailer, else the label.
    pub fn describe(&self) -> String {
        match self {
            Trailer::Partial { present } => format!("partial trailer ({present} of {TRAILER_LEN} bytes)"),
            other => other.label().to_string(),
        }
    }

    /// The verdict as `status` prints it: what it means for the reader.
    pub fn sentence(&self) -> String {
        match self {
            Trailer::Ok => "ok (sha256 matches)".into(),
            Trailer::Missing => "missing (no sha256 trailer: not an `etcdctl snapshot save` file)".into(),
            Trailer::Mismatch { .. } => "MISMATCH (sha256 differs: the file changed after it was saved)".into(),
            Trailer::Partial { .. } => format!(
                "{}: the file was cut short inside `etcdctl snapshot save`'s sha256 trailer; the db before it is read, but cannot be verified",
                self.describe()
            ),
        }
    }

    pub fn is_mismatch(&self) -> bool {
        matches!(self, Trailer::Mismatch { .. })
    }
}

/// Written as `"trailer": "ok" | "missing" | "mismatch" | "partial"`, plus `"trailerDetail":
/// {"stored", "computed"}` (hex) on a mismatch and `"trailerBytes": N` (of 32) when partial;
/// meant to be flattened into the struct that holds it.
impl Serialize for Trailer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mismatch = match self {
            Trailer::Mismatch { stored, computed } => Some((hex(stored), hex(computed))),
            _ => None,
        };
        let partial = match self {
            Trailer::Partial { present } => Some(*present),
            _ => None,
        };
        let mut map = s.serialize_map(Some(1 + usize::from(mismatch.is_some()) + usize::from(partial.is_some())))?;
        map.serialize_entry("trailer", self.label())?;
        if let Some(present) = partial {
            map.serialize_entry("trailerBytes", &present)?;
        }
        if let Some((stored, computed)) = mismatch {
            map.serialize_entry("trailerDetail", &serde_json::json!({"stored": stored, "computed": computed}))?;
        }
        map.end()
    }
}

/// An opened input: the bbolt file found for it, mapped read-only.
pub struct Source {
    /// What the user named.
    pub input: PathBuf,
    pub kind: InputKind,
    /// The bbolt file actually read.
    pub db_path: Arc<Path>,
    map: Option<Mmap>,
    /// The same file, for [`Source::db_sha256`]'s reads.
    file: File,
}

impl Source {
    pub fn open(input: impl AsRef<Path>) -> Result<Source> {
        let input = input.as_ref().to_path_buf();
        let meta = std::fs::metadata(&input).map_err(|e| Error::io(&input, e))?;
        if !meta.is_dir() {
            require_regular(&input, &meta)?;
        }
        let (db_path, dir_kind) = if meta.is_dir() { find_db_in_dir(&input)? } else { (input.clone(), None) };
        let file = File::open(&db_path).map_err(|e| Error::io(&db_path, e))?;
        let len = file.metadata().map_err(|e| Error::io(&db_path, e))?.len();
        // A zero-length file cannot be mapped; it is simply empty.
        let map = if len == 0 {
            None
        } else {
            // SAFETY: the map is read-only but shared (memmap2's `Mmap::map` is MAP_SHARED): a
            // running etcd may write the file while it is mapped, and we see its writes. Every read
            // through the map is bounds-checked and validated, so changed bytes give a parse error,
            // never undefined indexing. bbolt only grows its file in place, and defragmentation
            // writes a new file and renames it over the old one, whose pages stay mapped.
            // The accepted risk: another process that truncates this very file (not etcd; a copy
            // being rewritten, a user's `truncate`) takes pages away from under the map, and the
            // next read of one raises SIGBUS. That cannot be turned into an error here; the
            // command line's SIGBUS handler reports it in one line and exits 2 (tests/signals.rs).
            // Reading through `pread` instead would cost the speed this map buys (docs/
            // benchmarks.md). WAL segments, which etcd itself truncates while it runs, are read
            // into memory instead: see wal::frame.
            Some(unsafe { Mmap::map(&file) }.map_err(|e| Error::io(&db_path, e))?)
        };
        let has_trailer = len >= TRAILER_LEN && len % 512 == TRAILER_LEN;
        let cut_trailer = partial_trailer(map.as_deref().unwrap_or_default()).is_some();
        let kind = dir_kind.unwrap_or(if has_trailer || cut_trailer { InputKind::Snapshot } else { InputKind::Db });
        Ok(Source { input, kind, db_path: db_path.into(), map, file })
    }

    fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or_default()
    }

    pub fn file_size(&self) -> u64 {
        self.bytes().len() as u64
    }

    /// True when the file ends in the 32-byte trailer of `etcdctl snapshot save` (size mod 512 = 32).
    pub fn has_trailer(&self) -> bool {
        let len = self.file_size();
        len >= TRAILER_LEN && len % 512 == TRAILER_LEN
    }

    /// How many bytes of a trailer cut short the file ends with ([`partial_trailer`]).
    pub fn partial_trailer(&self) -> Option<u64> {
        partial_trailer(self.bytes())
    }

    /// The bbolt region: the whole file, less the trailer (or the part of it) there is.
    pub fn db_bytes(&self) -> &[u8] {
        let b = self.bytes();
        let tail = if self.has_trailer() { TRAILER_LEN } else { self.partial_trailer().unwrap_or(0) };
        &b[..b.len() - tail as usize]
    }

    pub fn db(&self) -> Result<Db<'_>> {
        Db::open(self.db_bytes(), self.db_path.clone())
    }

    /// Checks the trailer: SHA-256 of everything before it. Reads the whole file.
    pub fn verify_trailer(&self) -> Trailer {
        if let Some(present) = self.partial_trailer() {
            return Trailer::Partial { present };
        }
        if !self.has_trailer() {
            return Trailer::Missing;
        }
        self.db_sha256().0
    }

    /// SHA-256 of the bbolt region ([`Source::db_bytes`]), and the trailer judged by it: one
    /// pass over the file for both (`hash --kind sha256` wants the digest even when there is
    /// no trailer to check).
    pub fn db_sha256(&self) -> (Trailer, [u8; 32]) {
        let computed = self.sha256_of_db();
        if let Some(present) = self.partial_trailer() {
            return (Trailer::Partial { present }, computed);
        }
        if !self.has_trailer() {
            return (Trailer::Missing, computed);
        }
        let b = self.bytes();
        let stored = &b[b.len() - TRAILER_LEN as usize..];
        if computed.as_slice() == stored {
            (Trailer::Ok, computed)
        } else {
            let mut stored_bytes = [0u8; 32];
            stored_bytes.copy_from_slice(stored);
            (Trailer::Mismatch { stored: stored_bytes, computed }, computed)
        }
    }

    /// SHA-256 of [`Source::db_bytes`], read with `pread` into a buffer that stays in the
    /// core's cache rather than through the map: SHA-NI hashing straight out of page-cache
    /// pages took about a fifth longer (docs/benchmarks.md, "status"). Falls back to the map
    /// if the file reads short or fails (it changed under us; the map says what is there).
    fn sha256_of_db(&self) -> [u8; 32] {
        use std::os::unix::fs::FileExt;
        const CHUNK: usize = 256 << 10;
        let len = self.db_bytes().len() as u64;
        let mut buf = vec![0u8; CHUNK];
        let (mut hasher, mut at) = (Sha256::new(), 0u64);
        while at < len {
            let want = CHUNK.min((len - at) as usize);
            match self.file.read_at(&mut buf[..want], at) {
                Ok(n) if n > 0 => {
                    hasher.update(&buf[..n]);
                    at += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                _ => return Sha256::digest(self.db_bytes()).into(),
            }
        }
        hasher.finalize().into()
    }
}

/// A file cut inside the trailer `etcdctl snapshot save` appends: a bbolt file is whole pages,
/// so a file 1..=31 bytes longer than a whole number of pages (of the size meta page 0 states)
/// ends with that many bytes of the 32. A file cut elsewhere (mid-page) is not taken for one.
pub fn partial_trailer(bytes: &[u8]) -> Option<u64> {
    let len = bytes.len() as u64;
    let tail = len % 512;
    if !(1..TRAILER_LEN).contains(&tail) {
        return None;
    }
    // Meta page 0: a 16-byte page header, then magic, version and the page size (u32 LE each).
    let field = bytes.get(24..28)?;
    let page_size = u64::from(u32::from_le_bytes(field.try_into().ok()?));
    let db_len = len - tail;
    (page_size >= 512 && db_len >= 2 * page_size && db_len % page_size == 0).then_some(tail)
}

/// Lowercase hex of `b`.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Refuses what is neither a regular file nor a directory, before anything reads it: a fifo or a
/// device would block or never end, and a pipe has no size to check.
pub fn require_regular(path: &Path, meta: &std::fs::Metadata) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    let what = if t.is_file() || t.is_dir() {
        return Ok(());
    } else if t.is_fifo() {
        "a fifo (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    };
    Err(Error::Unrecognised { path: path.to_path_buf(), reason: format!("is {what}; etcdscope reads regular files (copy the data to a file first)") })
}

/// [`require_regular`] for a path not yet looked at.
pub fn require_regular_path(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    require_regular(path, &meta)
}

fn find_db_in_dir(dir: &Path) -> Result<(PathBuf, Option<InputKind>)> {
    let candidates = [(dir.join("member/snap/db"), InputKind::DataDir), (dir.join("snap/db"), InputKind::MemberDir)];
    for (path, kind) in candidates {
        if path.is_file() {
            return Ok((path, Some(kind)));
        }
    }
    let mut reason = "directory is neither an etcd data dir (no member/snap/db) nor a member dir (no snap/db)".to_string();
    if holds_wal(dir) {
        reason.push_str(&format!("; it holds a WAL: read it with `etcdscope wal {}`", dir.display()));
    }
    Err(Error::Unrecognised { path: dir.to_path_buf(), reason })
}

/// A WAL dir (`*.wal` segments), or a data or member dir whose db is absent but whose WAL is there.
fn holds_wal(dir: &Path) -> bool {
    let has_segments =
        |d: &Path| std::fs::read_dir(d).is_ok_and(|entries| entries.flatten().any(|e| e.path().extension().is_some_and(|x| x == "wal") && e.path().is_file()));
    [dir.to_path_buf(), dir.join("wal"), dir.join("member/wal")].iter().any(|d| has_segments(d))
}
