//! Search (`/ui/CTX/search`).

use super::{UiError, UiRequest, UiResult};

pub async fn page(_req: UiRequest) -> UiResult {
    Err(UiError::not_found("search is not built yet"))
}
