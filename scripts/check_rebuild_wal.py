#!/usr/bin/env python3
"""Ground truth for `etcdscope rebuild --wal`: a real etcd 3.5.1 member takes snapshot S, keeps
writing (puts, txns on both branches and nested, range deletes, ignore_value, a put on a missing
lease that etcd refuses, lease grants and revokes, a compaction, reads), and is stopped. Then:
- the stopped member is restarted on its own data dir, and etcd's tools record what it holds;
- etcdscope rebuilds S + that member's WAL (and, with --to-revision, S + WAL up to a revision
  recorded during the writes), real etcd 3.5.1 is started on the result, and the same is recorded.
tests/rebuild.rs compares the recordings. Bind 127.0.0.1 only, free ports, temp dirs; every
etcd is stopped.

    python3 scripts/check_rebuild_wal.py --etcdscope target/release/etcdscope --out /tmp/wal.json
"""
import base64
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_rebuild as cr  # noqa: E402
import make_testdata as mt  # noqa: E402


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def put(key, value, lease=0, **kw):
    body = {"key": b64(key), "value": b64(value)}
    if lease:
        body["lease"] = str(lease)
    body.update(kw)
    return body


def op_put(key, value, **kw):
    return {"request_put": put(key, value, **kw)}


def cmp(key, target, result, **value):
    c = {"key": b64(key), "target": target, "result": result}
    c.update(value)
    return c


def record(m, leases, compact_rev, extra_revs):
    out = m.record()
    out["leases"] = m.ctl_json("lease", "list")
    out["timetolive"] = {}
    for lid in leases:
        p = m.ctl("lease", "timetolive", "%x" % lid, "--keys", "-w", "json", check=False)
        out["timetolive"]["%x" % lid] = json.loads(p.stdout) if p.returncode == 0 else {"error": p.stderr.decode(errors="replace")}
    for name, rev in [("below_compact", compact_rev - 1), ("at_compact", compact_rev)] + extra_revs:
        p = m.ctl("get", "", "--prefix", "--rev", str(rev), "-w", "json", check=False)
        out[name] = {"exit_code": p.returncode, "stdout": json.loads(p.stdout) if p.returncode == 0 else None,
                     "stderr": p.stderr.decode(errors="replace")}
    return out


def main():
    a = cr.script_args().parse_args()
    tools = cr.etcd_351_tools()
    tmp = tempfile.mkdtemp(prefix="etcdscope-rebuild-wal-")
    result = {}
    member = None
    try:
        e = mt.Etcd("3.5.1", tools, tmp, random_ports=True)
        e.start()
        gw = mt.Gateway(e.client_port)
        g = gw.call
        # Phase 1: what the snapshot holds.
        for i in range(20):
            g("/v3/kv/put", put(f"/a/{i}", f"v{i}"))
            g("/v3/kv/put", put(f"/b/{i}", f"w{i}"))
        g("/v3/lease/grant", {"TTL": "3600", "ID": "4096"})
        g("/v3/lease/grant", {"TTL": "3600", "ID": "8192"})
        for i in range(3):
            g("/v3/kv/put", put(f"/leased/{i}", "x", lease=4096))
        snapshot = os.path.join(tmp, "S.db")
        cr.run([tools["etcdctl"], "--endpoints", e.client_url, "snapshot", "save", snapshot])
        # Phase 2: only the WAL holds it.
        g("/v3/kv/put", put("/a/1", "updated"))
        g("/v3/kv/put", put("/c/new", "created"))
        g("/v3/kv/txn", {"compare": [cmp("/a/2", "VERSION", "EQUAL", version="1")],
                         "success": [op_put("/a/2", "txn-success"), {"request_delete_range": {"key": b64("/a/3")}}],
                         "failure": [op_put("/a/2", "wrong-branch")]})
        g("/v3/kv/txn", {"compare": [cmp("/a/4", "VALUE", "EQUAL", value=b64("nope"))],
                         "success": [op_put("/a/4", "wrong-branch")],
                         "failure": [op_put("/a/4", "txn-failure"), {"request_range": {"key": b64("/a/")}}]})
        g("/v3/kv/txn", {"compare": [{"key": b64("/b/"), "range_end": b64("/b0"), "target": "MOD", "result": "LESS", "mod_revision": "100000"}],
                         "success": [op_put("/range-compare", "all-less")], "failure": []})
        g("/v3/kv/txn", {"compare": [], "success": [
            {"request_txn": {"compare": [cmp("/nested", "CREATE", "EQUAL", create_revision="0")],
                             "success": [op_put("/nested", "inner-success")], "failure": [op_put("/nested", "inner-failure")]}},
            op_put("/a/5", "outer")], "failure": []})
        compact_rev = mt.Gateway.rev(g("/v3/kv/put", put("/a/9", "before-compaction")))
        g("/v3/kv/compaction", {"revision": str(compact_rev), "physical": True})
        mid_rev = mt.Gateway.rev(g("/v3/kv/put", put("/a/7", "mid")))
        g("/v3/kv/txn", {"compare": [cmp("/a/8", "VERSION", "GREATER", version="0")],
                         "success": [{"request_range": {"key": b64("/a/8")}}], "failure": []})  # reads only
        g("/v3/kv/deleterange", {"key": b64("/b/"), "range_end": b64("/b0")})
        g("/v3/kv/deleterange", {"key": b64("/does-not-exist")})
        g("/v3/kv/put", put("/a/6", "", lease=8192, ignore_value=True))
        try:
            g("/v3/kv/put", put("/refused", "no-such-lease", lease=999999))
        except RuntimeError as err:
            result["refused_put"] = str(err)[:200]
        g("/v3/lease/grant", {"TTL": "100", "ID": "12288"})
        g("/v3/kv/put", put("/l3/k", "short", lease=12288))
        g("/v3/lease/revoke", {"ID": "4096"})
        g("/v3/lease/revoke", {"ID": "12288"})
        g("/v3/kv/put", put("/a/10", "after-compaction"))
        g("/v3/kv/put", put("/a/10", "again"))
        gw.close()
        e.stop()
        leases = [4096, 8192, 12288]
        extra = [("at_mid", mid_rev)]
        result["marks"] = {"compact": compact_rev, "mid": mid_rev}
        # The stopped member, restarted on its own data dir.
        e.start()
        m = cr.Member(tools, e.data_dir, mt.MEMBER_NAME, e.peer_port, e.client_port)
        m.proc = e.proc
        result["member"] = record(m, leases, compact_rev, extra)
        e.stop()
        # etcdscope: S + the member's WAL, whole and up to the mid revision.
        for label, limit in [("rebuilt", []), ("rebuilt_to_mid", ["--to-revision", str(mid_rev)])]:
            out = os.path.join(tmp, label)
            p = cr.run([a.etcdscope, "rebuild", snapshot, "--wal", e.data_dir, "--out", out, "-o", "json"] + limit)
            result[f"{label}_report"] = json.loads(p.stdout)
            p1, c1 = cr.ports(2)
            member = cr.Member(tools, out, "default", p1, c1)
            member.start()
            if label == "rebuilt":
                result[label] = record(member, leases, compact_rev, extra)
            else:
                result[label] = member.record()
            member.stop()
            member = None
    finally:
        if member:
            member.stop()
        try:
            e.stop()
        except Exception:  # noqa: BLE001 - best effort: never leave etcd running
            pass
        shutil.rmtree(tmp, ignore_errors=True)
    cr.write_result(a.out, result)


if __name__ == "__main__":
    main()
