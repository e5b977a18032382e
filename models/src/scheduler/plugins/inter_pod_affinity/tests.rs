//! Upstream test tables of `interpodaffinity/filtering_test.go` and `scoring_test.go`. Upstream
//! pods without a namespace are in namespace `""`; here they are in `default`, which changes
//! nothing (only equality of namespaces matters).

use super::*;
use crate::api::{LabelSelector, Labels, Node, WeightedPodAffinityTerm};
use crate::scheduler::framework::Code;
use crate::scheduler::testing::{node, pod, snapshot};
use crate::store::Store;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().copied().collect()
}

fn req(key: &str, op: Operator, values: &[&str]) -> Requirement {
    Requirement::new(key, op, values.iter().map(|v| v.to_string()).collect())
}

fn term(reqs: Vec<Requirement>, topology_key: &str) -> PodAffinityTerm {
    PodAffinityTerm::new(Some(LabelSelector { requirements: reqs }), topology_key)
}

/// `st.PodAffinityIn(key, topologyKey, values)` and friends.
fn term_in(key: &str, topology_key: &str, values: &[&str]) -> PodAffinityTerm {
    term(vec![req(key, Operator::In, values)], topology_key)
}
fn term_not_in(key: &str, topology_key: &str, values: &[&str]) -> PodAffinityTerm {
    term(vec![req(key, Operator::NotIn, values)], topology_key)
}
fn term_exists(key: &str, topology_key: &str) -> PodAffinityTerm {
    term(vec![req(key, Operator::Exists, &[])], topology_key)
}

fn mk(ns: &str, pairs: &[(&str, &str)]) -> Pod {
    let mut p = pod("p").obj();
    p.namespace = ns.to_string();
    p.labels = labels(pairs);
    p
}

fn required(mut p: Pod, affinity: Vec<PodAffinityTerm>, anti: Vec<PodAffinityTerm>) -> Pod {
    if !affinity.is_empty() {
        p.pod_affinity.get_or_insert_with(Default::default).required = affinity;
    }
    if !anti.is_empty() {
        p.pod_anti_affinity
            .get_or_insert_with(Default::default)
            .required = anti;
    }
    p
}

fn weighted(weight: i32, term: PodAffinityTerm) -> WeightedPodAffinityTerm {
    WeightedPodAffinityTerm { weight, term }
}

fn preferred(
    mut p: Pod,
    affinity: Vec<WeightedPodAffinityTerm>,
    anti: Vec<WeightedPodAffinityTerm>,
) -> Pod {
    if !affinity.is_empty() {
        p.pod_affinity
            .get_or_insert_with(Default::default)
            .preferred = affinity;
    }
    if !anti.is_empty() {
        p.pod_anti_affinity
            .get_or_insert_with(Default::default)
            .preferred = anti;
    }
    p
}

fn labelled_node(name: &str, pairs: &[(&str, &str)]) -> Node {
    node(name).labels(pairs).obj()
}

/// The namespaces of upstream's `namespaces` fixture.
fn with_namespaces(mut store: Store) -> Store {
    for (ns, team) in [
        ("subteam1.team1", "team1"),
        ("subteam2.team1", "team1"),
        ("subteam1.team2", "team2"),
        ("subteam2.team2", "team2"),
    ] {
        store
            .namespace_labels
            .insert(ns.to_string(), labels(&[("team", team)]));
    }
    store
}

/// PreFilter, then Filter on every node (when PreFilter succeeded).
fn filter(incoming: &Pod, nodes: Vec<Node>, existing: Vec<(Pod, &str)>) -> (Code, Vec<Status>) {
    let store = with_namespaces(snapshot(nodes, existing));
    let mut pl = InterPodAffinity::default();
    let pre = pl.pre_filter(incoming, &store);
    if !pre.is_success() {
        return (pre.code, Vec::new());
    }
    let statuses = store
        .nodes
        .iter()
        .map(|n| pl.filter(incoming, n, &store))
        .collect();
    (pre.code, statuses)
}

fn ok() -> Status {
    Status::success()
}
fn affinity_fail() -> Status {
    Status::unresolvable(ERR_REASON_AFFINITY_RULES_NOT_MATCH)
}
fn anti_fail() -> Status {
    Status::unschedulable(ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH)
}
fn existing_fail() -> Status {
    Status::unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH)
}

// filtering_test.go TestRequiredAffinitySingleNode: every case but the two that feed PreFilter
// a selector the API server would have rejected (kubesim rejects it at load time).
#[test]
fn required_affinity_single_node_matches_upstream_table() {
    let pod_label = [("service", "securityscan")];
    let pod_label2 = [("security", "S1")];
    let node1 = || labelled_node("node1", &[("region", "r1"), ("zone", "z11")]);
    let existing = || mk("default", &pod_label);
    let ns_team1 = || {
        Some(LabelSelector {
            requirements: vec![req("team", Operator::In, &["team1"])],
        })
    };
    let cases: Vec<(&str, Pod, Vec<Pod>, Option<Status>)> = vec![
        (
            "A pod that has no required pod affinity scheduling rules can schedule onto a node with no existing pods",
            mk("default", &[]),
            vec![],
            None,
        ),
        (
            "satisfies with requiredDuringSchedulingIgnoredDuringExecution in PodAffinity using In operator that matches the existing pod",
            required(
                mk("default", &pod_label2),
                vec![term_in("service", "region", &["securityscan", "value2"])],
                vec![],
            ),
            vec![existing()],
            Some(ok()),
        ),
        (
            "satisfies the pod with requiredDuringSchedulingIgnoredDuringExecution in PodAffinity using not in operator in labelSelector that matches the existing pod",
            required(
                mk("default", &pod_label2),
                vec![term_not_in(
                    "service",
                    "region",
                    &["securityscan3", "value3"],
                )],
                vec![],
            ),
            vec![existing()],
            Some(ok()),
        ),
        (
            "Does not satisfy the PodAffinity with labelSelector because of diff Namespace",
            required(
                mk("default", &pod_label2),
                vec![PodAffinityTerm {
                    namespaces: vec!["DiffNameSpace".into()],
                    ..term_in("service", "", &["securityscan", "value2"])
                }],
                vec![],
            ),
            vec![mk("ns", &pod_label)],
            Some(affinity_fail()),
        ),
        (
            "Doesn't satisfy the PodAffinity because of unmatching labelSelector with the existing pod",
            required(
                mk("default", &pod_label),
                vec![term_in("service", "", &["antivirusscan", "value2"])],
                vec![],
            ),
            vec![existing()],
            Some(affinity_fail()),
        ),
        (
            "satisfies the PodAffinity with different label Operators in multiple RequiredDuringSchedulingIgnoredDuringExecution ",
            required(
                mk("default", &pod_label2),
                vec![
                    term(
                        vec![
                            req("service", Operator::Exists, &[]),
                            req("wrongkey", Operator::DoesNotExist, &[]),
                        ],
                        "region",
                    ),
                    term(
                        vec![
                            req("service", Operator::In, &["securityscan"]),
                            req("service", Operator::NotIn, &["WrongValue"]),
                        ],
                        "region",
                    ),
                ],
                vec![],
            ),
            vec![existing()],
            Some(ok()),
        ),
        (
            "The labelSelector requirements(items of matchExpressions) are ANDed, the pod cannot schedule onto the node because one of the matchExpression item don't match.",
            required(
                mk("default", &pod_label2),
                vec![
                    term(
                        vec![
                            req("service", Operator::Exists, &[]),
                            req("wrongkey", Operator::DoesNotExist, &[]),
                        ],
                        "region",
                    ),
                    term(
                        vec![
                            req("service", Operator::In, &["securityscan2"]),
                            req("service", Operator::NotIn, &["WrongValue"]),
                        ],
                        "region",
                    ),
                ],
                vec![],
            ),
            vec![existing()],
            Some(affinity_fail()),
        ),
        (
            "satisfies the PodAffinity and PodAntiAffinity with the existing pod",
            required(
                mk("default", &pod_label2),
                vec![term_in("service", "region", &["securityscan", "value2"])],
                vec![term_in("service", "node", &["antivirusscan", "value2"])],
            ),
            vec![existing()],
            Some(ok()),
        ),
        (
            "satisfies the PodAffinity and PodAntiAffinity and PodAntiAffinity symmetry with the existing pod",
            required(
                mk("default", &pod_label2),
                vec![term_in("service", "region", &["securityscan", "value2"])],
                vec![term_in("service", "node", &["antivirusscan", "value2"])],
            ),
            vec![required(
                existing(),
                vec![],
                vec![term_in("service", "node", &["antivirusscan", "value2"])],
            )],
            Some(ok()),
        ),
        (
            "satisfies the PodAffinity but doesn't satisfy the PodAntiAffinity with the existing pod",
            required(
                mk("default", &pod_label2),
                vec![term_in("service", "region", &["securityscan", "value2"])],
                vec![term_in("service", "zone", &["securityscan", "value2"])],
            ),
            vec![existing()],
            Some(anti_fail()),
        ),
        (
            "satisfies the PodAffinity and PodAntiAffinity but doesn't satisfy PodAntiAffinity symmetry with the existing pod",
            required(
                mk("default", &pod_label),
                vec![term_in("service", "region", &["securityscan", "value2"])],
                vec![term_in("service", "node", &["antivirusscan", "value2"])],
            ),
            vec![required(
                existing(),
                vec![],
                vec![term_in("service", "zone", &["securityscan", "value2"])],
            )],
            Some(existing_fail()),
        ),
        (
            // Upstream's existing pod sits on node2, which is not in the snapshot: it is not
            // counted, so this case has no existing pod.
            "pod matches its own Label in PodAffinity and that matches the existing pod Labels",
            required(
                mk("default", &pod_label),
                vec![term_not_in(
                    "service",
                    "region",
                    &["securityscan", "value2"],
                )],
                vec![],
            ),
            vec![],
            Some(affinity_fail()),
        ),
        (
            "verify that PodAntiAffinity from existing pod is respected when pod has no AntiAffinity constraints. doesn't satisfy PodAntiAffinity symmetry with the existing pod",
            mk("default", &pod_label),
            vec![required(
                existing(),
                vec![],
                vec![term_in("service", "zone", &["securityscan", "value2"])],
            )],
            Some(existing_fail()),
        ),
        (
            "verify that PodAntiAffinity from existing pod is respected when pod has no AntiAffinity constraints. satisfy PodAntiAffinity symmetry with the existing pod",
            mk("default", &pod_label),
            vec![required(
                existing(),
                vec![],
                vec![term_not_in("service", "zone", &["securityscan", "value2"])],
            )],
            None,
        ),
        (
            "satisfies the PodAntiAffinity with existing pod but doesn't satisfy PodAntiAffinity symmetry with incoming pod",
            required(
                mk("default", &pod_label),
                vec![],
                vec![
                    term_exists("service", "region"),
                    term_exists("security", "region"),
                ],
            ),
            vec![required(
                mk("default", &pod_label2),
                vec![],
                vec![term_exists("security", "zone")],
            )],
            Some(anti_fail()),
        ),
        (
            "PodAntiAffinity symmetry check a1: incoming pod and existing pod partially match each other on AffinityTerms",
            required(
                mk("default", &pod_label),
                vec![],
                vec![
                    term_exists("service", "zone"),
                    term_exists("security", "zone"),
                ],
            ),
            vec![required(
                mk("default", &pod_label2),
                vec![],
                vec![term_exists("security", "zone")],
            )],
            Some(anti_fail()),
        ),
        (
            "PodAntiAffinity symmetry check a2: incoming pod and existing pod partially match each other on AffinityTerms",
            required(
                mk("default", &pod_label2),
                vec![],
                vec![term_exists("security", "zone")],
            ),
            vec![required(
                mk("default", &pod_label),
                vec![],
                vec![
                    term_exists("service", "zone"),
                    term_exists("security", "zone"),
                ],
            )],
            Some(existing_fail()),
        ),
        (
            "PodAntiAffinity symmetry check b1: incoming pod and existing pod partially match each other on AffinityTerms",
            required(
                mk("default", &[("abc", ""), ("xyz", "")]),
                vec![],
                vec![term_exists("abc", "zone"), term_exists("def", "zone")],
            ),
            vec![required(
                mk("default", &[("def", ""), ("xyz", "")]),
                vec![],
                vec![term_exists("abc", "zone"), term_exists("def", "zone")],
            )],
            Some(anti_fail()),
        ),
        (
            "PodAntiAffinity symmetry check b2: incoming pod and existing pod partially match each other on AffinityTerms",
            required(
                mk("default", &[("def", ""), ("xyz", "")]),
                vec![],
                vec![term_exists("abc", "zone"), term_exists("def", "zone")],
            ),
            vec![required(
                mk("default", &[("abc", ""), ("xyz", "")]),
                vec![],
                vec![term_exists("abc", "zone"), term_exists("def", "zone")],
            )],
            Some(anti_fail()),
        ),
        (
            "affinity with NamespaceSelector",
            required(
                mk("default", &pod_label2),
                vec![PodAffinityTerm {
                    namespace_selector: ns_team1(),
                    ..term_in("service", "region", &["securityscan", "value2"])
                }],
                vec![],
            ),
            vec![mk("subteam1.team1", &pod_label)],
            Some(ok()),
        ),
        (
            "affinity with non-matching NamespaceSelector",
            required(
                mk("default", &pod_label2),
                vec![PodAffinityTerm {
                    namespace_selector: ns_team1(),
                    ..term_in("service", "region", &["securityscan", "value2"])
                }],
                vec![],
            ),
            vec![mk("subteam1.team2", &pod_label)],
            Some(affinity_fail()),
        ),
        (
            "anti-affinity with matching NamespaceSelector",
            required(
                mk("subteam1.team1", &pod_label2),
                vec![],
                vec![PodAffinityTerm {
                    namespace_selector: ns_team1(),
                    ..term_in("service", "zone", &["securityscan", "value2"])
                }],
            ),
            vec![mk("subteam2.team1", &pod_label)],
            Some(anti_fail()),
        ),
        (
            "anti-affinity with matching all NamespaceSelector",
            required(
                mk("subteam1.team1", &pod_label2),
                vec![],
                vec![PodAffinityTerm {
                    namespace_selector: Some(LabelSelector::default()),
                    ..term_in("service", "zone", &["securityscan", "value2"])
                }],
            ),
            vec![mk("subteam2.team1", &pod_label)],
            Some(anti_fail()),
        ),
        (
            "anti-affinity with non-matching NamespaceSelector",
            required(
                mk("subteam1.team1", &pod_label2),
                vec![],
                vec![PodAffinityTerm {
                    namespace_selector: ns_team1(),
                    ..term_in("service", "zone", &["securityscan", "value2"])
                }],
            ),
            vec![mk("subteam1.team2", &pod_label)],
            Some(ok()),
        ),
    ];
    for (name, incoming, existing, want) in cases {
        let pods = existing.into_iter().map(|p| (p, "node1")).collect();
        let (pre, statuses) = filter(&incoming, vec![node1()], pods);
        match want {
            None => assert_eq!(pre, Code::Skip, "{name}"),
            Some(want) => {
                assert_eq!(pre, Code::Success, "{name}");
                assert_eq!(statuses, [want], "{name}");
            }
        }
    }
}

/// nodeA and nodeB in region r1, in the given zones.
fn two_nodes(zone_a: &str, zone_b: &str) -> Vec<Node> {
    vec![
        labelled_node(
            "nodeA",
            &[("region", "r1"), ("zone", zone_a), ("hostname", "nodeA")],
        ),
        labelled_node(
            "nodeB",
            &[("region", "r1"), ("zone", zone_b), ("hostname", "nodeB")],
        ),
    ]
}

// filtering_test.go TestRequiredAffinityMultipleNodes: every case.
#[test]
fn required_affinity_multiple_nodes_matches_upstream_table() {
    let china = [("region", "China")];
    let china_az1 = [("region", "China"), ("az", "az1")];
    let india = [("region", "India")];
    type Case<'a> = (
        &'a str,
        Pod,
        Vec<(Pod, &'a str)>,
        Vec<Node>,
        Option<Vec<Status>>,
    );
    let cases: Vec<Case> = vec![
        (
            "A pod can be scheduled onto all the nodes that have the same topology key & label value with one of them has an existing pod that matches the affinity rules",
            required(
                mk("default", &[]),
                vec![term_in("foo", "region", &["bar"])],
                vec![],
            ),
            vec![(mk("default", &[("foo", "bar")]), "node1")],
            vec![
                labelled_node("node1", &china),
                labelled_node("node2", &china_az1),
                labelled_node("node3", &india),
            ],
            Some(vec![ok(), ok(), affinity_fail()]),
        ),
        (
            "The affinity rule is to schedule all of the pods of this collection to the same zone. The first pod of the collection should not be blocked from being scheduled onto any node, even there's no existing pod that matches the rule anywhere.",
            required(
                mk("default", &[("foo", "bar"), ("service", "securityscan")]),
                vec![
                    term_in("foo", "zone", &["bar"]),
                    term_in("service", "zone", &["securityscan"]),
                ],
                vec![],
            ),
            vec![(mk("default", &[("foo", "bar")]), "nodeA")],
            vec![
                labelled_node("nodeA", &[("zone", "az1"), ("hostname", "h1")]),
                labelled_node("nodeB", &[("zone", "az2"), ("hostname", "h2")]),
            ],
            Some(vec![ok(), ok()]),
        ),
        (
            "The first pod of the collection can only be scheduled on nodes labelled with the requested topology keys",
            required(
                mk("default", &[("foo", "bar"), ("service", "securityscan")]),
                vec![
                    term_in("foo", "zone", &["bar"]),
                    term_in("service", "zone", &["securityscan"]),
                ],
                vec![],
            ),
            vec![(mk("default", &[("foo", "bar")]), "nodeA")],
            vec![
                labelled_node("nodeA", &[("zoneLabel", "az1"), ("hostname", "h1")]),
                labelled_node("nodeB", &[("zoneLabel", "az2"), ("hostname", "h2")]),
            ],
            Some(vec![affinity_fail(), affinity_fail()]),
        ),
        (
            "NodeA and nodeB have same topologyKey and label value. NodeA has an existing pod that matches the inter pod affinity rule. The pod can not be scheduled onto nodeA and nodeB.",
            required(
                mk("default", &[]),
                vec![],
                vec![term_in("foo", "region", &["abc"])],
            ),
            vec![(mk("default", &[("foo", "abc")]), "nodeA")],
            vec![
                labelled_node("nodeA", &[("region", "r1"), ("hostname", "nodeA")]),
                labelled_node("nodeB", &[("region", "r1"), ("hostname", "nodeB")]),
            ],
            Some(vec![anti_fail(), anti_fail()]),
        ),
        (
            "This test ensures that anti-affinity matches a pod when any term of the anti-affinity rule matches a pod.",
            required(
                mk("default", &[]),
                vec![],
                vec![
                    term_in("foo", "region", &["abc"]),
                    term_in("service", "zone", &["securityscan"]),
                ],
            ),
            vec![(
                mk("default", &[("foo", "abc"), ("service", "securityscan")]),
                "nodeA",
            )],
            vec![
                labelled_node(
                    "nodeA",
                    &[("region", "r1"), ("zone", "z1"), ("hostname", "nodeA")],
                ),
                labelled_node(
                    "nodeB",
                    &[("region", "r1"), ("zone", "z2"), ("hostname", "nodeB")],
                ),
            ],
            Some(vec![anti_fail(), anti_fail()]),
        ),
        (
            "NodeA and nodeB have same topologyKey and label value. NodeA has an existing pod that matches the inter pod affinity rule. The pod can not be scheduled onto nodeA and nodeB but can be scheduled onto nodeC",
            required(
                mk("default", &[]),
                vec![],
                vec![term_in("foo", "region", &["abc"])],
            ),
            vec![(mk("default", &[("foo", "abc")]), "nodeA")],
            vec![
                labelled_node("nodeA", &china),
                labelled_node("nodeB", &china_az1),
                labelled_node("nodeC", &india),
            ],
            Some(vec![anti_fail(), anti_fail(), ok()]),
        ),
        (
            "NodeA and nodeB have same topologyKey and label value. NodeA has an existing pod that matches the inter pod affinity rule. The pod can not be scheduled onto nodeA, nodeB, but can be scheduled onto nodeC (NodeC has an existing pod that match the inter pod affinity rule but in different namespace)",
            required(
                mk("NS1", &[("foo", "123")]),
                vec![],
                vec![term_in("foo", "region", &["bar"])],
            ),
            vec![
                (mk("NS1", &[("foo", "bar")]), "nodeA"),
                (
                    required(
                        mk("NS2", &[]),
                        vec![],
                        vec![term_in("foo", "region", &["123"])],
                    ),
                    "nodeC",
                ),
            ],
            vec![
                labelled_node("nodeA", &china),
                labelled_node("nodeB", &china_az1),
                labelled_node("nodeC", &india),
            ],
            Some(vec![anti_fail(), anti_fail(), ok()]),
        ),
        (
            "Test existing pod's anti-affinity: if an existing pod has a term with invalid topologyKey, labelSelector of the term is firstly checked, and then topologyKey of the term is also checked",
            mk("default", &[("foo", "")]),
            vec![(
                required(
                    mk("default", &[]),
                    vec![],
                    vec![term_exists("foo", "invalid-node-label")],
                ),
                "nodeA",
            )],
            vec![
                labelled_node(
                    "nodeA",
                    &[("region", "r1"), ("zone", "z1"), ("hostname", "nodeA")],
                ),
                labelled_node(
                    "nodeB",
                    &[("region", "r1"), ("zone", "z1"), ("hostname", "nodeB")],
                ),
            ],
            None,
        ),
        (
            "Test incoming pod's anti-affinity: even if labelSelector matches, we still check if topologyKey matches",
            required(
                mk("default", &[]),
                vec![],
                vec![term_exists("foo", "invalid-node-label")],
            ),
            vec![(mk("default", &[("foo", "")]), "nodeA")],
            vec![
                labelled_node(
                    "nodeA",
                    &[("region", "r1"), ("zone", "z1"), ("hostname", "nodeA")],
                ),
                labelled_node(
                    "nodeB",
                    &[("region", "r1"), ("zone", "z1"), ("hostname", "nodeB")],
                ),
            ],
            Some(vec![ok(), ok()]),
        ),
        (
            "Test existing pod's anti-affinity: incoming pod wouldn't considered as a fit as it violates each existingPod's terms on all nodes",
            mk("default", &[("foo", ""), ("bar", "")]),
            vec![
                (
                    required(mk("default", &[]), vec![], vec![term_exists("foo", "zone")]),
                    "nodeA",
                ),
                (
                    required(
                        mk("default", &[]),
                        vec![],
                        vec![term_exists("bar", "region")],
                    ),
                    "nodeA",
                ),
            ],
            vec![
                labelled_node(
                    "nodeA",
                    &[("region", "r1"), ("zone", "z1"), ("hostname", "nodeA")],
                ),
                labelled_node(
                    "nodeB",
                    &[("region", "r1"), ("zone", "z2"), ("hostname", "nodeB")],
                ),
            ],
            Some(vec![existing_fail(), existing_fail()]),
        ),
        (
            "Test incoming pod's anti-affinity: incoming pod wouldn't considered as a fit as it at least violates one anti-affinity rule of existingPod",
            required(
                mk("default", &[]),
                vec![],
                vec![term_exists("foo", "zone"), term_exists("bar", "region")],
            ),
            vec![
                (mk("default", &[("foo", "")]), "nodeA"),
                (mk("default", &[("bar", "")]), "nodeB"),
            ],
            two_nodes("z1", "z2"),
            Some(vec![anti_fail(), anti_fail()]),
        ),
        (
            "Test existing pod's anti-affinity: only when labelSelector and topologyKey both match, it's counted as a single term match - case when one term has invalid topologyKey",
            mk("default", &[("foo", ""), ("bar", "")]),
            vec![(
                required(
                    mk("default", &[]),
                    vec![],
                    vec![
                        term_exists("foo", "invalid-node-label"),
                        term_exists("bar", "zone"),
                    ],
                ),
                "nodeA",
            )],
            two_nodes("z1", "z2"),
            Some(vec![existing_fail(), ok()]),
        ),
        (
            "Test incoming pod's anti-affinity: only when labelSelector and topologyKey both match, it's counted as a single term match - case when one term has invalid topologyKey",
            required(
                mk("default", &[]),
                vec![],
                vec![
                    term_exists("foo", "invalid-node-label"),
                    term_exists("bar", "zone"),
                ],
            ),
            vec![(mk("default", &[("foo", ""), ("bar", "")]), "nodeA")],
            two_nodes("z1", "z2"),
            Some(vec![anti_fail(), ok()]),
        ),
        (
            "Test existing pod's anti-affinity: only when labelSelector and topologyKey both match, it's counted as a single term match - case when all terms have valid topologyKey",
            mk("default", &[("foo", ""), ("bar", "")]),
            vec![(
                required(
                    mk("default", &[]),
                    vec![],
                    vec![term_exists("foo", "region"), term_exists("bar", "zone")],
                ),
                "nodeA",
            )],
            two_nodes("z1", "z2"),
            Some(vec![existing_fail(), existing_fail()]),
        ),
        (
            "Test incoming pod's anti-affinity: only when labelSelector and topologyKey both match, it's counted as a single term match - case when all terms have valid topologyKey",
            required(
                mk("default", &[]),
                vec![],
                vec![term_exists("foo", "region"), term_exists("bar", "zone")],
            ),
            vec![(mk("default", &[("foo", ""), ("bar", "")]), "nodeA")],
            two_nodes("z1", "z2"),
            Some(vec![anti_fail(), anti_fail()]),
        ),
        (
            "Test existing pod's anti-affinity: existingPod on nodeA and nodeB has at least one anti-affinity term matches incoming pod, so incoming pod can only be scheduled to nodeC",
            mk("default", &[("foo", ""), ("bar", "")]),
            vec![
                (
                    required(
                        mk("default", &[]),
                        vec![],
                        vec![term_exists("foo", "zone"), term_exists("labelA", "zone")],
                    ),
                    "nodeA",
                ),
                (
                    required(
                        mk("default", &[]),
                        vec![],
                        vec![term_exists("bar", "zone"), term_exists("labelB", "zone")],
                    ),
                    "nodeB",
                ),
            ],
            {
                let mut nodes = two_nodes("z1", "z2");
                nodes.push(labelled_node(
                    "nodeC",
                    &[("region", "r1"), ("zone", "z3"), ("hostname", "nodeC")],
                ));
                nodes
            },
            Some(vec![existing_fail(), existing_fail(), ok()]),
        ),
        (
            "Test incoming pod's affinity: firstly check if all affinityTerms match, and then check if all topologyKeys match",
            required(
                mk("default", &[]),
                vec![term_exists("foo", "region"), term_exists("bar", "zone")],
                vec![],
            ),
            vec![(mk("default", &[("foo", ""), ("bar", "")]), "nodeA")],
            two_nodes("z1", "z1"),
            Some(vec![ok(), ok()]),
        ),
        (
            "Test incoming pod's affinity: firstly check if all affinityTerms match, and then check if all topologyKeys match, and the match logic should be satisfied on the same pod",
            required(
                mk("default", &[]),
                vec![term_exists("foo", "region"), term_exists("bar", "zone")],
                vec![],
            ),
            vec![
                (mk("default", &[("foo", "")]), "nodeA"),
                (mk("default", &[("bar", "")]), "nodeB"),
            ],
            two_nodes("z1", "z2"),
            Some(vec![affinity_fail(), affinity_fail()]),
        ),
    ];
    for (name, incoming, existing, nodes, want) in cases {
        let (pre, statuses) = filter(&incoming, nodes, existing);
        match want {
            None => assert_eq!(pre, Code::Skip, "{name}"),
            Some(want) => {
                assert_eq!(pre, Code::Success, "{name}");
                assert_eq!(statuses, want, "{name}");
            }
        }
    }
}

/// PreScore, Score and NormalizeScore over `nodes` (all feasible); `Err(code)` when PreScore
/// does not succeed.
fn score(
    args: InterPodAffinityArgs,
    incoming: &Pod,
    nodes: Vec<Node>,
    existing: Vec<(Pod, &str)>,
) -> Result<Vec<i64>, Code> {
    let store = with_namespaces(snapshot(nodes, existing));
    let mut pl = InterPodAffinity::new(args);
    let ids: Vec<NodeId> = store.nodes.iter().map(|n| n.id).collect();
    let status = pl.pre_score(incoming, &ids, &store);
    if !status.is_success() {
        return Err(status.code);
    }
    let mut list: Vec<NodeScore> = store
        .nodes
        .iter()
        .map(|n| NodeScore {
            node: n.id,
            score: pl.score(incoming, n, &store).unwrap(),
        })
        .collect();
    assert!(pl.normalize_scores(incoming, &mut list).is_success());
    Ok(list.iter().map(|s| s.score).collect())
}

// scoring_test.go TestPreferredAffinity: every case but the two feeding unvalidated selectors
// ("invalid Affinity fails PreScore", "invalid AntiAffinity fails PreScore") and "No nodes to
// score" (the framework never runs PreScore without feasible nodes).
#[test]
fn preferred_affinity_matches_upstream_table() {
    let china = [("region", "China")];
    let india = [("region", "India")];
    let az1 = [("az", "az1")];
    let az2 = [("az", "az2")];
    let china_az1 = [("region", "China"), ("az", "az1")];
    let s1 = [("security", "S1")];
    let s2 = [("security", "S2")];
    let in_sec = |v: &str, key: &str| term_in("security", key, &[v]);
    let stay_with_s1_in_region =
        |p: Pod| preferred(p, vec![weighted(5, in_sec("S1", "region"))], vec![]);
    let stay_with_s2_in_region =
        |p: Pod| preferred(p, vec![weighted(6, in_sec("S2", "region"))], vec![]);
    let affinity3 = |p: Pod| {
        preferred(
            p,
            vec![
                weighted(
                    8,
                    term(
                        vec![
                            req("security", Operator::NotIn, &["S1"]),
                            req("security", Operator::In, &["S2"]),
                        ],
                        "region",
                    ),
                ),
                weighted(
                    2,
                    term(
                        vec![
                            req("security", Operator::Exists, &[]),
                            req("wrongkey", Operator::DoesNotExist, &[]),
                        ],
                        "region",
                    ),
                ),
            ],
            vec![],
        )
    };
    let hard_affinity = |p: Pod| {
        required(
            p,
            vec![
                term_in("security", "region", &["S1", "value2"]),
                term(
                    vec![
                        req("security", Operator::Exists, &[]),
                        req("wrongkey", Operator::DoesNotExist, &[]),
                    ],
                    "region",
                ),
            ],
            vec![],
        )
    };
    let away_from_s1_in_az = |p: Pod| preferred(p, vec![], vec![weighted(5, in_sec("S1", "az"))]);
    let away_from_s2_in_az = |p: Pod| preferred(p, vec![], vec![weighted(5, in_sec("S2", "az"))]);
    let stay_s1_region_away_s2_az = |p: Pod| {
        preferred(
            p,
            vec![weighted(8, in_sec("S1", "region"))],
            vec![weighted(5, in_sec("S2", "az"))],
        )
    };
    let ns_term = || PodAffinityTerm {
        namespaces: vec!["subteam2.team2".into()],
        namespace_selector: Some(LabelSelector {
            requirements: vec![req("team", Operator::In, &["team1"])],
        }),
        ..in_sec("S1", "region")
    };
    let affinity_ns_selector = |p: Pod| preferred(p, vec![weighted(5, ns_term())], vec![]);
    let anti_affinity_ns_selector = |p: Pod| preferred(p, vec![], vec![weighted(5, ns_term())]);
    let d = |pairs: &[(&str, &str)]| mk("default", pairs);
    let n = labelled_node;
    let default = InterPodAffinityArgs::default();
    type Case<'a> = (
        &'a str,
        Pod,
        Vec<(Pod, &'a str)>,
        Vec<Node>,
        Result<Vec<i64>, Code>,
    );
    let cases: Vec<Case> = vec![
        (
            "all nodes are same priority as Affinity is nil",
            d(&s1),
            vec![],
            vec![n("node1", &china), n("node2", &india), n("node3", &az1)],
            Err(Code::Skip),
        ),
        (
            "Affinity: pod that matches topology key & pods in nodes will get high score comparing to otherswhich doesn't match either pods in nodes or in topology key",
            stay_with_s1_in_region(d(&s1)),
            vec![(d(&s1), "node1"), (d(&s2), "node2"), (d(&s1), "node3")],
            vec![n("node1", &china), n("node2", &india), n("node3", &az1)],
            Ok(vec![100, 0, 0]),
        ),
        (
            "All the nodes that have the same topology key & label value with one of them has an existing pod that match the affinity rules, have the same score",
            stay_with_s1_in_region(d(&[])),
            vec![(d(&s1), "node1")],
            vec![
                n("node1", &china),
                n("node2", &china_az1),
                n("node3", &india),
            ],
            Ok(vec![100, 100, 0]),
        ),
        (
            "Affinity: nodes in one region has more matching pods comparing to other region, so the region which has more matches will get high score",
            stay_with_s2_in_region(d(&s1)),
            vec![
                (d(&s2), "node1"),
                (d(&s2), "node1"),
                (d(&s2), "node2"),
                (d(&s2), "node3"),
                (d(&s2), "node4"),
                (d(&s2), "node5"),
            ],
            vec![
                n("node1", &china),
                n("node2", &india),
                n("node3", &china),
                n("node4", &china),
                n("node5", &india),
            ],
            Ok(vec![100, 0, 100, 100, 0]),
        ),
        (
            "Affinity: different Label operators and values for pod affinity scheduling preference, including some match failures ",
            affinity3(d(&s1)),
            vec![(d(&s1), "node1"), (d(&s2), "node2"), (d(&s1), "node3")],
            vec![n("node1", &china), n("node2", &india), n("node3", &az1)],
            Ok(vec![20, 100, 0]),
        ),
        (
            "Affinity symmetry: considered only the preferredDuringSchedulingIgnoredDuringExecution in pod affinity symmetry",
            d(&s2),
            vec![
                (stay_with_s1_in_region(d(&s1)), "node1"),
                (stay_with_s2_in_region(d(&s2)), "node2"),
            ],
            vec![n("node1", &china), n("node2", &india), n("node3", &az1)],
            Ok(vec![0, 100, 0]),
        ),
        (
            "Affinity symmetry with namespace selector",
            mk("subteam1.team1", &s1),
            vec![
                (affinity_ns_selector(d(&s1)), "node1"),
                (stay_with_s2_in_region(d(&s2)), "node2"),
            ],
            vec![n("node1", &china), n("node2", &india), n("node3", &az1)],
            Ok(vec![100, 0, 0]),
        ),
        (
            "AntiAffinity symmetry with namespace selector",
            mk("subteam1.team1", &s1),
            vec![
                (anti_affinity_ns_selector(d(&s1)), "node1"),
                (stay_with_s2_in_region(d(&s2)), "node2"),
            ],
            vec![n("node1", &china), n("node2", &india), n("node3", &az1)],
            Ok(vec![0, 100, 100]),
        ),
        (
            "Affinity symmetry: considered RequiredDuringSchedulingIgnoredDuringExecution in pod affinity symmetry",
            d(&s1),
            vec![
                (hard_affinity(d(&s1)), "node1"),
                (hard_affinity(d(&s2)), "node2"),
            ],
            vec![n("node1", &china), n("node2", &india), n("node3", &az1)],
            Ok(vec![100, 100, 0]),
        ),
        (
            "Anti Affinity: pod that does not match existing pods in node will get high score ",
            away_from_s1_in_az(d(&s1)),
            vec![(d(&s1), "node1"), (d(&s2), "node2")],
            vec![n("node1", &az1), n("node2", &china)],
            Ok(vec![0, 100]),
        ),
        (
            "Anti Affinity: pod that does not match topology key & match the pods in nodes will get higher score comparing to others ",
            away_from_s1_in_az(d(&s1)),
            vec![(d(&s1), "node1"), (d(&s1), "node2")],
            vec![n("node1", &az1), n("node2", &china)],
            Ok(vec![0, 100]),
        ),
        (
            "Anti Affinity: one node has more matching pods comparing to other node, so the node which has more unmatches will get high score",
            away_from_s1_in_az(d(&s1)),
            vec![(d(&s1), "node1"), (d(&s1), "node1"), (d(&s2), "node2")],
            vec![n("node1", &az1), n("node2", &india)],
            Ok(vec![0, 100]),
        ),
        (
            "Anti Affinity symmetry: the existing pods in node which has anti affinity match will get high score",
            d(&s2),
            vec![
                (away_from_s2_in_az(d(&s1)), "node1"),
                (away_from_s1_in_az(d(&s2)), "node2"),
            ],
            vec![n("node1", &az1), n("node2", &az2)],
            Ok(vec![0, 100]),
        ),
        (
            "Affinity and Anti Affinity: considered only preferredDuringSchedulingIgnoredDuringExecution in both pod affinity & anti affinity",
            stay_s1_region_away_s2_az(d(&s1)),
            vec![(d(&s1), "node1"), (d(&s1), "node2")],
            vec![n("node1", &china), n("node2", &az1)],
            Ok(vec![100, 0]),
        ),
        (
            "Affinity and Anti Affinity: considering both affinity and anti-affinity, the pod to schedule and existing pods have the same labels",
            stay_s1_region_away_s2_az(d(&s1)),
            vec![
                (d(&s1), "node1"),
                (d(&s1), "node1"),
                (d(&s1), "node2"),
                (d(&s1), "node3"),
                (d(&s1), "node3"),
                (d(&s1), "node4"),
                (d(&s1), "node5"),
            ],
            vec![
                n("node1", &china_az1),
                n("node2", &india),
                n("node3", &china),
                n("node4", &china),
                n("node5", &india),
            ],
            Ok(vec![100, 0, 100, 100, 0]),
        ),
        (
            "Affinity and Anti Affinity and symmetry: considered only preferredDuringSchedulingIgnoredDuringExecution in both pod affinity & anti affinity & symmetry",
            stay_s1_region_away_s2_az(d(&s1)),
            vec![
                (d(&s1), "node1"),
                (d(&s2), "node2"),
                (stay_s1_region_away_s2_az(d(&[])), "node3"),
                (away_from_s1_in_az(d(&[])), "node4"),
            ],
            vec![
                n("node1", &china),
                n("node2", &az1),
                n("node3", &india),
                n("node4", &az2),
            ],
            Ok(vec![100, 0, 100, 0]),
        ),
        (
            "Avoid panic when partial nodes in a topology don't have pods with affinity",
            d(&s1),
            vec![
                (d(&s1), "node1"),
                (stay_s1_region_away_s2_az(d(&[])), "node2"),
            ],
            vec![n("node1", &china), n("node2", &china)],
            Ok(vec![0, 0]),
        ),
        (
            "Affinity with pods matching NamespaceSelector",
            affinity_ns_selector(mk("subteam1.team1", &s1)),
            vec![
                (mk("subteam1.team1", &s1), "node1"),
                (mk("subteam1.team1", &s1), "node1"),
                (mk("subteam1.team2", &s1), "node1"),
                (mk("subteam2.team1", &s1), "node2"),
            ],
            vec![n("node1", &china), n("node2", &india)],
            Ok(vec![100, 0]),
        ),
        (
            "Affinity with pods matching both NamespaceSelector and Namespaces fields",
            affinity_ns_selector(mk("subteam1.team1", &s1)),
            vec![
                (mk("subteam1.team1", &s1), "node1"),
                (mk("subteam1.team1", &s1), "node1"),
                (mk("subteam2.team2", &s1), "node1"),
                (mk("subteam2.team1", &s1), "node2"),
            ],
            vec![n("node1", &china), n("node2", &india)],
            Ok(vec![100, 0]),
        ),
        (
            "Affinity with pods matching NamespaceSelector (anti-affinity)",
            anti_affinity_ns_selector(mk("subteam1.team1", &s1)),
            vec![
                (mk("subteam1.team1", &s1), "node1"),
                (mk("subteam1.team1", &s1), "node1"),
                (mk("subteam1.team2", &s1), "node1"),
                (mk("subteam2.team1", &s1), "node2"),
            ],
            vec![n("node1", &china), n("node2", &india)],
            Ok(vec![0, 100]),
        ),
        (
            "Affinity with pods matching both NamespaceSelector and Namespaces fields (anti-affinity)",
            anti_affinity_ns_selector(mk("subteam1.team1", &s1)),
            vec![
                (mk("subteam1.team1", &s1), "node1"),
                (mk("subteam1.team1", &s1), "node1"),
                (mk("subteam2.team2", &s1), "node1"),
                (mk("subteam2.team1", &s1), "node2"),
            ],
            vec![n("node1", &china), n("node2", &india)],
            Ok(vec![0, 100]),
        ),
        (
            "Do not ignore preferred terms of existing pods",
            d(&s2),
            vec![
                (stay_s1_region_away_s2_az(d(&s1)), "node1"),
                (stay_with_s2_in_region(d(&s2)), "node2"),
            ],
            vec![n("node1", &china), n("node2", &india)],
            Ok(vec![0, 100]),
        ),
    ];
    for (name, incoming, existing, nodes, want) in cases {
        assert_eq!(score(default, &incoming, nodes, existing), want, "{name}");
    }
    // "Ignore preferred terms of existing pods"
    let ignore = InterPodAffinityArgs {
        ignore_preferred_terms_of_existing_pods: true,
        ..default
    };
    assert_eq!(
        score(
            ignore,
            &d(&s2),
            vec![n("node1", &china), n("node2", &india)],
            vec![
                (stay_s1_region_away_s2_az(d(&s1)), "node1"),
                (stay_with_s2_in_region(d(&s2)), "node2"),
            ],
        ),
        Err(Code::Skip)
    );
}

// scoring_test.go TestPreferredAffinityWithHardPodAffinitySymmetricWeight: every case.
#[test]
fn hard_pod_affinity_weight_matches_upstream_table() {
    let hard = |p: Pod| {
        required(
            p,
            vec![PodAffinityTerm {
                namespaces: vec!["default".into(), "subteam2.team2".into()],
                namespace_selector: Some(LabelSelector {
                    requirements: vec![req("team", Operator::In, &["team1"])],
                }),
                ..term_in("service", "region", &["S1"])
            }],
            vec![],
        )
    };
    let nodes = || {
        vec![
            labelled_node("node1", &[("region", "China")]),
            labelled_node("node2", &[("region", "India")]),
            labelled_node("node3", &[("az", "az1")]),
        ]
    };
    let existing = || {
        vec![
            (hard(mk("default", &[])), "node1"),
            (hard(mk("default", &[])), "node2"),
        ]
    };
    let weight = |w| InterPodAffinityArgs {
        hard_pod_affinity_weight: w,
        ..InterPodAffinityArgs::default()
    };
    let s1 = [("service", "S1")];
    type Case<'a> = (&'a str, i32, &'a str, Result<Vec<i64>, Code>);
    let cases: Vec<Case> = vec![
        ("with default weight", 1, "default", Ok(vec![100, 100, 0])),
        ("with zero weight", 0, "default", Err(Code::Skip)),
        (
            "with no matching namespace",
            1,
            "subteam1.team2",
            Err(Code::Skip),
        ),
        (
            "with matching NamespaceSelector",
            1,
            "subteam1.team1",
            Ok(vec![100, 100, 0]),
        ),
        (
            "with matching Namespaces",
            1,
            "subteam2.team2",
            Ok(vec![100, 100, 0]),
        ),
    ];
    for (name, w, ns, want) in cases {
        assert_eq!(
            score(weight(w), &mk(ns, &s1), nodes(), existing()),
            want,
            "{name}"
        );
    }
}

#[test]
fn args_default_and_validate_as_upstream() {
    assert_eq!(
        InterPodAffinityArgs::parse(None).unwrap(),
        InterPodAffinityArgs::default()
    );
    let a = InterPodAffinityArgs::parse(Some(&serde_json::json!({
        "hardPodAffinityWeight": 5, "ignorePreferredTermsOfExistingPods": true
    })))
    .unwrap();
    assert_eq!(a.hard_pod_affinity_weight, 5);
    assert!(a.ignore_preferred_terms_of_existing_pods);
    let e = InterPodAffinityArgs::parse(Some(&serde_json::json!({"hardPodAffinityWeight": 101})))
        .unwrap_err();
    assert_eq!(e.path, "hardPodAffinityWeight");
    assert_eq!(e.message, "Invalid value: 101: not in valid range [0, 100]");
    let e = InterPodAffinityArgs::parse(Some(&serde_json::json!({"hardPodAffinityWeigth": 1})))
        .unwrap_err();
    assert_eq!(e.path, "hardPodAffinityWeigth");
}

#[test]
fn match_label_keys_narrow_the_selector_to_the_owners_values() {
    // Anti-affinity against pods of the same app *and* the same pod-template-hash: a pod of
    // another revision does not repel.
    let mut t = term_exists("app", "kubernetes.io/hostname");
    t.match_label_keys = vec!["pod-template-hash".into()];
    let incoming = required(
        mk("default", &[("app", "web"), ("pod-template-hash", "v2")]),
        vec![],
        vec![t],
    );
    let nodes = vec![
        labelled_node("a", &[("kubernetes.io/hostname", "a")]),
        labelled_node("b", &[("kubernetes.io/hostname", "b")]),
    ];
    let existing = vec![
        (
            mk("default", &[("app", "web"), ("pod-template-hash", "v1")]),
            "a",
        ),
        (
            mk("default", &[("app", "web"), ("pod-template-hash", "v2")]),
            "b",
        ),
    ];
    let (_, statuses) = filter(&incoming, nodes, existing);
    assert_eq!(statuses, [ok(), anti_fail()]);
}

#[test]
fn pods_on_deleted_nodes_and_deleted_pods_stop_counting() {
    let incoming = mk("default", &[("app", "web")]);
    let repel = required(mk("default", &[]), vec![], vec![term_exists("app", "zone")]);
    let mut store = snapshot(
        vec![
            labelled_node("a", &[("zone", "z1")]),
            labelled_node("b", &[("zone", "z1")]),
        ],
        vec![(repel, "a")],
    );
    let mut pl = InterPodAffinity::default();
    assert!(pl.pre_filter(&incoming, &store).is_success());
    assert_eq!(
        pl.filter(&incoming, &store.nodes[1], &store),
        existing_fail()
    );
    let id = store.nodes[0].pods[0];
    store.delete_pod(id, sim_core::SimTime::ZERO);
    assert!(store.pods_with_required_anti_affinity().is_empty());
    assert!(pl.pre_filter(&incoming, &store).is_skip());
}

/// Counts kept across binds and deletes give the same filter verdicts and scores as counts
/// computed afresh, for pods with every kind of term.
#[test]
fn kept_counts_equal_fresh_ones() {
    let zones = ["z1", "z2", "z3"];
    let nodes: Vec<Node> = (0..9)
        .map(|i| {
            let name = format!("n{i}");
            labelled_node(&name, &[("host", name.as_str()), ("zone", zones[i % 3])])
        })
        .collect();
    let mut store = snapshot(nodes, vec![]);
    let web = |extra: Option<Pod>| extra.unwrap_or_else(|| mk("default", &[("app", "web")]));
    // The kinds of placed pods: plain, required anti-affinity by host, preferred affinity to
    // db by zone, required affinity to web by zone.
    let kinds: Vec<Pod> = vec![
        web(None),
        required(
            mk("default", &[("app", "web")]),
            vec![],
            vec![term_in("app", "host", &["web"])],
        ),
        preferred(
            mk("default", &[("app", "cache")]),
            vec![weighted(7, term_in("app", "zone", &["db"]))],
            vec![weighted(3, term_in("app", "host", &["web"]))],
        ),
        required(
            mk("default", &[("app", "db")]),
            vec![term_in("app", "zone", &["web"])],
            vec![],
        ),
    ];
    let incoming = preferred(
        required(
            mk("default", &[("app", "web")]),
            vec![term_in("app", "zone", &["db"])],
            vec![term_in("app", "host", &["web"])],
        ),
        vec![weighted(5, term_in("app", "zone", &["cache"]))],
        vec![weighted(2, term_in("app", "host", &["db"]))],
    );
    let mut kept = InterPodAffinity::default();
    let mut placed = Vec::new();
    for step in 0..160usize {
        if step % 5 == 2 && !placed.is_empty() {
            let victim = placed.remove((step * 13) % placed.len());
            store.delete_pod(victim, sim_core::SimTime::ZERO);
        } else if step % 7 == 4 && !placed.is_empty() {
            // Terminating pods still count for inter-pod affinity.
            let victim = placed[(step * 3) % placed.len()];
            store.mark_terminating(victim, sim_core::SimTime::ZERO);
        } else {
            let mut p = kinds[step % kinds.len()].clone();
            p.name = format!("p{step}");
            let id = store.add_pod(p, sim_core::SimTime::ZERO);
            store.bind(
                id,
                NodeId(u32::try_from((step * 5) % 9).unwrap()),
                sim_core::SimTime::ZERO,
            );
            placed.push(id);
        }
        let mut fresh = InterPodAffinity::default();
        let (a, b) = (
            kept.pre_filter(&incoming, &store),
            fresh.pre_filter(&incoming, &store),
        );
        assert_eq!(a, b, "step {step}");
        if a.is_success() {
            for n in &store.nodes {
                assert_eq!(
                    kept.filter(&incoming, n, &store),
                    fresh.filter(&incoming, n, &store),
                    "step {step}"
                );
            }
        }
        let ids: Vec<NodeId> = store.nodes.iter().map(|n| n.id).collect();
        let (a, b) = (
            kept.pre_score(&incoming, &ids, &store),
            fresh.pre_score(&incoming, &ids, &store),
        );
        assert_eq!(a, b, "step {step}");
        if a.is_success() {
            for n in &store.nodes {
                assert_eq!(
                    kept.score(&incoming, n, &store),
                    fresh.score(&incoming, n, &store),
                    "step {step}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// PreFilter extensions: filtering_test.go TestPreFilterStateAddRemovePod.

type Pairs = BTreeMap<(String, String), i64>;

/// The three PreFilter maps (existing anti-affinity, affinity, anti-affinity) as upstream's
/// `topologyToMatchedTermCount`, with `state`'s changes when given.
fn prefilter_maps(pl: &InterPodAffinity, state: Option<&AffinityState>) -> [Pairs; 3] {
    pl.views(state).map(|v| {
        let mut out = Pairs::new();
        let all = v
            .base
            .0
            .iter()
            .chain(v.delta.into_iter().flat_map(|d| d.0.iter()));
        for (key, values) in all {
            for value in values.keys() {
                let n = v.get(key, value);
                if n != 0 {
                    out.insert((key.clone(), value.clone()), n);
                }
            }
        }
        out
    })
}

fn pairs(entries: &[(&str, &str, i64)]) -> Pairs {
    entries
        .iter()
        .map(|(k, v, n)| ((k.to_string(), v.to_string()), *n))
        .collect()
}

#[test]
fn pre_filter_state_add_remove_pod_matches_upstream_table() {
    let nodes = || {
        vec![
            labelled_node("nodeA", &[("region", "r1"), ("zone", "z11")]),
            labelled_node("nodeB", &[("region", "r1"), ("zone", "z12")]),
            labelled_node("nodeC", &[("region", "r2"), ("zone", "z21")]),
        ]
    };
    let selector1 = [("foo", "bar")];
    let anti_foo_bar = || vec![term_in("foo", "region", &["bar"])];
    let complex = || {
        vec![
            term_in("foo", "region", &["bar", "buzz"]),
            term_not_in("service", "zone", &["bar", "security", "test"]),
        ]
    };
    struct Case {
        name: &'static str,
        pending: Pod,
        existing: Vec<(Pod, &'static str)>,
        added: (Pod, &'static str),
        anti: Pairs,
        affinity: Pairs,
    }
    let cases = [
        Case {
            name: "preFilterState anti-affinity terms are updated correctly after adding and removing a pod",
            pending: required(mk("default", &selector1), vec![], anti_foo_bar()),
            existing: vec![
                (mk("default", &selector1), "nodeA"),
                (
                    required(mk("default", &[]), vec![], anti_foo_bar()),
                    "nodeC",
                ),
            ],
            added: (
                required(mk("default", &selector1), vec![], anti_foo_bar()),
                "nodeB",
            ),
            anti: pairs(&[("region", "r1", 2)]),
            affinity: pairs(&[]),
        },
        Case {
            name: "preFilterState anti-affinity terms are updated correctly after adding and removing a pod (complex)",
            pending: required(mk("default", &selector1), vec![], complex()),
            existing: vec![
                (mk("default", &selector1), "nodeA"),
                (
                    required(mk("default", &[]), vec![], anti_foo_bar()),
                    "nodeC",
                ),
            ],
            added: (
                required(mk("default", &selector1), vec![], complex()),
                "nodeA",
            ),
            anti: pairs(&[("region", "r1", 2), ("zone", "z11", 2), ("zone", "z21", 1)]),
            affinity: pairs(&[]),
        },
        Case {
            name: "preFilterState matching pod affinity and anti-affinity are updated correctly after adding and removing a pod",
            pending: required(mk("default", &selector1), complex(), vec![]),
            existing: vec![
                (mk("default", &selector1), "nodeA"),
                (
                    required(mk("default", &[]), complex(), anti_foo_bar()),
                    "nodeC",
                ),
            ],
            added: (
                required(mk("default", &selector1), vec![], complex()),
                "nodeA",
            ),
            anti: pairs(&[]),
            affinity: pairs(&[("region", "r1", 2), ("zone", "z11", 2)]),
        },
    ];
    for c in cases {
        // The state PreFilter computes with the added pod placed…
        let mut all = c.existing.clone();
        all.push(c.added.clone());
        let store_all = snapshot(nodes(), all);
        let mut pl_all = InterPodAffinity::default();
        assert!(
            pl_all.pre_filter(&c.pending, &store_all).is_success(),
            "{}",
            c.name
        );
        let want = prefilter_maps(&pl_all, None);

        // …equals the state without it plus AddPod.
        let store = snapshot(nodes(), c.existing.clone());
        let mut pl = InterPodAffinity::default();
        assert!(pl.pre_filter(&c.pending, &store).is_success(), "{}", c.name);
        let original = prefilter_maps(&pl, None);
        let mut state = pl
            .pre_filter_state()
            .expect("InterPodAffinity has PreFilter extensions");
        let node = store.node(store.node_id(c.added.1).unwrap());
        assert!(
            pl.add_pod(state.as_mut(), &c.pending, &c.added.0, node, &store)
                .is_success()
        );
        let got = prefilter_maps(&pl, Some(downcast_state(state.as_ref(), NAME).unwrap()));
        assert_eq!(got[2], c.anti, "{}: antiAffinityCounts", c.name);
        assert_eq!(got[1], c.affinity, "{}: affinityCounts", c.name);
        assert_eq!(got, want, "{}: AddPod", c.name);

        // RemovePod takes it back to the original.
        assert!(
            pl.remove_pod(state.as_mut(), &c.pending, &c.added.0, node, &store)
                .is_success()
        );
        let got = prefilter_maps(&pl, Some(downcast_state(state.as_ref(), NAME).unwrap()));
        assert_eq!(got, original, "{}: RemovePod", c.name);
    }

    // "no affinity exist": no placed pod has required anti-affinity and the pending pod has no
    // terms, so PreFilter skips (as upstream since the Skip status), and with it the
    // extensions.
    let store = snapshot(
        nodes(),
        vec![
            (mk("default", &selector1), "nodeA"),
            (mk("default", &[]), "nodeC"),
        ],
    );
    let mut pl = InterPodAffinity::default();
    assert!(pl.pre_filter(&mk("default", &selector1), &store).is_skip());
    assert_eq!(
        prefilter_maps(&pl, None),
        [Pairs::new(), Pairs::new(), Pairs::new()]
    );
}

/// Filtering against AddPod / RemovePod changes: the emptiness upstream's Filter tests (the
/// "first pod of a series" rule, `len(antiAffinityCounts) > 0`) follows the changed counts.
#[test]
fn filter_with_state_sees_added_and_removed_pods() {
    let nodes = || {
        vec![
            labelled_node("nodeA", &[("region", "r1"), ("zone", "z11")]),
            labelled_node("nodeB", &[("region", "r2"), ("zone", "z21")]),
        ]
    };
    // A pod with affinity to itself (`foo: bar` by region), no such pod placed: any node with
    // the key fits ("first pod in a series").
    let pending = required(
        mk("default", &[("foo", "bar")]),
        vec![term_in("foo", "region", &["bar"])],
        vec![],
    );
    let store = snapshot(nodes(), vec![]);
    let mut pl = InterPodAffinity::default();
    assert!(pl.pre_filter(&pending, &store).is_success());
    let mut state = pl.pre_filter_state().unwrap();
    let (a, b) = (&store.nodes[0], &store.nodes[1]);
    assert!(
        pl.filter_with_state(state.as_ref(), &pending, b, &store)
            .is_success()
    );
    // With a matching pod added on nodeA, only region r1 satisfies the affinity.
    let peer = mk("default", &[("foo", "bar")]);
    assert!(
        pl.add_pod(state.as_mut(), &pending, &peer, a, &store)
            .is_success()
    );
    assert!(
        pl.filter_with_state(state.as_ref(), &pending, a, &store)
            .is_success()
    );
    assert_eq!(
        pl.filter_with_state(state.as_ref(), &pending, b, &store),
        affinity_fail()
    );
    // Removed again: the map is empty, the series rule applies once more.
    assert!(
        pl.remove_pod(state.as_mut(), &pending, &peer, a, &store)
            .is_success()
    );
    assert!(
        pl.filter_with_state(state.as_ref(), &pending, b, &store)
            .is_success()
    );

    // Anti-affinity the other way: removing the only placed pod that repels the pending pod
    // frees its region.
    let repeller = required(
        mk("default", &[]),
        vec![],
        vec![term_in("foo", "region", &["bar"])],
    );
    let store = snapshot(nodes(), vec![(repeller.clone(), "nodeA")]);
    let incoming = mk("default", &[("foo", "bar")]);
    let mut pl = InterPodAffinity::default();
    assert!(pl.pre_filter(&incoming, &store).is_success());
    let a = &store.nodes[0];
    assert_eq!(pl.filter(&incoming, a, &store), existing_fail());
    let mut state = pl.pre_filter_state().unwrap();
    assert!(
        pl.remove_pod(state.as_mut(), &incoming, &repeller, a, &store)
            .is_success()
    );
    assert!(
        pl.filter_with_state(state.as_ref(), &incoming, a, &store)
            .is_success()
    );
}
