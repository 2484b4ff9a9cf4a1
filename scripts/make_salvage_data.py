#!/usr/bin/env python3
"""Writes testdata/salvage-3.5.1/: a real etcd 3.5.1 snapshot whose free pages hold what
compactions removed, for the salvage tests (tests/salvage.rs).

    python3 scripts/make_salvage_data.py --out testdata/salvage-3.5.1

One member is started (127.0.0.1, free ports, a temp dir; make_testdata.py's Etcd and Gateway),
and, through the JSON gateway:
  1. 300 objects /obj/NNN written in three txns of 100, then each rewritten once;
  2. every third deleted, then a compaction at the current revision;
  3. 200 keys /later/NNN written one by one (pages freed by the compaction are reused);
  4. another third of the objects deleted, a second compaction;
  5. 100 keys /last/NNN written one by one;
then `etcdctl snapshot save` → deleted.db. Pages the compactions freed still hold puts of the
deleted objects while the pages that held their tombstones were reused: the case where a
salvage that trusted free pages brought deleted objects back. meta.json records the
revisions and `etcdutl snapshot status`. Nothing here is decided by etcdscope.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import etcd_bins  # noqa: E402
import make_testdata as mt  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    tools = etcd_bins.tools_or_exit("3.5.1")
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="etcdscope-salvage-data-")
    etcd = mt.Etcd("3.5.1", tools, tmp, random_ports=True)
    marks = {}
    try:
        etcd.start()
        gw = mt.Gateway(etcd.client_port)
        objects = [b"/obj/%03d" % i for i in range(300)]
        for chunk in range(0, 300, 100):
            gw.txn([("put", k, b"first " + k + b" " + b"x" * 40) for k in objects[chunk:chunk + 100]], summarize=True)
        for k in objects:
            gw.put(k, b"second " + k + b" " + b"y" * 40)
        for k in objects[::3]:
            gw.delete(k)
        marks["first_compaction"] = gw.current_rev()
        gw.compact(marks["first_compaction"])
        for i in range(200):
            gw.put(b"/later/%03d" % i, b"later %03d " % i + b"z" * 40)
        for k in objects[1::3]:
            gw.delete(k)
        marks["second_compaction"] = gw.current_rev()
        gw.compact(marks["second_compaction"])
        for i in range(100):
            gw.put(b"/last/%03d" % i, b"last %03d " % i + b"w" * 40)
        marks["revision"] = gw.current_rev()
        gw.close()
        snap = os.path.join(out, "deleted.db")
        code, _, err = mt.run([tools["etcdctl"], "--endpoints", etcd.client_url, "snapshot", "save", snap])
        if code != 0:
            raise RuntimeError(f"snapshot save failed: {err.decode()}")
        os.chmod(snap, 0o644)
        if os.path.exists(snap + ".part"):
            os.remove(snap + ".part")
        code, status, err = mt.run([tools["etcdutl"], "snapshot", "status", snap, "-w", "json"])
        if code != 0:
            raise RuntimeError(f"snapshot status failed: {err.decode()}")
        meta = {"etcd_version": "3.5.1", "marks": marks, "snapshot_status": json.loads(status),
                "writes": len(gw.log)}
        with open(os.path.join(out, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
    finally:
        etcd.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
