//! The space view (`/ui/CTX/space`).

use super::{UiError, UiRequest, UiResult};

pub async fn page(_req: UiRequest) -> UiResult {
    Err(UiError::not_found("the space view is not built yet"))
}
