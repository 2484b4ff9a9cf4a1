#!/usr/bin/env python3
"""A real 3-member etcd cluster on 127.0.0.1 whose membership changes, for WAL tests.

    python3 scripts/make_wal_cluster.py --version 3.5.1 --out DIR

Starts members m0, m1, m2 (free ports, temp data dirs, --snapshot-count 10), puts through m0,
removes a follower (m2, or m1 when m2 leads; ground.json names the survivors) and stops it, adds m3 and starts it with --initial-cluster-state existing, puts
again, then stops every member. DIR/<name>/member/wal holds each member's WAL (segments cut 4096
bytes after their last record), DIR/<name>/db its db, DIR/ground.json the etcdctl answers (`-w json`): the member
lists, the removed and added IDs, and each put's revision and raft term.
Only the Python standard library is used; every process binds to 127.0.0.1 and is stopped.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcd_bins  # noqa: E402
import make_testdata as mt  # noqa: E402
from make_wal import last_record_end  # noqa: E402


class Member:
    def __init__(self, name, etcd, tmp):
        self.name, self.etcd = name, etcd
        self.dir = os.path.join(tmp, name)
        self.client, self.peer = mt.free_port(), mt.free_port()
        while self.peer == self.client:
            self.peer = mt.free_port()
        self.client_url = f"http://127.0.0.1:{self.client}"
        self.peer_url = f"http://127.0.0.1:{self.peer}"
        self.proc = None

    def start(self, cluster, state):
        os.makedirs(self.dir, exist_ok=True)
        args = [self.etcd, "--name", self.name, "--data-dir", os.path.join(self.dir, "data"),
                "--listen-client-urls", self.client_url, "--advertise-client-urls", self.client_url,
                "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
                "--initial-cluster", cluster, "--initial-cluster-state", state,
                "--initial-cluster-token", "etcdscope-wal-cluster", "--snapshot-count", "10"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD")}
        self.log = open(os.path.join(self.dir, "etcd.log"), "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def healthy(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.client, timeout=2)
                c.request("GET", "/health")
                r = c.getresponse()
                ok = r.status == 200 and json.loads(r.read()).get("health") == "true"
                c.close()
                if ok:
                    return
            except (OSError, http.client.HTTPException, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not become healthy")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self.proc = None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True, choices=["3.5.1", "3.4.23"])
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    bins = etcd_bins.find_bins()
    if a.version not in bins:
        sys.exit(f"etcd {a.version} not installed: run scripts/install-etcd.sh")
    etcd, etcdctl = os.path.join(bins[a.version], "etcd"), os.path.join(bins[a.version], "etcdctl")
    tmp = tempfile.mkdtemp(prefix="etcdscope-cluster-")
    members = {n: Member(n, etcd, tmp) for n in ["m0", "m1", "m2", "m3"]}
    ground = {"version": a.version, "puts": []}

    def ctl(endpoint, *args):
        # Membership changes are refused ("unhealthy cluster") until every member has been
        # connected for etcd's health interval (5 s): retry for a while.
        for attempt in range(30):
            code, so, se = mt.run([etcdctl, "--endpoints", endpoint, *args, "-w", "json"], {"ETCDCTL_API": "3"})
            if code == 0:
                return json.loads(so)
            retriable = any(m in se for m in [b"unhealthy cluster", b"context deadline exceeded", b"leader changed", b"no leader"])
            if not retriable or attempt == 29:
                raise RuntimeError(f"etcdctl {' '.join(args)}: {se.decode()}")
            time.sleep(1)

    def put(endpoint, key, value):
        r = ctl(endpoint, "put", key, value)
        ground["puts"].append({"key": key, "value": value, "revision": r["header"]["revision"], "raft_term": r["header"]["raft_term"]})

    try:
        first = ["m0", "m1", "m2"]
        cluster = ",".join(f"{n}={members[n].peer_url}" for n in first)
        for n in first:
            members[n].start(cluster, "new")
        for n in first:
            members[n].healthy()
        ep = members["m0"].client_url
        ground["members_before"] = ctl(ep, "member", "list")["members"]
        for i in range(15):
            put(ep, f"before/{i:02d}", f"v{i}")
        # Remove a follower, m2 or else m1 (removing the leader would start an election in the
        # middle of the scenario); m0 stays and is where the puts go.
        leader = ctl(ep, "endpoint", "status")[0]["Status"]["leader"]
        ids = {m["name"]: m["ID"] for m in ground["members_before"]}
        victim = "m2" if ids["m2"] != leader else "m1"
        survivors = ["m0", "m1" if victim == "m2" else "m2", "m3"]
        removed = ids[victim]
        ctl(ep, "member", "remove", f"{removed:x}")
        members[victim].stop()
        ground["removed"] = removed
        ground["survivors"] = survivors
        added = ctl(ep, "member", "add", "m3", f"--peer-urls={members['m3'].peer_url}")
        ground["added"] = added["member"]["ID"]
        cluster = ",".join(f"{n}={members[n].peer_url}" for n in survivors)
        members["m3"].start(cluster, "existing")
        members["m3"].healthy()
        for i in range(15):
            put(ep, f"after/{i:02d}", f"v{i}")
        ground["members_after"] = ctl(ep, "member", "list")["members"]
        ground["status"] = ctl(",".join(members[n].client_url for n in survivors), "endpoint", "status")
        for m in members.values():
            m.stop()
        for n in survivors:
            src = os.path.join(members[n].dir, "data", "member", "wal")
            dst = os.path.join(a.out, n, "member", "wal")
            shutil.rmtree(os.path.join(a.out, n), ignore_errors=True)
            os.makedirs(dst)
            for f in sorted(os.listdir(src)):
                if f.endswith(".wal"):
                    data = open(os.path.join(src, f), "rb").read()
                    open(os.path.join(dst, f), "wb").write(data[: last_record_end(data) + 4096])
            # The member's db beside (not in) its member dir, so the WAL is read on its own.
            shutil.copyfile(os.path.join(members[n].dir, "data", "member", "snap", "db"), os.path.join(a.out, n, "db"))
        with open(os.path.join(a.out, "ground.json"), "w") as f:
            json.dump(ground, f, indent=1)
    finally:
        for m in members.values():
            m.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
