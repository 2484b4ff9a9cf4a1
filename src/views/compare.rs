//! `compare`: several members' data dirs or snapshots side by side. Per member: the revision,
//! the compaction, the consistent index and term (how far it applied the raft log), and the
//! member it is; which are ahead or behind; and whether their keyspaces agree at the newest
//! revision they all hold: `endpoint hashkv` at that revision (all hashed as if compacted at the
//! latest compaction among them), then per-range hashes and a walk to the first key where one
//! differs from the first member.

use crate::cancel::Cancel;
use crate::error::Result;
use crate::etcd::hashkv::hash_kv_compacted_at;
use crate::etcd::KeyRange;
use crate::snapshot::Snapshot;
use crate::source::Source;
use serde::Serialize;

/// Keys per range in the per-range hashes.
pub const RANGE_KEYS: usize = 1024;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberState {
    pub input: String,
    /// The member this data dir belongs to (from its WAL), when known.
    #[serde(rename = "member_id", skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
    #[serde(rename = "cluster_id")]
    pub cluster_id: String,
    pub revision: i64,
    pub compact_revision: i64,
    pub consistent_index: Option<u64>,
    pub term: Option<u64>,
    pub keys: u64,
    /// `endpoint hashkv` at the common revision.
    pub hash_kv: u32,
    /// Raft entries and revisions behind the most advanced member (0 for it).
    pub behind_entries: u64,
    pub behind_revisions: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Divergence {
    /// Which member (index into `members`) differs from the first.
    pub member: usize,
    /// Ranges (of the first member's keys) whose hashes differ, of all ranges compared.
    pub ranges_differing: u64,
    pub ranges: u64,
    /// The first range that differs: its first key and the key after its end (None: the end).
    pub first_range_start: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_range_end: Option<String>,
    /// The first key whose state at the common revision differs, and how.
    pub first_key: String,
    pub first: KeyAt,
    pub other: KeyAt,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyAt {
    pub present: bool,
    #[serde(rename = "mod_revision")]
    pub mod_revision: i64,
    #[serde(rename = "create_revision")]
    pub create_revision: i64,
    pub version: i64,
    pub value_size: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    pub members: Vec<MemberState>,
    /// The newest revision every member holds (and none has compacted away): where keyspaces
    /// are compared.
    pub common_revision: i64,
    /// False when some member has compacted beyond another's revision: nothing to compare.
    pub comparable: bool,
    pub agree: bool,
    pub divergences: Vec<Divergence>,
    /// What to know before trusting the comparison (members of different clusters).
    pub warnings: Vec<String>,
}

/// The member ID a data dir's WAL names (its first metadata record), if the input is a data or
/// member dir with a readable WAL.
fn member_of(input: &std::path::Path) -> Option<u64> {
    crate::wal::wal_ids(input).ok().flatten().map(|(member, _)| member)
}

/// One key's state, compared by what etcd serves: revisions, version, lease and value (the
/// value borrowed from the mapped file).
type State<'a> = (i64, i64, i64, i64, &'a [u8]);

fn state<'a>(kv: &crate::etcd::mvcc::KeyValueRef<'a>) -> State<'a> {
    (kv.create_revision, kv.mod_revision, kv.version, kv.lease, kv.value)
}

/// Compares the members read from `sources` (the first is the reference); stops at the next key
/// once `cancel` is cancelled.
pub fn compare(sources: &[Source], cancel: &Cancel) -> Result<Comparison> {
    let snaps: Vec<Snapshot<'_>> = sources.iter().map(Snapshot::open).collect::<Result<_>>()?;
    let common = snaps.iter().map(|s| s.store().current_revision()).min().unwrap_or(0);
    // Members compacted at different revisions are hashed as if all were compacted at the
    // latest of them, so a difference in compaction alone is not a difference.
    let compact = snaps.iter().map(|s| s.store().compact_revision()).max().unwrap_or(0);
    let comparable = compact < common;
    let top_index = snaps.iter().filter_map(|s| s.store().meta.consistent_index).max().unwrap_or(0);
    let top_rev = snaps.iter().map(|s| s.store().current_revision()).max().unwrap_or(0);
    let mut members = Vec::new();
    for (snap, source) in snaps.iter().zip(sources) {
        let store = snap.store();
        let hash = if comparable { hash_kv_compacted_at(store, common, compact, cancel)?.hash } else { 0 };
        cancel.check()?;
        let is_dir = source.input.is_dir();
        members.push(MemberState {
            input: source.input.display().to_string(),
            member_id: if is_dir { member_of(&source.input).map(|id| format!("{id:x}")) } else { None },
            cluster_id: format!("{:x}", snap.membership()?.cluster_id()),
            revision: store.current_revision(),
            compact_revision: store.compact_revision(),
            consistent_index: store.meta.consistent_index,
            term: store.meta.term,
            keys: store.range(&KeyRange::all(), store.current_revision())?.len() as u64,
            hash_kv: hash,
            behind_entries: top_index.saturating_sub(store.meta.consistent_index.unwrap_or(0)),
            behind_revisions: top_rev - store.current_revision(),
        });
    }
    let mut divergences = Vec::new();
    if comparable {
        // Built only when a hash differs: keys and borrowed values, so memory grows with the
        // number of keys, not with their size.
        let mut reference: Option<Keyspace<'_>> = None;
        for (i, snap) in snaps.iter().enumerate().skip(1) {
            if members[i].hash_kv == members[0].hash_kv {
                continue;
            }
            if reference.is_none() {
                reference = Some(keyspace(&snaps[0], common, cancel)?);
            }
            let reference = reference.as_ref().expect("built above");
            let other = keyspace(snap, common, cancel)?;
            if let Some(d) = divergence(i, reference, &other, cancel)? {
                divergences.push(d);
            }
        }
    }
    let agree = comparable && members.iter().all(|m| m.hash_kv == members[0].hash_kv) && divergences.is_empty();
    let ids: Vec<(&str, Option<u64>)> = members.iter().zip(&snaps).map(|(m, snap)| (m.input.as_str(), crate::views::cluster::cluster_id(snap))).collect();
    let warnings = crate::views::cluster::different_clusters(&ids).into_iter().collect();
    Ok(Comparison { members, common_revision: common, comparable, agree, divergences, warnings })
}

type Keyspace<'a> = Vec<(&'a [u8], State<'a>)>;

fn keyspace<'a>(snap: &Snapshot<'a>, rev: i64, cancel: &Cancel) -> Result<Keyspace<'a>> {
    let file = snap.file();
    snap.store()
        .range(&KeyRange::all(), rev)?
        .iter()
        .map(|e| {
            cancel.check()?;
            e.kv(file).map(|kv| (kv.key, state(&kv)))
        })
        .collect()
}

fn key_at(s: Option<&State<'_>>) -> KeyAt {
    match s {
        Some((c, m, v, _, val)) => KeyAt { present: true, create_revision: *c, mod_revision: *m, version: *v, value_size: val.len() },
        None => KeyAt { present: false, mod_revision: 0, create_revision: 0, version: 0, value_size: 0 },
    }
}

/// Per-range hashes over the reference's keys, then the first differing key.
fn divergence(member: usize, a: &Keyspace<'_>, b: &Keyspace<'_>, cancel: &Cancel) -> Result<Option<Divergence>> {
    let hash_range = |ks: &Keyspace<'_>, lo: &[u8], hi: Option<&[u8]>| {
        let mut crc = 0u32;
        // Both keyspaces are sorted: the range is a slice found by binary search.
        let from = ks.partition_point(|(k, _)| *k < lo);
        let to = hi.map_or(ks.len(), |hi| ks.partition_point(|(k, _)| *k < hi));
        for (k, (c, m, v, l, val)) in &ks[from..to.max(from)] {
            crc = crc32c::crc32c_append(crc, k);
            for n in [c, m, v, l] {
                crc = crc32c::crc32c_append(crc, &n.to_le_bytes());
            }
            crc = crc32c::crc32c_append(crc, val);
        }
        crc
    };
    let starts: Vec<&[u8]> = std::iter::once(&[][..]).chain(a.iter().step_by(RANGE_KEYS).skip(1).map(|(k, _)| *k)).collect();
    let mut differing = 0u64;
    let mut first: Option<(Vec<u8>, Option<Vec<u8>>)> = None;
    for (i, lo) in starts.iter().enumerate() {
        cancel.check()?;
        let hi = starts.get(i + 1).copied();
        if hash_range(a, lo, hi) != hash_range(b, lo, hi) {
            differing += 1;
            first.get_or_insert_with(|| (lo.to_vec(), hi.map(<[u8]>::to_vec)));
        }
    }
    let Some((start, end)) = first else { return Ok(None) };
    // The first key, in key order, whose state differs.
    let (mut i, mut j) = (0, 0);
    loop {
        cancel.check()?;
        let (ka, kb) = (a.get(i), b.get(j));
        let (key, sa, sb) = match (ka, kb) {
            (None, None) => return Ok(None),
            (Some((k, s)), None) => (k, Some(s), None),
            (None, Some((k, s))) => (k, None, Some(s)),
            (Some((k1, s1)), Some((k2, s2))) => match k1.cmp(k2) {
                std::cmp::Ordering::Less => (k1, Some(s1), None),
                std::cmp::Ordering::Greater => (k2, None, Some(s2)),
                std::cmp::Ordering::Equal if s1 == s2 => {
                    i += 1;
                    j += 1;
                    continue;
                }
                std::cmp::Ordering::Equal => (k1, Some(s1), Some(s2)),
            },
        };
        return Ok(Some(Divergence {
            member,
            ranges_differing: differing,
            ranges: starts.len() as u64,
            first_range_start: String::from_utf8_lossy(&start).into_owned(),
            first_range_end: end.map(|e| String::from_utf8_lossy(&e).into_owned()),
            first_key: String::from_utf8_lossy(key).into_owned(),
            first: key_at(sa),
            other: key_at(sb),
        }));
    }
}
