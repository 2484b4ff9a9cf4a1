//! What a raft entry asks etcd to do (docs/format/wal.md §6, §7): a membership change, or in a
//! normal entry a v3 `InternalRaftRequest`, a legacy v2 `Request`, or nothing (a new leader's
//! empty entry). etcd tells v3 from v2 by trying v3 first; so do we.

use super::record::Entry;
use crate::etcd::pb::{etcdserverpb, raftpb};
use prost::Message;

#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// A normal entry without data: a new leader's first entry.
    Empty,
    V3(Box<etcdserverpb::InternalRaftRequest>),
    V2(Box<etcdserverpb::Request>),
    ConfChange(raftpb::ConfChange),
    ConfChangeV2(raftpb::ConfChangeV2),
    /// Data that is none of the above, and why.
    Undecodable(String),
}

pub fn payload(e: &Entry<'_>) -> Payload {
    match e.entry_type {
        0 if e.data.is_empty() => Payload::Empty,
        0 => match etcdserverpb::InternalRaftRequest::decode(e.data) {
            Ok(r) => match r.v2 {
                Some(v2) => Payload::V2(Box::new(v2)),
                None => Payload::V3(Box::new(r)),
            },
            Err(v3) => match etcdserverpb::Request::decode(e.data) {
                Ok(r) => Payload::V2(Box::new(r)),
                Err(v2) => Payload::Undecodable(format!("neither a v3 request ({v3}) nor a v2 request ({v2})")),
            },
        },
        1 => raftpb::ConfChange::decode(e.data).map(Payload::ConfChange).unwrap_or_else(|err| Payload::Undecodable(format!("conf change: {err}"))),
        2 => raftpb::ConfChangeV2::decode(e.data).map(Payload::ConfChangeV2).unwrap_or_else(|err| Payload::Undecodable(format!("conf change v2: {err}"))),
        t => Payload::Undecodable(format!("unknown entry type {t}")),
    }
}

/// The name of the one request a v3 entry carries (`put`, `txn`, `lease_grant`, …).
pub fn v3_op(r: &etcdserverpb::InternalRaftRequest) -> &'static str {
    macro_rules! first_set {
        ($($field:ident),* $(,)?) => {
            $(if r.$field.is_some() { return stringify!($field); })*
        };
    }
    first_set!(
        range,
        put,
        delete_range,
        txn,
        compaction,
        lease_grant,
        lease_revoke,
        alarm,
        lease_checkpoint,
        auth_enable,
        auth_disable,
        auth_status,
        authenticate,
        auth_user_add,
        auth_user_delete,
        auth_user_get,
        auth_user_change_password,
        auth_user_grant_role,
        auth_user_revoke_role,
        auth_user_list,
        auth_role_list,
        auth_role_add,
        auth_role_delete,
        auth_role_get,
        auth_role_grant_permission,
        auth_role_revoke_permission,
        cluster_version_set,
        cluster_member_attr_set,
        downgrade_info_set,
    );
    "none"
}

/// The class of an entry (as [`class_of`] would say) from its field numbers alone, without
/// decoding it: what a summary or a `--type` filter needs for every entry.
pub fn class_fast(e: &Entry<'_>) -> &'static str {
    match e.entry_type {
        0 if e.data.is_empty() => return "empty",
        0 => {}
        1 | 2 => return "conf",
        _ => return "undecodable",
    }
    let mut op = None;
    for f in crate::protowire::fields(e.data) {
        let Ok((number, wire)) = f else { return class_of(&payload(e)) };
        let length_delimited = matches!(wire, crate::protowire::Wire::Bytes(_));
        match number {
            // ID (a varint) and header.
            1 | 100 => {}
            2 if length_delimited => return "v2",
            // A v2 Request carries Dir (5) and other fields as varints, which no v3 request field is.
            _ if !length_delimited => return class_of(&payload(e)),
            n => op = op.or(Some(n)),
        }
    }
    match op {
        Some(3) => "range",
        Some(4) => "put",
        Some(5) => "delete",
        Some(6) => "txn",
        Some(7) => "compaction",
        Some(8 | 9 | 11) => "lease",
        Some(10) => "alarm",
        Some(1300..=1302) => "cluster",
        Some(1000..=1299) => "auth",
        Some(_) | None => class_of(&payload(e)),
    }
}

/// The `--type` class of an operation: put, delete, txn, range, compaction, lease, alarm, auth,
/// cluster, v2, conf, empty, undecodable.
pub fn class_of(p: &Payload) -> &'static str {
    match p {
        Payload::Empty => "empty",
        Payload::V2(_) => "v2",
        Payload::ConfChange(_) | Payload::ConfChangeV2(_) => "conf",
        Payload::Undecodable(_) => "undecodable",
        Payload::V3(r) => match v3_op(r) {
            "put" => "put",
            "delete_range" => "delete",
            "txn" => "txn",
            "range" => "range",
            "compaction" => "compaction",
            "lease_grant" | "lease_revoke" | "lease_checkpoint" => "lease",
            "alarm" => "alarm",
            "cluster_version_set" | "cluster_member_attr_set" | "downgrade_info_set" => "cluster",
            "none" => "none",
            _ => "auth",
        },
    }
}

/// The puts of a v3 request in the order they are shown: the request's own put, else the
/// txn's success operations then its failure operations, nested txns in place.
pub fn puts(r: &etcdserverpb::InternalRaftRequest) -> Vec<&etcdserverpb::PutRequest> {
    fn txn<'a>(t: &'a etcdserverpb::TxnRequest, out: &mut Vec<&'a etcdserverpb::PutRequest>) {
        use etcdserverpb::request_op::Request as R;
        for op in t.success.iter().chain(&t.failure) {
            match &op.request {
                Some(R::RequestPut(p)) => out.push(p),
                Some(R::RequestTxn(t)) => txn(t, out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    if let Some(p) = &r.put {
        out.push(p);
    } else if let Some(t) = &r.txn {
        txn(t, &mut out);
    }
    out
}

/// Every compare of a txn in the order they are shown: the txn's own, then those of the txns
/// nested in its success operations, then in its failure operations, depth first.
pub fn compares_mut(t: &mut etcdserverpb::TxnRequest, visit: &mut dyn FnMut(&mut etcdserverpb::Compare)) {
    use etcdserverpb::request_op::Request as R;
    t.compare.iter_mut().for_each(&mut *visit);
    for op in t.success.iter_mut().chain(t.failure.iter_mut()) {
        if let Some(R::RequestTxn(nested)) = &mut op.request {
            compares_mut(nested, visit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_before_v2() {
        // put{key "foo", value "bar"} + header{ID 5}, as etcd 3.5.1 wrote it.
        let irr = [0x22, 0x0a, 0x0a, 0x03, b'f', b'o', b'o', 0x12, 0x03, b'b', b'a', b'r', 0xa2, 0x06, 0x02, 0x08, 0x05];
        let e = Entry { entry_type: 0, term: 2, index: 5, data: &irr };
        let Payload::V3(r) = payload(&e) else { panic!("v3") };
        assert_eq!((v3_op(&r), r.header.as_ref().map(|h| h.id)), ("put", Some(5)));
        // A v2 Request always carries Dir (field 5) as a varint, which a v3 request cannot take.
        let v2 = etcdserverpb::Request {
            id: Some(1),
            method: Some("PUT".into()),
            path: Some("/0/version".into()),
            val: Some("3.5.0".into()),
            dir: Some(false),
            ..Default::default()
        };
        let e = Entry { entry_type: 0, term: 2, index: 4, data: &v2.encode_to_vec() };
        assert_eq!(class_of(&payload(&e)), "v2");
        assert_eq!(payload(&Entry { entry_type: 0, term: 2, index: 2, data: &[] }), Payload::Empty);
        assert_eq!(class_fast(&e), "v2");
        assert_eq!(class_fast(&Entry { entry_type: 0, term: 2, index: 5, data: &irr }), "put");
    }
}
