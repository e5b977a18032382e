//! The API server: the one source of truth. Objects live here; every write goes through its
//! methods, which admit the object, bump the resourceVersion and append a [`Change`] to the
//! watch log. Components never call each other: they read the objects and react to the
//! changes their watch delivers (after the informer latency) and to their own timers.
//!
//! What kubesim simplifies, and why it does not change what components decide:
//! - An informer reads the *current* object when a change is delivered, not a copy of the
//!   object as it was at that change. Deliveries are in resourceVersion order and never early,
//!   so a component never acts on something before it could have seen it; it may see a later
//!   state a little earlier than a real informer would.
//! - A write commits `apiLatency` after it is made: the object changes at once (the writer's
//!   own view, as upstream's expectations and assumed pods make it), but watchers learn of it
//!   only after the commit plus their watch latency.
//! - Watches are cheap: a watcher keeps a cursor into one shared log and has at most one
//!   pending delivery event; a delivery consumes every change old enough for it.

pub mod admission;
pub mod availability;
pub mod collection;
pub mod hpas;
pub mod latency;
pub mod leases;
pub mod network;
mod nodes;
pub mod objects;
mod pods;
pub mod storage;
mod watch;
mod workloads;

use std::collections::{BTreeMap, BTreeSet};

use sim_core::{Context, SimDuration, SimTime};

pub use collection::{
    Collection, CronJobStatus, DaemonSetStatus, JobStatus, Object, StatefulSetStatus, Workload,
};
pub use latency::{ControlPlaneTiming, Latency};
pub use leases::{ConditionStatus, NodeConditions, NodeLease, NodeLeases};
pub use objects::{
    Condition, DeploymentObject, DeploymentStatus, OwnedPodCounts, PdbObject, ReplicaSetObject,
    ReplicaSetStatus,
};
pub use storage::{ClaimId, ClaimObject, Storage, VolumeId, VolumeObject};
pub use watch::{Change, ObjectKind, Op, Subscriber, WatchLog};

use crate::cluster::Event;
use crate::events::{EventLog, EventRecord, EventType};
use crate::store::Store;

/// Why a write failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// The API server is down (a fault): the writer retries later.
    Unavailable,
    /// The object does not exist (any more).
    NotFound,
    /// Eviction refused: `429 Too Many Requests`, with upstream's message.
    TooManyRequests(String),
    /// Admission refused the object (`pods "x" is forbidden: exceeded quota: …`).
    Forbidden(String),
    /// Eviction refused for another reason (e.g. several PDBs match), with upstream's message.
    Refused(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Unavailable => write!(f, "the API server is unavailable"),
            ApiError::NotFound => write!(f, "not found"),
            ApiError::TooManyRequests(m) | ApiError::Refused(m) | ApiError::Forbidden(m) => {
                write!(f, "{m}")
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Counters the summary reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub scheduling_attempts: u64,
    pub failed_scheduling: u64,
    pub pods_created: u64,
    pub pods_bound: u64,
    /// Pods deleted through the Eviction API.
    pub evictions: u64,
    /// Pods the scheduler deleted to make room (preemption victims).
    pub preemption_victims: u64,
    /// Writes refused because the API server was unavailable.
    pub rejected_writes: u64,
    /// Pods the pod garbage collector force-deleted (their node was gone).
    pub pods_garbage_collected: u64,
    /// Pods that stopped being Ready while not being deleted (a container restarted, a
    /// readiness probe failed, their node stopped reporting), and pods a fault killed:
    /// involuntary disruptions, which no rollout bound covers.
    pub readiness_lost: u64,
}

pub struct ApiServer {
    /// Pods and nodes, with the indexes the scheduler reads.
    pub store: Store,
    /// ReplicaSets and ReplicationControllers, by `WorkloadId`; deleted ones stay (ids are
    /// never reused).
    pub replica_sets: Vec<ReplicaSetObject>,
    pub deployments: Vec<DeploymentObject>,
    pub stateful_sets: Collection<crate::api::StatefulSet>,
    pub daemon_sets: Collection<crate::api::DaemonSet>,
    pub jobs: Collection<crate::api::Job>,
    pub cron_jobs: Collection<crate::api::CronJob>,
    /// Status the disruption controller keeps for each PDB (`store.pdbs` order).
    pub pdb_status: Vec<PdbObject>,
    /// Active pods without a controller reference, which a ReplicaSet may adopt.
    pub orphan_pods: BTreeSet<crate::api::PodId>,
    /// ReplicaSets without a controller reference, which a Deployment may adopt.
    pub orphan_replica_sets: BTreeSet<crate::api::WorkloadId>,
    rs_by_name: BTreeMap<(String, String), crate::api::WorkloadId>,
    deployment_by_name: BTreeMap<(String, String), crate::api::WorkloadId>,
    pub(crate) log: WatchLog,
    pub timing: ControlPlaneTiming,
    available: bool,
    /// The event log (`kubectl get events`): Events are API objects too, but writing them
    /// never fails and nobody watches them. Kept in memory, streamed to disk, or both
    /// (`crate::events::EventLog`).
    pub events: EventLog,
    pub counters: Counters,
    /// ResourceQuotas and LimitRanges by namespace.
    pub admission: admission::Admission,
    /// Each node's Lease (`kube-node-lease`), renewed by its kubelet.
    pub leases: NodeLeases,
    /// Time each Deployment spent short of available replicas.
    pub deployment_availability: availability::DeploymentAvailability,
    /// HorizontalPodAutoscalers, by `WorkloadId`; deleted ones stay.
    pub hpas: Vec<hpas::HpaObject>,
    /// The metrics APIs (`metrics.k8s.io`, custom and external metrics), served through the
    /// API server's aggregation layer.
    pub metrics: crate::metrics_server::MetricsServer,
    /// Services, EndpointSlices, Ingresses and HTTPRoutes.
    pub network: network::NetworkObjects,
    /// The most pods that may exist at once (created, not yet deleted): the loader's limit on
    /// what a scenario asks for at the start ([`crate::scenario::MAX_CLUSTER_PODS`]), held at
    /// run time too, so a timeline scale, a CronJob or a trace cannot grow without bound.
    pub pod_cap: u64,
}

impl ApiServer {
    pub fn new(store: Store, timing: ControlPlaneTiming) -> Self {
        let pdb_status = store.pdbs.iter().map(|_| PdbObject::default()).collect();
        // The kubelets of the nodes there at the start hold their Leases from the start.
        let mut leases = NodeLeases::default();
        for n in store.live_nodes() {
            leases.start(n.id, SimTime::ZERO);
        }
        ApiServer {
            store,
            replica_sets: Vec::new(),
            deployments: Vec::new(),
            stateful_sets: Collection::default(),
            daemon_sets: Collection::default(),
            jobs: Collection::default(),
            cron_jobs: Collection::default(),
            pdb_status,
            orphan_pods: BTreeSet::new(),
            orphan_replica_sets: BTreeSet::new(),
            rs_by_name: BTreeMap::new(),
            deployment_by_name: BTreeMap::new(),
            log: WatchLog::default(),
            timing,
            available: true,
            events: EventLog::default(),
            counters: Counters::default(),
            admission: admission::Admission::default(),
            leases,
            deployment_availability: availability::DeploymentAvailability::default(),
            hpas: Vec::new(),
            metrics: crate::metrics_server::MetricsServer::default(),
            network: network::NetworkObjects::default(),
            pod_cap: crate::scenario::MAX_CLUSTER_PODS,
        }
    }

    /// Makes the API server (un)available: while down, every write fails with
    /// [`ApiError::Unavailable`] and writers retry as upstream's would.
    pub fn set_available(&mut self, available: bool) {
        self.available = available;
    }

    fn check_available(&mut self) -> ApiResult<()> {
        if self.available {
            Ok(())
        } else {
            self.counters.rejected_writes += 1;
            Err(ApiError::Unavailable)
        }
    }

    /// The resourceVersion of the last write.
    pub fn resource_version(&self) -> u64 {
        self.log.resource_version()
    }

    /// Appends a change and arms the watchers it concerns.
    fn changed(&mut self, ctx: &mut Context<'_, Event>, kind: ObjectKind, id: u32, op: Op) {
        self.changed_after(ctx, SimDuration::ZERO, kind, id, op);
    }

    /// A change whose request reaches the API server `wait` from now (a client-side rate
    /// limit held it back); it commits the API latency after that.
    fn changed_after(
        &mut self,
        ctx: &mut Context<'_, Event>,
        wait: SimDuration,
        kind: ObjectKind,
        id: u32,
        op: Op,
    ) {
        let l = self.timing.api_latency;
        let commit = if l.hi > l.lo {
            l.draw(ctx.rng("apiserver"))
        } else {
            l.lo
        };
        let at = ctx.now().saturating_add(wait).saturating_add(commit);
        let replicas = match kind {
            ObjectKind::ReplicaSet => self.replica_sets[id as usize].rs.replicas,
            _ => 0,
        };
        self.log
            .append(ctx, at, kind, id, op, replicas, &self.timing);
    }

    /// Appends to `out` the changes `subscriber`'s pending delivery hands over now (and
    /// re-arms it if more are waiting). `out` is the caller's reused buffer.
    pub fn deliver(
        &mut self,
        ctx: &mut Context<'_, Event>,
        subscriber: Subscriber,
        out: &mut Vec<Change>,
    ) {
        self.log.deliver(ctx, subscriber, &self.timing, out);
    }

    /// Records a Kubernetes Event.
    pub fn record(
        &mut self,
        now: SimTime,
        event_type: EventType,
        reason: &'static str,
        object: String,
        message: String,
    ) {
        self.events.push(EventRecord {
            time_ns: now.as_nanos(),
            event_type,
            reason,
            object,
            message,
        });
    }
}
