//! StorageClasses, PersistentVolumeClaims and PersistentVolumes: stored objects and their
//! writes. The persistent-volume controller (`controllers::volume`) binds and provisions;
//! the scheduler's volume plugins read them.

use std::collections::BTreeMap;

use sim_core::{Context, SimTime};

use super::{ApiError, ApiResult, ApiServer, ObjectKind, Op};
use crate::api::{PersistentVolume, PersistentVolumeClaim, StorageClass};
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

    /// The StorageClass a claim uses after admission (`None`: no class, static binding only).
    pub fn class_of(&self, claim: &PersistentVolumeClaim) -> Option<&StorageClass> {
        match claim.storage_class.as_deref() {
            Some("") => None,
            Some(name) => self.class(name),
            None => self.default_class(),
        }
    }
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
        self.store.storage.claim_by_name.remove(&key);
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
