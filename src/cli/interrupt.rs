//! Signals, as the command line handles them.
//!
//! - SIGINT, SIGTERM, SIGHUP: [`install`] starts a watcher thread before any command runs.
//!   For a command that can stop cleanly (it called [`watch`] for its [`Cancel`] token), the
//!   first signal cancels the token; the view unwinds, its temporary outputs are removed, and
//!   the command exits 130 ("interrupted"). If the work has not ended within [`GRACE`], or a
//!   second signal comes, every temporary output still pending is removed and the process exits
//!   130 at once. Any other command (short ones: decode, status, hash) — and any command
//!   signalled before it asked for its token — is ended at once with 130.
//! - SIGBUS (every command): inputs are memory-mapped, and a file truncated by another process
//!   while mapped makes the next read of a page past its new end fault. The handler writes one
//!   fixed line, removes pending temporary outputs and exits 2 — it may run in the middle of
//!   anything, so it does nothing that is not async-signal-safe (`write`, the system calls of
//!   `output::signal_safe`, `_exit`).

use etcdscope::cancel::Cancel;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// How long the work has, after the first signal, to stop by itself.
const GRACE: Duration = Duration::from_secs(5);

/// The exit code of a command stopped by a signal (the shell's 128 + SIGINT).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Set by [`watch`]: the running command checks its token, so a first signal cancels it
/// instead of ending the process.
static COOPERATIVE: AtomicBool = AtomicBool::new(false);

/// The process's token, cancelled by the watcher.
static TOKEN: OnceLock<Cancel> = OnceLock::new();

/// Starts watching SIGINT, SIGTERM and SIGHUP (once; the first thing `run` does). Without the
/// handlers (they could not be installed) the signals keep their default action.
pub fn install() {
    TOKEN.get_or_init(start_watching);
}

/// The token SIGINT, SIGTERM and SIGHUP cancel, for a command that checks it: from now on a
/// first signal cancels the work instead of ending the process.
pub fn watch() -> Cancel {
    COOPERATIVE.store(true, Ordering::Release);
    TOKEN.get_or_init(start_watching).clone()
}

fn start_watching() -> Cancel {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let cancel = Cancel::new();
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else { return cancel };
    let token = cancel.clone();
    let spawned = std::thread::Builder::new().name("signals".into()).spawn(move || {
        let mut first = true;
        for _ in signals.forever() {
            if !COOPERATIVE.load(Ordering::Acquire) {
                end_now();
            }
            if first {
                first = false;
                token.cancel();
                let _ = std::thread::Builder::new().name("grace".into()).spawn(|| {
                    std::thread::sleep(GRACE);
                    stop_now("did not stop within 5 s of the interrupt");
                });
            } else {
                stop_now("interrupted again");
            }
        }
    });
    if spawned.is_err() {
        return Cancel::new();
    }
    cancel
}

/// Ends a command that does not check its token (or has not asked for it yet).
fn end_now() -> ! {
    etcdscope::output::remove_all_pending();
    eprintln!("etcdscope: interrupted");
    std::process::exit(EXIT_INTERRUPTED)
}

/// Removes pending temporary outputs and exits without unwinding.
fn stop_now(why: &str) -> ! {
    etcdscope::output::remove_all_pending();
    eprintln!("etcdscope: {why}; stopped at once (temporary outputs removed)");
    std::process::exit(EXIT_INTERRUPTED)
}

const SIGBUS_MESSAGE: &[u8] = b"etcdscope: error: an input file shrank while it was being read (SIGBUS): another process truncated or rewrote it; read a copy, or the file once its writer has stopped\n";

extern "C" fn on_sigbus(_: libc::c_int) {
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is a static; the removal
    // of pending outputs uses system calls only (etcdscope::output::signal_safe).
    unsafe {
        libc::write(2, SIGBUS_MESSAGE.as_ptr().cast(), SIGBUS_MESSAGE.len());
        etcdscope::output::signal_safe::remove_all_pending_from_signal();
        libc::_exit(super::EXIT_BAD_INPUT);
    }
}

/// Installs the SIGBUS handler. The maps are read-only and shared (a running etcd's writes
/// show through them); bbolt only grows its file, so a shrinking input means someone else
/// truncated it: the accepted risk of mapping, reported in one line instead of a core dump.
pub fn report_sigbus() {
    // SAFETY: a zeroed sigaction with a handler that only calls async-signal-safe functions.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
    }
}
