//! HorizontalPodAutoscalers as the API server stores them. They own nothing and no quota counts
//! them, so they live in a table of their own rather than a workload [`super::Collection`].

use sim_core::{Context, SimTime};

use super::{ApiError, ApiResult, ApiServer, ObjectKind, Op};
use crate::api::WorkloadId;
use crate::api::autoscaling::{HorizontalPodAutoscaler, HpaStatus};
use crate::cluster::Event;

#[derive(Clone, Debug)]
pub struct HpaObject {
    pub id: WorkloadId,
    pub spec: HorizontalPodAutoscaler,
    pub status: HpaStatus,
    pub created: SimTime,
    pub deleted: bool,
}

impl ApiServer {
    pub fn hpa(&self, id: WorkloadId) -> Option<&HpaObject> {
        self.hpas.get(id.index())
    }

    /// `POST /horizontalpodautoscalers`.
    pub fn create_hpa(
        &mut self,
        ctx: &mut Context<'_, Event>,
        spec: HorizontalPodAutoscaler,
    ) -> ApiResult<WorkloadId> {
        self.check_available()?;
        if self
            .hpas
            .iter()
            .any(|h| !h.deleted && h.spec.namespace == spec.namespace && h.spec.name == spec.name)
        {
            return Err(ApiError::Refused(format!(
                "horizontalpodautoscalers.autoscaling \"{}\" already exists",
                spec.name
            )));
        }
        let id = WorkloadId(u32::try_from(self.hpas.len()).unwrap_or(u32::MAX));
        self.hpas.push(HpaObject {
            id,
            spec,
            status: HpaStatus::default(),
            created: ctx.now(),
            deleted: false,
        });
        self.changed(ctx, ObjectKind::HorizontalPodAutoscaler, id.0, Op::Added);
        Ok(id)
    }

    /// `PUT .../status`; no write when nothing changed.
    pub fn update_hpa_status(
        &mut self,
        ctx: &mut Context<'_, Event>,
        id: WorkloadId,
        status: HpaStatus,
    ) -> ApiResult<()> {
        let obj = self.hpas.get(id.index()).ok_or(ApiError::NotFound)?;
        if obj.deleted {
            return Err(ApiError::NotFound);
        }
        if obj.status == status {
            return Ok(());
        }
        self.check_available()?;
        if let Some(o) = self.hpas.get_mut(id.index()) {
            o.status = status;
        }
        self.changed(ctx, ObjectKind::HorizontalPodAutoscaler, id.0, Op::Modified);
        Ok(())
    }
}
