//! Writing a WAL segment as etcd writes one: the segment preallocated to 64 MiB of zeros, a crc
//! record carrying the running CRC in, then records framed and padded to 8 bytes, each holding
//! the running CRC-32C over every record's data so far. Used by `rebuild` to give a new member
//! its first segment (metadata, the initial membership entries, hard state, snapshot markers).
//! Constants are the reader's ([`super::layout`]); the messages are encoded field by field in
//! gogoproto's order so the bytes equal etcd's.

use super::layout::{length_word, segment_name, CRC, ENTRY, MAX_RECORD_BYTES, METADATA, SEGMENT_BYTES, SNAPSHOT, STATE};
use crate::error::{Error, Result};
use crate::protowire::Encoder;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// raftpb.ConfState: the voters and learners a snapshot or restore establishes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfState {
    pub voters: Vec<u64>,
    pub learners: Vec<u64>,
}

impl ConfState {
    /// raftpb.ConfState bytes: repeated fields unpacked, `auto_leave` always written.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        for v in &self.voters {
            e.varint(1, *v);
        }
        for l in &self.learners {
            e.varint(2, *l);
        }
        e.varint(5, 0);
        e.finish()
    }
}

/// Entry types (raftpb.EntryType).
pub const ENTRY_NORMAL: u64 = 0;
pub const ENTRY_CONF_CHANGE: u64 = 1;

/// raftpb.Entry bytes.
pub fn encode_entry(entry_type: u64, term: u64, index: u64, data: &[u8]) -> Vec<u8> {
    Encoder::new().varint(1, entry_type).varint(2, term).varint(3, index).bytes(4, data).finish()
}

/// raftpb.ConfChange bytes for adding a voter (type 0) or a learner (type 3).
pub fn encode_conf_change(learner: bool, node_id: u64, context: &[u8]) -> Vec<u8> {
    Encoder::new().varint(1, 0).varint(2, if learner { 3 } else { 0 }).varint(3, node_id).bytes(4, context).finish()
}

/// raftpb.HardState bytes.
pub fn encode_hard_state(term: u64, vote: u64, commit: u64) -> Vec<u8> {
    Encoder::new().varint(1, term).varint(2, vote).varint(3, commit).finish()
}

/// walpb.Snapshot bytes (the WAL's snapshot marker); `conf_state` only from etcd 3.5 on.
pub fn encode_wal_snapshot(index: u64, term: u64, conf_state: Option<&ConfState>) -> Vec<u8> {
    let mut e = Encoder::new();
    e.varint(1, index).varint(2, term);
    if let Some(cs) = conf_state {
        e.bytes(3, &cs.encode());
    }
    e.finish()
}

/// etcdserverpb.Metadata bytes: which member and cluster the WAL belongs to.
pub fn encode_metadata(node_id: u64, cluster_id: u64) -> Vec<u8> {
    Encoder::new().varint(1, node_id).varint(2, cluster_id).finish()
}

/// One WAL segment being written.
pub struct SegmentWriter {
    out: BufWriter<File>,
    path: PathBuf,
    crc: u32,
    written: u64,
}

impl SegmentWriter {
    /// Creates segment `sequence` starting at raft index `index` in `dir` (the file must not
    /// exist), mode 0600, and writes the crc record carrying `prev_crc` (0 for a first segment).
    pub fn create(dir: &Path, sequence: u64, index: u64, prev_crc: u32) -> Result<SegmentWriter> {
        let path = dir.join(segment_name(sequence, index));
        let mut options = File::options();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(|e| Error::io(&path, e))?;
        let mut w = SegmentWriter { out: BufWriter::new(file), path, crc: prev_crc, written: 0 };
        w.record(CRC, &[])?;
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The running CRC so far (what the next segment's crc record carries).
    pub fn crc(&self) -> u32 {
        self.crc
    }

    /// Frames one walpb.Record { type, crc, data } (data left out when empty, as etcd leaves a
    /// nil slice out).
    pub fn record(&mut self, rtype: i64, data: &[u8]) -> Result<()> {
        self.crc = crc32c::crc32c_append(self.crc, data);
        let mut e = Encoder::new();
        e.varint(1, rtype as u64).varint(2, u64::from(self.crc));
        if !data.is_empty() {
            e.bytes(3, data);
        }
        let record = e.finish();
        let n = record.len() as u64;
        if n >= MAX_RECORD_BYTES {
            return Err(Error::Usage(format!("a WAL record of {n} bytes is over etcd's limit of {MAX_RECORD_BYTES}")));
        }
        let (word, pad) = length_word(n);
        let io = |e| Error::io(&self.path, e);
        self.out.write_all(&word.to_le_bytes()).map_err(io)?;
        self.out.write_all(&record).map_err(io)?;
        self.out.write_all(&[0u8; 8][..pad as usize]).map_err(io)?;
        self.written += 8 + n + pad;
        Ok(())
    }

    pub fn metadata(&mut self, node_id: u64, cluster_id: u64) -> Result<()> {
        self.record(METADATA, &encode_metadata(node_id, cluster_id))
    }

    pub fn entry(&mut self, entry_type: u64, term: u64, index: u64, data: &[u8]) -> Result<()> {
        self.record(ENTRY, &encode_entry(entry_type, term, index, data))
    }

    pub fn hard_state(&mut self, term: u64, vote: u64, commit: u64) -> Result<()> {
        self.record(STATE, &encode_hard_state(term, vote, commit))
    }

    pub fn snapshot(&mut self, index: u64, term: u64, conf_state: Option<&ConfState>) -> Result<()> {
        self.record(SNAPSHOT, &encode_wal_snapshot(index, term, conf_state))
    }

    /// Pads the segment with zeros to etcd's preallocated size (a zero length word ends the
    /// records) and syncs it.
    pub fn finish(mut self) -> Result<PathBuf> {
        self.out.flush().map_err(|e| Error::io(&self.path, e))?;
        let file = self.out.into_inner().map_err(|e| Error::io(&self.path, e.into_error()))?;
        let len = SEGMENT_BYTES.max(self.written.next_multiple_of(8) + 8);
        file.set_len(len).map_err(|e| Error::io(&self.path, e))?;
        file.sync_all().map_err(|e| Error::io(&self.path, e))?;
        Ok(self.path)
    }
}

/// A `snap/<term>-<index>.snap` file's bytes: snappb.Snapshot { crc: CRC-32C of data, data:
/// raftpb.Snapshot { data: payload, metadata { conf_state, index, term } } }.
pub fn encode_snap_file(payload: &[u8], index: u64, term: u64, conf_state: &ConfState) -> Vec<u8> {
    let metadata = Encoder::new().bytes(1, &conf_state.encode()).varint(2, index).varint(3, term).finish();
    let snapshot = Encoder::new().bytes(1, payload).bytes(2, &metadata).finish();
    Encoder::new().varint(1, u64::from(crc32c::crc32c(&snapshot))).bytes(2, &snapshot).finish()
}

/// The `.snap` file name for a snapshot at (term, index).
pub fn snap_name(term: u64, index: u64) -> String {
    format!("{term:016x}-{index:016x}.snap")
}
