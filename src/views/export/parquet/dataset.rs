//! A Parquet dataset on disk: `DIR/<table>/cluster_id=<hex>/snapshot_revision=<rev>/part-<n>.parquet`,
//! and how one snapshot's partitions enter it whole.
//!
//! A snapshot is written under a hidden staging directory inside `DIR` (same file system, so a
//! rename moves it; hidden, so no engine's glob over `DIR/<table>/` sees it), and moved into
//! place only when every file is closed and synced: one rename per table, `source` last, so a
//! snapshot whose `source` row is in the dataset is in it whole. An error or an interrupt
//! before that leaves the dataset untouched, and the staging directory is removed.
//!
//! Replacing (`--replace`) swaps each table's old partition directory with the new one in one
//! `renameat2(RENAME_EXCHANGE)`, so a reader sees the old files or the new ones, never a mix
//! within a table and never none; the old files are then deleted. A table the old export had
//! and the new one has not (`revisions`, without `--history` now) loses its old partition.

use super::schema::ALL;
use crate::error::{Error, Result};
use crate::output::PendingDir;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Where one snapshot's rows go: the Hive partition keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Partition {
    /// As etcd derives it from the member IDs, or as the user gave it.
    pub cluster_id: u64,
    /// The revision read.
    pub snapshot_revision: i64,
}

impl Partition {
    /// `cluster_id=<hex>/snapshot_revision=<rev>`: the hex as etcdctl prints the ID (`%x`).
    pub fn dir(&self) -> String {
        format!("cluster_id={:x}/snapshot_revision={}", self.cluster_id, self.snapshot_revision)
    }
}

/// A dataset directory.
#[derive(Debug)]
pub struct Dataset {
    root: PathBuf,
}

impl Dataset {
    /// The dataset at `root`, created if missing. A path that is not a directory is refused.
    pub fn open(root: &Path) -> Result<Dataset> {
        match std::fs::symlink_metadata(root) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(Error::Usage(format!("{}: not a directory (--out names the dataset's directory)", root.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?,
            Err(e) => return Err(Error::io(root, e)),
        }
        Ok(Dataset { root: root.to_path_buf() })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The tables (directories of the dataset, hidden ones aside) that hold partition `p`.
    pub fn tables_holding(&self, p: &Partition) -> Result<Vec<String>> {
        let entries = std::fs::read_dir(&self.root).map_err(|e| Error::io(&self.root, e))?;
        let mut tables = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&self.root, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(['.', '_']) {
                continue;
            }
            if entry.path().join(p.dir()).exists() {
                tables.push(name);
            }
        }
        tables.sort_unstable();
        Ok(tables)
    }

    /// Refuses partition `p` when some table holds it, unless it is to be replaced.
    pub fn refuse_present(&self, p: &Partition, replace: bool) -> Result<()> {
        let holding = self.tables_holding(p)?;
        if replace || holding.is_empty() {
            return Ok(());
        }
        Err(Error::Usage(format!("{}: the dataset already holds {} (tables {}); --replace replaces it", self.root.display(), p.dir(), holding.join(", "))))
    }

    /// A new hidden staging directory inside the dataset (removed unless its contents are
    /// committed, and by a second interrupt too: [`PendingDir`]).
    pub fn stage(&self) -> Result<PendingDir> {
        PendingDir::beside(&self.root.join("staging"), "etcdscope")
    }

    /// Moves the partitions staged under `staged/<table>/` into the dataset, `source` last;
    /// with `replace`, in exchange for the ones there (then deleted), and the old partitions
    /// of tables not staged are removed first. Returns whether anything was replaced.
    pub fn commit(&self, staged: &Path, p: &Partition, replace: bool) -> Result<bool> {
        self.refuse_present(p, replace)?;
        let part = p.dir();
        let staged_tables: Vec<&str> = ALL.iter().map(|t| t.name).filter(|t| staged.join(t).join(&part).is_dir()).collect();
        let mut replaced = false;
        if replace {
            for old in self.tables_holding(p)? {
                if !staged_tables.contains(&old.as_str()) {
                    let from = self.root.join(&old).join(&part);
                    let away = staged.join(format!("old-{old}"));
                    std::fs::rename(&from, &away).map_err(|e| Error::io(&from, e))?;
                    std::fs::remove_dir_all(&away).map_err(|e| Error::io(&away, e))?;
                    replaced = true;
                }
            }
        }
        for table in staged_tables {
            let from = staged.join(table).join(&part);
            let to = self.root.join(table).join(&part);
            let parent = to.parent().unwrap_or(&self.root);
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            if replace && to.exists() {
                exchange(&from, &to)?;
                // `from` now holds the old files.
                std::fs::remove_dir_all(&from).map_err(|e| Error::io(&from, e))?;
                replaced = true;
            } else {
                rename_new(&from, &to)?;
            }
            sync_dir(parent)?;
        }
        Ok(replaced)
    }
}

fn c_path(p: &Path) -> Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| Error::Usage(format!("{}: a path with a NUL byte", p.display())))
}

/// Renames `from` to `to`, failing if `to` exists (another writer committed the same
/// partition meanwhile).
fn rename_new(from: &Path, to: &Path) -> Result<()> {
    let (a, b) = (c_path(from)?, c_path(to)?);
    // SAFETY: two valid NUL-terminated paths; renameat2 reads them only.
    let rc = unsafe { libc::renameat2(libc::AT_FDCWD, a.as_ptr(), libc::AT_FDCWD, b.as_ptr(), libc::RENAME_NOREPLACE) };
    if rc == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EEXIST) | Some(libc::ENOTEMPTY) => {
            Err(Error::Usage(format!("{}: written by another export meanwhile; --replace replaces it", to.display())))
        }
        // A file system without RENAME_NOREPLACE: a plain rename, which fails on a non-empty
        // directory all the same.
        Some(libc::EINVAL) | Some(libc::ENOSYS) => std::fs::rename(from, to).map_err(|e| Error::io(to, e)),
        _ => Err(Error::io(to, e)),
    }
}

/// Swaps two directories in one step, so a reader of `to` sees either one whole.
fn exchange(from: &Path, to: &Path) -> Result<()> {
    let (a, b) = (c_path(from)?, c_path(to)?);
    // SAFETY: two valid NUL-terminated paths; renameat2 reads them only.
    let rc = unsafe { libc::renameat2(libc::AT_FDCWD, a.as_ptr(), libc::AT_FDCWD, b.as_ptr(), libc::RENAME_EXCHANGE) };
    if rc == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) {
        return Err(Error::io(to, e));
    }
    // A file system without RENAME_EXCHANGE: the old directory aside, the new one in (a reader
    // between the two renames finds no partition), the old one where `from` was.
    let aside = from.with_extension("old");
    std::fs::rename(to, &aside).map_err(|e| Error::io(to, e))?;
    std::fs::rename(from, to).map_err(|e| Error::io(to, e))?;
    std::fs::rename(&aside, from).map_err(|e| Error::io(from, e))
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir).and_then(|f| f.sync_all()).map_err(|e| Error::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn a_partition_is_named_as_etcdctl_prints_the_id() {
        let p = Partition { cluster_id: 0xcdf8_1819_4e3a_8c32, snapshot_revision: 42 };
        assert_eq!(p.dir(), "cluster_id=cdf818194e3a8c32/snapshot_revision=42");
        assert_eq!(Partition { cluster_id: 0xab, snapshot_revision: 1 }.dir(), "cluster_id=ab/snapshot_revision=1");
    }

    #[test]
    fn a_commit_is_refused_over_a_present_partition_and_replaces_it_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let ds = Dataset::open(dir.path()).unwrap();
        let p = Partition { cluster_id: 7, snapshot_revision: 9 };
        let stage = |files: &[(&str, &str)]| {
            let s = ds.stage().unwrap();
            for (table, text) in files {
                write(&s.path().join(table).join(p.dir()).join("part-0.parquet"), text);
            }
            s
        };
        let first = stage(&[("kv", "old kv"), ("revisions", "old revisions"), ("source", "old source")]);
        assert!(!ds.commit(first.path(), &p, false).unwrap());
        drop(first);
        let read = |table: &str| std::fs::read_to_string(dir.path().join(table).join(p.dir()).join("part-0.parquet")).ok();
        assert_eq!(read("kv").as_deref(), Some("old kv"));

        let second = stage(&[("kv", "new kv"), ("source", "new source")]);
        let refused = ds.commit(second.path(), &p, false).unwrap_err().to_string();
        assert!(refused.contains("already holds") && refused.contains("kv, revisions, source"), "{refused}");
        assert_eq!(read("kv").as_deref(), Some("old kv"));
        assert!(ds.commit(second.path(), &p, true).unwrap());
        drop(second);
        assert_eq!(read("kv").as_deref(), Some("new kv"));
        assert_eq!(read("source").as_deref(), Some("new source"));
        assert_eq!(read("revisions"), None, "a table the new export lacks loses its old partition");
        // Nothing is left beside the tables: the staging directories are gone.
        let mut names: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        assert_eq!(names, ["kv", "revisions", "source"]);
        assert!(std::fs::read_dir(dir.path().join("revisions/cluster_id=7")).unwrap().next().is_none());
    }

    #[test]
    fn a_file_is_not_a_dataset() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        assert!(Dataset::open(&file).unwrap_err().to_string().contains("not a directory"));
    }
}
