//! A structural check of a bbolt file that keeps going: every problem becomes a finding naming
//! its page (and byte offset), in bbolt's own words where `bbolt check` has them ("unreachable
//! unfreed", "already freed", "multiple references", "out of bounds", "invalid type"), and the
//! walk goes on past it. What it looks at: both meta pages; every page reachable from the
//! active meta (ids within the high-water mark, page headers naming their own id, page types,
//! overflow runs, element bounds, keys ascending within a page and within the bounds the parent
//! branch sets); nested and inline buckets; the persisted freelist against reachability.

use super::db::Db;
use super::freelist::read_freelist;
use super::layout::*;
use super::page::Node;
use super::tree::{Bucket, Root};
use super::walk::PageSet;
use crate::error::Error;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, not a fault (a restored member's stale confState, no trailer on a db).
    Info,
    /// Inconsistent but readable; etcd may work around it.
    Warning,
    /// Damage: data is lost, misplaced or unreadable.
    Error,
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// `bbolt` (pages, trees), `etcd` (buckets' contents) or `trailer`.
    pub layer: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    pub what: String,
}

impl Finding {
    pub fn bolt(severity: Severity, page: Option<u64>, offset: Option<u64>, what: impl Into<String>) -> Finding {
        Finding { severity, layer: "bbolt", page, offset, what: what.into() }
    }

    /// A finding from a reader's error (which names the page and offset when it can).
    pub fn from_error(layer: &'static str, e: &Error) -> Finding {
        match e {
            Error::Corrupt { at, what } => Finding { severity: Severity::Error, layer, page: at.page, offset: Some(at.offset), what: what.clone() },
            other => Finding { severity: Severity::Error, layer, page: None, offset: None, what: other.to_string() },
        }
    }
}

/// What the walk saw, for the etcd layer and for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TreeCheck {
    pub pages: u64,
    pub reachable: u64,
    pub freelist_persisted: bool,
    pub freed: u64,
}

/// A page to visit: its id, who points at it, and the key range its keys must lie in.
struct Visit {
    id: u64,
    parent: Option<u64>,
    low: Option<Vec<u8>>,
    high: Option<Vec<u8>>,
    depth: usize,
}

/// Checks the whole file, adding findings to `out`.
pub fn check(db: &Db<'_>, out: &mut Vec<Finding>) -> TreeCheck {
    check_reaching(db, out).0
}

/// [`check`], also returning the pages reached from the meta (trees, overflow, freelist).
pub fn check_reaching(db: &Db<'_>, out: &mut Vec<Finding>) -> (TreeCheck, PageSet) {
    let hwm = db.high_water_mark();
    let choice = db.meta_choice();
    for slot in &choice.slots {
        if let Some(problem) = &slot.problem {
            let used = &choice.slots[choice.active];
            let then = if used.is_valid() { format!("bbolt uses meta page {}", used.page) } else { "bbolt refuses a file with no valid meta".into() };
            out.push(Finding::bolt(Severity::Warning, Some(slot.page), Some(slot.page * db.page_size() as u64), format!("meta page {} is invalid ({problem}); {then}", slot.page)));
        }
    }
    let mut seen = PageSet::new(hwm);
    seen.insert(0);
    seen.insert(1.min(hwm.saturating_sub(1)));
    let mut stack = vec![Visit { id: db.meta().root.root, parent: None, low: None, high: None, depth: 0 }];
    while let Some(v) = stack.pop() {
        visit(db, v, &mut seen, &mut stack, out);
    }
    let mut report = TreeCheck { pages: hwm, ..Default::default() };
    match read_freelist(db) {
        Ok(None) => {}
        Ok(Some(freed)) => {
            report.freelist_persisted = true;
            report.freed = freed.len() as u64;
            let fl = db.meta().freelist;
            if let Ok(page) = db.page(fl) {
                for id in fl..fl + u64::from(page.overflow) + 1 {
                    if !seen.insert(id) {
                        out.push(Finding::bolt(Severity::Error, Some(id), None, format!("page {id}: multiple references (the freelist's run and a tree)")));
                    }
                }
            }
            let mut free = PageSet::new(hwm);
            for id in freed {
                free.insert(id);
                if seen.contains(id) {
                    out.push(Finding::bolt(Severity::Error, Some(id), Some(id * db.page_size() as u64), format!("page {id}: already freed (it is on the freelist and still reachable)")));
                }
            }
            for id in 2..hwm {
                if !seen.contains(id) && !free.contains(id) {
                    out.push(Finding::bolt(Severity::Warning, Some(id), Some(id * db.page_size() as u64), format!("page {id}: unreachable unfreed")));
                }
            }
        }
        Err(e) => out.push(Finding::from_error("bbolt", &e)),
    }
    report.reachable = seen.len();
    (report, seen)
}

fn visit(db: &Db<'_>, v: Visit, seen: &mut PageSet, stack: &mut Vec<Visit>, out: &mut Vec<Finding>) {
    let hwm = db.high_water_mark();
    let from = v.parent.map(|p| format!(" (referenced by page {p})")).unwrap_or_default();
    if v.depth > MAX_TREE_DEPTH {
        out.push(Finding::bolt(Severity::Error, Some(v.id), None, format!("page {}: the tree is deeper than {MAX_TREE_DEPTH} levels here{from}", v.id)));
        return;
    }
    if v.id >= hwm {
        out.push(Finding::bolt(Severity::Error, v.parent, None, format!("page {}: out of bounds: high-water mark {hwm}{from}", v.id)));
        return;
    }
    if v.id < 2 {
        out.push(Finding::bolt(Severity::Error, v.parent, None, format!("page {}: invalid type: meta (a meta page referenced as a tree page){from}", v.id)));
        return;
    }
    if !seen.insert(v.id) {
        out.push(Finding::bolt(Severity::Error, Some(v.id), Some(v.id * db.page_size() as u64), format!("page {}: multiple references{from}", v.id)));
        return;
    }
    let page = match db.page(v.id) {
        Ok(p) => p,
        Err(e) => {
            out.push(Finding::from_error("bbolt", &e));
            return;
        }
    };
    for extra in v.id + 1..v.id + 1 + u64::from(page.overflow) {
        if !seen.insert(extra) {
            out.push(Finding::bolt(Severity::Error, Some(extra), Some(extra * db.page_size() as u64), format!("page {extra}: multiple references (overflow of page {})", v.id)));
        }
    }
    if page.flags != BRANCH_PAGE && page.flags != LEAF_PAGE {
        out.push(Finding::bolt(Severity::Error, Some(v.id), Some(page.offset + PAGE_FLAGS as u64), format!(
            "page {}: invalid type: {} (flags 0x{:02x}){from}",
            v.id,
            page_type_name(page.flags),
            page.flags
        )));
        return;
    }
    let node = match Node::from_page(&page, db.file()) {
        Ok(n) => n,
        Err(e) => {
            out.push(Finding::from_error("bbolt", &e));
            return;
        }
    };
    if node.count == 0 && v.parent.is_some() {
        out.push(Finding::bolt(Severity::Warning, Some(v.id), Some(page.offset + PAGE_COUNT as u64), format!("page {}: an empty {} page inside a tree{from}", v.id, if node.is_leaf { "leaf" } else { "branch" })));
    }
    check_node(db, &node, &v, stack, out);
}

/// Keys, elements and children of one node (a page's or an inline bucket's).
fn check_node(db: &Db<'_>, node: &Node<'_>, v: &Visit, stack: &mut Vec<Visit>, out: &mut Vec<Finding>) {
    let file = db.file();
    let mut previous: Option<&[u8]> = None;
    let mut children = Vec::new();
    for i in 0..node.count {
        let key = match node.key(i, file) {
            Ok(k) => k,
            Err(e) => {
                out.push(Finding::from_error("bbolt", &e));
                return;
            }
        };
        let at = Some(node.element_file_offset(i));
        if let Some(p) = previous {
            if key <= p {
                out.push(Finding::bolt(Severity::Error, Some(node.page_id), at, format!(
                    "page {}: key[{i}] {} is not above key[{}] {} (keys out of order)",
                    node.page_id,
                    show(key),
                    i - 1,
                    show(p)
                )));
            }
        }
        if v.low.as_deref().is_some_and(|low| key < low) {
            out.push(Finding::bolt(Severity::Error, Some(node.page_id), at, format!(
                "page {}: key[{i}] {} is below the key {} its parent branch gives it (keys out of order)",
                node.page_id,
                show(key),
                show(v.low.as_deref().unwrap_or_default())
            )));
        }
        if v.high.as_deref().is_some_and(|high| key >= high) {
            out.push(Finding::bolt(Severity::Error, Some(node.page_id), at, format!(
                "page {}: key[{i}] {} is not below the next branch key {} (keys out of order)",
                node.page_id,
                show(key),
                show(v.high.as_deref().unwrap_or_default())
            )));
        }
        previous = Some(key);
        if node.is_leaf {
            let Ok(elem) = node.leaf(i, file) else { continue };
            if elem.is_bucket() {
                match Bucket::from_element(db, node.page_id, &elem) {
                    Ok(Bucket { root: Root::Page(root), .. }) => stack.push(Visit { id: root, parent: Some(node.page_id), low: None, high: None, depth: v.depth + 1 }),
                    Ok(Bucket { root: Root::Inline(inline), .. }) if v.depth < MAX_TREE_DEPTH => {
                        let inner = Visit { id: node.page_id, parent: Some(node.page_id), low: None, high: None, depth: v.depth + 1 };
                        check_node(db, &inline, &inner, stack, out);
                    }
                    Ok(Bucket { root: Root::Inline(_), .. }) => {
                        out.push(Finding::bolt(Severity::Error, Some(node.page_id), at, format!("page {}: inline buckets nested deeper than {MAX_TREE_DEPTH} levels", node.page_id)));
                    }
                    Err(e) => out.push(Finding::from_error("bbolt", &e)),
                }
            }
        } else if let Ok(b) = node.branch(i, file) {
            children.push((b.key.to_vec(), b.child));
        }
    }
    for (i, (key, child)) in children.iter().enumerate().rev() {
        let high = children.get(i + 1).map(|c| c.0.clone()).or_else(|| v.high.clone());
        stack.push(Visit { id: *child, parent: Some(node.page_id), low: Some(key.clone()), high, depth: v.depth + 1 });
    }
}

/// A key for a message: text when printable, else hex.
fn show(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(s) if s.chars().all(|c| !c.is_control()) && s.len() <= 64 => format!("{s:?}"),
        _ => format!("0x{}", key.iter().take(32).map(|b| format!("{b:02x}")).collect::<String>()),
    }
}
