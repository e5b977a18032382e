//! Volume zones: every bound pod that mounts a claim bound to a zonal volume runs on a node
//! of that zone (`topology.kubernetes.io/zone`): a zonal disk cannot be attached elsewhere.

use sim_core::SimTime;

use super::Violation;
use crate::api::storage::{LABEL_TOPOLOGY_ZONE, pod_claim_names};
use crate::apiserver::ApiServer;

pub fn check(api: &ApiServer, now: SimTime, violations: &mut Vec<Violation>) {
    let storage = &api.store.storage;
    if storage.volumes.is_empty() {
        return;
    }
    for r in api.store.active_pods() {
        let Some(node) = r.node else { continue };
        for name in pod_claim_names(&r.pod.volumes) {
            let Some(c) = storage.find_claim(&r.pod.namespace, name) else {
                continue;
            };
            let Some(v) = c.volume else { continue };
            let Some(zone) = storage.volume(v).volume.zone.as_deref() else {
                continue;
            };
            let node = api.store.node(node);
            let node_zone = node.node.labels.get(LABEL_TOPOLOGY_ZONE);
            if node_zone != Some(zone) {
                violations.push(Violation {
                    at: now,
                    invariant: "volume zone",
                    detail: format!(
                        "pod {} on node {} (zone {}) mounts claim {} bound to volume {} in zone {zone}",
                        r.pod.key(),
                        node.name(),
                        node_zone.unwrap_or("none"),
                        name,
                        storage.volume(v).volume.name,
                    ),
                });
            }
        }
    }
}
