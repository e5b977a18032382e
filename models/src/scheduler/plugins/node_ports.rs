//! NodePorts (upstream `pkg/scheduler/framework/plugins/nodeports/node_ports.go`): a node is
//! infeasible when one of the pod's host ports is already taken there.
//!
//! Upstream keeps `NodeInfo.UsedPorts`, a set of (host IP, protocol, port) updated as pods come
//! and go; kubesim reads the host ports of the pods on the node instead, which is the same set
//! (one difference: upstream's set forgets a port when any one of two pods sharing it leaves,
//! which only pods bound without the scheduler can arrange).

use serde_json::Value;

use crate::api::pod_scheduling::DEFAULT_BIND_ALL_HOST_IP;
use crate::api::{HostPort, Pod};
use crate::scheduler::framework::{ExtensionPoints, Plugin, Snapshot, Status};
use crate::store::NodeInfo;

pub const NAME: &str = "NodePorts";
/// Upstream `ErrReason`.
pub const ERR_REASON: &str = "node(s) didn't have free ports for the requested pod ports";

/// Upstream `HostPortInfo.CheckConflict` for one wanted port against the ports in use: a wanted
/// `0.0.0.0` conflicts with the (protocol, port) on any IP; a specific IP conflicts with the
/// same IP or `0.0.0.0`. Ports are already sanitized (`""` → `0.0.0.0`, `""` → TCP).
pub fn conflicts<'a>(wanted: &HostPort, used: impl IntoIterator<Item = &'a HostPort>) -> bool {
    if wanted.port <= 0 {
        return false;
    }
    used.into_iter().any(|u| {
        u.port == wanted.port
            && u.protocol == wanted.protocol
            && (wanted.host_ip == DEFAULT_BIND_ALL_HOST_IP
                || u.host_ip == DEFAULT_BIND_ALL_HOST_IP
                || u.host_ip == wanted.host_ip)
    })
}

/// Upstream `fitsPorts`.
pub fn fits_ports(wanted: &[HostPort], node: &NodeInfo, snapshot: &Snapshot) -> bool {
    wanted.iter().all(|w| {
        !conflicts(
            w,
            node.pods
                .iter()
                .flat_map(|&p| snapshot.pod(p).pod.host_ports.iter()),
        )
    })
}

#[derive(Debug, Default)]
pub struct NodePorts;

impl NodePorts {
    pub fn factory(_args: Option<&Value>) -> Result<Box<dyn Plugin>, String> {
        Ok(Box::new(NodePorts))
    }
}

impl Plugin for NodePorts {
    fn name(&self) -> &str {
        NAME
    }

    fn extension_points(&self) -> ExtensionPoints {
        ExtensionPoints::PRE_FILTER | ExtensionPoints::FILTER
    }

    /// "Skip if a pod has no ports."
    fn pre_filter(&mut self, pod: &Pod, _snapshot: &Snapshot) -> Status {
        if pod.host_ports.is_empty() {
            return Status::skip();
        }
        Status::success()
    }

    fn filter(&self, pod: &Pod, node: &NodeInfo, snapshot: &Snapshot) -> Status {
        if fits_ports(&pod.host_ports, node, snapshot) {
            Status::success()
        } else {
            Status::unschedulable(ERR_REASON)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Protocol;
    use crate::scheduler::testing::{node, pod, snapshot};

    /// Upstream test helper `newPod(host, "PROTO/IP/PORT", …)`.
    fn ports(specs: &[&str]) -> Vec<HostPort> {
        specs
            .iter()
            .map(|s| {
                let parts: Vec<&str> = s.split('/').collect();
                let protocol = Protocol::parse(parts[0]).unwrap();
                HostPort::new(parts[1], protocol, parts[2].parse().unwrap())
            })
            .collect()
    }

    fn with_ports(specs: &[&str]) -> Pod {
        let mut p = pod("p").obj();
        p.host_ports = ports(specs);
        p
    }

    // node_ports_test.go TestNodePorts: every case of the upstream table.
    #[test]
    fn filter_matches_upstream_table() {
        let cases: &[(&str, &[&str], &[&str], bool)] = &[
            (
                "other port",
                &["UDP/127.0.0.1/8080"],
                &["UDP/127.0.0.1/9090"],
                true,
            ),
            (
                "same udp port",
                &["UDP/127.0.0.1/8080"],
                &["UDP/127.0.0.1/8080"],
                false,
            ),
            (
                "same tcp port",
                &["TCP/127.0.0.1/8080"],
                &["TCP/127.0.0.1/8080"],
                false,
            ),
            (
                "different host ip",
                &["TCP/127.0.0.1/8080"],
                &["TCP/127.0.0.2/8080"],
                true,
            ),
            (
                "different protocol",
                &["UDP/127.0.0.1/8080"],
                &["TCP/127.0.0.1/8080"],
                true,
            ),
            (
                "second udp port conflict",
                &["UDP/127.0.0.1/8000", "UDP/127.0.0.1/8080"],
                &["UDP/127.0.0.1/8080"],
                false,
            ),
            (
                "first tcp port conflict",
                &["TCP/127.0.0.1/8001", "UDP/127.0.0.1/8080"],
                &["TCP/127.0.0.1/8001", "UDP/127.0.0.1/8081"],
                false,
            ),
            (
                "first tcp port conflict due to 0.0.0.0 hostIP",
                &["TCP/0.0.0.0/8001"],
                &["TCP/127.0.0.1/8001"],
                false,
            ),
            (
                "TCP hostPort conflict due to 0.0.0.0 hostIP",
                &["TCP/10.0.10.10/8001", "TCP/0.0.0.0/8001"],
                &["TCP/127.0.0.1/8001"],
                false,
            ),
            (
                "second tcp port conflict to 0.0.0.0 hostIP",
                &["TCP/127.0.0.1/8001"],
                &["TCP/0.0.0.0/8001"],
                false,
            ),
            (
                "second different protocol",
                &["UDP/127.0.0.1/8001"],
                &["TCP/0.0.0.0/8001"],
                true,
            ),
            (
                "UDP hostPort conflict due to 0.0.0.0 hostIP",
                &["UDP/127.0.0.1/8001"],
                &["TCP/0.0.0.0/8001", "UDP/0.0.0.0/8001"],
                false,
            ),
        ];
        for (name, wanted, existing, fits) in cases {
            let store = snapshot(vec![node("m1").obj()], vec![(with_ports(existing), "m1")]);
            let p = with_ports(wanted);
            let mut pl = NodePorts;
            assert!(pl.pre_filter(&p, &store).is_success(), "{name}");
            let want = if *fits {
                Status::success()
            } else {
                Status::unschedulable(ERR_REASON)
            };
            assert_eq!(pl.filter(&p, &store.nodes[0], &store), want, "{name}");
        }
        // "skip filter": a pod without ports skips the plugin.
        let store = snapshot(vec![node("m1").obj()], vec![]);
        assert!(NodePorts.pre_filter(&pod("p").obj(), &store).is_skip());
    }

    #[test]
    fn a_port_freed_by_a_deleted_pod_is_free_again() {
        let mut store = snapshot(
            vec![node("m1").obj()],
            vec![(with_ports(&["TCP//80"]), "m1")],
        );
        let p = with_ports(&["TCP//80"]);
        assert!(!NodePorts.filter(&p, &store.nodes[0], &store).is_success());
        let existing = store.nodes[0].pods[0];
        store.delete_pod(existing, sim_core::SimTime::ZERO);
        assert!(NodePorts.filter(&p, &store.nodes[0], &store).is_success());
    }
}
