//! NodeAffinity (upstream `pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go`, with
//! the matching rules of `component-helpers/scheduling/corev1/nodeaffinity`): `spec.nodeSelector`
//! and required node affinity as a filter, preferred terms as a score, and the profile's
//! `addedAffinity` on top of both.

use std::collections::BTreeSet;

use serde_json::Value;

pub use crate::api::node_affinity::{
    OBJECT_NAME_FIELD, field_requirement_error, label_requirement_error, required_matches,
    term_error, term_matches,
};
use crate::api::node_affinity::{is_empty_term, selector_matches};
use crate::api::{Node, NodeId, NodeSelector, Operator, Pod, PreferredSchedulingTerm};
use crate::scheduler::config::NodeAffinityArgs;
use crate::scheduler::framework::{
    ExtensionPoints, MAX_NODE_SCORE, NodeScore, Plugin, Snapshot, Status,
};
use crate::scheduler::plugins::helper::default_normalize_score;
use crate::store::NodeInfo;

pub const NAME: &str = "NodeAffinity";
/// Upstream `ErrReasonPod`.
pub const ERR_REASON_POD: &str = "node(s) didn't match Pod's node affinity/selector";
/// Upstream `errReasonEnforced`.
pub const ERR_REASON_ENFORCED: &str = "node(s) didn't match scheduler-enforced node affinity";
/// Upstream `errReasonConflict`.
pub const ERR_REASON_CONFLICT: &str = "pod affinity terms conflict";
/// Upstream `PreferredSchedulingTerms.Score`: the sum of the weights of the matching terms.
/// Zero-weight and empty terms are dropped when parsed, so they never count.
pub fn preferred_score(terms: &[PreferredSchedulingTerm], node: &Node) -> i64 {
    terms
        .iter()
        .filter(|t| t.weight != 0 && !is_empty_term(&t.preference))
        .filter(|t| term_matches(&t.preference, node))
        .map(|t| i64::from(t.weight))
        .sum()
}

/// The node names the required terms pin the pod to (upstream PreFilter): `Ok(None)` when some
/// term does not constrain `metadata.name`, `Err` when every term pins to nothing.
fn pinned_node_names(selector: &NodeSelector) -> Result<Option<BTreeSet<String>>, ()> {
    if selector.terms.is_empty() {
        return Ok(None);
    }
    let mut names = BTreeSet::new();
    for term in &selector.terms {
        let mut term_names: Option<BTreeSet<String>> = None;
        for r in &term.match_fields {
            if r.key == OBJECT_NAME_FIELD && r.operator == Operator::In {
                let s: BTreeSet<String> = r.values.iter().cloned().collect();
                term_names = Some(match term_names {
                    None => s,
                    // The requirements of one term are ANDed: intersect.
                    Some(prev) => prev.intersection(&s).cloned().collect(),
                });
            }
        }
        match term_names {
            None => return Ok(None),
            Some(t) => names.extend(t),
        }
    }
    if names.is_empty() {
        Err(())
    } else {
        Ok(Some(names))
    }
}

#[derive(Debug, Default)]
pub struct NodeAffinity {
    added_node_selector: Option<NodeSelector>,
    /// Whether each added term parses (always, after validation; kept for the matcher).
    added_valid: Vec<bool>,
    added_preferred: Vec<PreferredSchedulingTerm>,
    /// Cycle state: whether each required term of the pod parses.
    required_valid: Vec<bool>,
    /// Cycle state: upstream `PreFilterResult.NodeNames`.
    pinned: Option<BTreeSet<String>>,
}

impl NodeAffinity {
    pub fn new(args: NodeAffinityArgs) -> Self {
        let mut pl = NodeAffinity::default();
        if let Some(added) = args.added_affinity {
            if let Some(selector) = &added.required {
                pl.added_valid = selector
                    .terms
                    .iter()
                    .map(|t| term_error(t).is_none())
                    .collect();
            }
            pl.added_node_selector = added.required;
            pl.added_preferred = added.preferred;
        }
        pl
    }

    pub fn factory(args: Option<&Value>) -> Result<Box<dyn Plugin>, String> {
        let args = NodeAffinityArgs::parse(args).map_err(|e| e.to_string())?;
        Ok(Box::new(NodeAffinity::new(args)))
    }
}

impl Plugin for NodeAffinity {
    fn name(&self) -> &str {
        NAME
    }

    fn extension_points(&self) -> ExtensionPoints {
        ExtensionPoints::PRE_FILTER
            | ExtensionPoints::FILTER
            | ExtensionPoints::PRE_SCORE
            | ExtensionPoints::SCORE
    }

    fn pre_filter(&mut self, pod: &Pod, _snapshot: &Snapshot) -> Status {
        self.pinned = None;
        self.required_valid.clear();
        let required = pod.node_affinity.as_ref().and_then(|a| a.required.as_ref());
        if let Some(selector) = required {
            self.required_valid
                .extend(selector.terms.iter().map(|t| term_error(t).is_none()));
        }
        let Some(selector) = required else {
            if self.added_node_selector.is_none() && pod.node_selector.is_empty() {
                return Status::skip();
            }
            return Status::success();
        };
        match pinned_node_names(selector) {
            Ok(pinned) => {
                self.pinned = pinned;
                Status::success()
            }
            Err(()) => Status::unresolvable(ERR_REASON_CONFLICT),
        }
    }

    fn pre_filter_result(&self) -> Option<&BTreeSet<String>> {
        self.pinned.as_ref()
    }

    fn filter(&self, pod: &Pod, node: &NodeInfo, _snapshot: &Snapshot) -> Status {
        if let Some(added) = &self.added_node_selector
            && !selector_matches(added, &self.added_valid, &node.node)
        {
            return Status::unresolvable(ERR_REASON_ENFORCED);
        }
        if !required_matches(pod, &node.node, &self.required_valid) {
            return Status::unresolvable(ERR_REASON_POD);
        }
        Status::success()
    }

    fn pre_score(&mut self, pod: &Pod, _feasible: &[NodeId], _snapshot: &Snapshot) -> Status {
        let preferred = pod
            .node_affinity
            .as_ref()
            .map_or(&[][..], |a| &a.preferred[..]);
        // Upstream NewPreferredSchedulingTerms: a term that does not parse fails the cycle.
        for (i, t) in preferred.iter().enumerate() {
            if t.weight == 0 || is_empty_term(&t.preference) {
                continue;
            }
            if let Some(err) = term_error(&t.preference) {
                return Status::error(format!("[{i}].{err}"));
            }
        }
        if preferred.is_empty() && self.added_preferred.is_empty() {
            return Status::skip();
        }
        Status::success()
    }

    fn score(&self, pod: &Pod, node: &NodeInfo, _snapshot: &Snapshot) -> Result<i64, Status> {
        let mut count = preferred_score(&self.added_preferred, &node.node);
        if let Some(affinity) = &pod.node_affinity {
            count += preferred_score(&affinity.preferred, &node.node);
        }
        Ok(count)
    }

    fn normalize_scores(&self, _pod: &Pod, scores: &mut [NodeScore]) -> Status {
        default_normalize_score(MAX_NODE_SCORE, false, scores);
        Status::success()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{NodeAffinity as Affinity, NodeSelectorTerm, Requirement};
    use crate::scheduler::framework::Code;
    use crate::scheduler::testing::{node, pod, snapshot};

    fn req(key: &str, op: Operator, values: &[&str]) -> Requirement {
        Requirement::new(key, op, values.iter().map(|s| s.to_string()).collect())
    }

    fn exprs(reqs: Vec<Requirement>) -> NodeSelectorTerm {
        NodeSelectorTerm {
            match_expressions: reqs,
            match_fields: vec![],
        }
    }

    fn fields(reqs: Vec<Requirement>) -> NodeSelectorTerm {
        NodeSelectorTerm {
            match_expressions: vec![],
            match_fields: reqs,
        }
    }

    fn required(terms: Vec<NodeSelectorTerm>) -> Affinity {
        Affinity {
            required: Some(NodeSelector { terms }),
            preferred: vec![],
        }
    }

    fn name_in(name: &str) -> Requirement {
        req(OBJECT_NAME_FIELD, Operator::In, &[name])
    }

    struct FilterCase {
        name: &'static str,
        pod: Pod,
        labels: &'static [(&'static str, &'static str)],
        node_name: &'static str,
        args: NodeAffinityArgs,
        run_pre_filter: bool,
        want_pre_filter: Option<Status>,
        want_pinned: Option<&'static [&'static str]>,
        want: Status,
    }

    fn case(name: &'static str, pod: Pod) -> FilterCase {
        FilterCase {
            name,
            pod,
            labels: &[],
            node_name: "",
            args: NodeAffinityArgs::default(),
            run_pre_filter: true,
            want_pre_filter: None,
            want_pinned: None,
            want: Status::success(),
        }
    }

    fn reject() -> Status {
        Status::unresolvable(ERR_REASON_POD)
    }

    // node_affinity_test.go TestNodeAffinity: every case of the upstream table (the Pod/Node
    // objects rebuilt with kubesim's types; statuses compared on code and reasons).
    #[test]
    fn filter_matches_upstream_table() {
        let with = |c: FilterCase, labels, node_name| FilterCase {
            labels,
            node_name,
            ..c
        };
        let cases = vec![
            FilterCase {
                want: reject(),
                ..case(
                    "missing labels",
                    pod("p").node_selector(&[("foo", "bar")]).obj(),
                )
            },
            with(
                case(
                    "same labels",
                    pod("p").node_selector(&[("foo", "bar")]).obj(),
                ),
                &[("foo", "bar")],
                "",
            ),
            with(
                case(
                    "node labels are superset",
                    pod("p").node_selector(&[("foo", "bar")]).obj(),
                ),
                &[("foo", "bar"), ("baz", "blah")],
                "",
            ),
            FilterCase {
                want: reject(),
                ..with(
                    case(
                        "node labels are subset",
                        pod("p")
                            .node_selector(&[("foo", "bar"), ("baz", "blah")])
                            .obj(),
                    ),
                    &[("foo", "bar")],
                    "",
                )
            },
            with(
                case(
                    "Pod with matchExpressions using In operator that matches the existing node",
                    pod("p")
                        .affinity(required(vec![exprs(vec![req(
                            "foo",
                            Operator::In,
                            &["bar", "value2"],
                        )])]))
                        .obj(),
                ),
                &[("foo", "bar")],
                "",
            ),
            with(
                case(
                    "Pod with matchExpressions using Gt operator that matches the existing node",
                    pod("p")
                        .affinity(required(vec![exprs(vec![req(
                            "kernel-version",
                            Operator::Gt,
                            &["0204"],
                        )])]))
                        .obj(),
                ),
                &[("kernel-version", "0206")],
                "",
            ),
            with(
                case(
                    "Pod with matchExpressions using NotIn operator that matches the existing node",
                    pod("p")
                        .affinity(required(vec![exprs(vec![req(
                            "mem-type",
                            Operator::NotIn,
                            &["DDR", "DDR2"],
                        )])]))
                        .obj(),
                ),
                &[("mem-type", "DDR3")],
                "",
            ),
            with(
                case(
                    "Pod with matchExpressions using Exists operator that matches the existing node",
                    pod("p")
                        .affinity(required(vec![exprs(vec![req(
                            "GPU",
                            Operator::Exists,
                            &[],
                        )])]))
                        .obj(),
                ),
                &[("GPU", "NVIDIA-GRID-K1")],
                "",
            ),
            FilterCase {
                want: reject(),
                ..with(
                    case(
                        "Pod with affinity that don't match node's labels won't schedule onto the node",
                        pod("p")
                            .affinity(required(vec![exprs(vec![req(
                                "foo",
                                Operator::In,
                                &["value1", "value2"],
                            )])]))
                            .obj(),
                    ),
                    &[("foo", "bar")],
                    "",
                )
            },
            FilterCase {
                want: reject(),
                ..with(
                    case(
                        "Pod with empty MatchExpressions is not a valid value will match no objects and won't schedule onto the node",
                        pod("p").affinity(required(vec![exprs(vec![])])).obj(),
                    ),
                    &[("foo", "bar")],
                    "",
                )
            },
            FilterCase {
                want_pre_filter: Some(Status::skip()),
                ..with(
                    case(
                        "Pod with no Affinity will schedule onto a node",
                        pod("p").obj(),
                    ),
                    &[("foo", "bar")],
                    "",
                )
            },
            FilterCase {
                want_pre_filter: Some(Status::skip()),
                ..with(
                    case(
                        "Pod with Affinity but nil NodeSelector will schedule onto a node",
                        pod("p").affinity(Affinity::default()).obj(),
                    ),
                    &[("foo", "bar")],
                    "",
                )
            },
            with(
                case(
                    "Pod with multiple matchExpressions ANDed that matches the existing node",
                    pod("p")
                        .affinity(required(vec![exprs(vec![
                            req("GPU", Operator::Exists, &[]),
                            req("GPU", Operator::NotIn, &["AMD", "INTER"]),
                        ])]))
                        .obj(),
                ),
                &[("GPU", "NVIDIA-GRID-K1")],
                "",
            ),
            FilterCase {
                want: reject(),
                ..with(
                    case(
                        "Pod with multiple matchExpressions ANDed that doesn't match the existing node",
                        pod("p")
                            .affinity(required(vec![exprs(vec![
                                req("GPU", Operator::Exists, &[]),
                                req("GPU", Operator::In, &["AMD", "INTER"]),
                            ])]))
                            .obj(),
                    ),
                    &[("GPU", "NVIDIA-GRID-K1")],
                    "",
                )
            },
            with(
                case(
                    "Pod with multiple NodeSelectorTerms ORed in affinity, matches the node's labels and will schedule onto the node",
                    pod("p")
                        .affinity(required(vec![
                            exprs(vec![req("foo", Operator::In, &["bar", "value2"])]),
                            exprs(vec![req("diffkey", Operator::In, &["wrong", "value2"])]),
                        ]))
                        .obj(),
                ),
                &[("foo", "bar")],
                "",
            ),
            with(
                case(
                    "Pod with an Affinity and a PodSpec.NodeSelector(the old thing that we are deprecating) both are satisfied, will schedule onto the node",
                    pod("p")
                        .node_selector(&[("foo", "bar")])
                        .affinity(required(vec![exprs(vec![req(
                            "foo",
                            Operator::Exists,
                            &[],
                        )])]))
                        .obj(),
                ),
                &[("foo", "bar")],
                "",
            ),
            FilterCase {
                want: reject(),
                ..with(
                    case(
                        "Pod with an Affinity matches node's labels but the PodSpec.NodeSelector(the old thing that we are deprecating) is not satisfied, won't schedule onto the node",
                        pod("p")
                            .node_selector(&[("foo", "bar")])
                            .affinity(required(vec![exprs(vec![req(
                                "foo",
                                Operator::Exists,
                                &[],
                            )])]))
                            .obj(),
                    ),
                    &[("foo", "barrrrrr")],
                    "",
                )
            },
            FilterCase {
                want: reject(),
                ..with(
                    case(
                        "Pod with an invalid value in Affinity term won't be scheduled onto the node",
                        pod("p")
                            .affinity(required(vec![exprs(vec![req(
                                "foo",
                                Operator::NotIn,
                                &["invalid value: ___@#$%^"],
                            )])]))
                            .obj(),
                    ),
                    &[("foo", "bar")],
                    "",
                )
            },
            FilterCase {
                want_pinned: Some(&["node1"]),
                ..with(
                    case(
                        "Pod with matchFields using In operator that matches the existing node",
                        pod("p")
                            .affinity(required(vec![fields(vec![name_in("node1")])]))
                            .obj(),
                    ),
                    &[],
                    "node1",
                )
            },
            FilterCase {
                want_pinned: Some(&["node1"]),
                want: reject(),
                ..with(
                    case(
                        "Pod with matchFields using In operator that does not match the existing node",
                        pod("p")
                            .affinity(required(vec![fields(vec![name_in("node1")])]))
                            .obj(),
                    ),
                    &[],
                    "node2",
                )
            },
            with(
                case(
                    "Pod with two terms: matchFields does not match, but matchExpressions matches",
                    pod("p")
                        .affinity(required(vec![
                            fields(vec![name_in("node1"), name_in("node2")]),
                            exprs(vec![req("foo", Operator::In, &["bar"])]),
                        ]))
                        .obj(),
                ),
                &[("foo", "bar")],
                "node2",
            ),
            FilterCase {
                want_pinned: Some(&["node1"]),
                want: reject(),
                ..with(
                    case(
                        "Pod with one term: matchFields does not match, but matchExpressions matches",
                        pod("p")
                            .affinity(required(vec![NodeSelectorTerm {
                                match_expressions: vec![req("foo", Operator::In, &["bar"])],
                                match_fields: vec![name_in("node1")],
                            }]))
                            .obj(),
                    ),
                    &[("foo", "bar")],
                    "node2",
                )
            },
            FilterCase {
                want_pinned: Some(&["node1"]),
                ..with(
                    case(
                        "Pod with one term: both matchFields and matchExpressions match",
                        pod("p")
                            .affinity(required(vec![NodeSelectorTerm {
                                match_expressions: vec![req("foo", Operator::In, &["bar"])],
                                match_fields: vec![name_in("node1")],
                            }]))
                            .obj(),
                    ),
                    &[("foo", "bar")],
                    "node1",
                )
            },
            FilterCase {
                want: reject(),
                ..with(
                    case(
                        "Pod with two terms: both matchFields and matchExpressions do not match",
                        pod("p")
                            .affinity(required(vec![
                                fields(vec![name_in("node1")]),
                                exprs(vec![req("foo", Operator::In, &["not-match-to-bar"])]),
                            ]))
                            .obj(),
                    ),
                    &[("foo", "bar")],
                    "node2",
                )
            },
            FilterCase {
                want_pinned: Some(&["node1", "node2"]),
                ..with(
                    case(
                        "Pod with two terms of node.Name affinity",
                        pod("p")
                            .affinity(required(vec![
                                fields(vec![name_in("node1")]),
                                fields(vec![name_in("node2")]),
                            ]))
                            .obj(),
                    ),
                    &[],
                    "node2",
                )
            },
            FilterCase {
                want_pre_filter: Some(Status::unresolvable(ERR_REASON_CONFLICT)),
                want: reject(),
                ..with(
                    case(
                        "Pod with two conflicting mach field requirements",
                        pod("p")
                            .affinity(required(vec![fields(vec![
                                name_in("node1"),
                                name_in("node2"),
                            ])]))
                            .obj(),
                    ),
                    &[("foo", "bar")],
                    "node2",
                )
            },
            FilterCase {
                args: NodeAffinityArgs {
                    added_affinity: Some(required(vec![fields(vec![name_in("node2")])])),
                },
                ..with(
                    case(
                        "Matches added affinity and Pod's node affinity",
                        pod("p")
                            .affinity(required(vec![exprs(vec![req(
                                "zone",
                                Operator::In,
                                &["foo"],
                            )])]))
                            .obj(),
                    ),
                    &[("zone", "foo")],
                    "node2",
                )
            },
            FilterCase {
                args: NodeAffinityArgs {
                    added_affinity: Some(required(vec![fields(vec![name_in("node2")])])),
                },
                want: reject(),
                ..with(
                    case(
                        "Matches added affinity but not Pod's node affinity",
                        pod("p")
                            .affinity(required(vec![exprs(vec![req(
                                "zone",
                                Operator::In,
                                &["bar"],
                            )])]))
                            .obj(),
                    ),
                    &[("zone", "foo")],
                    "node2",
                )
            },
            FilterCase {
                args: NodeAffinityArgs {
                    added_affinity: Some(required(vec![exprs(vec![req(
                        "zone",
                        Operator::In,
                        &["bar"],
                    )])])),
                },
                want: Status::unresolvable(ERR_REASON_ENFORCED),
                ..with(
                    case("Doesn't match added affinity", pod("p").obj()),
                    &[("zone", "foo")],
                    "node2",
                )
            },
            FilterCase {
                run_pre_filter: false,
                ..with(
                    case(
                        "Matches node selector correctly even if PreFilter is not called",
                        pod("p").node_selector(&[("foo", "bar")]).obj(),
                    ),
                    &[("foo", "bar"), ("baz", "blah")],
                    "",
                )
            },
            FilterCase {
                run_pre_filter: false,
                ..with(
                    case(
                        "Matches node affinity correctly even if PreFilter is not called",
                        pod("p")
                            .affinity(required(vec![exprs(vec![
                                req("GPU", Operator::Exists, &[]),
                                req("GPU", Operator::NotIn, &["AMD", "INTER"]),
                            ])]))
                            .obj(),
                    ),
                    &[("GPU", "NVIDIA-GRID-K1")],
                    "",
                )
            },
        ];
        for c in cases {
            let store = snapshot(vec![node(c.node_name).labels(c.labels).obj()], vec![]);
            let mut pl = NodeAffinity::new(c.args.clone());
            if c.run_pre_filter {
                let got = pl.pre_filter(&c.pod, &store);
                assert_eq!(
                    got,
                    c.want_pre_filter.clone().unwrap_or_else(Status::success),
                    "{}: PreFilter",
                    c.name
                );
                let pinned: Option<Vec<&str>> = pl
                    .pre_filter_result()
                    .map(|s| s.iter().map(String::as_str).collect());
                assert_eq!(
                    pinned,
                    c.want_pinned.map(<[&str]>::to_vec),
                    "{}: PreFilterResult",
                    c.name
                );
            }
            let got = pl.filter(&c.pod, &store.nodes[0], &store);
            assert_eq!(got, c.want, "{}: Filter", c.name);
        }
    }

    fn preferred(terms: &[(i32, Vec<Requirement>)]) -> Affinity {
        Affinity {
            required: None,
            preferred: terms
                .iter()
                .map(|(w, r)| PreferredSchedulingTerm {
                    weight: *w,
                    preference: exprs(r.clone()),
                })
                .collect(),
        }
    }

    fn affinity1() -> Affinity {
        preferred(&[(2, vec![req("foo", Operator::In, &["bar"])])])
    }

    fn affinity2() -> Affinity {
        preferred(&[
            (2, vec![req("foo", Operator::In, &["bar"])]),
            (4, vec![req("key", Operator::In, &["value"])]),
            (
                5,
                vec![
                    req("foo", Operator::In, &["bar"]),
                    req("key", Operator::In, &["value"]),
                    req("az", Operator::In, &["az1"]),
                ],
            ),
        ])
    }

    const LABEL1: &[(&str, &str)] = &[("foo", "bar")];
    const LABEL2: &[(&str, &str)] = &[("key", "value")];
    const LABEL3: &[(&str, &str)] = &[("az", "az1")];
    const LABEL4: &[(&str, &str)] = &[("abc", "az11"), ("def", "az22")];
    const LABEL5: &[(&str, &str)] = &[("foo", "bar"), ("key", "value"), ("az", "az1")];

    fn run_score(
        pl: &mut NodeAffinity,
        p: &Pod,
        nodes: &[(&str, &[(&str, &str)])],
        run_pre_score: bool,
    ) -> Result<Vec<i64>, Status> {
        let store = snapshot(
            nodes.iter().map(|(n, l)| node(n).labels(l).obj()).collect(),
            vec![],
        );
        let ids: Vec<NodeId> = store.nodes.iter().map(|n| n.id).collect();
        if run_pre_score {
            let s = pl.pre_score(p, &ids, &store);
            if !s.is_success() {
                return Err(s);
            }
        }
        let mut scores: Vec<NodeScore> = store
            .nodes
            .iter()
            .map(|n| NodeScore {
                node: n.id,
                score: pl.score(p, n, &store).unwrap(),
            })
            .collect();
        pl.normalize_scores(p, &mut scores);
        Ok(scores.iter().map(|s| s.score).collect())
    }

    // node_affinity_test.go TestNodeAffinityPriority: every case of the upstream table.
    #[test]
    fn score_matches_upstream_table() {
        let three = [("node1", LABEL1), ("node2", LABEL2), ("node3", LABEL3)];
        // "all nodes are same priority as NodeAffinity is nil"
        let mut pl = NodeAffinity::default();
        assert_eq!(
            run_score(&mut pl, &pod("p").obj(), &three, false),
            Ok(vec![0, 0, 0])
        );
        // "Skip is returned in PreScore when NodeAffinity is nil"
        let got = run_score(&mut pl, &pod("p").obj(), &[("node1", LABEL1)], true);
        assert_eq!(got.unwrap_err().code, Code::Skip);
        // "PreScore returns error when an incoming Pod has a broken affinity"
        let broken = pod("p")
            .affinity(preferred(&[(
                2,
                vec![req("invalid key", Operator::In, &["bar"])],
            )]))
            .obj();
        let err = run_score(&mut pl, &broken, &[("node1", LABEL1)], true).unwrap_err();
        assert_eq!(err.code, Code::Error);
        assert!(
            err.reasons[0].starts_with("[0].matchExpressions[0].key: Invalid value: \"invalid key\": name part must consist of"),
            "{err:?}"
        );
        // "no node matches preferred scheduling requirements in NodeAffinity of pod so all nodes' priority is zero"
        let p1 = pod("p").affinity(affinity1()).obj();
        let got = run_score(
            &mut pl,
            &p1,
            &[("node1", LABEL4), ("node2", LABEL2), ("node3", LABEL3)],
            true,
        );
        assert_eq!(got, Ok(vec![0, 0, 0]));
        // "only node1 matches the preferred scheduling requirements of pod"
        assert_eq!(run_score(&mut pl, &p1, &three, true), Ok(vec![100, 0, 0]));
        // "all nodes matches the preferred scheduling requirements of pod but with different priorities "
        let p2 = pod("p").affinity(affinity2()).obj();
        let mixed = [("node1", LABEL1), ("node5", LABEL5), ("node2", LABEL2)];
        assert_eq!(run_score(&mut pl, &p2, &mixed, true), Ok(vec![18, 100, 36]));
        // "added affinity"
        let mut added = NodeAffinity::new(NodeAffinityArgs {
            added_affinity: Some(affinity1()),
        });
        let two = [("node1", LABEL1), ("node2", LABEL2)];
        assert_eq!(
            run_score(&mut added, &pod("p").obj(), &two, true),
            Ok(vec![100, 0])
        );
        // "added affinity and pod has default affinity"
        let mut added = NodeAffinity::new(NodeAffinityArgs {
            added_affinity: Some(preferred(&[(
                3,
                vec![req("key", Operator::In, &["value"])],
            )])),
        });
        let got = run_score(
            &mut added,
            &p1,
            &[("node1", LABEL1), ("node2", LABEL2), ("node3", LABEL5)],
            true,
        );
        assert_eq!(got, Ok(vec![40, 60, 100]));
        // "calculate the priorities correctly even if PreScore is not called"
        let mut pl = NodeAffinity::default();
        assert_eq!(
            run_score(&mut pl, &p2, &mixed, false),
            Ok(vec![18, 100, 36])
        );
    }

    #[test]
    fn requirement_validation_mirrors_new_requirement() {
        assert!(label_requirement_error("foo", Operator::In, &[]).is_some());
        assert!(label_requirement_error("foo", Operator::Exists, &["x".into()]).is_some());
        assert!(label_requirement_error("foo", Operator::Gt, &["x".into()]).is_some());
        assert!(label_requirement_error("foo", Operator::Gt, &["1".into(), "2".into()]).is_some());
        assert!(label_requirement_error("foo", Operator::Gt, &["0204".into()]).is_none());
        assert!(field_requirement_error(Operator::Exists, &[]).is_some());
        assert!(field_requirement_error(Operator::In, &["a".into(), "b".into()]).is_some());
        assert!(field_requirement_error(Operator::NotIn, &["a".into()]).is_none());
    }
}
