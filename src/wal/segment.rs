//! WAL segment files: `<seq>-<index>.wal` names (16 hex digits each), where a WAL lives in a data
//! dir or member dir, and the order problems etcd itself would refuse (docs/format/wal.md §1).

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The two numbers in a segment's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SegmentName {
    /// 0, 1, 2, … one per cut.
    pub seq: u64,
    /// Raft index of the first entry the segment was cut for.
    pub index: u64,
}

impl SegmentName {
    /// `0000000000000001-0000000000000069.wal` → seq 1, index 0x69. Only etcd's exact form.
    pub fn parse(name: &str) -> Option<SegmentName> {
        let stem = name.strip_suffix(".wal")?;
        let (seq, index) = stem.split_once('-')?;
        let hex = |s: &str| (s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| u64::from_str_radix(s, 16).ok()).flatten();
        Some(SegmentName { seq: hex(seq)?, index: hex(index)? })
    }

    pub fn file_name(&self) -> String {
        super::layout::segment_name(self.seq, self.index)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentFile {
    pub path: PathBuf,
    pub name: SegmentName,
    pub len: u64,
}

/// Something about the set of segment files that etcd would not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderProblem {
    /// A sequence number is missing between two segments (a middle segment was lost).
    SeqGap { after: String, next: String },
    /// A later segment names a smaller first index than the one before it.
    IndexDecreases { after: String, next: String },
}

impl std::fmt::Display for OrderProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrderProblem::SeqGap { after, next } => write!(f, "segment sequence gap: {next} follows {after} (a segment is missing)"),
            OrderProblem::IndexDecreases { after, next } => write!(f, "segment {next} starts at a lower raft index than {after}"),
        }
    }
}

/// The segments of one WAL directory, in order, and what was left aside.
#[derive(Debug, Clone, Default)]
pub struct Segments {
    pub dir: PathBuf,
    pub files: Vec<SegmentFile>,
    /// Other files in the directory: (`name`, why it is not read).
    pub ignored: Vec<(String, &'static str)>,
    pub problems: Vec<OrderProblem>,
}

/// The WAL directory for `input`: a WAL dir itself, a member dir (`wal/`) or a data dir
/// (`member/wal/`).
pub fn wal_dir(input: &Path) -> Result<PathBuf> {
    for candidate in [input.join("member/wal"), input.join("wal"), input.to_path_buf()] {
        if candidate.is_dir() && has_segments(&candidate) {
            return Ok(candidate);
        }
    }
    Err(Error::Unrecognised { path: input.to_path_buf(), reason: "no WAL here: expected *.wal files in it, in wal/ or in member/wal/".into() })
}

fn has_segments(dir: &Path) -> bool {
    std::fs::read_dir(dir).map(|rd| rd.flatten().any(|e| e.file_name().to_str().is_some_and(|n| n.ends_with(".wal")))).unwrap_or(false)
}

/// Lists and orders the segments of `dir` (as etcd does: by name, which sorts by seq).
pub fn discover(dir: &Path) -> Result<Segments> {
    let mut out = Segments { dir: dir.to_path_buf(), ..Segments::default() };
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for e in entries {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let meta = e.metadata().map_err(|err| Error::io(&e.path(), err))?;
        if !meta.is_file() {
            out.ignored.push((name, "not a regular file"));
            continue;
        }
        match SegmentName::parse(&name) {
            Some(n) => out.files.push(SegmentFile { path: e.path(), name: n, len: meta.len() }),
            None if name.ends_with(".tmp") => out.ignored.push((name, "preallocated spare segment (.tmp)")),
            None if name.ends_with(".broken") => out.ignored.push((name, "copy etcd kept before repairing a torn tail (.broken)")),
            None => out.ignored.push((name, "not a WAL segment name")),
        }
    }
    out.files.sort_by_key(|f| f.name);
    out.ignored.sort();
    for w in out.files.windows(2) {
        let (a, b) = (&w[0].name, &w[1].name);
        if a.seq.checked_add(1) != Some(b.seq) {
            out.problems.push(OrderProblem::SeqGap { after: a.file_name(), next: b.file_name() });
        }
        if b.index < a.index {
            out.problems.push(OrderProblem::IndexDecreases { after: a.file_name(), next: b.file_name() });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_sequence_number_has_no_successor() {
        let dir = std::env::temp_dir().join(format!("etcdscope-seg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["ffffffffffffffff-0000000000000000.wal", "ffffffffffffffff-0000000000000001.wal"] {
            std::fs::write(dir.join(name), b"").unwrap();
        }
        let found = discover(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(found.files.len(), 2);
        assert!(matches!(found.problems[..], [OrderProblem::SeqGap { .. }]), "{:?}", found.problems);
    }

    #[test]
    fn names() {
        assert_eq!(SegmentName::parse("0000000000000001-0000000000000069.wal"), Some(SegmentName { seq: 1, index: 0x69 }));
        assert_eq!(SegmentName { seq: 1, index: 0x69 }.file_name(), "0000000000000001-0000000000000069.wal");
        for bad in [
            "0.tmp",
            "1-2.wal",
            "000000000000000g-0000000000000000.wal",
            "0000000000000000-0000000000000000.wal.broken",
            "0000000000000000_0000000000000000.wal",
        ] {
            assert_eq!(SegmentName::parse(bad), None, "{bad}");
        }
    }
}
