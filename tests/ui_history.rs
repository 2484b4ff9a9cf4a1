//! The object timeline of the web UI (`/ui/CTX/history?key=K`) in a real browser, judged against
//! what etcdctl's recorded watch saw (testdata/*/ground.json): the same events (revision and
//! type), each incarnation apart, a field's change shown old beside new; a hostile key's
//! timeline is text; a Secret's value never shows.

mod common;

use common::ground;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::browser::{assert_clean, browse, browser_or_skip, screenshot_path};
use common::repo;
use common::serve::{serve, serve_data};
use serde_json::{json, Value};

/// The events etcdctl's `watch -w json` printed for `key`: (mod revision, PUT|DELETE, value).
fn watched(recorded: &Value, key: &[u8]) -> Vec<(i64, String, Vec<u8>)> {
    let mut events = Vec::new();
    for line in recorded["stdout"].as_str().unwrap().lines().filter(|l| !l.trim().is_empty()) {
        let response: Value = serde_json::from_str(line).unwrap();
        for e in response["Events"].as_array().into_iter().flatten() {
            let kv = &e["kv"];
            if B64.decode(kv["key"].as_str().unwrap()).unwrap() != key {
                continue;
            }
            let kind = if e.get("type").and_then(Value::as_i64) == Some(1) { "DELETE" } else { "PUT" };
            let value = kv.get("value").and_then(Value::as_str).map(|v| B64.decode(v).unwrap()).unwrap_or_default();
            events.push((kv["mod_revision"].as_i64().unwrap(), kind.to_string(), value));
        }
    }
    events
}

/// What the page shows: each entry's (revision, type) and each axis mark's (revision, type, shape, link).
const EVAL_EVENTS: &str = "Array.from(document.querySelectorAll('ol.timeline > li')).map(li => [Number(li.dataset.revision), li.dataset.event, li.className])";
const EVAL_MARKS: &str =
    "Array.from(document.querySelectorAll('#revision-axis a.mark')).map(a => [Number(a.dataset.revision), a.dataset.event, a.lastElementChild.tagName, a.getAttribute('href')])";

fn pairs(v: &Value) -> Vec<(i64, String)> {
    v.as_array().unwrap().iter().map(|e| (e[0].as_i64().unwrap(), e[1].as_str().unwrap().to_string())).collect()
}

/// testdata/ui-3.5.1's configmap shop/settings: created, updated three times, deleted, created
/// again and updated — the timeline holds exactly the events etcdctl's watch from revision 1
/// recorded, in two incarnations (each with its uid from the recorded values), and shows
/// `data.version` old beside new at every update.
#[test]
fn timeline_equals_etcdctl_watch_with_two_incarnations() {
    let Some(browser) = browser_or_skip() else { return };
    let key = b"/registry/configmaps/shop/settings";
    let served = serve(&[&repo().join("testdata/ui-3.5.1/snapshot.db")], &[]);
    let want = watched(&ground("ui-3.5.1")["watch_all"], key);
    assert!(want.len() >= 6, "the recording has the scenario: {want:?}");
    let shot = screenshot_path("timeline.png", served.dir.path());
    let seen = browse(
        &browser,
        &served,
        json!([{
            "goto": "/ui/snapshot/history?key=/registry/configmaps/shop/settings",
            "eval": {
                "events": EVAL_EVENTS,
                "marks": EVAL_MARKS,
                "uids": "Array.from(document.querySelectorAll('#incarnations tbody tr td.mono')).map(td => td.textContent)",
                "groups": "Array.from(document.querySelectorAll('section.incarnation')).map(s => Array.from(s.querySelectorAll('li')).map(li => Number(li.dataset.revision)))",
                "versions": "Array.from(document.querySelectorAll('li[data-revision] tr[data-path=\"data.version\"]')).map(tr => [Number(tr.closest('li').dataset.revision), tr.querySelector('td.old').textContent, tr.querySelector('td.new').textContent])",
                "time_axis": "document.querySelectorAll('#time-axis a.mark').length",
                "times": "Array.from(document.querySelectorAll('ol.timeline > li')).map(li => li.querySelector('.time') ? li.querySelector('.time').textContent : null)",
            },
            "screenshot": shot,
            "full": true,
        }]),
    );
    assert_clean(&seen);
    let step = &seen["steps"][0];
    assert_eq!(step["status"], 200);
    let v = &step["eval"];
    let want_pairs: Vec<(i64, String)> = want.iter().map(|(r, t, _)| (*r, t.clone())).collect();
    assert_eq!(pairs(&v["events"]), want_pairs, "the entries are etcdctl's watch events");
    assert_eq!(pairs(&v["marks"]), want_pairs, "one mark per event on the revision axis");
    for m in v["marks"].as_array().unwrap() {
        assert_eq!(m[3], format!("#rev-{}", m[0]), "each mark links to its entry");
        let shape = match m[1].as_str().unwrap() {
            "DELETE" => "path",
            _ => m[2].as_str().unwrap(),
        };
        assert!(["circle", "rect", "path"].contains(&shape), "{m}");
    }
    // A put is a create when it starts a generation: etcd's watch says so by version 1; the
    // recorded values are JSON, their uid tells the incarnations apart.
    let uid_of = |value: &[u8]| -> String { serde_json::from_slice::<Value>(value).unwrap()["metadata"]["uid"].as_str().unwrap().to_string() };
    let mut uids: Vec<String> = want.iter().filter(|(_, t, _)| t == "PUT").map(|(_, _, v)| uid_of(v)).collect();
    uids.dedup();
    assert_eq!(uids.len(), 2, "the recording holds two incarnations");
    assert_eq!(v["uids"], json!(uids), "each incarnation with its uid");
    let deleted_at = want.iter().find(|(_, t, _)| t == "DELETE").unwrap().0;
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert_eq!(groups[0].as_array().unwrap().last().unwrap(), deleted_at, "the first incarnation ends at the delete");
    let shapes: Vec<&str> = v["marks"].as_array().unwrap().iter().map(|m| m[2].as_str().unwrap()).collect();
    assert_eq!(shapes.iter().filter(|s| **s == "path").count(), 1, "one delete, drawn as a cross: {shapes:?}");
    assert_eq!(shapes.iter().filter(|s| **s == "circle").count(), 2, "two creates, drawn as circles: {shapes:?}");
    // data.version before and after each update, from the recorded values.
    let version = |value: &[u8]| -> String { serde_json::from_slice::<Value>(value).unwrap()["data"]["version"].as_str().unwrap().to_string() };
    let mut expected = Vec::new();
    for w in want.windows(2) {
        let ((_, a, old), (rev, b, new)) = (&w[0], &w[1]);
        if a == "PUT" && b == "PUT" && uid_of(old) == uid_of(new) {
            expected.push(json!([rev, version(old), version(new)]));
        }
    }
    assert!(!expected.is_empty());
    assert_eq!(v["versions"], json!(expected), "data.version old | new at each update");
    // Each put's creationTimestamp was written by then: the time axis never places a revision
    // before a timestamp it wrote.
    assert_eq!(v["time_axis"], want.len(), "every revision has time evidence in this snapshot");
    for ((rev, kind, value), shown) in want.iter().zip(v["times"].as_array().unwrap()) {
        if kind == "PUT" {
            let created = serde_json::from_slice::<Value>(value).unwrap()["metadata"]["creationTimestamp"].as_str().unwrap().to_string();
            let shown = shown.as_str().unwrap_or_else(|| panic!("revision {rev} has no time"));
            assert!(shown >= created.as_str(), "revision {rev} placed at {shown}, before the creationTimestamp {created} it carries");
        }
    }
}

/// testdata/serve-3.5.1 was compacted: a pod's timeline from the compaction on is exactly what
/// etcdctl's watch from the compaction revision recorded for it, and what is older is marked as
/// the state kept at the compaction.
#[test]
fn pod_timelines_equal_the_recorded_watch_from_the_compaction() {
    let Some(browser) = browser_or_skip() else { return };
    let g = ground("serve-3.5.1");
    let compact = g["revisions"]["compact"].as_i64().unwrap();
    let recorded = &g["watch_from_compact"];
    let served = serve(&[&serve_data().join("snapshot.db")], &[]);
    let pods: Vec<&[u8]> = vec![b"/registry/pods/shop/web-7d9f5c6b8-eeeee", b"/registry/pods/default/debug"];
    let steps: Vec<Value> = pods
        .iter()
        .map(|k| {
            json!({
                "goto": format!("/ui/snapshot/history?key={}", std::str::from_utf8(k).unwrap()),
                "eval": {
                    "events": EVAL_EVENTS,
                    "kept": "Array.from(document.querySelectorAll('ol.timeline > li')).filter(li => li.querySelector('.badge')).map(li => Number(li.dataset.revision))",
                    "note": "document.querySelector('#compaction').textContent",
                },
            })
        })
        .collect();
    let seen = browse(&browser, &served, Value::Array(steps));
    assert_clean(&seen);
    for (k, step) in pods.iter().zip(seen["steps"].as_array().unwrap()) {
        assert_eq!(step["status"], 200);
        let want: Vec<(i64, String)> = watched(recorded, k).into_iter().map(|(r, t, _)| (r, t)).collect();
        assert!(!want.is_empty(), "the recording has events of {}", String::from_utf8_lossy(k));
        let events = pairs(&step["eval"]["events"]);
        let from_compaction: Vec<(i64, String)> = events.iter().filter(|(r, _)| *r >= compact).cloned().collect();
        assert_eq!(from_compaction, want, "{}", String::from_utf8_lossy(k));
        let older: Vec<i64> = events.iter().filter(|(r, _)| *r < compact).map(|(r, _)| *r).collect();
        assert_eq!(step["eval"]["kept"], json!(older), "entries older than the compaction are marked as the state kept then");
        assert!(step["eval"]["note"].as_str().unwrap().contains(&format!("revision {compact}")), "{}", step["eval"]["note"]);
    }
}

/// Keys and values that are script (testdata/ui-3.5.1) show as text in their timelines; a
/// Secret's value is never on the page.
#[test]
fn hostile_keys_timelines_render_as_text() {
    let Some(browser) = browser_or_skip() else { return };
    let g = ground("ui-3.5.1");
    let served = serve(&[&repo().join("testdata/ui-3.5.1/snapshot.db")], &[]);
    let script = g["markers"]["script"].as_str().unwrap();
    let secret = g["markers"]["secret"].as_str().unwrap();
    let keys = [
        format!("/{script}"),
        format!("/registry/configmaps/default/{script}"),
        "/binary/%FF%00%3Ci%3E".to_string(),
        "/registry/secrets/default/db-password".to_string(),
    ];
    let enc = |k: &str| if k.contains('%') { k.to_string() } else { percent_encoding::utf8_percent_encode(k, percent_encoding::NON_ALPHANUMERIC).to_string() };
    let steps: Vec<Value> = keys
        .iter()
        .map(|k| {
            json!({
                "goto": format!("/ui/snapshot/history?key={}", enc(k)),
                "eval": {
                    "heading": "document.querySelector('h1 .key').textContent",
                    "entries": "document.querySelectorAll('ol.timeline > li').length",
                    "elements": "document.querySelectorAll('main script, main img, main i').length",
                    "text": "document.body.innerText",
                },
            })
        })
        .collect();
    let seen = browse(&browser, &served, Value::Array(steps));
    assert_clean(&seen);
    let steps = seen["steps"].as_array().unwrap();
    for (k, step) in keys.iter().zip(steps) {
        assert_eq!(step["status"], 200, "{k}");
        let v = &step["eval"];
        assert_eq!(v["elements"], 0, "{k}: nothing from the data became an element");
        assert!(v["entries"].as_i64().unwrap() >= 1, "{k}");
        assert!(!v["text"].as_str().unwrap().contains(secret), "{k}: a Secret's value shows");
    }
    assert_eq!(steps[0]["eval"]["heading"], format!("/{script}"), "the key is shown as text");
    assert_eq!(steps[1]["eval"]["heading"], format!("/registry/configmaps/default/{script}"));
    assert!(steps[2]["eval"]["heading"].as_str().unwrap().contains("<i>"), "{}", steps[2]["eval"]["heading"]);
}

fn status_of(served: &common::serve::Served, path: &str) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", served.port())).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// Page numbers are the reader's: any number, however large, gives a page (past the end: an
/// empty one), never a failure; a key with no revision is a 404 page that says why.
#[test]
fn any_page_number_is_a_page() {
    let served = serve(&[&repo().join("testdata/ui-3.5.1/snapshot.db")], &[]);
    let key = "/registry/configmaps/shop/settings";
    for page in ["0", "1", "2", "-3", "x", "99999999999999999", "18446744073709551615"] {
        assert_eq!(status_of(&served, &format!("/ui/snapshot/history?key={key}&page={page}")), 200, "page={page}");
    }
    assert_eq!(status_of(&served, "/ui/snapshot/history?key=/no/such/key"), 404);
    assert_eq!(status_of(&served, "/ui/snapshot/history"), 200, "a form asks for the key");
}

/// A stored `mvccpb.KeyValue` with its version.
fn stored_kv(key: &[u8], create: i64, modified: i64, version: i64, value: &[u8]) -> Vec<u8> {
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push(v as u8 | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    let mut out = Vec::new();
    for (field, bytes) in [(1u64, key), (5, value)] {
        varint(field << 3 | 2, &mut out);
        varint(bytes.len() as u64, &mut out);
        out.extend_from_slice(bytes);
    }
    for (field, v) in [(2u64, create), (3, modified), (4, version)] {
        varint(field << 3, &mut out);
        varint(v as u64, &mut out);
    }
    out
}

/// One key put `puts` times (revisions 2 onwards, versions 1 onwards), nothing else: no
/// Kubernetes object, so no time evidence.
fn long_history_db(path: &std::path::Path, puts: i64) {
    let mut w = etcdscope::bolt::write::FileWriter::create(path, 4096).unwrap();
    let rows: Vec<(Vec<u8>, Vec<u8>)> = (0..puts)
        .map(|n| {
            let rev = n + 2;
            let mut k = rev.to_be_bytes().to_vec();
            k.push(b'_');
            k.extend_from_slice(&0i64.to_be_bytes());
            (k, stored_kv(b"/long/key", 2, rev, n + 1, format!("value {n}").as_bytes()))
        })
        .collect();
    w.bucket(b"key", 0, rows.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))).unwrap();
    w.bucket(b"meta", 0, std::iter::empty()).unwrap();
    w.finish(false).unwrap();
}

/// A history longer than a page is paged, 200 events a page, the total whole on every page; a
/// keyspace without any Kubernetes timestamp says there is no time evidence instead of drawing
/// one.
#[test]
fn long_histories_are_paged_and_no_evidence_is_said() {
    let Some(browser) = browser_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("long.db");
    long_history_db(&db, 450);
    let served = serve(&[&db], &[]);
    let name = &served.contexts[0].0;
    let eval = json!({
        "events": EVAL_EVENTS,
        "marks": "document.querySelectorAll('#revision-axis a.mark').length",
        "total": "document.querySelector('[data-fact=events] .count').dataset.count",
        "no_evidence": "!!document.querySelector('#no-time-evidence')",
        "next": "(a => a && a.getAttribute('href'))(document.querySelector('a[rel=next]'))",
    });
    let steps: Vec<Value> = (1..=3).map(|p| json!({"goto": format!("/ui/{name}/history?key=/long/key&page={p}"), "eval": eval})).collect();
    let seen = browse(&browser, &served, Value::Array(steps));
    assert_clean(&seen);
    let steps = seen["steps"].as_array().unwrap();
    for (p, (first, len)) in [(2, 200), (202, 200), (402, 50)].into_iter().enumerate() {
        let v = &steps[p]["eval"];
        let events = pairs(&v["events"]);
        let want: Vec<(i64, String)> = (first..first + len).map(|r| (r, "PUT".to_string())).collect();
        assert_eq!(events, want, "page {}", p + 1);
        assert_eq!(v["marks"], len, "one mark per event of the page");
        assert_eq!(v["total"], "450");
        assert_eq!(v["no_evidence"], true);
        assert_eq!(v["next"].is_string(), p < 2, "page {}: {}", p + 1, v["next"]);
    }
    assert!(steps[0]["eval"]["events"][0][2].as_str().unwrap().contains("create"), "version 1 is the create");
}

/// Each timeline entry links to the key as it was at that revision, and that page shows what
/// etcd stored then (etcdctl's recorded watch), not the value at the served revision: the
/// `rev` the link carries is read. (Found in review: the key page ignored it.)
#[test]
fn timeline_links_show_the_key_at_each_revision() {
    let Some(browser) = browser_or_skip() else { return };
    let served = serve(&[&repo().join("testdata/ui-3.5.1/snapshot.db")], &[]);
    let key = b"/registry/configmaps/shop/settings";
    let want = watched(&ground("ui-3.5.1")["watch_all"], key);
    let puts: Vec<&(i64, String, Vec<u8>)> = want.iter().filter(|(_, kind, _)| kind == "PUT").collect();
    assert!(puts.len() >= 5, "{want:?}");
    let mut steps = Vec::new();
    for (rev, _, _) in &puts {
        steps.push(json!({"goto": "/ui/snapshot/history?key=/registry/configmaps/shop/settings"}));
        steps.push(json!({
            "click": format!("li#rev-{rev} p.meta a"),
            "eval": {
                "mod": "document.querySelector('[data-fact=mod]').textContent",
                "at": "document.querySelector('[data-fact=at]') && document.querySelector('[data-fact=at]').textContent",
                "json": "fetch(location.href.replace(/&as=[a-z]+/, '') + '&as=json').then(r => r.text()).then(t => new DOMParser().parseFromString(t, 'text/html').querySelector('pre.code code').textContent)",
            },
        }));
    }
    let seen = browse(&browser, &served, Value::Array(steps));
    assert_clean(&seen);
    let final_rev = ground("ui-3.5.1")["revisions"]["final"].as_i64().unwrap();
    for (i, (rev, _, stored)) in puts.iter().enumerate() {
        let step = &seen["steps"][2 * i + 1];
        assert_eq!(step["eval"]["mod"], rev.to_string(), "{step}");
        if *rev != final_rev {
            assert!(step["eval"]["at"].as_str().unwrap_or("").starts_with(&format!("As it was at revision {rev}")), "{step}");
        }
        let shown: Value = serde_json::from_str(step["eval"]["json"].as_str().unwrap()).unwrap();
        let stored: Value = serde_json::from_slice(stored).unwrap();
        assert_eq!(shown["data"], stored["data"], "revision {rev}: the page shows what etcd stored then");
    }
}
