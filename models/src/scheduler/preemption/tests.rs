//! Tables from upstream `default_preemption_test.go` (TestSelectNodesForPreemption,
//! TestPickOneNodeForPreemption), run through the default profile: every node has 5000m CPU
//! and 5 × `DefaultMemoryRequest` (1000Mi) of memory; containers are small / medium / large /
//! very large = 1 / 2 / 3 / 5 × (100m, 200Mi); priorities neg -100, low 0, mid 100, high 1000,
//! veryHigh 10000 — as upstream's test fixtures.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sim_core::SimTime;

use super::*;
use crate::api::{IntOrPercent, LabelSelector, Labels, Node};
use crate::scheduler::testing::resources;
use crate::scheduler::{Registry, ScheduleResult, Scheduler};

const NEG: i32 = -100;
const LOW: i32 = 0;
const MID: i32 = 100;
const HIGH: i32 = 1000;
const VERY_HIGH: i32 = 10000;

/// Container sizes in multiples of (100m, 200Mi).
const SMALL: i64 = 1;
const MEDIUM: i64 = 2;
const LARGE: i64 = 3;
const VERY_LARGE: i64 = 5;

fn node(name: &str) -> Node {
    Node {
        name: name.into(),
        labels: [("kubernetes.io/hostname", name)].into_iter().collect(),
        allocatable: resources(&[("cpu", "5000m"), ("memory", "1000Mi"), ("pods", "110")]),
        ..Node::default()
    }
}

fn pod(name: &str, size: i64, priority: i32) -> Pod {
    let cpu = 100 * size;
    let memory = 200 * 1024 * 1024 * size;
    let mut requests = resources(&[("pods", "1")]);
    requests.cpu_milli = cpu;
    requests.memory = memory;
    Pod {
        name: name.into(),
        requests,
        non_zero_cpu_milli: cpu,
        non_zero_memory: memory,
        priority,
        ..Pod::default()
    }
}

/// A store with `nodes` and `pods` bound as given (`(pod, node, start day)`).
fn cluster(nodes: &[&str], pods: Vec<(Pod, &str, u64)>) -> Store {
    let mut store = Store::new();
    for n in nodes {
        store.add_node(node(n));
    }
    for (p, n, day) in pods {
        let node = store.node_id(n).expect("node exists");
        let id = store.add_pod(p, SimTime::ZERO);
        store.bind(id, node, SimTime::ZERO);
        let r = store.pod_mut(id);
        r.phase = crate::api::PodPhase::Running;
        r.ready = true;
        r.running_at = Some(SimTime::from_nanos(day * 86_400_000_000_000));
    }
    store
}

fn schedule(store: &Store, preemptor: &Pod) -> ScheduleResult {
    let mut s = Scheduler::new(None, &Registry::default_plugins()).expect("default profile");
    s.schedule_one(preemptor, store, &mut ChaCha8Rng::seed_from_u64(1), true)
}

fn names(store: &Store, ids: &[PodId]) -> Vec<String> {
    ids.iter().map(|p| store.pod(*p).pod.name.clone()).collect()
}

/// Candidates of the dry run as `(node, victims)`, in node order.
fn candidates(store: &Store, r: &ScheduleResult) -> Vec<(String, Vec<String>)> {
    let e = r
        .explanation
        .as_ref()
        .and_then(|e| e.preemption.as_ref())
        .expect("preemption ran");
    let mut out: Vec<(String, Vec<String>)> = e
        .candidates
        .iter()
        .map(|c| (c.name.clone(), names(store, &c.victims)))
        .collect();
    out.sort();
    out
}

fn chosen(store: &Store, r: &ScheduleResult) -> String {
    store
        .node(r.nominated_node.expect("a node was nominated"))
        .name()
        .to_string()
}

fn pair(node: &str, victims: &[&str]) -> (String, Vec<String>) {
    (node.into(), victims.iter().map(|v| v.to_string()).collect())
}

#[test]
fn select_nodes_for_preemption_upstream_table() {
    // "a pod that fits on both machines when lower priority pods are preempted"
    let store = cluster(
        &["machine1", "machine2"],
        vec![
            (pod("a", LARGE, MID), "machine1", 0),
            (pod("b", LARGE, MID), "machine2", 0),
        ],
    );
    let r = schedule(&store, &pod("p", LARGE, HIGH));
    assert_eq!(
        candidates(&store, &r),
        [pair("machine1", &["a"]), pair("machine2", &["b"])]
    );

    // "a pod that would fit on the machines, but other pods running are higher priority"
    let r = schedule(&store, &pod("p", LARGE, LOW));
    assert_eq!(r.nominated_node, None);
    assert_eq!(
        r.message.as_deref(),
        Some(
            "0/2 nodes are available: 2 Insufficient memory. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod."
        )
    );
    assert!(r.clear_nomination);

    // "medium priority pod is preempted, but lower priority one stays as it is small"
    let store = cluster(
        &["machine1", "machine2"],
        vec![
            (pod("a", SMALL, LOW), "machine1", 0),
            (pod("b", LARGE, MID), "machine1", 0),
            (pod("c", LARGE, MID), "machine2", 0),
        ],
    );
    let r = schedule(&store, &pod("p", LARGE, HIGH));
    assert_eq!(
        candidates(&store, &r),
        [pair("machine1", &["b"]), pair("machine2", &["c"])]
    );

    // "mixed priority pods are preempted"
    let store = cluster(
        &["machine1", "machine2"],
        vec![
            (pod("a", SMALL, MID), "machine1", 0),
            (pod("b", SMALL, LOW), "machine1", 0),
            (pod("c", MEDIUM, MID), "machine1", 0),
            (pod("d", SMALL, HIGH), "machine1", 0),
            (pod("e", LARGE, HIGH), "machine2", 0),
        ],
    );
    let r = schedule(&store, &pod("p", LARGE, HIGH));
    // Victims most important first: c (mid) before b (low).
    assert_eq!(candidates(&store, &r), [pair("machine1", &["c", "b"])]);
    assert_eq!(chosen(&store, &r), "machine1");
    assert_eq!(names(&store, &r.victims), ["c", "b"]);

    // "mixed priority pods are preempted, pick later StartTime one when priorities are equal"
    let store = cluster(
        &["machine1", "machine2"],
        vec![
            (pod("a", SMALL, LOW), "machine1", 7),
            (pod("b", SMALL, LOW), "machine1", 6),
            (pod("c", MEDIUM, MID), "machine1", 5),
            (pod("d", SMALL, HIGH), "machine1", 4),
            (pod("e", LARGE, HIGH), "machine2", 3),
        ],
    );
    let r = schedule(&store, &pod("p", LARGE, HIGH));
    assert_eq!(candidates(&store, &r), [pair("machine1", &["c", "a"])]);
}

#[test]
fn pick_one_node_for_preemption_upstream_table() {
    let three = ["machine1", "machine2", "machine3"];
    // "machine with min highest priority pod is picked"
    let store = cluster(
        &three,
        vec![
            (pod("m1.1", MEDIUM, MID), "machine1", 0),
            (pod("m1.2", LARGE, MID), "machine1", 0),
            (pod("m2.1", MEDIUM, MID), "machine2", 0),
            (pod("m2.2", MEDIUM, LOW), "machine2", 0),
            (pod("m3.1", MEDIUM, LOW), "machine3", 0),
            (pod("m3.2", MEDIUM, LOW), "machine3", 0),
        ],
    );
    let r = schedule(&store, &pod("p", VERY_LARGE, HIGH));
    assert_eq!(chosen(&store, &r), "machine3");
    let e = r
        .explanation
        .as_ref()
        .and_then(|e| e.preemption.as_ref())
        .unwrap();
    assert_eq!(e.reason, PICK_CRITERIA[1]);

    // "when highest priorities are the same, minimum sum of priorities is picked"
    let store = cluster(
        &three,
        vec![
            (pod("m1.1", MEDIUM, MID), "machine1", 0),
            (pod("m1.2", LARGE, MID), "machine1", 0),
            (pod("m2.1", LARGE, MID), "machine2", 0),
            (pod("m2.2", MEDIUM, LOW), "machine2", 0),
            (pod("m3.1", MEDIUM, MID), "machine3", 0),
            (pod("m3.2", MEDIUM, MID), "machine3", 0),
        ],
    );
    assert_eq!(
        chosen(&store, &schedule(&store, &pod("p", VERY_LARGE, HIGH))),
        "machine2"
    );

    // "when highest priority and sum are the same, minimum number of pods is picked"
    let store = cluster(
        &three,
        vec![
            (pod("m1.1", SMALL, MID), "machine1", 0),
            (pod("m1.2", SMALL, NEG), "machine1", 0),
            (pod("m1.3", SMALL, MID), "machine1", 0),
            (pod("m1.4", SMALL, NEG), "machine1", 0),
            (pod("m2.1", LARGE, MID), "machine2", 0),
            (pod("m2.2", MEDIUM, NEG), "machine2", 0),
            (pod("m3.1", MEDIUM, MID), "machine3", 0),
            (pod("m3.2", SMALL, NEG), "machine3", 0),
            (pod("m3.3", SMALL, LOW), "machine3", 0),
        ],
    );
    assert_eq!(
        chosen(&store, &schedule(&store, &pod("p", VERY_LARGE, HIGH))),
        "machine2"
    );

    // "sum of adjusted priorities is considered"
    let store = cluster(
        &three,
        vec![
            (pod("m1.1", SMALL, MID), "machine1", 0),
            (pod("m1.2", SMALL, NEG), "machine1", 0),
            (pod("m1.3", SMALL, NEG), "machine1", 0),
            (pod("m2.1", LARGE, MID), "machine2", 0),
            (pod("m2.2", MEDIUM, NEG), "machine2", 0),
            (pod("m3.1", MEDIUM, MID), "machine3", 0),
            (pod("m3.2", SMALL, NEG), "machine3", 0),
            (pod("m3.3", SMALL, LOW), "machine3", 0),
        ],
    );
    assert_eq!(
        chosen(&store, &schedule(&store, &pod("p", VERY_LARGE, HIGH))),
        "machine2"
    );

    // "non-overlapping lowest high priority, sum priorities, and number of pods"
    let store = cluster(
        &["machine1", "machine2", "machine3", "machine4"],
        vec![
            (pod("m1.1", SMALL, MID), "machine1", 0),
            (pod("m1.2", SMALL, LOW), "machine1", 0),
            (pod("m1.3", SMALL, LOW), "machine1", 0),
            (pod("m2.1", LARGE, HIGH), "machine2", 0),
            (pod("m3.1", MEDIUM, MID), "machine3", 0),
            (pod("m3.2", SMALL, LOW), "machine3", 0),
            (pod("m3.3", SMALL, LOW), "machine3", 0),
            (pod("m3.4", MEDIUM, LOW), "machine3", 0),
            (pod("m4.1", MEDIUM, MID), "machine4", 0),
            (pod("m4.2", SMALL, MID), "machine4", 0),
            (pod("m4.3", SMALL, MID), "machine4", 0),
            (pod("m4.4", SMALL, NEG), "machine4", 0),
        ],
    );
    assert_eq!(
        chosen(&store, &schedule(&store, &pod("p", VERY_LARGE, VERY_HIGH))),
        "machine1"
    );
}

#[test]
fn latest_start_time_of_the_highest_priority_victims_breaks_ties() {
    // Same priorities, counts and sums everywhere; machine2's victims started last (criterion 5:
    // "node with the latest start time of all highest priority victims").
    let store = cluster(
        &["machine1", "machine2", "machine3"],
        vec![
            (pod("m1.1", MEDIUM, MID), "machine1", 1),
            (pod("m1.2", LARGE, MID), "machine1", 2),
            (pod("m2.1", MEDIUM, MID), "machine2", 4),
            (pod("m2.2", LARGE, MID), "machine2", 5),
            (pod("m3.1", MEDIUM, MID), "machine3", 3),
            (pod("m3.2", LARGE, MID), "machine3", 6),
        ],
    );
    let r = schedule(&store, &pod("p", VERY_LARGE, HIGH));
    assert_eq!(chosen(&store, &r), "machine2");
    let e = r
        .explanation
        .as_ref()
        .and_then(|e| e.preemption.as_ref())
        .unwrap();
    assert_eq!(e.reason, PICK_CRITERIA[4]);
}

fn pdb(app: &str, min_available: i32) -> PodDisruptionBudget {
    PodDisruptionBudget {
        name: format!("{app}-pdb"),
        namespace: "default".into(),
        selector: Some(LabelSelector::from_match_labels([("app", app)])),
        min_available: Some(IntOrPercent::Int(min_available)),
        max_unavailable: None,
    }
}

fn labelled(mut p: Pod, app: &str) -> Pod {
    p.labels = [("app", app)].into_iter().collect::<Labels>();
    p
}

#[test]
fn pdb_violations_are_counted_and_steer_the_choice() {
    // Two nodes, one mid victim each; the PDB over "web" allows no disruption, so the web pod's
    // node would violate it: criterion 1 picks the other node although web is less important.
    let mut store = cluster(
        &["machine1", "machine2"],
        vec![
            (labelled(pod("web-1", LARGE, LOW), "web"), "machine1", 0),
            (labelled(pod("batch-1", LARGE, MID), "batch"), "machine2", 0),
        ],
    );
    store.pdbs.push(pdb("web", 1));
    assert_eq!(store.pdb_disruptions_allowed(), [0]);
    let r = schedule(&store, &pod("p", LARGE, HIGH));
    assert_eq!(
        candidates(&store, &r),
        [pair("machine1", &["web-1"]), pair("machine2", &["batch-1"])]
    );
    let e = r
        .explanation
        .as_ref()
        .and_then(|e| e.preemption.as_ref())
        .unwrap();
    let violations: Vec<i64> = e.candidates.iter().map(|c| c.num_pdb_violations).collect();
    assert_eq!(
        violations,
        [0, 1],
        "non-violating candidates come first (DryRunPreemption)"
    );
    assert_eq!(chosen(&store, &r), "machine2");
    assert_eq!(e.reason, PICK_CRITERIA[0]);

    // With a budget of one disruption the web pod no longer violates it, and the lowest
    // highest-priority victim decides.
    store.pdbs[0] = pdb("web", 0);
    assert_eq!(store.pdb_disruptions_allowed(), [1]);
    assert_eq!(
        chosen(&store, &schedule(&store, &pod("p", LARGE, HIGH))),
        "machine1"
    );
}

#[test]
fn filter_pods_with_pdb_violation_decrements_each_budget() {
    // Three web pods, a budget of one disruption: the first is covered, the next two violate.
    let store = cluster(
        &["machine1"],
        vec![
            (labelled(pod("w1", SMALL, LOW), "web"), "machine1", 0),
            (labelled(pod("w2", SMALL, LOW), "web"), "machine1", 0),
            (pod("unlabelled", SMALL, LOW), "machine1", 0),
            (labelled(pod("w3", SMALL, LOW), "web"), "machine1", 0),
        ],
    );
    let ids: Vec<PodId> = store.pods.iter().map(|r| r.id).collect();
    let (violating, ok) = filter_pods_with_pdb_violation(&ids, &store, &[pdb("web", 2)], &[1]);
    assert_eq!(names(&store, &violating), ["w2", "w3"]);
    assert_eq!(names(&store, &ok), ["w1", "unlabelled"]);
}

#[test]
fn violating_victims_are_reprieved_first() {
    // Either web (covered by a zero budget) or batch must go; SelectVictimsOnNode tries to
    // reprieve the PDB-violating pod first, so batch is the victim and no PDB is violated.
    let mut store = cluster(
        &["machine1"],
        vec![
            (labelled(pod("batch", MEDIUM, MID), "batch"), "machine1", 0),
            (labelled(pod("web", MEDIUM, LOW), "web"), "machine1", 0),
        ],
    );
    store.pdbs.push(pdb("web", 1));
    let r = schedule(&store, &pod("p", LARGE, HIGH));
    assert_eq!(names(&store, &r.victims), ["batch"]);
}

#[test]
fn preemption_policy_never_does_not_preempt() {
    let store = cluster(&["machine1"], vec![(pod("a", LARGE, LOW), "machine1", 0)]);
    let mut p = pod("p", LARGE, HIGH);
    p.preemption_policy = PreemptionPolicy::Never;
    let r = schedule(&store, &p);
    assert_eq!((r.nominated_node, r.victims.len()), (None, 0));
    assert_eq!(
        r.message.as_deref(),
        Some(
            "0/1 nodes are available: 1 Insufficient memory. preemption: not eligible due to preemptionPolicy=Never."
        )
    );
}

#[test]
fn unresolvable_nodes_are_not_candidates() {
    // A node that is cordoned fails NodeUnschedulable (UnschedulableAndUnresolvable): removing
    // pods cannot help there.
    let mut store = cluster(
        &["machine1", "machine2"],
        vec![
            (pod("a", LARGE, LOW), "machine1", 0),
            (pod("b", LARGE, LOW), "machine2", 0),
        ],
    );
    store.nodes[0].node.unschedulable = true;
    store.touch_nodes();
    let r = schedule(&store, &pod("p", LARGE, HIGH));
    assert_eq!(chosen(&store, &r), "machine2");
    let e = r
        .explanation
        .as_ref()
        .and_then(|e| e.preemption.as_ref())
        .unwrap();
    assert_eq!(
        (e.potential_nodes, e.reason.as_str()),
        (1, "the only candidate")
    );
}

#[test]
fn nominated_pods_hold_their_room_against_lower_priority_pods() {
    // machine1 has room for one large pod; a high-priority pod is nominated there. A mid pod
    // may not take that room (addGENominatedPods), a veryHigh one may.
    let mut store = cluster(&["machine1"], vec![(pod("a", MEDIUM, LOW), "machine1", 0)]);
    let nominated = store.add_pod(pod("nominated", LARGE, HIGH), SimTime::ZERO);
    store.set_nominated_node(nominated, store.node_id("machine1"));
    assert_eq!(
        store.pod(nominated).pod.nominated_node_name.as_deref(),
        Some("machine1")
    );
    let r = schedule(&store, &pod("mid", LARGE, MID));
    assert_eq!(r.selected, None);
    let r = schedule(&store, &pod("urgent", LARGE, VERY_HIGH));
    assert_eq!(r.selected, store.node_id("machine1"));
    // Binding clears the nomination.
    let node = store.node_id("machine1").unwrap();
    store.bind(nominated, node, SimTime::ZERO);
    assert!(store.nominated_pods(node).is_empty());
    assert_eq!(store.pod(nominated).pod.nominated_node_name, None);
}

#[test]
fn a_terminating_victim_on_the_nominated_node_blocks_a_second_preemption() {
    let mut store = cluster(&["machine1"], vec![(pod("a", LARGE, LOW), "machine1", 0)]);
    let a = store.pods[0].id;
    store.pod_mut(a).deletion_timestamp = Some(SimTime::ZERO);
    store.pod_mut(a).preempted_by_scheduler = true;
    let mut p = pod("p", VERY_LARGE, HIGH);
    p.nominated_node_name = Some("machine1".into());
    let r = schedule(&store, &p);
    assert_eq!(r.nominated_node, None);
    assert!(
        r.message
            .as_deref()
            .unwrap()
            .ends_with("preemption: not eligible due to a terminating pod on the nominated node."),
        "{:?}",
        r.message
    );
}

#[test]
fn candidate_count_follows_calculate_num_candidates() {
    // default_preemption_test.go TestCalculateNumCandidates-style: 10% of the nodes, at least
    // 100, at most all of them.
    let args = DefaultPreemptionArgs::default();
    assert_eq!(args.num_candidates(10), 10);
    assert_eq!(args.num_candidates(1000), 100);
    assert_eq!(args.num_candidates(5000), 500);
    let args = DefaultPreemptionArgs {
        min_candidate_nodes_percentage: 50,
        min_candidate_nodes_absolute: 10,
    };
    assert_eq!(args.num_candidates(100), 50);
    assert_eq!(args.num_candidates(10), 10);
    assert!(
        DefaultPreemptionArgs::parse(Some(&serde_json::json!({
            "minCandidateNodesPercentage": 0, "minCandidateNodesAbsolute": 0
        })))
        .unwrap_err()
        .contains("cannot be zero at the same time")
    );
    assert!(
        DefaultPreemptionArgs::parse(Some(
            &serde_json::json!({"minCandidateNodesPercentage": 101})
        ))
        .is_err()
    );
}

// ---------------------------------------------------------------------------------------------
// Dry runs through the PreFilter extensions (PodTopologySpread, InterPodAffinity).

use crate::api::{
    Operator, PodAffinity, PodAffinityTerm, Requirement, TopologySpreadConstraint,
    WhenUnsatisfiable,
};

/// Upstream's `nodeNames` such as `"node-a/zone1"`: the node is named by the first part and
/// labelled `hostname`, `zone`, `region` by the parts in order (TestDryRunPreemption).
fn topology_node(spec: &str) -> Node {
    let parts: Vec<&str> = spec.split('/').collect();
    let mut n = node(parts[0]);
    n.labels = ["hostname", "zone", "region"]
        .into_iter()
        .zip(parts.iter().copied())
        .collect();
    n
}

fn topology_cluster(specs: &[&str], pods: Vec<(Pod, &str)>) -> Store {
    let mut store = Store::new();
    for s in specs {
        store.add_node(topology_node(s));
    }
    for (p, n) in pods {
        let node = store.node_id(n).expect("node exists");
        let id = store.add_pod(p, SimTime::ZERO);
        store.bind(id, node, SimTime::ZERO);
        let r = store.pod_mut(id);
        r.phase = crate::api::PodPhase::Running;
        r.ready = true;
        r.running_at = Some(SimTime::ZERO);
    }
    store
}

fn exists(key: &str) -> Option<LabelSelector> {
    Some(LabelSelector {
        requirements: vec![Requirement::new(key, Operator::Exists, vec![])],
    })
}

/// `st.MakePod().Name(name).Label("foo", "").Priority(priority)` (no requests).
fn foo_pod(name: &str, priority: i32) -> Pod {
    labelled_with(pod(name, 0, priority), &[("foo", "")])
}

fn labelled_with(mut p: Pod, pairs: &[(&str, &str)]) -> Pod {
    p.labels = pairs.iter().copied().collect::<Labels>();
    p
}

/// `.SpreadConstraint(maxSkew, key, DoNotSchedule, Exists("foo"))` for each key.
fn spread_foo(mut p: Pod, keys: &[&str]) -> Pod {
    p.topology_spread_constraints = keys
        .iter()
        .map(|k| {
            TopologySpreadConstraint::new(1, *k, WhenUnsatisfiable::DoNotSchedule, exists("foo"))
        })
        .collect();
    p
}

/// `.PodAntiAffinityExists(key, topologyKey, PodAntiAffinityWithRequiredReq)`.
fn anti_affinity_exists(mut p: Pod, key: &str, topology_key: &str) -> Pod {
    p.pod_anti_affinity = Some(Box::new(PodAffinity {
        required: vec![PodAffinityTerm::new(exists(key), topology_key)],
        ..PodAffinity::default()
    }));
    p
}

/// Upstream TestDryRunPreemption: PreFilter, then PostFilter with every node Unschedulable
/// (the dry run visits all of them); the candidates by node name with their victims.
fn dry_run(store: &Store, preemptor: &Pod) -> (Vec<(String, Vec<String>)>, PostFilterResult) {
    let mut s = Scheduler::new(None, &Registry::default_plugins()).expect("default profile");
    let statuses = NodeToStatus {
        explicit: Vec::new(),
        absent: Status::unschedulable("filtered"),
    };
    let r = s
        .pre_filter_then_post_filter(
            preemptor,
            store,
            &statuses,
            &mut ChaCha8Rng::seed_from_u64(1),
        )
        .expect("the default profile has DefaultPreemption");
    let mut out: Vec<(String, Vec<String>)> = r
        .explanation
        .as_ref()
        .expect("explained")
        .candidates
        .iter()
        .map(|c| (c.name.clone(), names(store, &c.victims)))
        .collect();
    out.sort();
    (out, r)
}

// default_preemption_test.go TestDryRunPreemption "pod with anti-affinity is preempted":
// p1.1 repels every `foo` pod from node1 by hostname; removing the lower-priority pods
// (RemovePod takes p1.1's term out of existingAntiAffinityCounts) makes room, p1.2 is reprieved,
// p1.1 is not. node2 has no lower-priority pod.
#[test]
fn pod_with_anti_affinity_is_preempted() {
    let store = topology_cluster(
        &["node1", "node2"],
        vec![
            (
                anti_affinity_exists(
                    labelled_with(pod("p1.1", SMALL, LOW), &[("foo", "")]),
                    "foo",
                    "hostname",
                ),
                "node1",
            ),
            (pod("p1.2", SMALL, MID), "node1"),
            (pod("p1.3", SMALL, HIGH), "node1"),
            (pod("p2", SMALL, HIGH), "node2"),
        ],
    );
    let preemptor = labelled_with(pod("p", SMALL, HIGH), &[("foo", "")]);
    let (candidates, r) = dry_run(&store, &preemptor);
    assert_eq!(candidates, [pair("node1", &["p1.1"])]);
    assert_eq!(r.nominate, Some(store.node_id("node1")));
    assert_eq!(names(&store, &r.victims), ["p1.1"]);
}

// default_preemption_test.go TestDryRunPreemption "preemption to resolve pod topology spread
// filter failure": zone1 (node-a, node-b) holds 3 `foo` pods, zone2 (node-x) 2, so every node
// fails a maxSkew-1 constraint. On node-a, removing pod-a1 and pod-a2 (RemovePod: zone1 → 1,
// node-a → 0) lets p fit; pod-a1 (mid) is reprieved, pod-a2 is not. On node-b, pod-b1 goes.
// node-x's pods are not of lower priority.
#[test]
fn preemption_resolves_a_pod_topology_spread_filter_failure() {
    let store = topology_cluster(
        &["node-a/zone1", "node-b/zone1", "node-x/zone2"],
        vec![
            (foo_pod("pod-a1", MID), "node-a"),
            (foo_pod("pod-a2", LOW), "node-a"),
            (foo_pod("pod-b1", LOW), "node-b"),
            (foo_pod("pod-x1", HIGH), "node-x"),
            (foo_pod("pod-x2", HIGH), "node-x"),
        ],
    );
    let preemptor = spread_foo(foo_pod("p", HIGH), &["zone", "hostname"]);
    let (candidates, _) = dry_run(&store, &preemptor);
    assert_eq!(
        candidates,
        [pair("node-a", &["pod-a2"]), pair("node-b", &["pod-b1"])]
    );
}

// default_preemption_test.go TestPreempt "preemption for topology spread constraints", through
// a whole scheduling cycle: every node fails PodTopologySpread, only node-b has a lower-priority
// pod, and removing it satisfies both constraints.
#[test]
fn preempt_for_topology_spread_constraints() {
    let store = topology_cluster(
        &["node-a/zone1", "node-b/zone1", "node-x/zone2"],
        vec![
            (foo_pod("p-a1", HIGH), "node-a"),
            (foo_pod("p-a2", HIGH), "node-a"),
            (foo_pod("p-b1", LOW), "node-b"),
            (foo_pod("p-x1", HIGH), "node-x"),
            (foo_pod("p-x2", HIGH), "node-x"),
        ],
    );
    let preemptor = spread_foo(foo_pod("p", HIGH), &["zone", "hostname"]);
    let r = schedule(&store, &preemptor);
    assert_eq!(r.selected, None);
    assert_eq!(
        r.message
            .as_deref()
            .map(|m| m.split(" preemption").next().unwrap_or(m)),
        Some("0/3 nodes are available: 3 node(s) didn't match pod topology spread constraints.")
    );
    assert_eq!(chosen(&store, &r), "node-b");
    assert_eq!(names(&store, &r.victims), ["p-b1"]);
}

// Reprieving a victim adds it back through AddPod, critical paths included. zone1 holds 4 `foo`
// pods (node-a 2 high, node-b 2 low), zone2 3 (node-x, high): every node fails. On node-b,
// RemovePod of both lows gives zone1 2 (critical paths [zone1 2, zone2 3]) and node-b 0, so p
// fits; AddPod of p-b1 gives zone1 3 and node-b 1 (minimum 3 and 1): still fits, reprieved;
// AddPod of p-b2 gives zone1 4 against zone2's 3: skew 2, so p-b2 is the one victim.
#[test]
fn a_reprieved_victim_counts_again_in_the_spread() {
    let store = topology_cluster(
        &["node-a/zone1", "node-b/zone1", "node-x/zone2"],
        vec![
            (foo_pod("p-a1", HIGH), "node-a"),
            (foo_pod("p-a2", HIGH), "node-a"),
            (foo_pod("p-b1", LOW), "node-b"),
            (foo_pod("p-b2", LOW), "node-b"),
            (foo_pod("p-x1", HIGH), "node-x"),
            (foo_pod("p-x2", HIGH), "node-x"),
            (foo_pod("p-x3", HIGH), "node-x"),
        ],
    );
    let preemptor = spread_foo(foo_pod("p", HIGH), &["zone", "hostname"]);
    let (candidates, _) = dry_run(&store, &preemptor);
    assert_eq!(candidates, [pair("node-b", &["p-b2"])]);
}

// ---------------------------------------------------------------------------------------------
// Nominated pods through AddPod (upstream `addGENominatedPods` runs AddPod on a cloned state).

/// A store with `node-a`, `node-b` (hostname labels) and `nominated` nominated to node-a.
fn with_nominated(nominated: Pod) -> Store {
    let mut store = topology_cluster(&["node-a", "node-b"], vec![]);
    let id = store.add_pod(nominated, SimTime::ZERO);
    store.set_nominated_node(id, store.node_id("node-a"));
    store
}

#[test]
fn a_nominated_pod_counts_in_spreading_for_pods_of_lower_or_equal_priority() {
    let store = with_nominated(foo_pod("nominated", HIGH));
    // Equal priority: node-a counts the nominated pod (1 + 1 − 0 > 1), so only node-b fits.
    for priority in [MID, HIGH] {
        let r = schedule(&store, &spread_foo(foo_pod("p", priority), &["hostname"]));
        assert_eq!(r.feasible_nodes, 1, "priority {priority}");
        assert_eq!(r.selected, store.node_id("node-b"));
        let verdict = &r.explanation.as_ref().unwrap().nodes[0];
        assert_eq!(
            verdict.reasons,
            [crate::scheduler::plugins::pod_topology_spread::ERR_REASON_CONSTRAINTS_NOT_MATCH]
        );
    }
    // A more important pod does not yield to it.
    let r = schedule(&store, &spread_foo(foo_pod("p", VERY_HIGH), &["hostname"]));
    assert_eq!(r.feasible_nodes, 2);
}

#[test]
fn a_nominated_pod_counts_for_the_incoming_pods_anti_affinity() {
    let store = with_nominated(labelled_with(pod("db", SMALL, HIGH), &[("app", "db")]));
    let mut p = labelled_with(pod("web", SMALL, MID), &[("app", "web")]);
    p = anti_affinity_exists(p, "app", "hostname");
    p.pod_anti_affinity.as_mut().unwrap().required[0].label_selector = Some(LabelSelector {
        requirements: vec![Requirement::new("app", Operator::In, vec!["db".into()])],
    });
    let r = schedule(&store, &p);
    assert_eq!(r.selected, store.node_id("node-b"));
    assert_eq!(r.feasible_nodes, 1);
    assert_eq!(
        r.explanation.as_ref().unwrap().nodes[0].reasons,
        [crate::scheduler::plugins::inter_pod_affinity::ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH]
    );
}

#[test]
fn a_nominated_pods_own_anti_affinity_is_not_seen_when_inter_pod_affinity_skips() {
    // As upstream: with no placed pod with required anti-affinity and none on the incoming pod,
    // InterPodAffinity's PreFilter returns Skip, so AddPod does not run for it either.
    let nominated = anti_affinity_exists(
        labelled_with(pod("db", SMALL, HIGH), &[("app", "db")]),
        "app",
        "hostname",
    );
    let store = with_nominated(nominated);
    let r = schedule(
        &store,
        &labelled_with(pod("web", SMALL, MID), &[("app", "web")]),
    );
    assert_eq!(r.feasible_nodes, 2);
}

/// The node-status lookups of one attempt for a pod that fits nowhere, on `n` nodes each
/// running one lower-priority pod: every node is a potential node and is dry-run.
fn probes_of_failed_attempt(n: usize) -> u64 {
    let names: Vec<String> = (0..n).map(|i| format!("node-{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let pods = refs
        .iter()
        .enumerate()
        .map(|(i, node)| (pod(&format!("low-{i}"), SMALL, LOW), *node, 0))
        .collect();
    let store = cluster(&refs, pods);
    let mut s = Scheduler::new(None, &Registry::default_plugins()).expect("default profile");
    probes::take();
    // Twice the node's CPU and memory: removing every victim does not make room.
    let r = s.schedule_one(
        &pod("huge", 2 * 50, HIGH),
        &store,
        &mut ChaCha8Rng::seed_from_u64(1),
        false,
    );
    assert_eq!(r.selected, None);
    assert_eq!(r.nominated_node, None);
    probes::take()
}

// A failed attempt examines each node's filter status a bounded number of times: the cost of
// the attempt grows with the nodes, not with their square (a linear `NodeToStatus::get` per
// node made one attempt on 100,000 nodes take 25 s).
#[test]
fn a_failed_attempt_looks_each_node_status_up_in_constant_time() {
    let small = probes_of_failed_attempt(500);
    let large = probes_of_failed_attempt(2000);
    assert!(small <= 3 * 500, "{small} status probes for 500 nodes");
    assert!(large <= 3 * 2000, "{large} status probes for 2000 nodes");
}
