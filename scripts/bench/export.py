#!/usr/bin/env python3
"""`export sqlite` and `export parquet` against `get --all-objects -o jsonl` on the same snapshot,
runs interleaved: wall time, objects per second, peak anonymous memory (RssAnon sampled every
2 ms), size of the database and of the dataset written. `get` is measured twice: printing to /dev/null (decoding only) and printing to
a file beside the database (decoding and writing its 2+ GB of JSON, as an export must write its
database).

    python3 scripts/bench/export.py bench-data/k8s-old.db [--runs 3] [--history] [--only parquet]

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
    ap.add_argument("--only", choices=["sqlite", "parquet"], help="measure one exporter (default: both)")
    a = ap.parse_args()
    subprocess.run(["cat", a.snapshot], stdout=subprocess.DEVNULL, check=True)
    tmp = tempfile.mkdtemp(prefix="etcdscope-export-bench-")
    out = os.path.join(tmp, "out.db")
    formats = [a.only] if a.only else ["sqlite", "parquet"]
    gets, gets_file, anon_get, objects = [], [], 0, 0
    exports = {f: [] for f in formats}
    anon_export = {f: 0 for f in formats}
    size = {f: 0 for f in formats}
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
            for f in formats:
                target = out if f == "sqlite" else os.path.join(tmp, "dataset")
                argv = [a.etcdscope, "export", f, a.snapshot] + ([target] if f == "sqlite" else ["--out", target])
                argv += ["--history"] if a.history else []
                subprocess.run(["sync"], check=True)
                s, _, anon, code = bench.measure(argv, stdout_path=os.path.join(tmp, "summary.txt"))
                assert code == 0, (argv, code)
                exports[f].append(s)
                anon_export[f] = max(anon_export[f], anon)
                size[f] = bytes_under(target)
                summary = open(os.path.join(tmp, "summary.txt")).read()
                objects = int(summary.split(" objects")[0].rsplit(" ", 1)[1])
                shutil.rmtree(target) if os.path.isdir(target) else os.remove(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    g, gf = statistics.median(gets), statistics.median(gets_file)
    print(f"{os.path.basename(a.snapshot)} ({os.path.getsize(a.snapshot) / 1048576:.1f} MiB, {objects} objects); "
          f"{os.cpu_count()} cores; median of {a.runs} interleaved runs\n")
    print("| command | time (min–max) | objects/s | peak anon | vs get | vs get > file |\n|---|---|---|---|---|---|")
    print(f"| `get --all-objects -o jsonl > /dev/null` | {g:.2f} s ({min(gets):.2f}–{max(gets):.2f}) | {objects / g:,.0f} | {bench.mib(anon_get)} | 1.00× | |")
    print(f"| `get --all-objects -o jsonl > file` | {gf:.2f} s ({min(gets_file):.2f}–{max(gets_file):.2f}) | {objects / gf:,.0f} | | {gf / g:.2f}× | 1.00× |")
    for f in formats:
        e = statistics.median(exports[f])
        label = f"`export {f}" + (" --history" if a.history else "") + "`"
        print(f"| {label} | {e:.2f} s ({min(exports[f]):.2f}–{max(exports[f]):.2f}) | {objects / e:,.0f} | {bench.mib(anon_export[f])} | {e / g:.2f}× | {e / gf:.2f}× |")
    print()
    for f in formats:
        print(f"{f} written: {size[f] / 1048576:.1f} MiB")
    if len(formats) == 2:
        print(f"dataset / database: {size['parquet'] / size['sqlite']:.2f}")
    print(f"JSON Lines written by get: {jsonl_size / 1048576:.1f} MiB")


def bytes_under(path):
    """Bytes of a file, or of every file under a directory."""
    if not os.path.isdir(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, n)) for d, _, names in os.walk(path) for n in names)


if __name__ == "__main__":
    main()
