//! etcd keys → Kubernetes objects. kube-apiserver stores each object at
//! `<prefix>/<resource key prefix>/[<namespace>/]<name>`, with a few irregular built-in prefixes
//! (`services/specs`, `minions`, `controllers`, `ingress`, …), custom resources at
//! `<prefix>/<group>/<plural>/…`, and a handful of keys that are not objects at all.

use super::resources::{built_in, ResourceInfo};
use crate::error::{Error, Result};
use crate::etcd::KeyRange;
use std::collections::HashMap;

/// kube-apiserver's `--etcd-prefix` as keys start with it: one leading slash, no trailing one.
pub fn normalize_prefix(prefix: &str) -> String {
    format!("/{}", prefix.trim_matches('/'))
}

/// Which namespaces a kubectl-style request reads (`-n NS`, `-A`, or neither).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespace {
    /// kubectl's default: the `default` namespace.
    Default,
    One(String),
    All,
}

/// Where an object lives, from its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub group: String,
    pub resource: String,
    pub namespace: Option<String>,
    pub name: String,
}

/// What a key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClass {
    /// An object of a known resource (built in, or a CRD found in the snapshot).
    Object(ObjectRef),
    /// Under the prefix and shaped like an object of a resource not known here (a custom
    /// resource whose CRD is not in the snapshot, an aggregated or newer built-in type).
    UnknownResource { resource_path: String, namespace: Option<String>, name: String },
    /// Written by kube-apiserver but not one object per key.
    NotObject { what: &'static str },
    /// Not under the prefix (not written by kube-apiserver through this prefix).
    Outside,
}

/// Known resources by key prefix: the built-ins plus CRDs learned from a snapshot.
#[derive(Debug, Clone)]
pub struct Catalog {
    by_key_prefix: HashMap<String, ResourceInfo>,
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog::built_in()
    }
}

impl Catalog {
    pub fn built_in() -> Catalog {
        Catalog { by_key_prefix: built_in().into_iter().map(|r| (r.key_prefix.clone(), r)).collect() }
    }

    /// Adds (or replaces) a resource, e.g. one defined by a CRD.
    pub fn add(&mut self, info: ResourceInfo) {
        self.by_key_prefix.insert(info.key_prefix.clone(), info);
    }

    pub fn resources(&self) -> impl Iterator<Item = &ResourceInfo> {
        self.by_key_prefix.values()
    }

    /// Resolves a kubectl type name: plural, singular, short name or kind, case-insensitive,
    /// optionally qualified with a group (`deployments.apps`, `deploy.apps`).
    pub fn resolve(&self, name: &str) -> Result<&ResourceInfo, String> {
        let lower = name.to_ascii_lowercase();
        let names =
            |r: &ResourceInfo, n: &str| r.resource == n || r.singular() == n || r.kind.to_ascii_lowercase() == n || r.short_names.iter().any(|s| s == n);
        let mut candidates: Vec<&ResourceInfo> = self.by_key_prefix.values().filter(|r| names(r, &lower)).collect();
        if candidates.is_empty() {
            if let Some((res, group)) = lower.split_once('.') {
                candidates = self.by_key_prefix.values().filter(|r| names(r, res) && (r.group == group || r.group.starts_with(&format!("{group}.")))).collect();
            }
        }
        // The core group wins a tie, as kubectl prefers it; then the shortest group name.
        candidates.sort_by_key(|r| (!r.group.is_empty(), r.group.len(), r.group.clone()));
        candidates.first().copied().ok_or_else(|| match self.closest(&lower) {
            Some(close) => format!("the server doesn't have a resource type \"{name}\"; did you mean {close}?"),
            None => format!("the server doesn't have a resource type \"{name}\""),
        })
    }

    /// The resource name (plural, singular or short name) nearest to a misspelt one, if one is
    /// within a third of its length in edits (at least one, at most three).
    fn closest(&self, name: &str) -> Option<String> {
        let budget = (name.chars().count() / 3).clamp(1, 3);
        // Ranked by distance, then full names before short names, then by name.
        let mut best: Option<(usize, bool, String)> = None;
        for r in self.by_key_prefix.values() {
            let names = [(r.resource.clone(), false), (r.singular(), false)].into_iter().chain(r.short_names.iter().map(|s| (s.clone(), true)));
            let len = name.chars().count();
            for (n, short) in names {
                // A length apart by more than the budget cannot be within it: skip the table.
                if n.chars().count().abs_diff(len) > budget {
                    continue;
                }
                let d = edit_distance(name, &n);
                let shown = if r.group.is_empty() { n } else { format!("{n}.{}", r.group) };
                let candidate = (d, short, shown);
                if d <= budget && best.as_ref().map_or(true, |b| candidate < *b) {
                    best = Some(candidate);
                }
            }
        }
        best.map(|(_, _, n)| n)
    }

    /// The resource a kubectl type name means, and the keys of its objects under the etcd
    /// prefix `prefix` (normalized): one object when `name` is given, else every object of the
    /// type in the namespace (or in all of them). The one answer to "which keys hold this
    /// type/namespace/name" for `get`, `history` and `replay`.
    pub fn object_range(&self, prefix: &str, type_name: &str, name: Option<&str>, namespace: &Namespace) -> Result<(ResourceInfo, KeyRange)> {
        let info = self.resolve(type_name).map_err(Error::Usage)?.clone();
        let ns = match (namespace, info.namespaced) {
            (_, false) => None,
            (Namespace::All, true) if name.is_some() => {
                return Err(Error::Usage("a resource cannot be retrieved by name across all namespaces".into()));
            }
            (Namespace::All, true) => None,
            (Namespace::Default, true) => Some("default"),
            (Namespace::One(n), true) => Some(n.as_str()),
        };
        let range = keys_of(prefix, &info, ns, name);
        Ok((info, range))
    }

    /// The resource served at `group`/`resource` (plural), as API paths name it.
    pub fn by_group_resource(&self, group: &str, resource: &str) -> Option<&ResourceInfo> {
        self.by_key_prefix.values().find(|r| r.group == group && r.resource == resource)
    }

    pub fn by_key_prefix(&self, prefix: &str) -> Option<&ResourceInfo> {
        self.by_key_prefix.get(prefix)
    }

    /// What `key` is under the etcd prefix `prefix` (e.g. "/registry"): the one key classifier.
    /// Borrowed from the key and the catalogue, with no allocation, for the paths that look at
    /// every key of a snapshot; [`Located::owned`] is the owned [`KeyClass`], and
    /// [`Located::object_id`] the object a key names, if any.
    pub fn locate<'k>(&self, key: &'k [u8], prefix: &str) -> Located<'k, '_> {
        if key == b"compact_rev_key" {
            return Located::NotObject("revision of the last compaction requested by kube-apiserver");
        }
        let Ok(key) = std::str::from_utf8(key) else { return Located::Outside };
        let prefix = prefix.trim_end_matches('/');
        let Some(rest) = key.strip_prefix(prefix).and_then(|r| r.strip_prefix('/')) else {
            return Located::Outside;
        };
        if let Some(what) = not_object(rest) {
            return Located::NotObject(what);
        }
        // An object key has at most 4 segments: a 1- or 2-segment resource prefix, namespace, name.
        let mut segments = [""; 4];
        let mut count = 0;
        for segment in rest.split('/') {
            if segment.is_empty() || count == segments.len() {
                return Located::Outside;
            }
            segments[count] = segment;
            count += 1;
        }
        let segments = &segments[..count];
        // The first `take` segments as one slice of the key ("services/specs").
        let joined = |take: usize| &rest[..segments[..take].iter().map(|s| s.len()).sum::<usize>() + take - 1];
        // Longest known key prefix first: "services/specs" before a resource named "services".
        for take in (1..=count.saturating_sub(1).min(2)).rev() {
            if let Some(info) = self.by_key_prefix.get(joined(take)) {
                if let Some((namespace, name)) = split_tail(&segments[take..], Some(info.namespaced)) {
                    return Located::Object { info, namespace, name };
                }
            }
        }
        // <group>/<plural>/… with a dotted group: a custom or aggregated resource not known here.
        let take = if count >= 3 && segments[0].contains('.') { 2 } else { 1 };
        match split_tail(&segments[take..], None) {
            Some((namespace, name)) => Located::Unknown { resource_path: joined(take), namespace, name },
            None => Located::Outside,
        }
    }
}

/// [`KeyClass`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Located<'k, 'c> {
    Object { info: &'c ResourceInfo, namespace: Option<&'k str>, name: &'k str },
    Unknown { resource_path: &'k str, namespace: Option<&'k str>, name: &'k str },
    NotObject(&'static str),
    Outside,
}

impl<'k, 'c> Located<'k, 'c> {
    /// The owned [`KeyClass`], for what outlives the key.
    pub fn owned(self) -> KeyClass {
        match self {
            Located::Object { info, namespace, name } => KeyClass::Object(ObjectRef {
                group: info.group.clone(),
                resource: info.resource.clone(),
                namespace: namespace.map(str::to_string),
                name: name.to_string(),
            }),
            Located::Unknown { resource_path, namespace, name } => {
                KeyClass::UnknownResource { resource_path: resource_path.to_string(), namespace: namespace.map(str::to_string), name: name.to_string() }
            }
            Located::NotObject(what) => KeyClass::NotObject { what },
            Located::Outside => KeyClass::Outside,
        }
    }

    /// (API group, plural resource) of an object key: what groups objects by type.
    pub fn group_resource<'s>(self) -> Option<(&'s str, &'s str)>
    where
        'k: 's,
        'c: 's,
    {
        match self {
            Located::Object { info, .. } => Some((&info.group, &info.resource)),
            Located::Unknown { resource_path, .. } => Some(match resource_path.split_once('/') {
                Some((g, r)) => (g, r),
                None => ("", resource_path),
            }),
            _ => None,
        }
    }

    pub fn namespace(&self) -> Option<&'k str> {
        match self {
            Located::Object { namespace, .. } | Located::Unknown { namespace, .. } => *namespace,
            _ => None,
        }
    }

    pub fn name(&self) -> Option<&'k str> {
        match self {
            Located::Object { name, .. } | Located::Unknown { name, .. } => Some(name),
            _ => None,
        }
    }

    pub fn is_known(&self) -> bool {
        matches!(self, Located::Object { .. })
    }

    pub fn object_id(&self) -> Option<ObjectId> {
        let (group, resource) = self.group_resource()?;
        let kind = match self {
            Located::Object { info, .. } => info.kind.clone(),
            _ => String::new(),
        };
        Some(ObjectId {
            group: group.to_string(),
            resource: resource.to_string(),
            kind,
            namespace: self.namespace().map(str::to_string),
            name: self.name().unwrap_or_default().to_string(),
        })
    }
}

/// A Kubernetes object named by its key: the resource it belongs to (known here or not) and
/// where it lives. What `history` and `diff` print for an object key, in JSON with Kubernetes'
/// names (a GroupResource's `group` and `resource`, an object's `kind`, `namespace`, `name`);
/// `kind` is left out when not known, `namespace` for a cluster-scoped object.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ObjectId {
    pub group: String,
    /// Plural resource name ("deployments"); for a resource not known here, the last key segment.
    pub resource: String,
    /// "Deployment"; empty for a resource not known here.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectId {
    /// `deployments.apps`, `pods`: the resource as kubectl qualifies it.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }

    /// `deployment.apps/web`, as `kubectl get -o name` prints it (the resource when the kind is
    /// not known).
    pub fn kubectl_name(&self) -> String {
        let kind = if self.kind.is_empty() { self.resource.clone() } else { self.kind.to_lowercase() };
        if self.group.is_empty() {
            format!("{kind}/{}", self.name)
        } else {
            format!("{kind}.{}/{}", self.group, self.name)
        }
    }
}

/// `[name]` or `[namespace, name]`, checked against the scope when it is known.
fn split_tail<'k>(tail: &[&'k str], namespaced: Option<bool>) -> Option<(Option<&'k str>, &'k str)> {
    match (tail, namespaced) {
        ([name], None | Some(false)) => Some((None, name)),
        ([ns, name], None | Some(true)) => Some((Some(ns), name)),
        _ => None,
    }
}

fn not_object(rest: &str) -> Option<&'static str> {
    let first = rest.split('/').next().unwrap_or_default();
    match first {
        "masterleases" => Some("kube-apiserver endpoint lease (an Endpoints object per apiserver IP)"),
        "ranges" => Some("service IP / node port range allocation (RangeAllocation)"),
        "health" => Some("health-check key"),
        _ => None,
    }
}

/// The keys of `info`'s objects under the (normalized) etcd `prefix`: in namespace `ns` (every
/// namespace when `None`), the one named `name` when given.
pub fn keys_of(prefix: &str, info: &ResourceInfo, ns: Option<&str>, name: Option<&str>) -> KeyRange {
    let mut base = format!("{prefix}/{}/", info.key_prefix);
    if let Some(ns) = ns {
        base.push_str(ns);
        base.push('/');
    }
    match name {
        Some(n) => KeyRange::single(format!("{base}{n}").as_bytes()),
        None => KeyRange::prefix(base.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(group: &str, resource: &str, ns: Option<&str>, name: &str) -> KeyClass {
        KeyClass::Object(ObjectRef { group: group.into(), resource: resource.into(), namespace: ns.map(Into::into), name: name.into() })
    }

    #[test]
    fn built_in_keys() {
        let c = Catalog::built_in();
        let k = |key: &str| c.locate(key.as_bytes(), "/registry").owned();
        assert_eq!(k("/registry/pods/default/web-0"), object("", "pods", Some("default"), "web-0"));
        assert_eq!(k("/registry/services/specs/default/kubernetes"), object("", "services", Some("default"), "kubernetes"));
        assert_eq!(k("/registry/services/endpoints/default/kubernetes"), object("", "endpoints", Some("default"), "kubernetes"));
        assert_eq!(k("/registry/minions/node-1"), object("", "nodes", None, "node-1"));
        assert_eq!(k("/registry/controllers/ns/rc"), object("", "replicationcontrollers", Some("ns"), "rc"));
        assert_eq!(k("/registry/ingress/ns/web"), object("networking.k8s.io", "ingresses", Some("ns"), "web"));
        assert_eq!(k("/registry/namespaces/default"), object("", "namespaces", None, "default"));
        assert_eq!(k("/registry/deployments/kube-system/coredns"), object("apps", "deployments", Some("kube-system"), "coredns"));
        // Kubernetes 1.35-1.36 scheduling types, stored under their plural (default registry stores).
        assert_eq!(k("/registry/podgroups/ml/gang-1"), object("scheduling.k8s.io", "podgroups", Some("ml"), "gang-1"));
        assert_eq!(k("/registry/workloads/ml/trainer"), object("scheduling.k8s.io", "workloads", Some("ml"), "trainer"));
        assert_eq!(
            k("/registry/apiextensions.k8s.io/customresourcedefinitions/widgets.example.com"),
            object("apiextensions.k8s.io", "customresourcedefinitions", None, "widgets.example.com")
        );
    }

    #[test]
    fn keys_that_are_not_objects() {
        let c = Catalog::built_in();
        assert!(matches!(c.locate(b"compact_rev_key", "/registry").owned(), KeyClass::NotObject { .. }));
        assert!(matches!(c.locate(b"/registry/masterleases/10.0.0.1", "/registry").owned(), KeyClass::NotObject { .. }));
        assert!(matches!(c.locate(b"/registry/ranges/serviceips", "/registry").owned(), KeyClass::NotObject { .. }));
        assert_eq!(c.locate(b"/other/pods/a/b", "/registry").owned(), KeyClass::Outside);
        // Too many segments for a pod: not an object key.
        assert_eq!(c.locate(b"/registry/pods/a/b/c", "/registry").owned(), KeyClass::Outside);
        // A namespaced resource with a single segment is not a pod either.
        assert_eq!(
            c.locate(b"/registry/pods/lonely", "/registry").owned(),
            KeyClass::UnknownResource { resource_path: "pods".into(), namespace: None, name: "lonely".into() }
        );
    }

    #[test]
    fn custom_resources_and_other_prefixes() {
        let mut c = Catalog::built_in();
        assert_eq!(
            c.locate(b"/registry/example.com/widgets/ns1/w", "/registry").owned(),
            KeyClass::UnknownResource { resource_path: "example.com/widgets".into(), namespace: Some("ns1".into()), name: "w".into() }
        );
        c.add(ResourceInfo {
            group: "example.com".into(),
            resource: "widgets".into(),
            kind: "Widget".into(),
            namespaced: true,
            key_prefix: "example.com/widgets".into(),
            short_names: vec!["wg".into()],
            printer_columns: None,
            version: None,
            categories: Vec::new(),
            selectable_fields: Vec::new(),
        });
        assert_eq!(c.locate(b"/registry/example.com/widgets/ns1/w", "/registry").owned(), object("example.com", "widgets", Some("ns1"), "w"));
        assert_eq!(c.locate(b"/kubernetes.io/pods/a/b", "/kubernetes.io/").owned(), object("", "pods", Some("a"), "b"));
    }
}

/// Levenshtein distance (insertions, deletions, substitutions), for "did you mean".
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod suggestion_tests {
    use super::*;

    #[test]
    fn misspelt_types_get_the_nearest_name() {
        let c = Catalog::built_in();
        assert_eq!(edit_distance("deploymnets", "deployments"), 2);
        assert!(c.resolve("deploymnets").unwrap_err().ends_with("did you mean deployments.apps?"));
        assert!(c.resolve("pds").unwrap_err().ends_with("did you mean pods?"));
        assert!(!c.resolve("zzzzzzzz").unwrap_err().contains("did you mean"));
    }
}
