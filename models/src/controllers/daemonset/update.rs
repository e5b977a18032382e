//! Upstream `pkg/controller/daemon/update.go`: one `rollingUpdate` step and the counts it is
//! bounded by (`updatedDesiredNodeCounts`), as pure functions.
//!
//! Upstream walks its node → pods map in Go's random map order; here nodes are walked in the
//! order given (callers pass them sorted by name). Only which of several equally eligible
//! nodes is picked depends on that order, never how many.

use super::placement::{DaemonPod, Revision};
use super::util::{surge_count, unavailable_count};
use crate::api::DaemonSetUpdateStrategy;

/// Upstream `updatedDesiredNodeCounts` → `(maxSurge, maxUnavailable)` for
/// `desired_number_scheduled` nodes that should run the pod: the strategy's values scaled
/// against it, and `maxUnavailable` 1 when both come out 0 while some node wants a pod (the
/// API server rejects that configuration; upstream guards against it anyway).
pub fn updated_desired_node_counts(
    strategy: &DaemonSetUpdateStrategy,
    desired_number_scheduled: i32,
) -> (i32, i32) {
    let mut max_unavailable = unavailable_count(strategy, desired_number_scheduled);
    let max_surge = surge_count(strategy, desired_number_scheduled);
    if desired_number_scheduled > 0 && max_unavailable == 0 && max_surge == 0 {
        max_unavailable = 1;
    }
    (max_surge, max_unavailable)
}

/// One node as `rollingUpdate` sees it. Callers pass every node that should run the pod (with
/// its pods, possibly none: `updatedDesiredNodeCounts` adds empty entries for them) and every
/// other node name that daemon pods target.
#[derive(Clone, Copy, Debug)]
pub struct NodeView<'a> {
    pub node_name: &'a str,
    /// The node's pods, grouped as `getNodesToDaemonPods` does.
    pub pods: &'a [DaemonPod<'a>],
    /// `NodeShouldRunDaemonPod(node).shouldRun`; `None` when the node is not in the node list.
    pub should_run: Option<bool>,
}

/// What one `rollingUpdate` passes to `syncNodes`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RollingUpdateStep {
    /// `oldPodsToDelete`, in upstream's order.
    pub old_pods_to_delete: Vec<String>,
    /// `newNodesToCreate`: nodes to create an updated pod on (surge only).
    pub new_nodes_to_create: Vec<String>,
}

/// Upstream `findUpdatedPodsOnNode`: the node's one updated and one old pod, ignoring pods being
/// deleted; `None` when there are two of either (the manage loop prunes those first).
fn find_updated_pods_on_node<'a, 'p>(
    pods: &'a [DaemonPod<'p>],
    revision: Revision<'_>,
) -> Option<(Option<&'a DaemonPod<'p>>, Option<&'a DaemonPod<'p>>)> {
    let mut new_pod = None;
    let mut old_pod = None;
    for pod in pods.iter().filter(|p| !p.deleting) {
        let slot = if pod.is_updated(revision) {
            &mut new_pod
        } else {
            &mut old_pod
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(pod);
    }
    Some((new_pod, old_pod))
}

/// Upstream `rollingUpdate`, given `updatedDesiredNodeCounts`' results.
///
/// Without surge (`max_surge == 0`): old pods that are not available are deleted at once (each
/// counting as unavailable); available old pods are deleted while the unavailable count stays
/// under `max_unavailable`, where a node without pods, with two pods, with too many pods or with
/// an unavailable updated pod counts as unavailable. The manage loop then creates the
/// replacements.
///
/// With surge: an updated pod is created next to an old pod that is not available (if the node
/// should still run the pod) and next to up to `max_surge` available old pods, less the nodes
/// already surging (an updated pod not yet available, or too many pods); an old pod is deleted
/// once the updated pod next to it is available. Old pods on nodes that should no longer run
/// the pod are deleted only while more pods are available than `desired_number_scheduled`.
///
/// `Err` when an old pod's node is not in the node list (`should_run: None`) where upstream
/// needs it: upstream's node lister fails the sync.
pub fn rolling_update(
    nodes: &[NodeView<'_>],
    revision: Revision<'_>,
    max_surge: i32,
    max_unavailable: i32,
    desired_number_scheduled: i32,
) -> Result<RollingUpdateStep, String> {
    if max_surge == 0 {
        return Ok(rolling_update_without_surge(
            nodes,
            revision,
            max_unavailable,
        ));
    }
    let mut step = RollingUpdateStep::default();
    let mut should_not_run_pods_to_delete: Vec<String> = Vec::new();
    let mut candidate_new_nodes: Vec<String> = Vec::new();
    let mut allowed_new_nodes: Vec<String> = Vec::new();
    let mut num_surge: i32 = 0;
    let mut num_available: i32 = 0;
    let should_run = |n: &NodeView<'_>| {
        n.should_run.ok_or_else(|| {
            format!(
                "couldn't get node for nodeName {:?}: not found",
                n.node_name
            )
        })
    };
    for n in nodes {
        let Some((new_pod, old_pod)) = find_updated_pods_on_node(n.pods, revision) else {
            // Excess pods: the manage loop cleans up; count the node as surging.
            num_surge = num_surge.saturating_add(1);
            continue;
        };
        // Availability counts every node, including ones being sunset.
        if let Some(p) = old_pod.or(new_pod)
            && p.available
        {
            num_available = num_available.saturating_add(1);
        }
        match (new_pod, old_pod) {
            (_, None) => {}
            (None, Some(old)) if !old.available => {
                if !should_run(n)? {
                    step.old_pods_to_delete.push(old.name.to_string());
                    continue;
                }
                allowed_new_nodes.push(n.node_name.to_string());
            }
            (None, Some(old)) => {
                if !should_run(n)? {
                    should_not_run_pods_to_delete.push(old.name.to_string());
                    continue;
                }
                if num_surge >= max_surge {
                    continue;
                }
                candidate_new_nodes.push(n.node_name.to_string());
            }
            (Some(new), Some(old)) => {
                if !new.available {
                    num_surge = num_surge.saturating_add(1);
                    continue;
                }
                step.old_pods_to_delete.push(old.name.to_string());
            }
        }
    }
    // With surge the owner expects full availability: a pod on a node that should no longer
    // run it goes only while another pod is available in its stead.
    let deletable = num_available.saturating_sub(desired_number_scheduled);
    if deletable > 0 {
        let n = usize::try_from(deletable)
            .unwrap_or(usize::MAX)
            .min(should_not_run_pods_to_delete.len());
        step.old_pods_to_delete
            .extend(should_not_run_pods_to_delete.into_iter().take(n));
    }
    let remaining = usize::try_from(max_surge.saturating_sub(num_surge).max(0))
        .unwrap_or(usize::MAX)
        .min(candidate_new_nodes.len());
    step.new_nodes_to_create = allowed_new_nodes;
    step.new_nodes_to_create
        .extend(candidate_new_nodes.into_iter().take(remaining));
    Ok(step)
}

fn rolling_update_without_surge(
    nodes: &[NodeView<'_>],
    revision: Revision<'_>,
    max_unavailable: i32,
) -> RollingUpdateStep {
    let mut num_unavailable: i32 = 0;
    let mut allowed_replacement_pods: Vec<String> = Vec::new();
    let mut candidate_pods_to_delete: Vec<String> = Vec::new();
    for n in nodes {
        let Some((new_pod, old_pod)) = find_updated_pods_on_node(n.pods, revision) else {
            // Excess pods: the manage loop cleans up; count the node as unavailable.
            num_unavailable = num_unavailable.saturating_add(1);
            continue;
        };
        match (new_pod, old_pod) {
            (None, None) | (Some(_), Some(_)) => {
                num_unavailable = num_unavailable.saturating_add(1);
            }
            (Some(new), None) => {
                if !new.available {
                    num_unavailable = num_unavailable.saturating_add(1);
                }
            }
            (None, Some(old)) => {
                if !old.available {
                    allowed_replacement_pods.push(old.name.to_string());
                    num_unavailable = num_unavailable.saturating_add(1);
                } else if num_unavailable < max_unavailable {
                    candidate_pods_to_delete.push(old.name.to_string());
                }
            }
        }
    }
    let remaining = usize::try_from(max_unavailable.saturating_sub(num_unavailable).max(0))
        .unwrap_or(usize::MAX)
        .min(candidate_pods_to_delete.len());
    let mut old_pods_to_delete = allowed_replacement_pods;
    old_pods_to_delete.extend(candidate_pods_to_delete.into_iter().take(remaining));
    RollingUpdateStep {
        old_pods_to_delete,
        new_nodes_to_create: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    //! The scenarios of upstream `pkg/controller/daemon/update_test.go`, replayed step by step
    //! through a small model of the test's fake world: `sync` runs upstream's `syncDaemonSet`
    //! core (`manage` through `pods_should_be_on_node`, then `rollingUpdate` when the strategy
    //! is RollingUpdate), and the fake pod control creates and deletes pods at once, as the
    //! test's `fakePodControl` does. `sync` returns (creates, deletes) as
    //! `expectSyncDaemonSets` checks them.

    use std::collections::BTreeMap;

    use sim_core::{SimDuration, SimTime};

    use super::*;
    use crate::api::{
        IntOrPercent, Node, Pod, PodPhase, Taint, TaintEffect, Toleration, TolerationOperator,
    };
    use crate::controllers::daemonset::placement::{
        node_should_run_daemon_pod, pods_should_be_on_node,
    };
    use crate::controllers::daemonset::util::allows_surge;

    #[derive(Clone, Debug)]
    struct FakePod {
        name: String,
        node: String,
        hash: String,
        /// `LastTransitionTime` of `Ready=True`, when ready.
        ready_since: Option<SimTime>,
        /// Zero until `clear_expectations` stamps it, as upstream's fake pod control leaves
        /// `creationTimestamp` unset.
        created: Option<SimTime>,
        phase: PodPhase,
    }

    struct World {
        nodes: Vec<Node>,
        template: Pod,
        hash: String,
        strategy: DaemonSetUpdateStrategy,
        min_ready_seconds: u64,
        now: SimTime,
        pods: BTreeMap<String, FakePod>,
        next_id: u32,
    }

    fn node_names(n: usize) -> Vec<Node> {
        (0..n)
            .map(|i| Node {
                name: format!("node-{i}"),
                ..Node::default()
            })
            .collect()
    }

    fn max_unavailable(n: i32) -> DaemonSetUpdateStrategy {
        // newUpdateUnavailable: MaxSurge unset, i.e. 0.
        DaemonSetUpdateStrategy::RollingUpdate {
            max_unavailable: IntOrPercent::Int(n),
            max_surge: IntOrPercent::Int(0),
        }
    }

    fn max_surge(n: i32) -> DaemonSetUpdateStrategy {
        // newUpdateSurge: MaxUnavailable 0.
        DaemonSetUpdateStrategy::RollingUpdate {
            max_unavailable: IntOrPercent::Int(0),
            max_surge: IntOrPercent::Int(n),
        }
    }

    impl World {
        /// newDaemonSet("foo"): OnDelete strategy, `nodes` nodes `node-0`….
        fn new(nodes: usize) -> World {
            World {
                nodes: node_names(nodes),
                template: Pod::default(),
                hash: "rev-1".into(),
                strategy: DaemonSetUpdateStrategy::OnDelete,
                min_ready_seconds: 0,
                now: SimTime::from_nanos(0),
                pods: BTreeMap::new(),
                next_id: 0,
            }
        }

        /// A template change: a new ControllerRevision hash.
        fn new_revision(&mut self) {
            let n: u32 = self.hash.trim_start_matches("rev-").parse().unwrap_or(0);
            self.hash = format!("rev-{}", n + 1);
        }

        fn set_clock(&mut self, secs: u64) {
            self.now = SimTime::from_nanos(0) + SimDuration::from_secs(secs);
        }

        fn available(&self, p: &FakePod) -> bool {
            // podutil.IsPodAvailable: ready, and ready for longer than minReadySeconds.
            match p.ready_since {
                None => false,
                Some(_) if self.min_ready_seconds == 0 => true,
                Some(t) => t + SimDuration::from_secs(self.min_ready_seconds) < self.now,
            }
        }

        fn daemon_pods(&self, node: &str) -> Vec<DaemonPod<'_>> {
            self.pods
                .values()
                .filter(|p| p.node == node)
                .map(|p| DaemonPod {
                    name: &p.name,
                    phase: p.phase,
                    deleting: false,
                    created: p.created.unwrap_or(SimTime::ZERO),
                    scheduled: false,
                    revision_hash: Some(&p.hash),
                    template_generation: None,
                    ready: p.ready_since.is_some(),
                    available: self.available(p),
                })
                .collect()
        }

        fn create(&mut self, node: &str) {
            self.next_id += 1;
            let name = format!("pod-{:04}", self.next_id);
            self.pods.insert(
                name.clone(),
                FakePod {
                    name,
                    node: node.into(),
                    hash: self.hash.clone(),
                    ready_since: None,
                    created: None,
                    phase: PodPhase::Pending,
                },
            );
        }

        fn revision(&self) -> Revision<'_> {
            Revision {
                hash: &self.hash,
                template_generation: None,
            }
        }

        /// `syncDaemonSet` with expectations satisfied: `manage`, then `rollingUpdate`.
        fn sync(&mut self) -> (usize, usize) {
            let (mut creates, mut deletes) = (0, 0);
            let placement: Vec<(String, bool, bool)> = self
                .nodes
                .iter()
                .map(|n| {
                    let (run, cont) = node_should_run_daemon_pod(n, &self.template, false);
                    (n.name.clone(), run, cont)
                })
                .collect();
            let surge = allows_surge(&self.strategy);
            let mut to_create = Vec::new();
            let mut to_delete = Vec::new();
            for (name, run, cont) in &placement {
                let d = pods_should_be_on_node(
                    *run,
                    *cont,
                    &self.daemon_pods(name),
                    surge,
                    &self.hash,
                    false,
                );
                if d.create {
                    to_create.push(name.clone());
                }
                to_delete.extend(d.delete);
            }
            creates += to_create.len();
            deletes += to_delete.len();
            for n in &to_create {
                self.create(n);
            }
            for p in &to_delete {
                self.pods.remove(p);
            }
            if matches!(self.strategy, DaemonSetUpdateStrategy::RollingUpdate { .. }) {
                let desired = placement.iter().filter(|(_, run, _)| *run).count();
                let desired = i32::try_from(desired).unwrap_or(i32::MAX);
                let (surge, unavailable) = updated_desired_node_counts(&self.strategy, desired);
                let pods: Vec<(String, Vec<DaemonPod>, bool)> = placement
                    .iter()
                    .map(|(name, run, _)| (name.clone(), self.daemon_pods(name), *run))
                    .filter(|(_, pods, run)| *run || !pods.is_empty())
                    .collect();
                let views: Vec<NodeView<'_>> = pods
                    .iter()
                    .map(|(name, pods, run)| NodeView {
                        node_name: name,
                        pods,
                        should_run: Some(*run),
                    })
                    .collect();
                let step = rolling_update(&views, self.revision(), surge, unavailable, desired)
                    .expect("every node exists");
                creates += step.new_nodes_to_create.len();
                deletes += step.old_pods_to_delete.len();
                for n in &step.new_nodes_to_create {
                    self.create(n);
                }
                for p in &step.old_pods_to_delete {
                    self.pods.remove(p);
                }
            }
            (creates, deletes)
        }

        /// `clearExpectations`: pods the fake created get their creation time.
        fn clear_expectations(&mut self) {
            let now = self.now;
            for p in self.pods.values_mut() {
                p.created.get_or_insert(now);
            }
        }

        fn expect_sync(&mut self, creates: usize, deletes: usize, step: &str) {
            self.clear_expectations();
            assert_eq!(self.sync(), (creates, deletes), "{step}");
        }

        /// `markPodsReady`.
        fn mark_pods_ready(&mut self) {
            let now = self.now;
            for p in self.pods.values_mut() {
                p.ready_since.get_or_insert(now);
            }
        }

        /// `setPodReadiness`: up to `count` pods matching `f` whose readiness differs.
        fn set_pod_readiness(
            &mut self,
            ready: bool,
            count: usize,
            f: impl Fn(&World, &FakePod) -> bool,
        ) {
            let names: Vec<String> = self
                .pods
                .values()
                .filter(|p| p.ready_since.is_some() != ready && f(self, p))
                .map(|p| p.name.clone())
                .take(count)
                .collect();
            assert_eq!(
                names.len(),
                count,
                "could not mark {count} pods ready={ready}"
            );
            let now = self.now;
            for n in names {
                if let Some(p) = self.pods.get_mut(&n) {
                    p.ready_since = ready.then_some(now);
                }
            }
        }

        fn ready_count(&self) -> usize {
            self.pods
                .values()
                .filter(|p| p.ready_since.is_some())
                .count()
        }
    }

    #[test]
    fn daemon_set_updates_pods() {
        // upstream update_test.go TestDaemonSetUpdatesPods: 5 nodes, maxUnavailable 2.
        let mut w = World::new(5);
        w.expect_sync(5, 0, "initial");
        w.mark_pods_ready();
        w.new_revision();
        w.strategy = max_unavailable(2);
        w.expect_sync(0, 2, "delete 2 old");
        w.expect_sync(2, 0, "create 2 new");
        w.mark_pods_ready();
        w.expect_sync(0, 2, "delete 2 old");
        w.expect_sync(2, 0, "create 2 new");
        w.mark_pods_ready();
        w.expect_sync(0, 1, "delete the last old");
        w.expect_sync(1, 0, "create the last new");
        w.mark_pods_ready();
        w.expect_sync(0, 0, "done");
    }

    #[test]
    fn daemon_set_updates_pods_with_max_surge() {
        // upstream update_test.go TestDaemonSetUpdatesPodsWithMaxSurge: 5 nodes, maxSurge 2.
        let mut w = World::new(5);
        w.expect_sync(5, 0, "initial");
        w.mark_pods_ready();
        w.new_revision();
        w.strategy = max_surge(2);
        w.expect_sync(2, 0, "surge 2");
        w.expect_sync(0, 0, "wait for the new pods");
        w.mark_pods_ready();
        w.expect_sync(2, 2, "replace 2 old, surge 2");
        w.expect_sync(0, 0, "wait");
        w.mark_pods_ready();
        w.expect_sync(5 % 2, 2, "replace 2 old, surge the last");
        w.expect_sync(0, 0, "wait");
        w.mark_pods_ready();
        w.expect_sync(0, 5 % 2, "replace the last old");
        w.expect_sync(0, 0, "done");
    }

    #[test]
    fn daemon_set_updates_pods_not_match_taints_with_max_surge() {
        // upstream update_test.go TestDaemonSetUpdatesPodsNotMatchTainstWithMaxSurge: node-0
        // carries a control-plane NoSchedule taint the first template tolerates and the second
        // does not; maxSurge 1.
        let control_plane = "node-role.kubernetes.io/control-plane";
        let mut w = World::new(5);
        w.strategy = max_surge(1);
        w.template.tolerations = vec![Toleration {
            key: control_plane.into(),
            operator: TolerationOperator::Exists,
            value: String::new(),
            effect: None,
            toleration_seconds: None,
        }]
        .into();
        w.nodes[0].taints = vec![Taint {
            key: control_plane.into(),
            value: String::new(),
            effect: TaintEffect::NoSchedule,
        }];
        w.expect_sync(5, 0, "initial");
        w.mark_pods_ready();
        w.template.tolerations.clear();
        w.new_revision();
        w.expect_sync(1, 1, "surge 1, drop node-0's pod");
        w.expect_sync(0, 0, "wait");
        for round in 0..3 {
            w.mark_pods_ready();
            w.expect_sync(1, 1, &format!("round {round}"));
            w.expect_sync(0, 0, "wait");
        }
        w.mark_pods_ready();
        w.expect_sync(0, 1, "replace the last old");
        w.expect_sync(0, 0, "done");
        assert!(w.pods.values().all(|p| p.node != "node-0"));
    }

    #[test]
    fn daemon_set_updates_when_new_pod_is_not_ready() {
        // upstream update_test.go TestDaemonSetUpdatesWhenNewPodIsNotReady: maxUnavailable 3;
        // the new pods never become ready, so the update stops at 3.
        let mut w = World::new(5);
        w.expect_sync(5, 0, "initial");
        w.mark_pods_ready();
        w.new_revision();
        w.strategy = max_unavailable(3);
        w.expect_sync(0, 3, "delete 3 old");
        w.expect_sync(3, 0, "create 3 new");
        w.expect_sync(0, 0, "new pods not ready: numUnavailable == maxUnavailable");
    }

    #[test]
    fn daemon_set_updates_some_old_pods_not_ready() {
        // upstream update_test.go TestDaemonSetUpdatesSomeOldPodsNotReady: maxUnavailable 2;
        // the 2 new pods of the first update never become ready, so the second update replaces
        // just them and the 3 ready pods stay.
        let mut w = World::new(5);
        w.expect_sync(5, 0, "initial");
        w.mark_pods_ready();
        w.new_revision();
        w.strategy = max_unavailable(2);
        w.expect_sync(0, 2, "delete 2 old");
        w.expect_sync(2, 0, "create 2 new");
        w.expect_sync(0, 0, "wait");
        w.new_revision();
        w.expect_sync(0, 2, "delete the 2 unready pods");
        w.expect_sync(2, 0, "create 2 new");
        w.expect_sync(0, 0, "wait");
        assert_eq!(w.ready_count(), 5 - 2);
    }

    #[test]
    fn daemon_set_updates_save_old_healthy_pods() {
        // upstream update_test.go TestDaemonSetUpdatesSaveOldHealthyPods: 20 nodes; 10 pods of
        // an update that never become ready are replaced at every later update whatever
        // maxUnavailable is, and the 10 ready ones are never touched. Upstream draws
        // maxUnavailable with rand.Intn(10); here every value 0..9 is tried (0 and 0 surge fall
        // back to 1).
        let mut w = World::new(20);
        w.expect_sync(20, 0, "initial");
        w.mark_pods_ready();
        w.new_revision();
        w.strategy = max_unavailable(10);
        w.expect_sync(0, 10, "delete 10 old");
        w.expect_sync(10, 0, "create 10 new");
        w.expect_sync(0, 0, "wait");
        let old_ready: Vec<String> = w
            .pods
            .values()
            .filter(|p| p.ready_since.is_some())
            .map(|p| p.name.clone())
            .collect();
        assert_eq!(old_ready.len(), 10);
        for max in 0..10 {
            w.strategy = max_unavailable(max);
            w.new_revision();
            w.expect_sync(
                0,
                10,
                &format!("maxUnavailable {max}: delete the 10 unready"),
            );
            w.expect_sync(10, 0, "create 10");
            w.expect_sync(0, 0, "wait");
            assert!(old_ready.iter().all(|n| w.pods.contains_key(n)));
        }
        w.strategy = max_unavailable(11);
        w.new_revision();
        w.expect_sync(0, 11, "maxUnavailable 11");
        w.expect_sync(11, 0, "create 11");
        w.expect_sync(0, 0, "wait");
        assert_eq!(w.ready_count(), 9);
    }

    #[test]
    fn daemon_set_updates_all_old_not_ready_pods_and_new_not_ready_pods() {
        // upstream update_test.go TestDaemonSetUpdatesAllOldNotReadyPodsAndNewNotReadyPods:
        // 100 nodes, maxUnavailable 10. After a full rollout, 90 pods turn unready and 12 are
        // relabelled to the first revision: 10 available old, 2 unavailable old, 88 unavailable
        // new. Only the 2 unavailable old pods are replaced.
        let mut w = World::new(100);
        w.expect_sync(100, 0, "initial");
        w.mark_pods_ready();
        let hash1 = w.hash.clone();
        w.new_revision();
        w.strategy = max_unavailable(10);
        for round in 0..10 {
            w.expect_sync(0, 10, &format!("round {round}: delete 10"));
            w.expect_sync(10, 0, &format!("round {round}: create 10"));
            w.mark_pods_ready();
        }
        w.expect_sync(0, 0, "rolled out");
        let mut old_unavailable = Vec::new();
        for (i, p) in w.pods.values_mut().enumerate() {
            if i >= 10 {
                p.ready_since = None;
            }
            if i < 12 {
                p.hash = hash1.clone();
                if i >= 10 {
                    old_unavailable.push(p.name.clone());
                }
            }
        }
        w.expect_sync(0, 2, "1st iteration: delete the 2 unavailable old pods");
        w.expect_sync(2, 0, "2nd iteration: create 2 new pods");
        w.expect_sync(0, 0, "3rd iteration: nothing");
        assert!(old_unavailable.iter().all(|n| !w.pods.contains_key(n)));
    }

    #[test]
    fn daemon_set_updates_all_old_pods_not_ready() {
        // upstream update_test.go TestDaemonSetUpdatesAllOldPodsNotReady: maxUnavailable 3, the
        // old pods never became ready, so all 5 are replaced at once.
        let mut w = World::new(5);
        w.expect_sync(5, 0, "initial");
        w.new_revision();
        w.strategy = max_unavailable(3);
        w.expect_sync(0, 5, "delete all 5 unavailable old pods");
        w.expect_sync(5, 0, "create 5");
        w.expect_sync(0, 0, "done");
    }

    #[test]
    fn daemon_set_updates_all_old_pods_not_ready_max_surge() {
        // upstream update_test.go TestDaemonSetUpdatesAllOldPodsNotReadyMaxSurge: maxSurge 3,
        // the clock set to 100, 200, … seconds; minReadySeconds 15 from the second update.
        let mut w = World::new(5);
        w.expect_sync(5, 0, "initial");
        w.new_revision();
        w.strategy = max_surge(3);
        // All old pods are unavailable, so every node gets a new pod at once.
        w.set_clock(100);
        w.expect_sync(5, 0, "surge onto every node");
        // Waiting for the new pods to go ready, the unready old pods are deleted.
        w.set_clock(200);
        w.expect_sync(0, 5, "delete the unready old pods");

        w.set_pod_readiness(true, 5, |_, _| true);
        w.min_ready_seconds = 15;
        w.new_revision();

        w.set_clock(300);
        w.expect_sync(3, 0, "surge 3");
        let current_nodes: Vec<String> = w
            .pods
            .values()
            .filter(|p| p.hash == w.hash)
            .map(|p| p.node.clone())
            .collect();
        // Two updated pods ready at 300; one old pod on a node without an updated pod unready.
        w.set_pod_readiness(true, 2, |w, p| p.hash == w.hash);
        w.set_pod_readiness(false, 1, |w, p| {
            p.hash != w.hash && !current_nodes.contains(&p.node)
        });
        // The new pods still wait out minReadySeconds; the unready old pod gets a replacement.
        w.set_clock(310);
        w.expect_sync(1, 0, "replace the unready old pod");
        // The two new pods are available: delete their old pods and the unready one.
        w.set_clock(320);
        w.expect_sync(1, 3, "delete 3 old, surge 1");
        w.set_pod_readiness(true, 3, |w, p| p.hash == w.hash);
        w.set_clock(340);
        w.expect_sync(0, 2, "delete the last old pods");
        w.set_clock(350);
        w.expect_sync(0, 0, "done");
    }

    #[test]
    fn daemon_set_updates_no_template_changed() {
        // upstream update_test.go TestDaemonSetUpdatesNoTemplateChanged.
        let mut w = World::new(5);
        w.expect_sync(5, 0, "initial");
        w.strategy = max_unavailable(3);
        w.expect_sync(0, 0, "nothing to update");
    }

    #[test]
    fn get_unavailable_numbers_table() {
        // upstream update_test.go TestGetUnavailableNumbers: (name, strategy, nodes,
        // maxSurge, maxUnavailable, desiredNumberScheduled). Every node should run the pod, so
        // desiredNumberScheduled is the node count; emptyNodes is the should-run nodes without
        // pods, which `rolling_update`'s callers pass as empty views.
        let pct = IntOrPercent::Percent;
        let unavailable = |v| DaemonSetUpdateStrategy::RollingUpdate {
            max_unavailable: v,
            max_surge: IntOrPercent::Int(0),
        };
        let surge = |v| DaemonSetUpdateStrategy::RollingUpdate {
            max_unavailable: IntOrPercent::Int(0),
            max_surge: v,
        };
        let cases = [
            ("No nodes", unavailable(IntOrPercent::Int(0)), 0, 0, 0),
            (
                "Two nodes with ready pods",
                unavailable(IntOrPercent::Int(1)),
                2,
                0,
                1,
            ),
            (
                "Two nodes, one node without pods",
                unavailable(IntOrPercent::Int(0)),
                2,
                0,
                1,
            ),
            (
                "Two nodes, one node without pods, surge",
                surge(IntOrPercent::Int(0)),
                2,
                0,
                1,
            ),
            (
                "Two nodes with pods, MaxUnavailable in percents",
                unavailable(pct(50)),
                2,
                0,
                1,
            ),
            (
                "Two nodes with pods, MaxUnavailable in percents, surge",
                surge(pct(50)),
                2,
                1,
                0,
            ),
            (
                "Two nodes with pods, MaxUnavailable is 100%, surge",
                surge(pct(100)),
                2,
                2,
                0,
            ),
            (
                "Two nodes with pods, MaxUnavailable in percents, pod terminating",
                unavailable(pct(50)),
                3,
                0,
                2,
            ),
        ];
        for (name, strategy, desired, want_surge, want_unavailable) in cases {
            assert_eq!(
                updated_desired_node_counts(&strategy, desired),
                (want_surge, want_unavailable),
                "{name}"
            );
        }
    }

    fn dp<'a>(name: &'a str, hash: &'a str, available: bool) -> DaemonPod<'a> {
        DaemonPod {
            name,
            phase: PodPhase::Running,
            deleting: false,
            created: SimTime::ZERO,
            scheduled: true,
            revision_hash: Some(hash),
            template_generation: None,
            ready: available,
            available,
        }
    }

    #[test]
    fn excess_pods_count_against_the_budget() {
        // upstream rollingUpdate: a node findUpdatedPodsOnNode rejects counts as unavailable
        // (no surge) or as surging (surge), and is left to the manage loop.
        let rev = Revision {
            hash: "new",
            template_generation: None,
        };
        let two_old = [dp("a", "old", true), dp("b", "old", true)];
        let one_old = [dp("c", "old", true)];
        let nodes = [
            NodeView {
                node_name: "n1",
                pods: &two_old,
                should_run: Some(true),
            },
            NodeView {
                node_name: "n2",
                pods: &one_old,
                should_run: Some(true),
            },
        ];
        let step = rolling_update(&nodes, rev, 0, 1, 2).unwrap_or_default();
        assert!(step.old_pods_to_delete.is_empty());
        let step = rolling_update(&nodes, rev, 1, 0, 2).unwrap_or_default();
        assert!(step.new_nodes_to_create.is_empty());
        let step = rolling_update(&nodes, rev, 2, 0, 2).unwrap_or_default();
        assert_eq!(step.new_nodes_to_create, vec!["n2"]);
        // A missing node is an error only where upstream looks it up.
        let gone = [NodeView {
            node_name: "gone",
            pods: &one_old,
            should_run: None,
        }];
        assert!(rolling_update(&gone, rev, 1, 0, 0).is_err());
        assert!(rolling_update(&gone, rev, 0, 1, 0).is_ok());
        // Terminating pods are ignored by findUpdatedPodsOnNode.
        let terminating = [
            DaemonPod {
                deleting: true,
                ..dp("t", "old", true)
            },
            dp("u", "old", true),
        ];
        let nodes = [NodeView {
            node_name: "n",
            pods: &terminating,
            should_run: Some(true),
        }];
        let step = rolling_update(&nodes, rev, 0, 1, 1).unwrap_or_default();
        assert_eq!(step.old_pods_to_delete, vec!["u"]);
    }
}
