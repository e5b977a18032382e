//! Workloads that arrive after the start (`workloads: [{at: 2m, file: …}]`): each delayed
//! entry's objects are created at its time, as if applied with `kubectl apply` then.

use sim_core::{Context, SimTime};

use super::{Cluster, Event};
use crate::scenario::Workloads;

impl Cluster {
    /// Keeps the delayed workloads and arms one event per entry.
    pub fn set_delayed_workloads(&mut self, ctx: &mut Context<'_, Event>, delayed: Vec<Workloads>) {
        for (i, w) in delayed.iter().enumerate() {
            let index = u32::try_from(i).unwrap_or(u32::MAX);
            ctx.schedule_at(
                SimTime::ZERO.saturating_add(w.at),
                Event::WorkloadsArrive(index),
            );
        }
        self.delayed_workloads = delayed;
    }

    pub(super) fn workloads_arrive(&mut self, ctx: &mut Context<'_, Event>, index: u32) {
        let Some(w) = self.delayed_workloads.get(index as usize).cloned() else {
            return;
        };
        for pod in w.pods {
            self.create_pod(ctx, pod);
        }
        for rs in w.replica_sets {
            self.add_replica_set(ctx, rs);
        }
        for d in w.deployments {
            self.add_deployment(ctx, d);
        }
    }
}
