//! Writes to pods and nodes.

use sim_core::{Context, SimDuration};

use super::{ApiError, ApiResult, ApiServer, ObjectKind, Op, OwnedPodCounts};
use crate::api::{
    Node, NodeId, OwnerKind, OwnerRef, Pod, PodId, PodPhase, SharedList, TaintEffect, Toleration,
    TolerationOperator, WorkloadId,
};
use crate::cluster::Event;
use crate::events::EventType;

impl ApiServer {
    /// `POST /pods`: admits the pod (resolves its controller reference), stores it and lets
    /// watchers know. A pod from a dump starts in the state the dump recorded.
    pub fn create_pod(&mut self, ctx: &mut Context<'_, Event>, mut pod: Pod) -> ApiResult<PodId> {
        self.check_available()?;
        self.check_pod_cap(&pod)?;
        let now = ctx.now();
        if let Some(owner) = &mut pod.owner
            && owner.id == WorkloadId::UNRESOLVED
        {
            match self.resolve_pod_owner(owner.kind, &pod.namespace, &owner.name) {
                Some(id) => owner.id = id,
                None => {
                    let message = format!(
                        "ownerReference names {} {}, which does not exist: the pod is an orphan",
                        owner.kind.as_str(),
                        owner.name
                    );
                    self.record(
                        now,
                        EventType::Warning,
                        "OwnerNotFound",
                        pod_object(&pod),
                        message,
                    );
                    pod.owner = None;
                }
            }
        }
        admit_default_tolerations(&mut pod);
        self.admit_pod_resources(&mut pod)?;
        let dumped = pod.dumped.take();
        let owner = pod.owner.as_ref().map(|o| (o.kind, o.id));
        let node_name = pod.node_name.clone();
        let id = self.store.add_pod(pod, now);
        self.counters.pods_created += 1;
        self.charge_pod(id);
        match owner {
            Some((kind, owner)) => {
                if let Some(pods) = self.owned_pods_mut(kind, owner) {
                    pods.insert(id);
                }
            }
            None => {
                self.orphan_pods.insert(id);
            }
        }
        if let Some(node) = node_name.as_deref().and_then(|n| self.store.node_id(n)) {
            // spec.nodeName set at creation: the pod skips the scheduler.
            self.store.bind(id, node, now);
            self.counters.pods_bound += 1;
        }
        if let Some(d) = dumped {
            let r = self.store.pod_mut(id);
            if let Some(phase) = d.phase {
                r.phase = phase;
            }
            if r.node.is_none() && r.phase != PodPhase::Pending {
                // A running pod must be on a node; one whose node is gone starts over.
                r.phase = PodPhase::Pending;
            }
            if r.phase == PodPhase::Running {
                r.running_at = Some(now);
                r.ready = d.ready;
                r.ready_since = d.ready.then_some(now);
            }
            r.start_time_offset_ns = d
                .start_time_offset_secs
                .map(|s| s.saturating_mul(1_000_000_000));
            r.restarts = d.restarts;
            if d.terminating && r.node.is_some() {
                self.store.mark_terminating(id, now);
            }
        }
        self.count(id, 1);
        self.changed(ctx, ObjectKind::Pod, id.0, Op::Added);
        if self.store.pod(id).deletion_timestamp.is_some() {
            self.changed(ctx, ObjectKind::Pod, id.0, Op::Deleting);
        }
        Ok(id)
    }

    /// Refuses a pod beyond [`ApiServer::pod_cap`], as a ResourceQuota refuses one beyond
    /// its `pods` limit: the writer records `FailedCreate` and tries again later, and the
    /// cluster stops growing.
    fn check_pod_cap(&self, pod: &Pod) -> ApiResult<()> {
        if self.pod_cap_reached() {
            return Err(ApiError::Forbidden(format!(
                "pods \"{}\" is forbidden: exceeds the cluster's pod cap: {} pods exist, the most kubesim runs at once",
                pod.name, self.pod_cap
            )));
        }
        Ok(())
    }

    /// Whether as many pods exist as [`ApiServer::pod_cap`] allows.
    pub fn pod_cap_reached(&self) -> bool {
        self.store.live_pod_count() >= self.pod_cap
    }

    /// `POST /pods/{name}/binding`.
    pub fn bind(
        &mut self,
        ctx: &mut Context<'_, Event>,
        pod: PodId,
        node: NodeId,
    ) -> ApiResult<()> {
        self.bind_after(ctx, pod, node, SimDuration::ZERO)
    }

    /// A bind whose request a client-side rate limit holds back for `wait`: the scheduler's
    /// cache assumes the pod on its node now (so later cycles count it there), and the
    /// binding commits — and watchers such as the kubelet learn of it — after the wait.
    pub fn bind_after(
        &mut self,
        ctx: &mut Context<'_, Event>,
        pod: PodId,
        node: NodeId,
        wait: SimDuration,
    ) -> ApiResult<()> {
        self.check_available()?;
        let r = self.store.pod(pod);
        if !r.is_active() {
            return Err(ApiError::NotFound);
        }
        if r.node.is_some() {
            return Err(ApiError::Refused(format!(
                "pod {} is already assigned to a node",
                r.pod.key()
            )));
        }
        self.store.bind(pod, node, ctx.now());
        self.counters.pods_bound += 1;
        self.changed_after(ctx, wait, ObjectKind::Pod, pod.0, Op::Bound);
        Ok(())
    }

    /// The kubelet's status update: the pod's containers run; `ready` is its Ready condition.
    pub fn set_pod_running(
        &mut self,
        ctx: &mut Context<'_, Event>,
        pod: PodId,
        ready: bool,
    ) -> ApiResult<()> {
        self.check_available()?;
        let now = ctx.now();
        let r = self.store.pod(pod);
        if !r.is_active() {
            return Err(ApiError::NotFound);
        }
        if r.phase == PodPhase::Running && r.ready == ready {
            return Ok(());
        }
        self.count(pod, -1);
        let r = self.store.pod_mut(pod);
        if r.phase != PodPhase::Running {
            r.phase = PodPhase::Running;
            r.running_at = Some(now);
        }
        if r.ready != ready {
            if r.ready {
                self.counters.readiness_lost += 1;
            }
            r.ready = ready;
            r.ready_since = ready.then_some(now);
        }
        self.count(pod, 1);
        self.changed(ctx, ObjectKind::Pod, pod.0, Op::Modified);
        Ok(())
    }

    /// The kubelet's status update when a pod's containers ended for good: phase Succeeded or
    /// Failed, with the main container's exit code. The pod gives its node's resources back.
    pub fn finish_pod(
        &mut self,
        ctx: &mut Context<'_, Event>,
        pod: PodId,
        phase: PodPhase,
        exit_code: i32,
    ) -> ApiResult<()> {
        self.check_available()?;
        let r = self.store.pod(pod);
        if !r.is_active() {
            return Err(ApiError::NotFound);
        }
        if matches!(r.phase, PodPhase::Succeeded | PodPhase::Failed) {
            return Ok(());
        }
        self.count(pod, -1);
        self.release_pod_quota(pod, false);
        self.store.finish_pod(pod, phase, exit_code, ctx.now());
        self.count(pod, 1);
        self.changed(ctx, ObjectKind::Pod, pod.0, Op::Modified);
        Ok(())
    }

    /// The kubelet's status update when it fails the pod itself: an eviction under node
    /// pressure, or a pod its admission rejected (no container ran: no exit code). Phase
    /// Failed with `status.reason` and `status.message`; the node's resources are released.
    pub fn fail_pod_with_reason(
        &mut self,
        ctx: &mut Context<'_, Event>,
        pod: PodId,
        exit_code: Option<i32>,
        reason: &'static str,
        message: String,
    ) -> ApiResult<()> {
        self.check_available()?;
        let r = self.store.pod(pod);
        if !r.is_active() {
            return Err(ApiError::NotFound);
        }
        if matches!(r.phase, PodPhase::Succeeded | PodPhase::Failed) {
            return Ok(());
        }
        if r.ready {
            self.counters.readiness_lost += 1;
        }
        self.count(pod, -1);
        self.release_pod_quota(pod, false);
        self.store
            .finish_pod(pod, PodPhase::Failed, exit_code.unwrap_or(0), ctx.now());
        let r = self.store.pod_mut(pod);
        r.exit_code = exit_code;
        r.reason = Some(reason);
        r.message = Some(message);
        self.count(pod, 1);
        self.changed(ctx, ObjectKind::Pod, pod.0, Op::Modified);
        Ok(())
    }

    /// Why the main container last terminated (`lastState.terminated.reason`), part of the
    /// status update just made for its exit (the restart or the final phase).
    pub fn set_last_termination_reason(&mut self, pod: PodId, reason: &'static str) {
        if let Some(r) = self
            .store
            .pods
            .get_mut(pod.index())
            .and_then(crate::store::PodSlot::kept_mut)
        {
            r.last_termination_reason = Some(reason);
        }
    }

    /// The kubelet's status update when a container exited and will be restarted: the pod
    /// is not Ready until it runs again. Returns the container's restart count.
    pub fn restart_container(
        &mut self,
        ctx: &mut Context<'_, Event>,
        pod: PodId,
    ) -> ApiResult<i32> {
        self.check_available()?;
        if !self.store.pod(pod).is_active() {
            return Err(ApiError::NotFound);
        }
        self.count(pod, -1);
        let r = self.store.pod_mut(pod);
        if r.ready {
            self.counters.readiness_lost += 1;
        }
        r.restarts += 1;
        r.ready = false;
        r.ready_since = None;
        let restarts = r.restarts;
        self.count(pod, 1);
        self.changed(ctx, ObjectKind::Pod, pod.0, Op::Modified);
        Ok(restarts)
    }

    /// `DELETE /pods/{name}`: graceful deletion. A pod on a node gets a deletionTimestamp and
    /// its kubelet stops it; one on no node, or in a terminal phase, goes at once (upstream
    /// `podStrategy.CheckGracefulDelete`). Deleting a terminating pod again changes nothing.
    pub fn delete_pod(&mut self, ctx: &mut Context<'_, Event>, pod: PodId) -> ApiResult<()> {
        self.check_available()?;
        let r = self.store.pod(pod);
        if !r.is_active() {
            return Err(ApiError::NotFound);
        }
        if r.deletion_timestamp.is_some() {
            return Ok(());
        }
        let immediate = r.node.is_none()
            || matches!(r.phase, PodPhase::Succeeded | PodPhase::Failed)
            || r.pod.termination_grace_period_seconds == 0;
        if immediate {
            self.remove_pod_now(ctx, pod);
        } else {
            self.count(pod, -1);
            self.store.mark_terminating(pod, ctx.now());
            self.count(pod, 1);
            self.changed(ctx, ObjectKind::Pod, pod.0, Op::Deleting);
        }
        Ok(())
    }

    /// The kubelet's final delete once the pod's containers stopped, or a forced delete
    /// (`--grace-period=0 --force`): the pod is gone and its node's resources are free.
    pub fn remove_pod(&mut self, ctx: &mut Context<'_, Event>, pod: PodId) -> ApiResult<()> {
        self.check_available()?;
        if !self.store.pod(pod).is_active() {
            return Err(ApiError::NotFound);
        }
        self.remove_pod_now(ctx, pod);
        Ok(())
    }

    fn remove_pod_now(&mut self, ctx: &mut Context<'_, Event>, pod: PodId) {
        self.count(pod, -1);
        self.release_pod_quota(pod, true);
        if let Some((kind, owner)) = self
            .store
            .pod(pod)
            .pod
            .owner
            .as_ref()
            .map(|o| (o.kind, o.id))
            && let Some(pods) = self.owned_pods_mut(kind, owner)
        {
            pods.remove(&pod);
        }
        self.orphan_pods.remove(&pod);
        self.store.delete_pod(pod, ctx.now());
        self.changed(ctx, ObjectKind::Pod, pod.0, Op::Deleted);
    }

    /// What a pod adds to its owner's counts.
    fn contribution(&self, pod: PodId) -> Option<(WorkloadId, OwnedPodCounts)> {
        let r = self.store.pod(pod);
        let owner = r.pod.owner.as_ref().filter(|o| o.kind.is_replica_set())?.id;
        let rs = self.replica_sets.get(owner.index())?;
        let active = crate::controllers::replicaset::is_pod_active(r);
        let labeled = rs
            .rs
            .template
            .pod
            .labels
            .iter()
            .all(|(k, v)| r.pod.labels.get(k) == Some(v));
        Some((
            owner,
            OwnedPodCounts {
                active: i32::from(active),
                ready: i32::from(active && r.ready),
                fully_labeled: i32::from(active && labeled),
            },
        ))
    }

    /// Adds (`sign` 1) or takes away (-1) a pod's part of its owner's counts: called around
    /// every write that changes what the counts depend on.
    fn count(&mut self, pod: PodId, sign: i32) {
        if let Some((owner, c)) = self.contribution(pod) {
            self.replica_sets[owner.index()].counts.add(c, sign);
        }
    }

    /// Counts a ReplicaSet's pods from scratch (its template's labels changed).
    pub(crate) fn recount_replica_set(&mut self, id: WorkloadId) {
        let pods: Vec<PodId> = self.replica_sets[id.index()].pods.iter().copied().collect();
        let mut counts = OwnedPodCounts::default();
        for p in pods {
            if let Some((_, c)) = self.contribution(p) {
                counts.add(c, 1);
            }
        }
        self.replica_sets[id.index()].counts = counts;
    }

    /// Sets or clears `status.nominatedNodeName` (the scheduler, after preemption).
    pub fn set_nominated_node(
        &mut self,
        ctx: &mut Context<'_, Event>,
        pod: PodId,
        node: Option<NodeId>,
    ) -> ApiResult<()> {
        self.check_available()?;
        self.store.set_nominated_node(pod, node);
        self.changed(ctx, ObjectKind::Pod, pod.0, Op::Modified);
        Ok(())
    }

    /// The scheduler's `DisruptionTarget` condition on a preemption victim.
    pub fn mark_preempted(&mut self, pod: PodId) {
        self.counters.preemption_victims += 1;
        self.store.pod_mut(pod).preempted_by_scheduler = true;
    }

    /// Sets or clears a pod's controller reference (adoption, release, orphaning).
    pub fn set_pod_owner(
        &mut self,
        ctx: &mut Context<'_, Event>,
        pod: PodId,
        owner: Option<(OwnerKind, WorkloadId)>,
    ) -> ApiResult<()> {
        self.check_available()?;
        self.count(pod, -1);
        if let Some((kind, old)) = self
            .store
            .pod(pod)
            .pod
            .owner
            .as_ref()
            .map(|o| (o.kind, o.id))
            && let Some(pods) = self.owned_pods_mut(kind, old)
        {
            pods.remove(&pod);
        }
        let owner = owner.map(|(kind, id)| OwnerRef {
            kind,
            name: self.owner_name(kind, id).unwrap_or_default().to_string(),
            id,
        });
        if owner.is_none() {
            self.orphan_pods.insert(pod);
        } else {
            self.orphan_pods.remove(&pod);
        }
        if let Some(o) = &owner
            && let Some(pods) = self.owned_pods_mut(o.kind, o.id)
        {
            pods.insert(pod);
        }
        self.store.pod_mut(pod).pod.owner = owner;
        self.count(pod, 1);
        self.changed(ctx, ObjectKind::Pod, pod.0, Op::Modified);
        Ok(())
    }

    /// A node registers (kubelet start, or a pool growing).
    pub fn add_node(&mut self, ctx: &mut Context<'_, Event>, node: Node) -> NodeId {
        let id = self.store.add_node(node);
        self.store.nodes[id.index()].added_at = ctx.now();
        self.changed(ctx, ObjectKind::Node, id.0, Op::Added);
        // The kubelet that registers the node takes its Lease at once.
        self.leases.start(id, ctx.now());
        id
    }

    /// `kubectl delete node`: the node goes; pods bound to it stay until the pod garbage
    /// collector removes them (their controllers then replace them elsewhere).
    pub fn delete_node(&mut self, ctx: &mut Context<'_, Event>, node: NodeId) -> ApiResult<()> {
        self.check_available()?;
        let info = &mut self.store.nodes[node.index()];
        if !info.exists {
            return Err(ApiError::NotFound);
        }
        info.exists = false;
        info.removed_at = Some(ctx.now());
        self.store.touch_nodes();
        self.changed(ctx, ObjectKind::Node, node.0, Op::Deleted);
        Ok(())
    }

    /// `kubectl cordon` / `uncordon`: sets `spec.unschedulable`.
    pub fn set_unschedulable(
        &mut self,
        ctx: &mut Context<'_, Event>,
        node: NodeId,
        unschedulable: bool,
    ) -> ApiResult<()> {
        self.check_available()?;
        let info = &mut self.store.nodes[node.index()];
        if info.node.unschedulable == unschedulable {
            return Ok(());
        }
        info.node.unschedulable = unschedulable;
        self.store.touch_nodes();
        self.changed(ctx, ObjectKind::Node, node.0, Op::Modified);
        Ok(())
    }
}

/// Upstream admission plugin `DefaultTolerationSeconds`: every pod tolerates the
/// `node.kubernetes.io/not-ready` and `unreachable` NoExecute taints for 300s, unless it says
/// otherwise, so the node lifecycle controller's taints evict it only after five minutes.
pub const DEFAULT_TOLERATION_SECONDS: i64 = 300;
pub use crate::api::taints::{TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE};

pub(crate) fn admit_default_tolerations(pod: &mut Pod) {
    // Pods stamped from one template arrive sharing one list and leave sharing one: the last
    // answer is remembered by the list it was computed from. Sharing never changes what a pod
    // tolerates, only how many copies of the list exist.
    thread_local! {
        static LAST: std::cell::RefCell<Option<(SharedList<Toleration>, SharedList<Toleration>)>> =
            const { std::cell::RefCell::new(None) };
    }
    let cached = LAST.with(|last| {
        last.borrow()
            .as_ref()
            .filter(|(given, _)| given.ptr_eq(&pod.tolerations))
            .map(|(_, admitted)| admitted.clone())
    });
    if let Some(admitted) = cached {
        pod.tolerations = admitted;
        return;
    }
    let given = pod.tolerations.clone();
    let mut tolerations = given.to_vec();
    for key in [TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE] {
        // Upstream: `(toleration.Key == TaintNodeNotReady || len(toleration.Key) == 0) &&
        // (toleration.Effect == TaintEffectNoExecute || len(toleration.Effect) == 0)`.
        let covered = tolerations.iter().any(|t| {
            (t.key == key || t.key.is_empty())
                && t.effect.is_none_or(|e| e == TaintEffect::NoExecute)
        });
        if !covered {
            tolerations.push(Toleration {
                key: key.to_string(),
                operator: TolerationOperator::Exists,
                value: String::new(),
                effect: Some(TaintEffect::NoExecute),
                toleration_seconds: Some(DEFAULT_TOLERATION_SECONDS),
            });
        }
    }
    if tolerations.len() != given.len() {
        pod.tolerations = tolerations.into();
    }
    let admitted = pod.tolerations.clone();
    LAST.with(|last| *last.borrow_mut() = Some((given, admitted)));
}

pub(crate) fn pod_object(p: &Pod) -> String {
    format!("pod/{}", p.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{TaintEffect, Toleration, TolerationOperator};

    fn toleration(key: &str, effect: Option<TaintEffect>) -> Toleration {
        Toleration {
            key: key.into(),
            operator: TolerationOperator::Exists,
            value: String::new(),
            effect,
            toleration_seconds: None,
        }
    }

    /// Upstream `plugin/pkg/admission/defaulttolerationseconds/admission_test.go`: a pod with
    /// no tolerations gets both, 300s each; one that tolerates a key with NoExecute (or every
    /// effect) keeps its own; an empty key covers both; a NoSchedule toleration covers neither.
    #[test]
    fn default_toleration_seconds_as_upstream_admits() {
        let keys = |p: &Pod| -> Vec<(String, Option<i64>)> {
            p.tolerations
                .iter()
                .map(|t| (t.key.clone(), t.toleration_seconds))
                .collect()
        };
        let mut p = Pod::default();
        admit_default_tolerations(&mut p);
        assert_eq!(
            keys(&p),
            [
                (TAINT_NODE_NOT_READY.to_string(), Some(300)),
                (TAINT_NODE_UNREACHABLE.to_string(), Some(300))
            ]
        );
        let mut p = Pod {
            tolerations: vec![toleration(
                TAINT_NODE_NOT_READY,
                Some(TaintEffect::NoExecute),
            )]
            .into(),
            ..Pod::default()
        };
        admit_default_tolerations(&mut p);
        assert_eq!(p.tolerations.len(), 2);
        assert_eq!(p.tolerations[0].toleration_seconds, None);
        assert_eq!(p.tolerations[1].key, TAINT_NODE_UNREACHABLE);
        let mut p = Pod {
            tolerations: vec![toleration("", None)].into(),
            ..Pod::default()
        };
        admit_default_tolerations(&mut p);
        assert_eq!(p.tolerations.len(), 1);
        let mut p = Pod {
            tolerations: vec![toleration(
                TAINT_NODE_NOT_READY,
                Some(TaintEffect::NoSchedule),
            )]
            .into(),
            ..Pod::default()
        };
        admit_default_tolerations(&mut p);
        assert_eq!(p.tolerations.len(), 3);
    }
}
