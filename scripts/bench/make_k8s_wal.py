#!/usr/bin/env python3
"""A WAL segment of N puts of ConfigMap objects (stored as JSON), for timing `etcdscope wal`.

Framed as etcd frames a segment (crc, metadata, snapshot records, entries, a hard state that
commits them all; the CRC-32C chain; length words with padding), from the format facts in
docs/format/wal.md. Only the standard library is used.

    python3 scripts/bench/make_k8s_wal.py /tmp/k8s-wal 20000
    time etcdscope wal /tmp/k8s-wal -o jsonl > /dev/null
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_k8s_snapshot import varint  # noqa: E402

POLY = 0x82F63B78
TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ POLY if c & 1 else c >> 1
    TABLE.append(c)


def crc32c(crc, data):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def field_bytes(n, b):
    return varint(n << 3 | 2) + varint(len(b)) + b


def field_varint(n, v):
    return varint(n << 3) + varint(v)


def main():
    out_dir, n = sys.argv[1], int(sys.argv[2])
    seg = bytearray()
    crc = 0

    def record(rtype, data):
        nonlocal crc
        if rtype != 4:  # a crc record carries the chain, it does not extend it
            crc = crc32c(crc, data)
        r = field_varint(1, rtype) + field_varint(2, crc) + (field_bytes(3, data) if data else b"")
        pad = (8 - len(r) % 8) % 8
        word = len(r) | (((0x80 | pad) << 56) if pad else 0)
        seg.extend(struct.pack("<Q", word) + r + b"\0" * pad)

    record(4, b"")
    record(1, field_varint(1, 1) + field_varint(2, 2))
    record(5, bytes([0x08, 0, 0x10, 0]))
    for i in range(1, n + 1):
        obj = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"cm-{i}", "namespace": "bench", "uid": "0f0e0d0c-0b0a-0908-0706-050403020100", "resourceVersion": str(i), "labels": {"app": "bench", "tier": "x"}},
            "data": {f"k{j}": "v" * 40 for j in range(20)},
        }
        put = field_bytes(1, f"/registry/configmaps/bench/cm-{i}".encode()) + field_bytes(2, json.dumps(obj, separators=(",", ":")).encode())
        entry = field_varint(1, 0) + field_varint(2, 2) + field_varint(3, i) + field_bytes(4, field_bytes(4, put))
        record(2, entry)
    record(3, field_varint(1, 2) + field_varint(2, 1) + field_varint(3, n))
    seg.extend(b"\0" * 64)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "0000000000000000-0000000000000000.wal"), "wb") as f:
        f.write(seg)
    print(f"{out_dir}: {len(seg)} bytes, {n} puts")


if __name__ == "__main__":
    main()
