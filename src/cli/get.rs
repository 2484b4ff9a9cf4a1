//! `etcdscope get`: kubectl's conventions over a snapshot. Tables per common type, `-o
//! json|yaml` (a `kind: List` for listings), `-o name`, JSON Lines, and a jsonpath subset.

use super::format::{cell, kubectl_table, table};
use super::{CliError, CliResult, EXIT_FINDINGS, EXIT_OK};
use clap::Args;
use etcdscope::k8s::select::{FieldSelector, LabelSelector};
use etcdscope::snapshot::Snapshot;
use etcdscope::source::Source;
use etcdscope::k8s::decoder::Decoder;
use etcdscope::views::get::{get, Found, GetQuery, Namespace};
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct GetArgs {
    /// Snapshot file, member db, member dir or data dir.
    src: PathBuf,
    /// TYPE[,TYPE…] [NAME…] or TYPE/NAME…
    targets: Vec<String>,
    #[arg(short = 'n', long)]
    namespace: Option<String>,
    #[arg(short = 'A', long)]
    all_namespaces: bool,
    #[arg(short = 'l', long)]
    selector: Option<String>,
    #[arg(long)]
    field_selector: Option<String>,
    /// Read at this revision (0 = current).
    #[arg(long, default_value_t = 0)]
    rev: i64,
    /// One raw key instead of TYPE/NAME (e.g. /registry/pods/default/web).
    #[arg(long)]
    key: Option<String>,
    /// Every object under the prefix, of every resource, known or not (all namespaces).
    #[arg(long, conflicts_with_all = ["key", "list_keys"])]
    all_objects: bool,
    /// List every key with what it is: an object, a key that is not an object, an unknown
    /// resource, or a key outside the prefix.
    #[arg(long, conflicts_with = "key")]
    list_keys: bool,
    /// table, wide, json, yaml, name, jsonl or jsonpath=TEMPLATE
    #[arg(short = 'o', long, default_value = "table")]
    output: String,
    /// Reference time for AGE (RFC 3339); default: the newest creationTimestamp listed.
    #[arg(long)]
    now: Option<String>,
    #[arg(long, default_value = "/registry")]
    etcd_prefix: String,
    #[command(flatten)]
    decoding: super::decoding::DecodingArgs,
}

fn targets(args: &[String]) -> Result<Vec<(String, Option<String>)>, CliError> {
    let Some(first) = args.first() else {
        return Err(CliError::Usage("you must specify the type of resource to get (e.g. pods, deployments, svc)".into()));
    };
    if first.contains('/') {
        return args
            .iter()
            .map(|a| match a.split_once('/') {
                Some((t, n)) if !t.is_empty() && !n.is_empty() => Ok((t.to_string(), Some(n.to_string()))),
                _ => Err(CliError::Usage(format!("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form: {a}"))),
            })
            .collect();
    }
    let types: Vec<&str> = first.split(',').filter(|t| !t.is_empty()).collect();
    let names = &args[1..];
    if names.is_empty() {
        return Ok(types.iter().map(|t| (t.to_string(), None)).collect());
    }
    Ok(types.iter().flat_map(|t| names.iter().map(move |n| (t.to_string(), Some(n.clone())))).collect())
}

pub fn run(a: &GetArgs, out: &mut impl Write) -> CliResult {
    let decoder = a.decoding.decoder()?;
    let source = Source::open(&a.src)?;
    let snap = Snapshot::open(&source)?;
    let source = &snap;
    if let Some(key) = &a.key {
        return raw_key(source, key, a, &decoder, out);
    }
    if a.list_keys {
        return list_keys(source, a, &decoder, out);
    }
    let query = GetQuery {
        targets: if a.all_objects { Vec::new() } else { targets(&a.targets)? },
        all_objects: a.all_objects,
        namespace: match (&a.namespace, a.all_namespaces) {
            (_, true) => Namespace::All,
            (Some(n), false) => Namespace::One(n.clone()),
            (None, false) => Namespace::Default,
        },
        labels: LabelSelector::parse(a.selector.as_deref().unwrap_or("")).map_err(CliError::Usage)?,
        fields: FieldSelector::parse(a.field_selector.as_deref().unwrap_or("")).map_err(CliError::Usage)?,
        revision: a.rev,
        etcd_prefix: a.etcd_prefix.clone(),
    };
    let single = query.targets.len() == 1 && query.targets[0].1.is_some();
    if matches!(a.output.as_str(), "jsonl" | "name") {
        return stream(source, &query, &decoder, a.output == "jsonl", out);
    }
    let result = get(source, &query, &decoder)?;
    let mut findings = false;
    for f in &result.items {
        warn(f);
        findings |= f.object.is_err();
    }
    for nf in &result.not_found {
        say!("Error from server (NotFound): {nf}");
        findings = true;
    }
    let mut values = Vec::new();
    for f in &result.items {
        if let Ok(o) = &f.object {
            match o.value() {
                Ok(v) => values.push((f, v)),
                Err(e) => {
                    say!("etcdscope: warning: {}: {e}", f.key);
                    findings = true;
                }
            }
        }
    }
    let objects: Vec<(&Found, &Value)> = values.iter().map(|(f, v)| (*f, v)).collect();
    print(a, &query.namespace, single, &objects, out)?;
    if result.items.is_empty() && result.not_found.is_empty() && matches!(a.output.as_str(), "table" | "wide") {
        match &query.namespace {
            Namespace::All => say!("No resources found"),
            Namespace::One(n) => say!("No resources found in {n} namespace."),
            Namespace::Default => say!("No resources found in default namespace."),
        }
    }
    Ok(if findings { EXIT_FINDINGS } else { EXIT_OK })
}

/// `-o jsonl` and `-o name` write each object as it is decoded, so memory does not grow with
/// the number of objects.
fn stream(source: &Snapshot<'_>, query: &GetQuery, decoder: &Decoder, jsonl: bool, out: &mut impl Write) -> CliResult {
    let mut findings = false;
    let summary = etcdscope::views::get::get_each(source, query, decoder, &mut |f| {
        warn(&f);
        match &f.object {
            Err(_) => findings = true,
            Ok(o) if jsonl => {
                out.write_all(o.as_str().as_bytes()).and_then(|()| out.write_all(b"\n")).map_err(|e| etcdscope::Error::io(std::path::Path::new("<stdout>"), e))?;
            }
            Ok(o) => {
                let v = o.value().unwrap_or_default();
                let name = v.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
                writeln!(out, "{}/{name}", f.resource.qualified_singular()).map_err(|e| etcdscope::Error::io(std::path::Path::new("<stdout>"), e))?;
            }
        }
        Ok(())
    })?;
    for nf in &summary.not_found {
        say!("Error from server (NotFound): {nf}");
        findings = true;
    }
    Ok(if findings { EXIT_FINDINGS } else { EXIT_OK })
}

fn warn(f: &Found) {
    if let Err(reason) = &f.object {
        say!("etcdscope: warning: {} (revision {}): not decoded: {reason}", f.key, f.mod_revision);
    }
    if !f.unknown_fields.is_empty() {
        say!("etcdscope: warning: {}: {} field(s) not in the schema: {}", f.key, f.unknown_fields.len(), f.unknown_fields.join(", "));
    }
}

fn list_keys(source: &Snapshot<'_>, a: &GetArgs, decoder: &Decoder, out: &mut impl Write) -> CliResult {
    use etcdscope::k8s::key::KeyClass;
    let entries = etcdscope::views::get::list_keys(source, &a.etcd_prefix, a.rev, decoder)?;
    let describe = |c: &KeyClass| -> (String, String, String, String) {
        match c {
            KeyClass::Object(r) => {
                let res = if r.group.is_empty() { r.resource.clone() } else { format!("{}.{}", r.resource, r.group) };
                ("object".into(), res, r.namespace.clone().unwrap_or_default(), r.name.clone())
            }
            KeyClass::UnknownResource { resource_path, namespace, name } => {
                ("unknown-resource".into(), resource_path.clone(), namespace.clone().unwrap_or_default(), name.clone())
            }
            KeyClass::NotObject { what } => ("not-an-object".into(), what.to_string(), String::new(), String::new()),
            KeyClass::Outside => ("outside-prefix".into(), String::new(), String::new(), String::new()),
        }
    };
    match a.output.as_str() {
        "json" | "jsonl" => {
            for e in &entries {
                let (class, resource, namespace, name) = describe(&e.class);
                let line = json!({"key": e.key, "class": class, "resource": resource, "namespace": namespace, "name": name, "modRevision": e.mod_revision, "valueBytes": e.value_len});
                serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::from)?;
                writeln!(out)?;
            }
        }
        _ => {
            let mut rows = vec![["KEY", "CLASS", "RESOURCE", "NAMESPACE", "NAME", "MOD-REV", "BYTES"].map(String::from).to_vec()];
            for e in &entries {
                let (class, resource, namespace, name) = describe(&e.class);
                rows.push(vec![cell(&e.key), class, cell(&resource), cell(&namespace), cell(&name), e.mod_revision.to_string(), e.value_len.to_string()]);
            }
            out.write_all(table(&rows).as_bytes())?;
        }
    }
    Ok(EXIT_OK)
}

fn raw_key(source: &Snapshot<'_>, key: &str, a: &GetArgs, decoder: &Decoder, out: &mut impl Write) -> CliResult {
    use etcdscope::views::kv_get::{get as kv_get, GetRequest};
    let req = GetRequest {
        range: etcdscope::etcd::KeyRange::single(key.as_bytes()),
        revision: a.rev,
        limit: 0,
        keys_only: false,
        count_only: false,
        sort_target: Default::default(),
        sort_order: Default::default(),
    };
    let resp = kv_get(source, &req)?;
    let Some(kv) = resp.key_values().next().transpose()? else {
        say!("etcdscope: key {key} not found at this revision");
        return Ok(EXIT_FINDINGS);
    };
    match decoder.decode_at(&kv.key, &kv.value, Some(kv.mod_revision)) {
        etcdscope::k8s::decoder::Decoded::Object { json, .. } => {
            write_json(out, &json.value().map_err(|e| CliError::Usage(format!("{key}: {e}")))?)?;
            Ok(EXIT_OK)
        }
        etcdscope::k8s::decoder::Decoded::Encrypted { provider, key_name, reason, .. } => {
            say!("etcdscope: {key}: not decoded: encrypted ({provider}, key {key_name}): {reason}");
            Ok(EXIT_FINDINGS)
        }
        etcdscope::k8s::decoder::Decoded::Raw { reason } => {
            say!("etcdscope: {key}: not decoded: {reason}");
            Ok(EXIT_FINDINGS)
        }
    }
}

pub fn write_json(out: &mut impl Write, v: &Value) -> std::io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, serde_json::ser::PrettyFormatter::with_indent(b"    "));
    serde::Serialize::serialize(v, &mut ser).map_err(std::io::Error::from)?;
    writeln!(out)
}

fn print(a: &GetArgs, ns: &Namespace, single: bool, objects: &[(&Found, &Value)], out: &mut impl Write) -> Result<(), CliError> {
    let list = || json!({"apiVersion": "v1", "items": objects.iter().map(|(_, o)| (*o).clone()).collect::<Vec<_>>(), "kind": "List", "metadata": {"resourceVersion": ""}});
    match a.output.as_str() {
        "json" => write_json(out, &if single && objects.len() == 1 { objects[0].1.clone() } else { list() })?,
        "yaml" => {
            let v = if single && objects.len() == 1 { objects[0].1.clone() } else { list() };
            out.write_all(etcdscope::k8s::yaml::to_yaml(&v).as_bytes())?;
        }
        "name" => {
            for (f, o) in objects {
                let name = o.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
                writeln!(out, "{}/{name}", f.resource.qualified_singular())?;
            }
        }
        "jsonl" => {
            for (_, o) in objects {
                serde_json::to_writer(&mut *out, o).map_err(std::io::Error::from)?;
                writeln!(out)?;
            }
        }
        "table" | "wide" => out.write_all(tables(a, ns, objects)?.as_bytes())?,
        other => {
            if let Some(template) = other.strip_prefix("jsonpath=") {
                let target = if single && objects.len() == 1 { objects[0].1.clone() } else { list() };
                write!(out, "{}", super::jsonpath::render(template, &target).map_err(CliError::Usage)?)?;
            } else {
                return Err(CliError::Usage(format!("unable to match a printer suitable for the output format \"{other}\"")));
            }
        }
    }
    Ok(())
}

/// One table per resource type, in the order first seen, as kubectl prints several types.
fn tables(a: &GetArgs, ns: &Namespace, objects: &[(&Found, &Value)]) -> Result<String, CliError> {
    let now = match &a.now {
        Some(t) => super::age::parse_rfc3339(t).ok_or_else(|| CliError::Usage(format!("--now {t}: not an RFC 3339 time")))?,
        None => objects.iter().filter_map(|(_, o)| created(o)).max().unwrap_or(0),
    };
    let wide = a.output == "wide";
    let mut order: Vec<String> = Vec::new();
    for (f, _) in objects {
        if !order.contains(&f.resource.key_prefix) {
            order.push(f.resource.key_prefix.clone());
        }
    }
    let several = order.len() > 1;
    let mut text = String::new();
    for prefix in order {
        let group: Vec<&(&Found, &Value)> = objects.iter().filter(|(f, _)| f.resource.key_prefix == prefix).collect();
        let info = &group[0].0.resource;
        let with_ns = *ns == Namespace::All && info.namespaced;
        let crd_columns = info.printer_columns.as_deref();
        let mut header = match crd_columns {
            Some(cols) => super::columns::printer_headers(cols, wide),
            None => {
                let (mut h, _) = super::columns::columns(info, &json!({}), wide);
                h.push("AGE".into());
                h
            }
        };
        header.insert(0, "NAME".into());
        if with_ns {
            header.insert(0, "NAMESPACE".into());
        }
        let mut rows = vec![header];
        for (_, o) in group {
            let name = o.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
            let name = if several { format!("{}/{name}", info.qualified_singular()) } else { name.to_string() };
            let mut row = vec![name];
            match crd_columns {
                Some(cols) => row.extend(super::columns::printer_cells(cols, o, now, wide)),
                None => {
                    let (_, cells) = super::columns::columns(info, o, wide);
                    row.extend(cells);
                    row.push(created(o).map(|c| super::age::human_duration(now - c)).unwrap_or_else(|| "<unknown>".into()));
                }
            }
            if with_ns {
                row.insert(0, o.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("").to_string());
            }
            rows.push(row);
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&kubectl_table(&rows));
    }
    Ok(text)
}

fn created(o: &Value) -> Option<i64> {
    o.pointer("/metadata/creationTimestamp").and_then(Value::as_str).and_then(super::age::parse_rfc3339)
}
