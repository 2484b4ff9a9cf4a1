#!/usr/bin/env python3
"""Ground truth for `etcdscope rebuild`: the same snapshot restored by real etcdutl 3.5.1 and
rebuilt by etcdscope, each started with the real etcd 3.5.1 binary, and what etcd's own tools
answer about both recorded side by side (tests/rebuild.rs compares them; this script decides
nothing).

    python3 scripts/check_rebuild.py --etcdscope target/release/etcdscope \
        --snapshot testdata/etcd-3.5.1/snapshot.db --out /tmp/rebuild.json

Scenarios (each member on 127.0.0.1, free ports, its own temp dir; every etcd is stopped):
- default:   no flags (etcdutl's defaults: member "default", http://localhost:2380, token etcd-cluster)
- named:     --name n1 --initial-cluster n1=<peer> --initial-cluster-token tok --initial-advertise-peer-urls <peer>
- to-revision R (--to-revision): ours at R; etcdutl's full restore asked `get --rev R`
- bump:      --bump-revision 1000 --mark-compacted: revision, keys, and the refused read below it
- cluster3:  three members rebuilt for one new cluster and started together
Recorded per started member: `get "" --prefix -w json`, `member list -w json`,
`endpoint status -w json`, and `etcdutl snapshot status -w json` of the db before the start.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import etcd_bins  # noqa: E402
import make_testdata as mt  # noqa: E402

ENV = {k: v for k, v in os.environ.items() if not k.startswith("ETCD")}


def run(argv, check=True):
    p = subprocess.run(argv, capture_output=True, env=ENV, timeout=180)
    if check and p.returncode != 0:
        raise RuntimeError(f"{argv[0]} {' '.join(argv[1:3])} failed ({p.returncode}): {p.stderr.decode(errors='replace')}")
    return p


class Member:
    """One etcd 3.5.1 process on an existing data dir (restored or rebuilt)."""

    def __init__(self, tools, data_dir, name, peer_port, client_port, cluster=None):
        self.tools, self.data_dir, self.name = tools, data_dir, name
        self.peer = f"http://127.0.0.1:{peer_port}"
        self.client = f"http://127.0.0.1:{client_port}"
        self.client_port = client_port
        self.cluster = cluster or f"{name}={self.peer}"
        self.proc = None

    def start(self, wait=True):
        argv = [self.tools["etcd"], "--name", self.name, "--data-dir", self.data_dir,
                "--listen-client-urls", self.client, "--advertise-client-urls", self.client,
                "--listen-peer-urls", self.peer, "--initial-advertise-peer-urls", self.peer,
                "--initial-cluster", self.cluster, "--logger", "zap"]
        self.log = open(self.data_dir + ".log", "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=ENV, start_new_session=True)
        if wait:
            self.wait_healthy()

    def wait_healthy(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"etcd {self.name} exited ({self.proc.returncode}); log {self.data_dir}.log:\n" + self.tail())
            p = run([self.tools["etcdctl"], "--endpoints", self.client, "endpoint", "health", "-w", "json"], check=False)
            if p.returncode == 0 and json.loads(p.stdout)[0].get("health"):
                return
            time.sleep(0.3)
        raise RuntimeError(f"etcd {self.name} not healthy:\n" + self.tail())

    def tail(self):
        try:
            return open(self.data_dir + ".log", "rb").read().decode(errors="replace")[-3000:]
        except OSError:
            return ""

    def ctl(self, *args, check=True):
        p = run([self.tools["etcdctl"], "--endpoints", self.client, *args], check=check)
        return p

    def ctl_json(self, *args):
        return json.loads(self.ctl(*args, "-w", "json").stdout)

    def record(self):
        return {
            "get": self.ctl_json("get", "", "--prefix"),
            "members": self.ctl_json("member", "list"),
            "status": self.ctl_json("endpoint", "status"),
        }

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()


def etcd_351_tools():
    """etcd, etcdctl and etcdutl 3.5.1, or exit saying how to install them."""
    bins = etcd_bins.find_bins()
    if "3.5.1" not in bins:
        sys.exit("etcd 3.5.1 is not installed (scripts/install-etcd.sh)")
    return etcd_bins.tools("3.5.1", bins["3.5.1"])


def script_args():
    """--etcdscope BIN --out JSON, plus what `more` adds to the parser."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--etcdscope", required=True)
    ap.add_argument("--out", required=True)
    return ap


def write_result(path, result):
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")


def watch_events(m, tools, from_rev, last_rev, prefix=""):
    """Every event from `from_rev` on, as `etcdctl watch --rev` streams them."""
    w = subprocess.Popen([tools["etcdctl"], "--endpoints", m.client, "watch", prefix, "--prefix", "--rev", str(from_rev), "-w", "json"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV)
    events = []
    try:
        while True:
            line = w.stdout.readline()
            if not line:
                break
            if line.strip().startswith(b"{"):
                events.extend(json.loads(line).get("Events") or [])
                if events and events[-1]["kv"]["mod_revision"] >= last_rev:
                    break
    finally:
        w.terminate()
        w.communicate(timeout=30)
    return events


def ports(n):
    out = set()
    while len(out) < n:
        out.add(mt.free_port())
    return list(out)


def db_status(tools, data_dir):
    p = run([tools["etcdutl"], "snapshot", "status", os.path.join(data_dir, "member/snap/db"), "-w", "json"])
    return json.loads(p.stdout)


def restore_flags(name, peer, cluster, token):
    flags = ["--name", name, "--initial-cluster", cluster, "--initial-advertise-peer-urls", peer]
    return flags + (["--initial-cluster-token", token] if token else [])


def pair(a, tools, tmp, label, flags, name, peer_port, client_ports, extra, queries=()):
    """etcdutl restore and etcdscope rebuild with the same flags, each started and recorded."""
    out = {"flags": flags, "extra": extra}
    for who, client_port in zip(("etcdutl", "etcdscope"), client_ports):
        d = os.path.join(tmp, f"{label}-{who}")
        if who == "etcdutl":
            run([tools["etcdutl"], "snapshot", "restore", a.snapshot, "--data-dir", d] + flags)
        else:
            p = run([a.etcdscope, "rebuild", a.snapshot, "--out", d, "-o", "json"] + flags + extra)
            out["rebuild"] = json.loads(p.stdout)
        out[who] = {"dbStatus": db_status(tools, d), "files": sorted(
            [os.path.relpath(os.path.join(r, f), d), oct(os.stat(os.path.join(r, f)).st_mode & 0o777),
             os.path.getsize(os.path.join(r, f)), mt.sha256_file(os.path.join(r, f))]
            for r, _, fs in os.walk(d) for f in fs),
            "dirs": sorted([os.path.relpath(r, d), oct(os.stat(r).st_mode & 0o777)] for r, _, _ in os.walk(d))}
        m = Member(tools, d, name, peer_port, client_port)
        try:
            m.start()
            out[who].update(m.record())
            for qname, args, must_fail in queries:
                if who == "etcdscope" and qname.startswith("etcdutl:"):
                    continue
                p = m.ctl(*args, check=False)
                out[who].setdefault("queries", {})[qname] = {
                    "exit_code": p.returncode,
                    "stdout": json.loads(p.stdout) if p.returncode == 0 and "-w" in args else p.stdout.decode(errors="replace"),
                    "stderr": p.stderr.decode(errors="replace"),
                }
        finally:
            m.stop()
    return out


def main():
    ap = script_args()
    ap.add_argument("--snapshot", required=True)
    ap.add_argument("--to-revision", type=int, help="also the to-revision scenario at this revision")
    ap.add_argument("--no-cluster3", action="store_true")
    a = ap.parse_args()
    a.snapshot = os.path.abspath(a.snapshot)
    tools = etcd_351_tools()
    tmp = tempfile.mkdtemp(prefix="etcdscope-rebuild-")
    result = {"snapshot": os.path.basename(a.snapshot)}
    try:
        p1, c1, c2 = ports(3)
        # etcdutl's defaults: the member advertises http://localhost:2380 (not listened on here;
        # a one-member cluster never dials its own peer URL).
        result["default"] = pair(a, tools, tmp, "default", [], "default", p1, (c1, c2), [])
        result["default"]["note"] = "started with --listen-peer-urls on a free port"
        peer = f"http://127.0.0.1:{p1}"
        named = restore_flags("n1", peer, f"n1={peer}", "tok")
        result["named"] = pair(a, tools, tmp, "named", named, "n1", p1, (c1, c2), [])
        if a.to_revision:
            r = str(a.to_revision)
            q = [("etcdutl:get-at", ("get", "", "--prefix", "--rev", r, "-w", "json"), False)]
            result["to_revision"] = pair(a, tools, tmp, "torev", named, "n1", p1, (c1, c2), ["--to-revision", r], q)
            result["to_revision"]["revision"] = a.to_revision
        src_rev = json.loads(run([tools["etcdutl"], "snapshot", "status", a.snapshot, "-w", "json"]).stdout)["revision"]
        q = [("below", ("get", "", "--prefix", "--rev", str(src_rev), "-w", "json"), True)]
        result["bump"] = pair(a, tools, tmp, "bump", named, "n1", p1, (c1, c2), ["--bump-revision", "1000", "--mark-compacted"], q)
        result["bump"]["source_revision"] = src_rev
        if not a.no_cluster3:
            pp = ports(3)
            cp = ports(3)
            peers = [f"http://127.0.0.1:{x}" for x in pp]
            cluster = ",".join(f"m{i}={u}" for i, u in enumerate(peers))
            members = []
            try:
                for i in range(3):
                    d = os.path.join(tmp, f"c3-m{i}")
                    run([a.etcdscope, "rebuild", a.snapshot, "--out", d, "--name", f"m{i}", "--initial-cluster", cluster,
                         "--initial-cluster-token", "c3", "--initial-advertise-peer-urls", peers[i]])
                    members.append(Member(tools, d, f"m{i}", pp[i], cp[i], cluster))
                for m in members:
                    m.start(wait=False)
                for m in members:
                    m.wait_healthy()
                result["cluster3"] = {
                    "health": [json.loads(m.ctl("endpoint", "health", "-w", "json").stdout)[0] for m in members],
                    "status": [m.ctl_json("endpoint", "status")[0] for m in members],
                    "members": members[0].ctl_json("member", "list"),
                    "get": [m.ctl_json("get", "", "--prefix") for m in members],
                }
                # A write through one member is read from the others: the cluster replicates.
                members[0].ctl("put", "/rebuild-check", "replicated")
                result["cluster3"]["after_put"] = [json.loads(m.ctl("get", "/rebuild-check", "-w", "json", "--consistency", "l").stdout) for m in members]
            finally:
                for m in members:
                    m.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_result(a.out, result)


if __name__ == "__main__":
    main()
