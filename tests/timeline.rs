//! `--at TIME` against a snapshot made by real etcd 3.5.1 (testdata/timeline-3.5.1, written by
//! scripts/make_timeline_data.py): its objects carry timestamps the script chose, each written
//! at the revision etcd answered for the write, and meta.json records, per write, the revision
//! and the timestamps that write set. The expected answers are worked out here from that record
//! alone: a revision's evidence is what its writes set; `--at T` is the revision before the
//! first one with a timestamp after T. And `get --at T` must print exactly what `get --rev R`
//! prints for that R (likewise `kv get`, `history --since/--until`), `export sqlite`'s
//! `revision_times` must hold the record's rows, and a Secret's data must appear nowhere.

mod common;

use common::*;
use etcdscope::cancel::Cancel;
use etcdscope::k8s::decoder::Decoder;
use etcdscope::k8s::facts::Stamp;
use etcdscope::k8s::schema::Schemas;
use etcdscope::snapshot::Snapshot;
use etcdscope::source::Source;
use etcdscope::views::timeline::{resolve_at, resolve_each, revision_times_each};
use serde_json::Value;
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::PathBuf;

fn db() -> PathBuf {
    repo().join("testdata/timeline-3.5.1/timeline.db")
}

fn meta() -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo().join("testdata/timeline-3.5.1/meta.json")).unwrap()).unwrap()
}

fn decoder() -> Decoder {
    Decoder { schemas: Schemas::embedded().unwrap(), options: Default::default(), encryption: None, etcd_prefix: "/registry".into() }
}

fn stamp(unix_ns: i64) -> Stamp {
    Stamp { seconds: unix_ns.div_euclid(1_000_000_000), nanos: unix_ns.rem_euclid(1_000_000_000) as u32 }
}

/// Per revision, the (time, field) pairs its writes set, from the record.
fn recorded() -> BTreeMap<i64, Vec<(Stamp, String)>> {
    let mut by_revision: BTreeMap<i64, Vec<(Stamp, String)>> = BTreeMap::new();
    for w in meta()["writes"].as_array().unwrap() {
        let times: Vec<(Stamp, String)> =
            w["new_times"].as_array().unwrap().iter().map(|t| (stamp(t["unix_ns"].as_i64().unwrap()), t["field"].as_str().unwrap().to_string())).collect();
        if !times.is_empty() {
            by_revision.entry(w["revision"].as_i64().unwrap()).or_default().extend(times);
        }
    }
    by_revision
}

/// A revision and the newest time its writes set.
type Newest = (i64, Stamp);

/// What `--at at` must give, worked out from the record: (revision, lo time, hi revision and
/// time), or None before every timestamp.
fn expected(at: Stamp, current: i64) -> Option<(i64, Stamp, Option<Newest>)> {
    let revisions = recorded();
    let newest = |times: &[(Stamp, String)]| times.iter().map(|t| t.0).max().unwrap();
    let hi = revisions.iter().find(|(_, times)| newest(times) > at).map(|(r, times)| (*r, newest(times)));
    let revision = hi.map_or(current, |(r, _)| r - 1);
    let lo = revisions.range(..=revision).map(|(_, times)| newest(times)).max()?;
    Some((revision, lo, hi))
}

/// Every recorded timestamp, a nanosecond before and after it, and times around them all.
fn times_to_ask() -> Vec<Stamp> {
    let mut asked = vec![];
    for times in recorded().values() {
        for (t, _) in times {
            asked.extend([t.just_before(), *t, Stamp { seconds: t.seconds, nanos: t.nanos + 1 }, Stamp { seconds: t.seconds + 1, nanos: t.nanos }]);
        }
    }
    let t0 = Stamp::parse(meta()["t0"].as_str().unwrap()).unwrap();
    asked.extend([Stamp { seconds: t0.seconds - 3600, nanos: 0 }, Stamp { seconds: t0.seconds + 86_400, nanos: 0 }]);
    asked
}

#[test]
fn resolve_at_follows_the_recorded_writes() {
    let source = Source::open(db()).unwrap();
    let snap = Snapshot::open(&source).unwrap();
    let current = meta()["current_revision"].as_i64().unwrap();
    assert_eq!(snap.store().current_revision(), current);
    let decoder = decoder();
    let asked = times_to_ask();
    let answers = resolve_each(&snap, &decoder, "/registry", &asked, &Cancel::default()).unwrap();
    let mut served = std::collections::BTreeSet::new();
    for (at, answer) in asked.iter().zip(answers) {
        match (expected(*at, current), answer) {
            (Some((revision, lo, hi)), Ok(r)) => {
                assert_eq!(r.revision, revision, "--at {at}");
                assert_eq!(r.lo.time, lo, "--at {at}: lo");
                assert!(r.lo.revision <= revision && r.lo.time <= *at, "--at {at}: lo {:?}", r.lo);
                assert_eq!(r.hi.as_ref().map(|h| (h.revision, h.time)), hi, "--at {at}: hi");
                served.insert(revision);
            }
            (None, Err(e)) => assert!(e.to_string().contains("before the time evidence of revision 2"), "--at {at}: {e}"),
            (want, got) => panic!("--at {at}: expected {want:?}, got {got:?}"),
        }
    }
    // The asked times reach every revision that ends a run of revisions without evidence.
    assert!(served.len() >= 10, "{served:?}");
    // One time alone gives the same answer.
    let at = Stamp::parse("2026-03-01T10:06:40Z").unwrap();
    assert_eq!(resolve_at(&snap, &decoder, "/registry", at, &Cancel::default()).unwrap().revision, expected(at, current).unwrap().0);
}

/// The same writes, compacted at the revision of the Pod's deletion request by real etcd: a time
/// whose answer is at or above the compaction gets the answer the whole history gives; one below
/// is refused, saying from when this file can answer (the newest timestamp up to the
/// compaction: the kept puts count everything they carry).
#[test]
fn a_compacted_file_answers_from_its_compaction_on() {
    let m = meta();
    let compact = m["compacted"]["compact_revision"].as_i64().unwrap();
    let current = m["current_revision"].as_i64().unwrap();
    let source = Source::open(repo().join("testdata/timeline-3.5.1").join(m["compacted"]["file"].as_str().unwrap())).unwrap();
    let snap = Snapshot::open(&source).unwrap();
    assert_eq!((snap.store().compact_revision(), snap.store().current_revision()), (compact, current));
    let newest_to_compaction = recorded().range(..=compact).flat_map(|(_, t)| t.iter().map(|x| x.0)).max().unwrap();
    let asked = times_to_ask();
    let answers = resolve_each(&snap, &decoder(), "/registry", &asked, &Cancel::default()).unwrap();
    let (mut answered, mut refused) = (0, 0);
    for (at, answer) in asked.iter().zip(answers) {
        match expected(*at, current) {
            Some((revision, _, hi)) if revision >= compact => {
                let r = answer.unwrap_or_else(|e| panic!("--at {at}: {e}"));
                assert_eq!((r.revision, r.hi.map(|h| (h.revision, h.time))), (revision, hi), "--at {at}");
                answered += 1;
            }
            Some(_) => {
                let e = answer.unwrap_err().to_string();
                assert!(
                    e.contains(&format!("below the compaction revision {compact}")) && e.contains(&format!("from {newest_to_compaction} (")),
                    "--at {at}: {e}"
                );
                refused += 1;
            }
            None => assert!(answer.unwrap_err().to_string().contains("before the time evidence"), "--at {at}"),
        }
    }
    assert!(answered > 5 && refused > 5, "{answered} answered, {refused} refused");
}

#[test]
fn a_cancelled_resolution_is_interrupted() {
    let source = Source::open(db()).unwrap();
    let snap = Snapshot::open(&source).unwrap();
    let cancel = Cancel::default();
    cancel.cancel();
    let at = Stamp::parse("2026-03-02T00:00:00Z").unwrap();
    assert!(matches!(resolve_at(&snap, &decoder(), "/registry", at, &cancel), Err(etcdscope::Error::Interrupted)));
}

#[test]
fn each_revision_has_the_evidence_its_own_writes_set() {
    let source = Source::open(db()).unwrap();
    let snap = Snapshot::open(&source).unwrap();
    let mut ours = BTreeMap::new();
    revision_times_each(&snap, &decoder(), "/registry", i64::MAX, &Cancel::default(), &mut |r| {
        ours.insert(r.revision, (r.earliest.time, r.latest.time, r.count, r.field_names().join(",")));
        Ok(ControlFlow::Continue(()))
    })
    .unwrap();
    let theirs: BTreeMap<i64, (Stamp, Stamp, u32, String)> = recorded()
        .into_iter()
        .map(|(rev, times)| {
            let mut fields: Vec<&str> = times.iter().map(|t| t.1.as_str()).collect();
            fields.sort_by_key(|f| etcdscope::k8s::facts::TimeField::ALL.iter().position(|a| a.as_str() == *f).expect(f));
            fields.dedup();
            let earliest = times.iter().map(|t| t.0).min().unwrap();
            let latest = times.iter().map(|t| t.0).max().unwrap();
            (rev, (earliest, latest, times.len() as u32, fields.join(",")))
        })
        .collect();
    assert_eq!(ours, theirs);
}

/// The revision the record says `--at at` serves.
fn served(at: &str) -> i64 {
    expected(Stamp::parse(at).unwrap(), meta()["current_revision"].as_i64().unwrap()).unwrap().0
}

const ASKED: [&str; 6] =
    ["2026-03-01T10:00:00Z", "2026-03-01T10:02:10.5Z", "2026-03-01T10:06:39Z", "2026-03-01T10:08:20Z", "2026-03-01T10:15:05.4Z", "2026-03-01T11:00:00Z"];

#[test]
fn get_at_prints_what_get_rev_prints() {
    let db = db();
    let db = db.to_str().unwrap();
    for at in ASKED {
        let rev = served(at).to_string();
        for output in ["json", "yaml", "name"] {
            let args = |when: &[&'static str]| -> Vec<String> {
                let mut a: Vec<String> = ["get", db, "configmaps,pods,leases,events,secrets", "-n", "tl", "-o", output].map(String::from).to_vec();
                a.extend(when.iter().map(|s| s.to_string()));
                a
            };
            let with_at: Vec<String> = args(&["--at", at]);
            let (code, by_time, note) = out(&with_at.iter().map(String::as_str).collect::<Vec<_>>());
            assert_eq!(code, 0, "get --at {at}: {note}");
            assert!(note.contains(&format!("--at {} is revision {rev}", Stamp::parse(at).unwrap())), "{note}");
            let mut with_rev = args(&[]);
            with_rev.extend(["--rev".to_string(), rev.clone()]);
            let (code, by_rev, err) = out(&with_rev.iter().map(String::as_str).collect::<Vec<_>>());
            assert_eq!(code, 0, "{err}");
            assert_eq!(by_time, by_rev, "get -o {output} --at {at} against --rev {rev}");
        }
        let (code, by_time, note) = out(&["kv", "get", db, "/", "--prefix", "-w", "json", "--at", at]);
        assert_eq!(code, 0, "{note}");
        let (_, by_rev, _) = out(&["kv", "get", db, "/", "--prefix", "-w", "json", "--rev", &rev]);
        assert_eq!(by_time, by_rev, "kv get --at {at} against --rev {rev}");
        assert!(!format!("{note}{by_time}").contains("hunter2"), "a Secret's data");
    }
    // The table's AGE is measured from the time asked for.
    let (_, table, _) = out(&["get", db, "configmaps", "-n", "tl", "--at", "2026-03-01T10:08:20Z"]);
    assert!(table.contains("app     1      7m20s") && table.contains("other   1      99s"), "{table}");
    // Before every timestamp, and with --rev: refused.
    let (code, _, err) = out(&["get", db, "configmaps", "-n", "tl", "--at", "2026-03-01T09:00:00Z"]);
    assert_eq!(code, 2);
    assert!(err.contains("before the time evidence of revision 2") && err.contains("2026-03-01T10:00:00Z"), "{err}");
    let (code, _, err) = out(&["kv", "get", db, "/", "--prefix", "--at", "2026-03-01T10:00:00Z", "--rev", "3"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = out(&["get", db, "configmaps", "--at", "yesterday"]);
    assert!(code == 2 && err.contains("not an RFC 3339 time"), "{err}");
    // After every timestamp: the current revision, and it is said that nothing later is known.
    let (_, _, note) = out(&["get", db, "configmaps", "-n", "tl", "--at", "2026-03-02T00:00:00Z"]);
    assert!(note.contains("the current one: it is after all time evidence"), "{note}");
}

#[test]
fn history_since_until_shows_the_revisions_between() {
    let db = db();
    let db = db.to_str().unwrap();
    for (since, until) in [(ASKED[0], ASKED[3]), (ASKED[1], ASKED[5]), (ASKED[2], ASKED[4])] {
        let (from, to) = (served(since) + 1, served(until));
        let (code, by_time, note) = out(&["history", db, "/registry/", "--prefix", "-o", "jsonl", "--since", since, "--until", until]);
        assert_eq!(code, 0, "{note}");
        let (_, by_rev, _) = out(&["history", db, "/registry/", "--prefix", "-o", "jsonl", "--from-rev", &from.to_string(), "--to-rev", &to.to_string()]);
        assert_eq!(by_time, by_rev, "--since {since} --until {until} against revisions {from}..={to}");
        let revisions: Vec<i64> = by_time.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["kv"]["mod_revision"].as_i64().unwrap()).collect();
        assert!(!revisions.is_empty() && revisions.iter().all(|r| (from..=to).contains(r)), "{revisions:?}");
    }
    // Nothing between two times that resolve to the same revision.
    let (code, out_text, note) = out(&["history", db, "/registry/", "--prefix", "--since", "2026-03-01T10:06:00Z", "--until", "2026-03-01T10:06:30Z"]);
    assert_eq!((code, out_text.as_str()), (0, ""), "{note}");
    assert!(note.contains("nothing happened in that time"), "{note}");
}

#[cfg(feature = "sqlite")]
#[test]
fn export_has_a_revision_times_row_per_revision_with_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.sqlite");
    let (code, _, err) = out(&["export", "sqlite", db().to_str().unwrap(), file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let conn = rusqlite::Connection::open(&file).unwrap();
    let mut st =
        conn.prepare("SELECT revision, earliest_unix_ns, latest_unix_ns, evidence, earliest, latest_key FROM revision_times ORDER BY revision").unwrap();
    let rows: Vec<(i64, i64, i64, i64, String, String)> =
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))).unwrap().map(Result::unwrap).collect();
    let theirs: Vec<(i64, i64, i64, i64)> = recorded()
        .into_iter()
        .map(|(rev, t)| {
            let ns = |s: Stamp| s.seconds * 1_000_000_000 + i64::from(s.nanos);
            (rev, ns(t.iter().map(|x| x.0).min().unwrap()), ns(t.iter().map(|x| x.0).max().unwrap()), t.len() as i64)
        })
        .collect();
    assert_eq!(rows.iter().map(|r| (r.0, r.1, r.2, r.3)).collect::<Vec<_>>(), theirs);
    assert!(rows.iter().any(|r| r.5 == "/registry/secrets/tl/db-password"), "a Secret's metadata times are evidence");
    let text: String = conn.query_row("SELECT group_concat(earliest || earliest_key || latest_key || fields) FROM revision_times", [], |r| r.get(0)).unwrap();
    assert!(!text.contains("hunter2"));
}
