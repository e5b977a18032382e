//! The cluster autoscaler (kubernetes-sigs/cluster-autoscaler) as a component: every
//! `--scan-interval` it reads the API server, scales node groups up for pods the scheduler
//! could not place (`scale_up`) and removes nodes that have been unneeded long enough
//! (`scale_down`). It writes only through the API server (nodes, taints, evictions, Events)
//! and never calls the scheduler: it runs the scheduler's Filter plugins itself on its own
//! snapshot (`predicates`), as upstream embeds the scheduler framework.
//!
//! Dormant when no node pool declares `autoscaling:`: no timer is ever set.

pub mod estimator;
pub mod expander;
pub mod node_group;
pub mod predicates;
pub mod scale_down;
pub mod scale_up;

use std::collections::BTreeMap;

use rand::Rng;
use serde::Serialize;
use sim_core::{Context, SimDuration, SimTime};

use crate::api::{NodeId, PodId};
use crate::apiserver::ApiServer;
use crate::cluster::Event;
use crate::events::EventType;
use crate::scenario::NodePool;

pub use expander::Expander;
pub use node_group::{NodeGroup, NodeGroupSpec};

/// The object upstream's status Events (`LogRecorder`) are recorded on.
pub const STATUS_CONFIG_MAP: &str = "configmap/cluster-autoscaler-status";
/// The priority expander's ConfigMap.
pub const PRIORITY_CONFIG_MAP: &str = "configmap/cluster-autoscaler-priority-expander";
/// How often an unfinished drain is looked at again.
const DRAIN_POLL: SimDuration = SimDuration::from_secs(5);

/// The autoscaler's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AutoscalerEvent {
    /// One `RunOnce` loop.
    Scan,
    /// An instance asked for (upcoming node with this id) registers its Node.
    Provisioned(u32),
    /// A node being drained for scale-down is looked at again.
    Drain(NodeId),
}

impl AutoscalerEvent {
    /// Digest tag, name and key (see `Event::kind`).
    pub fn kind(self) -> (u64, &'static str, u64) {
        match self {
            AutoscalerEvent::Scan => (300, "AutoscalerScan", 0),
            AutoscalerEvent::Provisioned(id) => (301, "AutoscalerProvisioned", u64::from(id)),
            AutoscalerEvent::Drain(n) => (302, "AutoscalerDrain", u64::from(n.0)),
        }
    }
}

/// Top-level `clusterAutoscaler:` (upstream flags, upstream defaults).
#[derive(Clone, Debug)]
pub struct AutoscalerOptions {
    pub expander: Expander,
    pub scan_interval: SimDuration,
    pub scale_down_enabled: bool,
    pub scale_down_unneeded_time: SimDuration,
    pub scale_down_utilization_threshold: f64,
    pub scale_down_delay_after_add: SimDuration,
    pub scale_down_delay_after_delete: SimDuration,
    pub scale_down_delay_after_failure: SimDuration,
    pub max_node_provision_time: SimDuration,
    pub max_graceful_termination_sec: i64,
    /// `--max-nodes-total`; 0 is no limit.
    pub max_nodes_total: u32,
    pub new_pod_scale_up_delay: SimDuration,
    /// `--max-scale-down-parallelism` and `--max-drain-parallelism`.
    pub max_scale_down_parallelism: usize,
    pub max_drain_parallelism: usize,
    /// `--max-nodes-per-scaleup`.
    pub max_nodes_per_scale_up: usize,
    pub ignore_daemonsets_utilization: bool,
    pub skip_nodes_with_system_pods: bool,
    pub skip_nodes_with_local_storage: bool,
}

impl Default for AutoscalerOptions {
    fn default() -> Self {
        AutoscalerOptions {
            expander: Expander::LeastWaste,
            scan_interval: SimDuration::from_secs(10),
            scale_down_enabled: true,
            scale_down_unneeded_time: SimDuration::from_secs(600),
            scale_down_utilization_threshold: 0.5,
            scale_down_delay_after_add: SimDuration::from_secs(600),
            scale_down_delay_after_delete: SimDuration::ZERO,
            scale_down_delay_after_failure: SimDuration::from_secs(180),
            max_node_provision_time: node_group::DEFAULT_MAX_NODE_PROVISION_TIME,
            max_graceful_termination_sec: 600,
            max_nodes_total: 0,
            new_pod_scale_up_delay: SimDuration::ZERO,
            max_scale_down_parallelism: 10,
            max_drain_parallelism: 1,
            max_nodes_per_scale_up: 1000,
            ignore_daemonsets_utilization: false,
            skip_nodes_with_system_pods: true,
            skip_nodes_with_local_storage: true,
        }
    }
}

/// What the autoscaler did over the run (the summary's `autoscaler` figures).
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoscalerStats {
    pub scale_ups: u64,
    pub nodes_requested: u64,
    pub nodes_added: u64,
    pub scale_up_timeouts: u64,
    pub scale_downs: u64,
    pub nodes_removed: u64,
    pub empty_nodes_removed: u64,
}

/// When a node the autoscaler added or removed existed, for node-hours.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeLifetime {
    pub pool: String,
    /// `None`: there from the start.
    pub added: Option<SimTime>,
    pub removed: Option<SimTime>,
}

/// A scale-down in progress on one node.
#[derive(Clone, Debug)]
pub(crate) struct Deletion {
    pub started: SimTime,
    pub pods: Vec<PodId>,
    /// When an eviction was first refused (upstream gives up after `MaxPodEvictionTime`).
    pub refused_since: Option<SimTime>,
}

/// client-go's Event spam filter per involved object: a burst of 25, then one per 5 minutes.
#[derive(Clone, Copy, Debug)]
struct SpamBucket {
    tokens: u32,
    refilled: SimTime,
}

const SPAM_BURST: u32 = 25;
const SPAM_REFILL: SimDuration = SimDuration::from_secs(300);

#[derive(Debug, Default)]
pub struct Autoscaler {
    pub options: AutoscalerOptions,
    pub groups: Vec<NodeGroup>,
    checker: Option<predicates::PredicateChecker>,
    next_upcoming: u32,
    last_scale_up: Option<SimTime>,
    last_scale_down_delete: Option<SimTime>,
    last_scale_down_failure: Option<SimTime>,
    /// Nodes found unneeded, since when.
    pub(crate) unneeded_since: BTreeMap<NodeId, SimTime>,
    pub(crate) deleting: BTreeMap<NodeId, Deletion>,
    spam: BTreeMap<String, SpamBucket>,
    pub stats: AutoscalerStats,
    /// Nodes the autoscaler added or removed.
    pub lifetimes: BTreeMap<NodeId, NodeLifetime>,
}

impl Autoscaler {
    /// Builds the node groups of the pools that declare `autoscaling:` and arms the first
    /// loop; does nothing when none does.
    pub fn install(
        &mut self,
        ctx: &mut Context<'_, Event>,
        pools: &[NodePool],
        options: AutoscalerOptions,
        registry: &crate::scheduler::Registry,
    ) {
        self.groups = pools
            .iter()
            .filter_map(|p| {
                let spec = p.autoscaling.clone()?;
                Some(NodeGroup::new(p, spec, options.max_node_provision_time))
            })
            .collect();
        self.options = options;
        if self.groups.is_empty() {
            return;
        }
        self.checker = predicates::PredicateChecker::new(registry);
        ctx.schedule(
            self.options.scan_interval,
            Event::Autoscaler(AutoscalerEvent::Scan),
        );
    }

    pub fn is_active(&self) -> bool {
        !self.groups.is_empty()
    }

    pub fn handle(
        &mut self,
        e: AutoscalerEvent,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        match e {
            AutoscalerEvent::Scan => {
                self.run_once(api, ctx);
                ctx.schedule(
                    self.options.scan_interval,
                    Event::Autoscaler(AutoscalerEvent::Scan),
                );
            }
            AutoscalerEvent::Provisioned(id) => self.provisioned(id, api, ctx),
            AutoscalerEvent::Drain(node) => self.drain_step(node, api, ctx),
        }
    }

    /// Upstream `StaticAutoscaler.RunOnce`: time out late scale-ups, scale up, and when no
    /// scale-up happened, find unneeded nodes and (out of cool-down) remove some.
    fn run_once(&mut self, api: &mut ApiServer, ctx: &mut Context<'_, Event>) {
        if !api.is_available() {
            return;
        }
        let now = ctx.now();
        self.time_out_scale_ups(api, now);
        for g in &mut self.groups {
            g.backoff
                .remove_stale(now, node_group::NODE_GROUP_BACKOFF_RESET_TIMEOUT);
        }
        let scaled_up = self.scale_up(api, ctx);
        if scaled_up || !self.options.scale_down_enabled {
            return;
        }
        self.update_unneeded(api, now);
        if !self.scale_down_in_cooldown(now) {
            self.scale_down(api, ctx);
        }
    }

    /// Upstream `isScaleDownInCooldown`.
    fn scale_down_in_cooldown(&self, now: SimTime) -> bool {
        let o = &self.options;
        let within =
            |t: Option<SimTime>, d: SimDuration| t.is_some_and(|t| t.saturating_add(d) > now);
        within(self.last_scale_up, o.scale_down_delay_after_add)
            || within(
                self.last_scale_down_failure,
                o.scale_down_delay_after_failure,
            )
            || within(self.last_scale_down_delete, o.scale_down_delay_after_delete)
    }

    /// Upstream `ClusterStateRegistry.updateScaleRequests`: nodes asked for that did not
    /// register within the provision time are given up, the target size goes back down and
    /// the group backs off.
    fn time_out_scale_ups(&mut self, api: &mut ApiServer, now: SimTime) {
        for g in &mut self.groups {
            let late: Vec<node_group::UpcomingNode> = g
                .upcoming
                .iter()
                .filter(|u| u.deadline < now)
                .cloned()
                .collect();
            if late.is_empty() {
                continue;
            }
            g.upcoming.retain(|u| u.deadline >= now);
            let since = late.iter().map(|u| u.requested_at).min().unwrap_or(now);
            api.record(
                now,
                EventType::Warning,
                "ScaleUpTimedOut",
                STATUS_CONFIG_MAP.into(),
                format!(
                    "Nodes added to group {} failed to register within {}",
                    g.id,
                    go_duration(now.since(since))
                ),
            );
            self.stats.scale_up_timeouts += 1;
            g.backoff.fail(
                now,
                node_group::INITIAL_NODE_GROUP_BACKOFF,
                node_group::MAX_NODE_GROUP_BACKOFF,
            );
        }
    }

    /// Asks the group for `count` more nodes: each registers after a provisioning delay drawn
    /// from the group's range, unless that is longer than the provision time.
    pub(crate) fn increase_size(
        &mut self,
        group: usize,
        count: usize,
        api: &ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let now = ctx.now();
        for _ in 0..count {
            let id = self.next_upcoming;
            self.next_upcoming += 1;
            let Some(g) = self.groups.get_mut(group) else {
                return;
            };
            let mut index = g.next_index;
            while api.store.node_id(&g.pool.node_name(index)).is_some() {
                index += 1;
            }
            g.next_index = index + 1;
            let (lo, hi) = g.spec.provisioning_delay;
            let delay = SimDuration::from_nanos(
                ctx.rng("autoscaler/provisioning")
                    .random_range(lo.as_nanos()..=hi.as_nanos()),
            );
            let deadline = now.saturating_add(g.max_node_provision_time);
            let registers = now.saturating_add(delay);
            let registers_at = (registers <= deadline).then_some(registers);
            g.upcoming.push(node_group::UpcomingNode {
                id,
                index,
                name: g.pool.node_name(index),
                requested_at: now,
                registers_at,
                deadline,
            });
            if let Some(at) = registers_at {
                ctx.schedule_at(at, Event::Autoscaler(AutoscalerEvent::Provisioned(id)));
            }
            self.stats.nodes_requested += 1;
        }
    }

    /// The instance is up: its kubelet registers the Node.
    fn provisioned(&mut self, id: u32, api: &mut ApiServer, ctx: &mut Context<'_, Event>) {
        let Some((gi, ui)) = self.groups.iter().enumerate().find_map(|(gi, g)| {
            g.upcoming
                .iter()
                .position(|u| u.id == id)
                .map(|ui| (gi, ui))
        }) else {
            // Given up on (timed out) in the meantime.
            return;
        };
        let g = &mut self.groups[gi];
        let u = g.upcoming.remove(ui);
        if api.store.node_id(&u.name).is_some() {
            return;
        }
        let node = g.template(u.index);
        let name = node.name.clone();
        let pool = g.id.clone();
        let id = api.add_node(ctx, node);
        api.record(
            ctx.now(),
            EventType::Normal,
            "RegisteredNode",
            format!("node/{name}"),
            format!("Node {name} event: Registered Node {name} in Controller"),
        );
        self.lifetimes.insert(
            id,
            NodeLifetime {
                pool,
                added: Some(ctx.now()),
                removed: None,
            },
        );
        self.stats.nodes_added += 1;
    }

    /// Registered nodes per group (live nodes of its pool).
    pub(crate) fn registered(&self, api: &ApiServer) -> Vec<usize> {
        let mut counts = vec![0; self.groups.len()];
        for n in api.store.live_nodes() {
            if let Some(i) = self.groups.iter().position(|g| g.owns(&n.node)) {
                counts[i] += 1;
            }
        }
        counts
    }

    /// Records an Event about a pod through client-go's spam filter.
    pub(crate) fn record_filtered(
        &mut self,
        api: &mut ApiServer,
        now: SimTime,
        reason: &'static str,
        object: String,
        message: String,
    ) {
        let b = self.spam.entry(object.clone()).or_insert(SpamBucket {
            tokens: SPAM_BURST,
            refilled: now,
        });
        let periods = now.since(b.refilled).as_nanos() / SPAM_REFILL.as_nanos();
        if periods > 0 {
            b.tokens = b
                .tokens
                .saturating_add(u32::try_from(periods).unwrap_or(u32::MAX))
                .min(SPAM_BURST);
            b.refilled = b
                .refilled
                .saturating_add(SimDuration::from_nanos(periods * SPAM_REFILL.as_nanos()));
        }
        if b.tokens == 0 {
            return;
        }
        b.tokens -= 1;
        api.record(now, EventType::Normal, reason, object, message);
    }

    /// Node-hours of each pool over the run: nodes there at the end count the whole run
    /// unless the autoscaler added them later; nodes it removed count until then.
    pub fn node_hours_correction(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        let hours = |d: SimDuration| d.as_secs_f64() / 3600.0;
        for l in self.lifetimes.values() {
            let entry = out.entry(l.pool.clone()).or_insert(0.0);
            match (l.added, l.removed) {
                // Counted as there for the whole run: take off the time before it came.
                (Some(a), None) => *entry -= hours(a.since(SimTime::ZERO)),
                // Not counted (gone at the end): add the time it was there.
                (a, Some(r)) => *entry += hours(r.since(a.unwrap_or(SimTime::ZERO))),
                (None, None) => {}
            }
        }
        out
    }
}

/// Go's `time.Duration.String()` for whole milliseconds and up: `15m0s`, `1h2m3s`, `1.5s`.
pub fn go_duration(d: SimDuration) -> String {
    let total_ms = d.as_nanos() / 1_000_000;
    if total_ms == 0 {
        return "0s".into();
    }
    let h = total_ms / 3_600_000;
    let m = total_ms / 60_000 % 60;
    let ms = total_ms % 60_000;
    let secs = if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        let text = format!("{}.{:03}", ms / 1000, ms % 1000);
        format!("{}s", text.trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) => secs,
        (0, m) => format!("{m}m{secs}"),
        (h, m) => format!("{h}h{m}m{secs}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Go's time.Duration String (time/time_test.go durationTests): 1m0s, 1h2m3s, 1.5s.
    #[test]
    fn go_duration_strings() {
        assert_eq!(go_duration(SimDuration::from_secs(60)), "1m0s");
        assert_eq!(go_duration(SimDuration::from_secs(15 * 60)), "15m0s");
        assert_eq!(go_duration(SimDuration::from_secs(3723)), "1h2m3s");
        assert_eq!(go_duration(SimDuration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(SimDuration::ZERO), "0s");
    }
}
