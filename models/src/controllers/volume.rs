//! The persistent-volume controller (upstream `pkg/controller/volume/persistentvolume`): binds
//! claims to volumes and, through the StorageClass's provisioner, makes volumes for claims.
//!
//! `syncUnboundClaim`, for a claim without a volume:
//! - `spec.volumeName` set: bind to that volume if it is free;
//! - else the best available volume (`findBestMatchForClaim`: smallest of the claim's class
//!   and access mode with enough capacity; only a pre-bound one for a WaitForFirstConsumer
//!   claim, whose other volumes the scheduler picks);
//! - else a WaitForFirstConsumer claim waits for `selected_node` (event `WaitForFirstConsumer`);
//!   a claim with a class is provisioned (events `ExternalProvisioning`, `Provisioning`, then
//!   `ProvisioningSucceeded`); a claim without a class waits (`FailedBinding`).
//!
//! Provisioning takes simulated time: [`PROVISIONING_TIME`] (1s..3s, drawn from the
//! `provisioner` random stream), the time a cloud disk takes to be created. The volume is
//! named `pvc-<uid>` as upstream, with a UID made from the claim's id, sized to the request,
//! in the selected node's zone (`topology.kubernetes.io/zone`) for WaitForFirstConsumer, and
//! for Immediate in one of the class's `allowedTopologies` zones or, without any, of the zones
//! of the live nodes, spread by claim id.

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;
use sim_core::{Context, SimDuration, SimTime};

use crate::api::PersistentVolume;
use crate::api::storage::{LABEL_TOPOLOGY_ZONE, NOT_SUPPORTED_PROVISIONER};
use crate::apiserver::{ApiError, ApiServer, Change, ClaimId, ObjectKind, VolumeId};
use crate::cluster::Event;
use crate::controllers::{Reconciler, SyncOutcome};
use crate::events::EventType;

/// How long the provisioner takes to create a volume (uniform, inclusive).
pub const PROVISIONING_TIME: (SimDuration, SimDuration) =
    (SimDuration::from_secs(1), SimDuration::from_secs(3));

/// A provisioning under way: the volume exists once `ready_at` has passed.
#[derive(Clone, Debug)]
struct Provisioning {
    ready_at: SimTime,
    zone: Option<String>,
}

#[derive(Default)]
pub struct VolumeController {
    provisioning: BTreeMap<ClaimId, Provisioning>,
    /// Claims already told they wait for their first consumer (the event is recorded once per
    /// claim rather than on every resync).
    waiting_reported: BTreeSet<ClaimId>,
}

/// Upstream names a provisioned volume `pvc-<claim UID>`; a claim's UID here is made from its
/// id, so names are stable across runs.
pub fn provisioned_volume_name(claim: ClaimId) -> String {
    format!("pvc-00000000-0000-4000-8000-{:012x}", claim.0)
}

impl Reconciler for VolumeController {
    type Key = ClaimId;

    fn on_change(
        &mut self,
        change: &Change,
        api: &ApiServer,
        _now: SimTime,
        enqueue: &mut dyn FnMut(ClaimId),
    ) {
        match change.kind {
            ObjectKind::PersistentVolumeClaim => enqueue(ClaimId(change.id)),
            // A volume made, released or changed may be the match a waiting claim lacks.
            ObjectKind::PersistentVolume => {
                for c in &api.store.storage.claims {
                    if !c.deleted && c.volume.is_none() {
                        enqueue(c.id);
                    }
                }
            }
            _ => {}
        }
    }

    fn sync(
        &mut self,
        key: ClaimId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> SyncOutcome {
        let now = ctx.now();
        let storage = &api.store.storage;
        let Some(c) = storage.claims.get(key.0 as usize) else {
            return SyncOutcome::Done;
        };
        if c.deleted || c.volume.is_some() {
            self.provisioning.remove(&key);
            self.waiting_reported.remove(&key);
            return SyncOutcome::Done;
        }
        let object = format!("persistentvolumeclaim/{}", c.claim.name);
        if let Some(p) = self.provisioning.get(&key) {
            if p.ready_at > now {
                return SyncOutcome::RequeueAfter(p.ready_at.since(now));
            }
            let zone = p.zone.clone();
            return self.finish_provisioning(key, zone, object, api, ctx);
        }
        // A pre-bound claim (`spec.volumeName`) takes that volume or nothing.
        if let Some(name) = &c.claim.volume_name {
            let Some(v) = storage.find_volume(name) else {
                return SyncOutcome::Done;
            };
            if v.bound_to.is_some_and(|b| b != key) {
                return SyncOutcome::Done;
            }
            let v = v.id;
            return bind(api, ctx, key, v);
        }
        let delay_binding = storage.is_delay_binding(&c.claim);
        if let Some(v) = storage.find_matching_volume(c, None, delay_binding, &BTreeSet::new()) {
            return bind(api, ctx, key, v);
        }
        let class = storage.class_of(&c.claim).cloned();
        let Some(class) = class.filter(|_| c.claim.storage_class.as_deref() != Some("")) else {
            api.record(
                now,
                EventType::Normal,
                "FailedBinding",
                object,
                "no persistent volumes available for this claim and no storage class is set".into(),
            );
            return SyncOutcome::Done;
        };
        if class.provisioner == NOT_SUPPORTED_PROVISIONER {
            // Static volumes only: the claim waits for one to appear.
            return SyncOutcome::Done;
        }
        let zone = if delay_binding {
            let Some(node_name) = c.selected_node.clone() else {
                if self.waiting_reported.insert(key) {
                    api.record(
                        now,
                        EventType::Normal,
                        "WaitForFirstConsumer",
                        object,
                        "waiting for first consumer to be created before binding".into(),
                    );
                }
                return SyncOutcome::Done;
            };
            let Some(node) = api.store.live_nodes().find(|n| n.name() == node_name) else {
                api.record(
                    now,
                    EventType::Warning,
                    "ProvisioningFailed",
                    object,
                    format!("failed to get target node: node \"{node_name}\" not found"),
                );
                return SyncOutcome::Done;
            };
            node.node
                .labels
                .get(LABEL_TOPOLOGY_ZONE)
                .map(str::to_string)
        } else {
            let zones: Vec<String> = if class.allowed_zones.is_empty() {
                api.store
                    .live_nodes()
                    .filter_map(|n| n.node.labels.get(LABEL_TOPOLOGY_ZONE))
                    .map(str::to_string)
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect()
            } else {
                class.allowed_zones.clone()
            };
            if zones.is_empty() {
                None
            } else {
                zones.get(key.0 as usize % zones.len()).cloned()
            }
        };
        let claim_key = format!("{}/{}", c.claim.namespace, c.claim.name);
        api.record(
            now,
            EventType::Normal,
            "ExternalProvisioning",
            object.clone(),
            format!(
                "Waiting for a volume to be created either by the external provisioner '{}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
                class.provisioner
            ),
        );
        api.record(
            now,
            EventType::Normal,
            "Provisioning",
            object,
            format!("External provisioner is provisioning volume for claim \"{claim_key}\""),
        );
        let (lo, hi) = PROVISIONING_TIME;
        let took = SimDuration::from_nanos(
            ctx.rng("provisioner")
                .random_range(lo.as_nanos()..=hi.as_nanos()),
        );
        self.provisioning.insert(
            key,
            Provisioning {
                ready_at: now.saturating_add(took),
                zone,
            },
        );
        SyncOutcome::RequeueAfter(took)
    }
}

impl VolumeController {
    fn finish_provisioning(
        &mut self,
        key: ClaimId,
        zone: Option<String>,
        object: String,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> SyncOutcome {
        let c = api.store.storage.claim(key);
        let name = provisioned_volume_name(key);
        let volume = match api.store.storage.volume_id(&name) {
            // Made by an earlier attempt whose bind failed.
            Some(v) => v,
            None => {
                let class = api
                    .store
                    .storage
                    .class_of(&c.claim)
                    .map(|cl| cl.name.clone())
                    .unwrap_or_default();
                let pv = PersistentVolume {
                    name: name.clone(),
                    storage_class: class,
                    capacity_bytes: c.claim.request_bytes,
                    zone,
                    access_mode: c.claim.access_mode,
                    claim: Some((c.claim.namespace.clone(), c.claim.name.clone())),
                    dynamic: true,
                };
                match api.create_volume(ctx, pv) {
                    Ok(v) => {
                        api.record(
                            ctx.now(),
                            EventType::Normal,
                            "ProvisioningSucceeded",
                            object,
                            format!("Successfully provisioned volume {name}"),
                        );
                        v
                    }
                    Err(ApiError::Unavailable) => return SyncOutcome::Failed,
                    Err(_) => return SyncOutcome::Done,
                }
            }
        };
        let outcome = bind(api, ctx, key, volume);
        if outcome == SyncOutcome::Done {
            self.provisioning.remove(&key);
        }
        outcome
    }
}

fn bind(
    api: &mut ApiServer,
    ctx: &mut Context<'_, Event>,
    claim: ClaimId,
    volume: VolumeId,
) -> SyncOutcome {
    match api.bind_claim(ctx, claim, volume) {
        Ok(()) => SyncOutcome::Done,
        Err(ApiError::Unavailable) => SyncOutcome::Failed,
        Err(_) => SyncOutcome::Done,
    }
}
