//! The DaemonSet controller's reconciler (upstream `pkg/controller/daemonset`).

use sim_core::{Context, SimTime};

use crate::api::WorkloadId;
use crate::apiserver::{ApiServer, Change};
use crate::cluster::Event;
use crate::controllers::{Reconciler, SyncOutcome};

#[derive(Default)]
pub struct DaemonSetController {}

impl Reconciler for DaemonSetController {
    type Key = WorkloadId;

    fn on_change(
        &mut self,
        _change: &Change,
        _api: &ApiServer,
        _now: SimTime,
        _enqueue: &mut dyn FnMut(WorkloadId),
    ) {
    }

    fn sync(
        &mut self,
        _key: WorkloadId,
        _api: &mut ApiServer,
        _ctx: &mut Context<'_, Event>,
    ) -> SyncOutcome {
        SyncOutcome::Done
    }
}
