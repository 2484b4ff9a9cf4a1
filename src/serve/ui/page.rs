//! The frame every UI page shares — head, navigation, theme switch, footer — and the links
//! between views, built in one place so every page points at every other the same way.

use super::assets;
use super::query::href;
use crate::serve::context::Context;
use crate::serve::Server;
use crate::views::text::{human_size, printable_key};
use maud::{html, Markup, DOCTYPE};

/// The tab a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    None,
    Overview,
    Space,
    Keys,
    Search,
    Diff,
}

/// Where a page sits: its input (if any) and its tab.
pub struct Nav<'a> {
    pub context: Option<&'a Context>,
    pub tab: Tab,
}

impl Nav<'_> {
    pub fn none() -> Nav<'static> {
        Nav { context: None, tab: Tab::None }
    }
}

impl<'a> Nav<'a> {
    pub fn of(context: &'a Context, tab: Tab) -> Nav<'a> {
        Nav { context: Some(context), tab }
    }
}

/// A whole page: `title` in the head and the top bar, `body` inside `<main>`.
pub fn layout(server: Option<&Server>, nav: &Nav<'_>, title: &str, body: Markup) -> Markup {
    let full_title = match nav.context {
        Some(c) => format!("{title} · {} · etcdscope", c.name),
        None => format!("{title} · etcdscope"),
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (full_title) }
                link rel="icon" type="image/svg+xml" href=(assets::url("favicon.svg"));
                link rel="stylesheet" href=(assets::url("app.css"));
                script src=(assets::url("app.js")) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    nav aria-label="Main" {
                        a.brand href="/ui/" { "etcdscope" }
                        @if let Some(c) = nav.context {
                            span.sep aria-hidden="true" { "/" }
                            a.context href=(context_href(c)) { (c.name) }
                            ul.tabs {
                                (tab(nav.tab, Tab::Overview, &context_href(c), "Overview"))
                                (tab(nav.tab, Tab::Space, &space_href(c, None), "Space"))
                                (tab(nav.tab, Tab::Keys, &keys_href(c, b""), "Keys"))
                                (tab(nav.tab, Tab::Search, &format!("/ui/{}/search", c.name), "Search"))
                            }
                        }
                        @if let Some(s) = server {
                            @if s.contexts.len() > 1 {
                                ul.tabs { (tab(nav.tab, Tab::Diff, &diff_href(&s.contexts[0].0, &s.contexts[1].0), "Diff")) }
                            }
                        }
                    }
                    @if let Some(c) = nav.context {
                        form.quick role="search" method="get" action=(format!("/ui/{}/search", c.name)) {
                            label.visually-hidden for="quick-search" { "Search keys" }
                            input #quick-search type="search" name="q" placeholder="Search keys  ( / )" accesskey="s";
                        }
                    }
                    button #theme type="button" aria-label="Switch between light and dark theme" { "Theme" }
                }
                main #main tabindex="-1" { (body) }
                footer {
                    p { "etcdscope " (env!("CARGO_PKG_VERSION")) " · read-only · nothing here changes the files served" }
                }
            }
        }
    }
}

fn tab(active: Tab, this: Tab, target: &str, label: &str) -> Markup {
    html! {
        li { a href=(target) aria-current=[(active == this).then_some("page")] { (label) } }
    }
}

/// `/ui/CTX/`
pub fn context_href(c: &Context) -> String {
    format!("/ui/{}/", c.name)
}

/// `/ui/CTX/space`, zoomed to `path` (`pods`, `pods/default`) when given.
pub fn space_href(c: &Context, path: Option<&str>) -> String {
    href(&format!("/ui/{}/space", c.name), &[("path", path.unwrap_or("").as_bytes())])
}

/// `/ui/CTX/keys?prefix=P`
pub fn keys_href(c: &Context, prefix: &[u8]) -> String {
    href(&format!("/ui/{}/keys", c.name), &[("prefix", prefix)])
}

/// `/ui/CTX/key?key=K`
pub fn key_href(c: &Context, key: &[u8]) -> String {
    href(&format!("/ui/{}/key", c.name), &[("key", key)])
}

/// `/ui/CTX/history?key=K`
pub fn history_href(c: &Context, key: &[u8]) -> String {
    href(&format!("/ui/{}/history", c.name), &[("key", key)])
}

/// `/ui/diff/A/B`
pub fn diff_href(old: &Context, new: &Context) -> String {
    format!("/ui/diff/{}/{}", old.name, new.name)
}

/// A key as text a person can read and copy: printable characters as they are, other bytes
/// spelled out (`\xff`), as the command line prints keys.
pub fn key_text(key: &[u8]) -> String {
    printable_key(key)
}

/// A byte count: the human size, with the exact number in its tooltip.
pub fn bytes(n: u64) -> Markup {
    html! { span.bytes title=(format!("{n} bytes")) data-bytes=(n) { (human_size(n)) } }
}

/// A number with thousands separators (`23 600`), for counts.
pub fn count(n: u64) -> Markup {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{202f}');
        }
        out.push(d);
    }
    html! { span.count data-count=(n) { (out) } }
}

/// A definition list of label → value rows.
pub fn facts(rows: &[(&str, Markup)]) -> Markup {
    html! {
        dl.facts {
            @for (label, value) in rows {
                dt { (*label) }
                dd { (value) }
            }
        }
    }
}

/// A preformatted block whose text a person can select and copy (YAML, JSON, hex).
pub fn code_block(text: &str, language: &str) -> Markup {
    html! { pre.code data-language=(language) { code { (text) } } }
}
