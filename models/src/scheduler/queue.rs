//! The scheduling queue (upstream `pkg/scheduler/backend/queue/scheduling_queue.go`):
//! an active queue ordered by PrioritySort, a backoff queue ordered by backoff expiry, and the
//! unschedulable pods that wait for a cluster event.
//!
//! Upstream flushes the backoff queue every second and moves pods that stayed unschedulable
//! longer than `podMaxInUnschedulablePodsDuration` (5 min) every 30 s; the world drives those
//! flushes as timer events while the queues are non-empty, aligned to whole periods of
//! simulated time.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use priority_queue::PriorityQueue;
use sim_core::{SimDuration, SimTime};
use std::hash::{BuildHasherDefault, DefaultHasher};

use crate::api::PodId;

/// Upstream `DefaultPodInitialBackoffDuration`.
pub const POD_INITIAL_BACKOFF: SimDuration = SimDuration::from_secs(1);
/// Upstream `DefaultPodMaxBackoffDuration`.
pub const POD_MAX_BACKOFF: SimDuration = SimDuration::from_secs(10);
/// Upstream `DefaultPodMaxInUnschedulablePodsDuration`.
pub const POD_MAX_IN_UNSCHEDULABLE: SimDuration = SimDuration::from_mins(5);
/// Period of `flushBackoffQCompleted`.
pub const BACKOFF_FLUSH_PERIOD: SimDuration = SimDuration::from_secs(1);
/// Period of `flushUnschedulablePodsLeftover`.
pub const UNSCHEDULABLE_FLUSH_PERIOD: SimDuration = SimDuration::from_secs(30);

/// Upstream `calculateBackoffDuration`: initial × 2^(attempts-1), capped at the maximum.
pub fn backoff_duration(attempts: u32) -> SimDuration {
    let mut d = POD_INITIAL_BACKOFF;
    for _ in 1..attempts {
        d = d.saturating_mul(2);
        if d >= POD_MAX_BACKOFF {
            return POD_MAX_BACKOFF;
        }
    }
    d.min(POD_MAX_BACKOFF)
}

#[derive(Clone, Copy, Debug)]
struct QueuedPodInfo {
    priority: i32,
    /// When the pod was first added; PrioritySort breaks priority ties by it.
    timestamp: SimTime,
    /// Tie-break after the timestamp, so the order is total and deterministic.
    seq: u64,
    attempts: u32,
    last_failure: SimTime,
}

/// Fixed-key hashing: the queues' internal index must not draw OS randomness. Pop order never
/// depends on it anyway, because every priority is unique (it ends in a sequence number).
type FixedHasher = BuildHasherDefault<DefaultHasher>;

/// PrioritySort's key: higher priority first, then earlier arrival.
type ActiveKey = (i32, Reverse<(SimTime, u64)>);

#[derive(Debug, Default)]
pub struct SchedulingQueue {
    info: BTreeMap<PodId, QueuedPodInfo>,
    active: PriorityQueue<PodId, ActiveKey, FixedHasher>,
    backoff: PriorityQueue<PodId, Reverse<(SimTime, u64)>, FixedHasher>,
    unschedulable: BTreeMap<PodId, SimTime>,
    next_seq: u64,
}

impl SchedulingQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// A new pending pod enters the active queue.
    pub fn add(&mut self, pod: PodId, priority: i32, now: SimTime) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let info = QueuedPodInfo {
            priority,
            timestamp: now,
            seq,
            attempts: 0,
            last_failure: now,
        };
        self.info.insert(pod, info);
        self.push_active(pod, info);
    }

    fn push_active(&mut self, pod: PodId, info: QueuedPodInfo) {
        self.active
            .push(pod, (info.priority, Reverse((info.timestamp, info.seq))));
    }

    /// The pod is in one of the three queues.
    pub fn contains(&self, pod: PodId) -> bool {
        self.info.contains_key(&pod)
    }

    /// Scheduling attempts of a queued pod so far; `None` if it is not queued. A queued pod
    /// with attempts has failed its last one (a pod that fits is bound and leaves the queue).
    pub fn attempts(&self, pod: PodId) -> Option<u32> {
        self.info.get(&pod).map(|i| i.attempts)
    }

    /// Pops the pod PrioritySort puts first: highest priority, then earliest timestamp.
    pub fn pop(&mut self) -> Option<PodId> {
        let (pod, _) = self.active.pop()?;
        if let Some(info) = self.info.get_mut(&pod) {
            info.attempts += 1;
        }
        Some(pod)
    }

    /// The pod could not be scheduled: it waits for a cluster event or the leftover flush.
    pub fn add_unschedulable(&mut self, pod: PodId, now: SimTime) {
        if let Some(info) = self.info.get_mut(&pod) {
            info.last_failure = now;
        }
        self.unschedulable.insert(pod, now);
    }

    /// The pod left the queue for good (bound or deleted).
    pub fn forget(&mut self, pod: PodId) {
        self.info.remove(&pod);
        self.active.remove(&pod);
        self.backoff.remove(&pod);
        self.unschedulable.remove(&pod);
    }

    fn backoff_expiry(info: &QueuedPodInfo) -> SimTime {
        info.last_failure
            .saturating_add(backoff_duration(info.attempts))
    }

    /// Upstream `MoveAllToActiveOrBackoffQueue`: a cluster event (node added, pod deleted, …)
    /// may make unschedulable pods schedulable; those still backing off go to the backoff queue.
    pub fn move_all_to_active_or_backoff(&mut self, now: SimTime) {
        let pods: Vec<PodId> = std::mem::take(&mut self.unschedulable)
            .into_keys()
            .collect();
        for pod in pods {
            self.requeue(pod, now);
        }
    }

    /// The attempt failed with an error rather than a verdict (e.g. the binding was refused):
    /// upstream puts such a pod in the backoff queue, to be retried when its backoff expires.
    pub fn add_after_error(&mut self, pod: PodId, now: SimTime) {
        if let Some(info) = self.info.get_mut(&pod) {
            info.last_failure = now;
        }
        self.unschedulable.remove(&pod);
        self.requeue(pod, now);
    }

    fn requeue(&mut self, pod: PodId, now: SimTime) {
        let Some(info) = self.info.get(&pod).copied() else {
            return;
        };
        let expiry = Self::backoff_expiry(&info);
        if expiry > now {
            self.backoff.push(pod, Reverse((expiry, info.seq)));
        } else {
            self.push_active(pod, info);
        }
    }

    /// Upstream `flushBackoffQCompleted`: pods whose backoff has expired become active.
    pub fn flush_backoff_completed(&mut self, now: SimTime) {
        while let Some((_, Reverse((expiry, _)))) = self.backoff.peek() {
            if *expiry > now {
                break;
            }
            let Some((pod, _)) = self.backoff.pop() else {
                break;
            };
            if let Some(info) = self.info.get(&pod).copied() {
                self.push_active(pod, info);
            }
        }
    }

    /// Upstream `flushUnschedulablePodsLeftover`: pods unschedulable for longer than
    /// `POD_MAX_IN_UNSCHEDULABLE` are retried.
    pub fn flush_unschedulable_leftover(&mut self, now: SimTime) {
        let stale: Vec<PodId> = self
            .unschedulable
            .iter()
            .filter(|(_, since)| now.since(**since) > POD_MAX_IN_UNSCHEDULABLE)
            .map(|(pod, _)| *pod)
            .collect();
        for pod in stale {
            self.unschedulable.remove(&pod);
            self.requeue(pod, now);
        }
    }

    pub fn active_len(&self) -> usize {
        self.active.len()
    }

    pub fn backoff_len(&self) -> usize {
        self.backoff.len()
    }

    pub fn unschedulable_len(&self) -> usize {
        self.unschedulable.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_and_caps_at_ten() {
        // scheduling_queue.go calculateBackoffDuration: 1s, 2s, 4s, 8s, then the 10s cap.
        let secs: Vec<u64> = (1..=6).map(|a| backoff_duration(a).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn priority_sort_orders_by_priority_then_arrival() {
        let mut q = SchedulingQueue::new();
        q.add(PodId(0), 0, SimTime::from_nanos(0));
        q.add(PodId(1), 10, SimTime::from_nanos(5));
        q.add(PodId(2), 0, SimTime::from_nanos(0));
        assert_eq!(
            [q.pop(), q.pop(), q.pop()],
            [Some(PodId(1)), Some(PodId(0)), Some(PodId(2))]
        );
    }

    #[test]
    fn cluster_event_moves_unschedulable_pods_through_backoff() {
        let mut q = SchedulingQueue::new();
        let t0 = SimTime::ZERO;
        q.add(PodId(7), 0, t0);
        assert_eq!(q.pop(), Some(PodId(7)));
        q.add_unschedulable(PodId(7), t0);
        // Half a second later the 1 s backoff has not expired: the pod waits in backoffQ.
        let half = t0.saturating_add(SimDuration::from_millis(500));
        q.move_all_to_active_or_backoff(half);
        assert_eq!((q.active_len(), q.backoff_len()), (0, 1));
        q.flush_backoff_completed(t0.saturating_add(SimDuration::from_secs(1)));
        assert_eq!(q.pop(), Some(PodId(7)));
    }

    #[test]
    fn leftover_flush_retries_pods_after_five_minutes() {
        let mut q = SchedulingQueue::new();
        q.add(PodId(1), 0, SimTime::ZERO);
        q.pop();
        q.add_unschedulable(PodId(1), SimTime::ZERO);
        q.flush_unschedulable_leftover(SimTime::ZERO.saturating_add(SimDuration::from_mins(5)));
        assert_eq!(
            q.unschedulable_len(),
            1,
            "exactly 5 min is not longer than the maximum"
        );
        q.flush_unschedulable_leftover(SimTime::ZERO.saturating_add(SimDuration::from_secs(301)));
        assert_eq!(q.active_len(), 1);
    }
}
