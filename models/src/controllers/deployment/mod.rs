//! Deployment controller (upstream `pkg/controller/deployment`): owns one ReplicaSet per pod
//! template, named `<deployment>-<pod-template-hash>`. Rollouts arrive in a later issue; here
//! the Deployment keeps its current ReplicaSet at `spec.replicas`.

use crate::api::{Deployment, OwnerKind, OwnerRef, PodTemplate, ReplicaSet, WorkloadId};

use super::names::{fnv32a, safe_encode};

/// Label upstream puts on a Deployment's ReplicaSets and pods.
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

#[derive(Clone, Debug)]
pub struct DeploymentState {
    pub deployment: Deployment,
    pub id: WorkloadId,
    /// Index of the current ReplicaSet in the world's ReplicaSet list, once created.
    pub current_replica_set: Option<usize>,
}

/// Upstream `controller.ComputeHash`: FNV-32a over the template, rendered with
/// `SafeEncodeString`. Upstream hashes the Go object dump; kubesim hashes its own stable dump
/// of the template, so the value differs from a real cluster's but has the same shape and the
/// same property: same template, same hash.
pub fn pod_template_hash(template: &PodTemplate) -> String {
    let dump = format!("{:?}", template.pod);
    safe_encode(&fnv32a(dump.as_bytes()).to_string())
}

impl DeploymentState {
    pub fn new(deployment: Deployment, id: WorkloadId) -> Self {
        DeploymentState {
            deployment,
            id,
            current_replica_set: None,
        }
    }

    /// The ReplicaSet the Deployment wants for its current template.
    pub fn new_replica_set(&self) -> ReplicaSet {
        let d = &self.deployment;
        let hash = pod_template_hash(&d.template);
        let mut template = d.template.clone();
        template
            .pod
            .labels
            .insert(POD_TEMPLATE_HASH_LABEL, hash.clone());
        let name = format!("{}-{}", d.name, hash);
        template.pod.name.clone_from(&name);
        let mut selector = d.selector.clone();
        selector.requirements.push(crate::api::Requirement::new(
            POD_TEMPLATE_HASH_LABEL,
            crate::api::Operator::Equals,
            vec![hash],
        ));
        let mut rs = ReplicaSet::new(name, d.namespace.clone(), d.replicas, selector, template);
        rs.owner = Some(OwnerRef {
            kind: OwnerKind::Deployment,
            name: d.name.clone(),
            id: self.id,
        });
        rs
    }
}

// Upstream's pure algorithms, each in the file named after its upstream source.
pub mod rolling;
pub mod scale;
pub mod util;
