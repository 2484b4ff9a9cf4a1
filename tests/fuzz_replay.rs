//! Replays every fuzz corpus file and every crash the fuzzers found (fuzz/corpus/<target>/,
//! fuzz/crashes/<target>/) through the fuzz targets themselves, so CI keeps them fixed without a
//! fuzzer installed. The targets are fuzz/src/targets/, included here by path: the AFL binaries
//! (fuzz/, a workspace of its own) and this test run the same code. docs/fuzzing.md.
//!
//! `ETCDSCOPE_FUZZ_WRITE_SEEDS=1 cargo test --test fuzz_replay write_seeds -- --ignored`
//! rewrites the generated seed files (`seed-*`) of every corpus from testdata/.

#[path = "common/fixtures.rs"]
mod fixtures;
#[path = "../fuzz/src/targets/mod.rs"]
mod targets;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn target(name: &str) -> targets::Target {
    targets::TARGETS.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("no fuzz target {name}")).1
}

/// The regular files of `dir`, sorted, dotfiles (.gitkeep) aside.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file() && !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')))
        .collect();
    out.sort();
    out
}

/// Runs every file through the target; one panic does not hide the others.
fn replay(name: &str, paths: &[PathBuf]) {
    let run = target(name);
    // The panic message still prints (default hook); the file that caused it is listed below.
    let mut failed = Vec::new();
    for path in paths {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(failed.is_empty(), "fuzz target {name} panics on {} of {} inputs:\n  {}", failed.len(), paths.len(), failed.join("\n  "));
}

fn corpus(name: &str) {
    let dir = fuzz_dir().join("corpus").join(name);
    assert!(dir.is_dir(), "{} is missing: every fuzz target keeps its corpus in the repository", dir.display());
    let paths = files(&dir);
    assert!(!paths.is_empty(), "{} is empty: every fuzz target keeps a seed corpus", dir.display());
    replay(name, &paths);
}

fn crashes(name: &str) {
    let dir = fuzz_dir().join("crashes").join(name);
    assert!(dir.is_dir(), "{} is missing (keep it, with a .gitkeep when empty)", dir.display());
    replay(name, &files(&dir));
}

macro_rules! replay_tests {
    ($($name:ident),* $(,)?) => {
        mod corpus {
            $(#[test] fn $name() { super::corpus(stringify!($name)); })*
        }
        mod crashes {
            $(#[test] fn $name() { super::crashes(stringify!($name)); })*
        }
        const REPLAYED: &[&str] = &[$(stringify!($name)),*];
    };
}

replay_tests!(
    bolt_raw,
    bolt,
    mvcc,
    wal_raw,
    wal,
    wal_record,
    protowire,
    k8s_protobuf,
    envelope,
    registry_key,
    encryption_config,
    diff,
    export_rows,
    rebuild,
    export_fill,
    query,
    salvage,
    compare,
    analyze,
    serve_request
);

#[test]
fn every_target_is_replayed_and_every_directory_is_a_target() {
    let names: Vec<&str> = targets::TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, REPLAYED, "targets::TARGETS and the replay list differ");
    for kind in ["corpus", "crashes"] {
        for entry in std::fs::read_dir(fuzz_dir().join(kind)).expect("fuzz dir") {
            let entry = entry.expect("a directory entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(names.contains(&name.as_str()), "fuzz/{kind}/{name} belongs to no target");
        }
    }
    for name in &names {
        assert!(fuzz_dir().join("src/bin").join(format!("{name}.rs")).is_file(), "fuzz/src/bin/{name}.rs is missing");
    }
}

/// Kubernetes' own round-trip fixtures (scripts/k8s-fixtures.sh, not copied into the
/// repository) are seeds of the protobuf targets too.
#[test]
fn kubernetes_fixtures_through_the_protobuf_targets() {
    let dir = fixtures::k8s_fixtures();
    let mut pbs = Vec::new();
    for release in files_and_dirs(&dir) {
        if release.is_dir() {
            pbs.extend(files(&release).into_iter().filter(|p| p.extension().is_some_and(|e| e == "pb")));
        }
    }
    assert!(!pbs.is_empty(), "no .pb fixtures under {}", dir.display());
    replay("k8s_protobuf", &pbs);
    replay("envelope", &pbs);
}

fn files_and_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir).expect("a directory").map(|e| e.expect("an entry").path()).collect();
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// Seed corpora, generated from testdata/ (real etcd files) and the targets' own builders.

mod seeds {
    use super::targets::recipe::*;
    use super::targets::{bolt_builder, etcd_builder, wal_builder, ENCRYPTION_CONFIG};
    use etcdscope::etcd::KeyRange;
    use etcdscope::k8s::encryption::{seal, Provider};
    use etcdscope::snapshot::Snapshot;
    use etcdscope::source::Source;
    use etcdscope::wal::frame::{Event, Wal};
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    fn repo() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    fn recipes(n: u64, lens: &[usize]) -> Vec<(String, Vec<u8>)> {
        (0..n).map(|i| (format!("recipe-{i:02}"), super::seeds_noise(i + 1, lens[i as usize % lens.len()]))).collect()
    }

    /// Live key-values of a real db at its current revision.
    fn kvs(path: &Path) -> Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> {
        let source = Source::open(path).expect("testdata db opens");
        let snap = Snapshot::open(&source).expect("testdata db is a snapshot");
        let store = snap.store();
        let rev = store.current_revision();
        store
            .range(&KeyRange::all(), rev)
            .expect("range")
            .into_iter()
            .map(|e| {
                let kv = e.kv(snap.file()).expect("kv");
                (kv.key.to_vec(), kv.value.to_vec(), e.raw.to_vec())
            })
            .collect()
    }

    /// Records (type, data) of a real WAL.
    fn wal_records(member: &Path) -> Vec<(i64, Vec<u8>)> {
        let segments = etcdscope::wal::segment::discover(&member.join("wal")).expect("segments");
        let wal = Wal::open(segments).expect("wal");
        let mut out = Vec::new();
        wal.scan(false, &mut |e| {
            if let Event::Frame(f) = e {
                out.push((f.rtype, f.data.to_vec()));
            }
            Ok(())
        })
        .expect("scan");
        out
    }

    fn real_wal_segment(version: &str) -> Vec<u8> {
        let dir = repo().join(format!("testdata/wal-{version}/member/wal"));
        let seg =
            std::fs::read_dir(&dir).expect("wal dir").map(|e| e.expect("entry").path()).find(|p| p.extension().is_some_and(|e| e == "wal")).expect("a segment");
        std::fs::read(seg).expect("segment")
    }

    /// SQL over the export's tables: the guide's kind of question, joins, views, window
    /// functions, JSON, and what `query` must refuse or stop (two statements, writes, ATTACH,
    /// statements that never end).
    fn query_seeds() -> Vec<(String, Vec<u8>)> {
        [
            ("count", "SELECT count(*) FROM kv"),
            ("objects-by-kind", "SELECT kind, count(*) AS n, sum(size) FROM objects GROUP BY kind ORDER BY n DESC"),
            ("join-labels", "SELECT o.name, l.name, l.value FROM objects o JOIN labels l USING (key) WHERE o.namespace = 'team-a'"),
            ("owners", "SELECT o.kind, o.name, r.kind, r.name FROM owner_refs r JOIN objects o USING (key)"),
            ("json", "SELECT key, json_extract(object, '$.metadata.labels') FROM objects WHERE object IS NOT NULL"),
            ("history-window", "SELECT key_text, revision, lag(revision) OVER (PARTITION BY key ORDER BY revision) FROM revisions"),
            ("views", "SELECT * FROM churn_by_resource ORDER BY revisions DESC"),
            ("blobs", "SELECT hex(key), value, length(value), typeof(value) FROM kv ORDER BY value_size DESC LIMIT 5"),
            ("two-statements", "SELECT 1; SELECT 2"),
            ("trailing", "SELECT 1; -- done\n"),
            ("write", "DELETE FROM kv_rows"),
            ("pragma", "PRAGMA query_only = 0"),
            ("attach", "ATTACH DATABASE ':memory:' AS x"),
            ("forever", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"),
            ("big", "SELECT randomblob(100000000)"),
            ("empty", "-- nothing"),
        ]
        .into_iter()
        .map(|(name, sql)| (name.to_string(), sql.as_bytes().to_vec()))
        .collect()
    }

    pub fn all() -> BTreeMap<&'static str, Vec<(String, Vec<u8>)>> {
        let mut c: BTreeMap<&'static str, Vec<(String, Vec<u8>)>> = BTreeMap::new();
        let td = repo().join("testdata");
        let read = |p: &str| std::fs::read(td.join(p)).unwrap_or_else(|e| panic!("testdata/{p}: {e}"));

        // bbolt files: a real member db whole, as a snapshot with its sha256 trailer, cut short;
        // small files of the builder.
        let member_db = read("wal-3.5.1/member/snap/db");
        let member_db_34 = read("wal-3.4.23/member/snap/db");
        let mut with_trailer = member_db.clone();
        {
            use sha2::{Digest, Sha256};
            let sum = Sha256::digest(&member_db);
            with_trailer.extend_from_slice(&sum);
        }
        let mut bolt_raw = vec![
            ("real-member-db-3.5.1".to_string(), member_db.clone()),
            ("real-member-db-3.4.23".to_string(), member_db_34.clone()),
            ("real-snapshot-with-trailer-3.5.1".to_string(), with_trailer),
            ("real-member-db-3.5.1-truncated".to_string(), member_db[..member_db.len() / 3].to_vec()),
            ("real-member-db-3.5.1-meta-only".to_string(), member_db[..2 * 4096].to_vec()),
        ];
        for (name, r) in recipes(6, &[64, 160, 320]) {
            bolt_raw.push((format!("built-{name}"), bolt_builder::file_from_recipe(&mut Recipe::new(&r))));
        }
        c.insert("bolt_raw", bolt_raw);
        c.insert("bolt", recipes(12, &[32, 96, 200, 400]));
        c.insert("mvcc", recipes(10, &[64, 200, 500, 900]));
        c.insert("diff", recipes(10, &[100, 300, 700, 1200]));
        c.insert("rebuild", recipes(10, &[100, 300, 700, 1200]));
        c.insert("export_fill", recipes(10, &[100, 300, 700, 1200]));
        c.insert("query", query_seeds());
        // The damaged-file tools: the first byte of a salvage recipe is its shape (bit 0: an
        // inline bucket whose nested values overlap; bits 1-3: none, a page zeroed, two, the file
        // cut short, a page zeroed and the file cut, bytes flipped), one seed of each.
        let mut salvage = Vec::new();
        for (name, shape) in [
            ("sound", 0u8),
            ("overlapping-values", 1),
            ("page-zeroed", 2),
            ("overlapping-and-page-zeroed", 3),
            ("two-pages-zeroed", 4),
            ("truncated", 6),
            ("overlapping-and-truncated", 7),
            ("zeroed-and-truncated", 8),
            ("bytes-flipped", 10),
        ] {
            for (i, len) in [200usize, 700].into_iter().enumerate() {
                let mut bytes = vec![shape];
                bytes.extend(super::seeds_noise(u64::from(shape) * 7 + i as u64 + 1, len));
                salvage.push((format!("{name}-{i}"), bytes));
            }
        }
        c.insert("salvage", salvage);
        c.insert("compare", recipes(10, &[100, 300, 700, 1200]));
        let mut analyze = recipes(8, &[100, 300, 700, 1200]);
        // A first byte of 0 (mod 4) asks for a damaged backend; the next is its shape.
        for (name, shape) in [("damaged-overlapping", 1u8), ("damaged-truncated", 6)] {
            let mut bytes = vec![0u8, shape];
            bytes.extend(super::seeds_noise(u64::from(shape) + 99, 500));
            analyze.push((name.to_string(), bytes));
        }
        c.insert("analyze", analyze);
        c.insert("wal", recipes(10, &[64, 200, 500, 900]));

        // WAL segments: real ones (3.5.1, 3.4.23), two segments, modes; one the builder wrote.
        let seg35 = real_wal_segment("3.5.1");
        let seg34 = real_wal_segment("3.4.23");
        let sep = b"ETCDSCOPE-FUZZ-SEGMENT";
        let half = (seg35.len() / 2) & !7;
        let mut wal_raw = vec![
            ("real-segment-3.5.1".to_string(), [&[0u8][..], &seg35].concat()),
            ("real-segment-3.5.1-best-effort-decoded".to_string(), [&[0x0du8][..], &seg35].concat()),
            ("real-segment-3.4.23-summary".to_string(), [&[0x06u8][..], &seg34].concat()),
            ("real-segment-3.5.1-two-segments".to_string(), [&[0x05u8][..], &seg35[..half], sep, &seg35[half..]].concat()),
            ("real-segment-3.5.1-torn".to_string(), [&[0x04u8][..], &seg35[..seg35.len() - 100]].concat()),
        ];
        for (name, r) in recipes(3, &[200, 600]) {
            let m = wal_builder::member_from_recipe(&mut Recipe::new(&r));
            let mut bytes = vec![0x04u8];
            for (i, (_, seg)) in m.wal.iter().enumerate() {
                if i > 0 {
                    bytes.extend_from_slice(sep);
                }
                bytes.extend_from_slice(seg);
            }
            wal_raw.push((format!("built-{name}"), bytes));
        }
        c.insert("wal_raw", wal_raw);

        // Record data of every type from the real WALs, and the real .snap file.
        let mut wal_record = Vec::new();
        let mut protowire = Vec::new();
        for version in ["3.5.1", "3.4.23"] {
            let member = td.join(format!("wal-{version}/member"));
            let mut per_type: BTreeMap<i64, usize> = BTreeMap::new();
            let mut classes = Vec::new();
            for (rtype, data) in wal_records(&member) {
                // Entries: one of each class (put, txn, lease, conf, …); other records: a few.
                if rtype == 2 {
                    let class = etcdscope::wal::record::entry(&data).map(|e| etcdscope::wal::request::class_fast(&e)).unwrap_or("bad");
                    if classes.contains(&class) {
                        continue;
                    }
                    classes.push(class);
                }
                let n = per_type.entry(rtype).or_default();
                if (*n < 4 || rtype == 2) && !data.is_empty() {
                    *n += 1;
                    wal_record.push((format!("real-{version}-type{rtype}-{n}"), data.clone()));
                    if *n == 1 {
                        protowire.push((format!("real-wal-{version}-type{rtype}"), data));
                    }
                }
            }
            let snap = std::fs::read_dir(member.join("snap"))
                .expect("snap dir")
                .map(|e| e.expect("entry").path())
                .find(|p| p.extension().is_some_and(|e| e == "snap"));
            if let Some(snap) = snap {
                wal_record.push((format!("real-{version}-snap-file"), std::fs::read(snap).expect("snap")));
            }
        }
        c.insert("wal_record", wal_record);

        // Kubernetes values from the real diff snapshot: the smaller objects of each kind.
        let mut values = kvs(&td.join("diff-3.5.1/new.db"));
        values.extend(kvs(&td.join("diff-3.5.1/old.db")));
        values.sort_by_key(|(_, v, _)| v.len());
        let mut k8s = Vec::new();
        let mut keys = Vec::new();
        let mut seen_resources = Vec::new();
        for (key, value, raw) in &values {
            let k = String::from_utf8_lossy(key).into_owned();
            keys.push(key.clone());
            let resource = k.split('/').nth(2).unwrap_or("").to_string();
            if !value.starts_with(b"k8s\0") || seen_resources.contains(&resource) {
                continue;
            }
            seen_resources.push(resource.clone());
            k8s.push((format!("real-{resource}"), value.clone()));
            if protowire.len() < 16 {
                protowire.push((format!("real-keyvalue-{resource}"), raw.clone()));
            }
        }
        // Rendering mode: two bytes choose a message type, the rest is its bytes.
        let msgs = super::targets::messages_for_seeds();
        for (full_name, resource) in
            [("k8s.io.api.core.v1.ConfigMap", "configmaps"), ("k8s.io.api.core.v1.Node", "minions"), ("k8s.io.api.apps.v1.Deployment", "deployments")]
        {
            let idx = msgs.iter().position(|m| m == full_name).expect("message in schemas") as u16;
            if let Some((_, v)) = k8s.iter().find(|(n, _)| n == &format!("real-{resource}")) {
                if let Ok(etcdscope::k8s::envelope::Value::Protobuf(u)) = etcdscope::k8s::envelope::classify(v) {
                    k8s.push((format!("message-{full_name}"), [&idx.to_le_bytes()[..], u.raw].concat()));
                }
            }
        }
        c.insert("k8s_protobuf", k8s.clone());
        c.insert("protowire", protowire);

        // Envelopes: protobuf, JSON, CBOR, each provider's ciphertext, KMS, malformed prefixes.
        let mut r = Recipe::new(&[]);
        let obj = etcd_builder::Object::from_recipe(&mut r);
        let mut widget = obj.clone();
        widget.labels.push(("app".into(), "web".into()));
        let json = widget.json_value();
        let cbor = widget.cbor_value();
        let pb = k8s.first().map(|(_, v)| v.clone()).unwrap_or_else(|| obj.protobuf_value());
        let key = b"/registry/secrets/default/s1";
        let mut envelope = vec![
            ("protobuf".to_string(), pb.clone()),
            ("json".to_string(), json.clone()),
            ("cbor".to_string(), cbor.clone()),
            ("kms-v2".to_string(), b"k8s:enc:kms:v2:kms-provider:\x0a\x04abcd".to_vec()),
            ("kms-v1-unknown".to_string(), b"k8s:enc:kms:v1:other:payload".to_vec()),
            ("malformed-prefix".to_string(), b"k8s:enc:aescbc".to_vec()),
            ("unknown-provider".to_string(), b"k8s:enc:rot13:v9:k:xyz".to_vec()),
            ("yaml-storage".to_string(), b"apiVersion: v1\nkind: Pod\n".to_vec()),
        ];
        for (name, provider, secret, nonce_len, plain) in [
            ("aescbc", Provider::AesCbc, etcd_builder::AESCBC_KEY, 16, &pb),
            ("aesgcm", Provider::AesGcm, etcd_builder::AESGCM_KEY, 12, &json),
            ("secretbox", Provider::Secretbox, etcd_builder::SECRETBOX_KEY, 24, &cbor),
        ] {
            let key_name = match provider {
                Provider::AesCbc => "key1",
                Provider::AesGcm => "key2",
                _ => "key3",
            };
            let v = seal(provider, key_name, &secret, key, &vec![7u8; nonce_len], plain).expect("seal");
            envelope.push((format!("{name}-sealed"), v));
        }
        let colons = seal(Provider::AesGcm, "key:with:colons", &etcd_builder::AESGCM_KEY, key, &[5u8; 12], &json).expect("seal");
        envelope.push(("aesgcm-key-name-with-colons".into(), colons));
        c.insert("envelope", envelope);

        // Keys: every key of the real snapshots, and kubectl type names.
        keys.sort();
        keys.dedup();
        let mut registry_key: Vec<(String, Vec<u8>)> = keys.iter().take(40).enumerate().map(|(i, k)| (format!("real-key-{i:02}"), k.clone())).collect();
        for (i, k) in [
            "/registry/services/specs/default/kubernetes",
            "/registry/example.com/widgets/default/w1",
            "/registry/apiextensions.k8s.io/customresourcedefinitions/widgets.example.com",
            "compact_rev_key",
            "/registry/masterleases/10.0.0.1",
            "deploy.apps/web/team-a",
            "wd/w1",
            "app in (web,api),!tier",
            "metadata.name=web",
        ]
        .iter()
        .enumerate()
        {
            registry_key.push((format!("text-{i:02}"), k.as_bytes().to_vec()));
        }
        c.insert("registry_key", registry_key);

        // EncryptionConfigurations, good and bad.
        let good = ENCRYPTION_CONFIG.to_string();
        let cfg = |body: &str| format!("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n{body}");
        let encryption_config = vec![
            ("full".to_string(), good.into_bytes()),
            ("identity-only".into(), cfg("  - resources: [secrets]\n    providers:\n      - identity: {}\n").into_bytes()),
            ("kms-v1".into(), cfg("  - resources: [secrets]\n    providers:\n      - kms:\n          name: legacy\n          endpoint: unix:///kms.sock\n          cachesize: 100\n          timeout: 3s\n").into_bytes()),
            ("bad-base64".into(), cfg("  - resources: [secrets]\n    providers:\n      - aescbc:\n          keys:\n            - name: k\n              secret: not*base64\n").into_bytes()),
            ("bad-key-size".into(), cfg("  - resources: [secrets]\n    providers:\n      - secretbox:\n          keys:\n            - name: k\n              secret: AQID\n").into_bytes()),
            ("two-kinds".into(), cfg("  - resources: [secrets]\n    providers:\n      - identity: {}\n        aesgcm: {keys: []}\n").into_bytes()),
            ("no-providers".into(), cfg("  - resources: ['*.apps']\n    providers: []\n").into_bytes()),
            ("wrong-kind".into(), b"apiVersion: v1\nkind: ConfigMap\n".to_vec()),
            ("json-form".into(), br#"{"apiVersion":"apiserver.config.k8s.io/v1","kind":"EncryptionConfiguration","resources":[{"resources":["secrets"],"providers":[{"aesgcm":{"keys":[{"name":"k","secret":"AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="}]}}]}]}"#.to_vec()),
        ];
        c.insert("encryption_config", encryption_config);
        c
    }
}

#[test]
#[ignore = "writes fuzz/corpus/*/seed-*; run with ETCDSCOPE_FUZZ_WRITE_SEEDS=1"]
fn write_seeds() {
    assert_eq!(std::env::var("ETCDSCOPE_FUZZ_WRITE_SEEDS").as_deref(), Ok("1"), "set ETCDSCOPE_FUZZ_WRITE_SEEDS=1 to rewrite the seeds");
    for (name, seeds) in seeds::all() {
        let dir = fuzz_dir().join("corpus").join(name);
        std::fs::create_dir_all(&dir).expect("corpus dir");
        for old in files(&dir) {
            if old.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("seed-")) {
                std::fs::remove_file(old).expect("remove old seed");
            }
        }
        for (seed, bytes) in seeds {
            std::fs::write(dir.join(format!("seed-{seed}")), bytes).expect("write seed");
        }
    }
}

/// The structure-aware targets are worth their name only if most recipes build input that is
/// read to the end: files that open and walk, backends with an MVCC store, WALs that scan.
#[test]
fn most_recipes_build_readable_input() {
    use etcdscope::bolt::Db;
    use targets::recipe::Recipe;
    let file: std::sync::Arc<Path> = Path::new("recipe.db").into();
    let n = 300;
    let (mut bolt_ok, mut store_ok, mut wal_ok) = (0, 0, 0);
    for i in 0..n {
        let r = seeds_noise(i, 64 + (i as usize * 37) % 900);
        let bytes = targets::bolt_builder::file_from_recipe(&mut Recipe::new(&r));
        if let Ok(db) = Db::open(&bytes, file.clone()) {
            bolt_ok += u32::from(etcdscope::bolt::space::measure(&db).is_ok());
        }
        let mut rec = Recipe::new(&r);
        let writes = targets::etcd_builder::history_from_recipe(&mut rec, 0, 48);
        let bytes = targets::etcd_builder::backend_file(&mut rec, &writes);
        if let Ok(db) = Db::open(&bytes, file.clone()) {
            if let Ok(store) = etcdscope::etcd::Store::open(etcdscope::etcd::Backend::new(db)) {
                store_ok += u32::from(store.history_counts().is_ok_and(|c| c.revisions as usize == writes.len()));
            }
        }
        let member = targets::wal_builder::member_from_recipe(&mut Recipe::new(&r));
        let dir = std::env::temp_dir().join(format!("etcdscope-recipe-wal-{}-{i}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        for (name, seg) in &member.wal {
            std::fs::write(dir.join(name), seg).expect("segment");
        }
        let segments = etcdscope::wal::segment::discover(&dir).expect("discover");
        let wal = etcdscope::wal::frame::Wal::open(segments).expect("wal");
        let mut damaged = false;
        let scanned = wal.scan(false, &mut |e| {
            damaged |= matches!(e, etcdscope::wal::frame::Event::Damage(_));
            Ok(())
        });
        wal_ok += u32::from(scanned.is_ok() && !damaged);
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
    let pct = |k: u32| u64::from(k) * 100 / n;
    eprintln!("of {n} recipes: bbolt files measured {}%, MVCC stores with every write {}%, WALs without damage {}%", pct(bolt_ok), pct(store_ok), pct(wal_ok));
    assert!(pct(bolt_ok) >= 70 && pct(store_ok) >= 70 && pct(wal_ok) >= 70, "the builders make too much unreadable input");
}

/// The damaged-file recipes make what they say: the overlapping-value recipe a file whose
/// nested inline bucket values overlap (check names it), the truncation recipe a file shorter
/// than its meta (refused, read permissively), a sound recipe a file salvage finds whole.
#[test]
fn damaged_file_recipes_make_what_they_say() {
    use etcdscope::bolt::Db;
    let file: std::sync::Arc<Path> = Path::new("recipe.db").into();
    let (mut overlaps, mut truncated, mut sound) = (0, 0, 0);
    for i in 0..40u64 {
        for (shape, what) in [(1u8, "overlapping"), (6, "truncated"), (0, "sound")] {
            let mut data = vec![shape];
            data.extend(seeds_noise(i + 1, 300));
            let bytes = targets::salvage_input(&data);
            let Ok(db) = Db::open_permissive(&bytes, file.clone()) else { continue };
            let mut findings = Vec::new();
            let _ = etcdscope::bolt::check::check_tree(&db, &mut findings, &Default::default());
            let says = |words: &str| findings.iter().any(|f| f.what.contains(words));
            match what {
                "overlapping" => overlaps += u32::from(says("overlaps the previous nested bucket")),
                "truncated" => truncated += u32::from(db.truncation().is_some() && Db::open(&bytes, file.clone()).is_err() && says("file is truncated")),
                _ => sound += u32::from(findings.is_empty()),
            }
        }
    }
    eprintln!("of 40 recipes each: {overlaps} overlapping values found, {truncated} truncated files, {sound} sound files");
    assert!(overlaps >= 30 && truncated >= 20 && sound >= 30, "the damaged-file recipes miss what they are for");
}

/// Deterministic bytes (xorshift64*), for recipe seeds.
fn seeds_noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}
