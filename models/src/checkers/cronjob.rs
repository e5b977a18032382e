//! CronJob invariants, read from the API server's objects after every event:
//! - a CronJob whose `concurrencyPolicy` is Forbid never has two of its Jobs unfinished at once;
//! - a suspended CronJob creates no Job while it is suspended.

use sim_core::SimTime;

use crate::api::{ConcurrencyPolicy, CronJob, Job, OwnerKind};
use crate::apiserver::ApiServer;

use super::Violation;

/// What the CronJob checks remember between events.
#[derive(Debug, Default)]
pub struct CronJobChecks {
    /// Jobs already looked at (ids are handed out in order, so new Jobs are those past this).
    jobs_seen: usize,
}

impl CronJobChecks {
    pub fn check(&mut self, api: &ApiServer, now: SimTime, violations: &mut Vec<Violation>) {
        let cron_jobs = api.objects::<CronJob>();
        if cron_jobs.is_empty() {
            return;
        }
        let jobs = api.objects::<Job>();
        let owner_of = |j: &crate::apiserver::Object<Job>| {
            j.spec
                .owner
                .as_ref()
                .filter(|o| o.kind == OwnerKind::CronJob)
                .and_then(|o| cron_jobs.get(o.id))
                .filter(|c| c.exists())
        };
        // Jobs created since the last event: none may belong to a suspended CronJob.
        for j in jobs.all_from(self.jobs_seen) {
            if let Some(cj) = owner_of(j)
                && cj.spec.suspend
                && violations.len() < 1000
            {
                violations.push(Violation {
                    at: now,
                    invariant: "cronjob-suspended-created-job",
                    detail: format!(
                        "cronjob/{} is suspended but job/{} was created",
                        cj.spec.name, j.spec.name
                    ),
                });
            }
        }
        self.jobs_seen = jobs.len();

        for cj in cron_jobs.live() {
            if cj.spec.concurrency_policy != ConcurrencyPolicy::Forbid {
                continue;
            }
            let unfinished: Vec<&str> = cj
                .dependents
                .iter()
                .filter_map(|id| jobs.get(*id))
                .filter(|j| j.exists() && j.status.finished().is_none())
                .map(|j| j.spec.name.as_str())
                .collect();
            if unfinished.len() > 1 && violations.len() < 1000 {
                violations.push(Violation {
                    at: now,
                    invariant: "cronjob-forbid-concurrent",
                    detail: format!(
                        "cronjob/{} forbids concurrent runs but jobs {} are unfinished together",
                        cj.spec.name,
                        unfinished.join(", ")
                    ),
                });
            }
        }
    }
}
