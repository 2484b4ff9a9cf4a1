//! What the UI keeps between requests: the session secret a browser's cookie must carry, the
//! one-time code `serve --open` logs in with, and per input the results of the long views
//! (status, check, analyze), each computed once, on first use, and shared; and per pair of
//! inputs the diff between them.

use super::space_tree::SpaceModel;
use crate::views::check::CheckReport;
use crate::views::diff::DiffResult;
use crate::views::status::Status;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// A view computed once: its result, or the error every later request is shown.
pub struct Once<T> {
    cell: OnceLock<Result<Arc<T>, String>>,
}

impl<T> Default for Once<T> {
    fn default() -> Self {
        Once { cell: OnceLock::new() }
    }
}

impl<T> Once<T> {
    /// The value, computing it with `make` the first time (other callers wait for it).
    pub fn get(&self, make: impl FnOnce() -> crate::error::Result<T>) -> Result<Arc<T>, String> {
        self.cell.get_or_init(|| make().map(Arc::new).map_err(|e| e.to_string())).clone()
    }
}

/// The UI's state for one served input.
#[derive(Default)]
pub struct ContextUi {
    pub status: Once<Status>,
    pub check: Once<CheckReport>,
    /// The space view's per-key totals and tree (one pass, as `analyze` makes it).
    pub space: Once<SpaceModel>,
    /// The time evidence of the revisions, for the timeline's time axis.
    pub times: Once<super::history::TimeBounds>,
}

/// The diff of one pair of inputs, computed once.
pub type DiffCell = Arc<Once<DiffResult>>;

/// The UI's state.
pub struct UiState {
    /// The value of the session cookie (random per process), when a token is required.
    pub session: String,
    /// A code that logs a browser in once (`serve --open`); taken on use.
    pub one_time: Mutex<Option<String>>,
    pub contexts: Vec<ContextUi>,
    /// Per (current, restored) pair of context indexes: their diff, computed once.
    pub diffs: Mutex<HashMap<(usize, usize), DiffCell>>,
}

impl UiState {
    pub fn new(contexts: usize) -> UiState {
        UiState {
            session: random_hex(32),
            one_time: Mutex::new(Some(random_hex(16))),
            contexts: (0..contexts).map(|_| ContextUi::default()).collect(),
            diffs: Mutex::new(HashMap::new()),
        }
    }

    /// The cell of the diff between the contexts at `pair` (made empty on first ask).
    pub fn diff_cell(&self, pair: (usize, usize)) -> DiffCell {
        let mut diffs = self.diffs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        diffs.entry(pair).or_default().clone()
    }

    /// The one-time login code, while it is unused.
    pub fn one_time_code(&self) -> Option<String> {
        self.one_time.lock().ok().and_then(|c| c.clone())
    }
}

/// `n` random bytes as hex.
fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    crate::serve::continue_::random_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
