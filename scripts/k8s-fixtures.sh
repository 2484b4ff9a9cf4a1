#!/usr/bin/env bash
# Kubernetes' API round-trip fixtures (the testdata/ of kubernetes/api, Apache-2.0), which the
# test suite decodes and renders against. They are not in this repository. This script finds or
# fetches them, checks every file against testdata/k8s-fixtures.sha256 (and that no file is
# missing or extra), and prints the directory holding HEAD/ v1.33.0/ v1.34.0/ v1.35.0/ as its
# last line of output (scripts/test.sh exports it as ETCDSCOPE_K8S_FIXTURES).
#
# Where they come from, first that exists and matches the manifest:
#   1. $ETCDSCOPE_K8S_FIXTURES, if set (a directory you provide; a mismatch is an error)
#   2. ../shared/k8s-fixtures beside the repository (the development machines have it)
#   3. the cache, $XDG_CACHE_HOME/etcdscope/k8s-fixtures/<commit> (default ~/.cache/...)
#   4. fetched into the cache: a shallow, sparse git fetch of the pinned kubernetes/api commit
#      (only the four testdata folders, about 19 MB; needs git and access to github.com).
#      ETCDSCOPE_K8S_FIXTURES_REMOTE overrides the remote (a mirror, or a local clone).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# kubernetes/api master of 2026-07-24: its testdata/ holds HEAD and the compatibility fixtures of
# the releases 1.33.0 to 1.35.0, exactly what the manifest lists.
COMMIT=10b39a39bcee995dfe7cd5e8e7b922be5e46f1e2
RELEASES=(HEAD v1.33.0 v1.34.0 v1.35.0)
MANIFEST=$ROOT/testdata/k8s-fixtures.sha256
REMOTE=${ETCDSCOPE_K8S_FIXTURES_REMOTE:-https://github.com/kubernetes/api.git}

say() { echo "k8s-fixtures: $*" >&2; }

# True when DIR holds exactly the manifest's files with the manifest's contents.
matches() {
    local dir=$1 listed present
    [ -d "$dir" ] || return 1
    listed=$(awk '{print $2}' "$MANIFEST" | sort)
    present=$(cd "$dir" && find "${RELEASES[@]}" -type f 2>/dev/null | sort)
    if [ "$listed" != "$present" ]; then
        say "$dir: files differ from the manifest: $(diff <(echo "$listed") <(echo "$present") | grep -c '^[<>]') names"
        return 1
    fi
    if ! (cd "$dir" && sha256sum --quiet --strict -c "$MANIFEST" >&2); then
        say "$dir: contents differ from the manifest"
        return 1
    fi
}

if [ -n "${ETCDSCOPE_K8S_FIXTURES:-}" ]; then
    matches "$ETCDSCOPE_K8S_FIXTURES" || { say "ETCDSCOPE_K8S_FIXTURES=$ETCDSCOPE_K8S_FIXTURES does not match $MANIFEST"; exit 1; }
    echo "$ETCDSCOPE_K8S_FIXTURES"
    exit 0
fi
if [ -d "$ROOT/../shared/k8s-fixtures" ] && matches "$ROOT/../shared/k8s-fixtures"; then
    (cd "$ROOT/../shared/k8s-fixtures" && pwd)
    exit 0
fi

CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/etcdscope/k8s-fixtures
DEST=$CACHE/$COMMIT
if matches "$DEST"; then
    echo "$DEST"
    exit 0
fi

command -v git >/dev/null || { say "git is needed to fetch the fixtures"; exit 1; }
mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/.fetch.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
say "fetching kubernetes/api testdata at $COMMIT from $REMOTE into $DEST"
git -C "$WORK" init -q repo
git -C "$WORK/repo" remote add origin "$REMOTE"
git -C "$WORK/repo" sparse-checkout set --no-cone "${RELEASES[@]/#/\/testdata\/}" >/dev/null
# Only the pinned commit, trees first; the checkout then fetches the blobs of the four folders.
fetched() {
    git -C "$WORK/repo" -c protocol.version=2 fetch -q --depth 1 --filter=blob:none origin "$COMMIT" &&
        git -C "$WORK/repo" checkout -q FETCH_HEAD
}
fetched || { say "could not fetch $COMMIT from $REMOTE (offline? set ETCDSCOPE_K8S_FIXTURES to a copy)"; exit 1; }
mkdir "$WORK/fixtures"
for r in "${RELEASES[@]}"; do
    mv "$WORK/repo/testdata/$r" "$WORK/fixtures/$r"
done
matches "$WORK/fixtures" || { say "what was fetched does not match $MANIFEST"; exit 1; }
rm -rf "$DEST"
mv "$WORK/fixtures" "$DEST"
say "ready: $DEST"
echo "$DEST"
