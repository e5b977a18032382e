//! Invariant checkers, kept apart from the code they check (as TigerBeetle's VOPR keeps its
//! checkers apart from the replica): after every event they read the API server's objects and
//! record any violation with the time it was seen.
//!
//! - Rollout bounds: while a Deployment's `spec.replicas` is unchanged since it last was
//!   complete, its active (non-terminating) pods never exceed `replicas + maxSurge`, and its
//!   available pods never drop below `replicas - maxUnavailable` (the latter only counts when
//!   no one else — an eviction, a drain, a preemption, the pod garbage collector, the taint
//!   eviction controller — deleted its pods meanwhile).
//! - PDBs: an eviction never takes a budget's healthy pods below its desired healthy count.
//! - Placement: no node holds more than its allocatable; a pod is bound to at most one node.
//! - DaemonSets (`daemonset.rs`): one active pod per node (two with maxSurge), none on a node
//!   it does not select.
//! - StatefulSets (`statefulset.rs`): under OrderedReady a pod is created only once its
//!   predecessor is Running and Ready; one active pod per identity.
//! - Jobs (`job.rs`): never more active pods than parallelism; no pod created after the Job
//!   finished.
//! - CronJobs (`cronjob.rs`): Forbid never runs two Jobs at once; a suspended CronJob creates
//!   none.
//! - Nodes (`nodes.rs`, with the kubelets and the control plane): no container runs on a dead
//!   machine; a silent node's pods stop being Ready in time; the unreachable taint goes with
//!   `Ready=Unknown`; no taint eviction before its `tolerationSeconds`.

mod cronjob;
mod daemonset;
mod job;
pub mod nodes;
pub mod statefulset;

mod volume_zone;

use std::collections::BTreeMap;

use sim_core::SimTime;

use crate::api::{DeploymentStrategy, WorkloadId};
use crate::apiserver::ApiServer;
use crate::controllers::deployment::util::{self, DeploymentInfo, Strategy};
use crate::controllers::replicaset::{is_pod_active, is_pod_available};

/// One invariant broken at one instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub at: SimTime,
    pub invariant: &'static str,
    pub detail: String,
}

#[derive(Clone, Copy, Debug)]
struct Armed {
    replicas: i32,
    evictions: u64,
}

#[derive(Default)]
pub struct Checkers {
    pub violations: Vec<Violation>,
    /// Checks run (one per event).
    pub checks: u64,
    /// Deployment states checked against the rollout bounds.
    pub rollout_checks: u64,
    armed: BTreeMap<WorkloadId, Armed>,
    /// Also check the availability bound (off when the scenario deletes pods behind the
    /// Deployment's back in ways a PDB does not cover).
    pub check_availability: bool,
    /// Evictions seen so far (the PDB check runs after each new one).
    evictions_seen: u64,
    /// Evictions checked against their budgets.
    pub evictions_checked: u64,
    pub stateful_set_checks: statefulset::StatefulSetChecks,
    cron_jobs: cronjob::CronJobChecks,
    pub nodes: nodes::NodeChecks,
}

impl Checkers {
    pub fn new(check_availability: bool) -> Self {
        Checkers {
            check_availability,
            ..Checkers::default()
        }
    }

    pub fn check(&mut self, api: &ApiServer, now: SimTime) {
        self.checks += 1;
        self.rollouts(api, now);
        self.placement(api, now);
        self.owned_counts(api, now);
        self.daemon_sets(api, now);
        self.stateful_sets(api, now);
        self.jobs(api, now);
        self.cron_jobs.check(api, now, &mut self.violations);
        volume_zone::check(api, now, &mut self.violations);
        self.nodes.observe_disruptions(api, now);
        if api.counters.evictions != self.evictions_seen {
            self.evictions_seen = api.counters.evictions;
            self.budgets(api, now);
        }
    }

    /// Right after an eviction, every budget that let it through still has its desired
    /// healthy pods, computed here from the pods and the budget's spec, independently of the
    /// disruption controller. (A budget below its count already — its pods lost to a crashed
    /// node, say — is not broken by an eviction of pods it does not cover.)
    fn budgets(&mut self, api: &ApiServer, now: SimTime) {
        if self.nodes.disruption_status_may_be_stale(now, api) {
            // The eviction API decides on the budget's status as the disruption controller
            // last wrote it; with the controller manager or the API server down that status
            // is old, and upstream lets evictions through on it.
            return;
        }
        self.evictions_checked += 1;
        for (i, pdb) in api.store.pdbs.iter().enumerate() {
            let spent_now = api
                .pdb_status
                .get(i)
                .is_some_and(|s| s.disrupted_pods.values().any(|t| *t == now));
            if !spent_now {
                continue;
            }
            let store = &api.store;
            let pods = store.active_pods().map(|r| crate::api::pdb::PdbPod {
                pod: &r.pod,
                healthy: r.ready && r.deletion_timestamp.is_none(),
            });
            let s = pdb.status(pods, |o| {
                store.workload_scales.get(&(o.kind, o.id)).copied()
            });
            if s.expected_pods > 0 && s.current_healthy < s.desired_healthy {
                self.violate(
                    now,
                    "pdb-violated-by-eviction",
                    format!(
                        "poddisruptionbudget/{}: {} healthy pods after an eviction, fewer than the {} it requires",
                        pdb.name, s.current_healthy, s.desired_healthy
                    ),
                );
            }
        }
    }

    fn violate(&mut self, at: SimTime, invariant: &'static str, detail: String) {
        // Keep memory bounded on a badly broken run.
        if self.violations.len() < 1000 {
            self.violations.push(Violation {
                at,
                invariant,
                detail,
            });
        }
    }

    fn rollouts(&mut self, api: &ApiServer, now: SimTime) {
        let disruptions = api.counters.evictions
            + api.counters.preemption_victims
            + api.counters.pods_garbage_collected
            + api.counters.readiness_lost
            + self.nodes.taint_evictions(api);
        for d in &api.deployments {
            if d.deleted || d.deletion_timestamp.is_some() || d.d.paused {
                self.armed.remove(&d.id);
                continue;
            }
            let DeploymentStrategy::RollingUpdate {
                max_surge,
                max_unavailable,
            } = d.d.strategy
            else {
                continue;
            };
            let info = DeploymentInfo {
                replicas: d.d.replicas,
                strategy: Strategy::RollingUpdate {
                    max_surge,
                    max_unavailable,
                },
                min_ready_seconds: d.d.min_ready_seconds,
                progress_deadline_seconds: d.d.progress_deadline_seconds,
                revision_history_limit: Some(d.d.revision_history_limit),
                paused: false,
            };
            let (mut active, mut available) = (0i32, 0i32);
            // Whether every ReplicaSet has exactly the pods its spec asks for, and the specs
            // add up to the Deployment's: only then has the ReplicaSet controller caught up
            // with the Deployment controller (maxSurge bounds ReplicaSet specs, not pods, so
            // a ReplicaSet still acting on an older spec may briefly hold more).
            let (mut settled, mut spec_sum) = (true, 0i32);
            for rs in &d.replica_sets {
                let rs = api.replica_set(*rs);
                let mut own = 0i32;
                for p in &rs.pods {
                    let r = api.store.pod(*p);
                    if is_pod_active(r) {
                        own += 1;
                        if is_pod_available(r, d.d.min_ready_seconds, now) {
                            available += 1;
                        }
                    }
                }
                active += own;
                spec_sum += rs.rs.replicas;
                settled &= own == rs.rs.replicas;
            }
            let replicas = d.d.replicas;
            match self.armed.get(&d.id).copied() {
                // Someone else deleted pods (eviction, preemption): re-arm once complete.
                Some(a) if a.evictions != disruptions => {
                    self.armed.remove(&d.id);
                }
                Some(a) if a.replicas == replicas => {
                    self.rollout_checks += 1;
                    let surge = util::max_surge(&info);
                    if active > replicas + surge {
                        self.violate(
                            now,
                            "rollout-surge",
                            format!(
                                "deployment/{}: {active} pods, more than replicas {replicas} + maxSurge {surge}",
                                d.d.name
                            ),
                        );
                    }
                    let unavailable = util::max_unavailable(&info);
                    if self.check_availability && available < replicas - unavailable {
                        self.violate(
                            now,
                            "rollout-availability",
                            format!(
                                "deployment/{}: {available} pods available, fewer than replicas {replicas} - maxUnavailable {unavailable}",
                                d.d.name
                            ),
                        );
                    }
                }
                _ => {
                    self.armed.remove(&d.id);
                }
            }
            // Armed once complete: every replica there and available, and every ReplicaSet
            // settled on its spec.
            if active == replicas
                && available >= replicas
                && settled
                && spec_sum == replicas
                && !self.armed.contains_key(&d.id)
            {
                self.armed.insert(
                    d.id,
                    Armed {
                        replicas,
                        evictions: disruptions,
                    },
                );
            }
        }
    }

    /// The counts the API server keeps per ReplicaSet (which its controller's status comes
    /// from) equal a count of its pods made here.
    fn owned_counts(&mut self, api: &ApiServer, now: SimTime) {
        for rs in api.replica_sets.iter().filter(|r| r.exists()) {
            let (mut active, mut ready) = (0, 0);
            for p in &rs.pods {
                let r = api.store.pod(*p);
                if is_pod_active(r) {
                    active += 1;
                    ready += i32::from(r.ready);
                }
            }
            if (active, ready) != (rs.counts.active, rs.counts.ready) {
                self.violate(
                    now,
                    "replicaset-counts",
                    format!(
                        "replicaset/{}: kept counts {} active / {} ready, its pods say {active} / {ready}",
                        rs.rs.name, rs.counts.active, rs.counts.ready
                    ),
                );
            }
        }
    }

    fn placement(&mut self, api: &ApiServer, now: SimTime) {
        // Cheap per event: only the nodes' running sums, kept by the store.
        for n in api.store.live_nodes() {
            let a = &n.node.allocatable;
            let r = &n.requested;
            if r.cpu_milli > a.cpu_milli || r.memory > a.memory || r.pods > a.pods {
                self.violate(
                    now,
                    "node-overcommitted",
                    format!("node/{}: requests exceed allocatable", n.name()),
                );
            }
        }
    }
}
