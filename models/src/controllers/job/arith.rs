//! The Job controller's arithmetic from upstream `pkg/controller/job/job_controller.go`
//! (`syncJob`, `manageJob`), the Job defaults of `pkg/apis/batch/v1/defaults.go` and the
//! expiry of `ttlSecondsAfterFinished` from `pkg/controller/ttlafterfinished`.
//!
//! The feature gates are at their current defaults: `JobPodReplacementPolicy`, `JobManagedBy`,
//! `JobBackoffLimitPerIndex` and `JobSuccessPolicy` on. In particular a Job's terminal condition
//! is delayed (upstream `delayTerminalCondition`): it first gets `FailureTarget` or
//! `SuccessCriteriaMet`, and `Failed` or `Complete` only once no pod is terminating.

use sim_core::{SimDuration, SimTime};

use crate::api::PodPhase;
use crate::controllers::controller_utils::{SLOW_START_INITIAL_BATCH_SIZE, slow_start_batch_sizes};

/// Upstream `MaxPodCreateDeletePerSync`: pods created or deleted by one sync at most.
pub const MAX_POD_CREATE_DELETE_PER_SYNC: i32 = 500;
/// Upstream `MaxUncountedPods`: the cap on `status.uncountedTerminatedPods` per sync.
pub const MAX_UNCOUNTED_PODS: usize = 500;
/// Upstream `syncJobBatchPeriod`: pod events for a Job are batched this long.
pub const SYNC_JOB_BATCH_PERIOD: SimDuration = SimDuration::from_secs(1);
/// Upstream `DefaultJobApiBackOff`: first requeue delay of a failed sync.
pub const DEFAULT_JOB_API_BACK_OFF: SimDuration = SimDuration::from_secs(1);
/// Upstream `MaxJobApiBackOff`: the cap on a failed sync's requeue delay.
pub const MAX_JOB_API_BACK_OFF: SimDuration = SimDuration::from_mins(1);
/// Upstream `batch.JobTrackingFinalizer`.
pub const JOB_TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";

/// Upstream `SetDefaults_Job`: `spec.backoffLimit` when unset.
pub const DEFAULT_BACKOFF_LIMIT: i32 = 6;
/// Upstream `SetDefaults_Job`: `spec.backoffLimit` when unset and `backoffLimitPerIndex` is set.
pub const DEFAULT_BACKOFF_LIMIT_WITH_PER_INDEX: i32 = i32::MAX;
/// Upstream `SetDefaults_Job`: `spec.parallelism` when unset.
pub const DEFAULT_PARALLELISM: i32 = 1;
/// Upstream `SetDefaults_Job`: `spec.completions` when neither it nor parallelism is set.
pub const DEFAULT_COMPLETIONS: i32 = 1;

/// batch/v1 `CompletionMode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CompletionMode {
    #[default]
    NonIndexed,
    Indexed,
}

/// batch/v1 `PodReplacementPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodReplacementPolicy {
    /// Replace a pod as soon as it is terminating or failed.
    TerminatingOrFailed,
    /// Replace a pod only once it has fully terminated (phase `Failed`).
    Failed,
}

/// The `spec` fields `SetDefaults_Job` fills in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobSpecDefaults {
    pub completions: Option<i32>,
    pub parallelism: Option<i32>,
    pub backoff_limit: Option<i32>,
    pub backoff_limit_per_index: Option<i32>,
    pub completion_mode: Option<CompletionMode>,
    pub suspend: Option<bool>,
    pub pod_replacement_policy: Option<PodReplacementPolicy>,
    pub manual_selector: Option<bool>,
    /// `spec.podFailurePolicy` is set (it changes the replacement policy's default).
    pub has_pod_failure_policy: bool,
}

/// Upstream `SetDefaults_Job` (batch/v1). The defaulting of `onPodConditions[].status` is
/// [`super::failure_policy::DEFAULT_ON_POD_CONDITIONS_STATUS`].
pub fn set_defaults_job(spec: &mut JobSpecDefaults) {
    if spec.completions.is_none() && spec.parallelism.is_none() {
        spec.completions = Some(DEFAULT_COMPLETIONS);
        spec.parallelism = Some(DEFAULT_PARALLELISM);
    }
    spec.parallelism.get_or_insert(DEFAULT_PARALLELISM);
    if spec.backoff_limit.is_none() {
        spec.backoff_limit = Some(if spec.backoff_limit_per_index.is_some() {
            DEFAULT_BACKOFF_LIMIT_WITH_PER_INDEX
        } else {
            DEFAULT_BACKOFF_LIMIT
        });
    }
    spec.completion_mode
        .get_or_insert(CompletionMode::NonIndexed);
    spec.suspend.get_or_insert(false);
    spec.pod_replacement_policy
        .get_or_insert(if spec.has_pod_failure_policy {
            PodReplacementPolicy::Failed
        } else {
            PodReplacementPolicy::TerminatingOrFailed
        });
    spec.manual_selector.get_or_insert(false);
}

/// Upstream `onlyReplaceFailedPods`: replacement pods wait for the old ones to reach `Failed`.
pub fn only_replace_failed_pods(
    pod_replacement_policy: Option<PodReplacementPolicy>,
    has_pod_failure_policy: bool,
) -> bool {
    pod_replacement_policy == Some(PodReplacementPolicy::Failed) || has_pod_failure_policy
}

/// Upstream `isPodFailed`: phase `Failed`, or (unless only failed pods are replaced) deleted
/// before it succeeded.
pub fn is_pod_failed(phase: PodPhase, being_deleted: bool, only_replace_failed: bool) -> bool {
    if phase == PodPhase::Failed {
        return true;
    }
    !only_replace_failed && being_deleted && phase != PodPhase::Succeeded
}

/// `wantActive` of upstream `manageJob`: without `completions`, `parallelism` until some pod
/// succeeded and then whatever is running; with `completions`, the remaining completions
/// clamped to `[0, parallelism]`.
pub fn want_active(completions: Option<i32>, parallelism: i32, succeeded: i32, active: i32) -> i32 {
    match completions {
        None if succeeded > 0 => active,
        None => parallelism,
        Some(completions) => completions.wrapping_sub(succeeded).min(parallelism).max(0),
    }
}

/// `rmAtLeast` of upstream `manageJob`: active pods beyond `wantActive`. (For an Indexed Job,
/// `activePodsForRemoval` adds the pods with duplicate, invalid or missing indexes.)
pub fn rm_at_least(active: i32, want_active: i32) -> i32 {
    active.wrapping_sub(want_active).max(0)
}

/// `diff` of upstream `manageJob`: how many pods to create, before the backoff check and the
/// per-sync cap. `terminating` counts only when the Job replaces failed pods only (upstream
/// `onlyReplaceFailedPods`); pass 0 otherwise.
pub fn pods_to_create(want_active: i32, terminating: i32, active: i32) -> i32 {
    want_active
        .wrapping_sub(terminating)
        .wrapping_sub(active)
        .max(0)
}

/// Upstream `manageJob`'s cap: at most [`MAX_POD_CREATE_DELETE_PER_SYNC`] creations or deletions
/// per sync.
pub fn cap_per_sync(count: i32) -> i32 {
    count.min(MAX_POD_CREATE_DELETE_PER_SYNC)
}

/// The slow-start batches of upstream `manageJob`'s creation loop: from
/// `SlowStartInitialBatchSize` (1), doubling, capped by what remains. A batch with a failed
/// creation ends the loop, and the pods of later batches are not attempted.
pub fn creation_batch_sizes(diff: i32) -> Vec<i32> {
    slow_start_batch_sizes(diff, SLOW_START_INITIAL_BATCH_SIZE)
}

/// Upstream `pastActiveDeadline`: `activeDeadlineSeconds` is set, the Job has started, is not
/// suspended, and has been active at least that long.
pub fn past_active_deadline(
    active_deadline_seconds: Option<i64>,
    start_time: Option<SimTime>,
    suspended: bool,
    now: SimTime,
) -> bool {
    let (Some(deadline), Some(start)) = (active_deadline_seconds, start_time) else {
        return false;
    };
    if suspended {
        return false;
    }
    signed_nanos(now, start) >= i128::from(deadline) * 1_000_000_000
}

/// The requeue upstream `syncJob` asks for while a deadline is pending:
/// `activeDeadlineSeconds - (now - startTime)` (a negative wait is immediate).
pub fn active_deadline_requeue_after(
    active_deadline_seconds: i64,
    start_time: SimTime,
    now: SimTime,
) -> SimDuration {
    let left = i128::from(active_deadline_seconds) * 1_000_000_000 - signed_nanos(now, start_time);
    nanos_to_duration(left)
}

/// `exceedsBackoffLimit` of upstream `syncJob`: more failed pods than `backoffLimit`.
pub fn exceeds_backoff_limit(failed: i32, backoff_limit: i32) -> bool {
    failed > backoff_limit
}

/// Upstream `pastBackoffLimitOnFailure`: with `restartPolicy: OnFailure`, the container
/// restarts (init and regular, summed over pending and running pods) reach `backoffLimit` (any
/// restart when it is 0). Each entry is a pod's phase and its restart counts' sum.
pub fn past_backoff_limit_on_failure(
    restart_policy_on_failure: bool,
    pods: &[(PodPhase, i32)],
    backoff_limit: i32,
) -> bool {
    if !restart_policy_on_failure {
        return false;
    }
    let restarts = pods
        .iter()
        .filter(|(phase, _)| matches!(phase, PodPhase::Running | PodPhase::Pending))
        .fold(0i32, |sum, (_, n)| sum.wrapping_add(*n));
    if backoff_limit == 0 {
        restarts > 0
    } else {
        restarts >= backoff_limit
    }
}

/// batch/v1 `JobConditionType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobConditionType {
    Suspended,
    Complete,
    Failed,
    FailureTarget,
    SuccessCriteriaMet,
}

impl JobConditionType {
    pub fn as_str(self) -> &'static str {
        match self {
            JobConditionType::Suspended => "Suspended",
            JobConditionType::Complete => "Complete",
            JobConditionType::Failed => "Failed",
            JobConditionType::FailureTarget => "FailureTarget",
            JobConditionType::SuccessCriteriaMet => "SuccessCriteriaMet",
        }
    }
}

/// Upstream `batch.JobReasonPodFailurePolicy`.
pub const JOB_REASON_POD_FAILURE_POLICY: &str = "PodFailurePolicy";
/// Upstream `batch.JobReasonBackoffLimitExceeded`.
pub const JOB_REASON_BACKOFF_LIMIT_EXCEEDED: &str = "BackoffLimitExceeded";
/// Upstream `batch.JobReasonDeadlineExceeded`.
pub const JOB_REASON_DEADLINE_EXCEEDED: &str = "DeadlineExceeded";
/// Upstream `batch.JobReasonMaxFailedIndexesExceeded`.
pub const JOB_REASON_MAX_FAILED_INDEXES_EXCEEDED: &str = "MaxFailedIndexesExceeded";
/// Upstream `batch.JobReasonFailedIndexes`.
pub const JOB_REASON_FAILED_INDEXES: &str = "FailedIndexes";
/// Upstream `batch.JobReasonSuccessPolicy`.
pub const JOB_REASON_SUCCESS_POLICY: &str = "SuccessPolicy";
/// Upstream `batch.JobReasonCompletionsReached`.
pub const JOB_REASON_COMPLETIONS_REACHED: &str = "CompletionsReached";

pub const MESSAGE_BACKOFF_LIMIT_EXCEEDED: &str = "Job has reached the specified backoff limit";
pub const MESSAGE_DEADLINE_EXCEEDED: &str = "Job was active longer than specified deadline";
pub const MESSAGE_MAX_FAILED_INDEXES_EXCEEDED: &str =
    "Job has exceeded the specified maximal number of failed indexes";
pub const MESSAGE_FAILED_INDEXES: &str = "Job has failed indexes";
pub const MESSAGE_COMPLETIONS_REACHED: &str = "Reached expected number of succeeded pods";

/// A Job condition (status `True`) as upstream `newCondition` builds it; both times are `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobCondition {
    pub condition_type: JobConditionType,
    pub reason: String,
    pub message: String,
    pub last_transition_time: SimTime,
}

fn new_condition(t: JobConditionType, reason: &str, message: &str, now: SimTime) -> JobCondition {
    JobCondition {
        condition_type: t,
        reason: reason.to_string(),
        message: message.to_string(),
        last_transition_time: now,
    }
}

/// Upstream `newFailureCondition`: the interim `FailureTarget` (terminal condition delayed).
pub fn new_failure_condition(reason: &str, message: &str, now: SimTime) -> JobCondition {
    new_condition(JobConditionType::FailureTarget, reason, message, now)
}

/// Upstream `newSuccessCondition`: the interim `SuccessCriteriaMet`, reason
/// `CompletionsReached`.
pub fn new_success_condition(now: SimTime) -> JobCondition {
    new_condition(
        JobConditionType::SuccessCriteriaMet,
        JOB_REASON_COMPLETIONS_REACHED,
        MESSAGE_COMPLETIONS_REACHED,
        now,
    )
}

/// The terminal condition that follows an interim one (upstream
/// `newFailedConditionForFailureTarget`, and `Complete` after `SuccessCriteriaMet` in
/// `trackJobStatusAndRemoveFinalizers`), with its reason and message; a terminal condition is
/// returned as is.
pub fn terminal_condition_for(interim: &JobCondition, now: SimTime) -> JobCondition {
    let t = match interim.condition_type {
        JobConditionType::FailureTarget => JobConditionType::Failed,
        JobConditionType::SuccessCriteriaMet => JobConditionType::Complete,
        other => other,
    };
    new_condition(t, &interim.reason, &interim.message, now)
}

/// What `syncJob` reads to decide whether a Job has finished before `manageJob` runs.
#[derive(Clone, Debug, Default)]
pub struct FinishInputs<'a> {
    /// The Job already has `SuccessCriteriaMet=True` (reason, message).
    pub success_criteria_met: Option<(&'a str, &'a str)>,
    /// The Job already has `FailureTarget=True` (reason, message).
    pub failure_target: Option<(&'a str, &'a str)>,
    /// Upstream `getFailJobMessage`: the first failed pod's `FailJob` message.
    pub fail_job_message: Option<&'a str>,
    /// `failed > backoffLimit` ([`exceeds_backoff_limit`]).
    pub exceeds_backoff_limit: bool,
    /// [`past_backoff_limit_on_failure`].
    pub past_backoff_limit_on_failure: bool,
    /// [`past_active_deadline`].
    pub past_active_deadline: bool,
    /// Indexed Job with `backoffLimitPerIndex`: failed and succeeded index counts,
    /// `maxFailedIndexes` and `completions`.
    pub per_index: Option<PerIndexCounts>,
    /// Indexed Job: the message of the first success-policy rule met (upstream
    /// `matchSuccessPolicy`).
    pub success_policy_message: Option<&'a str>,
}

/// Index totals for the `backoffLimitPerIndex` checks of `syncJob`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerIndexCounts {
    pub failed_indexes: i64,
    pub succeeded_indexes: i64,
    pub max_failed_indexes: Option<i32>,
    pub completions: i32,
}

/// The `finishedCondition` upstream `syncJob` settles on before `manageJob`, in its order:
/// an existing `SuccessCriteriaMet`; an existing `FailureTarget` (now `Failed`); a `FailJob`
/// rule; the backoff limit; the active deadline; failed indexes; the success policy.
pub fn finished_condition_before_manage(
    input: &FinishInputs<'_>,
    now: SimTime,
) -> Option<JobCondition> {
    if let Some((reason, message)) = input.success_criteria_met {
        return Some(new_condition(
            JobConditionType::SuccessCriteriaMet,
            reason,
            message,
            now,
        ));
    }
    if let Some((reason, message)) = input.failure_target {
        return Some(new_condition(
            JobConditionType::Failed,
            reason,
            message,
            now,
        ));
    }
    if let Some(message) = input.fail_job_message {
        return Some(new_condition(
            JobConditionType::FailureTarget,
            JOB_REASON_POD_FAILURE_POLICY,
            message,
            now,
        ));
    }
    if input.exceeds_backoff_limit || input.past_backoff_limit_on_failure {
        return Some(new_failure_condition(
            JOB_REASON_BACKOFF_LIMIT_EXCEEDED,
            MESSAGE_BACKOFF_LIMIT_EXCEEDED,
            now,
        ));
    }
    if input.past_active_deadline {
        return Some(new_failure_condition(
            JOB_REASON_DEADLINE_EXCEEDED,
            MESSAGE_DEADLINE_EXCEEDED,
            now,
        ));
    }
    if let Some(c) = input.per_index {
        if c.max_failed_indexes
            .is_some_and(|max| c.failed_indexes > i64::from(max))
        {
            return Some(new_failure_condition(
                JOB_REASON_MAX_FAILED_INDEXES_EXCEEDED,
                MESSAGE_MAX_FAILED_INDEXES_EXCEEDED,
                now,
            ));
        }
        if c.failed_indexes > 0
            && c.failed_indexes.saturating_add(c.succeeded_indexes) >= i64::from(c.completions)
        {
            return Some(new_failure_condition(
                JOB_REASON_FAILED_INDEXES,
                MESSAGE_FAILED_INDEXES,
                now,
            ));
        }
    }
    input.success_policy_message.map(|message| {
        new_condition(
            JobConditionType::SuccessCriteriaMet,
            JOB_REASON_SUCCESS_POLICY,
            message,
            now,
        )
    })
}

/// `complete` of upstream `syncJob` after `manageJob`: no pod active, and some pod succeeded
/// (without `completions`) or `completions` pods succeeded.
pub fn is_complete(completions: Option<i32>, succeeded: i32, active: i32) -> bool {
    active == 0
        && match completions {
            None => succeeded > 0,
            Some(completions) => succeeded >= completions,
        }
}

/// The gate of upstream `enactJobFinished`: the terminal condition is written only once every
/// finished pod is counted and no pod is terminating.
pub fn can_enact_job_finished(uncounted_terminated_pods: usize, terminating: i32) -> bool {
    uncounted_terminated_pods == 0 && terminating <= 0
}

/// Upstream `getFinishAndExpireTime` (ttlafterfinished): when a Job finished at `finished_at`
/// (the `lastTransitionTime` of its `Complete` or `Failed` condition) expires.
pub fn ttl_expire_at(finished_at: SimTime, ttl_seconds_after_finished: i32) -> SimTime {
    let nanos =
        i128::from(finished_at.as_nanos()) + i128::from(ttl_seconds_after_finished) * 1_000_000_000;
    SimTime::from_nanos(u64::try_from(nanos.max(0)).unwrap_or(u64::MAX))
}

/// Upstream `timeLeft` (ttlafterfinished): `None` when the Job needs no cleanup (not finished,
/// or no `ttlSecondsAfterFinished`), else the time left (zero once expired: upstream deletes
/// when it is `<= 0`) and the expiry time.
pub fn ttl_time_left(
    finished_at: Option<SimTime>,
    ttl_seconds_after_finished: Option<i32>,
    now: SimTime,
) -> Option<(SimDuration, SimTime)> {
    let expire_at = ttl_expire_at(finished_at?, ttl_seconds_after_finished?);
    Some((nanos_to_duration(signed_nanos(expire_at, now)), expire_at))
}

fn signed_nanos(later: SimTime, earlier: SimTime) -> i128 {
    i128::from(later.as_nanos()) - i128::from(earlier.as_nanos())
}

fn nanos_to_duration(nanos: i128) -> SimDuration {
    SimDuration::from_nanos(u64::try_from(nanos.max(0)).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> SimDuration = SimDuration::from_secs;

    // upstream pkg/apis/batch/v1/defaults.go SetDefaults_Job
    #[test]
    fn defaults_follow_set_defaults_job() {
        let mut spec = JobSpecDefaults::default();
        set_defaults_job(&mut spec);
        assert_eq!(
            spec,
            JobSpecDefaults {
                completions: Some(1),
                parallelism: Some(1),
                backoff_limit: Some(6),
                backoff_limit_per_index: None,
                completion_mode: Some(CompletionMode::NonIndexed),
                suspend: Some(false),
                pod_replacement_policy: Some(PodReplacementPolicy::TerminatingOrFailed),
                manual_selector: Some(false),
                has_pod_failure_policy: false,
            }
        );
        // Parallelism alone leaves completions unset (a work-queue Job).
        let mut spec = JobSpecDefaults {
            parallelism: Some(3),
            ..Default::default()
        };
        set_defaults_job(&mut spec);
        assert_eq!((spec.completions, spec.parallelism), (None, Some(3)));
        let mut spec = JobSpecDefaults {
            completions: Some(5),
            backoff_limit_per_index: Some(1),
            has_pod_failure_policy: true,
            ..Default::default()
        };
        set_defaults_job(&mut spec);
        assert_eq!(spec.parallelism, Some(1));
        assert_eq!(spec.backoff_limit, Some(i32::MAX));
        assert_eq!(
            spec.pod_replacement_policy,
            Some(PodReplacementPolicy::Failed)
        );
    }

    // upstream pkg/controller/job/job_controller.go manageJob (wantActive, rmAtLeast, diff)
    #[test]
    fn manage_job_counts() {
        // No completions: parallelism until the first success, then leave what runs.
        assert_eq!(want_active(None, 3, 0, 1), 3);
        assert_eq!(want_active(None, 3, 1, 2), 2);
        // Completions: what remains, clamped to parallelism, never negative.
        assert_eq!(want_active(Some(5), 2, 1, 0), 2);
        assert_eq!(want_active(Some(5), 10, 3, 0), 2);
        assert_eq!(want_active(Some(5), 10, 7, 0), 0);
        assert_eq!(rm_at_least(5, 2), 3);
        assert_eq!(rm_at_least(1, 2), 0);
        assert_eq!(pods_to_create(5, 0, 2), 3);
        assert_eq!(pods_to_create(5, 2, 2), 1);
        assert_eq!(pods_to_create(1, 2, 0), 0);
        assert_eq!(cap_per_sync(2000), 500);
        assert_eq!(creation_batch_sizes(10), vec![1, 2, 4, 3]);
        assert_eq!(creation_batch_sizes(0), Vec::<i32>::new());
    }

    // upstream pkg/controller/job/job_controller_test.go TestJobBackoffForOnFailure: the rows'
    // (backoffLimit, restart counts, phase) and whether the Job fails with BackoffLimitExceeded.
    #[test]
    fn past_backoff_limit_on_failure_table() {
        use PodPhase::{Pending, Running};
        let cases: Vec<(&str, i32, Vec<i32>, PodPhase, bool)> = vec![
            (
                "backoffLimit 0 should have 1 pod active",
                0,
                vec![0],
                Running,
                false,
            ),
            (
                "backoffLimit 1 with restartCount 0 should have 1 pod active",
                1,
                vec![0],
                Running,
                false,
            ),
            (
                "backoffLimit 1 with restartCount 1 and podRunning should have 0 pod active",
                1,
                vec![1],
                Running,
                true,
            ),
            (
                "backoffLimit 1 with restartCount 1 and podPending should have 0 pod active",
                1,
                vec![1],
                Pending,
                true,
            ),
            (
                "too many job failures with podRunning - single pod",
                2,
                vec![2],
                Running,
                true,
            ),
            (
                "too many job failures with podPending - single pod",
                2,
                vec![2],
                Pending,
                true,
            ),
            (
                "too many job failures with podRunning - multiple pods",
                2,
                vec![1, 1],
                Running,
                true,
            ),
            (
                "too many job failures with podPending - multiple pods",
                2,
                vec![1, 1],
                Pending,
                true,
            ),
            ("not enough failures", 3, vec![1, 1], Running, false),
        ];
        for (name, limit, restarts, phase, want) in cases {
            let pods: Vec<(PodPhase, i32)> = restarts.iter().map(|&r| (phase, r)).collect();
            assert_eq!(
                past_backoff_limit_on_failure(true, &pods, limit),
                want,
                "{name}"
            );
            assert!(
                !past_backoff_limit_on_failure(false, &pods, limit),
                "{name}: Never"
            );
        }
        // Finished pods' restarts do not count.
        assert!(!past_backoff_limit_on_failure(
            true,
            &[(PodPhase::Failed, 9)],
            1
        ));
    }

    // upstream pkg/controller/job/job_controller_test.go TestJobBackoffOnRestartPolicyNever:
    // (backoffLimit, failed pods) and whether the Job fails.
    #[test]
    fn exceeds_backoff_limit_table() {
        let cases = [
            (
                "not enough failures with backoffLimit 0 - single pod",
                0,
                0,
                false,
            ),
            (
                "not enough failures with backoffLimit 1 - single pod",
                1,
                1,
                false,
            ),
            (
                "too many failures with backoffLimit 1 - single pod",
                1,
                2,
                true,
            ),
            (
                "not enough failures with backoffLimit 6 - multiple pods",
                6,
                6,
                false,
            ),
            (
                "too many failures with backoffLimit 6 - multiple pods",
                6,
                7,
                true,
            ),
        ];
        for (name, limit, failed, want) in cases {
            assert_eq!(exceeds_backoff_limit(failed, limit), want, "{name}");
        }
    }

    #[test]
    fn active_deadline() {
        let start = SimTime::ZERO + S(100);
        assert!(!past_active_deadline(
            None,
            Some(start),
            false,
            start + S(1000)
        ));
        assert!(!past_active_deadline(
            Some(10),
            None,
            false,
            start + S(1000)
        ));
        assert!(!past_active_deadline(
            Some(10),
            Some(start),
            true,
            start + S(1000)
        ));
        assert!(!past_active_deadline(
            Some(10),
            Some(start),
            false,
            start + S(9)
        ));
        assert!(past_active_deadline(
            Some(10),
            Some(start),
            false,
            start + S(10)
        ));
        assert_eq!(active_deadline_requeue_after(10, start, start + S(4)), S(6));
        assert_eq!(
            active_deadline_requeue_after(10, start, start + S(40)),
            S(0)
        );
    }

    #[test]
    fn finished_conditions_in_sync_job_order() {
        let now = SimTime::ZERO + S(5);
        let backoff = FinishInputs {
            exceeds_backoff_limit: true,
            past_active_deadline: true,
            ..Default::default()
        };
        let c = finished_condition_before_manage(&backoff, now).expect("fails");
        assert_eq!(c.condition_type, JobConditionType::FailureTarget);
        assert_eq!(c.reason, "BackoffLimitExceeded");
        assert_eq!(c.message, "Job has reached the specified backoff limit");
        let final_c = terminal_condition_for(&c, now);
        assert_eq!(final_c.condition_type, JobConditionType::Failed);
        assert_eq!(final_c.reason, "BackoffLimitExceeded");

        let deadline = FinishInputs {
            past_active_deadline: true,
            ..Default::default()
        };
        let c = finished_condition_before_manage(&deadline, now).expect("fails");
        assert_eq!(c.reason, "DeadlineExceeded");
        assert_eq!(c.message, "Job was active longer than specified deadline");

        let policy = FinishInputs {
            fail_job_message: Some("m"),
            exceeds_backoff_limit: true,
            ..Default::default()
        };
        let c = finished_condition_before_manage(&policy, now).expect("fails");
        assert_eq!(
            (c.condition_type, c.reason.as_str()),
            (JobConditionType::FailureTarget, "PodFailurePolicy")
        );

        let target = FinishInputs {
            failure_target: Some(("PodFailurePolicy", "m")),
            ..Default::default()
        };
        let c = finished_condition_before_manage(&target, now).expect("fails");
        assert_eq!(c.condition_type, JobConditionType::Failed);

        let per_index = |failed, max| FinishInputs {
            per_index: Some(PerIndexCounts {
                failed_indexes: failed,
                succeeded_indexes: 2,
                max_failed_indexes: max,
                completions: 4,
            }),
            ..Default::default()
        };
        let c = finished_condition_before_manage(&per_index(2, Some(1)), now).expect("fails");
        assert_eq!(c.reason, "MaxFailedIndexesExceeded");
        let c = finished_condition_before_manage(&per_index(2, None), now).expect("fails");
        assert_eq!(c.reason, "FailedIndexes");
        assert_eq!(
            finished_condition_before_manage(&per_index(1, None), now),
            None
        );

        let c = new_success_condition(now);
        assert_eq!(c.condition_type, JobConditionType::SuccessCriteriaMet);
        assert_eq!(c.reason, "CompletionsReached");
        assert_eq!(
            terminal_condition_for(&c, now).condition_type,
            JobConditionType::Complete
        );
        assert_eq!(
            finished_condition_before_manage(&FinishInputs::default(), now),
            None
        );
    }

    #[test]
    fn completion() {
        assert!(is_complete(None, 1, 0));
        assert!(!is_complete(None, 1, 1));
        assert!(!is_complete(None, 0, 0));
        assert!(is_complete(Some(3), 3, 0));
        assert!(!is_complete(Some(3), 2, 0));
        assert!(can_enact_job_finished(0, 0));
        assert!(!can_enact_job_finished(1, 0));
        assert!(!can_enact_job_finished(0, 1));
    }

    #[test]
    fn pod_failed_and_replacement_policy() {
        assert!(only_replace_failed_pods(
            Some(PodReplacementPolicy::Failed),
            false
        ));
        assert!(only_replace_failed_pods(
            Some(PodReplacementPolicy::TerminatingOrFailed),
            true
        ));
        assert!(!only_replace_failed_pods(
            Some(PodReplacementPolicy::TerminatingOrFailed),
            false
        ));
        assert!(is_pod_failed(PodPhase::Failed, false, true));
        assert!(is_pod_failed(PodPhase::Running, true, false));
        assert!(!is_pod_failed(PodPhase::Running, true, true));
        assert!(!is_pod_failed(PodPhase::Succeeded, true, false));
    }

    // upstream pkg/controller/ttlafterfinished/ttlafterfinished_controller_test.go TestTimeLeft
    #[test]
    fn ttl_time_left_table() {
        let now = SimTime::ZERO + S(1000);
        let ago = |s: u64| SimTime::from_nanos(now.as_nanos() - S(s).as_nanos());
        // Complete and Failed jobs read the same finish time, so each row stands for both.
        #[allow(clippy::type_complexity)]
        let cases: Vec<(
            &str,
            Option<SimTime>,
            Option<i32>,
            Option<(SimDuration, SimTime)>,
        )> = vec![
            ("Error case: Job unfinished", None, Some(100), None),
            (
                "Error case: Job completed now, no TTL",
                Some(now),
                None,
                None,
            ),
            (
                "Job completed now, 0s TTL",
                Some(now),
                Some(0),
                Some((S(0), now)),
            ),
            (
                "Job completed now, 10s TTL",
                Some(now),
                Some(10),
                Some((S(10), now + S(10))),
            ),
            (
                "Job completed 10s ago, 15s TTL",
                Some(ago(10)),
                Some(15),
                Some((S(5), now + S(5))),
            ),
        ];
        for (name, finished, ttl, want) in cases {
            assert_eq!(ttl_time_left(finished, ttl, now), want, "{name}");
        }
    }
}
