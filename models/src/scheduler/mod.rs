//! The scheduler: kube-scheduler's scheduling framework and cycle, made to take the decisions
//! kube-scheduler takes (upstream `pkg/scheduler/schedule_one.go`,
//! `pkg/scheduler/framework/runtime/framework.go`).
//!
//! One cycle ([`Scheduler::schedule_one`]) runs PreFilter, then Filter over the nodes starting at
//! a rotating index until `numFeasibleNodesToFind` feasible nodes are found, then — unless only
//! one node is feasible — PreScore, Score, NormalizeScore and the weighted sum, and picks the
//! best node, breaking ties by reservoir sampling from the caller's random stream. The cycle does
//! not bind: the caller does.
//!
//! Upstream filters nodes on 16 goroutines, so how many nodes a cycle looks at past the last one
//! it needs varies from run to run. kubesim filters sequentially, which is exactly upstream with
//! `parallelism: 1`: once enough feasible nodes are found, the search stops at the next feasible
//! node, and the infeasible nodes before it count as processed for the rotation.
//!
//! Configuration: [`parse_config`] reads a `KubeSchedulerConfiguration`, [`Scheduler::new`] builds
//! its profiles from a [`Registry`] of plugins (the built-ins, plus any a researcher registers).

pub mod config;
pub mod cost;
pub mod framework;
pub mod plugins;
pub mod preemption;
pub mod profile;
pub mod queue;

pub mod registry;

#[cfg(test)]
mod props;
#[cfg(test)]
mod testing;

use std::cell::OnceCell;
use std::collections::BTreeSet;
use std::fmt;

use rand::Rng;

use crate::api::{NodeId, Pod, PodId};
use crate::store::NodeInfo;

pub use config::{ConfigError, KubeSchedulerConfiguration, KubeSchedulerProfile, parse_config};
pub use framework::{Code, CycleState, ExtensionPoints, NodeScore, Plugin, Snapshot, Status};
pub use profile::{EnabledPlugin, Profile};
pub use registry::{Factory, Registry};

use config::{DEFAULT_PERCENTAGE_OF_NODES_TO_SCORE, DEFAULT_SCHEDULER_NAME};
use framework::{MAX_NODE_SCORE, MIN_NODE_SCORE};
use profile::Slot;

/// Upstream `ErrNoNodesAvailable`.
pub const ERR_NO_NODES_AVAILABLE: &str = "no nodes available to schedule pods";
/// What the explanation says when the single-feasible-node shortcut skips scoring.
pub const SCORING_SKIPPED_ONE_NODE: &str = "only one feasible node: scoring skipped, as upstream";

/// Upstream `minFeasibleNodesToFind`.
const MIN_FEASIBLE_NODES_TO_FIND: i64 = 100;
/// Upstream `minFeasibleNodesPercentageToFind`.
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: i64 = 5;
/// The fewest nodes filtered as one batch: once enough feasible nodes are found the search
/// goes on only until the next feasible one, and batches of one would cost a setup per node.
const MIN_FILTER_BATCH: usize = 16;
/// Nodes filtered one plugin after the other before moving on: few enough that what the
/// plugins read of them stays in the L1/L2 cache between plugins.
const FILTER_BLOCK: usize = 128;

/// Upstream `numFeasibleNodesToFind`: all nodes below 100; otherwise the profile's (else the
/// global) percentage, adaptive `50 - nodes/125` floored at 5% when that is 0, and at least 100.
pub fn num_feasible_nodes_to_find(
    profile_percentage: Option<i32>,
    global_percentage: i32,
    num_all_nodes: usize,
) -> usize {
    let n = i64::try_from(num_all_nodes).unwrap_or(i64::MAX);
    if n < MIN_FEASIBLE_NODES_TO_FIND {
        return num_all_nodes;
    }
    let mut percentage = i64::from(profile_percentage.unwrap_or(global_percentage));
    if percentage == 0 {
        percentage = (50 - n / 125).max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND);
    }
    let num_nodes = n.saturating_mul(percentage) / 100;
    usize::try_from(num_nodes.max(MIN_FEASIBLE_NODES_TO_FIND)).unwrap_or(num_all_nodes)
}

/// Upstream `selectHost` (reservoir sampling over the highest total score): the index of the
/// chosen entry. Each later entry tying the maximum replaces the candidate with probability
/// 1/count, drawn as `rng.random_range(0..count) == 0` (upstream `rand.Intn(cntOfMaxScore) == 0`).
pub fn select_host(totals: &[i64], rng: &mut impl Rng) -> Option<usize> {
    let mut max = *totals.first()?;
    let mut selected = 0;
    let mut count_of_max: u64 = 1;
    for (i, &score) in totals.iter().enumerate().skip(1) {
        if score > max {
            max = score;
            selected = i;
            count_of_max = 1;
        } else if score == max {
            count_of_max += 1;
            if rng.random_range(0..count_of_max) == 0 {
                selected = i;
            }
        }
    }
    Some(selected)
}

/// Upstream `FitError.Error()`: `0/N nodes are available: <PreFilter message>.` or
/// `0/N nodes are available: <count reason>, ….` with the `count reason` strings sorted.
pub fn fit_error_message<'a>(
    num_all_nodes: usize,
    pre_filter_message: Option<&str>,
    reasons: impl Iterator<Item = (&'a str, usize)>,
) -> String {
    let mut message = format!("0/{num_all_nodes} nodes are available:");
    if let Some(pre) = pre_filter_message {
        message.push_str(&format!(" {pre}."));
        return message;
    }
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for (reason, n) in reasons {
        match counts.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, c)) => *c += n,
            None => counts.push((reason, n)),
        }
    }
    let mut histogram: Vec<String> = counts.iter().map(|(r, c)| format!("{c} {r}")).collect();
    // Go's sort.Strings: byte order, so "10 …" sorts before "2 …" as upstream.
    histogram.sort();
    if !histogram.is_empty() {
        message.push_str(&format!(" {}.", histogram.join(", ")));
    }
    message
}

/// The outcome of one scheduling cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleResult {
    /// The node to bind to; `None` when the pod is unschedulable or the cycle failed.
    pub selected: Option<NodeId>,
    /// Upstream `ScheduleResult.EvaluatedNodes`: nodes the filters ran on.
    pub evaluated_nodes: usize,
    /// Upstream `ScheduleResult.FeasibleNodes`.
    pub feasible_nodes: usize,
    /// Upstream's FitError text when unschedulable (`0/3 nodes are available: …`), or the
    /// error that stopped the cycle.
    pub message: Option<String>,
    /// Per-node verdicts, when the caller asked for them.
    pub explanation: Option<Explanation>,
    /// PostFilter (preemption) nominated this node: the pod stays unschedulable for now and
    /// waits for `victims` to be deleted (upstream `NominatingInfo`).
    pub nominated_node: Option<NodeId>,
    /// The pods to preempt, most important first.
    pub victims: Vec<PodId>,
    /// PostFilter found preemption cannot help: the pod's nomination is cleared.
    pub clear_nomination: bool,
}

impl ScheduleResult {
    fn failed(message: String) -> Self {
        ScheduleResult {
            selected: None,
            evaluated_nodes: 0,
            feasible_nodes: 0,
            message: Some(message),
            explanation: None,
            nominated_node: None,
            victims: Vec::new(),
            clear_nomination: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// Every node, in node order; `evaluated` tells which ones the decision looked at.
    pub nodes: Vec<NodeVerdict>,
    /// Why scoring did not run, if it did not.
    pub scoring_skipped: Option<String>,
    /// The preemption decision, when PostFilter ran.
    pub preemption: Option<preemption::PreemptionExplanation>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeVerdict {
    pub node: NodeId,
    pub name: String,
    pub feasible: bool,
    /// Why the node was rejected (the first failing filter's reasons, as upstream records).
    pub reasons: Vec<String>,
    /// One entry per score plugin that ran, for the nodes that were scored.
    pub scores: Vec<PluginScore>,
    /// Σ normalized × weight.
    pub total: i64,
    /// Whether the cycle filtered this node. `false` for nodes past the point where upstream
    /// stops searching (percentageOfNodesToScore), which were filtered only for the
    /// explanation, and for nodes a PreFilter result ruled out.
    pub evaluated: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginScore {
    pub plugin: String,
    pub raw: i64,
    pub normalized: i64,
    pub weight: i64,
}

/// Per-cycle working memory, kept across cycles so a cycle allocates little.
#[derive(Debug, Default)]
struct Buffers {
    all_nodes: Vec<NodeId>,
    /// The store and node generation `all_nodes` was listed from.
    all_nodes_version: Option<(u64, u64)>,
    nodes: Vec<NodeId>,
    feasible: Vec<NodeId>,
    failed: Vec<(NodeId, Status)>,
    filter_skip: Vec<bool>,
    /// Filter plugins not skipped by their PreFilter, in order.
    active_filters: Vec<usize>,
    /// The nodes being filtered, in search order.
    batch: Vec<NodeId>,
    /// Of `batch`, the nodes the filter plugins decide (those without nominated pods).
    candidates: Vec<NodeId>,
    /// Of the block of `candidates` being filtered, those every plugin so far let through.
    passing: Vec<NodeId>,
    /// What the last plugin rejected, as it returned it.
    rejected: Vec<(NodeId, Status)>,
    /// Failed nodes of `batch` by position, with the status `run_filters` would give.
    batch_rejected: Vec<(usize, Status)>,
    score_skip: Vec<bool>,
    /// This cycle's PreFilter state for the PreFilter extensions, built only when a dry run or
    /// a node with nominated pods needs it (upstream `CycleState`).
    cycle_state: OnceCell<CycleState>,
    /// Per score slot, the scores of the feasible nodes.
    scores: Vec<Vec<NodeScore>>,
    raw: Vec<Vec<i64>>,
    totals: Vec<i64>,
}

pub struct Scheduler {
    profiles: Vec<Profile>,
    percentage_of_nodes_to_score: i32,
    /// Upstream `sched.nextStartNodeIndex`: where the next cycle starts filtering.
    pub next_start_node_index: usize,
    buf: Buffers,
}

impl fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheduler")
            .field("profiles", &self.profiles)
            .field(
                "percentage_of_nodes_to_score",
                &self.percentage_of_nodes_to_score,
            )
            .field("next_start_node_index", &self.next_start_node_index)
            .finish()
    }
}

impl Scheduler {
    /// Builds the profiles of `config` (upstream's default profile when `None`) from `registry`.
    pub fn new(
        config: Option<&KubeSchedulerConfiguration>,
        registry: &Registry,
    ) -> Result<Scheduler, ConfigError> {
        let mut profiles = Vec::new();
        let mut percentage = DEFAULT_PERCENTAGE_OF_NODES_TO_SCORE;
        match config {
            None => profiles.push(Profile::build(
                &KubeSchedulerProfile::default(),
                DEFAULT_SCHEDULER_NAME,
                registry,
                "",
            )?),
            Some(c) => {
                config::validate(c)?;
                percentage = c
                    .percentage_of_nodes_to_score
                    .unwrap_or(DEFAULT_PERCENTAGE_OF_NODES_TO_SCORE);
                if c.profiles.is_empty() {
                    profiles.push(Profile::build(
                        &KubeSchedulerProfile::default(),
                        DEFAULT_SCHEDULER_NAME,
                        registry,
                        "",
                    )?);
                }
                for (i, p) in c.profiles.iter().enumerate() {
                    let name = p
                        .scheduler_name
                        .as_deref()
                        .unwrap_or(DEFAULT_SCHEDULER_NAME);
                    profiles.push(Profile::build(
                        p,
                        name,
                        registry,
                        &format!("profiles[{i}]"),
                    )?);
                }
            }
        }
        Ok(Scheduler {
            profiles,
            percentage_of_nodes_to_score: percentage,
            next_start_node_index: 0,
            buf: Buffers::default(),
        })
    }

    pub fn has_profile(&self, scheduler_name: &str) -> bool {
        self.profile(scheduler_name).is_some()
    }

    pub fn profile(&self, scheduler_name: &str) -> Option<&Profile> {
        self.profiles
            .iter()
            .find(|p| p.scheduler_name == scheduler_name)
    }

    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    /// Upstream plugins the profiles enable but kubesim does not model yet (sorted, unique).
    pub fn unmodelled_plugins(&self) -> Vec<String> {
        let all: BTreeSet<&String> = self
            .profiles
            .iter()
            .flat_map(|p| p.unmodelled_plugins())
            .collect();
        all.into_iter().cloned().collect()
    }

    /// Upstream `RunPreEnqueuePlugins` of the pod's profile: the first plugin that does not
    /// succeed decides (a rejection as it is, anything else as an error naming the plugin).
    /// Success when no profile claims the pod. The scheduling queue performs the SchedulingGates
    /// check itself (a gated pod is never queued), which is this with the default profile.
    pub fn pre_enqueue(&self, pod: &Pod) -> Status {
        let Some(profile) = self.profile(&pod.scheduler_name) else {
            return Status::success();
        };
        for slot in profile.slots(ExtensionPoints::PRE_ENQUEUE) {
            let plugin = &profile.plugins[slot.plugin];
            let status = plugin.pre_enqueue(pod);
            if status.is_success() {
                continue;
            }
            if status.is_rejected() {
                return status.with_plugin(plugin.name());
            }
            return Status::error(format!(
                "running PreEnqueue plugin {:?}: {status}",
                plugin.name()
            ))
            .with_plugin(plugin.name());
        }
        Status::success()
    }

    /// One scheduling cycle for `pod` (already in the store, unbound). Pure with respect to the
    /// store: the caller binds. `explain` adds per-node verdicts without changing the decision,
    /// the rotation or the random draws.
    pub fn schedule_one(
        &mut self,
        pod: &Pod,
        snapshot: &Snapshot,
        rng: &mut impl Rng,
        explain: bool,
    ) -> ScheduleResult {
        let Some(index) = self
            .profiles
            .iter()
            .position(|p| p.scheduler_name == pod.scheduler_name)
        else {
            return ScheduleResult::failed(format!(
                "profile not found for scheduler name {:?}",
                pod.scheduler_name
            ));
        };
        let Scheduler {
            profiles,
            percentage_of_nodes_to_score,
            next_start_node_index,
            buf,
        } = self;
        let mut cycle = Cycle {
            profile: &mut profiles[index],
            global_percentage: *percentage_of_nodes_to_score,
            next_start: next_start_node_index,
            buf,
            pod,
            snapshot,
        };
        cycle.run(rng, explain)
    }
}

#[cfg(test)]
impl Scheduler {
    /// Upstream's PostFilter test harness (`TestDryRunPreemption`, `TestPreempt`): PreFilter for
    /// `pod`, then the PostFilter plugins with `statuses` as the filter result, explained.
    pub(crate) fn pre_filter_then_post_filter(
        &mut self,
        pod: &Pod,
        snapshot: &Snapshot,
        statuses: &preemption::NodeToStatus,
        rng: &mut impl Rng,
    ) -> Option<preemption::PostFilterResult> {
        let index = self
            .profiles
            .iter()
            .position(|p| p.scheduler_name == pod.scheduler_name)?;
        let Scheduler {
            profiles,
            percentage_of_nodes_to_score,
            next_start_node_index,
            buf,
        } = self;
        let mut cycle = Cycle {
            profile: &mut profiles[index],
            global_percentage: *percentage_of_nodes_to_score,
            next_start: next_start_node_index,
            buf,
            pod,
            snapshot,
        };
        if let Err(PreFilterOutcome::Error(e)) = cycle.pre_filter() {
            panic!("PreFilter failed: {e}");
        }
        let rng: &mut dyn rand::RngCore = rng;
        preemption::run_post_filter_plugins(
            cycle.profile,
            &cycle.buf.filter_skip,
            &cycle.buf.cycle_state,
            pod,
            snapshot,
            statuses,
            rng,
            true,
        )
    }
}

/// Upstream `RunFilterPlugins`: the first plugin that does not succeed decides; anything but a
/// rejection becomes an error naming the plugin. With `state`, a plugin that has its PreFilter
/// state there filters against it (a copy the PreFilter extensions changed).
fn run_filters(
    plugins: &[Box<dyn Plugin>],
    slots: &[Slot],
    skip: &[bool],
    pod: &Pod,
    node: &NodeInfo,
    snapshot: &Snapshot,
    state: Option<&CycleState>,
) -> Status {
    for slot in slots {
        if skip[slot.plugin] {
            continue;
        }
        let plugin = &plugins[slot.plugin];
        let status = match state.and_then(|s| s.get(slot.plugin)) {
            Some(data) => plugin.filter_with_state(data, pod, node, snapshot),
            None => plugin.filter(pod, node, snapshot),
        };
        if !status.is_success() {
            return attribute_filter_failure(status, plugin.name());
        }
    }
    Status::success()
}

/// What `run_filters` makes of a plugin's non-success filter status: a rejection names the
/// plugin, anything else becomes an error.
fn attribute_filter_failure(status: Status, plugin: &str) -> Status {
    if status.is_rejected() {
        return status.with_plugin(plugin);
    }
    Status::error(format!("running {plugin:?} filter plugin: {status}")).with_plugin(plugin)
}

struct Cycle<'a> {
    profile: &'a mut Profile,
    global_percentage: i32,
    next_start: &'a mut usize,
    buf: &'a mut Buffers,
    pod: &'a Pod,
    snapshot: &'a Snapshot,
}

/// How PreFilter ended when it did not let the cycle go on.
enum PreFilterOutcome {
    Rejected(Status),
    Error(String),
}

impl Cycle<'_> {
    fn run(&mut self, rng: &mut impl Rng, explain: bool) -> ScheduleResult {
        let buf = &mut *self.buf;
        // The node list changes only when nodes do (`Store::touch_nodes` / `add_node` bump the
        // node generation), so it is kept across cycles rather than rebuilt from every node.
        let log = self.snapshot.change_log();
        let nodes_version = (log.id(), log.node_generation());
        if buf.all_nodes_version != Some(nodes_version) {
            buf.all_nodes.clear();
            buf.all_nodes
                .extend(self.snapshot.live_nodes().map(|n| n.id));
            buf.all_nodes_version = Some(nodes_version);
        }
        let num_all = buf.all_nodes.len();
        if num_all == 0 {
            return ScheduleResult::failed(ERR_NO_NODES_AVAILABLE.to_string());
        }

        let (pinned, pinned_by) = match self.pre_filter() {
            Ok(p) => p,
            Err(PreFilterOutcome::Error(e)) => return ScheduleResult::failed(e),
            Err(PreFilterOutcome::Rejected(status)) => {
                // Upstream `Status.Message()`; an empty one falls back to the (empty) histogram.
                let message = status.reasons.join(", ");
                let pre = (!message.is_empty()).then_some(message.as_str());
                let mut result =
                    ScheduleResult::failed(fit_error_message(num_all, pre, std::iter::empty()));
                if explain {
                    result.explanation = Some(self.explain_rejected_all(&status.reasons));
                }
                // Upstream gives every node the PreFilter status, then runs PostFilter.
                let statuses = preemption::NodeToStatus {
                    explicit: Vec::new(),
                    absent: status,
                };
                self.post_filter(&mut result, &statuses, rng, explain);
                return result;
            }
        };

        // Upstream: nodes outside the PreFilter result are rejected without running filters.
        let buf = &mut *self.buf;
        buf.nodes.clear();
        match &pinned {
            None => buf.nodes.extend_from_slice(&buf.all_nodes),
            Some(names) => {
                let snapshot = self.snapshot;
                buf.nodes.extend(
                    buf.all_nodes
                        .iter()
                        .copied()
                        .filter(|id| names.contains(snapshot.node(*id).name())),
                );
            }
        }
        let absent_reason = pinned
            .as_ref()
            .map(|_| format!("node(s) didn't satisfy plugin(s) [{}]", pinned_by.join(" ")));

        if let Some(result) = self.evaluate_nominated_node(absent_reason.as_deref(), explain) {
            return result;
        }
        if let Err(e) = self.find_feasible() {
            return ScheduleResult::failed(e);
        }
        let buf = &*self.buf;
        let evaluated = buf.feasible.len() + buf.failed.len();
        let feasible_nodes = buf.feasible.len();

        if feasible_nodes == 0 {
            let absent = num_all.saturating_sub(buf.failed.len());
            let failed = buf
                .failed
                .iter()
                .flat_map(|(_, s)| s.reasons.iter().map(|r| (r.as_str(), 1)));
            let absent_reasons = absent_reason
                .iter()
                .map(|r| (r.as_str(), absent))
                .filter(|(_, n)| *n > 0);
            let message = fit_error_message(num_all, None, failed.chain(absent_reasons));
            let explanation = explain.then(|| self.explain(absent_reason.as_deref(), None));
            let mut result = ScheduleResult {
                selected: None,
                evaluated_nodes: evaluated,
                feasible_nodes,
                message: Some(message),
                explanation,
                nominated_node: None,
                victims: Vec::new(),
                clear_nomination: false,
            };
            // Nodes outside a PreFilter result were rejected as UnschedulableAndUnresolvable.
            let statuses = preemption::NodeToStatus {
                explicit: self.buf.failed.clone(),
                absent: Status::unresolvable(absent_reason.unwrap_or_default()),
            };
            self.post_filter(&mut result, &statuses, rng, explain);
            return result;
        }

        if feasible_nodes == 1 {
            // Upstream: "When only one node after predicate, just use it."
            let selected = buf.feasible[0];
            let explanation = explain
                .then(|| self.explain(absent_reason.as_deref(), Some(SCORING_SKIPPED_ONE_NODE)));
            return ScheduleResult {
                selected: Some(selected),
                evaluated_nodes: evaluated,
                feasible_nodes,
                message: None,
                explanation,
                nominated_node: None,
                victims: Vec::new(),
                clear_nomination: false,
            };
        }

        if let Err(e) = self.prioritize(explain) {
            return ScheduleResult {
                selected: None,
                evaluated_nodes: evaluated,
                feasible_nodes,
                message: Some(e),
                explanation: None,
                nominated_node: None,
                victims: Vec::new(),
                clear_nomination: false,
            };
        }
        let buf = &*self.buf;
        let selected = select_host(&buf.totals, rng).map(|i| buf.feasible[i]);
        let explanation = explain.then(|| self.explain(absent_reason.as_deref(), None));
        ScheduleResult {
            selected,
            evaluated_nodes: evaluated,
            feasible_nodes,
            message: None,
            explanation,
            nominated_node: None,
            victims: Vec::new(),
            clear_nomination: false,
        }
    }

    /// Upstream `RunPreFilterPlugins`: `Skip` disables the plugin's Filter for this cycle,
    /// UnschedulableAndUnresolvable stops at once, Unschedulable lets the other plugins run
    /// first, and PreFilter results are intersected. Returns the node names the pod is pinned to
    /// (if any) and the plugins that pinned it, sorted.
    fn pre_filter(&mut self) -> Result<(Option<BTreeSet<String>>, Vec<String>), PreFilterOutcome> {
        let Profile {
            plugins,
            points,
            pre_filter_state_only,
            ..
        } = &mut *self.profile;
        let buf = &mut *self.buf;
        buf.filter_skip.clear();
        buf.filter_skip.resize(plugins.len(), false);
        // The last cycle's PreFilter state (if a dry run built one) is not this cycle's.
        buf.cycle_state.take();
        let slots = &points[profile::POINTS
            .iter()
            .position(|(p, _, _)| *p == ExtensionPoints::PRE_FILTER)
            .unwrap_or(2)];
        let mut pinned: Option<BTreeSet<String>> = None;
        let mut pinned_by: Vec<String> = Vec::new();
        let mut rejected: Option<Status> = None;
        for slot in slots {
            let plugin = &mut plugins[slot.plugin];
            let status = plugin.pre_filter(self.pod, self.snapshot);
            if status.is_skip() {
                buf.filter_skip[slot.plugin] = true;
                continue;
            }
            if !status.is_success() {
                let status = status.with_plugin(plugin.name());
                match status.code {
                    Code::UnschedulableAndUnresolvable => {
                        return Err(PreFilterOutcome::Rejected(status));
                    }
                    Code::Unschedulable => {
                        rejected = Some(status);
                        continue;
                    }
                    _ => {
                        return Err(PreFilterOutcome::Error(format!(
                            "running PreFilter plugin {:?}: {status}",
                            plugin.name()
                        )));
                    }
                }
            }
            if let Some(names) = plugin.pre_filter_result() {
                pinned_by.push(plugin.name().to_string());
                pinned_by.sort();
                let merged = match pinned.take() {
                    None => names.clone(),
                    Some(prev) => prev.intersection(names).cloned().collect(),
                };
                if merged.is_empty() {
                    let message = if pinned_by.len() == 1 {
                        format!("node(s) didn't satisfy plugin {}", pinned_by[0])
                    } else {
                        format!(
                            "node(s) didn't satisfy plugin(s) [{}] simultaneously",
                            pinned_by.join(" ")
                        )
                    };
                    return Err(PreFilterOutcome::Rejected(Status::unresolvable(message)));
                }
                pinned = Some(merged);
            }
        }
        for &i in pre_filter_state_only.iter() {
            let _ = plugins[i].pre_filter(self.pod, self.snapshot);
        }
        match rejected {
            Some(status) => Err(PreFilterOutcome::Rejected(status)),
            None => Ok((pinned, pinned_by)),
        }
    }

    /// Upstream `findNodesThatPassFilters` run sequentially, then the rotation update.
    fn find_feasible(&mut self) -> Result<(), String> {
        let profile = &*self.profile;
        let buf = &mut *self.buf;
        buf.feasible.clear();
        buf.failed.clear();
        let filter_slots = profile.slots(ExtensionPoints::FILTER);
        let has_scoring = !profile.slots(ExtensionPoints::SCORE).is_empty();
        let num_nodes = buf.nodes.len();
        let mut to_find = num_feasible_nodes_to_find(
            profile.percentage_of_nodes_to_score,
            self.global_percentage,
            num_nodes,
        );
        if !has_scoring {
            to_find = 1.min(num_nodes);
        }
        let start = *self.next_start;
        let mut error = None;
        if num_nodes > 0 {
            if filter_slots.is_empty() {
                buf.feasible
                    .extend((0..to_find).map(|i| buf.nodes[(start + i) % num_nodes]));
            } else {
                buf.active_filters.clear();
                buf.active_filters.extend(
                    filter_slots
                        .iter()
                        .map(|s| s.plugin)
                        .filter(|&p| !buf.filter_skip[p]),
                );
                // Nodes in search order, a batch at a time: each batch is filtered one plugin at
                // a time (no dynamic call per node and plugin), then walked in order exactly as
                // a node-by-node search would. A batch holds as many nodes as could still be
                // needed, so when nodes pass, the first batch is the whole search; filters are
                // pure, so the nodes a batch filters past the stopping point change nothing.
                let mut taken = 0;
                'search: while taken < num_nodes {
                    let buf = &mut *self.buf;
                    let wanted = (to_find + 1 - buf.feasible.len()).max(MIN_FILTER_BATCH);
                    let len = wanted.min(num_nodes - taken);
                    // `len` nodes from search position `taken` on, wrapping once at the end.
                    buf.batch.clear();
                    let first = (start + taken) % num_nodes;
                    let head = &buf.nodes[first..];
                    if len <= head.len() {
                        buf.batch.extend_from_slice(&head[..len]);
                    } else {
                        buf.batch.extend_from_slice(head);
                        buf.batch.extend_from_slice(&buf.nodes[..len - head.len()]);
                    }
                    self.filter_batch(start + taken);
                    // Walk the batch in order: the nodes between two failures all passed.
                    let buf = &mut *self.buf;
                    let mut next = 0;
                    let mut rejected = buf.batch_rejected.drain(..);
                    loop {
                        let (end, failure) = match rejected.next() {
                            Some((at, status)) => (at, Some(status)),
                            None => (len, None),
                        };
                        let passed = &buf.batch[next..end];
                        let room = to_find - buf.feasible.len();
                        if passed.len() > room {
                            // Upstream cancels the search when one more feasible node than
                            // needed turns up, without recording it.
                            buf.feasible.extend_from_slice(&passed[..room]);
                            break 'search;
                        }
                        buf.feasible.extend_from_slice(passed);
                        let Some(status) = failure else {
                            break;
                        };
                        if status.code == Code::Error {
                            error = Some(status.to_string());
                            break 'search;
                        }
                        buf.failed.push((buf.batch[end], status));
                        next = end + 1;
                    }
                    taken += len;
                }
            }
        }
        let buf = &mut *self.buf;
        // "always try to update the sched.nextStartNodeIndex regardless of whether an error has
        // occurred": by the nodes processed, modulo all nodes.
        let processed = buf.feasible.len() + buf.failed.len();
        *self.next_start = (start + processed) % buf.all_nodes.len().max(1);
        error.map_or(Ok(()), Err)
    }

    /// Filters `buf.batch` (the nodes from search position `from` on): leaves in
    /// `buf.batch_rejected`, sorted by position in the batch, the nodes that failed with the
    /// status `run_filters` gives them. Nodes with nominated pods go through upstream
    /// `RunFilterPluginsWithNominatedPods` one by one; the others through each active plugin's
    /// `filter_nodes` in turn.
    fn filter_batch(&mut self, from: usize) {
        let profile = &*self.profile;
        let buf = &mut *self.buf;
        let snapshot = self.snapshot;
        buf.batch_rejected.clear();
        buf.candidates.clear();
        if snapshot.nominated.is_empty() {
            buf.candidates.extend_from_slice(&buf.batch);
        } else {
            let runner = preemption::FilterRunner::new(profile, &buf.filter_skip, &buf.cycle_state);
            for (i, &id) in buf.batch.iter().enumerate() {
                if snapshot.nominated_pods(id).is_empty() {
                    buf.candidates.push(id);
                    continue;
                }
                let status = runner.run_with_nominated_pods(self.pod, snapshot.node(id), snapshot);
                if !status.is_success() {
                    buf.batch_rejected.push((i, status));
                }
            }
        }
        let num_nodes = buf.nodes.len();
        // A block at a time, so that a node's data is still in cache for the next plugin.
        for block in buf.candidates.chunks(FILTER_BLOCK) {
            buf.passing.clear();
            buf.passing.extend_from_slice(block);
            for &p in &buf.active_filters {
                if buf.passing.is_empty() {
                    break;
                }
                let plugin = &profile.plugins[p];
                plugin.filter_nodes(self.pod, snapshot, &mut buf.passing, &mut buf.rejected);
                for (id, status) in buf.rejected.drain(..) {
                    // The batch is `buf.nodes` (sorted by id) from search position `from` on.
                    let at = buf.nodes.binary_search(&id).unwrap_or_default();
                    let i = (at + num_nodes - from % num_nodes) % num_nodes;
                    buf.batch_rejected
                        .push((i, attribute_filter_failure(status, plugin.name())));
                }
            }
        }
        buf.batch_rejected.sort_unstable_by_key(|(i, _)| *i);
    }

    /// Upstream `prioritizeNodes`: PreScore, Score, NormalizeScore, weights; totals per feasible
    /// node in `buf.totals`.
    fn prioritize(&mut self, explain: bool) -> Result<(), String> {
        let Profile {
            plugins,
            points,
            pre_score_state_only,
            ..
        } = &mut *self.profile;
        let buf = &mut *self.buf;
        let point = |p: ExtensionPoints| {
            profile::POINTS
                .iter()
                .position(|(q, _, _)| *q == p)
                .unwrap_or(0)
        };
        let (pre_score_at, score_at) = (
            point(ExtensionPoints::PRE_SCORE),
            point(ExtensionPoints::SCORE),
        );
        buf.totals.clear();
        if points[score_at].is_empty() {
            // "If no priority configs are provided, then all nodes will have a score of one."
            buf.totals.resize(buf.feasible.len(), 1);
            return Ok(());
        }
        buf.score_skip.clear();
        buf.score_skip.resize(plugins.len(), false);
        for slot in &points[pre_score_at] {
            let plugin = &mut plugins[slot.plugin];
            let status = plugin.pre_score(self.pod, &buf.feasible, self.snapshot);
            if status.is_skip() {
                buf.score_skip[slot.plugin] = true;
            } else if !status.is_success() {
                return Err(format!(
                    "running PreScore plugin {:?}: {status}",
                    plugin.name()
                ));
            }
        }
        for &i in pre_score_state_only.iter() {
            let _ = plugins[i].pre_score(self.pod, &buf.feasible, self.snapshot);
        }
        let slots = &points[score_at];
        if buf.scores.len() < slots.len() {
            buf.scores.resize_with(slots.len(), Vec::new);
            buf.raw.resize_with(slots.len(), Vec::new);
        }
        for (k, slot) in slots.iter().enumerate() {
            let scores = &mut buf.scores[k];
            scores.clear();
            if buf.score_skip[slot.plugin] {
                continue;
            }
            let plugin = &plugins[slot.plugin];
            plugin
                .score_nodes(self.pod, &buf.feasible, self.snapshot, scores)
                .map_err(|s| {
                    format!(
                        "running Score plugins: plugin {:?} failed with: {s}",
                        plugin.name()
                    )
                })?;
            if explain {
                buf.raw[k].clear();
                buf.raw[k].extend(scores.iter().map(|s| s.score));
            }
            let status = plugin.normalize_scores(self.pod, scores);
            if !status.is_success() {
                return Err(format!(
                    "running Normalize on Score plugins: plugin {:?} failed with: {status}",
                    plugin.name()
                ));
            }
        }
        buf.totals.resize(buf.feasible.len(), 0);
        for (k, slot) in slots.iter().enumerate() {
            if buf.score_skip[slot.plugin] {
                continue;
            }
            let scores = &buf.scores[k];
            // One pass that adds and checks; the totals do not matter once a score is invalid.
            let mut valid = true;
            for (total, s) in buf.totals.iter_mut().zip(scores) {
                valid &= (MIN_NODE_SCORE..=MAX_NODE_SCORE).contains(&s.score);
                *total = total.saturating_add(s.score.saturating_mul(slot.weight));
            }
            if !valid
                && let Some(s) = scores
                    .iter()
                    .find(|s| !(MIN_NODE_SCORE..=MAX_NODE_SCORE).contains(&s.score))
            {
                return Err(format!(
                    "applying score defaultWeights on Score plugins: plugin {:?} returns an invalid score {}, it should in the range of [{MIN_NODE_SCORE}, {MAX_NODE_SCORE}] after normalizing",
                    plugins[slot.plugin].name(),
                    s.score
                ));
            }
        }
        Ok(())
    }

    fn explain_rejected_all(&self, reasons: &[String]) -> Explanation {
        let nodes = self
            .buf
            .all_nodes
            .iter()
            .map(|&id| NodeVerdict {
                node: id,
                name: self.snapshot.node(id).name().to_string(),
                feasible: false,
                reasons: reasons.to_vec(),
                scores: Vec::new(),
                total: 0,
                evaluated: false,
            })
            .collect();
        Explanation {
            nodes,
            scoring_skipped: None,
            preemption: None,
        }
    }

    /// Verdicts for every node, after the decision. Nodes the cycle did not reach are filtered
    /// here, for the explanation only.
    fn explain(&self, absent_reason: Option<&str>, scoring_skipped: Option<&str>) -> Explanation {
        let buf = &*self.buf;
        let profile = &*self.profile;
        let score_slots = profile.slots(ExtensionPoints::SCORE);
        let scored = scoring_skipped.is_none() && buf.totals.len() == buf.feasible.len();
        // Where each node ended up, indexed by node id (explanations are rare; the cycle itself
        // keeps no such index).
        let slots = self.snapshot.nodes.len();
        let (mut feasible_at, mut failed_at, mut searched) =
            (vec![None; slots], vec![None; slots], vec![false; slots]);
        for (n, id) in buf.feasible.iter().enumerate() {
            feasible_at[id.index()] = Some(n);
        }
        for (n, (id, _)) in buf.failed.iter().enumerate() {
            failed_at[id.index()] = Some(n);
        }
        for id in &buf.nodes {
            searched[id.index()] = true;
        }
        let mut verdicts = Vec::with_capacity(buf.all_nodes.len());
        for &id in &buf.all_nodes {
            let info = self.snapshot.node(id);
            let mut v = NodeVerdict {
                node: id,
                name: info.name().to_string(),
                feasible: false,
                reasons: Vec::new(),
                scores: Vec::new(),
                total: 0,
                evaluated: true,
            };
            if let Some(n) = feasible_at[id.index()] {
                v.feasible = true;
                if scored {
                    v.total = buf.totals[n];
                    for (k, slot) in score_slots.iter().enumerate() {
                        let skipped = buf.score_skip.get(slot.plugin).copied().unwrap_or(false);
                        let Some(score) = buf.scores.get(k).and_then(|s| s.get(n)) else {
                            continue;
                        };
                        if skipped {
                            continue;
                        }
                        v.scores.push(PluginScore {
                            plugin: profile.plugins[slot.plugin].name().to_string(),
                            raw: buf
                                .raw
                                .get(k)
                                .and_then(|r| r.get(n))
                                .copied()
                                .unwrap_or_default(),
                            normalized: score.score,
                            weight: slot.weight,
                        });
                    }
                }
            } else if let Some(n) = failed_at[id.index()] {
                v.reasons.clone_from(&buf.failed[n].1.reasons);
            } else if !searched[id.index()] {
                v.evaluated = false;
                v.reasons.extend(absent_reason.map(str::to_string));
            } else {
                v.evaluated = false;
                let status = run_filters(
                    &profile.plugins,
                    profile.slots(ExtensionPoints::FILTER),
                    &buf.filter_skip,
                    self.pod,
                    info,
                    self.snapshot,
                    None,
                );
                v.feasible = status.is_success();
                v.reasons = status.reasons;
            }
            verdicts.push(v);
        }
        Explanation {
            nodes: verdicts,
            scoring_skipped: scoring_skipped.map(str::to_string),
            preemption: None,
        }
    }
}

#[cfg(test)]
mod tests;
