//! The decision core of upstream `pkg/controller/statefulset/stateful_set_control.go`:
//! `updateStatefulSet` (with `processReplica`, `processCondemned`, `runForAll`) and
//! `updateStatefulSetAfterInvariantEstablished`, then `completeRollingUpdate` as
//! `updateStatefulSetStatus` applies it, as one pure [`plan`]: from the set, its current and
//! update revisions and a view of its pods, the writes one sync makes, in upstream's order, where
//! it stops, and the status it records.
//!
//! Upstream calls the API as it decides; here every call is assumed to succeed, and an action
//! is only recorded. Objects upstream has already written but not yet observed keep their old
//! state for the rest of the sync, as in upstream's in-memory slices (so a pod created this sync
//! is not counted, and a pod deleted this sync still is).
//!
//! Under `Parallel` upstream runs the per-pod steps in concurrent slow-start batches
//! (`slowStartBatch`, at most [`super::utils::MAX_BATCH_SIZE`] at once); without failures every
//! step runs, so the plan lists them in index order.

use std::collections::BTreeSet;

use sim_core::{SimDuration, SimTime};

use super::utils::{
    PodManagementPolicy, PodState, allows_burst, get_end_ordinal, get_stateful_set_max_unavailable,
    is_created, is_failed, is_pending, is_running_and_available, is_running_and_ready,
    is_succeeded, is_terminating, is_unavailable, pod_in_ordinal_range,
    requeue_after_for_min_ready_seconds,
};
use crate::api::{IntOrPercent, PodPhase};

/// The feature gates the StatefulSet controller reads that are not locked on in 1.34.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureGates {
    /// `MaxUnavailableStatefulSet`: alpha, off by default in 1.34 (on by default from 1.35).
    /// Off, a RollingUpdate replaces one pod at a time whatever `maxUnavailable` says.
    pub max_unavailable_stateful_set: bool,
}

impl Default for FeatureGates {
    /// Kubernetes 1.34's defaults.
    fn default() -> Self {
        FeatureGates {
            max_unavailable_stateful_set: false,
        }
    }
}

/// `spec.updateStrategy` after defaulting (which gives `RollingUpdate` a `rollingUpdate` with
/// partition 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateStrategy {
    RollingUpdate {
        partition: i32,
        max_unavailable: Option<IntOrPercent>,
    },
    OnDelete,
}

impl Default for UpdateStrategy {
    fn default() -> Self {
        UpdateStrategy::RollingUpdate {
            partition: 0,
            max_unavailable: None,
        }
    }
}

/// The parts of a StatefulSet the sync reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatefulSetView {
    /// `spec.replicas`.
    pub replicas: i32,
    /// `spec.ordinals.start` (0 without `spec.ordinals`).
    pub start_ordinal: i32,
    pub pod_management_policy: PodManagementPolicy,
    pub update_strategy: UpdateStrategy,
    pub min_ready_seconds: i32,
    /// `metadata.deletionTimestamp` is set: upstream only updates the status then.
    pub being_deleted: bool,
}

/// One of the set's pods as the sync sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatefulPodView {
    /// `getOrdinal(pod)`: from the name; -1 when there is none (such pods are ignored).
    pub ordinal: i32,
    /// The `controller-revision-hash` label (`""` when absent).
    pub revision: String,
    pub state: PodState,
    /// Some claim of the pod does not exist: a Pending pod then gets its missing claims created
    /// (upstream calls `createMissingPersistentVolumeClaims` for every Pending pod; that call
    /// writes nothing when none is missing, so only this case is recorded).
    pub missing_claims: bool,
    /// `identityMatches && storageMatches` (see [`super::utils`]).
    pub identity_and_storage_match: bool,
    /// `ClaimsMatchRetentionPolicy`: every existing claim passes `isClaimOwnerUpToDate`
    /// (against the update revision's set).
    pub claims_match_policy: bool,
}

impl StatefulPodView {
    /// A pod whose identity, storage and claims are as the controller made them, with no phase
    /// yet.
    pub fn new(ordinal: i32, revision: &str) -> Self {
        StatefulPodView {
            ordinal,
            revision: revision.to_string(),
            state: PodState::default(),
            missing_claims: false,
            identity_and_storage_match: true,
            claims_match_policy: true,
        }
    }
}

/// Everything one sync reads.
#[derive(Clone, Debug)]
pub struct SyncInput<'a> {
    pub set: &'a StatefulSetView,
    /// `status.currentRevision` as resolved by `getStatefulSetRevisions` (the update revision
    /// when the set has none yet).
    pub current_revision: &'a str,
    /// The revision of the set's current spec.
    pub update_revision: &'a str,
    pub pods: &'a [StatefulPodView],
    /// Ordinals whose missing pod has a stale claim (`PodClaimIsStale`, see
    /// [`super::utils::pod_claim_is_stale`]): such a pod is not created this sync.
    pub stale_claim_ordinals: &'a BTreeSet<i32>,
    pub now: SimTime,
    pub gates: FeatureGates,
}

/// Why a pod is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteReason {
    /// Phase Failed or Succeeded: it is recreated once gone.
    Failed,
    /// Its ordinal is outside the range (scale down).
    Condemned,
    /// It is not at the update revision (RollingUpdate).
    Update,
}

/// One write of the sync, in upstream's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `CreateStatefulPod`: creates the pod's missing claims, then the pod, labelled with
    /// `revision` (`newVersionedStatefulSetPod`).
    CreatePod { ordinal: i32, revision: String },
    /// `createMissingPersistentVolumeClaims` for a Pending pod.
    CreateMissingClaims { ordinal: i32 },
    /// `UpdateStatefulPod`: restores identity and storage and sets the claims' owner references.
    UpdatePod { ordinal: i32 },
    /// `UpdatePodClaimForRetentionPolicy` on a condemned pod's claims.
    UpdateClaimOwnerRefs { ordinal: i32 },
    /// `DeleteStatefulPod`.
    DeletePod { ordinal: i32, reason: DeleteReason },
}

/// Where and why the sync stopped early (it otherwise ends once every step has run).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The set is being deleted: only the status is updated.
    SetBeingDeleted,
    /// A Failed/Succeeded pod was deleted, or is still terminating: its replacement comes on a
    /// later sync, after it is gone (`OrderedReady` only).
    FailedPod { ordinal: i32 },
    /// A missing pod's claim is stale; it is not created.
    StaleClaim { ordinal: i32 },
    /// A pod was created; `OrderedReady` creates one per sync.
    Created { ordinal: i32 },
    /// Waiting for a terminating replica to go (`OrderedReady`).
    Terminating { ordinal: i32 },
    /// Waiting for a replica to be Running and Ready (`OrderedReady`).
    NotRunningAndReady { ordinal: i32 },
    /// Waiting for a replica to be available for `minReadySeconds` (`OrderedReady`).
    NotAvailable { ordinal: i32 },
    /// Waiting for a condemned pod to finish terminating before the next scale-down
    /// (`OrderedReady`).
    CondemnedTerminating { ordinal: i32 },
    /// A condemned pod is unhealthy but is not the first unhealthy pod, which must be dealt
    /// with first (`OrderedReady`).
    CondemnedUnhealthy { ordinal: i32 },
    /// A condemned pod was deleted; `OrderedReady` deletes one per sync.
    CondemnedDeleted { ordinal: i32 },
    /// A pod was deleted for the rolling update (one per sync without `maxUnavailable`).
    UpdateDeleted { ordinal: i32 },
    /// Waiting for an updated pod to be available before the next.
    UpdateUnavailable { ordinal: i32 },
    /// `maxUnavailable`: as many replicas as allowed are unavailable already.
    MaxUnavailable {
        unavailable: i32,
        max_unavailable: i32,
    },
}

/// The replica counts and revisions of `StatefulSetStatus` the sync computes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatefulSetStatusCounts {
    pub replicas: i32,
    pub ready_replicas: i32,
    pub available_replicas: i32,
    pub current_replicas: i32,
    pub updated_replicas: i32,
    pub current_revision: String,
    pub update_revision: String,
}

/// What one sync does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncPlan {
    pub actions: Vec<Action>,
    pub stop: Option<Stop>,
    /// The status upstream writes (after `completeRollingUpdate`).
    pub status: StatefulSetStatusCounts,
    /// `syncStatefulSet`'s requeue while pods wait out `minReadySeconds`.
    pub requeue_after: Option<SimDuration>,
}

/// A slot of upstream's `replicas` slice: an existing pod, or the pod
/// `newVersionedStatefulSetPod` would create (no phase, so not created).
#[derive(Clone, Debug)]
struct Slot {
    ordinal: i32,
    revision: String,
    state: PodState,
    missing_claims: bool,
    identity_and_storage_match: bool,
    claims_match_policy: bool,
    placeholder: bool,
}

impl Slot {
    fn from_view(p: &StatefulPodView) -> Self {
        Slot {
            ordinal: p.ordinal,
            revision: p.revision.clone(),
            state: p.state,
            missing_claims: p.missing_claims,
            identity_and_storage_match: p.identity_and_storage_match,
            claims_match_policy: p.claims_match_policy,
            placeholder: false,
        }
    }
}

/// Upstream `newVersionedStatefulSetPod`'s choice of revision for a new pod: the current
/// revision below the partition (`ordinal < start + partition`), the update revision otherwise
/// and always under `OnDelete`.
pub fn new_pod_revision<'a>(
    set: &StatefulSetView,
    ordinal: i32,
    current_revision: &'a str,
    update_revision: &'a str,
) -> &'a str {
    match set.update_strategy {
        UpdateStrategy::RollingUpdate { partition, .. }
            if i64::from(ordinal) < i64::from(set.start_ordinal) + i64::from(partition) =>
        {
            current_revision
        }
        _ => update_revision,
    }
}

/// Upstream `computeReplicaStatus` summed over the lists, as `updateStatus` does.
fn compute_status<'a>(
    pods: impl Iterator<Item = (&'a PodState, &'a str)>,
    min_ready_seconds: i32,
    current_revision: &str,
    update_revision: &str,
    now: SimTime,
) -> StatefulSetStatusCounts {
    let mut s = StatefulSetStatusCounts {
        current_revision: current_revision.to_string(),
        update_revision: update_revision.to_string(),
        ..StatefulSetStatusCounts::default()
    };
    for (pod, revision) in pods {
        if is_created(pod) {
            s.replicas += 1;
        }
        if is_running_and_ready(pod) {
            s.ready_replicas += 1;
            if is_running_and_available(pod, min_ready_seconds, now) {
                s.available_replicas += 1;
            }
        }
        if is_created(pod) && !is_terminating(pod) {
            if revision == current_revision {
                s.current_replicas += 1;
            }
            if revision == update_revision {
                s.updated_replicas += 1;
            }
        }
    }
    s
}

/// Upstream `completeRollingUpdate`: under RollingUpdate, once every replica exists, is ready
/// and is updated, the update revision becomes current.
pub fn complete_rolling_update(set: &StatefulSetView, status: &mut StatefulSetStatusCounts) {
    if matches!(set.update_strategy, UpdateStrategy::RollingUpdate { .. })
        && status.updated_replicas == set.replicas
        && status.ready_replicas == set.replicas
        && status.replicas == set.replicas
    {
        status.current_replicas = status.updated_replicas;
        status.current_revision = status.update_revision.clone();
    }
}

/// The sync in progress: its slices and what it has recorded so far.
struct Sync<'a> {
    input: &'a SyncInput<'a>,
    monotonic: bool,
    replicas: Vec<Slot>,
    condemned: Vec<Slot>,
    actions: Vec<Action>,
}

/// Which slot upstream's `firstUnavailablePod` points at.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SlotRef {
    Replica(usize),
    Condemned(usize),
}

impl Sync<'_> {
    fn min_ready(&self) -> i32 {
        self.input.set.min_ready_seconds
    }

    fn status(&self) -> StatefulSetStatusCounts {
        compute_status(
            self.replicas
                .iter()
                .chain(&self.condemned)
                .map(|s| (&s.state, s.revision.as_str())),
            self.min_ready(),
            self.input.current_revision,
            self.input.update_revision,
            self.input.now,
        )
    }

    /// Upstream `processReplica`: `Some(stop)` when the sync must end here (only ever acted on
    /// under `OrderedReady`; `Parallel` ignores it).
    fn process_replica(&mut self, i: usize) -> Option<Stop> {
        let slot = &self.replicas[i];
        let ordinal = slot.ordinal;
        // Succeeded counts too: the final phase of an evicted pod depends on its exit code.
        if is_failed(&slot.state) || is_succeeded(&slot.state) {
            if !is_terminating(&slot.state) {
                self.actions.push(Action::DeletePod {
                    ordinal,
                    reason: DeleteReason::Failed,
                });
            }
            return Some(Stop::FailedPod { ordinal });
        }
        if !is_created(&slot.state) {
            if self.input.stale_claim_ordinals.contains(&ordinal) {
                return Some(Stop::StaleClaim { ordinal });
            }
            self.actions.push(Action::CreatePod {
                ordinal,
                revision: slot.revision.clone(),
            });
            if self.monotonic {
                return Some(Stop::Created { ordinal });
            }
        }
        if is_pending(&slot.state) && slot.missing_claims {
            self.actions.push(Action::CreateMissingClaims { ordinal });
        }
        if self.monotonic {
            if is_terminating(&slot.state) {
                return Some(Stop::Terminating { ordinal });
            }
            if !is_running_and_ready(&slot.state) {
                return Some(Stop::NotRunningAndReady { ordinal });
            }
            if !is_running_and_available(&slot.state, self.min_ready(), self.input.now) {
                return Some(Stop::NotAvailable { ordinal });
            }
        }
        // A pod about to be created is stamped from the set, so it matches.
        let matches = slot.identity_and_storage_match && slot.claims_match_policy;
        if !slot.placeholder && !matches {
            self.actions.push(Action::UpdatePod { ordinal });
        }
        None
    }

    /// Upstream `processCondemned`.
    fn process_condemned(&mut self, i: usize, first_unavailable: Option<SlotRef>) -> Option<Stop> {
        let slot = &self.condemned[i];
        let ordinal = slot.ordinal;
        if is_terminating(&slot.state) {
            return self
                .monotonic
                .then_some(Stop::CondemnedTerminating { ordinal });
        }
        let is_first = first_unavailable == Some(SlotRef::Condemned(i));
        if self.monotonic
            && !is_first
            && (!is_running_and_ready(&slot.state)
                || !is_running_and_available(&slot.state, self.min_ready(), self.input.now))
        {
            return Some(Stop::CondemnedUnhealthy { ordinal });
        }
        self.actions.push(Action::DeletePod {
            ordinal,
            reason: DeleteReason::Condemned,
        });
        Some(Stop::CondemnedDeleted { ordinal })
    }

    /// The RollingUpdate of upstream `updateStatefulSet` without `MaxUnavailableStatefulSet`:
    /// from the highest index down to the partition, delete the first pod not at the update
    /// revision (and stop), or stop at the first unavailable one.
    fn rolling_update(
        &mut self,
        partition: i32,
        status: &mut StatefulSetStatusCounts,
    ) -> Option<Stop> {
        let update_min = usize::try_from(partition).unwrap_or(0);
        for target in (update_min..self.replicas.len()).rev() {
            let slot = &self.replicas[target];
            if slot.revision != self.input.update_revision && !is_terminating(&slot.state) {
                let ordinal = slot.ordinal;
                self.actions.push(Action::DeletePod {
                    ordinal,
                    reason: DeleteReason::Update,
                });
                status.current_replicas -= 1;
                return Some(Stop::UpdateDeleted { ordinal });
            }
            if is_unavailable(&slot.state, self.min_ready(), self.input.now) {
                return Some(Stop::UpdateUnavailable {
                    ordinal: slot.ordinal,
                });
            }
        }
        None
    }

    /// Upstream `updateStatefulSetAfterInvariantEstablished` (`MaxUnavailableStatefulSet`): with
    /// `u` replicas unavailable (missing ones included), delete up to `maxUnavailable - u` pods
    /// not at the update revision, highest index first, down to the partition.
    fn rolling_update_max_unavailable(
        &mut self,
        partition: i32,
        max_unavailable: Option<IntOrPercent>,
        status: &mut StatefulSetStatusCounts,
    ) -> Option<Stop> {
        let update_min = usize::try_from(partition).unwrap_or(0);
        let max_unavailable =
            get_stateful_set_max_unavailable(max_unavailable, self.input.set.replicas);
        let unavailable = self
            .replicas
            .iter()
            .filter(|s| is_unavailable(&s.state, self.min_ready(), self.input.now))
            .count();
        let unavailable = i32::try_from(unavailable).unwrap_or(i32::MAX);
        if unavailable >= max_unavailable {
            return Some(Stop::MaxUnavailable {
                unavailable,
                max_unavailable,
            });
        }
        let pods_to_delete = max_unavailable - unavailable;
        let mut deleted = 0;
        for target in (update_min..self.replicas.len()).rev() {
            if deleted >= pods_to_delete {
                break;
            }
            let slot = &self.replicas[target];
            if slot.revision != self.input.update_revision && !is_terminating(&slot.state) {
                self.actions.push(Action::DeletePod {
                    ordinal: slot.ordinal,
                    reason: DeleteReason::Update,
                });
                deleted += 1;
                status.current_replicas -= 1;
            }
        }
        None
    }
}

/// Upstream `defaultStatefulSetControl.updateStatefulSet` (the pod and claim writes of
/// `UpdateStatefulSet`), then `completeRollingUpdate`, for one sync:
///
/// 1. Pods split into `replicas` (ordinals `start..=end`, a slot per ordinal, missing ones
///    stamped by `newVersionedStatefulSetPod`) and `condemned` (valid ordinals outside, highest
///    first); pods without an ordinal are ignored.
/// 2. If the set is being deleted, nothing else happens.
/// 3. Each replica, lowest first (`processReplica`): a Failed/Succeeded pod is deleted; a
///    missing one is created unless a claim is stale; a Pending one gets its missing claims; a
///    pod whose identity, storage or claims drifted is updated. Under `OrderedReady` the sync
///    stops after a deletion or creation, and at a replica that is terminating, not Running and
///    Ready, or not available.
/// 4. Condemned pods' claims get the owner references the retention policy wants.
/// 5. Condemned pods, highest first (`processCondemned`): under `OrderedReady` one is deleted
///    per sync, waiting while one terminates or is unhealthy unless it is the first unhealthy
///    pod; under `Parallel` all are deleted but the terminating ones.
/// 6. `OnDelete` stops here. RollingUpdate deletes, from the highest index down to the
///    partition, one pod not at the update revision and stops, or stops at the first
///    unavailable pod; with `MaxUnavailableStatefulSet`, `updateStatefulSetAfterInvariantEstablished`
///    deletes up to `maxUnavailable` minus the unavailable replicas at once.
pub fn plan(input: &SyncInput<'_>) -> SyncPlan {
    let set = input.set;
    let min_ready = set.min_ready_seconds;
    let mut sync = Sync {
        input,
        monotonic: !allows_burst(set.pod_management_policy),
        replicas: Vec::new(),
        condemned: Vec::new(),
        actions: Vec::new(),
    };

    // Validation keeps replicas non-negative; upstream would panic on a negative length.
    let replica_count = usize::try_from(set.replicas).unwrap_or(0);
    let mut slots: Vec<Option<Slot>> = vec![None; replica_count];
    for pod in input.pods {
        if pod_in_ordinal_range(pod.ordinal, set.start_ordinal, set.replicas) {
            let index = i64::from(pod.ordinal) - i64::from(set.start_ordinal);
            if let Some(slot) = usize::try_from(index).ok().and_then(|i| slots.get_mut(i)) {
                *slot = Some(Slot::from_view(pod));
            }
        } else if pod.ordinal >= 0 {
            sync.condemned.push(Slot::from_view(pod));
        }
    }
    let end = get_end_ordinal(set.start_ordinal, set.replicas);
    sync.replicas = slots
        .into_iter()
        .zip(i64::from(set.start_ordinal)..=end)
        .map(|(slot, ordinal)| {
            slot.unwrap_or_else(|| {
                let ordinal = i32::try_from(ordinal).unwrap_or(i32::MAX);
                let revision =
                    new_pod_revision(set, ordinal, input.current_revision, input.update_revision);
                Slot {
                    ordinal,
                    revision: revision.to_string(),
                    state: PodState::default(),
                    missing_claims: false,
                    identity_and_storage_match: true,
                    claims_match_policy: true,
                    placeholder: true,
                }
            })
        })
        .collect();
    // Upstream `descendingOrdinal`; names, hence ordinals, are unique, so stability is moot.
    sync.condemned.sort_by_key(|s| std::cmp::Reverse(s.ordinal));

    let first_unavailable = sync
        .replicas
        .iter()
        .position(|s| is_unavailable(&s.state, min_ready, input.now))
        .map(SlotRef::Replica)
        .or_else(|| {
            (0..sync.condemned.len())
                .rev()
                .find(|&i| is_unavailable(&sync.condemned[i].state, min_ready, input.now))
                .map(SlotRef::Condemned)
        });

    let finish = |sync: Sync<'_>, stop: Option<Stop>, mut status: StatefulSetStatusCounts| {
        complete_rolling_update(set, &mut status);
        let requeue_after =
            requeue_after_for_min_ready_seconds(min_ready, status.available_replicas, set.replicas);
        SyncPlan {
            actions: sync.actions,
            stop,
            status,
            requeue_after,
        }
    };

    if set.being_deleted {
        let status = compute_status(
            input.pods.iter().map(|p| (&p.state, p.revision.as_str())),
            min_ready,
            input.current_revision,
            input.update_revision,
            input.now,
        );
        return finish(sync, Some(Stop::SetBeingDeleted), status);
    }

    // runForAll over the replicas.
    let mut stop = None;
    for i in 0..sync.replicas.len() {
        if let Some(s) = sync.process_replica(i)
            && sync.monotonic
        {
            stop = Some(s);
            break;
        }
    }
    if stop.is_some() {
        let status = sync.status();
        return finish(sync, stop, status);
    }

    // Fix the condemned pods' claims (StatefulSetAutoDeletePVC is locked on in 1.34).
    for slot in &sync.condemned {
        if !slot.claims_match_policy {
            sync.actions.push(Action::UpdateClaimOwnerRefs {
                ordinal: slot.ordinal,
            });
        }
    }

    // runForAll over the condemned pods.
    for i in 0..sync.condemned.len() {
        if let Some(s) = sync.process_condemned(i, first_unavailable)
            && sync.monotonic
        {
            stop = Some(s);
            break;
        }
    }
    let mut status = sync.status();
    if stop.is_some() {
        return finish(sync, stop, status);
    }

    let stop = match set.update_strategy {
        UpdateStrategy::OnDelete => None,
        UpdateStrategy::RollingUpdate {
            partition,
            max_unavailable,
        } => {
            if input.gates.max_unavailable_stateful_set {
                sync.rolling_update_max_unavailable(partition, max_unavailable, &mut status)
            } else {
                sync.rolling_update(partition, &mut status)
            }
        }
    };
    finish(sync, stop, status)
}

/// A pod's phase as the status reads it, for callers building a [`StatefulPodView`].
pub fn pod_state(
    phase: Option<PodPhase>,
    ready: bool,
    ready_since: Option<SimTime>,
    terminating: bool,
) -> PodState {
    PodState {
        phase,
        ready,
        ready_since,
        terminating,
    }
}

#[cfg(test)]
mod tests {
    // Upstream: pkg/controller/statefulset/stateful_set_control_test.go. Upstream drives
    // UpdateStatefulSet against a fake object manager: created pods appear with no phase,
    // deleted pods vanish at once, the returned status is written back. `Cluster` below is that
    // fake; its scale-up helper moves pods forward deterministically (lowest ordinal first) where
    // upstream's `scaleUpStatefulSetControl` picks one at random.
    use std::collections::BTreeMap;

    use super::*;

    const REV1: &str = "rev-1";
    const REV2: &str = "rev-2";

    struct Cluster {
        set: StatefulSetView,
        pods: BTreeMap<i32, StatefulPodView>,
        status: StatefulSetStatusCounts,
        current_revision: String,
        update_revision: String,
        stale: BTreeSet<i32>,
        gates: FeatureGates,
        now: SimTime,
        deletes: usize,
        creates: usize,
    }

    impl Cluster {
        fn new(replicas: i32) -> Self {
            Cluster {
                set: StatefulSetView {
                    replicas,
                    ..StatefulSetView::default()
                },
                pods: BTreeMap::new(),
                status: StatefulSetStatusCounts::default(),
                current_revision: REV1.into(),
                update_revision: REV1.into(),
                stale: BTreeSet::new(),
                gates: FeatureGates::default(),
                now: SimTime::from_nanos(1_000_000 * 1_000_000_000),
                deletes: 0,
                creates: 0,
            }
        }

        fn burst(mut self) -> Self {
            self.set.pod_management_policy = PodManagementPolicy::Parallel;
            self
        }

        /// One `UpdateStatefulSet`: plan, apply the writes to the fake, record the status.
        fn sync(&mut self) -> SyncPlan {
            let pods: Vec<StatefulPodView> = self.pods.values().cloned().collect();
            let plan = plan(&SyncInput {
                set: &self.set,
                current_revision: &self.current_revision,
                update_revision: &self.update_revision,
                pods: &pods,
                stale_claim_ordinals: &self.stale,
                now: self.now,
                gates: self.gates,
            });
            for a in &plan.actions {
                match a {
                    Action::CreatePod { ordinal, revision } => {
                        self.creates += 1;
                        self.pods
                            .insert(*ordinal, StatefulPodView::new(*ordinal, revision));
                    }
                    Action::DeletePod { ordinal, .. } => {
                        self.deletes += 1;
                        self.pods.remove(ordinal);
                    }
                    _ => {}
                }
            }
            self.status = plan.status.clone();
            // getStatefulSetRevisions: the recorded current revision is used next time.
            self.current_revision = self.status.current_revision.clone();
            plan
        }

        fn pod(&mut self, ordinal: i32) -> &mut StatefulPodView {
            self.pods
                .get_mut(&ordinal)
                .expect("pod exists in the test fake")
        }
        fn set_pending(&mut self, o: i32) {
            self.pod(o).state.phase = Some(PodPhase::Pending);
        }
        fn set_running(&mut self, o: i32) {
            self.pod(o).state.phase = Some(PodPhase::Running);
        }
        fn set_ready(&mut self, o: i32) {
            let now = self.now;
            let p = self.pod(o);
            p.state.ready = true;
            p.state.ready_since = Some(now);
        }
        /// `addTerminatingPod`: a Running, Ready pod being deleted (no revision label).
        fn add_terminating(&mut self, o: i32) {
            let mut p = StatefulPodView::new(o, "");
            p.state = pod_state(Some(PodPhase::Running), true, Some(self.now), true);
            self.pods.insert(o, p);
        }

        fn ordinals(&self) -> Vec<i32> {
            self.pods.keys().copied().collect()
        }

        /// `assertMonotonicInvariants`: ordinals contiguous from the start, and no pod Running
        /// and Ready while its predecessor is not.
        fn assert_monotonic(&self) {
            let mut prev_ready = true;
            for (i, (o, p)) in self.pods.iter().enumerate() {
                let want = self.set.start_ordinal + i32::try_from(i).expect("small");
                assert_eq!(*o, want, "pods deployed in the wrong order");
                let ready = is_running_and_ready(&p.state);
                assert!(
                    !ready || prev_ready,
                    "successor {o} Running and Ready while predecessor is not"
                );
                prev_ready = ready;
            }
        }

        /// `scaleUpStatefulSetControl`: until status.readyReplicas reaches spec.replicas, give
        /// the first phase-less pod a phase, move one pod forward, sync.
        fn scale_up(&mut self) {
            let monotonic = self.set.pod_management_policy == PodManagementPolicy::OrderedReady;
            for _ in 0..1000 {
                if self.status.ready_replicas >= self.set.replicas {
                    return;
                }
                if let Some(o) = self
                    .pods
                    .iter()
                    .find(|(_, p)| p.state.phase.is_none())
                    .map(|(o, _)| *o)
                {
                    self.set_pending(o);
                }
                let next = self
                    .pods
                    .iter()
                    .find(|(_, p)| !is_running_and_ready(&p.state))
                    .map(|(o, p)| (*o, p.state.phase));
                match next {
                    Some((o, Some(PodPhase::Pending))) => self.set_running(o),
                    Some((o, Some(PodPhase::Running))) => self.set_ready(o),
                    _ => {}
                }
                self.sync();
                if monotonic {
                    self.assert_monotonic();
                }
            }
            panic!("scale up did not converge");
        }

        /// `scaleDownStatefulSetControl`: sync, mark the highest pod terminating, sync, remove
        /// it, sync; until status.replicas reaches spec.replicas.
        fn scale_down(&mut self) {
            for _ in 0..1000 {
                if self.status.replicas <= self.set.replicas {
                    return;
                }
                if let Some(&o) = self.pods.keys().next_back() {
                    self.sync();
                    self.add_terminating(o);
                    self.sync();
                    if let Some(&last) = self.pods.keys().next_back() {
                        self.pods.remove(&last);
                    }
                }
                self.sync();
            }
            panic!("scale down did not converge");
        }

        /// `updateStatefulSetControl`: sync, then move pods forward and sync until
        /// `updateComplete`.
        fn update(&mut self) {
            self.sync();
            for _ in 0..1000 {
                if self.update_complete() {
                    return;
                }
                if let Some(o) = self
                    .pods
                    .iter()
                    .find(|(_, p)| p.state.phase.is_none())
                    .map(|(o, _)| *o)
                {
                    self.set_pending(o);
                }
                let next = self
                    .pods
                    .iter()
                    .find(|(_, p)| !is_running_and_ready(&p.state))
                    .map(|(o, p)| (*o, p.state.phase));
                match next {
                    Some((o, Some(PodPhase::Pending))) => self.set_running(o),
                    Some((o, Some(PodPhase::Running))) => self.set_ready(o),
                    _ => {}
                }
                self.sync();
            }
            panic!("update did not converge");
        }

        /// Upstream `updateComplete`.
        fn update_complete(&self) -> bool {
            if self.pods.len() != usize::try_from(self.set.replicas).expect("small")
                || self.status.ready_replicas != self.set.replicas
            {
                return false;
            }
            match self.set.update_strategy {
                UpdateStrategy::OnDelete => true,
                UpdateStrategy::RollingUpdate { partition, .. } if partition <= 0 => {
                    self.status.current_replicas >= self.set.replicas
                        && self
                            .pods
                            .values()
                            .all(|p| p.revision == self.status.current_revision)
                }
                UpdateStrategy::RollingUpdate { partition, .. } => self
                    .pods
                    .values()
                    .skip(usize::try_from(partition).expect("small"))
                    .all(|p| p.revision == self.status.update_revision),
            }
        }

        fn revisions(&self) -> Vec<&str> {
            self.pods.values().map(|p| p.revision.as_str()).collect()
        }

        fn new_revision(&mut self) {
            self.update_revision = REV2.into();
        }
    }

    fn both(replicas: i32, f: impl Fn(Cluster)) {
        f(Cluster::new(replicas));
        f(Cluster::new(replicas).burst());
    }

    #[test]
    fn creates_pods() {
        // upstream TestStatefulSetControl CreatesPods (Monotonic and Burst): 3 replicas come up
        // with status replicas, readyReplicas and updatedReplicas 3.
        both(3, |mut c| {
            c.scale_up();
            assert_eq!(c.status.replicas, 3);
            assert_eq!(c.status.ready_replicas, 3);
            assert_eq!(c.status.updated_replicas, 3);
            assert_eq!(c.ordinals(), [0, 1, 2]);
        });
    }

    #[test]
    fn scales_up() {
        // upstream ScalesUp: 3, then 4 replicas.
        both(3, |mut c| {
            c.scale_up();
            c.set.replicas = 4;
            c.scale_up();
            assert_eq!(c.status.replicas, 4);
            assert_eq!(c.status.ready_replicas, 4);
            assert_eq!(c.status.updated_replicas, 4);
        });
    }

    #[test]
    fn scales_down() {
        // upstream ScalesDown: 3 replicas, then 0.
        both(3, |mut c| {
            c.scale_up();
            c.set.replicas = 0;
            c.scale_down();
            assert_eq!(c.status.replicas, 0);
            assert_eq!(c.status.ready_replicas, 0);
            assert_eq!(c.status.updated_replicas, 0);
            assert!(c.pods.is_empty());
        });
    }

    #[test]
    fn replaces_pods() {
        // upstream ReplacesPods: 5 replicas; pods 0, 2 and 4 vanish; each is recreated in turn
        // (sync, set Running, sync, set Ready) and status.replicas is 5 again.
        both(5, |mut c| {
            c.scale_up();
            for o in [0, 2, 4] {
                c.pods.remove(&o);
            }
            for o in [0, 2, 4] {
                c.sync();
                c.set_running(o);
                c.sync();
                c.set_ready(o);
            }
            c.sync();
            assert_eq!(c.status.replicas, 5);
        });
    }

    #[test]
    fn ordered_ready_waits_on_each_pod() {
        // The stopping rules behind assertMonotonicInvariants: OrderedReady creates pod 0 and
        // stops; pod 1 only once pod 0 is Running and Ready. Parallel creates all three at once.
        let mut c = Cluster::new(3);
        let p = c.sync();
        assert_eq!(
            p.actions,
            [Action::CreatePod {
                ordinal: 0,
                revision: REV1.into()
            }]
        );
        assert_eq!(p.stop, Some(Stop::Created { ordinal: 0 }));
        c.set_pending(0);
        assert_eq!(c.sync().stop, Some(Stop::NotRunningAndReady { ordinal: 0 }));
        c.set_running(0);
        assert_eq!(c.sync().stop, Some(Stop::NotRunningAndReady { ordinal: 0 }));
        c.set_ready(0);
        assert_eq!(c.sync().stop, Some(Stop::Created { ordinal: 1 }));

        let mut c = Cluster::new(3).burst();
        let p = c.sync();
        let created: Vec<i32> = p
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::CreatePod { ordinal, .. } => Some(*ordinal),
                _ => None,
            })
            .collect();
        assert_eq!(created, [0, 1, 2]);
        // The rolling update then meets the highest replica, just created, unavailable.
        assert_eq!(p.stop, Some(Stop::UpdateUnavailable { ordinal: 2 }));
    }

    fn recreates_pod(terminal: PodPhase, burst: bool) {
        // upstream recreatesPod: sync once; give pod 0 the terminal phase and the others
        // Pending; the next sync deletes pod 0 (one delete call); the one after recreates it
        // with no further delete. Creates: 2 under OrderedReady, replicas + 1 under Parallel.
        let mut c = Cluster::new(3);
        if burst {
            c = c.burst();
        }
        c.sync();
        assert_eq!(c.deletes, 0);
        let ordinals = c.ordinals();
        for (i, o) in ordinals.into_iter().enumerate() {
            c.pod(o).state.phase = Some(if i == 0 { terminal } else { PodPhase::Pending });
        }
        let p = c.sync();
        assert_eq!(c.deletes, 1);
        assert!(p.actions.contains(&Action::DeletePod {
            ordinal: 0,
            reason: DeleteReason::Failed
        }));
        c.sync();
        assert_eq!(c.deletes, 1);
        assert!(
            c.pods.get(&0).is_some_and(|p| p.state.phase.is_none()),
            "pod 0 recreated"
        );
        let expected_creates = if burst { 3 + 1 } else { 2 };
        assert_eq!(c.creates, expected_creates);
    }

    #[test]
    fn recreates_failed_pod() {
        // upstream RecreatesFailedPod (Monotonic and Burst)
        recreates_pod(PodPhase::Failed, false);
        recreates_pod(PodPhase::Failed, true);
    }

    #[test]
    fn recreates_succeeded_pod() {
        // upstream RecreatesSucceededPod (Monotonic and Burst)
        recreates_pod(PodPhase::Succeeded, false);
        recreates_pod(PodPhase::Succeeded, true);
    }

    #[test]
    fn recreates_pvc_for_pending_pod() {
        // upstream RecreatesPVCForPendingPod: pod 0's claims are deleted and it is Pending; the
        // sync creates the missing claims.
        let mut c = Cluster::new(3);
        c.sync();
        c.set_pending(0);
        c.pod(0).missing_claims = true;
        let p = c.sync();
        assert_eq!(p.actions, [Action::CreateMissingClaims { ordinal: 0 }]);
    }

    #[test]
    fn stale_claim_blocks_creation() {
        // upstream processReplica: with StatefulSetAutoDeletePVC, a pod whose claim is stale is
        // not created ("no more work can be done this round").
        let mut c = Cluster::new(1);
        c.stale.insert(0);
        let p = c.sync();
        assert!(p.actions.is_empty());
        assert_eq!(p.stop, Some(Stop::StaleClaim { ordinal: 0 }));
    }

    #[test]
    fn update_pod_failure_mutated_identity() {
        // upstream UpdatePodFailure: once a pod's identity is mutated the sync updates it.
        let mut c = Cluster::new(3);
        c.scale_up();
        c.pod(0).identity_and_storage_match = false;
        let p = c.sync();
        assert_eq!(p.actions, [Action::UpdatePod { ordinal: 0 }]);
    }

    #[test]
    fn creates_pods_with_start_ordinal() {
        // upstream TestStatefulSetControlWithStartOrdinal CreatesPodsWithStartOrdinal: start 2,
        // 3 replicas: ordinals 2, 3, 4.
        let mut c = Cluster::new(3);
        c.set.start_ordinal = 2;
        c.scale_up();
        assert_eq!(c.status.replicas, 3);
        assert_eq!(c.status.ready_replicas, 3);
        assert_eq!(c.status.updated_replicas, 3);
        assert_eq!(c.ordinals(), [2, 3, 4]);
    }

    #[test]
    fn scale_down_one_at_a_time_highest_first() {
        // upstream processCondemned under OrderedReady: condemned pods go highest first, one per
        // sync, waiting while one terminates; Parallel deletes them all at once.
        let mut c = Cluster::new(5);
        c.scale_up();
        c.set.replicas = 2;
        let p = c.sync();
        assert_eq!(
            p.actions,
            [Action::DeletePod {
                ordinal: 4,
                reason: DeleteReason::Condemned
            }]
        );
        assert_eq!(p.stop, Some(Stop::CondemnedDeleted { ordinal: 4 }));
        c.add_terminating(4);
        let p = c.sync();
        assert!(p.actions.is_empty());
        assert_eq!(p.stop, Some(Stop::CondemnedTerminating { ordinal: 4 }));

        let mut c = Cluster::new(5).burst();
        c.scale_up();
        c.set.replicas = 2;
        let p = c.sync();
        let deleted: Vec<i32> = p
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::DeletePod { ordinal, .. } => Some(*ordinal),
                _ => None,
            })
            .collect();
        assert_eq!(deleted, [4, 3, 2]);
    }

    #[test]
    fn unhealthy_pod_blocks_scale_down() {
        // upstream processCondemned: under OrderedReady an unhealthy condemned pod that is not
        // the first unhealthy pod blocks; the first unhealthy one itself may go.
        let mut c = Cluster::new(4);
        c.scale_up();
        c.set.replicas = 2;
        // pod 2 unhealthy, pod 3 healthy: pod 3 (healthy) goes first.
        c.pod(2).state.ready = false;
        let p = c.sync();
        assert_eq!(p.stop, Some(Stop::CondemnedDeleted { ordinal: 3 }));
        // pod 3 unhealthy too: pod 2 is the first unhealthy, so pod 3 waits.
        let mut c2 = Cluster::new(4);
        c2.scale_up();
        c2.set.replicas = 2;
        c2.pod(2).state.ready = false;
        c2.pod(3).state.ready = false;
        let p = c2.sync();
        assert!(p.actions.is_empty());
        assert_eq!(p.stop, Some(Stop::CondemnedUnhealthy { ordinal: 3 }));
        // only pod 3 unhealthy: it is the first unhealthy pod and is deleted.
        let mut c3 = Cluster::new(4);
        c3.scale_up();
        c3.set.replicas = 2;
        c3.pod(3).state.ready = false;
        assert_eq!(c3.sync().stop, Some(Stop::CondemnedDeleted { ordinal: 3 }));
    }

    #[test]
    fn unhealthy_replica_blocks_scale_down_ordered_ready() {
        // upstream updateStatefulSet: under OrderedReady the replicas must all be Running, Ready
        // and available before any condemned pod is considered.
        let mut c = Cluster::new(3);
        c.scale_up();
        c.set.replicas = 2;
        c.pod(1).state.ready = false;
        let p = c.sync();
        assert!(p.actions.is_empty());
        assert_eq!(p.stop, Some(Stop::NotRunningAndReady { ordinal: 1 }));
    }

    fn image_update(mut c: Cluster, new_replicas: i32) {
        c.scale_up();
        c.set.replicas = new_replicas;
        c.new_revision();
        c.update();
        assert!(
            c.revisions().iter().all(|r| *r == REV2),
            "{:?}",
            c.revisions()
        );
        assert_eq!(c.status.current_revision, REV2);
    }

    #[test]
    fn rolling_update_table() {
        // upstream TestStatefulSetControlRollingUpdate: monotonic and burst image update, and
        // with scale up (3 to 5) or down (5 to 3): every pod ends at the new image.
        image_update(Cluster::new(3), 3);
        image_update(Cluster::new(3), 5);
        image_update(Cluster::new(5), 3);
        image_update(Cluster::new(3).burst(), 3);
        image_update(Cluster::new(3).burst(), 5);
        image_update(Cluster::new(5).burst(), 3);
    }

    #[test]
    fn rolling_update_one_at_a_time_from_the_highest() {
        // upstream updateStatefulSet's RollingUpdate loop: the highest ordinal not at the update
        // revision is deleted, then the sync waits for its replacement to be available.
        let mut c = Cluster::new(3);
        c.scale_up();
        c.new_revision();
        let p = c.sync();
        assert_eq!(
            p.actions,
            [Action::DeletePod {
                ordinal: 2,
                reason: DeleteReason::Update
            }]
        );
        assert_eq!(p.stop, Some(Stop::UpdateDeleted { ordinal: 2 }));
        // upstream NewRevisionDeletePodFailure: the deleting sync reports currentReplicas 2.
        assert_eq!(p.status.current_replicas, 2);
        let p = c.sync();
        assert_eq!(
            p.actions,
            [Action::CreatePod {
                ordinal: 2,
                revision: REV2.into()
            }]
        );
        c.set_pending(2);
        c.set_running(2);
        c.set_ready(2);
        let p = c.sync();
        assert_eq!(p.stop, Some(Stop::UpdateDeleted { ordinal: 1 }));
    }

    fn on_delete(mut c: Cluster, new_replicas: i32) {
        // upstream TestStatefulSetControlOnDeleteUpdate: no pod is replaced by the update; pods
        // created after it (scale up) get the new revision; after a scale to 0 and back, all do.
        let old = c.set.replicas;
        c.set.update_strategy = UpdateStrategy::OnDelete;
        c.scale_up();
        c.set.replicas = new_replicas;
        c.new_revision();
        c.update();
        for (o, p) in &c.pods {
            let want = if *o < old { REV1 } else { REV2 };
            assert_eq!(p.revision, want, "pod {o}");
        }
        let replicas = c.set.replicas;
        c.set.replicas = 0;
        c.scale_down();
        c.set.replicas = replicas;
        c.scale_up();
        assert!(c.revisions().iter().all(|r| *r == REV2));
    }

    #[test]
    fn on_delete_update_table() {
        on_delete(Cluster::new(3), 3);
        on_delete(Cluster::new(3), 5);
        on_delete(Cluster::new(5), 3);
        on_delete(Cluster::new(3).burst(), 3);
        on_delete(Cluster::new(3).burst(), 5);
        on_delete(Cluster::new(5).burst(), 3);
    }

    fn partition_update(mut c: Cluster, new_replicas: i32) {
        // upstream TestStatefulSetControlRollingUpdateWithPartition: partition 2; pods below it
        // keep the old image, the others get the new one.
        c.set.update_strategy = UpdateStrategy::RollingUpdate {
            partition: 2,
            max_unavailable: None,
        };
        c.scale_up();
        c.set.replicas = new_replicas;
        c.new_revision();
        c.update();
        for (o, p) in &c.pods {
            let want = if *o < 2 { REV1 } else { REV2 };
            assert_eq!(p.revision, want, "pod {o}");
        }
    }

    #[test]
    fn rolling_update_with_partition_table() {
        partition_update(Cluster::new(3), 3);
        partition_update(Cluster::new(3), 5);
        partition_update(Cluster::new(3).burst(), 3);
        partition_update(Cluster::new(3).burst(), 5);
    }

    #[test]
    fn rolling_update_with_max_unavailable() {
        // upstream TestStatefulSetControlRollingUpdateWithMaxUnavailable (gate on): 6 pods,
        // partition 3, maxUnavailable 2, OrderedReady and Parallel.
        for parallel in [false, true] {
            let mut c = Cluster::new(6);
            if parallel {
                c = c.burst();
            }
            c.gates.max_unavailable_stateful_set = true;
            c.set.update_strategy = UpdateStrategy::RollingUpdate {
                partition: 3,
                max_unavailable: Some(IntOrPercent::Int(2)),
            };
            c.scale_up();
            c.new_revision();
            // maxUnavailable 2: pods 4 and 5 are deleted at once.
            c.sync();
            assert_eq!(c.ordinals(), [0, 1, 2, 3]);
            // create new pods
            c.sync();
            if parallel {
                // both recreated at once; pod 4 ready (5 only running) lets pod 3 go.
                assert_eq!(c.pods.len(), 6);
                c.set_pending(4);
                c.set_pending(5);
                c.set_running(4);
                c.set_running(5);
                c.set_ready(4);
                c.sync();
                assert_eq!(c.ordinals(), [0, 1, 2, 4, 5]);
            } else {
                // only pod 4 is created (OrderedReady); once ready, pod 5; once ready, pod 3
                // goes.
                assert_eq!(c.pods.len(), 5);
                c.set_pending(4);
                c.set_running(4);
                c.set_ready(4);
                c.sync();
                assert_eq!(c.pods.len(), 6);
                c.set_pending(5);
                c.set_running(5);
                c.set_ready(5);
                c.sync();
                assert_eq!(c.ordinals(), [0, 1, 2, 4, 5]);
            }
            // create new pod 3
            c.sync();
            assert_eq!(c.pods.len(), 6);
            // pods 3, 4, 5 ready: nothing more to update below the partition.
            c.set_pending(3);
            c.set_running(3);
            c.set_ready(3);
            c.set_running(5);
            c.set_ready(5);
            let before = c.pods.clone();
            c.sync();
            assert_eq!(c.pods, before);
            assert_eq!(c.revisions(), [REV1, REV1, REV1, REV2, REV2, REV2]);
        }
    }

    #[test]
    fn max_unavailable_in_ordered_mode_verify_invariant() {
        // upstream TestStatefulSetControlRollingUpdateWithMaxUnavailableInOrderedModeVerify
        // Invariant: 6 pods, partition 3, maxUnavailable 2, the update revision "" (an empty
        // ControllerRevision); terminating pods at the given ordinals; one pass of
        // updateStatefulSetAfterInvariantEstablished deletes max(0, 2 - terminating) pods.
        let cases: [&[i32]; 10] = [
            &[],
            &[5],
            &[3],
            &[4],
            &[5, 4],
            &[5, 3],
            &[4, 3],
            &[5, 4, 3],
            &[2],
            &[1],
        ];
        for terminating in cases {
            let mut c = Cluster::new(6);
            c.gates.max_unavailable_stateful_set = true;
            c.set.update_strategy = UpdateStrategy::RollingUpdate {
                partition: 3,
                max_unavailable: Some(IntOrPercent::Int(2)),
            };
            c.scale_up();
            for &o in terminating {
                c.add_terminating(o);
            }
            let slots: Vec<Slot> = c.pods.values().map(Slot::from_view).collect();
            let set = c.set;
            let stale = BTreeSet::new();
            let input = SyncInput {
                set: &set,
                current_revision: REV1,
                update_revision: "",
                pods: &[],
                stale_claim_ordinals: &stale,
                now: c.now,
                gates: c.gates,
            };
            let mut sync = Sync {
                input: &input,
                monotonic: true,
                replicas: slots,
                condemned: Vec::new(),
                actions: Vec::new(),
            };
            let mut status = StatefulSetStatusCounts {
                replicas: 6,
                ..StatefulSetStatusCounts::default()
            };
            sync.rolling_update_max_unavailable(3, Some(IntOrPercent::Int(2)), &mut status);
            let want = 2usize.saturating_sub(terminating.len());
            assert_eq!(sync.actions.len(), want, "terminating {terminating:?}");
        }
    }

    #[test]
    fn max_unavailable_is_ignored_with_the_gate_off() {
        // 1.34 default: MaxUnavailableStatefulSet off, one pod at a time despite maxUnavailable.
        let mut c = Cluster::new(6);
        c.set.update_strategy = UpdateStrategy::RollingUpdate {
            partition: 0,
            max_unavailable: Some(IntOrPercent::Int(3)),
        };
        c.scale_up();
        c.new_revision();
        let p = c.sync();
        assert_eq!(p.actions.len(), 1);
        assert_eq!(p.stop, Some(Stop::UpdateDeleted { ordinal: 5 }));
    }

    #[test]
    fn status_availability() {
        // upstream TestStatefulSetAvailability: 1 replica, minReadySeconds 3600; Ready since
        // 120 minutes: 1 available; since 30 minutes: 0 (and a requeue after minReadySeconds).
        for (mins, want) in [(120u64, 1), (30, 0)] {
            let mut c = Cluster::new(1).burst();
            c.scale_up();
            c.set.min_ready_seconds = 3600;
            let now = c.now;
            c.pod(0).state.ready_since = Some(SimTime::from_nanos(
                now.as_nanos() - mins * 60 * 1_000_000_000,
            ));
            let p = c.sync();
            assert_eq!(p.status.available_replicas, want);
            assert_eq!(
                p.requeue_after,
                (want == 0).then(|| SimDuration::from_secs(3600))
            );
        }
    }

    #[test]
    fn set_being_deleted_only_updates_status() {
        // upstream updateStatefulSet: "If the StatefulSet is being deleted, don't do anything
        // other than updating status."
        let mut c = Cluster::new(3);
        c.scale_up();
        c.set.replicas = 1;
        c.set.being_deleted = true;
        let p = c.sync();
        assert!(p.actions.is_empty());
        assert_eq!(p.stop, Some(Stop::SetBeingDeleted));
        assert_eq!(p.status.replicas, 3);
    }

    #[test]
    fn condemned_claims_get_owner_refs() {
        // upstream updateStatefulSet: condemned pods' claims are fixed before any scale-down.
        let mut c = Cluster::new(3).burst();
        c.scale_up();
        c.set.replicas = 2;
        c.pod(2).claims_match_policy = false;
        let p = c.sync();
        assert_eq!(
            p.actions,
            [
                Action::UpdateClaimOwnerRefs { ordinal: 2 },
                Action::DeletePod {
                    ordinal: 2,
                    reason: DeleteReason::Condemned
                }
            ]
        );
    }

    #[test]
    fn new_pod_revision_follows_partition() {
        // upstream newVersionedStatefulSetPod: below start + partition the current revision.
        let set = StatefulSetView {
            replicas: 5,
            start_ordinal: 2,
            update_strategy: UpdateStrategy::RollingUpdate {
                partition: 2,
                max_unavailable: None,
            },
            ..StatefulSetView::default()
        };
        assert_eq!(new_pod_revision(&set, 3, REV1, REV2), REV1);
        assert_eq!(new_pod_revision(&set, 4, REV1, REV2), REV2);
        let on_delete = StatefulSetView {
            update_strategy: UpdateStrategy::OnDelete,
            ..set
        };
        assert_eq!(new_pod_revision(&on_delete, 0, REV1, REV2), REV2);
    }
}
