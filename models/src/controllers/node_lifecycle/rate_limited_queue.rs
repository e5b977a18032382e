//! Upstream `pkg/controller/nodelifecycle/scheduler/rate_limited_queue.go`: a unique queue of
//! timed values ordered by `ProcessAt`, processed by `Try` no faster than its rate limiter
//! allows. The node lifecycle controller keeps one per zone for the NoExecute taints.
//!
//! Values with equal `ProcessAt` come out in the order they were (re)inserted; upstream's heap
//! leaves that order unspecified.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::{SimDuration, SimTime};

use super::rate_limiter::TokenBucket;

/// Upstream `EvictionRateLimiterBurst`.
pub const EVICTION_RATE_LIMITER_BURST: u64 = 1;

/// Upstream `RateLimitedTimedQueue`.
#[derive(Clone, Debug)]
pub struct RateLimitedTimedQueue<V: Ord + Copy> {
    /// The heap: `(ProcessAt, insertion, value)`.
    heap: BTreeSet<(SimTime, u64, V)>,
    /// Where each value in the heap sits.
    in_heap: BTreeMap<V, (SimTime, u64)>,
    /// Values added and not removed (`UniqueQueue.set`): kept after a successful `Try`, so a
    /// value is processed once until it is explicitly removed.
    set: BTreeSet<V>,
    inserted: u64,
    limiter: TokenBucket,
}

impl<V: Ord + Copy> RateLimitedTimedQueue<V> {
    pub fn new(limiter: TokenBucket) -> Self {
        RateLimitedTimedQueue {
            heap: BTreeSet::new(),
            in_heap: BTreeMap::new(),
            set: BTreeSet::new(),
            inserted: 0,
            limiter,
        }
    }

    fn push(&mut self, value: V, process_at: SimTime) {
        self.inserted += 1;
        self.heap.insert((process_at, self.inserted, value));
        self.in_heap.insert(value, (process_at, self.inserted));
    }

    fn remove_from_heap(&mut self, value: V) -> bool {
        match self.in_heap.remove(&value) {
            Some((at, seq)) => self.heap.remove(&(at, seq, value)),
            None => false,
        }
    }

    /// Upstream `Add(value, uid)`: `ProcessAt = AddedAt = now`; `false` if already added and
    /// not removed since.
    pub fn add(&mut self, value: V, now: SimTime) -> bool {
        if !self.set.insert(value) {
            return false;
        }
        self.push(value, now);
        true
    }

    /// Upstream `Remove(value)`: out of the queue and addable again; `false` if it was not added.
    pub fn remove(&mut self, value: V) -> bool {
        if !self.set.remove(&value) {
            return false;
        }
        self.remove_from_heap(value);
        true
    }

    /// Whether a value waits to be processed.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Values added and not removed, processed or not.
    pub fn contains(&self, value: V) -> bool {
        self.set.contains(&value)
    }

    fn head(&self) -> Option<(SimTime, V)> {
        self.heap.first().map(|&(at, _, v)| (at, v))
    }

    /// Upstream `Try(fn)`: while the limiter gives a token and the head is due, hand it to
    /// `f`; `(true, _)` takes it out of the queue (it stays in the set), `(false, wait)` puts
    /// it back at `now + wait + 1ns`.
    pub fn try_process(&mut self, now: SimTime, mut f: impl FnMut(V) -> (bool, SimDuration)) {
        while let Some((process_at, value)) = self.head() {
            if !self.limiter.try_accept(now) {
                break;
            }
            if now < process_at {
                break;
            }
            let (ok, wait) = f(value);
            self.remove_from_heap(value);
            if !ok {
                let at = now
                    .saturating_add(wait)
                    .saturating_add(SimDuration::from_nanos(1));
                self.push(value, at);
            }
        }
    }

    /// When `try_process` could next hand out a value; `None` while nothing waits or the
    /// limiter never accepts.
    pub fn next_try(&self, now: SimTime) -> Option<SimTime> {
        let (process_at, _) = self.head()?;
        let token = self.limiter.next_accept(now)?;
        Some(token.max(process_at))
    }

    /// Upstream `SwapLimiter(newQPS)`: a new bucket at the new rate (none at all for a rate of
    /// zero), drained at once if the old one had no token left, as upstream does for burst 1.
    pub fn swap_limiter(&mut self, qps_milli: u64, now: SimTime) {
        if self.limiter.qps_milli() == qps_milli {
            return;
        }
        if qps_milli == 0 {
            self.limiter = TokenBucket::Never;
            return;
        }
        let mut new = TokenBucket::new(qps_milli, EVICTION_RATE_LIMITER_BURST);
        if !self.limiter.try_accept(now) {
            new.try_accept(now);
        }
        self.limiter = new;
    }

    pub fn limiter(&self) -> &TokenBucket {
        &self.limiter
    }
}

/// Transcribed from upstream `pkg/controller/nodelifecycle/scheduler/rate_limited_queue_test.go`
/// (`flowcontrol.NewFakeAlwaysRateLimiter()` is a bucket that always has a token; the fake
/// clock that ticks 1 ms per call is replaced by explicit instants).
#[cfg(test)]
mod tests {
    use super::*;

    fn queue() -> RateLimitedTimedQueue<&'static str> {
        RateLimitedTimedQueue::new(TokenBucket::new(u64::MAX / 4, u64::MAX / (4 << 40)))
    }

    fn try_all(q: &mut RateLimitedTimedQueue<&'static str>, now: SimTime) -> Vec<&'static str> {
        let mut out = Vec::new();
        q.try_process(now, |v| {
            out.push(v);
            (true, SimDuration::ZERO)
        });
        out
    }

    #[test]
    fn add_and_del_node() {
        // TestAddNode, TestDelNode: values are unique; Remove frees one for adding again.
        let mut q = queue();
        let t = SimTime::ZERO;
        assert!(q.add("first", t));
        assert!(q.add("second", t));
        assert!(q.add("third", t));
        assert!(!q.add("first", t));
        assert!(q.remove("first"));
        assert!(!q.remove("first"));
        assert_eq!(q.len(), 2);
        assert!(q.contains("second") && !q.contains("first"));
    }

    #[test]
    fn try_processes_what_was_not_removed() {
        // TestTry: first, second, third added, second removed → first and third processed.
        let mut q = queue();
        let t = SimTime::ZERO;
        q.add("first", t);
        q.add("second", t);
        q.add("third", t);
        q.remove("second");
        assert_eq!(try_all(&mut q, t), vec!["first", "third"]);
    }

    #[test]
    fn try_ordering() {
        // TestTryOrdering: "second" asks to wait 2 ms; first and third go now, second after
        // its wait (ProcessAt = now + wait + 1ns).
        let mut q = queue();
        let t = SimTime::ZERO;
        q.add("first", t);
        q.add("second", t);
        q.add("third", t);
        let mut order = Vec::new();
        let mut count = 0;
        q.try_process(t, |v| {
            count += 1;
            if v == "second" {
                return (false, SimDuration::from_millis(2));
            }
            order.push(v);
            (true, SimDuration::ZERO)
        });
        assert_eq!(order, vec!["first", "third"]);
        assert_eq!(count, 3);
        let retry = t + SimDuration::from_millis(2) + SimDuration::from_nanos(1);
        assert_eq!(q.next_try(t), Some(retry));
        assert_eq!(try_all(&mut q, retry), vec!["second"]);
    }

    #[test]
    fn swap_limiter() {
        // TestSwapLimiter: SwapLimiter(0) installs the never-limiter (whose QPS() is 1);
        // SwapLimiter(5.5) a bucket of 5.5 qps.
        let mut q = queue();
        q.swap_limiter(0, SimTime::ZERO);
        assert_eq!(*q.limiter(), TokenBucket::Never);
        assert_eq!(q.limiter().qps_milli(), 1000);
        q.swap_limiter(5500, SimTime::ZERO);
        assert_eq!(q.limiter().qps_milli(), 5500);
        // The never-limiter had no token to give, so the new bucket starts drained.
        q.add("first", SimTime::ZERO);
        let at = q.next_try(SimTime::ZERO).expect("a bucket refills");
        assert_eq!(at, SimTime::from_nanos(181_818_182));
    }

    #[test]
    fn add_after_try() {
        // TestAddAfterTry: a processed value is not processed again unless removed first.
        let mut q = queue();
        let t = SimTime::ZERO;
        q.add("first", t);
        q.add("second", t);
        q.add("third", t);
        q.remove("second");
        assert_eq!(try_all(&mut q, t), vec!["first", "third"]);
        q.add("first", t);
        assert!(try_all(&mut q, t).is_empty());
    }
}
