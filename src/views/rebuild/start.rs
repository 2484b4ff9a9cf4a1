//! The etcd command line that starts a rebuilt member: every flag the rebuild was told (name,
//! cluster, token, peer URLs) plus the data dir and the client URLs, so what the CLI prints can
//! be pasted as it is. `--initial-cluster-state new`: the rebuilt data dir already holds the
//! cluster's membership, as one `etcdutl snapshot restore` writes.

use super::cluster::ClusterFlags;
use crate::error::{Error, Result};
use std::path::Path;

/// Where the started member serves: its client URLs and what it listens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeUrls {
    /// etcd's --advertise-client-urls.
    pub advertise_client_urls: String,
    /// etcd's --listen-client-urls.
    pub listen_client_urls: String,
    /// etcd's --listen-peer-urls.
    pub listen_peer_urls: String,
}

/// The argv (`etcd` first) that starts the member rebuilt into `data_dir`.
pub fn start_command(flags: &ClusterFlags, data_dir: &Path, serve: &ServeUrls) -> Result<Vec<String>> {
    let data_dir = data_dir.to_str().ok_or_else(|| Error::Usage(format!("--out {} is not UTF-8: no etcd command line can name it", data_dir.display())))?;
    let pairs = [
        ("--name", flags.name.as_str()),
        ("--data-dir", data_dir),
        ("--initial-cluster", &flags.initial_cluster),
        ("--initial-cluster-token", &flags.token),
        ("--initial-cluster-state", "new"),
        ("--initial-advertise-peer-urls", &flags.advertise_peer_urls),
        ("--listen-peer-urls", &serve.listen_peer_urls),
        ("--advertise-client-urls", &serve.advertise_client_urls),
        ("--listen-client-urls", &serve.listen_client_urls),
    ];
    let mut argv = vec!["etcd".to_string()];
    for (flag, value) in pairs {
        argv.push(flag.to_string());
        argv.push(value.to_string());
    }
    Ok(argv)
}

/// `argv` as one line a POSIX shell runs as that argv (words quoted where they need it).
pub fn shell_line(argv: &[String]) -> Result<String> {
    shlex::try_join(argv.iter().map(String::as_str)).map_err(|e| Error::Usage(format!("the etcd command line cannot be quoted for a shell: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_dir_with_a_space_is_quoted_and_splits_back() {
        let serve = ServeUrls { advertise_client_urls: "http://a:1".into(), listen_client_urls: "http://a:1".into(), listen_peer_urls: "http://a:2".into() };
        let argv = start_command(&ClusterFlags::default(), Path::new("/tmp/x y"), &serve).unwrap();
        let line = shell_line(&argv).unwrap();
        assert!(line.contains("'/tmp/x y'"), "{line}");
        assert_eq!(shlex::split(&line), Some(argv));
    }
}
