//! Progress bars on stderr, only when stderr is a terminal (never on a pipe, never in tests'
//! output) and only once a command has run for a second: units done of the total, rate and
//! time left.

use etcdscope::views::progress::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::io::IsTerminal;

pub struct Bar {
    bar: Option<ProgressBar>,
    phase: &'static str,
    started: std::time::Instant,
    terminal: bool,
}

/// Commands that finish sooner show no bar.
const DELAY: std::time::Duration = std::time::Duration::from_secs(1);

impl Bar {
    /// A bar if stderr is a terminal; otherwise one that draws nothing.
    pub fn new() -> Bar {
        Bar { bar: None, phase: "", started: std::time::Instant::now(), terminal: std::io::stderr().is_terminal() }
    }

    pub fn update(&mut self, p: Progress) {
        if !self.terminal || (self.bar.is_none() && self.started.elapsed() < DELAY) {
            return;
        }
        // The phase's work is over: the bar goes now, not when the command ends (what is
        // printed next, or the next slow step, must not sit under a finished bar).
        if p.done >= p.total {
            self.finish();
            return;
        }
        if self.phase != p.phase || self.bar.is_none() {
            if let Some(old) = self.bar.take() {
                old.finish_and_clear();
            }
            let bar = ProgressBar::with_draw_target(Some(p.total), ProgressDrawTarget::stderr());
            let template = if p.phase.starts_with("WAL") {
                "{prefix:>10} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}"
            } else {
                "{prefix:>10} [{bar:30}] {human_pos}/{human_len} {rate} eta {eta}"
            };
            let style = ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0}/s", s.per_sec());
                })
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(p.phase);
            self.bar = Some(bar);
            self.phase = p.phase;
        }
        if let Some(bar) = &self.bar {
            bar.set_length(p.total);
            bar.set_position(p.done);
        }
    }

    /// Clears the bar, if one is drawn (the next phase, if any, draws its own).
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.phase = "";
    }

    /// Whether a bar is drawn now.
    #[cfg(test)]
    fn drawn(&self) -> bool {
        self.bar.as_ref().is_some_and(|b| !b.is_finished())
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bar as on a terminal, past its delay.
    fn shown() -> Bar {
        Bar { bar: None, phase: "", started: std::time::Instant::now() - DELAY * 2, terminal: true }
    }

    #[test]
    fn the_bar_ends_when_its_phase_completes() {
        let mut bar = shown();
        bar.update(Progress { phase: "keys", done: 5, total: 10 });
        assert!(bar.drawn());
        bar.update(Progress { phase: "keys", done: 10, total: 10 });
        assert!(!bar.drawn(), "a finished phase leaves no bar drawn");
        bar.update(Progress { phase: "revisions", done: 1, total: 3 });
        assert!(bar.drawn(), "the next phase draws its own");
    }
}
