//! The watch log: every committed change, in resourceVersion order, and one cursor per
//! watcher. A watcher has at most one pending delivery event; a delivery hands over every
//! change that has been committed for at least the watcher's latency.

use std::collections::VecDeque;

use sim_core::{Context, SimDuration, SimTime};

use super::ControlPlaneTiming;
use crate::cluster::Event;

/// The kinds of object the API server stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ObjectKind {
    Pod,
    Node,
    ReplicaSet,
    Deployment,
    PodDisruptionBudget,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
    PersistentVolumeClaim,
    PersistentVolume,
    /// A node's Lease (`kube-node-lease`): its renewals started or stopped.
    Lease,
    HorizontalPodAutoscaler,
    Service,
    EndpointSlice,
    Ingress,
    HTTPRoute,
}

impl ObjectKind {
    const fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// What a change did, as an informer's handlers tell it apart (add, update, delete), with the
/// updates that matter to more than one watcher named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Added,
    /// Any update not named below (status, spec, labels, ownerReferences).
    Modified,
    /// A pod was bound to a node (`spec.nodeName` set through the binding subresource).
    Bound,
    /// Graceful deletion started: `metadata.deletionTimestamp` is set.
    Deleting,
    /// The object is gone.
    Deleted,
}

/// One committed write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub resource_version: u64,
    /// When the write committed.
    pub at: SimTime,
    pub kind: ObjectKind,
    /// Index of the object (`PodId`, `NodeId`, `WorkloadId` or PDB index).
    pub id: u32,
    pub op: Op,
    /// For ReplicaSets: `spec.replicas` as written by this change. Informers cache objects as
    /// they were at each change; this is the one field a controller acts on that another
    /// writes, so the change carries it (see `ReplicaSetController`).
    pub replicas: i32,
}

/// The components that watch. Each has one cursor and at most one pending delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subscriber {
    Scheduler,
    ReplicaSetController,
    DeploymentController,
    GarbageCollector,
    DisruptionController,
    Kubelet,
    StatefulSetController,
    DaemonSetController,
    JobController,
    CronJobController,
    /// The persistent-volume controller: binds claims and provisions volumes.
    VolumeController,
    PodGarbageCollector,
    /// The node lifecycle controller: Ready=Unknown and the `not-ready`/`unreachable` taints.
    NodeLifecycleController,
    /// The taint eviction controller: deletes pods from nodes with NoExecute taints.
    TaintEvictionController,
    /// The horizontal pod autoscaler: syncs each HPA every sync period.
    HorizontalPodAutoscalerController,
    /// The EndpointSlice controller: publishes the pods each Service selects.
    EndpointSliceController,
    /// kube-proxy: learns Services and their EndpointSlices.
    Proxy,
}

impl Subscriber {
    pub const ALL: [Subscriber; 17] = [
        Subscriber::Scheduler,
        Subscriber::ReplicaSetController,
        Subscriber::DeploymentController,
        Subscriber::GarbageCollector,
        Subscriber::DisruptionController,
        Subscriber::Kubelet,
        Subscriber::StatefulSetController,
        Subscriber::DaemonSetController,
        Subscriber::JobController,
        Subscriber::CronJobController,
        Subscriber::VolumeController,
        Subscriber::PodGarbageCollector,
        Subscriber::NodeLifecycleController,
        Subscriber::TaintEvictionController,
        Subscriber::HorizontalPodAutoscalerController,
        Subscriber::EndpointSliceController,
        Subscriber::Proxy,
    ];

    /// The kind whose first object wakes a dormant watcher up. A controller with nothing of
    /// its kind to manage has nothing to do with the pods and nodes it also watches (it
    /// adopts what exists when its first object arrives, by reading the store), so it does
    /// not take deliveries until then: runs without StatefulSets cost nothing for the
    /// StatefulSet controller.
    fn wakes_on(self) -> Option<(ObjectKind, Op)> {
        match self {
            Subscriber::StatefulSetController => Some((ObjectKind::StatefulSet, Op::Added)),
            Subscriber::DaemonSetController => Some((ObjectKind::DaemonSet, Op::Added)),
            Subscriber::JobController => Some((ObjectKind::Job, Op::Added)),
            Subscriber::CronJobController => Some((ObjectKind::CronJob, Op::Added)),
            Subscriber::VolumeController => Some((ObjectKind::PersistentVolumeClaim, Op::Added)),
            // Only a node that goes leaves pods behind.
            Subscriber::PodGarbageCollector => Some((ObjectKind::Node, Op::Deleted)),
            // Nothing to do while every kubelet renews its Lease.
            Subscriber::NodeLifecycleController => Some((ObjectKind::Lease, Op::Modified)),
            // The NoExecute taints it acts on come from the node lifecycle controller, after a
            // Lease stopped being renewed.
            Subscriber::TaintEvictionController => Some((ObjectKind::Lease, Op::Modified)),
            Subscriber::HorizontalPodAutoscalerController => {
                Some((ObjectKind::HorizontalPodAutoscaler, Op::Added))
            }
            // Woken by the first Service with a selector (`ApiServer::create_network`), which
            // is the first change it takes: a Service without one gives it nothing to do.
            Subscriber::EndpointSliceController => Some((ObjectKind::EndpointSlice, Op::Added)),
            // Every Service is a route, with or without endpoints.
            Subscriber::Proxy => Some((ObjectKind::Service, Op::Added)),
            _ => None,
        }
    }

    /// The kinds each component's informers list and watch.
    fn kinds(self) -> u32 {
        use ObjectKind::*;
        match self {
            Subscriber::Scheduler => {
                Pod.bit() | Node.bit() | PersistentVolumeClaim.bit() | PersistentVolume.bit()
            }
            Subscriber::ReplicaSetController => Pod.bit() | ReplicaSet.bit(),
            Subscriber::DeploymentController => Pod.bit() | ReplicaSet.bit() | Deployment.bit(),
            Subscriber::GarbageCollector => {
                Pod.bit()
                    | ReplicaSet.bit()
                    | Deployment.bit()
                    | StatefulSet.bit()
                    | DaemonSet.bit()
                    | Job.bit()
                    | CronJob.bit()
            }
            Subscriber::DisruptionController => Pod.bit() | PodDisruptionBudget.bit(),
            Subscriber::Kubelet => Pod.bit() | PersistentVolumeClaim.bit(),
            Subscriber::StatefulSetController => {
                Pod.bit() | StatefulSet.bit() | PersistentVolumeClaim.bit()
            }
            Subscriber::DaemonSetController => Pod.bit() | Node.bit() | DaemonSet.bit(),
            Subscriber::JobController => Pod.bit() | Job.bit(),
            Subscriber::CronJobController => Job.bit() | CronJob.bit(),
            Subscriber::VolumeController => {
                Pod.bit() | PersistentVolumeClaim.bit() | PersistentVolume.bit()
            }
            Subscriber::PodGarbageCollector => Node.bit(),
            Subscriber::NodeLifecycleController => Node.bit() | Lease.bit() | Pod.bit(),
            Subscriber::TaintEvictionController => Node.bit() | Pod.bit(),
            Subscriber::HorizontalPodAutoscalerController => HorizontalPodAutoscaler.bit(),
            Subscriber::EndpointSliceController => Pod.bit() | Service.bit(),
            Subscriber::Proxy => Service.bit() | EndpointSlice.bit() | Node.bit(),
        }
    }

    /// The random stream its watch latencies are drawn from.
    fn stream(self) -> &'static str {
        match self {
            Subscriber::Scheduler => "watch/scheduler",
            Subscriber::ReplicaSetController => "watch/replicaset-controller",
            Subscriber::DeploymentController => "watch/deployment-controller",
            Subscriber::GarbageCollector => "watch/garbage-collector",
            Subscriber::DisruptionController => "watch/disruption-controller",
            Subscriber::Kubelet => "watch/kubelet",
            Subscriber::StatefulSetController => "watch/statefulset-controller",
            Subscriber::DaemonSetController => "watch/daemonset-controller",
            Subscriber::JobController => "watch/job-controller",
            Subscriber::CronJobController => "watch/cronjob-controller",
            Subscriber::VolumeController => "watch/persistentvolume-controller",
            Subscriber::PodGarbageCollector => "watch/pod-garbage-collector",
            Subscriber::NodeLifecycleController => "watch/node-lifecycle-controller",
            Subscriber::TaintEvictionController => "watch/taint-eviction-controller",
            Subscriber::HorizontalPodAutoscalerController => "watch/horizontal-pod-autoscaler",
            Subscriber::EndpointSliceController => "watch/endpointslice-controller",
            Subscriber::Proxy => "watch/kube-proxy",
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Cursor {
    /// resourceVersion of the next change this watcher has not consumed.
    next: u64,
    /// The latency drawn for the pending delivery, if one is pending.
    pending: Option<SimDuration>,
    /// Not yet woken (see [`Subscriber::wakes_on`]): changes pass it by.
    dormant: bool,
}

#[derive(Debug)]
pub struct WatchLog {
    changes: VecDeque<Change>,
    /// resourceVersion of `changes[0]`.
    base: u64,
    last: u64,
    last_at: SimTime,
    cursors: [Cursor; Subscriber::ALL.len()],
}

impl Default for WatchLog {
    fn default() -> Self {
        WatchLog {
            changes: VecDeque::new(),
            base: 1,
            last: 0,
            last_at: SimTime::ZERO,
            cursors: Subscriber::ALL.map(|s| Cursor {
                next: 1,
                pending: None,
                dormant: s.wakes_on().is_some(),
            }),
        }
    }
}

impl WatchLog {
    pub fn resource_version(&self) -> u64 {
        self.last
    }

    #[allow(clippy::too_many_arguments)] // one change's fields, passed once
    pub(super) fn append(
        &mut self,
        ctx: &mut Context<'_, Event>,
        at: SimTime,
        kind: ObjectKind,
        id: u32,
        op: Op,
        replicas: i32,
        timing: &ControlPlaneTiming,
    ) {
        // The log is in commit order: a write never commits before the one made before it.
        let at = at.max(self.last_at);
        self.last_at = at;
        self.last += 1;
        self.changes.push_back(Change {
            resource_version: self.last,
            at,
            kind,
            id,
            op,
            replicas,
        });
        for s in Subscriber::ALL {
            let c = &mut self.cursors[s as usize];
            if c.dormant && s.wakes_on() == Some((kind, op)) {
                // Woken by its first object: deliveries start with this change.
                c.dormant = false;
                c.next = self.last;
            }
            if c.pending.is_some() {
                continue;
            }
            if c.dormant || s.kinds() & kind.bit() == 0 {
                // Caught up (no delivery pending) and not interested: skip it now, so the log
                // can be trimmed past it.
                c.next = self.last + 1;
                continue;
            }
            let lag = draw(timing, ctx, s);
            c.pending = Some(lag);
            ctx.schedule_at(at.saturating_add(lag).max(ctx.now()), Event::Watch(s));
        }
    }

    /// Wakes a dormant watcher for something other than its first object: deliveries start
    /// with the next change.
    pub(super) fn wake(&mut self, s: Subscriber) {
        let c = &mut self.cursors[s as usize];
        if c.dormant {
            c.dormant = false;
            c.next = self.last + 1;
        }
    }

    pub(super) fn deliver(
        &mut self,
        ctx: &mut Context<'_, Event>,
        s: Subscriber,
        timing: &ControlPlaneTiming,
        out: &mut Vec<Change>,
    ) {
        let now = ctx.now();
        let c = self.cursors[s as usize];
        let Some(lag) = c.pending else {
            return;
        };
        let mut next = c.next;
        let mut rearm = None;
        while next <= self.last {
            let change = self.changes[(next - self.base) as usize];
            if s.kinds() & change.kind.bit() == 0 {
                next += 1;
                continue;
            }
            if change.at.saturating_add(lag) > now {
                rearm = Some(change.at);
                break;
            }
            out.push(change);
            next += 1;
        }
        let c = &mut self.cursors[s as usize];
        c.next = next;
        c.pending = None;
        if let Some(at) = rearm {
            let lag = draw(timing, ctx, s);
            c.pending = Some(lag);
            ctx.schedule_at(at.saturating_add(lag).max(now), Event::Watch(s));
        }
        self.trim();
    }

    /// Drops the changes every watcher has consumed.
    fn trim(&mut self) {
        let oldest = self
            .cursors
            .iter()
            .map(|c| c.next)
            .min()
            .unwrap_or(self.last + 1);
        while self.base < oldest && !self.changes.is_empty() {
            self.changes.pop_front();
            self.base += 1;
        }
    }
}

fn draw(timing: &ControlPlaneTiming, ctx: &mut Context<'_, Event>, s: Subscriber) -> SimDuration {
    let l = timing.watch_latency;
    if l.hi > l.lo {
        l.draw(ctx.rng(s.stream()))
    } else {
        l.lo
    }
}
