//! The container lifecycle of pods that have more than "start, then Running and Ready"
//! (upstream `kuberuntime_manager.go` `computePodActions` / `SyncPod`, `prober/`):
//! init containers run one after another before the app containers, sidecars (init
//! containers with `restartPolicy: Always`) start in their turn and keep running; images
//! are pulled as the image manager would; probes change the pod's readiness or kill its
//! main container (see `probe.rs` for how that stays cheap); a killed or crashed container
//! restarts after the CrashLoopBackOff delay (`backoff.rs`).
//!
//! Probes and crashes are modelled for the pod's first app container, the one the
//! workload's `behaviour` describes; the other containers are taken as healthy.

use std::sync::Arc;

use rand::Rng;
use sim_core::{Context, SimDuration, SimTime};

use super::backoff::BackoffEntry;
use super::images::{Ensured, Pull};
use super::probe::{self, Crossing};
use super::{KubeletEvent, Kubelets, STATUS_RETRY};
use crate::api::pod::{LifecycleHandler, PodContainers, Probe};
use crate::api::{NodeId, PodId, PodPhase};
use crate::apiserver::{ApiError, ApiServer};
use crate::cluster::Event;
use crate::events::EventType;
use crate::scenario::ProbeBehaviour;

/// How long an init container runs when `behaviour.<workload>.initContainers` does not say.
pub const DEFAULT_INIT_RUN_FOR: SimDuration = SimDuration::from_secs(1);

/// Random checks are walked this many at a time (a day of 10s checks).
const WALK_HORIZON: u64 = 8640;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProbeKind {
    Startup,
    Liveness,
    Readiness,
}

impl ProbeKind {
    fn index(self) -> usize {
        self as usize
    }

    fn title(self) -> &'static str {
        match self {
            ProbeKind::Startup => "Startup",
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
        }
    }
}

/// What a probe's pending timer does when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    /// The result becomes Success at check `k`.
    Pass(u64),
    /// The result becomes Failure at check `k`.
    Fail(u64),
    /// A walk over random checks reached its horizon at check `k` with `run` in a row.
    Continue { k: u64, run: u32 },
}

/// A pod's containers as this kubelet runs them.
#[derive(Clone, Debug, Default)]
pub(crate) struct PodRuntime {
    /// Bumped when the main container dies: its timers are void.
    pub generation: u32,
    /// The CrashLoopBackOff entry of the main container.
    pub backoff: Option<BackoffEntry>,
    /// The next init container to start (= their count: the app containers' turn).
    next_init: usize,
    /// Pulls of the current step in progress.
    pulls: Vec<Pull>,
    /// The current step's images are there.
    pulled: bool,
    /// Per probe kind: the failure probability per million of random checks.
    ppm: [u32; 3],
    /// When the main container last started.
    started_at: SimTime,
    /// The startup probe has passed (or there is none to wait for).
    started: bool,
    /// The readiness probe's result.
    ready: bool,
    pending: [Option<Next>; 3],
}

impl PodRuntime {
    pub fn begin_start(&mut self) {
        self.next_init = 0;
        self.pulls.clear();
        self.pulled = false;
        self.clear_probes();
    }

    pub fn clear_probes(&mut self) {
        self.pending = [None; 3];
    }
}

impl Kubelets {
    fn pod_containers(api: &ApiServer, pod: PodId) -> Option<Arc<PodContainers>> {
        api.store.pod(pod).pod.containers.clone()
    }

    /// Init containers or simulated pulls: the start goes step by step.
    pub(super) fn needs_start_sequence(&self, api: &ApiServer, pod: PodId) -> bool {
        let Some(c) = &api.store.pod(pod).pod.containers else {
            return false;
        };
        !c.init_containers.is_empty() || self.pulls_simulated(api, pod)
    }

    /// Runs the start sequence as far as it goes without waiting.
    pub(super) fn advance_start(
        &mut self,
        node: NodeId,
        pod: PodId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let Some(containers) = Self::pod_containers(api, pod) else {
            return;
        };
        let pulls = self.pulls_simulated(api, pod);
        loop {
            let Some(rt) = self.runtime.get(&pod) else {
                return;
            };
            let (next, generation) = (rt.next_init, rt.generation);
            let step: Vec<_> = match containers.init_containers.get(next) {
                Some(c) => vec![c.clone()],
                None => containers.containers.clone(),
            };
            if pulls && self.runtime.get(&pod).is_some_and(|r| !r.pulled) {
                let mut queued = Vec::new();
                for c in &step {
                    match self.ensure_image(node, pod, c, api, ctx) {
                        Ensured::Present => {}
                        Ensured::Pulling(p) => queued.push(p),
                        Ensured::Failed => return,
                    }
                }
                if let Some(done) = queued.iter().map(|p| p.done).max() {
                    if let Some(rt) = self.runtime.get_mut(&pod) {
                        rt.pulls = queued;
                        rt.pulled = true;
                    }
                    ctx.schedule(
                        done.since(ctx.now()),
                        self.timer(node, KubeletEvent::StartStep(pod, generation)),
                    );
                    return;
                }
            }
            if let Some(rt) = self.runtime.get_mut(&pod) {
                rt.pulls.clear();
                rt.pulled = false;
            }
            let Some(init) = containers.init_containers.get(next) else {
                // The app containers: created and started after the startup time.
                if let Some(rt) = self.runtime.get_mut(&pod) {
                    rt.next_init = next + 1;
                }
                self.schedule_started(node, pod, api, ctx);
                return;
            };
            let object = format!("pod/{}", api.store.pod(pod).pod.name);
            let now = ctx.now();
            api.record(
                now,
                EventType::Normal,
                "Created",
                object.clone(),
                format!("Created container {}", init.name),
            );
            api.record(
                now,
                EventType::Normal,
                "Started",
                object,
                format!("Started container {}", init.name),
            );
            if let Some(rt) = self.runtime.get_mut(&pod) {
                rt.next_init = next + 1;
            }
            if !init.restartable {
                // The next one starts when this one has completed.
                let run_for = self.draw(
                    node,
                    api,
                    ctx,
                    self.workload_behaviour(api, pod)
                        .and_then(|b| b.lifecycle.init_run_for)
                        .unwrap_or((DEFAULT_INIT_RUN_FOR, DEFAULT_INIT_RUN_FOR)),
                );
                ctx.schedule(
                    run_for,
                    self.timer(node, KubeletEvent::StartStep(pod, generation)),
                );
                return;
            }
        }
    }

    /// An init container completed, or a step's pulls are done.
    pub(super) fn start_step_done(
        &mut self,
        node: NodeId,
        pod: PodId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        if !api.store.pod(pod).is_live_on(node, PodPhase::Pending) {
            return;
        }
        let pulls = self
            .runtime
            .get(&pod)
            .map(|r| r.pulls.clone())
            .unwrap_or_default();
        for p in &pulls {
            self.pull_done(node, pod, p, api);
        }
        if let Some(rt) = self.runtime.get_mut(&pod) {
            rt.pulls.clear();
        }
        self.advance_start(node, pod, api, ctx);
    }

    /// A duration drawn from a range on the node's lifecycle stream.
    fn draw(
        &self,
        node: NodeId,
        api: &ApiServer,
        ctx: &mut Context<'_, Event>,
        (lo, hi): (SimDuration, SimDuration),
    ) -> SimDuration {
        if hi <= lo {
            return lo;
        }
        let stream = format!("kubelet/{}/lifecycle", api.store.node(node).name());
        SimDuration::from_nanos(ctx.rng(&stream).random_range(lo.as_nanos()..=hi.as_nanos()))
    }

    /// The main container's probe and its behaviour, when that behaviour changes something.
    fn probe_of(
        &self,
        api: &ApiServer,
        pod: PodId,
        kind: ProbeKind,
    ) -> Option<(Probe, ProbeBehaviour)> {
        let c = api
            .store
            .pod(pod)
            .pod
            .containers
            .as_ref()?
            .containers
            .first()?;
        let p = match kind {
            ProbeKind::Startup => c.startup_probe,
            ProbeKind::Liveness => c.liveness_probe,
            ProbeKind::Readiness => c.readiness_probe,
        }?;
        let b = self
            .workload_behaviour(api, pod)
            .map_or(ProbeBehaviour::Healthy, |wb| {
                let lb = &wb.lifecycle;
                match kind {
                    ProbeKind::Startup => lb.startup_probe,
                    ProbeKind::Liveness => lb.liveness,
                    ProbeKind::Readiness => lb.readiness,
                }
            });
        // Even a probe that always passes decides when the container counts as started or
        // ready: upstream's prober reports nothing before `initialDelaySeconds` has passed
        // (`worker.doProbe`), readiness starts at Failure and needs `successThreshold`
        // successes in a row, and a startup probe gates the others until its first success.
        // Only a healthy liveness probe, or one checked at once with a threshold of one,
        // changes nothing.
        let delayed = p.initial_delay_seconds > 0
            || (kind == ProbeKind::Readiness && p.success_threshold > 1);
        match b {
            ProbeBehaviour::Healthy if kind != ProbeKind::Liveness && delayed => Some((
                p,
                ProbeBehaviour::PassAfter(SimDuration::ZERO, SimDuration::ZERO),
            )),
            ProbeBehaviour::Healthy => None,
            b => Some((p, b)),
        }
    }

    /// Ready when the containers start: not while a startup probe is still to pass, nor
    /// when the readiness checks pass only later.
    pub(super) fn initially_ready(&self, api: &ApiServer, pod: PodId) -> bool {
        self.probe_of(api, pod, ProbeKind::Startup).is_none()
            && !matches!(
                self.probe_of(api, pod, ProbeKind::Readiness),
                Some((_, ProbeBehaviour::PassAfter(..)))
            )
    }

    /// `crashAfter`: a long-running main container exits with an error after a while.
    pub(super) fn schedule_crash(
        &mut self,
        node: NodeId,
        pod: PodId,
        api: &ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let Some(range) = self
            .workload_behaviour(api, pod)
            .and_then(|b| b.lifecycle.crash_after)
        else {
            return;
        };
        let after = self.draw(node, api, ctx, range);
        self.exit_codes.insert(pod, 1);
        let generation = self.generation(pod);
        ctx.schedule(
            after,
            self.timer(node, KubeletEvent::ContainerExited(pod, generation)),
        );
    }

    /// The app containers run: set the probes' timers.
    pub(super) fn containers_started(
        &mut self,
        node: NodeId,
        pod: PodId,
        api: &ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let startup = self.probe_of(api, pod, ProbeKind::Startup);
        let liveness = self.probe_of(api, pod, ProbeKind::Liveness);
        let readiness = self.probe_of(api, pod, ProbeKind::Readiness);
        if startup.is_none() && liveness.is_none() && readiness.is_none() {
            if let Some(rt) = self.runtime.get_mut(&pod) {
                rt.clear_probes();
            }
            return;
        }
        let now = ctx.now();
        let ready = self.initially_ready(api, pod);
        let rt = self.runtime.entry(pod).or_default();
        rt.clear_probes();
        rt.ppm = [0; 3];
        rt.started_at = now;
        rt.started = startup.is_none();
        rt.ready = ready;
        match startup {
            Some((p, b)) => {
                let threshold = u64::try_from(p.failure_threshold.max(1)).unwrap_or(3);
                let fail_at = threshold - 1;
                let next = match b {
                    ProbeBehaviour::Healthy => Next::Pass(0),
                    ProbeBehaviour::PassAfter(lo, hi) => {
                        let t = now + self.draw(node, api, ctx, (lo, hi));
                        let k = probe::first_check_at_or_after(&p, now, t);
                        if k < threshold {
                            Next::Pass(k)
                        } else {
                            Next::Fail(fail_at)
                        }
                    }
                    ProbeBehaviour::FailAfter(lo, hi) => {
                        let t = now + self.draw(node, api, ctx, (lo, hi));
                        if probe::check_time(&p, now, 0) < t {
                            Next::Pass(0)
                        } else {
                            Next::Fail(fail_at)
                        }
                    }
                    ProbeBehaviour::FailureProbability(ppm) => {
                        let stream = format!("kubelet/{}/probes", node.0);
                        // Failures before the first success.
                        let g = probe::geometric(ctx.rng(&stream), 1_000_000 - ppm.min(1_000_000));
                        if g < threshold {
                            Next::Pass(g)
                        } else {
                            Next::Fail(fail_at)
                        }
                    }
                };
                self.set_pending(node, pod, ProbeKind::Startup, next, &p, ctx);
            }
            None => self.after_started(node, pod, now, api, ctx),
        }
    }

    /// The startup probe passed at `started`: liveness and readiness checks begin.
    fn after_started(
        &mut self,
        node: NodeId,
        pod: PodId,
        started: SimTime,
        api: &ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let Some(s) = self.runtime.get(&pod).map(|r| r.started_at) else {
            return;
        };
        for kind in [ProbeKind::Liveness, ProbeKind::Readiness] {
            let Some((p, b)) = self.probe_of(api, pod, kind) else {
                continue;
            };
            let k0 = probe::first_check_at_or_after(&p, s, started);
            let fail = u64::try_from(p.failure_threshold.max(1)).unwrap_or(3);
            let pass = u64::try_from(p.success_threshold.max(1)).unwrap_or(1);
            let next = match b {
                ProbeBehaviour::Healthy => None,
                ProbeBehaviour::FailAfter(lo, hi) => {
                    let t = s + self.draw(node, api, ctx, (lo, hi));
                    let k = probe::first_check_at_or_after(&p, s, t.max(started));
                    Some(Next::Fail(k + fail - 1))
                }
                ProbeBehaviour::PassAfter(lo, hi) => {
                    let t = s + self.draw(node, api, ctx, (lo, hi));
                    match kind {
                        ProbeKind::Readiness => {
                            let k = probe::first_check_at_or_after(&p, s, t.max(started));
                            Some(Next::Pass(k + pass - 1))
                        }
                        // Liveness checks fail until then: a kill if enough come first.
                        _ => (probe::check_time(&p, s, k0 + fail - 1) < t)
                            .then_some(Next::Fail(k0 + fail - 1)),
                    }
                }
                ProbeBehaviour::FailureProbability(ppm) => {
                    if let Some(rt) = self.runtime.get_mut(&pod) {
                        rt.ppm[kind.index()] = ppm;
                    }
                    Some(Next::Continue { k: k0, run: 0 })
                }
            };
            if let Some(next) = next {
                self.set_pending(node, pod, kind, next, &p, ctx);
            }
        }
    }

    /// Records what the probe does next and sets its timer; a `Continue` walks the random
    /// checks first.
    fn set_pending(
        &mut self,
        node: NodeId,
        pod: PodId,
        kind: ProbeKind,
        next: Next,
        p: &Probe,
        ctx: &mut Context<'_, Event>,
    ) {
        let Some(rt) = self.runtime.get(&pod) else {
            return;
        };
        let (s, generation, ready) = (rt.started_at, rt.generation, rt.ready);
        let next = match next {
            Next::Continue { k, run } => {
                let ppm = self.probe_ppm(pod, kind);
                // Awaiting a failure while passing, a success while failing.
                let awaiting_failure = kind != ProbeKind::Readiness || ready;
                let (ppm, threshold) = if awaiting_failure {
                    (ppm, p.failure_threshold)
                } else {
                    (1_000_000 - ppm.min(1_000_000), p.success_threshold)
                };
                let stream = format!("kubelet/{}/probes", node.0);
                let threshold = u32::try_from(threshold.max(1)).unwrap_or(1);
                match probe::next_crossing(ctx.rng(&stream), ppm, threshold, run, WALK_HORIZON) {
                    Crossing::At(j) if awaiting_failure => Next::Fail(k + j),
                    Crossing::At(j) => Next::Pass(k + j),
                    Crossing::NotBefore { run } => Next::Continue {
                        k: k + WALK_HORIZON,
                        run,
                    },
                }
            }
            other => other,
        };
        let at = match next {
            Next::Fail(k) => probe::failure_known(p, s, k),
            Next::Pass(k) | Next::Continue { k, .. } => probe::check_time(p, s, k),
        };
        if let Some(rt) = self.runtime.get_mut(&pod) {
            rt.pending[kind.index()] = Some(next);
        }
        ctx.schedule(
            at.since(ctx.now()),
            self.timer(node, KubeletEvent::Probe(pod, generation, kind)),
        );
    }

    /// The per-million failure probability of a probe with random checks.
    fn probe_ppm(&self, pod: PodId, kind: ProbeKind) -> u32 {
        self.runtime.get(&pod).map_or(0, |r| r.ppm[kind.index()])
    }

    /// A probe's timer fired: its result changes (or a walk goes on).
    pub(super) fn probe_changed(
        &mut self,
        node: NodeId,
        pod: PodId,
        generation: u32,
        kind: ProbeKind,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let r = api.store.pod(pod);
        if !r.is_live_on(node, PodPhase::Running) {
            return;
        }
        let Some((p, _)) = self.probe_of(api, pod, kind) else {
            return;
        };
        let Some(next) = self
            .runtime
            .get_mut(&pod)
            .and_then(|rt| rt.pending[kind.index()].take())
        else {
            return;
        };
        let now = ctx.now();
        let object = format!("pod/{}", r.pod.name);
        let container = r
            .pod
            .containers
            .as_ref()
            .and_then(|c| c.containers.first())
            .map(|c| c.name.clone())
            .unwrap_or_default();
        match (kind, next) {
            (_, Next::Continue { .. }) => self.set_pending(node, pod, kind, next, &p, ctx),
            (ProbeKind::Startup, Next::Pass(_)) => {
                if let Some(rt) = self.runtime.get_mut(&pod) {
                    rt.started = true;
                }
                let ready = self.readiness(api, pod)
                    && !matches!(
                        self.probe_of(api, pod, ProbeKind::Readiness),
                        Some((_, ProbeBehaviour::PassAfter(..)))
                    );
                if ready && !self.write_ready(node, pod, generation, kind, next, api, ctx) {
                    return;
                }
                self.after_started(node, pod, now, api, ctx);
            }
            (ProbeKind::Readiness, Next::Pass(k) | Next::Fail(k)) => {
                let ready = matches!(next, Next::Pass(_));
                if !ready {
                    api.record(
                        now,
                        EventType::Warning,
                        "Unhealthy",
                        object,
                        unhealthy_message(kind, &p),
                    );
                }
                if !self.write_ready(node, pod, generation, kind, next, api, ctx) {
                    return;
                }
                if let Some(rt) = self.runtime.get_mut(&pod) {
                    rt.ready = ready;
                }
                if self.probe_ppm(pod, kind) > 0 {
                    self.set_pending(
                        node,
                        pod,
                        kind,
                        Next::Continue { k: k + 1, run: 0 },
                        &p,
                        ctx,
                    );
                }
            }
            (ProbeKind::Startup | ProbeKind::Liveness, _) => {
                api.record(
                    now,
                    EventType::Warning,
                    "Unhealthy",
                    object.clone(),
                    unhealthy_message(kind, &p),
                );
                api.record(
                    now,
                    EventType::Normal,
                    "Killing",
                    object,
                    format!(
                        "Container {container} failed {} probe, will be restarted",
                        kind.title().to_lowercase()
                    ),
                );
                let rt = self.runtime.entry(pod).or_default();
                rt.generation = rt.generation.wrapping_add(1);
                rt.clear_probes();
                let generation = rt.generation;
                let stop =
                    self.stop_duration(api, ctx, node, pod, p.termination_grace_period_seconds);
                ctx.schedule(
                    stop,
                    self.timer(node, KubeletEvent::ContainerKilled(pod, generation)),
                );
            }
        }
    }

    /// Writes the pod's Ready condition from the readiness result; on a refused write the
    /// timer is set again. Returns whether it went through.
    #[allow(clippy::too_many_arguments)]
    fn write_ready(
        &mut self,
        node: NodeId,
        pod: PodId,
        generation: u32,
        kind: ProbeKind,
        next: Next,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> bool {
        let ready = match (kind, next) {
            (ProbeKind::Readiness, Next::Fail(_)) => false,
            _ => self.readiness(api, pod),
        };
        match api.set_pod_running(ctx, pod, ready) {
            Ok(()) => {
                self.note_reported_ready(node, pod, ready);
                true
            }
            Err(ApiError::NotFound | ApiError::Refused(_)) => true,
            Err(_) => {
                if let Some(rt) = self.runtime.get_mut(&pod) {
                    rt.pending[kind.index()] = Some(next);
                }
                ctx.schedule(
                    STATUS_RETRY,
                    self.timer(node, KubeletEvent::Probe(pod, generation, kind)),
                );
                false
            }
        }
    }

    /// How long stopping the pod's containers takes (upstream `killContainer`): the preStop
    /// hook runs first, inside the grace period (cut off at its end), then the container
    /// gets what is left of it, at least 2 seconds (`minimumGracePeriodInSeconds`), before
    /// SIGKILL. Containers are taken to use all of it. `grace` overrides the pod's
    /// `terminationGracePeriodSeconds` (a probe's own).
    pub(super) fn stop_duration(
        &self,
        api: &ApiServer,
        ctx: &mut Context<'_, Event>,
        node: NodeId,
        pod: PodId,
        grace: Option<i64>,
    ) -> SimDuration {
        self.stop_durations(api, ctx, node, pod, grace).1
    }

    /// [`Self::stop_duration`] with when SIGTERM is sent: once the preStop hooks are done
    /// (at once without one).
    pub(super) fn stop_durations(
        &self,
        api: &ApiServer,
        ctx: &mut Context<'_, Event>,
        node: NodeId,
        pod: PodId,
        grace: Option<i64>,
    ) -> (SimDuration, SimDuration) {
        let r = api.store.pod(pod);
        let grace_secs = grace.unwrap_or(r.pod.termination_grace_period_seconds);
        let grace = SimDuration::from_secs(u64::try_from(grace_secs).unwrap_or(0));
        let hooks: Vec<LifecycleHandler> = r
            .pod
            .containers
            .as_ref()
            .map(|c| c.containers.iter().filter_map(|c| c.pre_stop).collect())
            .unwrap_or_default();
        if hooks.is_empty() {
            return (SimDuration::ZERO, grace);
        }
        let behaviour = self
            .workload_behaviour(api, pod)
            .and_then(|b| b.lifecycle.pre_stop);
        // Containers stop in parallel: the longest hook counts.
        let mut hook = SimDuration::ZERO;
        for h in hooks {
            let d = match h {
                LifecycleHandler::Sleep { seconds } => {
                    SimDuration::from_secs(u64::try_from(seconds).unwrap_or(0))
                }
                _ => behaviour.map_or(SimDuration::ZERO, |range| self.draw(node, api, ctx, range)),
            };
            hook = hook.max(d);
        }
        let used = hook.min(grace);
        (
            used,
            used + grace.saturating_sub(used).max(MINIMUM_GRACE_PERIOD),
        )
    }

    /// The main container is up: its server accepts connections at once, or, for a pod
    /// without a readinessProbe whose workload's `readiness: {passAfter}` says how long the
    /// server takes to warm up, only then (the pod is Ready before it can answer). With a
    /// readinessProbe the pod gets traffic only once it passes, so no warm-up is drawn.
    pub(super) fn start_listening(
        &mut self,
        node: NodeId,
        pod: PodId,
        generation: u32,
        api: &ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        if self.container_log.is_none() {
            return;
        }
        let has_probe = api
            .store
            .pod(pod)
            .pod
            .containers
            .as_ref()
            .and_then(|c| c.containers.first())
            .is_some_and(|c| c.readiness_probe.is_some());
        let warm_up = match self
            .workload_behaviour(api, pod)
            .map(|b| b.lifecycle.readiness)
        {
            Some(ProbeBehaviour::PassAfter(lo, hi)) if !has_probe => {
                self.draw(node, api, ctx, (lo, hi))
            }
            _ => SimDuration::ZERO,
        };
        if warm_up == SimDuration::ZERO {
            self.log_container(pod, true);
        } else {
            ctx.schedule(
                warm_up,
                self.timer(node, KubeletEvent::Listening(pod, generation, true)),
            );
        }
    }

    /// The pod is being deleted: its server stops accepting connections at SIGTERM, after
    /// the preStop hooks (a server shutting down closes its listener first), while the
    /// container may linger until the grace period ends.
    pub(super) fn stop_listening(
        &mut self,
        node: NodeId,
        pod: PodId,
        sigterm: SimDuration,
        ctx: &mut Context<'_, Event>,
    ) {
        if self.container_log.is_none() {
            return;
        }
        if sigterm == SimDuration::ZERO {
            self.log_container(pod, false);
        } else {
            let generation = self.generation(pod);
            ctx.schedule(
                sigterm,
                self.timer(node, KubeletEvent::Listening(pod, generation, false)),
            );
        }
    }
}

/// Upstream `minimumGracePeriodInSeconds`.
const MINIMUM_GRACE_PERIOD: SimDuration = SimDuration::from_secs(2);

/// Upstream `Unhealthy`: `<Kind> probe failed: <output>`; a failing check here is one that
/// timed out.
fn unhealthy_message(kind: ProbeKind, p: &Probe) -> String {
    format!(
        "{} probe failed: context deadline exceeded (timeout {}s)",
        kind.title(),
        p.timeout_seconds
    )
}
