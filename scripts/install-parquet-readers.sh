#!/usr/bin/env bash
# The engines `export parquet` is judged by (tests/export_parquet.rs): DuckDB and pyarrow from
# PyPI, pinned, in their own venv $XDG_CACHE_HOME/etcdscope/parquet-readers (default
# ~/.cache/...), so they change nothing of the Python the other scripts use. Prints the venv's
# python as its last line (scripts/test.sh exports it as ETCDSCOPE_PARQUET_PYTHON). Idempotent:
# does nothing but check the versions when they are there.
set -euo pipefail

PY="${PYTHON:-python3}"
DUCKDB='2.0.1'
PYARROW='26.0.1'
DIR="${XDG_CACHE_HOME:-$HOME/.cache}/etcdscope/parquet-readers"
VPY="$DIR/bin/python"
WANT="$DUCKDB $PYARROW"

installed() {
  "$VPY" -c 'import duckdb, pyarrow; print(duckdb.__version__, pyarrow.__version__)' 2>/dev/null
}

if [ ! -x "$VPY" ] || [ "$(installed || true)" != "$WANT" ]; then
  echo "installing duckdb==$DUCKDB pyarrow==$PYARROW from PyPI into $DIR ..." >&2
  "$PY" -m venv "$DIR"
  "$VPY" -m pip install --quiet --disable-pip-version-check "duckdb==$DUCKDB" "pyarrow==$PYARROW"
fi
got="$(installed || true)"
if [ "$got" != "$WANT" ]; then
  echo "error: $VPY does not import duckdb $DUCKDB and pyarrow $PYARROW (got: ${got:-nothing})" >&2
  exit 1
fi
echo "$VPY"
