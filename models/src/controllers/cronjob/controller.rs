//! The CronJob controller's reconciler (upstream `pkg/controller/cronjob/cronjob_controllerv2.go`
//! `sync`, `syncCronJob`, `cleanupFinishedJobs`, and `utils.go` `getJobFromTemplate2`,
//! `byJobStartTime`). The schedule arithmetic is in [`super::schedule`].
//!
//! Time: the controller reads the calendar as `wall_time(epoch_unix_secs, now)`; times the API
//! server keeps (`creationTimestamp`, `lastScheduleTime`, a Job's `startTime`) are read at the
//! one-second precision of `metav1.Time`, which is what an informer hands upstream's controller.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use sim_core::{Context, SimDuration, SimTime};

use super::schedule::{
    CronJobTimes, CronSchedule, TOO_MANY_MISSED_TIMES_MESSAGE, TOO_MANY_MISSED_TIMES_REASON,
    TimeZone, job_name, next_schedule_time, next_schedule_time_duration, sim_time, wall_time,
};
use crate::api::{ConcurrencyPolicy, CronJob, Job, LabelSelector, OwnerKind, OwnerRef, WorkloadId};
use crate::apiserver::{ApiError, ApiServer, Change, CronJobStatus, JobStatus, ObjectKind, Op};
use crate::cluster::Event;
use crate::controllers::{Reconciler, SyncOutcome};
use crate::events::EventType;
use crate::scenario::Propagation;

/// `batchv1.CronJobScheduledTimestampAnnotation`: the scheduled time of the run, RFC 3339 in
/// the CronJob's time zone.
pub const CRON_JOB_SCHEDULED_TIMESTAMP_ANNOTATION: &str =
    "batch.kubernetes.io/cronjob-scheduled-timestamp";
/// The label the Job API server puts on a Job's pod template (`batchv1.JobNameLabel`), and
/// its legacy twin.
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
pub const LEGACY_JOB_NAME_LABEL: &str = "job-name";

/// What upstream's `updateCronJob` does when `spec.schedule` or `spec.timeZone` changed: it
/// does not sync now but requeues at the next schedule time, or records that the new schedule
/// does not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ScheduleChange {
    RequeueAt(SimTime),
    Unparseable,
}

#[derive(Default)]
pub struct CronJobController {
    /// The wall-clock instant of simulated time zero, in Unix seconds (the scenario's start):
    /// schedules are read on the calendar.
    pub epoch_unix_secs: i64,
    /// The informer's last view of each CronJob's schedule and zone, to tell a schedule change
    /// from any other update.
    seen_schedules: BTreeMap<WorkloadId, (String, Option<String>)>,
    /// Schedule changes whose delayed requeue is still to be placed.
    schedule_changes: BTreeMap<WorkloadId, ScheduleChange>,
    /// Keys some handler enqueued for an immediate sync since their last sync.
    direct: BTreeSet<WorkloadId>,
    /// Keys enqueued only to place a schedule change's delayed requeue: no sync now.
    deferred_only: BTreeSet<WorkloadId>,
}

/// A Job as the controller read it at the start of a sync (upstream's lister copies).
#[derive(Clone, Debug)]
struct JobView {
    id: WorkloadId,
    name: String,
    status: JobStatus,
}

/// Upstream `getFinishedStatus` / `jobutil.FinishedCondition`: the first `Complete` or `Failed`
/// condition that is True, in the order the conditions are listed.
pub fn finished_condition(status: &JobStatus) -> Option<&'static str> {
    status
        .conditions
        .iter()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        .map(|c| {
            if c.type_ == "Complete" {
                "Complete"
            } else {
                "Failed"
            }
        })
}

/// Upstream `jobutil.IsJobSucceeded`.
fn is_job_succeeded(status: &JobStatus) -> bool {
    status
        .conditions
        .iter()
        .any(|c| c.type_ == "Complete" && c.status == "True")
}

/// A `metav1.Time` as the API server hands it back: whole seconds.
fn api_time(t: SimTime) -> SimTime {
    let ns = SimDuration::from_secs(1).as_nanos();
    SimTime::from_nanos(t.as_nanos() / ns * ns)
}

/// Upstream `byJobStartTime.Less`: by `status.startTime` (unset last), then by name.
pub fn by_job_start_time(a: (Option<SimTime>, &str), b: (Option<SimTime>, &str)) -> Ordering {
    match (a.0.map(api_time), b.0.map(api_time)) {
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (x, y) if x == y => a.1.cmp(b.1),
        (x, y) => x.cmp(&y),
    }
}

/// Go `t.In(loc).Format(time.RFC3339)`: `Z` for a zero offset, else `±hh:mm`.
pub fn format_rfc3339(t: DateTime<Utc>, zone: TimeZone) -> String {
    match zone {
        TimeZone::Utc => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        TimeZone::Iana(tz) => {
            let local = t.with_timezone(&tz);
            let offset = chrono::Offset::fix(local.offset()).local_minus_utc();
            if offset == 0 {
                local.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            } else {
                local.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
            }
        }
    }
}

/// Go `t.UTC().Format(time.RFC1123Z)`.
pub fn format_rfc1123z(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S %z").to_string()
}

/// Upstream `formatSchedule`: the spec handed to the cron parser (a valid `spec.timeZone` as a
/// `TZ=` prefix), and whether the schedule itself names a zone (upstream warns
/// `UnsupportedSchedule` then).
pub fn format_schedule(cj: &CronJob) -> (String, bool) {
    if cj.schedule.contains("TZ") {
        return (cj.schedule.clone(), true);
    }
    match &cj.time_zone {
        Some(tz) if TimeZone::load_location(tz).is_ok() => {
            (format!("TZ={tz} {}", cj.schedule), false)
        }
        _ => (cj.schedule.clone(), false),
    }
}

/// Upstream `getJobFromTemplate2`: the Job for the run scheduled at `scheduled_time`. Labels and
/// annotations are the template's, plus the scheduled-timestamp annotation; the owner is the
/// CronJob. The selector and pod labels the Job API server would generate (`job-name`) are
/// added here, since this API server does not generate them; a template that brings its own
/// selector (`manualSelector`) keeps it.
pub fn job_from_template(
    cj: &CronJob,
    cron_job_id: WorkloadId,
    scheduled_time: DateTime<Utc>,
) -> Result<Job, String> {
    let zone = TimeZone::load_location(cj.time_zone.as_deref().unwrap_or(""))?;
    let mut job = cj.job_template.clone();
    let name = job_name(&cj.name, scheduled_time);
    job.annotations.insert(
        CRON_JOB_SCHEDULED_TIMESTAMP_ANNOTATION.to_string(),
        format_rfc3339(scheduled_time, zone),
    );
    job.namespace = cj.namespace.clone();
    job.owner = Some(OwnerRef {
        kind: OwnerKind::CronJob,
        name: cj.name.clone(),
        id: cron_job_id,
    });
    if job.selector.requirements.is_empty() {
        job.template
            .pod
            .labels
            .insert(JOB_NAME_LABEL, name.as_str());
        job.template
            .pod
            .labels
            .insert(LEGACY_JOB_NAME_LABEL, name.as_str());
        job.selector = LabelSelector::from_match_labels([(JOB_NAME_LABEL, name.as_str())]);
    }
    job.template.pod.namespace = cj.namespace.clone();
    job.name = name;
    Ok(job)
}

/// Why `syncCronJob` stopped early with an error (upstream requeues with backoff).
struct SyncError;

impl CronJobController {
    fn now(&self, ctx: &Context<'_, Event>) -> DateTime<Utc> {
        wall_time(self.epoch_unix_secs, ctx.now())
    }

    fn wall(&self, t: SimTime) -> DateTime<Utc> {
        wall_time(self.epoch_unix_secs, t)
    }

    fn times(&self, api: &ApiServer, key: WorkloadId, status: &CronJobStatus) -> CronJobTimes {
        let obj = api.object::<CronJob>(key);
        CronJobTimes {
            creation_timestamp: self.wall(api_time(obj.created)),
            last_schedule_time: status.last_schedule_time.map(|t| self.wall(t)),
            starting_deadline_seconds: obj.spec.starting_deadline_seconds,
        }
    }

    /// Upstream `cleanupFinishedJobs`: keeps the newest `successfulJobsHistoryLimit` complete
    /// and `failedJobsHistoryLimit` failed Jobs. Returns whether the status changed.
    fn cleanup_finished_jobs(
        &self,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
        cj: &CronJob,
        status: &mut CronJobStatus,
        jobs: &[JobView],
    ) -> bool {
        let mut successful = Vec::new();
        let mut failed = Vec::new();
        for j in jobs {
            match finished_condition(&j.status) {
                Some("Complete") => successful.push(j),
                Some(_) => failed.push(j),
                None => {}
            }
        }
        let mut update = false;
        for (list, limit) in [
            (successful, cj.successful_jobs_history_limit),
            (failed, cj.failed_jobs_history_limit),
        ] {
            update |= remove_oldest_jobs(api, ctx, cj, status, list, limit);
        }
        update
    }

    /// Upstream `syncCronJob`: returns the requeue delay, whether the status changed, and
    /// whether it stopped on an error.
    #[allow(clippy::too_many_lines)]
    fn sync_cron_job(
        &self,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
        key: WorkloadId,
        cj: &mut CronJob,
        status: &mut CronJobStatus,
        jobs: &[JobView],
    ) -> (Option<SimDuration>, bool, Result<(), SyncError>) {
        let now = self.now(ctx);
        let t = ctx.now();
        let object = format!("cronjob/{}", cj.name);
        let mut update = false;

        let mut children = BTreeSet::new();
        for j in jobs {
            children.insert(j.id);
            let found = status.active.contains(&j.id);
            let finished = finished_condition(&j.status);
            match finished {
                None if !found => {
                    // Upstream re-reads the CronJob from the API server before deciding the
                    // Job is unexpected, and continues with that copy if it lists the Job.
                    let fresh = api.object::<CronJob>(key);
                    if fresh.status.active.contains(&j.id) {
                        *cj = fresh.spec.clone();
                        *status = fresh.status.clone();
                        continue;
                    }
                    api.record(
                        t,
                        EventType::Warning,
                        "UnexpectedJob",
                        object.clone(),
                        format!(
                            "Saw a job that the controller did not create or forgot: {}",
                            j.name
                        ),
                    );
                }
                None => {}
                Some(condition) => {
                    if found {
                        status.active.retain(|a| *a != j.id);
                        api.record(
                            t,
                            EventType::Normal,
                            "SawCompletedJob",
                            object.clone(),
                            format!("Saw completed job: {}, condition: {condition}", j.name),
                        );
                        update = true;
                    }
                    if is_job_succeeded(&j.status) {
                        if status.last_successful_time.is_none() {
                            status.last_successful_time = j.status.completion_time;
                            update = true;
                        }
                        if let (Some(c), Some(last)) =
                            (j.status.completion_time, status.last_successful_time)
                            && api_time(c) > api_time(last)
                        {
                            status.last_successful_time = Some(c);
                            update = true;
                        }
                    }
                }
            }
        }

        // An active Job that no longer exists would keep the CronJob active forever.
        for a in status.active.clone() {
            if children.contains(&a) {
                continue;
            }
            let job = api.objects::<Job>().get(a);
            if job.is_none_or(|o| o.deleted) {
                let name = job.map(|o| o.spec.name.clone()).unwrap_or_default();
                api.record(
                    t,
                    EventType::Normal,
                    "MissingJob",
                    object.clone(),
                    format!("Active job went missing: {name}"),
                );
                status.active.retain(|x| *x != a);
                update = true;
            }
        }

        if api.object::<CronJob>(key).deletion_timestamp.is_some() {
            return (None, update, Ok(()));
        }

        if let Some(tz) = &cj.time_zone
            && let Err(err) = TimeZone::load_location(tz)
        {
            api.record(
                t,
                EventType::Warning,
                "UnknownTimeZone",
                object.clone(),
                format!("invalid timeZone: {}: {err}", go_quote(tz)),
            );
            return (None, update, Ok(()));
        }

        if cj.suspend {
            return (None, update, Ok(()));
        }

        let (spec, unsupported) = format_schedule(cj);
        if unsupported {
            api.record(
                t,
                EventType::Warning,
                "UnsupportedSchedule",
                object.clone(),
                format!(
                    "CRON_TZ or TZ used in schedule {} is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details",
                    go_quote(&cj.schedule)
                ),
            );
        }
        let sched = match CronSchedule::parse_standard(&spec) {
            Ok(s) => s,
            Err(err) => {
                api.record(
                    t,
                    EventType::Warning,
                    "UnparseableSchedule",
                    object.clone(),
                    format!("unparseable schedule: {} : {err}", go_quote(&cj.schedule)),
                );
                return (None, update, Ok(()));
            }
        };
        // The controller manager's own zone; a `TZ=` prefix in the spec overrides it.
        let local = TimeZone::Utc;

        let times = self.times(api, key, status);
        let scheduled_time = match next_schedule_time(&times, now, &sched, local) {
            Err(err) => {
                api.record(
                    t,
                    EventType::Warning,
                    "InvalidSchedule",
                    object.clone(),
                    format!("invalid schedule: {} : {err}", cj.schedule),
                );
                return (None, update, Ok(()));
            }
            Ok(None) => {
                let d = next_schedule_time_duration(&times, now, &sched, local);
                return (Some(d), update, Ok(()));
            }
            Ok(Some(unmet)) => {
                if unmet.too_many_missed {
                    api.record(
                        t,
                        EventType::Warning,
                        TOO_MANY_MISSED_TIMES_REASON,
                        object.clone(),
                        TOO_MANY_MISSED_TIMES_MESSAGE.to_string(),
                    );
                }
                unmet.scheduled_time
            }
        };

        let requeue = |this: &Self, api: &ApiServer, status: &CronJobStatus| {
            let times = this.times(api, key, status);
            next_schedule_time_duration(&times, now, &sched, local)
        };

        if let Some(sds) = cj.starting_deadline_seconds {
            let deadline = scheduled_time
                .checked_add_signed(chrono::TimeDelta::seconds(sds))
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            if deadline < now {
                api.record(
                    t,
                    EventType::Warning,
                    "MissSchedule",
                    object.clone(),
                    format!(
                        "Missed scheduled time to start a job: {}",
                        format_rfc1123z(scheduled_time)
                    ),
                );
                return (Some(requeue(self, api, status)), update, Ok(()));
            }
        }

        let name = job_name(&cj.name, scheduled_time);
        let in_active_by_name = status.active.iter().any(|a| {
            api.objects::<Job>()
                .get(*a)
                .is_some_and(|o| o.spec.name == name && o.spec.namespace == cj.namespace)
        });
        let scheduled_sim = sim_time(self.epoch_unix_secs, scheduled_time);
        if in_active_by_name
            || (status.last_schedule_time.is_some() && status.last_schedule_time == scheduled_sim)
        {
            return (Some(requeue(self, api, status)), update, Ok(()));
        }

        if cj.concurrency_policy == ConcurrencyPolicy::Forbid && !status.active.is_empty() {
            api.record(
                t,
                EventType::Normal,
                "JobAlreadyActive",
                object.clone(),
                "Not starting job because prior execution is running and concurrency policy is Forbid".to_string(),
            );
            return (Some(requeue(self, api, status)), update, Ok(()));
        }

        if cj.concurrency_policy == ConcurrencyPolicy::Replace {
            for a in status.active.clone() {
                let Some(job) = api.objects::<Job>().get(a).filter(|o| o.exists()) else {
                    let name = api
                        .objects::<Job>()
                        .get(a)
                        .map(|o| o.spec.name.clone())
                        .unwrap_or_default();
                    api.record(
                        t,
                        EventType::Warning,
                        "FailedGet",
                        object.clone(),
                        format!("Get job: jobs.batch \"{name}\" not found"),
                    );
                    return (None, update, Err(SyncError));
                };
                let name = job.spec.name.clone();
                if !delete_job(api, ctx, cj, status, a, &name) {
                    return (None, update, Err(SyncError));
                }
                update = true;
            }
        }

        let job_req = match job_from_template(cj, key, scheduled_time) {
            Ok(j) => j,
            Err(_) => return (None, update, Err(SyncError)),
        };
        let job_name = job_req.name.clone();
        let mut already_exists = false;
        let job_id = match api.create_object::<Job>(ctx, job_req) {
            Ok(id) => id,
            Err(ApiError::Refused(msg)) if msg.ends_with("already exists") => {
                already_exists = true;
                let Some(id) = api.object_id::<Job>(&cj.namespace, &job_name) else {
                    return (None, update, Err(SyncError));
                };
                let owned = api
                    .object::<Job>(id)
                    .spec
                    .owner
                    .as_ref()
                    .is_some_and(|o| o.kind == OwnerKind::CronJob && o.id == key);
                // Someone else's Job: they keep the status up to date.
                if !owned || status.active.contains(&id) {
                    return (None, update, Ok(()));
                }
                id
            }
            Err(err) => {
                api.record(
                    t,
                    EventType::Warning,
                    "FailedCreate",
                    object.clone(),
                    format!("Error creating job: {err}"),
                );
                return (None, update, Err(SyncError));
            }
        };
        if !already_exists {
            api.record(
                t,
                EventType::Normal,
                "SuccessfulCreate",
                object.clone(),
                format!("Created job {job_name}"),
            );
        }
        status.active.push(job_id);
        status.last_schedule_time = scheduled_sim;
        update = true;
        (Some(requeue(self, api, status)), update, Ok(()))
    }
}

/// Upstream `removeOldestJobs`.
fn remove_oldest_jobs(
    api: &mut ApiServer,
    ctx: &mut Context<'_, Event>,
    cj: &CronJob,
    status: &mut CronJobStatus,
    mut jobs: Vec<&JobView>,
    max_jobs: i32,
) -> bool {
    let limit = usize::try_from(max_jobs.max(0)).unwrap_or(0);
    if jobs.len() <= limit {
        return false;
    }
    let to_delete = jobs.len() - limit;
    jobs.sort_by(|a, b| {
        by_job_start_time(
            (a.status.start_time, a.name.as_str()),
            (b.status.start_time, b.name.as_str()),
        )
    });
    let mut update = false;
    for j in &jobs[..to_delete] {
        update |= delete_job(api, ctx, cj, status, j.id, &j.name);
    }
    update
}

/// Upstream `deleteJob`: deletes the Job (background propagation, as `realJobControl` does) and
/// drops it from the active list.
fn delete_job(
    api: &mut ApiServer,
    ctx: &mut Context<'_, Event>,
    cj: &CronJob,
    status: &mut CronJobStatus,
    id: WorkloadId,
    name: &str,
) -> bool {
    let t = ctx.now();
    let object = format!("cronjob/{}", cj.name);
    if let Err(err) = api.delete_object::<Job>(ctx, id, Propagation::Background) {
        let err = match err {
            ApiError::NotFound => format!("jobs.batch \"{name}\" not found"),
            e => e.to_string(),
        };
        api.record(
            t,
            EventType::Warning,
            "FailedDelete",
            object,
            format!("Deleted job: {err}"),
        );
        return false;
    }
    status.active.retain(|a| *a != id);
    api.record(
        t,
        EventType::Normal,
        "SuccessfulDelete",
        object,
        format!("Deleted job {name}"),
    );
    true
}

/// Go's `%q` for the strings a CronJob spec holds.
fn go_quote(s: &str) -> String {
    format!("{s:?}")
}

impl Reconciler for CronJobController {
    type Key = WorkloadId;

    fn on_change(
        &mut self,
        change: &Change,
        api: &ApiServer,
        now: SimTime,
        enqueue: &mut dyn FnMut(WorkloadId),
    ) {
        let id = WorkloadId(change.id);
        match change.kind {
            ObjectKind::CronJob => {
                let Some(obj) = api.objects::<CronJob>().get(id) else {
                    return;
                };
                let current = (obj.spec.schedule.clone(), obj.spec.time_zone.clone());
                let previous = if obj.deleted {
                    self.seen_schedules.remove(&id)
                } else {
                    self.seen_schedules.insert(id, current.clone())
                };
                if change.op == Op::Modified
                    && let Some(previous) = previous
                    && previous != current
                {
                    // Upstream `updateCronJob`: wait for the new schedule's next time.
                    let (spec, _) = format_schedule(&obj.spec);
                    let action = match CronSchedule::parse_standard(&spec) {
                        Err(_) => ScheduleChange::Unparseable,
                        Ok(sched) => {
                            let times = CronJobTimes {
                                creation_timestamp: self.wall(api_time(obj.created)),
                                last_schedule_time: obj
                                    .status
                                    .last_schedule_time
                                    .map(|t| self.wall(t)),
                                starting_deadline_seconds: obj.spec.starting_deadline_seconds,
                            };
                            let d = next_schedule_time_duration(
                                &times,
                                self.wall(now),
                                &sched,
                                TimeZone::Utc,
                            );
                            ScheduleChange::RequeueAt(now.saturating_add(d))
                        }
                    };
                    self.schedule_changes.insert(id, action);
                    if !self.direct.contains(&id) {
                        self.deferred_only.insert(id);
                    }
                    enqueue(id);
                    return;
                }
                self.direct.insert(id);
                self.deferred_only.remove(&id);
                enqueue(id);
            }
            ObjectKind::Job => {
                let Some(job) = api.objects::<Job>().get(id) else {
                    return;
                };
                let Some(owner) = &job.spec.owner else {
                    return;
                };
                if owner.kind != OwnerKind::CronJob {
                    return;
                }
                // Upstream `resolveControllerRef`: by name, then the uid must match.
                if api.object_id::<CronJob>(&job.spec.namespace, &owner.name) == Some(owner.id) {
                    self.direct.insert(owner.id);
                    self.deferred_only.remove(&owner.id);
                    enqueue(owner.id);
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
        let now = ctx.now();
        self.direct.remove(&key);
        let deferred_only = self.deferred_only.remove(&key);
        let deferred = match self.schedule_changes.remove(&key) {
            None => None,
            Some(ScheduleChange::Unparseable) => {
                if let Some(obj) = api.objects::<CronJob>().get(key) {
                    let (object, schedule) = (
                        format!("cronjob/{}", obj.spec.name),
                        obj.spec.schedule.clone(),
                    );
                    api.record(
                        now,
                        EventType::Warning,
                        "UnParseableCronJobSchedule",
                        object,
                        format!("unparseable schedule for cronjob: {schedule}"),
                    );
                }
                None
            }
            Some(ScheduleChange::RequeueAt(at)) => Some(at.since(now)),
        };
        if deferred_only {
            return match deferred {
                Some(d) => SyncOutcome::RequeueAfter(d),
                None => SyncOutcome::Done,
            };
        }
        match self.sync_key(key, api, ctx) {
            SyncOutcome::Done => deferred.map_or(SyncOutcome::Done, SyncOutcome::RequeueAfter),
            SyncOutcome::RequeueAfter(d) => {
                SyncOutcome::RequeueAfter(deferred.map_or(d, |e| e.min(d)))
            }
            SyncOutcome::Failed => SyncOutcome::Failed,
        }
    }
}

impl CronJobController {
    /// Upstream `sync(cronJobKey)`.
    fn sync_key(
        &mut self,
        key: WorkloadId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> SyncOutcome {
        let Some(obj) = api.objects::<CronJob>().get(key).filter(|o| o.exists()) else {
            return SyncOutcome::Done;
        };
        let mut cj = obj.spec.clone();
        let mut status = obj.status.clone();
        // Every Job whose controller reference names this CronJob (by name, as upstream).
        let jobs: Vec<JobView> = api
            .objects::<Job>()
            .live()
            .filter(|j| {
                j.spec.namespace == cj.namespace
                    && j.spec
                        .owner
                        .as_ref()
                        .is_some_and(|o| o.kind == OwnerKind::CronJob && o.name == cj.name)
            })
            .map(|j| JobView {
                id: j.id,
                name: j.spec.name.clone(),
                status: j.status.clone(),
            })
            .collect();

        let update_after_cleanup = self.cleanup_finished_jobs(api, ctx, &cj, &mut status, &jobs);
        let (requeue, update_after_sync, result) =
            self.sync_cron_job(api, ctx, key, &mut cj, &mut status, &jobs);

        if (update_after_cleanup || update_after_sync)
            && api
                .update_object_status::<CronJob>(ctx, key, status)
                .is_err()
        {
            return SyncOutcome::Failed;
        }
        match (requeue, result) {
            (Some(d), _) => SyncOutcome::RequeueAfter(d),
            (None, Ok(())) => SyncOutcome::Done,
            (None, Err(SyncError)) => SyncOutcome::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Pod, PodTemplate};

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).expect("in range")
    }

    /// `topOfTheHour()` of upstream's tests: 2016-05-19T10:00:00Z.
    const TOP_OF_THE_HOUR: i64 = 1_463_652_000;

    fn mycronjob(time_zone: Option<&str>, annotations: &[(&str, &str)]) -> CronJob {
        let mut template = Job::new(
            "",
            "",
            PodTemplate {
                pod: Pod {
                    labels: [("foo", "bar")].into_iter().collect(),
                    ..Pod::default()
                },
            },
        );
        template.active_deadline_seconds = Some(1);
        template.labels = [("a", "b")].into_iter().collect();
        template.annotations = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        CronJob {
            name: "mycronjob".into(),
            namespace: "snazzycats".into(),
            schedule: "* * * * ?".into(),
            time_zone: time_zone.map(str::to_string),
            concurrency_policy: ConcurrencyPolicy::Allow,
            starting_deadline_seconds: None,
            successful_jobs_history_limit: 3,
            failed_jobs_history_limit: 1,
            suspend: false,
            job_template: template,
            labels: Default::default(),
            annotations: Default::default(),
        }
    }

    // upstream pkg/controller/cronjob/utils_test.go TestGetJobFromTemplate2:
    //   "UTC timezone and one annotation", "nil timezone and one annotation",
    //   "correct timezone and multiple annotation" (Europe/Rome): the name starts with
    //   "mycronjob-", one label, the template's annotations plus the scheduled timestamp in the
    //   zone, RFC 3339.
    #[test]
    fn get_job_from_template2() {
        let scheduled = at(TOP_OF_THE_HOUR);
        for (zone, annotations, want_annotations, want_stamp) in [
            (Some("UTC"), &[("x", "y")][..], 2, "2016-05-19T10:00:00Z"),
            (None, &[("x", "y")][..], 2, "2016-05-19T10:00:00Z"),
            (
                Some("Europe/Rome"),
                &[("x", "y"), ("z", "x")][..],
                3,
                "2016-05-19T12:00:00+02:00",
            ),
        ] {
            let cj = mycronjob(zone, annotations);
            let job = job_from_template(&cj, WorkloadId(7), scheduled).expect("valid");
            assert!(job.name.starts_with("mycronjob-"));
            assert_eq!(job.name, "mycronjob-24394200");
            assert_eq!(job.labels.len(), 1);
            assert_eq!(job.annotations.len(), want_annotations);
            assert_eq!(
                job.annotations[CRON_JOB_SCHEDULED_TIMESTAMP_ANNOTATION],
                want_stamp
            );
            assert_eq!(job.namespace, "snazzycats");
            assert_eq!(job.active_deadline_seconds, Some(1));
            assert_eq!(
                job.owner,
                Some(OwnerRef {
                    kind: OwnerKind::CronJob,
                    name: "mycronjob".into(),
                    id: WorkloadId(7)
                })
            );
            // The selector the Job API server generates matches the pods' labels.
            assert!(job.selector.matches(&job.template.pod.labels));
            assert_eq!(job.template.pod.labels.get("foo"), Some("bar"));
        }
    }

    // upstream pkg/controller/cronjob/utils_test.go TestByJobStartTime
    #[test]
    fn by_job_start_time_table() {
        let now = Some(SimTime::from_nanos(5));
        let later = Some(SimTime::from_nanos(5) + SimDuration::from_secs(365 * 86_400));
        let (a_nil, b_nil) = ((None, "a"), (None, "b"));
        let (a_set, b_set, a_set_later) = ((now, "a"), (now, "b"), (later, "a"));
        type Case<'a> = (
            &'a str,
            Vec<(Option<SimTime>, &'a str)>,
            Vec<(Option<SimTime>, &'a str)>,
        );
        let cases: Vec<Case> = vec![
            (
                "both have nil start times",
                vec![b_nil, a_nil],
                vec![a_nil, b_nil],
            ),
            (
                "only the first has a nil start time",
                vec![a_nil, b_set],
                vec![b_set, a_nil],
            ),
            (
                "only the second has a nil start time",
                vec![a_set, b_nil],
                vec![a_set, b_nil],
            ),
            (
                "both have non-nil, equal start time",
                vec![b_set, a_set],
                vec![a_set, b_set],
            ),
            (
                "both have non-nil, different start time",
                vec![a_set_later, b_set],
                vec![b_set, a_set_later],
            ),
        ];
        for (name, mut input, expected) in cases {
            input.sort_by(|x, y| by_job_start_time(*x, *y));
            assert_eq!(input, expected, "{name}");
        }
    }

    #[test]
    fn formats() {
        // Go: time.Date(2016, 5, 19, 10, 0, 0, 0, time.UTC).Format(time.RFC1123Z)
        assert_eq!(
            format_rfc1123z(at(TOP_OF_THE_HOUR)),
            "Thu, 19 May 2016 10:00:00 +0000"
        );
        let ny = TimeZone::load_location("America/New_York").expect("known");
        assert_eq!(
            format_rfc3339(at(TOP_OF_THE_HOUR), ny),
            "2016-05-19T06:00:00-04:00"
        );
        // A zone at a zero offset prints "Z", as Go's Z07:00 does.
        let london = TimeZone::load_location("Europe/London").expect("known");
        assert_eq!(
            format_rfc3339(at(1_704_067_200), london),
            "2024-01-01T00:00:00Z"
        );
    }

    // upstream cronjob_controllerv2.go formatSchedule
    #[test]
    fn format_schedule_prefixes_valid_zones_only() {
        let mut cj = mycronjob(Some("America/New_York"), &[]);
        cj.schedule = "0 2 * * *".into();
        assert_eq!(
            format_schedule(&cj),
            ("TZ=America/New_York 0 2 * * *".to_string(), false)
        );
        cj.time_zone = Some("Mars/Olympus".into());
        assert_eq!(format_schedule(&cj), ("0 2 * * *".to_string(), false));
        cj.schedule = "CRON_TZ=UTC 0 2 * * *".into();
        assert_eq!(
            format_schedule(&cj),
            ("CRON_TZ=UTC 0 2 * * *".to_string(), true)
        );
    }
}
