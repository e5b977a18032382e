//! Failure injection: the timeline's fault verbs and stochastic faults (`faults:`). The
//! driver acts on the simulated machines and processes — a node's machine, its kubelet, the
//! control plane's replicas — never on the objects' state behind the API server's back: a
//! crashed node's pods stay Running in the API until the node lifecycle controller notices,
//! exactly as in a real cluster.
//!
//! Every random choice (which nodes, which pods, when a stochastic fault strikes and how long
//! it lasts) comes from the `faults` stream.

pub mod spec;

use rand::Rng;
use sim_core::{Context, SimDuration, SimTime};

use crate::api::{LABEL_ZONE, NodeId, OwnerKind, PodId, PodPhase};
use crate::apiserver::{ApiError, ApiServer};
use crate::cluster::Event;
use crate::controlplane::{Component, ControlPlaneFault, Outage};
use crate::events::EventType;
use crate::kubelet::Kubelets;
pub use spec::{
    Amount, Distribution, Fault, FaultVerb, Replicas, StochasticFault, Targets, WorkloadTarget,
};

/// The fault driver's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultEvent {
    /// A fault instance's duration is over.
    End(u32),
    /// The next container crash of a `crashContainers` instance with a rate.
    CrashContainers(u32),
    /// A `reclaimSpot` instance's notice is over: the machines go.
    SpotReclaimed(u32),
    /// Stochastic fault `.0` strikes its target slot `.1`.
    Strike(u32, u32),
    /// Retry an action the API server refused (e.g. deleting a reclaimed node).
    Retry(u32),
}

impl FaultEvent {
    pub(crate) fn kind(&self) -> (u64, &'static str, u64) {
        match *self {
            FaultEvent::End(i) => (20, "FaultEnd", u64::from(i)),
            FaultEvent::CrashContainers(i) => (21, "CrashContainers", u64::from(i)),
            FaultEvent::SpotReclaimed(i) => (22, "SpotReclaimed", u64::from(i)),
            FaultEvent::Strike(g, s) => (23, "FaultStrike", u64::from(g) << 32 | u64::from(s)),
            FaultEvent::Retry(i) => (24, "FaultRetry", u64::from(i)),
        }
    }
}

const STREAM: &str = "faults";
const RETRY: SimDuration = SimDuration::from_secs(10);

/// One fault as it happened: what it took, and whether it is over.
#[derive(Clone, Debug)]
pub struct Instance {
    pub fault: Fault,
    pub started: SimTime,
    pub nodes: Vec<NodeId>,
    pub pods: Vec<PodId>,
    pub ended: Option<SimTime>,
    /// The stochastic fault and target slot that struck, if any.
    origin: Option<(u32, u32)>,
}

/// What the faults did, for the summary.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultRecord {
    /// Faults started, by verb.
    pub started: std::collections::BTreeMap<&'static str, u64>,
    /// Machine-down time summed over nodes, in nanoseconds.
    pub node_down_ns: u128,
    /// Pods killed and container crashes injected.
    pub pods_killed: u64,
    pub containers_crashed: u64,
}

#[derive(Default)]
pub struct FaultDriver {
    pub instances: Vec<Instance>,
    pub stochastic: Vec<StochasticFault>,
    /// After `heal`, stochastic faults strike no more.
    healed_at: Option<SimTime>,
    /// Machines down, since when (for the record).
    down_since: std::collections::BTreeMap<NodeId, SimTime>,
    /// Nodes of each stochastic node fault, by slot (fixed when it is armed).
    slots: Vec<Vec<NodeId>>,
    /// What faults ask of the control plane's processes, for the cluster to carry out (its
    /// replicas and their gating live in the cluster itself).
    control_plane: Vec<ControlPlaneFault>,
    pub record: FaultRecord,
}

impl FaultDriver {
    /// Arms the stochastic faults: each target's first failure.
    pub fn install(
        &mut self,
        stochastic: Vec<StochasticFault>,
        api: &ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        self.stochastic = stochastic;
        for (g, s) in self.stochastic.iter().enumerate() {
            let slots: Vec<NodeId> = if s.fault.verb.targets_nodes() {
                matching_nodes(api, &s.fault.targets, |_| true)
            } else {
                Vec::new()
            };
            let count = slots.len().max(1);
            for slot in 0..count {
                let u: f64 = ctx.rng(STREAM).random();
                let first = s.from.saturating_add(s.mtbf.sample(u));
                if s.until.is_some_and(|until| first >= until) {
                    continue;
                }
                ctx.schedule(
                    first,
                    Event::Fault(FaultEvent::Strike(g as u32, slot as u32)),
                );
            }
            self.slots.push(slots);
        }
    }

    /// Starts a fault now.
    pub fn start(
        &mut self,
        fault: Fault,
        api: &mut ApiServer,
        kubelets: &mut Kubelets,
        ctx: &mut Context<'_, Event>,
    ) {
        self.start_instance(fault, None, api, kubelets, ctx);
    }

    fn start_instance(
        &mut self,
        fault: Fault,
        origin: Option<(u32, u32)>,
        api: &mut ApiServer,
        kubelets: &mut Kubelets,
        ctx: &mut Context<'_, Event>,
    ) {
        let now = ctx.now();
        let id = self.instances.len() as u32;
        *self.record.started.entry(fault.verb.as_str()).or_default() += 1;
        let verb = fault.verb;
        let mut inst = Instance {
            fault,
            started: now,
            nodes: Vec::new(),
            pods: Vec::new(),
            ended: None,
            origin,
        };
        let f = &inst.fault;
        match verb {
            FaultVerb::CrashNodes | FaultVerb::RebootNodes | FaultVerb::ZoneOutage => {
                inst.nodes = pick(
                    ctx,
                    f.targets.amount,
                    matching_nodes(api, &f.targets, |n| !kubelets.node(n).down),
                );
                for &n in &inst.nodes {
                    self.crash(n, verb, api, kubelets, ctx);
                }
            }
            FaultVerb::RecoverNodes => {
                inst.nodes = pick(
                    ctx,
                    f.targets.amount,
                    matching_nodes(api, &f.targets, |n| kubelets.node(n).down),
                );
                for &n in &inst.nodes {
                    self.boot(n, api, kubelets, ctx);
                }
            }
            FaultVerb::StallKubelet | FaultVerb::Partition => {
                inst.nodes = pick(
                    ctx,
                    f.targets.amount,
                    matching_nodes(api, &f.targets, |n| !kubelets.node(n).down),
                );
                for &n in &inst.nodes {
                    note_node(api, now, n, verb, "");
                    if verb == FaultVerb::StallKubelet {
                        kubelets.stall(n, true, api, ctx);
                    } else {
                        kubelets.partition(n, true, api, ctx);
                    }
                }
            }
            FaultVerb::SlowImagePulls => {
                inst.nodes = pick(
                    ctx,
                    f.targets.amount,
                    matching_nodes(api, &f.targets, |_| true),
                );
                kubelets.set_image_pull_slowdown(Some(inst.nodes.clone()), f.factor, f.extra);
            }
            FaultVerb::KillPods => {
                inst.pods = pick(ctx, f.targets.amount, matching_pods(api, &f.targets));
                let grace = f.grace_period;
                for &p in &inst.pods {
                    note_pod(api, now, p, "killPods", "pod killed");
                    let r = match grace {
                        Some(g) if !g.is_zero() => api.delete_pod(ctx, p),
                        _ => api.remove_pod(ctx, p),
                    };
                    if r.is_ok() {
                        self.record.pods_killed += 1;
                        api.counters.readiness_lost += 1;
                    }
                }
            }
            FaultVerb::CrashContainers => {
                if let Some(rate) = f.rate_per_hour.filter(|r| *r > 0.0) {
                    let gap = next_gap(ctx, rate);
                    ctx.schedule(gap, Event::Fault(FaultEvent::CrashContainers(id)));
                } else {
                    inst.pods = pick(
                        ctx,
                        f.targets.amount,
                        running_pods(api, kubelets, &f.targets),
                    );
                    for &p in &inst.pods {
                        note_pod(api, now, p, "crashContainers", "containers crashed");
                        kubelets.crash_containers(p, api, ctx);
                        self.record.containers_crashed += 1;
                    }
                }
            }
            FaultVerb::ApiServerOutage => self.control_plane.push(ControlPlaneFault::ApiServerDown),
            FaultVerb::SchedulerOutage => self
                .control_plane
                .push(outage(Component::Scheduler, f.replicas)),
            FaultVerb::ControllerManagerOutage => self
                .control_plane
                .push(outage(Component::ControllerManager, f.replicas)),
            FaultVerb::ReclaimSpot => {
                inst.nodes = pick(
                    ctx,
                    f.targets.amount,
                    matching_nodes(api, &f.targets, |n| !kubelets.node(n).down),
                );
                let notice = f.notice;
                for &n in &inst.nodes {
                    spot_notice(n, notice, api, ctx);
                }
                ctx.schedule(notice, Event::Fault(FaultEvent::SpotReclaimed(id)));
            }
            FaultVerb::Heal => self.heal(api, kubelets, ctx),
        }
        // Done as soon as done (a stochastic one strikes again after its next MTBF draw);
        // a spot reclaim ends when its machines go; the others after their duration.
        let one_shot = matches!(
            verb,
            FaultVerb::RecoverNodes | FaultVerb::KillPods | FaultVerb::Heal
        ) || (verb == FaultVerb::CrashContainers
            && inst.fault.rate_per_hour.is_none());
        let ends_after = match verb {
            FaultVerb::RebootNodes => {
                Some(inst.fault.duration.unwrap_or(spec::DEFAULT_REBOOT_TIME))
            }
            FaultVerb::ReclaimSpot => None,
            _ if one_shot => None,
            _ => inst.fault.duration,
        };
        if one_shot {
            inst.ended = Some(now);
        }
        self.instances.push(inst);
        if let Some(d) = ends_after {
            ctx.schedule(d, Event::Fault(FaultEvent::End(id)));
        } else if one_shot {
            self.after_end(id, ctx);
        }
    }

    pub fn handle(
        &mut self,
        event: FaultEvent,
        api: &mut ApiServer,
        kubelets: &mut Kubelets,
        ctx: &mut Context<'_, Event>,
    ) {
        match event {
            FaultEvent::End(id) => self.end(id, api, kubelets, ctx),
            FaultEvent::CrashContainers(id) => {
                let Some(inst) = self.instances.get(id as usize) else {
                    return;
                };
                if inst.ended.is_some() {
                    return;
                }
                let rate = inst.fault.rate_per_hour.unwrap_or(0.0);
                let candidates = running_pods(api, kubelets, &inst.fault.targets);
                if !candidates.is_empty() {
                    let i = ctx.rng(STREAM).random_range(0..candidates.len());
                    let p = candidates[i];
                    note_pod(api, ctx.now(), p, "crashContainers", "containers crashed");
                    kubelets.crash_containers(p, api, ctx);
                    self.record.containers_crashed += 1;
                    self.instances[id as usize].pods.push(p);
                }
                let gap = next_gap(ctx, rate);
                ctx.schedule(gap, Event::Fault(FaultEvent::CrashContainers(id)));
            }
            FaultEvent::SpotReclaimed(id) | FaultEvent::Retry(id) => {
                let Some(inst) = self.instances.get(id as usize) else {
                    return;
                };
                if inst.fault.verb != FaultVerb::ReclaimSpot || inst.ended.is_some() {
                    return;
                }
                let nodes = inst.nodes.clone();
                let mut refused = false;
                for n in nodes {
                    if !kubelets.node(n).down {
                        self.crash(n, FaultVerb::ReclaimSpot, api, kubelets, ctx);
                    }
                    // The cloud's node controller deletes the Node of a gone instance.
                    match api.delete_node(ctx, n) {
                        Ok(()) | Err(ApiError::NotFound) => {}
                        Err(_) => refused = true,
                    }
                }
                if refused {
                    ctx.schedule(RETRY, Event::Fault(FaultEvent::Retry(id)));
                } else {
                    self.instances[id as usize].ended = Some(ctx.now());
                }
            }
            FaultEvent::Strike(g, slot) => {
                if self.healed_at.is_some() {
                    return;
                }
                let Some(s) = self.stochastic.get(g as usize) else {
                    return;
                };
                if s.until
                    .is_some_and(|u| SimTime::ZERO.saturating_add(u) <= ctx.now())
                {
                    return;
                }
                let mut fault = s.fault.clone();
                let u: f64 = ctx.rng(STREAM).random();
                fault.duration = Some(s.mttr.sample(u));
                if let Some(&n) = self
                    .slots
                    .get(g as usize)
                    .and_then(|v| v.get(slot as usize))
                {
                    let name = api.store.node(n).name().to_string();
                    fault.targets = Targets {
                        nodes: vec![name],
                        ..Targets::default()
                    };
                    if !api.store.node(n).exists {
                        return;
                    }
                } else if fault.verb.targets_pods() {
                    fault.targets.amount = Amount::Count(1);
                }
                self.start_instance(fault, Some((g, slot)), api, kubelets, ctx);
            }
        }
    }

    /// Ends a fault: what it took down comes back.
    fn end(
        &mut self,
        id: u32,
        api: &mut ApiServer,
        kubelets: &mut Kubelets,
        ctx: &mut Context<'_, Event>,
    ) {
        let Some(inst) = self.instances.get_mut(id as usize) else {
            return;
        };
        if inst.ended.is_some() {
            return;
        }
        inst.ended = Some(ctx.now());
        let verb = inst.fault.verb;
        let nodes = inst.nodes.clone();
        match verb {
            FaultVerb::CrashNodes | FaultVerb::RebootNodes | FaultVerb::ZoneOutage => {
                for n in nodes {
                    self.boot(n, api, kubelets, ctx);
                }
            }
            FaultVerb::StallKubelet => {
                for n in nodes {
                    kubelets.stall(n, false, api, ctx);
                }
            }
            FaultVerb::Partition => {
                for n in nodes {
                    kubelets.partition(n, false, api, ctx);
                }
            }
            FaultVerb::SlowImagePulls => {
                kubelets.set_image_pull_slowdown(None, 1.0, SimDuration::ZERO)
            }
            FaultVerb::ApiServerOutage => self.control_plane.push(ControlPlaneFault::ApiServerUp),
            FaultVerb::SchedulerOutage => self
                .control_plane
                .push(ControlPlaneFault::Restore(Component::Scheduler)),
            FaultVerb::ControllerManagerOutage => self
                .control_plane
                .push(ControlPlaneFault::Restore(Component::ControllerManager)),
            FaultVerb::RecoverNodes
            | FaultVerb::KillPods
            | FaultVerb::CrashContainers
            | FaultVerb::ReclaimSpot
            | FaultVerb::Heal => {}
        }
        self.after_end(id, ctx);
    }

    /// A stochastic fault's target fails again after its next time between failures.
    fn after_end(&mut self, id: u32, ctx: &mut Context<'_, Event>) {
        let Some((g, slot)) = self.instances.get(id as usize).and_then(|i| i.origin) else {
            return;
        };
        if self.healed_at.is_some() {
            return;
        }
        let Some(s) = self.stochastic.get(g as usize) else {
            return;
        };
        let u: f64 = ctx.rng(STREAM).random();
        let gap = s.mtbf.sample(u);
        let at = ctx.now().saturating_add(gap);
        if s.until
            .is_some_and(|until| at >= SimTime::ZERO.saturating_add(until))
        {
            return;
        }
        ctx.schedule(gap, Event::Fault(FaultEvent::Strike(g, slot)));
    }

    /// `heal`: every fault ends, every machine that is down and still has its Node boots, and
    /// stochastic faults strike no more.
    fn heal(&mut self, api: &mut ApiServer, kubelets: &mut Kubelets, ctx: &mut Context<'_, Event>) {
        self.healed_at = Some(ctx.now());
        for id in 0..self.instances.len() as u32 {
            self.end(id, api, kubelets, ctx);
        }
        let down: Vec<NodeId> = self.down_since.keys().copied().collect();
        for n in down {
            if api.store.node(n).exists {
                self.boot(n, api, kubelets, ctx);
            }
        }
        kubelets.set_image_pull_slowdown(None, 1.0, SimDuration::ZERO);
    }

    fn crash(
        &mut self,
        node: NodeId,
        verb: FaultVerb,
        api: &mut ApiServer,
        kubelets: &mut Kubelets,
        ctx: &mut Context<'_, Event>,
    ) {
        note_node(api, ctx.now(), node, verb, "machine down");
        kubelets.crash(node, api, ctx);
        self.down_since.entry(node).or_insert(ctx.now());
    }

    fn boot(
        &mut self,
        node: NodeId,
        api: &mut ApiServer,
        kubelets: &mut Kubelets,
        ctx: &mut Context<'_, Event>,
    ) {
        if let Some(since) = self.down_since.remove(&node) {
            self.record.node_down_ns += u128::from(ctx.now().since(since).as_nanos());
        }
        if !api.store.node(node).exists || !kubelets.node(node).down {
            return;
        }
        kubelets.boot(node, api, ctx);
    }

    /// The control-plane faults started or ended since the last call.
    pub fn take_control_plane_requests(&mut self) -> Vec<ControlPlaneFault> {
        std::mem::take(&mut self.control_plane)
    }

    /// Machine-down time including machines still down at `now`.
    pub fn node_down_ns(&self, now: SimTime) -> u128 {
        self.record.node_down_ns
            + self
                .down_since
                .values()
                .map(|s| u128::from(now.since(*s).as_nanos()))
                .sum::<u128>()
    }
}

/// A control-plane outage: only the leader, or every replica.
fn outage(c: Component, replicas: Replicas) -> ControlPlaneFault {
    ControlPlaneFault::Outage(
        c,
        match replicas {
            Replicas::Leader => Outage::Leader,
            Replicas::All => Outage::All,
        },
    )
}

/// Time to the next event of a Poisson process of `per_hour` events an hour.
fn next_gap(ctx: &mut Context<'_, Event>, per_hour: f64) -> SimDuration {
    let u: f64 = ctx.rng(STREAM).random();
    Distribution::Exponential {
        mean: SimDuration::from_nanos((3600.0e9 / per_hour).min(u64::MAX as f64 / 2.0) as u64),
    }
    .sample(u)
}

/// `amount` of `candidates`, chosen at random (all of them, in order, for `Amount::All`).
fn pick<T: Copy>(ctx: &mut Context<'_, Event>, amount: Amount, mut candidates: Vec<T>) -> Vec<T> {
    let n = amount.of(candidates.len());
    if n == candidates.len() {
        return candidates;
    }
    let rng = ctx.rng(STREAM);
    for i in 0..n {
        let j = rng.random_range(i..candidates.len());
        candidates.swap(i, j);
    }
    candidates.truncate(n);
    candidates
}

/// Live nodes matching the targets (and `keep`), in id order.
pub fn matching_nodes(api: &ApiServer, t: &Targets, keep: impl Fn(NodeId) -> bool) -> Vec<NodeId> {
    api.store
        .live_nodes()
        .filter(|n| {
            t.pool
                .as_ref()
                .is_none_or(|p| n.node.pool.as_ref() == Some(p))
                && t.zone
                    .as_ref()
                    .is_none_or(|z| n.node.labels.get(LABEL_ZONE) == Some(z))
                && (t.nodes.is_empty() || t.nodes.iter().any(|x| x == n.name()))
                && (t.targets_pods_only()
                    || t.selector
                        .iter()
                        .all(|(k, v)| n.node.labels.get(k) == Some(v)))
                && keep(n.id)
        })
        .map(|n| n.id)
        .collect()
}

impl Targets {
    /// The selector applies to pods (a pod fault), not to their nodes.
    fn targets_pods_only(&self) -> bool {
        self.workload.is_some() || self.namespace.is_some()
    }
}

/// Active pods matching the targets, not being deleted, in id order.
pub fn matching_pods(api: &ApiServer, t: &Targets) -> Vec<PodId> {
    let node_filter = t.pool.is_some() || t.zone.is_some() || !t.nodes.is_empty();
    let nodes: std::collections::BTreeSet<NodeId> = if node_filter {
        let node_targets = Targets {
            selector: crate::api::Labels::new(),
            workload: None,
            namespace: None,
            amount: Amount::All,
            ..t.clone()
        };
        matching_nodes(api, &node_targets, |_| true)
            .into_iter()
            .collect()
    } else {
        Default::default()
    };
    api.store
        .active_pods()
        .filter(|r| {
            r.deletion_timestamp.is_none()
                && !matches!(r.phase, PodPhase::Succeeded | PodPhase::Failed)
                && (!node_filter || r.node.is_some_and(|n| nodes.contains(&n)))
                && t.namespace.as_ref().is_none_or(|ns| &r.pod.namespace == ns)
                && t.selector
                    .iter()
                    .all(|(k, v)| r.pod.labels.get(k) == Some(v))
                && t.workload.as_ref().is_none_or(|w| belongs_to(api, r.id, w))
        })
        .map(|r| r.id)
        .collect()
}

/// Matching pods whose containers run: Running, on a machine that is up and a kubelet that
/// is not hung.
fn running_pods(api: &ApiServer, kubelets: &Kubelets, t: &Targets) -> Vec<PodId> {
    matching_pods(api, t)
        .into_iter()
        .filter(|p| {
            let r = api.store.pod(*p);
            r.phase == PodPhase::Running
                && r.node.is_some_and(|n| {
                    let s = kubelets.node(n);
                    !s.down && !s.stalled
                })
        })
        .collect()
}

/// Whether the pod is the workload's (directly, or through its ReplicaSet or Job).
fn belongs_to(api: &ApiServer, pod: PodId, w: &WorkloadTarget) -> bool {
    let p = &api.store.pod(pod).pod;
    if p.namespace != w.namespace {
        return false;
    }
    let Some(o) = &p.owner else {
        return w.kind == "Pod" && p.name == w.name;
    };
    if o.kind.as_str() == w.kind && o.name == w.name {
        return true;
    }
    match o.kind {
        OwnerKind::ReplicaSet | OwnerKind::ReplicationController => api
            .replica_sets
            .get(o.id.index())
            .and_then(|rs| rs.rs.owner.as_ref())
            .is_some_and(|d| w.kind == "Deployment" && d.name == w.name),
        OwnerKind::Job => api
            .jobs
            .get(o.id)
            .and_then(|j| j.spec.owner.as_ref())
            .is_some_and(|c| w.kind == "CronJob" && c.name == w.name),
        _ => false,
    }
}

/// The interruption notice of a spot instance: the node is cordoned and its pods evicted
/// (as the cloud's termination handler does), before the machine goes.
fn spot_notice(
    node: NodeId,
    notice: SimDuration,
    api: &mut ApiServer,
    ctx: &mut Context<'_, Event>,
) {
    let now = ctx.now();
    let name = api.store.node(node).name().to_string();
    api.record(
        now,
        EventType::Warning,
        "SpotInterruption",
        format!("node/{name}"),
        format!("Spot instance interruption notice: the instance is reclaimed in {notice}"),
    );
    let _ = api.set_unschedulable(ctx, node, true);
    let pods: Vec<PodId> = api.store.node(node).pods.clone();
    for p in pods {
        let daemon = api
            .store
            .pod(p)
            .pod
            .owner
            .as_ref()
            .is_some_and(|o| o.kind == OwnerKind::DaemonSet);
        if !daemon {
            let _ = api.evict(ctx, p);
        }
    }
}

/// Puts the fault in the node's event history, for `explain --node`.
fn note_node(api: &mut ApiServer, now: SimTime, node: NodeId, verb: FaultVerb, what: &str) {
    let name = api.store.node(node).name().to_string();
    let message = if what.is_empty() {
        format!("fault {} injected", verb.as_str())
    } else {
        format!("fault {} injected: {what}", verb.as_str())
    };
    api.record(
        now,
        EventType::Warning,
        "FaultInjected",
        format!("node/{name}"),
        message,
    );
}

fn note_pod(api: &mut ApiServer, now: SimTime, pod: PodId, verb: &str, what: &str) {
    let name = api.store.pod(pod).pod.name.clone();
    api.record(
        now,
        EventType::Warning,
        "FaultInjected",
        format!("pod/{name}"),
        format!("fault {verb} injected: {what}"),
    );
}
