#!/usr/bin/env bash
# Regenerate testdata/etcd-3.5.1 and testdata/etcd-3.4.23 from real etcd.
#
#   scripts/make-all-testdata.sh [extra make_testdata.py args, e.g. --scale 2]
#
# Set ETCDSCOPE=/path/to/etcdscope to also record etcdscope's output against the
# live data dir (written to testdata/etcd-*/live/).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
PY="${PYTHON:-python3}"

"$here/install-etcd.sh" >/dev/null

extra=()
if [ -n "${ETCDSCOPE:-}" ]; then
  extra+=(--etcdscope "$ETCDSCOPE")
fi

for v in 3.5.1 3.4.23; do
  echo "=== etcd $v"
  "$PY" "$here/make_testdata.py" --version "$v" --out "$root/testdata/etcd-$v" ${extra[@]+"${extra[@]}"} "$@"
done

# Two snapshots of one cluster, with what etcd's own restore, watch and lease tools say of them
# (ground truth for `diff` and `history`).
for v in 3.5.1 3.4.23; do
  echo "=== etcd $v: snapshot pair"
  "$PY" "$here/make_diff_data.py" --version "$v" --out "$root/testdata/diff-$v"
done
