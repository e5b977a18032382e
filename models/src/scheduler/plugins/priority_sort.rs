//! PrioritySort (upstream `pkg/scheduler/framework/plugins/queuesort/priority_sort.go`): the
//! queue-sort plugin. The ordering itself (higher priority first, then earlier arrival) lives in
//! the scheduling queue; the plugin exists so profiles name the one queue sort upstream requires.

use serde_json::Value;

use crate::scheduler::framework::{ExtensionPoints, Plugin};

pub const NAME: &str = "PrioritySort";

#[derive(Debug, Default)]
pub struct PrioritySort;

impl PrioritySort {
    pub fn factory(_args: Option<&Value>) -> Result<Box<dyn Plugin>, String> {
        Ok(Box::new(PrioritySort))
    }
}

impl Plugin for PrioritySort {
    fn name(&self) -> &str {
        NAME
    }

    fn extension_points(&self) -> ExtensionPoints {
        ExtensionPoints::QUEUE_SORT
    }
}
