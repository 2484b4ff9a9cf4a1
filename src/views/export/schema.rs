//! The tables of an export, as SQL. Column meanings are in docs/commands/export.md. Tables are
//! created bare; indexes and views come after the rows (building an index once is cheaper than
//! keeping it up to date through millions of inserts).
//!
//! `kv` and `objects` are views, each over two tables: the small columns (`kv_rows`,
//! `object_rows`) and the bulky value (`kv_values`, `object_json`), joined on rowid. SQLite
//! builds an index by scanning its table, and stores up to a page of each row in the table's
//! own pages: with values of tens of kilobytes beside the columns, every index build and every
//! unindexed query would read the whole keyspace. Apart, they read only the columns.

/// Version of this layout, stored in `source.schema_version`; raised when a column changes.
pub const SCHEMA_VERSION: i64 = 1;

pub const TABLES: &str = "
CREATE TABLE source (
    input TEXT NOT NULL,
    kind TEXT NOT NULL,
    db_path TEXT NOT NULL,
    trailer TEXT NOT NULL,
    revision INTEGER NOT NULL,
    read_revision INTEGER NOT NULL,
    compact_revision INTEGER NOT NULL,
    consistent_index INTEGER,
    term INTEGER,
    cluster_id TEXT NOT NULL,
    page_size INTEGER NOT NULL,
    file_size INTEGER NOT NULL,
    history INTEGER NOT NULL,
    secrets_shown INTEGER NOT NULL,
    etcd_prefix TEXT NOT NULL,
    exported_at TEXT NOT NULL,
    etcdscope_version TEXT NOT NULL,
    schema_version INTEGER NOT NULL
);
CREATE TABLE kv_rows (
    key BLOB NOT NULL,
    key_text TEXT NOT NULL,
    create_revision INTEGER NOT NULL,
    mod_revision INTEGER NOT NULL,
    version INTEGER NOT NULL,
    lease INTEGER NOT NULL,
    value_size INTEGER NOT NULL,
    encoding TEXT NOT NULL,
    redacted INTEGER NOT NULL
);
CREATE TABLE kv_values (value BLOB);
CREATE TABLE object_rows (
    key TEXT NOT NULL,
    api_group TEXT NOT NULL,
    api_version TEXT,
    kind TEXT,
    resource TEXT NOT NULL,
    namespace TEXT,
    name TEXT NOT NULL,
    uid TEXT,
    resource_version INTEGER NOT NULL,
    generation INTEGER,
    creation_timestamp TEXT,
    deletion_timestamp TEXT,
    owner_kind TEXT,
    owner_name TEXT,
    owner_uid TEXT,
    node_name TEXT,
    phase TEXT,
    size INTEGER NOT NULL,
    encoding TEXT,
    error TEXT
);
CREATE TABLE object_json (object TEXT);
CREATE TABLE labels (key TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL);
CREATE TABLE annotations (key TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL);
CREATE TABLE owner_refs (
    key TEXT NOT NULL,
    api_version TEXT,
    kind TEXT,
    name TEXT,
    uid TEXT,
    controller INTEGER NOT NULL,
    block_owner_deletion INTEGER NOT NULL
);
CREATE TABLE leases (
    id INTEGER PRIMARY KEY,
    id_hex TEXT NOT NULL,
    granted_ttl INTEGER NOT NULL,
    remaining_ttl INTEGER NOT NULL,
    keys INTEGER NOT NULL
);
CREATE TABLE members (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    peer_urls TEXT NOT NULL,
    client_urls TEXT NOT NULL,
    learner INTEGER NOT NULL,
    removed INTEGER NOT NULL
);
CREATE TABLE revision_times (
    revision INTEGER PRIMARY KEY,
    earliest TEXT NOT NULL,
    earliest_unix_ns INTEGER,
    earliest_field TEXT NOT NULL,
    earliest_key TEXT NOT NULL,
    latest TEXT NOT NULL,
    latest_unix_ns INTEGER,
    latest_field TEXT NOT NULL,
    latest_key TEXT NOT NULL,
    evidence INTEGER NOT NULL,
    fields TEXT NOT NULL
);
CREATE TABLE buckets (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    keys INTEGER NOT NULL,
    branch_pages INTEGER NOT NULL,
    leaf_pages INTEGER NOT NULL,
    overflow_pages INTEGER NOT NULL,
    pages INTEGER NOT NULL,
    allocated_bytes INTEGER NOT NULL,
    used_bytes INTEGER NOT NULL,
    inline INTEGER NOT NULL
);
";

pub const HISTORY_TABLES: &str = "
CREATE TABLE revisions (
    revision INTEGER NOT NULL,
    sub INTEGER NOT NULL,
    key BLOB NOT NULL,
    key_text TEXT NOT NULL,
    event TEXT NOT NULL,
    version INTEGER NOT NULL,
    create_revision INTEGER NOT NULL,
    lease INTEGER NOT NULL,
    value_size INTEGER NOT NULL,
    value BLOB,
    redacted INTEGER NOT NULL,
    prev_revision INTEGER,
    api_group TEXT,
    resource TEXT,
    PRIMARY KEY (revision, sub)
) WITHOUT ROWID;
";

pub const INDEXES: &str = "
CREATE UNIQUE INDEX kv_key ON kv_rows (key);
CREATE INDEX kv_mod_revision ON kv_rows (mod_revision);
CREATE INDEX kv_lease ON kv_rows (lease) WHERE lease != 0;
CREATE UNIQUE INDEX objects_key ON object_rows (key);
CREATE INDEX objects_kind ON object_rows (kind);
CREATE INDEX objects_resource ON object_rows (api_group, resource);
CREATE INDEX objects_namespace_name ON object_rows (namespace, name);
CREATE INDEX objects_owner_uid ON object_rows (owner_uid);
CREATE INDEX objects_node_name ON object_rows (node_name) WHERE node_name IS NOT NULL;
CREATE INDEX objects_uid ON object_rows (uid);
CREATE VIEW kv AS
    SELECT r.key, r.key_text, r.create_revision, r.mod_revision, r.version, r.lease,
           v.value, r.value_size, r.encoding, r.redacted
    FROM kv_rows r LEFT JOIN kv_values v ON v.rowid = r.rowid;
CREATE VIEW objects AS
    SELECT r.key, r.api_group, r.api_version, r.kind, r.resource, r.namespace, r.name, r.uid,
           r.resource_version, r.generation, r.creation_timestamp, r.deletion_timestamp,
           r.owner_kind, r.owner_name, r.owner_uid, r.node_name, r.phase, r.size, r.encoding,
           j.object, r.error
    FROM object_rows r LEFT JOIN object_json j ON j.rowid = r.rowid;
CREATE INDEX labels_name_value ON labels (name, value);
CREATE INDEX labels_key ON labels (key);
CREATE INDEX annotations_key ON annotations (key);
CREATE INDEX owner_refs_uid ON owner_refs (uid);
CREATE INDEX owner_refs_key ON owner_refs (key);
CREATE VIEW pods_by_node AS
    SELECT node_name, count(*) AS pods, sum(size) AS bytes
    FROM object_rows WHERE api_group = '' AND resource = 'pods'
    GROUP BY node_name;
CREATE VIEW objects_per_namespace AS
    SELECT namespace, count(*) AS objects, sum(size) AS bytes
    FROM object_rows GROUP BY namespace;
CREATE VIEW largest_objects AS
    SELECT key, api_group, resource, kind, namespace, name, size
    FROM object_rows ORDER BY size DESC, key;
";

pub const HISTORY_INDEXES: &str = "
CREATE INDEX revisions_key ON revisions (key, revision);
CREATE INDEX revisions_resource ON revisions (api_group, resource);
CREATE VIEW churn_by_resource AS
    SELECT api_group, resource, count(*) AS revisions,
           sum(event = 'put') AS puts, sum(event = 'delete') AS deletes,
           count(DISTINCT key) AS keys, sum(value_size) AS bytes
    FROM revisions WHERE resource IS NOT NULL
    GROUP BY api_group, resource;
";

/// With `--wal`: the member's log. `raft_index`/`raft_term` because INDEX is reserved in SQL.
pub const WAL_TABLES: &str = "
CREATE TABLE wal_entries (
    segment TEXT NOT NULL,
    offset INTEGER NOT NULL,
    raft_index INTEGER NOT NULL,
    raft_term INTEGER NOT NULL,
    type TEXT NOT NULL,
    class TEXT NOT NULL,
    op TEXT,
    committed INTEGER NOT NULL,
    in_db INTEGER,
    superseded INTEGER NOT NULL,
    key BLOB,
    key_text TEXT,
    range_end BLOB,
    puts INTEGER NOT NULL,
    value_size INTEGER,
    object TEXT,
    encoding TEXT,
    error TEXT
);
CREATE TABLE wal_puts (
    raft_index INTEGER NOT NULL,
    raft_term INTEGER NOT NULL,
    n INTEGER NOT NULL,
    key BLOB NOT NULL,
    key_text TEXT NOT NULL,
    lease INTEGER NOT NULL,
    value_size INTEGER NOT NULL,
    value BLOB,
    redacted INTEGER NOT NULL,
    object TEXT,
    encoding TEXT
);
CREATE TABLE wal_damage (segment TEXT NOT NULL, offset INTEGER NOT NULL, record INTEGER NOT NULL, kind TEXT NOT NULL, error TEXT NOT NULL);
";

pub const WAL_INDEXES: &str = "
CREATE INDEX wal_entries_index ON wal_entries (raft_index);
CREATE INDEX wal_entries_key ON wal_entries (key);
CREATE INDEX wal_puts_key ON wal_puts (key);
CREATE INDEX wal_puts_index ON wal_puts (raft_index);
";
