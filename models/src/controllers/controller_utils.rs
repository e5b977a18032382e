//! Pieces of upstream `pkg/controller/controller_utils.go` (and the ReplicaSet controller's use of
//! them in `pkg/controller/replicaset/replica_set.go`) that the simulated controllers share:
//! the pod orderings used to pick pods to delete, controller expectations, slow-start batching,
//! and the constants that go with them.
//!
//! Upstream facts this module encodes (current kubernetes master):
//! - Feature `PodDeletionCost`: beta since 1.22, on by default, not locked. The comparison can
//!   be switched off with [`active_pods_with_ranks_cmp_gated`].
//! - Feature `LogarithmicScaleDown`: GA since 1.31 and locked to `true`, so ready and creation
//!   times are always compared in log2 buckets relative to now; there is no switch for it.
//! - `ExpectationsTimeout` = 5 minutes, compared strictly (`since(timestamp) > timeout`).
//! - ReplicaSet: `BurstReplicas` = 500, `SlowStartInitialBatchSize` = 1, and
//!   kube-controller-manager's `--concurrent-replicaset-syncs` defaults to 5.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use sim_core::{SimDuration, SimTime};

use crate::api::PodPhase;

/// Upstream `BurstReplicas` (ReplicaSet and ReplicationController): at most this many pods are
/// created or deleted in one sync.
pub const BURST_REPLICAS: i32 = 500;

/// Upstream `SlowStartInitialBatchSize`: the first batch of [`slow_start_batch`] creates this
/// many pods.
pub const SLOW_START_INITIAL_BATCH_SIZE: i32 = 1;

/// Upstream `ExpectationsTimeout`: expectations older than this count as satisfied, so a
/// controller that missed a watch event is not stuck forever.
pub const EXPECTATIONS_TIMEOUT: SimDuration = SimDuration::from_mins(5);

/// kube-controller-manager default for `--concurrent-replicaset-syncs` (`ConcurrentRSSyncs`):
/// how many ReplicaSet workers drain the work queue.
pub const CONCURRENT_REPLICASET_SYNCS: i32 = 5;

/// Upstream `core.PodDeletionCost` annotation key.
pub const POD_DELETION_COST_ANNOTATION: &str = "controller.kubernetes.io/pod-deletion-cost";

/// Upstream `GetDeletionCostFromPodAnnotations`, errors mapped to 0 as every caller does: the
/// annotation must be a base-10 `int32` without a plus sign or leading zeros ("0" itself is
/// fine, "-5" is fine, "+5" and "05" are not).
pub fn deletion_cost_from_annotation(value: Option<&str>) -> i32 {
    let Some(value) = value else {
        return 0;
    };
    let first_ok = match value.as_bytes().first() {
        Some(b'-') | Some(b'1'..=b'9') => true,
        Some(b'0') => value == "0",
        _ => false,
    };
    if !first_ok {
        return 0;
    }
    value.parse::<i32>().unwrap_or(0)
}

/// What upstream's pod orderings look at, for one pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodRank {
    /// `spec.nodeName` is set.
    pub assigned: bool,
    /// Upstream also has phase `Unknown`, ranked between Pending and Running; the simulator's
    /// [`PodPhase`] has no such phase, so it never arises here.
    pub phase: PodPhase,
    /// The `Ready` condition is `True`.
    pub ready: bool,
    /// `lastTransitionTime` of the `Ready` condition; `None` is upstream's zero time (unset),
    /// which sorts before any set time. Only looked at when `ready`.
    pub ready_since: Option<SimTime>,
    /// `controller.kubernetes.io/pod-deletion-cost` (see [`deletion_cost_from_annotation`]).
    pub deletion_cost: i32,
    /// Number of active related pods on the same node (see
    /// [`ranks_by_related_pods_on_same_node`]); only used by the ranked ordering.
    pub rank: i32,
    /// Highest restart count of the pod's containers.
    pub restarts: i32,
    pub created: SimTime,
    /// Stands in for the pod UID: upstream's tie-break inside a log2 bucket, and the final
    /// tie-break here so that sorting is deterministic.
    pub id: u32,
}

/// Upstream `podPhaseToOrdinal`: Pending 0, (Unknown 1,) Running 2. Succeeded and Failed are
/// not in the map, so Go reads 0 for them (never matters for active pods).
fn phase_ordinal(p: &PodRank) -> u8 {
    match p.phase {
        PodPhase::Running => 2,
        PodPhase::Pending | PodPhase::Succeeded | PodPhase::Failed => 0,
    }
}

/// Rules 1–3, shared by both orderings: unassigned < assigned, Pending < Unknown < Running,
/// not ready < ready.
fn cmp_assigned_phase_ready(a: &PodRank, b: &PodRank) -> Ordering {
    a.assigned
        .cmp(&b.assigned)
        .then_with(|| phase_ordinal(a).cmp(&phase_ordinal(b)))
        .then_with(|| a.ready.cmp(&b.ready))
}

/// Upstream `afterOrZero(t1, t2)` as an ordering: an unset time first, otherwise the later
/// time first.
fn after_or_zero(a: Option<SimTime>, b: Option<SimTime>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => y.cmp(&x),
    }
}

/// One side of upstream `logarithmicRankDiff`: `floor(log2(now - t))` in nanoseconds, or -1 when
/// `t` is not before `now`. Upstream computes `int64(math.Log2(float64(d)))`; the exact integer
/// log here differs from it only for durations within a few nanoseconds below a power of two of
/// at least 2^48 ns (about 3.3 days), where float64 rounding carries Go's result up a bucket.
fn log2_age(t: SimTime, now: SimTime) -> i64 {
    let d = now.since(t).as_nanos();
    if d == 0 { -1 } else { i64::from(d.ilog2()) }
}

/// Upstream's LogarithmicScaleDown comparison of two different set times: the younger log2
/// bucket first; within a bucket the lower UID (`id`) first.
fn cmp_log_scaled(a: SimTime, b: SimTime, now: SimTime, a_id: u32, b_id: u32) -> Ordering {
    log2_age(a, now)
        .cmp(&log2_age(b, now))
        .then(a_id.cmp(&b_id))
}

/// Upstream `ActivePods.Less` as an ordering (Less = preferred for deletion = sorts first):
/// 1. unassigned < assigned; 2. Pending < Unknown < Running; 3. not ready < ready;
/// 4. if both ready, unset ready time < later ready time < earlier;
/// 5. more restarts < fewer; 6. newer < older creation; then `id` for determinism.
///
/// This is a total order. `rank` and `deletion_cost` are ignored.
pub fn active_pods_cmp(a: &PodRank, b: &PodRank) -> Ordering {
    cmp_assigned_phase_ready(a, b)
        .then_with(|| {
            if a.ready && b.ready {
                after_or_zero(a.ready_since, b.ready_since)
            } else {
                Ordering::Equal
            }
        })
        .then_with(|| b.restarts.cmp(&a.restarts))
        .then_with(|| b.created.cmp(&a.created))
        .then_with(|| a.id.cmp(&b.id))
}

/// Upstream `ActivePodsWithRanks.Less` (what `getPodsToDelete` sorts by), with the default
/// feature gates: see [`active_pods_with_ranks_cmp_gated`].
pub fn active_pods_with_ranks_cmp(a: &PodRank, b: &PodRank, now: SimTime) -> Ordering {
    active_pods_with_ranks_cmp_gated(a, b, now, true)
}

/// Upstream `ActivePodsWithRanks.Less` as an ordering (Less = deleted first), `Now` = `now`:
/// 1. unassigned < assigned;
/// 2. Pending < Unknown < Running;
/// 3. not ready < ready;
/// 4. lower `deletion_cost` < higher (only if `pod_deletion_cost_enabled`, upstream's beta
///    `PodDeletionCost` gate, on by default);
/// 5. higher `rank` (more co-located related pods) < lower;
/// 6. if both ready with different ready times: an unset time first; otherwise the younger
///    log2 bucket of `now - ready_since` first, and within one bucket the lower `id` (upstream:
///    UID) first, *without* looking at the later rules;
/// 7. more restarts < fewer;
/// 8. different creation times: the younger log2 bucket of `now - created` first, within a
///    bucket the lower `id`;
///
/// then `id` (upstream: "equal"). Creation times are always set here, so upstream's zero
/// creation-time case does not arise.
///
/// Like upstream's `Less`, this is not always transitive: rule 6 orders pods whose ready times
/// differ within one bucket by `id`, while pods with identical ready times fall through to
/// rules 7–8. Sort with [`sort_active_pods_with_ranks`] (which tolerates that), not
/// `slice::sort_by`, which may panic on an inconsistent order.
pub fn active_pods_with_ranks_cmp_gated(
    a: &PodRank,
    b: &PodRank,
    now: SimTime,
    pod_deletion_cost_enabled: bool,
) -> Ordering {
    let by_rules_1_to_5 = cmp_assigned_phase_ready(a, b)
        .then_with(|| {
            if pod_deletion_cost_enabled {
                a.deletion_cost.cmp(&b.deletion_cost)
            } else {
                Ordering::Equal
            }
        })
        .then_with(|| b.rank.cmp(&a.rank));
    if by_rules_1_to_5 != Ordering::Equal {
        return by_rules_1_to_5;
    }
    if a.ready && b.ready && a.ready_since != b.ready_since {
        return match (a.ready_since, b.ready_since) {
            (Some(x), Some(y)) => cmp_log_scaled(x, y, now, a.id, b.id),
            (x, y) => after_or_zero(x, y),
        };
    }
    if a.restarts != b.restarts {
        return b.restarts.cmp(&a.restarts);
    }
    if a.created != b.created {
        return cmp_log_scaled(a.created, b.created, now, a.id, b.id);
    }
    a.id.cmp(&b.id)
}

/// A stable bottom-up merge sort that gives a deterministic result (and never panics) even
/// when `cmp` is not a consistent total order.
fn merge_sort_by<T: Copy>(items: &mut [T], cmp: impl Fn(&T, &T) -> Ordering) {
    let n = items.len();
    let mut src = items.to_vec();
    let mut dst = items.to_vec();
    let mut width = 1;
    while width < n {
        let mut start = 0;
        while start < n {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut i, mut j, mut k) = (start, mid, start);
            while i < mid && j < end {
                if cmp(&src[j], &src[i]) == Ordering::Less {
                    dst[k] = src[j];
                    j += 1;
                } else {
                    dst[k] = src[i];
                    i += 1;
                }
                k += 1;
            }
            let rest_left = mid - i;
            dst[k..k + rest_left].copy_from_slice(&src[i..mid]);
            k += rest_left;
            dst[k..end].copy_from_slice(&src[j..end]);
            start = end;
        }
        std::mem::swap(&mut src, &mut dst);
        width *= 2;
    }
    items.copy_from_slice(&src);
}

/// Sorts by [`active_pods_cmp`] (upstream `sort.Sort(ActivePods(pods))`).
pub fn sort_active_pods(pods: &mut [PodRank]) {
    merge_sort_by(pods, active_pods_cmp);
}

/// Sorts by [`active_pods_with_ranks_cmp`] (upstream `sort.Sort(ActivePodsWithRanks{...})`),
/// deletion candidates first.
pub fn sort_active_pods_with_ranks(pods: &mut [PodRank], now: SimTime) {
    merge_sort_by(pods, |a, b| active_pods_with_ranks_cmp(a, b, now));
}

/// Upstream `getPodsRankedByRelatedPodsOnSameNode`'s ranks: for each pod (by its node, `None`
/// when unassigned) the number of *active* related pods on the same node, given the nodes of
/// the active related pods (the ReplicaSet's own pods and those of its sibling ReplicaSets
/// under the same owner). Unassigned pods count together, as upstream's empty node name does.
pub fn ranks_by_related_pods_on_same_node<N: Ord>(
    pod_nodes: &[Option<N>],
    active_related_pod_nodes: &[Option<N>],
) -> Vec<i32> {
    let mut per_node: BTreeMap<Option<&N>, i32> = BTreeMap::new();
    for node in active_related_pod_nodes {
        *per_node.entry(node.as_ref()).or_insert(0) += 1;
    }
    pod_nodes
        .iter()
        .map(|node| per_node.get(&node.as_ref()).copied().unwrap_or(0))
        .collect()
}

/// Upstream `getPodsToDelete`: the ids of the `diff` pods to delete. When every pod goes, the
/// given order is kept (upstream skips the sort); otherwise the first `diff` after
/// [`sort_active_pods_with_ranks`].
pub fn pods_to_delete(pods: &[PodRank], diff: usize, now: SimTime) -> Vec<u32> {
    if diff >= pods.len() {
        return pods.iter().map(|p| p.id).collect();
    }
    let mut sorted = pods.to_vec();
    sort_active_pods_with_ranks(&mut sorted, now);
    sorted.iter().take(diff).map(|p| p.id).collect()
}

/// The batch sizes upstream `slowStartBatch(count, initialBatchSize, fn)` runs when every call
/// succeeds: `min(count, initial)`, then doubling, capped by what remains.
pub fn slow_start_batch_sizes(count: i32, initial_batch_size: i32) -> Vec<i32> {
    let mut sizes = Vec::new();
    let mut remaining = count;
    let mut batch = remaining.min(initial_batch_size);
    while batch > 0 {
        sizes.push(batch);
        remaining -= batch;
        batch = batch.saturating_mul(2).min(remaining);
    }
    sizes
}

/// Upstream `slowStartBatch`: calls `attempt` up to `count` times in growing batches; a batch
/// with any failure is completed (upstream runs it in parallel) and then no further batch is
/// started. Returns the number of successful calls (`< count` exactly when something failed).
pub fn slow_start_batch(
    count: i32,
    initial_batch_size: i32,
    mut attempt: impl FnMut() -> bool,
) -> i32 {
    let mut successes = 0;
    for batch in slow_start_batch_sizes(count, initial_batch_size) {
        let ok = (0..batch).filter(|_| attempt()).count();
        let ok = i32::try_from(ok).unwrap_or(i32::MAX);
        successes += ok;
        if ok < batch {
            break;
        }
    }
    successes
}

/// Upstream `ControlleeExpectations`: creations and deletions a controller still waits to
/// observe, and when it set them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlleeExpectations {
    pub add: i64,
    pub del: i64,
    pub timestamp: SimTime,
}

impl ControlleeExpectations {
    /// Upstream `Fulfilled`: nothing left to observe (counts may go negative).
    pub fn fulfilled(&self) -> bool {
        self.add <= 0 && self.del <= 0
    }

    /// Upstream `isExpired`: strictly more than [`EXPECTATIONS_TIMEOUT`] since they were set.
    pub fn is_expired(&self, now: SimTime) -> bool {
        now.since(self.timestamp) > EXPECTATIONS_TIMEOUT
    }
}

/// Upstream `ControllerExpectations`, keyed by the controller's id (upstream: its
/// `namespace/name` key). Once set, expectations are only lowered by observations; a controller
/// does not sync until they are fulfilled or have expired.
#[derive(Clone, Debug, Default)]
pub struct ControllerExpectations {
    records: BTreeMap<u32, ControlleeExpectations>,
}

impl ControllerExpectations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Upstream `GetExpectations`.
    pub fn get_expectations(&self, key: u32) -> Option<ControlleeExpectations> {
        self.records.get(&key).copied()
    }

    /// Upstream `SatisfiedExpectations`: true if there is no record, or it is fulfilled, or it
    /// has expired.
    pub fn satisfied_expectations(&self, key: u32, now: SimTime) -> bool {
        match self.records.get(&key) {
            Some(exp) => exp.fulfilled() || exp.is_expired(now),
            None => true,
        }
    }

    /// Upstream `DeleteExpectations`.
    pub fn delete_expectations(&mut self, key: u32) {
        self.records.remove(&key);
    }

    /// Upstream `SetExpectations`: replaces any existing record, stamped `now`.
    pub fn set_expectations(&mut self, key: u32, add: i64, del: i64, now: SimTime) {
        self.records.insert(
            key,
            ControlleeExpectations {
                add,
                del,
                timestamp: now,
            },
        );
    }

    /// Upstream `ExpectCreations` = `SetExpectations(key, adds, 0)`.
    pub fn expect_creations(&mut self, key: u32, adds: i64, now: SimTime) {
        self.set_expectations(key, adds, 0, now);
    }

    /// Upstream `ExpectDeletions` = `SetExpectations(key, 0, dels)`.
    pub fn expect_deletions(&mut self, key: u32, dels: i64, now: SimTime) {
        self.set_expectations(key, 0, dels, now);
    }

    /// Upstream `LowerExpectations` (no-op without a record; the timestamp is unchanged).
    pub fn lower_expectations(&mut self, key: u32, add: i64, del: i64) {
        if let Some(exp) = self.records.get_mut(&key) {
            exp.add = exp.add.saturating_sub(add);
            exp.del = exp.del.saturating_sub(del);
        }
    }

    /// Upstream `RaiseExpectations` (no-op without a record; the timestamp is unchanged).
    pub fn raise_expectations(&mut self, key: u32, add: i64, del: i64) {
        if let Some(exp) = self.records.get_mut(&key) {
            exp.add = exp.add.saturating_add(add);
            exp.del = exp.del.saturating_add(del);
        }
    }

    /// Upstream `CreationObserved`: one expected creation seen (or given up on).
    pub fn creation_observed(&mut self, key: u32) {
        self.lower_expectations(key, 1, 0);
    }

    /// Upstream `DeletionObserved`: one expected deletion seen (or given up on).
    pub fn deletion_observed(&mut self, key: u32) {
        self.lower_expectations(key, 0, 1);
    }
}

/// Upstream `UIDTrackingControllerExpectations`, which the ReplicaSet controller uses: deletions
/// are expected for specific pods, and a pod's deletion is counted once however many times it
/// is observed (an update setting `deletionTimestamp`, then the delete itself).
#[derive(Clone, Debug, Default)]
pub struct UidTrackingExpectations {
    expectations: ControllerExpectations,
    uids: BTreeMap<u32, BTreeSet<u32>>,
}

impl UidTrackingExpectations {
    pub fn new() -> Self {
        Self::default()
    }

    /// The plain expectations underneath (creations go through these directly).
    pub fn expectations(&self) -> &ControllerExpectations {
        &self.expectations
    }

    pub fn expectations_mut(&mut self) -> &mut ControllerExpectations {
        &mut self.expectations
    }

    /// Upstream `GetUIDs`: the pods whose deletion `key` still waits for.
    pub fn get_uids(&self, key: u32) -> Option<&BTreeSet<u32>> {
        self.uids.get(&key)
    }

    /// Upstream `ExpectDeletions(rcKey, deletedKeys)`: replaces the expected set and expects as
    /// many deletions as there are distinct pods.
    pub fn expect_deletions(&mut self, key: u32, pods: &[u32], now: SimTime) {
        let set: BTreeSet<u32> = pods.iter().copied().collect();
        let n = i64::try_from(set.len()).unwrap_or(i64::MAX);
        self.uids.insert(key, set);
        self.expectations.expect_deletions(key, n, now);
    }

    /// Upstream `DeletionObserved(rcKey, deleteKey)`: lowers the deletion count only the first
    /// time an expected pod is observed.
    pub fn deletion_observed(&mut self, key: u32, pod: u32) {
        if let Some(set) = self.uids.get_mut(&key)
            && set.remove(&pod)
        {
            self.expectations.deletion_observed(key);
        }
    }

    pub fn expect_creations(&mut self, key: u32, adds: i64, now: SimTime) {
        self.expectations.expect_creations(key, adds, now);
    }

    pub fn creation_observed(&mut self, key: u32) {
        self.expectations.creation_observed(key);
    }

    pub fn satisfied_expectations(&self, key: u32, now: SimTime) -> bool {
        self.expectations.satisfied_expectations(key, now)
    }

    /// Upstream `DeleteExpectations`: drops both the counts and the expected pods.
    pub fn delete_expectations(&mut self, key: u32) {
        self.expectations.delete_expectations(key);
        self.uids.remove(&key);
    }
}

/// Transcribed from upstream `pkg/controller/controller_utils_test.go` (TestSortingActivePods,
/// TestSortingActivePodsWithRanks).
#[cfg(test)]
mod sorting_tests {
    use super::*;

    fn now() -> SimTime {
        SimTime::ZERO + SimDuration::from_days(100)
    }

    fn ago(d: SimDuration) -> SimTime {
        SimTime::from_nanos(now().as_nanos() - d.as_nanos())
    }

    fn one_month_ago() -> SimTime {
        ago(SimDuration::from_days(30))
    }

    fn base(id: u32) -> PodRank {
        PodRank {
            assigned: true,
            phase: PodPhase::Running,
            ready: false,
            ready_since: None,
            deletion_cost: 0,
            rank: 0,
            restarts: 0,
            created: SimTime::ZERO,
            id,
        }
    }

    #[test]
    fn sorting_active_pods() {
        let then = one_month_ago();
        let ready = |id, since: Option<SimTime>, restarts, created| PodRank {
            ready: true,
            ready_since: since,
            restarts,
            created,
            ..base(id)
        };
        let want = vec![
            // unscheduled
            PodRank {
                assigned: false,
                phase: PodPhase::Pending,
                ..base(1)
            },
            // scheduledButPending
            PodRank {
                phase: PodPhase::Pending,
                ..base(2)
            },
            // (upstream's unknownPhase pod here: PodPhase has no Unknown)
            // runningButNotReady
            base(4),
            // runningNoLastTransitionTime
            ready(5, None, 3, SimTime::ZERO),
            // runningWithLastTransitionTime
            ready(6, Some(now()), 3, SimTime::ZERO),
            // runningLongerTime
            ready(7, Some(then), 3, SimTime::ZERO),
            // lowerContainerRestartCount
            ready(8, Some(then), 2, now()),
            // oldest
            ready(9, Some(then), 2, then),
        ];
        // Upstream shuffles 20 times; here every rotation of the list and of its reverse.
        for reversed in [false, true] {
            for shift in 0..want.len() {
                let mut pods = want.clone();
                if reversed {
                    pods.reverse();
                }
                pods.rotate_left(shift);
                sort_active_pods(&mut pods);
                assert_eq!(pods, want, "reversed {reversed}, shift {shift}");
                let mut pods2 = pods.clone();
                pods2.rotate_left(shift);
                pods2.sort_by(active_pods_cmp);
                assert_eq!(pods2, want);
            }
        }
    }

    /// The pods of upstream TestSortingActivePodsWithRanks, less `unknownPhasePod` (PodPhase has
    /// no Unknown). Upstream's test pods have no UID, so they all share id 0 here.
    struct Fixture {
        unscheduled: PodRank,
        scheduled_pending: PodRank,
        running_not_ready: PodRank,
        running_ready_no_last_transition_time: PodRank,
        running_ready_now: PodRank,
        running_ready_then: PodRank,
        running_ready_now_high_restarts: PodRank,
        running_ready_now_created_then: PodRank,
        low_pod_deletion_cost: PodRank,
        high_pod_deletion_cost: PodRank,
        unscheduled_5_hours: PodRank,
        unscheduled_8_hours: PodRank,
        ready_2_hours: PodRank,
        ready_5_hours: PodRank,
        ready_8_hours: PodRank,
    }

    #[allow(clippy::too_many_arguments)]
    fn pod(
        assigned: bool,
        phase: PodPhase,
        ready: bool,
        restarts: i32,
        ready_since: Option<SimTime>,
        created: Option<SimTime>,
        deletion_cost: i32,
    ) -> PodRank {
        PodRank {
            assigned,
            phase,
            ready,
            ready_since,
            deletion_cost,
            rank: 0,
            restarts,
            // Upstream's zero creation time: the simulator always has one; pick the start.
            created: created.unwrap_or(SimTime::ZERO),
            id: 0,
        }
    }

    fn fixture() -> Fixture {
        use PodPhase::{Pending, Running};
        let now = Some(now());
        let then_1_month = Some(one_month_ago());
        let then_2_hours = Some(ago(SimDuration::from_hours(2)));
        let then_5_hours = Some(ago(SimDuration::from_hours(5)));
        let then_8_hours = Some(ago(SimDuration::from_hours(8)));
        Fixture {
            unscheduled: pod(false, Pending, false, 0, None, None, 0),
            scheduled_pending: pod(true, Pending, false, 0, None, None, 0),
            running_not_ready: pod(true, Running, false, 0, None, None, 0),
            running_ready_no_last_transition_time: pod(true, Running, true, 0, None, None, 0),
            running_ready_now: pod(true, Running, true, 0, now, now, 0),
            running_ready_then: pod(true, Running, true, 0, then_1_month, then_1_month, 0),
            running_ready_now_high_restarts: pod(true, Running, true, 9001, now, now, 0),
            running_ready_now_created_then: pod(true, Running, true, 0, now, then_1_month, 0),
            low_pod_deletion_cost: pod(true, Running, true, 0, now, then_1_month, 10),
            high_pod_deletion_cost: pod(true, Running, true, 0, now, then_1_month, 100),
            unscheduled_5_hours: pod(false, Pending, false, 0, then_5_hours, then_5_hours, 0),
            unscheduled_8_hours: pod(false, Pending, false, 0, then_8_hours, then_8_hours, 0),
            ready_2_hours: pod(false, Running, true, 0, then_2_hours, then_1_month, 0),
            ready_5_hours: pod(false, Running, true, 0, then_5_hours, then_1_month, 0),
            ready_8_hours: pod(false, Running, true, 0, then_8_hours, then_1_month, 0),
        }
    }

    fn with_rank(p: PodRank, rank: i32) -> PodRank {
        PodRank { rank, ..p }
    }

    #[test]
    fn sorting_active_pods_with_ranks_equality() {
        let f = fixture();
        let pairs = [
            (f.unscheduled, f.unscheduled),
            (f.scheduled_pending, f.scheduled_pending),
            (f.running_not_ready, f.running_not_ready),
            (
                f.running_ready_now_created_then,
                f.running_ready_now_created_then,
            ),
            (f.running_ready_now, f.running_ready_now),
            (f.running_ready_then, f.running_ready_then),
            (
                f.running_ready_now_high_restarts,
                f.running_ready_now_high_restarts,
            ),
            (
                f.running_ready_now_created_then,
                f.running_ready_now_created_then,
            ),
            // Same log2 bucket of creation time (and same UID).
            (f.unscheduled_5_hours, f.unscheduled_8_hours),
            // Same log2 bucket of ready time.
            (f.ready_5_hours, f.ready_8_hours),
        ];
        for (i, (p1, p2)) in pairs.into_iter().enumerate() {
            let (p1, p2) = (with_rank(p1, 1), with_rank(p2, 1));
            assert_eq!(
                active_pods_with_ranks_cmp(&p1, &p2, now()),
                Ordering::Equal,
                "equality test {i}"
            );
            assert_eq!(
                active_pods_with_ranks_cmp(&p2, &p1, now()),
                Ordering::Equal,
                "equality test {i} reversed"
            );
        }
    }

    #[test]
    fn sorting_active_pods_with_ranks_inequality() {
        let f = fixture();
        // (lesser, lesser rank, greater, greater rank, PodDeletionCost enabled)
        let cases = [
            (f.unscheduled, 1, f.scheduled_pending, 2, true),
            (f.unscheduled, 2, f.scheduled_pending, 1, true),
            // Upstream: scheduledPending < unknownPhase < runningNotReady, whatever the ranks.
            (f.scheduled_pending, 1, f.running_not_ready, 2, true),
            (
                f.running_not_ready,
                1,
                f.running_ready_no_last_transition_time,
                1,
                true,
            ),
            (
                f.running_ready_no_last_transition_time,
                1,
                f.running_ready_now,
                1,
                true,
            ),
            (
                f.running_ready_now,
                2,
                f.running_ready_no_last_transition_time,
                1,
                true,
            ),
            (f.running_ready_now, 1, f.running_ready_then, 1, true),
            (f.running_ready_now, 2, f.running_ready_then, 1, true),
            (
                f.running_ready_now_high_restarts,
                1,
                f.running_ready_now,
                1,
                true,
            ),
            (
                f.running_ready_now,
                2,
                f.running_ready_now_high_restarts,
                1,
                true,
            ),
            (
                f.running_ready_now,
                1,
                f.running_ready_now_created_then,
                1,
                true,
            ),
            (
                f.running_ready_now_created_then,
                2,
                f.running_ready_now,
                1,
                true,
            ),
            (
                f.low_pod_deletion_cost,
                2,
                f.high_pod_deletion_cost,
                1,
                true,
            ),
            (
                f.high_pod_deletion_cost,
                2,
                f.low_pod_deletion_cost,
                1,
                false,
            ),
            (f.ready_2_hours, 1, f.ready_5_hours, 1, true),
        ];
        for (i, (lesser, lr, greater, gr, cost_gate)) in cases.into_iter().enumerate() {
            let (a, b) = (with_rank(lesser, lr), with_rank(greater, gr));
            assert_eq!(
                active_pods_with_ranks_cmp_gated(&a, &b, now(), cost_gate),
                Ordering::Less,
                "inequality test {i}"
            );
            assert_eq!(
                active_pods_with_ranks_cmp_gated(&b, &a, now(), cost_gate),
                Ordering::Greater,
                "inequality test {i} reversed"
            );
            if cost_gate {
                assert_eq!(active_pods_with_ranks_cmp(&a, &b, now()), Ordering::Less);
            }
        }
    }

    #[test]
    fn log2_buckets_break_ties_by_id() {
        // Ready 5 h and 8 h ago fall in the same bucket (2^44 ns is about 4.9 h, 2^45 about
        // 9.8 h): the lower id goes first whichever is younger.
        let a = PodRank {
            ready: true,
            ready_since: Some(ago(SimDuration::from_hours(8))),
            ..base(1)
        };
        let b = PodRank {
            ready: true,
            ready_since: Some(ago(SimDuration::from_hours(5))),
            ..base(2)
        };
        assert_eq!(active_pods_with_ranks_cmp(&a, &b, now()), Ordering::Less);
        assert_eq!(active_pods_with_ranks_cmp(&b, &a, now()), Ordering::Greater);
        // Plain ActivePods has no buckets: the later ready time goes first.
        assert_eq!(active_pods_cmp(&b, &a), Ordering::Less);
        assert_eq!(log2_age(now(), now()), -1);
        assert_eq!(log2_age(now() + SimDuration::from_secs(1), now()), -1);
        assert_eq!(log2_age(ago(SimDuration::from_nanos(1)), now()), 0);
        assert_eq!(log2_age(ago(SimDuration::from_nanos(1 << 40)), now()), 40);
    }

    #[test]
    fn ranked_sort_tolerates_upstream_intransitivity() {
        // Same ready-time bucket: a and b have identical ready times (rule 7 decides: more
        // restarts first), c differs from both (rule 6: id decides). The cycle a < b < c < a
        // is upstream's too; the sort must still return a deterministic permutation.
        let t = ago(SimDuration::from_hours(6));
        let a = PodRank {
            ready: true,
            ready_since: Some(t),
            restarts: 5,
            ..base(3)
        };
        let b = PodRank {
            ready: true,
            ready_since: Some(t),
            ..base(1)
        };
        let c = PodRank {
            ready: true,
            ready_since: Some(t + SimDuration::from_mins(1)),
            ..base(2)
        };
        assert_eq!(active_pods_with_ranks_cmp(&a, &b, now()), Ordering::Less);
        assert_eq!(active_pods_with_ranks_cmp(&b, &c, now()), Ordering::Less);
        assert_eq!(active_pods_with_ranks_cmp(&c, &a, now()), Ordering::Less);
        let mut first = vec![a, b, c];
        sort_active_pods_with_ranks(&mut first, now());
        let mut again = vec![a, b, c];
        sort_active_pods_with_ranks(&mut again, now());
        assert_eq!(first, again);
        let mut ids: Vec<u32> = first.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, vec![1, 2, 3]);
    }

    #[test]
    fn pods_to_delete_prefers_doubled_up_and_young() {
        // Three ready pods: two share node 0 (rank 2), one alone on node 1 (rank 1).
        let nodes = [Some(0u32), Some(0), Some(1)];
        let ranks = ranks_by_related_pods_on_same_node(&nodes, &nodes);
        assert_eq!(ranks, vec![2, 2, 1]);
        let mk = |id: u32, rank: i32, ready_ago_hours: u64| PodRank {
            ready: true,
            ready_since: Some(ago(SimDuration::from_hours(ready_ago_hours))),
            rank,
            created: one_month_ago(),
            ..base(id)
        };
        let pods = [
            mk(10, ranks[0], 100),
            mk(11, ranks[1], 1),
            mk(12, ranks[2], 1),
        ];
        assert_eq!(pods_to_delete(&pods, 1, now()), vec![11]);
        assert_eq!(pods_to_delete(&pods, 2, now()), vec![11, 10]);
        // Deleting everything keeps the given order (upstream skips the sort).
        assert_eq!(pods_to_delete(&pods, 3, now()), vec![10, 11, 12]);
        // Unassigned pods are counted together.
        let ranks = ranks_by_related_pods_on_same_node(
            &[None, Some(7u32), Some(8)],
            &[None, None, Some(7)],
        );
        assert_eq!(ranks, vec![2, 1, 0]);
    }

    #[test]
    fn deletion_cost_annotation() {
        assert_eq!(deletion_cost_from_annotation(None), 0);
        assert_eq!(deletion_cost_from_annotation(Some("10")), 10);
        assert_eq!(deletion_cost_from_annotation(Some("-10")), -10);
        assert_eq!(deletion_cost_from_annotation(Some("0")), 0);
        assert_eq!(deletion_cost_from_annotation(Some("+10")), 0);
        assert_eq!(deletion_cost_from_annotation(Some("008")), 0);
        assert_eq!(deletion_cost_from_annotation(Some("")), 0);
        assert_eq!(deletion_cost_from_annotation(Some("2147483648")), 0);
        assert_eq!(deletion_cost_from_annotation(Some("-2147483648")), i32::MIN);
        assert_eq!(deletion_cost_from_annotation(Some("1.5")), 0);
    }
}

/// Transcribed from upstream `pkg/controller/controller_utils_test.go` (TestControllerExpectations,
/// TestUIDExpectations), with the fake clock replaced by explicit `now`.
#[cfg(test)]
mod expectations_tests {
    use super::*;

    #[test]
    fn controller_expectations() {
        let mut e = ControllerExpectations::new();
        let t0 = SimTime::ZERO + SimDuration::from_hours(1);
        let (adds, dels) = (10, 30);
        let rc = 7;

        e.set_expectations(rc, adds, dels, t0);
        for _ in 0..adds + 1 {
            e.creation_observed(rc);
        }
        // There are still delete expectations.
        assert!(!e.satisfied_expectations(rc, t0));
        for _ in 0..dels + 1 {
            e.deletion_observed(rc);
        }

        // Expectations have been surpassed.
        let exp = e.get_expectations(rc).unwrap();
        assert_eq!((exp.add, exp.del), (-1, -1));
        assert!(e.satisfied_expectations(rc, t0));

        // Old expectations are cleared because of the timeout.
        e.set_expectations(rc, 1, 2, t0);
        let exp = e.get_expectations(rc).unwrap();
        assert_eq!((exp.add, exp.del), (1, 2));
        assert!(!e.satisfied_expectations(rc, t0));
        // Strictly more than the timeout.
        assert!(!e.satisfied_expectations(rc, t0 + EXPECTATIONS_TIMEOUT));
        assert!(
            e.satisfied_expectations(rc, t0 + EXPECTATIONS_TIMEOUT + SimDuration::from_nanos(1))
        );
    }

    #[test]
    fn no_record_is_satisfied_and_observations_need_one() {
        let mut e = ControllerExpectations::new();
        assert!(e.satisfied_expectations(1, SimTime::ZERO));
        e.creation_observed(1);
        assert_eq!(e.get_expectations(1), None);
        e.expect_creations(1, 2, SimTime::ZERO);
        assert!(!e.satisfied_expectations(1, SimTime::ZERO));
        e.creation_observed(1);
        e.raise_expectations(1, 1, 0);
        e.creation_observed(1);
        assert!(!e.satisfied_expectations(1, SimTime::ZERO));
        e.creation_observed(1);
        assert!(e.satisfied_expectations(1, SimTime::ZERO));
        e.expect_deletions(1, 1, SimTime::ZERO);
        assert_eq!(e.get_expectations(1).map(|x| (x.add, x.del)), Some((0, 1)));
        e.delete_expectations(1);
        assert!(e.satisfied_expectations(1, SimTime::ZERO));
    }

    #[test]
    fn uid_expectations() {
        let mut u = UidTrackingExpectations::new();
        let now = SimTime::ZERO;
        for (rc, replicas) in [(2u32, 2u32), (1, 1), (0, 0), (5, 5)] {
            // Five pods per controller, named after it.
            let pods: Vec<u32> = (0..5).map(|i| rc * 100 + i).collect();
            u.expect_deletions(rc, &pods, now);
            assert!(
                !u.satisfied_expectations(rc, now),
                "controller with {replicas} replicas satisfied before deletion"
            );
            for &p in &pods {
                u.deletion_observed(rc, p);
                // A second observation of the same pod does not count again.
                u.deletion_observed(rc, p);
            }
            assert_eq!(u.expectations().get_expectations(rc).unwrap().del, 0);
            assert!(u.satisfied_expectations(rc, now));
            u.delete_expectations(rc);
            assert!(u.get_uids(rc).is_none());
        }
    }
}

#[cfg(test)]
mod slow_start_tests {
    use super::*;

    #[test]
    fn batch_sizes() {
        assert_eq!(slow_start_batch_sizes(10, 1), vec![1, 2, 4, 3]);
        assert_eq!(slow_start_batch_sizes(10, 4), vec![4, 6]);
        assert_eq!(slow_start_batch_sizes(1, 1), vec![1]);
        assert_eq!(slow_start_batch_sizes(0, 1), Vec::<i32>::new());
        assert_eq!(slow_start_batch_sizes(5, 0), Vec::<i32>::new());
        assert_eq!(
            slow_start_batch_sizes(BURST_REPLICAS, SLOW_START_INITIAL_BATCH_SIZE),
            vec![1, 2, 4, 8, 16, 32, 64, 128, 245]
        );
    }

    /// Transcribed from upstream TestSlowStartBatch (`pkg/controller/replicaset/replica_set_test.go`,
    /// and its successor in `pkg/controller/controller_utils_test.go` with `initialBatchSize`).
    #[test]
    fn slow_start_batch_stops_after_a_failing_batch() {
        // (count, initial batch, call limit, successes, calls)
        let cases = [
            (10, 1, 0, 0, 1),
            (10, 1, 10, 10, 10),
            (10, 1, 5, 5, 7),
            (10, 4, 10, 10, 10),
            (10, 4, 2, 2, 4),
        ];
        for (count, initial, call_limit, want_successes, want_calls) in cases {
            let mut calls = 0;
            let successes = slow_start_batch(count, initial, || {
                calls += 1;
                calls <= call_limit
            });
            assert_eq!(
                successes, want_successes,
                "count {count} limit {call_limit}"
            );
            assert_eq!(calls, want_calls, "count {count} limit {call_limit}");
        }
    }
}
