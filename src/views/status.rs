//! `status`: everything `etcdutl snapshot status` reports, with etcdutl's field names and values,
//! and what it doesn't: trailer, raft position, compaction, MVCC counts, members and quorum,
//! space per bucket and roughly what a defragmentation would give back.

use crate::bolt::space::Space;
use crate::error::Result;
use crate::etcd::backend::describe_bucket;
use crate::etcd::hash::space_hash_and_counts;
use crate::etcd::members::{Member, MemberDamage};
use crate::snapshot::Snapshot;
use crate::source::{InputKind, Trailer};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    // etcdutl snapshot status fields: same names, same values.
    pub hash: u32,
    pub revision: i64,
    pub total_key: u64,
    pub total_size: u64,
    pub version: String,

    pub input: String,
    pub input_kind: InputKind,
    pub db_path: String,
    #[serde(flatten)]
    pub trailer: Trailer,
    pub active_meta: ActiveMeta,

    pub consistent_index: Option<u64>,
    pub term: Option<u64>,
    pub current_revision: i64,
    pub compact_revision: i64,
    pub scheduled_compact_revision: Option<i64>,
    pub finished_compact_revision: Option<i64>,
    pub live_keys: u64,
    pub revisions: u64,
    pub tombstones: u64,
    pub leases: u64,

    #[serde(rename = "cluster_id", serialize_with = "super::ids::hex")]
    pub cluster_id: u64,
    pub members: Vec<Member>,
    #[serde(serialize_with = "super::ids::hex_list")]
    pub removed_members: Vec<u64>,
    /// Entries of `members` and `members_removed` that could not be read (a finding: the rest
    /// of the status is read without them; a damaged member counts by the ID its key names).
    pub member_damage: Vec<MemberDamage>,
    /// Majority of voting members (learners do not vote); 0 when no members are recorded. Over
    /// the members read: with `memberDamage`, a member whose vote is unknown is left out.
    pub quorum: u64,
    pub fault_tolerance: u64,
    #[serde(serialize_with = "super::ids::hex_list_opt")]
    pub conf_state_voters: Option<Vec<u64>>,
    pub cluster_version: Option<String>,
    pub storage_version: Option<String>,

    pub page_size: u64,
    pub file_size: u64,
    pub high_water_mark: u64,
    pub in_use_bytes: u64,
    pub free_bytes: u64,
    pub free_pages: u64,
    pub freelist_persisted: bool,
    pub buckets: Vec<BucketRow>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveMeta {
    pub page: u64,
    pub txid: u64,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketRow {
    pub name: String,
    pub description: &'static str,
    pub keys: u64,
    pub branch_pages: u64,
    pub leaf_pages: u64,
    pub overflow_pages: u64,
    pub inline: bool,
    pub allocated_bytes: u64,
    pub used_bytes: u64,
}

impl Status {
    /// Whether the status found damage it read around, or a trailer that does not match: the
    /// command's exit 1.
    pub fn has_findings(&self) -> bool {
        self.trailer.is_mismatch() || matches!(self.trailer, Trailer::Partial { .. }) || !self.member_damage.is_empty()
    }
}

pub fn status(snap: &Snapshot<'_>) -> Result<Status> {
    // The trailer check hashes the whole file and shares nothing with the rest: give it a core.
    let source = snap.source();
    std::thread::scope(|scope| {
        let trailer = scope.spawn(|| source.verify_trailer());
        let mut status = build(snap)?;
        let trailer = trailer.join().expect("the trailer check does not panic");
        if let Trailer::Mismatch { stored, computed } = &trailer {
            status.warnings.insert(
                0,
                format!(
                    "sha256 trailer mismatch: stored {}, computed {}; the file was changed after `snapshot save`",
                    crate::source::hex(stored),
                    crate::source::hex(computed)
                ),
            );
        }
        status.trailer = trailer;
        Ok(status)
    })
}

/// Everything but the trailer verdict.
fn build(snap: &Snapshot<'_>) -> Result<Status> {
    let source = snap.source();
    let choice = snap.db().meta_choice().clone();
    let backend = snap.backend();
    let store = snap.store();
    // One walk of the pages for the space accounting, the hash and the counts (the `key`
    // bucket on both cores).
    let (space, hash, counts): (Space, _, _) = space_hash_and_counts(backend)?;
    let membership = snap.membership()?;
    let leases = snap.leases()?;

    let voters: Vec<&Member> = membership.members.iter().filter(|m| !m.is_learner).collect();
    let n = voters.len() as u64;
    let quorum = if n == 0 { 0 } else { n / 2 + 1 };
    let meta = &store.meta;

    let mut warnings: Vec<String> = membership.damaged.iter().map(|d| d.to_string()).collect();
    if let (Some(cs), true) = (&meta.conf_state, membership.damaged.is_empty()) {
        let mut member_ids: Vec<u64> = voters.iter().map(|m| m.id).collect();
        member_ids.sort_unstable();
        let mut cs_voters = cs.voters.clone();
        cs_voters.sort_unstable();
        if !membership.members.is_empty() && cs_voters != member_ids {
            warnings.push(format!(
                "meta/confState voters [{}] disagree with the voting members [{}]: confState is stale (as after a restore, until etcd rewrites it)",
                hex_list(&cs_voters),
                hex_list(&member_ids)
            ));
        }
    }
    if let (Some(s), f) = (meta.scheduled_compact_revision, meta.finished_compact_revision) {
        if f.map_or(true, |f| s > f) {
            warnings.push(format!("compaction to revision {s} was scheduled but not finished; etcd resumes it at startup"));
        }
    }
    // `snapshot restore` writes consistent_index = number of members. etcd 3.4's restore (no
    // `term` key in its schema) puts the new membership only in member/snap/*.snap and the WAL,
    // leaving the source cluster's members in this bucket.
    if meta.term.is_none() && meta.consistent_index == Some(membership.members.len() as u64) && !membership.members.is_empty() {
        warnings.push(format!(
            "consistent index {} equals the member count: this db looks freshly restored; an etcd 3.4 restore leaves the \
             source cluster's members here (the new membership is in member/snap/*.snap and the WAL)",
            membership.members.len()
        ));
    }
    if !meta.other_keys.is_empty() {
        warnings.push(format!("meta bucket keys not interpreted: {}", meta.other_keys.join(", ")));
    }

    let buckets = space
        .buckets
        .iter()
        .map(|b| BucketRow {
            name: String::from_utf8_lossy(&b.name).into_owned(),
            description: describe_bucket(&b.name),
            keys: b.stats.keys,
            branch_pages: b.stats.branch_pages,
            leaf_pages: b.stats.leaf_pages,
            overflow_pages: b.stats.overflow_pages,
            inline: b.stats.inline,
            allocated_bytes: b.stats.allocated_bytes,
            used_bytes: b.stats.used_bytes,
        })
        .collect();

    Ok(Status {
        hash: hash.hash,
        revision: hash.revision,
        total_key: hash.total_key,
        total_size: backend.db.size(),
        version: meta.storage_version.clone().unwrap_or_default(),
        input: source.input.display().to_string(),
        input_kind: source.kind,
        db_path: source.db_path.display().to_string(),
        trailer: Trailer::Missing,
        active_meta: ActiveMeta { page: choice.slots[choice.active].page, txid: choice.active_meta().txid, reason: choice.reason() },
        consistent_index: meta.consistent_index,
        term: meta.term,
        current_revision: store.current_revision(),
        compact_revision: store.compact_revision(),
        scheduled_compact_revision: meta.scheduled_compact_revision,
        finished_compact_revision: meta.finished_compact_revision,
        live_keys: counts.live_keys,
        revisions: counts.revisions,
        tombstones: counts.tombstones,
        leases: leases.len() as u64,
        cluster_id: membership.cluster_id(),
        quorum,
        fault_tolerance: n.saturating_sub(quorum),
        conf_state_voters: meta.conf_state.as_ref().map(|cs| cs.voters.clone()),
        cluster_version: membership.cluster_version.clone(),
        storage_version: meta.schema_version(),
        members: membership.members,
        removed_members: membership.removed,
        member_damage: membership.damaged,
        page_size: space.page_size,
        file_size: source.file_size(),
        high_water_mark: space.high_water_mark,
        in_use_bytes: space.in_use_bytes(),
        free_bytes: space.free_bytes(),
        free_pages: space.free_pages,
        freelist_persisted: space.freelist_persisted,
        buckets,
        warnings,
    })
}

fn hex_list(ids: &[u64]) -> String {
    ids.iter().map(|i| format!("{i:x}")).collect::<Vec<_>>().join(" ")
}
