//! `rebuild`: a new member data dir real etcd starts from, as `etcdutl snapshot restore` writes
//! one (same flags, same defaults, same IDs), with a compact db and optionally the keyspace cut
//! at a revision, extended by the committed entries of a member's WAL, or its latest revision
//! bumped and marked compacted.
//!
//! Everything is written into a temp dir beside `--out` (mode 0700, a [`PendingDir`]) and
//! renamed into place at the end, so a failed or interrupted rebuild (its [`Cancel`] is checked
//! per entry in the WAL replay and the db write) leaves no half data dir, and no temp dir either.
//! Nothing is printed: the plan and the summary are data for the CLI.

pub mod cluster;
pub mod db;
pub mod member_dir;
pub mod start;
pub mod v2store;
pub mod wal_apply;

use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::etcd::revision::Revision;
use crate::output::PendingDir;
use crate::snapshot::Snapshot;
use crate::source::Trailer;
use cluster::{ClusterFlags, NewCluster};
use db::{DbWritten, KeyspaceEdit};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct RebuildOptions {
    pub cluster: ClusterFlags,
    /// Do not require (or check) the snapshot's sha256 trailer.
    pub skip_hash_check: bool,
    /// Keep the keyspace up to this revision (None: all of it).
    pub to_revision: Option<i64>,
    /// Add this to the latest revision; requires `mark_compacted`.
    pub bump_revision: Option<i64>,
    pub mark_compacted: bool,
    /// A member's WAL (data dir, member dir or WAL dir) to replay past the snapshot.
    pub wal: Option<PathBuf>,
    /// With `wal`: replay entries up to this raft index.
    pub to_index: Option<u64>,
    /// With `wal`: replay a WAL whose metadata names a member the snapshot does not know.
    pub force_foreign_wal: bool,
    /// Stops the rebuild (the WAL replay, the db write) at the next entry; nothing is left.
    pub cancel: Cancel,
}

/// What a rebuild will do (all of it known before writing anything; `--dry-run` prints it).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RebuildPlan {
    pub name: String,
    #[serde(rename = "member_id", serialize_with = "hex")]
    pub member_id: u64,
    #[serde(rename = "cluster_id", serialize_with = "hex")]
    pub cluster_id: u64,
    pub members: Vec<PlannedMember>,
    /// The new WAL's bootstrap ends here; the db's consistent index and term say so.
    pub consistent_index: u64,
    pub term: u64,
    /// The source's current and compact revisions.
    pub source_revision: i64,
    pub compact_revision: i64,
    /// The new member's latest revision (after a cut or a bump).
    pub revision: i64,
    /// Retained revisions after `--to-revision` that are dropped.
    pub dropped_revisions: u64,
    pub bumped_by: Option<i64>,
    /// With `--wal`: what applying the WAL's committed entries did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wal_applied: Option<wal_apply::WalApplyReport>,
    pub trailer: &'static str,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedMember {
    #[serde(serialize_with = "hex")]
    pub id: u64,
    pub name: String,
    #[serde(rename = "peerURLs")]
    pub peer_urls: Vec<String>,
}

fn hex<S: serde::Serializer>(v: &u64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{v:x}"))
}

/// What a rebuild wrote.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RebuildSummary {
    pub out: PathBuf,
    pub db: PathBuf,
    pub wal: PathBuf,
    pub snap: PathBuf,
    /// Bytes of the source's bbolt file and of the new, compact one.
    pub source_db_bytes: u64,
    pub db_bytes: u64,
    pub key_entries: u64,
    pub latest_revision: i64,
}

/// `rebuild -o json`: the plan, what was written (none on a dry run), and the etcd command line
/// that starts the new member, as an argv array.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RebuildReport<'a> {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    pub plan: &'a RebuildPlan,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written: Option<&'a RebuildSummary>,
    pub start_command: &'a [String],
}

/// Checks the options against the source and works out what the rebuild will do.
pub fn plan(snap: &Snapshot<'_>, options: &RebuildOptions) -> Result<(RebuildPlan, NewCluster, Option<wal_apply::WalApplied>)> {
    let cluster = options.cluster.cluster()?;
    let store = snap.store();
    let source = snap.source();
    let trailer = if options.skip_hash_check {
        "not checked"
    } else {
        match source.verify_trailer() {
            Trailer::Ok => "ok",
            Trailer::Missing => {
                return Err(Error::Usage(format!(
                    "{} has no sha256 trailer (it is not an `etcdctl snapshot save` file); as etcdutl, a rebuild needs --skip-hash-check to use it",
                    source.db_path.display()
                )))
            }
            Trailer::Mismatch { .. } => {
                return Err(Error::Usage(format!(
                    "{}: the sha256 trailer does not match the file: it changed after `snapshot save`; --skip-hash-check to rebuild from it anyway",
                    source.db_path.display()
                )))
            }
            t @ Trailer::Partial { .. } => {
                return Err(Error::Usage(format!(
                    "{}: {}: the file was cut short inside its sha256 trailer, so it cannot be verified; --skip-hash-check to rebuild from it anyway",
                    source.db_path.display(),
                    t.describe()
                )))
            }
        }
    };
    if options.bump_revision.is_some() != options.mark_compacted {
        return Err(Error::Usage("--bump-revision and --mark-compacted go together (as in etcdutl)".into()));
    }
    if let Some(n) = options.bump_revision {
        if n <= 0 {
            return Err(Error::Usage(format!("--bump-revision {n}: the bump must be positive")));
        }
    }
    let current = store.current_revision();
    let compact = store.compact_revision();
    let mut dropped = 0u64;
    let mut warnings = Vec::new();
    let mut revision = current;
    if options.to_index.is_some() && options.wal.is_none() {
        return Err(Error::Usage("--to-index needs --wal".into()));
    }
    let applied = match &options.wal {
        Some(wal) => {
            if let Some(r) = options.to_revision.filter(|r| *r < current) {
                return Err(Error::Usage(format!("--to-revision {r} is below the snapshot's revision {current}: the snapshot alone has it, without --wal")));
            }
            if let Some(w) = foreign_wal(snap, wal, options.force_foreign_wal)? {
                warnings.push(w);
            }
            let limits = wal_apply::WalApplyLimits { to_index: options.to_index, to_revision: options.to_revision };
            let applied = wal_apply::apply_wal(snap, wal, &limits, &options.cancel)?;
            revision = applied.report.revision;
            for (kind, n) in &applied.report.not_replayed {
                let why = match kind.as_str() {
                    "auth" => "users, roles and the auth switch stay as the snapshot has them",
                    "alarm" => "alarms stay as the snapshot has them",
                    _ => "it describes the old cluster's membership, which the rebuild replaces",
                };
                warnings.push(format!("{n} WAL entr{} of kind {kind} not replayed: {why}", if *n == 1 { "y" } else { "ies" }));
            }
            Some(applied)
        }
        None => None,
    };
    if let Some(r) = options.to_revision.filter(|_| applied.is_none()) {
        store.read_revision(r)?;
        for entry in store.revisions(None, r.saturating_add(1)..=i64::MAX) {
            entry?;
            options.cancel.check()?;
            dropped += 1;
        }
        // The member's revision is the last kept entry's: R itself, unless R's own entry was
        // compacted away (a tombstone at the compact revision), then an earlier one.
        revision = last_revision_up_to(store, compact.min(r), r, &options.cancel)?;
        if revision < compact {
            revision = last_revision_up_to(store, 0, r, &options.cancel)?;
        }
        if revision < current && options.bump_revision.is_none() {
            warnings.push(format!(
                "the new member's revision {revision} is below the source's {current}: clients that saw later revisions (watchers, Kubernetes informers) will see revisions go backwards; consider --bump-revision {} --mark-compacted",
                current - revision
            ));
        }
    }
    if let Some(n) = options.bump_revision {
        // Refused here, in the plan, so --dry-run refuses what the real run would.
        revision = revision.checked_add(n).ok_or_else(|| Error::Usage(format!("--bump-revision {n} overflows the revision ({revision} + {n})")))?;
    }
    let membership = snap.membership()?;
    let learners: Vec<String> = membership.members.iter().filter(|m| m.is_learner).map(|m| format!("{} ({:x})", m.name, m.id)).collect();
    if !learners.is_empty() {
        warnings.push(format!("the source has learners ({}); the new cluster has only the members of --initial-cluster, all voters", learners.join(", ")));
    }
    if let Some(cs) = &store.meta.conf_state {
        if cs.voters != cluster.member_ids() {
            warnings.push(format!(
                "meta/confState keeps the source's voters [{}], as etcdutl leaves it; etcd rewrites it at its next snapshot",
                cs.voters.iter().map(|v| format!("{v:x}")).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    let alarms = snap.backend().entries(crate::etcd::backend::ALARM)?;
    if !alarms.is_empty() {
        warnings.push(format!(
            "the source has {} raised alarm(s) in its alarm bucket; they come back with the new member (etcdctl alarm list; alarm disarm)",
            alarms.len()
        ));
    }
    let (consistent_index, term) = member_dir::bootstrap_point(&cluster);
    let plan = RebuildPlan {
        name: cluster.local().name.clone(),
        member_id: cluster.local().id,
        cluster_id: cluster.cluster_id,
        members: cluster.members.iter().map(|m| PlannedMember { id: m.id, name: m.name.clone(), peer_urls: m.peer_urls.clone() }).collect(),
        consistent_index,
        term,
        source_revision: current,
        compact_revision: compact,
        revision,
        dropped_revisions: dropped,
        bumped_by: options.bump_revision,
        wal_applied: applied.as_ref().map(|r| r.report.clone()),
        trailer,
        warnings,
    };
    Ok((plan, cluster, applied))
}

/// Refuses a WAL written by a member the snapshot's cluster never had (its metadata names a
/// member neither among the snapshot's members nor its removed ones): its entries are another
/// cluster's log, and replaying them would mix two keyspaces. A snapshot that records no members
/// cannot vouch for any WAL, so it is refused too. With `force`, a warning instead.
/// A cluster ID is not compared on its own: the snapshot holds no cluster ID, only one derived
/// from its current members, which changes with every membership change.
fn foreign_wal(snap: &Snapshot<'_>, wal: &Path, force: bool) -> Result<Option<String>> {
    let Some((wal_member, wal_cluster)) = crate::wal::wal_ids(wal)? else {
        return Err(Error::Usage(format!("{}: the WAL has no metadata record, so whose log it is cannot be told", wal.display())));
    };
    let membership = snap.membership()?;
    // A member whose value is damaged still counts by the ID its key names.
    let member_ids = membership.member_ids();
    let ids: Vec<String> = member_ids.iter().map(|id| format!("{id:x}")).collect();
    if member_ids.contains(&wal_member) || membership.removed.contains(&wal_member) {
        return Ok(None);
    }
    let theirs = format!("the WAL in {} was written by member {wal_member:x} of cluster {wal_cluster:x}", wal.display());
    let ours = if ids.is_empty() {
        "the snapshot records no members to compare with".to_string()
    } else {
        format!(
            "the snapshot's members are {} (cluster {:x}, as derived from them), and {wal_member:x} is not one of them, nor a removed member",
            ids.join(", "),
            membership.cluster_id()
        )
    };
    if force {
        return Ok(Some(format!("{theirs}; {ours}: replayed anyway (--force-foreign-wal)")));
    }
    let why = if ids.is_empty() { "whether its entries are this cluster's log cannot be told" } else { "its entries are another cluster's log" };
    Err(Error::Usage(format!("{theirs}; {ours}: {why}; --force-foreign-wal to replay them anyway")))
}

/// The main revision of the last `key` entry in `from..=to` (0 when there is none).
fn last_revision_up_to(store: &crate::etcd::Store<'_>, from: i64, to: i64, cancel: &Cancel) -> Result<i64> {
    let mut last = 0;
    for entry in store.revisions(None, from..=to) {
        last = last.max(entry?.main());
        cancel.check()?;
    }
    Ok(last)
}

/// Refuses an `out` that exists and is not an empty directory (etcd would find old data).
pub fn check_out(out: &Path) -> Result<()> {
    match std::fs::read_dir(out) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Error::Usage(format!("{}: not empty; a rebuild writes a new data dir and never into an existing one", out.display())));
            }
            Ok(())
        }
        Err(_) if std::fs::symlink_metadata(out).is_ok_and(|m| m.file_type().is_symlink()) => {
            Err(Error::Usage(format!("{}: a link to nothing; give the directory it should point at, or a new path", out.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if out.exists() && !out.is_dir() => Err(Error::Usage(format!("{}: exists and is not a directory", out.display()))),
        Err(e) => Err(Error::io(out, e)),
    }
}

/// Writes the data dir `out` from `snap`: into a temporary directory (mode 0700) renamed into
/// place only when whole; on an error or a cancel the temporary is removed. A new `out` is built
/// beside its place and renamed to it. An `out` that already exists (empty: `check_out`) is
/// kept, and its `member` dir is built inside it: it may be a mount point or reached through a
/// link, which a rename could not replace, and the data belongs on its filesystem.
pub fn rebuild(snap: &Snapshot<'_>, options: &RebuildOptions, out: &Path) -> Result<(RebuildPlan, RebuildSummary)> {
    // Before the plan (which may replay a whole WAL): a refusal comes before any work.
    check_out(out)?;
    let (plan, cluster, applied) = plan(snap, options)?;
    let final_member = out.join("member");
    let (pending, member) = if out.is_dir() {
        let pending = PendingDir::beside(&final_member, "rebuild")?;
        let member = pending.path().to_path_buf();
        (pending, member)
    } else {
        let pending = PendingDir::beside(out, "rebuild")?;
        let member = pending.path().join("member");
        (pending, member)
    };
    let written = write_member(snap, options, &plan, &cluster, applied.as_ref(), &member).map_err(|e| pending.name_target(e))?;
    options.cancel.check()?;
    pending.commit()?;
    let moved = |p: &Path| final_member.join(p.strip_prefix(&member).unwrap_or(p));
    let MemberWritten { db_path, db: DbWritten { file, key_entries, latest, .. }, snap_file, wal_file } = written;
    let summary = RebuildSummary {
        out: out.to_path_buf(),
        db: moved(&db_path),
        wal: moved(&wal_file),
        snap: moved(&snap_file),
        source_db_bytes: snap.db().size(),
        db_bytes: file.db_size,
        key_entries,
        latest_revision: Revision::max(latest, Revision { main: 0, sub: 0 }).main,
    };
    Ok((plan, summary))
}

/// What [`write_member`] wrote, at its paths under the temporary dir.
struct MemberWritten {
    db_path: std::path::PathBuf,
    db: DbWritten,
    snap_file: std::path::PathBuf,
    wal_file: std::path::PathBuf,
}

/// Writes the member dir `member` (inside the temporary dir): `snap/db`, the raft snapshot in
/// `snap` and the first WAL segment in `wal`, each synced.
fn write_member(
    snap: &Snapshot<'_>,
    options: &RebuildOptions,
    plan: &RebuildPlan,
    cluster: &NewCluster,
    applied: Option<&wal_apply::WalApplied>,
    member: &Path,
) -> Result<MemberWritten> {
    let (snap_dir, wal_dir) = (member.join("snap"), member.join("wal"));
    for dir in [member, &snap_dir, &wal_dir] {
        make_private_dir(dir)?;
    }
    let edit = KeyspaceEdit { to_revision: options.to_revision.filter(|_| applied.is_none()), wal_applied: applied, bump: options.bump_revision };
    let db_path = snap_dir.join("db");
    let pace = db::Pace { cancel: &options.cancel };
    let db = db::write_db(snap.backend(), &db_path, cluster, plan.consistent_index, plan.term, &edit, &pace)?;
    options.cancel.check()?;
    let snap_file = member_dir::write_snap(&snap_dir, cluster)?;
    let wal_file = member_dir::write_wal(&wal_dir, cluster)?;
    for dir in [&snap_dir, &wal_dir, member] {
        sync_dir(dir)?;
    }
    Ok(MemberWritten { db_path, db, snap_file, wal_file })
}

fn make_private_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        std::fs::create_dir(dir).map_err(|e| Error::io(dir, e))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| Error::io(dir, e))?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir).and_then(|f| f.sync_all()).map_err(|e| Error::io(dir, e))
}
