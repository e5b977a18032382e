//! The headline figures of a run, computed from the store after the run. `reports` renders them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim_core::{SimDuration, StopReason};

use crate::api::PodPhase;
use crate::cluster::Cluster;
use crate::gpu;
use crate::store::PodRecord;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    /// Hex digest of every processed event: same scenario + seed ⇒ same digest.
    pub digest: String,
    pub simulated: String,
    pub simulated_seconds: f64,
    pub stop_reason: String,
    pub events_processed: u64,
    /// Figures over the whole run: what happened, whatever the state at the end.
    pub run: RunFigures,
    /// The state at the end of the run (`pods.scheduled` are pods bound at the end, not pods
    /// ever scheduled: see `run`).
    pub pods: PodCounts,
    /// Time from creation to binding of every pod created, in seconds: pods scheduled
    /// (including pods deleted since) with their time, pods still pending at the end with the
    /// time they had waited by then, a lower bound (`censored`).
    pub pending_seconds: Percentiles,
    /// Pods pending at the end of the run, with the scheduler's last verdict on each.
    pub pending_at_end: PendingPods,
    pub pools: Vec<PoolUsage>,
    pub scheduler: SchedulerStats,
    /// Deployments and ReplicaSets at the end of the run, as `kubectl get deployments,rs`.
    pub workloads: Vec<WorkloadStatus>,
    pub control_plane: ControlPlaneStats,
    /// The scenario's `expect:` entries and whether the run met them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expectations: Vec<ExpectationResult>,
    pub ignored_objects: Vec<String>,
    pub warnings: Vec<String>,
    /// Further headline figures of particular models (e.g. GPU fragmentation of a trace
    /// replay), compared like the built-in ones by `kubesim compare`.
    #[serde(deserialize_with = "read_back::names_in_tuples")]
    pub extra_metrics: Vec<(&'static str, f64, Better)>,
    /// Trace replay figures (allocation over time, GPU fragmentation), when the scenario
    /// replays a trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<crate::trace::ReplayReport>,
    /// What the cluster autoscaler did, when a pool autoscales.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaler: Option<crate::autoscaler::AutoscalerStats>,
    /// What injected faults did, when the scenario has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<FaultSummary>,
    /// Requests per Service, when the scenario has `traffic:`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, ServiceSummary>,
    /// The scenario's `slo:` objectives, each met or missed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slo: Vec<SloVerdict>,
}

/// What the traffic model measured for one Service over the whole run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSummary {
    /// Traffic enters the cluster here (objectives without a service judge it).
    pub entry: bool,
    pub requests: u64,
    pub succeeded: u64,
    /// Failed requests by cause (`noEndpoints`, `podGone`, `timeout`, `rejected`,
    /// `retriesExhausted`); causes that never happened are left out.
    pub failed: BTreeMap<String, u64>,
    /// `succeeded / requests` (1 without requests).
    pub availability: f64,
    pub latency_seconds: LatencySeconds,
    pub retries: u64,
    /// Busy over available serving capacity of the Service's pods, over the run.
    pub utilization: f64,
}

/// Latency percentiles of succeeded requests, in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySeconds {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

/// One objective of `slo:` for one service, judged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SloVerdict {
    pub service: String,
    /// `availability ≥ 99.9%`, `p99 latency ≤ 300ms`.
    pub objective: String,
    pub met: bool,
    /// The whole run's figure (availability as a fraction, latency in seconds); absent
    /// without requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<f64>,
    pub target: f64,
    /// On the good side of the target by (negative: missed by): percentage points of
    /// availability, or seconds of latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<f64>,
    pub windows_judged: u32,
    pub windows_missed: u32,
    /// Start of the first window that missed, in seconds of simulated time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_missed_seconds: Option<f64>,
    /// Start (seconds) and figure of the worst window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worst_window: Option<(f64, f64)>,
}

impl From<&crate::slo::Verdict> for SloVerdict {
    fn from(v: &crate::slo::Verdict) -> Self {
        SloVerdict {
            service: v.service.clone(),
            objective: v.objective(),
            met: v.met,
            actual: v.actual,
            target: v.target_value(),
            margin: v.margin(),
            windows_judged: v.windows_judged,
            windows_missed: v.windows_missed,
            first_missed_seconds: v.first_missed.map(|t| t.as_secs_f64()),
            worst_window: v.worst.map(|(t, x)| (t.as_secs_f64(), x)),
        }
    }
}

/// Faults injected and what they cost.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultSummary {
    /// Faults started, by verb (stochastic strikes included).
    #[serde(deserialize_with = "read_back::name_keys")]
    pub started: BTreeMap<&'static str, u64>,
    pub pods_killed: u64,
    pub containers_crashed: u64,
    /// Machine-down time summed over nodes.
    pub node_down_hours: f64,
    /// Share of node-time the machines were up: 1 − down / (nodes × duration), over the
    /// nodes that ever existed.
    pub node_availability: f64,
    /// Container restarts of every pod, whatever their cause.
    pub container_restarts: u64,
    /// Pods that stopped being Ready while not being deleted, plus pods killed.
    pub readiness_lost: u64,
    /// Share of Deployment-time with every desired replica available, counted for each
    /// Deployment from the first time it had them all.
    pub deployment_availability: f64,
    /// Deployment-hours short of available replicas, summed over Deployments.
    pub deployment_degraded_hours: f64,
}

/// Which direction of a metric is an improvement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Better {
    Higher,
    Lower,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodCounts {
    pub total: u64,
    pub scheduled: u64,
    pub running: u64,
    pub pending: u64,
    pub deleted: u64,
    /// Pods whose containers ended during the run (batch pods), by phase, whether or not
    /// they were deleted since.
    pub succeeded: u64,
    pub failed: u64,
}

/// Figures describing the whole run, next to the end state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunFigures {
    pub pods_created: u64,
    /// Pods bound to a node at some point of the run, whether or not they are still there.
    pub pods_ever_scheduled: u64,
    /// Pods never bound: deleted while pending, or still pending at the end.
    pub pods_never_scheduled: u64,
    pub pods_pending_at_end: u64,
    /// Requested ÷ allocatable over the run for cpu, memory and GPUs (whole GPUs requested as
    /// `nvidia.com/gpu` and shares placed by GPUShare alike), against the allocatable of every
    /// node the run had.
    pub utilization: Vec<RunUtilization>,
    /// Node-hours of the nodes at the end, over the whole run, summed over pools.
    pub node_hours: f64,
}

/// Peak and time-weighted mean of requested ÷ allocatable, 0..1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunUtilization {
    pub resource: String,
    pub peak: f64,
    pub mean: f64,
}

/// Pods pending at the end: `count` of them, `pods` the first [`MAX_PENDING_LISTED`] by
/// creation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingPods {
    pub count: u64,
    pub pods: Vec<PendingPod>,
}

/// Pods listed in `pendingAtEnd` at most; `count` says how many there were.
pub const MAX_PENDING_LISTED: usize = 1000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingPod {
    pub namespace: String,
    pub name: String,
    /// Time pending by the end of the run, seconds.
    pub pending_seconds: f64,
    /// The message of the pod's last `FailedScheduling` Event (e.g. `0/3 nodes are available:
    /// 3 Insufficient cpu.`); `None` when the scheduler never tried it or the Events were
    /// streamed to disk rather than kept (then `events.txt` has it).
    pub last_failed_scheduling: Option<String>,
    /// The command that replays the pod's scheduling attempts.
    pub explain: String,
}

/// Nearest-rank percentiles; values that are lower bounds (censored: a pod still pending at
/// the end waited at least that long) count like the others and make every percentile at or
/// above them a lower bound too.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Percentiles {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    /// Of `count`, the values that are lower bounds.
    pub censored: u64,
    /// Which of `p50`, `p90`, `p99`, `max` are lower bounds ("≥").
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "read_back::names"
    )]
    pub at_least: Vec<&'static str>,
}

impl Percentiles {
    /// Nearest-rank percentiles of `values` (sorted here).
    pub fn of(values: Vec<f64>) -> Percentiles {
        Percentiles::of_censored(values.into_iter().map(|v| (v, false)).collect())
    }

    /// Nearest-rank percentiles of `(value, is a lower bound)`. A percentile is a lower bound
    /// when a censored value lies at or below it: the censored value's true one may be above.
    pub fn of_censored(mut values: Vec<(f64, bool)>) -> Percentiles {
        if values.is_empty() {
            return Percentiles::default();
        }
        values.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let n = values.len();
        // The first censored position: every rank from there on is only a lower bound.
        let first_censored = values.iter().position(|v| v.1).unwrap_or(n);
        let censored = values.iter().filter(|v| v.1).count() as u64;
        Percentiles::nearest_ranks(n as u64, first_censored as u64, censored, |idx| {
            values[idx as usize].0
        })
    }

    /// [`Percentiles::of_censored`] of values given as `(value's bits, is a lower bound)` →
    /// how many; the values are non-negative, so their bits order as they do.
    pub fn of_counted(values: &BTreeMap<(u64, bool), u64>) -> Percentiles {
        let n: u64 = values.values().sum();
        if n == 0 {
            return Percentiles::default();
        }
        let mut first_censored = n;
        let mut seen = 0u64;
        for (&(_, censored), &count) in values {
            if censored {
                first_censored = seen;
                break;
            }
            seen += count;
        }
        let value_at = |idx: u64| -> f64 {
            let mut seen = 0u64;
            for (&(bits, _), &count) in values {
                seen += count;
                if idx < seen {
                    return f64::from_bits(bits);
                }
            }
            0.0
        };
        let censored = values
            .iter()
            .filter(|((_, censored), _)| *censored)
            .map(|(_, count)| count)
            .sum();
        Percentiles::nearest_ranks(n, first_censored, censored, value_at)
    }

    /// [`Percentiles::of_counted`] of `values` together with `in_file` more values, none a
    /// lower bound, held in the file at `file` (retired pods' times to schedule, read by
    /// [`crate::retired_pods::read_waits`]): exact, and memory does not grow with the file.
    pub fn of_counted_and_file(
        values: &BTreeMap<(u64, bool), u64>,
        file: &std::path::Path,
        in_file: u64,
    ) -> std::io::Result<Percentiles> {
        use crate::retired_pods::{read_waits, select_ranks};
        if in_file == 0 {
            return Ok(Percentiles::of_counted(values));
        }
        let n = values.values().sum::<u64>() + in_file;
        // Sorted by (value, is a lower bound), the first lower bound comes after every value
        // at or below its own.
        let first_censored = match values.keys().find(|(_, censored)| *censored) {
            None => n,
            Some(&(lowest, _)) => {
                let mut before = values
                    .iter()
                    .filter(|&(&(bits, censored), _)| !censored && bits <= lowest)
                    .map(|(_, count)| count)
                    .sum::<u64>();
                for bits in read_waits(file)? {
                    before += u64::from(bits? <= lowest);
                }
                before
            }
        };
        let censored = values
            .iter()
            .filter(|((_, censored), _)| *censored)
            .map(|(_, count)| count)
            .sum();
        let ranks = RANKS.map(|(p, _)| nearest_rank(p, n));
        let found = select_ranks(
            || {
                let kept = values.iter().map(|(&(bits, _), &count)| Ok((bits, count)));
                Ok(read_waits(file)?.map(|b| b.map(|b| (b, 1))).chain(kept))
            },
            &ranks,
        )?;
        let value_at = |idx: u64| {
            ranks
                .iter()
                .position(|&r| r == idx)
                .map_or(0.0, |i| f64::from_bits(found[i]))
        };
        Ok(Percentiles::nearest_ranks(
            n,
            first_censored,
            censored,
            value_at,
        ))
    }

    /// Nearest-rank percentiles of `n` sorted values read by `value_at(index)`, those from
    /// `first_censored` on being lower bounds.
    fn nearest_ranks(
        n: u64,
        first_censored: u64,
        censored: u64,
        value_at: impl Fn(u64) -> f64,
    ) -> Percentiles {
        let mut at_least = Vec::new();
        let [p50, p90, p99, max] = RANKS.map(|(p, name)| {
            let idx = nearest_rank(p, n);
            if idx >= first_censored {
                at_least.push(name);
            }
            value_at(idx)
        });
        Percentiles {
            count: n,
            p50,
            p90,
            p99,
            max,
            censored,
            at_least,
        }
    }

    /// Whether the percentile named `which` (`p50`, `p90`, `p99`, `max`) is a lower bound.
    pub fn is_lower_bound(&self, which: &str) -> bool {
        self.at_least.contains(&which)
    }
}

/// The percentiles a summary gives, in order.
const RANKS: [(f64, &str); 4] = [(50.0, "p50"), (90.0, "p90"), (99.0, "p99"), (100.0, "max")];

/// Nearest rank: the index of the smallest of `n` sorted values with at least `p`% of the
/// values at or below it.
fn nearest_rank(p: f64, n: u64) -> u64 {
    (((p / 100.0) * n as f64).ceil() as u64).clamp(1, n) - 1
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceUsage {
    pub resource: String,
    /// For `nvidia.com/gpu`: GPUs requested through the extended resource plus devices holding
    /// a GPUShare share (whole or part), at most `allocatable`.
    pub requested: i64,
    pub allocatable: i64,
    /// For `nvidia.com/gpu`: milli-GPUs held, whole GPUs × 1000 plus the shares GPUShare
    /// placed; `utilization` is this over `allocatable × 1000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_milli: Option<i64>,
    /// requested / allocatable, 0..1.
    pub utilization: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolUsage {
    pub pool: String,
    pub nodes: u64,
    /// Nodes with at least one pod: what bin-packing minimises.
    pub nodes_in_use: u64,
    pub pods: u64,
    pub resources: Vec<ResourceUsage>,
    pub node_hours: f64,
    pub cost: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchedulerStats {
    pub attempts: u64,
    pub failed_attempts: u64,
    /// Plugins of the configured profiles that kubesim does not model yet (skipped).
    pub unmodelled_plugins: Vec<String>,
}

/// One workload at the end of the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadStatus {
    /// `deployment`, `replicaset`, `replicationcontroller`, `statefulset`, `daemonset`, `job`
    /// or `cronjob`. For a DaemonSet `replicas` is the desired number scheduled; for a Job its
    /// completions (parallelism when unset); for a CronJob its active Jobs. `progressing` is
    /// a Job's finished condition (`Complete`, `Failed`) or `Running`, and a CronJob's
    /// `Suspended` or `Scheduled`.
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// `spec.replicas`.
    pub replicas: i32,
    pub ready: i32,
    /// Deployments: `status.updatedReplicas`; ReplicaSets: their active pods.
    pub up_to_date: i32,
    pub available: i32,
    /// Deployments: the reason of the `Progressing` condition (e.g.
    /// `NewReplicaSetAvailable`, `ProgressDeadlineExceeded`), and the current revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progressing: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    /// Jobs: pods that succeeded and failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succeeded: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<i32>,
}

/// The control plane's activity over the run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlPlaneStats {
    /// Writes committed (the API server's last resourceVersion).
    pub writes: u64,
    /// Keys synced by the controllers.
    pub controller_syncs: u64,
    /// Pods deleted through the Eviction API.
    pub evictions: u64,
    /// Writes refused while the API server was unavailable.
    pub rejected_writes: u64,
}

/// One `expect:` entry: met if every condition held at some check from `after` to
/// `after + within`; `metAt` is the first such check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectationResult {
    pub after: String,
    pub within: String,
    /// `converged`, or the finer conditions (`noPendingPods, noTaintedNodes`).
    pub condition: String,
    pub met: bool,
    pub met_at: Option<String>,
}

fn expectations(cluster: &Cluster) -> Vec<ExpectationResult> {
    cluster
        .control_plane
        .expectations
        .iter()
        .map(|s| ExpectationResult {
            after: s.expectation.after.to_string(),
            within: s.expectation.within.to_string(),
            condition: s.expectation.conditions.describe(),
            met: s.met_at.is_some(),
            met_at: s.met_at.map(|t| t.to_string()),
        })
        .collect()
}

/// What the summary needs to know about the scenario besides the cluster.
pub struct SummaryInput<'a> {
    pub scenario: &'a str,
    /// The scenario file as the user named it, for the `explain` commands the summary suggests.
    pub file: &'a str,
    pub seed: u64,
    pub elapsed: SimDuration,
    pub stop: &'a StopReason,
    pub digest: String,
    pub events_processed: u64,
    pub cost_per_hour: &'a BTreeMap<String, f64>,
    pub ignored_objects: Vec<String>,
    pub warnings: Vec<String>,
}

pub const MANIFEST_POOL: &str = "(nodes from manifests)";

/// The percentiles of the kept pods' `waits` and the retired pods' (read back from where they
/// were retired to; a read error is kept for the end of the run).
fn pending_seconds(store: &crate::store::Store, waits: &BTreeMap<(u64, bool), u64>) -> Percentiles {
    let Some(to) = store.retirement_ref() else {
        return Percentiles::of_counted(waits);
    };
    match Percentiles::of_counted_and_file(waits, to.waits_path(), store.retired().ever_scheduled) {
        Ok(p) => p,
        Err(e) => {
            to.note_error(e);
            Percentiles::of_counted(waits)
        }
    }
}

pub fn summarize(cluster: &Cluster, input: SummaryInput<'_>) -> Summary {
    let store = &cluster.api.store;
    let end = sim_core::SimTime::ZERO.saturating_add(input.elapsed);
    let mut pods = PodCounts::default();
    let mut run = RunFigures::default();
    // Retired pods (see `crate::retired_pods`) come as aggregates; they are all deleted.
    let retired = store.retired();
    pods.total = retired.total;
    pods.deleted = retired.total;
    pods.succeeded = retired.succeeded;
    pods.failed = retired.failed;
    run.pods_ever_scheduled = retired.ever_scheduled;
    // Kept pods' waits as (bits of the seconds, still pending) → how many; retired pods' are
    // in a file.
    let mut pending_times: BTreeMap<(u64, bool), u64> = BTreeMap::new();
    let mut wait = |seconds: f64, censored: bool| {
        *pending_times
            .entry((seconds.to_bits(), censored))
            .or_default() += 1;
    };
    let mut pending_pods = Vec::new();
    for p in store.kept_pods() {
        pods.total += 1;
        if let Some(at) = p.scheduled_at {
            wait(at.since(p.created_at).as_secs_f64(), false);
            run.pods_ever_scheduled += 1;
        }
        if p.finished_at.is_some() {
            match p.phase {
                PodPhase::Succeeded => pods.succeeded += 1,
                PodPhase::Failed => pods.failed += 1,
                _ => {}
            }
        }
        if !p.is_active() {
            pods.deleted += 1;
            continue;
        }
        match (p.node, p.phase) {
            (None, _) => {
                pods.pending += 1;
                let waited = end.since(p.created_at).as_secs_f64();
                wait(waited, true);
                pending_pods.push(p);
            }
            (Some(_), PodPhase::Running) => {
                pods.scheduled += 1;
                pods.running += 1;
            }
            (Some(_), _) => pods.scheduled += 1,
        }
    }
    run.pods_created = pods.total;
    run.pods_never_scheduled = pods.total - run.pods_ever_scheduled;
    run.pods_pending_at_end = pods.pending;
    run.utilization = run_utilization(cluster, end);
    let pending_at_end = pending_list(cluster, &pending_pods, end, &input);

    let hours = input.elapsed.as_secs_f64() / 3600.0;
    #[derive(Default)]
    struct PoolTally {
        nodes: u64,
        pods: u64,
        in_use: u64,
        /// resource → (requested, allocatable, requested milli-GPUs)
        resources: BTreeMap<String, (i64, i64, Option<i64>)>,
    }
    let mut pools: BTreeMap<String, PoolTally> = BTreeMap::new();
    for n in store.live_nodes() {
        let pool = n
            .node
            .pool
            .clone()
            .unwrap_or_else(|| MANIFEST_POOL.to_string());
        let entry = pools.entry(pool).or_default();
        entry.nodes += 1;
        entry.pods += n.pods.len() as u64;
        entry.in_use += u64::from(!n.pods.is_empty());
        let mut add = |name: &str, req: i64, alloc: i64, milli: Option<i64>| {
            let e = entry.resources.entry(name.to_string()).or_default();
            e.0 += req;
            e.1 += alloc;
            if let Some(m) = milli {
                *e.2.get_or_insert(0) += m;
            }
        };
        add(
            "cpu",
            n.requested.cpu_milli,
            n.node.allocatable.cpu_milli,
            None,
        );
        add(
            "memory",
            n.requested.memory,
            n.node.allocatable.memory,
            None,
        );
        // A trace node's pod limit is a stand-in for "no limit" (the trace records none): it
        // is no capacity, and adding it up would print a meaningless allocatable.
        if n.node.allocatable.pods < crate::trace::openb::TRACE_NODE_MAX_PODS {
            add("pods", n.pods.len() as i64, n.node.allocatable.pods, None);
        }
        for (name, alloc) in &n.node.allocatable.extended {
            let whole = n.requested.extended_amount(name);
            if name == gpu::GPU_RESOURCE {
                // Shares placed by GPUShare are held on the devices, not requested as
                // `nvidia.com/gpu`: count both.
                let shared_devices = n
                    .gpu_free
                    .iter()
                    .filter(|f| **f < gpu::MILLI_PER_GPU)
                    .count() as i64;
                let shared_milli: i64 = n
                    .gpu_free
                    .iter()
                    .map(|f| i64::from(gpu::MILLI_PER_GPU.saturating_sub(*f)))
                    .sum();
                add(
                    name,
                    (whole + shared_devices).min(*alloc),
                    *alloc,
                    Some(whole * i64::from(gpu::MILLI_PER_GPU) + shared_milli),
                );
            } else {
                add(name, whole, *alloc, None);
            }
        }
    }
    // Nodes the autoscaler added or removed count for the time they were there.
    let node_hours_correction = cluster.autoscaler.node_hours_correction();
    for pool in node_hours_correction.keys() {
        pools.entry(pool.clone()).or_default();
    }
    let pools = pools
        .into_iter()
        .map(|(pool, tally)| {
            let PoolTally {
                nodes,
                pods: pod_count,
                in_use,
                resources: res,
            } = tally;
            let node_hours = (nodes as f64 * hours
                + node_hours_correction.get(&pool).copied().unwrap_or(0.0))
            .max(0.0);
            PoolUsage {
                cost: input.cost_per_hour.get(&pool).map(|c| c * node_hours),
                resources: res
                    .into_iter()
                    .map(
                        |(resource, (requested, allocatable, requested_milli))| ResourceUsage {
                            utilization: match requested_milli {
                                _ if allocatable <= 0 => 0.0,
                                Some(m) => m as f64 / (allocatable as f64 * 1000.0),
                                None => requested as f64 / allocatable as f64,
                            },
                            resource,
                            requested,
                            allocatable,
                            requested_milli,
                        },
                    )
                    .collect(),
                pool,
                nodes,
                nodes_in_use: in_use,
                pods: pod_count,
                node_hours,
            }
        })
        .collect::<Vec<PoolUsage>>();
    run.node_hours = pools.iter().map(|p| p.node_hours).sum();

    Summary {
        scenario: input.scenario.to_string(),
        seed: input.seed,
        digest: input.digest,
        simulated: input.elapsed.to_string(),
        simulated_seconds: input.elapsed.as_secs_f64(),
        stop_reason: input.stop.to_string(),
        events_processed: input.events_processed,
        run,
        pods,
        pending_seconds: pending_seconds(store, &pending_times),
        pending_at_end,
        pools,
        scheduler: SchedulerStats {
            attempts: cluster.api.counters.scheduling_attempts,
            failed_attempts: cluster.api.counters.failed_scheduling,
            unmodelled_plugins: cluster.scheduler.scheduler.unmodelled_plugins(),
        },
        workloads: workloads(cluster),
        control_plane: ControlPlaneStats {
            writes: cluster.api.resource_version(),
            controller_syncs: cluster.controllers.replica_set.syncs
                + cluster.controllers.deployment.syncs
                + cluster.controllers.garbage_collector.syncs
                + cluster.controllers.disruption.syncs
                + cluster.controllers.stateful_set.syncs
                + cluster.controllers.daemon_set.syncs
                + cluster.controllers.job.syncs
                + cluster.controllers.cron_job.syncs
                + cluster.controllers.volume.syncs
                + cluster.controllers.pod_gc.syncs
                + cluster.controllers.node_lifecycle.syncs
                + cluster.controllers.taint_eviction.syncs,
            evictions: cluster.api.counters.evictions,
            rejected_writes: cluster.api.counters.rejected_writes,
        },
        expectations: expectations(cluster),
        ignored_objects: input.ignored_objects,
        warnings: input.warnings,
        extra_metrics: Vec::new(),
        trace: None,
        faults: fault_summary(cluster, input.elapsed),
        autoscaler: cluster
            .autoscaler
            .is_active()
            .then(|| cluster.autoscaler.stats.clone()),
        services: cluster
            .traffic
            .as_ref()
            .map(|t| t.service_summaries())
            .unwrap_or_default(),
        slo: Vec::new(),
    }
}

/// Peak and time-weighted mean of requested ÷ allocatable for cpu, memory and GPUs, from each
/// pod's time on its node: from binding until it was deleted or, ended, gave its resources
/// back. Allocatable is that of every node the run had (nodes carry no join time).
fn run_utilization(cluster: &Cluster, end: sim_core::SimTime) -> Vec<RunUtilization> {
    let store = &cluster.api.store;
    let milli = i64::from(gpu::MILLI_PER_GPU);
    let mut allocatable = [0i64; 3];
    for n in &store.nodes {
        let a = &n.node.allocatable;
        allocatable[0] += a.cpu_milli;
        allocatable[1] += a.memory;
        allocatable[2] += a.extended_amount(gpu::GPU_RESOURCE) * milli;
    }
    // (time, change of cpu, memory, milli-GPUs requested)
    // The retired pods' instants before the first kept pod are swept already; the others come
    // with the kept pods' changes (see `crate::retired_pods`).
    let mut sweep = store.retired().utilization.clone();
    let mut changes: Vec<(u64, [i64; 3])> =
        std::mem::take(&mut sweep.pending).into_iter().collect();
    for p in store.kept_pods() {
        let Some((from, to, amounts)) = crate::retired_pods::utilization_changes(p) else {
            continue;
        };
        changes.push((from, amounts));
        if let Some(to) = to {
            changes.push((to, amounts.map(|a| -a)));
        }
    }
    changes.sort_by_key(|c| c.0);
    let end_ns = end.as_nanos();
    let mut i = 0;
    while i < changes.len() {
        let t = changes[i].0.min(end_ns);
        // Every change at one instant first, so a pod replacing another at the same time
        // does not count twice.
        let mut change = [0i64; 3];
        while i < changes.len() && changes[i].0.min(end_ns) == t {
            for (h, d) in change.iter_mut().zip(changes[i].1) {
                *h += d;
            }
            i += 1;
        }
        sweep.step(t, change);
    }
    let crate::retired_pods::UtilizationSweep {
        held,
        last,
        mut area,
        peak,
        ..
    } = sweep;
    let span = end_ns.saturating_sub(last) as f64;
    for (a, h) in area.iter_mut().zip(held) {
        *a += h as f64 * span;
    }
    ["cpu", "memory", gpu::GPU_RESOURCE]
        .into_iter()
        .enumerate()
        .filter(|(k, _)| allocatable[*k] > 0)
        .map(|(k, resource)| {
            let alloc = allocatable[k] as f64;
            RunUtilization {
                resource: resource.to_string(),
                peak: peak[k] / alloc,
                mean: if end_ns > 0 {
                    area[k] / (alloc * end_ns as f64)
                } else {
                    0.0
                },
            }
        })
        .collect()
}

/// The pods pending at the end, oldest first, each with its last `FailedScheduling` message
/// when the Events are in memory.
fn pending_list(
    cluster: &Cluster,
    pending: &[&PodRecord],
    end: sim_core::SimTime,
    input: &SummaryInput<'_>,
) -> PendingPods {
    let listed = &pending[..pending.len().min(MAX_PENDING_LISTED)];
    let mut out = PendingPods {
        count: pending.len() as u64,
        pods: listed
            .iter()
            .map(|p| PendingPod {
                namespace: p.pod.namespace.clone(),
                name: p.pod.name.clone(),
                pending_seconds: end.since(p.created_at).as_secs_f64(),
                last_failed_scheduling: None,
                explain: format!(
                    "kubesim explain {} --pod {}/{} --seed {}",
                    input.file, p.pod.namespace, p.pod.name, input.seed
                ),
            })
            .collect(),
    };
    // Streamed runs keep no Events in memory; the log keeps each pending pod's last
    // FailedScheduling message either way.
    for p in &mut out.pods {
        p.last_failed_scheduling = cluster
            .api
            .events
            .last_failed_scheduling(&format!("pod/{}", p.name))
            .map(str::to_owned);
    }
    out
}

impl PendingPods {
    /// Sets each listed pod's `lastFailedScheduling` from `events` (in recording order) where
    /// one is about it: the run's Events when kept in memory, or read back from `events.jsonl`
    /// when they were streamed.
    pub fn fill_last_failed_scheduling<'e>(
        &mut self,
        events: impl Iterator<Item = &'e crate::events::EventRecord>,
    ) {
        let index: BTreeMap<String, usize> = self
            .pods
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("pod/{}", p.name), i))
            .collect();
        if index.is_empty() {
            return;
        }
        for e in events {
            if e.reason != "FailedScheduling" {
                continue;
            }
            if let Some(&i) = index.get(&e.object) {
                self.pods[i].last_failed_scheduling = Some(e.message.clone());
            }
        }
    }
}

fn fault_summary(cluster: &Cluster, elapsed: SimDuration) -> Option<FaultSummary> {
    let f = &cluster.faults;
    if f.instances.is_empty() && f.stochastic.is_empty() {
        return None;
    }
    let end = sim_core::SimTime::ZERO.saturating_add(elapsed);
    let down_ns = f.node_down_ns(end);
    let node_ns = cluster.api.store.nodes.len() as f64 * elapsed.as_nanos() as f64;
    let (degraded, tracked) = cluster.api.deployment_availability.totals(end);
    Some(FaultSummary {
        started: f.record.started.clone(),
        pods_killed: f.record.pods_killed,
        containers_crashed: f.record.containers_crashed,
        node_down_hours: down_ns as f64 / 3.6e12,
        node_availability: if node_ns > 0.0 {
            (1.0 - down_ns as f64 / node_ns).clamp(0.0, 1.0)
        } else {
            1.0
        },
        container_restarts: cluster
            .api
            .store
            .pods
            .iter()
            .map(|p| u64::try_from(p.restarts).unwrap_or(0))
            .sum(),
        readiness_lost: cluster.api.counters.readiness_lost,
        deployment_availability: if tracked > 0 {
            1.0 - degraded as f64 / tracked as f64
        } else {
            1.0
        },
        deployment_degraded_hours: degraded as f64 / 3.6e12,
    })
}

/// The Deployments, then the ReplicaSets no Deployment owns, that still exist.
fn workloads(cluster: &Cluster) -> Vec<WorkloadStatus> {
    let api = &cluster.api;
    let mut out = Vec::new();
    for d in api.deployments.iter().filter(|d| d.exists()) {
        out.push(WorkloadStatus {
            kind: "deployment".into(),
            namespace: d.d.namespace.clone(),
            name: d.d.name.clone(),
            replicas: d.d.replicas,
            ready: d.status.ready_replicas,
            up_to_date: d.status.updated_replicas,
            available: d.status.available_replicas,
            progressing: d
                .status
                .condition(crate::controllers::deployment::PROGRESSING)
                .map(|c| c.reason.to_string()),
            revision: d
                .d
                .annotations
                .get(crate::apiserver::objects::REVISION_ANNOTATION)
                .and_then(|r| r.parse().ok()),
            succeeded: None,
            failed: None,
        });
    }
    for rs in api
        .replica_sets
        .iter()
        .filter(|r| r.exists() && r.rs.owner.is_none())
    {
        out.push(WorkloadStatus {
            kind: rs.rs.kind.resource().into(),
            namespace: rs.rs.namespace.clone(),
            name: rs.rs.name.clone(),
            replicas: rs.rs.replicas,
            ready: rs.status.ready_replicas,
            up_to_date: rs.status.replicas,
            available: rs.status.available_replicas,
            progressing: None,
            revision: None,
            succeeded: None,
            failed: None,
        });
    }
    let row = |kind: &str, namespace: &str, name: &str, replicas, ready, up_to_date, available| {
        WorkloadStatus {
            kind: kind.into(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            replicas,
            ready,
            up_to_date,
            available,
            progressing: None,
            revision: None,
            succeeded: None,
            failed: None,
        }
    };
    for o in api.stateful_sets.live() {
        let st = &o.status;
        out.push(row(
            "statefulset",
            &o.spec.namespace,
            &o.spec.name,
            o.spec.replicas,
            st.ready_replicas,
            st.updated_replicas,
            st.available_replicas,
        ));
    }
    for o in api.daemon_sets.live() {
        let st = &o.status;
        out.push(row(
            "daemonset",
            &o.spec.namespace,
            &o.spec.name,
            st.desired_number_scheduled,
            st.number_ready,
            st.updated_number_scheduled,
            st.number_available,
        ));
    }
    for o in api.jobs.live() {
        let st = &o.status;
        let mut w = row(
            "job",
            &o.spec.namespace,
            &o.spec.name,
            o.spec.completions.unwrap_or(o.spec.parallelism),
            st.ready,
            st.active,
            st.active,
        );
        w.progressing = Some(st.finished().map_or("Running", |c| c.type_).to_string());
        w.succeeded = Some(st.succeeded);
        w.failed = Some(st.failed);
        out.push(w);
    }
    for o in api.cron_jobs.live() {
        let active = i32::try_from(o.status.active.len()).unwrap_or(i32::MAX);
        let mut w = row(
            "cronjob",
            &o.spec.namespace,
            &o.spec.name,
            active,
            active,
            active,
            active,
        );
        w.progressing = Some(
            if o.spec.suspend {
                "Suspended"
            } else {
                "Scheduled"
            }
            .to_string(),
        );
        out.push(w);
    }
    out
}

/// Pods pending (created, not yet bound) and running at `points` evenly spaced instants from
/// the start to `end`: the curve of a run at a glance. Time in hours.
///
/// A pod is pending over `[created, min(scheduled, running, deleted))` and running over
/// `[max(created, running), deleted)`; each interval adds one to the samples it covers, found
/// from its ends by division, so the cost is pods plus samples rather than their product.
pub fn pods_over_time(
    cluster: &Cluster,
    end: sim_core::SimTime,
    points: usize,
) -> Vec<(f64, u64, u64)> {
    pods_over_time_with(cluster, end, points, std::iter::empty())
}

/// [`pods_over_time`] of the kept pods and of retired ones given by their times
/// ([`crate::retired_pods::pod_times`]: created, left pending, running, deleted).
pub fn pods_over_time_with(
    cluster: &Cluster,
    end: sim_core::SimTime,
    points: usize,
    retired: impl Iterator<Item = [Option<sim_core::SimTime>; 4]>,
) -> Vec<(f64, u64, u64)> {
    let points = points.max(2);
    let step = end.as_nanos() / (points as u64 - 1).max(1);
    // The first sample at or after `t` (`points` when none is).
    let first_sample_from = |t: sim_core::SimTime| -> usize {
        let t = t.as_nanos();
        if t == 0 {
            return 0;
        }
        if step == 0 {
            return points;
        }
        usize::try_from(t.div_ceil(step)).map_or(points, |i| i.min(points))
    };
    // Differences: `pending[i]` is how many more pods are pending at sample i than at i - 1.
    let mut pending = vec![0i64; points + 1];
    let mut running = vec![0i64; points + 1];
    let add = |diff: &mut Vec<i64>, from: sim_core::SimTime, to: Option<sim_core::SimTime>| {
        let (a, b) = (
            first_sample_from(from),
            to.map_or(points, first_sample_from),
        );
        if a < b {
            diff[a] += 1;
            diff[b] -= 1;
        }
    };
    let kept = cluster
        .api
        .store
        .kept_pods()
        .map(crate::retired_pods::pod_times);
    for [created, left_pending, running_at, deleted] in retired.chain(kept) {
        let Some(created) = created else { continue };
        add(&mut pending, created, left_pending);
        if let Some(r) = running_at {
            add(&mut running, r.max(created), deleted);
        }
    }
    let (mut now_pending, mut now_running) = (0i64, 0i64);
    (0..points)
        .map(|i| {
            let t = sim_core::SimTime::from_nanos(step.saturating_mul(i as u64));
            now_pending += pending[i];
            now_running += running[i];
            (
                t.as_secs_f64() / 3600.0,
                u64::try_from(now_pending).unwrap_or(0),
                u64::try_from(now_running).unwrap_or(0),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        // 1..=10: p50 is the 5th value, p90 the 9th, p99 the 10th (ceil(9.9) = 10).
        let p = Percentiles::of((1..=10).map(f64::from).collect());
        assert_eq!(
            (p.p50, p.p90, p.p99, p.max, p.count),
            (5.0, 9.0, 10.0, 10.0, 10)
        );
    }

    #[test]
    fn censored_values_make_the_percentiles_above_them_lower_bounds() {
        // Eight pods scheduled within a second, two still pending after 300 s: p50 is known,
        // p90 (the 9th value) and above only from below.
        let mut values: Vec<(f64, bool)> = (1..=8).map(|i| (f64::from(i) / 10.0, false)).collect();
        values.push((300.0, true));
        values.push((300.0, true));
        let p = Percentiles::of_censored(values);
        assert_eq!((p.p50, p.p90, p.max, p.censored), (0.5, 300.0, 300.0, 2));
        assert_eq!(p.at_least, vec!["p90", "p99", "max"]);
        // A pod pending for less time than a scheduled pod waited still bounds what follows.
        let p = Percentiles::of_censored(vec![(1.0, true), (5.0, false)]);
        assert_eq!(p.at_least, vec!["p50", "p90", "p99", "max"]);
    }
}

/// Reading a written `summary.json` back (to rebuild a report from a run's outputs). The
/// summary names figures with `&'static str` (reason and metric names the model owns); read
/// back, those names are leaked once per read: a handful of short strings in a process that
/// reads one summary and ends.
mod read_back {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer};

    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    pub fn names<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<&'static str>, D::Error> {
        Ok(Vec::<String>::deserialize(d)?
            .into_iter()
            .map(leak)
            .collect())
    }

    pub fn name_keys<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<&'static str, u64>, D::Error> {
        Ok(BTreeMap::<String, u64>::deserialize(d)?
            .into_iter()
            .map(|(k, v)| (leak(k), v))
            .collect())
    }

    pub fn names_in_tuples<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(&'static str, f64, super::Better)>, D::Error> {
        Ok(Vec::<(String, f64, super::Better)>::deserialize(d)?
            .into_iter()
            .map(|(n, v, b)| (leak(n), v, b))
            .collect())
    }
}
