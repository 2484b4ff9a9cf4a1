//! `salvage`: what can still be read from a damaged snapshot or db, written as a clean one.
//!
//! Every page of the file is scanned (not only those the tree still reaches): each leaf's
//! entries that parse as a `key` bucket entry (a revision key and a KeyValue whose mod revision
//! is that revision) are collected and deduplicated by revision; the other buckets are read
//! through their trees when those still read whole, else gathered from leaves by their keys'
//! shapes. A compaction is applied to what was found as etcd applies it, so stale copies of
//! compacted revisions left in free pages stay out unless asked for (`free_pages`); then
//! everything is written with the bbolt writer (with a sha256 trailer, as `snapshot save` does).

use crate::bolt::check::{check_reaching, Finding};
use crate::bolt::layout::*;
use crate::bolt::page::Node;
use crate::bolt::write::{FileWriter, TreeWriter};
use crate::bolt::Db;
use crate::error::Result;
use crate::etcd::backend::{Backend, KEY, LEASE, META};
use crate::etcd::pb::leasepb;
use crate::etcd::revision::{Revision, RevisionKey};
use crate::etcd::wire;
use crate::source::Source;
use prost::Message;
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct SalvageOptions {
    /// Also keep revisions found only in pages the tree no longer reaches that a compaction
    /// removed (old values of keys, deleted objects' last values).
    pub free_pages: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SalvageReport {
    pub input: String,
    pub out: PathBuf,
    pub pages_scanned: u64,
    pub leaf_pages: u64,
    /// Pages the tree from the meta still reaches.
    pub reachable_pages: u64,
    /// `key` bucket revisions written, and how many came only from unreachable pages.
    pub revisions: u64,
    pub revisions_from_unreachable_pages: u64,
    /// Copies of the same revision seen on several pages.
    pub duplicates: u64,
    /// Revisions found only in free pages that the tree let go of (compacted away, or, with the
    /// tree whole, anything the tree no longer reaches): written with `free_pages`, else left out.
    pub compacted_found: u64,
    pub compacted_written: u64,
    /// Entries that looked like `key` bucket entries but did not parse, with their page.
    pub unparseable: Vec<PageNote>,
    /// Buckets written: name, entries, and how they were read (tree or scan).
    pub buckets: Vec<BucketNote>,
    /// Keys whose newest revision is a tombstone while their last value is still here.
    pub deleted_with_value: Vec<DeletedKey>,
    /// What `check` found in the input (the damage).
    pub damage: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PageNote {
    pub page: u64,
    pub what: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BucketNote {
    pub name: String,
    pub entries: u64,
    pub read_by: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedKey {
    pub key: String,
    pub deleted_at: i64,
    pub last_put: i64,
    pub value_size: usize,
}

/// One `key` bucket entry found on a page.
struct Found<'a> {
    value: &'a [u8],
    page: u64,
}

/// Every leaf element of every page (and of inline buckets in them), with its page.
/// Returns (pages scanned, leaf pages).
fn scan_leaves<'a>(db: &Db<'a>, data: &'a [u8], reachable: &crate::bolt::walk::PageSet, visit: &mut dyn FnMut(u64, Option<&'a [u8]>, &'a [u8], &'a [u8], bool)) -> (u64, u64) {
    let ps = db.page_size();
    let pages = (data.len() / ps) as u64;
    let mut leaves = 0;
    let file = db.file();
    let mut p = 2u64;
    while p < pages {
        let at = p as usize * ps;
        let header = &data[at..at + PAGE_HEADER_SIZE];
        let (id, flags, overflow) = (u64_at(header, PAGE_ID).unwrap_or(0), u16_at(header, PAGE_FLAGS).unwrap_or(0), u32_at(header, PAGE_OVERFLOW).unwrap_or(0));
        let run = 1 + u64::from(overflow);
        if id != p || flags != LEAF_PAGE || p + run > pages {
            p += 1;
            continue;
        }
        leaves += 1;
        let bytes = &data[at..at + (run as usize) * ps];
        let page = crate::bolt::page::Page { id: p, flags, count: u16_at(header, PAGE_COUNT).unwrap_or(0), overflow, bytes, offset: at as u64 };
        if let Ok(node) = Node::from_page(&page, file) {
            leaf_elements(db, &node, None, 0, visit);
        }
        // A run is skipped whole only where the tree vouches for it: a free page's stale header
        // could claim an overflow over pages that hold live leaves.
        p += if reachable.contains(p) { run } else { 1 };
    }
    (pages, leaves)
}

fn leaf_elements<'a>(db: &Db<'a>, node: &Node<'a>, bucket: Option<&'a [u8]>, depth: usize, visit: &mut dyn FnMut(u64, Option<&'a [u8]>, &'a [u8], &'a [u8], bool)) {
    for i in 0..node.count {
        let Ok(e) = node.leaf(i, db.file()) else { continue };
        if e.is_bucket() {
            if let Some(inline) = e.value.get(BUCKET_HEADER_SIZE..).filter(|_| u64_at(e.value, BUCKET_ROOT) == Some(0) && depth < MAX_TREE_DEPTH) {
                if let Ok(inner) = Node::inline(node.page_id, inline, e.value_offset + BUCKET_HEADER_SIZE as u64, db.file()) {
                    leaf_elements(db, &inner, Some(e.key), depth + 1, visit);
                }
            }
            visit(node.page_id, bucket, e.key, e.value, true);
        } else {
            visit(node.page_id, bucket, e.key, e.value, false);
        }
    }
}

/// A `key` bucket entry: the key parses as a revision key and the value as a KeyValue whose mod
/// revision is that revision (a tombstone stores only its key).
fn key_entry(key: &[u8], value: &[u8]) -> Option<RevisionKey> {
    let rk = RevisionKey::parse(key).ok()?;
    if value.is_empty() {
        return Some(rk); // a revision-bump marker
    }
    wire::bytes_field(value, 1).ok()??;
    if !rk.tombstone && wire::int64_field(value, 3).ok()? != rk.revision.main {
        return None;
    }
    Some(rk)
}

/// Which small bucket a stray leaf entry belongs to, by its key's shape.
fn bucket_by_shape(key: &[u8], value: &[u8]) -> Option<&'static [u8]> {
    match key {
        b"consistent_index" | b"term" | b"confState" | b"scheduledCompactRev" | b"finishedCompactRev" | b"storageVersion" => Some(META),
        b"clusterVersion" | b"downgrade" => Some(b"cluster"),
        b"authEnabled" | b"authRevision" => Some(b"auth"),
        _ if key.len() == 8 && leasepb::Lease::decode(value).is_ok_and(|l| l.id.to_be_bytes() == key) => Some(LEASE),
        _ if std::str::from_utf8(key).is_ok_and(|k| !k.is_empty() && k.len() <= 16 && k.bytes().all(|b| b.is_ascii_hexdigit())) && value.starts_with(b"{\"id\":") => {
            Some(b"members")
        }
        _ => None,
    }
}

/// Salvages `source` into a new snapshot file `out` (which must not exist).
pub fn salvage(source: &Source, out: &Path, options: &SalvageOptions) -> Result<SalvageReport> {
    let data = source.db_bytes();
    let db = Db::open_permissive(data, source.db_path.clone())?;
    let mut report = SalvageReport { input: source.input.display().to_string(), out: out.to_path_buf(), ..Default::default() };
    let (tree, reachable) = check_reaching(&db, &mut report.damage);
    report.reachable_pages = tree.reachable;

    // The key bucket: every page.
    let mut revisions: BTreeMap<Vec<u8>, Found<'_>> = BTreeMap::new();
    let mut strays: BTreeMap<(&'static [u8], Vec<u8>), (Vec<u8>, bool)> = BTreeMap::new();
    let (mut duplicates, mut unparseable) = (0u64, Vec::new());
    let (scanned, leaves) = scan_leaves(&db, data, &reachable, &mut |page, bucket, key, value, is_bucket| {
        if is_bucket {
            return;
        }
        if bucket.is_none() || bucket == Some(KEY) {
            if let Some(rk) = key_entry(key, value) {
                let k = rk.encode();
                match revisions.get(&k) {
                    Some(prev) if reachable.contains(prev.page) || !reachable.contains(page) => duplicates += 1,
                    Some(_) => {
                        duplicates += 1;
                        revisions.insert(k, Found { value, page });
                    }
                    None => {
                        revisions.insert(k, Found { value, page });
                    }
                }
                return;
            }
            if RevisionKey::parse(key).is_ok() {
                unparseable.push(PageNote { page, what: format!("a revision key whose value is not a KeyValue of that revision ({} bytes)", value.len()) });
                return;
            }
        }
        let named = bucket.and_then(|b| [META, LEASE, b"members".as_slice(), b"members_removed", b"cluster", b"auth", b"authUsers", b"authRoles", b"alarm"].into_iter().find(|n| *n == b));
        if let Some(name) = named.or_else(|| bucket_by_shape(key, value)) {
            let here = reachable.contains(page);
            let slot = strays.entry((name, key.to_vec())).or_insert_with(|| (value.to_vec(), here));
            if here && !slot.1 {
                *slot = (value.to_vec(), true);
            }
        }
    });
    (report.pages_scanned, report.leaf_pages, report.duplicates, report.unparseable) = (scanned, leaves, duplicates, unparseable);

    // A compaction as etcd applies it: at or below it, each key keeps its newest revision
    // unless a tombstone. What else is found there was compacted away (stale pages).
    let backend = Backend::new(db.clone());
    let meta_compact = crate::etcd::meta::read_meta(&backend).map(|m| m.compact_revision()).unwrap_or(0);
    let compact = if meta_compact > 0 {
        meta_compact
    } else {
        strays
            .iter()
            .filter(|((b, k), _)| *b == META && (k == b"scheduledCompactRev" || k == b"finishedCompactRev"))
            .filter_map(|(_, (v, _))| RevisionKey::parse(v).ok().map(|r| r.revision.main))
            .max()
            .unwrap_or(0)
    };
    let tree_intact = !report.damage.iter().any(|f| f.severity != crate::bolt::check::Severity::Info);
    let mut newest: HashMap<&[u8], (Revision, bool)> = HashMap::default();
    let mut last_put: HashMap<&[u8], (i64, usize)> = HashMap::default();
    for (k, f) in &revisions {
        let rk = RevisionKey::parse(k).expect("stored from a parsed key");
        let user_key = wire::bytes_field(f.value, 1).ok().flatten().unwrap_or_default();
        if rk.revision.main <= compact {
            newest.insert(user_key, (rk.revision, rk.tombstone));
        }
        if !rk.tombstone && !f.value.is_empty() {
            last_put.insert(user_key, (rk.revision.main, wire::bytes_field(f.value, 5).ok().flatten().unwrap_or_default().len()));
        }
    }
    let mut kept: Vec<(&Vec<u8>, &Found<'_>)> = Vec::new();
    for (k, f) in &revisions {
        let rk = RevisionKey::parse(k).expect("stored from a parsed key");
        let user_key = wire::bytes_field(f.value, 1).ok().flatten().unwrap_or_default();
        let compacted = rk.revision.main <= compact && compacted_away(newest.get(user_key), rk.revision);
        // With the tree whole, a revision only free pages hold is one the tree let go of (a
        // compaction, or a deleted key's past), whatever the compaction rule says of what remains.
        let stale = tree_intact && !reachable.contains(f.page);
        if compacted || stale {
            report.compacted_found += 1;
            if !options.free_pages {
                continue;
            }
            report.compacted_written += 1;
        }
        if !reachable.contains(f.page) {
            report.revisions_from_unreachable_pages += 1;
        }
        kept.push((k, f));
    }
    report.revisions = kept.len() as u64;

    // Deleted keys whose last value is still here.
    let mut latest: HashMap<&[u8], (i64, bool)> = HashMap::default();
    for (k, f) in &kept {
        let rk = RevisionKey::parse(k).expect("stored from a parsed key");
        let user_key = wire::bytes_field(f.value, 1).ok().flatten().unwrap_or_default();
        latest.insert(user_key, (rk.revision.main, rk.tombstone));
    }
    let mut deleted: Vec<DeletedKey> = latest
        .iter()
        .filter(|(_, (_, tomb))| *tomb)
        .filter_map(|(k, (at, _))| last_put.get(k).map(|(put, size)| DeletedKey { key: String::from_utf8_lossy(k).into_owned(), deleted_at: *at, last_put: *put, value_size: *size }))
        .collect();
    deleted.sort_by(|a, b| a.key.cmp(&b.key));
    report.deleted_with_value = deleted;

    // The other buckets: through their trees when those read whole, else what the scan found.
    let mut writer = FileWriter::create(out, db.page_size())?;
    let mut names: Vec<Vec<u8>> = backend.buckets().map(|b| b.into_iter().map(|(n, _)| n.to_vec()).collect()).unwrap_or_default();
    for (b, _) in strays.keys() {
        if !names.iter().any(|n| n == b) {
            names.push(b.to_vec());
        }
    }
    if !names.iter().any(|n| n == KEY) {
        names.push(KEY.to_vec());
    }
    names.sort();
    names.dedup();
    for name in &names {
        let mut tree = TreeWriter::new();
        let (entries, read_by) = if name == KEY {
            for (k, f) in &kept {
                tree.put(writer.page_file(), k, f.value)?;
            }
            (kept.len() as u64, "page scan")
        } else {
            let via_tree = backend.bucket(name).ok().flatten().and_then(|b| b.iter(&db).map(|e| e.map(|e| (e.key().to_vec(), e.value().to_vec()))).collect::<Result<Vec<_>>>().ok());
            let (rows, how) = match via_tree {
                Some(rows) => (rows, "tree"),
                None => (strays.iter().filter(|((b, _), _)| *b == name.as_slice()).map(|((_, k), (v, _))| (k.clone(), v.clone())).collect(), "page scan"),
            };
            let mut rows = rows;
            rows.retain(|(k, _)| !k.is_empty() && k.len() <= MAX_KEY_SIZE);
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            rows.dedup_by(|a, b| a.0 == b.0);
            for (k, v) in &rows {
                tree.put(writer.page_file(), k, v)?;
            }
            (rows.len() as u64, how)
        };
        writer.add_bucket(name, 0, tree)?;
        report.buckets.push(BucketNote { name: String::from_utf8_lossy(name).into_owned(), entries, read_by });
    }
    writer.finish(true)?;
    Ok(report)
}

/// Whether a revision at or below the compaction was removed by it: it is not its key's newest
/// there, or that newest is a tombstone.
fn compacted_away(newest: Option<&(Revision, bool)>, rev: Revision) -> bool {
    match newest {
        Some((kept, tombstone)) => *kept != rev || *tombstone,
        None => true,
    }
}
