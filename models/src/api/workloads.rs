//! Workload controllers' objects: ReplicaSets and Deployments.

use super::{LabelSelector, Pod, WorkloadId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum OwnerKind {
    ReplicaSet,
    Deployment,
}

/// The controlling owner of an object (metadata.ownerReferences with controller: true).
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

#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaSet {
    pub name: String,
    pub namespace: String,
    pub replicas: i32,
    pub selector: LabelSelector,
    pub template: PodTemplate,
    pub owner: Option<OwnerRef>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Deployment {
    pub name: String,
    pub namespace: String,
    pub replicas: i32,
    pub selector: LabelSelector,
    pub template: PodTemplate,
}
