//! NodeVolumeLimits (upstream `pkg/scheduler/framework/plugins/nodevolumelimits`, the CSI
//! limits): a node attaches at most so many volumes of each CSI driver. kubesim's driver is the
//! StorageClass's provisioner; a node's limit for it is its allocatable
//! `attachable-volumes-csi-<driver>` if it has one (what CSINode reports), else the smallest
//! `max_volumes_per_node` among the classes of that provisioner; no limit, no check.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::api::storage::pod_claim_names;
use crate::api::{NodeId, Pod};
use crate::apiserver::Storage;
use crate::scheduler::framework::{ExtensionPoints, Plugin, Snapshot, Status};
use crate::store::NodeInfo;

pub const NAME: &str = "NodeVolumeLimits";
/// Upstream `ErrReasonMaxVolumeCountExceeded`.
pub const ERR_REASON_MAX_VOLUME_COUNT_EXCEEDED: &str = "node(s) exceed max volume count";
/// Prefix of the node allocatable naming a CSI driver's attach limit (upstream
/// `volumeutil.GetCSIAttachLimitKey`).
pub const CSI_ATTACH_LIMIT_PREFIX: &str = "attachable-volumes-csi-";

/// Upstream `filterAttachableVolumes`: the pod's volumes as `driver/handle` → driver. A bound
/// claim's handle is its volume's name; an unbound one's is `<namespace>-<claim>`. Claims
/// that cannot be resolved are left out (for an existing pod upstream only logs them).
fn attachable_volumes(pod: &Pod, storage: &Storage, out: &mut BTreeMap<String, String>) {
    for name in pod_claim_names(&pod.volumes) {
        let Some(c) = storage.find_claim(&pod.namespace, name) else {
            continue;
        };
        let (class, handle) = match c.volume {
            Some(v) => {
                let pv = &storage.volume(v).volume;
                (storage.class(&pv.storage_class), pv.name.clone())
            }
            None => (
                storage.class_of(&c.claim),
                format!("{}-{}", c.claim.namespace, c.claim.name),
            ),
        };
        let Some(class) = class else { continue };
        out.insert(
            format!("{}/{handle}", class.provisioner),
            class.provisioner.clone(),
        );
    }
}

/// The node's attach limit for `driver`, if any.
pub fn volume_limit(node: &NodeInfo, storage: &Storage, driver: &str) -> Option<i64> {
    let key = format!("{CSI_ATTACH_LIMIT_PREFIX}{driver}");
    if let Some((_, n)) = node
        .node
        .allocatable
        .extended
        .iter()
        .find(|(k, _)| *k == key)
    {
        return Some(*n);
    }
    storage
        .classes
        .iter()
        .filter(|c| c.provisioner == driver)
        .filter_map(|c| c.max_volumes_per_node)
        .min()
        .map(i64::from)
}

/// Upstream `CSILimits.Filter` past the fast paths.
pub fn fits(pod: &Pod, node: &NodeInfo, snapshot: &Snapshot) -> Status {
    let mut new_volumes = BTreeMap::new();
    attachable_volumes(pod, &snapshot.storage, &mut new_volumes);
    fits_volumes(&new_volumes, node, snapshot)
}

/// [`fits`] given the pod's attachable volumes (the same on every node of a cycle).
fn fits_volumes(
    new_volumes: &BTreeMap<String, String>,
    node: &NodeInfo,
    snapshot: &Snapshot,
) -> Status {
    let storage = &snapshot.storage;
    if new_volumes.is_empty() {
        return Status::success();
    }
    let drivers: BTreeSet<&str> = new_volumes.values().map(String::as_str).collect();
    let limits: BTreeMap<&str, i64> = drivers
        .iter()
        .filter_map(|&d| volume_limit(node, storage, d).map(|l| (d, l)))
        .collect();
    if limits.is_empty() {
        return Status::success();
    }
    let mut attached = BTreeMap::new();
    for &p in &node.pods {
        let r = snapshot.pod(p);
        if r.is_active() {
            attachable_volumes(&r.pod, storage, &mut attached);
        }
    }
    let mut attached_count: BTreeMap<&str, i64> = BTreeMap::new();
    for driver in attached.values() {
        *attached_count.entry(driver.as_str()).or_default() += 1;
    }
    let mut new_count: BTreeMap<&str, i64> = BTreeMap::new();
    for (unique, driver) in new_volumes {
        // A volume already attached for another pod does not count again.
        if !attached.contains_key(unique) {
            *new_count.entry(driver.as_str()).or_default() += 1;
        }
    }
    for (driver, count) in new_count {
        if let Some(&limit) = limits.get(driver) {
            let current = attached_count.get(driver).copied().unwrap_or(0);
            if current + count > limit {
                return Status::unschedulable(ERR_REASON_MAX_VOLUME_COUNT_EXCEEDED);
            }
        }
    }
    Status::success()
}

#[derive(Debug, Default)]
pub struct NodeVolumeLimits;

impl NodeVolumeLimits {
    pub fn factory(_args: Option<&Value>) -> Result<Box<dyn Plugin>, String> {
        Ok(Box::new(NodeVolumeLimits))
    }
}

impl Plugin for NodeVolumeLimits {
    fn name(&self) -> &str {
        NAME
    }

    fn extension_points(&self) -> ExtensionPoints {
        ExtensionPoints::PRE_FILTER | ExtensionPoints::FILTER
    }

    /// Upstream: Skip unless the pod has a PVC, ephemeral or CSI volume.
    fn pre_filter(&mut self, pod: &Pod, _snapshot: &Snapshot) -> Status {
        if pod_claim_names(&pod.volumes).next().is_none() {
            return Status::skip();
        }
        Status::success()
    }

    fn filter(&self, pod: &Pod, node: &NodeInfo, snapshot: &Snapshot) -> Status {
        fits(pod, node, snapshot)
    }

    /// [`Plugin::filter`] on every node, with the pod's own volumes resolved once.
    fn filter_nodes(
        &self,
        pod: &Pod,
        snapshot: &Snapshot,
        nodes: &mut Vec<NodeId>,
        rejected: &mut Vec<(NodeId, Status)>,
    ) {
        let mut new_volumes = BTreeMap::new();
        attachable_volumes(pod, &snapshot.storage, &mut new_volumes);
        nodes.retain(|&node| {
            let status = fits_volumes(&new_volumes, snapshot.node(node), snapshot);
            if status.is_success() {
                return true;
            }
            rejected.push((node, status));
            false
        });
    }
}
