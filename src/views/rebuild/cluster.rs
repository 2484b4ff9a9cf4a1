//! The new cluster a rebuild creates, derived as etcd derives it at bootstrap: the members of
//! `--initial-cluster` (name → peer URLs), each member's ID (SHA-1 of its sorted peer URLs
//! joined, then the cluster token; the first 8 bytes, big-endian), the cluster ID (SHA-1 of the
//! sorted member IDs), and the JSON etcd stores for each member.

use crate::error::{Error, Result};
use crate::etcd::members::cluster_id;
use sha1::{Digest, Sha1};

/// One member of the new cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMember {
    pub id: u64,
    pub name: String,
    /// Sorted, as etcd keeps them.
    pub peer_urls: Vec<String>,
}

/// The new cluster: members sorted by ID (etcd's order for the bootstrap entries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCluster {
    pub members: Vec<NewMember>,
    pub cluster_id: u64,
    /// The member this data dir is for.
    pub local: usize,
    pub token: String,
}

impl NewCluster {
    pub fn local(&self) -> &NewMember {
        &self.members[self.local]
    }

    pub fn member_ids(&self) -> Vec<u64> {
        self.members.iter().map(|m| m.id).collect()
    }
}

/// What etcd (and etcdutl's restore) is told: `--name`, `--initial-cluster`,
/// `--initial-cluster-token`, `--initial-advertise-peer-urls`, with etcdutl's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterFlags {
    pub name: String,
    pub initial_cluster: String,
    pub token: String,
    pub advertise_peer_urls: String,
}

impl Default for ClusterFlags {
    fn default() -> Self {
        ClusterFlags {
            name: "default".into(),
            initial_cluster: "default=http://localhost:2380".into(),
            token: "etcd-cluster".into(),
            advertise_peer_urls: "http://localhost:2380".into(),
        }
    }
}

/// A peer URL as etcd accepts one: http or https, a host and a port, no path.
fn check_url(url: &str) -> Result<String> {
    let bad = |why: &str| Error::Usage(format!("peer URL {url:?}: {why}"));
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme (want http:// or https://)"))?;
    if scheme != "http" && scheme != "https" {
        return Err(bad("the scheme must be http or https"));
    }
    let host = rest.strip_suffix('/').unwrap_or(rest);
    if host.contains('/') {
        return Err(bad("a peer URL has no path"));
    }
    match host.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => Ok(format!("{scheme}://{host}")),
        _ => Err(bad("it needs a host and a port (host:port)")),
    }
}

fn url_list(s: &str) -> Result<Vec<String>> {
    let mut urls = s.split(',').map(str::trim).filter(|u| !u.is_empty()).map(check_url).collect::<Result<Vec<_>>>()?;
    urls.sort();
    Ok(urls)
}

/// A member's ID: SHA-1 over its sorted peer URLs joined with nothing, then the cluster token.
pub fn member_id(sorted_peer_urls: &[String], token: &str) -> u64 {
    let mut h = Sha1::new();
    h.update(sorted_peer_urls.concat().as_bytes());
    h.update(token.as_bytes());
    u64::from_be_bytes(h.finalize()[..8].try_into().expect("sha1 is 20 bytes"))
}

impl ClusterFlags {
    /// The cluster these flags describe, checked as etcd checks them at bootstrap.
    pub fn cluster(&self) -> Result<NewCluster> {
        let mut by_name: Vec<(String, Vec<String>)> = Vec::new();
        for item in self.initial_cluster.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, url) = item.split_once('=').ok_or_else(|| Error::Usage(format!("--initial-cluster item {item:?} is not name=url")))?;
            let url = check_url(url.trim())?;
            match by_name.iter_mut().find(|(n, _)| n == name) {
                Some((_, urls)) => urls.push(url),
                None => by_name.push((name.to_string(), vec![url])),
            }
        }
        if by_name.is_empty() {
            return Err(Error::Usage("--initial-cluster names no member".into()));
        }
        let mut members: Vec<NewMember> = by_name
            .into_iter()
            .map(|(name, mut peer_urls)| {
                peer_urls.sort();
                NewMember { id: member_id(&peer_urls, &self.token), name, peer_urls }
            })
            .collect();
        members.sort_by_key(|m| m.id);
        for pair in members.windows(2) {
            if pair[0].id == pair[1].id {
                return Err(Error::Usage(format!("members {} and {} have the same peer URLs", pair[0].name, pair[1].name)));
            }
        }
        let local = members
            .iter()
            .position(|m| m.name == self.name)
            .ok_or_else(|| Error::Usage(format!("--initial-cluster has no member named {:?} (the --name of this member)", self.name)))?;
        let advertised = url_list(&self.advertise_peer_urls)?;
        if advertised != members[local].peer_urls {
            return Err(Error::Usage(format!(
                "--initial-advertise-peer-urls {} does not match {}'s URLs in --initial-cluster ({}), as etcd requires",
                advertised.join(","),
                self.name,
                members[local].peer_urls.join(",")
            )));
        }
        let cluster_id = cluster_id(members.iter().map(|m| m.id));
        Ok(NewCluster { members, cluster_id, local, token: self.token.clone() })
    }
}

/// A JSON string as Go's encoding/json writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped too.
pub fn go_json_str(s: &str) -> String {
    let plain = serde_json::to_string(s).expect("a string serializes");
    let mut out = String::with_capacity(plain.len());
    for c in plain.chars() {
        match c {
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn json_str(s: &str) -> String {
    go_json_str(s)
}

fn json_urls(urls: &[String]) -> String {
    format!("[{}]", urls.iter().map(|u| json_str(u)).collect::<Vec<_>>().join(","))
}

/// The member as etcd marshals it for the `members` bucket and for the bootstrap ConfChange's
/// context: `{"id":N,"peerURLs":[…],"name":"…"}` (the ID a decimal number here).
pub fn member_json(m: &NewMember) -> String {
    let name = if m.name.is_empty() { String::new() } else { format!(",\"name\":{}", json_str(&m.name)) };
    format!("{{\"id\":{},\"peerURLs\":{}{name}}}", m.id, json_urls(&m.peer_urls))
}

/// The member's raft attributes as the v2 store holds them: `{"peerURLs":[…]}`.
pub fn raft_attributes_json(m: &NewMember) -> String {
    format!("{{\"peerURLs\":{}}}", json_urls(&m.peer_urls))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcds_default_member_and_cluster() {
        let c = ClusterFlags::default().cluster().unwrap();
        assert_eq!(c.members[0].id, 0x8e9e05c52164694d);
        assert_eq!(c.cluster_id, 0xcdf818194e3a8c32);
    }

    #[test]
    fn the_local_member_must_be_named_and_advertised() {
        let flags = ClusterFlags { name: "n1".into(), ..Default::default() };
        assert!(flags.cluster().is_err());
        let flags = ClusterFlags { advertise_peer_urls: "http://localhost:2381".into(), ..Default::default() };
        assert!(flags.cluster().is_err());
        assert!(ClusterFlags { initial_cluster: "default=localhost:2380".into(), ..Default::default() }.cluster().is_err());
    }
}
