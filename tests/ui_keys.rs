//! The keyspace browser, the key page and search of the web UI (`/ui/CTX/keys`, `/ui/CTX/key`,
//! `/ui/CTX/search`) in a real browser (tests/common/browser.rs), judged against what real etcd
//! said: etcdctl's recorded `get "" --from-key` of testdata/ui-3.5.1 (every key and value), the
//! values a real etcd restored from testdata/serve-3.5.1 returns to etcdctl, and the keys real
//! etcd stored for a level too large for one page. The YAML of the key page is judged against
//! `etcdscope get -o yaml`, the printer it reuses (the issue names it).

mod common;

use common::ground;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::browser::{assert_clean, browse, browser_or_skip, screenshot_path};
use common::etcd_server::free_port;
use common::serve::{serve, serve_data, Served};
use common::{bin_dir_or_skip, out, put_with_real_etcd, repo};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

fn ui_data() -> std::path::PathBuf {
    repo().join("testdata/ui-3.5.1")
}

/// Every (key, value) etcdctl returned in `stdout` (`-w json`).
fn etcdctl_kvs(stdout: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let v: Value = serde_json::from_str(stdout).unwrap();
    let b64 = |x: &Value| x.as_str().map(|s| B64.decode(s).unwrap()).unwrap_or_default();
    v["kvs"].as_array().map_or(Vec::new(), |kvs| kvs.iter().map(|kv| (b64(&kv["key"]), b64(&kv["value"]))).collect())
}

/// A key percent-encoded byte for byte, for an address.
fn enc(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) { char::from(b).to_string() } else { format!("%{b:02X}") }).collect()
}

/// The children of `prefix` as this test reads the rule (split at the next `/`, a
/// leading `/` kept with its segment): segment text → (keys, key + value bytes, is a key).
fn expected_level(kvs: &[(Vec<u8>, Vec<u8>)], prefix: &[u8]) -> Vec<(String, u64, u64, bool)> {
    let mut level: BTreeMap<Vec<u8>, (u64, u64, bool)> = BTreeMap::new();
    for (k, v) in kvs.iter().filter(|(k, _)| k.starts_with(prefix)) {
        let rest = &k[prefix.len()..];
        let cut = rest.iter().enumerate().skip(1).find(|(_, &b)| b == b'/').map(|(i, _)| i + 1);
        let (segment, leaf) = match cut {
            Some(i) => (rest[..i].to_vec(), false),
            None => (rest.to_vec(), true),
        };
        let e = level.entry(segment).or_insert((0, 0, leaf));
        e.0 += 1;
        e.1 += (k.len() + v.len()) as u64;
    }
    level.into_iter().map(|(s, (n, b, leaf))| (String::from_utf8(s).expect("the levels compared are ASCII"), n, b, leaf)).collect()
}

/// JS: the rows of the page's own level (`main > ul.tree`), or of the tree under `selector`.
fn rows_js(selector: &str) -> String {
    format!(
        "Array.from(document.querySelectorAll('{selector} > li.prefix, {selector} > li.leaf')).map(li => [li.querySelector('a.key').textContent, +li.dataset.keys, +li.dataset.bytes, li.classList.contains('leaf')])"
    )
}

fn rows_of(v: &Value) -> Vec<(String, u64, u64, bool)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_u64().unwrap(), r[2].as_u64().unwrap(), r[3].as_bool().unwrap()))
        .collect()
}

const FACTS_JS: &str = "[document.querySelector('[data-fact=keys] .count').dataset.count, document.querySelector('[data-fact=bytes] .bytes').dataset.bytes, document.querySelector('[data-fact=children] .count').dataset.count].map(Number)";

/// The root and /registry/ levels of testdata/ui-3.5.1 hold what etcdctl returned (every key,
/// counts and key + value bytes), and /registry/ opened in place with the keyboard (its toggle
/// focused, Enter) shows the same children as its own page.
#[test]
fn levels_hold_what_etcdctl_returned_and_open_in_place_with_the_keyboard() {
    let Some(browser) = browser_or_skip() else { return };
    let served = serve(&[&ui_data().join("snapshot.db")], &[]);
    let kvs = etcdctl_kvs(ground("ui-3.5.1")["get_all"]["stdout"].as_str().unwrap());
    assert!(kvs.len() >= 9, "etcdctl returned {} keys", kvs.len());
    let focus_registry = "(() => { const li = Array.from(document.querySelectorAll('main > ul.tree > li.prefix')).find(li => li.querySelector('a.key').textContent === '/registry/'); const b = li.querySelector('button.toggle'); b.focus(); return [document.activeElement === b, b.hidden, b.getAttribute('aria-expanded')]; })()";
    let shot = screenshot_path("keys.png", served.dir.path());
    let nested = "main > ul.tree > li.prefix > ul.tree";
    let seen = browse(
        &browser,
        &served,
        json!([
            {"goto": "/ui/snapshot/keys", "eval": {"rows": rows_js("main > ul.tree"), "facts": FACTS_JS}},
            {"goto": "/ui/snapshot/keys?prefix=/registry/", "eval": {"rows": rows_js("main > ul.tree"), "facts": FACTS_JS}},
            {"goto": "/ui/snapshot/keys", "eval": {"focused": focus_registry}},
            {"press": "Enter", "wait": nested, "eval": {"rows": rows_js(nested), "expanded": "document.activeElement.getAttribute('aria-expanded')"}, "screenshot": shot},
            {"press": "Enter", "eval": {"hidden": format!("document.querySelector('{nested}').hidden"), "expanded": "document.activeElement.getAttribute('aria-expanded')"}},
        ]),
    );
    assert_clean(&seen);
    let steps = seen["steps"].as_array().unwrap();
    let all_bytes: u64 = kvs.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
    for (step, prefix) in [(0, &b""[..]), (1, b"/registry/")] {
        assert_eq!(steps[step]["status"], 200, "{prefix:?}");
        let expected = expected_level(&kvs, prefix);
        assert_eq!(rows_of(&steps[step]["eval"]["rows"]), expected, "level {:?}", String::from_utf8_lossy(prefix));
        let (keys, bytes) = expected.iter().fold((0, 0), |(n, b), r| (n + r.1, b + r.2));
        assert_eq!(steps[step]["eval"]["facts"], json!([keys, bytes, expected.len()]), "totals of {:?}", String::from_utf8_lossy(prefix));
    }
    assert_eq!(steps[0]["eval"]["facts"][1], all_bytes, "the root holds every key's bytes");
    assert_eq!(steps[2]["eval"]["focused"], json!([true, false, "false"]), "the toggle is shown and takes the focus");
    assert_eq!(steps[3]["eval"]["expanded"], "true");
    assert_eq!(steps[3]["eval"]["rows"], steps[1]["eval"]["rows"], "in place = the prefix's own page");
    assert_eq!(steps[4]["eval"], json!({"hidden": true, "expanded": "false"}), "Enter again closes it");
}

/// Keys and values that are markup show as text: the key holding `<script>`, the value
/// `"><img onerror>`, the non-UTF-8 key `\xff\x00<i>`, a label `<b>front</b>`; their pages load
/// and no script from the data runs (assert_clean: no dialog).
#[test]
fn hostile_keys_and_values_show_as_text() {
    let Some(browser) = browser_or_skip() else { return };
    let served = serve(&[&ui_data().join("snapshot.db")], &[]);
    let g = ground("ui-3.5.1");
    let (script, img) = (g["markers"]["script"].as_str().unwrap(), g["markers"]["img"].as_str().unwrap());
    let script_key = format!("/{script}");
    let configmap = format!("/registry/configmaps/default/{script}");
    let page_js = json!({
        "h1": "document.querySelector('main h1 .key').textContent",
        "value": "(document.querySelector('#value pre.code') || {}).textContent || null",
        "scripts": "document.querySelectorAll('script').length",
        "markup": "document.querySelectorAll('main img, main i, main b, main script').length",
    });
    let seen = browse(
        &browser,
        &served,
        json!([
            {"goto": format!("/ui/snapshot/key?key={}", enc(script_key.as_bytes())), "eval": page_js},
            {"goto": format!("/ui/snapshot/key?key={}&as=yaml", enc(configmap.as_bytes())), "eval": page_js},
            {"goto": format!("/ui/snapshot/key?key={}", enc(b"/binary/\xff\x00<i>")), "eval": page_js},
            {"goto": "/ui/snapshot/key?key=/registry/pods/shop/web-1", "eval": page_js},
            {"goto": "/ui/snapshot/keys?prefix=/binary/", "eval": {"rows": rows_js("main > ul.tree"), "markup": "document.querySelectorAll('main i, main img').length"}},
            {"goto": format!("/ui/snapshot/search?q={}", enc(b"<script>")), "eval": {"keys": "Array.from(document.querySelectorAll('table.results tbody td.key a')).map(a => a.textContent)", "markup": "document.querySelectorAll('main script').length"}},
        ]),
    );
    assert_clean(&seen);
    let s = seen["steps"].as_array().unwrap();
    for step in s {
        assert_eq!(step["status"], 200, "{step}");
        assert_eq!(step["eval"]["markup"], 0, "no element made from data: {step}");
    }
    for step in &s[..4] {
        assert_eq!(step["eval"]["scripts"], 1, "only app.js: {step}");
    }
    assert_eq!(s[0]["eval"]["h1"], script_key);
    assert_eq!(s[0]["eval"]["value"], img, "the value is shown as its text");
    assert_eq!(s[1]["eval"]["h1"], configmap);
    let yaml = s[1]["eval"]["value"].as_str().unwrap();
    assert!(
        yaml.contains(&format!("name: {script}")) || yaml.contains(&format!("name: '{script}'")) || yaml.contains(&format!("name: \"{script}\"")),
        "{yaml}"
    );
    assert!(yaml.contains("<img src=x onerror=alert(") && yaml.contains("</pre></code><script>alert('value')</script>"), "{yaml}");
    assert_eq!(s[2]["eval"]["h1"], "/binary/\\xff\\x00<i>", "a key that is not UTF-8 is spelled out");
    assert!(s[3]["eval"]["value"].as_str().unwrap().contains("tier: <b>front</b>"), "{}", s[3]["eval"]["value"]);
    assert_eq!(s[4]["eval"]["rows"], json!([["\\xff\\x00<i>", 1, 24, true]]), "the level lists it as text");
    assert_eq!(s[5]["eval"]["keys"], json!([script_key, configmap]), "the keys holding <script>, in key order");
}

/// The bytes a hex view shows, read back from its lines (`offset  16 hex bytes  |ascii|`).
fn hex_bytes(dump: &str) -> Vec<u8> {
    dump.lines().flat_map(|l| l.get(10..58).unwrap_or("").split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap()).collect::<Vec<_>>()).collect()
}

/// What every page of the Secret of testdata/ui-3.5.1 shows, as text, per view.
fn secret_pages(browser: &(std::path::PathBuf, std::path::PathBuf), served: &Served) -> Vec<(String, Vec<u8>)> {
    let key = "/registry/secrets/default/db-password";
    let text = json!({"text": "document.body.innerText", "code": "(document.querySelector('#value pre.code') || {}).textContent || ''"});
    let mut steps = Vec::new();
    let mut names = Vec::new();
    for shape in ["yaml", "json", "text", "hex"] {
        steps.push(json!({"goto": format!("/ui/snapshot/key?key={key}&as={shape}"), "eval": text}));
        names.push(shape.to_string());
    }
    for page in [
        "/ui/snapshot/key?key=/registry/secrets/default/db-password",
        "/ui/snapshot/keys?prefix=/registry/secrets/default/",
        "/ui/snapshot/search?q=db-password",
        "/ui/snapshot/search?resource=secrets",
    ] {
        steps.push(json!({"goto": page, "eval": text}));
        names.push(page.to_string());
    }
    let seen = browse(browser, served, Value::Array(steps));
    assert_clean(&seen);
    seen["steps"]
        .as_array()
        .unwrap()
        .iter()
        .zip(names)
        .map(|(step, name)| {
            assert_eq!(step["status"], 200, "{name}");
            let mut shown = step["eval"]["text"].as_str().unwrap().as_bytes().to_vec();
            if name == "hex" {
                shown.extend(hex_bytes(step["eval"]["code"].as_str().unwrap()));
            }
            (name, shown)
        })
        .collect()
}

/// The Secret's value (the marker, and the base64 etcd stores of it) is on no page — YAML,
/// JSON, text, hex, its level, search — unless serve runs with --show-secrets, and then it is
/// on the key views (so this check sees it when it is there).
#[test]
fn a_secret_is_shown_only_with_show_secrets() {
    let Some(browser) = browser_or_skip() else { return };
    let marker = ground("ui-3.5.1")["markers"]["secret"].as_str().unwrap().to_string();
    let needles = [marker.clone(), B64.encode(&marker)];
    let contains = |hay: &[u8], n: &str| hay.windows(n.len()).any(|w| w == n.as_bytes());
    let served = serve(&[&ui_data().join("snapshot.db")], &[]);
    for (page, shown) in secret_pages(&browser, &served) {
        for n in &needles {
            assert!(!contains(&shown, n), "{page} shows the Secret ({n}) without --show-secrets");
        }
    }
    drop(served);
    let served = serve(&[&ui_data().join("snapshot.db")], &["--show-secrets"]);
    let pages = secret_pages(&browser, &served);
    for (page, shown) in &pages[..4] {
        assert!(needles.iter().any(|n| contains(shown, n)), "{page} does not show the Secret with --show-secrets");
    }
}

/// The key page's YAML is `etcdscope get -o yaml`'s, byte for byte, for a pod of
/// testdata/serve-3.5.1.
#[test]
fn key_page_yaml_is_get_o_yaml() {
    let Some(browser) = browser_or_skip() else { return };
    let db = serve_data().join("snapshot.db");
    let (code, expected, err) = out(&["get", db.to_str().unwrap(), "pods", "web-7d9f5c6b8-aaaaa", "-n", "shop", "-o", "yaml"]);
    assert_eq!(code, 0, "{err}");
    let served = serve(&[&db], &[]);
    let shot = screenshot_path("key.png", served.dir.path());
    let seen = browse(
        &browser,
        &served,
        json!([
            {"goto": "/ui/snapshot/key?key=/registry/pods/shop/web-7d9f5c6b8-aaaaa", "eval": {
                "yaml": "document.querySelector('#value pre.code').textContent",
                "facts": "['resource', 'namespace', 'name', 'mod'].map(f => document.querySelector(`[data-fact=${f}]`).textContent)",
                "history": "!!document.querySelector('a[href=\"/ui/snapshot/history?key=/registry/pods/shop/web-7d9f5c6b8-aaaaa\"]')",
            }, "screenshot": shot},
            {"goto": "/ui/snapshot/key?key=/registry/pods/shop/web-7d9f5c6b8-aaaaa&as=json", "eval": {"json": "document.querySelector('#value pre.code').textContent"}},
        ]),
    );
    assert_clean(&seen);
    let s = seen["steps"].as_array().unwrap();
    assert_eq!(s[0]["eval"]["yaml"], expected);
    let object: Value = serde_json::from_str(s[1]["eval"]["json"].as_str().unwrap()).unwrap();
    assert_eq!(object["metadata"]["name"], "web-7d9f5c6b8-aaaaa");
    let listed: Value = serde_json::from_str(ground("serve-3.5.1")["get_final"]["stdout"].as_str().unwrap()).unwrap();
    let pod =
        listed["kvs"].as_array().unwrap().iter().find(|kv| B64.decode(kv["key"].as_str().unwrap()).unwrap() == b"/registry/pods/shop/web-7d9f5c6b8-aaaaa");
    let mod_revision = &pod.expect("etcdctl listed the pod")["mod_revision"];
    assert_eq!(s[0]["eval"]["facts"], json!(["pods", "shop", "web-7d9f5c6b8-aaaaa", mod_revision.to_string()]));
    assert_eq!(s[0]["eval"]["history"], true);
    assert!(!listed.to_string().contains(&B64.encode("/registry/pods/default/debug")), "etcdctl does not list the deleted pod at the end");
    // Deleted before the final revision (etcdctl's watch saw the delete): the file keeps its
    // tombstone, so the page is there (the timeline and diff link to it), says it is not live,
    // lists the delete, and leads to the history. A key the file knows nothing of is 404.
    let seen = browse(
        &browser,
        &served,
        json!([{"goto": "/ui/snapshot/key?key=/registry/pods/default/debug", "eval": {
            "status": "document.querySelector('main p.warning').textContent",
            "events": "Array.from(document.querySelectorAll('#retained tbody tr td:nth-child(3)')).map(td => td.textContent.trim())",
            "history": "!!document.querySelector('a[href=\"/ui/snapshot/history?key=/registry/pods/default/debug\"]')",
        }}]),
    );
    let step = &seen["steps"][0];
    assert_eq!(step["status"], 200);
    assert!(step["eval"]["status"].as_str().unwrap().starts_with("No live key /registry/pods/default/debug at revision"), "{step}");
    assert_eq!(step["eval"]["events"].as_array().unwrap().last().unwrap(), "delete", "{step}");
    assert_eq!(step["eval"]["history"], true);
    assert_clean(&seen);
    let seen = browse(
        &browser,
        &served,
        json!([{"goto": "/ui/snapshot/key?key=/registry/pods/default/never-was", "eval": {"alert": "document.querySelector('main p.error').textContent"}}]),
    );
    let step = &seen["steps"][0];
    assert_eq!(step["status"], 404);
    assert!(step["eval"]["alert"].as_str().unwrap().contains("keeps no revision of it"), "{step}");
    let console = seen["console"].as_array().unwrap();
    assert!(console.iter().all(|m| m["text"].as_str().unwrap().contains("status of 404")), "{console:?}");
    for what in ["page_errors", "failed_requests", "dialogs"] {
        assert_eq!(seen[what], json!([]), "{what}");
    }
}

/// A process killed by its PID when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every key and value under /registry/ of `snapshot` as real etcd returns them: restored by
/// etcdutl, served by etcd on free 127.0.0.1 ports, read by etcdctl.
fn etcd_values(bin_dir: &str, snapshot: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let restored = Command::new(Path::new(bin_dir).join("etcdutl"))
        .args(["snapshot", "restore"])
        .arg(snapshot)
        .arg("--data-dir")
        .arg(&data)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(restored.status.success(), "restore: {}", String::from_utf8_lossy(&restored.stderr));
    let (client, peer) = (format!("http://127.0.0.1:{}", free_port()), format!("http://127.0.0.1:{}", free_port()));
    let log = std::fs::File::create(dir.path().join("etcd.log")).unwrap();
    let child = Command::new(Path::new(bin_dir).join("etcd"))
        .arg("--data-dir")
        .arg(&data)
        .args(["--listen-peer-urls", &peer, "--listen-client-urls", &client, "--advertise-client-urls", &client])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut etcd = Killed(child);
    let etcdctl =
        |args: &[&str]| Command::new(Path::new(bin_dir).join("etcdctl")).args(["--endpoints", &client, "--dial-timeout", "2s"]).args(args).output().unwrap();
    let started = Instant::now();
    while !etcdctl(&["endpoint", "health"]).status.success() {
        let exited = etcd.0.try_wait().unwrap();
        assert!(
            exited.is_none() && started.elapsed() < Duration::from_secs(30),
            "restored etcd did not start: {}",
            std::fs::read_to_string(dir.path().join("etcd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let got = etcdctl(&["get", "/registry/", "--prefix", "-w", "json"]);
    assert!(got.status.success(), "{}", String::from_utf8_lossy(&got.stderr));
    etcdctl_kvs(&String::from_utf8(got.stdout).unwrap())
}

const RESULT_KEYS_JS: &str = "Array.from(document.querySelectorAll('table.results tbody td.key a')).map(a => a.textContent)";

/// Search by the label selector `app=web` (typed into the form) finds the keys whose objects,
/// as real etcd returns them from a restore of testdata/serve-3.5.1, carry label app=web.
#[test]
fn label_search_finds_what_etcd_holds() {
    let Some(browser) = browser_or_skip() else { return };
    let Some(bin_dir) = bin_dir_or_skip("3.5.1") else { return };
    let db = serve_data().join("snapshot.db");
    let kvs = etcd_values(&bin_dir, &db);
    let listed: Vec<Vec<u8>> = etcdctl_kvs(ground("serve-3.5.1")["get_final"]["stdout"].as_str().unwrap()).into_iter().map(|(k, _)| k).collect();
    assert_eq!(kvs.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(), listed, "the restored etcd holds what etcdctl recorded");
    let expected: Vec<String> = kvs
        .iter()
        .filter(|(_, v)| serde_json::from_slice::<Value>(v).is_ok_and(|o| o["metadata"]["labels"]["app"] == "web"))
        .map(|(k, _)| String::from_utf8(k.clone()).unwrap())
        .collect();
    assert!(expected.len() >= 3, "{expected:?}");
    let served = serve(&[&db], &[]);
    let shot = screenshot_path("search.png", served.dir.path());
    let seen = browse(
        &browser,
        &served,
        json!([
            {"goto": "/ui/snapshot/search"},
            {"fill": ["#l", "app=web"]},
            {"click": "form.search button[type=submit]", "eval": {"keys": RESULT_KEYS_JS, "total": "+document.querySelector('[data-fact=total] .count').dataset.count"}, "screenshot": shot},
            {"goto": "/ui/snapshot/search?l=app%3Dweb&resource=po&namespace=shop", "eval": {"keys": RESULT_KEYS_JS}},
            {"goto": "/ui/snapshot/search?l=app%3D%3D%3Dweb", "eval": {"alert": "document.querySelector('main p.error').textContent"}},
        ]),
    );
    assert_clean(&seen);
    let s = seen["steps"].as_array().unwrap();
    assert!(s[2]["url"].as_str().unwrap().contains("l=app%3Dweb"), "the form submits by GET: {}", s[2]["url"]);
    assert_eq!(s[2]["eval"]["keys"], json!(expected));
    assert_eq!(s[2]["eval"]["total"], expected.len());
    let shop_pods: Vec<&String> = expected.iter().filter(|k| k.starts_with("/registry/pods/shop/")).collect();
    assert!(!shop_pods.is_empty());
    assert_eq!(s[3]["eval"]["keys"], json!(shop_pods), "resource po (a short name) and namespace shop narrow it");
    assert!(s[4]["eval"]["alert"].as_str().unwrap().contains("label selector"), "{}", s[4]["eval"]["alert"]);
}

/// A level of 1 201 keys stored by real etcd is listed 500 children to a page, following
/// `next` links, with exact totals on every page; search pages 200 at a time with the whole
/// count.
#[test]
fn large_levels_and_results_are_paged_with_exact_totals() {
    let Some(browser) = browser_or_skip() else { return };
    if bin_dir_or_skip("3.5.1").is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut puts = Vec::new();
    let mut kvs = Vec::new();
    for i in 0..1201 {
        let key = format!("/many/k-{i:04}");
        let value = "v".repeat(1 + i % 7);
        let file = tmp.path().join(format!("v{i}"));
        std::fs::write(&file, &value).unwrap();
        puts.push(json!({"key": key, "value_file": file}));
        kvs.push((key.into_bytes(), value.into_bytes()));
    }
    let out_dir = put_with_real_etcd(tmp.path(), &puts, false);
    let served = serve(&[&out_dir.join("snapshot.db")], &[]);
    let page = json!({"rows": rows_js("main > ul.tree"), "facts": FACTS_JS});
    let results = json!({"keys": RESULT_KEYS_JS, "total": "+document.querySelector('[data-fact=total] .count').dataset.count"});
    let seen = browse(
        &browser,
        &served,
        json!([
            {"goto": "/ui/snapshot/keys?prefix=/many/", "eval": page},
            {"click": "a[rel=next]", "eval": page},
            {"click": "a[rel=next]", "eval": {"rows": rows_js("main > ul.tree"), "facts": FACTS_JS, "next": "!!document.querySelector('a[rel=next]')"}},
            {"goto": "/ui/snapshot/search?q=k-1", "eval": results},
            {"click": "a[rel=next]", "eval": results},
        ]),
    );
    assert_clean(&seen);
    let s = seen["steps"].as_array().unwrap();
    let expected = expected_level(&kvs, b"/many/");
    let (keys, bytes) = expected.iter().fold((0, 0), |(n, b), r| (n + r.1, b + r.2));
    let mut listed = Vec::new();
    for (i, want) in [500, 500, 201].into_iter().enumerate() {
        let rows = rows_of(&s[i]["eval"]["rows"]);
        assert_eq!(rows.len(), want, "page {i}");
        assert_eq!(s[i]["eval"]["facts"], json!([keys, bytes, 1201]), "totals are whole on page {i}");
        listed.extend(rows);
    }
    assert_eq!(listed, expected, "the pages together are the level, in order");
    assert_eq!(s[2]["eval"]["next"], false, "the last page has no next");
    let matching: Vec<String> = kvs.iter().map(|(k, _)| String::from_utf8(k.clone()).unwrap()).filter(|k| k.contains("k-1")).collect();
    assert_eq!(s[3]["eval"]["total"], matching.len());
    assert_eq!(s[4]["eval"]["total"], matching.len());
    let paged: Vec<Value> = [&s[3], &s[4]].iter().flat_map(|p| p["eval"]["keys"].as_array().unwrap().clone()).collect();
    assert_eq!(s[3]["eval"]["keys"].as_array().unwrap().len(), 200);
    assert_eq!(paged, matching[..paged.len()].iter().map(|k| json!(k)).collect::<Vec<_>>());
}

/// A leased key of testdata/etcd-3.5.1: its revisions, version, value (text and hex) and lease
/// are what etcdctl answered (`get /lease/a1 -w json`), the lease's TTL what it was granted
/// with (meta.json: the lease IDs and TTL the recording asked etcd for).
#[test]
fn key_page_says_what_etcdctl_says_of_a_leased_key() {
    let Some(browser) = browser_or_skip() else { return };
    let dir = repo().join("testdata/etcd-3.5.1");
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("expected/get/lease-key.json")).unwrap()).unwrap();
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
    let kv = &recorded["kvs"][0];
    let value = B64.decode(kv["value"].as_str().unwrap()).unwrap();
    let served = serve(&[&dir.join("snapshot.db")], &[]);
    let facts = "['create', 'mod', 'version', 'lease'].map(f => document.querySelector(`[data-fact=${f}]`).textContent)";
    let seen = browse(
        &browser,
        &served,
        json!([
            {"goto": "/ui/snapshot/key?key=/lease/a1&as=text", "eval": {
                "facts": facts,
                "lease": "document.querySelector('[data-fact=lease]').parentElement.textContent",
                "value": "document.querySelector('#value pre.code').textContent",
                "revisions": "Array.from(document.querySelectorAll('#retained tbody tr td:first-child')).map(td => +td.textContent)",
            }},
            {"goto": "/ui/snapshot/key?key=/lease/a1&as=hex", "eval": {"value": "document.querySelector('#value pre.code').textContent"}},
        ]),
    );
    assert_clean(&seen);
    let s = seen["steps"].as_array().unwrap();
    let lease_id = format!("{:016x}", kv["lease"].as_i64().unwrap());
    assert_eq!(meta["leases"]["A"], kv["lease"], "etcdctl names lease A");
    let v = &s[0]["eval"];
    assert_eq!(v["facts"], json!([kv["create_revision"].to_string(), kv["mod_revision"].to_string(), kv["version"].to_string(), lease_id]));
    assert!(v["lease"].as_str().unwrap().contains(&format!("TTL {} s", meta["leases"]["ttl"])), "{}", v["lease"]);
    assert_eq!(v["value"].as_str().unwrap().as_bytes(), value.as_slice());
    assert_eq!(v["revisions"], json!([kv["mod_revision"]]), "one put, never changed");
    assert_eq!(hex_bytes(s[1]["eval"]["value"].as_str().unwrap()), value);
}
