//! The web UI `serve` gives a browser at `/ui/`: what kubectl cannot show — where a snapshot's
//! bytes went, how an object changed revision by revision, what a restore would undo — drawn
//! from the same views the command line prints (`status`, `check`, `analyze`, `history`,
//! `diff`, the decoder), never from a second reading of the file.
//!
//! Every page is HTML rendered here, with maud (which escapes every value: keys, labels and
//! values are attacker-controlled), and every view is a URL: navigation is by real links, so
//! reload, the back button, middle-click and "copy link" work, and no page needs script to be
//! read. The one script and one stylesheet are embedded in the binary ([`assets`]) and the
//! Content-Security-Policy forbids inline script and anything from elsewhere.
//!
//! Routes (`CTX` is a context name, as in the API paths):
//!
//! | path | page |
//! |---|---|
//! | `/ui/` | the served inputs |
//! | `/ui/CTX/` | overview: what `status` and `check` say |
//! | `/ui/CTX/space` | treemap of bytes, resource → namespace → object (`analyze`) |
//! | `/ui/CTX/keys?prefix=P` | keyspace browser; `/ui/CTX/key?key=K` one key |
//! | `/ui/CTX/history?key=K` | an object's timeline (`history`) |
//! | `/ui/CTX/search?q=…` | search by key, kind, namespace, labels |
//! | `/ui/diff/A/B` | what serving B instead of A changes (`diff`) |
//! | `/ui/static/…` | the embedded assets |

pub mod assets;
pub mod auth;
pub mod diff;
pub mod history;
pub mod keys;
pub mod overview;
pub mod page;
pub mod query;
pub mod search;
pub mod space;
pub mod space_tree;
pub mod state;
pub mod treemap;

use super::context::Context;
use super::Server;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use maud::Markup;
pub use query::Query;
pub use state::UiState;

/// Longest path and query the UI reads (longer: 414).
const MAX_PATH: usize = 8 << 10;
const MAX_QUERY: usize = 16 << 10;

/// What a page handler gets: the server, the context (for per-input pages), the parsed query.
pub struct UiRequest {
    pub server: &'static Server,
    pub context: Option<&'static Context>,
    /// Index of `context` in `server.contexts` (its UI caches are at the same index).
    pub index: usize,
    pub query: Query,
}

/// A page that could not be made: its status code and a sentence for the reader.
#[derive(Debug)]
pub struct UiError {
    pub code: StatusCode,
    pub message: String,
}

impl UiError {
    pub fn not_found(message: impl Into<String>) -> UiError {
        UiError { code: StatusCode::NOT_FOUND, message: message.into() }
    }
    pub fn bad_request(message: impl Into<String>) -> UiError {
        UiError { code: StatusCode::BAD_REQUEST, message: message.into() }
    }
    pub fn internal(message: impl Into<String>) -> UiError {
        UiError { code: StatusCode::INTERNAL_SERVER_ERROR, message: message.into() }
    }
}

impl From<crate::error::Error> for UiError {
    fn from(e: crate::error::Error) -> UiError {
        match e {
            crate::error::Error::Interrupted => UiError { code: StatusCode::SERVICE_UNAVAILABLE, message: "the server is stopping".into() },
            e => UiError::internal(e.to_string()),
        }
    }
}

pub type UiResult = Result<Response, UiError>;

/// Whether `path` is the UI's (and the UI is on).
pub fn owns(server: &Server, path: &str) -> bool {
    server.ui.is_some() && (path == "/ui" || path.starts_with("/ui/"))
}

/// Whether a request for `/` comes from a browser (it asks for HTML first), which is sent to the UI.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.split(',').next().is_some_and(|first| first.trim().starts_with("text/html")))
}

/// Answers a request for a UI path. The bearer-token check for the UI is here (a browser sends
/// a session cookie, see [`auth`]); the Host check against DNS rebinding is in the router.
pub async fn handle(server: &'static Server, method: Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Response {
    let Some(ui) = server.ui.as_ref() else { return error_page(None, &UiError::not_found("the UI is off (--no-ui)")) };
    let path = uri.path();
    let raw_query = uri.query().unwrap_or("");
    if path.len() > MAX_PATH || raw_query.len() > MAX_QUERY {
        return error_page(None, &UiError { code: StatusCode::URI_TOO_LONG, message: "the address is too long".into() });
    }
    let rest = path.strip_prefix("/ui").unwrap_or(path).trim_start_matches('/');
    let query = Query::parse(raw_query);
    if rest == "login" {
        return auth::login(server, ui, &method, &query, body);
    }
    if let Some(file) = rest.strip_prefix("static/") {
        return assets::serve(file, headers);
    }
    if server.token.is_some() && !auth::has_session(server, ui, headers) && !super::router::has_bearer(server, headers) {
        return auth::login_redirect(uri);
    }
    if method != Method::GET && method != Method::HEAD {
        return error_page(None, &UiError { code: StatusCode::METHOD_NOT_ALLOWED, message: "the UI only reads".into() });
    }
    let mut segments = rest.splitn(2, '/');
    let first = segments.next().unwrap_or("");
    let tail = segments.next().unwrap_or("");
    let result = if first.is_empty() {
        overview::home(server).map(ok_page)
    } else if first == "diff" {
        diff::page(server, tail, query).await
    } else if let Some(index) = server.contexts.iter().position(|(c, _)| c.name == first) {
        let req = UiRequest { server, context: Some(&server.contexts[index].0), index, query };
        match tail.trim_end_matches('/') {
            "" if path.ends_with('/') => overview::page(req).await,
            "" => return redirect(&format!("{path}/")),
            "space" => space::page(req).await,
            "keys" => keys::browse(req).await,
            "key" => keys::key(req).await,
            "history" => history::page(req).await,
            "search" => search::page(req).await,
            other => Err(UiError::not_found(format!("{first} has no page {other:?}"))),
        }
    } else {
        Err(UiError::not_found(format!("no input is served as {first:?}; the inputs are {}", server.context_names())))
    };
    result.unwrap_or_else(|e| error_page(Some(server), &e))
}

/// Runs `work` (which reads the file) on a blocking thread.
pub async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T, UiError> + Send + 'static) -> Result<T, UiError> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| Err(UiError::internal(format!("the page's worker failed: {e}"))))
}

/// A 200 HTML page.
pub fn ok_page(markup: Markup) -> Response {
    html(StatusCode::OK, markup.into_string())
}

/// A page saying what went wrong, with the status code it carries.
pub fn error_page(server: Option<&Server>, e: &UiError) -> Response {
    let title = e.code.canonical_reason().unwrap_or("error");
    let body = maud::html! {
        h1 { (title) }
        p.error role="alert" { (e.message) }
        p { a href="/ui/" { "All served inputs" } }
    };
    html(e.code, page::layout(server, &page::Nav::none(), title, body).into_string())
}

/// An HTML response with the headers every UI page carries: no inline script, nothing from
/// elsewhere, not framed, not cached, no referrer (keys may be in the URL).
pub fn html(code: StatusCode, body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = code;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    secure_headers(h);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The Content-Security-Policy and its companions.
pub fn secure_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// A 303 to `location` (a path on this server).
pub fn redirect(location: &str) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    secure_headers(r.headers_mut());
    r
}

/// The context at `index`, with its UI caches.
pub fn context_at(server: &'static Server, index: usize) -> (&'static Context, &'static state::ContextUi) {
    let ui = server.ui.as_ref().expect("UI pages run only with the UI on");
    (&server.contexts[index].0, &ui.contexts[index])
}
