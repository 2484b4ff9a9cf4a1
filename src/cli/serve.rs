//! `etcdscope serve`: one or more snapshots as a read-only Kubernetes API. Prints the URL of each
//! context and the kubeconfig (or writes it, 0600, with `--kubeconfig`), then serves until
//! Ctrl-C.

use super::decoding::DecodingArgs;
use super::{CliError, CliResult, EXIT_OK};
use clap::Args;
use etcdscope::output::PendingFile;
use etcdscope::serve::context::Context;
use etcdscope::serve::tls::TlsFiles;
use etcdscope::serve::ui::UiState;
use etcdscope::serve::{bind, kubeconfig, Listen};
use etcdscope::source::Source;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args)]
pub struct ServeArgs {
    /// Snapshot files, member dbs, member dirs or data dirs: one kubeconfig context each.
    #[arg(required = true)]
    src: Vec<PathBuf>,
    /// Where to listen (port 0: a free one). A non-loopback address requires --token.
    #[arg(long, default_value = "127.0.0.1:0")]
    address: SocketAddr,
    /// Serve this revision instead of the snapshot's current one.
    #[arg(long, default_value_t = 0, conflicts_with = "at")]
    rev: i64,
    /// Serve each input as it was at this time (RFC 3339): the newest revision its time
    /// evidence says is not after it (see `get --at`).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Write the kubeconfig here (mode 0600, replaced whole) instead of printing it.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// A bearer token clients must send (it goes into the kubeconfig). Visible to other users
    /// in the process list: prefer --token-file.
    #[arg(long, conflicts_with = "token_file")]
    token: Option<String>,
    /// Read the bearer token from this file (its first line, surrounding whitespace removed).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Also serve etcd's own gRPC read API (etcdctl get/watch/endpoint status/endpoint hashkv/
    /// member list), one endpoint per SRC: this port and the next ones (port 0: a free one
    /// each). Loopback only.
    #[arg(long, value_name = "ADDR")]
    etcd_address: Option<SocketAddr>,
    /// Serve HTTPS with this certificate (PEM; with --tls-key). Without it, --token or
    /// --client-ca make a certificate for this process, whose CA goes into the kubeconfig.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Require client certificates signed by this CA (PEM).
    #[arg(long)]
    client_ca: Option<PathBuf>,
    /// The etcd prefix kube-apiserver was run with (`--etcd-prefix`).
    #[arg(long, default_value = "/registry")]
    etcd_prefix: String,
    /// Do not serve the web UI at /ui/ (only the APIs).
    #[arg(long, conflicts_with = "open")]
    no_ui: bool,
    /// Open the web UI in a browser ($BROWSER, else xdg-open) once serving; with a token, the
    /// address carries a one-time login code.
    #[arg(long)]
    open: bool,
    #[command(flatten)]
    decoding: DecodingArgs,
}

pub fn run(a: &ServeArgs, out: &mut dyn Write) -> CliResult {
    let cancel = super::interrupt::watch();
    let token = token(a)?;
    let mut bound = bind(&Listen {
        address: a.address,
        token: token.clone(),
        tls: TlsFiles { cert: a.tls_cert.clone(), key: a.tls_key.clone(), client_ca: a.client_ca.clone() },
    })?;
    let etcd = match a.etcd_address {
        Some(address) => bound.bind_etcd(address, a.src.len())?,
        None => Vec::new(),
    };
    let decoder = Arc::new(a.decoding.decoder_for(&a.etcd_prefix)?);
    let paths: Vec<&std::path::Path> = a.src.iter().map(PathBuf::as_path).collect();
    let names = kubeconfig::context_names(&paths);
    let mut contexts = Vec::new();
    for (path, name) in a.src.iter().zip(&names) {
        let source = Source::open(path)?;
        let revision = match &a.at {
            Some(at) => {
                let snapshot = etcdscope::snapshot::Snapshot::open(&source)?;
                super::at::resolve(&snapshot, &decoder, &a.etcd_prefix, &[("--at", at)])?.pop().map_or(a.rev, |r| r.revision)
            }
            None => a.rev,
        };
        contexts.push(Context::open(name.clone(), source, decoder.clone(), &a.etcd_prefix, revision, &cancel)?);
    }
    let config = kubeconfig::render(&bound.url, &names, token.as_deref(), bound.generated_ca());
    for (i, c) in contexts.iter().enumerate() {
        writeln!(out, "serving {} as context {:?} at {}/{} (revision {})", c.snapshot.file().display(), c.name, bound.url, c.name, c.revision)?;
        if let Some(address) = etcd.get(i) {
            writeln!(out, "  etcd API at {address} (etcdctl --endpoints {address} member list)")?;
        }
    }
    match &a.kubeconfig {
        Some(path) => {
            write_kubeconfig(path, &config)?;
            writeln!(out, "kubeconfig: {}  (kubectl --kubeconfig {} get pods -A)", path.display(), path.display())?;
        }
        None => {
            writeln!(out, "kubeconfig (save it and run kubectl --kubeconfig FILE get pods -A):")?;
            out.write_all(config.as_bytes())?;
        }
    }
    let ui = (!a.no_ui).then(|| UiState::new(contexts.len()));
    if let Some(ui) = &ui {
        let address = ui_address(&bound.url, ui, token.is_some());
        writeln!(out, "web UI: {address}")?;
        if a.open {
            open_browser(&address);
        }
    }
    writeln!(out, "Ctrl-C stops.")?;
    out.flush()?;
    bound.run_with(contexts, token, ui, cancel)?;
    eprintln!("etcdscope: stopped");
    Ok(EXIT_OK)
}

/// The UI's address; behind a token, its one-time login link (a session cookie follows).
fn ui_address(url: &str, ui: &UiState, token: bool) -> String {
    match ui.one_time_code().filter(|_| token) {
        Some(code) => format!("{url}/ui/login?code={code}  (a one-time login link; or log in with the token)"),
        None => format!("{url}/ui/"),
    }
}

/// Starts the user's browser on `address` ($BROWSER, else xdg-open), without waiting for it.
/// A missing browser is a note, not a failure: the address is printed.
fn open_browser(address: &str) {
    let url = address.split_whitespace().next().unwrap_or(address);
    let opener = std::env::var("BROWSER").ok().filter(|b| !b.trim().is_empty()).unwrap_or_else(|| "xdg-open".into());
    let spawned = std::process::Command::new(&opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        // Reaped when it exits, so no zombie is left behind.
        Ok(mut child) => drop(std::thread::spawn(move || child.wait())),
        Err(e) => eprintln!("etcdscope: --open: could not start {opener}: {e}; open the address above yourself"),
    }
}

/// Writes the kubeconfig readable by its owner only, replacing the file whole.
fn write_kubeconfig(path: &std::path::Path, config: &str) -> Result<(), CliError> {
    use std::os::unix::fs::PermissionsExt;
    let mut pending = PendingFile::beside(path)?;
    pending.file().set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(|e| pending.name_target(etcdscope::Error::io(path, e)))?;
    pending.file().write_all(config.as_bytes()).map_err(|e| pending.name_target(etcdscope::Error::io(path, e)))?;
    pending.commit(true)?;
    Ok(())
}

/// The bearer token: --token, or the first line of --token-file; an empty one is refused (it
/// would let everyone in while looking guarded).
fn token(a: &ServeArgs) -> Result<Option<String>, CliError> {
    let token = match (&a.token, &a.token_file) {
        (Some(t), _) => t.clone(),
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file).map_err(|e| CliError::Usage(format!("--token-file {}: {e}", file.display())))?;
            text.lines().next().unwrap_or("").trim().to_string()
        }
        (None, None) => return Ok(None),
    };
    if token.is_empty() {
        return Err(CliError::Usage("the bearer token is empty (--token or --token-file)".into()));
    }
    Ok(Some(token))
}
