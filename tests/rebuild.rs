//! `rebuild` against real etcd: scripts/check_rebuild.py restores each testdata snapshot (from
//! etcd 3.5.1 and 3.4.23) with etcdutl 3.5.1 and rebuilds it with etcdscope under the same
//! flags, starts the real etcd 3.5.1 binary on each, and records what etcdctl and etcdutl say.
//! Every expectation here is one of etcd's answers about etcdutl's restore; none comes from our
//! own reader. With ETCDSCOPE_REQUIRE_ETCD=1 a missing etcd fails the test.

mod common;

use common::*;
use serde_json::Value;

fn record(version: &str) -> Option<Value> {
    bin_dir_or_skip("3.5.1")?;
    let dir = repo().join(format!("testdata/etcd-{version}"));
    let meta: Value = serde_json::from_slice(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap();
    let to_rev = meta["marks"]["just_after_compaction_rev"].as_i64().unwrap();
    let snapshot = dir.join("snapshot.db");
    let to_rev = to_rev.to_string();
    Some(recording("check_rebuild.py", &["--snapshot".as_ref(), snapshot.as_os_str(), "--to-revision".as_ref(), to_rev.as_ref()]))
}

/// `member list` without the client URLs (each member was started on its own free port).
fn members(v: &Value) -> Value {
    let mut m = v["members"].clone();
    for x in m.as_array_mut().unwrap() {
        x.as_object_mut().unwrap().remove("clientURLs");
    }
    m
}

/// `endpoint status` without what differs by design: the endpoint, the db's size (ours is
/// compact) and the header.
fn status(v: &Value) -> Value {
    let mut s = v[0]["Status"].clone();
    for k in ["header", "dbSize", "dbSizeInUse"] {
        s.as_object_mut().unwrap().remove(k);
    }
    s
}

fn same_restore(version: &str, scenario: &str, r: &Value) {
    let (theirs, ours) = (&r["etcdutl"], &r["etcdscope"]);
    let ctx = format!("etcd {version} snapshot, {scenario}");
    // The db: etcdutl's status hash covers every bucket's keys and values.
    for k in ["hash", "revision", "totalKey"] {
        assert_eq!(ours["dbStatus"][k], theirs["dbStatus"][k], "{ctx}: etcdutl snapshot status {k}");
    }
    assert!(ours["dbStatus"]["totalSize"].as_u64() <= theirs["dbStatus"]["totalSize"].as_u64(), "{ctx}: our db is compact");
    // The raft side is written byte for byte as etcdutl writes it; the db is laid out anew.
    let files = |v: &Value| v["files"].as_array().unwrap().iter().filter(|f| f[0] != "member/snap/db").cloned().collect::<Vec<_>>();
    assert_eq!(files(ours), files(theirs), "{ctx}: WAL and .snap files (name, mode, size, sha256)");
    let db_mode = |v: &Value| v["files"].as_array().unwrap().iter().find(|f| f[0] == "member/snap/db").unwrap()[1].clone();
    assert_eq!(db_mode(ours), db_mode(theirs), "{ctx}: db file mode");
    assert_eq!(ours["dirs"], theirs["dirs"], "{ctx}: directories and their modes");
    // What the started member says.
    assert_eq!(ours["get"], theirs["get"], "{ctx}: etcdctl get \"\" --prefix -w json");
    assert_eq!(members(&ours["members"]), members(&theirs["members"]), "{ctx}: member list");
    assert_eq!(status(&ours["status"]), status(&theirs["status"]), "{ctx}: endpoint status");
    assert_eq!(ours["status"][0]["Status"]["header"]["revision"], theirs["status"][0]["Status"]["header"]["revision"]);
}

fn check(version: &str) {
    let Some(r) = record(version) else { return };
    same_restore(version, "default flags", &r["default"]);
    same_restore(version, "--name n1 --initial-cluster …", &r["named"]);

    // --to-revision R: the started member's keyspace is the full restore's `get --rev R`.
    let t = &r["to_revision"];
    let rev = t["revision"].as_i64().unwrap();
    let at = &t["etcdutl"]["queries"]["etcdutl:get-at"];
    assert_eq!(at["exit_code"], 0);
    assert_eq!(t["etcdscope"]["get"]["kvs"], at["stdout"]["kvs"], "etcd {version}: --to-revision {rev} vs etcdctl get --rev {rev}");
    assert_eq!(t["etcdscope"]["get"]["header"]["revision"].as_i64(), Some(rev), "etcd {version}: the member's revision is R");
    assert!(t["rebuild"]["plan"]["droppedRevisions"].as_u64().unwrap() > 0);
    assert_eq!(t["rebuild"]["plan"]["revision"].as_i64(), Some(rev), "etcd {version}: the plan's revision is the member's");

    // --bump-revision 1000 --mark-compacted: same keys, revision + 1000, reads below refused.
    let b = &r["bump"];
    let src = b["source_revision"].as_i64().unwrap();
    assert_eq!(b["etcdscope"]["get"]["kvs"], b["etcdutl"]["get"]["kvs"], "etcd {version}: bump keeps the keyspace");
    assert_eq!(b["etcdscope"]["get"]["header"]["revision"].as_i64(), Some(src + 1000), "etcd {version}: bumped revision");
    assert_eq!(b["rebuild"]["plan"]["revision"].as_i64(), Some(src + 1000), "etcd {version}: the plan's bumped revision");
    let below = &b["etcdscope"]["queries"]["below"];
    assert_ne!(below["exit_code"], 0, "etcd {version}: a read at the old revision must be refused after the bump");
    assert!(below["stderr"].as_str().unwrap().contains("compacted"), "etcd {version}: {}", below["stderr"]);

    // Three members rebuilt for one cluster form a healthy cluster holding the same keyspace.
    let c = &r["cluster3"];
    assert!(c["health"].as_array().unwrap().iter().all(|h| h["health"] == true), "etcd {version}: 3-member health {}", c["health"]);
    assert_eq!(c["members"]["members"].as_array().unwrap().len(), 3);
    for g in c["get"].as_array().unwrap() {
        assert_eq!(g["kvs"], r["default"]["etcdutl"]["get"]["kvs"], "etcd {version}: 3-member keyspace");
    }
    let leaders: Vec<&Value> = c["status"].as_array().unwrap().iter().map(|s| &s["Status"]["leader"]).collect();
    assert!(leaders.windows(2).all(|w| w[0] == w[1]) && leaders[0] != 0, "etcd {version}: one leader {leaders:?}");
    for got in c["after_put"].as_array().unwrap() {
        assert_eq!(got["count"], 1, "etcd {version}: a write through one member is read on every member");
    }
}

#[test]
fn rebuild_of_a_3_5_1_snapshot_equals_etcdutl_restore() {
    check("3.5.1");
}

#[test]
fn rebuild_of_a_3_4_23_snapshot_equals_etcdutl_restore() {
    check("3.4.23");
}

/// `--wal`: a member takes snapshot S, keeps writing (txns on both branches and nested, range
/// deletes, ignore_value, a put etcd refuses, lease grants and revokes, a compaction) and stops.
/// S + its WAL, rebuilt and started, must hold what the stopped member holds when restarted:
/// the same keys with the same revisions, versions and leases, the same current revision, the
/// same compaction (reads below it refused by both), the same leases and their keys; and cut at
/// a revision recorded during the writes, what the member answers for `get --rev` there.
#[test]
fn rebuild_with_wal_equals_the_member_restarted() {
    if bin_dir_or_skip("3.5.1").is_none() {
        return;
    }
    let r = recording("check_rebuild_wal.py", &[]);
    let (member, ours) = (&r["member"], &r["rebuilt"]);
    assert!(r["refused_put"].as_str().unwrap().contains("lease not found"), "the script's put on a missing lease was refused by etcd");
    assert_eq!(ours["get"]["kvs"], member["get"]["kvs"], "keys, values, revisions, versions, leases");
    assert_eq!(ours["get"]["header"]["revision"], member["get"]["header"]["revision"], "current revision");
    assert_eq!(ours["leases"]["leases"], member["leases"]["leases"], "lease list");
    for (lease, t) in member["timetolive"].as_object().unwrap() {
        let o = &ours["timetolive"][lease];
        assert_eq!(o["granted-ttl"], t["granted-ttl"], "lease {lease}: granted TTL");
        assert_eq!(o["id"], t["id"], "lease {lease}");
        assert_eq!(o["keys"], t["keys"], "lease {lease}: keys");
    }
    let below = (&ours["below_compact"], &member["below_compact"]);
    assert_ne!(below.1["exit_code"], 0, "the member refuses a read below its compaction");
    assert_eq!(below.0["exit_code"], below.1["exit_code"], "both refuse below the compaction");
    for q in ["at_compact", "at_mid"] {
        assert_eq!(member[q]["exit_code"], 0, "{q}");
        assert_eq!(ours[q]["stdout"]["kvs"], member[q]["stdout"]["kvs"], "get --rev at {q}");
    }
    let report = &r["rebuilt_report"]["plan"]["walApplied"];
    assert_eq!(report["refused"], 1, "the refused put is refused in the replay too");
    assert_eq!(report["compactRevision"], r["marks"]["compact"]);
    let to_mid = &r["rebuilt_to_mid"];
    assert_eq!(to_mid["get"]["header"]["revision"], r["marks"]["mid"], "--wal --to-revision: the member's revision");
    assert_eq!(to_mid["get"]["kvs"], member["at_mid"]["stdout"]["kvs"], "--wal --to-revision R = the member's get --rev R");
}

/// Found by trying to break every command: `rebuild --wal` replayed a WAL whose metadata names a
/// member of another cluster without a word. With real data from two clusters — a 3-member
/// cluster whose membership changed (scripts/make_wal_cluster.py) and the single member recorded
/// in testdata/wal-3.5.1 — a member's db takes the WAL of another member of its own cluster, and
/// refuses (exit 2) the other cluster's, naming both sides' IDs as etcdctl reported them, unless
/// --force-foreign-wal.
#[test]
fn rebuild_refuses_a_wal_of_another_cluster() {
    if bin_dir_or_skip("3.5.1").is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let made = std::process::Command::new("python3")
        .arg(repo().join("scripts/make_wal_cluster.py"))
        .args(["--version", "3.5.1", "--out"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(made.status.success(), "make_wal_cluster.py: {}", String::from_utf8_lossy(&made.stderr));
    let ground: Value = serde_json::from_slice(&std::fs::read(tmp.path().join("ground.json")).unwrap()).unwrap();
    let other: Value = serde_json::from_slice(&std::fs::read(repo().join("testdata/wal-3.5.1/ground.json")).unwrap()).unwrap();
    let header = &other["status"][0]["Status"]["header"];
    let (other_member, other_cluster) = (format!("{:x}", header["member_id"].as_u64().unwrap()), format!("{:x}", header["cluster_id"].as_u64().unwrap()));
    let members: Vec<String> = ground["members_after"].as_array().unwrap().iter().map(|m| format!("{:x}", m["ID"].as_u64().unwrap())).collect();
    let survivor = ground["survivors"][1].as_str().unwrap();
    let db = tmp.path().join("m0/db");
    let rebuild = |wal: &std::path::Path, extra: &[&str]| {
        let out = tmp.path().join("out");
        let o = std::process::Command::new(bin())
            .arg("rebuild")
            .arg(&db)
            .arg("--skip-hash-check")
            .arg("--wal")
            .arg(wal)
            .arg("--out")
            .arg(&out)
            .arg("--dry-run")
            .args(extra)
            .output()
            .unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    // Another member of the same cluster: its WAL is this cluster's log.
    let (code, _, err) = rebuild(&tmp.path().join(survivor), &[]);
    assert_eq!(code, Some(0), "m0's db with {survivor}'s WAL: {err}");
    // The other cluster's member: refused, both sides named.
    let foreign = repo().join("testdata/wal-3.5.1");
    let (code, _, err) = rebuild(&foreign, &[]);
    assert_eq!(code, Some(2), "a WAL of another cluster is refused: {err}");
    for id in members.iter().chain([&other_member, &other_cluster]) {
        assert!(err.contains(id.as_str()), "{id} not named in: {err}");
    }
    assert!(err.contains("--force-foreign-wal"), "{err}");
    assert!(!tmp.path().join("out").exists());
    // Forced: replayed, with a warning naming the WAL's member.
    let (code, out, err) = rebuild(&foreign, &["--force-foreign-wal"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("warning") && out.contains(&other_member), "{out}");
}

/// Found by trying to break every command: `rebuild` left its temp dir (a whole db, Secrets
/// included) beside OUT when interrupted. A rebuild asked to stop (as the command's SIGINT
/// handler asks) ends with `Interrupted` and leaves neither OUT nor a temp dir, whether it is
/// stopped writing the db or replaying a WAL; not asked, the same call writes OUT.
#[test]
fn an_interrupted_rebuild_leaves_nothing() {
    use etcdscope::cancel::Cancel;
    use etcdscope::views::rebuild::{rebuild, RebuildOptions};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let stop = Cancel::new();
    stop.cancel();
    let source = etcdscope::source::Source::open(repo().join("testdata/etcd-3.5.1/snapshot.db")).unwrap();
    let snap = etcdscope::snapshot::Snapshot::open(&source).unwrap();
    let options = RebuildOptions { cancel: stop.clone(), ..Default::default() };
    let err = rebuild(&snap, &options, &out).unwrap_err();
    assert!(matches!(err, etcdscope::Error::Interrupted), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    // With a WAL to replay (the recorded member's db and its own WAL).
    let member = etcdscope::source::Source::open(repo().join("testdata/wal-3.5.1")).unwrap();
    let member_snap = etcdscope::snapshot::Snapshot::open(&member).unwrap();
    let options = RebuildOptions { cancel: stop, skip_hash_check: true, wal: Some(repo().join("testdata/wal-3.5.1")), ..Default::default() };
    let err = rebuild(&member_snap, &options, &out).unwrap_err();
    assert!(matches!(err, etcdscope::Error::Interrupted), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    rebuild(&snap, &RebuildOptions::default(), &out).unwrap();
    assert!(out.join("member/snap/db").is_file());
}

/// The same through the command and a real SIGINT, sent while the rebuild is writing its db
/// (the temp dir beside OUT holds a db file): it exits 130 saying it was interrupted — stopped
/// by its own check, not by the 5 s grace — and leaves neither OUT nor the temp dir.
/// The input is a large generated db (a million revisions, about 230 MB), so the db write lasts
/// long enough for the signal, sent as soon as the temporary db appears, to land mid-write.
#[test]
fn sigint_stops_a_rebuild_and_removes_its_temp_dir() {
    let dir = tempfile::tempdir().unwrap();
    let input = tempfile::tempdir().unwrap();
    let big = input.path().join("big.db");
    common::big_db::big_db(&big, 1_000_000);
    let out = dir.path().join("out");
    let mut child = std::process::Command::new(bin())
        .arg("rebuild")
        .arg(&big)
        .arg("--skip-hash-check")
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let writing = loop {
        let temp =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).find(|p| p.file_name().unwrap().to_string_lossy().starts_with(".out.rebuild-"));
        if let Some(t) = temp.filter(|t| t.join("member/snap/db").is_file()) {
            break t;
        }
        assert!(child.try_wait().unwrap().is_none(), "the rebuild ended before it was interrupted");
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "no temp dir with a db appeared");
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    // SAFETY: kill(2) on the PID of the child this test started and has not yet reaped.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let signalled = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if signalled.elapsed() > std::time::Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the rebuild did not stop within 30 s of SIGINT");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("etcdscope: interrupted") && !err.contains("stopped at once"), "stopped by its own check: {err}");
    assert!(signalled.elapsed() < std::time::Duration::from_secs(4), "it stopped at the next entry, not after the grace period");
    assert!(!writing.exists() && !out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing beside OUT");
}

/// Found in review: an OUT that is not empty was refused only after the plan, which may replay
/// a whole WAL. The refusal now comes first: with both a full OUT and a WAL that cannot be read,
/// the OUT is what is named.
#[test]
fn a_full_out_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("old"), b"data").unwrap();
    let o = run(&[
        "rebuild".as_ref(),
        repo().join("testdata/etcd-3.5.1/snapshot.db").as_os_str(),
        "--wal".as_ref(),
        dir.path().join("no-such-wal").as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("not empty"), "{err}");
    assert_eq!(std::fs::read(out.join("old")).unwrap(), b"data");
}

/// Found in review: a snapshot that records no members let any WAL be replayed with only a
/// warning. With nothing to compare the WAL's member with, it is refused like a foreign one.
#[test]
fn a_wal_is_refused_when_the_snapshot_records_no_members() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("no-members.db");
    {
        // A key, and a meta bucket with a consistent index and term, but no members bucket.
        let mut w = etcdscope::bolt::write::FileWriter::create(&db, 4096).unwrap();
        let mut rev = 2i64.to_be_bytes().to_vec();
        rev.push(b'_');
        rev.extend_from_slice(&0i64.to_be_bytes());
        let kv = common::big_db::key_value(b"/a", 2, b"v");
        w.bucket(b"key", 0, [(rev.as_slice(), kv.as_slice())]).unwrap();
        let (index, term) = (1u64.to_be_bytes(), 1u64.to_be_bytes());
        w.bucket(b"meta", 0, [(b"consistent_index".as_slice(), index.as_slice()), (b"term".as_slice(), term.as_slice())]).unwrap();
        w.finish(false).unwrap();
    }
    let out = dir.path().join("out");
    let wal = repo().join("testdata/wal-3.5.1/member");
    let args = |force: bool| {
        let mut a: Vec<std::ffi::OsString> =
            vec!["rebuild".into(), db.clone().into(), "--skip-hash-check".into(), "--wal".into(), wal.clone().into(), "--out".into(), out.clone().into()];
        if force {
            a.push("--force-foreign-wal".into());
        }
        a
    };
    let o = std::process::Command::new(bin()).args(args(false)).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("records no members") && err.contains("--force-foreign-wal"), "{err}");
    assert!(!out.exists());
    let o = std::process::Command::new(bin()).args(args(true)).output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(said.contains("replayed anyway (--force-foreign-wal)"), "{said}");
}

/// Found by the hostile pass: `--dry-run` accepted a bump that overflows the revision (and
/// planned revision i64::MAX) while the real run refused it. The plan refuses it for both.
#[test]
fn a_bump_that_overflows_is_refused_by_the_dry_run_too() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    for dry in [true, false] {
        let mut args: Vec<std::ffi::OsString> = vec![
            "rebuild".into(),
            repo().join("testdata/etcd-3.5.1/snapshot.db").into(),
            "--out".into(),
            out.clone().into(),
            "--bump-revision".into(),
            i64::MAX.to_string().into(),
            "--mark-compacted".into(),
        ];
        if dry {
            args.push("--dry-run".into());
        }
        let o = std::process::Command::new(bin()).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "dry run {dry}: {err}");
        assert!(err.contains("overflows the revision"), "{err}");
        assert!(!out.exists());
    }
}

/// Found by the hostile pass: an OUT that is an empty directory reached through a symbolic link
/// (or an empty mount point, where the same code runs) was written whole beside it, on the
/// parent's filesystem, and only the final rename failed (ENOTDIR, EBUSY). An existing empty OUT
/// is now kept and the member dir is built inside it.
#[test]
fn an_empty_out_behind_a_link_is_written_into() {
    let dir = tempfile::tempdir().unwrap();
    let volume = dir.path().join("volume");
    std::fs::create_dir(&volume).unwrap();
    let link = dir.path().join("data");
    std::os::unix::fs::symlink(&volume, &link).unwrap();
    let o = run(&["rebuild".as_ref(), repo().join("testdata/etcd-3.5.1/snapshot.db").as_os_str(), "--out".as_ref(), link.as_os_str()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(volume.join("member/snap/db").is_file() && volume.join("member/wal").is_dir());
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
    let names: Vec<String> = std::fs::read_dir(&volume).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["member"], "nothing else inside OUT");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "nothing beside OUT");
}

/// A link to nothing as OUT is refused before any work (the final rename could not replace it).
#[test]
fn a_dangling_link_as_out_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("data");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).unwrap();
    let o = run(&["rebuild".as_ref(), repo().join("testdata/etcd-3.5.1/snapshot.db").as_os_str(), "--out".as_ref(), link.as_os_str()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("a link to nothing"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "nothing written");
}

/// Found in review: an error while the member dir was written (a full disk) named the hidden
/// temporary dir, a path the user never gave and that is gone by the time they read it. It
/// names the file under OUT and says which temporary was being written.
#[test]
fn an_error_while_writing_names_the_file_under_out() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("restored");
    let snap = repo().join("testdata/etcd-3.5.1/snapshot.db");
    let mut cmd = std::process::Command::new(bin());
    cmd.arg("rebuild").arg(&snap).arg("--out").arg(&out);
    let o = with_file_size_limit(&mut cmd, 256 << 10).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let named = format!("etcdscope: error: {}: ", out.join("member/snap/db").display());
    assert!(err.starts_with(&named), "the error names OUT/member/snap/db first: {err}");
    assert!(err.contains("(writing its temporary file"), "{err}");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "nothing left");
}

/// A free port on 127.0.0.1 (bound, read, released; etcd binds it moments later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The one line after "start it with" in rebuild's table output.
fn start_line(stdout: &str) -> String {
    let line = stdout.lines().find_map(|l| l.strip_prefix("start it with")).unwrap_or_else(|| panic!("no start line in:\n{stdout}"));
    line.trim().to_string()
}

/// Issue 18: `rebuild` prints a whole etcd command line (name, data dir, cluster flags, peer and
/// client URLs, shell-quoted) and `-o json` the same as an argv array. Real etcd 3.5.1, run with
/// exactly that line by a shell, must start and answer `endpoint health` on the client URL the
/// rebuild was told, holding the snapshot's keys.
#[test]
fn rebuild_prints_the_etcd_command_line_that_starts_the_member() {
    let Some(bin_dir) = bin_dir_or_skip("3.5.1") else { return };
    let (peer, client) = (free_port(), free_port());
    let tmp = tempfile::tempdir().unwrap();
    // A space in the data dir: the line must quote it.
    let out = tmp.path().join("restored member");
    let snapshot = repo().join("testdata/etcd-3.5.1/snapshot.db");
    let peer_url = format!("http://127.0.0.1:{peer}");
    let client_url = format!("http://127.0.0.1:{client}");
    let cluster = format!("m1={peer_url}");
    let flags = |out: &std::path::Path, json: bool| {
        let mut a: Vec<std::ffi::OsString> = vec!["rebuild".into(), snapshot.clone().into(), "--out".into(), out.into(), "--name".into(), "m1".into()];
        for (k, v) in [("--initial-cluster", &cluster), ("--initial-advertise-peer-urls", &peer_url), ("--advertise-client-urls", &client_url)] {
            a.push(k.into());
            a.push(v.into());
        }
        if json {
            a.extend(["--dry-run".into(), "-o".into(), "json".into()]);
        }
        a
    };
    let args = flags(&out, true);
    let json = run(&args.iter().map(|a| a.as_os_str()).collect::<Vec<_>>());
    assert!(json.status.success(), "{}", String::from_utf8_lossy(&json.stderr));
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    let args = flags(&out, false);
    let table = run(&args.iter().map(|a| a.as_os_str()).collect::<Vec<_>>());
    assert!(table.status.success(), "{}", String::from_utf8_lossy(&table.stderr));
    let line = start_line(&String::from_utf8(table.stdout).unwrap());
    let argv: Vec<String> = json["startCommand"].as_array().expect("startCommand in -o json").iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!(shlex::split(&line).as_ref(), Some(&argv), "the printed line and startCommand are one command");
    for flag in ["--initial-cluster-token", "--initial-cluster-state", "--listen-peer-urls", "--listen-client-urls"] {
        assert!(argv.iter().any(|a| a == flag), "{flag} in {argv:?}");
    }

    let log = std::fs::File::create(tmp.path().join("etcd.log")).unwrap();
    let path = format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default());
    let mut etcd = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("exec {line}"))
        .current_dir(tmp.path())
        .env("PATH", &path)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("sh runs the printed line");
    let etcdctl = std::path::Path::new(&bin_dir).join("etcdctl");
    let started = std::time::Instant::now();
    let health = loop {
        let h = std::process::Command::new(&etcdctl)
            .args(["--endpoints", &client_url, "--dial-timeout", "1s", "endpoint", "health", "-w", "json"])
            .output()
            .unwrap();
        if h.status.success() || started.elapsed() > std::time::Duration::from_secs(30) || etcd.try_wait().unwrap().is_some() {
            break h;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let keys = std::process::Command::new(&etcdctl).args(["--endpoints", &client_url, "get", "", "--prefix", "--keys-only", "-w", "json"]).output().unwrap();
    let _ = etcd.kill();
    let _ = etcd.wait();
    let log = std::fs::read_to_string(tmp.path().join("etcd.log")).unwrap_or_default();
    assert!(health.status.success(), "etcd started with `{line}` is not healthy: {}\n{log}", String::from_utf8_lossy(&health.stderr));
    let health: Value = serde_json::from_slice(&health.stdout).unwrap();
    assert_eq!(health[0]["health"], true, "{health}");
    let keys: Value = serde_json::from_slice(&keys.stdout).unwrap_or_else(|e| panic!("etcdctl get: {e}: {}", String::from_utf8_lossy(&keys.stderr)));
    assert!(keys["count"].as_u64().unwrap() > 0, "the started member holds the snapshot's keys: {keys}");
}
