//! Storage: StorageClasses, PersistentVolumeClaims and PersistentVolumes.

use super::OwnerRef;

/// `volumeBindingMode` of a StorageClass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VolumeBindingMode {
    /// The volume is provisioned (in some zone) as soon as the claim exists.
    Immediate,
    /// Provisioning waits for the first pod using the claim to be scheduled, in its node's zone.
    #[default]
    WaitForFirstConsumer,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageClass {
    pub name: String,
    pub provisioner: String,
    pub binding_mode: VolumeBindingMode,
    /// `storageclass.kubernetes.io/is-default-class: "true"`.
    pub is_default: bool,
    /// `allowedTopologies` zones (empty: any).
    pub allowed_zones: Vec<String>,
    /// `reclaimPolicy` is Delete (the default): the volume goes with its claim.
    pub reclaim_delete: bool,
    /// Volumes a node may attach from this class's driver (NodeVolumeLimits); `None` unlimited.
    pub max_volumes_per_node: Option<u32>,
}

/// Upstream `v1.LabelTopologyZone`: the node label a zonal volume's node affinity names.
pub const LABEL_TOPOLOGY_ZONE: &str = "topology.kubernetes.io/zone";
/// Upstream `v1.LabelTopologyRegion`.
pub const LABEL_TOPOLOGY_REGION: &str = "topology.kubernetes.io/region";
/// Upstream `v1.LabelFailureDomainBetaZone` (deprecated, still read by VolumeZone).
pub const LABEL_FAILURE_DOMAIN_BETA_ZONE: &str = "failure-domain.beta.kubernetes.io/zone";
/// Upstream `v1.LabelFailureDomainBetaRegion`.
pub const LABEL_FAILURE_DOMAIN_BETA_REGION: &str = "failure-domain.beta.kubernetes.io/region";
/// Upstream `NotSupportedProvisioner`: a class for statically provisioned (local) volumes only.
pub const NOT_SUPPORTED_PROVISIONER: &str = "kubernetes.io/no-provisioner";

/// The StorageClass every managed cluster has, unless the scenario brings its own default or
/// turns it off: zonal, WaitForFirstConsumer, dynamically provisioned.
pub const DEFAULT_STORAGE_CLASS: &str = "standard";

impl StorageClass {
    pub fn default_class() -> Self {
        StorageClass {
            name: DEFAULT_STORAGE_CLASS.into(),
            provisioner: "kubesim.io/zonal-disk".into(),
            binding_mode: VolumeBindingMode::WaitForFirstConsumer,
            is_default: true,
            allowed_zones: Vec::new(),
            reclaim_delete: true,
            max_volumes_per_node: None,
        }
    }
}

/// `accessModes` that matter to scheduling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AccessMode {
    #[default]
    ReadWriteOnce,
    /// `ReadWriteOncePod`: one pod in the whole cluster (VolumeRestrictions).
    ReadWriteOncePod,
    ReadOnlyMany,
    ReadWriteMany,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersistentVolumeClaim {
    pub name: String,
    pub namespace: String,
    /// `spec.storageClassName`: `None` takes the default class; `Some("")` asks for no class
    /// (static binding only).
    pub storage_class: Option<String>,
    /// `spec.resources.requests.storage`, in bytes.
    pub request_bytes: i64,
    pub access_mode: AccessMode,
    /// `spec.volumeName`: pre-bound to this volume.
    pub volume_name: Option<String>,
    /// A StatefulSet (retention policy) or pod owning the claim.
    pub owner: Option<OwnerRef>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersistentVolume {
    pub name: String,
    pub storage_class: String,
    pub capacity_bytes: i64,
    /// The zone its node affinity pins it to (`topology.kubernetes.io/zone`), if any.
    pub zone: Option<String>,
    pub access_mode: AccessMode,
    /// `spec.claimRef` (namespace, name).
    pub claim: Option<(String, String)>,
    /// Made by the provisioner for a claim (deleted with it under reclaimPolicy Delete).
    pub dynamic: bool,
}

impl PersistentVolume {
    /// The volume's labels as far as VolumeZone reads them: a zonal volume carries the zone
    /// label its node affinity names (as cloud disks labelled by the provisioner do).
    pub fn topology_labels(&self) -> Vec<(&'static str, &str)> {
        self.zone
            .as_deref()
            .map(|z| vec![(LABEL_TOPOLOGY_ZONE, z)])
            .unwrap_or_default()
    }
}

/// A volume a pod mounts, as far as scheduling and storage care.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PodVolume {
    /// `persistentVolumeClaim.claimName`.
    Claim { name: String, read_only: bool },
    /// `emptyDir`, with its `sizeLimit` in bytes; counts toward ephemeral storage.
    EmptyDir { size_limit: Option<i64> },
}

/// The names of the claims a pod mounts (`spec.volumes[].persistentVolumeClaim.claimName`), in
/// spec order.
pub fn pod_claim_names(volumes: &[PodVolume]) -> impl Iterator<Item = &str> {
    volumes.iter().filter_map(|v| match v {
        PodVolume::Claim { name, .. } => Some(name.as_str()),
        PodVolume::EmptyDir { .. } => None,
    })
}
