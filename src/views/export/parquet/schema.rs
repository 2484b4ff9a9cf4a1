//! The Parquet tables: every column's name, type, and how it is encoded. This list is the
//! schema: the writers, the Arrow schema written into each file and the table of
//! docs/format/parquet.md all come from it (a test holds the page to it).
//!
//! The columns follow `export sqlite`'s, typed as engines read them: keys and stored values
//! BINARY beside the key as UTF8, objects UTF8 with the JSON logical type, times
//! TIMESTAMP(MICROS, UTC) instead of RFC 3339 text, IDs as the integers etcd uses (a member's
//! and the cluster's are unsigned). The partition columns (`cluster_id`, `snapshot_revision`)
//! are in the directory names only, the Hive way.
//!
//! Versioning: [`SCHEMA_VERSION`] is in every file's key-value metadata and in `source`.
//! Columns are only ever added, at the end of a table, so an engine reading old and new files
//! together by column name (DuckDB's `union_by_name`, Spark's `mergeSchema`) sees nulls for
//! what an old file lacks. A column is never renamed or retyped; such a change is a new table.

use arrow_schema::extension::Json;
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use std::sync::Arc;

/// Version of the Parquet layout. 1: the first.
pub const SCHEMA_VERSION: i64 = 1;

/// The file metadata key holding [`SCHEMA_VERSION`].
pub const VERSION_KEY: &str = "etcdscope.schema_version";

/// A column's type, as the writer fills it and as it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// BYTE_ARRAY, no logical type.
    Binary,
    /// BYTE_ARRAY, STRING.
    Text,
    /// BYTE_ARRAY, JSON (text).
    Json,
    /// INT64.
    Int,
    /// INT64, INTEGER(64, unsigned).
    Unsigned,
    /// BOOLEAN.
    Bool,
    /// INT64, TIMESTAMP(MICROS, isAdjustedToUTC).
    Time,
}

impl Kind {
    /// The type's name in docs/format/parquet.md.
    pub fn parquet_name(self) -> &'static str {
        match self {
            Kind::Binary => "BINARY",
            Kind::Text => "STRING",
            Kind::Json => "JSON",
            Kind::Int => "INT64",
            Kind::Unsigned => "UINT64",
            Kind::Bool => "BOOLEAN",
            Kind::Time => "TIMESTAMP(MICROS, UTC)",
        }
    }

    fn data_type(self) -> DataType {
        match self {
            Kind::Binary => DataType::Binary,
            Kind::Text | Kind::Json => DataType::Utf8,
            Kind::Int => DataType::Int64,
            Kind::Unsigned => DataType::UInt64,
            Kind::Bool => DataType::Boolean,
            Kind::Time => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        }
    }
}

/// How a column's values are stored besides their type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Few distinct values (kinds, namespaces, label names): dictionary encoded, with
    /// statistics, so a filter on them skips row groups.
    Dictionary,
    /// Many distinct short values (names, revisions): plain, with statistics.
    Plain,
    /// Plain, statistics and a bloom filter: looked up by equality (UIDs).
    Lookup,
    /// Large values (stored values, objects): plain, no statistics (a minimum and maximum of
    /// whole objects would cost space and prune nothing).
    Bulk,
}

/// One column.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
    pub encoding: Encoding,
}

const fn col(name: &'static str, kind: Kind, nullable: bool, encoding: Encoding) -> Column {
    Column { name, kind, nullable, encoding }
}

use Encoding::{Bulk, Dictionary as Dict, Lookup, Plain};
use Kind::{Binary, Bool, Int, Json as JsonText, Text, Time, Unsigned};

/// One table: its directory name and columns.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
}

impl Table {
    /// The Arrow schema the files are written with (the Parquet schema follows from it).
    pub fn arrow_schema(&self) -> Arc<Schema> {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| {
                let field = Field::new(c.name, c.kind.data_type(), c.nullable);
                if c.kind == Kind::Json {
                    field.with_extension_type(Json::default())
                } else {
                    field
                }
            })
            .collect();
        Arc::new(Schema::new(fields))
    }
}

pub const SOURCE: Table = Table {
    name: "source",
    columns: &[
        col("input", Text, false, Plain),
        col("kind", Text, false, Plain),
        col("db_path", Text, false, Plain),
        col("trailer", Text, false, Plain),
        col("revision", Int, false, Plain),
        col("read_revision", Int, false, Plain),
        col("compact_revision", Int, false, Plain),
        col("consistent_index", Unsigned, true, Plain),
        col("term", Unsigned, true, Plain),
        col("etcd_cluster_id", Unsigned, false, Plain),
        col("page_size", Int, false, Plain),
        col("file_size", Int, false, Plain),
        col("file_modified", Time, true, Plain),
        col("latest_write_time", Time, true, Plain),
        col("history", Bool, false, Plain),
        col("secrets_shown", Bool, false, Plain),
        col("etcd_prefix", Text, false, Plain),
        col("exported_at", Time, false, Plain),
        col("etcdscope_version", Text, false, Plain),
        col("schema_version", Int, false, Plain),
    ],
};

pub const KV: Table = Table {
    name: "kv",
    columns: &[
        col("key", Binary, false, Plain),
        col("key_text", Text, false, Plain),
        col("create_revision", Int, false, Plain),
        col("mod_revision", Int, false, Plain),
        col("version", Int, false, Plain),
        col("lease", Int, false, Plain),
        col("value", Binary, true, Bulk),
        col("value_size", Int, false, Plain),
        col("encoding", Text, false, Dict),
        col("redacted", Bool, false, Plain),
    ],
};

pub const OBJECTS: Table = Table {
    name: "objects",
    columns: &[
        col("key", Text, false, Plain),
        col("api_group", Text, false, Dict),
        col("api_version", Text, true, Dict),
        col("kind", Text, true, Dict),
        col("resource", Text, false, Dict),
        col("namespace", Text, true, Dict),
        col("name", Text, false, Plain),
        col("uid", Text, true, Lookup),
        col("resource_version", Int, false, Plain),
        col("generation", Int, true, Plain),
        col("creation_timestamp", Time, true, Plain),
        col("deletion_timestamp", Time, true, Plain),
        col("owner_kind", Text, true, Dict),
        col("owner_name", Text, true, Plain),
        col("owner_uid", Text, true, Lookup),
        col("node_name", Text, true, Dict),
        col("phase", Text, true, Dict),
        col("size", Int, false, Plain),
        col("encoding", Text, true, Dict),
        col("object", JsonText, true, Bulk),
        col("error", Text, true, Plain),
    ],
};

pub const LABELS: Table = Table { name: "labels", columns: &[col("key", Text, false, Plain), col("name", Text, false, Dict), col("value", Text, false, Dict)] };

pub const ANNOTATIONS: Table =
    Table { name: "annotations", columns: &[col("key", Text, false, Plain), col("name", Text, false, Dict), col("value", Text, false, Bulk)] };

pub const OWNER_REFS: Table = Table {
    name: "owner_refs",
    columns: &[
        col("key", Text, false, Plain),
        col("api_version", Text, true, Dict),
        col("kind", Text, true, Dict),
        col("name", Text, true, Plain),
        col("uid", Text, true, Lookup),
        col("controller", Bool, false, Plain),
        col("block_owner_deletion", Bool, false, Plain),
    ],
};

pub const LEASES: Table = Table {
    name: "leases",
    columns: &[
        col("id", Int, false, Plain),
        col("id_hex", Text, false, Plain),
        col("granted_ttl", Int, false, Plain),
        col("remaining_ttl", Int, false, Plain),
        col("keys", Int, false, Plain),
    ],
};

pub const MEMBERS: Table = Table {
    name: "members",
    columns: &[
        col("id", Unsigned, false, Plain),
        col("id_hex", Text, false, Plain),
        col("name", Text, false, Plain),
        col("peer_urls", Text, false, Plain),
        col("client_urls", Text, false, Plain),
        col("learner", Bool, false, Plain),
        col("removed", Bool, false, Plain),
    ],
};

pub const REVISION_TIMES: Table = Table {
    name: "revision_times",
    columns: &[
        col("revision", Int, false, Plain),
        col("earliest", Time, true, Plain),
        col("earliest_field", Text, false, Dict),
        col("earliest_key", Text, false, Plain),
        col("latest", Time, true, Plain),
        col("latest_field", Text, false, Dict),
        col("latest_key", Text, false, Plain),
        col("evidence", Int, false, Plain),
        col("fields", Text, false, Dict),
    ],
};

pub const BUCKETS: Table = Table {
    name: "buckets",
    columns: &[
        col("name", Text, false, Plain),
        col("description", Text, false, Plain),
        col("keys", Int, false, Plain),
        col("branch_pages", Int, false, Plain),
        col("leaf_pages", Int, false, Plain),
        col("overflow_pages", Int, false, Plain),
        col("pages", Int, false, Plain),
        col("allocated_bytes", Int, false, Plain),
        col("used_bytes", Int, false, Plain),
        col("inline", Bool, false, Plain),
    ],
};

pub const REVISIONS: Table = Table {
    name: "revisions",
    columns: &[
        col("revision", Int, false, Plain),
        col("sub", Int, false, Plain),
        col("key", Binary, false, Plain),
        col("key_text", Text, false, Plain),
        col("event", Text, false, Dict),
        col("version", Int, false, Plain),
        col("create_revision", Int, false, Plain),
        col("lease", Int, false, Plain),
        col("value_size", Int, false, Plain),
        col("value", Binary, true, Bulk),
        col("redacted", Bool, false, Plain),
        col("prev_revision", Int, true, Plain),
        col("api_group", Text, true, Dict),
        col("resource", Text, true, Dict),
    ],
};

/// Every table, `source` last (the order a snapshot's partitions are committed in: a snapshot
/// whose `source` row is in the dataset is in it whole).
pub const ALL: [Table; 11] = [KV, OBJECTS, LABELS, ANNOTATIONS, OWNER_REFS, LEASES, MEMBERS, REVISION_TIMES, BUCKETS, REVISIONS, SOURCE];

/// The names no table's column may have: the partition keys, which engines add from the paths.
pub const PARTITION_KEYS: [&str; 2] = ["cluster_id", "snapshot_revision"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_column_takes_a_partition_key_and_names_are_unique() {
        for t in ALL {
            let mut names: Vec<&str> = t.columns.iter().map(|c| c.name).collect();
            for key in PARTITION_KEYS {
                assert!(!names.contains(&key), "{}.{key}", t.name);
            }
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), t.columns.len(), "{}", t.name);
        }
    }
}
