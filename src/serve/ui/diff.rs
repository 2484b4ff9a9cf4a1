//! The diff view (`/ui/diff/A/B`).

use super::{Query, UiError, UiResult};
use crate::serve::Server;

pub async fn page(_server: &'static Server, _tail: &str, _query: Query) -> UiResult {
    Err(UiError::not_found("the diff view is not built yet"))
}
