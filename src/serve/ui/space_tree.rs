//! The space view's model: every key's totals from `analyze`'s one pass
//! ([`key_totals`]), placed in a resource → namespace → object tree with exact sums per node,
//! and `analyze`'s summary by resource (space, quota, what compaction and defragmentation give
//! back). Built once per served input (state.rs) and only read by requests, so a level of
//! 23 500 pods costs a sort of that level, never a pass over the file.
//!
//! Groups are named as `analyze --by resource` names them ([`resource_group`]), so the root's
//! nodes are analyze's groups, byte for byte. A namespaced object sits under its namespace; a
//! cluster-scoped object, a non-object key and a key outside the prefix sit directly under
//! their group.

use crate::cancel::Cancel;
use crate::error::Result;
use crate::k8s::key::Located;
use crate::serve::context::Context;
use crate::views::analyze::{key_totals, resource_group, summarize, Analysis, GroupBy, KeyTotals};
use rustc_hash::FxHashMap as HashMap;
use std::borrow::Cow;

/// What a tile's area counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Key and value bytes of the live keys (`liveBytes`).
    Live,
    /// Every retained revision's stored bytes (`historyBytes`).
    History,
}

impl Measure {
    /// `?measure=`: absent or `live`, or `history`.
    pub fn parse(value: Option<&str>) -> Option<Measure> {
        match value.unwrap_or("live") {
            "" | "live" => Some(Measure::Live),
            "history" => Some(Measure::History),
            _ => None,
        }
    }

    /// The query value (empty for the default, so links stay short).
    pub fn query_value(self) -> &'static str {
        match self {
            Measure::Live => "",
            Measure::History => "history",
        }
    }
}

/// Totals of a node or a key, as `analyze`'s groups count them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    /// Live keys.
    pub keys: u64,
    pub live_bytes: u64,
    pub history_bytes: u64,
    pub revisions: u64,
    pub tombstones: u64,
}

/// Churn classes: revisions per key 1, 2–3, 4–7, … 256–511, 512 and more (c0 … c9).
pub const CHURN_CLASSES: usize = 10;

impl Sums {
    pub fn of_key(k: &KeyTotals<'_>) -> Sums {
        Sums { keys: k.live_keys(), live_bytes: k.live_bytes, history_bytes: k.history_bytes, revisions: k.revisions, tombstones: k.tombstones }
    }

    pub fn add(&mut self, o: &Sums) {
        self.keys += o.keys;
        self.live_bytes += o.live_bytes;
        self.history_bytes += o.history_bytes;
        self.revisions += o.revisions;
        self.tombstones += o.tombstones;
    }

    pub fn measure(&self, m: Measure) -> u64 {
        match m {
            Measure::Live => self.live_bytes,
            Measure::History => self.history_bytes,
        }
    }

    /// Revisions per live key, as `analyze`'s REV/KEY column divides (by at least 1).
    pub fn churn(&self) -> f64 {
        self.revisions as f64 / self.keys.max(1) as f64
    }

    /// The churn class: ⌊log₂(revisions per key)⌋, 0 to 9.
    pub fn churn_class(&self) -> usize {
        let per_key = self.revisions / self.keys.max(1);
        (per_key.max(1).ilog2() as usize).min(CHURN_CLASSES - 1)
    }
}

/// A group or namespace: its sums, the nodes below it and the keys directly in it.
#[derive(Debug, Default)]
pub struct Node {
    pub name: String,
    pub sums: Sums,
    pub children: Vec<Node>,
    pub leaves: Vec<Leaf>,
}

/// A key in a node: its index in [`SpaceModel::keys`] and its object name (`None`: the key is
/// not an object's and is shown as its text).
#[derive(Debug, Clone, Copy)]
pub struct Leaf {
    pub key: usize,
    pub name: Option<&'static str>,
}

/// One tile's worth of a level: a node below it or a key in it.
#[derive(Debug, Clone, Copy)]
pub enum Item<'m> {
    Node(&'m Node),
    Key(&'m Leaf, &'m KeyTotals<'static>),
}

impl Item<'_> {
    pub fn sums(&self) -> Sums {
        match self {
            Item::Node(n) => n.sums,
            Item::Key(_, k) => Sums::of_key(k),
        }
    }

    pub fn name(&self) -> Cow<'_, str> {
        match self {
            Item::Node(n) => Cow::Borrowed(&n.name),
            Item::Key(Leaf { name: Some(name), .. }, _) => Cow::Borrowed(name),
            Item::Key(_, k) => Cow::Owned(crate::views::text::printable_key(k.key)),
        }
    }
}

/// Everything the space view draws for one input.
pub struct SpaceModel {
    /// `analyze --by resource` (no top list: the view picks each level's own).
    pub analysis: Analysis,
    pub keys: Vec<KeyTotals<'static>>,
    /// Named "" and holding every group.
    pub root: Node,
}

/// How a key is grouped without allocating per key; named once per group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum GroupKey {
    Object { group: &'static str, resource: &'static str },
    Unknown(&'static str),
    NotObject,
    Outside,
}

/// One pass over the context's `key` bucket (analyze's), then the tree. Stops with
/// `Interrupted` soon after `cancel` is.
pub fn build(context: &'static Context, cancel: &Cancel) -> Result<SpaceModel> {
    let keys = key_totals(&context.snapshot, cancel)?;
    let analysis = summarize(&context.snapshot, &keys, &context.catalog, &context.prefix, &GroupBy::Resource, 0, cancel)?;
    let root = tree(&keys, context, cancel)?;
    Ok(SpaceModel { analysis, keys, root })
}

fn tree(keys: &[KeyTotals<'static>], context: &'static Context, cancel: &Cancel) -> Result<Node> {
    let catalog: &'static crate::k8s::key::Catalog = &context.catalog;
    let mut root = Node::default();
    let mut groups: HashMap<GroupKey, usize> = HashMap::default();
    let mut namespaces: HashMap<(usize, &'static str), usize> = HashMap::default();
    for (i, k) in keys.iter().enumerate() {
        if i % 4096 == 0 {
            cancel.check()?;
        }
        let located = catalog.locate(k.key, &context.prefix);
        let (group_key, namespace, name) = match located {
            Located::Object { info, namespace, name } => (GroupKey::Object { group: &info.group, resource: &info.resource }, namespace, Some(name)),
            Located::Unknown { resource_path, namespace, name } => (GroupKey::Unknown(resource_path), namespace, Some(name)),
            Located::NotObject(_) => (GroupKey::NotObject, None, None),
            Located::Outside => (GroupKey::Outside, None, None),
        };
        let g = *groups.entry(group_key).or_insert_with(|| {
            root.children.push(Node { name: resource_group(&located, &context.prefix), ..Default::default() });
            root.children.len() - 1
        });
        let sums = Sums::of_key(k);
        root.sums.add(&sums);
        let group = &mut root.children[g];
        group.sums.add(&sums);
        let parent = match namespace {
            Some(ns) => {
                let n = *namespaces.entry((g, ns)).or_insert_with(|| {
                    group.children.push(Node { name: ns.to_string(), ..Default::default() });
                    group.children.len() - 1
                });
                let node = &mut group.children[n];
                node.sums.add(&sums);
                node
            }
            None => group,
        };
        parent.leaves.push(Leaf { key: i, name });
    }
    Ok(root)
}

impl SpaceModel {
    /// The nodes from the root to the level `path` names (see [`level`]).
    pub fn level(&self, path: &str) -> Option<Vec<&Node>> {
        level(&self.root, path)
    }

    /// The items of `node`: the nodes below it and the keys in it, largest by `measure` first
    /// (ties by name, then key).
    pub fn items<'m>(&'m self, node: &'m Node, measure: Measure) -> Vec<Item<'m>> {
        let mut items: Vec<Item<'m>> = node.children.iter().map(Item::Node).chain(node.leaves.iter().map(|l| Item::Key(l, &self.keys[l.key]))).collect();
        items.sort_by_cached_key(|item| (std::cmp::Reverse(item.sums().measure(measure)), item.name().into_owned(), item_key(item)));
        items
    }

    /// The `n` keys under `node` with the most history bytes (ties by key), as `analyze`'s
    /// top list orders them.
    pub fn top_keys(&self, node: &Node, n: usize) -> Vec<&KeyTotals<'static>> {
        let mut tops: Vec<&KeyTotals<'static>> = Vec::new();
        let order = |a: &&KeyTotals<'_>, b: &&KeyTotals<'_>| b.history_bytes.cmp(&a.history_bytes).then_with(|| a.key.cmp(b.key));
        let mut visit = |leaves: &[Leaf]| {
            for l in leaves {
                tops.push(&self.keys[l.key]);
                if tops.len() > n.saturating_mul(4).max(64) {
                    tops.sort_unstable_by(order);
                    tops.truncate(n);
                }
            }
        };
        visit(&node.leaves);
        for child in &node.children {
            visit(&child.leaves);
            for grandchild in &child.children {
                visit(&grandchild.leaves);
            }
        }
        tops.sort_unstable_by(order);
        tops.truncate(n);
        tops
    }

    /// The longest key prefix every key under `items` shares (where the key browser shows them).
    pub fn common_prefix<'m>(&'m self, items: &[Item<'m>]) -> &'m [u8] {
        let mut prefix: Option<&'m [u8]> = None;
        let mut take = |key: &'m [u8]| {
            prefix = Some(match prefix {
                None => key,
                Some(p) => &p[..p.iter().zip(key).take_while(|(a, b)| a == b).count()],
            });
            prefix.is_some_and(|p| !p.is_empty())
        };
        for item in items {
            let more = match item {
                Item::Key(_, k) => take(k.key),
                Item::Node(n) => self.node_keys(n).all(&mut take),
            };
            if !more {
                break;
            }
        }
        prefix.unwrap_or(b"")
    }

    /// Every key under `node`.
    fn node_keys<'m>(&'m self, node: &'m Node) -> impl Iterator<Item = &'m [u8]> + 'm {
        let leaves = node.leaves.iter().chain(node.children.iter().flat_map(|c| c.leaves.iter()));
        leaves.map(|l| self.keys[l.key].key)
    }
}

/// The nodes from `root` to the level `path` names (`pods`, `pods/default`, or "" for the
/// root); `None` when no level has that name. Group names may hold `/` (`(outside /registry)`,
/// `a.b/c (unknown resource)`), namespaces never do, so the longest group name that fits is
/// taken and the rest is one namespace.
pub fn level<'n>(root: &'n Node, path: &str) -> Option<Vec<&'n Node>> {
    let mut chain = vec![root];
    if path.is_empty() {
        return Some(chain);
    }
    let group = root
        .children
        .iter()
        .filter(|g| path == g.name || path.strip_prefix(g.name.as_str()).is_some_and(|rest| rest.starts_with('/')))
        .max_by_key(|g| g.name.len())?;
    chain.push(group);
    let rest = &path[group.name.len()..];
    if let Some(namespace) = rest.strip_prefix('/') {
        chain.push(group.children.iter().find(|n| n.name == namespace)?);
    }
    Some(chain)
}

fn item_key<'m>(item: &Item<'m>) -> &'m [u8] {
    match item {
        Item::Node(_) => b"",
        Item::Key(_, k) => k.key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn churn_classes_are_powers_of_two_of_revisions_per_key() {
        let class = |revisions, keys| Sums { revisions, keys, ..Default::default() }.churn_class();
        assert_eq!(class(1, 1), 0);
        assert_eq!(class(3, 2), 0, "1.5 a key");
        assert_eq!(class(2, 1), 1);
        assert_eq!(class(7, 1), 2);
        assert_eq!(class(8, 1), 3);
        assert_eq!(class(511, 1), 8);
        assert_eq!(class(512, 1), 9);
        assert_eq!(class(u64::MAX, 1), 9);
        assert_eq!(class(4, 0), 2, "deleted keys: revisions over at least one key");
        assert_eq!(class(0, 0), 0);
    }

    #[test]
    fn levels_are_found_by_the_longest_group_name_that_fits() {
        let node = |name: &str, children: Vec<Node>| Node { name: name.into(), children, ..Default::default() };
        let root = node(
            "",
            vec![
                node("pods", vec![node("default", vec![]), node("kube-system", vec![])]),
                node("(outside /registry)", vec![]),
                node("a.b/c (unknown resource)", vec![node("ns", vec![])]),
                node("a.b", vec![]),
            ],
        );
        let names = |path: &str| level(&root, path).map(|chain| chain.iter().map(|n| n.name.clone()).collect::<Vec<_>>());
        assert_eq!(names(""), Some(vec!["".to_string()]));
        assert_eq!(names("pods"), Some(vec!["".into(), "pods".into()]));
        assert_eq!(names("pods/kube-system"), Some(vec!["".into(), "pods".into(), "kube-system".into()]));
        assert_eq!(names("(outside /registry)"), Some(vec!["".into(), "(outside /registry)".into()]));
        assert_eq!(names("a.b/c (unknown resource)/ns"), Some(vec!["".into(), "a.b/c (unknown resource)".into(), "ns".into()]));
        assert_eq!(names("a.b"), Some(vec!["".into(), "a.b".into()]));
        for missing in ["pod", "pods/", "pods/nowhere", "pods/default/x", "(outside", "/pods", "a.b/c"] {
            assert_eq!(names(missing), None, "{missing:?}");
        }
    }

    #[test]
    fn measures_read_from_the_query() {
        assert_eq!(Measure::parse(None), Some(Measure::Live));
        assert_eq!(Measure::parse(Some("history")), Some(Measure::History));
        assert_eq!(Measure::parse(Some("live")), Some(Measure::Live));
        assert_eq!(Measure::parse(Some("bytes")), None);
    }
}
