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
//! These are throughputs of the scheduler alone, with its client's rate limit raised.
//!
//! A real kube-scheduler's API client is rate-limited: `clientConnection.qps` 50 and `burst`
//! 100 by default (upstream `pkg/scheduler/apis/config/v1/defaults.go`: "Scheduler has an
//! opinion about QPS/Burst"), through client-go's token bucket
//! (`flowcontrol.NewTokenBucketRateLimiter`, a `golang.org/x/time/rate` limiter that starts
//! full). Every bind is one request, so past the first 100 a burst binds at 50 pods/s whatever
//! the cycles cost: 5,000 pods take about 100 s. [`ClientRateLimit`] models it for binds (the
//! requests a burst is made of); the binding cycle waits for its token in its own goroutine,
//! so the wait delays that pod's bind, not the next scheduling cycle. The scheduler's
//! KubeSchedulerConfiguration sets it (`clientConnection: {qps, burst}`; a negative qps turns
//! it off, as client-go does), and `schedulingCost: 0` (the idealised scheduler) turns it off.
//!
//! The bind is an API write like any other: it commits after `controlPlane.apiLatency` and
//! watchers see it after `watchLatency` as well. `bindingLatency` is extra time the binding
//! cycle takes before the pod counts as scheduled (PreBind, Permit waits, a slow webhook); it
//! is `0` by default because the write itself is already timed by `apiLatency`.

use sim_core::{SimDuration, SimTime};

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

/// The scheduler's timing (`scheduler: {schedulingCost, bindingLatency}` and the
/// configuration's `clientConnection`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SchedulerTiming {
    pub cost: SchedulingCost,
    /// Time from the end of a pod's scheduling cycle to its bind counting as done.
    pub binding_latency: SimDuration,
    /// The API client's rate limit; `None`: unlimited.
    pub client: Option<ClientRateLimit>,
}

impl SchedulerTiming {
    /// kubesim's idealised scheduler: no cycle cost, no binding latency, no client limit.
    pub const ZERO: SchedulerTiming = SchedulerTiming {
        cost: SchedulingCost::ZERO,
        binding_latency: SimDuration::ZERO,
        client: None,
    };
}

impl Default for SchedulerTiming {
    fn default() -> Self {
        SchedulerTiming {
            cost: SchedulingCost::CALIBRATED,
            binding_latency: SimDuration::ZERO,
            client: Some(ClientRateLimit::SCHEDULER_DEFAULT),
        }
    }
}

/// `clientConnection: {qps, burst}` of a kube-scheduler.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClientRateLimit {
    pub qps: f64,
    pub burst: u32,
}

impl ClientRateLimit {
    /// Upstream `SetDefaults_KubeSchedulerConfiguration`: QPS 50, Burst 100.
    pub const SCHEDULER_DEFAULT: ClientRateLimit = ClientRateLimit {
        qps: 50.0,
        burst: 100,
    };

    /// The configuration's `clientConnection`, defaulted as upstream: a zero (or absent) qps
    /// or burst takes the scheduler's default; a negative qps means no limiter (client-go
    /// builds one only for a positive qps).
    pub fn from_config(qps: Option<f64>, burst: Option<i64>) -> Option<ClientRateLimit> {
        let qps = match qps {
            Some(q) if q < 0.0 => return None,
            Some(q) if q > 0.0 => q,
            _ => Self::SCHEDULER_DEFAULT.qps,
        };
        let burst = match burst {
            Some(b) if b > 0 => u32::try_from(b).unwrap_or(u32::MAX),
            _ => Self::SCHEDULER_DEFAULT.burst,
        };
        Some(ClientRateLimit { qps, burst })
    }
}

/// A token bucket as `golang.org/x/time/rate` keeps it for client-go, in its "reserve and
/// wait" form: a request at `now` goes at once while tokens remain, else when the next token
/// arrives. Kept as the theoretical arrival time of the next request (GCRA), which is the same
/// bucket in integer nanoseconds: one token every `1/qps`, at most `burst` saved up.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    interval: u64,
    tolerance: u64,
    next_free: u64,
}

impl TokenBucket {
    /// Starts full, as upstream's limiter does.
    pub fn new(limit: ClientRateLimit) -> Self {
        let interval = if limit.qps.is_finite() && limit.qps > 0.0 {
            (1e9 / limit.qps).round().max(1.0) as u64
        } else {
            0
        };
        TokenBucket {
            interval,
            tolerance: interval.saturating_mul(u64::from(limit.burst.max(1)) - 1),
            next_free: 0,
        }
    }

    /// Takes a token for a request made at `now` and returns when the request may go.
    pub fn reserve(&mut self, now: SimTime) -> SimTime {
        let now_ns = now.as_nanos();
        let arrival = self.next_free.max(now_ns);
        let go = arrival.saturating_sub(self.tolerance).max(now_ns);
        self.next_free = arrival.saturating_add(self.interval);
        SimTime::from_nanos(go)
    }
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

    /// client-go's limiter for kube-scheduler (QPS 50, burst 100, starts full): the first 100
    /// requests of a burst go at once, then one every 20 ms.
    #[test]
    fn token_bucket_lets_a_burst_through_then_paces_it() {
        let mut b = TokenBucket::new(ClientRateLimit::SCHEDULER_DEFAULT);
        let t0 = SimTime::from_secs(10);
        let goes: Vec<SimTime> = (0..103).map(|_| b.reserve(t0)).collect();
        assert!(goes[..100].iter().all(|&g| g == t0));
        assert_eq!(goes[100], t0 + SimDuration::from_millis(20));
        assert_eq!(goes[102], t0 + SimDuration::from_millis(60));
        // Idle for 10 s refills the bucket (100 tokens take 2 s).
        let later = SimTime::from_secs(20);
        assert!((0..100).all(|_| b.reserve(later) == later));
        assert_eq!(b.reserve(later), later + SimDuration::from_millis(20));
        // 5,000 binds in one instant: the last goes (5,000 − 100) × 20 ms = 98 s later.
        let mut b = TokenBucket::new(ClientRateLimit::SCHEDULER_DEFAULT);
        let last = (0..5_000).map(|_| b.reserve(t0)).last().unwrap();
        assert_eq!(last, t0 + SimDuration::from_secs(98));
    }

    /// Upstream defaulting of `clientConnection` (`defaults.go`) and client-go's "no limiter
    /// unless qps > 0".
    #[test]
    fn client_connection_defaults_as_upstream() {
        let d = ClientRateLimit::SCHEDULER_DEFAULT;
        assert_eq!(ClientRateLimit::from_config(None, None), Some(d));
        assert_eq!(ClientRateLimit::from_config(Some(0.0), Some(0)), Some(d));
        assert_eq!(
            ClientRateLimit::from_config(Some(200.0), Some(400)),
            Some(ClientRateLimit {
                qps: 200.0,
                burst: 400
            })
        );
        assert_eq!(ClientRateLimit::from_config(Some(-1.0), None), None);
    }
}
