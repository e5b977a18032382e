//! Upstream test tables of `podtopologyspread/filtering_test.go` and `scoring_test.go`, plus
//! checks that the incremental counts equal a full scan and that a spread Deployment stays
//! within its skew when scheduled one pod at a time.

use super::*;
use crate::api::{
    LabelSelector, Labels, Node, NodeAffinity, NodeSelector, NodeSelectorTerm, Operator, OwnerRef,
    Requirement, TaintEffect, WorkloadId,
};
use crate::scheduler::framework::Code;
use crate::scheduler::testing::{node, pod, snapshot, taint};
use crate::store::Store;
use sim_core::SimTime;

use WhenUnsatisfiable::{DoNotSchedule, ScheduleAnyway};

fn exists(key: &str) -> Option<LabelSelector> {
    Some(LabelSelector {
        requirements: vec![Requirement::new(key, Operator::Exists, vec![])],
    })
}

/// upstream `fooSelector` / `barSelector`.
fn foo() -> Option<LabelSelector> {
    exists("foo")
}
fn bar() -> Option<LabelSelector> {
    exists("bar")
}

fn tsc(
    max_skew: i32,
    key: &str,
    when: WhenUnsatisfiable,
    selector: Option<LabelSelector>,
) -> TopologySpreadConstraint {
    TopologySpreadConstraint::new(max_skew, key, when, selector)
}

/// `st.MakePod().Label(k, "")…` with the given constraints.
fn mk(label_keys: &[&str], constraints: Vec<TopologySpreadConstraint>) -> Pod {
    let mut p = pod("p").obj();
    p.labels = label_keys.iter().map(|k| (*k, "")).collect();
    p.topology_spread_constraints = constraints;
    p
}

fn with_labels(pairs: &[(&str, &str)]) -> Pod {
    let mut p = pod("p").obj();
    p.labels = pairs.iter().copied().collect::<Labels>();
    p
}

/// Existing pods: `(labels, node)`.
fn existing<'a>(specs: &[(&[&str], &'a str)]) -> Vec<(Pod, &'a str)> {
    specs
        .iter()
        .map(|(keys, n)| (mk(keys, vec![]), *n))
        .collect()
}

fn n(name: &str, pairs: &[(&str, &str)]) -> Node {
    node(name).labels(pairs).obj()
}

/// Nodes `node-a`, `node-b` in zone1 and `node-x`, `node-y` in zone2, labelled `node` and
/// `zone` as the upstream tables make them.
fn four_nodes() -> Vec<Node> {
    vec![
        n("node-a", &[("zone", "zone1"), ("node", "node-a")]),
        n("node-b", &[("zone", "zone1"), ("node", "node-b")]),
        n("node-x", &[("zone", "zone2"), ("node", "node-x")]),
        n("node-y", &[("zone", "zone2"), ("node", "node-y")]),
    ]
}

fn node_affinity(key: &str, op: Operator, values: &[&str]) -> NodeAffinity {
    NodeAffinity {
        required: Some(NodeSelector {
            terms: vec![NodeSelectorTerm {
                match_expressions: vec![Requirement::new(
                    key,
                    op,
                    values.iter().map(|v| v.to_string()).collect(),
                )],
                match_fields: vec![],
            }],
        }),
        preferred: vec![],
    }
}

fn list_defaulting() -> PodTopologySpread {
    PodTopologySpread::new(PodTopologySpreadArgs {
        defaulting_type: DefaultingType::List,
        default_constraints: vec![],
    })
}

fn filter_codes(incoming: &Pod, store: &Store) -> Vec<Code> {
    let mut pl = list_defaulting();
    assert!(pl.pre_filter(incoming, store).is_success());
    store
        .nodes
        .iter()
        .map(|n| pl.filter(incoming, n, store).code)
        .collect()
}

const OK: Code = Code::Success;
const NO: Code = Code::Unschedulable;
const UR: Code = Code::UnschedulableAndUnresolvable;

fn unschedulable_taint() -> Vec<crate::api::Taint> {
    vec![taint(
        "node.kubernetes.io/unschedulable",
        "",
        TaintEffect::NoSchedule,
    )]
}

fn honor() -> Option<NodeInclusionPolicy> {
    Some(NodeInclusionPolicy::Honor)
}
fn ignore() -> Option<NodeInclusionPolicy> {
    Some(NodeInclusionPolicy::Ignore)
}

// filtering_test.go TestSingleConstraint: every case.
#[test]
fn single_constraint_matches_upstream_table() {
    let zone1 = |max_skew| tsc(max_skew, "zone", DoNotSchedule, foo());
    let per_node = |max_skew| tsc(max_skew, "node", DoNotSchedule, foo());
    let spread_2103 = existing(&[
        (&["foo"], "node-a"),
        (&["foo"], "node-a"),
        (&["foo"], "node-b"),
        (&["foo"], "node-y"),
        (&["foo"], "node-y"),
        (&["foo"], "node-y"),
    ]);
    let with_min_domains = |mut c: TopologySpreadConstraint, m| {
        c.min_domains = Some(m);
        c
    };
    let three_nodes = || {
        vec![
            n("node-a", &[("node", "node-a")]),
            n("node-b", &[("node", "node-b")]),
            n("node-c", &[("node", "node-c")]),
        ]
    };
    let spread_221 = existing(&[
        (&["foo"], "node-a"),
        (&["foo"], "node-a"),
        (&["foo"], "node-b"),
        (&["foo"], "node-b"),
        (&["foo"], "node-c"),
    ]);
    let spread_zone_21 = existing(&[
        (&["foo"], "node-a"),
        (&["foo"], "node-b"),
        (&["foo"], "node-y"),
    ]);
    let foo_nodes = |taint_y: bool| {
        vec![
            n("node-a", &[("node", "node-a"), ("foo", "")]),
            n("node-b", &[("node", "node-b"), ("foo", "")]),
            n("node-x", &[("node", "node-x"), ("foo", "")]),
            if taint_y {
                node("node-y")
                    .labels(&[("node", "node-y")])
                    .taints(unschedulable_taint())
                    .obj()
            } else {
                n("node-y", &[("node", "node-y")])
            },
        ]
    };
    let spread_11_0_1 = existing(&[
        (&["foo"], "node-a"),
        (&["foo"], "node-b"),
        (&["foo"], "node-y"),
    ]);
    let policy = |mut c: TopologySpreadConstraint,
                  affinity: Option<NodeInclusionPolicy>,
                  taints: Option<NodeInclusionPolicy>| {
        c.node_affinity_policy = affinity;
        c.node_taints_policy = taints;
        c
    };
    let node_selector_foo = |mut p: Pod| {
        p.node_selector = vec![Requirement::new(
            "foo",
            Operator::Equals,
            vec![String::new()],
        )];
        p
    };
    let node_affinity_foo = |mut p: Pod| {
        p.node_affinity = Some(Box::new(node_affinity("foo", Operator::In, &[""])));
        p
    };
    type Case<'a> = (&'a str, Pod, Vec<Node>, Vec<(Pod, &'a str)>, Vec<Code>);
    let cases: Vec<Case> = vec![
        (
            "no existing pods",
            mk(&["foo"], vec![zone1(1)]),
            four_nodes(),
            vec![],
            vec![OK, OK, OK, OK],
        ),
        (
            "no existing pods, incoming pod doesn't match itself",
            mk(&["foo"], vec![tsc(1, "zone", DoNotSchedule, bar())]),
            four_nodes(),
            vec![],
            vec![OK, OK, OK, OK],
        ),
        (
            "existing pods in a different namespace do not count",
            mk(&["foo"], vec![zone1(1)]),
            four_nodes(),
            {
                let mut pods = existing(&[
                    (&["foo"], "node-a"),
                    (&["foo"], "node-a"),
                    (&["foo"], "node-x"),
                    (&["foo"], "node-y"),
                ]);
                pods[0].0.namespace = "ns1".into();
                pods[1].0.namespace = "ns2".into();
                pods
            },
            vec![OK, OK, NO, NO],
        ),
        (
            "existing pods do not match null selector",
            mk(&["foo"], vec![tsc(1, "zone", DoNotSchedule, None)]),
            four_nodes(),
            existing(&[(&["foo"], "node-x"), (&["foo"], "node-y")]),
            vec![OK, OK, OK, OK],
        ),
        (
            "pods spread across zones as 3/3, all nodes fit",
            mk(&["foo"], vec![zone1(1)]),
            four_nodes(),
            spread_2103.clone(),
            vec![OK, OK, OK, OK],
        ),
        (
            "pods spread across zones as 1/2 due to absence of label 'zone' on node-b",
            mk(&["foo"], vec![zone1(1)]),
            vec![
                n("node-a", &[("zone", "zone1"), ("node", "node-a")]),
                n("node-b", &[("zon", "zone1"), ("node", "node-b")]),
                n("node-x", &[("zone", "zone2"), ("node", "node-x")]),
                n("node-y", &[("zone", "zone2"), ("node", "node-y")]),
            ],
            existing(&[
                (&["foo"], "node-a"),
                (&["foo"], "node-b"),
                (&["foo"], "node-x"),
                (&["foo"], "node-y"),
            ]),
            vec![OK, UR, NO, NO],
        ),
        (
            "pod cannot be scheduled as all nodes don't have label 'rack'",
            mk(&["foo"], vec![tsc(1, "rack", DoNotSchedule, foo())]),
            vec![
                n("node-a", &[("zone", "zone1"), ("node", "node-a")]),
                n("node-x", &[("zone", "zone2"), ("node", "node-x")]),
            ],
            vec![],
            vec![UR, UR],
        ),
        (
            "pods spread across nodes as 2/1/0/3, only node-x fits",
            mk(&["foo"], vec![per_node(1)]),
            four_nodes(),
            spread_2103.clone(),
            vec![NO, NO, OK, NO],
        ),
        (
            "pods spread across nodes as 2/1/0/3, maxSkew is 2, node-b and node-x fit",
            mk(&["foo"], vec![per_node(2)]),
            four_nodes(),
            spread_2103.clone(),
            vec![NO, OK, OK, NO],
        ),
        (
            "pods spread across nodes as 2/1/0/3, but pod doesn't match itself",
            mk(&["bar"], vec![per_node(1)]),
            four_nodes(),
            spread_2103.clone(),
            vec![NO, OK, OK, NO],
        ),
        (
            "incoming pod has nodeAffinity, pods spread as 2/~1~/~0~/3, hence node-a fits",
            {
                let mut p = mk(&["foo"], vec![per_node(1)]);
                p.node_affinity = Some(Box::new(node_affinity(
                    "node",
                    Operator::In,
                    &["node-a", "node-y"],
                )));
                p
            },
            four_nodes(),
            spread_2103.clone(),
            vec![OK, OK, OK, NO],
        ),
        (
            "incoming pod has nodeAffinity, pods spread as 0/~2~/0/1, hence node-a fits",
            {
                let mut p = mk(&["foo"], vec![zone1(1)]);
                p.node_affinity = Some(Box::new(node_affinity(
                    "node",
                    Operator::NotIn,
                    &["node-b"],
                )));
                p
            },
            four_nodes(),
            existing(&[
                (&["foo"], "node-b"),
                (&["foo"], "node-b"),
                (&["foo"], "node-y"),
            ]),
            vec![OK, OK, NO, NO],
        ),
        (
            "pods spread across nodes as 2/2/1, maxSkew is 2, and the number of domains < minDomains, then the third node fits",
            mk(&["foo"], vec![with_min_domains(per_node(2), 4)]),
            three_nodes(),
            spread_221.clone(),
            vec![NO, NO, OK],
        ),
        (
            "pods spread across nodes as 2/2/1, maxSkew is 2, and the number of domains > minDomains, then the all nodes fit",
            mk(&["foo"], vec![with_min_domains(per_node(2), 2)]),
            three_nodes(),
            spread_221.clone(),
            vec![OK, OK, OK],
        ),
        (
            "pods spread across zone as 2/1, maxSkew is 2 and the number of domains < minDomains, then the third and fourth nodes fit",
            mk(&["foo"], vec![with_min_domains(zone1(2), 3)]),
            four_nodes(),
            spread_zone_21.clone(),
            vec![NO, NO, OK, OK],
        ),
        (
            "pods spread across zone as 2/1, maxSkew is 2 and the number of domains > minDomains, then the all nodes fit",
            mk(&["foo"], vec![with_min_domains(zone1(2), 1)]),
            four_nodes(),
            spread_zone_21.clone(),
            vec![OK, OK, OK, OK],
        ),
        (
            "NodeAffinityPolicy honored with labelSelectors",
            node_selector_foo(mk(&["foo"], vec![per_node(1)])),
            foo_nodes(false),
            spread_11_0_1.clone(),
            vec![NO, NO, OK, OK],
        ),
        (
            "NodeAffinityPolicy ignored with labelSelectors",
            node_selector_foo(mk(&["foo"], vec![policy(per_node(1), ignore(), None)])),
            foo_nodes(false),
            spread_11_0_1.clone(),
            vec![NO, NO, OK, NO],
        ),
        (
            "NodeAffinityPolicy honored with nodeAffinity",
            node_affinity_foo(mk(&["foo"], vec![per_node(1)])),
            foo_nodes(false),
            spread_11_0_1.clone(),
            vec![NO, NO, OK, OK],
        ),
        (
            "NodeAffinityPolicy ignored with labelSelectors (nodeAffinity)",
            node_affinity_foo(mk(&["foo"], vec![policy(per_node(1), ignore(), None)])),
            foo_nodes(false),
            spread_11_0_1.clone(),
            vec![NO, NO, OK, NO],
        ),
        (
            "NodeTaintsPolicy honored",
            mk(&["foo"], vec![policy(per_node(1), None, honor())]),
            foo_nodes(true),
            spread_11_0_1.clone(),
            vec![NO, NO, OK, OK],
        ),
        (
            "NodeTaintsPolicy ignored",
            mk(&["foo"], vec![per_node(1)]),
            foo_nodes(true),
            spread_11_0_1.clone(),
            vec![NO, NO, OK, NO],
        ),
    ];
    for (name, incoming, nodes, pods, want) in cases {
        let store = snapshot(nodes, pods);
        assert_eq!(filter_codes(&incoming, &store), want, "{name}");
    }

    // "terminating Pods should be excluded": the pod is still on node-a, but being deleted.
    let mut store = snapshot(
        vec![
            n("node-a", &[("node", "node-a")]),
            n("node-b", &[("node", "node-b")]),
        ],
        existing(&[(&["foo"], "node-a"), (&["foo"], "node-b")]),
    );
    let terminating = store.nodes[0].pods[0];
    store.mark_terminating(terminating, SimTime::ZERO);
    assert_eq!(store.nodes[0].pods, [terminating]);
    assert_eq!(
        filter_codes(&mk(&["foo"], vec![per_node(1)]), &store),
        [OK, NO],
        "terminating Pods should be excluded"
    );
}

// filtering_test.go TestMultipleConstraints: every case.
#[test]
fn multiple_constraints_match_upstream_table() {
    let zone = |sel| tsc(1, "zone", DoNotSchedule, sel);
    let per_node = |sel| tsc(1, "node", DoNotSchedule, sel);
    let policy = |mut c: TopologySpreadConstraint,
                  affinity: Option<NodeInclusionPolicy>,
                  taints: Option<NodeInclusionPolicy>| {
        c.node_affinity_policy = affinity;
        c.node_taints_policy = taints;
        c
    };
    let foo_nodes = |b_has_foo: bool, y_tainted: bool, y_has_foo: bool| {
        let mut b = vec![("zone", "zone1"), ("node", "node-b")];
        if b_has_foo {
            b.push(("foo", ""));
        }
        let mut y = vec![("zone", "zone2"), ("node", "node-y")];
        if y_has_foo {
            y.push(("foo", ""));
        }
        let mut y = node("node-y").labels(&y);
        if y_tainted {
            y = y.taints(unschedulable_taint());
        }
        vec![
            n(
                "node-a",
                &[("zone", "zone1"), ("node", "node-a"), ("foo", "")],
            ),
            n("node-b", &b),
            n(
                "node-x",
                &[("zone", "zone2"), ("node", "node-x"), ("foo", "")],
            ),
            y.obj(),
        ]
    };
    let node_selector_foo = |mut p: Pod| {
        p.node_selector = vec![Requirement::new(
            "foo",
            Operator::Equals,
            vec![String::new()],
        )];
        p
    };
    let abyy = existing(&[
        (&["foo"], "node-a"),
        (&["foo"], "node-b"),
        (&["foo"], "node-y"),
    ]);
    type Case<'a> = (&'a str, Pod, Vec<Node>, Vec<(Pod, &'a str)>, Vec<Code>);
    let cases: Vec<Case> = vec![
        (
            "two Constraints on zone and node, spreads = [3/3, 2/1/0/3]",
            mk(&["foo"], vec![zone(foo()), per_node(foo())]),
            four_nodes(),
            existing(&[
                (&["foo"], "node-a"),
                (&["foo"], "node-a"),
                (&["foo"], "node-b"),
                (&["foo"], "node-y"),
                (&["foo"], "node-y"),
                (&["foo"], "node-y"),
            ]),
            vec![NO, NO, OK, NO],
        ),
        (
            "two Constraints on zone and node, spreads = [3/4, 2/1/0/4]",
            mk(&["foo"], vec![zone(foo()), per_node(foo())]),
            four_nodes(),
            existing(&[
                (&["foo"], "node-a"),
                (&["foo"], "node-a"),
                (&["foo"], "node-b"),
                (&["foo"], "node-y"),
                (&["foo"], "node-y"),
                (&["foo"], "node-y"),
                (&["foo"], "node-y"),
            ]),
            vec![NO, NO, NO, NO],
        ),
        (
            "Constraints hold different labelSelectors, spreads = [1/0, 1/0/0/1]",
            mk(&["foo", "bar"], vec![zone(foo()), per_node(bar())]),
            four_nodes(),
            existing(&[(&["foo"], "node-a"), (&["bar"], "node-y")]),
            vec![NO, NO, OK, NO],
        ),
        (
            "Constraints hold different labelSelectors, spreads = [1/0, 0/0/1/1]",
            mk(&["foo", "bar"], vec![zone(foo()), per_node(bar())]),
            four_nodes(),
            existing(&[
                (&["foo"], "node-a"),
                (&["bar"], "node-x"),
                (&["bar"], "node-y"),
            ]),
            vec![NO, NO, NO, NO],
        ),
        (
            "Constraints hold different labelSelectors, spreads = [2/3, 1/0/0/1]",
            mk(&["foo", "bar"], vec![zone(foo()), per_node(bar())]),
            four_nodes(),
            existing(&[
                (&["foo"], "node-a"),
                (&["foo", "bar"], "node-a"),
                (&["foo"], "node-y"),
                (&["foo", "bar"], "node-y"),
                (&["foo"], "node-y"),
            ]),
            vec![NO, OK, NO, NO],
        ),
        (
            "Constraints hold different labelSelectors but pod doesn't match itself on 'zone' constraint",
            mk(&["bar"], vec![zone(foo()), per_node(bar())]),
            four_nodes(),
            existing(&[
                (&["foo"], "node-a"),
                (&["bar"], "node-x"),
                (&["bar"], "node-y"),
            ]),
            vec![OK, OK, NO, NO],
        ),
        (
            "two Constraints on zone and node, absence of label 'node' on node-x, spreads = [1/1, 1/0/0/1]",
            mk(&["foo"], vec![zone(foo()), per_node(foo())]),
            vec![
                n("node-a", &[("zone", "zone1"), ("node", "node-a")]),
                n("node-b", &[("zone", "zone1"), ("node", "node-b")]),
                n("node-x", &[("zone", "zone2")]),
                n("node-y", &[("zone", "zone2"), ("node", "node-y")]),
            ],
            existing(&[(&["foo"], "node-a"), (&["foo"], "node-y")]),
            vec![NO, OK, UR, NO],
        ),
        (
            "two node inclusion Constraints, zone: honor/ignore, node: ignore/ignore",
            node_selector_foo(mk(
                &["foo"],
                vec![zone(foo()), policy(per_node(foo()), ignore(), None)],
            )),
            foo_nodes(true, false, false),
            abyy.clone(),
            vec![NO, NO, OK, NO],
        ),
        (
            "two node inclusion Constraints, zone: honor/honor, node: honor/ignore",
            mk(
                &["foo"],
                vec![policy(zone(foo()), None, honor()), per_node(foo())],
            ),
            foo_nodes(true, true, false),
            abyy.clone(),
            vec![NO, NO, OK, NO],
        ),
        (
            "two node inclusion Constraints, zone: honor/ignore, node: honor/ignore",
            node_selector_foo(mk(&["foo"], vec![zone(foo()), per_node(foo())])),
            foo_nodes(false, true, true),
            abyy.clone(),
            vec![NO, OK, OK, NO],
        ),
        (
            "two node inclusion Constraints, zone: honor/honor, node: ignore/ignore",
            node_selector_foo(mk(
                &["foo"],
                vec![
                    policy(zone(foo()), None, honor()),
                    policy(per_node(foo()), ignore(), None),
                ],
            )),
            foo_nodes(false, true, true),
            abyy.clone(),
            vec![NO, NO, OK, NO],
        ),
    ];
    for (name, incoming, nodes, pods, want) in cases {
        let store = snapshot(nodes, pods);
        assert_eq!(filter_codes(&incoming, &store), want, "{name}");
    }
}

#[test]
fn filter_reasons_are_upstreams() {
    let store = snapshot(
        vec![
            n("node-a", &[("zone", "zone1")]),
            n("node-b", &[("zone", "zone1")]),
            n("node-x", &[("zone", "zone2")]),
            n("node-nolabel", &[]),
        ],
        existing(&[(&["foo"], "node-a")]),
    );
    let p = mk(&["foo"], vec![tsc(1, "zone", DoNotSchedule, foo())]);
    let mut pl = list_defaulting();
    assert!(pl.pre_filter(&p, &store).is_success());
    assert_eq!(
        pl.filter(&p, &store.nodes[0], &store),
        Status::unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH)
    );
    assert!(pl.filter(&p, &store.nodes[2], &store).is_success());
    assert_eq!(
        pl.filter(&p, &store.nodes[3], &store),
        Status::unresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH)
    );
    // No hard constraint: Skip.
    let soft = mk(&["foo"], vec![tsc(1, "zone", ScheduleAnyway, foo())]);
    assert!(pl.pre_filter(&soft, &store).is_skip());
}

const HOST: &str = LABEL_HOSTNAME;

/// PreScore on `candidates` (the first nodes of `nodes`), Score, NormalizeScore.
fn score_with(
    pl: &mut PodTopologySpread,
    incoming: &Pod,
    store: &Store,
    candidates: usize,
) -> Result<Vec<i64>, Code> {
    let feasible: Vec<NodeId> = store.nodes.iter().take(candidates).map(|n| n.id).collect();
    let status = pl.pre_score(incoming, &feasible, store);
    if !status.is_success() {
        return Err(status.code);
    }
    let mut list: Vec<NodeScore> = feasible
        .iter()
        .map(|&id| NodeScore {
            node: id,
            score: pl.score(incoming, store.node(id), store).unwrap(),
        })
        .collect();
    assert!(pl.normalize_scores(incoming, &mut list).is_success());
    Ok(list.iter().map(|s| s.score).collect())
}

fn system_defaulting() -> PodTopologySpread {
    PodTopologySpread::new(PodTopologySpreadArgs::default())
}

fn hosts(names: &[&str]) -> Vec<Node> {
    names.iter().map(|h| n(h, &[(HOST, h)])).collect()
}

// scoring_test.go TestPodTopologySpreadScore: every case, with the upstream SystemDefaulting
// configuration. Nodes list the candidates first; `candidates` says how many.
#[test]
fn score_matches_upstream_table() {
    let host1 = |sel| tsc(1, HOST, ScheduleAnyway, sel);
    let zone1 = |sel| tsc(1, "zone", ScheduleAnyway, sel);
    let foo_pods = |specs: &[&'static str]| -> Vec<(Pod, &'static str)> {
        specs.iter().map(|n| (mk(&["foo"], vec![]), *n)).collect()
    };
    let spread_2103 = || foo_pods(&["node-a", "node-a", "node-b", "node-d", "node-d", "node-d"]);
    let spread_4321 = || {
        foo_pods(&[
            "node-a", "node-a", "node-a", "node-a", "node-b", "node-b", "node-b", "node-c",
            "node-c", "node-d",
        ])
    };
    let spread_42_1_3 = || {
        foo_pods(&[
            "node-a", "node-a", "node-a", "node-a", "node-b", "node-b", "node-x", "node-y",
            "node-y", "node-y",
        ])
    };
    let zone_host = |name: &str, zone: &str| n(name, &[("zone", zone), (HOST, name)]);
    let node_policy_nodes = || {
        vec![
            n("node-a", &[("node", "node-a"), ("foo", "")]),
            n("node-b", &[("node", "node-b"), ("foo", "")]),
            n("node-c", &[("node", "node-c")]),
        ]
    };
    let node_policy_pods = || foo_pods(&["node-a", "node-a", "node-b", "node-c"]);
    let per_node = |mut c: TopologySpreadConstraint,
                    affinity: Option<NodeInclusionPolicy>,
                    taints: Option<NodeInclusionPolicy>| {
        c.node_affinity_policy = affinity;
        c.node_taints_policy = taints;
        c
    };
    let node_selector_foo = |mut p: Pod| {
        p.node_selector = vec![Requirement::new(
            "foo",
            Operator::Equals,
            vec![String::new()],
        )];
        p
    };
    let node_affinity_foo = |mut p: Pod| {
        p.node_affinity = Some(Box::new(node_affinity("foo", Operator::In, &[""])));
        p
    };
    let keys = |mut c: TopologySpreadConstraint, k: &[&str]| {
        c.match_label_keys = k.iter().map(|s| s.to_string()).collect();
        c
    };
    let abcd_zones = || {
        vec![
            zone_host("node-a", "zone1"),
            zone_host("node-b", "zone1"),
            zone_host("node-c", "zone2"),
            zone_host("node-d", "zone2"),
        ]
    };
    type Case<'a> = (
        &'a str,
        Pod,
        Vec<Node>,
        usize,
        Vec<(Pod, &'a str)>,
        Vec<i64>,
    );
    let cases: Vec<Case> = vec![
        (
            "one constraint on node, no existing pods",
            mk(&["foo"], vec![host1(foo())]),
            hosts(&["node-a", "node-b"]),
            2,
            vec![],
            vec![100, 100],
        ),
        (
            "one constraint on node, only one node is candidate",
            mk(&["foo"], vec![host1(foo())]),
            hosts(&["node-a", "node-b"]),
            1,
            foo_pods(&["node-a", "node-a", "node-b"]),
            vec![100],
        ),
        (
            "one constraint on node, all nodes have the same number of matching pods",
            mk(&["foo"], vec![host1(foo())]),
            hosts(&["node-a", "node-b"]),
            2,
            foo_pods(&["node-a", "node-b"]),
            vec![100, 100],
        ),
        (
            "one constraint on node, all 4 nodes are candidates",
            mk(&["foo"], vec![host1(foo())]),
            hosts(&["node-a", "node-b", "node-c", "node-d"]),
            4,
            spread_2103(),
            vec![20, 60, 100, 0],
        ),
        (
            "one constraint on node, null selector",
            mk(&["foo"], vec![host1(None)]),
            hosts(&["node-a", "node-b", "node-c", "node-d"]),
            4,
            spread_2103(),
            vec![100, 100, 100, 100],
        ),
        (
            "one constraint on node, all 4 nodes are candidates, maxSkew=2",
            mk(&["foo"], vec![tsc(2, HOST, ScheduleAnyway, foo())]),
            hosts(&["node-a", "node-b", "node-c", "node-d"]),
            4,
            spread_2103(),
            vec![33, 66, 100, 16],
        ),
        (
            "one constraint on node, all 4 nodes are candidates, maxSkew=3",
            mk(&["foo"], vec![tsc(3, HOST, ScheduleAnyway, foo())]),
            hosts(&["node-a", "node-b", "node-c", "node-d"]),
            4,
            spread_4321(),
            vec![44, 66, 77, 100],
        ),
        (
            "one constraint on node, 3 out of 4 nodes are candidates",
            mk(&["foo"], vec![host1(foo())]),
            hosts(&["node-a", "node-b", "node-x", "node-y"]),
            3,
            spread_42_1_3(),
            vec![33, 83, 100],
        ),
        (
            "one constraint on node, 3 out of 4 nodes are candidates, one node doesn't match topology key",
            mk(&["foo"], vec![host1(foo())]),
            vec![
                n("node-a", &[(HOST, "node-a")]),
                n("node-b", &[("n", "node-b")]),
                n("node-x", &[(HOST, "node-x")]),
                n("node-y", &[(HOST, "node-y")]),
            ],
            3,
            spread_42_1_3(),
            vec![16, 0, 100],
        ),
        (
            "one constraint on zone, 3 out of 4 nodes are candidates",
            mk(&["foo"], vec![zone1(foo())]),
            vec![
                zone_host("node-a", "zone1"),
                zone_host("node-b", "zone1"),
                zone_host("node-x", "zone2"),
                zone_host("node-y", "zone2"),
            ],
            3,
            spread_42_1_3(),
            vec![75, 75, 100],
        ),
        (
            "two Constraints on zone and node, 2 out of 4 nodes are candidates",
            mk(&["foo"], vec![zone1(foo()), host1(foo())]),
            vec![
                zone_host("node-a", "zone1"),
                zone_host("node-x", "zone2"),
                zone_host("node-b", "zone1"),
                zone_host("node-y", "zone2"),
            ],
            2,
            foo_pods(&[
                "node-a", "node-a", "node-b", "node-x", "node-x", "node-y", "node-y", "node-y",
                "node-y",
            ]),
            vec![100, 63],
        ),
        (
            "two Constraints on zone and node, with different labelSelectors",
            mk(&["foo", "bar"], vec![zone1(foo()), host1(bar())]),
            vec![
                zone_host("node-a", "zone1"),
                zone_host("node-b", "zone1"),
                zone_host("node-x", "zone2"),
                zone_host("node-y", "zone2"),
            ],
            4,
            vec![
                (mk(&["foo"], vec![]), "node-a"),
                (mk(&["foo", "bar"], vec![]), "node-b"),
                (mk(&["foo"], vec![]), "node-y"),
                (mk(&["bar"], vec![]), "node-y"),
            ],
            vec![60, 20, 100, 60],
        ),
        (
            "two Constraints on zone and node, with different labelSelectors, some nodes have 0 pods",
            mk(&["foo", "bar"], vec![zone1(foo()), host1(bar())]),
            vec![
                zone_host("node-a", "zone1"),
                zone_host("node-b", "zone1"),
                zone_host("node-x", "zone2"),
                zone_host("node-y", "zone2"),
            ],
            4,
            vec![
                (mk(&["bar"], vec![]), "node-b"),
                (mk(&["foo"], vec![]), "node-x"),
                (mk(&["foo", "bar"], vec![]), "node-y"),
            ],
            vec![100, 60, 40, 0],
        ),
        (
            "two Constraints on zone and node, with different labelSelectors, 3 out of 4 nodes are candidates",
            mk(&["foo", "bar"], vec![zone1(foo()), host1(bar())]),
            vec![
                zone_host("node-a", "zone1"),
                zone_host("node-b", "zone1"),
                zone_host("node-x", "zone2"),
                zone_host("node-y", "zone2"),
            ],
            3,
            vec![
                (mk(&["foo"], vec![]), "node-a"),
                (mk(&["foo", "bar"], vec![]), "node-b"),
                (mk(&["foo"], vec![]), "node-y"),
                (mk(&["bar"], vec![]), "node-y"),
            ],
            vec![50, 25, 100],
        ),
        (
            "existing pods in a different namespace do not count",
            mk(&["foo"], vec![host1(foo())]),
            hosts(&["node-a", "node-b"]),
            2,
            {
                let mut pods = foo_pods(&["node-a", "node-a", "node-b", "node-b"]);
                pods[0].0.namespace = "ns1".into();
                pods
            },
            vec![100, 33],
        ),
        (
            "minDomains has no effect when ScheduleAnyway",
            mk(
                &["foo"],
                vec![{
                    let mut c = tsc(2, "node", ScheduleAnyway, foo());
                    c.min_domains = Some(10);
                    c
                }],
            ),
            vec![
                n("node-a", &[("node", "node-a")]),
                n("node-b", &[("node", "node-b")]),
                n("node-c", &[("node", "node-c")]),
            ],
            3,
            foo_pods(&["node-a", "node-a", "node-b", "node-b", "node-c"]),
            vec![75, 75, 100],
        ),
        (
            "NodeAffinityPolicy honoed with labelSelectors",
            node_selector_foo(mk(&["foo"], vec![tsc(1, "node", ScheduleAnyway, foo())])),
            node_policy_nodes(),
            3,
            node_policy_pods(),
            vec![0, 33, 100],
        ),
        (
            "NodeAffinityPolicy ignored with labelSelectors",
            node_selector_foo(mk(
                &["foo"],
                vec![per_node(
                    tsc(1, "node", ScheduleAnyway, foo()),
                    ignore(),
                    None,
                )],
            )),
            node_policy_nodes(),
            3,
            node_policy_pods(),
            vec![66, 100, 100],
        ),
        (
            "NodeAffinityPolicy honoed with nodeAffinity",
            node_affinity_foo(mk(&["foo"], vec![tsc(1, "node", ScheduleAnyway, foo())])),
            node_policy_nodes(),
            3,
            node_policy_pods(),
            vec![0, 33, 100],
        ),
        (
            "NodeAffinityPolicy ignored with nodeAffinity",
            node_affinity_foo(mk(
                &["foo"],
                vec![per_node(
                    tsc(1, "node", ScheduleAnyway, foo()),
                    ignore(),
                    None,
                )],
            )),
            node_policy_nodes(),
            3,
            node_policy_pods(),
            vec![66, 100, 100],
        ),
        (
            "NodeTaintsPolicy honored",
            mk(
                &["foo"],
                vec![per_node(
                    tsc(1, "node", ScheduleAnyway, foo()),
                    None,
                    honor(),
                )],
            ),
            vec![
                n("node-a", &[("node", "node-a")]),
                n("node-b", &[("node", "node-b")]),
                node("node-c")
                    .labels(&[("node", "node-c")])
                    .taints(unschedulable_taint())
                    .obj(),
            ],
            3,
            node_policy_pods(),
            vec![0, 33, 100],
        ),
        (
            "NodeTaintsPolicy ignored",
            mk(&["foo"], vec![tsc(1, "node", ScheduleAnyway, foo())]),
            vec![
                n("node-a", &[("node", "node-a")]),
                n("node-b", &[("node", "node-b")]),
                node("node-c")
                    .labels(&[("node", "node-c")])
                    .taints(unschedulable_taint())
                    .obj(),
            ],
            3,
            node_policy_pods(),
            vec![66, 100, 100],
        ),
        (
            // kubesim has no feature gate to turn matchLabelKeys off; the same pod without
            // matchLabelKeys gives upstream's disabled-gate result.
            "matchLabelKeys ignored when feature gate disabled",
            mk(&["foo", "bar", "baz"], vec![zone1(foo()), host1(bar())]),
            abcd_zones(),
            4,
            vec![
                (mk(&["foo"], vec![]), "node-a"),
                (mk(&["foo", "bar"], vec![]), "node-b"),
                (mk(&["foo"], vec![]), "node-c"),
                (mk(&["bar"], vec![]), "node-c"),
            ],
            vec![60, 20, 60, 100],
        ),
        (
            "matchLabelKeys ANDed with LabelSelector when LabelSelector is empty",
            mk(
                &["foo", "bar"],
                vec![
                    keys(zone1(Some(LabelSelector::default())), &["foo"]),
                    keys(host1(Some(LabelSelector::default())), &["bar"]),
                ],
            ),
            abcd_zones(),
            4,
            vec![
                (mk(&["foo"], vec![]), "node-a"),
                (mk(&["foo", "bar"], vec![]), "node-b"),
                (mk(&["foo"], vec![]), "node-c"),
                (mk(&["bar"], vec![]), "node-c"),
            ],
            vec![60, 20, 60, 100],
        ),
        (
            "matchLabelKeys ANDed with LabelSelector when LabelSelector isn't empty",
            mk(
                &["foo", "bar", "baz"],
                vec![zone1(foo()), keys(host1(bar()), &["baz"])],
            ),
            abcd_zones(),
            4,
            vec![
                (mk(&["foo"], vec![]), "node-a"),
                (mk(&["foo", "bar", "baz"], vec![]), "node-b"),
                (mk(&["foo"], vec![]), "node-c"),
                (mk(&["bar"], vec![]), "node-c"),
                (mk(&["bar", "baz"], vec![]), "node-c"),
            ],
            vec![60, 20, 60, 100],
        ),
    ];
    for (name, incoming, nodes, candidates, pods, want) in cases {
        let store = snapshot(nodes, pods);
        let got = score_with(&mut system_defaulting(), &incoming, &store, candidates);
        assert_eq!(got, Ok(want), "{name}");
    }

    // "terminating Pods should be excluded"
    let mut store = snapshot(
        hosts(&["node-a", "node-b"]),
        foo_pods(&["node-a", "node-b"]),
    );
    let terminating = store.nodes[0].pods[0];
    store.mark_terminating(terminating, SimTime::ZERO);
    assert_eq!(
        score_with(
            &mut system_defaulting(),
            &mk(&["foo"], vec![host1(foo())]),
            &store,
            2
        ),
        Ok(vec![100, 0]),
        "terminating Pods should be excluded"
    );

    // "system defaulting, nodes don't have zone, pods match service"
    let mut store = snapshot(
        hosts(&["node-a", "node-b", "node-c", "node-d"]),
        spread_4321(),
    );
    store.service_selectors.insert(
        ("default".into(), "svc".into()),
        [("foo", "")].into_iter().collect(),
    );
    assert_eq!(
        score_with(&mut system_defaulting(), &mk(&["foo"], vec![]), &store, 4),
        Ok(vec![44, 66, 77, 100]),
        "system defaulting, nodes don't have zone, pods match service"
    );
}

fn owned_by_rs(mut p: Pod) -> Pod {
    p.owner = Some(OwnerRef {
        kind: crate::api::OwnerKind::ReplicaSet,
        name: "rs1".into(),
        id: WorkloadId(0),
    });
    p
}

// scoring_test.go TestPreScoreSkip and TestPreScoreStateEmptyNodes ("system default constraints
// and a replicaset", "default constraints and a replicaset"): which constraints apply and the
// normalizing weights they get.
#[test]
fn pre_score_constraints_match_upstream() {
    // "the pod doesn't have soft topology spread Constraints"
    let store = snapshot(hosts(&["node-a", "node-b"]), vec![]);
    assert_eq!(
        score_with(&mut list_defaulting(), &with_labels(&[]), &store, 2),
        Err(Code::Skip)
    );
    // "default constraints and a replicaset that doesn't match": upstream looks up rs2, which
    // does not exist, so the pod gets no selector. Here: a pod with no labels and an owner
    // whose selector is not registered.
    let mut pl = PodTopologySpread::new(PodTopologySpreadArgs {
        defaulting_type: DefaultingType::List,
        default_constraints: vec![tsc(2, "planet", ScheduleAnyway, None)],
    });
    let store = snapshot(vec![n("node-a", &[("planet", "mars")])], vec![]);
    assert_eq!(
        score_with(&mut pl, &owned_by_rs(with_labels(&[])), &store, 1),
        Err(Code::Skip)
    );
    // A pod without an owner or Services gets no default constraints either.
    assert_eq!(
        score_with(
            &mut system_defaulting(),
            &with_labels(&[("foo", "tar")]),
            &store,
            1
        ),
        Err(Code::Skip)
    );

    // "system default constraints and a replicaset": hostname (maxSkew 3) and zone (maxSkew 5)
    // with the ReplicaSet's selector; nodes without a zone are not ignored but form the ""
    // zone; weights log(4 + 2) and log(2 + 2).
    let mut store = snapshot(
        vec![
            n("node-a", &[(HOST, "node-a"), (LABEL_ZONE, "mars")]),
            n("node-b", &[(HOST, "node-b"), (LABEL_ZONE, "mars")]),
            n("node-c", &[(HOST, "node-c")]),
            n("node-d", &[(HOST, "node-d")]),
        ],
        vec![],
    );
    store.owner_selectors.insert(
        (crate::api::OwnerKind::ReplicaSet, WorkloadId(0)),
        foo().unwrap(),
    );
    let incoming = owned_by_rs(with_labels(&[("foo", "tar"), ("baz", "sup")]));
    let mut pl = system_defaulting();
    let ids: Vec<NodeId> = store.nodes.iter().map(|n| n.id).collect();
    assert!(pl.pre_score(&incoming, &ids, &store).is_success());
    assert!(!pl.require_all);
    let got: Vec<(i32, bool, f64)> = pl
        .score
        .iter()
        .map(|c| (c.max_skew, c.hostname, c.weight))
        .collect();
    assert_eq!(
        got,
        [
            (3, true, topology_normalizing_weight(4)),
            (5, false, topology_normalizing_weight(2)),
        ]
    );
    // With no pods anywhere every node scores maxSkew - 1 summed, rounded: 2 + 4 = 6 on the
    // zoned nodes, 2 on the others.
    let raw: Vec<i64> = store
        .nodes
        .iter()
        .map(|n| pl.score(&incoming, n, &store).unwrap())
        .collect();
    assert_eq!(raw, [6, 6, 2, 2]);

    // "default constraints and a replicaset": only the ScheduleAnyway defaults score, weights
    // log(1 + 2) for both (one candidate node).
    let mut pl = PodTopologySpread::new(PodTopologySpreadArgs {
        defaulting_type: DefaultingType::List,
        default_constraints: vec![
            tsc(1, HOST, ScheduleAnyway, None),
            tsc(2, "rack", DoNotSchedule, None),
            tsc(2, "planet", ScheduleAnyway, None),
        ],
    });
    let mut store = snapshot(
        vec![n(
            "node-a",
            &[("rack", "rack1"), (HOST, "node-a"), ("planet", "mars")],
        )],
        vec![],
    );
    store.owner_selectors.insert(
        (crate::api::OwnerKind::ReplicaSet, WorkloadId(0)),
        foo().unwrap(),
    );
    assert!(pl.pre_score(&incoming, &[NodeId(0)], &store).is_success());
    assert!(pl.require_all);
    let got: Vec<(i32, f64)> = pl.score.iter().map(|c| (c.max_skew, c.weight)).collect();
    assert_eq!(
        got,
        [
            (1, topology_normalizing_weight(1)),
            (2, topology_normalizing_weight(1))
        ]
    );
    // The DoNotSchedule default filters.
    assert!(pl.pre_filter(&incoming, &store).is_success());
    assert_eq!(pl.filter.len(), 1);

    // "default constraints and a replicaset, but pod has constraints": the pod's own win.
    let mut own = owned_by_rs(with_labels(&[("foo", "bar"), ("baz", "sup")]));
    own.topology_spread_constraints = vec![
        tsc(1, "zone", DoNotSchedule, bar()),
        tsc(
            2,
            "planet",
            ScheduleAnyway,
            Some(LabelSelector::from_match_labels([("baz", "sup")])),
        ),
    ];
    let mut pl = PodTopologySpread::new(PodTopologySpreadArgs {
        defaulting_type: DefaultingType::List,
        default_constraints: vec![tsc(2, "galaxy", ScheduleAnyway, None)],
    });
    let store = snapshot(
        vec![n("node-a", &[("planet", "mars"), ("galaxy", "andromeda")])],
        vec![],
    );
    assert!(pl.pre_score(&own, &[NodeId(0)], &store).is_success());
    let got: Vec<(i32, f64)> = pl.score.iter().map(|c| (c.max_skew, c.weight)).collect();
    assert_eq!(got, [(2, topology_normalizing_weight(1))]);
}

#[test]
fn args_default_and_validate_as_upstream() {
    use serde_json::json;
    let parse = |v| PodTopologySpreadArgs::parse(Some(&v));
    assert_eq!(
        PodTopologySpreadArgs::parse(None).unwrap(),
        PodTopologySpreadArgs::default()
    );
    let a = parse(json!({"defaultingType": "List", "defaultConstraints": [
        {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"}
    ]}))
    .unwrap();
    assert_eq!(a.defaulting_type, DefaultingType::List);
    assert_eq!(a.default_constraints.len(), 1);
    let err = |v| parse(v).unwrap_err();
    let e = err(json!({"defaultConstraints": [
        {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"}
    ]}));
    assert_eq!(
        (e.path.as_str(), e.message.as_str()),
        (
            "defaultingType",
            "Invalid value: \"System\": when .defaultConstraints are not empty"
        )
    );
    let e = err(json!({"defaultingType": "List", "defaultConstraints": [
        {"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"}
    ]}));
    assert_eq!(e.path, "defaultConstraints[0].maxSkew");
    assert_eq!(e.message, "Invalid value: 0: not in valid range (0, inf)");
    let e = err(json!({"defaultingType": "List", "defaultConstraints": [
        {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway",
         "labelSelector": {"matchLabels": {"a": "b"}}}
    ]}));
    assert_eq!(e.path, "defaultConstraints[0].labelSelector");
    let e = err(json!({"defaultingType": "List", "defaultConstraints": [
        {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"},
        {"maxSkew": 2, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"}
    ]}));
    assert_eq!(e.path, "defaultConstraints[1]");
    assert_eq!(e.message, "Duplicate value: \"{zone, ScheduleAnyway}\"");
    assert_eq!(
        err(json!({"defaultingType": "Sometimes"})).path,
        "defaultingType"
    );
    assert_eq!(
        err(json!({"defaultConstraint": []})).path,
        "defaultConstraint"
    );
}

/// Counts kept incrementally across binds and deletes equal a fresh index's.
#[test]
fn incremental_counts_equal_a_full_scan() {
    let zones = ["z1", "z2", "z3"];
    let nodes: Vec<Node> = (0..12)
        .map(|i| {
            let name = format!("n{i}");
            let mut b = node(&name).labels(&[(HOST, name.as_str()), (LABEL_ZONE, zones[i % 3])]);
            if i == 5 {
                b = b.taints(unschedulable_taint());
            }
            b.obj()
        })
        .collect();
    let mut store = snapshot(nodes, vec![]);
    let mut incoming = mk(
        &["app"],
        vec![tsc(1, LABEL_ZONE, DoNotSchedule, exists("app")), {
            let mut c = tsc(2, HOST, DoNotSchedule, exists("app"));
            c.node_taints_policy = honor();
            c
        }],
    );
    incoming.name = "incoming".into();
    let mut kept = list_defaulting();
    let mut placed = Vec::new();
    // A fixed pseudo-random walk of binds and deletes (no RNG needed for coverage).
    for step in 0..200usize {
        if step % 7 == 3 && !placed.is_empty() {
            let victim = placed.remove((step * 31) % placed.len());
            store.delete_pod(victim, SimTime::ZERO);
        } else if step % 11 == 5 && !placed.is_empty() {
            // Graceful deletion: terminating for a while, deleted later.
            let victim = placed[(step * 17) % placed.len()];
            store.mark_terminating(victim, SimTime::ZERO);
        } else {
            let labels: &[&str] = if step % 4 == 0 { &["other"] } else { &["app"] };
            let mut p = mk(labels, vec![]);
            p.name = format!("p{step}");
            let id = store.add_pod(p, SimTime::ZERO);
            store.bind(
                id,
                NodeId(u32::try_from((step * 7) % 12).unwrap()),
                SimTime::ZERO,
            );
            placed.push(id);
        }
        let mut fresh = list_defaulting();
        let kept_status = kept.pre_filter(&incoming, &store);
        let fresh_status = fresh.pre_filter(&incoming, &store);
        assert_eq!(kept_status, fresh_status);
        for node in &store.nodes {
            assert_eq!(
                kept.filter(&incoming, node, &store),
                fresh.filter(&incoming, node, &store),
                "step {step}, node {}",
                node.name()
            );
        }
        for (a, b) in kept.filter.iter().zip(&fresh.filter) {
            let (a, b) = (kept.indexes.get(a.slot), fresh.indexes.get(b.slot));
            assert_eq!(a.node_matches, b.node_matches, "step {step}");
            let counts = |x: &index::SpreadIndex| {
                x.domains
                    .iter()
                    .map(|d| (d.eligible_nodes, d.matches))
                    .collect::<Vec<_>>()
            };
            assert_eq!(counts(a), counts(b), "step {step}");
            assert_eq!(a.min_match(1), b.min_match(1), "step {step}");
        }
    }
}

/// A store clone gets a fresh identity, so an index built on one store is not reused on a
/// clone that diverged.
#[test]
fn indexes_do_not_leak_between_store_clones() {
    let nodes = vec![n("a", &[(LABEL_ZONE, "z1")]), n("b", &[(LABEL_ZONE, "z2")])];
    let store = snapshot(nodes, vec![]);
    let mut other = store.clone();
    let incoming = mk(
        &["app"],
        vec![tsc(1, LABEL_ZONE, DoNotSchedule, exists("app"))],
    );
    let mut pl = list_defaulting();
    assert_eq!(filter_codes(&incoming, &store), [OK, OK]);
    assert!(pl.pre_filter(&incoming, &store).is_success());
    // Two matching pods land in z1 on the clone only.
    for i in 0..2 {
        let mut p = mk(&["app"], vec![]);
        p.name = format!("c{i}");
        let id = other.add_pod(p, SimTime::ZERO);
        other.bind(id, NodeId(0), SimTime::ZERO);
    }
    assert!(pl.pre_filter(&incoming, &other).is_success());
    let codes: Vec<Code> = other
        .nodes
        .iter()
        .map(|n| pl.filter(&incoming, n, &other).code)
        .collect();
    assert_eq!(codes, [NO, OK]);
}

/// A Deployment-like set of pods with a zone constraint (maxSkew 1, DoNotSchedule) scheduled one
/// by one through the whole default profile and bound: the zones never differ by more than one
/// pod while they have room, and once zone-c is full the rest stay pending.
#[test]
fn a_spread_deployment_keeps_its_skew_through_schedule_one() {
    use crate::scheduler::{Registry, Scheduler};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    let zones = ["zone-a", "zone-b", "zone-c"];
    let mut store = Store::new();
    // Three nodes per zone, room for 4 pods each, except zone-c whose nodes hold 2.
    for (z, zone) in zones.iter().enumerate() {
        for i in 0..3 {
            let name = format!("{zone}-{i}");
            let pods = if z == 2 { "2" } else { "4" };
            store.add_node(
                node(&name)
                    .labels(&[(HOST, name.as_str()), (LABEL_ZONE, zone)])
                    .capacity(&[("cpu", "8"), ("memory", "32Gi"), ("pods", pods)])
                    .obj(),
            );
        }
    }
    let mut scheduler = Scheduler::new(None, &Registry::default_plugins()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut per_zone = [0i64; 3];
    let mut pending = 0;
    for i in 0..30 {
        let mut p = pod(&format!("web-{i}"))
            .req(&[("cpu", "100m"), ("memory", "128Mi")])
            .obj();
        p.labels = [("app", "web")].into_iter().collect();
        p.owner = Some(OwnerRef {
            kind: crate::api::OwnerKind::ReplicaSet,
            name: "web".into(),
            id: WorkloadId(0),
        });
        p.topology_spread_constraints = vec![tsc(
            1,
            LABEL_ZONE,
            DoNotSchedule,
            Some(LabelSelector::from_match_labels([("app", "web")])),
        )];
        let id = store.add_pod(p.clone(), SimTime::ZERO);
        let result = scheduler.schedule_one(&p, &store, &mut rng, false);
        match result.selected {
            Some(node) => {
                let zone = store.node(node).node.labels.get(LABEL_ZONE).unwrap();
                let z = zones.iter().position(|x| *x == zone).unwrap();
                store.bind(id, node, SimTime::ZERO);
                per_zone[z] += 1;
                let skew = per_zone.iter().max().unwrap() - per_zone.iter().min().unwrap();
                assert!(skew <= 1, "pod {i}: zones {per_zone:?}");
            }
            None => {
                pending += 1;
                let message = result.message.unwrap_or_default();
                assert!(
                    message.contains(ERR_REASON_CONSTRAINTS_NOT_MATCH)
                        || message.contains("Too many pods"),
                    "{message}"
                );
            }
        }
    }
    // zone-c fills at 6 pods; the other zones may then hold at most 7 each.
    assert_eq!(per_zone, [7, 7, 6]);
    assert_eq!(pending, 10);
}

#[test]
fn rounding_is_gos_math_round() {
    for x in [
        0.0,
        0.4,
        0.5,
        0.49999999999999994,
        1.5,
        2.5,
        6.499999,
        1e15 + 0.5,
        1e17,
        -0.5,
        -2.5,
    ] {
        assert_eq!(round_half_away(x), x.round() as i64, "{x}");
    }
}

/// A node that goes away (`exists` cleared, `touch_nodes`) takes its pods out of the counts.
#[test]
fn pods_on_removed_nodes_stop_counting() {
    let mut store = snapshot(
        vec![
            n("a", &[(LABEL_ZONE, "z1")]),
            n("b", &[(LABEL_ZONE, "z2")]),
            n("c", &[(LABEL_ZONE, "z2")]),
        ],
        existing(&[(&["app"], "a"), (&["app"], "a")]),
    );
    let incoming = mk(
        &["app"],
        vec![tsc(1, LABEL_ZONE, DoNotSchedule, exists("app"))],
    );
    let mut pl = list_defaulting();
    assert!(pl.pre_filter(&incoming, &store).is_success());
    assert_eq!(pl.filter(&incoming, &store.nodes[0], &store).code, NO);
    store.nodes[0].exists = false;
    store.touch_nodes();
    assert!(pl.pre_filter(&incoming, &store).is_success());
    // Only z2 is left: 0 matching pods, so the skew check passes there.
    assert_eq!(pl.filter(&incoming, &store.nodes[1], &store).code, OK);
}

// ---------------------------------------------------------------------------------------------
// PreFilter extensions: filtering_test.go TestPreFilterStateAddPod / TestPreFilterStateRemovePod
// (the cases with NodeInclusionPolicy enabled, as it always is in v1.34).

/// A constraint's part of the PreFilter state as upstream's tests compare it: the match count of
/// every domain (`TpValueToMatchNum`) and the critical paths, ties sorted by topology value as
/// upstream's `criticalPaths` comparer does (the placeholder is `("", MaxInt32)`).
type StateView = (Vec<(String, i64)>, [(String, i64); 2]);

fn state_view(
    pl: &PodTopologySpread,
    state: &SpreadState,
    store: &Store,
    keys: &[&str],
) -> Vec<StateView> {
    pl.filter
        .iter()
        .zip(&state.constraints)
        .zip(keys)
        .map(|((c, cs), key)| {
            let index = pl.indexes.get(c.slot);
            let value_of = |domain: u32| {
                store
                    .live_nodes()
                    .find(|n| index.node_domain[n.id.index()] == domain)
                    .and_then(|n| n.node.labels.get(key))
                    .unwrap_or("")
                    .to_string()
            };
            let mut counts: Vec<(String, i64)> = Vec::new();
            for n in store.live_nodes() {
                let i = n.id.index();
                let d = index.node_domain[i];
                let value = value_of(d);
                if index.node_included[i] && !counts.iter().any(|(v, _)| *v == value) {
                    counts.push((value, index.domains[d as usize].matches + cs.delta(d)));
                }
            }
            counts.sort();
            let mut paths = cs
                .paths
                .0
                .map(|(d, n)| (d.map(value_of).unwrap_or_default(), n));
            if paths[0].1 == paths[1].1 && paths[0].0 > paths[1].0 {
                paths.swap(0, 1);
            }
            (counts, paths)
        })
        .collect()
}

fn view(counts: &[(&str, i64)], paths: [(&str, i64); 2]) -> StateView {
    (
        counts.iter().map(|(v, n)| (v.to_string(), *n)).collect(),
        paths.map(|(v, n)| (v.to_string(), n)),
    )
}

const MAX: i64 = i32::MAX as i64;

/// PreFilter for `preemptor` on `nodes` with `existing`, then AddPod (`delta` 1) or RemovePod
/// (`delta` -1) of `updated` on `on`, through the plugin's PreFilter extensions.
fn after_update(
    preemptor: &Pod,
    nodes: Vec<Node>,
    existing: Vec<(Pod, &str)>,
    updated: &Pod,
    on: &str,
    delta: i64,
    keys: &[&str],
) -> Vec<StateView> {
    let store = snapshot(nodes, existing);
    let mut pl = list_defaulting();
    assert!(pl.pre_filter(preemptor, &store).is_success());
    let mut state = pl
        .pre_filter_state()
        .expect("PodTopologySpread has PreFilter extensions");
    let node = store.node(store.node_id(on).unwrap());
    let status = if delta > 0 {
        pl.add_pod(state.as_mut(), preemptor, updated, node, &store)
    } else {
        pl.remove_pod(state.as_mut(), preemptor, updated, node, &store)
    };
    assert!(status.is_success(), "{status}");
    let state = downcast_state::<SpreadState>(state.as_ref(), NAME).unwrap();
    state_view(&pl, state, &store, keys)
}

fn two_nodes_zone1() -> Vec<Node> {
    vec![
        n("node-a", &[("zone", "zone1"), ("node", "node-a")]),
        n("node-b", &[("zone", "zone1"), ("node", "node-b")]),
    ]
}

fn three_nodes() -> Vec<Node> {
    vec![
        n("node-a", &[("zone", "zone1"), ("node", "node-a")]),
        n("node-b", &[("zone", "zone1"), ("node", "node-b")]),
        n("node-x", &[("zone", "zone2"), ("node", "node-x")]),
    ]
}

/// node-a in zone1 labelled `foo: bar`, node-b in zone2 labelled `foo: ""` (the inclusion
/// policy cases).
fn foo_bar_nodes() -> Vec<Node> {
    vec![
        n(
            "node-a",
            &[("zone", "zone1"), ("node", "node-a"), ("foo", "bar")],
        ),
        n(
            "node-b",
            &[("zone", "zone2"), ("node", "node-b"), ("foo", "")],
        ),
    ]
}

fn in_ns(mut p: Pod, ns: &str) -> Pod {
    p.namespace = ns.into();
    p
}

#[test]
fn pre_filter_state_add_pod_matches_upstream_table() {
    let node_c = || tsc(1, "node", DoNotSchedule, foo());
    let zone_c = || tsc(1, "zone", DoNotSchedule, foo());
    let by_node = mk(&["foo"], vec![node_c()]);
    let by_zone = mk(&["foo"], vec![zone_c()]);
    let by_both = mk(&["foo"], vec![zone_c(), node_c()]);
    let foo_pod = mk(&["foo"], vec![]);
    let add = |preemptor: &Pod, nodes, existing, on, keys| {
        after_update(preemptor, nodes, existing, &foo_pod, on, 1, keys)
    };

    // "node a and b both impact current min match"
    assert_eq!(
        add(&by_node, two_nodes_zone1(), vec![], "node-a", &["node"]),
        [view(
            &[("node-a", 1), ("node-b", 0)],
            [("node-b", 0), ("node-a", 1)]
        )]
    );
    // "only node a impacts current min match"
    assert_eq!(
        add(
            &by_node,
            two_nodes_zone1(),
            existing(&[(&["foo"], "node-b")]),
            "node-a",
            &["node"]
        ),
        [view(
            &[("node-a", 1), ("node-b", 1)],
            [("node-a", 1), ("node-b", 1)]
        )]
    );
    // "add a pod in a different namespace doesn't change topologyKeyToMinPodsMap"
    assert_eq!(
        after_update(
            &by_node,
            two_nodes_zone1(),
            existing(&[(&["foo"], "node-b")]),
            &in_ns(mk(&["foo"], vec![]), "ns1"),
            "node-a",
            1,
            &["node"]
        ),
        [view(
            &[("node-a", 0), ("node-b", 1)],
            [("node-a", 0), ("node-b", 1)]
        )]
    );
    // "add pod on non-critical node won't trigger re-calculation"
    assert_eq!(
        add(
            &by_node,
            two_nodes_zone1(),
            existing(&[(&["foo"], "node-b")]),
            "node-b",
            &["node"]
        ),
        [view(
            &[("node-a", 0), ("node-b", 2)],
            [("node-a", 0), ("node-b", 2)]
        )]
    );
    let a_and_x = || {
        vec![
            n("node-a", &[("zone", "zone1"), ("node", "node-a")]),
            n("node-x", &[("zone", "zone2"), ("node", "node-x")]),
        ]
    };
    // "node a and x both impact topologyKeyToMinPodsMap on zone and node"
    assert_eq!(
        add(&by_both, a_and_x(), vec![], "node-a", &["zone", "node"]),
        [
            view(&[("zone1", 1), ("zone2", 0)], [("zone2", 0), ("zone1", 1)]),
            view(
                &[("node-a", 1), ("node-x", 0)],
                [("node-x", 0), ("node-a", 1)]
            ),
        ]
    );
    // "only node a impacts topologyKeyToMinPodsMap on zone and node"
    assert_eq!(
        add(
            &by_both,
            a_and_x(),
            existing(&[(&["foo"], "node-x")]),
            "node-a",
            &["zone", "node"]
        ),
        [
            view(&[("zone1", 1), ("zone2", 1)], [("zone1", 1), ("zone2", 1)]),
            view(
                &[("node-a", 1), ("node-x", 1)],
                [("node-a", 1), ("node-x", 1)]
            ),
        ]
    );
    // "node a impacts topologyKeyToMinPodsMap on node, node x impacts topologyKeyToMinPodsMap
    // on zone"
    assert_eq!(
        add(
            &by_both,
            three_nodes(),
            existing(&[
                (&["foo"], "node-b"),
                (&["foo"], "node-b"),
                (&["foo"], "node-x")
            ]),
            "node-a",
            &["zone", "node"]
        ),
        [
            view(&[("zone1", 3), ("zone2", 1)], [("zone2", 1), ("zone1", 3)]),
            view(
                &[("node-a", 1), ("node-b", 2), ("node-x", 1)],
                [("node-a", 1), ("node-x", 1)]
            ),
        ]
    );
    // "Constraints hold different labelSelectors, node a impacts topologyKeyToMinPodsMap on
    // zone"
    let foo_zone_bar_node = mk(
        &["foo", "bar"],
        vec![zone_c(), tsc(1, "node", DoNotSchedule, bar())],
    );
    assert_eq!(
        add(
            &foo_zone_bar_node,
            three_nodes(),
            existing(&[
                (&["foo", "bar"], "node-b"),
                (&["foo", "bar"], "node-x"),
                (&["bar"], "node-x"),
            ]),
            "node-a",
            &["zone", "node"]
        ),
        [
            view(&[("zone1", 2), ("zone2", 1)], [("zone2", 1), ("zone1", 2)]),
            view(
                &[("node-a", 0), ("node-b", 1), ("node-x", 2)],
                [("node-a", 0), ("node-b", 1)]
            ),
        ]
    );
    // "Constraints hold different labelSelectors, node a impacts topologyKeyToMinPodsMap on
    // both zone and node"
    assert_eq!(
        after_update(
            &foo_zone_bar_node,
            three_nodes(),
            existing(&[
                (&["bar"], "node-b"),
                (&["foo", "bar"], "node-x"),
                (&["bar"], "node-x")
            ]),
            &mk(&["foo", "bar"], vec![]),
            "node-a",
            1,
            &["zone", "node"]
        ),
        [
            view(&[("zone1", 1), ("zone2", 1)], [("zone1", 1), ("zone2", 1)]),
            view(
                &[("node-a", 1), ("node-b", 1), ("node-x", 2)],
                [("node-a", 1), ("node-b", 1)]
            ),
        ]
    );
    // "add a pod when scheduling node affinity unmatched pod with NodeInclusionPolicy enabled":
    // node-a (foo: bar) is not counted, so a pod added there changes nothing.
    let mut not_bar = by_zone.clone();
    not_bar.node_affinity = Some(Box::new(node_affinity("foo", Operator::NotIn, &["bar"])));
    assert_eq!(
        add(
            &not_bar,
            foo_bar_nodes(),
            existing(&[(&["foo"], "node-a"), (&["foo"], "node-b")]),
            "node-a",
            &["zone"]
        ),
        [view(&[("zone2", 1)], [("zone2", 1), ("", MAX)])]
    );
    // "add a pod when scheduling node affinity matched pod with NodeInclusionPolicy enabled"
    assert_eq!(
        add(
            &by_zone,
            foo_bar_nodes(),
            existing(&[(&["foo"], "node-a"), (&["foo"], "node-b")]),
            "node-b",
            &["zone"]
        ),
        [view(
            &[("zone1", 1), ("zone2", 2)],
            [("zone1", 1), ("zone2", 2)]
        )]
    );
    // "add a label selector not matched pod when with NodeInclusionPolicy enabled"
    assert_eq!(
        after_update(
            &by_zone,
            foo_bar_nodes(),
            existing(&[(&["foo"], "node-a"), (&["foo"], "node-b")]),
            &mk(&[], vec![]),
            "node-b",
            1,
            &["zone"]
        ),
        [view(
            &[("zone1", 1), ("zone2", 1)],
            [("zone1", 1), ("zone2", 1)]
        )]
    );
    // "add a pod when scheduling taint tolerated pod with NodeInclusionPolicy enabled"
    let tainted = vec![
        node("node-a")
            .labels(&[("zone", "zone1"), ("node", "node-a")])
            .taints(unschedulable_taint())
            .obj(),
        n("node-b", &[("zone", "zone2"), ("node", "node-b")]),
    ];
    let mut tolerating = by_zone.clone();
    tolerating.tolerations = vec![crate::scheduler::testing::toleration(
        "node.kubernetes.io/unschedulable",
        crate::api::TolerationOperator::Exists,
        "",
        None,
    )]
    .into();
    assert_eq!(
        add(
            &tolerating,
            tainted,
            existing(&[(&["foo"], "node-a"), (&["foo"], "node-b")]),
            "node-b",
            &["zone"]
        ),
        [view(
            &[("zone1", 1), ("zone2", 2)],
            [("zone1", 1), ("zone2", 2)]
        )]
    );
}

#[test]
fn pre_filter_state_remove_pod_matches_upstream_table() {
    let zone_c = || tsc(1, "zone", DoNotSchedule, foo());
    let by_zone = mk(&["foo"], vec![zone_c()]);
    let four = four_nodes;
    let remove = |preemptor: &Pod, nodes, existing: Vec<(Pod, &str)>, which: usize, on, keys| {
        let updated = existing[which].0.clone();
        after_update(preemptor, nodes, existing, &updated, on, -1, keys)
    };

    // "one spreadConstraint on zone, topologyKeyToMinPodsMap unchanged"
    assert_eq!(
        remove(
            &by_zone,
            three_nodes(),
            existing(&[
                (&["foo"], "node-a"),
                (&["foo"], "node-b"),
                (&["foo"], "node-x")
            ]),
            0,
            "node-a",
            &["zone"]
        ),
        [view(
            &[("zone1", 1), ("zone2", 1)],
            [("zone1", 1), ("zone2", 1)]
        )]
    );
    let one_each = || {
        existing(&[
            (&["foo"], "node-a"),
            (&["foo"], "node-b"),
            (&["foo"], "node-x"),
            (&["foo"], "node-y"),
        ])
    };
    // "one spreadConstraint on node, topologyKeyToMinPodsMap changed"
    assert_eq!(
        remove(&by_zone, four(), one_each(), 0, "node-a", &["zone"]),
        [view(
            &[("zone1", 1), ("zone2", 2)],
            [("zone1", 1), ("zone2", 2)]
        )]
    );
    // "delete an irrelevant pod won't help"
    let mut with_bar = existing(&[(&["bar"], "node-a")]);
    with_bar.extend(one_each());
    assert_eq!(
        remove(&by_zone, four(), with_bar, 0, "node-a", &["zone"]),
        [view(
            &[("zone1", 2), ("zone2", 2)],
            [("zone1", 2), ("zone2", 2)]
        )]
    );
    // "delete a non-existing pod won't help"
    assert_eq!(
        after_update(
            &by_zone,
            four(),
            one_each(),
            &mk(&["bar"], vec![]),
            "node-a",
            -1,
            &["zone"]
        ),
        [view(
            &[("zone1", 2), ("zone2", 2)],
            [("zone1", 2), ("zone2", 2)]
        )]
    );
    // "two spreadConstraints"
    let by_both = mk(
        &["foo"],
        vec![zone_c(), tsc(1, "node", DoNotSchedule, foo())],
    );
    assert_eq!(
        remove(
            &by_both,
            three_nodes(),
            existing(&[
                (&["foo"], "node-a"),
                (&["foo"], "node-a"),
                (&["foo"], "node-b"),
                (&["foo"], "node-x"),
                (&["foo"], "node-x"),
            ]),
            3,
            "node-x",
            &["zone", "node"]
        ),
        [
            view(&[("zone1", 3), ("zone2", 1)], [("zone2", 1), ("zone1", 3)]),
            view(
                &[("node-a", 2), ("node-b", 1), ("node-x", 1)],
                [("node-b", 1), ("node-x", 1)]
            ),
        ]
    );
    // "remove a pod when scheduling node affinity unmatched pod with NodeInclusionPolicy
    // enabled" (upstream's deletedPodIdx 0: the existing pod on node-a)
    let mut not_bar = by_zone.clone();
    not_bar.node_affinity = Some(Box::new(node_affinity("foo", Operator::NotIn, &["bar"])));
    assert_eq!(
        remove(
            &not_bar,
            foo_bar_nodes(),
            existing(&[(&["foo"], "node-a"), (&["foo"], "node-b")]),
            0,
            "node-a",
            &["zone"]
        ),
        [view(&[("zone2", 1)], [("zone2", 1), ("", MAX)])]
    );
    // "remove a pod when scheduling node affinity matched pod with NodeInclusionPolicy enabled"
    assert_eq!(
        remove(
            &by_zone,
            foo_bar_nodes(),
            existing(&[(&["foo"], "node-a"), (&["foo"], "node-b")]),
            0,
            "node-b",
            &["zone"]
        ),
        [view(
            &[("zone1", 1), ("zone2", 0)],
            [("zone2", 0), ("zone1", 1)]
        )]
    );
}

/// Upstream's critical paths are an approximation after updates ("CriticalPaths[i][1] … is not
/// guaranteed to be the 2nd minimum"), and Filter reads it as it is: three zones at 1, 2, 2;
/// two pods added to the first and one to the path's second zone leave paths whose minimum (3)
/// is above the third zone's 2. kubesim reproduces that, not the true minimum.
#[test]
fn critical_paths_follow_upstreams_update_rule() {
    let mut p = CriticalPaths::new();
    for (d, n) in [(0, 1), (1, 2), (2, 2)] {
        p.update(d, n);
    }
    assert_eq!(p.0, [(Some(0), 1), (Some(1), 2)]);
    p.update(0, 2);
    assert_eq!(p.0, [(Some(0), 2), (Some(1), 2)]);
    p.update(0, 3);
    assert_eq!(p.0, [(Some(1), 2), (Some(0), 3)]);
    p.update(1, 3);
    assert_eq!(
        p.0,
        [(Some(1), 3), (Some(0), 3)],
        "domain 2's 2 is not seen"
    );
}

#[test]
fn filter_with_an_unchanged_state_equals_filter() {
    let store = snapshot(
        four_nodes(),
        existing(&[
            (&["foo"], "node-a"),
            (&["foo"], "node-a"),
            (&["foo"], "node-b"),
            (&["foo"], "node-y"),
        ]),
    );
    let incoming = mk(
        &["foo"],
        vec![
            tsc(1, "zone", DoNotSchedule, foo()),
            tsc(1, "node", DoNotSchedule, foo()),
        ],
    );
    let mut pl = list_defaulting();
    assert!(pl.pre_filter(&incoming, &store).is_success());
    let state = pl.pre_filter_state().unwrap();
    for n in &store.nodes {
        assert_eq!(
            pl.filter_with_state(state.as_ref(), &incoming, n, &store),
            pl.filter(&incoming, n, &store),
            "{}",
            n.name()
        );
    }
    // A state from an earlier cycle is an error, not a silent misread.
    assert!(pl.pre_filter(&incoming, &store).is_success());
    assert_eq!(
        pl.filter_with_state(state.as_ref(), &incoming, &store.nodes[0], &store)
            .code,
        Code::Error
    );
}
