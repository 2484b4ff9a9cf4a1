#!/usr/bin/env bash
# The web UI's space view against `analyze` on the same file (issue 20: "the treemap of the
# >= 1 GiB generated Kubernetes snapshot draws within 2x of analyze's time"):
#   etcdscope analyze SNAPSHOT -o json                       (best of 3)
#   the first GET /ui/CTX/space on a fresh serve (the one pass, the tree, the page)
#   a second GET (cached: only the page)
# and the ratio first GET / analyze (serve's start-up, which opens the file and learns its
# resources before it listens, is printed beside it). Each round starts a new serve, so every first GET pays
# the whole pass; the file is read once beforehand so the page cache holds it for both.
# Usage: scripts/bench/ui_space_bench.sh [SNAPSHOT] [ETCDSCOPE] [ROUNDS]
set -euo pipefail
db=${1:-/work/bench-data/k8s.db}; bin=${2:-target/checked/etcdscope}; rounds=${3:-3}
dir=$(mktemp -d); pid=
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; rm -rf "$dir"; }
trap cleanup EXIT
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
cat "$db" > /dev/null
best_analyze=
for i in $(seq "$rounds"); do
  t0=$(now); "$bin" analyze "$db" -o json > "$dir/analyze.json"; t1=$(now)
  s=$(secs "$t0" "$t1"); echo "analyze -o json: $s s"
  if [ -z "$best_analyze" ] || [ "$(echo "$s < $best_analyze" | bc)" = 1 ]; then best_analyze=$s; fi
done
best_first=
for i in $(seq "$rounds"); do
  out="$dir/out.$i"   # a fresh file: the last round's "Ctrl-C" line must not be read as this one's
  t0=$(now); "$bin" serve "$db" --address 127.0.0.1:0 --kubeconfig "$dir/kc.$i" > "$out" 2> "$dir/err.$i" & pid=$!
  until grep -q 'Ctrl-C' "$out" 2>/dev/null; do kill -0 "$pid" || { cat "$dir/err.$i"; exit 1; }; sleep 0.01; done
  started=$(secs "$t0" "$(now)")
  ctx=$(grep -o 'as context "[^"]*"' "$out" | head -1 | cut -d'"' -f2)
  base=$(grep -o 'http://127.0.0.1:[0-9]*' "$out" | head -1)
  first=$(curl -s -o "$dir/space.html" -w '%{http_code} %{time_total}' "$base/ui/$ctx/space")
  second=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "$base/ui/$ctx/space")
  zoom=$(curl -s -o /dev/null -w '%{http_code} %{time_total} %{size_download}' "$base/ui/$ctx/space?path=pods")
  read -r zoom_code zoom_time zoom_bytes <<< "$zoom"
  echo "serve start-up $started s; GET /ui/$ctx/space: first ${first#* } s (HTTP ${first% *}), second ${second#* } s; ?path=pods $zoom_time s, $zoom_bytes bytes (HTTP $zoom_code)"
  s=${first#* }
  if [ -z "$best_first" ] || [ "$(echo "$s < $best_first" | bc)" = 1 ]; then best_first=$s; fi
  kill -INT "$pid"; wait "$pid" || true; pid=
done
echo "best analyze $best_analyze s; best first space page $best_first s; ratio $(echo "scale=2; $best_first / $best_analyze" | bc)"
