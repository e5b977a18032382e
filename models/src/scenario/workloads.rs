//! StatefulSet, DaemonSet, Job and CronJob manifests, the storage objects (StorageClass,
//! PersistentVolumeClaim, PersistentVolume) and the namespace policy objects (ResourceQuota,
//! LimitRange), with the API server's defaults (upstream `pkg/apis/apps/v1/defaults.go`,
//! `pkg/apis/batch/v1/defaults.go`, `pkg/apis/core/v1/defaults.go`) and the validation rules
//! that change what a run does.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::storage::v1 as storage;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

use super::convert::{
    Ctx, at_most_cluster_pods, controller_ref, int_or_percent, join, k, labels, namespace,
    non_negative, object_name, workload,
};
use super::diagnostic::{Diagnostic, did_you_mean};
use super::source::Seg;
use crate::api::apps::{
    DaemonSet, DaemonSetUpdateStrategy, PodManagementPolicy, PvcRetentionPolicy, StatefulSet,
    StatefulSetUpdateStrategy,
};
use crate::api::batch::{CompletionMode, ConcurrencyPolicy, CronJob, Job};
use crate::api::pod::RestartPolicy;
use crate::api::storage::{
    AccessMode, PersistentVolume, PersistentVolumeClaim, StorageClass, VolumeBindingMode,
};
use crate::api::{IntOrPercent, OwnerKind, OwnerRef, Quantity};
use crate::apiserver::admission::limit_range::{
    LimitRange, LimitRangeItem, LimitType, set_defaults_limit_range_item,
};
use crate::apiserver::admission::quota::{
    Amount, ResourceList as AdmissionList, ResourceQuota, ScopeSelectorOperator,
    ScopedResourceSelectorRequirement,
};
use crate::controllers::cronjob::schedule::{validate_schedule_format, validate_time_zone};

/// The label upstream's Job controller selects a Job's pods by when the selector is generated
/// (with `batch.kubernetes.io/controller-uid`; uids do not exist before creation here, and a
/// name is unique in its namespace while the Job lives).
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
/// The legacy form upstream also adds to the template.
pub const LEGACY_JOB_NAME_LABEL: &str = "job-name";
/// `storageclass.kubernetes.io/is-default-class`.
pub const IS_DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";
/// The zone labels a volume or a class may be pinned by.
const ZONE_KEYS: [&str; 2] = [
    "topology.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/zone",
];

fn unsupported(ctx: &Ctx<'_>, path: &[Seg], value: &str, allowed: &[&str]) -> Diagnostic {
    let list: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
    ctx.err(
        path,
        format!(
            "Unsupported value: \"{value}\": supported values: {}{}",
            list.join(", "),
            did_you_mean(value, allowed.iter().copied())
        ),
    )
}

/// `spec.podManagementPolicy`, `spec.updateStrategy`, … of a StatefulSet after upstream
/// `SetDefaults_StatefulSet`, validated as upstream `ValidateStatefulSetSpec` does.
pub(crate) fn stateful_set(
    ctx: &mut Ctx<'_>,
    s: &apps::StatefulSet,
    serial: usize,
) -> Result<StatefulSet, Diagnostic> {
    let Some(spec) = &s.spec else {
        return Err(ctx.err(&[], "a StatefulSet needs a spec"));
    };
    let base = [k("spec")];
    let w = workload(
        ctx,
        &base,
        "StatefulSet",
        &s.metadata,
        spec.replicas,
        spec.min_ready_seconds,
        &spec.selector,
        Some(&spec.template),
        serial,
    )?;
    let pod_management_policy = match spec.pod_management_policy.as_deref() {
        None | Some("") | Some("OrderedReady") => PodManagementPolicy::OrderedReady,
        Some("Parallel") => PodManagementPolicy::Parallel,
        Some(other) => {
            return Err(unsupported(
                ctx,
                &[k("spec"), k("podManagementPolicy")],
                other,
                &["OrderedReady", "Parallel"],
            ));
        }
    };
    let strategy_path = [k("spec"), k("updateStrategy")];
    let update_strategy = match &spec.update_strategy {
        None => StatefulSetUpdateStrategy::default(),
        Some(u) => match u.type_.as_deref().filter(|t| !t.is_empty()) {
            None | Some("RollingUpdate") => {
                let ru = u.rolling_update.as_ref();
                let ru_path = join(&strategy_path, &[k("rollingUpdate")]);
                let partition = non_negative(
                    ctx,
                    &join(&ru_path, &[k("partition")]),
                    ru.and_then(|r| r.partition).unwrap_or(0),
                )?;
                let mu_path = join(&ru_path, &[k("maxUnavailable")]);
                let max_unavailable = match ru.and_then(|r| r.max_unavailable.as_ref()) {
                    Some(v) => int_or_percent(ctx, &mu_path, v)?,
                    None => IntOrPercent::Int(1),
                };
                // Upstream validateRollingUpdateStatefulSet: "must be greater than 0" and at
                // most 100%.
                match max_unavailable {
                    IntOrPercent::Int(0) | IntOrPercent::Percent(0) => {
                        return Err(ctx.err(&mu_path, "Invalid value: 0: must be greater than 0"));
                    }
                    IntOrPercent::Percent(p) if p > 100 => {
                        return Err(ctx.err(
                            &mu_path,
                            format!("Invalid value: \"{p}%\": must not be greater than 100%"),
                        ));
                    }
                    _ => {}
                }
                StatefulSetUpdateStrategy::RollingUpdate {
                    partition,
                    max_unavailable,
                }
            }
            Some("OnDelete") if u.rolling_update.is_some() => {
                return Err(ctx.err(
                    &join(&strategy_path, &[k("rollingUpdate")]),
                    "Invalid value: only allowed for updateStrategy 'RollingUpdate'",
                ));
            }
            Some("OnDelete") => StatefulSetUpdateStrategy::OnDelete,
            Some(other) => {
                return Err(unsupported(
                    ctx,
                    &join(&strategy_path, &[k("type")]),
                    other,
                    &["OnDelete", "RollingUpdate"],
                ));
            }
        },
    };
    let mut volume_claim_templates = Vec::new();
    for (i, t) in spec.volume_claim_templates.iter().flatten().enumerate() {
        let at = [k("spec"), k("volumeClaimTemplates"), Seg::Index(i)];
        let name = t.metadata.name.clone().filter(|n| !n.is_empty());
        let Some(name) = name else {
            return Err(ctx.err(
                &join(&at, &[k("metadata"), k("name")]),
                "Required value: a claim template needs a name (its claims are <name>-<set>-<ordinal>)",
            ));
        };
        let claim = claim_spec(ctx, name, w.namespace.clone(), t.spec.as_ref(), &at)?;
        volume_claim_templates.push(claim);
    }
    let retention_path = [k("spec"), k("persistentVolumeClaimRetentionPolicy")];
    let retention = spec.persistent_volume_claim_retention_policy.as_ref();
    let delete = |field: &str, value: Option<&str>| -> Result<bool, Diagnostic> {
        match value {
            None | Some("") | Some("Retain") => Ok(false),
            Some("Delete") => Ok(true),
            Some(other) => Err(unsupported(
                ctx,
                &join(&retention_path, &[k(field)]),
                other,
                &["Retain", "Delete"],
            )),
        }
    };
    let pvc_retention = PvcRetentionPolicy {
        when_deleted_delete: delete(
            "whenDeleted",
            retention.and_then(|r| r.when_deleted.as_deref()),
        )?,
        when_scaled_delete: delete(
            "whenScaled",
            retention.and_then(|r| r.when_scaled.as_deref()),
        )?,
    };
    let ordinals_start = match spec.ordinals.as_ref().and_then(|o| o.start) {
        Some(n) => non_negative(ctx, &[k("spec"), k("ordinals"), k("start")], n)?,
        None => 0,
    };
    let revision_history_limit = match spec.revision_history_limit {
        Some(n) => non_negative(ctx, &[k("spec"), k("revisionHistoryLimit")], n)?,
        None => crate::api::DEFAULT_REVISION_HISTORY_LIMIT,
    };
    let mut set = StatefulSet::new(w.name, w.namespace, w.replicas, w.selector, w.template);
    set.service_name = spec.service_name.clone().unwrap_or_default();
    set.pod_management_policy = pod_management_policy;
    set.update_strategy = update_strategy;
    set.min_ready_seconds = w.min_ready_seconds;
    set.volume_claim_templates = volume_claim_templates;
    set.pvc_retention = pvc_retention;
    set.ordinals_start = ordinals_start;
    set.revision_history_limit = revision_history_limit;
    set.labels = w.labels;
    set.annotations = w.annotations;
    Ok(set)
}

/// A DaemonSet after upstream `SetDefaults_DaemonSet`, validated as upstream
/// `ValidateDaemonSetSpec` and `ValidateRollingUpdateDaemonSet` do.
pub(crate) fn daemon_set(
    ctx: &mut Ctx<'_>,
    d: &apps::DaemonSet,
    serial: usize,
) -> Result<DaemonSet, Diagnostic> {
    let Some(spec) = &d.spec else {
        return Err(ctx.err(&[], "a DaemonSet needs a spec"));
    };
    let w = workload(
        ctx,
        &[k("spec")],
        "DaemonSet",
        &d.metadata,
        None,
        spec.min_ready_seconds,
        &spec.selector,
        Some(&spec.template),
        serial,
    )?;
    // Upstream ValidateDaemonSetSpec: "Unsupported value: \"Never\": supported values: \"Always\"".
    if w.template.pod.restart_policy != RestartPolicy::Always {
        let value = match w.template.pod.restart_policy {
            RestartPolicy::Never => "Never",
            _ => "OnFailure",
        };
        return Err(unsupported(
            ctx,
            &[k("spec"), k("template"), k("spec"), k("restartPolicy")],
            value,
            &["Always"],
        ));
    }
    let strategy_path = [k("spec"), k("updateStrategy")];
    let update_strategy = match &spec.update_strategy {
        None => DaemonSetUpdateStrategy::default(),
        Some(u) => match u.type_.as_deref().filter(|t| !t.is_empty()) {
            None | Some("RollingUpdate") => {
                let ru = u.rolling_update.as_ref();
                let ru_path = join(&strategy_path, &[k("rollingUpdate")]);
                let mu_path = join(&ru_path, &[k("maxUnavailable")]);
                let ms_path = join(&ru_path, &[k("maxSurge")]);
                let max_unavailable = match ru.and_then(|r| r.max_unavailable.as_ref()) {
                    Some(v) => int_or_percent(ctx, &mu_path, v)?,
                    None => IntOrPercent::Int(1),
                };
                let max_surge = match ru.and_then(|r| r.max_surge.as_ref()) {
                    Some(v) => int_or_percent(ctx, &ms_path, v)?,
                    None => IntOrPercent::Int(0),
                };
                let number = |v: IntOrPercent| match v {
                    IntOrPercent::Int(n) | IntOrPercent::Percent(n) => n,
                };
                if number(max_unavailable) == 0 && number(max_surge) == 0 {
                    return Err(ctx.err(
                        &mu_path,
                        "Invalid value: 0: cannot be 0 when maxSurge is 0 as well",
                    ));
                }
                if number(max_unavailable) != 0 && number(max_surge) != 0 {
                    return Err(ctx.err(
                        &ms_path,
                        "Invalid value: may not be set when maxUnavailable is non-zero",
                    ));
                }
                for (v, path) in [(max_unavailable, &mu_path), (max_surge, &ms_path)] {
                    if let IntOrPercent::Percent(p) = v
                        && p > 100
                    {
                        return Err(ctx.err(
                            path,
                            format!("Invalid value: \"{p}%\": must not be greater than 100%"),
                        ));
                    }
                }
                DaemonSetUpdateStrategy::RollingUpdate {
                    max_unavailable,
                    max_surge,
                }
            }
            Some("OnDelete") => DaemonSetUpdateStrategy::OnDelete,
            Some(other) => {
                return Err(unsupported(
                    ctx,
                    &join(&strategy_path, &[k("type")]),
                    other,
                    &["OnDelete", "RollingUpdate"],
                ));
            }
        },
    };
    let revision_history_limit = match spec.revision_history_limit {
        Some(n) => non_negative(ctx, &[k("spec"), k("revisionHistoryLimit")], n)?,
        None => crate::api::DEFAULT_REVISION_HISTORY_LIMIT,
    };
    let mut set = DaemonSet::new(w.name, w.namespace, w.selector, w.template);
    set.update_strategy = update_strategy;
    set.min_ready_seconds = w.min_ready_seconds;
    set.revision_history_limit = revision_history_limit;
    set.labels = w.labels;
    set.annotations = w.annotations;
    Ok(set)
}

/// A Job's spec at `base` (`spec`, or a CronJob's `spec.jobTemplate.spec`), after upstream
/// `SetDefaults_Job`, validated as upstream `validateJobSpec` does. `in_template`: a CronJob's
/// job template, whose selector is always generated.
#[allow(clippy::too_many_arguments)]
fn job_spec(
    ctx: &mut Ctx<'_>,
    base: &[Seg],
    name: String,
    metadata: &meta::ObjectMeta,
    spec: &batch::JobSpec,
    in_template: bool,
    serial: usize,
) -> Result<Job, Diagnostic> {
    let manual = spec.manual_selector.unwrap_or(false);
    if in_template {
        if let Some(sel) = &spec.selector
            && (sel.match_labels.is_some() || sel.match_expressions.is_some())
        {
            return Err(ctx.err(
                &join(base, &[k("selector")]),
                "Invalid value: `selector` will be auto-generated",
            ));
        }
        if manual {
            return Err(ctx.err(
                &join(base, &[k("manualSelector")]),
                "Unsupported value: true: supported values: \"nil\", \"false\"",
            ));
        }
    }
    let mut template = spec.template.clone();
    let selector = if manual {
        match &spec.selector {
            Some(s) => s.clone(),
            None => {
                return Err(ctx.err(
                    &join(base, &[k("selector")]),
                    "Required value: manualSelector needs a selector",
                ));
            }
        }
    } else {
        // Upstream generates the selector from the Job's uid and labels the template with it
        // and the Job's name.
        let tpl_meta = template.metadata.get_or_insert_with(Default::default);
        let tpl_labels = tpl_meta.labels.get_or_insert_with(BTreeMap::new);
        tpl_labels.insert(JOB_NAME_LABEL.to_string(), name.clone());
        tpl_labels.insert(LEGACY_JOB_NAME_LABEL.to_string(), name.clone());
        meta::LabelSelector {
            match_labels: Some(BTreeMap::from([(JOB_NAME_LABEL.to_string(), name.clone())])),
            match_expressions: None,
        }
    };
    let mut named = metadata.clone();
    named.name = Some(name);
    let w = workload(
        ctx,
        base,
        "Job",
        &named,
        None,
        None,
        &selector,
        Some(&template),
        serial,
    )?;
    let restart_path = join(base, &[k("template"), k("spec"), k("restartPolicy")]);
    if w.template.pod.restart_policy == RestartPolicy::Always {
        // Upstream validateJobSpec: the default (Always) is refused too.
        return Err(ctx.err(
            &restart_path,
            "Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\" (a Job's pods must end: set restartPolicy: Never or OnFailure)",
        ));
    }
    let completion_mode = match spec.completion_mode.as_deref() {
        None | Some("") | Some("NonIndexed") => CompletionMode::NonIndexed,
        Some("Indexed") => CompletionMode::Indexed,
        Some(other) => {
            return Err(unsupported(
                ctx,
                &join(base, &[k("completionMode")]),
                other,
                &["NonIndexed", "Indexed"],
            ));
        }
    };
    let parallelism = match spec.parallelism {
        Some(n) => {
            let at = join(base, &[k("parallelism")]);
            at_most_cluster_pods(ctx, &at, non_negative(ctx, &at, n)?)?
        }
        None => 1,
    };
    // Upstream SetDefaults_Job: both unset means one completion (and parallelism 1); a set
    // parallelism alone leaves completions nil (a work queue).
    let completions = match (spec.completions, spec.parallelism) {
        (Some(n), _) => {
            let at = join(base, &[k("completions")]);
            Some(at_most_cluster_pods(ctx, &at, non_negative(ctx, &at, n)?)?)
        }
        (None, None) => Some(1),
        (None, Some(_)) => None,
    };
    if completion_mode == CompletionMode::Indexed && completions.is_none() {
        return Err(ctx.err(
            &join(base, &[k("completions")]),
            "Required value: when completion mode is Indexed (set completions to the number of indexes)",
        ));
    }
    let backoff_limit_per_index = match spec.backoff_limit_per_index {
        Some(n) => {
            let at = join(base, &[k("backoffLimitPerIndex")]);
            if completion_mode != CompletionMode::Indexed {
                return Err(ctx.err(
                    &at,
                    "Forbidden: requires indexed completion mode (set completionMode: Indexed)",
                ));
            }
            Some(non_negative(ctx, &at, n)?)
        }
        None => None,
    };
    let backoff_limit = match spec.backoff_limit {
        Some(n) => non_negative(ctx, &join(base, &[k("backoffLimit")]), n)?,
        None if backoff_limit_per_index.is_some() => i32::MAX,
        None => crate::api::batch::DEFAULT_BACKOFF_LIMIT,
    };
    let max_failed_indexes = match spec.max_failed_indexes {
        Some(n) => {
            let at = join(base, &[k("maxFailedIndexes")]);
            if backoff_limit_per_index.is_none() {
                return Err(ctx.err(
                    &at,
                    "Required value: when maxFailedIndexes is specified (set backoffLimitPerIndex)",
                ));
            }
            Some(non_negative(ctx, &at, n)?)
        }
        None => None,
    };
    // Upstream validateJobSpec's caps on Indexed Jobs (they bound the status's index lists).
    if completion_mode == CompletionMode::Indexed {
        const MAX_PARALLELISM_FOR_INDEXED_JOB: i32 = 100_000;
        const MAX_FAILED_INDEXES_FOR_INDEXED_JOB: i32 = 100_000;
        const COMPLETIONS_SOFT_LIMIT: i32 = 100_000;
        const PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS: i32 = 10_000;
        const MAX_FAILED_INDEXES_LIMIT_FOR_HIGH_COMPLETIONS: i32 = 10_000;
        let at = |f: &str| join(base, &[k(f)]);
        if parallelism > MAX_PARALLELISM_FOR_INDEXED_JOB {
            return Err(ctx.err(
                &at("parallelism"),
                format!("Invalid value: {parallelism}: must be less than or equal to {MAX_PARALLELISM_FOR_INDEXED_JOB} when completion mode is Indexed"),
            ));
        }
        let completions = completions.unwrap_or(0);
        if let Some(m) = max_failed_indexes {
            if m > completions {
                return Err(ctx.err(
                    &at("maxFailedIndexes"),
                    format!("Invalid value: {m}: must be less than or equal to completions"),
                ));
            }
            if m > MAX_FAILED_INDEXES_FOR_INDEXED_JOB {
                return Err(ctx.err(
                    &at("maxFailedIndexes"),
                    format!("Invalid value: {m}: must be less than or equal to {MAX_FAILED_INDEXES_FOR_INDEXED_JOB}"),
                ));
            }
        }
        if completions > COMPLETIONS_SOFT_LIMIT && backoff_limit_per_index.is_some() {
            let high = format!(
                "when completions are above {COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index"
            );
            match max_failed_indexes {
                None => {
                    return Err(ctx.err(
                        &at("maxFailedIndexes"),
                        format!("Required value: must be specified when completions is above {COMPLETIONS_SOFT_LIMIT}"),
                    ));
                }
                Some(m) if m > MAX_FAILED_INDEXES_LIMIT_FOR_HIGH_COMPLETIONS => {
                    return Err(ctx.err(
                        &at("maxFailedIndexes"),
                        format!("Invalid value: {m}: must be less than or equal to {MAX_FAILED_INDEXES_LIMIT_FOR_HIGH_COMPLETIONS} {high}"),
                    ));
                }
                Some(_) => {}
            }
            if parallelism > PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS {
                return Err(ctx.err(
                    &at("parallelism"),
                    format!("Invalid value: {parallelism}: must be less than or equal to {PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS} {high}"),
                ));
            }
        }
    }
    let active_deadline_seconds = match spec.active_deadline_seconds {
        Some(n) if n < 0 => {
            return Err(ctx.err(
                &join(base, &[k("activeDeadlineSeconds")]),
                format!("must be greater than or equal to 0, got {n}"),
            ));
        }
        other => other,
    };
    let ttl_seconds_after_finished = match spec.ttl_seconds_after_finished {
        Some(n) => Some(non_negative(
            ctx,
            &join(base, &[k("ttlSecondsAfterFinished")]),
            n,
        )?),
        None => None,
    };
    let pod_failure_policy = match &spec.pod_failure_policy {
        Some(p) => pod_failure_policy(ctx, &join(base, &[k("podFailurePolicy")]), p)?,
        None => Vec::new(),
    };
    if !pod_failure_policy.is_empty() && w.template.pod.restart_policy != RestartPolicy::Never {
        // Upstream validatePodFailurePolicy.
        return Err(ctx.err(
            &restart_path,
            "Invalid value: \"OnFailure\": only \"Never\" is supported when podFailurePolicy is specified",
        ));
    }
    let mut job = Job::new(w.name, w.namespace, w.template);
    job.parallelism = parallelism;
    job.completions = completions;
    job.completion_mode = completion_mode;
    job.backoff_limit = backoff_limit;
    job.backoff_limit_per_index = backoff_limit_per_index;
    job.max_failed_indexes = max_failed_indexes;
    job.active_deadline_seconds = active_deadline_seconds;
    job.ttl_seconds_after_finished = ttl_seconds_after_finished;
    job.pod_failure_policy = pod_failure_policy;
    job.suspend = spec.suspend.unwrap_or(false);
    job.selector = w.selector;
    job.labels = w.labels;
    job.annotations = w.annotations;
    Ok(job)
}

pub(crate) fn job(ctx: &mut Ctx<'_>, j: &batch::Job, serial: usize) -> Result<Job, Diagnostic> {
    let Some(spec) = &j.spec else {
        return Err(ctx.err(&[], "a Job needs a spec"));
    };
    let name = object_name(ctx, &j.metadata, "Job", serial)?;
    let mut job = job_spec(ctx, &[k("spec")], name, &j.metadata, spec, false, serial)?;
    job.owner = match controller_ref(ctx, &j.metadata)? {
        Some((_, o))
            if o.kind == "CronJob" && super::convert::api_group(&o.api_version) == "batch" =>
        {
            Some(OwnerRef {
                kind: OwnerKind::CronJob,
                name: o.name.clone(),
                id: crate::api::WorkloadId::UNRESOLVED,
            })
        }
        _ => None,
    };
    Ok(job)
}

/// A CronJob after upstream `SetDefaults_CronJob`, validated as upstream
/// `ValidateCronJobSpec` does (schedule, time zone, concurrency policy, job template).
pub(crate) fn cron_job(
    ctx: &mut Ctx<'_>,
    c: &batch::CronJob,
    serial: usize,
) -> Result<CronJob, Diagnostic> {
    let Some(spec) = &c.spec else {
        return Err(ctx.err(&[], "a CronJob needs a spec"));
    };
    let name = object_name(ctx, &c.metadata, "CronJob", serial)?;
    let ns = namespace(&c.metadata);
    let schedule_path = [k("spec"), k("schedule")];
    if spec.schedule.is_empty() {
        return Err(ctx.err(&schedule_path, "Required value"));
    }
    let time_zone = spec.time_zone.clone();
    if let Some(first) = validate_schedule_format(&spec.schedule, false, time_zone.is_some())
        .into_iter()
        .next()
    {
        return Err(ctx.err(&schedule_path, first));
    }
    if let Some(first) = validate_time_zone(time_zone.as_deref()).into_iter().next() {
        return Err(ctx.err(&[k("spec"), k("timeZone")], first));
    }
    let concurrency_policy = match spec.concurrency_policy.as_deref() {
        None | Some("") | Some("Allow") => ConcurrencyPolicy::Allow,
        Some("Forbid") => ConcurrencyPolicy::Forbid,
        Some("Replace") => ConcurrencyPolicy::Replace,
        Some(other) => {
            return Err(unsupported(
                ctx,
                &[k("spec"), k("concurrencyPolicy")],
                other,
                &["Allow", "Forbid", "Replace"],
            ));
        }
    };
    let starting_deadline_seconds = match spec.starting_deadline_seconds {
        Some(n) if n < 0 => {
            return Err(ctx.err(
                &[k("spec"), k("startingDeadlineSeconds")],
                format!("must be greater than or equal to 0, got {n}"),
            ));
        }
        other => other,
    };
    let successful = match spec.successful_jobs_history_limit {
        Some(n) => non_negative(ctx, &[k("spec"), k("successfulJobsHistoryLimit")], n)?,
        None => crate::api::batch::DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT,
    };
    let failed = match spec.failed_jobs_history_limit {
        Some(n) => non_negative(ctx, &[k("spec"), k("failedJobsHistoryLimit")], n)?,
        None => crate::api::batch::DEFAULT_FAILED_JOBS_HISTORY_LIMIT,
    };
    let tpl_base = [k("spec"), k("jobTemplate"), k("spec")];
    let Some(job_spec_value) = &spec.job_template.spec else {
        return Err(ctx.err(
            &[k("spec"), k("jobTemplate")],
            "Required value: spec.jobTemplate.spec",
        ));
    };
    let tpl_meta = spec.job_template.metadata.clone().unwrap_or_default();
    let mut tpl_meta = tpl_meta;
    tpl_meta.namespace = Some(ns.clone());
    let job_template = job_spec(
        ctx,
        &tpl_base,
        name.clone(),
        &tpl_meta,
        job_spec_value,
        true,
        serial,
    )?;
    Ok(CronJob {
        name,
        namespace: ns,
        schedule: spec.schedule.clone(),
        time_zone,
        concurrency_policy,
        starting_deadline_seconds,
        successful_jobs_history_limit: successful,
        failed_jobs_history_limit: failed,
        suspend: spec.suspend.unwrap_or(false),
        job_template,
        labels: labels(c.metadata.labels.as_ref()),
        annotations: c.metadata.annotations.clone().unwrap_or_default(),
    })
}

/// Bytes of a `storage` quantity.
fn storage_bytes(ctx: &Ctx<'_>, path: &[Seg], q: &K8sQuantity) -> Result<i64, Diagnostic> {
    let parsed = Quantity::parse(&q.0).map_err(|e| ctx.err(path, e))?;
    if parsed.is_negative() {
        return Err(ctx.err(
            path,
            format!("must be greater than or equal to 0, got \"{}\"", q.0),
        ));
    }
    Ok(parsed.value())
}

/// The access mode that constrains scheduling most, of those listed.
fn access_mode(ctx: &Ctx<'_>, path: &[Seg], modes: &[String]) -> Result<AccessMode, Diagnostic> {
    const MODES: [&str; 4] = [
        "ReadOnlyMany",
        "ReadWriteMany",
        "ReadWriteOnce",
        "ReadWriteOncePod",
    ];
    let mut found = Vec::new();
    for (i, m) in modes.iter().enumerate() {
        let mode = match m.as_str() {
            "ReadWriteOnce" => AccessMode::ReadWriteOnce,
            "ReadWriteOncePod" => AccessMode::ReadWriteOncePod,
            "ReadOnlyMany" => AccessMode::ReadOnlyMany,
            "ReadWriteMany" => AccessMode::ReadWriteMany,
            other => {
                return Err(unsupported(
                    ctx,
                    &join(path, &[Seg::Index(i)]),
                    other,
                    &MODES,
                ));
            }
        };
        found.push(mode);
    }
    if found.is_empty() {
        return Err(ctx.err(path, "Required value: at least 1 access mode is required"));
    }
    // Upstream validation: ReadWriteOncePod may not be combined with another mode.
    if found.contains(&AccessMode::ReadWriteOncePod) && found.len() > 1 {
        return Err(ctx.err(
            path,
            "Forbidden: may not use ReadWriteOncePod with other access modes",
        ));
    }
    for preferred in [
        AccessMode::ReadWriteOncePod,
        AccessMode::ReadWriteOnce,
        AccessMode::ReadWriteMany,
    ] {
        if found.contains(&preferred) {
            return Ok(preferred);
        }
    }
    Ok(AccessMode::ReadOnlyMany)
}

/// A claim's spec at `base` (a PersistentVolumeClaim, or a StatefulSet's claim template).
fn claim_spec(
    ctx: &Ctx<'_>,
    name: String,
    namespace: String,
    spec: Option<&core::PersistentVolumeClaimSpec>,
    base: &[Seg],
) -> Result<PersistentVolumeClaim, Diagnostic> {
    let spec_path = join(base, &[k("spec")]);
    let Some(spec) = spec else {
        return Err(ctx.err(
            base,
            "Required value: spec (accessModes and resources.requests.storage)",
        ));
    };
    let access = access_mode(
        ctx,
        &join(&spec_path, &[k("accessModes")]),
        spec.access_modes.as_deref().unwrap_or(&[]),
    )?;
    let requests_path = join(&spec_path, &[k("resources"), k("requests")]);
    let request = spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"));
    let Some(request) = request else {
        return Err(ctx.err(
            &requests_path,
            "Required value: resources.requests.storage (e.g. storage: 1Gi)",
        ));
    };
    let request_bytes = storage_bytes(ctx, &join(&requests_path, &[k("storage")]), request)?;
    Ok(PersistentVolumeClaim {
        name,
        namespace,
        storage_class: spec.storage_class_name.clone(),
        request_bytes,
        access_mode: access,
        volume_name: spec.volume_name.clone().filter(|v| !v.is_empty()),
        owner: None,
    })
}

pub(crate) fn claim(
    ctx: &Ctx<'_>,
    c: &core::PersistentVolumeClaim,
    serial: usize,
) -> Result<PersistentVolumeClaim, Diagnostic> {
    let name = object_name(ctx, &c.metadata, "PersistentVolumeClaim", serial)?;
    claim_spec(ctx, name, namespace(&c.metadata), c.spec.as_ref(), &[])
}

/// The zone a node selector pins to: a single-valued `In` on a zone label.
fn zone_of(selector: Option<&core::NodeSelector>) -> Option<String> {
    selector?
        .node_selector_terms
        .iter()
        .flat_map(|t| t.match_expressions.iter().flatten())
        .find(|r| ZONE_KEYS.contains(&r.key.as_str()) && r.operator == "In")
        .and_then(|r| match r.values.as_deref() {
            Some([zone]) => Some(zone.clone()),
            _ => None,
        })
}

pub(crate) fn volume(
    ctx: &Ctx<'_>,
    v: &core::PersistentVolume,
    serial: usize,
) -> Result<PersistentVolume, Diagnostic> {
    let name = object_name(ctx, &v.metadata, "PersistentVolume", serial)?;
    let Some(spec) = &v.spec else {
        return Err(ctx.err(&[], "a PersistentVolume needs a spec"));
    };
    let access = access_mode(
        ctx,
        &[k("spec"), k("accessModes")],
        spec.access_modes.as_deref().unwrap_or(&[]),
    )?;
    let capacity_path = [k("spec"), k("capacity")];
    let Some(capacity) = spec.capacity.as_ref().and_then(|c| c.get("storage")) else {
        return Err(ctx.err(
            &capacity_path,
            "Required value: capacity.storage (e.g. storage: 10Gi)",
        ));
    };
    let capacity_bytes = storage_bytes(ctx, &join(&capacity_path, &[k("storage")]), capacity)?;
    // Upstream SetDefaults_PersistentVolume: reclaimPolicy Retain.
    let reclaim = spec.persistent_volume_reclaim_policy.as_deref();
    let dynamic = match reclaim {
        None | Some("") | Some("Retain") | Some("Recycle") => false,
        Some("Delete") => true,
        Some(other) => {
            return Err(unsupported(
                ctx,
                &[k("spec"), k("persistentVolumeReclaimPolicy")],
                other,
                &["Delete", "Recycle", "Retain"],
            ));
        }
    };
    let claim = spec.claim_ref.as_ref().and_then(|r| {
        let name = r.name.clone().filter(|n| !n.is_empty())?;
        let ns = r
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_string());
        Some((ns, name))
    });
    Ok(PersistentVolume {
        name,
        storage_class: spec.storage_class_name.clone().unwrap_or_default(),
        capacity_bytes,
        zone: zone_of(
            spec.node_affinity
                .as_ref()
                .and_then(|a| a.required.as_ref()),
        ),
        access_mode: access,
        claim,
        dynamic,
    })
}

/// A StorageClass after upstream `SetDefaults_StorageClass` (reclaimPolicy Delete,
/// volumeBindingMode Immediate).
pub(crate) fn storage_class(
    ctx: &Ctx<'_>,
    c: &storage::StorageClass,
    serial: usize,
) -> Result<StorageClass, Diagnostic> {
    let name = object_name(ctx, &c.metadata, "StorageClass", serial)?;
    if c.provisioner.is_empty() {
        return Err(ctx.err(&[k("provisioner")], "Required value"));
    }
    let binding_mode = match c.volume_binding_mode.as_deref() {
        None | Some("") | Some("Immediate") => VolumeBindingMode::Immediate,
        Some("WaitForFirstConsumer") => VolumeBindingMode::WaitForFirstConsumer,
        Some(other) => {
            return Err(unsupported(
                ctx,
                &[k("volumeBindingMode")],
                other,
                &["Immediate", "WaitForFirstConsumer"],
            ));
        }
    };
    let reclaim_delete = match c.reclaim_policy.as_deref() {
        None | Some("") | Some("Delete") => true,
        Some("Retain") => false,
        Some(other) => {
            return Err(unsupported(
                ctx,
                &[k("reclaimPolicy")],
                other,
                &["Delete", "Retain"],
            ));
        }
    };
    let allowed_zones = c
        .allowed_topologies
        .iter()
        .flatten()
        .flat_map(|t| t.match_label_expressions.iter().flatten())
        .filter(|r| ZONE_KEYS.contains(&r.key.as_str()))
        .flat_map(|r| r.values.iter().cloned())
        .collect();
    let is_default = c
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(IS_DEFAULT_CLASS_ANNOTATION))
        .is_some_and(|v| v == "true");
    Ok(StorageClass {
        name,
        provisioner: c.provisioner.clone(),
        binding_mode,
        is_default,
        allowed_zones,
        reclaim_delete,
        max_volumes_per_node: None,
    })
}

fn admission_list(
    ctx: &Ctx<'_>,
    path: &[Seg],
    list: Option<&BTreeMap<String, K8sQuantity>>,
) -> Result<AdmissionList, Diagnostic> {
    let mut out = AdmissionList::new();
    for (name, q) in list.into_iter().flatten() {
        let at = join(path, &[k(name)]);
        let amount = Amount::parse(&q.0).map_err(|e| ctx.err(&at, e))?;
        if amount.sign() == std::cmp::Ordering::Less {
            return Err(ctx.err(
                &at,
                format!("must be greater than or equal to 0, got \"{}\"", q.0),
            ));
        }
        out.insert(name.clone(), amount);
    }
    Ok(out)
}

/// A ResourceQuota: `spec.hard` is what the quota controller copies to `status.hard`; usage
/// is computed by the simulation, not read from a dump.
pub(crate) fn resource_quota(
    ctx: &Ctx<'_>,
    q: &core::ResourceQuota,
    serial: usize,
) -> Result<(String, ResourceQuota), Diagnostic> {
    let name = object_name(ctx, &q.metadata, "ResourceQuota", serial)?;
    let spec = q.spec.clone().unwrap_or_default();
    let hard = admission_list(ctx, &[k("spec"), k("hard")], spec.hard.as_ref())?;
    let mut scope_selector = Vec::new();
    for (i, r) in spec
        .scope_selector
        .iter()
        .flat_map(|s| s.match_expressions.iter().flatten())
        .enumerate()
    {
        let at = [
            k("spec"),
            k("scopeSelector"),
            k("matchExpressions"),
            Seg::Index(i),
        ];
        let operator = match r.operator.as_str() {
            "In" => ScopeSelectorOperator::In,
            "NotIn" => ScopeSelectorOperator::NotIn,
            "Exists" => ScopeSelectorOperator::Exists,
            "DoesNotExist" => ScopeSelectorOperator::DoesNotExist,
            other => {
                return Err(unsupported(
                    ctx,
                    &join(&at, &[k("operator")]),
                    other,
                    &["In", "NotIn", "Exists", "DoesNotExist"],
                ));
            }
        };
        scope_selector.push(ScopedResourceSelectorRequirement {
            scope_name: r.scope_name.clone(),
            operator,
            values: r.values.clone().unwrap_or_default(),
        });
    }
    Ok((
        namespace(&q.metadata),
        ResourceQuota {
            name,
            hard,
            used: AdmissionList::new(),
            scopes: spec.scopes.unwrap_or_default(),
            scope_selector,
        },
    ))
}

/// A LimitRange, with upstream `SetDefaults_LimitRangeItem` applied as on storing it.
pub(crate) fn limit_range(
    ctx: &Ctx<'_>,
    l: &core::LimitRange,
    serial: usize,
) -> Result<(String, LimitRange), Diagnostic> {
    let name = object_name(ctx, &l.metadata, "LimitRange", serial)?;
    let mut limits = Vec::new();
    for (i, item) in l.spec.iter().flat_map(|s| s.limits.iter()).enumerate() {
        let at = [k("spec"), k("limits"), Seg::Index(i)];
        let limit_type = match item.type_.as_str() {
            "Pod" => LimitType::Pod,
            "Container" => LimitType::Container,
            "PersistentVolumeClaim" => LimitType::PersistentVolumeClaim,
            other => LimitType::Other(other.to_string()),
        };
        let list = |field: &str, v: Option<&BTreeMap<String, K8sQuantity>>| {
            admission_list(ctx, &join(&at, &[k(field)]), v)
        };
        let mut converted = LimitRangeItem::new(limit_type);
        converted.max = list("max", item.max.as_ref())?;
        converted.min = list("min", item.min.as_ref())?;
        converted.default = list("default", item.default.as_ref())?;
        converted.default_request = list("defaultRequest", item.default_request.as_ref())?;
        converted.max_limit_request_ratio = list(
            "maxLimitRequestRatio",
            item.max_limit_request_ratio.as_ref(),
        )?;
        set_defaults_limit_range_item(&mut converted);
        limits.push(converted);
    }
    Ok((namespace(&l.metadata), LimitRange { name, limits }))
}

/// `spec.podFailurePolicy.rules`: actions FailJob, FailIndex, Ignore, Count; each rule matches
/// on exit codes or on pod conditions (upstream `validatePodFailurePolicyRule`: exactly one).
fn pod_failure_policy(
    ctx: &mut Ctx,
    base: &[Seg],
    policy: &batch::PodFailurePolicy,
) -> Result<Vec<crate::api::batch::PodFailurePolicyRule>, Diagnostic> {
    use crate::api::batch::{
        ExitCodeOperator, OnExitCodes, OnPodCondition, PodFailurePolicyAction, PodFailurePolicyRule,
    };
    let mut out = Vec::new();
    for (i, rule) in policy.rules.iter().enumerate() {
        let at = join(base, &[k("rules"), Seg::Index(i)]);
        let action = match rule.action.as_str() {
            "FailJob" => PodFailurePolicyAction::FailJob,
            "FailIndex" => PodFailurePolicyAction::FailIndex,
            "Ignore" => PodFailurePolicyAction::Ignore,
            "Count" => PodFailurePolicyAction::Count,
            other => {
                return Err(unsupported(
                    ctx,
                    &join(&at, &[k("action")]),
                    other,
                    &["FailJob", "FailIndex", "Ignore", "Count"],
                ));
            }
        };
        let on_exit_codes = match &rule.on_exit_codes {
            Some(e) => {
                let operator = match e.operator.as_str() {
                    "In" => ExitCodeOperator::In,
                    "NotIn" => ExitCodeOperator::NotIn,
                    other => {
                        return Err(unsupported(
                            ctx,
                            &join(&at, &[k("onExitCodes"), k("operator")]),
                            other,
                            &["In", "NotIn"],
                        ));
                    }
                };
                Some(OnExitCodes {
                    container_name: e.container_name.clone(),
                    operator,
                    values: e.values.clone(),
                })
            }
            None => None,
        };
        let on_pod_conditions: Vec<OnPodCondition> = rule
            .on_pod_conditions
            .iter()
            .flatten()
            .map(|c| OnPodCondition {
                type_: c.type_.clone(),
                // Upstream SetDefaults_PodFailurePolicyOnPodConditionsPattern: True.
                status: if c.status.is_empty() {
                    "True".to_string()
                } else {
                    c.status.clone()
                },
            })
            .collect();
        if on_exit_codes.is_some() != on_pod_conditions.is_empty() {
            return Err(ctx.err(
                &at,
                "Invalid value: specify one of onExitCodes and onPodConditions, but not both",
            ));
        }
        out.push(PodFailurePolicyRule {
            action,
            on_exit_codes,
            on_pod_conditions,
        });
    }
    Ok(out)
}
