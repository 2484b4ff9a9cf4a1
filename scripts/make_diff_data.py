#!/usr/bin/env python3
"""Ground truth from a REAL etcd for `etcdscope diff OLD NEW` and `etcdscope history`.

    python3 scripts/make_diff_data.py --version {3.5.1|3.4.23} --out DIR [--random-ports]

1. starts one etcd (127.0.0.1, temp data dir); phase 1 writes plain keys, two leases and
   Kubernetes objects (protobuf, from Kubernetes' fixtures, see k8s_wire.py) with some
   history, and compacts (physically) at a revision C in the middle of it. It also sets up
   the restore hazards (HAZARDS, meta.json "hazards") in OLD:
   - orphans: Pod old-rs-p1 controlled by a bare ReplicaSet old-rs that is deleted before
     OLD (garbage-collector lag; the pod is deleted in phase 2), and ConfigMap owned-cm
     owned by Deployment "later" (uid ...0000000000aa) that only phase 2 creates;
   - a pod on a missing node: Pod stray-p (no owner) on Node node-3, deleted before OLD;
   - a lease gone: L2 (2 keys: /lease/revoked and an Event), revoked in phase 2;
   - the revision going backwards (OLD < NEW);
2. OLD: `etcdctl snapshot save` -> DIR/old.db, plus lease list / endpoint status / get;
3. phase 2 makes every kind of difference (lost, reappear, revert, rewritten);
4. NEW: `etcdctl snapshot save` -> DIR/new.db; with no writes in between records
   `etcdctl watch --prefix "" --rev R -w json` from C, from OLD+1 and from C-1 (refused),
   lease list, endpoint status, get; stops etcd;
5. restores each snapshot with etcd's own restore (etcdutl for 3.5, etcdctl for 3.4),
   starts a real etcd on each restored data dir and records `get "" --prefix -w json`,
   endpoint status, lease list and `lease timetolive --keys` of every lease;
6. checks the intended class of every key (meta.json "scenario") against the restored
   keyspaces, the watch output against the writes made, the leases of the restored members,
   and the intended hazards against the ones decoded (uids, ownerReferences, nodeName, lease
   keys and TTLs, revisions) from the restored members; fails loudly on a mismatch.

Output (DIR):
  old.db, new.db                       the two snapshots (0644)
  meta.json                            marks (revisions), ops, leases, uids, objects,
                                       objects_deleted_before_old, scenario (intended class per
                                       key), hazards (intended restore hazards: orphans,
                                       pods_on_missing_nodes, leases_gone, revision), writes,
                                       watch runs, "files"
  expected/watch-from-compact.jsonl    stdout of `watch --prefix "" --rev C -w json`
  expected/watch-from-old.jsonl        stdout of `watch --prefix "" --rev OLD+1 -w json`
  expected/watch-below-compact.json    {args, exit_code, stdout, stderr, ...} for --rev C-1
  expected/lease-list-{old,new}.json   `lease list -w json` at OLD / NEW time
  expected/endpoint-status-{old,new}.json
  expected/live-{old,new}.json         `get "" --prefix -w json` on the live member
  expected/restore-{old,new}.json      the restore command: tool, args, exit_code, stdout, stderr
  expected/restored-{old,new}.json     `get "" --prefix -w json` on etcd run on the restored dir
  expected/restored-{old,new}-status.json
  expected/restored-{old,new}-leases.json {list: `lease list -w json`, timetolive: {id hex:
                                       `lease timetolive ID --keys -w json`}} on the restored member
Only the Python standard library is used; every etcd started is stopped (try/finally).
"""
import argparse
import base64
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcd_bins  # noqa: E402
import k8s_wire as kw  # noqa: E402
import make_testdata as mt  # noqa: E402

L1 = 0x6C65617365303031  # "lease001" as a big-endian int64
L2 = 0x6C65617365303032  # "lease002"
LEASE_TTL = 3600
NS = "team-a"
CREATED = 1735689600  # 2025-01-01T00:00:00Z, creationTimestamp of every object
QUIET_SECONDS = 2.0  # a watch's output is complete once stdout was quiet this long
ENV3 = {"ETCDCTL_API": "3"}


def uid(n):
    return "d0000000-0000-4000-8000-%012d" % n


UIDS = {
    "deployment/web": uid(1), "replicaset/web-5d4f": uid(2), "pod/web-5d4f-x1": uid(3),
    "namespace/team-a": uid(4), "node/node-1": uid(5), "configmap/settings": uid(6),
    "configmap/same": uid(7), "configmap/recreated": uid(8), "secret/db": uid(9),
    "event/web.1": uid(10),
    # phase 2
    "configmap/recreated#2": uid(11), "node/node-2": uid(12), "deployment/api": uid(13),
    "replicaset/api-7c9": uid(14), "pod/api-7c9-y1": uid(15), "pod/web-5d4f-x2": uid(16),
    # restore hazards: created in phase 1 (old-rs and node-3 are deleted again before OLD)
    "replicaset/old-rs": uid(17), "node/node-3": uid(18), "pod/old-rs-p1": uid(19),
    "pod/stray-p": uid(20), "configmap/owned-cm": uid(21), "event/old-rs-p1.1": uid(22),
    # phase 2: the owner configmap owned-cm already points at in phase 1
    "deployment/later": "d0000000-0000-4000-8000-0000000000aa",
}

# keys attached to lease L1 (kept) and L2 (revoked in phase 2), in key order
L1_KEYS = ["/lease/keep", "/registry/events/team-a/web.1"]
L2_KEYS = ["/lease/revoked", "/registry/events/team-a/old-rs-p1.1"]

# the restore hazards `diff OLD NEW` should report (meta.json "hazards"; "revision" is added
# from the marks); each is checked against the restored snapshots at the end
HAZARDS = {
    "orphans": [
        {"key": "/registry/configmaps/team-a/owned-cm", "owner_uid": UIDS["deployment/later"],
         "owner_kind": "Deployment", "owner_name": "later", "owner_in_new": True},
        {"key": "/registry/pods/team-a/old-rs-p1", "owner_uid": UIDS["replicaset/old-rs"],
         "owner_kind": "ReplicaSet", "owner_name": "old-rs", "owner_in_new": False},
    ],
    "pods_on_missing_nodes": [
        {"key": "/registry/pods/team-a/stray-p", "node": "node-3", "node_in_new": False},
    ],
    "leases_gone": [{"id": L2, "ttl": LEASE_TTL, "keys": L2_KEYS}],
}

BIN_KEY = b"/plain/bin\xff\x00"


def b64(b):
    return base64.b64encode(b).decode("ascii")


def ub64(s):
    return base64.b64decode(s) if s else b""


# --------------------------------------------------------------------------
# Kubernetes objects (protobuf, built from Kubernetes' own fixtures)
# --------------------------------------------------------------------------
class K8s:
    def __init__(self):
        names = ["apps.v1.Deployment", "apps.v1.ReplicaSet", "core.v1.Pod", "core.v1.ConfigMap",
                 "core.v1.Secret", "core.v1.Namespace", "core.v1.Node", "core.v1.Event"]
        self.fx = {n.rsplit(".", 1)[1]: kw.verify_fixture(n) for n in names}

    @staticmethod
    def owner(kind, name, api_version, controller=True, block=True):
        ref = f"{kind.lower()}/{name}"
        return {"kind": kind, "name": name, "uid": UIDS[ref], "api_version": api_version,
                "controller": controller, "block": block}

    def build(self, kind, name, namespace=NS, uid_ref=None, labels=None, owners=(),
              generation=None, edit=None, created=CREATED):
        meta = {"name": name, "namespace": namespace,
                "uid": UIDS[uid_ref or f"{kind.lower()}/{name}"], "created": created,
                "labels": labels, "owners": owners, "generation": generation}
        return kw.make(self.fx[kind], meta, edit)

    def namespace(self, name):
        def edit(raw):
            raw = kw.edit_sub(raw, 2, lambda s: kw.set_field(s, 1, kw.ld(1, b"kubernetes")))
            return kw.edit_sub(raw, 3, lambda s: kw.set_field(s, 1, kw.ld(1, b"Active")))
        return self.build("Namespace", name, namespace="",
                          labels={"kubernetes.io/metadata.name": name}, edit=edit)

    def node(self, name):
        return self.build("Node", name, namespace="", labels={"kubernetes.io/hostname": name})

    def deployment(self, name, replicas):
        def edit(raw):
            return kw.edit_sub(raw, 2, lambda s: kw.set_field(s, 1, kw.vi(1, replicas)))
        return self.build("Deployment", name, labels={"app": name}, generation=1, edit=edit)

    def replicaset(self, name, deployment, replicas=1):
        """A ReplicaSet owned by Deployment DEPLOYMENT; deployment=None: a bare ReplicaSet
        (no owner, labels {app: NAME})."""
        def edit(raw):
            return kw.edit_sub(raw, 2, lambda s: kw.set_field(s, 1, kw.vi(1, replicas)))
        if deployment is None:
            return self.build("ReplicaSet", name, labels={"app": name}, generation=1, edit=edit)
        return self.build("ReplicaSet", name, labels={"app": deployment,
                                                      "pod-template-hash": name.rsplit("-", 1)[1]},
                          owners=[self.owner("Deployment", deployment, "apps/v1")],
                          generation=1, edit=edit)

    def pod(self, name, rs, node, phase, labels=None):
        """A Pod controlled by ReplicaSet RS (rs=None: no owner), bound to NODE ("": unbound).
        Labels default to the ones a Deployment's ReplicaSet gives its pods."""
        def edit(raw):
            raw = kw.edit_sub(raw, 2, lambda s: kw.set_field(
                s, 10, kw.ld(10, node.encode()) if node else b""))
            # status.phase=1; message=3 and reason=4 dropped (kubectl would show the reason)
            return kw.edit_sub(raw, 3, lambda s: kw.drop(kw.set_field(s, 1, kw.ld(1, phase.encode())), 3, 4))
        if labels is None:
            labels = {"app": rs.rsplit("-", 1)[0], "pod-template-hash": rs.rsplit("-", 1)[1]}
        owners = [self.owner("ReplicaSet", rs, "apps/v1")] if rs else []
        return self.build("Pod", name, labels=labels, owners=owners, edit=edit)

    def configmap(self, name, data, labels, uid_ref=None, created=CREATED, owners=()):
        def edit(raw):
            return kw.drop(kw.set_field(raw, 2, kw.map_field(2, data)), 4)  # not immutable
        return self.build("ConfigMap", name, labels=labels, uid_ref=uid_ref, edit=edit,
                          created=created, owners=owners)

    def secret(self, name, data):
        def edit(raw):
            raw = kw.set_field(raw, 2, kw.map_field(2, data))
            raw = kw.set_field(raw, 3, kw.ld(3, b"Opaque"))
            return kw.drop(raw, 4, 5)  # stringData is write-only; not immutable
        return self.build("Secret", name, edit=edit)

    def event(self, name, kind, obj, api_version):
        """An Event about OBJ (involvedObject = ObjectReference{kind=1, namespace=2, name=3,
        uid=4, apiVersion=5}; resourceVersion and fieldPath dropped)."""
        ref = (kw.ld(1, kind.encode()) + kw.ld(2, NS.encode()) + kw.ld(3, obj.encode())
               + kw.ld(4, UIDS[f"{kind.lower()}/{obj}"].encode()) + kw.ld(5, api_version.encode()))
        return self.build("Event", name, edit=lambda raw: kw.set_field(raw, 2, kw.ld(2, ref)))


# --------------------------------------------------------------------------
# writes: a Gateway wrapper that also keeps the expected watch events
# --------------------------------------------------------------------------
class Writer:
    def __init__(self, gw):
        self.gw = gw
        self.events = []  # (mod_revision, type "PUT"/"DELETE", key bytes, value bytes, lease)
        self.ops = []  # (name, revision, description) of named operations
        self.values = {}  # key -> current value (to know what a lease revoke deletes)
        self.leases = {}  # key -> lease

    def _op(self, name, rev, desc):
        if name:
            self.ops.append({"name": name, "rev": rev, **desc})

    def put(self, key, value, lease=0, name=None):
        rev = self.gw.put(key, value, lease=lease)
        self.events.append((rev, "PUT", key, value, lease))
        self.values[key] = value
        self.leases[key] = lease
        self._op(name, rev, {"op": "put", "key": mt.esc(key)})
        return rev

    def delete(self, key, name=None):
        before = self.gw.current_rev()
        rev = self.gw.delete(key)
        if rev != before + 1 or self.gw.log[-1]["deleted"] != 1:
            raise RuntimeError(f"delete {key!r} did not delete exactly one key")
        self.events.append((rev, "DELETE", key, b"", 0))
        del self.values[key]
        self._op(name, rev, {"op": "delete", "key": mt.esc(key)})
        return rev

    def txn(self, ops, name=None):
        rev = self.gw.txn(ops)
        desc = []
        for op in ops:
            if op[0] == "put":
                self.events.append((rev, "PUT", op[1], op[2], 0))
                self.values[op[1]] = op[2]
                self.leases[op[1]] = 0
                desc.append(f"put {mt.esc(op[1])}")
            else:
                self.events.append((rev, "DELETE", op[1], b"", 0))
                del self.values[op[1]]
                desc.append(f"delete {mt.esc(op[1])}")
        self._op(name, rev, {"op": "txn", "ops": desc})
        return rev

    def lease_grant(self, lease, ttl):
        self.gw.lease_grant(lease, ttl)

    def lease_revoke(self, lease, name=None):
        before = self.gw.current_rev()
        resp = self.gw.call("/v3/lease/revoke", {"ID": str(lease)})
        rev = mt.Gateway.rev(resp)
        attached = sorted(k for k, v in self.leases.items() if v == lease and k in self.values)
        if rev != before + (1 if attached else 0) or self.gw.current_rev() != rev:
            raise RuntimeError(f"lease revoke: unexpected revision {rev} (before {before})")
        for k in attached:  # one revision, keys deleted in key order
            self.events.append((rev, "DELETE", k, b"", 0))
            del self.values[k]
        self.gw.log.append({"op": "lease_revoke", "rev": rev, "lease": lease,
                            "deleted": [mt.esc(k) for k in attached]})
        self._op(name, rev, {"op": "lease_revoke", "lease": lease,
                             "deleted": [mt.esc(k) for k in attached]})
        return rev

    def compact(self, rev):
        self.gw.compact(rev)


def k(path):
    return path.encode()


def phase1(w, kube):
    """Writes before OLD. Returns (marks, objects at OLD, objects deleted again before OLD
    {key: {"rev_deleted", "value" (last value)}})."""
    m = {}
    w.lease_grant(L1, LEASE_TTL)
    w.lease_grant(L2, LEASE_TTL)
    m["first_rev"] = w.put(b"/plain/update", b"update v1")
    w.put(b"/plain/gone", b"deleted before the compaction")
    w.put(b"/plain/update", b"update v2")
    m["gone_deleted_rev"] = w.delete(b"/plain/gone")
    m["keep_rev"] = w.put(b"/plain/keep", b"never touched again")
    # the compaction revision: a put whose key is updated again later
    m["compact_rev"] = w.put(b"/plain/update", b"update v3 (at the compaction revision)")
    w.put(b"/plain/update", b"update v4 (after the compaction, in OLD)")
    w.put(b"/plain/tomb", b"deleted after the compaction, before OLD")
    m["tomb_deleted_rev"] = w.delete(b"/plain/tomb")
    w.put(b"/plain/same", b"same bytes")
    w.put(b"/plain/delete", b"deleted in phase 2")
    w.put(b"/plain/recreate", b"recreate: first life")
    w.put(b"/plain/recreate-same", b"recreate-same: identical bytes")
    w.put(BIN_KEY, b"binary key v1 \xfe\xff")
    m["txn1_rev"] = w.txn([("put", b"/txn/b", b"txn b v1"), ("put", b"/txn/c", b"txn c v1")])
    w.put(b"/lease/keep", b"attached to L1", lease=L1)
    w.put(b"/lease/revoked", b"attached to L2", lease=L2)

    r = "/registry/"
    objs = {}

    def obj(key, value, lease=0):
        objs[key] = value
        return w.put(k(key), value, lease=lease)

    obj(r + "namespaces/team-a", kube.namespace("team-a"))
    obj(r + "minions/node-1", kube.node("node-1"))
    obj(r + "deployments/team-a/web", kube.deployment("web", 1))
    obj(r + "replicasets/team-a/web-5d4f", kube.replicaset("web-5d4f", "web"))
    # a pod's life before OLD: created, bound to node-1, running
    pod = r + "pods/team-a/web-5d4f-x1"
    m["pod_x1_created_rev"] = obj(pod, kube.pod("web-5d4f-x1", "web-5d4f", "", "Pending"))
    m["pod_x1_bound_rev"] = obj(pod, kube.pod("web-5d4f-x1", "web-5d4f", "node-1", "Pending"))
    m["pod_x1_running_rev"] = obj(pod, kube.pod("web-5d4f-x1", "web-5d4f", "node-1", "Running"))
    obj(r + "configmaps/team-a/settings", kube.configmap("settings", {"mode": "fast"}, {"app": "web"}))
    obj(r + "configmaps/team-a/same", kube.configmap("same", {"k": "v"}, {"app": "web"}))
    obj(r + "configmaps/team-a/recreated",
        kube.configmap("recreated", {"gen": "1"}, {"app": "web"}))
    obj(r + "secrets/team-a/db", kube.secret("db", {"password": b"MARKER-secret-db-old\x00\xff"}))
    obj(r + "events/team-a/web.1", kube.event("web.1", "Deployment", "web", "apps/v1"), lease=L1)

    # restore hazards in OLD (see HAZARDS). A bare ReplicaSet and its pod; the ReplicaSet is
    # deleted before OLD, the pod not yet (garbage-collector lag): an orphan in OLD.
    gone = {}

    def delete(key):
        gone[key] = {"value": objs.pop(key), "rev_deleted": w.delete(k(key))}
        return gone[key]["rev_deleted"]

    m["node_3_created_rev"] = obj(r + "minions/node-3", kube.node("node-3"))
    m["old_rs_created_rev"] = obj(r + "replicasets/team-a/old-rs", kube.replicaset("old-rs", None))
    obj(r + "pods/team-a/old-rs-p1",
        kube.pod("old-rs-p1", "old-rs", "node-1", "Running", labels={"app": "old-rs"}))
    # a pod without owner on node-3, which is deleted before OLD (the pod stays)
    obj(r + "pods/team-a/stray-p", kube.pod("stray-p", None, "node-3", "Running",
                                           labels={"run": "stray-p"}))
    # owned by a Deployment that does not exist yet (created in phase 2 with that uid)
    obj(r + "configmaps/team-a/owned-cm",
        kube.configmap("owned-cm", {"owner": "later"}, {"app": "later"},
                       owners=[kube.owner("Deployment", "later", "apps/v1",
                                          controller=False, block=False)]))
    # a second key on lease L2
    obj(r + "events/team-a/old-rs-p1.1", kube.event("old-rs-p1.1", "Pod", "old-rs-p1", "v1"),
        lease=L2)
    m["old_rs_deleted_rev"] = delete(r + "replicasets/team-a/old-rs")
    m["node_3_deleted_rev"] = delete(r + "minions/node-3")
    m["phase1_last_rev"] = w.gw.current_rev()
    w.compact(m["compact_rev"])
    return m, objs, gone


def phase2(w, kube, objs):
    """Writes between OLD and NEW; every named op's revision is in w.ops."""
    r = "/registry/"
    w.put(b"/plain/new", b"created in phase 2", name="plain_new")
    w.put(b"/plain/update", b"update v5 (phase 2)", name="plain_update")
    w.put(b"/plain/same", b"same bytes", name="plain_same_reput")
    w.delete(b"/plain/delete", name="plain_delete")
    w.delete(b"/plain/recreate", name="plain_recreate_delete")
    w.put(b"/plain/recreate", b"recreate: second life", name="plain_recreate_put")
    w.delete(b"/plain/recreate-same", name="plain_recreate_same_delete")
    w.put(b"/plain/recreate-same", b"recreate-same: identical bytes", name="plain_recreate_same_put")
    w.put(BIN_KEY, b"binary key v2 \x00\x80", name="bin_update")
    w.lease_revoke(L2, name="revoke_L2")

    def obj(name, key, value):
        objs[key] = value
        return w.put(k(key), value, name=name)

    obj("deployment_web_scale", r + "deployments/team-a/web", kube.deployment("web", 3))
    obj("pod_x1_status", r + "pods/team-a/web-5d4f-x1",
        kube.pod("web-5d4f-x1", "web-5d4f", "node-1", "Succeeded"))
    obj("configmap_settings_label", r + "configmaps/team-a/settings",
        kube.configmap("settings", {"mode": "fast"}, {"app": "web", "tier": "frontend"}))
    obj("configmap_same_reput", r + "configmaps/team-a/same",
        kube.configmap("same", {"k": "v"}, {"app": "web"}))
    w.delete(k(r + "configmaps/team-a/recreated"), name="configmap_recreated_delete")
    obj("configmap_recreated_put", r + "configmaps/team-a/recreated",
        kube.configmap("recreated", {"gen": "1"}, {"app": "web"}, uid_ref="configmap/recreated#2",
                        created=CREATED + 86400))
    obj("node_2", r + "minions/node-2", kube.node("node-2"))
    obj("deployment_api", r + "deployments/team-a/api", kube.deployment("api", 1))
    obj("replicaset_api", r + "replicasets/team-a/api-7c9", kube.replicaset("api-7c9", "api"))
    obj("pod_api_y1", r + "pods/team-a/api-7c9-y1", kube.pod("api-7c9-y1", "api-7c9", "node-2", "Running"))
    obj("pod_web_x2", r + "pods/team-a/web-5d4f-x2", kube.pod("web-5d4f-x2", "web-5d4f", "node-2", "Running"))
    w.delete(k(r + "secrets/team-a/db"), name="secret_delete")
    objs.pop(r + "secrets/team-a/db")  # its OLD value is still described from OLD
    w.txn([("put", b"/txn/a", b"txn a (phase 2)"), ("put", b"/txn/b", b"txn b v2"),
           ("delete", b"/txn/c")], name="txn_put2_delete1")
    # the garbage collector catches up with the orphan pod; owned-cm's owner appears
    w.delete(k(r + "pods/team-a/old-rs-p1"), name="pod_old_rs_p1_delete")
    objs.pop(r + "pods/team-a/old-rs-p1")
    obj("deployment_later", r + "deployments/team-a/later", kube.deployment("later", 1))


# what each key should be, OLD -> NEW (k8s reverts: which top-level parts changed)
SCENARIO = [
    ("/plain/keep", "unchanged", None, "never touched after its put (mod_revision < C)"),
    ("/plain/update", "revert", None, "put 3x before C (v3 at C), v4 after C, v5 in phase 2"),
    ("/plain/same", "rewritten", None, "re-put with identical bytes"),
    ("/plain/delete", "reappear", None, "deleted in phase 2"),
    ("/plain/recreate", "revert", None, "deleted and re-created with another value (new create_revision)"),
    ("/plain/recreate-same", "rewritten", None, "deleted and re-created with the same bytes (new incarnation)"),
    (BIN_KEY, "revert", None, "binary non-UTF-8 key, updated"),
    ("/plain/new", "lost", None, "created in phase 2"),
    ("/txn/a", "lost", None, "put by the phase-2 txn"),
    ("/txn/b", "revert", None, "put by the phase-1 txn and the phase-2 txn"),
    ("/txn/c", "reappear", None, "deleted by the phase-2 txn"),
    ("/lease/keep", "unchanged", None, "attached to lease L1 (kept)"),
    ("/lease/revoked", "reappear", None, "attached to lease L2, revoked in phase 2"),
    ("/registry/namespaces/team-a", "unchanged", None, "Namespace"),
    ("/registry/minions/node-1", "unchanged", None, "Node"),
    ("/registry/deployments/team-a/web", "revert", ["spec"], "Deployment: spec.replicas 1 -> 3"),
    ("/registry/replicasets/team-a/web-5d4f", "unchanged", None, "ReplicaSet owned by deployment web"),
    ("/registry/pods/team-a/web-5d4f-x1", "revert", ["status"], "Pod: status.phase Running -> Succeeded"),
    ("/registry/configmaps/team-a/settings", "revert", ["metadata"], "ConfigMap: label tier=frontend added"),
    ("/registry/configmaps/team-a/same", "rewritten", None, "ConfigMap re-put with identical bytes"),
    ("/registry/configmaps/team-a/recreated", "revert", ["metadata"],
     "ConfigMap deleted and re-created: new uid and creationTimestamp, same data"),
    ("/registry/secrets/team-a/db", "reappear", None, "Secret deleted in phase 2"),
    ("/registry/events/team-a/web.1", "unchanged", None, "Event attached to lease L1"),
    ("/registry/minions/node-2", "lost", None, "Node created in phase 2"),
    ("/registry/deployments/team-a/api", "lost", None, "Deployment created in phase 2"),
    ("/registry/replicasets/team-a/api-7c9", "lost", None, "ReplicaSet owned by deployment api"),
    ("/registry/pods/team-a/api-7c9-y1", "lost", None, "Pod owned by replicaset api-7c9, on node-2"),
    ("/registry/pods/team-a/web-5d4f-x2", "lost", None, "Pod owned by replicaset web-5d4f, on node-2"),
    # restore hazards (HAZARDS)
    ("/registry/pods/team-a/old-rs-p1", "reappear", None,
     "Pod controlled by ReplicaSet old-rs, deleted before OLD (orphan in OLD); pod deleted in phase 2"),
    ("/registry/configmaps/team-a/owned-cm", "unchanged", None,
     "ConfigMap owned by Deployment later, created only in phase 2 with the referenced uid "
     "(orphan in OLD; its owner is lost by the restore)"),
    ("/registry/deployments/team-a/later", "lost", None,
     "Deployment created in phase 2 with the uid owned-cm's ownerReference names"),
    ("/registry/pods/team-a/stray-p", "unchanged", None,
     "Pod without owner bound to node-3, which was deleted before OLD"),
    ("/registry/events/team-a/old-rs-p1.1", "reappear", None,
     "Event attached to lease L2 (second key of L2), revoked in phase 2"),
]


# --------------------------------------------------------------------------
# etcdctl helpers
# --------------------------------------------------------------------------
def ctl_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL")}
    env.update(ENV3)
    return env


def ctl_json(ctl, ep, args, path=None):
    code, so, se = mt.run([ctl, "--endpoints", ep] + args, ENV3)
    if code != 0:
        raise RuntimeError(f"etcdctl {' '.join(args)} failed ({code}): {se.decode()}")
    if path:
        with open(path, "wb") as f:
            f.write(so)
    return json.loads(so)


def capture(argv, wait_exit=False, quiet=QUIET_SECONDS, first_timeout=10.0, exit_timeout=5.0):
    """Run ARGV, collecting stdout/stderr. wait_exit=False (a watch that streams forever):
    stop once stdout has been quiet for QUIET seconds after its first output (or nothing came
    within FIRST_TIMEOUT). wait_exit=True: wait up to EXIT_TIMEOUT for the process to exit.
    A process still running then gets SIGTERM (SIGKILL after 5 s).
    Returns dict(exit_code, exited_by_itself, stdout bytes, stderr bytes, seconds)."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ctl_env(),
                         start_new_session=True)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ, "stdout")
    sel.register(p.stderr, selectors.EVENT_READ, "stderr")
    buf = {"stdout": bytearray(), "stderr": bytearray()}
    start = last_out = time.monotonic()
    got_out = False

    def pump(timeout):
        nonlocal last_out, got_out
        for key, _ in sel.select(timeout):
            data = os.read(key.fileobj.fileno(), 65536)
            if not data:
                sel.unregister(key.fileobj)
                continue
            buf[key.data] += data
            if key.data == "stdout":
                last_out, got_out = time.monotonic(), True

    while sel.get_map():
        now = time.monotonic()
        if wait_exit:
            if now - start >= exit_timeout:
                break
        elif (got_out and now - last_out >= quiet) or (not got_out and now - start >= first_timeout):
            break
        pump(0.1)
    exited = p.poll() is not None or not sel.get_map()
    if exited:
        p.wait(timeout=10)
    else:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    while sel.get_map():  # whatever was still in the pipes
        pump(0.5)
    sel.close()
    p.stdout.close()
    p.stderr.close()
    return {"exit_code": p.returncode, "exited_by_itself": exited,
            "stdout": bytes(buf["stdout"]), "stderr": bytes(buf["stderr"]),
            "seconds": round(time.monotonic() - start, 2)}


def watch_events(jsonl):
    """etcdctl watch -w json output -> [(mod_revision, type, key, value, lease)]."""
    out = []
    for line in jsonl.splitlines():
        if not line.strip():
            continue
        resp = json.loads(line)
        for ev in resp.get("Events") or []:
            kv = ev["kv"]
            typ = {0: "PUT", 1: "DELETE"}[ev.get("type", 0)]
            out.append((int(kv["mod_revision"]), typ, ub64(kv["key"]), ub64(kv.get("value")),
                        int(kv.get("lease", 0))))
    return out


def kvs_of(get_json):
    return {ub64(kv["key"]): kv for kv in get_json.get("kvs") or []}


# --------------------------------------------------------------------------
# restore
# --------------------------------------------------------------------------
class RestoredEtcd(mt.Etcd):
    """An etcd member started on a data dir made by `snapshot restore`.

    The restore is run with this member's name, peer URL and cluster token, so the restored
    membership matches the flags start() passes; etcd finds the restored WAL and restarts
    from it (the --initial-cluster* flags are then ignored)."""

    def restore(self, snapshot):
        flags = ["--data-dir", self.data_dir, "--name", mt.MEMBER_NAME,
                 "--initial-cluster", f"{mt.MEMBER_NAME}={self.peer_url}",
                 "--initial-advertise-peer-urls", self.peer_url,
                 "--initial-cluster-token", mt.CLUSTER_TOKEN]
        if self.bins.get("etcdutl"):
            argv, env = [self.bins["etcdutl"], "snapshot", "restore", snapshot] + flags, {}
        else:
            argv, env = [self.bins["etcdctl"], "snapshot", "restore", snapshot] + flags, ENV3
        code, so, se = mt.run(argv, env)
        rec = {"tool": os.path.basename(argv[0]), "args": argv[1:],
               "env": env, "exit_code": code,
               "stdout": so.decode("utf-8", "backslashreplace"),
               "stderr": se.decode("utf-8", "backslashreplace")}
        if code != 0:
            raise RuntimeError(f"snapshot restore failed ({code}): {rec['stderr']}")
        return rec


def restore_and_record(version, tools, snapshot, tmp, random_ports, exp, stem, started):
    os.makedirs(tmp)
    e = RestoredEtcd(version, tools, tmp, random_ports=random_ports)
    rec = e.restore(snapshot)
    rec["args"] = [os.path.basename(a) if a == snapshot else a for a in rec["args"]]
    with open(os.path.join(exp, f"restore-{stem}.json"), "w") as f:
        json.dump(rec, f, indent=1)
        f.write("\n")
    started.append(e)
    e.start()
    got = ctl_json(tools["etcdctl"], e.client_url, ["get", "", "--prefix", "-w", "json"],
                   os.path.join(exp, f"restored-{stem}.json"))
    status = ctl_json(tools["etcdctl"], e.client_url, ["endpoint", "status", "-w", "json"],
                      os.path.join(exp, f"restored-{stem}-status.json"))
    leases = {"list": ctl_json(tools["etcdctl"], e.client_url, ["lease", "list", "-w", "json"]),
              "timetolive": {}}
    for lid in lease_ids(leases["list"]):
        leases["timetolive"]["%x" % lid] = ctl_json(
            tools["etcdctl"], e.client_url, ["lease", "timetolive", "%x" % lid, "--keys", "-w", "json"])
    with open(os.path.join(exp, f"restored-{stem}-leases.json"), "w") as f:
        json.dump(leases, f, indent=1)
        f.write("\n")
    code = e.stop()
    return got, status, code, leases


# --------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------
def classify(old, new):
    """{key: class} from two `get -w json` outputs, by the definitions of `diff`."""
    o, n = kvs_of(old), kvs_of(new)
    out = {}
    for key in set(o) | set(n):
        if key not in o:
            out[key] = "lost"
        elif key not in n:
            out[key] = "reappear"
        elif ub64(o[key].get("value")) != ub64(n[key].get("value")):
            out[key] = "revert"
        elif o[key]["mod_revision"] != n[key]["mod_revision"]:
            out[key] = "rewritten"
        else:
            out[key] = "unchanged"
    return out


def check(cond, msg, problems):
    if not cond:
        problems.append(msg)


def lease_ids(j):  # `lease list -w json`; 3.5.1 prints "id"; accept "ID" too
    return sorted(int(x.get("id", x.get("ID"))) for x in j.get("leases") or [])


def k8s_objects(get_json):
    """{key: kw.describe(value)} for the Kubernetes protobuf values of a `get -w json`."""
    out = {}
    for key, kv in kvs_of(get_json).items():
        value = ub64(kv.get("value"))
        if key.startswith(b"/registry/") and value.startswith(kw.MAGIC):
            out[key] = kw.describe(value)
    return out


def compute_hazards(got_old, got_new, leases_old, leases_new, problems):
    """The restore hazards of restoring OLD over NEW, decoded from the restored keyspaces and
    the restored members' leases (same shape as HAZARDS + "revision")."""
    o, n = k8s_objects(got_old), k8s_objects(got_new)
    o_uids, n_uids = {}, {}
    for objs, uids in ((o, o_uids), (n, n_uids)):
        for key, d in objs.items():
            check(d["uid"] not in uids, f"uid {d['uid']} used by two objects", problems)
            uids[d["uid"]] = d
    orphans = []
    for key in sorted(o):
        for ref in o[key].get("ownerReferences", []):
            if ref["uid"] in o_uids:
                owner = o_uids[ref["uid"]]
            elif ref["uid"] in n_uids:
                owner = n_uids[ref["uid"]]
            else:
                owner = None
            if owner is not None:  # the uid must name the object the reference names
                check((owner["kind"], owner["name"]) == (ref["kind"], ref["name"])
                      and owner.get("namespace") in (None, o[key].get("namespace")),
                      f"{mt.esc(key)}: ownerReference {ref} names uid of {owner['kind']} "
                      f"{owner['name']}", problems)
            if ref["uid"] not in o_uids:
                orphans.append({"key": mt.esc(key), "owner_uid": ref["uid"],
                                "owner_kind": ref["kind"], "owner_name": ref["name"],
                                "owner_in_new": ref["uid"] in n_uids})
    o_nodes = {d["name"] for d in o.values() if d["kind"] == "Node"}
    n_nodes = {d["name"] for d in n.values() if d["kind"] == "Node"}
    pods = [{"key": mt.esc(key), "node": d["spec.nodeName"], "node_in_new": d["spec.nodeName"] in n_nodes}
            for key, d in sorted(o.items())
            if d["kind"] == "Pod" and d["spec.nodeName"] and d["spec.nodeName"] not in o_nodes]
    new_ids = set(lease_ids(leases_new["list"]))
    o_kvs = kvs_of(got_old)
    gone = []
    for lid in lease_ids(leases_old["list"]):
        if lid in new_ids:
            continue
        keys = sorted(key for key, kv in o_kvs.items() if int(kv.get("lease", 0)) == lid)
        ttl = leases_old["timetolive"]["%x" % lid]
        ttl_keys = sorted(ub64(x) for x in ttl.get("keys") or [])
        check(ttl_keys == keys, f"lease {lid:x}: timetolive keys {ttl_keys} != keys "
              f"attached in restored-old {keys}", problems)
        gone.append({"id": lid, "ttl": int(ttl["granted-ttl"]), "keys": [mt.esc(x) for x in keys]})
    return {"orphans": orphans, "pods_on_missing_nodes": pods, "leases_gone": gone,
            "revision": {"old": int(got_old["header"]["revision"]),
                         "new": int(got_new["header"]["revision"])}}


# --------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--version", required=True, choices=["3.5.1", "3.4.23"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--random-ports", action="store_true",
                    help="always use random free ports (for runs in parallel)")
    a = ap.parse_args()

    bins = etcd_bins.find_bins()
    if a.version not in bins:
        sys.exit(f"etcd {a.version} not found; run scripts/install-etcd.sh (found: {bins})")
    tools = etcd_bins.tools(a.version, bins[a.version])
    ctl = tools["etcdctl"]
    kube = K8s()  # verifies the fixtures' field numbers before anything starts

    out = os.path.abspath(a.out)
    if os.path.exists(out):
        shutil.rmtree(out)
    exp = os.path.join(out, "expected")
    os.makedirs(exp)

    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix=f"etcdscope-diffdata-{a.version}-")
    started = []
    try:
        # ---- live member: phase 1, OLD, phase 2, NEW -------------------------
        etcd = mt.Etcd(a.version, tools, os.path.join(tmp, "live"), random_ports=a.random_ports)
        os.makedirs(etcd.tmp)
        started.append(etcd)
        etcd.start()
        ep = etcd.client_url
        w = Writer(mt.Gateway(etcd.client_port))
        marks, objs, gone_before_old = phase1(w, kube)
        old_objs = dict(objs)

        def snapshot(name):
            path = os.path.join(out, name)
            code, so, se = mt.run([ctl, "--endpoints", ep, "snapshot", "save", path], ENV3)
            if code != 0:
                raise RuntimeError(f"snapshot save failed: {se.decode()}")
            os.chmod(path, 0o644)
            if os.path.exists(path + ".part"):
                os.remove(path + ".part")
            return path

        marks["old_rev"] = w.gw.current_rev()
        old_db = snapshot("old.db")
        live_old = ctl_json(ctl, ep, ["get", "", "--prefix", "-w", "json"],
                            os.path.join(exp, "live-old.json"))
        lease_old = ctl_json(ctl, ep, ["lease", "list", "-w", "json"],
                             os.path.join(exp, "lease-list-old.json"))
        ctl_json(ctl, ep, ["endpoint", "status", "-w", "json"],
                 os.path.join(exp, "endpoint-status-old.json"))
        if w.gw.current_rev() != marks["old_rev"]:
            raise RuntimeError("revision moved while recording OLD")

        phase2(w, kube, objs)
        marks["new_rev"] = w.gw.current_rev()
        w.gw.close()
        new_db = snapshot("new.db")
        live_new = ctl_json(ctl, ep, ["get", "", "--prefix", "-w", "json"],
                            os.path.join(exp, "live-new.json"))
        lease_new = ctl_json(ctl, ep, ["lease", "list", "-w", "json"],
                             os.path.join(exp, "lease-list-new.json"))
        ctl_json(ctl, ep, ["endpoint", "status", "-w", "json"],
                 os.path.join(exp, "endpoint-status-new.json"))

        C = marks["compact_rev"]
        watches = {}
        for stem, rev in (("watch-from-compact", C), ("watch-from-old", marks["old_rev"] + 1)):
            args = ["--endpoints", ep, "watch", "--prefix", "", "--rev", str(rev), "-w", "json"]
            res = capture([ctl] + args)
            with open(os.path.join(exp, stem + ".jsonl"), "wb") as f:
                f.write(res["stdout"])
            watches[stem] = {"args": args, "rev": rev, "exit_code": res["exit_code"],
                             "exited_by_itself": res["exited_by_itself"],
                             "stderr": res["stderr"].decode("utf-8", "backslashreplace"),
                             "seconds": res["seconds"], "stdout": f"expected/{stem}.jsonl"}
        args = ["--endpoints", ep, "watch", "--prefix", "", "--rev", str(C - 1), "-w", "json"]
        res = capture([ctl] + args, wait_exit=True)
        below = {"args": args, "rev": C - 1, "exit_code": res["exit_code"],
                 "exited_by_itself": res["exited_by_itself"],
                 "stdout": res["stdout"].decode("utf-8", "backslashreplace"),
                 "stderr": res["stderr"].decode("utf-8", "backslashreplace"),
                 "seconds": res["seconds"]}
        with open(os.path.join(exp, "watch-below-compact.json"), "w") as f:
            json.dump(below, f, indent=1)
            f.write("\n")
        if w.gw.current_rev() != marks["new_rev"]:
            raise RuntimeError("revision moved while recording NEW")
        live_rc = etcd.stop()

        # ---- restores ------------------------------------------------------------
        restored = {}
        for stem, db in (("old", old_db), ("new", new_db)):
            restored[stem] = restore_and_record(a.version, tools, db,
                                                os.path.join(tmp, "restored-" + stem),
                                                a.random_ports, exp, stem, started)
    finally:
        for e in reversed(started):
            e.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    # ---- checks: intent vs restored keyspaces, watches vs writes --------------------
    problems = []
    got_old, got_new = restored["old"][0], restored["new"][0]
    for stem, live, got in (("old", live_old, got_old), ("new", live_new, got_new)):
        check(live["kvs"] == got["kvs"], f"restored-{stem}: kvs differ from the live member's", problems)
        check(int(got["header"]["revision"]) == marks[f"{stem}_rev"],
              f"restored-{stem}: header revision {got['header']['revision']} != {marks[stem + '_rev']}",
              problems)
    computed = classify(got_old, got_new)
    intent = {(key if isinstance(key, bytes) else key.encode()): cls for key, cls, _, _ in SCENARIO}
    for key in sorted(set(computed) | set(intent)):
        check(computed.get(key) == intent.get(key),
              f"{mt.esc(key)}: intended {intent.get(key)}, restored snapshots say {computed.get(key)}",
              problems)
    o_kvs, n_kvs = kvs_of(got_old), kvs_of(got_new)
    scenario = []
    for key, cls, parts, note in SCENARIO:
        kb = key if isinstance(key, bytes) else key.encode()
        e = {"key": mt.esc(kb), "key_b64": b64(kb), "class": cls, "note": note}
        if kb in o_kvs and kb in n_kvs and ub64(o_kvs[kb].get("value")).startswith(kw.MAGIC):
            got_parts = kw.changed_parts(ub64(o_kvs[kb]["value"]), ub64(n_kvs[kb]["value"]))
            check(got_parts == (parts or []),
                  f"{mt.esc(kb)}: intended changed parts {parts}, values differ in {got_parts}", problems)
        if parts:
            e["changed"] = parts
        scenario.append(e)
    expected_all = [ev for ev in w.events if ev[0] >= C]
    expected_p2 = [ev for ev in w.events if ev[0] > marks["old_rev"]]
    for stem, want in (("watch-from-compact", expected_all), ("watch-from-old", expected_p2)):
        with open(os.path.join(exp, stem + ".jsonl"), "rb") as f:
            got = watch_events(f.read())
        check(got == want, f"{stem}: {len(got)} events, the writes made {len(want)} (or they differ)",
              problems)
        watches[stem]["events"] = len(got)
    check(below["exit_code"] != 0 or "compacted" in below["stderr"],
          "watch below the compaction revision was not refused", problems)
    old_leases, new_leases = lease_ids(lease_old), lease_ids(lease_new)
    check(old_leases == [L1, L2], f"lease list at OLD: {old_leases}", problems)
    check(new_leases == [L1], f"lease list at NEW: {new_leases}", problems)
    leases_r = {s: restored[s][3] for s in restored}
    for stem, live in (("old", old_leases), ("new", new_leases)):
        check(lease_ids(leases_r[stem]["list"]) == live,
              f"restored-{stem}: leases {lease_ids(leases_r[stem]['list'])} != live {live}", problems)
    for stem, lid, want in (("old", L1, L1_KEYS), ("old", L2, L2_KEYS), ("new", L1, L1_KEYS)):
        ttl = leases_r[stem]["timetolive"].get("%x" % lid, {})
        got = sorted(mt.esc(ub64(x)) for x in ttl.get("keys") or [])
        check(got == want and int(ttl.get("granted-ttl", -1)) == LEASE_TTL,
              f"restored-{stem}: lease {lid:x} has keys {got}, granted-ttl "
              f"{ttl.get('granted-ttl')} (want {want}, {LEASE_TTL})", problems)

    # ---- hazards: intent vs what the restored snapshots give ------------------------
    hazards = dict(HAZARDS, revision={"old": marks["old_rev"], "new": marks["new_rev"]})
    got_hazards = compute_hazards(got_old, got_new, leases_r["old"], leases_r["new"], problems)
    for part in hazards:
        check(got_hazards[part] == hazards[part],
              f"hazards.{part}: intended {hazards[part]}, restored snapshots give "
              f"{got_hazards[part]}", problems)
    check(hazards["revision"]["old"] < hazards["revision"]["new"],
          "revision does not go backwards", problems)
    # the objects deleted before OLD are in neither restored keyspace
    for key in gone_before_old:
        check(k(key) not in kvs_of(got_old) and k(key) not in kvs_of(got_new),
              f"{key}: deleted before OLD but restored", problems)

    # ---- meta.json ----------------------------------------------------------
    for op in w.ops:
        marks["op:" + op["name"]] = op["rev"]
    objects = []
    for key in sorted(set(old_objs) | set(objs)):
        val_new = objs.get(key)
        d = {"key": key, "encoding": "protobuf"}
        if key in old_objs:
            d["old"] = kw.describe(old_objs[key])
        if val_new is not None:
            d["new"] = kw.describe(val_new)
        objects.append(d)
    meta = {
        "etcd_version": a.version,
        "etcd_binary": tools["etcd"],
        "etcdctl_version": mt.run([ctl, "version"], ENV3)[1].decode().strip(),
        "restore_tool": "etcdutl" if tools.get("etcdutl") else "etcdctl (ETCDCTL_API=3)",
        "member_name": mt.MEMBER_NAME,
        "initial_cluster_token": mt.CLUSTER_TOKEN,
        "marks": marks,
        "ops": w.ops,
        "leases": {"L1": {"id": L1, "id_hex": "%x" % L1, "ttl": LEASE_TTL,
                          "keys": L1_KEYS, "in_new": True},
                   "L2": {"id": L2, "id_hex": "%x" % L2, "ttl": LEASE_TTL, "keys": L2_KEYS,
                          "in_new": False, "revoked_rev": marks["op:revoke_L2"]}},
        "uids": UIDS,
        "objects": objects,
        "objects_deleted_before_old": [
            {"key": key, "encoding": "protobuf", "rev_deleted": g["rev_deleted"],
             "last": kw.describe(g["value"])} for key, g in sorted(gone_before_old.items())],
        "scenario": scenario,
        "hazards": hazards,
        "watch": watches,
        "watch_below_compact": {k2: below[k2] for k2 in ("rev", "exit_code", "exited_by_itself")},
        "writes": [{"rev": ev[0], "type": ev[1], "key": mt.esc(ev[2]), "key_b64": b64(ev[2]),
                    "value_len": len(ev[3]), **({"lease": ev[4]} if ev[4] else {})}
                   for ev in w.events],
        "live_etcd_exit_code": live_rc,
        "restored_etcd_exit_codes": {s: restored[s][2] for s in restored},
        "files": {
            "old.db": "etcdctl snapshot save at marks.old_rev",
            "new.db": "etcdctl snapshot save at marks.new_rev",
            "expected/watch-from-compact.jsonl": "etcdctl watch --prefix \"\" --rev compact_rev -w json (stdout)",
            "expected/watch-from-old.jsonl": "etcdctl watch --prefix \"\" --rev old_rev+1 -w json (stdout)",
            "expected/watch-below-compact.json": "watch --rev compact_rev-1: args, exit_code, stdout, stderr",
            "expected/lease-list-{old,new}.json": "etcdctl lease list -w json at OLD / NEW time",
            "expected/endpoint-status-{old,new}.json": "etcdctl endpoint status -w json at OLD / NEW time",
            "expected/live-{old,new}.json": "etcdctl get \"\" --prefix -w json on the live member at OLD / NEW",
            "expected/restore-{old,new}.json": "the restore command: tool, args, exit_code, stdout, stderr",
            "expected/restored-{old,new}.json": "etcdctl get \"\" --prefix -w json on etcd started on the restored data dir",
            "expected/restored-{old,new}-status.json": "etcdctl endpoint status -w json on the restored member",
            "expected/restored-{old,new}-leases.json": "on the restored member: {list: lease list -w json, "
                                                       "timetolive: {id hex: lease timetolive ID --keys -w json}}",
        },
        "generated_by": "scripts/make_diff_data.py",
    }
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")

    if problems:
        print(f"FAILED: {len(problems)} check(s) failed (output kept in {out}):", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        sys.exit(1)

    counts = {}
    for e in scenario:
        counts[e["class"]] = counts.get(e["class"], 0) + 1
    below_err = [ln for ln in below["stderr"].splitlines() if ln.strip()]
    print(f"etcd {a.version}: revisions {marks['first_rev']}..{marks['new_rev']}, compacted at "
          f"C={C}, old.db at {marks['old_rev']}, new.db at {marks['new_rev']}; "
          f"{len(scenario)} keys ({', '.join(f'{n} {c}' for c, n in sorted(counts.items()))}) match "
          f"the restored snapshots ({meta['restore_tool']} restore); watch from C printed "
          f"{watches['watch-from-compact']['events']} events, from OLD+1 "
          f"{watches['watch-from-old']['events']}, both equal to the writes made; watch from C-1 "
          f"{'exited with code %s' % below['exit_code'] if below['exited_by_itself'] else 'did not exit (killed)'}"
          f" ({below_err[-1] if below_err else 'no stderr'}); leases at OLD {len(old_leases)}, "
          f"at NEW {len(new_leases)}; hazards match ({len(hazards['orphans'])} orphans, "
          f"{len(hazards['pods_on_missing_nodes'])} pod(s) on missing nodes, "
          f"{len(hazards['leases_gone'])} lease(s) gone, revision {hazards['revision']['new']} -> "
          f"{hazards['revision']['old']}); output in {out} ({time.time() - t0:.1f}s).")


if __name__ == "__main__":
    main()
