//! The HTTP front: every request goes through one handler that checks the bearer token, finds
//! the context named by the first path segment, parses the rest with [`super::request::parse`]
//! and dispatches. Decoding runs on blocking threads; list bodies flow to the client through a
//! small bounded channel, so a slow client slows the decoder instead of filling memory, and a
//! client that hangs up stops it.

use super::accept::negotiate;
use super::context::Context;
use super::discovery::{etag, Discovery};
use super::list::{get_object, plan_list, selectors, Include, Shape};
use super::request::{self, Discovery as Doc, Request, ResourceRequest, Verb};
use super::status::Status;
use super::watch::{plan_watch, WatchPlan};
use super::{authz, Server};
use crate::cancel::Cancel;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::io::Write;
use std::time::Duration;

/// Bytes gathered before a chunk of a list body is sent.
const CHUNK: usize = 64 << 10;
/// Chunks in flight per list body.
const IN_FLIGHT: usize = 4;

/// The one handler.
pub async fn handle(server: &'static Server, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    // HTTP/1.1 names the host in `Host:`, HTTP/2 in the URI's authority.
    let host = headers.get(header::HOST).map(|v| v.to_str().unwrap_or("")).or(uri.authority().map(|a| a.as_str()));
    if !server.guarded && !loopback_host(host) {
        return status_response(&Status::forbidden_host());
    }
    if super::ui::owns(server, uri.path()) {
        // A UI page holds a request permit while it is made, as an API request does, so reloads
        // cannot pile up work without bound.
        let Some(_permit) = server.requests.try_acquire().ok() else {
            return status_response(&Status::too_many_requests());
        };
        return super::ui::handle(server, method, &uri, &headers, &body).await;
    }
    if uri.path() == "/" && server.ui.is_some() && super::ui::wants_html(&headers) {
        return super::ui::redirect("/ui/");
    }
    if server.token.is_some() && !has_bearer(server, &headers) {
        return status_response(&Status::unauthorized());
    }
    let Some(_permit) = server.requests.try_acquire().ok() else {
        return status_response(&Status::too_many_requests());
    };
    let path = uri.path();
    let (ctx, rest) = match server.context_of(path) {
        Some(found) => found,
        None if path == "/" => return json_response(StatusCode::OK, "application/json", server.contexts_document().into_bytes()),
        None => return status_response(&Status::not_found(format!("no context is served at {path:?}; the contexts are {}", server.context_names()))),
    };
    let parsed = match request::parse(method.as_str(), rest, uri.query().unwrap_or("")) {
        Ok(r) => r,
        Err(s) => return status_response(&s),
    };
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    match dispatch(server, ctx, parsed, accept, &headers, &body).await {
        Ok(r) => r,
        Err(s) => status_response(&s),
    }
}

async fn dispatch(
    server: &'static Server,
    ctx: &'static (Context, Discovery),
    req: Request,
    accept: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Status> {
    let (context, discovery) = (&ctx.0, &ctx.1);
    match req {
        Request::Version => Ok(json_response(StatusCode::OK, "application/json", super::version_document().into_bytes())),
        Request::Health => Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "ok").into_response()),
        Request::OpenApi(path) => {
            let accept = accept.map(str::to_string);
            let (bytes, content_type) = blocking(move || super::openapi::answer(&ctx.0, &ctx.1, &path, accept.as_deref())).await?;
            Ok(discovery_response(bytes, content_type, headers))
        }
        Request::Discovery(doc) => {
            let (bytes, content_type) = match doc {
                Doc::Api | Doc::Apis => discovery.root(doc == Doc::Api, negotiate(accept, true)?, &server.address),
                Doc::Group(g) => (discovery.group(&g).ok_or_else(not_found_path)?, "application/json".into()),
                Doc::GroupVersion { group, version } => (discovery.group_version(&group, &version).ok_or_else(not_found_path)?, "application/json".into()),
            };
            Ok(discovery_response(bytes, &content_type, headers))
        }
        Request::Resource(r) => resource(server, context, discovery, *r, accept, body).await,
    }
}

fn not_found_path() -> Status {
    Status::not_found("the server could not find the requested resource")
}

async fn resource(
    server: &'static Server,
    ctx: &'static Context,
    discovery: &Discovery,
    r: ResourceRequest,
    accept: Option<&str>,
    body: &[u8],
) -> Result<Response, Status> {
    if r.verb == Verb::Create {
        // client-go posts reviews as protobuf (the `k8s\0` envelope values in etcd have too).
        let json_body;
        let body = if body.starts_with(b"k8s\0") {
            json_body = match ctx.decoder.decode_at(b"/review", body, None) {
                crate::k8s::decoder::Decoded::Object { json, .. } => json.into_string().into_bytes(),
                _ => return Err(Status::bad_request("the review's protobuf does not decode")),
            };
            &json_body[..]
        } else {
            body
        };
        if let Some(answer) = authz::review(&r.group, &r.version, &r.resource, body) {
            return Ok(json_response(StatusCode::CREATED, "application/json", answer?.to_string().into_bytes()));
        }
    }
    if !r.verb.is_read() {
        return Err(Status::method_not_supported(format!(
            "etcdscope serves a backup read-only: {} is not allowed on {}",
            r.verb.name(),
            if r.group.is_empty() { r.resource.clone() } else { format!("{}.{}", r.resource, r.group) }
        )));
    }
    let served = discovery.find(&r.group, &r.version, &r.resource).ok_or_else(not_found_path)?.clone();
    if r.namespace.is_some() && !served.info.namespaced {
        return Err(not_found_path());
    }
    match r.subresource.as_deref() {
        None | Some("status") => {}
        Some(sub @ ("log" | "exec" | "attach" | "portforward" | "proxy" | "ephemeralcontainers")) if r.resource == "pods" => {
            return Err(Status::bad_request(format!(
                "a backup holds no containers: pods/{sub} needs a running cluster, and etcdscope serves objects from an etcd snapshot"
            )));
        }
        Some(_) => return Err(not_found_path()),
    }
    let form = negotiate(accept, false)?;
    let include = Include::parse(r.options.include_object.as_deref())?;
    // A watch of one object (the API server's path form) is its collection with a name selector.
    let field_selector = match (&r.name, r.verb, r.options.field_selector.as_deref()) {
        (Some(name), Verb::Watch, Some(f)) if !f.is_empty() => format!("{f},metadata.name={name}"),
        (Some(name), Verb::Watch, _) => format!("metadata.name={name}"),
        (_, _, f) => f.unwrap_or("").to_string(),
    };
    let (labels, fields) = selectors(r.options.label_selector.as_deref().unwrap_or(""), &field_selector, &served.info)?;
    let shape = Shape { served, form, include, labels, fields };
    let cancel = Cancel::new();
    match (r.verb, r.name) {
        (Verb::Get, Some(name)) => {
            let bytes = blocking(move || get_object(ctx, &shape, r.namespace.as_deref(), &name, &r.options, &cancel)).await?;
            Ok(json_response(StatusCode::OK, "application/json", bytes))
        }
        (Verb::Watch, _) => {
            let Ok(permit) = server.watches.try_acquire() else { return Err(Status::too_many_requests()) };
            let timeout = Duration::from_secs(r.options.timeout_seconds.unwrap_or(DEFAULT_WATCH_SECONDS).min(MAX_WATCH_SECONDS));
            let plan = plan_watch(ctx, shape, r.namespace.as_deref(), &r.options);
            Ok(watch_response(plan, permit, timeout, cancel, server.shutdown.clone()))
        }
        (_, _) => {
            let (tokens, slots) = (&server.tokens, &server.slots);
            let list_cancel = cancel.clone();
            let plan = blocking(move || plan_list(ctx, tokens, slots, shape, r.namespace.as_deref(), &r.options, &list_cancel)).await?;
            Ok(stream_response(move |out, cancel| plan.write(out, cancel), cancel, server.shutdown.clone()))
        }
    }
}

/// How long a watch stays open without `timeoutSeconds` (the API server's minimum request
/// timeout), and the most a client may ask for.
const DEFAULT_WATCH_SECONDS: u64 = 1800;
const MAX_WATCH_SECONDS: u64 = 24 * 3600;

/// A watch's stream: the replay on a blocking thread, then the connection held open, idle,
/// until the timeout, the client leaving, or the server stopping.
fn watch_response(plan: WatchPlan, permit: tokio::sync::SemaphorePermit<'static>, timeout: Duration, cancel: Cancel, shutdown: Cancel) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(IN_FLIGHT);
    let deadline = tokio::time::Instant::now() + timeout;
    tokio::spawn(async move {
        let _permit = permit;
        let replay_tx = tx.clone();
        let stop = shutdown.clone();
        let replay = tokio::task::spawn_blocking(move || {
            let mut out = ChunkSender { tx: replay_tx, buf: Vec::new(), cancel: cancel.clone(), shutdown: stop };
            if let Err(e) = plan.replay(&mut out, &cancel).map_err(std::io::Error::other) {
                let _ = out.tx.blocking_send(Err(e));
            }
        });
        let _ = replay.await;
        let stopped = async {
            while !shutdown.is_cancelled() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {}
            _ = tx.closed() => {}
            _ = stopped => {}
        }
    });
    streamed(rx)
}

/// Runs `work` on a blocking thread.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T, Status> + Send + 'static) -> Result<T, Status> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| Err(Status::internal(format!("the request's worker failed: {e}"))))
}

/// A 200 whose JSON body `write` produces on a blocking thread, chunk by chunk. A client that
/// goes away, or the server stopping, cancels the writer at its next object.
fn stream_response(write: impl FnOnce(&mut dyn Write, &Cancel) -> crate::error::Result<()> + Send + 'static, cancel: Cancel, shutdown: Cancel) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut out = ChunkSender { tx, buf: Vec::with_capacity(CHUNK), cancel: cancel.clone(), shutdown };
        let result = write(&mut out, &cancel).map_err(std::io::Error::other).and_then(|()| out.flush());
        if let Err(e) = result {
            // The status is sent; all a failure can do now is cut the body short, which
            // clients see as a truncated response rather than a complete wrong one.
            let _ = out.tx.blocking_send(Err(e));
        }
    });
    streamed(rx)
}

/// A 200 JSON response whose body is what arrives on `rx`, until it closes.
fn streamed(rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>) -> Response {
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let mut response = Response::new(Body::from_stream(stream));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `io::Write` into the response channel, in chunks of [`CHUNK`] bytes.
struct ChunkSender {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
    cancel: Cancel,
    shutdown: Cancel,
}

impl ChunkSender {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        if self.shutdown.is_cancelled() || self.tx.blocking_send(Ok(chunk)).is_err() {
            self.cancel.cancel();
            return Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"));
        }
        Ok(())
    }
}

impl Write for ChunkSender {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

fn json_response(code: StatusCode, content_type: &str, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = code;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// A discovery document with its ETag, or 304 when the client already has it.
fn discovery_response(body: Vec<u8>, content_type: &str, headers: &HeaderMap) -> Response {
    let tag = etag(&body);
    let fresh = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(tag.as_str());
    let mut r = if fresh { Response::new(Body::empty()) } else { json_response(StatusCode::OK, content_type, body) };
    if fresh {
        *r.status_mut() = StatusCode::NOT_MODIFIED;
    }
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public"));
    r
}

/// A failed request: the Status as JSON, its code as the HTTP status.
pub fn status_response(s: &Status) -> Response {
    let code = StatusCode::from_u16(s.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(code, "application/json", serde_json::to_vec(s).expect("a Status serializes"))
}

/// Whether the request carries the server's bearer token (a script reading the UI may send it
/// instead of a session cookie).
pub(crate) fn has_bearer(server: &Server, headers: &HeaderMap) -> bool {
    let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match (&server.token, given) {
        (Some(expected), Some(given)) => constant_time_eq(given.as_bytes(), expected.as_bytes()),
        _ => false,
    }
}

/// Whether `Host:` names this machine by a loopback name or address (or is absent, as in
/// HTTP/1.0). A page on another site that rebinds its own name to 127.0.0.1 sends its name.
pub fn loopback_host(host: Option<&str>) -> bool {
    let Some(host) = host else { return true };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
