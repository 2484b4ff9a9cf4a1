//! The diff view of the web UI (`/ui/diff/A/B`) in a real browser, on testdata/diff-3.5.1 (two
//! members of one etcd 3.5.1 cluster, old.db and new.db), judged against the keyspaces etcdctl
//! printed from etcdutl-restored members of each (expected/restored-{old,new}.json): restoring
//! old over new, every resource's count per class and the keys behind each count are those the
//! two recorded keyspaces give; one object's field change shows; no page logs an error.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::browser::{assert_clean, browse, browser_or_skip, screenshot_path};
use common::repo;
use common::serve::{serve, Served};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};

fn expected(file: &str) -> BTreeMap<Vec<u8>, Value> {
    let path = repo().join("testdata/diff-3.5.1/expected").join(file);
    let get: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    get["kvs"].as_array().unwrap().iter().map(|kv| (B64.decode(kv["key"].as_str().unwrap()).unwrap(), kv.clone())).collect()
}

/// The class of every key when the keyspace etcdctl printed from the restored old member
/// replaces the one of the restored new member.
fn classes() -> BTreeMap<Vec<u8>, &'static str> {
    common::restore_classes(&expected("restored-old.json"), &expected("restored-new.json"))
}

/// The resource a key stores, as kube-apiserver lays out /registry (Nodes under `minions`,
/// apps/v1 types named with their group); keys outside /registry are not objects.
fn resource_of(key: &[u8]) -> String {
    let text = String::from_utf8_lossy(key);
    let Some(rest) = text.strip_prefix("/registry/") else { return "(non-object keys)".into() };
    match rest.split('/').next().unwrap() {
        "minions" => "nodes".into(),
        r @ ("deployments" | "replicasets" | "statefulsets" | "daemonsets") => format!("{r}.apps"),
        r => r.into(),
    }
}

fn status_of(served: &Served, path: &str) -> u16 {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", served.port())).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// The key a link's `key` parameter names, byte for byte.
fn key_param(link: &str) -> Vec<u8> {
    let query = link.split_once('?').unwrap().1;
    let value = query.split('&').find_map(|p| p.strip_prefix("key=")).unwrap();
    percent_encoding::percent_decode_str(value).collect()
}

const EVAL_SUMMARY: &str = "Object.fromEntries(Array.from(document.querySelectorAll('#diff-summary tbody tr')).map(tr => [tr.dataset.resource, \
     Object.fromEntries(Array.from(tr.querySelectorAll('td')).map(td => [td.dataset.class, Number(td.querySelector('.count').dataset.count)]))]))";
const EVAL_LINKS: &str =
    "Array.from(document.querySelectorAll('#diff-summary tbody td a')).map(a => [a.closest('tr').dataset.resource, a.closest('td').dataset.class, a.getAttribute('href')])";

#[test]
fn diff_counts_and_keys_equal_the_restored_members() {
    let Some(browser) = browser_or_skip() else { return };
    let dir = repo().join("testdata/diff-3.5.1");
    let served = serve(&[&dir.join("old.db"), &dir.join("new.db")], &[]);
    let names: Vec<&str> = served.contexts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["old", "new"]);
    let classes = classes();
    let mut want: BTreeMap<String, BTreeMap<&str, u64>> = BTreeMap::new();
    for (key, class) in &classes {
        *want.entry(resource_of(key)).or_default().entry(class).or_default() += 1;
    }
    let shot = screenshot_path("diff.png", served.dir.path());
    // The cluster is at new; old is what the restore brings.
    let seen = browse(
        &browser,
        &served,
        json!([{"goto": "/ui/diff/new/old", "eval": {"summary": EVAL_SUMMARY, "links": EVAL_LINKS, "hazards": "document.querySelectorAll('[data-hazard]').length"}, "screenshot": shot, "full": true}]),
    );
    assert_clean(&seen);
    let step = &seen["steps"][0];
    assert_eq!(step["status"], 200);
    let shown: BTreeMap<String, BTreeMap<String, u64>> = serde_json::from_value(step["eval"]["summary"].clone()).unwrap();
    for (resource, counts) in &shown {
        let expected = want.get(resource).unwrap_or_else(|| panic!("{resource} is not in etcdctl's keyspaces"));
        for (class, n) in counts {
            assert_eq!(*n, expected.get(class.as_str()).copied().unwrap_or(0), "{resource} {class}");
        }
    }
    assert_eq!(shown.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "the same resources");
    assert!(step["eval"]["hazards"].as_i64().unwrap() > 0, "the scenario has restore hazards");

    // Each count's drill-down lists exactly the keys of that resource and class.
    let links: Vec<(String, String, String)> = serde_json::from_value(step["eval"]["links"].clone()).unwrap();
    assert!(links.len() >= 10, "{links:?}");
    let steps: Vec<Value> = links
        .iter()
        .map(|(_, _, href)| json!({"goto": href, "eval": {"keys": "Array.from(document.querySelectorAll('#diff-keys tbody a')).map(a => a.getAttribute('href'))"}}))
        .collect();
    let seen = browse(&browser, &served, Value::Array(steps));
    assert_clean(&seen);
    for ((resource, class, _), step) in links.iter().zip(seen["steps"].as_array().unwrap()) {
        assert_eq!(step["status"], 200);
        let got: BTreeSet<Vec<u8>> = step["eval"]["keys"].as_array().unwrap().iter().map(|h| key_param(h.as_str().unwrap())).collect();
        let expected: BTreeSet<Vec<u8>> =
            classes.iter().filter(|(k, c)| **c == class.as_str() && resource_of(k) == *resource).map(|(k, _)| k.clone()).collect();
        assert_eq!(got, expected, "{resource} {class}");
    }
}

/// One reverted object: the label the new member added (its bytes are in etcdctl's value of
/// the new member's key, not in the old's) shows now, and absent after the restore; the page
/// links to both sides' key pages and timelines; the timelines it links to load cleanly.
#[test]
fn one_objects_field_change_and_its_links() {
    let Some(browser) = browser_or_skip() else { return };
    let dir = repo().join("testdata/diff-3.5.1");
    let key = b"/registry/configmaps/team-a/settings".to_vec();
    let (old, new) = (expected("restored-old.json"), expected("restored-new.json"));
    let value = |kvs: &BTreeMap<Vec<u8>, Value>| B64.decode(kvs[&key]["value"].as_str().unwrap()).unwrap();
    let label = b"\n\x04tier\x12\x08frontend";
    let has = |v: &[u8]| v.windows(label.len()).any(|w| w == label);
    assert!(has(&value(&new)) && !has(&value(&old)), "the recording: the new member labelled it tier=frontend");
    let served = serve(&[&dir.join("old.db"), &dir.join("new.db")], &[]);
    let seen = browse(
        &browser,
        &served,
        json!([
            {"goto": "/ui/diff/new/old?key=/registry/configmaps/team-a/settings", "eval": {
                "class": "document.querySelector('[data-class]').dataset.class",
                "tier": "(r => r && [r.querySelector('td.old').textContent, r.querySelector('td.new').textContent])(document.querySelector('tr[data-path=\"metadata.labels.tier\"]'))",
                "links": "Array.from(document.querySelectorAll('p.links a')).map(a => a.getAttribute('href'))",
            }},
            {"goto": "/ui/new/history?key=/registry/configmaps/team-a/settings", "eval": {"n": "document.querySelectorAll('ol.timeline > li').length"}},
            {"goto": "/ui/old/history?key=/registry/configmaps/team-a/settings", "eval": {"n": "document.querySelectorAll('ol.timeline > li').length"}},
            {"goto": "/ui/diff/old/old", "eval": {"identical": "document.querySelector('#identical').textContent"}},
        ]),
    );
    assert_clean(&seen);
    let steps = seen["steps"].as_array().unwrap();
    let v = &steps[0]["eval"];
    assert_eq!(v["class"], "revert");
    assert_eq!(v["tier"], json!(["frontend", "(absent)"]), "now | after the restore");
    let links: Vec<&str> = v["links"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    for want in ["/ui/new/key?", "/ui/new/history?", "/ui/old/key?", "/ui/old/history?"] {
        assert!(links.iter().any(|l| l.starts_with(want) && key_param(l) == key), "{want} in {links:?}");
    }
    assert!(steps[1]["eval"]["n"].as_i64().unwrap() >= 2 && steps[2]["eval"]["n"].as_i64().unwrap() >= 1);
    assert!(steps[3]["eval"]["identical"].as_str().unwrap().starts_with("identical"));
    assert_eq!(status_of(&served, "/ui/diff/old/nothing"), 404);
    assert_eq!(status_of(&served, "/ui/diff/nothing/new"), 404);
    assert_eq!(status_of(&served, "/ui/diff/new/old?resource=pods&class=nonsense"), 400);
    assert_eq!(status_of(&served, "/ui/diff/new/old?resource=nonsense&class=lost"), 404);
    for page in ["0", "2", "x", "18446744073709551615"] {
        assert_eq!(status_of(&served, &format!("/ui/diff/new/old?resource=pods&class=lost&page={page}")), 200, "page={page}");
    }
}

fn get_body(served: &Served, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", served.port())).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let code = response.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, response.split_once("\r\n\r\n").map_or(String::new(), |(_, b)| b.to_string()))
}

/// Every link the diff and timeline pages give to a diff or timeline page leads to a page (200):
/// a side's timeline is linked only where the key is, so two unrelated inputs (ui-3.5.1 and
/// serve-3.5.1: most keys lost or reappearing) make no dead link; hostile keys and values stay
/// escaped and a Secret's value unseen on every page. Followed over plain HTTP from both
/// directions of the diff.
#[test]
fn diff_and_timeline_links_all_lead_to_pages() {
    let served = serve(&[&repo().join("testdata/ui-3.5.1/snapshot.db"), &common::serve::serve_data().join("snapshot.db")], &[]);
    let mut queue: Vec<String> = vec!["/ui/diff/snapshot/snapshot-2".into(), "/ui/diff/snapshot-2/snapshot".into()];
    let mut seen = BTreeSet::new();
    while let Some(path) = queue.pop() {
        if !seen.insert(path.clone()) || seen.len() > 400 {
            continue;
        }
        let (code, body) = get_body(&served, &path);
        assert_eq!(code, 200, "{path}");
        // testdata/ui-3.5.1's keys and values that are markup stay text; its Secret stays unseen.
        for raw in ["<script>alert", "<img src=x", "<i>", "ui-secret-marker-7f3a"] {
            assert!(!body.contains(raw), "{path} holds {raw:?} as it is");
        }
        for part in body.split("href=\"").skip(1) {
            let link = part.split('"').next().unwrap().replace("&amp;", "&");
            let link = match link.strip_prefix('?') {
                Some(q) => format!("{}?{q}", path.split('?').next().unwrap()),
                None => link,
            };
            let ours = link.starts_with("/ui/diff/") || (link.starts_with("/ui/") && link.split('?').next().unwrap().ends_with("/history"));
            if ours && !seen.contains(&link) {
                queue.push(link);
            }
        }
    }
    assert!(seen.len() > 50, "followed {} pages", seen.len());
    assert!(seen.iter().filter(|p| p.contains("/history?")).count() > 10, "timelines reached: {seen:?}");
}
