//! The scheduling framework: extension points, `Status` codes and the `Plugin` trait, named as
//! in kube-scheduler (`pkg/scheduler/framework/interface.go`).
//!
//! One deliberate difference from upstream: the cycle's state is not a `CycleState` map that
//! every extension point reads. Upstream plugins are shared by goroutines and so keep per-cycle
//! data in a concurrent map; kubesim schedules on one thread, so a plugin keeps what its
//! PreFilter/PreScore computed in its own fields (`&mut self`) and reads it back in Filter/Score
//! (`&self`). Same semantics, no map lookups per node.
//!
//! The one place upstream changes that state is the PreFilter extensions (`AddPod`/`RemovePod`):
//! preemption's dry run and the filters with nominated pods run them on a copy of the cycle state
//! (`CycleState.Clone`). For that, a plugin with extensions hands out its PreFilter state as a
//! [`StateData`] value ([`Plugin::pre_filter_state`]), updates such a value in
//! [`Plugin::add_pod`] / [`Plugin::remove_pod`], and filters against it in
//! [`Plugin::filter_with_state`]; [`CycleState`] holds those values, one per plugin. The normal
//! cycle never builds one.

use std::any::Any;
use std::collections::BTreeSet;
use std::fmt;

use crate::api::{NodeId, Pod};
use crate::store::{NodeInfo, Store};

/// The scheduler's view of the cluster during a cycle (upstream `framework.Snapshot`).
pub type Snapshot = Store;

/// Upstream `framework.MaxNodeScore`.
pub const MAX_NODE_SCORE: i64 = 100;
/// Upstream `framework.MinNodeScore`.
pub const MIN_NODE_SCORE: i64 = 0;

/// Upstream `framework.Code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Code {
    Success,
    Error,
    Unschedulable,
    UnschedulableAndUnresolvable,
    Wait,
    Skip,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Success => "Success",
            Code::Error => "Error",
            Code::Unschedulable => "Unschedulable",
            Code::UnschedulableAndUnresolvable => "UnschedulableAndUnresolvable",
            Code::Wait => "Wait",
            Code::Skip => "Skip",
        }
    }
}

/// Upstream `framework.Status`: a code, reasons a person can read, and the plugin that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub code: Code,
    pub reasons: Vec<String>,
    pub plugin: String,
}

impl Status {
    pub fn success() -> Status {
        Status {
            code: Code::Success,
            reasons: Vec::new(),
            plugin: String::new(),
        }
    }

    pub fn skip() -> Status {
        Status {
            code: Code::Skip,
            reasons: Vec::new(),
            plugin: String::new(),
        }
    }

    pub fn new(code: Code, reason: impl Into<String>) -> Status {
        Status {
            code,
            reasons: vec![reason.into()],
            plugin: String::new(),
        }
    }

    pub fn unschedulable(reason: impl Into<String>) -> Status {
        Status::new(Code::Unschedulable, reason)
    }

    pub fn unresolvable(reason: impl Into<String>) -> Status {
        Status::new(Code::UnschedulableAndUnresolvable, reason)
    }

    pub fn error(reason: impl Into<String>) -> Status {
        Status::new(Code::Error, reason)
    }

    pub fn with_reasons(code: Code, reasons: Vec<String>) -> Status {
        Status {
            code,
            reasons,
            plugin: String::new(),
        }
    }

    pub fn with_plugin(mut self, plugin: &str) -> Status {
        plugin.clone_into(&mut self.plugin);
        self
    }

    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }

    pub fn is_skip(&self) -> bool {
        self.code == Code::Skip
    }

    /// Upstream `Status.IsRejected`: Unschedulable, UnschedulableAndUnresolvable or Pending.
    pub fn is_rejected(&self) -> bool {
        matches!(
            self.code,
            Code::Unschedulable | Code::UnschedulableAndUnresolvable
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reasons.is_empty() {
            f.write_str(self.code.as_str())
        } else {
            f.write_str(&self.reasons.join(", "))
        }
    }
}

/// Upstream `framework.NodeScore`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeScore {
    pub node: NodeId,
    pub score: i64,
}

/// Which extension points a plugin implements (a small bit set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtensionPoints(u16);

impl ExtensionPoints {
    pub const QUEUE_SORT: Self = Self(1);
    pub const PRE_FILTER: Self = Self(1 << 1);
    pub const FILTER: Self = Self(1 << 2);
    pub const POST_FILTER: Self = Self(1 << 3);
    pub const PRE_SCORE: Self = Self(1 << 4);
    pub const SCORE: Self = Self(1 << 5);
    pub const RESERVE: Self = Self(1 << 6);
    pub const PERMIT: Self = Self(1 << 7);
    pub const PRE_BIND: Self = Self(1 << 8);
    pub const BIND: Self = Self(1 << 9);
    pub const POST_BIND: Self = Self(1 << 10);
    /// Upstream `PreEnqueuePlugin` (SchedulingGates): whether a pod may enter the scheduling
    /// queue ([`Plugin::pre_enqueue`]).
    pub const PRE_ENQUEUE: Self = Self(1 << 11);

    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for ExtensionPoints {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        self.union(rhs)
    }
}

/// Upstream `framework.StateData`: what a plugin's PreFilter computed, as a value the framework
/// can copy and the plugin's PreFilter extensions can change. A value is only meaningful in the
/// cycle whose PreFilter produced it.
pub trait StateData: Any + fmt::Debug {
    /// Upstream `StateData.Clone`.
    fn clone_data(&self) -> Box<dyn StateData>;
}

/// `state` as the plugin's own state type `T`, or the error upstream's `getPreFilterState`
/// reports for a value of another type.
pub fn downcast_state<'a, T: StateData>(
    state: &'a dyn StateData,
    plugin: &str,
) -> Result<&'a T, Status> {
    let any: &dyn Any = state;
    any.downcast_ref::<T>()
        .ok_or_else(|| Status::error(format!("{state:?} convert to {plugin} state error")))
}

/// [`downcast_state`] for a mutable value.
pub fn downcast_state_mut<'a, T: StateData>(
    state: &'a mut dyn StateData,
    plugin: &str,
) -> Result<&'a mut T, Status> {
    let message = format!("{state:?} convert to {plugin} state error");
    let any: &mut dyn Any = state;
    any.downcast_mut::<T>()
        .ok_or_else(|| Status::error(message))
}

/// Upstream `framework.CycleState`, as far as the PreFilter extensions use it: the PreFilter
/// state of every plugin that has extensions and whose PreFilter ran (did not return Skip) this
/// cycle, in PreFilter order. Cloning clones each plugin's state (upstream `CycleState.Clone`).
#[derive(Debug, Default)]
pub struct CycleState {
    entries: Vec<(usize, Box<dyn StateData>)>,
}

impl Clone for CycleState {
    fn clone(&self) -> Self {
        CycleState {
            entries: self
                .entries
                .iter()
                .map(|(plugin, data)| (*plugin, data.clone_data()))
                .collect(),
        }
    }
}

impl CycleState {
    /// The state of the profile's plugin at index `plugin`, if it has one.
    pub fn get(&self, plugin: usize) -> Option<&dyn StateData> {
        self.entries
            .iter()
            .find(|(p, _)| *p == plugin)
            .map(|(_, d)| d.as_ref())
    }

    pub(crate) fn push(&mut self, plugin: usize, data: Box<dyn StateData>) {
        self.entries.push((plugin, data));
    }

    pub(crate) fn entries_mut(&mut self) -> impl Iterator<Item = (usize, &mut dyn StateData)> {
        self.entries.iter_mut().map(|(p, d)| (*p, d.as_mut()))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A scheduler plugin. Implement the extension points you need and declare them in
/// `extension_points`; the defaults do nothing and succeed.
///
/// Call order in one scheduling cycle for a pod: `pre_filter` (once), `filter` (per node, until
/// enough feasible nodes are found), `pre_score` (once, with the feasible nodes), `score` (per
/// feasible node), `normalize_scores` (once), then the framework multiplies by the plugin's
/// weight and sums. A `Skip` from `pre_filter` / `pre_score` skips this plugin's `filter` /
/// `score` for this cycle, as upstream.
///
/// When no node passes Filter, PostFilter (preemption) dry-runs Filter on copies of nodes, and
/// nodes with nominated pods are filtered with those pods added: the framework then asks each
/// plugin with PreFilter extensions for `pre_filter_state` (once per cycle), changes copies of it
/// with `add_pod` / `remove_pod` and filters with `filter_with_state`.
///
/// Upstream plugins fall back to computing their cycle state inside Filter/Score when their
/// PreFilter/PreScore point is disabled in the profile. Here the framework instead still calls
/// `pre_filter` / `pre_score` for such a plugin, ignoring the status, so `filter` / `score` can
/// always rely on the state being for the current pod.
pub trait Plugin {
    /// The name used in KubeSchedulerConfiguration (`NodeResourcesFit`, `TaintToleration`, …).
    fn name(&self) -> &str;

    fn extension_points(&self) -> ExtensionPoints;

    /// Upstream `PreEnqueuePlugin.PreEnqueue`: whether `pod` may enter the scheduling queue; a
    /// rejection keeps it out until it changes (SchedulingGates).
    fn pre_enqueue(&self, _pod: &Pod) -> Status {
        Status::success()
    }

    fn pre_filter(&mut self, _pod: &Pod, _snapshot: &Snapshot) -> Status {
        Status::success()
    }

    /// Upstream `PreFilterResult`: after a successful `pre_filter`, the names of the only nodes
    /// worth filtering (NodeAffinity's `metadata.name` terms); `None` means every node. Results of
    /// several plugins are intersected.
    fn pre_filter_result(&self) -> Option<&BTreeSet<String>> {
        None
    }

    fn filter(&self, _pod: &Pod, _node: &NodeInfo, _snapshot: &Snapshot) -> Status {
        Status::success()
    }

    /// Upstream `PreFilterPlugin.PreFilterExtensions() != nil`: after a successful `pre_filter`,
    /// this cycle's PreFilter state as a value `add_pod` / `remove_pod` can change. `None` (the
    /// default) for a plugin without PreFilter extensions, whose Filter does not depend on other
    /// pods through its PreFilter state. Called only when a dry run or a node with nominated
    /// pods needs it, at most once per cycle.
    fn pre_filter_state(&self) -> Option<Box<dyn StateData>> {
        None
    }

    /// Upstream `PreFilterExtensions.AddPod`: `state` (from `pre_filter_state`) as if
    /// `pod_to_add` ran on `node` (which already counts it) when scheduling `pod_to_schedule`.
    fn add_pod(
        &self,
        _state: &mut dyn StateData,
        _pod_to_schedule: &Pod,
        _pod_to_add: &Pod,
        _node: &NodeInfo,
        _snapshot: &Snapshot,
    ) -> Status {
        Status::success()
    }

    /// Upstream `PreFilterExtensions.RemovePod`: `state` as if `pod_to_remove` no longer ran on
    /// `node` (which no longer counts it).
    fn remove_pod(
        &self,
        _state: &mut dyn StateData,
        _pod_to_schedule: &Pod,
        _pod_to_remove: &Pod,
        _node: &NodeInfo,
        _snapshot: &Snapshot,
    ) -> Status {
        Status::success()
    }

    /// `filter` reading `state` (from `pre_filter_state`, as `add_pod` / `remove_pod` left it)
    /// instead of the plugin's own PreFilter state: upstream's Filter given a cloned
    /// `CycleState`. The default ignores `state`.
    fn filter_with_state(
        &self,
        _state: &dyn StateData,
        pod: &Pod,
        node: &NodeInfo,
        snapshot: &Snapshot,
    ) -> Status {
        self.filter(pod, node, snapshot)
    }

    /// `filter` over `nodes`: keeps in `nodes`, in order, those that pass, and appends the
    /// others with their status to `rejected`. The framework filters a batch of nodes one
    /// plugin at a time through this (each node still sees the plugins in order and stops at
    /// the first that fails, so every node gets the status `filter` would give). The default
    /// calls `filter` without dynamic dispatch, so the success path usually compiles down to
    /// the plugin's own checks; override only to exploit per-cycle facts.
    fn filter_nodes(
        &self,
        pod: &Pod,
        snapshot: &Snapshot,
        nodes: &mut Vec<NodeId>,
        rejected: &mut Vec<(NodeId, Status)>,
    ) {
        retain_passing(
            nodes,
            rejected,
            |_| false,
            |node| self.filter(pod, snapshot.node(node), snapshot),
        );
    }

    fn pre_score(&mut self, _pod: &Pod, _feasible: &[NodeId], _snapshot: &Snapshot) -> Status {
        Status::success()
    }

    /// A raw score for one feasible node. Upstream returns `(int64, *Status)`.
    fn score(&self, _pod: &Pod, _node: &NodeInfo, _snapshot: &Snapshot) -> Result<i64, Status> {
        Ok(0)
    }

    /// `score` for each of `nodes` in order, appended to `out`, stopping at the first error (the
    /// framework reports only that one, as upstream's first failing node does). This is what the
    /// framework calls; the default just loops over `score`. Plugins on the hot path override it
    /// to work out per-cycle facts once and score every node in one tight loop, instead of one
    /// dynamic call (and one `Result<i64, Status>`) per node — with a few thousand feasible
    /// nodes that per-node overhead is most of a cycle. An override must give exactly the
    /// scores `score` gives.
    fn score_nodes(
        &self,
        pod: &Pod,
        nodes: &[NodeId],
        snapshot: &Snapshot,
        out: &mut Vec<NodeScore>,
    ) -> Result<(), Status> {
        out.reserve(nodes.len());
        for &node in nodes {
            let score = self.score(pod, snapshot.node(node), snapshot)?;
            out.push(NodeScore { node, score });
        }
        Ok(())
    }

    /// Upstream `ScoreExtensions.NormalizeScore`: maps raw scores into `[0, MAX_NODE_SCORE]`.
    fn normalize_scores(&self, _pod: &Pod, _scores: &mut [NodeScore]) -> Status {
        Status::success()
    }

    /// Upstream `PostFilterPlugin.PostFilter`: runs when no node passed Filter, with every
    /// node's filter status, and may nominate a node (preemption; see
    /// `crate::scheduler::preemption`). A plugin that declares the point must implement it.
    fn post_filter(
        &self,
        _pod: &Pod,
        _handle: &mut crate::scheduler::preemption::PostFilterHandle<'_>,
    ) -> crate::scheduler::preemption::PostFilterResult {
        crate::scheduler::preemption::PostFilterResult::status(Status::error(format!(
            "plugin {:?} does not implement PostFilter",
            self.name()
        )))
    }
}

/// The batch filter's loop: keeps in `nodes`, in order, those `passes_quickly` lets through or
/// whose `status` is success, and appends the others with their status to `rejected`. The
/// quick check lets a plugin skip a node's full record when a summary already says it passes.
pub fn retain_passing(
    nodes: &mut Vec<NodeId>,
    rejected: &mut Vec<(NodeId, Status)>,
    passes_quickly: impl Fn(NodeId) -> bool,
    mut status: impl FnMut(NodeId) -> Status,
) {
    nodes.retain(|&node| {
        if passes_quickly(node) {
            return true;
        }
        let s = status(node);
        if s.is_success() {
            return true;
        }
        rejected.push((node, s));
        false
    });
}
