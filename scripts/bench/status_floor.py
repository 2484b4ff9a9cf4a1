#!/usr/bin/env python3
"""`etcdscope status` against `etcdutl snapshot status` and against the floor under both: reading
every byte of the file once with CRC-32C on every core (examples/read_floor.rs), mapped as
etcdscope maps it, and copied with pread. All in one run, interleaved, median of --runs.

    cargo build --release --examples
    python3 scripts/bench/status_floor.py bench-data/k8s-old-raw.db [--runs 7]

Use a db without a sha256 trailer for the status-vs-floor figure. With one (an `etcdctl snapshot
save` file, the common case), status also computes SHA-256 of the whole file on a core of its
own, and the peers that matter are `openssl dgst -sha256` (the SHA floor) and `hash --kind
sha256`. `--baseline BIN` adds another etcdscope build's status, for before/after figures.
Prints a Markdown table.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
import etcd_bins  # noqa: E402


def timed(argv):
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=600)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--etcdscope", default=os.path.join(ROOT, "target/release/etcdscope"))
    ap.add_argument("--floor", default=os.path.join(ROOT, "target/release/examples/read_floor"))
    ap.add_argument("--baseline", help="another etcdscope binary whose status is measured too")
    a = ap.parse_args()
    tools = etcd_bins.tools("3.5.1", etcd_bins.find_bins()["3.5.1"])
    cmds = {
        "`etcdutl snapshot status`": [tools["etcdutl"], "snapshot", "status", a.db],
        "`etcdscope status`": [a.etcdscope, "status", a.db],
        "floor: map + CRC-32C, 2 threads": [a.floor, a.db, "mmap", "2"],
        "floor: pread + CRC-32C, 2 threads": [a.floor, a.db, "pread", "2"],
        "`cat FILE > /dev/null`": ["cat", a.db],
    }
    if open(a.db, "rb").seek(0, 2) % 512 == 32:
        cmds["`etcdscope hash --kind sha256`"] = [a.etcdscope, "hash", "--kind", "sha256", a.db]
        cmds["`openssl dgst -sha256`"] = ["openssl", "dgst", "-sha256", a.db]
    if a.baseline:
        cmds["`etcdscope status` (baseline build)"] = [a.baseline, "status", a.db]
    subprocess.run(["cat", a.db], stdout=subprocess.DEVNULL, check=True)
    times = {name: [] for name in cmds}
    for _ in range(a.runs):
        for name, argv in cmds.items():
            times[name].append(timed(argv))
    med = {name: statistics.median(t) for name, t in times.items()}
    base = med["`etcdutl snapshot status`"]
    floor = med["floor: map + CRC-32C, 2 threads"]
    print(f"{os.path.basename(a.db)}, {os.path.getsize(a.db) / 1048576:.1f} MiB; {os.cpu_count()} cores; median of {a.runs} runs\n")
    print("| command | time (min–max) | vs etcdutl status | vs mapped floor |\n|---|---|---|---|")
    for name, t in times.items():
        print(f"| {name} | {med[name]:.3f} s ({min(t):.3f}–{max(t):.3f}) | {med[name] / base:.2f}× | {med[name] / floor:.2f}× |")


if __name__ == "__main__":
    main()
