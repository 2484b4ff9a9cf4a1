//! `etcdscope serve`: snapshots as a read-only Kubernetes API server, so kubectl, client
//! libraries and every tool built on them read a backup as they read a cluster.
//!
//! Each input is one context, served under its own path prefix on one listener
//! (`http://127.0.0.1:PORT/<context>/api/v1/pods`), so clients keep one discovery cache per
//! input. Handlers stand on the same views the command line uses (`views::table` for printing,
//! the decoder for objects, the catalogue for resources); nothing here reads bytes of its own.
//! docs/design/serve.md has the research and the plan; docs/commands/serve.md the user's view.

pub mod accept;
pub mod authz;
pub mod context;
pub mod continue_;
pub mod discovery;
pub mod etcd_grpc;
pub mod kubeconfig;
pub mod list;
pub mod openapi;
pub mod openapi_v2;
pub mod request;
pub mod router;
pub mod slots;
pub mod status;
pub mod tls;
pub mod ui;
pub mod watch;

use crate::cancel::Cancel;
use crate::error::{Error, Result};
use context::Context;
use continue_::Tokens;
use discovery::Discovery;
use std::net::SocketAddr;
use std::time::Duration;

/// The Kubernetes release whose API `serve` speaks (the schemas' newest source).
pub const KUBERNETES_VERSION: (&str, &str) = ("1", "36");

/// Requests answered at once; more get 429 and retry.
pub const MAX_REQUESTS: usize = 256;

/// Watches open at once; more get 429.
pub const MAX_WATCHES: usize = 128;

/// What runs: every context, the token, limits and the shutdown signal.
pub struct Server {
    pub contexts: Vec<(Context, Discovery)>,
    pub tokens: Tokens,
    /// Decoding threads shared by every list.
    pub slots: slots::Slots,
    /// The bearer token every request must carry, if set.
    pub token: Option<String>,
    /// `host:port` as clients reach it.
    pub address: String,
    pub requests: tokio::sync::Semaphore,
    /// Watches open at once (each holds a connection until its timeout).
    pub watches: tokio::sync::Semaphore,
    /// Cancelled to stop: listeners close, bodies in flight end.
    pub shutdown: Cancel,
    /// The web UI's state; `None` with `--no-ui`.
    pub ui: Option<ui::UiState>,
    /// Whether a token or client certificates guard the server. Without either, requests must
    /// name a loopback host (`Host:`), so a web page cannot reach the server by DNS rebinding.
    pub guarded: bool,
}

impl Server {
    /// The context named by the first segment of `path`, and the rest of the path. With one
    /// context, a path without a context name is that context's.
    pub fn context_of<'p>(&self, path: &'p str) -> Option<(&(Context, Discovery), &'p str)> {
        let trimmed = path.strip_prefix('/')?;
        let first = trimmed.split('/').next().unwrap_or(trimmed);
        if let Some(found) = self.contexts.iter().find(|(c, _)| c.name == first) {
            let rest = &trimmed[first.len()..];
            return Some((found, if rest.is_empty() { "/" } else { rest }));
        }
        match self.contexts.as_slice() {
            [only] if path != "/" => Some((only, path)),
            _ => None,
        }
    }

    pub fn context_names(&self) -> String {
        self.contexts.iter().map(|(c, _)| c.name.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// `GET /`: the contexts and their paths.
    pub fn contexts_document(&self) -> String {
        let contexts: Vec<serde_json::Value> = self
            .contexts
            .iter()
            .map(|(c, _)| serde_json::json!({"name": c.name, "path": format!("/{}", c.name), "file": c.snapshot.file().display().to_string(), "revision": c.revision}))
            .collect();
        serde_json::json!({"kind": "EtcdscopeContexts", "contexts": contexts}).to_string()
    }
}

/// `/version`, as the API server writes it.
pub fn version_document() -> String {
    let (major, minor) = KUBERNETES_VERSION;
    serde_json::json!({
        "major": major,
        "minor": minor,
        "gitVersion": format!("v{major}.{minor}.0+etcdscope-{}", env!("CARGO_PKG_VERSION")),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": "",
        "compiler": "etcdscope",
        "platform": format!("{}/{}", std::env::consts::OS, go_arch(std::env::consts::ARCH)),
    })
    .to_string()
}

/// An architecture as Go (GOARCH), and so Kubernetes' version documents, name it.
fn go_arch(rust_arch: &str) -> &str {
    match rust_arch {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// Where and how to listen.
pub struct Listen {
    pub address: SocketAddr,
    pub token: Option<String>,
    pub tls: tls::TlsFiles,
}

/// A server bound and ready: its URL, before it runs.
pub struct Bound {
    listener: std::net::TcpListener,
    pub url: String,
    runtime: tokio::runtime::Runtime,
    /// etcd's gRPC API, one listener per context in context order ([`Bound::bind_etcd`]).
    etcd: Vec<std::net::TcpListener>,
    tls: Option<tls::Tls>,
    guarded: bool,
}

/// Binds the listener, refusing a non-loopback address that neither a token nor client
/// certificates guard; with a token or `--client-ca` (or given certificates) it serves HTTPS.
pub fn bind(listen: &Listen) -> Result<Bound> {
    if !listen.address.ip().is_loopback() && listen.token.is_none() && listen.tls.client_ca.is_none() {
        return Err(Error::Usage(format!(
            "--address {}: not a loopback address; anyone who can reach it would read the backup. Give --token (clients send it as a bearer token) or --client-ca (clients need a certificate it signed), or listen on 127.0.0.1",
            listen.address
        )));
    }
    let tls = tls::configure(&listen.tls, listen.token.is_some(), &listen.address.ip().to_string())?;
    let listener = std::net::TcpListener::bind(listen.address).map_err(|e| Error::Usage(format!("--address {}: {e}", listen.address)))?;
    listener.set_nonblocking(true).map_err(|e| Error::Usage(format!("--address {}: {e}", listen.address)))?;
    let local = listener.local_addr().map_err(|e| Error::Usage(format!("--address {}: {e}", listen.address)))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("serve")
        .build()
        .map_err(|e| Error::Usage(format!("starting the server's runtime: {e}")))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let guarded = listen.token.is_some() || listen.tls.client_ca.is_some();
    Ok(Bound { listener, url: format!("{scheme}://{local}"), runtime, etcd: Vec::new(), tls, guarded })
}

impl Bound {
    /// The PEM of the certificate generated for this process, for the kubeconfig's CA.
    pub fn generated_ca(&self) -> Option<&str> {
        self.tls.as_ref().and_then(|t| t.generated_ca.as_deref())
    }

    /// Binds `count` listeners for etcd's gRPC API (`--etcd-address`), one per context: the
    /// given port and the ones after it, or with port 0 a free port each. Loopback only: etcd's
    /// API carries no bearer token. Returns the addresses, in context order.
    pub fn bind_etcd(&mut self, address: SocketAddr, count: usize) -> Result<Vec<SocketAddr>> {
        if !address.ip().is_loopback() {
            return Err(Error::Usage(format!(
                "--etcd-address {address}: not a loopback address; etcd's API has no token here, so anyone who could reach it would read the backup. Listen on 127.0.0.1"
            )));
        }
        let mut addresses = Vec::with_capacity(count);
        for i in 0..count {
            let port = match address.port() {
                0 => 0,
                first => u16::try_from(usize::from(first) + i)
                    .map_err(|_| Error::Usage(format!("--etcd-address {address}: {count} contexts need ports up to {}", usize::from(first) + count - 1)))?,
            };
            let wanted = SocketAddr::new(address.ip(), port);
            let listener = std::net::TcpListener::bind(wanted).map_err(|e| Error::Usage(format!("--etcd-address {wanted}: {e}")))?;
            listener.set_nonblocking(true).map_err(|e| Error::Usage(format!("--etcd-address {wanted}: {e}")))?;
            addresses.push(listener.local_addr().map_err(|e| Error::Usage(format!("--etcd-address {wanted}: {e}")))?);
            self.etcd.push(listener);
        }
        Ok(addresses)
    }

    /// Serves `contexts` (and the web UI at `/ui/` with `ui`) until `shutdown` is cancelled,
    /// then stops accepting, ends bodies in flight, and returns.
    pub fn run(self, contexts: Vec<Context>, token: Option<String>, ui: bool, shutdown: Cancel) -> Result<()> {
        let ui = ui.then(|| ui::UiState::new(contexts.len()));
        self.run_with(contexts, token, ui, shutdown)
    }

    /// [`Bound::run`] with the UI's state made by the caller (who may have printed its login code).
    pub fn run_with(self, contexts: Vec<Context>, token: Option<String>, ui: Option<ui::UiState>, shutdown: Cancel) -> Result<()> {
        let address = self.url.split_once("://").map_or(self.url.as_str(), |(_, a)| a).to_string();
        let contexts = contexts
            .into_iter()
            .map(|c| {
                let d = Discovery::build(&c.catalog, &c.decoder.schemas);
                (c, d)
            })
            .collect();
        let server: &'static Server = Box::leak(Box::new(Server {
            contexts,
            tokens: Tokens::new(),
            slots: slots::Slots::new(crate::views::parallel::workers()),
            token,
            address,
            requests: tokio::sync::Semaphore::new(MAX_REQUESTS),
            watches: tokio::sync::Semaphore::new(MAX_WATCHES),
            shutdown: shutdown.clone(),
            ui,
            guarded: self.guarded,
        }));
        let listener = self.listener;
        let tls = self.tls.map(|t| t.config);
        let etcd: Vec<_> = self.etcd.into_iter().zip(&server.contexts).map(|(l, (c, _))| (l, etcd_grpc::Endpoint::new(c, shutdown.clone()))).collect();
        self.runtime.block_on(async move {
            let etcd_servers: Vec<_> = etcd.into_iter().map(|(l, endpoint)| tokio::spawn(etcd_grpc::serve(Box::leak(Box::new(endpoint)), l))).collect();
            let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| Error::Usage(format!("listening: {e}")))?;
            let app = axum::Router::new().fallback(move |method, uri, headers, body| router::handle(server, method, uri, headers, body));
            let stop = async move {
                while !shutdown.is_cancelled() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            };
            let kubernetes = match tls {
                Some(config) => serve_tls(listener, app, config, stop).await,
                None => axum::serve(listener, app).with_graceful_shutdown(stop).await.map_err(|e| Error::Usage(format!("serving: {e}"))),
            };
            for served in etcd_servers {
                served.await.map_err(|e| Error::Usage(format!("serving etcd's API: {e}")))??;
            }
            kubernetes
        })
    }
}

/// Accepts TLS connections and serves each with hyper (HTTP/1.1 or HTTP/2, as ALPN says) until
/// `stop`; connections in flight end when their bodies see the shutdown.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    config: std::sync::Arc<tokio_rustls::rustls::ServerConfig>,
    stop: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    tokio::pin!(stop);
    loop {
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // A connection that failed before it was accepted (reset, out of descriptors for
                // a moment) is the client's problem, not the server's end.
                Err(_) => continue,
            },
            () = &mut stop => return Ok(()),
        };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else { return };
            let service = hyper_util::service::TowerToHyperService::new(app);
            let builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            let _ = builder.serve_connection(hyper_util::rt::TokioIo::new(tls), service).await;
        });
    }
}
