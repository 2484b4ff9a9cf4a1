#!/usr/bin/env python3
"""`etcdscope rebuild` against `etcdutl snapshot restore` on the same snapshot, runs
interleaved: wall time, peak anonymous memory (RssAnon sampled every 2 ms), the db each
writes, and `etcdutl snapshot status` of both dbs (hash, revision and key count must agree).

    python3 scripts/bench/rebuild.py bench-data/k8s-old.db [--runs 3]

`sync` runs (untimed) before every timed run and the output dirs are removed after each.
"""
import argparse
import json
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
    subprocess.run(["cat", a.snapshot], stdout=subprocess.DEVNULL, check=True)
    tmp = tempfile.mkdtemp(prefix="etcdscope-rebuild-bench-", dir=os.path.dirname(os.path.abspath(a.snapshot)))
    times = {"etcdutl": [], "etcdscope": []}
    anon = {"etcdutl": 0, "etcdscope": 0}
    sizes, statuses = {}, {}
    try:
        for _ in range(a.runs):
            for who in ("etcdutl", "etcdscope"):
                out = os.path.join(tmp, who)
                argv = ([etcdutl, "snapshot", "restore", a.snapshot, "--data-dir", out] if who == "etcdutl"
                        else [a.etcdscope, "rebuild", a.snapshot, "--out", out])
                subprocess.run(["sync"], check=True)
                s, _, peak, code = bench.measure(argv)
                assert code == 0, f"{who} failed"
                times[who].append(s)
                anon[who] = max(anon[who], peak)
                db = os.path.join(out, "member/snap/db")
                sizes[who] = os.path.getsize(db)
                statuses[who] = json.loads(subprocess.run([etcdutl, "snapshot", "status", db, "-w", "json"],
                                                          capture_output=True, check=True).stdout)
                shutil.rmtree(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for k in ("hash", "revision", "totalKey"):
        assert statuses["etcdutl"][k] == statuses["etcdscope"][k], (k, statuses)
    u, e = statistics.median(times["etcdutl"]), statistics.median(times["etcdscope"])
    print(f"{os.path.basename(a.snapshot)} ({os.path.getsize(a.snapshot) / 1048576:.1f} MiB); {os.cpu_count()} cores; "
          f"median of {a.runs} interleaved runs\n")
    print("| command | time (min–max) | peak anon | db written | vs etcdutl |\n|---|---|---|---|---|")
    print(f"| `etcdutl snapshot restore` | {u:.2f} s ({min(times['etcdutl']):.2f}–{max(times['etcdutl']):.2f}) | "
          f"{bench.mib(anon['etcdutl'])} | {bench.mib(sizes['etcdutl'])} | 1.00× |")
    print(f"| `etcdscope rebuild` | {e:.2f} s ({min(times['etcdscope']):.2f}–{max(times['etcdscope']):.2f}) | "
          f"{bench.mib(anon['etcdscope'])} | {bench.mib(sizes['etcdscope'])} | {e / u:.2f}× |")
    print(f"\netcdutl snapshot status of both dbs: hash {statuses['etcdscope']['hash']}, revision "
          f"{statuses['etcdscope']['revision']}, totalKey {statuses['etcdscope']['totalKey']} (equal)")


if __name__ == "__main__":
    main()
