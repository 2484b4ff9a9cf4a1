//! The UI's stylesheet and script, embedded in the binary (no CDN, no fonts from the network:
//! the UI works offline). Addresses carry a hash of the content, so a browser may keep them
//! forever and still never runs an old script against a new server.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// `(name, content type, bytes)` of every asset.
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", include_str!("assets/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("assets/app.js")),
    ("favicon.svg", "image/svg+xml", include_str!("assets/favicon.svg")),
];

/// Each asset's content hash (12 hex digits), computed once.
fn versions() -> &'static Vec<String> {
    static V: OnceLock<Vec<String>> = OnceLock::new();
    V.get_or_init(|| ASSETS.iter().map(|(_, _, body)| Sha256::digest(body.as_bytes()).iter().take(6).map(|b| format!("{b:02x}")).collect()).collect())
}

/// The address of asset `name` with its version.
pub fn url(name: &str) -> String {
    match ASSETS.iter().position(|(n, _, _)| *n == name) {
        Some(i) => format!("/ui/static/{name}?v={}", versions()[i]),
        None => format!("/ui/static/{name}"),
    }
}

/// Answers `/ui/static/NAME`.
pub fn serve(name: &str, headers: &HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|(n, _, _)| *n == name) else {
        return super::error_page(None, &super::UiError::not_found(format!("no asset {name:?}")));
    };
    let (_, content_type, body) = ASSETS[i];
    let tag = format!("\"{}\"", versions()[i]);
    let fresh = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(tag.as_str());
    let mut r = Response::new(if fresh { Body::empty() } else { Body::from(body) });
    if fresh {
        *r.status_mut() = StatusCode::NOT_MODIFIED;
    }
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    super::secure_headers(h);
    r
}
