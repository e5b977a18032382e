//! The simulated cluster: the `World` the engine drives. It owns the API server and the
//! components that watch it — the scheduler, the controllers, the kubelets — plus the drivers
//! of the scenario (timeline, trace replay). `handle` is a dispatcher: it hands each component
//! its own state and the API server, nothing else. Components never call each other.

use sim_core::{Context, Digest, World};

use crate::api::{NodeId, PodId};
use crate::apiserver::{ApiServer, Subscriber};
use crate::controllers::{
    ControllerId, CronJobController, DaemonSetController, DeploymentController,
    DisruptionController, EndpointSliceController, GarbageCollector,
    HorizontalPodAutoscalerController, JobController, NodeLifecycleController, PodGarbageCollector,
    ReplicaSetController, Runner, StatefulSetController, TaintEvictionController, VolumeController,
};
use crate::kubelet::{KubeletEvent, Kubelets};
use crate::scheduler::{Explanation, Scheduler};

mod scheduling;
mod timeline;
pub mod traffic;

pub use crate::apiserver::Counters;
pub use scheduling::{ExplainedAttempt, PreemptionCounters, SchedulerComponent, SchedulerEvent};
pub use timeline::TimelineDriver;

/// Every event of the cluster, nested by component. Key fields go into the run digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A watcher's pending delivery is due.
    Watch(Subscriber),
    /// A controller's work queue has keys ready.
    Reconcile(ControllerId),
    /// A kubelet's timer, with the node's boot generation when it was set: timers of a
    /// kubelet that crashed since are dropped.
    Kubelet(NodeId, u32, KubeletEvent),
    Scheduler(SchedulerEvent),
    /// A scripted timeline action (index into the timeline) is due.
    Timeline(u32),
    /// A drain in progress (index into the timeline) takes its next step.
    Drain(u32),
    /// Workloads of the scenario that arrive later (`workloads: [{at: 2m, …}]`).
    WorkloadsArrive(u32),
    /// Trace replay (`crate::trace`): the trace pod with this index arrives.
    TraceArrival(u32),
    /// Trace replay: the pod's recorded deletion time has come.
    TraceDeparture(PodId),
    /// The fault driver's timers (`crate::faults`).
    Fault(crate::faults::FaultEvent),
    /// Periodic allocation and fragmentation sample (`crate::trace::metrics`).
    Sample,
    /// Leader election, control-plane faults and expectation checks (`crate::controlplane`).
    ControlPlane(crate::controlplane::ControlPlaneEvent),
    /// metrics-server's periodic scrape (`crate::metrics_server`), once some HPA exists.
    MetricsScrape,
    /// kube-proxy's sync timer (`crate::network`).
    Network(crate::network::NetworkEvent),
    /// The cluster autoscaler's timers (`crate::autoscaler`).
    Autoscaler(crate::autoscaler::AutoscalerEvent),
    /// The traffic model's next request event (`cluster::traffic`).
    Traffic(traffic::TrafficEvent),
    /// The scenario's end: keeps the clock running to the end while the cluster is at rest, so
    /// node-hours and costs cover the whole scenario.
    ScenarioEnd,
}

impl Event {
    fn kind(&self) -> (u64, &'static str, u64) {
        match *self {
            Event::Watch(s) => (1, "Watch", s as u64),
            Event::Reconcile(c) => (2, "Reconcile", c as u64),
            Event::Kubelet(n, _, e) => {
                let (tag, name, key) = e.kind();
                (tag, name, key << 32 | u64::from(n.0))
            }
            Event::Scheduler(SchedulerEvent::ScheduleNext) => (5, "ScheduleNext", 0),
            Event::Scheduler(SchedulerEvent::FlushBackoff) => (6, "FlushBackoff", 0),
            Event::Scheduler(SchedulerEvent::FlushUnschedulable) => (7, "FlushUnschedulable", 0),
            Event::Scheduler(SchedulerEvent::BindingDone) => (15, "BindingDone", 0),
            Event::Timeline(i) => (8, "Timeline", u64::from(i)),
            Event::Fault(f) => f.kind(),
            Event::Drain(i) => (9, "Drain", u64::from(i)),
            Event::WorkloadsArrive(i) => (10, "WorkloadsArrive", u64::from(i)),
            Event::TraceArrival(i) => (100, "TraceArrival", u64::from(i)),
            Event::TraceDeparture(p) => (101, "TraceDeparture", u64::from(p.0)),
            Event::Sample => (102, "Sample", 0),
            Event::ControlPlane(e) => e.digest_key(),
            Event::ScenarioEnd => (200, "ScenarioEnd", 0),
            Event::MetricsScrape => (103, "MetricsScrape", 0),
            Event::Network(crate::network::NetworkEvent::ProxySync) => (110, "ProxySync", 0),
            Event::Autoscaler(e) => e.kind(),
            Event::Traffic(traffic::TrafficEvent::Advance) => (120, "TrafficAdvance", 0),
        }
    }
}

/// The controller manager's controllers.
pub struct Controllers {
    pub replica_set: Runner<ReplicaSetController>,
    pub deployment: Runner<DeploymentController>,
    pub garbage_collector: Runner<GarbageCollector>,
    pub disruption: Runner<DisruptionController>,
    pub stateful_set: Runner<StatefulSetController>,
    pub daemon_set: Runner<DaemonSetController>,
    pub job: Runner<JobController>,
    pub cron_job: Runner<CronJobController>,
    pub volume: Runner<VolumeController>,
    pub pod_gc: Runner<PodGarbageCollector>,
    pub node_lifecycle: Runner<NodeLifecycleController>,
    pub taint_eviction: Runner<TaintEvictionController>,
    pub hpa: Runner<HorizontalPodAutoscalerController>,
    pub endpoint_slice: Runner<EndpointSliceController>,
}

impl Default for Controllers {
    fn default() -> Self {
        Controllers {
            replica_set: Runner::new(ControllerId::ReplicaSet, ReplicaSetController::default()),
            deployment: Runner::new(ControllerId::Deployment, DeploymentController::default()),
            garbage_collector: Runner::new(
                ControllerId::GarbageCollector,
                GarbageCollector::default(),
            ),
            disruption: Runner::new(ControllerId::Disruption, DisruptionController::default()),
            stateful_set: Runner::new(ControllerId::StatefulSet, StatefulSetController::default()),
            daemon_set: Runner::new(ControllerId::DaemonSet, DaemonSetController::default()),
            job: Runner::new(ControllerId::Job, JobController::default()),
            cron_job: Runner::new(ControllerId::CronJob, CronJobController::default()),
            volume: Runner::new(ControllerId::PersistentVolume, VolumeController::default()),
            pod_gc: Runner::new(
                ControllerId::PodGarbageCollector,
                PodGarbageCollector::default(),
            ),
            node_lifecycle: Runner::new(
                ControllerId::NodeLifecycle,
                NodeLifecycleController::default(),
            ),
            taint_eviction: Runner::new(
                ControllerId::TaintEviction,
                TaintEvictionController::default(),
            ),
            hpa: Runner::new(
                ControllerId::HorizontalPodAutoscaler,
                HorizontalPodAutoscalerController::default(),
            ),
            endpoint_slice: Runner::new(
                ControllerId::EndpointSlice,
                EndpointSliceController::default(),
            ),
        }
    }
}

pub struct Cluster {
    pub api: ApiServer,
    pub scheduler: SchedulerComponent,
    pub controllers: Controllers,
    pub kubelets: Kubelets,
    pub timeline: TimelineDriver,
    /// Failure injection: scripted and stochastic faults.
    pub faults: crate::faults::FaultDriver,
    /// Trace pods waiting to arrive and what became of them (`crate::trace::replay`).
    pub trace: crate::trace::TraceReplay,
    /// Allocation and fragmentation over time, one entry per `Event::Sample`.
    pub samples: Vec<crate::trace::Sample>,
    pub(crate) sampler: Option<crate::trace::Sampler>,
    /// Time series of the run (`crate::metrics`), sampled lazily: no events of its own.
    pub metrics: Option<crate::metrics::Recorder>,
    /// Invariant checkers run after every event, when enabled (`crate::checkers`).
    pub checkers: Option<crate::checkers::Checkers>,
    /// The buffer watch deliveries are handed over in.
    delivery: Vec<crate::apiserver::Change>,
    /// Events recorded up to the last event's effects, and up to the one before (what the
    /// digest has taken in; see `digest_effects`).
    events_digested: u64,
    events_before_last: u64,
    /// Leader elections of the scheduler and the controller manager, API server outages, and
    /// the scenario's expectations.
    pub control_plane: crate::controlplane::ControlPlane,
    /// kube-proxy's view of Services and endpoints.
    pub proxy: crate::network::Proxy,
    /// The cluster autoscaler; dormant unless a pool declares `autoscaling:`.
    pub autoscaler: crate::autoscaler::Autoscaler,
    /// Requests through Services to pods, when the scenario has `traffic:`.
    pub traffic: Option<traffic::TrafficDriver>,
}

impl Cluster {
    pub fn new(api: ApiServer, scheduler: Scheduler, kubelets: Kubelets) -> Self {
        Cluster {
            api,
            scheduler: SchedulerComponent::new(scheduler),
            controllers: Controllers::default(),
            kubelets,
            timeline: TimelineDriver::default(),
            faults: crate::faults::FaultDriver::default(),
            trace: crate::trace::TraceReplay::default(),
            samples: Vec::new(),
            sampler: None,
            metrics: None,
            checkers: None,
            events_digested: 0,
            events_before_last: 0,
            delivery: Vec::new(),
            control_plane: crate::controlplane::ControlPlane::default(),
            proxy: crate::network::Proxy::default(),
            autoscaler: crate::autoscaler::Autoscaler::default(),
            traffic: None,
        }
    }

    /// The objects (pods and nodes) as the API server holds them.
    pub fn store(&self) -> &crate::store::Store {
        &self.api.store
    }

    pub fn events(&self) -> &[crate::events::EventRecord] {
        &self.api.events
    }

    pub fn counters(&self) -> &Counters {
        &self.api.counters
    }

    pub fn preemption(&self) -> &PreemptionCounters {
        &self.scheduler.preemption
    }

    /// The last recorded explanation, if the pod asked about was attempted.
    pub fn explanation(&self) -> Option<(&ExplainedAttempt, Option<&Explanation>)> {
        self.scheduler.explanation()
    }

    /// Creates the objects of a workloads entry as `kubectl apply` would at this moment:
    /// Deployments first, then ReplicaSets (which may name them as owners), then pods.
    pub fn apply_workloads(
        &mut self,
        ctx: &mut Context<'_, Event>,
        w: &crate::scenario::Workloads,
    ) -> Result<(), crate::apiserver::ApiError> {
        timeline::apply(&mut self.api, ctx, w)
    }
}

impl World for Cluster {
    type Event = Event;

    fn handle(&mut self, ctx: &mut Context<'_, Event>, event: Event) {
        if self
            .metrics
            .as_ref()
            .is_some_and(|m| m.due_before(ctx.now()))
        {
            self.record_metrics(ctx.now());
        }
        let api = &mut self.api;
        match event {
            Event::Watch(s) if !self.control_plane.watch_open(s) => {
                // Paused (no leader) or the API server is down: the changes stay in the log
                // and are delivered when the watcher can take them again.
                self.control_plane.hold_watch(s);
            }
            Event::Reconcile(id) if !self.control_plane.controller_manager.has_leader() => {
                self.control_plane.hold_reconcile(id);
            }
            Event::Scheduler(e) if !self.control_plane.scheduler.has_leader() => {
                self.control_plane.hold_scheduler(e);
            }
            Event::Watch(s) => {
                // One buffer for every delivery: no allocation per watch event.
                let mut changes = std::mem::take(&mut self.delivery);
                changes.clear();
                api.deliver(ctx, s, &mut changes);
                let c = &mut self.controllers;
                match s {
                    Subscriber::Scheduler => self.scheduler.on_changes(&changes, api, ctx),
                    Subscriber::ReplicaSetController => {
                        c.replica_set.on_changes(&changes, api, ctx)
                    }
                    Subscriber::DeploymentController => c.deployment.on_changes(&changes, api, ctx),
                    Subscriber::GarbageCollector => {
                        c.garbage_collector.on_changes(&changes, api, ctx)
                    }
                    Subscriber::DisruptionController => c.disruption.on_changes(&changes, api, ctx),
                    Subscriber::Kubelet => self.kubelets.on_changes(&changes, api, ctx),
                    Subscriber::StatefulSetController => {
                        c.stateful_set.on_changes(&changes, api, ctx)
                    }
                    Subscriber::DaemonSetController => c.daemon_set.on_changes(&changes, api, ctx),
                    Subscriber::JobController => c.job.on_changes(&changes, api, ctx),
                    Subscriber::CronJobController => c.cron_job.on_changes(&changes, api, ctx),
                    Subscriber::VolumeController => c.volume.on_changes(&changes, api, ctx),
                    Subscriber::PodGarbageCollector => c.pod_gc.on_changes(&changes, api, ctx),
                    Subscriber::NodeLifecycleController => {
                        c.node_lifecycle.on_changes(&changes, api, ctx)
                    }
                    Subscriber::TaintEvictionController => {
                        c.taint_eviction.on_changes(&changes, api, ctx)
                    }
                    Subscriber::HorizontalPodAutoscalerController => {
                        c.hpa.on_changes(&changes, api, ctx)
                    }
                    Subscriber::EndpointSliceController => {
                        c.endpoint_slice.on_changes(&changes, api, ctx)
                    }
                    Subscriber::Proxy => self.proxy.on_changes(&changes, api, ctx),
                }
                self.delivery = changes;
            }
            Event::Reconcile(id) => {
                let c = &mut self.controllers;
                match id {
                    ControllerId::ReplicaSet => c.replica_set.reconcile(api, ctx),
                    ControllerId::Deployment => c.deployment.reconcile(api, ctx),
                    ControllerId::GarbageCollector => c.garbage_collector.reconcile(api, ctx),
                    ControllerId::Disruption => c.disruption.reconcile(api, ctx),
                    ControllerId::StatefulSet => c.stateful_set.reconcile(api, ctx),
                    ControllerId::DaemonSet => c.daemon_set.reconcile(api, ctx),
                    ControllerId::Job => c.job.reconcile(api, ctx),
                    ControllerId::CronJob => c.cron_job.reconcile(api, ctx),
                    ControllerId::PersistentVolume => c.volume.reconcile(api, ctx),
                    ControllerId::PodGarbageCollector => c.pod_gc.reconcile(api, ctx),
                    ControllerId::NodeLifecycle => c.node_lifecycle.reconcile(api, ctx),
                    ControllerId::TaintEviction => c.taint_eviction.reconcile(api, ctx),
                    ControllerId::HorizontalPodAutoscaler => c.hpa.reconcile(api, ctx),
                    ControllerId::EndpointSlice => c.endpoint_slice.reconcile(api, ctx),
                }
            }
            Event::Kubelet(node, boot, e) => self.kubelets.handle(node, boot, e, api, ctx),
            Event::Scheduler(e) => self.scheduler.handle(e, api, ctx),
            Event::Timeline(i) => match self.timeline.fault(i) {
                Some(fault) => {
                    self.faults.start(fault, api, &mut self.kubelets, ctx);
                    for f in self.faults.take_control_plane_requests() {
                        self.control_plane_fault(ctx, f);
                    }
                }
                None => self.timeline.apply_action(i, api, ctx),
            },
            Event::Fault(e) => {
                self.faults.handle(e, api, &mut self.kubelets, ctx);
                for f in self.faults.take_control_plane_requests() {
                    self.control_plane_fault(ctx, f);
                }
            }
            Event::Drain(i) => self.timeline.drain_step(i, api, ctx),
            Event::WorkloadsArrive(i) => self.timeline.workloads_arrive(i, api, ctx),
            Event::TraceArrival(i) => self.trace_arrival(ctx, i),
            Event::TraceDeparture(pod) => self.trace_departure(ctx, pod),
            Event::Sample => self.take_sample(ctx),
            Event::ControlPlane(e) => self.control_plane_event(ctx, e),
            Event::MetricsScrape => {
                if let Some(t) = &mut self.traffic {
                    t.flush_cpu(api, ctx.now());
                }
                let next = self.kubelets.scrape_metrics(api, ctx.now());
                ctx.schedule_at(next, Event::MetricsScrape);
            }
            Event::Network(e) => self.proxy.handle(e, ctx),
            Event::Autoscaler(e) => self.autoscaler.handle(e, api, ctx),
            Event::Traffic(e) => {
                if let Some(t) = &mut self.traffic {
                    t.handle(e, ctx);
                }
            }
            Event::ScenarioEnd => {}
        }
        if let Some(t) = &mut self.traffic
            && let Some(log) = &mut self.kubelets.container_log
        {
            t.sync(log, &mut self.proxy, &self.api, ctx);
        }
        if let Some(checkers) = &mut self.checkers {
            checkers.check(&self.api, ctx.now());
            checkers.check_nodes(&self.api, &self.kubelets, &self.control_plane, ctx.now());
        }
    }

    fn digest_event(event: &Event, digest: &mut Digest) {
        let (tag, _, key) = event.kind();
        digest.write_u64(tag);
        digest.write_u64(key);
    }

    fn describe_event(event: &Event) -> String {
        let (_, name, key) = event.kind();
        format!("{name}({key})")
    }

    /// What an event's key fields leave out — which node a pod went to, what a pod was
    /// called, what a message said — is in the Events it recorded: their content goes into
    /// the digest at the event that recorded them.
    fn digest_effects(&mut self, digest: &mut Digest) {
        // Requests leave no Event: what the traffic model counted goes in at its own timer.
        if let Some(t) = &mut self.traffic
            && t.take_advanced()
        {
            t.digest(digest);
        }
        let recorded = self.api.events.recorded();
        self.events_before_last = self.events_digested;
        if recorded != self.events_digested {
            digest.write_u64(self.api.events.content_digest().value());
            self.events_digested = recorded;
        }
    }

    fn describe_effects(&self) -> String {
        if self.events_digested == self.events_before_last {
            return "recorded no Event".to_owned();
        }
        let n = self.events_digested - self.events_before_last;
        match self.api.events.last() {
            Some(e) if n == 1 => format!("recorded {} {}: {}", e.reason, e.object, e.message),
            Some(e) => format!(
                "recorded {n} Events, the last {} {}: {}",
                e.reason, e.object, e.message
            ),
            None => String::new(),
        }
    }
}
