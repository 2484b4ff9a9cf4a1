//! Outputs written whole or not at all.
//!
//! Every file or directory a command writes (`export sqlite`, `salvage --out`, `rebuild --out`,
//! …) is built under a hidden temporary name beside its final one, mode 0600 / 0700 (outputs may
//! hold Secrets), and renamed into place only when complete ([`PendingFile::commit`],
//! [`PendingDir::commit`]). Dropped without a commit — an error, an interrupt that unwound the
//! view — the temporary is removed. The paths of temporaries not yet committed are also kept in
//! a process-wide list, so that the command line can remove them when it must exit at once (a
//! second Ctrl-C): [`remove_all_pending`].
//!
//! What may be replaced: only a regular file, and only when asked (`--force`). A directory, a
//! device (`/dev/null` would become a regular file), a FIFO, a socket or a symbolic link is
//! refused even then ([`refuse_existing`]), and so is any file the command reads, whatever the
//! path says ([`refuse_input`]). Errors raised while a temporary is written name the output the
//! user asked for, not the hidden temporary ([`PendingFile::name_target`]).

use crate::error::{Error, Result};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Temporaries not yet committed or dropped, by registration number.
static PENDING: Mutex<Vec<(u64, PathBuf)>> = Mutex::new(Vec::new());
static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Keeps a temporary path in [`PENDING`] (and in a [`signal_safe`] slot) while it lives.
#[derive(Debug)]
struct Registration {
    id: u64,
    slot: Option<usize>,
}

impl Registration {
    fn new(path: &Path) -> Registration {
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        PENDING.lock().unwrap_or_else(|p| p.into_inner()).push((id, path.to_path_buf()));
        Registration { id, slot: signal_safe::register(path) }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            signal_safe::unregister(slot);
        }
        PENDING.lock().unwrap_or_else(|p| p.into_inner()).retain(|(id, _)| *id != self.id);
    }
}

/// Pending temporaries again, for a handler of a signal that cannot be unwound (SIGBUS: a mapped
/// input truncated under the reader). Such a handler may interrupt anything, including a thread
/// holding `PENDING`'s lock or the allocator's, so it may use neither: the paths are kept as
/// C strings in a fixed table of atomic pointers, and `remove_all_pending_from_signal` uses
/// only system calls (`unlinkat`, `openat`, `getdents64`, `close`).
pub mod signal_safe {
    use std::ffi::{c_char, CString};
    use std::path::Path;
    use std::ptr::null_mut;
    use std::sync::atomic::{AtomicPtr, Ordering};

    /// More outputs than any command writes at once; a path that finds no slot is still
    /// removed by every other path of removal.
    const SLOTS: usize = 16;
    static TABLE: [AtomicPtr<c_char>; SLOTS] = [const { AtomicPtr::new(null_mut()) }; SLOTS];
    /// Directory levels removed below a pending directory (rebuild's: member/snap/db).
    const DEPTH: u32 = 4;

    /// Puts `path` in a free slot. The C string is never freed: a handler may be reading it
    /// while another thread unregisters it (a few bytes per output, per process).
    pub(super) fn register(path: &Path) -> Option<usize> {
        use std::os::unix::ffi::OsStrExt;
        let c = CString::new(path.as_os_str().as_bytes()).ok()?.into_raw();
        let slot = TABLE.iter().position(|s| s.compare_exchange(null_mut(), c, Ordering::AcqRel, Ordering::Relaxed).is_ok());
        if slot.is_none() {
            // SAFETY: `c` came from `into_raw` above and was stored nowhere.
            drop(unsafe { CString::from_raw(c) });
        }
        slot
    }

    pub(super) fn unregister(slot: usize) {
        TABLE[slot].store(null_mut(), Ordering::Release);
    }

    /// Removes every registered temporary (files, and directories up to `DEPTH` levels deep).
    ///
    /// # Safety
    /// Async-signal-safe by construction (system calls on stack buffers only); meant for a
    /// signal handler about to `_exit`. Concurrent writers into the removed paths may leave
    /// entries behind, never anything outside them.
    pub unsafe fn remove_all_pending_from_signal() {
        for slot in &TABLE {
            let path = slot.load(Ordering::Acquire);
            if !path.is_null() {
                remove_tree(libc::AT_FDCWD, path, DEPTH);
            }
        }
    }

    /// Removes `name` (relative to `dir`): a file at once, a directory by its entries first.
    unsafe fn remove_tree(dir: libc::c_int, name: *const c_char, depth: u32) {
        if libc::unlinkat(dir, name, 0) == 0 || depth == 0 {
            return;
        }
        let fd = libc::openat(dir, name, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC);
        if fd < 0 {
            return;
        }
        // Entries shift as they are removed: read the directory again until a pass removes
        // nothing (bounded, in case something keeps writing there).
        for _ in 0..8 {
            if remove_entries(fd, depth) == 0 {
                break;
            }
        }
        libc::close(fd);
        libc::unlinkat(dir, name, libc::AT_REMOVEDIR);
    }

    /// One pass over a directory's entries; how many were found (besides `.` and `..`).
    unsafe fn remove_entries(fd: libc::c_int, depth: u32) -> usize {
        let mut buf = [0u64; 512];
        let mut found = 0;
        libc::lseek(fd, 0, libc::SEEK_SET);
        loop {
            let n = libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), std::mem::size_of_val(&buf));
            if n <= 0 {
                return found;
            }
            let base = buf.as_ptr().cast::<u8>();
            let mut off = 0usize;
            while off < n as usize {
                let entry = base.add(off).cast::<libc::dirent64>();
                let name = std::ptr::addr_of!((*entry).d_name).cast::<c_char>();
                let dots = *name == b'.' as c_char && (*name.add(1) == 0 || (*name.add(1) == b'.' as c_char && *name.add(2) == 0));
                if !dots {
                    found += 1;
                    remove_tree(fd, name, depth - 1);
                }
                let len = (*entry).d_reclen as usize;
                if len == 0 {
                    return found;
                }
                off += len;
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// A rebuild's pending directory, several levels deep, many entries (more than one
        /// getdents buffer), removed with system calls only.
        #[test]
        fn a_nested_directory_goes_whole() {
            let top = tempfile::tempdir().unwrap();
            let dir = top.path().join(".data.rebuild-x");
            for sub in ["member/snap", "member/wal"] {
                std::fs::create_dir_all(dir.join(sub)).unwrap();
            }
            std::fs::write(dir.join("member/snap/db"), b"db").unwrap();
            for i in 0..600 {
                std::fs::write(dir.join(format!("member/wal/{i:016x}-{i:016x}.wal")), b"w").unwrap();
            }
            let c = CString::new(dir.to_str().unwrap()).unwrap();
            // SAFETY: a test; nothing else uses the directory.
            unsafe { remove_tree(libc::AT_FDCWD, c.as_ptr(), DEPTH) };
            assert!(!dir.exists());
            assert_eq!(std::fs::read_dir(top.path()).unwrap().count(), 0);
        }
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

/// Refuses `target` when it exists and is not a regular file, even with `replace`; and when it
/// is a regular file and `replace` was not asked for. Commands call this (and [`refuse_input`])
/// before any work, so a long run does not end in a refusal.
///
/// A symbolic link is refused, not followed: committing renames the output over the link
/// itself, so `--force` would either turn the link into a file (breaking whatever relies on the
/// link) or, were the link resolved, write to a path the user never named (which may be an
/// input or a device). Naming the file itself is one step for the user and leaves no doubt.
pub fn refuse_existing(target: &Path, replace: bool) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(target) else { return Ok(()) };
    if let Some(what) = not_replaceable(&meta) {
        let link = std::fs::read_link(target).map(|to| format!(" to {}", to.display())).unwrap_or_default();
        return Err(Error::Usage(format!("{}: is {what}{link}; an output is only ever written over a regular file, --force or not", target.display())));
    }
    if !replace {
        return Err(Error::Usage(format!("{}: already exists (--force to replace it)", target.display())));
    }
    Ok(())
}

/// What an existing path is when it is not a regular file (as `symlink_metadata` sees it).
fn not_replaceable(meta: &std::fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    Some(if t.is_file() {
        return None;
    } else if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_fifo() {
        "a FIFO (named pipe), not a regular file"
    } else if t.is_socket() {
        "a socket, not a regular file"
    } else if t.is_char_device() {
        "a character device, not a regular file"
    } else if t.is_block_device() {
        "a block device, not a regular file"
    } else {
        "not a regular file"
    })
}

/// Refuses `target` when it is one of `inputs`: the same file (device and inode), whatever the
/// paths say (a link, a hard link, `./x`, `../dir/x`). With `--force` it would be replaced by
/// the output. `inputs` are every file the command reads: the snapshot or db, WAL segments, an
/// encryption config, `.proto` files; a path that does not exist is no input.
pub fn refuse_input(target: &Path, inputs: &[PathBuf]) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Ok(out) = std::fs::metadata(target) else { return Ok(()) };
    for input in inputs {
        if std::fs::metadata(input).is_ok_and(|m| m.dev() == out.dev() && m.ino() == out.ino()) {
            return Err(Error::Usage(format!("{}: is an input ({}); write the output elsewhere", target.display(), input.display())));
        }
    }
    Ok(())
}

/// `e`, with every path inside `tmp` (a temporary, or a file in a temporary directory) named
/// as the same path under `target` instead, and the temporary named after the message: the user
/// asked for `target` and has never heard of the hidden name.
fn name_target(e: Error, tmp: &Path, target: &Path) -> Error {
    let renamed = |path: &Path| -> Option<PathBuf> {
        let rest = path.strip_prefix(tmp).ok()?;
        Some(if rest.as_os_str().is_empty() { target.to_path_buf() } else { target.join(rest) })
    };
    let writing = |path: &Path| format!("(writing its temporary file {})", path.display());
    match e {
        Error::Io { path, source } => match renamed(&path) {
            Some(named) => Error::Io { source: std::io::Error::new(source.kind(), format!("{source} {}", writing(&path))), path: named },
            None => Error::Io { path, source },
        },
        Error::Output { path, what } => match renamed(&path) {
            Some(named) => Error::Output { what: format!("{what} {}", writing(&path)), path: named },
            None => Error::Output { path, what },
        },
        Error::Unrecognised { path, reason } => match renamed(&path) {
            Some(named) => Error::Unrecognised { reason: format!("{reason} {}", writing(&path)), path: named },
            None => Error::Unrecognised { path, reason },
        },
        other => other,
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
        let tmp = tempfile::Builder::new().prefix(&hidden_prefix(target, "partial")).tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
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

    /// `e` (raised while writing the temporary) naming the target instead of the temporary:
    /// `OUT: No space left on device (writing its temporary file DIR/.OUT.partial-x)`. Writers
    /// map every error of theirs through this.
    pub fn name_target(&self, e: Error) -> Error {
        name_target(e, self.tmp.path(), &self.target)
    }

    /// Syncs the file and renames it to its final name (over an existing file only if
    /// `replace`), then syncs the directory. The target is looked at again first: what appeared
    /// there since [`refuse_existing`] (a link, a FIFO) is refused all the same.
    pub fn commit(self, replace: bool) -> Result<()> {
        self.tmp.as_file().sync_all().map_err(|e| self.name_target(Error::io(self.tmp.path(), e)))?;
        refuse_existing(&self.target, replace)?;
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

    /// `e` (raised while writing into the temporary directory) naming the same path under the
    /// target: `OUT/member/snap/db: No space left on device (writing its temporary file …)`.
    pub fn name_target(&self, e: Error) -> Error {
        name_target(e, self.path(), &self.target)
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
    fn only_a_regular_file_is_ever_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        std::os::unix::fs::symlink(&file, dir.path().join("link")).unwrap();
        for (path, what) in [(Path::new("/dev/null"), "character device"), (dir.path(), "directory"), (&dir.path().join("link"), "symbolic link")] {
            let e = refuse_existing(path, true).unwrap_err().to_string();
            assert!(e.contains(what), "{}: {e}", path.display());
        }
        assert!(refuse_existing(&file, true).is_ok() && refuse_existing(&dir.path().join("new"), false).is_ok());
        // The same file by another name is an input; a missing path is none.
        let inputs = [dir.path().join("missing"), dir.path().join("link")];
        assert!(refuse_input(&dir.path().join(".").join("file"), &inputs).unwrap_err().to_string().contains("is an input"));
        assert!(refuse_input(&dir.path().join("new"), &inputs).is_ok());
    }

    #[test]
    fn errors_name_the_target_not_the_temporary() {
        let _turn = turn();
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.db");
        let p = PendingFile::beside(&target).unwrap();
        let full = std::io::Error::from_raw_os_error(libc::ENOSPC);
        let e = p.name_target(Error::io(p.path(), full));
        assert!(matches!(&e, Error::Io { path, source } if path == &target && source.kind() == std::io::ErrorKind::StorageFull), "{e:?}");
        assert_eq!(e.to_string(), format!("{}: No space left on device (os error 28) (writing its temporary file {})", target.display(), p.path().display()));
        let other = p.name_target(Error::io(dir.path(), std::io::Error::other("x")));
        assert_eq!(other.to_string(), format!("{}: x", dir.path().display()), "other paths are left alone");
        let d = PendingDir::beside(&dir.path().join("data"), "rebuild").unwrap();
        let inner = d.path().join("member/snap/db");
        let e = d.name_target(Error::Output { path: inner.clone(), what: "full".into() });
        assert_eq!(e.to_string(), format!("{}: full (writing its temporary file {})", dir.path().join("data/member/snap/db").display(), inner.display()));
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
