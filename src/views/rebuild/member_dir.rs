//! The raft side of a new member, as etcdutl's restore writes it: a first WAL segment holding
//! the member's metadata, one ConfChange entry per member (term 1, indexes 1…n), the hard state
//! (term 1, a vote for the first member, commit n) and a snapshot marker at (n, 1) with the new
//! voters; and the `.snap` file at (1, n) carrying the v2 store with the members.

use super::cluster::{member_json, NewCluster};
use super::v2store::store_json;
use crate::error::{Error, Result};
use crate::wal::write::{encode_conf_change, encode_snap_file, snap_name, ConfState, SegmentWriter, ENTRY_CONF_CHANGE};
use std::path::{Path, PathBuf};

/// The raft term every bootstrap record is written at.
pub const BOOTSTRAP_TERM: u64 = 1;

/// The raft index and term a new cluster's bootstrap ends at (and the db's consistent index).
pub fn bootstrap_point(cluster: &NewCluster) -> (u64, u64) {
    (cluster.members.len() as u64, BOOTSTRAP_TERM)
}

/// Writes `wal_dir/0000000000000000-0000000000000000.wal`; returns its path.
pub fn write_wal(wal_dir: &Path, cluster: &NewCluster) -> Result<PathBuf> {
    let (commit, term) = bootstrap_point(cluster);
    let mut w = SegmentWriter::create(wal_dir, 0, 0, 0)?;
    w.metadata(cluster.local().id, cluster.cluster_id)?;
    w.snapshot(0, 0, None)?;
    for (i, m) in cluster.members.iter().enumerate() {
        let change = encode_conf_change(false, m.id, member_json(m).as_bytes());
        w.entry(ENTRY_CONF_CHANGE, term, i as u64 + 1, &change)?;
    }
    w.hard_state(term, cluster.members[0].id, commit)?;
    w.snapshot(commit, term, Some(&conf_state(cluster)))?;
    w.finish()
}

fn conf_state(cluster: &NewCluster) -> ConfState {
    ConfState { voters: cluster.member_ids(), learners: Vec::new() }
}

/// Writes the `.snap` file into `snap_dir`; returns its path.
pub fn write_snap(snap_dir: &Path, cluster: &NewCluster) -> Result<PathBuf> {
    let (index, term) = bootstrap_point(cluster);
    let path = snap_dir.join(snap_name(term, index));
    let bytes = encode_snap_file(&store_json(cluster), index, term, &conf_state(cluster));
    write_new(&path, &bytes, 0o644)?;
    Ok(path)
}

/// Creates `path` (which must not exist) with `bytes`, mode `mode`, synced.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::File::options();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = options.open(path).map_err(|e| Error::io(path, e))?;
    f.write_all(bytes).map_err(|e| Error::io(path, e))?;
    f.sync_all().map_err(|e| Error::io(path, e))
}
