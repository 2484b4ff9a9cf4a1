//! `check` on damage this test makes to a real etcd 3.5.1 member db, page by page. Which pages
//! are in use is not decided by our reader: a page is in use when real `etcdutl snapshot status`
//! on the file with that page's type byte destroyed fails or prints another hash. Then:
//! - every page in use, its type destroyed: a finding names that page; an unused page: clean;
//! - leaf keys put out of order, a branch child pointing at its sibling's page, a child id past
//!   the high-water mark, an overflow count running past the end: a finding names the page;
//! - a persisted freelist written into a free page, listing a page in use and leaving one free
//!   page out: "reachable freed" and "unreachable unfreed" name exactly those pages;
//! - a constructed db whose freelist names a page twice and which holds a page neither reached
//!   nor free: both "already freed" and "unreachable unfreed", as bbolt's check reports them;
//! - one meta damaged: a warning on it; both: refused (exit 2), read with --best-effort;
//! - thousands of random byte flips: never a panic, exit 0, 1 or 2 only.
//!
//! Clean files from real etcd (both versions, snapshots and member dbs) give no finding.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const PS: usize = 4096;

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

fn check_json(path: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![std::ffi::OsStr::new("check"), path.as_os_str(), "-o".as_ref(), "json".as_ref()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    let out = run(&args);
    let code = out.status.code().expect("check exits, never dies by a signal");
    let v = if out.stdout.is_empty() { Value::Null } else { serde_json::from_slice(&out.stdout).unwrap() };
    (code, v)
}

fn serious(v: &Value) -> Vec<&Value> {
    v["findings"].as_array().map(|f| f.iter().filter(|f| f["severity"] != "info").collect()).unwrap_or_default()
}

fn names_page(v: &Value, page: u64) -> bool {
    serious(v).iter().any(|f| f["page"].as_u64() == Some(page) || f["what"].as_str().unwrap_or("").contains(&format!("page {page}:")))
}

/// etcdutl's hash of a db file, or None when etcdutl cannot read it.
fn etcdutl_hash(etcdutl: &Path, db: &Path) -> Option<u64> {
    let out = Command::new(etcdutl).args(["snapshot", "status", "-w", "json"]).arg(db).output().ok()?;
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice::<Value>(&out.stdout).ok()?["hash"].as_u64()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Writes the meta checksum (FNV-1a 64 of bytes 16..72 of the page) after changing a meta.
fn reseal_meta(file: &mut [u8], page: usize) {
    let body = &file[page * PS + 16..page * PS + 72];
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in body {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    file[page * PS + 72..page * PS + 80].copy_from_slice(&h.to_le_bytes());
}

#[test]
fn clean_files_from_real_etcd_have_no_findings() {
    for v in ["3.5.1", "3.4.23"] {
        for f in ["snapshot.db", "member-db"] {
            let (code, report) = check_json(&repo().join(format!("testdata/etcd-{v}/{f}")), &[]);
            assert_eq!(code, 0, "etcd {v} {f}: {report}");
            assert!(serious(&report).is_empty(), "etcd {v} {f}: {report}");
        }
    }
}

#[test]
fn every_page_damaged_gives_a_finding_naming_it() {
    let Some(bins) = bin_dir_or_skip("3.5.1") else { return };
    let etcdutl = Path::new(&bins).join("etcdutl");
    let clean = std::fs::read(repo().join("testdata/etcd-3.5.1/member-db")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clean_hash = etcdutl_hash(&etcdutl, &write(dir.path(), "clean.db", &clean)).unwrap();
    let hwm = u64_at(&clean, 56) as usize; // the meta's high-water mark (both metas agree here)
    let mut in_use = Vec::new();
    let mut free = Vec::new();
    // Pages that start a run (their header names them); the overflow pages after one hold only
    // data, whose bytes no structure check can judge.
    let mut starts = Vec::new();
    let mut p = 2;
    while p < hwm {
        starts.push(p);
        let header_id = u64_at(&clean, p * PS);
        let overflow = if header_id == p as u64 { u32_at(&clean, p * PS + 12) as usize } else { 0 };
        p += 1 + overflow.min(hwm);
    }
    for p in starts {
        let mut bytes = clean.clone();
        bytes[p * PS + 8] = 0x7f; // the type flags
        let path = write(dir.path(), "flags.db", &bytes);
        let theirs = etcdutl_hash(&etcdutl, &path);
        let (code, ours) = check_json(&path, &[]);
        if theirs == Some(clean_hash) {
            free.push(p);
            assert_eq!(code, 0, "page {p} is unused (etcdutl reads the file unchanged), yet: {ours}");
        } else {
            in_use.push(p);
            assert_eq!(code, 1, "page {p}: {ours}");
            assert!(names_page(&ours, p as u64), "page {p} is in use and its type was destroyed; no finding names it: {ours}");
        }
    }
    assert!(in_use.len() > 50 && !free.is_empty(), "{} in use, {} free", in_use.len(), free.len());

    let (mut reordered, mut duplicated, mut bounds, mut overflow) = (0, 0, 0, 0);
    for &p in &in_use {
        let at = p * PS;
        let (flags, count) = (u16_at(&clean, at + 8), u16_at(&clean, at + 10) as usize);
        if flags == 0x02 && count >= 2 {
            // Key 1 of the leaf made all zero bytes: below key 0.
            let e = at + 16 + 16;
            let (pos, ksize) = (u32_at(&clean, e + 4) as usize, u32_at(&clean, e + 8) as usize);
            let mut bytes = clean.clone();
            bytes[e + pos..e + pos + ksize].fill(0);
            let (code, ours) = check_json(&write(dir.path(), "order.db", &bytes), &[]);
            assert_eq!(code, 1);
            assert!(names_page(&ours, p as u64) && ours.to_string().contains("out of order"), "leaf {p}: {ours}");
            reordered += 1;
        }
        if flags == 0x01 && count >= 2 {
            let e0 = at + 16;
            let e1 = at + 32;
            let child0 = u64_at(&clean, e0 + 8);
            let mut bytes = clean.clone();
            bytes[e1 + 8..e1 + 16].copy_from_slice(&child0.to_le_bytes());
            let (code, ours) = check_json(&write(dir.path(), "dup.db", &bytes), &[]);
            assert_eq!(code, 1);
            assert!(names_page(&ours, child0) && ours.to_string().contains("multiple references"), "branch {p}: {ours}");
            duplicated += 1;
            let mut bytes = clean.clone();
            bytes[e1 + 8..e1 + 16].copy_from_slice(&(hwm as u64 + 5).to_le_bytes());
            let (code, ours) = check_json(&write(dir.path(), "oob.db", &bytes), &[]);
            assert_eq!(code, 1);
            assert!(names_page(&ours, p as u64) && ours.to_string().contains("out of bounds"), "branch {p}: {ours}");
            bounds += 1;
        }
        let mut bytes = clean.clone();
        bytes[at + 12..at + 16].copy_from_slice(&(hwm as u32).to_le_bytes());
        let (code, ours) = check_json(&write(dir.path(), "overflow.db", &bytes), &[]);
        assert_eq!(code, 1);
        assert!(names_page(&ours, p as u64), "page {p} with an overflow past the end: {ours}");
        overflow += 1;
    }
    assert!(reordered > 10 && duplicated > 0 && bounds > 0 && overflow == in_use.len(), "{reordered} {duplicated} {bounds} {overflow}");

    // A persisted freelist in a free page: lists one page in use, leaves one free page out.
    let (fl, left_out) = (free[0], free[free.len() - 1]);
    let listed_in_use = in_use[in_use.len() / 2];
    let mut ids: Vec<u64> = free.iter().filter(|&&f| f != fl && f != left_out).map(|&f| f as u64).collect();
    ids.push(listed_in_use as u64);
    let mut bytes = clean.clone();
    let at = fl * PS;
    bytes[at..at + PS].fill(0);
    bytes[at..at + 8].copy_from_slice(&(fl as u64).to_le_bytes());
    bytes[at + 8..at + 10].copy_from_slice(&0x10u16.to_le_bytes());
    bytes[at + 10..at + 12].copy_from_slice(&(ids.len() as u16).to_le_bytes());
    for (i, id) in ids.iter().enumerate() {
        bytes[at + 16 + i * 8..at + 24 + i * 8].copy_from_slice(&id.to_le_bytes());
    }
    for meta in [0, 1] {
        bytes[meta * PS + 48..meta * PS + 56].copy_from_slice(&(fl as u64).to_le_bytes());
        reseal_meta(&mut bytes, meta);
    }
    let (code, ours) = check_json(&write(dir.path(), "freelist.db", &bytes), &[]);
    assert_eq!(code, 1);
    let found = serious(&ours);
    assert_eq!(found.len(), 2 + usize::from(left_out == fl), "{ours}");
    // bbolt check's words (tx_check.go): a listed page a tree reaches is "reachable freed";
    // "already freed" is a page listed twice.
    assert!(found.iter().any(|f| f["page"].as_u64() == Some(listed_in_use as u64) && f["what"].as_str().unwrap().contains("reachable freed")), "{ours}");
    if left_out != fl {
        assert!(found.iter().any(|f| f["page"].as_u64() == Some(left_out as u64) && f["what"].as_str().unwrap().contains("unreachable unfreed")), "{ours}");
    }

    // Metas.
    let mut bytes = clean.clone();
    bytes[PS + 72] ^= 0xff;
    let (code, ours) = check_json(&write(dir.path(), "meta1.db", &bytes), &[]);
    assert_eq!(code, 1);
    assert!(names_page(&ours, 1) || serious(&ours).iter().any(|f| f["page"] == 1), "{ours}");
    bytes[72] ^= 0xff;
    let path = write(dir.path(), "metas.db", &bytes);
    assert_eq!(check_json(&path, &[]).0, 2, "both metas bad: unreadable without --best-effort");
    let (code, ours) = check_json(&path, &["--best-effort"]);
    assert_eq!(code, 1);
    assert!(ours.to_string().contains("neither meta page is valid"), "{ours}");
}

#[test]
fn random_byte_flips_never_panic() {
    let clean = std::fs::read(repo().join("testdata/etcd-3.5.1/member-db")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..300 {
        let mut bytes = clean.clone();
        for _ in 0..1 + next() % 8 {
            let at = (next() % bytes.len() as u64) as usize;
            bytes[at] = next() as u8;
        }
        let path = write(dir.path(), "flip.db", &bytes);
        for extra in [&[][..], &["--best-effort"][..]] {
            let (code, _) = check_json(&path, extra);
            assert!((0..=2).contains(&code), "round {round}: exit {code}");
        }
    }
}

/// A db built here, one page at a time, so which page is what is known by construction: metas
/// (txid 1 and 2, valid checksums, `root`, `freelist`, `hwm` pages of 4096 bytes), the root
/// bucket an empty leaf at page 2, `freelist` a freelist page listing `free`.
fn constructed_db(hwm: usize, freelist: u64, free: &[u64]) -> Vec<u8> {
    let mut f = vec![0u8; hwm * PS];
    let put = |f: &mut [u8], at: usize, bytes: &[u8]| f[at..at + bytes.len()].copy_from_slice(bytes);
    for (page, txid) in [(0usize, 1u64), (1, 2)] {
        let o = page * PS;
        put(&mut f, o, &(page as u64).to_le_bytes());
        put(&mut f, o + 8, &0x04u16.to_le_bytes());
        put(&mut f, o + 16, &0xED0C_DAEDu32.to_le_bytes());
        put(&mut f, o + 20, &2u32.to_le_bytes());
        put(&mut f, o + 24, &(PS as u32).to_le_bytes());
        put(&mut f, o + 32, &2u64.to_le_bytes()); // root bucket's root page
        put(&mut f, o + 48, &freelist.to_le_bytes());
        put(&mut f, o + 56, &(hwm as u64).to_le_bytes());
        put(&mut f, o + 64, &txid.to_le_bytes());
        reseal_meta(&mut f, page);
    }
    put(&mut f, 2 * PS, &2u64.to_le_bytes());
    put(&mut f, 2 * PS + 8, &0x02u16.to_le_bytes());
    let o = freelist as usize * PS;
    put(&mut f, o, &freelist.to_le_bytes());
    put(&mut f, o + 8, &0x10u16.to_le_bytes());
    put(&mut f, o + 10, &(free.len() as u16).to_le_bytes());
    for (i, id) in free.iter().enumerate() {
        put(&mut f, o + 16 + 8 * i, &id.to_le_bytes());
    }
    f
}

/// Found by trying to break every command: on a db whose freelist names a page twice and which
/// also holds a page neither reachable nor free, `check` reported only the first ("page already
/// freed", from a reader that stops there) and then said "freelist not persisted" of a db whose
/// meta names a freelist page. bbolt's check reports both, entry by entry; so does ours now.
#[test]
fn a_page_freed_twice_and_one_neither_reached_nor_free_are_both_reported() {
    let dir = tempfile::tempdir().unwrap();
    // Pages: 0, 1 metas; 2 the root leaf; 3 the freelist; 4, 5 free (5 listed twice); 6 neither.
    let path = write(dir.path(), "freelist.db", &constructed_db(7, 3, &[4, 5, 5]));
    let (code, ours) = check_json(&path, &[]);
    assert_eq!(code, 1, "{ours}");
    // Only the bbolt layer: the etcd layer rightly finds no etcd buckets in this db.
    let bolt = |v: &Value| -> Vec<Value> { serious(v).into_iter().filter(|f| f["layer"] == "bbolt").cloned().collect() };
    let found = bolt(&ours);
    let says = |page: u64, words: &str| {
        found.iter().any(|f| f["page"].as_u64() == Some(page) && f["what"].as_str().unwrap().starts_with(&format!("page {page}: {words}")))
    };
    assert!(says(5, "already freed"), "{ours}");
    assert!(says(6, "unreachable unfreed"), "{ours}");
    assert_eq!(found.len(), 2, "exactly those two: {ours}");
    assert_eq!(ours["tree"]["freelistPersisted"], true);
    assert_eq!(ours["tree"]["freelistPage"], 3);
    let table = String::from_utf8(run(&["check".as_ref(), path.as_os_str()]).stdout).unwrap();
    assert!(table.contains("3 on the freelist (page 3)") && !table.contains("not persisted"), "{table}");
    // The control: the same db with a sound freelist is clean.
    let path = write(dir.path(), "sound.db", &constructed_db(7, 3, &[4, 5, 6]));
    let (_, ours) = check_json(&path, &[]);
    assert!(bolt(&ours).is_empty(), "{ours}");
}

/// `check` and `analyze` take a cancel token (they are long on multi-GB files): cancelled, they
/// stop with `Interrupted` instead of reading on; the CLI turns that into exit 130.
#[test]
fn a_cancelled_check_or_analyze_stops() {
    let source = etcdscope::source::Source::open(repo().join("testdata/etcd-3.5.1/snapshot.db")).unwrap();
    let cancel = etcdscope::cancel::Cancel::new();
    assert!(etcdscope::views::check::check(&source, false, &cancel).is_ok());
    cancel.cancel();
    let got = etcdscope::views::check::check(&source, true, &cancel);
    assert!(matches!(got, Err(etcdscope::Error::Interrupted)), "{got:?}");
    let snap = etcdscope::snapshot::Snapshot::open(&source).unwrap();
    let decoder = etcdscope::k8s::decoder::Decoder {
        schemas: etcdscope::k8s::schema::Schemas::embedded().unwrap(),
        options: Default::default(),
        encryption: None,
        etcd_prefix: "/registry".into(),
    };
    let by = etcdscope::views::analyze::GroupBy::Resource;
    let got = etcdscope::views::analyze::analyze(&snap, &decoder, "/registry", &by, 5, &cancel).map(|_| ());
    assert!(matches!(got, Err(etcdscope::Error::Interrupted)), "{got:?}");
    assert!(etcdscope::views::analyze::analyze(&snap, &decoder, "/registry", &by, 5, &Default::default()).is_ok());
}

/// Found in review: on a truncated member db, `check --best-effort` reported the etcd layer's
/// one root error four times (once per etcd check that opens the bucket), so two errors were
/// counted as six. Each finding is reported once.
#[test]
fn a_finding_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.db");
    std::fs::write(&cut, &std::fs::read(repo().join("testdata/etcd-3.5.1/member-db")).unwrap()[..300_000]).unwrap();
    let o = run(&["check".as_ref(), cut.as_os_str(), "--best-effort".as_ref(), "-o".as_ref(), "json".as_ref()]);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for f in findings {
        assert!(seen.insert(f.to_string()), "reported twice: {f}");
    }
    assert!(findings.len() >= 2, "{findings:?}");
}

/// Found by the hostile pass: `analyze --top` with a huge count overflowed (`top * 4`) and
/// panicked. Any count is taken: the list simply holds every key.
#[test]
fn analyze_takes_any_top_count() {
    let snap = repo().join("testdata/etcd-3.5.1/snapshot.db");
    for top in ["9223372036854775807", "18446744073709551615", "0"] {
        let o = run(&["analyze".as_ref(), snap.as_os_str(), "--top".as_ref(), top.as_ref()]);
        assert_eq!(o.status.code(), Some(0), "--top {top}: {}", String::from_utf8_lossy(&o.stderr));
    }
}

/// What `etcdutl snapshot status` (3.5.1) or `ETCDCTL_API=3 etcdctl snapshot status` (3.4.23)
/// does with `db`: (succeeded, what it printed). Both open the file for writing, as etcd does.
fn etcd_snapshot_status(version: &str, bin_dir: &str, db: &Path) -> (bool, String) {
    let tool = if version == "3.5.1" { "etcdutl" } else { "etcdctl" };
    let out = Command::new(Path::new(bin_dir).join(tool)).env("ETCDCTL_API", "3").args(["snapshot", "status", "-w", "json"]).arg(db).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// Found by trying to break every command: a meta whose checksum is right but whose
/// high-water mark is 0 (or whose root page lies at or beyond the mark) made every command exit
/// 2 with "high-water mark 0 is impossible", `salvage` and `check --best-effort` included, though
/// the other meta was intact. bbolt checks only magic, version and checksum, so it chooses such a
/// meta and fails on it: real etcd's tools (which open the file as etcd does) must not read
/// these files. The strict readers refuse them as bbolt fails, saying which meta, why, and that
/// the other meta is usable; `check --best-effort` and `salvage` read through the other meta
/// and report the one passed over as an error.
#[test]
fn an_active_meta_with_impossible_page_ids_is_passed_over_by_the_tolerant_readers() {
    let dir = tempfile::tempdir().unwrap();
    for version in ["3.5.1", "3.4.23"] {
        let mut sample = std::fs::read(repo().join(format!("testdata/etcd-{version}/snapshot.db"))).unwrap();
        sample.truncate(sample.len() - 32);
        let (txid0, txid1) = (u64_at(&sample, 64), u64_at(&sample, PS + 64));
        let (active, other) = if txid0 > txid1 { (0, 1) } else { (1, 0) };
        let (active_txid, other_txid) = (u64_at(&sample, active * PS + 64), u64_at(&sample, other * PS + 64));
        let hwm = u64_at(&sample, active * PS + 56);
        let root = u64_at(&sample, active * PS + 32);
        let expected: Value =
            serde_json::from_slice(&std::fs::read(repo().join(format!("testdata/etcd-{version}/expected/snapshot-status.json"))).unwrap()).unwrap();
        // (field offset in the meta page, value, the field blamed, what is wrong): a mark lowered
        // to the root page makes the root page the impossible one.
        let cases = [
            (56usize, 0u64, 56usize, "high-water mark 0 is impossible".to_string()),
            (56, root, 32, format!("root bucket page {root} is impossible")),
            (32, hwm, 32, format!("root bucket page {hwm} is impossible")),
        ];
        for (i, (field, value, blamed, why)) in cases.iter().enumerate() {
            let mut db = sample.clone();
            db[active * PS + field..active * PS + field + 8].copy_from_slice(&value.to_le_bytes());
            reseal_meta(&mut db, active);
            let path = write(dir.path(), &format!("{version}-{i}.db"), &db);
            let case = format!("etcd {version} snapshot, active meta's field at {field} set to {value}");
            if let Some(bins) = bin_dir_or_skip(version) {
                let (ok, said) = etcd_snapshot_status(version, &bins, &path);
                assert!(!ok, "{case}: real etcd's snapshot status read it: {said}");
            }
            // The strict readers: refused, naming the meta, the field's byte, why, and the other meta.
            let this = format!("meta page {active} (txid {active_txid})");
            let usable = format!("meta page {other} (txid {other_txid}) is valid");
            let p = path.as_os_str();
            for full in [vec!["status".as_ref(), p], vec!["check".as_ref(), p], vec!["kv".as_ref(), "get".as_ref(), p, "/hist/kept".as_ref()]] {
                let args = full[0];
                let out = run(&full);
                let err = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(2), "{case}: {args:?}: {err}");
                let field_at = format!("page {active} (byte offset {})", active * PS + blamed);
                for needle in [this.as_str(), why.as_str(), usable.as_str(), field_at.as_str(), "check --best-effort"] {
                    assert!(err.contains(needle), "{case}: {args:?} does not say {needle:?}: {err}");
                }
            }
            // check --best-effort: read through the other meta, the passed-over one an error.
            let (code, report) = check_json(&path, &["--best-effort"]);
            assert_eq!(code, 1, "{case}: {report}");
            let meta = report["meta"].as_str().unwrap();
            assert!(meta.starts_with(&format!("meta page {other} (txid {other_txid}) is used")) && meta.contains(why.as_str()), "{case}: {meta}");
            let found = serious(&report);
            let passed_over = found.iter().find(|f| f["page"].as_u64() == Some(active as u64) && f["offset"].as_u64() == Some((active * PS + blamed) as u64));
            let passed_over = passed_over.unwrap_or_else(|| panic!("{case}: no finding at the meta's field: {report}"));
            assert_eq!(passed_over["severity"], "error", "{case}");
            assert!(passed_over["what"].as_str().unwrap().contains(why.as_str()), "{case}: {passed_over}");
            // A snapshot's two metas name the same tree: nothing else is wrong with it.
            assert_eq!(found.len(), 1, "{case}: {report}");
            // salvage: exit 1 (an error was found), the finding shown, and a snapshot with the
            // content etcd recorded for the original.
            let out_db = dir.path().join(format!("{version}-{i}-salvaged.db"));
            let out = run(&["salvage".as_ref(), path.as_os_str(), "--out".as_ref(), out_db.as_os_str()]);
            let said = String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(1), "{case}: salvage: {said}{}", String::from_utf8_lossy(&out.stderr));
            assert!(said.contains(why.as_str()), "{case}: salvage does not say why the meta was passed over: {said}");
            let status = status_json(&out_db);
            for field in ["hash", "revision", "totalKey"] {
                assert_eq!(status[field], expected[field], "{case}: salvaged {field}");
            }
        }
    }
}

/// The other meta bbolt would fall back to names impossible pages: nothing is refused (bbolt
/// does not read it), but `check` warns.
#[test]
fn an_older_meta_with_impossible_page_ids_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = std::fs::read(repo().join("testdata/etcd-3.5.1/member-db")).unwrap();
    let older = if u64_at(&db, 64) > u64_at(&db, PS + 64) { 1 } else { 0 };
    db[older * PS + 56..older * PS + 64].copy_from_slice(&0u64.to_le_bytes());
    reseal_meta(&mut db, older);
    let path = write(dir.path(), "older.db", &db);
    let (code, report) = check_json(&path, &[]);
    assert_eq!(code, 1, "{report}");
    let found = serious(&report);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["severity"], "warning");
    assert_eq!(found[0]["offset"].as_u64(), Some((older * PS + 56) as u64));
    assert!(found[0]["what"].as_str().unwrap().contains("high-water mark 0 is impossible"), "{report}");
    let out = run(&["status".as_ref(), path.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}
