//! Renders one proto2 file per Kubernetes proto package from the committed facts: the protobuf
//! facts of the upstream sources ([`crate::protofacts`]), their Go facts ([`crate::gotags`]) and
//! the overlay ([`crate::overlay`]). Reads no upstream file and needs no network.
//!
//! Messages, field numbers, types and labels are Kubernetes' own (`generated.proto`), from the
//! first source that has them; JSON names are what Go writes (the struct tag's name). A field
//! without a Go JSON name (an inlined struct, or a message whose Go type writes its own JSON)
//! keeps its upstream proto name.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::gotags::{self, GoFacts};
use crate::overlay::{self, split_full_name, Overlay};
use crate::protofacts::{self, Label, ProtoFacts};

/// Per-field JSON rules from Go's struct tags, written beside the `.proto` files.
pub const GO_JSON: &str = "go-json.txt";

/// The committed inputs of the generator.
pub struct Inputs {
    pub proto: ProtoFacts,
    pub go: GoFacts,
}

impl Inputs {
    pub fn load(root: &Path) -> Result<Inputs> {
        Ok(Inputs { proto: ProtoFacts::load(&root.join(protofacts::PATH))?, go: GoFacts::load(&root.join(gotags::PATH))? })
    }
}

// ---------------------------------------------------------------------------------------------
// The model: messages with their fields and JSON names, before rendering.

/// Where a field's JSON name came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum JsonFrom {
    /// The Go struct tag's name.
    GoTag,
    /// An inlined embedded struct (no JSON name of its own): the upstream proto name.
    Inline,
    /// No Go facts for the field (its Go type writes its own JSON, or Go never writes it): the
    /// upstream proto name, its first letter lowered when it is a Go name (`Raw` -> `raw`).
    ProtoName,
    /// The overlay.
    Overlay,
}

impl JsonFrom {
    fn describe(self) -> &'static str {
        match self {
            JsonFrom::GoTag => "Go struct tag",
            JsonFrom::Inline => "inlined Go struct: the upstream proto name",
            JsonFrom::ProtoName => "no Go JSON name (custom JSON, or never written by Go): the upstream proto name",
            JsonFrom::Overlay => "overlay (schemas/overlay/kubernetes.json)",
        }
    }
}

#[derive(Clone, Debug)]
struct Field {
    number: u32,
    /// Upstream proto field name.
    proto_name: String,
    label: Label,
    /// Scalar, or message full name.
    ty: String,
    json: String,
    json_from: JsonFrom,
    /// The source it came from, when not its message's.
    source: Option<String>,
    /// `// overlay: ...` comment.
    note: Option<String>,
    /// Added by the overlay (a new field, or one of a copied message).
    from_overlay: bool,
}

#[derive(Clone, Debug)]
struct Message {
    /// The source it came from; `None` for an overlay message.
    source: Option<String>,
    fields: Vec<Field>,
    /// `// overlay: ...` comment.
    note: Option<String>,
}

/// Full name -> message.
type Model = BTreeMap<String, Message>;

fn is_ident(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `Raw` -> `raw`; `JSONSchemas`, `raw` unchanged.
fn lower_go_name(name: &str) -> String {
    let mut cs = name.chars();
    match (cs.next(), cs.next()) {
        (Some(a), Some(b)) if a.is_ascii_uppercase() && b.is_ascii_lowercase() => format!("{}{}", a.to_ascii_lowercase(), &name[1..]),
        _ => name.to_owned(),
    }
}

fn json_name(message: &str, f: &protofacts::FieldFact, go: &GoFacts) -> (String, JsonFrom) {
    match go.fields.get(&(message.to_owned(), f.number)) {
        Some(fact) if !fact.json.is_empty() && fact.json != "-" => (fact.json.clone(), JsonFrom::GoTag),
        Some(fact) if fact.json.is_empty() => (f.name.clone(), JsonFrom::Inline),
        _ => (lower_go_name(&f.name), JsonFrom::ProtoName),
    }
}

/// The facts as messages with JSON names, without the overlay.
fn model_of(inputs: &Inputs) -> Model {
    let mut model = Model::new();
    for (full, m) in &inputs.proto.messages {
        let fields = m
            .fields
            .iter()
            .map(|f| {
                let (json, json_from) = json_name(full, f, &inputs.go);
                Field {
                    number: f.number,
                    proto_name: f.name.clone(),
                    label: f.label.clone(),
                    ty: f.ty.clone(),
                    json,
                    json_from,
                    source: f.source.clone(),
                    note: None,
                    from_overlay: false,
                }
            })
            .collect();
        model.insert(full.clone(), Message { source: Some(m.source.clone()), fields, note: None });
    }
    model
}

// ---------------------------------------------------------------------------------------------
// The overlay.

/// Why an overlay entry is no longer needed: the upstream sources now have it.
fn now_upstream(what: &str) -> String {
    format!("{what} is in the upstream sources now: remove it from {} (`cargo xtask schemas --upstream` removes such entries)", overlay::PATH)
}

/// Adds the overlay's messages and fields; an entry the sources already have is an error.
fn apply_overlay(model: &mut Model, ov: &Overlay) -> Result<()> {
    for om in &ov.messages {
        if model.contains_key(&om.message) {
            bail!("{}", now_upstream(&format!("overlay message {}", om.message)));
        }
        if !is_ident(split_full_name(&om.message).1) {
            bail!("overlay message {}: bad name", om.message);
        }
        let note = match &om.copy_of {
            Some(c) => format!("copy of {c}; {}", om.provenance),
            None => om.provenance.clone(),
        };
        model.insert(om.message.clone(), Message { source: None, fields: Vec::new(), note: Some(note) });
    }
    // Copies: fields, numbers, labels, types and JSON names of the source message; a field whose
    // type is a message of the source's package takes the same-named message of the new package
    // when there is one.
    for om in &ov.messages {
        let Some(src) = &om.copy_of else { continue };
        let from = model.get(src).with_context(|| format!("overlay message {}: copy_of {src}: no such message", om.message))?;
        let (src_pkg, _) = split_full_name(src);
        let (pkg, _) = split_full_name(&om.message);
        let mut fields = from.fields.clone();
        for f in &mut fields {
            let (tp, tn) = split_full_name(&f.ty);
            let retargeted = format!("{pkg}.{tn}");
            if tp == src_pkg && model.contains_key(&retargeted) {
                f.ty = retargeted;
            }
            f.source = None;
            f.from_overlay = true;
        }
        model.get_mut(&om.message).unwrap().fields = fields;
    }
    for of in &ov.fields {
        let at = format!("overlay field {} {}", of.message, of.number);
        let msg = model.get_mut(&of.message).with_context(|| format!("{at}: no such message"))?;
        if let Some(old) = &of.rename_json_from {
            let f = msg.fields.iter_mut().find(|f| f.number == of.number).with_context(|| format!("{at}: rename of a missing field"))?;
            if f.json == of.json_name {
                bail!("{}", now_upstream(&format!("{at}: JSON name {}", of.json_name)));
            }
            if &f.json != old {
                bail!("{at}: JSON name is {}, not {old} (stale overlay entry?)", f.json);
            }
            f.note = Some(format!("JSON name {} (the sources give {old}); {}", of.json_name, of.provenance));
            f.json = of.json_name.clone();
            f.json_from = JsonFrom::Overlay;
            continue;
        }
        if msg.fields.iter().any(|f| f.number == of.number) {
            bail!("{}", now_upstream(&at));
        }
        if !is_ident(&of.name) || msg.fields.iter().any(|f| f.proto_name == of.name) {
            bail!("{at}: bad or duplicate name {}", of.name);
        }
        let label = match of.label.as_str() {
            "optional" => Label::Optional,
            "repeated" => Label::Repeated,
            "map" => Label::Map(of.key.clone().with_context(|| format!("{at}: map without key"))?),
            other => bail!("{at}: label {other}"),
        };
        let field = Field {
            number: of.number,
            proto_name: of.name.clone(),
            label,
            ty: of.ty.clone(),
            json: of.json_name.clone(),
            json_from: JsonFrom::Overlay,
            source: None,
            note: Some(of.provenance.clone()),
            from_overlay: true,
        };
        let pos = msg.fields.iter().position(|f| f.number > of.number).unwrap_or(msg.fields.len());
        msg.fields.insert(pos, field);
    }
    Ok(())
}

/// The overlay without the entries the sources now have (for `--upstream`), and what was dropped.
pub fn prune_overlay(inputs: &Inputs, ov: &Overlay) -> Result<(Overlay, Vec<String>)> {
    let model = model_of(inputs);
    let mut out = ov.clone();
    let mut dropped = Vec::new();
    out.messages.retain(|m| {
        let keep = !model.contains_key(&m.message);
        if !keep {
            dropped.push(format!("message {}", m.message));
        }
        keep
    });
    let mut fields = Vec::new();
    for f in &ov.fields {
        let have = model.get(&f.message).and_then(|m| m.fields.iter().find(|x| x.number == f.number));
        match (have, &f.rename_json_from) {
            (Some(h), Some(_)) if h.json == f.json_name => dropped.push(format!("JSON name {} of {} {}", f.json_name, f.message, f.number)),
            (Some(h), Some(old)) if h.json != *old => {
                bail!("overlay field {} {}: renames {old} to {}, but the sources now say {}: settle it by hand", f.message, f.number, f.json_name, h.json)
            }
            (Some(_), None) => dropped.push(format!("field {} {}", f.message, f.number)),
            _ => fields.push(f.clone()),
        }
    }
    out.fields = fields;
    Ok((out, dropped))
}

// ---------------------------------------------------------------------------------------------
// Rendering.

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

fn is_scalar(ty: &str) -> bool {
    protofacts::SCALARS.contains(&ty)
}

/// Returns file name -> contents for every generated file.
pub fn generate(inputs: &Inputs, ov: &Overlay) -> Result<BTreeMap<String, String>> {
    let mut model = model_of(inputs);
    apply_overlay(&mut model, ov).context(overlay::PATH)?;
    let first = inputs.proto.source_names().first().map(|s| (*s).to_owned()).unwrap_or_default();

    let mut packages: BTreeMap<&str, Vec<(&str, &Message)>> = BTreeMap::new();
    for (full, m) in &model {
        let (pkg, name) = split_full_name(full);
        packages.entry(pkg).or_default().push((name, m));
    }

    let mut files = BTreeMap::new();
    let mut gen_fields = Vec::new();
    let header = header(inputs, ov);
    for (package, messages) in &packages {
        let mut imports = BTreeSet::new();
        let mut body = String::new();
        for (name, m) in messages {
            body.push('\n');
            if let Some(s) = m.source.as_deref().filter(|s| *s != first) {
                writeln!(body, "// source: {s} (not in {first})").unwrap();
            }
            if let Some(n) = &m.note {
                writeln!(body, "// overlay: {n}").unwrap();
            }
            writeln!(body, "message {name} {{").unwrap();
            let mut used_json = BTreeMap::new();
            let mut used_names = BTreeSet::new();
            for (i, f) in m.fields.iter().enumerate() {
                let full = format!("{package}.{name}");
                if let Some(prev) = used_json.insert(f.json.clone(), f.number) {
                    bail!("{full}: JSON name {} used by fields {prev} and {}", f.json, f.number);
                }
                let proto_name = if is_ident(&f.json) { f.json.clone() } else { f.proto_name.clone() };
                if !used_names.insert(proto_name.clone()) {
                    bail!("{full}: field name {proto_name} used twice");
                }
                let ty = if is_scalar(&f.ty) {
                    f.ty.clone()
                } else {
                    if !model.contains_key(&f.ty) {
                        bail!("{full}.{}: unknown message {}", f.proto_name, f.ty);
                    }
                    let (tp, tn) = split_full_name(&f.ty);
                    if tp == *package {
                        tn.to_owned()
                    } else {
                        imports.insert(format!("{tp}.proto"));
                        format!(".{}", f.ty)
                    }
                };
                let source_note = f.source.as_ref().map(|s| format!("source: {s} (not in {})", m.source.as_deref().unwrap_or("the overlay")));
                if i > 0 && (source_note.is_some() || f.note.is_some()) {
                    body.push('\n');
                }
                if let Some(n) = &source_note {
                    writeln!(body, "  // {n}").unwrap();
                }
                if let Some(n) = &f.note {
                    writeln!(body, "  // overlay: {n}").unwrap();
                }
                let decl = match &f.label {
                    Label::Optional => format!("optional {ty}"),
                    Label::Repeated => format!("repeated {ty}"),
                    Label::Map(k) => format!("map<{k}, {ty}>"),
                };
                writeln!(body, "  {decl} {proto_name} = {} [json_name = \"{}\"];", f.number, f.json).unwrap();
                gen_fields.push(GenField {
                    message: full,
                    number: f.number,
                    json: f.json.clone(),
                    label: f.label.clone(),
                    message_typed: !is_scalar(&f.ty),
                    bytes: f.ty == "bytes",
                });
            }
            body.push_str("}\n");
        }
        let mut text = header.clone();
        writeln!(text, "syntax = \"proto2\";\n\npackage {package};\n").unwrap();
        for i in &imports {
            writeln!(text, "import \"{i}\";").unwrap();
        }
        text.push_str(if imports.is_empty() { body.trim_start_matches('\n') } else { &body });
        files.insert(format!("{package}.proto"), text);
    }
    let (go_json, go_report) = go_json(&gen_fields, &inputs.go);
    files.insert(GO_JSON.into(), go_json);
    let mut md = sources_md(inputs, &model, &files, ov);
    md.push_str(&go_report);
    files.insert("SOURCES.md".into(), md);
    Ok(files)
}

fn header_lines(inputs: &Inputs, ov: &Overlay) -> Vec<String> {
    let names = inputs.proto.source_names();
    let (first, rest) = names.split_first().map_or(("?", &[][..]), |(f, r)| (*f, r));
    let mut lines = vec![
        "Code generated by `cargo xtask schemas` from schemas/upstream (docs/schemas.md). DO NOT EDIT BY HAND.".to_owned(),
        format!(
            "Messages, field numbers, types and labels: Kubernetes' generated.proto files of {first}{}, the first that has each (schemas/upstream/sources.txt).",
            if rest.is_empty() { String::new() } else { format!(", then {}", rest.join(", ")) }
        ),
        "JSON names: the Go struct tags of the same sources (schemas/upstream/go-json-tags.tsv).".to_owned(),
        format!("Marked `source:` where a message or field is not from {first}."),
    ];
    if !ov.is_empty() {
        lines.push(format!("Plus {} (additions no source has), marked `overlay:`.", overlay::PATH));
    }
    lines
}

fn header(inputs: &Inputs, ov: &Overlay) -> String {
    let mut o: String = header_lines(inputs, ov).iter().map(|l| format!("// {l}\n")).collect();
    o.push('\n');
    o
}

fn sources_md(inputs: &Inputs, model: &Model, files: &BTreeMap<String, String>, ov: &Overlay) -> String {
    let mut o: String = header_lines(inputs, ov).iter().map(|l| format!("<!-- {l} -->\n")).collect();
    o.push('\n');
    writeln!(o, "# Kubernetes protobuf schemas: sources\n").unwrap();
    writeln!(
        o,
        "Regenerate with `cargo xtask schemas` (`--check` fails if these files are stale); refresh from Kubernetes with \
         `cargo xtask schemas --k8s-tag vX.Y.Z` (docs/schemas.md).\n"
    )
    .unwrap();

    let names = inputs.proto.source_names();
    let first = names.first().copied().unwrap_or("?");
    let mut msgs_from: BTreeMap<&str, usize> = BTreeMap::new();
    let mut fields_from: BTreeMap<&str, usize> = BTreeMap::new();
    let mut total_fields = 0;
    for m in model.values() {
        let ms = m.source.as_deref().unwrap_or("overlay");
        *msgs_from.entry(ms).or_default() += 1;
        for f in &m.fields {
            total_fields += 1;
            let fs = if f.from_overlay { "overlay" } else { f.source.as_deref().unwrap_or(ms) };
            *fields_from.entry(fs).or_default() += 1;
        }
    }
    writeln!(o, "## Sources, highest priority first (schemas/upstream/sources.txt)\n").unwrap();
    let repos: Vec<&str> = crate::upstream::REPOS.iter().map(|(r, _)| *r).collect();
    writeln!(o, "| source | {} | messages taken | fields taken |", repos.join(" | ")).unwrap();
    writeln!(o, "| --- |{} --- | --- |", " --- |".repeat(repos.len())).unwrap();
    for s in &inputs.proto.sources {
        let cells: Vec<String> = repos
            .iter()
            .map(|r| match s.commits.iter().find(|(repo, _, _)| repo == r) {
                Some((_, git_ref, commit)) if git_ref == commit => format!("`{}`", crate::upstream::short(commit)),
                Some((_, git_ref, commit)) => format!("{git_ref} `{}`", crate::upstream::short(commit)),
                None => "-".into(),
            })
            .collect();
        let n = |m: &BTreeMap<&str, usize>| m.get(s.name.as_str()).copied().unwrap_or(0);
        writeln!(o, "| {} | {} | {} | {} |", s.name, cells.join(" | "), n(&msgs_from), n(&fields_from)).unwrap();
    }
    if !ov.is_empty() {
        let n = |m: &BTreeMap<&str, usize>| m.get("overlay").copied().unwrap_or(0);
        writeln!(o, "| overlay | {} | {} | {} |", vec!["-"; repos.len()].join(" | "), n(&msgs_from), n(&fields_from)).unwrap();
    }
    let protos = files.keys().filter(|k| k.ends_with(".proto")).count();
    writeln!(o, "\n- files: {protos} (`.proto`, one per proto package)").unwrap();
    writeln!(o, "- messages: {}", model.len()).unwrap();
    writeln!(o, "- fields: {total_fields}\n").unwrap();

    writeln!(o, "## Messages not in {first}, by source\n").unwrap();
    for s in names.iter().skip(1) {
        let list: Vec<&String> = model.iter().filter(|(_, m)| m.source.as_deref() == Some(*s)).map(|(n, _)| n).collect();
        writeln!(o, "### {s} ({})\n", list.len()).unwrap();
        for n in list {
            writeln!(o, "- `{n}`").unwrap();
        }
        o.push('\n');
    }
    let added: Vec<String> = model
        .iter()
        .flat_map(|(n, m)| m.fields.iter().filter_map(move |f| f.source.as_ref().map(|s| format!("- `{n}` {} `{}`: {s}", f.number, f.json))))
        .collect();
    writeln!(o, "## Fields from a lower source than their message's ({})\n", added.len()).unwrap();
    for a in &added {
        writeln!(o, "{a}").unwrap();
    }
    writeln!(o, "\n## Numbers a lower source declares differently ({}; the higher source's is used)\n", inputs.proto.differs.len()).unwrap();
    for d in &inputs.proto.differs {
        writeln!(o, "- {d}").unwrap();
    }

    let mut json_from: BTreeMap<JsonFrom, usize> = BTreeMap::new();
    let mut not_go = Vec::new();
    for (n, m) in model {
        for f in &m.fields {
            *json_from.entry(f.json_from).or_default() += 1;
            if f.json_from == JsonFrom::ProtoName {
                not_go.push(format!("| `{n}` | {} | `{}` |", f.number, f.json));
            }
        }
    }
    writeln!(o, "\n## Where JSON names came from\n\n| source | fields |\n| --- | --- |").unwrap();
    for (src, n) in &json_from {
        writeln!(o, "| {} | {n} |", src.describe()).unwrap();
    }
    writeln!(o, "\n### JSON names from the upstream proto name ({})\n", not_go.len()).unwrap();
    writeln!(o, "| message | field | JSON name |\n| --- | --- | --- |").unwrap();
    for l in &not_go {
        writeln!(o, "{l}").unwrap();
    }

    if !ov.is_empty() {
        writeln!(o, "\n## Overlay additions ({})\n", overlay::PATH).unwrap();
        writeln!(o, "Merged from the overlay and marked `// overlay:` in the `.proto` files.\n").unwrap();
        writeln!(o, "### Messages ({})\n", ov.messages.len()).unwrap();
        for m in &ov.messages {
            match &m.copy_of {
                Some(c) => writeln!(o, "- `{}`: copy of `{c}`; {}", m.message, m.provenance).unwrap(),
                None => writeln!(o, "- `{}`: {}", m.message, m.provenance).unwrap(),
            }
        }
        writeln!(o, "\n### Fields ({})\n", ov.fields.len()).unwrap();
        for f in &ov.fields {
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
    }
    if !ov.skipped.is_empty() {
        writeln!(o, "\n### Not learned from the fixtures: ambiguous or unpairable ({} messages)\n", ov.skipped.len()).unwrap();
        writeln!(o, "No overlay entry was made for these; their fixtures keep the difference.\n").unwrap();
        for (m, notes) in &ov.skipped {
            writeln!(o, "- `{m}`").unwrap();
            for n in notes {
                writeln!(o, "  - {n}").unwrap();
            }
        }
    }
    o
}

// ---------------------------------------------------------------------------------------------
// Go's encoding rules.

/// The rule for one field: how Go's encoding/json treats it (see the go-json.txt header). A field
/// that a newer source dropped is never shown as `null` when absent: data written by the newer
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
# Generated by `cargo xtask schemas` from schemas/upstream/go-json-tags.tsv (Go struct tags, see
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
            Label::Map(_) => Some("map"),
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
