//! Search (`/ui/CTX/search?q=&resource=&namespace=&l=`): the live keys at the served revision
//! whose key holds a byte string, that are objects of a resource (kubectl's type names:
//! `pods`, `po`, `Pod`, `deployments.apps`), in a namespace, with labels matching a selector
//! (kubectl's `-l` grammar, parsed by [`crate::k8s::select::LabelSelector`], the parser `get`
//! and the API use). Every criterion given must hold.
//!
//! The keys come from the context's sorted key index (only the resource's key range when one
//! is given); labels are read only when a selector is given, by the object facts reader
//! ([`crate::k8s::facts`]), which reads them off the stored value without decoding the whole
//! object. The count is exact; rows are paged ([`RESULTS_PER_PAGE`], `&after=` the last key).

use super::page::{self, bytes, count, key_text, Nav, Tab};
use super::query::href;
use super::{blocking, context_at, ok_page, UiError, UiRequest, UiResult};
use crate::cancel::Cancel;
use crate::etcd::KeyRange;
use crate::k8s::facts::{object_facts, Wants};
use crate::k8s::key::{keys_of, Located};
use crate::k8s::resources::ResourceInfo;
use crate::k8s::secret::SECRET_KIND;
use crate::k8s::select::LabelSelector;
use crate::serve::context::Context;
use maud::{html, Markup};

/// Rows on one page of results.
pub const RESULTS_PER_PAGE: usize = 200;
/// Entries read between two looks at the server's shutdown token.
const CANCEL_EVERY: usize = 1024;

/// What the form asked.
#[derive(Debug, Clone, Default)]
pub struct Criteria {
    /// A byte string the key must hold.
    pub q: Vec<u8>,
    pub resource: String,
    pub namespace: String,
    pub labels: String,
}

impl Criteria {
    fn from_query(q: &super::Query) -> Criteria {
        let text = |name: &str| q.text(name).map(|s| s.trim().to_string()).unwrap_or_default();
        Criteria { q: q.bytes("q").unwrap_or_default().to_vec(), resource: text("resource"), namespace: text("namespace"), labels: text("l") }
    }

    fn is_empty(&self) -> bool {
        self.q.is_empty() && self.resource.is_empty() && self.namespace.is_empty() && self.labels.is_empty()
    }

    /// The query string of these criteria (for the next page's link).
    fn params(&self) -> Vec<(&'static str, &[u8])> {
        vec![("q", &self.q), ("resource", self.resource.as_bytes()), ("namespace", self.namespace.as_bytes()), ("l", self.labels.as_bytes())]
    }
}

/// One key found.
#[derive(Debug, Clone)]
pub struct Hit {
    pub key: Vec<u8>,
    pub bytes: u64,
}

/// What a search found: the exact count, and one page of keys.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub total: u64,
    pub hits: Vec<Hit>,
    pub next: Option<Vec<u8>>,
}

/// Searches the live keys of `context` (the first page after `after`). A resource that is not
/// known or a selector that does not parse is an error for the reader.
pub fn search(context: &'static Context, c: &Criteria, after: Option<&[u8]>, cancel: &Cancel) -> Result<Found, UiError> {
    let labels = LabelSelector::parse(&c.labels).map_err(UiError::bad_request)?;
    let info: Option<&ResourceInfo> = match c.resource.as_str() {
        "" => None,
        name => Some(context.catalog.resolve(name).map_err(UiError::bad_request)?),
    };
    let range = match info {
        Some(info) => keys_of(&context.prefix, info, (info.namespaced && !c.namespace.is_empty()).then_some(c.namespace.as_str()), None),
        None => KeyRange::all(),
    };
    let index = context.index().map_err(UiError::internal)?;
    let file = context.snapshot.file();
    let finder = memchr::memmem::Finder::new(&c.q);
    let mut found = Found::default();
    for (i, entry) in index.slice(&range, None).iter().enumerate() {
        if i % CANCEL_EVERY == 0 {
            cancel.check()?;
        }
        if !c.q.is_empty() && finder.find(entry.key).is_none() {
            continue;
        }
        let located = context.catalog.locate(entry.key, &context.prefix);
        if !resource_matches(located, info) || !namespace_matches(located, &c.namespace) {
            continue;
        }
        // The stored value is read only where it is needed: for labels, and for the hits shown.
        if !labels.is_empty() {
            let kv = entry.kv(file)?;
            if !labels_match(context, &labels, kv.key, kv.value) {
                continue;
            }
        }
        found.total += 1;
        if after.is_some_and(|a| entry.key <= a) {
            continue;
        }
        if found.hits.len() < RESULTS_PER_PAGE {
            let kv = entry.kv(file)?;
            found.hits.push(Hit { key: entry.key.to_vec(), bytes: (kv.key.len() + kv.value.len()) as u64 });
        } else if found.next.is_none() {
            found.next = found.hits.last().map(|h| h.key.clone());
        }
    }
    Ok(found)
}

fn resource_matches(located: Located<'_, '_>, info: Option<&ResourceInfo>) -> bool {
    match (info, located) {
        (None, _) => true,
        (Some(want), Located::Object { info, .. }) => info.group == want.group && info.resource == want.resource,
        _ => false,
    }
}

fn namespace_matches(located: Located<'_, '_>, namespace: &str) -> bool {
    namespace.is_empty() || located.namespace() == Some(namespace)
}

/// Whether the value is an object whose labels the selector matches. The labels are read by
/// the one reader of object facts (off the wire, not a whole decoding: a selector over 23 500
/// pods took 15 s decoding each). What the decoder would not show (another type stored under
/// the secrets prefix, unless Secrets are shown) matches nothing.
fn labels_match(context: &Context, labels: &LabelSelector, key: &[u8], value: &[u8]) -> bool {
    let Some(facts) = object_facts(&context.decoder, key, value, Wants { maps: true, ..Wants::default() }) else { return false };
    let hidden = !context.decoder.options.show_secrets && context.decoder.stored_secret(key, value) && facts.kind.as_deref() != Some(SECRET_KIND);
    !hidden && labels.matches_with(|k| facts.labels.iter().rev().find(|(name, _)| name == k).map(|(_, v)| v.as_ref()))
}

/// `/ui/CTX/search`
pub async fn page(req: UiRequest) -> UiResult {
    let (server, index) = (req.server, req.index);
    let criteria = Criteria::from_query(&req.query);
    let after = req.query.bytes("after").filter(|a| !a.is_empty()).map(<[u8]>::to_vec);
    let asked = criteria.clone();
    let after_given = after.is_some();
    let result = if criteria.is_empty() {
        None
    } else {
        Some(
            blocking(move || {
                let (context, _) = context_at(server, index);
                match search(context, &asked, after.as_deref(), &server.shutdown) {
                    Err(e) if e.code == axum::http::StatusCode::BAD_REQUEST => Ok(Err(e.message)),
                    other => other.map(Ok),
                }
            })
            .await?,
        )
    };
    let (context, _) = context_at(server, index);
    let body = html! {
        h1 { "Search " span.mono { (context.name) } }
        (form(context, &criteria))
        @match &result {
            None => { p.muted { "Give a key substring, a resource, a namespace or a label selector; every one given must hold." } }
            Some(Err(message)) => { p.error role="alert" { (message) } }
            Some(Ok(found)) => { (results(context, &criteria, found, after_given)) }
        }
    };
    Ok(ok_page(page::layout(Some(server), &Nav::of(context, Tab::Search), "Search", body)))
}

fn form(context: &Context, c: &Criteria) -> Markup {
    let mut resources: Vec<String> = context.catalog.resources().map(|r| r.group_resource()).collect();
    resources.sort();
    html! {
        form.search method="get" action=(format!("/ui/{}/search", context.name)) {
            p {
                label for="q" { "Key holds" } " "
                input #q type="search" name="q" value=(String::from_utf8_lossy(&c.q)) placeholder="web-7d9f";
            }
            p {
                label for="resource" { "Resource" } " "
                input #resource type="text" name="resource" value=(c.resource) list="resources" placeholder="pods, deploy, Secret";
                datalist #resources { @for r in &resources { option value=(r) {} } }
            }
            p {
                label for="namespace" { "Namespace" } " "
                input #namespace type="text" name="namespace" value=(c.namespace) placeholder="default";
            }
            p {
                label for="l" { "Label selector" } " "
                input #l type="text" name="l" value=(c.labels) placeholder="app=web,tier!=db";
            }
            p { button type="submit" { "Search" } }
        }
    }
}

fn results(context: &Context, c: &Criteria, found: &Found, after_given: bool) -> Markup {
    html! {
        p #total { span data-fact="total" { (count(found.total)) } (if found.total == 1 { " live key matches" } else { " live keys match" }) " at revision " (context.revision)
            @if found.total > found.hits.len() as u64 { " (" (RESULTS_PER_PAGE) " to a page, in key order)" } "." }
        @if !found.hits.is_empty() {
            table.data.results data-keyboard {
                thead { tr { th scope="col" { "Key" } th scope="col" { "Resource" } th scope="col" { "Namespace" } th scope="col" { "Name" } th.num scope="col" { "Bytes" } } }
                tbody {
                    @for hit in &found.hits {
                        @let located = context.catalog.locate(&hit.key, &context.prefix);
                        tr {
                            td.key { a href=(page::key_href(context, &hit.key)) { (key_text(&hit.key)) } }
                            td { (crate::views::analyze::resource_group(&located, &context.prefix)) }
                            td { (located.namespace().unwrap_or("")) }
                            td.key { (located.name().unwrap_or("")) }
                            td.num { (bytes(hit.bytes)) }
                        }
                    }
                }
            }
        }
        @if after_given || found.next.is_some() {
            nav.pager aria-label="Pages of results" {
                @if after_given { a href=(href(&format!("/ui/{}/search", context.name), &c.params())) { "← first page" } }
                @if let Some(next) = &found.next {
                    a rel="next" href=(next_href(context, c, next)) { "next page →" }
                }
            }
        }
    }
}

fn next_href(context: &Context, c: &Criteria, after: &[u8]) -> String {
    let mut params = c.params();
    params.push(("after", after));
    href(&format!("/ui/{}/search", context.name), &params)
}
