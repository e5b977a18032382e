//! ReplicaSet controller (upstream `pkg/controller/replicaset/replica_set.go`), which also runs
//! ReplicationControllers (`pkg/controller/replication` wraps it): keeps the number of active
//! pods matching the selector equal to `spec.replicas`, at most `burstReplicas` creations or
//! deletions per sync, and waits for its own writes to come back through the watch
//! (expectations) before acting again.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::{Context, SimDuration, SimTime};

use super::controller_utils::{
    ControllerExpectations, PodRank, pods_to_delete as controller_pods_to_delete,
};
use super::names::unique_pod_name;
use super::{Reconciler, SyncOutcome};
use crate::api::{OwnerRef, PodId, PodPhase, WorkloadId};
use crate::apiserver::{ApiServer, Change, ObjectKind, Op, ReplicaSetStatus};
use crate::cluster::Event;
use crate::events::EventType;
use crate::store::PodRecord;

/// Upstream `BurstReplicas`: at most this many creations or deletions per sync.
pub const BURST_REPLICAS: usize = 500;

#[derive(Default)]
pub struct ReplicaSetController {
    expectations: ControllerExpectations,
    /// Pods this controller deleted and has not yet seen go, per ReplicaSet (upstream
    /// `UIDTrackingControllerExpectations`).
    deleting: BTreeMap<WorkloadId, BTreeSet<PodId>>,
    /// `spec.replicas` of each ReplicaSet as this controller's informer last saw it: the
    /// Deployment controller scales ReplicaSets, and acting on a scale before its watch event
    /// arrives would let a new ReplicaSet grow before the old one's scale-down is seen.
    seen_replicas: BTreeMap<WorkloadId, i32>,
    /// ReplicaSets whose owned pods were checked against the selector once. Selectors are
    /// immutable (apps/v1) and kubesim changes no pod's labels, so only pods that came with an
    /// ownerReference (from a dump) can fail to match, and only the first sync looks.
    claimed: BTreeSet<WorkloadId>,
}

/// Upstream `controller.IsPodActive`: not terminal and not being deleted.
pub fn is_pod_active(r: &PodRecord) -> bool {
    r.is_active()
        && r.deletion_timestamp.is_none()
        && !matches!(r.phase, PodPhase::Succeeded | PodPhase::Failed)
}

/// Upstream `podutil.IsPodAvailable`: Ready for longer than `min_ready_seconds` ("Before").
pub fn is_pod_available(r: &PodRecord, min_ready_seconds: i32, now: SimTime) -> bool {
    if !r.ready {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    let secs = u64::try_from(min_ready_seconds).unwrap_or(0);
    r.ready_since
        .is_some_and(|t| t.saturating_add(SimDuration::from_secs(secs)) < now)
}

impl ReplicaSetController {
    fn deletion_observed(&mut self, rs: WorkloadId, pod: PodId) {
        if let Some(set) = self.deleting.get_mut(&rs)
            && set.remove(&pod)
        {
            self.expectations.deletion_observed(rs.0);
        }
    }

    /// Upstream `manageReplicas` with `active` pods (their number: the list is gathered only
    /// when some must go).
    fn manage_replicas(
        &mut self,
        key: WorkloadId,
        active: usize,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<(), ()> {
        let now = ctx.now();
        let obj = api.replica_set(key);
        let replicas = self
            .seen_replicas
            .get(&key)
            .copied()
            .unwrap_or(obj.rs.replicas);
        let want = usize::try_from(replicas.max(0)).unwrap_or(0);
        let object = format!("{}/{}", obj.rs.kind.resource(), obj.rs.name);
        if active < want {
            let n = (want - active).min(BURST_REPLICAS);
            self.expectations.expect_creations(key.0, n as i64, now);
            for created in 0..n {
                let obj = api.replica_set(key);
                let mut pod = obj.rs.template.pod.clone();
                pod.owner = Some(OwnerRef {
                    kind: obj.rs.kind,
                    name: obj.rs.name.clone(),
                    id: key,
                });
                pod.name = unique_pod_name(api, ctx, &obj.rs.name, &pod.namespace);
                pod.dumped = None;
                let name = pod.name.clone();
                match api.create_pod(ctx, pod) {
                    Ok(_) => api.record(
                        now,
                        EventType::Normal,
                        "SuccessfulCreate",
                        object.clone(),
                        format!("Created pod: {name}"),
                    ),
                    Err(e) => {
                        // Upstream: the creations that were skipped will never be observed.
                        for _ in created..n {
                            self.expectations.creation_observed(key.0);
                        }
                        api.record(
                            now,
                            EventType::Warning,
                            "FailedCreate",
                            object,
                            format!("Error creating: {e}"),
                        );
                        return Err(());
                    }
                }
            }
        } else if active > want {
            let n = (active - want).min(BURST_REPLICAS);
            let active: Vec<PodId> = api
                .replica_set(key)
                .pods
                .iter()
                .copied()
                .filter(|p| is_pod_active(api.store.pod(*p)))
                .collect();
            let victims = pods_to_delete(api, key, &active, n, now);
            self.expectations
                .expect_deletions(key.0, victims.len() as i64, now);
            self.deleting
                .entry(key)
                .or_default()
                .extend(victims.iter().copied());
            for pod in victims {
                let name = api.store.pod(pod).pod.name.clone();
                match api.delete_pod(ctx, pod) {
                    Ok(()) => api.record(
                        now,
                        EventType::Normal,
                        "SuccessfulDelete",
                        object.clone(),
                        format!("Deleted pod: {name}"),
                    ),
                    Err(e) => {
                        self.deletion_observed(key, pod);
                        api.record(
                            now,
                            EventType::Warning,
                            "FailedDelete",
                            object.clone(),
                            format!("Error deleting: {e}"),
                        );
                        return Err(());
                    }
                }
            }
        }
        Ok(())
    }
}

/// Upstream `getPodsToDelete`: rank the active pods by `ActivePodsWithRanks`, where a pod's
/// rank is the number of pods related to it (the pods of every ReplicaSet of the same
/// Deployment) on its node, and delete the first `n`.
pub fn pods_to_delete(
    api: &ApiServer,
    key: WorkloadId,
    active: &[PodId],
    n: usize,
    now: SimTime,
) -> Vec<PodId> {
    let rs = api.replica_set(key);
    let related: Vec<PodId> = match &rs.rs.owner {
        Some(o) if o.id.index() < api.deployments.len() => api
            .deployment(o.id)
            .replica_sets
            .iter()
            .flat_map(|r| api.replica_set(*r).pods.iter().copied())
            .collect(),
        _ => rs.pods.iter().copied().collect(),
    };
    let mut per_node: BTreeMap<crate::api::NodeId, i32> = BTreeMap::new();
    for p in related {
        let r = api.store.pod(p);
        if is_pod_active(r)
            && let Some(node) = r.node
        {
            *per_node.entry(node).or_default() += 1;
        }
    }
    let rank = |p: PodId| -> PodRank {
        let r = api.store.pod(p);
        PodRank {
            assigned: r.node.is_some(),
            phase: r.phase,
            ready: r.ready,
            ready_since: r.ready_since,
            deletion_cost: r.pod.deletion_cost,
            rank: r.node.and_then(|n| per_node.get(&n).copied()).unwrap_or(0),
            restarts: r.restarts,
            created: r.created_at,
            id: p.0,
        }
    };
    let ranked: Vec<PodRank> = active.iter().map(|p| rank(*p)).collect();
    // Upstream's order is not always transitive; this sort never panics on it.
    controller_pods_to_delete(&ranked, n, now)
        .into_iter()
        .map(PodId)
        .collect()
}

impl Reconciler for ReplicaSetController {
    type Key = WorkloadId;

    fn on_change(
        &mut self,
        change: &Change,
        api: &ApiServer,
        _now: SimTime,
        enqueue: &mut dyn FnMut(WorkloadId),
    ) {
        match change.kind {
            ObjectKind::ReplicaSet => {
                let id = WorkloadId(change.id);
                if change.op == Op::Deleted {
                    self.expectations.delete_expectations(id.0);
                    self.deleting.remove(&id);
                    self.seen_replicas.remove(&id);
                    self.claimed.remove(&id);
                } else {
                    self.seen_replicas.insert(id, change.replicas);
                }
                enqueue(id);
            }
            ObjectKind::Pod => {
                let pod = PodId(change.id);
                let r = api.store.pod(pod);
                match &r.pod.owner {
                    Some(o) if o.id.index() < api.replica_sets.len() => {
                        match change.op {
                            Op::Added => self.expectations.creation_observed(o.id.0),
                            Op::Deleting | Op::Deleted => self.deletion_observed(o.id, pod),
                            _ => {}
                        }
                        enqueue(o.id);
                    }
                    _ => {
                        if change.op == Op::Deleted || !is_pod_active(r) {
                            return;
                        }
                        // An orphan: every ReplicaSet that could adopt it looks (upstream
                        // `getPodReplicaSets`).
                        for rs in &api.replica_sets {
                            if rs.exists()
                                && rs.rs.namespace == r.pod.namespace
                                && rs.rs.selector.matches(&r.pod.labels)
                            {
                                enqueue(rs.id);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn sync(
        &mut self,
        key: WorkloadId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> SyncOutcome {
        let now = ctx.now();
        let obj = api.replica_set(key);
        if obj.deleted {
            self.expectations.delete_expectations(key.0);
            return SyncOutcome::Done;
        }
        let needs_sync = self.expectations.satisfied_expectations(key.0, now);
        let deleting = obj.deletion_timestamp.is_some();
        // Upstream `claimPods`: release owned pods the selector no longer matches, adopt
        // orphans it matches (not while the ReplicaSet is being deleted).
        if self.claimed.insert(key) {
            let selector = &obj.rs.selector;
            let release: Vec<PodId> = obj
                .pods
                .iter()
                .copied()
                .filter(|p| !selector.matches(&api.store.pod(*p).pod.labels))
                .collect();
            for p in release {
                if api.set_pod_owner(ctx, p, None).is_err() {
                    self.claimed.remove(&key);
                    return SyncOutcome::Failed;
                }
            }
        }
        if !deleting && !api.orphan_pods.is_empty() {
            let rs = &api.replica_set(key).rs;
            let kind = rs.kind;
            let adopt: Vec<PodId> = api
                .orphan_pods
                .iter()
                .copied()
                .filter(|p| {
                    let r = api.store.pod(*p);
                    is_pod_active(r)
                        && r.pod.namespace == rs.namespace
                        && rs.selector.matches(&r.pod.labels)
                })
                .collect();
            for p in adopt {
                if api.set_pod_owner(ctx, p, Some((kind, key))).is_err() {
                    return SyncOutcome::Failed;
                }
            }
        }
        // Upstream `calculateStatus` over the active pods as they are before this sync's
        // writes (the informer has not seen them yet), from the counts the API server keeps.
        let obj = api.replica_set(key);
        let counts = obj.counts;
        let min_ready = obj.rs.min_ready_seconds;
        let available = if min_ready <= 0 {
            counts.ready
        } else {
            obj.pods
                .iter()
                .filter(|p| {
                    let r = api.store.pod(**p);
                    is_pod_active(r) && is_pod_available(r, min_ready, now)
                })
                .count() as i32
        };
        let status = ReplicaSetStatus {
            replicas: counts.active,
            fully_labeled_replicas: counts.fully_labeled,
            ready_replicas: counts.ready,
            available_replicas: available,
            observed_generation: obj.generation,
        };
        let spec = self
            .seen_replicas
            .get(&key)
            .copied()
            .unwrap_or(obj.rs.replicas);
        let mut outcome = SyncOutcome::Done;
        let active = usize::try_from(counts.active).unwrap_or(0);
        if needs_sync && !deleting && self.manage_replicas(key, active, api, ctx).is_err() {
            outcome = SyncOutcome::Failed;
        }
        if api
            .update_replica_set_status(ctx, key, status.clone())
            .is_err()
        {
            return SyncOutcome::Failed;
        }
        // Upstream: "Resync the ReplicaSet after MinReadySeconds as a last line of defense to
        // guard against clock-skew."
        if outcome == SyncOutcome::Done
            && min_ready > 0
            && status.ready_replicas == spec
            && status.available_replicas != spec
        {
            return SyncOutcome::RequeueAfter(SimDuration::from_secs(
                u64::try_from(min_ready).unwrap_or(0),
            ));
        }
        outcome
    }
}
