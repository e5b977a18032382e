//! Workload controllers' objects: ReplicaSets, ReplicationControllers and Deployments.

use std::collections::BTreeMap;

use super::{IntOrPercent, LabelSelector, Pod, WorkloadId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OwnerKind {
    ReplicaSet,
    Deployment,
    ReplicationController,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
}

impl OwnerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerKind::ReplicaSet => "ReplicaSet",
            OwnerKind::Deployment => "Deployment",
            OwnerKind::ReplicationController => "ReplicationController",
            OwnerKind::StatefulSet => "StatefulSet",
            OwnerKind::DaemonSet => "DaemonSet",
            OwnerKind::Job => "Job",
            OwnerKind::CronJob => "CronJob",
        }
    }

    /// The lower-case form `kubectl` uses in object references (`replicaset/web-7d4b9`).
    pub fn resource(self) -> &'static str {
        match self {
            OwnerKind::ReplicaSet => "replicaset",
            OwnerKind::Deployment => "deployment",
            OwnerKind::ReplicationController => "replicationcontroller",
            OwnerKind::StatefulSet => "statefulset",
            OwnerKind::DaemonSet => "daemonset",
            OwnerKind::Job => "job",
            OwnerKind::CronJob => "cronjob",
        }
    }

    /// The ReplicaSet controller runs it (ReplicaSets and ReplicationControllers share one
    /// table in the API server).
    pub fn is_replica_set(self) -> bool {
        matches!(
            self,
            OwnerKind::ReplicaSet | OwnerKind::ReplicationController
        )
    }
}

/// The controlling owner of an object (`metadata.ownerReferences` with `controller: true`).
///
/// `id` is the owner's index in the API server; objects read from manifests name their owner
/// only, with `id == WorkloadId::UNRESOLVED`, and the API server resolves it on create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerRef {
    pub kind: OwnerKind,
    pub name: String,
    pub id: WorkloadId,
}

/// A pod template: the pod every replica is stamped from (its name is the generate-name base).
#[derive(Clone, Debug, PartialEq)]
pub struct PodTemplate {
    pub pod: Pod,
}

/// A ReplicaSet, or a ReplicationController (`kind`), which the same controller runs upstream
/// (`pkg/controller/replication` wraps the ReplicaSet controller).
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaSet {
    pub name: String,
    pub namespace: String,
    pub kind: OwnerKind,
    pub replicas: i32,
    pub selector: LabelSelector,
    pub template: PodTemplate,
    pub owner: Option<OwnerRef>,
    pub min_ready_seconds: i32,
    /// `metadata.labels` (a Deployment's ReplicaSets carry the template's labels).
    pub labels: super::Labels,
    /// `metadata.annotations`: the Deployment controller's revision and replica annotations.
    pub annotations: BTreeMap<String, String>,
}

/// `spec.strategy` of a Deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeploymentStrategy {
    RollingUpdate {
        max_surge: IntOrPercent,
        max_unavailable: IntOrPercent,
    },
    Recreate,
}

impl Default for DeploymentStrategy {
    /// Upstream `SetDefaults_Deployment` (apps/v1): RollingUpdate with 25% / 25%.
    fn default() -> Self {
        DeploymentStrategy::RollingUpdate {
            max_surge: IntOrPercent::Percent(25),
            max_unavailable: IntOrPercent::Percent(25),
        }
    }
}

/// Upstream apps/v1 defaults (`pkg/apis/apps/v1/defaults.go`).
pub const DEFAULT_PROGRESS_DEADLINE_SECONDS: i32 = 600;
pub const DEFAULT_REVISION_HISTORY_LIMIT: i32 = 10;

#[derive(Clone, Debug, PartialEq)]
pub struct Deployment {
    pub name: String,
    pub namespace: String,
    pub replicas: i32,
    pub selector: LabelSelector,
    pub template: PodTemplate,
    pub strategy: DeploymentStrategy,
    pub min_ready_seconds: i32,
    /// `spec.progressDeadlineSeconds`; defaulted to 600 by the API server.
    pub progress_deadline_seconds: Option<i32>,
    pub revision_history_limit: i32,
    pub paused: bool,
    pub labels: super::Labels,
    pub annotations: BTreeMap<String, String>,
}

impl Deployment {
    /// A Deployment with upstream's defaults for everything but what is given.
    pub fn new(
        name: impl Into<String>,
        namespace: impl Into<String>,
        replicas: i32,
        selector: LabelSelector,
        template: PodTemplate,
    ) -> Self {
        Deployment {
            name: name.into(),
            namespace: namespace.into(),
            replicas,
            selector,
            template,
            strategy: DeploymentStrategy::default(),
            min_ready_seconds: 0,
            progress_deadline_seconds: Some(DEFAULT_PROGRESS_DEADLINE_SECONDS),
            revision_history_limit: DEFAULT_REVISION_HISTORY_LIMIT,
            paused: false,
            labels: super::Labels::new(),
            annotations: BTreeMap::new(),
        }
    }
}

impl ReplicaSet {
    /// A bare ReplicaSet (no owner, no annotations).
    pub fn new(
        name: impl Into<String>,
        namespace: impl Into<String>,
        replicas: i32,
        selector: LabelSelector,
        template: PodTemplate,
    ) -> Self {
        ReplicaSet {
            name: name.into(),
            namespace: namespace.into(),
            kind: OwnerKind::ReplicaSet,
            replicas,
            selector,
            template,
            owner: None,
            min_ready_seconds: 0,
            labels: super::Labels::new(),
            annotations: BTreeMap::new(),
        }
    }
}
