//! Deployment controller (upstream `pkg/controller/deployment`): one ReplicaSet per pod
//! template, named `<deployment>-<pod-template-hash>`, rolled from old to new by the strategy
//! (`rolling.go`, `recreate.go`), scaled proportionally when the Deployment is scaled
//! mid-rollout (`sync.go`), its progress tracked against `progressDeadlineSeconds`
//! (`progress.go`) and its old ReplicaSets pruned to `revisionHistoryLimit`.
//!
//! The arithmetic is upstream's, as pure functions in `util`, `rolling` and `scale`; this file
//! reads the API server, calls them and writes the result.

use sim_core::{Context, SimDuration, SimTime};

use super::names::{fnv32a, safe_encode};
use super::{Reconciler, SyncOutcome};
use crate::api::{
    Deployment, DeploymentStrategy, Operator, OwnerKind, OwnerRef, PodId, PodPhase, PodTemplate,
    ReplicaSet, Requirement, WorkloadId,
};
use crate::apiserver::objects::{
    DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, REVISION_ANNOTATION, annotation_i64,
};
use crate::apiserver::{ApiServer, Change, Condition, DeploymentStatus, ObjectKind, Op};
use crate::cluster::Event;
use crate::events::EventType;

pub mod rolling;
pub mod scale;
pub mod util;

use util::{DeploymentInfo, RsInfo, Strategy};

/// Label upstream puts on a Deployment's ReplicaSets and pods.
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

// Upstream condition types and reasons (`deployment_util.go`).
pub const PROGRESSING: &str = "Progressing";
pub const AVAILABLE: &str = "Available";
pub const NEW_RS_REASON: &str = "NewReplicaSetCreated";
pub const FOUND_NEW_RS_REASON: &str = "FoundNewReplicaSet";
pub const RS_UPDATED_REASON: &str = "ReplicaSetUpdated";
pub const NEW_RS_AVAILABLE_REASON: &str = "NewReplicaSetAvailable";
pub const TIMED_OUT_REASON: &str = "ProgressDeadlineExceeded";
pub const PAUSED_REASON: &str = "DeploymentPaused";
pub const RESUMED_REASON: &str = "DeploymentResumed";
pub const MIN_AVAILABLE_REASON: &str = "MinimumReplicasAvailable";
pub const MIN_UNAVAILABLE_REASON: &str = "MinimumReplicasUnavailable";

/// Upstream `controller.ComputeHash`: FNV-32a over the template (and the collision count),
/// rendered with `SafeEncodeString`. Upstream hashes the Go object dump; kubesim hashes its own
/// stable dump of the template, so the value differs from a real cluster's but has the same
/// shape and the same property: same template, same hash.
pub fn pod_template_hash(template: &PodTemplate, collision_count: u32) -> String {
    let mut dump = format!("{:?}", template.pod);
    if collision_count > 0 {
        dump.push_str(&collision_count.to_string());
    }
    safe_encode(&fnv32a(dump.as_bytes()).to_string())
}

/// Upstream `EqualIgnoreHash`: two templates are equal but for the `pod-template-hash` label
/// (and the generate-name base kubesim keeps in the template's name).
pub fn equal_ignore_hash(a: &PodTemplate, b: &PodTemplate) -> bool {
    let strip = |t: &PodTemplate| {
        let mut p = t.pod.clone();
        p.labels.remove(POD_TEMPLATE_HASH_LABEL);
        p.name.clear();
        p.dumped = None;
        p
    };
    strip(a) == strip(b)
}

#[derive(Default)]
pub struct DeploymentController {
    /// Whether a ReplicaSet's template equals its Deployment's, as last compared, by
    /// ReplicaSet: (its generation, the Deployment's generation, the answer). Templates change
    /// only with a generation, and comparing them is most of a sync's cost otherwise.
    template_equal: std::collections::BTreeMap<WorkloadId, (i64, i64, bool)>,
}

fn info(d: &Deployment) -> DeploymentInfo {
    DeploymentInfo {
        replicas: d.replicas,
        strategy: match d.strategy {
            DeploymentStrategy::RollingUpdate {
                max_surge,
                max_unavailable,
            } => Strategy::RollingUpdate {
                max_surge,
                max_unavailable,
            },
            DeploymentStrategy::Recreate => Strategy::Recreate,
        },
        min_ready_seconds: d.min_ready_seconds,
        progress_deadline_seconds: d.progress_deadline_seconds,
        revision_history_limit: Some(d.revision_history_limit),
        paused: d.paused,
    }
}

fn rs_info(api: &ApiServer, id: WorkloadId) -> RsInfo {
    let o = api.replica_set(id);
    RsInfo {
        id: id.0,
        name: o.rs.name.clone(),
        created: o.created,
        spec_replicas: o.rs.replicas,
        status_replicas: o.status.replicas,
        ready_replicas: o.status.ready_replicas,
        available_replicas: o.status.available_replicas,
        revision: o.revision(),
        desired_replicas: annotation_i64(&o.rs.annotations, DESIRED_REPLICAS_ANNOTATION)
            .and_then(|v| i32::try_from(v).ok()),
        max_replicas: annotation_i64(&o.rs.annotations, MAX_REPLICAS_ANNOTATION)
            .and_then(|v| i32::try_from(v).ok()),
    }
}

fn condition(
    type_: &'static str,
    status: &'static str,
    reason: &'static str,
    message: String,
    now: SimTime,
) -> Condition {
    Condition {
        type_,
        status,
        reason,
        message,
        last_update: now,
        last_transition: now,
    }
}

/// The ReplicaSets of one sync: the new one (if any) and the old ones, oldest first.
struct Sets {
    new: Option<WorkloadId>,
    old: Vec<WorkloadId>,
}

impl Sets {
    fn all(&self) -> Vec<WorkloadId> {
        let mut all = self.old.clone();
        all.extend(self.new);
        all
    }
}

impl DeploymentController {
    /// Upstream `getReplicaSetsForDeployment`: owned ReplicaSets the selector still matches,
    /// plus orphans it matches (adopted).
    fn claim(
        &self,
        key: WorkloadId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<Vec<WorkloadId>, ()> {
        // What to release and what to adopt, decided on shared borrows; then the writes.
        let d = api.deployment(key);
        let selector = &d.d.selector;
        let (owned, release): (Vec<WorkloadId>, Vec<WorkloadId>) = d
            .replica_sets
            .iter()
            .copied()
            .filter(|id| api.replica_set(*id).exists())
            .partition(|id| {
                let rs = &api.replica_set(*id).rs;
                selector.matches(&rs.labels) || selector.matches(&rs.template.pod.labels)
            });
        let adopt: Vec<WorkloadId> = if d.deletion_timestamp.is_some() {
            Vec::new()
        } else {
            api.orphan_replica_sets
                .iter()
                .map(|id| api.replica_set(*id))
                .filter(|rs| {
                    rs.exists()
                        && rs.rs.kind == OwnerKind::ReplicaSet
                        && rs.rs.namespace == d.d.namespace
                        && rs.deletion_timestamp.is_none()
                        && selector.matches(&rs.rs.template.pod.labels)
                })
                .map(|rs| rs.id)
                .collect()
        };
        let name = if adopt.is_empty() {
            String::new()
        } else {
            d.d.name.clone()
        };
        for id in release {
            api.update_replica_set(ctx, id, |rs| rs.owner = None)
                .map_err(|_| ())?;
        }
        let mut out = owned;
        for id in adopt {
            let owner = OwnerRef {
                kind: OwnerKind::Deployment,
                name: name.clone(),
                id: key,
            };
            api.update_replica_set(ctx, id, |rs| rs.owner = Some(owner))
                .map_err(|_| ())?;
            out.push(id);
        }
        out.sort_by_key(|id| (api.replica_set(*id).created, *id));
        Ok(out)
    }

    /// Upstream `FindNewReplicaSet` / `FindOldReplicaSets`.
    fn split(&mut self, api: &ApiServer, key: WorkloadId, rss: &[WorkloadId]) -> Sets {
        let d = api.deployment(key);
        let new = rss.iter().copied().find(|id| {
            let rs = api.replica_set(*id);
            let stamp = (rs.generation, d.generation);
            match self.template_equal.get(id) {
                Some(&(g, dg, equal)) if (g, dg) == stamp => equal,
                _ => {
                    let equal = equal_ignore_hash(&rs.rs.template, &d.d.template);
                    self.template_equal.insert(*id, (stamp.0, stamp.1, equal));
                    equal
                }
            }
        });
        Sets {
            new,
            old: rss.iter().copied().filter(|id| Some(*id) != new).collect(),
        }
    }

    /// Upstream `getNewReplicaSet`: syncs the existing new ReplicaSet's revision, or creates
    /// it when `create` (a rollout's first step).
    fn new_replica_set(
        &self,
        key: WorkloadId,
        sets: &mut Sets,
        create: bool,
        status: &mut DeploymentStatus,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<(), ()> {
        let now = ctx.now();
        let old_infos: Vec<RsInfo> = sets.old.iter().map(|id| rs_info(api, *id)).collect();
        let new_revision = util::max_revision(&old_infos) + 1;
        let d = api.deployment(key).d.clone();
        let has_deadline = d.progress_deadline_seconds.is_some();
        if let Some(id) = sets.new {
            let o = api.replica_set(id);
            let needs =
                o.revision() < new_revision || o.rs.min_ready_seconds != d.min_ready_seconds;
            if needs {
                let revision = o.revision().max(new_revision);
                api.update_replica_set(ctx, id, |rs| {
                    rs.annotations
                        .insert(REVISION_ANNOTATION.into(), revision.to_string());
                    rs.min_ready_seconds = d.min_ready_seconds;
                })
                .map_err(|_| ())?;
            }
            let revision = api.replica_set(id).revision();
            set_deployment_revision(api, ctx, key, revision)?;
            if has_deadline && status.condition(PROGRESSING).is_none() {
                let name = api.replica_set(id).rs.name.clone();
                status.set_condition(condition(
                    PROGRESSING,
                    "True",
                    FOUND_NEW_RS_REASON,
                    format!("Found new replica set \"{name}\""),
                    now,
                ));
            }
            return Ok(());
        }
        if !create {
            return Ok(());
        }
        // A new ReplicaSet for the current template.
        let mut collision = 0u32;
        let (name, hash) = loop {
            let hash = pod_template_hash(&d.template, collision);
            let name = format!("{}-{hash}", d.name);
            if api.replica_set_id(&d.namespace, &name).is_none() {
                break (name, hash);
            }
            collision += 1;
        };
        let mut template = d.template.clone();
        template
            .pod
            .labels
            .insert(POD_TEMPLATE_HASH_LABEL, hash.clone());
        template.pod.name.clone_from(&name);
        let mut selector = d.selector.clone();
        selector.requirements.push(Requirement::new(
            POD_TEMPLATE_HASH_LABEL,
            Operator::Equals,
            vec![hash],
        ));
        let mut rs = ReplicaSet::new(name.clone(), d.namespace.clone(), 0, selector, template);
        rs.labels = rs.template.pod.labels.clone();
        rs.min_ready_seconds = d.min_ready_seconds;
        rs.owner = Some(OwnerRef {
            kind: OwnerKind::Deployment,
            name: d.name.clone(),
            id: key,
        });
        let dinfo = info(&d);
        let mut all: Vec<RsInfo> = old_infos;
        let placeholder = RsInfo {
            id: u32::MAX,
            name: name.clone(),
            created: now,
            spec_replicas: 0,
            status_replicas: 0,
            ready_replicas: 0,
            available_replicas: 0,
            revision: new_revision,
            desired_replicas: None,
            max_replicas: None,
        };
        all.push(placeholder.clone());
        let replicas = util::new_rs_new_replicas(&dinfo, &all, &placeholder).map_err(|_| ())?;
        rs.replicas = replicas;
        rs.annotations
            .insert(REVISION_ANNOTATION.into(), new_revision.to_string());
        rs.annotations
            .insert(DESIRED_REPLICAS_ANNOTATION.into(), d.replicas.to_string());
        rs.annotations.insert(
            MAX_REPLICAS_ANNOTATION.into(),
            (d.replicas + util::max_surge(&dinfo)).to_string(),
        );
        let id = api.create_replica_set(ctx, rs).map_err(|_| ())?;
        sets.new = Some(id);
        if replicas > 0 {
            api.record(
                now,
                EventType::Normal,
                "ScalingReplicaSet",
                format!("deployment/{}", d.name),
                format!("Scaled up replica set {name} from 0 to {replicas}"),
            );
        }
        if has_deadline {
            status.set_condition(condition(
                PROGRESSING,
                "True",
                NEW_RS_REASON,
                format!("Created new replica set \"{name}\""),
                now,
            ));
        }
        set_deployment_revision(api, ctx, key, new_revision)
    }

    /// Upstream `scaleReplicaSet`: a new size (and the replica annotations), with an event.
    fn scale_replica_set(
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
        key: WorkloadId,
        rs: WorkloadId,
        new_scale: i32,
    ) -> Result<bool, ()> {
        let d = api.deployment(key).d.clone();
        let dinfo = info(&d);
        let o = api.replica_set(rs);
        let old = o.rs.replicas;
        let desired = d.replicas.to_string();
        let max = (d.replicas + util::max_surge(&dinfo)).to_string();
        let annotations_need_update = o.rs.annotations.get(DESIRED_REPLICAS_ANNOTATION)
            != Some(&desired)
            || o.rs.annotations.get(MAX_REPLICAS_ANNOTATION) != Some(&max);
        if old == new_scale && !annotations_need_update {
            return Ok(false);
        }
        let name = o.rs.name.clone();
        api.update_replica_set(ctx, rs, |r| {
            r.replicas = new_scale;
            r.annotations
                .insert(DESIRED_REPLICAS_ANNOTATION.into(), desired);
            r.annotations.insert(MAX_REPLICAS_ANNOTATION.into(), max);
        })
        .map_err(|_| ())?;
        if old != new_scale {
            let op = if old < new_scale { "up" } else { "down" };
            api.record(
                ctx.now(),
                EventType::Normal,
                "ScalingReplicaSet",
                format!("deployment/{}", d.name),
                format!("Scaled {op} replica set {name} from {old} to {new_scale}"),
            );
        }
        Ok(old != new_scale)
    }

    /// Upstream `rolloutRolling`.
    fn rollout_rolling(
        &self,
        key: WorkloadId,
        mut sets: Sets,
        mut status: DeploymentStatus,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<Option<SimDuration>, ()> {
        self.new_replica_set(key, &mut sets, true, &mut status, api, ctx)?;
        let dinfo = info(&api.deployment(key).d);
        let infos = |api: &ApiServer, ids: &[WorkloadId]| -> Vec<RsInfo> {
            ids.iter().map(|id| rs_info(api, *id)).collect()
        };
        let all = infos(api, &sets.all());
        if let Some(new) = sets.new {
            let new_info = rs_info(api, new);
            if let Some(scale) =
                rolling::reconcile_new_replica_set(&dinfo, &all, &new_info).map_err(|_| ())?
                && Self::scale_replica_set(api, ctx, key, new, scale)?
            {
                return self.sync_rollout_status(key, &sets, status, api, ctx);
            }
        }
        let all = infos(api, &sets.all());
        let old = infos(api, &sets.old);
        let new_info = sets.new.map(|id| rs_info(api, id));
        let scaled = rolling::reconcile_old_replica_sets(&dinfo, &all, &old, new_info.as_ref())
            .map_err(|_| ())?;
        let mut any = false;
        for (id, size) in scaled {
            any |= Self::scale_replica_set(api, ctx, key, WorkloadId(id), size)?;
        }
        if any {
            return self.sync_rollout_status(key, &sets, status, api, ctx);
        }
        self.finish_rollout(key, &sets, status, api, ctx)
    }

    /// The end of both strategies' sync: prune history once the rollout is complete, then
    /// write the rollout status.
    fn finish_rollout(
        &self,
        key: WorkloadId,
        sets: &Sets,
        status: DeploymentStatus,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<Option<SimDuration>, ()> {
        let (dinfo, counts) = counts(api, key, sets);
        if util::deployment_complete(&dinfo, &counts, true) {
            self.cleanup(key, sets, api, ctx)?;
        }
        self.sync_rollout_status(key, sets, status, api, ctx)
    }

    /// Upstream `rolloutRecreate`: every old pod goes before any new one is created.
    fn rollout_recreate(
        &self,
        key: WorkloadId,
        mut sets: Sets,
        mut status: DeploymentStatus,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<Option<SimDuration>, ()> {
        self.new_replica_set(key, &mut sets, false, &mut status, api, ctx)?;
        let mut scaled = false;
        for id in sets.old.clone() {
            if api.replica_set(id).rs.replicas != 0 {
                scaled |= Self::scale_replica_set(api, ctx, key, id, 0)?;
            }
        }
        if scaled {
            return self.sync_rollout_status(key, &sets, status, api, ctx);
        }
        // Upstream `oldPodsRunning`: any pod of an old ReplicaSet not in a terminal phase,
        // terminating ones included.
        let running = sets.old.iter().any(|id| {
            api.replica_set(*id).pods.iter().any(|p: &PodId| {
                let r = api.store.pod(*p);
                r.is_active() && !matches!(r.phase, PodPhase::Succeeded | PodPhase::Failed)
            })
        }) || sets
            .old
            .iter()
            .any(|id| api.replica_set(*id).status.replicas > 0);
        if running {
            return self.sync_rollout_status(key, &sets, status, api, ctx);
        }
        if sets.new.is_none() {
            self.new_replica_set(key, &mut sets, true, &mut status, api, ctx)?;
        }
        if let Some(new) = sets.new {
            let replicas = api.deployment(key).d.replicas;
            if Self::scale_replica_set(api, ctx, key, new, replicas)? {
                return self.sync_rollout_status(key, &sets, status, api, ctx);
            }
        }
        self.finish_rollout(key, &sets, status, api, ctx)
    }

    /// Upstream `sync`: a scaling event or a paused Deployment: scale proportionally, prune
    /// history when paused, write the status (without progress conditions).
    fn sync_scale(
        &self,
        key: WorkloadId,
        mut sets: Sets,
        mut status: DeploymentStatus,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<Option<SimDuration>, ()> {
        self.new_replica_set(key, &mut sets, false, &mut status, api, ctx)?;
        let dinfo = info(&api.deployment(key).d);
        let new_info = sets.new.map(|id| rs_info(api, id));
        let old: Vec<RsInfo> = sets.old.iter().map(|id| rs_info(api, *id)).collect();
        let status_replicas = api.deployment(key).status.replicas;
        let sizes =
            scale::scale_with_status_replicas(&dinfo, status_replicas, new_info.as_ref(), &old);
        for (id, size) in sizes {
            Self::scale_replica_set(api, ctx, key, WorkloadId(id), size)?;
        }
        if dinfo.paused {
            self.cleanup(key, &sets, api, ctx)?;
        }
        let (dinfo, counts) = counts(api, key, &sets);
        let mut status = status;
        apply_counts(&mut status, &counts, api.deployment(key).generation);
        set_available_condition(&mut status, &counts, &dinfo, ctx.now());
        api.update_deployment_status(ctx, key, status)
            .map_err(|_| ())?;
        Ok(None)
    }

    /// Upstream `cleanupDeployment`: delete the oldest old ReplicaSets beyond
    /// `revisionHistoryLimit`, among those scaled to zero with no pods left.
    fn cleanup(
        &self,
        key: WorkloadId,
        sets: &Sets,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<(), ()> {
        let limit = api.deployment(key).d.revision_history_limit;
        let mut cleanable: Vec<WorkloadId> = sets
            .old
            .iter()
            .copied()
            .filter(|id| api.replica_set(*id).deletion_timestamp.is_none())
            .collect();
        let diff = cleanable.len() as i64 - i64::from(limit);
        if diff <= 0 {
            return Ok(());
        }
        // Upstream `ReplicaSetsByRevision`: oldest revision first (creation time on ties).
        cleanable.sort_by_key(|id| {
            let o = api.replica_set(*id);
            (o.revision(), o.created, *id)
        });
        for id in cleanable.into_iter().take(diff as usize) {
            let o = api.replica_set(id);
            if o.status.replicas != 0
                || o.rs.replicas != 0
                || o.generation > o.status.observed_generation
                || o.deletion_timestamp.is_some()
            {
                continue;
            }
            api.delete_replica_set(ctx, id, crate::scenario::Propagation::Background)
                .map_err(|_| ())?;
        }
        Ok(())
    }

    /// Upstream `syncRolloutStatus` (progress.go): status counts, the Available condition and
    /// the Progressing condition with its deadline. Returns when to look again for a
    /// Deployment that may time out (`requeueStuckDeployment`).
    fn sync_rollout_status(
        &self,
        key: WorkloadId,
        sets: &Sets,
        mut status: DeploymentStatus,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<Option<SimDuration>, ()> {
        let now = ctx.now();
        let obj = api.deployment(key);
        let d = obj.d.clone();
        let generation = obj.generation;
        let old_status = obj.status.clone();
        let dinfo = info(&d);
        let all: Vec<RsInfo> = sets.all().iter().map(|id| rs_info(api, *id)).collect();
        let new_info = sets.new.map(|id| rs_info(api, id));
        let counts = util::calculate_status(&all, new_info.as_ref(), &dinfo);
        let old_counts = util::DeploymentStatusCounts {
            replicas: old_status.replicas,
            updated_replicas: old_status.updated_replicas,
            ready_replicas: old_status.ready_replicas,
            available_replicas: old_status.available_replicas,
            unavailable_replicas: old_status.unavailable_replicas,
        };
        apply_counts(&mut status, &counts, generation);
        set_available_condition(&mut status, &counts, &dinfo, now);
        let has_deadline = d.progress_deadline_seconds.is_some();
        if !has_deadline {
            status.remove_condition(PROGRESSING);
        }
        let current = status.condition(PROGRESSING).cloned();
        let is_complete = counts.replicas == counts.updated_replicas
            && current
                .as_ref()
                .is_some_and(|c| c.reason == NEW_RS_AVAILABLE_REASON);
        if has_deadline && !is_complete {
            let new_name = new_info
                .as_ref()
                .map(|r| r.name.clone())
                .unwrap_or_default();
            if util::deployment_complete(&dinfo, &counts, true) {
                status.set_condition(condition(
                    PROGRESSING,
                    "True",
                    NEW_RS_AVAILABLE_REASON,
                    format!("ReplicaSet \"{new_name}\" has successfully progressed."),
                    now,
                ));
            } else if util::deployment_progressing(&old_counts, &counts) {
                let mut c = condition(
                    PROGRESSING,
                    "True",
                    RS_UPDATED_REASON,
                    format!("ReplicaSet \"{new_name}\" is progressing."),
                    now,
                );
                if let Some(cur) = &current
                    && cur.status == "True"
                {
                    c.last_transition = cur.last_transition;
                }
                // Upstream removes and re-adds, so the update time moves on.
                status.remove_condition(PROGRESSING);
                status.conditions.push(c);
            } else if timed_out(&d, current.as_ref(), now) {
                let already = current
                    .as_ref()
                    .is_some_and(|c| c.reason == TIMED_OUT_REASON);
                status.set_condition(condition(
                    PROGRESSING,
                    "False",
                    TIMED_OUT_REASON,
                    format!("ReplicaSet \"{new_name}\" has timed out progressing."),
                    now,
                ));
                if !already {
                    // Upstream writes only the condition; kubesim also logs it, as
                    // `kubectl rollout status` reports it.
                    api.record(
                        now,
                        EventType::Warning,
                        TIMED_OUT_REASON,
                        format!("deployment/{}", d.name),
                        format!(
                            "Deployment \"{}\" exceeded its progress deadline: ReplicaSet \"{new_name}\" has timed out progressing.",
                            d.name
                        ),
                    );
                }
            }
        }
        if api.deployment(key).status == status {
            return Ok(requeue_stuck(
                &d,
                status.condition(PROGRESSING),
                &counts,
                now,
            ));
        }
        api.update_deployment_status(ctx, key, status)
            .map_err(|_| ())?;
        Ok(None)
    }
}

/// Upstream `calculateStatus`'s counts over the sync's ReplicaSets, with the spec they use.
fn counts(
    api: &ApiServer,
    key: WorkloadId,
    sets: &Sets,
) -> (DeploymentInfo, util::DeploymentStatusCounts) {
    let dinfo = info(&api.deployment(key).d);
    let all: Vec<RsInfo> = sets.all().iter().map(|id| rs_info(api, *id)).collect();
    let new_info = sets.new.map(|id| rs_info(api, id));
    let counts = util::calculate_status(&all, new_info.as_ref(), &dinfo);
    (dinfo, counts)
}

fn timed_out(d: &Deployment, progressing: Option<&Condition>, now: SimTime) -> bool {
    let Some(c) = progressing else { return false };
    if c.reason == NEW_RS_AVAILABLE_REASON {
        return false;
    }
    if c.reason == TIMED_OUT_REASON {
        return true;
    }
    util::deployment_timed_out(&info(d), c.last_update, now)
}

/// Upstream `requeueStuckDeployment`: when the status did not change, come back when the
/// progress deadline would pass.
fn requeue_stuck(
    d: &Deployment,
    progressing: Option<&Condition>,
    counts: &util::DeploymentStatusCounts,
    now: SimTime,
) -> Option<SimDuration> {
    let deadline = d.progress_deadline_seconds?;
    let c = progressing?;
    let dinfo = info(d);
    if util::deployment_complete(&dinfo, counts, true) || c.reason == TIMED_OUT_REASON {
        return None;
    }
    let due = c
        .last_update
        .saturating_add(SimDuration::from_secs(u64::try_from(deadline).unwrap_or(0)));
    let after = due.since(now.min(due));
    // Upstream: "If the deadline is less than a second away, requeue now (rate limited)".
    Some(after.max(SimDuration::from_secs(1)))
}

fn apply_counts(status: &mut DeploymentStatus, c: &util::DeploymentStatusCounts, generation: i64) {
    status.observed_generation = generation;
    status.replicas = c.replicas;
    status.updated_replicas = c.updated_replicas;
    status.ready_replicas = c.ready_replicas;
    status.available_replicas = c.available_replicas;
    status.unavailable_replicas = c.unavailable_replicas;
}

/// Upstream `calculateStatus`'s Available condition.
fn set_available_condition(
    status: &mut DeploymentStatus,
    c: &util::DeploymentStatusCounts,
    d: &DeploymentInfo,
    now: SimTime,
) {
    if c.available_replicas >= d.replicas - util::max_unavailable(d) {
        status.set_condition(condition(
            AVAILABLE,
            "True",
            MIN_AVAILABLE_REASON,
            "Deployment has minimum availability.".into(),
            now,
        ));
    } else {
        status.set_condition(condition(
            AVAILABLE,
            "False",
            MIN_UNAVAILABLE_REASON,
            "Deployment does not have minimum availability.".into(),
            now,
        ));
    }
}

/// Upstream `SetDeploymentRevision`: the Deployment's own revision annotation.
fn set_deployment_revision(
    api: &mut ApiServer,
    ctx: &mut Context<'_, Event>,
    key: WorkloadId,
    revision: i64,
) -> Result<(), ()> {
    let value = revision.to_string();
    if api.deployment(key).d.annotations.get(REVISION_ANNOTATION) == Some(&value) {
        return Ok(());
    }
    api.update_deployment(ctx, key, |d| {
        d.annotations.insert(REVISION_ANNOTATION.into(), value);
    })
    .map_err(|_| ())
}

impl Reconciler for DeploymentController {
    type Key = WorkloadId;

    fn on_change(
        &mut self,
        change: &Change,
        api: &ApiServer,
        _now: SimTime,
        enqueue: &mut dyn FnMut(WorkloadId),
    ) {
        match change.kind {
            ObjectKind::Deployment => enqueue(WorkloadId(change.id)),
            ObjectKind::ReplicaSet => {
                let rs = &api.replica_sets[change.id as usize];
                match &rs.rs.owner {
                    Some(o) if o.kind == OwnerKind::Deployment => enqueue(o.id),
                    Some(_) => {}
                    None => {
                        // An orphan: the Deployments that would adopt it look.
                        if change.op == Op::Deleted {
                            return;
                        }
                        for d in &api.deployments {
                            if d.exists()
                                && d.d.namespace == rs.rs.namespace
                                && d.d.selector.matches(&rs.rs.template.pod.labels)
                            {
                                enqueue(d.id);
                            }
                        }
                    }
                }
            }
            ObjectKind::Pod if change.op == Op::Deleted => {
                // Upstream `deletePod`: a Recreate Deployment waits for its old pods to go.
                let r = api.store.pod(crate::api::PodId(change.id));
                if let Some(o) = &r.pod.owner
                    && let Some(rs) = api.replica_sets.get(o.id.index())
                    && let Some(d) = &rs.rs.owner
                    && let Some(dep) = api.deployments.get(d.id.index())
                    && dep.d.strategy == DeploymentStrategy::Recreate
                {
                    enqueue(d.id);
                }
            }
            _ => {}
        }
    }

    fn sync(
        &mut self,
        key: WorkloadId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> SyncOutcome {
        let obj = api.deployment(key);
        if obj.deleted {
            return SyncOutcome::Done;
        }
        let Ok(rss) = self.claim(key, api, ctx) else {
            return SyncOutcome::Failed;
        };
        let sets = self.split(api, key, &rss);
        let obj = api.deployment(key);
        let mut status = obj.status.clone();
        let (paused, deleting) = (obj.d.paused, obj.deletion_timestamp.is_some());
        let now = ctx.now();
        if deleting {
            // Upstream `syncStatusOnly`.
            return match self.sync_scale_status_only(key, sets, status, api, ctx) {
                Ok(()) => SyncOutcome::Done,
                Err(()) => SyncOutcome::Failed,
            };
        }
        // Upstream `checkPausedConditions`.
        if obj.d.progress_deadline_seconds.is_some() {
            let cond = status.condition(PROGRESSING);
            let timed_out = cond.is_some_and(|c| c.reason == TIMED_OUT_REASON);
            let paused_cond = cond.is_some_and(|c| c.reason == PAUSED_REASON);
            if !timed_out {
                if paused && !paused_cond {
                    status.set_condition(condition(
                        PROGRESSING,
                        "Unknown",
                        PAUSED_REASON,
                        "Deployment is paused".into(),
                        now,
                    ));
                } else if !paused && paused_cond {
                    status.set_condition(condition(
                        PROGRESSING,
                        "Unknown",
                        RESUMED_REASON,
                        "Deployment is resumed".into(),
                        now,
                    ));
                }
            }
        }
        let replicas = obj.d.replicas;
        let recreate = obj.d.strategy == DeploymentStrategy::Recreate;
        let result = if paused || is_scaling_event(api, &sets, replicas) {
            self.sync_scale(key, sets, status, api, ctx)
        } else if recreate {
            self.rollout_recreate(key, sets, status, api, ctx)
        } else {
            self.rollout_rolling(key, sets, status, api, ctx)
        };
        match result {
            Ok(None) => SyncOutcome::Done,
            Ok(Some(after)) => SyncOutcome::RequeueAfter(after),
            Err(()) => SyncOutcome::Failed,
        }
    }
}

impl DeploymentController {
    fn sync_scale_status_only(
        &self,
        key: WorkloadId,
        mut sets: Sets,
        mut status: DeploymentStatus,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<(), ()> {
        self.new_replica_set(key, &mut sets, false, &mut status, api, ctx)?;
        let (dinfo, counts) = counts(api, key, &sets);
        apply_counts(&mut status, &counts, api.deployment(key).generation);
        set_available_condition(&mut status, &counts, &dinfo, ctx.now());
        api.update_deployment_status(ctx, key, status)
            .map_err(|_| ())
    }
}

/// Upstream `isScalingEvent`: an active ReplicaSet's desired-replicas annotation differs from
/// the Deployment's replicas.
fn is_scaling_event(api: &ApiServer, sets: &Sets, replicas: i32) -> bool {
    let infos: Vec<RsInfo> = sets.all().iter().map(|id| rs_info(api, *id)).collect();
    util::desired_replicas_annotation_differs(&infos, replicas)
}
