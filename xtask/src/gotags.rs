//! The Go facts of Kubernetes' API structs: per protobuf field, what Go's `encoding/json` does with
//! it (JSON name, `omitempty`, `omitzero`, `,inline`, and whether the Go type is a pointer, slice,
//! map or `[]byte`), learned from the Go sources of the upstream sources (`cargo xtask schemas
//! --upstream`, see [`crate::upstream`]) into the committed `schemas/upstream/go-json-tags.tsv`.
//! `cargo xtask schemas` reads only that file (never the Go sources) and turns it into
//! `schemas/kubernetes/go-json.txt`, the per-field rules the renderer follows.
//!
//! Sources are Go module trees (k8s.io/api, k8s.io/apimachinery, ...) in priority order, the
//! order of schemas/upstream/sources.txt: a (message, field number) is taken from the first source
//! that has it, so the newest release comes first and older releases only add messages or fields
//! that newer ones no longer have.
//!
//! In every Go package directory that has a `generated.proto`, its `package` line gives the proto
//! package, and every struct whose name is a message there contributes its fields that carry a
//! `protobuf:"<wire>,<number>,..."` tag. The Go parser is line based and expects gofmt'd sources:
//! comments (`//`, `/* */`) are removed first, then top-level `type` declarations (also inside
//! `type ( ... )` groups) are read; struct bodies may hold embedded fields, several names per line
//! and nested anonymous structs. Named types (`type ResourceList map[...]...`, from any package of
//! any source, imports resolved) decide whether a field is a slice, map or `[]byte`.
//!
//! File format (`#` lines are comments; columns separated by one tab, shown here as `<TAB>`):
//!
//! ```text
//! # source<TAB><go module><TAB><source> <ref><TAB><commit><TAB><fields taken>
//! <message full name><TAB><field number><TAB><json name><TAB><flags>
//! ```
//!
//! `<json name>` is the name Go writes (the tag's name, else the Go field name), empty for an
//! inlined embedded struct, `-` for a field Go never writes. `<flags>` is a comma list, in this
//! order, of `omitempty`, `omitzero`, `pointer`, `slice`, `map`, `bytes` (`[]byte`), `inline`, or
//! `-` for none. Lines are sorted by message, then field number. Messages whose Go type has its own
//! `MarshalJSON`/`MarshalText` (Time, Quantity, IntOrString, RawExtension, ...) get no lines, only
//! a `# custom-json<TAB><message>` comment: their tags do not decide their JSON.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

pub const PATH: &str = "schemas/upstream/go-json-tags.tsv";

// ---------------------------------------------------------------------------------------------
// Facts (the .tsv).

/// `dropped`: a source newer than the one the field is taken from has its message without the
/// field (a field a newer release, or master, removed or renumbered).
pub const FLAGS: [&str; 8] = ["omitempty", "omitzero", "pointer", "slice", "map", "bytes", "inline", "dropped"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fact {
    /// JSON name Go writes; empty when inlined, `-` when never written.
    pub json: String,
    pub flags: BTreeSet<&'static str>,
}

impl Fact {
    pub fn has(&self, flag: &str) -> bool {
        self.flags.contains(flag)
    }

    fn flags_text(&self) -> String {
        let v: Vec<&str> = FLAGS.iter().copied().filter(|f| self.flags.contains(f)).collect();
        if v.is_empty() {
            "-".into()
        } else {
            v.join(",")
        }
    }
}

fn flag(name: &str) -> Option<&'static str> {
    FLAGS.iter().copied().find(|f| *f == name)
}

/// The committed facts: (message full name, field number) -> fact.
#[derive(Debug, Default)]
pub struct GoFacts {
    pub fields: BTreeMap<(String, u32), Fact>,
    /// `# source` lines, as `module ref (commit): N fields`.
    pub sources: Vec<String>,
    /// `# custom-json` messages (Go writes them with their own MarshalJSON/MarshalText).
    pub custom: BTreeSet<String>,
}

impl GoFacts {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {} (write it with `cargo xtask schemas --upstream`)", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self> {
        let mut out = GoFacts::default();
        for (i, line) in text.lines().enumerate() {
            if let Some(c) = line.strip_prefix('#') {
                if let Some(s) = c.trim_start().strip_prefix("source\t") {
                    // module, source and ref, commit, fields taken
                    let cols: Vec<&str> = s.split('\t').collect();
                    out.sources.push(match cols.as_slice() {
                        [module, refname, commit, n] => format!("`{module}` {refname} ({commit}): {n} fields"),
                        _ => s.replace('\t', " "),
                    });
                } else if let Some(m) = c.trim_start().strip_prefix("custom-json\t") {
                    out.custom.insert(m.trim().to_owned());
                }
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            let [msg, num, json, flags] = cols.as_slice() else { bail!("line {}: expected 4 tab-separated columns", i + 1) };
            let num: u32 = num.parse().with_context(|| format!("line {}: field number", i + 1))?;
            let mut set = BTreeSet::new();
            if *flags != "-" {
                for f in flags.split(',') {
                    set.insert(flag(f).with_context(|| format!("line {}: unknown flag {f}", i + 1))?);
                }
            }
            if out.fields.insert((msg.to_string(), num), Fact { json: json.to_string(), flags: set }).is_some() {
                bail!("line {}: {msg} {num} listed twice", i + 1);
            }
        }
        Ok(out)
    }

    pub fn messages(&self) -> BTreeSet<&str> {
        self.fields.keys().map(|(m, _)| m.as_str()).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Go source parsing.

/// Go source with comments removed (each comment becomes a space; newlines are kept, so line
/// structure is unchanged). String, rune and raw-string literals are left intact.
pub fn strip_comments(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        match c {
            '/' if next == Some('/') => {
                while i < b.len() && b[i] != '\n' {
                    i += 1;
                }
                out.push(' ');
                continue;
            }
            '/' if next == Some('*') => {
                i += 2;
                out.push(' ');
                while i < b.len() && !(b[i] == '*' && b.get(i + 1) == Some(&'/')) {
                    if b[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
                i += 2;
                continue;
            }
            '"' | '\'' => {
                out.push(c);
                i += 1;
                while i < b.len() && b[i] != c && b[i] != '\n' {
                    if b[i] == '\\' && i + 1 < b.len() {
                        out.push(b[i]);
                        i += 1;
                    }
                    out.push(b[i]);
                    i += 1;
                }
                if i < b.len() && b[i] == c {
                    out.push(c);
                    i += 1;
                }
                continue;
            }
            '`' => {
                out.push(c);
                i += 1;
                while i < b.len() && b[i] != '`' {
                    out.push(b[i]);
                    i += 1;
                }
                if i < b.len() {
                    out.push('`');
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    out
}

/// One field of a Go struct.
#[derive(Clone, Debug, PartialEq)]
pub struct GoField {
    /// None for an embedded field.
    pub name: Option<String>,
    /// The type as written, spaces removed (`*metav1.LabelSelector`, `map[string]string`,
    /// `struct{...}` for a nested anonymous struct).
    pub ty: String,
    /// The raw tag (inside the backquotes), empty when there is none.
    pub tag: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GoStruct {
    pub name: String,
    pub fields: Vec<GoField>,
}

/// What one Go file declares.
#[derive(Debug, Default)]
pub struct GoFile {
    pub package: String,
    /// import name -> import path.
    pub imports: HashMap<String, String>,
    pub structs: Vec<GoStruct>,
    /// Named non-struct types: name -> underlying type as written (`map[ResourceName]resource.Quantity`).
    pub named: Vec<(String, String)>,
    /// Types with their own `MarshalJSON` or `MarshalText` method: their fields' tags do not
    /// decide their JSON.
    pub marshalers: Vec<String>,
}

fn is_ident(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next().is_some_and(|c| c.is_alphabetic() || c == '_') && cs.all(|c| c.is_alphanumeric() || c == '_')
}

/// Splits a struct-body line into the part before the tag and the tag (without backquotes).
fn split_tag(line: &str) -> (&str, &str) {
    match line.find('`') {
        Some(a) => {
            let rest = &line[a + 1..];
            let b = rest.find('`').unwrap_or(rest.len());
            (&line[..a], &rest[..b])
        }
        None => (line, ""),
    }
}

/// Reads struct fields up to the line that closes the body; returns them and what follows the
/// closing `}` on that line (a nested struct's tag).
fn parse_struct_body<'a>(lines: &mut impl Iterator<Item = &'a str>) -> (Vec<GoField>, String) {
    let mut fields = Vec::new();
    while let Some(raw) = lines.next() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('}') {
            return (fields, rest.to_owned());
        }
        let (pre, tag) = split_tag(line);
        let pre = pre.trim();
        if let Some(open) = pre.strip_suffix('{') {
            // `Name struct {` (nested anonymous struct) or `Name interface {`.
            let (_, close) = parse_struct_body(lines);
            let (_, tag) = split_tag(&close);
            let mut toks = open.split_whitespace();
            let first = toks.next().unwrap_or_default();
            let kw: String = toks.collect();
            let (name, ty) = if kw.is_empty() { (None, format!("{first}{{...}}")) } else { (Some(first.to_owned()), format!("{kw}{{...}}")) };
            fields.push(GoField { name, ty, tag: tag.to_owned() });
            continue;
        }
        let toks: Vec<&str> = pre.split_whitespace().collect();
        match toks.as_slice() {
            [] => {}
            [ty] => fields.push(GoField { name: None, ty: (*ty).to_owned(), tag: tag.to_owned() }),
            _ => {
                // `A, B Type` or `A Type`; the type may contain spaces (`map[string] string`).
                let mut names = Vec::new();
                let mut i = 0;
                while i < toks.len() {
                    let t = toks[i];
                    i += 1;
                    match t.strip_suffix(',') {
                        Some(n) => names.push(n.to_owned()),
                        None => {
                            names.push(t.to_owned());
                            break;
                        }
                    }
                }
                let ty: String = toks[i..].concat();
                if ty.is_empty() || !names.iter().all(|n| is_ident(n)) {
                    continue; // not a field (a method of an interface, ...)
                }
                for n in names {
                    fields.push(GoField { name: Some(n), ty: ty.clone(), tag: tag.to_owned() });
                }
            }
        }
    }
    (fields, String::new())
}

/// Parses one Go file (see the module docs for what is understood).
pub fn parse_go(src: &str) -> GoFile {
    let text = strip_comments(src);
    let mut out = GoFile::default();
    let mut lines = text.lines();
    let mut in_group = false;
    let mut in_imports = false;
    while let Some(raw) = lines.next() {
        let line = raw.trim_end();
        let top = !line.starts_with([' ', '\t']);
        let t = line.trim();
        if in_imports {
            if t.starts_with(')') {
                in_imports = false;
            } else {
                add_import(&mut out, t);
            }
            continue;
        }
        if in_group {
            if top && t.starts_with(')') {
                in_group = false;
                continue;
            }
            if !t.is_empty() {
                type_spec(&mut out, t, &mut lines);
            }
            continue;
        }
        if !top {
            continue;
        }
        if let Some(p) = t.strip_prefix("package ") {
            out.package = p.trim().to_owned();
        } else if let Some(rest) = t.strip_prefix("import") {
            let rest = rest.trim();
            if rest.starts_with('(') {
                in_imports = true;
            } else {
                add_import(&mut out, rest);
            }
        } else if let Some(rest) = t.strip_prefix("func (") {
            // `func (t *Time) MarshalJSON() ([]byte, error) {`
            if let Some((recv, after)) = rest.split_once(')') {
                let ty = recv.split_whitespace().last().unwrap_or_default().trim_start_matches('*');
                let method = after.trim_start().split('(').next().unwrap_or_default().trim();
                if (method == "MarshalJSON" || method == "MarshalText") && is_ident(ty) {
                    out.marshalers.push(ty.to_owned());
                }
            }
        } else if let Some(rest) = t.strip_prefix("type ") {
            let rest = rest.trim();
            if rest == "(" {
                in_group = true;
            } else {
                type_spec(&mut out, rest, &mut lines);
            }
        }
    }
    out
}

fn add_import(out: &mut GoFile, spec: &str) {
    let spec = spec.trim();
    let (alias, path) = match spec.find('"') {
        Some(q) => (spec[..q].trim(), spec[q..].trim().trim_matches('"')),
        None => return,
    };
    let alias = if alias.is_empty() { path.rsplit('/').next().unwrap_or(path) } else { alias };
    if alias != "_" && alias != "." {
        out.imports.insert(alias.to_owned(), path.to_owned());
    }
}

/// `Name struct {`, `Name struct{}`, `Name Underlying`, `Name = Other`.
fn type_spec<'a>(out: &mut GoFile, spec: &str, lines: &mut impl Iterator<Item = &'a str>) {
    let name_len = spec.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(spec.len());
    let (name, rest) = spec.split_at(name_len);
    let generic = rest.starts_with('['); // `Name[T any] ...`; `Name []T` is a slice type
    let rest = rest.trim();
    let opens = rest.ends_with('{');
    if name.is_empty() || generic {
        // Generic type: not an API type; skip its body.
        if opens {
            parse_struct_body(lines);
        }
        return;
    }
    let rest = rest.strip_prefix('=').map(str::trim).unwrap_or(rest);
    let compact: String = rest.split_whitespace().collect();
    if compact.starts_with("struct{") {
        let fields = if opens && compact == "struct{" { parse_struct_body(lines).0 } else { Vec::new() };
        out.structs.push(GoStruct { name: name.to_owned(), fields });
    } else {
        if opens {
            parse_struct_body(lines); // `interface {` body
        }
        out.named.push((name.to_owned(), compact));
    }
}

/// Go struct tag pairs (`key:"value"`), as `reflect.StructTag` reads them.
pub fn parse_tag(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b: Vec<char> = tag.chars().collect();
    let mut i = 0;
    loop {
        while i < b.len() && b[i] == ' ' {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i] > ' ' && b[i] != ':' && b[i] != '"' {
            i += 1;
        }
        if i == start || i + 1 >= b.len() || b[i] != ':' || b[i + 1] != '"' {
            return out;
        }
        let key: String = b[start..i].iter().collect();
        i += 2;
        let mut val = String::new();
        while i < b.len() && b[i] != '"' {
            if b[i] == '\\' && i + 1 < b.len() {
                i += 1;
            }
            val.push(b[i]);
            i += 1;
        }
        if i >= b.len() {
            return out;
        }
        i += 1;
        out.push((key, val));
    }
}

fn tag_get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Go kinds that matter for JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Scalar,
    Struct,
    Pointer,
    Slice,
    Bytes,
    Map,
    /// Interfaces, arrays, channels, functions.
    Other,
    /// A named type whose declaration was not found.
    Unknown,
}

const BUILTINS: &[&str] = &[
    "string",
    "bool",
    "int",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "uintptr",
    "float32",
    "float64",
    "complex64",
    "complex128",
    "byte",
    "rune",
];

/// Kind of a type written in the package `pkg` (import path) with the file's `imports`; `lookup`
/// finds a named type's declaration: (package, name) -> (underlying type, its file's imports).
pub fn kind_of<'a, F>(ty: &str, pkg: &str, imports: &HashMap<String, String>, lookup: &F, depth: u32) -> Kind
where
    F: Fn(&str, &str) -> Option<(&'a str, &'a HashMap<String, String>)>,
{
    if depth > 16 {
        return Kind::Unknown;
    }
    if ty.starts_with('*') {
        return Kind::Pointer;
    }
    if ty == "[]byte" || ty == "[]uint8" {
        return Kind::Bytes;
    }
    if ty.starts_with("[]") {
        return Kind::Slice;
    }
    if ty.starts_with("map[") {
        return Kind::Map;
    }
    if ty.starts_with("struct{") {
        return Kind::Struct;
    }
    if ty.starts_with('[') || ty.starts_with("interface{") || ty.starts_with("func") || ty.starts_with("chan") || ty == "any" || ty == "error" {
        return Kind::Other;
    }
    if BUILTINS.contains(&ty) || ty == "time.Duration" {
        return Kind::Scalar;
    }
    if ty == "time.Time" {
        return Kind::Struct;
    }
    let (p, name) = match ty.split_once('.') {
        Some((q, n)) => match imports.get(q) {
            Some(path) => (path.as_str(), n),
            None => return Kind::Unknown,
        },
        None => (pkg, ty),
    };
    match lookup(p, name) {
        Some((under, imps)) => kind_of(under, p, imps, lookup, depth + 1),
        None => Kind::Unknown,
    }
}

/// The fact for one struct field, if it has a protobuf field number: (number, fact).
pub fn field_fact(f: &GoField, kind: Kind) -> Option<(u32, Fact)> {
    let tags = parse_tag(&f.tag);
    let pb = tag_get(&tags, "protobuf")?;
    let number: u32 = pb.split(',').nth(1)?.trim().parse().ok()?;
    let mut flags = BTreeSet::new();
    let (mut json, opts): (String, Vec<&str>) = match tag_get(&tags, "json") {
        Some(j) => {
            let mut parts = j.split(',');
            let name = parts.next().unwrap_or_default().to_owned();
            (name, parts.collect())
        }
        None => (String::new(), Vec::new()),
    };
    for o in &opts {
        match *o {
            "omitempty" => {
                flags.insert("omitempty");
            }
            "omitzero" => {
                flags.insert("omitzero");
            }
            "inline" => {
                flags.insert("inline");
            }
            _ => {}
        }
    }
    if json == "-" && !opts.is_empty() {
        // `json:"-,"` names the field "-".
    } else if json.is_empty() {
        match &f.name {
            // Go flattens an embedded struct that has no JSON name.
            None => {
                flags.insert("inline");
            }
            Some(n) if !flags.contains("inline") => json = n.clone(),
            Some(_) => {}
        }
    }
    match kind {
        Kind::Pointer => flags.insert("pointer"),
        Kind::Slice => flags.insert("slice"),
        Kind::Map => flags.insert("map"),
        Kind::Bytes => flags.insert("bytes"),
        _ => false,
    };
    if flags.contains("inline") {
        json.clear();
    }
    Some((number, Fact { json, flags }))
}

// ---------------------------------------------------------------------------------------------
// Sources.

/// A Go module tree to learn from.
pub struct Source {
    /// How new the source is: 0 for the newest (master), then the releases, newest first.
    pub age: usize,
    pub module: String,
    /// The upstream source and the module's ref, e.g. `v1.36.3 v0.36.3`.
    pub refname: String,
    pub commit: String,
    pub dir: PathBuf,
}

impl Source {
    /// The five module trees of a prepared upstream source of the given age (see
    /// [`crate::upstream::SourceList::ages`]).
    pub fn of(ready: &crate::upstream::Ready, age: usize) -> Vec<Source> {
        ready
            .source
            .pins
            .iter()
            .map(|p| Source {
                age,
                module: p.module().to_owned(),
                refname: format!("{} {}", ready.source.name, p.git_ref),
                commit: p.commit.clone().unwrap_or_default(),
                dir: ready.module_dir(p.module()),
            })
            .collect()
    }
}

/// One Go package directory of a source.
struct Package {
    /// Import path.
    path: String,
    /// Proto package, when the directory has a generated.proto.
    proto: Option<(String, BTreeSet<String>)>,
    files: Vec<GoFile>,
}

fn read_packages(src: &Source) -> Result<Vec<Package>> {
    let mut out = Vec::new();
    let mut dirs = vec![src.dir.clone()];
    while let Some(dir) = dirs.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
        entries.sort();
        let mut files = Vec::new();
        let mut proto = None;
        for p in entries {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                if !name.starts_with('.') && name != "vendor" && name != "testdata" && name != "third_party" {
                    dirs.push(p);
                }
            } else if name == "generated.proto" {
                let text = std::fs::read_to_string(&p)?;
                let package = text
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("package ").map(|s| s.trim_end_matches(';').trim().to_owned()))
                    .with_context(|| format!("{}: no package line", p.display()))?;
                let messages = text.lines().filter_map(|l| l.strip_prefix("message ")).filter_map(|l| l.split_whitespace().next()).map(str::to_owned).collect();
                proto = Some((package, messages));
            } else if name.ends_with(".go") && !name.ends_with("_test.go") && !name.ends_with(".pb.go") && !name.starts_with("zz_generated") {
                files.push(parse_go(&std::fs::read_to_string(&p)?));
            }
        }
        if files.is_empty() {
            continue;
        }
        let rel = dir.strip_prefix(&src.dir).unwrap().to_string_lossy().replace('\\', "/");
        let path = if rel.is_empty() { src.module.clone() } else { format!("{}/{rel}", src.module) };
        out.push(Package { path, proto, files });
    }
    Ok(out)
}

/// What one run learned, before writing.
struct Learned {
    facts: BTreeMap<(String, u32), Fact>,
    /// Per source: fields it contributed.
    per_source: Vec<usize>,
    unknown_types: BTreeSet<String>,
    /// Go structs with protobuf tags that are not messages of their package's generated.proto.
    not_messages: BTreeSet<String>,
    /// Messages whose Go type has its own MarshalJSON/MarshalText: no facts are recorded.
    custom: BTreeSet<String>,
}

type Imports = HashMap<String, String>;
/// Per source: package path -> type name -> declaration.
type Index<'a, T> = Vec<HashMap<&'a str, HashMap<&'a str, T>>>;

/// Package path and name a type expression names (`v1.MatchCondition`, `List`), if it is a name.
fn named_ref<'a>(ty: &'a str, pkg: &'a str, imports: &'a Imports) -> Option<(&'a str, &'a str)> {
    match ty.split_once('.') {
        Some((q, n)) => Some((imports.get(q)?.as_str(), n)),
        None if is_ident(ty) && !BUILTINS.contains(&ty) => Some((pkg, ty)),
        None => None,
    }
}

fn learn(sources: &[Source]) -> Result<Learned> {
    let mut pkgs = Vec::new();
    for s in sources {
        pkgs.push(read_packages(s).with_context(|| format!("reading {}", s.dir.display()))?);
    }
    // Named types (underlying type as written, and the imports it is written with) and structs.
    let mut named: Index<(&str, &Imports)> = Vec::new();
    let mut structs: Index<(&GoStruct, &Imports)> = Vec::new();
    for ps in &pkgs {
        let mut m: HashMap<&str, HashMap<&str, (&str, &Imports)>> = HashMap::new();
        let mut st: HashMap<&str, HashMap<&str, (&GoStruct, &Imports)>> = HashMap::new();
        for p in ps {
            let e = m.entry(p.path.as_str()).or_default();
            let se = st.entry(p.path.as_str()).or_default();
            for f in &p.files {
                for (n, u) in &f.named {
                    e.insert(n.as_str(), (u.as_str(), &f.imports));
                }
                for s in &f.structs {
                    e.insert(s.name.as_str(), ("struct{...}", &f.imports));
                    se.insert(s.name.as_str(), (s, &f.imports));
                }
            }
        }
        named.push(m);
        structs.push(st);
    }
    let mut l = Learned {
        facts: BTreeMap::new(),
        per_source: vec![0; sources.len()],
        unknown_types: BTreeSet::new(),
        not_messages: BTreeSet::new(),
        custom: BTreeSet::new(),
    };
    // Message -> (source, its field numbers), for every source that has it; and the source each
    // fact is taken from.
    let mut present: HashMap<String, Vec<(usize, BTreeSet<u32>)>> = HashMap::new();
    let mut taken_from: HashMap<(String, u32), usize> = HashMap::new();
    for (si, ps) in pkgs.iter().enumerate() {
        // Own source first, then the others in order.
        let order: Vec<usize> = std::iter::once(si).chain((0..sources.len()).filter(|&i| i != si)).collect();
        let lookup = |p: &str, n: &str| -> Option<(&str, &Imports)> { order.iter().find_map(|&i| named[i].get(p).and_then(|m| m.get(n)).copied()) };
        let lookup_struct =
            |p: &str, n: &str| -> Option<(&GoStruct, &Imports)> { order.iter().find_map(|&i| structs[i].get(p).and_then(|m| m.get(n)).copied()) };
        for p in ps {
            let Some((proto_pkg, messages)) = &p.proto else { continue };
            let marshalers: BTreeSet<&str> = p.files.iter().flat_map(|f| f.marshalers.iter().map(String::as_str)).collect();
            // (Go type name, struct with its fields, the package and imports they are written in).
            let mut types: Vec<(&str, &GoStruct, &str, &Imports)> = Vec::new();
            for f in &p.files {
                for st in &f.structs {
                    types.push((&st.name, st, &p.path, &f.imports));
                }
                // `type MatchCondition v1.MatchCondition`: the same fields (and tags), none of the methods.
                for (n, under) in &f.named {
                    if !messages.contains(n) {
                        continue;
                    }
                    let (mut ty, mut pkg, mut imps) = (under.trim_start_matches('=').to_owned(), p.path.clone(), &f.imports);
                    for _ in 0..8 {
                        let Some((rp, rn)) = named_ref(&ty, &pkg, imps) else { break };
                        let (rp, rn) = (rp.to_owned(), rn.to_owned());
                        if let Some((st, si)) = lookup_struct(&rp, &rn) {
                            let rp: &str = order.iter().find_map(|&i| structs[i].get_key_value(rp.as_str()).map(|(k, _)| *k)).unwrap();
                            types.push((n, st, rp, si));
                            break;
                        }
                        match lookup(&rp, &rn) {
                            Some((u, i)) => {
                                (ty, pkg, imps) = (u.to_owned(), rp, i);
                            }
                            None => break,
                        }
                    }
                }
            }
            for (name, st, pkg, imports) in types {
                let is_message = messages.contains(name);
                let full = format!("{proto_pkg}.{name}");
                if is_message && marshalers.contains(name) {
                    l.custom.insert(full);
                    continue;
                }
                for gf in &st.fields {
                    let kind = kind_of(&gf.ty, pkg, imports, &lookup, 0);
                    let Some((num, fact)) = field_fact(gf, kind) else { continue };
                    if !is_message {
                        l.not_messages.insert(full.clone());
                        continue;
                    }
                    if kind == Kind::Unknown {
                        l.unknown_types.insert(format!("{} ({full})", gf.ty));
                    }
                    let seen = present.entry(full.clone()).or_default();
                    match seen.last_mut() {
                        Some((s, nums)) if *s == si => {
                            nums.insert(num);
                        }
                        _ => seen.push((si, BTreeSet::from([num]))),
                    }
                    if let std::collections::btree_map::Entry::Vacant(e) = l.facts.entry((full.clone(), num)) {
                        e.insert(fact);
                        taken_from.insert((full.clone(), num), si);
                        l.per_source[si] += 1;
                    }
                }
            }
        }
    }
    for ((message, num), fact) in l.facts.iter_mut() {
        let from = sources[taken_from[&(message.clone(), *num)]].age;
        if present[message].iter().any(|(s, nums)| sources[*s].age < from && !nums.contains(num)) {
            fact.flags.insert("dropped");
        }
    }
    Ok(l)
}

fn render(sources: &[Source], l: &Learned) -> String {
    let mut o = String::new();
    writeln!(o, "# Go encoding/json facts for the protobuf fields of Kubernetes' Go API structs (format: xtask/src/gotags.rs).").unwrap();
    writeln!(o, "# Written by `cargo xtask schemas --upstream` (or --k8s-tag) from the Go sources of schemas/upstream/sources.txt;").unwrap();
    writeln!(o, "# read by `cargo xtask schemas`. DO NOT EDIT BY HAND.").unwrap();
    writeln!(o, "# A (message, field number) comes from the first source that has it.").unwrap();
    writeln!(o, "# columns: source, module, source and ref, commit, fields taken from it").unwrap();
    for (s, n) in sources.iter().zip(&l.per_source) {
        writeln!(o, "# source\t{}\t{}\t{}\t{n}", s.module, s.refname, s.commit).unwrap();
    }
    writeln!(o, "# Messages whose Go type has its own MarshalJSON/MarshalText (their field tags do not decide their JSON; no lines):").unwrap();
    for m in &l.custom {
        writeln!(o, "# custom-json\t{m}").unwrap();
    }
    writeln!(o, "# columns: message full name, field number, Go JSON name (empty: inline), flags").unwrap();
    for ((m, n), f) in &l.facts {
        writeln!(o, "{m}\t{n}\t{}\t{}", f.json, f.flags_text()).unwrap();
    }
    o
}

/// Learns the Go facts of `sources` (priority order) and returns the text of [`PATH`].
pub fn learn_text(sources: &[Source]) -> Result<String> {
    let l = learn(sources)?;
    if !l.unknown_types.is_empty() {
        eprintln!("{} Go field types whose declaration was not found (treated as scalars):", l.unknown_types.len());
        for t in l.unknown_types.iter().take(40) {
            eprintln!("  {t}");
        }
    }
    if !l.not_messages.is_empty() {
        eprintln!("{} Go structs with protobuf tags are not messages of their generated.proto (no facts recorded for them)", l.not_messages.len());
        for t in l.not_messages.iter().take(40) {
            eprintln!("  {t}");
        }
    }
    Ok(render(sources, &l))
}
