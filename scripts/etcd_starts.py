#!/usr/bin/env python3
"""Does real etcd start from this data dir? Ground truth for `etcdscope wal --verify`.

Starts one etcd (3.5.1 by default) on DATA_DIR, bound to 127.0.0.1 on free ports, and waits
(bounded) until either it answers `GET /health` with a leader (it started) or the process exits
(it refused). Then it is stopped by its PID (SIGTERM, SIGKILL after 20 s) and what happened is
written as JSON: {"started": bool, "timed_out": bool, "exit_code": int|null (when etcd exited by
itself), "log": "<etcd's last log lines>"}.

etcd writes to the data dir it starts from (it repairs a torn tail, zeroes the WAL's tail,
publishes its attributes): give it a copy. The script decides nothing about the data; the test
reading the JSON does.

    python3 scripts/etcd_starts.py --data-dir /tmp/copy --out /tmp/started.json [--version 3.5.1]

With `--puts N`, once etcd is healthy it is asked to put keys `verify-put-1` .. `verify-put-N`
one at a time (etcdctl, 3 s command timeout each), then for every key under `verify-put-`;
recorded as "puts": [{"key", "ok", "error"}] and "stored": [keys].
"""
import argparse
import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import etcd_bins  # noqa: E402
import make_testdata as mt  # noqa: E402


def healthy(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("GET", "/health")
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status == 200 and json.loads(body).get("health") == "true"
    except (OSError, http.client.HTTPException, ValueError):
        return False


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


def put_keys(bin_dir, endpoint, n, env):
    """Puts verify-put-1..n one at a time; returns what each put did and the keys then stored."""
    ctl = [os.path.join(bin_dir, "etcdctl"), "--endpoints", endpoint, "--command-timeout=3s"]
    puts = []
    for i in range(1, n + 1):
        key = f"verify-put-{i}"
        p = subprocess.run(ctl + ["put", key, str(i)], capture_output=True, env=env, timeout=30)
        puts.append({"key": key, "ok": p.returncode == 0, "error": p.stderr.decode("utf-8", "replace")[-300:]})
    p = subprocess.run(ctl + ["get", "verify-put-", "--prefix", "--keys-only", "-w", "json"], capture_output=True, env=env, timeout=30)
    kvs = json.loads(p.stdout or b"{}").get("kvs") or []
    stored = [base64.b64decode(kv["key"]).decode() for kv in kvs]
    return puts, stored


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--version", default="3.5.1")
    p.add_argument("--timeout", type=float, default=40.0, help="seconds to wait for health or exit")
    p.add_argument("--puts", type=int, default=0, help="keys to put once etcd is healthy")
    a = p.parse_args()
    bins = etcd_bins.find_bins()
    if a.version not in bins:
        sys.exit(f"etcd {a.version} is not installed")
    client, peer = mt.free_port(), mt.free_port()
    while peer == client:
        peer = mt.free_port()
    client_url, peer_url = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
    log_path = os.path.join(os.path.dirname(os.path.abspath(a.out)), "etcd-start.log")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD")}
    args = [os.path.join(bins[a.version], "etcd"), "--name", "verify", "--data-dir", a.data_dir,
            "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
            "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
            "--initial-cluster", f"verify={peer_url}", "--logger", "zap"]
    started = timed_out = False
    puts, stored = [], []
    with open(log_path, "wb") as logf:
        proc = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            deadline = time.time() + a.timeout
            while proc.poll() is None and not started:
                if time.time() > deadline:
                    timed_out = True
                    break
                started = healthy(client)
                time.sleep(0.2)
            if started and a.puts > 0:
                puts, stored = put_keys(bins[a.version], client_url, a.puts, env)
        finally:
            exited_by_itself = proc.poll() is not None
            stop(proc)
    with open(log_path, "rb") as f:
        lines = f.read().decode("utf-8", "replace").splitlines()
    result = {"started": started, "timed_out": timed_out,
              "exit_code": proc.returncode if exited_by_itself else None, "log": "\n".join(lines[-40:])}
    if a.puts > 0:
        result.update(puts=puts, stored=stored)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
