//! Wall-clock time → revisions: `--at TIME` on `get`, `kv get`, `history --since/--until`, and
//! (coming) `serve --at`; the `revision_times` table of `export sqlite`.
//!
//! etcd records no time for a revision. Kubernetes objects carry timestamps, though, and each
//! stored object was written at a known revision. So the evidence is: for every put of an object
//! under the etcd prefix, the timestamps it carries ([`crate::k8s::facts::TimeField`]: creation,
//! managedFields, deletion request, Lease renew/acquire, Event times, condition times) that
//! *that write set*: those the key's previous retained put did not carry as often (a
//! creationTimestamp at the create, a managedFields time that changed, a renewTime that
//! changed). A put whose previous put is not retained (the key's first entry, kept across a
//! compaction) counts everything it carries.
//!
//! Why it is sound: a timestamp is read from a clock before the write that stores it, so a
//! timestamp T stored at revision R says R happened at or after T; revisions are applied in
//! order, so every later revision did too. (A copied, older timestamp is still a lower bound,
//! only a weaker one: "new in that write" is for precision, so that each revision's evidence
//! is what its own write says, not for soundness.) `deletionTimestamp` alone is not sound — the
//! API server sets it to the end of the grace period, in the future — so the evidence is the
//! deletion timestamp less `deletionGracePeriodSeconds`, the server's clock at the request. The
//! clocks are several (the API servers' for creation, managedFields and deletion; the writing
//! client's for Lease, Event and condition times): a clock that runs ahead makes a revision
//! look later than it was, so an answer can come out earlier than the truth, never later than
//! the evidence allows.
//!
//! Resolution ([`resolve_at`]): the newest revision whose evidence does not say it is after
//! TIME. Evidence only bounds from below, so that is the revision just before the first revision
//! with a timestamp after TIME (every revision from that one on is known to be after TIME). The
//! bracket is the evidence on either side: `lo`, the newest timestamp not after TIME among the
//! revisions up to the answer (what says the answer's state existed by then), and `hi`, the
//! newest timestamp of the first revision after TIME (what says the next write came later).
//! Before every timestamp, or at a revision the file no longer holds (below the compaction), it
//! is an error that says where the evidence starts: serving a state that may not have existed
//! yet would be a guess. After every timestamp the current revision is served, and `hi` is
//! absent: the caller says so (nothing in the file tells what happened between its last write
//! and TIME).
//!
//! The pass reads the `key` bucket in revision order, keeping per key only its last put (a
//! borrowed entry, as `history` does); puts are decoded in batches on every core
//! ([`crate::views::parallel`]) by the one facts reader ([`crate::k8s::facts::object_times`]),
//! which reads timestamps off the protobuf wire without rendering. [`resolve_at`] stops at the
//! first revision after TIME. A Secret's timestamps are read from its metadata only; no other
//! part of its value is looked at.

use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::etcd::mvcc::RevisionEntry;
use crate::etcd::KeyRange;
use crate::k8s::decoder::Decoder;
use crate::k8s::facts::{new_times, object_times, TimeFact};
pub use crate::k8s::facts::{Stamp, TimeField};
use crate::k8s::key::normalize_prefix;
use crate::snapshot::Snapshot;
use crate::views::parallel::ordered_map;
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

/// Puts decoded per batch: a batch is the work handed to the threads at once, and what a pass
/// that stops early may have decoded for nothing.
const BATCH: usize = 4096;

/// One timestamp as evidence: the revision that wrote it, the key, the field and the time.
/// In JSON: `revision`, `key` (base64) and `keyText`, `field` (its JSON path), `time` (RFC 3339).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub revision: i64,
    pub key: Vec<u8>,
    pub field: TimeField,
    pub time: Stamp,
}

impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("revision", &self.revision)?;
        crate::views::record::key_entries(&mut m, "key", "keyText", &self.key)?;
        m.serialize_entry("field", self.field.as_str())?;
        m.serialize_entry("time", &self.time.rfc3339())?;
        m.end()
    }
}

fn stamp_text<S: serde::Serializer>(t: &Stamp, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&t.rfc3339())
}

impl Evidence {
    fn new(revision: i64, key: &[u8], fact: TimeFact) -> Evidence {
        Evidence { revision, key: key.to_vec(), field: fact.field, time: fact.at }
    }
}

/// The evidence the writes of one revision set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionTimes {
    pub revision: i64,
    pub earliest: Evidence,
    pub latest: Evidence,
    /// Timestamps written (over every key the revision wrote).
    pub count: u32,
    /// The fields they were in, one bit each ([`TimeField::bit`]).
    pub fields: u16,
}

impl RevisionTimes {
    /// The fields' names, in [`TimeField::ALL`]'s order.
    pub fn field_names(&self) -> Vec<&'static str> {
        TimeField::ALL.iter().filter(|f| self.fields & f.bit() != 0).map(|f| f.as_str()).collect()
    }
}

/// A revision's evidence as it is gathered, the keys still borrowed.
struct Gathering<'a> {
    revision: i64,
    earliest: (&'a [u8], TimeFact),
    latest: (&'a [u8], TimeFact),
    count: u32,
    fields: u16,
}

impl<'a> Gathering<'a> {
    fn start(revision: i64, key: &'a [u8], fact: TimeFact) -> Gathering<'a> {
        Gathering { revision, earliest: (key, fact), latest: (key, fact), count: 0, fields: 0 }
    }

    fn add(&mut self, key: &'a [u8], fact: TimeFact) {
        self.count += 1;
        self.fields |= fact.field.bit();
        if fact.at < self.earliest.1.at {
            self.earliest = (key, fact);
        }
        if fact.at > self.latest.1.at {
            self.latest = (key, fact);
        }
    }

    fn finish(self) -> RevisionTimes {
        RevisionTimes {
            revision: self.revision,
            earliest: Evidence::new(self.revision, self.earliest.0, self.earliest.1),
            latest: Evidence::new(self.revision, self.latest.0, self.latest.1),
            count: self.count,
            fields: self.fields,
        }
    }
}

/// One put and the stored KeyValue of the key's previous retained put (only its bytes are
/// kept per key: a quarter of a whole entry, over every key of the snapshot).
type Put<'a> = (RevisionEntry<'a>, Option<&'a [u8]>);

/// The timestamps the put of `entry` set (see the module documentation).
fn written_times(file: &Arc<Path>, decoder: &Decoder, (entry, previous): Put<'_>) -> Result<Vec<TimeFact>> {
    let Some(now) = object_times(decoder, entry.key, entry.value(file)?) else { return Ok(Vec::new()) };
    // The previous put was read once already, as the put it was then.
    let before = match previous.map(|raw| crate::etcd::wire::bytes_field(raw, 5)) {
        Some(Ok(value)) => object_times(decoder, entry.key, value.unwrap_or_default()).unwrap_or_default(),
        _ => Vec::new(),
    };
    Ok(new_times(&now, &before))
}

/// Hands the evidence of every revision up to `to` that has some to `visit`, in revision order,
/// until `visit` breaks. Objects are those under `etcd_prefix`. [`Error::Interrupted`] once
/// `cancel` is cancelled.
pub fn revision_times_each(
    snap: &Snapshot<'_>,
    decoder: &Decoder,
    etcd_prefix: &str,
    to: i64,
    cancel: &Cancel,
    visit: &mut dyn FnMut(RevisionTimes) -> Result<ControlFlow<()>>,
) -> Result<()> {
    let (store, file) = (snap.store(), snap.file());
    let prefix = normalize_prefix(etcd_prefix);
    let objects = KeyRange::prefix(format!("{prefix}/").as_bytes());
    let mut last_put: HashMap<&[u8], &[u8]> = HashMap::default();
    let mut batch: Vec<Put<'_>> = Vec::with_capacity(BATCH);
    let mut gathering: Option<Gathering<'_>> = None;
    let mut stopped = false;
    for entry in store.revisions(Some(&objects), 0..=to).until(cancel) {
        let entry = entry?;
        if entry.tombstone {
            last_put.remove(entry.key);
            continue;
        }
        let previous = last_put.insert(entry.key, entry.raw);
        batch.push((entry, previous));
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            flush(full, file, decoder, cancel, &mut gathering, &mut stopped, visit)?;
            if stopped {
                return Ok(());
            }
        }
    }
    flush(batch, file, decoder, cancel, &mut gathering, &mut stopped, visit)?;
    if let (Some(done), false) = (gathering, stopped) {
        let _ = visit(done.finish())?;
    }
    Ok(())
}

/// Decodes one batch of puts on every core and gathers their evidence by revision, handing each
/// revision's to `visit` once the next revision's starts; after `visit` breaks, `stopped` is set
/// and the rest of the batch is only drained.
fn flush<'a>(
    batch: Vec<Put<'a>>,
    file: &Arc<Path>,
    decoder: &Decoder,
    cancel: &Cancel,
    gathering: &mut Option<Gathering<'a>>,
    stopped: &mut bool,
    visit: &mut dyn FnMut(RevisionTimes) -> Result<ControlFlow<()>>,
) -> Result<()> {
    let keys: Vec<(i64, &'a [u8])> = batch.iter().map(|(e, _)| (e.main(), e.key)).collect();
    let mut at = 0;
    ordered_map(
        batch,
        |put| written_times(file, decoder, put),
        |times| {
            cancel.check()?;
            let (revision, key) = keys[at];
            at += 1;
            if *stopped {
                return Ok(());
            }
            for fact in times? {
                match gathering {
                    Some(g) if g.revision == revision => g.add(key, fact),
                    _ => {
                        if let Some(done) = gathering.take() {
                            if visit(done.finish())?.is_break() {
                                *stopped = true;
                                return Ok(());
                            }
                        }
                        let mut g = Gathering::start(revision, key, fact);
                        g.add(key, fact);
                        *gathering = Some(g);
                    }
                }
            }
            Ok(())
        },
    )
}

/// What `--at TIME` resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AtResolution {
    /// The time asked for.
    #[serde(serialize_with = "stamp_text")]
    pub at: Stamp,
    /// The newest revision whose evidence does not say it is after `at`.
    pub revision: i64,
    /// The newest timestamp not after `at` among the revisions up to `revision`.
    pub lo: Evidence,
    /// The newest timestamp of the first revision after `at` (`revision` + 1); none when no
    /// evidence is after `at` (then `revision` is the current revision).
    pub hi: Option<Evidence>,
}

/// Where the evidence for one time stands while the revisions are read.
#[derive(Debug, Clone, Default)]
struct Bracket {
    lo: Option<Evidence>,
    hi: Option<Evidence>,
    /// The newest timestamp of the revisions up to the compaction: a time from which on this
    /// file can serve an answer.
    readable_from: Option<Evidence>,
}

impl Bracket {
    /// Takes in one revision's evidence; whether everything needed is known.
    fn see(&mut self, at: Stamp, r: &RevisionTimes, compact: i64) -> bool {
        if r.revision <= compact && self.readable_from.as_ref().map_or(true, |e| r.latest.time >= e.time) {
            self.readable_from = Some(r.latest.clone());
        }
        if self.hi.is_none() {
            if r.latest.time > at {
                self.hi = Some(r.latest.clone());
            } else if self.lo.as_ref().map_or(true, |e| r.latest.time >= e.time) {
                self.lo = Some(r.latest.clone());
            }
        }
        // Past the compaction the suggestion for a time too early is known too.
        self.hi.is_some() && r.revision > compact
    }
}

/// The revision `--at at` serves, from the evidence gathered (the rules in the module
/// documentation): the revision before `hi`'s, or `current` when nothing is after `at`; refused
/// before every timestamp and below `compact`.
fn decide(at: Stamp, bracket: Bracket, current: i64, compact: i64) -> Result<AtResolution> {
    let Bracket { lo, hi, readable_from } = bracket;
    let Some(lo) = lo else {
        return Err(Error::Usage(match hi {
            None => "no time evidence: no Kubernetes object under the etcd prefix carries a timestamp (give --rev instead)".to_string(),
            Some(first) => format!(
                "{at} is before the time evidence of revision {}, the first with any: {}; no revision is known to be from then or earlier (give a later time or --rev)",
                first.revision,
                describe(&first)
            ),
        }));
    };
    let revision = hi.as_ref().map_or(current, |h| h.revision - 1);
    if revision < compact {
        let from = readable_from.map(|e| format!("; the evidence allows times from {} on", describe(&e))).unwrap_or_default();
        return Err(Error::Usage(format!(
            "{at} resolves to revision {revision}, below the compaction revision {compact}: this file no longer holds the keyspace of then{from}"
        )));
    }
    Ok(AtResolution { at, revision, lo, hi })
}

/// `TIME (FIELD of KEY, written at revision R)`, for messages.
pub fn describe(e: &Evidence) -> String {
    format!("{} ({} of {}, written at revision {})", e.time, e.field.as_str(), String::from_utf8_lossy(&e.key), e.revision)
}

/// The revision `--at` serves for each of `times`, in one pass that stops once every answer is
/// known. Each answer is an error when its time is before the evidence or resolves below the
/// compaction (see the module documentation).
pub fn resolve_each(snap: &Snapshot<'_>, decoder: &Decoder, etcd_prefix: &str, times: &[Stamp], cancel: &Cancel) -> Result<Vec<Result<AtResolution>>> {
    let store = snap.store();
    let (current, compact) = (store.current_revision(), store.compact_revision());
    let mut brackets = vec![Bracket::default(); times.len()];
    revision_times_each(snap, decoder, etcd_prefix, current, cancel, &mut |r| {
        let mut done = true;
        for (b, at) in brackets.iter_mut().zip(times) {
            done &= b.see(*at, &r, compact);
        }
        Ok(if done { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
    })?;
    Ok(brackets.into_iter().zip(times).map(|(b, at)| decide(*at, b, current, compact)).collect())
}

/// The newest revision of `snap` whose time evidence does not say it is after `at`, with the
/// evidence around it ([`AtResolution`]); objects are those under `etcd_prefix`. Refused (as
/// [`Error::Usage`], saying where the evidence starts) when `at` is before every timestamp or
/// resolves below the compaction. [`Error::Interrupted`] once `cancel` is cancelled.
pub fn resolve_at(snap: &Snapshot<'_>, decoder: &Decoder, etcd_prefix: &str, at: Stamp, cancel: &Cancel) -> Result<AtResolution> {
    resolve_each(snap, decoder, etcd_prefix, &[at], cancel)?.pop().unwrap_or_else(|| Err(Error::Usage("no time to resolve".into())))
}

/// `--at`'s argument: an RFC 3339 time.
pub fn parse_time(flag: &str, text: &str) -> Result<Stamp> {
    Stamp::parse(text).ok_or_else(|| Error::Usage(format!("{flag} {text}: not an RFC 3339 time (e.g. 2026-01-02T15:04:05Z)")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Stamp {
        Stamp::parse(s).unwrap()
    }

    fn rev(revision: i64, times: &[&str]) -> RevisionTimes {
        let facts: Vec<TimeFact> = times.iter().map(|s| TimeFact { field: TimeField::ManagedFieldsTime, at: t(s) }).collect();
        let mut g = Gathering::start(revision, b"/registry/k", facts[0]);
        facts.iter().for_each(|f| g.add(b"/registry/k", *f));
        g.finish()
    }

    /// Revisions 3, 5, 6 and 9 carry evidence (10:00, 10:05, 10:04 from a slow clock, 10:10);
    /// the current revision is 11.
    fn resolve(at: &str, compact: i64) -> Result<AtResolution> {
        let history = [
            rev(3, &["2026-01-01T10:00:00Z"]),
            rev(5, &["2026-01-01T09:00:00Z", "2026-01-01T10:05:00Z"]),
            rev(6, &["2026-01-01T10:04:00Z"]),
            rev(9, &["2026-01-01T10:10:00Z"]),
        ];
        let mut b = Bracket::default();
        for r in &history {
            if b.see(t(at), r, compact) {
                break;
            }
        }
        decide(t(at), b, 11, compact)
    }

    #[test]
    fn the_answer_is_the_revision_before_the_first_evidence_after_the_time() {
        let r = resolve("2026-01-01T10:02:00Z", 0).unwrap();
        assert_eq!((r.revision, r.lo.revision, r.hi.as_ref().map(|h| h.revision)), (4, 3, Some(5)));
        assert_eq!(r.hi.unwrap().time, t("2026-01-01T10:05:00Z"), "hi is the newest timestamp of the first revision after");
        // A timestamp equal to the time is not after it.
        assert_eq!(resolve("2026-01-01T10:05:00Z", 0).unwrap().revision, 8);
        // The slow clock at 6 does not make 6 earlier than 5: the evidence only bounds from below.
        let r = resolve("2026-01-01T10:04:30Z", 0).unwrap();
        assert_eq!((r.revision, r.lo.revision), (4, 3));
        assert_eq!(resolve("2026-01-01T10:09:59.999Z", 0).unwrap().revision, 8);
        // lo is the newest timestamp, not the newest revision: 6's slow clock is older than 5's.
        assert_eq!(resolve("2026-01-01T10:05:00.000000001Z", 0).unwrap().lo.revision, 5);
    }

    #[test]
    fn after_all_evidence_is_the_current_revision_and_before_it_an_error() {
        let r = resolve("2030-01-01T00:00:00Z", 0).unwrap();
        assert_eq!((r.revision, r.lo.revision, r.hi), (11, 9, None));
        let e = resolve("2026-01-01T09:59:59Z", 0).unwrap_err().to_string();
        assert!(e.contains("before the time evidence of revision 3") && e.contains("2026-01-01T10:00:00Z"), "{e}");
        let e = decide(t("2026-01-01T09:59:59Z"), Bracket::default(), 11, 0).unwrap_err().to_string();
        assert!(e.contains("no time evidence"), "{e}");
    }

    #[test]
    fn below_the_compaction_is_an_error_that_says_from_when_it_can_serve() {
        let e = resolve("2026-01-01T10:02:00Z", 6).unwrap_err().to_string();
        assert!(e.contains("revision 4") && e.contains("compaction revision 6") && e.contains("from 2026-01-01T10:05:00Z ("), "{e}");
        assert_eq!(resolve("2026-01-01T10:05:00Z", 6).unwrap().revision, 8);
    }

    #[test]
    fn a_resolution_in_json_names_its_fields_as_the_convention_says() {
        let r = resolve("2026-01-01T10:02:00Z", 0).unwrap();
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["at"], "2026-01-01T10:02:00Z");
        assert_eq!(v["revision"], 4);
        assert_eq!(
            v["lo"],
            serde_json::json!({"revision": 3, "key": "L3JlZ2lzdHJ5L2s=", "keyText": "/registry/k", "field": "metadata.managedFields[].time", "time": "2026-01-01T10:00:00Z"})
        );
        assert_eq!(v["hi"]["revision"], 5);
    }

    #[test]
    fn a_revision_gathers_its_earliest_and_latest() {
        let r = rev(5, &["2026-01-01T10:05:00Z", "2026-01-01T09:00:00Z"]);
        assert_eq!((r.earliest.time, r.latest.time, r.count), (t("2026-01-01T09:00:00Z"), t("2026-01-01T10:05:00Z"), 2));
        assert_eq!(r.field_names(), ["metadata.managedFields[].time"]);
    }
}
