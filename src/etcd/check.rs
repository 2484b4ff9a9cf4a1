//! The etcd-level check: what etcd's buckets hold must hang together. Every `key` bucket entry
//! parses as a revision key and an `mvccpb.KeyValue`; no revision appears twice; each key's
//! retained history is coherent (a put's mod revision is its own revision; versions count up by
//! one and the create revision stays within a generation; a new generation starts at version 1
//! with create = mod; a tombstone ends a live key); the meta bucket's revisions agree with the
//! keyspace; keys' leases exist; each lease is stored under its own ID, once (etcd reads the
//! ID from the value: an entry under another key, or a second entry with the same ID, leaves a
//! lease etcd does not have as stored); members parse and agree with confState.

use super::backend::{Backend, KEY};
use super::lease::read_lease_bucket;
use super::members::read_membership;
use super::meta::read_meta;
use super::revision::{Revision, RevisionKey};
use crate::bolt::check::{Finding, Severity};
use crate::protowire::{fields, Wire};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

fn finding(severity: Severity, page: Option<u64>, offset: Option<u64>, what: impl Into<String>) -> Finding {
    Finding { severity, layer: "etcd", page, offset, what: what.into() }
}

/// A key's state after the entries seen so far.
struct KeyState {
    create: i64,
    version: i64,
    lease: i64,
    live: bool,
}

/// The KeyValue fields a check needs, or why the value does not parse.
struct Kv<'a> {
    key: &'a [u8],
    create: i64,
    modr: i64,
    version: i64,
    lease: i64,
}

fn parse_kv(raw: &[u8]) -> Result<Kv<'_>, String> {
    let mut kv = Kv { key: &[], create: 0, modr: 0, version: 0, lease: 0 };
    for f in fields(raw) {
        match f.map_err(|e| e.to_string())? {
            (1, Wire::Bytes(b)) => kv.key = b,
            (2, Wire::Varint(v)) => kv.create = v as i64,
            (3, Wire::Varint(v)) => kv.modr = v as i64,
            (4, Wire::Varint(v)) => kv.version = v as i64,
            (6, Wire::Varint(v)) => kv.lease = v as i64,
            (5, Wire::Bytes(_)) => {}
            (n @ 1..=6, w) => return Err(format!("field {n} is {}, not of its declared type", w.type_name())),
            _ => {}
        }
    }
    Ok(kv)
}

/// Checks the backend's buckets, adding findings to `out`; returns the number of `key` entries
/// read. Ends early only when `cancel` is cancelled ([`crate::error::Error::Interrupted`]).
pub fn check_buckets(backend: &Backend<'_>, out: &mut Vec<Finding>, cancel: &crate::cancel::Cancel) -> crate::error::Result<u64> {
    let db = &backend.db;
    let meta = match read_meta(backend) {
        Ok(m) => Some(m),
        Err(e) => {
            out.push(Finding::from_error("etcd", &e));
            None
        }
    };
    // The newest revision decides whether a scheduled compaction is one etcd applies; when the
    // bucket's last entry cannot be read, any scheduled compaction is taken (the damage itself
    // is reported by the walk below).
    let newest = match backend.bucket(KEY) {
        Ok(Some(bucket)) => {
            bucket.iter_rev(db).next().and_then(|e| e.ok()).and_then(|e| RevisionKey::parse(e.key()).ok()).map_or(i64::MAX, |rk| rk.revision.main)
        }
        _ => i64::MAX,
    };
    let compact = meta.as_ref().map(|m| m.compact_revision(newest)).unwrap_or(0);
    let mut keys: HashMap<Vec<u8>, KeyState> = HashMap::default();
    let mut last: Option<Revision> = None;
    let mut latest = 0i64;
    let mut entries = 0u64;
    // False when reading the key bucket stopped at damage: its revisions are then incomplete.
    let mut complete = true;
    match backend.bucket(KEY) {
        Ok(Some(bucket)) => {
            for entry in bucket.iter(db) {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        out.push(Finding::from_error("etcd", &e));
                        complete = false;
                        break;
                    }
                };
                entries += 1;
                if entries % 4096 == 0 {
                    cancel.check()?;
                }
                let (page, offset) = (Some(entry.page), Some(entry.element.value_offset));
                let rk = match RevisionKey::parse(entry.key()) {
                    Ok(rk) => rk,
                    Err(e) => {
                        out.push(finding(Severity::Error, page, offset, format!("key bucket: {e}")));
                        continue;
                    }
                };
                let rev = rk.revision;
                if last == Some(rev) {
                    out.push(finding(Severity::Error, page, offset, format!("revision {}/{} is stored both as a put and as a tombstone", rev.main, rev.sub)));
                }
                last = Some(rev);
                latest = latest.max(rev.main);
                if entry.value().is_empty() {
                    continue; // a revision-bump marker
                }
                let kv = match parse_kv(entry.value()) {
                    Ok(kv) => kv,
                    Err(why) => {
                        out.push(finding(Severity::Error, page, offset, format!("revision {}/{}: value is not an mvccpb.KeyValue: {why}", rev.main, rev.sub)));
                        continue;
                    }
                };
                let name = String::from_utf8_lossy(kv.key);
                let at = |what: String| finding(Severity::Error, page, offset, format!("revision {}/{} of {name:?}: {what}", rev.main, rev.sub));
                let state = keys.get(kv.key);
                if rk.tombstone {
                    match state {
                        Some(s) if !s.live => out.push(at("a tombstone of a key already deleted".into())),
                        None if rev.main > compact => out.push(at("a tombstone of a key with no earlier put".into())),
                        _ => {}
                    }
                    keys.insert(kv.key.to_vec(), KeyState { create: 0, version: 0, lease: 0, live: false });
                    continue;
                }
                if kv.modr != rev.main {
                    out.push(at(format!("mod_revision {} is not the entry's revision", kv.modr)));
                }
                if kv.version < 1 || kv.create < 1 || kv.create > rev.main {
                    out.push(at(format!("create_revision {} and version {} are impossible here", kv.create, kv.version)));
                }
                match state {
                    Some(s) if s.live && (kv.version != s.version.saturating_add(1) || kv.create != s.create) => {
                        out.push(at(format!(
                            "version {} and create_revision {} do not follow version {} and create_revision {} of the key's previous revision",
                            kv.version, kv.create, s.version, s.create
                        )));
                    }
                    Some(s) if !s.live && (kv.version != 1 || kv.create != rev.main) => {
                        out.push(at(format!("starts a new generation but has version {} and create_revision {}", kv.version, kv.create)));
                    }
                    Some(_) => {}
                    None if rev.main > compact && (kv.version != 1 || kv.create != rev.main) => {
                        out.push(at(format!(
                            "the key's first retained revision is above the compaction ({compact}) but has version {} and create_revision {}",
                            kv.version, kv.create
                        )));
                    }
                    None => {}
                }
                keys.insert(kv.key.to_vec(), KeyState { create: kv.create, version: kv.version, lease: kv.lease, live: true });
            }
        }
        Ok(None) => out.push(finding(Severity::Warning, None, None, "there is no key bucket")),
        Err(e) => out.push(Finding::from_error("etcd", &e)),
    }

    if let Some(m) = &meta {
        let (s, f) = (m.scheduled_compact_revision, m.finished_compact_revision);
        if let Some(s) = s.filter(|s| *s > latest.max(f.unwrap_or(0)) && entries > 0 && complete) {
            out.push(finding(Severity::Error, None, None, format!("meta/scheduledCompactRev {s} is above the latest revision {latest}: etcd refuses to compact at a future revision (a warning in its log) and keeps the finished compaction ({})", f.unwrap_or(0))));
        }
        if let (Some(s), Some(f)) = (s, f) {
            if f > s {
                out.push(finding(Severity::Warning, None, None, format!("meta/finishedCompactRev {f} is above scheduledCompactRev {s}")));
            }
        }
        if m.consistent_index.is_none() {
            out.push(finding(Severity::Warning, None, None, "meta has no consistent_index: etcd cannot tell which raft entries the db holds"));
        }
        if m.conf_state.is_some() && m.term.is_none() {
            out.push(finding(Severity::Warning, None, None, "meta has confState (etcd 3.5+) but no term"));
        }
    }

    match read_lease_bucket(backend) {
        Ok(bucket) => {
            for n in &bucket.notes {
                out.push(finding(Severity::Error, Some(n.page), Some(n.offset), n.to_string()));
            }
            let ids: HashSet<i64> = bucket.leases.iter().map(|l| l.id).collect();
            let mut missing: HashMap<i64, u64> = HashMap::default();
            for s in keys.values().filter(|s| s.live && s.lease != 0 && !ids.contains(&s.lease)) {
                *missing.entry(s.lease).or_default() += 1;
            }
            let mut missing: Vec<_> = missing.into_iter().collect();
            missing.sort_unstable();
            for (lease, n) in missing {
                out.push(finding(
                    Severity::Warning,
                    None,
                    None,
                    format!("{n} live key(s) are attached to lease {lease:016x}, which the lease bucket does not hold (etcd restores them without a lease)"),
                ));
            }
        }
        Err(e) => out.push(Finding::from_error("etcd", &e)),
    }
    match read_membership(backend) {
        Ok(members) => {
            for d in &members.damaged {
                out.push(finding(Severity::Error, Some(d.page), Some(d.offset), d.to_string()));
            }
            let voters: Vec<u64> = members.members.iter().filter(|m| !m.is_learner).map(|m| m.id).collect();
            if let Some(cs) = meta.as_ref().and_then(|m| m.conf_state.as_ref()) {
                let mut v = cs.voters.clone();
                v.sort_unstable();
                if !members.members.is_empty() && members.damaged.is_empty() && v != voters {
                    out.push(finding(
                        Severity::Info,
                        None,
                        None,
                        format!(
                            "meta/confState voters [{}] differ from the voting members [{}]: stale, as after a restore, until etcd next writes it",
                            v.iter().map(|i| format!("{i:x}")).collect::<Vec<_>>().join(", "),
                            voters.iter().map(|i| format!("{i:x}")).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
        }
        Err(e) => out.push(Finding::from_error("etcd", &e)),
    }
    Ok(entries)
}
