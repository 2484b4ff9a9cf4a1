//! `compare` against real etcd 3.5.1 (scripts/check_compare.py): three members with the same
//! writes but one value changed on B and C three writes short. Checked against etcd's answers:
//! the common revision is C's; each member's `endpoint hashkv --rev` there; A and C agree, B
//! differs, and the first differing key is the first key where etcdctl's `get --rev` of A and B
//! differ; C is behind A by the revisions etcd reports.

mod common;

use common::*;

#[test]
fn compare_finds_what_etcd_shows() {
    if bin_dir_or_skip("3.5.1").is_none() {
        return;
    }
    let r = recording("check_compare.py", &[]);
    let ours = &r["ours"]["json"];
    assert_eq!(r["ours"]["exit_code"], 1, "B differs: findings ({})", r["ours"]["stderr"]);
    let common = r["common"].as_i64().unwrap();
    assert_eq!(ours["commonRevision"].as_i64(), Some(common));
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        let m = &r["members"][*name];
        assert_eq!(ours["members"][i]["hashKv"], m["hashkv"], "{name}: endpoint hashkv --rev {common}");
        assert_eq!(ours["members"][i]["revision"], m["status"]["header"]["revision"], "{name}: revision");
    }
    let c_behind = r["members"]["a"]["status"]["header"]["revision"].as_i64().unwrap() - r["members"]["c"]["status"]["header"]["revision"].as_i64().unwrap();
    assert_eq!(ours["members"][2]["behindRevisions"].as_i64(), Some(c_behind));
    let divergences = ours["divergences"].as_array().unwrap();
    assert_eq!(divergences.len(), 1, "only B differs from A: {divergences:?}");
    assert_eq!(divergences[0]["member"], 1);
    let (ka, kb) = (r["members"]["a"]["get_at_common"]["kvs"].as_array().unwrap(), r["members"]["b"]["get_at_common"]["kvs"].as_array().unwrap());
    let first = ka.iter().zip(kb).find(|(x, y)| x != y).map(|(x, _)| x["key"].as_str().unwrap().to_string()).expect("etcd shows a difference");
    use base64::Engine;
    let first = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(first).unwrap()).unwrap();
    assert_eq!(divergences[0]["firstKey"].as_str(), Some(first.as_str()), "the first differing key is etcd's");
}

/// Found by trying to break every command: `compare` could not be stopped. Asked to stop (as
/// the command's SIGINT/SIGTERM handler asks), it ends with `Interrupted`; not asked, the same
/// call compares (two copies of a recorded snapshot agree).
#[test]
fn an_interrupted_compare_stops() {
    use etcdscope::cancel::Cancel;
    use etcdscope::views::compare::compare;
    let path = repo().join("testdata/etcd-3.5.1/snapshot.db");
    let sources = vec![etcdscope::source::Source::open(&path).unwrap(), etcdscope::source::Source::open(&path).unwrap()];
    let stop = Cancel::new();
    stop.cancel();
    let err = compare(&sources, &stop).unwrap_err();
    assert!(matches!(err, etcdscope::Error::Interrupted), "{err}");
    assert!(compare(&sources, &Cancel::new()).unwrap().agree);
}
