//! Outputs written whole or not at all.
//!
//! Every file or directory a command writes (`export sqlite`, `salvage --out`, `rebuild --out`,
//! …) is built under a hidden temporary name beside its final one, mode 0600 / 0700 (outputs may
//! hold Secrets), and renamed into place only when complete ([`PendingFile::commit`],
//! [`PendingDir::commit`]). Dropped without a commit — an error, an interrupt that unwound the
//! view — the temporary is removed. The paths of temporaries not yet committed are also kept in
//! a process-wide list, so that the command line can remove them when it must exit at once (a
//! second Ctrl-C): [`remove_all_pending`].

use crate::error::{Error, Result};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Temporaries not yet committed or dropped, by registration number.
static PENDING: Mutex<Vec<(u64, PathBuf)>> = Mutex::new(Vec::new());
static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Keeps a temporary path in [`PENDING`] while it lives.
#[derive(Debug)]
struct Registration(u64);

impl Registration {
    fn new(path: &Path) -> Registration {
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        PENDING.lock().unwrap_or_else(|p| p.into_inner()).push((id, path.to_path_buf()));
        Registration(id)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        PENDING.lock().unwrap_or_else(|p| p.into_inner()).retain(|(id, _)| *id != self.0);
    }
}

/// Removes every temporary output not yet committed. For a process about to exit without
/// unwinding (the command line's second interrupt); safe to call at any time from any thread.
pub fn remove_all_pending() {
    let pending = std::mem::take(&mut *PENDING.lock().unwrap_or_else(|p| p.into_inner()));
    for (_, path) in pending {
        if path.is_dir() {
            let _ = std::fs::remove_dir_all(&path);
        } else {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// The paths of temporaries not yet committed (for tests and diagnostics).
pub fn pending_paths() -> Vec<PathBuf> {
    PENDING.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(_, p)| p.clone()).collect()
}

/// Refuses `target` when it exists and `replace` was not asked for, or when it is a directory.
/// Commands call this before any work, so a long run does not end in a refusal.
pub fn refuse_existing(target: &Path, replace: bool) -> Result<()> {
    match std::fs::symlink_metadata(target) {
        Ok(m) if m.is_dir() => Err(Error::Usage(format!("{}: is a directory", target.display()))),
        Ok(_) if !replace => Err(Error::Usage(format!("{}: already exists (--force to replace it)", target.display()))),
        _ => Ok(()),
    }
}

/// The directory `target` will be written in ("." for a bare file name).
fn parent_of(target: &Path) -> &Path {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn hidden_prefix(target: &Path, what: &str) -> String {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "output".into());
    format!(".{name}.{what}-")
}

/// A file being written under a temporary name beside `target` (mode 0600).
#[derive(Debug)]
pub struct PendingFile {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
    _registration: Registration,
}

impl PendingFile {
    pub fn beside(target: &Path) -> Result<PendingFile> {
        let dir = parent_of(target);
        let tmp = tempfile::Builder::new()
            .prefix(&hidden_prefix(target, "partial"))
            .tempfile_in(dir)
            .map_err(|e| Error::io(dir, e))?;
        let registration = Registration::new(tmp.path());
        Ok(PendingFile { tmp, target: target.to_path_buf(), _registration: registration })
    }

    /// The temporary path (what to open, for writers that take a path).
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// Syncs the file and renames it to its final name (over an existing file only if
    /// `replace`), then syncs the directory.
    pub fn commit(self, replace: bool) -> Result<()> {
        self.tmp.as_file().sync_all().map_err(|e| Error::io(self.tmp.path(), e))?;
        let target = self.target;
        let persisted = if replace { self.tmp.persist(&target) } else { self.tmp.persist_noclobber(&target) };
        persisted.map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Usage(format!("{}: already exists (--force to replace it)", target.display()))
            } else {
                Error::io(&target, e.error)
            }
        })?;
        sync_dir(parent_of(&target))
    }
}

/// A directory being written under a temporary name beside `target` (mode 0700).
#[derive(Debug)]
pub struct PendingDir {
    tmp: Option<tempfile::TempDir>,
    target: PathBuf,
    _registration: Registration,
}

impl PendingDir {
    pub fn beside(target: &Path, what: &str) -> Result<PendingDir> {
        let dir = parent_of(target);
        let tmp = tempfile::Builder::new().prefix(&hidden_prefix(target, what)).tempdir_in(dir).map_err(|e| Error::io(dir, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o700)).map_err(|e| Error::io(tmp.path(), e))?;
        }
        let registration = Registration::new(tmp.path());
        Ok(PendingDir { tmp: Some(tmp), target: target.to_path_buf(), _registration: registration })
    }

    pub fn path(&self) -> &Path {
        self.tmp.as_ref().map_or(Path::new(""), |t| t.path())
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Renames the directory to its final name. `target` may exist only as an empty directory
    /// (it is replaced); anything else there is refused and the temporary removed.
    pub fn commit(mut self) -> Result<()> {
        let Some(tmp) = self.tmp.take() else { return Ok(()) };
        let target = self.target.clone();
        if let Ok(mut entries) = std::fs::read_dir(&target) {
            if entries.next().is_some() {
                return Err(Error::Usage(format!("{}: not empty", target.display())));
            }
            std::fs::remove_dir(&target).map_err(|e| Error::io(&target, e))?;
        }
        let kept = tmp.keep();
        std::fs::rename(&kept, &target).map_err(|e| {
            let _ = std::fs::remove_dir_all(&kept);
            Error::io(&target, e)
        })?;
        sync_dir(parent_of(&target))
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|f| f.sync_all()).map_err(|e| Error::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// The list of temporaries is process-wide: these tests take turns with it.
    static TURN: Mutex<()> = Mutex::new(());

    fn turn() -> std::sync::MutexGuard<'static, ()> {
        TURN.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[test]
    fn a_file_appears_only_when_committed() {
        let _turn = turn();
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.db");
        let mut p = PendingFile::beside(&target).unwrap();
        p.file().write_all(b"whole").unwrap();
        let tmp = p.path().to_path_buf();
        assert!(pending_paths().contains(&tmp) && !target.exists());
        p.commit(false).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"whole");
        assert!(!tmp.exists() && !pending_paths().contains(&tmp));
    }

    #[test]
    fn a_dropped_file_leaves_nothing() {
        let _turn = turn();
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.db");
        let p = PendingFile::beside(&target).unwrap();
        let tmp = p.path().to_path_buf();
        drop(p);
        assert!(!tmp.exists() && !target.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn no_clobber_unless_asked() {
        let _turn = turn();
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.db");
        std::fs::write(&target, b"old").unwrap();
        assert!(refuse_existing(&target, false).is_err() && refuse_existing(&target, true).is_ok());
        let p = PendingFile::beside(&target).unwrap();
        assert!(p.commit(false).is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "the temporary is gone");
    }

    #[test]
    fn directories_too() {
        let _turn = turn();
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("data");
        std::fs::create_dir(&target).unwrap();
        let p = PendingDir::beside(&target, "rebuild").unwrap();
        std::fs::write(p.path().join("x"), b"1").unwrap();
        p.commit().unwrap();
        assert_eq!(std::fs::read(target.join("x")).unwrap(), b"1");
        let q = PendingDir::beside(&target, "rebuild").unwrap();
        assert!(q.commit().is_err(), "a directory with something in it is never replaced");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "the temporary is gone");
    }
}
