//! Upstream `pkg/controller/podautoscaler/replica_calculator.go` (and the ratio helpers of
//! `metrics/utilization.go`), as pure functions over the pods the HPA's selector lists and the
//! metrics the metrics API served for them.
//!
//! Ratios are `f64` as upstream's `float64`, so the same inputs round the same way
//! (`math.Ceil(usageRatio * readyPodCount)`).

use std::collections::{BTreeMap, BTreeSet};

use sim_core::{SimDuration, SimTime};

use crate::api::{PodId, PodPhase};

/// Upstream `Tolerances`: how far from 1.0 the usage ratio may be before the HPA acts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerances {
    pub scale_down: f64,
    pub scale_up: f64,
}

impl Tolerances {
    /// `--horizontal-pod-autoscaler-tolerance` in both directions.
    pub fn both(t: f64) -> Tolerances {
        Tolerances {
            scale_down: t,
            scale_up: t,
        }
    }

    /// Upstream `isWithin`.
    pub fn is_within(&self, usage_ratio: f64) -> bool {
        (1.0 - self.scale_down) <= usage_ratio && usage_ratio <= (1.0 + self.scale_up)
    }
}

/// The pod's `Ready` condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyCondition {
    pub status: bool,
    pub last_transition: SimTime,
}

/// A pod as the replica calculator reads it from the pod lister. Upstream keys its maps by
/// pod name; the store's id names a pod as uniquely within a run and costs nothing to copy
/// or compare, which matters when every HPA lists thousands of pods every 15 s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodInfo<'a> {
    pub id: PodId,
    /// For messages only.
    pub name: &'a str,
    pub phase: PodPhase,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    pub ready: Option<ReadyCondition>,
    /// `status.startTime`.
    pub start_time: Option<SimTime>,
    /// The summed request of the resource (milli-units); `None` when a container has none.
    pub request_milli: Option<i64>,
}

/// Upstream `PodMetric`: one pod's value as the metrics API served it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodMetric {
    pub value: i64,
    pub timestamp: SimTime,
    pub window: SimDuration,
}

pub type PodMetricsInfo = BTreeMap<PodId, PodMetric>;

/// The controller's flags the grouping of pods reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Periods {
    /// `--horizontal-pod-autoscaler-cpu-initialization-period` (5m).
    pub cpu_initialization_period: SimDuration,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay` (30s).
    pub delay_of_initial_readiness_status: SimDuration,
}

impl Default for Periods {
    fn default() -> Self {
        Periods {
            cpu_initialization_period: SimDuration::from_mins(5),
            delay_of_initial_readiness_status: SimDuration::from_secs(30),
        }
    }
}

/// Upstream `groupPods`: how many pods count as ready, and the unready, missing and ignored ones.
pub struct Groups {
    pub ready_pod_count: usize,
    pub unready: BTreeSet<PodId>,
    pub missing: BTreeSet<PodId>,
    pub ignored: BTreeSet<PodId>,
}

pub fn group_pods(
    pods: &[PodInfo],
    metrics: &PodMetricsInfo,
    cpu: bool,
    periods: Periods,
    now: SimTime,
) -> Groups {
    let mut g = Groups {
        ready_pod_count: 0,
        unready: BTreeSet::new(),
        missing: BTreeSet::new(),
        ignored: BTreeSet::new(),
    };
    for pod in pods {
        if pod.deleting || pod.phase == PodPhase::Failed {
            g.ignored.insert(pod.id);
            continue;
        }
        if pod.phase == PodPhase::Pending {
            g.unready.insert(pod.id);
            continue;
        }
        let Some(metric) = metrics.get(&pod.id) else {
            g.missing.insert(pod.id);
            continue;
        };
        if cpu {
            let unready = match (pod.ready, pod.start_time) {
                (Some(c), Some(start)) => {
                    if start.saturating_add(periods.cpu_initialization_period) > now {
                        // Still initializing: a sample taken before a full window had passed
                        // since the last readiness change is not trusted.
                        !c.status
                            || metric.timestamp < c.last_transition.saturating_add(metric.window)
                    } else {
                        // Unready and never been ready.
                        !c.status
                            && start.saturating_add(periods.delay_of_initial_readiness_status)
                                > c.last_transition
                    }
                }
                _ => true,
            };
            if unready {
                g.unready.insert(pod.id);
                continue;
            }
        }
        g.ready_pod_count += 1;
    }
    g
}

/// Upstream `GetResourceUtilizationRatio`: the ratio, the utilization in whole percent
/// (truncated), and the raw average value.
pub fn resource_utilization_ratio(
    metrics: &PodMetricsInfo,
    requests: &BTreeMap<PodId, i64>,
    target_utilization: i32,
) -> Result<(f64, i32, i64), String> {
    let (mut metrics_total, mut requests_total, mut entries) = (0i64, 0i64, 0i64);
    for (id, m) in metrics {
        let Some(r) = requests.get(id) else {
            continue;
        };
        metrics_total = metrics_total.wrapping_add(m.value);
        requests_total = requests_total.wrapping_add(*r);
        entries += 1;
    }
    if requests_total == 0 {
        return Err("no metrics returned matched known pods".into());
    }
    let utilization = (metrics_total.wrapping_mul(100) / requests_total) as i32;
    Ok((
        f64::from(utilization) / f64::from(target_utilization),
        utilization,
        metrics_total / entries,
    ))
}

/// Upstream `GetMetricUsageRatio`.
pub fn metric_usage_ratio(metrics: &PodMetricsInfo, target_usage: i64) -> (f64, i64) {
    let total: i64 = metrics.values().fold(0i64, |a, m| a.wrapping_add(m.value));
    let n = i64::try_from(metrics.len()).unwrap_or(i64::MAX).max(1);
    let usage = total / n;
    (usage as f64 / target_usage as f64, usage)
}

fn ceil_i32(x: f64) -> i32 {
    // Go's int32(float64) conversion of an out-of-range value is undefined; saturate.
    x.ceil() as i32
}

/// What `GetResourceReplicas` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceReplicas {
    pub replicas: i32,
    pub utilization: i32,
    pub raw_utilization: i64,
}

/// Upstream `GetResourceReplicas`: the replica count for a utilization target, with the
/// missing-pods and unready-pods rules.
#[allow(clippy::too_many_arguments)] // upstream's parameters, plus the clock
pub fn resource_replicas(
    current_replicas: i32,
    target_utilization: i32,
    cpu: bool,
    tolerances: Tolerances,
    pods: &[PodInfo],
    mut metrics: PodMetricsInfo,
    periods: Periods,
    now: SimTime,
) -> Result<ResourceReplicas, String> {
    if pods.is_empty() {
        return Err("no pods returned by selector while calculating replica count".into());
    }
    let g = group_pods(pods, &metrics, cpu, periods, now);
    for n in g.ignored.iter().chain(&g.unready) {
        metrics.remove(n);
    }
    if metrics.is_empty() {
        return Err("did not receive metrics for targeted pods (pods might be unready)".into());
    }
    let requests = requests(pods, cpu)?;
    let (usage_ratio, utilization, raw) =
        resource_utilization_ratio(&metrics, &requests, target_utilization)?;
    let done = |replicas| ResourceReplicas {
        replicas,
        utilization,
        raw_utilization: raw,
    };
    let scale_up_with_unready = !g.unready.is_empty() && usage_ratio > 1.0;
    if !scale_up_with_unready && g.missing.is_empty() {
        if tolerances.is_within(usage_ratio) {
            return Ok(done(current_replicas));
        }
        return Ok(done(ceil_i32(usage_ratio * g.ready_pod_count as f64)));
    }
    if !g.missing.is_empty() {
        if usage_ratio < 1.0 {
            // A scale-down treats missing pods as using their request (or the target, if above
            // 100%).
            let fallback = i64::from(100.max(target_utilization));
            for n in &g.missing {
                let r = requests.get(n).copied().unwrap_or(0);
                metrics.insert(*n, zero_metric(r * fallback / 100));
            }
        } else if usage_ratio > 1.0 {
            for n in &g.missing {
                metrics.insert(*n, zero_metric(0));
            }
        }
    }
    if scale_up_with_unready {
        for n in &g.unready {
            metrics.insert(*n, zero_metric(0));
        }
    }
    let (new_ratio, _, _) = resource_utilization_ratio(&metrics, &requests, target_utilization)?;
    if tolerances.is_within(new_ratio)
        || (usage_ratio < 1.0 && new_ratio > 1.0)
        || (usage_ratio > 1.0 && new_ratio < 1.0)
    {
        return Ok(done(current_replicas));
    }
    let new_replicas = ceil_i32(new_ratio * metrics.len() as f64);
    if (new_ratio < 1.0 && new_replicas > current_replicas)
        || (new_ratio > 1.0 && new_replicas < current_replicas)
    {
        return Ok(done(current_replicas));
    }
    Ok(done(new_replicas))
}

fn zero_metric(value: i64) -> PodMetric {
    PodMetric {
        value,
        timestamp: SimTime::ZERO,
        window: SimDuration::ZERO,
    }
}

/// Upstream `calculateRequests` (no container named: the sum over the pod's containers).
fn requests(pods: &[PodInfo], cpu: bool) -> Result<BTreeMap<PodId, i64>, String> {
    let resource = if cpu { "cpu" } else { "memory" };
    pods.iter()
        .map(|p| match p.request_milli {
            Some(r) => Ok((p.id, r)),
            None => Err(format!(
                "missing request for {resource} in container of Pod {}",
                p.name
            )),
        })
        .collect()
}

/// Upstream `calcPlainMetricReplicas` (used by `GetRawResourceReplicas` with `cpu` set as
/// the resource says, and by `GetMetricReplicas` for Pods metrics with `cpu = false`).
#[allow(clippy::too_many_arguments)] // upstream's parameters, plus the clock
pub fn plain_metric_replicas(
    current_replicas: i32,
    target_usage: i64,
    cpu: bool,
    tolerances: Tolerances,
    pods: &[PodInfo],
    mut metrics: PodMetricsInfo,
    periods: Periods,
    now: SimTime,
) -> Result<(i32, i64), String> {
    if pods.is_empty() {
        return Err("no pods returned by selector while calculating replica count".into());
    }
    let g = group_pods(pods, &metrics, cpu, periods, now);
    for n in g.ignored.iter().chain(&g.unready) {
        metrics.remove(n);
    }
    if metrics.is_empty() {
        return Err("did not receive metrics for targeted pods (pods might be unready)".into());
    }
    let (usage_ratio, usage) = metric_usage_ratio(&metrics, target_usage);
    let scale_up_with_unready = !g.unready.is_empty() && usage_ratio > 1.0;
    if !scale_up_with_unready && g.missing.is_empty() {
        if tolerances.is_within(usage_ratio) {
            return Ok((current_replicas, usage));
        }
        return Ok((ceil_i32(usage_ratio * g.ready_pod_count as f64), usage));
    }
    if !g.missing.is_empty() {
        if usage_ratio < 1.0 {
            for n in &g.missing {
                metrics.insert(*n, zero_metric(target_usage));
            }
        } else if usage_ratio > 1.0 {
            for n in &g.missing {
                metrics.insert(*n, zero_metric(0));
            }
        }
    }
    if scale_up_with_unready {
        for n in &g.unready {
            metrics.insert(*n, zero_metric(0));
        }
    }
    let (new_ratio, _) = metric_usage_ratio(&metrics, target_usage);
    if tolerances.is_within(new_ratio)
        || (usage_ratio < 1.0 && new_ratio > 1.0)
        || (usage_ratio > 1.0 && new_ratio < 1.0)
    {
        return Ok((current_replicas, usage));
    }
    let new_replicas = ceil_i32(new_ratio * metrics.len() as f64);
    if (new_ratio < 1.0 && new_replicas > current_replicas)
        || (new_ratio > 1.0 && new_replicas < current_replicas)
    {
        return Ok((current_replicas, usage));
    }
    Ok((new_replicas, usage))
}

/// Upstream `getReadyPodsCount`: Running and Ready pods.
pub fn ready_pods_count(pods: &[PodInfo]) -> Result<i64, String> {
    if pods.is_empty() {
        return Err("no pods returned by selector while calculating replica count".into());
    }
    Ok(pods
        .iter()
        .filter(|p| p.phase == PodPhase::Running && p.ready.is_some_and(|c| c.status))
        .count() as i64)
}

/// Upstream `getUsageRatioReplicaCount`: a whole-object metric against the ready pods; with
/// no replicas, scale from zero on the ratio alone.
pub fn usage_ratio_replica_count(
    current_replicas: i32,
    usage_ratio: f64,
    tolerances: Tolerances,
    pods: &[PodInfo],
) -> Result<i32, String> {
    if current_replicas == 0 {
        return Ok(ceil_i32(usage_ratio));
    }
    if tolerances.is_within(usage_ratio) {
        return Ok(current_replicas);
    }
    let ready =
        ready_pods_count(pods).map_err(|e| format!("unable to calculate ready pods: {e}"))?;
    let proposed = usage_ratio * ready as f64;
    Ok(if proposed > f64::from(i32::MAX) {
        i32::MAX
    } else {
        ceil_i32(proposed)
    })
}

/// Upstream `GetObjectMetricReplicas` (target `Value`).
pub fn object_metric_replicas(
    current_replicas: i32,
    target_usage: i64,
    usage: i64,
    tolerances: Tolerances,
    pods: &[PodInfo],
) -> Result<(i32, i64), String> {
    let ratio = usage as f64 / target_usage as f64;
    Ok((
        usage_ratio_replica_count(current_replicas, ratio, tolerances, pods)?,
        usage,
    ))
}

/// Upstream `GetObjectPerPodMetricReplicas` and `GetExternalPerPodMetricReplicas` (target
/// `AverageValue`): the metric divided over the scale's `status.replicas`.
pub fn per_pod_metric_replicas(
    status_replicas: i32,
    target_average_usage: i64,
    usage: i64,
    tolerances: Tolerances,
) -> (i32, i64) {
    let mut replicas = status_replicas;
    let ratio = usage as f64 / (target_average_usage as f64 * f64::from(status_replicas));
    if !tolerances.is_within(ratio) {
        let r = (usage as f64 / target_average_usage as f64).ceil();
        replicas = if r > f64::from(i32::MAX) {
            i32::MAX
        } else {
            r as i32
        };
    }
    let per_pod = (usage as f64 / f64::from(status_replicas)).ceil() as i64;
    (replicas, per_pod)
}

/// Upstream `GetExternalMetricReplicas` (target `Value`).
pub fn external_metric_replicas(
    current_replicas: i32,
    target_usage: i64,
    values: &[i64],
    tolerances: Tolerances,
    pods: &[PodInfo],
) -> Result<(i32, i64), String> {
    let mut usage = 0i64;
    for v in values {
        if *v > 0 && usage > i64::MAX - v {
            usage = i64::MAX;
            break;
        }
        usage = usage.wrapping_add(*v);
    }
    let ratio = usage as f64 / target_usage as f64;
    Ok((
        usage_ratio_replica_count(current_replicas, ratio, tolerances, pods)?,
        usage,
    ))
}

#[cfg(test)]
mod tests {
    //! Tables from upstream `pkg/controller/podautoscaler/replica_calculator_test.go`. Its
    //! harness gives every pod 2 containers (`numContainersPerPod`) reporting the level each,
    //! Ready since its start, started long before the CPU initialization period; the
    //! requests are per container, so a pod's request and usage are twice the table's.
    use super::*;

    const CONTAINERS: i64 = 2;

    fn now() -> SimTime {
        SimTime::ZERO + SimDuration::from_hours(1)
    }

    fn cool_start() -> SimTime {
        SimTime::ZERO
    }

    /// Started within the CPU initialization period, Ready only just now.
    fn hot_start() -> SimTime {
        SimTime::ZERO + SimDuration::from_mins(59) + SimDuration::from_secs(30)
    }

    struct Case {
        current: i32,
        expected: i32,
        ready: Vec<bool>,
        phase: Vec<PodPhase>,
        deleting: Vec<bool>,
        start: Vec<SimTime>,
        request_milli: Vec<i64>,
        levels: Vec<i64>,
        target: i32,
        expected_utilization: i32,
        expected_value: i64,
    }

    impl Case {
        fn new(current: i32, expected: i32, levels: &[i64], requests: &[i64]) -> Case {
            Case {
                current,
                expected,
                ready: vec![true; requests.len()],
                phase: vec![PodPhase::Running; requests.len()],
                deleting: vec![false; requests.len()],
                start: vec![cool_start(); requests.len()],
                request_milli: requests.to_vec(),
                levels: levels.to_vec(),
                target: 0,
                expected_utilization: 0,
                expected_value: 0,
            }
        }

        fn pods(&self) -> Vec<PodInfo<'static>> {
            (0..self.request_milli.len())
                .map(|i| {
                    let start = self.start[i];
                    PodInfo {
                        id: PodId(i as u32),
                        name: "test-pod",
                        phase: self.phase[i],
                        deleting: self.deleting[i],
                        ready: Some(ReadyCondition {
                            status: self.ready[i],
                            last_transition: if start == hot_start() { now() } else { start },
                        }),
                        start_time: Some(start),
                        request_milli: Some(self.request_milli[i] * CONTAINERS),
                    }
                })
                .collect()
        }

        fn metrics(&self) -> PodMetricsInfo {
            self.levels
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    (
                        PodId(i as u32),
                        PodMetric {
                            value: l * CONTAINERS,
                            timestamp: now(),
                            window: SimDuration::from_secs(60),
                        },
                    )
                })
                .collect()
        }

        fn run(&self, name: &str) {
            let got = resource_replicas(
                self.current,
                self.target,
                true,
                Tolerances::both(0.1),
                &self.pods(),
                self.metrics(),
                Periods {
                    cpu_initialization_period: SimDuration::from_mins(2),
                    delay_of_initial_readiness_status: SimDuration::from_secs(10),
                },
                now(),
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(got.replicas, self.expected, "{name}: replicas");
            assert_eq!(
                got.utilization, self.expected_utilization,
                "{name}: utilization"
            );
            assert_eq!(got.raw_utilization, self.expected_value, "{name}: value");
        }
    }

    #[test]
    fn replica_calc_resource_tables() {
        // TestReplicaCalcScaleUp
        let mut c = Case::new(3, 5, &[300, 500, 700], &[1000, 1000, 1000]);
        (c.target, c.expected_utilization, c.expected_value) = (30, 50, CONTAINERS * 500);
        c.run("TestReplicaCalcScaleUp");

        // TestReplicaCalcScaleUpUnreadyLessScale
        let mut c = Case::new(3, 4, &[300, 500, 700], &[1000, 1000, 1000]);
        c.ready = vec![false, true, true];
        (c.target, c.expected_utilization, c.expected_value) = (30, 60, CONTAINERS * 600);
        c.run("TestReplicaCalcScaleUpUnreadyLessScale");

        // TestReplicaCalcScaleUpHotCpuLessScale
        let mut c = Case::new(3, 4, &[300, 500, 700], &[1000, 1000, 1000]);
        c.start = vec![hot_start(), cool_start(), cool_start()];
        (c.target, c.expected_utilization, c.expected_value) = (30, 60, CONTAINERS * 600);
        c.run("TestReplicaCalcScaleUpHotCpuLessScale");

        // TestReplicaCalcScaleUpUnreadyNoScale
        let mut c = Case::new(3, 3, &[400, 500, 700], &[1000, 1000, 1000]);
        c.ready = vec![true, false, false];
        (c.target, c.expected_utilization, c.expected_value) = (30, 40, CONTAINERS * 400);
        c.run("TestReplicaCalcScaleUpUnreadyNoScale");

        // TestReplicaCalcScaleHotCpuNoScale
        let mut c = Case::new(3, 3, &[400, 500, 700], &[1000, 1000, 1000]);
        c.ready = vec![true, false, false];
        c.start = vec![cool_start(), hot_start(), hot_start()];
        (c.target, c.expected_utilization, c.expected_value) = (30, 40, CONTAINERS * 400);
        c.run("TestReplicaCalcScaleHotCpuNoScale");

        // TestReplicaCalcScaleUpIgnoresFailedPods
        let mut c = Case::new(2, 4, &[500, 700], &[1000, 1000, 1000, 1000]);
        c.ready = vec![true, true, false, false];
        c.phase = vec![
            PodPhase::Running,
            PodPhase::Running,
            PodPhase::Failed,
            PodPhase::Failed,
        ];
        (c.target, c.expected_utilization, c.expected_value) = (30, 60, CONTAINERS * 600);
        c.run("TestReplicaCalcScaleUpIgnoresFailedPods");

        // TestReplicaCalcScaleUpIgnoresDeletionPods
        let mut c = Case::new(2, 4, &[500, 700], &[1000, 1000, 1000, 1000]);
        c.ready = vec![true, true, false, false];
        c.deleting = vec![false, false, true, true];
        (c.target, c.expected_utilization, c.expected_value) = (30, 60, CONTAINERS * 600);
        c.run("TestReplicaCalcScaleUpIgnoresDeletionPods");

        // TestReplicaCalcScaleDown
        let mut c = Case::new(
            5,
            3,
            &[100, 300, 500, 250, 250],
            &[1000, 1000, 1000, 1000, 1000],
        );
        (c.target, c.expected_utilization, c.expected_value) = (50, 28, CONTAINERS * 280);
        c.run("TestReplicaCalcScaleDown");
    }

    #[test]
    fn disjoint_metrics_are_an_error() {
        // upstream replica_calculator_test.go TestReplicaCalcDisjointResourcesMetrics
        let pods = [PodInfo {
            id: PodId(0),
            name: "test-pod-0",
            phase: PodPhase::Running,
            deleting: false,
            ready: Some(ReadyCondition {
                status: true,
                last_transition: SimTime::ZERO,
            }),
            start_time: Some(SimTime::ZERO),
            request_milli: Some(1000),
        }];
        let metrics = [(
            PodId(99), // "an-older-pod-name"
            PodMetric {
                value: 100,
                timestamp: now(),
                window: SimDuration::from_secs(60),
            },
        )]
        .into_iter()
        .collect();
        let got = resource_replicas(
            1,
            100,
            true,
            Tolerances::both(0.1),
            &pods,
            metrics,
            Periods::default(),
            now(),
        );
        // The only pod has no metric: it is missing, and no metric is left for a ready pod
        // whose request is known.
        assert_eq!(
            got,
            Err("no metrics returned matched known pods".to_string())
        );
    }

    fn plain(
        levels: &[i64],
        ready: &[bool],
        start: &[SimTime],
    ) -> (Vec<PodInfo<'static>>, PodMetricsInfo) {
        let pods = ready
            .iter()
            .enumerate()
            .map(|(i, r)| PodInfo {
                id: PodId(i as u32),
                name: "test-pod",
                phase: PodPhase::Running,
                deleting: false,
                ready: Some(ReadyCondition {
                    status: *r,
                    last_transition: start[i],
                }),
                start_time: Some(start[i]),
                request_milli: Some(1000),
            })
            .collect();
        let metrics = levels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                (
                    PodId(i as u32),
                    PodMetric {
                        value: *l,
                        timestamp: now(),
                        window: SimDuration::from_secs(60),
                    },
                )
            })
            .collect();
        (pods, metrics)
    }

    #[test]
    fn replica_calc_custom_metric_tables() {
        let t = Tolerances::both(0.1);
        let p = Periods::default();
        let cool = [cool_start(); 3];
        // TestReplicaCalcScaleUpCM
        let (pods, m) = plain(&[20000, 10000, 30000], &[true; 3], &cool);
        assert_eq!(
            plain_metric_replicas(3, 15000, false, t, &pods, m, p, now()),
            Ok((4, 20000))
        );
        // TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale: unready pods count for a
        // non-CPU metric.
        let (pods, m) = plain(
            &[50000, 10000, 30000],
            &[true, true, false],
            &[cool_start(), cool_start(), hot_start()],
        );
        assert_eq!(
            plain_metric_replicas(3, 15000, false, t, &pods, m, p, now()),
            Ok((6, 30000))
        );
        // TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown
        let (pods, m) = plain(
            &[50000, 15000, 30000],
            &[false, true, false],
            &[hot_start(), cool_start(), hot_start()],
        );
        assert_eq!(
            plain_metric_replicas(3, 15000, false, t, &pods, m, p, now()),
            Ok((7, 31666))
        );
        // TestReplicaCalcScaleDownCM
        let (pods, m) = plain(&[12000; 5], &[true; 5], &[cool_start(); 5]);
        assert_eq!(
            plain_metric_replicas(5, 20000, false, t, &pods, m, p, now()),
            Ok((3, 12000))
        );
        // TestReplicaCalcScaleUpCMObject
        let (pods, _) = plain(&[], &[true; 3], &cool);
        assert_eq!(
            object_metric_replicas(3, 15000, 20000, t, &pods),
            Ok((4, 20000))
        );
        // TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods: only one pod is ready.
        let (pods, _) = plain(&[], &[false, true, false], &cool);
        assert_eq!(
            object_metric_replicas(3, 10000, 50000, t, &pods),
            Ok((5, 50000))
        );
        // TestReplicaCalcScaleUpCMPerPodObject
        assert_eq!(per_pod_metric_replicas(3, 5000, 20000, t), (4, 6667));
        // TestReplicaCalcScaleDownPerPodCMObject
        assert_eq!(per_pod_metric_replicas(5, 2000, 6000, t), (3, 1200));
        // TestReplicaCalcScaleUpCMExternal
        let (pods, _) = plain(&[], &[true], &[cool_start()]);
        assert_eq!(
            external_metric_replicas(1, 4400, &[8600], t, &pods),
            Ok((2, 8600))
        );
        // TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods
        let (pods, _) = plain(&[], &[false, true, false], &cool);
        assert_eq!(
            external_metric_replicas(3, 4400, &[8600], t, &pods),
            Ok((2, 8600))
        );
        // TestReplicaCalcScaleUpPerPodCMExternal
        assert_eq!(per_pod_metric_replicas(3, 2150, 8600, t), (4, 2867));
    }

    #[test]
    fn tolerances_are_a_closed_interval() {
        let t = Tolerances {
            scale_down: 0.1,
            scale_up: 0.05,
        };
        assert!(t.is_within(0.9) && t.is_within(1.05));
        assert!(!t.is_within(0.89) && !t.is_within(1.06));
    }
}
