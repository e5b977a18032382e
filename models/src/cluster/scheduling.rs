//! kube-scheduler as a component: its informers feed the scheduling queue; each cycle takes
//! one pod, runs the framework on the API server's current objects and writes the result
//! back (a binding, or the FailedScheduling event and, after preemption, the victims'
//! deletion and the preemptor's nomination).
//!
//! Scheduling takes simulated time ([`crate::scheduler::cost`]): a cycle decides on the
//! objects as they are when it starts, its result is written when its cost has elapsed, and
//! only then does the next cycle start (one pod at a time, as upstream's `ScheduleOne`). The
//! bind counts as done `bindingLatency` after the cycle, without holding up the next one (the
//! binding cycle is asynchronous upstream). The pod takes its node's room in the store at the
//! end of its cycle: the store is also the scheduler's cache, where upstream *assumes* the pod
//! then, so later cycles see it while its bind is in flight.

use std::collections::VecDeque;

use sim_core::{Context, SimDuration, SimTime};

use super::Event;
use crate::api::{NodeId, PodId};
use crate::apiserver::{ApiServer, Change, ObjectKind, Op};
use crate::events::EventType;
use crate::scheduler::cost::{SchedulerTiming, TokenBucket, nodes_scored};
use crate::scheduler::plugins::volume_binding::{self, VolumeAction};
use crate::scheduler::queue::{BACKOFF_FLUSH_PERIOD, SchedulingQueue, UNSCHEDULABLE_FLUSH_PERIOD};
use crate::scheduler::{Explanation, ScheduleResult, Scheduler};

/// The scheduler's own timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchedulerEvent {
    /// Take the next pod from the active queue.
    ScheduleNext,
    FlushBackoff,
    FlushUnschedulable,
    /// The earliest bind in flight is done (`bindingLatency` after its cycle).
    BindingDone,
}

/// A scheduling cycle whose cost has not elapsed yet: its decision, waiting to be written.
#[derive(Clone, Debug)]
struct InFlight {
    pod: PodId,
    started: SimTime,
    ends: SimTime,
    explain: bool,
    result: ScheduleResult,
}

/// The last scheduling attempt of the pod `explain` asked about.
#[derive(Clone, Debug)]
pub struct ExplainedAttempt {
    pub pod: PodId,
    pub at: SimTime,
    pub attempt: u32,
    pub result: ScheduleResult,
}

/// Counters of preemption, for the summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PreemptionCounters {
    /// Scheduling attempts whose PostFilter nominated a node.
    pub preemptions: u64,
    /// Pods deleted to make room.
    pub victims: u64,
}

pub struct SchedulerComponent {
    pub scheduler: Scheduler,
    pub queue: SchedulingQueue,
    /// Name (or `namespace/name`) of the pod whose scheduling attempts `explain` records.
    pub explain_pod: Option<String>,
    pub explained: Option<ExplainedAttempt>,
    explain_attempts: u32,
    pub preemption: PreemptionCounters,
    /// Cycle cost and binding latency; zero (idealised) unless the scenario says otherwise.
    pub timing: SchedulerTiming,
    in_flight: Option<InFlight>,
    /// Binds done at the given time, in that order (the latency is fixed, so FIFO).
    binding: VecDeque<(SimTime, PodId, NodeId)>,
    /// The API client's token bucket (`timing.client`), made on the first bind.
    client_bucket: Option<TokenBucket>,
    binding_timer_pending: bool,
    schedule_pending: bool,
    backoff_flush_pending: bool,
    unschedulable_flush_pending: bool,
}

impl SchedulerComponent {
    pub fn new(scheduler: Scheduler) -> Self {
        SchedulerComponent {
            scheduler,
            queue: SchedulingQueue::new(),
            explain_pod: None,
            explained: None,
            explain_attempts: 0,
            preemption: PreemptionCounters::default(),
            timing: SchedulerTiming::ZERO,
            in_flight: None,
            binding: VecDeque::new(),
            client_bucket: None,
            binding_timer_pending: false,
            schedule_pending: false,
            backoff_flush_pending: false,
            unschedulable_flush_pending: false,
        }
    }

    /// The informers' handlers.
    pub fn on_changes(
        &mut self,
        changes: &[Change],
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let now = ctx.now();
        let mut requeue_all = false;
        for c in changes {
            match (c.kind, c.op) {
                (ObjectKind::Pod, Op::Added | Op::Modified) => {
                    let pod = PodId(c.id);
                    let r = api.store.pod(pod);
                    if !r.is_active() || r.node.is_some() || r.deletion_timestamp.is_some() {
                        continue;
                    }
                    // Upstream PreEnqueue (SchedulingGates): a pod a profile's PreEnqueue
                    // plugin rejects waits outside the queue until it changes.
                    if !self.scheduler.pre_enqueue(&r.pod).is_success() {
                        continue;
                    }
                    if c.op == Op::Modified {
                        // Only a pod not yet in the queue needs adding (gates removed).
                        if self.queue.contains(pod) {
                            continue;
                        }
                    }
                    if !self.scheduler.has_profile(&r.pod.scheduler_name) {
                        if c.op == Op::Added {
                            // Upstream: no scheduler claims the pod, so it stays Pending.
                            let (object, name) =
                                (format!("pod/{}", r.pod.name), r.pod.scheduler_name.clone());
                            api.record(
                                now,
                                EventType::Warning,
                                "NoScheduler",
                                object,
                                format!(
                                    "no scheduler profile named {name:?}: the pod stays Pending"
                                ),
                            );
                        }
                        continue;
                    }
                    let priority = r.pod.priority;
                    self.queue.add(pod, priority, now);
                }
                (ObjectKind::Pod, Op::Deleted) => {
                    let pod = PodId(c.id);
                    self.queue.forget(pod);
                    // Upstream: AssignedPodDelete moves unschedulable pods back.
                    if api.store.pod(pod).node.is_some() {
                        requeue_all = true;
                    }
                }
                (ObjectKind::Node, Op::Added | Op::Modified) => {
                    // NodeAdd / NodeUpdate (e.g. uncordon): unschedulable pods may fit now.
                    requeue_all = true;
                }
                (
                    ObjectKind::PersistentVolumeClaim | ObjectKind::PersistentVolume,
                    Op::Added | Op::Modified,
                ) => {
                    // VolumeBinding's EventsToRegister: a claim created or bound, or a volume
                    // made, may let a pod waiting on its volumes fit.
                    requeue_all = true;
                }
                _ => {}
            }
        }
        if requeue_all {
            self.queue.move_all_to_active_or_backoff(now);
        }
        self.wake(ctx);
    }

    pub fn handle(
        &mut self,
        event: SchedulerEvent,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        match event {
            SchedulerEvent::ScheduleNext => self.schedule_next(api, ctx),
            SchedulerEvent::FlushBackoff => {
                self.backoff_flush_pending = false;
                self.queue.flush_backoff_completed(ctx.now());
            }
            SchedulerEvent::FlushUnschedulable => {
                self.unschedulable_flush_pending = false;
                self.queue.flush_unschedulable_leftover(ctx.now());
            }
            SchedulerEvent::BindingDone => {
                self.binding_timer_pending = false;
                self.finish_bindings(api, ctx);
            }
        }
        self.wake(ctx);
    }

    fn wake(&mut self, ctx: &mut Context<'_, Event>) {
        if !self.schedule_pending {
            if let Some(c) = &self.in_flight {
                // The next cycle starts when this one's cost has elapsed.
                self.schedule_pending = true;
                ctx.schedule_at(c.ends, Event::Scheduler(SchedulerEvent::ScheduleNext));
            } else if self.queue.active_len() > 0 {
                self.schedule_pending = true;
                ctx.schedule(
                    SimDuration::ZERO,
                    Event::Scheduler(SchedulerEvent::ScheduleNext),
                );
            }
        }
        if !self.binding_timer_pending
            && let Some(&(at, _, _)) = self.binding.front()
        {
            self.binding_timer_pending = true;
            ctx.schedule_at(at, Event::Scheduler(SchedulerEvent::BindingDone));
        }
        if !self.backoff_flush_pending && self.queue.backoff_len() > 0 {
            self.backoff_flush_pending = true;
            ctx.schedule_at(
                next_tick(ctx.now(), BACKOFF_FLUSH_PERIOD),
                Event::Scheduler(SchedulerEvent::FlushBackoff),
            );
        }
        if !self.unschedulable_flush_pending && self.queue.unschedulable_len() > 0 {
            self.unschedulable_flush_pending = true;
            ctx.schedule_at(
                next_tick(ctx.now(), UNSCHEDULABLE_FLUSH_PERIOD),
                Event::Scheduler(SchedulerEvent::FlushUnschedulable),
            );
        }
    }

    fn schedule_next(&mut self, api: &mut ApiServer, ctx: &mut Context<'_, Event>) {
        self.schedule_pending = false;
        if let Some(c) = self.in_flight.take() {
            if c.ends > ctx.now() {
                // A stray wake-up: the cycle's own timer is still armed.
                self.in_flight = Some(c);
                self.schedule_pending = true;
                return;
            }
            self.finish_cycle(api, ctx, c);
        }
        let Some(pod_id) = self.queue.pop() else {
            return;
        };
        let now = ctx.now();
        let record = api.store.pod(pod_id);
        if !record.is_active() || record.node.is_some() || record.deletion_timestamp.is_some() {
            // Upstream `skipPodSchedule`: deleted or already assigned meanwhile.
            self.queue.forget(pod_id);
            return;
        }
        let explain = self.explain_pod.as_deref().is_some_and(|want| {
            let p = &record.pod;
            p.name == want || p.key() == want
        });
        let result =
            self.scheduler
                .schedule_one(&record.pod, &api.store, ctx.rng("scheduler"), explain);
        api.counters.scheduling_attempts += 1;
        let cost = self
            .timing
            .cost
            .cycle(result.evaluated_nodes, nodes_scored(result.feasible_nodes));
        let cycle = InFlight {
            pod: pod_id,
            started: now,
            ends: now.saturating_add(cost),
            explain,
            result,
        };
        if cost.is_zero() {
            self.finish_cycle(api, ctx, cycle);
        } else {
            self.in_flight = Some(cycle);
        }
    }

    /// Writes a cycle's result once its cost has elapsed.
    fn finish_cycle(&mut self, api: &mut ApiServer, ctx: &mut Context<'_, Event>, c: InFlight) {
        let InFlight {
            pod: pod_id,
            started,
            explain,
            result,
            ..
        } = c;
        let now = ctx.now();
        if now > started {
            // The pod may have gone, been bound or started terminating while its cycle ran:
            // upstream's bind would fail or its status update be dropped.
            let r = api.store.pod(pod_id);
            if !r.is_active() || r.node.is_some() || r.deletion_timestamp.is_some() {
                self.queue.forget(pod_id);
                return;
            }
        }
        match result.selected {
            Some(node) if !api.store.node(node).exists => {
                // The node went while the cycle ran: the bind is refused and retried.
                self.queue.add_after_error(pod_id, now);
                let object = format!("pod/{}", api.store.pod(pod_id).pod.name);
                let message = format!(
                    "Binding rejected: node {:?} not found",
                    api.store.node(node).name()
                );
                api.record(now, EventType::Warning, "FailedScheduling", object, message);
            }
            Some(node) => self.bind(api, ctx, pod_id, node),
            None => {
                api.counters.failed_scheduling += 1;
                self.queue.add_unschedulable(pod_id, now);
                let message = result
                    .message
                    .clone()
                    .unwrap_or_else(|| "no nodes available".into());
                let object = format!("pod/{}", api.store.pod(pod_id).pod.name);
                api.record(now, EventType::Warning, "FailedScheduling", object, message);
                self.apply_post_filter(api, ctx, pod_id, &result);
            }
        }
        if explain {
            self.explain_attempts += 1;
            self.explained = Some(ExplainedAttempt {
                pod: pod_id,
                at: started,
                attempt: self.explain_attempts,
                result,
            });
        }
    }

    fn bind(
        &mut self,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
        pod: PodId,
        node: NodeId,
    ) {
        let now = ctx.now();
        if let Err(e) = self.pre_bind(api, ctx, pod, node) {
            self.queue.add_after_error(pod, now);
            let object = format!("pod/{}", api.store.pod(pod).pod.name);
            api.record(
                now,
                EventType::Warning,
                "FailedScheduling",
                object,
                format!("running PreBind plugin \"VolumeBinding\": {e}"),
            );
            return;
        }
        // The bind request waits for the client's rate limiter (in the binding goroutine, so
        // the next scheduling cycle does not wait with it).
        let goes = match self.timing.client {
            Some(limit) => self
                .client_bucket
                .get_or_insert_with(|| TokenBucket::new(limit))
                .reserve(now),
            None => now,
        };
        match api.bind_after(ctx, pod, node, goes.since(now)) {
            Ok(()) => {
                self.queue.forget(pod);
                let done = goes.saturating_add(self.timing.binding_latency);
                if done == now {
                    record_scheduled(api, pod, node, now);
                } else {
                    self.binding.push_back((done, pod, node));
                }
            }
            Err(e) => {
                // Upstream `handleBindingCycleError`: an error, not a verdict: the pod goes to
                // the backoff queue and is retried when its backoff expires.
                self.queue.add_after_error(pod, now);
                let object = format!("pod/{}", api.store.pod(pod).pod.name);
                api.record(
                    now,
                    EventType::Warning,
                    "FailedScheduling",
                    object,
                    format!("Binding rejected: {e}"),
                );
            }
        }
    }

    /// Binds whose latency has elapsed: the pod counts as scheduled now (its scheduled time
    /// and the `Scheduled` event), unless it left its node meanwhile.
    fn finish_bindings(&mut self, api: &mut ApiServer, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        while let Some(&(at, pod, node)) = self.binding.front() {
            if at > now {
                break;
            }
            self.binding.pop_front();
            let r = api.store.pod_mut(pod);
            if r.node != Some(node) || !r.is_active() {
                continue;
            }
            r.scheduled_at = Some(now);
            record_scheduled(api, pod, node, now);
        }
    }

    /// VolumeBinding's PreBind (upstream `BindPodVolumes`): binds the static volumes chosen for
    /// the pod's WaitForFirstConsumer claims and hands the others to the provisioner with the
    /// chosen node. Nothing for a pod without such claims.
    fn pre_bind(
        &mut self,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
        pod: PodId,
        node: NodeId,
    ) -> Result<(), crate::apiserver::ApiError> {
        let r = api.store.pod(pod);
        if r.pod.volumes.is_empty() {
            return Ok(());
        }
        let actions =
            volume_binding::pre_bind_actions(&r.pod, api.store.node(node), &api.store.storage);
        let node_name = api.store.node(node).name().to_string();
        for action in actions {
            match action {
                VolumeAction::Bind(claim, volume) => api.bind_claim(ctx, claim, volume)?,
                VolumeAction::SelectNode(claim) => {
                    api.select_node_for_claim(ctx, claim, &node_name)?;
                }
            }
        }
        Ok(())
    }

    /// Upstream `Evaluator.prepareCandidate` and the status update in
    /// `handleSchedulingFailure`: the victims are deleted gracefully (they keep their node's
    /// resources until their kubelet has stopped them), `Preempted` events are recorded,
    /// lower-priority pods nominated to the node lose their nomination, and the preemptor gets
    /// its `nominatedNodeName` and waits, unschedulable, for the victims to go.
    fn apply_post_filter(
        &mut self,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
        preemptor: PodId,
        result: &ScheduleResult,
    ) {
        let now = ctx.now();
        if result.clear_nomination {
            let _ = api.set_nominated_node(ctx, preemptor, None);
        }
        let Some(node) = result.nominated_node else {
            return;
        };
        self.preemption.preemptions += 1;
        let (key, priority) = {
            let p = &api.store.pod(preemptor).pod;
            (p.key(), p.priority)
        };
        let node_name = api.store.node(node).name().to_string();
        for &victim in &result.victims {
            let r = api.store.pod(victim);
            // "Graceful pod deletion has already started. Sending another API call is
            // unnecessary."
            if r.deletion_timestamp.is_some() || !r.is_active() {
                continue;
            }
            let object = format!("pod/{}", r.pod.name);
            api.mark_preempted(victim);
            if api.delete_pod(ctx, victim).is_err() {
                continue;
            }
            self.preemption.victims += 1;
            // Upstream: Eventf(victim, preemptor, Normal, "Preempted", "Preempting",
            // "Preempted by pod %v on node %v", preemptor.UID, c.Name()); kubesim has no
            // UIDs, so the preemptor is named by namespace/name.
            api.record(
                now,
                EventType::Normal,
                "Preempted",
                object,
                format!("Preempted by pod {key} on node {node_name}"),
            );
        }
        // "Lower priority pods nominated to run on this node, may no longer fit on this node.
        // So, we should remove their nomination."
        let lower: Vec<PodId> = api
            .store
            .nominated_pods(node)
            .iter()
            .copied()
            .filter(|&p| api.store.pod(p).pod.priority < priority)
            .collect();
        for p in lower {
            let _ = api.set_nominated_node(ctx, p, None);
        }
        let _ = api.set_nominated_node(ctx, preemptor, Some(node));
    }

    /// The last recorded explanation, if the pod asked about was attempted.
    pub fn explanation(&self) -> Option<(&ExplainedAttempt, Option<&Explanation>)> {
        self.explained
            .as_ref()
            .map(|e| (e, e.result.explanation.as_ref()))
    }
}

/// Upstream's event once a bind has succeeded.
fn record_scheduled(api: &mut ApiServer, pod: PodId, node: NodeId, now: SimTime) {
    let p = &api.store.pod(pod).pod;
    let message = format!(
        "Successfully assigned {} to {}",
        p.key(),
        api.store.node(node).name()
    );
    let object = format!("pod/{}", p.name);
    api.record(now, EventType::Normal, "Scheduled", object, message);
}

/// The next multiple of `period` strictly after `now`: periodic flushes keep upstream's fixed
/// cadence instead of drifting with the time they were armed.
fn next_tick(now: SimTime, period: SimDuration) -> SimTime {
    let p = period.as_nanos().max(1);
    SimTime::from_nanos((now.as_nanos() / p).saturating_add(1).saturating_mul(p))
}
