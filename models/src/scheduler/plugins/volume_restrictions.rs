//! VolumeRestrictions (upstream `pkg/scheduler/framework/plugins/volumerestrictions`): a
//! ReadWriteOncePod claim serves one pod in the whole cluster. Its PreFilter counts the pod's
//! ReadWriteOncePod claims some assigned pod already uses; Filter rejects every node while that
//! count is positive (Unschedulable, so preemption may free the claim: the PreFilter
//! extensions recount as victims are removed). Inline disks (GCE PD, EBS, RBD, iSCSI), the
//! plugin's other check, are not modelled.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::api::Pod;
use crate::api::storage::{AccessMode, pod_claim_names};
use crate::apiserver::Storage;
use crate::scheduler::framework::{
    ExtensionPoints, Plugin, Snapshot, StateData, Status, downcast_state, downcast_state_mut,
};
use crate::store::NodeInfo;

pub const NAME: &str = "VolumeRestrictions";
/// Upstream `ErrReasonReadWriteOncePodConflict`.
pub const ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT: &str =
    "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode";

/// Upstream `preFilterState`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreFilterState {
    /// The pod's namespace and its ReadWriteOncePod claims' names.
    namespace: String,
    read_write_once_pod_claims: BTreeSet<String>,
    /// How many of those claims assigned pods use.
    conflicting_claim_ref_count: i64,
}

impl StateData for PreFilterState {
    fn clone_data(&self) -> Box<dyn StateData> {
        Box::new(self.clone())
    }
}

impl PreFilterState {
    /// Upstream `updateWithPod`.
    fn update_with_pod(&mut self, pod: &Pod, multiplier: i64) {
        if pod.namespace != self.namespace {
            return;
        }
        for name in pod_claim_names(&pod.volumes) {
            if self.read_write_once_pod_claims.contains(name) {
                self.conflicting_claim_ref_count += multiplier;
            }
        }
    }
}

/// Upstream `readWriteOncePodPVCsForPod`; a missing claim rejects the pod.
fn read_write_once_pod_claims(pod: &Pod, storage: &Storage) -> Result<BTreeSet<String>, Status> {
    let mut out = BTreeSet::new();
    for name in pod_claim_names(&pod.volumes) {
        let Some(c) = storage.find_claim(&pod.namespace, name) else {
            return Err(Status::unresolvable(format!(
                "persistentvolumeclaim \"{name}\" not found"
            )));
        };
        if c.claim.access_mode == AccessMode::ReadWriteOncePod {
            out.insert(name.to_string());
        }
    }
    Ok(out)
}

/// Upstream `StorageInfos().IsPVCUsedByPods`: an assigned, not yet deleted pod mounts the claim.
fn claim_used_by_pods(snapshot: &Snapshot, namespace: &str, claim: &str) -> bool {
    snapshot.nodes.iter().filter(|n| n.exists).any(|n| {
        n.pods.iter().any(|&p| {
            let r = snapshot.pod(p);
            r.is_active()
                && r.pod.namespace == namespace
                && pod_claim_names(&r.pod.volumes).any(|c| c == claim)
        })
    })
}

#[derive(Debug, Default)]
pub struct VolumeRestrictions {
    state: PreFilterState,
}

impl VolumeRestrictions {
    pub fn factory(_args: Option<&Value>) -> Result<Box<dyn Plugin>, String> {
        Ok(Box::new(VolumeRestrictions::default()))
    }
}

fn satisfy_read_write_once_pod(state: &PreFilterState) -> Status {
    if state.conflicting_claim_ref_count > 0 {
        Status::unschedulable(ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT)
    } else {
        Status::success()
    }
}

impl Plugin for VolumeRestrictions {
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
        let claims = match read_write_once_pod_claims(pod, &snapshot.storage) {
            Ok(c) => c,
            Err(status) => return status,
        };
        let conflicting = claims
            .iter()
            .filter(|c| claim_used_by_pods(snapshot, &pod.namespace, c))
            .count();
        if conflicting == 0 {
            return Status::skip();
        }
        self.state = PreFilterState {
            namespace: pod.namespace.clone(),
            read_write_once_pod_claims: claims,
            conflicting_claim_ref_count: i64::try_from(conflicting).unwrap_or(i64::MAX),
        };
        Status::success()
    }

    fn filter(&self, _pod: &Pod, _node: &NodeInfo, _snapshot: &Snapshot) -> Status {
        satisfy_read_write_once_pod(&self.state)
    }

    fn pre_filter_state(&self) -> Option<Box<dyn StateData>> {
        Some(Box::new(self.state.clone()))
    }

    fn add_pod(
        &self,
        state: &mut dyn StateData,
        _pod_to_schedule: &Pod,
        pod_to_add: &Pod,
        _node: &NodeInfo,
        _snapshot: &Snapshot,
    ) -> Status {
        match downcast_state_mut::<PreFilterState>(state, NAME) {
            Ok(s) => {
                s.update_with_pod(pod_to_add, 1);
                Status::success()
            }
            Err(status) => status,
        }
    }

    fn remove_pod(
        &self,
        state: &mut dyn StateData,
        _pod_to_schedule: &Pod,
        pod_to_remove: &Pod,
        _node: &NodeInfo,
        _snapshot: &Snapshot,
    ) -> Status {
        match downcast_state_mut::<PreFilterState>(state, NAME) {
            Ok(s) => {
                s.update_with_pod(pod_to_remove, -1);
                Status::success()
            }
            Err(status) => status,
        }
    }

    fn filter_with_state(
        &self,
        state: &dyn StateData,
        _pod: &Pod,
        _node: &NodeInfo,
        _snapshot: &Snapshot,
    ) -> Status {
        match downcast_state::<PreFilterState>(state, NAME) {
            Ok(s) => satisfy_read_write_once_pod(s),
            Err(status) => status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{PersistentVolumeClaim, PodVolume};
    use crate::scheduler::testing::{node, pod, snapshot};

    fn with_claim(name: &str, claim: &str) -> Pod {
        let mut p = pod(name).obj();
        p.volumes = vec![PodVolume::Claim {
            name: claim.into(),
            read_only: false,
        }];
        p
    }

    fn claim(name: &str, mode: AccessMode) -> PersistentVolumeClaim {
        PersistentVolumeClaim {
            name: name.into(),
            namespace: "default".into(),
            storage_class: None,
            request_bytes: 1,
            access_mode: mode,
            volume_name: None,
            owner: None,
        }
    }

    // upstream volume_restrictions_test.go TestAccessModeConflicts: "nothing" (no conflict),
    // "failed to get PVC" (missing claim), "no access mode conflict" (ReadWriteOnce),
    // "access mode conflict, unschedulable" (ReadWriteOncePod used by another pod).
    #[test]
    fn access_mode_conflicts_table() {
        let existing = with_claim("existing", "claim-with-rwop-1");
        let mut s = snapshot(vec![node("node-1").obj()], vec![(existing, "node-1")]);
        s.storage.insert_claim(
            claim("claim-with-rwop-1", AccessMode::ReadWriteOncePod),
            None,
        );
        s.storage.insert_claim(
            claim("claim-with-rwop-2", AccessMode::ReadWriteOncePod),
            None,
        );
        s.storage
            .insert_claim(claim("claim-rwo", AccessMode::ReadWriteOnce), None);
        let pre = |p: &Pod| {
            let mut pl = VolumeRestrictions::default();
            let st = pl.pre_filter(p, &s);
            (pl, st)
        };
        // "nothing": a pod without volumes.
        assert!(pre(&pod("p").obj()).1.is_skip());
        // "failed to get PVC"
        assert_eq!(
            pre(&with_claim("p", "missing")).1,
            Status::unresolvable("persistentvolumeclaim \"missing\" not found")
        );
        // "no access mode conflict": an unused ReadWriteOncePod claim, and a ReadWriteOnce one.
        assert!(pre(&with_claim("p", "claim-with-rwop-2")).1.is_skip());
        assert!(pre(&with_claim("p", "claim-rwo")).1.is_skip());
        // "access mode conflict, unschedulable"
        let p = with_claim("p", "claim-with-rwop-1");
        let (pl, st) = pre(&p);
        assert!(st.is_success());
        assert_eq!(
            pl.filter(&p, &s.nodes[0], &s),
            Status::unschedulable(ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT)
        );
        // Preemption's RemovePod of the user clears the conflict.
        let mut state = pl.pre_filter_state().expect("state");
        let user = &s.pod(s.nodes[0].pods[0]).pod;
        assert!(
            pl.remove_pod(state.as_mut(), &p, user, &s.nodes[0], &s)
                .is_success()
        );
        assert!(
            pl.filter_with_state(state.as_ref(), &p, &s.nodes[0], &s)
                .is_success()
        );
    }
}
