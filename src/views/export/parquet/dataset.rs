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
        // A symbolic link to a directory is followed: datasets are often linked into place.
        match std::fs::metadata(root) {
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
    /// with `replace`, in exchange for the ones there, and the old partitions of tables not
    /// staged are moved out (before `source`, so a snapshot with its `source` row is whole).
    /// What is moved out lands in `staged` and goes with it. One commit at a time per dataset
    /// (a lock on its directory), presence checked again under the lock. A step that fails undoes the steps
    /// before it, so the dataset is left as it was. Returns whether anything was replaced.
    pub fn commit(&self, staged: &Path, p: &Partition, replace: bool) -> Result<bool> {
        let _lock = self.lock()?;
        self.refuse_present(p, replace)?;
        let part = p.dir();
        let staged_tables: Vec<&str> = ALL.iter().map(|t| t.name).filter(|t| staged.join(t).join(&part).is_dir()).collect();
        // Every directory the renames need, made (and synced) before the first of them.
        for table in &staged_tables {
            let parent = self.root.join(table).join(&part);
            let parent = parent.parent().unwrap_or(&self.root);
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            for dir in [parent, parent.parent().unwrap_or(&self.root), &self.root] {
                sync_dir(dir)?;
            }
        }
        let stale: Vec<String> =
            if replace { self.tables_holding(p)?.into_iter().filter(|t| !staged_tables.contains(&t.as_str())).collect() } else { Vec::new() };
        let mut done: Vec<Step> = Vec::new();
        let result = (|| {
            let (source, tables): (Vec<&str>, Vec<&str>) = staged_tables.iter().partition(|t| **t == super::schema::SOURCE.name);
            for table in tables {
                done.push(self.put(staged, table, &part, replace)?);
            }
            for old in &stale {
                let from = self.root.join(old).join(&part);
                let away = staged.join(format!("old-{old}"));
                std::fs::rename(&from, &away).map_err(|e| Error::io(&from, e))?;
                done.push(Step::Moved { from, to: away });
            }
            for table in source {
                done.push(self.put(staged, table, &part, replace)?);
            }
            Ok(())
        })();
        if let Err(e) = result {
            for step in done.iter().rev() {
                step.undo();
            }
            return Err(e);
        }
        for table in &staged_tables {
            let to = self.root.join(table).join(&part);
            sync_dir(to.parent().unwrap_or(&self.root))?;
        }
        Ok(done.iter().any(|s| matches!(s, Step::Exchanged { .. })) || !stale.is_empty())
    }

    /// Moves one table's staged partition into place (or swaps it with the one there).
    fn put(&self, staged: &Path, table: &str, part: &str, replace: bool) -> Result<Step> {
        let from = staged.join(table).join(part);
        let to = self.root.join(table).join(part);
        if replace && to.exists() {
            exchange(&from, &to)?;
            Ok(Step::Exchanged { a: from, b: to })
        } else {
            rename_new(&from, &to)?;
            Ok(Step::Moved { from, to })
        }
    }

    /// The dataset's commit lock, held until dropped: `flock` on the dataset directory itself,
    /// so nothing is left in it.
    fn lock(&self) -> Result<std::fs::File> {
        use std::os::unix::io::AsRawFd;
        let dir = std::fs::File::open(&self.root).map_err(|e| Error::io(&self.root, e))?;
        loop {
            // SAFETY: a file descriptor this function owns, for the call's duration.
            if unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_EX) } == 0 {
                return Ok(dir);
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(Error::io(&self.root, e));
            }
        }
    }
}

/// A rename a commit made, and how to take it back.
enum Step {
    Moved { from: PathBuf, to: PathBuf },
    Exchanged { a: PathBuf, b: PathBuf },
}

impl Step {
    /// Best effort: the error that made the commit stop is the one reported.
    fn undo(&self) {
        let _ = match self {
            Step::Moved { from, to } => std::fs::rename(to, from).map_err(|e| Error::io(to, e)),
            Step::Exchanged { a, b } => exchange(a, b),
        };
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

    /// Found in review: a table's directory that cannot be made (a file in its place) failed
    /// the commit after `kv` was already in place, and a second run was refused.
    #[test]
    fn a_commit_that_fails_leaves_the_dataset_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let ds = Dataset::open(dir.path()).unwrap();
        let p = Partition { cluster_id: 7, snapshot_revision: 9 };
        std::fs::write(dir.path().join("objects"), "not a directory").unwrap();
        let s = ds.stage().unwrap();
        for table in ["kv", "objects", "source"] {
            write(&s.path().join(table).join(p.dir()).join("part-0.parquet"), table);
        }
        assert!(ds.commit(s.path(), &p, false).is_err());
        assert!(ds.tables_holding(&p).unwrap().is_empty(), "nothing of the snapshot is in the dataset");
        assert!(s.path().join("kv").join(p.dir()).join("part-0.parquet").is_file(), "the staged files are still in staging");
    }

    /// Found in review: exports replacing one snapshot at the same time swapped its tables one
    /// by one, so the dataset could end with one run's `source` beside another's `revisions`.
    /// A commit now waits for the one under way (a lock on the dataset's directory).
    #[test]
    fn a_commit_waits_for_the_one_under_way() {
        let dir = tempfile::tempdir().unwrap();
        let ds = Dataset::open(dir.path()).unwrap();
        let p = Partition { cluster_id: 7, snapshot_revision: 9 };
        let s = ds.stage().unwrap();
        write(&s.path().join("source").join(p.dir()).join("part-0.parquet"), "source");
        let held = ds.lock().unwrap();
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                ds.commit(s.path(), &p, false).unwrap();
                done.store(true, std::sync::atomic::Ordering::SeqCst);
            });
            std::thread::sleep(std::time::Duration::from_millis(300));
            assert!(!done.load(std::sync::atomic::Ordering::SeqCst), "the commit did not wait for the lock");
            assert!(ds.tables_holding(&p).unwrap().is_empty());
            drop(held);
        });
        assert!(done.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!(ds.tables_holding(&p).unwrap(), ["source"]);
    }

    #[test]
    fn a_file_is_not_a_dataset() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        assert!(Dataset::open(&file).unwrap_err().to_string().contains("not a directory"));
    }
}
