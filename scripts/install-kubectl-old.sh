#!/usr/bin/env bash
# kubectl 1.20, the old client `serve` must keep working with (tests/serve_kubectl.rs): it walks
# legacy discovery (/api/v1, /apis/G/V) where 1.35 asks for the aggregated form. It comes from
# Debian's package kubernetes-client (1.20.5+really1.20.2 in bookworm), downloaded with
# `apt-get download` and unpacked with `dpkg-deb -x` into the cache,
# $XDG_CACHE_HOME/etcdscope/kubectl-v20/ (default ~/.cache/...), so an installed /usr/bin/kubectl
# (often another version) is left alone and nothing is installed system-wide.
# Prints the path of the kubectl binary as its last line (scripts/test.sh exports it as
# ETCDSCOPE_KUBECTL_OLD). Idempotent: does nothing but check the version when it is there.
set -euo pipefail

DIR="${XDG_CACHE_HOME:-$HOME/.cache}/etcdscope/kubectl-v20"
BIN="$DIR/usr/bin/kubectl"

if [ ! -x "$BIN" ]; then
  if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
    echo "error: kubectl 1.20 comes from Debian's kubernetes-client package, and this machine has no apt-get/dpkg-deb." >&2
    echo "       Put a kubectl v1.20.x at $BIN (or set ETCDSCOPE_KUBECTL_OLD to one), or run with ETCDSCOPE_REQUIRE_ETCD=0 to skip the tests that need it." >&2
    exit 1
  fi
  echo "downloading kubernetes-client (kubectl 1.20) from apt, unpacking into $DIR ..." >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  # `apt-get download` writes into the current directory; `_apt` may not be able to, hence the
  # world-writable temp dir.
  chmod 0777 "$tmp"
  if ! (cd "$tmp" && apt-get download -q kubernetes-client >&2); then
    echo "note: apt-get download failed; refreshing the package lists and retrying ..." >&2
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    (cd "$tmp" && apt-get download -q kubernetes-client >&2)
  fi
  mkdir -p "$tmp/unpacked"
  dpkg-deb -x "$tmp"/kubernetes-client_*.deb "$tmp/unpacked"
  rm -rf "$DIR.part"
  mkdir -p "$(dirname "$DIR")"
  mv "$tmp/unpacked" "$DIR.part"
  rm -rf "$DIR"
  mv "$DIR.part" "$DIR"
fi

version="$("$BIN" version --client 2>&1 || true)"
if [[ "$version" != *'GitVersion:"v1.20.'* ]]; then
  echo "error: $BIN is not kubectl 1.20: $version" >&2
  exit 1
fi
echo "$BIN"
