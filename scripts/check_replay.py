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
   without them (which must fail).

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


def etcdscope(a, *args, check=False):
    p = subprocess.run([a.etcdscope, *args], capture_output=True, timeout=300)
    if check and p.returncode not in (0, 1):
        raise RuntimeError(f"etcdscope {' '.join(args[:2])} failed ({p.returncode}): {p.stderr.decode(errors='replace')}")
    return p


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(d):
    os.makedirs(d)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=etcdscope-test-ca", cwd=d)
    for name, ext in [("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
                      ("client", "extendedKeyUsage=clientAuth")]:
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(ext + "\n")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN=etcdscope-{name}", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=d)


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
        result["lost"] = {"exit_code": p.returncode, "report": json.loads(p.stdout or b"null"), "stderr": p.stderr.decode(errors="replace")}
        result["after_lost"] = m.ctl_json("get", "", "--prefix")
        p = etcdscope(a, "replay", new, "--endpoints", ep, "--from-diff", diff, "--class", "lost", "-o", "json")
        result["lost_again"] = {"exit_code": p.returncode, "report": json.loads(p.stdout or b"null")}

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
        result["race"] = {"exit_code": p.returncode, "report": json.loads(p.stdout or b"null"),
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
            result["tls"] = {"exit_code": p.returncode, "report": json.loads(p.stdout or b"null"), "stderr": p.stderr.decode(errors="replace")}
            p = etcdscope(a, "replay", new, "--endpoints", tls_ep, "--from-diff", diff, "--class", "reappear", "--dry-run", "--cacert", c("ca.crt"))
            result["tls_no_client_cert"] = {"exit_code": p.returncode, "stderr": p.stderr.decode(errors="replace")}
            p = etcdscope(a, "replay", new, "--endpoints", tls_ep, "--from-diff", diff, "--class", "reappear", "--dry-run")
            result["tls_unknown_ca"] = {"exit_code": p.returncode, "stderr": p.stderr.decode(errors="replace")}
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
    finally:
        if m:
            m.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    cr.write_result(a.out, result)


if __name__ == "__main__":
    main()
