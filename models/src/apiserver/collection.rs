//! The workload kinds stored alike: StatefulSets, DaemonSets, Jobs and CronJobs. Each lives in a
//! [`Collection`] of [`Object`]s (spec, status, and the metadata the API server keeps), with
//! create, update, status, delete and remove written once for all of them.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::{Context, SimTime};

use super::{ApiError, ApiResult, ApiServer, ObjectKind, Op};
use crate::api::{
    CronJob, DaemonSet, Job, LabelSelector, OwnerKind, OwnerRef, PodId, StatefulSet, WorkloadId,
};
use crate::cluster::Event;
use crate::scenario::Propagation;

/// A stored object of a workload kind.
#[derive(Clone, Debug)]
pub struct Object<T: Workload> {
    pub id: WorkloadId,
    pub spec: T,
    pub status: T::Status,
    pub created: SimTime,
    /// `metadata.generation`: bumped on every spec change.
    pub generation: i64,
    pub deletion_timestamp: Option<SimTime>,
    /// The `foregroundDeletion` finalizer.
    pub foreground: bool,
    /// The `orphan` finalizer.
    pub orphan: bool,
    pub deleted: bool,
    /// Pods whose controller reference names this object (an informer indexer's view).
    pub pods: BTreeSet<PodId>,
    /// Objects it controls that are not pods (a CronJob's Jobs), in creation order.
    pub dependents: Vec<WorkloadId>,
}

impl<T: Workload> Object<T> {
    pub fn exists(&self) -> bool {
        !self.deleted
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.spec.namespace(), self.spec.name())
    }
}

/// How many deleted objects of a kind keep their whole record (the most recent deletions);
/// older ones are forgotten once no pod refers to them, so that a long run's memory follows
/// its live objects rather than every object it ever had (a CronJob's finished Jobs).
const DELETED_KEPT: usize = 1024;

/// The objects of one kind, by id, with a name index.
#[derive(Debug)]
pub struct Collection<T: Workload> {
    /// By id from `first`; `None` once a deleted object is forgotten (ids are never reused).
    /// Boxed so that a forgotten object's slot costs a pointer; the leading forgotten slots
    /// are dropped (`first` counts them), so that the slots follow the objects kept rather
    /// than every object ever created.
    items: std::collections::VecDeque<Option<Box<Object<T>>>>,
    first: usize,
    /// Deleted objects still kept whole, oldest deletion first.
    deleted: std::collections::VecDeque<WorkloadId>,
    /// What a forgotten object reads as: the first object forgotten (deleted, compacted).
    forgotten: Option<Box<Object<T>>>,
    by_name: BTreeMap<(String, String), WorkloadId>,
    /// The ids of the objects not deleted, so that listing them costs what exists rather
    /// than everything a long run ever created (a CronJob's thousands of finished Jobs).
    live: BTreeSet<WorkloadId>,
}

impl<T: Workload> Default for Collection<T> {
    fn default() -> Self {
        Collection {
            items: std::collections::VecDeque::new(),
            first: 0,
            deleted: std::collections::VecDeque::new(),
            forgotten: None,
            by_name: BTreeMap::new(),
            live: BTreeSet::new(),
        }
    }
}

impl<T: Workload> Collection<T> {
    /// The object with this id, deleted ones too, as long as they are kept (see
    /// [`DELETED_KEPT`]).
    pub fn get(&self, id: WorkloadId) -> Option<&Object<T>> {
        let i = id.index().checked_sub(self.first)?;
        self.items.get(i).and_then(|o| o.as_deref())
    }

    pub fn id(&self, namespace: &str, name: &str) -> Option<WorkloadId> {
        self.by_name
            .get(&(namespace.to_string(), name.to_string()))
            .copied()
    }

    /// Every object kept: the live ones and the most recently deleted, in id order.
    pub fn all(&self) -> impl DoubleEndedIterator<Item = &Object<T>> {
        self.all_from(0)
    }

    /// The objects kept whose id index is `from` or later, in id order.
    pub fn all_from(&self, from: usize) -> impl DoubleEndedIterator<Item = &Object<T>> {
        let start = from.saturating_sub(self.first).min(self.items.len());
        self.items.range(start..).filter_map(|o| o.as_deref())
    }

    /// The objects not deleted, in id (creation) order.
    pub fn live(&self) -> impl Iterator<Item = &Object<T>> {
        self.live.iter().filter_map(|id| self.get(*id))
    }

    /// Every object ever created, forgotten ones included.
    pub fn len(&self) -> usize {
        self.first + self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn get_mut(&mut self, id: WorkloadId) -> Option<&mut Object<T>> {
        let i = id.index().checked_sub(self.first)?;
        self.items.get_mut(i).and_then(|o| o.as_deref_mut())
    }

    /// Notes a deletion; forgets the oldest deleted objects beyond [`DELETED_KEPT`] that no
    /// pod refers to any more (one that still has pods stays until a later deletion finds it
    /// without).
    fn note_deleted(&mut self, id: WorkloadId) {
        self.deleted.push_back(id);
        let mut budget = self.deleted.len().saturating_sub(DELETED_KEPT);
        while budget > 0 {
            budget -= 1;
            let Some(old) = self.deleted.pop_front() else {
                break;
            };
            let Some(slot) = old
                .index()
                .checked_sub(self.first)
                .and_then(|i| self.items.get_mut(i))
            else {
                continue;
            };
            if slot.as_ref().is_some_and(|o| !o.pods.is_empty()) {
                self.deleted.push_back(old);
                continue;
            }
            if let Some(obj) = slot.take()
                && self.forgotten.is_none()
            {
                self.forgotten = Some(obj);
            }
        }
        while self.items.front().is_some_and(Option::is_none) {
            self.items.pop_front();
            self.first += 1;
        }
    }
}

/// What the API server needs to know of a workload kind.
pub trait Workload: Clone + PartialEq + std::fmt::Debug + Sized + 'static {
    type Status: Clone + Default + PartialEq + std::fmt::Debug;
    /// The kind in the watch log.
    const KIND: ObjectKind;
    /// The kind in ownerReferences.
    const OWNER_KIND: OwnerKind;
    /// The resource as API errors name it (`statefulsets.apps`).
    const RESOURCE: &'static str;
    fn name(&self) -> &str;
    fn namespace(&self) -> &str;
    /// Drops what nothing reads of a deleted object (a Job's pod template), so that the
    /// records a long run keeps of its deleted objects stay small.
    fn compact_deleted(&mut self) {}
    /// The pod selector, for PodTopologySpread's default constraints and PDBs.
    fn selector(&self) -> Option<&LabelSelector> {
        None
    }
    /// The disruption controller's "scale" of the pods' controller.
    fn scale(&self) -> Option<i32> {
        None
    }
    /// The controlling owner (a Job's CronJob).
    fn owner_mut(&mut self) -> Option<&mut Option<OwnerRef>> {
        None
    }
    fn table(api: &ApiServer) -> &Collection<Self>;
    fn table_mut(api: &mut ApiServer) -> &mut Collection<Self>;
}

/// Status of a StatefulSet (upstream `StatefulSetStatus`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatefulSetStatus {
    pub observed_generation: i64,
    pub replicas: i32,
    pub ready_replicas: i32,
    pub current_replicas: i32,
    pub updated_replicas: i32,
    pub available_replicas: i32,
    pub current_revision: String,
    pub update_revision: String,
}

/// Status of a DaemonSet (upstream `DaemonSetStatus`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DaemonSetStatus {
    pub observed_generation: i64,
    pub current_number_scheduled: i32,
    pub number_misscheduled: i32,
    pub desired_number_scheduled: i32,
    pub number_ready: i32,
    pub updated_number_scheduled: i32,
    pub number_available: i32,
    pub number_unavailable: i32,
}

/// Status of a Job (upstream `JobStatus`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobStatus {
    pub start_time: Option<SimTime>,
    pub completion_time: Option<SimTime>,
    pub active: i32,
    pub ready: i32,
    pub succeeded: i32,
    pub failed: i32,
    pub terminating: i32,
    /// `status.completedIndexes` of an Indexed Job (`"0-2,4"`).
    pub completed_indexes: String,
    pub failed_indexes: Option<String>,
    /// Conditions: `Complete`, `Failed`, `Suspended`, `FailureTarget`, `SuccessCriteriaMet`.
    pub conditions: Vec<super::Condition>,
}

impl JobStatus {
    pub fn condition(&self, type_: &str) -> Option<&super::Condition> {
        self.conditions
            .iter()
            .find(|c| c.type_ == type_ && c.status == "True")
    }

    /// Upstream `IsJobFinished`: a `Complete` or `Failed` condition is True.
    pub fn finished(&self) -> Option<&super::Condition> {
        self.condition("Complete")
            .or_else(|| self.condition("Failed"))
    }
}

/// Status of a CronJob (upstream `CronJobStatus`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CronJobStatus {
    /// Jobs it created that are still running.
    pub active: Vec<WorkloadId>,
    pub last_schedule_time: Option<SimTime>,
    pub last_successful_time: Option<SimTime>,
}

impl Workload for StatefulSet {
    type Status = StatefulSetStatus;
    const KIND: ObjectKind = ObjectKind::StatefulSet;
    const OWNER_KIND: OwnerKind = OwnerKind::StatefulSet;
    const RESOURCE: &'static str = "statefulsets.apps";
    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> &str {
        &self.namespace
    }
    fn selector(&self) -> Option<&LabelSelector> {
        Some(&self.selector)
    }
    fn scale(&self) -> Option<i32> {
        Some(self.replicas)
    }
    fn table(api: &ApiServer) -> &Collection<Self> {
        &api.stateful_sets
    }
    fn table_mut(api: &mut ApiServer) -> &mut Collection<Self> {
        &mut api.stateful_sets
    }
}

impl Workload for DaemonSet {
    type Status = DaemonSetStatus;
    const KIND: ObjectKind = ObjectKind::DaemonSet;
    const OWNER_KIND: OwnerKind = OwnerKind::DaemonSet;
    const RESOURCE: &'static str = "daemonsets.apps";
    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> &str {
        &self.namespace
    }
    fn selector(&self) -> Option<&LabelSelector> {
        Some(&self.selector)
    }
    fn table(api: &ApiServer) -> &Collection<Self> {
        &api.daemon_sets
    }
    fn table_mut(api: &mut ApiServer) -> &mut Collection<Self> {
        &mut api.daemon_sets
    }
}

impl Workload for Job {
    type Status = JobStatus;
    const KIND: ObjectKind = ObjectKind::Job;
    const OWNER_KIND: OwnerKind = OwnerKind::Job;
    const RESOURCE: &'static str = "jobs.batch";
    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> &str {
        &self.namespace
    }
    fn selector(&self) -> Option<&LabelSelector> {
        Some(&self.selector)
    }
    fn scale(&self) -> Option<i32> {
        Some(self.parallelism)
    }
    fn owner_mut(&mut self) -> Option<&mut Option<OwnerRef>> {
        Some(&mut self.owner)
    }
    fn compact_deleted(&mut self) {
        crate::store::compact_deleted(&mut self.template.pod);
    }
    fn table(api: &ApiServer) -> &Collection<Self> {
        &api.jobs
    }
    fn table_mut(api: &mut ApiServer) -> &mut Collection<Self> {
        &mut api.jobs
    }
}

impl Workload for CronJob {
    type Status = CronJobStatus;
    const KIND: ObjectKind = ObjectKind::CronJob;
    const OWNER_KIND: OwnerKind = OwnerKind::CronJob;
    const RESOURCE: &'static str = "cronjobs.batch";
    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> &str {
        &self.namespace
    }
    fn table(api: &ApiServer) -> &Collection<Self> {
        &api.cron_jobs
    }
    fn table_mut(api: &mut ApiServer) -> &mut Collection<Self> {
        &mut api.cron_jobs
    }
}

impl ApiServer {
    pub fn object_id<T: Workload>(&self, namespace: &str, name: &str) -> Option<WorkloadId> {
        T::table(self).id(namespace, name)
    }

    /// The object with this id (deleted ones too; a long-deleted object that was forgotten
    /// reads as some deleted object). Panics on an id the API server never gave.
    pub fn object<T: Workload>(&self, id: WorkloadId) -> &Object<T> {
        let table = T::table(self);
        table
            .get(id)
            .or(table.forgotten.as_deref())
            .expect("workload ids come from the API server")
    }

    pub fn objects<T: Workload>(&self) -> &Collection<T> {
        T::table(self)
    }

    /// `POST`: stores the object; a controller reference (a Job's CronJob) is resolved by name.
    pub fn create_object<T: Workload>(
        &mut self,
        ctx: &mut Context<'_, Event>,
        mut spec: T,
    ) -> ApiResult<WorkloadId> {
        self.check_available()?;
        let key = (spec.namespace().to_string(), spec.name().to_string());
        if T::table(self).by_name.contains_key(&key) {
            return Err(ApiError::Refused(format!(
                "{} \"{}\" already exists",
                T::RESOURCE,
                spec.name()
            )));
        }
        self.admit_object_count(T::OWNER_KIND, &key.0, &key.1, 1)?;
        let id = WorkloadId(u32::try_from(T::table(self).len()).unwrap_or(u32::MAX));
        let mut owner_id = None;
        if let Some(owner) = spec.owner_mut()
            && let Some(o) = owner
        {
            if o.id == WorkloadId::UNRESOLVED {
                match o.kind {
                    OwnerKind::CronJob => match self.cron_jobs.id(&key.0, &o.name) {
                        Some(c) => o.id = c,
                        None => *owner = None,
                    },
                    _ => *owner = None,
                }
            }
            owner_id = owner.as_ref().map(|o| o.id);
        }
        if let (OwnerKind::Job, Some(c)) = (T::OWNER_KIND, owner_id)
            && let Some(cj) = self.cron_jobs.get_mut(c)
        {
            cj.dependents.push(id);
        }
        if let Some(selector) = spec.selector() {
            self.store
                .owner_selectors
                .insert((T::OWNER_KIND, id), selector.clone());
        }
        if let Some(scale) = spec.scale() {
            self.store
                .workload_scales
                .insert((T::OWNER_KIND, id), scale);
        }
        let table = T::table_mut(self);
        table.by_name.insert(key, id);
        table.live.insert(id);
        table.items.push_back(Some(Box::new(Object {
            id,
            spec,
            status: T::Status::default(),
            created: ctx.now(),
            generation: 1,
            deletion_timestamp: None,
            foreground: false,
            orphan: false,
            deleted: false,
            pods: BTreeSet::new(),
            dependents: Vec::new(),
        })));
        self.changed(ctx, T::KIND, id.0, Op::Added);
        Ok(id)
    }

    /// `PUT`: a spec or metadata change; the generation goes up when anything changed.
    pub fn update_object<T: Workload>(
        &mut self,
        ctx: &mut Context<'_, Event>,
        id: WorkloadId,
        edit: impl FnOnce(&mut T),
    ) -> ApiResult<()> {
        self.check_available()?;
        let obj = T::table_mut(self).get_mut(id).ok_or(ApiError::NotFound)?;
        if obj.deleted {
            return Err(ApiError::NotFound);
        }
        let before = obj.spec.clone();
        edit(&mut obj.spec);
        if obj.spec == before {
            return Ok(());
        }
        obj.generation += 1;
        let (selector, scale) = (obj.spec.selector().cloned(), obj.spec.scale());
        if let Some(s) = selector {
            self.store.owner_selectors.insert((T::OWNER_KIND, id), s);
        }
        if let Some(s) = scale {
            self.store.workload_scales.insert((T::OWNER_KIND, id), s);
        }
        self.changed(ctx, T::KIND, id.0, Op::Modified);
        Ok(())
    }

    /// `PUT .../status`; no write when nothing changed.
    pub fn update_object_status<T: Workload>(
        &mut self,
        ctx: &mut Context<'_, Event>,
        id: WorkloadId,
        status: T::Status,
    ) -> ApiResult<()> {
        let obj = T::table(self).get(id).ok_or(ApiError::NotFound)?;
        if obj.deleted {
            return Err(ApiError::NotFound);
        }
        if obj.status == status {
            return Ok(());
        }
        self.check_available()?;
        if let Some(obj) = T::table_mut(self).get_mut(id) {
            obj.status = status;
        }
        self.changed(ctx, T::KIND, id.0, Op::Modified);
        Ok(())
    }

    /// `DELETE` with a propagation policy (see `delete_workload`).
    pub fn delete_object<T: Workload>(
        &mut self,
        ctx: &mut Context<'_, Event>,
        id: WorkloadId,
        propagation: Propagation,
    ) -> ApiResult<()> {
        self.check_available()?;
        let now = ctx.now();
        let obj = T::table_mut(self).get_mut(id).ok_or(ApiError::NotFound)?;
        if obj.deleted {
            return Err(ApiError::NotFound);
        }
        if propagation == Propagation::Background {
            self.remove_object::<T>(ctx, id);
            return Ok(());
        }
        obj.deletion_timestamp.get_or_insert(now);
        obj.foreground |= propagation == Propagation::Foreground;
        obj.orphan |= propagation == Propagation::Orphan;
        self.changed(ctx, T::KIND, id.0, Op::Deleting);
        Ok(())
    }

    /// The object is gone (after its finalizers, if any, were removed).
    pub fn remove_object<T: Workload>(&mut self, ctx: &mut Context<'_, Event>, id: WorkloadId) {
        let Some(obj) = T::table_mut(self).get_mut(id) else {
            return;
        };
        if obj.deleted {
            return;
        }
        obj.deleted = true;
        let key = (
            obj.spec.namespace().to_string(),
            obj.spec.name().to_string(),
        );
        let owner = obj.spec.owner_mut().and_then(|o| o.as_ref()).map(|o| o.id);
        T::table_mut(self).by_name.remove(&key);
        T::table_mut(self).live.remove(&id);
        if let Some(obj) = T::table_mut(self).get_mut(id) {
            obj.spec.compact_deleted();
        }
        let _ = self.admit_object_count(T::OWNER_KIND, &key.0, &key.1, -1);
        self.store.owner_selectors.remove(&(T::OWNER_KIND, id));
        self.store.workload_scales.remove(&(T::OWNER_KIND, id));
        if let (OwnerKind::Job, Some(c)) = (T::OWNER_KIND, owner)
            && let Some(cj) = self.cron_jobs.get_mut(c)
        {
            cj.dependents.retain(|j| *j != id);
        }
        T::table_mut(self).note_deleted(id);
        self.changed(ctx, T::KIND, id.0, Op::Deleted);
    }

    /// The pods index of the workload a pod's controller reference names, whatever its kind.
    pub(crate) fn owned_pods_mut(
        &mut self,
        kind: OwnerKind,
        id: WorkloadId,
    ) -> Option<&mut BTreeSet<PodId>> {
        match kind {
            OwnerKind::ReplicaSet | OwnerKind::ReplicationController => {
                self.replica_sets.get_mut(id.index()).map(|r| &mut r.pods)
            }
            OwnerKind::StatefulSet => self.stateful_sets.get_mut(id).map(|o| &mut o.pods),
            OwnerKind::DaemonSet => self.daemon_sets.get_mut(id).map(|o| &mut o.pods),
            OwnerKind::Job => self.jobs.get_mut(id).map(|o| &mut o.pods),
            OwnerKind::Deployment | OwnerKind::CronJob => None,
        }
    }

    /// Resolves a pod's controller reference by name: the owner's id, if it exists.
    pub(crate) fn resolve_pod_owner(
        &self,
        kind: OwnerKind,
        namespace: &str,
        name: &str,
    ) -> Option<WorkloadId> {
        match kind {
            OwnerKind::ReplicaSet | OwnerKind::ReplicationController => self
                .replica_set_id(namespace, name)
                .filter(|id| self.replica_sets[id.index()].rs.kind == kind),
            OwnerKind::StatefulSet => self.stateful_sets.id(namespace, name),
            OwnerKind::DaemonSet => self.daemon_sets.id(namespace, name),
            OwnerKind::Job => self.jobs.id(namespace, name),
            OwnerKind::Deployment | OwnerKind::CronJob => None,
        }
    }

    /// The name of the workload `(kind, id)`.
    pub fn owner_name(&self, kind: OwnerKind, id: WorkloadId) -> Option<&str> {
        match kind {
            OwnerKind::ReplicaSet | OwnerKind::ReplicationController => self
                .replica_sets
                .get(id.index())
                .map(|r| r.rs.name.as_str()),
            OwnerKind::Deployment => self.deployments.get(id.index()).map(|d| d.d.name.as_str()),
            OwnerKind::StatefulSet => self.stateful_sets.get(id).map(|o| o.spec.name.as_str()),
            OwnerKind::DaemonSet => self.daemon_sets.get(id).map(|o| o.spec.name.as_str()),
            OwnerKind::Job => self.jobs.get(id).map(|o| o.spec.name.as_str()),
            OwnerKind::CronJob => self.cron_jobs.get(id).map(|o| o.spec.name.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Job;

    fn push(c: &mut Collection<Job>, deleted: bool) -> WorkloadId {
        let id = WorkloadId(u32::try_from(c.len()).expect("few objects"));
        c.items.push_back(Some(Box::new(Object {
            id,
            spec: Job::new(
                "j",
                "default",
                crate::api::PodTemplate {
                    pod: crate::api::Pod::default(),
                },
            ),
            status: JobStatus::default(),
            created: SimTime::ZERO,
            generation: 1,
            deletion_timestamp: None,
            foreground: false,
            orphan: false,
            deleted,
            pods: BTreeSet::new(),
            dependents: Vec::new(),
        })));
        id
    }

    #[test]
    fn forgotten_objects_leave_no_slot_and_ids_stay_put() {
        let mut c = Collection::<Job>::default();
        let live = push(&mut c, false);
        let total = DELETED_KEPT + 500;
        for _ in 0..total {
            let id = push(&mut c, true);
            c.note_deleted(id);
        }
        let last = push(&mut c, false);
        assert_eq!(c.len(), total + 2);
        // The live first object holds the slots after it.
        assert_eq!(c.items.len(), total + 2);
        assert!(c.get(live).is_some());
        assert!(
            c.get(WorkloadId(1)).is_none(),
            "the oldest deletion is forgotten"
        );
        assert_eq!(c.get(last).map(|o| o.id), Some(last));

        // Once nothing before them is kept, forgotten slots leave memory.
        let mut c = Collection::<Job>::default();
        for _ in 0..total {
            let id = push(&mut c, true);
            c.note_deleted(id);
        }
        let last = push(&mut c, false);
        assert_eq!(c.len(), total + 1);
        assert_eq!(c.items.len(), DELETED_KEPT + 1);
        assert!(c.get(WorkloadId(0)).is_none());
        assert_eq!(c.get(last).map(|o| o.id), Some(last));
        let ids: Vec<u32> = c.all_from(total - 2).map(|o| o.id.0).collect();
        assert_eq!(ids, vec![total as u32 - 2, total as u32 - 1, total as u32]);
        assert_eq!(c.all().count(), DELETED_KEPT + 1);
        assert!(c.get_mut(WorkloadId(3)).is_none());
    }
}
