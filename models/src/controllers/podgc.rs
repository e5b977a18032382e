//! The pod garbage collector (upstream `pkg/controller/podgc`), the part that matters once
//! nodes can go: `gcOrphaned` force-deletes pods bound to a node that no longer exists, once
//! the node has been gone for the quarantine time (40 s), marking them Failed first.

use std::collections::BTreeMap;

use sim_core::{Context, SimDuration, SimTime};

use super::{Reconciler, SyncOutcome};
use crate::api::{NodeId, PodId, PodPhase};
use crate::apiserver::{ApiError, ApiServer, Change, ObjectKind, Op};
use crate::cluster::Event;

/// Upstream `quarantineTime`: a node must be missing this long before its pods go.
pub const QUARANTINE_TIME: SimDuration = SimDuration::from_secs(40);

#[derive(Default)]
pub struct PodGarbageCollector {
    /// When each deleted node was first seen gone.
    gone_since: BTreeMap<NodeId, SimTime>,
}

impl Reconciler for PodGarbageCollector {
    type Key = NodeId;

    fn on_change(
        &mut self,
        change: &Change,
        _api: &ApiServer,
        now: SimTime,
        enqueue: &mut dyn FnMut(NodeId),
    ) {
        if change.kind == ObjectKind::Node && change.op == Op::Deleted {
            let node = NodeId(change.id);
            self.gone_since.entry(node).or_insert(now);
            enqueue(node);
        }
    }

    fn sync(
        &mut self,
        node: NodeId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> SyncOutcome {
        let now = ctx.now();
        if api.store.node(node).exists {
            self.gone_since.remove(&node);
            return SyncOutcome::Done;
        }
        let since = *self.gone_since.entry(node).or_insert(now);
        let waited = now.since(since);
        if waited < QUARANTINE_TIME {
            return SyncOutcome::RequeueAfter(QUARANTINE_TIME.saturating_sub(waited));
        }
        let orphans: Vec<PodId> = api
            .store
            .pods
            .iter()
            .filter(|r| r.is_active() && r.node == Some(node))
            .map(|r| r.id)
            .collect();
        for pod in orphans {
            // Upstream `markFailedAndDeletePod`: phase Failed (condition DisruptionTarget,
            // reason DeletionByPodGC), then a delete with grace period 0.
            if !matches!(
                api.store.pod(pod).phase,
                PodPhase::Succeeded | PodPhase::Failed
            ) && let Err(ApiError::Unavailable) = api.finish_pod(ctx, pod, PodPhase::Failed, 137)
            {
                return SyncOutcome::Failed;
            }
            match api.remove_pod(ctx, pod) {
                Ok(()) => api.counters.pods_garbage_collected += 1,
                Err(ApiError::NotFound) => {}
                Err(_) => return SyncOutcome::Failed,
            }
        }
        self.gone_since.remove(&node);
        SyncOutcome::Done
    }
}
