//! Upstream `pkg/controller/daemon/util/daemonset_util.go` (and the DaemonSet defaults of
//! `pkg/apis/apps/v1/defaults.go`), as pure functions.
//!
//! The model's `Pod` has no `spec.hostNetwork`; the functions that depend on it take it as an
//! argument.

use std::collections::BTreeMap;

use crate::api::node_affinity::OBJECT_NAME_FIELD;
use crate::api::{
    DaemonSetUpdateStrategy, Labels, NodeAffinity, NodeSelector, NodeSelectorTerm, Operator, Pod,
    Requirement, TaintEffect, Toleration, TolerationOperator,
};

pub use crate::api::taints::{
    TAINT_NODE_DISK_PRESSURE, TAINT_NODE_MEMORY_PRESSURE, TAINT_NODE_NETWORK_UNAVAILABLE,
    TAINT_NODE_NOT_READY, TAINT_NODE_PID_PRESSURE, TAINT_NODE_UNREACHABLE,
    TAINT_NODE_UNSCHEDULABLE,
};

/// Upstream `apps.DefaultDaemonSetUniqueLabelKey` (= `apps.ControllerRevisionHashLabelKey`): the
/// label carrying the hash of the ControllerRevision a daemon pod was created from.
pub const DEFAULT_DAEMON_SET_UNIQUE_LABEL_KEY: &str = "controller-revision-hash";
/// Upstream `extensions.DaemonSetTemplateGenerationKey`: the pre-hash label carrying the
/// template generation, still honoured for pods created by old controllers.
pub const DAEMON_SET_TEMPLATE_GENERATION_KEY: &str = "pod-template-generation";
/// Upstream `apps.DeprecatedTemplateGeneration`: the DaemonSet annotation holding it.
pub const DEPRECATED_TEMPLATE_GENERATION: &str = "deprecated.daemonset.template.generation";

/// Upstream `SetDefaults_DaemonSet`'s `revisionHistoryLimit` default.
pub const DEFAULT_DAEMON_SET_REVISION_HISTORY_LIMIT: i32 = 10;

/// Upstream `Toleration.MatchToleration`: same key, effect, operator and value (the toleration
/// period is not compared).
fn match_toleration(a: &Toleration, b: &Toleration) -> bool {
    a.key == b.key && a.effect == b.effect && a.operator == b.operator && a.value == b.value
}

/// Upstream `v1helper.AddOrUpdateTolerationInPodSpec`: every toleration that matches
/// `toleration` is replaced by it, or it is appended when none matches. When a matching one is
/// already identical nothing changes at all (upstream returns before writing the new list, even
/// if an earlier match had been replaced in it). Returns whether the list changed.
pub fn add_or_update_toleration(
    tolerations: &mut Vec<Toleration>,
    toleration: &Toleration,
) -> bool {
    let mut new_tolerations = Vec::with_capacity(tolerations.len() + 1);
    let mut updated = false;
    for existing in tolerations.iter() {
        if match_toleration(toleration, existing) {
            if toleration == existing {
                return false;
            }
            new_tolerations.push(toleration.clone());
            updated = true;
            continue;
        }
        new_tolerations.push(existing.clone());
    }
    if !updated {
        new_tolerations.push(toleration.clone());
    }
    *tolerations = new_tolerations;
    true
}

fn exists_toleration(key: &str, effect: TaintEffect) -> Toleration {
    Toleration {
        key: key.to_string(),
        operator: TolerationOperator::Exists,
        value: String::new(),
        effect: Some(effect),
        toleration_seconds: None,
    }
}

/// Upstream `AddOrUpdateDaemonPodTolerations`: daemon pods tolerate, without a time limit, the
/// not-ready and unreachable NoExecute taints (so taint-based eviction never removes them), and
/// the disk-pressure, memory-pressure, pid-pressure and unschedulable NoSchedule taints
/// (TaintNodesByCondition); network-unavailable NoSchedule only for `hostNetwork` pods.
pub fn add_or_update_daemon_pod_tolerations(tolerations: &mut Vec<Toleration>, host_network: bool) {
    let mut wanted = vec![
        exists_toleration(TAINT_NODE_NOT_READY, TaintEffect::NoExecute),
        exists_toleration(TAINT_NODE_UNREACHABLE, TaintEffect::NoExecute),
        exists_toleration(TAINT_NODE_DISK_PRESSURE, TaintEffect::NoSchedule),
        exists_toleration(TAINT_NODE_MEMORY_PRESSURE, TaintEffect::NoSchedule),
        exists_toleration(TAINT_NODE_PID_PRESSURE, TaintEffect::NoSchedule),
        exists_toleration(TAINT_NODE_UNSCHEDULABLE, TaintEffect::NoSchedule),
    ];
    if host_network {
        wanted.push(exists_toleration(
            TAINT_NODE_NETWORK_UNAVAILABLE,
            TaintEffect::NoSchedule,
        ));
    }
    for t in &wanted {
        add_or_update_toleration(tolerations, t);
    }
}

/// Upstream `GetTemplateGeneration`: the DaemonSet's deprecated template-generation annotation,
/// `Ok(None)` when absent, `Err` when it is not a base-10 `int64`.
pub fn get_template_generation(
    annotations: &BTreeMap<String, String>,
) -> Result<Option<i64>, String> {
    match annotations.get(DEPRECATED_TEMPLATE_GENERATION) {
        None => Ok(None),
        Some(text) => text
            .parse::<i64>()
            .map(Some)
            .map_err(|e| format!("strconv.ParseInt: parsing {text:?}: {e}")),
    }
}

/// Upstream `CreatePodTemplate`: the template with the daemon tolerations added, the
/// `pod-template-generation` label when a generation is known and the
/// `controller-revision-hash` label when `hash` is not empty.
pub fn create_pod_template(
    template: &Pod,
    generation: Option<i64>,
    hash: &str,
    host_network: bool,
) -> Pod {
    let mut pod = template.clone();
    pod.tolerations
        .update(|tolerations| add_or_update_daemon_pod_tolerations(tolerations, host_network));
    if let Some(generation) = generation {
        pod.labels
            .insert(DAEMON_SET_TEMPLATE_GENERATION_KEY, generation.to_string());
    }
    if !hash.is_empty() {
        pod.labels.insert(DEFAULT_DAEMON_SET_UNIQUE_LABEL_KEY, hash);
    }
    pod
}

/// Upstream `SurgeCount`: 0 unless the strategy is RollingUpdate; otherwise `maxSurge` scaled
/// against `number_to_schedule`, percentages rounded up.
pub fn surge_count(strategy: &DaemonSetUpdateStrategy, number_to_schedule: i32) -> i32 {
    match strategy {
        DaemonSetUpdateStrategy::RollingUpdate { max_surge, .. } => {
            max_surge.scaled_value(number_to_schedule, true)
        }
        DaemonSetUpdateStrategy::OnDelete => 0,
    }
}

/// Upstream `UnavailableCount`: 0 unless the strategy is RollingUpdate; otherwise
/// `maxUnavailable` scaled against `number_to_schedule`, percentages rounded up.
pub fn unavailable_count(strategy: &DaemonSetUpdateStrategy, number_to_schedule: i32) -> i32 {
    match strategy {
        DaemonSetUpdateStrategy::RollingUpdate {
            max_unavailable, ..
        } => max_unavailable.scaled_value(number_to_schedule, true),
        DaemonSetUpdateStrategy::OnDelete => 0,
    }
}

/// Upstream `AllowsSurge`: whether more than one pod of the DaemonSet may run on a node.
pub fn allows_surge(strategy: &DaemonSetUpdateStrategy) -> bool {
    surge_count(strategy, 1) > 0
}

/// Upstream `IsPodUpdated`: the pod's `controller-revision-hash` label equals a non-empty `hash`,
/// or its `pod-template-generation` label equals the DaemonSet's template generation.
pub fn is_pod_updated(
    pod_labels: &Labels,
    hash: &str,
    ds_template_generation: Option<i64>,
) -> bool {
    is_updated_by_labels(
        pod_labels.get(DEFAULT_DAEMON_SET_UNIQUE_LABEL_KEY),
        pod_labels.get(DAEMON_SET_TEMPLATE_GENERATION_KEY),
        hash,
        ds_template_generation,
    )
}

/// [`is_pod_updated`] given the pod's two labels (`None` when absent).
pub fn is_updated_by_labels(
    revision_hash: Option<&str>,
    template_generation: Option<&str>,
    hash: &str,
    ds_template_generation: Option<i64>,
) -> bool {
    let hash_matches = !hash.is_empty() && revision_hash.unwrap_or("") == hash;
    hash_matches
        || ds_template_generation
            .is_some_and(|g| is_decimal_of(template_generation.unwrap_or(""), g))
}

/// `text == strconv.FormatInt(n, 10)`, without formatting `n` (this runs for every pod of
/// every sync).
fn is_decimal_of(text: &str, n: i64) -> bool {
    let digits = match text.strip_prefix('-') {
        Some(rest) if n < 0 => rest,
        Some(_) => return false,
        None if n < 0 => return false,
        None => text,
    };
    let bytes = digits.as_bytes();
    // The canonical form has no leading zero, except "0" itself.
    if bytes.is_empty() || (bytes[0] == b'0' && bytes.len() > 1) || (n < 0 && digits == "0") {
        return false;
    }
    let mut value = n.unsigned_abs();
    for &b in bytes.iter().rev() {
        if !b.is_ascii_digit() || u64::from(b - b'0') != value % 10 {
            return false;
        }
        value /= 10;
    }
    value == 0
}

/// Upstream `ReplaceDaemonSetPodNodeNameNodeAffinity`: the required node affinity becomes the
/// single term `matchFields: metadata.name In [node_name]`, replacing any required terms; the
/// preferred terms are kept. This is how a daemon pod is pinned to its node while the default
/// scheduler binds it.
pub fn replace_daemon_set_pod_node_name_node_affinity(
    affinity: Option<NodeAffinity>,
    node_name: &str,
) -> NodeAffinity {
    let term = NodeSelectorTerm {
        match_expressions: Vec::new(),
        match_fields: vec![Requirement::new(
            OBJECT_NAME_FIELD,
            Operator::In,
            vec![node_name.to_string()],
        )],
    };
    let mut affinity = affinity.unwrap_or_default();
    affinity.required = Some(NodeSelector { terms: vec![term] });
    affinity
}

/// Upstream `GetTargetNodeName`: `spec.nodeName` when set; otherwise the single value of the
/// first `metadata.name In` field requirement of the required node affinity. `Err` when there is
/// none, or when that requirement names more than one node.
///
/// The model keeps `In` values deduplicated, so a requirement repeating one node name counts as
/// naming one node (upstream would count the duplicates).
pub fn get_target_node_name(pod: &Pod) -> Result<String, String> {
    target_node_name(pod).map(str::to_string)
}

/// [`get_target_node_name`], borrowing the name from the pod.
pub fn target_node_name(pod: &Pod) -> Result<&str, String> {
    if let Some(name) = pod.node_name.as_deref().filter(|n| !n.is_empty()) {
        return Ok(name);
    }
    let key = || pod.key();
    let Some(required) = pod.node_affinity.as_ref().and_then(|a| a.required.as_ref()) else {
        return Err(format!(
            "no spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution for pod {}",
            key()
        ));
    };
    if required.terms.is_empty() {
        return Err(format!(
            "no nodeSelectorTerms in requiredDuringSchedulingIgnoredDuringExecution of pod {}",
            key()
        ));
    }
    for term in &required.terms {
        for r in &term.match_fields {
            if r.key == OBJECT_NAME_FIELD && r.operator == Operator::In {
                return match r.values.as_slice() {
                    [only] => Ok(only.as_str()),
                    _ => Err(format!(
                        "the matchFields value of '{OBJECT_NAME_FIELD}' is not unique for pod {}",
                        key()
                    )),
                };
            }
        }
    }
    Err(format!("no node name found for pod {}", key()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::IntOrPercent;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().copied().collect()
    }

    fn name_in(values: &[&str]) -> Requirement {
        Requirement::new(
            OBJECT_NAME_FIELD,
            Operator::In,
            values.iter().map(|v| v.to_string()).collect(),
        )
    }

    fn required(terms: Vec<NodeSelectorTerm>) -> NodeAffinity {
        NodeAffinity {
            required: Some(NodeSelector { terms }),
            preferred: Vec::new(),
        }
    }

    fn fields(reqs: Vec<Requirement>) -> NodeSelectorTerm {
        NodeSelectorTerm {
            match_expressions: Vec::new(),
            match_fields: reqs,
        }
    }

    fn expressions(reqs: Vec<Requirement>) -> NodeSelectorTerm {
        NodeSelectorTerm {
            match_expressions: reqs,
            match_fields: Vec::new(),
        }
    }

    #[test]
    fn daemon_tolerations_are_upstreams_list() {
        // upstream pkg/controller/daemon/util/daemonset_util.go AddOrUpdateDaemonPodTolerations
        let mut t = Vec::new();
        add_or_update_daemon_pod_tolerations(&mut t, false);
        let got: Vec<(&str, Option<TaintEffect>, Option<i64>)> = t
            .iter()
            .map(|t| (t.key.as_str(), t.effect, t.toleration_seconds))
            .collect();
        assert_eq!(
            got,
            vec![
                (TAINT_NODE_NOT_READY, Some(TaintEffect::NoExecute), None),
                (TAINT_NODE_UNREACHABLE, Some(TaintEffect::NoExecute), None),
                (
                    TAINT_NODE_DISK_PRESSURE,
                    Some(TaintEffect::NoSchedule),
                    None
                ),
                (
                    TAINT_NODE_MEMORY_PRESSURE,
                    Some(TaintEffect::NoSchedule),
                    None
                ),
                (TAINT_NODE_PID_PRESSURE, Some(TaintEffect::NoSchedule), None),
                (
                    TAINT_NODE_UNSCHEDULABLE,
                    Some(TaintEffect::NoSchedule),
                    None
                ),
            ]
        );
        assert!(t.iter().all(|t| t.operator == TolerationOperator::Exists));

        let mut host = Vec::new();
        add_or_update_daemon_pod_tolerations(&mut host, true);
        assert_eq!(host.len(), 7);
        assert_eq!(host[6].key, TAINT_NODE_NETWORK_UNAVAILABLE);
        assert_eq!(host[6].effect, Some(TaintEffect::NoSchedule));

        // Idempotent: a second pass changes nothing.
        let before = host.clone();
        add_or_update_daemon_pod_tolerations(&mut host, true);
        assert_eq!(host, before);
    }

    #[test]
    fn a_bounded_not_ready_toleration_is_replaced_by_the_unbounded_one() {
        // upstream AddOrUpdateTolerationInPodSpec: a match (same key, operator, value, effect)
        // that differs only in tolerationSeconds is replaced in place.
        let mut t = vec![
            Toleration {
                key: "dedicated".into(),
                operator: TolerationOperator::Equal,
                value: "user1".into(),
                effect: Some(TaintEffect::NoSchedule),
                toleration_seconds: None,
            },
            Toleration {
                toleration_seconds: Some(300),
                ..exists_toleration(TAINT_NODE_NOT_READY, TaintEffect::NoExecute)
            },
        ];
        add_or_update_daemon_pod_tolerations(&mut t, false);
        assert_eq!(t.len(), 7);
        assert_eq!(t[0].key, "dedicated");
        assert_eq!(t[1].key, TAINT_NODE_NOT_READY);
        assert_eq!(t[1].toleration_seconds, None);
        // A toleration with another operator does not match and is kept beside the new one.
        let mut eq = vec![Toleration {
            key: TAINT_NODE_UNREACHABLE.into(),
            operator: TolerationOperator::Equal,
            value: String::new(),
            effect: Some(TaintEffect::NoExecute),
            toleration_seconds: Some(10),
        }];
        add_or_update_daemon_pod_tolerations(&mut eq, false);
        assert_eq!(eq.len(), 7);
        assert_eq!(eq[0].toleration_seconds, Some(10));
    }

    #[test]
    fn add_or_update_toleration_returns_early_on_an_identical_match() {
        // upstream AddOrUpdateTolerationInPodSpec returns false before writing anything when a
        // matching toleration is deep-equal, even after replacing an earlier match.
        let new = exists_toleration("k", TaintEffect::NoSchedule);
        let mut t = vec![
            Toleration {
                toleration_seconds: Some(5),
                ..new.clone()
            },
            new.clone(),
        ];
        let before = t.clone();
        assert!(!add_or_update_toleration(&mut t, &new));
        assert_eq!(t, before);
    }

    #[test]
    fn template_generation_label_compares_as_format_int() {
        // `IsPodUpdated` compares the label with `fmt.Sprint(dsTemplateGeneration)`.
        for (text, n, want) in [
            ("0", 0, true),
            ("7", 7, true),
            ("12345", 12345, true),
            ("-3", -3, true),
            ("9223372036854775807", i64::MAX, true),
            ("-9223372036854775808", i64::MIN, true),
            ("", 0, false),
            ("07", 7, false),
            ("-0", 0, false),
            ("+7", 7, false),
            ("7", -7, false),
            ("-7", 7, false),
            ("17", 7, false),
            ("7 ", 7, false),
            ("70", 7, false),
        ] {
            assert_eq!(is_decimal_of(text, n), want, "{text:?} vs {n}");
            assert_eq!(
                is_decimal_of(text, n),
                text == n.to_string(),
                "{text:?} vs {n}"
            );
        }
    }

    #[test]
    fn is_pod_updated_table() {
        // upstream pkg/controller/daemon/util/daemonset_util_test.go TestIsPodUpdated (the
        // table with `templateGeneration + 1` as the mismatching generation).
        let generation = 12345_i64;
        let hash = "55555";
        let with_hash = labels(&[
            (DAEMON_SET_TEMPLATE_GENERATION_KEY, "12345"),
            (DEFAULT_DAEMON_SET_UNIQUE_LABEL_KEY, hash),
        ]);
        let no_hash = labels(&[(DAEMON_SET_TEMPLATE_GENERATION_KEY, "12345")]);
        let hash123 = format!("{hash}123");
        let cases: Vec<(&str, i64, &Labels, &str, bool)> = vec![
            (
                "templateGeneration and hash both match",
                generation,
                &with_hash,
                hash,
                true,
            ),
            (
                "templateGeneration matches, hash doesn't",
                generation,
                &with_hash,
                &hash123,
                true,
            ),
            (
                "templateGeneration matches, no hash label, has hash",
                generation,
                &no_hash,
                hash,
                true,
            ),
            (
                "templateGeneration matches, no hash label, no hash",
                generation,
                &no_hash,
                "",
                true,
            ),
            (
                "templateGeneration matches, has hash label, no hash",
                generation,
                &with_hash,
                "",
                true,
            ),
            (
                "templateGeneration doesn't match, hash does",
                generation + 1,
                &with_hash,
                hash,
                true,
            ),
            (
                "templateGeneration and hash don't match",
                generation + 1,
                &with_hash,
                &hash123,
                false,
            ),
        ];
        for (name, g, l, h, want) in cases {
            assert_eq!(is_pod_updated(l, h, Some(g)), want, "{name}");
        }
        let empty = Labels::new();
        assert!(
            !is_pod_updated(&empty, "", Some(generation)),
            "empty labels, no hash"
        );
        assert!(
            !is_pod_updated(&empty, hash, Some(generation)),
            "empty labels"
        );
        // Without a template generation only the hash counts.
        assert!(!is_pod_updated(&no_hash, hash, None));
    }

    #[test]
    fn create_pod_template_labels() {
        // upstream daemonset_util_test.go TestCreatePodTemplate: {gen 1, "", no hash label},
        // {gen 2, "3242341807", hash label}.
        for (generation, hash, expect_hash) in [(1_i64, "", false), (2, "3242341807", true)] {
            let pod = create_pod_template(&Pod::default(), Some(generation), hash, false);
            assert_eq!(
                pod.labels.get(DAEMON_SET_TEMPLATE_GENERATION_KEY),
                Some(generation.to_string().as_str())
            );
            assert_eq!(
                pod.labels.get(DEFAULT_DAEMON_SET_UNIQUE_LABEL_KEY),
                expect_hash.then_some(hash)
            );
            assert_eq!(pod.tolerations.len(), 6);
        }
    }

    #[test]
    fn replace_node_name_node_affinity_table() {
        // upstream daemonset_util_test.go TestReplaceDaemonSetPodNodeNameNodeAffinity
        let want = required(vec![fields(vec![name_in(&["host_1"])])]);
        let hostname_in = Requirement::new(
            crate::api::LABEL_HOSTNAME,
            Operator::In,
            vec!["host_1".into()],
        );
        let preferred = vec![crate::api::PreferredSchedulingTerm {
            weight: 0,
            preference: expressions(vec![hostname_in.clone()]),
        }];
        let cases: Vec<(Option<NodeAffinity>, NodeAffinity)> = vec![
            (None, want.clone()),
            (
                Some(required(vec![expressions(vec![hostname_in.clone()])])),
                want.clone(),
            ),
            (
                Some(NodeAffinity {
                    required: None,
                    preferred: preferred.clone(),
                }),
                NodeAffinity {
                    required: want.required.clone(),
                    preferred,
                },
            ),
            (
                Some(required(vec![fields(vec![name_in(&["host_1", "host_2"])])])),
                want.clone(),
            ),
            (None, want.clone()),
            (
                Some(required(vec![
                    expressions(vec![Requirement::new(
                        "hostname",
                        Operator::In,
                        vec!["host_1".into()],
                    )]),
                    fields(vec![name_in(&["host_2"])]),
                ])),
                want.clone(),
            ),
            (
                Some(required(vec![fields(vec![Requirement::new(
                    OBJECT_NAME_FIELD,
                    Operator::NotIn,
                    vec!["host_2".into()],
                )])])),
                want.clone(),
            ),
            (
                Some(required(vec![fields(vec![Requirement::new(
                    "metadata.foo",
                    Operator::In,
                    vec!["bar".into()],
                )])])),
                want.clone(),
            ),
        ];
        for (i, (affinity, expected)) in cases.into_iter().enumerate() {
            assert_eq!(
                replace_daemon_set_pod_node_name_node_affinity(affinity, "host_1"),
                expected,
                "case {i}"
            );
        }
    }

    #[test]
    fn get_target_node_name_table() {
        // upstream daemonset_util_test.go TestGetTargetNodeName
        let pod = |name: &str, node_name: Option<&str>, affinity: Option<NodeAffinity>| Pod {
            name: name.into(),
            node_name: node_name.map(str::to_string),
            node_affinity: affinity.map(Box::new),
            ..Pod::default()
        };
        assert_eq!(
            get_target_node_name(&pod("pod1", Some("node-1"), None)),
            Ok("node-1".into())
        );
        assert_eq!(
            get_target_node_name(&pod(
                "pod2",
                None,
                Some(required(vec![fields(vec![name_in(&["node-1"])])]))
            )),
            Ok("node-1".into())
        );
        assert!(
            get_target_node_name(&pod(
                "pod3",
                None,
                Some(required(vec![fields(vec![name_in(&["node-1", "node-2"])])]))
            ))
            .is_err()
        );
        assert!(get_target_node_name(&pod("pod4", None, None)).is_err());
        // Not upstream cases: an empty term list, and terms without a name field.
        assert!(get_target_node_name(&pod("p", None, Some(required(Vec::new())))).is_err());
        assert!(
            get_target_node_name(&pod(
                "p",
                Some(""),
                Some(required(vec![expressions(vec![Requirement::new(
                    "a",
                    Operator::Exists,
                    Vec::new()
                )])]))
            ))
            .is_err()
        );
    }

    #[test]
    fn surge_and_unavailable_counts_round_up() {
        // upstream SurgeCount / UnavailableCount via intstr.GetScaledValueFromIntOrPercent(_, n,
        // true); OnDelete always 0.
        let s = DaemonSetUpdateStrategy::RollingUpdate {
            max_unavailable: IntOrPercent::Percent(30),
            max_surge: IntOrPercent::Percent(50),
        };
        assert_eq!(unavailable_count(&s, 5), 2);
        assert_eq!(surge_count(&s, 5), 3);
        assert_eq!(surge_count(&s, 0), 0);
        assert!(allows_surge(&s));
        assert!(!allows_surge(&DaemonSetUpdateStrategy::default()));
        assert_eq!(unavailable_count(&DaemonSetUpdateStrategy::default(), 7), 1);
        assert_eq!(unavailable_count(&DaemonSetUpdateStrategy::OnDelete, 7), 0);
        assert_eq!(surge_count(&DaemonSetUpdateStrategy::OnDelete, 7), 0);
        // A 1% surge still allows surging: it rounds up to 1 pod out of 1.
        assert!(allows_surge(&DaemonSetUpdateStrategy::RollingUpdate {
            max_unavailable: IntOrPercent::Int(0),
            max_surge: IntOrPercent::Percent(1),
        }));
    }

    #[test]
    fn template_generation_annotation() {
        let mut a = BTreeMap::new();
        assert_eq!(get_template_generation(&a), Ok(None));
        a.insert(DEPRECATED_TEMPLATE_GENERATION.to_string(), "7".to_string());
        assert_eq!(get_template_generation(&a), Ok(Some(7)));
        a.insert(DEPRECATED_TEMPLATE_GENERATION.to_string(), "x".to_string());
        assert!(get_template_generation(&a).is_err());
    }
}
