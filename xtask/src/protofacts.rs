//! The protobuf facts of Kubernetes' `generated.proto` files: every message and its fields (number,
//! name, label, type) as the upstream sources declare them, merged over the sources in priority
//! order, and `schemas/upstream/protobuf.tsv`, the committed file that holds them so that
//! `cargo xtask schemas` needs neither the sources nor the network.
//!
//! Merging: a message comes from the first source that has it, with that source's fields in that
//! source's order (Go's declaration order, which the renderer keeps). A lower source adds only the
//! field numbers the message lacks, each placed before the first field with a higher number; a
//! lower source's different idea of an existing number is listed (`# differs`), never used.
//!
//! File format (tab-separated; `#` lines are comments):
//!
//! ```text
//! # source<TAB><name><TAB><repository>=<ref>@<commit> ...
//! # differs<TAB><message> <number>: <kept>; <source> has <other>
//! <message full name><TAB><source>
//! <message full name><TAB><number><TAB><name><TAB><label><TAB><type>[<TAB><source>]
//! ```
//!
//! `<label>` is `optional`, `repeated` or `map<KEY>` (then `<type>` is the value type); `<type>` is
//! a scalar (`string`, `int32`, ...) or a message's full name. A field line names its source only
//! when it is not its message's.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use protox::prost_reflect::{Cardinality, FieldDescriptor, Kind};

use crate::upstream::{self, Ready};

pub const PATH: &str = "schemas/upstream/protobuf.tsv";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Label {
    Optional,
    Repeated,
    /// A map, with its key type.
    Map(String),
}

impl Label {
    fn text(&self) -> String {
        match self {
            Label::Optional => "optional".into(),
            Label::Repeated => "repeated".into(),
            Label::Map(k) => format!("map<{k}>"),
        }
    }

    fn parse(s: &str) -> Result<Label> {
        Ok(match s {
            "optional" => Label::Optional,
            "repeated" => Label::Repeated,
            _ => match s.strip_prefix("map<").and_then(|r| r.strip_suffix('>')) {
                Some(k) if SCALARS.contains(&k) => Label::Map(k.to_owned()),
                _ => bail!("label {s}"),
            },
        })
    }
}

pub const SCALARS: &[&str] =
    &["string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32", "sfixed64", "float", "double"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldFact {
    pub number: u32,
    pub name: String,
    pub label: Label,
    /// A scalar, or a message's full name.
    pub ty: String,
    /// The source it came from, when not its message's.
    pub source: Option<String>,
}

impl FieldFact {
    fn describe(&self) -> String {
        format!("{} {} {}", self.label.text(), self.ty, self.name)
    }

    fn same_shape(&self, other: &FieldFact) -> bool {
        self.name == other.name && self.label == other.label && self.ty == other.ty
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageFact {
    pub source: String,
    pub fields: Vec<FieldFact>,
}

/// One source's name and what it was read at: (repository, ref, commit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceLine {
    pub name: String,
    pub commits: Vec<(String, String, String)>,
}

impl SourceLine {
    pub fn of(s: &upstream::Source) -> SourceLine {
        SourceLine { name: s.name.clone(), commits: s.pins.iter().map(|p| (p.repo.clone(), p.git_ref.clone(), p.commit.clone().unwrap_or_default())).collect() }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProtoFacts {
    /// In priority order.
    pub sources: Vec<SourceLine>,
    /// Full name -> message.
    pub messages: BTreeMap<String, MessageFact>,
    /// Numbers a lower source declares differently: `<message> <number>: ...`.
    pub differs: Vec<String>,
}

fn scalar_name(kind: &Kind) -> Option<&'static str> {
    Some(match kind {
        Kind::Double => "double",
        Kind::Float => "float",
        Kind::Int32 => "int32",
        Kind::Int64 => "int64",
        Kind::Uint32 => "uint32",
        Kind::Uint64 => "uint64",
        Kind::Sint32 => "sint32",
        Kind::Sint64 => "sint64",
        Kind::Fixed32 => "fixed32",
        Kind::Fixed64 => "fixed64",
        Kind::Sfixed32 => "sfixed32",
        Kind::Sfixed64 => "sfixed64",
        Kind::Bool => "bool",
        Kind::String => "string",
        Kind::Bytes => "bytes",
        Kind::Message(_) | Kind::Enum(_) => return None,
    })
}

fn type_name(kind: &Kind) -> Result<String> {
    match kind {
        Kind::Message(m) => Ok(m.full_name().to_owned()),
        Kind::Enum(e) => bail!("enum {}: Kubernetes' protobuf has no enums; teach the generator", e.full_name()),
        k => Ok(scalar_name(k).unwrap().to_owned()),
    }
}

fn field_fact(f: &FieldDescriptor) -> Result<FieldFact> {
    let (label, ty) = if f.is_map() {
        let Kind::Message(entry) = f.kind() else { bail!("map without an entry message") };
        let key = type_name(&entry.map_entry_key_field().kind())?;
        (Label::Map(key), type_name(&entry.map_entry_value_field().kind())?)
    } else if f.is_list() {
        (Label::Repeated, type_name(&f.kind())?)
    } else {
        if f.cardinality() == Cardinality::Required {
            bail!("required field");
        }
        (Label::Optional, type_name(&f.kind())?)
    };
    Ok(FieldFact { number: f.number(), name: f.name().to_owned(), label, ty, source: None })
}

/// Compiles every `generated.proto` of a prepared source (imports resolved in its directory) and
/// reads its messages.
pub fn read_source(r: &Ready) -> Result<BTreeMap<String, MessageFact>> {
    let names: Vec<String> = upstream::walk_files(&r.dir)?
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "generated.proto"))
        .map(|p| p.strip_prefix(&r.dir).unwrap().to_string_lossy().replace('\\', "/"))
        .collect();
    if names.is_empty() {
        bail!("{}: no generated.proto", r.dir.display());
    }
    let mut compiler = protox::Compiler::new([&r.dir]).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    compiler.open_files(&names).map_err(|e| anyhow::anyhow!("compiling the generated.proto files of {}: {e:?}", r.source.name))?;
    let pool = compiler.descriptor_pool();
    let mut out = BTreeMap::new();
    for file in pool.files().filter(|f| names.iter().any(|n| n == f.name())) {
        for m in file.messages() {
            if let Some(nested) = m.child_messages().find(|c| !c.is_map_entry()) {
                bail!("{}: nested message {}: teach the generator", m.full_name(), nested.name());
            }
            if m.child_enums().next().is_some() || m.oneofs().next().is_some() {
                bail!("{}: enums or oneofs: teach the generator", m.full_name());
            }
            // Declaration order (Go's), which the descriptor proto keeps; `fields()` sorts by number.
            let fields = m
                .descriptor_proto()
                .field
                .iter()
                .map(|fp| {
                    let f = m.get_field(fp.number() as u32).context("declared field")?;
                    field_fact(&f).with_context(|| format!("{}.{}", m.full_name(), f.name()))
                })
                .collect::<Result<Vec<_>>>()?;
            if out.insert(m.full_name().to_owned(), MessageFact { source: r.source.name.clone(), fields }).is_some() {
                bail!("{} declared twice", m.full_name());
            }
        }
    }
    Ok(out)
}

/// Merges the sources' messages, highest priority first (see the module doc).
pub fn merge(sources: Vec<(SourceLine, BTreeMap<String, MessageFact>)>) -> ProtoFacts {
    let mut facts = ProtoFacts::default();
    for (line, messages) in sources {
        let name = line.name.clone();
        facts.sources.push(line);
        for (full, m) in messages {
            let Some(have) = facts.messages.get_mut(&full) else {
                facts.messages.insert(full, m);
                continue;
            };
            for f in m.fields {
                match have.fields.iter().find(|h| h.number == f.number) {
                    Some(h) if h.same_shape(&f) => {}
                    Some(h) => facts.differs.push(format!(
                        "{full} {}: {} from {}; {name} has {}",
                        f.number,
                        h.describe(),
                        h.source.as_deref().unwrap_or(&have.source),
                        f.describe()
                    )),
                    None => {
                        let at = have.fields.iter().position(|h| h.number > f.number).unwrap_or(have.fields.len());
                        have.fields.insert(at, FieldFact { source: Some(name.clone()), ..f });
                    }
                }
            }
        }
    }
    facts
}

const HEADER: &str = "\
# Protobuf facts of Kubernetes' generated.proto files: every message and field of the sources in
# schemas/upstream/sources.txt, merged highest priority first (format: xtask/src/protofacts.rs).
# Written by `cargo xtask schemas --upstream` (or --k8s-tag); read by `cargo xtask schemas`. DO NOT EDIT BY HAND.
";

impl ProtoFacts {
    pub fn render(&self) -> String {
        let mut o = HEADER.to_owned();
        for s in &self.sources {
            let commits: Vec<String> = s.commits.iter().map(|(r, f, c)| format!("{r}={f}@{c}")).collect();
            writeln!(o, "# source\t{}\t{}", s.name, commits.join("\t")).unwrap();
        }
        for d in &self.differs {
            writeln!(o, "# differs\t{d}").unwrap();
        }
        writeln!(o, "# columns: message, source | message, number, name, label, type[, source]").unwrap();
        for (full, m) in &self.messages {
            writeln!(o, "{full}\t{}", m.source).unwrap();
            for f in &m.fields {
                write!(o, "{full}\t{}\t{}\t{}\t{}", f.number, f.name, f.label.text(), f.ty).unwrap();
                if let Some(s) = &f.source {
                    write!(o, "\t{s}").unwrap();
                }
                o.push('\n');
            }
        }
        o
    }

    pub fn load(path: &Path) -> Result<ProtoFacts> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {} (write it with `cargo xtask schemas --upstream`)", path.display()))?;
        ProtoFacts::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<ProtoFacts> {
        let mut facts = ProtoFacts::default();
        for (i, line) in text.lines().enumerate() {
            let at = || format!("line {}", i + 1);
            if let Some(c) = line.strip_prefix('#') {
                if let Some(s) = c.strip_prefix(" source\t") {
                    let mut cols = s.split('\t');
                    let name = cols.next().unwrap_or_default().to_owned();
                    let commits = cols
                        .map(|c| {
                            let (repo, rest) = c.split_once('=').with_context(at)?;
                            let (git_ref, commit) = rest.rsplit_once('@').with_context(at)?;
                            Ok((repo.to_owned(), git_ref.to_owned(), commit.to_owned()))
                        })
                        .collect::<Result<_>>()?;
                    facts.sources.push(SourceLine { name, commits });
                } else if let Some(d) = c.strip_prefix(" differs\t") {
                    facts.differs.push(d.to_owned());
                }
                continue;
            }
            if line.is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            match cols.as_slice() {
                [full, source] => {
                    if facts.messages.insert((*full).to_owned(), MessageFact { source: (*source).to_owned(), fields: Vec::new() }).is_some() {
                        bail!("{}: message {full} listed twice", at());
                    }
                }
                [full, number, name, label, ty, rest @ ..] if rest.len() <= 1 => {
                    let m = facts.messages.get_mut(*full).with_context(|| format!("{}: field of {full} before its message line", at()))?;
                    let number: u32 = number.parse().with_context(|| format!("{}: field number", at()))?;
                    if m.fields.iter().any(|f| f.number == number) {
                        bail!("{}: {full} {number} listed twice", at());
                    }
                    let label = Label::parse(label).with_context(at)?;
                    m.fields.push(FieldFact { number, name: (*name).to_owned(), label, ty: (*ty).to_owned(), source: rest.first().map(|s| (*s).to_owned()) });
                }
                _ => bail!("{}: expected 2 or 5-6 tab-separated columns", at()),
            }
        }
        if facts.sources.is_empty() {
            bail!("no `# source` lines");
        }
        Ok(facts)
    }

    /// Source names in priority order.
    pub fn source_names(&self) -> Vec<&str> {
        self.sources.iter().map(|s| s.name.as_str()).collect()
    }
}
