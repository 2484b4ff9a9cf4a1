#!/usr/bin/env python3
"""Make a large etcd snapshot for benchmarks with REAL etcd 3.5.1.

    python3 scripts/bench/make_big_snapshot.py --out bench-data/big.db --target-mib 1100

Starts etcd on 127.0.0.1 (random free ports, temp data dir, --unsafe-no-fsync), writes
Kubernetes-shaped keys (/registry/<resource>/<namespace>/<name>) with values of 300 B to 24 KiB
through the gRPC gateway in transactions of 100 puts, updates about a fifth of them once (so
there is history), deletes a few, until the backend reaches the target size, then runs
`etcdctl snapshot save`. Always stops etcd and removes the temp dir.
"""
import argparse
import base64
import os
import random
import sys
import tempfile
import time
import shutil

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import make_testdata as mt  # noqa: E402
import etcd_bins  # noqa: E402

RESOURCES = ["pods", "configmaps", "secrets", "events", "services/specs", "deployments", "replicasets", "leases"]


def b64(b):
    return base64.b64encode(b).decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--target-mib", type=int, default=1100)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    bins = etcd_bins.find_bins()
    if "3.5.1" not in bins:
        sys.exit("etcd 3.5.1 not installed: run scripts/install-etcd.sh")
    d = bins["3.5.1"]
    tools = {"etcd": os.path.join(d, "etcd"), "etcdctl": os.path.join(d, "etcdctl"), "etcdutl": os.path.join(d, "etcdutl")}
    mt.QUOTA_BYTES = 8 * 1024 * 1024 * 1024
    rng = random.Random(a.seed)
    tmp = tempfile.mkdtemp(prefix="etcdscope-bench-")
    etcd = mt.Etcd("3.5.1", tools, tmp, random_ports=True)
    etcd.extra_args = ["--unsafe-no-fsync", "--max-request-bytes", str(8 << 20)]
    target = a.target_mib * 1024 * 1024
    t0 = time.time()
    try:
        etcd.start()
        gw = mt.Gateway(etcd.client_port)
        written, n, keys = 0, 0, []
        blob = os.urandom(1 << 20)
        while True:
            ops = []
            for _ in range(100):
                res = rng.choice(RESOURCES)
                key = f"/registry/{res}/ns-{rng.randrange(200)}/obj-{n}".encode()
                size = min(24576, int(rng.lognormvariate(7.6, 0.9)) + 300)
                off = rng.randrange(len(blob) - size)
                ops.append({"request_put": {"key": b64(key), "value": b64(blob[off:off + size])}})
                keys.append(key)
                written += len(key) + size
                n += 1
            gw.call("/v3/kv/txn", {"compare": [], "success": ops, "failure": []})
            if n % 20000 == 0:
                status = gw.call("/v3/maintenance/status", {})
                db = int(status["dbSize"])
                print(f"  {n} keys, {written >> 20} MiB written, db {db >> 20} MiB, {time.time() - t0:.0f}s", flush=True)
                if db >= target * 0.8:
                    break
        # History: update about a fifth of the keys once, delete one in a hundred.
        for i in range(0, len(keys), 100):
            batch = keys[i:i + 100]
            ops = []
            for k in batch:
                r = rng.random()
                if r < 0.2:
                    size = min(24576, int(rng.lognormvariate(7.6, 0.9)) + 300)
                    off = rng.randrange(len(blob) - size)
                    ops.append({"request_put": {"key": b64(k), "value": b64(blob[off:off + size])}})
                elif r < 0.21:
                    ops.append({"request_delete_range": {"key": b64(k)}})
            if ops:
                gw.call("/v3/kv/txn", {"compare": [], "success": ops, "failure": []})
        gw.close()
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        code, so, se = mt.run([tools["etcdctl"], "--endpoints", etcd.client_url, "snapshot", "save", a.out],
                              {"ETCDCTL_API": "3"}, timeout=1200)
        if code != 0:
            sys.exit(f"snapshot save failed: {se.decode()}")
        print(f"{a.out}: {os.path.getsize(a.out)} bytes, {n} keys, {time.time() - t0:.0f}s")
    finally:
        etcd.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
