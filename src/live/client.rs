//! The gRPC client: endpoints written as etcdctl takes them (`host:port`, `http://…`,
//! `https://…`), TLS with etcdctl's `--cacert` (then the only CA trusted, as etcdctl trusts it;
//! the system's roots otherwise), `--cert`, `--key`, etcdctl's `--user`/`--password` (Auth.
//! Authenticate once, then its token as the `token` metadata of every call, as etcd's client
//! sends it), and the calls `replay` needs (KV.Range, KV.Txn, Lease.LeaseTimeToLive). Stubs are
//! generated from schemas/etcd/rpc.proto at build time (tonic, no protoc).

use crate::error::{Error, Result};
use crate::etcd::pb::etcdserverpb::{auth_client::AuthClient, kv_client::KvClient, lease_client::LeaseClient};
use crate::etcd::pb::etcdserverpb::{AuthenticateRequest, LeaseTimeToLiveRequest, RangeRequest, RangeResponse, TxnRequest, TxnResponse};
use std::path::PathBuf;
use std::time::Duration;
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// etcdctl's TLS flags.
#[derive(Debug, Clone, Default)]
pub struct TlsFiles {
    pub cacert: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl TlsFiles {
    pub fn any(&self) -> bool {
        self.cacert.is_some() || self.cert.is_some() || self.key.is_some()
    }
}

/// A user of an etcd with auth enabled (etcdctl's `--user`, `--password`).
#[derive(Clone, Default)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).finish_non_exhaustive()
    }
}

impl Credentials {
    /// From etcdctl's flags: `--user name:password` (split at the first `:`), or `--user name`
    /// with `--password p` (then the name is all of `--user`). No prompt: without a password
    /// it is a usage error.
    pub fn from_flags(user: &str, password: Option<&str>) -> Result<Credentials> {
        let (user, password) = match (password, user.split_once(':')) {
            (Some(p), _) => (user, p),
            (None, Some((u, p))) => (u, p),
            (None, None) => return Err(Error::Usage(format!("--user {user}: give the password as --user {user}:PASSWORD or --password PASSWORD"))),
        };
        if user.is_empty() {
            return Err(Error::Usage("--user: the user name is empty".into()));
        }
        Ok(Credentials { user: user.to_string(), password: password.to_string() })
    }
}

/// One endpoint, with the scheme etcdctl would use: https when TLS files are given and no
/// scheme is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    pub tls: bool,
}

impl Endpoint {
    pub fn parse(s: &str, tls_files: bool) -> Result<Endpoint> {
        let s = s.trim().trim_end_matches('/');
        let (url, tls) = match s.split_once("://") {
            Some(("http", _)) => (s.to_string(), false),
            Some(("https", _)) => (s.to_string(), true),
            Some((scheme, _)) => return Err(Error::Usage(format!("endpoint {s:?}: scheme {scheme} is not http or https"))),
            None if tls_files => (format!("https://{s}"), true),
            None => (format!("http://{s}"), false),
        };
        Ok(Endpoint { url, tls })
    }
}

/// A connection to one member.
pub struct LiveEtcd {
    runtime: tokio::runtime::Runtime,
    kv: KvClient<Channel>,
    lease: LeaseClient<Channel>,
    /// The auth token (`--user`), sent with every call.
    token: Option<MetadataValue<tonic::metadata::Ascii>>,
    pub endpoint: String,
}

fn live_error(endpoint: &str, what: impl std::fmt::Display) -> Error {
    Error::Live { endpoint: endpoint.to_string(), what: what.to_string() }
}

/// An error and its causes, as one line ("transport error: …: invalid peer certificate: …").
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

fn read(path: &PathBuf) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

impl LiveEtcd {
    /// Connects to the first endpoint that answers, in the order given.
    /// With `credentials`, authenticates there first (a wrong password fails here).
    pub fn connect(endpoints: &[String], tls: &TlsFiles, credentials: Option<&Credentials>, timeout: Duration) -> Result<LiveEtcd> {
        if endpoints.is_empty() {
            return Err(Error::Usage("no --endpoints given".into()));
        }
        if tls.cert.is_some() != tls.key.is_some() {
            return Err(Error::Usage("--cert and --key go together".into()));
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| live_error("", e))?;
        // As etcdctl: --cacert is the only CA trusted; the system's roots only without it.
        let mut tls_config = match &tls.cacert {
            Some(ca) => ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read(ca)?)),
            None => ClientTlsConfig::new().with_native_roots(),
        };
        if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
            tls_config = tls_config.identity(Identity::from_pem(read(cert)?, read(key)?));
        }
        let mut last_error = None;
        for e in endpoints {
            let endpoint = Endpoint::parse(e, tls.any())?;
            let attempt = runtime.block_on(async {
                let mut ep = Channel::from_shared(endpoint.url.clone()).map_err(|e| live_error(&endpoint.url, e))?.connect_timeout(timeout).timeout(timeout);
                if endpoint.tls {
                    ep = ep.tls_config(tls_config.clone()).map_err(|e| live_error(&endpoint.url, e))?;
                }
                ep.connect().await.map_err(|e| live_error(&endpoint.url, format!("cannot connect: {}", chain(&e))))
            });
            match attempt {
                Ok(channel) => {
                    let mut live =
                        LiveEtcd { runtime, kv: KvClient::new(channel.clone()), lease: LeaseClient::new(channel.clone()), token: None, endpoint: endpoint.url };
                    if let Some(c) = credentials {
                        live.authenticate(channel, c)?;
                    }
                    return Ok(live);
                }
                Err(err) => last_error = Some(err),
            }
        }
        Err(last_error.expect("at least one endpoint was tried"))
    }

    fn authenticate(&mut self, channel: Channel, c: &Credentials) -> Result<()> {
        let request = AuthenticateRequest { name: c.user.clone(), password: c.password.clone() };
        let answer = self.runtime.block_on(AuthClient::new(channel).authenticate(request)).map_err(|s| self.status(s))?.into_inner();
        let token =
            MetadataValue::try_from(answer.token.as_str()).map_err(|e| live_error(&self.endpoint, format!("the auth token etcd gave is not ASCII: {e}")))?;
        self.token = Some(token);
        Ok(())
    }

    /// `message` as a call, with the auth token when there is one.
    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(token) = &self.token {
            request.metadata_mut().insert("token", token.clone());
        }
        request
    }

    fn status(&self, s: tonic::Status) -> Error {
        live_error(&self.endpoint, format!("{}: {}", s.code(), s.message()))
    }

    /// One key, as a linearizable read.
    pub fn get(&mut self, key: &[u8]) -> Result<RangeResponse> {
        let request = self.request(RangeRequest { key: key.to_vec(), ..Default::default() });
        let kv = &mut self.kv;
        let answer = self.runtime.block_on(kv.range(request));
        answer.map(|r| r.into_inner()).map_err(|s| self.status(s))
    }

    /// The member's current revision (the header of a count-only read).
    pub fn revision(&mut self) -> Result<i64> {
        let request = self.request(RangeRequest { key: vec![0], count_only: true, ..Default::default() });
        let kv = &mut self.kv;
        let answer = self.runtime.block_on(kv.range(request)).map_err(|s| self.status(s))?.into_inner();
        answer.header.map(|h| h.revision).ok_or_else(|| live_error(&self.endpoint, "a range answer without a header"))
    }

    pub fn txn(&mut self, request: TxnRequest) -> Result<TxnResponse> {
        let request = self.request(request);
        let kv = &mut self.kv;
        let answer = self.runtime.block_on(kv.txn(request));
        answer.map(|r| r.into_inner()).map_err(|s| self.status(s))
    }

    /// The remaining TTL of a lease, `None` when the member does not have it.
    pub fn lease_ttl(&mut self, id: i64) -> Result<Option<i64>> {
        let request = self.request(LeaseTimeToLiveRequest { id, keys: false });
        let lease = &mut self.lease;
        let answer = self.runtime.block_on(lease.lease_time_to_live(request));
        match answer {
            Ok(r) => {
                let r = r.into_inner();
                Ok((r.ttl > 0).then_some(r.ttl))
            }
            Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
            Err(s) => Err(self.status(s)),
        }
    }
}
