//! The object timeline (`/ui/CTX/history?key=K`): every retained revision of one key, as
//! `history` reads it ([`crate::views::history::history_each`]), drawn on a revision axis and,
//! where the time evidence of `--at` allows ([`crate::views::timeline`]), on a time axis;
//! grouped by incarnation (a key deleted and created again is another object, with another
//! uid); and at each update the fields that changed, old beside new. The changes are those
//! `history` computes, Secrets already redacted by the one Secret rule unless serve was started
//! with `--show-secrets`.
//!
//! A long history is paged ([`PAGE`] events a page, `?page=N`); the totals are always whole.
//! Only the events of the page shown keep their field changes.

use super::page::{self, bytes, count, facts, key_text, Nav, Tab};
use super::query::href;
use super::{blocking, context_at, ok_page, UiError, UiRequest, UiResult};
use crate::cancel::Cancel;
use crate::k8s::fields::Change;
use crate::serve::context::Context;
use crate::views::history::{history_each, nothing_found_suggesting, EventKind, HistoryQuery, HistorySummary, NothingFound, PreviousPut, Target};
use crate::views::timeline::{describe, revision_times_each, Evidence};
use axum::http::StatusCode;
use maud::{html, Markup};
use serde_json::Value;
use std::ops::ControlFlow;
use std::sync::Arc;

/// Events shown on one page.
pub const PAGE: usize = 200;

/// Revisions drawn with their number under the mark (more: only the first and last).
const LABELLED: usize = 40;

/// What the time evidence says of every revision: the revisions at which the newest timestamp
/// written so far rises, each with that timestamp. A revision happened at or after the newest
/// timestamp written at or before it (see [`crate::views::timeline`]).
pub struct TimeBounds {
    rises: Vec<(i64, Evidence)>,
}

impl TimeBounds {
    /// One pass over the revisions of `context` up to the one served.
    pub fn read(context: &Context, cancel: &Cancel) -> crate::error::Result<TimeBounds> {
        let mut rises: Vec<(i64, Evidence)> = Vec::new();
        revision_times_each(&context.snapshot, &context.decoder, &context.prefix, context.revision, cancel, &mut |r| {
            // Kept per second: a bound a fraction of a second lower is still a bound, and the
            // list stays as short as the seconds the history spans.
            if rises.last().map_or(true, |(_, e)| r.latest.time.seconds > e.time.seconds) {
                rises.push((r.revision, r.latest));
            }
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(TimeBounds { rises })
    }

    /// The newest timestamp written at or before `revision`: `revision` happened at or after it.
    pub fn lower_bound(&self, revision: i64) -> Option<&Evidence> {
        let after = self.rises.partition_point(|(r, _)| *r <= revision);
        after.checked_sub(1).map(|i| &self.rises[i].1)
    }
}

/// What the timeline keeps of one event.
struct Step {
    revision: i64,
    kind: EventKind,
    incarnation: Option<i64>,
    before_compaction: bool,
    /// Only for the events of the page shown.
    detail: Option<Detail>,
}

struct Detail {
    version: i64,
    lease: i64,
    value_size: usize,
    value_redacted: bool,
    is_object: bool,
    undecodable: Option<String>,
    changes: Option<Vec<Change>>,
    previous: Option<PreviousPut>,
}

/// One generation of the key: from a create (or the oldest retained entry) to its delete.
struct Incarnation {
    created: Option<i64>,
    uid: Option<String>,
    first: i64,
    last: i64,
    deleted: Option<i64>,
    events: u64,
}

struct Timeline {
    steps: Vec<Step>,
    incarnations: Vec<Incarnation>,
    summary: HistorySummary,
    /// Why there is no event, when there is none.
    nothing: Option<NothingFound>,
}

/// Reads the events of `key` up to the served revision, keeping the details of those on `page`.
fn read(context: &'static Context, key: Vec<u8>, page: usize, cancel: Cancel) -> Result<Timeline, UiError> {
    let query = HistoryQuery {
        target: Target::Key(key),
        from_rev: None,
        to_rev: Some(context.revision),
        etcd_prefix: context.prefix.clone(),
        all_fields: false,
        cancel,
    };
    let first = page.saturating_mul(PAGE);
    let shown = first..first.saturating_add(PAGE);
    let mut steps: Vec<Step> = Vec::new();
    let mut incarnations: Vec<Incarnation> = Vec::new();
    let summary = history_each(&context.snapshot, &query, &context.decoder, &mut |e| {
        let main = e.revision.main;
        let uid = match &e.object {
            Some(Ok(o)) => o.pointer("/metadata/uid").and_then(Value::as_str).map(str::to_string),
            _ => None,
        };
        let same = incarnations.last().is_some_and(|i| i.deleted.is_none() && (i.created == e.incarnation || e.incarnation.is_none()));
        if !same {
            incarnations.push(Incarnation { created: e.incarnation, uid: None, first: main, last: main, deleted: None, events: 0 });
        }
        if let Some(current) = incarnations.last_mut() {
            current.last = main;
            current.events += 1;
            current.uid = current.uid.take().or(uid);
            if e.kind == EventKind::Delete {
                current.deleted = Some(main);
            }
        }
        let detail = shown.contains(&steps.len()).then(|| Detail {
            version: e.kv.version,
            lease: e.kv.lease,
            value_size: e.value_size,
            value_redacted: e.value_redacted,
            is_object: e.object_id.is_some(),
            undecodable: match &e.object {
                Some(Err(reason)) => Some(reason.clone()),
                _ => None,
            },
            changes: e.changes.clone(),
            previous: e.previous,
        });
        steps.push(Step { revision: main, kind: e.kind, incarnation: e.incarnation, before_compaction: e.before_compaction, detail });
        Ok(())
    })?;
    let nothing = if steps.is_empty() { Some(nothing_found_suggesting(&context.snapshot, &query, &context.decoder, false)?) } else { None };
    Ok(Timeline { steps, incarnations, summary, nothing })
}

/// `/ui/CTX/history?key=K[&page=N]`
pub async fn page(req: UiRequest) -> UiResult {
    let (server, index) = (req.server, req.index);
    let (context, _) = context_at(server, index);
    let Some(key) = req.query.bytes("key").map(<[u8]>::to_vec) else {
        return Ok(ok_page(page::layout(Some(server), &Nav::of(context, Tab::Keys), "Timeline", ask_for_key(context))));
    };
    let page_no = req.query.number::<usize>("page").unwrap_or(1).max(1);
    let (wanted, key_in) = (key.clone(), key.clone());
    let (timeline, times, live_in) = blocking(move || {
        let (context, state) = context_at(server, index);
        let timeline = read(context, wanted, page_no - 1, server.shutdown.clone())?;
        let times = if timeline.steps.is_empty() { None } else { Some(state.times.get(|| TimeBounds::read(context, &server.shutdown))) };
        let live_in = server.contexts.iter().map(|(c, _)| is_live(c, &key_in)).collect::<Result<Vec<bool>, UiError>>()?;
        Ok((timeline, times, live_in))
    })
    .await?;
    let title = format!("Timeline of {}", key_text(&key));
    if let Some(nothing) = &timeline.nothing {
        let body = nothing_page(context, &key, nothing, &timeline.summary);
        // Revisions only after the served one are there, just not served: a page, not a 404.
        let code = if matches!(nothing, NothingFound::OutsideRange { .. }) { StatusCode::OK } else { StatusCode::NOT_FOUND };
        return Ok(super::html(code, page::layout(Some(server), &Nav::of(context, Tab::Keys), &title, body).into_string()));
    }
    let times = times.unwrap_or_else(|| Err("not read".into()));
    let view = View { server, context, key: &key, timeline: &timeline, times: &times, page: page_no, live_in: &live_in };
    Ok(ok_page(page::layout(Some(server), &Nav::of(context, Tab::Keys), &title, view.render())))
}

/// Whether `key` is live in `context` at the revision it serves.
fn is_live(context: &'static Context, key: &[u8]) -> Result<bool, UiError> {
    let index = context.index().map_err(UiError::internal)?;
    Ok(!index.slice(&crate::etcd::KeyRange::single(key), None).is_empty())
}

fn ask_for_key(context: &Context) -> Markup {
    html! {
        h1 { "Timeline of a key" }
        form method="get" action=(format!("/ui/{}/history", context.name)) {
            label for="timeline-key" { "Key " }
            input #timeline-key type="text" name="key" size="60" placeholder="/registry/pods/default/web";
            " "
            button type="submit" { "Show its revisions" }
        }
    }
}

fn nothing_page(context: &Context, key: &[u8], nothing: &NothingFound, summary: &HistorySummary) -> Markup {
    html! {
        h1 { "Timeline of " span.key { (key_text(key)) } }
        @match nothing {
            NothingFound::OutsideRange { first, last } => {
                p.warning role="alert" { "This key has retained revisions " (first) " to " (last) ", none at or before the revision served (" (context.revision) ")." }
            }
            NothingFound::NoTrace { near } => {
                p.warning role="alert" {
                    @if summary.compact_revision > 0 {
                        "No revision of this key is retained: it never existed, or it was deleted before the compaction at revision " (summary.compact_revision) " (etcd then keeps nothing of it)."
                    } @else {
                        "No revision of this key is retained: it never existed in this file."
                    }
                }
                @if !near.is_empty() {
                    p { "Keys with close names:" }
                    ul { @for k in near { li { a.key href=(page::history_href(context, k.as_bytes())) { (k) } } } }
                }
            }
            NothingFound::OtherNamespaces { namespaces } => {
                p.warning role="alert" { "Nothing here; objects of this type are in: " (namespaces.join(", ")) }
            }
        }
        p { a href=(page::keys_href(context, b"")) { "Browse the keys" } }
    }
}

/// One timeline page being rendered.
struct View<'a> {
    server: &'a crate::serve::Server,
    context: &'a Context,
    key: &'a [u8],
    timeline: &'a Timeline,
    times: &'a Result<Arc<TimeBounds>, String>,
    /// 1-based.
    page: usize,
    /// Per served input (in order): whether the key is live there at the revision served.
    live_in: &'a [bool],
}

impl View<'_> {
    /// This input's place among the served ones.
    fn index(&self) -> usize {
        self.server.contexts.iter().position(|(c, _)| c.name == self.context.name).unwrap_or(0)
    }

    fn shown(&self) -> &[Step] {
        let steps = &self.timeline.steps;
        let from = (self.page - 1).saturating_mul(PAGE).min(steps.len());
        &steps[from..from.saturating_add(PAGE).min(steps.len())]
    }

    fn render(&self) -> Markup {
        let t = self.timeline;
        html! {
            h1 { "Timeline of " span.key { (key_text(self.key)) } }
            p.links {
                @if self.live_in.get(self.index()).copied().unwrap_or(false) {
                    a href=(page::key_href(self.context, self.key)) { "The key now" }
                } @else {
                    span.muted { "Not live at the revision served" }
                }
                @for (i, (other, _)) in self.server.contexts.iter().enumerate().filter(|(_, (c, _))| c.name != self.context.name) {
                    " · "
                    a href=(href(&page::diff_href(self.context, other), &[("key", self.key)])) { "What restoring " (other.name) " would do to it" }
                    @if self.live_in.get(i).copied().unwrap_or(false) {
                        " · "
                        a href=(page::history_href(other, self.key)) { "Its timeline in " (other.name) }
                    }
                }
            }
            (facts(&[
                ("events", html! { span data-fact="events" { (count(t.summary.events)) } }),
                ("incarnations", html! { span data-fact="incarnations" { (count(t.incarnations.len() as u64)) } }),
                ("revisions read", html! { "up to " (t.summary.to_rev) " (served); current " (t.summary.current_revision) }),
            ]))
            (self.compaction_note())
            (self.incarnations())
            (self.pager())
            @if self.shown().is_empty() {
                p.note #past-the-end { "No event on page " (self.page) ": the history has " (t.steps.len()) " events, " (PAGE) " a page." }
            } @else {
                h2 { "On the revision axis" }
                (self.revision_axis())
                h2 { "On the time axis" }
                (self.time_axis())
                h2 { "Revision by revision" }
                (self.events())
                (self.pager())
            }
        }
    }

    fn compaction_note(&self) -> Markup {
        let s = &self.timeline.summary;
        html! {
            @if s.compact_revision > 0 {
                p.note #compaction {
                    "etcd compacted this file at revision " (s.compact_revision) ": every revision of this key before it is gone, "
                    "so what the key went through before then cannot be told. "
                    @if self.timeline.steps.first().is_some_and(|e| e.before_compaction) {
                        "The first entry below (written at revision " (s.oldest_retained) ") is the key's value as etcd kept it at the compaction."
                    } @else {
                        "The oldest retained revision of this key is " (s.oldest_retained) "."
                    }
                }
            } @else {
                p.muted #compaction { "Never compacted: every revision of this key is here." }
            }
        }
    }

    fn incarnations(&self) -> Markup {
        let list = &self.timeline.incarnations;
        html! {
            h2 { "Incarnations" }
            p.muted { "A key deleted and created again holds another object (another uid): each is one incarnation." }
            table.data #incarnations data-keyboard {
                thead { tr { th { "#" } th.num { "Created at" } th { "UID" } th.num { "Revisions" } th.num { "Events" } th.num { "Deleted at" } } }
                tbody {
                    @for (n, i) in list.iter().enumerate() {
                        tr data-created=[i.created] {
                            td { (n + 1) }
                            td.num { @match i.created { Some(c) => { a href=(format!("#rev-{c}")) { (c) } } None => { span.muted { "not retained" } } } }
                            td.mono { (i.uid.as_deref().unwrap_or("-")) }
                            td.num { (i.first) "–" (i.last) }
                            td.num { (i.events) }
                            td.num { @match i.deleted { Some(d) => { a href=(format!("#rev-{d}")) { (d) } } None => { "live" } } }
                        }
                    }
                }
            }
        }
    }

    fn pager(&self) -> Markup {
        let total = self.timeline.steps.len();
        let pages = total.div_ceil(PAGE).max(1);
        let at = |p: usize| href(&format!("/ui/{}/history", self.context.name), &[("key", self.key), ("page", p.to_string().as_bytes())]);
        let from = (self.page - 1).saturating_mul(PAGE).min(total);
        html! {
            @if pages > 1 || self.page > 1 {
                nav.pager aria-label="Pages of events" {
                    @if self.page > 1 { a rel="prev" href=(at(self.page - 1)) { "← earlier" } }
                    span { "events " (from + 1) "–" (from.saturating_add(PAGE).min(total)) " of " (count(total as u64)) " (page " (self.page) " of " (pages) ")" }
                    @if self.page < pages { a rel="next" href=(at(self.page + 1)) { "later →" } }
                    @if self.page > pages { a href=(at(pages)) { "last page" } }
                }
            }
        }
    }

    fn revision_axis(&self) -> Markup {
        let shown = self.shown();
        let (lo, hi) = match (shown.first(), shown.last()) {
            (Some(a), Some(b)) => (a.revision, b.revision),
            _ => return html! {},
        };
        let x = |rev: i64| if hi == lo { 500.0 } else { 30.0 + (rev - lo) as f64 / (hi - lo) as f64 * 940.0 };
        let labelled = shown.len() <= LABELLED;
        html! {
            figure.axis-figure {
                svg.axis #revision-axis viewBox="0 0 1000 64" role="img" aria-label=(format!("revisions {lo} to {hi}: {} events", shown.len())) {
                    line x1="10" y1="26" x2="990" y2="26" {}
                    @for s in shown {
                        (mark(s, x(s.revision), 26.0))
                        @if labelled || s.revision == lo || s.revision == hi {
                            text x=(format!("{:.1}", x(s.revision))) y="56" text-anchor="middle" { (s.revision) }
                        }
                    }
                }
                figcaption { (legend()) " Revision " (lo) " to " (hi) "; each mark links to its entry below." }
            }
        }
    }

    fn time_axis(&self) -> Markup {
        let bounds = match self.times {
            Ok(b) => b,
            Err(e) => return html! { p.error { "The time evidence could not be read: " (e) } },
        };
        let placed: Vec<(&Step, &Evidence)> = self.shown().iter().filter_map(|s| bounds.lower_bound(s.revision).map(|e| (s, e))).collect();
        let (Some(first), Some(last)) = (placed.first(), placed.last()) else {
            return html! {
                p.note #no-time-evidence {
                    "No time evidence: no Kubernetes object written at or before these revisions carries a timestamp, "
                    "and etcd records no time for a revision, so they cannot be placed in time."
                }
            };
        };
        let (lo, hi) = (first.1.time.seconds, last.1.time.seconds);
        let x = |t: i64| if hi == lo { 500.0 } else { 30.0 + (t - lo) as f64 / (hi - lo) as f64 * 940.0 };
        let unplaced = self.shown().len() - placed.len();
        html! {
            figure.axis-figure {
                svg.axis.time #time-axis viewBox="0 0 1000 110" role="img" aria-label=(format!("lower bounds from {} to {}", first.1.time, last.1.time)) {
                    line x1="10" y1="72" x2="990" y2="72" {}
                    @for (s, x, y) in stacked(placed.iter().map(|(s, e)| (*s, x(e.time.seconds)))) { (mark(s, x, y)) }
                    text x="30" y="102" text-anchor="start" { (first.1.time) }
                    @if hi != lo { text x="970" y="102" text-anchor="end" { (last.1.time) } }
                }
                figcaption {
                    "Each revision at the newest timestamp written at or before it: it happened at that time or later (a lower bound; etcd records no time). "
                    @if unplaced > 0 { (unplaced) " revisions come before any timestamp and are not drawn." }
                }
            }
        }
    }

    fn events(&self) -> Markup {
        let shown = self.shown();
        let groups = shown.chunk_by(|a, b| a.incarnation == b.incarnation && a.kind != EventKind::Delete);
        html! {
            @for group in groups {
                @let inc = self.timeline.incarnations.iter().find(|i| i.created == group[0].incarnation && i.first <= group[0].revision && group[0].revision <= i.last);
                section.incarnation data-incarnation=[group[0].incarnation] {
                    h3 {
                        @match group[0].incarnation {
                            Some(c) => { "Incarnation created at revision " (c) }
                            None => { "Incarnation whose puts are not retained" }
                        }
                        @if let Some(uid) = inc.and_then(|i| i.uid.as_deref()) { " · uid " span.mono { (uid) } }
                    }
                    ol.timeline {
                        @for s in group { (self.event(s)) }
                    }
                }
            }
        }
    }

    fn event(&self, s: &Step) -> Markup {
        let c = self.context;
        // An entry older than the compaction is the key's value at the compaction: readable there.
        let readable = s.revision.max(self.timeline.summary.compact_revision);
        let at_rev = href(&format!("/ui/{}/key", c.name), &[("key", self.key), ("rev", readable.to_string().as_bytes())]);
        let bound = self.times.as_ref().ok().and_then(|b| b.lower_bound(s.revision));
        html! {
            li id=(format!("rev-{}", s.revision)) class=(s.kind.as_str()) data-revision=(s.revision) data-event=(watch_type(s.kind)) {
                h4 {
                    (kind_word(s.kind)) " at revision " (s.revision)
                    @if s.before_compaction { " " span.badge.warn { "state at compaction" } }
                }
                p.meta {
                    @if s.kind == EventKind::Delete { span.muted { "no value from here on" } } @else { a href=(at_rev) { "the key at revision " (readable) } }
                    @if let Some(e) = bound { " · written at or after " span.time title=(describe(e)) { (e.time) } }
                }
                @if s.before_compaction {
                    p.muted { "Written at revision " (s.revision) ", before the compaction at " (self.timeline.summary.compact_revision) ": kept as the key's value then; the revisions before it are gone." }
                }
                @if let Some(d) = &s.detail { (detail(s.kind, s.revision, d)) }
            }
        }
    }
}

fn detail(kind: EventKind, revision: i64, d: &Detail) -> Markup {
    html! {
        @if kind != EventKind::Delete {
            p.muted {
                "version " (d.version) " · " (bytes(d.value_size as u64))
                @if d.lease != 0 { " · lease " span.mono { (format!("{:016x}", d.lease)) } }
                @if d.value_redacted { " · a Secret's value: not shown (serve --show-secrets shows it)" }
            }
        }
        @if let Some(reason) = &d.undecodable { p.warning { "Not decoded: " (reason) } }
        @if kind == EventKind::Update {
            @match (&d.changes, d.previous) {
                (Some(changes), _) if changes.is_empty() => { p.muted { "No field changed (only resourceVersion or managedFields)." } }
                (Some(changes), prev) => {
                    (changes_table(changes, &prev.map_or("Old".to_string(), |p| format!("Old (revision {})", p.mod_revision)), &format!("New (revision {revision})")))
                }
                (None, Some(p)) if p.same_value => { p.muted { "The same bytes written again (previous put at revision " (p.mod_revision) ")." } }
                (None, Some(p)) if d.is_object => { p.muted { "Fields not compared with revision " (p.mod_revision) ": a version does not decode, or it is stored under the secrets prefix without being a Secret." } }
                (None, Some(p)) => { p.muted { "Not a Kubernetes object: " (bytes(p.value_size as u64)) " at revision " (p.mod_revision) " became " (bytes(d.value_size as u64)) "." } }
                (None, None) => { p.muted { "The previous put is not retained (compacted): nothing to compare with." } }
            }
        }
    }
}

/// Field-level changes, old beside new, under the columns' names.
pub fn changes_table(changes: &[Change], old_label: &str, new_label: &str) -> Markup {
    html! {
        table.changes.data {
            thead { tr { th scope="col" { "Field" } th scope="col" { (old_label) } th scope="col" { (new_label) } } }
            tbody {
                @for c in changes {
                    tr data-path=(c.path) {
                        th.path scope="row" { (c.path) }
                        td.old { (value_text(c.old.as_ref())) }
                        td.new { (value_text(c.new.as_ref())) }
                    }
                }
            }
        }
    }
}

/// A field's value as text: strings as they are, anything else as JSON; an absent side says so.
pub fn value_text(v: Option<&Value>) -> Markup {
    match v {
        None => html! { span.muted.absent { "(absent)" } },
        Some(Value::String(s)) => html! { span.value { (s) } },
        Some(other) => html! { span.value.json { (serde_json::to_string(other).unwrap_or_default()) } },
    }
}

/// Marks that would cover each other (closer than a mark's width) are stacked upwards from the
/// line, four high, then start again at the line.
fn stacked<'s>(marks: impl Iterator<Item = (&'s Step, f64)>) -> Vec<(&'s Step, f64, f64)> {
    let mut out: Vec<(&Step, f64, f64)> = Vec::new();
    let (mut base, mut level) = (f64::NEG_INFINITY, 0);
    for (s, x) in marks {
        if x - base < 16.0 {
            level = (level + 1) % 4;
        } else {
            (base, level) = (x, 0);
        }
        out.push((s, x, 72.0 - 18.0 * f64::from(level)));
    }
    out
}

fn kind_word(k: EventKind) -> &'static str {
    match k {
        EventKind::Create => "Created",
        EventKind::Update => "Updated",
        EventKind::Delete => "Deleted",
    }
}

/// The event type etcd's watch gives.
fn watch_type(k: EventKind) -> &'static str {
    if k == EventKind::Delete {
        "DELETE"
    } else {
        "PUT"
    }
}

/// One event's mark on an axis: a circle for a create, a square for an update, a cross for a
/// delete (shape and colour both say which), linking to its entry.
fn mark(s: &Step, x: f64, y: f64) -> Markup {
    let label = format!("{} at revision {}", kind_word(s.kind), s.revision);
    html! {
        a.mark href=(format!("#rev-{}", s.revision)) data-revision=(s.revision) data-event=(watch_type(s.kind)) aria-label=(label) {
            title { (label) }
            (shape(s.kind, x, y))
        }
    }
}

fn shape(kind: EventKind, x: f64, y: f64) -> Markup {
    match kind {
        EventKind::Create => html! { circle.mark-create cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="8" {} },
        EventKind::Update => html! { rect.mark-update x=(format!("{:.1}", x - 6.5)) y=(format!("{:.1}", y - 6.5)) width="13" height="13" {} },
        EventKind::Delete => html! {
            path.mark-delete d=(format!("M{:.1} {:.1}l14 14m0 -14l-14 14", x - 7.0, y - 7.0)) {}
        },
    }
}

/// The marks' key.
fn legend() -> Markup {
    html! {
        span.legend.marks {
            @for (kind, word) in [(EventKind::Create, "created"), (EventKind::Update, "updated"), (EventKind::Delete, "deleted")] {
                svg.swatch-mark viewBox="0 0 20 20" aria-hidden="true" { (shape(kind, 10.0, 10.0)) }
                " " (word) " "
            }
        }
    }
}
