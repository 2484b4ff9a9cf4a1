#!/usr/bin/env python3
"""Make a real etcd WAL with known contents, and record the ground truth from etcd's own tools.

    python3 scripts/make_wal.py --version 3.5.1 --out DIR [--trim]

Starts one etcd of that version on 127.0.0.1 (free ports, temp data dir, --snapshot-count 20 so
snapshot records appear), then through etcdctl: puts, a delete, a txn, a lease grant / leased put
/ revoke, a compaction, a learner member added and removed (conf changes), a user and role with
auth enabled, puts made as that user, auth disabled, and 30 more puts. Each etcdctl answer is
kept (`-w json` where etcdctl has it). Then `etcdctl watch --rev 1 --prefix "" -w json` gives
every PUT/DELETE event, and `endpoint status -w json` the raft index and term. etcd is stopped.

DIR/member/{wal,snap}: the member's WAL segments, .snap files and db (with --trim, each segment is
cut 4096 bytes after its last record: the zero-filled preallocation is 64,000,000 bytes);
DIR/ground.json: the actions with etcd's answers, the watch events and the endpoint status.
Only the Python standard library is used; etcd binds to 127.0.0.1 only and is always stopped.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcd_bins  # noqa: E402
import make_testdata as mt  # noqa: E402

PASSWORD = "s3cret-wal-pw"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True, choices=["3.5.1", "3.4.23"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--trim", action="store_true")
    ap.add_argument("--k8s-value", help="a stored Kubernetes value (e.g. a fixture .pb) to put, through the gateway")
    ap.add_argument("--k8s-key", help="the key to put --k8s-value under")
    ap.add_argument("--big-puts", type=int, default=0,
                    help="end with this many 1,000,000-byte puts (66 make etcd cut a second segment)")
    a = ap.parse_args()
    bins = etcd_bins.find_bins()
    if a.version not in bins:
        sys.exit(f"etcd {a.version} not installed: run scripts/install-etcd.sh")
    d = bins[a.version]
    tools = {"etcd": os.path.join(d, "etcd"), "etcdctl": os.path.join(d, "etcdctl")}
    tmp = tempfile.mkdtemp(prefix="etcdscope-wal-")
    etcd = mt.Etcd(a.version, tools, tmp, random_ports=True)
    etcd.extra_args = ["--snapshot-count", "20"]
    actions = []

    def ctl(*args, user=None, json_out=True, check=True):
        argv = [tools["etcdctl"], "--endpoints", etcd.client_url]
        if user:
            argv += ["--user", user]
        argv += list(args)
        if json_out:
            argv += ["-w", "json"]
        code, so, se = mt.run(argv, {"ETCDCTL_API": "3"})
        if check and code != 0:
            raise RuntimeError(f"etcdctl {' '.join(args)} failed: {se.decode()}")
        out = so.decode()
        entry = {"args": list(args), "user": user is not None, "code": code}
        if json_out:
            try:
                entry["response"] = json.loads(out)
            except ValueError:
                entry["stdout"] = out
        else:
            entry["stdout"] = out
        actions.append(entry)
        return entry

    try:
        etcd.start()
        ctl("put", "foo", "bar")
        ctl("put", "/registry/x", "y")
        ctl("del", "foo")
        # txn: the compare holds, so the success branch runs.
        argv = [tools["etcdctl"], "--endpoints", etcd.client_url, "txn", "-w", "json"]
        p = subprocess.run(argv, input=b'value("/registry/x") = "y"\n\nput a 1\ndel /registry/x\n\n\n', capture_output=True, env={"ETCDCTL_API": "3"}, timeout=60)
        if p.returncode != 0:
            raise RuntimeError(p.stderr.decode())
        actions.append({"args": ["txn"], "user": False, "code": 0, "response": json.loads(p.stdout)})
        lease = ctl("lease", "grant", "600")["response"]["ID"]
        ctl("put", "leased", "v", f"--lease={lease:x}")
        ctl("lease", "revoke", f"{lease:x}", json_out=False)
        compact_rev = rev = ctl("put", "before-compaction", "1")["response"]["header"]["revision"]
        ctl("compaction", str(rev), json_out=False)
        learner = ctl("member", "add", "learner", "--learner", f"--peer-urls=http://127.0.0.1:{mt.free_port()}")["response"]["member"]["ID"]
        ctl("member", "remove", f"{learner:x}", json_out=False)
        ctl("role", "add", "root", json_out=False)
        ctl("user", "add", f"root:{PASSWORD}", json_out=False)
        ctl("user", "grant-role", "root", "root", json_out=False)
        ctl("auth", "enable", json_out=False)
        ctl("put", "authed", "as-root", user=f"root:{PASSWORD}")
        ctl("auth", "disable", user=f"root:{PASSWORD}", json_out=False)
        if a.k8s_value:
            with open(a.k8s_value, "rb") as f:
                value = f.read()
            gw = mt.Gateway(etcd.client_port)
            rev = gw.put(a.k8s_key.encode(), value)
            gw.close()
            actions.append({"args": ["gateway-put", a.k8s_key], "value_file": os.path.abspath(a.k8s_value), "revision": rev})
        for i in range(30):
            ctl("put", f"k{i:02d}", f"value-{i}")
        if a.big_puts:
            gw = mt.Gateway(etcd.client_port)
            for i in range(a.big_puts):
                key = f"big/{i:03d}"
                gw.put(key.encode(), (f"{i:03d}" * 333_334)[:1_000_000].encode())
                actions.append({"args": ["big-put", key], "len": 1_000_000})
            gw.close()
            # Enough entries after the cut for a snapshot marker in the new segment too.
            for i in range(25):
                ctl("put", f"after-cut/{i:02d}", f"v{i}")
        # Every event from revision 1 (the compaction keeps none of the old revisions' history,
        # so watch from the compact revision on and keep the puts before it from the answers).
        rev = compact_rev
        argv = [tools["etcdctl"], "--endpoints", etcd.client_url, "watch", "--rev", str(rev), "--prefix", "", "-w", "json"]
        try:
            w = subprocess.run(argv, capture_output=True, env={"ETCDCTL_API": "3"}, timeout=3)
            watch_out = w.stdout
        except subprocess.TimeoutExpired as e:
            watch_out = e.stdout or b""
        events = []
        for line in watch_out.decode().splitlines():
            line = line.strip()
            if line.startswith("{"):
                for ev in json.loads(line).get("Events") or []:
                    events.append(ev)
        status = ctl("endpoint", "status")["response"]
        etcd.stop()
        src = os.path.join(etcd.data_dir, "member")
        dst = os.path.join(a.out, "member")
        shutil.rmtree(dst, ignore_errors=True)
        os.makedirs(os.path.join(dst, "wal"))
        os.makedirs(os.path.join(dst, "snap"))
        for name in sorted(os.listdir(os.path.join(src, "wal"))):
            if not name.endswith(".wal"):
                continue
            with open(os.path.join(src, "wal", name), "rb") as f:
                data = f.read()
            if a.trim:
                data = data[: last_record_end(data) + 4096]
            with open(os.path.join(dst, "wal", name), "wb") as f:
                f.write(data)
        for name in sorted(os.listdir(os.path.join(src, "snap"))):
            if name.endswith(".snap") or name == "db":
                shutil.copy(os.path.join(src, "snap", name), os.path.join(dst, "snap", name))
        ground = {"version": a.version, "password": PASSWORD, "lease": lease, "learner": learner,
                  "compact_revision": rev, "actions": actions, "watch_from": rev, "events": events, "status": status}
        with open(os.path.join(a.out, "ground.json"), "w") as f:
            json.dump(ground, f, indent=1)
    finally:
        etcd.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def last_record_end(data):
    """Offset after the last framed record (the first zero length word), by the framing alone."""
    pos = 0
    while pos + 8 <= len(data):
        word = int.from_bytes(data[pos:pos + 8], "little")
        n = word & ((1 << 56) - 1)
        pad = (word >> 56) & 7 if word >> 63 else 0
        if n == 0:
            return pos
        pos += 8 + n + pad
    return min(pos, len(data))


if __name__ == "__main__":
    main()
