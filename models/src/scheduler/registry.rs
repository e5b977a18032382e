//! The plugin registry: plugin name → factory, as upstream `runtime.Registry`.
//!
//! A researcher adds a policy by implementing [`Plugin`] and registering a factory under the
//! name their scheduler configuration uses; weights, extension points and `pluginConfig` args
//! then work exactly as for the built-ins:
//!
//! ```
//! use models::api::{NodeId, Pod};
//! use models::scheduler::framework::{ExtensionPoints, Plugin, Snapshot, Status};
//! use models::scheduler::{Registry, Scheduler, parse_config};
//! use models::store::NodeInfo;
//!
//! /// Prefers nodes running fewer pods.
//! struct FewestPods;
//!
//! impl Plugin for FewestPods {
//!     fn name(&self) -> &str {
//!         "FewestPods"
//!     }
//!     fn extension_points(&self) -> ExtensionPoints {
//!         ExtensionPoints::SCORE
//!     }
//!     fn score(&self, _pod: &Pod, node: &NodeInfo, _s: &Snapshot) -> Result<i64, Status> {
//!         Ok(100 - node.pods.len().min(100) as i64)
//!     }
//! }
//!
//! let mut registry = Registry::default_plugins();
//! registry.register("FewestPods", |_args| Ok(Box::new(FewestPods)));
//! let config = parse_config(&serde_json::json!({
//!     "profiles": [{"plugins": {"multiPoint": {"enabled": [{"name": "FewestPods", "weight": 3}]}}}]
//! }))
//! .unwrap();
//! let scheduler = Scheduler::new(Some(&config), &registry).unwrap();
//! assert!(scheduler.has_profile("default-scheduler"));
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::scheduler::config::PluginRef;
use crate::scheduler::framework::Plugin;
use crate::scheduler::plugins::{
    DefaultBinder, ImageLocality, InterPodAffinity, NodeAffinity, NodeName, NodePorts,
    NodeResourcesBalancedAllocation, NodeResourcesFit, NodeUnschedulable, NodeVolumeLimits,
    PodTopologySpread, PrioritySort, SchedulingGates, TaintToleration, VolumeBinding,
    VolumeRestrictions, VolumeZone,
};

/// Builds a plugin from its `pluginConfig` args (`None` when the profile gives none).
pub type Factory = fn(Option<&Value>) -> Result<Box<dyn Plugin>, String>;

/// The in-tree plugins of upstream `plugins.NewInTreeRegistry` (names.go). A profile may name
/// these even when kubesim does not model them yet; they are then skipped and reported.
pub const UPSTREAM_PLUGINS: &[&str] = &[
    "DefaultBinder",
    "DefaultPreemption",
    "DynamicResources",
    "GangScheduling",
    "ImageLocality",
    "InterPodAffinity",
    "NodeAffinity",
    "NodeDeclaredFeatures",
    "NodeName",
    "NodePorts",
    "NodeResourcesBalancedAllocation",
    "NodeResourcesFit",
    "NodeUnschedulable",
    "NodeVolumeLimits",
    "PodTopologySpread",
    "PrioritySort",
    "SchedulingGates",
    "TaintToleration",
    "VolumeBinding",
    "VolumeRestrictions",
    "VolumeZone",
];

/// Plugins upstream removed from its registry; a v1 configuration naming them fails upstream.
pub const REMOVED_UPSTREAM_PLUGINS: &[&str] = &[
    "AzureDiskLimits",
    "CinderLimits",
    "EBSLimits",
    "GCEPDLimits",
    "NodeLabel",
    "NodePreferAvoidPods",
    "NodeResourcesLeastAllocated",
    "NodeResourcesMostAllocated",
    "RequestedToCapacityRatio",
    "SelectorSpread",
    "ServiceAffinity",
];

pub fn is_upstream_plugin(name: &str) -> bool {
    UPSTREAM_PLUGINS.contains(&name)
}

/// Upstream `getDefaultPlugins` (`pkg/scheduler/apis/config/v1/default_plugins.go`) with the
/// feature gates on by default in v1.34: SchedulingGates (PodSchedulingReadiness) first and
/// DynamicResources (DRA, GA) just before DefaultPreemption.
pub fn default_multi_point() -> Vec<PluginRef> {
    [
        ("SchedulingGates", None),
        ("PrioritySort", None),
        ("NodeUnschedulable", None),
        ("NodeName", None),
        ("TaintToleration", Some(3)),
        ("NodeAffinity", Some(2)),
        ("NodePorts", None),
        ("NodeResourcesFit", Some(1)),
        ("VolumeRestrictions", None),
        ("NodeVolumeLimits", None),
        ("VolumeBinding", None),
        ("VolumeZone", None),
        ("PodTopologySpread", Some(2)),
        ("InterPodAffinity", Some(2)),
        ("DynamicResources", None),
        ("DefaultPreemption", None),
        ("NodeResourcesBalancedAllocation", Some(1)),
        ("ImageLocality", Some(1)),
        ("DefaultBinder", None),
    ]
    .into_iter()
    .map(|(name, weight)| PluginRef::new(name, weight))
    .collect()
}

/// Plugin name → factory.
#[derive(Clone, Default)]
pub struct Registry {
    factories: BTreeMap<String, Factory>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.factories.keys()).finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The plugins kubesim models.
    pub fn default_plugins() -> Self {
        let mut r = Registry::new();
        // PreEnqueue: the scheduling queue performs the check (see `plugins::scheduling_gates`).
        r.register("SchedulingGates", SchedulingGates::factory);
        r.register("PrioritySort", PrioritySort::factory);
        r.register("NodeUnschedulable", NodeUnschedulable::factory);
        r.register("NodeName", NodeName::factory);
        r.register("TaintToleration", TaintToleration::factory);
        r.register("NodeAffinity", NodeAffinity::factory);
        r.register("NodeResourcesFit", NodeResourcesFit::factory);
        r.register(
            "NodeResourcesBalancedAllocation",
            NodeResourcesBalancedAllocation::factory,
        );
        r.register("DefaultBinder", DefaultBinder::factory);
        r.register("NodePorts", NodePorts::factory);
        r.register("PodTopologySpread", PodTopologySpread::factory);
        r.register("InterPodAffinity", InterPodAffinity::factory);
        r.register("ImageLocality", ImageLocality::factory);
        r.register("VolumeRestrictions", VolumeRestrictions::factory);
        r.register("NodeVolumeLimits", NodeVolumeLimits::factory);
        r.register("VolumeBinding", VolumeBinding::factory);
        r.register("VolumeZone", VolumeZone::factory);
        r.register(
            crate::scheduler::preemption::NAME,
            crate::scheduler::preemption::DefaultPreemption::factory,
        );
        // kubesim's own (not upstream): GPU sharing for trace replays; off in the default
        // profile, see `plugins::gpu_share`.
        r.register(
            crate::scheduler::plugins::gpu_share::NAME,
            crate::scheduler::plugins::gpu_share::GpuShare::factory,
        );
        r
    }

    /// Adds (or replaces) a plugin; returns the factory it replaced.
    pub fn register(&mut self, name: impl Into<String>, factory: Factory) -> Option<Factory> {
        self.factories.insert(name.into(), factory)
    }

    pub fn get(&self, name: &str) -> Option<Factory> {
        self.factories.get(name).copied()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.factories.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.factories.keys().map(String::as_str)
    }
}
