//! The v2 store a restored member's `.snap` file carries. etcd 3.5 still recovers membership
//! from it at startup, so it must hold every member's raft attributes, as etcdutl's restore
//! leaves it: `/0/members/<id>/raftAttributes` created at indexes 1, 2, … in member-ID order, an
//! empty `/1` (the v2 keyspace), the creates in the watcher history, and the store's counters,
//! all in Go's encoding/json form (struct fields in declaration order, map keys sorted).

use super::cluster::{go_json_str, raft_attributes_json, NewCluster};
use std::fmt::Write;

/// Events the v2 store's watcher history holds (its ring buffer's capacity).
const HISTORY_CAPACITY: usize = 1000;
const NEVER: &str = "0001-01-01T00:00:00Z";

fn node(path: &str, index: usize, value: Option<&str>, children: Option<&str>) -> String {
    format!(
        "{{\"Path\":{},\"CreatedIndex\":{index},\"ModifiedIndex\":{index},\"ExpireTime\":\"{NEVER}\",\"Value\":{},\"Children\":{}}}",
        go_json_str(path),
        go_json_str(value.unwrap_or("")),
        children.unwrap_or("null")
    )
}

/// The store's JSON bytes for `cluster`.
pub fn store_json(cluster: &NewCluster) -> Vec<u8> {
    let n = cluster.members.len();
    // Map keys sort as Go sorts them (bytewise); hex IDs of equal width would not need it, but
    // IDs print without leading zeros.
    let mut order: Vec<(String, usize)> = cluster.members.iter().enumerate().map(|(i, m)| (format!("{:x}", m.id), i + 1)).collect();
    order.sort();
    let mut members = String::from("{");
    for (k, (hex, index)) in order.iter().enumerate() {
        let m = &cluster.members[index - 1];
        let dir = format!("/0/members/{hex}");
        let attrs = node(&format!("{dir}/raftAttributes"), *index, Some(&raft_attributes_json(m)), None);
        let member = node(&dir, *index, None, Some(&format!("{{\"raftAttributes\":{attrs}}}")));
        let _ = write!(members, "{}{}:{member}", if k > 0 { "," } else { "" }, go_json_str(hex));
    }
    members.push('}');
    let members_dir = node("/0/members", 1, None, Some(&members));
    let zero = node("/0", 0, None, Some(&format!("{{\"members\":{members_dir}}}")));
    let one = node("/1", 0, None, Some("{}"));
    let root = node("/", 0, None, Some(&format!("{{\"0\":{zero},\"1\":{one}}}")));

    let mut events: Vec<String> = cluster
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            format!(
                "{{\"action\":\"create\",\"node\":{{\"key\":{},\"value\":{},\"modifiedIndex\":{},\"createdIndex\":{}}}}}",
                go_json_str(&format!("/0/members/{:x}/raftAttributes", m.id)),
                go_json_str(&raft_attributes_json(m)),
                i + 1,
                i + 1
            )
        })
        .collect();
    events.resize(HISTORY_CAPACITY.max(n), "null".into());
    let stats = format!(
        "{{\"getsSuccess\":0,\"getsFail\":0,\"setsSuccess\":0,\"setsFail\":0,\"deleteSuccess\":0,\"deleteFail\":0,\
\"updateSuccess\":0,\"updateFail\":0,\"createSuccess\":{n},\"createFail\":0,\"compareAndSwapSuccess\":0,\
\"compareAndSwapFail\":0,\"compareAndDeleteSuccess\":0,\"compareAndDeleteFail\":0,\"expireCount\":0,\"watchers\":0}}"
    );
    format!(
        "{{\"Root\":{root},\"WatcherHub\":{{\"EventHistory\":{{\"Queue\":{{\"Events\":[{}],\"Size\":{n},\"Front\":0,\"Back\":{},\"Capacity\":{HISTORY_CAPACITY}}},\"StartIndex\":1,\"LastIndex\":{n}}}}},\"CurrentIndex\":{n},\"Stats\":{stats},\"CurrentVersion\":2}}",
        events.join(","),
        n % HISTORY_CAPACITY
    )
    .into_bytes()
}
