//! `get`: Kubernetes objects from a snapshot, as kube-apiserver would return them at a given
//! revision. CRDs in the snapshot teach the catalogue their custom resources first; each object
//! gets `metadata.resourceVersion` = its key's mod revision, as the API server sets it on read.
//! A value that cannot be decoded is returned with the reason, never fatal to a listing.

use crate::cancel::Cancel;
use crate::error::Result;
use crate::etcd::mvcc::RevisionEntry;
use crate::etcd::KeyRange;
use crate::k8s::decoder::{Decoded, Decoder, ObjectJson};
use crate::k8s::key::{normalize_prefix, KeyClass, Namespace, ObjectRef};
use crate::k8s::resources::ResourceInfo;
use crate::k8s::select::{FieldSelector, FieldSelectorError, LabelSelector, ResourceFieldSelector};
use crate::snapshot::Snapshot;
use crate::views::parallel::ordered_map;
use crate::views::progress::{self, Counter, Progress};

#[derive(Debug, Clone)]
pub struct GetQuery {
    /// (type as the user wrote it, optional object name)
    pub targets: Vec<(String, Option<String>)>,
    pub namespace: Namespace,
    pub labels: LabelSelector,
    /// The field selector's text (`--field-selector`), parsed and checked per target against
    /// its resource's fields, as the API server does for each list: a resource that refuses it
    /// (or a text that does not parse) is listed in [`GetSummary::refused`] and read no
    /// further. With `all_objects`, only metadata.name and metadata.namespace, and a refusal is
    /// [`crate::Error::Usage`].
    pub fields: String,
    /// 0 = current.
    pub revision: i64,
    /// etcd prefix kube-apiserver was run with (`--etcd-prefix`), e.g. "/registry".
    pub etcd_prefix: String,
    /// Every object under the prefix, of any resource (known or not), instead of `targets`.
    pub all_objects: bool,
    /// Cancelled to stop: the read ends with [`crate::Error::Interrupted`] at the next key (objects
    /// already handed to the visitor stay handed).
    pub cancel: Cancel,
}

/// What one key under the prefix is (for `get --list-keys`).
#[derive(Debug, Clone)]
pub struct KeyEntry {
    pub key: String,
    pub class: KeyClass,
    pub mod_revision: i64,
    pub value_len: usize,
}

/// Every key in the keyspace at the revision, classified (objects, non-object keys, unknown
/// resources, keys outside the prefix). CRDs in the snapshot are learned first.
pub fn list_keys(snap: &Snapshot<'_>, etcd_prefix: &str, revision: i64, decoder: &Decoder) -> Result<Vec<KeyEntry>> {
    let mut out = Vec::new();
    list_keys_each(snap, etcd_prefix, revision, decoder, &Cancel::default(), &mut |e| {
        out.push(e);
        Ok(())
    })?;
    Ok(out)
}

/// [`list_keys`], one key at a time, in key order; [`crate::Error::Interrupted`] at the next key once
/// `cancel` is cancelled.
pub fn list_keys_each(
    snap: &Snapshot<'_>,
    etcd_prefix: &str,
    revision: i64,
    decoder: &Decoder,
    cancel: &Cancel,
    visit: &mut dyn FnMut(KeyEntry) -> Result<()>,
) -> Result<()> {
    let store = snap.store();
    let rev = store.read_revision(revision)?;
    let prefix = normalize_prefix(etcd_prefix);
    let catalog = snap.catalog(decoder, &prefix)?;
    for state in store.range_until(&KeyRange::all(), rev, cancel)? {
        cancel.check()?;
        let kv = state.kv(snap.file())?;
        visit(KeyEntry {
            class: catalog.locate(kv.key, &prefix).owned(),
            key: String::from_utf8_lossy(kv.key).into_owned(),
            mod_revision: kv.mod_revision,
            value_len: kv.value.len(),
        })?;
    }
    Ok(())
}

/// One object found.
#[derive(Debug, Clone)]
pub struct Found {
    pub key: String,
    pub resource: ResourceInfo,
    pub mod_revision: i64,
    /// The object (with `metadata.resourceVersion` set), or why it could not be decoded.
    pub object: std::result::Result<ObjectJson, String>,
    pub unknown_fields: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct GetResult {
    pub items: Vec<Found>,
    /// The revision read.
    pub revision: i64,
    /// Names given explicitly that were not found ("pods \"web\" not found").
    pub not_found: Vec<String>,
    /// Targets whose resource refused the field selector.
    pub refused: Vec<Refused>,
}

/// A target whose resource refused the field selector, and the API server's words for it.
#[derive(Debug, Clone)]
pub struct Refused {
    pub resource: ResourceInfo,
    pub error: FieldSelectorError,
}

/// Collects every object found (tables and `kind: List` output need them all).
pub fn get(snap: &Snapshot<'_>, query: &GetQuery, decoder: &Decoder) -> Result<GetResult> {
    let mut items = Vec::new();
    let summary = get_each(snap, query, decoder, &mut |f| {
        items.push(f);
        Ok(())
    })?;
    Ok(GetResult { items, revision: summary.revision, not_found: summary.not_found, refused: summary.refused })
}

/// What a streamed read found besides the objects themselves.
#[derive(Debug, Clone)]
pub struct GetSummary {
    pub revision: i64,
    pub not_found: Vec<String>,
    pub refused: Vec<Refused>,
}

/// Streams each object to `visit` as it is decoded: memory stays at one decoded object (plus
/// the small per-key index of the range), however many objects the snapshot holds.
pub fn get_each(snap: &Snapshot<'_>, query: &GetQuery, decoder: &Decoder, visit: &mut dyn FnMut(Found) -> Result<()>) -> Result<GetSummary> {
    get_each_reporting(snap, query, decoder, visit, &mut progress::ignore)
}

/// [`get_each`], reporting the keys decoded of each range read.
pub fn get_each_reporting(
    snap: &Snapshot<'_>,
    query: &GetQuery,
    decoder: &Decoder,
    visit: &mut dyn FnMut(Found) -> Result<()>,
    report: &mut dyn FnMut(Progress),
) -> Result<GetSummary> {
    let store = snap.store();
    let file = snap.file();
    let rev = store.read_revision(query.revision)?;
    let prefix = normalize_prefix(&query.etcd_prefix);
    let catalog = snap.catalog(decoder, &prefix)?;
    let mut summary = GetSummary { revision: rev, not_found: Vec::new(), refused: Vec::new() };

    // Decodes the objects of `range` on every core, handing them to `visit` in key order;
    // `resource_of` says what each key is.
    let mut each = |range: KeyRange, fields: &ResourceFieldSelector, resource_of: &(dyn Fn(&str) -> Option<ResourceInfo> + Sync)| -> Result<usize> {
        let mut seen = 0;
        let decode = |state: RevisionEntry<'_>| -> Result<Option<Option<Found>>> {
            let kv = state.kv(file)?;
            let key = String::from_utf8_lossy(kv.key).into_owned();
            let Some(resource) = resource_of(&key) else { return Ok(None) };
            let decoded = decoder.decode_at(kv.key, kv.value, Some(kv.mod_revision));
            Ok(Some(found(&query.labels, fields, key, resource, kv.mod_revision, decoded)))
        };
        let entries = store.range_until(&range, rev, &query.cancel)?;
        let mut progress = Counter::new(&mut *report, "keys", entries.len() as u64);
        ordered_map(entries, decode, |result| {
            query.cancel.check()?;
            progress.step();
            if let Some(object) = result? {
                seen += 1;
                if let Some(found) = object {
                    visit(found)?;
                }
            }
            Ok(())
        })?;
        Ok(seen)
    };

    if query.all_objects {
        let resource_of = |key: &str| match catalog.locate(key.as_bytes(), &prefix).owned() {
            KeyClass::Object(r) => catalog.by_key_prefix(&key_prefix_of(key, &prefix, &r)).cloned(),
            KeyClass::UnknownResource { resource_path, namespace, .. } => Some(ResourceInfo {
                group: resource_path.split_once('/').map(|(g, _)| g.to_string()).unwrap_or_default(),
                resource: resource_path.rsplit('/').next().unwrap_or_default().to_string(),
                kind: String::new(),
                namespaced: namespace.is_some(),
                key_prefix: resource_path,
                short_names: Vec::new(),
                printer_columns: None,
                version: None,
                categories: Vec::new(),
                selectable_fields: Vec::new(),
            }),
            _ => None,
        };
        let fields = FieldSelector::parse(&query.fields).and_then(|f| f.for_any_resource()).map_err(|e| crate::Error::Usage(e.message))?;
        each(KeyRange::prefix(format!("{prefix}/").as_bytes()), &fields, &resource_of)?;
        return Ok(summary);
    }
    for (type_name, name) in &query.targets {
        let (info, range) = catalog.object_range(&prefix, type_name, name.as_deref(), &query.namespace)?;
        let fields = match FieldSelector::parse(&query.fields).and_then(|f| f.for_resource(&info)) {
            Ok(fields) => fields,
            Err(error) => {
                summary.refused.push(Refused { resource: info, error });
                continue;
            }
        };
        let seen = each(range, &fields, &|_| Some(info.clone()))?;
        if seen == 0 {
            if let Some(n) = name {
                let what = info.group_resource();
                summary.not_found.push(format!("{what} \"{n}\" not found"));
            }
        }
    }
    Ok(summary)
}

/// The catalogue key prefix of an object key (the segments between the etcd prefix and the
/// namespace/name).
fn key_prefix_of(key: &str, prefix: &str, r: &ObjectRef) -> String {
    let rest = key.strip_prefix(prefix).unwrap_or(key).trim_start_matches('/');
    let tail = match &r.namespace {
        Some(ns) => format!("/{ns}/{}", r.name),
        None => format!("/{}", r.name),
    };
    rest.strip_suffix(&tail).unwrap_or(rest).to_string()
}

/// The object as the API server would return it, or `None` when the selectors exclude it.
fn found(labels: &LabelSelector, fields: &ResourceFieldSelector, key: String, resource: ResourceInfo, mod_revision: i64, decoded: Decoded) -> Option<Found> {
    let (object, unknown_fields) = match decoded {
        Decoded::Object { json, unknown_fields, .. } => {
            if !(labels.is_empty() && fields.is_empty()) {
                match json.value() {
                    Ok(v) if labels.matches(&v) && fields.matches(&v) => {}
                    Ok(_) => return None,
                    Err(e) => return Some(Found { key, resource, mod_revision, object: Err(e), unknown_fields }),
                }
            }
            (Ok(json), unknown_fields)
        }
        Decoded::Encrypted { provider, key_name, reason, .. } => (Err(format!("encrypted ({provider}, key {key_name}): {reason}")), Vec::new()),
        Decoded::Raw { reason } => (Err(reason), Vec::new()),
    };
    Some(Found { key, resource, mod_revision, object, unknown_fields })
}
