//! Tests of the scheduling cycle and of profile building.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::*;
use crate::api::{
    NodeAffinity, NodeSelector, NodeSelectorTerm, Operator, Requirement, TaintEffect,
};
use crate::scheduler::testing::{node, pod, snapshot, taint};
use crate::store::Store;

fn scheduler(config: Option<Value>) -> Result<Scheduler, ConfigError> {
    let config = config.map(|v| parse_config(&v)).transpose()?;
    Scheduler::new(config.as_ref(), &Registry::default_plugins())
}

fn enabled(s: &Scheduler, point: ExtensionPoints) -> Vec<(String, i64)> {
    s.profiles()[0]
        .enabled(point)
        .into_iter()
        .map(|e| (e.name, e.weight))
        .collect()
}

fn names(list: &[(String, i64)]) -> Vec<&str> {
    list.iter().map(|(n, _)| n.as_str()).collect()
}

fn owned(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter().map(|(n, w)| (n.to_string(), *w)).collect()
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

// schedule_one.go numFeasibleNodesToFind, with the brief's table.
#[test]
fn num_feasible_nodes_to_find_table() {
    let cases = [
        (None, 0, 10, 10),
        (None, 0, 50, 50),
        (None, 0, 99, 99),
        // 100 nodes: adaptive 50 - 0 = 50% → 50, raised to the minimum of 100.
        (None, 0, 100, 100),
        // 1000 nodes: 50 - 8 = 42% → 420.
        (None, 0, 1000, 420),
        // 5000 nodes: 50 - 40 = 10% → 500.
        (None, 0, 5000, 500),
        // 6000 nodes: 50 - 48 = 2%, floored at 5% → 300.
        (None, 0, 6000, 300),
        // An explicit global percentage, and a profile percentage taking precedence.
        (None, 30, 1000, 300),
        (Some(10), 30, 1000, 100),
        (Some(100), 0, 5000, 5000),
        (Some(1), 0, 5000, 100),
    ];
    for (profile, global, n, want) in cases {
        assert_eq!(
            num_feasible_nodes_to_find(profile, global, n),
            want,
            "profile={profile:?} global={global} n={n}"
        );
    }
}

// default_plugins.go getDefaultPlugins + framework.go expandMultiPointPlugins/getScoreWeights.
#[test]
fn default_profile_has_upstream_plugins_and_weights() {
    let s = scheduler(None).unwrap();
    assert!(s.has_profile("default-scheduler"));
    assert_eq!(
        enabled(&s, ExtensionPoints::SCORE),
        owned(&[
            ("TaintToleration", 3),
            ("NodeAffinity", 2),
            ("NodeResourcesFit", 1),
            ("PodTopologySpread", 2),
            ("InterPodAffinity", 2),
            ("NodeResourcesBalancedAllocation", 1),
            ("ImageLocality", 1)
        ])
    );
    assert_eq!(
        names(&enabled(&s, ExtensionPoints::FILTER)),
        [
            "NodeUnschedulable",
            "NodeName",
            "TaintToleration",
            "NodeAffinity",
            "NodePorts",
            "NodeResourcesFit",
            "VolumeRestrictions",
            "NodeVolumeLimits",
            "VolumeBinding",
            "VolumeZone",
            "PodTopologySpread",
            "InterPodAffinity"
        ]
    );
    assert_eq!(
        names(&enabled(&s, ExtensionPoints::PRE_FILTER)),
        [
            "NodeAffinity",
            "NodePorts",
            "NodeResourcesFit",
            "VolumeRestrictions",
            "NodeVolumeLimits",
            "VolumeBinding",
            "VolumeZone",
            "PodTopologySpread",
            "InterPodAffinity"
        ]
    );
    assert_eq!(
        names(&enabled(&s, ExtensionPoints::PRE_SCORE)),
        [
            "TaintToleration",
            "NodeAffinity",
            "NodeResourcesFit",
            "PodTopologySpread",
            "InterPodAffinity",
            "NodeResourcesBalancedAllocation"
        ]
    );
    assert_eq!(
        names(&enabled(&s, ExtensionPoints::QUEUE_SORT)),
        ["PrioritySort"]
    );
    assert_eq!(
        names(&enabled(&s, ExtensionPoints::BIND)),
        ["DefaultBinder"]
    );
    assert_eq!(s.unmodelled_plugins(), ["DynamicResources"]);
    // A configuration without profiles gets the same default profile.
    let s = scheduler(Some(json!({"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration"}))).unwrap();
    assert_eq!(enabled(&s, ExtensionPoints::SCORE).len(), 7);
}

#[test]
fn disabling_plugins_follows_merge_semantics() {
    // Disabled in multiPoint: gone from every point.
    let s = scheduler(Some(json!({"profiles": [{"plugins": {"multiPoint": {"disabled": [{"name": "TaintToleration"}]}}}]}))).unwrap();
    assert!(!names(&enabled(&s, ExtensionPoints::FILTER)).contains(&"TaintToleration"));
    assert!(!names(&enabled(&s, ExtensionPoints::SCORE)).contains(&"TaintToleration"));
    // Disabled at one point: only there.
    let s = scheduler(Some(json!({"profiles": [{"plugins": {"score": {"disabled": [{"name": "NodeResourcesBalancedAllocation"}]}}}]}))).unwrap();
    assert_eq!(
        names(&enabled(&s, ExtensionPoints::SCORE)),
        [
            "TaintToleration",
            "NodeAffinity",
            "NodeResourcesFit",
            "PodTopologySpread",
            "InterPodAffinity",
            "ImageLocality"
        ]
    );
    assert!(
        names(&enabled(&s, ExtensionPoints::PRE_SCORE))
            .contains(&"NodeResourcesBalancedAllocation")
    );
    // `*` at a point: only what is enabled there explicitly.
    let s = scheduler(Some(json!({"profiles": [{"plugins": {"score": {
        "disabled": [{"name": "*"}],
        "enabled": [{"name": "NodeResourcesFit", "weight": 4}]
    }}}]})))
    .unwrap();
    assert_eq!(
        enabled(&s, ExtensionPoints::SCORE),
        owned(&[("NodeResourcesFit", 4)])
    );
    // `*` in multiPoint drops every default, so a queue sort and binder must come back.
    let e = scheduler(Some(
        json!({"profiles": [{"plugins": {"multiPoint": {"disabled": [{"name": "*"}]}}}]}),
    ))
    .unwrap_err();
    assert_eq!(e.path, "profiles[0].plugins");
    assert!(
        e.message.contains("only one queue sort plugin required"),
        "{e}"
    );
    let s = scheduler(Some(json!({"profiles": [{"plugins": {"multiPoint": {
        "disabled": [{"name": "*"}],
        "enabled": [{"name": "PrioritySort"}, {"name": "DefaultBinder"}, {"name": "NodeResourcesFit"}]
    }}}]})))
    .unwrap();
    assert_eq!(
        names(&enabled(&s, ExtensionPoints::FILTER)),
        ["NodeResourcesFit"]
    );
    assert!(s.unmodelled_plugins().is_empty());
}

#[test]
fn weights_override_defaults() {
    // multiPoint entry replaces the default in place, with its weight.
    let s = scheduler(Some(json!({"profiles": [{"plugins": {"multiPoint": {"enabled": [{"name": "NodeResourcesFit", "weight": 5}]}}}]})))
        .unwrap();
    assert_eq!(
        enabled(&s, ExtensionPoints::SCORE),
        owned(&[
            ("TaintToleration", 3),
            ("NodeAffinity", 2),
            ("NodeResourcesFit", 5),
            ("PodTopologySpread", 2),
            ("InterPodAffinity", 2),
            ("NodeResourcesBalancedAllocation", 1),
            ("ImageLocality", 1)
        ])
    );
    // A Score-point weight wins over multiPoint, and the overriding plugin runs first.
    let s = scheduler(Some(json!({"profiles": [{"plugins": {"score": {"enabled": [{"name": "NodeAffinity", "weight": 7}]}}}]}))).unwrap();
    assert_eq!(
        enabled(&s, ExtensionPoints::SCORE),
        owned(&[
            ("NodeAffinity", 7),
            ("TaintToleration", 3),
            ("NodeResourcesFit", 1),
            ("PodTopologySpread", 2),
            ("InterPodAffinity", 2),
            ("NodeResourcesBalancedAllocation", 1),
            ("ImageLocality", 1)
        ])
    );
    // Weight 0 means 1.
    let s = scheduler(Some(json!({"profiles": [{"plugins": {"multiPoint": {"enabled": [{"name": "TaintToleration", "weight": 0}]}}}]})))
        .unwrap();
    assert_eq!(
        enabled(&s, ExtensionPoints::SCORE)[0],
        ("TaintToleration".to_string(), 1)
    );
}

#[test]
fn unknown_and_misplaced_plugins_are_config_errors() {
    let e = scheduler(Some(
        json!({"profiles": [{"schedulerName": "x", "plugins": {"filter": {"enabled": [
            {"name": "NodeName"}, {"name": "NodeResourceFit"}
        ]}}}]}),
    ))
    .unwrap_err();
    assert_eq!(e.path, "profiles[0].plugins.filter.enabled[1].name");
    assert!(
        e.message.contains("unknown plugin \"NodeResourceFit\""),
        "{e}"
    );
    let e = scheduler(Some(
        json!({"profiles": [{"pluginConfig": [{"name": "Typo", "args": {}}]}]}),
    ))
    .unwrap_err();
    assert_eq!(e.path, "profiles[0].pluginConfig[0].name");
    let e = scheduler(Some(
        json!({"profiles": [{"plugins": {"filter": {"enabled": [{"name": "EBSLimits"}]}}}]}),
    ))
    .unwrap_err();
    assert!(e.message.contains("was removed"), "{e}");
    // An implemented plugin at a point it does not implement.
    let e = scheduler(Some(json!({"profiles": [{"plugins": {"filter": {"enabled": [{"name": "NodeResourcesBalancedAllocation"}]}}}]})))
        .unwrap_err();
    assert_eq!(e.path, "profiles[0].plugins.filter.enabled[0]");
    assert_eq!(
        e.message,
        "plugin \"NodeResourcesBalancedAllocation\" does not extend FilterPlugin plugin"
    );
    // An upstream plugin kubesim does not model is accepted and reported.
    let s = scheduler(Some(
        json!({"profiles": [{"plugins": {"multiPoint": {"disabled": [{"name": "*"}], "enabled": [
            {"name": "PrioritySort"}, {"name": "DefaultBinder"}, {"name": "DynamicResources"}
        ]}}}]}),
    ))
    .unwrap();
    assert_eq!(s.unmodelled_plugins(), ["DynamicResources"]);
}

#[test]
fn profiles_are_looked_up_by_scheduler_name() {
    let s = scheduler(Some(json!({"profiles": [
        {"schedulerName": "default-scheduler"},
        {"schedulerName": "packer", "pluginConfig": [{"name": "NodeResourcesFit", "args": {"scoringStrategy": {"type": "MostAllocated"}}}]}
    ]})))
    .unwrap();
    assert!(
        s.has_profile("packer") && s.has_profile("default-scheduler") && !s.has_profile("other")
    );
    let mut s = s;
    let store = snapshot(
        vec![node("n").capacity(&[("cpu", "1"), ("pods", "10")]).obj()],
        vec![],
    );
    let r = s.schedule_one(
        &pod("p").scheduler_name("other").obj(),
        &store,
        &mut rng(1),
        false,
    );
    assert_eq!(r.selected, None);
    assert_eq!(
        r.message.as_deref(),
        Some("profile not found for scheduler name \"other\"")
    );
}

fn cluster(n: usize, cpu: &str) -> Store {
    snapshot(
        (0..n)
            .map(|i| {
                node(&format!("node-{i:04}"))
                    .capacity(&[("cpu", cpu), ("memory", "8Gi"), ("pods", "110")])
                    .obj()
            })
            .collect(),
        vec![],
    )
}

#[test]
fn no_nodes_means_no_nodes_available() {
    let mut s = scheduler(None).unwrap();
    let r = s.schedule_one(&pod("p").obj(), &Store::new(), &mut rng(1), true);
    assert_eq!(r.message.as_deref(), Some(ERR_NO_NODES_AVAILABLE));
}

// schedule_one.go findNodesThatFitPod: `nextStartNodeIndex = (nextStartNodeIndex + processedNodes)
// % len(allNodes)`.
#[test]
fn start_index_rotates_by_processed_nodes() {
    // 200 nodes at 50%: 100 feasible nodes are enough.
    let config = json!({"percentageOfNodesToScore": 50});
    let mut s = scheduler(Some(config.clone())).unwrap();
    let store = cluster(200, "4");
    let p = pod("p").req(&[("cpu", "100m")]).obj();
    let r = s.schedule_one(&p, &store, &mut rng(1), false);
    assert_eq!((r.evaluated_nodes, r.feasible_nodes), (100, 100));
    assert_eq!(s.next_start_node_index, 100);
    let r = s.schedule_one(&p, &store, &mut rng(1), false);
    let chosen = r.selected.unwrap().index();
    assert!(
        (100..200).contains(&chosen),
        "the second cycle searches nodes 100..199, chose {chosen}"
    );
    assert_eq!(s.next_start_node_index, 0);

    // Nodes 100..149 are tainted: once 100 feasible nodes are found, the search goes on through
    // the infeasible ones up to the next feasible node (upstream with parallelism 1), and they
    // count for the rotation.
    let mut nodes: Vec<_> = (0..200)
        .map(|i| {
            node(&format!("node-{i:04}")).capacity(&[
                ("cpu", "4"),
                ("memory", "8Gi"),
                ("pods", "110"),
            ])
        })
        .collect();
    for n in &mut nodes[100..150] {
        let b = std::mem::replace(n, node(""));
        *n = b.taints(vec![taint("dedicated", "x", TaintEffect::NoSchedule)]);
    }
    let store = snapshot(nodes.into_iter().map(|b| b.obj()).collect(), vec![]);
    let mut s = scheduler(Some(config)).unwrap();
    let r = s.schedule_one(&p, &store, &mut rng(1), false);
    assert_eq!((r.evaluated_nodes, r.feasible_nodes), (150, 100));
    assert_eq!(s.next_start_node_index, 150);
}

#[test]
fn ties_are_broken_by_the_seeded_stream() {
    let store = cluster(5, "4");
    let p = pod("p").req(&[("cpu", "100m")]).obj();
    let pick = |seed: u64| {
        let mut s = scheduler(None).unwrap();
        s.schedule_one(&p, &store, &mut rng(seed), false)
            .selected
            .unwrap()
    };
    // Same seed, same node.
    assert_eq!(pick(7), pick(7));
    // Every tied node can win (reservoir sampling is uniform).
    let chosen: BTreeSet<NodeId> = (0..64).map(pick).collect();
    assert_eq!(chosen.len(), 5);
    // select_host itself: a higher score wins without a draw.
    let mut r = rng(3);
    assert_eq!(select_host(&[10, 30, 20], &mut r), Some(1));
    assert_eq!(select_host(&[], &mut r), None);
}

#[test]
fn single_feasible_node_skips_scoring_and_draws_nothing() {
    let store = snapshot(
        vec![
            node("big").capacity(&[("cpu", "4"), ("pods", "10")]).obj(),
            node("small")
                .capacity(&[("cpu", "1"), ("pods", "10")])
                .obj(),
        ],
        vec![],
    );
    let mut s = scheduler(None).unwrap();
    let mut r = rng(9);
    let result = s.schedule_one(&pod("p").req(&[("cpu", "2")]).obj(), &store, &mut r, true);
    assert_eq!(result.selected, store.node_id("big"));
    assert_eq!((result.evaluated_nodes, result.feasible_nodes), (2, 1));
    let e = result.explanation.unwrap();
    assert_eq!(e.scoring_skipped.as_deref(), Some(SCORING_SKIPPED_ONE_NODE));
    assert_eq!(e.nodes[1].reasons, ["Insufficient cpu"]);
    assert_eq!(r.random::<u64>(), rng(9).random::<u64>(), "no random draw");
}

// types.go FitError.Error(): "0/%v nodes are available: %v." with the sorted histogram.
#[test]
fn fit_error_message_matches_upstream_format() {
    let store = snapshot(
        vec![
            node("gpu")
                .capacity(&[("cpu", "8"), ("pods", "10")])
                .taints(vec![taint("gpu", "true", TaintEffect::NoSchedule)])
                .obj(),
            node("a").capacity(&[("cpu", "1"), ("pods", "10")]).obj(),
            node("b").capacity(&[("cpu", "1"), ("pods", "10")]).obj(),
        ],
        vec![],
    );
    let mut s = scheduler(None).unwrap();
    let r = s.schedule_one(
        &pod("p").req(&[("cpu", "2")]).obj(),
        &store,
        &mut rng(1),
        false,
    );
    assert_eq!(r.selected, None);
    assert_eq!(
        r.message.as_deref(),
        Some(
            // DefaultPreemption's PostFilter message follows (types.go: `" %v"`); a request
            // above a node's allocatable is UnschedulableAndUnresolvable, so no node is a
            // preemption candidate.
            "0/3 nodes are available: 1 node(s) had untolerated taint {gpu: true}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        )
    );
    assert_eq!((r.evaluated_nodes, r.feasible_nodes), (3, 0));
    // Byte order, as Go's sort.Strings: "10 …" before "2 …".
    let reasons = [("b", 2usize), ("a", 10)];
    assert_eq!(
        fit_error_message(12, None, reasons.iter().map(|(r, n)| (*r, *n))),
        "0/12 nodes are available: 10 a, 2 b."
    );
}

fn pinned_to(names: &[&[&str]]) -> NodeAffinity {
    let terms = names
        .iter()
        .map(|reqs| NodeSelectorTerm {
            match_expressions: vec![],
            match_fields: reqs
                .iter()
                .map(|n| Requirement::new("metadata.name", Operator::In, vec![n.to_string()]))
                .collect(),
        })
        .collect();
    NodeAffinity {
        required: Some(NodeSelector { terms }),
        preferred: vec![],
    }
}

#[test]
fn pre_filter_results_and_rejections() {
    let store = snapshot(
        vec![
            node("node1")
                .capacity(&[("cpu", "1"), ("pods", "10")])
                .obj(),
            node("node2")
                .capacity(&[("cpu", "4"), ("pods", "10")])
                .obj(),
            node("node3")
                .capacity(&[("cpu", "4"), ("pods", "10")])
                .obj(),
        ],
        vec![],
    );
    let mut s = scheduler(None).unwrap();
    // Pinned to node1, which lacks CPU: the other nodes are "absent" with the PreFilter reason.
    let p = pod("p")
        .req(&[("cpu", "2")])
        .affinity(pinned_to(&[&["node1"]]))
        .obj();
    let r = s.schedule_one(&p, &store, &mut rng(1), true);
    assert_eq!(
        r.message.as_deref(),
        Some(
            "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        )
    );
    assert_eq!(r.evaluated_nodes, 1);
    let e = r.explanation.unwrap();
    assert!(
        !e.nodes[1].evaluated
            && e.nodes[1].reasons == ["node(s) didn't satisfy plugin(s) [NodeAffinity]"]
    );
    // Pinned to node2 or node3: only they are filtered.
    let p = pod("p")
        .req(&[("cpu", "2")])
        .affinity(pinned_to(&[&["node2"], &["node3"]]))
        .obj();
    let r = s.schedule_one(&p, &store, &mut rng(1), false);
    assert!(r.selected == store.node_id("node2") || r.selected == store.node_id("node3"));
    assert_eq!(r.evaluated_nodes, 2);
    // Conflicting terms: the PreFilter rejection is the whole message.
    let p = pod("p").affinity(pinned_to(&[&["node1", "node2"]])).obj();
    let start = s.next_start_node_index;
    let r = s.schedule_one(&p, &store, &mut rng(1), true);
    assert_eq!(
        r.message.as_deref(),
        // PostFilter still runs after a PreFilter rejection (schedule_one.go), and every node
        // has the UnschedulableAndUnresolvable PreFilter status.
        Some(
            "0/3 nodes are available: pod affinity terms conflict. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
        )
    );
    assert_eq!(
        s.next_start_node_index, start,
        "a PreFilter rejection processes no node"
    );
    assert!(
        r.explanation
            .unwrap()
            .nodes
            .iter()
            .all(|v| v.reasons == ["pod affinity terms conflict"])
    );
}

#[test]
fn explain_does_not_change_the_decision() {
    // 300 nodes with different loads; 50% of nodes to score so the search stops early.
    let nodes: Vec<_> = (0..300)
        .map(|i| {
            node(&format!("n{i:03}"))
                .capacity(&[
                    ("cpu", if i % 3 == 0 { "8" } else { "4" }),
                    ("memory", "16Gi"),
                    ("pods", "110"),
                ])
                .obj()
        })
        .collect();
    let existing: Vec<(Pod, String)> = (0..300)
        .filter(|i| i % 7 == 0)
        .map(|i| {
            (
                pod("e").req(&[("cpu", "3"), ("memory", "1Gi")]).obj(),
                format!("n{i:03}"),
            )
        })
        .collect();
    let store = snapshot(
        nodes,
        existing
            .iter()
            .map(|(p, n)| (p.clone(), n.as_str()))
            .collect(),
    );
    let config = json!({"percentageOfNodesToScore": 50});
    let (mut plain, mut explained) = (
        scheduler(Some(config.clone())).unwrap(),
        scheduler(Some(config)).unwrap(),
    );
    let (mut r1, mut r2) = (rng(11), rng(11));
    for i in 0..20 {
        let p = pod(&format!("p{i}"))
            .req(&[("cpu", "2"), ("memory", "1Gi")])
            .obj();
        let a = plain.schedule_one(&p, &store, &mut r1, false);
        let b = explained.schedule_one(&p, &store, &mut r2, true);
        assert_eq!(
            (a.selected, a.evaluated_nodes, a.feasible_nodes),
            (b.selected, b.evaluated_nodes, b.feasible_nodes)
        );
        assert_eq!(plain.next_start_node_index, explained.next_start_node_index);
        assert!(a.explanation.is_none());
        let e = b.explanation.unwrap();
        assert_eq!(e.nodes.len(), 300);
        assert_eq!(
            e.nodes.iter().filter(|v| v.evaluated).count(),
            b.evaluated_nodes
        );
        let best = e
            .nodes
            .iter()
            .filter(|v| v.evaluated && v.feasible)
            .map(|v| v.total)
            .max()
            .unwrap();
        let chosen = &e.nodes[b.selected.unwrap().index()];
        assert_eq!(chosen.total, best);
        assert_eq!(
            chosen
                .scores
                .iter()
                .map(|s| s.normalized * s.weight)
                .sum::<i64>(),
            chosen.total
        );
    }
    assert_eq!(r1.random::<u64>(), r2.random::<u64>(), "same draws");
}

#[test]
fn custom_plugins_can_be_registered() {
    struct Veto;
    impl Plugin for Veto {
        fn name(&self) -> &str {
            "Veto"
        }
        fn extension_points(&self) -> ExtensionPoints {
            ExtensionPoints::FILTER
        }
        fn filter(&self, _pod: &Pod, node: &NodeInfo, _s: &Snapshot) -> Status {
            if node.name() == "a" {
                Status::unschedulable("vetoed")
            } else {
                Status::success()
            }
        }
    }
    let mut registry = Registry::default_plugins();
    registry.register("Veto", |_| Ok(Box::new(Veto)));
    let config = parse_config(
        &json!({"profiles": [{"plugins": {"filter": {"enabled": [{"name": "Veto"}]}}}]}),
    )
    .unwrap();
    let mut s = Scheduler::new(Some(&config), &registry).unwrap();
    assert_eq!(
        names(&enabled(&s, ExtensionPoints::FILTER)).last(),
        Some(&"Veto")
    );
    let store = snapshot(
        vec![
            node("a").capacity(&[("cpu", "4"), ("pods", "10")]).obj(),
            node("b").capacity(&[("cpu", "1"), ("pods", "10")]).obj(),
        ],
        vec![],
    );
    let r = s.schedule_one(&pod("p").obj(), &store, &mut rng(1), false);
    assert_eq!(r.selected, store.node_id("b"));
}

#[test]
fn scoring_strategy_comes_from_plugin_config() {
    let mut s = scheduler(Some(json!({"profiles": [
        {"schedulerName": "default-scheduler"},
        {"schedulerName": "packer", "pluginConfig": [
            {"name": "NodeResourcesFit", "args": {"scoringStrategy": {"type": "MostAllocated"}}}
        ]}
    ]})))
    .unwrap();
    let busy = pod("busy").req(&[("cpu", "2"), ("memory", "4Gi")]).obj();
    let store = snapshot(
        vec![
            node("a")
                .capacity(&[("cpu", "4"), ("memory", "8Gi"), ("pods", "10")])
                .obj(),
            node("b")
                .capacity(&[("cpu", "4"), ("memory", "8Gi"), ("pods", "10")])
                .obj(),
        ],
        vec![(busy, "a")],
    );
    // LeastAllocated: a = (25 + 37) / 2 = 31, b = (75 + 87) / 2 = 81; BalancedAllocation ties at
    // 93 (|0.75 - 0.625| / 2 = |0.25 - 0.125| / 2): b wins. MostAllocated: a = 68, b = 18.
    let spread = pod("p").req(&[("cpu", "1"), ("memory", "1Gi")]).obj();
    let r = s.schedule_one(&spread, &store, &mut rng(1), true);
    assert_eq!(r.selected, store.node_id("b"));
    let fit = |v: &NodeVerdict| {
        v.scores
            .iter()
            .find(|s| s.plugin == "NodeResourcesFit")
            .map(|s| s.raw)
    };
    let e = r.explanation.unwrap();
    assert_eq!((fit(&e.nodes[0]), fit(&e.nodes[1])), (Some(31), Some(81)));
    let pack = pod("p")
        .req(&[("cpu", "1"), ("memory", "1Gi")])
        .scheduler_name("packer")
        .obj();
    let r = s.schedule_one(&pack, &store, &mut rng(1), true);
    assert_eq!(r.selected, store.node_id("a"));
    let e = r.explanation.unwrap();
    assert_eq!((fit(&e.nodes[0]), fit(&e.nodes[1])), (Some(68), Some(18)));
}
