#!/usr/bin/env bash
# The real browser the web UI is judged by (tests/ui_browser.rs): Debian's chromium, driven by
# Playwright for Python (PyPI playwright) through `executable_path` — Playwright's own browser
# download is never used. chromium comes from apt-get (as root, or with sudo); Playwright goes
# into its own venv, $XDG_CACHE_HOME/etcdscope/playwright (default ~/.cache/...).
# Prints "PYTHON CHROMIUM" as its last line (scripts/test.sh exports them as ETCDSCOPE_UI_PYTHON
# and ETCDSCOPE_CHROMIUM). Idempotent: checks versions when they are there.
set -euo pipefail

PY="${PYTHON:-python3}"
VERSION='1.65.3'
DIR="${XDG_CACHE_HOME:-$HOME/.cache}/etcdscope/playwright"
VPY="$DIR/bin/python"
CHROMIUM="${ETCDSCOPE_CHROMIUM:-$(command -v chromium || true)}"

if [ -z "$CHROMIUM" ]; then
  echo "installing Debian's chromium with apt-get ..." >&2
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get install -y --no-install-recommends chromium >&2 || { $SUDO apt-get update >&2 && $SUDO apt-get install -y --no-install-recommends chromium >&2; }
  CHROMIUM="$(command -v chromium)"
fi
"$CHROMIUM" --version >&2

installed() {
  "$VPY" -c 'from importlib.metadata import version; print(version("playwright"))' 2>/dev/null
}
if [ ! -x "$VPY" ] || [ "$(installed || true)" != "$VERSION" ]; then
  echo "installing playwright==$VERSION from PyPI into $DIR (no browser download) ..." >&2
  "$PY" -m venv "$DIR"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 "$VPY" -m pip install --quiet --disable-pip-version-check "playwright==$VERSION"
fi
got="$(installed || true)"
if [ "$got" != "$VERSION" ]; then
  echo "error: $VPY does not import playwright $VERSION (got: ${got:-nothing})" >&2
  exit 1
fi
echo "$VPY $CHROMIUM"
