//! Compact internal forms of the Kubernetes objects kubesim models.
//!
//! Manifests are parsed into `k8s-openapi` types (see `scenario`), then converted into these
//! types, which are built for the scheduler's hot path: resources as integers in upstream's
//! units, labels as sorted vectors, dense typed ids.

pub mod apps;
pub mod autoscaling;
pub mod batch;
pub mod ids;
pub mod labels;
pub mod network;
pub mod node;
pub mod node_affinity;
pub mod pdb;
pub mod pod;
pub mod pod_scheduling;
pub mod priority;
pub mod quantity;
pub mod resources;
pub mod storage;
pub mod taints;
pub mod validation;
pub mod workloads;

pub use apps::{
    DaemonSet, DaemonSetUpdateStrategy, PodManagementPolicy, PvcRetentionPolicy, StatefulSet,
    StatefulSetUpdateStrategy,
};
pub use batch::{CompletionMode, ConcurrencyPolicy, CronJob, Job};
pub use ids::{NodeId, PodId, WorkloadId};
pub use labels::{LabelSelector, Labels, Operator, Requirement};
pub use node::Node;
pub use node::{LABEL_HOSTNAME, LABEL_INSTANCE_TYPE, LABEL_REGION, LABEL_ZONE};
pub use pdb::{IntOrPercent, PodDisruptionBudget};
pub use pod::{
    DumpedPodStatus, NodeAffinity, NodeSelector, NodeSelectorTerm, Pod, PodPhase, PodResources,
    PreferredSchedulingTerm, RestartPolicy, SharedList,
};
pub use pod_scheduling::{
    HostPort, NodeInclusionPolicy, PodAffinity, PodAffinityTerm, PodSchedulingSpec, Protocol,
    TopologySpreadConstraint, WeightedPodAffinityTerm, WhenUnsatisfiable,
};
pub use priority::{PreemptionPolicy, PriorityClass, PriorityClasses};
pub use quantity::{Quantity, QuantityError};
pub use resources::{ResourceList, ResourceName};
pub use storage::{PersistentVolume, PersistentVolumeClaim, PodVolume, StorageClass};
pub use taints::tolerations_tolerate;
pub use taints::{Taint, TaintEffect, Toleration, TolerationOperator};
pub use workloads::{
    DEFAULT_PROGRESS_DEADLINE_SECONDS, DEFAULT_REVISION_HISTORY_LIMIT, Deployment,
    DeploymentStrategy, OwnerKind, OwnerRef, PodTemplate, ReplicaSet,
};
