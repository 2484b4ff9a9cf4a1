//! The keyspace browser (`/ui/CTX/keys?prefix=P`) and the key page (`/ui/CTX/key?key=K`).
//!
//! The browser shows every live key at the served revision — under /registry or not, UTF-8 or
//! not — as a prefix tree split at `/`: one level at a time, the children of `P` with their
//! live key counts and bytes (key + value, as `analyze` counts live bytes). A level is read
//! from the context's sorted key index ([`crate::serve::context::KeyIndex`]): a binary search
//! for the prefix's range, then one pass over that range that sums every child (so totals are
//! exact) and keeps only the page of children shown (≤ [`CHILDREN_PER_PAGE`], `&after=`).
//! `&fragment=1` answers only the level's `<ul class="tree">`, which app.js inserts in place.
//!
//! The key page shows one key's value — decoded as kubectl prints it (YAML, `get -o yaml`'s
//! printer, or JSON), as text, or as a bounded hex dump — its revisions, lease, and the object
//! it names, with links to the object's timeline and diff. A Secret's value is shown in no
//! form unless serve was started with `--show-secrets` (the decoder's options, the one rule of
//! [`crate::k8s::secret`]).

use super::page::{self, bytes, count, facts, key_text, Nav, Tab};
use super::query::href;
use super::{blocking, context_at, html as html_response, ok_page, UiError, UiRequest, UiResult};
use crate::cancel::Cancel;
use crate::etcd::mvcc::{KeyValueRef, RevisionEntry};
use crate::etcd::KeyRange;
use crate::k8s::decoder::Decoded;
use crate::k8s::key::Located;
use crate::serve::context::Context;
use axum::http::StatusCode;
use maud::{html, Markup};
use std::path::Path;
use std::sync::Arc;

/// Children listed on one page of a level (the totals always count them all).
pub const CHILDREN_PER_PAGE: usize = 500;
/// Bytes of a value the hex view shows.
const HEX_LIMIT: usize = 64 << 10;
/// Bytes of a value the text view shows.
const TEXT_LIMIT: usize = 256 << 10;
/// Revisions of a key listed on its page (the count is always whole).
const REVISIONS_SHOWN: usize = 500;
/// Entries read between two looks at the server's shutdown token.
const CANCEL_EVERY: usize = 4096;

/// One child of a level: a deeper prefix (ending in `/`) or a key that ends at this level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Child {
    /// The whole prefix or key (bytes), not only its last segment.
    pub name: Vec<u8>,
    pub leaf: bool,
    /// Live keys under it (1 for a key).
    pub keys: u64,
    /// Their key + value bytes.
    pub bytes: u64,
}

/// One level of the tree: totals over every child, and the page of children shown.
#[derive(Debug, Clone, Default)]
pub struct Level {
    pub keys: u64,
    pub bytes: u64,
    pub children: u64,
    pub shown: Vec<Child>,
    /// The `after` of the next page, when children follow the ones shown.
    pub next: Option<Vec<u8>>,
}

/// The child of `prefix` (the first `prefix_len` bytes of `key`) that `key` falls under: the
/// next segment up to and including its `/` (a leading `/` belongs to the segment, so the root
/// shows `/registry/`, not `/`), or the key itself when no `/` follows.
pub fn child_of(key: &[u8], prefix_len: usize) -> (&[u8], bool) {
    let rest = &key[prefix_len.min(key.len())..];
    match rest.iter().skip(1).position(|&b| b == b'/') {
        Some(i) => (&key[..prefix_len + i + 2], false),
        None => (key, true),
    }
}

/// The level under `prefix` over the sorted live `entries` of that prefix: every child summed,
/// the first [`CHILDREN_PER_PAGE`] after `after` kept.
pub fn level(entries: &[RevisionEntry<'_>], prefix: &[u8], after: Option<&[u8]>, file: &Arc<Path>, cancel: &Cancel) -> crate::error::Result<Level> {
    let mut out = Level::default();
    let mut current: Option<Child> = None;
    let shown_after = |name: &[u8]| after.map_or(true, |a| name > a);
    let finish = |child: Child, out: &mut Level| {
        out.children += 1;
        if shown_after(&child.name) {
            if out.shown.len() < CHILDREN_PER_PAGE {
                out.shown.push(child);
            } else if out.next.is_none() {
                out.next = out.shown.last().map(|c| c.name.clone());
            }
        }
    };
    for (i, entry) in entries.iter().enumerate() {
        if i % CANCEL_EVERY == 0 {
            cancel.check()?;
        }
        let kv = entry.kv(file)?;
        let size = (kv.key.len() + kv.value.len()) as u64;
        out.keys += 1;
        out.bytes += size;
        let (name, leaf) = child_of(entry.key, prefix.len());
        match current.as_mut() {
            Some(c) if !c.leaf && !leaf && c.name == name => {
                c.keys += 1;
                c.bytes += size;
            }
            _ => {
                if let Some(done) = current.take() {
                    finish(done, &mut out);
                }
                current = Some(Child { name: name.to_vec(), leaf, keys: 1, bytes: size });
            }
        }
    }
    if let Some(done) = current.take() {
        finish(done, &mut out);
    }
    Ok(out)
}

/// The live entries under `prefix` at the served revision.
fn entries_under(context: &'static Context, prefix: &[u8]) -> Result<&'static [RevisionEntry<'static>], UiError> {
    let index = context.index().map_err(UiError::internal)?;
    Ok(index.slice(&KeyRange::prefix(prefix), None))
}

/// `/ui/CTX/keys?prefix=P[&after=C][&fragment=1]`
pub async fn browse(req: UiRequest) -> UiResult {
    let (server, index) = (req.server, req.index);
    let prefix = req.query.bytes("prefix").unwrap_or_default().to_vec();
    let after = req.query.bytes("after").filter(|a| !a.is_empty()).map(<[u8]>::to_vec);
    let fragment = req.query.bytes("fragment").is_some();
    let (prefix, after, level) = blocking(move || {
        let (context, _) = context_at(server, index);
        let entries = entries_under(context, &prefix)?;
        let level = level(entries, &prefix, after.as_deref(), context.snapshot.file(), &server.shutdown)?;
        Ok((prefix, after, level))
    })
    .await?;
    let (context, _) = context_at(server, index);
    if fragment {
        return Ok(html_response(StatusCode::OK, tree(context, &prefix, &level).into_string()));
    }
    let title = if prefix.is_empty() { "Keys".to_string() } else { format!("Keys under {}", key_text(&prefix)) };
    let body = html! {
        h1 { "Keys under " span.key { @if prefix.is_empty() { "(every key)" } @else { (key_text(&prefix)) } } }
        (breadcrumbs(context, &prefix, None))
        (facts(&[
            ("live keys", html! { span data-fact="keys" { (count(level.keys)) } }),
            ("key + value bytes", html! { span data-fact="bytes" { (bytes(level.bytes)) } }),
            ("children", html! { span data-fact="children" { (count(level.children)) } }),
            ("revision", html! { (context.revision) }),
        ]))
        @if level.keys == 0 {
            p.muted { "No live key starts with this prefix at revision " (context.revision) "." }
        }
        @if after.is_some() || level.next.is_some() {
            p.muted { "Children are listed " (CHILDREN_PER_PAGE) " to a page, by name; the totals above count them all." }
        }
        (tree(context, &prefix, &level))
        @if after.is_some() || level.next.is_some() {
            nav.pager aria-label="Pages of children" {
                @if after.is_some() { a href=(page::keys_href(context, &prefix)) { "← first page" } }
                @if let Some(next) = &level.next { a rel="next" href=(href(&keys_path(context), &[("prefix", &prefix), ("after", next)])) { "next page →" } }
            }
        }
    };
    Ok(ok_page(page::layout(Some(server), &Nav::of(context, Tab::Keys), &title, body)))
}

fn keys_path(context: &Context) -> String {
    format!("/ui/{}/keys", context.name)
}

/// A level as a `ul.tree`: prefixes with a toggle (shown by app.js) that opens them in place and
/// a link to their own page; keys with a link to their key page.
fn tree(context: &Context, prefix: &[u8], level: &Level) -> Markup {
    html! {
        ul.tree data-prefix=(key_text(prefix)) {
            @for child in &level.shown {
                @let label = segment_text(&child.name, prefix.len());
                @if child.leaf {
                    li.leaf data-keys=(child.keys) data-bytes=(child.bytes) {
                        span.toggle aria-hidden="true" { "·" }
                        a.key href=(page::key_href(context, &child.name)) { (label) }
                        span.meta { (bytes(child.bytes)) }
                    }
                } @else {
                    li.prefix data-keys=(child.keys) data-bytes=(child.bytes) {
                        button.toggle type="button" hidden aria-expanded="false" aria-label=(format!("Show what is under {label} here"))
                            data-fragment=(href(&keys_path(context), &[("prefix", &child.name), ("fragment", b"1")])) { "▸" }
                        a.key href=(page::keys_href(context, &child.name)) { (label) }
                        span.meta { (count(child.keys)) (if child.keys == 1 { " key · " } else { " keys · " }) (bytes(child.bytes)) }
                    }
                }
            }
            @if let Some(next) = &level.next {
                li.more { a href=(href(&keys_path(context), &[("prefix", prefix), ("after", next)])) { "more children of " (key_text(prefix)) " →" } }
            }
        }
    }
}

/// What a child adds to its parent's prefix, as text (a key equal to the prefix: a note).
fn segment_text(name: &[u8], prefix_len: usize) -> String {
    match name.get(prefix_len..) {
        Some(rest) if !rest.is_empty() => key_text(rest),
        _ => "(the prefix itself is a key)".into(),
    }
}

/// Links to every prefix above `key_or_prefix` (and to the key itself, unlinked, if given).
fn breadcrumbs(context: &Context, prefix: &[u8], key: Option<&[u8]>) -> Markup {
    let mut ancestors = Vec::new();
    let mut len = 0;
    while len < prefix.len() {
        let (child, leaf) = child_of(prefix, len);
        if leaf {
            break;
        }
        ancestors.push(child);
        len = child.len();
    }
    html! {
        nav.breadcrumbs aria-label="Prefixes" {
            ol {
                li { a href=(page::keys_href(context, b"")) { "(root)" } }
                @for (i, a) in ancestors.iter().enumerate() {
                    @let start = if i == 0 { 0 } else { ancestors[i - 1].len() };
                    li { a href=(page::keys_href(context, a)) { (key_text(&a[start..])) } }
                }
                @if let Some(k) = key {
                    @let start = ancestors.last().map_or(0, |a| a.len());
                    li aria-current="page" { (key_text(&k[start.min(k.len())..])) }
                }
            }
        }
    }
}

/// The deepest prefix of the tree a key lies under (where the browser lists it).
fn parent_prefix(key: &[u8]) -> &[u8] {
    let mut len = 0;
    loop {
        let (child, leaf) = child_of(key, len);
        if leaf || child.len() >= key.len() {
            return &key[..len];
        }
        len = child.len();
    }
}

/// How the key page shows a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Yaml,
    Json,
    Text,
    Hex,
}

impl Shape {
    fn parse(s: &[u8]) -> Option<Shape> {
        match s {
            b"yaml" => Some(Shape::Yaml),
            b"json" => Some(Shape::Json),
            b"text" => Some(Shape::Text),
            b"hex" => Some(Shape::Hex),
            _ => None,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Shape::Yaml => "yaml",
            Shape::Json => "json",
            Shape::Text => "text",
            Shape::Hex => "hex",
        }
    }
}

/// One retained revision of a key.
struct Retained {
    main: i64,
    sub: i64,
    tombstone: bool,
    version: i64,
    value_len: usize,
}

/// What the key page shows, read on a blocking thread.
struct KeyPage {
    kv: Option<KeyValueRefOwned>,
    shape: Shape,
    shown: Shown,
    lease: Option<LeaseShown>,
    retained: Vec<Retained>,
    retained_total: u64,
}

/// The fields of the key's live KeyValue (the value itself is in [`Shown`]).
struct KeyValueRefOwned {
    create_revision: i64,
    mod_revision: i64,
    version: i64,
    value_len: usize,
    lease: i64,
}

enum LeaseShown {
    Found { ttl: i64, remaining: i64 },
    Missing,
}

/// The value as shown: text for a code block, or why it is not shown.
enum Shown {
    Code { text: String, language: &'static str, note: Option<String> },
    Withheld(String),
    Unavailable(String),
}

/// `/ui/CTX/key?key=K[&as=yaml|json|text|hex]`
pub async fn key(req: UiRequest) -> UiResult {
    let (server, index) = (req.server, req.index);
    let Some(key) = req.query.bytes("key").filter(|k| !k.is_empty()).map(<[u8]>::to_vec) else {
        return Err(UiError::bad_request("which key? (the address needs ?key=…)"));
    };
    let asked = req.query.bytes("as").and_then(Shape::parse);
    let (context, _) = context_at(server, index);
    let at = revision_asked(context, req.query.number::<i64>("rev"))?;
    let (key, data) = blocking(move || {
        let (context, _) = context_at(server, index);
        let data = read_key(context, &key, asked, at, &server.shutdown)?;
        Ok((key, data))
    })
    .await?;
    let shown_at = at.unwrap_or(context.revision);
    let title = format!("Key {}", key_text(&key));
    let Some(kv) = &data.kv else {
        // A key the file still keeps revisions of (deleted, or written after the served
        // revision) is a page of its own, which the timeline and diff link to; a key it knows
        // nothing of is not found.
        let code = if data.retained_total > 0 { StatusCode::OK } else { StatusCode::NOT_FOUND };
        let body = html! {
            h1 { "Not live: " span.key { (key_text(&key)) } }
            (breadcrumbs(context, parent_prefix(&key), Some(&key)))
            @if data.retained_total > 0 {
                p.warning role="status" { "No live key " span.key { (key_text(&key)) } " at revision " (shown_at) ": it was deleted, or written only after that revision. Its retained revisions are below." }
            } @else {
                p.error role="alert" { "No live key " span.key { (key_text(&key)) } " at revision " (shown_at) ", and the file keeps no revision of it (never written, or compacted away)." }
            }
            p { a href=(page::history_href(context, &key)) { "Its history (timeline)" } " · " a href=(page::keys_href(context, parent_prefix(&key))) { "The keys beside it" } }
            (retained_section(context, &key, &data))
        };
        return Ok(html_response(code, page::layout(Some(server), &Nav::of(context, Tab::Keys), &title, body).into_string()));
    };
    let located = context.catalog.locate(&key, &context.prefix);
    let body = html! {
        h1 { "Key " span.key { (key_text(&key)) } }
        (breadcrumbs(context, parent_prefix(&key), Some(&key)))
        @if let Some(at) = at {
            p.warning role="status" data-fact="at" {
                "As it was at revision " (at) " (the input is served at " (context.revision) "). "
                a href=(page::key_href(context, &key)) { "At the served revision" }
            }
        }
        div.cards {
            section.card #revisions {
                h2 { "Stored" }
                (facts(&[
                    ("create revision", html! { span data-fact="create" { (kv.create_revision) } }),
                    ("mod revision", html! { span data-fact="mod" { (kv.mod_revision) } }),
                    ("version", html! { span data-fact="version" { (kv.version) } }),
                    ("value", bytes(kv.value_len as u64)),
                    ("lease", lease_fact(kv.lease, data.lease.as_ref())),
                    ("shown at", html! { (shown_at) }),
                ]))
            }
            section.card #object {
                h2 { "Object" }
                (object_facts(located))
                p {
                    a href=(page::history_href(context, &key)) { "Timeline of this key" }
                    @for other in other_contexts(server, index) {
                        " · " a href=(href(&page::diff_href(context, other), &[("key", &key)])) { "diff " (context.name) " → " (other.name) }
                    }
                }
            }
        }
        section #value {
            h2 { "Value" }
            nav.switch aria-label="Show the value as" {
                @for shape in [Shape::Yaml, Shape::Json, Shape::Text, Shape::Hex] {
                    a href=(href(&format!("/ui/{}/key", context.name), &[("key", &key), ("as", shape.name().as_bytes()), ("rev", at.map(|r| r.to_string()).unwrap_or_default().as_bytes())])) aria-current=[(shape == data.shape).then_some("true")] { (shape.name()) }
                }
            }
            @match &data.shown {
                Shown::Code { text, language, note } => {
                    @if let Some(note) = note { p.muted.note { (note) } }
                    (page::code_block(text, language))
                }
                Shown::Withheld(why) => { p.warning.withheld role="note" { (why) } }
                Shown::Unavailable(why) => { p.muted.unavailable { (why) } }
            }
        }
        (retained_section(context, &key, &data))
    };
    Ok(ok_page(page::layout(Some(server), &Nav::of(context, Tab::Keys), &title, body)))
}

/// The other served inputs (for diff links).
fn other_contexts(server: &'static crate::serve::Server, index: usize) -> impl Iterator<Item = &'static Context> {
    server.contexts.iter().enumerate().filter(move |(i, _)| *i != index).map(|(_, (c, _))| c)
}

fn lease_fact(lease: i64, shown: Option<&LeaseShown>) -> Markup {
    html! {
        @if lease == 0 {
            "none"
        } @else {
            span.mono data-fact="lease" { (format!("{lease:016x}")) }
            @match shown {
                Some(LeaseShown::Found { ttl, remaining }) => { " (TTL " (ttl) " s, " (remaining) " s remaining when saved)" }
                _ => { " " span.badge.warn { "not in the lease bucket" } }
            }
        }
    }
}

fn object_facts(located: Located<'_, '_>) -> Markup {
    match located {
        Located::Object { info, namespace, name } => facts(&[
            ("resource", html! { span data-fact="resource" { (info.group_resource()) } }),
            ("kind", html! { (info.kind) }),
            ("namespace", html! { span data-fact="namespace" { (namespace.unwrap_or("(cluster-scoped)")) } }),
            ("name", html! { span.key data-fact="name" { (name) } }),
        ]),
        Located::Unknown { resource_path, namespace, name } => facts(&[
            ("resource", html! { span data-fact="resource" { (resource_path) } " " span.badge { "not known here" } }),
            ("namespace", html! { (namespace.unwrap_or("(cluster-scoped)")) }),
            ("name", html! { span.key { (name) } }),
        ]),
        Located::NotObject(what) => html! { p { "Not an object: " (what) "." } },
        Located::Outside => html! { p.muted { "Not a Kubernetes object key (outside the etcd prefix, or not shaped like one)." } },
    }
}

fn retained_section(context: &Context, key: &[u8], data: &KeyPage) -> Markup {
    html! {
        section #retained {
            h2 { "Retained revisions (" (count(data.retained_total)) ")" }
            @if data.retained.is_empty() {
                p.muted { "None: the file keeps no revision of this key." }
            } @else {
                table.data data-keyboard {
                    thead { tr { th.num scope="col" { "Revision" } th.num scope="col" { "Sub" } th scope="col" { "Event" } th.num scope="col" { "Version" } th.num scope="col" { "Value bytes" } } }
                    tbody {
                        @for r in &data.retained {
                            tr class=(if r.tombstone { "delete" } else { "put" }) {
                                td.num { a href=(format!("{}#rev-{}", page::history_href(context, key), r.main)) { (r.main) } }
                                td.num { (r.sub) }
                                td { @if r.tombstone { "delete" } @else if r.version == 1 { "create" } @else { "put" } @if r.main > context.revision { " " span.badge { "after the served revision" } } }
                                td.num { @if !r.tombstone { (r.version) } }
                                td.num { @if !r.tombstone { (r.value_len) } }
                            }
                        }
                    }
                }
                @if (data.retained.len() as u64) < data.retained_total { p.muted { "The first " (REVISIONS_SHOWN) " are listed; the timeline shows them all." } }
            }
        }
    }
}

/// Reads everything the key page shows about `key`.
/// The revision `?rev=` asks for, if it is not the served one: within the file's retained
/// revisions, or a page saying why not.
fn revision_asked(context: &Context, rev: Option<i64>) -> Result<Option<i64>, UiError> {
    let Some(rev) = rev.filter(|r| *r != context.revision) else { return Ok(None) };
    let newest = context.snapshot.store().current_revision();
    if rev > newest || rev < 1 {
        return Err(UiError::bad_request(format!("revision {rev} is not in this file (its revisions end at {newest})")));
    }
    if rev < context.compacted {
        return Err(UiError { code: StatusCode::GONE, message: format!("revision {rev} was compacted away (the file is compacted at {})", context.compacted) });
    }
    Ok(Some(rev))
}

fn read_key(context: &'static Context, key: &[u8], asked: Option<Shape>, at: Option<i64>, cancel: &Cancel) -> Result<KeyPage, UiError> {
    let file = context.snapshot.file();
    let live = match at {
        Some(rev) => context.snapshot.store().range_until(&KeyRange::single(key), rev, cancel)?.into_iter().next(),
        None => context.index().map_err(UiError::internal)?.slice(&KeyRange::single(key), None).first().copied(),
    };
    let (retained, retained_total) = retained(context, key, cancel)?;
    let Some(entry) = live else {
        return Ok(KeyPage { kv: None, shape: Shape::Text, shown: Shown::Unavailable(String::new()), lease: None, retained, retained_total });
    };
    let kv = entry.kv(file)?;
    let lease = (kv.lease != 0).then(|| lease_of(context, kv.lease)).transpose()?;
    let decoded = context.decoder.decode_at(kv.key, kv.value, Some(kv.mod_revision));
    let shape = asked.unwrap_or(match decoded {
        Decoded::Object { .. } => Shape::Yaml,
        _ if std::str::from_utf8(kv.value).is_ok_and(|t| !t.chars().any(hidden_control)) => Shape::Text,
        _ => Shape::Hex,
    });
    let shown = show(context, &kv, &decoded, shape);
    let owned = KeyValueRefOwned {
        create_revision: kv.create_revision,
        mod_revision: kv.mod_revision,
        version: kv.version,
        value_len: kv.value.len(),
        lease: kv.lease,
    };
    Ok(KeyPage { kv: Some(owned), shape, shown, lease, retained, retained_total })
}

fn lease_of(context: &Context, id: i64) -> Result<LeaseShown, UiError> {
    let leases = context.snapshot.leases()?;
    Ok(leases.iter().find(|l| l.id == id).map_or(LeaseShown::Missing, |l| LeaseShown::Found { ttl: l.ttl, remaining: l.remaining_ttl }))
}

/// The value in `shape`, or why it is not shown. A Secret's stored bytes (text, hex) are
/// withheld unless Secrets are shown; its decoded form is the decoder's (redacted) one.
fn show(context: &Context, kv: &KeyValueRef<'_>, decoded: &Decoded, shape: Shape) -> Shown {
    let show_secrets = context.decoder.options.show_secrets;
    let secret = context.decoder.stored_secret(kv.key, kv.value) || matches!(decoded, Decoded::Object { secret: true, .. });
    match shape {
        Shape::Yaml | Shape::Json => match decoded {
            Decoded::Object { json, .. } => match json.value() {
                Ok(v) if shape == Shape::Yaml => {
                    Shown::Code { text: crate::k8s::yaml::to_yaml(&v), language: "yaml", note: redaction_note(secret, show_secrets) }
                }
                Ok(v) => Shown::Code { text: pretty_json(&v), language: "json", note: redaction_note(secret, show_secrets) },
                Err(e) => Shown::Unavailable(e),
            },
            Decoded::Encrypted { provider, key_name, reason, .. } => Shown::Unavailable(format!("encrypted ({provider}, key {key_name}): {reason}")),
            Decoded::Raw { reason } => Shown::Unavailable(format!("not shown as an object: {reason}")),
        },
        _ if secret && !show_secrets => {
            Shown::Withheld("This is a Secret's value: its stored bytes are not shown unless serve is started with --show-secrets.".into())
        }
        Shape::Text => {
            let shown = &kv.value[..kv.value.len().min(TEXT_LIMIT)];
            let mut notes = Vec::new();
            if shown.len() < kv.value.len() {
                notes.push(format!("The first {} of {} bytes.", shown.len(), kv.value.len()));
            }
            let text = String::from_utf8_lossy(shown);
            if std::str::from_utf8(shown).is_err() {
                notes.push("Bytes that are not UTF-8 are shown as \u{fffd}; the hex view shows them as they are.".into());
            }
            if text.chars().any(hidden_control) {
                notes.push("Control characters are spelled out (\\x00).".into());
            }
            Shown::Code { text: spell_controls(&text), language: "text", note: (!notes.is_empty()).then(|| notes.join(" ")) }
        }
        Shape::Hex => {
            let shown = &kv.value[..kv.value.len().min(HEX_LIMIT)];
            let note = (shown.len() < kv.value.len()).then(|| format!("The first {} KiB of {} bytes.", HEX_LIMIT >> 10, kv.value.len()));
            Shown::Code { text: hex_dump(shown), language: "hex", note }
        }
    }
}

/// A character a page would not show, or that would reorder or hide the text around it
/// (controls but tab and line ends, bidi overrides, zero-width characters): the one rule of
/// [`crate::views::text::hides_text`], less the line structure a text value keeps.
fn hidden_control(c: char) -> bool {
    crate::views::text::hides_text(c) && !matches!(c, '\t' | '\n' | '\r')
}

/// `text` with its hidden control characters written as `\xNN` / `\u{NNNN}`.
fn spell_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            c if hidden_control(c) && (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if hidden_control(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn redaction_note(secret: bool, show_secrets: bool) -> Option<String> {
    (secret && !show_secrets).then(|| "A Secret: its data is withheld (serve was not started with --show-secrets).".to_string())
}

/// JSON as `kubectl get -o json` writes it (four spaces).
fn pretty_json(v: &serde_json::Value) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, serde_json::ser::PrettyFormatter::with_indent(b"    "));
    match serde::Serialize::serialize(v, &mut ser) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(e) => format!("(not written: {e})"),
    }
}

/// `offset  16 bytes in hex  |printable ASCII|`, one line per 16 bytes.
pub fn hex_dump(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 4 + 16);
    for (i, chunk) in bytes.chunks(16).enumerate() {
        let _ = write!(out, "{:08x}  ", i * 16);
        for j in 0..16 {
            match chunk.get(j) {
                Some(b) => {
                    let _ = write!(out, "{b:02x} ");
                }
                None => out.push_str("   "),
            }
        }
        out.push_str(" |");
        out.extend(chunk.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { char::from(b) } else { '.' }));
        out.push_str("|\n");
    }
    out
}

/// The key's retained revisions (the first [`REVISIONS_SHOWN`]) and how many there are: one
/// pass over the store's revisions.
fn retained(context: &Context, key: &[u8], cancel: &Cancel) -> Result<(Vec<Retained>, u64), UiError> {
    let file = context.snapshot.file();
    let range = KeyRange::single(key);
    let mut shown = Vec::new();
    let mut total = 0u64;
    for entry in context.snapshot.store().revisions(Some(&range), 0..=i64::MAX).until(cancel) {
        let entry = entry?;
        total += 1;
        if shown.len() < REVISIONS_SHOWN {
            let (version, value_len) = if entry.tombstone {
                (0, 0)
            } else {
                let kv = entry.kv(file)?;
                (kv.version, kv.value.len())
            };
            shown.push(Retained { main: entry.main(), sub: entry.sub(), tombstone: entry.tombstone, version, value_len });
        }
    }
    Ok((shown, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_values_spell_out_what_would_hide_or_reorder_text() {
        // A bidi override and a zero-width space would rearrange or hide what a reader sees;
        // tabs and line ends are the value's own layout.
        assert_eq!(spell_controls("a\u{202e}b\u{200b}c\x1b\td\n"), "a\\u{202e}b\\u{200b}c\\x1b\td\n");
    }

    #[test]
    fn children_split_at_the_next_slash_with_a_leading_slash_kept() {
        assert_eq!(child_of(b"/registry/pods/a", 0), (&b"/registry/"[..], false));
        assert_eq!(child_of(b"/registry/pods/a", 10), (&b"/registry/pods/"[..], false));
        assert_eq!(child_of(b"/registry/pods/a", 15), (&b"/registry/pods/a"[..], true));
        assert_eq!(child_of(b"plain", 0), (&b"plain"[..], true));
        assert_eq!(child_of(b"/registry/secrets//x", 18), (&b"/registry/secrets//x"[..], true));
        assert_eq!(parent_prefix(b"/registry/pods/a"), b"/registry/pods/");
        assert_eq!(parent_prefix(b"plain"), b"");
    }

    #[test]
    fn control_characters_are_spelled_out_in_text() {
        assert_eq!(spell_controls("a\u{0}b\tc\n\u{1b}[1m\u{85}"), "a\\x00b\tc\n\\x1b[1m\\x85");
        assert!(!hidden_control('\n') && hidden_control('\u{7f}'));
    }

    #[test]
    fn hex_lines_hold_sixteen_bytes() {
        let dump = hex_dump(b"\x00\x01<script>0123456789");
        let lines: Vec<&str> = dump.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("00000000  00 01 3c 73"), "{}", lines[0]);
        assert!(lines[1].starts_with("00000010  36 37 38 39    "), "{}", lines[1]);
        assert!(lines[0].ends_with("|..<script>012345|"), "{}", lines[0]);
    }
}
