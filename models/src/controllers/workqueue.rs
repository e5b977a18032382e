//! Rate-limited work queue in virtual time, after upstream client-go `util/workqueue`
//! (`queue.go`, `delaying_queue.go`, `rate_limiting_queue.go`, `default_rate_limiters.go`)
//! and the token bucket of `golang.org/x/time/rate`.
//!
//! # How it maps to upstream
//!
//! Upstream stacks three queues: the plain queue (`Typed`), a delaying queue that feeds it from
//! a goroutine watching a heap of `waitFor` entries, and a rate-limiting queue that asks a
//! [`RateLimiter`] how long to wait. [`WorkQueue`] is all three in one value, without threads
//! or clocks:
//!
//! | upstream | here |
//! | --- | --- |
//! | `queue []T`, `dirty`, `processing` sets | `queue` (`VecDeque`), `dirty`, `processing` (`BTreeSet`) |
//! | `Add`: no-op if dirty; mark dirty; queue it unless processing | [`WorkQueue::add`], same |
//! | `Get` (blocks) | [`WorkQueue::get`] returns `None` instead of blocking |
//! | `Done`: leave processing; re-queue if dirtied meanwhile | [`WorkQueue::done`], same |
//! | `Len` (length of `queue` only, not the waiting heap) | [`WorkQueue::len`], same |
//! | `AddAfter(item, d)`: `d <= 0` adds now, else heap entry `readyAt = now + d`; an item already waiting only moves *earlier* | [`WorkQueue::add_after`], same |
//! | `waitingLoop` adds every entry with `readyAt <= now` when its timer, the 10 s heartbeat or a new entry wakes it | the simulator calls [`WorkQueue::promote_ready`] at [`WorkQueue::next_ready_time`] |
//! | `AddRateLimited(item)` = `AddAfter(item, limiter.When(item))` | [`WorkQueue::add_rate_limited`] |
//! | `Forget`, `NumRequeues` (delegate to the limiter) | [`WorkQueue::forget`], [`WorkQueue::num_requeues`] |
//!
//! Differences, all forced by virtual time or determinism:
//! - The clock is an argument (`now`) instead of `time.Now()`, so a bucket reservation's delay is
//!   measured from the instant it was made (upstream measures `Delay()` a few nanoseconds later).
//! - Waiting entries that become ready at the same instant are promoted in the order they were
//!   first inserted; upstream's heap leaves that order unspecified. An entry whose time is moved
//!   earlier keeps its original insertion rank, as the heap entry keeps its identity upstream.
//! - The heartbeat (`maxWait` = 10 s) only guards against lost timer wake-ups; with an explicit
//!   [`WorkQueue::next_ready_time`] there is nothing to guard against, so it is not modelled.
//! - Shutdown and metrics are not modelled.
//! - The token bucket counts tokens in exact integer fixed point instead of `float64`; delays can
//!   differ from Go's by at most a nanosecond of float rounding.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use sim_core::{SimDuration, SimTime};

/// Upstream `rate.InfDuration` (`1<<63 - 1` ns): the delay of a reservation that can never be
/// granted (a bucket with burst 0, or a zero-rate bucket whose burst is used up).
pub const INF_DURATION: SimDuration = SimDuration::from_nanos(i64::MAX as u64);

/// Upstream `TypedRateLimiter`: decides how long an item waits before it is re-queued.
pub trait RateLimiter<K> {
    /// Upstream `When`: the delay for `key` (recording one more failure for per-item
    /// limiters, taking a reservation at `now` for the bucket).
    fn when(&mut self, key: K, now: SimTime) -> SimDuration;
    /// Upstream `Forget`: stop tracking `key` (it succeeded, or was given up on).
    fn forget(&mut self, key: K);
    /// Upstream `NumRequeues`: how many failures `key` has had.
    fn num_requeues(&self, key: K) -> u32;
}

/// Upstream `ItemExponentialFailureRateLimiter`: `base * 2^failures`, capped at `max`.
#[derive(Clone, Debug)]
pub struct ItemExponentialFailureRateLimiter<K> {
    failures: BTreeMap<K, u32>,
    base_delay: SimDuration,
    max_delay: SimDuration,
}

impl<K: Ord + Copy> ItemExponentialFailureRateLimiter<K> {
    pub fn new(base_delay: SimDuration, max_delay: SimDuration) -> Self {
        ItemExponentialFailureRateLimiter {
            failures: BTreeMap::new(),
            base_delay,
            max_delay,
        }
    }
}

/// Upstream `DefaultTypedItemBasedRateLimiter`: 1 ms base, 1000 s cap (note: the controller
/// default, [`default_controller_rate_limiter`], uses a 5 ms base instead).
pub fn default_item_based_rate_limiter<K: Ord + Copy>() -> ItemExponentialFailureRateLimiter<K> {
    ItemExponentialFailureRateLimiter::new(
        SimDuration::from_millis(1),
        SimDuration::from_secs(1000),
    )
}

/// `base * 2^exp`, or `None` when upstream's `float64` product would exceed `math.MaxInt64`
/// (upstream then returns the maximum delay).
fn exponential_backoff(base: SimDuration, exp: u32) -> Option<SimDuration> {
    let factor = 1u64.checked_shl(exp)?;
    let nanos = base.as_nanos().checked_mul(factor)?;
    // Upstream computes in float64 and compares against MaxInt64, so anything that does not fit
    // a Go `time.Duration` counts as overflow even though a u64 could hold it.
    if nanos > i64::MAX as u64 {
        return None;
    }
    Some(SimDuration::from_nanos(nanos))
}

impl<K: Ord + Copy> RateLimiter<K> for ItemExponentialFailureRateLimiter<K> {
    fn when(&mut self, key: K, _now: SimTime) -> SimDuration {
        let failures = self.failures.entry(key).or_insert(0);
        let exp = *failures;
        *failures = failures.saturating_add(1);
        match exponential_backoff(self.base_delay, exp) {
            Some(d) if d <= self.max_delay => d,
            _ => self.max_delay,
        }
    }

    fn forget(&mut self, key: K) {
        self.failures.remove(&key);
    }

    fn num_requeues(&self, key: K) -> u32 {
        self.failures.get(&key).copied().unwrap_or(0)
    }
}

/// Upstream `ItemFastSlowRateLimiter`: `fast_delay` for the first `max_fast_attempts` failures
/// of an item, `slow_delay` after that.
#[derive(Clone, Debug)]
pub struct ItemFastSlowRateLimiter<K> {
    failures: BTreeMap<K, u32>,
    max_fast_attempts: u32,
    fast_delay: SimDuration,
    slow_delay: SimDuration,
}

impl<K: Ord + Copy> ItemFastSlowRateLimiter<K> {
    pub fn new(fast_delay: SimDuration, slow_delay: SimDuration, max_fast_attempts: u32) -> Self {
        ItemFastSlowRateLimiter {
            failures: BTreeMap::new(),
            max_fast_attempts,
            fast_delay,
            slow_delay,
        }
    }
}

impl<K: Ord + Copy> RateLimiter<K> for ItemFastSlowRateLimiter<K> {
    fn when(&mut self, key: K, _now: SimTime) -> SimDuration {
        let failures = self.failures.entry(key).or_insert(0);
        *failures = failures.saturating_add(1);
        if *failures <= self.max_fast_attempts {
            self.fast_delay
        } else {
            self.slow_delay
        }
    }

    fn forget(&mut self, key: K) {
        self.failures.remove(&key);
    }

    fn num_requeues(&self, key: K) -> u32 {
        self.failures.get(&key).copied().unwrap_or(0)
    }
}

/// Upstream `BucketRateLimiter`: one token bucket shared by all items (`rate.Limiter`, initially
/// full, refilled at `events` per `per`, holding at most `burst` tokens). Each [`when`] takes a
/// reservation at `now` (`Limiter.Reserve()`), which may drive the bucket negative; the delay is
/// the time until the reserved token will have been refilled.
///
/// Tokens are kept in fixed point, `per` (in ns) units to a token, so that refilling `elapsed`
/// ns adds exactly `elapsed * events` units and a shortfall of `u` units is exactly
/// `u / events` ns (truncated, as Go converts the float to a `Duration`).
///
/// [`when`]: RateLimiter::when
#[derive(Clone, Debug)]
pub struct BucketRateLimiter {
    /// Refill rate numerator; 0 is upstream's zero `Limit` (no refill at all).
    events: u64,
    /// Refill rate denominator in ns; 0 is upstream's `rate.Inf` (never limits).
    per_nanos: u64,
    /// Capacity in tokens. Upstream mutates `burst` itself for a zero `Limit`; so does this.
    burst: u64,
    /// Current tokens in units of `1 / per_nanos` token; negative while reservations are
    /// outstanding.
    tokens: i128,
    /// When `tokens` was last brought up to date.
    last: SimTime,
}

impl BucketRateLimiter {
    /// `qps` tokens per second, at most `burst` tokens (upstream
    /// `rate.NewLimiter(rate.Limit(qps), burst)`).
    pub fn new(qps: u64, burst: u64) -> Self {
        Self::with_rate(qps, SimDuration::from_secs(1), burst)
    }

    /// `events` tokens every `per` (so fractional rates such as 1 per 5 s are exact).
    /// `per == 0` is an infinite rate, `events == 0` a zero rate, as in `x/time/rate`.
    pub fn with_rate(events: u64, per: SimDuration, burst: u64) -> Self {
        let per_nanos = per.as_nanos();
        BucketRateLimiter {
            events,
            per_nanos,
            burst,
            tokens: i128::from(burst) * i128::from(per_nanos),
            last: SimTime::ZERO,
        }
    }

    /// Upstream `reserveN(now, 1, InfDuration)` followed by `Delay()` at the same instant.
    pub fn reserve(&mut self, now: SimTime) -> SimDuration {
        if self.per_nanos == 0 {
            return SimDuration::ZERO;
        }
        if self.events == 0 {
            // Upstream's zero-Limit branch: spend the initial burst, then refuse forever.
            if self.burst >= 1 {
                self.burst -= 1;
                return SimDuration::ZERO;
            }
            return INF_DURATION;
        }
        let unit = i128::from(self.per_nanos);
        let capacity = i128::from(self.burst) * unit;
        // `advance`: a `now` before `last` refills nothing.
        let elapsed = i128::from(now.since(self.last).as_nanos());
        let refilled = self
            .tokens
            .saturating_add(elapsed.saturating_mul(i128::from(self.events)));
        let after = refilled.min(capacity) - unit;
        let wait = if after < 0 {
            let nanos = (-after) / i128::from(self.events);
            u64::try_from(nanos)
                .ok()
                .filter(|n| *n <= i64::MAX as u64)
                .map_or(INF_DURATION, SimDuration::from_nanos)
        } else {
            SimDuration::ZERO
        };
        // `ok := n <= burst && wait <= maxFutureReserve`; maxFutureReserve is InfDuration.
        if self.burst < 1 {
            return INF_DURATION;
        }
        self.tokens = after;
        self.last = now;
        wait
    }
}

impl<K> RateLimiter<K> for BucketRateLimiter {
    fn when(&mut self, _key: K, now: SimTime) -> SimDuration {
        self.reserve(now)
    }

    fn forget(&mut self, _key: K) {}

    fn num_requeues(&self, _key: K) -> u32 {
        0
    }
}

/// Upstream `MaxOfRateLimiter`: asks every limiter (so each records the failure or takes its
/// reservation) and returns the longest delay; `num_requeues` is the largest of theirs.
#[derive(Clone, Debug)]
pub struct MaxOfRateLimiter<K> {
    limiters: Vec<AnyRateLimiter<K>>,
}

impl<K: Ord + Copy> MaxOfRateLimiter<K> {
    pub fn new(limiters: Vec<AnyRateLimiter<K>>) -> Self {
        MaxOfRateLimiter { limiters }
    }
}

impl<K: Ord + Copy> RateLimiter<K> for MaxOfRateLimiter<K> {
    fn when(&mut self, key: K, now: SimTime) -> SimDuration {
        self.limiters
            .iter_mut()
            .map(|l| l.when(key, now))
            .fold(SimDuration::ZERO, SimDuration::max)
    }

    fn forget(&mut self, key: K) {
        for l in &mut self.limiters {
            l.forget(key);
        }
    }

    fn num_requeues(&self, key: K) -> u32 {
        self.limiters
            .iter()
            .map(|l| l.num_requeues(key))
            .max()
            .unwrap_or(0)
    }
}

/// Upstream `DefaultTypedControllerRateLimiter` (unchanged in current client-go): the max of a
/// per-item exponential limiter (5 ms base, 1000 s cap) and an overall 10 qps bucket of 100.
pub fn default_controller_rate_limiter<K: Ord + Copy>() -> MaxOfRateLimiter<K> {
    MaxOfRateLimiter::new(vec![
        AnyRateLimiter::ItemExponential(ItemExponentialFailureRateLimiter::new(
            SimDuration::from_millis(5),
            SimDuration::from_secs(1000),
        )),
        AnyRateLimiter::Bucket(BucketRateLimiter::new(10, 100)),
    ])
}

/// Any of the rate limiters above, so that queues and [`MaxOfRateLimiter`] can hold them by
/// value (and stay `Clone` + `Debug`).
#[derive(Clone, Debug)]
pub enum AnyRateLimiter<K> {
    ItemExponential(ItemExponentialFailureRateLimiter<K>),
    ItemFastSlow(ItemFastSlowRateLimiter<K>),
    Bucket(BucketRateLimiter),
    MaxOf(MaxOfRateLimiter<K>),
}

impl<K: Ord + Copy> RateLimiter<K> for AnyRateLimiter<K> {
    fn when(&mut self, key: K, now: SimTime) -> SimDuration {
        match self {
            AnyRateLimiter::ItemExponential(l) => l.when(key, now),
            AnyRateLimiter::ItemFastSlow(l) => l.when(key, now),
            AnyRateLimiter::Bucket(l) => RateLimiter::<K>::when(l, key, now),
            AnyRateLimiter::MaxOf(l) => l.when(key, now),
        }
    }

    fn forget(&mut self, key: K) {
        match self {
            AnyRateLimiter::ItemExponential(l) => l.forget(key),
            AnyRateLimiter::ItemFastSlow(l) => l.forget(key),
            AnyRateLimiter::Bucket(l) => RateLimiter::<K>::forget(l, key),
            AnyRateLimiter::MaxOf(l) => l.forget(key),
        }
    }

    fn num_requeues(&self, key: K) -> u32 {
        match self {
            AnyRateLimiter::ItemExponential(l) => l.num_requeues(key),
            AnyRateLimiter::ItemFastSlow(l) => l.num_requeues(key),
            AnyRateLimiter::Bucket(l) => RateLimiter::<K>::num_requeues(l, key),
            AnyRateLimiter::MaxOf(l) => l.num_requeues(key),
        }
    }
}

impl<K> From<ItemExponentialFailureRateLimiter<K>> for AnyRateLimiter<K> {
    fn from(l: ItemExponentialFailureRateLimiter<K>) -> Self {
        AnyRateLimiter::ItemExponential(l)
    }
}

impl<K> From<ItemFastSlowRateLimiter<K>> for AnyRateLimiter<K> {
    fn from(l: ItemFastSlowRateLimiter<K>) -> Self {
        AnyRateLimiter::ItemFastSlow(l)
    }
}

impl<K> From<BucketRateLimiter> for AnyRateLimiter<K> {
    fn from(l: BucketRateLimiter) -> Self {
        AnyRateLimiter::Bucket(l)
    }
}

impl<K> From<MaxOfRateLimiter<K>> for AnyRateLimiter<K> {
    fn from(l: MaxOfRateLimiter<K>) -> Self {
        AnyRateLimiter::MaxOf(l)
    }
}

/// Upstream's rate-limiting work queue (plain + delaying + rate limiting) in virtual time; see
/// the module documentation for the mapping.
#[derive(Clone, Debug)]
pub struct WorkQueue<K: Ord + Copy> {
    /// Order of work; every element is dirty and not processing.
    queue: VecDeque<K>,
    /// Items that need processing (queued, or re-added while processing).
    dirty: BTreeSet<K>,
    /// Items handed out by `get` and not yet `done`.
    processing: BTreeSet<K>,
    /// The delaying queue's heap: (ready time, insertion number) -> item.
    waiting: BTreeMap<(SimTime, u64), K>,
    /// Where each waiting item sits in `waiting` (upstream `waitingEntryByData`).
    waiting_by_key: BTreeMap<K, (SimTime, u64)>,
    next_insertion: u64,
    rate_limiter: AnyRateLimiter<K>,
}

impl<K: Ord + Copy> Default for WorkQueue<K> {
    /// A queue with [`default_controller_rate_limiter`], as every controller in
    /// kube-controller-manager that this simulator models uses.
    fn default() -> Self {
        Self::new(default_controller_rate_limiter())
    }
}

impl<K: Ord + Copy> WorkQueue<K> {
    pub fn new(rate_limiter: impl Into<AnyRateLimiter<K>>) -> Self {
        WorkQueue {
            queue: VecDeque::new(),
            dirty: BTreeSet::new(),
            processing: BTreeSet::new(),
            waiting: BTreeMap::new(),
            waiting_by_key: BTreeMap::new(),
            next_insertion: 0,
            rate_limiter: rate_limiter.into(),
        }
    }

    /// Upstream `Add`: marks `key` as needing processing. A key already waiting in the queue is
    /// not added twice; a key being processed is queued again when `done` is called for it.
    pub fn add(&mut self, key: K) {
        if !self.dirty.insert(key) {
            return;
        }
        if self.processing.contains(&key) {
            return;
        }
        self.queue.push_back(key);
    }

    /// Upstream `Len`: items ready to be handed out (not those still waiting for their time).
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Upstream `Get`, without blocking: the oldest ready item, now marked as processing. The
    /// caller must call [`done`](Self::done) for it when finished.
    pub fn get(&mut self) -> Option<K> {
        let key = self.queue.pop_front()?;
        self.processing.insert(key);
        self.dirty.remove(&key);
        Some(key)
    }

    /// Upstream `Done`: `key` is no longer processing; if it was added again meanwhile it goes
    /// to the back of the queue. (As upstream, calling this for an item that is queued but was
    /// never handed out queues it a second time; don't.)
    pub fn done(&mut self, key: K) {
        self.processing.remove(&key);
        if self.dirty.contains(&key) {
            self.queue.push_back(key);
        }
    }

    /// Whether `key` has been handed out by [`get`](Self::get) and not yet `done`.
    pub fn is_processing(&self, key: K) -> bool {
        self.processing.contains(&key)
    }

    /// Upstream `AddAfter`: adds `key` once `delay` has passed since `now` (immediately for a
    /// zero delay). If `key` is already waiting, it keeps the earlier of the two ready times.
    pub fn add_after(&mut self, key: K, now: SimTime, delay: SimDuration) {
        if delay.is_zero() {
            self.add(key);
            return;
        }
        let ready = now.saturating_add(delay);
        if let Some(&(existing, insertion)) = self.waiting_by_key.get(&key) {
            if existing > ready {
                self.waiting.remove(&(existing, insertion));
                self.waiting.insert((ready, insertion), key);
                self.waiting_by_key.insert(key, (ready, insertion));
            }
            return;
        }
        let insertion = self.next_insertion;
        self.next_insertion += 1;
        self.waiting.insert((ready, insertion), key);
        self.waiting_by_key.insert(key, (ready, insertion));
    }

    /// Upstream `AddRateLimited`: `add_after` with the rate limiter's delay for `key`.
    pub fn add_rate_limited(&mut self, key: K, now: SimTime) {
        let delay = self.rate_limiter.when(key, now);
        self.add_after(key, now, delay);
    }

    /// Upstream `Forget`: the rate limiter stops tracking `key` (resets its backoff). Does not
    /// remove `key` from the queue.
    pub fn forget(&mut self, key: K) {
        self.rate_limiter.forget(key);
    }

    /// Upstream `NumRequeues`.
    pub fn num_requeues(&self, key: K) -> u32 {
        self.rate_limiter.num_requeues(key)
    }

    /// The earliest time at which a waiting item becomes ready, if any item is waiting. The
    /// simulator schedules a wake-up there and calls [`promote_ready`](Self::promote_ready).
    pub fn next_ready_time(&self) -> Option<SimTime> {
        self.waiting.keys().next().map(|&(t, _)| t)
    }

    /// Number of items waiting for their ready time (upstream's heap size).
    pub fn num_waiting(&self) -> usize {
        self.waiting.len()
    }

    /// The delaying queue's `waitingLoop` step: `add`s every waiting item whose ready time is
    /// at or before `now`, in (ready time, insertion) order. Returns how many were promoted
    /// (some may have collapsed into items already queued).
    pub fn promote_ready(&mut self, now: SimTime) -> usize {
        let mut promoted = 0;
        while let Some(entry) = self.waiting.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            self.waiting_by_key.remove(&key);
            self.add(key);
            promoted += 1;
        }
        promoted
    }
}

/// Transcribed from upstream
/// `staging/src/k8s.io/client-go/util/workqueue/default_rate_limiters_test.go`.
#[cfg(test)]
mod default_rate_limiters_tests {
    use super::*;

    const T0: SimTime = SimTime::ZERO;

    fn ms(n: u64) -> SimDuration {
        SimDuration::from_millis(n)
    }

    #[test]
    fn item_exponential_failure_rate_limiter() {
        let mut limiter = ItemExponentialFailureRateLimiter::new(ms(1), SimDuration::from_secs(1));
        for want in [1, 2, 4, 8, 16] {
            assert_eq!(limiter.when("one", T0), ms(want));
        }
        assert_eq!(limiter.num_requeues("one"), 5);

        assert_eq!(limiter.when("two", T0), ms(1));
        assert_eq!(limiter.when("two", T0), ms(2));
        assert_eq!(limiter.num_requeues("two"), 2);

        limiter.forget("one");
        assert_eq!(limiter.num_requeues("one"), 0);
        assert_eq!(limiter.when("one", T0), ms(1));
    }

    #[test]
    fn item_exponential_failure_rate_limiter_overflow() {
        let mut limiter =
            ItemExponentialFailureRateLimiter::new(ms(1), SimDuration::from_secs(1000));
        for _ in 0..5 {
            limiter.when("one", T0);
        }
        assert_eq!(limiter.when("one", T0), ms(32));

        for _ in 0..1000 {
            limiter.when("overflow1", T0);
        }
        assert_eq!(limiter.when("overflow1", T0), SimDuration::from_secs(1000));

        let mut limiter = ItemExponentialFailureRateLimiter::new(
            SimDuration::from_mins(1),
            SimDuration::from_hours(1000),
        );
        for _ in 0..2 {
            limiter.when("two", T0);
        }
        assert_eq!(limiter.when("two", T0), SimDuration::from_mins(4));

        for _ in 0..1000 {
            limiter.when("overflow2", T0);
        }
        assert_eq!(limiter.when("overflow2", T0), SimDuration::from_hours(1000));
    }

    #[test]
    fn item_exponential_caps_at_go_duration_range() {
        // 2^63 ns does not fit a Go Duration: upstream takes the overflow branch (max delay)
        // even when the max itself is larger than that.
        let mut limiter =
            ItemExponentialFailureRateLimiter::new(SimDuration::from_nanos(1), SimDuration::MAX);
        for _ in 0..62 {
            limiter.when(0u32, T0);
        }
        assert_eq!(limiter.when(0u32, T0), SimDuration::from_nanos(1 << 62));
        assert_eq!(limiter.when(0u32, T0), SimDuration::MAX);
    }

    #[test]
    fn item_fast_slow_rate_limiter() {
        let mut limiter = ItemFastSlowRateLimiter::new(ms(5), SimDuration::from_secs(10), 3);
        for want in [
            ms(5),
            ms(5),
            ms(5),
            SimDuration::from_secs(10),
            SimDuration::from_secs(10),
        ] {
            assert_eq!(limiter.when("one", T0), want);
        }
        assert_eq!(limiter.num_requeues("one"), 5);

        assert_eq!(limiter.when("two", T0), ms(5));
        assert_eq!(limiter.when("two", T0), ms(5));
        assert_eq!(limiter.num_requeues("two"), 2);

        limiter.forget("one");
        assert_eq!(limiter.num_requeues("one"), 0);
        assert_eq!(limiter.when("one", T0), ms(5));
    }

    #[test]
    fn max_of_rate_limiter() {
        let mut limiter = MaxOfRateLimiter::new(vec![
            ItemFastSlowRateLimiter::new(ms(5), SimDuration::from_secs(3), 3).into(),
            ItemExponentialFailureRateLimiter::new(ms(1), SimDuration::from_secs(1)).into(),
        ]);
        let three_s = SimDuration::from_secs(3);
        for want in [ms(5), ms(5), ms(5), three_s, three_s] {
            assert_eq!(limiter.when("one", T0), want);
        }
        assert_eq!(limiter.num_requeues("one"), 5);

        assert_eq!(limiter.when("two", T0), ms(5));
        assert_eq!(limiter.when("two", T0), ms(5));
        assert_eq!(limiter.num_requeues("two"), 2);

        limiter.forget("one");
        assert_eq!(limiter.num_requeues("one"), 0);
        assert_eq!(limiter.when("one", T0), ms(5));
    }
}

/// Token-bucket behaviour of upstream `BucketRateLimiter` (`golang.org/x/time/rate`
/// `Limiter.Reserve().Delay()`): starts full, reservations past the burst queue up behind each
/// other at 1/qps, and idle time refills up to the burst.
#[cfg(test)]
mod bucket_tests {
    use super::*;

    fn at_ms(n: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_millis(n)
    }

    #[test]
    fn burst_then_one_per_interval() {
        let mut b = BucketRateLimiter::new(10, 100);
        for _ in 0..100 {
            assert_eq!(b.reserve(at_ms(0)), SimDuration::ZERO);
        }
        assert_eq!(b.reserve(at_ms(0)), SimDuration::from_millis(100));
        assert_eq!(b.reserve(at_ms(0)), SimDuration::from_millis(200));
        // 50 ms later the backlog is 50 ms shorter.
        assert_eq!(b.reserve(at_ms(50)), SimDuration::from_millis(250));
        // One second later 10 tokens have come back; 2.5 were owed, so 7.5 are left.
        for _ in 0..7 {
            assert_eq!(b.reserve(at_ms(1050)), SimDuration::ZERO);
        }
        assert_eq!(b.reserve(at_ms(1050)), SimDuration::from_millis(50));
        assert_eq!(b.reserve(at_ms(1050)), SimDuration::from_millis(150));
    }

    #[test]
    fn refill_is_capped_at_burst() {
        let mut b = BucketRateLimiter::new(10, 2);
        assert_eq!(b.reserve(at_ms(0)), SimDuration::ZERO);
        // A long idle period refills only up to the burst of 2.
        let later = 3_600_000;
        assert_eq!(b.reserve(at_ms(later)), SimDuration::ZERO);
        assert_eq!(b.reserve(at_ms(later)), SimDuration::ZERO);
        assert_eq!(b.reserve(at_ms(later)), SimDuration::from_millis(100));
    }

    #[test]
    fn fractional_rate_is_exact() {
        // rate.Every(3s) with burst 1: 1/3 token per second.
        let mut b = BucketRateLimiter::with_rate(1, SimDuration::from_secs(3), 1);
        assert_eq!(b.reserve(at_ms(0)), SimDuration::ZERO);
        assert_eq!(b.reserve(at_ms(0)), SimDuration::from_secs(3));
        assert_eq!(b.reserve(at_ms(1000)), SimDuration::from_secs(5));
    }

    #[test]
    fn degenerate_limits_follow_x_time_rate() {
        // Burst 0: n > burst, the reservation is not OK and Delay() is InfDuration.
        let mut b = BucketRateLimiter::new(10, 0);
        assert_eq!(b.reserve(at_ms(0)), INF_DURATION);
        // Zero limit: the initial burst is spent, then never again.
        let mut b = BucketRateLimiter::new(0, 2);
        assert_eq!(b.reserve(at_ms(0)), SimDuration::ZERO);
        assert_eq!(b.reserve(at_ms(0)), SimDuration::ZERO);
        assert_eq!(b.reserve(at_ms(10_000)), INF_DURATION);
        // Infinite rate (rate.Every(0)): never waits.
        let mut b = BucketRateLimiter::with_rate(1, SimDuration::ZERO, 0);
        assert_eq!(b.reserve(at_ms(0)), SimDuration::ZERO);
    }

    #[test]
    fn default_controller_rate_limiter_is_max_of_both() {
        let mut l = default_controller_rate_limiter::<u32>();
        // Per-item exponential from 5 ms while the shared bucket still has tokens.
        assert_eq!(l.when(1, at_ms(0)), SimDuration::from_millis(5));
        assert_eq!(l.when(1, at_ms(0)), SimDuration::from_millis(10));
        assert_eq!(l.num_requeues(1), 2);
        // Every call also took a bucket token: 98 left, then the bucket dominates.
        for key in 100..198 {
            assert_eq!(l.when(key, at_ms(0)), SimDuration::from_millis(5));
        }
        assert_eq!(l.when(500, at_ms(0)), SimDuration::from_millis(100));
        l.forget(1);
        assert_eq!(l.num_requeues(1), 0);
    }
}

/// Transcribed from upstream `staging/src/k8s.io/client-go/util/workqueue/queue_test.go`
/// (the single-threaded cases; the producer/consumer goroutine tests have no virtual-time
/// counterpart).
#[cfg(test)]
mod queue_tests {
    use super::*;

    fn queue() -> WorkQueue<&'static str> {
        WorkQueue::default()
    }

    #[test]
    fn len_counts_distinct_items() {
        // TestLen
        let mut q = queue();
        q.add("foo");
        assert_eq!(q.len(), 1);
        q.add("bar");
        assert_eq!(q.len(), 2);
        q.add("foo");
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn reinsert_while_processing() {
        // TestReinsert
        let mut q = queue();
        q.add("foo");
        let i = q.get().unwrap();
        assert_eq!(i, "foo");
        q.add(i);
        // Not handed out again while still processing.
        assert_eq!(q.len(), 0);
        assert_eq!(q.get(), None);
        q.done(i);
        let i = q.get().unwrap();
        assert_eq!(i, "foo");
        q.done(i);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn collapse() {
        // TestCollapse
        let mut q = queue();
        q.add("bar");
        q.add("bar");
        let i = q.get().unwrap();
        assert_eq!(i, "bar");
        q.done(i);
        assert_eq!(q.len(), 0);
        assert_eq!(q.get(), None);
    }

    #[test]
    fn collapse_while_processing() {
        // TestCollapseWhileProcessing
        let mut q = queue();
        q.add("foo");
        let i = q.get().unwrap();
        assert_eq!(i, "foo");
        q.add("foo");
        q.add("foo");
        // The other worker blocks until the first one is done.
        assert_eq!(q.get(), None);
        q.done("foo");
        let i = q.get().unwrap();
        assert_eq!(i, "foo");
        q.done(i);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn add_while_processing_processes_each_item_twice() {
        // TestAddWhileProcessing, single worker: every item is re-added once while processing
        // and must come out exactly twice, with nothing left over.
        let mut q: WorkQueue<u32> = WorkQueue::default();
        for i in 0..50 {
            q.add(i);
        }
        let mut counters: BTreeMap<u32, u32> = BTreeMap::new();
        while let Some(item) = q.get() {
            let c = counters.entry(item).or_insert(0);
            *c += 1;
            if *c < 2 {
                q.add(item);
            }
            q.done(item);
        }
        assert_eq!(counters.len(), 50);
        assert!(counters.values().all(|&c| c == 2));
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn fifo_order() {
        let mut q: WorkQueue<u32> = WorkQueue::default();
        for i in [3, 1, 2, 1, 3] {
            q.add(i);
        }
        assert_eq!(q.get(), Some(3));
        assert_eq!(q.get(), Some(1));
        assert_eq!(q.get(), Some(2));
        assert_eq!(q.get(), None);
        assert!(q.is_processing(1));
        q.done(1);
        assert!(!q.is_processing(1));
    }
}

/// Transcribed from upstream `staging/src/k8s.io/client-go/util/workqueue/delaying_queue_test.go`
/// and `rate_limiting_queue_test.go`, with the fake clock replaced by explicit `now`.
#[cfg(test)]
mod delaying_queue_tests {
    use super::*;

    fn at_ms(n: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_millis(n)
    }

    fn ms(n: u64) -> SimDuration {
        SimDuration::from_millis(n)
    }

    fn queue() -> WorkQueue<&'static str> {
        WorkQueue::default()
    }

    #[test]
    fn simple_queue() {
        // TestSimpleQueue
        let mut q = queue();
        q.add_after("foo", at_ms(0), ms(50));
        assert_eq!(q.len(), 0);
        assert_eq!(q.next_ready_time(), Some(at_ms(50)));
        q.promote_ready(at_ms(49));
        assert_eq!(q.len(), 0);

        q.promote_ready(at_ms(60));
        assert_eq!(q.len(), 1);
        let item = q.get().unwrap();
        q.done(item);

        // Step past the next heartbeat: nothing more is added.
        q.promote_ready(at_ms(10_060));
        assert_eq!(q.len(), 0);
        assert_eq!(q.next_ready_time(), None);
    }

    #[test]
    fn deduping_keeps_earliest() {
        // TestDeduping
        let mut q = queue();
        q.add_after("foo", at_ms(0), ms(50));
        q.add_after("foo", at_ms(0), ms(70));
        assert_eq!(q.len(), 0);
        assert_eq!(q.num_waiting(), 1);

        // Step past the first block: it comes out once.
        q.promote_ready(at_ms(60));
        assert_eq!(q.len(), 1);
        let item = q.get().unwrap();
        q.done(item);

        // Step past the second add: it was collapsed into the first.
        q.promote_ready(at_ms(80));
        assert_eq!(q.len(), 0);

        // Again, but this time the later call is earlier and overrides.
        q.add_after("foo", at_ms(80), ms(50));
        q.add_after("foo", at_ms(80), ms(30));
        assert_eq!(q.len(), 0);
        assert_eq!(q.next_ready_time(), Some(at_ms(110)));

        q.promote_ready(at_ms(120));
        assert_eq!(q.len(), 1);
        let item = q.get().unwrap();
        q.done(item);

        q.promote_ready(at_ms(140));
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn add_two_fire_early() {
        // TestAddTwoFireEarly
        let mut q = queue();
        q.add_after("foo", at_ms(0), SimDuration::from_secs(1));
        q.add_after("bar", at_ms(0), ms(50));
        assert_eq!(q.len(), 0);

        q.promote_ready(at_ms(60));
        assert_eq!(q.len(), 1);
        assert_eq!(q.get(), Some("bar"));

        q.add_after("baz", at_ms(60), SimDuration::from_secs(2));

        q.promote_ready(at_ms(1060));
        assert_eq!(q.len(), 1);
        assert_eq!(q.get(), Some("foo"));

        q.promote_ready(at_ms(3060));
        assert_eq!(q.len(), 1);
        assert_eq!(q.get(), Some("baz"));
    }

    #[test]
    fn copy_shifting() {
        // TestCopyShifting: promoted in ready-time order, not insertion order.
        let mut q = queue();
        q.add_after("foo", at_ms(0), SimDuration::from_secs(1));
        q.add_after("bar", at_ms(0), ms(500));
        q.add_after("baz", at_ms(0), ms(250));
        assert_eq!(q.len(), 0);

        assert_eq!(q.promote_ready(at_ms(2000)), 3);
        assert_eq!(q.len(), 3);
        assert_eq!(q.get(), Some("baz"));
        assert_eq!(q.get(), Some("bar"));
        assert_eq!(q.get(), Some("foo"));
    }

    #[test]
    fn zero_delay_adds_immediately_and_ties_keep_insertion_order() {
        let mut q: WorkQueue<u32> = WorkQueue::default();
        q.add_after(7, at_ms(0), SimDuration::ZERO);
        assert_eq!(q.len(), 1);
        assert_eq!(q.num_waiting(), 0);
        for k in [3, 1, 2] {
            q.add_after(k, at_ms(0), ms(10));
        }
        // A later ready time for an item already waiting is ignored.
        q.add_after(2, at_ms(0), ms(20));
        assert_eq!(q.promote_ready(at_ms(10)), 3);
        let order: Vec<u32> = std::iter::from_fn(|| q.get()).collect();
        assert_eq!(order, vec![7, 3, 1, 2]);
    }

    #[test]
    fn ready_item_collapses_into_queued_one() {
        let mut q: WorkQueue<u32> = WorkQueue::default();
        q.add(1);
        q.add_after(1, at_ms(0), ms(10));
        q.promote_ready(at_ms(10));
        assert_eq!(q.len(), 1);
        // While processing, a promoted item is re-queued on done, as with add.
        assert_eq!(q.get(), Some(1));
        q.add_after(1, at_ms(10), ms(5));
        q.promote_ready(at_ms(15));
        assert_eq!(q.len(), 0);
        q.done(1);
        assert_eq!(q.get(), Some(1));
    }

    #[test]
    fn rate_limiting_queue() {
        // TestRateLimitingQueue (rate_limiting_queue_test.go)
        let limiter = ItemExponentialFailureRateLimiter::new(ms(1), SimDuration::from_secs(1));
        let mut q: WorkQueue<&str> = WorkQueue::new(limiter);
        let now = at_ms(0);

        q.add_rate_limited("one", now);
        assert_eq!(q.next_ready_time(), Some(now + ms(1)));
        q.add_rate_limited("one", now);
        // Still waiting at the earlier time; the limiter counted both failures.
        assert_eq!(q.next_ready_time(), Some(now + ms(1)));
        assert_eq!(q.num_requeues("one"), 2);
        assert_eq!(q.promote_ready(now + ms(1)), 1);

        q.add_rate_limited("two", now);
        assert_eq!(q.next_ready_time(), Some(now + ms(1)));
        q.promote_ready(now + ms(1));
        q.add_rate_limited("two", now);
        assert_eq!(q.next_ready_time(), Some(now + ms(2)));

        q.forget("one");
        assert_eq!(q.num_requeues("one"), 0);
        q.add_rate_limited("one", now);
        assert_eq!(q.next_ready_time(), Some(now + ms(1)));
    }
}
