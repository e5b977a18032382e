//! NodeUnschedulable (upstream `pkg/scheduler/framework/plugins/nodeunschedulable`): a cordoned
//! node (`spec.unschedulable`) takes only pods that tolerate the
//! `node.kubernetes.io/unschedulable:NoSchedule` taint.

use serde_json::Value;

use crate::api::{NodeId, Pod, Taint, TaintEffect, tolerations_tolerate};
use crate::scheduler::framework::{ExtensionPoints, Plugin, Snapshot, Status, retain_passing};
use crate::store::NodeInfo;

pub const NAME: &str = "NodeUnschedulable";
/// Upstream `ErrReasonUnschedulable`.
pub const ERR_REASON_UNSCHEDULABLE: &str = "node(s) were unschedulable";
pub use crate::api::taints::TAINT_NODE_UNSCHEDULABLE;

#[derive(Debug, Default)]
pub struct NodeUnschedulable;

impl NodeUnschedulable {
    pub fn factory(_args: Option<&Value>) -> Result<Box<dyn Plugin>, String> {
        Ok(Box::new(NodeUnschedulable))
    }
}

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &str {
        NAME
    }

    fn extension_points(&self) -> ExtensionPoints {
        ExtensionPoints::FILTER
    }

    // Inlined into the framework's batch loop (`filter_nodes`), where the success path is a
    // single load; the cordoned case is out of line.
    #[inline]
    fn filter(&self, pod: &Pod, node: &NodeInfo, _snapshot: &Snapshot) -> Status {
        if !node.node.unschedulable {
            return Status::success();
        }
        cordoned(pod)
    }

    /// [`Self::filter`] over the nodes' summaries: a cordoned node is rare, so the pass reads
    /// one flag per node from the summary array.
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
            |node| !snapshot.node_summary(node).unschedulable,
            |_| cordoned(pod),
        );
    }
}

/// Filter on a cordoned node.
#[cold]
fn cordoned(pod: &Pod) -> Status {
    // "If pod tolerate unschedulable taint, it's also tolerate `node.Spec.Unschedulable`."
    let taint = Taint {
        key: TAINT_NODE_UNSCHEDULABLE.to_string(),
        value: String::new(),
        effect: TaintEffect::NoSchedule,
    };
    if tolerations_tolerate(&pod.tolerations, &taint) {
        Status::success()
    } else {
        Status::unresolvable(ERR_REASON_UNSCHEDULABLE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::TolerationOperator;
    use crate::scheduler::testing::{node, pod, snapshot, toleration};

    // node_unschedulable_test.go TestNodeUnschedulable: every case of the upstream table.
    #[test]
    fn filter_matches_upstream_table() {
        let cordoned = snapshot(vec![node("n").unschedulable().obj()], vec![]);
        let normal = snapshot(vec![node("n").obj()], vec![]);
        // "Does not schedule pod to unschedulable node (node.Spec.Unschedulable==true)"
        let p = pod("p").obj();
        assert_eq!(
            NodeUnschedulable.filter(&p, &cordoned.nodes[0], &cordoned),
            Status::unresolvable(ERR_REASON_UNSCHEDULABLE)
        );
        // "Schedule pod to normal node"
        assert!(
            NodeUnschedulable
                .filter(&p, &normal.nodes[0], &normal)
                .is_success()
        );
        // "Schedule pod with toleration to unschedulable node (node.Spec.Unschedulable==true)"
        let tolerating = pod("p")
            .tolerations(vec![toleration(
                TAINT_NODE_UNSCHEDULABLE,
                TolerationOperator::Equal,
                "",
                Some(TaintEffect::NoSchedule),
            )])
            .obj();
        assert!(
            NodeUnschedulable
                .filter(&tolerating, &cordoned.nodes[0], &cordoned)
                .is_success()
        );
    }
}
