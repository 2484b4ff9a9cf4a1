//! A real browser for the web UI's tests: Debian's chromium driven by Playwright for Python
//! (scripts/install-browser.sh), through tests/ui/browse.py. The test gives a plan of steps and
//! gets back what the browser saw; it judges that against facts from elsewhere.

use super::repo;
use super::serve::Served;
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The Python with Playwright and the chromium it drives: $ETCDSCOPE_UI_PYTHON and
/// $ETCDSCOPE_CHROMIUM, else the install script's venv and /usr/bin/chromium. `None` after a
/// `SKIPPED:` line when missing and skipping is allowed; a failed test with
/// ETCDSCOPE_REQUIRE_ETCD=1.
pub fn browser_or_skip() -> Option<(PathBuf, PathBuf)> {
    let cache = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    let python =
        std::env::var_os("ETCDSCOPE_UI_PYTHON").map(PathBuf::from).or_else(|| cache.map(|c| c.join("etcdscope/playwright/bin/python"))).filter(|p| p.is_file());
    let chromium = std::env::var_os("ETCDSCOPE_CHROMIUM").map(PathBuf::from).or_else(|| Some(PathBuf::from("/usr/bin/chromium"))).filter(|p| p.is_file());
    match (python, chromium) {
        (Some(p), Some(c)) => Some((p, c)),
        _ => {
            let required = std::env::var("ETCDSCOPE_REQUIRE_ETCD").is_ok_and(|v| v == "1");
            assert!(!required, "chromium or Playwright is not installed (run scripts/install-browser.sh); ETCDSCOPE_REQUIRE_ETCD=1 forbids skipping");
            eprintln!("SKIPPED: chromium or Playwright not installed (scripts/install-browser.sh) and ETCDSCOPE_REQUIRE_ETCD is not 1");
            None
        }
    }
}

/// Runs `steps` against `served` in a fresh browser (1280×800, light scheme unless `plan`
/// says otherwise) and returns the report (see tests/ui/browse.py).
pub fn browse(browser: &(PathBuf, PathBuf), served: &Served, steps: Value) -> Value {
    browse_plan(browser, json!({"base": served.base, "steps": steps}))
}

/// Runs a whole plan (base, viewport, color_scheme, headers, steps).
pub fn browse_plan(browser: &(PathBuf, PathBuf), plan: Value) -> Value {
    let (python, chromium) = browser;
    let mut child = Command::new(python)
        .arg(repo().join("tests/ui/browse.py"))
        .arg(chromium)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the browser driver starts");
    child.stdin.take().unwrap().write_all(plan.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the browser driver failed: {}\n{}", String::from_utf8_lossy(&out.stderr), plan);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("the driver's report is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// Asserts the run was clean: no console error or warning, no page error, no failed request,
/// no dialog.
pub fn assert_clean(seen: &Value) {
    for what in ["console", "page_errors", "failed_requests", "dialogs"] {
        let list = seen[what].as_array().map_or(0, Vec::len);
        assert_eq!(list, 0, "the browser reported {what}: {}", seen[what]);
    }
}

/// Where tests put the screenshots docs/ui.md shows: docs/ui/ in the repository, only when
/// ETCDSCOPE_UI_SCREENSHOTS=1 (scripts/ui-screenshots.sh); else a temp path nobody keeps.
pub fn screenshot_path(name: &str, scratch: &std::path::Path) -> String {
    let dir = if std::env::var("ETCDSCOPE_UI_SCREENSHOTS").is_ok_and(|v| v == "1") { repo().join("docs/ui") } else { scratch.to_path_buf() };
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name).display().to_string()
}
