//! SchedulingGates (upstream `pkg/scheduler/framework/plugins/schedulinggates/`): the PreEnqueue
//! plugin that keeps a pod carrying `spec.schedulingGates` out of the scheduling queue until its
//! gates are all removed. Like PrioritySort, the check itself is done by the scheduling queue
//! (`cluster::scheduling` never queues a gated pod and queues it once its gates are gone);
//! [`SchedulingGates::pre_enqueue`] gives upstream's status for it, and
//! [`crate::scheduler::Scheduler::pre_enqueue`] runs a profile's PreEnqueue plugins.

use serde_json::Value;

use crate::api::Pod;
use crate::scheduler::framework::{ExtensionPoints, Plugin, Status};

pub const NAME: &str = "SchedulingGates";

#[derive(Debug, Default)]
pub struct SchedulingGates;

impl SchedulingGates {
    /// Upstream `New` takes no arguments and ignores any it is given.
    pub fn factory(_args: Option<&Value>) -> Result<Box<dyn Plugin>, String> {
        Ok(Box::new(SchedulingGates))
    }
}

impl Plugin for SchedulingGates {
    fn name(&self) -> &str {
        NAME
    }

    fn extension_points(&self) -> ExtensionPoints {
        ExtensionPoints::PRE_ENQUEUE
    }

    /// Upstream `PreEnqueue`: UnschedulableAndUnresolvable `waiting for scheduling gates: [a b]`
    /// (Go's `%v` of the gate names) while the pod has gates.
    fn pre_enqueue(&self, pod: &Pod) -> Status {
        if pod.scheduling_gates.is_empty() {
            return Status::success();
        }
        Status::unresolvable(format!(
            "waiting for scheduling gates: [{}]",
            pod.scheduling_gates.join(" ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::framework::Code;
    use crate::scheduler::{Registry, Scheduler};

    // scheduling_gates_test.go TestPreEnqueue: "pod does not carry scheduling gates", "pod
    // carries scheduling gates".
    #[test]
    fn pre_enqueue_matches_upstream_table() {
        let pl = SchedulingGates;
        assert!(pl.pre_enqueue(&Pod::default()).is_success());
        let gated = Pod {
            scheduling_gates: vec!["foo".into(), "bar".into()],
            ..Pod::default()
        };
        assert_eq!(
            pl.pre_enqueue(&gated),
            Status::unresolvable("waiting for scheduling gates: [foo bar]")
        );
    }

    #[test]
    fn the_default_profile_runs_it_at_pre_enqueue_and_reports_it_modelled() {
        let s = Scheduler::new(None, &Registry::default_plugins()).unwrap();
        assert!(!s.unmodelled_plugins().contains(&NAME.to_string()));
        let gated = Pod {
            scheduler_name: crate::scheduler::config::DEFAULT_SCHEDULER_NAME.into(),
            scheduling_gates: vec!["example.com/quota".into()],
            ..Pod::default()
        };
        let status = s.pre_enqueue(&gated);
        assert_eq!(status.code, Code::UnschedulableAndUnresolvable);
        assert_eq!(status.plugin, NAME);
        assert_eq!(
            status.reasons,
            ["waiting for scheduling gates: [example.com/quota]"]
        );
        let ungated = Pod {
            scheduling_gates: Vec::new(),
            ..gated
        };
        assert!(s.pre_enqueue(&ungated).is_success());
    }

    fn with_config(config: serde_json::Value) -> Result<Scheduler, crate::scheduler::ConfigError> {
        let config = crate::scheduler::parse_config(&config)?;
        Scheduler::new(Some(&config), &Registry::default_plugins())
    }

    #[test]
    fn configs_enable_disable_and_configure_it_as_upstream() {
        let gated = Pod {
            scheduler_name: crate::scheduler::config::DEFAULT_SCHEDULER_NAME.into(),
            scheduling_gates: vec!["g".into()],
            ..Pod::default()
        };
        // Named explicitly at its point, with (ignored) args.
        let s = with_config(serde_json::json!({"profiles": [{
            "plugins": {"preEnqueue": {"enabled": [{"name": "SchedulingGates"}]}},
            "pluginConfig": [{"name": "SchedulingGates", "args": {}}]
        }]}))
        .unwrap();
        assert_eq!(
            s.profiles()[0].enabled(ExtensionPoints::PRE_ENQUEUE)[0].name,
            NAME
        );
        assert_eq!(
            s.pre_enqueue(&gated).code,
            Code::UnschedulableAndUnresolvable
        );
        // Disabled: the profile gates nothing, and nothing is reported as not modelled.
        let s = with_config(serde_json::json!({"profiles": [{
            "plugins": {"multiPoint": {"disabled": [{"name": "SchedulingGates"}]}}
        }]}))
        .unwrap();
        assert!(
            s.profiles()[0]
                .enabled(ExtensionPoints::PRE_ENQUEUE)
                .is_empty()
        );
        assert!(s.pre_enqueue(&gated).is_success());
        assert!(!s.unmodelled_plugins().contains(&NAME.to_string()));
        // At a point it does not implement: upstream's configuration error.
        let e = with_config(serde_json::json!({"profiles": [{
            "plugins": {"filter": {"enabled": [{"name": "SchedulingGates"}]}}
        }]}))
        .unwrap_err();
        assert_eq!(
            e.message,
            "plugin \"SchedulingGates\" does not extend FilterPlugin plugin"
        );
    }
}
