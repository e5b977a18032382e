//! The resource scorer shared by NodeResourcesFit and NodeResourcesBalancedAllocation, with the
//! three scoring strategies, after upstream `noderesources/resource_allocation.go`,
//! `least_allocated.go`, `most_allocated.go`, `requested_to_capacity_ratio.go` and the scorer
//! function of `balanced_allocation.go`.
//!
//! Upstream builds `requested` / `allocatable` slices per node; here each strategy streams over
//! the configured resources instead, so scoring a node allocates nothing. The arithmetic and the
//! order of floating-point operations are upstream's.

use crate::api::{NodeId, Pod, ResourceName};
use crate::scheduler::framework::{MAX_NODE_SCORE, NodeScore, Snapshot, Status};
use crate::scheduler::plugins::helper::{
    FunctionShapePoint, broken_linear, is_dns1123_subdomain, matches_qualified_name_part,
};
use crate::store::NodeInfo;

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
    Source::of(resource, pod_request).map_or((0, 0), |source| {
        source.pair(node, pod_request, use_requested)
    })
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

/// Upstream `balancedResourceScorer` over `(requested, allocatable)` pairs whose allocatable is
/// non-zero: `(1 - std) * 100`, truncated, where each fraction is capped at 1 and the standard
/// deviation of two fractions is `|f0 - f1| / 2`.
pub fn balanced_resource_score(pairs: impl Iterator<Item = (i64, i64)> + Clone) -> i64 {
    let fraction = |(requested, allocatable): (i64, i64)| {
        let f = requested as f64 / allocatable as f64;
        if f > 1.0 { 1.0 } else { f }
    };
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

    /// [`Self::score`] for each of `nodes`, appended to `out`. What `allocatable_and_requested`
    /// decides from the resource and the pod's request alone is decided once here, so the
    /// per-node loop only reads the node's numbers.
    pub fn score_nodes(
        &self,
        pod_requests: &[i64],
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
        let sources: Vec<(i64, i64, Source<'_>)> = self
            .resources
            .iter()
            .zip(pod_requests)
            .filter_map(|(r, &pod_request)| {
                Source::of(&r.resource, pod_request).map(|s| (r.weight, pod_request, s))
            })
            .collect();
        out.reserve(nodes.len());
        for &node in nodes {
            let info = snapshot.node(node);
            let pairs = sources.iter().filter_map(|&(weight, pod_request, source)| {
                let (alloc, req) = source.pair(info, pod_request, self.use_requested);
                (alloc != 0).then_some((weight, req, alloc))
            });
            out.push(NodeScore {
                node,
                score: self.combine(pairs),
            });
        }
        Ok(())
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

/// Where [`allocatable_and_requested`] takes a resource's numbers from, for resources it does
/// not leave out whatever the node.
#[derive(Clone, Copy, Debug)]
enum Source<'a> {
    Cpu,
    Memory,
    EphemeralStorage,
    Scalar(&'a str),
}

impl<'a> Source<'a> {
    /// `None` for what `allocatable_and_requested` gives `(0, 0)` on every node: scalar
    /// resources the pod does not request, `pods`, and names that are not scalar resources.
    fn of(resource: &'a ResourceName, pod_request: i64) -> Option<Self> {
        match resource {
            ResourceName::Cpu => Some(Source::Cpu),
            ResourceName::Memory => Some(Source::Memory),
            ResourceName::EphemeralStorage => Some(Source::EphemeralStorage),
            ResourceName::Extended(name) if pod_request != 0 && is_scalar_resource_name(name) => {
                Some(Source::Scalar(name))
            }
            _ => None,
        }
    }

    /// `allocatable_and_requested` for this source.
    fn pair(self, node: &NodeInfo, pod_request: i64, use_requested: bool) -> (i64, i64) {
        let alloc = &node.node.allocatable;
        match self {
            Source::Cpu => {
                let requested = if use_requested {
                    node.requested.cpu_milli
                } else {
                    node.non_zero_requested_cpu_milli
                };
                (alloc.cpu_milli, requested.saturating_add(pod_request))
            }
            Source::Memory => {
                let requested = if use_requested {
                    node.requested.memory
                } else {
                    node.non_zero_requested_memory
                };
                (alloc.memory, requested.saturating_add(pod_request))
            }
            Source::EphemeralStorage => (
                alloc.ephemeral_storage,
                node.requested.ephemeral_storage.saturating_add(pod_request),
            ),
            Source::Scalar(name) => match alloc
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
            },
        }
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
}
