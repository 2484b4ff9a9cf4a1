//! The web UI of `etcdscope serve` as a person meets it: in a real browser (Debian's chromium
//! driven by Playwright, tests/common/browser.rs), on snapshots made by real etcd. The facts it
//! shows are judged against etcdctl's recorded answers (testdata/*/ground.json); every page a
//! crawler reaches must load without a console error; data that is script must show as text;
//! the token, the Host check and `--no-ui` guard it as they guard the API.

mod common;

use common::ground;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::browser::{assert_clean, browse, browser_or_skip, screenshot_path};
use common::repo;
use common::serve::{serve, serve_data, Served};
use serde_json::json;
use std::io::{Read, Write};

fn ui_data() -> std::path::PathBuf {
    repo().join("testdata/ui-3.5.1")
}

/// One raw HTTP/1.1 GET, so the test controls every header (reqwest would fix Host).
fn raw_get(served: &Served, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", served.port())).unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        request.push_str(&format!("Host: 127.0.0.1:{}\r\n", served.port()));
    }
    for (n, v) in headers {
        request.push_str(&format!("{n}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, head.to_string(), body.to_string())
}

#[test]
fn overview_says_what_etcd_recorded() {
    let Some(browser) = browser_or_skip() else { return };
    let served = serve(&[&serve_data().join("snapshot.db")], &[]);
    let g = ground("serve-3.5.1");
    let shot = screenshot_path("overview.png", served.dir.path());
    let seen = browse(
        &browser,
        &served,
        json!([{
            "goto": "/ui/snapshot/",
            "eval": {
                "revision": "document.querySelector('[data-fact=revision]').textContent",
                "served": "document.querySelector('[data-fact=served]').textContent",
                "compaction": "document.querySelector('[data-fact=compaction]').textContent",
                "trailer": "document.querySelector('[data-fact=trailer]').textContent",
                "check": "document.querySelector('[data-fact=check]').textContent",
                "quorum": "document.querySelector('[data-fact=quorum]').textContent",
                "inline_scripts": "document.querySelectorAll('script:not([src])').length",
                "stylesheet_loaded": "getComputedStyle(document.querySelector('header.top')).display",
            },
            "screenshot": shot,
        }]),
    );
    assert_clean(&seen);
    let step = &seen["steps"][0];
    assert_eq!(step["status"], 200);
    let v = &step["eval"];
    let final_rev = g["revisions"]["final"].as_i64().unwrap();
    let compact = g["revisions"]["compact"].as_i64().unwrap();
    assert_eq!(v["revision"], final_rev.to_string(), "etcdctl's final revision");
    assert_eq!(v["served"].as_str().unwrap().trim(), final_rev.to_string());
    assert!(v["compaction"].as_str().unwrap().starts_with(&compact.to_string()), "{} vs etcd's compaction at {compact}", v["compaction"]);
    assert_eq!(v["trailer"], "ok (sha256 matches)");
    assert_eq!(v["check"], "check: no findings");
    assert_eq!(v["quorum"], "1");
    assert_eq!(v["inline_scripts"], 0);
    assert_eq!(v["stylesheet_loaded"], "flex", "the embedded stylesheet applies");
}

/// Every page reachable by links from `/ui/` loads (200) in the browser without a console
/// error, warning, failed request or dialog; data that is script (testdata/ui-3.5.1: keys,
/// names, labels, values) shows as text and never runs.
#[test]
fn a_crawler_reaches_every_view_and_no_data_runs_as_script() {
    let Some(browser) = browser_or_skip() else { return };
    let served = serve(&[&ui_data().join("snapshot.db"), &serve_data().join("snapshot.db")], &[]);
    // The Secret's value (ui-3.5.1's marker, and as stored: base64 in the object's JSON) is on no page.
    let marker = ground("ui-3.5.1")["markers"]["secret"].as_str().unwrap().to_string();
    let needles = json!([marker, B64.encode(&marker)]);
    let seen = browse(&browser, &served, json!([{"crawl": "/ui/", "limit": 400, "needles": needles}]));
    assert_clean(&seen);
    for page in seen["steps"][0]["crawled"].as_array().unwrap() {
        assert_eq!(page["found"], json!([]), "a Secret's value is shown on {}", page["url"]);
    }
    let crawled = seen["steps"][0]["crawled"].as_array().unwrap();
    assert!(crawled.len() > 5, "the crawl found {} pages", crawled.len());
    for page in crawled {
        assert_eq!(page["status"], 200, "{page}");
    }
    let paths: Vec<&str> = crawled.iter().map(|p| p["url"].as_str().unwrap().trim_start_matches(&served.base)).collect();
    let names: Vec<&str> = served.contexts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["snapshot", "snapshot-2"]);
    for view in [
        "/ui/",
        "/ui/snapshot/",
        "/ui/snapshot-2/",
        "/ui/snapshot/space",
        "/ui/snapshot/keys",
        "/ui/snapshot/key?",
        "/ui/snapshot/history?",
        "/ui/snapshot/search",
        "/ui/diff/snapshot/snapshot-2",
        "/ui/diff/snapshot-2/snapshot",
    ] {
        assert!(paths.iter().any(|p| p.starts_with(view)), "the crawl did not reach {view}: {paths:?}");
    }
}

/// The headers every page carries: a CSP that forbids inline script and anything from
/// elsewhere, nosniff, no framing, no referrer.
#[test]
fn pages_carry_a_content_security_policy() {
    let served = serve(&[&serve_data().join("snapshot.db")], &[]);
    for path in ["/ui/", "/ui/snapshot/", "/ui/nothing-here"] {
        let (code, head, _) = raw_get(&served, path, &[]);
        assert!(code == 200 || code == 404, "{path}: {head}");
        let head = head.to_ascii_lowercase();
        assert!(head.contains("content-security-policy: default-src 'none'; script-src 'self'; style-src 'self'"), "{path}: {head}");
        for h in ["x-content-type-options: nosniff", "x-frame-options: deny", "referrer-policy: no-referrer"] {
            assert!(head.contains(h), "{path} lacks {h}: {head}");
        }
    }
}

/// Without a token the server answers only requests addressed to a loopback name, so a web
/// page that rebinds its own name to 127.0.0.1 cannot read it.
#[test]
fn a_foreign_host_name_is_refused_without_a_token() {
    let served = serve(&[&serve_data().join("snapshot.db")], &[]);
    for path in ["/ui/", "/api/v1/pods"] {
        let (code, _, body) = raw_get(&served, path, &[("Host", "attacker.example:80")]);
        assert_eq!(code, 403, "{path}: {body}");
        for host in ["localhost", "127.0.0.1", "[::1]:8080", "LOCALHOST:1"] {
            let (code, head, _) = raw_get(&served, path, &[("Host", host)]);
            assert_eq!(code, 200, "{path} with Host {host}: {head}");
        }
    }
}

/// A browser sent to `/` gets the UI; a client asking for JSON still gets the contexts.
/// `--no-ui` turns the UI off and `/ui/` is then 404.
#[test]
fn the_ui_is_at_root_for_browsers_and_off_with_no_ui() {
    let served = serve(&[&serve_data().join("snapshot.db")], &[]);
    let (code, head, _) = raw_get(&served, "/", &[("Accept", "text/html,application/xhtml+xml")]);
    assert_eq!(code, 303, "{head}");
    assert!(head.to_ascii_lowercase().contains("location: /ui/"), "{head}");
    let (code, _, body) = raw_get(&served, "/", &[("Accept", "application/json")]);
    assert_eq!(code, 200);
    assert!(body.contains("EtcdscopeContexts"), "{body}");
    drop(served);
    let served = serve(&[&serve_data().join("snapshot.db")], &["--no-ui"]);
    let (code, _, _) = raw_get(&served, "/ui/", &[]);
    assert_eq!(code, 404);
    let (code, _, _) = raw_get(&served, "/", &[("Accept", "text/html")]);
    assert_eq!(code, 200, "without the UI, / is the contexts document");
}

/// Behind `--token` a browser logs in once: the form (a wrong token is 401), or the one-time
/// link `serve --open` opens (used twice: refused); then a session cookie carries it. The
/// browser is judged by what it is shown.
#[test]
fn the_token_guards_the_ui_and_a_browser_logs_in() {
    let Some(browser) = browser_or_skip() else { return };
    let served = serve(&[&serve_data().join("snapshot.db")], &["--token", "s3cret-token"]);
    assert!(served.base.starts_with("https://"), "a token makes serve speak HTTPS: {}", served.base);
    let seen = browse(
        &browser,
        &served,
        json!([
            {"goto": "/ui/snapshot/", "eval": {"form": "!!document.querySelector('input[name=token]')"}},
            {"fill": ["input[name=token]", "wrong"]},
            {"click": "button[type=submit]", "eval": {"alert": "document.querySelector('.error') && document.querySelector('.error').textContent"}},
            {"fill": ["input[name=token]", "s3cret-token"]},
            {"click": "button[type=submit]", "eval": {"h1": "document.querySelector('h1').textContent"}},
            {"goto": "/ui/", "eval": {"h1": "document.querySelector('h1').textContent", "cookie_visible": "document.cookie"}},
        ]),
    );
    let steps = seen["steps"].as_array().unwrap();
    assert!(steps[0]["url"].as_str().unwrap().contains("/ui/login?next=/ui/snapshot/"), "{}", steps[0]);
    assert_eq!(steps[0]["eval"]["form"], true);
    assert!(steps[2]["eval"]["alert"].as_str().unwrap().contains("not the token"), "{}", steps[2]);
    assert!(steps[4]["url"].as_str().unwrap().ends_with("/ui/snapshot/"), "back where it was going: {}", steps[4]);
    assert_eq!(steps[4]["eval"]["h1"], "Overview of snapshot");
    assert_eq!(steps[5]["eval"]["h1"], "Served inputs");
    assert_eq!(steps[5]["eval"]["cookie_visible"], "", "the session cookie is HttpOnly");
}

/// `serve --open` starts $BROWSER with the UI's address; behind a token, with a one-time code
/// that logs in once.
#[test]
fn open_starts_the_browser_on_the_ui() {
    let Some(browser) = browser_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("opened");
    let fake = dir.path().join("browser.sh");
    std::fs::write(&fake, format!("#!/bin/sh\nprintf '%s' \"$1\" > {}\n", record.display())).unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::env::set_var("BROWSER", &fake);
    let served = serve(&[&serve_data().join("snapshot.db")], &["--token", "tok", "--open"]);
    std::env::remove_var("BROWSER");
    let mut opened = String::new();
    for _ in 0..50 {
        opened = std::fs::read_to_string(&record).unwrap_or_default();
        if !opened.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let path = opened.strip_prefix(&served.base).unwrap_or_else(|| panic!("opened {opened:?}, not under {}", served.base));
    assert!(path.starts_with("/ui/login?code="), "{path}");
    let seen = browse(
        &browser,
        &served,
        json!([
            {"goto": path, "eval": {"h1": "document.querySelector('h1').textContent"}},
        ]),
    );
    assert_eq!(seen["steps"][0]["eval"]["h1"], "Served inputs", "{}", seen);
    // A second browser with the same link is refused: the code was used.
    let again = browse(&browser, &served, json!([{"goto": path, "eval": {"h1": "document.querySelector('h1').textContent"}}]));
    assert_eq!(again["steps"][0]["status"], 401);
    assert_eq!(again["steps"][0]["eval"]["h1"], "Log in");
}

/// Navigation is by real links: following one, going back, reloading and a deep link all land
/// where a person expects; `/` focuses search and j/Enter follow a table's rows from the
/// keyboard; the theme follows the system and the button switches it.
#[test]
fn links_back_reload_keyboard_and_theme_work() {
    let Some(browser) = browser_or_skip() else { return };
    let served = serve(&[&serve_data().join("snapshot.db"), &ui_data().join("snapshot.db")], &[]);
    let h1 = "document.querySelector('h1').textContent";
    let seen = browse(
        &browser,
        &served,
        json!([
            {"goto": "/ui/", "eval": {"h1": h1}},
            {"click": "main table a[href='/ui/snapshot-2/']", "eval": {"h1": h1, "current": "document.querySelector('[aria-current=page]').textContent"}},
            {"back": true, "eval": {"h1": h1}},
            {"reload": true, "eval": {"h1": h1}},
            {"press": "j", "eval": {"selected": "document.querySelectorAll('tr.selected').length"}},
            {"press": "Enter", "navigates": true, "eval": {"h1": h1}},
            {"goto": "/ui/snapshot/"},
            {"press": "/", "eval": {"focused": "document.activeElement && document.activeElement.id"}},
            {"goto": "/ui/", "eval": {"theme": "getComputedStyle(document.documentElement).colorScheme"}},
            {"click": "#theme", "navigates": false, "eval": {"theme": "document.documentElement.dataset.theme", "bg": "getComputedStyle(document.documentElement).backgroundColor"}},
            {"reload": true, "eval": {"theme": "document.documentElement.dataset.theme"}},
        ]),
    );
    assert_clean(&seen);
    let s = seen["steps"].as_array().unwrap();
    assert_eq!(s[0]["eval"]["h1"], "Served inputs");
    assert_eq!(s[1]["eval"]["h1"], "Overview of snapshot-2");
    assert_eq!(s[1]["eval"]["current"], "Overview");
    assert!(s[2]["url"].as_str().unwrap().ends_with("/ui/"), "back: {}", s[2]);
    assert_eq!(s[3]["eval"]["h1"], "Served inputs", "reload");
    assert_eq!(s[4]["eval"]["selected"], 1, "j selects a row");
    assert_eq!(s[5]["eval"]["h1"], "Overview of snapshot", "Enter follows the selected row's link");
    assert_eq!(s[7]["eval"]["focused"], "quick-search");
    assert_eq!(s[8]["eval"]["theme"], "light", "the system's scheme (light here)");
    assert_eq!(s[9]["eval"]["theme"], "dark");
    assert_eq!(s[9]["eval"]["bg"], "rgb(13, 17, 23)", "the dark palette applies");
    assert_eq!(s[10]["eval"]["theme"], "dark", "the choice survives a reload");
    // The system's dark scheme is followed without a choice.
    let dark = common::browser::browse_plan(
        &browser,
        json!({"base": served.base, "color_scheme": "dark", "steps": [
            {"goto": "/ui/snapshot/", "eval": {"bg": "getComputedStyle(document.documentElement).backgroundColor"}, "screenshot": screenshot_path("overview-dark.png", served.dir.path())}
        ]}),
    );
    assert_eq!(dark["steps"][0]["eval"]["bg"], "rgb(13, 17, 23)");
}

/// The crawl's Secret check can fail: with `--show-secrets` the same crawl finds the value on
/// the Secret's key page.
#[test]
fn with_show_secrets_the_crawl_finds_the_secret() {
    let Some(browser) = browser_or_skip() else { return };
    let served = serve(&[&ui_data().join("snapshot.db")], &["--show-secrets"]);
    let marker = ground("ui-3.5.1")["markers"]["secret"].as_str().unwrap().to_string();
    let seen = browse(&browser, &served, json!([{"crawl": "/ui/", "limit": 400, "needles": [marker, B64.encode(&marker)]}]));
    assert_clean(&seen);
    let showing: Vec<&str> = seen["steps"][0]["crawled"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["found"].as_array().unwrap().is_empty())
        .map(|p| p["url"].as_str().unwrap())
        .collect();
    assert!(showing.iter().any(|u| u.contains("/key?key=/registry/secrets/default/db-password")), "{showing:?}");
}

/// Served at an older revision (`--rev`), our own links still lead to pages: keys written only
/// after it have a key page and a timeline that say so (200), not a 404 (found in review: the
/// space view's top keys and the key page linked to timelines that were 404).
#[test]
fn a_crawl_at_an_older_revision_finds_no_dead_link() {
    let Some(browser) = browser_or_skip() else { return };
    let first = ground("ui-3.5.1")["revisions"]["first"].as_i64().unwrap();
    let served = serve(&[&ui_data().join("snapshot.db")], &["--rev", &(first - 1).to_string()]);
    let seen = browse(&browser, &served, json!([{"crawl": "/ui/", "limit": 300}]));
    assert_clean(&seen);
    let crawled = seen["steps"][0]["crawled"].as_array().unwrap();
    for page in crawled {
        assert_eq!(page["status"], 200, "{page}");
    }
    let settings =
        seen["steps"][0]["crawled"].as_array().unwrap().iter().any(|p| p["url"].as_str().unwrap().contains("history?key=/registry/configmaps/shop/settings"));
    assert!(settings, "the crawl reached the timeline of a key written only after the served revision");
    // The space view counts the whole file, as analyze does, and says so when an older revision is served.
    let seen = browse(
        &browser,
        &served,
        json!([{"goto": "/ui/snapshot/space", "eval": {"note": "document.querySelector('[data-fact=whole-file]') && document.querySelector('[data-fact=whole-file]').textContent"}}]),
    );
    let final_rev = ground("ui-3.5.1")["revisions"]["final"].as_i64().unwrap();
    let note = seen["steps"][0]["eval"]["note"].as_str().unwrap_or_default().to_string();
    assert!(note.contains(&format!("up to {final_rev}, not only those up to the revision served ({})", first - 1)), "{note:?}");
}
