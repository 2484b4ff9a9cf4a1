#!/usr/bin/env python3
"""The operator's toolkit on a big snapshot, against `etcdutl snapshot status` on the same file
in the same run (runs interleaved; `sync` before each, untimed): `check`, `analyze`,
`hash --kind kv`, `hash` (all kinds), `salvage`, and `compare` of the file with itself. Wall
time, peak anonymous memory (RssAnon sampled every 2 ms), ratio to etcdutl.

    python3 scripts/bench/toolkit.py bench-data/k8s-old.db [--runs 3]
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
sys.path.insert(0, os.path.dirname(HERE))
import run as bench  # noqa: E402
import etcd_bins  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("snapshot")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--etcdscope", default=os.path.join(ROOT, "target/release/etcdscope"))
    a = ap.parse_args()
    etcdutl = etcd_bins.tools("3.5.1", etcd_bins.find_bins()["3.5.1"])["etcdutl"]
    e = a.etcdscope
    tmp = tempfile.mkdtemp(prefix="etcdscope-toolkit-bench-", dir=os.path.dirname(os.path.abspath(a.snapshot)))
    out = os.path.join(tmp, "salvaged.db")
    commands = [
        ("etcdutl snapshot status", [etcdutl, "snapshot", "status", a.snapshot, "-w", "json"]),
        ("check", [e, "check", a.snapshot]),
        ("analyze", [e, "analyze", a.snapshot]),
        ("hash --kind kv", [e, "hash", a.snapshot, "--kind", "kv"]),
        ("hash (all kinds)", [e, "hash", a.snapshot]),
        ("salvage", [e, "salvage", a.snapshot, "--out", out]),
        ("compare (the file with itself)", [e, "compare", a.snapshot, a.snapshot]),
    ]
    subprocess.run(["cat", a.snapshot], stdout=subprocess.DEVNULL, check=True)
    times = {n: [] for n, _ in commands}
    anon = {n: 0 for n, _ in commands}
    try:
        for _ in range(a.runs):
            for name, argv in commands:
                subprocess.run(["sync"], check=True)
                s, _, peak, code = bench.measure(argv)
                assert code in (0, 1), f"{name} exited {code}"
                times[name].append(s)
                anon[name] = max(anon[name], peak)
                if os.path.exists(out):
                    os.remove(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base = statistics.median(times[commands[0][0]])
    print(f"{os.path.basename(a.snapshot)} ({os.path.getsize(a.snapshot) / 1048576:.1f} MiB); {os.cpu_count()} cores; median of {a.runs} interleaved runs\n")
    print("| command | time (min–max) | peak anon | vs etcdutl status |\n|---|---|---|---|")
    for name, _ in commands:
        t = statistics.median(times[name])
        print(f"| `{name}` | {t:.2f} s ({min(times[name]):.2f}–{max(times[name]):.2f}) | {bench.mib(anon[name])} | {t / base:.2f}× |")


if __name__ == "__main__":
    main()
