#!/usr/bin/env python3
"""Ground truth for `etcdscope replay`, from real etcd 3.5.1 only (tests/replay.rs compares):

1. lost objects put back: a live member restored by etcdutl from testdata/diff-3.5.1/old.db;
   `etcdscope diff OLD NEW -o json`; `etcdscope replay NEW --from-diff … --class lost`; then
   etcdctl's `get "" --prefix -w json` of the member is recorded.
2. a race: `etcdscope replay` of 3,000 keys (/small/ of testdata/etcd-3.5.1/snapshot.db) while
   a second client blindly puts the same keys in another order; every event of the keys is
   recorded with `etcdctl watch --rev` (a test then checks that the replay only ever created a
   key, never overwrote one), and the final values.
3. TLS: the same member served over https with client-certificate auth (a CA, server and client
   certificates made here with openssl); `replay --dry-run` with --cacert/--cert/--key, and
   without them (which must fail). With the server's CA as the "system" roots (SSL_CERT_FILE,
   which both etcdctl and etcdscope read for them) and a second CA given as --cacert: what
   etcdctl answers, and what the replay does; and both without --cacert.
4. the record streams: a fresh member started with --max-request-bytes 4096 (so etcd refuses
   the write of any object over 4 KiB) gets `replay new.db /registry/ --prefix -o json`; the
   stream and the member's keys are recorded. Then replays of 1,000 keys whose stdout is
   closed after the first line (-o json, and the table): exit code, stderr, the member's keys.
5. --overwrite-if-unchanged under a racing writer: 1,000 keys put first, then replayed from the
   snapshot while a second client keeps putting the next two keys after the one the replay
   last wrote (it follows the replay through a watch); every event of the keys is recorded
   with `etcdctl watch --rev`.

127.0.0.1 only, free ports, a temp dir; every etcd is stopped.

    python3 scripts/check_replay.py --etcdscope target/release/etcdscope --out /tmp/replay.json
"""
import base64
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import check_rebuild as cr  # noqa: E402
import make_testdata as mt  # noqa: E402


def etcdscope(a, *args, check=False, env=None):
    p = subprocess.run([a.etcdscope, *args], capture_output=True, timeout=300, env=env)
    if check and p.returncode not in (0, 1):
        raise RuntimeError(f"etcdscope {' '.join(args[:2])} failed ({p.returncode}): {p.stderr.decode(errors='replace')}")
    return p


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(d):
    os.makedirs(d)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=etcdscope-test-ca", cwd=d)
    # A second CA that signed nothing the member presents.
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca2.key", "-out", "ca2.crt", "-days", "2",
            "-subj", "/CN=etcdscope-other-ca", cwd=d)
    for name, ext in [("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
                      ("client", "extendedKeyUsage=clientAuth")]:
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(ext + "\n")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN=etcdscope-{name}", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=d)


def other_ca(a, tools, tls_ep, diff, new, c):
    """The server's CA trusted as a system root (SSL_CERT_FILE), another CA given as --cacert."""
    roots = dict(cr.ENV, SSL_CERT_FILE=c("ca.crt"))
    client = ["--cert", c("client.crt"), "--key", c("client.key")]
    out = {}
    for name, ca in [("other_ca", ["--cacert", c("ca2.crt")]), ("system_roots", [])]:
        # A serializable read: answered by the member alone, so only the connection is tested.
        e = subprocess.run([tools["etcdctl"], "--endpoints", tls_ep, *ca, *client, "--dial-timeout", "3s", "get", "/no-such-key", "--consistency=s"],
                           capture_output=True, env=roots, timeout=60)
        p = etcdscope(a, "replay", new, "--endpoints", tls_ep, "--from-diff", diff, "--class", "reappear", "--dry-run", "-o", "json",
                      *ca, *client, env=roots)
        out[f"tls_{name}"] = {"etcdctl_exit_code": e.returncode, "etcdctl_stderr": e.stderr.decode(errors="replace"),
                              "exit_code": p.returncode, "stdout": p.stdout.decode(errors="replace"), "stderr": p.stderr.decode(errors="replace")}
    return out


class FreshMember(cr.Member):
    """An etcd 3.5.1 member on a new, empty data dir, with extra flags."""

    def __init__(self, tools, data_dir, name, peer_port, client_port, extra):
        super().__init__(tools, data_dir, name, peer_port, client_port)
        self.extra = extra

    def start(self, wait=True):
        argv = [self.tools["etcd"], "--name", self.name, "--data-dir", self.data_dir,
                "--listen-client-urls", self.client, "--advertise-client-urls", self.client,
                "--listen-peer-urls", self.peer, "--initial-advertise-peer-urls", self.peer,
                "--initial-cluster", self.cluster, "--logger", "zap", *self.extra]
        self.log = open(self.data_dir + ".log", "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=cr.ENV, start_new_session=True)
        if wait:
            self.wait_healthy()


def closed_after_first_line(a, argv):
    """Runs etcdscope with `argv`, reads one line of its stdout, then closes it."""
    proc = subprocess.Popen([a.etcdscope, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=300)
    return {"exit_code": proc.returncode, "first_line": first.decode(errors="replace"), "stderr": err.decode(errors="replace")}


def overwrite_race(a, m, tools, small):
    """--overwrite-if-unchanged while a second client keeps changing the keys the replay is about
    to plan and write (the two after the last one it wrote, learned from a watch)."""
    keys = [b"/small/k%06d" % i for i in range(2000, 3000)]
    where = {k: i for i, k in enumerate(keys)}
    gw = mt.Gateway(m.client_port)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    for i in range(0, len(keys), 100):
        gw.call("/v3/kv/txn", {"success": [{"requestPut": {"key": b64(k), "value": b64(b"live-%d" % (i + j))}}
                                           for j, k in enumerate(keys[i:i + 100])]})
    seeded = m.ctl_json("get", "/no-such-key")["header"]["revision"]
    watch = subprocess.Popen([tools["etcdctl"], "--endpoints", m.client, "watch", "/small/k002", "--prefix", "--rev", str(seeded + 1), "-w", "json"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=cr.ENV)
    last = [-1]
    done = threading.Event()

    def follow():
        for line in watch.stdout:
            if not line.strip().startswith(b"{"):
                continue
            for e in json.loads(line).get("Events") or []:
                if not base64.b64decode(e["kv"].get("value", "")).startswith((b"racer-", b"live-")):
                    last[0] = max(last[0], where.get(base64.b64decode(e["kv"]["key"]), -1))

    puts = [0]

    def racer():
        g = mt.Gateway(m.client_port)
        while not done.is_set():
            ahead = keys[last[0] + 1:last[0] + 3]
            if not ahead:
                time.sleep(0.01)
            for k in ahead:
                g.call("/v3/kv/put", {"key": b64(k), "value": b64(b"racer-%d" % puts[0])})
                puts[0] += 1
        g.close()

    threads = [threading.Thread(target=follow), threading.Thread(target=racer)]
    for t in threads:
        t.start()
    try:
        p = etcdscope(a, "replay", small, "--endpoints", m.client, "/small/k002", "--prefix", "--overwrite-if-unchanged", "-o", "json")
    finally:
        done.set()
        threads[1].join()
        watch.terminate()
        threads[0].join()
        watch.wait(timeout=30)
        gw.close()
    final = m.ctl_json("get", "/no-such-key")["header"]["revision"]
    return {"exit_code": p.returncode, "stdout": p.stdout.decode(errors="replace"), "stderr": p.stderr.decode(errors="replace"),
            "seeded_revision": seeded, "final_revision": final, "racer_puts": puts[0],
            "events": cr.watch_events(m, tools, seeded + 1, final, "/small/k002")}


def streams_and_overwrites(a, tools, tmp, small, new):
    peer, client = cr.ports(2)
    m = FreshMember(tools, os.path.join(tmp, "stream"), "stream", peer, client, ["--max-request-bytes", "4096"])
    m.start()
    out = {}
    try:
        p = etcdscope(a, "replay", new, "--endpoints", m.client, "/registry/", "--prefix", "-o", "json")
        out["later_write_fails"] = {"exit_code": p.returncode, "stdout": p.stdout.decode(errors="replace"), "stderr": p.stderr.decode(errors="replace"),
                                    "after": m.ctl_json("get", "/registry/", "--prefix", "--keys-only")}
        for name, prefix, fmt in [("closed_stdout_json", "/small/k000", "json"), ("closed_stdout_table", "/small/k001", "table")]:
            out[name] = closed_after_first_line(a, ["replay", small, "--endpoints", m.client, prefix, "--prefix", "-o", fmt])
            out[name]["after"] = m.ctl_json("get", prefix, "--prefix", "--keys-only")
        out["overwrite_race"] = overwrite_race(a, m, tools, small)
    finally:
        m.stop()
    return out


def main():
    a = cr.script_args().parse_args()
    tools = cr.etcd_351_tools()
    tmp = tempfile.mkdtemp(prefix="etcdscope-replay-")
    old = os.path.join(ROOT, "testdata/diff-3.5.1/old.db")
    new = os.path.join(ROOT, "testdata/diff-3.5.1/new.db")
    small = os.path.join(ROOT, "testdata/etcd-3.5.1/snapshot.db")
    result = {}
    m = None
    try:
        data = os.path.join(tmp, "live")
        peer, client = cr.ports(2)
        name = "live"
        flags = cr.restore_flags(name, f"http://127.0.0.1:{peer}", f"{name}=http://127.0.0.1:{peer}", "replay-test")
        cr.run([tools["etcdutl"], "snapshot", "restore", old, "--data-dir", data] + flags)
        m = cr.Member(tools, data, name, peer, client)
        m.start()
        ep = m.client
        # 1. lost keys put back.
        diff = os.path.join(tmp, "diff.json")
        with open(diff, "wb") as f:
            f.write(etcdscope(a, "diff", old, new, "-o", "json", check=True).stdout)
        result["before"] = m.ctl_json("get", "", "--prefix")
        p = etcdscope(a, "replay", new, "--endpoints", ep, "--from-diff", diff, "--class", "lost", "-o", "json")
        result["lost"] = {"exit_code": p.returncode, "stdout": p.stdout.decode(errors="replace"), "stderr": p.stderr.decode(errors="replace")}
        result["after_lost"] = m.ctl_json("get", "", "--prefix")
        p = etcdscope(a, "replay", new, "--endpoints", ep, "--from-diff", diff, "--class", "lost", "-o", "json")
        result["lost_again"] = {"exit_code": p.returncode, "stdout": p.stdout.decode(errors="replace")}

        # 2. the race.
        keys = [base64.b64decode(kv["key"]) for kv in json.load(open(os.path.join(ROOT, "testdata/etcd-3.5.1/expected/get/all.json")))["kvs"]
                if base64.b64decode(kv["key"]).startswith(b"/small/")]
        start_rev = m.ctl_json("get", "/no-such-key")["header"]["revision"]
        gw = mt.Gateway(client)
        order = list(keys)
        random.Random(7).shuffle(order)
        racer_done = []

        def racer():
            for i, k in enumerate(order):
                gw.call("/v3/kv/put", {"key": base64.b64encode(k).decode(), "value": base64.b64encode(f"racer-{i}".encode()).decode()})
            racer_done.append(True)

        t = threading.Thread(target=racer)
        t.start()
        p = etcdscope(a, "replay", small, "--endpoints", ep, "/small/", "--prefix", "-o", "json")
        t.join()
        gw.close()
        result["race"] = {"exit_code": p.returncode, "stdout": p.stdout.decode(errors="replace"),
                          "stderr": p.stderr.decode(errors="replace"), "racer_done": bool(racer_done),
                          "racer_keys": len(order), "start_revision": start_rev}
        # The watch streams the history, then waits: read until every event has arrived.
        final = m.ctl_json("get", "/no-such-key")["header"]["revision"]
        events = cr.watch_events(m, tools, start_rev + 1, final, "/small/")
        result["race"]["final_revision"] = final
        result["race"]["events"] = events
        result["race"]["final"] = m.ctl_json("get", "/small/", "--prefix")
        m.stop()

        # 3. TLS with client certificates.
        certs = os.path.join(tmp, "certs")
        make_certs(certs)
        c = lambda n: os.path.join(certs, n)  # noqa: E731
        tls_ep = f"https://127.0.0.1:{client}"
        argv = [tools["etcd"], "--name", name, "--data-dir", data, "--listen-client-urls", tls_ep, "--advertise-client-urls", tls_ep,
                "--listen-peer-urls", f"http://127.0.0.1:{peer}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-cluster", f"{name}=http://127.0.0.1:{peer}", "--cert-file", c("server.crt"), "--key-file", c("server.key"),
                "--trusted-ca-file", c("ca.crt"), "--client-cert-auth", "--logger", "zap"]
        log = open(data + ".tls.log", "wb")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=cr.ENV, start_new_session=True)
        try:
            deadline = time.time() + 60
            while time.time() < deadline:
                h = cr.run([tools["etcdctl"], "--endpoints", tls_ep, "--cacert", c("ca.crt"), "--cert", c("client.crt"), "--key", c("client.key"),
                            "endpoint", "health"], check=False)
                if h.returncode == 0:
                    break
                time.sleep(0.3)
            tls_args = ["--cacert", c("ca.crt"), "--cert", c("client.crt"), "--key", c("client.key")]
            p = etcdscope(a, "replay", new, "--endpoints", f"127.0.0.1:{client}", "--from-diff", diff, "--class", "reappear", "--dry-run", "-o", "json", *tls_args)
            result["tls"] = {"exit_code": p.returncode, "stdout": p.stdout.decode(errors="replace"), "stderr": p.stderr.decode(errors="replace")}
            p = etcdscope(a, "replay", new, "--endpoints", tls_ep, "--from-diff", diff, "--class", "reappear", "--dry-run", "--cacert", c("ca.crt"))
            result["tls_no_client_cert"] = {"exit_code": p.returncode, "stderr": p.stderr.decode(errors="replace")}
            p = etcdscope(a, "replay", new, "--endpoints", tls_ep, "--from-diff", diff, "--class", "reappear", "--dry-run")
            result["tls_unknown_ca"] = {"exit_code": p.returncode, "stderr": p.stderr.decode(errors="replace")}
            result.update(other_ca(a, tools, tls_ep, diff, new, c))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
        result.update(streams_and_overwrites(a, tools, tmp, small, new))
    finally:
        if m:
            m.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    cr.write_result(a.out, result)


if __name__ == "__main__":
    main()
