#!/usr/bin/env python3
"""Run etcdscope's read commands against the data dir of a REAL etcd while it is under write load.

    python3 scripts/read_under_load.py --etcdscope target/checked/etcdscope --out result.json \
        [--version 3.5.1] [--seconds 20]

One etcd member on 127.0.0.1 (free ports, temp dir) with --snapshot-count 50, so it writes .snap
files and cuts WAL segments while we read; a writer thread puts 256 KiB values (64 MB segments
fill in ~250 puts) and small Kubernetes-shaped keys, deletes some, and compacts now and then. In
parallel, every read command runs over and over against the live data dir. Each run's exit
status is recorded: the test that calls this requires that none was killed by a signal and that
each ended 0, 1 or 2 (a finding or a clear error, e.g. a page caught mid-write).
Writes result.json: {"runs": [{"args", "exit_code", "signal", "stderr_tail"}], "writes": N,
"segments_seen": N, "snap_files_seen": N}. etcd is always stopped; only the stdlib is used.
"""
import argparse
import base64
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcd_bins  # noqa: E402
import make_testdata as mt  # noqa: E402


def writer(gw, stop, counter):
    rng = random.Random(7)
    big = bytes(rng.getrandbits(8) for _ in range(256 * 1024))
    n = 0
    while not stop.is_set():
        key = f"/registry/configmaps/ns-{n % 7}/cm-{n}".encode()
        gw.call("/v3/kv/put", {"key": base64.b64encode(key).decode(), "value": base64.b64encode(big[: 1024 + (n * 4093) % len(big)]).decode()})
        if n % 5 == 0:
            old = f"/registry/configmaps/ns-{(n - 5) % 7}/cm-{n - 5}".encode()
            gw.call("/v3/kv/deleterange", {"key": base64.b64encode(old).decode()})
        if n % 40 == 39:
            rev = mt.Gateway.rev(gw.call("/v3/kv/range", {"key": base64.b64encode(b"\x00").decode(), "count_only": True}))
            gw.call("/v3/kv/compaction", {"revision": str(rev - 10), "physical": False})
        n += 1
        counter[0] = n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--etcdscope", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--version", default="3.5.1", choices=["3.5.1", "3.4.23"])
    ap.add_argument("--seconds", type=float, default=20)
    a = ap.parse_args()
    bins = etcd_bins.find_bins()
    if a.version not in bins:
        sys.exit(f"etcd {a.version} not installed: run scripts/install-etcd.sh")
    tools = etcd_bins.tools(a.version, bins[a.version])
    tmp = tempfile.mkdtemp(prefix="etcdscope-load-")
    etcd = mt.Etcd(a.version, tools, tmp, random_ports=True)
    etcd.extra_args = ["--snapshot-count", "50", "--max-request-bytes", str(2 << 20)]
    stop = threading.Event()
    counter = [0]
    runs = []
    segments, snaps = set(), set()
    data = etcd.data_dir
    member = os.path.join(data, "member")
    commands = [
        ["status", data, "-o", "json"],
        ["status", os.path.join(member, "snap", "db")],
        ["kv", "get", data, "/registry/", "--prefix", "--keys-only", "-o", "json"],
        ["get", data, "configmaps", "-A", "-o", "name"],
        ["get", data, "--list-keys", "-o", "jsonl"],
        ["history", data, "/registry/configmaps/", "--prefix", "-o", "jsonl"],
        ["diff", data, data],
        ["wal", data, "--verify"],
        ["wal", data, "-o", "jsonl"],
    ]
    try:
        etcd.start()
        gw = mt.Gateway(etcd.client_port)
        t = threading.Thread(target=writer, args=(gw, stop, counter), daemon=True)
        t.start()
        deadline = time.time() + a.seconds
        i = 0
        while time.time() < deadline:
            args = commands[i % len(commands)]
            i += 1
            p = subprocess.run([a.etcdscope] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
            code = p.returncode
            runs.append({"args": args, "exit_code": code if code >= 0 else None, "signal": -code if code < 0 else None,
                         "stderr_tail": p.stderr.decode("utf-8", "replace")[-500:]})
            for d, seen, ext in ((os.path.join(member, "wal"), segments, ".wal"), (os.path.join(member, "snap"), snaps, ".snap")):
                try:
                    seen.update(f for f in os.listdir(d) if f.endswith(ext))
                except OSError:
                    pass
        stop.set()
        t.join(timeout=30)
    finally:
        stop.set()
        etcd.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    with open(a.out, "w") as f:
        json.dump({"runs": runs, "writes": counter[0], "segments_seen": len(segments), "snap_files_seen": len(snaps)}, f, indent=1)
    bad = [r for r in runs if r["signal"] is not None or r["exit_code"] not in (0, 1, 2)]
    print(f"{len(runs)} reads during {counter[0]} writes ({len(segments)} WAL segments, {len(snaps)} .snap files seen); {len(bad)} bad")


if __name__ == "__main__":
    main()
