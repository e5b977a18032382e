//! Writes to ReplicaSets, Deployments and PodDisruptionBudgets, and the Eviction API.

use sim_core::Context;

use super::objects::{DeploymentObject, DeploymentStatus, ReplicaSetObject, ReplicaSetStatus};
use super::{ApiError, ApiResult, ApiServer, ObjectKind, Op};
use crate::api::{Deployment, PodId, PodPhase, ReplicaSet, WorkloadId};
use crate::cluster::Event;
use crate::scenario::Propagation;

impl ApiServer {
    pub fn replica_set_id(&self, namespace: &str, name: &str) -> Option<WorkloadId> {
        self.rs_by_name
            .get(&(namespace.to_string(), name.to_string()))
            .copied()
    }

    pub fn deployment_id(&self, namespace: &str, name: &str) -> Option<WorkloadId> {
        self.deployment_by_name
            .get(&(namespace.to_string(), name.to_string()))
            .copied()
    }

    pub fn replica_set(&self, id: WorkloadId) -> &ReplicaSetObject {
        &self.replica_sets[id.index()]
    }

    pub fn deployment(&self, id: WorkloadId) -> &DeploymentObject {
        &self.deployments[id.index()]
    }

    /// `POST /replicasets` (or replicationcontrollers). Its controller reference to a
    /// Deployment is resolved by name.
    pub fn create_replica_set(
        &mut self,
        ctx: &mut Context<'_, Event>,
        mut rs: ReplicaSet,
    ) -> ApiResult<WorkloadId> {
        self.check_available()?;
        let key = (rs.namespace.clone(), rs.name.clone());
        if self.rs_by_name.contains_key(&key) {
            return Err(ApiError::Refused(format!(
                "replicasets \"{}\" already exists",
                rs.name
            )));
        }
        let id = WorkloadId(u32::try_from(self.replica_sets.len()).unwrap_or(u32::MAX));
        if let Some(owner) = &mut rs.owner
            && owner.id == WorkloadId::UNRESOLVED
        {
            match self.deployment_id(&rs.namespace, &owner.name) {
                Some(d) => owner.id = d,
                None => rs.owner = None,
            }
        }
        match &rs.owner {
            Some(owner) => self.deployments[owner.id.index()].replica_sets.push(id),
            None => {
                self.orphan_replica_sets.insert(id);
            }
        }
        // The disruption controller's "scale" of the pods' controller and PodTopologySpread's
        // default selector: indexes the scheduler reads.
        self.store
            .workload_scales
            .insert((rs.kind, id), rs.replicas);
        self.store
            .owner_selectors
            .insert((rs.kind, id), rs.selector.clone());
        self.rs_by_name.insert(key, id);
        self.replica_sets.push(ReplicaSetObject {
            id,
            rs,
            created: ctx.now(),
            generation: 1,
            status: ReplicaSetStatus::default(),
            deletion_timestamp: None,
            foreground: false,
            orphan: false,
            deleted: false,
            pods: std::collections::BTreeSet::new(),
            counts: super::OwnedPodCounts::default(),
        });
        self.changed(ctx, ObjectKind::ReplicaSet, id.0, Op::Added);
        Ok(id)
    }

    /// `PUT /replicasets/{name}`: a spec or metadata change (`edit` gets the object to change).
    /// The generation goes up when the spec changes.
    pub fn update_replica_set(
        &mut self,
        ctx: &mut Context<'_, Event>,
        id: WorkloadId,
        edit: impl FnOnce(&mut ReplicaSet),
    ) -> ApiResult<()> {
        self.check_available()?;
        let obj = &mut self.replica_sets[id.index()];
        if obj.deleted {
            return Err(ApiError::NotFound);
        }
        let before = (obj.rs.replicas, obj.rs.min_ready_seconds);
        let before_owner = obj.rs.owner.as_ref().map(|o| o.id);
        edit(&mut obj.rs);
        if (obj.rs.replicas, obj.rs.min_ready_seconds) != before {
            obj.generation += 1;
        }
        let (kind, replicas, owner) = (obj.rs.kind, obj.rs.replicas, obj.rs.owner.clone());
        self.store.workload_scales.insert((kind, id), replicas);
        // A released ReplicaSet leaves its Deployment's index; an adopted one joins.
        if let Some(b) = before_owner
            && before_owner != owner.as_ref().map(|o| o.id)
            && let Some(d) = self.deployments.get_mut(b.index())
        {
            d.replica_sets.retain(|r| *r != id);
        }
        match owner {
            Some(o) => {
                self.orphan_replica_sets.remove(&id);
                if let Some(d) = self.deployments.get_mut(o.id.index())
                    && !d.replica_sets.contains(&id)
                {
                    d.replica_sets.push(id);
                    d.replica_sets.sort();
                }
            }
            None => {
                self.orphan_replica_sets.insert(id);
            }
        }
        self.changed(ctx, ObjectKind::ReplicaSet, id.0, Op::Modified);
        Ok(())
    }

    /// `kubectl apply` of a ReplicaSet with another pod template: a spec change (new
    /// generation); the counts are redone, as "fully labelled" depends on the template.
    pub fn replace_replica_set_template(
        &mut self,
        ctx: &mut Context<'_, Event>,
        id: WorkloadId,
        template: crate::api::PodTemplate,
    ) -> ApiResult<()> {
        self.check_available()?;
        let obj = &mut self.replica_sets[id.index()];
        if obj.deleted {
            return Err(ApiError::NotFound);
        }
        if obj.rs.template == template {
            return Ok(());
        }
        obj.rs.template = template;
        obj.generation += 1;
        self.recount_replica_set(id);
        self.changed(ctx, ObjectKind::ReplicaSet, id.0, Op::Modified);
        Ok(())
    }

    /// `PUT /replicasets/{name}/status`; no write when nothing changed.
    pub fn update_replica_set_status(
        &mut self,
        ctx: &mut Context<'_, Event>,
        id: WorkloadId,
        status: ReplicaSetStatus,
    ) -> ApiResult<()> {
        self.write_status::<ReplicaSetObject>(ctx, id, status)
    }

    /// `DELETE /replicasets/{name}` with a propagation policy. Background: the object goes now
    /// and the garbage collector deletes its pods; Foreground and Orphan: it gets a
    /// deletionTimestamp and a finalizer, and the garbage collector finishes the job.
    pub fn delete_replica_set(
        &mut self,
        ctx: &mut Context<'_, Event>,
        id: WorkloadId,
        propagation: Propagation,
    ) -> ApiResult<()> {
        self.delete_workload::<ReplicaSetObject>(ctx, id, propagation, Self::remove_replica_set)
    }

    /// The object is gone (after its finalizers, if any, were removed).
    pub fn remove_replica_set(&mut self, ctx: &mut Context<'_, Event>, id: WorkloadId) {
        let obj = &mut self.replica_sets[id.index()];
        if obj.deleted {
            return;
        }
        obj.deleted = true;
        let key = (obj.rs.namespace.clone(), obj.rs.name.clone());
        let (kind, owner) = (obj.rs.kind, obj.rs.owner.clone());
        self.rs_by_name.remove(&key);
        self.orphan_replica_sets.remove(&id);
        self.store.workload_scales.remove(&(kind, id));
        self.store.owner_selectors.remove(&(kind, id));
        if let Some(o) = owner
            && let Some(d) = self.deployments.get_mut(o.id.index())
        {
            d.replica_sets.retain(|r| *r != id);
        }
        self.changed(ctx, ObjectKind::ReplicaSet, id.0, Op::Deleted);
    }

    pub fn create_deployment(
        &mut self,
        ctx: &mut Context<'_, Event>,
        d: Deployment,
    ) -> ApiResult<WorkloadId> {
        self.check_available()?;
        let key = (d.namespace.clone(), d.name.clone());
        if self.deployment_by_name.contains_key(&key) {
            return Err(ApiError::Refused(format!(
                "deployments.apps \"{}\" already exists",
                d.name
            )));
        }
        let id = WorkloadId(u32::try_from(self.deployments.len()).unwrap_or(u32::MAX));
        self.deployment_by_name.insert(key, id);
        self.deployments.push(DeploymentObject {
            id,
            d,
            created: ctx.now(),
            generation: 1,
            status: DeploymentStatus::default(),
            deletion_timestamp: None,
            foreground: false,
            orphan: false,
            deleted: false,
            replica_sets: Vec::new(),
        });
        self.changed(ctx, ObjectKind::Deployment, id.0, Op::Added);
        Ok(id)
    }

    /// `PUT /deployments/{name}` (kubectl set image, scale, rollout pause/resume/undo, apply).
    /// The generation goes up when the spec changes.
    pub fn update_deployment(
        &mut self,
        ctx: &mut Context<'_, Event>,
        id: WorkloadId,
        edit: impl FnOnce(&mut Deployment),
    ) -> ApiResult<()> {
        self.check_available()?;
        let obj = &mut self.deployments[id.index()];
        if obj.deleted {
            return Err(ApiError::NotFound);
        }
        let before = obj.d.clone();
        edit(&mut obj.d);
        let spec_changed = obj.d.replicas != before.replicas
            || obj.d.template != before.template
            || obj.d.strategy != before.strategy
            || obj.d.paused != before.paused
            || obj.d.min_ready_seconds != before.min_ready_seconds
            || obj.d.progress_deadline_seconds != before.progress_deadline_seconds
            || obj.d.revision_history_limit != before.revision_history_limit
            || obj.d.selector != before.selector;
        if spec_changed {
            obj.generation += 1;
        } else if obj.d == before {
            return Ok(());
        }
        self.changed(ctx, ObjectKind::Deployment, id.0, Op::Modified);
        Ok(())
    }

    pub fn update_deployment_status(
        &mut self,
        ctx: &mut Context<'_, Event>,
        id: WorkloadId,
        status: DeploymentStatus,
    ) -> ApiResult<()> {
        let (available, desired) = (
            status.available_replicas,
            self.deployments[id.index()].d.replicas,
        );
        self.write_status::<DeploymentObject>(ctx, id, status)?;
        self.deployment_availability
            .observe(id, ctx.now(), available, desired);
        Ok(())
    }

    pub fn delete_deployment(
        &mut self,
        ctx: &mut Context<'_, Event>,
        id: WorkloadId,
        propagation: Propagation,
    ) -> ApiResult<()> {
        self.delete_workload::<DeploymentObject>(ctx, id, propagation, Self::remove_deployment)
    }

    pub fn remove_deployment(&mut self, ctx: &mut Context<'_, Event>, id: WorkloadId) {
        let obj = &mut self.deployments[id.index()];
        if obj.deleted {
            return;
        }
        obj.deleted = true;
        let key = (obj.d.namespace.clone(), obj.d.name.clone());
        self.deployment_by_name.remove(&key);
        self.deployment_availability.gone(id, ctx.now());
        self.changed(ctx, ObjectKind::Deployment, id.0, Op::Deleted);
    }

    /// The disruption controller's status write.
    pub fn update_pdb_status(
        &mut self,
        ctx: &mut Context<'_, Event>,
        index: usize,
        status: super::PdbObject,
    ) -> ApiResult<()> {
        if self.pdb_status[index] == status {
            return Ok(());
        }
        self.check_available()?;
        self.pdb_status[index] = status;
        self.changed(
            ctx,
            ObjectKind::PodDisruptionBudget,
            u32::try_from(index).unwrap_or(u32::MAX),
            Op::Modified,
        );
        Ok(())
    }

    /// `POST /pods/{name}/eviction` (upstream `pkg/registry/core/pod/storage/eviction.go`): a
    /// pod that is not running yet, or already terminating, is deleted without looking at
    /// budgets; otherwise the one PDB that selects it must allow a disruption, which the
    /// eviction then uses up (and records in `disruptedPods`) until the disruption controller
    /// recomputes the budget.
    pub fn evict(&mut self, ctx: &mut Context<'_, Event>, pod: PodId) -> ApiResult<()> {
        self.check_available()?;
        let r = self.store.pod(pod);
        if !r.is_active() {
            return Err(ApiError::NotFound);
        }
        // Upstream `canIgnorePDB`: Succeeded, Failed or Pending pods, and pods being deleted.
        let ignore_pdb = r.deletion_timestamp.is_some()
            || matches!(
                r.phase,
                PodPhase::Succeeded | PodPhase::Failed | PodPhase::Pending
            );
        if !ignore_pdb {
            let matching: Vec<usize> = self
                .store
                .pdbs
                .iter()
                .enumerate()
                .filter(|(_, pdb)| pdb.selects(&r.pod))
                .map(|(i, _)| i)
                .collect();
            if matching.len() > 1 {
                return Err(ApiError::Refused(
                    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.".into(),
                ));
            }
            if let Some(&i) = matching.first() {
                let ready = r.ready;
                let status = &mut self.pdb_status[i];
                // Upstream: an unready pod may go while the budget is healthy enough
                // (unhealthyPodEvictionPolicy IfHealthyBudget, the default).
                let healthy_enough =
                    status.current_healthy >= status.desired_healthy && status.desired_healthy > 0;
                if ready || !healthy_enough {
                    if !status.observed {
                        return Err(ApiError::TooManyRequests(
                            "Cannot evict pod as it would violate the pod's disruption budget. The disruption budget has not been processed yet.".into(),
                        ));
                    }
                    if status.disruptions_allowed <= 0 {
                        let name = &self.store.pdbs[i].name;
                        return Err(ApiError::TooManyRequests(format!(
                            "Cannot evict pod as it would violate the pod's disruption budget. The disruption budget {name} needs {} healthy pods and has {} currently",
                            status.desired_healthy, status.current_healthy
                        )));
                    }
                    status.disruptions_allowed -= 1;
                    status.disrupted_pods.insert(pod, ctx.now());
                    self.changed(
                        ctx,
                        ObjectKind::PodDisruptionBudget,
                        u32::try_from(i).unwrap_or(u32::MAX),
                        Op::Modified,
                    );
                }
            }
        }
        self.counters.evictions += 1;
        self.delete_pod(ctx, pod)
    }
}

/// What the API server does alike for its two workload kinds: where they are stored, their
/// status, and the metadata a deletion sets.
pub(crate) trait StoredWorkload {
    type Status: PartialEq;
    const KIND: ObjectKind;
    fn table(api: &mut ApiServer) -> &mut Vec<Self>
    where
        Self: Sized;
    fn status_mut(&mut self) -> &mut Self::Status;
    /// (deleted, deletionTimestamp, foreground finalizer, orphan finalizer).
    fn deletion(
        &mut self,
    ) -> (
        &mut bool,
        &mut Option<sim_core::SimTime>,
        &mut bool,
        &mut bool,
    );
}

impl StoredWorkload for ReplicaSetObject {
    type Status = ReplicaSetStatus;
    const KIND: ObjectKind = ObjectKind::ReplicaSet;
    fn table(api: &mut ApiServer) -> &mut Vec<Self> {
        &mut api.replica_sets
    }
    fn status_mut(&mut self) -> &mut ReplicaSetStatus {
        &mut self.status
    }
    fn deletion(
        &mut self,
    ) -> (
        &mut bool,
        &mut Option<sim_core::SimTime>,
        &mut bool,
        &mut bool,
    ) {
        (
            &mut self.deleted,
            &mut self.deletion_timestamp,
            &mut self.foreground,
            &mut self.orphan,
        )
    }
}

impl StoredWorkload for DeploymentObject {
    type Status = DeploymentStatus;
    const KIND: ObjectKind = ObjectKind::Deployment;
    fn table(api: &mut ApiServer) -> &mut Vec<Self> {
        &mut api.deployments
    }
    fn status_mut(&mut self) -> &mut DeploymentStatus {
        &mut self.status
    }
    fn deletion(
        &mut self,
    ) -> (
        &mut bool,
        &mut Option<sim_core::SimTime>,
        &mut bool,
        &mut bool,
    ) {
        (
            &mut self.deleted,
            &mut self.deletion_timestamp,
            &mut self.foreground,
            &mut self.orphan,
        )
    }
}

impl ApiServer {
    /// `PUT .../status`; no write when nothing changed.
    fn write_status<W: StoredWorkload>(
        &mut self,
        ctx: &mut Context<'_, Event>,
        id: WorkloadId,
        status: W::Status,
    ) -> ApiResult<()> {
        let obj = &mut W::table(self)[id.index()];
        if *obj.deletion().0 {
            return Err(ApiError::NotFound);
        }
        if *obj.status_mut() == status {
            return Ok(());
        }
        self.check_available()?;
        *W::table(self)[id.index()].status_mut() = status;
        self.changed(ctx, W::KIND, id.0, Op::Modified);
        Ok(())
    }

    /// `DELETE` with a propagation policy. Background: the object goes now and the garbage
    /// collector deletes its dependents; Foreground and Orphan: it gets a deletionTimestamp
    /// (kept from a first delete) and the policy's finalizer, and the garbage collector
    /// finishes the job.
    fn delete_workload<W: StoredWorkload>(
        &mut self,
        ctx: &mut Context<'_, Event>,
        id: WorkloadId,
        propagation: Propagation,
        remove: fn(&mut ApiServer, &mut Context<'_, Event>, WorkloadId),
    ) -> ApiResult<()> {
        self.check_available()?;
        let now = ctx.now();
        let (deleted, timestamp, foreground, orphan) = W::table(self)[id.index()].deletion();
        if *deleted {
            return Err(ApiError::NotFound);
        }
        if propagation == Propagation::Background {
            remove(self, ctx, id);
            return Ok(());
        }
        timestamp.get_or_insert(now);
        *foreground |= propagation == Propagation::Foreground;
        *orphan |= propagation == Propagation::Orphan;
        self.changed(ctx, W::KIND, id.0, Op::Deleting);
        Ok(())
    }
}
