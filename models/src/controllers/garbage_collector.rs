//! Garbage collector (upstream `pkg/controller/garbagecollector`): deletes the dependents of
//! owners that are gone, following the deletion's propagation policy.
//! - Background: the owner went at once; its dependents are deleted now.
//! - Foreground: the owner waits (deletionTimestamp + `foregroundDeletion` finalizer) while its
//!   dependents are deleted with foreground propagation; it goes once none is left.
//! - Orphan: its dependents lose their ownerReference; then the owner goes.

use sim_core::{Context, SimTime};

use super::{Reconciler, SyncOutcome};
use crate::api::{CronJob, DaemonSet, Job, OwnerKind, PodId, StatefulSet, WorkloadId};
use crate::apiserver::{ApiServer, Change, ObjectKind, Op, Workload};
use crate::cluster::Event;
use crate::scenario::Propagation;

/// An owner the collector looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Owner {
    ReplicaSet(WorkloadId),
    Deployment(WorkloadId),
    /// A StatefulSet, DaemonSet, Job or CronJob.
    Object(OwnerKind, WorkloadId),
}

/// The watch kind of a generic owner kind.
fn owner_kind_of(kind: ObjectKind) -> Option<OwnerKind> {
    match kind {
        ObjectKind::StatefulSet => Some(OwnerKind::StatefulSet),
        ObjectKind::DaemonSet => Some(OwnerKind::DaemonSet),
        ObjectKind::Job => Some(OwnerKind::Job),
        ObjectKind::CronJob => Some(OwnerKind::CronJob),
        _ => None,
    }
}

/// Whether the generic object `(kind, id)` waits in foreground deletion for its dependents.
fn waits_in_foreground(api: &ApiServer, kind: OwnerKind, id: WorkloadId) -> bool {
    let f = |d: bool, fg: bool| fg && !d;
    match kind {
        OwnerKind::StatefulSet => api
            .stateful_sets
            .get(id)
            .is_some_and(|o| f(o.deleted, o.foreground)),
        OwnerKind::DaemonSet => api
            .daemon_sets
            .get(id)
            .is_some_and(|o| f(o.deleted, o.foreground)),
        OwnerKind::Job => api.jobs.get(id).is_some_and(|o| f(o.deleted, o.foreground)),
        OwnerKind::CronJob => api
            .cron_jobs
            .get(id)
            .is_some_and(|o| f(o.deleted, o.foreground)),
        _ => false,
    }
}

#[derive(Default)]
pub struct GarbageCollector {}

impl Reconciler for GarbageCollector {
    type Key = Owner;

    fn on_change(
        &mut self,
        change: &Change,
        api: &ApiServer,
        _now: SimTime,
        enqueue: &mut dyn FnMut(Owner),
    ) {
        match (change.kind, change.op) {
            (ObjectKind::ReplicaSet, Op::Deleted | Op::Deleting) => {
                let id = WorkloadId(change.id);
                enqueue(Owner::ReplicaSet(id));
                // A dependent of an owner waiting in foreground deletion went.
                if let Some(o) = &api.replica_set(id).rs.owner
                    && api
                        .deployments
                        .get(o.id.index())
                        .is_some_and(|d| d.foreground && !d.deleted)
                {
                    enqueue(Owner::Deployment(o.id));
                }
            }
            (ObjectKind::Deployment, Op::Deleted | Op::Deleting) => {
                enqueue(Owner::Deployment(WorkloadId(change.id)));
            }
            (ObjectKind::Pod, Op::Deleted) => {
                if let Some(o) = &api.store.pod(PodId(change.id)).pod.owner {
                    if o.kind.is_replica_set() {
                        if api
                            .replica_sets
                            .get(o.id.index())
                            .is_some_and(|rs| rs.foreground && !rs.deleted)
                        {
                            enqueue(Owner::ReplicaSet(o.id));
                        }
                    } else if waits_in_foreground(api, o.kind, o.id) {
                        enqueue(Owner::Object(o.kind, o.id));
                    }
                }
            }
            (kind, Op::Deleted | Op::Deleting) if owner_kind_of(kind).is_some() => {
                let id = WorkloadId(change.id);
                let Some(owner_kind) = owner_kind_of(kind) else {
                    return;
                };
                enqueue(Owner::Object(owner_kind, id));
                // A Job of a CronJob waiting in foreground deletion went.
                if owner_kind == OwnerKind::Job
                    && let Some(c) = &api.object::<Job>(id).spec.owner
                    && waits_in_foreground(api, OwnerKind::CronJob, c.id)
                {
                    enqueue(Owner::Object(OwnerKind::CronJob, c.id));
                }
            }
            _ => {}
        }
    }

    fn sync(
        &mut self,
        key: Owner,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> SyncOutcome {
        let ok = match key {
            Owner::ReplicaSet(id) => sync_replica_set(id, api, ctx),
            Owner::Deployment(id) => sync_deployment(id, api, ctx),
            Owner::Object(kind, id) => match kind {
                OwnerKind::StatefulSet => sync_object::<StatefulSet>(id, api, ctx),
                OwnerKind::DaemonSet => sync_object::<DaemonSet>(id, api, ctx),
                OwnerKind::Job => sync_object::<Job>(id, api, ctx),
                OwnerKind::CronJob => sync_cron_job(id, api, ctx),
                _ => Ok(()),
            },
        };
        if ok.is_ok() {
            SyncOutcome::Done
        } else {
            SyncOutcome::Failed
        }
    }
}

fn sync_replica_set(
    id: WorkloadId,
    api: &mut ApiServer,
    ctx: &mut Context<'_, Event>,
) -> Result<(), ()> {
    let obj = api.replica_set(id);
    let pods: Vec<PodId> = obj
        .pods
        .iter()
        .copied()
        .filter(|p| api.store.pod(*p).is_active())
        .collect();
    let (deleted, foreground, orphan) = (obj.deleted, obj.foreground, obj.orphan);
    if deleted || foreground {
        for p in &pods {
            if api.store.pod(*p).deletion_timestamp.is_none() {
                api.delete_pod(ctx, *p).map_err(|_| ())?;
            }
        }
        if !deleted && pods.is_empty() {
            api.remove_replica_set(ctx, id);
        }
    } else if orphan {
        for p in pods {
            api.set_pod_owner(ctx, p, None).map_err(|_| ())?;
        }
        api.remove_replica_set(ctx, id);
    }
    Ok(())
}

fn sync_deployment(
    id: WorkloadId,
    api: &mut ApiServer,
    ctx: &mut Context<'_, Event>,
) -> Result<(), ()> {
    let obj = api.deployment(id);
    let (deleted, foreground, orphan) = (obj.deleted, obj.foreground, obj.orphan);
    let rss: Vec<WorkloadId> = obj
        .replica_sets
        .iter()
        .copied()
        .filter(|r| api.replica_set(*r).exists())
        .collect();
    if deleted || foreground {
        let policy = if foreground {
            Propagation::Foreground
        } else {
            Propagation::Background
        };
        for r in &rss {
            if api.replica_set(*r).deletion_timestamp.is_none() {
                api.delete_replica_set(ctx, *r, policy).map_err(|_| ())?;
            }
        }
        if !deleted && rss.is_empty() {
            api.remove_deployment(ctx, id);
        }
    } else if orphan {
        for r in rss {
            api.update_replica_set(ctx, r, |rs| rs.owner = None)
                .map_err(|_| ())?;
        }
        api.remove_deployment(ctx, id);
    }
    Ok(())
}

/// A StatefulSet, DaemonSet or Job: its dependents are pods.
fn sync_object<T: Workload>(
    id: WorkloadId,
    api: &mut ApiServer,
    ctx: &mut Context<'_, Event>,
) -> Result<(), ()> {
    let obj = api.object::<T>(id);
    let pods: Vec<PodId> = obj
        .pods
        .iter()
        .copied()
        .filter(|p| api.store.pod(*p).is_active())
        .collect();
    let (deleted, foreground, orphan) = (obj.deleted, obj.foreground, obj.orphan);
    if deleted || foreground {
        for p in &pods {
            if api.store.pod(*p).deletion_timestamp.is_none() {
                api.delete_pod(ctx, *p).map_err(|_| ())?;
            }
        }
        if !deleted && pods.is_empty() {
            api.remove_object::<T>(ctx, id);
        }
    } else if orphan {
        for p in pods {
            api.set_pod_owner(ctx, p, None).map_err(|_| ())?;
        }
        api.remove_object::<T>(ctx, id);
    }
    Ok(())
}

/// A CronJob: its dependents are Jobs.
fn sync_cron_job(
    id: WorkloadId,
    api: &mut ApiServer,
    ctx: &mut Context<'_, Event>,
) -> Result<(), ()> {
    let obj = api.object::<CronJob>(id);
    let (deleted, foreground, orphan) = (obj.deleted, obj.foreground, obj.orphan);
    let jobs: Vec<WorkloadId> = obj
        .dependents
        .iter()
        .copied()
        .filter(|j| api.object::<Job>(*j).exists())
        .collect();
    if deleted || foreground {
        let policy = if foreground {
            Propagation::Foreground
        } else {
            Propagation::Background
        };
        for j in &jobs {
            if api.object::<Job>(*j).deletion_timestamp.is_none() {
                api.delete_object::<Job>(ctx, *j, policy).map_err(|_| ())?;
            }
        }
        if !deleted && jobs.is_empty() {
            api.remove_object::<CronJob>(ctx, id);
        }
    } else if orphan {
        for j in jobs {
            api.update_object::<Job>(ctx, j, |job| job.owner = None)
                .map_err(|_| ())?;
        }
        api.remove_object::<CronJob>(ctx, id);
    }
    Ok(())
}
