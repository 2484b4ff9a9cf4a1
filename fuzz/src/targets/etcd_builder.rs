//! etcd backends and Kubernetes values from a recipe, for the MVCC, diff and WAL targets: a
//! history of puts and deletes of `/registry` keys (revision keys in the `key` bucket, stored
//! mvccpb.KeyValue records), the `meta`, `members`, `lease` and `cluster` buckets, and object
//! values in every encoding the API server writes (protobuf, JSON, CBOR, encrypted at rest), so
//! the fuzzer spends its time in the MVCC scan and the decoders rather than in failed opens.

use super::bolt_builder::{BoltWriter, BucketSpec, Item, MetaPlan, PAGE_SIZES};
use super::recipe::*;
use etcdscope::k8s::encryption::{seal, Provider};

/// The keys the encryption-aware decoders hold (see `ENCRYPTION_CONFIG` in mod.rs).
pub const AESCBC_KEY: [u8; 32] = [1; 32];
pub const AESGCM_KEY: [u8; 32] = [2; 32];
pub const SECRETBOX_KEY: [u8; 32] = [3; 32];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ConfigMap,
    Pod,
    Node,
    Secret,
    Deployment,
    Namespace,
    Crd,
    Widget,
}

const KINDS: [Kind; 8] = [Kind::ConfigMap, Kind::Pod, Kind::Node, Kind::Secret, Kind::Deployment, Kind::Namespace, Kind::Crd, Kind::Widget];

impl Kind {
    fn api_version(self) -> &'static str {
        match self {
            Kind::Deployment => "apps/v1",
            Kind::Crd => "apiextensions.k8s.io/v1",
            Kind::Widget => "example.com/v1",
            _ => "v1",
        }
    }
    fn kind(self) -> &'static str {
        match self {
            Kind::ConfigMap => "ConfigMap",
            Kind::Pod => "Pod",
            Kind::Node => "Node",
            Kind::Secret => "Secret",
            Kind::Deployment => "Deployment",
            Kind::Namespace => "Namespace",
            Kind::Crd => "CustomResourceDefinition",
            Kind::Widget => "Widget",
        }
    }
    fn namespaced(self) -> bool {
        !matches!(self, Kind::Node | Kind::Namespace | Kind::Crd)
    }
    fn key(self, ns: &str, name: &str) -> String {
        match self {
            Kind::ConfigMap => format!("/registry/configmaps/{ns}/{name}"),
            Kind::Pod => format!("/registry/pods/{ns}/{name}"),
            Kind::Node => format!("/registry/minions/{name}"),
            Kind::Secret => format!("/registry/secrets/{ns}/{name}"),
            Kind::Deployment => format!("/registry/deployments/{ns}/{name}"),
            Kind::Namespace => format!("/registry/namespaces/{name}"),
            Kind::Crd => "/registry/apiextensions.k8s.io/customresourcedefinitions/widgets.example.com".into(),
            Kind::Widget => format!("/registry/example.com/widgets/{ns}/{name}"),
        }
    }
}

/// One Kubernetes object, before it is encoded.
#[derive(Debug, Clone)]
pub struct Object {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub labels: Vec<(String, String)>,
    pub owners: Vec<(String, String, String)>,
    pub node: String,
    pub data: Vec<(String, String)>,
    pub image: String,
    /// Recipe bytes appended to the protobuf message (unknown or malformed fields).
    pub tail: Vec<u8>,
}

const NAMESPACES: [&str; 3] = ["default", "team-a", "kube-system"];
const NAMES: [&str; 5] = ["web", "api", "node-1", "node-2", "cm-1"];
const UIDS: [&str; 5] = ["uid-0", "uid-1", "uid-2", "uid-3", ""];
const WORDS: [&str; 6] = ["app", "web", "tier", "", "x\"y", "ünï"];

impl Object {
    pub fn from_recipe(r: &mut Recipe<'_>) -> Object {
        let kind = KINDS[r.below(KINDS.len())];
        let mut o = Object {
            kind,
            namespace: if kind.namespaced() { r.pick(&NAMESPACES).to_string() } else { String::new() },
            name: if kind == Kind::Crd { "widgets.example.com".into() } else { r.pick(&NAMES).to_string() },
            uid: r.pick(&UIDS).to_string(),
            labels: Vec::new(),
            owners: Vec::new(),
            node: format!("node-{}", r.below(3)),
            data: Vec::new(),
            image: format!("nginx:1.{}", r.u8()),
            tail: Vec::new(),
        };
        for _ in 0..r.below(3) {
            o.labels.push((r.pick(&WORDS).to_string(), r.pick(&WORDS).to_string()));
        }
        for _ in 0..r.below(3) {
            let kind = r.pick(&["ReplicaSet", "Deployment", "Node", "Widget"]).to_string();
            o.owners.push((kind, r.pick(&NAMES).to_string(), r.pick(&UIDS).to_string()));
        }
        for _ in 0..r.below(4) {
            let k = r.pick(&WORDS).to_string();
            let v = if r.bool() { r.text(12) } else { r.pick(&WORDS).to_string() };
            o.data.push((k, v));
        }
        if r.below(4) == 0 {
            o.tail = r.bytes(24).to_vec();
        }
        o
    }

    pub fn key(&self) -> Vec<u8> {
        self.kind.key(&self.namespace, &self.name).into_bytes()
    }

    fn meta_proto(&self) -> Vec<u8> {
        let mut m = Vec::new();
        field_bytes(&mut m, 1, self.name.as_bytes());
        if !self.namespace.is_empty() {
            field_bytes(&mut m, 3, self.namespace.as_bytes());
        }
        if !self.uid.is_empty() {
            field_bytes(&mut m, 5, self.uid.as_bytes());
        }
        for (k, v) in &self.labels {
            let mut e = Vec::new();
            field_bytes(&mut e, 1, k.as_bytes());
            field_bytes(&mut e, 2, v.as_bytes());
            field_bytes(&mut m, 11, &e);
        }
        for (kind, name, uid) in &self.owners {
            let mut e = Vec::new();
            field_bytes(&mut e, 5, b"apps/v1");
            field_bytes(&mut e, 1, kind.as_bytes());
            field_bytes(&mut e, 3, name.as_bytes());
            field_bytes(&mut e, 4, uid.as_bytes());
            field_varint(&mut e, 6, 1);
            field_bytes(&mut m, 13, &e);
        }
        m
    }

    fn pod_spec_proto(&self) -> Vec<u8> {
        let mut c = Vec::new();
        field_bytes(&mut c, 1, b"c");
        field_bytes(&mut c, 2, self.image.as_bytes());
        let mut spec = Vec::new();
        field_bytes(&mut spec, 2, &c);
        field_bytes(&mut spec, 10, self.node.as_bytes());
        spec
    }

    /// The object's own message (runtime.Unknown's `raw`).
    pub fn proto(&self) -> Vec<u8> {
        let mut raw = Vec::new();
        field_bytes(&mut raw, 1, &self.meta_proto());
        match self.kind {
            Kind::ConfigMap | Kind::Secret | Kind::Widget | Kind::Crd => {
                for (k, v) in &self.data {
                    let mut e = Vec::new();
                    field_bytes(&mut e, 1, k.as_bytes());
                    field_bytes(&mut e, 2, v.as_bytes());
                    field_bytes(&mut raw, 2, &e);
                }
                if self.kind == Kind::Secret {
                    field_bytes(&mut raw, 3, b"Opaque");
                }
            }
            Kind::Pod => field_bytes(&mut raw, 2, &self.pod_spec_proto()),
            Kind::Deployment => {
                let mut template = Vec::new();
                field_bytes(&mut template, 1, &self.meta_proto());
                field_bytes(&mut template, 2, &self.pod_spec_proto());
                let mut spec = Vec::new();
                field_varint(&mut spec, 1, self.data.len() as u64);
                field_bytes(&mut spec, 3, &template);
                field_bytes(&mut raw, 2, &spec);
            }
            Kind::Node | Kind::Namespace => {}
        }
        raw.extend_from_slice(&self.tail);
        raw
    }

    /// `k8s\0` + runtime.Unknown, as the API server stores protobuf objects.
    pub fn protobuf_value(&self) -> Vec<u8> {
        let mut type_meta = Vec::new();
        field_bytes(&mut type_meta, 1, self.kind.api_version().as_bytes());
        field_bytes(&mut type_meta, 2, self.kind.kind().as_bytes());
        let mut v = b"k8s\0".to_vec();
        field_bytes(&mut v, 1, &type_meta);
        field_bytes(&mut v, 2, &self.proto());
        field_bytes(&mut v, 3, b"");
        field_bytes(&mut v, 4, b"");
        v
    }

    pub fn json_value(&self) -> Vec<u8> {
        let pairs = |items: &[(String, String)]| {
            let inner: Vec<String> = items.iter().map(|(k, v)| format!("{}:{}", json_str(k), json_str(v))).collect();
            format!("{{{}}}", inner.join(","))
        };
        let mut meta = vec![format!("\"name\":{}", json_str(&self.name))];
        if !self.namespace.is_empty() {
            meta.push(format!("\"namespace\":{}", json_str(&self.namespace)));
        }
        if !self.uid.is_empty() {
            meta.push(format!("\"uid\":{}", json_str(&self.uid)));
        }
        if !self.labels.is_empty() {
            meta.push(format!("\"labels\":{}", pairs(&self.labels)));
        }
        if !self.owners.is_empty() {
            let owners: Vec<String> = self
                .owners
                .iter()
                .map(|(k, n, u)| format!("{{\"apiVersion\":\"apps/v1\",\"kind\":{},\"name\":{},\"uid\":{}}}", json_str(k), json_str(n), json_str(u)))
                .collect();
            meta.push(format!("\"ownerReferences\":[{}]", owners.join(",")));
        }
        let body = match self.kind {
            Kind::Pod => format!(
                ",\"spec\":{{\"nodeName\":{},\"containers\":[{{\"name\":\"c\",\"image\":{}}}]}}",
                json_str(&self.node),
                json_str(&self.image)
            ),
            Kind::Crd => ",\"spec\":{\"group\":\"example.com\",\"names\":{\"plural\":\"widgets\",\"kind\":\"Widget\",\"shortNames\":[\"wd\"]},\"scope\":\"Namespaced\",\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,\"additionalPrinterColumns\":[{\"name\":\"Size\",\"type\":\"integer\",\"jsonPath\":\".spec.size\"}]}]}".to_string(),
            Kind::Deployment => format!(",\"spec\":{{\"replicas\":{},\"template\":{{\"spec\":{{\"containers\":[{{\"name\":\"c\",\"image\":{}}}]}}}}}}", self.data.len(), json_str(&self.image)),
            _ => format!(",\"data\":{}", pairs(&self.data)),
        };
        format!(
            "{{\"apiVersion\":{},\"kind\":{},\"metadata\":{{{}}}{}}}\n",
            json_str(self.kind.api_version()),
            json_str(self.kind.kind()),
            meta.join(","),
            body
        )
        .into_bytes()
    }

    /// Self-described CBOR, as the API server writes custom resources with the CBOR serializer.
    pub fn cbor_value(&self) -> Vec<u8> {
        let mut v = vec![0xd9, 0xd9, 0xf7];
        cbor_map(&mut v, 4);
        cbor_text(&mut v, "apiVersion");
        cbor_text(&mut v, self.kind.api_version());
        cbor_text(&mut v, "kind");
        cbor_text(&mut v, self.kind.kind());
        cbor_text(&mut v, "metadata");
        cbor_map(&mut v, 3 + usize::from(!self.labels.is_empty()));
        cbor_text(&mut v, "name");
        cbor_text(&mut v, &self.name);
        cbor_text(&mut v, "namespace");
        cbor_text(&mut v, &self.namespace);
        cbor_text(&mut v, "uid");
        cbor_text(&mut v, &self.uid);
        if !self.labels.is_empty() {
            cbor_text(&mut v, "labels");
            cbor_map(&mut v, self.labels.len());
            for (k, l) in &self.labels {
                cbor_text(&mut v, k);
                cbor_text(&mut v, l);
            }
        }
        cbor_text(&mut v, "spec");
        cbor_map(&mut v, 3);
        cbor_text(&mut v, "size");
        cbor_uint(&mut v, self.data.len() as u64);
        cbor_text(&mut v, "blob");
        cbor_bytes(&mut v, &self.tail);
        cbor_text(&mut v, "list");
        cbor_array(&mut v, self.data.len());
        for (k, _) in &self.data {
            cbor_text(&mut v, k);
        }
        v
    }
}

/// A stored value for `obj` at `key`: mostly an encoded object, sometimes encrypted at rest,
/// sometimes bytes straight from the recipe.
pub fn value_from_recipe(r: &mut Recipe<'_>, obj: &Object, key: &[u8]) -> Vec<u8> {
    let plain = match (obj.kind, r.below(8)) {
        (_, 7) => return r.bytes(40).to_vec(),
        (Kind::Widget, 0..=3) | (Kind::Crd, 0..=4) => obj.json_value(),
        (Kind::Widget, _) => obj.cbor_value(),
        (_, 0..=3) => obj.protobuf_value(),
        (_, 4 | 5) => obj.json_value(),
        _ => obj.cbor_value(),
    };
    if r.below(6) != 5 {
        return plain;
    }
    let nonce = [r.u8(); 24];
    let sealed = match r.below(5) {
        0 => seal(Provider::AesCbc, "key1", &AESCBC_KEY, key, &nonce[..16], &plain),
        1 => seal(Provider::AesGcm, "key2", &AESGCM_KEY, key, &nonce[..12], &plain),
        2 => seal(Provider::Secretbox, "key3", &SECRETBOX_KEY, key, &nonce, &plain),
        3 => Ok([b"k8s:enc:kms:v2:kms-provider:".as_slice(), r.bytes(16)].concat()),
        _ => Ok([b"k8s:enc:aescbc:v1:other:".as_slice(), &nonce[..16], r.bytes(32)].concat()),
    };
    let mut v = sealed.unwrap_or(plain);
    // A damaged ciphertext now and then.
    if r.below(8) == 7 && !v.is_empty() {
        let at = r.below(v.len());
        v[at] ^= 0x55;
    }
    v
}

/// One write of the history: a put, a delete (tombstone) or a revision-bump marker.
#[derive(Debug, Clone)]
pub struct Write {
    pub main: i64,
    pub sub: i64,
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
    pub marker: bool,
    pub create: i64,
    pub version: i64,
    pub lease: i64,
}

const PLAIN_KEYS: [&[u8]; 5] = [b"foo", b"/registry/masterleases/10.0.0.1", b"compact_rev_key", b"/registry/ranges/serviceips", b"/registry/"];

/// `n` writes at increasing revisions (a few share a main revision, as a txn's do).
pub fn history_from_recipe(r: &mut Recipe<'_>, start: i64, n: usize) -> Vec<Write> {
    let mut out: Vec<Write> = Vec::with_capacity(n);
    let (mut main, mut sub) = (start, 0);
    for i in 0..n {
        if r.exhausted() && i > 2 {
            break;
        }
        let tag = r.u8();
        if i == 0 || tag % 6 != 0 {
            main += 1 + i64::from(tag >> 7);
            sub = 0;
        } else {
            sub += 1;
        }
        if tag % 23 == 5 {
            out.push(Write { main, sub, key: Vec::new(), value: None, marker: true, create: 0, version: 0, lease: 0 });
            continue;
        }
        let (key, value) = if tag % 5 == 4 {
            let key = match r.below(3) {
                0 => r.pick(&PLAIN_KEYS).to_vec(),
                1 => r.bytes(20).to_vec(),
                _ => b"/registry/example.com/gadgets/default/g1".to_vec(),
            };
            (key, r.bytes(16).to_vec())
        } else {
            let obj = Object::from_recipe(r);
            let key = obj.key();
            let value = value_from_recipe(r, &obj, &key);
            (key, value)
        };
        let previous = out.iter().rev().find(|w| !w.marker && w.key == key);
        let live = previous.is_some_and(|w| w.value.is_some());
        let delete = live && r.below(4) == 0;
        let (create, version) = match previous {
            Some(p) if p.value.is_some() => (p.create, p.version + 1),
            _ => (main, 1),
        };
        let lease = if r.below(6) == 0 { i64::from(r.u8() % 3) + 1 } else { 0 };
        out.push(Write { main, sub, key, value: (!delete).then_some(value), marker: false, create, version, lease });
    }
    out
}

fn revision_key(main: i64, sub: i64, tombstone: bool) -> Vec<u8> {
    let mut k = main.to_be_bytes().to_vec();
    k.push(b'_');
    k.extend_from_slice(&sub.to_be_bytes());
    if tombstone {
        k.push(b't');
    }
    k
}

/// The stored mvccpb.KeyValue of a write.
pub fn key_value(w: &Write) -> Vec<u8> {
    let mut kv = Vec::new();
    field_bytes(&mut kv, 1, &w.key);
    if let Some(v) = &w.value {
        field_varint(&mut kv, 2, w.create as u64);
        field_varint(&mut kv, 3, w.main as u64);
        field_varint(&mut kv, 4, w.version as u64);
        field_bytes(&mut kv, 5, v);
        if w.lease != 0 {
            field_varint(&mut kv, 6, w.lease as u64);
        }
    }
    kv
}

/// An etcd backend holding `writes`, with the meta, members, lease and cluster buckets.
pub fn backend_file(r: &mut Recipe<'_>, writes: &[Write]) -> Vec<u8> {
    backend_file_with(r, writes, Vec::new())
}

/// [`backend_file`], with `extra` entries in the root bucket (a crafted bucket, say).
pub fn backend_file_with(r: &mut Recipe<'_>, writes: &[Write], extra: Vec<(Vec<u8>, Item)>) -> Vec<u8> {
    let ps = PAGE_SIZES[r.below(PAGE_SIZES.len())];
    let mut plan = MetaPlan::clean();
    // Damage stays rare here: these targets are about what lies past a sound file.
    if r.below(8) == 7 {
        plan = MetaPlan::from_recipe(r);
    }
    let mut key = BucketSpec::new();
    key.leaf_max = 1 + r.below(8);
    key.fanout = 2 + r.below(4);
    for w in writes {
        let rk = if w.marker { revision_key(w.main, w.sub, false) } else { revision_key(w.main, w.sub, w.value.is_none()) };
        let v = if w.marker { Vec::new() } else { key_value(w) };
        key.entries.push((rk, Item::Value(v)));
    }
    if r.below(16) == 15 {
        // A key that is not a revision key.
        key.entries.push((r.bytes(18).to_vec(), Item::Value(r.bytes(8).to_vec())));
    }
    key.normalize();

    let last = writes.last().map(|w| w.main).unwrap_or(1);
    let mut meta = BucketSpec::new();
    meta.inline = r.bool();
    let put = |spec: &mut BucketSpec, k: &str, v: Vec<u8>| spec.entries.push((k.as_bytes().to_vec(), Item::Value(v)));
    put(&mut meta, "consistent_index", (last as u64 + 5).to_be_bytes().to_vec());
    if r.below(4) != 0 {
        put(&mut meta, "term", u64::from(r.u8() % 4 + 1).to_be_bytes().to_vec());
    }
    match r.below(6) {
        5 => put(&mut meta, "confState", r.bytes(24).to_vec()),
        4 => {}
        _ => put(&mut meta, "confState", b"{\"voters\":[1311768467463790320],\"auto_leave\":false}".to_vec()),
    }
    if r.below(3) == 2 {
        let compact = (r.below(last.max(1) as usize + 2) as i64).max(1);
        put(&mut meta, "scheduledCompactRev", revision_key(compact, 0, false));
        if r.bool() {
            put(&mut meta, "finishedCompactRev", revision_key(compact, 0, false));
        }
    }
    if r.below(4) == 3 {
        put(&mut meta, "storageVersion", b"3.6.0".to_vec());
    }
    if r.below(12) == 11 {
        put(&mut meta, "consistent_index", r.bytes(9).to_vec());
    }
    meta.normalize();

    let mut members = BucketSpec::new();
    for i in 0..r.below(3) {
        let id = 0x1234_5678_9abc_def0u64 + i as u64;
        let json = if r.below(10) == 9 {
            r.bytes(20).to_vec()
        } else {
            format!("{{\"id\":{id},\"peerURLs\":[\"http://127.0.0.1:2380\"],\"name\":\"m{i}\",\"clientURLs\":null,\"isLearner\":{}}}", r.bool()).into_bytes()
        };
        members.entries.push((format!("{id:x}").into_bytes(), Item::Value(json)));
    }
    let mut removed = BucketSpec::new();
    if r.below(4) == 3 {
        let id = if r.bool() { "abcdef".into() } else { r.text(6) };
        removed.entries.push((id.into_bytes(), Item::Value(b"removed".to_vec())));
    }
    let mut leases = BucketSpec::new();
    for id in 1..=r.below(3) as i64 {
        let mut l = Vec::new();
        field_varint(&mut l, 1, id as u64);
        field_varint(&mut l, 2, 60);
        if r.below(8) == 7 {
            l = r.bytes(10).to_vec();
        }
        leases.entries.push((id.to_be_bytes().to_vec(), Item::Value(l)));
    }
    let mut cluster = BucketSpec::new();
    put(&mut cluster, "clusterVersion", b"3.5.0".to_vec());

    let mut root = BucketSpec::new();
    root.leaf_max = 2 + r.below(8);
    for (name, spec) in [("key", key), ("meta", meta), ("members", members), ("members_removed", removed), ("lease", leases), ("cluster", cluster)] {
        root.entries.push((name.as_bytes().to_vec(), Item::Bucket(spec)));
    }
    root.entries.extend(extra);
    root.normalize();
    BoltWriter::new(ps).finish(&root, &plan)
}
