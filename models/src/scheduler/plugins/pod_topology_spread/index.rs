//! Per-constraint counts of matching pods by topology domain, kept across scheduling cycles.
//!
//! Upstream's PreFilter and PreScore scan every node and every pod each cycle (in parallel).
//! kubesim schedules on one thread with a budget of tens of microseconds per pod on 5,000
//! nodes, so it keeps, for each constraint "shape" (namespace, effective selector, topology key,
//! node-inclusion inputs), the per-node domain and inclusion and the per-domain counts, and
//! brings them up to date from the store's placement log (`Store::change_log`). The counts are
//! exactly what the full scan would give: an index is rebuilt whenever nodes changed, the log no
//! longer reaches back, or it belongs to another store.

use std::collections::BTreeMap;

use crate::api::labels::Interned;
use crate::api::{LabelSelector, Labels, NodeSelector, Operator, Pod, Requirement, Toleration};
use crate::scheduler::framework::Snapshot;
use crate::scheduler::plugins::node_affinity::{required_matches, term_error};
use crate::scheduler::plugins::taint_toleration::find_untolerated_taint;
use crate::store::{PlacementChange, PlacementKind};

/// Domain id of a node that does not exist.
pub(crate) const NO_DOMAIN: u32 = u32::MAX;
/// How many shapes are kept; the least recently used one is dropped beyond that. Enough for a
/// few dozen Deployments interleaving in the queue (two shapes each with default spreading).
const CAPACITY: usize = 64;
/// How many topology keys' node-to-domain maps are kept.
const DOMAIN_MAPS: usize = 8;

/// One requirement of an effective selector, borrowed from wherever it comes from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ReqRef<'a> {
    Full(&'a Requirement),
    /// `key = value`, from `matchLabelKeys` or from labels standing in for a selector.
    Eq(&'a Interned, &'a Interned),
}

impl ReqRef<'_> {
    fn matches(self, labels: &Labels) -> bool {
        match self {
            ReqRef::Full(r) => r.matches(labels),
            ReqRef::Eq(k, v) => labels.get_interned(k) == Some(v),
        }
    }

    fn same_as(self, r: &Requirement) -> bool {
        match self {
            ReqRef::Full(x) => x == r,
            ReqRef::Eq(k, v) => {
                r.key_id() == k
                    && r.operator == Operator::Equals
                    && matches!(r.value_ids(), [only] if only == v)
            }
        }
    }

    fn to_requirement(self) -> Requirement {
        match self {
            ReqRef::Full(r) => r.clone(),
            ReqRef::Eq(k, v) => Requirement::new(k.as_str(), Operator::Equals, vec![v.to_string()]),
        }
    }
}

/// A constraint's effective selector for one cycle: `None` is `labels.Nothing()`, `Some(reqs)`
/// their conjunction (`Some([])` is `labels.Everything()`).
pub(crate) type SelectorView<'a> = Option<Vec<ReqRef<'a>>>;

/// `selector.Matches(labels)`.
pub(crate) fn view_matches(view: &SelectorView<'_>, labels: &Labels) -> bool {
    view.as_ref()
        .is_some_and(|reqs| reqs.iter().all(|r| r.matches(labels)))
}

/// An owned effective selector (the cache key's copy of a view).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OwnedSelector(Option<LabelSelector>);

impl OwnedSelector {
    fn from_view(view: &SelectorView<'_>) -> Self {
        OwnedSelector(view.as_ref().map(|reqs| LabelSelector {
            requirements: reqs.iter().map(|r| r.to_requirement()).collect(),
        }))
    }

    fn same_as(&self, view: &SelectorView<'_>) -> bool {
        match (&self.0, view) {
            (None, None) => true,
            (Some(sel), Some(reqs)) => {
                sel.requirements.len() == reqs.len()
                    && sel.requirements.iter().zip(reqs).all(|(r, v)| v.same_as(r))
            }
            _ => false,
        }
    }

    fn matches(&self, labels: &Labels) -> bool {
        self.0.as_ref().is_some_and(|s| s.matches(labels))
    }

    /// Upstream `countPodsMatchSelector` starts with `if selector.Empty() { return 0 }` (v1.28
    /// to v1.34): `labels.Nothing()` matches no pod, and `labels.Everything()` (`{}`) is
    /// `Empty()`, so neither counts any pod.
    fn counts_nothing(&self) -> bool {
        self.0.as_ref().is_none_or(|s| s.requirements.is_empty())
    }
}

/// Everything a constraint's counts depend on, borrowed for one cycle.
#[derive(Debug)]
pub(crate) struct ShapeView<'a> {
    pub namespace: &'a str,
    pub selector: &'a SelectorView<'a>,
    pub topology_key: &'a str,
    /// The topology keys every counted node must carry (upstream
    /// `nodeLabelsMatchSpreadConstraints`), when that check applies.
    pub required_keys: Option<&'a [&'a str]>,
    /// NodeAffinityPolicy Honor: the pod's node selector and required node affinity decide.
    pub honor_affinity: bool,
    /// NodeTaintsPolicy Honor: the pod's tolerations decide.
    pub honor_taints: bool,
    pub pod: &'a Pod,
}

/// The owned form of [`ShapeView`].
#[derive(Debug)]
struct ShapeKey {
    namespace: String,
    selector: OwnedSelector,
    topology_key: String,
    required_keys: Option<Vec<String>>,
    affinity: Option<(Vec<Requirement>, Option<NodeSelector>)>,
    tolerations: Option<Vec<Toleration>>,
}

fn required_affinity(pod: &Pod) -> Option<&NodeSelector> {
    pod.node_affinity.as_ref().and_then(|a| a.required.as_ref())
}

impl ShapeKey {
    fn from_view(v: &ShapeView<'_>) -> Self {
        ShapeKey {
            namespace: v.namespace.to_string(),
            selector: OwnedSelector::from_view(v.selector),
            topology_key: v.topology_key.to_string(),
            required_keys: v
                .required_keys
                .map(|keys| keys.iter().map(|k| (*k).to_string()).collect()),
            affinity: v.honor_affinity.then(|| {
                (
                    v.pod.node_selector.clone(),
                    required_affinity(v.pod).cloned(),
                )
            }),
            tolerations: v.honor_taints.then(|| v.pod.tolerations.to_vec()),
        }
    }

    fn same_as(&self, v: &ShapeView<'_>) -> bool {
        self.namespace == v.namespace
            && self.topology_key == v.topology_key
            && self.selector.same_as(v.selector)
            && match (&self.required_keys, v.required_keys) {
                (None, None) => true,
                (Some(a), Some(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y),
                _ => false,
            }
            && match (&self.affinity, v.honor_affinity) {
                (None, false) => true,
                (Some((sel, req)), true) => {
                    *sel == v.pod.node_selector && req.as_ref() == required_affinity(v.pod)
                }
                _ => false,
            }
            && match (&self.tolerations, v.honor_taints) {
                (None, false) => true,
                (Some(t), true) => *t == v.pod.tolerations,
                _ => false,
            }
    }
}

/// One topology domain (the nodes sharing a value of the key; a node without the key is in
/// the `""` domain, as upstream's `node.Labels[key]` reads it).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Domain {
    /// Counted nodes in the domain: the domain exists for upstream (`TpValueToMatchNum` has the
    /// value) when this is not zero.
    pub eligible_nodes: u32,
    /// Matching pods on the counted nodes of the domain.
    pub matches: i64,
    /// Cycle stamp, for counting distinct domains among feasible nodes.
    pub seen: u32,
}

/// The counts of one constraint shape.
#[derive(Debug)]
pub(crate) struct SpreadIndex {
    key: ShapeKey,
    store: u64,
    node_generation: u64,
    pod_generation: u64,
    last_used: u64,
    /// Per node id: its domain (`NO_DOMAIN` for nodes that do not exist).
    pub node_domain: Vec<u32>,
    /// Per node id: whether the node carries the topology key.
    pub node_has_label: Vec<bool>,
    /// Per node id: whether the node's pods are counted (inclusion policies, required keys).
    pub node_included: Vec<bool>,
    /// Per node id: pods on the node matching namespace and selector, whether counted or not
    /// (Score's per-node count for the hostname key).
    pub node_matches: Vec<u32>,
    pub domains: Vec<Domain>,
    /// Number of eligible domains at each match count, for the minimum.
    histogram: BTreeMap<i64, u32>,
    eligible_domains: usize,
}

impl SpreadIndex {
    /// Upstream `minMatchNum`: the smallest count over eligible domains (`MaxInt32` when there
    /// is none), or 0 when there are fewer eligible domains than `min_domains`.
    pub fn min_match(&self, min_domains: i32) -> i64 {
        if self.eligible_domains < usize::try_from(min_domains).unwrap_or(0) {
            return 0;
        }
        self.histogram
            .keys()
            .next()
            .copied()
            .unwrap_or(i64::from(i32::MAX))
    }

    /// Domains with counted nodes (upstream `len(TpValueToMatchNum[i])`).
    pub fn eligible_domains(&self) -> usize {
        self.eligible_domains
    }

    /// Whether the constraint's effective selector selects `labels` (upstream
    /// `constraint.Selector.Matches`; unlike the counting, `{}` selects every pod).
    pub fn selector_matches(&self, labels: &Labels) -> bool {
        self.key.selector.matches(labels)
    }

    fn new(key: ShapeKey) -> Self {
        SpreadIndex {
            key,
            store: 0,
            node_generation: 0,
            pod_generation: 0,
            last_used: 0,
            node_domain: Vec::new(),
            node_has_label: Vec::new(),
            node_included: Vec::new(),
            node_matches: Vec::new(),
            domains: Vec::new(),
            histogram: BTreeMap::new(),
            eligible_domains: 0,
        }
    }

    /// The full scan upstream does every cycle, from the node-to-domain map of the topology
    /// key and, when another index has them, the per-node matches of the same selector.
    fn rebuild(
        &mut self,
        pod: &Pod,
        snapshot: &Snapshot,
        map: &DomainMap,
        shared_matches: Option<Vec<u32>>,
    ) {
        let n = snapshot.nodes.len();
        self.node_domain.clone_from(&map.node_domain);
        self.node_has_label.clone_from(&map.node_has_label);
        self.node_included.clear();
        self.node_included.resize(n, false);
        self.domains.clear();
        self.domains.resize(map.domains, Domain::default());
        let valid: Vec<bool> = required_affinity(pod)
            .map(|s| s.terms.iter().map(|t| term_error(t).is_none()).collect())
            .unwrap_or_default();
        match shared_matches {
            Some(m) if m.len() == n => self.node_matches = m,
            _ => {
                self.node_matches.clear();
                self.node_matches.resize(n, 0);
                let candidates = if self.key.selector.counts_nothing() {
                    Some(Vec::new())
                } else {
                    self.candidates(snapshot)
                };
                if let Some(lists) = candidates {
                    // Only the pods a requirement of the selector can match: those the store
                    // lists under one of its values (every one counted, so no termination
                    // check), on nodes that still exist.
                    for id in lists.into_iter().flatten() {
                        let record = snapshot.pod(*id);
                        let Some(node) = record.node else { continue };
                        if snapshot.node(node).exists
                            && self.key.selector.matches(&record.pod.labels)
                        {
                            let count = &mut self.node_matches[node.index()];
                            *count = count.saturating_add(1);
                        }
                    }
                } else {
                    for info in snapshot.live_nodes() {
                        let matches = info
                            .pods
                            .iter()
                            .filter(|&&id| {
                                let p = &snapshot.pod(id).pod;
                                !snapshot.termination_logged(id)
                                    && p.namespace == self.key.namespace
                                    && self.key.selector.matches(&p.labels)
                            })
                            .count();
                        self.node_matches[info.id.index()] =
                            u32::try_from(matches).unwrap_or(u32::MAX);
                    }
                }
            }
        }
        for info in snapshot.live_nodes() {
            let i = info.id.index();
            let labels = &info.node.labels;
            let included = self
                .key
                .required_keys
                .as_ref()
                .is_none_or(|keys| keys.iter().all(|k| labels.contains_key(k)))
                && (self.key.affinity.is_none() || required_matches(pod, &info.node, &valid))
                && (self.key.tolerations.is_none()
                    || find_untolerated_taint(&info.node.taints, &pod.tolerations).is_none());
            self.node_included[i] = included;
            if included && let Some(domain) = self.domains.get_mut(self.node_domain[i] as usize) {
                domain.eligible_nodes += 1;
                domain.matches += i64::from(self.node_matches[i]);
            }
        }
        self.histogram.clear();
        self.eligible_domains = 0;
        for d in self.domains.iter().filter(|d| d.eligible_nodes > 0) {
            *self.histogram.entry(d.matches).or_default() += 1;
            self.eligible_domains += 1;
        }
        let log = snapshot.change_log();
        self.store = log.id();
        self.node_generation = log.node_generation();
        self.pod_generation = log.pod_generation();
    }

    /// The store's lists of counted pods in the namespace under the values (or, for `Exists`,
    /// the key) of the `In` / `Equals` / `Exists` requirement of the selector with the fewest
    /// such pods: every pod the selector matches is in one of them. `None` when the selector
    /// has no such requirement (every bound pod must then be checked).
    fn candidates<'s>(
        &self,
        snapshot: &'s Snapshot,
    ) -> Option<Vec<&'s std::collections::BTreeSet<crate::api::PodId>>> {
        let selector = self.key.selector.0.as_ref()?;
        let mut best: Option<(usize, Vec<_>)> = None;
        let ns = self.key.namespace.as_str();
        for r in &selector.requirements {
            let lists: Vec<_> = match r.operator {
                Operator::In | Operator::Equals => r
                    .values
                    .iter()
                    .filter_map(|v| snapshot.counted_pods_labeled(ns, &r.key, v))
                    .collect(),
                Operator::Exists => snapshot.counted_pods_with_key(ns, &r.key).collect(),
                _ => continue,
            };
            let total = lists.iter().map(|l| l.len()).sum::<usize>();
            if best.as_ref().is_none_or(|(t, _)| total < *t) {
                best = Some((total, lists));
            }
        }
        best.map(|(_, lists)| lists)
    }

    /// Applies one placement change (upstream `updateWithPod` does the same for preemption).
    fn apply(&mut self, change: &PlacementChange, snapshot: &Snapshot) {
        let i = change.node.index();
        if self.node_domain.get(i).is_none_or(|d| *d == NO_DOMAIN) {
            return;
        }
        let p = &snapshot.pod(change.pod).pod;
        if self.key.selector.counts_nothing()
            || p.namespace != self.key.namespace
            || !self.key.selector.matches(&p.labels)
        {
            return;
        }
        // Upstream counts neither terminating pods (#87621) nor pods gone.
        let delta: i64 = match change.kind {
            PlacementKind::Bound => 1,
            PlacementKind::Terminating => -1,
            PlacementKind::Removed { was_terminating } => {
                if was_terminating {
                    return;
                }
                -1
            }
        };
        self.node_matches[i] = if delta > 0 {
            self.node_matches[i].saturating_add(1)
        } else {
            self.node_matches[i].saturating_sub(1)
        };
        if !self.node_included[i] {
            return;
        }
        let Some(domain) = self.domains.get_mut(self.node_domain[i] as usize) else {
            return;
        };
        let old = domain.matches;
        domain.matches += delta;
        let new = domain.matches;
        if let Some(c) = self.histogram.get_mut(&old) {
            *c -= 1;
            if *c == 0 {
                self.histogram.remove(&old);
            }
        }
        *self.histogram.entry(new).or_default() += 1;
    }

    /// Brings the index up to date with `snapshot`; false when it must be rebuilt.
    fn catch_up(&mut self, snapshot: &Snapshot) -> bool {
        let log = snapshot.change_log();
        if self.store != log.id()
            || self.node_generation != log.node_generation()
            || self.node_domain.len() != snapshot.nodes.len()
        {
            return false;
        }
        let Some(changes) = log.since(self.pod_generation) else {
            return false;
        };
        for change in changes {
            self.apply(change, snapshot);
        }
        self.pod_generation = log.pod_generation();
        true
    }
}

/// Which domain each node is in for one topology key (nodes without the key are in the `""`
/// domain), shared by the indexes of every constraint on that key.
#[derive(Debug)]
pub(crate) struct DomainMap {
    key: String,
    store: u64,
    node_generation: u64,
    last_used: u64,
    node_domain: Vec<u32>,
    node_has_label: Vec<bool>,
    domains: usize,
}

impl DomainMap {
    fn build(key: &str, snapshot: &Snapshot) -> Self {
        let n = snapshot.nodes.len();
        let mut node_domain = vec![NO_DOMAIN; n];
        let mut node_has_label = vec![false; n];
        let mut by_value: BTreeMap<&str, u32> = BTreeMap::new();
        for info in snapshot.live_nodes() {
            let i = info.id.index();
            let value = info.node.labels.get(key);
            let next = u32::try_from(by_value.len()).unwrap_or(NO_DOMAIN);
            node_domain[i] = *by_value.entry(value.unwrap_or("")).or_insert(next);
            node_has_label[i] = value.is_some();
        }
        let log = snapshot.change_log();
        DomainMap {
            key: key.to_string(),
            store: log.id(),
            node_generation: log.node_generation(),
            last_used: 0,
            node_domain,
            node_has_label,
            domains: by_value.len(),
        }
    }

    fn current(&self, key: &str, snapshot: &Snapshot) -> bool {
        let log = snapshot.change_log();
        self.key == key
            && self.store == log.id()
            && self.node_generation == log.node_generation()
            && self.node_domain.len() == snapshot.nodes.len()
    }
}

/// The kept indexes, least recently used dropped first.
#[derive(Debug, Default)]
pub(crate) struct Indexes {
    entries: Vec<SpreadIndex>,
    maps: Vec<DomainMap>,
    clock: u64,
}

impl Indexes {
    pub fn get(&self, slot: usize) -> &SpreadIndex {
        &self.entries[slot]
    }

    pub fn get_mut(&mut self, slot: usize) -> &mut SpreadIndex {
        &mut self.entries[slot]
    }

    /// The slot of the index for `view`, brought up to date; built if missing. `pinned` slots
    /// (in use by this cycle) are never evicted.
    pub fn lookup(&mut self, view: &ShapeView<'_>, snapshot: &Snapshot, pinned: &[usize]) -> usize {
        self.clock += 1;
        let found = self.entries.iter().position(|e| e.key.same_as(view));
        if let Some(slot) = found
            && self.entries[slot].catch_up(snapshot)
        {
            self.entries[slot].last_used = self.clock;
            return slot;
        }
        // Per-node matches of the same namespace and selector, from an up-to-date sibling.
        let mut shared = None;
        for (i, e) in self.entries.iter_mut().enumerate() {
            if Some(i) != found
                && e.key.namespace == view.namespace
                && e.key.selector.same_as(view.selector)
                && e.catch_up(snapshot)
            {
                shared = Some(e.node_matches.clone());
                break;
            }
        }
        let map = self.domain_map(view.topology_key, snapshot);
        let slot = match found {
            Some(slot) => slot,
            None => self.free_slot(pinned, ShapeKey::from_view(view)),
        };
        let entry = &mut self.entries[slot];
        entry.rebuild(view.pod, snapshot, &self.maps[map], shared);
        entry.last_used = self.clock;
        slot
    }

    /// A slot for a new index: a new one while there is room, else the least recently used
    /// one not pinned.
    fn free_slot(&mut self, pinned: &[usize], key: ShapeKey) -> usize {
        let index = SpreadIndex::new(key);
        super::super::helper::insert_lru(
            &mut self.entries,
            CAPACITY,
            pinned,
            |e| e.last_used,
            index,
        )
    }

    /// The position of the current domain map of `key`, built if needed.
    fn domain_map(&mut self, key: &str, snapshot: &Snapshot) -> usize {
        let found = self.maps.iter().position(|m| m.current(key, snapshot));
        let at = match found {
            Some(at) => at,
            None => {
                let map = DomainMap::build(key, snapshot);
                if self.maps.len() < DOMAIN_MAPS {
                    self.maps.push(map);
                    self.maps.len() - 1
                } else {
                    let at = self
                        .maps
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, m)| m.last_used)
                        .map_or(0, |(i, _)| i);
                    self.maps[at] = map;
                    at
                }
            }
        };
        self.maps[at].last_used = self.clock;
        at
    }
}
