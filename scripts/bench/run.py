#!/usr/bin/env python3
"""Benchmark etcdscope against etcdutl and `cat` on the same file, in one run.

    python3 scripts/bench/run.py bench-data/big.db [more files...] [--runs 3]
    python3 scripts/bench/run.py --k8s bench-data/k8s.db      # Kubernetes decode
    python3 scripts/bench/run.py --wal bench-data/wal         # WAL directories
    python3 scripts/bench/run.py --diff OLD.db NEW.db         # diff of two snapshots

For each file and command: median wall time over --runs (after one warm-up `cat`, so every
command reads from the page cache), peak RSS (ru_maxrss: includes pages of the mmap'd file,
which the kernel can drop at will) and peak anonymous memory (RssAnon sampled every 2 ms from
/proc: heap and stacks, what a process really holds). Prints a Markdown table with ratios to
`cat FILE` and to `etcdutl snapshot status` measured in the same run.
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


def measure(argv, stdout_path=os.devnull):
    """Runs argv; returns (seconds, max_rss_bytes, peak_anon_bytes, exit_code)."""
    with open(stdout_path, "wb") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL)
        peak_anon = 0
        status = f"/proc/{p.pid}/status"
        while True:
            pid, code, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            try:
                with open(status) as f:
                    for line in f:
                        if line.startswith("RssAnon:"):
                            peak_anon = max(peak_anon, int(line.split()[1]) * 1024)
            except OSError:
                pass
            time.sleep(0.002)
        secs = time.perf_counter() - t0
    return secs, ru.ru_maxrss * 1024, peak_anon, os.waitstatus_to_exitcode(code)


def mib(n):
    return f"{n / 1048576:.1f} MiB"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--etcdscope", default=os.path.join(ROOT, "target/release/etcdscope"))
    ap.add_argument("--k8s", action="store_true",
                    help="Kubernetes snapshot: time decoding every object to JSON Lines against the raw kv dump")
    ap.add_argument("--wal", action="store_true",
                    help="WAL directories: time decoding every record to JSON Lines against `cat` of the segments")
    ap.add_argument("--diff", action="store_true",
                    help="two snapshots OLD NEW: time `diff` against `status` (etcdscope's and etcdutl's) on both")
    a = ap.parse_args()
    if a.diff:
        return diff(a)
    if a.k8s:
        return k8s(a)
    if a.wal:
        return wal(a)
    bins = etcd_bins.find_bins()
    etcdutl = os.path.join(bins["3.5.1"], "etcdutl")
    print(f"machine: {os.cpu_count()} cores; etcdscope {a.etcdscope}; etcdutl 3.5.1; median of {a.runs} runs\n")
    print("| file | command | time | vs cat | vs etcdutl status | max RSS | peak anon |")
    print("|---|---|---|---|---|---|---|")
    for path in a.files:
        size = os.path.getsize(path)
        subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
        cmds = [
            ("cat FILE", ["cat", path]),
            ("etcdutl snapshot status", [etcdutl, "snapshot", "status", path, "-w", "json"]),
            ("etcdscope status", [a.etcdscope, "status", path, "-o", "json"]),
            ("etcdscope kv get \"\" --prefix -o json", [a.etcdscope, "kv", "get", path, "", "--prefix", "-o", "json"]),
            ("etcdscope kv get \"\" --prefix --keys-only -o json", [a.etcdscope, "kv", "get", path, "", "--prefix", "--keys-only", "-o", "json"]),
        ]
        results = {}
        for name, argv in cmds:
            runs = [measure(argv) for _ in range(a.runs)]
            codes = {r[3] for r in runs}
            if codes != {0}:
                sys.exit(f"{name} exited {codes}")
            results[name] = (statistics.median(r[0] for r in runs), max(r[1] for r in runs), max(r[2] for r in runs))
        cat_t = results["cat FILE"][0]
        utl_t = results["etcdutl snapshot status"][0]
        for name, (t, rss, anon) in results.items():
            print(f"| {os.path.basename(path)} ({mib(size)}) | `{name}` | {t:.2f} s | {t / cat_t:.1f}× | {t / utl_t:.2f}× | {mib(rss)} | {mib(anon)} |")
    print()


def k8s(a):
    import json
    print(f"machine: {os.cpu_count()} cores; etcdscope {a.etcdscope}; median of {a.runs} runs\n")
    print("| file | command | time | vs raw kv dump | stored values decoded | max RSS | peak anon |")
    print("|---|---|---|---|---|---|---|")
    for path in a.files:
        size = os.path.getsize(path)
        subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)
        listing = subprocess.run([a.etcdscope, "get", path, "--list-keys", "-o", "jsonl"], capture_output=True, check=True).stdout
        entries = [json.loads(l) for l in listing.splitlines()]
        value_bytes = sum(e["valueBytes"] for e in entries if e["class"] == "object")
        objects = sum(1 for e in entries if e["class"] == "object")
        cmds = [
            ("etcdscope kv get \"\" --prefix -o json (raw dump)", [a.etcdscope, "kv", "get", path, "", "--prefix", "-o", "json"]),
            ("etcdscope get --all-objects -o jsonl", [a.etcdscope, "get", path, "--all-objects", "-o", "jsonl"]),
        ]
        results = {}
        for name, argv in cmds:
            runs = [measure(argv) for _ in range(a.runs)]
            if {r[3] for r in runs} != {0}:
                sys.exit(f"{name} failed")
            results[name] = (statistics.median(r[0] for r in runs), max(r[1] for r in runs), max(r[2] for r in runs))
        raw_t = results[cmds[0][0]][0]
        for name, (t, rss, anon) in results.items():
            rate = value_bytes / t / 1e6
            print(f"| {os.path.basename(path)} ({mib(size)}, {objects} objects, {mib(value_bytes)} of values) | `{name}` | {t:.2f} s | {t / raw_t:.2f}× | {rate:.0f} MB/s | {mib(rss)} | {mib(anon)} |")
    print()


def timed(name, argv, runs):
    rs = [measure(argv) for _ in range(runs)]
    if {r[3] for r in rs} - {0, 1}:
        sys.exit(f"{name} exited {[r[3] for r in rs]}")
    return statistics.median(r[0] for r in rs), max(r[1] for r in rs), max(r[2] for r in rs)


def diff(a):
    """`diff OLD NEW` against the peers that read both files: `cat` of both, etcdutl snapshot
    status of each, etcdscope status of each (times summed, memory the larger)."""
    if len(a.files) != 2:
        sys.exit("--diff takes two files: OLD NEW")
    old, new = a.files
    etcdutl = os.path.join(etcd_bins.find_bins()["3.5.1"], "etcdutl")
    subprocess.run(["cat", old, new], stdout=subprocess.DEVNULL, check=True)
    print(f"machine: {os.cpu_count()} cores; etcdscope {a.etcdscope}; etcdutl 3.5.1; median of {a.runs} runs")
    print(f"OLD {os.path.basename(old)} {mib(os.path.getsize(old))}, NEW {os.path.basename(new)} {mib(os.path.getsize(new))}\n")
    results = {"cat OLD NEW": timed("cat", ["cat", old, new], a.runs)}
    for name, argv in [("etcdutl snapshot status", [etcdutl, "snapshot", "status"]), ("etcdscope status", [a.etcdscope, "status"])]:
        x, y = (timed(name, argv + [f, "-w" if "etcdutl" in name else "-o", "json"], a.runs) for f in (old, new))
        results[f"{name} OLD + NEW"] = (x[0] + y[0], max(x[1], y[1]), max(x[2], y[2]))
    results["etcdscope diff OLD NEW -o json"] = timed("diff", [a.etcdscope, "diff", old, new, "-o", "json"], a.runs)
    results["etcdscope diff OLD NEW (table)"] = timed("diff", [a.etcdscope, "diff", old, new], a.runs)
    cat_t = results["cat OLD NEW"][0]
    utl_t = results["etcdutl snapshot status OLD + NEW"][0]
    st_t = results["etcdscope status OLD + NEW"][0]
    print("| command | time | vs cat | vs etcdutl status ×2 | vs etcdscope status ×2 | max RSS | peak anon |")
    print("|---|---|---|---|---|---|---|")
    for name, (t, rss, anon) in results.items():
        print(f"| `{name}` | {t:.2f} s | {t / cat_t:.1f}× | {t / utl_t:.2f}× | {t / st_t:.2f}× | {mib(rss)} | {mib(anon)} |")
    print()


def wal(a):
    print(f"machine: {os.cpu_count()} cores; etcdscope {a.etcdscope}; median of {a.runs} runs\n")
    print("| WAL | command | time | vs cat | WAL read | max RSS | peak anon |")
    print("|---|---|---|---|---|---|---|")
    for d in a.files:
        segs = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".wal"))
        size = sum(os.path.getsize(f) for f in segs)
        subprocess.run(["cat"] + segs, stdout=subprocess.DEVNULL, check=True)
        cmds = [
            ("cat *.wal", ["cat"] + segs),
            ("etcdscope wal --verify", [a.etcdscope, "wal", d, "--verify"]),
            ("etcdscope wal -o jsonl", [a.etcdscope, "wal", d, "-o", "jsonl"]),
            ("etcdscope wal -o table", [a.etcdscope, "wal", d]),
        ]
        results = {}
        for name, argv in cmds:
            runs = [measure(argv) for _ in range(a.runs)]
            if {r[3] for r in runs} != {0}:
                sys.exit(f"{name} exited {[r[3] for r in runs]}")
            results[name] = (statistics.median(r[0] for r in runs), max(r[1] for r in runs), max(r[2] for r in runs))
        cat_t = results["cat *.wal"][0]
        for name, (t, rss, anon) in results.items():
            print(f"| {os.path.basename(d.rstrip('/'))} ({len(segs)} segments, {mib(size)}) | `{name}` | {t:.2f} s | {t / cat_t:.1f}× | {size / t / 1e6:.0f} MB/s | {mib(rss)} | {mib(anon)} |")
    print()


if __name__ == "__main__":
    main()
