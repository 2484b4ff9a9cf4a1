"""Drives a real browser through etcdscope's web UI for tests/ui_*.rs and reports what it saw.

    PYTHON browse.py CHROMIUM < plan.json > seen.json

Debian's chromium, through Playwright for Python (PyPI playwright) with executable_path: no
browser is downloaded. The plan is JSON: {"base": URL, "viewport": [w, h], "color_scheme":
"light"|"dark", "steps": [...]}; each step does one thing and may read the page:
  {"goto": "/ui/..."}               open an address (relative to base)
  {"click": CSS}                    click the first match and wait for the page to settle
  {"press": KEY}                    a key press on the page (e.g. "/", "j", "Enter")
  {"fill": [CSS, TEXT]}             type into a field
  {"back": true} / {"reload": true} browser history and reload
  {"wait": CSS}                     wait for an element (e.g. a lazily loaded list)
  {"crawl": PATH, "limit": N,       from PATH, follow every same-origin link under /ui/ (breadth
   "needles": [TEXT]}               first, at most N pages); reports each page's URL, status and
                                    which needles its HTML holds
  "eval": {NAME: JS}                after the action, evaluate each expression in the page
  "screenshot": PATH                after the action, save a PNG of the viewport ("full": true for all)
The report: per step the URL, the HTTP status of its navigation (if any), the title and the
evaluated values; and for the whole run every console error or warning, uncaught page error,
failed request and dialog (an alert() would mean a script from the data ran). Judging is left
to the Rust test, against facts from elsewhere.
"""
import json
import sys

from playwright.sync_api import sync_playwright

FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--font-render-hinting=none",
]


def main():
    chromium = sys.argv[1]
    plan = json.load(sys.stdin)
    base = plan["base"].rstrip("/")
    seen = {"steps": [], "console": [], "page_errors": [], "failed_requests": [], "dialogs": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS, headless=True)
        width, height = plan.get("viewport", [1280, 800])
        context = browser.new_context(
            viewport={"width": width, "height": height},
            color_scheme=plan.get("color_scheme", "light"),
            extra_http_headers=plan.get("headers", {}),
            ignore_https_errors=True,
        )
        page = context.new_page()
        page.on("console", lambda m: m.type in ("error", "warning") and seen["console"].append({"type": m.type, "text": m.text, "url": page.url}))
        page.on("pageerror", lambda e: seen["page_errors"].append({"error": str(e), "url": page.url}))
        # A load the browser itself abandoned (the page navigated on before the favicon arrived)
        # is not a failure of the server's; every other failed request is reported.
        page.on("requestfailed", lambda r: r.failure != "net::ERR_ABORTED" and seen["failed_requests"].append({"url": r.url, "failure": r.failure}))

        def on_dialog(d):
            seen["dialogs"].append({"type": d.type, "message": d.message, "url": page.url})
            d.dismiss()

        page.on("dialog", on_dialog)
        for step in plan["steps"]:
            seen["steps"].append(run_step(page, base, step))
        context.close()
        browser.close()
    json.dump(seen, sys.stdout)


def run_step(page, base, step):
    status = None
    if "goto" in step:
        response = page.goto(base + step["goto"], wait_until="load")
        status = response.status if response else None
    elif "click" in step:
        with page.expect_navigation(wait_until="load", timeout=step.get("timeout", 30000)) if step.get("navigates", True) else nullcontext():
            page.click(step["click"])
    elif "press" in step:
        if step.get("navigates"):
            with page.expect_navigation(wait_until="load"):
                page.keyboard.press(step["press"])
        else:
            page.keyboard.press(step["press"])
    elif "fill" in step:
        page.fill(step["fill"][0], step["fill"][1])
    elif "back" in step:
        response = page.go_back(wait_until="load")
        status = response.status if response else None
    elif "reload" in step:
        response = page.reload(wait_until="load")
        status = response.status if response else None
    elif "crawl" in step:
        return crawl(page, base, step["crawl"], step.get("limit", 200), step.get("needles", []))
    if "wait" in step:
        page.wait_for_selector(step["wait"], timeout=step.get("timeout", 30000))
    page.wait_for_load_state("networkidle")
    values = {name: page.evaluate(expr) for name, expr in step.get("eval", {}).items()}
    if "screenshot" in step:
        page.screenshot(path=step["screenshot"], full_page=step.get("full", False))
    return {"url": page.url, "status": status, "title": page.title(), "eval": values}


def crawl(page, base, start, limit, needles):
    """Visits pages reachable by <a href> from `start`, as a crawler would; reports which of
    `needles` each page's HTML holds."""
    queue, seen, pages = [base + start], set(), []
    while queue and len(pages) < limit:
        url = queue.pop(0).split("#")[0]
        if url in seen:
            continue
        seen.add(url)
        response = page.goto(url, wait_until="load")
        html = page.content()
        found = [n for n in needles if n in html]
        pages.append({"url": url, "status": response.status if response else None, "title": page.title(), "found": found})
        # An SVG <a> (treemap tiles, timeline marks) has an SVGAnimatedString href: resolve its text.
        links = page.eval_on_selector_all("a[href]", "els => els.map(e => new URL(e.getAttribute('href'), document.baseURI).href)")
        for link in links:
            if link.startswith(base + "/ui/") and link.split("#")[0] not in seen:
                queue.append(link)
    left = {u.split("#")[0] for u in queue} - seen
    return {"url": page.url, "status": None, "title": page.title(), "eval": {}, "crawled": pages, "left": len(left)}


class nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


if __name__ == "__main__":
    main()
