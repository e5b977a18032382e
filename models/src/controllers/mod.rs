//! Controllers, one upstream controller per file, shaped like upstream's `pkg/controller`:
//! an informer's changes map to keys in a rate-limited work queue, and `sync(key)` reads the
//! API server, writes the difference and may ask to be requeued.

pub mod controller_utils;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod disruption;
pub mod endpointslice;
pub mod garbage_collector;
pub mod hpa;
pub mod job;
pub mod names;
pub mod node_lifecycle;
pub mod podgc;
pub mod replicaset;
pub mod statefulset;
pub mod taint_eviction;
pub mod volume;
pub mod workqueue;

use std::fmt::Debug;

use sim_core::{Context, SimDuration, SimTime};

use crate::apiserver::{ApiServer, Change};
use crate::cluster::Event;
use workqueue::WorkQueue;

pub use cronjob::controller::CronJobController;
pub use daemonset::controller::DaemonSetController;
pub use deployment::DeploymentController;
pub use disruption::DisruptionController;
pub use endpointslice::EndpointSliceController;
pub use garbage_collector::GarbageCollector;
pub use hpa::controller::HorizontalPodAutoscalerController;
pub use job::controller::JobController;
pub use node_lifecycle::NodeLifecycleController;
pub use podgc::PodGarbageCollector;
pub use replicaset::ReplicaSetController;
pub use statefulset::controller::StatefulSetController;
pub use taint_eviction::TaintEvictionController;
pub use volume::VolumeController;

/// The controllers of the controller manager, each with its own work queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ControllerId {
    ReplicaSet,
    Deployment,
    GarbageCollector,
    Disruption,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
    PersistentVolume,
    PodGarbageCollector,
    NodeLifecycle,
    TaintEviction,
    HorizontalPodAutoscaler,
    EndpointSlice,
}

/// What one `sync(key)` asks of its queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncOutcome {
    /// Done: the key's failures are forgotten.
    Done,
    /// Done for now; look again after this long (upstream `AddAfter`).
    RequeueAfter(SimDuration),
    /// Failed (e.g. the API server is unavailable): requeue with the rate limiter's backoff.
    Failed,
}

/// A controller's logic: which keys a change concerns, and how to sync one key.
pub trait Reconciler {
    type Key: Ord + Copy + Debug;

    /// The informer's event handlers: map a delivered change to keys (and update
    /// expectations).
    fn on_change(
        &mut self,
        change: &Change,
        api: &ApiServer,
        now: SimTime,
        enqueue: &mut dyn FnMut(Self::Key),
    );

    fn sync(
        &mut self,
        key: Self::Key,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> SyncOutcome;

    /// A new leader of the controller manager took over: upstream's controllers start afresh
    /// in the new process (informers re-list, queues and timers are new). Controllers whose
    /// decisions depend on in-memory timers override this to forget them and re-list;
    /// level-triggered ones need nothing (held watch deliveries bring them up to date).
    fn restart(&mut self, _api: &ApiServer, _now: SimTime, _enqueue: &mut dyn FnMut(Self::Key)) {}
}

/// A reconciler with its work queue: the generic half of every controller.
pub struct Runner<R: Reconciler> {
    pub id: ControllerId,
    pub reconciler: R,
    queue: WorkQueue<R::Key>,
    armed: Option<SimTime>,
    /// Keys synced so far (for benchmarks and reports).
    pub syncs: u64,
}

impl<R: Reconciler> Runner<R> {
    pub fn new(id: ControllerId, reconciler: R) -> Self {
        Runner {
            id,
            reconciler,
            queue: WorkQueue::default(),
            armed: None,
            syncs: 0,
        }
    }

    /// A watch delivery: enqueue the keys the changes concern.
    pub fn on_changes(
        &mut self,
        changes: &[Change],
        api: &ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let now = ctx.now();
        let queue = &mut self.queue;
        for c in changes {
            self.reconciler
                .on_change(c, api, now, &mut |k| queue.add(k));
        }
        self.arm(ctx);
    }

    /// A new controller-manager leader: the controller's queue (with its delayed keys) is
    /// new, and the controller re-lists what it needs.
    pub fn restart(&mut self, api: &ApiServer, ctx: &mut Context<'_, Event>) {
        self.queue = WorkQueue::default();
        let queue = &mut self.queue;
        self.reconciler
            .restart(api, ctx.now(), &mut |k| queue.add(k));
        self.arm(ctx);
    }

    /// Enqueues a key directly (resync, or objects present at start).
    pub fn enqueue(&mut self, key: R::Key, ctx: &mut Context<'_, Event>) {
        self.queue.add(key);
        self.arm(ctx);
    }

    /// The workers: sync every key that is ready now, once each.
    pub fn reconcile(&mut self, api: &mut ApiServer, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        if self.armed.is_some_and(|t| t <= now) {
            self.armed = None;
        }
        self.queue.promote_ready(now);
        for _ in 0..self.queue.len() {
            let Some(key) = self.queue.get() else { break };
            self.syncs += 1;
            match self.reconciler.sync(key, api, ctx) {
                SyncOutcome::Done => self.queue.forget(key),
                SyncOutcome::RequeueAfter(d) => {
                    self.queue.forget(key);
                    self.queue.add_after(key, now, d);
                }
                SyncOutcome::Failed => self.queue.add_rate_limited(key, now),
            }
            self.queue.done(key);
        }
        self.arm(ctx);
    }

    fn arm(&mut self, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let at = if self.queue.is_empty() {
            match self.queue.next_ready_time() {
                Some(t) => t.max(now),
                None => return,
            }
        } else {
            now
        };
        if self.armed.is_some_and(|t| t <= at) {
            return;
        }
        self.armed = Some(at);
        ctx.schedule_at(at, Event::Reconcile(self.id));
    }
}
