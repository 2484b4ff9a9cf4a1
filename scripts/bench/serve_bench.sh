#!/usr/bin/env bash
# serve's figures for docs/benchmarks.md, each against a peer measured in the same run:
#   start-up (until the URL is printed)             vs  `etcdscope status` on the same file
#   kubectl get pods -A -o json through serve       vs  `etcdscope get pods -A -o json`
#   the raw list body (curl, kubectl get --raw)     vs  the same
#   anonymous memory while 50 full pod lists run at once (RssAnon sampled every 0.2 s)
# Usage: scripts/bench/serve_bench.sh SNAPSHOT [ETCDSCOPE] [KUBECTL]
set -euo pipefail
db=${1:?snapshot}; bin=${2:-target/checked/etcdscope}; kubectl=${3:-${ETCDSCOPE_KUBECTL:-$HOME/.cache/etcdscope/kubectl-v35/kubectl}}
dir=$(mktemp -d); trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
cat "$db" > /dev/null   # the page cache holds the file for every run
for i in 1 2 3; do
  t0=$(now); "$bin" status "$db" > /dev/null; t1=$(now); echo "status: $(secs $t0 $t1) s"
  t0=$(now); "$bin" serve "$db" --kubeconfig "$dir/kc" > "$dir/out" 2> "$dir/err" & pid=$!
  until grep -q 'Ctrl-C' "$dir/out" 2>/dev/null; do sleep 0.01; done; t1=$(now); echo "serve start-up: $(secs $t0 $t1) s"
  kill -INT $pid; wait $pid || true
done
"$bin" serve "$db" --kubeconfig "$dir/kc" > "$dir/out" 2> "$dir/err" & pid=$!
until grep -q 'Ctrl-C' "$dir/out" 2>/dev/null; do sleep 0.01; done
url=$(grep -o 'http://[^ ]*' "$dir/out" | head -1)
curl -s "$url/api/v1/pods?limit=1" > /dev/null   # builds the key index once
for i in 1 2; do
  /usr/bin/time -f "etcdscope get pods -A -o json: %e s, max RSS %M KB" "$bin" get "$db" pods -A -o json > /dev/null
  /usr/bin/time -f "curl list body: %e s" curl -s "$url/api/v1/pods" -o /dev/null
  /usr/bin/time -f "kubectl get --raw: %e s, max RSS %M KB" "$kubectl" --kubeconfig "$dir/kc" get --raw /api/v1/pods > /dev/null
done
/usr/bin/time -f "kubectl get pods -A -o json through serve: %e s, kubectl max RSS %M KB" "$kubectl" --kubeconfig "$dir/kc" --cache-dir "$dir/cache" get pods -A -o json > /dev/null
peak=0
( for i in $(seq 50); do curl -s "$url/api/v1/pods" -o /dev/null & done; wait ) & lists=$!
t0=$(now)
while kill -0 $lists 2>/dev/null; do
  anon=$(awk '/RssAnon/{print $2}' /proc/$pid/status); [ "$anon" -gt "$peak" ] && peak=$anon; sleep 0.2
done
t1=$(now)
echo "50 concurrent full pod lists: $(secs $t0 $t1) s, serve's peak RssAnon $((peak / 1024)) MiB"
