//! ImageLocality (upstream `pkg/scheduler/framework/plugins/imagelocality/image_locality.go`):
//! prefers nodes that already hold the pod's container images, weighing each image by its size
//! and by how widely it has spread over the cluster (to avoid "node heating").

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::Value;

use crate::api::{NodeId, Pod};
use crate::scheduler::framework::{
    ExtensionPoints, MAX_NODE_SCORE, NodeScore, Plugin, Snapshot, Status,
};
use crate::store::NodeInfo;

pub const NAME: &str = "ImageLocality";

const MB: i64 = 1024 * 1024;
/// Upstream `minThreshold`: 23 MB.
pub const MIN_THRESHOLD: i64 = 23 * MB;
/// Upstream `maxContainerThreshold`: 1000 MB per container.
pub const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

/// Upstream `calculatePriority`: the summed image scores clamped to
/// `[23 MB, 1000 MB × containers]` and mapped linearly onto `[0, 100]`.
pub fn calculate_priority(sum_scores: i64, num_containers: usize) -> i64 {
    let containers = i64::try_from(num_containers).unwrap_or(i64::MAX);
    let max_threshold = MAX_CONTAINER_THRESHOLD.saturating_mul(containers);
    let sum = if sum_scores < MIN_THRESHOLD {
        MIN_THRESHOLD
    } else if sum_scores > max_threshold {
        max_threshold
    } else {
        sum_scores
    };
    // With no containers the range is negative and the sum sits at its low end: 0, as upstream.
    (MAX_NODE_SCORE * (sum - MIN_THRESHOLD))
        .checked_div(max_threshold - MIN_THRESHOLD)
        .unwrap_or(0)
}

/// Upstream `scaledImageScore`: `int64(float64(size) * numNodes/totalNumNodes)`.
pub fn scaled_image_score(size: i64, num_nodes: u32, total_num_nodes: usize) -> i64 {
    let spread = f64::from(num_nodes) / total_num_nodes as f64;
    (size as f64 * spread) as i64
}

/// Upstream `normalizedImageName` compared without allocating: a pod image without a tag (no
/// `:` after the last `/`) means `:latest`.
pub fn image_matches(node_image: &str, pod_image: &str) -> bool {
    let tagged = match (pod_image.rfind(':'), pod_image.rfind('/')) {
        (Some(colon), Some(slash)) => colon > slash,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if tagged {
        node_image == pod_image
    } else {
        node_image.len() == pod_image.len() + ":latest".len()
            && node_image.starts_with(pod_image)
            && node_image.ends_with(":latest")
    }
}

/// Image name → number of live nodes holding it (upstream `ImageStateSummary.NumNodes`), for one
/// store at one node generation.
#[derive(Debug, Default)]
struct Spread {
    store: u64,
    node_generation: u64,
    built: bool,
    total_nodes: usize,
    num_nodes: BTreeMap<String, u32>,
}

impl Spread {
    fn refresh(&mut self, snapshot: &Snapshot) {
        let log = snapshot.change_log();
        if self.built && self.store == log.id() && self.node_generation == log.node_generation() {
            return;
        }
        self.num_nodes.clear();
        self.total_nodes = 0;
        let mut names: Vec<&str> = Vec::new();
        for info in snapshot.live_nodes() {
            self.total_nodes += 1;
            names.clear();
            names.extend(info.node.images.iter().map(|(n, _)| n.as_str()));
            names.sort_unstable();
            names.dedup();
            for n in &names {
                *self.num_nodes.entry((*n).to_string()).or_default() += 1;
            }
        }
        self.store = log.id();
        self.node_generation = log.node_generation();
        self.built = true;
    }
}

/// Upstream `sumImageScores`: for each container image on the node, its size scaled by its
/// spread. Upstream's per-node map keeps the last size listed under a name.
pub fn sum_image_scores(
    pod: &Pod,
    node: &NodeInfo,
    num_nodes: impl Fn(&str) -> u32,
    total_num_nodes: usize,
) -> i64 {
    pod.images
        .iter()
        .filter_map(|image| {
            node.node
                .images
                .iter()
                .rev()
                .find(|(n, _)| image_matches(n, image))
        })
        .map(|(name, size)| scaled_image_score(*size, num_nodes(name), total_num_nodes))
        .sum()
}

/// Score only, as upstream. The spread of each image is computed once per set of nodes and
/// cached (the score point takes `&self`, hence the cell).
#[derive(Debug, Default)]
pub struct ImageLocality {
    spread: RefCell<Spread>,
}

impl ImageLocality {
    pub fn factory(_args: Option<&Value>) -> Result<Box<dyn Plugin>, String> {
        Ok(Box::new(ImageLocality::default()))
    }
}

impl Plugin for ImageLocality {
    fn name(&self) -> &str {
        NAME
    }

    fn extension_points(&self) -> ExtensionPoints {
        ExtensionPoints::SCORE
    }

    fn score(&self, pod: &Pod, node: &NodeInfo, snapshot: &Snapshot) -> Result<i64, Status> {
        // Nothing can match on a node without images: skip the spread bookkeeping.
        let sum = if pod.images.is_empty() || node.node.images.is_empty() {
            0
        } else {
            let mut spread = self.spread.borrow_mut();
            spread.refresh(snapshot);
            let total = spread.total_nodes;
            sum_image_scores(
                pod,
                node,
                |name| spread.num_nodes.get(name).copied().unwrap_or(0),
                total,
            )
        };
        Ok(calculate_priority(sum, pod.images.len()))
    }

    /// A pod without images scores the same on every node (nothing to match): computed once;
    /// so does a node without images, and the spread is refreshed once per call.
    fn score_nodes(
        &self,
        pod: &Pod,
        nodes: &[NodeId],
        snapshot: &Snapshot,
        out: &mut Vec<NodeScore>,
    ) -> Result<(), Status> {
        out.reserve(nodes.len());
        if pod.images.is_empty() {
            let score = calculate_priority(0, 0);
            out.extend(nodes.iter().map(|&node| NodeScore { node, score }));
            return Ok(());
        }
        // Nodes without images (most, unless image pulls are modelled) all score this.
        let no_images = calculate_priority(0, pod.images.len());
        let mut spread = None;
        for &node in nodes {
            let score = if !snapshot.node_summary(node).has_images {
                no_images
            } else {
                let info = snapshot.node(node);
                let spread = spread.get_or_insert_with(|| {
                    let mut spread = self.spread.borrow_mut();
                    spread.refresh(snapshot);
                    spread
                });
                let total = spread.total_nodes;
                let sum = sum_image_scores(
                    pod,
                    info,
                    |name| spread.num_nodes.get(name).copied().unwrap_or(0),
                    total,
                );
                calculate_priority(sum, pod.images.len())
            };
            out.push(NodeScore { node, score });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::testing::{node, pod, snapshot};

    fn image_node(name: &str, images: &[(&[&str], i64)]) -> crate::api::Node {
        let mut n = node(name).obj();
        // A node status lists each image with all its names; kubesim keeps one entry per name.
        for (names, size_mb) in images {
            for image in *names {
                n.images.push(((*image).to_string(), size_mb * MB));
            }
        }
        n
    }

    fn scores(images: &[&str], nodes: Vec<crate::api::Node>) -> Vec<i64> {
        let store = snapshot(nodes, vec![]);
        let mut p = pod("p").obj();
        p.images = images.iter().map(|s| (*s).to_string()).collect();
        let pl = ImageLocality::default();
        store
            .nodes
            .iter()
            .map(|n| pl.score(&p, n, &store).unwrap())
            .collect()
    }

    // image_locality_test.go TestImageLocalityPriority: every case of the upstream table.
    #[test]
    fn score_matches_upstream_table() {
        let node403002000 = || {
            image_node(
                "node1",
                &[
                    (&["gcr.io/40:latest", "gcr.io/40:v1", "gcr.io/40:v1"], 40),
                    (&["gcr.io/300:latest", "gcr.io/300:v1"], 300),
                    (&["gcr.io/2000:latest"], 2000),
                ],
            )
        };
        let node25010 = |name: &str| {
            image_node(
                name,
                &[
                    (&["gcr.io/250:latest"], 250),
                    (&["gcr.io/10:latest", "gcr.io/10:v1"], 10),
                ],
            )
        };
        let node60040900 = || {
            image_node(
                "node1",
                &[
                    (&["gcr.io/600:latest"], 600),
                    (&["gcr.io/40:latest"], 40),
                    (&["gcr.io/900:latest"], 900),
                ],
            )
        };
        let node300600900 = || {
            image_node(
                "node2",
                &[
                    (&["gcr.io/300:latest"], 300),
                    (&["gcr.io/600:latest"], 600),
                    (&["gcr.io/900:latest"], 900),
                ],
            )
        };
        let node400030 = |name: &str| {
            image_node(
                name,
                &[(&["gcr.io/4000:latest"], 4000), (&["gcr.io/30:latest"], 30)],
            )
        };
        let node203040 = |name: &str| {
            image_node(
                name,
                &[
                    (&["gcr.io/20:latest"], 20),
                    (&["gcr.io/30:latest"], 30),
                    (&["gcr.io/40:latest"], 40),
                ],
            )
        };
        // "two images spread on two nodes, prefer the larger image one":
        // 100 * (250M/2 - 23M)/(1000M * 2 - 23M) = 5
        assert_eq!(
            scores(
                &["gcr.io/40", "gcr.io/250"],
                vec![node403002000(), node25010("node2")]
            ),
            [0, 5]
        );
        // "two images on one node, prefer this node": 100 * ((40M + 300M)/2 - 23M)/(2000M - 23M) = 7
        assert_eq!(
            scores(
                &["gcr.io/40", "gcr.io/300"],
                vec![node403002000(), node25010("node2")]
            ),
            [7, 0]
        );
        // "if exceed limit, use limit": 4000M * 1/2 >= 1000M * 2
        assert_eq!(
            scores(
                &["gcr.io/10", "gcr.io/4000"],
                vec![node400030("node1"), node25010("node2")]
            ),
            [100, 0]
        );
        // "if exceed limit, use limit (with node which has no images present)":
        // 100 * (4000M/3 - 23M)/(1000M * 2 - 23M) = 66
        assert_eq!(
            scores(
                &["gcr.io/10", "gcr.io/4000"],
                vec![
                    node400030("node1"),
                    node25010("node2"),
                    image_node("node3", &[])
                ]
            ),
            [66, 0, 0]
        );
        // "pod with multiple large images, node2 is preferred": 32 and 36.
        assert_eq!(
            scores(
                &["gcr.io/300", "gcr.io/600", "gcr.io/900"],
                vec![node60040900(), node300600900(), image_node("node3", &[])]
            ),
            [32, 36, 0]
        );
        // "pod with multiple small images": 100 * (30M + 40M * 1/2 - 23M) / (2000M - 23M) = 1
        assert_eq!(
            scores(
                &["gcr.io/30", "gcr.io/40"],
                vec![node203040("node1"), node400030("node2")]
            ),
            [1, 0]
        );
        // "include InitContainers: two images spread on two nodes, prefer the larger image one":
        // init container gcr.io/300 first, then gcr.io/30; 100 * (300M/2 - 23M)/(2000M - 23M) = 6
        assert_eq!(
            scores(
                &["gcr.io/300", "gcr.io/30"],
                vec![node403002000(), node203040("node2")]
            ),
            [6, 0]
        );
    }

    // image_locality_test.go TestNormalizedImageName.
    #[test]
    fn normalized_image_names_match_upstream() {
        assert!(image_matches("root:latest", "root"));
        assert!(image_matches("gcr.io:5000/root:latest", "gcr.io:5000/root"));
        assert!(image_matches("root:tag", "root:tag"));
        let digest = "root@sha256:4813494d137e1631bba301d5acab6e7bb7aa74ce1185d456565ef51d737677b2";
        assert!(image_matches(digest, digest));
        assert!(!image_matches("root:tag", "root"));
        assert!(!image_matches("gcr.io:5000/root", "gcr.io:5000/root"));
    }

    #[test]
    fn pods_without_containers_or_images_score_zero() {
        assert_eq!(calculate_priority(0, 0), 0);
        assert_eq!(calculate_priority(0, 2), 0);
        assert_eq!(
            scores(&[], vec![image_node("n", &[(&["a:latest"], 500)])]),
            [0]
        );
    }
}
