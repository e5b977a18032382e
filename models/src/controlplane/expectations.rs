//! Expectations: convergence checks a scenario states (`expect: [{after: 5d, within: 10m,
//! converged: true}]`) and the run verifies. From `after` on, the conditions are checked on a
//! one-second grid until they all hold (`metAt`) or `after + within` has passed (missed).

use sim_core::{SimDuration, SimTime};

use crate::api::{PodId, PodPhase};
use crate::apiserver::ApiServer;
use crate::scheduler::queue::SchedulingQueue;

/// How often a pending expectation is checked.
pub const CHECK_INTERVAL: SimDuration = SimDuration::from_secs(1);

/// The node taints that say a node is unhealthy (upstream `TaintNodeUnreachable`,
/// `TaintNodeNotReady`).
pub const UNHEALTHY_NODE_TAINTS: [&str; 2] = [
    "node.kubernetes.io/unreachable",
    "node.kubernetes.io/not-ready",
];

/// What must hold. `converged` is all three.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Conditions {
    /// Every Deployment, StatefulSet and DaemonSet has its desired replicas available.
    pub all_workloads_available: bool,
    /// No pod waits for a node it could get: every unbound pod has failed its last scheduling
    /// attempt (a pod that fits nowhere does not count).
    pub no_pending_pods: bool,
    /// No node carries the `unreachable` or `not-ready` taint.
    pub no_tainted_nodes: bool,
}

impl Conditions {
    pub const CONVERGED: Conditions = Conditions {
        all_workloads_available: true,
        no_pending_pods: true,
        no_tainted_nodes: true,
    };

    /// As the scenario would write it: `converged`, or the finer conditions joined by `, `.
    pub fn describe(&self) -> String {
        if *self == Conditions::CONVERGED {
            return "converged".into();
        }
        let mut parts = Vec::new();
        if self.all_workloads_available {
            parts.push("allWorkloadsAvailable");
        }
        if self.no_pending_pods {
            parts.push("noPendingPods");
        }
        if self.no_tainted_nodes {
            parts.push("noTaintedNodes");
        }
        if parts.is_empty() {
            return "nothing".into();
        }
        parts.join(", ")
    }
}

/// One `expect:` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expectation {
    pub after: SimDuration,
    pub within: SimDuration,
    pub conditions: Conditions,
}

impl Expectation {
    pub fn deadline(&self) -> SimTime {
        SimTime::ZERO
            .saturating_add(self.after)
            .saturating_add(self.within)
    }
}

/// An expectation and what the run found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpectationState {
    pub expectation: Expectation,
    /// The first check at which every condition held.
    pub met_at: Option<SimTime>,
    /// Checks made so far.
    pub checks: u32,
}

/// Whether every Deployment, StatefulSet and DaemonSet has its desired replicas available
/// (`status.availableReplicas ≥ spec.replicas`, `status.numberAvailable ≥
/// status.desiredNumberScheduled`), as their controllers last wrote it.
pub fn all_workloads_available(api: &ApiServer) -> bool {
    let deployments = api
        .deployments
        .iter()
        .filter(|d| d.exists())
        .all(|d| d.status.available_replicas >= d.d.replicas);
    let stateful_sets = api
        .stateful_sets
        .live()
        .all(|s| s.status.available_replicas >= s.spec.replicas);
    let daemon_sets = api
        .daemon_sets
        .live()
        .all(|d| d.status.number_available >= d.status.desired_number_scheduled);
    deployments && stateful_sets && daemon_sets
}

/// Whether no unbound, live, unfinished pod waits except those whose last scheduling attempt
/// failed (queued with attempts). A pod nobody has tried yet — the scheduler paused, or its
/// watch not yet delivered — counts as pending.
pub fn no_pending_pods(api: &ApiServer, queue: &SchedulingQueue) -> bool {
    api.store.pods.iter().all(|r| {
        !r.is_active()
            || r.node.is_some()
            || r.deletion_timestamp.is_some()
            || matches!(r.phase, PodPhase::Succeeded | PodPhase::Failed)
            || queue.attempts(PodId(r.id.0)).is_some_and(|a| a > 0)
    })
}

/// Whether no live node carries the `unreachable` or `not-ready` taint.
pub fn no_tainted_nodes(api: &ApiServer) -> bool {
    api.store.live_nodes().all(|n| {
        !n.node
            .taints
            .iter()
            .any(|t| UNHEALTHY_NODE_TAINTS.contains(&t.key.as_str()))
    })
}

/// Whether `conditions` hold now.
pub fn holds(conditions: &Conditions, api: &ApiServer, queue: &SchedulingQueue) -> bool {
    (!conditions.no_tainted_nodes || no_tainted_nodes(api))
        && (!conditions.all_workloads_available || all_workloads_available(api))
        && (!conditions.no_pending_pods || no_pending_pods(api, queue))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions() {
        assert_eq!(Conditions::CONVERGED.describe(), "converged");
        let c = Conditions {
            no_pending_pods: true,
            no_tainted_nodes: true,
            ..Conditions::default()
        };
        assert_eq!(c.describe(), "noPendingPods, noTaintedNodes");
        let e = Expectation {
            after: SimDuration::from_mins(5),
            within: SimDuration::from_secs(30),
            conditions: c,
        };
        assert_eq!(e.deadline(), SimTime::from_secs(330));
    }
}
