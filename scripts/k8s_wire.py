#!/usr/bin/env python3
"""Build and inspect Kubernetes objects as kube-apiserver stores them in etcd (protobuf).

A stored value is b"k8s\\0" + runtime.Unknown{typeMeta=1{apiVersion=1, kind=2}, raw=2,
contentEncoding=3, contentType=4}; raw is the object: metadata=1 (ObjectMeta), then the
kind's own fields (spec=2 / status=3 for most kinds; data=2 for ConfigMap and Secret).

Objects are made from Kubernetes' own fixtures (v1.35.0/*.pb of scripts/k8s-fixtures.sh): the
fixture's metadata is replaced by a realistic ObjectMeta (fixed name, namespace, uid,
creationTimestamp, labels, ownerReferences; the fixture's managedFields are kept) and single
fields are rewritten on the wire. Fields are kept in ascending field-number order and map
entries sorted by key, as Go's generated marshallers write them.

verify_fixture() checks every field number this module touches against the fixture's .json
(which shows the same object), so a wrong number fails loudly instead of making odd data.

Only the Python standard library is used. Wire parsing reuses bench/make_k8s_snapshot.py.
"""
import base64
import calendar
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench"))
from make_k8s_snapshot import fields, varint  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixtures import k8s_fixtures  # noqa: E402

MAGIC = b"k8s\x00"

# ObjectMeta
M_NAME, M_NAMESPACE, M_UID, M_GENERATION, M_CREATED = 1, 3, 5, 7, 8
M_LABELS, M_ANNOTATIONS, M_OWNERS, M_MANAGED = 11, 12, 13, 17
# OwnerReference
O_KIND, O_NAME, O_UID, O_APIVERSION, O_CONTROLLER, O_BLOCK = 1, 3, 4, 5, 6, 7

# Event.involvedObject (ObjectReference)
IO_FIELDS = {1: "kind", 2: "namespace", 3: "name", 4: "uid", 5: "apiVersion",
             6: "resourceVersion", 7: "fieldPath"}

# top-level field numbers of raw -> part name, per kind
PARTS = {
    "ConfigMap": {1: "metadata", 2: "data", 3: "binaryData", 4: "immutable"},
    "Secret": {1: "metadata", 2: "data", 3: "type", 4: "stringData", 5: "immutable"},
}
DEFAULT_PARTS = {1: "metadata", 2: "spec", 3: "status"}


# --------------------------------------------------------------------------
# wire primitives
# --------------------------------------------------------------------------
def read_varint(buf, pos):
    v, shift = 0, 0
    while True:
        b = buf[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return v, pos


def ld(number, payload):
    """A length-delimited field (string, bytes, message)."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def vi(number, value):
    """A varint field (non-negative ints, bools as 0/1)."""
    return varint(number << 3) + varint(int(value))


def values(msg, number):
    """All values of field NUMBER: bytes for length-delimited fields, ints for varints."""
    out = []
    for n, wt, whole, payload in fields(msg):
        if n != number:
            continue
        if wt == 2:
            out.append(payload)
        elif wt == 0:
            _, p = read_varint(whole, 0)
            out.append(read_varint(whole, p)[0])
        else:
            raise ValueError(f"field {number}: wire type {wt} not handled")
    return out


def one(msg, number, default=None):
    vs = values(msg, number)
    if len(vs) > 1:
        raise ValueError(f"field {number} occurs {len(vs)} times")
    return vs[0] if vs else default


def set_field(msg, number, encoded):
    """Replace every occurrence of field NUMBER by ENCODED (zero or more complete encoded
    fields; b"" removes the field). Placed where the field was, or, when absent, before the
    first field with a higher number (ascending order, like Go's marshallers)."""
    out, placed = bytearray(), False
    for n, _, whole, _ in fields(msg):
        if n == number:
            if not placed:
                out += encoded
                placed = True
            continue
        if n > number and not placed:
            out += encoded
            placed = True
        out += whole
    if not placed:
        out += encoded
    return bytes(out)


def drop(msg, *numbers):
    for n in numbers:
        msg = set_field(msg, n, b"")
    return msg


def map_field(number, d):
    """map<string,string> / map<string,bytes>: repeated entry {key=1, value=2}, keys sorted."""
    out = b""
    for k in sorted(d):
        v = d[k]
        v = v if isinstance(v, bytes) else v.encode()
        out += ld(number, ld(1, k.encode()) + ld(2, v))
    return out


def read_map(msg, number):
    return {one(e, 1, b"").decode(): one(e, 2, b"") for e in values(msg, number)}


def ts_seconds(rfc3339):
    return calendar.timegm(time.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ"))


def rfc3339(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


# --------------------------------------------------------------------------
# stored objects
# --------------------------------------------------------------------------
def split(value):
    """Stored value -> (unknown, typeMeta, raw)."""
    if not value.startswith(MAGIC):
        raise ValueError("not a k8s protobuf value")
    unknown = value[4:]
    return unknown, one(unknown, 1, b""), one(unknown, 2, b"")


def join(unknown, raw):
    return MAGIC + set_field(unknown, 2, ld(2, raw))


def load_fixture(name):
    with open(os.path.join(k8s_fixtures(), "v1.35.0", name + ".pb"), "rb") as f:
        value = f.read()
    with open(os.path.join(k8s_fixtures(), "v1.35.0", name + ".json")) as f:
        js = json.load(f)
    return value, js


def owner_ref(kind, name, uid, api_version, controller=True, block=True):
    return (ld(O_KIND, kind.encode()) + ld(O_NAME, name.encode()) + ld(O_UID, uid.encode())
            + ld(O_APIVERSION, api_version.encode()) + vi(O_CONTROLLER, controller)
            + vi(O_BLOCK, block))


def object_meta(fixture_meta, name, namespace, uid, created, labels=None, annotations=None,
                owners=(), generation=None):
    """A fresh ObjectMeta as kube-apiserver stores it (no resourceVersion, selfLink,
    deletionTimestamp, finalizers); the fixture's managedFields are kept."""
    m = ld(M_NAME, name.encode())
    if namespace:
        m += ld(M_NAMESPACE, namespace.encode())
    m += ld(M_UID, uid.encode())
    if generation is not None:
        m += vi(M_GENERATION, generation)
    m += ld(M_CREATED, vi(1, created) + vi(2, 0))
    m += map_field(M_LABELS, labels or {})
    m += map_field(M_ANNOTATIONS, annotations or {})
    for o in owners:
        m += ld(M_OWNERS, owner_ref(**o))
    for mf in values(fixture_meta, M_MANAGED):
        m += ld(M_MANAGED, mf)
    return m


def make(fixture_value, meta_kwargs, edit=None):
    """Fixture value -> stored value with fresh metadata; EDIT(raw) -> raw rewrites more."""
    unknown, _, raw = split(fixture_value)
    raw = set_field(raw, 1, ld(1, object_meta(one(raw, 1), **meta_kwargs)))
    if edit is not None:
        raw = edit(raw)
    return join(unknown, raw)


def edit_sub(raw, number, fn):
    """Rewrite the sub-message field NUMBER of RAW (e.g. spec=2, status=3) with FN."""
    return set_field(raw, number, ld(number, fn(one(raw, number, b""))))


def edit_meta(value, fn):
    unknown, _, raw = split(value)
    return join(unknown, edit_sub(raw, 1, fn))


# --------------------------------------------------------------------------
# decoding (for meta.json and self-checks)
# --------------------------------------------------------------------------
def describe(value):
    unknown, tm, raw = split(value)
    kind = one(tm, 2, b"").decode()
    meta = one(raw, 1, b"")
    d = {"apiVersion": one(tm, 1, b"").decode(), "kind": kind,
         "name": one(meta, M_NAME, b"").decode()}
    ns = one(meta, M_NAMESPACE)
    if ns is not None:
        d["namespace"] = ns.decode()
    d["uid"] = one(meta, M_UID, b"").decode()
    gen = one(meta, M_GENERATION)
    if gen is not None:
        d["generation"] = gen
    created = one(meta, M_CREATED)
    if created is not None:
        d["creationTimestamp"] = rfc3339(one(created, 1, 0))
    labels = read_map(meta, M_LABELS)
    if labels:
        d["labels"] = {k: v.decode() for k, v in labels.items()}
    owners = []
    for o in values(meta, M_OWNERS):
        owners.append({"apiVersion": one(o, O_APIVERSION, b"").decode(),
                       "kind": one(o, O_KIND, b"").decode(), "name": one(o, O_NAME, b"").decode(),
                       "uid": one(o, O_UID, b"").decode(),
                       "controller": bool(one(o, O_CONTROLLER, 0))})
    if owners:
        d["ownerReferences"] = owners
    if kind in ("Deployment", "ReplicaSet"):
        d["spec.replicas"] = one(one(raw, 2, b""), 1, 0)
    if kind == "Pod":
        d["spec.nodeName"] = one(one(raw, 2, b""), 10, b"").decode()
        d["status.phase"] = one(one(raw, 3, b""), 1, b"").decode()
    if kind == "Event":
        io = one(raw, 2, b"")
        d["involvedObject"] = {f: one(io, n, b"").decode() for n, f in IO_FIELDS.items()
                               if one(io, n) is not None}
    if kind in ("ConfigMap", "Secret"):
        data = read_map(raw, 2)
        if kind == "Secret":
            d["data"] = {k: base64.b64encode(v).decode() for k, v in data.items()}
        else:
            d["data"] = {k: v.decode() for k, v in data.items()}
    return d


def changed_parts(old, new):
    """Which top-level parts differ between two stored values of the same kind."""
    _, tm_old, raw_old = split(old)
    _, tm_new, raw_new = split(new)
    out = ["typeMeta"] if tm_old != tm_new else []
    kind = one(tm_new, 2, b"").decode()
    names = PARTS.get(kind, DEFAULT_PARTS)
    nums = sorted({n for n, *_ in fields(raw_old)} | {n for n, *_ in fields(raw_new)})
    for n in nums:
        a = [w for m, _, w, _ in fields(raw_old) if m == n]
        b = [w for m, _, w, _ in fields(raw_new) if m == n]
        if a != b:
            out.append(names.get(n, f"field{n}"))
    return out


# --------------------------------------------------------------------------
# fixture checks: the field numbers used here, against the fixture's .json
# --------------------------------------------------------------------------
def verify_fixture(name):
    value, js = load_fixture(name)
    _, tm, raw = split(value)

    def eq(what, got, want):
        if got != want:
            raise AssertionError(f"{name}: {what}: wire has {got!r}, json has {want!r}")

    eq("apiVersion", one(tm, 1).decode(), js["apiVersion"])
    eq("kind", one(tm, 2).decode(), js["kind"])
    meta, jm = one(raw, 1), js["metadata"]
    eq("metadata.name", one(meta, M_NAME).decode(), jm["name"])
    eq("metadata.namespace", one(meta, M_NAMESPACE).decode(), jm["namespace"])
    eq("metadata.uid", one(meta, M_UID).decode(), jm["uid"])
    eq("metadata.generation", one(meta, M_GENERATION), jm["generation"])
    eq("metadata.creationTimestamp", one(one(meta, M_CREATED), 1), ts_seconds(jm["creationTimestamp"]))
    eq("metadata.labels", {k: v.decode() for k, v in read_map(meta, M_LABELS).items()}, jm["labels"])
    eq("metadata.annotations", {k: v.decode() for k, v in read_map(meta, M_ANNOTATIONS).items()},
       jm["annotations"])
    o, jo = values(meta, M_OWNERS)[0], jm["ownerReferences"][0]
    eq("ownerReferences.kind", one(o, O_KIND).decode(), jo["kind"])
    eq("ownerReferences.name", one(o, O_NAME).decode(), jo["name"])
    eq("ownerReferences.uid", one(o, O_UID).decode(), jo["uid"])
    eq("ownerReferences.apiVersion", one(o, O_APIVERSION).decode(), jo["apiVersion"])
    eq("ownerReferences.controller", bool(one(o, O_CONTROLLER)), jo["controller"])
    eq("ownerReferences.blockOwnerDeletion", bool(one(o, O_BLOCK)), jo["blockOwnerDeletion"])
    eq("managedFields count", len(values(meta, M_MANAGED)), len(jm["managedFields"]))
    eq("managedFields.manager", one(values(meta, M_MANAGED)[0], 1).decode(),
       jm["managedFields"][0]["manager"])
    kind = js["kind"]
    if kind in ("Deployment", "ReplicaSet"):
        eq("spec.replicas", one(one(raw, 2), 1), js["spec"]["replicas"])
    if kind == "Pod":
        eq("spec.nodeName", one(one(raw, 2), 10).decode(), js["spec"]["nodeName"])
        eq("status.phase", one(one(raw, 3), 1).decode(), js["status"]["phase"])
        eq("status.message", one(one(raw, 3), 3).decode(), js["status"]["message"])
        eq("status.reason", one(one(raw, 3), 4).decode(), js["status"]["reason"])
    if kind == "Event":
        io, jio = one(raw, 2), js["involvedObject"]
        for num, fld in IO_FIELDS.items():
            eq("involvedObject." + fld, one(io, num).decode(), jio[fld])
    if kind == "Namespace":
        eq("spec.finalizers", [v.decode() for v in values(one(raw, 2), 1)], js["spec"]["finalizers"])
        eq("status.phase", one(one(raw, 3), 1).decode(), js["status"]["phase"])
    if kind == "ConfigMap":
        eq("data", {k: v.decode() for k, v in read_map(raw, 2).items()}, js["data"])
        eq("immutable", bool(one(raw, 4)), js["immutable"])
    if kind == "Secret":
        eq("data", {k: base64.b64encode(v).decode() for k, v in read_map(raw, 2).items()}, js["data"])
        eq("type", one(raw, 3).decode(), js["type"])
        eq("stringData", {k: v.decode() for k, v in read_map(raw, 4).items()}, js["stringData"])
        eq("immutable", bool(one(raw, 5)), js["immutable"])
    return value


if __name__ == "__main__":
    for n in sys.argv[1:] or ["apps.v1.Deployment", "apps.v1.ReplicaSet", "core.v1.Pod",
                              "core.v1.ConfigMap", "core.v1.Secret", "core.v1.Namespace",
                              "core.v1.Node", "core.v1.Event"]:
        verify_fixture(n)
        print(n, "ok")
