//! How long kube-scheduler takes: the simulated time a scheduling cycle costs and the latency
//! of the bind that follows it.
//!
//! kube-scheduler schedules one pod at a time per scheduler (`ScheduleOne` runs the scheduling
//! cycle of the next pod only when the previous cycle has ended); the binding cycle runs in its
//! own goroutine, so the bind's latency delays that pod but not the next cycle. A burst of pods
//! therefore queues behind the scheduling cycles, and time to schedule grows with the burst.
//!
//! A cycle costs `perPod + perNodeFiltered × filtered + perNodeScored × scored`, where
//! `filtered` is upstream's `ScheduleResult.EvaluatedNodes` (the nodes the filters ran on, at
//! most `numFeasibleNodesToFind`) and `scored` the feasible nodes when more than one was found
//! (with one, upstream skips scoring). PostFilter (preemption's dry runs) is not costed.
//!
//! Calibration: the `threshold`s of upstream's scheduler_perf (kubernetes/kubernetes
//! `test/integration/scheduler_perf`, the minimum average pods/s its `ci-benchmark-scheduler-perf`
//! job accepts, plotted on perf-dash):
//! - `SchedulingBasic/5000Nodes_50000Pods`: 810 pods/s (`misc/performance-config.yaml`); at
//!   5,000 nodes the adaptive `percentageOfNodesToScore` is 10%, so a cycle filters and scores
//!   500 nodes;
//! - `SchedulingDaemonset/15000Nodes`: 1,100 pods/s (same file): NodeAffinity's PreFilter
//!   pins each pod to one node, so a cycle filters one node and scores none.
//!
//! The second gives the per-pod cost (1 / 1,100 s ≈ 900 µs); the first the per-node cost:
//! (1 / 810 s − 900 µs) / 500 ≈ 650 ns per node filtered and scored, split 300 ns filtering and
//! 350 ns scoring (the split is not measured separately by scheduler_perf). The model then
//! reproduces both: 900 µs + 500 × 650 ns = 1.225 ms (816 pods/s) and 900.3 µs (1,110 pods/s).
//! These are throughputs of the scheduler alone, with its client's rate limit raised; a real
//! cluster's kube-scheduler (clientConnection `qps: 50`) can be slower, which this model does
//! not include.
//!
//! The bind is an API write like any other: it commits after `controlPlane.apiLatency` and
//! watchers see it after `watchLatency` as well. `bindingLatency` is extra time the binding
//! cycle takes before the pod counts as scheduled (PreBind, Permit waits, a slow webhook); it
//! is `0` by default because the write itself is already timed by `apiLatency`.

use sim_core::SimDuration;

/// What one scheduling cycle costs in simulated time (`scheduler: {schedulingCost: …}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedulingCost {
    /// Queue pop, PreFilter, Reserve/Permit and the cycle's bookkeeping.
    pub per_pod: SimDuration,
    /// Running the Filter plugins on one node.
    pub per_node_filtered: SimDuration,
    /// Running the Score plugins (and normalising) for one feasible node.
    pub per_node_scored: SimDuration,
}

impl SchedulingCost {
    /// Scheduling takes no time: every decision is made the instant its pod is queued.
    pub const ZERO: SchedulingCost = SchedulingCost {
        per_pod: SimDuration::ZERO,
        per_node_filtered: SimDuration::ZERO,
        per_node_scored: SimDuration::ZERO,
    };

    /// Calibrated on scheduler_perf (see the module documentation).
    pub const CALIBRATED: SchedulingCost = SchedulingCost {
        per_pod: SimDuration::from_micros(900),
        per_node_filtered: SimDuration::from_nanos(300),
        per_node_scored: SimDuration::from_nanos(350),
    };

    pub fn is_zero(&self) -> bool {
        *self == SchedulingCost::ZERO
    }

    /// The time of one cycle that ran the filters on `filtered` nodes and scored `scored`.
    pub fn cycle(&self, filtered: usize, scored: usize) -> SimDuration {
        let n = |count: usize| u64::try_from(count).unwrap_or(u64::MAX);
        self.per_pod
            .saturating_add(self.per_node_filtered.saturating_mul(n(filtered)))
            .saturating_add(self.per_node_scored.saturating_mul(n(scored)))
    }
}

impl Default for SchedulingCost {
    fn default() -> Self {
        SchedulingCost::CALIBRATED
    }
}

/// The nodes a cycle scored, from its counts: upstream runs the Score plugins only when more
/// than one node is feasible ("When only one node after predicate, just use it").
pub fn nodes_scored(feasible_nodes: usize) -> usize {
    if feasible_nodes > 1 {
        feasible_nodes
    } else {
        0
    }
}

/// The scheduler's timing (`scheduler: {schedulingCost, bindingLatency}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedulerTiming {
    pub cost: SchedulingCost,
    /// Time from the end of a pod's scheduling cycle to its bind counting as done.
    pub binding_latency: SimDuration,
}

impl SchedulerTiming {
    /// kubesim's idealised scheduler: no cycle cost, no binding latency.
    pub const ZERO: SchedulerTiming = SchedulerTiming {
        cost: SchedulingCost::ZERO,
        binding_latency: SimDuration::ZERO,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibrated_cost_reproduces_the_scheduler_perf_thresholds() {
        let c = SchedulingCost::CALIBRATED;
        // SchedulingBasic/5000Nodes_50000Pods: 10% of 5,000 nodes filtered and scored.
        let basic = c.cycle(500, nodes_scored(500));
        assert_eq!(basic, SimDuration::from_micros(1225));
        let per_sec = 1e9 / basic.as_nanos() as f64;
        assert!((810.0..830.0).contains(&per_sec), "{per_sec}");
        // SchedulingDaemonset/15000Nodes: one node filtered, none scored.
        let daemonset = c.cycle(1, nodes_scored(1));
        assert_eq!(daemonset, SimDuration::from_nanos(900_300));
        let per_sec = 1e9 / daemonset.as_nanos() as f64;
        assert!((1100.0..1120.0).contains(&per_sec), "{per_sec}");
    }

    #[test]
    fn cost_is_linear_in_nodes_and_zero_when_off() {
        let c = SchedulingCost {
            per_pod: SimDuration::from_millis(1),
            per_node_filtered: SimDuration::from_micros(2),
            per_node_scored: SimDuration::from_micros(5),
        };
        assert_eq!(c.cycle(0, 0), SimDuration::from_millis(1));
        assert_eq!(c.cycle(100, 10), SimDuration::from_micros(1000 + 200 + 50));
        assert_eq!(SchedulingCost::ZERO.cycle(5000, 5000), SimDuration::ZERO);
        assert!(SchedulingCost::ZERO.is_zero() && !c.is_zero());
        // No overflow on absurd counts.
        assert_eq!(
            SchedulingCost::CALIBRATED.cycle(usize::MAX, usize::MAX),
            SimDuration::MAX
        );
    }

    #[test]
    fn scoring_is_skipped_below_two_feasible_nodes() {
        assert_eq!(nodes_scored(0), 0);
        assert_eq!(nodes_scored(1), 0);
        assert_eq!(nodes_scored(2), 2);
    }
}
