//! `cargo xtask learn-overlay`: learns the schema overlay from Kubernetes' round-trip fixtures.
//!
//! Every fixture (`<release>/<group>.<version>.<Kind>.pb` and `.json` under `ETCDSCOPE_K8S_FIXTURES`, what scripts/k8s-fixtures.sh prints, or ../shared/k8s-fixtures) is
//! the same object in protobuf and in JSON, with every field filled with a recognisable value
//! (`protocolValue`, small distinct integers, fixed dates). For each fixture the `.pb` is walked
//! with the current schemas (the committed facts plus the overlay so far, compiled with protox) beside the
//! `.json`:
//!
//! * a field number the schema does not know, at some message path, is paired with a JSON key at
//!   the same path that the schema does not produce, by value: the wire value must reproduce the
//!   JSON value (same string; base64 of the bytes; same integer or bool; a `metav1.Time` message
//!   whose seconds are the JSON date; a map whose entry keys are the JSON keys; a message whose
//!   every field pairs with one of the JSON object's keys, recursively). A pairing is taken only
//!   when it is one-to-one: the wire field fits exactly one free key and that key fits no other
//!   wire field. Everything else is listed as ambiguous and left out: no number is invented;
//! * a known field whose JSON key is missing while a free key with the same letters (ignoring
//!   case) carries its value gets its JSON name corrected (e.g. `subresource` -> `subResource`);
//! * a kind with no message at all is promoted from the same kind in another version of its group
//!   when every field the fixture has on the wire pairs with its JSON key there (its messages are
//!   copied), else started as an empty message whose fields the next rounds learn.
//!
//! Names that are not on the wire (the type of a new message field) come from k8s-openapi's
//! release module when it has the type, else are made up from the JSON key (and say so). Integer
//! widths come from k8s-openapi too (else int64, which decodes any varint). Rounds repeat until
//! nothing new is learned (a new message's fields are learned in the round after it appears).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use protox::prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value};

use crate::gen;
use crate::openapi::{self, OaTy, OpenApi};
use crate::overlay::{self, Overlay, OverlayField, OverlayMessage};
use crate::wire::{self, WireVal};

/// HEAD first: what the newest release says wins; older releases only add what HEAD lacks.
const RELEASES: [&str; 4] = ["HEAD", "v1.35.0", "v1.34.0", "v1.33.0"];

const META_V1: &str = "k8s.io.apimachinery.pkg.apis.meta.v1";

/// Fields whose message Go embeds inline (the renderer's list, src/k8s/json.rs).
const INLINE: &[&str] = &[
    "volumeSource",
    "persistentVolumeSource",
    "handler",
    "probeHandler",
    "localObjectReference",
    "ingressRuleValue",
    "ruleWithOperations",
    "rule",
    "deviceConfiguration",
    "typeMeta",
    "ephemeralContainerCommon",
];

/// Messages whose JSON is not their fields (the renderer writes them specially).
const SPECIAL: &[&str] = &[
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Duration",
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString",
    "k8s.io.apimachinery.pkg.api.resource.Quantity",
    "k8s.io.apimachinery.pkg.runtime.RawExtension",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSON",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSON",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaPropsOrBool",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaPropsOrArray",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaPropsOrStringArray",
];

struct Fixture {
    release: String,
    stem: String,
    api_version: String,
    kind: String,
    /// Whether the envelope has type meta (then the JSON has apiVersion and kind).
    type_meta: bool,
    raw: Vec<u8>,
    json: Value,
}

impl Fixture {
    fn name(&self) -> String {
        format!("{}/{}", self.release, self.stem)
    }
}

/// Kubernetes' fixtures: `ETCDSCOPE_K8S_FIXTURES` (what scripts/k8s-fixtures.sh prints), else
/// `../shared/k8s-fixtures` beside the repository.
fn fixtures_dir(root: &Path) -> PathBuf {
    match std::env::var_os("ETCDSCOPE_K8S_FIXTURES") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => root.join("../shared/k8s-fixtures"),
    }
}

fn load_fixtures(dir: &Path) -> Result<Vec<Fixture>> {
    let mut out = Vec::new();
    for release in RELEASES {
        let rdir = dir.join(release);
        let mut names: Vec<PathBuf> = std::fs::read_dir(&rdir)
            .with_context(|| format!("reading {}", rdir.display()))?
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pb"))
            .collect();
        names.sort();
        for pb in names {
            let stem = pb.file_stem().unwrap().to_string_lossy().into_owned();
            if stem.ends_with(".after_roundtrip") {
                continue;
            }
            let bytes = std::fs::read(&pb)?;
            let Some(body) = bytes.strip_prefix(b"k8s\0") else { continue };
            let Some(env) = wire::parse(body) else { continue };
            let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), Vec::new());
            for (n, v) in env {
                match (n, v) {
                    (1, WireVal::Bytes(tm)) => {
                        for (m, w) in wire::parse(tm).unwrap_or_default() {
                            if let WireVal::Bytes(s) = w {
                                let s = String::from_utf8_lossy(s).into_owned();
                                if m == 1 {
                                    api_version = s;
                                } else if m == 2 {
                                    kind = s;
                                }
                            }
                        }
                    }
                    (2, WireVal::Bytes(r)) => raw = r.to_vec(),
                    _ => {}
                }
            }
            let type_meta = !(api_version.is_empty() && kind.is_empty());
            if !type_meta {
                let (rest, k) = stem.rsplit_once('.').unwrap();
                let (group, version) = rest.rsplit_once('.').unwrap_or(("", rest));
                let group = if group == "core" { "" } else { group };
                api_version = if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
                kind = k.to_owned();
            }
            let json: Value = serde_json::from_slice(&std::fs::read(pb.with_extension("json"))?)?;
            out.push(Fixture { release: release.to_owned(), stem, api_version, kind, type_meta, raw, json });
        }
    }
    Ok(out)
}

/// The proto package segment of an API group (as src/k8s/schema.rs maps it).
fn package_segment(group: &str) -> &str {
    match group {
        "" => "core",
        "internal.apiserver.k8s.io" => "apiserverinternal",
        "meta.k8s.io" => "v1",
        g => g.split('.').next().unwrap_or(g),
    }
}

fn norm(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
}

fn ident(json: &str) -> String {
    let s: String = json.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{s}")
    } else {
        s
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn is_inline(f: &FieldDescriptor) -> bool {
    matches!(f.kind(), Kind::Message(_)) && INLINE.contains(&f.json_name()) && f.name() == f.json_name()
}

/// JSON keys a message produces (inline fields contribute their message's keys).
fn produced_keys(desc: &MessageDescriptor, out: &mut BTreeSet<String>) {
    for f in desc.fields() {
        match f.kind() {
            Kind::Message(m) if is_inline(&f) => produced_keys(&m, out),
            _ => {
                out.insert(f.json_name().to_owned());
            }
        }
    }
}

fn group<'a>(fields: Vec<(u32, WireVal<'a>)>) -> BTreeMap<u32, Vec<WireVal<'a>>> {
    let mut g: BTreeMap<u32, Vec<WireVal<'a>>> = BTreeMap::new();
    for (n, v) in fields {
        g.entry(n).or_default().push(v);
    }
    g
}

// ---------------------------------------------------------------------------------------------
// What a wire value can be, judged against the JSON value it must produce.

#[derive(Clone, Debug, PartialEq)]
enum Guess {
    /// `string`, `bytes`, `bool`, `double`, `float`, or `varint` (an integer of unknown width).
    Scalar(&'static str),
    /// An apimachinery message with its own JSON form (Time, MicroTime, Quantity, IntOrString).
    Known(String),
    /// Embedded JSON (`FieldsV1`, `RawExtension`, apiextensions `JSON`): which one is not on the wire.
    RawJson,
    /// A message, layout to be learned.
    Message,
    /// Go's named slice of strings: a message with one `repeated string items = 1`.
    StringItems,
}

#[derive(Clone, Debug, PartialEq)]
enum Label {
    Optional,
    Repeated,
    Map,
}

#[derive(Clone, Debug, PartialEq)]
struct Learned {
    label: Label,
    guess: Guess,
}

#[derive(Default)]
struct Matcher {
    memo: RefCell<HashMap<(usize, usize, usize), bool>>,
}

impl Matcher {
    /// One wire value against one JSON value (not an array unless `StringItems`).
    fn single(&self, v: &WireVal<'_>, j: &Value) -> Option<Guess> {
        match (j, v) {
            (Value::String(s), WireVal::Bytes(b)) => {
                if *b == s.as_bytes() {
                    return Some(Guess::Scalar("string"));
                }
                if wire::base64(b) == *s {
                    return Some(Guess::Scalar("bytes"));
                }
                let inner = group(wire::parse(b)?);
                let only = |n: u32| inner.get(&n).and_then(|v| v.last()).copied();
                if let Some((secs, frac)) = wire::rfc3339(s) {
                    let nanos = match only(2) {
                        Some(WireVal::Varint(n)) => n as i64,
                        None => 0,
                        _ => return None,
                    };
                    if inner.keys().all(|k| *k <= 2) && only(1) == Some(WireVal::Varint(secs as u64)) {
                        return match frac {
                            None if nanos == 0 => Some(Guess::Known(format!("{META_V1}.Time"))),
                            Some(f) if f / 1000 == nanos / 1000 => Some(Guess::Known(format!("{META_V1}.MicroTime"))),
                            _ => None,
                        };
                    }
                }
                if inner.len() == 1 && only(1) == Some(WireVal::Bytes(s.as_bytes())) {
                    return Some(Guess::Known("k8s.io.apimachinery.pkg.api.resource.Quantity".into()));
                }
                if only(1) == Some(WireVal::Varint(1)) && only(3) == Some(WireVal::Bytes(s.as_bytes())) {
                    return Some(Guess::Known("k8s.io.apimachinery.pkg.util.intstr.IntOrString".into()));
                }
                None
            }
            (Value::Number(n), WireVal::Varint(x)) => (n.as_i64() == Some(*x as i64)).then_some(Guess::Scalar("varint")),
            (Value::Number(n), WireVal::Fixed64(x)) => (n.as_f64() == Some(f64::from_bits(*x))).then_some(Guess::Scalar("double")),
            (Value::Number(n), WireVal::Fixed32(x)) => (n.as_f64() == Some(f64::from(f32::from_bits(*x)))).then_some(Guess::Scalar("float")),
            (Value::Number(n), WireVal::Bytes(b)) => {
                let inner = group(wire::parse(b)?);
                let ok = inner.keys().all(|k| *k <= 2)
                    && inner.get(&1).and_then(|v| v.last()).is_none_or(|v| *v == WireVal::Varint(0))
                    && inner.get(&2).and_then(|v| v.last()).copied() == n.as_i64().map(|i| WireVal::Varint(i as u64));
                ok.then(|| Guess::Known("k8s.io.apimachinery.pkg.util.intstr.IntOrString".into()))
            }
            (Value::Bool(x), WireVal::Varint(y)) => (u64::from(*x) == *y).then_some(Guess::Scalar("bool")),
            (Value::Object(o), WireVal::Bytes(b)) => {
                let inner = wire::parse(b)?;
                if let [(1, WireVal::Bytes(raw))] = inner.as_slice() {
                    if serde_json::from_slice::<Value>(raw).ok().as_ref() == Some(j) {
                        return Some(Guess::RawJson);
                    }
                }
                self.message(b, o).then_some(Guess::Message)
            }
            (Value::Array(a), WireVal::Bytes(b)) => {
                let inner = wire::parse(b)?;
                let ok = !a.is_empty()
                    && inner.len() == a.len()
                    && inner.iter().zip(a).all(|((n, w), j)| *n == 1 && matches!((w, j), (WireVal::Bytes(x), Value::String(s)) if *x == s.as_bytes()));
                ok.then_some(Guess::StringItems)
            }
            _ => None,
        }
    }

    /// All occurrences of one field number against one JSON value.
    fn field(&self, vals: &[WireVal<'_>], j: &Value) -> Option<Learned> {
        let opt = |g| Learned { label: Label::Optional, guess: g };
        match j {
            Value::Array(a) => {
                if a.is_empty() {
                    return None;
                }
                if vals.len() == a.len() {
                    let gs: Option<Vec<Guess>> = vals.iter().zip(a).map(|(v, x)| self.single(v, x)).collect();
                    if let Some(gs) = gs {
                        if gs.iter().all(|g| *g == gs[0]) {
                            return Some(Learned { label: Label::Repeated, guess: gs[0].clone() });
                        }
                    }
                }
                if let [WireVal::Bytes(b)] = vals {
                    if let Some(g) = self.single(&vals[0], j) {
                        return Some(opt(g));
                    }
                    // Packed repeated varints (bools, integers).
                    if let Some(xs) = wire::packed_varints(b) {
                        let all = |f: &dyn Fn(u64, &Value) -> bool| xs.len() == a.len() && xs.iter().zip(a).all(|(x, j)| f(*x, j));
                        if all(&|x, j| j.as_bool().map(u64::from) == Some(x)) {
                            return Some(Learned { label: Label::Repeated, guess: Guess::Scalar("bool") });
                        }
                        if all(&|x, j| j.as_i64() == Some(x as i64)) {
                            return Some(Learned { label: Label::Repeated, guess: Guess::Scalar("varint") });
                        }
                    }
                }
                None
            }
            Value::Object(o) => {
                if let Some(g) = self.map(vals, o) {
                    return Some(Learned { label: Label::Map, guess: g });
                }
                match vals {
                    [v] => self.single(v, j).map(opt),
                    _ => None,
                }
            }
            _ => match vals {
                [v] => self.single(v, j).map(opt),
                _ => None,
            },
        }
    }

    /// A `map<string, V>`: every occurrence is an entry {1: key, 2: value}, keys = the JSON keys.
    fn map(&self, vals: &[WireVal<'_>], o: &Map<String, Value>) -> Option<Guess> {
        if vals.is_empty() || vals.len() != o.len() {
            return None;
        }
        let mut value_guess: Option<Guess> = None;
        let mut seen = BTreeSet::new();
        for v in vals {
            let WireVal::Bytes(b) = v else { return None };
            let entry = wire::parse(b)?;
            let mut key = None;
            let mut val = None;
            for (n, w) in entry {
                match (n, w) {
                    (1, WireVal::Bytes(k)) => key = Some(std::str::from_utf8(k).ok()?.to_owned()),
                    (2, w) => val = Some(w),
                    _ => return None,
                }
            }
            let key = key?;
            let jv = o.get(&key)?;
            let g = self.single(&val?, jv)?;
            if value_guess.as_ref().is_some_and(|p| *p != g) {
                return None;
            }
            value_guess = Some(g);
            seen.insert(key);
        }
        (seen.len() == o.len()).then_some(value_guess).flatten()
    }

    /// Whether a message's wire bytes can be the JSON object: every non-zero wire field fits some
    /// key and every key fits some wire field.
    fn message(&self, b: &[u8], o: &Map<String, Value>) -> bool {
        let key = (b.as_ptr() as usize, b.len(), o as *const _ as usize);
        if let Some(r) = self.memo.borrow().get(&key) {
            return *r;
        }
        let r = (|| {
            // A one-to-one matching of wire fields to JSON keys that covers every non-zero wire
            // field and every non-empty key (zero fields and empty keys may stay unmatched:
            // proto2 writes non-pointer zeros that JSON omits, and empty structs are `{}`).
            let mut g: Vec<(bool, Vec<WireVal<'_>>)> = group(wire::parse(b)?).into_values().map(|vs| (vs.iter().all(WireVal::is_zero), vs)).collect();
            g.sort_by_key(|(zero, _)| *zero);
            let keys: Vec<&Value> = o.values().collect();
            let fits: Vec<Vec<bool>> = g.iter().map(|(_, vs)| keys.iter().map(|j| self.field(vs, j).is_some()).collect()).collect();
            let mut key_to: Vec<Option<usize>> = vec![None; keys.len()];
            fn augment(i: usize, fits: &[Vec<bool>], seen: &mut [bool], key_to: &mut [Option<usize>]) -> bool {
                for k in 0..fits[i].len() {
                    if fits[i][k] && !seen[k] {
                        seen[k] = true;
                        if key_to[k].is_none_or(|j| augment(j, fits, seen, key_to)) {
                            key_to[k] = Some(i);
                            return true;
                        }
                    }
                }
                false
            }
            for (i, (zero, _)) in g.iter().enumerate() {
                let ok = augment(i, &fits, &mut vec![false; keys.len()], &mut key_to);
                if !ok && !zero {
                    return Some(false);
                }
            }
            Some(keys.iter().zip(&key_to).all(|(j, m)| m.is_some() || is_empty_json(j)))
        })()
        .unwrap_or(false);
        self.memo.borrow_mut().insert(key, r);
        r
    }
}

/// Whether a wire value can be a value of this schema field (what prost-reflect would accept).
fn wire_fits(f: &FieldDescriptor, v: &WireVal<'_>) -> bool {
    let packed = f.is_list() && matches!(v, WireVal::Bytes(_));
    match f.kind() {
        Kind::Message(_) => matches!(v, WireVal::Bytes(b) if wire::parse(b).is_some()),
        Kind::String => matches!(v, WireVal::Bytes(b) if std::str::from_utf8(b).is_ok()),
        Kind::Bytes => matches!(v, WireVal::Bytes(_)),
        Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => packed || matches!(v, WireVal::Fixed64(_)),
        Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => packed || matches!(v, WireVal::Fixed32(_)),
        _ => packed || matches!(v, WireVal::Varint(_)),
    }
}

/// Whether a JSON value has the shape the renderer writes for this message: an object, or the
/// special forms (times, quantities, embedded JSON, ...), or an array for a Go named slice.
fn json_shape_ok(m: &MessageDescriptor, j: &Value) -> bool {
    if SPECIAL.contains(&m.full_name()) || j.is_null() {
        return true;
    }
    let mut fields = m.fields();
    if let (Some(only), None) = (fields.next(), fields.next()) {
        if only.name() == "items" && only.is_list() && !matches!(only.kind(), Kind::Message(_)) {
            return j.is_array();
        }
    }
    j.is_object()
}

fn is_empty_json(j: &Value) -> bool {
    match j {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

// ---------------------------------------------------------------------------------------------
// The learner.

struct Learner<'a> {
    pool: &'a DescriptorPool,
    /// k8s-openapi's release modules, newest first: (module name, types).
    oa: &'a [(String, OpenApi)],
    /// Messages by (package segment, version, name), as src/k8s/schema.rs indexes them.
    by_type: HashMap<(String, String, String), MessageDescriptor>,
    matcher: Matcher,
    messages: BTreeMap<String, OverlayMessage>,
    fields: BTreeMap<(String, u32), OverlayField>,
    /// Ambiguous or unpairable wire fields, conflicts: message -> notes.
    skipped: BTreeMap<String, BTreeSet<String>>,
    /// > 0 while walking a message Go embeds inline.
    inline_depth: usize,
}

/// Counts from walking a fixture with a candidate layout (promotion check).
#[derive(Default, Debug)]
struct Check {
    paired: usize,
    conflicts: usize,
}

impl<'a> Learner<'a> {
    fn new(pool: &'a DescriptorPool, oa: &'a [(String, OpenApi)]) -> Self {
        let mut by_type = HashMap::new();
        for m in pool.all_messages() {
            let package: Vec<&str> = m.package_name().split('.').collect();
            if let [.., segment, version] = package.as_slice() {
                by_type.insert((segment.to_string(), version.to_string(), m.name().to_string()), m.clone());
            }
        }
        Learner {
            pool,
            oa,
            by_type,
            matcher: Matcher::default(),
            messages: BTreeMap::new(),
            fields: BTreeMap::new(),
            skipped: BTreeMap::new(),
            inline_depth: 0,
        }
    }

    fn skip(&mut self, message: &str, note: String) {
        self.skipped.entry(message.to_owned()).or_default().insert(note);
    }

    fn for_type(&self, api_version: &str, kind: &str) -> Option<MessageDescriptor> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let key = |segment: &str| (segment.to_string(), version.to_string(), kind.to_string());
        self.by_type.get(&key(package_segment(group))).or_else(|| group.is_empty().then(|| self.by_type.get(&key("meta"))).flatten()).cloned()
    }

    fn exists(&self, full: &str) -> bool {
        self.pool.get_message_by_name(full).is_some() || self.messages.contains_key(full)
    }

    fn fixture(&mut self, fx: &Fixture) {
        let mut json = fx.json.clone();
        if fx.type_meta {
            if let Value::Object(o) = &mut json {
                o.remove("apiVersion");
                o.remove("kind");
            }
        }
        match self.for_type(&fx.api_version, &fx.kind) {
            Some(desc) => self.walk(&desc, &fx.raw, &json, "", fx, &mut None),
            None => self.uncovered(fx, &json),
        }
    }

    /// A kind without a message: promote the same kind from another version, or start it empty.
    fn uncovered(&mut self, fx: &Fixture, json: &Value) {
        let (group, version) = fx.api_version.rsplit_once('/').unwrap_or(("", &fx.api_version));
        let seg = package_segment(group);
        let mut siblings: Vec<MessageDescriptor> = self
            .pool
            .all_messages()
            .filter(|m| m.name() == fx.kind)
            .filter(|m| {
                let p: Vec<&str> = m.package_name().split('.').collect();
                p.len() >= 2 && p[p.len() - 2] == seg && p[p.len() - 1] != version
            })
            .collect();
        siblings.sort_by_key(|m| std::cmp::Reverse(crate::openapi::version_rank(m.package_name().rsplit('.').next().unwrap())));
        let prefix = siblings.first().map(|m| m.package_name().rsplitn(3, '.').nth(2).unwrap().to_owned()).unwrap_or_else(|| "k8s.io.api".to_owned());
        let target_pkg = format!("{prefix}.{seg}.{version}");
        let target = format!("{target_pkg}.{}", fx.kind);
        if self.messages.contains_key(&target) {
            return;
        }
        let mut tried = Vec::new();
        for src in &siblings {
            let mut check = Some(Check::default());
            self.walk(src, &fx.raw, json, "", fx, &mut check);
            let c = check.unwrap();
            if c.conflicts == 0 && c.paired > 0 {
                // Copy the kind and every message of its package it reaches that the target
                // package lacks; the rest refer to the target package's own messages.
                let src_pkg = src.package_name().to_owned();
                let mut todo = vec![src.clone()];
                let mut seen = BTreeSet::new();
                while let Some(m) = todo.pop() {
                    if !seen.insert(m.full_name().to_owned()) {
                        continue;
                    }
                    let t = format!("{target_pkg}.{}", m.name());
                    if m.full_name() != src.full_name() && self.exists(&t) {
                        continue;
                    }
                    let provenance = if m.full_name() == src.full_name() {
                        format!(
                            "{} {} is not in the schemas; promoted from {}: all {} fields on the wire of {}.pb pair with their JSON keys there",
                            fx.api_version,
                            fx.kind,
                            src.full_name(),
                            c.paired,
                            fx.name()
                        )
                    } else {
                        format!("copied with {target} (promoted from {src_pkg})")
                    };
                    self.messages.insert(t.clone(), OverlayMessage { message: t, copy_of: Some(m.full_name().to_owned()), provenance });
                    for f in m.fields() {
                        if let Kind::Message(sub) = f.kind() {
                            if sub.package_name() == src_pkg && !sub.is_map_entry() {
                                todo.push(sub);
                            } else if sub.is_map_entry() {
                                if let Kind::Message(v) = sub.map_entry_value_field().kind() {
                                    if v.package_name() == src_pkg {
                                        todo.push(v);
                                    }
                                }
                            }
                        }
                    }
                }
                return;
            }
            tried.push(format!("{} ({} conflicts, {} fields paired)", src.full_name(), c.conflicts, c.paired));
        }
        let why = if tried.is_empty() { "no other version has it".to_owned() } else { format!("no other version fits: {}", tried.join(", ")) };
        self.messages.insert(
            target.clone(),
            OverlayMessage {
                message: target,
                copy_of: None,
                provenance: format!("kind {} {} of {}.pb, not in the schemas ({why}); fields learned from the fixture", fx.api_version, fx.kind, fx.name()),
            },
        );
    }

    /// Walks one message's wire bytes beside its JSON object. With `check`, only counts.
    fn walk(&mut self, desc: &MessageDescriptor, bytes: &[u8], json: &Value, path: &str, fx: &Fixture, check: &mut Option<Check>) {
        let Value::Object(obj) = json else { return };
        if SPECIAL.contains(&desc.full_name()) {
            return;
        }
        let Some(fields) = wire::parse(bytes) else {
            match check.as_mut() {
                Some(c) => c.conflicts += 1,
                None => self.skip(desc.full_name(), format!("{}: {path}: not a protobuf message", fx.name())),
            }
            return;
        };
        let mut unknown: BTreeMap<u32, Vec<WireVal<'_>>> = BTreeMap::new();
        let mut misnamed: Vec<(FieldDescriptor, Vec<WireVal<'_>>)> = Vec::new();
        for (num, vals) in group(fields) {
            let Some(f) = desc.get_field(num) else {
                unknown.insert(num, vals);
                continue;
            };
            if let Some(bad) = vals.iter().find(|v| !wire_fits(&f, v)) {
                match check.as_mut() {
                    Some(c) => c.conflicts += 1,
                    None => self.skip(
                        desc.full_name(),
                        format!("field {num} ({}) at `{}` in {}: does not fit its schema type", bad.describe(), join(path, f.json_name()), fx.name()),
                    ),
                }
                continue;
            }
            if let Some(v) = obj.get(f.json_name()) {
                if let Some(c) = check.as_mut() {
                    c.paired += 1;
                }
                self.descend(&f, &vals, v, &join(path, f.json_name()), fx, check);
            } else if is_inline(&f) {
                if let Kind::Message(m) = f.kind() {
                    self.inline_depth += 1;
                    for v in &vals {
                        if let WireVal::Bytes(b) = v {
                            self.walk(&m, b, json, path, fx, check);
                        }
                    }
                    self.inline_depth -= 1;
                }
            } else if !vals.iter().all(WireVal::is_zero) {
                if let Some(c) = check.as_mut() {
                    c.conflicts += 1;
                }
                misnamed.push((f, vals));
            }
        }
        if check.is_some() {
            return;
        }
        let mut produced = BTreeSet::new();
        produced_keys(desc, &mut produced);
        let free: Vec<&String> = obj.keys().filter(|k| !produced.contains(*k)).collect();
        if unknown.is_empty() && misnamed.is_empty() {
            // (An inline message shares its parent's object: the parent's keys are not free.)
            let top = self.inline_depth == 0;
            for k in free.iter().filter(|_| top) {
                self.skip(desc.full_name(), format!("JSON key `{}` in {} has no field on the wire", join(path, k), fx.name()));
            }
            return;
        }

        // Candidate pairings: (wire item, key) -> what the wire value is as that key's value.
        enum Item<'w> {
            Unknown(u32, Vec<WireVal<'w>>),
            Misnamed(FieldDescriptor, Vec<WireVal<'w>>),
        }
        let mut items: Vec<Item<'_>> = unknown.into_iter().map(|(n, v)| Item::Unknown(n, v)).collect();
        items.extend(misnamed.into_iter().map(|(f, v)| Item::Misnamed(f, v)));
        let fits: Vec<Vec<Option<Learned>>> = items
            .iter()
            .map(|it| {
                free.iter()
                    .map(|k| match it {
                        Item::Unknown(_, vals) => self.matcher.field(vals, &obj[k.as_str()]),
                        Item::Misnamed(f, vals) if norm(k) == norm(f.json_name()) => self.matcher.field(vals, &obj[k.as_str()]),
                        Item::Misnamed(..) => None,
                    })
                    .collect()
            })
            .collect();
        // One-to-one pairs only, repeatedly.
        let mut item_done = vec![false; items.len()];
        let mut key_done = vec![false; free.len()];
        let mut pairs = Vec::new();
        loop {
            let mut progress = false;
            for i in 0..items.len() {
                if item_done[i] {
                    continue;
                }
                let ks: Vec<usize> = (0..free.len()).filter(|&k| !key_done[k] && fits[i][k].is_some()).collect();
                if let [k] = ks.as_slice() {
                    let others = (0..items.len()).filter(|&j| j != i && !item_done[j] && fits[j][*k].is_some()).count();
                    if others == 0 {
                        item_done[i] = true;
                        key_done[*k] = true;
                        pairs.push((i, *k));
                        progress = true;
                    }
                }
            }
            if !progress {
                break;
            }
        }
        for (i, k) in pairs {
            let key = free[k].as_str();
            let learned = fits[i][k].clone().unwrap();
            match &items[i] {
                Item::Unknown(n, vals) => self.learn_field(desc, *n, vals, key, &learned, path, fx),
                Item::Misnamed(f, vals) => {
                    let full = desc.full_name().to_owned();
                    let entry = OverlayField {
                        message: full.clone(),
                        number: f.number(),
                        name: String::new(),
                        json_name: key.to_owned(),
                        label: String::new(),
                        key: None,
                        ty: String::new(),
                        rename_json_from: Some(f.json_name().to_owned()),
                        provenance: format!(
                            "learned from {}.pb+json: field {} ({}) at {} is JSON key `{key}`, not `{}`",
                            fx.name(),
                            f.number(),
                            vals[0].describe(),
                            join(path, key),
                            f.json_name()
                        ),
                    };
                    self.fields.entry((full, f.number())).or_insert(entry);
                }
            }
        }
        for (k, key) in free.iter().enumerate() {
            if self.inline_depth == 0 && !key_done[k] && !(0..items.len()).any(|i| fits[i][k].is_some()) {
                self.skip(desc.full_name(), format!("JSON key `{}` in {} has no field on the wire", join(path, key), fx.name()));
            }
        }
        for (i, it) in items.iter().enumerate() {
            if item_done[i] {
                continue;
            }
            let cands: Vec<&str> = (0..free.len()).filter(|&k| fits[i][k].is_some()).map(|k| free[k].as_str()).collect();
            let (what, vals) = match it {
                Item::Unknown(n, v) => (format!("unknown field {n}"), v),
                Item::Misnamed(f, v) => (format!("field {} (JSON `{}` absent)", f.number(), f.json_name()), v),
            };
            let why = if cands.is_empty() { "no free JSON key fits".to_owned() } else { format!("fits several JSON keys: {}", cands.join(", ")) };
            self.skip(desc.full_name(), format!("{what} ({}) at `{}` in {}: {why}", vals[0].describe(), if path.is_empty() { "." } else { path }, fx.name()));
        }
    }

    fn conflict(&mut self, check: &mut Option<Check>, message: &str, note: String) {
        match check.as_mut() {
            Some(c) => c.conflicts += 1,
            None => self.skip(message, note),
        }
    }

    fn descend(&mut self, f: &FieldDescriptor, vals: &[WireVal<'_>], v: &Value, path: &str, fx: &Fixture, check: &mut Option<Check>) {
        let Kind::Message(m) = f.kind() else { return };
        let parent = f.parent_message().full_name().to_owned();
        if f.is_map() {
            let value_field = m.map_entry_value_field();
            let Value::Object(o) = v else {
                self.conflict(check, &parent, format!("`{path}` in {}: a map, but JSON is not an object", fx.name()));
                return;
            };
            for w in vals {
                let WireVal::Bytes(b) = w else { continue };
                let entry = wire::parse(b).unwrap_or_default();
                for (n, ev) in &entry {
                    let ok = match *n {
                        1 => wire_fits(&m.map_entry_key_field(), ev),
                        2 => wire_fits(&value_field, ev),
                        _ => false,
                    };
                    if !ok {
                        self.conflict(check, &parent, format!("`{path}` in {}: map entry field {n} ({}) does not fit the schema", fx.name(), ev.describe()));
                        return;
                    }
                }
                let Kind::Message(vm) = value_field.kind() else { continue };
                let key = entry.iter().find_map(|(n, w)| match (n, w) {
                    (1, WireVal::Bytes(k)) => std::str::from_utf8(k).ok(),
                    _ => None,
                });
                let val = entry.iter().find_map(|(n, w)| match (n, w) {
                    (2, WireVal::Bytes(b)) => Some(*b),
                    _ => None,
                });
                if let (Some(k), Some(b)) = (key, val) {
                    if let Some(jv) = o.get(k) {
                        if !json_shape_ok(&vm, jv) {
                            self.conflict(check, &parent, format!("`{path}[{k}]` in {}: JSON {jv} cannot be a {}", fx.name(), vm.full_name()));
                            continue;
                        }
                        self.walk(&vm, b, jv, &format!("{path}[{k}]"), fx, check);
                    }
                }
            }
        } else if f.is_list() {
            let Value::Array(a) = v else {
                self.conflict(check, &parent, format!("`{path}` in {}: a list, but JSON is not an array", fx.name()));
                return;
            };
            for (i, (w, jv)) in vals.iter().zip(a).enumerate() {
                if !json_shape_ok(&m, jv) {
                    self.conflict(check, &parent, format!("`{path}[{i}]` in {}: JSON {jv} cannot be a {}", fx.name(), m.full_name()));
                    continue;
                }
                if let WireVal::Bytes(b) = w {
                    self.walk(&m, b, jv, &format!("{path}[{i}]"), fx, check);
                }
            }
        } else {
            if !json_shape_ok(&m, v) {
                self.conflict(check, &parent, format!("`{path}` in {}: JSON {v} cannot be a {}", fx.name(), m.full_name()));
                return;
            }
            for w in vals {
                if let WireVal::Bytes(b) = w {
                    self.walk(&m, b, v, path, fx, check);
                }
            }
        }
    }

    /// Records a learned field, naming its type (k8s-openapi, else made up) and creating the
    /// message types it needs.
    #[allow(clippy::too_many_arguments)]
    fn learn_field(&mut self, desc: &MessageDescriptor, number: u32, vals: &[WireVal<'_>], key: &str, l: &Learned, path: &str, fx: &Fixture) {
        let full = desc.full_name().to_owned();
        let at = join(path, key);
        // k8s-openapi, newest release module first: (release module, its type's module and name, field type).
        let own_module: Vec<String> = desc.package_name().strip_prefix("k8s.io.").unwrap_or("").split('.').map(str::to_owned).collect();
        let oa = [false, true].into_iter().find_map(|related| {
            self.oa.iter().find_map(|(rel, oa)| oa.field_type(desc.package_name(), desc.name(), key, related).map(|(m, n, t)| (rel.clone(), m, n, t)))
        });
        let oa_ty = oa.as_ref().map(|(_, m, _, t)| {
            // A same-named type of another version of the same group: its field types of that
            // version are this version's.
            let same_group = m.len() == own_module.len() && m[..m.len() - 1] == own_module[..own_module.len() - 1];
            fn retarget(t: &OaTy, from: &[String], to: &[String]) -> OaTy {
                match t {
                    OaTy::Named(m, n) if m == from => OaTy::Named(to.to_vec(), n.clone()),
                    OaTy::Vec(i) => OaTy::Vec(Box::new(retarget(i, from, to))),
                    OaTy::Map(i) => OaTy::Map(Box::new(retarget(i, from, to))),
                    other => other.clone(),
                }
            }
            if same_group {
                retarget(t, m, &own_module)
            } else {
                t.clone()
            }
        });
        let elem_oa = match (&l.label, oa_ty) {
            (Label::Repeated, Some(OaTy::Vec(t))) | (Label::Map, Some(OaTy::Map(t))) => Some(*t),
            (Label::Optional, t) => t,
            _ => None,
        };
        let oa_where = || match &oa {
            Some((rel, m, n, _)) => format!("k8s-openapi {rel} {}::{n}.{key}", m.join("::")),
            None => String::new(),
        };
        let mut notes = Vec::new();
        let ty = match &l.guess {
            Guess::Scalar("varint") => match &elem_oa {
                Some(OaTy::Prim(p)) if p == "i32" => {
                    notes.push(format!("int32 per {}", oa_where()));
                    "int32".to_owned()
                }
                Some(OaTy::Prim(p)) if p == "i64" => {
                    notes.push(format!("int64 per {}", oa_where()));
                    "int64".to_owned()
                }
                _ => {
                    notes.push("integer width not observable, int64".to_owned());
                    "int64".to_owned()
                }
            },
            Guess::Scalar(s) => (*s).to_owned(),
            Guess::Known(k) => k.clone(),
            Guess::RawJson => match &elem_oa {
                Some(OaTy::Named(m, n)) => {
                    let t = format!("k8s.io.{}.{n}", m.join("."));
                    if !self.exists(&t) {
                        self.skip(&full, format!("unknown field {number} at `{at}` in {}: embedded JSON of type {t}, which has no message", fx.name()));
                        return;
                    }
                    notes.push(format!("embedded-JSON type per {}", oa_where()));
                    t
                }
                _ => {
                    self.skip(&full, format!("unknown field {number} at `{at}` in {}: embedded JSON, and k8s-openapi does not say which type", fx.name()));
                    return;
                }
            },
            Guess::Message | Guess::StringItems => {
                let named = match &elem_oa {
                    Some(OaTy::Named(m, n)) if l.guess == Guess::Message => Some((format!("k8s.io.{}.{n}", m.join(".")), n.clone())),
                    _ => None,
                };
                let (t, how) = match named {
                    Some((t, _)) => {
                        let how = if self.exists(&t) { format!("existing type per {}", oa_where()) } else { format!("type name per {}", oa_where()) };
                        (t, how)
                    }
                    None => {
                        let base = if l.guess == Guess::StringItems { format!("{}Value", upper_first(&ident(key))) } else { upper_first(&ident(key)) };
                        let why =
                            if l.guess == Guess::StringItems { "a Go named slice; k8s-openapi has only Vec<String>" } else { "k8s-openapi has no type for it" };
                        let mut t = format!("{}.{base}", desc.package_name());
                        if self.exists(&t) && !self.messages.get(&t).is_some_and(|m| m.provenance.contains(&format!("{full}.{key}"))) {
                            t = format!("{}.{}{base}", desc.package_name(), desc.name());
                        }
                        (t, format!("type name made up from the JSON key ({why})"))
                    }
                };
                if !self.exists(&t) {
                    let mut provenance = format!("type of {full}.{key} ({}; layout learned from fixtures)", how);
                    if l.guess == Guess::StringItems {
                        provenance = format!("type of {full}.{key}: Go named slice of strings, `repeated string items = 1` on the wire ({how})");
                    }
                    self.messages.insert(t.clone(), OverlayMessage { message: t.clone(), copy_of: None, provenance });
                    if l.guess == Guess::StringItems {
                        self.fields.entry((t.clone(), 1)).or_insert(OverlayField {
                            message: t.clone(),
                            number: 1,
                            name: "items".into(),
                            json_name: "items".into(),
                            label: "repeated".into(),
                            key: None,
                            ty: "string".into(),
                            rename_json_from: None,
                            provenance: format!(
                                "learned from {}.pb+json: the value of `{at}` is a message of repeated field 1 strings, a JSON array of the same strings",
                                fx.name()
                            ),
                        });
                    }
                }
                notes.push(how);
                t
            }
        };
        let label = match l.label {
            Label::Optional => "optional",
            Label::Repeated => "repeated",
            Label::Map => "map",
        };
        let shown = match l.label {
            Label::Map => "map entry".to_owned(),
            _ => vals[0].describe(),
        };
        let mut provenance = format!("learned from {}.pb+json: field {number} {shown} at {at}", fx.name());
        for n in notes {
            provenance.push_str("; ");
            provenance.push_str(&n);
        }
        let entry = OverlayField {
            message: full.clone(),
            number,
            name: ident(key),
            json_name: key.to_owned(),
            label: label.to_owned(),
            key: (l.label == Label::Map).then(|| "string".to_owned()),
            ty,
            rename_json_from: None,
            provenance,
        };
        match self.fields.get(&(full.clone(), number)) {
            Some(prev) if prev.json_name != entry.json_name || prev.ty != entry.ty || prev.label != entry.label => {
                self.skip(
                    &full,
                    format!(
                        "field {number}: {} says `{}` {} {}, kept the earlier `{}` {} {}",
                        fx.name(),
                        entry.json_name,
                        entry.label,
                        entry.ty,
                        prev.json_name,
                        prev.label,
                        prev.ty
                    ),
                );
            }
            Some(_) => {}
            None => {
                self.fields.insert((full, number), entry);
            }
        }
    }
}

pub fn run(dry_run: bool) -> Result<()> {
    let root = crate::repo_root();
    let sources = openapi::Sources::locate(&root.join("xtask/Cargo.toml"))?;
    let inputs = gen::Inputs::load(&root)?;
    let mut oas = Vec::new();
    for m in OpenApi::modules(&sources)? {
        let o = OpenApi::load_module(&sources, &m)?;
        oas.push((m, o));
    }
    let path = root.join(overlay::PATH);
    let start = Overlay::load(&path)?;
    let mut ov = start.clone();
    let fixtures = load_fixtures(&fixtures_dir(&root))?;
    eprintln!("{} fixtures ({})", fixtures.len(), RELEASES.join(", "));
    let mut skipped = BTreeMap::new();
    for round in 1..=20 {
        let files = gen::generate(&inputs, &ov)?;
        let pool = crate::compile_in_memory(&files).context("schemas with the overlay do not compile")?;
        let mut l = Learner::new(&pool, &oas);
        for fx in &fixtures {
            l.fixture(fx);
        }
        let (nm, nf) = (l.messages.len(), l.fields.len());
        eprintln!("round {round}: learned {nm} messages, {nf} fields");
        skipped = l.skipped;
        if nm == 0 && nf == 0 {
            break;
        }
        ov.messages.extend(l.messages.into_values());
        ov.fields.extend(l.fields.into_values());
        ov.normalize();
    }
    if !skipped.is_empty() {
        println!("Skipped (ambiguous, unpairable or conflicting), by message:");
        for (m, notes) in &skipped {
            println!("  {m}");
            for n in notes {
                println!("    - {n}");
            }
        }
    }
    let (new_m, new_f) = (ov.messages.len() - start.messages.len(), ov.fields.len() - start.fields.len());
    println!(
        "overlay: {} messages ({} copied), {} fields ({} JSON-name corrections); {new_m} messages and {new_f} fields new this run",
        ov.messages.len(),
        ov.messages.iter().filter(|m| m.copy_of.is_some()).count(),
        ov.fields.len(),
        ov.fields.iter().filter(|f| f.is_rename()).count(),
    );
    ov.skipped = skipped.iter().map(|(m, n)| (m.clone(), n.iter().cloned().collect())).collect();
    if dry_run {
        println!("--dry-run: {} not written", overlay::PATH);
    } else {
        std::fs::create_dir_all(path.parent().unwrap())?;
        std::fs::write(&path, ov.to_json())?;
        println!("wrote {}; run `cargo xtask schemas` to merge it", overlay::PATH);
    }
    Ok(())
}
