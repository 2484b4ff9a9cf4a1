//! `check`: everything wrong with a snapshot or member db, as a list of findings rather than
//! the first error: the bbolt structure ([`crate::bolt::check`]), etcd's buckets
//! ([`crate::etcd::check`]) and the sha256 trailer. Each finding names its page and byte offset
//! where it has one.

use crate::bolt::check::{check_tree, Finding, Severity, TreeCheck};
use crate::bolt::Db;
use crate::cancel::Cancel;
use crate::error::Result;
use crate::etcd::check::check_buckets;
use crate::etcd::Backend;
use crate::source::{Source, Trailer};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    pub input: String,
    /// Which meta page the check read the tree from, and why.
    pub meta: String,
    pub tree: TreeCheck,
    pub key_entries: u64,
    pub findings: Vec<Finding>,
    pub errors: u64,
    pub warnings: u64,
}

impl CheckReport {
    /// Whether anything worse than information was found.
    pub fn has_findings(&self) -> bool {
        self.errors + self.warnings > 0
    }
}

/// Checks `source`. With `best_effort`, a file whose metas are both invalid is read through the
/// one that still parses, and a truncated file as far as it goes (and the check says so),
/// instead of being refused. `cancel` is checked at every page and every few thousand keys.
pub fn check(source: &Source, best_effort: bool, cancel: &Cancel) -> Result<CheckReport> {
    let db = if best_effort { Db::open_permissive(source.db_bytes(), source.db_path.clone())? } else { source.db()? };
    let mut findings = Vec::new();
    let choice = db.meta_choice();
    let meta = if choice.slots.iter().any(|s| s.is_valid()) {
        choice.reason()
    } else {
        let used = &choice.slots[choice.active];
        findings.push(Finding::bolt(
            Severity::Error,
            Some(used.page),
            None,
            "neither meta page is valid; read through the one that still parses (--best-effort)",
        ));
        format!("neither meta page is valid; read through meta page {} (txid {}) anyway", used.page, db.meta().txid)
    };
    let tree = check_tree(&db, &mut findings, cancel)?;
    let key_entries = check_buckets(&Backend::new(db), &mut findings, cancel)?;
    match source.verify_trailer() {
        Trailer::Ok => {}
        Trailer::Missing => findings.push(Finding {
            severity: Severity::Info,
            layer: "trailer",
            page: None,
            offset: None,
            what: "no sha256 trailer (a member's db, not an `etcdctl snapshot save` file)".into(),
        }),
        Trailer::Mismatch { stored, computed } => findings.push(Finding {
            severity: Severity::Error,
            layer: "trailer",
            page: None,
            offset: Some(source.db_bytes().len() as u64),
            what: format!("sha256 trailer mismatch: stored {}, computed {}", crate::source::hex(&stored), crate::source::hex(&computed)),
        }),
        t @ Trailer::Partial { .. } => findings.push(Finding {
            severity: Severity::Error,
            layer: "trailer",
            page: None,
            offset: Some(source.db_bytes().len() as u64),
            what: format!("{}: the file was cut short inside its sha256 trailer; the db before it cannot be verified", t.describe()),
        }),
    }
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.page.cmp(&b.page)).then(a.offset.cmp(&b.offset)));
    // Several etcd checks open the same damaged bucket and meet the same page: one finding each.
    findings.dedup_by(|a, b| (a.severity, a.layer, a.page, a.offset, &a.what) == (b.severity, b.layer, b.page, b.offset, &b.what));
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count() as u64;
    Ok(CheckReport {
        input: source.input.display().to_string(),
        meta,
        tree,
        key_entries,
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        findings,
    })
}
