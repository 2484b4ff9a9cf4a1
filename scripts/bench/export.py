#!/usr/bin/env python3
"""`export sqlite` against `get --all-objects -o jsonl` on the same snapshot, runs interleaved:
wall time, objects per second, peak anonymous memory (RssAnon sampled every 2 ms), size of the
database written. `get` is measured twice: printing to /dev/null (decoding only) and printing to
a file beside the database (decoding and writing its 2+ GB of JSON, as an export must write its
database).

    python3 scripts/bench/export.py bench-data/k8s-old.db [--runs 3] [--history]

The database goes to a temp dir and is removed after each run; `sync` runs (untimed) before
every timed run, so each export starts with no dirty pages queued from the one before (a 4 GB
export otherwise meets the kernel's dirty-page limit and runs at the disk's write speed).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import run as bench  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("snapshot")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--history", action="store_true")
    ap.add_argument("--etcdscope", default=os.path.join(ROOT, "target/release/etcdscope"))
    a = ap.parse_args()
    subprocess.run(["cat", a.snapshot], stdout=subprocess.DEVNULL, check=True)
    tmp = tempfile.mkdtemp(prefix="etcdscope-export-bench-")
    out = os.path.join(tmp, "out.db")
    gets, gets_file, exports, anon_get, anon_export, size, objects = [], [], [], 0, 0, 0, 0
    try:
        for _ in range(a.runs):
            subprocess.run(["sync"], check=True)
            s, _, anon, code = bench.measure([a.etcdscope, "get", a.snapshot, "--all-objects", "-o", "jsonl"])
            assert code == 0
            gets.append(s)
            anon_get = max(anon_get, anon)
            subprocess.run(["sync"], check=True)
            jsonl = os.path.join(tmp, "objects.jsonl")
            s, _, anon, code = bench.measure([a.etcdscope, "get", a.snapshot, "--all-objects", "-o", "jsonl"], stdout_path=jsonl)
            assert code == 0
            gets_file.append(s)
            jsonl_size = os.path.getsize(jsonl)
            os.remove(jsonl)
            argv = [a.etcdscope, "export", "sqlite", a.snapshot, out] + (["--history"] if a.history else [])
            subprocess.run(["sync"], check=True)
            s, _, anon, code = bench.measure(argv, stdout_path=os.path.join(tmp, "summary.txt"))
            assert code == 0
            exports.append(s)
            anon_export = max(anon_export, anon)
            size = os.path.getsize(out)
            summary = open(os.path.join(tmp, "summary.txt")).read()
            objects = int(summary.split(" objects")[0].rsplit(" ", 1)[1])
            os.remove(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    g, gf, e = statistics.median(gets), statistics.median(gets_file), statistics.median(exports)
    print(f"{os.path.basename(a.snapshot)} ({os.path.getsize(a.snapshot) / 1048576:.1f} MiB, {objects} objects); "
          f"{os.cpu_count()} cores; median of {a.runs} interleaved runs\n")
    print("| command | time (min–max) | objects/s | peak anon | vs get | vs get > file |\n|---|---|---|---|---|---|")
    print(f"| `get --all-objects -o jsonl > /dev/null` | {g:.2f} s ({min(gets):.2f}–{max(gets):.2f}) | {objects / g:,.0f} | {bench.mib(anon_get)} | 1.00× | |")
    print(f"| `get --all-objects -o jsonl > file` | {gf:.2f} s ({min(gets_file):.2f}–{max(gets_file):.2f}) | {objects / gf:,.0f} | | {gf / g:.2f}× | 1.00× |")
    label = "`export sqlite" + (" --history" if a.history else "") + "`"
    print(f"| {label} | {e:.2f} s ({min(exports):.2f}–{max(exports):.2f}) | {objects / e:,.0f} | {bench.mib(anon_export)} | {e / g:.2f}× | {e / gf:.2f}× |")
    print(f"\ndatabase written: {size / 1048576:.1f} MiB; JSON Lines written by get: {jsonl_size / 1048576:.1f} MiB")


if __name__ == "__main__":
    main()
