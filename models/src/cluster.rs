//! The simulated cluster: the `World` the engine drives. It owns the store and every subsystem
//! (scheduler and its queue, controllers, kubelets) and handles one closed event enum.
//!
//! Control-plane reactions are events with a modelled latency: a controller creates a pod, the
//! scheduler's informer sees it `watch_latency` later; the scheduler binds it, the kubelet sees
//! the binding `watch_latency` later and the pod runs after its startup time.

use rand::Rng;
use sim_core::{Context, Digest, SimDuration, SimTime, World};

use crate::api::{NodeId, OwnerKind, OwnerRef, Pod, PodId, PodPhase, WorkloadId};
use crate::controllers::names::random_suffix;
use crate::controllers::replicaset::ReplicaSetAction;
use crate::controllers::{DeploymentState, ReplicaSetState};
use crate::events::{EventRecord, EventType};
use crate::scheduler::queue::{BACKOFF_FLUSH_PERIOD, SchedulingQueue, UNSCHEDULABLE_FLUSH_PERIOD};
use crate::scheduler::{Explanation, ScheduleResult, Scheduler};
use crate::store::Store;

mod arrivals;
mod preemption;
pub use preemption::PreemptionCounters;

/// Latencies of the modelled control plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// From an object changing in the store to a watcher (informer) seeing it.
    pub watch_latency: SimDuration,
    /// From the kubelet seeing its pod to the pod Running: uniform in `[lo, hi]`.
    pub pod_startup: (SimDuration, SimDuration),
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            watch_latency: SimDuration::from_millis(50),
            pod_startup: (SimDuration::from_secs(1), SimDuration::from_secs(3)),
        }
    }
}

/// Every event of the cluster. Key fields go into the run digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    SyncDeployment(u32),
    SyncReplicaSet(u32),
    /// The scheduler's informer sees a new unbound pod.
    PodQueued(PodId),
    /// The scheduler takes the next pod from its active queue.
    ScheduleNext,
    /// The kubelet on the pod's node sees the binding and starts the pod. The node is part of
    /// the event so that every binding decision enters the digest.
    KubeletSawPod(PodId, NodeId),
    PodRunning(PodId),
    FlushBackoff,
    FlushUnschedulable,
    /// A scripted timeline action (index into `Cluster::timeline`) is due.
    Timeline(u32),
    /// The scheduler's informer sees a node that joined: unschedulable pods may fit now.
    NodeAdded(NodeId),
    /// The scenario's end: keeps the clock running to the end while the cluster is at rest, so
    /// node-hours and costs cover the whole scenario.
    ScenarioEnd,
    /// Trace replay (`crate::trace`): the trace pod with this index arrives.
    TraceArrival(u32),
    /// Trace replay: the pod's recorded deletion time has come.
    TraceDeparture(PodId),
    /// Periodic allocation and fragmentation sample (`crate::trace::metrics`).
    Sample,
    /// A pod's graceful deletion is over (e.g. a preemption victim): it is deleted now.
    PodTerminated(PodId),
    /// Workloads of the scenario that arrive later (`workloads: [{at: 2m, …}]`); index into
    /// `Cluster::delayed_workloads`.
    WorkloadsArrive(u32),
}

impl Event {
    fn kind(&self) -> (u64, &'static str, u64) {
        match *self {
            Event::SyncDeployment(i) => (1, "SyncDeployment", u64::from(i)),
            Event::SyncReplicaSet(i) => (2, "SyncReplicaSet", u64::from(i)),
            Event::PodQueued(p) => (3, "PodQueued", u64::from(p.0)),
            Event::ScheduleNext => (4, "ScheduleNext", 0),
            Event::KubeletSawPod(p, n) => {
                (5, "KubeletSawPod", u64::from(p.0) << 32 | u64::from(n.0))
            }
            Event::PodRunning(p) => (6, "PodRunning", u64::from(p.0)),
            Event::FlushBackoff => (7, "FlushBackoff", 0),
            Event::FlushUnschedulable => (8, "FlushUnschedulable", 0),
            Event::ScenarioEnd => (9, "ScenarioEnd", 0),
            Event::Timeline(i) => (10, "Timeline", u64::from(i)),
            Event::NodeAdded(n) => (11, "NodeAdded", u64::from(n.0)),
            // A block of its own, so variants added elsewhere meanwhile cannot collide.
            Event::TraceArrival(i) => (100, "TraceArrival", u64::from(i)),
            Event::TraceDeparture(p) => (101, "TraceDeparture", u64::from(p.0)),
            Event::Sample => (102, "Sample", 0),
            // Preemption and delayed workloads: a block of their own.
            Event::PodTerminated(p) => (200, "PodTerminated", u64::from(p.0)),
            Event::WorkloadsArrive(i) => (201, "WorkloadsArrive", u64::from(i)),
        }
    }
}

/// The last scheduling attempt of the pod `explain` asked about.
#[derive(Clone, Debug)]
pub struct ExplainedAttempt {
    pub pod: PodId,
    pub at: SimTime,
    pub attempt: u32,
    pub result: ScheduleResult,
}

/// Counters the summary reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub scheduling_attempts: u64,
    pub failed_scheduling: u64,
    pub pods_created: u64,
    pub pods_bound: u64,
}

pub struct Cluster {
    /// Node pools, to stamp out nodes that join later (timeline, autoscaling).
    pub pools: Vec<crate::scenario::NodePool>,
    /// Nodes created so far per pool (the next node's index in its name).
    pool_next_index: Vec<usize>,
    /// Scripted actions, sorted by time; `Event::Timeline(i)` applies the i-th.
    pub timeline: Vec<crate::scenario::TimelineAction>,
    pub store: Store,
    pub scheduler: Scheduler,
    pub queue: SchedulingQueue,
    pub deployments: Vec<DeploymentState>,
    pub replica_sets: Vec<ReplicaSetState>,
    pub timing: Timing,
    pub events: Vec<EventRecord>,
    pub counters: Counters,
    /// Name (or `namespace/name`) of the pod whose scheduling attempts `explain` records.
    pub explain_pod: Option<String>,
    pub explained: Option<ExplainedAttempt>,
    explain_attempts: u32,
    /// Trace pods waiting to arrive and what became of them (`crate::trace::replay`).
    pub trace: crate::trace::TraceReplay,
    /// Allocation and fragmentation over time, one entry per `Event::Sample`.
    pub samples: Vec<crate::trace::Sample>,
    pub(crate) sampler: Option<crate::trace::Sampler>,
    /// Preemptions and their victims.
    pub preemption: PreemptionCounters,
    /// Workloads that arrive after the start, by `Event::WorkloadsArrive` index.
    pub delayed_workloads: Vec<crate::scenario::Workloads>,
    schedule_pending: bool,
    backoff_flush_pending: bool,
    unschedulable_flush_pending: bool,
}

impl Cluster {
    pub fn new(store: Store, scheduler: Scheduler, timing: Timing) -> Self {
        Cluster {
            pools: Vec::new(),
            pool_next_index: Vec::new(),
            timeline: Vec::new(),
            store,
            scheduler,
            queue: SchedulingQueue::new(),
            deployments: Vec::new(),
            replica_sets: Vec::new(),
            timing,
            events: Vec::new(),
            counters: Counters::default(),
            explain_pod: None,
            explained: None,
            explain_attempts: 0,
            trace: crate::trace::TraceReplay::default(),
            samples: Vec::new(),
            sampler: None,
            preemption: PreemptionCounters::default(),
            delayed_workloads: Vec::new(),
            schedule_pending: false,
            backoff_flush_pending: false,
            unschedulable_flush_pending: false,
        }
    }

    fn record(
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

    /// Adds a pod to the store as the API server would accept it, and lets watchers know.
    pub fn create_pod(&mut self, ctx: &mut Context<'_, Event>, pod: Pod) -> PodId {
        let node_name = pod.node_name.clone();
        let id = self.store.add_pod(pod, ctx.now());
        self.counters.pods_created += 1;
        match node_name.and_then(|n| self.store.node_id(&n).map(|id| (n, id))) {
            // A pod created with spec.nodeName skips the scheduler: the kubelet picks it up.
            Some((_, node)) => {
                self.store.bind(id, node, ctx.now());
                self.counters.pods_bound += 1;
                ctx.schedule(self.timing.watch_latency, Event::KubeletSawPod(id, node));
            }
            None => {
                if self.store.pod(id).pod.node_name.is_none() {
                    ctx.schedule(self.timing.watch_latency, Event::PodQueued(id));
                }
                // A nodeName naming no node: the pod stays Pending, as on a real cluster.
            }
        }
        id
    }

    pub fn add_deployment(
        &mut self,
        ctx: &mut Context<'_, Event>,
        deployment: crate::api::Deployment,
    ) {
        let index = u32::try_from(self.deployments.len()).unwrap_or(u32::MAX);
        self.deployments
            .push(DeploymentState::new(deployment, WorkloadId(index)));
        ctx.schedule(SimDuration::ZERO, Event::SyncDeployment(index));
    }

    pub fn add_replica_set(
        &mut self,
        ctx: &mut Context<'_, Event>,
        rs: crate::api::ReplicaSet,
    ) -> usize {
        let index = self.replica_sets.len();
        // The disruption controller's "scale" of the pods' controller, for PDBs.
        let scale_key = (
            OwnerKind::ReplicaSet,
            WorkloadId(u32::try_from(index).unwrap_or(u32::MAX)),
        );
        self.store.workload_scales.insert(scale_key, rs.replicas);
        // PodTopologySpread's default constraints select the pods of the owning ReplicaSet.
        self.store
            .owner_selectors
            .insert(scale_key, rs.selector.clone());
        self.replica_sets.push(ReplicaSetState::new(rs));
        ctx.schedule(
            SimDuration::ZERO,
            Event::SyncReplicaSet(u32::try_from(index).unwrap_or(u32::MAX)),
        );
        index
    }

    fn sync_deployment(&mut self, ctx: &mut Context<'_, Event>, index: u32) {
        let Some(state) = self.deployments.get(index as usize) else {
            return;
        };
        if state.current_replica_set.is_some() {
            return;
        }
        let rs = state.new_replica_set();
        let (deploy_name, replicas, rs_name) =
            (state.deployment.name.clone(), rs.replicas, rs.name.clone());
        let rs_index = self.add_replica_set(ctx, rs);
        self.deployments[index as usize].current_replica_set = Some(rs_index);
        self.record(
            ctx.now(),
            EventType::Normal,
            "ScalingReplicaSet",
            format!("deployment/{deploy_name}"),
            format!("Scaled up replica set {rs_name} to {replicas}"),
        );
    }

    fn sync_replica_set(&mut self, ctx: &mut Context<'_, Event>, index: u32) {
        let i = index as usize;
        let Some(state) = self.replica_sets.get_mut(i) else {
            return;
        };
        match state.sync(&self.store) {
            ReplicaSetAction::None => {}
            ReplicaSetAction::Create(n) => {
                for _ in 0..n {
                    let state = &self.replica_sets[i];
                    let mut pod = state.rs.template.pod.clone();
                    pod.owner = Some(OwnerRef {
                        kind: OwnerKind::ReplicaSet,
                        name: state.rs.name.clone(),
                        id: WorkloadId(index),
                    });
                    let rs_name = state.rs.name.clone();
                    pod.name = self.unique_pod_name(ctx, &rs_name, &pod.namespace);
                    let pod_name = pod.name.clone();
                    let id = self.create_pod(ctx, pod);
                    self.replica_sets[i].pods.push(id);
                    self.record(
                        ctx.now(),
                        EventType::Normal,
                        "SuccessfulCreate",
                        format!("replicaset/{rs_name}"),
                        format!("Created pod: {pod_name}"),
                    );
                }
            }
            ReplicaSetAction::Delete(pods) => {
                for pod in pods {
                    self.delete_pod(ctx, pod);
                }
            }
        }
    }

    fn unique_pod_name(
        &mut self,
        ctx: &mut Context<'_, Event>,
        base: &str,
        namespace: &str,
    ) -> String {
        loop {
            let name = format!("{base}-{}", random_suffix(ctx.rng("names")));
            if self.store.pod_id(&format!("{namespace}/{name}")).is_none() {
                return name;
            }
        }
    }

    pub fn delete_pod(&mut self, ctx: &mut Context<'_, Event>, pod: PodId) {
        self.store.delete_pod(pod, ctx.now());
        self.queue.forget(pod);
        // A deleted pod frees room: upstream requeues unschedulable pods on AssignedPodDelete.
        self.queue.move_all_to_active_or_backoff(ctx.now());
        self.wake_scheduler(ctx);
    }

    fn wake_scheduler(&mut self, ctx: &mut Context<'_, Event>) {
        if !self.schedule_pending && self.queue.active_len() > 0 {
            self.schedule_pending = true;
            ctx.schedule(SimDuration::ZERO, Event::ScheduleNext);
        }
        if !self.backoff_flush_pending && self.queue.backoff_len() > 0 {
            self.backoff_flush_pending = true;
            ctx.schedule_at(
                next_tick(ctx.now(), BACKOFF_FLUSH_PERIOD),
                Event::FlushBackoff,
            );
        }
        if !self.unschedulable_flush_pending && self.queue.unschedulable_len() > 0 {
            self.unschedulable_flush_pending = true;
            ctx.schedule_at(
                next_tick(ctx.now(), UNSCHEDULABLE_FLUSH_PERIOD),
                Event::FlushUnschedulable,
            );
        }
    }

    fn schedule_next(&mut self, ctx: &mut Context<'_, Event>) {
        self.schedule_pending = false;
        let Some(pod_id) = self.queue.pop() else {
            return;
        };
        let now = ctx.now();
        let explain = self.explain_pod.as_deref().is_some_and(|want| {
            let p = &self.store.pod(pod_id).pod;
            p.name == want || p.key() == want
        });
        // The scheduler and the store are separate fields: the pod is borrowed, not cloned.
        let result = self.scheduler.schedule_one(
            &self.store.pod(pod_id).pod,
            &self.store,
            ctx.rng("scheduler"),
            explain,
        );
        self.counters.scheduling_attempts += 1;
        match result.selected {
            Some(node) => self.bind(ctx, pod_id, node),
            None => {
                self.counters.failed_scheduling += 1;
                self.queue.add_unschedulable(pod_id, now);
                let message = result
                    .message
                    .clone()
                    .unwrap_or_else(|| "no nodes available".into());
                self.record(
                    now,
                    EventType::Warning,
                    "FailedScheduling",
                    format!("pod/{}", self.store.pod(pod_id).pod.name),
                    message,
                );
                self.apply_post_filter(ctx, pod_id, &result);
            }
        }
        if explain {
            self.explain_attempts += 1;
            self.explained = Some(ExplainedAttempt {
                pod: pod_id,
                at: now,
                attempt: self.explain_attempts,
                result,
            });
        }
        self.wake_scheduler(ctx);
    }

    fn bind(&mut self, ctx: &mut Context<'_, Event>, pod: PodId, node: NodeId) {
        self.store.bind(pod, node, ctx.now());
        self.queue.forget(pod);
        self.counters.pods_bound += 1;
        let p = &self.store.pod(pod).pod;
        let message = format!(
            "Successfully assigned {} to {}",
            p.key(),
            self.store.node(node).name()
        );
        let object = format!("pod/{}", p.name);
        self.record(ctx.now(), EventType::Normal, "Scheduled", object, message);
        ctx.schedule(self.timing.watch_latency, Event::KubeletSawPod(pod, node));
    }

    fn kubelet_saw_pod(&mut self, ctx: &mut Context<'_, Event>, pod: PodId) {
        let record = self.store.pod(pod);
        let (Some(node), true) = (record.node, record.is_active()) else {
            return;
        };
        let (lo, hi) = self.timing.pod_startup;
        let stream = format!("kubelet/{}", self.store.node(node).name());
        let startup = if hi > lo {
            SimDuration::from_nanos(ctx.rng(&stream).random_range(lo.as_nanos()..=hi.as_nanos()))
        } else {
            lo
        };
        ctx.schedule(startup, Event::PodRunning(pod));
    }

    fn pod_running(&mut self, ctx: &mut Context<'_, Event>, pod: PodId) {
        let now = ctx.now();
        let record = self.store.pod_mut(pod);
        if !record.is_active() || record.phase != PodPhase::Pending {
            return;
        }
        record.phase = PodPhase::Running;
        record.running_at = Some(now);
        let object = format!("pod/{}", record.pod.name);
        self.record(
            now,
            EventType::Normal,
            "Started",
            object,
            "Started container".into(),
        );
    }

    /// Installs the scenario's pools and timeline and arms one event per timeline action.
    pub fn set_timeline(
        &mut self,
        ctx: &mut Context<'_, Event>,
        pools: Vec<crate::scenario::NodePool>,
        timeline: Vec<crate::scenario::TimelineAction>,
    ) {
        self.pool_next_index = pools.iter().map(|p| p.count as usize).collect();
        self.pools = pools;
        for (i, action) in timeline.iter().enumerate() {
            let index = u32::try_from(i).unwrap_or(u32::MAX);
            ctx.schedule_at(
                SimTime::ZERO.saturating_add(action.at),
                Event::Timeline(index),
            );
        }
        self.timeline = timeline;
    }

    fn apply_timeline(&mut self, ctx: &mut Context<'_, Event>, index: u32) {
        let Some(action) = self.timeline.get(index as usize).cloned() else {
            return;
        };
        match action.action {
            crate::scenario::Action::AddNodes { pool, count } => {
                for _ in 0..count {
                    self.add_pool_node(ctx, pool);
                }
            }
            _ => {}
        }
    }

    /// A new node of `pool` registers with the API server; the scheduler sees it after the
    /// watch latency.
    pub fn add_pool_node(&mut self, ctx: &mut Context<'_, Event>, pool: usize) -> Option<NodeId> {
        let next = self.pool_next_index.get_mut(pool)?;
        let mut index = *next;
        let template = self.pools.get(pool)?;
        // Skip names already taken (e.g. by a Node manifest named like a pool node).
        while self.store.node_id(&template.node_name(index)).is_some() {
            index += 1;
        }
        let node = template.node(index);
        *next = index + 1;
        let name = node.name.clone();
        let id = self.store.add_node(node);
        self.record(
            ctx.now(),
            EventType::Normal,
            "RegisteredNode",
            format!("node/{name}"),
            format!("Node {name} event: Registered Node {name} in Controller"),
        );
        ctx.schedule(self.timing.watch_latency, Event::NodeAdded(id));
        Some(id)
    }

    /// The last recorded explanation, if the pod asked about was attempted.
    pub fn explanation(&self) -> Option<(&ExplainedAttempt, Option<&Explanation>)> {
        self.explained
            .as_ref()
            .map(|e| (e, e.result.explanation.as_ref()))
    }
}

/// The next multiple of `period` strictly after `now`: periodic flushes keep upstream's fixed
/// cadence instead of drifting with the time they were armed.
fn next_tick(now: SimTime, period: SimDuration) -> SimTime {
    let p = period.as_nanos().max(1);
    SimTime::from_nanos((now.as_nanos() / p).saturating_add(1).saturating_mul(p))
}

impl World for Cluster {
    type Event = Event;

    fn handle(&mut self, ctx: &mut Context<'_, Event>, event: Event) {
        match event {
            Event::SyncDeployment(i) => self.sync_deployment(ctx, i),
            Event::SyncReplicaSet(i) => self.sync_replica_set(ctx, i),
            Event::PodQueued(pod) => {
                let record = self.store.pod(pod);
                if record.is_active() && record.node.is_none() {
                    if !self.scheduler.has_profile(&record.pod.scheduler_name) {
                        // Upstream: no scheduler claims the pod, so it stays Pending untouched.
                        let (object, name) = (
                            format!("pod/{}", record.pod.name),
                            record.pod.scheduler_name.clone(),
                        );
                        self.record(
                            ctx.now(),
                            EventType::Warning,
                            "NoScheduler",
                            object,
                            format!("no scheduler profile named {name:?}: the pod stays Pending"),
                        );
                        return;
                    }
                    let priority = record.pod.priority;
                    self.queue.add(pod, priority, ctx.now());
                    self.wake_scheduler(ctx);
                }
            }
            Event::ScheduleNext => self.schedule_next(ctx),
            Event::KubeletSawPod(pod, _) => self.kubelet_saw_pod(ctx, pod),
            Event::PodRunning(pod) => self.pod_running(ctx, pod),
            Event::FlushBackoff => {
                self.backoff_flush_pending = false;
                self.queue.flush_backoff_completed(ctx.now());
                self.wake_scheduler(ctx);
            }
            Event::FlushUnschedulable => {
                self.unschedulable_flush_pending = false;
                self.queue.flush_unschedulable_leftover(ctx.now());
                self.wake_scheduler(ctx);
            }
            Event::ScenarioEnd => {}
            Event::Timeline(i) => self.apply_timeline(ctx, i),
            Event::NodeAdded(_) => {
                // Upstream: NodeAdd is a cluster event that moves unschedulable pods back.
                self.queue.move_all_to_active_or_backoff(ctx.now());
                self.wake_scheduler(ctx);
            }
            Event::TraceArrival(i) => self.trace_arrival(ctx, i),
            Event::TraceDeparture(pod) => self.trace_departure(ctx, pod),
            Event::Sample => self.take_sample(ctx),
            Event::PodTerminated(pod) => self.pod_terminated(ctx, pod),
            Event::WorkloadsArrive(i) => self.workloads_arrive(ctx, i),
        }
    }

    fn digest_event(event: &Event, digest: &mut Digest) {
        let (tag, _, key) = event.kind();
        digest.write_u64(tag);
        digest.write_u64(key);
    }

    fn describe_event(event: &Event) -> String {
        let (_, name, key) = event.kind();
        format!("{name}({key})")
    }
}
