//! `replay`: chosen keys of a snapshot written back into a live cluster, each in its own
//! transaction guarded so nothing live is clobbered: a put that succeeds only while the key is
//! still absent (create revision 0), or, when overwriting is asked for, only while its mod
//! revision is still the one read when the key was planned. Values are written as stored (a
//! Kubernetes object keeps its bytes; the API server sets resourceVersion from the revision).
//!
//! A key's lease is kept when the live cluster still has that lease; otherwise the key is written
//! without one, and its line says so.
//!
//! What was written to a live cluster must never go unrecorded: each key's line is handed to the
//! caller as soon as its write is answered, before the next key is read or written, and an error
//! from the caller (its record could not be written) stops the replay there.

use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::etcd::pb::etcdserverpb::{compare, request_op, Compare, PutRequest, RangeRequest, RequestOp, TxnRequest};
use crate::etcd::KeyRange;
use crate::k8s::decoder::Decoder;
use crate::k8s::key::{normalize_prefix, Namespace};
use crate::live::LiveEtcd;
use crate::snapshot::Snapshot;
use crate::views::record::KeyFields;
use base64::Engine;
use rustc_hash::FxHashSet as HashSet;
use serde::Serialize;

/// Which keys of the snapshot to replay.
#[derive(Debug, Clone)]
pub enum Selection {
    /// One key, or every key under a prefix (`""` with `prefix`: all keys).
    Key { key: Vec<u8>, prefix: bool },
    /// Kubernetes objects of a type (`deploy`, `pods`, `widgets.example.com`), one by name or all
    /// in a namespace or in all namespaces.
    Objects { type_name: String, name: Option<String>, namespace: Namespace },
    /// Exact keys (from a diff's class).
    Keys(Vec<Vec<u8>>),
}

#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub selection: Selection,
    /// Read the snapshot at this revision (0 = current).
    pub revision: i64,
    pub etcd_prefix: String,
    /// Read the live cluster and say what would be written, but write nothing.
    pub dry_run: bool,
    /// Overwrite a key that exists, but only while its mod revision is the one planned with.
    pub overwrite_if_unchanged: bool,
    /// Cancelled to stop: no key is read or written after it, and the replay ends with
    /// [`Error::Interrupted`] (the keys already written have had their lines).
    pub cancel: Cancel,
}

/// What happened to one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Written,
    Overwritten,
    WouldWrite,
    WouldOverwrite,
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayLine {
    /// `key` (base64, exact) and `keyText`, as every record writes a key.
    #[serde(flatten)]
    pub key: KeyFields,
    pub outcome: Outcome,
    /// Why a key was skipped, or what else is worth knowing (a lease not attached).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The key's mod revision in the snapshot (None: not in the snapshot at the read revision).
    pub source_mod_revision: Option<i64>,
    /// The key's mod revision in the live cluster when planned (None: absent).
    pub live_mod_revision: Option<i64>,
    /// The live revision the write took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    pub value_size: usize,
    /// The lease the key was written with (hex), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplaySummary {
    pub endpoint: String,
    pub source_revision: i64,
    pub selected: u64,
    pub written: u64,
    pub overwritten: u64,
    pub would_write: u64,
    pub skipped: u64,
    pub dry_run: bool,
    /// The live member's revision when the replay began.
    pub target_revision: i64,
    /// What the operator should know before trusting the result (the target behind the source).
    pub warnings: Vec<String>,
}

/// `replay -o jsonl`'s last line: `{"summary": …}`.
#[derive(Debug, Clone, Serialize)]
pub struct ReplaySummaryLine<'a> {
    pub summary: &'a ReplaySummary,
}

/// The warning when the live cluster's revision is below the snapshot's: it was restored from
/// a backup without a revision bump, so revisions went back — watchers and caches (Kubernetes
/// informers) that saw the later revisions may miss the writes made now, including this
/// replay's.
pub fn target_behind(source_revision: i64, target_revision: i64) -> Option<String> {
    (target_revision < source_revision).then(|| {
        format!(
            "the live cluster is at revision {target_revision}, below the snapshot's {source_revision}: it was restored without a revision bump, so \
             watchers and caches (Kubernetes informers) that saw later revisions may miss its writes, this replay's included; restore it with \
             `etcdscope rebuild BACKUP --out DIR --bump-revision N --mark-compacted`, N at least {}",
            source_revision.saturating_sub(target_revision)
        )
    })
}

/// The keys of one class (`lost`, `reappear`, `revert`, `rewritten`) of a `diff -o json`
/// document: each entry's `key`, base64 as etcdctl writes keys. A document from before the JSON
/// renames had the text there and the base64 in `key_base64`, which is read when present.
pub fn keys_from_diff(diff: &serde_json::Value, class: &str) -> Result<Vec<Vec<u8>>> {
    let entries = diff
        .get(class)
        .and_then(|v| v.as_array())
        .ok_or_else(|| Error::Usage(format!("the diff document has no {class:?} list (is it `etcdscope diff -o json` output?)")))?;
    entries
        .iter()
        .map(|e| {
            let (field, b64) = match (e.get("key_base64"), e.get("key")) {
                (Some(old), _) => ("key_base64", old.as_str()),
                (None, key) => ("key", key.and_then(|k| k.as_str())),
            };
            let b64 = b64.ok_or_else(|| Error::Usage(format!("a {class} entry without a base64 {field}")))?;
            base64::engine::general_purpose::STANDARD.decode(b64).map_err(|err| Error::Usage(format!("a {class} entry's {field} (base64): {err}")))
        })
        .collect()
}

fn line(key: &[u8], outcome: Outcome) -> ReplayLine {
    ReplayLine {
        key: KeyFields(key.to_vec()),
        outcome,
        reason: None,
        source_mod_revision: None,
        live_mod_revision: None,
        revision: None,
        value_size: 0,
        lease: None,
    }
}

fn guard(key: &[u8], target: compare::CompareTarget, union: compare::TargetUnion) -> Compare {
    Compare { result: compare::CompareResult::Equal as i32, target: target as i32, key: key.to_vec(), target_union: Some(union), range_end: Vec::new() }
}

/// Replays the selected keys of `snap` into `live`, one line per key to `visit`, in key order.
/// `visit` is called right after each key's write is answered (or the key is skipped), before
/// anything is done about the next key; when it fails, the replay stops with its error, so a
/// caller that cannot record a write stops the writes.
pub fn replay(
    snap: &Snapshot<'_>,
    decoder: &Decoder,
    live: &mut LiveEtcd,
    options: &ReplayOptions,
    visit: &mut dyn FnMut(ReplayLine) -> Result<()>,
) -> Result<ReplaySummary> {
    let store = snap.store();
    let rev = store.read_revision(options.revision)?;
    let file = snap.file();
    let mut summary = ReplaySummary { endpoint: live.endpoint.clone(), source_revision: rev, dry_run: options.dry_run, ..Default::default() };
    summary.target_revision = live.revision()?;
    summary.warnings.extend(target_behind(store.current_revision(), summary.target_revision));
    let (range, wanted) = match &options.selection {
        Selection::Key { key, prefix: true } if key.is_empty() => (KeyRange::all(), None),
        Selection::Key { key, prefix: true } => (KeyRange::prefix(key), None),
        Selection::Key { key, prefix: false } => (KeyRange::single(key), None),
        Selection::Objects { type_name, name, namespace } => {
            let prefix = normalize_prefix(&options.etcd_prefix);
            let catalog = snap.catalog(decoder, &prefix)?;
            (catalog.object_range(&prefix, type_name, name.as_deref(), namespace)?.1, None)
        }
        Selection::Keys(keys) => (KeyRange::all(), Some(keys.iter().map(Vec::as_slice).collect::<HashSet<&[u8]>>())),
    };
    let mut entries = store.range_until(&range, rev, &options.cancel)?;
    if let Some(wanted) = &wanted {
        entries.retain(|e| wanted.contains(e.key));
        // Keys asked for that the snapshot does not hold at the revision: said, not guessed.
        let found: HashSet<&[u8]> = entries.iter().map(|e| e.key).collect();
        let mut missing: Vec<&[u8]> = wanted.iter().copied().filter(|k| !found.contains(k)).collect();
        missing.sort_unstable();
        for key in missing {
            summary.selected += 1;
            summary.skipped += 1;
            let mut l = line(key, Outcome::Skipped);
            l.reason = Some(format!("not in the snapshot at revision {rev}"));
            visit(l)?;
        }
    }
    for entry in entries {
        options.cancel.check()?;
        let kv = entry.kv(file)?;
        summary.selected += 1;
        let mut l = line(kv.key, Outcome::Skipped);
        l.source_mod_revision = Some(kv.mod_revision);
        l.value_size = kv.value.len();
        let current = live.get(kv.key)?;
        let existing = current.kvs.first();
        l.live_mod_revision = existing.map(|e| e.mod_revision);
        let guard = match existing {
            None => guard(kv.key, compare::CompareTarget::Create, compare::TargetUnion::CreateRevision(0)),
            Some(e) if options.overwrite_if_unchanged => guard(kv.key, compare::CompareTarget::Mod, compare::TargetUnion::ModRevision(e.mod_revision)),
            Some(e) => {
                let same = if e.value == kv.value { " with the same value" } else { "" };
                l.reason =
                    Some(format!("exists in the live cluster{same} (mod revision {}); never overwritten without --overwrite-if-unchanged", e.mod_revision));
                summary.skipped += 1;
                visit(l)?;
                continue;
            }
        };
        let mut lease = 0;
        if kv.lease != 0 {
            if live.lease_ttl(kv.lease)?.is_some() {
                lease = kv.lease;
                l.lease = Some(format!("{:016x}", kv.lease));
            } else {
                l.reason = Some(format!("lease {:016x} is not in the live cluster: written without a lease (it will not expire)", kv.lease));
            }
        }
        let overwrite = existing.is_some();
        if options.dry_run {
            l.outcome = if overwrite { Outcome::WouldOverwrite } else { Outcome::WouldWrite };
            summary.would_write += 1;
            visit(l)?;
            continue;
        }
        let put = PutRequest { key: kv.key.to_vec(), value: kv.value.to_vec(), lease, ..Default::default() };
        let txn = TxnRequest {
            compare: vec![guard],
            success: vec![RequestOp { request: Some(request_op::Request::RequestPut(put)) }],
            failure: vec![RequestOp { request: Some(request_op::Request::RequestRange(RangeRequest { key: kv.key.to_vec(), ..Default::default() })) }],
        };
        let answer = live.txn(txn)?;
        if answer.succeeded {
            l.outcome = if overwrite { Outcome::Overwritten } else { Outcome::Written };
            l.revision = answer.header.map(|h| h.revision);
            if overwrite {
                summary.overwritten += 1;
            } else {
                summary.written += 1;
            }
        } else {
            let now = answer.responses.first().and_then(|r| match &r.response {
                Some(crate::etcd::pb::etcdserverpb::response_op::Response::ResponseRange(rr)) => rr.kvs.first().map(|k| k.mod_revision),
                _ => None,
            });
            l.reason = Some(match (overwrite, now) {
                (false, Some(m)) => format!("created in the live cluster after it was planned (mod revision {m}); left as it is"),
                (true, Some(m)) => format!("changed in the live cluster after it was planned (mod revision {m}); left as it is"),
                (true, None) => "deleted in the live cluster after it was planned; not recreated".into(),
                (false, None) => "the guard failed and the key is absent again; not retried".into(),
            });
            l.lease = None;
            summary.skipped += 1;
        }
        visit(l)?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our fields are lowerCamelCase; `key`, `revision` and `lease` are etcd's (issue 18:
    /// `key_base64` and `value_size` were the exceptions); the key is written as every record
    /// writes one, `key` base64 and `keyText` beside it.
    #[test]
    fn json_field_names_follow_the_convention() {
        let line = ReplayLine {
            key: KeyFields(b"/k\xff".to_vec()),
            outcome: Outcome::WouldWrite,
            reason: Some("r".into()),
            source_mod_revision: Some(3),
            live_mod_revision: None,
            revision: Some(9),
            value_size: 1,
            lease: Some("7".into()),
        };
        let keys = |v: serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        let json = serde_json::to_value(&line).unwrap();
        assert_eq!((json["key"].as_str(), json["keyText"].as_str()), (Some("L2v/"), Some("/k\u{fffd}")));
        assert_eq!(keys(json), ["key", "keyText", "outcome", "reason", "sourceModRevision", "liveModRevision", "revision", "valueSize", "lease"]);
        let summary = ReplaySummary::default();
        assert_eq!(
            keys(serde_json::to_value(ReplaySummaryLine { summary: &summary }).unwrap()["summary"].take()),
            ["endpoint", "sourceRevision", "selected", "written", "overwritten", "wouldWrite", "skipped", "dryRun", "targetRevision", "warnings"]
        );
    }

    /// A diff document writes a key as `key` (base64) under the convention; one saved before
    /// used `key_base64`. Both are read; neither, or a `key` that is not base64, is an error
    /// naming the field.
    #[test]
    fn keys_from_diff_reads_both_key_names() {
        let doc = serde_json::json!({"lost": [{"key": "L2E=", "keyText": "/a"}, {"key_base64": "L2I="}]});
        assert_eq!(keys_from_diff(&doc, "lost").unwrap(), [b"/a".to_vec(), b"/b".to_vec()]);
        let err = keys_from_diff(&serde_json::json!({"lost": [{"keyText": "/c"}]}), "lost").unwrap_err();
        assert!(err.to_string().contains("base64 key"), "{err}");
        let err = keys_from_diff(&serde_json::json!({"lost": [{"key": "/c"}]}), "lost").unwrap_err();
        assert!(err.to_string().contains("key (base64)"), "{err}");
    }

    /// The live revision comes from the network: any value gives a message, never an overflow,
    /// and the advised command is one `rebuild` accepts (it needs --out).
    #[test]
    fn target_behind_takes_any_revision() {
        let w = target_behind(63, i64::MIN).expect("behind");
        assert!(w.contains(&format!("N at least {}", i64::MAX)), "{w}");
        assert!(w.contains("rebuild BACKUP --out DIR --bump-revision"), "{w}");
        assert_eq!(target_behind(63, 63), None);
    }
}
