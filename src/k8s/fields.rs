//! Field-level differences between two versions of one Kubernetes object, as `history` and
//! `diff` show them: a list of paths with the value before and after.
//!
//! Paths read like kubectl's field paths: `spec.replicas`, `metadata.labels["app.kubernetes.io/name"]`,
//! `spec.template.spec.containers[name=web].image`. Lists whose items are all objects with
//! distinct `name`s on both sides (containers, ports, env, volumes, conditions' types aside) are
//! matched by name, so inserting a container does not report every later one as changed;
//! other lists are matched by position. `metadata.managedFields` and `metadata.resourceVersion`
//! change on every write and are left out unless asked for. Recursion is bounded.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde_json::{Map, Value};
use std::fmt::Write;

/// One changed field. `old` is `None` where the field was added, `new` where it was removed.
/// In JSON: `{"path", "old", "new"}`, the absent side left out.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Change {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

/// Nesting below which values are compared whole (a deeper difference is one change).
pub const MAX_DIFF_DEPTH: usize = 64;

/// Fields that change on every write and say nothing about what changed.
const NOISE: [&[&str]; 2] = [&["metadata", "managedFields"], &["metadata", "resourceVersion"]];

/// The changes that turn `old` into `new`, in document order of `new` (removed fields after).
pub fn diff(old: &Value, new: &Value, all_fields: bool) -> Vec<Change> {
    let mut d = Differ { out: Vec::new(), keys: Vec::new(), path: String::new(), all_fields };
    d.value(old, new, 0);
    d.out
}

/// The top-level fields a set of changes touches (`spec`, `status`, `metadata`, `data`, …),
/// sorted and without repeats: what tells a spec change from a status-only or metadata-only one.
pub fn parts(changes: &[Change]) -> Vec<String> {
    let mut parts: Vec<String> = changes.iter().map(|c| top_level(&c.path).to_string()).collect();
    parts.sort();
    parts.dedup();
    parts
}

/// The top-level field a change's path is under (`data` for `data.password`).
pub fn top_level(path: &str) -> &str {
    let end = path.find(['.', '[']).unwrap_or(path.len());
    &path[..end]
}

struct Differ {
    out: Vec<Change>,
    /// Object keys from the root to here (for the noise filter).
    keys: Vec<String>,
    path: String,
    all_fields: bool,
}

impl Differ {
    fn change(&mut self, old: Option<&Value>, new: Option<&Value>) {
        self.out.push(Change { path: self.path.clone(), old: old.cloned(), new: new.cloned() });
    }

    fn value(&mut self, old: &Value, new: &Value, depth: usize) {
        match (old, new) {
            (Value::Object(a), Value::Object(b)) if depth < MAX_DIFF_DEPTH => self.object(a, b, depth),
            (Value::Array(a), Value::Array(b)) if depth < MAX_DIFF_DEPTH => self.array(a, b, depth),
            (Value::Object(_) | Value::Array(_), Value::Object(_) | Value::Array(_)) if depth >= MAX_DIFF_DEPTH => {
                let deep = Value::String(format!("<nested deeper than {MAX_DIFF_DEPTH} levels: not compared>"));
                self.change(Some(&deep), Some(&deep));
            }
            _ if old == new => {}
            _ => self.change(Some(old), Some(new)),
        }
    }

    fn is_noise(&self, key: &str) -> bool {
        !self.all_fields
            && NOISE
                .iter()
                .any(|n| n.len() == self.keys.len() + 1 && n[..self.keys.len()].iter().zip(&self.keys).all(|(a, b)| a == b) && n[self.keys.len()] == key)
    }

    fn object(&mut self, a: &Map<String, Value>, b: &Map<String, Value>, depth: usize) {
        for (k, new) in b {
            if self.is_noise(k) {
                continue;
            }
            self.with_key(k, |d| match a.get(k) {
                Some(old) => d.value(old, new, depth + 1),
                None => d.change(None, Some(new)),
            });
        }
        for (k, old) in a {
            if !b.contains_key(k) && !self.is_noise(k) {
                self.with_key(k, |d| d.change(Some(old), None));
            }
        }
    }

    fn array(&mut self, a: &[Value], b: &[Value], depth: usize) {
        if let (Some(an), Some(bn)) = (names(a), names(b)) {
            let old_at: HashMap<&str, usize> = an.iter().enumerate().map(|(i, n)| (*n, i)).collect();
            let new_names: HashSet<&str> = bn.iter().copied().collect();
            for (name, new) in bn.iter().zip(b) {
                self.with_segment(&format!("[name={name}]"), |d| match old_at.get(name) {
                    Some(&i) => d.value(&a[i], new, depth + 1),
                    None => d.change(None, Some(new)),
                });
            }
            for (name, old) in an.iter().zip(a) {
                if !new_names.contains(name) {
                    self.with_segment(&format!("[name={name}]"), |d| d.change(Some(old), None));
                }
            }
            return;
        }
        for i in 0..a.len().max(b.len()) {
            self.with_segment(&format!("[{i}]"), |d| match (a.get(i), b.get(i)) {
                (Some(old), Some(new)) => d.value(old, new, depth + 1),
                (old, new) => d.change(old, new),
            });
        }
    }

    fn with_key(&mut self, key: &str, f: impl FnOnce(&mut Self)) {
        let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let len = self.path.len();
        if plain {
            if !self.path.is_empty() {
                self.path.push('.');
            }
            self.path.push_str(key);
        } else {
            let _ = write!(self.path, "[{}]", Value::String(key.to_string()));
        }
        self.keys.push(key.to_string());
        f(self);
        self.keys.pop();
        self.path.truncate(len);
    }

    fn with_segment(&mut self, segment: &str, f: impl FnOnce(&mut Self)) {
        let len = self.path.len();
        self.path.push_str(segment);
        // Inside a list the noise filter no longer applies (it names top-level metadata only).
        self.keys.push(String::from("[]"));
        f(self);
        self.keys.pop();
        self.path.truncate(len);
    }
}

/// The `name` of every item, when every item is an object with a distinct string name.
fn names(items: &[Value]) -> Option<Vec<&str>> {
    let names: Vec<&str> = items.iter().map(|v| v.get("name").and_then(Value::as_str)).collect::<Option<_>>()?;
    let distinct: HashSet<&str> = names.iter().copied().collect();
    (distinct.len() == names.len() && !names.is_empty()).then_some(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(c: &[Change]) -> Vec<&str> {
        c.iter().map(|c| c.path.as_str()).collect()
    }

    #[test]
    fn scalars_maps_and_lists() {
        let old = json!({"metadata": {"name": "web", "resourceVersion": "5", "labels": {"app.kubernetes.io/name": "web"}},
                         "spec": {"replicas": 1, "ports": [80, 443]}, "status": {"ready": 1}});
        let new = json!({"metadata": {"name": "web", "resourceVersion": "9", "labels": {"app.kubernetes.io/name": "api", "tier": "x"}},
                         "spec": {"replicas": 3, "ports": [80]}});
        let c = diff(&old, &new, false);
        assert_eq!(paths(&c), ["metadata.labels[\"app.kubernetes.io/name\"]", "metadata.labels.tier", "spec.replicas", "spec.ports[1]", "status"]);
        assert_eq!(c[2].old, Some(json!(1)));
        assert_eq!(c[2].new, Some(json!(3)));
        assert_eq!(c[3].new, None);
        assert_eq!(parts(&c), ["metadata", "spec", "status"]);
        let all = diff(&old, &new, true);
        assert_eq!(all[0].path, "metadata.resourceVersion");
    }

    #[test]
    fn named_items_are_matched_by_name() {
        let old = json!({"containers": [{"name": "web", "image": "a"}, {"name": "log", "image": "b"}]});
        let new = json!({"containers": [{"name": "init", "image": "c"}, {"name": "web", "image": "a2"}, {"name": "log", "image": "b"}]});
        let c = diff(&old, &new, false);
        assert_eq!(paths(&c), ["containers[name=init]", "containers[name=web].image"]);
    }

    #[test]
    fn noise_is_only_top_level_metadata() {
        let old = json!({"metadata": {"managedFields": [1]}, "spec": {"metadata": {"resourceVersion": "1"}}});
        let new = json!({"metadata": {"managedFields": [2]}, "spec": {"metadata": {"resourceVersion": "2"}}});
        assert_eq!(paths(&diff(&old, &new, false)), ["spec.metadata.resourceVersion"]);
    }

    #[test]
    fn deep_values_end_in_one_change() {
        let mut a = json!(1);
        let mut b = json!(2);
        for _ in 0..200 {
            a = json!({ "x": a });
            b = json!({ "x": b });
        }
        let c = diff(&a, &b, false);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].path.matches('.').count(), MAX_DIFF_DEPTH - 1);
    }
}
