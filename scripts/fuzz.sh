#!/usr/bin/env bash
# Runs every fuzz target (fuzz/src/bin/) under AFL++ through cargo-afl for a fixed time each,
# copies what crashed into fuzz/crashes/<target>/ (replayed by `cargo test --test fuzz_replay`),
# and prints executions and findings per target. docs/fuzzing.md says more.
#
#   scripts/fuzz.sh                      every target, FUZZ_SECONDS each
#   scripts/fuzz.sh bolt wal diff        only these
#
# FUZZ_SECONDS  time per target (default 60)
# FUZZ_JOBS     targets fuzzed at once, one core each (default 2: the machines have 2 cores)
# FUZZ_OUT      AFL output dirs and the summary (default fuzz/out, not committed)
# FUZZ_FIXTURES .pb files from Kubernetes' fixtures (scripts/k8s-fixtures.sh) added to the protobuf targets' seeds
#               (default 24; they are not copied into the repository)
# FUZZ_TMP      where targets that read paths write their files (default /dev/shm when it
#               exists: in memory, several times faster than a disk)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-2}
FUZZ_OUT=${FUZZ_OUT:-$ROOT/fuzz/out}
FUZZ_FIXTURES=${FUZZ_FIXTURES:-24}
if [ -z "${FUZZ_TMP:-}" ]; then
    if [ -d /dev/shm ] && [ -w /dev/shm ]; then FUZZ_TMP=/dev/shm; else FUZZ_TMP=${TMPDIR:-/tmp}; fi
fi

if [ $# -gt 0 ]; then
    TARGETS=("$@")
else
    TARGETS=()
    for f in fuzz/src/bin/*.rs; do TARGETS+=("$(basename "$f" .rs)"); done
fi
for t in "${TARGETS[@]}"; do
    [ -f "fuzz/src/bin/$t.rs" ] || { echo "fuzz.sh: no target $t (fuzz/src/bin/$t.rs)" >&2; exit 2; }
done

# cargo-afl, and AFL++ built for this toolchain (the crate carries AFL++'s source; building it
# needs only a C compiler and make).
if ! cargo afl --version >/dev/null 2>&1; then
    cargo install --locked cargo-afl
fi
if ! config_out=$(cargo afl config --build 2>&1); then
    # "already built" is the usual answer after the first time; anything else is an error.
    if ! grep -q "already built" <<<"$config_out"; then
        echo "$config_out" >&2
        exit 1
    fi
fi

(cd fuzz && cargo afl build --release --locked)

# AFL++ on a shared machine: no CPU frequency or core-pattern tuning (that needs root changes
# to the system), no binding to cores (jobs would fight over them), no curses UI.
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
export AFL_SKIP_CRASHES=1 AFL_QUIET=1

mkdir -p "$FUZZ_OUT"

fuzz_one() {
    local t=$1 out="$FUZZ_OUT/$1" tmp dict=()
    rm -rf "$out"
    mkdir -p "$out/in"
    tmp=$(mktemp -d "$FUZZ_TMP/etcdscope-fuzz-$t.XXXXXX")
    [ -f "fuzz/dict/$t.dict" ] && dict=(-x "$ROOT/fuzz/dict/$t.dict")
    find "fuzz/corpus/$t" -maxdepth 1 -type f ! -name '.*' -exec cp {} "$out/in/" \;
    if [ "$t" = k8s_protobuf ] || [ "$t" = envelope ]; then
        local fixtures
        fixtures="${ETCDSCOPE_K8S_FIXTURES:-$(bash scripts/k8s-fixtures.sh | tail -n 1)}/HEAD"
        if [ -d "$fixtures" ] && [ "$FUZZ_FIXTURES" -gt 0 ]; then
            local fx
            mapfile -t fx < <(find "$fixtures" -name '*.pb' -size -8k | sort)
            for f in "${fx[@]:0:$FUZZ_FIXTURES}"; do cp "$f" "$out/in/fixture-$(basename "$f")"; done
        fi
    fi
    # The targets write the files they read (path entry points) under TMPDIR.
    TMPDIR="$tmp" cargo afl fuzz -i "$out/in" -o "$out/afl" -V "$FUZZ_SECONDS" -t 2000 "${dict[@]}" \
        -- "$ROOT/fuzz/target/release/$t" >"$out/afl.log" 2>&1 || {
        echo "fuzz.sh: afl-fuzz failed for $t; see $out/afl.log" >&2
        tail -n 20 "$out/afl.log" >&2
        rm -rf "$tmp"
        return 1
    }
    rm -rf "$tmp"
    # Keep every crash as a regression case, named by its content.
    local crashes="$out/afl/default/crashes" dest="fuzz/crashes/$t"
    mkdir -p "$dest"
    if [ -d "$crashes" ]; then
        for f in "$crashes"/id:*; do
            [ -f "$f" ] || continue
            cp "$f" "$dest/crash-$(sha256sum "$f" | cut -c1-16)"
        done
    fi
    touch "$out/done"
}

pids=()
status=0
for t in "${TARGETS[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$FUZZ_JOBS" ]; do wait -n || status=1; done
    echo "fuzz.sh: $t for ${FUZZ_SECONDS}s"
    (fuzz_one "$t") &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || status=1; done

stat() { grep -E "^$2 +:" "$1" 2>/dev/null | sed 's/^[^:]*: *//' || true; }
summary="$FUZZ_OUT/summary.md"
{
    echo "| target | seconds | execs | execs/s | corpus (seeds → paths) | edges found | crashes | hangs |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for t in "${TARGETS[@]}"; do
        s="$FUZZ_OUT/$t/afl/default/fuzzer_stats"
        seeds=$(find "fuzz/corpus/$t" -maxdepth 1 -type f ! -name '.*' | wc -l)
        if [ ! -f "$FUZZ_OUT/$t/done" ]; then
            echo "| $t | did not finish (see $FUZZ_OUT/$t/afl.log) | | | | | | |"
            status=1
            continue
        fi
        echo "| $t | $(stat "$s" run_time) | $(stat "$s" execs_done) | $(stat "$s" execs_per_sec) | $seeds → $(stat "$s" corpus_count) | $(stat "$s" edges_found) ($(stat "$s" bitmap_cvg)) | $(stat "$s" saved_crashes) | $(stat "$s" saved_hangs) |"
    done
} >"$summary"
cat "$summary"
crashed=$(find fuzz/crashes -type f -name 'crash-*' 2>/dev/null | wc -l)
echo "fuzz.sh: $crashed crash file(s) under fuzz/crashes/; hangs, if any, are in $FUZZ_OUT/<target>/afl/default/hangs/"
exit $status
