//! The web UI's space view (`/ui/CTX/space`) in a real browser (tests/common/browser.rs), on
//! snapshots made by real etcd. Its numbers are judged against `etcdscope analyze -o json`
//! (whose totals tests/hash.rs judges against etcdctl's get and watch) and etcdctl's recorded
//! keys (ground.json); its areas against the bytes its tiles say they hold, read back from the
//! drawn SVG's geometry; its links by clicking them and going back.

mod common;

use common::browser::{assert_clean, browse, browser_or_skip, screenshot_path};
use common::serve::{serve, serve_data, Served};
use common::{out, repo};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every tile of the page as the browser drew it: name, kind, link, numbers, geometry, tooltip,
/// label, and for a key tile the key its link names.
const TILES: &str = "Array.from(document.querySelectorAll('figure.treemap a.tile')).map(a => {
    const r = a.querySelector('rect').getBBox();
    const href = a.getAttribute('href');
    return {name: a.dataset.name, kind: a.dataset.kind, href: href,
        key: a.dataset.kind === 'key' ? new URL(href, document.baseURI).searchParams.get('key') : null,
        live: Number(a.dataset.liveBytes), history: Number(a.dataset.historyBytes), revisions: Number(a.dataset.revisions), keys: Number(a.dataset.keys),
        x: r.x, y: r.y, w: r.width, h: r.height, fill: a.querySelector('rect').getAttribute('class'),
        title: a.querySelector('title').textContent, label: Array.from(a.querySelectorAll('text')).map(t => t.textContent)};
})";

fn diff_new() -> PathBuf {
    repo().join("testdata/diff-3.5.1/new.db")
}

fn ui_data() -> PathBuf {
    repo().join("testdata/ui-3.5.1/snapshot.db")
}

/// `etcdscope analyze SRC -o json ARGS`.
fn analyze(src: &Path, args: &[&str]) -> Value {
    let path = src.display().to_string();
    let (code, stdout, stderr) = out(&[&["analyze", path.as_str(), "-o", "json"][..], args].concat());
    assert_eq!(code, 0, "analyze: {stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// The page of each address as its tiles, in one browser run (clean: no console error).
fn tiles_of(browser: &(PathBuf, PathBuf), served: &Served, paths: &[String]) -> Vec<Vec<Value>> {
    let steps: Vec<Value> = paths.iter().map(|p| json!({"goto": p, "eval": {"tiles": TILES}})).collect();
    let seen = browse(browser, served, Value::Array(steps));
    assert_clean(&seen);
    seen["steps"]
        .as_array()
        .unwrap()
        .iter()
        .zip(paths)
        .map(|(step, path)| {
            assert_eq!(step["status"], 200, "{path}");
            step["eval"]["tiles"].as_array().unwrap().clone()
        })
        .collect()
}

/// (live keys, live bytes, history bytes, revisions) of tiles, summed.
fn sums(tiles: &[Value]) -> [u64; 4] {
    let mut s = [0; 4];
    for t in tiles {
        for (i, field) in ["keys", "live", "history", "revisions"].iter().enumerate() {
            s[i] += t[field].as_u64().unwrap();
        }
    }
    s
}

/// The same four of an analyze group (or its total).
fn group_sums(g: &Value) -> [u64; 4] {
    ["keys", "liveBytes", "historyBytes", "revisions"].map(|f| g[f].as_u64().unwrap())
}

fn tile_sums(t: &Value) -> [u64; 4] {
    ["keys", "live", "history", "revisions"].map(|f| t[f].as_u64().unwrap())
}

/// The root's tiles are analyze's groups by resource, and sum to its totals; zoomed into a
/// group, the tiles sum to that group; zoomed into a namespace, to that namespace's tile; the
/// namespaces across resources are analyze's groups by namespace; the live keys drawn are the
/// keys etcdctl listed (serve-3.5.1); the figures beside the map are analyze's.
#[test]
fn tiles_add_up_to_analyze_at_every_level() {
    let Some(browser) = browser_or_skip() else { return };
    for src in [serve_data().join("snapshot.db"), diff_new()] {
        let by_resource = analyze(&src, &[]);
        let by_namespace = analyze(&src, &["--by", "namespace"]);
        let served = serve(&[&src], &[]);
        let ctx = served.contexts[0].0.clone();
        let root = &tiles_of(&browser, &served, &[format!("/ui/{ctx}/space")])[0];
        assert_eq!(sums(root), group_sums(&by_resource["total"]), "{src:?}: the root's tiles add up to analyze's total");
        let groups: BTreeMap<String, [u64; 4]> =
            by_resource["groups"].as_array().unwrap().iter().map(|g| (g["name"].as_str().unwrap().to_string(), group_sums(g))).collect();
        let drawn: BTreeMap<String, [u64; 4]> = root.iter().map(|t| (t["name"].as_str().unwrap().to_string(), tile_sums(t))).collect();
        assert_eq!(drawn, groups, "{src:?}: one tile per analyze group, with its numbers");
        assert!(root.iter().all(|t| t["kind"] == "group"));

        // Zoom: every group, then every namespace in it.
        let group_paths: Vec<String> = root.iter().map(|t| t["href"].as_str().unwrap().to_string()).collect();
        let levels = tiles_of(&browser, &served, &group_paths);
        let mut namespace_paths = Vec::new();
        let mut namespaces: Vec<Value> = Vec::new();
        let mut keys: Vec<Value> = Vec::new();
        for (group, tiles) in root.iter().zip(&levels) {
            assert_eq!(sums(tiles), tile_sums(group), "{src:?}: the tiles of {} add up to its group", group["name"]);
            for t in tiles {
                match t["kind"].as_str().unwrap() {
                    "namespace" => {
                        namespace_paths.push(t["href"].as_str().unwrap().to_string());
                        namespaces.push(t.clone());
                    }
                    "key" => keys.push(t.clone()),
                    other => panic!("a {other} tile at a group's level: {t}"),
                }
            }
        }
        let namespace_levels = tiles_of(&browser, &served, &namespace_paths);
        for (namespace, tiles) in namespaces.iter().zip(&namespace_levels) {
            assert_eq!(sums(tiles), tile_sums(namespace), "{src:?}: {}", namespace["href"]);
            assert!(tiles.iter().all(|t| t["kind"] == "key"));
            keys.extend(tiles.iter().cloned());
        }
        let mut per_namespace: BTreeMap<String, [u64; 4]> = BTreeMap::new();
        for n in &namespaces {
            let acc = per_namespace.entry(n["name"].as_str().unwrap().to_string()).or_default();
            for (a, b) in acc.iter_mut().zip(tile_sums(n)) {
                *a += b;
            }
        }
        let analyze_namespaces: BTreeMap<String, [u64; 4]> = by_namespace["groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| !g["name"].as_str().unwrap().starts_with('('))
            .map(|g| (g["name"].as_str().unwrap().to_string(), group_sums(g)))
            .collect();
        assert_eq!(per_namespace, analyze_namespaces, "{src:?}: namespaces across resources are analyze --by namespace's");
        assert_eq!(sums(&keys), group_sums(&by_resource["total"]), "{src:?}: every key is drawn once");
        if src.starts_with(serve_data()) {
            let live: BTreeSet<String> = keys.iter().filter(|k| k["keys"] == 1).map(|k| k["key"].as_str().unwrap().to_string()).collect();
            assert_eq!(live, etcdctl_keys(), "the live keys drawn are etcdctl's");
        }
        drop(served);
        figures_beside_the_map_are_analyzes(&browser, &src, &by_resource);
    }
}

/// etcdctl's `get /registry/ --prefix --keys-only` at the end (serve-3.5.1's ground.json).
fn etcdctl_keys() -> BTreeSet<String> {
    use base64::Engine;
    let ground: Value = serde_json::from_str(&std::fs::read_to_string(serve_data().join("ground.json")).unwrap()).unwrap();
    let get: Value = serde_json::from_str(ground["get_final"]["stdout"].as_str().unwrap()).unwrap();
    get["kvs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| String::from_utf8(base64::engine::general_purpose::STANDARD.decode(kv["key"].as_str().unwrap()).unwrap()).unwrap())
        .collect()
}

/// The top keys, space and quota beside the root's treemap are what `analyze` prints.
fn figures_beside_the_map_are_analyzes(browser: &(PathBuf, PathBuf), src: &Path, by_resource: &Value) {
    let served = serve(&[src], &[]);
    let ctx = served.contexts[0].0.clone();
    let seen = browse(
        browser,
        &served,
        json!([{
            "goto": format!("/ui/{ctx}/space"),
            "eval": {
                "top": "Array.from(document.querySelectorAll('#top-keys tbody tr')).map(r => [r.querySelector('td.key').textContent, Number(r.dataset.historyBytes)])",
                "facts": "Object.fromEntries(Array.from(document.querySelectorAll('#reclaim [data-fact]')).map(e => [e.dataset.fact, e.querySelector('[data-bytes]') ? Number(e.querySelector('[data-bytes]').dataset.bytes) : e.textContent]))",
            },
        }]),
    );
    assert_clean(&seen);
    let v = &seen["steps"][0]["eval"];
    let top: Vec<(String, u64)> =
        by_resource["top"].as_array().unwrap().iter().map(|t| (t["key"].as_str().unwrap().to_string(), t["historyBytes"].as_u64().unwrap())).collect();
    let shown: Vec<(String, u64)> = v["top"].as_array().unwrap().iter().map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_u64().unwrap())).collect();
    assert!(shown.len() >= top.len().min(10), "{shown:?}");
    assert_eq!(shown[..top.len()], top[..], "{src:?}: the top keys by history are analyze's");
    let f = &v["facts"];
    for (fact, field) in [
        ("file", "fileBytes"),
        ("in-use", "inUseBytes"),
        ("free", "freeBytes"),
        ("defrag-now", "defragNowBytes"),
        ("compact-then-defrag", "compactThenDefragBytes"),
    ] {
        assert_eq!(f[fact].as_u64(), by_resource[field].as_u64(), "{src:?}: {fact} is analyze's {field}");
    }
    assert_eq!(f["file-percent"].as_str().unwrap(), format!("{:.1}%", by_resource["quota"][1]["filePercent"].as_f64().unwrap()), "the last quota row: 8 GiB");
}

/// With `?measure=history` each tile's drawn area is its share of the retained bytes (and
/// without, of the live bytes), largest first; links keep the measure.
#[test]
fn tile_areas_follow_the_measure() {
    let Some(browser) = browser_or_skip() else { return };
    let served = serve(&[&diff_new()], &[]);
    let paths = ["/ui/new/space?measure=history", "/ui/new/space", "/ui/new/space?path=pods/team-a&measure=history", "/ui/new/space?path=pods/team-a"]
        .map(String::from);
    let pages = tiles_of(&browser, &served, &paths);
    for (path, tiles) in paths.iter().zip(&pages) {
        let field = if path.contains("measure=history") { "history" } else { "live" };
        let total: f64 = tiles.iter().map(|t| t[field].as_f64().unwrap()).sum();
        let area = |t: &Value| t["w"].as_f64().unwrap() * t["h"].as_f64().unwrap();
        let drawn: f64 = tiles.iter().map(area).sum();
        assert!(total > 0.0 && drawn > 0.0, "{path}");
        for t in tiles {
            let share = t[field].as_f64().unwrap() / total;
            assert!((area(t) / drawn - share).abs() < 1e-3, "{path}: {} has {:.4} of the area for {share:.4} of the {field} bytes", t["name"], area(t) / drawn);
        }
        let mut by_bytes = tiles.clone();
        by_bytes.sort_by(|a, b| b[field].as_u64().cmp(&a[field].as_u64()));
        let areas: Vec<f64> = by_bytes.iter().map(area).collect();
        assert!(areas.windows(2).all(|w| w[0] + 1e-6 >= w[1]), "{path}: more bytes, more area: {areas:?}");
        for t in tiles.iter().filter(|t| t["kind"] != "key") {
            assert_eq!(t["href"].as_str().unwrap().contains("measure=history"), field == "history", "{path}: {}", t["href"]);
        }
    }
    // The two measures differ where history differs: a deleted pod has history, no live bytes.
    let gone = |tiles: &Vec<Value>| tiles.iter().find(|t| t["name"] == "old-rs-p1").map(|t| t["w"].as_f64().unwrap() * t["h"].as_f64().unwrap());
    assert!(gone(&pages[2]).unwrap() > 0.0 && gone(&pages[3]).unwrap() == 0.0);
}

/// A tile is a link: clicking zooms in (the address says where), breadcrumbs and the back
/// button lead back up, reload keeps the level; a key's tile leads to its key page.
#[test]
fn clicking_tiles_zooms_and_back_returns() {
    let Some(browser) = browser_or_skip() else { return };
    let served = serve(&[&diff_new()], &[]);
    let shot = screenshot_path("space.png", served.dir.path());
    let level = json!({
        "h2": "document.querySelector('#map-heading').textContent",
        "crumbs": "Array.from(document.querySelectorAll('nav.breadcrumbs li')).map(l => l.textContent)",
        "crumb_links": "Array.from(document.querySelectorAll('nav.breadcrumbs a')).map(a => a.getAttribute('href'))",
        "keys": "Array.from(document.querySelectorAll('a.tile[data-kind=key]')).map(a => a.getAttribute('href'))",
    });
    let seen = browse(
        &browser,
        &served,
        json!([
            {"goto": "/ui/new/space?measure=history", "eval": level, "screenshot": shot},
            {"click": "a.tile[data-name=\"pods\"]", "eval": level},
            {"click": "a.tile[data-name=\"team-a\"]", "eval": level},
            {"reload": true, "eval": level},
            {"back": true, "eval": level},
            {"back": true, "eval": level},
            {"goto": "/ui/new/space?path=pods/team-a&measure=history"},
            {"click": "nav.breadcrumbs a", "eval": level},
        ]),
    );
    assert_clean(&seen);
    let steps = seen["steps"].as_array().unwrap();
    let url = |i: usize| steps[i]["url"].as_str().unwrap().trim_start_matches(&served.base).to_string();
    assert_eq!(url(0), "/ui/new/space?measure=history");
    assert_eq!(url(1), "/ui/new/space?path=pods&measure=history", "the click kept the measure");
    assert_eq!(steps[1]["eval"]["h2"], "Treemap of pods");
    assert_eq!(url(2), "/ui/new/space?path=pods/team-a&measure=history");
    assert_eq!(steps[2]["eval"]["crumbs"], json!(["every group", "pods", "team-a"]));
    assert_eq!(steps[2]["eval"]["crumb_links"], json!(["/ui/new/space?measure=history", "/ui/new/space?path=pods&measure=history"]));
    let keys: Vec<&str> = steps[2]["eval"]["keys"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
    assert!(keys.contains(&"/ui/new/key?key=/registry/pods/team-a/web-5d4f-x1"), "a key's tile links to its key page: {keys:?}");
    assert_eq!(url(3), url(2), "reload stays");
    assert_eq!(steps[3]["eval"]["h2"], "Treemap of pods/team-a");
    assert_eq!(url(4), "/ui/new/space?path=pods&measure=history", "back");
    assert_eq!(steps[4]["eval"]["h2"], "Treemap of pods");
    assert_eq!(url(5), "/ui/new/space?measure=history", "back again");
    assert_eq!(steps[5]["eval"]["h2"], "Treemap of every group");
    assert_eq!(url(7), "/ui/new/space?measure=history", "the first breadcrumb is the root");
}

/// A level of thousands of keys (etcd-3.5.1's /small: 3000) draws at most 300 tiles, the last
/// one "N others" carrying the rest's bytes, so the level still adds up to analyze's group.
#[test]
fn a_big_level_is_capped_and_others_keeps_the_sums() {
    let Some(browser) = browser_or_skip() else { return };
    let src = repo().join("testdata/etcd-3.5.1/snapshot.db");
    let by_resource = analyze(&src, &[]);
    let group = by_resource["groups"].as_array().unwrap().iter().find(|g| g["name"] == "(outside /registry)").unwrap().clone();
    let served = serve(&[&src], &[]);
    let path = "/ui/snapshot/space?path=%28outside%20/registry%29".to_string();
    let seen = browse(
        &browser,
        &served,
        json!([{"goto": path, "eval": {"tiles": TILES, "rows": "document.querySelectorAll('table.level tbody tr').length", "html": "document.documentElement.outerHTML.length"}}]),
    );
    assert_clean(&seen);
    let v = &seen["steps"][0]["eval"];
    let tiles = v["tiles"].as_array().unwrap();
    assert_eq!(tiles.len(), 300);
    assert_eq!(v["rows"], 300);
    let others: Vec<&Value> = tiles.iter().filter(|t| t["kind"] == "others").collect();
    assert_eq!(others.len(), 1);
    let hidden = group["keys"].as_u64().unwrap() + group["tombstones"].as_u64().unwrap(); // at least the keys not drawn
    assert!(others[0]["name"].as_str().unwrap().ends_with(" others") && hidden > 299, "{}", others[0]["name"]);
    assert_eq!(sums(tiles), group_sums(&group), "the drawn tiles and 'others' add up to analyze's group");
    assert!(v["html"].as_u64().unwrap() < 400_000, "a bounded page: {} bytes", v["html"]);
    // The tiles shown are the largest by live bytes: none hidden is larger than the smallest shown.
    let smallest_shown = tiles.iter().filter(|t| t["kind"] == "key").map(|t| t["live"].as_u64().unwrap()).min().unwrap();
    let hidden_count = others[0]["name"].as_str().unwrap().split(' ').next().unwrap().parse::<u64>().unwrap();
    assert!(others[0]["live"].as_u64().unwrap() <= smallest_shown * hidden_count, "the rest are the smaller ones");
}

/// Keys and names that are script (testdata/ui-3.5.1) show as text in tiles, tooltips, labels
/// and the top keys, and never run. A key's revisions are etcdctl's events for it, and its
/// colour is their class in the legend.
#[test]
fn hostile_names_show_as_text_and_churn_is_coloured() {
    let Some(browser) = browser_or_skip() else { return };
    let ground: Value = serde_json::from_str(&std::fs::read_to_string(repo().join("testdata/ui-3.5.1/ground.json")).unwrap()).unwrap();
    let script = ground["markers"]["script"].as_str().unwrap();
    let served = serve(&[&ui_data()], &[]);
    let probe = json!({
        "tiles": TILES,
        "inline_scripts": "document.querySelectorAll('script:not([src])').length",
        "images": "document.querySelectorAll('main img').length",
        "top": "Array.from(document.querySelectorAll('#top-keys td.key')).map(td => td.textContent)",
        "legend": "Array.from(document.querySelectorAll('.legend .swatch')).map(s => s.className)",
    });
    let seen = browse(
        &browser,
        &served,
        json!([
            {"goto": "/ui/snapshot/space", "eval": probe},
            {"goto": "/ui/snapshot/space?path=%28outside%20/registry%29", "eval": probe},
            {"goto": "/ui/snapshot/space?path=%28outside%20/registry%29&measure=history", "eval": probe},
            {"goto": "/ui/snapshot/space?path=configmaps/shop", "eval": probe},
        ]),
    );
    assert_clean(&seen);
    let steps = seen["steps"].as_array().unwrap();
    for step in steps {
        assert_eq!(step["status"], 200, "{}", step["url"]);
        assert_eq!(step["eval"]["inline_scripts"], 0);
        assert_eq!(step["eval"]["images"], 0);
    }
    for i in [1, 2] {
        let tiles = steps[i]["eval"]["tiles"].as_array().unwrap();
        let named: BTreeSet<&str> = tiles.iter().filter(|t| t["name"].as_str().unwrap().contains(script)).map(|t| t["key"].as_str().unwrap()).collect();
        let expected = format!("/registry/configmaps/default/{script}");
        assert_eq!(named, BTreeSet::from([expected.as_str(), &format!("/{script}")]), "the keys named with {script}, as text");
        for t in tiles.iter().filter(|t| t["name"].as_str().unwrap().contains(script)) {
            assert!(t["title"].as_str().unwrap().starts_with(t["name"].as_str().unwrap()), "{}", t["title"]);
        }
        // A key that is not UTF-8 is a tile too, named as the command line prints it.
        assert!(tiles.iter().any(|t| t["name"] == "/binary/\\xff\\x00<i>"), "{tiles:?}");
    }
    assert!(steps[0]["eval"]["top"].as_array().unwrap().iter().any(|k| k.as_str().unwrap().contains(script)), "the top keys show it as text");
    let legend: Vec<String> = (0..10).map(|c| format!("swatch c{c}")).collect();
    assert_eq!(steps[0]["eval"]["legend"], json!(legend));
    // shop/settings: created, updated three times, deleted, created again, updated (etcdctl's
    // watch from revision 1): 7 revisions of one live key, 4–7 a key, class c2.
    let events = etcdctl_events(&ground, "/registry/configmaps/shop/settings");
    assert_eq!(events, 7, "the recording's story");
    let settings = steps[3]["eval"]["tiles"].as_array().unwrap().iter().find(|t| t["name"] == "settings").unwrap().clone();
    assert_eq!(settings["revisions"].as_u64(), Some(events), "etcdctl's events for the key");
    assert_eq!(settings["keys"], 1);
    let class = (events.max(1)).ilog2().min(9);
    assert_eq!(settings["fill"], format!("c{class}"));
}

/// How many events etcdctl's `watch --prefix "" --rev 1 -w json` (ground.json) saw for `key`.
fn etcdctl_events(ground: &Value, key: &str) -> u64 {
    use base64::Engine;
    let mut n = 0;
    for line in ground["watch_all"]["stdout"].as_str().unwrap().lines().filter(|l| l.starts_with('{')) {
        let batch: Value = serde_json::from_str(line).unwrap();
        for e in batch["Events"].as_array().into_iter().flatten() {
            let k = base64::engine::general_purpose::STANDARD.decode(e["kv"]["key"].as_str().unwrap()).unwrap();
            n += u64::from(k == key.as_bytes());
        }
    }
    n
}

/// Tiles are `<a href>`: a crawler reaches the levels below by them.
#[test]
fn a_crawler_follows_the_tiles() {
    let Some(browser) = browser_or_skip() else { return };
    let served = serve(&[&diff_new()], &[]);
    let seen = browse(&browser, &served, json!([{"crawl": "/ui/new/space?path=pods", "limit": 40}]));
    let crawled: Vec<String> =
        seen["steps"][0]["crawled"].as_array().unwrap().iter().map(|p| p["url"].as_str().unwrap().trim_start_matches(&served.base).to_string()).collect();
    assert!(crawled.iter().any(|u| u == "/ui/new/space?path=pods/team-a"), "{crawled:?}");
}
