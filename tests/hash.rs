//! `hash` against real etcd 3.5.1 (scripts/check_hash.py): for every revision of a member's
//! history, before and after a compaction, `hash --kind kv --rev R` of its `snapshot save` file
//! equals what `etcdctl endpoint hashkv --rev R` printed for the member, and is refused where
//! etcd refused (at or below the compaction, above the current revision); the status hash is
//! `etcdutl snapshot status`'s; the sha256 trailer is found intact.

mod common;

use common::*;

#[test]
fn hashes_equal_etcds_own_tools() {
    if bin_dir_or_skip("3.5.1").is_none() {
        return;
    }
    let r = recording("check_hash.py", &[]);
    let current = r["current"].as_i64().unwrap();
    let compact = r["compact"].as_i64().unwrap();
    for stage in ["uncompacted", "compacted"] {
        let s = &r[stage];
        let mut compared = 0;
        for (rev, both) in s["revisions"].as_object().unwrap() {
            let (etcd, ours) = (&both["etcd"], &both["ours"]);
            let rev: i64 = rev.parse().unwrap();
            if etcd["exit_code"] == 0 {
                assert_eq!(ours["exit_code"], 0, "{stage} rev {rev}: etcd answered, we refused: {}", ours["stderr"]);
                let kv = &ours["json"]["kv"];
                assert_eq!(kv["hash"], etcd["hash"], "{stage} rev {rev}: hashkv");
                assert_eq!(kv["compactRevision"], etcd["compact_revision"], "{stage} rev {rev}: compact revision");
                compared += 1;
            } else {
                assert_eq!(ours["exit_code"], 2, "{stage} rev {rev}: etcd refused ({}), we answered", etcd["stderr"]);
            }
            if rev == 0 {
                let j = &ours["json"];
                assert_eq!(j["status"], s["status"]["hash"], "{stage}: etcdutl snapshot status hash");
                assert_eq!(j["sha256"]["trailer"], "ok");
            }
        }
        let refused_below = if stage == "compacted" { compact } else { 0 };
        assert_eq!(compared as i64, current - refused_below + 1, "{stage}: every revision etcd answered was compared");
    }
}
