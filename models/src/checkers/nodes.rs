//! Node invariants that hold after every event, faults or not, read from the API server, the
//! kubelets' machines and the control plane's availability — never from the node lifecycle or
//! taint eviction controllers' own state:
//!
//! - A pod whose containers a kubelet runs is on a machine that is up (a crashed machine runs
//!   nothing), and on a node that exists — but for a while after a Node object was deleted
//!   under a running kubelet, as `kubectl delete node` does: the pod garbage collector
//!   deletes the pods of a node gone for 40 s (`quarantineTime`, checked every 20 s
//!   upstream), and the kubelet hears of it through its watch ([`ORPHANS_GONE_WITHIN`]).
//! - A pod the API server shows Running and Ready is not on a node whose kubelet has been cut
//!   off (machine down, kubelet hung, or partitioned) for longer than
//!   `nodeMonitorGracePeriod + 2 × nodeMonitorPeriod` ([`NOT_READY_WITHIN`]) plus the time a
//!   write takes to reach a watcher: by then the node lifecycle controller has set the node's `Ready`
//!   to `Unknown` and its pods' `Ready` to `False`. The controller can act only while the API
//!   server is up and the controller manager has a leader; once it can again, it gets the
//!   same time from then.
//! - A node carrying `node.kubernetes.io/unreachable:NoExecute` has `Ready=Unknown`, or left
//!   `Unknown` less than one monitor period (plus the time a write takes to reach a watcher)
//!   ago: the controller removes the taint at its next pass.
//! - The taint eviction controller deletes no pod before the shortest `tolerationSeconds` of
//!   the tolerations it uses has passed since the node got its `NoExecute` taints.

use std::collections::BTreeMap;

use sim_core::{SimDuration, SimTime};

use super::Checkers;
use crate::api::{NodeId, PodPhase, Taint, TaintEffect};
use crate::apiserver::{ApiServer, ConditionStatus};
use crate::controllers::node_lifecycle::{
    NODE_MONITOR_GRACE_PERIOD, NODE_MONITOR_PERIOD, TAINT_NODE_UNREACHABLE,
};
use crate::controllers::podgc::QUARANTINE_TIME;
use crate::controllers::taint_eviction::{
    matching_tolerations, min_toleration_time, no_execute_taints,
};
use crate::controlplane::ControlPlane;
use crate::kubelet::Kubelets;

/// What the checks remember between events: when each state they time began.
#[derive(Default)]
pub struct NodeChecks {
    /// Nodes whose kubelet cannot reach the API server, since when.
    cut_off_since: BTreeMap<NodeId, SimTime>,
    /// Nodes whose Node object is gone, since when.
    gone_since: BTreeMap<NodeId, SimTime>,
    /// Each node's `Ready` as last seen, and since when.
    ready: BTreeMap<NodeId, (ConditionStatus, SimTime)>,
    /// Nodes with `NoExecute` taints, since when (continuously), and the taints.
    no_execute: BTreeMap<NodeId, (SimTime, Vec<Taint>)>,
    /// The last `NoExecute` spell of nodes that have none now: since, until, taints.
    no_execute_ended: BTreeMap<NodeId, (SimTime, SimTime, Vec<Taint>)>,
    /// Since when the node lifecycle controller can act (API server up, controller manager
    /// leading); `None` while it cannot.
    control_plane_since: Option<SimTime>,
    /// Events of the API server's log already looked at.
    events_seen: usize,
    /// Events already counted by [`NodeChecks::taint_evictions`], and their count.
    events_counted: usize,
    taint_evictions: u64,
    /// Involuntary disruptions seen (`Counters::readiness_lost`), and when the last one was.
    readiness_lost_seen: u64,
    readiness_lost_at: Option<SimTime>,
    /// Checks of the node invariants made.
    pub checks: u64,
    /// Taint evictions checked against their tolerations.
    pub evictions_checked: u64,
}

/// Time the pod garbage collector has to delete the pods of a deleted node: its quarantine
/// time, then its next pass (upstream `gcCheckPeriod`, 20 s).
pub const ORPHANS_GONE_WITHIN: SimDuration =
    SimDuration::from_nanos(QUARANTINE_TIME.as_nanos() + 20_000_000_000);

/// Time the node lifecycle controller has to notice a silent kubelet. It sees the last Lease
/// renewal at its next monitor pass (up to one `nodeMonitorPeriod` later: the observation is
/// the `probeTimestamp`), and sets `Ready=Unknown` at the first pass more than
/// `nodeMonitorGracePeriod` after that, one period more at most.
pub const NOT_READY_WITHIN: SimDuration = SimDuration::from_nanos(
    NODE_MONITOR_GRACE_PERIOD.as_nanos() + 2 * NODE_MONITOR_PERIOD.as_nanos(),
);

impl Checkers {
    /// The node invariants (see the module doc); called after every event with the kubelets'
    /// machines and the control plane's availability.
    pub fn check_nodes(
        &mut self,
        api: &ApiServer,
        kubelets: &Kubelets,
        control_plane: &ControlPlane,
        now: SimTime,
    ) {
        let mut found = Vec::new();
        self.nodes
            .check(api, kubelets, control_plane, now, &mut found);
        for (invariant, detail) in found {
            self.violate(now, invariant, detail);
        }
    }
}

/// The longest a controller takes to hear of a write: the write commits (API latency), then
/// the watch delivers it.
fn reaction_latency(api: &ApiServer) -> SimDuration {
    api.timing
        .watch_latency
        .hi
        .saturating_add(api.timing.api_latency.hi)
}

/// Upstream `deletePodHandler`'s event: the taint eviction controller deletes a pod.
fn is_taint_eviction(e: &crate::events::EventRecord) -> bool {
    e.reason == "TaintManagerEviction" && e.message.starts_with("Marking for deletion")
}

impl NodeChecks {
    /// Whether the controllers may not have seen the latest changes: the controller manager
    /// or the API server was down at the last check, or came back less than the time a write
    /// takes to reach a watcher before now.
    /// Also while a pod lost readiness involuntarily (a crash, a probe, a node going) less
    /// than the disruption controller's reaction ago: a budget's status computed before it
    /// still allows the disruption (upstream's eviction API has the same race).
    pub fn disruption_status_may_be_stale(&self, now: SimTime, api: &ApiServer) -> bool {
        let reaction = reaction_latency(api);
        let recomputed = reaction
            .saturating_mul(2)
            .saturating_add(SimDuration::from_secs(1));
        (self.checks > 0
            && self
                .control_plane_since
                .is_none_or(|t| now.since(t) < reaction))
            || self
                .readiness_lost_at
                .is_some_and(|t| now.since(t) < recomputed)
    }

    /// Notes the involuntary disruptions up to now (before the budgets are checked).
    pub fn observe_disruptions(&mut self, api: &ApiServer, now: SimTime) {
        if api.counters.readiness_lost != self.readiness_lost_seen {
            self.readiness_lost_seen = api.counters.readiness_lost;
            self.readiness_lost_at = Some(now);
        }
    }

    /// Pods the taint eviction controller deleted so far: disruptions the rollout bounds do
    /// not cover, as evictions are.
    pub fn taint_evictions(&mut self, api: &ApiServer) -> u64 {
        let start = self.events_counted.min(api.events.len());
        self.events_counted = api.events.len();
        self.taint_evictions += api.events[start..]
            .iter()
            .filter(|e| is_taint_eviction(e))
            .count() as u64;
        self.taint_evictions
    }

    fn check(
        &mut self,
        api: &ApiServer,
        kubelets: &Kubelets,
        control_plane: &ControlPlane,
        now: SimTime,
        found: &mut Vec<(&'static str, String)>,
    ) {
        self.checks += 1;
        let available = !control_plane.api_down && control_plane.controller_manager.has_leader();
        self.control_plane_since = match (available, self.control_plane_since) {
            (false, _) => None,
            (true, None) => Some(now),
            (true, Some(t)) => Some(t),
        };
        let latency = reaction_latency(api);
        let mut abnormal = false;
        for info in &api.store.nodes {
            let id = info.id;
            let state = kubelets.node(id);
            abnormal |= !info.exists || state.down;
            if state.reaches_api() || !info.exists {
                self.cut_off_since.remove(&id);
            } else {
                self.cut_off_since.entry(id).or_insert(now);
            }
            if info.exists {
                self.gone_since.remove(&id);
            } else {
                self.gone_since.entry(id).or_insert(now);
            }
            let ready = info.conditions.ready;
            match self.ready.get(&id) {
                Some((r, _)) if *r == ready => {}
                _ => {
                    self.ready.insert(id, (ready, now));
                }
            }
            let taints = if info.exists {
                no_execute_taints(&info.node.taints)
            } else {
                Vec::new()
            };
            if taints.is_empty() {
                if let Some((since, old)) = self.no_execute.remove(&id) {
                    self.no_execute_ended.insert(id, (since, now, old));
                }
            } else {
                self.no_execute
                    .entry(id)
                    .and_modify(|(_, t)| t.clone_from(&taints))
                    .or_insert((now, taints));
            }
            if !info.exists {
                continue;
            }
            // The unreachable taint goes with `Ready=Unknown`.
            let unreachable = info
                .node
                .taints
                .iter()
                .any(|t| t.key == TAINT_NODE_UNREACHABLE && t.effect == TaintEffect::NoExecute);
            if unreachable && ready != ConditionStatus::Unknown {
                let left_unknown = self.ready.get(&id).map_or(now, |(_, t)| *t);
                if let Some(cp) = self.control_plane_since {
                    let from = left_unknown.max(cp);
                    let allowed = NODE_MONITOR_PERIOD.saturating_add(latency);
                    if now.since(from) > allowed {
                        found.push((
                            "unreachable-taint-without-unknown",
                            format!(
                                "node/{}: carries {TAINT_NODE_UNREACHABLE}:NoExecute with Ready={ready:?} since {left_unknown}",
                                info.name()
                            ),
                        ));
                    }
                }
            }
            // Pods of a node silent for long enough are not Ready.
            if let (Some(&since), Some(cp)) =
                (self.cut_off_since.get(&id), self.control_plane_since)
            {
                // A controller that (re)starts looks at the node at its next pass, as it would
                // see a renewal.
                let deadline = since
                    .max(cp)
                    .saturating_add(NOT_READY_WITHIN)
                    .saturating_add(latency);
                if now > deadline {
                    for &p in &info.pods {
                        let r = api.store.pod(p);
                        if r.is_active()
                            && r.node == Some(id)
                            && r.phase == PodPhase::Running
                            && r.ready
                        {
                            found.push((
                                "ready-pod-on-silent-node",
                                format!(
                                    "pod/{} is Running and Ready on node/{}, whose kubelet has been cut off since {since} (Ready={ready:?})",
                                    r.pod.name,
                                    info.name()
                                ),
                            ));
                        }
                    }
                }
            }
        }
        // What the kubelets run is on machines that are up.
        if abnormal {
            for p in kubelets.running_pods() {
                let r = api.store.pod(p);
                let Some(node) = r.node else {
                    found.push((
                        "kubelet-runs-unbound-pod",
                        format!(
                            "pod/{}: a kubelet runs it, but it is bound to no node",
                            r.pod.name
                        ),
                    ));
                    continue;
                };
                let info = api.store.node(node);
                if kubelets.node(node).down {
                    found.push((
                        "kubelet-runs-pod-on-dead-node",
                        format!(
                            "pod/{}: its containers run on node/{}, whose machine is down",
                            r.pod.name,
                            info.name()
                        ),
                    ));
                    continue;
                }
                let (Some(&gone), Some(cp)) =
                    (self.gone_since.get(&node), self.control_plane_since)
                else {
                    continue;
                };
                let deadline = gone
                    .max(cp)
                    .saturating_add(ORPHANS_GONE_WITHIN)
                    .saturating_add(latency)
                    .saturating_add(latency);
                if now > deadline {
                    found.push((
                        "kubelet-runs-pod-on-dead-node",
                        format!(
                            "pod/{}: its containers run on node/{}, deleted at {gone}",
                            r.pod.name,
                            info.name()
                        ),
                    ));
                }
            }
        }
        self.check_taint_evictions(api, now, latency, found);
    }

    /// Each pod the taint eviction controller marked for deletion since the last check had
    /// been on a `NoExecute`-tainted node for at least its toleration time.
    fn check_taint_evictions(
        &mut self,
        api: &ApiServer,
        now: SimTime,
        latency: SimDuration,
        found: &mut Vec<(&'static str, String)>,
    ) {
        let start = self.events_seen.min(api.events.len());
        self.events_seen = api.events.len();
        for e in &api.events[start..] {
            if !is_taint_eviction(e) {
                continue;
            }
            self.evictions_checked += 1;
            let Some(name) = e.object.strip_prefix("pod/") else {
                continue;
            };
            let key = e.message.rsplit(' ').next().unwrap_or_default();
            // The newest pod of that name: the one just marked.
            let Some(r) = api
                .store
                .pods
                .iter()
                .rev()
                .find(|r| r.pod.name == name && r.pod.key() == key)
            else {
                continue;
            };
            let Some(node) = r.node else {
                found.push((
                    "taint-eviction-too-early",
                    format!("pod/{name}: evicted for taints, but bound to no node"),
                ));
                continue;
            };
            let deleted = !api.store.node(node).exists;
            let spell = match (self.no_execute.get(&node), self.no_execute_ended.get(&node)) {
                (Some((since, taints)), _) => Some((*since, taints)),
                // The controller may act on taints removed within the time that takes to reach it, and it
                // keeps the deletions it scheduled for the pods of a node deleted while
                // tainted (upstream `handleNodeUpdate` forgets the node, not its pods).
                (None, Some((since, until, taints))) if deleted || now.since(*until) <= latency => {
                    Some((*since, taints))
                }
                _ => None,
            };
            let node_name = api.store.node(node).name();
            let Some((since, taints)) = spell else {
                let last = match self.no_execute_ended.get(&node) {
                    Some((since, until, _)) => format!(" (it had from {since} to {until})"),
                    None => String::new(),
                };
                found.push((
                    "taint-eviction-too-early",
                    format!(
                        "pod/{name}: evicted for taints, but node/{node_name} has no NoExecute taint{last}"
                    ),
                ));
                continue;
            };
            let wait = match matching_tolerations(taints, &r.pod.tolerations) {
                None => Some(SimDuration::ZERO),
                Some(used) => min_toleration_time(&used),
            };
            match wait {
                None => found.push((
                    "taint-eviction-too-early",
                    format!(
                        "pod/{name}: evicted, but it tolerates node/{node_name}'s NoExecute taints forever"
                    ),
                )),
                Some(w) if now.since(since) < w => found.push((
                    "taint-eviction-too-early",
                    format!(
                        "pod/{name}: evicted {} after node/{node_name} got its NoExecute taints, before its tolerationSeconds ({w})",
                        now.since(since)
                    ),
                )),
                Some(_) => {}
            }
        }
    }
}
