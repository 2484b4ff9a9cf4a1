#!/usr/bin/env python3
"""Store given values under given keys in a fresh REAL etcd, then save a snapshot.

    python3 scripts/put_values.py --version 3.5.1 --manifest puts.json --out DIR [--random-ports] [--keep-member]

puts.json: [{"key": "/registry/pods/default/web", "value_file": "/path/to/bytes"}, ...]
Writes DIR/snapshot.db (etcdctl snapshot save) and DIR/puts.json: the manifest with each put's
"mod_revision" as etcd returned it; with --keep-member also DIR/data/member (db, WAL, .snap
files), copied after etcd stopped. A put with "txn": true is written in a txn with the next
put. A put with "if_value": {"key": K, "value_file": F} is written by a txn whose compare asks
whether K's value equals F's bytes (the put is in both branches, so it always lands). etcd
binds to 127.0.0.1 only and is always stopped.
"""
import argparse
import base64
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcd_bins  # noqa: E402
import make_testdata as mt  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True, choices=["3.5.1", "3.4.23"])
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--random-ports", action="store_true")
    ap.add_argument("--keep-member", action="store_true", help="also copy the member dir to OUT/data/member")
    a = ap.parse_args()
    bins = etcd_bins.find_bins()
    if a.version not in bins:
        sys.exit(f"etcd {a.version} not installed: run scripts/install-etcd.sh")
    d = bins[a.version]
    tools = {"etcd": os.path.join(d, "etcd"), "etcdctl": os.path.join(d, "etcdctl")}
    with open(a.manifest) as f:
        puts = json.load(f)
    os.makedirs(a.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="etcdscope-put-")
    etcd = mt.Etcd(a.version, tools, tmp, random_ports=a.random_ports)
    try:
        etcd.start()
        gw = mt.Gateway(etcd.client_port)
        txn = []
        for p in puts:
            with open(p["value_file"], "rb") as f:
                value = f.read()
            body = {"key": base64.b64encode(p["key"].encode()).decode(), "value": base64.b64encode(value).decode()}
            if p.get("txn"):
                txn.append((p, body))
                continue
            if txn:
                ops = [{"request_put": b} for _, b in txn] + [{"request_put": body}]
                rev = mt.Gateway.rev(gw.call("/v3/kv/txn", {"compare": [], "success": ops, "failure": []}))
                for q, _ in txn:
                    q["mod_revision"] = rev
                txn = []
                p["mod_revision"] = rev
                continue
            if "if_value" in p:
                with open(p["if_value"]["value_file"], "rb") as f:
                    expected = f.read()
                compare = {"key": base64.b64encode(p["if_value"]["key"].encode()).decode(), "target": "VALUE", "result": "EQUAL", "value": base64.b64encode(expected).decode()}
                op = [{"request_put": body}]
                p["mod_revision"] = mt.Gateway.rev(gw.call("/v3/kv/txn", {"compare": [compare], "success": op, "failure": op}))
                continue
            p["mod_revision"] = mt.Gateway.rev(gw.call("/v3/kv/put", body))
        gw.close()
        snap = os.path.join(a.out, "snapshot.db")
        code, so, se = mt.run([tools["etcdctl"], "--endpoints", etcd.client_url, "snapshot", "save", snap], {"ETCDCTL_API": "3"})
        if code != 0:
            sys.exit(f"snapshot save failed: {se.decode()}")
        with open(os.path.join(a.out, "puts.json"), "w") as f:
            json.dump(puts, f, indent=1)
        if a.keep_member:
            etcd.stop()
            shutil.copytree(os.path.join(etcd.data_dir, "member"), os.path.join(a.out, "data", "member"))
    finally:
        etcd.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
