//! The scenario's user at the keyboard: timeline actions are what `kubectl` would send to the
//! API server (set image, scale, rollout undo/pause/resume, apply, delete, cordon, drain),
//! plus nodes joining a pool. Like kubectl, this driver only writes to the API server; the
//! controllers do the rest. A write the API server refuses because it is down is retried.

use sim_core::{Context, SimDuration, SimTime};

use super::Event;
use crate::api::{NodeId, OwnerKind, PodId, WorkloadId};
use crate::apiserver::objects::REVISION_ANNOTATION;
use crate::apiserver::{ApiError, ApiServer};
use crate::controllers::deployment::{POD_TEMPLATE_HASH_LABEL, equal_ignore_hash};
use crate::events::EventType;
use crate::scenario::{Action, NodePool, ObjectKind, ObjectRef, TimelineAction, Workloads};

/// kubectl drain's wait between eviction attempts a PDB refused.
pub const DRAIN_RETRY: SimDuration = SimDuration::from_secs(5);
/// kubectl's poll of evicted pods until they are gone.
const DRAIN_POLL: SimDuration = SimDuration::from_secs(1);
/// How long to wait before retrying an action the API server refused (it was down).
const RETRY_UNAVAILABLE: SimDuration = SimDuration::from_secs(5);

#[derive(Clone, Debug, Default)]
struct DrainState {
    started: Option<SimTime>,
    done: bool,
    /// The pods `kubectl drain` listed when it started (`GetPodsForDeletion`): it evicts
    /// these and waits for them to go, never pods that land on the node later (a
    /// StatefulSet's replacement keeps the name, not the identity).
    pods: Option<Vec<PodId>>,
}

#[derive(Default)]
pub struct TimelineDriver {
    /// Node pools, to stamp out nodes that join later.
    pub pools: Vec<NodePool>,
    /// Nodes created so far per pool (the next node's index in its name).
    pool_next_index: Vec<usize>,
    /// Scripted actions, sorted by time.
    pub actions: Vec<TimelineAction>,
    drains: Vec<DrainState>,
    /// Workloads that arrive after the start, by `Event::WorkloadsArrive` index.
    pub delayed: Vec<Workloads>,
}

impl TimelineDriver {
    /// Installs the scenario's pools, timeline and delayed workloads and arms their events.
    pub fn install(
        &mut self,
        ctx: &mut Context<'_, Event>,
        pools: Vec<NodePool>,
        actions: Vec<TimelineAction>,
        delayed: Vec<Workloads>,
    ) {
        self.pool_next_index = pools.iter().map(|p| p.count as usize).collect();
        self.pools = pools;
        for (i, action) in actions.iter().enumerate() {
            ctx.schedule_at(
                SimTime::ZERO.saturating_add(action.at),
                Event::Timeline(u32::try_from(i).unwrap_or(u32::MAX)),
            );
        }
        self.drains = vec![DrainState::default(); actions.len()];
        self.actions = actions;
        for (i, w) in delayed.iter().enumerate() {
            ctx.schedule_at(
                SimTime::ZERO.saturating_add(w.at),
                Event::WorkloadsArrive(u32::try_from(i).unwrap_or(u32::MAX)),
            );
        }
        self.delayed = delayed;
    }

    pub fn workloads_arrive(
        &mut self,
        index: u32,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        if let Some(w) = self.delayed.get(index as usize)
            && apply(api, ctx, w).is_err()
        {
            ctx.schedule(RETRY_UNAVAILABLE, Event::WorkloadsArrive(index));
        }
    }

    /// The fault of timeline entry `index`, if it is one.
    pub fn fault(&self, index: u32) -> Option<crate::faults::Fault> {
        match &self.actions.get(index as usize)?.action {
            Action::Fault(f) => Some((**f).clone()),
            _ => None,
        }
    }

    pub fn apply_action(&mut self, index: u32, api: &mut ApiServer, ctx: &mut Context<'_, Event>) {
        let Some(action) = self.actions.get(index as usize).map(|a| a.action.clone()) else {
            return;
        };
        let now = ctx.now();
        let result = match action {
            // The cluster hands faults to the fault driver.
            Action::Fault(_) => Ok(()),
            Action::AddNodes { pool, count } => {
                for _ in 0..count {
                    self.add_pool_node(api, ctx, pool);
                }
                Ok(())
            }
            Action::Rollout {
                target,
                image,
                container,
                template_annotations,
            } => {
                let change = |pod: &mut crate::api::Pod| {
                    if let Some(image) = image {
                        let i = container.unwrap_or(0);
                        pod.images.update(|images| {
                            if let Some(slot) = images.get_mut(i) {
                                *slot = image;
                            } else {
                                images.push(image);
                            }
                        });
                    }
                    for (k, v) in template_annotations {
                        pod.annotations.insert(k, v);
                    }
                };
                match target.kind {
                    ObjectKind::StatefulSet => {
                        with_workload::<crate::api::StatefulSet>(api, &target, |api, id| {
                            api.update_object::<crate::api::StatefulSet>(ctx, id, |s| {
                                change(&mut s.template.pod)
                            })
                        })
                    }
                    ObjectKind::DaemonSet => {
                        with_workload::<crate::api::DaemonSet>(api, &target, |api, id| {
                            api.update_object::<crate::api::DaemonSet>(ctx, id, |s| {
                                change(&mut s.template.pod)
                            })
                        })
                    }
                    _ => with_deployment(api, &target, |api, id| {
                        api.update_deployment(ctx, id, |d| change(&mut d.template.pod))
                    }),
                }
            }
            Action::Suspend { target, suspend } => match target.kind {
                ObjectKind::CronJob => {
                    with_workload::<crate::api::CronJob>(api, &target, |api, id| {
                        api.update_object::<crate::api::CronJob>(ctx, id, |c| c.suspend = suspend)
                    })
                }
                _ => with_workload::<crate::api::Job>(api, &target, |api, id| {
                    api.update_object::<crate::api::Job>(ctx, id, |j| j.suspend = suspend)
                }),
            },
            Action::Scale { target, replicas } => match target.kind {
                ObjectKind::Deployment => with_deployment(api, &target, |api, id| {
                    api.update_deployment(ctx, id, |d| d.replicas = replicas)
                }),
                ObjectKind::StatefulSet => {
                    with_workload::<crate::api::StatefulSet>(api, &target, |api, id| {
                        api.update_object::<crate::api::StatefulSet>(ctx, id, |s| {
                            s.replicas = replicas
                        })
                    })
                }
                _ => match api.replica_set_id(&target.namespace, &target.name) {
                    Some(id) => api.update_replica_set(ctx, id, |r| r.replicas = replicas),
                    None => Err(ApiError::NotFound),
                },
            },
            Action::Rollback {
                target,
                to_revision,
            } => with_deployment(api, &target, |api, id| rollback(api, ctx, id, to_revision)),
            Action::Pause { target } => with_deployment(api, &target, |api, id| {
                api.update_deployment(ctx, id, |d| d.paused = true)
            }),
            Action::Resume { target } => with_deployment(api, &target, |api, id| {
                api.update_deployment(ctx, id, |d| d.paused = false)
            }),
            Action::Apply(w) => apply(api, ctx, &w),
            Action::Delete {
                target,
                propagation,
            } => delete(api, ctx, &target, propagation),
            Action::Cordon { node } => cordon(api, ctx, &node, true),
            Action::Uncordon { node } => cordon(api, ctx, &node, false),
            Action::Drain { node, .. } => {
                let r = cordon(api, ctx, &node, true);
                if r.is_ok() {
                    self.drains[index as usize].started = Some(now);
                    self.drain_step(index, api, ctx);
                }
                r
            }
        };
        match result {
            Ok(()) => {}
            Err(ApiError::Unavailable) => {
                ctx.schedule(RETRY_UNAVAILABLE, Event::Timeline(index));
            }
            Err(e) => api.record(
                now,
                EventType::Warning,
                "TimelineActionFailed",
                "scenario/timeline".into(),
                format!("timeline entry {index}: {e}"),
            ),
        }
    }

    /// One step of `kubectl drain --ignore-daemonsets --delete-emptydir-data --force`: evict
    /// every pod on the node; a PDB's refusal is retried after 5s; done when the node's pods
    /// are gone.
    pub fn drain_step(&mut self, index: u32, api: &mut ApiServer, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let Some(TimelineAction {
            action: Action::Drain { node, timeout },
            ..
        }) = self.actions.get(index as usize).cloned()
        else {
            return;
        };
        let state = &mut self.drains[index as usize];
        if state.done {
            return;
        }
        let object = format!("node/{node}");
        let Some(id) = api.store.node_id(&node) else {
            return;
        };
        if let (Some(limit), Some(started)) = (timeout, state.started)
            && now.since(started) >= limit
        {
            state.done = true;
            api.record(
                now,
                EventType::Warning,
                "DrainFailed",
                object,
                format!("error: unable to drain node \"{node}\": global timeout reached: {limit}"),
            );
            return;
        }
        let pods = state
            .pods
            .get_or_insert_with(|| {
                // `--ignore-daemonsets`: DaemonSet pods stay (their controller would put them
                // straight back).
                api.store
                    .node(id)
                    .pods
                    .iter()
                    .copied()
                    .filter(|p| {
                        let r = api.store.pod(*p);
                        r.is_active()
                            && r.pod
                                .owner
                                .as_ref()
                                .is_none_or(|o| o.kind != OwnerKind::DaemonSet)
                    })
                    .collect()
            })
            .clone();
        let mut blocked = false;
        for &pod in &pods {
            let r = api.store.pod(pod);
            if !r.is_active() || r.deletion_timestamp.is_some() {
                continue;
            }
            let key = r.pod.key();
            let name = r.pod.name.clone();
            let ns = r.pod.namespace.clone();
            match api.evict(ctx, pod) {
                Ok(()) => {
                    api.record(
                        now,
                        EventType::Normal,
                        "Drain",
                        object.clone(),
                        format!("evicting pod {key}"),
                    );
                }
                Err(ApiError::NotFound) => {}
                Err(e) => {
                    blocked = true;
                    api.record(
                        now,
                        EventType::Warning,
                        "Drain",
                        object.clone(),
                        format!(
                            "error when evicting pods/\"{name}\" -n \"{ns}\" (will retry after 5s): {e}"
                        ),
                    );
                }
            }
        }
        let remaining = pods.iter().any(|p| api.store.pod(*p).is_active());
        if blocked {
            ctx.schedule(DRAIN_RETRY, Event::Drain(index));
        } else if remaining {
            ctx.schedule(DRAIN_POLL, Event::Drain(index));
        } else {
            state.done = true;
            api.record(
                now,
                EventType::Normal,
                "Drain",
                object,
                format!("node/{node} drained"),
            );
        }
    }

    /// A new node of `pool` registers with the API server.
    pub fn add_pool_node(
        &mut self,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
        pool: usize,
    ) -> Option<NodeId> {
        let next = self.pool_next_index.get_mut(pool)?;
        let mut index = *next;
        let template = self.pools.get(pool)?;
        // Skip names already taken (e.g. by a Node manifest named like a pool node).
        while api.store.node_id(&template.node_name(index)).is_some() {
            index += 1;
        }
        let node = template.node(index);
        *next = index + 1;
        let name = node.name.clone();
        let id = api.add_node(ctx, node);
        api.record(
            ctx.now(),
            EventType::Normal,
            "RegisteredNode",
            format!("node/{name}"),
            format!("Node {name} event: Registered Node {name} in Controller"),
        );
        Some(id)
    }
}

fn with_deployment(
    api: &mut ApiServer,
    target: &ObjectRef,
    f: impl FnOnce(&mut ApiServer, WorkloadId) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    match api.deployment_id(&target.namespace, &target.name) {
        Some(id) => f(api, id),
        None => Err(ApiError::NotFound),
    }
}

/// `kubectl rollout undo [--to-revision=N]`: copies the template of the ReplicaSet with that
/// revision (0: the one before the current) into the Deployment, as kubectl does today.
fn rollback(
    api: &mut ApiServer,
    ctx: &mut Context<'_, Event>,
    id: WorkloadId,
    to_revision: i64,
) -> Result<(), ApiError> {
    let now = ctx.now();
    let d = api.deployment(id);
    let name = d.d.name.clone();
    let mut revisions: Vec<(i64, WorkloadId)> = d
        .replica_sets
        .iter()
        .filter(|r| api.replica_set(**r).exists())
        .map(|r| (api.replica_set(*r).revision(), *r))
        .collect();
    revisions.sort();
    let target = if to_revision == 0 {
        // Upstream `LastRevision`: the second highest revision.
        revisions.iter().rev().nth(1).copied()
    } else {
        revisions.iter().find(|(r, _)| *r == to_revision).copied()
    };
    let Some((revision, rs)) = target else {
        api.record(
            now,
            EventType::Warning,
            "DeploymentRollbackRevisionNotFound",
            format!("deployment/{name}"),
            "Unable to find the revision to rollback to.".into(),
        );
        return Ok(());
    };
    let mut template = api.replica_set(rs).rs.template.clone();
    template.pod.labels.remove(POD_TEMPLATE_HASH_LABEL);
    template.pod.name.clone_from(&name);
    if equal_ignore_hash(&template, &api.deployment(id).d.template) {
        api.record(
            now,
            EventType::Warning,
            "DeploymentRollbackTemplateUnchanged",
            format!("deployment/{name}"),
            format!(
                "The rollback revision contains the same template as current deployment \"{name}\""
            ),
        );
        return Ok(());
    }
    api.update_deployment(ctx, id, |d| {
        d.template = template;
        d.annotations.remove(REVISION_ANNOTATION);
    })?;
    api.record(
        now,
        EventType::Normal,
        "DeploymentRollback",
        format!("deployment/{name}"),
        format!("Rolled back deployment \"{name}\" to revision {revision}"),
    );
    Ok(())
}

fn delete(
    api: &mut ApiServer,
    ctx: &mut Context<'_, Event>,
    target: &ObjectRef,
    propagation: crate::scenario::Propagation,
) -> Result<(), ApiError> {
    match target.kind {
        ObjectKind::Deployment => with_deployment(api, target, |api, id| {
            api.delete_deployment(ctx, id, propagation)
        }),
        ObjectKind::ReplicaSet | ObjectKind::ReplicationController => {
            match api.replica_set_id(&target.namespace, &target.name) {
                Some(id) => api.delete_replica_set(ctx, id, propagation),
                None => Err(ApiError::NotFound),
            }
        }
        ObjectKind::Pod => match api
            .store
            .pod_id(&format!("{}/{}", target.namespace, target.name))
        {
            Some(p) => api.delete_pod(ctx, p),
            None => Err(ApiError::NotFound),
        },
        ObjectKind::StatefulSet => {
            with_workload::<crate::api::StatefulSet>(api, target, |api, id| {
                api.delete_object::<crate::api::StatefulSet>(ctx, id, propagation)
            })
        }
        ObjectKind::DaemonSet => with_workload::<crate::api::DaemonSet>(api, target, |api, id| {
            api.delete_object::<crate::api::DaemonSet>(ctx, id, propagation)
        }),
        ObjectKind::Job => with_workload::<crate::api::Job>(api, target, |api, id| {
            api.delete_object::<crate::api::Job>(ctx, id, propagation)
        }),
        ObjectKind::CronJob => with_workload::<crate::api::CronJob>(api, target, |api, id| {
            api.delete_object::<crate::api::CronJob>(ctx, id, propagation)
        }),
        ObjectKind::Node => match api.store.node_id(&target.name) {
            Some(id) => api.delete_node(ctx, id),
            None => Err(ApiError::NotFound),
        },
        ObjectKind::PodDisruptionBudget => Err(ApiError::Refused(format!(
            "deleting a {} is not simulated yet",
            target.kind.as_str()
        ))),
    }
}

/// `kubectl apply` of one object of the generic kinds: created, or its spec replaced.
fn apply_object<T: crate::apiserver::Workload>(
    api: &mut ApiServer,
    ctx: &mut Context<'_, Event>,
    spec: &T,
) -> Result<(), ApiError> {
    let result = match api.object_id::<T>(spec.namespace(), spec.name()) {
        Some(id) => api.update_object::<T>(ctx, id, |old| *old = spec.clone()),
        None => api.create_object(ctx, spec.clone()).map(|_| ()),
    };
    match result {
        // What `kubectl apply` would print: the object is not created, the run goes on.
        Err(ApiError::Forbidden(message)) => {
            api.record(
                ctx.now(),
                EventType::Warning,
                "FailedCreate",
                format!("{}/{}", T::OWNER_KIND.resource(), spec.name()),
                message,
            );
            Ok(())
        }
        other => other,
    }
}

fn with_workload<T: crate::apiserver::Workload>(
    api: &mut ApiServer,
    target: &ObjectRef,
    f: impl FnOnce(&mut ApiServer, WorkloadId) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    match api.object_id::<T>(&target.namespace, &target.name) {
        Some(id) => f(api, id),
        None => Err(ApiError::NotFound),
    }
}

fn cordon(
    api: &mut ApiServer,
    ctx: &mut Context<'_, Event>,
    node: &str,
    unschedulable: bool,
) -> Result<(), ApiError> {
    let Some(id) = api.store.node_id(node) else {
        return Err(ApiError::NotFound);
    };
    let was = api.store.node(id).node.unschedulable;
    api.set_unschedulable(ctx, id, unschedulable)?;
    if was != unschedulable {
        let status = if unschedulable {
            "NodeNotSchedulable"
        } else {
            "NodeSchedulable"
        };
        api.record(
            ctx.now(),
            EventType::Normal,
            status,
            format!("node/{node}"),
            format!("Node {node} status is now: {status}"),
        );
    }
    Ok(())
}

/// Creates (or, for an existing Deployment or ReplicaSet, updates the spec of) the objects of
/// a workloads entry, owners before dependents, as `kubectl apply` would. Applying again is
/// harmless, so when the API server was down for some write the whole entry is retried.
pub(super) fn apply(
    api: &mut ApiServer,
    ctx: &mut Context<'_, Event>,
    w: &Workloads,
) -> Result<(), ApiError> {
    let now = ctx.now();
    let mut result = Ok(());
    let mut note = |r: Result<(), ApiError>| {
        if let Err(ApiError::Unavailable) = r {
            result = Err(ApiError::Unavailable);
        }
    };
    // Services first: their EndpointSlices list the pods that follow as they come.
    apply_network(api, ctx, &w.network, &mut note);
    for d in &w.deployments {
        match api.deployment_id(&d.namespace, &d.name) {
            Some(id) => note(api.update_deployment(ctx, id, |old| {
                let annotations = std::mem::take(&mut old.annotations);
                *old = d.clone();
                for (k, v) in annotations {
                    old.annotations.entry(k).or_insert(v);
                }
            })),
            None => note(api.create_deployment(ctx, d.clone()).map(|_| ())),
        }
    }
    // Storage first: a StatefulSet's pods look for their claims' volumes.
    for v in &w.volumes {
        if api.store.storage.volume_id(&v.name).is_none() {
            note(api.create_volume(ctx, v.clone()).map(|_| ()));
        }
    }
    for c in &w.claims {
        if api.store.storage.claim_id(&c.namespace, &c.name).is_none() {
            note(api.create_claim(ctx, c.clone()).map(|_| ()));
        }
    }
    for cj in &w.cron_jobs {
        note(apply_object(api, ctx, cj));
    }
    for j in &w.jobs {
        note(apply_object(api, ctx, j));
    }
    for s in &w.stateful_sets {
        note(apply_object(api, ctx, s));
    }
    for d in &w.daemon_sets {
        note(apply_object(api, ctx, d));
    }
    for rs in &w.replica_sets {
        match api.replica_set_id(&rs.namespace, &rs.name) {
            Some(id) => {
                note(api.replace_replica_set_template(ctx, id, rs.template.clone()));
                note(api.update_replica_set(ctx, id, |old| old.replicas = rs.replicas));
            }
            None => note(api.create_replica_set(ctx, rs.clone()).map(|_| ())),
        }
    }
    for h in &w.hpas {
        let exists = api
            .hpas
            .iter()
            .any(|o| !o.deleted && o.spec.namespace == h.namespace && o.spec.name == h.name);
        if !exists {
            note(api.create_hpa(ctx, h.clone()).map(|_| ()));
        }
    }
    for pod in &w.pods {
        if api.store.pod_id(&pod.key()).is_some() {
            continue;
        }
        match api.create_pod(ctx, pod.clone()) {
            Ok(_) => {}
            Err(ApiError::Unavailable) => note(Err(ApiError::Unavailable)),
            Err(e) => api.record(
                now,
                EventType::Warning,
                "FailedCreate",
                format!("pod/{}", pod.name),
                format!("Error creating: {e}"),
            ),
        }
    }
    result
}

/// `kubectl apply` of Services, Ingresses and HTTPRoutes: created, or replaced.
fn apply_network(
    api: &mut ApiServer,
    ctx: &mut Context<'_, Event>,
    n: &crate::scenario::network::NetworkManifests,
    note: &mut impl FnMut(Result<(), ApiError>),
) {
    fn one<T: crate::apiserver::network::NetworkKind>(
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
        spec: &T,
    ) -> Result<(), ApiError> {
        match api.network_objects::<T>().id(spec.namespace(), spec.name()) {
            Some(id) => api.update_network::<T>(ctx, id, |old| *old = spec.clone()),
            None => api.create_network(ctx, spec.clone()).map(|_| ()),
        }
    }
    for s in &n.services {
        note(one(api, ctx, s));
    }
    for i in &n.ingresses {
        note(one(api, ctx, i));
    }
    for r in &n.http_routes {
        note(one(api, ctx, r));
    }
}
