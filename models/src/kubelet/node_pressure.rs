//! The kubelet's side of resource usage: the kernel's OOM kills of containers past their memory
//! limit, the eviction manager's node-pressure evictions and the pressure conditions, driven by
//! [`super::pressure::PressureManager`] through one timer per node.
//!
//! Nothing here runs unless some workload's `behaviour:` models memory or ephemeral storage
//! (`Usage::enabled`): without usage no threshold is ever met and no limit is ever passed, so
//! the other runs neither track containers nor set timers.
//!
//! The timer ([`KubeletEvent::Pressure`]) is re-armed from `next_deadline` whenever the node's
//! running containers change (a start, an exit, a restart, a kill, a removal) and after each
//! deadline; only the timer for the instant last armed acts, so a timer made stale by a change
//! is harmless.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::{Context, SimDuration, SimTime};

use super::eviction::{REASON_EVICTED, REASON_EVICTION_THRESHOLD_MET};
use super::pressure::{
    Action, NodeCapacity, OOM_KILLED_EXIT_CODE, PressureManager, RunningPod, pressure_events,
};
use super::{KubeletEvent, Kubelets, STATUS_RETRY, stopping_message};
use crate::api::taints::TAINT_NODE_MEMORY_PRESSURE;
use crate::api::taints::tolerations_tolerate;
use crate::api::{NodeId, PodId, PodPhase, Taint, TaintEffect};
use crate::apiserver::{ApiError, ApiServer};
use crate::cluster::Event;
use crate::events::EventType;
use crate::scenario::Behaviour;

/// The kubelets' resource-usage state.
#[derive(Default)]
pub(super) struct Usage {
    /// Some workload's behaviour models memory or ephemeral storage.
    pub(super) enabled: bool,
    pub(super) manager: PressureManager,
    /// When each running container's current run started, with its node.
    runs: BTreeMap<PodId, (NodeId, SimTime)>,
    by_node: BTreeMap<NodeId, BTreeSet<PodId>>,
    /// The instant each node's timer is armed for.
    armed: BTreeMap<NodeId, SimTime>,
    /// When each node's kubelet last started (nodes never rebooted started with the run).
    kubelet_started: BTreeMap<NodeId, SimTime>,
    /// Pods being killed by an eviction, with the eviction message for their status.
    evicting: BTreeMap<PodId, String>,
    /// Pods whose container the kernel OOM-killed, until the kubelet reports it.
    pub(super) oom_killed: BTreeSet<PodId>,
}

impl Usage {
    pub(super) fn new(behaviour: &Behaviour) -> Self {
        Usage {
            enabled: behaviour
                .workloads
                .values()
                .any(|b| b.usage.memory.is_some() || b.usage.ephemeral_storage.is_some()),
            ..Usage::default()
        }
    }

    fn remove_run(&mut self, pod: PodId) -> Option<NodeId> {
        let (node, _) = self.runs.remove(&pod)?;
        if let Some(set) = self.by_node.get_mut(&node) {
            set.remove(&pod);
        }
        Some(node)
    }

    /// The pod is gone from the kubelet.
    pub(super) fn forget(&mut self, pod: PodId) {
        self.evicting.remove(&pod);
        self.oom_killed.remove(&pod);
        if let Some(node) = self.remove_run(pod) {
            self.manager.forget_pod(node, pod);
        }
    }
}

/// The kernel's log line for a memory cgroup OOM kill, as node-problem-detector reports it
/// (kubesim has no process ids or page counts to add).
fn oom_message(container: &str) -> String {
    format!("Memory cgroup out of memory: Killed process (container {container})")
}

impl Kubelets {
    /// A container run of the pod began on the node: its usage starts from zero.
    pub(super) fn usage_container_started(
        &mut self,
        node: NodeId,
        pod: PodId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        if !self.usage.enabled {
            return;
        }
        let now = ctx.now();
        if !self.usage.manager.is_started(node) {
            let at = self
                .usage
                .kubelet_started
                .get(&node)
                .copied()
                .unwrap_or(SimTime::ZERO);
            self.usage.manager.start_node(node, at);
        }
        self.usage.remove_run(pod);
        self.usage.runs.insert(pod, (node, now));
        self.usage.by_node.entry(node).or_default().insert(pod);
        self.rearm_pressure(node, api, ctx);
    }

    /// The pod's container stopped running (exited, killed, or the pod went away).
    pub(super) fn usage_container_stopped(
        &mut self,
        pod: PodId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        self.log_container(pod, false);
        if let Some(node) = self.usage.remove_run(pod) {
            self.rearm_pressure(node, api, ctx);
        }
    }

    /// The machine went down: its eviction manager and containers are gone.
    pub(super) fn usage_node_down(&mut self, node: NodeId) {
        if !self.usage.enabled {
            return;
        }
        self.usage.manager.stop_node(node);
        self.usage.armed.remove(&node);
        for pod in self.usage.by_node.remove(&node).unwrap_or_default() {
            self.usage.runs.remove(&pod);
            self.usage.evicting.remove(&pod);
        }
    }

    /// The kubelet started on a booted machine: its eviction manager starts with it.
    pub(super) fn usage_node_up(&mut self, node: NodeId, now: SimTime) {
        if !self.usage.enabled {
            return;
        }
        self.usage.kubelet_started.insert(node, now);
        self.usage.manager.start_node(node, now);
    }

    /// Upstream eviction `Admit`: under memory pressure a BestEffort pod (one that does not
    /// tolerate the memory-pressure taint) is rejected, under disk pressure every pod (but
    /// critical ones). A rejected pod fails with the admit handler's reason, as
    /// `kubelet.rejectPod` does. Returns whether the pod may start.
    pub(super) fn usage_admit(
        &mut self,
        node: NodeId,
        pod: PodId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> bool {
        if self.usage.manager.pressure(node) == (false, false) {
            return true;
        }
        let r = api.store.pod(pod);
        let memory_pressure_taint = Taint {
            key: TAINT_NODE_MEMORY_PRESSURE.to_string(),
            value: String::new(),
            effect: TaintEffect::NoSchedule,
        };
        let tolerates = tolerations_tolerate(&r.pod.tolerations, &memory_pressure_taint);
        let Err(message) = self.usage.manager.admit(node, &r.pod, tolerates) else {
            return true;
        };
        let object = format!("pod/{}", r.pod.name);
        let now = ctx.now();
        match api.fail_pod_with_reason(
            ctx,
            pod,
            None,
            REASON_EVICTED,
            format!("Pod was rejected: {message}"),
        ) {
            Ok(()) => {
                api.record(now, EventType::Warning, REASON_EVICTED, object, message);
                false
            }
            // Admission is tried again at the pod's next change.
            Err(_) => false,
        }
    }

    fn usage_of_running_pods(&self, node: NodeId, api: &ApiServer) -> Vec<RunningPod> {
        let Some(pods) = self.usage.by_node.get(&node) else {
            return Vec::new();
        };
        pods.iter()
            .filter_map(|&pod| {
                let &(_, started) = self.usage.runs.get(&pod)?;
                let usage = self
                    .workload_behaviour(api, pod)
                    .map(|b| b.usage)
                    .unwrap_or_default();
                Some(RunningPod::new(
                    pod,
                    &api.store.pod(pod).pod,
                    started,
                    usage,
                ))
            })
            .collect()
    }

    fn capacity(&self, node: NodeId, api: &ApiServer) -> NodeCapacity {
        NodeCapacity::from_allocatable(
            &api.store.node(node).node.allocatable,
            &self.usage.manager.config,
        )
    }

    /// Sets the node's timer for its next deadline (a status write the API server refused is
    /// retried too); a timer set before for another instant does nothing when it fires.
    fn rearm_pressure(&mut self, node: NodeId, api: &ApiServer, ctx: &mut Context<'_, Event>) {
        if !self.usage.enabled || self.node(node).down {
            return;
        }
        let now = ctx.now();
        let pods = self.usage_of_running_pods(node, api);
        let capacity = self.capacity(node, api);
        let mut next = self
            .usage
            .manager
            .next_deadline(node, now, &capacity, &pods);
        let c = api.store.node(node).conditions;
        if self.usage.manager.pressure(node) != (c.memory_pressure, c.disk_pressure) {
            let retry = now.saturating_add(STATUS_RETRY);
            next = Some(next.map_or(retry, |t| t.min(retry)));
        }
        match next {
            Some(at) if self.usage.armed.get(&node) != Some(&at) => {
                self.usage.armed.insert(node, at);
                ctx.schedule_at(at, self.timer(node, KubeletEvent::Pressure));
            }
            Some(_) => {}
            None => {
                self.usage.armed.remove(&node);
            }
        }
    }

    /// The node's timer fired while its kubelet is cut off: it fires again later.
    pub(super) fn postpone_pressure(&mut self, node: NodeId, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        if self.usage.armed.get(&node) != Some(&now) {
            return;
        }
        let at = now.saturating_add(STATUS_RETRY);
        self.usage.armed.insert(node, at);
        ctx.schedule_at(at, self.timer(node, KubeletEvent::Pressure));
    }

    /// The node's timer fired.
    pub(super) fn pressure_deadline(
        &mut self,
        node: NodeId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let now = ctx.now();
        if self.usage.armed.get(&node) != Some(&now) {
            return;
        }
        self.usage.armed.remove(&node);
        let pods = self.usage_of_running_pods(node, api);
        let capacity = self.capacity(node, api);
        let actions = self.usage.manager.on_deadline(node, now, &capacity, &pods);
        for action in actions {
            match action {
                Action::OomKill { pod, container } => {
                    self.oom_kill(node, pod, &container, api, ctx)
                }
                Action::ThresholdMet { node, resource } => {
                    let name = api.store.node(node).name().to_string();
                    api.record(
                        now,
                        EventType::Warning,
                        REASON_EVICTION_THRESHOLD_MET,
                        format!("node/{name}"),
                        format!("Attempting to reclaim {}", resource.as_str()),
                    );
                }
                Action::Evict {
                    pod,
                    message,
                    grace_period,
                } => self.evict(node, pod, message, grace_period, api, ctx),
                Action::SetPressure { .. } => {}
            }
        }
        self.sync_pressure_status(node, api, ctx);
        self.rearm_pressure(node, api, ctx);
    }

    /// Brings the node's MemoryPressure and DiskPressure conditions in line with the eviction
    /// manager's, with the node status events of each change.
    fn sync_pressure_status(
        &mut self,
        node: NodeId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let c = api.store.node(node).conditions;
        let before = (c.memory_pressure, c.disk_pressure);
        let after = self.usage.manager.pressure(node);
        if before == after || !api.store.node(node).exists {
            return;
        }
        if api.set_node_pressure(ctx, node, after.0, after.1).is_ok() {
            let name = api.store.node(node).name().to_string();
            for (reason, message) in pressure_events(&name, before, after) {
                api.record(
                    ctx.now(),
                    EventType::Normal,
                    reason,
                    format!("node/{name}"),
                    message,
                );
            }
        }
    }

    /// The kernel killed the container's process for going over its memory limit: it ends
    /// with reason `OOMKilled` and exit code 137, then the restartPolicy decides.
    ///
    /// Upstream records no Kubernetes event for a container-limit OOM kill (the kubelet's OOM
    /// watcher only reports `SystemOOM`, for the node's root cgroup); the kill shows in the
    /// container's `lastState`. The kernel's log line is what node-problem-detector turns into
    /// an `OOMKilling` event, so that event is recorded on the pod to keep the kill visible.
    fn oom_kill(
        &mut self,
        node: NodeId,
        pod: PodId,
        container: &str,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let r = api.store.pod(pod);
        if !r.is_active()
            || r.node != Some(node)
            || r.phase != PodPhase::Running
            || self.usage.evicting.contains_key(&pod)
        {
            return;
        }
        let object = format!("pod/{}", r.pod.name);
        api.record(
            ctx.now(),
            EventType::Warning,
            "OOMKilling",
            object,
            oom_message(container),
        );
        self.usage.oom_killed.insert(pod);
        let rt = self.runtime.entry(pod).or_default();
        rt.generation = rt.generation.wrapping_add(1);
        rt.clear_probes();
        self.exit_codes.insert(pod, OOM_KILLED_EXIT_CODE);
        self.usage_container_stopped(pod, api, ctx);
        self.container_exited(node, pod, api, ctx);
    }

    /// Upstream `evictPod`: event `Evicted` on the pod, its containers killed with the grace
    /// period, then phase Failed with reason `Evicted`.
    fn evict(
        &mut self,
        node: NodeId,
        pod: PodId,
        message: String,
        grace_period: SimDuration,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let r = api.store.pod(pod);
        if !r.is_active() || r.node != Some(node) || r.deletion_timestamp.is_some() {
            return;
        }
        let now = ctx.now();
        let object = format!("pod/{}", r.pod.name);
        api.record(
            now,
            EventType::Warning,
            REASON_EVICTED,
            object.clone(),
            message.clone(),
        );
        for name in self.container_names(api, pod) {
            api.record(
                now,
                EventType::Normal,
                "Killing",
                object.clone(),
                stopping_message(&name),
            );
        }
        let rt = self.runtime.entry(pod).or_default();
        rt.generation = rt.generation.wrapping_add(1);
        rt.clear_probes();
        let generation = rt.generation;
        self.usage.evicting.insert(pod, message);
        ctx.schedule(
            grace_period,
            self.timer(node, KubeletEvent::Evicted(pod, generation)),
        );
    }

    /// An evicted pod's containers are gone: it fails with reason `Evicted` and gives its
    /// node's resources back; its controller replaces it.
    pub(super) fn eviction_done(
        &mut self,
        node: NodeId,
        pod: PodId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        self.usage_container_stopped(pod, api, ctx);
        let Some(message) = self.usage.evicting.get(&pod).cloned() else {
            return;
        };
        match api.fail_pod_with_reason(
            ctx,
            pod,
            Some(super::EXIT_CODE_KILLED),
            REASON_EVICTED,
            message,
        ) {
            Err(ApiError::Unavailable) => {
                let generation = self.generation(pod);
                ctx.schedule(
                    STATUS_RETRY,
                    self.timer(node, KubeletEvent::Evicted(pod, generation)),
                );
            }
            Ok(()) | Err(_) => {
                self.usage.evicting.remove(&pod);
                self.exit_codes.remove(&pod);
            }
        }
    }
}
