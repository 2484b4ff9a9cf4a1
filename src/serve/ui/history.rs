//! The object timeline (`/ui/CTX/history`).

use super::{UiError, UiRequest, UiResult};

pub async fn page(_req: UiRequest) -> UiResult {
    Err(UiError::not_found("the timeline is not built yet"))
}
