//! InterPodAffinity (upstream `pkg/scheduler/framework/plugins/interpodaffinity/`
//! `{plugin,filtering,scoring}.go`): required pod affinity and anti-affinity of the incoming
//! pod, the required anti-affinity of the pods already placed (symmetry), and the preferred
//! terms of both sides, plus `hardPodAffinityWeight` for existing pods' required affinity.
//!
//! Counting is by topology pair (`topologyKey`, the node's value for it), as upstream. When no
//! placed pod has (anti-)affinity and the incoming pod has none, PreFilter and PreScore skip
//! without looking at a single node: the store keeps the lists upstream's NodeInfo keeps
//! (`PodsWithAffinity`, `PodsWithRequiredAntiAffinity`).
//!
//! Namespaces: a term without `namespaces` and `namespaceSelector` selects its own pod's
//! namespace; `namespaceSelector: {}` selects every namespace; another selector is matched
//! against `Store::namespace_labels`. Upstream unrolls the incoming pod's selector over the
//! Namespace objects that exist; kubesim treats every namespace a pod lives in as existing,
//! with at least the `kubernetes.io/metadata.name` label the API server sets.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::api::{Labels, LabelSelector, NodeId, Operator, Pod, PodAffinityTerm, Requirement};
use crate::scheduler::config::ConfigError;
use crate::scheduler::framework::{
    ExtensionPoints, MAX_NODE_SCORE, NodeScore, Plugin, Snapshot, Status,
};
use crate::store::NodeInfo;

pub const NAME: &str = "InterPodAffinity";
/// Upstream `ErrReasonExistingAntiAffinityRulesNotMatch`.
pub const ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH: &str =
    "node(s) didn't satisfy existing pods anti-affinity rules";
/// Upstream `ErrReasonAffinityRulesNotMatch`.
pub const ERR_REASON_AFFINITY_RULES_NOT_MATCH: &str = "node(s) didn't match pod affinity rules";
/// Upstream `ErrReasonAntiAffinityRulesNotMatch`.
pub const ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH: &str =
    "node(s) didn't match pod anti-affinity rules";
/// The label the API server puts on every namespace.
pub const LABEL_METADATA_NAME: &str = "kubernetes.io/metadata.name";
/// Upstream `v1.DefaultHardPodAffinitySymmetricWeight`.
pub const DEFAULT_HARD_POD_AFFINITY_WEIGHT: i32 = 1;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ArgsRaw {
    api_version: Option<String>,
    kind: Option<String>,
    hard_pod_affinity_weight: Option<i32>,
    #[serde(default)]
    ignore_preferred_terms_of_existing_pods: bool,
}

/// Upstream `config.InterPodAffinityArgs`, defaulted (`SetDefaults_InterPodAffinityArgs`) and
/// validated (`ValidateInterPodAffinityArgs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterPodAffinityArgs {
    pub hard_pod_affinity_weight: i32,
    pub ignore_preferred_terms_of_existing_pods: bool,
}

impl Default for InterPodAffinityArgs {
    fn default() -> Self {
        InterPodAffinityArgs {
            hard_pod_affinity_weight: DEFAULT_HARD_POD_AFFINITY_WEIGHT,
            ignore_preferred_terms_of_existing_pods: false,
        }
    }
}

impl InterPodAffinityArgs {
    /// Decodes, defaults and validates; error paths are relative to `args`.
    pub fn parse(args: Option<&Value>) -> Result<Self, ConfigError> {
        let Some(value) = args else {
            return Ok(Self::default());
        };
        let raw: ArgsRaw = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            ConfigError::new(path, e.into_inner().to_string())
        })?;
        check_args_type(raw.api_version.as_deref(), raw.kind.as_deref(), "InterPodAffinityArgs")?;
        let weight = raw
            .hard_pod_affinity_weight
            .unwrap_or(DEFAULT_HARD_POD_AFFINITY_WEIGHT);
        if !(0..=100).contains(&weight) {
            return Err(ConfigError::new(
                "hardPodAffinityWeight",
                format!("Invalid value: {weight}: not in valid range [0, 100]"),
            ));
        }
        Ok(InterPodAffinityArgs {
            hard_pod_affinity_weight: weight,
            ignore_preferred_terms_of_existing_pods: raw.ignore_preferred_terms_of_existing_pods,
        })
    }
}

/// The optional `apiVersion` / `kind` of plugin arguments, as the other plugins check them.
pub(crate) fn check_args_type(
    api_version: Option<&str>,
    kind: Option<&str>,
    want: &str,
) -> Result<(), ConfigError> {
    const API_VERSION: &str = "kubescheduler.config.k8s.io/v1";
    if let Some(v) = api_version
        && v != API_VERSION
    {
        return Err(ConfigError::new(
            "apiVersion",
            format!("unsupported apiVersion {v:?}, expected {API_VERSION:?}"),
        ));
    }
    if let Some(k) = kind
        && k != want
    {
        return Err(ConfigError::new(
            "kind",
            format!("kind must be {want:?}, got {k:?}"),
        ));
    }
    Ok(())
}

/// apimachinery `Requirement.Matches` on one label value (`None`: the label is absent).
pub fn requirement_matches_value(r: &Requirement, value: Option<&str>) -> bool {
    let listed = |v: &str| r.values.binary_search_by(|x| x.as_str().cmp(v)).is_ok();
    match r.operator {
        Operator::In | Operator::Equals => value.is_some_and(listed),
        Operator::NotIn | Operator::NotEquals => value.is_none_or(|v| !listed(v)),
        Operator::Exists => value.is_some(),
        Operator::DoesNotExist => value.is_none(),
        Operator::Gt | Operator::Lt => {
            let (Some(v), Some(bound)) = (value, r.values.first()) else {
                return false;
            };
            match (v.parse::<i64>(), bound.parse::<i64>()) {
                (Ok(v), Ok(b)) if r.operator == Operator::Gt => v > b,
                (Ok(v), Ok(b)) => v < b,
                _ => false,
            }
        }
    }
}

/// Whether `selector` selects namespace `ns`, by the labels in `namespace_labels` (plus the
/// `kubernetes.io/metadata.name` label every namespace carries).
pub fn namespace_selected(
    selector: &LabelSelector,
    ns: &str,
    namespace_labels: &BTreeMap<String, Labels>,
) -> bool {
    let labels = namespace_labels.get(ns);
    selector.requirements.iter().all(|r| {
        let value = labels
            .and_then(|l| l.get(&r.key))
            .or_else(|| (r.key == LABEL_METADATA_NAME).then_some(ns));
        requirement_matches_value(r, value)
    })
}

/// Whether a term of a pod in namespace `owner_ns` covers namespace `ns` (upstream
/// `getNamespacesFromPodAffinityTerm` + `AffinityTerm.Matches`' namespace part).
pub fn term_covers_namespace(
    term: &PodAffinityTerm,
    owner_ns: &str,
    ns: &str,
    namespace_labels: &BTreeMap<String, Labels>,
) -> bool {
    if term.namespaces.is_empty() && term.namespace_selector.is_none() {
        return ns == owner_ns;
    }
    if term.namespaces.iter().any(|n| n == ns) {
        return true;
    }
    match &term.namespace_selector {
        None => false,
        // `{}` is `labels.Everything()`: every namespace.
        Some(sel) => {
            sel.requirements.is_empty() || namespace_selected(sel, ns, namespace_labels)
        }
    }
}

/// The label part of a term: its selector, plus `matchLabelKeys` (`key In (owner's value)`) and
/// `mismatchLabelKeys` (`key NotIn (owner's value)`) as the API server merges them into a
/// non-nil selector. A nil selector matches nothing.
pub fn term_selects_labels(term: &PodAffinityTerm, owner: &Labels, target: &Labels) -> bool {
    let Some(sel) = &term.label_selector else {
        return false;
    };
    sel.matches(target)
        && term
            .match_label_keys
            .iter()
            .all(|k| owner.get(k).is_none_or(|v| target.get(k) == Some(v)))
        && term
            .mismatch_label_keys
            .iter()
            .all(|k| owner.get(k).is_none_or(|v| target.get(k) != Some(v)))
}

/// Upstream `AffinityTerm.Matches`: does `owner`'s term select `target`?
pub fn term_matches(
    term: &PodAffinityTerm,
    owner: &Pod,
    target: &Pod,
    namespace_labels: &BTreeMap<String, Labels>,
) -> bool {
    term_covers_namespace(term, &owner.namespace, &target.namespace, namespace_labels)
        && term_selects_labels(term, &owner.labels, &target.labels)
}

/// Counts per topology pair: key → value → count (upstream `topologyToMatchedTermCount`).
#[derive(Debug, Default)]
struct PairCounts(BTreeMap<String, BTreeMap<String, i64>>);

impl PairCounts {
    fn add(&mut self, key: &str, value: &str, delta: i64) {
        let values = match self.0.get_mut(key) {
            Some(v) => v,
            None => self.0.entry(key.to_string()).or_default(),
        };
        match values.get_mut(value) {
            Some(c) => *c += delta,
            None => {
                values.insert(value.to_string(), delta);
            }
        }
    }

    fn get(&self, key: &str, value: &str) -> i64 {
        self.0
            .get(key)
            .and_then(|v| v.get(value))
            .copied()
            .unwrap_or(0)
    }

    /// Adds `delta` for `node`'s value of `key`, if the node has the key (upstream `update`).
    fn add_for_node(&mut self, node: &NodeInfo, key: &str, delta: i64) -> bool {
        match node.node.labels.get(key) {
            Some(v) => {
                self.add(key, v, delta);
                true
            }
            None => false,
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

fn required_terms(a: Option<&crate::api::PodAffinity>) -> &[PodAffinityTerm] {
    a.map_or(&[], |a| &a.required[..])
}

/// Upstream `podMatchesAllAffinityTerms`: false for no terms.
fn matches_all(
    terms: &[PodAffinityTerm],
    owner: &Pod,
    target: &Pod,
    ns_labels: &BTreeMap<String, Labels>,
) -> bool {
    !terms.is_empty() && terms.iter().all(|t| term_matches(t, owner, target, ns_labels))
}

/// The pods bound to nodes that exist, with their node.
fn placed<'s>(
    snapshot: &'s Snapshot,
    ids: impl IntoIterator<Item = &'s crate::api::PodId> + 's,
) -> impl Iterator<Item = (&'s Pod, &'s NodeInfo)> + 's {
    ids.into_iter().filter_map(|&id| {
        let record = snapshot.pod(id);
        let node = snapshot.node(record.node?);
        node.exists.then_some((&record.pod, node))
    })
}

#[derive(Debug, Default)]
pub struct InterPodAffinity {
    args: InterPodAffinityArgs,
    /// PreFilter state: upstream `existingAntiAffinityCounts`, `affinityCounts`,
    /// `antiAffinityCounts`, and whether the pod matches all its own affinity terms.
    existing_anti: PairCounts,
    affinity: PairCounts,
    anti_affinity: PairCounts,
    self_match: bool,
    /// PreScore state: upstream `topologyScore`.
    topology_score: PairCounts,
}

impl InterPodAffinity {
    pub fn new(args: InterPodAffinityArgs) -> Self {
        InterPodAffinity {
            args,
            ..Default::default()
        }
    }

    pub fn factory(args: Option<&Value>) -> Result<Box<dyn Plugin>, String> {
        let args = InterPodAffinityArgs::parse(args).map_err(|e| e.to_string())?;
        Ok(Box::new(InterPodAffinity::new(args)))
    }

    /// Upstream `processExistingPod`: what one placed pod contributes to the score of its
    /// node's topology pairs. Returns whether any pair was touched.
    fn process_existing_pod(&mut self, pod: &Pod, existing: &Pod, node: &NodeInfo, snapshot: &Snapshot) -> bool {
        if node.node.labels.is_empty() {
            return false;
        }
        let ns = &snapshot.namespace_labels;
        let mut touched = false;
        let mut process = |term: &PodAffinityTerm, weight: i64, owner: &Pod, target: &Pod| {
            if term_matches(term, owner, target, ns) {
                touched |= self.topology_score.add_for_node(node, &term.topology_key, weight);
            }
        };
        // The incoming pod's preferred terms against the existing pod.
        if let Some(a) = &pod.pod_affinity {
            for wt in &a.preferred {
                process(&wt.term, i64::from(wt.weight), pod, existing);
            }
        }
        if let Some(a) = &pod.pod_anti_affinity {
            for wt in &a.preferred {
                process(&wt.term, -i64::from(wt.weight), pod, existing);
            }
        }
        // The existing pod's terms against the incoming pod.
        if let Some(a) = &existing.pod_affinity {
            if self.args.hard_pod_affinity_weight > 0 {
                for t in &a.required {
                    process(t, i64::from(self.args.hard_pod_affinity_weight), existing, pod);
                }
            }
            for wt in &a.preferred {
                process(&wt.term, i64::from(wt.weight), existing, pod);
            }
        }
        if let Some(a) = &existing.pod_anti_affinity {
            for wt in &a.preferred {
                process(&wt.term, -i64::from(wt.weight), existing, pod);
            }
        }
        touched
    }
}

impl Plugin for InterPodAffinity {
    fn name(&self) -> &str {
        NAME
    }

    fn extension_points(&self) -> ExtensionPoints {
        ExtensionPoints::PRE_FILTER
            | ExtensionPoints::FILTER
            | ExtensionPoints::PRE_SCORE
            | ExtensionPoints::SCORE
    }

    fn pre_filter(&mut self, pod: &Pod, snapshot: &Snapshot) -> Status {
        self.existing_anti.clear();
        self.affinity.clear();
        self.anti_affinity.clear();
        let ns = &snapshot.namespace_labels;
        // getExistingAntiAffinityCounts: placed pods whose required anti-affinity selects us.
        for (existing, node) in placed(snapshot, snapshot.pods_with_required_anti_affinity()) {
            for t in required_terms(existing.pod_anti_affinity.as_ref()) {
                if term_matches(t, existing, pod, ns) {
                    self.existing_anti.add_for_node(node, &t.topology_key, 1);
                }
            }
        }
        // getIncomingAffinityAntiAffinityCounts: placed pods our required terms select.
        let affinity = required_terms(pod.pod_affinity.as_ref());
        let anti = required_terms(pod.pod_anti_affinity.as_ref());
        if !affinity.is_empty() || !anti.is_empty() {
            for node in snapshot.live_nodes() {
                for &id in &node.pods {
                    let existing = &snapshot.pod(id).pod;
                    if matches_all(affinity, pod, existing, ns) {
                        for t in affinity {
                            self.affinity.add_for_node(node, &t.topology_key, 1);
                        }
                    }
                    for t in anti {
                        if term_matches(t, pod, existing, ns) {
                            self.anti_affinity.add_for_node(node, &t.topology_key, 1);
                        }
                    }
                }
            }
        }
        if self.existing_anti.is_empty() && affinity.is_empty() && anti.is_empty() {
            return Status::skip();
        }
        self.self_match = matches_all(affinity, pod, pod, ns);
        Status::success()
    }

    fn filter(&self, pod: &Pod, node: &NodeInfo, _snapshot: &Snapshot) -> Status {
        let labels = &node.node.labels;
        // satisfyPodAffinity
        let mut pods_exist = true;
        for t in required_terms(pod.pod_affinity.as_ref()) {
            match labels.get(&t.topology_key) {
                Some(v) => {
                    if self.affinity.get(&t.topology_key, v) <= 0 {
                        pods_exist = false;
                    }
                }
                // "All topology labels must exist on the node."
                None => return Status::unresolvable(ERR_REASON_AFFINITY_RULES_NOT_MATCH),
            }
        }
        // "This pod may be the first pod in a series that have affinity to themselves."
        if !pods_exist && !(self.affinity.is_empty() && self.self_match) {
            return Status::unresolvable(ERR_REASON_AFFINITY_RULES_NOT_MATCH);
        }
        // satisfyPodAntiAffinity
        if !self.anti_affinity.is_empty() {
            for t in required_terms(pod.pod_anti_affinity.as_ref()) {
                if labels
                    .get(&t.topology_key)
                    .is_some_and(|v| self.anti_affinity.get(&t.topology_key, v) > 0)
                {
                    return Status::unschedulable(ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH);
                }
            }
        }
        // satisfyExistingPodsAntiAffinity: any of the node's labels counted (looked up from the
        // counted keys, which are few).
        for (key, values) in &self.existing_anti.0 {
            if labels
                .get(key)
                .and_then(|v| values.get(v))
                .is_some_and(|c| *c > 0)
            {
                return Status::unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH);
            }
        }
        Status::success()
    }

    fn pre_score(&mut self, pod: &Pod, _feasible: &[NodeId], snapshot: &Snapshot) -> Status {
        self.topology_score.clear();
        let has_constraints = pod.pod_affinity.as_ref().is_some_and(|a| !a.preferred.is_empty())
            || pod
                .pod_anti_affinity
                .as_ref()
                .is_some_and(|a| !a.preferred.is_empty());
        if self.args.ignore_preferred_terms_of_existing_pods && !has_constraints {
            return Status::skip();
        }
        let mut touched = false;
        if has_constraints {
            // "We need to process all the pods."
            for node in snapshot.live_nodes() {
                for &id in &node.pods {
                    touched |= self.process_existing_pod(pod, &snapshot.pod(id).pod, node, snapshot);
                }
            }
        } else {
            // "Unless the pod being scheduled has preferred affinity terms, we only need to
            // process nodes hosting pods with affinity."
            for (existing, node) in placed(snapshot, snapshot.pods_with_affinity()) {
                touched |= self.process_existing_pod(pod, existing, node, snapshot);
            }
        }
        if !touched {
            return Status::skip();
        }
        Status::success()
    }

    fn score(&self, _pod: &Pod, node: &NodeInfo, _snapshot: &Snapshot) -> Result<i64, Status> {
        let labels = &node.node.labels;
        Ok(self
            .topology_score
            .0
            .iter()
            .filter_map(|(key, values)| labels.get(key).and_then(|v| values.get(v)))
            .sum())
    }

    /// Upstream `NormalizeScore`: min-max scaled onto `[0, 100]`, as float, truncated.
    fn normalize_scores(&self, _pod: &Pod, scores: &mut [NodeScore]) -> Status {
        if self.topology_score.is_empty() {
            return Status::success();
        }
        let max = scores.iter().map(|s| s.score).max().unwrap_or(i64::MIN);
        let min = scores.iter().map(|s| s.score).min().unwrap_or(i64::MAX);
        let diff = max.saturating_sub(min);
        for s in scores {
            let f = if diff > 0 {
                MAX_NODE_SCORE as f64 * ((s.score - min) as f64 / diff as f64)
            } else {
                0.0
            };
            s.score = f as i64;
        }
        Status::success()
    }
}

#[cfg(test)]
mod tests;
