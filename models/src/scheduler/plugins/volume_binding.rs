//! VolumeBinding (upstream `pkg/scheduler/framework/plugins/volumebinding`): a pod's bound
//! claims must have volumes whose node affinity the node meets; its unbound
//! WaitForFirstConsumer claims must find an available volume there or be provisionable there;
//! an unbound Immediate claim keeps the pod out until the persistent-volume controller binds it.
//!
//! PreBind (upstream `BindPodVolumes`) is [`pre_bind_actions`]: the scheduler component binds
//! the static volumes it chose and writes `volume.kubernetes.io/selected-node` on the claims to
//! provision. Upstream then waits in PreBind until the controllers have bound every claim; here
//! the pod is bound at once and its kubelet waits for the claims instead (same outcome: the
//! containers start only once the volumes exist).
//!
//! No Score: upstream scores only with the StorageCapacityScoring gate, off by default.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::api::storage::{NOT_SUPPORTED_PROVISIONER, pod_claim_names};
use crate::api::{Labels, Pod};
use crate::apiserver::storage::volume_node_affinity_matches;
use crate::apiserver::{ClaimId, Storage, VolumeId};
use crate::scheduler::framework::{Code, ExtensionPoints, Plugin, Snapshot, Status};
use crate::store::NodeInfo;

pub const NAME: &str = "VolumeBinding";
/// Upstream `ErrReasonBindConflict`.
pub const ERR_REASON_BIND_CONFLICT: &str =
    "node(s) didn't find available persistent volumes to bind";
/// Upstream `ErrReasonNodeConflict`.
pub const ERR_REASON_NODE_CONFLICT: &str = "node(s) had volume node affinity conflict";
/// Upstream `ErrReasonPVNotExist`.
pub const ERR_REASON_PV_NOT_EXIST: &str =
    "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)";
/// The reason upstream's PreFilter appends for unbound Immediate claims.
pub const ERR_UNBOUND_IMMEDIATE: &str = "pod has unbound immediate PersistentVolumeClaims";

/// Upstream `PodVolumeClaims`: a pod's claims sorted by what binding them still needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodVolumeClaims {
    /// Claims with `spec.volumeName`: the names of their volumes.
    pub bound: Vec<String>,
    /// Unbound claims of WaitForFirstConsumer classes.
    pub unbound_delay_binding: Vec<ClaimId>,
    /// Unbound claims of Immediate classes (or of no class).
    pub unbound_immediate: Vec<ClaimId>,
}

/// Upstream `podHasPVCs` and `GetPodVolumeClaims`: `Ok(None)` when the pod mounts no claim;
/// a missing claim rejects the pod with the API's not-found message.
pub fn pod_volume_claims(pod: &Pod, storage: &Storage) -> Result<Option<PodVolumeClaims>, Status> {
    let mut claims = PodVolumeClaims::default();
    let mut has_claim = false;
    for name in pod_claim_names(&pod.volumes) {
        has_claim = true;
        let Some(c) = storage.find_claim(&pod.namespace, name) else {
            return Err(Status::unresolvable(format!(
                "persistentvolumeclaim \"{name}\" not found"
            )));
        };
        if let Some(v) = c.volume {
            claims.bound.push(storage.volume(v).volume.name.clone());
        } else if let Some(v) = &c.claim.volume_name {
            claims.bound.push(v.clone());
        } else if storage.is_delay_binding(&c.claim) {
            claims.unbound_delay_binding.push(c.id);
        } else {
            claims.unbound_immediate.push(c.id);
        }
    }
    Ok(has_claim.then_some(claims))
}

/// What PreBind does for one unbound claim on the chosen node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VolumeAction {
    /// Bind the claim to this available volume (upstream `bindAPIUpdate` of a static binding).
    Bind(ClaimId, VolumeId),
    /// Ask the provisioner for a volume on this node (`volume.kubernetes.io/selected-node`).
    SelectNode(ClaimId),
}

/// Upstream `FindPodVolumes`: why `node` cannot host the pod's volumes (empty: it can), and
/// the bindings and provisionings it would take.
pub fn find_pod_volumes(
    claims: &PodVolumeClaims,
    node: &crate::api::Node,
    storage: &Storage,
) -> (Vec<&'static str>, Vec<VolumeAction>) {
    let candidates = volume_candidates(claims, storage);
    find_pod_volumes_among(claims, &candidates, node, storage)
}

/// The volumes each unbound WaitForFirstConsumer claim of the pod could bind on some node
/// ([`Storage::volume_candidates`]): the same on every node of a scheduling cycle.
pub fn volume_candidates(
    claims: &PodVolumeClaims,
    storage: &Storage,
) -> Vec<Vec<(VolumeId, bool)>> {
    claims
        .unbound_delay_binding
        .iter()
        .map(|&id| storage.volume_candidates(storage.claim(id), false))
        .collect()
}

/// [`find_pod_volumes`] given [`volume_candidates`] for the same claims.
pub fn find_pod_volumes_among(
    claims: &PodVolumeClaims,
    candidates: &[Vec<(VolumeId, bool)>],
    node: &crate::api::Node,
    storage: &Storage,
) -> (Vec<&'static str>, Vec<VolumeAction>) {
    let node_labels = &node.labels;
    let mut bound_satisfied = true;
    let mut bound_found = true;
    // Upstream `checkBoundClaims` stops at the first volume that is missing or does not match.
    for name in &claims.bound {
        match storage.find_volume(name) {
            None => {
                bound_found = false;
                break;
            }
            Some(v) if !volume_node_affinity_matches(&v.volume, node_labels) => {
                bound_satisfied = false;
                break;
            }
            Some(_) => {}
        }
    }
    let mut unbound_satisfied = true;
    let mut actions = Vec::new();
    let mut chosen = BTreeSet::new();
    for (i, &id) in claims.unbound_delay_binding.iter().enumerate() {
        let claim = storage.claim(id);
        // Upstream `FindPodVolumes`: a claim the scheduler already chose a node for (the
        // `volume.kubernetes.io/selected-node` annotation, which the provisioner acts on)
        // fits that node only — its volume may be on its way there.
        if let Some(selected) = &claim.selected_node {
            if *selected == node.name {
                actions.push(VolumeAction::SelectNode(id));
            } else {
                unbound_satisfied = false;
            }
            continue;
        }
        let picked = candidates
            .get(i)
            .and_then(|c| storage.pick_volume(c, Some(node_labels), &chosen));
        if let Some(v) = picked {
            chosen.insert(v);
            actions.push(VolumeAction::Bind(id, v));
            continue;
        }
        // Upstream `checkVolumeProvisions`.
        let provisionable = storage.class_of(&claim.claim).is_some_and(|class| {
            class.provisioner != NOT_SUPPORTED_PROVISIONER
                && allowed_topologies_match(&class.allowed_zones, node_labels)
        });
        if provisionable {
            actions.push(VolumeAction::SelectNode(id));
        } else {
            unbound_satisfied = false;
        }
    }
    let mut reasons = Vec::new();
    if !bound_satisfied {
        reasons.push(ERR_REASON_NODE_CONFLICT);
    }
    if !unbound_satisfied {
        reasons.push(ERR_REASON_BIND_CONFLICT);
    }
    if !bound_found {
        reasons.push(ERR_REASON_PV_NOT_EXIST);
    }
    (reasons, actions)
}

/// Upstream `MatchTopologySelectorTerms` for a class whose `allowedTopologies` is one term on
/// `topology.kubernetes.io/zone`: no term allows every node.
pub fn allowed_topologies_match(allowed_zones: &[String], node_labels: &Labels) -> bool {
    allowed_zones.is_empty()
        || node_labels
            .get(crate::api::storage::LABEL_TOPOLOGY_ZONE)
            .is_some_and(|z| allowed_zones.iter().any(|a| a == z))
}

/// PreBind for the pod on `node`: the API writes the scheduler makes before binding the pod.
/// Empty for a pod without unbound WaitForFirstConsumer claims.
pub fn pre_bind_actions(pod: &Pod, node: &NodeInfo, storage: &Storage) -> Vec<VolumeAction> {
    match pod_volume_claims(pod, storage) {
        Ok(Some(claims)) if !claims.unbound_delay_binding.is_empty() => {
            find_pod_volumes(&claims, &node.node, storage).1
        }
        _ => Vec::new(),
    }
}

#[derive(Debug, Default)]
pub struct VolumeBinding {
    claims: PodVolumeClaims,
    /// [`volume_candidates`] of `claims`, found once per cycle.
    candidates: Vec<Vec<(VolumeId, bool)>>,
}

impl VolumeBinding {
    pub fn factory(_args: Option<&Value>) -> Result<Box<dyn Plugin>, String> {
        Ok(Box::new(VolumeBinding::default()))
    }
}

impl Plugin for VolumeBinding {
    fn name(&self) -> &str {
        NAME
    }

    fn extension_points(&self) -> ExtensionPoints {
        ExtensionPoints::PRE_FILTER
            | ExtensionPoints::FILTER
            | ExtensionPoints::RESERVE
            | ExtensionPoints::PRE_BIND
    }

    fn pre_filter(&mut self, pod: &Pod, snapshot: &Snapshot) -> Status {
        if pod.volumes.is_empty() {
            return Status::skip();
        }
        match pod_volume_claims(pod, &snapshot.storage) {
            Err(status) => status,
            Ok(None) => Status::skip(),
            Ok(Some(claims)) => {
                if !claims.unbound_immediate.is_empty() {
                    // "Pod will be moved to active/backoff queues once these claims are bound
                    // by PV controller."
                    return Status::unresolvable(ERR_UNBOUND_IMMEDIATE);
                }
                self.candidates = volume_candidates(&claims, &snapshot.storage);
                self.claims = claims;
                Status::success()
            }
        }
    }

    fn filter(&self, _pod: &Pod, node: &NodeInfo, snapshot: &Snapshot) -> Status {
        let (reasons, _) = find_pod_volumes_among(
            &self.claims,
            &self.candidates,
            &node.node,
            &snapshot.storage,
        );
        if reasons.is_empty() {
            Status::success()
        } else {
            Status::with_reasons(
                Code::UnschedulableAndUnresolvable,
                reasons.into_iter().map(str::to_string).collect(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::storage::AccessMode;
    use crate::api::storage::VolumeBindingMode;
    use crate::api::{PersistentVolume, PersistentVolumeClaim, PodVolume, StorageClass};
    use crate::scheduler::testing::{node, pod, snapshot};

    fn claim(name: &str, class: &str) -> PersistentVolumeClaim {
        PersistentVolumeClaim {
            name: name.into(),
            namespace: "default".into(),
            storage_class: Some(class.into()),
            request_bytes: 1 << 30,
            access_mode: AccessMode::ReadWriteOnce,
            volume_name: None,
            owner: None,
        }
    }

    fn volume(name: &str, class: &str, zone: Option<&str>) -> PersistentVolume {
        PersistentVolume {
            name: name.into(),
            storage_class: class.into(),
            capacity_bytes: 1 << 30,
            zone: zone.map(str::to_string),
            access_mode: AccessMode::ReadWriteOnce,
            claim: None,
            dynamic: false,
        }
    }

    fn with_claims(names: &[&str]) -> Pod {
        let mut p = pod("p").obj();
        p.volumes = names
            .iter()
            .map(|n| PodVolume::Claim {
                name: (*n).into(),
                read_only: false,
            })
            .collect();
        p
    }

    fn class(name: &str, mode: VolumeBindingMode, provisioner: &str) -> StorageClass {
        StorageClass {
            name: name.into(),
            provisioner: provisioner.into(),
            binding_mode: mode,
            is_default: false,
            ..StorageClass::default_class()
        }
    }

    /// Runs PreFilter and, if it succeeds, Filter on the only node; the statuses' reasons.
    fn run(store: &Snapshot, p: &Pod) -> Result<Status, Status> {
        let mut pl = VolumeBinding::default();
        let s = pl.pre_filter(p, store);
        if !s.is_success() {
            return Err(s);
        }
        Ok(pl.filter(p, &store.nodes[0], store))
    }

    // A subset of upstream pkg/scheduler/framework/plugins/volumebinding/volume_binding_test.go
    // TestVolumeBinding, with the same expectations.
    #[test]
    fn volume_binding_table() {
        let zone_a = [(crate::api::storage::LABEL_TOPOLOGY_ZONE, "a")];
        let base = || {
            let mut s = snapshot(vec![node("node-a").labels(&zone_a).obj()], vec![]);
            s.storage
                .classes
                .push(class("immediate-sc", VolumeBindingMode::Immediate, "p"));
            s.storage.classes.push(class(
                "wait-sc",
                VolumeBindingMode::WaitForFirstConsumer,
                "p",
            ));
            s.storage.classes.push(class(
                "wait-sc-no-provisioner",
                VolumeBindingMode::WaitForFirstConsumer,
                NOT_SUPPORTED_PROVISIONER,
            ));
            s
        };
        // "pod has not pvcs": PreFilter skips.
        let s = base();
        assert!(run(&s, &pod("p").obj()).unwrap_err().is_skip());
        // "all bound"
        let mut s = base();
        let v = s
            .storage
            .insert_volume(volume("pv-a", "immediate-sc", Some("a")));
        s.storage
            .insert_claim(claim("pvc-a", "immediate-sc"), Some(v));
        assert!(run(&s, &with_claims(&["pvc-a"])).unwrap().is_success());
        // "PVC does not exist"
        let s = base();
        assert_eq!(
            run(&s, &with_claims(&["pvc-a"])).unwrap_err(),
            Status::unresolvable("persistentvolumeclaim \"pvc-a\" not found")
        );
        // "immediate claims not bound"
        let mut s = base();
        s.storage.insert_claim(claim("pvc-a", "immediate-sc"), None);
        assert_eq!(
            run(&s, &with_claims(&["pvc-a"])).unwrap_err(),
            Status::unresolvable(ERR_UNBOUND_IMMEDIATE)
        );
        // "unbound claims no matches": no static volume, class cannot provision.
        let mut s = base();
        s.storage
            .insert_claim(claim("pvc-a", "wait-sc-no-provisioner"), None);
        assert_eq!(
            run(&s, &with_claims(&["pvc-a"])).unwrap(),
            Status::unresolvable(ERR_REASON_BIND_CONFLICT)
        );
        // "unbound claims matched": an available static volume in the node's zone.
        let mut s = base();
        s.storage
            .insert_volume(volume("pv-a", "wait-sc-no-provisioner", Some("a")));
        s.storage
            .insert_claim(claim("pvc-a", "wait-sc-no-provisioner"), None);
        assert!(run(&s, &with_claims(&["pvc-a"])).unwrap().is_success());
        // "bound and unbound unsatisfied": the bound volume is in another zone.
        let mut s = base();
        let v = s
            .storage
            .insert_volume(volume("pv-b", "immediate-sc", Some("b")));
        s.storage
            .insert_claim(claim("pvc-b", "immediate-sc"), Some(v));
        s.storage
            .insert_claim(claim("pvc-a", "wait-sc-no-provisioner"), None);
        assert_eq!(
            run(&s, &with_claims(&["pvc-b", "pvc-a"])).unwrap(),
            Status::with_reasons(
                Code::UnschedulableAndUnresolvable,
                vec![
                    ERR_REASON_NODE_CONFLICT.into(),
                    ERR_REASON_BIND_CONFLICT.into()
                ]
            )
        );
        // "pvc bound to a non-existent pv"
        let mut s = base();
        let mut c = claim("pvc-a", "immediate-sc");
        c.volume_name = Some("pv-gone".into());
        s.storage.insert_claim(c, None);
        assert_eq!(
            run(&s, &with_claims(&["pvc-a"])).unwrap(),
            Status::unresolvable(ERR_REASON_PV_NOT_EXIST)
        );
        // A WaitForFirstConsumer class that provisions: PreBind selects the node.
        let mut s = base();
        let id = s.storage.insert_claim(claim("pvc-a", "wait-sc"), None);
        let p = with_claims(&["pvc-a"]);
        assert!(run(&s, &p).unwrap().is_success());
        assert_eq!(
            pre_bind_actions(&p, &s.nodes[0], &s.storage),
            vec![VolumeAction::SelectNode(id)]
        );
        // Upstream `FindPodVolumes`: a claim whose `selected-node` annotation names another
        // node (its pod was placed there and the provisioner is at work) does not fit this one,
        // even though the class could provision here; on the selected node it fits.
        let mut s = base();
        let id = s.storage.insert_claim(claim("pvc-a", "wait-sc"), None);
        s.storage.claims[id.0 as usize].selected_node = Some("node-b".into());
        assert_eq!(
            run(&s, &with_claims(&["pvc-a"])).unwrap(),
            Status::unresolvable(ERR_REASON_BIND_CONFLICT)
        );
        s.storage.claims[id.0 as usize].selected_node = Some("node-a".into());
        assert!(run(&s, &with_claims(&["pvc-a"])).unwrap().is_success());
    }
}
