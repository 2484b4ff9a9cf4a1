//! What etcd checks when it starts from a WAL, beyond the framing and the CRC chain that
//! [`super::frame`] checks (docs/format/wal.md §12).
//!
//! etcd 3.5 first lists the snapshot records of every segment whose index the last hard state
//! commits, and loads the newest valid `.snap` file one of them names (none: it starts from index
//! 0). Its reader then opens the last segment whose name's index is at or below that snapshot
//! index, and reads every record from there on: an unknown record type, a record whose data does
//! not unmarshal, a metadata record unlike the first, a snapshot record at the start index with
//! another term, or an entry past the start that leaves a gap stops it. raft then refuses a hard
//! state committing past the last entry, and the server panics on applying an entry it cannot
//! decode. [`Checker`] is fed the records in order and says, for each such thing, where it is and
//! what etcd does about it; what etcd does not read at start (segments before the one it opens,
//! entries the snapshot covers or a later term overwrote) is left alone, so a finding means
//! "etcd would not start from this" (or would stop applying it).
//!
//! With the member's db beside the log, one more: a db whose consistent index is past the end
//! of raft's log (the last entry after the snapshot etcd starts from, or that snapshot's index)
//! has applied entries the log no longer holds, as when a WAL lost its tail. etcd starts on it,
//! but does not apply the entries it appends at indexes up to the consistent index (their
//! requests time out and are lost; in a cluster this member's db then differs from the
//! others'); and when the log has neither a snapshot nor an entry, raft knows no member at all
//! and never elects a leader ("failed to publish local member to cluster through raft").

use super::record::{Entry, Record};
use super::request::Payload;
use super::segment::SegmentFile;
use super::snap::{SnapFile, SnapStatus};

/// Findings listed; past this many (a crafted log can hold millions of bad records) they are
/// only counted.
pub const MAX_FINDINGS: usize = 1000;

/// Snapshot records kept while looking for the start point: real WALs hold a few (one per
/// snapshot, older segments purged); a crafted one could hold millions.
pub const MAX_SNAPSHOT_RECORDS: usize = 1 << 16;

/// Where a record is: index into the segment list, record number in its segment, byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub segment: usize,
    pub record: u64,
    pub offset: u64,
}

/// Where etcd's start comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartFrom {
    /// The newest valid `.snap` file a committed snapshot record names.
    SnapFile(String),
    /// No such `.snap` file: etcd starts from index 0 and replays the whole log.
    NoSnapshot,
    /// A bare WAL directory (no `snap/` beside it): taken to be the newest committed snapshot
    /// record, as etcd would start with its `.snap` files intact.
    Assumed,
}

/// The snapshot etcd starts from: entries up to `index` are covered by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartPoint {
    pub index: u64,
    pub term: u64,
    pub from: StartFrom,
}

/// The snapshot records seen in the whole log, (index, term), in order, up to a bound.
#[derive(Debug, Clone, Default)]
pub struct SnapshotRecords {
    pub seen: Vec<(u64, u64)>,
    /// More than [`MAX_SNAPSHOT_RECORDS`]: the start point is not worked out.
    pub overflow: bool,
}

impl SnapshotRecords {
    pub fn add(&mut self, index: u64, term: u64) {
        if self.seen.last() == Some(&(index, term)) {
            return;
        }
        if self.seen.len() >= MAX_SNAPSHOT_RECORDS {
            self.overflow = true;
            return;
        }
        self.seen.push((index, term));
    }
}

/// The snapshot etcd starts from, given the log's snapshot records, the last hard state's commit
/// and the member's `.snap` files (None: a bare WAL directory).
pub fn start_point(records: &SnapshotRecords, commit: u64, snap_files: Option<&[SnapFile]>) -> Option<StartPoint> {
    if records.overflow {
        return None;
    }
    let committed = || records.seen.iter().filter(|(index, _)| *index <= commit);
    let Some(files) = snap_files else {
        let newest = committed().max_by_key(|(index, term)| (*term, *index));
        return Some(match newest {
            Some(&(index, term)) => StartPoint { index, term, from: StartFrom::Assumed },
            None => StartPoint { index: 0, term: 0, from: StartFrom::NoSnapshot },
        });
    };
    // Newest file first, as etcd lists them; a file that does not load is skipped.
    for f in files.iter().rev() {
        if let SnapStatus::Ok { index, term, .. } = f.status {
            if committed().any(|&r| r == (index, term)) {
                return Some(StartPoint { index, term, from: StartFrom::SnapFile(f.name.clone()) });
            }
        }
    }
    Some(StartPoint { index: 0, term: 0, from: StartFrom::NoSnapshot })
}

/// The segment etcd's reader opens first: the last whose name's index is at or below `index`.
pub fn first_segment_read(segments: &[SegmentFile], index: u64) -> Option<usize> {
    segments.iter().rposition(|s| s.name.index <= index)
}

/// What etcd does about a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It refuses to start, in these words.
    Refuses(String),
    /// It panics applying the entry at start (committed) or once it is committed.
    StopsApplying { committed: bool },
    /// It panics reading the record at start.
    StopsReading,
    /// It starts, but does not work as it should: what it then does.
    StartsBroken(String),
    /// Not a finding about one record: `what` says it all (how many more were not listed).
    Note,
}

/// One thing etcd would not accept, where it is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// None for what no one record holds (no segment to start reading from).
    pub at: Option<Place>,
    pub what: String,
    pub verdict: Verdict,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.verdict {
            Verdict::Refuses(words) => write!(f, "{}: etcd refuses to start (\"{words}\")", self.what),
            Verdict::StopsApplying { committed: true } => write!(f, "{}: etcd stops (panics) applying it at start", self.what),
            Verdict::StopsApplying { committed: false } => write!(f, "{}: etcd stops (panics) applying it once it is committed", self.what),
            Verdict::StopsReading => write!(f, "{}: etcd stops (panics) reading it at start", self.what),
            Verdict::StartsBroken(then) => write!(f, "{}: etcd starts, but {then}", self.what),
            Verdict::Note => f.write_str(&self.what),
        }
    }
}

/// The first metadata record's data, and the (member, cluster) IDs it holds.
type FirstMetadata = (Vec<u8>, Option<(u64, u64)>);

/// etcd's start-up checks over the records in log order (after the framing and CRC checks).
#[derive(Debug)]
pub struct Checker {
    start: StartPoint,
    /// The segment etcd starts reading at (None: no segment, reported once).
    first_read: Option<usize>,
    /// The last hard state of the log: (term, vote, commit).
    last_state: Option<(u64, u64, u64)>,
    /// The first metadata record etcd reads.
    metadata: Option<FirstMetadata>,
    /// The index the next entry may have at most (etcd's entry list after the start point).
    next_index: u64,
    last_index: u64,
    last_state_at: Option<Place>,
    /// The member db's consistent index, when there is a db beside the log.
    db_index: Option<u64>,
    findings: Vec<Finding>,
    /// Findings past [`MAX_FINDINGS`], counted.
    unlisted: u64,
}

impl Checker {
    pub fn new(start: StartPoint, first_read: Option<usize>, last_state: Option<(u64, u64, u64)>) -> Checker {
        let mut findings = Vec::new();
        if first_read.is_none() {
            findings.push(Finding {
                at: None,
                what: format!("no segment starts at or before index {}, where etcd starts reading", start.index),
                verdict: Verdict::Refuses("wal: file not found".into()),
            });
        }
        let next_index = start.index.saturating_add(1);
        Checker {
            last_index: start.index,
            next_index,
            start,
            first_read,
            last_state,
            metadata: None,
            last_state_at: None,
            db_index: None,
            findings,
            unlisted: 0,
        }
    }

    /// The member db's consistent index: entries up to it are applied to the db, so raft's log
    /// must reach it ([`Checker::finish`]).
    pub fn with_db_index(mut self, consistent_index: Option<u64>) -> Checker {
        self.db_index = consistent_index;
        self
    }

    pub fn start(&self) -> &StartPoint {
        &self.start
    }

    /// etcd reads this segment at start.
    fn read_at_start(&self, segment: usize) -> bool {
        self.first_read.is_some_and(|first| segment >= first)
    }

    fn found(&mut self, at: Place, what: String, verdict: Verdict) {
        if self.findings.len() >= MAX_FINDINGS {
            self.unlisted += 1;
            return;
        }
        self.findings.push(Finding { at: Some(at), what, verdict });
    }

    /// A record whose data does not unmarshal (`why`). etcd reads entries and metadata only from
    /// the segment it opens first on, hard states and snapshot records from every segment.
    pub fn undecodable(&mut self, at: Place, rtype: i64, why: &str) {
        use super::layout::{SNAPSHOT, STATE};
        if self.read_at_start(at.segment) || rtype == STATE || rtype == SNAPSHOT {
            self.found(at, why.to_string(), Verdict::StopsReading);
        }
    }

    /// A record that decoded: its type, the metadata it repeats, the snapshot it marks, the
    /// entry index it holds.
    pub fn record(&mut self, at: Place, record: &Record<'_>, data: &[u8]) {
        if !self.read_at_start(at.segment) {
            return;
        }
        match record {
            Record::Unknown(t) => self.found(at, format!("unknown record type {t}"), Verdict::Refuses(format!("unexpected block type {t}"))),
            Record::Metadata { node_id, cluster_id } => self.metadata(at, data, Some((*node_id, *cluster_id))),
            Record::Snapshot(s) if s.index() == self.start.index && s.term() != self.start.term => {
                let what = format!("snapshot record at index {} has term {}, the snapshot etcd starts from has term {}", s.index(), s.term(), self.start.term);
                self.found(at, what, Verdict::Refuses("wal: snapshot mismatch".into()));
            }
            Record::Entry(e) => self.entry_index(at, e.index),
            Record::State(_) => self.last_state_at = Some(at),
            _ => {}
        }
    }

    fn metadata(&mut self, at: Place, data: &[u8], ids: Option<(u64, u64)>) {
        let Some((first, first_ids)) = &self.metadata else {
            self.metadata = Some((data.to_vec(), ids));
            return;
        };
        if first.as_slice() == data {
            return;
        }
        let show = |ids: &Option<(u64, u64)>| ids.map_or("other bytes".to_string(), |(m, c)| format!("member {m:x} cluster {c:x}"));
        let what = format!("metadata conflicts with the first metadata record ({}; this one: {})", show(first_ids), show(&ids));
        self.found(at, what, Verdict::Refuses("wal: conflicting metadata found".into()));
    }

    fn entry_index(&mut self, at: Place, index: u64) {
        if index <= self.start.index {
            return;
        }
        if index > self.next_index {
            let what = if self.last_index == self.start.index {
                format!("entry {index} is the first after the snapshot at index {} ({} is missing)", self.start.index, self.next_index)
            } else {
                format!("entry {index} follows entry {} ({} is missing)", self.last_index, self.next_index)
            };
            self.found(at, what, Verdict::Refuses("wal: slice bounds out of range".into()));
        }
        // A lower index overwrites the entries from there on, as etcd's reader does.
        self.last_index = index;
        self.next_index = index.saturating_add(1);
    }

    /// Whether `entry` is one etcd applies at start (or once committed): after the start point,
    /// not overwritten later. Only those have their request checked.
    pub fn applies(&self, at: Place, entry: &Entry<'_>, superseded: bool) -> bool {
        self.read_at_start(at.segment) && entry.index > self.start.index && !superseded
    }

    /// An entry etcd applies ([`Checker::applies`]), and what it asks (`payload`).
    pub fn applied_entry(&mut self, at: Place, entry: &Entry<'_>, payload: &Payload) {
        let committed = self.last_state.is_some_and(|(_, _, commit)| entry.index <= commit);
        let verdict = Verdict::StopsApplying { committed };
        match payload {
            // prost insists on UTF-8 in string fields and etcd does not: such an entry may be
            // one etcd applies, so it is not called one etcd cannot.
            Payload::Undecodable(why) if why.contains("not UTF-8") => {}
            Payload::Undecodable(why) => self.found(at, format!("entry {}: {why}", entry.index), verdict),
            Payload::ConfChangeV2(_) => {
                let what = format!("entry {} is of type conf_change_v2; etcd 3.5 applies only normal and conf change entries", entry.index);
                self.found(at, what, verdict);
            }
            _ => {}
        }
    }

    /// What the whole log tells: a hard state committing past the last entry; a db that has
    /// applied more than the log holds.
    pub fn finish(mut self) -> Vec<Finding> {
        if let Some(finding) = self.db_ahead_of_log() {
            self.findings.push(finding);
        }
        if let Some((term, vote, commit)) = self.last_state {
            let empty = term == 0 && vote == 0 && commit == 0;
            if !empty && self.first_read.is_some() && commit > self.last_index {
                let what = format!("the last hard state's commit {commit} is beyond the last entry {}", self.last_index);
                let words = format!("raft: state.commit {commit} is out of range [{}, {}]", self.start.index, self.last_index);
                let at = self.last_state_at;
                self.findings.push(Finding { at, what, verdict: Verdict::Refuses(words) });
            }
        }
        if self.unlisted > 0 {
            let what = format!("{} more records etcd would not start from (or would stop at), not listed", self.unlisted);
            self.findings.push(Finding { at: None, what, verdict: Verdict::Note });
        }
        self.findings
    }
}

impl Checker {
    /// The db's consistent index past the end of raft's log at start (module doc).
    fn db_ahead_of_log(&self) -> Option<Finding> {
        let ci = self.db_index?;
        let last = self.last_index;
        if self.first_read.is_none() || ci <= last {
            return None;
        }
        let ends = if last == self.start.index && last > 0 {
            format!("raft's log ends at the snapshot it starts from, index {last}, with no entry after it")
        } else if last == 0 {
            "the WAL's last index is 0: it holds no entry, and no snapshot etcd can start from".to_string()
        } else {
            format!("the WAL's last entry is {last}")
        };
        let what =
            format!("the member db's consistent index {ci} is beyond the end of raft's log ({ends}): the db has applied entries the log no longer holds");
        let then = if last == 0 {
            "raft knows no member, never elects a leader and the member never becomes healthy (\"failed to publish local member to cluster through raft\")"
                .to_string()
        } else {
            format!(
                "it does not apply the entries it appends at indexes {} to {ci} (their requests time out and are lost; in a cluster, this member's db then differs from the others')",
                last.saturating_add(1)
            )
        };
        Some(Finding { at: None, what, verdict: Verdict::StartsBroken(then) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::segment::SegmentName;

    fn snap(name: &str, index: u64, term: u64) -> SnapFile {
        SnapFile { name: name.into(), named: Some((term, index)), len: 1, status: SnapStatus::Ok { index, term, voters: vec![], learners: vec![], payload: 1 } }
    }

    #[test]
    fn the_newest_committed_snapshot_with_a_file() {
        let mut r = SnapshotRecords::default();
        for (i, t) in [(0, 0), (21, 2), (42, 2), (60, 3)] {
            r.add(i, t);
        }
        let files = [snap("a", 21, 2), snap("b", 42, 2), snap("c", 60, 3)];
        // 60 is past the commit: the newest usable is 42.
        assert_eq!(start_point(&r, 53, Some(&files)).unwrap(), StartPoint { index: 42, term: 2, from: StartFrom::SnapFile("b".into()) });
        assert_eq!(start_point(&r, 53, Some(&files[..1])).unwrap().index, 21);
        assert_eq!(start_point(&r, 53, Some(&[])).unwrap().from, StartFrom::NoSnapshot);
        assert_eq!(start_point(&r, 53, None).unwrap(), StartPoint { index: 42, term: 2, from: StartFrom::Assumed });
    }

    #[test]
    fn crafted_logs_stay_bounded() {
        let mut r = SnapshotRecords::default();
        for i in 0..=MAX_SNAPSHOT_RECORDS as u64 {
            r.add(i, 1);
        }
        assert!(r.overflow && r.seen.len() == MAX_SNAPSHOT_RECORDS);
        assert_eq!(start_point(&r, u64::MAX, None), None, "no start point is guessed");
        let start = StartPoint { index: 0, term: 0, from: StartFrom::NoSnapshot };
        let mut c = Checker::new(start, Some(0), None);
        for n in 0..5000u64 {
            c.record(Place { segment: 0, record: n, offset: n * 8 }, &Record::Unknown(9), &[]);
        }
        let f = c.finish();
        assert_eq!(f.len(), MAX_FINDINGS + 1);
        assert_eq!(f[MAX_FINDINGS].to_string(), "4000 more records etcd would not start from (or would stop at), not listed");
    }

    #[test]
    fn gaps_and_overwrites() {
        let start = StartPoint { index: 10, term: 1, from: StartFrom::Assumed };
        let mut c = Checker::new(start, Some(0), Some((2, 1, 13)));
        let at = |record| Place { segment: 0, record, offset: record * 8 };
        for (n, i) in [5, 11, 12, 13, 12, 13, 15].into_iter().enumerate() {
            c.entry_index(at(n as u64), i);
        }
        let f = c.finish();
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].what.contains("entry 15 follows entry 13 (14 is missing)"), "{}", f[0]);
        let segments = [
            SegmentFile { path: "a".into(), name: SegmentName { seq: 0, index: 0 }, len: 0 },
            SegmentFile { path: "b".into(), name: SegmentName { seq: 1, index: 40 }, len: 0 },
        ];
        assert_eq!((first_segment_read(&segments, 39), first_segment_read(&segments, 40)), (Some(0), Some(1)));
    }
}
