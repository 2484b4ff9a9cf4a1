//! A member's raft snapshot files, `snap/<term>-<index>.snap` (docs/format/wal.md §8):
//! `snappb.Snapshot { crc, data }` with a plain CRC-32C of `data`, and `data` a
//! `raftpb.Snapshot` whose metadata says which raft index and term it covers and the membership
//! then. (Its payload is etcd's v2 store; the v3 keyspace is in the db.)

use crate::error::{Error, Result};
use crate::etcd::pb::{raftpb, snappb};
use prost::Message;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapStatus {
    Ok {
        index: u64,
        term: u64,
        voters: Vec<u64>,
        learners: Vec<u64>,
        /// Bytes of the v2 store payload.
        payload: u64,
    },
    /// Why etcd would refuse it (empty, CRC mismatch, not parseable).
    Bad(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapFile {
    pub name: String,
    /// (term, index) from the file name.
    pub named: Option<(u64, u64)>,
    pub len: u64,
    pub status: SnapStatus,
}

/// `0000000000000002-0000000000000015.snap` → (term 2, index 0x15).
fn parse_name(name: &str) -> Option<(u64, u64)> {
    let (t, i) = name.strip_suffix(".snap")?.split_once('-')?;
    let hex = |s: &str| (s.len() == 16).then(|| u64::from_str_radix(s, 16).ok()).flatten();
    Some((hex(t)?, hex(i)?))
}

/// Reads one `.snap` file's bytes.
pub fn read_snap(bytes: &[u8]) -> SnapStatus {
    if bytes.is_empty() {
        return SnapStatus::Bad("empty file".into());
    }
    let s = match snappb::Snapshot::decode(bytes) {
        Ok(s) => s,
        Err(e) => return SnapStatus::Bad(format!("does not parse: {e}")),
    };
    let data = s.data();
    if data.is_empty() || s.crc() == 0 {
        return SnapStatus::Bad("empty snapshot (no data or CRC 0)".into());
    }
    let computed = crc32c::crc32c(data);
    if computed != s.crc() {
        return SnapStatus::Bad(format!("CRC mismatch: file says {:08x}, data gives {computed:08x}", s.crc()));
    }
    match raftpb::Snapshot::decode(data) {
        Ok(r) => {
            let payload = r.data().len() as u64;
            let m = r.metadata.unwrap_or_default();
            let cs = m.conf_state.clone().unwrap_or_default();
            SnapStatus::Ok { index: m.index(), term: m.term(), voters: cs.voters, learners: cs.learners, payload }
        }
        Err(e) => SnapStatus::Bad(format!("raft snapshot does not parse: {e}")),
    }
}

/// Every `.snap` file in `dir`, oldest first.
pub fn snap_files(dir: &Path) -> Result<Vec<SnapFile>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".snap") {
            continue;
        }
        let path = e.path();
        // Only a regular file is read: a fifo named *.snap would block forever, and a link to a
        // device such as /dev/zero would be read without end, into an ever larger buffer.
        let meta = std::fs::metadata(&path).map_err(|err| Error::io(&path, err))?;
        if !meta.is_file() {
            let status = SnapStatus::Bad("not a regular file (a directory, fifo, socket or device); not read".into());
            out.push(SnapFile { named: parse_name(&name), len: 0, status, name });
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|err| Error::io(&path, err))?;
        out.push(SnapFile { named: parse_name(&name), len: bytes.len() as u64, status: read_snap(&bytes), name });
    }
    out.sort_by(|a, b| a.named.cmp(&b.named).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snap_checks() {
        assert_eq!(parse_name("0000000000000002-0000000000000015.snap"), Some((2, 0x15)));
        assert!(matches!(read_snap(&[]), SnapStatus::Bad(_)));
        let raft = raftpb::Snapshot {
            data: Some(b"{}".to_vec()),
            metadata: Some(raftpb::SnapshotMetadata {
                conf_state: Some(raftpb::ConfState { voters: vec![7], ..Default::default() }),
                index: Some(21),
                term: Some(2),
            }),
        };
        let data = raft.encode_to_vec();
        let good = snappb::Snapshot { crc: Some(crc32c::crc32c(&data)), data: Some(data.clone()) }.encode_to_vec();
        assert_eq!(read_snap(&good), SnapStatus::Ok { index: 21, term: 2, voters: vec![7], learners: vec![], payload: 2 });
        let bad = snappb::Snapshot { crc: Some(1), data: Some(data) }.encode_to_vec();
        assert!(matches!(read_snap(&bad), SnapStatus::Bad(m) if m.contains("CRC mismatch")));
    }
}
