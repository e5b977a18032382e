//! How many template nodes a set of pending pods needs (upstream
//! `estimator/binpacking_estimator.go` with `decreasing_pod_orderer.go`): First-Fit
//! Decreasing. Equivalence groups are ordered by the score of their exemplar
//! (cpu/node cpu + memory/node memory, biggest first); each pod first tries the nodes added so
//! far, then the last added node, and a new node is added only when the last one already holds
//! a pod (a pod that fits no empty template node will not fit a second one) and the limiter
//! allows. The scheduling predicates themselves come from the caller ([`EstimationSnapshot`]),
//! so the algorithm stays pure.

/// The cluster snapshot the estimation forks: new template nodes and the predicates.
pub trait EstimationSnapshot {
    /// Adds a node built from the template; returns its index among the added nodes.
    fn add_template_node(&mut self) -> usize;
    /// Runs the predicates for pod `pod` on added node `node`; places it there if they pass.
    fn try_schedule(&mut self, pod: usize, node: usize) -> bool;
}

/// The result of one estimation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Estimate {
    /// Nodes that got at least one pod.
    pub node_count: usize,
    /// Pods placed, in the order they were placed.
    pub scheduled: Vec<usize>,
}

/// Upstream `DecreasingPodOrderer.calculatePodScore`.
pub fn pod_score(cpu_milli: i64, memory: i64, node_cpu_milli: i64, node_memory: i64) -> f64 {
    let mut score = 0.0;
    if node_cpu_milli > 0 {
        score += cpu_milli as f64 / node_cpu_milli as f64;
    }
    if node_memory > 0 {
        score += memory as f64 / node_memory as f64;
    }
    score
}

/// Upstream `DecreasingPodOrderer.Order`: group indices by score, biggest first (stable, so
/// equal scores keep their order).
pub fn decreasing_order(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order
}

/// Upstream `BinpackingNodeEstimator.Estimate` without the fast path. `groups` are the pod
/// equivalence groups (pod indices) with their exemplar's score; `max_nodes` of 0 means no
/// limit (upstream's static threshold).
pub fn estimate(
    groups: &[(f64, Vec<usize>)],
    max_nodes: usize,
    snapshot: &mut impl EstimationSnapshot,
) -> Estimate {
    let scores: Vec<f64> = groups.iter().map(|g| g.0).collect();
    let order = decreasing_order(&scores);
    let mut state = State::default();
    let mut new_nodes_available = true;
    for &g in &order {
        let pods = &groups[g].1;
        let remaining = state.schedule_on_existing(pods, snapshot);
        if new_nodes_available {
            new_nodes_available = state.schedule_on_new(remaining, max_nodes, snapshot);
        }
    }
    Estimate {
        node_count: state.with_pods.iter().filter(|p| **p).count(),
        scheduled: state.scheduled,
    }
}

#[derive(Default)]
struct State {
    scheduled: Vec<usize>,
    /// Per added node, whether it holds a pod.
    with_pods: Vec<bool>,
    last: Option<usize>,
}

impl State {
    fn track(&mut self, pod: usize, node: usize) {
        self.with_pods[node] = true;
        self.scheduled.push(pod);
    }

    /// Upstream `tryToScheduleOnExistingNodes`: pods go on any added node until one does not
    /// fit; the rest are returned.
    fn schedule_on_existing<'p>(
        &mut self,
        pods: &'p [usize],
        snapshot: &mut impl EstimationSnapshot,
    ) -> &'p [usize] {
        for (i, &pod) in pods.iter().enumerate() {
            let node = (0..self.with_pods.len()).find(|&n| snapshot.try_schedule(pod, n));
            match node {
                Some(n) => self.track(pod, n),
                None => return &pods[i..],
            }
        }
        &[]
    }

    /// Upstream `tryToScheduleOnNewNodes`; false when the limiter stopped adding nodes.
    fn schedule_on_new(
        &mut self,
        pods: &[usize],
        max_nodes: usize,
        snapshot: &mut impl EstimationSnapshot,
    ) -> bool {
        for &pod in pods {
            if let Some(last) = self.last
                && snapshot.try_schedule(pod, last)
            {
                self.track(pod, last);
                continue;
            }
            if let Some(last) = self.last
                && !self.with_pods[last]
            {
                return true;
            }
            if max_nodes > 0 && self.with_pods.len() >= max_nodes {
                return false;
            }
            let node = snapshot.add_template_node();
            if self.with_pods.len() <= node {
                self.with_pods.resize(node + 1, false);
            }
            self.last = Some(node);
            if !snapshot.try_schedule(pod, node) {
                break;
            }
            self.track(pod, node);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resource-only predicates as upstream's test nodes exercise them: cpu, memory, pod
    /// count, and an optional host port.
    struct Fake {
        node: (i64, i64, i64),
        pods: Vec<(i64, i64, Option<u16>)>,
        used: Vec<(i64, i64, i64, Vec<u16>)>,
    }

    impl EstimationSnapshot for Fake {
        fn add_template_node(&mut self) -> usize {
            self.used.push((0, 0, 0, Vec::new()));
            self.used.len() - 1
        }
        fn try_schedule(&mut self, pod: usize, node: usize) -> bool {
            let (cpu, mem, port) = self.pods[pod];
            let u = &mut self.used[node];
            let fits = u.0 + cpu <= self.node.0
                && u.1 + mem <= self.node.1
                && u.2 < self.node.2
                && port.is_none_or(|p| !u.3.contains(&p));
            if fits {
                u.0 += cpu;
                u.1 += mem;
                u.2 += 1;
                u.3.extend(port);
            }
            fits
        }
    }

    const MIB: i64 = 1024 * 1024;

    /// `makeNode(cpu, mem MiB, 10 pods)` and groups of `count` identical pods
    /// (`BuildTestPod(name, cpu, mem bytes)`).
    fn run(
        node: (i64, i64),
        groups: &[(i64, i64, Option<u16>, usize)],
        max_nodes: usize,
    ) -> (Estimate, Vec<usize>) {
        let mut fake = Fake {
            node: (node.0, node.1 * MIB, 10),
            pods: Vec::new(),
            used: Vec::new(),
        };
        let mut gs = Vec::new();
        let mut group_of = Vec::new();
        for (g, &(cpu, mem, port, count)) in groups.iter().enumerate() {
            let first = fake.pods.len();
            for _ in 0..count {
                fake.pods.push((cpu, mem, port));
                group_of.push(g);
            }
            gs.push((
                pod_score(cpu, mem, node.0, node.1 * MIB),
                (first..first + count).collect(),
            ));
        }
        let e = estimate(&gs, max_nodes, &mut fake);
        let groups_placed = e.scheduled.iter().map(|&p| group_of[p]).collect();
        (e, groups_placed)
    }

    // upstream estimator/binpacking_estimator_test.go TestBinpackingEstimate (the cases
    // without topology spreading):
    //   "simple resource-based binpacking": 1000m/2000Mi node, 10 pods of 350m/1000 → 5 nodes, 10 pods
    //   "pods-per-node bound binpacking": 10000m/20000Mi, 20 pods of 10m/100 → 2 nodes, 20 pods
    //   "hostport conflict forces pod-per-node": 1000m/5000Mi, 8 pods of 200m with hostPort 5555 → 8, 8
    //   "limiter cuts binpacking": 1000m/5000Mi, 20 pods of 500m, maxNodes 5 → 5 nodes, 10 pods
    //   "decreasing ordered pods are processed first": 10×50m and 10×500m, maxNodes 5 → 5
    //   nodes, the 10 big pods
    #[test]
    fn binpacking_estimate() {
        let (e, _) = run((350 * 3 - 50, 2 * 1000), &[(350, 1000, None, 10)], 0);
        assert_eq!((e.node_count, e.scheduled.len()), (5, 10));
        let (e, _) = run((10000, 20000), &[(10, 100, None, 20)], 0);
        assert_eq!((e.node_count, e.scheduled.len()), (2, 20));
        let (e, _) = run((1000, 5000), &[(200, 1000, Some(5555), 8)], 0);
        assert_eq!((e.node_count, e.scheduled.len()), (8, 8));
        let (e, _) = run((1000, 5000), &[(500, 1000, None, 20)], 5);
        assert_eq!((e.node_count, e.scheduled.len()), (5, 10));
        let (e, placed) = run(
            (1000, 5000),
            &[(50, 1000, None, 10), (500, 1000, None, 10)],
            5,
        );
        assert_eq!((e.node_count, e.scheduled.len()), (5, 10));
        assert!(placed.iter().all(|&g| g == 1), "{placed:?}");
    }

    // upstream estimator/decreasing_pod_orderer_test.go TestPodSorting: node 4m cpu /
    // 600Mi; p1 = 1m/1B, p2 = 2m/1B, p3 = 2m/100B; "randomised list of pods" [p1, p3, p2]
    // sorts to [p3, p2, p1], "sorted list of pods" stays, "empty pod list" stays empty.
    #[test]
    fn pod_sorting() {
        let score = |cpu, mem| pod_score(cpu, mem, 4, 600 * MIB);
        let (p1, p2, p3) = (score(1, 1), score(2, 1), score(2, 100));
        assert_eq!(decreasing_order(&[p1, p3, p2]), vec![1, 2, 0]);
        assert_eq!(decreasing_order(&[p3, p2, p1]), vec![0, 1, 2]);
        assert_eq!(decreasing_order(&[p1]), vec![0]);
        assert!(decreasing_order(&[]).is_empty());
    }
}
