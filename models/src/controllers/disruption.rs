//! Disruption controller (upstream `pkg/controller/disruption/disruption.go`): keeps each
//! PodDisruptionBudget's status — expected pods, desired and current healthy, disruptions
//! allowed — which the Eviction API reads and uses up.

use sim_core::{Context, SimDuration, SimTime};

use super::{Reconciler, SyncOutcome};
use crate::api::PodId;
use crate::api::pdb::PdbPod;
use crate::apiserver::{ApiServer, Change, ObjectKind, PdbObject};
use crate::cluster::Event;

/// Upstream `DeletionTimeout`: an evicted pod not deleted within this long counts again.
pub const DELETION_TIMEOUT: SimDuration = SimDuration::from_secs(120);

#[derive(Default)]
pub struct DisruptionController {}

impl Reconciler for DisruptionController {
    type Key = u32;

    fn on_change(
        &mut self,
        change: &Change,
        api: &ApiServer,
        _now: SimTime,
        enqueue: &mut dyn FnMut(u32),
    ) {
        match change.kind {
            ObjectKind::PodDisruptionBudget => enqueue(change.id),
            ObjectKind::Pod => {
                let pod = &api.store.pod(PodId(change.id)).pod;
                for (i, pdb) in api.store.pdbs.iter().enumerate() {
                    if pdb.selects(pod) {
                        enqueue(u32::try_from(i).unwrap_or(u32::MAX));
                    }
                }
            }
            _ => {}
        }
    }

    fn sync(&mut self, key: u32, api: &mut ApiServer, ctx: &mut Context<'_, Event>) -> SyncOutcome {
        let now = ctx.now();
        let i = key as usize;
        let Some(pdb) = api.store.pdbs.get(i) else {
            return SyncOutcome::Done;
        };
        // Upstream `buildDisruptedPodMap`: drop pods that are gone or terminating, and
        // evictions older than the deletion timeout.
        let mut disrupted = api.pdb_status[i].disrupted_pods.clone();
        disrupted.retain(|p, at| {
            let r = api.store.pod(*p);
            r.is_active()
                && r.deletion_timestamp.is_none()
                && at.saturating_add(DELETION_TIMEOUT) > now
        });
        let store = &api.store;
        let pods = store.active_pods().map(|r| PdbPod {
            pod: &r.pod,
            healthy: r.ready && r.deletion_timestamp.is_none() && !disrupted.contains_key(&r.id),
        });
        let s = pdb.status(pods, |o| {
            store.workload_scales.get(&(o.kind, o.id)).copied()
        });
        let recheck = disrupted
            .values()
            .map(|at| at.saturating_add(DELETION_TIMEOUT))
            .min();
        let status = PdbObject {
            expected_pods: s.expected_pods,
            desired_healthy: s.desired_healthy,
            current_healthy: s.current_healthy,
            disruptions_allowed: s.disruptions_allowed,
            disrupted_pods: disrupted,
            observed: true,
        };
        if api.update_pdb_status(ctx, i, status).is_err() {
            return SyncOutcome::Failed;
        }
        match recheck {
            Some(t) => SyncOutcome::RequeueAfter(t.since(now.min(t))),
            None => SyncOutcome::Done,
        }
    }
}
