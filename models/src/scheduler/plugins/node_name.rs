//! NodeName (upstream `pkg/scheduler/framework/plugins/nodename/node_name.go`): a pod that names
//! a node in `spec.nodeName` fits only that node.

use serde_json::Value;

use crate::api::Pod;
use crate::scheduler::framework::{ExtensionPoints, Plugin, Snapshot, Status};
use crate::store::NodeInfo;

pub const NAME: &str = "NodeName";
/// Upstream `ErrReason`.
pub const ERR_REASON: &str = "node(s) didn't match the requested node name";

/// Upstream `nodename.Fits`: no node name, or the node's.
pub fn fits(pod: &Pod, node: &NodeInfo) -> bool {
    pod.node_name
        .as_deref()
        .is_none_or(|n| n.is_empty() || n == node.name())
}

#[derive(Debug, Default)]
pub struct NodeName;

impl NodeName {
    pub fn factory(_args: Option<&Value>) -> Result<Box<dyn Plugin>, String> {
        Ok(Box::new(NodeName))
    }
}

impl Plugin for NodeName {
    fn name(&self) -> &str {
        NAME
    }

    fn extension_points(&self) -> ExtensionPoints {
        ExtensionPoints::FILTER
    }

    #[inline]
    fn filter(&self, pod: &Pod, node: &NodeInfo, _snapshot: &Snapshot) -> Status {
        if fits(pod, node) {
            Status::success()
        } else {
            Status::unresolvable(ERR_REASON)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::testing::{node, pod, snapshot};

    // node_name_test.go TestNodeName: "no host specified", "host matches", "host doesn't match".
    #[test]
    fn filter_matches_upstream_table() {
        let store = snapshot(vec![node("foo").obj()], vec![]);
        let info = &store.nodes[0];
        assert!(NodeName.filter(&pod("p").obj(), info, &store).is_success());
        let mut on_foo = pod("p").obj();
        on_foo.node_name = Some("foo".into());
        assert!(NodeName.filter(&on_foo, info, &store).is_success());
        let mut on_bar = pod("p").obj();
        on_bar.node_name = Some("bar".into());
        assert_eq!(
            NodeName.filter(&on_bar, info, &store),
            Status::unresolvable(ERR_REASON)
        );
    }
}
