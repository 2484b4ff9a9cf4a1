//! The UI behind `--token`: a browser cannot send a bearer header when it follows a link, so it
//! logs in once — the token typed into a form (POST, so it stays out of history and logs), or
//! the one-time code `serve --open` puts in the address it opens — and then carries a session
//! cookie: random per process, `HttpOnly`, `SameSite=Strict`, `Secure` (the token makes serve
//! speak HTTPS). The token itself is never stored in the browser.

use super::{error_page, html, page, redirect, Query, UiError, UiState};
use crate::serve::Server;
use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;

/// The session cookie's name, with the server's port in it: browsers keep cookies per host, not
/// per port, so two servers on one machine would otherwise overwrite each other's.
fn cookie_name(server: &Server) -> String {
    let port = server.address.rsplit_once(':').map_or("", |(_, p)| p);
    format!("etcdscope-session-{port}")
}

/// Whether the request carries this process's session cookie.
pub fn has_session(server: &Server, ui: &UiState, headers: &HeaderMap) -> bool {
    let cookie = cookie_name(server);
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).any(|pair| {
        pair.trim()
            .split_once('=')
            .is_some_and(|(name, value)| name == cookie && super::super::router::constant_time_eq(value.as_bytes(), ui.session.as_bytes()))
    })
}

/// Sends a browser without a session to the login form, remembering where it was going.
pub fn login_redirect(uri: &Uri) -> Response {
    let back = uri.path_and_query().map_or("/ui/", |p| p.as_str());
    redirect(&super::query::href("/ui/login", &[("next", back.as_bytes())]))
}

/// `/ui/login`: the form (GET), the token posted from it (POST), or `?code=` from `--open`.
pub fn login(server: &Server, ui: &UiState, method: &Method, query: &Query, body: &Bytes) -> Response {
    let next = safe_next(query.text("next"));
    let Some(token) = &server.token else { return redirect(&next) };
    if let Some(code) = query.bytes("code") {
        let taken = ui.one_time.lock().ok().and_then(|mut c| c.take_if(|c| super::super::router::constant_time_eq(c.as_bytes(), code)));
        return match taken {
            Some(_) => with_session(server, ui, &next),
            None => form(StatusCode::UNAUTHORIZED, &next, Some("That login link was used already or is not this server's: enter the token.")),
        };
    }
    if method == Method::POST {
        let posted = Query::parse(std::str::from_utf8(body).unwrap_or(""));
        let given = posted.bytes("token").unwrap_or(b"");
        let next = safe_next(posted.text("next"));
        return if super::super::router::constant_time_eq(given, token.as_bytes()) {
            with_session(server, ui, &next)
        } else {
            form(StatusCode::UNAUTHORIZED, &next, Some("That is not the token this server was started with."))
        };
    }
    form(StatusCode::OK, &next, None)
}

/// Only paths on this server's UI are followed after a login (no open redirect).
fn safe_next(next: Option<String>) -> String {
    match next {
        Some(n) if n.starts_with("/ui/") && !n.starts_with("/ui//") && !n.contains('\\') => n,
        _ => "/ui/".into(),
    }
}

fn with_session(server: &Server, ui: &UiState, next: &str) -> Response {
    let mut r = redirect(next);
    let cookie = format!("{}={}; Path=/ui; HttpOnly; SameSite=Strict; Secure", cookie_name(server), ui.session);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

fn form(code: StatusCode, next: &str, problem: Option<&str>) -> Response {
    let body = maud::html! {
        h1 { "Log in" }
        p { "This server was started with a token. Enter it to read the UI (the browser keeps a session cookie, not the token)." }
        @if let Some(p) = problem { p.error role="alert" { (p) } }
        form method="post" action="/ui/login" {
            input type="hidden" name="next" value=(next);
            label for="token" { "Token " }
            input #token type="password" name="token" autocomplete="current-password" autofocus;
            " "
            button type="submit" { "Log in" }
        }
    };
    if code == StatusCode::OK || code == StatusCode::UNAUTHORIZED {
        html(code, page::layout(None, &page::Nav::none(), "Log in", body).into_string())
    } else {
        error_page(None, &UiError { code, message: problem.unwrap_or("").into() })
    }
}
