//! The space view (`/ui/CTX/space`): where an input's bytes are, as a zoomable treemap
//! resource → namespace → object, beside the keys with the most history and what compaction
//! and defragmentation would give back against etcd's quotas — `analyze`'s numbers
//! ([`super::space_tree`] holds them, built once per input).
//!
//! Zooming is navigation: every tile is an SVG `<a href>` to the level below (`?path=pods`,
//! `?path=pods/default`) or, for a key, to its key page; breadcrumbs lead back up and
//! `?measure=history` (areas by retained bytes instead of live bytes) travels with every link.
//! A level draws at most [`MAX_TILES`] tiles; the rest share one "N others" tile that carries
//! their summed bytes, so every level's tiles add up to its exact totals. Tiles carry their
//! numbers in `data-*` attributes and a `<title>` tooltip; labels are drawn only where they fit.
//! The layout is [`super::treemap`]'s; colour is churn (revisions per key) in the viridis
//! classes c0–c9, with a legend.

use super::page::{self, bytes, count, facts, Nav, Tab};
use super::query::href;
use super::space_tree::{Item, Measure, Node, SpaceModel, Sums, CHURN_CLASSES};
use super::treemap::{squarify, Rect};
use super::{blocking, context_at, ok_page, UiError, UiRequest, UiResult};
use crate::serve::context::Context;
use crate::views::analyze::KeyTotals;
use crate::views::text::human_size;
use maud::{html, Markup};
use std::sync::Arc;

/// Most tiles (and table rows) a level draws; the rest are one "others" tile.
pub const MAX_TILES: usize = 300;
/// Keys listed by history bytes beside the treemap.
const TOP_KEYS: usize = 15;
/// The SVG's coordinate system (it scales to the page's width).
const VIEW_W: f64 = 1000.0;
const VIEW_H: f64 = 600.0;
/// Label metrics in SVG units (app.css sets the font size): an average character's width,
/// a line's height, the padding inside a tile.
const CHAR_W: f64 = 7.4;
const LINE_H: f64 = 16.0;
const PAD: f64 = 4.0;

/// `/ui/CTX/space?path=…&measure=…`
pub async fn page(req: UiRequest) -> UiResult {
    let measure = Measure::parse(req.query.text("measure").as_deref()).ok_or_else(|| UiError::bad_request("measure is live (the default) or history"))?;
    let path = req.query.text("path").unwrap_or_default();
    let (server, index) = (req.server, req.index);
    let model = blocking(move || {
        let (context, state) = context_at(server, index);
        state.space.get(|| super::space_tree::build(context, &server.shutdown)).map_err(UiError::internal)
    })
    .await?;
    let (context, _) = context_at(server, index);
    let body = render(context, &model, &path, measure)?;
    Ok(ok_page(page::layout(Some(server), &Nav::of(context, Tab::Space), "Space", body)))
}

/// A link to the level `path` with the same measure.
fn level_href(c: &Context, path: &str, measure: Measure) -> String {
    href(&format!("/ui/{}/space", c.name), &[("path", path.as_bytes()), ("measure", measure.query_value().as_bytes())])
}

/// One tile: what it shows, where it leads.
struct Tile {
    name: String,
    kind: &'static str,
    href: String,
    sums: Sums,
}

fn render(c: &Context, model: &Arc<SpaceModel>, path: &str, measure: Measure) -> Result<Markup, UiError> {
    let chain = model.level(path).ok_or_else(|| UiError::not_found(format!("the space of {} has no level {path:?}", c.name)))?;
    let node = *chain.last().unwrap_or(&&model.root);
    let items = model.items(node, measure);
    let tiles = tiles(c, model, &chain, &items, measure);
    let title = if chain.len() == 1 { "every group".to_string() } else { path.to_string() };
    Ok(html! {
        h1 { "Space of " span.mono { (c.name) } }
        (breadcrumbs(c, &chain, measure))
        p.summary data-level=(path) {
            (count(node.sums.keys)) " live keys · " (bytes(node.sums.live_bytes)) " live · "
            (bytes(node.sums.history_bytes)) " retained in " (count(node.sums.revisions)) " revisions ("
            (format!("{:.1}", node.sums.churn())) " a key) · " (count(node.sums.tombstones)) " tombstones"
        }
        @if c.revision != c.snapshot.store().current_revision() {
            p.note data-fact="whole-file" {
                "These are the file's bytes, as " code { "analyze" } " counts them: every revision it keeps, up to "
                (c.snapshot.store().current_revision()) ", not only those up to the revision served (" (c.revision) ")."
            }
        }
        div.space-layout {
            section.space-map aria-labelledby="map-heading" {
                h2 #map-heading { "Treemap of " span.mono { (title) } }
                (measure_switch(c, path, measure))
                (treemap(&tiles, measure, &title))
                (legend())
                (level_table(&tiles, node, measure))
            }
            aside.space-side aria-label="Space figures" {
                (reclaim_section(model))
                (top_keys_section(c, model, node))
            }
        }
    })
}

/// The tiles of a level: the largest [`MAX_TILES`] items, and one for the rest.
fn tiles(c: &Context, model: &SpaceModel, chain: &[&Node], items: &[Item<'_>], measure: Measure) -> Vec<Tile> {
    let base: Vec<&str> = chain[1..].iter().map(|n| n.name.as_str()).collect();
    let shown = items.len().min(if items.len() > MAX_TILES { MAX_TILES - 1 } else { MAX_TILES });
    let mut tiles: Vec<Tile> = items[..shown]
        .iter()
        .map(|item| match item {
            Item::Node(n) => {
                let path = base.iter().copied().chain([n.name.as_str()]).collect::<Vec<_>>().join("/");
                Tile { name: n.name.clone(), kind: if chain.len() == 1 { "group" } else { "namespace" }, href: level_href(c, &path, measure), sums: n.sums }
            }
            Item::Key(_, k) => key_tile(c, item, k),
        })
        .collect();
    let rest = &items[shown..];
    if !rest.is_empty() {
        let mut sums = Sums::default();
        for item in rest {
            sums.add(&item.sums());
        }
        tiles.push(Tile { name: format!("{} others", rest.len()), kind: "others", href: page::keys_href(c, model.common_prefix(rest)), sums });
    }
    tiles
}

fn key_tile(c: &Context, item: &Item<'_>, k: &KeyTotals<'_>) -> Tile {
    Tile { name: item.name().into_owned(), kind: "key", href: page::key_href(c, k.key), sums: Sums::of_key(k) }
}

fn breadcrumbs(c: &Context, chain: &[&Node], measure: Measure) -> Markup {
    let mut path = String::new();
    let mut crumbs = vec![("every group".to_string(), String::new())];
    for node in &chain[1..] {
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(&node.name);
        crumbs.push((node.name.clone(), path.clone()));
    }
    let last = crumbs.len() - 1;
    html! {
        nav.breadcrumbs aria-label="Level" {
            ol {
                @for (i, (name, path)) in crumbs.iter().enumerate() {
                    li {
                        @if i == last { span aria-current="page" { (name) } }
                        @else { a href=(level_href(c, path, measure)) { (name) } }
                    }
                }
            }
        }
    }
}

fn measure_switch(c: &Context, path: &str, measure: Measure) -> Markup {
    let option = |m: Measure, label: &str| {
        html! { a href=(level_href(c, path, m)) aria-current=[(m == measure).then_some("true")] { (label) } }
    };
    html! {
        p.measure {
            "Area: "
            span.switch role="group" aria-label="Area" {
                (option(Measure::Live, "live bytes"))
                (option(Measure::History, "retained bytes (every revision kept)"))
            }
            " · colour: revisions per key"
        }
    }
}

/// The SVG: one `<a>` per tile, laid out by [`squarify`].
fn treemap(tiles: &[Tile], measure: Measure, title: &str) -> Markup {
    let values: Vec<u64> = tiles.iter().map(|t| t.sums.measure(measure)).collect();
    let rects = squarify(&values, Rect::new(0.0, 0.0, VIEW_W, VIEW_H));
    let what = match measure {
        Measure::Live => "live bytes",
        Measure::History => "retained bytes",
    };
    html! {
        figure.treemap data-measure=(if measure == Measure::History { "history" } else { "live" }) {
            svg viewBox=(format!("0 0 {VIEW_W} {VIEW_H}")) role="group" aria-label=(format!("Treemap of {title} by {what}")) {
                @for (tile, rect) in tiles.iter().zip(&rects) { (tile_markup(tile, *rect, measure)) }
            }
            @if values.iter().all(|&v| v == 0) {
                figcaption.muted { "Nothing here has " (what) "; the table below lists it." }
            }
        }
    }
}

fn tile_markup(tile: &Tile, r: Rect, measure: Measure) -> Markup {
    let s = &tile.sums;
    let class = s.churn_class();
    let tooltip = format!(
        "{}\n{} live · {} retained · {} revisions ({:.1} a key) · {} live keys",
        tile.name,
        human_size(s.live_bytes),
        human_size(s.history_bytes),
        s.revisions,
        s.churn(),
        s.keys
    );
    let lines = labels(&tile.name, &human_size(s.measure(measure)), r);
    html! {
        a.tile href=(tile.href) data-name=(tile.name) data-kind=(tile.kind) data-live-bytes=(s.live_bytes) data-history-bytes=(s.history_bytes)
            data-revisions=(s.revisions) data-keys=(s.keys) data-churn-class=(class) {
            title { (tooltip) }
            rect class=(format!("c{class}{}", if tile.kind == "others" { " others" } else { "" })) x=(num(r.x)) y=(num(r.y)) width=(num(r.w)) height=(num(r.h)) {}
            @for (i, line) in lines.iter().enumerate() {
                text class=[(class < 5).then_some("dark")] x=(num(r.x + PAD)) y=(num(r.y + PAD + LINE_H * (i as f64 + 1.0) - 4.0)) { (line) }
            }
        }
    }
}

/// A coordinate with two decimals, trailing zeros dropped.
fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The label lines that fit in `r`: the name (shortened with "…" when only part fits), then
/// the size when there is room for a second line.
fn labels(name: &str, size: &str, r: Rect) -> Vec<String> {
    let fits = |lines: f64| r.h >= LINE_H * lines + PAD;
    let room = ((r.w - 2.0 * PAD) / CHAR_W).floor().max(0.0) as usize;
    let mut lines = Vec::new();
    if !fits(1.0) || room < 4 {
        return lines;
    }
    let chars = name.chars().count();
    lines.push(if chars <= room { name.to_string() } else { name.chars().take(room - 1).chain(['…']).collect() });
    if fits(2.0) && size.chars().count() <= room {
        lines.push(size.to_string());
    }
    lines
}

/// The churn colours and what each means.
fn legend() -> Markup {
    let label = |class: usize| match class {
        0 => "1".to_string(),
        c if c == CHURN_CLASSES - 1 => format!("≥ {}", 1u64 << c),
        c => format!("{}–{}", 1u64 << c, (1u64 << (c + 1)) - 1),
    };
    html! {
        div.legend role="list" aria-label="Colour: revisions per key" {
            span.legend-title { "revisions per key:" }
            @for class in 0..CHURN_CLASSES {
                span.legend-item role="listitem" { span class=(format!("swatch c{class}")) aria-hidden="true" {} (label(class)) }
            }
        }
    }
}

/// The level's tiles as a table: what the treemap draws, readable without it.
fn level_table(tiles: &[Tile], node: &Node, measure: Measure) -> Markup {
    let measured = |t: &Tile| t.sums.measure(measure);
    html! {
        h3 { "At this level" }
        table.data.level data-keyboard {
            thead {
                tr { th { "Name" } th { "Kind" } th.num { "Live keys" } th.num { "Live" } th.num { "Retained" } th.num { "Revisions" } th.num { "Rev/key" } }
            }
            tbody {
                @for t in tiles {
                    tr data-measured=(measured(t)) {
                        td.key { a href=(t.href) { (t.name) } }
                        td { (t.kind) }
                        td.num { (count(t.sums.keys)) }
                        td.num { (bytes(t.sums.live_bytes)) }
                        td.num { (bytes(t.sums.history_bytes)) }
                        td.num { (count(t.sums.revisions)) }
                        td.num { (format!("{:.1}", t.sums.churn())) }
                    }
                }
            }
            tfoot {
                tr {
                    th { "All" } td {}
                    td.num { (count(node.sums.keys)) }
                    td.num { (bytes(node.sums.live_bytes)) }
                    td.num { (bytes(node.sums.history_bytes)) }
                    td.num { (count(node.sums.revisions)) }
                    td.num { (format!("{:.1}", node.sums.churn())) }
                }
            }
        }
    }
}

/// What compaction and defragmentation would give back, and the quota use: `analyze`'s figures.
fn reclaim_section(model: &SpaceModel) -> Markup {
    let a = &model.analysis;
    let m = &a.members;
    let quota = |q: &crate::views::analyze::QuotaUse| {
        html! {
            (super::overview::quota_meter(a.file_bytes, a.in_use_bytes, q.quota_bytes)) " "
            span data-fact="file-percent" { (format!("{:.1}%", q.file_percent)) } " (in use " (format!("{:.1}%", q.in_use_percent)) ")"
        }
    };
    let mut rows = vec![
        ("file", html! { span data-fact="file" { (bytes(a.file_bytes)) } }),
        ("in use", html! { span data-fact="in-use" { (bytes(a.in_use_bytes)) } }),
        ("free pages", html! { span data-fact="free" { (bytes(a.free_bytes)) } }),
        ("defragment now", html! { span data-fact="defrag-now" { (bytes(a.defrag_now_bytes)) } }),
        ("compact, defragment", html! { "about " span data-fact="compact-then-defrag" { (bytes(a.compact_then_defrag_bytes)) } }),
    ];
    let labels: Vec<String> = a.quota.iter().map(|q| format!("{} quota", human_size(q.quota_bytes))).collect();
    for (q, label) in a.quota.iter().zip(&labels) {
        rows.push((label.as_str(), quota(q)));
    }
    html! {
        section.card #reclaim {
            h2 { "Space to give back" }
            (facts(&rows))
            p.muted { "A compaction at revision " (a.revision) " removes " (bytes(a.total.compactable_bytes)) " of old revisions; a defragmentation then gives the pages back." }
            @if a.member_damage.is_empty() {
                p.muted { "members " (m.members) " (" (m.voters) " voting): quorum " (m.quorum) ", " (m.tolerates) " may fail" }
            } @else {
                p.warning { "members " (m.members) " read, " (a.member_damage.len()) " unreadable: quorum unknown" }
            }
            @for note in &a.notes { p.note { (note) } }
        }
    }
}

fn top_keys_section(c: &Context, model: &SpaceModel, node: &Node) -> Markup {
    let tops = model.top_keys(node, TOP_KEYS);
    html! {
        section.card #top-keys {
            h2 { "Most history" }
            @if tops.is_empty() {
                p.muted { "No keys." }
            } @else {
                table.data.top {
                    thead { tr { th { "Key" } th.num { "Revisions" } th.num { "Retained" } } }
                    tbody {
                        @for k in tops {
                            tr data-history-bytes=(k.history_bytes) {
                                td.key { a href=(page::key_href(c, k.key)) { (page::key_text(k.key)) } }
                                td.num { a href=(page::history_href(c, k.key)) title="timeline" { (count(k.revisions)) } }
                                td.num { (bytes(k.history_bytes)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_only_where_they_fit() {
        assert!(labels("pods", "1 KiB", Rect::new(0.0, 0.0, 100.0, 10.0)).is_empty(), "too low");
        assert!(labels("pods", "1 KiB", Rect::new(0.0, 0.0, 20.0, 100.0)).is_empty(), "too narrow");
        assert_eq!(labels("pods", "1 KiB", Rect::new(0.0, 0.0, 100.0, 20.0)), ["pods"]);
        assert_eq!(labels("pods", "1 KiB", Rect::new(0.0, 0.0, 100.0, 40.0)), ["pods", "1 KiB"]);
        let cut = labels("replicasets.apps", "1 KiB", Rect::new(0.0, 0.0, 60.0, 20.0));
        assert_eq!(cut.len(), 1);
        assert!(cut[0].ends_with('…') && cut[0].chars().count() as f64 * CHAR_W <= 60.0, "{cut:?}");
    }

    #[test]
    fn coordinates_are_short() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(1.0 / 3.0), "0.33");
        assert_eq!(num(600.0), "600");
    }
}
