//! The kubelets, one per node (their state is keyed by node): each watches the pods bound to
//! its node, starts them (image pull and container start take the workload's startup time)
//! and reports them Running and Ready, and stops pods being deleted, giving their containers
//! the whole `terminationGracePeriodSeconds` before the final delete.
//!
//! Pods with more to them (init containers and sidecars, image pulls with `behaviour.images`
//! or `imagePull`, probes whose behaviour is not `healthy`, preStop hooks, `crashAfter`)
//! go through `lifecycle.rs`; how probes stay cheap is told in `probe.rs`. A pod without any
//! of these starts, runs and stops exactly as it always did: the workload's `startup` is the
//! time from the kubelet seeing it to Running and Ready (a healthy readiness probe's first
//! success included).

pub mod eviction;
pub mod pressure;
pub mod usage;

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;
use sim_core::{Context, SimDuration};

use crate::api::{NodeId, OwnerKind, PodId, PodPhase, RestartPolicy};
use crate::apiserver::{ApiError, ApiServer, Change, ObjectKind, Op};
use crate::cluster::Event;
use crate::events::EventType;
use crate::scenario::{Behaviour, WorkloadBehaviour};

pub mod backoff;
mod images;
mod lifecycle;
mod node;
mod node_pressure;
pub mod probe;
pub use backoff::{CONTAINER_BACKOFF_INITIAL, CONTAINER_BACKOFF_MAX, restart_delay};
pub use lifecycle::ProbeKind;
pub use node::NodeState;

/// A kubelet's own timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KubeletEvent {
    /// The pod's containers are up: report Running (and Ready). With the pod's container
    /// generation: a timer of containers that died since is void.
    PodStarted(PodId, u32),
    /// The pod's containers stopped after its deletion: the final delete.
    PodStopped(PodId),
    /// The main container exited by itself (a batch pod's run ended, `runFor`, or
    /// `crashAfter`).
    ContainerExited(PodId, u32),
    /// Retry a node status write (Lease renewal and `Ready=True`) the API server refused.
    PostNodeStatus,
    /// The next step of a pod's start: an image pull or an init container finished.
    StartStep(PodId, u32),
    /// A probe's result changes (or a long walk over random checks goes on).
    Probe(PodId, u32, ProbeKind),
    /// A container killed after a failed liveness or startup probe is gone.
    ContainerKilled(PodId, u32),
    /// The node's memory usage passes a container's limit, or its eviction manager
    /// synchronizes (see `node_pressure.rs`).
    Pressure,
    /// An evicted pod's containers are killed: it fails with reason `Evicted`.
    Evicted(PodId, u32),
    /// The main container's server starts (`true`) or stops accepting connections: after
    /// its warm-up, or at SIGTERM once the preStop hook is done. Scheduled only when
    /// something watches which pods answer (`container_log`).
    Listening(PodId, u32, bool),
}

impl KubeletEvent {
    /// Tag, name and key (the pod) for the run digest and traces.
    pub(crate) fn kind(&self) -> (u64, &'static str, u64) {
        match *self {
            KubeletEvent::PodStarted(p, _) => (3, "PodStarted", u64::from(p.0)),
            KubeletEvent::PodStopped(p) => (4, "PodStopped", u64::from(p.0)),
            KubeletEvent::ContainerExited(p, _) => (11, "ContainerExited", u64::from(p.0)),
            KubeletEvent::PostNodeStatus => (12, "PostNodeStatus", 0),
            KubeletEvent::StartStep(p, _) => (20, "StartStep", u64::from(p.0)),
            KubeletEvent::Probe(p, _, ProbeKind::Startup) => (21, "StartupProbe", u64::from(p.0)),
            KubeletEvent::Probe(p, _, ProbeKind::Liveness) => (22, "LivenessProbe", u64::from(p.0)),
            KubeletEvent::Probe(p, _, ProbeKind::Readiness) => {
                (23, "ReadinessProbe", u64::from(p.0))
            }
            KubeletEvent::ContainerKilled(p, _) => (24, "ContainerKilled", u64::from(p.0)),
            KubeletEvent::Pressure => (25, "EvictionManager", 0),
            KubeletEvent::Evicted(p, _) => (26, "Evicted", u64::from(p.0)),
            KubeletEvent::Listening(p, _, _) => (27, "Listening", u64::from(p.0)),
        }
    }
}

/// How long a batch pod (restartPolicy Never or OnFailure) runs when neither `behaviour` nor
/// an annotation says: long enough to be seen running, short enough for a Job to finish.
pub const DEFAULT_BATCH_RUN_FOR: SimDuration = SimDuration::from_secs(10);
/// Pod annotations a manifest can carry instead of a `behaviour` entry.
pub const RUN_FOR_ANNOTATION: &str = "kubesim.io/run-for";
pub const EXIT_CODE_ANNOTATION: &str = "kubesim.io/exit-code";

/// Upstream `syncFrequency`-like retry of a status write the API server refused.
pub(crate) const STATUS_RETRY: SimDuration = SimDuration::from_secs(10);

#[derive(Default)]
pub struct Kubelets {
    pub behaviour: Behaviour,
    /// Containers that started (`true`) or stopped, in order, when something outside the
    /// control plane needs to know which pods can answer (the traffic model); `None`
    /// otherwise.
    pub container_log: Option<Vec<(PodId, bool)>>,
    /// Pods a kubelet has admitted (start in progress or running).
    admitted: BTreeSet<PodId>,
    /// Pods a kubelet is stopping.
    stopping: BTreeSet<PodId>,
    /// The exit code each running batch container will end with.
    exit_codes: BTreeMap<PodId, i32>,
    /// Bound pods whose claims are not all bound yet: the volume manager cannot mount them, so
    /// the containers wait (upstream `WaitForAttachAndMount`). Retried on each claim change
    /// the kubelet watches, instead of polling.
    waiting_for_volumes: BTreeSet<PodId>,
    /// Each node's machine and kubelet process, by `NodeId` (see `node.rs`).
    nodes: Vec<node::NodeState>,
    /// Pods with a start sequence, probes to watch, or a restart history (see
    /// `lifecycle.rs`); plain pods have no entry.
    runtime: BTreeMap<PodId, lifecycle::PodRuntime>,
    /// Images pulled on each node (those the node listed at registration count too).
    node_images: BTreeMap<NodeId, BTreeSet<String>>,
    /// When each node's image puller is free again: pulls are serialized (upstream
    /// `serializeImagePulls: true`).
    pull_free_at: BTreeMap<NodeId, sim_core::SimTime>,
    /// A fault: pulls on these nodes (all when `None`) take `factor` times as long.
    pull_slowdown: Option<(Option<BTreeSet<NodeId>>, f64, SimDuration)>,
    /// Containers' resource usage, OOM kills and node-pressure eviction.
    usage: node_pressure::Usage,
}

/// What a ReplicaSet's or Job's names give as behaviour, by owner kind and id.
type OwnersBehaviour<'b> = BTreeMap<(OwnerKind, u32), Option<&'b WorkloadBehaviour>>;

impl Kubelets {
    pub fn new(behaviour: Behaviour) -> Self {
        Kubelets {
            usage: node_pressure::Usage::new(&behaviour),
            behaviour,
            ..Kubelets::default()
        }
    }

    /// The workload a pod belongs to, for `behaviour`: the first of its owners' names (from
    /// the top: CronJob, Job; Deployment, ReplicaSet; StatefulSet; DaemonSet) with an entry,
    /// else the pod itself.
    fn workload_behaviour(&self, api: &ApiServer, pod: PodId) -> Option<&WorkloadBehaviour> {
        self.behaviour_of(api, &api.store.pod(pod).pod, None)
    }

    /// [`Self::workload_behaviour`] of `p`; with `memo`, what a ReplicaSet's or Job's names
    /// give is looked up once for all its pods (their owners are the same, the pod's own name
    /// is the only fallback that differs).
    fn behaviour_of<'s>(
        &'s self,
        api: &ApiServer,
        p: &crate::api::Pod,
        memo: Option<&mut OwnersBehaviour<'s>>,
    ) -> Option<&'s WorkloadBehaviour> {
        if self.behaviour.workloads.is_empty() {
            return None;
        }
        let shared = |k: OwnerKind| {
            matches!(
                k,
                OwnerKind::ReplicaSet | OwnerKind::ReplicationController | OwnerKind::Job
            )
        };
        let owners = match (&p.owner, memo) {
            (Some(o), Some(memo)) if shared(o.kind) => *memo
                .entry((o.kind, o.id.0))
                .or_insert_with(|| self.owners_behaviour(api, p)),
            _ => self.owners_behaviour(api, p),
        };
        owners.or_else(|| self.behaviour.workloads.get(p.name.as_str()))
    }

    /// The behaviour named by the pod's owners (not by the pod itself): the same for every pod
    /// of one owner.
    fn owners_behaviour(&self, api: &ApiServer, p: &crate::api::Pod) -> Option<&WorkloadBehaviour> {
        let o = p.owner.as_ref()?;
        let get = |n: &str| self.behaviour.workloads.get(n);
        match o.kind {
            OwnerKind::ReplicaSet | OwnerKind::ReplicationController => {
                let rs = api.replica_sets.get(o.id.index())?;
                rs.rs
                    .owner
                    .as_ref()
                    .and_then(|d| get(&d.name))
                    .or_else(|| get(&rs.rs.name))
            }
            OwnerKind::Job => {
                let j = api.jobs.get(o.id)?;
                j.spec
                    .owner
                    .as_ref()
                    .and_then(|c| get(&c.name))
                    .or_else(|| get(&j.spec.name))
            }
            _ => get(&o.name),
        }
    }

    /// metrics-server's scrape of every kubelet: each running pod's usage since its container
    /// started, from its workload's `behaviour:`. Returns when the next scrape is due.
    ///
    /// Costs the live pods (not every pod the run ever had) and one behaviour lookup per
    /// owner: at 150,000 pods, scraped every minute, this was a fifth of a traffic run.
    pub fn scrape_metrics(&self, api: &mut ApiServer, now: sim_core::SimTime) -> sim_core::SimTime {
        let mut by_owner = OwnersBehaviour::new();
        let running: Vec<(PodId, crate::metrics_server::RunningUsage)> = api
            .store
            .active_pods_indexed()
            .filter(|r| r.phase == PodPhase::Running && r.node.is_some())
            .filter_map(|r| {
                let started = r.running_at?;
                let usage = self
                    .behaviour_of(api, &r.pod, Some(&mut by_owner))
                    .map(|b| b.usage);
                Some((
                    r.id,
                    crate::metrics_server::RunningUsage {
                        started,
                        cpu_milli: usage.and_then(|u| u.cpu_milli),
                        memory: usage.and_then(|u| u.memory),
                    },
                ))
            })
            .collect();
        api.metrics.scrape(now, running.into_iter())
    }

    /// How long the pod's main container runs before it exits by itself, and with which
    /// code; `None` for a container that runs until stopped.
    fn run(
        &self,
        api: &ApiServer,
        pod: PodId,
        ctx: &mut Context<'_, Event>,
        node: NodeId,
    ) -> Option<(SimDuration, i32)> {
        let p = &api.store.pod(pod).pod;
        let b = self.workload_behaviour(api, pod);
        let annotated_run = p
            .annotations
            .get(RUN_FOR_ANNOTATION)
            .and_then(|v| v.parse::<SimDuration>().ok());
        let annotated_code = p
            .annotations
            .get(EXIT_CODE_ANNOTATION)
            .and_then(|v| v.parse::<i32>().ok());
        let (lo, hi) = match (b.and_then(|b| b.run_for), annotated_run) {
            (Some(r), _) => r,
            (None, Some(d)) => (d, d),
            (None, None) if p.restart_policy != RestartPolicy::Always => {
                (DEFAULT_BATCH_RUN_FOR, DEFAULT_BATCH_RUN_FOR)
            }
            (None, None) => return None,
        };
        let mut code = b.and_then(|b| b.exit_code).or(annotated_code).unwrap_or(0);
        let failure_ppm = b.map_or(0, |b| b.failure_ppm);
        let stream = format!("kubelet/{}", api.store.node(node).name());
        let rng = ctx.rng(&stream);
        let run_for = if hi > lo {
            SimDuration::from_nanos(rng.random_range(lo.as_nanos()..=hi.as_nanos()))
        } else {
            lo
        };
        if failure_ppm > 0 && rng.random_range(0..1_000_000u32) < failure_ppm && code == 0 {
            code = 1;
        }
        Some((run_for, code))
    }

    /// Whether the pod passes readiness once running.
    fn readiness(&self, api: &ApiServer, pod: PodId) -> bool {
        !self
            .workload_behaviour(api, pod)
            .is_some_and(|b| b.never_ready)
    }

    pub fn on_changes(
        &mut self,
        changes: &[Change],
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        for c in changes {
            if c.kind == ObjectKind::PersistentVolumeClaim {
                self.retry_waiting_for_volumes(api, ctx);
                continue;
            }
            if c.kind != ObjectKind::Pod {
                continue;
            }
            let pod = PodId(c.id);
            let r = api.store.pod(pod);
            let Some(node) = r.node else { continue };
            if c.op != Op::Deleted {
                let state = self.node(node);
                if state.down {
                    // Nobody listens; the kubelet lists its pods when the node boots.
                    continue;
                }
                if !state.reaches_api() {
                    // The watch does not reach it: it catches up when it reconnects.
                    self.node_mut(node).missed.insert(pod);
                    continue;
                }
            }
            match c.op {
                Op::Added | Op::Bound | Op::Modified => {
                    if r.deletion_timestamp.is_some()
                        || r.phase != PodPhase::Pending
                        || self.admitted.contains(&pod)
                    {
                        continue;
                    }
                    if !r.pod.volumes.is_empty() && !api.store.storage.pod_claims_bound(&r.pod) {
                        self.waiting_for_volumes.insert(pod);
                        continue;
                    }
                    if !self.usage_admit(node, pod, api, ctx) {
                        continue;
                    }
                    self.admitted.insert(pod);
                    self.start(api, ctx, node, pod);
                }
                Op::Deleting => {
                    if !self.stopping.insert(pod) {
                        continue;
                    }
                    // A pod whose containers never started stops at once; a running one gets
                    // its whole grace period (kubesim models containers that use it all),
                    // its preStop hooks running first, inside it.
                    let running = r.phase == PodPhase::Running;
                    let stop = if running {
                        let (sigterm, stop) = self.stop_durations(api, ctx, node, pod, None);
                        self.stop_listening(node, pod, sigterm, ctx);
                        stop
                    } else {
                        SimDuration::ZERO
                    };
                    for name in self.container_names(api, pod) {
                        api.record(
                            ctx.now(),
                            EventType::Normal,
                            "Killing",
                            format!("pod/{}", api.store.pod(pod).pod.name),
                            stopping_message(&name),
                        );
                    }
                    ctx.schedule(stop, self.timer(node, KubeletEvent::PodStopped(pod)));
                }
                Op::Deleted => {
                    self.forget(pod);
                    self.note_reported_ready(node, pod, false);
                }
            }
        }
    }

    /// Starts the waiting pods whose claims are now all bound; forgets those that went away.
    fn retry_waiting_for_volumes(&mut self, api: &mut ApiServer, ctx: &mut Context<'_, Event>) {
        let waiting: Vec<PodId> = self.waiting_for_volumes.iter().copied().collect();
        for pod in waiting {
            let r = api.store.pod(pod);
            let Some(node) = r.node else {
                self.waiting_for_volumes.remove(&pod);
                continue;
            };
            if !r.is_active() || r.deletion_timestamp.is_some() || r.phase != PodPhase::Pending {
                self.waiting_for_volumes.remove(&pod);
                continue;
            }
            if !api.store.storage.pod_claims_bound(&r.pod) {
                continue;
            }
            self.waiting_for_volumes.remove(&pod);
            if self.admitted.insert(pod) {
                self.start(api, ctx, node, pod);
            }
        }
    }

    /// Pods whose containers a kubelet runs or is starting or stopping, in id order.
    pub fn running_pods(&self) -> impl Iterator<Item = PodId> + '_ {
        self.admitted.iter().copied()
    }

    /// A pod the kubelet no longer runs.
    pub(crate) fn forget(&mut self, pod: PodId) {
        self.log_container(pod, false);
        self.usage.forget(pod);
        self.waiting_for_volumes.remove(&pod);
        self.admitted.remove(&pod);
        self.stopping.remove(&pod);
        self.exit_codes.remove(&pod);
        self.runtime.remove(&pod);
    }

    pub(super) fn log_container(&mut self, pod: PodId, running: bool) {
        if let Some(log) = &mut self.container_log {
            log.push((pod, running));
        }
    }

    /// The pod's container generation: timers of containers that died since are void.
    fn generation(&self, pod: PodId) -> u32 {
        self.runtime.get(&pod).map_or(0, |r| r.generation)
    }

    /// Names of the containers the kubelet stops, app containers first, then sidecars
    /// (upstream stops sidecars after the app containers); `""` for a pod without a
    /// container list.
    fn container_names(&self, api: &ApiServer, pod: PodId) -> Vec<String> {
        match &api.store.pod(pod).pod.containers {
            Some(c) => c
                .containers
                .iter()
                .chain(c.init_containers.iter().filter(|i| i.restartable).rev())
                .map(|c| c.name.clone())
                .collect(),
            None => vec![String::new()],
        }
    }

    fn start(
        &mut self,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
        node: NodeId,
        pod: PodId,
    ) {
        let now = ctx.now();
        let r = api.store.pod(pod);
        let object = format!("pod/{}", r.pod.name);
        if let Some(image) = r
            .pod
            .images
            .iter()
            .find(|i| self.behaviour.failing_images.contains(*i))
            .cloned()
        {
            // The pull fails: ErrImagePull, then ImagePullBackOff; the pod stays Pending.
            // The kubelet would retry after 10s, 20s, … 300s; every retry fails the same way,
            // so the retries are not simulated.
            images::record_pull_failure(api, now, object, &image);
            return;
        }
        if self.needs_start_sequence(api, pod) {
            self.runtime.entry(pod).or_default().begin_start();
            self.advance_start(node, pod, api, ctx);
            return;
        }
        self.schedule_started(node, pod, api, ctx);
    }

    /// The containers are created: after the workload's startup time they run.
    fn schedule_started(
        &mut self,
        node: NodeId,
        pod: PodId,
        api: &ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let (lo, hi) = self
            .workload_behaviour(api, pod)
            .and_then(|b| b.startup)
            .unwrap_or(self.behaviour.pod_startup);
        let stream = format!("kubelet/{}", api.store.node(node).name());
        let startup = if hi > lo {
            SimDuration::from_nanos(ctx.rng(&stream).random_range(lo.as_nanos()..=hi.as_nanos()))
        } else {
            lo
        };
        let generation = self.generation(pod);
        ctx.schedule(
            startup,
            self.timer(node, KubeletEvent::PodStarted(pod, generation)),
        );
    }

    pub fn handle(
        &mut self,
        node: NodeId,
        boot: u32,
        event: KubeletEvent,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let state = self.node(node);
        if boot != state.boot || state.down {
            // Set before the node crashed: those containers are gone.
            return;
        }
        let stale = match event {
            KubeletEvent::PodStarted(p, g)
            | KubeletEvent::ContainerExited(p, g)
            | KubeletEvent::StartStep(p, g)
            | KubeletEvent::Probe(p, g, _)
            | KubeletEvent::ContainerKilled(p, g)
            | KubeletEvent::Evicted(p, g)
            | KubeletEvent::Listening(p, g, _) => g != self.generation(p),
            KubeletEvent::PodStopped(_) | KubeletEvent::PostNodeStatus => false,
            KubeletEvent::Pressure => false,
        };
        if stale {
            // Set for containers that have died since.
            return;
        }
        if let KubeletEvent::Listening(pod, _, up) = event {
            // The server's own doing: it needs no word with the API server.
            let r = api.store.pod(pod);
            let live = r.is_active() && r.node == Some(node) && r.deletion_timestamp.is_none();
            if !up || live {
                self.log_container(pod, up);
            }
            return;
        }
        if event == KubeletEvent::Pressure {
            if state.reaches_api() {
                self.pressure_deadline(node, api, ctx);
            } else {
                // A stalled or partitioned kubelet neither acts nor reports: it looks again
                // later.
                self.postpone_pressure(node, ctx);
            }
            return;
        }
        if !state.reaches_api() {
            // A stalled or partitioned kubelet cannot report: it tries again later.
            ctx.schedule(STATUS_RETRY, self.timer(node, event));
            return;
        }
        let now = ctx.now();
        match event {
            KubeletEvent::PostNodeStatus => self.post_node_status(node, api, ctx),
            KubeletEvent::PodStarted(pod, generation) => {
                let r = api.store.pod(pod);
                if !r.is_active() || r.deletion_timestamp.is_some() || r.node != Some(node) {
                    return;
                }
                let ready = self.readiness(api, pod) && self.initially_ready(api, pod);
                match api.set_pod_running(ctx, pod, ready) {
                    Ok(()) => {
                        self.note_reported_ready(node, pod, ready);
                        let object = format!("pod/{}", api.store.pod(pod).pod.name);
                        let names = match &api.store.pod(pod).pod.containers {
                            Some(c) => c.containers.iter().map(|c| c.name.clone()).collect(),
                            None => Vec::new(),
                        };
                        for name in &names {
                            api.record(
                                now,
                                EventType::Normal,
                                "Created",
                                object.clone(),
                                format!("Created container {name}"),
                            );
                            api.record(
                                now,
                                EventType::Normal,
                                "Started",
                                object.clone(),
                                format!("Started container {name}"),
                            );
                        }
                        if names.is_empty() {
                            api.record(
                                now,
                                EventType::Normal,
                                "Started",
                                object,
                                "Started container".into(),
                            );
                        }
                        if let Some((run_for, code)) = self.run(api, pod, ctx, node) {
                            self.exit_codes.insert(pod, code);
                            ctx.schedule(
                                run_for,
                                self.timer(node, KubeletEvent::ContainerExited(pod, generation)),
                            );
                        } else {
                            self.schedule_crash(node, pod, api, ctx);
                        }
                        self.containers_started(node, pod, api, ctx);
                        self.start_listening(node, pod, generation, api, ctx);
                        self.usage_container_started(node, pod, api, ctx);
                    }
                    Err(ApiError::Unavailable) => {
                        ctx.schedule(STATUS_RETRY, self.timer(node, event));
                    }
                    Err(_) => {}
                }
            }
            KubeletEvent::ContainerExited(pod, _) => self.container_exited(node, pod, api, ctx),
            KubeletEvent::PodStopped(pod) => match api.remove_pod(ctx, pod) {
                Ok(()) | Err(ApiError::NotFound) => {
                    self.stopping.remove(&pod);
                    self.admitted.remove(&pod);
                    self.usage_container_stopped(pod, api, ctx);
                }
                Err(_) => {
                    ctx.schedule(
                        STATUS_RETRY,
                        self.timer(node, KubeletEvent::PodStopped(pod)),
                    );
                }
            },
            KubeletEvent::StartStep(pod, _) => self.start_step_done(node, pod, api, ctx),
            KubeletEvent::Probe(pod, generation, kind) => {
                self.probe_changed(node, pod, generation, kind, api, ctx);
            }
            KubeletEvent::ContainerKilled(pod, _) => {
                self.exit_codes.insert(pod, EXIT_CODE_KILLED);
                self.container_exited(node, pod, api, ctx);
            }
            KubeletEvent::Pressure | KubeletEvent::Listening(..) => {}
            KubeletEvent::Evicted(pod, _) => self.eviction_done(node, pod, api, ctx),
        }
    }

    /// The main container ended: by the pod's restartPolicy the pod ends (Succeeded or
    /// Failed) or the container restarts after the CrashLoopBackOff delay.
    fn container_exited(
        &mut self,
        node: NodeId,
        pod: PodId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        if !api.store.pod(pod).is_live_on(node, PodPhase::Running) {
            return;
        }
        self.usage_container_stopped(pod, api, ctx);
        let r = api.store.pod(pod);
        let code = self.exit_codes.get(&pod).copied().unwrap_or(0);
        let restart = match r.pod.restart_policy {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => code != 0,
            RestartPolicy::Never => false,
        };
        let object = format!("pod/{}", r.pod.name);
        let container = r
            .pod
            .containers
            .as_ref()
            .and_then(|c| c.containers.first())
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let pod_name = format!("{}_{}", r.pod.name, r.pod.namespace);
        let result = if restart {
            api.restart_container(ctx, pod).map(|_| {
                self.note_reported_ready(node, pod, false);
                let now = ctx.now();
                let rt = self.runtime.entry(pod).or_default();
                // The dead container's timers (probes, its own exit) are void.
                rt.generation = rt.generation.wrapping_add(1);
                rt.clear_probes();
                let delay = restart_delay(&mut rt.backoff, now);
                let generation = rt.generation;
                if delay > SimDuration::ZERO {
                    api.record(
                        now,
                        EventType::Warning,
                        "BackOff",
                        object,
                        format!(
                            "Back-off restarting failed container {container} in pod {pod_name}"
                        ),
                    );
                }
                ctx.schedule(
                    delay,
                    self.timer(node, KubeletEvent::PodStarted(pod, generation)),
                );
            })
        } else {
            let phase = if code == 0 {
                PodPhase::Succeeded
            } else {
                PodPhase::Failed
            };
            api.finish_pod(ctx, pod, phase, code)
        };
        match result {
            Ok(()) => {
                self.exit_codes.remove(&pod);
                // The container's `lastState.terminated.reason`, reported with the update.
                let reason = if self.usage.oom_killed.remove(&pod) {
                    pressure::REASON_OOM_KILLED
                } else if code == 0 {
                    "Completed"
                } else {
                    "Error"
                };
                api.set_last_termination_reason(pod, reason);
            }
            Err(ApiError::Unavailable) => {
                let generation = self.generation(pod);
                ctx.schedule(
                    STATUS_RETRY,
                    self.timer(node, KubeletEvent::ContainerExited(pod, generation)),
                );
            }
            Err(_) => {}
        }
    }

    /// A fault: the pod's main container dies (exit code 137, reason Error, as when the
    /// kernel kills it) and restarts per the pod's restartPolicy, with CrashLoopBackOff.
    pub fn crash_containers(
        &mut self,
        pod: PodId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let r = api.store.pod(pod);
        let Some(node) = r.node else { return };
        if !r.is_active()
            || r.phase != PodPhase::Running
            || r.deletion_timestamp.is_some()
            || !self.node(node).reaches_api()
            || !self.admitted.contains(&pod)
        {
            return;
        }
        let rt = self.runtime.entry(pod).or_default();
        rt.generation = rt.generation.wrapping_add(1);
        rt.clear_probes();
        self.exit_codes.insert(pod, EXIT_CODE_KILLED);
        self.container_exited(node, pod, api, ctx);
    }

    /// A fault: image pulls on `nodes` (every node when `None`) take `factor` times as long
    /// plus `extra` (a slow or throttled registry); `factor` 1 and no `extra` end it.
    pub fn set_image_pull_slowdown(
        &mut self,
        nodes: Option<Vec<NodeId>>,
        factor: f64,
        extra: SimDuration,
    ) {
        let unchanged = (factor - 1.0).abs() < f64::EPSILON || !factor.is_finite();
        self.pull_slowdown = if unchanged && extra.is_zero() {
            None
        } else {
            let factor = if factor.is_finite() {
                factor.max(0.0)
            } else {
                1.0
            };
            Some((nodes.map(|n| n.into_iter().collect()), factor, extra))
        };
    }
}

/// The exit code of a container killed with SIGKILL (128 + 9).
pub const EXIT_CODE_KILLED: i32 = 137;

/// Upstream `killContainer`'s event: `Stopping container <name>`.
fn stopping_message(name: &str) -> String {
    if name.is_empty() {
        "Stopping container".into()
    } else {
        format!("Stopping container {name}")
    }
}
