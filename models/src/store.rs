//! The object store: every node and pod of the run, indexed by dense typed ids.
//!
//! The scheduler's snapshot is the store itself: a scheduling cycle runs inside one event
//! handler, so nothing can change under it, and keeping the per-node aggregates
//! (`requested`, `non_zero_requested`) up to date on bind/unbind is what makes filtering cheap.

use std::collections::BTreeMap;

use sim_core::SimTime;

use crate::api::{Node, NodeId, Pod, PodId, PodPhase, ResourceList};

/// A node plus what the scheduler needs to know about the pods on it
/// (upstream `framework.NodeInfo`).
#[derive(Clone, Debug)]
pub struct NodeInfo {
    pub id: NodeId,
    pub node: Node,
    /// Sum of the requests of the pods assigned to this node (`NodeInfo.Requested`).
    pub requested: ResourceList,
    /// Sum of non-zero CPU/memory requests (`NodeInfo.NonZeroRequested`), for scoring.
    pub non_zero_requested_cpu_milli: i64,
    pub non_zero_requested_memory: i64,
    /// Pods assigned to this node, in assignment order.
    pub pods: Vec<PodId>,
    /// False once the node is gone (deleted or crashed); kept so ids stay dense.
    pub exists: bool,
}

impl NodeInfo {
    pub fn name(&self) -> &str {
        &self.node.name
    }
}

/// A pod plus its lifecycle in this run.
#[derive(Clone, Debug)]
pub struct PodRecord {
    pub id: PodId,
    pub pod: Pod,
    pub phase: PodPhase,
    pub node: Option<NodeId>,
    pub created_at: SimTime,
    pub scheduled_at: Option<SimTime>,
    pub running_at: Option<SimTime>,
    /// Set when the pod is deleted; the record stays for reports.
    pub deleted_at: Option<SimTime>,
}

impl PodRecord {
    pub fn is_active(&self) -> bool {
        self.deleted_at.is_none()
    }
}

#[derive(Clone, Debug, Default)]
pub struct Store {
    pub nodes: Vec<NodeInfo>,
    pub pods: Vec<PodRecord>,
    node_by_name: BTreeMap<String, NodeId>,
    pod_by_key: BTreeMap<(String, String), PodId>,
}

impl Store {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_node(&mut self, node: Node) -> NodeId {
        let id = NodeId(u32::try_from(self.nodes.len()).expect("fewer than 2^32 nodes"));
        self.node_by_name.insert(node.name.clone(), id);
        self.nodes.push(NodeInfo {
            id,
            node,
            requested: ResourceList::default(),
            non_zero_requested_cpu_milli: 0,
            non_zero_requested_memory: 0,
            pods: Vec::new(),
            exists: true,
        });
        id
    }

    pub fn add_pod(&mut self, pod: Pod, now: SimTime) -> PodId {
        let id = PodId(u32::try_from(self.pods.len()).expect("fewer than 2^32 pods"));
        self.pod_by_key.insert((pod.namespace.clone(), pod.name.clone()), id);
        self.pods.push(PodRecord {
            id,
            pod,
            phase: PodPhase::Pending,
            node: None,
            created_at: now,
            scheduled_at: None,
            running_at: None,
            deleted_at: None,
        });
        id
    }

    pub fn node(&self, id: NodeId) -> &NodeInfo {
        &self.nodes[id.index()]
    }

    pub fn pod(&self, id: PodId) -> &PodRecord {
        &self.pods[id.index()]
    }

    pub fn pod_mut(&mut self, id: PodId) -> &mut PodRecord {
        &mut self.pods[id.index()]
    }

    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.node_by_name.get(name).copied()
    }

    /// Finds a pod by `name` or `namespace/name`.
    pub fn pod_id(&self, name: &str) -> Option<PodId> {
        let (ns, n) = name.split_once('/').unwrap_or(("default", name));
        self.pod_by_key.get(&(ns.to_string(), n.to_string())).copied()
    }

    /// Assigns a pod to a node and accounts its requests (upstream `NodeInfo.AddPod`).
    pub fn bind(&mut self, pod: PodId, node: NodeId, now: SimTime) {
        let record = &mut self.pods[pod.index()];
        debug_assert!(record.node.is_none(), "pod bound twice");
        record.node = Some(node);
        record.scheduled_at = Some(now);
        let info = &mut self.nodes[node.index()];
        info.requested.add(&record.pod.requests);
        info.non_zero_requested_cpu_milli += record.pod.non_zero_cpu_milli;
        info.non_zero_requested_memory += record.pod.non_zero_memory;
        info.pods.push(pod);
    }

    /// Deletes a pod, releasing what it held on its node (upstream `NodeInfo.RemovePod`).
    pub fn delete_pod(&mut self, pod: PodId, now: SimTime) {
        let record = &mut self.pods[pod.index()];
        if record.deleted_at.is_some() {
            return;
        }
        record.deleted_at = Some(now);
        self.pod_by_key.remove(&(record.pod.namespace.clone(), record.pod.name.clone()));
        if let Some(node) = record.node {
            let info = &mut self.nodes[node.index()];
            info.requested.sub(&record.pod.requests);
            info.non_zero_requested_cpu_milli -= record.pod.non_zero_cpu_milli;
            info.non_zero_requested_memory -= record.pod.non_zero_memory;
            info.pods.retain(|p| *p != pod);
        }
    }

    /// Nodes that exist, in id order (the scheduler's node list order).
    pub fn live_nodes(&self) -> impl Iterator<Item = &NodeInfo> {
        self.nodes.iter().filter(|n| n.exists)
    }

    pub fn active_pods(&self) -> impl Iterator<Item = &PodRecord> {
        self.pods.iter().filter(|p| p.is_active())
    }
}
