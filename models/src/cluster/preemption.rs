//! The world's side of preemption (upstream `Evaluator.prepareCandidate` and the pod's status
//! update in `handleSchedulingFailure`): when a scheduling cycle's PostFilter nominated a node,
//! the victims are deleted gracefully, `Preempted` events are recorded, lower-priority pods
//! nominated to the same node lose their nomination, and the preemptor gets its
//! `nominatedNodeName` and waits, unschedulable, for the victims to go.
//!
//! A victim keeps its resources on the node while it terminates: the kubelet sees the deletion
//! after the watch latency and the pod is gone `terminationGracePeriodSeconds` later (kubesim
//! models containers that use their whole grace period). Its deletion requeues the
//! unschedulable pods, the preemptor among them, which then tries its nominated node first.

use sim_core::{Context, SimDuration};

use super::{Cluster, Event};
use crate::api::{OwnerKind, PodId};
use crate::events::EventType;
use crate::scheduler::ScheduleResult;

/// Counters of preemption, for the summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PreemptionCounters {
    /// Scheduling attempts whose PostFilter nominated a node.
    pub preemptions: u64,
    /// Pods deleted to make room.
    pub victims: u64,
}

impl Cluster {
    /// Applies what the PostFilter of a failed attempt decided.
    pub(super) fn apply_post_filter(
        &mut self,
        ctx: &mut Context<'_, Event>,
        preemptor: PodId,
        result: &ScheduleResult,
    ) {
        if result.clear_nomination {
            self.store.set_nominated_node(preemptor, None);
        }
        let Some(node) = result.nominated_node else {
            return;
        };
        self.preemption.preemptions += 1;
        let (key, priority) = {
            let p = &self.store.pod(preemptor).pod;
            (p.key(), p.priority)
        };
        let node_name = self.store.node(node).name().to_string();
        for &victim in &result.victims {
            let r = self.store.pod(victim);
            // "Graceful pod deletion has already started. Sending another API call is
            // unnecessary."
            if r.deletion_timestamp.is_some() || !r.is_active() {
                continue;
            }
            let object = format!("pod/{}", r.pod.name);
            self.preemption.victims += 1;
            self.delete_gracefully(ctx, victim, true);
            // Upstream: Eventf(victim, preemptor, Normal, "Preempted", "Preempting",
            // "Preempted by pod %v on node %v", preemptor.UID, c.Name()); kubesim has no
            // UIDs, so the preemptor is named by namespace/name.
            self.record(
                ctx.now(),
                EventType::Normal,
                "Preempted",
                object,
                format!("Preempted by pod {key} on node {node_name}"),
            );
        }
        // "Lower priority pods nominated to run on this node, may no longer fit on this node.
        // So, we should remove their nomination."
        let lower: Vec<PodId> = self
            .store
            .nominated_pods(node)
            .iter()
            .copied()
            .filter(|&p| self.store.pod(p).pod.priority < priority)
            .collect();
        for p in lower {
            self.store.set_nominated_node(p, None);
        }
        self.store.set_nominated_node(preemptor, Some(node));
    }

    /// Starts a graceful deletion: the pod is marked terminating now and deleted after the
    /// watch latency plus its grace period.
    pub fn delete_gracefully(&mut self, ctx: &mut Context<'_, Event>, pod: PodId, preempted: bool) {
        let now = ctx.now();
        let record = self.store.pod(pod);
        if record.deletion_timestamp.is_some() || !record.is_active() {
            return;
        }
        // Through the store, so topology-spread and affinity counts drop the terminating pod.
        self.store.mark_terminating(pod, now);
        let record = self.store.pod_mut(pod);
        record.preempted_by_scheduler = preempted;
        let grace = u64::try_from(record.pod.termination_grace_period_seconds).unwrap_or(0);
        let owner = record.pod.owner.clone();
        ctx.schedule(
            self.timing
                .watch_latency
                .saturating_add(SimDuration::from_secs(grace)),
            Event::PodTerminated(pod),
        );
        // A terminating pod no longer counts for its ReplicaSet (upstream
        // `controller.FilterActivePods`), which creates a replacement at once.
        if let Some(owner) = owner
            && owner.kind == OwnerKind::ReplicaSet
        {
            ctx.schedule(self.timing.watch_latency, Event::SyncReplicaSet(owner.id.0));
        }
    }

    /// The grace period is over: the pod is gone and its resources are free.
    pub(super) fn pod_terminated(&mut self, ctx: &mut Context<'_, Event>, pod: PodId) {
        if self.store.pod(pod).is_active() {
            self.delete_pod(ctx, pod);
        }
    }
}
