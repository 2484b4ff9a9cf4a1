//! Progress of the long reads (export, get's listings, history of a prefix, diff, wal), for a
//! progress bar: the library reports, the command line draws (only on a terminal).

/// `done` of `total` units of `phase`: keys ("keys"), revisions ("revisions"), or bytes of
/// WAL segments (phases named "WAL …").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub phase: &'static str,
    pub done: u64,
    pub total: u64,
}

/// Reports at most every this many units (and at the end), so the callback costs nothing.
pub const EVERY: u64 = 4096;

/// A callback that wants nothing.
pub fn ignore(_: Progress) {}

/// Counts units of one phase and reports every [`EVERY`] of them. [`Counter::finish`] says the
/// phase's work is over even when its count stopped short of the total (keys filtered out), so
/// a progress bar ends with its work instead of staying drawn.
pub struct Counter<'p> {
    report: &'p mut dyn FnMut(Progress),
    phase: &'static str,
    done: u64,
    total: u64,
}

impl<'p> Counter<'p> {
    pub fn new(report: &'p mut dyn FnMut(Progress), phase: &'static str, total: u64) -> Counter<'p> {
        Counter { report, phase, done: 0, total }
    }

    /// One more unit done.
    pub fn step(&mut self) {
        self.done += 1;
        if self.done % EVERY == 0 || self.done == self.total {
            (self.report)(Progress { phase: self.phase, done: self.done, total: self.total });
        }
    }

    /// `done` units done, of a count that is not one step per unit (bytes, revisions).
    pub fn set(&mut self, done: u64) {
        if done / EVERY != self.done / EVERY || done == self.total {
            (self.report)(Progress { phase: self.phase, done: done.min(self.total), total: self.total });
        }
        self.done = done;
    }
}

impl Counter<'_> {
    /// The phase is over: reported complete (`done == total`) unless it already was.
    pub fn finish(self) {
        if self.done != self.total {
            (self.report)(Progress { phase: self.phase, done: self.total, total: self.total });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phase_that_stops_short_is_reported_complete_when_finished() {
        let mut seen = Vec::new();
        let mut report = |p: Progress| seen.push(p);
        {
            let mut c = Counter::new(&mut report, "keys", 10);
            c.step();
            c.step();
            c.finish();
        }
        assert_eq!(seen.last(), Some(&Progress { phase: "keys", done: 10, total: 10 }), "{seen:?}");
        seen.clear();
        let mut report = |p: Progress| seen.push(p);
        {
            let mut c = Counter::new(&mut report, "keys", 2);
            c.step();
            c.step();
            c.finish();
        }
        assert_eq!(seen, vec![Progress { phase: "keys", done: 2, total: 2 }], "reported once at the end, not again on drop");
    }
}
