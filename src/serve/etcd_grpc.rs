//! `serve --etcd-address`: etcd's own v3 gRPC API over a served snapshot, one endpoint per
//! context, so `etcdctl get/watch/endpoint status/endpoint hashkv/member list` (and any etcd
//! client) read a backup as they read a member.
//!
//! Why: operators check a backup with the tool they check a cluster with. Every answer stands on
//! the library's views — `views::kv_get` for Range (etcd 3.5's range semantics), `Store::revisions`
//! for a watch's retained history, `etcd::hashkv` for HashKV, the snapshot's membership, leases
//! and `views::status` for the rest — so this module only translates requests and responses.
//!
//! What a reader sees:
//! - Response headers carry the snapshot's cluster ID and (one recorded member) member ID, the
//!   served revision, and `meta/term` as the raft term: what the member that wrote the file
//!   would have said at that revision.
//! - Reads past the served revision are a future revision, reads below the compaction compacted,
//!   with etcd's codes and messages (OutOfRange, "etcdserver: mvcc: ...").
//! - A watch replays the retained history from its start revision up to the served revision, in
//!   revision order, then stays open and idle: nothing ever happens to a backup after it.
//! - Writes and member/maintenance changes are refused with etcd's `ErrGRPCNotCapable`
//!   (Unavailable, "etcdserver: not capable"). Of the refusals etcd itself has, it is the one that
//!   says what is true here: this server is not able to do that at all. The other candidates
//!   describe states that are false for a backup ("no leader", "rpc not supported for learner",
//!   "permission denied"). etcd's clients do not retry a write refused with it (they retry a
//!   mutation only when no connection could be made), so `etcdctl put` fails at once.
//!
//! The listeners run on the Kubernetes server's tokio runtime and stop with its shutdown token.

use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::etcd::backend::ALARM;
use crate::etcd::hashkv::{dump_db_hash, hash_kv};
use crate::etcd::mvcc::RevisionEntry;
use crate::etcd::pb::etcdserverpb as pb;
use crate::etcd::pb::mvccpb;
use crate::etcd::KeyRange;
use crate::serve::context::Context;
use crate::views::kv_get::{self, GetRequest, SortOrder, SortTarget};
use pb::cluster_server::{Cluster, ClusterServer};
use pb::kv_server::{Kv, KvServer};
use pb::lease_server::{Lease, LeaseServer};
use pb::maintenance_server::{Maintenance, MaintenanceServer};
use pb::watch_server::{Watch, WatchServer};
use prost::Message;
use rustc_hash::FxHashMap as HashMap;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

/// etcd's `ErrGRPCCompacted`.
pub const COMPACTED: &str = "etcdserver: mvcc: required revision has been compacted";
/// etcd's `ErrGRPCFutureRev`.
pub const FUTURE_REVISION: &str = "etcdserver: mvcc: required revision is a future revision";
/// etcd's `ErrGRPCNotCapable`: every write and every change to members, leases or the member
/// itself (see the module doc for why this one).
pub const NOT_CAPABLE: &str = "etcdserver: not capable";

/// `Maintenance.Snapshot`'s refusal.
pub const SNAPSHOT_REFUSED: &str = "etcdscope: a served backup does not stream snapshots; copy the file it serves";

/// How often a watch created with `progress_notify` hears the served revision (etcd's default
/// progress interval).
const PROGRESS_INTERVAL: Duration = Duration::from_secs(600);
/// A watch response is sent once it holds this many events or bytes (at a revision boundary:
/// one revision's events are never split, as etcd without `fragment` does not split them).
const WATCH_BATCH_EVENTS: usize = 1000;
const WATCH_BATCH_BYTES: usize = 1 << 20;
/// Responses queued per watch stream before the replay waits for the client to read.
const STREAM_QUEUE: usize = 16;
/// Watches one stream may hold; a create beyond is answered created-and-canceled, with why.
pub const MAX_WATCHES_PER_STREAM: usize = 1024;
/// Calls in flight on one connection (HTTP/2 streams: a watch stream counts as one).
const MAX_STREAMS_PER_CONNECTION: u32 = super::MAX_REQUESTS as u32;

fn refused() -> Status {
    Status::unavailable(NOT_CAPABLE)
}

/// etcd's status for what reading the file said.
fn status_of(e: Error) -> Status {
    match e {
        Error::Compacted { .. } => Status::out_of_range(COMPACTED),
        Error::FutureRevision { .. } => Status::out_of_range(FUTURE_REVISION),
        // etcd's ErrGRPCStopped: the server is shutting down.
        Error::Interrupted => Status::unavailable("etcdserver: server stopped"),
        e @ Error::Corrupt { .. } => Status::data_loss(format!("etcdscope: {e}")),
        e => Status::internal(format!("etcdscope: {e}")),
    }
}

/// Runs `f` (which reads the file) off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> std::result::Result<T, Status> + Send + 'static) -> std::result::Result<T, Status> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Status::internal(format!("etcdscope: {e}")))?
}

/// Resolves once `cancel` is cancelled.
pub async fn cancelled(cancel: Cancel) {
    while !cancel.is_cancelled() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One context as its etcd endpoint answers: the header every response carries and what the
/// answers need from the file, read once.
pub struct Endpoint {
    context: &'static Context,
    header: pb::ResponseHeader,
    members: Vec<pb::Member>,
    /// The member whose file this is, when the file records one member.
    member: Option<pb::Member>,
    /// The cluster version the members had agreed on (`cluster/clusterVersion`), if recorded.
    cluster_version: Option<String>,
    status: OnceLock<std::result::Result<pb::StatusResponse, Status>>,
    shutdown: Cancel,
}

impl Endpoint {
    /// Reads the membership (damage there leaves the header's IDs 0, as `kv get` does).
    pub fn new(context: &'static Context, shutdown: Cancel) -> Endpoint {
        let snapshot = &context.snapshot;
        let membership = snapshot.membership().ok();
        let (cluster_id, member_id) = membership.as_ref().map_or((0, 0), |m| (m.cluster_id(), m.single_member_id()));
        let header = pb::ResponseHeader { cluster_id, member_id, revision: context.revision, raft_term: snapshot.store().meta.term.unwrap_or(0) };
        let cluster_version = membership.as_ref().and_then(|m| m.cluster_version.clone());
        let members: Vec<pb::Member> = membership
            .map(|m| m.members)
            .unwrap_or_default()
            .into_iter()
            .map(|m| pb::Member { id: m.id, name: m.name, peer_ur_ls: m.peer_urls, client_ur_ls: m.client_urls, is_learner: m.is_learner })
            .collect();
        let member = members.iter().find(|m| m.id == member_id && member_id != 0).cloned();
        Endpoint { context, header, members, member, cluster_version, status: OnceLock::new(), shutdown }
    }

    fn header(&self) -> Option<pb::ResponseHeader> {
        Some(self.header)
    }

    /// A read revision (0: the served one), refused as etcd refuses it.
    fn read_revision(&self, requested: i64) -> std::result::Result<i64, Status> {
        let context = self.context;
        match requested {
            r if r <= 0 => Ok(context.revision),
            r if r > context.revision => Err(Status::out_of_range(FUTURE_REVISION)),
            r if r < context.compacted => Err(Status::out_of_range(COMPACTED)),
            r => Ok(r),
        }
    }

    fn range(&self, r: &pb::RangeRequest) -> std::result::Result<pb::RangeResponse, Status> {
        if r.key.is_empty() {
            return Err(Status::invalid_argument("etcdserver: key is not provided"));
        }
        let revision = self.read_revision(r.revision)?;
        let filtered = !r.count_only && (r.min_mod_revision != 0 || r.max_mod_revision != 0 || r.min_create_revision != 0 || r.max_create_revision != 0);
        let request = GetRequest {
            range: KeyRange { key: r.key.clone(), end: r.range_end.clone() },
            revision,
            // As etcd: with revision filters everything is read, filtered, then cut to the limit.
            limit: if filtered { 0 } else { r.limit },
            keys_only: r.keys_only,
            count_only: r.count_only,
            sort_target: sort_target(r.sort_target),
            sort_order: sort_order(r.sort_order),
            cancel: self.shutdown.clone(),
        };
        let answer = kv_get::get(&self.context.snapshot, &request).map_err(status_of)?;
        let mut kvs = answer.key_values().collect::<Result<Vec<mvccpb::KeyValue>>>().map_err(status_of)?;
        let mut more = answer.more;
        if filtered {
            kvs.retain(|kv| passes_filters(r, kv));
            if r.limit > 0 && kvs.len() as i64 > r.limit {
                kvs.truncate(r.limit as usize);
                more = true;
            }
        }
        Ok(pb::RangeResponse { header: self.header(), kvs, more, count: answer.count })
    }

    fn hash_kv(&self, requested: i64) -> std::result::Result<pb::HashKvResponse, Status> {
        if requested > self.context.revision {
            return Err(Status::out_of_range(FUTURE_REVISION));
        }
        let revision = if requested <= 0 { self.context.revision } else { requested };
        let hashed = hash_kv(self.context.snapshot.store(), revision).map_err(status_of)?;
        Ok(pb::HashKvResponse { header: self.header(), hash: hashed.hash, compact_revision: hashed.compact_revision })
    }

    /// The alarms the file records (the `alarm` bucket's keys).
    fn alarms(&self) -> std::result::Result<Vec<pb::AlarmMember>, Status> {
        let entries = self.context.snapshot.backend().entries(ALARM).map_err(status_of)?;
        entries
            .into_iter()
            .map(|(key, _)| pb::AlarmMember::decode(key).map_err(|e| Status::data_loss(format!("etcdscope: alarm bucket key is not an AlarmMember: {e}"))))
            .collect()
    }

    /// Status as the member would report it on starting from this file. `version` is etcd's
    /// binary version there; no binary runs here, so it is the cluster version the file records
    /// (`3.5.0` for a 3.5.x cluster; empty when not recorded). The file's size and size in use,
    /// the consistent index as raft index and applied index, `meta/term`, the recorded alarms.
    /// No leader (0): nothing is elected.
    fn status(&self) -> std::result::Result<pb::StatusResponse, Status> {
        let status = crate::views::status::status(&self.context.snapshot).map_err(status_of)?;
        let errors = self.alarms()?.iter().map(|a| format!("alarm:{}", pb::AlarmType::try_from(a.alarm).map_or("UNKNOWN", |t| t.as_str_name()))).collect();
        let index = status.consistent_index.unwrap_or(0);
        Ok(pb::StatusResponse {
            header: self.header(),
            version: self.cluster_version.clone().unwrap_or_default(),
            db_size: status.file_size as i64,
            leader: 0,
            raft_index: index,
            raft_term: status.term.unwrap_or(0),
            raft_applied_index: index,
            errors,
            db_size_in_use: status.in_use_bytes as i64,
            is_learner: self.member.as_ref().is_some_and(|m| m.is_learner),
        })
    }

    fn lease_time_to_live(&self, r: &pb::LeaseTimeToLiveRequest) -> std::result::Result<pb::LeaseTimeToLiveResponse, Status> {
        let leases = self.context.snapshot.leases().map_err(status_of)?;
        let Some(lease) = leases.iter().find(|l| l.id == r.id) else {
            return Err(Status::not_found("etcdserver: requested lease not found"));
        };
        let mut keys = Vec::new();
        if r.keys {
            let index = self.context.index().map_err(|e| Status::internal(format!("etcdscope: {e}")))?;
            let file = self.context.snapshot.file();
            for entry in &index.entries {
                if entry.int64_field(6, file).map_err(status_of)? == r.id {
                    keys.push(entry.key.to_vec());
                }
            }
        }
        // What a member starting from this file would say at once: a checkpointed remaining TTL,
        // else the granted one (etcd renews every lease when a leader is elected).
        let ttl = if lease.remaining_ttl > 0 { lease.remaining_ttl } else { lease.ttl };
        Ok(pb::LeaseTimeToLiveResponse { header: self.header(), id: lease.id, ttl, granted_ttl: lease.ttl, keys })
    }
}

fn sort_target(t: i32) -> SortTarget {
    match t {
        1 => SortTarget::Version,
        2 => SortTarget::Create,
        3 => SortTarget::Modify,
        4 => SortTarget::Value,
        _ => SortTarget::Key,
    }
}

fn sort_order(o: i32) -> SortOrder {
    match o {
        1 => SortOrder::Ascend,
        2 => SortOrder::Descend,
        _ => SortOrder::None,
    }
}

/// RangeRequest's min/max mod and create revision filters (0: no bound).
fn passes_filters(r: &pb::RangeRequest, kv: &mvccpb::KeyValue) -> bool {
    let above = |bound: i64, v: i64| bound == 0 || v >= bound;
    let below = |bound: i64, v: i64| bound == 0 || v <= bound;
    above(r.min_mod_revision, kv.mod_revision)
        && below(r.max_mod_revision, kv.mod_revision)
        && above(r.min_create_revision, kv.create_revision)
        && below(r.max_create_revision, kv.create_revision)
}

/// Serves `endpoint` on `listener` until `shutdown` is cancelled.
pub async fn serve(endpoint: &'static Endpoint, listener: std::net::TcpListener) -> Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| Error::Usage(format!("--etcd-address: {e}")))?;
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let service = Service(endpoint);
    tonic::transport::Server::builder()
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
        .add_service(KvServer::new(service))
        .add_service(WatchServer::new(service))
        .add_service(LeaseServer::new(service))
        .add_service(ClusterServer::new(service))
        .add_service(MaintenanceServer::new(service))
        .serve_with_incoming_shutdown(incoming, cancelled(endpoint.shutdown.clone()))
        .await
        .map_err(|e| Error::Usage(format!("serving etcd's API: {e}")))
}

/// The services of one endpoint.
#[derive(Clone, Copy)]
struct Service(&'static Endpoint);

type Answer<T> = std::result::Result<Response<T>, Status>;

#[tonic::async_trait]
impl Kv for Service {
    async fn range(&self, request: Request<pb::RangeRequest>) -> Answer<pb::RangeResponse> {
        let (endpoint, r) = (self.0, request.into_inner());
        blocking(move || endpoint.range(&r)).await.map(Response::new)
    }
    async fn put(&self, _: Request<pb::PutRequest>) -> Answer<pb::PutResponse> {
        Err(refused())
    }
    async fn delete_range(&self, _: Request<pb::DeleteRangeRequest>) -> Answer<pb::DeleteRangeResponse> {
        Err(refused())
    }
    async fn txn(&self, _: Request<pb::TxnRequest>) -> Answer<pb::TxnResponse> {
        Err(refused())
    }
    async fn compact(&self, _: Request<pb::CompactionRequest>) -> Answer<pb::CompactionResponse> {
        Err(refused())
    }
}

#[tonic::async_trait]
impl Lease for Service {
    async fn lease_grant(&self, _: Request<pb::LeaseGrantRequest>) -> Answer<pb::LeaseGrantResponse> {
        Err(refused())
    }
    async fn lease_revoke(&self, _: Request<pb::LeaseRevokeRequest>) -> Answer<pb::LeaseRevokeResponse> {
        Err(refused())
    }
    type LeaseKeepAliveStream = ReceiverStream<std::result::Result<pb::LeaseKeepAliveResponse, Status>>;
    async fn lease_keep_alive(&self, _: Request<Streaming<pb::LeaseKeepAliveRequest>>) -> Answer<Self::LeaseKeepAliveStream> {
        Err(refused())
    }
    async fn lease_time_to_live(&self, request: Request<pb::LeaseTimeToLiveRequest>) -> Answer<pb::LeaseTimeToLiveResponse> {
        let (endpoint, r) = (self.0, request.into_inner());
        blocking(move || endpoint.lease_time_to_live(&r)).await.map(Response::new)
    }
    async fn lease_leases(&self, _: Request<pb::LeaseLeasesRequest>) -> Answer<pb::LeaseLeasesResponse> {
        let endpoint = self.0;
        blocking(move || {
            let leases = endpoint.context.snapshot.leases().map_err(status_of)?;
            Ok(pb::LeaseLeasesResponse { header: endpoint.header(), leases: leases.iter().map(|l| pb::LeaseStatus { id: l.id }).collect() })
        })
        .await
        .map(Response::new)
    }
}

#[tonic::async_trait]
impl Cluster for Service {
    async fn member_add(&self, _: Request<pb::MemberAddRequest>) -> Answer<pb::MemberAddResponse> {
        Err(refused())
    }
    async fn member_remove(&self, _: Request<pb::MemberRemoveRequest>) -> Answer<pb::MemberRemoveResponse> {
        Err(refused())
    }
    async fn member_update(&self, _: Request<pb::MemberUpdateRequest>) -> Answer<pb::MemberUpdateResponse> {
        Err(refused())
    }
    async fn member_list(&self, _: Request<pb::MemberListRequest>) -> Answer<pb::MemberListResponse> {
        Ok(Response::new(pb::MemberListResponse { header: self.0.header(), members: self.0.members.clone() }))
    }
    async fn member_promote(&self, _: Request<pb::MemberPromoteRequest>) -> Answer<pb::MemberPromoteResponse> {
        Err(refused())
    }
}

#[tonic::async_trait]
impl Maintenance for Service {
    async fn alarm(&self, request: Request<pb::AlarmRequest>) -> Answer<pb::AlarmResponse> {
        if request.get_ref().action != pb::alarm_request::AlarmAction::Get as i32 {
            return Err(refused());
        }
        let endpoint = self.0;
        blocking(move || Ok(pb::AlarmResponse { header: endpoint.header(), alarms: endpoint.alarms()? })).await.map(Response::new)
    }
    async fn status(&self, _: Request<pb::StatusRequest>) -> Answer<pb::StatusResponse> {
        let endpoint = self.0;
        // Read once (it reads the whole file), then every call gets the same answer.
        blocking(move || endpoint.status.get_or_init(|| endpoint.status()).clone()).await.map(Response::new)
    }
    async fn defragment(&self, _: Request<pb::DefragmentRequest>) -> Answer<pb::DefragmentResponse> {
        Err(refused())
    }
    async fn hash(&self, _: Request<pb::HashRequest>) -> Answer<pb::HashResponse> {
        let endpoint = self.0;
        blocking(move || {
            let hash = dump_db_hash(endpoint.context.snapshot.backend()).map_err(status_of)?;
            Ok(pb::HashResponse { header: endpoint.header(), hash })
        })
        .await
        .map(Response::new)
    }
    async fn hash_kv(&self, request: Request<pb::HashKvRequest>) -> Answer<pb::HashKvResponse> {
        let (endpoint, revision) = (self.0, request.get_ref().revision);
        blocking(move || endpoint.hash_kv(revision)).await.map(Response::new)
    }
    type SnapshotStream = ReceiverStream<std::result::Result<pb::SnapshotResponse, Status>>;
    /// Refused as a call the server does not implement (Unimplemented): etcd's clients retry a
    /// snapshot stream refused with Unavailable (etcd's "not capable") without end, so
    /// `etcdctl snapshot save` would hang instead of failing.
    async fn snapshot(&self, _: Request<pb::SnapshotRequest>) -> Answer<Self::SnapshotStream> {
        Err(Status::unimplemented(SNAPSHOT_REFUSED))
    }
    async fn move_leader(&self, _: Request<pb::MoveLeaderRequest>) -> Answer<pb::MoveLeaderResponse> {
        Err(refused())
    }
    async fn downgrade(&self, _: Request<pb::DowngradeRequest>) -> Answer<pb::DowngradeResponse> {
        Err(refused())
    }
}

type WatchSender = mpsc::Sender<std::result::Result<pb::WatchResponse, Status>>;

#[tonic::async_trait]
impl Watch for Service {
    type WatchStream = ReceiverStream<std::result::Result<pb::WatchResponse, Status>>;
    async fn watch(&self, request: Request<Streaming<pb::WatchRequest>>) -> Answer<Self::WatchStream> {
        let (sender, receiver) = mpsc::channel(STREAM_QUEUE);
        tokio::spawn(watch_stream(self.0, request.into_inner(), sender));
        Ok(Response::new(ReceiverStream::new(receiver)))
    }
}

/// One watch of a stream: its replay, stopped by `cancel`.
struct Watcher {
    cancel: Cancel,
    replay: tokio::task::JoinHandle<()>,
    progress_notify: bool,
}

/// Reads a watch stream's requests until the client or the server goes away.
async fn watch_stream(endpoint: &'static Endpoint, mut requests: Streaming<pb::WatchRequest>, sender: WatchSender) {
    use pb::watch_request::RequestUnion;
    let mut watchers: HashMap<i64, Watcher> = HashMap::default();
    let mut next_id = 0i64;
    let mut progress = tokio::time::interval_at(tokio::time::Instant::now() + PROGRESS_INTERVAL, PROGRESS_INTERVAL);
    loop {
        let request = tokio::select! {
            r = requests.message() => r,
            _ = sender.closed() => break,
            _ = cancelled(endpoint.shutdown.clone()) => break,
            _ = progress.tick() => {
                let notified: Vec<i64> = watchers.iter().filter(|(_, w)| w.progress_notify && w.replay.is_finished()).map(|(id, _)| *id).collect();
                if !send_progress(endpoint, &sender, &notified).await {
                    break;
                }
                continue;
            }
        };
        let Ok(Some(request)) = request else { break };
        let sent = match request.request_union {
            Some(RequestUnion::CreateRequest(create)) => create_watch(endpoint, create, &mut watchers, &mut next_id, &sender).await,
            Some(RequestUnion::CancelRequest(cancel)) => cancel_watch(endpoint, cancel.watch_id, &mut watchers, &sender).await,
            Some(RequestUnion::ProgressRequest(_)) => {
                let synced: Vec<i64> = watchers.iter().filter(|(_, w)| w.replay.is_finished()).map(|(id, _)| *id).collect();
                send_progress(endpoint, &sender, &synced).await
            }
            None => true,
        };
        if !sent {
            break;
        }
    }
    for watcher in watchers.into_values() {
        watcher.cancel.cancel();
    }
}

/// A response with no events for each of `ids`: the served revision is where they stand.
async fn send_progress(endpoint: &Endpoint, sender: &WatchSender, ids: &[i64]) -> bool {
    for &id in ids {
        let response = pb::WatchResponse { header: endpoint.header(), watch_id: id, ..Default::default() };
        if sender.send(Ok(response)).await.is_err() {
            return false;
        }
    }
    true
}

async fn create_watch(
    endpoint: &'static Endpoint,
    create: pb::WatchCreateRequest,
    watchers: &mut HashMap<i64, Watcher>,
    next_id: &mut i64,
    sender: &WatchSender,
) -> bool {
    let created = |watch_id: i64| pb::WatchResponse { header: endpoint.header(), watch_id, created: true, ..Default::default() };
    let id = if create.watch_id != 0 {
        create.watch_id
    } else {
        while watchers.contains_key(next_id) {
            *next_id += 1;
        }
        *next_id
    };
    let refusal = if watchers.contains_key(&id) {
        // etcd's mvcc.ErrWatcherDuplicateID.
        Some("mvcc: duplicate watch ID provided on the WatchStream".to_string())
    } else if watchers.len() >= MAX_WATCHES_PER_STREAM {
        Some(format!("etcdscope: a watch stream holds at most {MAX_WATCHES_PER_STREAM} watches; cancel one or open another stream"))
    } else {
        None
    };
    if let Some(reason) = refusal {
        // As etcd refuses a watch it cannot make: created and canceled at once, with the reason.
        let response = pb::WatchResponse { canceled: true, cancel_reason: reason, ..created(id) };
        return sender.send(Ok(response)).await.is_ok();
    }
    if sender.send(Ok(created(id))).await.is_err() {
        return false;
    }
    let context = endpoint.context;
    // As etcd: a start below the compaction is answered with the compaction and the watch ends.
    if create.start_revision != 0 && create.start_revision < context.compacted {
        let response = pb::WatchResponse { header: endpoint.header(), watch_id: id, canceled: true, compact_revision: context.compacted, ..Default::default() };
        return sender.send(Ok(response)).await.is_ok();
    }
    let (cancel, progress_notify) = (Cancel::new(), create.progress_notify);
    let replay = {
        let (cancel, sender) = (cancel.clone(), sender.clone());
        tokio::task::spawn_blocking(move || {
            if let Err(e) = replay(endpoint, &create, id, &cancel, &sender) {
                if !matches!(e, Error::Interrupted) {
                    let _ = sender.blocking_send(Err(status_of(e)));
                }
            }
        })
    };
    watchers.insert(id, Watcher { cancel, replay, progress_notify });
    true
}

async fn cancel_watch(endpoint: &Endpoint, id: i64, watchers: &mut HashMap<i64, Watcher>, sender: &WatchSender) -> bool {
    let Some(watcher) = watchers.remove(&id) else { return true };
    watcher.cancel.cancel();
    // The replay's last response goes out before the cancellation does.
    let _ = watcher.replay.await;
    let response = pb::WatchResponse { header: endpoint.header(), watch_id: id, canceled: true, ..Default::default() };
    sender.send(Ok(response)).await.is_ok()
}

/// Sends the retained history of the watched range from the start revision to the served one,
/// in revision order, in responses of whole revisions. Ends with [`Error::Interrupted`] once
/// `cancel` is (the watch is canceled, or its stream ends, which the server's shutdown does).
fn replay(endpoint: &Endpoint, create: &pb::WatchCreateRequest, id: i64, cancel: &Cancel, sender: &WatchSender) -> Result<()> {
    let context = endpoint.context;
    let start = if create.start_revision == 0 { context.revision + 1 } else { create.start_revision };
    if start > context.revision {
        return Ok(());
    }
    let range = KeyRange { key: create.key.clone(), end: create.range_end.clone() };
    let store = context.snapshot.store();
    let file = context.snapshot.file();
    let skip_puts = create.filters.contains(&(pb::watch_create_request::FilterType::Noput as i32));
    let skip_deletes = create.filters.contains(&(pb::watch_create_request::FilterType::Nodelete as i32));
    let mut previous = if create.prev_kv { Some(PreviousValues::at(context, &range, start, cancel)?) } else { None };
    let mut batch: Vec<mvccpb::Event> = Vec::new();
    let (mut batch_bytes, mut batch_revision) = (0usize, 0i64);
    for entry in store.revisions(Some(&range), start..=context.revision).until(cancel) {
        let entry = entry?;
        if entry.main() != batch_revision && (batch.len() >= WATCH_BATCH_EVENTS || batch_bytes >= WATCH_BATCH_BYTES) {
            send_events(endpoint, id, std::mem::take(&mut batch), sender)?;
            batch_bytes = 0;
        }
        batch_revision = entry.main();
        let prev_kv = previous.as_mut().map(|p| p.replace(&entry, context.compacted)).transpose()?.flatten();
        let mut kv = entry.decode(file)?;
        let event_type = if entry.tombstone {
            // A tombstone stores only its key; etcd's delete event names the deleting revision.
            kv.mod_revision = entry.main();
            mvccpb::event::EventType::Delete
        } else {
            mvccpb::event::EventType::Put
        };
        if (entry.tombstone && skip_deletes) || (!entry.tombstone && skip_puts) {
            continue;
        }
        batch_bytes += entry.raw.len() + prev_kv.as_ref().map_or(0, |p: &mvccpb::KeyValue| p.encoded_len());
        batch.push(mvccpb::Event { r#type: event_type as i32, kv: Some(kv), prev_kv });
    }
    if !batch.is_empty() {
        send_events(endpoint, id, batch, sender)?;
    }
    Ok(())
}

fn send_events(endpoint: &Endpoint, id: i64, events: Vec<mvccpb::Event>, sender: &WatchSender) -> Result<()> {
    let response = pb::WatchResponse { header: endpoint.header(), watch_id: id, events, ..Default::default() };
    sender.blocking_send(Ok(response)).map_err(|_| Error::Interrupted)
}

/// Each watched key's value before the event being sent, for `prev_kv`: as etcd, the key's
/// value at the revision before the event's, none when that revision is compacted.
struct PreviousValues<'a> {
    values: HashMap<&'a [u8], RevisionEntry<'a>>,
    file: &'a std::sync::Arc<std::path::Path>,
}

impl PreviousValues<'static> {
    /// The live keys of `range` just before `start`. When `start` is the compaction itself, the
    /// entries that survived below it stand in: events at the compaction get no previous value
    /// anyway, and those after it see the state at the compaction, as etcd does.
    fn at(context: &'static Context, range: &KeyRange, start: i64, cancel: &Cancel) -> Result<PreviousValues<'static>> {
        let entries = context.snapshot.store().range_until(range, start - 1, cancel)?;
        Ok(PreviousValues { values: entries.into_iter().map(|e| (e.key, e)).collect(), file: context.snapshot.file() })
    }

    /// The value before `entry`, then `entry` becomes the key's value.
    fn replace(&mut self, entry: &RevisionEntry<'static>, compacted: i64) -> Result<Option<mvccpb::KeyValue>> {
        let before = if entry.tombstone { self.values.remove(entry.key) } else { self.values.insert(entry.key, *entry) };
        match before {
            Some(previous) if entry.main() > compacted => Ok(Some(previous.decode(self.file)?)),
            _ => Ok(None),
        }
    }
}
