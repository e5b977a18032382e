//! The kubelet's node-pressure eviction algorithms (upstream `pkg/kubelet/eviction`: `api/types.go`,
//! `helpers.go`, `defaults_linux.go`) and the pod QoS class (`pkg/apis/core/v1/helper/qos`), as
//! pure functions. The state that drives them over time is in [`super::pressure`].

use std::cmp::Ordering;

use sim_core::{SimDuration, SimTime};

use crate::api::pod::PodResources;
use crate::apiserver::admission::quota::{Amount, QuantityFormat};

/// Upstream `Reason`: the pod status reason and the event reason of an eviction.
pub const REASON_EVICTED: &str = "Evicted";
/// The node event recorded on each synchronize that finds a threshold met.
pub const REASON_EVICTION_THRESHOLD_MET: &str = "EvictionThresholdMet";
/// Upstream `immediateEvictionGracePeriodSeconds`: the grace period a pod evicted for a hard
/// threshold gets (soft thresholds use `evictionMaxPodGracePeriod`).
pub const IMMEDIATE_EVICTION_GRACE_PERIOD: SimDuration = SimDuration::from_secs(1);
/// Upstream `evictionMonitoringPeriod`: the eviction manager synchronizes every 10 s.
pub const MONITORING_INTERVAL: SimDuration = SimDuration::from_secs(10);
/// Upstream default `evictionPressureTransitionPeriod`: how long a pressure condition stays
/// after its threshold was last met.
pub const PRESSURE_TRANSITION_PERIOD: SimDuration = SimDuration::from_mins(5);
/// Upstream `scheduling.SystemCriticalPriority`: pods at or above it are never evicted
/// (`kubelettypes.IsCriticalPod`).
pub const SYSTEM_CRITICAL_PRIORITY: i32 = 2_000_000_000;

/// Upstream `evictionapi.Signal`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Signal {
    MemoryAvailable,
    AllocatableMemoryAvailable,
    NodeFsAvailable,
    NodeFsInodesFree,
    ImageFsAvailable,
    ImageFsInodesFree,
    PidAvailable,
}

/// The resource a signal reclaims (upstream `signalToResource`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resource {
    Memory,
    EphemeralStorage,
    Inodes,
    Pids,
}

impl Resource {
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Memory => "memory",
            Resource::EphemeralStorage => "ephemeral-storage",
            Resource::Inodes => "inodes",
            Resource::Pids => "pids",
        }
    }
}

/// The node conditions a signal sets (upstream `signalToNodeCondition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeCondition {
    MemoryPressure,
    DiskPressure,
    PidPressure,
}

impl NodeCondition {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeCondition::MemoryPressure => "MemoryPressure",
            NodeCondition::DiskPressure => "DiskPressure",
            NodeCondition::PidPressure => "PIDPressure",
        }
    }
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::MemoryAvailable => "memory.available",
            Signal::AllocatableMemoryAvailable => "allocatableMemory.available",
            Signal::NodeFsAvailable => "nodefs.available",
            Signal::NodeFsInodesFree => "nodefs.inodesFree",
            Signal::ImageFsAvailable => "imagefs.available",
            Signal::ImageFsInodesFree => "imagefs.inodesFree",
            Signal::PidAvailable => "pid.available",
        }
    }

    pub fn resource(self) -> Resource {
        match self {
            Signal::MemoryAvailable | Signal::AllocatableMemoryAvailable => Resource::Memory,
            Signal::NodeFsAvailable | Signal::ImageFsAvailable => Resource::EphemeralStorage,
            Signal::NodeFsInodesFree | Signal::ImageFsInodesFree => Resource::Inodes,
            Signal::PidAvailable => Resource::Pids,
        }
    }

    pub fn node_condition(self) -> NodeCondition {
        match self.resource() {
            Resource::Memory => NodeCondition::MemoryPressure,
            Resource::EphemeralStorage | Resource::Inodes => NodeCondition::DiskPressure,
            Resource::Pids => NodeCondition::PidPressure,
        }
    }

    fn is_memory(self) -> bool {
        matches!(
            self,
            Signal::MemoryAvailable | Signal::AllocatableMemoryAvailable
        )
    }
}

/// Upstream `ThresholdValue`: a quantity, or a fraction of capacity (upstream keeps it as a
/// `float32`, which decides the exact byte count of `10%`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ThresholdValue {
    Quantity(Amount),
    Percentage(f32),
}

/// Upstream `evictionapi.Threshold` (the operator is always `LessThan`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Threshold {
    pub signal: Signal,
    pub value: ThresholdValue,
    /// Zero for a hard threshold.
    pub grace_period: SimDuration,
    pub min_reclaim: Option<ThresholdValue>,
}

impl Threshold {
    pub fn hard(signal: Signal, value: ThresholdValue) -> Threshold {
        Threshold {
            signal,
            value,
            grace_period: SimDuration::ZERO,
            min_reclaim: None,
        }
    }

    /// Upstream `isHardEvictionThreshold`.
    pub fn is_hard(&self) -> bool {
        self.grace_period == SimDuration::ZERO
    }
}

/// Upstream `DefaultEvictionHard` (`defaults_linux.go`): `memory.available<100Mi`,
/// `nodefs.available<10%`, `nodefs.inodesFree<5%`, `imagefs.available<15%`. Upstream parses them
/// from a map (in no particular order); this order keeps runs reproducible.
pub fn default_eviction_hard() -> Vec<Threshold> {
    let mi100 = Amount::from_value(100 * 1024 * 1024, QuantityFormat::BinarySI);
    vec![
        Threshold::hard(Signal::MemoryAvailable, ThresholdValue::Quantity(mi100)),
        Threshold::hard(Signal::NodeFsAvailable, ThresholdValue::Percentage(0.1)),
        Threshold::hard(Signal::NodeFsInodesFree, ThresholdValue::Percentage(0.05)),
        Threshold::hard(Signal::ImageFsAvailable, ThresholdValue::Percentage(0.15)),
    ]
}

/// Upstream `GetThresholdQuantity`: the quantity, or `int64(float64(capacity) *
/// float64(percentage))` bytes.
pub fn threshold_quantity(value: ThresholdValue, capacity: i64) -> Amount {
    match value {
        ThresholdValue::Quantity(q) => q,
        ThresholdValue::Percentage(p) => {
            // Truncation toward zero is upstream's int64 conversion; the product of an i64
            // and a fraction in [0, 1] fits.
            #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
            let bytes = (capacity as f64 * f64::from(p)) as i64;
            Amount::from_value(bytes, QuantityFormat::BinarySI)
        }
    }
}

/// The node capacity a resource's allocatable implies, as upstream's
/// `allocatable = capacity - kubeReserved - systemReserved - hardEvictionThreshold` with no
/// reservations: the hard threshold on `signal` (memory.available for memory,
/// nodefs.available for ephemeral storage) is added back.
pub fn capacity_from_allocatable(
    allocatable: i64,
    thresholds: &[Threshold],
    signal: Signal,
) -> i64 {
    let Some(t) = thresholds
        .iter()
        .find(|t| t.signal == signal && t.is_hard())
    else {
        return allocatable;
    };
    match t.value {
        ThresholdValue::Quantity(q) => allocatable.saturating_add(q.value()),
        ThresholdValue::Percentage(p) => {
            if !(0.0..1.0).contains(&p) || allocatable <= 0 {
                return allocatable;
            }
            // The smallest capacity whose allocatable reaches `allocatable`; the estimate is
            // off by at most a few bytes from float rounding.
            let reserve = |c: i64| threshold_quantity(t.value, c).value();
            #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
            let mut c = (allocatable as f64 / (1.0 - f64::from(p))) as i64;
            c = c.saturating_sub(4).max(allocatable);
            while c < i64::MAX && c.saturating_sub(reserve(c)) < allocatable {
                c += 1;
            }
            c
        }
    }
}

/// Upstream `signalObservation`: what a signal measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalObservation {
    pub available: i64,
    pub capacity: i64,
}

pub type Observations = std::collections::BTreeMap<Signal, SignalObservation>;

/// Upstream `thresholdsMet`: the thresholds whose observed availability is below the threshold
/// (plus its minimum reclaim when `enforce_min_reclaim`, so a met threshold stays met until
/// that much more is free).
pub fn thresholds_met(
    thresholds: &[Threshold],
    observations: &Observations,
    enforce_min_reclaim: bool,
) -> Vec<Threshold> {
    let mut out = Vec::new();
    for t in thresholds {
        let Some(observed) = observations.get(&t.signal) else {
            continue;
        };
        let mut quantity = threshold_quantity(t.value, observed.capacity);
        if let Some(min) = t.min_reclaim.filter(|_| enforce_min_reclaim) {
            quantity = quantity.add(&threshold_quantity(min, observed.capacity));
        }
        let available = Amount::from_value(observed.available, QuantityFormat::BinarySI);
        if quantity.cmp_value(&available) == Ordering::Greater {
            out.push(*t);
        }
    }
    out
}

/// Upstream `mergeThresholds`: `a` plus what of `b` is not already in it.
pub fn merge_thresholds(a: &[Threshold], b: &[Threshold]) -> Vec<Threshold> {
    let mut out = a.to_vec();
    for t in b {
        if !out.contains(t) {
            out.push(*t);
        }
    }
    out
}

/// Upstream `thresholdsFirstObservedAt`: keeps the first time each met threshold was seen.
pub fn thresholds_first_observed_at(
    thresholds: &[Threshold],
    last: &[(Threshold, SimTime)],
    now: SimTime,
) -> Vec<(Threshold, SimTime)> {
    thresholds
        .iter()
        .map(|t| {
            let at = last.iter().find(|(l, _)| l == t).map_or(now, |(_, at)| *at);
            (*t, at)
        })
        .collect()
}

/// Upstream `thresholdsMetGracePeriod`: the thresholds met for at least their grace period.
pub fn thresholds_met_grace_period(
    observed_at: &[(Threshold, SimTime)],
    now: SimTime,
) -> Vec<Threshold> {
    observed_at
        .iter()
        .filter(|(t, at)| now.since(*at) >= t.grace_period)
        .map(|(t, _)| *t)
        .collect()
}

/// Upstream `nodeConditions`: the conditions the met thresholds set, each once.
pub fn node_conditions(thresholds: &[Threshold]) -> Vec<NodeCondition> {
    let mut out = Vec::new();
    for t in thresholds {
        let c = t.signal.node_condition();
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// Upstream `nodeConditionsLastObservedAt`: `now` for the conditions seen now, the old time for
/// the others.
pub fn node_conditions_last_observed_at(
    conditions: &[NodeCondition],
    last: &std::collections::BTreeMap<NodeCondition, SimTime>,
    now: SimTime,
) -> std::collections::BTreeMap<NodeCondition, SimTime> {
    let mut out = last.clone();
    for c in conditions {
        out.insert(*c, now);
    }
    out
}

/// Upstream `nodeConditionsObservedSince`: the conditions last seen less than `period` ago.
pub fn node_conditions_observed_since(
    observed_at: &std::collections::BTreeMap<NodeCondition, SimTime>,
    period: SimDuration,
    now: SimTime,
) -> Vec<NodeCondition> {
    observed_at
        .iter()
        .filter(|(_, at)| now.since(**at) < period)
        .map(|(c, _)| *c)
        .collect()
}

/// Upstream `byEvictionPriority`: memory thresholds first, thresholds without a resource to
/// reclaim last. Upstream's `sort.Sort` is not stable; this sort is, so equal thresholds keep
/// their configured order.
pub fn sort_by_eviction_priority(thresholds: &mut [Threshold]) {
    thresholds.sort_by_key(|t| !t.signal.is_memory());
}

/// Upstream `getReclaimableThreshold`: the first threshold whose resource can be reclaimed
/// (every signal kubesim knows has one).
pub fn reclaimable_threshold(thresholds: &[Threshold]) -> Option<(Threshold, Resource)> {
    thresholds.first().map(|t| (*t, t.signal.resource()))
}

/// What the ranking functions read of a pod: its priority, its effective requests and its
/// measured usage (`None` when the stats have no entry for it; upstream evicts such pods first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RankInput {
    pub priority: i32,
    pub memory_request: i64,
    pub ephemeral_storage_request: i64,
    pub memory_usage: Option<i64>,
    pub ephemeral_storage_usage: Option<i64>,
}

/// Upstream `cmpBool`: `true` sorts first.
fn cmp_bool(a: bool, b: bool) -> Ordering {
    b.cmp(&a)
}

/// Upstream `exceedMemoryRequests`: pods using more memory than they request first.
pub fn exceed_memory_requests(p1: &RankInput, p2: &RankInput) -> Ordering {
    match (p1.memory_usage, p2.memory_usage) {
        (Some(u1), Some(u2)) => cmp_bool(u1 > p1.memory_request, u2 > p2.memory_request),
        (u1, u2) => cmp_bool(u1.is_none(), u2.is_none()),
    }
}

/// Upstream `priority`: lower priority first.
pub fn priority(p1: &RankInput, p2: &RankInput) -> Ordering {
    p1.priority.cmp(&p2.priority)
}

/// Upstream `memory`: the largest usage above the request first.
pub fn memory(p1: &RankInput, p2: &RankInput) -> Ordering {
    match (p1.memory_usage, p2.memory_usage) {
        (Some(u1), Some(u2)) => {
            let over1 = i128::from(u1) - i128::from(p1.memory_request);
            let over2 = i128::from(u2) - i128::from(p2.memory_request);
            over2.cmp(&over1)
        }
        (u1, u2) => cmp_bool(u1.is_none(), u2.is_none()),
    }
}

/// Upstream `exceedDiskRequests` for ephemeral storage.
pub fn exceed_disk_requests(p1: &RankInput, p2: &RankInput) -> Ordering {
    match (p1.ephemeral_storage_usage, p2.ephemeral_storage_usage) {
        (Some(u1), Some(u2)) => cmp_bool(
            u1 > p1.ephemeral_storage_request,
            u2 > p2.ephemeral_storage_request,
        ),
        (u1, u2) => cmp_bool(u1.is_none(), u2.is_none()),
    }
}

/// Upstream `disk` for ephemeral storage: the largest usage above the request first.
pub fn disk(p1: &RankInput, p2: &RankInput) -> Ordering {
    match (p1.ephemeral_storage_usage, p2.ephemeral_storage_usage) {
        (Some(u1), Some(u2)) => {
            let over1 = i128::from(u1) - i128::from(p1.ephemeral_storage_request);
            let over2 = i128::from(u2) - i128::from(p2.ephemeral_storage_request);
            over2.cmp(&over1)
        }
        (u1, u2) => cmp_bool(u1.is_none(), u2.is_none()),
    }
}

type CmpFn = fn(&RankInput, &RankInput) -> Ordering;

/// Upstream `orderedBy(...).Sort`: the first comparison that is not a tie decides. Upstream
/// sorts unstably; this sort is stable, which is one of the orders upstream may produce.
pub fn ordered_by<T>(pods: &mut [T], view: impl Fn(&T) -> RankInput, cmps: &[CmpFn]) {
    pods.sort_by(|a, b| {
        let (a, b) = (view(a), view(b));
        cmps.iter()
            .map(|c| c(&a, &b))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
}

/// Upstream `rankMemoryPressure`: by usage above requests, then priority, then usage relative
/// to the request.
pub fn rank_memory_pressure<T>(pods: &mut [T], view: impl Fn(&T) -> RankInput) {
    ordered_by(pods, view, &[exceed_memory_requests, priority, memory]);
}

/// Upstream `rankDiskPressureFunc` for ephemeral storage (nodefs, and imagefs when it shares the
/// node's filesystem).
pub fn rank_disk_pressure<T>(pods: &mut [T], view: impl Fn(&T) -> RankInput) {
    ordered_by(pods, view, &[exceed_disk_requests, priority, disk]);
}

/// One container's line in an eviction message: name, usage and request of the reclaimed
/// resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerUsage {
    pub name: String,
    pub usage: i64,
    pub request: Amount,
}

/// Upstream `evictionMessage`: `The node was low on resource: memory. Threshold quantity:
/// 100Mi, available: 99Mi. Container app was using 180Mi, request is 100Mi, has larger
/// consumption of memory. ` (each sentence ends with a space, as upstream's).
pub fn eviction_message(
    resource: Resource,
    threshold: Option<(Amount, i64)>,
    containers: &[ContainerUsage],
) -> String {
    let mut message = format!("The node was low on resource: {}. ", resource.as_str());
    if let Some((quantity, available)) = threshold {
        let available = Amount::from_value(available, QuantityFormat::BinarySI);
        message.push_str(&format!(
            "Threshold quantity: {quantity}, available: {available}. "
        ));
    }
    for c in containers {
        if c.usage > c.request.value() {
            let usage = Amount::from_value(c.usage, QuantityFormat::BinarySI);
            message.push_str(&format!(
                "Container {} was using {usage}, request is {}, has larger consumption of {}. ",
                c.name,
                c.request,
                resource.as_str()
            ));
        }
    }
    message
}

/// Upstream `getThresholdMetInfo`: the first met threshold of `resource` that has an
/// observation, as (threshold quantity, available).
pub fn threshold_met_info(
    resource: Resource,
    thresholds: &[Threshold],
    observations: &Observations,
) -> Option<(Amount, i64)> {
    thresholds
        .iter()
        .filter(|t| t.signal.resource() == resource)
        .find_map(|t| {
            observations
                .get(&t.signal)
                .map(|o| (threshold_quantity(t.value, o.capacity), o.available))
        })
}

/// `v1.PodQOSClass`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum QosClass {
    BestEffort,
    Burstable,
    Guaranteed,
}

impl QosClass {
    pub fn as_str(self) -> &'static str {
        match self {
            QosClass::BestEffort => "BestEffort",
            QosClass::Burstable => "Burstable",
            QosClass::Guaranteed => "Guaranteed",
        }
    }
}

/// Upstream `ComputePodQOS` (without pod-level resources): BestEffort when no app or init
/// container requests or limits cpu or memory; Guaranteed when every container limits both
/// and the summed requests equal the summed limits; else Burstable.
pub fn pod_qos(resources: &PodResources) -> QosClass {
    const QOS_RESOURCES: [&str; 2] = ["cpu", "memory"];
    let mut requests: std::collections::BTreeMap<&str, i128> = Default::default();
    let mut limits: std::collections::BTreeMap<&str, i128> = Default::default();
    let mut guaranteed = true;
    for c in resources
        .containers
        .iter()
        .chain(&resources.init_containers)
    {
        for r in QOS_RESOURCES {
            if let Some(q) = c.requests.get(r).filter(|q| q.sign() == Ordering::Greater) {
                *requests.entry(r).or_default() += i128::from(q.milli_value());
            }
        }
        let mut found = 0;
        for r in QOS_RESOURCES {
            if let Some(q) = c.limits.get(r).filter(|q| q.sign() == Ordering::Greater) {
                found += 1;
                *limits.entry(r).or_default() += i128::from(q.milli_value());
            }
        }
        if found != QOS_RESOURCES.len() {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return QosClass::BestEffort;
    }
    if guaranteed
        && requests.iter().all(|(r, q)| limits.get(r) == Some(q))
        && requests.len() == limits.len()
    {
        return QosClass::Guaranteed;
    }
    QosClass::Burstable
}

/// Upstream eviction manager `Admit`: under memory pressure alone only BestEffort pods that do
/// not tolerate the memory-pressure taint are rejected; under any other pressure every pod is;
/// critical pods always get in. `Err` carries the rejection message (the pod fails with reason
/// `Evicted`).
pub fn admit(
    conditions: &[NodeCondition],
    qos: QosClass,
    priority: i32,
    tolerates_memory_pressure: bool,
) -> Result<(), String> {
    if conditions.is_empty() || priority >= SYSTEM_CRITICAL_PRIORITY {
        return Ok(());
    }
    if conditions == [NodeCondition::MemoryPressure]
        && (qos != QosClass::BestEffort || tolerates_memory_pressure)
    {
        return Ok(());
    }
    let names: Vec<&str> = conditions.iter().map(|c| c.as_str()).collect();
    Err(format!("The node had condition: [{}]. ", names.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::admission::quota::ContainerResources;

    const MI: i64 = 1024 * 1024;
    const GI: i64 = 1024 * MI;

    fn q(s: &str) -> Amount {
        Amount::parse(s).expect("test quantity")
    }

    fn mem_pod(priority: i32, request: i64, usage: i64) -> RankInput {
        RankInput {
            priority,
            memory_request: request,
            ephemeral_storage_request: 0,
            memory_usage: Some(usage),
            ephemeral_storage_usage: None,
        }
    }

    fn disk_pod(priority: i32, request: i64, usage: i64) -> RankInput {
        RankInput {
            priority,
            memory_request: 0,
            ephemeral_storage_request: request,
            memory_usage: None,
            ephemeral_storage_usage: Some(usage),
        }
    }

    fn names(pods: &[(&'static str, RankInput)]) -> Vec<&'static str> {
        pods.iter().map(|(n, _)| *n).collect()
    }

    // upstream pkg/kubelet/eviction/helpers_test.go TestOrderedByExceedsRequestMemory
    #[test]
    fn ordered_by_exceeds_request_memory() {
        let mut pods = vec![
            ("below-requests", mem_pod(-1, 200 * MI, 199 * MI)),
            ("exceeds-requests", mem_pod(1, 100 * MI, 101 * MI)),
        ];
        ordered_by(&mut pods, |p| p.1, &[exceed_memory_requests]);
        assert_eq!(names(&pods), ["exceeds-requests", "below-requests"]);
    }

    // upstream pkg/kubelet/eviction/helpers_test.go TestOrderedByExceedsRequestDisk
    #[test]
    fn ordered_by_exceeds_request_disk() {
        let mut pods = vec![
            ("below-requests", disk_pod(-1, 200 * MI, 199 * MI)),
            ("exceeds-requests", disk_pod(1, 100 * MI, 101 * MI)),
        ];
        ordered_by(&mut pods, |p| p.1, &[exceed_disk_requests]);
        assert_eq!(names(&pods), ["exceeds-requests", "below-requests"]);
    }

    // upstream pkg/kubelet/eviction/helpers_test.go TestOrderedByPriority
    #[test]
    fn ordered_by_priority() {
        let mut pods = vec![
            ("high-priority", mem_pod(12534, 200 * MI, 0)),
            ("medium-priority", mem_pod(1, 100 * MI, 0)),
            ("low-priority", mem_pod(-134, 0, 0)),
        ];
        ordered_by(&mut pods, |p| p.1, &[priority]);
        assert_eq!(
            names(&pods),
            ["low-priority", "medium-priority", "high-priority"]
        );
    }

    // upstream pkg/kubelet/eviction/helpers_test.go TestOrderedByMemory
    #[test]
    fn ordered_by_memory() {
        let mut pods = vec![
            ("best-effort-high", mem_pod(0, 0, 500 * MI)),
            ("best-effort-low", mem_pod(0, 0, 300 * MI)),
            ("burstable-high", mem_pod(0, 100 * MI, 800 * MI)),
            ("burstable-low", mem_pod(0, 100 * MI, 300 * MI)),
            ("guaranteed-high", mem_pod(0, GI, 800 * MI)),
            ("guaranteed-low", mem_pod(0, GI, 200 * MI)),
        ];
        ordered_by(&mut pods, |p| p.1, &[memory]);
        assert_eq!(
            names(&pods),
            [
                "burstable-high",
                "best-effort-high",
                "best-effort-low",
                "burstable-low",
                "guaranteed-high",
                "guaranteed-low"
            ]
        );
    }

    // upstream pkg/kubelet/eviction/helpers_test.go TestOrderedByPriorityMemory
    // (lowPriority < highPriority).
    #[test]
    fn ordered_by_priority_memory() {
        let (low, high) = (-1, 1);
        let mut pods = vec![
            (
                "below-requests-high-priority-low-usage",
                mem_pod(high, GI, 200 * MI),
            ),
            (
                "below-requests-high-priority-high-usage",
                mem_pod(high, GI, 800 * MI),
            ),
            (
                "below-requests-low-priority-low-usage",
                mem_pod(low, GI, 200 * MI),
            ),
            (
                "below-requests-low-priority-high-usage",
                mem_pod(low, GI, 800 * MI),
            ),
            (
                "above-requests-high-priority-low-usage",
                mem_pod(high, 100 * MI, 150 * MI),
            ),
            (
                "above-requests-high-priority-high-usage",
                mem_pod(high, 100 * MI, 600 * MI),
            ),
            (
                "above-requests-low-priority-low-usage",
                mem_pod(low, 0, 50 * MI),
            ),
            (
                "above-requests-low-priority-high-usage",
                mem_pod(low, 0, 500 * MI),
            ),
        ];
        rank_memory_pressure(&mut pods, |p| p.1);
        assert_eq!(
            names(&pods),
            [
                "above-requests-low-priority-high-usage",
                "above-requests-low-priority-low-usage",
                "above-requests-high-priority-high-usage",
                "above-requests-high-priority-low-usage",
                "below-requests-low-priority-high-usage",
                "below-requests-low-priority-low-usage",
                "below-requests-high-priority-high-usage",
                "below-requests-high-priority-low-usage",
            ]
        );
    }

    // upstream pkg/kubelet/eviction/helpers_test.go TestOrderedbyDisk (usage = rootfs + logs +
    // local volume, as the comments there sum it).
    #[test]
    fn ordered_by_disk() {
        let mut pods = vec![
            ("best-effort-high", disk_pod(0, 0, 300 * MI)),
            ("best-effort-low", disk_pod(0, 0, 100 * MI)),
            ("burstable-high", disk_pod(0, 100 * MI, 350 * MI)),
            ("burstable-low", disk_pod(0, 100 * MI, 110 * MI)),
            ("guaranteed-high", disk_pod(0, 400 * MI, 375 * MI)),
            ("guaranteed-low", disk_pod(0, 400 * MI, 120 * MI)),
        ];
        ordered_by(&mut pods, |p| p.1, &[disk]);
        assert_eq!(
            names(&pods),
            [
                "best-effort-high",
                "burstable-high",
                "best-effort-low",
                "burstable-low",
                "guaranteed-high",
                "guaranteed-low"
            ]
        );
    }

    // upstream pkg/kubelet/eviction/helpers_test.go TestOrderedByPriorityDisk
    #[test]
    fn ordered_by_priority_disk() {
        let (low, high) = (-1, 1);
        let mut pods = vec![
            (
                "below-requests-high-priority-low-usage",
                disk_pod(high, GI, 200 * MI),
            ),
            (
                "below-requests-high-priority-high-usage",
                disk_pod(high, GI, 800 * MI),
            ),
            (
                "below-requests-low-priority-low-usage",
                disk_pod(low, GI, 200 * MI),
            ),
            (
                "below-requests-low-priority-high-usage",
                disk_pod(low, GI, 800 * MI),
            ),
            (
                "above-requests-high-priority-low-usage",
                disk_pod(high, 100 * MI, 150 * MI),
            ),
            (
                "above-requests-high-priority-high-usage",
                disk_pod(high, 100 * MI, 600 * MI),
            ),
            (
                "above-requests-low-priority-low-usage",
                disk_pod(low, 0, 50 * MI),
            ),
            (
                "above-requests-low-priority-high-usage",
                disk_pod(low, 0, 500 * MI),
            ),
        ];
        rank_disk_pressure(&mut pods, |p| p.1);
        assert_eq!(
            names(&pods),
            [
                "above-requests-low-priority-high-usage",
                "above-requests-low-priority-low-usage",
                "above-requests-high-priority-high-usage",
                "above-requests-high-priority-low-usage",
                "below-requests-low-priority-high-usage",
                "below-requests-low-priority-low-usage",
                "below-requests-high-priority-high-usage",
                "below-requests-high-priority-low-usage",
            ]
        );
    }

    #[test]
    fn pods_without_stats_go_first() {
        let mut pods = vec![
            ("measured", mem_pod(0, 0, GI)),
            (
                "unmeasured",
                RankInput {
                    memory_usage: None,
                    ..mem_pod(0, 0, 0)
                },
            ),
        ];
        rank_memory_pressure(&mut pods, |p| p.1);
        assert_eq!(names(&pods), ["unmeasured", "measured"]);
    }

    // upstream pkg/kubelet/eviction/helpers_test.go TestSortByEvictionPriority
    #[test]
    fn sort_by_eviction_priority_puts_memory_first() {
        for first in [Signal::MemoryAvailable, Signal::AllocatableMemoryAvailable] {
            let t = |s| Threshold::hard(s, ThresholdValue::Percentage(0.1));
            let mut ts = vec![
                t(Signal::NodeFsAvailable),
                t(Signal::PidAvailable),
                t(first),
            ];
            sort_by_eviction_priority(&mut ts);
            let signals: Vec<Signal> = ts.iter().map(|t| t.signal).collect();
            assert_eq!(
                signals,
                [first, Signal::NodeFsAvailable, Signal::PidAvailable]
            );
        }
        let mut empty: Vec<Threshold> = Vec::new();
        sort_by_eviction_priority(&mut empty);
        assert!(empty.is_empty());
    }

    fn obs(signal: Signal, available: &str, capacity: &str) -> Observations {
        let cap = if capacity.is_empty() {
            0
        } else {
            q(capacity).value()
        };
        [(
            signal,
            SignalObservation {
                available: q(available).value(),
                capacity: cap,
            },
        )]
        .into_iter()
        .collect()
    }

    // upstream pkg/kubelet/eviction/helpers_test.go TestThresholdsMet
    #[test]
    fn thresholds_met_table() {
        let hard = Threshold {
            signal: Signal::MemoryAvailable,
            value: ThresholdValue::Quantity(q("1Gi")),
            grace_period: SimDuration::ZERO,
            min_reclaim: Some(ThresholdValue::Quantity(q("500Mi"))),
        };
        type Case = (
            &'static str,
            bool,
            Vec<Threshold>,
            Observations,
            Vec<Threshold>,
        );
        let cases: [Case; 5] = [
            ("empty", false, vec![], Observations::new(), vec![]),
            (
                "threshold-met-memory",
                false,
                vec![hard],
                obs(Signal::MemoryAvailable, "500Mi", ""),
                vec![hard],
            ),
            (
                "threshold-not-met",
                false,
                vec![hard],
                obs(Signal::MemoryAvailable, "2Gi", ""),
                vec![],
            ),
            (
                "threshold-met-with-min-reclaim",
                true,
                vec![hard],
                obs(Signal::MemoryAvailable, "1.05Gi", ""),
                vec![hard],
            ),
            (
                "threshold-not-met-with-min-reclaim",
                true,
                vec![hard],
                obs(Signal::MemoryAvailable, "2Gi", ""),
                vec![],
            ),
        ];
        for (name, enforce, thresholds, observations, want) in cases {
            assert_eq!(
                thresholds_met(&thresholds, &observations, enforce),
                want,
                "{name}"
            );
        }
    }

    // upstream pkg/kubelet/eviction/helpers_test.go TestPercentageThresholdsMet
    #[test]
    fn percentage_thresholds_met_table() {
        let specific = [
            Threshold {
                signal: Signal::MemoryAvailable,
                value: ThresholdValue::Percentage(0.2),
                grace_period: SimDuration::ZERO,
                min_reclaim: Some(ThresholdValue::Percentage(0.05)),
            },
            Threshold::hard(Signal::NodeFsAvailable, ThresholdValue::Percentage(0.3)),
        ];
        let both = |mem: &str, fs: &str| -> Observations {
            let mut o = obs(Signal::MemoryAvailable, mem, "1000Mi");
            o.extend(obs(Signal::NodeFsAvailable, fs, "1000Gi"));
            o
        };
        let cases: [(&str, bool, Observations, Vec<Threshold>); 6] = [
            ("BothMet", false, both("100Mi", "100Gi"), specific.to_vec()),
            ("NoneMet", false, both("300Mi", "400Gi"), vec![]),
            ("DiskMet", false, both("300Mi", "100Gi"), vec![specific[1]]),
            (
                "MemoryMet",
                false,
                both("100Mi", "400Gi"),
                vec![specific[0]],
            ),
            (
                "MemoryMetWithMinReclaim",
                true,
                obs(Signal::MemoryAvailable, "225Mi", "1000Mi"),
                vec![specific[0]],
            ),
            (
                "MemoryNotMetWithMinReclaim",
                true,
                obs(Signal::MemoryAvailable, "300Mi", "1000Mi"),
                vec![],
            ),
        ];
        for (name, enforce, observations, want) in cases {
            assert_eq!(
                thresholds_met(&specific, &observations, enforce),
                want,
                "{name}"
            );
        }
    }

    // upstream pkg/kubelet/eviction/helpers_test.go TestThresholdsFirstObservedAt and
    // TestThresholdsMetGracePeriod
    #[test]
    fn first_observed_and_grace_period() {
        let hard = Threshold::hard(Signal::MemoryAvailable, ThresholdValue::Quantity(q("1Gi")));
        let now = SimTime::from_secs(600);
        let old = SimTime::from_secs(540);
        assert!(thresholds_first_observed_at(&[], &[], now).is_empty());
        assert_eq!(
            thresholds_first_observed_at(&[hard], &[], now),
            [(hard, now)]
        );
        assert_eq!(
            thresholds_first_observed_at(&[hard], &[(hard, old)], now),
            [(hard, old)]
        );

        let soft = Threshold {
            value: ThresholdValue::Quantity(q("2Gi")),
            grace_period: SimDuration::from_mins(1),
            ..hard
        };
        let older = SimTime::from_secs(480);
        assert!(thresholds_met_grace_period(&[], now).is_empty());
        assert_eq!(thresholds_met_grace_period(&[(hard, now)], now), [hard]);
        assert!(thresholds_met_grace_period(&[(soft, now)], now).is_empty());
        assert_eq!(thresholds_met_grace_period(&[(soft, older)], now), [soft]);
    }

    // upstream pkg/kubelet/eviction/helpers_test.go TestNodeConditions,
    // TestNodeConditionsLastObservedAt, TestNodeConditionsObservedSince
    #[test]
    fn node_condition_tables() {
        assert!(node_conditions(&[]).is_empty());
        let t = Threshold::hard(Signal::MemoryAvailable, ThresholdValue::Percentage(0.1));
        assert_eq!(node_conditions(&[t]), [NodeCondition::MemoryPressure]);

        let now = SimTime::from_secs(600);
        let old = SimTime::from_secs(540);
        let mem = NodeCondition::MemoryPressure;
        let at = |t| [(mem, t)].into_iter().collect();
        assert_eq!(
            node_conditions_last_observed_at(&[mem], &Default::default(), now),
            at(now)
        );
        assert_eq!(
            node_conditions_last_observed_at(&[mem], &at(old), now),
            at(now)
        );
        assert_eq!(
            node_conditions_last_observed_at(&[], &at(old), now),
            at(old)
        );

        assert_eq!(
            node_conditions_observed_since(&at(old), SimDuration::from_mins(2), now),
            [mem]
        );
        assert!(
            node_conditions_observed_since(&at(old), SimDuration::from_secs(30), now).is_empty()
        );
    }

    #[test]
    fn threshold_quantities_and_capacity() {
        let ts = default_eviction_hard();
        assert_eq!(threshold_quantity(ts[0].value, 8 * GI).to_string(), "100Mi");
        // float32(0.1) is a little over a tenth: upstream's 10% of 10Gi is 1073741840 bytes.
        assert_eq!(
            threshold_quantity(ts[1].value, 10 * GI).value(),
            1_073_741_840
        );
        assert_eq!(
            capacity_from_allocatable(8 * GI, &ts, Signal::MemoryAvailable),
            8 * GI + 100 * MI
        );
        let alloc = 90 * GI;
        let cap = capacity_from_allocatable(alloc, &ts, Signal::NodeFsAvailable);
        let reserve = |c: i64| threshold_quantity(ts[1].value, c).value();
        assert!(cap - reserve(cap) >= alloc);
        assert!(cap - 1 - reserve(cap - 1) < alloc);
    }

    // Quantities print as upstream `Quantity.String()`: 1000 bytes in BinarySI is below 1024,
    // so it prints in DecimalSI, `1k`.
    #[test]
    fn eviction_message_text() {
        let containers = [ContainerUsage {
            name: "app".into(),
            usage: 180 * MI,
            request: q("100Mi"),
        }];
        assert_eq!(
            eviction_message(Resource::Memory, Some((q("100Mi"), 99 * MI)), &containers),
            "The node was low on resource: memory. Threshold quantity: 100Mi, available: 99Mi. Container app was using 180Mi, request is 100Mi, has larger consumption of memory. "
        );
        let below = [ContainerUsage {
            request: q("1Gi"),
            ..containers[0].clone()
        }];
        assert_eq!(
            eviction_message(Resource::EphemeralStorage, Some((q("1Gi"), 1000)), &below),
            "The node was low on resource: ephemeral-storage. Threshold quantity: 1Gi, available: 1k. "
        );
    }

    fn resources(containers: &[(&str, &str, &str, &str)]) -> PodResources {
        let list = |cpu: &str, mem: &str| {
            let mut l = crate::apiserver::admission::quota::ResourceList::new();
            if !cpu.is_empty() {
                l.insert("cpu".into(), q(cpu));
            }
            if !mem.is_empty() {
                l.insert("memory".into(), q(mem));
            }
            l
        };
        PodResources {
            containers: containers
                .iter()
                .enumerate()
                .map(|(i, (rc, rm, lc, lm))| ContainerResources {
                    name: format!("c{i}"),
                    requests: list(rc, rm),
                    limits: list(lc, lm),
                    restartable_init: false,
                })
                .collect(),
            ..PodResources::default()
        }
    }

    // Cases in the manner of upstream pkg/apis/core/v1/helper/qos/qos_test.go TestComputePodQOS
    // (requests, limits per container as cpu/memory).
    #[test]
    fn pod_qos_classes() {
        type Containers = &'static [(&'static str, &'static str, &'static str, &'static str)];
        let cases: [(&str, Containers, QosClass); 9] = [
            (
                "guaranteed",
                &[("100m", "100Mi", "100m", "100Mi")],
                QosClass::Guaranteed,
            ),
            (
                "guaranteed-guaranteed",
                &[
                    ("100m", "100Mi", "100m", "100Mi"),
                    ("100m", "100Mi", "100m", "100Mi"),
                ],
                QosClass::Guaranteed,
            ),
            ("best-effort", &[("", "", "", "")], QosClass::BestEffort),
            (
                "best-effort-best-effort",
                &[("", "", "", ""), ("", "", "", "")],
                QosClass::BestEffort,
            ),
            (
                "zero-requests",
                &[("0", "0", "0", "0")],
                QosClass::BestEffort,
            ),
            (
                "best-effort-guaranteed",
                &[("", "", "", ""), ("100m", "100Mi", "100m", "100Mi")],
                QosClass::Burstable,
            ),
            (
                "burstable-cpu-only",
                &[("1", "", "", "")],
                QosClass::Burstable,
            ),
            (
                "burstable-memory-below-limit",
                &[("10m", "100Mi", "10m", "200Mi")],
                QosClass::Burstable,
            ),
            // Limits only: the API server defaults requests from limits, so this is what a
            // limits-only container looks like here.
            (
                "limits-defaulted-into-requests",
                &[("1", "1Gi", "1", "1Gi")],
                QosClass::Guaranteed,
            ),
        ];
        for (name, containers, want) in cases {
            assert_eq!(pod_qos(&resources(containers)), want, "{name}");
        }
    }

    #[test]
    fn admission_under_pressure() {
        let mem = [NodeCondition::MemoryPressure];
        assert!(admit(&[], QosClass::BestEffort, 0, false).is_ok());
        assert!(admit(&mem, QosClass::Burstable, 0, false).is_ok());
        assert!(admit(&mem, QosClass::BestEffort, 0, true).is_ok());
        assert!(admit(&mem, QosClass::BestEffort, SYSTEM_CRITICAL_PRIORITY, false).is_ok());
        assert_eq!(
            admit(&mem, QosClass::BestEffort, 0, false),
            Err("The node had condition: [MemoryPressure]. ".into())
        );
        assert_eq!(
            admit(
                &[NodeCondition::DiskPressure],
                QosClass::Guaranteed,
                0,
                true
            ),
            Err("The node had condition: [DiskPressure]. ".into())
        );
    }
}
