//! The keyspace browser (`/ui/CTX/keys`) and the key page (`/ui/CTX/key`).

use super::{UiError, UiRequest, UiResult};

pub async fn browse(_req: UiRequest) -> UiResult {
    Err(UiError::not_found("the keyspace browser is not built yet"))
}

pub async fn key(_req: UiRequest) -> UiResult {
    Err(UiError::not_found("the key page is not built yet"))
}
