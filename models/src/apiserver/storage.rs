//! StorageClasses, PersistentVolumeClaims and PersistentVolumes: stored objects and their
//! writes. The persistent-volume controller (`controllers::volume`) binds and provisions;
//! the scheduler's volume plugins read them.

use std::collections::BTreeMap;

use sim_core::{Context, SimTime};

use super::{ApiError, ApiResult, ApiServer, ObjectKind, Op};
use crate::api::storage::{LABEL_TOPOLOGY_ZONE, VolumeBindingMode};
use crate::api::{Labels, PersistentVolume, PersistentVolumeClaim, StorageClass};
use crate::cluster::Event;

/// Index of a claim in [`Storage::claims`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClaimId(pub u32);

/// Index of a volume in [`Storage::volumes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VolumeId(pub u32);

#[derive(Clone, Debug)]
pub struct ClaimObject {
    pub id: ClaimId,
    pub claim: PersistentVolumeClaim,
    pub created: SimTime,
    /// `spec.volumeName` once bound (status.phase Bound).
    pub volume: Option<VolumeId>,
    /// `volume.kubernetes.io/selected-node`: the scheduler chose this node for the first pod
    /// using a WaitForFirstConsumer claim; the provisioner makes the volume in its zone.
    pub selected_node: Option<String>,
    pub deleted: bool,
}

#[derive(Clone, Debug)]
pub struct VolumeObject {
    pub id: VolumeId,
    pub volume: PersistentVolume,
    pub created: SimTime,
    pub bound_to: Option<ClaimId>,
    pub deleted: bool,
}

/// The storage objects of the cluster.
#[derive(Clone, Debug, Default)]
pub struct Storage {
    pub classes: Vec<StorageClass>,
    pub claims: Vec<ClaimObject>,
    pub volumes: Vec<VolumeObject>,
    claim_by_name: BTreeMap<(String, String), ClaimId>,
    volume_by_name: BTreeMap<String, VolumeId>,
}

impl Storage {
    pub fn class(&self, name: &str) -> Option<&StorageClass> {
        self.classes.iter().find(|c| c.name == name)
    }

    /// The default StorageClass (upstream: the newest of those marked default).
    pub fn default_class(&self) -> Option<&StorageClass> {
        self.classes.iter().rev().find(|c| c.is_default)
    }

    pub fn claim_id(&self, namespace: &str, name: &str) -> Option<ClaimId> {
        self.claim_by_name
            .get(&(namespace.to_string(), name.to_string()))
            .copied()
    }

    pub fn claim(&self, id: ClaimId) -> &ClaimObject {
        &self.claims[id.0 as usize]
    }

    pub fn volume(&self, id: VolumeId) -> &VolumeObject {
        &self.volumes[id.0 as usize]
    }

    pub fn volume_id(&self, name: &str) -> Option<VolumeId> {
        self.volume_by_name.get(name).copied()
    }

    /// Stores a claim as is (no admission, no watch event): for building a snapshot by hand.
    pub fn insert_claim(
        &mut self,
        claim: PersistentVolumeClaim,
        volume: Option<VolumeId>,
    ) -> ClaimId {
        let id = ClaimId(u32::try_from(self.claims.len()).unwrap_or(u32::MAX));
        self.claim_by_name
            .insert((claim.namespace.clone(), claim.name.clone()), id);
        if let Some(v) = volume.and_then(|v| self.volumes.get_mut(v.0 as usize)) {
            v.bound_to = Some(id);
        }
        self.claims.push(ClaimObject {
            id,
            claim,
            created: SimTime::ZERO,
            volume,
            selected_node: None,
            deleted: false,
        });
        id
    }

    /// Stores a volume as is: for building a snapshot by hand.
    pub fn insert_volume(&mut self, volume: PersistentVolume) -> VolumeId {
        let id = VolumeId(u32::try_from(self.volumes.len()).unwrap_or(u32::MAX));
        self.volume_by_name.insert(volume.name.clone(), id);
        self.volumes.push(VolumeObject {
            id,
            volume,
            created: SimTime::ZERO,
            bound_to: None,
            deleted: false,
        });
        id
    }

    /// The live claim `namespace/name`, if it exists.
    pub fn find_claim(&self, namespace: &str, name: &str) -> Option<&ClaimObject> {
        self.claim_id(namespace, name)
            .map(|id| self.claim(id))
            .filter(|c| !c.deleted)
    }

    /// The live volume named `name`, if it exists.
    pub fn find_volume(&self, name: &str) -> Option<&VolumeObject> {
        self.volume_id(name)
            .map(|id| self.volume(id))
            .filter(|v| !v.deleted)
    }

    /// Whether every claim the pod mounts exists and is bound (the kubelet mounts only then).
    pub fn pod_claims_bound(&self, pod: &crate::api::Pod) -> bool {
        crate::api::storage::pod_claim_names(&pod.volumes).all(|name| {
            self.find_claim(&pod.namespace, name)
                .is_some_and(|c| c.volume.is_some())
        })
    }

    /// Upstream `volume.FindMatchingVolume` (`k8s.io/component-helpers/storage/volume`): the
    /// smallest volume that can bind `claim`: of its class and access mode, large enough,
    /// not bound to another claim, and (given a node) whose node affinity the node's labels
    /// meet. A volume pre-bound to the claim (`claimRef`) wins whatever its size. Without a
    /// node, a WaitForFirstConsumer claim (`delay_binding`) takes only a pre-bound volume: the
    /// scheduler picks the others once it has a node.
    pub fn find_matching_volume(
        &self,
        claim: &ClaimObject,
        node_labels: Option<&Labels>,
        delay_binding: bool,
        excluded: &std::collections::BTreeSet<VolumeId>,
    ) -> Option<VolumeId> {
        let candidates = self.volume_candidates(claim, node_labels.is_none() && delay_binding);
        self.pick_volume(&candidates, node_labels, excluded)
    }

    /// The part of [`Storage::find_matching_volume`] that does not depend on the node: the
    /// volumes that could bind `claim` on some node, in volume order, each with whether it is
    /// pre-bound to the claim. `pre_bound_only`: a WaitForFirstConsumer claim without a node.
    pub fn volume_candidates(
        &self,
        claim: &ClaimObject,
        pre_bound_only: bool,
    ) -> Vec<(VolumeId, bool)> {
        let key = (claim.claim.namespace.as_str(), claim.claim.name.as_str());
        let class = claim.claim.storage_class.as_deref().unwrap_or("");
        let mut out = Vec::new();
        for v in &self.volumes {
            if v.deleted || v.volume.capacity_bytes < claim.claim.request_bytes {
                continue;
            }
            let pre_bound = v
                .volume
                .claim
                .as_ref()
                .is_some_and(|(ns, n)| (ns.as_str(), n.as_str()) == key);
            if pre_bound {
                out.push((v.id, true));
                continue;
            }
            if pre_bound_only {
                continue;
            }
            // Phase Available: neither bound nor reserved for another claim.
            if v.bound_to.is_some() || v.volume.claim.is_some() {
                continue;
            }
            if v.volume.storage_class != class || v.volume.access_mode != claim.claim.access_mode {
                continue;
            }
            out.push((v.id, false));
        }
        out
    }

    /// The rest of [`Storage::find_matching_volume`] over its [`Storage::volume_candidates`]:
    /// the first pre-bound volume the node meets, else the smallest other one (the first of
    /// equal ones).
    pub fn pick_volume(
        &self,
        candidates: &[(VolumeId, bool)],
        node_labels: Option<&Labels>,
        excluded: &std::collections::BTreeSet<VolumeId>,
    ) -> Option<VolumeId> {
        let mut smallest: Option<&VolumeObject> = None;
        for &(id, pre_bound) in candidates {
            if excluded.contains(&id) {
                continue;
            }
            let v = self.volume(id);
            if !node_labels.is_none_or(|l| volume_node_affinity_matches(&v.volume, l)) {
                continue;
            }
            if pre_bound {
                return Some(id);
            }
            if smallest.is_none_or(|s| s.volume.capacity_bytes > v.volume.capacity_bytes) {
                smallest = Some(v);
            }
        }
        smallest.map(|v| v.id)
    }

    /// Upstream `storagehelpers.IsDelayBindingMode`: the claim's class binds on first
    /// consumer. No class, or a class that does not exist, binds immediately.
    pub fn is_delay_binding(&self, claim: &PersistentVolumeClaim) -> bool {
        match claim.storage_class.as_deref() {
            None | Some("") => false,
            Some(name) => self
                .class(name)
                .is_some_and(|c| c.binding_mode == VolumeBindingMode::WaitForFirstConsumer),
        }
    }

    /// The StorageClass a claim uses after admission (`None`: no class, static binding only).
    pub fn class_of(&self, claim: &PersistentVolumeClaim) -> Option<&StorageClass> {
        match claim.storage_class.as_deref() {
            Some("") => None,
            Some(name) => self.class(name),
            None => self.default_class(),
        }
    }
}

/// Upstream `CheckNodeAffinity` for a zonal volume, whose node affinity requires
/// `topology.kubernetes.io/zone In [zone]`: a node without that label does not match.
pub fn volume_node_affinity_matches(volume: &PersistentVolume, node_labels: &Labels) -> bool {
    volume
        .zone
        .as_deref()
        .is_none_or(|z| node_labels.get(LABEL_TOPOLOGY_ZONE) == Some(z))
}

impl ApiServer {
    /// A StorageClass (cluster-scoped, never changed during a run).
    pub fn add_storage_class(&mut self, class: StorageClass) {
        if let Some(c) = self
            .store
            .storage
            .classes
            .iter_mut()
            .find(|c| c.name == class.name)
        {
            *c = class;
        } else {
            self.store.storage.classes.push(class);
        }
    }

    /// `POST /persistentvolumeclaims`. Admission (upstream `DefaultStorageClass`) writes the
    /// default class into a claim that names none.
    pub fn create_claim(
        &mut self,
        ctx: &mut Context<'_, Event>,
        mut claim: PersistentVolumeClaim,
    ) -> ApiResult<ClaimId> {
        self.check_available()?;
        let key = (claim.namespace.clone(), claim.name.clone());
        if self.store.storage.claim_by_name.contains_key(&key) {
            return Err(ApiError::Refused(format!(
                "persistentvolumeclaims \"{}\" already exists",
                claim.name
            )));
        }
        if claim.storage_class.is_none()
            && let Some(default) = self.store.storage.default_class()
        {
            claim.storage_class = Some(default.name.clone());
        }
        self.admit_claim(&claim)?;
        let id = ClaimId(u32::try_from(self.store.storage.claims.len()).unwrap_or(u32::MAX));
        self.store.storage.claim_by_name.insert(key, id);
        self.store.storage.claims.push(ClaimObject {
            id,
            claim,
            created: ctx.now(),
            volume: None,
            selected_node: None,
            deleted: false,
        });
        self.changed(ctx, ObjectKind::PersistentVolumeClaim, id.0, Op::Added);
        Ok(id)
    }

    /// `POST /persistentvolumes` (a manifest's volume, or the provisioner's).
    pub fn create_volume(
        &mut self,
        ctx: &mut Context<'_, Event>,
        volume: PersistentVolume,
    ) -> ApiResult<VolumeId> {
        self.check_available()?;
        if self.store.storage.volume_by_name.contains_key(&volume.name) {
            return Err(ApiError::Refused(format!(
                "persistentvolumes \"{}\" already exists",
                volume.name
            )));
        }
        let id = VolumeId(u32::try_from(self.store.storage.volumes.len()).unwrap_or(u32::MAX));
        self.store
            .storage
            .volume_by_name
            .insert(volume.name.clone(), id);
        self.store.storage.volumes.push(VolumeObject {
            id,
            volume,
            created: ctx.now(),
            bound_to: None,
            deleted: false,
        });
        self.changed(ctx, ObjectKind::PersistentVolume, id.0, Op::Added);
        Ok(id)
    }

    /// The persistent-volume controller binds a claim and a volume to each other.
    pub fn bind_claim(
        &mut self,
        ctx: &mut Context<'_, Event>,
        claim: ClaimId,
        volume: VolumeId,
    ) -> ApiResult<()> {
        self.check_available()?;
        let c = &self.store.storage.claims[claim.0 as usize];
        let v = &self.store.storage.volumes[volume.0 as usize];
        if c.deleted || v.deleted {
            return Err(ApiError::NotFound);
        }
        if v.bound_to.is_some_and(|b| b != claim) {
            return Err(ApiError::Refused(format!(
                "persistentvolume \"{}\" is already bound",
                v.volume.name
            )));
        }
        let key = (c.claim.namespace.clone(), c.claim.name.clone());
        self.store.storage.claims[claim.0 as usize].volume = Some(volume);
        let v = &mut self.store.storage.volumes[volume.0 as usize];
        v.bound_to = Some(claim);
        v.volume.claim = Some(key);
        self.changed(ctx, ObjectKind::PersistentVolume, volume.0, Op::Modified);
        self.changed(
            ctx,
            ObjectKind::PersistentVolumeClaim,
            claim.0,
            Op::Modified,
        );
        Ok(())
    }

    /// The scheduler's VolumeBinding PreBind for a WaitForFirstConsumer claim: annotates it
    /// with the chosen node, for the provisioner.
    pub fn select_node_for_claim(
        &mut self,
        ctx: &mut Context<'_, Event>,
        claim: ClaimId,
        node: &str,
    ) -> ApiResult<()> {
        self.check_available()?;
        let c = &mut self.store.storage.claims[claim.0 as usize];
        if c.deleted {
            return Err(ApiError::NotFound);
        }
        if c.selected_node.as_deref() == Some(node) {
            return Ok(());
        }
        c.selected_node = Some(node.to_string());
        self.changed(
            ctx,
            ObjectKind::PersistentVolumeClaim,
            claim.0,
            Op::Modified,
        );
        Ok(())
    }

    /// `DELETE /persistentvolumeclaims/{name}`. Its volume is released; a dynamically
    /// provisioned one with reclaimPolicy Delete goes with it.
    pub fn delete_claim(&mut self, ctx: &mut Context<'_, Event>, claim: ClaimId) -> ApiResult<()> {
        self.check_available()?;
        let c = &mut self.store.storage.claims[claim.0 as usize];
        if c.deleted {
            return Err(ApiError::NotFound);
        }
        c.deleted = true;
        let key = (c.claim.namespace.clone(), c.claim.name.clone());
        let volume = c.volume;
        let class = c.claim.storage_class.clone();
        let gone = c.claim.clone();
        self.store.storage.claim_by_name.remove(&key);
        self.release_claim_quota(&gone);
        self.changed(ctx, ObjectKind::PersistentVolumeClaim, claim.0, Op::Deleted);
        if let Some(v) = volume {
            let reclaim_delete = class
                .as_deref()
                .and_then(|n| self.store.storage.class(n))
                .is_none_or(|c| c.reclaim_delete);
            let vo = &mut self.store.storage.volumes[v.0 as usize];
            vo.bound_to = None;
            if vo.volume.dynamic && reclaim_delete {
                vo.deleted = true;
                let name = vo.volume.name.clone();
                self.store.storage.volume_by_name.remove(&name);
                self.changed(ctx, ObjectKind::PersistentVolume, v.0, Op::Deleted);
            } else {
                self.changed(ctx, ObjectKind::PersistentVolume, v.0, Op::Modified);
            }
        }
        Ok(())
    }
}
