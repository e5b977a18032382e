//! Upstream `pkg/controller/daemon/daemon_controller.go`: which nodes should run a daemon pod
//! (`NodeShouldRunDaemonPod`) and, per node, which pods `manage` creates and deletes
//! (`podsShouldBeOnNode`), as pure functions.

use std::cmp::Ordering;

use sim_core::SimTime;

use super::util::{add_or_update_daemon_pod_tolerations, is_updated_by_labels};
use crate::api::Toleration;
use crate::api::node_affinity::required_matches;
use crate::api::taints::find_untolerated_taint;
use crate::api::{Node, Pod, PodPhase, TaintEffect, tolerations_tolerate};

/// Upstream `NodeShouldRunDaemonPod(node, ds)` → `(shouldRun, shouldContinueRunning)`.
///
/// `template` is the DaemonSet's pod template (`host_network` its `spec.hostNetwork`). The pod is
/// judged as upstream's `NewPod` builds it: the template plus the daemon tolerations
/// ([`add_or_update_daemon_pod_tolerations`]). A template `nodeName` naming another node rules the
/// node out; so does the node selector / required node affinity. An untolerated NoSchedule or
/// NoExecute taint stops new pods; only an untolerated NoExecute taint also evicts running ones.
/// Resources, host ports and `spec.unschedulable` are not checked: the scheduler handles them.
pub fn node_should_run_daemon_pod(node: &Node, template: &Pod, host_network: bool) -> (bool, bool) {
    let tolerations = daemon_pod_tolerations(template, host_network);
    node_should_run_with_tolerations(node, template, &tolerations)
}

/// The template's tolerations plus those the DaemonSet controller adds to every daemon pod.
pub fn daemon_pod_tolerations(template: &Pod, host_network: bool) -> Vec<Toleration> {
    let mut tolerations = template.tolerations.to_vec();
    add_or_update_daemon_pod_tolerations(&mut tolerations, host_network);
    tolerations
}

/// [`node_should_run_daemon_pod`] with the daemon pod's tolerations computed once for every
/// node of a sync.
pub fn node_should_run_with_tolerations(
    node: &Node,
    template: &Pod,
    tolerations: &[Toleration],
) -> (bool, bool) {
    if let Some(name) = template.node_name.as_deref()
        && !name.is_empty()
        && name != node.name
    {
        return (false, false);
    }
    // `predicates`: the name check always passes, `NewPod` having set the node's name.
    if !required_matches(template, node, &[]) {
        return (false, false);
    }
    if find_untolerated_taint(&node.taints, tolerations).is_none() {
        return (true, true);
    }
    let untolerated_no_execute = node
        .taints
        .iter()
        .any(|t| t.effect == TaintEffect::NoExecute && !tolerations_tolerate(tolerations, t));
    (false, !untolerated_no_execute)
}

/// One pod of the DaemonSet as the per-node algorithms see it, borrowing the pod's name and
/// labels (a sync looks at every pod of the DaemonSet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DaemonPod<'a> {
    pub name: &'a str,
    /// `status.phase`.
    pub phase: PodPhase,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    /// `metadata.creationTimestamp`.
    pub created: SimTime,
    /// `spec.nodeName` is set (a daemon pod waits for the scheduler with only a node affinity).
    pub scheduled: bool,
    /// The `controller-revision-hash` label.
    pub revision_hash: Option<&'a str>,
    /// The `pod-template-generation` label.
    pub template_generation: Option<&'a str>,
    /// `podutil.IsPodReady`.
    pub ready: bool,
    /// `podutil.IsPodAvailable(pod, ds.spec.minReadySeconds, now)`.
    pub available: bool,
}

/// The DaemonSet's current revision: the hash of its current ControllerRevision and the
/// generation of its deprecated template-generation annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revision<'a> {
    pub hash: &'a str,
    pub template_generation: Option<i64>,
}

impl DaemonPod<'_> {
    /// Upstream `util.IsPodUpdated` on this pod's labels.
    pub fn is_updated(&self, revision: Revision<'_>) -> bool {
        is_updated_by_labels(
            self.revision_hash,
            self.template_generation,
            revision.hash,
            revision.template_generation,
        )
    }

    /// The surge branch of `podsShouldBeOnNode` compares the hash label alone.
    fn matches_hash(&self, hash: &str) -> bool {
        self.revision_hash.unwrap_or("") == hash
    }
}

/// Upstream `podByCreationTimestampAndPhase`: scheduled pods first, then oldest first, then by
/// name.
pub fn cmp_by_creation_timestamp_and_phase(a: &DaemonPod<'_>, b: &DaemonPod<'_>) -> Ordering {
    b.scheduled
        .cmp(&a.scheduled)
        .then(a.created.cmp(&b.created))
        .then_with(|| a.name.cmp(b.name))
}

/// What `podsShouldBeOnNode` decided for one node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodePodsDecision {
    /// Create a daemon pod on this node (`nodesNeedingDaemonPods`).
    pub create: bool,
    /// Pods to delete, in upstream's order (`podsToDelete`).
    pub delete: Vec<String>,
    /// A failed pod was deleted: the caller advances the node's failed-pod backoff
    /// (`failedPodsBackoff.Next`) and records a `FailedDaemonPod` warning event.
    pub failed_pod_deleted: bool,
    /// A failed pod was left alone because the node's backoff is running: the caller requeues
    /// the DaemonSet after the backoff's current delay.
    pub failed_pod_in_backoff: bool,
    /// Succeeded pods deleted (each with a `SucceededDaemonPod` event).
    pub succeeded_pods_deleted: u32,
}

/// Upstream `podsShouldBeOnNode` for one node.
///
/// `pods` are the node's pods as `getNodesToDaemonPods` groups them (by
/// [`super::util::get_target_node_name`], without pods that are both terminal and being
/// deleted); the node "exists" in upstream's map when `pods` is not empty. `in_backoff` is
/// `failedPodsBackoff.IsInBackOffSinceUpdate(key, now)` for this node at the start of the call.
///
/// Failed pods are deleted, but only one per backoff period: upstream advances the backoff on
/// the first deletion, so a second failed pod on the node is deferred. Succeeded pods are
/// deleted. Of the remaining pods, without surge all but the oldest are deleted; with surge the
/// oldest pod of the current hash and the oldest other pod may coexist, and any further pods are
/// deleted; the old one goes once it is not ready or once the new one is available.
pub fn pods_should_be_on_node(
    should_run: bool,
    should_continue_running: bool,
    pods: &[DaemonPod<'_>],
    allows_surge: bool,
    hash: &str,
    in_backoff: bool,
) -> NodePodsDecision {
    let mut d = NodePodsDecision::default();
    let exists = !pods.is_empty();
    if should_run && !exists {
        d.create = true;
        return d;
    }
    if should_continue_running {
        let mut in_backoff = in_backoff;
        let mut running: Vec<&DaemonPod<'_>> = Vec::new();
        for pod in pods {
            if pod.deleting {
                continue;
            }
            match pod.phase {
                PodPhase::Failed => {
                    if in_backoff {
                        d.failed_pod_in_backoff = true;
                        continue;
                    }
                    // `failedPodsBackoff.Next(key, now)`: from here the key is in backoff.
                    in_backoff = true;
                    d.failed_pod_deleted = true;
                    d.delete.push(pod.name.to_string());
                }
                PodPhase::Succeeded => {
                    d.succeeded_pods_deleted += 1;
                    d.delete.push(pod.name.to_string());
                }
                PodPhase::Pending | PodPhase::Running => running.push(pod),
            }
        }
        if !allows_surge {
            if running.len() > 1 {
                running.sort_by(|a, b| cmp_by_creation_timestamp_and_phase(a, b));
                d.delete
                    .extend(running[1..].iter().map(|p| p.name.to_string()));
            }
            return d;
        }
        if running.len() <= 1 {
            // Surging: a node needs at least one pod that is not being deleted.
            if running.is_empty() && should_run {
                d.create = true;
            }
            return d;
        }
        running.sort_by(|a, b| cmp_by_creation_timestamp_and_phase(a, b));
        let mut oldest_new: Option<&DaemonPod<'_>> = None;
        let mut oldest_old: Option<&DaemonPod<'_>> = None;
        for pod in running {
            let slot = if pod.matches_hash(hash) {
                &mut oldest_new
            } else {
                &mut oldest_old
            };
            if slot.is_none() {
                *slot = Some(pod);
                continue;
            }
            d.delete.push(pod.name.to_string());
        }
        if let (Some(new), Some(old)) = (oldest_new, oldest_old)
            && (!old.ready || new.available)
        {
            d.delete.push(old.name.to_string());
        }
        return d;
    }
    if exists {
        d.delete.extend(
            pods.iter()
                .filter(|p| !p.deleting)
                .map(|p| p.name.to_string()),
        );
    }
    d
}

/// Upstream `getUnscheduledPodsWithoutNode`: pods not yet bound (`spec.nodeName` empty) whose
/// target node is not in the node list; nothing else would ever delete them.
///
/// `node_to_daemon_pods` gives each target node's pods and whether the node is in the node
/// list.
pub fn unscheduled_pods_without_node<'a, 'p: 'a>(
    node_to_daemon_pods: impl IntoIterator<Item = (bool, &'a [DaemonPod<'p>])>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (listed, pods) in node_to_daemon_pods {
        if listed {
            continue;
        }
        out.extend(
            pods.iter()
                .filter(|p| !p.scheduled)
                .map(|p| p.name.to_string()),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::api::{
        Labels, NodeAffinity, NodeSelector, NodeSelectorTerm, Operator, Requirement, Taint,
        Toleration, TolerationOperator,
    };
    use crate::controllers::daemonset::util::{
        TAINT_NODE_DISK_PRESSURE, TAINT_NODE_MEMORY_PRESSURE, TAINT_NODE_NETWORK_UNAVAILABLE,
        TAINT_NODE_NOT_READY, TAINT_NODE_PID_PRESSURE, TAINT_NODE_UNREACHABLE,
    };

    // upstream daemon_controller_test.go: simpleDaemonSetLabel, simpleDaemonSetLabel2.
    fn simple_daemon_set_label() -> Labels {
        [("name", "simple-daemon"), ("type", "production")]
            .into_iter()
            .collect()
    }

    fn eq_selector(labels: &[(&str, &str)]) -> Vec<Requirement> {
        labels
            .iter()
            .map(|(k, v)| Requirement::new(*k, Operator::Equals, vec![v.to_string()]))
            .collect()
    }

    fn node(name: &str, labels: Labels, taints: Vec<Taint>) -> Node {
        Node {
            name: name.into(),
            labels,
            taints,
            ..Node::default()
        }
    }

    fn taint(key: &str, value: &str, effect: TaintEffect) -> Taint {
        Taint {
            key: key.into(),
            value: value.into(),
            effect,
        }
    }

    fn type_in(value: &str) -> NodeAffinity {
        NodeAffinity {
            required: Some(NodeSelector {
                terms: vec![NodeSelectorTerm {
                    match_expressions: vec![Requirement::new(
                        "type",
                        Operator::In,
                        vec![value.into()],
                    )],
                    match_fields: Vec::new(),
                }],
            }),
            preferred: Vec::new(),
        }
    }

    #[test]
    fn node_should_run_daemon_pod_table() {
        // upstream pkg/controller/daemon/daemon_controller_test.go TestNodeShouldRunDaemonPod,
        // the cases the model has fields for (the resource and host-port cases expect
        // (true, true): those predicates are left to the scheduler). Node "test-node" labelled
        // simpleDaemonSetLabel.
        let test_node = node("test-node", simple_daemon_set_label(), Vec::new());
        let cases: Vec<(&str, Pod, bool, bool)> = vec![
            ("ShouldRunDaemonPod", Pod::default(), true, true),
            (
                "ErrPodNotMatchHostName",
                Pod {
                    node_name: Some("other-node".into()),
                    ..Pod::default()
                },
                false,
                false,
            ),
            (
                "ErrNodeSelectorNotMatch",
                Pod {
                    node_selector: eq_selector(&[("name", "simple-daemon"), ("type", "test")]),
                    ..Pod::default()
                },
                false,
                false,
            ),
            (
                "ShouldRunDaemonPod (node selector)",
                Pod {
                    node_selector: eq_selector(&[
                        ("name", "simple-daemon"),
                        ("type", "production"),
                    ]),
                    ..Pod::default()
                },
                true,
                true,
            ),
            (
                "ErrPodAffinityNotMatch",
                Pod {
                    node_affinity: Some(Box::new(type_in("test"))),
                    ..Pod::default()
                },
                false,
                false,
            ),
            (
                "ShouldRunDaemonPod (affinity)",
                Pod {
                    node_affinity: Some(Box::new(type_in("production"))),
                    ..Pod::default()
                },
                true,
                true,
            ),
        ];
        for (name, template, run, cont) in cases {
            assert_eq!(
                node_should_run_daemon_pod(&test_node, &template, false),
                (run, cont),
                "{name}"
            );
        }
        // ShouldRunDaemonPodOnUnschedulableNode: spec.unschedulable alone does not matter.
        let cordoned = Node {
            unschedulable: true,
            ..test_node.clone()
        };
        assert_eq!(
            node_should_run_daemon_pod(&cordoned, &Pod::default(), false),
            (true, true)
        );
    }

    #[test]
    fn taints_against_daemon_tolerations() {
        // upstream daemon_controller_test.go; noScheduleTaints / noExecuteTaints are
        // {dedicated=user1}, noScheduleTolerations tolerates the NoSchedule one.
        let intolerant = Pod::default();
        let no_schedule = node(
            "tainted",
            Labels::new(),
            vec![taint("dedicated", "user1", TaintEffect::NoSchedule)],
        );
        let no_execute = node(
            "tainted",
            Labels::new(),
            vec![taint("dedicated", "user1", TaintEffect::NoExecute)],
        );
        // TestTaintedNodeDaemonDoesNotLaunchIntolerantPod (0 creates) and
        // TestNoScheduleTaintedDoesntEvicitRunningIntolerantPod (0 deletes).
        assert_eq!(
            node_should_run_daemon_pod(&no_schedule, &intolerant, false),
            (false, true)
        );
        // TestNoExecuteTaintedDoesEvicitRunningIntolerantPod (1 delete).
        assert_eq!(
            node_should_run_daemon_pod(&no_execute, &intolerant, false),
            (false, false)
        );
        // TestTaintedNodeDaemonLaunchesToleratePod / TestNodeDaemonLaunchesToleratePod.
        let tolerant = Pod {
            tolerations: vec![Toleration {
                key: "dedicated".into(),
                operator: TolerationOperator::Equal,
                value: "user1".into(),
                effect: Some(TaintEffect::NoSchedule),
                toleration_seconds: None,
            }]
            .into(),
            ..Pod::default()
        };
        assert_eq!(
            node_should_run_daemon_pod(&no_schedule, &tolerant, false),
            (true, true)
        );
        let untainted = node("node-0", Labels::new(), Vec::new());
        assert_eq!(
            node_should_run_daemon_pod(&untainted, &tolerant, false),
            (true, true)
        );
        // TestNotReadyNodeDaemonLaunchesPod / TestUnreachableNodeDaemonLaunchesPod.
        for key in [TAINT_NODE_NOT_READY, TAINT_NODE_UNREACHABLE] {
            let n = node(
                "tainted",
                Labels::new(),
                vec![taint(key, "", TaintEffect::NoExecute)],
            );
            assert_eq!(
                node_should_run_daemon_pod(&n, &intolerant, false),
                (true, true)
            );
        }
        // TestTaintPressureNodeDaemonLaunchesPod.
        let pressure = node(
            "resources-pressure",
            Labels::new(),
            [
                TAINT_NODE_DISK_PRESSURE,
                TAINT_NODE_MEMORY_PRESSURE,
                TAINT_NODE_PID_PRESSURE,
            ]
            .iter()
            .map(|k| taint(k, "", TaintEffect::NoSchedule))
            .collect(),
        );
        assert_eq!(
            node_should_run_daemon_pod(&pressure, &intolerant, false),
            (true, true)
        );
        // network-unavailable is tolerated by hostNetwork pods only.
        let no_network = node(
            "n",
            Labels::new(),
            vec![taint(
                TAINT_NODE_NETWORK_UNAVAILABLE,
                "",
                TaintEffect::NoSchedule,
            )],
        );
        assert_eq!(
            node_should_run_daemon_pod(&no_network, &intolerant, false),
            (false, true)
        );
        assert_eq!(
            node_should_run_daemon_pod(&no_network, &intolerant, true),
            (true, true)
        );
        // PreferNoSchedule never matters.
        let prefer = node(
            "n",
            Labels::new(),
            vec![taint("x", "", TaintEffect::PreferNoSchedule)],
        );
        assert_eq!(
            node_should_run_daemon_pod(&prefer, &intolerant, false),
            (true, true)
        );
    }

    fn pod<'a>(name: &'a str, phase: PodPhase, created: u64, hash: &'a str) -> DaemonPod<'a> {
        DaemonPod {
            name,
            phase,
            deleting: false,
            created: SimTime::from_nanos(created),
            scheduled: true,
            revision_hash: Some(hash),
            template_generation: None,
            ready: true,
            available: true,
        }
    }

    #[test]
    fn daemon_kill_failed_pods_table() {
        // upstream daemon_controller_test.go TestDaemonKillFailedPods (one node; the daemon
        // tolerates it): (numFailedPods, numNormalPods, expectedCreates, expectedDeletes,
        // expectedEvents).
        let cases = [
            (0, 1, 0, 0, 0, "normal (do nothing)"),
            (0, 0, 1, 0, 0, "no pods (create 1)"),
            (1, 0, 0, 1, 1, "1 failed pod (kill 1), 0 normal pod"),
            (
                1,
                3,
                0,
                3,
                1,
                "1 failed pod (kill 1), 3 normal pods (kill 2)",
            ),
        ];
        for (failed, normal, creates, deletes, events, name) in cases {
            let failed_names: Vec<String> = (0..failed).map(|i| format!("failed-{i}")).collect();
            let normal_names: Vec<String> = (0..normal).map(|i| format!("normal-{i}")).collect();
            let mut pods = Vec::new();
            for (i, n) in (0..).zip(&failed_names) {
                pods.push(pod(n, PodPhase::Failed, i, "h"));
            }
            for (i, n) in (0..).zip(&normal_names) {
                pods.push(pod(n, PodPhase::Running, 10 + i, "h"));
            }
            // Both of upstream's strategies (OnDelete, RollingUpdate maxUnavailable 1) do not
            // surge.
            let d = pods_should_be_on_node(true, true, &pods, false, "h", false);
            assert_eq!(usize::from(d.create), creates, "{name}");
            assert_eq!(d.delete.len(), deletes, "{name}");
            assert_eq!(usize::from(d.failed_pod_deleted), events, "{name}");
        }
    }

    #[test]
    fn failed_pods_are_deleted_once_per_backoff() {
        // upstream daemon_controller_test.go TestDaemonKillFailedPodsBackoff: the first sync
        // deletes the failed pod and starts the backoff; a sync within it deletes nothing.
        let pods = [pod("failed", PodPhase::Failed, 0, "h")];
        let first = pods_should_be_on_node(true, true, &pods, false, "h", false);
        assert_eq!(first.delete, vec!["failed".to_string()]);
        assert!(first.failed_pod_deleted);
        let within = pods_should_be_on_node(true, true, &pods, false, "h", true);
        assert!(within.delete.is_empty());
        assert!(within.failed_pod_in_backoff);
        // Not an upstream case: two failed pods in one sync, the second waits for the backoff.
        let two = [
            pod("f1", PodPhase::Failed, 0, "h"),
            pod("f2", PodPhase::Failed, 1, "h"),
        ];
        let d = pods_should_be_on_node(true, true, &two, false, "h", false);
        assert_eq!(d.delete, vec!["f1".to_string()]);
        assert!(d.failed_pod_in_backoff);
    }

    #[test]
    fn excess_pods_keep_the_oldest_scheduled_first() {
        // upstream podByCreationTimestampAndPhase: scheduled first, then oldest, then by name.
        let mut unscheduled_old = pod("a-unscheduled", PodPhase::Pending, 0, "h");
        unscheduled_old.scheduled = false;
        let pods = [
            pod("c", PodPhase::Running, 5, "h"),
            unscheduled_old,
            pod("b", PodPhase::Running, 5, "h"),
            pod("d", PodPhase::Running, 9, "h"),
        ];
        let d = pods_should_be_on_node(true, true, &pods, false, "h", false);
        assert_eq!(d.delete, vec!["c", "d", "a-unscheduled"]);
        // TestDaemonSetRespectsTermination: a terminating pod is neither counted nor deleted.
        let mut terminating = pod("t", PodPhase::Running, 0, "h");
        terminating.deleting = true;
        let d = pods_should_be_on_node(true, true, &[terminating], false, "h", false);
        assert_eq!(d, NodePodsDecision::default());
        // Succeeded pods are deleted too.
        let d = pods_should_be_on_node(
            true,
            true,
            &[pod("s", PodPhase::Succeeded, 0, "h")],
            false,
            "h",
            false,
        );
        assert_eq!(d.delete, vec!["s"]);
        assert_eq!(d.succeeded_pods_deleted, 1);
        // Not supposed to run and not to continue running: every live pod goes.
        let d = pods_should_be_on_node(
            false,
            false,
            &[pod("x", PodPhase::Running, 0, "h"), terminating],
            false,
            "h",
            false,
        );
        assert_eq!(d.delete, vec!["x"]);
        assert!(!d.create);
    }

    #[test]
    fn surge_keeps_one_old_and_one_new_pod() {
        // upstream podsShouldBeOnNode, surge branch.
        let old = pod("old", PodPhase::Running, 0, "h1");
        let mut new = pod("new", PodPhase::Running, 5, "h2");
        new.ready = false;
        new.available = false;
        // Old ready, new not available yet: both stay.
        let d = pods_should_be_on_node(true, true, &[old, new], true, "h2", false);
        assert!(d.delete.is_empty());
        // New available: the old pod goes.
        let avail = DaemonPod {
            ready: true,
            available: true,
            ..new
        };
        let d = pods_should_be_on_node(true, true, &[old, avail], true, "h2", false);
        assert_eq!(d.delete, vec!["old"]);
        // Old not ready: it goes even though the new pod is not available.
        let unready_old = DaemonPod {
            ready: false,
            available: false,
            ..old
        };
        let d = pods_should_be_on_node(true, true, &[unready_old, new], true, "h2", false);
        assert_eq!(d.delete, vec!["old"]);
        // Extra pods of either kind go, the oldest of each kind stays.
        let d = pods_should_be_on_node(
            true,
            true,
            &[
                old,
                new,
                pod("old2", PodPhase::Running, 1, "h1"),
                pod("new2", PodPhase::Running, 6, "h2"),
            ],
            true,
            "h2",
            false,
        );
        assert_eq!(d.delete, vec!["old2", "new2"]);
        // Surging on a node whose only pod is terminating: create one now.
        let terminating = DaemonPod {
            deleting: true,
            ..old
        };
        let d = pods_should_be_on_node(
            true,
            true,
            std::slice::from_ref(&terminating),
            true,
            "h2",
            false,
        );
        assert!(d.create);
        // Without surge the manage loop waits for the terminating pod to go.
        let d = pods_should_be_on_node(true, true, &[terminating], false, "h2", false);
        assert!(!d.create);
    }

    #[test]
    fn unscheduled_pods_on_missing_nodes() {
        let mut unscheduled = pod("u", PodPhase::Pending, 0, "h");
        unscheduled.scheduled = false;
        let gone = [unscheduled, pod("bound", PodPhase::Running, 0, "h")];
        let here = [unscheduled];
        let nodes: BTreeSet<&str> = ["node-0"].into_iter().collect();
        let got = unscheduled_pods_without_node([
            (nodes.contains("node-0"), &here[..]),
            (nodes.contains("node-9"), &gone[..]),
        ]);
        assert_eq!(got, vec!["u"]);
    }
}
