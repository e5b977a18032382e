//! The kubelet's eviction manager and the kernel's memory-cgroup OOM killer, per node, driven
//! by the usage curves of [`super::usage`] instead of sampled stats.
//!
//! Upstream the eviction manager `synchronize`s every 10 s (`evictionMonitoringPeriod`); when it
//! evicts a pod it waits for the pod to be cleaned up and synchronizes again at once. Here a
//! synchronize that would change nothing is skipped: [`PressureManager::next_deadline`] gives the
//! first 10 s tick at which a threshold is met (or the next tick while the node is under
//! pressure), or the exact instant a container's usage passes its memory limit, so the kubelet
//! schedules one event and calls [`PressureManager::on_deadline`] then.
//!
//! Model, and where it differs from a real node:
//! - A node's capacity is its allocatable plus the hard eviction thresholds (upstream
//!   `allocatable = capacity - kubeReserved - systemReserved - evictionHard`, with no
//!   reservations): 100Mi more memory, and ephemeral storage of which 10% is the nodefs
//!   threshold. Nothing but pods uses memory or disk, so `allocatableMemory.available` always
//!   equals `memory.available` and is not tracked separately.
//! - The image filesystem is the node's root filesystem (no dedicated imagefs): the
//!   `imagefs.available` observation is the nodefs one, and images take no space. Inodes and
//!   PIDs are not modelled, so their thresholds are never met.
//! - A pod's modelled usage is its first app container's; other containers use nothing.
//! - Stats are exact at the instant of the synchronize (no cAdvisor housekeeping lag), and a
//!   pressure condition reaches the node status at the synchronize that sets it.
//! - After an eviction the next synchronize is one cleanup poll (1 s) after the pod's kill grace
//!   period, at most upstream's 30 s cleanup timeout.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::{SimDuration, SimTime};

use super::eviction::{
    self, ContainerUsage, NodeCondition, Observations, RankInput, Resource, Signal,
    SignalObservation, Threshold,
};
use super::usage::{ResourceUsage, UsageModel};
use crate::api::{NodeId, Pod, PodId};
use crate::apiserver::admission::quota::{Amount, QuantityFormat};

/// Upstream `podCleanupPollFreq` and `podCleanupTimeout`.
const POD_CLEANUP_POLL: SimDuration = SimDuration::from_secs(1);
const POD_CLEANUP_TIMEOUT: SimDuration = SimDuration::from_secs(30);

/// The kubelet's eviction configuration (upstream `eviction.Config`), with upstream defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct EvictionConfig {
    /// Hard thresholds first, then soft ones; a soft threshold has a grace period.
    pub thresholds: Vec<Threshold>,
    pub monitoring_interval: SimDuration,
    pub pressure_transition_period: SimDuration,
    /// `evictionMaxPodGracePeriod`: the grace period of pods evicted for a soft threshold.
    pub max_pod_grace_period: SimDuration,
}

impl Default for EvictionConfig {
    fn default() -> Self {
        EvictionConfig {
            thresholds: eviction::default_eviction_hard(),
            monitoring_interval: eviction::MONITORING_INTERVAL,
            pressure_transition_period: eviction::PRESSURE_TRANSITION_PERIOD,
            max_pod_grace_period: SimDuration::ZERO,
        }
    }
}

/// What the node has: capacity in bytes (0 ephemeral storage: disk is not modelled).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeCapacity {
    pub memory: i64,
    pub ephemeral_storage: i64,
}

impl NodeCapacity {
    /// The capacity behind a node's allocatable (see the module notes).
    pub fn from_allocatable(
        allocatable: &crate::api::ResourceList,
        config: &EvictionConfig,
    ) -> Self {
        NodeCapacity {
            memory: eviction::capacity_from_allocatable(
                allocatable.memory,
                &config.thresholds,
                Signal::MemoryAvailable,
            ),
            ephemeral_storage: if allocatable.ephemeral_storage > 0 {
                eviction::capacity_from_allocatable(
                    allocatable.ephemeral_storage,
                    &config.thresholds,
                    Signal::NodeFsAvailable,
                )
            } else {
                0
            },
        }
    }
}

/// A pod whose container is running, as the eviction manager sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunningPod {
    pub id: PodId,
    /// The container the usage belongs to.
    pub container: String,
    pub priority: i32,
    /// Effective pod requests (upstream `GetResourceRequestQuantity`), for ranking.
    pub memory_request: i64,
    pub ephemeral_storage_request: i64,
    /// The container's requests as written, for eviction messages.
    pub container_memory_request: Amount,
    pub container_ephemeral_storage_request: Amount,
    /// The container's memory limit: above it the kernel OOM-kills the container.
    pub memory_limit: Option<i64>,
    /// When the current run of the container started (a restart starts usage over).
    pub started: SimTime,
    pub usage: ResourceUsage,
}

impl RunningPod {
    /// From the pod spec: the first app container's name, requests and memory limit.
    pub fn new(id: PodId, pod: &Pod, started: SimTime, usage: ResourceUsage) -> Self {
        let first = pod.resources.as_ref().and_then(|r| r.containers.first());
        let zero = Amount::from_value(0, QuantityFormat::DecimalSI);
        let request = |name: &str, whole_pod: i64| match (&pod.resources, first) {
            (Some(_), Some(c)) => c.requests.get(name).copied().unwrap_or(zero),
            _ => Amount::from_value(whole_pod, QuantityFormat::BinarySI),
        };
        RunningPod {
            id,
            container: first.map_or_else(|| pod.name.clone(), |c| c.name.clone()),
            priority: pod.priority,
            memory_request: pod.requests.memory,
            ephemeral_storage_request: pod.requests.ephemeral_storage,
            container_memory_request: request("memory", pod.requests.memory),
            container_ephemeral_storage_request: request(
                "ephemeral-storage",
                pod.requests.ephemeral_storage,
            ),
            memory_limit: first
                .and_then(|c| c.limits.get("memory"))
                .map(Amount::value),
            started,
            usage,
        }
    }

    fn memory_at(&self, t: SimTime) -> i64 {
        self.usage.memory_at(t.since(self.started))
    }

    fn ephemeral_storage_at(&self, t: SimTime) -> i64 {
        self.usage.ephemeral_storage_at(t.since(self.started))
    }

    /// When the container's memory first exceeds its limit.
    fn oom_at(&self) -> Option<SimTime> {
        let limit = self.memory_limit?;
        let d = self
            .usage
            .memory?
            .time_when_usage_reaches(limit.checked_add(1)?)?;
        self.started.checked_add(d)
    }
}

/// What the kubelet must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// The container went over its memory limit: it is terminated with reason `OOMKilled` and
    /// exit code 137, then restarted by the pod's restartPolicy (CrashLoopBackOff).
    OomKill { pod: PodId, container: String },
    /// Node event `Warning EvictionThresholdMet "Attempting to reclaim <resource>"`.
    ThresholdMet { node: NodeId, resource: Resource },
    /// Evict the pod: event `Warning Evicted <message>` on the pod, containers killed with
    /// `grace_period`, pod phase Failed with reason `Evicted` and this message.
    Evict {
        pod: PodId,
        message: String,
        grace_period: SimDuration,
    },
    /// The node's MemoryPressure / DiskPressure conditions changed to these values.
    SetPressure {
        node: NodeId,
        memory: bool,
        disk: bool,
    },
}

/// Upstream `OOMKilled` container termination reason and its exit code (128 + SIGKILL).
pub const REASON_OOM_KILLED: &str = "OOMKilled";
pub const OOM_KILLED_EXIT_CODE: i32 = 137;

/// The kubelet's node status events for a pressure change (upstream nodestatus setters):
/// `(reason, message)` for `node/<name>`, type Normal.
pub fn pressure_events(
    node_name: &str,
    before: (bool, bool),
    after: (bool, bool),
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut push = |reason: &'static str| {
        out.push((reason, format!("Node {node_name} status is now: {reason}")));
    };
    if before.0 != after.0 {
        push(if after.0 {
            "NodeHasInsufficientMemory"
        } else {
            "NodeHasSufficientMemory"
        });
    }
    if before.1 != after.1 {
        push(if after.1 {
            "NodeHasDiskPressure"
        } else {
            "NodeHasNoDiskPressure"
        });
    }
    out
}

#[derive(Clone, Debug, Default)]
struct NodeState {
    /// The next eviction-manager tick; later ticks follow every monitoring interval.
    next_sync: SimTime,
    last_sync: Option<SimTime>,
    thresholds_first_observed_at: Vec<(Threshold, SimTime)>,
    thresholds_met: Vec<Threshold>,
    conditions_last_observed_at: BTreeMap<NodeCondition, SimTime>,
    /// MemoryPressure, DiskPressure as last reported.
    reported: (bool, bool),
    evicted: BTreeSet<PodId>,
    /// Container runs already OOM-killed, by their start.
    oom_killed: BTreeSet<(PodId, SimTime)>,
}

/// The eviction manager state of every node's kubelet.
#[derive(Clone, Debug, Default)]
pub struct PressureManager {
    pub config: EvictionConfig,
    nodes: BTreeMap<NodeId, NodeState>,
}

impl PressureManager {
    pub fn new(config: EvictionConfig) -> Self {
        PressureManager {
            config,
            nodes: BTreeMap::new(),
        }
    }

    /// The kubelet started: its eviction manager synchronizes now and every interval after.
    pub fn start_node(&mut self, node: NodeId, now: SimTime) {
        self.nodes.insert(
            node,
            NodeState {
                next_sync: now,
                ..NodeState::default()
            },
        );
    }

    /// The kubelet stopped (node crashed or removed): its state goes with it.
    pub fn stop_node(&mut self, node: NodeId) {
        self.nodes.remove(&node);
    }

    /// Whether the node's kubelet runs an eviction manager (started and not stopped since).
    pub fn is_started(&self, node: NodeId) -> bool {
        self.nodes.contains_key(&node)
    }

    /// The pod left the node; forget it.
    pub fn forget_pod(&mut self, node: NodeId, pod: PodId) {
        if let Some(s) = self.nodes.get_mut(&node) {
            s.evicted.remove(&pod);
            s.oom_killed.retain(|(p, _)| *p != pod);
        }
    }

    /// MemoryPressure and DiskPressure as last reported for the node.
    pub fn pressure(&self, node: NodeId) -> (bool, bool) {
        self.nodes.get(&node).map_or((false, false), |s| s.reported)
    }

    /// Upstream eviction `Admit` for a pod about to start on the node.
    pub fn admit(
        &self,
        node: NodeId,
        pod: &Pod,
        tolerates_memory_pressure: bool,
    ) -> Result<(), String> {
        let (memory, disk) = self.pressure(node);
        let mut conditions = Vec::new();
        if memory {
            conditions.push(NodeCondition::MemoryPressure);
        }
        if disk {
            conditions.push(NodeCondition::DiskPressure);
        }
        let qos = pod
            .resources
            .as_deref()
            .map_or(eviction::QosClass::BestEffort, eviction::pod_qos);
        eviction::admit(&conditions, qos, pod.priority, tolerates_memory_pressure)
    }

    /// The first tick at or after `t`.
    fn tick_at_or_after(&self, s: &NodeState, t: SimTime) -> SimTime {
        if t <= s.next_sync {
            return s.next_sync;
        }
        let interval = self.config.monitoring_interval.as_nanos().max(1);
        let k = t.since(s.next_sync).as_nanos().div_ceil(interval);
        s.next_sync
            .saturating_add(SimDuration::from_nanos(k.saturating_mul(interval)))
    }

    /// When [`PressureManager::on_deadline`] must next run for the node, given the pods whose
    /// containers run there; `None` when nothing will ever happen. Call again whenever the set of
    /// running containers changes.
    pub fn next_deadline(
        &self,
        node: NodeId,
        now: SimTime,
        capacity: &NodeCapacity,
        pods: &[RunningPod],
    ) -> Option<SimTime> {
        let s = self.nodes.get(&node)?;
        let oom = pods
            .iter()
            .filter_map(|p| {
                let at = p.oom_at()?;
                (!s.oom_killed.contains(&(p.id, p.started))).then_some(at.max(now))
            })
            .min();
        let active = !s.thresholds_met.is_empty()
            || !s.thresholds_first_observed_at.is_empty()
            || s.reported != (false, false);
        let sync = if active {
            Some(self.tick_at_or_after(s, now))
        } else {
            self.first_tick_met(s, now, capacity, pods)
        };
        match (oom, sync) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The first tick at or after `now` at which some threshold is met.
    fn first_tick_met(
        &self,
        s: &NodeState,
        now: SimTime,
        capacity: &NodeCapacity,
        pods: &[RunningPod],
    ) -> Option<SimTime> {
        // Met when available < quantity, i.e. usage >= capacity - quantity + 1.
        let bound = |resource: Resource, cap: i64| {
            self.config
                .thresholds
                .iter()
                .filter(|t| t.signal.resource() == resource)
                .map(|t| {
                    cap.saturating_sub(eviction::threshold_quantity(t.value, cap).value())
                        .saturating_add(1)
                })
                .min()
        };
        let from = self.tick_at_or_after(s, now);
        let memory = bound(Resource::Memory, capacity.memory).and_then(|b| {
            self.first_tick_reaching(from, b, pods, |p| p.usage.memory, RunningPod::memory_at)
        });
        let disk = if capacity.ephemeral_storage > 0 {
            bound(Resource::EphemeralStorage, capacity.ephemeral_storage).and_then(|b| {
                self.first_tick_reaching(
                    from,
                    b,
                    pods,
                    |p| p.usage.ephemeral_storage,
                    RunningPod::ephemeral_storage_at,
                )
            })
        } else {
            None
        };
        match (memory, disk) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The first tick from `from` (a tick) at which the pods' summed usage reaches `bound`.
    /// The sum is linear between the ends of ramps, so within each such stretch checking its
    /// last tick tells whether it gets there, and a bisection finds the first tick.
    fn first_tick_reaching(
        &self,
        from: SimTime,
        bound: i64,
        pods: &[RunningPod],
        model: impl Fn(&RunningPod) -> Option<UsageModel>,
        usage_at: impl Fn(&RunningPod, SimTime) -> i64,
    ) -> Option<SimTime> {
        let interval = self.config.monitoring_interval.as_nanos().max(1);
        let tick = |k: u64| -> Option<SimTime> {
            from.checked_add(SimDuration::from_nanos(k.checked_mul(interval)?))
        };
        let total = |t: SimTime| -> i128 { pods.iter().map(|p| i128::from(usage_at(p, t))).sum() };
        let reaches = |k: u64| tick(k).is_some_and(|t| total(t) >= i128::from(bound));
        // First k in (lo, hi] that reaches, given lo does not and hi does.
        let bisect = |mut lo: u64, mut hi: u64| {
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if reaches(mid) {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            hi
        };
        if reaches(0) {
            return Some(from);
        }
        let mut breakpoints: Vec<SimTime> = pods
            .iter()
            .filter_map(|p| {
                let b = model(p)?.breakpoint()?;
                p.started.checked_add(b)
            })
            .filter(|b| *b > from)
            .collect();
        breakpoints.sort();
        breakpoints.dedup();
        let mut lo = 0u64;
        for b in breakpoints {
            let last = b.since(from).as_nanos() / interval;
            if last <= lo {
                continue;
            }
            if reaches(last) {
                return tick(bisect(lo, last));
            }
            lo = last;
        }
        // After the last ramp only leaks change anything, and they only grow.
        let grows = pods.iter().any(
            |p| matches!(model(p), Some(UsageModel::Leak { per_second, .. }) if per_second > 0),
        );
        if !grows {
            return None;
        }
        let mut step = 1u64;
        loop {
            let hi = lo.checked_add(step)?;
            tick(hi)?;
            if reaches(hi) {
                return tick(bisect(lo, hi));
            }
            lo = hi;
            step = step.saturating_mul(2);
        }
    }

    /// Runs what is due at `now` for the node: OOM kills of containers past their memory limit,
    /// and the eviction manager's synchronize when `now` is one of its ticks.
    pub fn on_deadline(
        &mut self,
        node: NodeId,
        now: SimTime,
        capacity: &NodeCapacity,
        pods: &[RunningPod],
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        let Some(s) = self.nodes.get(&node) else {
            return actions;
        };
        let is_tick = self.tick_at_or_after(s, now) == now && s.last_sync != Some(now);
        let Some(s) = self.nodes.get_mut(&node) else {
            return actions;
        };
        let mut killed = BTreeSet::new();
        for p in pods {
            let over = p.memory_limit.is_some_and(|l| p.memory_at(now) > l);
            if over && s.oom_killed.insert((p.id, p.started)) {
                killed.insert(p.id);
                actions.push(Action::OomKill {
                    pod: p.id,
                    container: p.container.clone(),
                });
            }
        }
        if is_tick {
            let alive: Vec<&RunningPod> = pods.iter().filter(|p| !killed.contains(&p.id)).collect();
            self.synchronize(node, now, capacity, &alive, &mut actions);
        }
        actions
    }

    fn observe(now: SimTime, capacity: &NodeCapacity, pods: &[&RunningPod]) -> Observations {
        let mut obs = Observations::new();
        let memory: i64 = pods
            .iter()
            .map(|p| p.memory_at(now))
            .fold(0, i64::saturating_add);
        obs.insert(
            Signal::MemoryAvailable,
            SignalObservation {
                available: capacity.memory.saturating_sub(memory),
                capacity: capacity.memory,
            },
        );
        if capacity.ephemeral_storage > 0 {
            let disk: i64 = pods
                .iter()
                .map(|p| p.ephemeral_storage_at(now))
                .fold(0, i64::saturating_add);
            let fs = SignalObservation {
                available: capacity.ephemeral_storage.saturating_sub(disk),
                capacity: capacity.ephemeral_storage,
            };
            obs.insert(Signal::NodeFsAvailable, fs);
            obs.insert(Signal::ImageFsAvailable, fs);
        }
        obs
    }

    /// Upstream `managerImpl.synchronize`, at most one eviction.
    fn synchronize(
        &mut self,
        node: NodeId,
        now: SimTime,
        capacity: &NodeCapacity,
        pods: &[&RunningPod],
        actions: &mut Vec<Action>,
    ) {
        let config = &self.config;
        let Some(s) = self.nodes.get_mut(&node) else {
            return;
        };
        s.last_sync = Some(now);
        s.next_sync = now.saturating_add(config.monitoring_interval);
        let observations = Self::observe(now, capacity, pods);
        let mut thresholds = eviction::thresholds_met(&config.thresholds, &observations, false);
        if !s.thresholds_met.is_empty() {
            let unresolved = eviction::thresholds_met(&s.thresholds_met, &observations, true);
            thresholds = eviction::merge_thresholds(&thresholds, &unresolved);
        }
        let first_observed = eviction::thresholds_first_observed_at(
            &thresholds,
            &s.thresholds_first_observed_at,
            now,
        );
        let conditions = eviction::node_conditions(&thresholds);
        let last_observed = eviction::node_conditions_last_observed_at(
            &conditions,
            &s.conditions_last_observed_at,
            now,
        );
        let conditions = eviction::node_conditions_observed_since(
            &last_observed,
            config.pressure_transition_period,
            now,
        );
        let mut met = eviction::thresholds_met_grace_period(&first_observed, now);
        s.thresholds_first_observed_at = first_observed;
        s.conditions_last_observed_at = last_observed;
        s.thresholds_met = met.clone();

        let pressure = (
            conditions.contains(&NodeCondition::MemoryPressure),
            conditions.contains(&NodeCondition::DiskPressure),
        );
        if pressure != s.reported {
            s.reported = pressure;
            actions.push(Action::SetPressure {
                node,
                memory: pressure.0,
                disk: pressure.1,
            });
        }
        if met.is_empty() {
            return;
        }
        eviction::sort_by_eviction_priority(&mut met);
        let Some((threshold, resource)) = eviction::reclaimable_threshold(&met) else {
            return;
        };
        actions.push(Action::ThresholdMet { node, resource });
        let view = |p: &&RunningPod| RankInput {
            priority: p.priority,
            memory_request: p.memory_request,
            ephemeral_storage_request: p.ephemeral_storage_request,
            memory_usage: Some(p.memory_at(now)),
            ephemeral_storage_usage: Some(p.ephemeral_storage_at(now)),
        };
        let mut candidates: Vec<&RunningPod> = pods
            .iter()
            .copied()
            .filter(|p| !s.evicted.contains(&p.id))
            .collect();
        match resource {
            Resource::Memory => eviction::rank_memory_pressure(&mut candidates, view),
            _ => eviction::rank_disk_pressure(&mut candidates, view),
        }
        let info = eviction::threshold_met_info(resource, &met, &observations);
        let Some(victim) = candidates
            .into_iter()
            .find(|p| p.priority < eviction::SYSTEM_CRITICAL_PRIORITY)
        else {
            return;
        };
        let (usage, request) = match resource {
            Resource::Memory => (victim.memory_at(now), victim.container_memory_request),
            _ => (
                victim.ephemeral_storage_at(now),
                victim.container_ephemeral_storage_request,
            ),
        };
        let message = eviction::eviction_message(
            resource,
            info,
            &[ContainerUsage {
                name: victim.container.clone(),
                usage,
                request,
            }],
        );
        let grace_period = if threshold.is_hard() {
            eviction::IMMEDIATE_EVICTION_GRACE_PERIOD
        } else {
            config.max_pod_grace_period
        };
        s.evicted.insert(victim.id);
        s.next_sync = now.saturating_add(
            grace_period
                .saturating_add(POD_CLEANUP_POLL)
                .min(POD_CLEANUP_TIMEOUT),
        );
        actions.push(Action::Evict {
            pod: victim.id,
            message,
            grace_period,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::api::pod::PodResources;
    use crate::apiserver::admission::quota::{ContainerResources, ResourceList};

    const MI: i64 = 1024 * 1024;
    const GI: i64 = 1024 * MI;
    const NODE: NodeId = NodeId(0);

    fn pod(name: &str, request: Option<&str>, limit: Option<&str>) -> Pod {
        let list = |q: Option<&str>| {
            let mut l = ResourceList::new();
            if let Some(q) = q {
                l.insert("memory".into(), Amount::parse(q).expect("quantity"));
            }
            l
        };
        let mut p = Pod {
            name: name.into(),
            resources: Some(Arc::new(PodResources {
                containers: vec![ContainerResources {
                    name: name.into(),
                    requests: list(request),
                    limits: list(limit),
                    restartable_init: false,
                }],
                ..PodResources::default()
            })),
            ..Pod::default()
        };
        p.requests.memory = request.map_or(0, |q| Amount::parse(q).expect("quantity").value());
        p
    }

    fn leak(start: i64, per_second: i64) -> ResourceUsage {
        ResourceUsage {
            memory: Some(UsageModel::Leak { start, per_second }),
            ..ResourceUsage::default()
        }
    }

    fn running(id: u32, p: &Pod, usage: ResourceUsage) -> RunningPod {
        RunningPod::new(PodId(id), p, SimTime::ZERO, usage)
    }

    fn capacity() -> (EvictionConfig, NodeCapacity) {
        let config = EvictionConfig::default();
        let allocatable = crate::api::ResourceList {
            memory: GI,
            ..Default::default()
        };
        let capacity = NodeCapacity::from_allocatable(&allocatable, &config);
        assert_eq!(capacity.memory, GI + 100 * MI);
        (config, capacity)
    }

    /// Runs the manager from deadline to deadline until `until`, dropping evicted pods one
    /// second after their eviction (their 1 s grace period), as the kubelet would.
    fn run(
        m: &mut PressureManager,
        capacity: &NodeCapacity,
        pods: &mut Vec<RunningPod>,
        until: SimTime,
    ) -> Vec<(SimTime, Action)> {
        let mut log = Vec::new();
        let mut dying: Vec<(SimTime, PodId)> = Vec::new();
        let mut now = SimTime::ZERO;
        while let Some(next) = m.next_deadline(NODE, now, capacity, pods) {
            let next = dying.iter().map(|(t, _)| *t).fold(next, SimTime::min);
            if next > until {
                break;
            }
            now = next;
            for (_, gone) in dying.iter().filter(|(t, _)| *t <= now) {
                pods.retain(|p| p.id != *gone);
                m.forget_pod(NODE, *gone);
            }
            dying.retain(|(t, _)| *t > now);
            for a in m.on_deadline(NODE, now, capacity, pods) {
                if let Action::Evict {
                    pod, grace_period, ..
                } = &a
                {
                    dying.push((now + *grace_period, *pod));
                }
                log.push((now, a));
            }
        }
        log
    }

    #[test]
    fn besteffort_is_evicted_first_then_the_burstable_pod_over_its_request() {
        let (config, capacity) = capacity();
        let mut m = PressureManager::new(config);
        m.start_node(NODE, SimTime::ZERO);
        let be = pod("best-effort", None, None);
        let burstable = pod("burstable", Some("100Mi"), None);
        let guaranteed = pod("guaranteed", Some("400Mi"), Some("400Mi"));
        let mut pods = vec![
            running(1, &be, leak(400 * MI, 2 * MI)),
            running(2, &burstable, leak(250 * MI, MI)),
            running(3, &guaranteed, leak(300 * MI, 0)),
        ];
        // 950Mi + 3Mi/s passes allocatable (capacity - 100Mi) at 24.67 s; the tick after is 30 s.
        assert_eq!(
            m.next_deadline(NODE, SimTime::ZERO, &capacity, &pods),
            Some(SimTime::from_secs(30))
        );
        let log = run(&mut m, &capacity, &mut pods, SimTime::from_secs(600));
        let evictions: Vec<(SimTime, PodId)> = log
            .iter()
            .filter_map(|(t, a)| match a {
                Action::Evict { pod, .. } => Some((*t, *pod)),
                _ => None,
            })
            .collect();
        // The burstable pod alone reaches 1Gi + 1 byte - 300Mi at 474 s; the tick grid moved to
        // 32 s + 10 s * k after the first eviction's cleanup, so 482 s.
        assert_eq!(
            evictions,
            [
                (SimTime::from_secs(30), PodId(1)),
                (SimTime::from_secs(482), PodId(2))
            ]
        );
        let first: Vec<&Action> = log
            .iter()
            .filter(|(t, _)| *t == SimTime::from_secs(30))
            .map(|(_, a)| a)
            .collect();
        assert_eq!(
            first,
            [
                &Action::SetPressure {
                    node: NODE,
                    memory: true,
                    disk: false
                },
                &Action::ThresholdMet {
                    node: NODE,
                    resource: Resource::Memory
                },
                &Action::Evict {
                    pod: PodId(1),
                    message: "The node was low on resource: memory. Threshold quantity: 100Mi, available: 84Mi. Container best-effort was using 460Mi, request is 0, has larger consumption of memory. ".into(),
                    grace_period: SimDuration::from_secs(1),
                }
            ]
        );
        // MemoryPressure clears once no threshold was met for the transition period (5 min
        // after the 30 s observation, at the 332 s tick), and comes back at 482 s.
        let pressure: Vec<(SimTime, bool)> = log
            .iter()
            .filter_map(|(t, a)| match a {
                Action::SetPressure { memory, .. } => Some((*t, *memory)),
                _ => None,
            })
            .collect();
        assert_eq!(
            pressure,
            [
                (SimTime::from_secs(30), true),
                (SimTime::from_secs(332), false),
                (SimTime::from_secs(482), true)
            ]
        );
        // The guaranteed pod is never evicted.
        assert_eq!(pods.iter().map(|p| p.id).collect::<Vec<_>>(), [PodId(3)]);
    }

    #[test]
    fn a_container_past_its_limit_is_oom_killed_at_the_crossing() {
        let (config, capacity) = capacity();
        let mut m = PressureManager::new(config);
        m.start_node(NODE, SimTime::ZERO);
        let p = pod("leaky", Some("100Mi"), Some("256Mi"));
        let mut pods = vec![running(1, &p, leak(200 * MI, MI))];
        let crossing = SimTime::from_secs(56) + SimDuration::from_nanos(954);
        assert_eq!(
            m.next_deadline(NODE, SimTime::ZERO, &capacity, &pods),
            Some(crossing)
        );
        let oom = Action::OomKill {
            pod: PodId(1),
            container: "leaky".into(),
        };
        assert_eq!(m.on_deadline(NODE, crossing, &capacity, &pods), [oom]);
        assert!(
            m.on_deadline(NODE, crossing, &capacity, &pods).is_empty(),
            "one kill per container run"
        );
        // Were the killed run still counted, only the node threshold would remain (1Gi + 1 byte
        // at 824 s, tick 830 s), not the same OOM again.
        assert_eq!(
            m.next_deadline(NODE, crossing, &capacity, &pods),
            Some(SimTime::from_secs(830))
        );
        // Restarted 10 s later (CrashLoopBackOff): usage starts over.
        pods[0].started = crossing + SimDuration::from_secs(10);
        assert_eq!(
            m.next_deadline(NODE, crossing, &capacity, &pods),
            Some(pods[0].started + SimDuration::from_secs(56) + SimDuration::from_nanos(954))
        );
    }

    #[test]
    fn nothing_happens_without_usage() {
        let (config, capacity) = capacity();
        let mut m = PressureManager::new(config);
        m.start_node(NODE, SimTime::ZERO);
        let p = pod("idle", Some("100Mi"), Some("100Mi"));
        let pods = vec![running(1, &p, ResourceUsage::default())];
        assert_eq!(m.next_deadline(NODE, SimTime::ZERO, &capacity, &pods), None);
        assert_eq!(
            m.next_deadline(NodeId(9), SimTime::ZERO, &capacity, &pods),
            None
        );
    }

    #[test]
    fn disk_pressure_from_ephemeral_storage() {
        let config = EvictionConfig::default();
        let allocatable = crate::api::ResourceList {
            memory: GI,
            ephemeral_storage: 90 * GI,
            ..Default::default()
        };
        let capacity = NodeCapacity::from_allocatable(&allocatable, &config);
        let mut m = PressureManager::new(config);
        m.start_node(NODE, SimTime::ZERO);
        let p = pod("writer", None, None);
        let mut pods = vec![running(
            1,
            &p,
            ResourceUsage {
                ephemeral_storage: Some(UsageModel::Leak {
                    start: 0,
                    per_second: 100 * MI,
                }),
                ..ResourceUsage::default()
            },
        )];
        // imagefs shares the root filesystem, so its 15% threshold is met before nodefs' 10%.
        let log = run(&mut m, &capacity, &mut pods, SimTime::from_secs(3600));
        let (at, action) = log
            .iter()
            .find(|(_, a)| matches!(a, Action::Evict { .. }))
            .expect("evicted");
        let imagefs_bound = capacity.ephemeral_storage
            - (capacity.ephemeral_storage as f64 * 0.15f32 as f64) as i64;
        let crossing = imagefs_bound.div_euclid(100 * MI) + 1;
        assert_eq!(
            at.as_nanos().div_ceil(10_000_000_000) * 10,
            at.as_nanos() / 1_000_000_000
        );
        assert!(at.as_nanos() / 1_000_000_000 >= u64::try_from(crossing).expect("positive") - 10);
        let Action::Evict { message, .. } = action else {
            unreachable!()
        };
        assert!(
            message.starts_with(
                "The node was low on resource: ephemeral-storage. Threshold quantity: "
            ),
            "{message}"
        );
        assert!(log.iter().any(|(_, a)| *a
            == Action::SetPressure {
                node: NODE,
                memory: false,
                disk: true
            }));
    }

    #[test]
    fn pressure_node_events() {
        assert_eq!(
            pressure_events("n1", (false, false), (true, false)),
            [(
                "NodeHasInsufficientMemory",
                "Node n1 status is now: NodeHasInsufficientMemory".to_string()
            )]
        );
        assert_eq!(
            pressure_events("n1", (true, true), (false, false))
                .iter()
                .map(|(r, _)| *r)
                .collect::<Vec<_>>(),
            ["NodeHasSufficientMemory", "NodeHasNoDiskPressure"]
        );
    }
}
