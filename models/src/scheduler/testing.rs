//! Builders for scheduler tests, in the spirit of upstream `pkg/scheduler/testing`
//! (`st.MakePod()`, `st.MakeNode()`, `cache.NewSnapshot`).

use sim_core::SimTime;

use crate::api::{
    Labels, Node, NodeAffinity, Pod, Quantity, Requirement, ResourceList, ResourceName, Taint,
    TaintEffect, Toleration, TolerationOperator,
};
use crate::store::Store;

/// Upstream `schedutil.DefaultMilliCPURequest` / `DefaultMemoryRequest` (200Mi).
const DEFAULT_MILLI_CPU: i64 = 100;
const DEFAULT_MEMORY: i64 = 200 * 1024 * 1024;

fn amount(name: &str, quantity: &str) -> (ResourceName, i64) {
    let resource = ResourceName::parse(name);
    let q = Quantity::parse(quantity).expect("test quantity");
    let value = resource.amount(&q);
    (resource, value)
}

pub fn resources(pairs: &[(&str, &str)]) -> ResourceList {
    let mut list = ResourceList::default();
    for (name, quantity) in pairs {
        let (resource, value) = amount(name, quantity);
        list.set(&resource, value);
    }
    list
}

/// `st.MakePod()`: every `req`/`container` call adds one container, as upstream's `Req` does.
pub struct PodBuilder {
    pod: Pod,
    containers: Vec<ResourceList>,
    has_cpu: Vec<bool>,
    has_memory: Vec<bool>,
}

pub fn pod(name: &str) -> PodBuilder {
    PodBuilder {
        pod: Pod {
            name: name.to_string(),
            ..Pod::default()
        },
        containers: Vec::new(),
        has_cpu: Vec::new(),
        has_memory: Vec::new(),
    }
}

impl PodBuilder {
    pub fn req(mut self, pairs: &[(&str, &str)]) -> Self {
        self.has_cpu.push(pairs.iter().any(|(n, _)| *n == "cpu"));
        self.has_memory
            .push(pairs.iter().any(|(n, _)| *n == "memory"));
        self.containers.push(resources(pairs));
        self
    }

    /// A container without requests (`st.MakePod().Container("c")`).
    pub fn container(self) -> Self {
        self.req(&[])
    }

    pub fn node_selector(mut self, pairs: &[(&str, &str)]) -> Self {
        self.pod.node_selector = pairs
            .iter()
            .map(|(k, v)| {
                Requirement::new(*k, crate::api::Operator::Equals, vec![(*v).to_string()])
            })
            .collect();
        self
    }

    pub fn affinity(mut self, affinity: NodeAffinity) -> Self {
        self.pod.node_affinity = Some(Box::new(affinity));
        self
    }

    pub fn tolerations(mut self, tolerations: Vec<Toleration>) -> Self {
        self.pod.tolerations = tolerations.into();
        self
    }

    pub fn scheduler_name(mut self, name: &str) -> Self {
        self.pod.scheduler_name = name.to_string();
        self
    }

    pub fn obj(mut self) -> Pod {
        let mut requests = ResourceList {
            pods: 1,
            ..ResourceList::default()
        };
        let (mut cpu, mut memory) = (0, 0);
        for (i, c) in self.containers.iter().enumerate() {
            requests.add(c);
            cpu += if self.has_cpu[i] {
                c.cpu_milli
            } else {
                DEFAULT_MILLI_CPU
            };
            memory += if self.has_memory[i] {
                c.memory
            } else {
                DEFAULT_MEMORY
            };
        }
        self.pod.requests = requests;
        self.pod.non_zero_cpu_milli = cpu;
        self.pod.non_zero_memory = memory;
        self.pod
    }
}

pub struct NodeBuilder {
    node: Node,
}

pub fn node(name: &str) -> NodeBuilder {
    NodeBuilder {
        node: Node {
            name: name.to_string(),
            ..Node::default()
        },
    }
}

impl NodeBuilder {
    /// `st.MakeNode().Capacity(...)`: capacity and allocatable alike.
    pub fn capacity(mut self, pairs: &[(&str, &str)]) -> Self {
        self.node.allocatable = resources(pairs);
        self
    }

    pub fn labels(mut self, pairs: &[(&str, &str)]) -> Self {
        self.node.labels = pairs.iter().copied().collect::<Labels>();
        self
    }

    pub fn taints(mut self, taints: Vec<Taint>) -> Self {
        self.node.taints = taints;
        self
    }

    pub fn unschedulable(mut self) -> Self {
        self.node.unschedulable = true;
        self
    }

    pub fn obj(self) -> Node {
        self.node
    }
}

pub fn taint(key: &str, value: &str, effect: TaintEffect) -> Taint {
    Taint {
        key: key.into(),
        value: value.into(),
        effect,
    }
}

pub fn toleration(
    key: &str,
    operator: TolerationOperator,
    value: &str,
    effect: Option<TaintEffect>,
) -> Toleration {
    Toleration {
        key: key.into(),
        operator,
        value: value.into(),
        effect,
        toleration_seconds: None,
    }
}

/// `cache.NewSnapshot(existingPods, nodes)`: each pod is bound to the node it names.
pub fn snapshot(nodes: Vec<Node>, pods: Vec<(Pod, &str)>) -> Store {
    let mut store = Store::new();
    for n in nodes {
        store.add_node(n);
    }
    for (i, (mut p, node_name)) in pods.into_iter().enumerate() {
        p.name = format!("existing-{i}");
        let node = store.node_id(node_name).expect("pod's node exists");
        let id = store.add_pod(p, SimTime::ZERO);
        store.bind(id, node, SimTime::ZERO);
    }
    store
}
