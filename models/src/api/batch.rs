//! Jobs and CronJobs (batch/v1), with upstream's defaults (`pkg/apis/batch/v1/defaults.go`).

use std::collections::BTreeMap;

use super::{LabelSelector, Labels, OwnerRef, PodTemplate};

/// Upstream `SetDefaults_Job`.
pub const DEFAULT_BACKOFF_LIMIT: i32 = 6;
/// Upstream `SetDefaults_CronJob`.
pub const DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT: i32 = 3;
pub const DEFAULT_FAILED_JOBS_HISTORY_LIMIT: i32 = 1;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CompletionMode {
    #[default]
    NonIndexed,
    /// Each pod gets a completion index 0..completions (annotation
    /// `batch.kubernetes.io/job-completion-index`).
    Indexed,
}

/// `spec.podFailurePolicy.rules[*].action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodFailurePolicyAction {
    FailJob,
    FailIndex,
    Ignore,
    Count,
}

/// `onExitCodes.operator`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCodeOperator {
    In,
    NotIn,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnExitCodes {
    pub container_name: Option<String>,
    pub operator: ExitCodeOperator,
    pub values: Vec<i32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnPodCondition {
    pub type_: String,
    pub status: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodFailurePolicyRule {
    pub action: PodFailurePolicyAction,
    pub on_exit_codes: Option<OnExitCodes>,
    pub on_pod_conditions: Vec<OnPodCondition>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub name: String,
    pub namespace: String,
    /// `spec.parallelism` (default 1).
    pub parallelism: i32,
    /// `spec.completions`: `None` means "until any pod succeeds" (work-queue jobs).
    pub completions: Option<i32>,
    pub completion_mode: CompletionMode,
    pub backoff_limit: i32,
    pub backoff_limit_per_index: Option<i32>,
    pub max_failed_indexes: Option<i32>,
    pub active_deadline_seconds: Option<i64>,
    pub ttl_seconds_after_finished: Option<i32>,
    pub pod_failure_policy: Vec<PodFailurePolicyRule>,
    pub suspend: bool,
    /// The selector: `controller-uid` unless `manualSelector`.
    pub selector: LabelSelector,
    pub template: PodTemplate,
    /// The CronJob that created it, if any.
    pub owner: Option<OwnerRef>,
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
}

impl Job {
    pub fn new(
        name: impl Into<String>,
        namespace: impl Into<String>,
        template: PodTemplate,
    ) -> Self {
        Job {
            name: name.into(),
            namespace: namespace.into(),
            parallelism: 1,
            completions: Some(1),
            completion_mode: CompletionMode::NonIndexed,
            backoff_limit: DEFAULT_BACKOFF_LIMIT,
            backoff_limit_per_index: None,
            max_failed_indexes: None,
            active_deadline_seconds: None,
            ttl_seconds_after_finished: None,
            pod_failure_policy: Vec::new(),
            suspend: false,
            selector: LabelSelector::default(),
            template,
            owner: None,
            labels: Labels::new(),
            annotations: BTreeMap::new(),
        }
    }
}

/// `spec.concurrencyPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConcurrencyPolicy {
    #[default]
    Allow,
    Forbid,
    Replace,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CronJob {
    pub name: String,
    pub namespace: String,
    /// `spec.schedule`, in cron syntax (validated at load time).
    pub schedule: String,
    /// `spec.timeZone`: an IANA name; `None` is the controller manager's zone (UTC here).
    pub time_zone: Option<String>,
    pub concurrency_policy: ConcurrencyPolicy,
    pub starting_deadline_seconds: Option<i64>,
    pub successful_jobs_history_limit: i32,
    pub failed_jobs_history_limit: i32,
    pub suspend: bool,
    /// `spec.jobTemplate`: name and namespace are filled in per run.
    pub job_template: Job,
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
}
