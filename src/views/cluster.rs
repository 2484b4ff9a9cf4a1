//! Which cluster an input belongs to, and the warnings of views that read two or more inputs
//! (`diff`, `compare`): inputs of different clusters are most often a mistake (the wrong backup,
//! another environment's data dir), so the CLI refuses them unless told otherwise.
//!
//! The cluster ID is the one `status` shows and etcdctl reports in every response header:
//! derived from the member IDs of the input's `members` bucket.

use crate::snapshot::Snapshot;

/// The cluster an input belongs to; None when its membership cannot be read or lists no
/// member (then nothing is claimed about it).
pub fn cluster_id(snap: &Snapshot<'_>) -> Option<u64> {
    let membership = snap.membership().ok()?;
    if membership.member_ids().is_empty() {
        return None;
    }
    Some(membership.cluster_id())
}

/// A sentence naming inputs that belong to different clusters (each input with its cluster ID
/// in etcdctl's hex), or None when all known IDs agree. Inputs whose ID is unknown are left out.
pub fn different_clusters(inputs: &[(&str, Option<u64>)]) -> Option<String> {
    let known: Vec<(&str, u64)> = inputs.iter().filter_map(|(name, id)| id.map(|id| (*name, id))).collect();
    let first = known.first()?.1;
    if known.iter().all(|(_, id)| *id == first) {
        return None;
    }
    let named: Vec<String> = known.iter().map(|(name, id)| format!("{name} (cluster {id:x})")).collect();
    Some(format!("the inputs belong to different clusters: {}", named.join(", ")))
}
