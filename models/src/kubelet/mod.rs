//! The kubelets, one per node (their state is keyed by node): each watches the pods bound to
//! its node, starts them (image pull and container start take the workload's startup time)
//! and reports them Running and Ready, and stops pods being deleted, giving their containers
//! the whole `terminationGracePeriodSeconds` before the final delete.
//!
//! The seam for the kubelet issue: readiness is decided in [`Kubelets::readiness`] (today
//! "Ready once running", or never for `behaviour.<workload>.ready: never`); probes replace it.

use std::collections::BTreeSet;

use rand::Rng;
use sim_core::{Context, SimDuration};

use crate::api::{NodeId, PodId, PodPhase};
use crate::apiserver::{ApiError, ApiServer, Change, ObjectKind, Op};
use crate::cluster::Event;
use crate::events::EventType;
use crate::scenario::{Behaviour, WorkloadBehaviour};

/// A kubelet's own timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KubeletEvent {
    /// The pod's containers are up: report Running (and Ready).
    PodStarted(PodId),
    /// The pod's containers stopped after its deletion: the final delete.
    PodStopped(PodId),
}

/// Upstream `syncFrequency`-like retry of a status write the API server refused.
const STATUS_RETRY: SimDuration = SimDuration::from_secs(10);

#[derive(Default)]
pub struct Kubelets {
    pub behaviour: Behaviour,
    /// Pods a kubelet has admitted (start in progress or running).
    admitted: BTreeSet<PodId>,
    /// Pods a kubelet is stopping.
    stopping: BTreeSet<PodId>,
}

impl Kubelets {
    pub fn new(behaviour: Behaviour) -> Self {
        Kubelets {
            behaviour,
            ..Kubelets::default()
        }
    }

    /// The workload a pod belongs to, for `behaviour`: its Deployment, else its ReplicaSet,
    /// else the pod itself.
    fn workload_behaviour(&self, api: &ApiServer, pod: PodId) -> Option<&WorkloadBehaviour> {
        if self.behaviour.workloads.is_empty() {
            return None;
        }
        let p = &api.store.pod(pod).pod;
        let mut names = Vec::new();
        if let Some(o) = &p.owner
            && let Some(rs) = api.replica_sets.get(o.id.index())
        {
            if let Some(d) = &rs.rs.owner {
                names.push(d.name.as_str());
            }
            names.push(rs.rs.name.as_str());
        }
        names.push(p.name.as_str());
        names
            .into_iter()
            .find_map(|n| self.behaviour.workloads.get(n))
    }

    /// Whether the pod passes readiness once running.
    fn readiness(&self, api: &ApiServer, pod: PodId) -> bool {
        !self
            .workload_behaviour(api, pod)
            .is_some_and(|b| b.never_ready)
    }

    pub fn on_changes(
        &mut self,
        changes: &[Change],
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        for c in changes {
            if c.kind != ObjectKind::Pod {
                continue;
            }
            let pod = PodId(c.id);
            let r = api.store.pod(pod);
            let Some(node) = r.node else { continue };
            match c.op {
                Op::Added | Op::Bound | Op::Modified => {
                    if r.deletion_timestamp.is_some()
                        || r.phase != PodPhase::Pending
                        || !self.admitted.insert(pod)
                    {
                        continue;
                    }
                    self.start(api, ctx, node, pod);
                }
                Op::Deleting => {
                    if !self.stopping.insert(pod) {
                        continue;
                    }
                    // A pod whose containers never started stops at once; a running one gets
                    // its whole grace period (kubesim models containers that use it all).
                    let grace = if r.phase == PodPhase::Running {
                        u64::try_from(r.pod.termination_grace_period_seconds).unwrap_or(0)
                    } else {
                        0
                    };
                    let object = format!("pod/{}", r.pod.name);
                    api.record(
                        ctx.now(),
                        EventType::Normal,
                        "Killing",
                        object,
                        "Stopping container".into(),
                    );
                    ctx.schedule(
                        SimDuration::from_secs(grace),
                        Event::Kubelet(node, KubeletEvent::PodStopped(pod)),
                    );
                }
                Op::Deleted => {
                    self.admitted.remove(&pod);
                    self.stopping.remove(&pod);
                }
            }
        }
    }

    fn start(
        &mut self,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
        node: NodeId,
        pod: PodId,
    ) {
        let now = ctx.now();
        let r = api.store.pod(pod);
        let object = format!("pod/{}", r.pod.name);
        if let Some(image) = r
            .pod
            .images
            .iter()
            .find(|i| self.behaviour.failing_images.contains(*i))
            .cloned()
        {
            // The pull fails: ErrImagePull, then ImagePullBackOff; the pod stays Pending.
            api.record(
                now,
                EventType::Warning,
                "Failed",
                object.clone(),
                format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": not found"),
            );
            api.record(
                now,
                EventType::Warning,
                "Failed",
                object.clone(),
                "Error: ErrImagePull".into(),
            );
            api.record(
                now,
                EventType::Normal,
                "BackOff",
                object,
                format!("Back-off pulling image \"{image}\""),
            );
            return;
        }
        let (lo, hi) = self
            .workload_behaviour(api, pod)
            .and_then(|b| b.startup)
            .unwrap_or(self.behaviour.pod_startup);
        let stream = format!("kubelet/{}", api.store.node(node).name());
        let startup = if hi > lo {
            SimDuration::from_nanos(ctx.rng(&stream).random_range(lo.as_nanos()..=hi.as_nanos()))
        } else {
            lo
        };
        ctx.schedule(startup, Event::Kubelet(node, KubeletEvent::PodStarted(pod)));
    }

    pub fn handle(
        &mut self,
        node: NodeId,
        event: KubeletEvent,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let now = ctx.now();
        match event {
            KubeletEvent::PodStarted(pod) => {
                let r = api.store.pod(pod);
                if !r.is_active() || r.deletion_timestamp.is_some() || r.node != Some(node) {
                    return;
                }
                let ready = self.readiness(api, pod);
                match api.set_pod_running(ctx, pod, ready) {
                    Ok(()) => {
                        let object = format!("pod/{}", api.store.pod(pod).pod.name);
                        api.record(
                            now,
                            EventType::Normal,
                            "Started",
                            object,
                            "Started container".into(),
                        );
                    }
                    Err(ApiError::Unavailable) => {
                        ctx.schedule(
                            STATUS_RETRY,
                            Event::Kubelet(node, KubeletEvent::PodStarted(pod)),
                        );
                    }
                    Err(_) => {}
                }
            }
            KubeletEvent::PodStopped(pod) => match api.remove_pod(ctx, pod) {
                Ok(()) | Err(ApiError::NotFound) => {
                    self.stopping.remove(&pod);
                    self.admitted.remove(&pod);
                }
                Err(_) => {
                    ctx.schedule(
                        STATUS_RETRY,
                        Event::Kubelet(node, KubeletEvent::PodStopped(pod)),
                    );
                }
            },
        }
    }
}
