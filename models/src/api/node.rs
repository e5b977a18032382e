//! Nodes as the scheduler sees them.

use super::{Labels, ResourceList, Taint};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Node {
    pub name: String,
    pub labels: Labels,
    pub taints: Vec<Taint>,
    /// `status.allocatable`, in upstream integer units.
    pub allocatable: ResourceList,
    /// `spec.unschedulable` (cordoned).
    pub unschedulable: bool,
    /// The node pool that created this node, if any (`None` for nodes given as manifests).
    pub pool: Option<String>,
    /// Images present on the node with their sizes in bytes (for ImageLocality).
    pub images: Vec<(String, i64)>,
    /// Model of the node's GPUs (`V100M32`, `T4`, …); its devices are the allocatable
    /// `nvidia.com/gpu` count. `None` for nodes without GPUs or of unknown model.
    pub gpu_model: Option<String>,
}

/// Well-known topology labels (k8s.io/api/core/v1/well_known_labels.go).
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";
pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";
pub const LABEL_REGION: &str = "topology.kubernetes.io/region";
pub const LABEL_INSTANCE_TYPE: &str = "node.kubernetes.io/instance-type";
