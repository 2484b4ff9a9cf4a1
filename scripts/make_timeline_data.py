#!/usr/bin/env python3
"""Writes testdata/timeline-3.5.1/: a real etcd 3.5.1 snapshot whose Kubernetes objects carry
known timestamps, written at revisions etcd reports, for `--at TIME` (tests/timeline.rs).

    python3 scripts/make_timeline_data.py --out testdata/timeline-3.5.1

One member is started (127.0.0.1, free ports, a temp dir; make_testdata.py's Etcd and Gateway)
and objects are written through the JSON gateway, one write at a time, each as kube-apiserver
stores it: protobuf (b"k8s\\0" + runtime.Unknown) built here field by field, with the field
numbers of Kubernetes' generated.proto (ObjectMeta: name 1, namespace 3, uid 5,
creationTimestamp 8, deletionTimestamp 9, deletionGracePeriodSeconds 10, managedFields 17;
ManagedFieldsEntry: manager 1, operation 2, apiVersion 3, time 4, fieldsType 6; Time/MicroTime:
seconds 1, nanos 2; LeaseSpec: holderIdentity 1, leaseDurationSeconds 2, acquireTime 3,
renewTime 4; Event: involvedObject 2, reason 3, message 4, firstTimestamp 6, lastTimestamp 7,
count 8, type 9, eventTime 10, series 11 {count 1, lastObservedTime 2}; PodStatus: phase 1,
conditions 2 {type 1, status 2, lastTransitionTime 4}), and one custom resource as JSON, as the
API server stores those.

meta.json records every write: the revision etcd answered (the response header's), the key,
and `new_times`: the timestamps the write set that the key's previous version did not carry
(the script's own plan, by construction: which fields it changed). Writes of keys that are not
objects, a write that carries only old timestamps, deletes and a Secret are among them.
Then the member is compacted at the revision of the Pod's deletion request and saved again
(compacted.db): the keys' older puts are gone, their newest at the compaction kept.
Nothing here is decided by etcdscope.
"""
import argparse
import base64
import calendar
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import etcd_bins  # noqa: E402
import make_testdata as mt  # noqa: E402

T0 = calendar.timegm(time.strptime("2026-03-01T10:00:00Z", "%Y-%m-%dT%H:%M:%SZ"))


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def ld(n, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(n << 3 | 2) + varint(len(payload)) + payload


def vi(n, v):
    return varint(n << 3) + varint(v)


def stamp(offset):
    """T0 + offset seconds (a float: microseconds kept) -> (seconds, nanos)."""
    micros = round(offset * 1_000_000)
    return T0 + micros // 1_000_000, (micros % 1_000_000) * 1000


def text(offset):
    s, n = stamp(offset)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s))
    return base + ("Z" if n == 0 else ".%06dZ" % (n // 1000))


def tm(n, offset):
    s, ns = stamp(offset)
    return ld(n, vi(1, s) + (vi(2, ns) if ns else b""))


def managed(manager, offset, operation="Update", api_version="v1"):
    return ld(17, ld(1, manager) + ld(2, operation) + ld(3, api_version) + tm(4, offset) + ld(6, "FieldsV1"))


def meta(name, namespace, uid, created, managers, deletion=None):
    m = ld(1, name)
    if namespace:
        m += ld(3, namespace)
    m += ld(5, uid) + tm(8, created)
    if deletion:
        at, grace = deletion
        m += tm(9, at) + vi(10, grace)
    for manager, offset in managers:
        m += managed(manager, offset)
    return ld(1, m)


def stored(api_version, kind, raw):
    unknown = ld(1, ld(1, api_version) + ld(2, kind)) + ld(2, raw) + ld(3, b"") + ld(4, b"")
    return b"k8s\x00" + unknown


def namespace(name, created):
    raw = meta(name, None, "uid-ns-" + name, created, [("kube-apiserver", created)]) + ld(2, b"") + ld(3, ld(1, "Active"))
    return stored("v1", "Namespace", raw)


def configmap(name, created, managed_at, data):
    entries = b"".join(ld(2, ld(1, k) + ld(2, v)) for k, v in sorted(data.items()))
    return stored("v1", "ConfigMap", meta(name, "tl", "uid-cm-" + name, created, [("kubectl", managed_at)]) + entries)


def secret(name, created, data):
    entries = b"".join(ld(2, ld(1, k) + ld(2, v)) for k, v in sorted(data.items()))
    return stored("v1", "Secret", meta(name, "tl", "uid-secret-" + name, created, [("kubectl", created)]) + entries + ld(3, "Opaque"))


def lease(name, created, managed_at, acquire, renew):
    spec = ld(1, name) + vi(2, 40) + tm(3, acquire) + tm(4, renew)
    return stored("coordination.k8s.io/v1", "Lease", meta(name, "tl", "uid-lease-" + name, created, [("kubelet", managed_at)]) + ld(2, spec))


def event(name, created, first=None, last=None, event_time=None, series_last=None):
    raw = meta(name, "tl", "uid-ev-" + name, created, [("kubelet", created)])
    raw += ld(2, ld(1, "Pod") + ld(2, "tl") + ld(3, "web")) + ld(3, "Started") + ld(4, "Started container")
    if first is not None:
        raw += tm(6, first)
    if last is not None:
        raw += tm(7, last)
    raw += vi(8, 1) + ld(9, "Normal")
    if event_time is not None:
        raw += tm(10, event_time)
    if series_last is not None:
        raw += ld(11, vi(1, 2) + tm(2, series_last))
    return stored("v1", "Event", raw)


def pod(name, created, managed_at, ready_at, deletion=None):
    status = ld(1, "Running") + ld(2, ld(1, "Ready") + ld(2, "True") + tm(4, ready_at))
    raw = meta(name, "tl", "uid-pod-" + name, created, [("kubelet", managed_at)], deletion) + ld(2, b"") + ld(3, status)
    return stored("v1", "Pod", raw)


def widget(name, created, transition):
    obj = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {
            "name": name, "namespace": "tl", "uid": "uid-widget-" + name, "creationTimestamp": text(created),
            "managedFields": [{"manager": "widget-controller", "operation": "Update", "apiVersion": "example.com/v1",
                               "time": text(created), "fieldsType": "FieldsV1", "fieldsV1": {}}],
        },
        "spec": {"size": 3},
        "status": {"conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": text(transition)}]},
    }
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def nt(*pairs):
    """new_times: (field, offset) pairs -> recorded form."""
    return [{"field": f, "time": text(o), "unix_ns": stamp(o)[0] * 1_000_000_000 + stamp(o)[1]} for f, o in pairs]


CREATED = "metadata.creationTimestamp"
MANAGED = "metadata.managedFields[].time"


def writes(gw):
    """Every write, in order: (name, revision, keys, new_times)."""
    log = []

    def put(name, key, value, new):
        log.append({"name": name, "op": "put", "key": key, "revision": gw.put(key.encode(), value), "new_times": new})

    def delete(name, key):
        log.append({"name": name, "op": "delete", "key": key, "revision": gw.delete(key.encode()), "new_times": []})

    put("namespace", "/registry/namespaces/tl", namespace("tl", 0), nt((CREATED, 0), (MANAGED, 0)))
    put("plain-first", "/plain/first", b"not an object", [])
    put("configmap-create", "/registry/configmaps/tl/app", configmap("app", 60, 60, {"k": "1"}), nt((CREATED, 60), (MANAGED, 60)))
    put("lease-create", "/registry/leases/tl/node-1", lease("node-1", 120, 120, 120.25, 120.25),
        nt((CREATED, 120), (MANAGED, 120), ("spec.acquireTime", 120.25), ("spec.renewTime", 120.25)))
    put("lease-renew", "/registry/leases/tl/node-1", lease("node-1", 120, 130, 120.25, 130.5), nt((MANAGED, 130), ("spec.renewTime", 130.5)))
    put("configmap-update", "/registry/configmaps/tl/app", configmap("app", 60, 200, {"k": "2"}), nt((MANAGED, 200)))
    put("plain-second", "/plain/second", b"still not an object", [])
    # Same timestamps as the version before: this write sets none.
    put("configmap-old-times", "/registry/configmaps/tl/app", configmap("app", 60, 200, {"k": "3"}), [])
    put("event-create", "/registry/events/tl/web.1", event("web.1", 300, first=290, last=300),
        nt((CREATED, 300), (MANAGED, 300), ("lastTimestamp", 300)))
    rev = gw.txn([("put", b"/registry/pods/tl/web", pod("web", 400, 400, 395)),
                  ("put", b"/registry/configmaps/tl/other", configmap("other", 401, 401, {"o": "1"}))])
    log.append({"name": "txn-pod-and-configmap", "op": "txn", "keys": ["/registry/pods/tl/web", "/registry/configmaps/tl/other"],
                "revision": rev,
                "new_times": nt((CREATED, 400), (MANAGED, 400), ("status.conditions[].lastTransitionTime", 395), (CREATED, 401), (MANAGED, 401))})
    # Graceful deletion asked at T0+500 with 30 s of grace: deletionTimestamp is T0+530.
    put("pod-deletion-requested", "/registry/pods/tl/web", pod("web", 400, 500, 395, deletion=(530, 30)),
        nt((MANAGED, 500), ("metadata.deletionTimestamp-deletionGracePeriodSeconds", 500)))
    delete("pod-deleted", "/registry/pods/tl/web")
    put("widget-create", "/registry/example.com/widgets/tl/w1", widget("w1", 600, 601),
        nt((CREATED, 600), (MANAGED, 600), ("status.conditions[].lastTransitionTime", 601)))
    put("lease-renew-2", "/registry/leases/tl/node-1", lease("node-1", 120, 700, 120.25, 700.75), nt((MANAGED, 700), ("spec.renewTime", 700.75)))
    put("secret-create", "/registry/secrets/tl/db-password", secret("db-password", 800, {"password": b"hunter2-timeline"}),
        nt((CREATED, 800), (MANAGED, 800)))
    put("event-series", "/registry/events/tl/web.2", event("web.2", 900, event_time=900.123456, series_last=905.5),
        nt((CREATED, 900), (MANAGED, 900), ("eventTime", 900.123456), ("series.lastObservedTime", 905.5)))
    put("plain-last", "/plain/last", b"the end", [])
    delete("configmap-other-deleted", "/registry/configmaps/tl/other")
    # Re-created with the times of its first life: after a delete nothing is known of before.
    put("configmap-other-recreated", "/registry/configmaps/tl/other", configmap("other", 1000, 1000, {"o": "2"}),
        nt((CREATED, 1000), (MANAGED, 1000)))
    return log


def save(tools, etcd, snap):
    """`etcdctl snapshot save` to SNAP; `etcdutl snapshot status -w json` of it."""
    code, _, err = mt.run([tools["etcdctl"], "--endpoints", etcd.client_url, "snapshot", "save", snap])
    if code != 0:
        raise RuntimeError(f"snapshot save failed: {err.decode()}")
    os.chmod(snap, 0o644)
    if os.path.exists(snap + ".part"):
        os.remove(snap + ".part")
    code, status, err = mt.run([tools["etcdutl"], "snapshot", "status", snap, "-w", "json"])
    if code != 0:
        raise RuntimeError(f"snapshot status failed: {err.decode()}")
    return json.loads(status)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    tools = etcd_bins.tools_or_exit("3.5.1")
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="etcdscope-timeline-data-")
    etcd = mt.Etcd("3.5.1", tools, tmp, random_ports=True)
    try:
        etcd.start()
        gw = mt.Gateway(etcd.client_port)
        log = writes(gw)
        current = gw.current_rev()
        status = save(tools, etcd, os.path.join(out, "timeline.db"))
        # Then compacted at the graceful deletion's revision, and saved again.
        compact = next(w["revision"] for w in log if w["name"] == "pod-deletion-requested")
        gw.compact(compact)
        gw.close()
        compacted_status = save(tools, etcd, os.path.join(out, "compacted.db"))
        meta = {"etcd_version": "3.5.1", "t0": text(0), "current_revision": current, "snapshot_status": status,
                "compacted": {"file": "compacted.db", "compact_revision": compact, "snapshot_status": compacted_status}, "writes": log}
        with open(os.path.join(out, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
    finally:
        etcd.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
