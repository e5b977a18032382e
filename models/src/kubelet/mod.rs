//! The kubelets, one per node (their state is keyed by node): each watches the pods bound to
//! its node, starts them (image pull and container start take the workload's startup time)
//! and reports them Running and Ready, and stops pods being deleted, giving their containers
//! the whole `terminationGracePeriodSeconds` before the final delete.
//!
//! The seam for the kubelet issue: readiness is decided in [`Kubelets::readiness`] (today
//! "Ready once running", or never for `behaviour.<workload>.ready: never`); probes replace it.

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

mod node;
pub use node::NodeState;

/// A kubelet's own timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KubeletEvent {
    /// The pod's containers are up: report Running (and Ready).
    PodStarted(PodId),
    /// The pod's containers stopped after its deletion: the final delete.
    PodStopped(PodId),
    /// The main container exited by itself (a batch pod's run ended, `runFor`).
    ContainerExited(PodId),
    /// Retry a node status write (Lease renewal and `Ready=True`) the API server refused.
    PostNodeStatus,
}

impl KubeletEvent {
    /// Tag, name and key (the pod) for the run digest and traces.
    pub(crate) fn kind(&self) -> (u64, &'static str, u64) {
        match *self {
            KubeletEvent::PodStarted(p) => (3, "PodStarted", u64::from(p.0)),
            KubeletEvent::PodStopped(p) => (4, "PodStopped", u64::from(p.0)),
            KubeletEvent::ContainerExited(p) => (11, "ContainerExited", u64::from(p.0)),
            KubeletEvent::PostNodeStatus => (12, "PostNodeStatus", 0),
        }
    }
}

/// How long a batch pod (restartPolicy Never or OnFailure) runs when neither `behaviour` nor
/// an annotation says: long enough to be seen running, short enough for a Job to finish.
pub const DEFAULT_BATCH_RUN_FOR: SimDuration = SimDuration::from_secs(10);
/// Pod annotations a manifest can carry instead of a `behaviour` entry.
pub const RUN_FOR_ANNOTATION: &str = "kubesim.io/run-for";
pub const EXIT_CODE_ANNOTATION: &str = "kubesim.io/exit-code";

/// Upstream kubelet `backOffPeriod` (10s) and `MaxContainerBackOff` (300s): a container that
/// keeps exiting is restarted after 10s, 20s, 40s, … 300s (CrashLoopBackOff).
pub const CONTAINER_BACKOFF_INITIAL: SimDuration = SimDuration::from_secs(10);
pub const CONTAINER_BACKOFF_MAX: SimDuration = SimDuration::from_secs(300);

/// The delay before restart number `restarts` (1 for the first restart).
pub fn crash_loop_backoff(restarts: i32) -> SimDuration {
    let doublings = u32::try_from(restarts.saturating_sub(1))
        .unwrap_or(0)
        .min(16);
    CONTAINER_BACKOFF_INITIAL
        .saturating_mul(1 << doublings)
        .min(CONTAINER_BACKOFF_MAX)
}

/// Upstream `syncFrequency`-like retry of a status write the API server refused.
const STATUS_RETRY: SimDuration = SimDuration::from_secs(10);

#[derive(Default)]
pub struct Kubelets {
    pub behaviour: Behaviour,
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
}

impl Kubelets {
    pub fn new(behaviour: Behaviour) -> Self {
        Kubelets {
            behaviour,
            ..Kubelets::default()
        }
    }

    /// The workload a pod belongs to, for `behaviour`: the first of its owners' names (from
    /// the top: CronJob, Job; Deployment, ReplicaSet; StatefulSet; DaemonSet) with an entry,
    /// else the pod itself.
    fn workload_behaviour(&self, api: &ApiServer, pod: PodId) -> Option<&WorkloadBehaviour> {
        if self.behaviour.workloads.is_empty() {
            return None;
        }
        let p = &api.store.pod(pod).pod;
        let mut names = Vec::new();
        if let Some(o) = &p.owner {
            match o.kind {
                OwnerKind::ReplicaSet | OwnerKind::ReplicationController => {
                    if let Some(rs) = api.replica_sets.get(o.id.index()) {
                        if let Some(d) = &rs.rs.owner {
                            names.push(d.name.as_str());
                        }
                        names.push(rs.rs.name.as_str());
                    }
                }
                OwnerKind::Job => {
                    if let Some(j) = api.jobs.get(o.id) {
                        if let Some(c) = &j.spec.owner {
                            names.push(c.name.as_str());
                        }
                        names.push(j.spec.name.as_str());
                    }
                }
                _ => names.push(o.name.as_str()),
            }
        }
        names.push(p.name.as_str());
        names
            .into_iter()
            .find_map(|n| self.behaviour.workloads.get(n))
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
                    self.admitted.insert(pod);
                    self.start(api, ctx, node, pod);
                }
                Op::Deleting => {
                    if !self.stopping.insert(pod) {
                        continue;
                    }
                    // A pod whose containers never started stops at once; a running one gets
                    // its whole grace period (kubesim models containers that use it all).
                    let grace = if r.phase == PodPhase::Running {
                        u64::try_from(r.pod.termination_grace_period_seconds).unwrap_or(0)
                    } else {
                        0
                    };
                    let object = format!("pod/{}", r.pod.name);
                    api.record(
                        ctx.now(),
                        EventType::Normal,
                        "Killing",
                        object,
                        "Stopping container".into(),
                    );
                    ctx.schedule(
                        SimDuration::from_secs(grace),
                        self.timer(node, KubeletEvent::PodStopped(pod)),
                    );
                }
                Op::Deleted => {
                    self.waiting_for_volumes.remove(&pod);
                    self.admitted.remove(&pod);
                    self.stopping.remove(&pod);
                    self.exit_codes.remove(&pod);
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
            api.record(
                now,
                EventType::Warning,
                "Failed",
                object.clone(),
                format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": not found"),
            );
            api.record(
                now,
                EventType::Warning,
                "Failed",
                object.clone(),
                "Error: ErrImagePull".into(),
            );
            api.record(
                now,
                EventType::Normal,
                "BackOff",
                object,
                format!("Back-off pulling image \"{image}\""),
            );
            return;
        }
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
        ctx.schedule(startup, self.timer(node, KubeletEvent::PodStarted(pod)));
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
        if !state.reaches_api() {
            // A stalled or partitioned kubelet cannot report: it tries again later.
            ctx.schedule(STATUS_RETRY, self.timer(node, event));
            return;
        }
        let now = ctx.now();
        match event {
            KubeletEvent::PostNodeStatus => self.post_node_status(node, api, ctx),
            KubeletEvent::PodStarted(pod) => {
                let r = api.store.pod(pod);
                if !r.is_active() || r.deletion_timestamp.is_some() || r.node != Some(node) {
                    return;
                }
                let ready = self.readiness(api, pod);
                match api.set_pod_running(ctx, pod, ready) {
                    Ok(()) => {
                        let object = format!("pod/{}", api.store.pod(pod).pod.name);
                        api.record(
                            now,
                            EventType::Normal,
                            "Started",
                            object,
                            "Started container".into(),
                        );
                        if let Some((run_for, code)) = self.run(api, pod, ctx, node) {
                            self.exit_codes.insert(pod, code);
                            ctx.schedule(
                                run_for,
                                self.timer(node, KubeletEvent::ContainerExited(pod)),
                            );
                        }
                    }
                    Err(ApiError::Unavailable) => {
                        ctx.schedule(
                            STATUS_RETRY,
                            self.timer(node, KubeletEvent::PodStarted(pod)),
                        );
                    }
                    Err(_) => {}
                }
            }
            KubeletEvent::ContainerExited(pod) => self.container_exited(node, pod, api, ctx),
            KubeletEvent::PodStopped(pod) => match api.remove_pod(ctx, pod) {
                Ok(()) | Err(ApiError::NotFound) => {
                    self.stopping.remove(&pod);
                    self.admitted.remove(&pod);
                }
                Err(_) => {
                    ctx.schedule(
                        STATUS_RETRY,
                        self.timer(node, KubeletEvent::PodStopped(pod)),
                    );
                }
            },
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
        let r = api.store.pod(pod);
        if !r.is_active()
            || r.deletion_timestamp.is_some()
            || r.node != Some(node)
            || r.phase != PodPhase::Running
        {
            return;
        }
        let code = self.exit_codes.get(&pod).copied().unwrap_or(0);
        let restart = match r.pod.restart_policy {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => code != 0,
            RestartPolicy::Never => false,
        };
        let object = format!("pod/{}", r.pod.name);
        let result = if restart {
            api.restart_container(ctx, pod).map(|restarts| {
                let delay = crash_loop_backoff(restarts);
                api.record(
                    ctx.now(),
                    EventType::Warning,
                    "BackOff",
                    object,
                    "Back-off restarting failed container".into(),
                );
                ctx.schedule(delay, self.timer(node, KubeletEvent::PodStarted(pod)));
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
            }
            Err(ApiError::Unavailable) => {
                ctx.schedule(
                    STATUS_RETRY,
                    self.timer(node, KubeletEvent::ContainerExited(pod)),
                );
            }
            Err(_) => {}
        }
    }
}
