//! The scheduler's Filter plugins run on simulated nodes (upstream
//! `simulator/clustersnapshot/predicate`, `SchedulerPluginRunner`): the autoscaler embeds
//! kube-scheduler's framework with the default profile and runs PreFilter then Filter for a
//! pod on one node of a snapshot (no scoring). The snapshot is the autoscaler's own copy of
//! the store, with template nodes and simulated placements added.

use std::collections::BTreeSet;

use crate::api::{NodeId, Pod};
use crate::scheduler::config::KubeSchedulerProfile;
use crate::scheduler::{Code, ExtensionPoints, Profile, Registry, Snapshot, Status};
use crate::store::Store;

pub struct PredicateChecker {
    profile: Profile,
    skip: Vec<bool>,
}

impl std::fmt::Debug for PredicateChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PredicateChecker").finish_non_exhaustive()
    }
}

impl PredicateChecker {
    /// The default scheduler profile built from `registry`.
    pub fn new(registry: &Registry) -> Option<Self> {
        let profile = Profile::build(
            &KubeSchedulerProfile::default(),
            crate::api::pod::DEFAULT_SCHEDULER_NAME,
            registry,
            "",
        )
        .ok()?;
        Some(PredicateChecker {
            profile,
            skip: Vec::new(),
        })
    }

    /// Upstream `CheckPredicates`: PreFilter for the pod on the snapshot, then every Filter
    /// plugin on `node`. The error is the first plugin's rejection.
    pub fn check(&mut self, pod: &Pod, snapshot: &Snapshot, node: NodeId) -> Result<(), Status> {
        let pinned = self.pre_filter(pod, snapshot)?;
        let info = snapshot.node(node);
        if let Some(names) = pinned
            && !names.contains(info.name())
        {
            return Err(Status::unresolvable("node(s) didn't satisfy plugin(s)"));
        }
        let profile = &self.profile;
        for slot in profile.slots(ExtensionPoints::FILTER) {
            if self.skip.get(slot.plugin).copied().unwrap_or(false) {
                continue;
            }
            let plugin = &profile.plugins[slot.plugin];
            let status = plugin.filter(pod, info, snapshot);
            if !status.is_success() {
                return Err(status.with_plugin(plugin.name()));
            }
        }
        Ok(())
    }

    /// The first node among `nodes` the pod passes on (upstream
    /// `SchedulePodOnAnyNodeMatching`'s search), PreFilter run once.
    pub fn first_fit(
        &mut self,
        pod: &Pod,
        snapshot: &Snapshot,
        nodes: impl IntoIterator<Item = NodeId>,
    ) -> Option<NodeId> {
        nodes
            .into_iter()
            .find(|&n| self.check(pod, snapshot, n).is_ok())
    }

    fn pre_filter(
        &mut self,
        pod: &Pod,
        snapshot: &Snapshot,
    ) -> Result<Option<BTreeSet<String>>, Status> {
        let profile = &mut self.profile;
        self.skip.clear();
        self.skip.resize(profile.plugins.len(), false);
        let slots: Vec<usize> = profile
            .slots(ExtensionPoints::PRE_FILTER)
            .iter()
            .map(|s| s.plugin)
            .collect();
        let mut pinned: Option<BTreeSet<String>> = None;
        for i in slots {
            let plugin = &mut profile.plugins[i];
            let status = plugin.pre_filter(pod, snapshot);
            if status.is_skip() {
                self.skip[i] = true;
                continue;
            }
            if !status.is_success() {
                return Err(match status.code {
                    Code::Unschedulable | Code::UnschedulableAndUnresolvable => {
                        status.with_plugin(plugin.name())
                    }
                    _ => Status::error(format!(
                        "running PreFilter plugin {:?}: {status}",
                        plugin.name()
                    )),
                });
            }
            if let Some(names) = plugin.pre_filter_result() {
                pinned = Some(match pinned.take() {
                    None => names.clone(),
                    Some(prev) => prev.intersection(names).cloned().collect(),
                });
            }
        }
        for &i in &profile.pre_filter_state_only.clone() {
            let _ = profile.plugins[i].pre_filter(pod, snapshot);
        }
        Ok(pinned)
    }
}

/// A snapshot to simulate on: the store's nodes and pods as they are now.
pub fn snapshot_of(store: &Store) -> Store {
    store.clone()
}
