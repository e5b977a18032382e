//! The taint eviction controller (upstream `pkg/controller/tainteviction`, formerly the
//! NoExecute taint manager): deletes pods bound to nodes with NoExecute taints they do not
//! tolerate, at once, or once the shortest `tolerationSeconds` of the tolerations in use has
//! passed since the controller first saw the pod on the tainted node. The timed deletions
//! (`timed_workers.go`) are cancelled when the taints go or the pod does.
//!
//! Keys: a node whose NoExecute taints changed (`handleNodeUpdate`) and a pod
//! (`handlePodUpdate`, and its pending timed deletion, which fires by requeueing the pod's key
//! until its `fireAt`). A node's change also enqueues the pods bound to it, after the node, so
//! each pod is looked at with the node's taints already recorded, as upstream's node worker does.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::{Context, SimDuration, SimTime};

use super::{Reconciler, SyncOutcome};
use crate::api::{NodeId, PodId, Taint, TaintEffect, Toleration};
use crate::apiserver::{ApiError, ApiServer, Change, ObjectKind, Op};
use crate::cluster::Event;
use crate::events::EventType;

/// Upstream `retries`: attempts at deleting a pod when its time has come.
pub const DELETE_RETRIES: u32 = 5;
/// Upstream sleeps this long between the attempts.
pub const DELETE_RETRY_INTERVAL: SimDuration = SimDuration::from_millis(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TaintEvictionKey {
    Node(NodeId),
    Pod(PodId),
}

/// Upstream `TimedWorker`: a deletion due at `fire_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedWorker {
    pub created_at: SimTime,
    pub fire_at: SimTime,
    /// Created with `fireAt <= createdAt`: upstream runs it at once and keeps a nil entry,
    /// which `CancelWork` removes without reporting a cancellation.
    pub immediate: bool,
}

#[derive(Default)]
pub struct TaintEvictionController {
    /// Upstream `taintedNodes`: each node's NoExecute taints, as last handled.
    tainted_nodes: BTreeMap<NodeId, Vec<Taint>>,
    /// The NoExecute taints the node informer last delivered (`NodeUpdated` compares them).
    seen_taints: BTreeMap<NodeId, Vec<Taint>>,
    /// Pods with an update to handle (`podUpdateQueue`).
    pending_pods: BTreeSet<PodId>,
    /// Upstream `taintEvictionQueue.workers`, keyed by pod.
    workers: BTreeMap<PodId, TimedWorker>,
    /// Deletions under way: attempts made so far.
    deleting: BTreeMap<PodId, u32>,
    started: bool,
}

/// Upstream `getNoExecuteTaints`.
pub fn no_execute_taints(taints: &[Taint]) -> Vec<Taint> {
    taints
        .iter()
        .filter(|t| t.effect == TaintEffect::NoExecute)
        .cloned()
        .collect()
}

/// Upstream `v1helper.GetMatchingTolerations`: whether every taint is tolerated, and for each
/// taint the first toleration that tolerates it.
pub fn matching_tolerations<'a>(
    taints: &[Taint],
    tolerations: &'a [Toleration],
) -> Option<Vec<&'a Toleration>> {
    let mut used = Vec::with_capacity(taints.len());
    for taint in taints {
        used.push(tolerations.iter().find(|t| t.tolerates(taint))?);
    }
    Some(used)
}

/// Upstream `getMinTolerationTime`: the shortest `tolerationSeconds` (zero for none at all,
/// or for a non-positive one); `None` when every toleration is unbounded (upstream's -1).
pub fn min_toleration_time(tolerations: &[&Toleration]) -> Option<SimDuration> {
    if tolerations.is_empty() {
        return Some(SimDuration::ZERO);
    }
    let mut min: Option<i64> = None;
    for t in tolerations {
        if let Some(s) = t.toleration_seconds {
            if s <= 0 {
                return Some(SimDuration::ZERO);
            }
            min = Some(min.map_or(s, |m| m.min(s)));
        }
    }
    min.map(|s| SimDuration::from_secs(s.unsigned_abs()))
}

impl TaintEvictionController {
    /// The pending timed deletion of a pod, if any.
    pub fn worker(&self, pod: PodId) -> Option<&TimedWorker> {
        self.workers.get(&pod)
    }

    fn start(&mut self, api: &ApiServer, enqueue: &mut dyn FnMut(TaintEvictionKey)) {
        self.started = true;
        // The informers list what exists: nodes already tainted are handled as added.
        for info in api.store.live_nodes() {
            let taints = no_execute_taints(&info.node.taints);
            if !taints.is_empty() {
                self.seen_taints.insert(info.id, taints);
                self.node_updated(info.id, api, enqueue);
            }
        }
    }

    /// Upstream `NodeUpdated`: the node, then its pods.
    fn node_updated(
        &mut self,
        node: NodeId,
        api: &ApiServer,
        enqueue: &mut dyn FnMut(TaintEvictionKey),
    ) {
        enqueue(TaintEvictionKey::Node(node));
        let info = api.store.node(node);
        if !info.exists {
            return;
        }
        for &pod in &info.pods {
            self.pending_pods.insert(pod);
            enqueue(TaintEvictionKey::Pod(pod));
        }
    }

    fn cancel_work_with_event(&mut self, pod: PodId, api: &mut ApiServer, now: SimTime) {
        let Some(w) = self.workers.remove(&pod) else {
            return;
        };
        self.deleting.remove(&pod);
        if !w.immediate {
            let p = &api.store.pod(pod).pod;
            let (object, message) = (
                format!("pod/{}", p.name),
                format!("Cancelling deletion of Pod {}", p.key()),
            );
            api.record(
                now,
                EventType::Normal,
                "TaintManagerEviction",
                object,
                message,
            );
        }
    }

    /// Upstream `AddWork`: an existing worker for the pod stays as it is.
    fn add_work(&mut self, pod: PodId, created_at: SimTime, fire_at: SimTime) {
        self.workers.entry(pod).or_insert(TimedWorker {
            created_at,
            fire_at,
            immediate: fire_at <= created_at,
        });
    }

    /// Upstream `processPodOnNode`.
    fn process_pod_on_node(
        &mut self,
        pod: PodId,
        taints: &[Taint],
        api: &mut ApiServer,
        now: SimTime,
    ) {
        if taints.is_empty() {
            self.cancel_work_with_event(pod, api, now);
        }
        let tolerations = &api.store.pod(pod).pod.tolerations;
        let Some(used) = matching_tolerations(taints, tolerations) else {
            // Deleted right away: any scheduled deletion is superseded.
            self.cancel_work_with_event(pod, api, now);
            self.add_work(pod, now, now);
            return;
        };
        let Some(min) = min_toleration_time(&used) else {
            // Tolerated forever.
            self.cancel_work_with_event(pod, api, now);
            return;
        };
        // Upstream keeps a scheduled eviction created earlier (its `CreatedAt + min` is before
        // `now + min`); one created at this very instant is the same work.
        if self.workers.contains_key(&pod) {
            return;
        }
        self.add_work(pod, now, now.saturating_add(min));
    }

    /// Upstream `handlePodUpdate`.
    fn handle_pod_update(&mut self, pod: PodId, api: &mut ApiServer, now: SimTime) {
        let r = api.store.pod(pod);
        if !r.is_active() {
            self.cancel_work_with_event(pod, api, now);
            return;
        }
        let Some(node) = r.node else { return };
        // Taints removed or node deleted: the node's handler cancelled what was needed.
        let Some(taints) = self.tainted_nodes.get(&node).cloned() else {
            return;
        };
        self.process_pod_on_node(pod, &taints, api, now);
    }

    /// Upstream `handleNodeUpdate`; the pods are handled under their own keys.
    fn handle_node_update(&mut self, node: NodeId, api: &mut ApiServer, now: SimTime) {
        let info = api.store.node(node);
        if !info.exists {
            self.tainted_nodes.remove(&node);
            return;
        }
        let taints = no_execute_taints(&info.node.taints);
        if !taints.is_empty() {
            self.tainted_nodes.insert(node, taints);
            return;
        }
        self.tainted_nodes.remove(&node);
        // All taints were removed: cancel every eviction on the node.
        let pods = api.store.node(node).pods.clone();
        for pod in pods {
            self.pending_pods.remove(&pod);
            self.cancel_work_with_event(pod, api, now);
        }
    }

    /// Upstream `deletePodHandler`: the event, then up to `retries` attempts at the delete
    /// (the `DisruptionTarget` condition it patches first is not modelled).
    fn fire(
        &mut self,
        pod: PodId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> SyncOutcome {
        let now = ctx.now();
        let attempts = match self.deleting.get(&pod) {
            Some(&a) => a,
            None => {
                let p = &api.store.pod(pod).pod;
                let (object, message) = (
                    format!("pod/{}", p.name),
                    format!("Marking for deletion Pod {}", p.key()),
                );
                api.record(
                    now,
                    EventType::Normal,
                    "TaintManagerEviction",
                    object,
                    message,
                );
                0
            }
        };
        match api.delete_pod(ctx, pod) {
            Err(ApiError::Unavailable) if attempts + 1 < DELETE_RETRIES => {
                self.deleting.insert(pod, attempts + 1);
                SyncOutcome::RequeueAfter(DELETE_RETRY_INTERVAL)
            }
            // Done, or out of attempts: the worker goes either way.
            _ => {
                self.deleting.remove(&pod);
                self.workers.remove(&pod);
                SyncOutcome::Done
            }
        }
    }
}

impl Reconciler for TaintEvictionController {
    type Key = TaintEvictionKey;

    /// A new leader's controller: no pending deletions; the pods on tainted nodes get their
    /// whole `tolerationSeconds` again from now (upstream `taintEvictionQueue` is new).
    fn restart(
        &mut self,
        api: &ApiServer,
        _now: SimTime,
        enqueue: &mut dyn FnMut(TaintEvictionKey),
    ) {
        *self = TaintEvictionController::default();
        self.start(api, enqueue);
    }

    fn on_change(
        &mut self,
        change: &Change,
        api: &ApiServer,
        _now: SimTime,
        enqueue: &mut dyn FnMut(TaintEvictionKey),
    ) {
        if !self.started {
            self.start(api, enqueue);
        }
        match change.kind {
            ObjectKind::Node => {
                let node = NodeId(change.id);
                let info = api.store.nodes.get(node.index());
                let new = match info {
                    Some(i) if i.exists => no_execute_taints(&i.node.taints),
                    _ => Vec::new(),
                };
                let old = self.seen_taints.get(&node).cloned().unwrap_or_default();
                if change.op == Op::Modified && old == new {
                    return;
                }
                // A node without NoExecute taints, before and after, that this controller
                // does not hold as tainted: its handler would find nothing to do.
                if old.is_empty() && new.is_empty() && !self.tainted_nodes.contains_key(&node) {
                    return;
                }
                if new.is_empty() {
                    self.seen_taints.remove(&node);
                } else {
                    self.seen_taints.insert(node, new);
                }
                if change.op == Op::Deleted || info.is_none_or(|i| !i.exists) {
                    enqueue(TaintEvictionKey::Node(node));
                } else {
                    self.node_updated(node, api, enqueue);
                }
            }
            // Upstream `PodUpdated`: additions, deletions and changes of node or tolerations
            // (a pod's tolerations never change here).
            // Only pods on a tainted node, or with a deletion scheduled, have anything to do:
            // for the others `handlePodUpdate` returns at once.
            ObjectKind::Pod if matches!(change.op, Op::Added | Op::Bound | Op::Deleted) => {
                let pod = PodId(change.id);
                let node = api.store.pods.get(pod.index()).and_then(|r| r.node);
                let on_tainted = node.is_some_and(|n| {
                    self.seen_taints.contains_key(&n) || self.tainted_nodes.contains_key(&n)
                });
                if on_tainted || self.workers.contains_key(&pod) {
                    self.pending_pods.insert(pod);
                    enqueue(TaintEvictionKey::Pod(pod));
                }
            }
            _ => {}
        }
    }

    fn sync(
        &mut self,
        key: TaintEvictionKey,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> SyncOutcome {
        let now = ctx.now();
        match key {
            TaintEvictionKey::Node(node) => {
                self.handle_node_update(node, api, now);
                SyncOutcome::Done
            }
            TaintEvictionKey::Pod(pod) => {
                if !self.deleting.contains_key(&pod) && self.pending_pods.remove(&pod) {
                    self.handle_pod_update(pod, api, now);
                }
                match self.workers.get(&pod) {
                    None => SyncOutcome::Done,
                    Some(w) if w.fire_at > now => SyncOutcome::RequeueAfter(w.fire_at.since(now)),
                    Some(_) => self.fire(pod, api, ctx),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::TolerationOperator;

    fn taint(key: &str) -> Taint {
        Taint {
            key: key.into(),
            value: String::new(),
            effect: TaintEffect::NoExecute,
        }
    }

    fn toleration(key: &str, seconds: Option<i64>) -> Toleration {
        Toleration {
            key: key.into(),
            operator: TolerationOperator::Exists,
            value: String::new(),
            effect: Some(TaintEffect::NoExecute),
            toleration_seconds: seconds,
        }
    }

    #[test]
    fn get_min_toleration_time() {
        // upstream pkg/controller/tainteviction/taint_eviction_test.go TestGetMinTolerationTime:
        // no tolerations → 0; only unbounded ones → -1 (None here); otherwise the smallest.
        let one = toleration("a", Some(1));
        let two = toleration("b", Some(2));
        let forever = toleration("c", None);
        let zero = toleration("d", Some(0));
        let negative = toleration("e", Some(-1));
        assert_eq!(min_toleration_time(&[]), Some(SimDuration::ZERO));
        assert_eq!(min_toleration_time(&[&forever]), None);
        assert_eq!(
            min_toleration_time(&[&one, &two]),
            Some(SimDuration::from_secs(1))
        );
        assert_eq!(
            min_toleration_time(&[&two, &forever]),
            Some(SimDuration::from_secs(2))
        );
        assert_eq!(min_toleration_time(&[&two, &zero]), Some(SimDuration::ZERO));
        assert_eq!(
            min_toleration_time(&[&negative, &one]),
            Some(SimDuration::ZERO)
        );
    }

    #[test]
    fn matching_tolerations_need_every_taint_tolerated() {
        // upstream v1helper.GetMatchingTolerations, as TestUpdateNode's cases use it: a pod
        // tolerating one of two taints is not tolerated (deleted at once).
        let taints = [taint("t1"), taint("t2")];
        let tols = [toleration("t1", Some(100)), toleration("t2", Some(10))];
        let used = matching_tolerations(&taints, &tols).expect("both tolerated");
        assert_eq!(min_toleration_time(&used), Some(SimDuration::from_secs(10)));
        assert!(matching_tolerations(&taints, &tols[..1]).is_none());
        assert_eq!(matching_tolerations(&[], &tols), Some(Vec::new()));
    }

    #[test]
    fn process_pod_on_node_schedules_and_keeps_the_first_deadline() {
        // upstream TestUpdatePod "scheduled for deletion after tolerationSeconds", and the rule
        // of processPodOnNode that an existing eviction is kept (its CreatedAt is earlier).
        let mut c = TaintEvictionController::default();
        let pod = PodId(0);
        let t0 = SimTime::from_secs(10);
        c.add_work(pod, t0, t0 + SimDuration::from_secs(300));
        c.add_work(
            pod,
            t0 + SimDuration::from_secs(5),
            t0 + SimDuration::from_secs(305),
        );
        assert_eq!(
            c.worker(pod).map(|w| w.fire_at),
            Some(t0 + SimDuration::from_secs(300))
        );
        assert!(!c.worker(pod).expect("scheduled").immediate);
        c.add_work(PodId(1), t0, t0);
        assert!(c.worker(PodId(1)).expect("immediate").immediate);
    }
}
