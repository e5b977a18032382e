//! Stored objects: the spec as written, the metadata the API server keeps (creation time,
//! generation, deletion) and the status controllers write.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::SimTime;

use crate::api::{Deployment, PodId, ReplicaSet, WorkloadId};

/// A status condition (`metav1.Condition`-like, as Deployments carry them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub type_: &'static str,
    /// "True", "False" or "Unknown".
    pub status: &'static str,
    pub reason: &'static str,
    pub message: String,
    pub last_update: SimTime,
    pub last_transition: SimTime,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaSetStatus {
    pub replicas: i32,
    pub fully_labeled_replicas: i32,
    pub ready_replicas: i32,
    pub available_replicas: i32,
    pub observed_generation: i64,
}

#[derive(Clone, Debug)]
pub struct ReplicaSetObject {
    pub id: WorkloadId,
    pub rs: ReplicaSet,
    pub created: SimTime,
    /// `metadata.generation`: bumped on every spec change.
    pub generation: i64,
    pub status: ReplicaSetStatus,
    /// `metadata.deletionTimestamp` (foreground deletion waits here for its dependents).
    pub deletion_timestamp: Option<SimTime>,
    /// The `foregroundDeletion` finalizer: the object goes once its dependents are gone.
    pub foreground: bool,
    /// The `orphan` finalizer: dependents lose their ownerReference, then the object goes.
    pub orphan: bool,
    pub deleted: bool,
    /// Pods whose controller reference names this ReplicaSet, in creation order (an index the
    /// API server keeps, as an informer indexer would).
    pub pods: BTreeSet<PodId>,
    /// Counts over `pods`, kept as they change, so a sync need not walk every pod.
    pub counts: OwnedPodCounts,
}

/// What the ReplicaSet controller counts over its pods (upstream `calculateStatus`, minus
/// availability, which depends on time).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OwnedPodCounts {
    /// Not terminal and not being deleted (`controller.IsPodActive`).
    pub active: i32,
    /// Active and Ready.
    pub ready: i32,
    /// Active and carrying every label of the template.
    pub fully_labeled: i32,
}

impl OwnedPodCounts {
    pub(crate) fn add(&mut self, other: OwnedPodCounts, sign: i32) {
        self.active += sign * other.active;
        self.ready += sign * other.ready;
        self.fully_labeled += sign * other.fully_labeled;
    }
}

impl ReplicaSetObject {
    pub fn exists(&self) -> bool {
        !self.deleted
    }

    /// `deployment.kubernetes.io/revision`, 0 when absent.
    pub fn revision(&self) -> i64 {
        annotation_i64(&self.rs.annotations, REVISION_ANNOTATION).unwrap_or(0)
    }
}

pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
pub const DESIRED_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/max-replicas";
pub const REVISION_HISTORY_ANNOTATION: &str = "deployment.kubernetes.io/revision-history";

pub fn annotation_i64(annotations: &BTreeMap<String, String>, key: &str) -> Option<i64> {
    annotations.get(key).and_then(|v| v.parse().ok())
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeploymentStatus {
    pub observed_generation: i64,
    pub replicas: i32,
    pub updated_replicas: i32,
    pub ready_replicas: i32,
    pub available_replicas: i32,
    pub unavailable_replicas: i32,
    pub conditions: Vec<Condition>,
}

impl DeploymentStatus {
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }

    /// Upstream `SetDeploymentCondition`: replaces the condition of the same type, keeping its
    /// transition time when the status does not change and the reason does not either.
    pub fn set_condition(&mut self, mut c: Condition) {
        if let Some(old) = self.condition(c.type_) {
            if old.status == c.status && old.reason == c.reason {
                return;
            }
            if old.status == c.status {
                c.last_transition = old.last_transition;
            }
        }
        self.remove_condition(c.type_);
        self.conditions.push(c);
    }

    pub fn remove_condition(&mut self, type_: &str) {
        self.conditions.retain(|c| c.type_ != type_);
    }
}

#[derive(Clone, Debug)]
pub struct DeploymentObject {
    pub id: WorkloadId,
    pub d: Deployment,
    pub created: SimTime,
    pub generation: i64,
    pub status: DeploymentStatus,
    pub deletion_timestamp: Option<SimTime>,
    pub foreground: bool,
    pub orphan: bool,
    pub deleted: bool,
    /// ReplicaSets whose controller reference names this Deployment.
    pub replica_sets: Vec<WorkloadId>,
}

impl DeploymentObject {
    pub fn exists(&self) -> bool {
        !self.deleted
    }
}

/// What the disruption controller writes into a PDB's status, plus the pods the Eviction API
/// has evicted that the controller has not yet seen go (`status.disruptedPods`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PdbObject {
    pub expected_pods: i32,
    pub desired_healthy: i32,
    pub current_healthy: i32,
    pub disruptions_allowed: i32,
    /// Pods evicted, with the eviction time (upstream drops entries after 2 minutes).
    pub disrupted_pods: BTreeMap<PodId, SimTime>,
    /// The controller has computed this status at least once.
    pub observed: bool,
}
