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
pub const LABEL_OS: &str = "kubernetes.io/os";
pub const LABEL_ARCH: &str = "kubernetes.io/arch";
/// Deprecated forms the kubelet and cloud providers still set next to the GA ones.
pub const LABEL_OS_BETA: &str = "beta.kubernetes.io/os";
pub const LABEL_ARCH_BETA: &str = "beta.kubernetes.io/arch";
pub const LABEL_ZONE_BETA: &str = "failure-domain.beta.kubernetes.io/zone";
pub const LABEL_REGION_BETA: &str = "failure-domain.beta.kubernetes.io/region";
pub const LABEL_INSTANCE_TYPE_BETA: &str = "beta.kubernetes.io/instance-type";

/// What a node's kubelet and cloud provider would label it with, before the node's own labels.
#[derive(Clone, Copy, Debug, Default)]
pub struct WellKnownLabels<'a> {
    pub hostname: &'a str,
    /// `kubernetes.io/os`; the kubelet sets `runtime.GOOS`.
    pub os: Option<&'a str>,
    /// `kubernetes.io/arch`; the kubelet sets `runtime.GOARCH`.
    pub arch: Option<&'a str>,
    pub zone: Option<&'a str>,
    pub region: Option<&'a str>,
    pub instance_type: Option<&'a str>,
}

impl WellKnownLabels<'_> {
    /// Adds the well-known labels `labels` lacks, as upstream kubelet's `initialNode` and the
    /// cloud node controller do: `kubernetes.io/hostname`, os and arch, zone, region and
    /// instance type, each in its GA and its deprecated beta form. A label already present wins,
    /// and a GA label given alone also sets its beta twin (and the reverse), so that a node
    /// labelled `kubernetes.io/arch: arm64` does not also claim `beta.kubernetes.io/arch: amd64`.
    pub fn apply_to(&self, labels: &mut Labels) {
        if !labels.contains_key(LABEL_HOSTNAME) {
            labels.insert(LABEL_HOSTNAME, self.hostname);
        }
        let pairs = [
            (LABEL_OS, LABEL_OS_BETA, self.os),
            (LABEL_ARCH, LABEL_ARCH_BETA, self.arch),
            (LABEL_ZONE, LABEL_ZONE_BETA, self.zone),
            (LABEL_REGION, LABEL_REGION_BETA, self.region),
            (
                LABEL_INSTANCE_TYPE,
                LABEL_INSTANCE_TYPE_BETA,
                self.instance_type,
            ),
        ];
        for (ga, beta, default) in pairs {
            let value = labels
                .get(ga)
                .or_else(|| labels.get(beta))
                .or(default)
                .map(str::to_string);
            if let Some(value) = value {
                if !labels.contains_key(ga) {
                    labels.insert(ga, value.clone());
                }
                if !labels.contains_key(beta) {
                    labels.insert(beta, value);
                }
            }
        }
    }
}

/// The region of a zone named the way cloud providers name them: `us-east-1a` (AWS) →
/// `us-east-1`, `europe-west1-b` (GCE) → `europe-west1`, `eastus-1` (Azure) → `eastus`,
/// `zone-a` → `zone`. A zone that follows none of these patterns is its own region.
pub fn region_of_zone(zone: &str) -> &str {
    if let Some((head, tail)) = zone.rsplit_once('-') {
        let mut chars = tail.chars();
        if !head.is_empty()
            && let (Some(c), None) = (chars.next(), chars.next())
            && (c.is_ascii_lowercase() || c.is_ascii_digit())
        {
            return head;
        }
    }
    let mut rev = zone.chars().rev();
    if let (Some(last), Some(before)) = (rev.next(), rev.next())
        && last.is_ascii_lowercase()
        && before.is_ascii_digit()
    {
        return &zone[..zone.len() - 1];
    }
    zone
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_derived_from_cloud_zone_names() {
        assert_eq!(region_of_zone("us-east-1a"), "us-east-1");
        assert_eq!(region_of_zone("europe-west1-b"), "europe-west1");
        assert_eq!(region_of_zone("eastus-1"), "eastus");
        assert_eq!(region_of_zone("zone-a"), "zone");
        assert_eq!(region_of_zone("mars"), "mars");
        assert_eq!(region_of_zone("-a"), "-a");
    }

    #[test]
    fn well_known_labels_fill_gaps_and_keep_given_values() {
        let mut labels = Labels::new();
        labels.insert(LABEL_ARCH, "arm64");
        labels.insert(LABEL_ZONE_BETA, "z1");
        WellKnownLabels {
            hostname: "n1",
            os: Some("linux"),
            arch: Some("amd64"),
            zone: Some("z9"),
            region: None,
            instance_type: None,
        }
        .apply_to(&mut labels);
        assert_eq!(labels.get(LABEL_HOSTNAME), Some("n1"));
        assert_eq!(labels.get(LABEL_OS), Some("linux"));
        assert_eq!(labels.get(LABEL_OS_BETA), Some("linux"));
        assert_eq!(labels.get(LABEL_ARCH), Some("arm64"));
        assert_eq!(labels.get(LABEL_ARCH_BETA), Some("arm64"));
        // The beta zone was given: the GA label follows it, not the default.
        assert_eq!(labels.get(LABEL_ZONE), Some("z1"));
        assert_eq!(labels.get(LABEL_REGION), None);
        assert_eq!(labels.get(LABEL_INSTANCE_TYPE_BETA), None);
    }
}
