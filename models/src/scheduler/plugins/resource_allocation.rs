//! The resource scorer shared by NodeResourcesFit and NodeResourcesBalancedAllocation, with the
//! three scoring strategies, after upstream `noderesources/resource_allocation.go`,
//! `least_allocated.go`, `most_allocated.go`, `requested_to_capacity_ratio.go` and the scorer
//! function of `balanced_allocation.go`.
//!
//! Upstream builds `requested` / `allocatable` slices per node; here each strategy streams over
//! the configured resources instead, so scoring a node allocates nothing. The arithmetic and the
//! order of floating-point operations are upstream's.

use std::cell::RefCell;

use crate::api::{NodeId, Pod, ResourceName};
use crate::scheduler::framework::{MAX_NODE_SCORE, NodeScore, Snapshot, Status};
use crate::scheduler::plugins::helper::{
    FunctionShapePoint, broken_linear, is_dns1123_subdomain, matches_qualified_name_part,
};
use crate::store::{NodeInfo, NodeSummary};

/// Upstream `maxUtilization`.
const MAX_UTILIZATION: i64 = 100;

/// One entry of `scoringStrategy.resources` (upstream `config.ResourceSpec`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceWeight {
    pub resource: ResourceName,
    pub weight: i64,
}

/// How per-resource utilisation becomes a node score.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Strategy {
    LeastAllocated,
    MostAllocated,
    /// The shape with scores already scaled from 0–10 to 0–100, as upstream
    /// `requestedToCapacityRatioScorer` does.
    RequestedToCapacityRatio(Vec<FunctionShapePoint>),
    /// NodeResourcesBalancedAllocation's standard-deviation scorer.
    Balanced,
}

/// Upstream `resourceAllocationScorer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceAllocationScorer {
    pub resources: Vec<ResourceWeight>,
    /// BalancedAllocation scores actual requests; the Fit strategies score requests where a
    /// container without a CPU/memory request counts 100m / 200Mi (`NonZeroRequested`).
    pub use_requested: bool,
    pub strategy: Strategy,
}

/// apimachinery `IsNativeResource`: no domain, or a `kubernetes.io/` domain.
fn is_native_resource(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

/// Upstream `v1helper.IsExtendedResourceName`: not native, not `requests.`-prefixed, and
/// `requests.<name>` is a qualified name — checked without building that string: the domain
/// `requests.<domain>` is a DNS subdomain exactly when `<domain>` is one of at most 244
/// characters.
pub fn is_extended_resource_name(name: &str) -> bool {
    if is_native_resource(name) || name.starts_with("requests.") {
        return false;
    }
    let mut parts = name.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(domain), Some(part), None) => {
            domain.len() <= 253 - "requests.".len()
                && is_dns1123_subdomain(domain)
                && part.len() <= 63
                && matches_qualified_name_part(part)
        }
        _ => false,
    }
}

/// Upstream `schedutil.IsScalarResourceName`: extended resources, hugepages, `kubernetes.io/`
/// prefixed native resources and attachable volumes — the names `framework.Resource` keeps in
/// `ScalarResources`.
pub fn is_scalar_resource_name(name: &str) -> bool {
    name.starts_with("hugepages-")
        || name.starts_with("attachable-volumes-")
        || name.contains("kubernetes.io/")
        || is_extended_resource_name(name)
}

/// Upstream `calculatePodResourceRequest`: the pod's request for one resource, with the
/// non-zero CPU/memory defaults unless `use_requested`. `pods` is no pod request upstream.
pub fn pod_request(pod: &Pod, resource: &ResourceName, use_requested: bool) -> i64 {
    match resource {
        ResourceName::Cpu if !use_requested => pod.non_zero_cpu_milli,
        ResourceName::Memory if !use_requested => pod.non_zero_memory,
        ResourceName::Pods => 0,
        other => pod.requests.get(other),
    }
}

/// Upstream `calculateResourceAllocatableRequest`: the node's allocatable amount and what the
/// node would have requested with this pod. `(0, 0)` means "leave this resource out", which
/// upstream returns for scalar resources the pod does not request and for resources the node
/// does not advertise.
pub fn allocatable_and_requested(
    node: &NodeInfo,
    resource: &ResourceName,
    pod_request: i64,
    use_requested: bool,
) -> (i64, i64) {
    match (resource, SourceKind::of(resource, pod_request, 0)) {
        (ResourceName::Extended(name), Some(SourceKind::Scalar(_))) => {
            scalar_pair(node, name, pod_request)
        }
        (_, Some(source)) => source.pair(node, pod_request, use_requested, &[]),
        (_, None) => (0, 0),
    }
}

/// Upstream `leastRequestedScore`: unused capacity on a 0–100 scale.
pub fn least_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested).saturating_mul(MAX_NODE_SCORE) / capacity
}

/// Upstream `mostRequestedScore`: used capacity on a 0–100 scale, `requested` capped at the
/// capacity ("pods with no requests get minimum values").
pub fn most_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 {
        return 0;
    }
    requested.min(capacity).saturating_mul(MAX_NODE_SCORE) / capacity
}

/// A resource's fraction for [`balanced_resource_score`]: requested over allocatable, capped at 1.
#[inline]
fn balanced_fraction(requested: i64, allocatable: i64) -> f64 {
    let f = requested as f64 / allocatable as f64;
    if f > 1.0 { 1.0 } else { f }
}

/// [`balanced_resource_score`] of exactly two resources: "for two resources the standard
/// deviation is |f0 - f1| / 2".
#[inline]
fn balanced_two(requested0: i64, allocatable0: i64, requested1: i64, allocatable1: i64) -> i64 {
    let std = ((balanced_fraction(requested0, allocatable0)
        - balanced_fraction(requested1, allocatable1))
        / 2.0)
        .abs();
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

/// Upstream `balancedResourceScorer` over `(requested, allocatable)` pairs whose allocatable is
/// non-zero: `(1 - std) * 100`, truncated, where each fraction is capped at 1 and the standard
/// deviation of two fractions is `|f0 - f1| / 2`.
pub fn balanced_resource_score(pairs: impl Iterator<Item = (i64, i64)> + Clone) -> i64 {
    let fraction = |(requested, allocatable): (i64, i64)| balanced_fraction(requested, allocatable);
    let mut count = 0usize;
    let mut total = 0.0f64;
    let (mut first, mut second) = (0.0f64, 0.0f64);
    for f in pairs.clone().map(fraction) {
        total += f;
        match count {
            0 => first = f,
            1 => second = f,
            _ => {}
        }
        count += 1;
    }
    let std = match count {
        2 => ((first - second) / 2.0).abs(),
        n if n > 2 => {
            let mean = total / n as f64;
            let mut sum = 0.0f64;
            for f in pairs.map(fraction) {
                sum += (f - mean) * (f - mean);
            }
            (sum / n as f64).sqrt()
        }
        _ => 0.0,
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

impl ResourceAllocationScorer {
    /// Upstream `calculatePodResourceRequestList`, into a reused buffer.
    pub fn pod_requests(&self, pod: &Pod, out: &mut Vec<i64>) {
        out.clear();
        out.extend(
            self.resources
                .iter()
                .map(|r| pod_request(pod, &r.resource, self.use_requested)),
        );
    }

    /// Upstream `resourceAllocationScorer.score`: `pod_requests` is what `pod_requests` filled
    /// for the same resources.
    pub fn score(&self, node: &NodeInfo, pod_requests: &[i64]) -> Result<i64, Status> {
        if self.resources.is_empty() {
            return Err(Status::error("resources not found"));
        }
        // Resources the node does not have (allocatable 0) are left out of every strategy.
        let pairs = self
            .resources
            .iter()
            .zip(pod_requests)
            .filter_map(|(r, &pod_request)| {
                let (alloc, req) =
                    allocatable_and_requested(node, &r.resource, pod_request, self.use_requested);
                (alloc != 0).then_some((r.weight, req, alloc))
            });
        Ok(self.combine(pairs))
    }

    /// What [`Self::score_nodes`] needs of the pod, worked out once per cycle (PreScore) from
    /// what `pod_requests` filled: the resources `allocatable_and_requested` does not leave out
    /// whatever the node, with their weights and the pod's requests.
    pub fn prepare(&self, pod_requests: &[i64], out: &mut PodTerms) {
        out.terms.clear();
        out.terms.extend(
            self.resources
                .iter()
                .zip(pod_requests)
                .enumerate()
                .filter_map(|(i, (r, &pod_request))| {
                    SourceKind::of(&r.resource, pod_request, i).map(|source| Term {
                        weight: r.weight,
                        pod_request,
                        source,
                    })
                }),
        );
        out.cpu_memory = match out.terms.as_slice() {
            [cpu, memory] => {
                matches!(
                    (cpu.source, memory.source),
                    (SourceKind::Cpu, SourceKind::Memory)
                )
            }
            _ => false,
        };
        if out.cpu_memory {
            // Cached scores hold for one strategy and pair of weights.
            let tag = (
                matches!(self.strategy, Strategy::Balanced),
                out.terms[0].weight,
                out.terms[1].weight,
            );
            if out.cache_tag != Some(tag) {
                out.cache.get_mut().clear();
                out.cache_tag = Some(tag);
            }
        }
    }

    /// [`Self::score`] for each of `nodes`, appended to `out`; `terms` is what
    /// [`Self::prepare`] made of the same pod. The per-node loop only reads the node's numbers;
    /// the default resources (cpu and memory) with the default strategies have a loop of their
    /// own, with the same integer and floating-point operations in the same order, that reuses
    /// a node's score while its numbers are unchanged.
    pub fn score_nodes(
        &self,
        terms: &PodTerms,
        nodes: &[NodeId],
        snapshot: &Snapshot,
        out: &mut Vec<NodeScore>,
    ) -> Result<(), Status> {
        if nodes.is_empty() {
            return Ok(());
        }
        if self.resources.is_empty() {
            return Err(Status::error("resources not found"));
        }
        out.reserve(nodes.len());
        if terms.cpu_memory
            && matches!(self.strategy, Strategy::LeastAllocated | Strategy::Balanced)
        {
            let (cpu, memory) = (terms.terms[0], terms.terms[1]);
            let mut cache = terms.cache.borrow_mut();
            if cache.len() < snapshot.nodes.len() {
                cache.resize(snapshot.nodes.len(), CachedScore::default());
            }
            for &node in nodes {
                let key = self.cpu_memory_pairs(snapshot.node_summary(node), cpu, memory);
                let score = match cache.get_mut(node.index()) {
                    Some(entry) if entry.filled && entry.key == key => entry.score,
                    Some(entry) => {
                        let score = self.cpu_memory_score(key, cpu.weight, memory.weight);
                        *entry = CachedScore {
                            filled: true,
                            key,
                            score,
                        };
                        score
                    }
                    None => self.cpu_memory_score(key, cpu.weight, memory.weight),
                };
                out.push(NodeScore { node, score });
            }
            return Ok(());
        }
        for &node in nodes {
            let info = snapshot.node(node);
            let pairs = terms.terms.iter().filter_map(|term| {
                let (alloc, req) =
                    term.source
                        .pair(info, term.pod_request, self.use_requested, &self.resources);
                (alloc != 0).then_some((term.weight, req, alloc))
            });
            out.push(NodeScore {
                node,
                score: self.combine(pairs),
            });
        }
        Ok(())
    }

    /// LeastAllocated's or BalancedAllocation's score of `[(allocatable, requested)]` of cpu
    /// and memory: what `combine` gives for them, written out.
    fn cpu_memory_score(&self, key: [(i64, i64); 2], w_cpu: i64, w_memory: i64) -> i64 {
        let [(alloc_cpu, req_cpu), (alloc_memory, req_memory)] = key;
        if let Strategy::Balanced = self.strategy {
            // Fewer than two fractions have no spread: a standard deviation of 0.
            return if alloc_cpu != 0 && alloc_memory != 0 {
                balanced_two(req_cpu, alloc_cpu, req_memory, alloc_memory)
            } else {
                MAX_NODE_SCORE
            };
        }
        let (mut node_score, mut weight_sum) = (0i64, 0i64);
        if alloc_cpu != 0 {
            node_score = node_score
                .saturating_add(least_requested_score(req_cpu, alloc_cpu).saturating_mul(w_cpu));
            weight_sum += w_cpu;
        }
        if alloc_memory != 0 {
            node_score = node_score.saturating_add(
                least_requested_score(req_memory, alloc_memory).saturating_mul(w_memory),
            );
            weight_sum += w_memory;
        }
        if weight_sum == 0 {
            0
        } else {
            node_score / weight_sum
        }
    }

    /// `allocatable_and_requested` of cpu and memory, from the node's summary: the scoring
    /// pass then streams through the small summary array, not each node's record.
    #[inline]
    fn cpu_memory_pairs(&self, node: &NodeSummary, cpu: Term, memory: Term) -> [(i64, i64); 2] {
        let (requested_cpu, requested_memory) = if self.use_requested {
            (node.requested_cpu_milli, node.requested_memory)
        } else {
            (
                node.non_zero_requested_cpu_milli,
                node.non_zero_requested_memory,
            )
        };
        [
            (
                node.allocatable_cpu_milli,
                requested_cpu.saturating_add(cpu.pod_request),
            ),
            (
                node.allocatable_memory,
                requested_memory.saturating_add(memory.pod_request),
            ),
        ]
    }

    /// The strategy's node score from `(weight, requested, allocatable)` of the resources the
    /// node has, in configuration order.
    fn combine(&self, pairs: impl Iterator<Item = (i64, i64, i64)> + Clone) -> i64 {
        match &self.strategy {
            Strategy::LeastAllocated => {
                weighted_mean(pairs.map(|(w, req, alloc)| (w, least_requested_score(req, alloc))))
            }
            Strategy::MostAllocated => {
                weighted_mean(pairs.map(|(w, req, alloc)| (w, most_requested_score(req, alloc))))
            }
            Strategy::RequestedToCapacityRatio(shape) => {
                let (mut node_score, mut weight_sum) = (0i64, 0i64);
                for (weight, req, alloc) in pairs {
                    let utilization = if req > alloc {
                        MAX_UTILIZATION
                    } else {
                        req.saturating_mul(MAX_UTILIZATION) / alloc
                    };
                    let resource_score = broken_linear(shape, utilization);
                    // Upstream: "if resourceScore > 0" — zero-scoring resources carry no weight.
                    if resource_score > 0 {
                        node_score =
                            node_score.saturating_add(resource_score.saturating_mul(weight));
                        weight_sum += weight;
                    }
                }
                if weight_sum == 0 {
                    0
                } else {
                    // Go's math.Round rounds half away from zero, as f64::round does.
                    (node_score as f64 / weight_sum as f64).round() as i64
                }
            }
            Strategy::Balanced => {
                balanced_resource_score(pairs.map(|(_, req, alloc)| (req, alloc)))
            }
        }
    }
}

/// What [`ResourceAllocationScorer::prepare`] works out for one pod.
#[derive(Clone, Debug, Default)]
pub struct PodTerms {
    terms: Vec<Term>,
    /// The terms are cpu then memory, as in the default configuration.
    cpu_memory: bool,
    /// For the cpu-and-memory terms: each node's last score, by node index, with the numbers it
    /// was computed from. The score is a function of those numbers alone (the scorer's
    /// strategy and weights are fixed), so it stands while they are unchanged — between two
    /// pods of one Deployment, on every node but the one the first was bound to. Kept across
    /// cycles; `cache_tag` is the strategy (balanced or not) and weights it was filled with.
    cache: RefCell<Vec<CachedScore>>,
    cache_tag: Option<(bool, i64, i64)>,
}

/// One node's entry in [`PodTerms::cache`].
#[derive(Clone, Copy, Debug, Default)]
struct CachedScore {
    filled: bool,
    /// `[(allocatable, requested with the pod)]` of cpu and memory.
    key: [(i64, i64); 2],
    score: i64,
}

/// One resource that counts whatever the node, with the pod's request for it.
#[derive(Clone, Copy, Debug)]
struct Term {
    weight: i64,
    pod_request: i64,
    source: SourceKind,
}

/// Where [`allocatable_and_requested`] takes a resource's numbers from, for resources it does
/// not leave out whatever the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SourceKind {
    Cpu,
    Memory,
    EphemeralStorage,
    /// A scalar resource, by its index in the scorer's resources.
    Scalar(usize),
}

impl SourceKind {
    /// `None` for what `allocatable_and_requested` gives `(0, 0)` on every node: scalar
    /// resources the pod does not request, `pods`, and names that are not scalar resources.
    /// `index` is the resource's position in the scorer's resources.
    fn of(resource: &ResourceName, pod_request: i64, index: usize) -> Option<Self> {
        match resource {
            ResourceName::Cpu => Some(SourceKind::Cpu),
            ResourceName::Memory => Some(SourceKind::Memory),
            ResourceName::EphemeralStorage => Some(SourceKind::EphemeralStorage),
            ResourceName::Extended(name) if pod_request != 0 && is_scalar_resource_name(name) => {
                Some(SourceKind::Scalar(index))
            }
            _ => None,
        }
    }

    /// `allocatable_and_requested` for this source; `resources` names the scalar ones.
    #[inline]
    fn pair(
        self,
        node: &NodeInfo,
        pod_request: i64,
        use_requested: bool,
        resources: &[ResourceWeight],
    ) -> (i64, i64) {
        let alloc = &node.node.allocatable;
        match self {
            SourceKind::Cpu => {
                let requested = if use_requested {
                    node.requested.cpu_milli
                } else {
                    node.non_zero_requested_cpu_milli
                };
                (alloc.cpu_milli, requested.saturating_add(pod_request))
            }
            SourceKind::Memory => {
                let requested = if use_requested {
                    node.requested.memory
                } else {
                    node.non_zero_requested_memory
                };
                (alloc.memory, requested.saturating_add(pod_request))
            }
            SourceKind::EphemeralStorage => (
                alloc.ephemeral_storage,
                node.requested.ephemeral_storage.saturating_add(pod_request),
            ),
            SourceKind::Scalar(index) => match resources.get(index) {
                Some(ResourceWeight {
                    resource: ResourceName::Extended(name),
                    ..
                }) => scalar_pair(node, name, pod_request),
                _ => (0, 0),
            },
        }
    }
}

/// `allocatable_and_requested` of a scalar resource the pod requests.
fn scalar_pair(node: &NodeInfo, name: &str, pod_request: i64) -> (i64, i64) {
    let alloc = &node.node.allocatable;
    match alloc
        .extended
        .binary_search_by(|(k, _)| k.as_str().cmp(name))
    {
        Ok(i) => (
            alloc.extended[i].1,
            node.requested
                .extended_amount(name)
                .saturating_add(pod_request),
        ),
        Err(_) => (0, 0),
    }
}

/// `Σ score·weight / Σ weight` in integers, 0 without weights (least/most `resourceScorer`).
fn weighted_mean(scores: impl Iterator<Item = (i64, i64)>) -> i64 {
    let (mut node_score, mut weight_sum) = (0i64, 0i64);
    for (weight, score) in scores {
        node_score = node_score.saturating_add(score.saturating_mul(weight));
        weight_sum += weight;
    }
    if weight_sum == 0 {
        0
    } else {
        node_score / weight_sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_and_extended_names_follow_upstream_helpers() {
        assert!(is_extended_resource_name("nvidia.com/gpu"));
        assert!(is_scalar_resource_name("nvidia.com/gpu"));
        assert!(!is_extended_resource_name("kubernetes.io/foo"));
        assert!(is_scalar_resource_name("kubernetes.io/foo"));
        assert!(is_scalar_resource_name("hugepages-2Mi"));
        assert!(is_scalar_resource_name("attachable-volumes-aws-ebs"));
        assert!(!is_scalar_resource_name("cpu"));
        assert!(!is_scalar_resource_name("foo"));
        assert!(!is_extended_resource_name("requests.example.com/x"));
        // Same answers as IsQualifiedName("requests." + name).
        for name in [
            "example.com/aaa",
            "a/b",
            "Example.com/x",
            "example.com/",
            "/x",
            "a/b/c",
            "x.y/-z",
        ] {
            let via_string = crate::scheduler::plugins::helper::qualified_name_error(&format!(
                "requests.{name}"
            ))
            .is_none();
            assert_eq!(is_extended_resource_name(name), via_string, "{name}");
        }
    }

    #[test]
    fn per_resource_scores() {
        // least_allocated.go: ((capacity - requested) * MaxNodeScore) / capacity, 0 past capacity.
        assert_eq!(least_requested_score(3000, 4000), 25);
        assert_eq!(least_requested_score(6000, 4000), 0);
        assert_eq!(least_requested_score(1, 0), 0);
        // most_allocated.go: requested capped at capacity.
        assert_eq!(most_requested_score(3000, 4000), 75);
        assert_eq!(most_requested_score(300, 250), 100);
        assert_eq!(most_requested_score(1, 0), 0);
    }

    #[test]
    fn balanced_score_of_two_and_three_fractions() {
        // balanced_allocation_test.go "nothing scheduled, resources requested, differently sized
        // nodes": 3000/4000 and 5000/10000 → std 0.125 → 87.
        assert_eq!(
            balanced_resource_score([(3000, 4000), (5000, 10000)].into_iter()),
            87
        );
        assert_eq!(balanced_resource_score([(1, 2)].into_iter()), 100);
        assert_eq!(balanced_resource_score(std::iter::empty()), 100);
        // "include scalar resource on a node for balanced resource allocation", node1.
        assert_eq!(
            balanced_resource_score([(3000, 3500), (5000, 40000), (4, 8)].into_iter()),
            70
        );
    }

    /// `score_nodes` (with its cpu/memory loops) gives exactly `score` on every node, for every
    /// strategy and resource list, including nodes without cpu or memory and overcommitted ones.
    #[test]
    fn score_nodes_gives_score_of_each_node() {
        use crate::scheduler::testing::{node, pod, snapshot};
        let nodes = vec![
            node("n1")
                .capacity(&[("cpu", "4000m"), ("memory", "10000")])
                .obj(),
            node("n2")
                .capacity(&[("cpu", "6000m"), ("memory", "0")])
                .obj(),
            node("n3")
                .capacity(&[("cpu", "0"), ("memory", "10000")])
                .obj(),
            node("n4").capacity(&[("cpu", "0"), ("memory", "0")]).obj(),
            node("n5")
                .capacity(&[
                    ("cpu", "1000m"),
                    ("memory", "3000"),
                    ("nvidia.com/gpu", "4"),
                ])
                .obj(),
            node("n6")
                .capacity(&[("cpu", "32"), ("memory", "128Gi")])
                .obj(),
        ];
        let existing = vec![
            (
                pod("a").req(&[("cpu", "3000m"), ("memory", "5000")]).obj(),
                "n1",
            ),
            (pod("b").req(&[("cpu", "2000m")]).obj(), "n5"),
            (pod("c").obj(), "n6"),
        ];
        let store = snapshot(nodes, existing);
        let ids: Vec<NodeId> = store.nodes.iter().map(|n| n.id).collect();
        let pods = [
            pod("p").req(&[("cpu", "1000m"), ("memory", "2000")]).obj(),
            pod("p").req(&[("cpu", "500m")]).obj(),
            pod("p").obj(),
            pod("p")
                .req(&[("cpu", "100m"), ("memory", "100"), ("nvidia.com/gpu", "1")])
                .obj(),
        ];
        let shape = vec![
            FunctionShapePoint {
                utilization: 0,
                score: 0,
            },
            FunctionShapePoint {
                utilization: 100,
                score: 100,
            },
        ];
        let strategies = [
            Strategy::LeastAllocated,
            Strategy::MostAllocated,
            Strategy::RequestedToCapacityRatio(shape),
            Strategy::Balanced,
        ];
        let resource_lists: [&[(&str, i64)]; 4] = [
            &[("cpu", 1), ("memory", 1)],
            &[("cpu", 3), ("memory", 2)],
            &[("memory", 1), ("cpu", 1)],
            &[("cpu", 1), ("memory", 1), ("nvidia.com/gpu", 2)],
        ];
        for strategy in &strategies {
            for resources in resource_lists {
                for use_requested in [false, true] {
                    let scorer = ResourceAllocationScorer {
                        resources: resources
                            .iter()
                            .map(|&(name, weight)| ResourceWeight {
                                resource: ResourceName::parse(name),
                                weight,
                            })
                            .collect(),
                        use_requested,
                        strategy: strategy.clone(),
                    };
                    for p in &pods {
                        let (mut requests, mut terms) = (Vec::new(), PodTerms::default());
                        scorer.pod_requests(p, &mut requests);
                        scorer.prepare(&requests, &mut terms);
                        let mut got = Vec::new();
                        scorer.score_nodes(&terms, &ids, &store, &mut got).unwrap();
                        let want: Vec<NodeScore> = ids
                            .iter()
                            .map(|&node| NodeScore {
                                node,
                                score: scorer.score(store.node(node), &requests).unwrap(),
                            })
                            .collect();
                        assert_eq!(got, want, "{strategy:?} {resources:?} {use_requested}");
                    }
                }
            }
        }
    }
}
