#!/usr/bin/env python3
"""Ground truth for `etcdscope compare`: three real etcd 3.5.1 members (each its own one-member
cluster) get the same writes, except that B writes another value for one key and C stops three
writes early. Each takes `snapshot save`; for the newest revision all three hold, etcdctl's
`get "" --prefix --rev R -w json` and `endpoint hashkv --rev R` are recorded from each member,
and `etcdscope compare A B C -o json` of the snapshots beside them (tests/compare.rs compares).
127.0.0.1, free ports, temp dirs; every etcd is stopped.

    python3 scripts/check_compare.py --etcdscope target/release/etcdscope --out /tmp/compare.json
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


def main():
    a = cr.script_args().parse_args()
    tools = cr.etcd_351_tools()
    tmp = tempfile.mkdtemp(prefix="etcdscope-compare-")
    members, result = [], {"members": {}}
    try:
        b64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
        writes = [(f"/k/{i:02}", f"value-{i}") for i in range(20)]
        for name, changed, stop in [("a", None, len(writes)), ("b", 7, len(writes)), ("c", None, len(writes) - 3)]:
            d = os.path.join(tmp, name)
            os.makedirs(d)
            e = mt.Etcd("3.5.1", tools, d, random_ports=True)
            members.append(e)
            e.start()
            gw = mt.Gateway(e.client_port)
            for i, (k, v) in enumerate(writes[:stop]):
                gw.call("/v3/kv/put", {"key": b64(k), "value": b64("changed" if i == changed else v)})
            gw.close()
            snap = os.path.join(tmp, f"{name}.db")
            cr.run([tools["etcdctl"], "--endpoints", e.client_url, "snapshot", "save", snap])
            result["members"][name] = {"snapshot": snap, "client": e.client_url}
        common = len(writes) - 3 + 1  # revision 1 is the empty store's
        result["common"] = common
        for name, e in zip("abc", members):
            m = cr.Member(tools, e.data_dir, mt.MEMBER_NAME, e.peer_port, e.client_port)
            rec = result["members"][name]
            rec["get_at_common"] = m.ctl_json("get", "", "--prefix", "--rev", str(common))
            rec["hashkv"] = json.loads(m.ctl("endpoint", "hashkv", "--rev", str(common), "-w", "json").stdout)[0]["HashKV"]["hash"]
            rec["status"] = m.ctl_json("endpoint", "status")[0]["Status"]
        snaps = [result["members"][n]["snapshot"] for n in "abc"]
        p = subprocess.run([a.etcdscope, "compare", *snaps, "--allow-different-clusters", "-o", "json"], capture_output=True)
        result["ours"] = {"exit_code": p.returncode, "json": json.loads(p.stdout) if p.stdout else None, "stderr": p.stderr.decode(errors="replace")}
    finally:
        for e in members:
            e.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    cr.write_result(a.out, result)


if __name__ == "__main__":
    main()
