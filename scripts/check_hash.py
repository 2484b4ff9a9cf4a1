#!/usr/bin/env python3
"""Ground truth for `etcdscope hash`: a real etcd 3.5.1 member writes (puts, updates, deletes,
a txn), `snapshot save` S1 is taken, `etcdctl endpoint hashkv --rev R` is recorded for every
revision R; then the member compacts, S2 is taken, and hashkv is recorded again for every R
(below the compaction etcd refuses). `etcdutl snapshot status` of both snapshots is recorded
too. etcdscope's `hash -o json` of S1 and S2 at the same revisions is recorded beside them;
tests/hash.rs compares. 127.0.0.1, free ports, a temp dir; etcd is always stopped.

    python3 scripts/check_hash.py --etcdscope target/release/etcdscope --out /tmp/hash.json
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_rebuild as cr  # noqa: E402
import make_testdata as mt  # noqa: E402


def hashkv(m, rev):
    p = m.ctl("endpoint", "hashkv", "--rev", str(rev), "-w", "json", check=False)
    if p.returncode != 0:
        return {"exit_code": p.returncode, "stderr": p.stderr.decode(errors="replace")[-300:]}
    h = json.loads(p.stdout)[0]["HashKV"]
    return {"exit_code": 0, "hash": h["hash"], "compact_revision": h.get("compact_revision", 0)}


def ours(a, snapshot, rev):
    p = subprocess.run([a.etcdscope, "hash", snapshot, "--rev", str(rev), "-o", "json"], capture_output=True)
    return {"exit_code": p.returncode, "json": json.loads(p.stdout) if p.returncode == 0 else None,
            "stderr": p.stderr.decode(errors="replace")}


def main():
    a = cr.script_args().parse_args()
    tools = cr.etcd_351_tools()
    tmp = tempfile.mkdtemp(prefix="etcdscope-hash-")
    result = {}
    e = None
    try:
        e = mt.Etcd("3.5.1", tools, tmp, random_ports=True)
        e.start()
        gw = mt.Gateway(e.client_port)
        b64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
        for i in range(30):
            gw.call("/v3/kv/put", {"key": b64(f"/k/{i % 12}"), "value": b64(f"v{i}")})
        gw.call("/v3/kv/deleterange", {"key": b64("/k/3")})
        gw.call("/v3/kv/deleterange", {"key": b64("/k/8"), "range_end": b64("/k/9")})
        gw.call("/v3/kv/txn", {"compare": [], "success": [{"request_put": {"key": b64("/t/a"), "value": b64("1")}},
                                                           {"request_put": {"key": b64("/t/b"), "value": b64("2")}}]})
        gw.call("/v3/kv/put", {"key": b64("/k/3"), "value": b64("again")})
        m = cr.Member(tools, e.data_dir, mt.MEMBER_NAME, e.peer_port, e.client_port)
        current = m.ctl_json("get", "/none")["header"]["revision"]
        for stage in ("uncompacted", "compacted"):
            if stage == "compacted":
                compact = current - 8
                gw.call("/v3/kv/compaction", {"revision": str(compact), "physical": True})
                result["compact"] = compact
            snap = os.path.join(tmp, f"{stage}.db")
            cr.run([tools["etcdctl"], "--endpoints", e.client_url, "snapshot", "save", snap])
            status = json.loads(cr.run([tools["etcdutl"], "snapshot", "status", snap, "-w", "json"]).stdout)
            revs = {}
            for rev in range(0, current + 2):
                revs[str(rev)] = {"etcd": hashkv(m, rev), "ours": ours(a, snap, rev)}
            result[stage] = {"status": status, "revisions": revs}
            if stage == "compacted":
                # For `analyze`: what etcd says is live, what it held at the compaction, and
                # every event after it: together, every revision the snapshot retains.
                result["analyze"] = {
                    "get": m.ctl_json("get", "", "--prefix"),
                    "get_at_compact": m.ctl_json("get", "", "--prefix", "--rev", str(compact)),
                    "events": cr.watch_events(m, tools, compact + 1, current),
                    "ours": json.loads(subprocess.run([a.etcdscope, "analyze", snap, "--by", "prefix:1", "-o", "json", "--top", "3"],
                                                      capture_output=True, check=True).stdout),
                }
        result["current"] = current
        gw.close()
    finally:
        if e:
            e.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    cr.write_result(a.out, result)


if __name__ == "__main__":
    main()
