//! The schema overlay: messages and fields that no upstream source has (schemas/upstream), each
//! with where it came from. `cargo xtask learn-overlay` writes it from Kubernetes' round-trip
//! fixtures (a fixture commit ahead of the pinned sources); `cargo xtask schemas` merges it into
//! the generated `.proto` files, and `cargo xtask schemas --upstream` drops the entries the
//! sources come to have.
//!
//! File format (`schemas/overlay/kubernetes.json`, hand-editable):
//!
//! ```json
//! {
//!   "about": "...",
//!   "messages": [
//!     { "message": "k8s.io.api.batch.v1.JobScheduling", "provenance": "..." },
//!     { "message": "k8s.io.api.certificates.v1.ClusterTrustBundle",
//!       "copy_of": "k8s.io.api.certificates.v1beta1.ClusterTrustBundle", "provenance": "..." }
//!   ],
//!   "fields": [
//!     { "message": "k8s.io.api.core.v1.HTTPGetAction", "number": 6, "name": "protocol",
//!       "json_name": "protocol", "label": "optional", "type": "string", "provenance": "..." },
//!     { "message": "k8s.io.api.core.v1.NodeSpec", "number": 9, "name": "podPreemptionPolicy",
//!       "json_name": "podPreemptionPolicy", "label": "optional",
//!       "type": "k8s.io.api.core.v1.NodePodPreemptionPolicy", "provenance": "..." },
//!     { "message": "k8s.io.api.admission.v1.AdmissionRequest", "number": 4,
//!       "json_name": "subResource", "rename_json_from": "subresource", "provenance": "..." }
//!   ]
//! }
//! ```
//!
//! * `messages`: a new message (empty unless fields are added below), or with `copy_of` a copy of
//!   another generated message's fields (numbers, labels, types, JSON names) — for a type promoted
//!   to a new version that keeps its layout. A copied field whose type is a message of the source's
//!   package refers to the same-named message of the new package when there is one.
//! * `skipped` (informational, rewritten by every learning run): what could not be learned, and
//!   why — wire fields whose value fits several JSON keys, and the like. No entry is made for them.
//! * `fields`: `label` is `optional`, `repeated` or `map` (then `key` is the map key type and
//!   `type` the value type); `type` is a proto scalar (`string`, `int32`, `bool`, ...) or a
//!   message's full name. An entry with `rename_json_from` changes only the JSON name of an
//!   existing field.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

pub const PATH: &str = "schemas/overlay/kubernetes.json";

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overlay {
    pub messages: Vec<OverlayMessage>,
    pub fields: Vec<OverlayField>,
    /// What the last `learn-overlay` run could not learn: message -> notes. Informational only
    /// (listed in SOURCES.md); rewritten by every run.
    pub skipped: Vec<(String, Vec<String>)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OverlayMessage {
    /// Full name, e.g. `k8s.io.api.batch.v1.JobScheduling`.
    pub message: String,
    pub copy_of: Option<String>,
    pub provenance: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OverlayField {
    pub message: String,
    pub number: u32,
    /// Proto field name (new fields only).
    pub name: String,
    pub json_name: String,
    /// `optional`, `repeated` or `map` (new fields only).
    pub label: String,
    /// Map key type (maps only).
    pub key: Option<String>,
    /// Scalar type or message full name (the value type for maps; new fields only).
    pub ty: String,
    /// Set when the entry only renames the JSON name of an existing field.
    pub rename_json_from: Option<String>,
    pub provenance: String,
}

impl OverlayField {
    pub fn is_rename(&self) -> bool {
        self.rename_json_from.is_some()
    }
}

/// Splits `k8s.io.api.core.v1.Pod` into (`k8s.io.api.core.v1`, `Pod`).
pub fn split_full_name(full: &str) -> (&str, &str) {
    full.rsplit_once('.').unwrap_or(("", full))
}

fn s(v: &Value, key: &str, ctx: &str) -> Result<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned).with_context(|| format!("{ctx}: missing string `{key}`"))
}

fn opt_s(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

impl Overlay {
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.fields.is_empty()
    }

    /// Reads the overlay; a missing file is an empty overlay.
    pub fn load(path: &Path) -> Result<Overlay> {
        if !path.exists() {
            return Ok(Overlay::default());
        }
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Overlay::parse(&text).with_context(|| format!("parsing {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Overlay> {
        let v: Value = serde_json::from_str(text)?;
        let mut o = Overlay::default();
        for (i, m) in v.get("messages").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let ctx = format!("messages[{i}]");
            o.messages.push(OverlayMessage { message: s(m, "message", &ctx)?, copy_of: opt_s(m, "copy_of"), provenance: s(m, "provenance", &ctx)? });
        }
        for (i, f) in v.get("fields").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let ctx = format!("fields[{i}]");
            let number = f.get("number").and_then(Value::as_u64).with_context(|| format!("{ctx}: missing `number`"))? as u32;
            let rename = opt_s(f, "rename_json_from");
            let field = if rename.is_some() {
                OverlayField {
                    message: s(f, "message", &ctx)?,
                    number,
                    name: String::new(),
                    json_name: s(f, "json_name", &ctx)?,
                    label: String::new(),
                    key: None,
                    ty: String::new(),
                    rename_json_from: rename,
                    provenance: s(f, "provenance", &ctx)?,
                }
            } else {
                let label = s(f, "label", &ctx)?;
                if !["optional", "repeated", "map"].contains(&label.as_str()) {
                    bail!("{ctx}: label must be optional, repeated or map, not {label}");
                }
                let key = opt_s(f, "key");
                if (label == "map") != key.is_some() {
                    bail!("{ctx}: `key` is required for maps and only for maps");
                }
                OverlayField {
                    message: s(f, "message", &ctx)?,
                    number,
                    name: s(f, "name", &ctx)?,
                    json_name: s(f, "json_name", &ctx)?,
                    label,
                    key,
                    ty: s(f, "type", &ctx)?,
                    rename_json_from: None,
                    provenance: s(f, "provenance", &ctx)?,
                }
            };
            o.fields.push(field);
        }
        for s in v.get("skipped").and_then(Value::as_array).into_iter().flatten() {
            let m = s.get("message").and_then(Value::as_str).unwrap_or_default().to_owned();
            let notes = s.get("notes").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect();
            o.skipped.push((m, notes));
        }
        Ok(o)
    }

    /// Sorted, one entry per (message) and per (message, number).
    pub fn normalize(&mut self) {
        self.messages.sort_by(|a, b| a.message.cmp(&b.message));
        self.messages.dedup_by(|a, b| a.message == b.message);
        self.fields.sort_by(|a, b| (&a.message, a.number).cmp(&(&b.message, b.number)));
        self.fields.dedup_by(|a, b| a.message == b.message && a.number == b.number);
    }

    pub fn to_json(&self) -> String {
        let messages: Vec<Vec<(&str, Value)>> = self
            .messages
            .iter()
            .map(|m| {
                let mut o: Vec<(&str, Value)> = vec![("message", json!(m.message))];
                if let Some(c) = &m.copy_of {
                    o.push(("copy_of", json!(c)));
                }
                o.push(("provenance", json!(m.provenance)));
                o
            })
            .collect();
        let fields: Vec<Vec<(&str, Value)>> = self
            .fields
            .iter()
            .map(|f| {
                let mut o: Vec<(&str, Value)> = vec![("message", json!(f.message)), ("number", json!(f.number))];
                if let Some(r) = &f.rename_json_from {
                    o.push(("json_name", json!(f.json_name)));
                    o.push(("rename_json_from", json!(r)));
                } else {
                    o.push(("name", json!(f.name)));
                    o.push(("json_name", json!(f.json_name)));
                    o.push(("label", json!(f.label)));
                    if let Some(k) = &f.key {
                        o.push(("key", json!(k)));
                    }
                    o.push(("type", json!(f.ty)));
                }
                o.push(("provenance", json!(f.provenance)));
                o
            })
            .collect();
        // serde_json sorts object keys; write by hand to keep the order above, one entry a block.
        let mut out = String::from("{\n");
        out.push_str(&format!(
            "  \"about\": {},\n",
            json!("Additions to the schemas that no upstream source (schemas/upstream/sources.txt) has: messages and fields seen in Kubernetes' round-trip fixtures. Written by `cargo xtask learn-overlay` from the fixtures (what scripts/k8s-fixtures.sh prints), or by hand; merged into schemas/kubernetes by `cargo xtask schemas`; entries the sources come to have are removed by `cargo xtask schemas --upstream`. Every entry says where it came from. Format: see xtask/src/overlay.rs.")
        ));
        let block = |name: &str, items: &[Vec<(&str, Value)>], last: bool| {
            let mut s = format!("  \"{name}\": [");
            for (i, it) in items.iter().enumerate() {
                s.push_str(if i == 0 { "\n" } else { ",\n" });
                s.push_str("    {\n");
                let n = it.len();
                for (j, (k, v)) in it.iter().enumerate() {
                    s.push_str(&format!("      {}: {}{}\n", json!(k), v, if j + 1 < n { "," } else { "" }));
                }
                s.push_str("    }");
            }
            if !items.is_empty() {
                s.push_str("\n  ");
            }
            s.push(']');
            s.push_str(if last { "\n" } else { ",\n" });
            s
        };
        let skipped: Vec<Vec<(&str, Value)>> = self.skipped.iter().map(|(m, notes)| vec![("message", json!(m)), ("notes", json!(notes))]).collect();
        out.push_str(&block("messages", &messages, false));
        out.push_str(&block("fields", &fields, false));
        out.push_str(&block("skipped", &skipped, true));
        out.push_str("}\n");
        out
    }
}
