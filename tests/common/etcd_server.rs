//! A real etcd member started for one test: 127.0.0.1 on free ports, a temp data dir, stopped
//! by its PID when dropped. Its log is kept in the data dir's parent for the failure message.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

/// A free port on 127.0.0.1 (bound, read, released; etcd binds it moments later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub struct EtcdServer {
    child: Child,
    pub bin_dir: PathBuf,
    pub client_url: String,
    pub dir: tempfile::TempDir,
}

impl EtcdServer {
    /// Starts `bin_dir`/etcd on a new data dir and waits (≤ 30 s) until it answers.
    pub fn start(bin_dir: &str) -> EtcdServer {
        let dir = tempfile::tempdir().unwrap();
        let (peer, client) = (format!("http://127.0.0.1:{}", free_port()), format!("http://127.0.0.1:{}", free_port()));
        let log = std::fs::File::create(dir.path().join("etcd.log")).unwrap();
        let child = Command::new(Path::new(bin_dir).join("etcd"))
            .args(["--name", "t", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(["--listen-peer-urls", &peer, "--initial-advertise-peer-urls", &peer, "--initial-cluster", &format!("t={peer}")])
            .args(["--listen-client-urls", &client, "--advertise-client-urls", &client])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("etcd starts");
        let mut server = EtcdServer { child, bin_dir: PathBuf::from(bin_dir), client_url: client, dir };
        server.wait_healthy();
        server
    }

    fn wait_healthy(&mut self) {
        let started = Instant::now();
        loop {
            if self.etcdctl(&["endpoint", "health"]).status.success() {
                return;
            }
            let exited = self.child.try_wait().unwrap();
            if exited.is_some() || started.elapsed() > Duration::from_secs(30) {
                panic!("etcd did not become healthy ({exited:?}):\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default()
    }

    /// etcdctl (the same version) against this member.
    pub fn etcdctl(&self, args: &[&str]) -> Output {
        Command::new(self.bin_dir.join("etcdctl")).args(["--endpoints", &self.client_url, "--dial-timeout", "2s"]).args(args).output().expect("etcdctl runs")
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
