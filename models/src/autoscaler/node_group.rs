//! Node groups (upstream `cloudprovider.NodeGroup`): one per node pool that declares
//! `autoscaling: {min, max, provisioningDelay}`. The template node a scale-up simulates is the
//! pool's node (`NodePool::node`); the target size is the pool's registered nodes plus the
//! instances asked for and not registered yet (upstream's "upcoming nodes").
//!
//! Also the per-group exponential backoff after a failed scale-up (upstream
//! `utils/backoff/exponential_backoff.go`).

use sim_core::{SimDuration, SimTime};

use crate::api::Node;
use crate::scenario::NodePool;

/// `--max-node-provision-time`: how long a requested node may take to register.
pub const DEFAULT_MAX_NODE_PROVISION_TIME: SimDuration = SimDuration::from_secs(15 * 60);
/// `--initial-node-group-backoff-duration`.
pub const INITIAL_NODE_GROUP_BACKOFF: SimDuration = SimDuration::from_secs(5 * 60);
/// `--max-node-group-backoff-duration`.
pub const MAX_NODE_GROUP_BACKOFF: SimDuration = SimDuration::from_secs(30 * 60);
/// `--node-group-backoff-reset-timeout`.
pub const NODE_GROUP_BACKOFF_RESET_TIMEOUT: SimDuration = SimDuration::from_secs(3 * 60 * 60);

/// A pool's `autoscaling:` key.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeGroupSpec {
    pub min: u32,
    pub max: u32,
    /// Time from the scale-up to the node's registration, drawn uniformly from `[lo, hi]`.
    pub provisioning_delay: (SimDuration, SimDuration),
    /// The group's own `maxNodeProvisionTime`; `None` takes the cluster autoscaler's.
    pub max_node_provision_time: Option<SimDuration>,
}

impl Default for NodeGroupSpec {
    fn default() -> Self {
        NodeGroupSpec {
            min: 0,
            max: 0,
            provisioning_delay: (SimDuration::from_secs(90), SimDuration::from_secs(180)),
            max_node_provision_time: None,
        }
    }
}

/// An instance asked for and not registered yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpcomingNode {
    /// Sequence number, the key of its `Provisioned` timer.
    pub id: u32,
    /// The node's index in its pool's names.
    pub index: usize,
    pub name: String,
    pub requested_at: SimTime,
    /// `None`: the instance never comes up in time (its delay exceeds the provision time).
    pub registers_at: Option<SimTime>,
    /// After this the scale-up counts as timed out (`requested_at + maxNodeProvisionTime`).
    pub deadline: SimTime,
}

/// Upstream `exponentialBackoff` for one node group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backoff {
    pub duration: SimDuration,
    pub until: Option<SimTime>,
    pub last_failed: Option<SimTime>,
}

impl Backoff {
    /// Upstream `Backoff`: the first failure backs off for the initial duration; a failure
    /// while backed off keeps the duration (concurrent scale-ups failing together), one after
    /// the backoff ended doubles it, up to the maximum. Returns the end of the backoff.
    pub fn fail(&mut self, now: SimTime, initial: SimDuration, max: SimDuration) -> SimTime {
        let mut duration = initial;
        if let Some(until) = self.until {
            duration = self.duration;
            if until < now {
                duration = duration.saturating_add(duration).min(max);
            }
        }
        let until = now.saturating_add(duration);
        *self = Backoff {
            duration,
            until: Some(until),
            last_failed: Some(now),
        };
        until
    }

    /// Upstream `BackoffStatus(...).IsBackedOff`.
    pub fn is_backed_off(&self, now: SimTime) -> bool {
        self.until.is_some_and(|until| until >= now)
    }

    /// Upstream `RemoveStaleBackoffData`: forgets a failure older than the reset timeout.
    pub fn remove_stale(&mut self, now: SimTime, reset_timeout: SimDuration) {
        if self
            .last_failed
            .is_some_and(|t| t.saturating_add(reset_timeout) < now)
        {
            *self = Backoff::default();
        }
    }
}

/// One autoscaled node pool.
#[derive(Clone, Debug)]
pub struct NodeGroup {
    /// The pool's name: upstream's `NodeGroup.Id()`.
    pub id: String,
    pub pool: NodePool,
    pub spec: NodeGroupSpec,
    pub max_node_provision_time: SimDuration,
    /// Instances asked for, not registered yet.
    pub upcoming: Vec<UpcomingNode>,
    /// The next index for a node name (`<pool>-<index>`).
    pub next_index: usize,
    pub backoff: Backoff,
}

impl NodeGroup {
    pub fn new(pool: &NodePool, spec: NodeGroupSpec, default_provision_time: SimDuration) -> Self {
        NodeGroup {
            id: pool.name.clone(),
            pool: pool.clone(),
            max_node_provision_time: spec
                .max_node_provision_time
                .unwrap_or(default_provision_time),
            spec,
            upcoming: Vec::new(),
            next_index: pool.count as usize,
            backoff: Backoff::default(),
        }
    }

    /// Upstream `TemplateNodeInfo`: what a new node of the group will look like.
    pub fn template(&self, index: usize) -> Node {
        self.pool.node(index)
    }

    /// Whether a node belongs to this group.
    pub fn owns(&self, node: &Node) -> bool {
        node.pool.as_deref() == Some(self.id.as_str())
    }

    /// Upstream `TargetSize`: registered nodes plus those asked for.
    pub fn target_size(&self, registered: usize) -> usize {
        registered + self.upcoming.len()
    }

    /// Spot pools: cost per node-hour is the pool's `costPerHour` either way; the flag tells
    /// reports which pools run on interruptible capacity.
    pub fn is_spot(&self) -> bool {
        self.pool.spot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> SimTime {
        SimTime::ZERO.saturating_add(SimDuration::from_secs(secs))
    }
    const MS: SimDuration = SimDuration::from_millis(1);

    // upstream utils/backoff/exponential_backoff_test.go TestMaxBackoff (1m initial, 3m max):
    // a failure at the very end of a backoff keeps its duration; one after it doubles it.
    #[test]
    fn max_backoff() {
        let (initial, max) = (SimDuration::from_secs(60), SimDuration::from_secs(180));
        let mut b = Backoff::default();
        b.fail(t(0), initial, max);
        assert!(b.is_backed_off(t(0)));
        assert!(!b.is_backed_off(t(60).saturating_add(MS)));
        b.fail(t(60), initial, max);
        assert!(b.is_backed_off(t(60)));
        assert!(!b.is_backed_off(t(180)));
        b.fail(t(180), initial, max);
        assert!(b.is_backed_off(t(180)));
        assert!(!b.is_backed_off(t(360)));
    }

    // upstream TestIncreaseExistingBackoff (1s initial, 10m max): out of backoff, the next
    // failure doubles the duration; a failure during a backoff does not.
    #[test]
    fn increase_existing_backoff() {
        let (initial, max) = (SimDuration::from_secs(1), SimDuration::from_secs(600));
        let mut b = Backoff::default();
        let mut now = t(100);
        b.fail(now, initial, max);
        assert!(b.is_backed_off(now));
        now = now
            .saturating_add(SimDuration::from_secs(1))
            .saturating_add(MS);
        assert!(!b.is_backed_off(now));
        b.fail(now, initial, max);
        assert!(b.is_backed_off(now));
        assert_eq!(b.duration, SimDuration::from_secs(2));
        now = now.saturating_add(SimDuration::from_secs(1));
        b.fail(now, initial, max);
        assert_eq!(b.duration, SimDuration::from_secs(2));
        now = now
            .saturating_add(SimDuration::from_secs(2))
            .saturating_add(MS);
        assert!(!b.is_backed_off(now));
    }

    // upstream TestResetStaleBackoffData (reset timeout 3h): a group that last failed at the
    // start is forgotten at 4h, one that failed at 1h at 5h.
    #[test]
    fn reset_stale_backoff_data() {
        let (initial, max) = (SimDuration::from_secs(60), SimDuration::from_secs(180));
        let reset = NODE_GROUP_BACKOFF_RESET_TIMEOUT;
        let (mut g1, mut g2) = (Backoff::default(), Backoff::default());
        g1.fail(t(0), initial, max);
        g2.fail(t(3600), initial, max);
        for b in [&mut g1, &mut g2] {
            b.remove_stale(t(3600), reset);
        }
        assert!(g1.last_failed.is_some() && g2.last_failed.is_some());
        for b in [&mut g1, &mut g2] {
            b.remove_stale(t(4 * 3600), reset);
        }
        assert_eq!(
            (g1 == Backoff::default(), g2.last_failed.is_some()),
            (true, true)
        );
        g2.remove_stale(t(5 * 3600), reset);
        assert_eq!(g2, Backoff::default());
    }
}
