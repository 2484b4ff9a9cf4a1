//! `analyze`: where a keyspace's bytes go. Per Kubernetes resource (or namespace, or key prefix
//! to a depth): live keys and their bytes, every retained revision's bytes, revisions per key,
//! tombstones, lease-bound keys; the keys with the most history; what a compaction at the
//! current revision and a defragmentation would give back, against etcd's quotas; membership
//! and quorum. One pass over the `key` bucket ([`key_totals`]: per-key totals, which the web
//! UI's space view also draws) then the grouping ([`summarize`]); memory grows with the number
//! of keys, not their size.

use crate::bolt::space::measure_cancellable;
use crate::cancel::Cancel;
use crate::error::Result;
use crate::k8s::decoder::Decoder;
use crate::k8s::key::{normalize_prefix, Catalog, Located};
use crate::snapshot::Snapshot;
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

/// etcd's default backend quota (`--quota-backend-bytes` unset) and its recommended maximum.
pub const DEFAULT_QUOTA: u64 = 2 << 30;
pub const MAX_QUOTA: u64 = 8 << 30;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBy {
    Resource,
    Namespace,
    /// The first `depth` `/`-separated segments of the key.
    Prefix(usize),
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub name: String,
    /// Live keys (newest revision a put).
    pub keys: u64,
    /// Key and value bytes of the live keys (what `etcdctl get -w json` returns).
    pub live_bytes: u64,
    /// Every retained revision: count and stored bytes (revision key plus stored KeyValue).
    pub revisions: u64,
    pub history_bytes: u64,
    pub tombstones: u64,
    pub leased_keys: u64,
    /// Bytes a compaction at the current revision would remove from this group.
    pub compactable_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopKey {
    pub key: String,
    pub group: String,
    pub revisions: u64,
    pub history_bytes: u64,
    pub live_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    pub by: String,
    pub revision: i64,
    pub compact_revision: i64,
    pub groups: Vec<Group>,
    pub total: Group,
    pub top: Vec<TopKey>,
    /// Bytes of the file, bytes in use by pages reached from the meta, free pages' bytes.
    pub file_bytes: u64,
    pub in_use_bytes: u64,
    pub free_bytes: u64,
    /// What a defragmentation now would give back (the free pages), and after a compaction at
    /// the current revision (about: the compacted revisions' bytes leave pages free too).
    pub defrag_now_bytes: u64,
    pub compact_then_defrag_bytes: u64,
    pub quota: Vec<QuotaUse>,
    pub members: Quorum,
    /// Entries of `members` and `members_removed` that could not be read: left out of
    /// `members` (a finding, also in `notes`).
    pub member_damage: Vec<crate::etcd::members::MemberDamage>,
    /// Plain sentences: Events and Leases, the biggest group, the quota.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaUse {
    pub quota_bytes: u64,
    pub file_percent: f64,
    pub in_use_percent: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quorum {
    pub members: usize,
    pub voters: usize,
    pub quorum: usize,
    pub tolerates: usize,
}

/// One key's totals over every retained revision: what `analyze` groups and the web UI's
/// space view draws (one way to count). The key is borrowed from the snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyTotals<'a> {
    pub key: &'a [u8],
    /// Retained revisions (puts and tombstones) and their stored bytes (revision key plus
    /// stored KeyValue).
    pub revisions: u64,
    pub history_bytes: u64,
    pub tombstones: u64,
    /// Whether the newest revision is a put; then its key and value bytes, and whether it is
    /// bound to a lease.
    pub live: bool,
    pub live_bytes: u64,
    pub leased: bool,
    /// Stored bytes of the newest revision.
    pub latest_stored: u64,
}

impl KeyTotals<'_> {
    /// Bytes a compaction at the current revision would remove: all but a live key's newest
    /// revision.
    pub fn compactable_bytes(&self) -> u64 {
        self.history_bytes - if self.live { self.latest_stored } else { 0 }
    }

    /// 1 when the key is live (what a group's `keys` counts).
    pub fn live_keys(&self) -> u64 {
        u64::from(self.live)
    }

    /// 1 when the key is live and bound to a lease (what a group's `leasedKeys` counts).
    pub fn leased_keys(&self) -> u64 {
        u64::from(self.live && self.leased)
    }

    fn add(&mut self, stored: u64, tombstone: bool) {
        self.revisions += 1;
        self.history_bytes += stored;
        self.latest_stored = stored;
        if tombstone {
            self.tombstones += 1;
        }
    }
}

/// Every key's totals, in the order the keys first appear in the `key` bucket (revision
/// order): one pass over it. Stops with [`crate::error::Error::Interrupted`] soon after `cancel`
/// is cancelled.
pub fn key_totals<'a>(snap: &Snapshot<'a>, cancel: &Cancel) -> Result<Vec<KeyTotals<'a>>> {
    let store = snap.store();
    let file = snap.file();
    let mut totals: Vec<KeyTotals<'a>> = Vec::new();
    let mut index: HashMap<&'a [u8], usize> = HashMap::default();
    for (i, entry) in store.revisions(None, 0..=i64::MAX).enumerate() {
        if i % 4096 == 0 {
            cancel.check()?;
        }
        let entry = entry?;
        if entry.is_marker() {
            continue;
        }
        let slot = *index.entry(entry.key).or_insert_with(|| {
            totals.push(KeyTotals { key: entry.key, ..Default::default() });
            totals.len() - 1
        });
        let acc = &mut totals[slot];
        acc.add((entry.raw.len() + if entry.tombstone { 18 } else { 17 }) as u64, entry.tombstone);
        if entry.tombstone {
            acc.live = false;
            acc.live_bytes = 0;
            acc.leased = false;
        } else {
            let kv = entry.kv(file)?;
            acc.live = true;
            acc.live_bytes = (kv.key.len() + kv.value.len()) as u64;
            acc.leased = kv.lease != 0;
        }
    }
    Ok(totals)
}

/// A key's group as `--by resource` names it: `pods`, `deployments.apps`, `x/y (unknown
/// resource)`, `(non-object keys)`, `(outside /registry)`.
pub fn resource_group(located: &Located<'_, '_>, prefix: &str) -> String {
    match located {
        Located::Object { info, .. } => info.group_resource(),
        Located::Unknown { resource_path, .. } => format!("{resource_path} (unknown resource)"),
        Located::NotObject(_) => "(non-object keys)".into(),
        Located::Outside => format!("(outside {prefix})"),
    }
}

/// A key's group as `--by namespace` names it.
pub fn namespace_group(located: &Located<'_, '_>, prefix: &str) -> String {
    match located {
        Located::Object { namespace: Some(ns), .. } | Located::Unknown { namespace: Some(ns), .. } => ns.to_string(),
        Located::Object { .. } | Located::Unknown { .. } => "(cluster-scoped)".into(),
        Located::NotObject(_) => "(non-object keys)".into(),
        Located::Outside => format!("(outside {prefix})"),
    }
}

fn group_of(by: &GroupBy, key: &[u8], catalog: &Catalog, prefix: &str) -> String {
    match by {
        GroupBy::Prefix(depth) => {
            let text = String::from_utf8_lossy(key);
            let mut parts = text.split('/');
            let mut out = String::new();
            if text.starts_with('/') {
                parts.next();
            }
            for (i, part) in parts.enumerate() {
                if i == *depth {
                    break;
                }
                out.push('/');
                out.push_str(part);
            }
            if out.is_empty() {
                text.into_owned()
            } else {
                out
            }
        }
        GroupBy::Resource => resource_group(&catalog.locate(key, prefix), prefix),
        GroupBy::Namespace => namespace_group(&catalog.locate(key, prefix), prefix),
    }
}

/// Analyses `snap`, grouping keys `by`, listing the `top` keys by history bytes. Stops with
/// [`crate::error::Error::Interrupted`] soon after `cancel` is cancelled (it is long on
/// multi-GB files).
pub fn analyze(snap: &Snapshot<'_>, decoder: &Decoder, etcd_prefix: &str, by: &GroupBy, top: usize, cancel: &Cancel) -> Result<Analysis> {
    let prefix = normalize_prefix(etcd_prefix);
    let catalog = snap.catalog(decoder, &prefix)?;
    let totals = key_totals(snap, cancel)?;
    summarize(snap, &totals, &catalog, &prefix, by, top, cancel)
}

/// The analysis of keys whose totals [`key_totals`] counted: groups, top keys, space, quota,
/// members, notes. `prefix` is normalized (`/registry`).
pub fn summarize(snap: &Snapshot<'_>, keys: &[KeyTotals<'_>], catalog: &Catalog, prefix: &str, by: &GroupBy, top: usize, cancel: &Cancel) -> Result<Analysis> {
    let store = snap.store();
    let mut groups: HashMap<String, Group> = HashMap::default();
    let mut total = Group { name: "(all)".into(), ..Default::default() };
    // The top keys are chosen by bytes first; their names and groups are written out at the end.
    let mut tops: Vec<(u64, &KeyTotals<'_>)> = Vec::new();
    for (i, acc) in keys.iter().enumerate() {
        if i % 4096 == 0 {
            cancel.check()?;
        }
        let name = group_of(by, acc.key, catalog, prefix);
        let g = groups.entry(name).or_insert_with_key(|name| Group { name: name.clone(), ..Default::default() });
        for t in [g, &mut total] {
            t.keys += acc.live_keys();
            t.live_bytes += acc.live_bytes;
            t.revisions += acc.revisions;
            t.history_bytes += acc.history_bytes;
            t.tombstones += acc.tombstones;
            t.leased_keys += acc.leased_keys();
            t.compactable_bytes += acc.compactable_bytes();
        }
        if top > 0 {
            tops.push((acc.history_bytes, acc));
            if tops.len() > top.saturating_mul(4) {
                tops.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.key.cmp(b.1.key)));
                tops.truncate(top);
            }
        }
    }
    tops.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.key.cmp(b.1.key)));
    tops.truncate(top);
    let tops: Vec<TopKey> = tops
        .into_iter()
        .map(|(_, acc)| TopKey {
            key: String::from_utf8_lossy(acc.key).into_owned(),
            group: group_of(by, acc.key, catalog, prefix),
            revisions: acc.revisions,
            history_bytes: acc.history_bytes,
            live_bytes: acc.live_bytes,
        })
        .collect();
    let mut groups: Vec<Group> = groups.into_values().collect();
    groups.sort_by(|a, b| b.history_bytes.cmp(&a.history_bytes).then_with(|| a.name.cmp(&b.name)));

    let space = measure_cancellable(snap.db(), cancel)?;
    let file_bytes = snap.db().size();
    let free_bytes = space.free_pages * space.page_size;
    let in_use_bytes = file_bytes.saturating_sub(free_bytes);
    let quota = [DEFAULT_QUOTA, MAX_QUOTA]
        .iter()
        .map(|&q| QuotaUse { quota_bytes: q, file_percent: 100.0 * file_bytes as f64 / q as f64, in_use_percent: 100.0 * in_use_bytes as f64 / q as f64 })
        .collect();
    let membership = snap.membership()?;
    let voters = membership.members.iter().filter(|m| !m.is_learner).count();
    let quorum = voters / 2 + 1;
    let members = Quorum { members: membership.members.len(), voters, quorum, tolerates: voters.saturating_sub(quorum) };

    let mut notes = Vec::new();
    let pct = |part: u64, whole: u64| if whole == 0 { 0.0 } else { 100.0 * part as f64 / whole as f64 };
    for (name, what) in [("events", "Events"), ("leases.coordination.k8s.io", "Leases (node heartbeats, leader election)")] {
        if let Some(g) = groups.iter().find(|g| g.name == name) {
            notes.push(format!(
                "{what}: {} keys, {:.1}% of the history bytes and {:.1}% of the revisions ({:.1} revisions a key)",
                g.keys,
                pct(g.history_bytes, total.history_bytes),
                pct(g.revisions, total.revisions),
                if g.keys + g.tombstones > 0 { g.revisions as f64 / (g.keys.max(1)) as f64 } else { 0.0 }
            ));
        }
    }
    if let Some(g) = groups.first() {
        notes.push(format!("the largest group is {} with {:.1}% of the history bytes", g.name, pct(g.history_bytes, total.history_bytes)));
    }
    for d in &membership.damaged {
        notes.push(format!("a member entry could not be read (whether it votes is unknown): {d}"));
    }
    if file_bytes > DEFAULT_QUOTA * 8 / 10 {
        notes.push(format!(
            "the file is {:.0}% of etcd's default 2 GiB quota: raise --quota-backend-bytes (8 GiB at most is recommended) or compact and defragment",
            pct(file_bytes, DEFAULT_QUOTA)
        ));
    }
    Ok(Analysis {
        by: match by {
            GroupBy::Resource => "resource".into(),
            GroupBy::Namespace => "namespace".into(),
            GroupBy::Prefix(d) => format!("prefix:{d}"),
        },
        revision: store.current_revision(),
        compact_revision: store.compact_revision(),
        defrag_now_bytes: free_bytes,
        compact_then_defrag_bytes: free_bytes + total.compactable_bytes,
        groups,
        total,
        top: tops,
        file_bytes,
        in_use_bytes,
        free_bytes,
        quota,
        members,
        member_damage: membership.damaged,
        notes,
    })
}
