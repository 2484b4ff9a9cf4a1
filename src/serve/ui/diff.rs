//! The diff view (`/ui/diff/A/B`): what restoring input B in place of input A would do — the
//! cluster is now at A, B is the backup a restore would bring. It is `diff B A` of the command
//! line ([`crate::views::diff`]: OLD is what is restored, NEW is what is there now), computed
//! once per pair on a blocking thread and kept ([`super::state::UiState::diff_cell`]).
//!
//! - `/ui/diff/A/B`: the warnings and restore hazards, and per resource the keys the restore
//!   deletes (lost), brings back (reappear), rolls back (revert), writes again unchanged
//!   (rewritten), and leaves (unchanged); each count links to its keys.
//! - `?resource=R&class=C[&page=N]`: those keys, [`PAGE`] a page.
//! - `?key=K`: one key: both sides, the fields that differ (now | after the restore) and the
//!   hazards it is part of, with links to both sides' key pages and timelines.
//!
//! Field changes are `diff`'s, a Secret's redacted by the one Secret rule unless serve was
//! started with `--show-secrets`.

use super::history::changes_table;
use super::page::{self, bytes, count, key_text, Nav, Tab};
use super::query::href;
use super::{blocking, ok_page, Query, UiError, UiResult};
use crate::etcd::KeyRange;
use crate::k8s::fields::Change;
use crate::serve::context::Context;
use crate::serve::Server;
use crate::views::diff::{diff, Class, Counts, DiffEntry, DiffQuery, DiffResult, Side};
use maud::{html, Markup};
use std::sync::Arc;

/// Keys listed on one page of a drill-down.
pub const PAGE: usize = 500;

/// Keys a hazard lists before "and N more".
const HAZARD_KEYS: usize = 20;

/// The classes a restore changes something in (unchanged keys are counted, not kept).
const CHANGING: [Class; 4] = [Class::Lost, Class::Reappear, Class::Revert, Class::Rewritten];

/// `/ui/diff/A/B[?resource=R&class=C | ?key=K]`
pub async fn page(server: &'static Server, tail: &str, query: Query) -> UiResult {
    let mut names = tail.trim_end_matches('/').splitn(2, '/');
    let (a, b) = (names.next().unwrap_or(""), names.next().unwrap_or(""));
    if a.is_empty() || b.is_empty() || b.contains('/') {
        return Err(UiError::not_found(format!("a diff compares two served inputs: /ui/diff/A/B; the inputs are {}", server.context_names())));
    }
    let position = |name: &str| server.contexts.iter().position(|(c, _)| c.name == name);
    let (ia, ib) = match (position(a), position(b)) {
        (Some(ia), Some(ib)) => (ia, ib),
        (None, _) => return Err(UiError::not_found(format!("no input is served as {a:?}; the inputs are {}", server.context_names()))),
        (_, None) => return Err(UiError::not_found(format!("no input is served as {b:?}; the inputs are {}", server.context_names()))),
    };
    let (now, restored) = (&server.contexts[ia].0, &server.contexts[ib].0);
    let nav = Nav { context: None, tab: Tab::Diff };
    if ia == ib {
        let body = html! {
            h1 { "Restoring " span.mono { (a) } " over itself" }
            p.ok #identical data-fact="identical" { "identical: an input compared with itself; restoring it in its own place changes nothing." }
        };
        return Ok(ok_page(page::layout(Some(server), &nav, "Diff", body)));
    }
    let ui = server.ui.as_ref().ok_or_else(|| UiError::not_found("the UI is off"))?;
    let cell = ui.diff_cell((ia, ib));
    let result = blocking(move || Ok(cell.get(|| compute(server, ia, ib)))).await?.map_err(UiError::internal)?;
    let view = View { now, restored, result: &result };
    let (title, body) = if let Some(key) = query.bytes("key") {
        ("Diff of a key", view.key(key)?)
    } else if let Some(resource) = query.text("resource") {
        let class = query.text("class").unwrap_or_default();
        let class = Class::parse(&class)
            .filter(|c| CHANGING.contains(c))
            .ok_or_else(|| UiError::bad_request(format!("no class {class:?}: lost, reappear, revert or rewritten")))?;
        ("Diff drill-down", view.class_list(&resource, class, query.number::<usize>("page").unwrap_or(1).max(1))?)
    } else {
        ("Diff", view.summary())
    };
    Ok(ok_page(page::layout(Some(server), &nav, title, body)))
}

/// `diff RESTORED NOW` over the revisions served.
fn compute(server: &'static Server, now: usize, restored: usize) -> crate::error::Result<DiffResult> {
    let (now, restored) = (&server.contexts[now].0, &server.contexts[restored].0);
    let query = DiffQuery {
        rev_old: restored.revision,
        rev_new: now.revision,
        etcd_prefix: now.prefix.clone(),
        cancel: server.shutdown.clone(),
        ..DiffQuery::default()
    };
    diff(&restored.snapshot, &now.snapshot, &query, &now.decoder)
}

struct View<'a> {
    now: &'static Context,
    restored: &'static Context,
    result: &'a Arc<DiffResult>,
}

impl View<'_> {
    fn here(&self) -> String {
        page::diff_href(self.now, self.restored)
    }

    fn heading(&self) -> Markup {
        html! {
            p.muted {
                "The cluster is now at " span.mono { (self.now.name) } " (revision " (self.result.new.revision) "); "
                span.mono { (self.restored.name) } " (revision " (self.result.old.revision) ") is what a restore would bring. "
                a href=(page::diff_href(self.restored, self.now)) { "The other way round" }
            }
        }
    }

    fn summary(&self) -> Markup {
        let r = self.result;
        let total = r.summary.values().fold(Counts::default(), |t, c| Counts {
            lost: t.lost + c.lost,
            reappear: t.reappear + c.reappear,
            revert: t.revert + c.revert,
            rewritten: t.rewritten + c.rewritten,
            unchanged: t.unchanged + c.unchanged,
        });
        html! {
            h1 { "Restoring " span.mono { (self.restored.name) } " over " span.mono { (self.now.name) } }
            (self.heading())
            @for w in r.warnings() { p.warning role="alert" { (w) } }
            h2 { "Restore hazards" }
            (self.hazards(None))
            h2 { "Per resource" }
            p.muted {
                "lost: the restore deletes it · reappear: the restore brings it back · revert: the restore rolls its value back · "
                "rewritten: same bytes, written again since · unchanged: the same in both."
            }
            table.data #diff-summary data-keyboard {
                thead { tr { th scope="col" { "Resource" } @for class in Class::ALL { th.num scope="col" { (class.as_str()) } } } }
                tbody {
                    @for (group, counts) in &r.summary {
                        tr data-resource=(group) {
                            th scope="row" { (group) }
                            @for class in Class::ALL { (self.count_cell(Some(group), counts, class)) }
                        }
                    }
                }
                tfoot { tr { th scope="row" { "all keys" } @for class in Class::ALL { (self.count_cell(None, &total, class)) } } }
            }
        }
    }

    fn count_cell(&self, group: Option<&str>, counts: &Counts, class: Class) -> Markup {
        let n = counts.get(class);
        html! {
            td.num data-class=(class.as_str()) {
                @match group {
                    Some(g) if n > 0 && class != Class::Unchanged => {
                        a class=(format!("class-{}", class.as_str())) href=(href(&self.here(), &[("resource", g.as_bytes()), ("class", class.as_str().as_bytes())])) { (count(n)) }
                    }
                    _ => { (count(n)) }
                }
            }
        }
    }

    fn class_list(&self, resource: &str, class: Class, page_no: usize) -> Result<Markup, UiError> {
        let counts = self.result.summary.get(resource).ok_or_else(|| UiError::not_found(format!("no resource {resource:?} in this diff")))?;
        let total = counts.get(class) as usize;
        let from = (page_no - 1).saturating_mul(PAGE);
        let keys: Vec<&DiffEntry> = self.result.entries.iter().filter(|e| e.class == class && e.group == resource).skip(from).take(PAGE).collect();
        let pages = total.div_ceil(PAGE).max(1);
        let at = |p: usize| href(&self.here(), &[("resource", resource.as_bytes()), ("class", class.as_str().as_bytes()), ("page", p.to_string().as_bytes())]);
        Ok(html! {
            h1 { span class=(format!("class-{}", class.as_str())) { (class.as_str()) } ": " (resource) }
            (self.heading())
            p { a href=(self.here()) { "← every resource" } " · " span data-fact="total" { (count(total as u64)) } " keys" }
            @if pages > 1 || page_no > 1 {
                nav.pager aria-label="Pages of keys" {
                    @if page_no > 1 { a rel="prev" href=(at(page_no - 1)) { "← previous" } }
                    span { "page " (page_no) " of " (pages) }
                    @if page_no < pages { a rel="next" href=(at(page_no + 1)) { "next →" } }
                }
            }
            table.data #diff-keys data-keyboard {
                thead { tr {
                    th scope="col" { "Key" }
                    th.num scope="col" { "Modified at (" (self.now.name) ", now)" }
                    th.num scope="col" { "Modified at (" (self.restored.name) ", restored)" }
                    th scope="col" { "Parts that differ" }
                } }
                tbody {
                    @for e in keys {
                        tr {
                            td.key { a href=(href(&self.here(), &[("key", &e.key)])) { (key_text(&e.key)) } }
                            td.num { (mod_rev(e.new.as_ref())) }
                            td.num { (mod_rev(e.old.as_ref())) }
                            td { (e.parts.join(", ")) }
                        }
                    }
                }
            }
        })
    }

    fn key(&self, key: &[u8]) -> Result<Markup, UiError> {
        let entries = &self.result.entries;
        let entry = entries.binary_search_by(|e| e.key.as_slice().cmp(key)).ok().map(|i| &entries[i]);
        let Some(e) = entry else {
            // From the index of live keys (built once, shared with the API's lists), not a scan
            // of the file on the request's thread.
            let in_now = !self.now.index().map_err(UiError::internal)?.slice(&KeyRange::single(key), None).is_empty();
            return Ok(html! {
                h1 { span.key { (key_text(key)) } }
                (self.heading())
                @if in_now {
                    p.ok data-class="unchanged" { "unchanged: the same in both; the restore leaves it as it is." }
                } @else {
                    p.muted data-class="none" { "In neither input at the revisions compared." }
                }
                (self.side_links(key, in_now, in_now))
            });
        };
        let (now_name, restored_name) = (self.now.name.as_str(), self.restored.name.as_str());
        Ok(html! {
            h1 { span.key { (key_text(key)) } }
            (self.heading())
            p { "Class: " strong data-class=(e.class.as_str()) class=(format!("class-{}", e.class.as_str())) { (e.class.as_str()) } " — " (class_sentence(e.class)) }
            @if let Some(id) = &e.object { p.muted { (id.kubectl_name()) @if let Some(ns) = &id.namespace { " in namespace " (ns) } } }
            (self.side_links(key, e.new.is_some(), e.old.is_some()))
            p { a href=(href(&self.here(), &[("resource", e.group.as_bytes()), ("class", e.class.as_str().as_bytes())])) { "← every " (e.class.as_str()) " key of " (e.group) } }
            h2 { "Both sides" }
            table.data #diff-sides {
                thead { tr { th scope="col" { "" } th scope="col" { (now_name) " (now)" } th scope="col" { (restored_name) " (restored)" } } }
                tbody {
                    (side_row("create_revision", e.new.as_ref(), e.old.as_ref(), |s| html! { (s.create_revision) }))
                    (side_row("mod_revision", e.new.as_ref(), e.old.as_ref(), |s| html! { (s.mod_revision) }))
                    (side_row("version", e.new.as_ref(), e.old.as_ref(), |s| html! { (s.version) }))
                    (side_row("lease", e.new.as_ref(), e.old.as_ref(), |s| html! { @if s.lease == 0 { "-" } @else { span.mono { (format!("{:016x}", s.lease)) } } }))
                    (side_row("value size", e.new.as_ref(), e.old.as_ref(), |s| bytes(s.value_size as u64)))
                }
            }
            @match &e.changes {
                Some(Ok(changes)) => {
                    h2 { "Fields that differ" }
                    p.muted { "Parts: " (e.parts.join(", ")) }
                    (changes_table(&now_to_restored(changes), &format!("{now_name} (now)"), &format!("{restored_name} (after the restore)")))
                }
                Some(Err(reason)) => { h2 { "Fields that differ" } p.warning { "Not compared: " (reason) } }
                None => {}
            }
            h2 { "Hazards" }
            (self.hazards(Some(key)))
        })
    }

    /// Links to the key's page and timeline in each input that holds it (a side without it
    /// has no page to show).
    fn side_links(&self, key: &[u8], in_now: bool, in_restored: bool) -> Markup {
        html! {
            p.links {
                @for (context, held) in [(self.now, in_now), (self.restored, in_restored)] {
                    @if held {
                        a href=(page::key_href(context, key)) { "key in " (context.name) } " · "
                        a href=(page::history_href(context, key)) { "timeline in " (context.name) } " · "
                    } @else {
                        span.muted { "not in " (context.name) } " · "
                    }
                }
                a href=(page::diff_href(self.restored, self.now)) { "the other way round" }
            }
        }
    }

    /// The restore hazards; with `key`, only those it is part of (and the revision rewind).
    fn hazards(&self, key: Option<&[u8]>) -> Markup {
        let h = &self.result.hazards;
        let has = |keys: &[Vec<u8>]| key.map_or(true, |k| keys.iter().any(|x| x == k));
        let orphans: Vec<_> = h.orphans.iter().filter(|o| has(&o.dependents)).collect();
        let stranded: Vec<_> = h.stranded_pods.iter().filter(|p| has(&p.pods)).collect();
        let leases: Vec<_> = h.leases_back.iter().filter(|l| has(&l.keys)).collect();
        let none = h.revision_rewind.is_none() && orphans.is_empty() && stranded.is_empty() && leases.is_empty();
        html! {
            div.hazards #hazards {
                @if let Some(n) = h.revision_rewind {
                    p.warning data-hazard="revision-rewind" {
                        "Revisions go back by " (n) ": " (self.restored.name) " is at revision " (self.result.old.revision) ", " (self.now.name) " at " (self.result.new.revision)
                        ". Watchers and informers that saw the newer revisions must re-list."
                    }
                }
                @for o in &orphans {
                    div.warning data-hazard="orphans" {
                        "Owner " (o.owner_kind) " " span.mono { (o.owner_name) } " (uid " span.mono { (o.owner_uid) } ") is not in " (self.restored.name)
                        @if o.owner_in_new { " (it is in " (self.now.name) ": the restore removes it)" }
                        ": the garbage collector deletes its " (plural(o.dependents.len(), "dependent", "dependents")) " after the restore."
                        (self.key_list(&o.dependents))
                    }
                }
                @for p in &stranded {
                    div.warning data-hazard="stranded-pods" {
                        "Node " span.mono { (p.node) } " has no Node object in " (self.restored.name)
                        @if p.node_in_new { " (it is in " (self.now.name) "; its kubelet registers it again)" }
                        ": " (plural(p.pods.len(), "pod", "pods")) " bound to it."
                        (self.key_list(&p.pods))
                    }
                }
                @for l in &leases {
                    div.warning data-hazard="leases-back" {
                        "Lease " span.mono { (format!("{:016x}", l.id)) } " (TTL " (l.ttl) " s) is back: its keys return until it expires again."
                        (self.key_list(&l.keys))
                    }
                }
                @if none { p.ok data-hazard="none" { "No restore hazard found." } }
                @if key.is_none() && h.unreadable != [0, 0] {
                    p.muted { "Objects whose uid and owners could not be read: " (h.unreadable[0]) " in " (self.restored.name) ", " (h.unreadable[1]) " in " (self.now.name) "." }
                }
            }
        }
    }

    fn key_list(&self, keys: &[Vec<u8>]) -> Markup {
        html! {
            ul.keys {
                @for k in keys.iter().take(HAZARD_KEYS) { li { a.key href=(href(&self.here(), &[("key", k)])) { (key_text(k)) } } }
            }
            @if keys.len() > HAZARD_KEYS { p.muted { "and " (keys.len() - HAZARD_KEYS) " more" } }
        }
    }
}

/// `1 pod`, `3 pods`.
fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn mod_rev(s: Option<&Side>) -> Markup {
    match s {
        Some(s) => html! { (s.mod_revision) },
        None => html! { span.muted { "absent" } },
    }
}

fn side_row(label: &str, now: Option<&Side>, restored: Option<&Side>, show: impl Fn(&Side) -> Markup) -> Markup {
    html! {
        tr {
            th scope="row" { (label) }
            @for s in [now, restored] {
                td { @match s { Some(s) => { (show(s)) } None => { span.muted { "absent" } } } }
            }
        }
    }
}

/// `diff`'s changes run from the restored side (`old`) to the side now (`new`); shown the way a
/// restore goes: now, then after the restore.
fn now_to_restored(changes: &[Change]) -> Vec<Change> {
    changes.iter().map(|c| Change { path: c.path.clone(), old: c.new.clone(), new: c.old.clone() }).collect()
}

fn class_sentence(c: Class) -> &'static str {
    match c {
        Class::Lost => "it exists now and not in the backup: the restore deletes it.",
        Class::Reappear => "it is gone now and in the backup: the restore brings it back.",
        Class::Revert => "its value now differs from the backup's: the restore rolls it back.",
        Class::Rewritten => "the same bytes, written again since: the restore changes its revisions only.",
        Class::Unchanged => "the same in both.",
    }
}
