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
//! PreFilter extensions (upstream `AddPod` / `RemovePod`, `preFilterState.updateWithPod`):
//! preemption's dry run and the filters with nominated pods change an [`AffinityState`] (changes
//! to the three PreFilter maps), and Filter reads the kept counts plus those changes. As
//! upstream, they do not run when PreFilter returned Skip (no placed pod with required
//! anti-affinity and no required terms on the incoming pod), so a nominated pod's own required
//! anti-affinity is then not seen.
//!
//! Namespaces: a term without `namespaces` and `namespaceSelector` selects its own pod's
//! namespace; `namespaceSelector: {}` selects every namespace; another selector is matched
//! against `Store::namespace_labels`. Upstream unrolls the incoming pod's selector over the
//! Namespace objects that exist; kubesim treats every namespace a pod lives in as existing,
//! with at least the `kubernetes.io/metadata.name` label the API server sets.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use crate::api::{
    LabelSelector, Labels, NodeId, Operator, Pod, PodAffinityTerm, PodId, Requirement,
    WeightedPodAffinityTerm,
};
use crate::scheduler::config::ConfigError;
use crate::scheduler::framework::{
    ExtensionPoints, MAX_NODE_SCORE, NodeScore, Plugin, Snapshot, StateData, Status,
    downcast_state, downcast_state_mut,
};
use crate::store::{NodeInfo, PlacementKind};

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
        let raw: ArgsRaw = crate::scheduler::config::decode(value)?;
        check_args_type(
            raw.api_version.as_deref(),
            raw.kind.as_deref(),
            "InterPodAffinityArgs",
        )?;
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
        Some(sel) => sel.requirements.is_empty() || namespace_selected(sel, ns, namespace_labels),
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
    matches_who(term, Who::from(owner), Who::from(target), namespace_labels)
}

/// A pod as a term sees it: its namespace and labels.
#[derive(Clone, Copy, Debug)]
struct Who<'a> {
    namespace: &'a str,
    labels: &'a Labels,
}

impl<'a> From<&'a Pod> for Who<'a> {
    fn from(p: &'a Pod) -> Self {
        Who {
            namespace: &p.namespace,
            labels: &p.labels,
        }
    }
}

fn matches_who(
    term: &PodAffinityTerm,
    owner: Who<'_>,
    target: Who<'_>,
    namespace_labels: &BTreeMap<String, Labels>,
) -> bool {
    term_covers_namespace(term, owner.namespace, target.namespace, namespace_labels)
        && term_selects_labels(term, owner.labels, target.labels)
}

/// Counts per topology pair: key → value → count (upstream `topologyToMatchedTermCount`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
        // Counts only go down when a pod leaves; a pair back at zero is gone, as upstream's
        // `update` deletes it (emptiness is part of the filter's logic).
        if values.get(value) == Some(&0) {
            values.remove(value);
            if values.is_empty() {
                self.0.remove(key);
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

    /// The number of pairs (none is zero).
    fn len(&self) -> usize {
        self.0.values().map(BTreeMap::len).sum()
    }
}

/// Kept counts as a dry run sees them: the PreFilter counts plus the changes the PreFilter
/// extensions made (upstream changes a cloned map; the sum is that map).
#[derive(Clone, Copy, Debug)]
struct CountsView<'a> {
    base: &'a PairCounts,
    delta: Option<&'a PairCounts>,
}

impl CountsView<'_> {
    fn get(&self, key: &str, value: &str) -> i64 {
        self.base.get(key, value) + self.delta.map_or(0, |d| d.get(key, value))
    }

    /// `len(map) == 0`: no pair left with a non-zero count.
    fn is_empty(&self) -> bool {
        let Some(delta) = self.delta.filter(|d| !d.is_empty()) else {
            return self.base.is_empty();
        };
        let mut len = self.base.len();
        for (key, values) in &delta.0 {
            for (value, d) in values {
                match self.base.get(key, value) {
                    0 => len += 1,
                    b if b + d == 0 => len -= 1,
                    _ => {}
                }
            }
        }
        len == 0
    }

    /// Whether some label of the node names a pair counted above zero (upstream
    /// `satisfyExistingPodsAntiAffinity` walks the node's labels; the counted keys are fewer).
    fn any_positive(&self, labels: &Labels) -> bool {
        let keys = self
            .base
            .0
            .keys()
            .chain(self.delta.into_iter().flat_map(|d| d.0.keys()));
        for key in keys {
            if labels.get(key).is_some_and(|v| self.get(key, v) > 0) {
                return true;
            }
        }
        false
    }
}

/// InterPodAffinity's PreFilter state as the PreFilter extensions change it (upstream
/// `preFilterState` after `Clone`): changes to `existingAntiAffinityCounts`, `affinityCounts`
/// and `antiAffinityCounts`, over the kept counts of the cycle.
#[derive(Clone, Debug)]
pub(crate) struct AffinityState {
    generation: u64,
    deltas: [PairCounts; 3],
}

impl StateData for AffinityState {
    fn clone_data(&self) -> Box<dyn StateData> {
        Box::new(self.clone())
    }
}

fn required_terms(a: Option<&crate::api::PodAffinity>) -> &[PodAffinityTerm] {
    a.map_or(&[], |a| &a.required[..])
}

/// Upstream `podMatchesAllAffinityTerms`: false for no terms.
fn matches_all(
    terms: &[PodAffinityTerm],
    owner: Who<'_>,
    target: Who<'_>,
    ns_labels: &BTreeMap<String, Labels>,
) -> bool {
    !terms.is_empty()
        && terms
            .iter()
            .all(|t| matches_who(t, owner, target, ns_labels))
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

/// What a kept set of counts is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// PreFilter: placed pods selected by the incoming pod's required affinity terms (all of
    /// them, `counts[0]`) and by each of its required anti-affinity terms (`counts[1]`);
    /// upstream `getIncomingAffinityAntiAffinityCounts`.
    IncomingRequired,
    /// PreFilter: placed pods' required anti-affinity terms that select the incoming pod;
    /// upstream `getExistingAntiAffinityCounts`.
    ExistingAnti,
    /// PreScore: upstream `topologyScore` (`counts[0]`).
    Preferred,
}

/// Everything one kind of counts depends on besides the placed pods.
#[derive(Debug)]
struct CacheKey {
    kind: Kind,
    namespace: String,
    labels: Labels,
    /// The incoming pod's Namespace labels, which placed pods' `namespaceSelector`s read.
    ns_labels: Option<Labels>,
    required: Vec<PodAffinityTerm>,
    required_anti: Vec<PodAffinityTerm>,
    preferred: Vec<WeightedPodAffinityTerm>,
    preferred_anti: Vec<WeightedPodAffinityTerm>,
}

fn preferred_terms(a: Option<&crate::api::PodAffinity>) -> &[WeightedPodAffinityTerm] {
    a.map_or(&[], |a| &a.preferred[..])
}

impl CacheKey {
    fn new(kind: Kind, pod: &Pod, ns_labels: Option<&Labels>) -> Self {
        let (required, required_anti, preferred, preferred_anti) = match kind {
            Kind::IncomingRequired => (
                required_terms(pod.pod_affinity.as_deref()).to_vec(),
                required_terms(pod.pod_anti_affinity.as_deref()).to_vec(),
                Vec::new(),
                Vec::new(),
            ),
            Kind::ExistingAnti => (Vec::new(), Vec::new(), Vec::new(), Vec::new()),
            Kind::Preferred => (
                Vec::new(),
                Vec::new(),
                preferred_terms(pod.pod_affinity.as_deref()).to_vec(),
                preferred_terms(pod.pod_anti_affinity.as_deref()).to_vec(),
            ),
        };
        CacheKey {
            kind,
            namespace: pod.namespace.clone(),
            labels: pod.labels.clone(),
            ns_labels: ns_labels.cloned(),
            required,
            required_anti,
            preferred,
            preferred_anti,
        }
    }

    fn same(&self, kind: Kind, pod: &Pod, ns_labels: Option<&Labels>) -> bool {
        self.kind == kind
            && self.namespace == pod.namespace
            && self.labels == pod.labels
            && self.ns_labels.as_ref() == ns_labels
            && match kind {
                Kind::IncomingRequired => {
                    self.required == required_terms(pod.pod_affinity.as_deref())
                        && self.required_anti == required_terms(pod.pod_anti_affinity.as_deref())
                }
                Kind::ExistingAnti => true,
                Kind::Preferred => {
                    self.preferred == preferred_terms(pod.pod_affinity.as_deref())
                        && self.preferred_anti == preferred_terms(pod.pod_anti_affinity.as_deref())
                }
            }
    }

    /// Counts that read other namespaces' labels (a non-empty `namespaceSelector` on the
    /// incoming pod's terms) are not kept: the store has no generation for namespace labels.
    fn reusable(&self) -> bool {
        let plain = |t: &PodAffinityTerm| {
            t.namespace_selector
                .as_ref()
                .is_none_or(|s| s.requirements.is_empty())
        };
        self.required.iter().all(plain)
            && self.required_anti.iter().all(plain)
            && self.preferred.iter().all(|w| plain(&w.term))
            && self.preferred_anti.iter().all(|w| plain(&w.term))
    }

    /// Every placed pod that can contribute when the incoming pod's terms are the only
    /// selecting side (`IncomingRequired`; `Preferred` adds the pods with affinity), from the
    /// store's per-label lists, so building counts for a new pod shape costs the pods its terms
    /// can match rather than every bound pod. `None` when a term cannot be narrowed that way
    /// (no `In`/`Equals`/`Exists` requirement, or a `namespaceSelector`): then every pod is scanned.
    fn candidates(&self, snapshot: &Snapshot) -> Option<BTreeSet<PodId>> {
        let terms = self
            .required
            .iter()
            .chain(&self.required_anti)
            .chain(self.preferred.iter().map(|w| &w.term))
            .chain(self.preferred_anti.iter().map(|w| &w.term));
        let mut out = BTreeSet::new();
        for term in terms {
            // A nil selector selects nothing.
            let Some(selector) = &term.label_selector else {
                continue;
            };
            if term.namespace_selector.is_some() {
                return None;
            }
            let namespaces: Vec<&str> = if term.namespaces.is_empty() {
                vec![self.namespace.as_str()]
            } else {
                term.namespaces.iter().map(String::as_str).collect()
            };
            // The `In`/`Equals`/`Exists` requirement listing the fewest pods: every pod the
            // term selects is in one of its lists.
            let mut best: Option<(usize, Vec<&BTreeSet<PodId>>)> = None;
            for r in &selector.requirements {
                let lists: Vec<&BTreeSet<PodId>> = match r.operator {
                    Operator::In | Operator::Equals => namespaces
                        .iter()
                        .flat_map(|ns| {
                            r.values
                                .iter()
                                .filter_map(move |v| snapshot.counted_pods_labeled(ns, &r.key, v))
                        })
                        .collect(),
                    Operator::Exists => namespaces
                        .iter()
                        .flat_map(|ns| snapshot.counted_pods_with_key(ns, &r.key))
                        .collect(),
                    _ => continue,
                };
                let total = lists.iter().map(|l| l.len()).sum::<usize>();
                if best.as_ref().is_none_or(|(t, _)| total < *t) {
                    best = Some((total, lists));
                }
            }
            let (_, lists) = best?;
            out.extend(lists.into_iter().flatten().copied());
        }
        // Pods in graceful deletion are not in those lists but still count for this plugin.
        out.extend(snapshot.termination_logged_pods());
        Some(out)
    }

    fn who(&self) -> Who<'_> {
        Who {
            namespace: &self.namespace,
            labels: &self.labels,
        }
    }

    /// What one placed pod adds (`delta` 1) or takes back (`delta` -1); whether it touched a
    /// topology pair.
    fn contribute(
        &self,
        existing: &Pod,
        node: &NodeInfo,
        delta: i64,
        counts: &mut [PairCounts; 2],
        ns: &BTreeMap<String, Labels>,
        hard_weight: i32,
    ) -> bool {
        let me = self.who();
        let it = Who::from(existing);
        let mut touched = false;
        match self.kind {
            Kind::IncomingRequired => {
                if matches_all(&self.required, me, it, ns) {
                    for t in &self.required {
                        touched |= counts[0].add_for_node(node, &t.topology_key, delta);
                    }
                }
                for t in &self.required_anti {
                    if matches_who(t, me, it, ns) {
                        touched |= counts[1].add_for_node(node, &t.topology_key, delta);
                    }
                }
            }
            Kind::ExistingAnti => {
                for t in required_terms(existing.pod_anti_affinity.as_deref()) {
                    if matches_who(t, it, me, ns) {
                        touched |= counts[0].add_for_node(node, &t.topology_key, delta);
                    }
                }
            }
            Kind::Preferred => {
                // Upstream `processExistingPod`.
                if node.node.labels.is_empty() {
                    return false;
                }
                let score = &mut counts[0];
                let mut process = |term: &PodAffinityTerm, weight: i64, owner, target| {
                    if matches_who(term, owner, target, ns) {
                        touched |= score.add_for_node(node, &term.topology_key, weight * delta);
                    }
                };
                // The incoming pod's preferred terms against the placed pod.
                for wt in &self.preferred {
                    process(&wt.term, i64::from(wt.weight), me, it);
                }
                for wt in &self.preferred_anti {
                    process(&wt.term, -i64::from(wt.weight), me, it);
                }
                // The placed pod's terms against the incoming pod.
                if let Some(a) = &existing.pod_affinity {
                    if hard_weight > 0 {
                        for t in &a.required {
                            process(t, i64::from(hard_weight), it, me);
                        }
                    }
                    for wt in &a.preferred {
                        process(&wt.term, i64::from(wt.weight), it, me);
                    }
                }
                if let Some(a) = &existing.pod_anti_affinity {
                    for wt in &a.preferred {
                        process(&wt.term, -i64::from(wt.weight), it, me);
                    }
                }
            }
        }
        touched
    }
}

/// Counts of one key, kept up to date from the store's placement log between cycles
/// (upstream recomputes them from every node each cycle).
#[derive(Debug)]
struct Kept {
    key: CacheKey,
    reusable: bool,
    store: u64,
    node_generation: u64,
    pod_generation: u64,
    last_used: u64,
    counts: [PairCounts; 2],
    /// Placed pods that touched a pair (upstream's "some node had a non-empty topoScore").
    touched: i64,
}

impl Kept {
    fn rebuild(&mut self, snapshot: &Snapshot, hard_weight: i32) {
        for c in &mut self.counts {
            c.clear();
        }
        self.touched = 0;
        let ns = &snapshot.namespace_labels;
        let mut add = |existing: &Pod, node: &NodeInfo| {
            if self
                .key
                .contribute(existing, node, 1, &mut self.counts, ns, hard_weight)
            {
                self.touched += 1;
            }
        };
        let all = match self.key.kind {
            Kind::IncomingRequired => true,
            Kind::ExistingAnti => false,
            Kind::Preferred => {
                !self.key.preferred.is_empty() || !self.key.preferred_anti.is_empty()
            }
        };
        let candidates = if all {
            self.key.candidates(snapshot)
        } else {
            None
        };
        if let Some(mut ids) = candidates {
            // Contributions add up, so the order pods are visited in does not matter.
            if self.key.kind == Kind::Preferred {
                ids.extend(snapshot.pods_with_affinity().iter().copied());
            }
            for (existing, node) in placed(snapshot, &ids) {
                add(existing, node);
            }
        } else if all {
            for node in snapshot.live_nodes() {
                for &id in &node.pods {
                    add(&snapshot.pod(id).pod, node);
                }
            }
        } else {
            // Only pods with (anti-)affinity can contribute (upstream's
            // `HavePodsWithRequiredAntiAffinityList` / `HavePodsWithAffinityList`).
            let ids = match self.key.kind {
                Kind::ExistingAnti => snapshot.pods_with_required_anti_affinity(),
                _ => snapshot.pods_with_affinity(),
            };
            for (existing, node) in placed(snapshot, ids) {
                add(existing, node);
            }
        }
        let log = snapshot.change_log();
        self.store = log.id();
        self.node_generation = log.node_generation();
        self.pod_generation = log.pod_generation();
    }

    /// Replays the placements since the last visit; false when the counts must be rebuilt.
    fn catch_up(&mut self, snapshot: &Snapshot, hard_weight: i32) -> bool {
        let log = snapshot.change_log();
        if !self.reusable || self.store != log.id() || self.node_generation != log.node_generation()
        {
            return false;
        }
        let Some(changes) = log.since(self.pod_generation) else {
            return false;
        };
        let ns = &snapshot.namespace_labels;
        for change in changes {
            let node = snapshot.node(change.node);
            if !node.exists {
                continue;
            }
            // Terminating pods stay on their node for this plugin, as upstream's NodeInfo.
            let delta = match change.kind {
                PlacementKind::Bound => 1,
                PlacementKind::Terminating => continue,
                PlacementKind::Removed { .. } => -1,
            };
            let existing = &snapshot.pod(change.pod).pod;
            if self
                .key
                .contribute(existing, node, delta, &mut self.counts, ns, hard_weight)
            {
                self.touched += delta;
            }
        }
        self.pod_generation = log.pod_generation();
        true
    }
}

/// How many sets of counts are kept; the least recently used goes first.
const KEPT_CAPACITY: usize = 24;

#[derive(Debug, Default)]
struct KeptCache {
    entries: Vec<Kept>,
    clock: u64,
}

impl KeptCache {
    /// The up-to-date counts of `kind` for `pod`; `pinned` slots are not evicted.
    fn lookup(
        &mut self,
        kind: Kind,
        pod: &Pod,
        snapshot: &Snapshot,
        hard_weight: i32,
        pinned: &[usize],
    ) -> usize {
        self.clock += 1;
        let ns_labels = snapshot.namespace_labels.get(&pod.namespace);
        if let Some(slot) = self
            .entries
            .iter()
            .position(|e| e.key.same(kind, pod, ns_labels))
        {
            let entry = &mut self.entries[slot];
            if !entry.catch_up(snapshot, hard_weight) {
                entry.rebuild(snapshot, hard_weight);
            }
            entry.last_used = self.clock;
            return slot;
        }
        let key = CacheKey::new(kind, pod, ns_labels);
        let mut kept = Kept {
            reusable: key.reusable(),
            key,
            store: 0,
            node_generation: 0,
            pod_generation: 0,
            last_used: self.clock,
            counts: Default::default(),
            touched: 0,
        };
        kept.rebuild(snapshot, hard_weight);
        super::helper::insert_lru(
            &mut self.entries,
            KEPT_CAPACITY,
            pinned,
            |e| e.last_used,
            kept,
        )
    }
}

/// An empty set of counts, for the slots a cycle did not need.
static NO_COUNTS: PairCounts = PairCounts(BTreeMap::new());

#[derive(Debug, Default)]
pub struct InterPodAffinity {
    args: InterPodAffinityArgs,
    cache: KeptCache,
    /// PreFilter state: where upstream's `existingAntiAffinityCounts` and
    /// `affinityCounts`/`antiAffinityCounts` are, and whether the pod matches all its own
    /// affinity terms.
    existing_slot: Option<usize>,
    incoming_slot: Option<usize>,
    self_match: bool,
    /// PreScore state: where upstream's `topologyScore` is.
    score_slot: Option<usize>,
    /// Counts `pre_filter` calls, so an [`AffinityState`] from another cycle is recognised.
    generation: u64,
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

    fn counts(&self, slot: Option<usize>, i: usize) -> &PairCounts {
        slot.and_then(|s| self.cache.entries.get(s))
            .map_or(&NO_COUNTS, |e| &e.counts[i])
    }

    fn existing_anti(&self) -> &PairCounts {
        self.counts(self.existing_slot, 0)
    }
    fn affinity(&self) -> &PairCounts {
        self.counts(self.incoming_slot, 0)
    }
    fn anti_affinity(&self) -> &PairCounts {
        self.counts(self.incoming_slot, 1)
    }
    fn topology_score(&self) -> &PairCounts {
        self.counts(self.score_slot, 0)
    }

    /// The three PreFilter maps (existing anti-affinity, affinity, anti-affinity), with the
    /// changes of `state` when given.
    fn views<'a>(&'a self, state: Option<&'a AffinityState>) -> [CountsView<'a>; 3] {
        let delta = |i: usize| state.map(|s| &s.deltas[i]);
        [
            CountsView {
                base: self.existing_anti(),
                delta: delta(0),
            },
            CountsView {
                base: self.affinity(),
                delta: delta(1),
            },
            CountsView {
                base: self.anti_affinity(),
                delta: delta(2),
            },
        ]
    }

    /// Upstream `Filter` (`satisfyPodAffinity`, `satisfyPodAntiAffinity`,
    /// `satisfyExistingPodsAntiAffinity`), reading the counts through `state` when given.
    fn filter_in(&self, pod: &Pod, node: &NodeInfo, state: Option<&AffinityState>) -> Status {
        let labels = &node.node.labels;
        let [existing_anti, affinity, anti] = self.views(state);
        // satisfyPodAffinity
        let mut pods_exist = true;
        for t in required_terms(pod.pod_affinity.as_deref()) {
            match labels.get(&t.topology_key) {
                Some(v) => {
                    if affinity.get(&t.topology_key, v) <= 0 {
                        pods_exist = false;
                    }
                }
                // "All topology labels must exist on the node."
                None => return Status::unresolvable(ERR_REASON_AFFINITY_RULES_NOT_MATCH),
            }
        }
        // "This pod may be the first pod in a series that have affinity to themselves."
        if !(pods_exist || (affinity.is_empty() && self.self_match)) {
            return Status::unresolvable(ERR_REASON_AFFINITY_RULES_NOT_MATCH);
        }
        // satisfyPodAntiAffinity
        if !anti.is_empty() {
            for t in required_terms(pod.pod_anti_affinity.as_deref()) {
                if labels
                    .get(&t.topology_key)
                    .is_some_and(|v| anti.get(&t.topology_key, v) > 0)
                {
                    return Status::unschedulable(ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH);
                }
            }
        }
        // satisfyExistingPodsAntiAffinity
        if existing_anti.any_positive(labels) {
            return Status::unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH);
        }
        Status::success()
    }

    /// Upstream `preFilterState.updateWithPod`: `updated`'s required anti-affinity terms that
    /// select the incoming pod, and whether `updated` matches all of the incoming pod's
    /// required affinity terms and each of its anti-affinity terms, counted for `node`'s
    /// topology pairs with `multiplier`.
    fn update_with_pod(
        &self,
        state: &mut AffinityState,
        updated: &Pod,
        incoming: &Pod,
        node: &NodeInfo,
        multiplier: i64,
        snapshot: &Snapshot,
    ) -> Status {
        if state.generation != self.generation {
            return Status::error(format!("{NAME}: PreFilter state of another cycle"));
        }
        let ns = &snapshot.namespace_labels;
        let (me, it) = (Who::from(incoming), Who::from(updated));
        let [existing_anti, affinity, anti] = &mut state.deltas;
        for t in required_terms(updated.pod_anti_affinity.as_deref()) {
            if matches_who(t, it, me, ns) {
                existing_anti.add_for_node(node, &t.topology_key, multiplier);
            }
        }
        let terms = required_terms(incoming.pod_affinity.as_deref());
        if matches_all(terms, me, it, ns) {
            for t in terms {
                affinity.add_for_node(node, &t.topology_key, multiplier);
            }
        }
        for t in required_terms(incoming.pod_anti_affinity.as_deref()) {
            if matches_who(t, me, it, ns) {
                anti.add_for_node(node, &t.topology_key, multiplier);
            }
        }
        Status::success()
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
        self.generation = self.generation.wrapping_add(1);
        self.existing_slot = None;
        self.incoming_slot = None;
        let hard = self.args.hard_pod_affinity_weight;
        let mut pinned = Vec::new();
        // No placed pod has required anti-affinity: nothing can repel us.
        if !snapshot.pods_with_required_anti_affinity().is_empty() {
            let slot = self
                .cache
                .lookup(Kind::ExistingAnti, pod, snapshot, hard, &pinned);
            pinned.push(slot);
            self.existing_slot = Some(slot);
        }
        let affinity = required_terms(pod.pod_affinity.as_deref());
        let anti = required_terms(pod.pod_anti_affinity.as_deref());
        if !affinity.is_empty() || !anti.is_empty() {
            let slot = self
                .cache
                .lookup(Kind::IncomingRequired, pod, snapshot, hard, &pinned);
            self.incoming_slot = Some(slot);
        }
        if self.existing_anti().is_empty() && affinity.is_empty() && anti.is_empty() {
            return Status::skip();
        }
        self.self_match = matches_all(
            affinity,
            Who::from(pod),
            Who::from(pod),
            &snapshot.namespace_labels,
        );
        Status::success()
    }

    fn filter(&self, pod: &Pod, node: &NodeInfo, _snapshot: &Snapshot) -> Status {
        self.filter_in(pod, node, None)
    }

    /// The PreFilter state: no changes yet to this cycle's counts.
    fn pre_filter_state(&self) -> Option<Box<dyn StateData>> {
        Some(Box::new(AffinityState {
            generation: self.generation,
            deltas: Default::default(),
        }))
    }

    /// Upstream `AddPod`.
    fn add_pod(
        &self,
        state: &mut dyn StateData,
        pod_to_schedule: &Pod,
        pod_to_add: &Pod,
        node: &NodeInfo,
        snapshot: &Snapshot,
    ) -> Status {
        match downcast_state_mut::<AffinityState>(state, NAME) {
            Ok(s) => self.update_with_pod(s, pod_to_add, pod_to_schedule, node, 1, snapshot),
            Err(status) => status,
        }
    }

    /// Upstream `RemovePod`.
    fn remove_pod(
        &self,
        state: &mut dyn StateData,
        pod_to_schedule: &Pod,
        pod_to_remove: &Pod,
        node: &NodeInfo,
        snapshot: &Snapshot,
    ) -> Status {
        match downcast_state_mut::<AffinityState>(state, NAME) {
            Ok(s) => self.update_with_pod(s, pod_to_remove, pod_to_schedule, node, -1, snapshot),
            Err(status) => status,
        }
    }

    fn filter_with_state(
        &self,
        state: &dyn StateData,
        pod: &Pod,
        node: &NodeInfo,
        _snapshot: &Snapshot,
    ) -> Status {
        match downcast_state::<AffinityState>(state, NAME) {
            Ok(s) if s.generation == self.generation => self.filter_in(pod, node, Some(s)),
            Ok(_) => Status::error(format!("{NAME}: PreFilter state of another cycle")),
            Err(status) => status,
        }
    }

    fn pre_score(&mut self, pod: &Pod, _feasible: &[NodeId], snapshot: &Snapshot) -> Status {
        self.score_slot = None;
        let has_constraints = !preferred_terms(pod.pod_affinity.as_deref()).is_empty()
            || !preferred_terms(pod.pod_anti_affinity.as_deref()).is_empty();
        // "Optionally ignore calculating preferences of existing pods' affinity rules if the
        // incoming pod has no inter-pod affinities."
        if self.args.ignore_preferred_terms_of_existing_pods && !has_constraints {
            return Status::skip();
        }
        // Without preferred terms of its own, only placed pods with affinity can score.
        if !has_constraints && snapshot.pods_with_affinity().is_empty() {
            return Status::skip();
        }
        let pinned: Vec<usize> = [self.existing_slot, self.incoming_slot]
            .into_iter()
            .flatten()
            .collect();
        let hard = self.args.hard_pod_affinity_weight;
        let slot = self
            .cache
            .lookup(Kind::Preferred, pod, snapshot, hard, &pinned);
        if self.cache.entries[slot].touched <= 0 {
            return Status::skip();
        }
        self.score_slot = Some(slot);
        Status::success()
    }

    fn score(&self, _pod: &Pod, node: &NodeInfo, _snapshot: &Snapshot) -> Result<i64, Status> {
        let labels = &node.node.labels;
        Ok(self
            .topology_score()
            .0
            .iter()
            .filter_map(|(key, values)| labels.get(key).and_then(|v| values.get(v)))
            .sum())
    }

    /// Upstream `NormalizeScore`: min-max scaled onto `[0, 100]`, as float, truncated.
    fn normalize_scores(&self, _pod: &Pod, scores: &mut [NodeScore]) -> Status {
        if self.topology_score().is_empty() {
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
