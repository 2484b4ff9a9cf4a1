#!/usr/bin/env python3
"""Make a large snapshot of Kubernetes objects with REAL etcd 3.5.1, for decode benchmarks.

    python3 scripts/bench/make_k8s_snapshot.py --out bench-data/k8s.db --target-mib 1100
    python3 scripts/bench/make_k8s_snapshot.py --out bench-data/k8s-wal.db --target-mib 300 \
        --batch 1 --wal-out bench-data/wal      # a WAL of one-object txns, as kube-apiserver writes
    python3 scripts/bench/make_k8s_snapshot.py --out bench-data/k8s-old.db --target-mib 1100 \
        --churn-out bench-data/k8s-new.db       # a second snapshot of the same cluster, later (diff)

Values are Kubernetes' own fixture objects (v1.35.0/*.pb of scripts/k8s-fixtures.sh: the bytes
kube-apiserver writes), each renamed on the protobuf wire (metadata.name = 1,
metadata.namespace = 3 inside runtime.Unknown.raw), stored under realistic /registry keys
through the gRPC gateway in transactions of 100 puts, until the backend reaches the target size;
then `etcdctl snapshot save`. etcd binds to 127.0.0.1 only and is always stopped.
"""
import argparse
import base64
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import etcd_bins  # noqa: E402
import make_testdata as mt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# fixture, key prefix, namespaced
TYPES = [
    ("core.v1.Pod", "pods", True), ("core.v1.ConfigMap", "configmaps", True), ("core.v1.Secret", "secrets", True),
    ("core.v1.Event", "events", True), ("core.v1.Service", "services/specs", True),
    ("core.v1.Endpoints", "services/endpoints", True), ("apps.v1.Deployment", "deployments", True),
    ("apps.v1.ReplicaSet", "replicasets", True), ("coordination.k8s.io.v1.Lease", "leases", True),
    ("core.v1.Node", "minions", False), ("rbac.authorization.k8s.io.v1.ClusterRole", "clusterroles", False),
]


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def fields(msg):
    pos, out = 0, []
    while pos < len(msg):
        start = pos
        tag, shift = 0, 0
        while True:
            b = msg[pos]
            pos += 1
            tag |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        wt = tag & 7
        if wt == 0:
            while msg[pos] & 0x80:
                pos += 1
            pos += 1
            payload = None
        elif wt == 1:
            pos += 8
            payload = None
        elif wt == 5:
            pos += 4
            payload = None
        elif wt == 2:
            ln, shift = 0, 0
            while True:
                b = msg[pos]
                pos += 1
                ln |= (b & 0x7F) << shift
                shift += 7
                if b < 0x80:
                    break
            payload = msg[pos:pos + ln]
            pos += ln
        else:
            raise ValueError(f"wire type {wt}")
        out.append((tag >> 3, wt, msg[start:pos], payload))
    return out


def replace(msg, number, value):
    out = bytearray()
    for n, wt, whole, _ in fields(msg):
        if n == number and wt == 2:
            out += varint(number << 3 | 2) + varint(len(value)) + value
        else:
            out += whole
    return bytes(out)


def field(msg, number):
    return next(p for n, wt, _, p in fields(msg) if n == number and wt == 2)


def rename(stored, name, namespace):
    unknown = stored[4:]
    obj = field(unknown, 2)
    meta = replace(replace(field(obj, 1), 1, name.encode()), 3, namespace.encode())
    return b"k8s\0" + replace(unknown, 2, replace(obj, 1, meta))


def churn(gw, made, stored, rng, a):
    """Updates, deletes, identical re-puts and creations after the first snapshot, in txns of
    distinct keys (etcd refuses a txn that writes one key twice)."""
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    picked = rng.sample(range(len(made)), int(len(made) * (a.churn + 3) / 100))
    n_upd = int(len(made) * a.churn / 100)
    step = len(made) // 100
    ops = []
    for i, idx in enumerate(picked):
        key, fixture, name, ns = made[idx]
        if i < n_upd:  # update: a new generateName (ObjectMeta field 2) on the same object
            value = rename(stored[fixture], name, ns)
            obj_unknown = value[4:]
            obj = field(obj_unknown, 2)
            meta = replace(field(obj, 1), 2, f"churned-{i}-".encode())
            value = b"k8s\0" + replace(obj_unknown, 2, replace(obj, 1, meta))
            ops.append({"request_put": {"key": b64(key.encode()), "value": b64(value)}})
        elif i < n_upd + step:  # deleted
            ops.append({"request_delete_range": {"key": b64(key.encode())}})
        else:  # the same bytes written again
            ops.append({"request_put": {"key": b64(key.encode()), "value": b64(rename(stored[fixture], name, ns))}})
        if len(ops) == a.batch:
            gw.call("/v3/kv/txn", {"compare": [], "success": ops, "failure": []})
            ops = []
    for j in range(step):  # created
        fixture, prefix, namespaced = TYPES[j % len(TYPES)]
        name, ns = f"new-{j}", f"ns-{j % 300}"
        key = f"/registry/{prefix}/{ns}/{name}" if namespaced else f"/registry/{prefix}/{name}"
        ops.append({"request_put": {"key": b64(key.encode()), "value": b64(rename(stored[fixture], name, ns if namespaced else ""))}})
        if len(ops) == a.batch:
            gw.call("/v3/kv/txn", {"compare": [], "success": ops, "failure": []})
            ops = []
    if ops:
        gw.call("/v3/kv/txn", {"compare": [], "success": ops, "failure": []})
    print(f"  churn: {n_upd} updated, {step} deleted, {len(picked) - n_upd - step} re-put unchanged, {step} created", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--target-mib", type=int, default=1100)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--batch", type=int, default=100, help="puts per txn (kube-apiserver writes one object per txn: 1)")
    ap.add_argument("--wal-out", help="also copy the member's WAL segments into this directory (for WAL benchmarks)")
    ap.add_argument("--churn-out", help="after --out, change the cluster (--churn %% of objects updated, 1%% each deleted, "
                    "re-put unchanged and created) and save a second snapshot here (for diff benchmarks)")
    ap.add_argument("--churn", type=float, default=5.0, help="percent of objects updated for --churn-out")
    a = ap.parse_args()
    bins = etcd_bins.find_bins()
    if "3.5.1" not in bins:
        sys.exit("etcd 3.5.1 not installed: run scripts/install-etcd.sh")
    d = bins["3.5.1"]
    tools = {"etcd": os.path.join(d, "etcd"), "etcdctl": os.path.join(d, "etcdctl")}
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    from fixtures import k8s_fixtures
    fixtures = os.path.join(k8s_fixtures(), "v1.35.0")
    stored = {f: open(os.path.join(fixtures, f + ".pb"), "rb").read() for f, _, _ in TYPES}
    mt.QUOTA_BYTES = 8 * 1024 * 1024 * 1024
    rng = random.Random(a.seed)
    tmp = tempfile.mkdtemp(prefix="etcdscope-k8s-bench-")
    etcd = mt.Etcd("3.5.1", tools, tmp, random_ports=True)
    etcd.extra_args = ["--unsafe-no-fsync", "--max-request-bytes", str(8 << 20)]
    target = a.target_mib * 1024 * 1024
    t0 = time.time()
    try:
        etcd.start()
        gw = mt.Gateway(etcd.client_port)
        n, value_bytes = 0, 0
        made = []  # (key, fixture, name, namespace) of every object, for --churn-out
        while True:
            ops = []
            for _ in range(a.batch):
                fixture, prefix, namespaced = rng.choice(TYPES)
                name, ns = f"obj-{n}", f"ns-{rng.randrange(300)}"
                key = f"/registry/{prefix}/{ns}/{name}" if namespaced else f"/registry/{prefix}/{name}"
                value = rename(stored[fixture], name, ns if namespaced else "")
                ops.append({"request_put": {"key": base64.b64encode(key.encode()).decode(), "value": base64.b64encode(value).decode()}})
                if a.churn_out:
                    made.append((key, fixture, name, ns if namespaced else ""))
                value_bytes += len(value)
                n += 1
            gw.call("/v3/kv/txn", {"compare": [], "success": ops, "failure": []})
            if n % 20000 < a.batch:
                db = int(gw.call("/v3/maintenance/status", {})["dbSize"])
                print(f"  {n} objects, {value_bytes >> 20} MiB of values, db {db >> 20} MiB, {time.time() - t0:.0f}s", flush=True)
                if db >= target:
                    break
        gw.close()
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        code, so, se = mt.run([tools["etcdctl"], "--endpoints", etcd.client_url, "snapshot", "save", a.out], {"ETCDCTL_API": "3"}, timeout=1200)
        if code != 0:
            sys.exit(f"snapshot save failed: {se.decode()}")
        print(f"{a.out}: {os.path.getsize(a.out)} bytes, {n} objects, {value_bytes} value bytes, {time.time() - t0:.0f}s")
        if a.churn_out:
            churn(gw, made, stored, rng, a)
            code, so, se = mt.run([tools["etcdctl"], "--endpoints", etcd.client_url, "snapshot", "save", a.churn_out], {"ETCDCTL_API": "3"}, timeout=1200)
            if code != 0:
                sys.exit(f"snapshot save failed: {se.decode()}")
            print(f"{a.churn_out}: {os.path.getsize(a.churn_out)} bytes, {time.time() - t0:.0f}s")
        if a.wal_out:
            etcd.stop()
            src = os.path.join(etcd.data_dir, "member", "wal")
            os.makedirs(a.wal_out, exist_ok=True)
            for name in sorted(os.listdir(src)):
                if name.endswith(".wal"):
                    shutil.copy(os.path.join(src, name), os.path.join(a.wal_out, name))
            print(f"{a.wal_out}: {sum(os.path.getsize(os.path.join(a.wal_out, f)) for f in os.listdir(a.wal_out))} bytes of WAL")
    finally:
        etcd.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
