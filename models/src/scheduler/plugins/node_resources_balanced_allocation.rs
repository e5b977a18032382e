//! NodeResourcesBalancedAllocation (upstream
//! `pkg/scheduler/framework/plugins/noderesources/balanced_allocation.go`): favours nodes whose
//! resource fractions (requested with this pod / allocatable) are close to each other.
//!
//! Unlike the Fit strategies it scores actual requests (`useRequested: true`): containers without
//! requests count zero, not 100m / 200Mi. A pod that requests none of the resources is skipped
//! in PreScore ("to prevent a large number of pods from being scheduled to the same node",
//! kubernetes#129138).

use serde_json::Value;

use crate::api::{NodeId, Pod, ResourceName};
use crate::scheduler::config::NodeResourcesBalancedAllocationArgs;
use crate::scheduler::framework::{ExtensionPoints, NodeScore, Plugin, Snapshot, Status};
use crate::scheduler::plugins::resource_allocation::{
    PodTerms, ResourceAllocationScorer, ResourceWeight, Strategy,
};
use crate::store::NodeInfo;

pub const NAME: &str = "NodeResourcesBalancedAllocation";

#[derive(Debug)]
pub struct NodeResourcesBalancedAllocation {
    scorer: ResourceAllocationScorer,
    /// Cycle state: the pod's request per resource.
    pod_requests: Vec<i64>,
    /// Cycle state: what scoring a node needs of the pod, from `pod_requests`.
    pod_terms: PodTerms,
    best_effort: bool,
}

impl NodeResourcesBalancedAllocation {
    pub fn new(args: &NodeResourcesBalancedAllocationArgs) -> Self {
        let resources = args
            .resources
            .iter()
            .map(|r| ResourceWeight {
                resource: ResourceName::parse(&r.name),
                weight: r.weight,
            })
            .collect();
        NodeResourcesBalancedAllocation {
            scorer: ResourceAllocationScorer {
                resources,
                use_requested: true,
                strategy: Strategy::Balanced,
            },
            pod_requests: Vec::new(),
            pod_terms: PodTerms::default(),
            best_effort: false,
        }
    }

    pub fn factory(args: Option<&Value>) -> Result<Box<dyn Plugin>, String> {
        let args = NodeResourcesBalancedAllocationArgs::parse(args).map_err(|e| e.to_string())?;
        Ok(Box::new(NodeResourcesBalancedAllocation::new(&args)))
    }
}

impl Plugin for NodeResourcesBalancedAllocation {
    fn name(&self) -> &str {
        NAME
    }

    fn extension_points(&self) -> ExtensionPoints {
        ExtensionPoints::PRE_SCORE | ExtensionPoints::SCORE
    }

    fn pre_score(&mut self, pod: &Pod, _feasible: &[NodeId], _snapshot: &Snapshot) -> Status {
        self.scorer.pod_requests(pod, &mut self.pod_requests);
        self.scorer.prepare(&self.pod_requests, &mut self.pod_terms);
        // Upstream `isBestEffortPod`: every configured request is zero.
        self.best_effort = self.pod_requests.iter().all(|&r| r == 0);
        if self.best_effort {
            Status::skip()
        } else {
            Status::success()
        }
    }

    fn score(&self, _pod: &Pod, node: &NodeInfo, _snapshot: &Snapshot) -> Result<i64, Status> {
        // Upstream's Score without PreScore state returns 0 for a best-effort pod.
        if self.best_effort {
            return Ok(0);
        }
        self.scorer.score(node, &self.pod_requests)
    }

    fn score_nodes(
        &self,
        _pod: &Pod,
        nodes: &[NodeId],
        snapshot: &Snapshot,
        out: &mut Vec<NodeScore>,
    ) -> Result<(), Status> {
        if self.best_effort {
            out.extend(nodes.iter().map(|&node| NodeScore { node, score: 0 }));
            return Ok(());
        }
        self.scorer
            .score_nodes(&self.pod_terms, nodes, snapshot, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::config::ResourceSpec;
    use crate::scheduler::framework::Code;
    use crate::scheduler::testing::{node, pod, snapshot};

    type Resources<'a> = &'a [(&'a str, &'a str)];

    /// balanced_allocation_test.go pod specs.
    fn cpu_and_memory() -> Pod {
        pod("p")
            .req(&[("cpu", "1000m"), ("memory", "2000")])
            .req(&[("cpu", "2000m"), ("memory", "3000")])
            .obj()
    }
    fn cpu_only() -> Pod {
        pod("p")
            .req(&[("cpu", "1000m"), ("memory", "0")])
            .req(&[("cpu", "2000m"), ("memory", "0")])
            .obj()
    }
    fn cpu_and_memory_and_gpu() -> Pod {
        pod("p")
            .req(&[("cpu", "1000m"), ("memory", "2000")])
            .req(&[
                ("cpu", "2000m"),
                ("memory", "3000"),
                ("nvidia.com/gpu", "3"),
            ])
            .obj()
    }

    /// test_util.go `makeNode(name, milliCPU, memory, extended)`.
    fn make_node(
        milli_cpu: &'static str,
        memory: &'static str,
        gpu: Option<&'static str>,
    ) -> Vec<(&'static str, &'static str)> {
        let mut v = vec![("cpu", milli_cpu), ("memory", memory)];
        v.extend(gpu.map(|g| ("nvidia.com/gpu", g)));
        v
    }

    fn args(resources: &[&str]) -> NodeResourcesBalancedAllocationArgs {
        NodeResourcesBalancedAllocationArgs {
            resources: resources
                .iter()
                .map(|n| ResourceSpec {
                    name: (*n).into(),
                    weight: 1,
                })
                .collect(),
        }
    }

    fn run(
        a: &NodeResourcesBalancedAllocationArgs,
        p: &Pod,
        nodes: &[(&str, Resources)],
        existing: Vec<(Pod, &str)>,
        run_pre_score: bool,
    ) -> Result<Vec<i64>, Code> {
        let store = snapshot(
            nodes
                .iter()
                .map(|(n, c)| node(n).capacity(c).obj())
                .collect(),
            existing,
        );
        let mut pl = NodeResourcesBalancedAllocation::new(a);
        if run_pre_score {
            let ids: Vec<NodeId> = store.nodes.iter().map(|n| n.id).collect();
            let s = pl.pre_score(p, &ids, &store);
            if !s.is_success() {
                return Err(s.code);
            }
        } else {
            // Upstream's Score recomputes the requests without PreScore state.
            pl.scorer.pod_requests(p, &mut pl.pod_requests);
        }
        Ok(store
            .nodes
            .iter()
            .map(|n| pl.score(p, n, &store).unwrap())
            .collect())
    }

    // balanced_allocation_test.go TestNodeResourcesBalancedAllocation: every case of the upstream
    // table except the two DRA extended-resource cases (DRA is not modelled).
    #[test]
    fn matches_upstream_table() {
        let default = args(&["cpu", "memory"]);
        let with_gpu = args(&["cpu", "memory", "nvidia.com/gpu"]);
        let (n4000, n6000) = (
            make_node("4000m", "10000", None),
            make_node("6000m", "10000", None),
        );
        let n10k = make_node("10000m", "20000", None);
        let existing = || vec![(cpu_only(), "node1"), (cpu_and_memory(), "node2")];
        // "nothing scheduled, nothing requested, skip in PreScore"
        assert_eq!(
            run(
                &default,
                &pod("p").obj(),
                &[("node1", &n4000), ("node2", &n4000)],
                vec![],
                true
            ),
            Err(Code::Skip)
        );
        // "nothing scheduled, resources requested, differently sized nodes"
        assert_eq!(
            run(
                &default,
                &cpu_and_memory(),
                &[("node1", &n4000), ("node2", &n6000)],
                vec![],
                true
            ),
            Ok(vec![87, 100])
        );
        // "resources requested, pods scheduled with resources"
        assert_eq!(
            run(
                &default,
                &cpu_and_memory(),
                &[("node1", &n10k), ("node2", &n10k)],
                existing(),
                true
            ),
            Ok(vec![82, 95])
        );
        // "resources requested, pods scheduled with resources, differently sized nodes"
        let n50k = make_node("10000m", "50000", None);
        assert_eq!(
            run(
                &default,
                &cpu_and_memory(),
                &[("node1", &n10k), ("node2", &n50k)],
                existing(),
                true
            ),
            Ok(vec![82, 80])
        );
        // "requested resources at node capacity"
        let n6000 = make_node("6000m", "10000", None);
        assert_eq!(
            run(
                &default,
                &cpu_only(),
                &[("node1", &n6000), ("node2", &n6000)],
                existing(),
                true
            ),
            Ok(vec![50, 75])
        );
        // "include scalar resource on a node for balanced resource allocation"
        let gpu_node = make_node("3500m", "40000", Some("8"));
        let gpu_pod = pod("p")
            .req(&[("memory", "0"), ("nvidia.com/gpu", "1")])
            .obj();
        assert_eq!(
            run(
                &with_gpu,
                &gpu_pod,
                &[("node1", &gpu_node), ("node2", &gpu_node)],
                vec![
                    (cpu_and_memory(), "node2"),
                    (cpu_and_memory_and_gpu(), "node1")
                ],
                true
            ),
            Ok(vec![70, 65])
        );
        // "node without the scalar resource should skip the scalar resource"
        let plain = make_node("3500m", "40000", None);
        assert_eq!(
            run(
                &with_gpu,
                &cpu_and_memory(),
                &[("node1", &gpu_node), ("node2", &plain)],
                vec![],
                true
            ),
            Ok(vec![63, 63])
        );
        // "resources requested, pods scheduled with resources if PreScore not called"
        assert_eq!(
            run(
                &default,
                &cpu_and_memory(),
                &[("node1", &n10k), ("node2", &n10k)],
                existing(),
                false
            ),
            Ok(vec![82, 95])
        );
    }
}
