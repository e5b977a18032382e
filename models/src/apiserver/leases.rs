//! Node Leases (`kube-node-lease/<node>`) and the node's `Ready` condition.
//!
//! A healthy kubelet renews its Lease every `renewInterval` (10s, a quarter of the 40s
//! `leaseDurationSeconds`). Writing that as one change per renewal would cost 8.6 million
//! events a day on a 1,000-node cluster and tell nobody anything, so a Lease here is kept
//! lazily: while its kubelet renews, `renewTime` is the last renewal tick at or before now,
//! computed when read. The kubelet starts the renewals (a write: it needs the API server) and
//! they stop when the kubelet can no longer make them (crashed, stalled, partitioned, or the
//! API server down); the renewals it did make stay. Readers — the node lifecycle controller —
//! see exactly the `renewTime` a polling reader of the real object would.

use sim_core::{SimDuration, SimTime};

use crate::api::NodeId;

/// Upstream kubelet `nodeLeaseDurationSeconds` (40) and the renew interval, a quarter of it
/// (`pkg/kubelet/kubelet.go`: `renewInterval = leaseDuration * 0.25`).
pub const NODE_LEASE_DURATION: SimDuration = SimDuration::from_secs(40);
pub const NODE_LEASE_RENEW_INTERVAL: SimDuration = SimDuration::from_secs(10);

/// A node's Lease.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeLease {
    /// The first renewal of the current run of renewals; `None` while nobody renews.
    renewing_since: Option<SimTime>,
    /// The last renewal made before the current run stopped (or began).
    last_renew: Option<SimTime>,
    /// Renewals stopped because the API server is down; they resume when it is back.
    paused: bool,
}

impl NodeLease {
    /// `spec.renewTime` as a reader sees it at `now`.
    pub fn renew_time(&self, now: SimTime) -> Option<SimTime> {
        match self.renewing_since {
            Some(since) if since <= now => {
                let period = NODE_LEASE_RENEW_INTERVAL.as_nanos();
                let ticks = (now.as_nanos() - since.as_nanos()) / period;
                Some(SimTime::from_nanos(since.as_nanos() + ticks * period))
            }
            _ => self.last_renew,
        }
    }

    /// Whether a kubelet renews this Lease now.
    pub fn is_renewing(&self) -> bool {
        self.renewing_since.is_some()
    }
}

/// The Leases of every node, by `NodeId`.
#[derive(Clone, Debug, Default)]
pub struct NodeLeases {
    leases: Vec<NodeLease>,
}

impl NodeLeases {
    pub fn get(&self, node: NodeId) -> NodeLease {
        self.leases.get(node.index()).copied().unwrap_or_default()
    }

    fn slot(&mut self, node: NodeId) -> &mut NodeLease {
        if self.leases.len() <= node.index() {
            self.leases.resize(node.index() + 1, NodeLease::default());
        }
        &mut self.leases[node.index()]
    }

    /// The kubelet renews from `now` on (its first renewal is now).
    pub(crate) fn start(&mut self, node: NodeId, now: SimTime) {
        let l = self.slot(node);
        if l.renewing_since.is_none() {
            l.renewing_since = Some(now);
        }
    }

    /// The renewals stop at `now`: the last one made stays as `renewTime`. Returns whether
    /// they were going on (or only paused by an API server outage).
    pub(crate) fn stop(&mut self, node: NodeId, now: SimTime) -> bool {
        let l = self.slot(node);
        // A kubelet that stops while the API server is down does not renew when it returns.
        let was_paused = std::mem::take(&mut l.paused);
        if l.renewing_since.is_some() {
            l.last_renew = l.renew_time(now);
            l.renewing_since = None;
            return true;
        }
        was_paused
    }

    /// The API server goes down: no kubelet can renew from `now` on. Not changes in the watch
    /// log (nothing commits while the API server is down); readers see `renewTime` freeze.
    pub fn pause_renewals(&mut self, now: SimTime) {
        for l in &mut self.leases {
            if l.renewing_since.is_some() {
                l.last_renew = l.renew_time(now);
                l.renewing_since = None;
                l.paused = true;
            }
        }
    }

    /// The API server is back: every kubelet that was renewing renews at once, then on its
    /// usual interval.
    pub fn resume_renewals(&mut self, now: SimTime) {
        for l in &mut self.leases {
            if l.paused {
                l.paused = false;
                l.renewing_since = Some(now);
            }
        }
    }

    /// Nodes whose Lease nobody renews now, in id order.
    pub fn not_renewing(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.leases
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.is_renewing())
            .map(|(i, _)| NodeId(i as u32))
    }
}

/// A node condition's status (`True`, `False`, `Unknown`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConditionStatus {
    #[default]
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

/// The node conditions kubesim models (`status.conditions`). Nodes register Ready.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeConditions {
    pub ready: ConditionStatus,
    /// When `Ready` last changed (`lastTransitionTime`).
    pub ready_transition: SimTime,
    /// `MemoryPressure` and `DiskPressure` are `True` (the kubelet's eviction manager).
    pub memory_pressure: bool,
    pub disk_pressure: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renew_time_is_the_last_tick_and_freezes_when_renewals_stop() {
        let mut leases = NodeLeases::default();
        let n = NodeId(2);
        assert_eq!(leases.get(n).renew_time(SimTime::from_secs(5)), None);
        leases.start(n, SimTime::from_secs(3));
        assert_eq!(
            leases.get(n).renew_time(SimTime::from_secs(3)),
            Some(SimTime::from_secs(3))
        );
        assert_eq!(
            leases.get(n).renew_time(SimTime::from_secs(42)),
            Some(SimTime::from_secs(33))
        );
        leases.stop(n, SimTime::from_secs(57));
        assert!(!leases.get(n).is_renewing());
        assert_eq!(
            leases.get(n).renew_time(SimTime::from_secs(500)),
            Some(SimTime::from_secs(53))
        );
        assert_eq!(
            leases.not_renewing().collect::<Vec<_>>(),
            vec![NodeId(0), NodeId(1), n]
        );
        leases.start(n, SimTime::from_secs(600));
        let other = NodeId(0);
        leases.start(other, SimTime::from_secs(600));
        leases.pause_renewals(SimTime::from_secs(625));
        assert_eq!(
            leases.get(n).renew_time(SimTime::from_secs(700)),
            Some(SimTime::from_secs(620))
        );
        // A kubelet that stops during the outage stays stopped.
        leases.stop(other, SimTime::from_secs(630));
        leases.resume_renewals(SimTime::from_secs(703));
        assert_eq!(
            leases.get(n).renew_time(SimTime::from_secs(715)),
            Some(SimTime::from_secs(713))
        );
        assert!(!leases.get(other).is_renewing());
        leases.stop(n, SimTime::from_secs(716));
        leases.start(n, SimTime::from_secs(600));
        assert_eq!(
            leases.get(n).renew_time(SimTime::from_secs(615)),
            Some(SimTime::from_secs(610))
        );
    }
}
