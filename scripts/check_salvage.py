#!/usr/bin/env python3
"""Ground truth for `etcdscope salvage`: what real etcd 3.5.1 answers about an original snapshot
and about salvaged copies of it, recorded side by side (tests/salvage.rs compares them; this
script decides nothing and runs no etcdscope).

    python3 scripts/check_salvage.py --etcdscope target/checked/etcdscope --out /tmp/s.json \
        --original testdata/etcd-3.5.1/snapshot.db --salvaged a.db --salvaged b.db

Each file is restored with `etcdutl snapshot restore` into its own temp dir and started with the
real etcd binary on 127.0.0.1 (free ports). Recorded per salvaged file: `etcdutl snapshot status
-w json` of the file, and `etcdctl get "" --prefix -w json` at its own current revision; and the
original's `get "" --prefix -w json` at that same revision (the original member keeps running
while the salvaged ones are read). With `--probe-rev R` (repeatable), what each member answers
to `get "" --prefix --keys-only --rev R` is recorded too, as "probes": {"R": {"count": N} or
{"error": "..."}} (e.g. "required revision has been compacted"): where etcd puts the
compaction. A file etcd cannot restore or start is recorded with the error. Every etcd started
here is stopped by its PID.
"""
import argparse
import json
import os
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
        raise RuntimeError(f"{os.path.basename(argv[0])} {' '.join(argv[1:3])} failed ({p.returncode}): {p.stderr.decode(errors='replace')}")
    return p


class Member:
    """A snapshot restored by etcdutl into `data_dir` and served by one etcd process."""

    def __init__(self, tools, snapshot, data_dir, skip_hash_check=False):
        self.tools, self.data_dir = tools, data_dir
        peer_port, client_port = mt.free_port(), mt.free_port()
        while client_port == peer_port:
            client_port = mt.free_port()
        self.peer, self.client = f"http://127.0.0.1:{peer_port}", f"http://127.0.0.1:{client_port}"
        run([tools["etcdutl"], "snapshot", "restore", snapshot, "--data-dir", data_dir, "--name", "s",
             "--initial-cluster", f"s={self.peer}", "--initial-advertise-peer-urls", self.peer]
            + (["--skip-hash-check"] if skip_hash_check else []))
        self.log = open(data_dir + ".log", "wb")
        self.proc = subprocess.Popen(
            [tools["etcd"], "--name", "s", "--data-dir", data_dir, "--listen-client-urls", self.client,
             "--advertise-client-urls", self.client, "--listen-peer-urls", self.peer,
             "--initial-advertise-peer-urls", self.peer, "--initial-cluster", f"s={self.peer}", "--logger", "zap"],
            stdout=self.log, stderr=subprocess.STDOUT, env=ENV, start_new_session=True)
        deadline = time.time() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"etcd exited ({self.proc.returncode}): {self.tail()}")
            p = run([tools["etcdctl"], "--endpoints", self.client, "endpoint", "health", "-w", "json"], check=False)
            if p.returncode == 0 and json.loads(p.stdout)[0].get("health"):
                return
            if time.time() > deadline:
                raise RuntimeError(f"etcd not healthy: {self.tail()}")
            time.sleep(0.3)

    def tail(self):
        try:
            return open(self.data_dir + ".log", "rb").read().decode(errors="replace")[-2000:]
        except OSError:
            return ""

    def get(self, rev=None):
        argv = [self.tools["etcdctl"], "--endpoints", self.client, "get", "", "--prefix", "-w", "json"]
        if rev is not None:
            argv += ["--rev", str(rev)]
        return json.loads(run(argv).stdout)

    def probes(self, revs):
        """What a read at each revision in `revs` answers: a count, or etcdctl's error."""
        out = {}
        for rev in revs:
            p = run([self.tools["etcdctl"], "--endpoints", self.client, "get", "", "--prefix", "--keys-only",
                     "-w", "json", "--rev", str(rev)], check=False)
            if p.returncode == 0:
                out[str(rev)] = {"count": json.loads(p.stdout).get("count", 0)}
            else:
                out[str(rev)] = {"error": p.stderr.decode(errors="replace").strip().splitlines()[-1]}
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def status(tools, path):
    p = run([tools["etcdutl"], "snapshot", "status", path, "-w", "json"], check=False)
    return json.loads(p.stdout) if p.returncode == 0 else {"error": p.stderr.decode(errors="replace")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--etcdscope", required=True, help="unused: the test runs salvage itself")
    ap.add_argument("--out", required=True)
    ap.add_argument("--original", required=True)
    ap.add_argument("--salvaged", action="append", default=[])
    ap.add_argument("--probe-rev", action="append", type=int, default=[])
    ap.add_argument("--original-without-trailer", action="store_true",
                    help="restore the original with --skip-hash-check (a crafted db has no sha256 trailer)")
    a = ap.parse_args()
    bins = etcd_bins.find_bins()
    if "3.5.1" not in bins:
        sys.exit("etcd 3.5.1 is not installed (scripts/install-etcd.sh)")
    tools = etcd_bins.tools("3.5.1", bins["3.5.1"])
    result = {"original": {"status": status(tools, a.original)}, "salvaged": []}
    with tempfile.TemporaryDirectory(prefix="check-salvage-") as tmp:
        original = Member(tools, a.original, os.path.join(tmp, "original"), a.original_without_trailer)
        result["original"]["get"] = original.get()
        result["original"]["probes"] = original.probes(a.probe_rev)
        try:
            for i, path in enumerate(a.salvaged):
                rec = {"file": path, "status": status(tools, path)}
                try:
                    m = Member(tools, path, os.path.join(tmp, f"salvaged-{i}"))
                except RuntimeError as e:
                    rec["error"] = str(e)
                else:
                    try:
                        rec["get"] = m.get()
                        rec["probes"] = m.probes(a.probe_rev)
                    finally:
                        m.stop()
                    rev = rec["get"]["header"]["revision"]
                    try:
                        rec["originalGet"] = original.get(rev)
                        rec["originalRevision"] = rev
                    except RuntimeError as e:
                        if "compacted" not in str(e):
                            raise
                        # The salvaged file ends below the original's compaction: the original
                        # can only be read at its current revision.
                        rec["originalGet"] = original.get()
                        rec["originalRevision"] = rec["originalGet"]["header"]["revision"]
                result["salvaged"].append(rec)
        finally:
            original.stop()
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
