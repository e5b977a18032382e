//! DefaultBinder (upstream `pkg/scheduler/framework/plugins/defaultbinder`): binds through the
//! API server. In kubesim the caller of `Scheduler::schedule_one` binds in the store; the plugin
//! exists so profiles have the bind plugin upstream requires.

use serde_json::Value;

use crate::scheduler::framework::{ExtensionPoints, Plugin};

pub const NAME: &str = "DefaultBinder";

#[derive(Debug, Default)]
pub struct DefaultBinder;

impl DefaultBinder {
    pub fn factory(_args: Option<&Value>) -> Result<Box<dyn Plugin>, String> {
        Ok(Box::new(DefaultBinder))
    }
}

impl Plugin for DefaultBinder {
    fn name(&self) -> &str {
        NAME
    }

    fn extension_points(&self) -> ExtensionPoints {
        ExtensionPoints::BIND
    }
}
