#!/usr/bin/env python3
"""Hostile and historied data for the web UI's browser tests (tests/ui_*.rs), written through
REAL etcd 3.5.1.

    python3 scripts/make_ui_data.py --out testdata/ui-3.5.1

Keys, names, labels and values that would run as script if a page did not escape them:
`<script>` and `"><img src=x onerror=...>` in a ConfigMap's name, label, annotation and data,
in keys outside /registry, and in a key that is not UTF-8. A Secret whose value is a marker the
pages must never show without --show-secrets. An object with history: created, updated three
times, deleted, created again (two incarnations), updated once more. Objects are JSON, as
kube-apiserver stores them with --storage-media-type=application/json.

DIR/ground.json: the revisions, and what etcdctl answered: `get "" --from-key -w json` (every
key and value at the end) and `watch --prefix "" --rev 1 -w json` (every event).
Only the Python standard library is used.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcd_bins  # noqa: E402
import make_diff_data  # noqa: E402
import make_serve_data as ms  # noqa: E402
import make_testdata as mt  # noqa: E402

SCRIPT = "<script>alert('key')</script>"
IMG = "\"><img src=x onerror=alert('attr')>"
SECRET_MARKER = "ui-secret-marker-7f3a"


def hostile_configmap():
    m = ms.meta(SCRIPT, "default", 10, labels={"app": "web"}, annotations={"note": IMG})
    return ("configmaps", "default", SCRIPT, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": m,
                                             "data": {"payload": "</pre></code><script>alert('value')</script>", "img": IMG}})


def timeline_configmap(version, created=20):
    return ("configmaps", "shop", "settings", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": ms.meta("settings", "shop", created, labels={"app": "shop"}),
                                               "data": {"version": str(version), "mode": "blue" if version % 2 else "green"}})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    tools = etcd_bins.tools_or_exit("3.5.1")
    tmp = tempfile.mkdtemp(prefix="etcdscope-ui-data-")
    etcd = mt.Etcd("3.5.1", tools, tmp, random_ports=True)
    try:
        etcd.start()
        gw = mt.Gateway(etcd.client_port)
        for o in [ms.namespace("default", 0), ms.namespace("shop", 0), hostile_configmap(),
                  ms.secret("default", "db-password", 5, "Opaque", {"password": SECRET_MARKER}),
                  ms.pod("shop", "web-1", 30, "nginx:1.27", "node-a", labels={"app": "web", "tier": "<b>front</b>"})]:
            ms.put(gw, o)
        gw.put(f"/{SCRIPT}".encode(), IMG.encode())
        gw.put(b"/binary/\xff\x00<i>", b"\x00\x01\x02<script>")
        gw.put(b"plain-top-level", b"no leading slash")
        first = ms.put(gw, timeline_configmap(1))
        for v in (2, 3, 4):
            ms.put(gw, timeline_configmap(v))
        deleted = gw.delete(b"/registry/configmaps/shop/settings")
        recreated = ms.put(gw, timeline_configmap(5, created=90))
        ms.put(gw, timeline_configmap(6, created=90))
        final = gw.current_rev()
        gw.close()
        get = ms.etcdctl_json(tools, etcd, ["get", "", "--from-key"])
        if get["exit_code"] != 0:
            sys.exit(f"etcdctl get failed: {get['stderr']}")
        watch = ["watch", "--prefix", "", "--rev", "1", "-w", "json"]
        res = make_diff_data.capture([tools["etcdctl"], "--endpoints", etcd.client_url] + watch)
        if not res["stdout"]:
            sys.exit(f"etcdctl watch printed nothing: {res['stderr'].decode()}")
        ground = {
            "revisions": {"first": first, "deleted": deleted, "recreated": recreated, "final": final},
            "markers": {"script": SCRIPT, "img": IMG, "secret": SECRET_MARKER},
            "get_all": get,
            "watch_all": {"args": watch, "stdout": res["stdout"].decode(), "stderr": res["stderr"].decode()},
        }
        os.makedirs(a.out, exist_ok=True)
        snap = os.path.join(a.out, "snapshot.db")
        code, so, se = mt.run([tools["etcdctl"], "--endpoints", etcd.client_url, "snapshot", "save", snap], {"ETCDCTL_API": "3"})
        if code != 0:
            sys.exit(f"snapshot save failed: {se.decode()}")
        os.chmod(snap, 0o644)
        with open(os.path.join(a.out, "ground.json"), "w") as f:
            json.dump(ground, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"{snap}: {os.path.getsize(snap)} bytes, revisions {ground['revisions']}")
    finally:
        etcd.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
