//! etcd's write-ahead log, read offline: segment files in order ([`segment`]), record framing
//! and the CRC chain with torn tails and damage told apart ([`frame`]), what each record holds
//! ([`record`]), what each raft entry asks etcd to do ([`request`]), the member's raft snapshot
//! files ([`snap`]), and what etcd checks when it starts from them ([`startup`]); and the IDs
//! a WAL names ([`wal_ids`]). What the views and the rebuild take from the WAL without any
//! Kubernetes decoding lives here; `views::wal` adds the decoding and the summary.
//! docs/format/wal.md describes the format these modules rely on.

pub mod frame;
pub mod layout;
pub mod record;
pub mod request;
pub mod segment;
pub mod snap;
pub mod startup;
pub mod write;

use crate::error::{Error, Result};
use frame::{Event, Wal};
use record::Record;
use segment::{discover, wal_dir};
use std::path::Path;

/// The member and cluster IDs the WAL at (or under) `input` names: its first metadata record
/// (every segment starts with one), read without reading the rest of the log.
pub fn wal_ids(input: &Path) -> Result<Option<(u64, u64)>> {
    let segments = discover(&wal_dir(input)?)?;
    let Some(first) = segments.files.first().cloned() else { return Ok(None) };
    let wal = Wal::open(segment::Segments { files: vec![first], ..segments })?;
    let mut ids = None;
    let stopped = wal.scan(false, &mut |ev| {
        if let Event::Frame(f) = ev {
            if let Ok(Record::Metadata { node_id, cluster_id }) = Record::of(&f) {
                ids = Some((node_id, cluster_id));
                // Nothing more is needed: stop reading here.
                return Err(Error::Interrupted);
            }
        }
        Ok(())
    });
    match stopped {
        Err(Error::Interrupted) if ids.is_some() => Ok(ids),
        other => other.map(|()| ids),
    }
}
