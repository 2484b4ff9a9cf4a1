#!/usr/bin/env python3
"""Which leases does real etcd have when it starts from this snapshot? Ground truth for how
etcdscope reads the `lease` bucket (tests/export.rs).

Restores SNAPSHOT with etcdutl 3.5.1 (`--skip-hash-check`: the file may be crafted) into a temp
data dir, starts etcd 3.5.1 on it (127.0.0.1, free ports, stopped by its PID), and records
`etcdctl lease list -w json` and, for every lease listed, `etcdctl lease timetolive ID -w json`:

    {"leases": [{"id": <int>, "granted_ttl": <int>}, ...], "log": "<etcd's last log lines>"}

The script decides nothing about the data; the test reading the JSON does.

    python3 scripts/etcd_leases.py --snapshot crafted.db --out /tmp/leases.json \
        [--etcdscope BIN (ignored: tests/common's `recording` passes it)]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import etcd_bins  # noqa: E402
import make_testdata as mt  # noqa: E402

ENV = {k: v for k, v in os.environ.items() if not k.startswith("ETCD")}


def run(argv):
    p = subprocess.run(argv, capture_output=True, env=ENV, timeout=120)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} failed ({p.returncode}): {p.stderr.decode(errors='replace')}")
    return p.stdout


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--snapshot", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--etcdscope")
    a = p.parse_args()
    bins = etcd_bins.find_bins()
    if "3.5.1" not in bins:
        sys.exit("etcd 3.5.1 is not installed")
    tools = {t: os.path.join(bins["3.5.1"], t) for t in ("etcd", "etcdctl", "etcdutl")}
    with tempfile.TemporaryDirectory() as tmp:
        e = mt.Etcd("3.5.1", tools, tmp, random_ports=True)
        run([tools["etcdutl"], "snapshot", "restore", a.snapshot, "--skip-hash-check", "--data-dir", e.data_dir,
             "--name", mt.MEMBER_NAME, "--initial-cluster", f"{mt.MEMBER_NAME}={e.peer_url}",
             "--initial-advertise-peer-urls", e.peer_url, "--initial-cluster-token", mt.CLUSTER_TOKEN])
        leases = []
        try:
            e.start()
            ctl = [tools["etcdctl"], "--endpoints", e.client_url, "-w", "json"]
            listed = json.loads(run(ctl + ["lease", "list"]))
            for lease in listed.get("leases") or []:
                ttl = json.loads(run(ctl + ["lease", "timetolive", format(lease["id"], "x")]))
                leases.append({"id": lease["id"], "granted_ttl": ttl["granted-ttl"], "timetolive": ttl})
        finally:
            e.stop()
            log = e.log_tail(40)
    with open(a.out, "w") as f:
        json.dump({"leases": leases, "log": log}, f, indent=1)


if __name__ == "__main__":
    main()
