//! Preemption: the PostFilter extension point and the `DefaultPreemption` plugin (upstream
//! `pkg/scheduler/framework/plugins/defaultpreemption/default_preemption.go` and
//! `pkg/scheduler/framework/preemption/preemption.go`), plus the scheduler's handling of
//! nominated pods (`RunFilterPluginsWithNominatedPods`, `addGENominatedPods`).
//!
//! When no node passes Filter, the framework runs the PostFilter plugins with every node's
//! filter status. DefaultPreemption then, as upstream's `Evaluator.Preempt`:
//!
//! 1. checks the pod may preempt (`PodEligibleToPreemptOthers`: not `preemptionPolicy: Never`,
//!    and no lower-priority pod preempted for it is still terminating on its nominated node);
//! 2. takes the nodes whose filter status is `Unschedulable` — `UnschedulableAndUnresolvable`
//!    ones (taints, affinity, …) cannot be fixed by removing pods;
//! 3. dry-runs `SelectVictimsOnNode` on them from a random offset until it has
//!    `max(nodes × minCandidateNodesPercentage%, minCandidateNodesAbsolute)` candidates (and at
//!    least one that violates no PodDisruptionBudget). Each node is dry-run on its own copy of
//!    the node and of the cycle's PreFilter state (`state.Clone()`): every lower-priority pod is
//!    removed, the PreFilter extensions' `RemovePod` taking it out of PodTopologySpread's and
//!    InterPodAffinity's counts, then the pods are reprieved one by one through `AddPod`, so a
//!    topology-spread or required (anti-)affinity failure can be resolved as upstream resolves it;
//! 4. picks one candidate with `pickOneNodeForPreemption`'s criteria, in order: fewest PDB
//!    violations, lowest highest-priority victim, smallest sum of victim priorities, fewest
//!    victims, latest start time of the highest-priority victims, then the first candidate.
//!
//! Filters with nominated pods (`RunFilterPluginsWithNominatedPods`) add the nominated pods of
//! equal or higher priority to a copy of the node and, through `AddPod`, to a copy of the cycle
//! state (`addGENominatedPods`): a nominated pod takes its room and counts for spreading and
//! inter-pod (anti-)affinity for the pods that must yield to it.
//!
//! The cycle stays pure: the result names the node to nominate and the victims, and the world
//! (`cluster::preemption`) deletes the victims gracefully and records the events.
//!
//! Deliberate differences from upstream, all for determinism or because kubesim has no such
//! machinery:
//! - Upstream gathers the potential nodes from a Go map and dry-runs them on 16 goroutines, so
//!   which candidates it finds past the first ones, and the final "first node" tie-break, vary
//!   between runs. kubesim takes the potential nodes in node order, dry-runs them one by one
//!   from the random offset, and breaks the last tie by that order.
//! - The cycle state the PreFilter extensions change holds, per plugin, the changes to its
//!   counts since PreFilter rather than a full copy of them (PodTopologySpread's and
//!   InterPodAffinity's counts are kept across cycles, see their modules); Filter reads counts
//!   plus changes, which is the copy upstream would have changed. PodTopologySpread's critical
//!   paths start from the domains in domain order where upstream walks a Go map, so when several
//!   domains tie for the minimum, kubesim keeps one of the pairs upstream may keep.
//! - A Filter plugin whose PreFilter point is disabled in the profile still gets its PreFilter
//!   state computed (see `framework::Plugin`), but no extensions run for it, as upstream runs
//!   them only for enabled PreFilter plugins (upstream's PodTopologySpread and InterPodAffinity
//!   Filters fail without their PreFilter state, so such a profile errors there).
//! - Start times are `status.startTime` (`PodRecord::start_time_ns`): for a pod from a dump,
//!   the start time it records; otherwise when the pod became Running in the run. A pod not yet
//!   started counts as starting now, as upstream's `GetPodStartTime` does with a nil
//!   `status.startTime`.
//! - PodDisruptionBudgets' `disruptionsAllowed` is computed from the store at the moment of the
//!   preemption, as if the disruption controller had just synced; `disruptedPods` is always
//!   empty because the scheduler deletes victims without the eviction API.

use std::cell::OnceCell;
use std::cmp::Ordering;

use rand::{Rng, RngCore};
use serde_json::Value;

use crate::api::pdb::PdbPod;
use crate::api::{NodeId, Pod, PodDisruptionBudget, PodId, PreemptionPolicy};
use crate::scheduler::framework::{Code, CycleState, ExtensionPoints, Plugin, Snapshot, Status};
use crate::scheduler::profile::{Profile, Slot};
use crate::store::{NodeInfo, PodRecord, Store};

/// Upstream `names.DefaultPreemption`.
pub const NAME: &str = "DefaultPreemption";
/// Upstream `SetDefaults_DefaultPreemptionArgs`.
pub const DEFAULT_MIN_CANDIDATE_NODES_PERCENTAGE: i32 = 10;
pub const DEFAULT_MIN_CANDIDATE_NODES_ABSOLUTE: i32 = 100;
/// Status messages, as upstream words them.
pub const NO_VICTIMS: &str = "No preemption victims found for incoming pod";
pub const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
pub const NOT_ELIGIBLE_NEVER: &str = "not eligible due to preemptionPolicy=Never.";
pub const NOT_ELIGIBLE_TERMINATING: &str =
    "not eligible due to a terminating pod on the nominated node.";

// ---------------------------------------------------------------------------------------------
// The store's side: nominations, graceful deletion, PDB status.

impl Store {
    /// Sets or clears a pod's `status.nominatedNodeName` (upstream `PodNominator`).
    pub fn set_nominated_node(&mut self, pod: PodId, node: Option<NodeId>) {
        self.clear_nomination(pod);
        let name = node.map(|n| self.node(n).name().to_string());
        if let Some(n) = node {
            self.nominated.entry(n).or_default().push(pod);
        }
        self.pod_mut(pod).pod.nominated_node_name = name;
    }

    /// Forgets a pod's nomination (it was bound, deleted, or nominated elsewhere).
    pub(crate) fn clear_nomination(&mut self, pod: PodId) {
        let Some(name) = self.pod_mut(pod).pod.nominated_node_name.take() else {
            return;
        };
        if let Some(node) = self.node_id(&name)
            && let Some(list) = self.nominated.get_mut(&node)
        {
            list.retain(|p| *p != pod);
            if list.is_empty() {
                self.nominated.remove(&node);
            }
        }
    }

    /// Pods nominated to `node`, in nomination order (upstream `NominatedPodsForNode`).
    pub fn nominated_pods(&self, node: NodeId) -> &[PodId] {
        self.nominated.get(&node).map_or(&[], Vec::as_slice)
    }

    /// `status.disruptionsAllowed` of every PDB, in `pdbs` order.
    pub fn pdb_disruptions_allowed(&self) -> Vec<i32> {
        self.pdbs
            .iter()
            .map(|pdb| {
                let pods = self.active_pods().map(|r| PdbPod {
                    pod: &r.pod,
                    healthy: is_healthy(r),
                });
                pdb.status(pods, |o| self.workload_scales.get(&(o.kind, o.id)).copied())
                    .disruptions_allowed
            })
            .collect()
    }
}

/// Upstream `countHealthyPods`: not being deleted, and Ready.
fn is_healthy(r: &PodRecord) -> bool {
    r.deletion_timestamp.is_none() && r.ready
}

impl PodRecord {
    /// Graceful deletion has started (`metadata.deletionTimestamp` is set).
    pub fn is_terminating(&self) -> bool {
        self.deletion_timestamp.is_some() && self.deleted_at.is_none()
    }
}

/// Upstream `NodeInfo.RemovePod` on a copy: what the dry run changes.
fn remove_from_node(info: &mut NodeInfo, record: &PodRecord) {
    let p = &record.pod;
    info.requested.sub(&p.requests);
    info.non_zero_requested_cpu_milli -= p.non_zero_cpu_milli;
    info.non_zero_requested_memory -= p.non_zero_memory;
    info.pods.retain(|id| *id != record.id);
    if let Some(request) = &p.gpu {
        for &d in &record.gpu_devices {
            if let Some(free) = info.gpu_free.get_mut(d as usize) {
                *free = (*free + request.milli).min(crate::gpu::MILLI_PER_GPU);
            }
        }
    }
}

/// Upstream `NodeInfo.AddPodInfo` on a copy. A nominated pod holds no GPU devices yet, so only
/// its requests count.
fn add_to_node(info: &mut NodeInfo, record: &PodRecord) {
    let p = &record.pod;
    info.requested.add(&p.requests);
    info.non_zero_requested_cpu_milli += p.non_zero_cpu_milli;
    info.non_zero_requested_memory += p.non_zero_memory;
    info.pods.push(record.id);
    if let Some(request) = &p.gpu {
        for &d in &record.gpu_devices {
            if let Some(free) = info.gpu_free.get_mut(d as usize) {
                *free = free.saturating_sub(request.milli);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Filters with nominated pods.

/// The profile's Filter plugins and PreFilter extensions, as a PostFilter plugin may run them
/// (upstream's framework handle: `RunFilterPlugins`, `RunFilterPluginsWithNominatedPods`,
/// `RunPreFilterExtensionAddPod` / `RemovePod`).
pub struct FilterRunner<'a> {
    plugins: &'a [Box<dyn Plugin>],
    slots: &'a [Slot],
    pre_filter_slots: &'a [Slot],
    skip: &'a [bool],
    state: &'a OnceCell<CycleState>,
}

impl<'a> FilterRunner<'a> {
    /// `state` caches this cycle's [`CycleState`]; it must be empty at the start of the cycle.
    pub(crate) fn new(
        profile: &'a Profile,
        skip: &'a [bool],
        state: &'a OnceCell<CycleState>,
    ) -> Self {
        FilterRunner {
            plugins: &profile.plugins,
            slots: profile.slots(ExtensionPoints::FILTER),
            pre_filter_slots: profile.slots(ExtensionPoints::PRE_FILTER),
            skip,
            state,
        }
    }

    /// This cycle's PreFilter state, as the plugins with PreFilter extensions computed it: the
    /// value upstream's `state.Clone()` copies. Built at the first call of the cycle.
    pub fn cycle_state(&self) -> &CycleState {
        self.state.get_or_init(|| {
            let mut state = CycleState::default();
            for slot in self.pre_filter_slots {
                if self.skip[slot.plugin] {
                    continue;
                }
                if let Some(data) = self.plugins[slot.plugin].pre_filter_state() {
                    state.push(slot.plugin, data);
                }
            }
            state
        })
    }

    /// Upstream `RunFilterPlugins` with the cycle's own state.
    pub fn run(&self, pod: &Pod, node: &NodeInfo, snapshot: &Snapshot) -> Status {
        super::run_filters(
            self.plugins,
            self.slots,
            self.skip,
            pod,
            node,
            snapshot,
            None,
        )
    }

    /// Upstream `RunFilterPlugins` with `state`, a copy of the cycle state the PreFilter
    /// extensions may have changed.
    pub fn run_with_state(
        &self,
        pod: &Pod,
        node: &NodeInfo,
        snapshot: &Snapshot,
        state: &CycleState,
    ) -> Status {
        super::run_filters(
            self.plugins,
            self.slots,
            self.skip,
            pod,
            node,
            snapshot,
            Some(state),
        )
    }

    /// Upstream `RunPreFilterExtensionAddPod`: every plugin in `state`, in PreFilter order; the
    /// first failure is an error naming the plugin.
    pub fn add_pod(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        pod_to_add: &Pod,
        node: &NodeInfo,
        snapshot: &Snapshot,
    ) -> Status {
        for (i, data) in state.entries_mut() {
            let plugin = &self.plugins[i];
            let status = plugin.add_pod(data, pod, pod_to_add, node, snapshot);
            if !status.is_success() {
                return Status::error(format!(
                    "running AddPod on PreFilter plugin {:?}: {status}",
                    plugin.name()
                ))
                .with_plugin(plugin.name());
            }
        }
        Status::success()
    }

    /// Upstream `RunPreFilterExtensionRemovePod`.
    pub fn remove_pod(
        &self,
        state: &mut CycleState,
        pod: &Pod,
        pod_to_remove: &Pod,
        node: &NodeInfo,
        snapshot: &Snapshot,
    ) -> Status {
        for (i, data) in state.entries_mut() {
            let plugin = &self.plugins[i];
            let status = plugin.remove_pod(data, pod, pod_to_remove, node, snapshot);
            if !status.is_success() {
                return Status::error(format!(
                    "running RemovePod on PreFilter plugin {:?}: {status}",
                    plugin.name()
                ))
                .with_plugin(plugin.name());
            }
        }
        Status::success()
    }

    /// Upstream `RunFilterPluginsWithNominatedPods` with the cycle's own state: when pods of
    /// equal or higher priority are nominated to the node, the pod must fit both with them
    /// added ("the current pod must yield to them and not take a space opened for running
    /// them") and without them.
    pub fn run_with_nominated_pods(
        &self,
        pod: &Pod,
        node: &NodeInfo,
        snapshot: &Snapshot,
    ) -> Status {
        self.run_with_nominated_pods_in(pod, node, snapshot, None)
    }

    /// Upstream `RunFilterPluginsWithNominatedPods` with `state` (`None`: the cycle's own):
    /// the nominated pods are added to a copy of the node and of the state (`addGENominatedPods`
    /// runs AddPod on a clone), so a nominated pod counts for spreading and inter-pod
    /// (anti-)affinity too.
    pub fn run_with_nominated_pods_in(
        &self,
        pod: &Pod,
        node: &NodeInfo,
        snapshot: &Snapshot,
        state: Option<&CycleState>,
    ) -> Status {
        let added = match with_nominated_pods(self, pod, node, snapshot, state) {
            Ok(added) => added,
            Err(status) => return status,
        };
        if let Some((with_nominated, state_with_nominated)) = added {
            let status = self.run_with_state(pod, &with_nominated, snapshot, &state_with_nominated);
            if !status.is_success() {
                return status;
            }
        }
        match state {
            None => self.run(pod, node, snapshot),
            Some(state) => self.run_with_state(pod, node, snapshot, state),
        }
    }
}

/// Upstream `addGENominatedPods`: copies of the node and of `state` (`None`: the cycle's own)
/// with the nominated pods of priority ≥ the pod's (other than the pod itself) added, each
/// through the PreFilter extensions' AddPod; `None` when there are none.
fn with_nominated_pods(
    runner: &FilterRunner<'_>,
    pod: &Pod,
    node: &NodeInfo,
    snapshot: &Snapshot,
    state: Option<&CycleState>,
) -> Result<Option<(NodeInfo, CycleState)>, Status> {
    let nominated = snapshot.nominated_pods(node.id);
    if nominated.is_empty() {
        return Ok(None);
    }
    let mut out: Option<(NodeInfo, CycleState)> = None;
    for &id in nominated {
        let r = snapshot.pod(id);
        if r.pod.priority >= pod.priority
            && !(r.pod.name == pod.name && r.pod.namespace == pod.namespace)
        {
            let (info, cycle_state) = out.get_or_insert_with(|| {
                let state = state.unwrap_or_else(|| runner.cycle_state());
                (node.clone(), state.clone())
            });
            add_to_node(info, r);
            let status = runner.add_pod(cycle_state, pod, &r.pod, info, snapshot);
            if !status.is_success() {
                return Err(status);
            }
        }
    }
    Ok(out)
}

/// The node a pod is nominated to, if it still exists (upstream `evaluateNominatedNode` looks
/// it up in the snapshot).
pub fn nominated_node(pod: &Pod, snapshot: &Snapshot) -> Option<NodeId> {
    let id = snapshot.node_id(pod.nominated_node_name.as_deref()?)?;
    snapshot.node(id).exists.then_some(id)
}

// ---------------------------------------------------------------------------------------------
// PostFilter.

/// Upstream `NodeToStatus`: the filter status of the nodes that were filtered, and one status
/// for every other node (upstream's default is UnschedulableAndUnresolvable).
#[derive(Clone, Debug)]
pub struct NodeToStatus {
    pub explicit: Vec<(NodeId, Status)>,
    pub absent: Status,
}

impl NodeToStatus {
    /// One node's status. A linear search of the filtered nodes: to look many nodes up, take
    /// [`NodeToStatus::by_node`] once.
    pub fn get(&self, node: NodeId) -> &Status {
        #[cfg(test)]
        probes::add(self.explicit.len() as u64);
        self.explicit
            .iter()
            .find(|(n, _)| *n == node)
            .map_or(&self.absent, |(_, s)| s)
    }

    /// Every node's status, indexed by node id, for `nodes` node ids: one pass over the
    /// filtered nodes, so that asking for every node's status costs O(nodes) rather than
    /// O(nodes × filtered nodes) — a pod that fits nowhere on 100,000 nodes would otherwise make
    /// each failed attempt quadratic. The first status listed for a node wins, as in [`get`].
    ///
    /// [`get`]: NodeToStatus::get
    pub fn by_node(&self, nodes: usize) -> NodeStatuses<'_> {
        #[cfg(test)]
        probes::add(self.explicit.len() as u64);
        let mut slots: Vec<Option<&Status>> = vec![None; nodes];
        for (node, status) in &self.explicit {
            if let Some(slot) = slots.get_mut(node.index())
                && slot.is_none()
            {
                *slot = Some(status);
            }
        }
        NodeStatuses {
            slots,
            absent: &self.absent,
        }
    }
}

/// [`NodeToStatus`] indexed by node id (see [`NodeToStatus::by_node`]).
pub struct NodeStatuses<'a> {
    slots: Vec<Option<&'a Status>>,
    absent: &'a Status,
}

impl<'a> NodeStatuses<'a> {
    pub fn get(&self, node: NodeId) -> &'a Status {
        #[cfg(test)]
        probes::add(1);
        self.slots
            .get(node.index())
            .copied()
            .flatten()
            .unwrap_or(self.absent)
    }
}

/// How many node statuses were examined: the scale test's measure of a failed attempt's cost,
/// which must grow linearly with the nodes.
#[cfg(test)]
pub(crate) mod probes {
    use std::cell::Cell;

    thread_local! {
        static PROBES: Cell<u64> = const { Cell::new(0) };
    }

    pub(crate) fn add(n: u64) {
        PROBES.with(|p| p.set(p.get().saturating_add(n)));
    }

    /// The count so far on this thread, resetting it.
    pub(crate) fn take() -> u64 {
        PROBES.with(|p| p.replace(0))
    }
}

/// What a PostFilter plugin gets (upstream: the framework handle, the node statuses, and the
/// cycle's random source).
pub struct PostFilterHandle<'a> {
    pub snapshot: &'a Snapshot,
    pub statuses: &'a NodeToStatus,
    pub filters: FilterRunner<'a>,
    pub rng: &'a mut dyn RngCore,
    /// Record a [`PreemptionExplanation`].
    pub explain: bool,
}

/// Upstream `PostFilterResult` + `Status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostFilterResult {
    pub status: Status,
    /// Upstream `NominatingInfo`: `Some(Some(node))` nominates, `Some(None)` clears the pod's
    /// nomination, `None` leaves it as it is.
    pub nominate: Option<Option<NodeId>>,
    /// Pods to delete so the pod fits on the nominated node (most important first).
    pub victims: Vec<PodId>,
    pub explanation: Option<PreemptionExplanation>,
}

impl PostFilterResult {
    pub fn status(status: Status) -> Self {
        PostFilterResult {
            status,
            nominate: None,
            victims: Vec::new(),
            explanation: None,
        }
    }
}

/// One node the dry run found preemption would help on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub node: NodeId,
    pub name: String,
    /// Most important first.
    pub victims: Vec<PodId>,
    pub num_pdb_violations: i64,
}

/// The preemption decision, for `explain`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreemptionExplanation {
    /// Nodes whose failure preemption might fix (status Unschedulable).
    pub potential_nodes: usize,
    /// Where the dry run started, and how many candidates it looked for.
    pub offset: usize,
    pub num_candidates: usize,
    pub candidates: Vec<Candidate>,
    /// Nodes the dry run ruled out, with why.
    pub rejected: Vec<(NodeId, String)>,
    pub chosen: Option<NodeId>,
    /// Which `pickOneNodeForPreemption` criterion decided, or why nothing was chosen.
    pub reason: String,
}

/// Upstream `RunPostFilterPlugins`: the first success or UnschedulableAndUnresolvable wins;
/// otherwise the reasons of all plugins are joined and the last meaningful result kept.
/// `None` when the profile has no PostFilter plugin.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_post_filter_plugins(
    profile: &Profile,
    filter_skip: &[bool],
    cycle_state: &OnceCell<CycleState>,
    pod: &Pod,
    snapshot: &Snapshot,
    statuses: &NodeToStatus,
    rng: &mut dyn RngCore,
    explain: bool,
) -> Option<PostFilterResult> {
    let slots = profile.slots(ExtensionPoints::POST_FILTER);
    if slots.is_empty() {
        return None;
    }
    let mut reasons: Vec<String> = Vec::new();
    let mut rejector = String::new();
    let mut kept: Option<PostFilterResult> = None;
    for slot in slots {
        let plugin = &profile.plugins[slot.plugin];
        let mut handle = PostFilterHandle {
            snapshot,
            statuses,
            filters: FilterRunner::new(profile, filter_skip, cycle_state),
            rng: &mut *rng,
            explain,
        };
        let mut r = plugin.post_filter(pod, &mut handle);
        r.status = r.status.with_plugin(plugin.name());
        if r.status.is_success() || r.status.code == Code::UnschedulableAndUnresolvable {
            return Some(r);
        }
        if !r.status.is_rejected() {
            r.status = Status::error(r.status.to_string()).with_plugin(plugin.name());
            return Some(r);
        }
        reasons.extend(r.status.reasons.iter().cloned());
        if rejector.is_empty() {
            rejector = plugin.name().to_string();
        }
        if r.nominate.is_some() || kept.is_none() {
            kept = Some(r);
        }
    }
    let mut result = kept.unwrap_or_else(|| PostFilterResult::status(Status::success()));
    result.status = Status::with_reasons(Code::Unschedulable, reasons).with_plugin(&rejector);
    Some(result)
}

// ---------------------------------------------------------------------------------------------
// DefaultPreemption.

/// Upstream `DefaultPreemptionArgs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefaultPreemptionArgs {
    pub min_candidate_nodes_percentage: i32,
    pub min_candidate_nodes_absolute: i32,
}

impl Default for DefaultPreemptionArgs {
    fn default() -> Self {
        DefaultPreemptionArgs {
            min_candidate_nodes_percentage: DEFAULT_MIN_CANDIDATE_NODES_PERCENTAGE,
            min_candidate_nodes_absolute: DEFAULT_MIN_CANDIDATE_NODES_ABSOLUTE,
        }
    }
}

impl DefaultPreemptionArgs {
    /// Reads `pluginConfig` args and validates them as `ValidateDefaultPreemptionArgs`.
    pub fn parse(args: Option<&Value>) -> Result<Self, String> {
        let mut out = DefaultPreemptionArgs::default();
        let Some(args) = args else { return Ok(out) };
        let Some(map) = args.as_object() else {
            return Err("DefaultPreemptionArgs must be a mapping".into());
        };
        for (key, value) in map {
            let number = || {
                value
                    .as_i64()
                    .and_then(|v| i32::try_from(v).ok())
                    .ok_or_else(|| format!("{key}: must be a whole number, got {value}"))
            };
            match key.as_str() {
                "apiVersion" | "kind" => {}
                "minCandidateNodesPercentage" => out.min_candidate_nodes_percentage = number()?,
                "minCandidateNodesAbsolute" => out.min_candidate_nodes_absolute = number()?,
                other => {
                    return Err(format!(
                        "unknown field \"{other}\" in DefaultPreemptionArgs (expected minCandidateNodesPercentage or minCandidateNodesAbsolute)"
                    ));
                }
            }
        }
        let (p, a) = (
            out.min_candidate_nodes_percentage,
            out.min_candidate_nodes_absolute,
        );
        if !(0..=100).contains(&p) {
            return Err(format!(
                "minCandidateNodesPercentage: Invalid value: {p}: not in valid range [0, 100]"
            ));
        }
        if a < 0 {
            return Err(format!(
                "minCandidateNodesAbsolute: Invalid value: {a}: not in valid range [0, inf)"
            ));
        }
        if p == 0 && a == 0 {
            return Err("minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as minCandidateNodesAbsolute".into());
        }
        Ok(out)
    }

    /// Upstream `calculateNumCandidates`: `nodes × percentage / 100`, at least the absolute
    /// minimum, at most the number of nodes.
    pub fn num_candidates(&self, num_nodes: usize) -> usize {
        let n = i64::try_from(num_nodes).unwrap_or(i64::MAX);
        let c = (n.saturating_mul(i64::from(self.min_candidate_nodes_percentage)) / 100)
            .max(i64::from(self.min_candidate_nodes_absolute))
            .min(n);
        usize::try_from(c).unwrap_or(num_nodes)
    }
}

/// The DefaultPreemption PostFilter plugin.
#[derive(Debug, Default)]
pub struct DefaultPreemption {
    pub args: DefaultPreemptionArgs,
}

impl DefaultPreemption {
    pub fn factory(args: Option<&Value>) -> Result<Box<dyn Plugin>, String> {
        Ok(Box::new(DefaultPreemption {
            args: DefaultPreemptionArgs::parse(args)?,
        }))
    }
}

impl Plugin for DefaultPreemption {
    fn name(&self) -> &str {
        NAME
    }

    fn extension_points(&self) -> ExtensionPoints {
        ExtensionPoints::POST_FILTER
    }

    /// Upstream `DefaultPreemption.PostFilter`: `Evaluator.Preempt`, its message prefixed
    /// with "preemption: ".
    fn post_filter(&self, pod: &Pod, handle: &mut PostFilterHandle<'_>) -> PostFilterResult {
        let mut result = preempt(&self.args, pod, handle);
        if !result.status.reasons.is_empty() {
            let message = result.status.reasons.join(", ");
            result.status = Status::new(result.status.code, format!("preemption: {message}"));
        }
        result
    }
}

/// Upstream `PodEligibleToPreemptOthers`.
pub fn pod_eligible_to_preempt_others(
    pod: &Pod,
    snapshot: &Snapshot,
    nominated_node_status: Option<&Status>,
) -> Result<(), &'static str> {
    if pod.preemption_policy == PreemptionPolicy::Never {
        return Err(NOT_ELIGIBLE_NEVER);
    }
    if let Some(name) = &pod.nominated_node_name {
        // "If the pod's nominated node is considered as UnschedulableAndUnresolvable by the
        // filters, then the pod should be considered for preempting again."
        if nominated_node_status.is_none_or(|s| s.code == Code::UnschedulableAndUnresolvable) {
            return Ok(());
        }
        if let Some(id) = snapshot.node_id(name) {
            let terminating = snapshot.node(id).pods.iter().any(|&p| {
                let r = snapshot.pod(p);
                r.pod.priority < pod.priority && r.is_terminating() && r.preempted_by_scheduler
            });
            if terminating {
                return Err(NOT_ELIGIBLE_TERMINATING);
            }
        }
    }
    Ok(())
}

/// A pod's start time for ordering: its `status.startTime` (a dumped pod's recorded start, else
/// when it became Running); never started counts as "now", later than every real start
/// (upstream `GetPodStartTime`).
fn start_time(r: &PodRecord) -> i128 {
    r.start_time_ns().unwrap_or(i128::MAX)
}

/// Upstream `util.MoreImportantPod`: higher priority first, then the earlier start. Ties keep
/// store order (upstream's `sort.Slice` is not stable; kubesim must be deterministic).
pub fn more_important(a: &PodRecord, b: &PodRecord) -> Ordering {
    b.pod
        .priority
        .cmp(&a.pod.priority)
        .then_with(|| start_time(a).cmp(&start_time(b)))
}

/// Upstream `filterPodsWithPDBViolation`: splits `pods` (order kept) into those whose eviction
/// would take a matching PDB below zero disruptions allowed, and the others. `allowed` is each
/// PDB's `disruptionsAllowed`, decremented as pods are counted against it.
pub fn filter_pods_with_pdb_violation(
    pods: &[PodId],
    snapshot: &Snapshot,
    pdbs: &[PodDisruptionBudget],
    allowed: &[i32],
) -> (Vec<PodId>, Vec<PodId>) {
    let mut allowed = allowed.to_vec();
    let (mut violating, mut non_violating) = (Vec::new(), Vec::new());
    for &id in pods {
        let pod = &snapshot.pod(id).pod;
        let mut violated = false;
        for (i, pdb) in pdbs.iter().enumerate() {
            if !pdb.matches_for_preemption(pod) {
                continue;
            }
            // "Only decrement the matched pdb when it's not in its <DisruptedPods>": kubesim's
            // DisruptedPods is always empty.
            allowed[i] -= 1;
            if allowed[i] < 0 {
                violated = true;
            }
        }
        if violated {
            violating.push(id);
        } else {
            non_violating.push(id);
        }
    }
    (violating, non_violating)
}

/// Upstream `SelectVictimsOnNode`: remove every lower-priority pod; if the pod then fits,
/// reprieve as many as possible, PDB-violating ones first, each group most important first.
/// Pods are removed from and added back to a copy of the node and, through the PreFilter
/// extensions (`removePod` / `addPod`), to a copy of the cycle state. Returns the victims (most
/// important first) and how many of them violate a PDB, or the status that rules the node out
/// (an error when a PreFilter extension fails, as upstream's `AsStatus(err)`).
pub fn select_victims_on_node(
    pod: &Pod,
    node: &NodeInfo,
    snapshot: &Snapshot,
    filters: &FilterRunner<'_>,
    pdbs: &[PodDisruptionBudget],
    pdb_allowed: &[i32],
) -> Result<(Vec<PodId>, i64), Status> {
    let mut potential: Vec<PodId> = node
        .pods
        .iter()
        .copied()
        .filter(|&p| snapshot.pod(p).pod.priority < pod.priority)
        .collect();
    if potential.is_empty() {
        return Err(Status::unresolvable(NO_VICTIMS));
    }
    // Upstream `DryRunPreemption`: each node is checked on its own copy of the node and of the
    // cycle state (`stateCopy := state.Clone()`), which RemovePod / AddPod then change.
    let mut state = filters.cycle_state().clone();
    let mut copy = node.clone();
    let remove = |id: PodId, copy: &mut NodeInfo, state: &mut CycleState| -> Result<(), Status> {
        let r = snapshot.pod(id);
        remove_from_node(copy, r);
        let status = filters.remove_pod(state, pod, &r.pod, copy, snapshot);
        if status.is_success() {
            Ok(())
        } else {
            Err(status)
        }
    };
    for &p in &potential {
        remove(p, &mut copy, &mut state)?;
    }
    // "If the new pod does not fit after removing all the eligible pods, we are almost done
    // and this node is not suitable for preemption."
    let status = filters.run_with_nominated_pods_in(pod, &copy, snapshot, Some(&state));
    if !status.is_success() {
        return Err(status);
    }
    potential.sort_by(|&a, &b| more_important(snapshot.pod(a), snapshot.pod(b)));
    let (violating, non_violating) =
        filter_pods_with_pdb_violation(&potential, snapshot, pdbs, pdb_allowed);
    let mut victims = Vec::new();
    let mut num_violating = 0i64;
    let mut reprieve =
        |id: PodId, copy: &mut NodeInfo, state: &mut CycleState| -> Result<bool, Status> {
            let r = snapshot.pod(id);
            add_to_node(copy, r);
            let status = filters.add_pod(state, pod, &r.pod, copy, snapshot);
            if !status.is_success() {
                return Err(status);
            }
            let fits = filters
                .run_with_nominated_pods_in(pod, copy, snapshot, Some(state))
                .is_success();
            if !fits {
                remove(id, copy, state)?;
                victims.push(id);
            }
            Ok(fits)
        };
    for &p in &violating {
        if !reprieve(p, &mut copy, &mut state)? {
            num_violating += 1;
        }
    }
    for &p in &non_violating {
        reprieve(p, &mut copy, &mut state)?;
    }
    if !violating.is_empty() && !non_violating.is_empty() {
        victims.sort_by(|&a, &b| more_important(snapshot.pod(a), snapshot.pod(b)));
    }
    Ok((victims, num_violating))
}

/// The `pickOneNodeForPreemption` criteria, in upstream's order of precedence.
pub const PICK_CRITERIA: [&str; 5] = [
    "fewest PodDisruptionBudget violations",
    "lowest highest-priority victim",
    "smallest sum of victim priorities",
    "fewest victims",
    "latest start time of the highest-priority victims",
];

/// Upstream `pickOneNodeForPreemption` with the default score functions: each criterion keeps
/// the candidates with the best score; the first to leave one decides. Returns the chosen
/// index and the criterion (`None`: still tied after all five, the first is taken).
pub fn pick_one_node_for_preemption(
    candidates: &[Candidate],
    snapshot: &Snapshot,
) -> Option<(usize, Option<&'static str>)> {
    if candidates.is_empty() {
        return None;
    }
    let priority = |id: &PodId| snapshot.pod(*id).pod.priority;
    let score = |k: usize, c: &Candidate| -> i64 {
        match k {
            0 => -c.num_pdb_violations,
            1 => -i64::from(c.victims.first().map_or(0, priority)),
            // "We add MaxInt32+1 to all priorities to make all of them >= 0."
            2 => -c
                .victims
                .iter()
                .map(|v| i64::from(priority(v)) + i64::from(i32::MAX) + 1)
                .sum::<i64>(),
            3 => -i64::try_from(c.victims.len()).unwrap_or(i64::MAX),
            _ => earliest_start_of_highest_priority(&c.victims, snapshot),
        }
    };
    let mut remaining: Vec<usize> = (0..candidates.len()).collect();
    for (k, criterion) in PICK_CRITERIA.iter().enumerate() {
        let best = remaining
            .iter()
            .map(|&i| score(k, &candidates[i]))
            .max()
            .unwrap_or(i64::MIN);
        remaining.retain(|&i| score(k, &candidates[i]) == best);
        if remaining.len() == 1 {
            return Some((remaining[0], Some(criterion)));
        }
    }
    remaining.first().map(|&i| (i, None))
}

/// Upstream `GetEarliestPodStartTime`: the earliest start among the victims of the highest
/// priority (as nanoseconds; a pod not started yet counts as the latest possible).
fn earliest_start_of_highest_priority(victims: &[PodId], snapshot: &Snapshot) -> i64 {
    let highest = victims.iter().map(|v| snapshot.pod(*v).pod.priority).max();
    let earliest = victims
        .iter()
        .map(|v| snapshot.pod(*v))
        .filter(|r| Some(r.pod.priority) == highest)
        .map(start_time)
        .min()
        .unwrap_or(i128::MAX);
    i64::try_from(earliest).unwrap_or(i64::MAX)
}

/// Upstream `Evaluator.Preempt` (without the "preemption: " prefix).
fn preempt(
    args: &DefaultPreemptionArgs,
    pod: &Pod,
    h: &mut PostFilterHandle<'_>,
) -> PostFilterResult {
    let snapshot = h.snapshot;
    let statuses = h.statuses.by_node(snapshot.nodes.len());
    // 1) Is the pod eligible to preempt? Upstream `m.Get(NominatedNodeName)`.
    let nominated_status = pod
        .nominated_node_name
        .as_deref()
        .and_then(|n| snapshot.node_id(n))
        .map(|n| statuses.get(n));
    if let Err(why) = pod_eligible_to_preempt_others(pod, snapshot, nominated_status) {
        return PostFilterResult::status(Status::unschedulable(why));
    }

    // 2) Find the candidates: the nodes whose failure was Unschedulable, in node order.
    let all: Vec<&NodeInfo> = snapshot.live_nodes().collect();
    let potential: Vec<&NodeInfo> = all
        .iter()
        .copied()
        .filter(|n| statuses.get(n.id).code == Code::Unschedulable)
        .collect();
    let mut explanation = PreemptionExplanation {
        potential_nodes: potential.len(),
        offset: 0,
        num_candidates: 0,
        candidates: Vec::new(),
        rejected: Vec::new(),
        chosen: None,
        reason: String::new(),
    };
    let mut dry_run_statuses: Vec<(NodeId, Status)> = Vec::new();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut error: Option<String> = None;
    if !potential.is_empty() {
        let pdbs = &snapshot.pdbs;
        let allowed = snapshot.pdb_disruptions_allowed();
        // Upstream `GetOffsetAndNumCandidates`: `rand.Int31n(numNodes)`.
        let offset = h.rng.random_range(0..potential.len());
        let wanted = args.num_candidates(potential.len());
        explanation.offset = offset;
        explanation.num_candidates = wanted;
        // Upstream `DryRunPreemption`: two lists of at most `wanted` each; stop once there is a
        // non-violating candidate and `wanted` in all.
        let (mut non_violating, mut violating): (Vec<Candidate>, Vec<Candidate>) =
            (Vec::new(), Vec::new());
        for i in 0..potential.len() {
            let node = potential[(offset + i) % potential.len()];
            match select_victims_on_node(pod, node, snapshot, &h.filters, pdbs, &allowed) {
                Ok((victims, n)) if !victims.is_empty() => {
                    let c = Candidate {
                        node: node.id,
                        name: node.name().to_string(),
                        victims,
                        num_pdb_violations: n,
                    };
                    let list = if n == 0 {
                        &mut non_violating
                    } else {
                        &mut violating
                    };
                    if list.len() < wanted {
                        list.push(c);
                    }
                    if !non_violating.is_empty() && non_violating.len() + violating.len() >= wanted
                    {
                        break;
                    }
                }
                Ok(_) => {
                    let message =
                        format!("expected at least one victim pod on node {:?}", node.name());
                    error.get_or_insert_with(|| message.clone());
                    dry_run_statuses.push((node.id, Status::error(message)));
                }
                Err(status) => {
                    if status.code == Code::Error {
                        error.get_or_insert_with(|| status.to_string());
                    }
                    dry_run_statuses.push((node.id, status));
                }
            }
        }
        candidates = non_violating;
        candidates.append(&mut violating);
    }
    if h.explain {
        explanation.candidates.clone_from(&candidates);
        explanation.rejected = dry_run_statuses
            .iter()
            .map(|(n, s)| (*n, s.reasons.join(", ")))
            .collect();
    }
    let with_explanation = |mut r: PostFilterResult, e: PreemptionExplanation| {
        if h.explain {
            r.explanation = Some(e);
        }
        r
    };
    if candidates.is_empty() {
        if let Some(e) = error {
            explanation.reason = e.clone();
            return with_explanation(PostFilterResult::status(Status::error(e)), explanation);
        }
        // Upstream returns a FitError over the dry run's statuses, every other node "Preemption
        // is not helpful for scheduling", and clears the pod's nomination.
        let absent = all.len().saturating_sub(dry_run_statuses.len());
        let reasons = dry_run_statuses
            .iter()
            .flat_map(|(_, s)| s.reasons.iter().map(|r| (r.as_str(), 1)))
            .chain((absent > 0).then_some((NOT_HELPFUL, absent)));
        let message = super::fit_error_message(all.len(), None, reasons);
        explanation.reason = "no candidate node: preemption cannot make room".into();
        let mut r = PostFilterResult::status(Status::unschedulable(message));
        r.nominate = Some(None);
        return with_explanation(r, explanation);
    }
    // 4) The best candidate.
    let Some((chosen, criterion)) = pick_one_node_for_preemption(&candidates, snapshot) else {
        return PostFilterResult::status(Status::unschedulable("no candidate node for preemption"));
    };
    let best = candidates.swap_remove(chosen);
    explanation.chosen = Some(best.node);
    explanation.reason = match (candidates.is_empty(), criterion) {
        (true, _) => "the only candidate".to_string(),
        (false, Some(c)) => c.to_string(),
        (false, None) => "tied on every criterion: the first candidate".to_string(),
    };
    let r = PostFilterResult {
        status: Status::success(),
        nominate: Some(Some(best.node)),
        victims: best.victims,
        explanation: None,
    };
    with_explanation(r, explanation)
}

// ---------------------------------------------------------------------------------------------
// The cycle's side (upstream `schedulingCycle` / `findNodesThatFitPod`).

/// What the explanation says when the nominated node passed and was taken directly.
pub const NOMINATED_NODE_FITS: &str =
    "the pod's nominated node passes the filters: taken without searching or scoring, as upstream";

impl super::Cycle<'_> {
    /// Upstream `evaluateNominatedNode`: a pod nominated by an earlier preemption tries that
    /// node first, alone; if it passes, it is the one feasible node and no scoring runs.
    pub(super) fn evaluate_nominated_node(
        &mut self,
        absent_reason: Option<&str>,
        explain: bool,
    ) -> Option<super::ScheduleResult> {
        let id = nominated_node(self.pod, self.snapshot)?;
        let status = FilterRunner::new(self.profile, &self.buf.filter_skip, &self.buf.cycle_state)
            .run_with_nominated_pods(self.pod, self.snapshot.node(id), self.snapshot);
        if !status.is_success() {
            return None;
        }
        self.buf.feasible.clear();
        self.buf.feasible.push(id);
        self.buf.failed.clear();
        let explanation = explain.then(|| self.explain(absent_reason, Some(NOMINATED_NODE_FITS)));
        Some(super::ScheduleResult {
            selected: Some(id),
            evaluated_nodes: 1,
            feasible_nodes: 1,
            message: None,
            explanation,
            nominated_node: None,
            victims: Vec::new(),
            clear_nomination: false,
        })
    }

    /// Upstream: "SchedulePod() may have failed because the pod would not fit on any host, so
    /// we try to preempt". The PostFilter message is appended to the FitError message
    /// (`FitError.Error()`: `" %v"`), and the nomination and victims go into the result.
    pub(super) fn post_filter<R: Rng>(
        &mut self,
        result: &mut super::ScheduleResult,
        statuses: &NodeToStatus,
        rng: &mut R,
        explain: bool,
    ) {
        let rng: &mut dyn RngCore = rng;
        let Some(r) = run_post_filter_plugins(
            self.profile,
            &self.buf.filter_skip,
            &self.buf.cycle_state,
            self.pod,
            self.snapshot,
            statuses,
            rng,
            explain,
        ) else {
            return;
        };
        let message = r.status.reasons.join(", ");
        if !message.is_empty() {
            let fit = result.message.take().unwrap_or_default();
            result.message = Some(format!("{fit} {message}"));
        }
        match r.nominate {
            Some(Some(node)) => {
                result.nominated_node = Some(node);
                result.victims = r.victims;
            }
            Some(None) => result.clear_nomination = true,
            None => {}
        }
        if let Some(e) = result.explanation.as_mut() {
            e.preemption = r.explanation;
        }
    }
}

#[cfg(test)]
mod tests;
