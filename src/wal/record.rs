//! What a WAL record holds, by type (docs/format/wal.md §3, §6): the member and cluster IDs,
//! raft entries, hard states and snapshot markers. Entries are read borrowed (their data can
//! be large); the small records through our prost types.

use super::frame::{Frame, CRC, ENTRY, METADATA, SNAPSHOT, STATE};
use crate::etcd::pb::{etcdserverpb, raftpb, walpb};
use crate::protowire::{fields, Wire};
use prost::Message;

/// A raft entry, its data borrowed from the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// 0 normal, 1 conf change, 2 conf change v2.
    pub entry_type: i32,
    pub term: u64,
    pub index: u64,
    pub data: &'a [u8],
}

#[derive(Debug, Clone, PartialEq)]
pub enum Record<'a> {
    /// The running CRC carried into a segment.
    Crc(u32),
    Metadata {
        node_id: u64,
        cluster_id: u64,
    },
    Entry(Entry<'a>),
    State(raftpb::HardState),
    Snapshot(walpb::Snapshot),
    Unknown(i64),
}

impl<'a> Record<'a> {
    /// The record in `frame`, or why its data does not parse.
    pub fn of(frame: &Frame<'a>) -> Result<Record<'a>, String> {
        let bad = |what: &str, e: prost::DecodeError| format!("{what} record data does not parse: {e}");
        Ok(match frame.rtype {
            CRC => Record::Crc(frame.crc),
            METADATA => {
                let m = etcdserverpb::Metadata::decode(frame.data).map_err(|e| bad("metadata", e))?;
                Record::Metadata { node_id: m.node_id(), cluster_id: m.cluster_id() }
            }
            ENTRY => Record::Entry(entry(frame.data)?),
            STATE => Record::State(raftpb::HardState::decode(frame.data).map_err(|e| bad("state", e))?),
            SNAPSHOT => Record::Snapshot(walpb::Snapshot::decode(frame.data).map_err(|e| bad("snapshot", e))?),
            t => Record::Unknown(t),
        })
    }
}

/// Reads a raftpb.Entry without copying its data.
pub fn entry(b: &[u8]) -> Result<Entry<'_>, String> {
    let mut e = Entry { entry_type: 0, term: 0, index: 0, data: &[] };
    for f in fields(b) {
        match f.map_err(|e| format!("entry does not parse: {e}"))? {
            (1, Wire::Varint(v)) => e.entry_type = v as i32,
            (2, Wire::Varint(v)) => e.term = v,
            (3, Wire::Varint(v)) => e.index = v,
            (4, Wire::Bytes(d)) => e.data = d,
            (n @ 1..=4, w) => return Err(format!("entry field {n} has wire type {}", w.type_name())),
            _ => {}
        }
    }
    Ok(e)
}

/// The name of a raft entry type (raftpb.EntryType), as etcd-dump-logs prints it.
pub fn entry_type_name(t: i32) -> &'static str {
    match t {
        0 => "normal",
        1 => "conf_change",
        2 => "conf_change_v2",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_borrowed() {
        // Type=Normal Term=2 Index=5 Data "ab" (as etcd 3.5.1 writes them).
        let b = [0x08, 0x00, 0x10, 0x02, 0x18, 0x05, 0x22, 0x02, b'a', b'b'];
        assert_eq!(entry(&b), Ok(Entry { entry_type: 0, term: 2, index: 5, data: b"ab" }));
        assert!(entry(&[0x10]).is_err());
    }
}
