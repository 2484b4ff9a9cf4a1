//! The fuzz targets: one function per target, each taking the fuzzer's bytes and driving one
//! part of etcdscope with them. The only oracle is that nothing panics (or aborts, or hangs):
//! results and errors are ignored, since every input is expected to be either read or refused
//! with an error.
//!
//! This module has no dependency but etcdscope and std, so the AFL binaries (fuzz/src/bin/) and
//! the main crate's replay test (tests/fuzz_replay.rs, which includes this file by path) run the
//! very same code. See docs/fuzzing.md.

#![allow(dead_code)]

pub mod bolt_builder;
pub mod etcd_builder;
pub mod recipe;
pub mod sql;
pub mod wal_builder;

use etcdscope::bolt::{self, tree::Bucket, Db};
use etcdscope::etcd::{self, Backend, KeyRange, Store};
use etcdscope::k8s::decoder::{DecodeOptions, Decoded, Decoder};
use etcdscope::k8s::encryption::EncryptionConfig;
use etcdscope::k8s::envelope::{classify, Value as Stored};
use etcdscope::k8s::key::{normalize_prefix, Catalog};
use etcdscope::k8s::schema::Schemas;
use etcdscope::snapshot::Snapshot;
use etcdscope::source::Source;
use etcdscope::views;
use recipe::Recipe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub type Target = fn(&[u8]);

/// Every target, by the name of its binary, corpus and crash directories.
pub const TARGETS: &[(&str, Target)] = &[
    ("bolt_raw", bolt_raw),
    ("bolt", bolt),
    ("mvcc", mvcc),
    ("wal_raw", wal_raw),
    ("wal", wal),
    ("wal_record", wal_record),
    ("protowire", protowire),
    ("k8s_protobuf", k8s_protobuf),
    ("envelope", envelope),
    ("registry_key", registry_key),
    ("encryption_config", encryption_config),
    ("diff", diff),
    ("export_rows", export_rows),
    ("rebuild", rebuild),
    ("export_fill", sql::export_fill),
    ("query", sql::query),
    ("salvage", salvage),
    ("compare", compare),
    ("analyze", analyze),
    ("serve_request", serve_request),
];

/// Inputs are cut to this size, so one run stays in milliseconds.
pub const MAX_INPUT: usize = 1 << 20;

fn bounded(data: &[u8]) -> &[u8] {
    &data[..data.len().min(MAX_INPUT)]
}

// ---------------------------------------------------------------------------------------------
// Shared state: decoders (the embedded schemas are decoded once per process) and a scratch dir
// for the entry points that read paths.

/// The EncryptionConfiguration whose keys the generated encrypted values use.
pub const ENCRYPTION_CONFIG: &str = "apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets, configmaps]
    providers:
      - aescbc:
          keys:
            - name: key1
              secret: AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=
      - aesgcm:
          keys:
            - name: key2
              secret: AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=
      - secretbox:
          keys:
            - name: key3
              secret: AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=
      - kms:
          apiVersion: v2
          name: kms-provider
          endpoint: unix:///var/run/kms.sock
      - identity: {}
  - resources: ['*.*']
    providers:
      - aesgcm:
          keys:
            - name: 'key:with:colons'
              secret: AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=
      - identity: {}
";

fn schemas_decoder(encryption: Option<EncryptionConfig>, options: DecodeOptions) -> Decoder {
    Decoder { schemas: Schemas::embedded().expect("embedded schemas load"), options, encryption, etcd_prefix: "/registry".into() }
}

/// A decoder without keys (`keys` false) or holding [`ENCRYPTION_CONFIG`]'s keys; the second
/// also shows secrets and unknown fields, so both sides of those options run.
pub fn decoder(keys: bool) -> &'static Decoder {
    static PLAIN: OnceLock<Decoder> = OnceLock::new();
    static KEYED: OnceLock<Decoder> = OnceLock::new();
    if keys {
        KEYED.get_or_init(|| {
            let config = EncryptionConfig::from_yaml(ENCRYPTION_CONFIG).expect("the fuzz EncryptionConfiguration parses");
            schemas_decoder(Some(config), DecodeOptions { show_secrets: true, show_unknown: true })
        })
    } else {
        PLAIN.get_or_init(|| schemas_decoder(None, DecodeOptions::default()))
    }
}

/// Every message of the embedded schemas, for the renderer target to pick from.
fn messages() -> &'static [prost_reflect::MessageDescriptor] {
    static ALL: OnceLock<Vec<prost_reflect::MessageDescriptor>> = OnceLock::new();
    ALL.get_or_init(|| decoder(false).schemas.pool().all_messages().collect())
}

/// Full names of the messages [`k8s_protobuf`] picks from, in its order (for seeds).
pub fn messages_for_seeds() -> Vec<String> {
    messages().iter().map(|m| m.full_name().to_string()).collect()
}

/// A directory of this thread's own, removed when the thread ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

thread_local! {
    static SCRATCH: Scratch = {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!("etcdscope-fuzz-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
        let _ = std::fs::create_dir_all(&dir);
        Scratch(dir)
    };
}

fn scratch() -> PathBuf {
    SCRATCH.with(|s| s.0.clone())
}

/// Writes `files` (relative paths) under a fresh directory in the scratch dir and returns it.
fn write_tree(name: &str, files: &[(PathBuf, &[u8])]) -> Option<PathBuf> {
    let root = scratch().join(name);
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).ok()?;
    for (rel, bytes) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent()?).ok()?;
        std::fs::write(&path, bytes).ok()?;
    }
    Some(root)
}

fn file_name() -> Arc<Path> {
    Arc::from(Path::new("fuzz.db"))
}

// ---------------------------------------------------------------------------------------------
// bbolt

/// Entries visited per input across every walk, so a file whose pages are shared by many
/// parents costs the harness no more than a sound one.
const VISIT_BUDGET: usize = 4_000;

/// Everything the library reads from a bbolt file: metas, freelist, space accounting, and
/// every bucket walked forward, backward, by seek and by cursor steps.
fn exercise_db(db: &Db<'_>) {
    let _ = db.meta_choice().reason();
    let _ = (db.size(), db.page_size(), db.high_water_mark());
    let _ = bolt::freelist::read_freelist(db);
    let _ = bolt::space::measure(db);
    let mut budget = VISIT_BUDGET;
    visit_bucket(db, &db.root(), 0, &mut budget);
    let _ = db.page(db.high_water_mark().saturating_sub(1));
    let _ = db.node(2);
}

fn visit_bucket(db: &Db<'_>, bucket: &Bucket<'_>, depth: usize, budget: &mut usize) {
    if *budget == 0 || depth > 4 {
        return;
    }
    let mut seen = bolt::walk::PageSet::new(db.high_water_mark().min(1 << 20));
    let mut stats = bolt::walk::TreeStats::default();
    let _ = bolt::walk::walk_bucket(db, bucket, &mut seen, &mut stats, true);
    let mut keys = Vec::new();
    for entry in bucket.iter(db) {
        let Ok(entry) = entry else { break };
        *budget = budget.saturating_sub(1);
        if *budget == 0 {
            return;
        }
        if keys.len() < 8 {
            keys.push(entry.key());
        }
        if entry.is_bucket() {
            if let Ok(child) = Bucket::from_element(db, entry.page, &entry.element) {
                let _ = child.is_inline();
                visit_bucket(db, &child, depth + 1, budget);
            }
        }
    }
    for entry in bucket.iter_rev(db).take(64) {
        *budget = budget.saturating_sub(1);
        if entry.is_err() || *budget == 0 {
            break;
        }
    }
    for key in &keys {
        let _ = bucket.get(db, key);
        let _ = bucket.bucket(db, key);
        let mut longer = key.to_vec();
        longer.push(0);
        let _ = bucket.iter_from(db, &longer).take(2).count();
    }
    let mut c = bucket.cursor(db);
    let _ = c.load_budget();
    let _ = c.last();
    let _ = c.prev();
    let _ = c.next();
    let _ = c.next();
    let _ = c.first();
    let _ = c.prev();
    let _ = c.seek(b"");
    let _ = c.seek(b"\xff\xff\xff");
    let _ = c.next();
}

/// The etcd layer over a bbolt file: buckets, meta, members, leases, the snapshot hash, and the
/// MVCC store (revisions, ranges at a few revisions, history counts).
fn exercise_backend(db: Db<'_>) {
    let backend = Backend::new(db);
    if let Ok(buckets) = backend.buckets() {
        for (name, bucket) in &buckets {
            let _ = (etcd::backend::describe_bucket(name), bucket.is_inline());
        }
    }
    let _ = backend.entries(etcd::backend::META);
    let _ = etcd::meta::read_meta(&backend);
    let _ = etcd::members::read_membership(&backend).map(|m| m.cluster_id());
    let _ = etcd::lease::read_leases(&backend);
    let _ = etcd::hash::space_hash_and_counts(&backend);
    let Ok(store) = Store::open(backend) else { return };
    exercise_store(&store);
}

fn exercise_store(store: &Store<'_>) {
    let file = store.db().file().clone();
    let current = store.current_revision();
    let _ = store.history_counts();
    for requested in [0, 1, current / 2, current - 1, current + 1, -1] {
        let _ = store.read_revision(requested);
    }
    let revs = [current, store.compact_revision(), store.first_revision, current / 2];
    for rev in revs {
        for range in [KeyRange::all(), KeyRange::prefix(b"/registry/pods/"), KeyRange::single(b"foo"), KeyRange::from_key(b"/registry/s")] {
            if let Ok(live) = store.range(&range, rev) {
                for e in live.iter().take(64) {
                    let _ = (e.kv(&file), e.decode(&file), e.value(&file), e.int64_field(2, &file), e.is_marker());
                }
            }
        }
    }
    let mut n = 0;
    for e in store.revisions(None, 0..=i64::MAX) {
        n += 1;
        if e.is_err() || n > 2_000 {
            break;
        }
    }
    let _ = store.revisions(Some(&KeyRange::prefix(b"/registry/")), 2..=current).take(200).count();
}

/// A bbolt file as it is, bytes straight from the fuzzer: read in memory, then as a file on
/// disk through `Source` (trailer check) and the `status` view.
pub fn bolt_raw(data: &[u8]) {
    let data = bounded(data);
    if let Ok(db) = Db::open(data, file_name()) {
        exercise_db(&db);
        exercise_backend(db);
    }
    if let Some(dir) = write_tree("bolt_raw", &[(PathBuf::from("snapshot.db"), data)]) {
        open_views(&dir.join("snapshot.db"), None);
    }
}

/// A bbolt file built from a recipe (page size, buckets, nested and inline buckets, overflow
/// values, branch levels, freelist, metas with valid checksums; sometimes damaged), so most
/// inputs open and the walks reach the leaves.
pub fn bolt(data: &[u8]) {
    let mut r = Recipe::new(bounded(data));
    let file = bolt_builder::file_from_recipe(&mut r);
    if let Ok(db) = Db::open(&file, file_name()) {
        exercise_db(&db);
        exercise_backend(db);
    }
    // `check` reads what the readers refuse (bad metas, shared pages, keys out of order), and
    // reads it again permissively: the built file's damage is its input.
    if let Some(dir) = write_tree("bolt", &[(PathBuf::from("db"), &file)]) {
        if let Ok(source) = Source::open(dir.join("db")) {
            let _ = views::check::check(&source, false, &Default::default());
            let _ = views::check::check(&source, true, &Default::default());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// MVCC and the views over an opened snapshot

/// Source → Snapshot → the views: status, `kv get` in several shapes, `get` (list keys, every
/// object), `history`. `r` (when given) chooses the requests.
fn open_views(path: &Path, r: Option<&mut Recipe<'_>>) {
    let Ok(source) = Source::open(path) else { return };
    let _ = (source.verify_trailer().label(), source.has_trailer(), source.file_size(), source.kind);
    // `check` reads what the other views refuse: every finding, and the permissive open.
    let _ = views::check::check(&source, false, &Default::default());
    let _ = views::check::check(&source, true, &Default::default());
    let _ = views::hash::hashes_all(&source);
    let Ok(snap) = Snapshot::open(&source) else { return };
    let _ = views::status::status(&snap);
    let mut fallback = Recipe::new(&[]);
    let r = r.unwrap_or(&mut fallback);
    let keys = r.bool();
    let decoder = decoder(keys);
    let _ = snap.membership();
    let _ = snap.leases();
    let store = snap.store();
    exercise_store(store);
    use views::kv_get::{GetRequest, SortOrder, SortTarget};
    let targets = [SortTarget::Key, SortTarget::Version, SortTarget::Create, SortTarget::Modify, SortTarget::Value];
    let orders = [SortOrder::None, SortOrder::Ascend, SortOrder::Descend];
    for _ in 0..2 {
        let range = match r.below(4) {
            0 => KeyRange::all(),
            1 => KeyRange::prefix(b"/registry/"),
            2 => KeyRange::single(b"/registry/pods/default/web"),
            _ => KeyRange { key: b"/registry/c".to_vec(), end: b"/registry/q".to_vec() },
        };
        let req = GetRequest {
            range,
            revision: r.below(6) as i64,
            limit: r.below(4) as i64,
            keys_only: r.bool(),
            count_only: r.below(4) == 0,
            sort_target: targets[r.below(targets.len())],
            sort_order: orders[r.below(orders.len())],
            cancel: Default::default(),
        };
        if let Ok(resp) = views::kv_get::get(&snap, &req) {
            let _ = resp.key_values().take(32).count();
        }
    }
    let prefix = *r.pick(&["/registry", "/registry/", "registry", "/"]);
    let _ = snap.catalog(decoder, prefix);
    let _ = views::get::list_keys(&snap, prefix, 0, decoder);
    use etcdscope::k8s::key::Namespace;
    use etcdscope::k8s::select::LabelSelector;
    use views::get::GetQuery;
    let labels = *r.pick(&["", "app=web", "app!=web,tier", "app in (web,api)", "!app"]);
    let fields = *r.pick(&["", "metadata.name=web", "metadata.namespace!=default", "status.phase=Running", "spec.nodeName!=n1", "type=Opaque", "bad"]);
    let types = [
        ("pods", None),
        ("configmaps", Some("web")),
        ("widgets", None),
        ("deploy", Some("api")),
        ("nodes", None),
        ("crd", None),
        ("wd", None),
        ("no-such-type", None),
    ];
    let (t, name) = types[r.below(types.len())];
    let query = GetQuery {
        targets: vec![(t.to_string(), name.map(str::to_string))],
        namespace: match r.below(3) {
            0 => Namespace::Default,
            1 => Namespace::One("team-a".into()),
            _ => Namespace::All,
        },
        labels: LabelSelector::parse(labels).unwrap_or_default(),
        fields: fields.to_string(),
        revision: r.below(4) as i64,
        etcd_prefix: prefix.to_string(),
        all_objects: r.bool(),
        cancel: Default::default(),
    };
    let _ = views::get::get(&snap, &query, decoder);
    use views::history::{HistoryQuery, Target};
    let target = match r.below(3) {
        0 => Target::Prefix(Vec::new()),
        1 => Target::Key(b"/registry/configmaps/default/web".to_vec()),
        _ => Target::Objects { type_name: t.to_string(), name: name.map(str::to_string), namespace: Namespace::All },
    };
    let hq = HistoryQuery {
        target,
        from_rev: (r.below(3) == 0).then(|| r.below(6) as i64),
        to_rev: (r.below(3) == 0).then(|| r.below(12) as i64),
        etcd_prefix: prefix.to_string(),
        all_fields: r.bool(),
        cancel: Default::default(),
    };
    let mut events = 0;
    let _ = views::history::history_each(&snap, &hq, decoder, &mut |e| {
        events += 1;
        if let Some(Ok(obj)) = &e.object {
            let _ = etcdscope::k8s::yaml::to_yaml(obj);
        }
        if let Some(changes) = &e.changes {
            let _ = etcdscope::k8s::fields::parts(changes);
        }
        // What `history -o jsonl` writes of it.
        let _ = serde_json::to_vec(&e.record());
        Ok(())
    });
}

/// An etcd backend built from a recipe (a history of puts and deletes of Kubernetes objects in
/// every encoding, the meta, members and lease buckets), opened from disk and read through the
/// MVCC store and every view.
pub fn mvcc(data: &[u8]) {
    let mut r = Recipe::new(bounded(data));
    let start = r.below(4) as i64;
    let writes = etcd_builder::history_from_recipe(&mut r, start, 48);
    let file = etcd_builder::backend_file(&mut r, &writes);
    let trailer = r.below(8) == 7;
    let mut bytes = file;
    if trailer {
        // A trailer of the right size (and a wrong hash): `snapshot save` output, damaged.
        bytes.resize(bytes.len() + 32, 0xab);
    }
    let Some(dir) = write_tree("mvcc", &[(PathBuf::from("member/snap/db"), &bytes)]) else { return };
    let input = if r.bool() { dir } else { dir.join("member/snap/db") };
    open_views(&input, Some(&mut r));
}

/// A generated backend rebuilt into a new data dir (the bbolt, WAL and .snap writers, with a
/// cut, a bump, odd cluster flags), then random v3 requests applied to its keyspace as a WAL
/// replay applies them (compares, nested txns, range deletes, compactions, leases).
pub fn rebuild(data: &[u8]) {
    use etcdscope::etcd::apply::{Applier, LiveKey};
    use etcdscope::views::rebuild::{cluster::ClusterFlags, rebuild as rebuild_dir, RebuildOptions};
    use etcdscope::wal::{record, request};
    let mut r = Recipe::new(bounded(data));
    let start = r.below(4) as i64;
    let writes = etcd_builder::history_from_recipe(&mut r, start, 32);
    let file = etcd_builder::backend_file(&mut r, &writes);
    let Some(dir) = write_tree("rebuild", &[(PathBuf::from("member/snap/db"), &file)]) else { return };
    let Ok(source) = Source::open(dir.join("member/snap/db")) else { return };
    let Ok(snap) = Snapshot::open(&source) else { return };
    let urls = ["http://127.0.0.1:2380", "https://[::1]:2380", "http://a:1", "localhost:2380", ""];
    let (u1, u2) = (*r.pick(&urls), *r.pick(&urls));
    let cluster = ClusterFlags {
        name: if r.bool() { "a".into() } else { r.text(8) },
        initial_cluster: format!("a={u1},b={u2}"),
        token: r.text(12),
        advertise_peer_urls: u1.to_string(),
    };
    let options = RebuildOptions {
        cluster,
        skip_hash_check: true,
        to_revision: r.bool().then(|| r.below(40) as i64),
        bump_revision: None,
        mark_compacted: false,
        wal: None,
        to_index: None,
        force_foreign_wal: false,
        cancel: Default::default(),
    };
    let options = if r.below(4) == 0 { RebuildOptions { bump_revision: Some(1 + r.below(1000) as i64), mark_compacted: true, ..options } } else { options };
    let _ = rebuild_dir(&snap, &options, &dir.join("out"));

    let store = snap.store();
    let mut live = Vec::new();
    if let Ok(entries) = store.range(&KeyRange::all(), store.current_revision()) {
        for e in entries {
            if let Ok(kv) = e.kv(snap.file()) {
                let value = std::borrow::Cow::Borrowed(kv.value);
                live.push((e.key, LiveKey { create_revision: kv.create_revision, mod_revision: kv.mod_revision, version: kv.version, lease: kv.lease, value }));
            }
        }
    }
    let mut applier = Applier::new(live, Vec::new(), store.current_revision(), store.compact_revision());
    while !r.exhausted() {
        let len = r.below(200);
        let bytes = r.bytes(len);
        let entry = record::Entry { entry_type: 0, term: 1, index: 1, data: bytes };
        if let request::Payload::V3(req) = request::payload(&entry) {
            let max = applier.revision + r.below(3) as i64;
            let _ = applier.apply_until(&req, max);
        }
    }
}

/// OLD and NEW backends from one recipe (NEW is OLD's history continued, or the other way
/// round), compared by the `diff` view: every class of key, field-level changes of reverted
/// objects, and the restore hazards (orphans, stranded pods, revision rewind, leases).
pub fn diff(data: &[u8]) {
    let mut r = Recipe::new(bounded(data));
    let start = r.below(3) as i64;
    let writes = etcd_builder::history_from_recipe(&mut r, start, 40);
    let cut = r.below(writes.len() + 1);
    let old = etcd_builder::backend_file(&mut r, &writes[..cut]);
    let new = etcd_builder::backend_file(&mut r, &writes);
    let (old, new) = if r.below(4) == 0 { (new, old) } else { (old, new) };
    let same = r.below(6) == 0;
    let files = [(PathBuf::from("old.db"), old.as_slice()), (PathBuf::from("new.db"), new.as_slice())];
    let Some(dir) = write_tree("diff", &files) else { return };
    let Ok(a) = Source::open(dir.join("old.db")) else { return };
    let Ok(b) = Source::open(dir.join(if same { "old.db" } else { "new.db" })) else { return };
    let (Ok(sa), Ok(sb)) = (Snapshot::open(&a), Snapshot::open(&b)) else { return };
    let types = [vec![], vec!["pods".to_string()], vec!["configmaps".into(), "widgets".into()], vec!["no-such".into()]];
    let query = views::diff::DiffQuery {
        rev_old: if same { r.below(8) as i64 } else { 0 },
        rev_new: r.below(3) as i64 * 2,
        types: types[r.below(types.len())].clone(),
        namespace: r.bool().then(|| "team-a".to_string()),
        etcd_prefix: r.pick(&["/registry", "registry/"]).to_string(),
        all_fields: r.bool(),
        cancel: Default::default(),
    };
    let decoder = decoder(r.bool());
    if let Ok(result) = views::diff::diff(&sa, &sb, &query, decoder) {
        for e in result.entries.iter().take(200) {
            let _ = result.identify(&e.key);
        }
        let _ = result.hazards.is_empty();
        // What `diff -o json` writes of it.
        let _ = serde_json::to_vec(&result.report());
        for c in views::diff::Class::ALL {
            let _ = views::diff::Class::parse(c.as_str());
            let _ = result.summary.values().map(|counts| counts.get(c)).sum::<u64>();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// WAL

const SEGMENT_SEPARATOR: &[u8] = b"ETCDSCOPE-FUZZ-SEGMENT";

/// Reads the member dir at `dir` (wal/ inside it) with the `wal` view, once in every mode
/// `flags` selects.
fn read_wal(dir: &Path, flags: u8) {
    use views::wal::{read, WalQuery};
    let decoder = (flags & 4 != 0).then(|| decoder(flags & 8 != 0));
    let types = match flags >> 5 {
        0 => vec![],
        1 => vec!["put".to_string()],
        2 => vec!["conf".to_string(), "empty".into(), "v2".into()],
        3 => vec!["txn".into(), "delete".into(), "lease".into(), "undecodable".into()],
        _ => vec![],
    };
    let q = WalQuery {
        best_effort: flags & 1 != 0,
        from_index: (flags & 16 != 0).then_some(2),
        to_index: (flags & 16 != 0).then_some(40),
        types,
        key_prefix: (flags & 0x80 != 0).then(|| b"/registry/".to_vec()),
        summary_only: flags & 2 != 0,
        cancel: Default::default(),
    };
    let mut lines = 0;
    let summary = read(dir, &q, decoder, &mut |line| {
        lines += 1;
        // The typed line, every field (its JSON is the command line's; tests/wal.rs runs it).
        let _ = format!("{line:?}");
        Ok(())
    });
    if let Ok(s) = summary {
        let _ = (views::wal::corruption_error(&s), s.has_damage(), s.findings());
    }
}

/// WAL segments as raw bytes: the first byte chooses the reading mode, the rest is one segment
/// or several, split at [`SEGMENT_SEPARATOR`]. Seeded with real etcd segments.
pub fn wal_raw(data: &[u8]) {
    let data = bounded(data);
    let Some((&flags, rest)) = data.split_first() else { return };
    let mut files = Vec::new();
    let mut start = 0;
    let mut seq = 0u64;
    while seq < 4 {
        let end = find(&rest[start..], SEGMENT_SEPARATOR).map(|i| start + i);
        let seg = &rest[start..end.unwrap_or(rest.len())];
        files.push((PathBuf::from(format!("member/wal/{seq:016x}-{:016x}.wal", seq * 3)), seg));
        seq += 1;
        match end {
            Some(e) => start = e + SEGMENT_SEPARATOR.len(),
            None => break,
        }
    }
    if let Some(dir) = write_tree("wal_raw", &files) {
        read_wal(&dir, flags);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A member dir built from a recipe: segments with correct framing and CRC chain holding
/// entries of every kind (Kubernetes puts in every encoding, txns, deletes, leases, v2 requests,
/// membership changes), hard states and snapshots, leader changes that overwrite entries,
/// sometimes torn or damaged, and sometimes a snap/ dir with .snap files and a db.
pub fn wal(data: &[u8]) {
    let mut r = Recipe::new(bounded(data));
    let flags = r.u8();
    let member = wal_builder::member_from_recipe(&mut r);
    let mut files: Vec<(PathBuf, &[u8])> = Vec::new();
    for (name, bytes) in &member.wal {
        files.push((PathBuf::from("member/wal").join(name), bytes));
    }
    for (name, bytes) in &member.snap {
        files.push((PathBuf::from("member/snap").join(name), bytes));
    }
    if let Some(dir) = write_tree("wal", &files) {
        read_wal(&dir, flags);
    }
}

/// One record's data as every record type reads it, and as a raft entry's payload (v3 and v2
/// requests, conf changes), and as a `.snap` file.
pub fn wal_record(data: &[u8]) {
    use etcdscope::wal::frame::Frame;
    use etcdscope::wal::{record, request, snap};
    let data = bounded(data);
    for rtype in [0, 1, 2, 3, 4, 5, 6, -1] {
        let frame = Frame { segment: 0, record: 0, offset: 0, rtype, crc: 7, data, crc_checked: true };
        let _ = record::Record::of(&frame);
    }
    if let Ok(e) = record::entry(data) {
        let _ = (request::class_fast(&e), request::class_of(&request::payload(&e)));
    }
    for entry_type in 0..4 {
        let e = record::Entry { entry_type, term: 1, index: 1, data };
        let p = request::payload(&e);
        let _ = (request::class_fast(&e), request::class_of(&p));
        if let request::Payload::V3(r) = &p {
            let _ = request::v3_op(r);
        }
    }
    let _ = snap::read_snap(data);
    if let Ok(name) = std::str::from_utf8(data) {
        let _ = etcdscope::wal::segment::SegmentName::parse(name).map(|n| n.file_name());
    }
}

// ---------------------------------------------------------------------------------------------
// protobuf and Kubernetes values

/// The wire reader, recursively into every length-delimited field that parses as a message,
/// and the etcd readers built on it (KeyValue fields, bytes and int64 fields).
pub fn protowire(data: &[u8]) {
    use etcdscope::protowire::{fields, varint, Wire};
    let data = bounded(data);
    fn walk(msg: &[u8], depth: usize, budget: &mut usize) {
        for f in fields(msg) {
            *budget = budget.saturating_sub(1);
            if *budget == 0 {
                return;
            }
            match f {
                Ok((_, w)) => {
                    let _ = w.type_name();
                    if let Wire::Bytes(b) = w {
                        if depth < 16 {
                            walk(b, depth + 1, budget);
                        }
                    }
                }
                Err(e) => {
                    let _ = e.to_string();
                }
            }
        }
    }
    let mut budget = 20_000;
    walk(data, 0, &mut budget);
    let mut pos = 0;
    while pos < data.len() && varint(data, &mut pos).is_some() {}
    for field in 0..8 {
        let _ = etcd::wire::bytes_field(data, field);
        let _ = etcd::wire::int64_field(data, field);
    }
    let entry =
        etcd::mvcc::RevisionEntry { revision: etcd::revision::Revision { main: 1, sub: 0 }, tombstone: false, key: b"k", raw: data, page: 2, offset: 0 };
    let file = file_name();
    let _ = (entry.kv(&file), entry.decode(&file), entry.value(&file), entry.int64_field(3, &file));
    let _ = etcd::revision::RevisionKey::parse(data).map(|k| k.encode());
}

/// Renders a decoded object as everything downstream needs it: parsed JSON, YAML, the field
/// differences against an empty object, selectors.
fn exercise_json(text: &str) {
    let Ok(v) = etcdscope::k8s::json::parse_rendered(text) else { return };
    let _ = etcdscope::k8s::yaml::to_yaml(&v);
    let empty = etcdscope::k8s::json::parse_rendered("{}").expect("{} parses");
    let changes = etcdscope::k8s::fields::diff(&empty, &v, false);
    let _ = etcdscope::k8s::fields::parts(&changes);
    let _ = etcdscope::k8s::fields::diff(&v, &v, true);
    let _ = etcdscope::k8s::crd::resource_from_crd(&v);
    let kind = v.get("kind").and_then(serde_json::Value::as_str);
    let _ = etcdscope::k8s::secret::is_secret(etcdscope::k8s::secret::Evidence { key: None, kind });
    let mut redacted = v.clone();
    let _ = etcdscope::k8s::decoder::redact_shown(&mut redacted);
    if let Ok(sel) = etcdscope::k8s::select::LabelSelector::parse("app=web,tier notin (db)") {
        let _ = sel.matches(&v);
    }
    // Every reading of the built-in kinds' fields, over the object.
    let labels = ["spec.nodeName", "spec.hostNetwork", "status.podIP", "status.phase", "source", "involvedObject.kind", "reportingComponent", "type"];
    let more = ["spec.unschedulable", "status.replicas", "status.successful", "spec.signerName", "metadata.name", "metadata.namespace"];
    for label in labels.into_iter().chain(more) {
        if let Ok(sel) = etcdscope::k8s::select::FieldSelector::parse(&format!("{label}!=x")) {
            for resource in etcdscope::k8s::resources::built_in() {
                if let Ok(bound) = sel.for_resource(&resource) {
                    let _ = bound.matches(&v);
                }
            }
        }
    }
}

fn exercise_decoded(d: &Decoded) {
    if let Decoded::Object { json, .. } = d {
        exercise_json(json.as_str());
    }
}

/// Kubernetes protobuf → JSON. A stored value (`k8s\0` + runtime.Unknown) is decoded as the
/// views decode it; any other input is a message of a type chosen by its first two bytes among
/// every message of the embedded schemas, rendered from the rest.
pub fn k8s_protobuf(data: &[u8]) {
    use etcdscope::k8s::json::{render_message_bytes, render_object, render_object_text, RenderOptions};
    let data = bounded(data);
    let dec = decoder(false);
    let opts = [RenderOptions::default(), RenderOptions { show_unknown: true, redact_secrets: true, resource_version: Some(42) }];
    if let Ok(Stored::Protobuf(u)) = classify(data) {
        for o in opts {
            if let Ok(t) = render_object_text(&dec.schemas, &u.api_version, &u.kind, u.raw, o) {
                exercise_json(&t.json);
            }
        }
        let _ = render_object(&dec.schemas, &u.api_version, &u.kind, u.raw, opts[1]);
        exercise_decoded(&dec.decode_at(b"/registry/pods/default/p", data, Some(7)));
        exercise_decoded(&decoder(true).decode(data));
        let _ = etcdscope::k8s::facts::object_facts(dec, b"/registry/pods/default/p", data, etcdscope::k8s::facts::Wants::ALL);
        return;
    }
    let Some((head, raw)) = data.split_at_checked(2) else { return };
    let all = messages();
    let desc = &all[usize::from(u16::from_le_bytes([head[0], head[1]])) % all.len()];
    for o in opts {
        if let Ok(r) = render_message_bytes(&dec.schemas, desc, raw, o) {
            let _ = etcdscope::k8s::yaml::to_yaml(&r.json);
        }
    }
}

/// A stored value of any kind (JSON, CBOR, protobuf, `k8s:enc:` encrypted, other) through the
/// envelope, decryption with the configured keys, the decoders and the facts reader.
pub fn envelope(data: &[u8]) {
    let data = bounded(data);
    let key = b"/registry/secrets/default/s1";
    match classify(data) {
        Ok(Stored::Encrypted(e)) => {
            let _ = e.key_name_guess();
        }
        Ok(Stored::Cbor(b)) => {
            if let Ok(v) = etcdscope::k8s::cbor::to_json(b) {
                let _ = etcdscope::k8s::yaml::to_yaml(&v);
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
        _ => {}
    }
    for keys in [false, true] {
        let dec = decoder(keys);
        exercise_decoded(&dec.decode_at(key, data, Some(3)));
        let _ = (dec.stored_secret(key, data), dec.stored_secret(b"/app/x", data), etcdscope::k8s::secret::stored_kind(data));
        let opts = DecodeOptions { show_secrets: !keys, show_unknown: !keys };
        let _ = dec.decode_at_with(b"/registry/configmaps/a/b", data, None, opts);
        let _ = etcdscope::k8s::facts::object_facts(dec, key, data, etcdscope::k8s::facts::Wants::ALL);
    }
    if let Some(config) = &decoder(true).encryption {
        let d = config.decrypt(key, data);
        let _ = d.plaintext();
    }
}

// ---------------------------------------------------------------------------------------------
// Keys, configuration

/// A custom resource's CRD, so the catalogue knows one CRD besides the built-ins.
const WIDGET_CRD: &str = r#"{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"widgets.example.com"},"spec":{"group":"example.com","names":{"plural":"widgets","kind":"Widget","shortNames":["wd"]},"scope":"Namespaced","versions":[{"name":"v1","storage":true}]}}"#;

fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(|| {
        let mut c = Catalog::built_in();
        let crd = etcdscope::k8s::json::parse_rendered(WIDGET_CRD).expect("the CRD parses");
        c.add(etcdscope::k8s::crd::resource_from_crd(&crd).expect("a CRD"));
        c
    })
}

/// The `/registry` key parser (classify, locate, identify under several prefixes), kubectl type
/// names, and the other small key parsers: revision keys, key ranges, selectors.
pub fn registry_key(data: &[u8]) {
    let data = &data[..data.len().min(4096)];
    let catalog = catalog();
    let text = String::from_utf8_lossy(data);
    for prefix in ["/registry", "/registry/", "registry", "/", "", "/kubernetes.io", text.split('\n').next().unwrap_or("")] {
        let _ = catalog.locate(data, prefix).owned();
        let located = catalog.locate(data, prefix);
        let _ = (located.group_resource(), located.namespace(), located.name(), located.is_known());
        if let Some(id) = located.object_id() {
            let _ = (id.group_resource(), id.kubectl_name());
        }
        let _ = catalog.locate(data, prefix).object_id();
        let _ = etcdscope::k8s::secret::is_secret(etcdscope::k8s::secret::Evidence { key: Some((data, prefix)), kind: None });
    }
    let _ = normalize_prefix(&text);
    if let Ok(info) = catalog.resolve(&text) {
        let _ = (info.singular(), info.qualified_singular());
    }
    let _ = catalog.by_key_prefix(&text);
    use etcdscope::k8s::key::Namespace;
    let mut parts = text.splitn(3, '/');
    let (t, name) = (parts.next().unwrap_or(""), parts.next());
    for ns in [Namespace::Default, Namespace::All, Namespace::One(parts.next().unwrap_or("").to_string())] {
        let _ = catalog.object_range("/registry", t, name, &ns);
    }
    let _ = etcdscope::k8s::select::LabelSelector::parse(&text);
    if let Ok(sel) = etcdscope::k8s::select::FieldSelector::parse(&text) {
        for resource in etcdscope::k8s::resources::built_in() {
            let _ = sel.for_resource(&resource).map(|bound| bound.matches(&serde_json::json!({"metadata": {"name": "a"}})));
        }
        let _ = sel.for_any_resource();
    }
    // The same text as a jsonpath template and expression, over a small object.
    let object = serde_json::json!({"items": [{"metadata": {"name": "a", "labels": {"app": "web"}}, "spec": {"replicas": 3}}, {"metadata": {"name": "b"}}], "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
    let _ = etcdscope::k8s::jsonpath::render(&text, &object);
    let _ = etcdscope::k8s::jsonpath::eval_all(&text, &object);
    let _ = etcd::mvcc::prefix_end(data);
    let _ = KeyRange::prefix(data).contains(data);
    let _ = etcd::revision::RevisionKey::parse(data);
}

/// An EncryptionConfiguration as YAML text, and, when it parses, decryption of a few values
/// with it (sealed with the keys the seeds use, and the input's own bytes).
pub fn encryption_config(data: &[u8]) {
    use etcdscope::k8s::encryption::{seal, Provider};
    let data = &data[..data.len().min(64 << 10)];
    let text = String::from_utf8_lossy(data);
    let config = match EncryptionConfig::from_yaml(&text) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    for entry in config.entries() {
        for p in &entry.providers {
            let _ = p.kind().as_str();
            for k in p.keys() {
                let _ = (k.name(), k.secret().len());
            }
        }
    }
    let key = b"/registry/secrets/default/s1";
    let plain = b"k8s\0\x0a\x0d\x0a\x02v1\x12\x07Pod\x12\x00";
    let mut values: Vec<Vec<u8>> = vec![data.to_vec(), b"k8s:enc:kms:v2:kms-provider:xyz".to_vec(), b"k8s:enc:".to_vec()];
    for entry in config.entries() {
        for p in &entry.providers {
            for k in p.keys().iter().take(4) {
                let nonce = [9u8; 24];
                let (provider, n) = match p.kind() {
                    Provider::AesCbc => (Provider::AesCbc, 16),
                    Provider::AesGcm => (Provider::AesGcm, 12),
                    Provider::Secretbox => (Provider::Secretbox, 24),
                    _ => continue,
                };
                if let Ok(v) = seal(provider, k.name(), k.secret(), key, &nonce[..n], plain) {
                    values.push(v);
                }
            }
        }
    }
    for v in &values {
        let d = config.decrypt(key, v);
        let _ = d.plaintext();
        let _ = config.decrypt(b"/registry/configmaps/x/y", v);
    }
}

/// The object facts export and diff read (`k8s::facts`), and a value's encoding. First byte:
/// which facts are wanted; the rest is a stored value (read as protobuf, JSON or CBOR, then
/// through the decoder with keys), and read as JSON text whole and only as far as wanted.
pub fn export_rows(data: &[u8]) {
    use etcdscope::k8s::envelope::stored_encoding;
    use etcdscope::k8s::facts::{from_json_text, object_facts, stored_facts, Wants};
    let data = bounded(data);
    let _ = stored_encoding(data);
    let Some((&flags, rest)) = data.split_first() else { return };
    let wants = Wants { node_name: flags & 1 != 0, phase: flags & 2 != 0, maps: flags & 4 != 0 };
    let d = decoder(flags & 8 != 0);
    let facts = [stored_facts(&d.schemas, rest, wants), object_facts(d, b"/registry/pods/ns/p", rest, wants), from_json_text(rest, wants)];
    for f in facts.iter().flatten() {
        let _ = (f.main_owner(), f.labels.len() + f.annotations.len(), f.clone().into_owned());
    }
}

// ---------------------------------------------------------------------------------------------
// The damaged-file tools: salvage, compare, analyze

/// A generated backend (as `mvcc` builds it), sometimes holding a crafted inline bucket whose
/// nested values overlap (the overlapping-value recipe), then damaged as the first byte asks
/// (pages zeroed, the file cut short — the truncation recipe —, bytes flipped): what the
/// damaged-file tools are for.
fn damaged_backend(r: &mut Recipe<'_>) -> Vec<u8> {
    let shape = r.u8();
    let start = r.below(3) as i64;
    let writes = etcd_builder::history_from_recipe(r, start, 48);
    let extra =
        if shape & 1 != 0 { vec![(b"shared".to_vec(), bolt_builder::Item::RawBucket(bolt_builder::shared_inline_value(1 + r.below(62))))] } else { Vec::new() };
    let mut file = etcd_builder::backend_file_with(r, &writes, extra);
    bolt_builder::damage(r, &mut file, (shape >> 1) % 8);
    file
}

/// The file the `salvage` target builds from `data` (for tests of the recipes themselves).
pub fn salvage_input(data: &[u8]) -> Vec<u8> {
    damaged_backend(&mut Recipe::new(bounded(data)))
}

/// `salvage` of a damaged backend: the tolerant walk, the page scan, the gaps and what fills
/// them, the writer; then the salvaged file read back (it must open) and checked. Also `check`
/// and `check --best-effort` on the damaged file.
pub fn salvage(data: &[u8]) {
    use views::salvage::{salvage as salvage_view, SalvageOptions};
    let mut r = Recipe::new(bounded(data));
    let file = damaged_backend(&mut r);
    let include_unreachable = r.bool();
    let Some(dir) = write_tree("salvage", &[(PathBuf::from("damaged.db"), &file)]) else { return };
    let Ok(source) = Source::open(dir.join("damaged.db")) else { return };
    let _ = views::check::check(&source, false, &Default::default());
    let _ = views::check::check(&source, true, &Default::default());
    let out = dir.join("salvaged.db");
    let options = SalvageOptions { include_unreachable, ..SalvageOptions::default() };
    if let Ok(report) = salvage_view(&source, &out, &options) {
        let _ = (report.complete, report.gaps.len(), report.admitted.len(), report.excluded.len());
        let salvaged = Source::open(&out).expect("a salvaged file opens");
        let snap = Snapshot::open(&salvaged).expect("a salvaged file is an etcd snapshot");
        let _ = views::status::status(&snap);
        let _ = views::check::check(&salvaged, false, &Default::default());
    }
}

/// `compare` of two or three members built from one history (a prefix of it, the same file,
/// one damaged), in both orders.
pub fn compare(data: &[u8]) {
    let mut r = Recipe::new(bounded(data));
    let start = r.below(3) as i64;
    let writes = etcd_builder::history_from_recipe(&mut r, start, 40);
    let cut = r.below(writes.len() + 1);
    let a = etcd_builder::backend_file(&mut r, &writes[..cut]);
    let b = etcd_builder::backend_file(&mut r, &writes);
    let mut c = etcd_builder::backend_file(&mut r, &writes);
    let kind = r.u8();
    bolt_builder::damage(&mut r, &mut c, kind % 8);
    let files = [(PathBuf::from("a/member/snap/db"), a.as_slice()), (PathBuf::from("b.db"), b.as_slice()), (PathBuf::from("c.db"), c.as_slice())];
    let Some(dir) = write_tree("compare", &files) else { return };
    let paths = [dir.join("a"), dir.join("b.db"), dir.join("c.db")];
    let take = 2 + r.below(2);
    for reverse in [false, true] {
        let mut ordered: Vec<&PathBuf> = paths[..take].iter().collect();
        if reverse {
            ordered.reverse();
        }
        let sources: Vec<Source> = ordered.iter().filter_map(|p| Source::open(p).ok()).collect();
        if let Ok(c) = views::compare::compare(&sources, &etcdscope::cancel::Cancel::default()) {
            let _ = (c.members.len(), c.common_revision);
        }
    }
}

/// `analyze` of a backend (sometimes damaged), grouped every way, with and without keys.
pub fn analyze(data: &[u8]) {
    use views::analyze::{analyze as analyze_view, GroupBy};
    let mut r = Recipe::new(bounded(data));
    let file = if r.below(4) == 0 {
        damaged_backend(&mut r)
    } else {
        let start = r.below(3) as i64;
        let writes = etcd_builder::history_from_recipe(&mut r, start, 48);
        etcd_builder::backend_file(&mut r, &writes)
    };
    let Some(dir) = write_tree("analyze", &[(PathBuf::from("db"), &file)]) else { return };
    let Ok(source) = Source::open(dir.join("db")) else { return };
    let Ok(snap) = Snapshot::open(&source) else { return };
    let prefix = *r.pick(&["/registry", "/registry/", "", "/"]);
    let decoder = decoder(r.bool());
    for by in [GroupBy::Resource, GroupBy::Namespace, GroupBy::Prefix(1 + r.below(4))] {
        if let Ok(a) = analyze_view(&snap, decoder, prefix, &by, r.below(12), &Default::default()) {
            let _ = (a.groups.len(), a.top.len(), a.notes.len(), a.total.history_bytes);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// serve: the request parser

/// `serve`'s request parser: the first byte picks the method, the rest is `PATH[?QUERY]`. Every
/// refusal must be a client error (4xx) that serializes; every accepted read keeps its parts
/// free of `/`.
pub fn serve_request(data: &[u8]) {
    use etcdscope::serve::request::{parse, Request};
    let data = bounded(data);
    let Some((&m, rest)) = data.split_first() else { return };
    let method = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"][usize::from(m % 8)];
    let text = String::from_utf8_lossy(rest);
    let (path, query) = text.split_once('?').unwrap_or((&text, ""));
    match parse(method, path, query) {
        Err(status) => {
            assert!((400..500).contains(&status.code), "{method} {text:?}: {status:?}");
            serde_json::to_vec(&status).expect("a Status serializes");
        }
        Ok(Request::Resource(r)) => {
            for part in [Some(&r.resource), r.namespace.as_ref(), r.name.as_ref(), r.subresource.as_ref()].into_iter().flatten() {
                assert!(!part.is_empty() && !part.contains('/'), "{method} {text:?}: {r:?}");
            }
            // What the handler reads next from the same request: the continue token and the
            // selectors, never a panic, every refusal a 4xx.
            if let Some(token) = &r.options.continue_token {
                if let Err(status) = serve_tokens().decode(b"fuzz", b"/registry/pods/", token) {
                    assert!((400..500).contains(&status.code), "{token:?}: {status:?}");
                }
            }
            let info = etcdscope::k8s::key::Catalog::built_in().by_group_resource("", "pods").cloned().expect("pods are built in");
            let labels = r.options.label_selector.as_deref().unwrap_or("");
            let fields = r.options.field_selector.as_deref().unwrap_or("");
            if let Err(status) = etcdscope::serve::list::selectors(labels, fields, &info) {
                assert_eq!(status.code, 400, "{labels:?} {fields:?}: {status:?}");
            }
        }
        Ok(_) => {}
    }
    // The same bytes as an Accept header.
    if let Err(status) = etcdscope::serve::accept::negotiate(Some(&text), m % 2 == 0) {
        assert_eq!(status.code, 406, "{text:?}: {status:?}");
    }
    // The web UI's query reader: never fails, and every value it reads travels back through
    // the UI's own links byte for byte.
    let ui = etcdscope::serve::ui::Query::parse(query);
    for name in ["key", "prefix", "path", "q", "page"] {
        if let Some(value) = ui.bytes(name) {
            let link = etcdscope::serve::ui::query::href("/ui/x/key", &[("key", value)]);
            let back = etcdscope::serve::ui::Query::parse(link.split_once('?').map_or("", |(_, q)| q));
            assert_eq!(back.bytes("key").unwrap_or(b""), value, "{link}");
        }
    }
    // The same text as a Host header: a verdict, never a panic.
    let _ = etcdscope::serve::router::loopback_host(Some(&text));
}

/// One token key for the whole fuzzing run, as one server has.
fn serve_tokens() -> &'static etcdscope::serve::continue_::Tokens {
    static TOKENS: std::sync::OnceLock<etcdscope::serve::continue_::Tokens> = std::sync::OnceLock::new();
    TOKENS.get_or_init(etcdscope::serve::continue_::Tokens::new)
}
