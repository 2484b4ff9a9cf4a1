//! k8s-openapi, read as source (never compiled): the JSON field names and field types of its
//! release modules. Only `cargo xtask learn-overlay` uses it, to name the types of fields it
//! learns from the fixtures and to tell their integer widths; the schemas themselves come from
//! Kubernetes' own sources (see [`crate::upstream`]).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use syn::visit::Visit;
use syn::{Expr, Lit};

/// Where the k8s-openapi crate is.
pub struct Sources {
    pub oa_dir: PathBuf,
}

impl Sources {
    /// Runs `cargo metadata` on the xtask package: its `cfg(any())` dependency k8s-openapi is
    /// resolved (per xtask/Cargo.lock) and downloaded, but never built.
    pub fn locate(manifest: &Path) -> Result<Self> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out =
            Command::new(cargo).args(["metadata", "--format-version", "1", "--manifest-path"]).arg(manifest).output().context("running cargo metadata")?;
        if !out.status.success() {
            bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let meta: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let packages = meta["packages"].as_array().context("metadata.packages")?;
        let found: Vec<_> = packages.iter().filter(|p| p["name"] == "k8s-openapi").collect();
        let [oa] = found.as_slice() else { bail!("expected exactly one `k8s-openapi` in cargo metadata, found {}", found.len()) };
        let manifest_path = oa["manifest_path"].as_str().context("k8s-openapi manifest_path")?;
        Ok(Sources { oa_dir: Path::new(manifest_path).parent().context("manifest_path")?.to_path_buf() })
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

/// `v1` > `v1beta2` > `v1beta1` > `v1alpha1`, for trying sibling versions newest-stable first.
pub(crate) fn version_rank(v: &str) -> (u32, u32, u32) {
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

/// k8s-openapi lookups for one message.
struct Candidates<'a> {
    same: Option<&'a OaType>,
    related: Vec<&'a OaType>,
}

pub struct OpenApi {
    index: OaIndex,
}

impl OpenApi {
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
        OpenApi { index }
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

fn parse(path: &Path) -> Result<syn::File> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    syn::parse_file(&text).with_context(|| format!("parsing {}", path.display()))
}

fn unraw(s: &str) -> String {
    s.strip_prefix("r#").unwrap_or(s).to_owned()
}
