//! PodTopologySpread (upstream `pkg/scheduler/framework/plugins/podtopologyspread/`
//! `{plugin,common,filtering,scoring}.go`, v1.34): `DoNotSchedule` constraints filter nodes
//! whose domain would exceed `maxSkew`, `ScheduleAnyway` constraints score nodes by the matching
//! pods in their domains; pods without constraints get the profile's default constraints (the
//! system defaults: hostname maxSkew 3 and zone maxSkew 5, both ScheduleAnyway) with the
//! selector of their Services and ReplicaSet.
//!
//! The counts come from the `index` module, which keeps them across cycles (updated from the
//! store's placement log) instead of scanning every node and pod per cycle; the decisions are
//! upstream's.
//!
//! Default selector (upstream `helper.DefaultSelector`): the selectors of the Services in
//! `Store::service_selectors` that select the pod, merged, then the requirements of the owning
//! ReplicaSet's selector from `Store::owner_selectors`. Gaps: ReplicationControllers and
//! StatefulSets are not modelled; when a pod's ReplicaSet has no selector registered in the
//! store, the pod's own labels stand in for it (exact when the selector is the template's
//! labels, as `kubectl create deployment` makes it, plus `pod-template-hash`).
//!
//! PreFilter extensions (upstream `AddPod` / `RemovePod`, `updateWithPod`): preemption's dry run
//! and the filters with nominated pods change a [`SpreadState`] — per hard constraint the
//! changes to the domain counts and upstream's two critical paths, updated by upstream's rule —
//! and Filter reads the kept counts plus those changes, with the global minimum from the first
//! critical path (as upstream: after updates it may not be the true minimum). As upstream, a pod
//! added or removed counts when it is in the preemptor's namespace, its node carries every
//! constraint's key and passes the constraint's node-inclusion policies, and the constraint's
//! selector selects it; terminating pods are not told apart there (PreFilter does not count
//! them, RemovePod still subtracts them).
//!
//! Known differences from upstream: `math.Log` (Go, pure-Go implementation) and `f64::ln` may
//! differ in the last bit, which could only flip a score rounded at exactly `.5`. The critical
//! paths start from the domains in domain order where upstream walks a Go map, so among domains
//! tied for the minimum kubesim keeps one of the pairs upstream may keep. Terminating pods stop
//! counting when their graceful deletion goes through `Store::mark_terminating`.

mod index;

use serde::Deserialize;
use serde_json::Value;

use k8s_openapi::api::core::v1 as core;

use crate::api::labels::Interned;
use crate::api::{
    LABEL_HOSTNAME, LABEL_ZONE, NodeId, NodeInclusionPolicy, OwnerKind, Pod,
    TopologySpreadConstraint, WhenUnsatisfiable,
};
use crate::scheduler::config::ConfigError;
use crate::scheduler::framework::{
    ExtensionPoints, MAX_NODE_SCORE, NodeScore, Plugin, Snapshot, StateData, Status,
    downcast_state, downcast_state_mut,
};
use crate::scheduler::plugins::helper::qualified_name_error;
use crate::scheduler::plugins::inter_pod_affinity::check_args_type;
use crate::store::NodeInfo;

use index::{Indexes, ReqRef, SelectorView, ShapeView, view_matches};

pub const NAME: &str = "PodTopologySpread";
/// Upstream `ErrReasonConstraintsNotMatch`.
pub const ERR_REASON_CONSTRAINTS_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints";
/// Upstream `ErrReasonNodeLabelNotMatch`.
pub const ERR_REASON_NODE_LABEL_NOT_MATCH: &str =
    "node(s) didn't match pod topology spread constraints (missing required label)";

/// Upstream `systemDefaultConstraints` (plugin.go).
pub fn system_default_constraints() -> Vec<TopologySpreadConstraint> {
    vec![
        TopologySpreadConstraint::new(3, LABEL_HOSTNAME, WhenUnsatisfiable::ScheduleAnyway, None),
        TopologySpreadConstraint::new(5, LABEL_ZONE, WhenUnsatisfiable::ScheduleAnyway, None),
    ]
}

/// Upstream `PodTopologySpreadConstraintsDefaulting`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultingType {
    System,
    List,
}

/// Upstream `config.PodTopologySpreadArgs`, defaulted (`SetDefaults_PodTopologySpreadArgs`:
/// `System`) and validated (`ValidatePodTopologySpreadArgs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodTopologySpreadArgs {
    pub defaulting_type: DefaultingType,
    pub default_constraints: Vec<TopologySpreadConstraint>,
}

impl Default for PodTopologySpreadArgs {
    fn default() -> Self {
        PodTopologySpreadArgs {
            defaulting_type: DefaultingType::System,
            default_constraints: Vec::new(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ArgsRaw {
    api_version: Option<String>,
    kind: Option<String>,
    default_constraints: Option<Vec<core::TopologySpreadConstraint>>,
    defaulting_type: Option<String>,
}

impl PodTopologySpreadArgs {
    /// Decodes, defaults and validates; error paths are relative to `args`.
    pub fn parse(args: Option<&Value>) -> Result<Self, ConfigError> {
        let Some(value) = args else {
            return Ok(Self::default());
        };
        let raw: ArgsRaw = crate::scheduler::config::decode(value)?;
        check_args_type(
            raw.api_version.as_deref(),
            raw.kind.as_deref(),
            "PodTopologySpreadArgs",
        )?;
        let list = raw.default_constraints.unwrap_or_default();
        let defaulting_type = match raw.defaulting_type.as_deref().unwrap_or("") {
            "" | "System" => DefaultingType::System,
            "List" => DefaultingType::List,
            other => {
                return Err(ConfigError::new(
                    "defaultingType",
                    format!("Unsupported value: {other:?}: supported values: \"System\", \"List\""),
                ));
            }
        };
        if defaulting_type == DefaultingType::System && !list.is_empty() {
            return Err(ConfigError::new(
                "defaultingType",
                "Invalid value: \"System\": when .defaultConstraints are not empty",
            ));
        }
        let mut default_constraints: Vec<TopologySpreadConstraint> = Vec::new();
        for (i, c) in list.iter().enumerate() {
            let at = |field: &str| format!("defaultConstraints[{i}]{field}");
            if c.max_skew <= 0 {
                return Err(ConfigError::new(
                    at(".maxSkew"),
                    format!("Invalid value: {}: not in valid range (0, inf)", c.max_skew),
                ));
            }
            if c.topology_key.is_empty() {
                return Err(ConfigError::new(
                    at(".topologyKey"),
                    "Required value: can not be empty",
                ));
            }
            if let Some(m) = qualified_name_error(&c.topology_key) {
                return Err(ConfigError::new(
                    at(".topologyKey"),
                    format!("Invalid value: {:?}: {m}", c.topology_key),
                ));
            }
            if c.label_selector.is_some() {
                return Err(ConfigError::new(
                    at(".labelSelector"),
                    "Forbidden: constraint must not define a selector, as they deduced for each pod",
                ));
            }
            let converted = TopologySpreadConstraint::from_k8s(c)
                .map_err(|(path, message)| ConfigError::new(at(&format!(".{path}")), message))?;
            if default_constraints.iter().any(|o| {
                o.topology_key == converted.topology_key
                    && o.when_unsatisfiable == converted.when_unsatisfiable
            }) {
                return Err(ConfigError::new(
                    at(""),
                    format!(
                        "Duplicate value: \"{{{}, {}}}\"",
                        converted.topology_key,
                        converted.when_unsatisfiable.as_str()
                    ),
                ));
            }
            default_constraints.push(converted);
        }
        Ok(PodTopologySpreadArgs {
            defaulting_type,
            default_constraints,
        })
    }
}

/// A constraint as one cycle uses it: where its counts are and what it needs from them.
#[derive(Clone, Copy, Debug)]
struct CycleConstraint {
    slot: usize,
    max_skew: i32,
    /// Filter: the global minimum (`minMatchNum`, with minDomains applied).
    min_match: i64,
    /// Filter: `minDomains` (1 when unset).
    min_domains: i32,
    /// Filter: the incoming pod matches the selector (`selfMatchNum`).
    self_match: bool,
    /// Score: the topology key is `kubernetes.io/hostname` (counted per node).
    hostname: bool,
    /// Score: `topologyNormalizingWeight`.
    weight: f64,
}

#[derive(Debug, Default)]
pub struct PodTopologySpread {
    default_constraints: Vec<TopologySpreadConstraint>,
    system_defaulted: bool,
    indexes: Indexes,
    /// PreFilter state.
    filter: Vec<CycleConstraint>,
    /// PreScore state.
    score: Vec<CycleConstraint>,
    /// PreScore: `requireAllTopologies`.
    require_all: bool,
    cycle: u32,
    /// Counts `pre_filter` calls, so a [`SpreadState`] from another cycle is recognised.
    generation: u64,
}

/// Upstream `criticalPaths`: the two domains with the fewest matching pods as PreFilter found
/// them, then as `update` keeps them through AddPod / RemovePod. `[0]` always holds the minimum
/// only as far as upstream's approximation goes ("`[1]` is not guaranteed to be the 2nd
/// minimum"), which is what upstream's Filter reads. A domain is `None` in the initial
/// placeholders (upstream's empty topology value with `MaxInt32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CriticalPaths(pub [(Option<u32>, i64); 2]);

impl CriticalPaths {
    fn new() -> Self {
        let none = (None, i64::from(i32::MAX));
        CriticalPaths([none, none])
    }

    /// Upstream `criticalPaths.update`.
    fn update(&mut self, domain: u32, num: i64) {
        let p = &mut self.0;
        let at = if p[0].0 == Some(domain) {
            Some(0)
        } else if p[1].0 == Some(domain) {
            Some(1)
        } else {
            None
        };
        match at {
            Some(i) => {
                p[i].1 = num;
                if p[0].1 > p[1].1 {
                    p.swap(0, 1);
                }
            }
            None => {
                if num < p[0].1 {
                    p[1] = p[0];
                    p[0] = (Some(domain), num);
                } else if num < p[1].1 {
                    p[1] = (Some(domain), num);
                }
            }
        }
    }
}

/// One hard constraint's part of a [`SpreadState`].
#[derive(Clone, Debug)]
struct ConstraintState {
    /// Domain → change of its matching pods since PreFilter (the few domains a dry run or the
    /// nominated pods touched).
    deltas: Vec<(u32, i64)>,
    paths: CriticalPaths,
}

impl ConstraintState {
    fn delta(&self, domain: u32) -> i64 {
        self.deltas
            .iter()
            .find(|(d, _)| *d == domain)
            .map_or(0, |(_, n)| *n)
    }

    fn add(&mut self, domain: u32, delta: i64) -> i64 {
        match self.deltas.iter_mut().find(|(d, _)| *d == domain) {
            Some((_, n)) => {
                *n += delta;
                *n
            }
            None => {
                self.deltas.push((domain, delta));
                delta
            }
        }
    }
}

/// PodTopologySpread's PreFilter state as the PreFilter extensions change it (upstream
/// `preFilterState` after `Clone`): for each hard constraint of the cycle, in order, the changes
/// to `TpValueToMatchNum` over the kept counts, and `CriticalPaths`.
#[derive(Clone, Debug)]
pub(crate) struct SpreadState {
    generation: u64,
    constraints: Vec<ConstraintState>,
}

impl StateData for SpreadState {
    fn clone_data(&self) -> Box<dyn StateData> {
        Box::new(self.clone())
    }
}

/// Upstream `topologyNormalizingWeight`: `log(size + 2)`.
pub fn topology_normalizing_weight(size: usize) -> f64 {
    (size as f64 + 2.0).ln()
}

/// Go's `math.Round` (half away from zero), as `f64::round`, without the libm call for the
/// non-negative scores this plugin produces: `x - trunc(x)` is exact below 2^52.
pub fn round_half_away(x: f64) -> i64 {
    if !(0.0..4_503_599_627_370_496.0).contains(&x) {
        return x.round() as i64;
    }
    let t = x as i64;
    if x - t as f64 >= 0.5 { t + 1 } else { t }
}

/// Upstream `scoreForCount`: `cnt * tpWeight + (maxSkew - 1)`.
pub fn score_for_count(count: i64, max_skew: i32, weight: f64) -> f64 {
    count as f64 * weight + f64::from(max_skew - 1)
}

/// The effective selector of a pod's own constraint: its label selector, plus `key = value`
/// for each `matchLabelKeys` key the pod has (upstream `mergeLabelSetWithSelector`; a nil
/// selector stays nil).
fn own_selector<'a>(c: &'a TopologySpreadConstraint, pod: &'a Pod) -> SelectorView<'a> {
    let sel = c.label_selector.as_ref()?;
    let mut reqs: Vec<ReqRef<'a>> = c
        .match_label_keys
        .iter()
        .filter_map(|k| {
            pod.labels
                .iter_interned()
                .find(|(pk, _)| pk.as_str() == k)
                .map(|(pk, v)| ReqRef::Eq(pk, v))
        })
        .collect();
    reqs.extend(sel.requirements.iter().map(ReqRef::Full));
    Some(reqs)
}

/// Upstream `helper.DefaultSelector` (see the module docs for what the store knows). `None`
/// when it is empty: the pod then gets no default constraints.
fn default_selector<'a>(pod: &'a Pod, snapshot: &'a Snapshot) -> SelectorView<'a> {
    // Services of the pod's namespace whose (non-nil) selector selects the pod; their selectors
    // cannot conflict, as they all match the pod. `labels.Set.AsSelector` sorts by key.
    let mut service_pairs: Vec<(&'a Interned, &'a Interned)> = Vec::new();
    let ns = pod.namespace.as_str();
    if !snapshot.service_selectors.is_empty() {
        for (_, sel) in snapshot
            .service_selectors
            .range((ns.to_string(), String::new())..)
            .take_while(|((n, _), _)| n == ns)
        {
            if sel
                .iter_interned()
                .all(|(k, v)| pod.labels.get_interned(k) == Some(v))
            {
                service_pairs.extend(sel.iter_interned());
            }
        }
    }
    service_pairs.sort_unstable();
    service_pairs.dedup();
    let mut reqs: Vec<ReqRef<'a>> = service_pairs
        .into_iter()
        .map(|(k, v)| ReqRef::Eq(k, v))
        .collect();
    if let Some(owner) = &pod.owner
        && owner.kind == OwnerKind::ReplicaSet
    {
        match snapshot.owner_selectors.get(&(owner.kind, owner.id)) {
            Some(sel) => reqs.extend(sel.requirements.iter().map(ReqRef::Full)),
            // Not registered: the pod's labels stand in for the ReplicaSet's selector.
            None => reqs.extend(pod.labels.iter_interned().map(|(k, v)| ReqRef::Eq(k, v))),
        }
    }
    (!reqs.is_empty()).then_some(reqs)
}

/// Upstream `filterTopologySpreadConstraints` / `buildDefaultConstraints`: the constraints of
/// one action with their effective selectors.
fn constraints_for<'a>(
    pod: &'a Pod,
    defaults: &'a [TopologySpreadConstraint],
    action: WhenUnsatisfiable,
    snapshot: &'a Snapshot,
) -> Vec<(&'a TopologySpreadConstraint, SelectorView<'a>)> {
    if !pod.topology_spread_constraints.is_empty() {
        return pod
            .topology_spread_constraints
            .iter()
            .filter(|c| c.when_unsatisfiable == action)
            .map(|c| (c, own_selector(c, pod)))
            .collect();
    }
    if !defaults.iter().any(|c| c.when_unsatisfiable == action) {
        return Vec::new();
    }
    let Some(selector) = default_selector(pod, snapshot) else {
        return Vec::new();
    };
    defaults
        .iter()
        .filter(|c| c.when_unsatisfiable == action)
        .map(|c| (c, Some(selector.clone())))
        .collect()
}

impl PodTopologySpread {
    pub fn new(args: PodTopologySpreadArgs) -> Self {
        let system_defaulted = args.defaulting_type == DefaultingType::System;
        PodTopologySpread {
            default_constraints: if system_defaulted {
                system_default_constraints()
            } else {
                args.default_constraints
            },
            system_defaulted,
            ..Default::default()
        }
    }

    pub fn factory(args: Option<&Value>) -> Result<Box<dyn Plugin>, String> {
        let args = PodTopologySpreadArgs::parse(args).map_err(|e| e.to_string())?;
        Ok(Box::new(PodTopologySpread::new(args)))
    }

    /// Looks up (or builds) the counts of each constraint; returns their slots.
    fn index_constraints(
        &mut self,
        pod: &Pod,
        snapshot: &Snapshot,
        constraints: &[(&TopologySpreadConstraint, SelectorView<'_>)],
        require_all: bool,
        pinned: &mut Vec<usize>,
    ) -> Vec<usize> {
        let keys: Vec<&str> = constraints
            .iter()
            .map(|(c, _)| c.topology_key.as_str())
            .collect();
        let mut slots = Vec::with_capacity(constraints.len());
        for (c, selector) in constraints {
            let view = ShapeView {
                namespace: &pod.namespace,
                selector,
                topology_key: &c.topology_key,
                required_keys: require_all.then_some(&keys[..]),
                honor_affinity: c.node_affinity_policy.unwrap_or(NodeInclusionPolicy::Honor)
                    == NodeInclusionPolicy::Honor,
                honor_taints: c.node_taints_policy.unwrap_or(NodeInclusionPolicy::Ignore)
                    == NodeInclusionPolicy::Honor,
                pod,
            };
            let slot = self.indexes.lookup(&view, snapshot, pinned);
            pinned.push(slot);
            slots.push(slot);
        }
        slots
    }

    /// Upstream `IgnoredNodes`: with `requireAllTopologies`, nodes missing a constraint's key.
    fn ignored(&self, node: NodeId) -> bool {
        self.require_all
            && self.score.iter().any(|c| {
                !self
                    .indexes
                    .get(c.slot)
                    .node_has_label
                    .get(node.index())
                    .copied()
                    .unwrap_or(false)
            })
    }
}

impl PodTopologySpread {
    /// [`Plugin::filter`], reading the counts through `state` when given.
    fn filter_in(&self, node: &NodeInfo, state: Option<&SpreadState>) -> Status {
        let i = node.id.index();
        for (k, c) in self.filter.iter().enumerate() {
            let index = self.indexes.get(c.slot);
            if !index.node_has_label.get(i).copied().unwrap_or(false) {
                return Status::unresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH);
            }
            let domain = index.node_domain[i];
            let mut match_num = index.domains.get(domain as usize).map_or(0, |d| d.matches);
            let mut min_match = c.min_match;
            if let Some(cs) = state.and_then(|s| s.constraints.get(k)) {
                match_num += cs.delta(domain);
                // Upstream `minMatchNum`: the first critical path, or 0 below minDomains.
                min_match =
                    if index.eligible_domains() < usize::try_from(c.min_domains).unwrap_or(0) {
                        0
                    } else {
                        cs.paths.0[0].1
                    };
            }
            let skew = match_num + i64::from(c.self_match) - min_match;
            if skew > i64::from(c.max_skew) {
                return Status::unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH);
            }
        }
        Status::success()
    }

    /// This cycle's PreFilter state as a value: each hard constraint's critical paths, found as
    /// upstream's `calPreFilterState` does by updating empty paths with every domain (here in
    /// domain order, where upstream walks a Go map: when several domains tie, upstream keeps
    /// whichever it met first).
    fn spread_state(&self) -> SpreadState {
        let constraints = self
            .filter
            .iter()
            .map(|c| {
                let mut paths = CriticalPaths::new();
                let index = self.indexes.get(c.slot);
                for (d, domain) in index.domains.iter().enumerate() {
                    if domain.eligible_nodes > 0 {
                        paths.update(u32::try_from(d).unwrap_or(u32::MAX), domain.matches);
                    }
                }
                ConstraintState {
                    deltas: Vec::new(),
                    paths,
                }
            })
            .collect();
        SpreadState {
            generation: self.generation,
            constraints,
        }
    }

    /// Upstream `updateWithPod`: a pod of the preemptor's namespace on a node carrying every
    /// constraint's key changes the count of the node's domain, and the critical paths, of each
    /// constraint whose selector selects it and whose node-inclusion policies take the node. As
    /// upstream, the pod is not checked for being terminating (PreFilter does not count such
    /// pods, RemovePod still subtracts them).
    fn update_with_pod(
        &self,
        state: &mut SpreadState,
        updated: &Pod,
        preemptor: &Pod,
        node: &NodeInfo,
        delta: i64,
    ) -> Status {
        if state.generation != self.generation {
            return Status::error(format!("{NAME}: PreFilter state of another cycle"));
        }
        if updated.namespace != preemptor.namespace {
            return Status::success();
        }
        let i = node.id.index();
        // `nodeLabelsMatchSpreadConstraints`.
        let has_all_keys = self.filter.iter().all(|c| {
            let index = self.indexes.get(c.slot);
            index.node_has_label.get(i).copied().unwrap_or(false)
        });
        if !has_all_keys {
            return Status::success();
        }
        for (c, cs) in self.filter.iter().zip(&mut state.constraints) {
            let index = self.indexes.get(c.slot);
            // `constraint.Selector.Matches`, then `matchNodeInclusionPolicies` (the node has
            // every key, so inclusion is the policies').
            if !index.selector_matches(&updated.labels)
                || !index.node_included.get(i).copied().unwrap_or(false)
            {
                continue;
            }
            let domain = index.node_domain[i];
            let Some(base) = index.domains.get(domain as usize).map(|d| d.matches) else {
                continue;
            };
            let changed = cs.add(domain, delta);
            cs.paths.update(domain, base + changed);
        }
        Status::success()
    }
}

impl Plugin for PodTopologySpread {
    fn name(&self) -> &str {
        NAME
    }

    fn extension_points(&self) -> ExtensionPoints {
        ExtensionPoints::PRE_FILTER
            | ExtensionPoints::FILTER
            | ExtensionPoints::PRE_SCORE
            | ExtensionPoints::SCORE
    }

    /// Upstream `calPreFilterState`; Skip when the pod has no hard constraints.
    fn pre_filter(&mut self, pod: &Pod, snapshot: &Snapshot) -> Status {
        self.generation = self.generation.wrapping_add(1);
        self.filter.clear();
        let defaults = std::mem::take(&mut self.default_constraints);
        let constraints =
            constraints_for(pod, &defaults, WhenUnsatisfiable::DoNotSchedule, snapshot);
        if !constraints.is_empty() {
            let mut pinned = Vec::new();
            let slots = self.index_constraints(pod, snapshot, &constraints, true, &mut pinned);
            for ((c, selector), slot) in constraints.iter().zip(slots) {
                let index = self.indexes.get(slot);
                self.filter.push(CycleConstraint {
                    slot,
                    max_skew: c.max_skew,
                    min_match: index.min_match(c.min_domains.unwrap_or(1)),
                    min_domains: c.min_domains.unwrap_or(1),
                    self_match: view_matches(selector, &pod.labels),
                    hostname: c.topology_key == LABEL_HOSTNAME,
                    weight: 0.0,
                });
            }
        }
        drop(constraints);
        self.default_constraints = defaults;
        if self.filter.is_empty() {
            return Status::skip();
        }
        Status::success()
    }

    /// Upstream `Filter`: `matchNum + selfMatchNum - minMatchNum <= maxSkew` for every hard
    /// constraint.
    fn filter(&self, _pod: &Pod, node: &NodeInfo, _snapshot: &Snapshot) -> Status {
        self.filter_in(node, None)
    }

    /// The PreFilter state: this cycle's critical paths, no changes yet.
    fn pre_filter_state(&self) -> Option<Box<dyn StateData>> {
        Some(Box::new(self.spread_state()))
    }

    /// Upstream `AddPod`.
    fn add_pod(
        &self,
        state: &mut dyn StateData,
        pod_to_schedule: &Pod,
        pod_to_add: &Pod,
        node: &NodeInfo,
        _snapshot: &Snapshot,
    ) -> Status {
        match downcast_state_mut::<SpreadState>(state, NAME) {
            Ok(s) => self.update_with_pod(s, pod_to_add, pod_to_schedule, node, 1),
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
        _snapshot: &Snapshot,
    ) -> Status {
        match downcast_state_mut::<SpreadState>(state, NAME) {
            Ok(s) => self.update_with_pod(s, pod_to_remove, pod_to_schedule, node, -1),
            Err(status) => status,
        }
    }

    fn filter_with_state(
        &self,
        state: &dyn StateData,
        _pod: &Pod,
        node: &NodeInfo,
        _snapshot: &Snapshot,
    ) -> Status {
        match downcast_state::<SpreadState>(state, NAME) {
            Ok(s) if s.generation == self.generation => self.filter_in(node, Some(s)),
            Ok(_) => Status::error(format!("{NAME}: PreFilter state of another cycle")),
            Err(status) => status,
        }
    }

    /// Upstream `PreScore` / `initPreScoreState`.
    fn pre_score(&mut self, pod: &Pod, feasible: &[NodeId], snapshot: &Snapshot) -> Status {
        self.score.clear();
        if snapshot.live_nodes().next().is_none() {
            return Status::skip();
        }
        let defaults = std::mem::take(&mut self.default_constraints);
        let constraints =
            constraints_for(pod, &defaults, WhenUnsatisfiable::ScheduleAnyway, snapshot);
        // "Only require that nodes have all the topology labels if using non-system-default
        // spreading rules. This allows nodes that don't have a zone label to still have
        // hostname spreading."
        self.require_all = !pod.topology_spread_constraints.is_empty() || !self.system_defaulted;
        if !constraints.is_empty() {
            let mut pinned: Vec<usize> = self.filter.iter().map(|c| c.slot).collect();
            let require_all = self.require_all;
            let slots =
                self.index_constraints(pod, snapshot, &constraints, require_all, &mut pinned);
            for ((c, _), slot) in constraints.iter().zip(slots) {
                self.score.push(CycleConstraint {
                    slot,
                    max_skew: c.max_skew,
                    min_match: 0,
                    min_domains: 1,
                    self_match: false,
                    hostname: c.topology_key == LABEL_HOSTNAME,
                    weight: 0.0,
                });
            }
        }
        drop(constraints);
        self.default_constraints = defaults;
        if self.score.is_empty() {
            return Status::skip();
        }
        // Domains among the feasible nodes that are not ignored; hostname domains are the
        // nodes themselves.
        self.cycle = self.cycle.wrapping_add(1);
        let stamp = self.cycle;
        let mut sizes = vec![0usize; self.score.len()];
        let mut scored = 0usize;
        for &node in feasible {
            if self.ignored(node) {
                continue;
            }
            scored += 1;
            for (k, c) in self.score.iter().enumerate() {
                if c.hostname {
                    continue;
                }
                let index = self.indexes.get_mut(c.slot);
                let d = index.node_domain[node.index()] as usize;
                if let Some(domain) = index.domains.get_mut(d)
                    && domain.seen != stamp
                {
                    domain.seen = stamp;
                    sizes[k] += 1;
                }
            }
        }
        for (c, size) in self.score.iter_mut().zip(sizes) {
            c.weight = topology_normalizing_weight(if c.hostname { scored } else { size });
        }
        Status::success()
    }

    /// Upstream `Score`: the matching pods of the node's domains, weighted.
    fn score(&self, _pod: &Pod, node: &NodeInfo, _snapshot: &Snapshot) -> Result<i64, Status> {
        if self.ignored(node.id) {
            return Ok(0);
        }
        let i = node.id.index();
        let mut score = 0.0;
        for c in &self.score {
            let index = self.indexes.get(c.slot);
            if !index.node_has_label.get(i).copied().unwrap_or(false) {
                continue;
            }
            let count = if c.hostname {
                i64::from(index.node_matches[i])
            } else {
                index
                    .domains
                    .get(index.node_domain[i] as usize)
                    .map_or(0, |d| d.matches)
            };
            score += score_for_count(count, c.max_skew, c.weight);
        }
        Ok(round_half_away(score))
    }

    /// [`Self::score`] for every node, with each constraint's index looked up once rather
    /// than per node. The sum runs over the constraints in the same order, so the floating-point
    /// result is the same.
    fn score_nodes(
        &self,
        _pod: &Pod,
        nodes: &[NodeId],
        _snapshot: &Snapshot,
        out: &mut Vec<NodeScore>,
    ) -> Result<(), Status> {
        let constraints: Vec<(&CycleConstraint, &index::SpreadIndex)> = self
            .score
            .iter()
            .map(|c| (c, self.indexes.get(c.slot)))
            .collect();
        out.reserve(nodes.len());
        for &node in nodes {
            if self.ignored(node) {
                out.push(NodeScore { node, score: 0 });
                continue;
            }
            let i = node.index();
            let mut score = 0.0;
            for &(c, index) in &constraints {
                if !index.node_has_label.get(i).copied().unwrap_or(false) {
                    continue;
                }
                let count = if c.hostname {
                    i64::from(index.node_matches[i])
                } else {
                    index
                        .domains
                        .get(index.node_domain[i] as usize)
                        .map_or(0, |d| d.matches)
                };
                score += score_for_count(count, c.max_skew, c.weight);
            }
            out.push(NodeScore {
                node,
                score: round_half_away(score),
            });
        }
        Ok(())
    }

    /// Upstream `NormalizeScore`: fewer matching pods score higher; ignored nodes score 0.
    fn normalize_scores(&self, _pod: &Pod, scores: &mut [NodeScore]) -> Status {
        let mut min = i64::MAX;
        let mut max = 0i64;
        for s in scores.iter() {
            if self.ignored(s.node) {
                continue;
            }
            min = min.min(s.score);
            max = max.max(s.score);
        }
        for s in scores.iter_mut() {
            if self.ignored(s.node) {
                s.score = 0;
            } else if max == 0 {
                s.score = MAX_NODE_SCORE;
            } else {
                s.score = MAX_NODE_SCORE * (max + min - s.score) / max;
            }
        }
        Status::success()
    }
}

#[cfg(test)]
mod tests;
