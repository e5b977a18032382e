//! VolumeZone (upstream `pkg/scheduler/framework/plugins/volumezone`): the zone and region
//! labels of a pod's bound volumes must match the node's. A kubesim volume's labels are its
//! zone (`PersistentVolume::topology_labels`); VolumeBinding, earlier in the profile, already
//! rejects such nodes through the volume's node affinity, so this plugin matters for profiles
//! that disable VolumeBinding, as upstream.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::api::storage::{
    LABEL_FAILURE_DOMAIN_BETA_REGION, LABEL_FAILURE_DOMAIN_BETA_ZONE, LABEL_TOPOLOGY_REGION,
    LABEL_TOPOLOGY_ZONE, VolumeBindingMode, pod_claim_names,
};
use crate::api::{Labels, Pod};
use crate::apiserver::Storage;
use crate::scheduler::framework::{ExtensionPoints, Plugin, Snapshot, Status};
use crate::store::NodeInfo;

pub const NAME: &str = "VolumeZone";
/// Upstream `ErrReasonConflict`.
pub const ERR_REASON_CONFLICT: &str = "node(s) had no available volume zone";

/// Upstream `topologyLabels`, in its order.
pub const TOPOLOGY_LABELS: [&str; 4] = [
    LABEL_FAILURE_DOMAIN_BETA_ZONE,
    LABEL_FAILURE_DOMAIN_BETA_REGION,
    LABEL_TOPOLOGY_ZONE,
    LABEL_TOPOLOGY_REGION,
];

/// Upstream `pvTopology`: one topology label of a volume and the values it allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PvTopology {
    pub key: &'static str,
    pub values: BTreeSet<String>,
}

/// Upstream `translateToGALabel`.
fn translate_to_ga_label(label: &str) -> &str {
    match label {
        LABEL_FAILURE_DOMAIN_BETA_REGION => LABEL_TOPOLOGY_REGION,
        LABEL_FAILURE_DOMAIN_BETA_ZONE => LABEL_TOPOLOGY_ZONE,
        other => other,
    }
}

/// Upstream `volumehelpers.LabelZonesToSet`: a label value may list several zones joined by
/// `__`; an empty element is an error (the label is then ignored).
fn label_zones_to_set(value: &str) -> Option<BTreeSet<String>> {
    let mut set = BTreeSet::new();
    for zone in value.split("__") {
        if zone.is_empty() {
            return None;
        }
        set.insert(zone.to_string());
    }
    Some(set)
}

/// Upstream `getPVTopologies`: a volume's topology labels, given as `(key, value)` pairs.
pub fn pv_topologies<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<PvTopology> {
    let labels: Vec<(&str, &str)> = labels.into_iter().collect();
    TOPOLOGY_LABELS
        .iter()
        .filter_map(|&key| {
            let value = labels.iter().find(|(k, _)| *k == key)?.1;
            label_zones_to_set(value).map(|values| PvTopology { key, values })
        })
        .collect()
}

/// Upstream `getPVbyPod`: the topologies of the pod's bound volumes; unbound claims of
/// WaitForFirstConsumer classes are skipped, other unbound claims reject the pod.
pub fn pod_pv_topologies(pod: &Pod, storage: &Storage) -> Result<Vec<PvTopology>, Status> {
    let mut out = Vec::new();
    for name in pod_claim_names(&pod.volumes) {
        if name.is_empty() {
            return Err(Status::unresolvable("PersistentVolumeClaim had no name"));
        }
        let Some(c) = storage.find_claim(&pod.namespace, name) else {
            return Err(Status::unresolvable(format!(
                "persistentvolumeclaim \"{name}\" not found"
            )));
        };
        let pv_name = match (c.volume, &c.claim.volume_name) {
            (Some(v), _) => storage.volume(v).volume.name.clone(),
            (None, Some(n)) => n.clone(),
            (None, None) => {
                let class_name = c.claim.storage_class.as_deref().unwrap_or("");
                if class_name.is_empty() {
                    return Err(Status::unresolvable(
                        "PersistentVolumeClaim had no pv name and storageClass name",
                    ));
                }
                let Some(class) = storage.class(class_name) else {
                    return Err(Status::unresolvable(format!(
                        "storageclass.storage.k8s.io \"{class_name}\" not found"
                    )));
                };
                if class.binding_mode == VolumeBindingMode::WaitForFirstConsumer {
                    continue;
                }
                return Err(Status::unresolvable("PersistentVolume had no name"));
            }
        };
        let Some(pv) = storage.find_volume(&pv_name) else {
            return Err(Status::unresolvable(format!(
                "persistentvolume \"{pv_name}\" not found"
            )));
        };
        out.extend(pv_topologies(pv.volume.topology_labels()));
    }
    Ok(out)
}

/// Upstream `Filter` past the fast path: a node without any topology label takes any volume
/// (single-zone clusters); otherwise each volume label must be matched by the node's label of
/// the same key, or of its GA name for a beta key.
pub fn node_matches(topologies: &[PvTopology], node_labels: &Labels) -> bool {
    if !TOPOLOGY_LABELS.iter().any(|l| node_labels.contains_key(l)) {
        return true;
    }
    topologies.iter().all(|t| {
        let value = node_labels
            .get(t.key)
            .or_else(|| node_labels.get(translate_to_ga_label(t.key)));
        value.is_some_and(|v| t.values.contains(v))
    })
}

#[derive(Debug, Default)]
pub struct VolumeZone {
    topologies: Vec<PvTopology>,
}

impl VolumeZone {
    pub fn factory(_args: Option<&Value>) -> Result<Box<dyn Plugin>, String> {
        Ok(Box::new(VolumeZone::default()))
    }
}

impl Plugin for VolumeZone {
    fn name(&self) -> &str {
        NAME
    }

    fn extension_points(&self) -> ExtensionPoints {
        ExtensionPoints::PRE_FILTER | ExtensionPoints::FILTER
    }

    fn pre_filter(&mut self, pod: &Pod, snapshot: &Snapshot) -> Status {
        if pod.volumes.is_empty() {
            return Status::skip();
        }
        match pod_pv_topologies(pod, &snapshot.storage) {
            Err(status) => status,
            Ok(t) if t.is_empty() => Status::skip(),
            Ok(t) => {
                self.topologies = t;
                Status::success()
            }
        }
    }

    fn filter(&self, _pod: &Pod, node: &NodeInfo, _snapshot: &Snapshot) -> Status {
        if node_matches(&self.topologies, &node.node.labels) {
            Status::success()
        } else {
            Status::unresolvable(ERR_REASON_CONFLICT)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        let mut l = Labels::new();
        for (k, v) in pairs {
            l.insert(*k, *v);
        }
        l
    }

    /// Runs Filter for a pod whose only volume has `pv_labels`, on a node with `node_labels`.
    fn fits(pv_labels: &[(&str, &str)], node_labels: &[(&str, &str)]) -> bool {
        node_matches(
            &pv_topologies(pv_labels.iter().copied()),
            &labels(node_labels),
        )
    }

    const BETA_ZONE: &str = LABEL_FAILURE_DOMAIN_BETA_ZONE;
    const BETA_REGION: &str = LABEL_FAILURE_DOMAIN_BETA_REGION;

    // upstream pkg/scheduler/framework/plugins/volumezone/volume_zone_test.go
    // TestSingleZone: PVs "Vol_1" {beta zone: us-west1-a}, "Vol_2" {beta region: us-west1,
    // "uselessLabel": "none"}, "Vol_3" {beta region: us-west1}, "Vol_Stable_1" {GA zone:
    // us-west1-a}, "Vol_Stable_2" {GA region: us-west1, "uselessLabel": "none"}.
    #[test]
    fn single_zone_table() {
        let vol_1: &[(&str, &str)] = &[(BETA_ZONE, "us-west1-a")];
        let vol_2: &[(&str, &str)] = &[(BETA_REGION, "us-west1"), ("uselessLabel", "none")];
        let vol_stable_1: &[(&str, &str)] = &[(LABEL_TOPOLOGY_ZONE, "us-west1-a")];
        let vol_stable_2: &[(&str, &str)] = &[
            (LABEL_TOPOLOGY_REGION, "us-west1"),
            ("uselessLabel", "none"),
        ];
        // "pod without volume"
        assert!(fits(&[], &[(BETA_ZONE, "us-west1-a")]));
        // "node without labels"
        assert!(fits(vol_1, &[]));
        // "beta zone label matched"
        assert!(fits(
            vol_1,
            &[(BETA_ZONE, "us-west1-a"), ("uselessLabel", "none")]
        ));
        // "beta region label matched"
        assert!(fits(
            vol_2,
            &[(BETA_REGION, "us-west1"), ("uselessLabel", "none")]
        ));
        // "beta region label doesn't match"
        assert!(!fits(
            vol_2,
            &[(BETA_REGION, "no_us-west1"), ("uselessLabel", "none")]
        ));
        // "beta zone label doesn't match"
        assert!(!fits(
            vol_1,
            &[(BETA_ZONE, "no_us-west1-a"), ("uselessLabel", "none")]
        ));
        // "zone label matched"
        assert!(fits(
            vol_stable_1,
            &[
                (LABEL_TOPOLOGY_ZONE, "us-west1-a"),
                ("uselessLabel", "none")
            ]
        ));
        // "region label matched"
        assert!(fits(
            vol_stable_2,
            &[
                (LABEL_TOPOLOGY_REGION, "us-west1"),
                ("uselessLabel", "none")
            ]
        ));
        // "region label doesn't match"
        assert!(!fits(
            vol_stable_2,
            &[
                (LABEL_TOPOLOGY_REGION, "no_us-west1"),
                ("uselessLabel", "none")
            ]
        ));
        // "zone label doesn't match"
        assert!(!fits(
            vol_stable_1,
            &[
                (LABEL_TOPOLOGY_ZONE, "no_us-west1-a"),
                ("uselessLabel", "none")
            ]
        ));
        // "pv with zone and region, node with only zone" (Vol_Stable_1 plus Vol_Stable_2)
        let both: Vec<(&str, &str)> = vol_stable_1.iter().chain(vol_stable_2).copied().collect();
        assert!(!fits(&both, &[(LABEL_TOPOLOGY_ZONE, "us-west1-a")]));
        // "pv with zone,node with beta zone"
        assert!(!fits(vol_stable_1, &[(BETA_ZONE, "us-west1-a")]));
        // "pv with beta label,node with ga label, matched"
        assert!(fits(vol_1, &[(LABEL_TOPOLOGY_ZONE, "us-west1-a")]));
        // "pv with beta label,node with ga label, don't match"
        assert!(!fits(vol_1, &[(LABEL_TOPOLOGY_ZONE, "us-west1-b")]));
    }

    // upstream volume_zone_test.go TestMultiZone: PV labels with several zones "a__b".
    #[test]
    fn multi_zone_table() {
        let vol_1: &[(&str, &str)] = &[(BETA_ZONE, "us-west1-a")];
        let vol_2: &[(&str, &str)] = &[(BETA_ZONE, "us-west1-b"), ("uselessLabel", "none")];
        let vol_3: &[(&str, &str)] = &[(BETA_ZONE, "us-west1-c__us-west1-a")];
        let vol_stable_1: &[(&str, &str)] = &[(LABEL_TOPOLOGY_ZONE, "us-west1-a")];
        let vol_stable_2: &[(&str, &str)] = &[(LABEL_TOPOLOGY_ZONE, "us-west1-c__us-west1-a")];
        // "node without labels"
        assert!(fits(vol_3, &[]));
        // "beta zone label matched"
        assert!(fits(
            vol_3,
            &[(BETA_ZONE, "us-west1-a"), ("uselessLabel", "none")]
        ));
        // "beta zone label doesn't match"
        assert!(!fits(
            vol_1,
            &[(BETA_ZONE, "us-west1-b"), ("uselessLabel", "none")]
        ));
        assert!(!fits(
            vol_2,
            &[(BETA_ZONE, "us-west1-a"), ("uselessLabel", "none")]
        ));
        // "zone label matched"
        assert!(fits(
            vol_stable_2,
            &[
                (LABEL_TOPOLOGY_ZONE, "us-west1-a"),
                ("uselessLabel", "none")
            ]
        ));
        // "zone label doesn't match"
        assert!(!fits(
            vol_stable_1,
            &[
                (LABEL_TOPOLOGY_ZONE, "us-west1-b"),
                ("uselessLabel", "none")
            ]
        ));
    }

    #[test]
    fn empty_zone_element_ignores_the_label() {
        // LabelZonesToSet fails on "a__" and getPVTopologies then ignores the label.
        assert!(pv_topologies([(LABEL_TOPOLOGY_ZONE, "a__")]).is_empty());
    }
}
