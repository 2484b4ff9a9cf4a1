//! Reads k8s-pb and k8s-openapi sources and renders one proto2 file per Kubernetes proto package.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Expr, Lit, Meta, Token};

use crate::gotags::{self, GoFacts};
use crate::overlay::{self, split_full_name, Overlay, SCALARS};

/// Per-field JSON rules from Go's struct tags, written beside the `.proto` files.
pub const GO_JSON: &str = "go-json.txt";

/// Where the two source crates are, and their versions.
pub struct Sources {
    pub pb_dir: PathBuf,
    pub pb_version: String,
    pub oa_dir: PathBuf,
    pub oa_version: String,
    /// k8s-openapi release module, e.g. `v1_37`.
    pub oa_module: String,
}

impl Sources {
    /// Runs `cargo metadata` on the xtask package: its `cfg(any())` dependencies k8s-pb and
    /// k8s-openapi are resolved (per xtask/Cargo.lock) and downloaded, but never built.
    pub fn locate(manifest: &Path) -> Result<Self> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out =
            Command::new(cargo).args(["metadata", "--format-version", "1", "--manifest-path"]).arg(manifest).output().context("running cargo metadata")?;
        if !out.status.success() {
            bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let meta: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let packages = meta["packages"].as_array().context("metadata.packages")?;
        let find = |name: &str| -> Result<&serde_json::Value> {
            let found: Vec<_> = packages.iter().filter(|p| p["name"] == name).collect();
            match found.as_slice() {
                [one] => Ok(*one),
                _ => bail!("expected exactly one `{name}` in cargo metadata, found {}", found.len()),
            }
        };
        let dir_of = |p: &serde_json::Value| -> PathBuf { Path::new(p["manifest_path"].as_str().unwrap()).parent().unwrap().to_path_buf() };
        let pb = find("k8s-pb")?;
        let oa = find("k8s-openapi")?;
        let oa_dir = dir_of(oa);
        // The module the `latest` feature enables, e.g. `latest = ["v1_37"]`.
        let oa_module = oa["features"]["latest"]
            .as_array()
            .and_then(|v| v.iter().filter_map(|f| f.as_str()).find(|f| f.starts_with("v1_")))
            .map(str::to_owned)
            .context("k8s-openapi has no `latest` feature naming a v1_NN module")?;
        if !oa_dir.join("src").join(&oa_module).is_dir() {
            bail!("k8s-openapi module src/{oa_module} not found");
        }
        Ok(Sources {
            pb_dir: dir_of(pb),
            pb_version: pb["version"].as_str().unwrap().to_owned(),
            oa_dir,
            oa_version: oa["version"].as_str().unwrap().to_owned(),
            oa_module,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// k8s-openapi: type names and JSON field names.

#[derive(Default)]
struct OaType {
    /// Original type name, e.g. `AWSElasticBlockStoreVolumeSource`.
    name: String,
    /// Rust field name -> JSON name, from `serialize_field(&mut state, "json", ...)`.
    by_field: BTreeMap<String, String>,
    /// Every JSON name serialized (including ones not tied to a Rust field).
    json_names: BTreeSet<String>,
    /// Rust field name -> its type (for `cargo xtask learn-overlay`).
    field_types: BTreeMap<String, OaTy>,
}

/// A k8s-openapi field type, `Option` removed.
#[derive(Clone, Debug, PartialEq)]
pub enum OaTy {
    /// `String`, `bool`, `i32`, `i64`, `f64`, `ByteString`, `Value`, ...
    Prim(String),
    /// A k8s-openapi type: (module path under the release module, name), e.g.
    /// (`["api","core","v1"]`, `NodePodPreemptionPolicy`).
    Named(Vec<String>, String),
    Vec(Box<OaTy>),
    /// `BTreeMap<String, T>`: the value type.
    Map(Box<OaTy>),
}

fn oa_ty(ty: &syn::Type) -> Option<OaTy> {
    let syn::Type::Path(tp) = ty else { return None };
    let last = tp.path.segments.last()?;
    let ident = last.ident.to_string();
    let inner = || -> Option<OaTy> {
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return None };
        let t = args
            .args
            .iter()
            .filter_map(|a| match a {
                syn::GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .last()?;
        oa_ty(t)
    };
    match ident.as_str() {
        "Option" | "Box" => inner(),
        "Vec" => Some(OaTy::Vec(Box::new(inner()?))),
        "BTreeMap" | "HashMap" => Some(OaTy::Map(Box::new(inner()?))),
        _ => {
            let segs: Vec<String> = tp.path.segments.iter().map(|s| s.ident.to_string()).collect();
            match segs.first().map(String::as_str) {
                Some("crate") if segs.len() > 2 && segs[1] != "serde_json" => Some(OaTy::Named(segs[1..segs.len() - 1].to_vec(), ident)),
                _ => Some(OaTy::Prim(ident)),
            }
        }
    }
}

/// Module path (`["api","core","v1"]`) -> lowercased type name -> type.
type OaIndex = HashMap<Vec<String>, HashMap<String, OaType>>;

fn read_openapi(src: &Path) -> Result<OaIndex> {
    let mut index = OaIndex::new();
    let mut dirs = vec![(src.to_path_buf(), Vec::<String>::new())];
    while let Some((dir, module)) = dirs.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)?.map(|e| e.unwrap().path()).collect();
        entries.sort();
        for path in entries {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                let mut m = module.clone();
                m.push(stem);
                dirs.push((path, m));
            } else if path.extension().is_some_and(|e| e == "rs") {
                let file = parse(&path)?;
                let types = index.entry(module.clone()).or_default();
                for item in &file.items {
                    let name = match item {
                        syn::Item::Struct(s) if matches!(s.vis, syn::Visibility::Public(_)) => s.ident.to_string(),
                        syn::Item::Enum(e) if matches!(e.vis, syn::Visibility::Public(_)) => e.ident.to_string(),
                        _ => continue,
                    };
                    let key = name.to_lowercase();
                    let t = types.entry(key).or_default();
                    t.name = name;
                    if let syn::Item::Struct(st) = item {
                        for f in &st.fields {
                            if let (Some(id), Some(ty)) = (&f.ident, oa_ty(&f.ty)) {
                                t.field_types.insert(unraw(&id.to_string()), ty);
                            }
                        }
                    }
                }
                for item in &file.items {
                    let syn::Item::Impl(imp) = item else { continue };
                    let Some((_, tr, _)) = &imp.trait_ else { continue };
                    if tr.segments.last().unwrap().ident != "Serialize" {
                        continue;
                    }
                    let syn::Type::Path(ty) = &*imp.self_ty else { continue };
                    let name = ty.path.segments.last().unwrap().ident.to_string();
                    let mut v = SerVisitor::default();
                    v.visit_item_impl(imp);
                    let t = types.entry(name.to_lowercase()).or_default();
                    t.name = name.clone();
                    for (field, json) in v.found {
                        if let Some(f) = field {
                            t.by_field.insert(f, json.clone());
                        }
                        t.json_names.insert(json);
                    }
                }
            }
        }
    }
    Ok(index)
}

/// Collects `serialize_field(&mut state, "json", X)` calls, with the `self.field` that X is (or
/// that `value` was bound from in an enclosing `if let Some(value) = &self.field`).
#[derive(Default)]
struct SerVisitor {
    bound: Vec<Option<String>>,
    found: Vec<(Option<String>, String)>,
}

fn self_field(e: &Expr) -> Option<String> {
    match e {
        Expr::Reference(r) => self_field(&r.expr),
        Expr::Paren(p) => self_field(&p.expr),
        Expr::Field(f) => match (&*f.base, &f.member) {
            (Expr::Path(p), syn::Member::Named(id)) if p.path.is_ident("self") => Some(unraw(&id.to_string())),
            _ => None,
        },
        _ => None,
    }
}

impl<'ast> Visit<'ast> for SerVisitor {
    fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
        let field = match &*i.cond {
            Expr::Let(l) => self_field(&l.expr),
            _ => None,
        };
        self.bound.push(field);
        syn::visit::visit_expr_if(self, i);
        self.bound.pop();
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let Expr::Path(p) = &*c.func {
            if p.path.segments.last().is_some_and(|s| s.ident == "serialize_field") && c.args.len() == 3 {
                if let Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) = &c.args[1] {
                    let field = match &c.args[2] {
                        Expr::Path(v) if v.path.is_ident("value") => self.bound.last().cloned().flatten(),
                        other => self_field(other),
                    };
                    self.found.push((field, s.value()));
                }
            }
        }
        syn::visit::visit_expr_call(self, c);
    }
}

// ---------------------------------------------------------------------------------------------
// k8s-pb: messages and fields.

#[derive(Clone, Debug)]
enum FieldType {
    Scalar(String),
    /// (module path, prost struct name)
    Message(Vec<String>, String),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Label {
    Optional,
    Repeated,
    Map,
}

#[derive(Clone, Debug)]
struct PbField {
    /// prost field name without `r#`, e.g. `pod_ip`.
    rust: String,
    tag: u32,
    label: Label,
    /// Map key type (string) when `label == Map`.
    key: Option<String>,
    ty: FieldType,
    docs: Vec<String>,
    /// JSON name fixed by the overlay (or copied with a message from the overlay), and its source.
    fixed_json: Option<(String, NameSource)>,
    /// `// overlay: ...` comment.
    note: Option<String>,
}

#[derive(Debug)]
struct PbMessage {
    rust: String,
    docs: Vec<String>,
    fields: Vec<PbField>,
    kind: Option<String>,
    /// `// overlay: ...` comment.
    note: Option<String>,
}

struct PbPackage {
    module: Vec<String>,
    messages: Vec<PbMessage>,
}

fn read_pb(src: &Path) -> Result<Vec<PbPackage>> {
    let mut packages = Vec::new();
    let mut dirs = vec![(src.to_path_buf(), Vec::<String>::new())];
    while let Some((dir, module)) = dirs.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)?.map(|e| e.unwrap().path()).collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                let mut m = module.clone();
                m.push(path.file_name().unwrap().to_string_lossy().into_owned());
                dirs.push((path, m));
            } else if path.file_name().is_some_and(|n| n == "mod.rs") {
                let file = parse(&path)?;
                let pkg = read_pb_module(&file, &module).with_context(|| format!("reading {}", path.display()))?;
                if !pkg.messages.is_empty() {
                    packages.push(pkg);
                }
            }
        }
    }
    packages.sort_by(|a, b| a.module.cmp(&b.module));
    Ok(packages)
}

fn read_pb_module(file: &syn::File, module: &[String]) -> Result<PbPackage> {
    let mut messages = Vec::new();
    let mut kinds = HashMap::new();
    for item in &file.items {
        match item {
            syn::Item::Struct(s) if derives_prost_message(&s.attrs) => {
                let mut fields = Vec::new();
                for f in &s.fields {
                    let rust = unraw(&f.ident.as_ref().context("tuple struct")?.to_string());
                    let field = read_pb_field(f, module).with_context(|| format!("{}.{rust}", s.ident))?;
                    fields.push(PbField { rust, docs: docs(&f.attrs), ..field });
                }
                messages.push(PbMessage { rust: s.ident.to_string(), docs: docs(&s.attrs), fields, kind: None, note: None });
            }
            syn::Item::Struct(s) if has_attr(&s.attrs, "prost") => bail!("unexpected prost struct {}", s.ident),
            syn::Item::Enum(e) if e.attrs.iter().any(|a| a.path().is_ident("derive") && quote_str(a).contains("Enumeration")) => {
                bail!("k8s-pb now has enums ({}): teach xtask to emit them", e.ident)
            }
            syn::Item::Mod(m) if m.content.is_some() => bail!("nested module {} (nested messages) not supported", m.ident),
            syn::Item::Impl(imp) => {
                // `impl crate::Resource for Pod { const KIND: &'static str = "Pod"; ... }`
                let Some((_, tr, _)) = &imp.trait_ else { continue };
                if tr.segments.last().unwrap().ident != "Resource" {
                    continue;
                }
                let syn::Type::Path(ty) = &*imp.self_ty else { continue };
                for it in &imp.items {
                    if let syn::ImplItem::Const(c) = it {
                        if c.ident == "KIND" {
                            if let Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) = &c.expr {
                                kinds.insert(ty.path.segments.last().unwrap().ident.to_string(), s.value());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for m in &mut messages {
        m.kind = kinds.remove(&m.rust);
    }
    Ok(PbPackage { module: module.to_vec(), messages })
}

fn read_pb_field(f: &syn::Field, module: &[String]) -> Result<PbField> {
    let attr = f.attrs.iter().find(|a| a.path().is_ident("prost")).context("field without #[prost]")?;
    let metas = attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)?;
    let mut scalar = None;
    let mut label = None;
    let mut tag = None;
    let mut map = None;
    for m in &metas {
        match m {
            Meta::Path(p) => {
                let id = p.get_ident().context("path")?.to_string();
                match id.as_str() {
                    "optional" => label = Some(Label::Optional),
                    "repeated" => label = Some(Label::Repeated),
                    "required" => bail!("required fields not supported"),
                    "boxed" => {}
                    "string" | "bool" | "int32" | "int64" | "uint32" | "uint64" | "sint32" | "sint64" | "fixed32" | "fixed64" | "sfixed32" | "sfixed64"
                    | "float" | "double" | "message" => scalar = Some(id),
                    other => bail!("unknown prost attribute `{other}`"),
                }
            }
            Meta::NameValue(nv) => {
                let id = nv.path.get_ident().context("name")?.to_string();
                let Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) = &nv.value else { bail!("non-string value for {id}") };
                let v = s.value();
                match id.as_str() {
                    "tag" => tag = Some(v.parse::<u32>()?),
                    "bytes" => scalar = Some("bytes".to_owned()),
                    "packed" => {} // proto2 repeated scalars are unpacked by default; k8s-pb says "false"
                    "map" | "btree_map" | "hash_map" => {
                        let (k, val) = v.split_once(',').context("map types")?;
                        map = Some((k.trim().to_owned(), val.trim().to_owned()));
                    }
                    other => bail!("unknown prost attribute `{other} = ...`"),
                }
            }
            Meta::List(_) => bail!("unexpected list in #[prost]"),
        }
    }
    let tag = tag.context("no tag")?;
    let (label, key, kind) = match map {
        Some((k, v)) => (Label::Map, Some(k), v),
        None => (label.context("no label")?, None, scalar.context("no type")?),
    };
    let ty = if kind == "message" {
        let (m, name) = message_path(&f.ty, module)?;
        FieldType::Message(m, name)
    } else if kind.starts_with("enumeration") {
        bail!("enum fields not supported")
    } else {
        FieldType::Scalar(kind)
    };
    Ok(PbField { rust: String::new(), tag, label, key, ty, docs: Vec::new(), fixed_json: None, note: None })
}

/// The message a field's Rust type names, unwrapping Option/Vec/Box and BTreeMap's value,
/// with `super::`/`crate::` resolved against `module`.
fn message_path(ty: &syn::Type, module: &[String]) -> Result<(Vec<String>, String)> {
    let syn::Type::Path(tp) = ty else { bail!("unexpected type") };
    let last = tp.path.segments.last().unwrap();
    let wrapper = ["Option", "Vec", "Box", "BTreeMap", "HashMap"].contains(&last.ident.to_string().as_str());
    if wrapper {
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else { bail!("generic args") };
        let inner = args
            .args
            .iter()
            .filter_map(|a| match a {
                syn::GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .last()
            .context("type argument")?;
        return message_path(inner, module);
    }
    let segs: Vec<String> = tp.path.segments.iter().map(|s| s.ident.to_string()).collect();
    let mut m = module.to_vec();
    let mut rest = &segs[..];
    if rest.first().is_some_and(|s| s == "crate") {
        m.clear();
        rest = &rest[1..];
    }
    while rest.first().is_some_and(|s| s == "super") {
        m.pop().context("too many super::")?;
        rest = &rest[1..];
    }
    let (name, mods) = rest.split_last().unwrap();
    m.extend(mods.iter().cloned());
    Ok((m, name.clone()))
}

// ---------------------------------------------------------------------------------------------
// Naming.

fn package_of(module: &[String]) -> String {
    format!("k8s.io.{}", module.join("."))
}

fn norm(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

fn lower_camel(snake: &str) -> String {
    let mut out = String::new();
    for (i, part) in snake.split('_').enumerate() {
        if i == 0 {
            out.push_str(part);
        } else {
            let mut cs = part.chars();
            if let Some(c) = cs.next() {
                out.push(c.to_ascii_uppercase());
                out.extend(cs);
            }
        }
    }
    out
}

fn is_ident(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// First word of a doc comment, if it names `want` (compared case- and underscore-insensitively):
/// Kubernetes docs usually start with the Go/proto name, e.g. "volumeID is unique ID ...".
fn doc_name(docs: &[String], want: &str) -> Option<String> {
    let first = docs.iter().map(|d| d.trim()).find(|d| !d.is_empty())?;
    let word = first.split_whitespace().next()?;
    let word = word.trim_end_matches([',', '.', ':', ';']);
    (is_ident(word) && norm(word) == norm(want)).then(|| word.to_owned())
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum NameSource {
    /// k8s-openapi's matching type, Rust field name equal to k8s-pb's.
    OpenApiField,
    /// k8s-openapi's matching type, JSON name equal to k8s-pb's field name ignoring case and
    /// separators (`x_kubernetes_...` / `x-kubernetes-...`, `ref` / `$ref`).
    OpenApiJson,
    /// k8s-openapi's same-named type in another version of the same API group (k8s-openapi only
    /// has the versions the newest release serves), else in another group, or its generic
    /// `List<T>` for `...List`.
    OpenApiRelated,
    /// The only JSON name of this form (ignoring case and separators) k8s-openapi uses anywhere.
    OpenApiGlobal,
    /// k8s-pb's `Resource::KIND` (message names only).
    Kind,
    /// First word of k8s-pb's doc comment ("volumeID is ..."; a Go name such as "Raw" or
    /// "ContentEncoding" gets its first letter lowered).
    Doc,
    /// k8s-pb's name itself (lowerCamel of the snake_case name for fields).
    Prost,
    /// The overlay (schemas/overlay), learned from Kubernetes' round-trip fixtures.
    Overlay,
}

impl NameSource {
    fn is_openapi(self) -> bool {
        self <= NameSource::OpenApiGlobal
    }

    fn describe(self) -> &'static str {
        match self {
            NameSource::OpenApiField => "k8s-openapi, same type, same Rust field name",
            NameSource::OpenApiJson => "k8s-openapi, same type, JSON name equal ignoring case and separators",
            NameSource::OpenApiRelated => "k8s-openapi, same-named type in another version or group (or `List<T>`)",
            NameSource::OpenApiGlobal => "k8s-openapi, the one JSON name of this form any type uses",
            NameSource::Kind => "k8s-pb `Resource::KIND`",
            NameSource::Doc => "first word of the k8s-pb doc comment",
            NameSource::Prost => "k8s-pb name (lowerCamel of the snake_case field name)",
            NameSource::Overlay => "overlay (learned from Kubernetes' round-trip fixtures)",
        }
    }
}

/// `v1` > `v1beta2` > `v1beta1` > `v1alpha1`, for trying sibling versions newest-stable first.
fn version_rank(v: &str) -> (u32, u32, u32) {
    let digits = |s: &str| -> (u32, usize) {
        let n = s.chars().take_while(char::is_ascii_digit).count();
        (s[..n].parse().unwrap_or(0), n)
    };
    let Some(rest) = v.strip_prefix('v') else { return (0, 0, 0) };
    let (major, n) = digits(rest);
    let rest = &rest[n..];
    if let Some(r) = rest.strip_prefix("beta") {
        (major, 1, digits(r).0)
    } else if let Some(r) = rest.strip_prefix("alpha") {
        (major, 0, digits(r).0)
    } else {
        (major, 2, 0)
    }
}

/// k8s-openapi lookups for one k8s-pb message.
struct Candidates<'a> {
    same: Option<&'a OaType>,
    related: Vec<&'a OaType>,
}

pub struct OpenApi {
    index: OaIndex,
    /// JSON name with case and separators dropped (see [`norm`]) -> every JSON name of that form
    /// that k8s-openapi serializes, over all types.
    global: HashMap<String, BTreeSet<String>>,
}

impl OpenApi {
    /// Reads k8s-openapi's release module.
    pub fn load(s: &Sources) -> Result<Self> {
        Self::load_module(s, &s.oa_module)
    }

    /// Reads one k8s-openapi release module (`v1_37`).
    pub fn load_module(s: &Sources, module: &str) -> Result<Self> {
        Ok(OpenApi::new(read_openapi(&s.oa_dir.join("src").join(module))?))
    }

    /// k8s-openapi's release modules, newest first.
    pub fn modules(s: &Sources) -> Result<Vec<String>> {
        let mut v: Vec<String> = std::fs::read_dir(s.oa_dir.join("src"))?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("v1_"))
            .collect();
        v.sort_by_key(|n| std::cmp::Reverse(n[3..].parse::<u32>().unwrap_or(0)));
        Ok(v)
    }

    /// The type of the field serialized as `json` in the k8s-openapi type for proto message
    /// `package.Name` (same module; else the same-named type in another version or group, as for
    /// JSON names). Returns the k8s-openapi type's module and name, and the field's type.
    pub fn field_type(&self, package: &str, message: &str, json: &str, related: bool) -> Option<(Vec<String>, String, OaTy)> {
        let module: Vec<String> = package.strip_prefix("k8s.io.")?.split('.').map(str::to_owned).collect();
        let c = self.candidates(&module, message);
        let find = |t: &OaType| -> Option<OaTy> {
            let field = t.by_field.iter().find(|(_, j)| *j == json).map(|(f, _)| f)?;
            t.field_types.get(field).cloned()
        };
        if let Some(t) = c.same {
            if let Some(ty) = find(t) {
                return Some((module, t.name.clone(), ty));
            }
        }
        for t in c.related.into_iter().filter(|_| related) {
            if let Some(ty) = find(t) {
                let m = self.index.iter().find(|(_, ts)| ts.get(&t.name.to_lowercase()).is_some_and(|x| std::ptr::eq(x, t)))?.0.clone();
                return Some((m, t.name.clone(), ty));
            }
        }
        None
    }

    fn new(index: OaIndex) -> Self {
        let mut global: HashMap<String, BTreeSet<String>> = HashMap::new();
        for types in index.values() {
            for t in types.values() {
                for j in &t.json_names {
                    global.entry(norm(j)).or_default().insert(j.clone());
                }
            }
        }
        OpenApi { index, global }
    }

    fn candidates(&self, module: &[String], rust: &str) -> Candidates<'_> {
        let key = rust.to_lowercase();
        let same = self.index.get(module).and_then(|t| t.get(&key));
        let mut related = Vec::new();
        if let Some((_, group)) = module.split_last() {
            let mut sibs: Vec<&Vec<String>> =
                self.index.keys().filter(|k| k.len() == module.len() && k[..k.len() - 1] == *group && k.as_slice() != module).collect();
            sibs.sort_by_key(|k| std::cmp::Reverse(version_rank(k.last().unwrap())));
            related.extend(sibs.iter().filter_map(|k| self.index[*k].get(&key)));
        }
        // Then the same name in any other group (extensions/v1beta1 types now live in apps/v1,
        // networking/v1, ...), in module order.
        let mut others: Vec<&Vec<String>> = self
            .index
            .iter()
            .filter(|(k, t)| k.len() == module.len() && k[..k.len() - 1] != module[..module.len() - 1] && t.contains_key(&key))
            .map(|(k, _)| k)
            .collect();
        others.sort();
        related.extend(others.iter().map(|k| &self.index[*k][&key]));
        if rust.ends_with("List") && rust.len() > 4 {
            related.extend(self.index.get(&Vec::new()).and_then(|t| t.get("list")));
        }
        Candidates { same, related }
    }
}

// ---------------------------------------------------------------------------------------------
// Generation.

#[derive(Default)]
struct Stats {
    messages: usize,
    fields: usize,
    field_sources: BTreeMap<NameSource, usize>,
    /// (package.Message.field, json, source) for JSON names not from k8s-openapi.
    fallback_fields: Vec<(String, String, NameSource)>,
    /// package -> source -> count, for JSON names from k8s-openapi but not its matching type.
    indirect: BTreeMap<String, BTreeMap<NameSource, usize>>,
    /// (package, prost name, proto name, source)
    renamed_messages: Vec<(String, String, String, NameSource)>,
    /// (package, proto name, source) for messages without a same-package k8s-openapi type.
    unmatched_messages: Vec<(String, String, NameSource)>,
}

/// Returns file name -> contents for every generated file.
pub fn generate(s: &Sources, overlay: &Overlay) -> Result<BTreeMap<String, String>> {
    let oa = OpenApi::load(s)?;
    generate_with(s, &oa, overlay)
}

/// [`generate`] with k8s-openapi already read (the Go facts come from [`gotags::PATH`]).
pub fn generate_with(s: &Sources, oa: &OpenApi, overlay: &Overlay) -> Result<BTreeMap<String, String>> {
    let go = GoFacts::load(&crate::repo_root().join(gotags::PATH))?;
    generate_go(s, oa, overlay, &go)
}

/// [`generate_with`] with the Go facts given.
pub fn generate_go(s: &Sources, oa: &OpenApi, overlay: &Overlay, go: &GoFacts) -> Result<BTreeMap<String, String>> {
    let mut pb = read_pb(&s.pb_dir.join("src"))?;
    let mut gen_fields: Vec<GenField> = Vec::new();
    let mut stats = Stats::default();

    // Message names: (module, prost name) -> proto name.
    let mut names: HashMap<(Vec<String>, String), String> = HashMap::new();
    for p in &pb {
        for m in &p.messages {
            let c = oa.candidates(&p.module, &m.rust);
            let related = c.related.iter().find(|t| t.name != "List");
            let (name, src) = if let Some(t) = c.same {
                (t.name.clone(), NameSource::OpenApiField)
            } else if let Some(t) = related {
                (t.name.clone(), NameSource::OpenApiRelated)
            } else if let Some(k) = m.kind.as_ref().filter(|k| k.to_lowercase() == m.rust.to_lowercase()) {
                (k.clone(), NameSource::Kind)
            } else if let Some(d) = doc_name(&m.docs, &m.rust) {
                (d, NameSource::Doc)
            } else {
                (m.rust.clone(), NameSource::Prost)
            };
            if name != m.rust {
                stats.renamed_messages.push((package_of(&p.module), m.rust.clone(), name.clone(), src));
            }
            if src != NameSource::OpenApiField {
                stats.unmatched_messages.push((package_of(&p.module), name.clone(), src));
            }
            names.insert((p.module.clone(), m.rust.clone()), name);
        }
    }
    apply_overlay(&mut pb, &mut names, overlay, oa).context(overlay::PATH)?;

    let mut files = BTreeMap::new();
    for p in &pb {
        let package = package_of(&p.module);
        let mut imports = BTreeSet::new();
        let mut body = String::new();
        for m in &p.messages {
            stats.messages += 1;
            let mname = &names[&(p.module.clone(), m.rust.clone())];
            let cands = oa.candidates(&p.module, &m.rust);
            body.push('\n');
            write_docs(&mut body, "", &m.docs);
            if let Some(n) = &m.note {
                writeln!(body, "// overlay: {n}").unwrap();
            }
            writeln!(body, "message {mname} {{").unwrap();
            let mut used_json = HashMap::new();
            for (i, f) in m.fields.iter().enumerate() {
                stats.fields += 1;
                let (json, src) = match &f.fixed_json {
                    Some(j) => j.clone(),
                    None => json_name(f, &cands, oa),
                };
                if let Some(prev) = used_json.insert(json.clone(), f.tag) {
                    bail!("{package}.{mname}: JSON name {json} used by fields {prev} and {}", f.tag);
                }
                *stats.field_sources.entry(src).or_default() += 1;
                if !src.is_openapi() {
                    stats.fallback_fields.push((format!("{package}.{mname}.{}", f.rust), json.clone(), src));
                } else if src > NameSource::OpenApiJson {
                    *stats.indirect.entry(package.clone()).or_default().entry(src).or_default() += 1;
                }
                let proto_name = if is_ident(&json) { json.clone() } else { lower_camel(&f.rust) };
                let ty = match &f.ty {
                    FieldType::Scalar(t) => t.clone(),
                    FieldType::Message(module, rust) => {
                        let n = names
                            .get(&(module.clone(), rust.clone()))
                            .ok_or_else(|| anyhow!("{package}.{mname}.{}: unknown message {}::{rust}", f.rust, module.join("::")))?;
                        if module == &p.module {
                            n.clone()
                        } else {
                            imports.insert(format!("{}.proto", package_of(module)));
                            format!(".{}.{n}", package_of(module))
                        }
                    }
                };
                if i > 0 && (!f.docs.is_empty() || f.note.is_some()) {
                    body.push('\n');
                }
                write_docs(&mut body, "  ", &f.docs);
                if let Some(n) = &f.note {
                    writeln!(body, "  // overlay: {n}").unwrap();
                }
                gen_fields.push(GenField {
                    message: format!("{package}.{mname}"),
                    number: f.tag,
                    json: json.clone(),
                    label: f.label,
                    message_typed: matches!(f.ty, FieldType::Message(..)),
                    bytes: matches!(&f.ty, FieldType::Scalar(t) if t == "bytes"),
                });
                let decl = match f.label {
                    Label::Optional => format!("optional {ty}"),
                    Label::Repeated => format!("repeated {ty}"),
                    Label::Map => format!("map<{}, {ty}>", f.key.as_deref().unwrap()),
                };
                writeln!(body, "  {decl} {proto_name} = {} [json_name = \"{json}\"];", f.tag).unwrap();
            }
            body.push_str("}\n");
        }
        let mut text = header(s, overlay);
        writeln!(text, "syntax = \"proto2\";\n\npackage {package};\n").unwrap();
        for i in &imports {
            writeln!(text, "import \"{i}\";").unwrap();
        }
        text.push_str(if imports.is_empty() { body.trim_start_matches('\n') } else { &body });
        files.insert(format!("{package}.proto"), text);
    }
    let (go_json, go_report) = go_json(&gen_fields, go);
    files.insert(GO_JSON.into(), go_json);
    let mut md = sources_md(s, &files, &stats, overlay);
    md.push_str(&go_report);
    files.insert("SOURCES.md".into(), md);
    Ok(files)
}

/// A generated field, as the Go facts are matched against it.
struct GenField {
    /// Message full name.
    message: String,
    number: u32,
    json: String,
    label: Label,
    message_typed: bool,
    bytes: bool,
}

/// The rule for one field: how Go's encoding/json treats it (see the go-json.txt header). A field
/// that a newer release dropped is never shown as `null` when absent: data written by the newer
/// release does not have it, and that release does not show it.
fn go_rule(f: &GenField, fact: &gotags::Fact) -> Option<&'static str> {
    if fact.has("inline") {
        return Some("inline");
    }
    if fact.json == "-" {
        return None; // never written by Go
    }
    if fact.has("omitzero") {
        return Some("omitzero");
    }
    let nilable = ["pointer", "slice", "map", "bytes"].iter().any(|k| fact.has(k));
    if fact.has("omitempty") {
        // A non-pointer struct is never empty to encoding/json: shown even when zero.
        let by_value_struct = f.message_typed && f.label == Label::Optional && !nilable;
        Some(if fact.has("pointer") || by_value_struct { "keep" } else { "omit" })
    } else if nilable && !fact.has("dropped") {
        Some("null")
    } else {
        Some("keep")
    }
}

const GO_JSON_HEADER: &str = "\
# Generated by `cargo xtask schemas` from schemas/overlay/go-json-tags.tsv (Go struct tags, see
# xtask/src/gotags.rs). DO NOT EDIT BY HAND.
# How Go's encoding/json writes each field of the generated messages that has Go facts:
#   <message full name> <field number> <rule>
# rules:
#   omit      omitempty, not a pointer: a zero value (0, \"\", false, empty list/map/bytes) is omitted
#   keep      always shown when set on the wire, zero included: a pointer with omitempty (absent on
#             the wire = nil = omitted), a field without omitempty, or a struct by value (Go's
#             omitempty never omits a struct)
#   null      no omitempty and the Go type can be nil (slice, map, []byte, pointer): shown as null
#             when absent from the wire; when present it is shown as is (a zero pointee included)
#   omitzero  omitzero: the zero value (a zero struct) is omitted
#   inline    the field's message is embedded: its fields are written into the parent object
# Fields Go never writes (json:\"-\") and messages without Go facts have no line.
";

/// go-json.txt, and the SOURCES.md section about it.
fn go_json(fields: &[GenField], go: &GoFacts) -> (String, String) {
    let mut rules: BTreeMap<(&str, u32), &str> = BTreeMap::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut no_facts: BTreeSet<&str> = BTreeSet::new();
    let mut with_facts: BTreeSet<&str> = BTreeSet::new();
    let mut missing_field: Vec<String> = Vec::new();
    let mut never_written: Vec<String> = Vec::new();
    let mut renamed: Vec<String> = Vec::new();
    let mut kinds: Vec<String> = Vec::new();
    let go_messages = go.messages();
    let ours: BTreeSet<(&str, u32)> = fields.iter().map(|f| (f.message.as_str(), f.number)).collect();
    for f in fields {
        if !go_messages.contains(f.message.as_str()) {
            no_facts.insert(&f.message);
            continue;
        }
        with_facts.insert(&f.message);
        let Some(fact) = go.fields.get(&(f.message.clone(), f.number)) else {
            missing_field.push(format!("`{}` {} (`{}`)", f.message, f.number, f.json));
            continue;
        };
        if !fact.json.is_empty() && fact.json != "-" && fact.json != f.json {
            renamed.push(format!("| `{}` | {} | `{}` | `{}` |", f.message, f.number, f.json, fact.json));
        }
        let go_kind = ["slice", "map", "bytes"].into_iter().find(|k| fact.has(k));
        let proto_kind = match f.label {
            Label::Repeated => Some("slice"),
            Label::Map => Some("map"),
            Label::Optional if f.bytes => Some("bytes"),
            Label::Optional => None,
        };
        if go_kind != proto_kind && !fact.has("inline") {
            kinds.push(format!(
                "| `{}` | {} | `{}` | {} | {} |",
                f.message,
                f.number,
                f.json,
                proto_kind.unwrap_or("single"),
                if fact.has("pointer") { "pointer" } else { go_kind.unwrap_or("single") }
            ));
        }
        match go_rule(f, fact) {
            Some(r) => {
                rules.insert((&f.message, f.number), r);
                *counts.entry(r).or_default() += 1;
            }
            None => never_written.push(format!("`{}` {} (`{}`)", f.message, f.number, f.json)),
        }
    }
    let extra: Vec<String> = go
        .fields
        .iter()
        .filter(|((m, n), _)| with_facts.contains(m.as_str()) && !ours.contains(&(m.as_str(), *n)))
        .map(|((m, n), fact)| format!("`{m}` {n} (`{}`)", fact.json))
        .collect();
    let unused: Vec<&str> = go_messages.iter().copied().filter(|m| !with_facts.contains(m)).collect();

    let mut txt = GO_JSON_HEADER.to_owned();
    for ((m, n), r) in &rules {
        writeln!(txt, "{m} {n} {r}").unwrap();
    }

    let mut o = String::new();
    writeln!(o, "\n## Go JSON rules ({GO_JSON}, from {})\n", gotags::PATH).unwrap();
    writeln!(o, "Go facts from the struct tags of:\n").unwrap();
    for src in &go.sources {
        writeln!(o, "- {src}").unwrap();
    }
    let total: usize = counts.values().sum();
    writeln!(o, "\n- fields with a rule from Go tags: {total} ({})", counts.iter().map(|(r, n)| format!("{r} {n}")).collect::<Vec<_>>().join(", ")).unwrap();
    writeln!(o, "- generated messages with Go facts: {}", with_facts.len()).unwrap();
    writeln!(
        o,
        "- generated messages without Go facts (the renderer keeps its fallback): {} ({} of them written by their own Go MarshalJSON/MarshalText)",
        no_facts.len(),
        no_facts.iter().filter(|m| go.custom.contains(**m)).count()
    )
    .unwrap();
    writeln!(o, "- Go messages with facts that are not generated: {}\n", unused.len()).unwrap();
    writeln!(o, "### JSON names that differ from the Go tag ({})\n", renamed.len()).unwrap();
    writeln!(o, "The generated `json_name` is kept; listed for review.\n").unwrap();
    writeln!(o, "| message | field | generated JSON name | Go JSON name |\n| --- | --- | --- | --- |").unwrap();
    for r in &renamed {
        writeln!(o, "{r}").unwrap();
    }
    writeln!(o, "\n### Go and proto disagree on list / map / bytes ({})\n", kinds.len()).unwrap();
    writeln!(o, "| message | field | JSON name | proto | Go |\n| --- | --- | --- | --- | --- |").unwrap();
    for k in &kinds {
        writeln!(o, "{k}").unwrap();
    }
    let list = |o: &mut String, title: &str, items: &[String]| {
        writeln!(o, "\n### {title} ({})\n", items.len()).unwrap();
        for i in items {
            writeln!(o, "- {i}").unwrap();
        }
    };
    list(&mut o, "Generated fields Go never writes (`json:\"-\"`; no rule)", &never_written);
    list(&mut o, "Generated fields missing from their Go struct (no rule)", &missing_field);
    list(&mut o, "Go fields missing from the generated message", &extra);
    let no_facts: Vec<String> = no_facts
        .iter()
        .map(|m| if go.custom.contains(*m) { format!("`{m}` (Go type has its own MarshalJSON/MarshalText)") } else { format!("`{m}`") })
        .collect();
    list(&mut o, "Generated messages without Go facts", &no_facts);
    list(&mut o, "Go messages not generated", &unused.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>());
    (txt, o)
}

fn json_name(f: &PbField, c: &Candidates<'_>, oa: &OpenApi) -> (String, NameSource) {
    let by_field = |t: &OaType| t.by_field.get(&f.rust).cloned();
    let by_json = |t: &OaType| {
        let want = norm(&f.rust);
        let hits: Vec<&String> = t.json_names.iter().filter(|j| norm(j) == want).collect();
        match hits.as_slice() {
            [one] => Some((*one).clone()),
            _ => None,
        }
    };
    if let Some(t) = c.same {
        if let Some(j) = by_field(t) {
            return (j, NameSource::OpenApiField);
        }
        if let Some(j) = by_json(t) {
            return (j, NameSource::OpenApiJson);
        }
    }
    for t in &c.related {
        if let Some(j) = by_field(t).or_else(|| by_json(t)) {
            return (j, NameSource::OpenApiRelated);
        }
    }
    if let Some(js) = oa.global.get(&norm(&f.rust)) {
        if js.len() == 1 {
            return (js.first().unwrap().clone(), NameSource::OpenApiGlobal);
        }
    }
    if let Some(d) = doc_name(&f.docs, &f.rust) {
        let mut cs = d.chars();
        let (c0, c1) = (cs.next().unwrap(), cs.next());
        if c0.is_ascii_lowercase() {
            return (d, NameSource::Doc);
        }
        // A Go field name ("Raw", "ContentEncoding", "IntVal"): its proto/JSON name starts lowercase.
        if c1.is_some_and(|c| c.is_ascii_lowercase()) {
            return (format!("{}{}", c0.to_ascii_lowercase(), &d[1..]), NameSource::Doc);
        }
    }
    (lower_camel(&f.rust), NameSource::Prost)
}

fn header_lines(s: &Sources, overlay: &Overlay) -> Vec<String> {
    let mut lines = vec![
        "Code generated by `cargo xtask schemas`. DO NOT EDIT BY HAND.".to_owned(),
        format!("Messages, field numbers, types and labels: k8s-pb {} (crates.io).", s.pb_version),
        format!("JSON names and type-name spelling: k8s-openapi {} (crates.io), module {}.", s.oa_version, s.oa_module),
        "See SOURCES.md beside this file for the names that could not be matched.".to_owned(),
    ];
    if !overlay.is_empty() {
        lines.push(format!("Plus {} (messages and fields learned from Kubernetes' round-trip fixtures), marked `overlay:`.", overlay::PATH));
    }
    lines
}

fn header(s: &Sources, overlay: &Overlay) -> String {
    let mut o: String = header_lines(s, overlay).iter().map(|l| format!("// {l}\n")).collect();
    o.push('\n');
    o
}

fn write_docs(out: &mut String, indent: &str, docs: &[String]) {
    let mut lines: Vec<&str> = docs.iter().flat_map(|d| d.split('\n')).map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end()).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    for l in lines {
        if l.is_empty() {
            writeln!(out, "{indent}//").unwrap();
        } else {
            writeln!(out, "{indent}// {l}").unwrap();
        }
    }
}

fn sources_md(s: &Sources, files: &BTreeMap<String, String>, st: &Stats, overlay: &Overlay) -> String {
    let msg_src = |src: NameSource| match src {
        NameSource::OpenApiField => "k8s-openapi, same type",
        NameSource::OpenApiRelated => "k8s-openapi, same-named type in another version or group",
        NameSource::Prost => "k8s-pb struct name",
        other => other.describe(),
    };
    let mut o: String = header_lines(s, overlay).iter().map(|l| format!("<!-- {l} -->\n")).collect();
    o.push('\n');
    writeln!(o, "# Kubernetes protobuf schemas: sources\n").unwrap();
    writeln!(o, "Regenerate with `cargo xtask schemas`; `cargo xtask schemas --check` fails if these files are stale.\n").unwrap();
    writeln!(o, "| source | version |\n| --- | --- |").unwrap();
    writeln!(o, "| k8s-pb | {} |", s.pb_version).unwrap();
    writeln!(o, "| k8s-openapi | {} (module `{}`) |\n", s.oa_version, s.oa_module).unwrap();
    let protos = files.keys().filter(|k| k.ends_with(".proto")).count();
    writeln!(o, "- files: {protos} (`.proto`, one per proto package)").unwrap();
    writeln!(o, "- messages: {}", st.messages).unwrap();
    writeln!(o, "- fields: {}\n", st.fields).unwrap();
    if overlay.is_empty() {
        writeln!(o, "Field numbers, types and labels all come from k8s-pb; only names are matched.\n").unwrap();
    } else {
        writeln!(
            o,
            "Field numbers, types and labels come from k8s-pb, except the overlay additions listed at the end \
             ({}: {} messages, {} fields), which `cargo xtask learn-overlay` learned from Kubernetes' round-trip fixtures.\n",
            overlay::PATH,
            overlay.messages.len(),
            overlay.fields.len()
        )
        .unwrap();
    }
    writeln!(o, "## Where JSON names came from\n\n| source | fields |\n| --- | --- |").unwrap();
    for (src, n) in &st.field_sources {
        writeln!(o, "| {} | {n} |", src.describe()).unwrap();
    }
    writeln!(o, "\n## JSON names from k8s-openapi, but not from the matching type, per package\n").unwrap();
    writeln!(o, "| package | same-named type in another version or group / `List<T>` | unique JSON name of that form in any type |\n| --- | --- | --- |")
        .unwrap();
    for (p, m) in &st.indirect {
        let n = |k| m.get(&k).copied().unwrap_or(0);
        writeln!(o, "| `{p}` | {} | {} |", n(NameSource::OpenApiRelated), n(NameSource::OpenApiGlobal)).unwrap();
    }
    writeln!(o, "\n## Fields whose JSON name did not come from k8s-openapi ({})\n", st.fallback_fields.len()).unwrap();
    writeln!(o, "| field (package.Message.k8s_pb_field) | JSON name used | from |\n| --- | --- | --- |").unwrap();
    for (f, j, src) in &st.fallback_fields {
        writeln!(o, "| `{f}` | `{j}` | {} |", src.describe()).unwrap();
    }
    writeln!(o, "\n## Messages with no k8s-openapi type in their own package ({})\n", st.unmatched_messages.len()).unwrap();
    writeln!(o, "| message | name spelled after |\n| --- | --- |").unwrap();
    for (p, n, src) in &st.unmatched_messages {
        writeln!(o, "| `{p}.{n}` | {} |", msg_src(*src)).unwrap();
    }
    writeln!(o, "\n## Messages spelled differently from k8s-pb's Rust struct ({})\n", st.renamed_messages.len()).unwrap();
    writeln!(o, "| package | k8s-pb struct | proto message | spelled after |\n| --- | --- | --- | --- |").unwrap();
    for (p, r, n, src) in &st.renamed_messages {
        writeln!(o, "| `{p}` | `{r}` | `{n}` | {} |", msg_src(*src)).unwrap();
    }
    if !overlay.is_empty() {
        writeln!(o, "\n## Overlay additions ({})\n", overlay::PATH).unwrap();
        writeln!(o, "Merged from the overlay and marked `// overlay:` in the `.proto` files.\n").unwrap();
        writeln!(o, "### Messages ({})\n", overlay.messages.len()).unwrap();
        for m in &overlay.messages {
            match &m.copy_of {
                Some(c) => writeln!(o, "- `{}`: copy of `{c}`; {}", m.message, m.provenance).unwrap(),
                None => writeln!(o, "- `{}`: {}", m.message, m.provenance).unwrap(),
            }
        }
        writeln!(o, "\n### Fields ({})\n", overlay.fields.len()).unwrap();
        for f in &overlay.fields {
            match &f.rename_json_from {
                Some(old) => writeln!(o, "- `{}` field {}: JSON name `{}` (was `{old}`); {}", f.message, f.number, f.json_name, f.provenance).unwrap(),
                None => {
                    let ty = match &f.key {
                        Some(k) => format!("map<{k}, {}>", f.ty),
                        None => format!("{} {}", f.label, f.ty),
                    };
                    writeln!(o, "- `{}.{}` = {} (`{ty}`, JSON `{}`): {}", f.message, f.name, f.number, f.json_name, f.provenance).unwrap()
                }
            }
        }
        if !overlay.skipped.is_empty() {
            writeln!(o, "\n### Not learned: ambiguous or unpairable ({} messages)\n", overlay.skipped.len()).unwrap();
            writeln!(o, "No overlay entry was made for these; their fixtures keep the difference.\n").unwrap();
            for (m, notes) in &overlay.skipped {
                writeln!(o, "- `{m}`").unwrap();
                for n in notes {
                    writeln!(o, "  - {n}").unwrap();
                }
            }
        }
    }
    o
}

// ---------------------------------------------------------------------------------------------
// syn helpers.

fn parse(path: &Path) -> Result<syn::File> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    syn::parse_file(&text).with_context(|| format!("parsing {}", path.display()))
}

fn unraw(s: &str) -> String {
    s.strip_prefix("r#").unwrap_or(s).to_owned()
}

fn has_attr(attrs: &[syn::Attribute], name: &str) -> bool {
    attrs.iter().any(|a| a.path().is_ident(name))
}

fn quote_str(a: &syn::Attribute) -> String {
    use quote::ToTokens;
    a.to_token_stream().to_string()
}

fn derives_prost_message(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("derive") && {
            let s = quote_str(a).replace(' ', "");
            s.contains("prost::Message")
        }
    })
}

fn docs(attrs: &[syn::Attribute]) -> Vec<String> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Overlay.

fn module_of(package: &str) -> Result<Vec<String>> {
    let rest = package.strip_prefix("k8s.io.").with_context(|| format!("package {package} does not start with k8s.io."))?;
    Ok(rest.split('.').map(str::to_owned).collect())
}

/// Adds the overlay's messages and fields to what k8s-pb gave.
fn apply_overlay(pb: &mut Vec<PbPackage>, names: &mut HashMap<(Vec<String>, String), String>, ov: &Overlay, oa: &OpenApi) -> Result<()> {
    if ov.is_empty() {
        return Ok(());
    }
    // Proto full name -> (module, k8s-pb struct name).
    let mut by_full: HashMap<String, (Vec<String>, String)> =
        names.iter().map(|((m, r), n)| (format!("{}.{n}", package_of(m)), (m.clone(), r.clone()))).collect();

    // New messages, empty for now, placed in name order.
    for om in &ov.messages {
        if by_full.contains_key(&om.message) {
            bail!("overlay message {} already exists", om.message);
        }
        let (pkg, name) = split_full_name(&om.message);
        if !is_ident(name) {
            bail!("overlay message {}: bad name", om.message);
        }
        let module = module_of(pkg)?;
        let note = match &om.copy_of {
            Some(c) => format!("copy of {c}; {}", om.provenance),
            None => om.provenance.clone(),
        };
        let i = match pb.iter().position(|p| p.module == module) {
            Some(i) => i,
            None => {
                pb.push(PbPackage { module: module.clone(), messages: Vec::new() });
                pb.len() - 1
            }
        };
        let p = &mut pb[i];
        let pos = p.messages.iter().position(|m| names[&(module.clone(), m.rust.clone())].as_str() > name).unwrap_or(p.messages.len());
        p.messages.insert(pos, PbMessage { rust: name.to_owned(), docs: Vec::new(), fields: Vec::new(), kind: None, note: Some(note) });
        names.insert((module.clone(), name.to_owned()), name.to_owned());
        by_full.insert(om.message.clone(), (module, name.to_owned()));
    }
    pb.sort_by(|a, b| a.module.cmp(&b.module));

    let find = |pb: &[PbPackage], m: &[String], r: &str| -> Option<(usize, usize)> {
        let pi = pb.iter().position(|p| p.module == m)?;
        let mi = pb[pi].messages.iter().position(|x| x.rust == r)?;
        Some((pi, mi))
    };

    // Copies: fields, numbers, labels, types and JSON names of the source message.
    for om in &ov.messages {
        let Some(src) = &om.copy_of else { continue };
        let (smod, srust) = by_full.get(src).with_context(|| format!("{}: copy_of {src}: no such message", om.message))?.clone();
        let (tmod, trust) = by_full[&om.message].clone();
        let (spi, smi) = find(pb, &smod, &srust).unwrap();
        let cands = oa.candidates(&smod, &srust);
        let mut fields = Vec::new();
        for f in &pb[spi].messages[smi].fields {
            let mut g = f.clone();
            g.fixed_json = Some(f.fixed_json.clone().unwrap_or_else(|| json_name(f, &cands, oa)));
            if let FieldType::Message(m, r) = &f.ty {
                if *m == smod {
                    let target = format!("{}.{}", package_of(&tmod), names[&(m.clone(), r.clone())]);
                    if let Some((tm, tr)) = by_full.get(&target) {
                        g.ty = FieldType::Message(tm.clone(), tr.clone());
                    }
                }
            }
            fields.push(g);
        }
        let (tpi, tmi) = find(pb, &tmod, &trust).unwrap();
        pb[tpi].messages[tmi].fields = fields;
    }

    // Fields.
    for of in &ov.fields {
        let (m, r) = by_full.get(&of.message).with_context(|| format!("overlay field {}.{}: no such message", of.message, of.number))?.clone();
        let (pi, mi) = find(pb, &m, &r).unwrap();
        let cands = oa.candidates(&m, &r);
        let msg = &mut pb[pi].messages[mi];
        let at = format!("overlay field {} {}", of.message, of.number);
        if let Some(old) = &of.rename_json_from {
            let f = msg.fields.iter_mut().find(|f| f.tag == of.number).with_context(|| format!("{at}: rename of a missing field"))?;
            let current = f.fixed_json.clone().unwrap_or_else(|| json_name(f, &cands, oa)).0;
            if &current != old {
                bail!("{at}: JSON name is {current}, not {old} (stale overlay entry?)");
            }
            f.fixed_json = Some((of.json_name.clone(), NameSource::Overlay));
            f.note = Some(format!("JSON name {} (generator gave {old}); {}", of.json_name, of.provenance));
            continue;
        }
        if msg.fields.iter().any(|f| f.tag == of.number) {
            bail!("{at}: number already used");
        }
        if !is_ident(&of.name) || msg.fields.iter().any(|f| f.rust == of.name) {
            bail!("{at}: bad or duplicate name {}", of.name);
        }
        let ty = if SCALARS.contains(&of.ty.as_str()) {
            FieldType::Scalar(of.ty.clone())
        } else {
            let (tm, tr) = by_full.get(&of.ty).with_context(|| format!("{at}: unknown type {}", of.ty))?;
            FieldType::Message(tm.clone(), tr.clone())
        };
        let label = match of.label.as_str() {
            "optional" => Label::Optional,
            "repeated" => Label::Repeated,
            "map" => Label::Map,
            other => bail!("{at}: label {other}"),
        };
        let field = PbField {
            rust: of.name.clone(),
            tag: of.number,
            label,
            key: of.key.clone(),
            ty,
            docs: Vec::new(),
            fixed_json: Some((of.json_name.clone(), NameSource::Overlay)),
            note: Some(of.provenance.clone()),
        };
        let pos = msg.fields.iter().position(|f| f.tag > of.number).unwrap_or(msg.fields.len());
        msg.fields.insert(pos, field);
    }
    Ok(())
}
