//! `wal`'s lines as JSON: the typed records of `views::wal`, written in the layout documented in
//! docs/commands/wal.md. Kubernetes objects are kept as the text they were rendered to and
//! written in place, so a line costs no parse of its objects.

use base64::Engine;
use etcdscope::etcd::pb::{etcdserverpb, raftpb};
use etcdscope::k8s::decoder::ObjectJson;
use etcdscope::views::wal::{OtherRecord, Request, StoredValue, WalLine};
use etcdscope::wal::record::entry_type_name;
use etcdscope::wal::request::v3_op;
use serde_json::{json, Map, Value};

/// One line as JSON, with its Kubernetes objects as text (at `objects`' JSON pointers the value
/// holds `null`).
pub struct JsonLine {
    pub json: Value,
    pub objects: Vec<(String, ObjectJson)>,
}

impl JsonLine {
    /// The whole line as one value (objects parsed into place).
    pub fn to_value(&self) -> Value {
        let mut v = self.json.clone();
        for (ptr, obj) in &self.objects {
            if let (Some(slot), Ok(o)) = (v.pointer_mut(ptr), obj.value()) {
                *slot = o;
            }
        }
        v
    }

    /// The line as compact JSON, objects written from their text.
    pub fn write_compact(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        fn write(v: &Value, path: &mut String, objects: &[(String, ObjectJson)], out: &mut dyn std::io::Write) -> std::io::Result<()> {
            if let Some((_, o)) = objects.iter().find(|(p, _)| p == path) {
                return out.write_all(o.as_str().as_bytes());
            }
            match v {
                Value::Object(m) => {
                    out.write_all(b"{")?;
                    for (i, (k, x)) in m.iter().enumerate() {
                        if i > 0 {
                            out.write_all(b",")?;
                        }
                        serde_json::to_writer(&mut *out, k)?;
                        out.write_all(b":")?;
                        let len = path.len();
                        path.push('/');
                        path.push_str(k);
                        write(x, path, objects, out)?;
                        path.truncate(len);
                    }
                    out.write_all(b"}")
                }
                Value::Array(a) => {
                    out.write_all(b"[")?;
                    for (i, x) in a.iter().enumerate() {
                        if i > 0 {
                            out.write_all(b",")?;
                        }
                        let len = path.len();
                        path.push('/');
                        path.push_str(&i.to_string());
                        write(x, path, objects, out)?;
                        path.truncate(len);
                    }
                    out.write_all(b"]")
                }
                scalar => Ok(serde_json::to_writer(&mut *out, scalar)?),
            }
        }
        if self.objects.is_empty() {
            return Ok(serde_json::to_writer(&mut *out, &self.json)?);
        }
        write(&self.json, &mut String::new(), &self.objects, out)
    }
}

/// The values of a request, in the order its puts are written, and the objects found so far.
struct Values<'l> {
    stored: std::slice::Iter<'l, StoredValue>,
    /// Per value compare, in the view's order: the length of a Secret's bytes withheld.
    withheld_compares: std::slice::Iter<'l, Option<usize>>,
    objects: Vec<(String, ObjectJson)>,
}

/// A line's JSON.
pub fn line_json(line: &WalLine) -> JsonLine {
    let place = |m: &mut Map<String, Value>, at: &etcdscope::views::wal::RecordAt| {
        m.insert("segment".into(), Value::String(at.segment.clone()));
        m.insert("offset".into(), json!(at.offset));
        m.insert("record".into(), json!(at.record));
    };
    let mut m = Map::new();
    match line {
        WalLine::Undecodable { at, error } => {
            place(&mut m, at);
            m.insert("kind".into(), json!("undecodable"));
            m.insert("error".into(), json!(error));
        }
        WalLine::Damage(d) => {
            let v = json!({"kind": "damage", "segment": d.segment, "offset": d.offset, "record": d.record,
                "damage": d.kind, "error": d.what,
                "resumed_at": d.resumed_at.as_ref().map(|(s, o)| json!({"segment": s, "offset": o}))});
            return JsonLine { json: v, objects: Vec::new() };
        }
        WalLine::Record { at, record } => {
            place(&mut m, at);
            let (kind, fields) = record_json(record);
            m.insert("kind".into(), json!(kind));
            m.extend(fields);
        }
        WalLine::Entry(e) => {
            place(&mut m, &e.at);
            m.insert("kind".into(), json!("entry"));
            m.insert("index".into(), json!(e.index));
            m.insert("term".into(), json!(e.term));
            m.insert("type".into(), json!(entry_type_name(e.entry_type)));
            m.insert("class".into(), json!(e.class));
            m.insert("committed".into(), json!(e.committed));
            if let Some(in_db) = e.in_db {
                m.insert("in_db".into(), json!(in_db));
            }
            if e.superseded {
                m.insert("superseded".into(), json!(true));
            }
            let (stored, withheld): (&[StoredValue], &[Option<usize>]) = match &e.request {
                Request::V3 { values, withheld_compare_values, .. } => (values, withheld_compare_values),
                _ => (&[], &[]),
            };
            let mut vals = Values { stored: stored.iter(), withheld_compares: withheld.iter(), objects: Vec::new() };
            payload_json(&e.request, &mut vals, &mut m);
            return JsonLine { json: Value::Object(m), objects: vals.objects };
        }
    }
    JsonLine { json: Value::Object(m), objects: Vec::new() }
}

fn record_json(r: &OtherRecord) -> (&'static str, Map<String, Value>) {
    let mut m = Map::new();
    let kind = match r {
        OtherRecord::Crc(c) => {
            m.insert("crc".into(), json!(format!("{c:08x}")));
            "crc"
        }
        OtherRecord::Metadata { node_id, cluster_id } => {
            m.insert("node_id".into(), json!(format!("{node_id:x}")));
            m.insert("cluster_id".into(), json!(format!("{cluster_id:x}")));
            "metadata"
        }
        OtherRecord::State { term, vote, commit } => {
            m.insert("term".into(), json!(term));
            m.insert("vote".into(), json!(format!("{vote:x}")));
            m.insert("commit".into(), json!(commit));
            "state"
        }
        OtherRecord::Snapshot { index, term, conf_state } => {
            m.insert("index".into(), json!(index));
            m.insert("term".into(), json!(term));
            if let Some(cs) = conf_state {
                m.insert("conf_state".into(), conf_state_json(cs));
            }
            "snapshot"
        }
        OtherRecord::Unknown(t) => {
            m.insert("type".into(), json!(t));
            "unknown"
        }
    };
    (kind, m)
}

fn conf_state_json(cs: &raftpb::ConfState) -> Value {
    let hex = |v: &[u64]| v.iter().map(|i| format!("{i:x}")).collect::<Vec<_>>();
    json!({"voters": hex(&cs.voters), "learners": hex(&cs.learners), "voters_outgoing": hex(&cs.voters_outgoing),
           "learners_next": hex(&cs.learners_next), "auto_leave": cs.auto_leave()})
}

/// `key` as text when it is UTF-8, else `key_base64`.
fn put_bytes(m: &mut Map<String, Value>, name: &str, b: &[u8]) {
    match std::str::from_utf8(b) {
        Ok(s) => m.insert(name.into(), Value::String(s.into())),
        Err(_) => m.insert(format!("{name}_base64"), Value::String(base64::engine::general_purpose::STANDARD.encode(b))),
    };
}

fn redacted(s: &str) -> Value {
    Value::String(format!("<redacted, {} bytes>", s.len()))
}

/// A stored value as the library decided to show it (the next of the request's values).
fn put_value(m: &mut Map<String, Value>, value: &[u8], vals: &mut Values<'_>, path: &str) {
    match vals.stored.next() {
        Some(StoredValue::Object { json, encoding }) => {
            m.insert("value_bytes".into(), json!(value.len()));
            m.insert("value_encoding".into(), json!(encoding));
            // Kept as text and written in place (see JsonLine): no parse and re-write.
            m.insert("object".into(), Value::Null);
            vals.objects.push((format!("{path}/object"), json.clone()));
        }
        Some(StoredValue::Encrypted { provider, key_name }) => {
            m.insert("value_bytes".into(), json!(value.len()));
            m.insert("value_encrypted".into(), json!({"provider": provider, "key": key_name}));
        }
        Some(StoredValue::SecretRedacted) => {
            // Not decodable (damaged, unknown kind), but still a Secret's bytes.
            m.insert("value_bytes".into(), json!(value.len()));
            m.insert("value_redacted".into(), json!(format!("<redacted: {} bytes of a Secret that does not decode; --show-secrets to show>", value.len())));
        }
        Some(StoredValue::Bytes) | None => put_bytes(m, "value", value),
    }
}

fn range_json(key: &[u8], end: &[u8]) -> Map<String, Value> {
    let mut m = Map::new();
    put_bytes(&mut m, "key", key);
    if !end.is_empty() {
        put_bytes(&mut m, "range_end", end);
    }
    m
}

fn put_json(p: &etcdserverpb::PutRequest, vals: &mut Values<'_>, path: &str) -> Map<String, Value> {
    let mut m = Map::new();
    put_bytes(&mut m, "key", &p.key);
    put_value(&mut m, &p.value, vals, path);
    if p.lease != 0 {
        m.insert("lease".into(), json!(format!("{:x}", p.lease)));
    }
    for (flag, set) in [("prev_kv", p.prev_kv), ("ignore_value", p.ignore_value), ("ignore_lease", p.ignore_lease)] {
        if set {
            m.insert(flag.into(), json!(true));
        }
    }
    m
}

fn txn_json(t: &etcdserverpb::TxnRequest, vals: &mut Values<'_>, path: &str) -> Value {
    use etcdserverpb::compare::TargetUnion as T;
    use etcdserverpb::request_op::Request as R;
    // The view's order (wal::request::compares_mut): this txn's compares, then nested txns'.
    let compares: Vec<Value> = t
        .compare
        .iter()
        .map(|c| {
            let mut m = range_json(&c.key, &c.range_end);
            m.insert("target".into(), json!(c.target().as_str_name()));
            m.insert("result".into(), json!(c.result().as_str_name()));
            match &c.target_union {
                Some(T::Version(v)) => m.insert("version".into(), json!(v)),
                Some(T::CreateRevision(v)) => m.insert("create_revision".into(), json!(v)),
                Some(T::ModRevision(v)) => m.insert("mod_revision".into(), json!(v)),
                Some(T::Lease(v)) => m.insert("lease".into(), json!(format!("{v:x}"))),
                Some(T::Value(v)) => {
                    match vals.withheld_compares.next() {
                        Some(Some(len)) => {
                            m.insert("value_redacted".into(), json!(format!("<redacted: {len} bytes of a Secret; --show-secrets to show>")));
                        }
                        _ => put_bytes(&mut m, "value", v),
                    }
                    None
                }
                None => None,
            };
            Value::Object(m)
        })
        .collect();
    let mut ops = |ops: &[etcdserverpb::RequestOp], branch: &str| -> Vec<Value> {
        ops.iter()
            .enumerate()
            .map(|(i, op)| match &op.request {
                Some(R::RequestPut(p)) => {
                    let mut m = put_json(p, vals, &format!("{path}/{branch}/{i}"));
                    m.insert("op".into(), json!("put"));
                    Value::Object(m)
                }
                Some(R::RequestDeleteRange(d)) => {
                    let mut m = range_json(&d.key, &d.range_end);
                    m.insert("op".into(), json!("delete_range"));
                    Value::Object(m)
                }
                Some(R::RequestRange(r)) => {
                    let mut m = range_json(&r.key, &r.range_end);
                    m.insert("op".into(), json!("range"));
                    Value::Object(m)
                }
                Some(R::RequestTxn(t)) => json!({"op": "txn", "txn": txn_json(t, vals, &format!("{path}/{branch}/{i}/txn"))}),
                None => json!({"op": "none"}),
            })
            .collect()
    };
    let success = ops(&t.success, "success");
    let failure = ops(&t.failure, "failure");
    json!({"compare": compares, "success": success, "failure": failure})
}

/// The entry's request, under its operation's name; passwords and tokens never shown.
fn payload_json(p: &Request, vals: &mut Values<'_>, line: &mut Map<String, Value>) {
    match p {
        Request::Empty => {}
        Request::Undecodable(why) => {
            line.insert("error".into(), json!(why));
        }
        Request::ConfChange(c) => {
            let mut m = Map::new();
            m.insert("change".into(), json!(c.r#type().as_str_name().trim_start_matches("ConfChange")));
            m.insert("node_id".into(), json!(format!("{:x}", c.node_id())));
            if c.id() != 0 {
                m.insert("id".into(), json!(c.id()));
            }
            context_json(c.context(), &mut m);
            line.insert("conf_change".into(), Value::Object(m));
        }
        Request::ConfChangeV2(c) => {
            let changes: Vec<Value> = c
                .changes
                .iter()
                .map(|s| json!({"change": s.r#type().as_str_name().trim_start_matches("ConfChange"), "node_id": format!("{:x}", s.node_id())}))
                .collect();
            let mut m = Map::new();
            m.insert("transition".into(), json!(c.transition().as_str_name().trim_start_matches("ConfChangeTransition")));
            m.insert("changes".into(), Value::Array(changes));
            context_json(c.context(), &mut m);
            line.insert("conf_change_v2".into(), Value::Object(m));
        }
        Request::V2(r) => {
            let mut m = Map::new();
            m.insert("id".into(), json!(r.id()));
            m.insert("method".into(), json!(r.method()));
            m.insert("path".into(), json!(r.path()));
            // v2 auth records hold bcrypt hashes in their value.
            if r.path().starts_with("/2/") {
                m.insert("val".into(), redacted(r.val()));
            } else if r.val.is_some() {
                m.insert("val".into(), json!(r.val()));
            }
            for (name, v) in [("dir", r.dir()), ("prev_exist", r.prev_exist()), ("recursive", r.recursive()), ("refresh", r.refresh())] {
                if v {
                    m.insert(name.into(), json!(true));
                }
            }
            if r.expiration() != 0 {
                m.insert("expiration".into(), json!(r.expiration()));
            }
            line.insert("v2".into(), Value::Object(m));
        }
        Request::V3 { request, .. } => v3_json(request, vals, line),
    }
}

/// etcd puts the member (id, peerURLs, name, clientURLs, isLearner, isPromote) as JSON in the
/// conf change context.
fn context_json(ctx: &[u8], m: &mut Map<String, Value>) {
    if ctx.is_empty() {
        return;
    }
    match serde_json::from_slice::<Value>(ctx) {
        Ok(mut v) => {
            // Member IDs are u64: show them in hex, as etcdctl does.
            if let Some(id) = v.get("id").and_then(Value::as_u64) {
                v["id"] = json!(format!("{id:x}"));
            }
            m.insert("member".into(), v);
        }
        Err(_) => put_bytes(m, "context", ctx),
    }
}

fn v3_json(r: &etcdserverpb::InternalRaftRequest, vals: &mut Values<'_>, line: &mut Map<String, Value>) {
    let op = v3_op(r);
    line.insert("op".into(), json!(op));
    let id = if r.id != 0 { r.id } else { r.header.as_ref().map_or(0, |h| h.id) };
    if id != 0 {
        line.insert("request_id".into(), json!(format!("{id:x}")));
    }
    if let Some(h) = &r.header {
        if !h.username.is_empty() {
            line.insert("username".into(), json!(h.username));
        }
        if h.auth_revision != 0 {
            line.insert("auth_revision".into(), json!(h.auth_revision));
        }
    }
    let body: Value = if let Some(p) = &r.put {
        Value::Object(put_json(p, vals, "/put"))
    } else if let Some(d) = &r.delete_range {
        let mut m = range_json(&d.key, &d.range_end);
        if d.prev_kv {
            m.insert("prev_kv".into(), json!(true));
        }
        Value::Object(m)
    } else if let Some(t) = &r.txn {
        txn_json(t, vals, "/txn")
    } else if let Some(rr) = &r.range {
        Value::Object(range_json(&rr.key, &rr.range_end))
    } else if let Some(c) = &r.compaction {
        json!({"revision": c.revision, "physical": c.physical})
    } else if let Some(g) = &r.lease_grant {
        json!({"id": format!("{:x}", g.id), "ttl": g.ttl})
    } else if let Some(l) = &r.lease_revoke {
        json!({"id": format!("{:x}", l.id)})
    } else if let Some(c) = &r.lease_checkpoint {
        json!({"checkpoints": c.checkpoints.iter().map(|c| json!({"id": format!("{:x}", c.id), "remaining_ttl": c.remaining_ttl})).collect::<Vec<_>>()})
    } else if let Some(a) = &r.alarm {
        json!({"action": a.action().as_str_name(), "member_id": format!("{:x}", a.member_id), "alarm": a.alarm().as_str_name()})
    } else if let Some(a) = &r.authenticate {
        json!({"name": a.name, "password": redacted(&a.password), "simple_token": redacted(&a.simple_token)})
    } else if let Some(u) = &r.auth_user_add {
        json!({"name": u.name, "password": redacted(&u.password), "hashed_password": redacted(&u.hashed_password),
               "no_password": u.options.as_ref().is_some_and(|o| o.no_password)})
    } else if let Some(u) = &r.auth_user_change_password {
        json!({"name": u.name, "password": redacted(&u.password), "hashed_password": redacted(&u.hashed_password)})
    } else if let Some(u) = &r.auth_user_delete {
        json!({"name": u.name})
    } else if let Some(u) = &r.auth_user_get {
        json!({"name": u.name})
    } else if let Some(g) = &r.auth_user_grant_role {
        json!({"user": g.user, "role": g.role})
    } else if let Some(g) = &r.auth_user_revoke_role {
        json!({"name": g.name, "role": g.role})
    } else if let Some(a) = &r.auth_role_add {
        json!({"name": a.name})
    } else if let Some(a) = &r.auth_role_delete {
        json!({"role": a.role})
    } else if let Some(a) = &r.auth_role_get {
        json!({"role": a.role})
    } else if let Some(g) = &r.auth_role_grant_permission {
        let mut m = Map::new();
        m.insert("name".into(), json!(g.name));
        if let Some(p) = &g.perm {
            let mut pm = range_json(&p.key, &p.range_end);
            pm.insert("type".into(), json!(p.perm_type().as_str_name()));
            m.insert("perm".into(), Value::Object(pm));
        }
        Value::Object(m)
    } else if let Some(g) = &r.auth_role_revoke_permission {
        let mut m = range_json(&g.key, &g.range_end);
        m.insert("role".into(), json!(g.role));
        Value::Object(m)
    } else if let Some(c) = &r.cluster_version_set {
        json!({"ver": c.ver})
    } else if let Some(c) = &r.cluster_member_attr_set {
        let attrs = c.member_attributes.as_ref();
        json!({"member_id": format!("{:x}", c.member_id), "name": attrs.map(|a| a.name.clone()),
               "client_urls": attrs.map(|a| a.client_urls.clone()).unwrap_or_default()})
    } else if let Some(d) = &r.downgrade_info_set {
        json!({"enabled": d.enabled, "ver": d.ver})
    } else {
        Value::Object(Map::new())
    };
    if op != "none" {
        line.insert(op.into(), body);
    }
}
