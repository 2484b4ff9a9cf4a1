//! The rows of one snapshot as Parquet: a [`TableWriter`] per table, each in its partition
//! directory under the staging root. Cells are put in each table's column order
//! ([`super::schema`]); times become microseconds, IDs stay the integers etcd uses.

use super::dataset::Partition;
use super::schema::{self, Table, SCHEMA_VERSION};
use super::table::{Cell, TableFiles, TableWriter};
use crate::error::Result;
use crate::k8s::facts::Stamp;
use crate::views::export::rows::{BucketRow, KvRow, LeaseRow, MemberRow, ObjectRow, RevisionRow, RevisionTimes, Sink, SourceRow};
use std::path::Path;

use Cell::{Binary, Bool, Int, Text, Time, Unsigned};

/// The tables of one snapshot being written.
pub struct ParquetSink {
    kv: TableWriter,
    objects: TableWriter,
    labels: TableWriter,
    annotations: TableWriter,
    owner_refs: TableWriter,
    leases: TableWriter,
    members: TableWriter,
    revision_times: TableWriter,
    buckets: TableWriter,
    revisions: Option<TableWriter>,
    source: TableWriter,
    /// The newest time evidence seen (`source.latest_write_time`).
    latest_write: Option<i64>,
    /// The input's modification time (`source.file_modified`).
    file_modified: Option<i64>,
}

impl ParquetSink {
    /// Writers for every table under `root/<table>/<partition>/`.
    pub fn new(root: &Path, partition: &Partition, history: bool, part_bytes: u64, file_modified: Option<i64>) -> Result<ParquetSink> {
        let dir = partition.dir();
        let open = |t: Table| TableWriter::new(t, root.join(t.name).join(&dir), part_bytes);
        Ok(ParquetSink {
            kv: open(schema::KV)?,
            objects: open(schema::OBJECTS)?,
            labels: open(schema::LABELS)?,
            annotations: open(schema::ANNOTATIONS)?,
            owner_refs: open(schema::OWNER_REFS)?,
            leases: open(schema::LEASES)?,
            members: open(schema::MEMBERS)?,
            revision_times: open(schema::REVISION_TIMES)?,
            buckets: open(schema::BUCKETS)?,
            revisions: if history { Some(open(schema::REVISIONS)?) } else { None },
            source: open(schema::SOURCE)?,
            latest_write: None,
            file_modified,
        })
    }

    /// Closes every file; what each table got, `source` last.
    pub fn finish(self) -> Result<Vec<TableFiles>> {
        let mut tables = vec![
            self.kv.finish()?,
            self.objects.finish()?,
            self.labels.finish()?,
            self.annotations.finish()?,
            self.owner_refs.finish()?,
            self.leases.finish()?,
            self.members.finish()?,
            self.revision_times.finish()?,
            self.buckets.finish()?,
        ];
        if let Some(r) = self.revisions {
            tables.push(r.finish()?);
        }
        tables.push(self.source.finish()?);
        Ok(tables)
    }
}

/// Microseconds since the epoch of an RFC 3339 time; `None` when it is not one (the object's
/// JSON still holds it as stored).
fn micros_of_text(text: Option<&str>) -> Option<i64> {
    text.and_then(Stamp::parse).and_then(|s| micros(&s))
}

/// Microseconds since the epoch (nanoseconds past the microsecond dropped; Kubernetes writes
/// seconds, or microseconds in a MicroTime).
fn micros(s: &Stamp) -> Option<i64> {
    s.seconds.checked_mul(1_000_000)?.checked_add(i64::from(s.nanos / 1000))
}

fn count(n: u64) -> Cell<'static> {
    Int(Some(i64::try_from(n).unwrap_or(i64::MAX)))
}

impl Sink for ParquetSink {
    fn bucket(&mut self, b: &BucketRow<'_>) -> Result<()> {
        let st = b.stats;
        let name = String::from_utf8_lossy(b.name);
        self.buckets.row(&[
            Text(Some(&name)),
            Text(Some(b.description)),
            count(st.keys),
            count(st.branch_pages),
            count(st.leaf_pages),
            count(st.overflow_pages),
            count(b.pages()),
            count(st.allocated_bytes),
            count(st.used_bytes),
            Bool(st.inline),
        ])
    }

    fn key(&mut self, kv: &KvRow<'_>, object: Option<&ObjectRow<'_>>) -> Result<()> {
        self.kv.row(&[
            Binary(Some(kv.key)),
            Text(Some(kv.key_text)),
            Int(Some(kv.create_revision)),
            Int(Some(kv.mod_revision)),
            Int(Some(kv.version)),
            Int(Some(kv.lease)),
            Binary(kv.value),
            Int(Some(kv.value_size)),
            Text(Some(kv.encoding)),
            Bool(kv.redacted),
        ])?;
        let Some(o) = object else { return Ok(()) };
        let owner = o.owner;
        self.objects.row(&[
            Text(Some(o.key)),
            Text(Some(o.api_group)),
            Text(o.api_version),
            Text(o.kind),
            Text(Some(o.resource)),
            Text(o.namespace),
            Text(Some(o.name)),
            Text(o.uid),
            Int(Some(o.resource_version)),
            Int(o.generation),
            Time(micros_of_text(o.creation_timestamp)),
            Time(micros_of_text(o.deletion_timestamp)),
            Text(owner.and_then(|o| o.kind.as_deref())),
            Text(owner.and_then(|o| o.name.as_deref())),
            Text(owner.and_then(|o| o.uid.as_deref())),
            Text(o.node_name),
            Text(o.phase),
            Int(Some(o.size)),
            Text(o.encoding),
            Text(o.object),
            Text(o.error),
        ])?;
        for (name, value) in o.labels {
            self.labels.row(&[Text(Some(o.key)), Text(Some(name)), Text(Some(value))])?;
        }
        for (name, value) in o.annotations {
            self.annotations.row(&[Text(Some(o.key)), Text(Some(name)), Text(Some(value))])?;
        }
        for r in o.owners {
            self.owner_refs.row(&[
                Text(Some(o.key)),
                Text(r.api_version.as_deref()),
                Text(r.kind.as_deref()),
                Text(r.name.as_deref()),
                Text(r.uid.as_deref()),
                Bool(r.controller.unwrap_or(false)),
                Bool(r.block_owner_deletion.unwrap_or(false)),
            ])?;
        }
        Ok(())
    }

    /// The keys' tables are complete: their last row groups go to disk now rather than stay
    /// in memory through the passes over the revisions.
    fn keys_done(&mut self) -> Result<()> {
        for t in [&mut self.kv, &mut self.objects, &mut self.labels, &mut self.annotations, &mut self.owner_refs] {
            t.end_row_group()?;
        }
        Ok(())
    }

    fn revision_time(&mut self, r: &RevisionTimes) -> Result<()> {
        let (e, l) = (&r.earliest, &r.latest);
        let latest = micros(&l.time);
        self.latest_write = self.latest_write.max(latest);
        self.revision_times.row(&[
            Int(Some(r.revision)),
            Time(micros(&e.time)),
            Text(Some(e.field.as_str())),
            Text(Some(&String::from_utf8_lossy(&e.key))),
            Time(latest),
            Text(Some(l.field.as_str())),
            Text(Some(&String::from_utf8_lossy(&l.key))),
            Int(Some(i64::from(r.count))),
            Text(Some(&r.field_names().join(","))),
        ])
    }

    fn revision(&mut self, r: &RevisionRow<'_>) -> Result<()> {
        let Some(table) = self.revisions.as_mut() else { return Ok(()) };
        table.row(&[
            Int(Some(r.revision)),
            Int(Some(r.sub)),
            Binary(Some(r.key)),
            Text(Some(r.key_text)),
            Text(Some(r.event)),
            Int(Some(r.version)),
            Int(Some(r.create_revision)),
            Int(Some(r.lease)),
            Int(Some(r.value_size)),
            Binary(r.value),
            Bool(r.redacted),
            Int(r.prev_revision),
            Text(r.api_group),
            Text(r.resource),
        ])
    }

    fn lease(&mut self, l: &LeaseRow) -> Result<()> {
        let hex = format!("{:016x}", l.id);
        self.leases.row(&[Int(Some(l.id)), Text(Some(&hex)), Int(Some(l.granted_ttl)), Int(Some(l.remaining_ttl)), count(l.keys)])
    }

    fn member(&mut self, m: &MemberRow<'_>) -> Result<()> {
        let (hex, peers, clients) = (format!("{:x}", m.id), m.peer_urls.join(","), m.client_urls.join(","));
        self.members.row(&[
            Unsigned(Some(m.id)),
            Text(Some(&hex)),
            Text(Some(m.name)),
            Text(Some(&peers)),
            Text(Some(&clients)),
            Bool(m.learner),
            Bool(m.removed),
        ])
    }

    fn source(&mut self, s: &SourceRow<'_>) -> Result<()> {
        self.source.row(&[
            Text(Some(&s.input)),
            Text(Some(&s.kind)),
            Text(Some(&s.db_path)),
            Text(Some(s.trailer)),
            Int(Some(s.revision)),
            Int(Some(s.read_revision)),
            Int(Some(s.compact_revision)),
            Unsigned(s.consistent_index),
            Unsigned(s.term),
            Unsigned(Some(s.cluster_id)),
            count(s.page_size),
            count(s.file_size),
            Time(self.file_modified),
            Time(self.latest_write),
            Bool(s.history),
            Bool(s.secrets_shown),
            Text(Some(s.etcd_prefix)),
            Time(s.exported_at.checked_mul(1_000_000)),
            Text(Some(env!("CARGO_PKG_VERSION"))),
            Int(Some(SCHEMA_VERSION)),
        ])
    }
}
