//! Replaying a trace in the cluster world: each pod is created at its recorded creation time
//! through `Cluster::create_pod`, so the scheduling queue and the scheduler treat it like any
//! pod, and deleted at its recorded deletion time through `Cluster::delete_pod`, which frees
//! its node (and devices) and requeues the unschedulable pods.
//!
//! Unlike the FGD simulator, which drops a pod the moment one scheduling attempt fails, a pod
//! kubesim cannot place waits in the queue, as on a real cluster, and is retried on cluster
//! events; if its deletion time comes first it leaves unscheduled (counted in
//! [`TraceReplay::left_unscheduled`]).

use std::path::Path;

use serde::{Deserialize, Serialize};
use sim_core::{Context, RunLimits, SimDuration, SimTime, Simulation, StopReason};

use super::metrics::SamplingConfig;
use super::{DEFAULT_SAMPLE_INTERVAL, Trace, TraceParts, TracePod, load_openb};
use crate::api::{Pod, PodId};
use crate::apiserver::{ApiError, ApiServer, ControlPlaneTiming as Timing};
use crate::cluster::{Cluster, Event};
use crate::events::{EventRecord, EventType};
use crate::gpu::DEFAULT_TYPICAL_POD_THRESHOLD_PERCENT;
use crate::kubelet::Kubelets;
use crate::scenario::Diagnostic;
use crate::scheduler::config::{
    KubeSchedulerConfiguration, KubeSchedulerProfile, PluginRef, Plugins,
};
use crate::scheduler::plugins::gpu_share;
use crate::scheduler::{Registry, Scheduler};
use crate::store::Store;

/// Trace pods on their way through the cluster.
#[derive(Clone, Debug, Default)]
pub struct TraceReplay {
    /// Pods that have not arrived yet, by trace index (taken on arrival).
    waiting: Vec<Option<Pod>>,
    departures: Vec<Option<SimDuration>>,
    /// The store id of each trace pod, once it arrived.
    pub ids: Vec<Option<PodId>>,
    /// Trace pods with a GPU request.
    pub gpu_pods: u64,
    /// Trace pods whose deletion is not after their creation: they arrive and leave at once.
    pub zero_length: u64,
    /// Trace pods production never scheduled (no `scheduled_time`).
    pub recorded_unscheduled: u64,
    /// Pods deleted at their departure time while still pending.
    pub left_unscheduled: u64,
    /// Pods deleted at their departure time after running.
    pub departed: u64,
}

impl TraceReplay {
    /// Trace pods handed to the cluster.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

impl Cluster {
    /// Schedules one arrival per pod at its `arrival` (an instant since the start of the run;
    /// one already past arrives now). On arrival the pod is created and its departure
    /// scheduled.
    pub fn add_trace(&mut self, ctx: &mut Context<'_, Event>, pods: Vec<TracePod>) {
        let t = &mut self.trace;
        for p in pods {
            let Ok(index) = u32::try_from(t.ids.len()) else {
                break;
            };
            t.gpu_pods += u64::from(p.pod.gpu.is_some());
            t.zero_length += u64::from(p.departure.is_some_and(|d| d <= p.arrival));
            t.recorded_unscheduled += u64::from(p.recorded_scheduled.is_none());
            t.waiting.push(Some(p.pod));
            t.departures.push(p.departure);
            t.ids.push(None);
            ctx.schedule_at(
                SimTime::ZERO.saturating_add(p.arrival),
                Event::TraceArrival(index),
            );
        }
    }

    /// A scenario's trace workload: its pods and its sampling (the nodes go into the store
    /// before the cluster is built).
    pub fn install_trace(&mut self, ctx: &mut Context<'_, Event>, parts: TraceParts) {
        self.add_trace(ctx, parts.pods);
        self.enable_sampling(ctx, parts.sampling);
    }

    pub(crate) fn trace_arrival(&mut self, ctx: &mut Context<'_, Event>, index: u32) {
        let i = index as usize;
        let Some(pod) = self.trace.waiting.get_mut(i).and_then(Option::take) else {
            return;
        };
        let name = pod.name.clone();
        let id = match self.api.create_pod(ctx, pod) {
            Ok(id) => id,
            Err(e) => {
                // Other refusals drop the pod silently, as they always have; the cap is the
                // one a user must hear about.
                if matches!(e, ApiError::Forbidden(_)) && self.api.pod_cap_reached() {
                    self.api.record(
                        ctx.now(),
                        EventType::Warning,
                        "FailedCreate",
                        format!("pod/{name}"),
                        format!("Error creating: {e}"),
                    );
                }
                return;
            }
        };
        self.trace.ids[i] = Some(id);
        if let Some(departure) = self.trace.departures[i] {
            // A departure not after the arrival is clamped to now: it runs after the arrival
            // but before the scheduler's informer sees the pod, so the pod never schedules.
            ctx.schedule_at(
                SimTime::ZERO.saturating_add(departure),
                Event::TraceDeparture(id),
            );
        }
    }

    pub(crate) fn trace_departure(&mut self, ctx: &mut Context<'_, Event>, pod: PodId) {
        let record = self.api.store.pod(pod);
        if !record.is_active() {
            return;
        }
        if record.node.is_none() {
            self.trace.left_unscheduled += 1;
            self.api.events.push(EventRecord {
                time_ns: ctx.now().as_nanos(),
                event_type: EventType::Warning,
                reason: "LeftUnscheduled",
                object: format!("pod/{}", record.pod.name),
                message: "Deleted at its recorded deletion time without having been scheduled"
                    .into(),
            });
        } else {
            self.trace.departed += 1;
        }
        // The recorded deletion: the pod goes at once, as the trace says it did.
        let _ = self.api.remove_pod(ctx, pod);
    }
}

/// `config` (upstream's default profile when `None`) with GPUShare enabled in every profile
/// through `multiPoint`, unless a profile already names it (enabled or disabled: an explicit
/// choice is kept). Trace pods carry no `nvidia.com/gpu` request, so without GPUShare nothing
/// would check their GPUs.
pub fn with_gpu_share(config: Option<&KubeSchedulerConfiguration>) -> KubeSchedulerConfiguration {
    let mut config = config.cloned().unwrap_or_default();
    if config.profiles.is_empty() {
        config.profiles.push(KubeSchedulerProfile::default());
    }
    for profile in &mut config.profiles {
        let plugins = profile.plugins.get_or_insert_with(Plugins::default);
        let named = ["multiPoint", "preFilter", "filter", "preScore", "score"]
            .iter()
            .any(|field| {
                plugins.point(field).is_some_and(|set| {
                    set.enabled
                        .iter()
                        .chain(&set.disabled)
                        .any(|p| p.name == gpu_share::NAME)
                })
            });
        if !named {
            plugins
                .multi_point
                .enabled
                .push(PluginRef::new(gpu_share::NAME, None));
        }
    }
    config
}

/// How to replay a trace.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    pub sample_interval: SimDuration,
    /// Popularity threshold of the typical GPU request mix, percent (upstream default 60).
    pub typical_pod_threshold_percent: u32,
    /// The scheduler configuration (upstream's default profile when `None`); GPUShare is added
    /// to every profile by [`with_gpu_share`].
    pub scheduler_config: Option<KubeSchedulerConfiguration>,
    pub timing: Timing,
    /// Stops a runaway replay.
    pub max_events: Option<u64>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            sample_interval: DEFAULT_SAMPLE_INTERVAL,
            typical_pod_threshold_percent: DEFAULT_TYPICAL_POD_THRESHOLD_PERCENT,
            scheduler_config: None,
            timing: Timing::default(),
            max_events: None,
        }
    }
}

/// A ready-to-run replay of `trace`, and the instant it ends (its last arrival or departure).
pub fn build_replay(
    trace: Trace,
    seed: u64,
    options: &ReplayOptions,
    registry: &Registry,
) -> Result<(Simulation<Cluster>, SimTime), Diagnostic> {
    let config = with_gpu_share(options.scheduler_config.as_ref());
    let scheduler = Scheduler::new(Some(&config), registry).map_err(|e| {
        let at = if e.path.is_empty() {
            String::new()
        } else {
            format!("{}: ", e.path)
        };
        Diagnostic::new(
            "<scheduler configuration>",
            1,
            1,
            format!("{at}{}", e.message),
        )
    })?;
    let sampling = SamplingConfig::for_trace(
        &trace,
        options.sample_interval,
        options.typical_pod_threshold_percent,
    );
    let end = sampling.until;
    let mut store = Store::new();
    for node in trace.nodes {
        store.add_node(node);
    }
    let mut sim = Simulation::new(
        Cluster::new(
            ApiServer::new(store, options.timing),
            scheduler,
            Kubelets::default(),
        ),
        seed,
    );
    sim.with_context(|cluster, ctx| {
        cluster.add_trace(ctx, trace.pods);
        cluster.enable_sampling(ctx, sampling);
    });
    Ok((sim, end))
}

/// A finished replay.
pub struct ReplayOutcome {
    pub simulation: Simulation<Cluster>,
    pub stop: StopReason,
    pub report: ReplayReport,
}

/// Replays `trace` to its end.
pub fn replay(
    trace: Trace,
    seed: u64,
    options: &ReplayOptions,
    registry: &Registry,
) -> Result<ReplayOutcome, Diagnostic> {
    let (mut simulation, end) = build_replay(trace, seed, options, registry)?;
    let limits = RunLimits::until(end);
    let limits = match options.max_events {
        Some(n) => limits.with_max_events(n),
        None => limits,
    };
    let stop = simulation.run(limits);
    let report = ReplayReport::new(&simulation, &stop, options);
    Ok(ReplayOutcome {
        simulation,
        stop,
        report,
    })
}

/// Loads an openb trace and replays it with kubesim's plugins (GPUShare added to the profile).
pub fn replay_openb(
    nodes_csv: &Path,
    pods_csv: &Path,
    seed: u64,
    options: &ReplayOptions,
) -> Result<ReplayOutcome, Diagnostic> {
    let trace = load_openb(nodes_csv, pods_csv)?;
    replay(trace, seed, options, &Registry::default_plugins())
}

/// The largest and the mean value of a series of samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PeakMean {
    pub peak: f64,
    pub mean: f64,
}

impl PeakMean {
    fn of(values: impl Iterator<Item = f64>) -> Self {
        let (mut peak, mut sum, mut n) = (0.0f64, 0.0f64, 0u64);
        for v in values {
            peak = peak.max(v);
            sum += v;
            n += 1;
        }
        PeakMean {
            peak,
            mean: if n > 0 { sum / n as f64 } else { 0.0 },
        }
    }
}

/// Headline figures of a replay. Allocations are requested / allocatable (0–1) over the
/// samples, which are evenly spaced, so means are time averages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplayReport {
    pub seed: u64,
    pub nodes: usize,
    pub gpu_nodes: usize,
    pub gpus: u64,
    pub pods: usize,
    pub gpu_pods: u64,
    /// Pods bound to a node at some point.
    pub scheduled: usize,
    /// Pods never bound: `scheduled + never_scheduled == pods`.
    pub never_scheduled: usize,
    /// Of those, pods deleted at their recorded time while pending.
    pub left_unscheduled: u64,
    /// Of those, pods still pending when the replay stopped, and pods that had not arrived.
    pub pending_at_end: usize,
    pub not_arrived: usize,
    /// Pods whose recorded deletion is not after their creation.
    pub zero_length: u64,
    /// Pods production never scheduled, for comparison with `never_scheduled`.
    pub recorded_unscheduled: u64,
    /// Seconds from creation to binding of the scheduled pods.
    pub wait_mean_s: f64,
    pub wait_p99_s: f64,
    pub wait_max_s: f64,
    pub scheduling_attempts: u64,
    pub failed_scheduling: u64,
    pub samples: usize,
    pub sample_interval_s: f64,
    pub typical_mix_shapes: usize,
    pub cpu_allocation: PeakMean,
    pub memory_allocation: PeakMean,
    pub gpu_allocation: PeakMean,
    pub pods_pending: PeakMean,
    pub gpu_frag_milli: PeakMean,
    pub gpu_frag_ratio: PeakMean,
    pub gpu_frag_partial_milli: PeakMean,
    pub gpu_frag_partial_ratio: PeakMean,
    /// Simulated time at the end, seconds.
    pub end_time_s: f64,
    /// Events processed (a measure of work independent of the machine).
    pub events: u64,
    pub digest: String,
    pub stop: String,
}

impl ReplayReport {
    pub fn new(sim: &Simulation<Cluster>, stop: &StopReason, options: &ReplayOptions) -> Self {
        let cluster = sim.world();
        let store = &cluster.api.store;
        let t = &cluster.trace;
        let mut waits: Vec<u64> = Vec::new();
        let (mut pending_at_end, mut not_arrived) = (0, 0);
        for id in &t.ids {
            let Some(id) = id else {
                not_arrived += 1;
                continue;
            };
            let r = store.pod(*id);
            match r.scheduled_at {
                Some(at) => waits.push(at.since(r.created_at).as_nanos()),
                None if r.is_active() => pending_at_end += 1,
                None => {}
            }
        }
        waits.sort_unstable();
        let secs = |ns: u64| SimDuration::from_nanos(ns).as_secs_f64();
        let wait_mean_s = if waits.is_empty() {
            0.0
        } else {
            waits.iter().map(|&w| secs(w)).sum::<f64>() / waits.len() as f64
        };
        // Nearest rank: the smallest wait at or above 99 % of the pods.
        let p99 = waits
            .len()
            .saturating_mul(99)
            .div_ceil(100)
            .saturating_sub(1);
        let samples = &cluster.samples;
        let series = |f: fn(&super::Sample) -> f64| PeakMean::of(samples.iter().map(f));
        let sampler = cluster.sampler.as_ref();
        ReplayReport {
            seed: sim.seed(),
            nodes: store.nodes.len(),
            gpu_nodes: store
                .nodes
                .iter()
                .filter(|n| !n.gpu_free.is_empty())
                .count(),
            gpus: store.nodes.iter().map(|n| n.gpu_free.len() as u64).sum(),
            pods: t.len(),
            gpu_pods: t.gpu_pods,
            scheduled: waits.len(),
            never_scheduled: t.len() - waits.len(),
            left_unscheduled: t.left_unscheduled,
            pending_at_end,
            not_arrived,
            zero_length: t.zero_length,
            recorded_unscheduled: t.recorded_unscheduled,
            wait_mean_s,
            wait_p99_s: waits.get(p99).map_or(0.0, |&w| secs(w)),
            wait_max_s: waits.last().map_or(0.0, |&w| secs(w)),
            scheduling_attempts: cluster.api.counters.scheduling_attempts,
            failed_scheduling: cluster.api.counters.failed_scheduling,
            samples: samples.len(),
            sample_interval_s: options.sample_interval.as_secs_f64(),
            typical_mix_shapes: sampler.map_or(0, |s| s.config().mix.entries.len()),
            cpu_allocation: series(super::Sample::cpu_allocation),
            memory_allocation: series(super::Sample::memory_allocation),
            gpu_allocation: series(super::Sample::gpu_allocation),
            pods_pending: series(|s| s.pods_pending as f64),
            gpu_frag_milli: series(|s| s.gpu_frag_milli),
            gpu_frag_ratio: series(|s| s.gpu_frag_ratio),
            gpu_frag_partial_milli: series(|s| s.gpu_frag_partial_milli),
            gpu_frag_partial_ratio: series(|s| s.gpu_frag_partial_ratio),
            end_time_s: sim.now().as_secs_f64(),
            events: sim.events_processed(),
            digest: sim.digest().to_string(),
            stop: stop.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Node, ResourceList, ResourceName};
    use crate::gpu::{GPU_RESOURCE, GpuRequest};

    fn node(name: &str, cpu: i64, gpus: i64) -> Node {
        let mut allocatable = ResourceList {
            cpu_milli: cpu,
            memory: 64 << 30,
            pods: 110,
            ..Default::default()
        };
        allocatable.set(&ResourceName::Extended(GPU_RESOURCE.into()), gpus);
        Node {
            name: name.into(),
            allocatable,
            gpu_model: Some("T4".into()),
            ..Node::default()
        }
    }

    fn trace_pod(name: &str, gpu: GpuRequest, arrival: u64, departure: u64) -> TracePod {
        TracePod {
            pod: Pod {
                name: name.into(),
                requests: ResourceList {
                    cpu_milli: 1000,
                    memory: 1 << 30,
                    pods: 1,
                    ..Default::default()
                },
                non_zero_cpu_milli: 1000,
                non_zero_memory: 1 << 30,
                gpu: Some(gpu),
                ..Pod::default()
            },
            arrival: SimDuration::from_secs(arrival),
            departure: Some(SimDuration::from_secs(departure)),
            recorded_scheduled: Some(SimDuration::from_secs(arrival)),
        }
    }

    fn options() -> ReplayOptions {
        ReplayOptions {
            sample_interval: SimDuration::from_secs(10),
            ..ReplayOptions::default()
        }
    }

    #[test]
    fn a_departure_frees_the_gpu_for_a_pending_pod() {
        // One node with one GPU. `a` holds 700 milli from 0 s to 100 s; `b` wants 500 from 10 s
        // and must wait for `a` to leave; `c` wants 200 from 20 s to 45 s and fits beside `a`.
        let trace = Trace {
            nodes: vec![node("n", 8000, 1)],
            pods: vec![
                trace_pod("a", GpuRequest::shared(700), 0, 100),
                trace_pod("b", GpuRequest::shared(500), 10, 300),
                trace_pod("c", GpuRequest::shared(200), 20, 45),
            ],
        };
        let out = replay(trace, 7, &options(), &Registry::default_plugins()).unwrap();
        let cluster = out.simulation.world();
        let pod = |name: &str| {
            cluster.api.store.pod(
                cluster
                    .store()
                    .pods
                    .iter()
                    .find(|p| p.pod.name == name)
                    .unwrap()
                    .id,
            )
        };
        let b = pod("b");
        // `b` was bound right after `a`'s deletion at 100 s (not before), on device 0.
        let bound = b.scheduled_at.unwrap();
        assert!(
            bound >= SimTime::ZERO.saturating_add(SimDuration::from_secs(100)),
            "{bound}"
        );
        assert!(
            bound < SimTime::ZERO.saturating_add(SimDuration::from_secs(101)),
            "{bound}"
        );
        assert_eq!(b.gpu_devices, vec![0]);
        assert!(
            pod("c").scheduled_at.unwrap()
                < SimTime::ZERO.saturating_add(SimDuration::from_secs(21))
        );
        let r = &out.report;
        assert_eq!((r.pods, r.scheduled, r.never_scheduled), (3, 3, 0));
        assert_eq!(
            (cluster.trace.departed, cluster.trace.left_unscheduled),
            (3, 0)
        );
        // Everything left by 300 s; all devices idle again.
        assert_eq!(cluster.api.store.nodes[0].gpu_free, vec![1000]);
        // At 50 s: a (700) and nothing else (c left at 45 s); b pending.
        let at50 = cluster.samples.iter().find(|s| s.time_s == 50.0).unwrap();
        assert_eq!(at50.gpu_requested_milli, 700);
        assert_eq!(at50.pods_pending, 1);
        // At 30 s and 40 s: a and c, 900 of 1000.
        assert_eq!(r.gpu_allocation.peak, 0.9);
    }

    #[test]
    fn pods_that_never_fit_leave_unscheduled_and_are_counted() {
        let trace = Trace {
            nodes: vec![node("n", 8000, 1)],
            pods: vec![
                trace_pod("big", GpuRequest::whole(2), 0, 50),
                trace_pod(
                    "v100",
                    GpuRequest::shared(100).with_models(&["V100M32"]),
                    0,
                    50,
                ),
                // Zero length: departs as it arrives.
                trace_pod("zero", GpuRequest::shared(100), 40, 40),
            ],
        };
        let out = replay(trace, 1, &options(), &Registry::default_plugins()).unwrap();
        let r = &out.report;
        assert_eq!(
            (
                r.scheduled,
                r.never_scheduled,
                r.left_unscheduled,
                r.zero_length
            ),
            (0, 3, 3, 1)
        );
        assert_eq!(r.pending_at_end, 0);
        assert!(
            matches!(out.stop, StopReason::EndTime | StopReason::QueueEmpty),
            "{}",
            out.stop
        );
        let reasons: Vec<&str> = out
            .simulation
            .world()
            .events()
            .iter()
            .map(|e| e.reason)
            .collect();
        assert!(reasons.contains(&"LeftUnscheduled"));
        let failed = out
            .simulation
            .world()
            .events()
            .iter()
            .find(|e| e.reason == "FailedScheduling")
            .unwrap();
        assert!(
            failed.message.contains("Insufficient GPU")
                || failed.message.contains("didn't match GPU model"),
            "{}",
            failed.message
        );
    }

    #[test]
    fn gpu_share_is_added_unless_named() {
        let c = with_gpu_share(None);
        assert_eq!(c.profiles.len(), 1);
        let multi = &c.profiles[0].plugins.as_ref().unwrap().multi_point.enabled;
        assert_eq!(multi, &vec![PluginRef::new(gpu_share::NAME, None)]);
        // An explicit disable is respected.
        let mut off = KubeSchedulerConfiguration::default();
        let mut p = KubeSchedulerProfile::default();
        let mut plugins = Plugins::default();
        plugins
            .multi_point
            .disabled
            .push(PluginRef::new(gpu_share::NAME, None));
        p.plugins = Some(plugins);
        off.profiles.push(p);
        assert_eq!(with_gpu_share(Some(&off)), off);
        // The scheduler builds with it.
        Scheduler::new(Some(&c), &Registry::default_plugins()).unwrap();
    }
}
