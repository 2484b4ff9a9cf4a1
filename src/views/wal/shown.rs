//! `wal`'s lines and summary as typed, serializable values: what each record says, in the
//! layout docs/commands/wal.md documents, so a printer only chooses the format (`serde_json`
//! compact for `-o jsonl`, pretty for `-o json`, a cell of the table). Each value borrows the
//! [`WalLine`] it shows and is built one line at a time, so nothing grows with the log.
//!
//! Field names follow docs/architecture.md ("One JSON naming convention"): a field etcd's
//! messages have keeps its protobuf name (`term`, `vote`, `commit`, `range_end`, `prev_kv`,
//! `node_id`, `cluster_id`, …); ours are lowerCamelCase (`inDb`, `keyText`, `hardState`, …).
//! A bytes field of etcd's is written as docs/architecture.md's "Keys, objects and two sides in
//! JSON" says, with `views::record`'s helpers: etcd's name in base64 (`key`, `range_end`,
//! `value`, `context`) and its text beside it (`keyText`, `rangeEndText`; `valueText` and
//! `contextText` only when UTF-8). A value shown as a decoded Kubernetes object, or withheld,
//! has no `value`: `valueBytes` with `object`, `valueEncrypted` or `valueRedacted`.
//! Passwords and tokens are replaced by their lengths. A put's Kubernetes object is of the type
//! the printer chooses (`O`): its text written in place, or a parsed value to indent.

use crate::etcd::pb::{authpb, etcdserverpb, raftpb};
use crate::k8s::decoder::ObjectJson;
use crate::views::ids::Hex;
use crate::views::record::{key_entries, value_entries};
use crate::views::wal::{DamageReport, EntryLine, InvalidReport, MemberState, OtherRecord, RecordAt, Request, StoredValue, WalLine, WalSummary};
use crate::wal::record::entry_type_name;
use crate::wal::request::v3_op;
use crate::wal::snap::SnapStatus;
use crate::wal::startup::{StartFrom, StartPoint};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::collections::BTreeMap;

/// A password, token or hash: only its length is shown.
#[derive(Debug, Clone, Copy)]
pub struct Withheld<'a>(pub &'a str);

impl Serialize for Withheld<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("<redacted, {} bytes>", self.0.len()))
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Where a record is.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct AtView<'a> {
    pub segment: &'a str,
    pub offset: u64,
    pub record: u64,
}

impl<'a> From<&'a RecordAt> for AtView<'a> {
    fn from(at: &'a RecordAt) -> Self {
        AtView { segment: &at.segment, offset: at.offset, record: at.record }
    }
}

/// One line of `wal`'s output.
#[derive(Debug)]
pub enum LineView<'a, O> {
    Entry(Box<EntryView<'a, O>>),
    Record(RecordLine<'a>),
    Damage(DamageView<'a>),
}

impl<O: Serialize> Serialize for LineView<'_, O> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            LineView::Entry(e) => e.serialize(s),
            LineView::Record(r) => r.serialize(s),
            LineView::Damage(d) => d.serialize(s),
        }
    }
}

/// A record other than an entry, or one that does not decode: where, then `kind` and its fields.
#[derive(Debug, Serialize)]
pub struct RecordLine<'a> {
    #[serde(flatten)]
    pub at: AtView<'a>,
    #[serde(flatten)]
    pub record: RecordView<'a>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecordView<'a> {
    Crc {
        /// The running CRC-32C, eight hex digits.
        crc: String,
    },
    Metadata {
        node_id: Hex,
        cluster_id: Hex,
    },
    State {
        term: u64,
        vote: Hex,
        commit: u64,
    },
    Snapshot {
        index: u64,
        term: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        conf_state: Option<ConfStateView<'a>>,
    },
    Unknown {
        #[serde(rename = "type")]
        record_type: i64,
    },
    Undecodable {
        error: &'a str,
    },
}

/// raftpb.ConfState, member IDs in hex.
#[derive(Debug, Serialize)]
pub struct ConfStateView<'a> {
    #[serde(serialize_with = "crate::views::ids::hex_list")]
    pub voters: &'a [u64],
    #[serde(serialize_with = "crate::views::ids::hex_list")]
    pub learners: &'a [u64],
    #[serde(serialize_with = "crate::views::ids::hex_list")]
    pub voters_outgoing: &'a [u64],
    #[serde(serialize_with = "crate::views::ids::hex_list")]
    pub learners_next: &'a [u64],
    pub auto_leave: bool,
}

impl<'a> From<&'a raftpb::ConfState> for ConfStateView<'a> {
    fn from(cs: &'a raftpb::ConfState) -> Self {
        ConfStateView {
            voters: &cs.voters,
            learners: &cs.learners,
            voters_outgoing: &cs.voters_outgoing,
            learners_next: &cs.learners_next,
            auto_leave: cs.auto_leave(),
        }
    }
}

/// Damage met while reading, and where reading went on (`--best-effort`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DamageView<'a> {
    pub kind: &'static str,
    pub segment: &'a str,
    pub offset: u64,
    pub record: u64,
    /// `torn` or `corrupt`.
    pub damage: &'static str,
    pub error: &'a str,
    pub resumed_at: Option<SegmentOffset<'a>>,
}

#[derive(Debug, Serialize)]
pub struct SegmentOffset<'a> {
    pub segment: &'a str,
    pub offset: u64,
}

/// A raft entry and its request.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryView<'a, O> {
    #[serde(flatten)]
    pub at: AtView<'a>,
    pub kind: &'static str,
    pub index: u64,
    pub term: u64,
    /// raftpb's entry type: `normal`, `conf_change`, `conf_change_v2`.
    #[serde(rename = "type")]
    pub entry_type: &'static str,
    pub class: &'static str,
    pub committed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_db: Option<bool>,
    #[serde(skip_serializing_if = "is_false")]
    pub superseded: bool,
    #[serde(flatten)]
    pub request: RequestView<'a, O>,
}

/// What an entry asks, as fields of its line.
#[derive(Debug)]
pub enum RequestView<'a, O> {
    /// A new leader's empty entry: no fields.
    Empty,
    Undecodable(&'a str),
    ConfChange(ConfChangeView<'a>),
    ConfChangeV2(ConfChangeV2View<'a>),
    V2(V2View<'a>),
    V3(V3View<'a, O>),
}

impl<O: Serialize> Serialize for RequestView<'_, O> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            RequestView::Empty => {}
            RequestView::Undecodable(why) => m.serialize_entry("error", why)?,
            RequestView::ConfChange(c) => m.serialize_entry("confChange", c)?,
            RequestView::ConfChangeV2(c) => m.serialize_entry("confChangeV2", c)?,
            RequestView::V2(r) => m.serialize_entry("v2", r)?,
            RequestView::V3(r) => {
                m.serialize_entry("op", r.op)?;
                if let Some(id) = r.request_id {
                    m.serialize_entry("requestId", &id)?;
                }
                if let Some(u) = r.username {
                    m.serialize_entry("username", u)?;
                }
                if let Some(a) = r.auth_revision {
                    m.serialize_entry("auth_revision", &a)?;
                }
                if let Some(body) = &r.body {
                    m.serialize_entry(r.op, body)?;
                }
            }
        }
        m.end()
    }
}

/// The member a conf change carries (etcd's member JSON, its `id` in hex), or its context bytes
/// when they are not JSON.
#[derive(Debug)]
pub enum ConfContext<'a> {
    None,
    Member(serde_json::Value),
    Bytes(&'a [u8]),
}

impl ConfContext<'_> {
    fn of(ctx: &[u8]) -> ConfContext<'_> {
        if ctx.is_empty() {
            return ConfContext::None;
        }
        match serde_json::from_slice::<serde_json::Value>(ctx) {
            Ok(mut v) => {
                // Member IDs are u64: shown in hex, as etcdctl does.
                if let Some(id) = v.get("id").and_then(serde_json::Value::as_u64) {
                    v["id"] = serde_json::Value::String(format!("{id:x}"));
                }
                ConfContext::Member(v)
            }
            Err(_) => ConfContext::Bytes(ctx),
        }
    }

    fn write<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        match self {
            ConfContext::None => Ok(()),
            ConfContext::Member(v) => m.serialize_entry("member", v),
            ConfContext::Bytes(b) => value_entries(m, "context", "contextText", b),
        }
    }
}

/// raftpb.ConfChange: `change` without its `ConfChange` prefix, the node in hex.
#[derive(Debug)]
pub struct ConfChangeView<'a> {
    pub change: &'static str,
    pub node_id: u64,
    pub id: u64,
    pub context: ConfContext<'a>,
}

impl Serialize for ConfChangeView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("change", self.change)?;
        m.serialize_entry("node_id", &Hex(self.node_id))?;
        if self.id != 0 {
            m.serialize_entry("id", &self.id)?;
        }
        self.context.write(&mut m)?;
        m.end()
    }
}

/// raftpb.ConfChangeV2.
#[derive(Debug)]
pub struct ConfChangeV2View<'a> {
    pub transition: &'static str,
    pub changes: Vec<ConfChangeSingleView>,
    pub context: ConfContext<'a>,
}

#[derive(Debug, Serialize)]
pub struct ConfChangeSingleView {
    pub change: &'static str,
    pub node_id: Hex,
}

impl Serialize for ConfChangeV2View<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("transition", self.transition)?;
        m.serialize_entry("changes", &self.changes)?;
        self.context.write(&mut m)?;
        m.end()
    }
}

/// A v2 store request (etcd's `Request`): flags only when set; the value of an auth record
/// (`/2/…`, bcrypt hashes) only by its length.
#[derive(Debug)]
pub struct V2View<'a>(pub &'a etcdserverpb::Request);

impl Serialize for V2View<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &r.id())?;
        m.serialize_entry("method", r.method())?;
        m.serialize_entry("path", r.path())?;
        if r.path().starts_with("/2/") {
            m.serialize_entry("val", &Withheld(r.val()))?;
        } else if r.val.is_some() {
            m.serialize_entry("val", r.val())?;
        }
        for (name, set) in [("dir", r.dir()), ("prev_exist", r.prev_exist()), ("recursive", r.recursive()), ("refresh", r.refresh())] {
            if set {
                m.serialize_entry(name, &true)?;
            }
        }
        if r.expiration() != 0 {
            m.serialize_entry("expiration", &r.expiration())?;
        }
        m.end()
    }
}

/// A v3 request (`InternalRaftRequest`): its operation's name, the header's facts, and the
/// operation's body under its name (none for `none`).
#[derive(Debug)]
pub struct V3View<'a, O> {
    /// The request's field name: `put`, `txn`, `lease_grant`, …, or `none`.
    pub op: &'static str,
    pub request_id: Option<Hex>,
    pub username: Option<&'a str>,
    pub auth_revision: Option<u64>,
    pub body: Option<V3Body<'a, O>>,
}

/// The body of a v3 request, with etcd's protobuf field names.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum V3Body<'a, O> {
    Put(PutView<'a, O>),
    Range(RangeView<'a>),
    Txn(TxnView<'a, O>),
    Compaction {
        revision: i64,
        physical: bool,
    },
    LeaseGrant {
        id: Hex,
        ttl: i64,
    },
    LeaseRevoke {
        id: Hex,
    },
    LeaseCheckpoint {
        checkpoints: Vec<LeaseCheckpointView>,
    },
    Alarm {
        action: &'static str,
        member_id: Hex,
        alarm: &'static str,
    },
    Authenticate {
        name: &'a str,
        password: Withheld<'a>,
        simple_token: Withheld<'a>,
    },
    UserAdd {
        name: &'a str,
        password: Withheld<'a>,
        hashed_password: Withheld<'a>,
        no_password: bool,
    },
    UserChangePassword {
        name: &'a str,
        password: Withheld<'a>,
        hashed_password: Withheld<'a>,
    },
    Name {
        name: &'a str,
    },
    UserRole {
        user: &'a str,
        role: &'a str,
    },
    NameRole {
        name: &'a str,
        role: &'a str,
    },
    Role {
        role: &'a str,
    },
    GrantPermission {
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        perm: Option<PermissionView<'a>>,
    },
    RevokePermission(RevokePermissionView<'a>),
    ClusterVersion {
        ver: &'a str,
    },
    MemberAttributes {
        member_id: Hex,
        name: Option<&'a str>,
        client_urls: &'a [String],
    },
    Downgrade {
        enabled: bool,
        ver: &'a str,
    },
    /// A request without fields of its own (auth_enable, auth_status, …).
    Nothing {},
}

#[derive(Debug, Serialize)]
pub struct LeaseCheckpointView {
    pub id: Hex,
    pub remaining_ttl: i64,
}

/// A key range: `key`, and `range_end` when set, each in base64 with its text beside it
/// (`keyText`, `rangeEndText`).
#[derive(Debug, Clone, Copy)]
pub struct KeyRange<'a> {
    pub key: &'a [u8],
    pub range_end: &'a [u8],
}

impl KeyRange<'_> {
    fn write<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        key_entries(m, "key", "keyText", self.key)?;
        if !self.range_end.is_empty() {
            key_entries(m, "range_end", "rangeEndText", self.range_end)?;
        }
        Ok(())
    }
}

/// A delete or a range read (`prev_kv` when set; `op` when it is a txn's operation).
#[derive(Debug)]
pub struct RangeView<'a> {
    pub range: KeyRange<'a>,
    pub prev_kv: bool,
    pub op: Option<&'static str>,
}

impl Serialize for RangeView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        self.range.write(&mut m)?;
        if self.prev_kv {
            m.serialize_entry("prev_kv", &true)?;
        }
        if let Some(op) = self.op {
            m.serialize_entry("op", op)?;
        }
        m.end()
    }
}

/// authpb.Permission.
#[derive(Debug)]
pub struct PermissionView<'a> {
    pub range: KeyRange<'a>,
    pub perm_type: &'static str,
}

impl Serialize for PermissionView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        self.range.write(&mut m)?;
        m.serialize_entry("type", self.perm_type)?;
        m.end()
    }
}

#[derive(Debug)]
pub struct RevokePermissionView<'a> {
    pub range: KeyRange<'a>,
    pub role: &'a str,
}

impl Serialize for RevokePermissionView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        self.range.write(&mut m)?;
        m.serialize_entry("role", self.role)?;
        m.end()
    }
}

/// A stored value as the view decided to show it.
#[derive(Debug)]
pub enum ValueView<'a, O> {
    Bytes(&'a [u8]),
    Object {
        bytes: usize,
        encoding: &'static str,
        object: O,
    },
    Encrypted {
        bytes: usize,
        provider: &'a str,
        key_name: &'a str,
    },
    /// A Secret's bytes that do not decode: only their length.
    SecretWithheld {
        bytes: usize,
    },
}

/// A put (`op` when it is a txn's operation).
#[derive(Debug)]
pub struct PutView<'a, O> {
    pub key: &'a [u8],
    pub value: ValueView<'a, O>,
    pub lease: i64,
    pub prev_kv: bool,
    pub ignore_value: bool,
    pub ignore_lease: bool,
    pub op: Option<&'static str>,
}

/// The encryption provider and the name of its key (EncryptionConfiguration's `keys[].name`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EncryptedView<'a> {
    provider: &'a str,
    key_name: &'a str,
}

impl<O: Serialize> Serialize for PutView<'_, O> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        key_entries(&mut m, "key", "keyText", self.key)?;
        match &self.value {
            ValueView::Bytes(b) => value_entries(&mut m, "value", "valueText", b)?,
            ValueView::Object { bytes, encoding, object } => {
                m.serialize_entry("valueBytes", bytes)?;
                m.serialize_entry("valueEncoding", encoding)?;
                m.serialize_entry("object", object)?;
            }
            ValueView::Encrypted { bytes, provider, key_name } => {
                m.serialize_entry("valueBytes", bytes)?;
                m.serialize_entry("valueEncrypted", &EncryptedView { provider, key_name })?;
            }
            ValueView::SecretWithheld { bytes } => {
                m.serialize_entry("valueBytes", bytes)?;
                m.serialize_entry("valueRedacted", &format!("<redacted: {bytes} bytes of a Secret that does not decode; --show-secrets to show>"))?;
            }
        }
        if self.lease != 0 {
            m.serialize_entry("lease", &Hex(self.lease as u64))?;
        }
        for (flag, set) in [("prev_kv", self.prev_kv), ("ignore_value", self.ignore_value), ("ignore_lease", self.ignore_lease)] {
            if set {
                m.serialize_entry(flag, &true)?;
            }
        }
        if let Some(op) = self.op {
            m.serialize_entry("op", op)?;
        }
        m.end()
    }
}

/// A txn: its compares, then its success and failure operations.
#[derive(Debug, Serialize)]
pub struct TxnView<'a, O> {
    pub compare: Vec<CompareView<'a>>,
    pub success: Vec<OpView<'a, O>>,
    pub failure: Vec<OpView<'a, O>>,
}

/// What a compare is compared with.
#[derive(Debug)]
pub enum CompareWith<'a> {
    None,
    Version(i64),
    CreateRevision(i64),
    ModRevision(i64),
    Lease(i64),
    Value(&'a [u8]),
    /// The value of a Secret's key: only its length.
    ValueWithheld(usize),
}

#[derive(Debug)]
pub struct CompareView<'a> {
    pub range: KeyRange<'a>,
    pub target: &'static str,
    pub result: &'static str,
    pub with: CompareWith<'a>,
}

impl Serialize for CompareView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        self.range.write(&mut m)?;
        m.serialize_entry("target", self.target)?;
        m.serialize_entry("result", self.result)?;
        match self.with {
            CompareWith::None => {}
            CompareWith::Version(v) => m.serialize_entry("version", &v)?,
            CompareWith::CreateRevision(v) => m.serialize_entry("create_revision", &v)?,
            CompareWith::ModRevision(v) => m.serialize_entry("mod_revision", &v)?,
            CompareWith::Lease(v) => m.serialize_entry("lease", &Hex(v as u64))?,
            CompareWith::Value(v) => value_entries(&mut m, "value", "valueText", v)?,
            CompareWith::ValueWithheld(len) => m.serialize_entry("valueRedacted", &format!("<redacted: {len} bytes of a Secret; --show-secrets to show>"))?,
        }
        m.end()
    }
}

/// One operation of a txn, named by `op`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum OpView<'a, O> {
    Put(PutView<'a, O>),
    Range(RangeView<'a>),
    Txn { op: &'static str, txn: TxnView<'a, O> },
    None { op: &'static str },
}

/// Hands out a request's shown values in the view's order and turns each object into the
/// printer's `O`.
struct Values<'a, 'f, O> {
    stored: std::slice::Iter<'a, StoredValue>,
    withheld_compares: std::slice::Iter<'a, Option<usize>>,
    object: &'f mut dyn FnMut(&'a ObjectJson) -> O,
}

impl<'a, O> Values<'a, '_, O> {
    fn value(&mut self, bytes: &'a [u8]) -> ValueView<'a, O> {
        match self.stored.next() {
            Some(StoredValue::Object { json, encoding }) => ValueView::Object { bytes: bytes.len(), encoding, object: (self.object)(json) },
            Some(StoredValue::Encrypted { provider, key_name }) => ValueView::Encrypted { bytes: bytes.len(), provider, key_name },
            Some(StoredValue::Bytes) => ValueView::Bytes(bytes),
            // Every put has its vetted value (views::wal pairs them in `puts` order); one
            // without is withheld rather than shown unvetted.
            Some(StoredValue::SecretRedacted) | None => ValueView::SecretWithheld { bytes: bytes.len() },
        }
    }

    fn put(&mut self, p: &'a etcdserverpb::PutRequest, op: Option<&'static str>) -> PutView<'a, O> {
        PutView { key: &p.key, value: self.value(&p.value), lease: p.lease, prev_kv: p.prev_kv, ignore_value: p.ignore_value, ignore_lease: p.ignore_lease, op }
    }

    /// This txn's compares, then its operations (nested txns' compares in turn): the order of
    /// `wal::request::compares_mut` and `puts`.
    fn txn(&mut self, t: &'a etcdserverpb::TxnRequest) -> TxnView<'a, O> {
        use etcdserverpb::compare::TargetUnion as T;
        let compare = t
            .compare
            .iter()
            .map(|c| {
                let with = match &c.target_union {
                    Some(T::Version(v)) => CompareWith::Version(*v),
                    Some(T::CreateRevision(v)) => CompareWith::CreateRevision(*v),
                    Some(T::ModRevision(v)) => CompareWith::ModRevision(*v),
                    Some(T::Lease(v)) => CompareWith::Lease(*v),
                    Some(T::Value(v)) => match self.withheld_compares.next() {
                        Some(Some(len)) => CompareWith::ValueWithheld(*len),
                        _ => CompareWith::Value(v),
                    },
                    None => CompareWith::None,
                };
                CompareView {
                    range: KeyRange { key: &c.key, range_end: &c.range_end },
                    target: c.target().as_str_name(),
                    result: c.result().as_str_name(),
                    with,
                }
            })
            .collect();
        let success = t.success.iter().map(|op| self.op(op)).collect();
        let failure = t.failure.iter().map(|op| self.op(op)).collect();
        TxnView { compare, success, failure }
    }

    fn op(&mut self, op: &'a etcdserverpb::RequestOp) -> OpView<'a, O> {
        use etcdserverpb::request_op::Request as R;
        match &op.request {
            Some(R::RequestPut(p)) => OpView::Put(self.put(p, Some("put"))),
            Some(R::RequestDeleteRange(d)) => {
                OpView::Range(RangeView { range: KeyRange { key: &d.key, range_end: &d.range_end }, prev_kv: false, op: Some("delete_range") })
            }
            Some(R::RequestRange(r)) => {
                OpView::Range(RangeView { range: KeyRange { key: &r.key, range_end: &r.range_end }, prev_kv: false, op: Some("range") })
            }
            Some(R::RequestTxn(t)) => OpView::Txn { op: "txn", txn: self.txn(t) },
            None => OpView::None { op: "none" },
        }
    }

    fn v3(&mut self, r: &'a etcdserverpb::InternalRaftRequest) -> V3View<'a, O> {
        let op = v3_op(r);
        let id = if r.id != 0 { r.id } else { r.header.as_ref().map_or(0, |h| h.id) };
        let header = r.header.as_ref();
        V3View {
            op,
            request_id: (id != 0).then_some(Hex(id)),
            username: header.map(|h| h.username.as_str()).filter(|u| !u.is_empty()),
            auth_revision: header.map(|h| h.auth_revision).filter(|&a| a != 0),
            body: (op != "none").then(|| self.v3_body(op, r)),
        }
    }

    /// The body of the request `op` names ([`v3_op`]: the first field set, in one order for
    /// the label and the body).
    fn v3_body(&mut self, op: &str, r: &'a etcdserverpb::InternalRaftRequest) -> V3Body<'a, O> {
        let range = |key: &'a [u8], range_end: &'a [u8]| KeyRange { key, range_end };
        let body = match op {
            "put" => r.put.as_ref().map(|p| V3Body::Put(self.put(p, None))),
            "delete_range" => r.delete_range.as_ref().map(|d| V3Body::Range(RangeView { range: range(&d.key, &d.range_end), prev_kv: d.prev_kv, op: None })),
            "txn" => r.txn.as_ref().map(|t| V3Body::Txn(self.txn(t))),
            "range" => r.range.as_ref().map(|rr| V3Body::Range(RangeView { range: range(&rr.key, &rr.range_end), prev_kv: false, op: None })),
            "compaction" => r.compaction.as_ref().map(|c| V3Body::Compaction { revision: c.revision, physical: c.physical }),
            "lease_grant" => r.lease_grant.as_ref().map(|g| V3Body::LeaseGrant { id: Hex(g.id as u64), ttl: g.ttl }),
            "lease_revoke" => r.lease_revoke.as_ref().map(|l| V3Body::LeaseRevoke { id: Hex(l.id as u64) }),
            "lease_checkpoint" => r.lease_checkpoint.as_ref().map(|c| V3Body::LeaseCheckpoint {
                checkpoints: c.checkpoints.iter().map(|c| LeaseCheckpointView { id: Hex(c.id as u64), remaining_ttl: c.remaining_ttl }).collect(),
            }),
            "alarm" => {
                r.alarm.as_ref().map(|a| V3Body::Alarm { action: a.action().as_str_name(), member_id: Hex(a.member_id), alarm: a.alarm().as_str_name() })
            }
            "authenticate" => r.authenticate.as_ref().map(|a| V3Body::Authenticate {
                name: &a.name,
                password: Withheld(&a.password),
                simple_token: Withheld(&a.simple_token),
            }),
            "auth_user_add" => r.auth_user_add.as_ref().map(|u| V3Body::UserAdd {
                name: &u.name,
                password: Withheld(&u.password),
                hashed_password: Withheld(&u.hashed_password),
                no_password: u.options.as_ref().is_some_and(|o: &authpb::UserAddOptions| o.no_password),
            }),
            "auth_user_change_password" => r.auth_user_change_password.as_ref().map(|u| V3Body::UserChangePassword {
                name: &u.name,
                password: Withheld(&u.password),
                hashed_password: Withheld(&u.hashed_password),
            }),
            "auth_user_delete" => r.auth_user_delete.as_ref().map(|u| V3Body::Name { name: &u.name }),
            "auth_user_get" => r.auth_user_get.as_ref().map(|u| V3Body::Name { name: &u.name }),
            "auth_user_grant_role" => r.auth_user_grant_role.as_ref().map(|g| V3Body::UserRole { user: &g.user, role: &g.role }),
            "auth_user_revoke_role" => r.auth_user_revoke_role.as_ref().map(|g| V3Body::NameRole { name: &g.name, role: &g.role }),
            "auth_role_add" => r.auth_role_add.as_ref().map(|a| V3Body::Name { name: &a.name }),
            "auth_role_delete" => r.auth_role_delete.as_ref().map(|a| V3Body::Role { role: &a.role }),
            "auth_role_get" => r.auth_role_get.as_ref().map(|a| V3Body::Role { role: &a.role }),
            "auth_role_grant_permission" => r.auth_role_grant_permission.as_ref().map(|g| {
                let perm = g.perm.as_ref().map(|p| PermissionView { range: range(&p.key, &p.range_end), perm_type: p.perm_type().as_str_name() });
                V3Body::GrantPermission { name: &g.name, perm }
            }),
            "auth_role_revoke_permission" => r
                .auth_role_revoke_permission
                .as_ref()
                .map(|g| V3Body::RevokePermission(RevokePermissionView { range: range(&g.key, &g.range_end), role: &g.role })),
            "cluster_version_set" => r.cluster_version_set.as_ref().map(|c| V3Body::ClusterVersion { ver: &c.ver }),
            "cluster_member_attr_set" => r.cluster_member_attr_set.as_ref().map(|c| {
                let attrs = c.member_attributes.as_ref();
                V3Body::MemberAttributes {
                    member_id: Hex(c.member_id),
                    name: attrs.map(|a| a.name.as_str()),
                    client_urls: attrs.map_or(&[], |a| a.client_urls.as_slice()),
                }
            }),
            "downgrade_info_set" => r.downgrade_info_set.as_ref().map(|d| V3Body::Downgrade { enabled: d.enabled, ver: &d.ver }),
            _ => None,
        };
        body.unwrap_or(V3Body::Nothing {})
    }
}

fn conf_change_name(name: &'static str) -> &'static str {
    name.trim_start_matches("ConfChange")
}

/// The request of an entry as it is shown; `object` turns each decoded Kubernetes object into
/// the printer's form.
pub fn request_view<'a, O>(request: &'a Request, object: &mut dyn FnMut(&'a ObjectJson) -> O) -> RequestView<'a, O> {
    match request {
        Request::Empty => RequestView::Empty,
        Request::Undecodable(why) => RequestView::Undecodable(why),
        Request::ConfChange(c) => RequestView::ConfChange(ConfChangeView {
            change: conf_change_name(c.r#type().as_str_name()),
            node_id: c.node_id(),
            id: c.id(),
            context: ConfContext::of(c.context()),
        }),
        Request::ConfChangeV2(c) => RequestView::ConfChangeV2(ConfChangeV2View {
            transition: c.transition().as_str_name().trim_start_matches("ConfChangeTransition"),
            changes: c.changes.iter().map(|s| ConfChangeSingleView { change: conf_change_name(s.r#type().as_str_name()), node_id: Hex(s.node_id()) }).collect(),
            context: ConfContext::of(c.context()),
        }),
        Request::V2(r) => RequestView::V2(V2View(r)),
        Request::V3 { request, values, withheld_compare_values } => {
            let mut vals = Values { stored: values.iter(), withheld_compares: withheld_compare_values.iter(), object };
            RequestView::V3(vals.v3(request))
        }
    }
}

/// One line as it is shown; `object` turns each decoded Kubernetes object into the printer's
/// form (its text, or a parsed value).
pub fn line_view<'a, O>(line: &'a WalLine, object: &mut dyn FnMut(&'a ObjectJson) -> O) -> LineView<'a, O> {
    match line {
        WalLine::Entry(e) => LineView::Entry(Box::new(entry_view(e, object))),
        WalLine::Record { at, record } => LineView::Record(RecordLine { at: at.into(), record: record_view(record) }),
        WalLine::Undecodable { at, error } => LineView::Record(RecordLine { at: at.into(), record: RecordView::Undecodable { error } }),
        WalLine::Damage(d) => LineView::Damage(damage_view(d)),
    }
}

fn entry_view<'a, O>(e: &'a EntryLine, object: &mut dyn FnMut(&'a ObjectJson) -> O) -> EntryView<'a, O> {
    EntryView {
        at: (&e.at).into(),
        kind: "entry",
        index: e.index,
        term: e.term,
        entry_type: entry_type_name(e.entry_type),
        class: e.class,
        committed: e.committed,
        in_db: e.in_db,
        superseded: e.superseded,
        request: request_view(&e.request, object),
    }
}

fn record_view(r: &OtherRecord) -> RecordView<'_> {
    match r {
        OtherRecord::Crc(c) => RecordView::Crc { crc: format!("{c:08x}") },
        OtherRecord::Metadata { node_id, cluster_id } => RecordView::Metadata { node_id: Hex(*node_id), cluster_id: Hex(*cluster_id) },
        OtherRecord::State { term, vote, commit } => RecordView::State { term: *term, vote: Hex(*vote), commit: *commit },
        OtherRecord::Snapshot { index, term, conf_state } => {
            RecordView::Snapshot { index: *index, term: *term, conf_state: conf_state.as_ref().map(ConfStateView::from) }
        }
        OtherRecord::Unknown(t) => RecordView::Unknown { record_type: *t },
    }
}

fn damage_view(d: &DamageReport) -> DamageView<'_> {
    DamageView {
        kind: "damage",
        segment: &d.segment,
        offset: d.offset,
        record: d.record,
        damage: d.kind,
        error: &d.what,
        resumed_at: d.resumed_at.as_ref().map(|(segment, offset)| SegmentOffset { segment, offset: *offset }),
    }
}

/// The summary as it is shown.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryView<'a> {
    pub dir: &'a str,
    pub segments: usize,
    pub records: u64,
    pub entries: u64,
    pub entries_by_class: &'a BTreeMap<String, u64>,
    pub first_entry: Option<IndexTerm>,
    pub last_entry: Option<IndexTerm>,
    pub hard_state: Option<HardStateView>,
    pub snapshot: Option<IndexTerm>,
    #[serde(rename = "node_id")]
    pub node_id: Option<Hex>,
    #[serde(rename = "cluster_id")]
    pub cluster_id: Option<Hex>,
    pub superseded: u64,
    pub uncommitted: u64,
    /// `ok`, or `damaged` when any damage was met.
    pub crc: &'static str,
    pub crc_verified: u64,
    pub crc_unchecked: u64,
    pub damage: Vec<DamageSummary<'a>>,
    pub invalid: Vec<InvalidView<'a>>,
    pub start: Option<StartView<'a>>,
    pub tail: Option<&'a str>,
    pub order_problems: &'a [String],
    pub empty_segments: &'a [String],
    pub ignored_files: Vec<IgnoredFile<'a>>,
    pub member: Option<MemberView<'a>>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct IndexTerm {
    pub index: u64,
    pub term: u64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct HardStateView {
    pub term: u64,
    pub vote: Hex,
    pub commit: u64,
}

#[derive(Debug, Serialize)]
pub struct DamageSummary<'a> {
    pub segment: &'a str,
    pub record: u64,
    pub offset: u64,
    pub kind: &'static str,
    pub error: &'a str,
}

/// A start-up problem: where, when one record holds it.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum InvalidView<'a> {
    At { segment: &'a str, record: u64, offset: u64, error: &'a str },
    Whole { error: &'a str },
}

/// The snapshot etcd starts from, and how that was decided.
#[derive(Debug, Serialize)]
pub struct StartView<'a> {
    pub index: u64,
    pub term: u64,
    pub from: StartFromView<'a>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum StartFromView<'a> {
    #[serde(rename_all = "camelCase")]
    SnapFile {
        snap_file: &'a str,
    },
    Said(&'static str),
}

#[derive(Debug, Serialize)]
pub struct IgnoredFile<'a> {
    pub name: &'a str,
    pub why: &'a str,
}

/// The member dir beside the WAL.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberView<'a> {
    pub snap_files: Vec<SnapFileView<'a>>,
    pub consistent_index: Option<u64>,
    pub committed_not_in_db: u64,
    pub db_problem: Option<&'a str>,
}

/// A `.snap` file: what it holds, or why etcd would refuse it.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum SnapFileView<'a> {
    #[serde(rename_all = "camelCase")]
    Ok {
        name: &'a str,
        bytes: u64,
        ok: bool,
        index: u64,
        term: u64,
        #[serde(serialize_with = "crate::views::ids::hex_list")]
        voters: &'a [u64],
        #[serde(serialize_with = "crate::views::ids::hex_list")]
        learners: &'a [u64],
        v2_store_bytes: u64,
    },
    Bad {
        name: &'a str,
        bytes: u64,
        ok: bool,
        error: &'a str,
    },
}

/// The summary as it is shown.
pub fn summary_view(s: &WalSummary) -> SummaryView<'_> {
    let pair = |p: Option<(u64, u64)>| p.map(|(index, term)| IndexTerm { index, term });
    SummaryView {
        dir: &s.dir,
        segments: s.segments,
        records: s.records,
        entries: s.entries,
        entries_by_class: &s.entries_by_class,
        first_entry: pair(s.first_entry),
        last_entry: pair(s.last_entry),
        hard_state: s.hard_state.map(|(term, vote, commit)| HardStateView { term, vote: Hex(vote), commit }),
        snapshot: pair(s.snapshot),
        node_id: s.node_id.map(Hex),
        cluster_id: s.cluster_id.map(Hex),
        superseded: s.superseded,
        uncommitted: s.uncommitted,
        crc: if s.damage.is_empty() { "ok" } else { "damaged" },
        crc_verified: s.crc_verified,
        crc_unchecked: s.crc_unchecked,
        damage: s.damage.iter().map(|d| DamageSummary { segment: &d.segment, record: d.record, offset: d.offset, kind: d.kind, error: &d.what }).collect(),
        invalid: s.invalid.iter().map(invalid_view).collect(),
        start: s.start.as_ref().map(start_view),
        tail: s.tail.as_deref(),
        order_problems: &s.order_problems,
        empty_segments: &s.empty_segments,
        ignored_files: s.ignored_files.iter().map(|(name, why)| IgnoredFile { name, why }).collect(),
        member: s.member.as_ref().map(member_view),
    }
}

fn invalid_view(i: &InvalidReport) -> InvalidView<'_> {
    match &i.segment {
        Some(segment) => InvalidView::At { segment, record: i.record, offset: i.offset, error: &i.what },
        None => InvalidView::Whole { error: &i.what },
    }
}

fn start_view(p: &StartPoint) -> StartView<'_> {
    let from = match &p.from {
        StartFrom::SnapFile(name) => StartFromView::SnapFile { snap_file: name },
        StartFrom::NoSnapshot => StartFromView::Said("no usable .snap file: etcd replays the log from index 0"),
        StartFrom::Assumed => StartFromView::Said("assumed: the newest committed snapshot record (no snap/ dir here)"),
    };
    StartView { index: p.index, term: p.term, from }
}

fn member_view(m: &MemberState) -> MemberView<'_> {
    let snap_files = m
        .snap_files
        .iter()
        .map(|f| match &f.status {
            SnapStatus::Ok { index, term, voters, learners, payload } => {
                SnapFileView::Ok { name: &f.name, bytes: f.len, ok: true, index: *index, term: *term, voters, learners, v2_store_bytes: *payload }
            }
            SnapStatus::Bad(why) => SnapFileView::Bad { name: &f.name, bytes: f.len, ok: false, error: why },
        })
        .collect();
    MemberView { snap_files, consistent_index: m.consistent_index, committed_not_in_db: m.committed_not_in_db, db_problem: m.db_problem.as_deref() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request with two fields set (crafted or damaged) shows the body of the one its label
    /// names, never another's.
    #[test]
    fn the_body_is_the_request_the_label_names() {
        let r = etcdserverpb::InternalRaftRequest {
            range: Some(etcdserverpb::RangeRequest { key: b"/a".to_vec(), ..Default::default() }),
            put: Some(etcdserverpb::PutRequest { key: b"/b".to_vec(), value: b"v".to_vec(), ..Default::default() }),
            ..Default::default()
        };
        let req = Request::V3 { request: Box::new(r), values: vec![], withheld_compare_values: vec![] };
        let v = serde_json::to_value(request_view(&req, &mut |o: &ObjectJson| o.as_str().to_string())).unwrap();
        assert_eq!(v["op"], "range", "{v}");
        assert!(!v.to_string().contains("\"/b\""), "{v}");
        assert!(v.to_string().contains("\"keyText\":\"/a\""), "{v}");
    }
}
