//! DaemonSets: at most one active, non-terminating daemon pod of a DaemonSet per node (two
//! while it may surge: `maxSurge > 0`), and no daemon pod bound to a node its own node
//! selector and required node affinity (the `metadata.name` pin) do not match.

use std::collections::BTreeMap;

use sim_core::SimTime;

use super::Checkers;
use crate::api::{DaemonSet, NodeId};
use crate::apiserver::ApiServer;
use crate::controllers::daemonset::util::allows_surge;
use crate::controllers::replicaset::is_pod_active;
use crate::scheduler::plugins::node_affinity::required_matches;

impl Checkers {
    pub(super) fn daemon_sets(&mut self, api: &ApiServer, now: SimTime) {
        for ds in api.objects::<DaemonSet>().live() {
            let limit = if allows_surge(&ds.spec.update_strategy) {
                2
            } else {
                1
            };
            let mut per_node: BTreeMap<NodeId, u32> = BTreeMap::new();
            for p in &ds.pods {
                let r = api.store.pod(*p);
                let Some(node) = r.node else {
                    continue;
                };
                if !is_pod_active(r) {
                    continue;
                }
                let count = per_node.entry(node).or_default();
                *count += 1;
                let info = api.store.node(node);
                if *count == limit + 1 {
                    self.violate(
                        now,
                        "daemonset-pods-per-node",
                        format!(
                            "daemonset/{}: more than {limit} active pods on node {}",
                            ds.spec.name,
                            info.name()
                        ),
                    );
                }
                if info.exists && !required_matches(&r.pod, &info.node, &[]) {
                    self.violate(
                        now,
                        "daemonset-pod-misplaced",
                        format!(
                            "daemonset/{}: pod {} is bound to node {}, which its node selector or affinity does not match",
                            ds.spec.name,
                            r.pod.name,
                            info.name()
                        ),
                    );
                }
            }
        }
    }
}
