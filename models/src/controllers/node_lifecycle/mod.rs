//! The node lifecycle controller (upstream `pkg/controller/nodelifecycle`,
//! `node_lifecycle_controller.go`): watches node health through the kubelets' Leases, sets
//! `Ready=Unknown` on nodes whose kubelet went silent for `nodeMonitorGracePeriod`, marks their
//! pods not Ready, and taints them — `NoSchedule` at once, `NoExecute` (which the taint
//! eviction controller acts on) through each zone's rate-limited queue, slower or not at all
//! when a zone or the whole cluster looks disrupted.
//!
//! # Time
//!
//! Upstream polls every `nodeMonitorPeriod` (5 s) and runs the NoExecute tainting pass every
//! `NodeEvictionPeriod` (100 ms). Here both run on fixed grids from t = 0 (multiples of 5 s and
//! of 100 ms), but only while there is something to look at: the controller wakes at the first
//! Lease or Node change, ticks while any node is unhealthy, tainted by it, queued for a taint or
//! any zone is not `Normal`, and goes quiet again when all is well. While every kubelet renews
//! its Lease a poll changes nothing but the `probeTimestamp`s, and those are recomputed on
//! waking exactly as a controller that had polled all along would hold them: the first grid
//! instant at or after the Lease's `renewTime` (see [`NodeLifecycleController::materialize`]).
//!
//! Each tick looks only at the nodes that changed or are not healthy, so its cost follows the
//! number of unhealthy nodes, not the cluster's size; a node a tick did not look at is healthy.
//!
//! # Not modelled
//!
//! The kubelet's `MemoryPressure`/`DiskPressure` conditions are booleans here, so they are not
//! set to `Unknown`; node label reconciliation (`reconcileNodeLabels`) and the `RegisteredNode`
//! events of the nodes present when the controller starts are left out (the controller starts
//! lazily, at its first change, where upstream records them at controller start).

pub mod rate_limited_queue;
pub mod rate_limiter;
pub mod zones;

use std::collections::{BTreeMap, BTreeSet};

use sim_core::{Context, SimDuration, SimTime};

use super::{Reconciler, SyncOutcome};
use crate::api::{NodeId, PodId, Taint, TaintEffect};
use crate::apiserver::{ApiError, ApiServer, Change, ConditionStatus, ObjectKind, Op};
use crate::cluster::Event;
use crate::events::EventType;
use rate_limited_queue::{EVICTION_RATE_LIMITER_BURST, RateLimitedTimedQueue};
use rate_limiter::TokenBucket;
use zones::{DisruptionConfig, ZoneState, zone_key};

/// `--node-monitor-period` (default 5s).
pub const NODE_MONITOR_PERIOD: SimDuration = SimDuration::from_secs(5);
/// `--node-monitor-grace-period` (default 50s since v1.32; 40s before).
pub const NODE_MONITOR_GRACE_PERIOD: SimDuration = SimDuration::from_secs(50);
/// `--node-startup-grace-period` (default 60s).
pub const NODE_STARTUP_GRACE_PERIOD: SimDuration = SimDuration::from_secs(60);
/// Upstream `scheduler.NodeEvictionPeriod`: how often the NoExecute tainting pass runs.
pub const NODE_EVICTION_PERIOD: SimDuration = SimDuration::from_millis(100);

pub use crate::api::taints::{
    TAINT_NODE_DISK_PRESSURE, TAINT_NODE_MEMORY_PRESSURE, TAINT_NODE_NETWORK_UNAVAILABLE,
    TAINT_NODE_NOT_READY, TAINT_NODE_PID_PRESSURE, TAINT_NODE_UNREACHABLE,
    TAINT_NODE_UNSCHEDULABLE,
};
/// Upstream `labelNodeDisruptionExclusion`.
pub const LABEL_NODE_DISRUPTION_EXCLUSION: &str = "node.kubernetes.io/exclude-disruption";

/// Upstream `taintKeyToNodeConditionMap`'s keys: the condition taints this controller owns.
const CONDITION_TAINT_KEYS: [&str; 6] = [
    TAINT_NODE_NOT_READY,
    TAINT_NODE_UNREACHABLE,
    TAINT_NODE_NETWORK_UNAVAILABLE,
    TAINT_NODE_MEMORY_PRESSURE,
    TAINT_NODE_DISK_PRESSURE,
    TAINT_NODE_PID_PRESSURE,
];

fn taint(key: &str, effect: TaintEffect) -> Taint {
    Taint {
        key: key.to_string(),
        value: String::new(),
        effect,
    }
}

fn has_taint(api: &ApiServer, node: NodeId, key: &str, effect: TaintEffect) -> bool {
    api.store
        .node(node)
        .node
        .taints
        .iter()
        .any(|t| t.key == key && t.effect == effect)
}

/// The first instant of the `period` grid at or after `t`.
fn grid_ceil(t: SimTime, period: SimDuration) -> SimTime {
    let p = period.as_nanos().max(1);
    SimTime::from_nanos(t.as_nanos().div_ceil(p).saturating_mul(p))
}

fn on_grid(t: SimTime, period: SimDuration) -> bool {
    t.as_nanos().is_multiple_of(period.as_nanos().max(1))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeLifecycleKey {
    /// The health monitor and the NoExecute tainting pass, on their grids.
    Monitor,
    /// `doNoScheduleTaintingPass` for a node that changed.
    NodeUpdate(NodeId),
    /// `processPod` for a pod bound to a node.
    Pod(PodId),
}

/// Upstream `nodeHealthData`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeHealth {
    /// When the controller last saw the node's Lease or status change (its own clock).
    pub probe_timestamp: SimTime,
    pub ready_transition_timestamp: SimTime,
    /// The `Ready` status last seen.
    pub ready: ConditionStatus,
    /// The kubelet's last status post as last seen (kubesim's nodes post their status when
    /// `Ready` changes, so this stands for `LastHeartbeatTime`); `None` when unknown, which
    /// counts as changed.
    pub heartbeat: Option<SimTime>,
    /// The Lease's `renewTime` last seen.
    pub lease: Option<SimTime>,
}

#[derive(Clone, Debug)]
struct KnownNode {
    zone: String,
    excluded: bool,
}

pub struct NodeLifecycleController {
    pub config: DisruptionConfig,
    pub node_monitor_period: SimDuration,
    pub node_monitor_grace_period: SimDuration,
    pub node_startup_grace_period: SimDuration,
    started: bool,
    /// Upstream `knownNodeSet`, with each node's zone.
    known: BTreeMap<NodeId, KnownNode>,
    /// Known nodes by zone: all of them, and those not excluded from disruption checks.
    zone_nodes: BTreeMap<String, (usize, usize)>,
    /// Nodes seen added or deleted, classified at the next tick.
    added: BTreeSet<NodeId>,
    deleted: BTreeSet<NodeId>,
    /// Upstream `nodeHealthMap`, for the nodes not known to be healthy.
    health: BTreeMap<NodeId, NodeHealth>,
    /// Nodes whose Lease or object changed since the last tick.
    changed: BTreeSet<NodeId>,
    zone_states: BTreeMap<String, ZoneState>,
    /// Upstream `zoneNoExecuteTainter`.
    tainters: BTreeMap<String, RateLimitedTimedQueue<NodeId>>,
    nodes_to_retry: BTreeSet<NodeId>,
    /// When the cluster last left full disruption: every node's probe was reset to it.
    probe_floor: SimTime,
    last_monitor: Option<SimTime>,
    last_taint_pass: Option<SimTime>,
}

impl Default for NodeLifecycleController {
    fn default() -> Self {
        NodeLifecycleController {
            config: DisruptionConfig::default(),
            node_monitor_period: NODE_MONITOR_PERIOD,
            node_monitor_grace_period: NODE_MONITOR_GRACE_PERIOD,
            node_startup_grace_period: NODE_STARTUP_GRACE_PERIOD,
            started: false,
            known: BTreeMap::new(),
            zone_nodes: BTreeMap::new(),
            added: BTreeSet::new(),
            deleted: BTreeSet::new(),
            health: BTreeMap::new(),
            changed: BTreeSet::new(),
            zone_states: BTreeMap::new(),
            tainters: BTreeMap::new(),
            nodes_to_retry: BTreeSet::new(),
            probe_floor: SimTime::ZERO,
            last_monitor: None,
            last_taint_pass: None,
        }
    }
}

impl NodeLifecycleController {
    /// The health data held for a node (`None` for a node known to be healthy).
    pub fn node_health(&self, node: NodeId) -> Option<&NodeHealth> {
        self.health.get(&node)
    }

    pub fn zone_state(&self, zone: &str) -> Option<ZoneState> {
        self.zone_states.get(zone).copied()
    }

    /// Nodes waiting in a zone's NoExecute tainter.
    pub fn queued_for_tainting(&self) -> usize {
        self.tainters.values().map(RateLimitedTimedQueue::len).sum()
    }

    fn know(&mut self, node: NodeId, api: &ApiServer) {
        let labels = &api.store.node(node).node.labels;
        let known = KnownNode {
            zone: zone_key(labels),
            excluded: labels.get(LABEL_NODE_DISRUPTION_EXCLUSION).is_some(),
        };
        let counts = self.zone_nodes.entry(known.zone.clone()).or_default();
        counts.0 += 1;
        counts.1 += usize::from(!known.excluded);
        self.add_pod_evictor_for_new_zone(&known.zone);
        self.known.insert(node, known);
    }

    fn forget(&mut self, node: NodeId) -> bool {
        let Some(k) = self.known.remove(&node) else {
            return false;
        };
        if let Some(counts) = self.zone_nodes.get_mut(&k.zone) {
            counts.0 = counts.0.saturating_sub(1);
            counts.1 = counts.1.saturating_sub(usize::from(!k.excluded));
            if counts.0 == 0 {
                self.zone_nodes.remove(&k.zone);
            }
        }
        true
    }

    /// Upstream `addPodEvictorForNewZone`.
    fn add_pod_evictor_for_new_zone(&mut self, zone: &str) {
        if !self.zone_states.contains_key(zone) {
            self.zone_states
                .insert(zone.to_string(), ZoneState::Initial);
            self.tainters.insert(
                zone.to_string(),
                RateLimitedTimedQueue::new(TokenBucket::new(
                    self.config.eviction_limiter_qps_milli,
                    EVICTION_RATE_LIMITER_BURST,
                )),
            );
        }
    }

    /// The informers list what exists when the controller starts.
    fn start(&mut self, api: &ApiServer) {
        self.started = true;
        let nodes: Vec<NodeId> = api.store.live_nodes().map(|n| n.id).collect();
        for node in nodes {
            self.know(node, api);
            // A node already carrying this controller's taints is looked at first thing.
            let tainted = api.store.node(node).node.taints.iter().any(|t| {
                CONDITION_TAINT_KEYS.contains(&t.key.as_str()) || t.key == TAINT_NODE_UNSCHEDULABLE
            });
            if tainted || api.store.node(node).conditions.ready != ConditionStatus::True {
                self.changed.insert(node);
            }
        }
    }

    /// The health data a controller polling every `nodeMonitorPeriod` since the start would
    /// hold for a healthy node after its previous poll: it saw each Lease renewal at the first
    /// poll at or after it (renewals are 10 s apart, polls 5 s), and its status as it was then.
    fn materialize(&self, node: NodeId, now: SimTime, api: &ApiServer) -> Option<NodeHealth> {
        let prev = SimTime::from_nanos(
            now.as_nanos()
                .saturating_sub(self.node_monitor_period.as_nanos()),
        );
        let renewed = api.leases.get(node).renew_time(prev)?;
        let c = api.store.node(node).conditions;
        let heartbeat = (c.ready_transition <= prev).then_some(c.ready_transition);
        let probe = grid_ceil(renewed, self.node_monitor_period).max(self.probe_floor);
        Some(NodeHealth {
            probe_timestamp: probe,
            ready_transition_timestamp: probe,
            ready: c.ready,
            heartbeat,
            lease: Some(renewed),
        })
    }

    /// Upstream `tryUpdateNodeHealth`: returns the Ready status observed and the current one
    /// (after this controller's update, if it made one).
    fn try_update_node_health(
        &mut self,
        node: NodeId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<(ConditionStatus, ConditionStatus), ApiError> {
        let now = ctx.now();
        let saved = match self.health.get(&node) {
            Some(h) => Some(*h),
            None => self.materialize(node, now, api),
        };
        let c = api.store.node(node).conditions;
        let observed = c.ready;
        let saved_lease = saved.and_then(|h| h.lease);
        let mut h = match saved {
            None => NodeHealth {
                probe_timestamp: now,
                ready_transition_timestamp: now,
                ready: observed,
                heartbeat: Some(c.ready_transition),
                lease: None,
            },
            Some(h) if h.heartbeat != Some(c.ready_transition) => NodeHealth {
                probe_timestamp: now,
                ready_transition_timestamp: now,
                ready: observed,
                heartbeat: Some(c.ready_transition),
                // Upstream builds fresh data here, without the Lease.
                lease: None,
            },
            Some(h) => h,
        };
        let observed_lease = api.leases.get(node).renew_time(now);
        if let Some(renewed) = observed_lease
            && saved_lease.is_none_or(|s| s < renewed)
        {
            h.lease = Some(renewed);
            h.probe_timestamp = now;
        }
        // Kubesim's nodes report Ready from registration on; a node whose kubelet never
        // renewed its Lease gets the startup grace period.
        let grace = if observed_lease.is_none() && saved_lease.is_none() {
            self.node_startup_grace_period
        } else {
            self.node_monitor_grace_period
        };
        let mut current = observed;
        if now > h.probe_timestamp.saturating_add(grace) && observed != ConditionStatus::Unknown {
            if let Err(e) = api.set_node_ready(ctx, node, ConditionStatus::Unknown) {
                self.health.insert(node, h);
                return Err(e);
            }
            current = ConditionStatus::Unknown;
            h = NodeHealth {
                probe_timestamp: h.probe_timestamp,
                ready_transition_timestamp: now,
                ready: current,
                heartbeat: Some(api.store.node(node).conditions.ready_transition),
                lease: observed_lease,
            };
        }
        self.health.insert(node, h);
        Ok((observed, current))
    }

    /// Upstream `controllerutil.SwapNodeControllerTaint`: adds, then removes.
    fn swap_taints(
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
        node: NodeId,
        add: &[Taint],
        remove: &[Taint],
    ) -> Result<(), ApiError> {
        for t in add {
            api.add_node_taint(ctx, node, t.clone())?;
        }
        for t in remove {
            api.remove_node_taint(ctx, node, &t.key, t.effect)?;
        }
        Ok(())
    }

    /// Upstream `markNodeForTainting`.
    fn mark_node_for_tainting(
        &mut self,
        node: NodeId,
        status: ConditionStatus,
        api: &ApiServer,
        now: SimTime,
    ) -> bool {
        let Some(zone) = self.known.get(&node).map(|k| k.zone.clone()) else {
            return false;
        };
        self.add_pod_evictor_for_new_zone(&zone);
        let Some(q) = self.tainters.get_mut(&zone) else {
            return false;
        };
        let key = match status {
            ConditionStatus::False => Some(TAINT_NODE_NOT_READY),
            ConditionStatus::Unknown => Some(TAINT_NODE_UNREACHABLE),
            ConditionStatus::True => None,
        };
        if let Some(key) = key
            && !has_taint(api, node, key, TaintEffect::NoExecute)
        {
            q.remove(node);
        }
        q.add(node, now)
    }

    /// Upstream `markNodeAsReachable`.
    fn mark_node_as_reachable(
        &mut self,
        node: NodeId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<bool, ApiError> {
        api.remove_node_taint(ctx, node, TAINT_NODE_UNREACHABLE, TaintEffect::NoExecute)?;
        api.remove_node_taint(ctx, node, TAINT_NODE_NOT_READY, TaintEffect::NoExecute)?;
        let zone = self.known.get(&node).map(|k| k.zone.as_str()).unwrap_or("");
        Ok(self.tainters.get_mut(zone).is_some_and(|q| q.remove(node)))
    }

    /// Upstream `processTaintBaseEviction`.
    fn process_taint_base_eviction(
        &mut self,
        node: NodeId,
        observed: ConditionStatus,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let now = ctx.now();
        let (this, opposite) = match observed {
            ConditionStatus::False => (TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE),
            ConditionStatus::Unknown => (TAINT_NODE_UNREACHABLE, TAINT_NODE_NOT_READY),
            ConditionStatus::True => {
                // Failures are retried at the next pass.
                let _ = self.mark_node_as_reachable(node, api, ctx);
                return;
            }
        };
        if has_taint(api, node, opposite, TaintEffect::NoExecute) {
            // Swapped at once: the node was already tainted for the other status.
            let _ = Self::swap_taints(
                api,
                ctx,
                node,
                &[taint(this, TaintEffect::NoExecute)],
                &[taint(opposite, TaintEffect::NoExecute)],
            );
        } else {
            self.mark_node_for_tainting(node, observed, api, now);
        }
    }

    /// Upstream `controllerutil.MarkPodsNotReady`: the `Ready` condition of the node's Ready
    /// pods goes `False`, each with a `NodeNotReady` event.
    fn mark_pods_not_ready(
        pods: &[PodId],
        node: NodeId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<(), ApiError> {
        let mut result = Ok(());
        for &pod in pods {
            let r = api.store.pod(pod);
            if r.node != Some(node) || !r.is_active() || !r.ready {
                continue;
            }
            let object = format!("pod/{}", r.pod.name);
            match api.set_pod_running(ctx, pod, false) {
                Ok(()) => {}
                Err(ApiError::NotFound) => continue,
                Err(e) => result = Err(e),
            }
            api.record(
                ctx.now(),
                EventType::Warning,
                "NodeNotReady",
                object,
                "Node is not ready".to_string(),
            );
        }
        result
    }

    /// Upstream `monitorNodeHealth`, over the nodes that changed or are not healthy.
    fn monitor_node_health(&mut self, api: &mut ApiServer, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        // classifyNodes: new zones, added and deleted nodes.
        let zones_without_state: Vec<String> = self
            .zone_nodes
            .keys()
            .filter(|z| !self.zone_states.contains_key(*z))
            .cloned()
            .collect();
        for zone in zones_without_state {
            self.add_pod_evictor_for_new_zone(&zone);
        }
        for node in std::mem::take(&mut self.added) {
            let Some(info) = api.store.nodes.get(node.index()) else {
                continue;
            };
            if !info.exists || self.known.contains_key(&node) {
                continue;
            }
            let name = info.name().to_string();
            api.record(
                now,
                EventType::Normal,
                "RegisteredNode",
                format!("node/{name}"),
                format!("Node {name} event: Registered Node {name} in Controller"),
            );
            self.know(node, api);
            let _ = self.mark_node_as_reachable(node, api, ctx);
            self.changed.insert(node);
        }
        for node in std::mem::take(&mut self.deleted) {
            if api.store.nodes.get(node.index()).is_some_and(|n| n.exists) {
                continue;
            }
            if self.forget(node) {
                let name = api.store.node(node).name().to_string();
                api.record(
                    now,
                    EventType::Normal,
                    "RemovingNode",
                    format!("node/{name}"),
                    format!("Node {name} event: Removing Node {name} from Controller"),
                );
            }
            self.health.remove(&node);
            self.changed.remove(&node);
        }

        let mut examine = std::mem::take(&mut self.changed);
        examine.extend(self.health.keys().copied());
        examine.extend(self.nodes_to_retry.iter().copied());
        // Per zone: nodes skipped (their update failed) and nodes not Ready, of those looked at.
        let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
        let mut not_ready: BTreeMap<String, usize> = BTreeMap::new();
        for node in examine {
            let exists = api.store.nodes.get(node.index()).is_some_and(|n| n.exists);
            if !exists || !self.known.contains_key(&node) {
                self.health.remove(&node);
                continue;
            }
            self.refresh_zone(node, api);
            let Some(k) = self.known.get(&node).cloned() else {
                continue;
            };
            let (observed, current) = match self.try_update_node_health(node, api, ctx) {
                Ok(r) => r,
                Err(_) => {
                    // Skipping: no pods will be evicted.
                    if !k.excluded {
                        *skipped.entry(k.zone).or_default() += 1;
                    }
                    continue;
                }
            };
            if !k.excluded && current != ConditionStatus::True {
                *not_ready.entry(k.zone.clone()).or_default() += 1;
            }
            self.process_taint_base_eviction(node, observed, api, ctx);
            let needs_retry = self.nodes_to_retry.contains(&node);
            let transition = current != ConditionStatus::True && observed == ConditionStatus::True;
            if transition {
                let name = api.store.node(node).name().to_string();
                api.record(
                    now,
                    EventType::Normal,
                    "NodeNotReady",
                    format!("node/{name}"),
                    format!("Node {name} status is now: NodeNotReady"),
                );
            }
            if transition || needs_retry && observed != ConditionStatus::True {
                let pods = api.store.node(node).pods.clone();
                if Self::mark_pods_not_ready(&pods, node, api, ctx).is_err() {
                    self.nodes_to_retry.insert(node);
                    continue;
                }
            }
            self.nodes_to_retry.remove(&node);
        }

        let mut zone_conditions: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for (zone, &(_, counted)) in &self.zone_nodes {
            let total = counted.saturating_sub(skipped.get(zone).copied().unwrap_or(0));
            if total == 0 {
                continue;
            }
            let bad = not_ready.get(zone).copied().unwrap_or(0).min(total);
            zone_conditions.insert(zone.clone(), (total - bad, bad));
        }
        self.handle_disruption(&zone_conditions, api, ctx);
        self.forget_healthy(api);
    }

    /// A node whose zone label changed moves to its new zone.
    fn refresh_zone(&mut self, node: NodeId, api: &ApiServer) {
        let labels = &api.store.node(node).node.labels;
        let zone = zone_key(labels);
        let excluded = labels.get(LABEL_NODE_DISRUPTION_EXCLUSION).is_some();
        if self
            .known
            .get(&node)
            .is_some_and(|k| k.zone == zone && k.excluded == excluded)
        {
            return;
        }
        self.forget(node);
        self.know(node, api);
    }

    /// Drops the health data of nodes that are healthy again: renewing their Lease, Ready,
    /// free of this controller's taints and queues. It is recomputed when they next change.
    fn forget_healthy(&mut self, api: &ApiServer) {
        let healthy: Vec<NodeId> = self
            .health
            .iter()
            .filter(|(node, h)| {
                let info = api.store.node(**node);
                h.ready == ConditionStatus::True
                    && info.conditions.ready == ConditionStatus::True
                    && api.leases.get(**node).is_renewing()
                    && !self.nodes_to_retry.contains(node)
                    && !self.tainters.values().any(|q| q.contains(**node))
                    && !info.node.taints.iter().any(|t| {
                        CONDITION_TAINT_KEYS.contains(&t.key.as_str())
                            || t.key == TAINT_NODE_UNSCHEDULABLE
                    })
            })
            .map(|(n, _)| *n)
            .collect();
        for node in healthy {
            self.health.remove(&node);
        }
    }

    /// Upstream `handleDisruption`, given each zone's (Ready, not Ready) node counts.
    fn handle_disruption(
        &mut self,
        zone_conditions: &BTreeMap<String, (usize, usize)>,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let now = ctx.now();
        let mut new_states: BTreeMap<String, ZoneState> = BTreeMap::new();
        let mut all_are_fully_disrupted = true;
        for (zone, &(ready, bad)) in zone_conditions {
            let (_, state) = self.config.compute_zone_state(ready, bad);
            if state != ZoneState::FullDisruption {
                all_are_fully_disrupted = false;
            }
            new_states.insert(zone.clone(), state);
            self.zone_states
                .entry(zone.clone())
                .or_insert(ZoneState::Initial);
        }
        let mut all_was_fully_disrupted = true;
        // Upstream stops at the first zone not fully disrupted, so zones without nodes that
        // come after it in its (random) map order are deleted only on a later pass; here every
        // such zone goes at once.
        self.zone_states
            .retain(|zone, _| zone_conditions.contains_key(zone));
        if self
            .zone_states
            .values()
            .any(|s| *s != ZoneState::FullDisruption)
        {
            all_was_fully_disrupted = false;
        }
        if all_are_fully_disrupted && all_was_fully_disrupted {
            return;
        }
        if all_are_fully_disrupted {
            // Every zone is down: the control plane, not the nodes, is likely at fault. Stop
            // tainting and take the NoExecute taints off.
            let nodes: Vec<NodeId> = self.health.keys().copied().collect();
            for node in nodes {
                let _ = self.mark_node_as_reachable(node, api, ctx);
            }
            for zone in self.zone_states.keys() {
                if let Some(q) = self.tainters.get_mut(zone) {
                    q.swap_limiter(0, now);
                }
            }
            for state in self.zone_states.values_mut() {
                *state = ZoneState::FullDisruption;
            }
            return;
        }
        if all_was_fully_disrupted {
            // Leaving full disruption: every node gets a fresh grace period.
            self.probe_floor = now;
            for h in self.health.values_mut() {
                h.probe_timestamp = now;
                h.ready_transition_timestamp = now;
            }
            let zones: Vec<String> = self.zone_states.keys().cloned().collect();
            for zone in zones {
                let state = new_states.get(&zone).copied().unwrap_or(ZoneState::Normal);
                self.set_limiter_in_zone(&zone, zone_conditions, state, now);
                self.zone_states.insert(zone, state);
            }
            return;
        }
        let zones: Vec<(String, ZoneState)> = self
            .zone_states
            .iter()
            .map(|(z, s)| (z.clone(), *s))
            .collect();
        for (zone, state) in zones {
            let new_state = new_states.get(&zone).copied().unwrap_or(ZoneState::Normal);
            if state == new_state {
                continue;
            }
            self.set_limiter_in_zone(&zone, zone_conditions, new_state, now);
            self.zone_states.insert(zone, new_state);
        }
    }

    fn set_limiter_in_zone(
        &mut self,
        zone: &str,
        zone_conditions: &BTreeMap<String, (usize, usize)>,
        state: ZoneState,
        now: SimTime,
    ) {
        let size = zone_conditions.get(zone).map_or(0, |(r, b)| r + b);
        if let Some(qps) = self.config.zone_qps_milli(size, state)
            && let Some(q) = self.tainters.get_mut(zone)
        {
            q.swap_limiter(qps, now);
        }
    }

    /// Upstream `doNoExecuteTaintingPass`.
    fn do_no_execute_tainting_pass(&mut self, api: &mut ApiServer, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        for q in self.tainters.values_mut() {
            q.try_process(now, |node| {
                let Some(info) = api.store.nodes.get(node.index()).filter(|n| n.exists) else {
                    // No longer present.
                    return (true, SimDuration::ZERO);
                };
                let (add, opposite) = match info.conditions.ready {
                    ConditionStatus::False => (TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE),
                    ConditionStatus::Unknown => (TAINT_NODE_UNREACHABLE, TAINT_NODE_NOT_READY),
                    // Ready again: nothing to taint.
                    ConditionStatus::True => return (true, SimDuration::ZERO),
                };
                let ok = Self::swap_taints(
                    api,
                    ctx,
                    node,
                    &[taint(add, TaintEffect::NoExecute)],
                    &[taint(opposite, TaintEffect::NoExecute)],
                )
                .is_ok();
                (ok, SimDuration::ZERO)
            });
        }
    }

    /// Upstream `doNoScheduleTaintingPass`: the node's NoSchedule condition taints (and the
    /// `unschedulable` one) follow its conditions, not rate limited.
    fn do_no_schedule_tainting_pass(
        node: NodeId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<(), ApiError> {
        let Some(info) = api.store.nodes.get(node.index()).filter(|n| n.exists) else {
            return Ok(());
        };
        let c = info.conditions;
        let mut wanted: Vec<&str> = Vec::new();
        match c.ready {
            ConditionStatus::False => wanted.push(TAINT_NODE_NOT_READY),
            ConditionStatus::Unknown => wanted.push(TAINT_NODE_UNREACHABLE),
            ConditionStatus::True => {}
        }
        if c.memory_pressure {
            wanted.push(TAINT_NODE_MEMORY_PRESSURE);
        }
        if c.disk_pressure {
            wanted.push(TAINT_NODE_DISK_PRESSURE);
        }
        if info.node.unschedulable {
            wanted.push(TAINT_NODE_UNSCHEDULABLE);
        }
        let present: Vec<&str> = info
            .node
            .taints
            .iter()
            .filter(|t| {
                t.effect == TaintEffect::NoSchedule
                    && (t.key == TAINT_NODE_UNSCHEDULABLE
                        || CONDITION_TAINT_KEYS.contains(&t.key.as_str()))
            })
            .map(|t| t.key.as_str())
            .collect();
        let add: Vec<Taint> = wanted
            .iter()
            .filter(|k| !present.contains(k))
            .map(|k| taint(k, TaintEffect::NoSchedule))
            .collect();
        let remove: Vec<Taint> = present
            .iter()
            .filter(|k| !wanted.contains(k))
            .map(|k| taint(k, TaintEffect::NoSchedule))
            .collect();
        if add.is_empty() && remove.is_empty() {
            return Ok(());
        }
        Self::swap_taints(api, ctx, node, &add, &remove)
    }

    /// Upstream `processPod`: a pod bound to a node that is not Ready is marked not Ready.
    fn process_pod(
        &mut self,
        pod: PodId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> SyncOutcome {
        let r = api.store.pod(pod);
        if !r.is_active() {
            return SyncOutcome::Done;
        }
        let Some(node) = r.node else {
            return SyncOutcome::Done;
        };
        // Health data not gathered (a healthy node), or the node is gone.
        let Some(h) = self.health.get(&node) else {
            return SyncOutcome::Done;
        };
        if h.ready == ConditionStatus::True || !api.store.node(node).exists {
            return SyncOutcome::Done;
        }
        match Self::mark_pods_not_ready(&[pod], node, api, ctx) {
            Ok(()) => SyncOutcome::Done,
            Err(_) => SyncOutcome::Failed,
        }
    }

    /// Whether the monitor must keep polling: something is not healthy or not settled.
    fn needs_monitoring(&self) -> bool {
        !self.changed.is_empty()
            || !self.added.is_empty()
            || !self.deleted.is_empty()
            || !self.health.is_empty()
            || !self.nodes_to_retry.is_empty()
            || self.tainters.values().any(|q| !q.is_empty())
            || self.zone_states.iter().any(|(zone, s)| {
                *s != ZoneState::Normal && self.zone_nodes.get(zone).is_some_and(|c| c.1 > 0)
            })
    }

    fn sync_monitor(&mut self, api: &mut ApiServer, ctx: &mut Context<'_, Event>) -> SyncOutcome {
        let now = ctx.now();
        if on_grid(now, self.node_monitor_period) && self.last_monitor != Some(now) {
            self.last_monitor = Some(now);
            self.monitor_node_health(api, ctx);
        }
        if on_grid(now, NODE_EVICTION_PERIOD) && self.last_taint_pass != Some(now) {
            self.last_taint_pass = Some(now);
            self.do_no_execute_tainting_pass(api, ctx);
        }
        let mut next: Option<SimTime> = None;
        if self.needs_monitoring() {
            let mut t = grid_ceil(now, self.node_monitor_period);
            if self.last_monitor == Some(t) {
                t = t.saturating_add(self.node_monitor_period);
            }
            next = Some(t);
        }
        for q in self.tainters.values() {
            if let Some(at) = q.next_try(now) {
                let mut t = grid_ceil(at, NODE_EVICTION_PERIOD);
                if self.last_taint_pass == Some(t) {
                    t = t.saturating_add(NODE_EVICTION_PERIOD);
                }
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        match next {
            Some(t) => SyncOutcome::RequeueAfter(t.since(now)),
            None => SyncOutcome::Done,
        }
    }
}

impl Reconciler for NodeLifecycleController {
    type Key = NodeLifecycleKey;

    /// A new leader's controller: an empty `nodeHealthMap`, so every node's probe time is
    /// when the new controller first looks (a node not renewing gets a fresh grace period),
    /// and new zone tainters.
    fn restart(
        &mut self,
        api: &ApiServer,
        now: SimTime,
        enqueue: &mut dyn FnMut(NodeLifecycleKey),
    ) {
        *self = NodeLifecycleController {
            config: self.config,
            node_monitor_period: self.node_monitor_period,
            node_monitor_grace_period: self.node_monitor_grace_period,
            node_startup_grace_period: self.node_startup_grace_period,
            probe_floor: now,
            ..NodeLifecycleController::default()
        };
        self.start(api);
        // The new process's first monitor pass looks at every node; here, the ones that can
        // need it: besides those tainted or not Ready, those whose Lease is not renewed.
        for node in api.leases.not_renewing() {
            if api.store.nodes.get(node.index()).is_some_and(|n| n.exists) {
                self.changed.insert(node);
            }
        }
        enqueue(NodeLifecycleKey::Monitor);
    }

    fn on_change(
        &mut self,
        change: &Change,
        api: &ApiServer,
        _now: SimTime,
        enqueue: &mut dyn FnMut(NodeLifecycleKey),
    ) {
        if !self.started {
            self.start(api);
        }
        let node = NodeId(change.id);
        match (change.kind, change.op) {
            (ObjectKind::Lease, _) => {
                self.changed.insert(node);
                enqueue(NodeLifecycleKey::Monitor);
            }
            (ObjectKind::Node, Op::Deleted) => {
                self.added.remove(&node);
                self.deleted.insert(node);
                enqueue(NodeLifecycleKey::Monitor);
            }
            (ObjectKind::Node, op) => {
                if op == Op::Added && !self.known.contains_key(&node) {
                    self.added.insert(node);
                }
                self.changed.insert(node);
                enqueue(NodeLifecycleKey::NodeUpdate(node));
                enqueue(NodeLifecycleKey::Monitor);
            }
            // Upstream `podUpdated`: a pod's node was set. `processPod` acts only on a node
            // that is not Ready, so pods bound to healthy nodes are not queued.
            (ObjectKind::Pod, Op::Added | Op::Bound) => {
                let pod = PodId(change.id);
                let node = api.store.pods.get(pod.index()).and_then(|r| r.node);
                if node.is_some_and(|n| {
                    self.health
                        .get(&n)
                        .is_some_and(|h| h.ready != ConditionStatus::True)
                }) {
                    enqueue(NodeLifecycleKey::Pod(pod));
                }
            }
            _ => {}
        }
    }

    fn sync(
        &mut self,
        key: NodeLifecycleKey,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> SyncOutcome {
        match key {
            NodeLifecycleKey::Monitor => self.sync_monitor(api, ctx),
            NodeLifecycleKey::NodeUpdate(node) => {
                // Upstream logs a failure and waits for the node's next update.
                let _ = Self::do_no_schedule_tainting_pass(node, api, ctx);
                SyncOutcome::Done
            }
            NodeLifecycleKey::Pod(pod) => self.process_pod(pod, api, ctx),
        }
    }
}
