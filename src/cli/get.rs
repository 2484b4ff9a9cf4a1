//! `etcdscope get`: kubectl's conventions over a snapshot. Tables per common type, `-o
//! json|yaml` (a `kind: List` for listings), `-o name`, JSON Lines, and a jsonpath subset; and
//! kubectl's common flags: --no-headers, --show-labels, -L, --ignore-not-found, --chunk-size.

use super::format::{cell, kubectl_printed, printable_key, table};
use super::formats::{GetOutput, GetOutputParser};
use super::{CliError, CliResult, EXIT_FINDINGS, EXIT_OK};
use clap::Args;
use etcdscope::k8s::decoder::Decoder;
use etcdscope::k8s::key::Namespace;
use etcdscope::k8s::select::LabelSelector;
use etcdscope::snapshot::Snapshot;
use etcdscope::source::Source;
use etcdscope::views::get::{get, Found, GetQuery, Refused};
use etcdscope::views::table::Cell;
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct GetArgs {
    /// Snapshot file, member db, member dir or data dir.
    src: PathBuf,
    /// TYPE[,TYPE…] [NAME…] or TYPE/NAME…
    targets: Vec<String>,
    /// The namespace to read (default: default), as kubectl -n.
    #[arg(short = 'n', long)]
    namespace: Option<String>,
    /// Every namespace, with a NAMESPACE column in tables.
    #[arg(short = 'A', long)]
    all_namespaces: bool,
    /// Label selector, as kubectl -l: `app=web`, `tier!=db`, `env in (a,b)`, `key`, `!key`
    /// (comma-separated requirements, all must hold).
    #[arg(short = 'l', long)]
    selector: Option<String>,
    /// Field selector, as kubectl --field-selector: `field=value`, `field==value`,
    /// `field!=value`, comma-separated, all must hold; the fields each resource's API server
    /// accepts (metadata.name and metadata.namespace everywhere; pods: spec.nodeName,
    /// status.phase, …; events: involvedObject.*, reason, type, …; secrets: type; …). A type
    /// that refuses a field is reported as the API server refuses it, the others still listed.
    #[arg(long)]
    field_selector: Option<String>,
    /// Read at this revision (0 = current).
    #[arg(long, default_value_t = 0)]
    rev: i64,
    /// Read at the newest revision whose time evidence (timestamps the objects carry) is not
    /// after TIME (RFC 3339); the revision and the evidence are said on stderr.
    #[arg(long, value_name = "TIME", conflicts_with = "rev")]
    at: Option<String>,
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
    /// Output format.
    #[arg(short = 'o', long, value_name = "FORMAT", value_parser = GetOutputParser, default_value = "table")]
    output: GetOutput,
    /// Print no header line (tables and custom-columns), as kubectl --no-headers.
    #[arg(long)]
    no_headers: bool,
    /// Add a LABELS column to tables: every label as key=value, sorted by key, <none> when there
    /// are none (table and wide only, as kubectl).
    #[arg(long)]
    show_labels: bool,
    /// A table column per label key (repeat the flag or separate keys with commas), named as
    /// kubectl names it: the key's last path segment upper-cased; empty when the object lacks it.
    #[arg(short = 'L', long, value_name = "KEY", value_delimiter = ',')]
    label_columns: Vec<String>,
    /// Exit 0 and print nothing for a named object (or --key) that is not there, and no "No
    /// resources found" for an empty listing, as kubectl --ignore-not-found.
    #[arg(long)]
    ignore_not_found: bool,
    /// Accepted for kubectl's sake and ignored: a snapshot is read whole, not in chunks.
    #[arg(long, value_name = "N", default_value_t = 500)]
    chunk_size: i64,
    /// Sort the listing by a field, as kubectl: a jsonpath such as .metadata.name or
    /// '{.status.startTime}' (numbers by value, text by bytes, missing first).
    #[arg(long)]
    sort_by: Option<String>,
    /// Reference time for AGE (RFC 3339); default: --at's time, else the snapshot's time, the
    /// newest timestamp in its keyspace (Lease renewals, Events, managedFields, creations).
    #[arg(long)]
    now: Option<String>,
    /// The etcd prefix kube-apiserver was run with (`--etcd-prefix`).
    #[arg(long, default_value = "/registry")]
    etcd_prefix: String,
    #[command(flatten)]
    decoding: super::decoding::DecodingArgs,
}

/// What `kubectl get all` lists, in kubectl's order.
const ALL_CATEGORY: &[&str] = &[
    "pods",
    "replicationcontrollers",
    "services",
    "daemonsets.apps",
    "deployments.apps",
    "replicasets.apps",
    "statefulsets.apps",
    "horizontalpodautoscalers.autoscaling",
    "cronjobs.batch",
    "jobs.batch",
];

fn targets(args: &[String]) -> Result<Vec<(String, Option<String>)>, CliError> {
    let Some(first) = args.first() else {
        return Err(CliError::Usage("you must specify the type of resource to get (e.g. pods, deployments, svc)".into()));
    };
    if first.contains('/') {
        return args
            .iter()
            .map(|a| match a.split_once('/') {
                Some((t, n)) if !t.is_empty() && !n.is_empty() => Ok((t.to_string(), Some(n.to_string()))),
                _ => Err(CliError::Usage(format!(
                    "there is no need to specify a resource type as a separate argument when passing arguments in resource/name form: {a}"
                ))),
            })
            .collect();
    }
    // kubectl's `all` category: the workload types and services.
    let types: Vec<&str> =
        first.split(',').filter(|t| !t.is_empty()).flat_map(|t| if t.eq_ignore_ascii_case("all") { ALL_CATEGORY.to_vec() } else { vec![t] }).collect();
    let names = &args[1..];
    if names.is_empty() {
        return Ok(types.iter().map(|t| (t.to_string(), None)).collect());
    }
    Ok(types.iter().flat_map(|t| names.iter().map(move |n| (t.to_string(), Some(n.clone())))).collect())
}

pub fn run(a: &GetArgs, out: &mut impl Write) -> CliResult {
    let decoder = a.decoding.decoder_for(&a.etcd_prefix)?;
    let source = Source::open(&a.src)?;
    let snap = Snapshot::open(&source)?;
    let source = &snap;
    let at = match &a.at {
        Some(at) => super::at::resolve(source, &decoder, &a.etcd_prefix, &[("--at", at)])?.pop(),
        None => None,
    };
    let rev = at.as_ref().map_or(a.rev, |r| r.revision);
    if let Some(key) = &a.key {
        return raw_key(source, key, rev, a, &decoder, out);
    }
    if a.list_keys {
        return list_keys(source, rev, a, &decoder, out);
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
        fields: a.field_selector.clone().unwrap_or_default(),
        revision: rev,
        etcd_prefix: a.etcd_prefix.clone(),
        cancel: super::interrupt::watch(),
    };
    let selecting = [&a.selector, &a.field_selector].into_iter().any(|s| s.as_deref().is_some_and(|s| !s.trim().is_empty()));
    if selecting && query.targets.iter().any(|(_, name)| name.is_some()) {
        // kubectl refuses these before it asks the server anything, in its two words.
        if a.targets.first().is_some_and(|t| t.contains('/')) {
            return Err(CliError::Usage("selectors and the all flag cannot be used when passing resource/name arguments".into()));
        }
        return Err(CliError::Usage("name cannot be provided when a selector is specified".into()));
    }
    let single = query.targets.len() == 1 && query.targets[0].1.is_some();
    if a.show_labels && !a.output.is_table() {
        return Err(CliError::Usage(format!("--show-labels option cannot be used with {} printer", a.output.given())));
    }
    if matches!(a.output, GetOutput::Jsonl | GetOutput::Name) {
        return stream(source, &query, &decoder, a, out);
    }
    if let GetOutput::JsonPath(template) = &a.output {
        // A template addresses the whole List (`{.items[*].metadata.name}`): it is built.
        return collected(a, template, source, &query, &decoder, single, out);
    }
    // Tables, json and yaml are written as objects arrive: a table keeps its rows, a List is
    // written item by item, so memory does not grow with the objects' size.
    // With --at, AGE is measured from that time, as a listing made then would have shown it.
    let mut printer = Printer::new(a, &query.namespace, single, source, &decoder, at.map(|r| r.at.seconds))?;
    let mut findings = false;
    let mut bar = super::progress::Bar::new();
    // With --sort-by every object is held until the end, then sorted (as kubectl does).
    let sort_by = a.sort_by.as_deref().map(|s| s.trim().trim_start_matches('{').trim_end_matches('}').to_string());
    let mut held: Vec<(Found, Value)> = Vec::new();
    let summary = etcdscope::views::get::get_each_reporting(
        source,
        &query,
        &decoder,
        &mut |f| {
            warn(&f);
            match &f.object {
                Err(_) => findings = true,
                Ok(o) => match o.value() {
                    Ok(v) if sort_by.is_some() => held.push((f.clone(), v)),
                    Ok(v) => printer.add(&f, v, out).map_err(super::stdout_error)?,
                    Err(e) => {
                        say!("etcdscope: warning: {}: {e}", f.key);
                        findings = true;
                    }
                },
            }
            Ok(())
        },
        &mut |p| bar.update(p),
    )?;
    drop(bar);
    if let Some(expr) = &sort_by {
        let mut keyed = Vec::with_capacity(held.len());
        for (f, v) in held {
            let key = etcdscope::k8s::jsonpath::first(expr, &v).map_err(CliError::Usage)?.cloned();
            keyed.push((key, f, v));
        }
        keyed.sort_by(|a, b| sort_order(a.0.as_ref(), b.0.as_ref()));
        for (_, f, v) in keyed {
            printer.add(&f, v, out)?;
        }
    }
    findings |= say_not_found(&summary.not_found, a.ignore_not_found);
    findings |= say_refused(&summary.refused, a);
    let shown = printer.finish(out)?;
    if shown == 0 && summary.not_found.is_empty() && summary.refused.is_empty() && a.output.is_table() && !a.ignore_not_found {
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
fn stream(source: &Snapshot<'_>, query: &GetQuery, decoder: &Decoder, a: &GetArgs, out: &mut impl Write) -> CliResult {
    let jsonl = a.output == GetOutput::Jsonl;
    let mut findings = false;
    let mut bar = super::progress::Bar::new();
    let summary = etcdscope::views::get::get_each_reporting(
        source,
        query,
        decoder,
        &mut |f| {
            warn(&f);
            match &f.object {
                Err(_) => findings = true,
                Ok(o) if jsonl => {
                    out.write_all(o.as_str().as_bytes())
                        .and_then(|()| out.write_all(b"\n"))
                        .map_err(|e| etcdscope::Error::io(std::path::Path::new("<stdout>"), e))?;
                }
                Ok(o) => {
                    let v = o.value().unwrap_or_default();
                    // Escaped as a table cell: a name from the file must not reach the terminal raw.
                    let name = cell(v.pointer("/metadata/name").and_then(Value::as_str).unwrap_or(""));
                    writeln!(out, "{}/{name}", cell(&f.resource.qualified_singular()))
                        .map_err(|e| etcdscope::Error::io(std::path::Path::new("<stdout>"), e))?;
                }
            }
            Ok(())
        },
        &mut |p| bar.update(p),
    )?;
    drop(bar);
    findings |= say_not_found(&summary.not_found, a.ignore_not_found);
    findings |= say_refused(&summary.refused, a);
    Ok(if findings { EXIT_FINDINGS } else { EXIT_OK })
}

/// kubectl's message for each type whose API server would refuse the field selector (kubectl
/// sends the selector unparsed, so a text that does not parse is refused per type too; it lists
/// the other types and reports these after them); whether there was one. The API server names
/// the resource with its version, which a snapshot's catalogue does not know: the resource is
/// named as kubectl names it for a type (`pods`, `replicasets.apps`).
fn say_refused(refused: &[Refused], a: &GetArgs) -> bool {
    for r in refused {
        let what = r.resource.group_resource();
        say!(
            "Error from server (BadRequest): Unable to find {:?} that match label selector {:?}, field selector {:?}: {}",
            what,
            a.selector.as_deref().unwrap_or(""),
            a.field_selector.as_deref().unwrap_or(""),
            r.error
        );
    }
    !refused.is_empty()
}

/// kubectl's message for each name given that was not found; whether there was one. With
/// --ignore-not-found nothing is said and nothing found missing.
fn say_not_found(not_found: &[String], ignore: bool) -> bool {
    if ignore {
        return false;
    }
    for nf in not_found {
        say!("Error from server (NotFound): {nf}");
    }
    !not_found.is_empty()
}

fn warn(f: &Found) {
    if let Err(reason) = &f.object {
        say!("etcdscope: warning: {} (revision {}): not decoded: {reason}", f.key, f.mod_revision);
    }
    if !f.unknown_fields.is_empty() {
        say!("etcdscope: warning: {}: {} field(s) not in the schema: {}", f.key, f.unknown_fields.len(), f.unknown_fields.join(", "));
    }
}

fn list_keys(source: &Snapshot<'_>, rev: i64, a: &GetArgs, decoder: &Decoder, out: &mut impl Write) -> CliResult {
    use etcdscope::k8s::key::KeyClass;
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
    let jsonl = matches!(a.output, GetOutput::Json | GetOutput::Jsonl);
    let mut rows = vec![["KEY", "CLASS", "RESOURCE", "NAMESPACE", "NAME", "MOD-REV", "BYTES"].map(String::from).to_vec()];
    if a.no_headers {
        rows.clear();
    }
    etcdscope::views::get::list_keys_each(source, &a.etcd_prefix, rev, decoder, &super::interrupt::watch(), &mut |e| {
        let (class, resource, namespace, name) = describe(&e.class);
        if jsonl {
            let line = json!({"key": e.key, "class": class, "resource": resource, "namespace": namespace, "name": name, "modRevision": e.mod_revision, "valueBytes": e.value_len});
            let mut text = serde_json::to_vec(&line).unwrap_or_default();
            text.push(b'\n');
            out.write_all(&text).map_err(super::stdout_error)?;
        } else {
            rows.push(vec![cell(&e.key), class, cell(&resource), cell(&namespace), cell(&name), e.mod_revision.to_string(), e.value_len.to_string()]);
        }
        Ok(())
    })?;
    if !jsonl {
        out.write_all(table(&rows).as_bytes())?;
    }
    Ok(EXIT_OK)
}

fn raw_key(source: &Snapshot<'_>, key: &str, rev: i64, a: &GetArgs, decoder: &Decoder, out: &mut impl Write) -> CliResult {
    use etcdscope::views::kv_get::{get as kv_get, GetRequest};
    let req = GetRequest::range(etcdscope::etcd::KeyRange::single(key.as_bytes()), rev, super::interrupt::watch());
    let resp = kv_get(source, &req)?;
    let Some(kv) = resp.key_values().next().transpose()? else {
        if a.ignore_not_found {
            return Ok(EXIT_OK);
        }
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

pub fn write_json<T: serde::Serialize + ?Sized>(out: &mut impl Write, v: &T) -> std::io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, serde_json::ser::PrettyFormatter::with_indent(b"    "));
    serde::Serialize::serialize(v, &mut ser).map_err(std::io::Error::from)?;
    writeln!(out)
}

/// `-o jsonpath=…`: every object is collected into the List the template addresses.
fn collected(a: &GetArgs, template: &str, source: &Snapshot<'_>, query: &GetQuery, decoder: &Decoder, single: bool, out: &mut impl Write) -> CliResult {
    let result = get(source, query, decoder)?;
    let mut findings = false;
    let mut items = Vec::new();
    for f in &result.items {
        warn(f);
        findings |= f.object.is_err();
        if let Ok(o) = &f.object {
            match o.value() {
                Ok(v) => items.push(v),
                Err(e) => {
                    say!("etcdscope: warning: {}: {e}", f.key);
                    findings = true;
                }
            }
        }
    }
    findings |= say_not_found(&result.not_found, a.ignore_not_found);
    findings |= say_refused(&result.refused, a);
    if items.is_empty() && a.ignore_not_found {
        // kubectl prints nothing at all when nothing was found and that is to be ignored.
        return Ok(if findings { EXIT_FINDINGS } else { EXIT_OK });
    }
    let target = if single && items.len() == 1 { items.remove(0) } else { list_of(items) };
    write!(out, "{}", etcdscope::k8s::jsonpath::render(template, &target).map_err(CliError::Usage)?)?;
    Ok(if findings { EXIT_FINDINGS } else { EXIT_OK })
}

fn list_of(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}})
}

/// kubectl's --sort-by order: missing values first, numbers by value, text by bytes, and
/// anything else by its JSON text.
fn sort_order(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
    }
}

/// The printers that take objects one at a time.
enum Printer {
    /// `TYPE NAME` in json or yaml: the object itself when found (at most one).
    Single {
        yaml: bool,
        object: Option<Value>,
        /// --ignore-not-found: nothing at all is printed when nothing was found, as kubectl.
        ignore_not_found: bool,
    },
    /// A `kind: List`, its items written as they come.
    List {
        yaml: bool,
        items: usize,
        ignore_not_found: bool,
    },
    Tables(Tables),
    /// `-o custom-columns=HEADER:.path,…`: one table over every type.
    Custom {
        columns: Vec<(String, String)>,
        rows: Vec<Vec<String>>,
        no_headers: bool,
    },
}

impl Printer {
    fn new(a: &GetArgs, ns: &Namespace, single: bool, snap: &Snapshot<'_>, decoder: &Decoder, at: Option<i64>) -> Result<Printer, CliError> {
        let ignore_not_found = a.ignore_not_found;
        Ok(match &a.output {
            GetOutput::Json | GetOutput::Yaml if single => Printer::Single { yaml: a.output == GetOutput::Yaml, object: None, ignore_not_found },
            GetOutput::Json | GetOutput::Yaml => Printer::List { yaml: a.output == GetOutput::Yaml, items: 0, ignore_not_found },
            GetOutput::Table | GetOutput::Wide => Printer::Tables(Tables::new(a, ns, snap, decoder, at)?),
            GetOutput::CustomColumns(spec) => Printer::Custom { columns: custom_columns(spec)?, rows: Vec::new(), no_headers: a.no_headers },
            other => return Err(CliError::Usage(format!("unable to match a printer suitable for the output format \"{}\"", other.given()))),
        })
    }

    fn add(&mut self, f: &Found, v: Value, out: &mut impl Write) -> std::io::Result<()> {
        match self {
            Printer::Single { object, .. } => *object = Some(v),
            Printer::List { yaml, items, .. } => {
                if *items == 0 {
                    out.write_all(if *yaml { b"apiVersion: v1\nitems:\n" } else { b"{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n" })?;
                } else if !*yaml {
                    out.write_all(b",\n")?;
                }
                *items += 1;
                if *yaml {
                    out.write_all(yaml_list_item(&etcdscope::k8s::yaml::to_yaml(&v)).as_bytes())?;
                } else {
                    out.write_all(json_list_item(&v).as_bytes())?;
                }
            }
            Printer::Tables(t) => t.add(f, &v),
            Printer::Custom { columns, rows, .. } => rows.push(
                columns
                    .iter()
                    .map(|(_, path)| match etcdscope::k8s::jsonpath::eval_all(path, &v) {
                        Ok(values) if !values.is_empty() => values
                            .iter()
                            .map(|x| match x {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            })
                            .collect::<Vec<_>>()
                            .join(","),
                        _ => "<none>".into(),
                    })
                    .collect(),
            ),
        }
        Ok(())
    }

    /// Writes what is left; returns how many objects were printed.
    fn finish(self, out: &mut impl Write) -> Result<usize, CliError> {
        Ok(match self {
            Printer::Single { object: None, ignore_not_found: true, .. } | Printer::List { items: 0, ignore_not_found: true, .. } => 0,
            Printer::Single { yaml, object, .. } => {
                let shown = usize::from(object.is_some());
                let v = object.unwrap_or_else(|| list_of(Vec::new()));
                if yaml {
                    out.write_all(etcdscope::k8s::yaml::to_yaml(&v).as_bytes())?;
                } else {
                    write_json(out, &v)?;
                }
                shown
            }
            Printer::List { yaml, items, .. } => {
                let tail: &[u8] = match (yaml, items) {
                    (true, 0) => b"apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: \"\"\n",
                    (true, _) => b"kind: List\nmetadata:\n  resourceVersion: \"\"\n",
                    (false, 0) => b"{\n    \"apiVersion\": \"v1\",\n    \"items\": [],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n",
                    (false, _) => b"\n    ],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n",
                };
                out.write_all(tail)?;
                items
            }
            Printer::Tables(t) => {
                let shown = t.rows;
                out.write_all(t.render().as_bytes())?;
                shown
            }
            Printer::Custom { columns, rows, no_headers } => {
                let shown = rows.len();
                if shown > 0 {
                    let mut table = if no_headers { Vec::new() } else { vec![columns.iter().map(|(h, _)| h.clone()).collect::<Vec<_>>()] };
                    table.extend(rows);
                    out.write_all(kubectl_printed(&table).as_bytes())?;
                }
                shown
            }
        })
    }
}

/// `HEADER:.path,HEADER2:{.path}` as kubectl takes custom columns.
fn custom_columns(spec: &str) -> Result<Vec<(String, String)>, CliError> {
    spec.split(',')
        .filter(|c| !c.is_empty())
        .map(|c| {
            let (head, path) = c.split_once(':').ok_or_else(|| CliError::Usage(format!("custom-columns: {c:?} is not HEADER:JSONPATH")))?;
            let path = path.trim().trim_start_matches('{').trim_end_matches('}');
            etcdscope::k8s::jsonpath::eval_all(path, &Value::Null).map_err(|e| CliError::Usage(format!("custom-columns {head}: {e}")))?;
            Ok((head.to_string(), path.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()
        .and_then(|c| if c.is_empty() { Err(CliError::Usage("custom-columns: no columns given".into())) } else { Ok(c) })
}

/// One item of a JSON `kind: List` as `write_json` would indent it inside the list.
pub fn json_list_item<T: serde::Serialize + ?Sized>(v: &T) -> String {
    let mut text = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut text, serde_json::ser::PrettyFormatter::with_indent(b"    "));
    let _ = serde::Serialize::serialize(v, &mut ser);
    let text = String::from_utf8(text).unwrap_or_default();
    format!("        {}", text.replace('\n', "\n        "))
}

/// One item of a YAML `kind: List`, from the item's own YAML: `- ` before its first line, two
/// spaces before the others (empty lines stay empty, as the emitter writes them).
pub fn yaml_list_item(item: &str) -> String {
    let mut out = String::with_capacity(item.len() + item.len() / 16);
    for (i, line) in item.lines().enumerate() {
        out.push_str(if i == 0 {
            "- "
        } else if line.is_empty() {
            ""
        } else {
            "  "
        });
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// One table per resource type, in the order first seen, as kubectl prints several types;
/// rows are kept, objects are not, and ages are computed once every row is in.
struct Tables {
    wide: bool,
    with_ns_scope: bool,
    no_headers: bool,
    /// -L: label keys shown as columns after the type's own.
    label_columns: Vec<String>,
    /// --show-labels: a LABELS column last.
    show_labels: bool,
    /// --now, else the snapshot's clock ([`etcdscope::views::clock`]), for every AGE.
    now: Option<i64>,
    /// Where the clock was read, said once on stderr when the table is printed.
    clock: Option<etcdscope::views::clock::SnapshotTime>,
    /// Without --now and without any time in the keyspace: the newest creation listed.
    newest: i64,
    groups: Vec<(etcdscope::k8s::resources::ResourceInfo, Vec<Vec<Cell>>)>,
    rows: usize,
}

impl Tables {
    fn new(a: &GetArgs, ns: &Namespace, snap: &Snapshot<'_>, decoder: &Decoder, at: Option<i64>) -> Result<Tables, CliError> {
        let (now, clock) = match (&a.now, at) {
            (Some(t), _) => (Some(etcdscope::views::clock::parse_rfc3339(t).ok_or_else(|| CliError::Usage(format!("--now {t}: not an RFC 3339 time")))?), None),
            (None, Some(at)) => (Some(at), None),
            (None, None) => {
                let clock = etcdscope::views::clock::snapshot_time(snap, decoder, &a.etcd_prefix, &super::interrupt::watch())?;
                (clock.as_ref().map(|c| c.seconds), clock)
            }
        };
        Ok(Tables {
            wide: a.output == GetOutput::Wide,
            with_ns_scope: *ns == Namespace::All,
            no_headers: a.no_headers,
            label_columns: a.label_columns.clone(),
            show_labels: a.show_labels,
            now,
            clock,
            newest: 0,
            groups: Vec::new(),
            rows: 0,
        })
    }

    fn add(&mut self, f: &Found, o: &Value) {
        let created = created(o);
        self.newest = self.newest.max(created.unwrap_or(0));
        let info = &f.resource;
        let at = match self.groups.iter().position(|(i, _)| i.key_prefix == info.key_prefix) {
            Some(at) => at,
            None => {
                self.groups.push((info.clone(), Vec::new()));
                self.groups.len() - 1
            }
        };
        let mut row = etcdscope::views::table::table_row(info, o, self.wide);
        row.extend(label_cells(o, &self.label_columns, self.show_labels).into_iter().map(Cell::Text));
        if self.with_ns_scope && info.namespaced {
            row.insert(0, Cell::Text(o.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("").to_string()));
        }
        self.groups[at].1.push(row);
        self.rows += 1;
    }

    fn render(self) -> String {
        let now = self.now.unwrap_or(self.newest);
        if let (Some(c), true) = (&self.clock, self.rows > 0) {
            say!(
                "note: AGE is measured from {}, the snapshot's time as its newest timestamp shows ({} of {}); --now to change",
                c.text,
                c.field,
                printable_key(&c.key)
            );
        }
        let several = self.groups.len() > 1;
        let mut text = String::new();
        for (info, rows) in self.groups {
            let with_ns = self.with_ns_scope && info.namespaced;
            let mut header: Vec<String> = etcdscope::views::table::table_columns(&info, self.wide).into_iter().map(|c| c.name).collect();
            header.extend(label_headers(&self.label_columns, self.show_labels));
            if with_ns {
                header.insert(0, "NAMESPACE".into());
            }
            let name_at = usize::from(with_ns);
            let mut table = if self.no_headers { Vec::new() } else { vec![header] };
            for row in rows {
                let mut cells: Vec<String> = row.into_iter().map(|c| c.show(now)).collect();
                if several {
                    cells[name_at] = format!("{}/{}", info.qualified_singular(), cells[name_at]);
                }
                table.push(cells);
            }
            // kubectl separates the types' tables by an empty line only when they have headers.
            if !text.is_empty() && !self.no_headers {
                text.push('\n');
            }
            text.push_str(&kubectl_printed(&table));
        }
        text
    }
}

/// kubectl's names for the label columns (cli-runtime, pkg/printers/tableprinter.go: -L keys
/// are named by their last `/`-separated segment, upper-cased; --show-labels adds LABELS last).
fn label_headers(keys: &[String], show_labels: bool) -> Vec<String> {
    let mut headers: Vec<String> = keys.iter().map(|k| k.rsplit('/').next().unwrap_or(k).to_uppercase()).collect();
    if show_labels {
        headers.push("LABELS".into());
    }
    headers
}

/// The label cells of one object, as kubectl fills them: each -L key's value (empty when the
/// object lacks it), then for --show-labels every label as `key=value` sorted by key and joined
/// with commas, `<none>` when there is none (apimachinery's labels.FormatLabels).
fn label_cells(o: &Value, keys: &[String], show_labels: bool) -> Vec<String> {
    let labels = o.pointer("/metadata/labels").and_then(Value::as_object);
    let value = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str).unwrap_or("").to_string();
    let mut cells: Vec<String> = keys.iter().map(|k| value(k)).collect();
    if show_labels {
        let mut pairs: Vec<(&String, &str)> = labels.map(|l| l.iter().map(|(k, v)| (k, v.as_str().unwrap_or(""))).collect()).unwrap_or_default();
        pairs.sort();
        let all = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
        cells.push(if all.is_empty() { "<none>".into() } else { all });
    }
    cells
}

fn created(o: &Value) -> Option<i64> {
    o.pointer("/metadata/creationTimestamp").and_then(Value::as_str).and_then(etcdscope::views::clock::parse_rfc3339)
}
