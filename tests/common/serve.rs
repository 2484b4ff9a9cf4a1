//! `etcdscope serve` as real clients meet it: started on 127.0.0.1:0 in a temp dir with
//! `--kubeconfig`, its URL read from what it prints, stopped by PID when dropped; and the real
//! clients themselves (kubectl 1.35 and 1.20, the Python client), each found or skipped/failed
//! as ETCDSCOPE_REQUIRE_ETCD says.

use super::{bin, repo};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

/// testdata/serve-3.5.1 (scripts/make_serve_data.py): the snapshot and etcdctl's answers.
pub fn serve_data() -> PathBuf {
    repo().join("testdata/serve-3.5.1")
}

/// A running `etcdscope serve`, killed by PID when dropped.
pub struct Served {
    child: Child,
    /// Kept open so serve never writes into a closed pipe.
    _stdout: std::io::BufReader<ChildStdout>,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// (context name, its URL) in the order the sources were given.
    pub contexts: Vec<(String, String)>,
}

impl Served {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// The port serve listens on.
    pub fn port(&self) -> u16 {
        self.base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("the URL ends in a port")
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.stderr")).unwrap_or_default()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `etcdscope serve SRC... --kubeconfig <tmp>/kubeconfig ARGS` and waits until it says
/// where it serves.
pub fn serve(sources: &[&Path], args: &[&str]) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let stderr = std::fs::File::create(dir.path().join("serve.stderr")).unwrap();
    let mut child = Command::new(bin())
        .arg("serve")
        .args(sources)
        .arg("--address")
        .arg("127.0.0.1:0")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("etcdscope serve starts");
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut contexts = Vec::new();
    let mut printed = String::new();
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            let _ = child.wait();
            let err = std::fs::read_to_string(dir.path().join("serve.stderr")).unwrap_or_default();
            panic!("serve ended before it was ready; stdout: {printed}\nstderr: {err}");
        }
        printed.push_str(&line);
        // serving SRC as context "NAME" at http://127.0.0.1:PORT/NAME (revision R)
        if let Some(rest) = line.strip_prefix("serving ") {
            let name = rest.split(" as context \"").nth(1).and_then(|r| r.split('"').next()).expect("a context name").to_string();
            let url = rest.split(" at ").last().and_then(|r| r.split_whitespace().next()).expect("a URL").to_string();
            contexts.push((name, url));
        }
        if line.starts_with("Ctrl-C stops") {
            break;
        }
    }
    assert!(!contexts.is_empty(), "serve printed no context: {printed}");
    let first = &contexts[0].1;
    let base = first[..first.rfind('/').unwrap()].to_string();
    Served { child, _stdout: stdout, dir, kubeconfig, base, contexts }
}

/// A tool found at `$var`, else at `cache` under ~/.cache/etcdscope (the install script's
/// place); `None` after a `SKIPPED:` line when missing and skipping is allowed, a failed test
/// with ETCDSCOPE_REQUIRE_ETCD=1.
fn tool_or_skip(var: &str, cache: &str, what: &str, script: &str) -> Option<PathBuf> {
    let cached = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|c| c.join("etcdscope").join(cache));
    let found = std::env::var_os(var).map(PathBuf::from).or(cached).filter(|p| p.is_file());
    if found.is_none() {
        let required = std::env::var("ETCDSCOPE_REQUIRE_ETCD").is_ok_and(|v| v == "1");
        assert!(!required, "{what} is not installed (run {script}, or set {var}); ETCDSCOPE_REQUIRE_ETCD=1 forbids skipping");
        eprintln!("SKIPPED: {what} not installed ({script}) and ETCDSCOPE_REQUIRE_ETCD is not 1");
    }
    found
}

/// kubectl 1.20 (scripts/install-kubectl-old.sh): $ETCDSCOPE_KUBECTL_OLD, else its cache.
pub fn kubectl_old_or_skip() -> Option<PathBuf> {
    tool_or_skip("ETCDSCOPE_KUBECTL_OLD", "kubectl-v20/usr/bin/kubectl", "kubectl 1.20", "scripts/install-kubectl-old.sh")
}

/// The Python with PyPI `kubernetes` (scripts/install-python-kubernetes.sh):
/// $ETCDSCOPE_K8S_PYTHON, else its venv in the cache.
pub fn k8s_python_or_skip() -> Option<PathBuf> {
    tool_or_skip("ETCDSCOPE_K8S_PYTHON", "python-kubernetes/bin/python", "the Python kubernetes client", "scripts/install-python-kubernetes.sh")
}

/// Both kubectl versions as (label, path): 1.35 and 1.20, each found or skipped/failed.
pub fn kubectls() -> Vec<(&'static str, PathBuf)> {
    let mut all = Vec::new();
    if let Some(k) = super::kubectl_or_skip() {
        all.push(("1.35", k));
    }
    if let Some(k) = kubectl_old_or_skip() {
        all.push(("1.20", k));
    }
    all
}

/// `kubectl --kubeconfig <serve's> --cache-dir <serve's tmp>/cache-<label> ARGS`: exit code,
/// stdout, stderr.
pub fn kubectl(kubectl: &Path, label: &str, served: &Served, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(&served.kubeconfig)
        .arg("--cache-dir")
        .arg(served.dir.path().join(format!("cache-{label}")))
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .expect("kubectl runs");
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}
