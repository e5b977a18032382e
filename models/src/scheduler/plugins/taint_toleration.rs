//! TaintToleration (upstream `pkg/scheduler/framework/plugins/tainttoleration/taint_toleration.go`):
//! NoSchedule/NoExecute taints the pod does not tolerate filter a node out; untolerated
//! PreferNoSchedule taints lower its score.

use serde_json::Value;

pub use crate::api::taints::find_untolerated_taint;
use crate::api::{NodeId, Pod, Taint, TaintEffect, Toleration, tolerations_tolerate};
use crate::scheduler::framework::{
    ExtensionPoints, MAX_NODE_SCORE, NodeScore, Plugin, Snapshot, Status, retain_passing,
};
use crate::scheduler::plugins::helper::default_normalize_score;
use crate::store::NodeInfo;

pub const NAME: &str = "TaintToleration";

/// Upstream `countIntolerableTaintsPreferNoSchedule`. Upstream first keeps only the tolerations
/// with an empty or PreferNoSchedule effect; any other toleration has an effect that differs
/// from PreferNoSchedule and so tolerates none of these taints anyway.
pub fn count_intolerable_prefer_no_schedule(taints: &[Taint], tolerations: &[Toleration]) -> i64 {
    let count = taints
        .iter()
        .filter(|t| {
            t.effect == TaintEffect::PreferNoSchedule && !tolerations_tolerate(tolerations, t)
        })
        .count();
    i64::try_from(count).unwrap_or(i64::MAX)
}

#[cold]
fn untolerated(taint: &Taint) -> Status {
    Status::unresolvable(format!(
        "node(s) had untolerated taint {{{}: {}}}",
        taint.key, taint.value
    ))
}

#[derive(Debug, Default)]
pub struct TaintToleration;

impl TaintToleration {
    pub fn factory(_args: Option<&Value>) -> Result<Box<dyn Plugin>, String> {
        Ok(Box::new(TaintToleration))
    }
}

impl Plugin for TaintToleration {
    fn name(&self) -> &str {
        NAME
    }

    fn extension_points(&self) -> ExtensionPoints {
        ExtensionPoints::FILTER | ExtensionPoints::PRE_SCORE | ExtensionPoints::SCORE
    }

    // Inlined into the framework's batch loop (`filter_nodes`): most nodes have no taints.
    #[inline]
    fn filter(&self, pod: &Pod, node: &NodeInfo, _snapshot: &Snapshot) -> Status {
        if node.node.taints.is_empty() {
            return Status::success();
        }
        match find_untolerated_taint(&node.node.taints, &pod.tolerations) {
            None => Status::success(),
            Some(taint) => untolerated(taint),
        }
    }

    /// [`Self::filter`] reading the node's record only when its summary says it has taints.
    fn filter_nodes(
        &self,
        pod: &Pod,
        snapshot: &Snapshot,
        nodes: &mut Vec<NodeId>,
        rejected: &mut Vec<(NodeId, Status)>,
    ) {
        retain_passing(
            nodes,
            rejected,
            |node| !snapshot.node_summary(node).has_taints,
            |node| self.filter(pod, snapshot.node(node), snapshot),
        );
    }

    fn pre_score(&mut self, _pod: &Pod, _feasible: &[NodeId], _snapshot: &Snapshot) -> Status {
        Status::success()
    }

    fn score(&self, pod: &Pod, node: &NodeInfo, _snapshot: &Snapshot) -> Result<i64, Status> {
        Ok(count_intolerable_prefer_no_schedule(
            &node.node.taints,
            &pod.tolerations,
        ))
    }

    /// [`Self::score`] for every node without a dynamic call per node.
    fn score_nodes(
        &self,
        pod: &Pod,
        nodes: &[NodeId],
        snapshot: &Snapshot,
        out: &mut Vec<NodeScore>,
    ) -> Result<(), Status> {
        // A node without taints has none to count: its record is not read.
        out.extend(nodes.iter().map(|&node| NodeScore {
            node,
            score: if snapshot.node_summary(node).has_taints {
                count_intolerable_prefer_no_schedule(
                    &snapshot.node(node).node.taints,
                    &pod.tolerations,
                )
            } else {
                0
            },
        }));
        Ok(())
    }

    fn normalize_scores(&self, _pod: &Pod, scores: &mut [NodeScore]) -> Status {
        default_normalize_score(MAX_NODE_SCORE, true, scores);
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::TaintEffect::{NoSchedule, PreferNoSchedule};
    use crate::api::TolerationOperator::{Equal, Exists};
    use crate::scheduler::testing::{node, pod, snapshot, taint, toleration};

    fn scores(tolerations: Vec<Toleration>, nodes: Vec<(&str, Vec<Taint>)>) -> Vec<i64> {
        let p = pod("pod1").tolerations(tolerations).obj();
        let store = snapshot(
            nodes
                .into_iter()
                .map(|(n, t)| node(n).taints(t).obj())
                .collect(),
            vec![],
        );
        let mut pl = TaintToleration;
        let ids: Vec<NodeId> = store.nodes.iter().map(|n| n.id).collect();
        assert!(pl.pre_score(&p, &ids, &store).is_success());
        let mut list: Vec<NodeScore> = store
            .nodes
            .iter()
            .map(|n| NodeScore {
                node: n.id,
                score: pl.score(&p, n, &store).unwrap(),
            })
            .collect();
        assert!(pl.normalize_scores(&p, &mut list).is_success());
        list.iter().map(|s| s.score).collect()
    }

    // taint_toleration_test.go TestTaintTolerationScore: every case of the upstream table.
    #[test]
    fn score_matches_upstream_table() {
        // "node with taints tolerated by the pod, gets a higher score than those node with intolerable taints"
        assert_eq!(
            scores(
                vec![toleration("foo", Equal, "bar", Some(PreferNoSchedule))],
                vec![
                    ("nodeA", vec![taint("foo", "bar", PreferNoSchedule)]),
                    ("nodeB", vec![taint("foo", "blah", PreferNoSchedule)]),
                ],
            ),
            [100, 0]
        );
        // "the nodes that all of their taints are tolerated by the pod, get the same score, no
        // matter how many tolerable taints a node has"
        assert_eq!(
            scores(
                vec![
                    toleration("cpu-type", Equal, "arm64", Some(PreferNoSchedule)),
                    toleration("disk-type", Equal, "ssd", Some(PreferNoSchedule)),
                ],
                vec![
                    ("nodeA", vec![]),
                    ("nodeB", vec![taint("cpu-type", "arm64", PreferNoSchedule)]),
                    (
                        "nodeC",
                        vec![
                            taint("cpu-type", "arm64", PreferNoSchedule),
                            taint("disk-type", "ssd", PreferNoSchedule)
                        ],
                    ),
                ],
            ),
            [100, 100, 100]
        );
        // "the more intolerable taints a node has, the lower score it gets."
        assert_eq!(
            scores(
                vec![toleration("foo", Equal, "bar", Some(PreferNoSchedule))],
                vec![
                    ("nodeA", vec![]),
                    ("nodeB", vec![taint("cpu-type", "arm64", PreferNoSchedule)]),
                    (
                        "nodeC",
                        vec![
                            taint("cpu-type", "arm64", PreferNoSchedule),
                            taint("disk-type", "ssd", PreferNoSchedule)
                        ],
                    ),
                ],
            ),
            [100, 50, 0]
        );
        // "only taints and tolerations that have effect PreferNoSchedule are checked by
        // taints-tolerations priority function"
        assert_eq!(
            scores(
                vec![
                    toleration("cpu-type", Equal, "arm64", Some(NoSchedule)),
                    toleration("disk-type", Equal, "ssd", Some(NoSchedule)),
                ],
                vec![
                    ("nodeA", vec![]),
                    ("nodeB", vec![taint("cpu-type", "arm64", NoSchedule)]),
                    (
                        "nodeC",
                        vec![
                            taint("cpu-type", "arm64", PreferNoSchedule),
                            taint("disk-type", "ssd", PreferNoSchedule)
                        ],
                    ),
                ],
            ),
            [100, 100, 0]
        );
        // "Default behaviour No taints and tolerations, lands on node with no taints"
        assert_eq!(
            scores(
                vec![],
                vec![
                    ("nodeA", vec![]),
                    ("nodeB", vec![taint("cpu-type", "arm64", PreferNoSchedule)])
                ]
            ),
            [100, 0]
        );
    }

    // taint_toleration_test.go TestTaintTolerationFilter: every case of the upstream table.
    #[test]
    fn filter_matches_upstream_table() {
        let untolerated = |k: &str, v: &str| {
            Status::unresolvable(format!("node(s) had untolerated taint {{{k}: {v}}}"))
        };
        let cases: Vec<(&str, Vec<Toleration>, Vec<Taint>, Status)> = vec![
            (
                "A pod having no tolerations can't be scheduled onto a node with nonempty taints",
                vec![],
                vec![taint("dedicated", "user1", NoSchedule)],
                untolerated("dedicated", "user1"),
            ),
            (
                "A pod which can be scheduled on a dedicated node assigned to user1 with effect NoSchedule",
                vec![toleration("dedicated", Equal, "user1", Some(NoSchedule))],
                vec![taint("dedicated", "user1", NoSchedule)],
                Status::success(),
            ),
            (
                "A pod which can't be scheduled on a dedicated node assigned to user2 with effect NoSchedule",
                vec![toleration("dedicated", Equal, "user2", Some(NoSchedule))],
                vec![taint("dedicated", "user1", NoSchedule)],
                untolerated("dedicated", "user1"),
            ),
            (
                "A pod can be scheduled onto the node, with a toleration uses operator Exists that tolerates the taints on the node",
                vec![toleration("foo", Exists, "", Some(NoSchedule))],
                vec![taint("foo", "bar", NoSchedule)],
                Status::success(),
            ),
            (
                "A pod has multiple tolerations, node has multiple taints, all the taints are tolerated, pod can be scheduled onto the node",
                vec![
                    toleration("dedicated", Equal, "user2", Some(NoSchedule)),
                    toleration("foo", Exists, "", Some(NoSchedule)),
                ],
                vec![
                    taint("dedicated", "user2", NoSchedule),
                    taint("foo", "bar", NoSchedule),
                ],
                Status::success(),
            ),
            (
                "A pod has a toleration that keys and values match the taint on the node, but (non-empty) effect doesn't match, can't be scheduled onto the node",
                vec![toleration("foo", Equal, "bar", Some(PreferNoSchedule))],
                vec![taint("foo", "bar", NoSchedule)],
                untolerated("foo", "bar"),
            ),
            (
                "The pod has a toleration that keys and values match the taint on the node, the effect of toleration is empty, and the effect of taint is NoSchedule. Pod can be scheduled onto the node",
                vec![toleration("foo", Equal, "bar", None)],
                vec![taint("foo", "bar", NoSchedule)],
                Status::success(),
            ),
            (
                "The pod has a toleration that key and value don't match the taint on the node, but the effect of taint on node is PreferNoSchedule. Pod can be scheduled onto the node",
                vec![toleration("dedicated", Equal, "user2", Some(NoSchedule))],
                vec![taint("dedicated", "user1", PreferNoSchedule)],
                Status::success(),
            ),
            (
                "The pod has no toleration, but the effect of taint on node is PreferNoSchedule. Pod can be scheduled onto the node",
                vec![],
                vec![taint("dedicated", "user1", PreferNoSchedule)],
                Status::success(),
            ),
        ];
        for (name, tolerations, taints, want) in cases {
            let store = snapshot(vec![node("nodeA").taints(taints).obj()], vec![]);
            let p = pod("pod1").tolerations(tolerations).obj();
            assert_eq!(
                TaintToleration.filter(&p, &store.nodes[0], &store),
                want,
                "{name}"
            );
        }
    }
}
