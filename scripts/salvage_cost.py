#!/usr/bin/env python3
"""What salvage's "never invent data" rule costs, measured against real etcd 3.5.1.

    python3 scripts/salvage_cost.py --etcdscope target/checked/etcdscope --out /tmp/cost.json \
        testdata/salvage-3.5.1/deleted.db testdata/etcd-3.5.1/snapshot.db

For each file (its sha256 trailer cut: the damaged copies are member dbs), every damage of two
kinds is made in turn: each branch page of the `key` bucket in use zeroed (a page whose header
names it, a branch whose first key is a 17- or 18-byte revision key, and whose zeroing changes
what `etcdutl snapshot status` reads), and the file cut at every page boundary from 2 pages to
one page short of its length. Each damaged copy is salvaged; each salvaged file is restored
with `etcdutl snapshot restore`, started with real etcd on 127.0.0.1, and `etcdctl get ""
--prefix` at its revision is compared with the original's at the same revision (as
scripts/check_salvage.py does). Counted per case:

- back: keys real etcd serves from the salvaged file that the original does not (deleted
  objects brought back; the rule says 0);
- lost: keys the original serves that the salvaged file does not, or serves with another
  value; of those, `unsure`: the key's live revision was found and left out as unsure (what
  the rule costs), the rest: no copy of it was found (lost with the page).

Prints one summary line per file and kind; writes every case to --out. Every etcd started
here is stopped by its PID.
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_salvage as cs  # noqa: E402
import etcd_bins  # noqa: E402

PS = 4096


def u64(b, o):
    return int.from_bytes(b[o:o + 8], "little")


def u16(b, o):
    return int.from_bytes(b[o:o + 2], "little")


def u32(b, o):
    return int.from_bytes(b[o:o + 4], "little")


def db_region(path):
    b = open(path, "rb").read()
    return b[:-32] if len(b) % PS == 32 else b


def etcdutl_hash(tools, path):
    s = cs.status(tools, path)
    return s.get("hash")


def key_branches_in_use(tools, db, tmp):
    probe = os.path.join(tmp, "probe.db")
    with open(probe, "wb") as f:
        f.write(db)
    original = etcdutl_hash(tools, probe)
    out = []
    for p in range(2, u64(db, 56)):
        at = p * PS
        if at + PS > len(db) or u64(db, at) != p or u16(db, at + 8) != 0x01 or u16(db, at + 10) == 0:
            continue
        if u32(db, at + 16 + 4) not in (17, 18):
            continue
        with open(probe, "wb") as f:
            f.write(db[:at] + bytes(PS) + db[at + PS:])
        if etcdutl_hash(tools, probe) != original:
            out.append(p)
    return out


def kvs(get):
    return {base64.b64decode(kv["key"]).decode(errors="replace"): kv for kv in get.get("kvs", [])}


def judge(report, rec):
    ours, theirs = kvs(rec["get"]), kvs(rec["originalGet"])
    back = sorted(k for k in ours if k not in theirs)
    unsure = {(n["key"], n["revision"]) for n in report["excluded"] if n["reason"] == "unsure"}
    lost = [k for k, kv in theirs.items() if ours.get(k) != kv]
    lost_unsure = [k for k in lost if (k, int(theirs[k]["mod_revision"])) in unsure]
    return {
        "back": back,
        "lost": len(lost),
        "lostUnsure": len(lost_unsure),
        "liveKeys": len(theirs),
        "fallback": rec.get("originalRevision") != rec["get"]["header"]["revision"],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--etcdscope", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    bins = etcd_bins.find_bins()
    if "3.5.1" not in bins:
        sys.exit("etcd 3.5.1 is not installed (scripts/install-etcd.sh)")
    tools = etcd_bins.tools("3.5.1", bins["3.5.1"])
    results = []
    with tempfile.TemporaryDirectory(prefix="salvage-cost-") as tmp:
        for name in a.files:
            db = db_region(name)
            pages = len(db) // PS
            cases = [(f"branch {p} zeroed", "branch", db[:p * PS] + bytes(PS) + db[(p + 1) * PS:]) for p in key_branches_in_use(tools, db, tmp)]
            cases += [(f"cut at {n} pages", "truncation", db[:n * PS]) for n in range(2, pages)]
            original = cs.Member(tools, name, os.path.join(tmp, "original"))
            try:
                for i, (label, kind, data) in enumerate(cases):
                    damaged = os.path.join(tmp, f"damaged-{i}.db")
                    salvaged = os.path.join(tmp, f"salvaged-{i}.db")
                    with open(damaged, "wb") as f:
                        f.write(data)
                    p = subprocess.run([a.etcdscope, "salvage", damaged, "--out", salvaged, "-o", "json"], capture_output=True)
                    case = {"file": name, "case": label, "kind": kind, "exit": p.returncode}
                    if p.returncode > 1:
                        case["error"] = p.stderr.decode(errors="replace").strip()
                        results.append(case)
                        continue
                    report = json.loads(p.stdout)
                    case["written"] = report["revisions"]
                    case["compactionKnown"] = report["compactionKnown"]
                    case["unsure"] = sum(1 for n in report["excluded"] if n["reason"] == "unsure")
                    rec = {}
                    try:
                        m = cs.Member(tools, salvaged, os.path.join(tmp, f"member-{i}"))
                    except RuntimeError as e:
                        case["etcdError"] = str(e)[-300:]
                        results.append(case)
                        continue
                    try:
                        rec["get"] = m.get()
                    finally:
                        m.stop()
                    rev = rec["get"]["header"]["revision"]
                    try:
                        rec["originalGet"], rec["originalRevision"] = original.get(rev), rev
                    except RuntimeError as e:
                        if "compacted" not in str(e):
                            raise
                        rec["originalGet"] = original.get()
                        rec["originalRevision"] = rec["originalGet"]["header"]["revision"]
                    case.update(judge(report, rec))
                    results.append(case)
                    subprocess.run(["rm", "-rf", os.path.join(tmp, f"member-{i}"), damaged, salvaged])
            finally:
                original.stop()
            subprocess.run(["rm", "-rf", os.path.join(tmp, "original")])
    with open(a.out, "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    for name in a.files:
        for kind in ("branch", "truncation"):
            rows = [r for r in results if r["file"] == name and r["kind"] == kind]
            judged = [r for r in rows if "back" in r]
            if not rows:
                continue
            print(summary(name, kind, rows, judged))


def summary(name, kind, rows, judged):
    if not judged:
        return f"{name}: {len(rows)} {kind} case(s), none judged by etcd"
    lost = sorted(r["lost"] for r in judged)
    unsure = sorted(r["lostUnsure"] for r in judged)
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    return (
        f"{name}: {len(rows)} {kind} case(s), {len(judged)} judged by etcd; "
        f"keys back: {sum(len(r['back']) for r in judged)}; "
        f"of {judged[0]['liveKeys']} live keys, lost per case: mean {mean(lost):.0f}, median {lost[len(lost) // 2]}, max {lost[-1]}; "
        f"of those left out as unsure: mean {mean(unsure):.0f}, median {unsure[len(unsure) // 2]}, max {unsure[-1]}; "
        f"compaction known in {sum(1 for r in judged if r['compactionKnown'])}; "
        f"compared at the original's current revision (the salvaged file's is compacted there): {sum(r['fallback'] for r in judged)}"
    )


if __name__ == "__main__":
    main()
