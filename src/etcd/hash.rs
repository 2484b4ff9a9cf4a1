//! The hash `etcdutl snapshot status` prints: CRC-32C (Castagnoli) over, for every top-level
//! bucket in order, the bucket name and then every key and value. Nothing is excluded. The same
//! pass yields etcdutl's `revision` (main revision of the last `key` bucket entry) and `totalKey`
//! (every key/value pair in every bucket, as etcdutl 3.5 counts it).

use super::backend::{Backend, KEY};
use super::mvcc::{revision_entry, HistoryCounter, HistoryCounts};
use super::revision::RevisionKey;
use crate::bolt::space::{measure_with, Space};
use crate::bolt::walk::{walk_bucket_split, walk_bucket_visiting, Visitor};
use crate::bolt::{Db, Entry};
use crate::error::Result;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotHash {
    pub hash: u32,
    pub revision: i64,
    pub total_key: u64,
}

/// Everything `status` reads from the trees, in one walk of the pages: the space accounting,
/// the snapshot hash and the history counts. The `key` bucket (most of the file) is walked in
/// two halves on two cores; each half hashes its own bytes and the CRCs are joined
/// (CRC-32C of a concatenation follows from the parts' CRCs and the second part's length).
pub fn space_hash_and_counts(backend: &Backend<'_>) -> Result<(Space, SnapshotHash, HistoryCounts)> {
    let db = &backend.db;
    let mut crc = 0u32;
    let mut out = SnapshotHash::default();
    let mut counts = HistoryCounts::default();
    // Distinct keys are rarely more than the file's pages (a 4 KiB page holds many small
    // entries; a large value spans pages); each side of the split walk sees about half. Capped,
    // so a huge file reserves at most 2 Mi slots per side.
    let expected = usize::try_from(db.high_water_mark() / 2).unwrap_or(usize::MAX).min(2 << 20);
    let space = measure_with(db, |name, bucket, seen, stats| {
        crc = crc32c::crc32c_append(crc, name);
        let (mut first, mut second) = if name == KEY {
            let (mut first, mut second) = (Side::new(db, expected), Side::new(db, expected));
            walk_bucket_split(db, bucket, seen, stats, &mut first, &mut second)?;
            (first, second)
        } else {
            let mut only = Side::plain(db);
            walk_bucket_visiting(db, bucket, seen, stats, true, &mut only)?;
            (only, Side::plain(db))
        };
        let mut pieces: Vec<&Piece> = first.pieces.iter().chain(&second.pieces).collect();
        pieces.sort_unstable_by_key(|p| p.index);
        for piece in pieces {
            crc = crc32c::crc32c_combine(crc, piece.crc, piece.len);
            out.revision = piece.revision.unwrap_or(out.revision);
        }
        out.total_key += first.entries + second.entries;
        if let (Some(older), Some(newer)) = (first.counter.take(), second.counter.take()) {
            counts = older.finish_with_newer(newer);
        }
        Ok(())
    })?;
    out.hash = crc;
    Ok((space, out, counts))
}

/// What one side of a (split) walk of a bucket read: a piece per chunk, in the order taken.
struct Side<'d, 'a> {
    db: &'d Db<'a>,
    pieces: Vec<Piece>,
    entries: u64,
    /// For the `key` bucket.
    counter: Option<HistoryCounter<'a>>,
}

/// One chunk's entries: their CRC (from zero) and length, to be joined in chunk order.
struct Piece {
    index: usize,
    crc: u32,
    len: usize,
    /// Main revision of the chunk's last `key` bucket entry.
    revision: Option<i64>,
}

impl<'d, 'a> Side<'d, 'a> {
    /// A side of the `key` bucket: it also counts revisions (about `expected` distinct keys).
    fn new(db: &'d Db<'a>, expected: usize) -> Side<'d, 'a> {
        Side { db, pieces: Vec::new(), entries: 0, counter: Some(HistoryCounter::with_capacity(expected)) }
    }

    /// Any other bucket: hashed and counted only.
    fn plain(db: &'d Db<'a>) -> Side<'d, 'a> {
        Side { db, pieces: Vec::new(), entries: 0, counter: None }
    }
}

impl<'a> Visitor<'a> for Side<'_, 'a> {
    fn chunk(&mut self, index: usize) {
        self.pieces.push(Piece { index, crc: 0, len: 0, revision: None });
        if let Some(counter) = self.counter.as_mut() {
            counter.start_chunk(u32::try_from(index).unwrap_or(u32::MAX));
        }
    }

    fn entry(&mut self, entry: &Entry<'a>) -> Result<()> {
        if self.pieces.is_empty() {
            self.chunk(0);
        }
        let Some(piece) = self.pieces.last_mut() else { return Ok(()) };
        piece.crc = crc32c::crc32c_append(piece.crc, entry.key());
        piece.len += entry.key().len();
        // A nested bucket has no value for bbolt's ForEach; etcd has none anyway.
        if !entry.is_bucket() {
            piece.crc = crc32c::crc32c_append(piece.crc, entry.value());
            piece.len += entry.value().len();
        }
        self.entries += 1;
        if let Some(counter) = self.counter.as_mut() {
            if let Ok(rk) = RevisionKey::parse(entry.key()) {
                piece.revision = Some(rk.revision.main);
            }
            counter.add(&revision_entry(self.db, entry)?);
        }
        Ok(())
    }
}
