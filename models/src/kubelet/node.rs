//! The node under each kubelet: its machine can crash and boot, and its kubelet can stall or
//! lose the API server (a partition). The fault driver flips these; the kubelet reacts as a
//! real one would: a crashed machine loses its containers and its timers, a stalled or
//! partitioned kubelet keeps its containers running but neither reports nor renews its
//! Lease, and a kubelet that comes back renews its Lease, reports Ready and catches up with
//! the pods the API server has for it.

use std::collections::BTreeSet;

use sim_core::{Context, SimDuration};

use super::{KubeletEvent, Kubelets, STATUS_RETRY};
use crate::api::{NodeId, PodId, PodPhase};
use crate::apiserver::{ApiError, ApiServer, ConditionStatus};
use crate::cluster::Event;
use crate::events::EventType;

/// One node's machine and kubelet process.
#[derive(Clone, Debug, Default)]
pub struct NodeState {
    /// The machine is off (crashed, or reclaimed until it boots again).
    pub down: bool,
    /// The kubelet process hangs: it does nothing and reports nothing.
    pub stalled: bool,
    /// The node cannot reach the control plane.
    pub partitioned: bool,
    /// Boot generation: timers set before the last crash carry an older one.
    pub(super) boot: u32,
    /// Pods whose changes the watch could not deliver while the kubelet was cut off.
    pub(super) missed: BTreeSet<PodId>,
    /// The status manager's cache: pods whose containers this kubelet last reported Ready.
    /// The node lifecycle controller marks them not Ready when the node goes silent; the
    /// kubelet puts its own view back once it reaches the API server again.
    pub(super) reported_ready: BTreeSet<PodId>,
    /// The machine booted and the kubelet has not yet listed its pods: it does once the API
    /// server answers.
    pub(super) resync_after_boot: bool,
}

impl NodeState {
    /// The kubelet runs and can talk to the API server.
    pub fn reaches_api(&self) -> bool {
        !self.down && !self.stalled && !self.partitioned
    }
}

impl Kubelets {
    pub fn node(&self, node: NodeId) -> &NodeState {
        static HEALTHY: NodeState = NodeState {
            down: false,
            stalled: false,
            partitioned: false,
            boot: 0,
            missed: BTreeSet::new(),
            reported_ready: BTreeSet::new(),
            resync_after_boot: false,
        };
        self.nodes.get(node.index()).unwrap_or(&HEALTHY)
    }

    pub(super) fn node_mut(&mut self, node: NodeId) -> &mut NodeState {
        if self.nodes.len() <= node.index() {
            self.nodes.resize(node.index() + 1, NodeState::default());
        }
        &mut self.nodes[node.index()]
    }

    /// A timer of this node's kubelet, tagged with the node's boot generation.
    pub(super) fn timer(&self, node: NodeId, event: KubeletEvent) -> Event {
        Event::Kubelet(node, self.node(node).boot, event)
    }

    /// The machine goes down: every container on it dies with it, the kubelet's timers are
    /// void and its Lease is no longer renewed. The API server still shows the pods as they
    /// were until the node lifecycle controller notices.
    pub fn crash(&mut self, node: NodeId, api: &mut ApiServer, ctx: &mut Context<'_, Event>) {
        if self.node(node).down {
            return;
        }
        let state = self.node_mut(node);
        state.down = true;
        state.boot = state.boot.wrapping_add(1);
        state.missed.clear();
        state.reported_ready.clear();
        state.resync_after_boot = false;
        for &pod in &api.store.node(node).pods {
            self.forget(pod);
        }
        // And those deleted from the API server whose deletion the kubelet has yet to hear of.
        let gone: Vec<PodId> = self
            .admitted
            .iter()
            .chain(&self.stopping)
            .copied()
            .filter(|p| api.store.pod(*p).node == Some(node))
            .collect();
        for pod in gone {
            self.forget(pod);
        }
        self.usage_node_down(node);
        api.lease_renewals_stopped(ctx, node);
    }

    /// The machine boots: the kubelet starts, renews its Lease, reports Ready and lists the
    /// pods bound to it. Pods deleted meanwhile are stopped (their containers are already
    /// gone); the others start again, each container restart counted.
    pub fn boot(&mut self, node: NodeId, api: &mut ApiServer, ctx: &mut Context<'_, Event>) {
        if !self.node(node).down {
            return;
        }
        self.node_mut(node).down = false;
        self.usage_node_up(node, ctx.now());
        let name = api.store.node(node).name().to_string();
        api.record(
            ctx.now(),
            EventType::Normal,
            "Starting",
            format!("node/{name}"),
            "Starting kubelet.".into(),
        );
        // It lists its pods from the API server: while that refuses, the status post is
        // retried and the pods wait for it.
        // A kubelet cut off from the control plane does both once it reaches it again.
        self.node_mut(node).resync_after_boot = true;
        if self.node(node).reaches_api() {
            self.post_node_status(node, api, ctx);
        }
    }

    /// The kubelet process hangs (`stall: true`) or resumes.
    pub fn stall(
        &mut self,
        node: NodeId,
        stalled: bool,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        self.set_cut_off(node, |s| &mut s.stalled, stalled, api, ctx);
    }

    /// The node loses (`partitioned: true`) or regains the control plane.
    pub fn partition(
        &mut self,
        node: NodeId,
        partitioned: bool,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        self.set_cut_off(node, |s| &mut s.partitioned, partitioned, api, ctx);
    }

    fn set_cut_off(
        &mut self,
        node: NodeId,
        flag: fn(&mut NodeState) -> &mut bool,
        on: bool,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let before = self.node(node).reaches_api();
        *flag(self.node_mut(node)) = on;
        let after = self.node(node).reaches_api();
        if before && !after {
            api.lease_renewals_stopped(ctx, node);
        } else if !before && after {
            self.post_node_status(node, api, ctx);
            let missed = std::mem::take(&mut self.node_mut(node).missed);
            for pod in missed {
                self.resync_pod(node, pod, false, api, ctx);
            }
        }
    }

    /// Renews the node's Lease and reports `Ready=True`; retried while the API server
    /// refuses.
    pub(super) fn post_node_status(
        &mut self,
        node: NodeId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        if !api.store.node(node).exists {
            return;
        }
        let was_ready = api.store.node(node).conditions.ready == ConditionStatus::True;
        let result = api
            .start_lease_renewal(ctx, node)
            .and_then(|()| api.set_node_ready(ctx, node, ConditionStatus::True));
        match result {
            Ok(()) => {
                self.restore_pod_readiness(node, api, ctx);
                if !was_ready {
                    let name = api.store.node(node).name().to_string();
                    api.record(
                        ctx.now(),
                        EventType::Normal,
                        "NodeReady",
                        format!("node/{name}"),
                        format!("Node {name} status is now: NodeReady"),
                    );
                }
                if std::mem::take(&mut self.node_mut(node).resync_after_boot) {
                    let pods: Vec<PodId> = api.store.node(node).pods.clone();
                    for pod in pods {
                        self.resync_pod(node, pod, true, api, ctx);
                    }
                }
            }
            Err(ApiError::Unavailable) => {
                ctx.schedule(STATUS_RETRY, self.timer(node, KubeletEvent::PostNodeStatus));
            }
            Err(_) => {}
        }
    }

    /// Notes the Ready status the kubelet reported for a pod (its status manager's cache).
    pub(super) fn note_reported_ready(&mut self, node: NodeId, pod: PodId, ready: bool) {
        let state = self.node_mut(node);
        if ready {
            state.reported_ready.insert(pod);
        } else {
            state.reported_ready.remove(&pod);
        }
    }

    /// Upstream's status manager reconciles the pod statuses the API server holds with its
    /// cache (`needsReconcile`): pods someone else marked not Ready while the kubelet could
    /// not report — the node lifecycle controller, when the node went silent — are Ready
    /// again if their containers still run as it last reported.
    fn restore_pod_readiness(
        &mut self,
        node: NodeId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let reported: Vec<PodId> = self.node(node).reported_ready.iter().copied().collect();
        for pod in reported {
            let r = api.store.pod(pod);
            if !r.is_active() || r.node != Some(node) || !self.admitted.contains(&pod) {
                // Gone from this kubelet.
                self.node_mut(node).reported_ready.remove(&pod);
                continue;
            }
            if r.phase != PodPhase::Running
                || r.ready
                || r.deletion_timestamp.is_some()
                || self.stopping.contains(&pod)
            {
                continue;
            }
            // A refusal is not retried: the API server refuses only while it is down, and
            // the Ready=True post just before this one would have failed first.
            let _ = api.set_pod_running(ctx, pod, true);
        }
    }

    /// Brings one pod in line with what the API server says, as the kubelet's pod workers do
    /// after a restart or a reconnect.
    fn resync_pod(
        &mut self,
        node: NodeId,
        pod: PodId,
        rebooted: bool,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let r = api.store.pod(pod);
        if !r.is_active() || r.node != Some(node) {
            return;
        }
        if r.deletion_timestamp.is_some() {
            if self.stopping.insert(pod) {
                // After a reboot nothing runs any more: the pod goes at once.
                let grace = if rebooted || r.phase != PodPhase::Running {
                    SimDuration::ZERO
                } else {
                    SimDuration::from_secs(
                        u64::try_from(r.pod.termination_grace_period_seconds).unwrap_or(0),
                    )
                };
                ctx.schedule(grace, self.timer(node, KubeletEvent::PodStopped(pod)));
            }
            return;
        }
        let phase = r.phase;
        match phase {
            PodPhase::Pending if self.admitted.insert(pod) => self.start(api, ctx, node, pod),
            // The containers died with the machine: they start again.
            PodPhase::Running if rebooted && api.restart_container(ctx, pod).is_ok() => {
                self.note_reported_ready(node, pod, false);
                self.admitted.insert(pod);
                self.start(api, ctx, node, pod);
            }
            _ => {}
        }
    }
}
