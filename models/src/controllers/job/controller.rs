//! The Job controller's reconciler (upstream `pkg/controller/job/job_controller.go`, `syncJob`
//! and `manageJob`), with the TTL-after-finished controller (`pkg/controller/ttlafterfinished`)
//! folded in: a finished Job with `ttlSecondsAfterFinished` is requeued until it expires and
//! then deleted with foreground propagation.
//!
//! Pods carry no finalizers here, so the `batch.kubernetes.io/job-tracking` finalizer's job —
//! make sure every finished pod is counted exactly once — is done by remembering, per Job, the
//! pods already counted, and the pods the watch showed that may since have gone.

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;
use sim_core::{Context, SimDuration, SimTime};

use super::arith::{
    self, JOB_REASON_BACKOFF_LIMIT_EXCEEDED, JOB_REASON_COMPLETIONS_REACHED,
    JOB_REASON_DEADLINE_EXCEEDED, JOB_REASON_FAILED_INDEXES,
    JOB_REASON_MAX_FAILED_INDEXES_EXCEEDED, JOB_REASON_POD_FAILURE_POLICY,
    JOB_REASON_SUCCESS_POLICY, JobCondition, JobConditionType,
};
use super::backoff::{
    self, BackoffRecord, DEFAULT_JOB_POD_FAILURE_BACK_OFF, FinishedPod,
    MAX_JOB_POD_FAILURE_BACK_OFF,
};
use super::failure_policy::{
    self, ContainerExit, FailedPod, PodConditionView, PodFailurePolicy,
    PodFailurePolicyOnExitCodesOperator, PodFailurePolicyOnExitCodesRequirement,
    PodFailurePolicyOnPodConditionsPattern, PodFailurePolicyRule,
};
use super::indexed::{
    self, IndexedPod, JOB_COMPLETION_INDEX_ANNOTATION, JOB_INDEX_FAILURE_COUNT_ANNOTATION,
    JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION, OrderedIntervals,
};
use crate::api::batch::{ExitCodeOperator, PodFailurePolicyAction};
use crate::api::{
    CompletionMode, Job, OwnerKind, OwnerRef, PodId, PodPhase, RestartPolicy, WorkloadId,
};
use crate::apiserver::{ApiServer, Change, Condition, ObjectKind, Op};
use crate::cluster::Event;
use crate::controllers::controller_utils::{ControllerExpectations, PodRank, pods_to_delete};
use crate::controllers::names::random_suffix;
use crate::controllers::replicaset::is_pod_active;
use crate::controllers::{Reconciler, SyncOutcome};
use crate::events::EventType;
use crate::scenario::Propagation;
use crate::store::PodRecord;

/// Upstream `batch.ControllerUidLabel` (and the legacy `controller-uid`), set on the template
/// when the selector is generated.
pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
pub const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
/// Upstream `batch.JobNameLabel` (and the legacy `job-name`).
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
pub const LEGACY_JOB_NAME_LABEL: &str = "job-name";
/// Upstream `batch.JobCompletionIndexAnnotation` as a label (feature `PodIndexLabel`, GA).
pub const JOB_COMPLETION_INDEX_LABEL: &str = "batch.kubernetes.io/job-completion-index";
/// Upstream `validation.maxGeneratedNameLength`: the generate-name prefix is cut to this.
const MAX_GENERATED_NAME_PREFIX: usize = 63 - 5;

/// A Job's `metadata.uid`, deterministic from its id (a recreated Job gets a new id).
pub fn job_uid(id: WorkloadId) -> String {
    format!("00000000-0000-4000-8000-{:012x}", id.0)
}

/// What the controller keeps per Job between syncs.
#[derive(Default)]
struct JobState {
    /// Finished pods already added to `status.succeeded` / `status.failed` (the pods whose
    /// tracking finalizer upstream would have removed).
    counted: BTreeSet<PodId>,
    /// Pods the watch showed for this Job: a pod removed before a sync saw it terminal is still
    /// counted (the finalizer would have kept it).
    seen: BTreeSet<PodId>,
    /// Pods this controller deleted in `manageJob` and has not yet seen go.
    deleting: BTreeSet<PodId>,
    /// Upstream `podBackoffStore`'s record.
    backoff: Option<BackoffRecord<WorkloadId>>,
}

#[derive(Default)]
pub struct JobController {
    expectations: ControllerExpectations,
    jobs: BTreeMap<WorkloadId, JobState>,
}

/// Upstream `isPodFailed` on a pod record: a pod removed from the API server counts as deleted.
fn pod_failed(r: &PodRecord, only_replace_failed: bool) -> bool {
    let being_deleted = r.deletion_timestamp.is_some() || r.deleted_at.is_some();
    arith::is_pod_failed(r.phase, being_deleted, only_replace_failed)
}

/// Upstream `controller.IsPodTerminating`: not terminal and being deleted (still present).
fn pod_terminating(r: &PodRecord) -> bool {
    r.is_active()
        && r.deletion_timestamp.is_some()
        && !matches!(r.phase, PodPhase::Succeeded | PodPhase::Failed)
}

/// Upstream `getFinishedTime` for a kubesim pod: its container's finish, else the deletion.
fn finished_time(r: &PodRecord) -> SimTime {
    backoff::get_finished_time(&backoff::FinishTimeInputs {
        containers: vec![r.finished_at],
        sidecars: Vec::new(),
        ready_false_since: None,
        deletion: r
            .deletion_timestamp
            .or(r.deleted_at)
            .map(|t| (t, r.pod.termination_grace_period_seconds)),
        created: r.created_at,
    })
}

fn completion_index(r: &PodRecord) -> Option<i64> {
    indexed::get_completion_index(
        r.pod
            .annotations
            .get(JOB_COMPLETION_INDEX_ANNOTATION)
            .map(String::as_str),
    )
}

/// Upstream `hasBackoffLimitPerIndex` (the feature is GA): an Indexed Job with
/// `backoffLimitPerIndex`.
fn has_backoff_limit_per_index(job: &Job) -> bool {
    job.completion_mode == CompletionMode::Indexed && job.backoff_limit_per_index.is_some()
}

/// The pod's `(job-index-failure-count, job-index-ignored-failure-count)` annotations.
fn index_failure_counts(r: &PodRecord) -> (Option<&str>, Option<&str>) {
    let a = &r.pod.annotations;
    (
        a.get(JOB_INDEX_FAILURE_COUNT_ANNOTATION)
            .map(String::as_str),
        a.get(JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION)
            .map(String::as_str),
    )
}

/// Upstream `getIndexAbsoluteFailureCount` of a pod.
fn absolute_failure_count(r: &PodRecord) -> i32 {
    let (failures, ignored) = index_failure_counts(r);
    indexed::get_index_absolute_failure_count(failures, ignored)
}

/// The Job's `spec.podFailurePolicy` in the pure matcher's terms (`None` without rules).
fn failure_policy_of(job: &Job) -> Option<PodFailurePolicy> {
    if job.pod_failure_policy.is_empty() {
        return None;
    }
    let rules = job
        .pod_failure_policy
        .iter()
        .map(|r| PodFailurePolicyRule {
            action: match r.action {
                PodFailurePolicyAction::FailJob => failure_policy::PodFailurePolicyAction::FailJob,
                PodFailurePolicyAction::FailIndex => {
                    failure_policy::PodFailurePolicyAction::FailIndex
                }
                PodFailurePolicyAction::Ignore => failure_policy::PodFailurePolicyAction::Ignore,
                PodFailurePolicyAction::Count => failure_policy::PodFailurePolicyAction::Count,
            },
            on_exit_codes: r.on_exit_codes.as_ref().map(|e| {
                PodFailurePolicyOnExitCodesRequirement {
                    container_name: e.container_name.clone(),
                    operator: match e.operator {
                        ExitCodeOperator::In => PodFailurePolicyOnExitCodesOperator::In,
                        ExitCodeOperator::NotIn => PodFailurePolicyOnExitCodesOperator::NotIn,
                    },
                    values: e.values.clone(),
                }
            }),
            on_pod_conditions: (!r.on_pod_conditions.is_empty()).then(|| {
                r.on_pod_conditions
                    .iter()
                    .map(|c| PodFailurePolicyOnPodConditionsPattern {
                        condition_type: c.type_.clone(),
                        status: match c.status.as_str() {
                            "False" => failure_policy::ConditionStatus::False,
                            "Unknown" => failure_policy::ConditionStatus::Unknown,
                            _ => failure_policy::ConditionStatus::True,
                        },
                    })
                    .collect()
            }),
        })
        .collect();
    Some(PodFailurePolicy { rules })
}

/// Upstream `matchPodFailurePolicy` on a kubesim pod: one container, named after the pod's
/// template, whose exit code the kubelet recorded; the `DisruptionTarget` condition when the
/// scheduler preempted it.
fn match_policy(
    policy: Option<&PodFailurePolicy>,
    r: &PodRecord,
) -> failure_policy::PodFailurePolicyMatch {
    // The main (first) container ended with the code the kubelet recorded; the others, if
    // any, are taken to have ended cleanly.
    let names: Vec<String> = r
        .pod
        .resources
        .as_ref()
        .map(|res| res.containers.iter().map(|c| c.name.clone()).collect())
        .filter(|n: &Vec<String>| !n.is_empty())
        .unwrap_or_else(|| vec!["main".to_string()]);
    let containers: Vec<ContainerExit> = names
        .into_iter()
        .enumerate()
        .map(|(i, name)| ContainerExit {
            name,
            exit_code: if i == 0 { r.exit_code } else { Some(0) },
            init: false,
        })
        .collect();
    let disruption = [PodConditionView {
        condition_type: "DisruptionTarget".to_string(),
        status: failure_policy::ConditionStatus::True,
    }];
    let conditions: &[PodConditionView] = if r.preempted_by_scheduler {
        &disruption
    } else {
        &[]
    };
    failure_policy::match_pod_failure_policy(
        policy,
        &FailedPod {
            namespace: &r.pod.namespace,
            name: &r.pod.name,
            containers: &containers,
            conditions,
        },
    )
}

/// Reasons as `&'static str` (API conditions and events keep static reasons).
fn static_reason(reason: &str) -> &'static str {
    match reason {
        JOB_REASON_BACKOFF_LIMIT_EXCEEDED => JOB_REASON_BACKOFF_LIMIT_EXCEEDED,
        JOB_REASON_DEADLINE_EXCEEDED => JOB_REASON_DEADLINE_EXCEEDED,
        JOB_REASON_POD_FAILURE_POLICY => JOB_REASON_POD_FAILURE_POLICY,
        JOB_REASON_MAX_FAILED_INDEXES_EXCEEDED => JOB_REASON_MAX_FAILED_INDEXES_EXCEEDED,
        JOB_REASON_FAILED_INDEXES => JOB_REASON_FAILED_INDEXES,
        JOB_REASON_SUCCESS_POLICY => JOB_REASON_SUCCESS_POLICY,
        JOB_REASON_COMPLETIONS_REACHED => JOB_REASON_COMPLETIONS_REACHED,
        "JobSuspended" => "JobSuspended",
        "JobResumed" => "JobResumed",
        _ => "",
    }
}

fn to_api_condition(c: &JobCondition) -> Condition {
    Condition {
        type_: c.condition_type.as_str(),
        status: "True",
        reason: static_reason(&c.reason),
        message: c.message.clone(),
        last_update: c.last_transition_time,
        last_transition: c.last_transition_time,
    }
}

/// Upstream `ensureJobConditionStatus`: update the condition of `type_` when its status,
/// reason or message differ; append it only when its status is not `False`. Returns whether
/// the list changed.
pub fn ensure_job_condition_status(
    list: &mut Vec<Condition>,
    type_: &'static str,
    status: &'static str,
    reason: &'static str,
    message: &str,
    now: SimTime,
) -> bool {
    let fresh = Condition {
        type_,
        status,
        reason,
        message: message.to_string(),
        last_update: now,
        last_transition: now,
    };
    if let Some(c) = list.iter_mut().find(|c| c.type_ == type_) {
        if c.status != status || c.reason != reason || c.message != message {
            *c = fresh;
            return true;
        }
        return false;
    }
    if status != "False" {
        list.push(fresh);
        return true;
    }
    false
}

/// `generateName` of a NonIndexed Job's pods (upstream `controller.getPodsPrefix`): `<job>-`,
/// cut to the generated-name limit.
pub fn pod_generate_name(job_name: &str) -> String {
    let mut prefix = format!("{job_name}-");
    if prefix.len() > MAX_GENERATED_NAME_PREFIX {
        let mut keep = MAX_GENERATED_NAME_PREFIX;
        while !prefix.is_char_boundary(keep) {
            keep -= 1;
        }
        prefix.truncate(keep);
    }
    prefix
}

fn object_name(job: &Job) -> String {
    format!("job/{}", job.name)
}

/// Upstream `controller.ActivePods` order: the pods that are least far along first.
fn active_pods_for_removal(api: &ApiServer, pods: &[PodId], n: usize, now: SimTime) -> Vec<PodId> {
    let ranked: Vec<PodRank> = pods
        .iter()
        .map(|p| {
            let r = api.store.pod(*p);
            PodRank {
                assigned: r.node.is_some(),
                phase: r.phase,
                ready: r.ready,
                ready_since: r.ready_since,
                deletion_cost: 0,
                rank: 0,
                restarts: r.restarts,
                created: r.created_at,
                id: p.0,
            }
        })
        .collect();
    pods_to_delete(&ranked, n, now)
        .into_iter()
        .map(PodId)
        .collect()
}

/// What one sync found, as upstream's `syncJobCtx`.
struct SyncCtx {
    active_pods: Vec<PodId>,
    ready: i32,
    terminating: i32,
    succeeded: i32,
    failed: i32,
    /// Finished pods not yet counted, and whether each counts as failed.
    new_finished: Vec<(PodId, bool)>,
    succeeded_indexes: Option<OrderedIntervals>,
    /// Upstream `failedIndexes`: set for a Job with `backoffLimitPerIndex`.
    failed_indexes: Option<OrderedIntervals>,
    /// Upstream `podsWithDelayedDeletionPerIndex`: per index still to be retried, its last
    /// failed pod, which stays uncounted until its replacement carries the failure count on.
    delayed_per_index: BTreeMap<i64, PodId>,
    new_backoff: BackoffRecord<WorkloadId>,
}

impl JobController {
    fn deletion_observed(&mut self, job: WorkloadId, pod: PodId) {
        if let Some(state) = self.jobs.get_mut(&job)
            && state.deleting.remove(&pod)
        {
            self.expectations.deletion_observed(job.0);
        }
    }

    /// The TTL-after-finished controller's `processJob`: delete the Job once its TTL expired,
    /// else look again when it will have.
    fn process_ttl(
        &mut self,
        key: WorkloadId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> SyncOutcome {
        let now = ctx.now();
        let obj = api.object::<Job>(key);
        if obj.deletion_timestamp.is_some() {
            return SyncOutcome::Done;
        }
        let finished_at = obj.status.finished().map(|c| c.last_transition);
        let Some((left, _)) =
            arith::ttl_time_left(finished_at, obj.spec.ttl_seconds_after_finished, now)
        else {
            return SyncOutcome::Done;
        };
        if left > SimDuration::ZERO {
            return SyncOutcome::RequeueAfter(left);
        }
        match api.delete_object::<Job>(ctx, key, Propagation::Foreground) {
            Ok(()) => SyncOutcome::Done,
            Err(crate::apiserver::ApiError::NotFound) => SyncOutcome::Done,
            Err(_) => SyncOutcome::Failed,
        }
    }

    /// Upstream `getNewFinishedPods` / counting: the Job's pods, terminal or being deleted,
    /// that are not counted yet.
    fn gather(&mut self, key: WorkloadId, api: &ApiServer, now: SimTime) -> SyncCtx {
        let obj = api.object::<Job>(key);
        let job = &obj.spec;
        let only_replace_failed =
            arith::only_replace_failed_pods(None, !job.pod_failure_policy.is_empty());
        let policy = failure_policy_of(job);
        let indexed_mode = job.completion_mode == CompletionMode::Indexed;
        let completions = i64::from(job.completions.unwrap_or(0));
        let state = self.jobs.entry(key).or_default();
        let mut candidates: BTreeSet<PodId> = obj.pods.clone();
        candidates.extend(state.seen.iter().copied());
        let mut active_pods = Vec::new();
        let mut ready = 0;
        let mut terminating = 0;
        let mut new_finished = Vec::new();
        let mut finished_views = Vec::new();
        for p in candidates {
            let r = api.store.pod(p);
            if r.is_active() && is_pod_active(r) {
                active_pods.push(p);
                if r.ready {
                    ready += 1;
                }
            }
            if pod_terminating(r) {
                terminating += 1;
            }
            if state.counted.contains(&p) {
                continue;
            }
            if indexed_mode && completion_index(r).is_none_or(|ix| ix >= completions) {
                continue;
            }
            let failed = if r.phase == PodPhase::Succeeded {
                false
            } else if pod_failed(r, only_replace_failed) {
                true
            } else {
                continue;
            };
            new_finished.push((p, failed));
            finished_views.push(FinishedPod {
                finish_time: finished_time(r),
                failed,
                index: completion_index(r),
            });
        }
        let new_succeeded = new_finished.iter().filter(|(_, f)| !f).count() as i32;
        let new_failed = new_finished
            .iter()
            .filter(|(p, f)| *f && match_policy(policy.as_ref(), api.store.pod(*p)).count_failed)
            .count() as i32;
        let mut succeeded = obj.status.succeeded.saturating_add(new_succeeded);
        let succeeded_indexes = indexed_mode.then(|| {
            let prev =
                indexed::parse_indexes_from_string(&obj.status.completed_indexes, completions);
            let mut new: Vec<i64> = new_finished
                .iter()
                .filter(|(_, f)| !f)
                .filter_map(|(p, _)| completion_index(api.store.pod(*p)))
                .filter(|ix| *ix < completions && !prev.has(*ix))
                .collect();
            new.sort_unstable();
            new.dedup();
            prev.with_ordered_indexes(&new)
        });
        if let Some(ix) = &succeeded_indexes {
            succeeded = i32::try_from(ix.total()).unwrap_or(i32::MAX);
        }
        let new_backoff = backoff::new_backoff_record(key, state.backoff.as_ref(), &finished_views);
        let _ = now;
        let mut failed_indexes = None;
        let mut delayed_per_index = BTreeMap::new();
        if let (true, Some(limit), Some(succeeded_ix)) = (
            has_backoff_limit_per_index(job),
            job.backoff_limit_per_index,
            succeeded_indexes.as_ref(),
        ) {
            // Every not yet counted failed pod with a valid index (upstream: the failed pods
            // that still have the tracking finalizer).
            let failed_pods: Vec<(PodId, Option<i64>)> = new_finished
                .iter()
                .filter(|(_, f)| *f)
                .map(|(p, _)| (*p, completion_index(api.store.pod(*p))))
                .collect();
            let fi = indexed::calculate_failed_indexes(
                obj.status.failed_indexes.as_deref(),
                job.completions.unwrap_or(0),
                &failed_pods,
                |(_, ix)| IndexedPod {
                    index: *ix,
                    phase: PodPhase::Failed,
                    has_tracking_finalizer: true,
                },
                |(p, _)| {
                    let r = api.store.pod(*p);
                    let verdict = policy.as_ref().map(|_| match_policy(policy.as_ref(), r));
                    let (failures, _) = index_failure_counts(r);
                    indexed::is_index_failed(
                        true,
                        verdict
                            .as_ref()
                            .map(|m| (m.count_failed, m.action.as_ref())),
                        indexed::get_index_failure_count(failures),
                        limit,
                    )
                },
            );
            let active_ix = indexed::get_indexes(
                active_pods
                    .iter()
                    .map(|p| completion_index(api.store.pod(*p))),
            );
            for &(p, ix) in &failed_pods {
                let Some(ix) = ix else { continue };
                if succeeded_ix.has(ix) || fi.has(ix) || active_ix.contains(&ix) {
                    continue;
                }
                let r = api.store.pod(p);
                let replace = match delayed_per_index.get(&ix) {
                    Some(&last) => {
                        let last = api.store.pod(last);
                        absolute_failure_count(last) <= absolute_failure_count(r)
                            && finished_time(r) >= finished_time(last)
                    }
                    None => true,
                };
                if replace {
                    delayed_per_index.insert(ix, p);
                }
            }
            failed_indexes = Some(fi);
        }
        SyncCtx {
            active_pods,
            ready,
            terminating,
            succeeded,
            failed: obj.status.failed.saturating_add(new_failed),
            new_finished,
            succeeded_indexes,
            failed_indexes,
            delayed_per_index,
            new_backoff,
        }
    }

    /// Upstream `manageJob`: delete pods beyond `wantActive` (or all, while suspended), else
    /// create the missing ones in slow-start batches once the failure backoff has passed.
    /// Returns the active count after its writes and how long to wait before looking again.
    fn manage_job(
        &mut self,
        key: WorkloadId,
        jc: &mut SyncCtx,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<(i32, Option<SimDuration>), i32> {
        let now = ctx.now();
        let job = api.object::<Job>(key).spec.clone();
        let mut active = jc.active_pods.len() as i32;
        let want_active = if job.suspend {
            0
        } else {
            arith::want_active(job.completions, job.parallelism, jc.succeeded, active)
        };
        let rm_at_least = arith::rm_at_least(active, want_active);
        let mut to_delete = if job.completion_mode == CompletionMode::Indexed && !job.suspend {
            duplicated_index_pods(api, &jc.active_pods, job.completions.unwrap_or(0))
        } else {
            Vec::new()
        };
        if to_delete.len() < rm_at_least as usize {
            let left: Vec<PodId> = jc
                .active_pods
                .iter()
                .copied()
                .filter(|p| !to_delete.contains(p))
                .collect();
            let more =
                active_pods_for_removal(api, &left, rm_at_least as usize - to_delete.len(), now);
            to_delete.extend(more);
        }
        to_delete.truncate(arith::MAX_POD_CREATE_DELETE_PER_SYNC as usize);
        if !to_delete.is_empty() {
            self.expectations
                .expect_deletions(key.0, to_delete.len() as i64, now);
            self.jobs
                .entry(key)
                .or_default()
                .deleting
                .extend(to_delete.iter().copied());
            let (ready, removed, err) = self.delete_pods(key, &job, &to_delete, true, api, ctx);
            active -= removed;
            jc.terminating += removed;
            jc.ready -= ready;
            return if err { Err(active) } else { Ok((active, None)) };
        }
        let diff = arith::pods_to_create(want_active, 0, active);
        if diff <= 0 {
            return Ok((active, None));
        }
        let per_index = has_backoff_limit_per_index(&job);
        // With `backoffLimitPerIndex` each index waits for its own backoff instead.
        let remaining = if per_index {
            SimDuration::ZERO
        } else {
            backoff::get_remaining_time(
                &jc.new_backoff,
                now,
                DEFAULT_JOB_POD_FAILURE_BACK_OFF,
                MAX_JOB_POD_FAILURE_BACK_OFF,
            )
        };
        if remaining > SimDuration::ZERO {
            // Upstream returns 0 active here (a known quirk the status then shows).
            return Ok((0, Some(remaining)));
        }
        let mut diff = arith::cap_per_sync(diff);
        let mut indexes: Vec<i64> = Vec::new();
        if job.completion_mode == CompletionMode::Indexed {
            let completions = i64::from(job.completions.unwrap_or(0));
            let active_ix = indexed::get_indexes(
                jc.active_pods
                    .iter()
                    .map(|p| completion_index(api.store.pod(*p))),
            );
            let succeeded = jc.succeeded_indexes.clone().unwrap_or_default();
            indexes = indexed::first_pending_indexes(
                &active_ix,
                None,
                &succeeded,
                jc.failed_indexes.as_ref(),
                i64::from(diff),
                completions,
            );
            if per_index {
                let (now_indexes, wait) = creation_info_for_independent_indexes(
                    api,
                    &indexes,
                    &jc.delayed_per_index,
                    now,
                );
                if wait > SimDuration::ZERO {
                    // Upstream returns 0 active here too.
                    return Ok((0, Some(wait)));
                }
                indexes = now_indexes;
            }
            diff = indexes.len() as i32;
        }
        if diff == 0 {
            return Ok((active, None));
        }
        self.expectations
            .expect_creations(key.0, i64::from(diff), now);
        active += diff;
        let mut next_index = indexes.into_iter();
        let policy = failure_policy_of(&job);
        let mut failed = false;
        let mut remaining_to_create = diff;
        for batch in arith::creation_batch_sizes(diff) {
            let mut batch_failed = false;
            for _ in 0..batch {
                let index = next_index.next();
                // Upstream `addIndexFailureCountAnnotation`: the replacement carries the
                // index's failure counts on.
                let failure_counts = index.filter(|_| per_index).map(|ix| {
                    let replaced = jc.delayed_per_index.get(&ix).map(|p| {
                        let r = api.store.pod(*p);
                        let (failures, ignored) = index_failure_counts(r);
                        (
                            indexed::get_index_failure_count(failures),
                            ignored.map(indexed::parse_int32).unwrap_or(0),
                            policy
                                .as_ref()
                                .map(|_| match_policy(policy.as_ref(), r).count_failed),
                        )
                    });
                    indexed::get_new_index_failure_counts(replaced)
                });
                if self
                    .create_pod(key, &job, index, failure_counts, api, ctx)
                    .is_err()
                {
                    self.expectations.creation_observed(key.0);
                    active -= 1;
                    batch_failed = true;
                }
            }
            remaining_to_create -= batch;
            if batch_failed {
                failed = true;
                // Upstream: the pods of later batches are never attempted nor observed.
                for _ in 0..remaining_to_create {
                    self.expectations.creation_observed(key.0);
                }
                active -= remaining_to_create;
                break;
            }
        }
        if failed {
            Err(active)
        } else {
            Ok((active, None))
        }
    }

    fn create_pod(
        &mut self,
        key: WorkloadId,
        job: &Job,
        index: Option<i64>,
        failure_counts: Option<(i32, i32)>,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<(), ()> {
        let now = ctx.now();
        let mut pod = job.template.pod.clone();
        pod.namespace = job.namespace.clone();
        let uid = job_uid(key);
        pod.labels.insert(CONTROLLER_UID_LABEL, uid.clone());
        pod.labels.insert(LEGACY_CONTROLLER_UID_LABEL, uid);
        pod.labels.insert(JOB_NAME_LABEL, job.name.clone());
        pod.labels.insert(LEGACY_JOB_NAME_LABEL, job.name.clone());
        let prefix = match index {
            Some(ix) => {
                pod.annotations
                    .insert(JOB_COMPLETION_INDEX_ANNOTATION.to_string(), ix.to_string());
                pod.labels
                    .insert(JOB_COMPLETION_INDEX_LABEL, ix.to_string());
                if let Some((failures, ignored)) = failure_counts {
                    pod.annotations.insert(
                        JOB_INDEX_FAILURE_COUNT_ANNOTATION.to_string(),
                        failures.to_string(),
                    );
                    if ignored > 0 {
                        pod.annotations.insert(
                            JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION.to_string(),
                            ignored.to_string(),
                        );
                    }
                }
                // Upstream `manageJob`: an indexed pod's hostname is `<job>-<index>`.
                pod.hostname = Some(indexed::pod_hostname_with_index(&job.name, ix));
                indexed::pod_generate_name_with_index(&job.name, ix)
            }
            None => pod_generate_name(&job.name),
        };
        pod.owner = Some(OwnerRef {
            kind: OwnerKind::Job,
            name: job.name.clone(),
            id: key,
        });
        pod.dumped = None;
        pod.name = loop {
            let name = format!("{prefix}{}", random_suffix(ctx.rng("job-controller-names")));
            if api
                .store
                .pod_id(&format!("{}/{name}", pod.namespace))
                .is_none()
            {
                break name;
            }
            let _ = ctx.rng("job-controller-names").random::<u8>();
        };
        let name = pod.name.clone();
        match api.create_pod(ctx, pod) {
            Ok(id) => {
                self.jobs.entry(key).or_default().seen.insert(id);
                api.record(
                    now,
                    EventType::Normal,
                    "SuccessfulCreate",
                    object_name(job),
                    format!("Created pod: {name}"),
                );
                Ok(())
            }
            Err(e) => {
                api.record(
                    now,
                    EventType::Warning,
                    "FailedCreate",
                    object_name(job),
                    format!("Error creating: {e}"),
                );
                Err(())
            }
        }
    }

    /// Upstream `deleteJobPods` (`expected`: deletions were expected, as in `manageJob`) and
    /// `deleteActivePods`. Returns the deleted ready pods, the deleted pods, and whether any
    /// deletion failed.
    fn delete_pods(
        &mut self,
        key: WorkloadId,
        job: &Job,
        pods: &[PodId],
        expected: bool,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> (i32, i32, bool) {
        let now = ctx.now();
        let mut ready = 0;
        let mut deleted = 0;
        let mut failed = false;
        for &p in pods {
            let r = api.store.pod(p);
            let was_ready = r.ready;
            let name = r.pod.name.clone();
            match api.delete_pod(ctx, p) {
                Ok(()) => {
                    deleted += 1;
                    api.record(
                        now,
                        EventType::Normal,
                        "SuccessfulDelete",
                        object_name(job),
                        format!("Deleted pod: {name}"),
                    );
                }
                Err(crate::apiserver::ApiError::NotFound) => {
                    if expected {
                        self.deletion_observed(key, p);
                    }
                    deleted += 1;
                }
                Err(e) => {
                    if expected {
                        self.deletion_observed(key, p);
                    }
                    failed = true;
                    api.record(
                        now,
                        EventType::Warning,
                        "FailedDelete",
                        object_name(job),
                        format!("Error deleting: {e}"),
                    );
                }
            }
            if was_ready {
                ready += 1;
            }
        }
        (ready, deleted, failed)
    }
}

/// Upstream `getPodCreationInfoForIndependentIndexes`: the indexes whose own backoff has
/// passed; when none has, the shortest wait among them.
fn creation_info_for_independent_indexes(
    api: &ApiServer,
    indexes: &[i64],
    delayed_per_index: &BTreeMap<i64, PodId>,
    now: SimTime,
) -> (Vec<i64>, SimDuration) {
    let mut ready = Vec::new();
    let mut min_wait: Option<SimDuration> = None;
    for &ix in indexes {
        let last_failed = delayed_per_index.get(&ix).map(|p| {
            let r = api.store.pod(*p);
            (absolute_failure_count(r), finished_time(r))
        });
        let wait = backoff::get_remaining_time_per_index(
            now,
            DEFAULT_JOB_POD_FAILURE_BACK_OFF,
            MAX_JOB_POD_FAILURE_BACK_OFF,
            last_failed,
        );
        if wait == SimDuration::ZERO {
            ready.push(ix);
        } else if min_wait.is_none_or(|m| wait < m) {
            min_wait = Some(wait);
        }
    }
    if !ready.is_empty() {
        return (ready, SimDuration::ZERO);
    }
    (ready, min_wait.unwrap_or(SimDuration::ZERO))
}

/// Upstream `appendDuplicatedIndexPodsForRemoval`: active pods of an Indexed Job whose index is
/// missing, out of range, or held by another active pod (one pod per index stays).
fn duplicated_index_pods(api: &ApiServer, active: &[PodId], completions: i32) -> Vec<PodId> {
    let completions = i64::from(completions);
    let mut by_index: BTreeMap<i64, Vec<PodId>> = BTreeMap::new();
    let mut rm = Vec::new();
    for &p in active {
        match completion_index(api.store.pod(p)) {
            Some(ix) if ix < completions => by_index.entry(ix).or_default().push(p),
            _ => rm.push(p),
        }
    }
    for pods in by_index.values() {
        if pods.len() > 1 {
            let now = SimTime::ZERO;
            // Keep the most advanced pod: remove all but the last in removal order.
            let order = active_pods_for_removal(api, pods, pods.len(), now);
            rm.extend(order.iter().take(pods.len() - 1).copied());
        }
    }
    rm
}

impl Reconciler for JobController {
    type Key = WorkloadId;

    fn on_change(
        &mut self,
        change: &Change,
        api: &ApiServer,
        _now: SimTime,
        enqueue: &mut dyn FnMut(WorkloadId),
    ) {
        match change.kind {
            ObjectKind::Job => {
                let id = WorkloadId(change.id);
                if change.op == Op::Deleted {
                    self.expectations.delete_expectations(id.0);
                    self.jobs.remove(&id);
                }
                enqueue(id);
            }
            ObjectKind::Pod => {
                let pod = PodId(change.id);
                let r = api.store.pod(pod);
                let Some(o) = &r.pod.owner else { return };
                if o.kind != OwnerKind::Job || api.objects::<Job>().get(o.id).is_none() {
                    return;
                }
                let job = o.id;
                match change.op {
                    Op::Added => self.expectations.creation_observed(job.0),
                    Op::Deleting | Op::Deleted => self.deletion_observed(job, pod),
                    _ => {}
                }
                if api.object::<Job>(job).exists() {
                    self.jobs.entry(job).or_default().seen.insert(pod);
                }
                enqueue(job);
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
        let now = ctx.now();
        // A Job deleted long ago may have been forgotten: gone all the same.
        let Some(obj) = api.objects::<Job>().get(key).filter(|o| !o.deleted) else {
            self.expectations.delete_expectations(key.0);
            self.jobs.remove(&key);
            return SyncOutcome::Done;
        };
        // Upstream: a finished Job is not synced again (its backoff record goes).
        if obj.status.finished().is_some() {
            if let Some(s) = self.jobs.get_mut(&key) {
                s.backoff = None;
                s.seen.clear();
            }
            return self.process_ttl(key, api, ctx);
        }
        let satisfied = self.expectations.satisfied_expectations(key.0, now);
        let mut jc = self.gather(key, api, now);
        let obj = api.object::<Job>(key);
        let job = obj.spec.clone();
        let mut status = obj.status.clone();
        let job_deleting = obj.deletion_timestamp.is_some();
        let mut active = jc.active_pods.len() as i32;
        let mut requeue: Option<SimDuration> = None;
        if status.start_time.is_none() && !job.suspend {
            status.start_time = Some(now);
        }
        let policy = failure_policy_of(&job);

        let existing = |t: &str| {
            status
                .condition(t)
                .map(|c| (c.reason.to_string(), c.message.clone()))
        };
        let success_met = existing("SuccessCriteriaMet");
        let failure_target = existing("FailureTarget");
        let fail_job_message = if policy.is_some() {
            let only_replace_failed = arith::only_replace_failed_pods(None, true);
            obj.pods.iter().find_map(|p| {
                let r = api.store.pod(*p);
                if pod_failed(r, only_replace_failed) {
                    match_policy(policy.as_ref(), r).job_failure_message
                } else {
                    None
                }
            })
        } else {
            None
        };
        let restarts: Vec<(PodPhase, i32)> = obj
            .pods
            .iter()
            .map(|p| {
                let r = api.store.pod(*p);
                (r.phase, r.restarts)
            })
            .collect();
        let past_deadline = arith::past_active_deadline(
            job.active_deadline_seconds,
            status.start_time,
            job.suspend,
            now,
        );
        let inputs = arith::FinishInputs {
            success_criteria_met: success_met.as_ref().map(|(r, m)| (r.as_str(), m.as_str())),
            failure_target: failure_target
                .as_ref()
                .map(|(r, m)| (r.as_str(), m.as_str())),
            fail_job_message: fail_job_message.as_deref(),
            exceeds_backoff_limit: arith::exceeds_backoff_limit(jc.failed, job.backoff_limit),
            past_backoff_limit_on_failure: arith::past_backoff_limit_on_failure(
                job.template.pod.restart_policy == RestartPolicy::OnFailure,
                &restarts,
                job.backoff_limit,
            ),
            past_active_deadline: past_deadline,
            per_index: jc.failed_indexes.as_ref().map(|fi| arith::PerIndexCounts {
                failed_indexes: fi.total(),
                succeeded_indexes: jc.succeeded_indexes.as_ref().map_or(0, |s| s.total()),
                max_failed_indexes: job.max_failed_indexes,
                completions: job.completions.unwrap_or(0),
            }),
            success_policy_message: None,
        };
        let mut finished = arith::finished_condition_before_manage(&inputs, now);
        if finished.is_none()
            && !past_deadline
            && !job.suspend
            && let (Some(deadline), Some(start)) = (job.active_deadline_seconds, status.start_time)
        {
            requeue = Some(arith::active_deadline_requeue_after(deadline, start, now));
        }

        let mut failed_write = false;
        let mut suspend_changed = false;
        if finished.is_some() {
            let pods = jc.active_pods.clone();
            let (ready, deleted, err) = self.delete_pods(key, &job, &pods, false, api, ctx);
            if deleted != active || !satisfied {
                finished = None;
            }
            active -= deleted;
            jc.terminating += deleted;
            jc.ready -= ready;
            failed_write |= err;
        } else {
            let mut manage_called = false;
            if satisfied && !job_deleting {
                manage_called = true;
                match self.manage_job(key, &mut jc, api, ctx) {
                    Ok((a, wait)) => {
                        active = a;
                        if let Some(w) = wait {
                            requeue = Some(requeue.map_or(w, |r| r.min(w)));
                        }
                    }
                    Err(a) => {
                        active = a;
                        failed_write = true;
                    }
                }
            }
            if arith::is_complete(job.completions, jc.succeeded, active) {
                finished = Some(arith::new_success_condition(now));
            } else if manage_called {
                if job.suspend {
                    if ensure_job_condition_status(
                        &mut status.conditions,
                        "Suspended",
                        "True",
                        "JobSuspended",
                        "Job suspended",
                        now,
                    ) {
                        suspend_changed = true;
                        api.record(
                            now,
                            EventType::Normal,
                            "Suspended",
                            object_name(&job),
                            "Job suspended".to_string(),
                        );
                    }
                } else if ensure_job_condition_status(
                    &mut status.conditions,
                    "Suspended",
                    "False",
                    "JobResumed",
                    "Job resumed",
                    now,
                ) {
                    suspend_changed = true;
                    api.record(
                        now,
                        EventType::Normal,
                        "Resumed",
                        object_name(&job),
                        "Job resumed".to_string(),
                    );
                    // Upstream: `activeDeadlineSeconds` counts continuous activity, so a
                    // resumed Job starts its clock again.
                    status.start_time = Some(now);
                }
            }
        }
        let _ = suspend_changed;
        status.active = active;
        status.ready = jc.ready;
        status.terminating = jc.terminating;

        // Upstream `trackJobStatusAndRemoveFinalizers`: count the finished pods (every pod not
        // yet terminal counts as failed once the Job is failing), then add the interim and
        // terminal conditions.
        let failing = finished
            .as_ref()
            .is_some_and(|c| c.condition_type != JobConditionType::SuccessCriteriaMet);
        let mut newly_counted: Vec<PodId> = Vec::new();
        let mut add_succeeded = 0i32;
        let mut add_failed = 0i32;
        // Upstream `canRemoveFinalizer`: a failed pod awaiting its replacement stays uncounted
        // while the Job goes on.
        let delayed: BTreeSet<PodId> = if job_deleting || finished.is_some() {
            BTreeSet::new()
        } else {
            jc.delayed_per_index.values().copied().collect()
        };
        for &(p, failed) in &jc.new_finished {
            if delayed.contains(&p) {
                continue;
            }
            newly_counted.push(p);
            if failed {
                if match_policy(policy.as_ref(), api.store.pod(p)).count_failed {
                    add_failed += 1;
                }
            } else if jc.succeeded_indexes.is_none() {
                add_succeeded += 1;
            }
        }
        if failing && job.completion_mode == CompletionMode::NonIndexed {
            for &p in &jc.active_pods {
                if !newly_counted.contains(&p) {
                    newly_counted.push(p);
                    if match_policy(policy.as_ref(), api.store.pod(p)).count_failed {
                        add_failed += 1;
                    }
                }
            }
        }
        status.succeeded = status.succeeded.saturating_add(add_succeeded);
        status.failed = status.failed.saturating_add(add_failed);
        if let Some(ix) = &jc.succeeded_indexes {
            status.succeeded = i32::try_from(ix.total()).unwrap_or(i32::MAX);
            status.completed_indexes = ix.to_string();
            status.failed_indexes = jc.failed_indexes.as_ref().map(ToString::to_string);
        }
        let mut terminal = None;
        if let Some(c) = finished.take() {
            match c.condition_type {
                JobConditionType::FailureTarget => {
                    status.conditions.push(to_api_condition(&c));
                    terminal = Some(arith::terminal_condition_for(&c, now));
                }
                JobConditionType::SuccessCriteriaMet => {
                    if status.condition("SuccessCriteriaMet").is_none() {
                        status.conditions.push(to_api_condition(&c));
                    }
                    terminal = Some(arith::terminal_condition_for(&c, now));
                }
                _ => terminal = Some(c),
            }
        }
        // Upstream `enactJobFinished`: the terminal condition waits for terminating pods.
        let mut job_finished = None;
        if let Some(c) = terminal
            && arith::can_enact_job_finished(0, status.terminating)
        {
            ensure_job_condition_status(
                &mut status.conditions,
                c.condition_type.as_str(),
                "True",
                static_reason(&c.reason),
                &c.message,
                now,
            );
            if c.condition_type == JobConditionType::Complete {
                status.completion_time = Some(c.last_transition_time);
            }
            job_finished = Some(c);
        }
        if api
            .update_object_status::<Job>(ctx, key, status.clone())
            .is_err()
        {
            return SyncOutcome::Failed;
        }
        let state = self.jobs.entry(key).or_default();
        state.backoff = Some(jc.new_backoff.clone());
        for p in newly_counted {
            state.counted.insert(p);
        }
        // Pods still listed by the Job are found through it; keep only the ones that went.
        let listed = &api.object::<Job>(key).pods;
        let counted = &state.counted;
        state
            .seen
            .retain(|p| !listed.contains(p) && !counted.contains(p));
        if let Some(c) = job_finished {
            if c.condition_type == JobConditionType::Complete {
                if job.completions.is_some_and(|n| status.succeeded > n) {
                    api.record(
                        now,
                        EventType::Warning,
                        "TooManySucceededPods",
                        object_name(&job),
                        "Too many succeeded pods running after completion count reached"
                            .to_string(),
                    );
                }
                api.record(
                    now,
                    EventType::Normal,
                    "Completed",
                    object_name(&job),
                    "Job completed".to_string(),
                );
            } else {
                api.record(
                    now,
                    EventType::Warning,
                    static_reason(&c.reason),
                    object_name(&job),
                    c.message.clone(),
                );
            }
            return self.process_ttl(key, api, ctx);
        }
        if failed_write {
            return SyncOutcome::Failed;
        }
        match requeue {
            Some(d) => SyncOutcome::RequeueAfter(d),
            None => SyncOutcome::Done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(status: &'static str, reason: &'static str) -> Condition {
        Condition {
            type_: "Suspended",
            status,
            reason,
            message: String::new(),
            last_update: SimTime::ZERO,
            last_transition: SimTime::ZERO,
        }
    }

    /// (name, have, want status, want reason, expected list, expected update)
    type Case = (
        &'static str,
        Vec<Condition>,
        &'static str,
        &'static str,
        Vec<Condition>,
        bool,
    );

    // upstream pkg/controller/job/job_controller_test.go TestEnsureJobConditions
    #[test]
    fn ensure_job_condition_status_matches_upstream_table() {
        let cases: Vec<Case> = vec![
            (
                "append true condition",
                vec![],
                "True",
                "foo",
                vec![cond("True", "foo")],
                true,
            ),
            (
                "append false condition",
                vec![],
                "False",
                "foo",
                vec![],
                false,
            ),
            (
                "update true condition reason",
                vec![cond("True", "foo")],
                "True",
                "bar",
                vec![cond("True", "bar")],
                true,
            ),
            (
                "update true condition status",
                vec![cond("True", "foo")],
                "False",
                "foo",
                vec![cond("False", "foo")],
                true,
            ),
            (
                "update false condition status",
                vec![cond("False", "foo")],
                "True",
                "foo",
                vec![cond("True", "foo")],
                true,
            ),
            (
                "condition already exists",
                vec![cond("True", "foo")],
                "True",
                "foo",
                vec![cond("True", "foo")],
                false,
            ),
        ];
        for (name, mut have, status, reason, want, update) in cases {
            let got = ensure_job_condition_status(
                &mut have,
                "Suspended",
                status,
                reason,
                "",
                SimTime::ZERO,
            );
            assert_eq!(got, update, "{name}");
            assert_eq!(have, want, "{name}");
        }
    }

    // upstream pkg/controller/controller_utils.go getPodsPrefix: "<controller>-", cut to the
    // generated-name limit (63 - 5).
    #[test]
    fn generate_name_is_the_job_name_and_a_dash_cut_to_the_limit() {
        assert_eq!(pod_generate_name("pi"), "pi-");
        let long = "a".repeat(80);
        let prefix = pod_generate_name(&long);
        assert_eq!(prefix.len(), 58);
        assert!(prefix.bytes().all(|b| b == b'a'));
    }

    #[test]
    fn job_uids_are_distinct_per_id() {
        assert_ne!(job_uid(WorkloadId(0)), job_uid(WorkloadId(1)));
        assert_eq!(job_uid(WorkloadId(1)).len(), 36);
    }

    #[test]
    fn reasons_keep_their_text() {
        for r in [
            JOB_REASON_BACKOFF_LIMIT_EXCEEDED,
            JOB_REASON_DEADLINE_EXCEEDED,
            JOB_REASON_POD_FAILURE_POLICY,
            JOB_REASON_COMPLETIONS_REACHED,
        ] {
            assert_eq!(static_reason(r), r);
        }
    }
}
