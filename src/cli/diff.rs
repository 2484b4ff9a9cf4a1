//! `etcdscope diff OLD NEW`: what restoring OLD over a cluster now at NEW would do. The table
//! gives the counts per resource, the keys of each class and the restore hazards; `-o json`
//! one document. `--fail-on` turns chosen classes into exit code 1, for pre-restore gates.

use super::format::{cell, kubectl_table, printable_key, table};
use super::history::summarize_with;
use super::{CliError, CliResult, EXIT_FINDINGS, EXIT_OK};
use clap::{Args, ValueEnum};
use etcdscope::k8s::fields::Change;
use etcdscope::snapshot::Snapshot;
use etcdscope::source::{InputKind, Source};
use etcdscope::views::cluster::{cluster_id, different_clusters};
use etcdscope::views::diff::{diff_reporting, Class, Counts, DiffEntry, DiffQuery, DiffResult, InputSummary, Side, NON_OBJECT_GROUP};
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct DiffArgs {
    /// The snapshot (file, member dir or data dir) a restore would bring back.
    old: PathBuf,
    /// The cluster as it is now (the same input as OLD, with --rev-old/--rev-new, compares two
    /// revisions of one keyspace).
    new: PathBuf,
    /// Only objects of these types (kubectl names: pods, deploy, cm, widgets.example.com, …).
    types: Vec<String>,
    /// Read OLD at this revision (default: its current revision).
    #[arg(long, default_value_t = 0)]
    rev_old: i64,
    /// Read NEW at this revision (default: its current revision).
    #[arg(long, default_value_t = 0)]
    rev_new: i64,
    /// Only objects in this namespace.
    #[arg(short = 'n', long, conflicts_with = "all_namespaces")]
    namespace: Option<String>,
    /// Every namespace (the default).
    #[arg(short = 'A', long)]
    all_namespaces: bool,
    /// Also list rewritten keys, and every changed field of each reverted object.
    #[arg(long)]
    details: bool,
    /// Output format.
    #[arg(short = 'o', long, value_name = "FORMAT", value_enum, default_value_t = Format::Table)]
    output: Format,
    /// Exit 1 when any key falls in one of these classes (lost, reappear, revert, rewritten,
    /// unchanged), or when any restore hazard is found (hazard).
    #[arg(long, value_delimiter = ',')]
    fail_on: Vec<String>,
    /// Compare inputs that belong to different clusters (refused otherwise, exit 2).
    #[arg(long)]
    allow_different_clusters: bool,
    #[command(flatten)]
    compare: super::decoding::CompareArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

pub fn run(a: &DiffArgs, out: &mut impl Write) -> CliResult {
    let mut fail_classes = Vec::new();
    let mut fail_on_hazard = false;
    for c in &a.fail_on {
        match (c.as_str(), Class::parse(c)) {
            ("hazard" | "hazards", _) => fail_on_hazard = true,
            (_, Some(class)) => fail_classes.push(class),
            _ => return Err(CliError::Usage(format!("--fail-on: unknown class {c:?} (lost, reappear, revert, rewritten, unchanged, hazard)"))),
        }
    }
    let decoder = a.compare.decoding.decoder_for(&a.compare.etcd_prefix)?;
    let query = DiffQuery {
        rev_old: a.rev_old,
        rev_new: a.rev_new,
        types: a.types.iter().flat_map(|t| t.split(',')).filter(|t| !t.is_empty()).map(String::from).collect(),
        namespace: a.namespace.clone(),
        etcd_prefix: a.compare.etcd_prefix.clone(),
        all_fields: a.compare.all_fields,
        cancel: super::interrupt::watch(),
    };
    let (old_source, new_source) = (Source::open(&a.old)?, Source::open(&a.new)?);
    let (old, new) = (Snapshot::open(&old_source)?, Snapshot::open(&new_source)?);
    let ids = [("OLD", cluster_id(&old)), ("NEW", cluster_id(&new))];
    if let (Some(mismatch), false) = (different_clusters(&ids), a.allow_different_clusters) {
        return Err(CliError::Usage(format!("{mismatch}; pass --allow-different-clusters to compare them anyway")));
    }
    let mut bar = super::progress::Bar::new();
    let result = diff_reporting(&old, &new, &query, &decoder, &mut |p| bar.update(p))?;
    drop(bar);
    for w in result.warnings() {
        say!("etcdscope: warning: {w}");
    }
    for e in &result.entries {
        if let Some(Err(reason)) = &e.changes {
            say!("etcdscope: warning: {}: fields not compared: {reason}", printable_key(&e.key));
        }
    }
    match a.output {
        Format::Json => {
            write_json(&result, out)?;
        }
        Format::Table => out.write_all(render(&result, a.details).as_bytes())?,
    }
    let total = total(&result);
    let failed = fail_classes.iter().any(|c| total.get(*c) > 0) || (fail_on_hazard && !result.hazards.is_empty());
    Ok(if failed { EXIT_FINDINGS } else { EXIT_OK })
}

fn total(r: &DiffResult) -> Counts {
    r.summary.values().fold(Counts::default(), |t, c| Counts {
        lost: t.lost + c.lost,
        reappear: t.reappear + c.reappear,
        revert: t.revert + c.revert,
        rewritten: t.rewritten + c.rewritten,
        unchanged: t.unchanged + c.unchanged,
    })
}

fn kind_label(k: InputKind) -> &'static str {
    match k {
        InputKind::Snapshot => "snapshot file",
        InputKind::Db => "bbolt db file",
        InputKind::MemberDir => "member dir",
        InputKind::DataDir => "data dir",
    }
}

fn input_line(label: &str, s: &InputSummary) -> Vec<String> {
    let at =
        if s.revision == s.current_revision { format!("revision {}", s.revision) } else { format!("revision {} (current {})", s.revision, s.current_revision) };
    let compacted = if s.compact_revision > 0 { format!(", compacted at {}", s.compact_revision) } else { String::new() };
    let cluster = s.cluster_id.map(|id| format!(", cluster {id:x}")).unwrap_or_default();
    vec![label.into(), format!("{} ({})", s.input, kind_label(s.kind)), format!("{at}{compacted}, {} keys{cluster}", s.keys)]
}

fn render(r: &DiffResult, details: bool) -> String {
    let covered = match &r.namespaces {
        etcdscope::views::history::Covered::All => "all (-n NS for one)".to_string(),
        one => cell(one.as_str()),
    };
    let mut text = table(&[input_line("OLD", &r.old), input_line("NEW", &r.new), vec!["NAMESPACES".into(), covered, String::new()]]);
    text.push('\n');
    let mut rows = vec![["RESOURCE", "LOST", "REAPPEAR", "REVERT", "REWRITTEN", "UNCHANGED"].map(String::from).to_vec()];
    let count_row = |name: &str, c: &Counts| {
        let mut row = vec![name.to_string()];
        row.extend(Class::ALL.iter().map(|k| c.get(*k).to_string()));
        row
    };
    // Resources in name order, keys that are not objects last.
    let (others, objects): (Vec<_>, Vec<_>) = r.summary.iter().partition(|(g, _)| g.as_str() == NON_OBJECT_GROUP);
    for (group, c) in objects.into_iter().chain(others) {
        rows.push(count_row(group, c));
    }
    rows.push(count_row("TOTAL", &total(r)));
    text.push_str(&kubectl_table(&rows));
    let sections = [
        (Class::Lost, "LOST: in NEW, not in OLD; the restore deletes them"),
        (Class::Reappear, "REAPPEAR: in OLD, deleted in NEW; the restore brings them back"),
        (Class::Revert, "REVERT: in both, different values; the restore rolls NEW's value back to OLD's (changes shown NEW → OLD)"),
        (Class::Rewritten, "REWRITTEN: same value, written again since OLD (no change after the restore)"),
    ];
    for (class, title) in sections {
        if class == Class::Rewritten && !details {
            continue;
        }
        let entries: Vec<&DiffEntry> = r.entries.iter().filter(|e| e.class == class).collect();
        if entries.is_empty() {
            continue;
        }
        text.push_str(&format!("\n{title}\n"));
        text.push_str(&entry_table(&entries, class));
        if class == Class::Revert && details {
            for e in entries.iter().filter(|e| matches!(&e.changes, Some(Ok(c)) if !c.is_empty())) {
                let Some(Ok(changes)) = &e.changes else { continue };
                text.push_str(&format!("\n{}\n", name_of(e)));
                for c in changes {
                    text.push_str(&format!("    {}\n", summarize_with(std::slice::from_ref(&reversed(c)), usize::MAX, 200)));
                }
            }
        }
    }
    text.push_str(&hazards_text(r));
    text
}

/// A change as the restore makes it: from NEW's value to OLD's.
fn reversed(c: &Change) -> Change {
    Change { path: c.path.clone(), old: c.new.clone(), new: c.old.clone() }
}

fn name_of(e: &DiffEntry) -> String {
    match &e.object {
        Some(id) => id_name(id),
        None => printable_key(&e.key),
    }
}

/// `pod/web -n team-a`, escaped for a terminal.
fn id_name(id: &etcdscope::k8s::key::ObjectId) -> String {
    match &id.namespace {
        Some(ns) => format!("{} -n {}", cell(&id.kubectl_name()), cell(ns)),
        None => cell(&id.kubectl_name()),
    }
}

fn entry_table(entries: &[&DiffEntry], class: Class) -> String {
    let mut header = vec!["NAMESPACE", "NAME"];
    match class {
        Class::Lost => header.extend(["CREATED", "MODIFIED"]),
        Class::Reappear => header.extend(["CREATED", "MODIFIED"]),
        Class::Revert => header.extend(["OLD MOD", "NEW MOD", "PARTS", "CHANGES"]),
        _ => header.extend(["OLD MOD", "NEW MOD"]),
    }
    let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    let rev = |s: &Option<Side>, f: fn(&Side) -> i64| s.as_ref().map(|s| f(s).to_string()).unwrap_or_else(|| "-".into());
    for e in entries {
        let (ns, name) = match &e.object {
            Some(id) => (id.namespace.as_deref().map(cell).unwrap_or_else(|| "-".into()), cell(&id.kubectl_name())),
            None => ("-".into(), printable_key(&e.key)),
        };
        let mut row = vec![ns, name];
        match class {
            Class::Lost => row.extend([rev(&e.new, |s| s.create_revision), rev(&e.new, |s| s.mod_revision)]),
            Class::Reappear => row.extend([rev(&e.old, |s| s.create_revision), rev(&e.old, |s| s.mod_revision)]),
            Class::Revert => {
                let recreated = match (&e.old, &e.new) {
                    (Some(o), Some(n)) if o.create_revision != n.create_revision => "recreated since OLD; ",
                    _ => "",
                };
                let (parts, changes) = match &e.changes {
                    Some(Ok(c)) if c.is_empty() => ("-".to_string(), "no field differs (managedFields or resourceVersion only)".to_string()),
                    Some(Ok(c)) => (e.parts.join(","), summarize_with(&c.iter().map(reversed).collect::<Vec<_>>(), 3, 32)),
                    Some(Err(_)) => ("?".into(), "not decodable".into()),
                    None => ("-".into(), value_change(e)),
                };
                let changes = format!("{recreated}{changes}");
                row.extend([rev(&e.old, |s| s.mod_revision), rev(&e.new, |s| s.mod_revision), parts, changes]);
            }
            _ => row.extend([rev(&e.old, |s| s.mod_revision), rev(&e.new, |s| s.mod_revision)]),
        }
        rows.push(row);
    }
    kubectl_table(&rows)
}

fn value_change(e: &DiffEntry) -> String {
    match (&e.old, &e.new) {
        (Some(o), Some(n)) => format!("value {} B → {} B", n.value_size, o.value_size),
        _ => String::new(),
    }
}

fn hazards_text(r: &DiffResult) -> String {
    let (h, old, new) = (&r.hazards, &r.old, &r.new);
    let unread = match h.unreadable {
        [0, 0] => String::new(),
        [o, n] => format!(
            "  note: {o} object(s) of OLD and {n} of NEW could not be read (encrypted without --encryption-config, or \
             undecodable); orphans and pods on missing nodes are found without them\n"
        ),
    };
    if h.is_empty() {
        return format!("\nHAZARDS: none found\n{unread}");
    }
    /// Groups, and names within a group, shown before "and N more".
    const SHOWN: usize = 20;
    const NAMES: usize = 5;
    let names = |keys: &[Vec<u8>]| {
        let mut shown: Vec<String> = keys.iter().take(NAMES).map(|k| object_name(r, k)).collect();
        if keys.len() > NAMES {
            shown.push(format!("+{} more", keys.len() - NAMES));
        }
        shown.join(", ")
    };
    let more = |t: &mut String, n: usize, what: &str| {
        if n > SHOWN {
            t.push_str(&format!("    … and {} more {what} (-o json lists them all)\n", n - SHOWN));
        }
    };
    let mut t = format!("\nHAZARDS\n{unread}");
    if let Some(back) = h.revision_rewind {
        t.push_str(&format!(
            "  revision goes back: OLD is at revision {}, NEW at {}; after the restore every watcher and informer \
             that saw NEW would see revisions go backwards by {back} (and may miss changes). Restore with the revision \
             bumped past NEW's and the old revisions marked compacted, so clients re-list: `etcdscope rebuild {} --out DIR \
             --bump-revision N --mark-compacted` with N > {back}, plus a margin for writes made after NEW was read (or \
             `etcdutl snapshot restore` with the same flags, in etcdutl releases after 3.5.1).\n",
            old.revision,
            new.revision,
            shell_word(&old.input)
        ));
    }
    if !h.orphans.is_empty() {
        let n: usize = h.orphans.iter().map(|o| o.dependents.len()).sum();
        t.push_str(&format!(
            "  orphans: {n} object(s) in OLD are owned by objects OLD does not have; the garbage collector would delete them after the restore\n"
        ));
        for o in h.orphans.iter().take(SHOWN) {
            let whose = if o.owner_in_new { "in NEW, not in OLD (the restore deletes it)" } else { "in neither OLD nor NEW" };
            t.push_str(&format!("    {} {} (uid {}), {whose}, owns: {}\n", cell(&o.owner_kind), cell(&o.owner_name), cell(&o.owner_uid), names(&o.dependents)));
        }
        more(&mut t, h.orphans.len(), "owners");
    }
    if !h.stranded_pods.is_empty() {
        let n: usize = h.stranded_pods.iter().map(|p| p.pods.len()).sum();
        t.push_str(&format!("  pods on missing nodes: {n} pod(s) in OLD are bound to nodes OLD has no Node for\n"));
        for p in h.stranded_pods.iter().take(SHOWN) {
            let why = if p.node_in_new { "in NEW, not in OLD (the restore deletes it until its kubelet registers again)" } else { "in neither OLD nor NEW" };
            t.push_str(&format!("    node {}, {why}: {}\n", cell(&p.node), names(&p.pods)));
        }
        more(&mut t, h.stranded_pods.len(), "nodes");
    }
    for l in h.leases_back.iter().take(SHOWN) {
        t.push_str(&format!(
            "  lease back: {:016x} (TTL {}s) is in OLD but gone in NEW (expired or revoked); the restore grants it again and \
             its {} key(s) come back until it expires: {}\n",
            l.id as u64,
            l.ttl,
            l.keys.len(),
            names(&l.keys)
        ));
    }
    more(&mut t, h.leases_back.len(), "leases");
    t
}

/// A path as one shell word, quoted as the rebuild start command quotes (shlex), then escaped
/// like every other text from the input that reaches a terminal.
fn shell_word(s: &str) -> String {
    cell(&shlex::try_quote(s).unwrap_or(std::borrow::Cow::Borrowed(s)))
}

/// `pod/web -n team-a` for an object key, the key itself otherwise.
fn object_name(r: &DiffResult, key: &[u8]) -> String {
    match r.identify(key) {
        Some(id) => id_name(&id),
        None => printable_key(key),
    }
}

/// The JSON document: the view's typed report, pretty-printed as it is serialized (entries are
/// never all held as JSON at once).
fn write_json(r: &DiffResult, out: &mut impl Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &r.report()).map_err(std::io::Error::from)?;
    out.write_all(b"\n")
}
