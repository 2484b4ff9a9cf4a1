#!/usr/bin/env python3
"""Reads an `etcdscope export parquet` dataset with engines no one here wrote -- DuckDB and
pyarrow (PyPI, scripts/install-parquet-readers.sh) -- and prints what they saw as JSON on
stdout. tests/export_parquet.rs runs it and asserts; this script decides nothing about
etcdscope beyond the documented differences between the Parquet and the SQLite export.

  judge.py compare DATASET SQLITE CLUSTER_HEX REVISION
      every table of the partition, read by DuckDB (read_parquet, hive_partitioning) and by
      pyarrow (pyarrow.dataset, hive partitioning), against the same table of the SQLite export
      read by Python's sqlite3: {"tables": {name: rows}, "mismatches": [...]}.
  judge.py types DATASET
      every file's Parquet schema (physical and logical types) and the types DuckDB reads
      against the documented ones, the schema version in the file's metadata, zstd on every
      column chunk, dictionary pages, statistics and bloom filters where documented:
      {"files": n, "mismatches": [...]}.
  judge.py sets DATASET CLUSTER_HEX REV_A REV_B
      DuckDB SQL over kv: the keys in B and not in A, and in A and not in B (base64).
  judge.py explain DATASET CLUSTER_HEX
      DuckDB's EXPLAIN ANALYZE of an aggregate over objects filtered on cluster_id and not, the
      number of objects files and of the cluster's objects:
      {"filtered": plan, "unfiltered": plan, "files": n, "count": n}.
  judge.py skip DATASET COLUMN VALUE
      DuckDB's EXPLAIN ANALYZE of a count over objects where COLUMN = VALUE, the count, and the
      row groups of the objects files: {"plan": text, "count": n, "row_groups": n}.
  judge.py rows DATASET
      every row of every table (partition columns included) as JSON, sorted, with
      source.exported_at and source.file_modified left out: {table: [row, ...]}.
  judge.py counts DATASET
      rows per table and partition, read by DuckDB: {table: {"cluster/rev": n}}.
"""

import base64
import datetime
import glob
import json
import operator
import os
import re
import sqlite3
import sys

import duckdb
import pyarrow as pa
import pyarrow.dataset as pds
import pyarrow.parquet as pq

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

# The documented schema (issue 21, docs/format/parquet.md): the SQLite export's columns, typed
# as engines read them. BINARY: BYTE_ARRAY without a logical type; STRING and JSON: BYTE_ARRAY
# with that logical type; UINT64: INT64 as INTEGER(64, unsigned); TIME: INT64 as
# TIMESTAMP(MICROS, isAdjustedToUTC).
B, S, J, I, U, BOOL, T = "BINARY", "STRING", "JSON", "INT64", "UINT64", "BOOLEAN", "TIMESTAMP(MICROS, UTC)"
EXPECTED = {
    "source": [
        ("input", S), ("kind", S), ("db_path", S), ("trailer", S), ("revision", I), ("read_revision", I),
        ("compact_revision", I), ("consistent_index", U), ("term", U), ("etcd_cluster_id", U), ("page_size", I),
        ("file_size", I), ("file_modified", T), ("latest_write_time", T), ("history", BOOL), ("secrets_shown", BOOL),
        ("etcd_prefix", S), ("exported_at", T), ("etcdscope_version", S), ("schema_version", I),
    ],
    "kv": [
        ("key", B), ("key_text", S), ("create_revision", I), ("mod_revision", I), ("version", I), ("lease", I),
        ("value", B), ("value_size", I), ("encoding", S), ("redacted", BOOL),
    ],
    "objects": [
        ("key", S), ("api_group", S), ("api_version", S), ("kind", S), ("resource", S), ("namespace", S), ("name", S),
        ("uid", S), ("resource_version", I), ("generation", I), ("creation_timestamp", T), ("deletion_timestamp", T),
        ("owner_kind", S), ("owner_name", S), ("owner_uid", S), ("node_name", S), ("phase", S), ("size", I),
        ("encoding", S), ("object", J), ("error", S),
    ],
    "labels": [("key", S), ("name", S), ("value", S)],
    "annotations": [("key", S), ("name", S), ("value", S)],
    "owner_refs": [
        ("key", S), ("api_version", S), ("kind", S), ("name", S), ("uid", S), ("controller", BOOL),
        ("block_owner_deletion", BOOL),
    ],
    "leases": [("id", I), ("id_hex", S), ("granted_ttl", I), ("remaining_ttl", I), ("keys", I)],
    "members": [
        ("id", U), ("id_hex", S), ("name", S), ("peer_urls", S), ("client_urls", S), ("learner", BOOL), ("removed", BOOL),
    ],
    "revision_times": [
        ("revision", I), ("earliest", T), ("earliest_field", S), ("earliest_key", S), ("latest", T),
        ("latest_field", S), ("latest_key", S), ("evidence", I), ("fields", S),
    ],
    "buckets": [
        ("name", S), ("description", S), ("keys", I), ("branch_pages", I), ("leaf_pages", I), ("overflow_pages", I),
        ("pages", I), ("allocated_bytes", I), ("used_bytes", I), ("inline", BOOL),
    ],
    "revisions": [
        ("revision", I), ("sub", I), ("key", B), ("key_text", S), ("event", S), ("version", I),
        ("create_revision", I), ("lease", I), ("value_size", I), ("value", B), ("redacted", BOOL),
        ("prev_revision", I), ("api_group", S), ("resource", S),
    ],
}
# Columns written with a dictionary page and statistics (a filter on them skips row groups),
# and with a bloom filter (looked up by equality: UIDs).
DICTIONARY = {"objects": ["kind", "namespace"]}
STATISTICS = {"objects": ["kind", "namespace"]}
BLOOM = {"objects": ["uid", "owner_uid"], "owner_refs": ["uid"]}
# The documented types as DuckDB names them when it reads the files.
DUCKDB_TYPES = {B: "BLOB", S: "VARCHAR", J: "JSON", I: "BIGINT", U: "UBIGINT", BOOL: "BOOLEAN", T: "TIMESTAMP WITH TIME ZONE"}
VERSION_KEY = b"etcdscope.schema_version"

PARTITION = [("cluster_id", S), ("snapshot_revision", I)]


def parquet_type(col):
    """A Parquet column's type by the names above."""
    logical = json.loads(col.logical_type.to_json())
    kind = logical.get("Type")
    if col.physical_type == "BYTE_ARRAY":
        return {"None": B, "String": S, "JSON": J}.get(kind, f"BYTE_ARRAY/{kind}")
    if col.physical_type == "BOOLEAN" and kind == "None":
        return BOOL
    if col.physical_type == "INT64":
        if kind == "None":
            return I
        if kind == "Int" and logical.get("bitWidth") == 64 and logical.get("isSigned") is False:
            return U
        if kind == "Timestamp" and logical.get("isAdjustedToUTC") is True and logical.get("timeUnit") == "microseconds":
            return T
    return f"{col.physical_type}/{col.logical_type.to_json()}"


def table_of(path, root):
    return os.path.relpath(path, root).split(os.sep)[0]


def files(root, table="*"):
    return sorted(glob.glob(os.path.join(root, table, "cluster_id=*", "snapshot_revision=*", "*.parquet")))


def types(root):
    mismatches, checked = [], 0
    for path in files(root):
        checked += 1
        table = table_of(path, root)
        f = pq.ParquetFile(path)
        schema = f.metadata.schema
        got = [(schema.column(i).name, parquet_type(schema.column(i))) for i in range(len(schema))]
        if got != EXPECTED.get(table):
            mismatches.append({"file": path, "schema": got, "expected": EXPECTED.get(table)})
        meta = f.metadata
        if (meta.metadata or {}).get(VERSION_KEY) != b"1":
            mismatches.append({"file": path, "schema version": str((meta.metadata or {}).get(VERSION_KEY))})
        described = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{path}', hive_partitioning = false)").fetchall()
        want = [(name, DUCKDB_TYPES[kind]) for name, kind in EXPECTED.get(table, [])]
        if [(r[0], r[1]) for r in described] != want:
            mismatches.append({"file": path, "duckdb types": [(r[0], r[1]) for r in described], "expected": want})
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            for c in range(group.num_columns):
                chunk = group.column(c)
                if chunk.compression != "ZSTD":
                    mismatches.append({"file": path, "row_group": g, "column": chunk.path_in_schema, "compression": chunk.compression})
                name = chunk.path_in_schema
                if name in DICTIONARY.get(table, []) and not chunk.has_dictionary_page:
                    mismatches.append({"file": path, "row_group": g, "column": name, "dictionary": False})
                if name in BLOOM.get(table, []) and group.num_rows > 0 and chunk.bloom_filter_offset is None:
                    mismatches.append({"file": path, "row_group": g, "column": name, "bloom filter": False})
                if name in STATISTICS.get(table, []):
                    st = chunk.statistics
                    non_null = st is not None and st.num_values > 0
                    if st is None or not st.has_null_count or (non_null and not st.has_min_max):
                        mismatches.append({"file": path, "row_group": g, "column": name, "statistics": False})
    return {"files": checked, "mismatches": mismatches}


# --- values, canonical on both sides --------------------------------------------------------

RFC3339 = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")


def rfc3339_micros(text):
    """Microseconds since the epoch of an RFC 3339 time (fraction past the microsecond cut,
    toward the past, as a timestamp of microseconds holds it). A text that is not a time is
    null in Parquet (documented: the object's JSON keeps it as stored)."""
    if text is None:
        return None
    m = RFC3339.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s, frac, zone = m.groups()
    tz = datetime.timezone.utc
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        tz = datetime.timezone(sign * datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    try:
        whole = datetime.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=tz)
        seconds = (whole - EPOCH) // datetime.timedelta(seconds=1)
    except (ValueError, OverflowError):
        return None
    nanos = int((frac or "0").ljust(9, "0"))
    return seconds * 1_000_000 + nanos // 1000


def instant_micros(value):
    """A timestamp as an engine returned it (a timezone-aware datetime) in microseconds."""
    if value is None:
        return None
    if value.tzinfo is None:
        return ("no time zone", str(value))
    return (value - EPOCH) // datetime.timedelta(microseconds=1)


def to_bytes(value):
    return value if value is None else bytes(value)


def to_bool(value):
    return value if value is None else bool(value)


def blob(value):
    """A BLOB as bytes; TEXT where a BLOB belongs is a difference."""
    if isinstance(value, str):
        return ("TEXT, not BLOB", value)
    return to_bytes(value)


def hex_int(value):
    return int(value, 16)


def nothing(_value):
    return None


def jsonable(value):
    if isinstance(value, (bytes, bytearray)):
        return {"b64": base64.b64encode(value).decode()}
    if isinstance(value, (tuple, list)):
        return [jsonable(v) for v in value]
    return value


def canonical(names, tuples, sources, converters):
    """Rows (`tuples`, columns `names`) as the Parquet columns: column `sources[i]`, through
    `converters[i]` unless that is None."""
    pick = operator.itemgetter(*[names.index(n) for n in sources])
    convert = [(j, f) for j, f in enumerate(converters) if f is not None]
    out = []
    for r in tuples:
        row = list(pick(r))
        for j, f in convert:
            row[j] = f(row[j])
        out.append(tuple(row))
    return out


# --- the SQLite export, under the documented differences -------------------------------------

JUDGED_APART = ("file_modified", "latest_write_time", "exported_at")


def sqlite_rows(db, table, source):
    """The table's rows as the Parquet columns (EXPECTED order, then the partition columns)."""
    cur = db.execute(f"SELECT *, ? AS cluster_id_, ? AS snapshot_revision_ FROM {table}", (source["cluster_id"], source["read_revision"]))
    names = [d[0] for d in cur.description]
    sources, converters = [], []
    for name, kind in EXPECTED[table]:
        if table == "members" and name in ("id", "id_hex"):
            sources.append("id")
            converters.append(hex_int if name == "id" else None)
        elif table == "source" and name == "etcd_cluster_id":
            sources.append("cluster_id")
            converters.append(hex_int)
        elif table == "source" and name in JUDGED_APART:
            sources.append(names[0])  # Parquet only, or the time of the run: judged apart
            converters.append(nothing)
        else:
            sources.append(name)
            converters.append({T: rfc3339_micros, BOOL: to_bool, B: blob}.get(kind))
    return canonical(names, cur.fetchall(), sources + ["cluster_id_", "snapshot_revision_"], converters + [None, None])


def engine_rows(names, tuples, table, apart=JUDGED_APART):
    """Rows from an engine as the Parquet columns; the source columns in `apart` as None."""
    sources, converters = [], []
    for name, kind in EXPECTED[table]:
        sources.append(name)
        if table == "source" and name in apart:
            converters.append(nothing)
        else:
            converters.append({T: instant_micros, B: to_bytes}.get(kind))
    return canonical(names, tuples, sources + ["cluster_id", "snapshot_revision"], converters + [None, None])


def hive_glob(root, table):
    return os.path.join(root, table, "**", "*.parquet")


def duckdb_read(con, root, table, where="", params=()):
    """(column names, rows) as DuckDB reads them."""
    sql = (
        f"SELECT * FROM read_parquet('{hive_glob(root, table)}', hive_partitioning = true, "
        f"hive_types = {{'cluster_id': VARCHAR, 'snapshot_revision': BIGINT}}) {where}"
    )
    cur = con.execute(sql, list(params))
    return [d[0] for d in cur.description], cur.fetchall()


def pyarrow_read(root, table, cluster=None, revision=None):
    """(column names, rows) as pyarrow.dataset reads them."""
    partitioning = pds.partitioning(pa.schema([("cluster_id", pa.string()), ("snapshot_revision", pa.int64())]), flavor="hive")
    dataset = pds.dataset(os.path.join(root, table), format="parquet", partitioning=partitioning)
    flt = None
    if cluster is not None:
        flt = (pds.field("cluster_id") == cluster) & (pds.field("snapshot_revision") == revision)
    got = dataset.to_table(filter=flt)
    return got.column_names, list(zip(*(got.column(n).to_pylist() for n in got.column_names)))


def by_text(rows):
    """Rows sorted by their text (repr tells bytes from text and True from 1): equal sets of
    rows sort alike."""
    return sorted((repr(r), r) for r in rows)


def compare_rows(mismatches, what, ours, theirs, table):
    """`ours` (an engine's) against `theirs` (SQLite's, by_text already)."""
    ours = by_text(ours)
    if len(ours) != len(theirs):
        mismatches.append({"table": table, "reader": what, "rows": len(ours), "sqlite_rows": len(theirs)})
    names = [n for n, _ in EXPECTED[table]] + [n for n, _ in PARTITION]
    for (text_a, a), (text_b, b) in zip(ours, theirs):
        if text_a == text_b:
            continue
        for name, x, y in zip(names, a, b):
            if repr(x) != repr(y):
                mismatches.append({"table": table, "reader": what, "column": name, "parquet": jsonable(x), "sqlite": jsonable(y), "row": jsonable(b)})
        if len(mismatches) > 40:
            return


def compare(root, sqlite_path, cluster, revision):
    db = sqlite3.connect(sqlite_path)
    src = db.execute("SELECT cluster_id, read_revision, input, exported_at FROM source").fetchall()
    mismatches, counts = [], {}
    if len(src) != 1:
        return {"tables": {}, "mismatches": [{"sqlite source rows": len(src)}]}
    source = {"cluster_id": src[0][0], "read_revision": src[0][1], "input": src[0][2], "exported_at": src[0][3]}
    if (source["cluster_id"], source["read_revision"]) != (cluster, revision):
        mismatches.append({"partition asked": [cluster, revision], "sqlite source": [source["cluster_id"], source["read_revision"]]})
    con = duckdb.connect()
    where = "WHERE cluster_id = ? AND snapshot_revision = ?"
    for table in EXPECTED:
        in_sqlite = db.execute("SELECT count(*) FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0] > 0
        if not files(root, table) or not in_sqlite:
            if files(root, table) or in_sqlite:
                mismatches.append({"table": table, "parquet files": len(files(root, table)), "in sqlite": in_sqlite})
            continue
        theirs = by_text(sqlite_rows(db, table, source))
        by_duckdb = duckdb_read(con, root, table, where, (cluster, revision))
        by_pyarrow = pyarrow_read(root, table, cluster, revision)
        compare_rows(mismatches, "duckdb", engine_rows(*by_duckdb, table), theirs, table)
        compare_rows(mismatches, "pyarrow", engine_rows(*by_pyarrow, table), theirs, table)
        counts[table] = len(theirs)
        if table == "source":
            mismatches.extend(judge_source_times(db, by_duckdb, by_pyarrow, source))
    return {"tables": counts, "mismatches": mismatches}


def judge_source_times(db, by_duckdb, by_pyarrow, source):
    """The source columns SQLite has not, or has at another time: file_modified is the input's
    mtime, latest_write_time the newest revision_times.latest, exported_at within ten minutes
    of the SQLite export's."""
    out = []
    mtime = os.stat(source["input"]).st_mtime_ns // 1000
    latest = [rfc3339_micros(t) for (t,) in db.execute("SELECT latest FROM revision_times")]
    newest = max((t for t in latest if t is not None), default=None)
    sqlite_exported = rfc3339_micros(source["exported_at"])
    for reader, (names, rows) in (("duckdb", by_duckdb), ("pyarrow", by_pyarrow)):
        for r in (dict(zip(names, t)) for t in rows):
            got = instant_micros(r["file_modified"])
            if got != mtime:
                out.append({"reader": reader, "file_modified": got, "input mtime": mtime})
            got = instant_micros(r["latest_write_time"])
            if got != newest:
                out.append({"reader": reader, "latest_write_time": got, "newest revision_times.latest": newest})
            got = instant_micros(r["exported_at"])
            if not isinstance(got, int) or abs(got - sqlite_exported) > 600_000_000:
                out.append({"reader": reader, "exported_at": got, "sqlite exported_at": sqlite_exported})
    return out


# --- queries ----------------------------------------------------------------------------------


def sets(root, cluster, rev_a, rev_b):
    con = duckdb.connect()
    kv = (
        f"read_parquet('{hive_glob(root, 'kv')}', hive_partitioning = true, "
        f"hive_types = {{'cluster_id': VARCHAR, 'snapshot_revision': BIGINT}})"
    )
    query = f"""
        SELECT key FROM {kv} WHERE cluster_id = $cluster AND snapshot_revision = $first
        EXCEPT
        SELECT key FROM {kv} WHERE cluster_id = $cluster AND snapshot_revision = $second
        ORDER BY key"""

    def keys(first, second):
        rows = con.execute(query, {"cluster": cluster, "first": first, "second": second}).fetchall()
        return [base64.b64encode(bytes(k)).decode() for (k,) in rows]

    return {"in_b_not_a": keys(rev_b, rev_a), "in_a_not_b": keys(rev_a, rev_b)}


def explain(root, cluster):
    """EXPLAIN ANALYZE of one aggregate over objects, filtered on cluster_id and not."""
    con = duckdb.connect()
    source = f"read_parquet('{hive_glob(root, 'objects')}', hive_partitioning = true)"
    query = "SELECT kind, count(*), sum(size) FROM {source} {where} GROUP BY kind"

    def plan(where):
        got = con.execute("EXPLAIN ANALYZE " + query.format(source=source, where=where)).fetchall()
        return "\n".join(r[1] for r in got)

    filtered = f"WHERE cluster_id = '{cluster}'"
    count = con.execute(f"SELECT count(*) FROM {source} {filtered}").fetchone()[0]
    return {"filtered": plan(filtered), "unfiltered": plan(""), "files": len(files(root, "objects")), "count": count}


def skip(root, column, value):
    """EXPLAIN ANALYZE of a count over objects filtered on `column` = `value`, and the row groups
    the objects files hold: {"plan": text, "count": n, "row_groups": n}."""
    con = duckdb.connect()
    source = f"read_parquet('{hive_glob(root, 'objects')}', hive_partitioning = true)"
    query = f"SELECT count(*), sum(size) FROM {source} WHERE {column} = $value"
    plan = "\n".join(r[1] for r in con.execute("EXPLAIN ANALYZE " + query, {"value": value}).fetchall())
    count = con.execute(query, {"value": value}).fetchone()[0]
    groups = sum(pq.ParquetFile(f).metadata.num_row_groups for f in files(root, "objects"))
    return {"plan": plan, "count": count, "row_groups": groups}


def rows(root):
    con = duckdb.connect()
    out = {}
    for table in EXPECTED:
        if not files(root, table):
            continue
        got = engine_rows(*duckdb_read(con, root, table), table, apart=("file_modified", "exported_at"))
        out[table] = [jsonable(r) for _, r in by_text(got)]
    return out


def counts(root):
    con = duckdb.connect()
    out = {}
    for table in EXPECTED:
        if not files(root, table):
            continue
        got = con.execute(
            f"SELECT cluster_id || '/' || snapshot_revision, count(*) FROM read_parquet('{hive_glob(root, table)}', "
            "hive_partitioning = true, hive_types = {'cluster_id': VARCHAR, 'snapshot_revision': BIGINT}) GROUP BY ALL"
        ).fetchall()
        out[table] = dict(got)
    return out


def main(argv):
    command, args = argv[1], argv[2:]
    if command == "compare":
        result = compare(args[0], args[1], args[2], int(args[3]))
    elif command == "types":
        result = types(args[0])
    elif command == "sets":
        result = sets(args[0], args[1], int(args[2]), int(args[3]))
    elif command == "explain":
        result = explain(args[0], args[1])
    elif command == "skip":
        result = skip(args[0], args[1], args[2])
    elif command == "rows":
        result = rows(args[0])
    elif command == "counts":
        result = counts(args[0])
    else:
        raise SystemExit(f"unknown command {command}")
    json.dump(result, sys.stdout, indent=1, default=str)
    print()


if __name__ == "__main__":
    main(sys.argv)
