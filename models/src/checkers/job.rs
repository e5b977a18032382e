//! Jobs: a Job never runs more active pods (not terminal, not being deleted) than its
//! `parallelism` — upstream's `manageJob` creates at most `wantActive - active`, and
//! `wantActive <= parallelism` — except after its spec changed (lowering `parallelism` leaves
//! the excess until the controller's deletions land); and a finished Job gets no new pods.

use sim_core::SimTime;

use super::Checkers;
use crate::api::Job;
use crate::apiserver::ApiServer;
use crate::controllers::replicaset::is_pod_active;

impl Checkers {
    pub(super) fn jobs(&mut self, api: &ApiServer, now: SimTime) {
        for obj in api.objects::<Job>().live() {
            let mut active = 0;
            let mut late = None;
            let finished_at = obj.status.finished().map(|c| c.last_transition);
            for p in &obj.pods {
                let r = api.store.pod(*p);
                if is_pod_active(r) {
                    active += 1;
                }
                if let Some(t) = finished_at
                    && r.created_at > t
                {
                    late = Some(r.pod.name.clone());
                }
            }
            if obj.generation == 1 && active > obj.spec.parallelism {
                self.violate(
                    now,
                    "job-parallelism-exceeded",
                    format!(
                        "job/{}: {active} active pods, more than its parallelism {}",
                        obj.spec.name, obj.spec.parallelism
                    ),
                );
            }
            if let Some(name) = late {
                self.violate(
                    now,
                    "job-pod-after-finish",
                    format!(
                        "job/{}: pod {name} was created after the Job finished",
                        obj.spec.name
                    ),
                );
            }
        }
    }
}
