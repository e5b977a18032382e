//! NodeResourcesFit (upstream `pkg/scheduler/framework/plugins/noderesources/fit.go`): a node
//! fits when it has room for the pod's requests, and is scored with the configured strategy
//! (LeastAllocated by default, MostAllocated, RequestedToCapacityRatio).

use serde_json::Value;

use crate::api::{NodeId, Pod, ResourceList, ResourceName};
use crate::scheduler::config::{
    MAX_CUSTOM_PRIORITY_SCORE, NodeResourcesFitArgs, ScoringStrategyType,
};
use crate::scheduler::framework::{
    Code, ExtensionPoints, MAX_NODE_SCORE, NodeScore, Plugin, Snapshot, Status, retain_passing,
};
use crate::scheduler::plugins::helper::FunctionShapePoint;
use crate::scheduler::plugins::resource_allocation::{
    PodTerms, ResourceAllocationScorer, ResourceWeight, Strategy, is_extended_resource_name,
    is_scalar_resource_name,
};
use crate::store::{NodeInfo, NodeSummary};

pub const NAME: &str = "NodeResourcesFit";

/// Upstream `InsufficientResource`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InsufficientResource {
    pub resource: ResourceName,
    pub reason: String,
    pub requested: i64,
    pub used: i64,
    pub capacity: i64,
    /// The request exceeds the node's allocatable even with no pods on it: preemption cannot
    /// help.
    pub unresolvable: bool,
}

/// Whether a request without extended entries fits: `fits_request` would find nothing short.
/// The answer on almost every node, so Filter checks it first with plain comparisons and only
/// builds the reasons (`fits_request`) when this says no. Always `false` with extended entries.
#[inline]
fn fits_without_scalars(request: &ResourceList, node: &NodeInfo) -> bool {
    let alloc = &node.node.allocatable;
    let used = &node.requested;
    let fits =
        |req: i64, used: i64, capacity: i64| req <= 0 || req <= capacity.saturating_sub(used);
    let pods = i64::try_from(node.pods.len()).unwrap_or(i64::MAX);
    request.extended.is_empty()
        && pods.saturating_add(1) <= alloc.pods
        && fits(request.cpu_milli, used.cpu_milli, alloc.cpu_milli)
        && fits(request.memory, used.memory, alloc.memory)
        && fits(
            request.ephemeral_storage,
            used.ephemeral_storage,
            alloc.ephemeral_storage,
        )
}

/// [`fits_without_scalars`] from the node's summary.
#[inline]
fn summary_fits_without_scalars(request: &ResourceList, node: &NodeSummary) -> bool {
    let fits =
        |req: i64, used: i64, capacity: i64| req <= 0 || req <= capacity.saturating_sub(used);
    request.extended.is_empty()
        && i64::from(node.pod_count).saturating_add(1) <= node.allocatable_pods
        && fits(
            request.cpu_milli,
            node.requested_cpu_milli,
            node.allocatable_cpu_milli,
        )
        && fits(
            request.memory,
            node.requested_memory,
            node.allocatable_memory,
        )
        && fits(
            request.ephemeral_storage,
            node.requested_ephemeral_storage,
            node.allocatable_ephemeral_storage,
        )
}

/// Upstream `fitsRequest`: every resource the node is short of, in upstream's order (pods, cpu,
/// memory, ephemeral-storage, then scalar resources — by name here, in map order upstream).
/// `ignored` and `ignored_groups` must be sorted.
pub fn fits_request(
    request: &ResourceList,
    node: &NodeInfo,
    ignored: &[String],
    ignored_groups: &[String],
) -> Vec<InsufficientResource> {
    let mut out = Vec::new();
    let alloc = &node.node.allocatable;
    let used = &node.requested;
    let pods = i64::try_from(node.pods.len()).unwrap_or(i64::MAX);
    if pods.saturating_add(1) > alloc.pods {
        out.push(InsufficientResource {
            resource: ResourceName::Pods,
            reason: "Too many pods".into(),
            requested: 1,
            used: pods,
            capacity: alloc.pods,
            unresolvable: false,
        });
    }
    // Upstream's early return for a pod without requests: scalar entries count even when 0.
    if request.cpu_milli == 0
        && request.memory == 0
        && request.ephemeral_storage == 0
        && !request
            .extended
            .iter()
            .any(|(n, _)| is_scalar_resource_name(n))
    {
        return out;
    }
    // Reasons are built only for resources that do not fit.
    let mut check = |resource: ResourceName, req: i64, used: i64, capacity: i64| {
        if req > 0 && req > capacity.saturating_sub(used) {
            let reason = match &resource {
                ResourceName::Cpu => "Insufficient cpu".to_string(),
                ResourceName::Memory => "Insufficient memory".to_string(),
                ResourceName::EphemeralStorage => "Insufficient ephemeral-storage".to_string(),
                other => format!("Insufficient {other}"),
            };
            out.push(InsufficientResource {
                resource,
                reason,
                requested: req,
                used,
                capacity,
                unresolvable: req > capacity,
            });
        }
    };
    check(
        ResourceName::Cpu,
        request.cpu_milli,
        used.cpu_milli,
        alloc.cpu_milli,
    );
    check(
        ResourceName::Memory,
        request.memory,
        used.memory,
        alloc.memory,
    );
    check(
        ResourceName::EphemeralStorage,
        request.ephemeral_storage,
        used.ephemeral_storage,
        alloc.ephemeral_storage,
    );
    for (name, quantity) in &request.extended {
        // framework.Resource keeps only scalar resources; a zero request is skipped.
        if *quantity == 0 || !is_scalar_resource_name(name) {
            continue;
        }
        if is_extended_resource_name(name) {
            let group = name.split('/').next().unwrap_or("");
            if ignored.binary_search(name).is_ok()
                || (!ignored_groups.is_empty()
                    && ignored_groups
                        .binary_search_by(|g| g.as_str().cmp(group))
                        .is_ok())
            {
                continue;
            }
        }
        let (used, capacity) = (used.extended_amount(name), alloc.extended_amount(name));
        if *quantity > capacity.saturating_sub(used) {
            check(
                ResourceName::Extended(name.clone()),
                *quantity,
                used,
                capacity,
            );
        }
    }
    out
}

#[derive(Debug)]
pub struct NodeResourcesFit {
    ignored_resources: Vec<String>,
    ignored_resource_groups: Vec<String>,
    scorer: ResourceAllocationScorer,
    /// Cycle state: the pod's request per scoring resource (upstream `preScoreState`).
    pod_requests: Vec<i64>,
    /// Cycle state: what scoring a node needs of the pod, from `pod_requests`.
    pod_terms: PodTerms,
}

/// The scorer upstream's `nodeResourceStrategyTypeMap` builds for the arguments.
pub fn scorer_for(args: &NodeResourcesFitArgs) -> ResourceAllocationScorer {
    let strategy = &args.scoring_strategy;
    let resources = strategy
        .resources
        .iter()
        .map(|r| ResourceWeight {
            resource: ResourceName::parse(&r.name),
            weight: r.weight,
        })
        .collect();
    let strategy = match strategy.type_ {
        ScoringStrategyType::LeastAllocated => Strategy::LeastAllocated,
        ScoringStrategyType::MostAllocated => Strategy::MostAllocated,
        ScoringStrategyType::RequestedToCapacityRatio => Strategy::RequestedToCapacityRatio(
            strategy
                .shape
                .iter()
                .map(|p| FunctionShapePoint {
                    utilization: i64::from(p.utilization),
                    // "MaxCustomPriorityScore may diverge from the max score used in the
                    // scheduler and defined by MaxNodeScore, therefore we need to scale the score"
                    score: i64::from(p.score) * (MAX_NODE_SCORE / MAX_CUSTOM_PRIORITY_SCORE),
                })
                .collect(),
        ),
    };
    ResourceAllocationScorer {
        resources,
        use_requested: false,
        strategy,
    }
}

impl NodeResourcesFit {
    pub fn new(args: &NodeResourcesFitArgs) -> Self {
        let mut ignored_resources = args.ignored_resources.clone();
        ignored_resources.sort();
        let mut ignored_resource_groups = args.ignored_resource_groups.clone();
        ignored_resource_groups.sort();
        NodeResourcesFit {
            ignored_resources,
            ignored_resource_groups,
            scorer: scorer_for(args),
            pod_requests: Vec::new(),
            pod_terms: PodTerms::default(),
        }
    }

    pub fn factory(args: Option<&Value>) -> Result<Box<dyn Plugin>, String> {
        let args = NodeResourcesFitArgs::parse(args).map_err(|e| e.to_string())?;
        Ok(Box::new(NodeResourcesFit::new(&args)))
    }
}

impl NodeResourcesFit {
    /// Filter past the quick check: upstream's full `fitsRequest`, with its reasons.
    #[cold]
    fn insufficient(&self, pod: &Pod, node: &NodeInfo) -> Status {
        let insufficient = fits_request(
            &pod.requests,
            node,
            &self.ignored_resources,
            &self.ignored_resource_groups,
        );
        if insufficient.is_empty() {
            return Status::success();
        }
        let code = if insufficient.iter().any(|r| r.unresolvable) {
            Code::UnschedulableAndUnresolvable
        } else {
            Code::Unschedulable
        };
        Status::with_reasons(code, insufficient.into_iter().map(|r| r.reason).collect())
    }
}

impl Plugin for NodeResourcesFit {
    fn name(&self) -> &str {
        NAME
    }

    fn extension_points(&self) -> ExtensionPoints {
        ExtensionPoints::PRE_FILTER
            | ExtensionPoints::FILTER
            | ExtensionPoints::PRE_SCORE
            | ExtensionPoints::SCORE
    }

    /// The pod's request is precomputed on the `Pod` (upstream `computePodResourceRequest`), so
    /// there is nothing to store; the point exists so configurations can name it.
    fn pre_filter(&mut self, _pod: &Pod, _snapshot: &Snapshot) -> Status {
        Status::success()
    }

    // Inlined into the framework's batch loop (`filter_nodes`): the common case is a few
    // comparisons; building the reasons is out of line.
    #[inline]
    fn filter(&self, pod: &Pod, node: &NodeInfo, _snapshot: &Snapshot) -> Status {
        if fits_without_scalars(&pod.requests, node) {
            return Status::success();
        }
        self.insufficient(pod, node)
    }

    /// [`Self::filter`] with the quick check on the nodes' summaries: a node's record is read
    /// only when the check says no.
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
            |node| summary_fits_without_scalars(&pod.requests, snapshot.node_summary(node)),
            |node| self.insufficient(pod, snapshot.node(node)),
        );
    }

    fn pre_score(&mut self, pod: &Pod, _feasible: &[NodeId], _snapshot: &Snapshot) -> Status {
        self.scorer.pod_requests(pod, &mut self.pod_requests);
        self.scorer.prepare(&self.pod_requests, &mut self.pod_terms);
        Status::success()
    }

    fn score(&self, _pod: &Pod, node: &NodeInfo, _snapshot: &Snapshot) -> Result<i64, Status> {
        self.scorer.score(node, &self.pod_requests)
    }

    fn score_nodes(
        &self,
        _pod: &Pod,
        nodes: &[NodeId],
        snapshot: &Snapshot,
        out: &mut Vec<NodeScore>,
    ) -> Result<(), Status> {
        self.scorer
            .score_nodes(&self.pod_terms, nodes, snapshot, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::config::{ResourceSpec, ScoringStrategy, UtilizationShapePoint};
    use crate::scheduler::testing::{node, pod, snapshot};

    type Resources<'a> = &'a [(&'a str, &'a str)];

    fn spec(pairs: &[(&str, i64)]) -> Vec<ResourceSpec> {
        pairs
            .iter()
            .map(|(n, w)| ResourceSpec {
                name: (*n).into(),
                weight: *w,
            })
            .collect()
    }

    const DEFAULT: &[(&str, i64)] = &[("cpu", 1), ("memory", 1)];
    /// test_util.go `extendedRes` / `extendedResourceSet`.
    const EXTENDED_RES: &str = "abc.com/xyz";
    const EXTENDED_SET: &[(&str, i64)] = &[("cpu", 1), ("memory", 1), (EXTENDED_RES, 1)];

    fn args(
        type_: ScoringStrategyType,
        resources: &[(&str, i64)],
        shape: &[(i32, i32)],
    ) -> NodeResourcesFitArgs {
        NodeResourcesFitArgs {
            ignored_resources: vec![],
            ignored_resource_groups: vec![],
            scoring_strategy: ScoringStrategy {
                type_,
                resources: spec(resources),
                shape: shape
                    .iter()
                    .map(|&(utilization, score)| UtilizationShapePoint { utilization, score })
                    .collect(),
            },
        }
    }

    /// PreScore then Score on every node, as the upstream strategy tests do.
    fn scores(
        args: &NodeResourcesFitArgs,
        p: Pod,
        nodes: &[(&str, Resources)],
        existing: Vec<(Pod, &str)>,
    ) -> Vec<i64> {
        let store = snapshot(
            nodes
                .iter()
                .map(|(n, c)| node(n).capacity(c).obj())
                .collect(),
            existing,
        );
        let mut pl = NodeResourcesFit::new(args);
        let ids: Vec<NodeId> = store.nodes.iter().map(|n| n.id).collect();
        assert!(pl.pre_score(&p, &ids, &store).is_success());
        store
            .nodes
            .iter()
            .map(|n| pl.score(&p, n, &store).unwrap())
            .collect()
    }

    /// Upstream `st.MakePod().Req(...)`: each map is one container.
    fn pod_req(containers: &[Resources]) -> Pod {
        containers.iter().fold(pod("p"), |b, c| b.req(c)).obj()
    }

    const REQ_3000_5000: &[Resources] = &[
        &[("cpu", "1000"), ("memory", "2000")],
        &[("cpu", "2000"), ("memory", "3000")],
    ];

    // least_allocated_test.go TestLeastAllocatedScoringStrategy: every scoring case of the upstream
    // table (the weight-validation cases are in config.rs; "Resources not set" below).
    #[test]
    fn least_allocated_matches_upstream_table() {
        let la = |r| args(ScoringStrategyType::LeastAllocated, r, &[]);
        let n4000: Resources = &[("cpu", "4000"), ("memory", "10000")];
        let n6000: Resources = &[("cpu", "6000"), ("memory", "10000")];
        let n10k: Resources = &[("cpu", "10000"), ("memory", "20000")];
        let cpu3000 = || pod_req(&[&[("cpu", "3000"), ("memory", "0")]]);
        let cpu3000_mem5000 = || pod_req(&[&[("cpu", "3000"), ("memory", "5000")]]);
        // "nothing scheduled, nothing requested"
        assert_eq!(
            scores(
                &la(DEFAULT),
                pod("p").obj(),
                &[("node1", n4000), ("node2", n4000)],
                vec![]
            ),
            [100, 100]
        );
        // "nothing scheduled, resources requested, differently sized nodes"
        assert_eq!(
            scores(
                &la(DEFAULT),
                pod_req(REQ_3000_5000),
                &[("node1", n4000), ("node2", n6000)],
                vec![]
            ),
            [37, 50]
        );
        // "no resources requested, pods scheduled"
        let empty = || pod("e").obj();
        assert_eq!(
            scores(
                &la(DEFAULT),
                pod("p").obj(),
                &[("node1", n4000), ("node2", n4000)],
                vec![
                    (empty(), "node1"),
                    (empty(), "node1"),
                    (empty(), "node2"),
                    (empty(), "node2")
                ]
            ),
            [100, 100]
        );
        // "no resources requested, pods scheduled with resources"
        assert_eq!(
            scores(
                &la(DEFAULT),
                pod("p").obj(),
                &[("node1", n10k), ("node2", n10k)],
                vec![
                    (cpu3000(), "node1"),
                    (cpu3000(), "node1"),
                    (cpu3000(), "node2"),
                    (cpu3000_mem5000(), "node2")
                ]
            ),
            [70, 57]
        );
        // "resources requested, pods scheduled with resources"
        assert_eq!(
            scores(
                &la(DEFAULT),
                pod_req(REQ_3000_5000),
                &[("node1", n10k), ("node2", n10k)],
                vec![(cpu3000(), "node1"), (cpu3000_mem5000(), "node2")]
            ),
            [57, 45]
        );
        // "resources requested, pods scheduled with resources, differently sized nodes"
        assert_eq!(
            scores(
                &la(DEFAULT),
                pod_req(REQ_3000_5000),
                &[
                    ("node1", n10k),
                    ("node2", &[("cpu", "10000"), ("memory", "50000")])
                ],
                vec![(cpu3000(), "node1"), (cpu3000_mem5000(), "node2")]
            ),
            [57, 60]
        );
        // "requested resources exceed node capacity"
        assert_eq!(
            scores(
                &la(DEFAULT),
                cpu3000(),
                &[("node1", n4000), ("node2", n4000)],
                vec![(cpu3000(), "node1"), (cpu3000_mem5000(), "node2")]
            ),
            [50, 25]
        );
        // "zero node resources, pods scheduled with resources"
        assert_eq!(
            scores(
                &la(DEFAULT),
                pod("p").obj(),
                &[("node1", &[]), ("node2", &[])],
                vec![(cpu3000(), "node1"), (cpu3000_mem5000(), "node2")]
            ),
            [0, 0]
        );
        // "nothing scheduled, resources requested with different weight on CPU and memory, differently sized nodes"
        assert_eq!(
            scores(
                &la(&[("memory", 2), ("cpu", 1)]),
                pod_req(REQ_3000_5000),
                &[("node1", n4000), ("node2", n6000)],
                vec![]
            ),
            [41, 50]
        );
        // "bypass extended resource if the pod does not request"
        assert_eq!(
            scores(
                &la(EXTENDED_SET),
                pod_req(REQ_3000_5000),
                &[
                    ("node1", n6000),
                    (
                        "node2",
                        &[("cpu", "6000"), ("memory", "10000"), (EXTENDED_RES, "4")]
                    )
                ],
                vec![]
            ),
            [50, 50]
        );
        // "honor extended resource if the pod requests"
        assert_eq!(
            scores(
                &la(EXTENDED_SET),
                pod_req(&[&[("cpu", "3000"), ("memory", "5000"), (EXTENDED_RES, "2")]]),
                &[
                    (
                        "node1",
                        &[("cpu", "6000"), ("memory", "10000"), (EXTENDED_RES, "4")]
                    ),
                    (
                        "node2",
                        &[("cpu", "6000"), ("memory", "10000"), (EXTENDED_RES, "10")]
                    )
                ],
                vec![]
            ),
            [50, 60]
        );
        // "if the node doesn't have a resource"
        assert_eq!(
            scores(
                &la(&[(EXTENDED_RES, 2), ("cpu", 1), ("memory", 1)]),
                pod_req(&[&[("cpu", "3000"), ("memory", "4000")]]),
                &[
                    ("node1", n6000),
                    (
                        "node2",
                        &[("cpu", "6000"), ("memory", "10000"), (EXTENDED_RES, "4")]
                    )
                ],
                vec![]
            ),
            [55, 55]
        );
    }

    // least_allocated_test.go / most_allocated_test.go "Resources not set, pods scheduled with
    // error": without resources the scorer fails with "resources not found".
    #[test]
    fn scoring_without_resources_is_an_error() {
        let store = snapshot(
            vec![
                node("node1")
                    .capacity(&[("cpu", "4000"), ("memory", "10000")])
                    .obj(),
            ],
            vec![],
        );
        let scorer = ResourceAllocationScorer {
            resources: vec![],
            use_requested: false,
            strategy: Strategy::LeastAllocated,
        };
        let err = scorer.score(&store.nodes[0], &[]).unwrap_err();
        assert_eq!(
            (err.code, err.reasons),
            (Code::Error, vec!["resources not found".to_string()])
        );
    }

    // most_allocated_test.go TestMostAllocatedScoringStrategy: every scoring case of the table.
    #[test]
    fn most_allocated_matches_upstream_table() {
        let ma = |r| args(ScoringStrategyType::MostAllocated, r, &[]);
        let n4000: Resources = &[("cpu", "4000"), ("memory", "10000")];
        let n6000: Resources = &[("cpu", "6000"), ("memory", "10000")];
        let n10k: Resources = &[("cpu", "10000"), ("memory", "20000")];
        let cpu3000 = || pod_req(&[&[("cpu", "3000"), ("memory", "0")]]);
        let cpu3000_mem5000 = || pod_req(&[&[("cpu", "3000"), ("memory", "5000")]]);
        // "nothing scheduled, nothing requested"
        assert_eq!(
            scores(
                &ma(DEFAULT),
                pod("p").obj(),
                &[("node1", n4000), ("node2", n4000)],
                vec![]
            ),
            [0, 0]
        );
        // "nothing scheduled, resources requested, differently sized nodes"
        assert_eq!(
            scores(
                &ma(DEFAULT),
                pod_req(REQ_3000_5000),
                &[("node1", n4000), ("node2", n6000)],
                vec![]
            ),
            [62, 50]
        );
        // "no resources requested, pods scheduled with resources"
        assert_eq!(
            scores(
                &ma(DEFAULT),
                pod("p").obj(),
                &[("node1", n10k), ("node2", n10k)],
                vec![
                    (cpu3000(), "node1"),
                    (cpu3000(), "node1"),
                    (cpu3000(), "node2"),
                    (cpu3000_mem5000(), "node2")
                ]
            ),
            [30, 42]
        );
        // "resources requested, pods scheduled with resources"
        assert_eq!(
            scores(
                &ma(DEFAULT),
                pod_req(REQ_3000_5000),
                &[("node1", n10k), ("node2", n10k)],
                vec![(cpu3000(), "node1"), (cpu3000_mem5000(), "node2")]
            ),
            [42, 55]
        );
        // "resources requested equal node capacity"
        assert_eq!(
            scores(
                &ma(DEFAULT),
                pod_req(&[
                    &[("cpu", "2000"), ("memory", "4000")],
                    &[("cpu", "3000"), ("memory", "5000")]
                ]),
                &[
                    ("node1", &[("cpu", "5000"), ("memory", "10000")]),
                    ("node2", &[("cpu", "10000"), ("memory", "9000")])
                ],
                vec![]
            ),
            [95, 75]
        );
        // "nothing scheduled, resources requested, differently sized nodes" (memory weight 2)
        assert_eq!(
            scores(
                &ma(&[("memory", 2), ("cpu", 1)]),
                pod_req(REQ_3000_5000),
                &[("node1", n4000), ("node2", n6000)],
                vec![]
            ),
            [58, 50]
        );
        // "no resources requested, pods scheduled, nonzero request for resource": every
        // container without requests counts 100m CPU and 200Mi memory.
        let small: Resources = &[("cpu", "250m"), ("memory", "1000Mi")];
        let c = || pod("c").container().obj();
        assert_eq!(
            scores(
                &ma(DEFAULT),
                pod("p").container().obj(),
                &[("node1", small), ("node2", small)],
                vec![(c(), "node1"), (c(), "node1")]
            ),
            [80, 30]
        );
        // "bypass extended resource if the pod does not request"
        assert_eq!(
            scores(
                &ma(EXTENDED_SET),
                pod_req(REQ_3000_5000),
                &[
                    ("node1", n6000),
                    (
                        "node2",
                        &[("cpu", "6000"), ("memory", "10000"), (EXTENDED_RES, "4")]
                    )
                ],
                vec![]
            ),
            [50, 50]
        );
        // "honor extended resource if the pod request"
        assert_eq!(
            scores(
                &ma(EXTENDED_SET),
                pod_req(&[&[("cpu", "3000"), ("memory", "5000"), (EXTENDED_RES, "2")]]),
                &[
                    (
                        "node1",
                        &[("cpu", "6000"), ("memory", "10000"), (EXTENDED_RES, "4")]
                    ),
                    (
                        "node2",
                        &[("cpu", "6000"), ("memory", "10000"), (EXTENDED_RES, "10")]
                    )
                ],
                vec![]
            ),
            [50, 40]
        );
        // "if the node doesn't have a resource"
        assert_eq!(
            scores(
                &ma(&[(EXTENDED_RES, 2), ("cpu", 1), ("memory", 1)]),
                pod_req(&[&[("cpu", "3000"), ("memory", "4000")]]),
                &[
                    ("node1", n6000),
                    (
                        "node2",
                        &[("cpu", "6000"), ("memory", "10000"), (EXTENDED_RES, "4")]
                    )
                ],
                vec![]
            ),
            [45, 45]
        );
    }

    // requested_to_capacity_ratio_test.go TestRequestedToCapacityRatioScoringStrategy: every case.
    #[test]
    fn requested_to_capacity_ratio_matches_upstream_table() {
        let rtcr = args(
            ScoringStrategyType::RequestedToCapacityRatio,
            DEFAULT,
            &[(0, 10), (100, 0)],
        );
        let n4000: Resources = &[("cpu", "4000"), ("memory", "10000")];
        let n6000: Resources = &[("cpu", "6000"), ("memory", "10000")];
        let empty = || pod("e").obj();
        // "nothing scheduled, nothing requested (default - least requested nodes have priority)"
        assert_eq!(
            scores(
                &rtcr,
                pod("p").obj(),
                &[("node1", n4000), ("node2", n4000)],
                vec![(empty(), "node1"), (empty(), "node1")]
            ),
            [100, 100]
        );
        // "nothing scheduled, resources requested, differently sized nodes (default - least
        // requested nodes have priority)"
        assert_eq!(
            scores(
                &rtcr,
                pod_req(REQ_3000_5000),
                &[("node1", n4000), ("node2", n6000)],
                vec![(empty(), "node1"), (empty(), "node1")]
            ),
            [38, 50]
        );
        // "no resources requested, pods scheduled with resources (default - least requested nodes
        // have priority)"
        let busy = || pod_req(&[&[("cpu", "3000"), ("memory", "5000")]]);
        assert_eq!(
            scores(
                &rtcr,
                pod("p").obj(),
                &[("node1", n4000), ("node2", n6000)],
                vec![(busy(), "node1"), (busy(), "node2")]
            ),
            [38, 50]
        );
    }

    /// requested_to_capacity_ratio_test.go `makeNode(name, milliCPU, memory, extended)`.
    fn make_node(extended: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut v = vec![("cpu", "4"), ("memory", "10000Mi")];
        v.extend_from_slice(extended);
        v
    }

    // requested_to_capacity_ratio_test.go TestResourceBinPackingSingleExtended: every case.
    #[test]
    fn bin_packing_single_extended_matches_upstream_table() {
        let a = args(
            ScoringStrategyType::RequestedToCapacityRatio,
            &[("intel.com/foo", 1)],
            &[(0, 0), (100, 1)],
        );
        let n1 = make_node(&[("intel.com/foo", "8")]);
        let n2 = make_node(&[("intel.com/foo", "4")]);
        let nodes: &[(&str, Resources)] = &[("node1", &n1), ("node2", &n2)];
        let foo2 = || pod_req(&[&[("intel.com/foo", "2")]]);
        // "nothing scheduled, nothing requested"
        assert_eq!(scores(&a, pod("p").obj(), nodes, vec![]), [0, 0]);
        // "resources requested, pods scheduled with less resources"
        assert_eq!(scores(&a, foo2(), nodes, vec![]), [2, 5]);
        // "resources requested, pods scheduled with resources, on node with existing pod running "
        assert_eq!(scores(&a, foo2(), nodes, vec![(foo2(), "node2")]), [2, 10]);
        // "resources requested, pods scheduled with more resources"
        assert_eq!(
            scores(&a, pod_req(&[&[("intel.com/foo", "4")]]), nodes, vec![]),
            [5, 10]
        );
    }

    // requested_to_capacity_ratio_test.go TestResourceBinPackingMultipleExtended: every case.
    #[test]
    fn bin_packing_multiple_extended_matches_upstream_table() {
        let a = args(
            ScoringStrategyType::RequestedToCapacityRatio,
            &[("intel.com/foo", 3), ("intel.com/bar", 5)],
            &[(0, 0), (100, 1)],
        );
        let n1 = make_node(&[("intel.com/foo", "8"), ("intel.com/bar", "4")]);
        let n2 = make_node(&[("intel.com/foo", "4"), ("intel.com/bar", "8")]);
        let nodes: &[(&str, Resources)] = &[("node1", &n1), ("node2", &n2)];
        let pod1 = || pod_req(&[&[("intel.com/foo", "2"), ("intel.com/bar", "2")]]);
        let pod2 = || pod_req(&[&[("intel.com/foo", "4"), ("intel.com/bar", "2")]]);
        // "nothing scheduled, nothing requested"
        assert_eq!(scores(&a, pod("p").obj(), nodes, vec![]), [0, 0]);
        // "resources requested, pods scheduled with less resources"
        assert_eq!(scores(&a, pod1(), nodes, vec![]), [4, 3]);
        // "resources requested, pods scheduled with resources, on node with existing pod running "
        assert_eq!(scores(&a, pod1(), nodes, vec![(pod2(), "node2")]), [4, 7]);
        // "resources requested, pods scheduled with more resources"
        assert_eq!(scores(&a, pod2(), nodes, vec![]), [5, 5]);
    }

    type Want = Option<(Code, &'static [&'static str])>;

    /// fit_test.go `makeAllocatableResources(10, 20, 32, 5, 20, 5)`.
    const ALLOCATABLE: Resources = &[
        ("cpu", "10m"),
        ("memory", "20"),
        ("pods", "32"),
        ("example.com/aaa", "5"),
        ("ephemeral-storage", "20"),
        ("hugepages-2Mi", "5"),
    ];

    fn run_filter(
        pl: &NodeResourcesFit,
        containers: &[Resources],
        existing: &[Resources],
        allocatable: Resources,
    ) -> Status {
        let p = containers.iter().fold(pod("p"), |b, c| b.req(c)).obj();
        let on_node = vec![(existing.iter().fold(pod("e"), |b, c| b.req(c)).obj(), "n")];
        let store = snapshot(vec![node("n").capacity(allocatable).obj()], on_node);
        pl.filter(&p, &store.nodes[0], &store)
    }

    fn want_status(want: Want) -> Status {
        match want {
            None => Status::success(),
            Some((code, reasons)) => {
                Status::with_reasons(code, reasons.iter().map(|r| r.to_string()).collect())
            }
        }
    }

    // fit_test.go TestEnoughRequests, TestNotEnoughRequests and TestStorageRequests: every case
    // whose pod has only regular containers (kubesim's `Pod` carries the effective request, so the
    // init-container and overhead cases are the pod builder's business). Codes follow the newest
    // fit.go: UnschedulableAndUnresolvable when a request exceeds the node's whole allocatable.
    #[test]
    fn filter_matches_upstream_tables() {
        use Code::{Unschedulable as U, UnschedulableAndUnresolvable as UU};
        let pl = NodeResourcesFit::new(&NodeResourcesFitArgs::default());
        let c = |cpu: &'static str, mem: &'static str| -> Vec<(&'static str, &'static str)> {
            vec![("cpu", cpu), ("memory", mem)]
        };
        type Containers = Vec<Vec<(&'static str, &'static str)>>;
        let cases: Vec<(&str, Containers, Containers, Want)> = vec![
            (
                "no resources requested always fits",
                vec![],
                vec![c("10m", "20")],
                None,
            ),
            (
                "too many resources fails",
                vec![c("1m", "1")],
                vec![c("10m", "20")],
                Some((U, &["Insufficient cpu", "Insufficient memory"])),
            ),
            (
                "both resources fit",
                vec![c("1m", "1")],
                vec![c("5m", "5")],
                None,
            ),
            (
                "one resource memory fits",
                vec![c("2m", "1")],
                vec![c("9m", "5")],
                Some((U, &["Insufficient cpu"])),
            ),
            (
                "one resource cpu fits",
                vec![c("1m", "2")],
                vec![c("5m", "19")],
                Some((U, &["Insufficient memory"])),
            ),
            (
                "equal edge case",
                vec![c("5m", "1")],
                vec![c("5m", "19")],
                None,
            ),
            (
                "extended resource fits",
                vec![vec![("example.com/aaa", "1")]],
                vec![vec![]],
                None,
            ),
            (
                "extended resource capacity enforced",
                vec![vec![
                    ("cpu", "1m"),
                    ("memory", "1"),
                    ("example.com/aaa", "10"),
                ]],
                vec![vec![("example.com/aaa", "0")]],
                Some((UU, &["Insufficient example.com/aaa"])),
            ),
            (
                "extended resource allocatable enforced",
                vec![vec![
                    ("cpu", "1m"),
                    ("memory", "1"),
                    ("example.com/aaa", "1"),
                ]],
                vec![vec![("example.com/aaa", "5")]],
                Some((U, &["Insufficient example.com/aaa"])),
            ),
            (
                "extended resource allocatable enforced for multiple containers",
                vec![
                    vec![("cpu", "1m"), ("memory", "1"), ("example.com/aaa", "3")],
                    vec![("cpu", "1m"), ("memory", "1"), ("example.com/aaa", "3")],
                ],
                vec![vec![("example.com/aaa", "2")]],
                Some((UU, &["Insufficient example.com/aaa"])),
            ),
            (
                "extended resource allocatable enforced for unknown resource",
                vec![vec![
                    ("cpu", "1m"),
                    ("memory", "1"),
                    ("example.com/bbb", "1"),
                ]],
                vec![vec![]],
                Some((UU, &["Insufficient example.com/bbb"])),
            ),
            (
                "kubernetes.io resource capacity enforced",
                vec![vec![
                    ("cpu", "1m"),
                    ("memory", "1"),
                    ("kubernetes.io/something", "10"),
                ]],
                vec![vec![]],
                Some((UU, &["Insufficient kubernetes.io/something"])),
            ),
            (
                "hugepages resource capacity enforced",
                vec![vec![
                    ("cpu", "1m"),
                    ("memory", "1"),
                    ("hugepages-2Mi", "10"),
                ]],
                vec![vec![("hugepages-2Mi", "0")]],
                Some((UU, &["Insufficient hugepages-2Mi"])),
            ),
            (
                "hugepages resource allocatable enforced for multiple containers",
                vec![
                    vec![("cpu", "1m"), ("memory", "1"), ("hugepages-2Mi", "3")],
                    vec![("cpu", "1m"), ("memory", "1"), ("hugepages-2Mi", "3")],
                ],
                vec![vec![("hugepages-2Mi", "2")]],
                Some((UU, &["Insufficient hugepages-2Mi"])),
            ),
            (
                "skip checking extended resource request with quantity zero via resource groups",
                vec![vec![
                    ("cpu", "1m"),
                    ("memory", "1"),
                    ("example.com/aaa", "0"),
                ]],
                vec![vec![("example.com/aaa", "6")]],
                None,
            ),
            (
                "skip checking resource request with quantity zero",
                vec![vec![("example.com/aaa", "1")]],
                vec![vec![
                    ("cpu", "20m"),
                    ("memory", "30"),
                    ("example.com/aaa", "1"),
                ]],
                None,
            ),
            // TestStorageRequests.
            (
                "empty storage requested, and pod fits",
                vec![c("1m", "1")],
                vec![c("2m", "10")],
                None,
            ),
            (
                "storage ephemeral local storage request exceeds allocatable",
                vec![vec![("ephemeral-storage", "25")]],
                vec![c("2m", "2")],
                Some((UU, &["Insufficient ephemeral-storage"])),
            ),
            (
                "pod fits",
                vec![vec![("ephemeral-storage", "10")]],
                vec![c("2m", "2")],
                None,
            ),
        ];
        for (name, containers, existing, want) in &cases {
            let containers: Vec<Resources> = containers.iter().map(Vec::as_slice).collect();
            let existing: Vec<Resources> = existing.iter().map(Vec::as_slice).collect();
            assert_eq!(
                run_filter(&pl, &containers, &existing, ALLOCATABLE),
                want_status(*want),
                "{name}"
            );
        }

        // "skip checking ignored extended resource" / "... via resource groups".
        let ignore = |resources: &[&str], groups: &[&str]| {
            NodeResourcesFit::new(&NodeResourcesFitArgs {
                ignored_resources: resources.iter().map(|s| s.to_string()).collect(),
                ignored_resource_groups: groups.iter().map(|s| s.to_string()).collect(),
                ..NodeResourcesFitArgs::default()
            })
        };
        let bbb: Resources = &[("cpu", "1m"), ("memory", "1"), ("example.com/bbb", "1")];
        assert!(
            run_filter(
                &ignore(&["example.com/bbb"], &[]),
                &[bbb],
                &[&[]],
                ALLOCATABLE
            )
            .is_success()
        );
        let both: Resources = &[
            ("cpu", "1m"),
            ("memory", "1"),
            ("example.com/bbb", "1"),
            ("kubernetes.io/something", "1"),
        ];
        assert_eq!(
            run_filter(&ignore(&[], &["example.com"]), &[both], &[&[]], ALLOCATABLE),
            want_status(Some((UU, &["Insufficient kubernetes.io/something"])))
        );

        // TestNotEnoughRequests: allocatable `makeAllocatableResources(10, 20, 1, 0, 0, 0)`.
        let one_pod: Resources = &[("cpu", "10m"), ("memory", "20"), ("pods", "1")];
        let too_many = Some((U, &["Too many pods"][..]));
        type Case = (&'static str, Containers, Vec<(&'static str, &'static str)>);
        let cases: Vec<Case> = vec![
            (
                "even without specified resources, predicate fails when there's no space for additional pod",
                vec![],
                c("10m", "20"),
            ),
            (
                "even if both resources fit, predicate fails when there's no space for additional pod",
                vec![c("1m", "1")],
                c("5m", "5"),
            ),
            (
                "even for equal edge case, predicate fails when there's no space for additional pod",
                vec![c("5m", "1")],
                c("5m", "19"),
            ),
        ];
        for (name, containers, existing) in &cases {
            let containers: Vec<Resources> = containers.iter().map(Vec::as_slice).collect();
            assert_eq!(
                run_filter(&pl, &containers, &[existing], one_pod),
                want_status(too_many),
                "{name}"
            );
        }
    }
}
