//! Building a run from a scenario and running it: the library entry point the CLI, the tests
//! and the benches share.

use std::collections::BTreeMap;

use sim_core::{Digest, Divergence, RunLimits, SimDuration, SimTime, Simulation, StopReason};

use crate::apiserver::ApiServer;
use crate::checkers::Checkers;
use crate::cluster::{Cluster, Event};
use crate::kubelet::Kubelets;
use crate::scenario::{Diagnostic, Scenario, Workloads};
use crate::scheduler::{Registry, Scheduler, parse_config};
use crate::store::Store;
use crate::summary::{Summary, SummaryInput, summarize};

/// Options a user sets per run, on top of the scenario.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Overrides the scenario's duration.
    pub until: Option<SimDuration>,
    /// Bounds the number of events (a runaway scenario stops instead of running forever).
    pub max_events: Option<u64>,
    /// Record every scheduling attempt of this pod for `explain`.
    pub explain_pod: Option<String>,
    /// Run the invariant checkers after every event (`crate::checkers`).
    pub check_invariants: bool,
    /// Record no time series, whatever the scenario's `metrics:` says (`--no-metrics`).
    pub no_metrics: bool,
}

impl RunOptions {
    pub fn seed(&self, scenario: &Scenario) -> u64 {
        self.seed.unwrap_or(scenario.seed)
    }

    pub fn duration(&self, scenario: &Scenario) -> SimDuration {
        self.until.unwrap_or(scenario.duration)
    }

    pub fn limits(&self, scenario: &Scenario) -> RunLimits {
        let limits = RunLimits::until(SimTime::ZERO.saturating_add(self.duration(scenario)));
        match self.max_events {
            Some(n) => limits.with_max_events(n),
            None => limits,
        }
    }
}

/// Builds the scheduler a scenario asks for, locating configuration errors in its source.
pub fn build_scheduler(scenario: &Scenario, registry: &Registry) -> Result<Scheduler, Diagnostic> {
    let locate = |path: &str, message: String| match &scenario.scheduler_config_origin {
        Some(origin) => origin.locate(path, message),
        None => Diagnostic {
            file: scenario.file.clone(),
            line: 1,
            column: 1,
            message,
        },
    };
    let mut config = match &scenario.scheduler_config {
        Some(value) => Some(parse_config(value).map_err(|e| locate(&e.path, e.message))?),
        None => None,
    };
    if scenario.trace.is_some() {
        // Trace pods ask for GPU shares, which only GPUShare places (kubesim's plugin).
        config = Some(crate::trace::with_gpu_share(config.as_ref()));
    }
    Scheduler::new(config.as_ref(), registry).map_err(|e| locate(&e.path, e.message))
}

/// A ready-to-run simulation of `scenario`: nodes registered, the scenario's objects created
/// at t = 0 through the API server (owners before dependents, so a dump's pods are adopted).
pub fn build(
    scenario: &Scenario,
    registry: &Registry,
    options: &RunOptions,
) -> Result<Simulation<Cluster>, Diagnostic> {
    let scheduler = build_scheduler(scenario, registry)?;
    let mut store = Store::new();
    // Room for the pods the workloads start with (a growing Vec would double to up to twice
    // that); replacements during the run still grow it.
    store
        .pods
        .reserve(usize::try_from(scenario.starting_pods).unwrap_or(0));
    store.pdbs.clone_from(&scenario.pdbs);
    for node in &scenario.nodes {
        store.add_node(node.clone());
    }
    store
        .service_selectors
        .clone_from(&scenario.service_selectors);
    store
        .namespace_labels
        .clone_from(&scenario.namespace_labels);
    let api = ApiServer::new(store, scenario.control_plane);
    let mut behaviour = scenario.behaviour.clone();
    behaviour.pod_startup = scenario.pod_startup;
    let mut cluster = Cluster::new(api, scheduler, Kubelets::new(behaviour));
    cluster.controllers.cron_job.reconciler.epoch_unix_secs = scenario.start_unix_secs;
    cluster.control_plane = crate::controlplane::ControlPlane::new(scenario.control_plane_replicas);
    cluster.controllers.hpa.reconciler.settings = scenario.hpa_settings;
    cluster
        .scheduler
        .explain_pod
        .clone_from(&options.explain_pod);
    cluster.scheduler.timing = scenario.scheduler_timing;
    if !scenario.scheduler_timing.cost.is_zero()
        && let Some(cc) = scenario
            .scheduler_config
            .as_ref()
            .and_then(|v| parse_config(v).ok())
            .and_then(|c| c.client_connection)
    {
        cluster.scheduler.timing.client =
            crate::scheduler::cost::ClientRateLimit::from_config(cc.qps, cc.burst);
    }
    if options.check_invariants {
        cluster.checkers = Some(Checkers::new(true));
    }
    if scenario.metrics.enabled && !options.no_metrics {
        let cost_per_hour = scenario
            .pools
            .iter()
            .filter_map(|p| p.cost_per_hour.map(|c| (p.name.clone(), c)))
            .collect();
        cluster.metrics = Some(crate::metrics::Recorder::new(
            scenario.metrics,
            options.limits(scenario).until,
            cost_per_hour,
        ));
    }
    let mut sim = Simulation::new(cluster, options.seed(scenario));
    sim.schedule_at(options.limits(scenario).until, Event::ScenarioEnd);
    sim.with_context(|cluster, ctx| {
        cluster.timeline.install(
            ctx,
            scenario.pools.clone(),
            scenario.timeline.clone(),
            scenario.delayed_workloads.clone(),
        );
        if let Some(trace) = &scenario.trace {
            cluster.install_trace(ctx, trace.clone());
        }
        if !scenario.stochastic_faults.is_empty() {
            cluster
                .faults
                .install(scenario.stochastic_faults.clone(), &cluster.api, ctx);
        }
        cluster.install_expectations(ctx, &scenario.expectations);
        cluster.autoscaler.install(
            ctx,
            &scenario.pools,
            scenario.cluster_autoscaler.clone(),
            registry,
        );
        if let Some(spec) = &scenario.traffic {
            let end = SimTime::ZERO.saturating_add(options.duration(scenario));
            // SLO windows are the objectives' (`slo.window`) when they set one.
            let mut spec = spec.clone();
            if let Some(w) = scenario.slo.as_ref().and_then(|s| s.window) {
                spec.slo_window = w;
            }
            let mut driver =
                crate::cluster::traffic::TrafficDriver::new(&spec, options.seed(scenario), end);
            driver.arm(ctx);
            cluster.traffic = Some(driver);
            cluster.kubelets.container_log = Some(Vec::new());
        }
        let initial = Workloads {
            at: SimDuration::ZERO,
            pods: scenario.pods.clone(),
            replica_sets: scenario.replica_sets.clone(),
            deployments: scenario.deployments.clone(),
            stateful_sets: scenario.stateful_sets.clone(),
            daemon_sets: scenario.daemon_sets.clone(),
            jobs: scenario.jobs.clone(),
            cron_jobs: scenario.cron_jobs.clone(),
            claims: scenario.claims.clone(),
            volumes: scenario.volumes.clone(),
            hpas: scenario.hpas.clone(),
            network: scenario.network.clone(),
            ..Workloads::default()
        };
        for class in &scenario.storage_classes {
            cluster.api.add_storage_class(class.clone());
        }
        for (namespace, lr) in &scenario.limit_ranges {
            cluster.api.add_limit_range(namespace, lr.clone());
        }
        for (namespace, q) in &scenario.resource_quotas {
            cluster.api.add_resource_quota(namespace, q.clone());
        }
        // The API server is up at the start: nothing is refused.
        let _ = cluster.apply_workloads(ctx, &initial);
        // The controllers' informers list what exists, and the disruption controller computes
        // every budget once, as at start-up.
        for i in 0..scenario.pdbs.len() {
            cluster
                .controllers
                .disruption
                .enqueue(u32::try_from(i).unwrap_or(u32::MAX), ctx);
        }
    });
    Ok(sim)
}

/// A finished run: the simulation (for explain and reports), why it stopped, and its summary.
pub struct RunOutcome {
    pub simulation: Simulation<Cluster>,
    pub stop: StopReason,
    pub summary: Summary,
    /// The run was stopped early by an interrupt (see [`RunControl::interrupt`]); the
    /// summary describes the part that ran.
    pub interrupted: bool,
}

/// Where a run's Events go.
#[derive(Debug, Default)]
pub enum EventSink {
    /// Every Event kept in memory, in order (`api.events`): what tests and `explain` read.
    #[default]
    InMemory,
    /// Events aggregated and written as they are recorded; with `keep`, also kept in memory.
    Stream {
        stream: crate::events::EventStream,
        keep: bool,
    },
}

/// How a caller steers a run beyond [`RunOptions`]: where Events go and a flag that stops
/// the run between events (set by a signal handler; nothing inside the simulation reads it).
#[derive(Debug, Default)]
pub struct RunControl<'a> {
    pub events: EventSink,
    pub interrupt: Option<&'a std::sync::atomic::AtomicBool>,
    /// Where deleted pods are retired to (see `crate::retired_pods`); none keeps every pod.
    pub retire_pods: Option<crate::retired_pods::Retirement>,
}

/// Events handled between two looks at the interrupt flag: small enough that an interrupt
/// is answered in a fraction of a second, large enough to cost nothing.
const EVENTS_PER_BATCH: u64 = 65_536;

/// Runs `scenario` to its end, calling `progress(now, end)` between chunks of simulated time
/// so a terminal can show a bar. The chunks do not change the result: a run continued in
/// chunks processes the same events as one run.
pub fn run(
    scenario: &Scenario,
    registry: &Registry,
    options: &RunOptions,
    progress: impl FnMut(SimTime, SimTime),
) -> Result<RunOutcome, Diagnostic> {
    run_with(scenario, registry, options, RunControl::default(), progress)
}

/// [`run`] with Events sent where `control` says and stopped early when its interrupt flag
/// is set or the event stream failed to write.
pub fn run_with(
    scenario: &Scenario,
    registry: &Registry,
    options: &RunOptions,
    control: RunControl<'_>,
    mut progress: impl FnMut(SimTime, SimTime),
) -> Result<RunOutcome, Diagnostic> {
    let mut sim = build(scenario, registry, options)?;
    if let EventSink::Stream { stream, keep } = control.events {
        sim.world_mut().api.events.start_streaming(stream, keep);
    }
    if let Some(to) = control.retire_pods {
        sim.world_mut().api.store.retire_pods(to);
    }
    let interrupted = || {
        control
            .interrupt
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed))
    };
    let limits = options.limits(scenario);
    let end = limits.until;
    let chunks = 100u64;
    let step = (end.as_nanos() / chunks).max(1);
    let mut stop = StopReason::QueueEmpty;
    let mut next = SimTime::ZERO;
    let mut was_interrupted = false;
    'chunks: while next < end {
        next = SimTime::from_nanos(next.as_nanos().saturating_add(step)).min(end);
        loop {
            let remaining = limits.max_events.saturating_sub(sim.events_processed());
            let batch = remaining.min(EVENTS_PER_BATCH);
            stop = sim.run(RunLimits::until(next).with_max_events(batch));
            let failed = sim
                .world()
                .api
                .events
                .stream()
                .is_some_and(|s| s.error().is_some());
            if interrupted() || failed {
                was_interrupted = interrupted();
                break 'chunks;
            }
            if !(stop == StopReason::MaxEvents && batch < remaining) {
                break;
            }
        }
        progress(sim.now(), end);
        if stop != StopReason::EndTime {
            break;
        }
    }
    if stop == StopReason::QueueEmpty && sim.now() >= end {
        // The last event was the scenario's end itself.
        stop = StopReason::EndTime;
    }
    let stopped_at = sim.now();
    if let Some(t) = &mut sim.world_mut().traffic {
        t.finish(stopped_at);
    }
    sim.world_mut().finish_metrics(stopped_at);
    // The summary reads the retired pods' times to schedule back.
    if let Some(to) = sim.world_mut().api.store.retirement() {
        to.flush();
    }
    let summary = summary_of(scenario, &sim, &stop, options);
    Ok(RunOutcome {
        simulation: sim,
        stop,
        summary,
        interrupted: was_interrupted,
    })
}

pub fn summary_of(
    scenario: &Scenario,
    sim: &Simulation<Cluster>,
    stop: &StopReason,
    options: &RunOptions,
) -> Summary {
    let mut summary = base_summary(scenario, sim, stop, options);
    if let (Some(spec), Some(t)) = (&scenario.slo, &sim.world().traffic) {
        summary.slo = crate::slo::evaluate(spec, &t.slo_figures())
            .iter()
            .map(crate::summary::SloVerdict::from)
            .collect();
    }
    if let Some(sampler) = sim.world().sampler() {
        let replay_options = crate::trace::ReplayOptions {
            sample_interval: sampler.config().interval,
            ..crate::trace::ReplayOptions::default()
        };
        let report = crate::trace::ReplayReport::new(sim, stop, &replay_options);
        use crate::summary::Better::{Higher, Lower};
        summary.extra_metrics = vec![
            (
                "trace pods never scheduled",
                report.never_scheduled as f64,
                Lower,
            ),
            ("GPU allocation, mean", report.gpu_allocation.mean, Higher),
            ("GPU allocation, peak", report.gpu_allocation.peak, Higher),
            (
                "GPU fragmentation (FGD), mean",
                report.gpu_frag_ratio.mean,
                Lower,
            ),
            (
                "GPU fragmentation (FGD), peak",
                report.gpu_frag_ratio.peak,
                Lower,
            ),
            (
                "GPUs partly used, frag. mean",
                report.gpu_frag_partial_ratio.mean,
                Lower,
            ),
        ];
        summary.trace = Some(report);
    }
    summary
}

fn base_summary(
    scenario: &Scenario,
    sim: &Simulation<Cluster>,
    stop: &StopReason,
    options: &RunOptions,
) -> Summary {
    let cost_per_hour: BTreeMap<String, f64> = scenario
        .pools
        .iter()
        .filter_map(|p| p.cost_per_hour.map(|c| (p.name.clone(), c)))
        .collect();
    summarize(
        sim.world(),
        SummaryInput {
            scenario: &scenario.name,
            file: &scenario.file,
            seed: options.seed(scenario),
            elapsed: sim.now().since(SimTime::ZERO),
            stop,
            digest: sim.digest().to_string(),
            events_processed: sim.events_processed(),
            cost_per_hour: &cost_per_hour,
            ignored_objects: scenario.ignored.iter().map(|o| o.to_string()).collect(),
            warnings: scenario.warnings.clone(),
        },
    )
}

/// Runs the scenario twice and compares the runs event by event.
pub fn check_determinism(
    scenario: &Scenario,
    registry: &Registry,
    options: &RunOptions,
) -> Result<Result<(Digest, u64), Divergence>, Diagnostic> {
    // Build once up front so configuration errors surface as diagnostics, not inside `make`.
    build(scenario, registry, options)?;
    let limits = options.limits(scenario);
    Ok(sim_core::check_determinism(
        || build(scenario, registry, options).expect("the scenario built a moment ago"),
        limits,
    ))
}

/// Keep `Event` reachable for users writing their own drivers.
pub type ClusterEvent = Event;

/// Every variant of a comparison, run on every seed.
pub struct ComparisonOutcome {
    pub seeds: Vec<u64>,
    /// Variant name and its summaries, one per seed in `seeds` order.
    pub variants: Vec<(String, Vec<Summary>)>,
}

/// Runs each variant of `scenario.compare` on each of its seeds (or `seeds`, if given).
///
/// Runs are independent simulations, so they are spread over `workers` threads; each run is
/// single-threaded and deterministic, so the results do not depend on the number of workers.
pub fn compare(
    scenario: &Scenario,
    registry: &Registry,
    seeds: Option<Vec<u64>>,
    workers: usize,
    progress: impl Fn(usize, usize) + Sync,
) -> Result<ComparisonOutcome, Diagnostic> {
    let Some(comparison) = &scenario.compare else {
        return Err(Diagnostic {
            file: scenario.file.clone(),
            line: 1,
            column: 1,
            message: "this scenario has no `compare:` section (add `compare: {variants: [{name: a}, {name: b, scheduler: {config: …}}, {name: c, set: {cluster.nodePools.general.count: 6}}]}`)".into(),
        });
    };
    let seeds = seeds.unwrap_or_else(|| comparison.seeds.clone());
    let variants: Vec<Scenario> = comparison
        .variants
        .iter()
        .map(|v| scenario.with_variant(v))
        .collect();
    // Surface configuration errors before starting any run.
    for v in &variants {
        build_scheduler(v, registry)?;
    }
    let jobs: Vec<(usize, u64)> = (0..variants.len())
        .flat_map(|v| seeds.iter().map(move |s| (v, *s)))
        .collect();
    let total = jobs.len();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<Option<Result<Summary, Diagnostic>>>> =
        std::sync::Mutex::new((0..total).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, total.max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&(v, seed)) = jobs.get(i) else { break };
                    let options = RunOptions {
                        seed: Some(seed),
                        // A comparison reads summaries only.
                        no_metrics: true,
                        ..RunOptions::default()
                    };
                    let r = run(&variants[v], registry, &options, |_, _| {}).map(|o| o.summary);
                    if let Ok(mut slots) = results.lock() {
                        slots[i] = Some(r);
                    }
                    progress(
                        done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                        total,
                    );
                }
            });
        }
    });
    let mut slots = results.into_inner().unwrap_or_default().into_iter();
    let mut out = Vec::with_capacity(variants.len());
    for v in &comparison.variants {
        let mut summaries = Vec::with_capacity(seeds.len());
        for _ in &seeds {
            match slots.next().flatten() {
                Some(Ok(s)) => summaries.push(s),
                Some(Err(d)) => return Err(d),
                None => {
                    return Err(Diagnostic {
                        file: scenario.file.clone(),
                        line: 1,
                        column: 1,
                        message: format!("variant {:?}: a run did not finish", v.name),
                    });
                }
            }
        }
        out.push((v.name.clone(), summaries));
    }
    Ok(ComparisonOutcome {
        seeds,
        variants: out,
    })
}
