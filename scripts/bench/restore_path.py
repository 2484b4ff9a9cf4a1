#!/usr/bin/env python3
"""What reading a snapshot costs without etcdscope, measured in the same run as etcdscope:
`etcdutl snapshot restore` → start etcd on the restored data dir → `etcdctl get "" --prefix -w json`,
against `etcdscope kv get SNAPSHOT "" --prefix -o json`; and `etcdscope get --all-objects -o jsonl`
against the raw `kv get` dump.

    python3 scripts/bench/restore_path.py bench-data/k8s-old.db [--runs 3]
    python3 scripts/bench/restore_path.py bench-data/k8s-old.db --objects-only --runs 7

etcd 3.5.1 binds to 127.0.0.1 on free ports in a temp dir and is always stopped. Output goes to
/dev/null everywhere (etcdctl's and ours are the same JSON). Prints a Markdown table.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
import etcd_bins  # noqa: E402
import make_testdata as mt  # noqa: E402


def timed(argv, env=None):
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env, timeout=3600)
    return time.perf_counter() - t0


def restore_path(snapshot, tools):
    """Seconds for restore, start (until healthy), and the full get."""
    tmp = tempfile.mkdtemp(prefix="etcdscope-restore-bench-")
    etcd = mt.Etcd("3.5.1", tools, tmp, random_ports=True)
    etcd.extra_args = ["--quota-backend-bytes", str(8 << 30)]
    try:
        restore = timed([tools["etcdutl"], "snapshot", "restore", snapshot, "--data-dir", etcd.data_dir,
                         "--name", mt.MEMBER_NAME, "--initial-cluster", f"{mt.MEMBER_NAME}={etcd.peer_url}",
                         "--initial-cluster-token", mt.CLUSTER_TOKEN, "--initial-advertise-peer-urls", etcd.peer_url])
        t0 = time.perf_counter()
        etcd.start()
        start = time.perf_counter() - t0
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL")}
        env["ETCDCTL_API"] = "3"
        get = timed([tools["etcdctl"], "--endpoints", etcd.client_url, "--command-timeout", "600s", "get", "", "--prefix", "-w", "json"], env)
        return restore, start, get
    finally:
        etcd.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("snapshot")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--etcdscope", default=os.path.join(ROOT, "target/release/etcdscope"))
    ap.add_argument("--objects-only", action="store_true", help="only `get --all-objects` against the raw dump, runs interleaved")
    a = ap.parse_args()
    if a.objects_only:
        subprocess.run(["cat", a.snapshot], stdout=subprocess.DEVNULL, check=True)
        dumps, objs = [], []
        for _ in range(a.runs):
            dumps.append(timed([a.etcdscope, "kv", "get", a.snapshot, "", "--prefix", "-o", "json"]))
            objs.append(timed([a.etcdscope, "get", a.snapshot, "--all-objects", "-o", "jsonl"]))
        ratios = sorted(o / d for o, d in zip(objs, dumps))
        print(f"{os.path.basename(a.snapshot)}; {os.cpu_count()} cores; {a.runs} interleaved runs")
        print(f"kv get dump: median {statistics.median(dumps):.2f} s ({min(dumps):.2f}–{max(dumps):.2f})")
        print(f"get --all-objects: median {statistics.median(objs):.2f} s ({min(objs):.2f}–{max(objs):.2f})")
        print(f"ratio of medians {statistics.median(objs) / statistics.median(dumps):.2f}×; per-pair ratios {ratios[0]:.2f}–{ratios[-1]:.2f}×")
        return
    bins = etcd_bins.find_bins()
    tools = etcd_bins.tools("3.5.1", bins["3.5.1"])
    subprocess.run(["cat", a.snapshot], stdout=subprocess.DEVNULL, check=True)
    paths = [restore_path(a.snapshot, tools) for _ in range(a.runs)]
    restore = statistics.median(p[0] for p in paths)
    start = statistics.median(p[1] for p in paths)
    get = statistics.median(p[2] for p in paths)
    total = statistics.median(sum(p) for p in paths)
    dump = statistics.median(timed([a.etcdscope, "kv", "get", a.snapshot, "", "--prefix", "-o", "json"]) for _ in range(a.runs))
    objects = statistics.median(timed([a.etcdscope, "get", a.snapshot, "--all-objects", "-o", "jsonl"]) for _ in range(a.runs))
    print(f"machine: {os.cpu_count()} cores; etcd 3.5.1; {os.path.basename(a.snapshot)} {os.path.getsize(a.snapshot) / 1048576:.1f} MiB; median of {a.runs} runs\n")
    print("| path | time | vs restore → start → get |\n|---|---|---|")
    print(f"| `etcdutl snapshot restore` | {restore:.2f} s | |")
    print(f"| start etcd on it (until healthy) | {start:.2f} s | |")
    print(f"| `etcdctl get \"\" --prefix -w json` | {get:.2f} s | |")
    print(f"| restore → start → get | {total:.2f} s | 1.00× |")
    print(f"| `etcdscope kv get SNAPSHOT \"\" --prefix -o json` | {dump:.2f} s | {dump / total:.3f}× |")
    print(f"| `etcdscope get SNAPSHOT --all-objects -o jsonl` | {objects:.2f} s | {objects / total:.3f}× ({objects / dump:.2f}× the raw dump) |")


if __name__ == "__main__":
    main()
