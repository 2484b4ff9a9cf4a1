//! Stopping long work on request.
//!
//! A [`Cancel`] is a shared flag: whoever wants the work to stop (the command line's signal
//! watcher, later a server whose client hung up, a test) calls [`Cancel::cancel`], and every long
//! view calls [`Cancel::check`] in its loops and returns [`Error::Interrupted`] at the next item.
//! Views then unwind normally, so their temporary outputs are removed by their destructors
//! (`crate::output`) and nothing half-written is left under a final name.
//!
//! The token is passed to each call, not kept in the opened input (`Snapshot`): one opened
//! backup may serve many requests at once, each with its own reason to stop.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A request to stop, shared by clones. [`Cancel::default`] is a token nobody else holds: it is
/// never cancelled unless this caller cancels it.
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    flag: Arc<AtomicBool>,
}

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// A token that follows `flag` (set, for instance, by a signal handler).
    pub fn from_flag(flag: Arc<AtomicBool>) -> Cancel {
        Cancel { flag }
    }

    /// Asks every holder of a clone to stop.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// `Err(Error::Interrupted)` once cancelled: `cancel.check()?` in a loop.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Interrupted)
        } else {
            Ok(())
        }
    }

    /// The shared flag itself, for code that must poll it without this crate's types (SQLite's
    /// progress handler, a signal handler).
    pub fn flag(&self) -> &Arc<AtomicBool> {
        &self.flag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_request() {
        let a = Cancel::new();
        let b = a.clone();
        assert!(a.check().is_ok() && !b.is_cancelled());
        b.cancel();
        assert!(matches!(a.check(), Err(Error::Interrupted)));
        assert!(Cancel::default().check().is_ok(), "a fresh token is its own");
    }
}
