#!/usr/bin/env python3
"""Generate ground-truth test data from a REAL etcd.

    python3 scripts/make_testdata.py --version 3.5.1 --out testdata/etcd-3.5.1 \
        [--etcdscope target/debug/etcdscope] [--scale 1]

What it does (see testdata/README.md for the resulting file layout):
  1. starts one etcd of the requested version on 127.0.0.1 (free client + peer
     ports, fresh temp data dir), waits for /health;
  2. writes a fixed, seeded keyspace through the JSON gRPC gateway
     (/v3/kv/put, /v3/kv/txn, /v3/kv/deleterange, /v3/lease/grant,
     /v3/kv/compaction), logging every request's revision to writes.json;
  3. with no writes in between: `etcdctl snapshot save`, snapshot status
     (etcdutl for 3.5, etcdctl for 3.4), endpoint status, member list;
  4. records `etcdctl get` for a list of cases in formats json/simple/fields
     (stdout bytes exactly, exit code, stderr) -> cases.json + expected/get/;
  5. optionally runs the etcdscope binary against the LIVE data dir -> live/;
  6. stops etcd (SIGTERM, then SIGKILL), copies member/snap/db -> member-db,
     records snapshot status of that copy, removes the temp dir.

Only the Python standard library is used.
"""
import argparse
import base64
import contextlib
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import etcd_bins  # noqa: E402

SEED = 20240607
LEASE_A = 0x6574636473636F70  # "etcdscop" as big-endian int64 (fixed => deterministic)
LEASE_B = 0x1000
LEASE_TTL = 3600
QUOTA_BYTES = 4 * 1024 * 1024 * 1024
CLUSTER_TOKEN = "etcdscope-testdata"
MEMBER_NAME = "etcdscope-testdata"
PREFERRED_PORTS = (42379, 42380)  # client, peer (used only if both are free)
TXN_BATCH = 100  # below etcd's default --max-txn-ops (128)


def esc(b):
    """Printable-ASCII rendering of a byte string (\\xNN for everything else)."""
    out = []
    for c in b:
        if c == 0x5C:
            out.append("\\\\")
        elif 0x20 <= c < 0x7F:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


def b64(b):
    return base64.b64encode(b).decode("ascii")


def port_is_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # like Go's net.Listen: a port only held by TIME_WAIT connections is usable
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------
# JSON gRPC gateway client
# --------------------------------------------------------------------------
class Gateway:
    def __init__(self, port):
        self.port = port
        self.conn = None
        self.log = []

    def _conn(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return self.conn

    def call(self, path, body, method="POST"):
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(3):
            try:
                c = self._conn()
                c.request(method, path, body=data,
                          headers={"Content-Type": "application/json"} if data else {})
                r = c.getresponse()
                raw = r.read()
                if r.status != 200:
                    raise RuntimeError(f"{path}: HTTP {r.status}: {raw[:500]!r}")
                return json.loads(raw)
            except (http.client.HTTPException, ConnectionError, OSError):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                time.sleep(0.2)

    @contextlib.contextmanager
    def run_summary(self, note):
        """Collapse the puts made inside the block into one writes.json entry."""
        start = len(self.log)
        yield
        run = self.log[start:]
        del self.log[start:]
        if run:
            self.log.append({"op": "put-run", "n": len(run), "first_rev": run[0]["rev"],
                             "last_rev": run[-1]["rev"], "first_key": run[0]["key"],
                             "last_key": run[-1]["key"], "note": note})

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    @staticmethod
    def rev(resp):
        return int(resp["header"]["revision"])

    @staticmethod
    def _vdesc(value):
        d = {"value_len": len(value)}
        if len(value) <= 64:
            d["value_b64"] = b64(value)
            d["value"] = esc(value)
        else:
            d["value_sha256"] = hashlib.sha256(value).hexdigest()
        return d

    # -- operations, each appended to self.log ---------------------------------
    def put(self, key, value, lease=0, note=None):
        body = {"key": b64(key), "value": b64(value)}
        if lease:
            body["lease"] = str(lease)
        rev = self.rev(self.call("/v3/kv/put", body))
        e = {"op": "put", "rev": rev, "key": esc(key), "key_b64": b64(key)}
        e.update(self._vdesc(value))
        if lease:
            e["lease"] = lease
        if note:
            e["note"] = note
        self.log.append(e)
        return rev

    def delete(self, key, range_end=None, note=None):
        body = {"key": b64(key)}
        if range_end is not None:
            body["range_end"] = b64(range_end)
        resp = self.call("/v3/kv/deleterange", body)
        rev = self.rev(resp)
        e = {"op": "delete", "rev": rev, "key": esc(key), "key_b64": b64(key),
             "deleted": int(resp.get("deleted", 0))}
        if range_end is not None:
            e["range_end"] = esc(range_end)
            e["range_end_b64"] = b64(range_end)
        if note:
            e["note"] = note
        self.log.append(e)
        return rev

    def txn(self, ops, note=None, summarize=False):
        """ops: list of ("put", key, value) / ("delete", key) / ("delete", key, end)."""
        success = []
        logged = []
        for op in ops:
            if op[0] == "put":
                success.append({"request_put": {"key": b64(op[1]), "value": b64(op[2])}})
                d = {"op": "put", "key": esc(op[1])}
                d.update(self._vdesc(op[2]))
            else:
                req = {"key": b64(op[1])}
                d = {"op": "delete", "key": esc(op[1])}
                if len(op) > 2:
                    req["range_end"] = b64(op[2])
                    d["range_end"] = esc(op[2])
                success.append({"request_delete_range": req})
            logged.append(d)
        resp = self.call("/v3/kv/txn", {"compare": [], "success": success, "failure": []})
        if not resp.get("succeeded"):
            raise RuntimeError(f"txn did not succeed: {resp}")
        rev = self.rev(resp)
        e = {"op": "txn", "rev": rev, "n_ops": len(ops)}
        if summarize:
            e["first_key"] = logged[0]["key"]
            e["last_key"] = logged[-1]["key"]
        else:
            e["ops"] = logged
        if note:
            e["note"] = note
        self.log.append(e)
        return rev

    def lease_grant(self, lease_id, ttl):
        resp = self.call("/v3/lease/grant", {"TTL": str(ttl), "ID": str(lease_id)})
        got = int(resp["ID"])
        if got != lease_id:
            raise RuntimeError(f"lease grant returned ID {got}, wanted {lease_id}")
        rev = self.rev(resp)
        self.log.append({"op": "lease_grant", "rev": rev, "lease": lease_id, "ttl": ttl})
        return rev

    def compact(self, revision):
        resp = self.call("/v3/kv/compaction", {"revision": str(revision), "physical": True})
        rev = self.rev(resp)
        self.log.append({"op": "compaction", "rev": rev, "compact_revision": revision,
                         "physical": True})
        return rev

    def current_rev(self):
        resp = self.call("/v3/kv/range", {"key": b64(b"\x00"), "count_only": True})
        return self.rev(resp)


# --------------------------------------------------------------------------
# Keyspace
# --------------------------------------------------------------------------
def pattern_text(n, tag):
    """Deterministic printable ASCII of exactly n bytes."""
    unit = (f"[{tag}] The quick brown fox jumps over the lazy dog 0123456789. ").encode()
    out = bytearray()
    i = 0
    while len(out) < n:
        out += b"%07d " % i + unit
        i += 1
    return bytes(out[:n])


def write_keyspace(gw, scale, rng):
    marks = {}
    n_small = 3000 * scale
    n_batched = (2 * n_small) // 3

    def small_key(i):
        return b"/small/k%06d" % i

    def small_val(i, gen=0):
        hx = "%x" % rng.getrandbits(4 * rng.randint(4, 48))
        return (f"v{i:06d}.{gen}-" + hx).encode()

    marks["first_rev"] = gw.current_rev() + 1
    # 1. thousands of small keys: most in big txns (one revision, many subs) ...
    for start in range(0, n_batched, TXN_BATCH):
        ops = [("put", small_key(i), small_val(i))
               for i in range(start, min(start + TXN_BATCH, n_batched))]
        gw.txn(ops, note="small keys batch", summarize=True)
    # ... the rest as single puts (one revision each); logged as one summary entry
    with gw.run_summary("small keys, one put each"):
        for i in range(n_batched, n_small):
            gw.put(small_key(i), small_val(i))
    # some small keys updated once more (version 2)
    with gw.run_summary("every 97th small key updated once (version 2)"):
        for i in range(0, n_small, 97):
            gw.put(small_key(i), small_val(i, 1))
    marks["small_done_rev"] = gw.current_rev()

    # 2. structured prefixes
    for c in "abcdefghij":
        gw.put(b"/range/" + c.encode(), b"range value " + c.encode())
    for ns, name in [("default", "nginx"), ("default", "redis"), ("kube-system", "coredns")]:
        gw.put(f"/registry/pods/{ns}/{name}".encode(),
               json.dumps({"kind": "Pod", "metadata": {"name": name, "namespace": ns}},
                          sort_keys=True).encode())
    # sort keys: key order, value order, create order and mod order all differ
    sort_vals = {"d": b"banana", "a": b"cherry", "c": b"apple", "b": b"date", "e": b"elder"}
    for k in ["d", "a", "c", "b", "e"]:
        gw.put(b"/sort/" + k.encode(), sort_vals[k])
    for k in ["a", "b", "a"]:  # versions: a=3, b=2, others 1; mod order b<a
        gw.put(b"/sort/" + k.encode(), sort_vals[k])
    gw.put(b"/sort/c", b"apple")  # c modified last, version 2

    # 3. empty values
    gw.put(b"/empty/a", b"")
    gw.put(b"/empty/b", b"")
    gw.put(b"/empty/c", b"not empty yet")
    gw.put(b"/empty/c", b"", note="empty value after non-empty")

    # 4. binary keys and non-UTF-8 values
    gw.put(b"\x00", b"key is a single NUL byte")
    gw.put(b"\x00\x01\x02", b"\x00\x01\x02\x03")
    gw.put(b"/bin/nul\x00in-key", b"value for key with NUL")
    gw.put(b"/bin/\xff\xfe", b"\xff\xfe\xfd\xfc non-utf8 \x80\x81")
    gw.put(b"/bin/mixed\x00\xff\x7f\x01", bytes(range(256)))
    gw.put(b"/bin/utf8-\xc3\xa9\xe2\x82\xac", "caf\u00e9 \u20ac \U0001F600".encode("utf-8"))
    gw.put(b"/bin/tab\tnewline\nquote\"", b"line1\nline2\r\n\ttabbed \"quoted\" \\ back")
    gw.put(b"/bin/latin1", "\u00e9t\u00e9".encode("latin-1"))
    gw.put(b"\xff", b"key is a single 0xff byte")
    gw.put(b"\xff\xfe\x00z", bytes(rng.getrandbits(8) for _ in range(40)))

    # 5. values larger than a 4096-byte page
    gw.put(b"/big/5000", bytes(rng.getrandbits(8) for _ in range(5000)),
           note="random binary, > 1 page")
    gw.put(b"/big/20000", pattern_text(20000, "20000"), note="ascii, 5 pages")
    gw.put(b"/big/200000", pattern_text(200000, "200000"), note="ascii, ~49 pages")

    # 6. leases (long TTL, nothing expires during the run)
    gw.lease_grant(LEASE_A, LEASE_TTL)
    gw.lease_grant(LEASE_B, LEASE_TTL)
    gw.put(b"/lease/a1", b"attached to lease A", lease=LEASE_A)
    gw.put(b"/lease/a2", b"attached to lease A too", lease=LEASE_A)
    gw.put(b"/lease/b1", b"attached to lease B", lease=LEASE_B)

    # 7. history: updates, deletes, re-creates
    for v in range(1, 4):
        gw.put(b"/hist/updated", b"updated v%d" % v)
    gw.put(b"/hist/deleted", b"will be deleted")
    gw.put(b"/hist/recreated", b"first life")
    gw.put(b"/hist/after-compact-delete", b"deleted after the compaction")
    for i in range(1, 6):
        gw.put(b"/hist/rdel/%d" % i, b"range-deleted %d" % i)
    gw.put(b"/hist/kept", b"never touched again")
    marks["compact_rev"] = gw.current_rev()  # compaction target (a middle revision)

    gw.put(b"/hist/updated", b"updated v4")
    gw.delete(b"/hist/deleted", note="single delete -> tombstone")
    gw.delete(b"/hist/recreated", note="delete before re-create")
    gw.put(b"/hist/recreated", b"second life", note="re-created: create_revision reset, version 1")
    gw.delete(b"/hist/rdel/", b"/hist/rdel0", note="range delete (5 tombstones, one revision)")
    gw.put(b"/hist/updated", b"updated v5")

    # 8. a txn that puts several keys at once (same revision, different sub),
    #    and one that mixes puts and a delete
    gw.txn([("put", b"/txn/a", b"txn value a"), ("put", b"/txn/b", b"txn value b"),
            ("put", b"/txn/c", b"txn value c"), ("put", b"/txn/d", b"")],
           note="multi-put txn")
    gw.txn([("put", b"/txn/e", b"txn value e"), ("delete", b"/txn/d"),
            ("put", b"/txn/a", b"txn value a v2")],
           note="put+delete txn")
    marks["pre_compaction_rev"] = gw.current_rev()

    # 9. compaction at the middle revision
    gw.compact(marks["compact_rev"])
    marks["after_compaction_rev"] = gw.current_rev()  # compaction does not bump the revision

    # 10. more writes after the compaction
    gw.put(b"/post/new1", b"written after compaction")
    marks["just_after_compaction_rev"] = gw.current_rev()
    gw.put(b"/hist/updated", b"updated v6 (after compaction)")
    gw.delete(b"/hist/after-compact-delete", note="delete after compaction")
    gw.put(b"/post/new2", b"also after compaction")
    gw.put(b"/post/new1", b"written after compaction v2")
    marks["final_rev"] = gw.current_rev()
    return marks


# --------------------------------------------------------------------------
# etcd process
# --------------------------------------------------------------------------
class Etcd:
    def __init__(self, version, bins, tmp, random_ports=False):
        self.version = version
        self.bins = bins
        self.tmp = tmp
        self.data_dir = os.path.join(tmp, "data")
        # Prefer fixed ports (member/cluster IDs are derived from the peer URL and
        # the cluster token, so fixed ports make the IDs reproducible); fall back
        # to random free ports when those are taken.
        if not random_ports and port_is_free(PREFERRED_PORTS[0]) and port_is_free(PREFERRED_PORTS[1]):
            self.client_port, self.peer_port = PREFERRED_PORTS
        else:
            self.client_port = free_port()
            self.peer_port = free_port()
            while self.peer_port == self.client_port:
                self.peer_port = free_port()
        self.client_url = f"http://127.0.0.1:{self.client_port}"
        self.peer_url = f"http://127.0.0.1:{self.peer_port}"
        self.log_path = os.path.join(tmp, "etcd.log")
        self.proc = None
        self.extra_args = []  # e.g. ["--unsafe-no-fsync"] for benchmark data

    def start(self):
        args = [
            self.bins["etcd"],
            "--name", MEMBER_NAME,
            "--data-dir", self.data_dir,
            "--listen-client-urls", self.client_url,
            "--advertise-client-urls", self.client_url,
            "--listen-peer-urls", self.peer_url,
            "--initial-advertise-peer-urls", self.peer_url,
            "--initial-cluster", f"{MEMBER_NAME}={self.peer_url}",
            "--initial-cluster-state", "new",
            "--initial-cluster-token", CLUSTER_TOKEN,
            "--quota-backend-bytes", str(QUOTA_BYTES),
            "--logger", "zap",
        ] + self.extra_args
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD")}
        self.logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.logf, stderr=subprocess.STDOUT,
                                     env=env, cwd=self.tmp, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"etcd exited early (code {self.proc.returncode}):\n"
                                   + self.log_tail())
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.client_port, timeout=2)
                c.request("GET", "/health")
                r = c.getresponse()
                body = r.read()
                c.close()
                if r.status == 200 and json.loads(body).get("health") == "true":
                    return
            except (OSError, http.client.HTTPException, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError("etcd did not become healthy:\n" + self.log_tail())

    def log_tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        """Always safe to call. Returns the exit code (None if never started)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self.logf.close()
        return self.proc.returncode


def run(args, env_extra=None, timeout=120):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL")}
    env.update(env_extra or {})
    p = subprocess.run(args, capture_output=True, env=env, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


# --------------------------------------------------------------------------
# etcdctl get cases
# --------------------------------------------------------------------------
FORMATS = ["json", "simple", "fields"]


def get_cases(m):
    """(name, [args after "get" as bytes], formats). Keys may be non-UTF-8 bytes."""
    C = m["compact_rev"]
    cur = m["final_rev"]
    b = lambda *xs: [x if isinstance(x, bytes) else str(x).encode() for x in xs]  # noqa: E731
    cases = [
        ("all", b("", "--prefix")),
        ("prefix-hist", b("/hist/", "--prefix")),
        ("prefix-bin", b("/bin/", "--prefix")),
        ("prefix-ff", b(b"\xff", "--prefix")),
        ("exact-key", b("/hist/updated")),
        ("exact-binary-key", b(b"/bin/\xff\xfe")),
        ("exact-utf8-key", b(b"/bin/utf8-\xc3\xa9\xe2\x82\xac")),
        ("missing-key", b("/does/not/exist")),
        ("deleted-key", b("/hist/deleted")),
        ("empty-value", b("/empty/c")),
        ("range", b("/range/c", "/range/g")),
        ("from-key", b("/sort/", "--from-key")),
        ("keys-only-all-limit", b("", "--prefix", "--keys-only", "--limit", "40")),
        ("keys-only-prefix", b("/hist/", "--prefix", "--keys-only")),
        ("count-only-all", b("", "--prefix", "--count-only")),
        ("count-only-prefix", b("/hist/", "--prefix", "--count-only")),
        ("limit-all", b("", "--prefix", "--limit", "3")),
        ("limit-small", b("/small/", "--prefix", "--limit", "5")),
        ("limit-exact-count", b("/range/", "--prefix", "--limit", "10")),
        ("rev-current-key", b("/hist/updated", "--rev", cur)),
        ("rev-compact-key", b("/hist/updated", "--rev", C)),
        ("rev-just-after-compaction-key", b("/hist/updated", "--rev", m["just_after_compaction_rev"])),
        ("rev-below-compaction", b("/hist/updated", "--rev", C - 1)),
        ("rev-future", b("/hist/updated", "--rev", cur + 1000)),
        ("rev-current-prefix", b("/hist/", "--prefix", "--rev", cur)),
        ("rev-compact-prefix", b("/hist/", "--prefix", "--rev", C)),
        ("rev-after-compaction-prefix", b("/hist/", "--prefix", "--rev", m["just_after_compaction_rev"])),
        ("rev-below-compaction-prefix", b("/hist/", "--prefix", "--rev", C - 1)),
        ("rev-compact-deleted-key", b("/hist/deleted", "--rev", C)),
        ("rev-compact-range", b("/bin/", "/small/", "--rev", C)),
        ("rev-after-compaction-range", b("/bin/", "/small/", "--rev", m["just_after_compaction_rev"])),
        ("rev-compact-count-only", b("", "--prefix", "--count-only", "--rev", C)),
        ("big-5000", b("/big/5000")),
        ("big-20000", b("/big/20000")),
        ("lease-key", b("/lease/a1")),
        ("prefix-lease", b("/lease/", "--prefix")),
        ("prefix-txn", b("/txn/", "--prefix")),
        ("sort-modify-descend", b("/sort/", "--prefix", "--sort-by=MODIFY", "--order=DESCEND")),
        ("sort-modify-ascend", b("/sort/", "--prefix", "--sort-by=MODIFY", "--order=ASCEND")),
        ("sort-create-descend", b("/sort/", "--prefix", "--sort-by=CREATE", "--order=DESCEND")),
        ("sort-value", b("/sort/", "--prefix", "--sort-by=VALUE")),
        ("sort-value-descend", b("/sort/", "--prefix", "--sort-by=VALUE", "--order=DESCEND")),
        ("sort-version-descend", b("/sort/", "--prefix", "--sort-by=VERSION", "--order=DESCEND")),
        ("sort-key-descend", b("/sort/", "--prefix", "--sort-by=KEY", "--order=DESCEND")),
        ("order-descend", b("/sort/", "--prefix", "--order=DESCEND")),
        ("sort-descend-limit", b("/sort/", "--prefix", "--sort-by=MODIFY", "--order=DESCEND", "--limit", "2")),
        ("print-value-only", b("/hist/updated", "--print-value-only")),
        ("print-value-only-prefix", b("/range/", "--prefix", "--print-value-only")),
        ("print-value-only-binary", b("/bin/", "--prefix", "--print-value-only")),
    ]
    return cases


def record_gets(ctl, endpoint, out, marks):
    getdir = os.path.join(out, "expected", "get")
    os.makedirs(getdir, exist_ok=True)
    records = []
    for name, args in get_cases(marks):
        for fmt in FORMATS:
            cmd = [ctl, "--endpoints", endpoint, "-w", fmt, "get"] + args
            code, so, se = run(cmd, {"ETCDCTL_API": "3"})
            rel = f"expected/get/{name}.{fmt}"
            with open(os.path.join(out, rel), "wb") as f:
                f.write(so)
            try:
                json_args = [a.decode("utf-8") for a in args]
                args_b64 = None
            except UnicodeDecodeError:
                json_args = [esc(a) for a in args]
                args_b64 = [b64(a) for a in args]
            stderr = se.decode("utf-8", "backslashreplace")
            rec = {"name": name, "args": json_args, "format": fmt, "stdout": rel,
                   "exit_code": code, "stderr": stderr}
            # stderr may hold timestamped client log lines; "error" is the stable part
            errs = [ln for ln in stderr.splitlines() if ln.startswith("Error:")]
            if errs:
                rec["error"] = errs[-1]
            if args_b64 is not None:
                rec["args_b64"] = args_b64
                rec["args_note"] = "args contain non-UTF-8 bytes: 'args' is escaped (\\xNN), 'args_b64' is exact"
            records.append(rec)
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(records, f, indent=1)
        f.write("\n")
    return records


def snapshot_status(version, tools, path, out, stem):
    """Record `snapshot status` (json + table) of PATH as expected/STEM.{json,txt}."""
    if tools.get("etcdutl"):
        base, env = [tools["etcdutl"]], {}
    else:
        base, env = [tools["etcdctl"]], {"ETCDCTL_API": "3"}
    res = {}
    for fmt, ext in (("json", "json"), ("table", "txt")):
        code, so, se = run(base + ["snapshot", "status", path, "-w", fmt], env)
        with open(os.path.join(out, "expected", f"{stem}.{ext}"), "wb") as f:
            f.write(so)
        if code != 0:
            raise RuntimeError(f"snapshot status {fmt} failed ({code}): {se.decode()}")
        res[fmt] = so
    return json.loads(res["json"])


def sha256_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run_etcdscope(binary, data_dir, out):
    live = os.path.join(out, "live")
    os.makedirs(live, exist_ok=True)
    runs = []
    db = os.path.join(data_dir, "member", "snap", "db")
    for name, args in [
        ("status", ["status", data_dir, "-o", "json"]),
        ("kv-get-datadir", ["kv", "get", data_dir, "", "--prefix", "-o", "json"]),
        ("kv-get-db", ["kv", "get", db, "", "--prefix", "-o", "json"]),
    ]:
        try:
            code, so, se = run([binary] + args, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as e:
            code, so, se = -1, b"", str(e).encode()
        with open(os.path.join(live, name + ".json"), "wb") as f:
            f.write(so)
        runs.append({"name": name, "args": args, "stdout": f"live/{name}.json",
                     "exit_code": code, "stderr": se.decode("utf-8", "backslashreplace")[-4000:]})
    with open(os.path.join(live, "runs.json"), "w") as f:
        json.dump({"etcdscope": os.path.abspath(binary), "data_dir": data_dir,
                   "note": "run while etcd was still running (live, locked db)",
                   "runs": runs}, f, indent=1)
        f.write("\n")
    return runs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--version", required=True, choices=["3.5.1", "3.4.23"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--etcdscope", help="path to an etcdscope binary to run against the live data dir")
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--random-ports", action="store_true",
                    help="always use random free ports (for runs in parallel, e.g. the live tests)")
    a = ap.parse_args()

    bins = etcd_bins.find_bins()
    if a.version not in bins:
        sys.exit(f"etcd {a.version} not found; run scripts/install-etcd.sh "
                 f"(found: {bins})")
    tools = etcd_bins.tools(a.version, bins[a.version])
    ctl = tools["etcdctl"]

    out = os.path.abspath(a.out)
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "expected"))

    rng = random.Random(SEED)
    tmp = tempfile.mkdtemp(prefix=f"etcdscope-testdata-{a.version}-")
    etcd = Etcd(a.version, tools, tmp, random_ports=a.random_ports)
    gw = None
    t0 = time.time()
    try:
        etcd.start()
        gw = Gateway(etcd.client_port)
        marks = write_keyspace(gw, a.scale, rng)
        gw.close()
        with open(os.path.join(out, "writes.json"), "w") as f:
            f.write('{"marks": %s,\n "writes": [\n' % json.dumps(marks))
            f.write(",\n".join(json.dumps(e) for e in gw.log))
            f.write("\n]}\n")

        ep = etcd.client_url
        env3 = {"ETCDCTL_API": "3"}
        # -- snapshot + status, with no writes in between ----------------------
        snap = os.path.join(out, "snapshot.db")
        code, so, se = run([ctl, "--endpoints", ep, "snapshot", "save", snap], env3)
        if code != 0:
            raise RuntimeError(f"snapshot save failed: {se.decode()}")
        os.chmod(snap, 0o644)  # etcdctl writes 0600
        if os.path.exists(snap + ".part"):
            os.remove(snap + ".part")
        snap_status = snapshot_status(a.version, tools, snap, out, "snapshot-status")
        for what, cmd in (("endpoint-status", ["endpoint", "status"]),
                          ("member-list", ["member", "list"])):
            code, so, se = run([ctl, "--endpoints", ep, "-w", "json"] + cmd, env3)
            if code != 0:
                raise RuntimeError(f"{what} failed: {se.decode()}")
            with open(os.path.join(out, "expected", what + ".json"), "wb") as f:
                f.write(so)
            if what == "endpoint-status":
                ep_status = json.loads(so)

        # -- etcdctl get cases --------------------------------------------------
        records = record_gets(ctl, ep, out, marks)

        # -- etcdscope against the live data dir ---------------------------------
        live_runs = None
        if a.etcdscope:
            live_runs = run_etcdscope(a.etcdscope, etcd.data_dir, out)

        # -- stop, copy the member db --------------------------------------------
        rc = etcd.stop()
        member_db = os.path.join(out, "member-db")
        shutil.copyfile(os.path.join(etcd.data_dir, "member", "snap", "db"), member_db)
        h_before = sha256_file(member_db)
        with tempfile.TemporaryDirectory() as td:  # status on a copy: never touch member-db
            cp = os.path.join(td, "db")
            shutil.copyfile(member_db, cp)
            mdb_status = snapshot_status(a.version, tools, cp, out, "member-db-status")
        assert sha256_file(member_db) == h_before

        meta = {
            "etcd_version": a.version,
            "etcd_binary": tools["etcd"],
            "etcdctl_version": run([ctl, "version"], env3)[1].decode().strip(),
            "scale": a.scale,
            "seed": SEED,
            "client_url": ep,
            "peer_url": etcd.peer_url,
            "member_name": MEMBER_NAME,
            "initial_cluster_token": CLUSTER_TOKEN,
            "quota_backend_bytes": QUOTA_BYTES,
            "leases": {"A": LEASE_A, "B": LEASE_B, "ttl": LEASE_TTL},
            "marks": marks,
            "etcd_exit_code": rc,
            "snapshot_db_size": os.path.getsize(snap),
            "snapshot_db_sha256": sha256_file(snap),
            "member_db_size": os.path.getsize(member_db),
            "member_db_sha256": h_before,
            "generated_by": "scripts/make_testdata.py",
        }
        with open(os.path.join(out, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
    finally:
        if gw is not None:
            gw.close()
        etcd.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    # -- summary ---------------------------------------------------------------
    total = sum(os.path.getsize(os.path.join(dp, fn))
                for dp, _, fns in os.walk(out) for fn in fns)
    fails = [f"{r['name']}.{r['format']}" for r in records if r["exit_code"] != 0]
    print(f"etcd {a.version}: {len(gw.log)} write requests, revisions "
          f"{marks['first_rev']}..{marks['final_rev']}, compacted at {marks['compact_rev']}")
    print(f"  snapshot.db {meta['snapshot_db_size']} B, member-db {meta['member_db_size']} B; "
          f"snapshot status: {json.dumps(snap_status)}")
    print(f"  member-db status: {json.dumps(mdb_status)}")
    print(f"  endpoint dbSize: {ep_status[0]['Status'].get('dbSize')}")
    print(f"  {len(records)} get recordings, {len(fails)} non-zero exits: {', '.join(fails)}")
    if live_runs is not None:
        print("  etcdscope live runs: " + ", ".join(f"{r['name']}={r['exit_code']}" for r in live_runs))
    print(f"  output: {out} ({total} bytes, {time.time() - t0:.1f}s)")


if __name__ == "__main__":
    main()
