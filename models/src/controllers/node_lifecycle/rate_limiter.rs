//! The token bucket behind upstream client-go `flowcontrol.NewTokenBucketRateLimiter(qps, burst)`
//! (`golang.org/x/time/rate` `Limiter.AllowN(now, 1)` through `TryAccept`) and
//! `flowcontrol.NewFakeNeverRateLimiter()`, in virtual time.
//!
//! A new bucket is full (`x/time/rate` fills it on first use, its `last` being the zero time).
//! `try_accept` takes a token only if one is there now: a refused call changes nothing, as
//! `reserveN` updates the limiter only for an OK reservation.
//!
//! Rates are kept in thousandths of a query per second (the node lifecycle controller's
//! rates, 0.1 and 0.01, are exact there; upstream's `float32` rounds them by under 10⁻⁸).

use sim_core::{SimDuration, SimTime};

/// Token units per token at one milli-query per second: a token is `10⁹ ns × 1000`.
const UNITS_PER_TOKEN: i128 = 1_000_000_000_000;

/// Upstream `flowcontrol.RateLimiter` as the node lifecycle controller uses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenBucket {
    /// `NewTokenBucketRateLimiter(qps, burst)`.
    Bucket {
        qps_milli: u64,
        burst: u64,
        /// Tokens in units of `1 / UNITS_PER_TOKEN`, as of `last`.
        units: i128,
        last: Option<SimTime>,
    },
    /// `NewFakeNeverRateLimiter()`: never accepts; its `QPS()` is 1.
    Never,
}

impl TokenBucket {
    /// A full bucket refilling at `qps_milli / 1000` tokens per second, holding `burst`.
    pub fn new(qps_milli: u64, burst: u64) -> Self {
        TokenBucket::Bucket {
            qps_milli,
            burst,
            units: i128::from(burst) * UNITS_PER_TOKEN,
            last: None,
        }
    }

    /// Upstream `QPS()` in thousandths (the fake never-limiter reports 1, i.e. 1000).
    pub fn qps_milli(&self) -> u64 {
        match self {
            TokenBucket::Bucket { qps_milli, .. } => *qps_milli,
            TokenBucket::Never => 1000,
        }
    }

    fn available(&self, now: SimTime) -> i128 {
        match *self {
            TokenBucket::Bucket {
                qps_milli,
                burst,
                units,
                last,
            } => {
                let capacity = i128::from(burst) * UNITS_PER_TOKEN;
                let elapsed = last.map_or(i128::MAX / 4, |l| i128::from(now.since(l).as_nanos()));
                units
                    .saturating_add(elapsed.saturating_mul(i128::from(qps_milli)))
                    .min(capacity)
            }
            TokenBucket::Never => 0,
        }
    }

    /// Upstream `TryAccept()`: takes a token if one is available at `now`.
    pub fn try_accept(&mut self, now: SimTime) -> bool {
        let available = self.available(now);
        match self {
            TokenBucket::Bucket { units, last, .. } if available >= UNITS_PER_TOKEN => {
                *units = available - UNITS_PER_TOKEN;
                *last = Some(now);
                true
            }
            _ => false,
        }
    }

    /// The first instant at or after `now` at which `try_accept` would succeed; `None` if never.
    pub fn next_accept(&self, now: SimTime) -> Option<SimTime> {
        match *self {
            TokenBucket::Bucket {
                qps_milli, burst, ..
            } => {
                if burst == 0 || qps_milli == 0 && self.available(now) < UNITS_PER_TOKEN {
                    return None;
                }
                let missing = UNITS_PER_TOKEN - self.available(now);
                if missing <= 0 {
                    return Some(now);
                }
                let rate = i128::from(qps_milli);
                let nanos = (missing + rate - 1) / rate;
                u64::try_from(nanos)
                    .ok()
                    .map(|n| now.saturating_add(SimDuration::from_nanos(n)))
            }
            TokenBucket::Never => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> SimTime {
        SimTime::from_secs(s)
    }

    #[test]
    fn burst_one_at_a_tenth_per_second_accepts_every_ten_seconds() {
        let mut b = TokenBucket::new(100, 1);
        assert!(b.try_accept(at(7)));
        assert!(!b.try_accept(at(7)));
        assert!(!b.try_accept(at(16)));
        assert_eq!(b.next_accept(at(16)), Some(at(17)));
        assert!(b.try_accept(at(17)));
        // Idle time refills only up to the burst of one.
        assert!(b.try_accept(at(500)));
        assert!(!b.try_accept(at(500)));
    }

    #[test]
    fn never_limiter_refuses_and_reports_qps_one() {
        let mut n = TokenBucket::Never;
        assert!(!n.try_accept(at(0)));
        assert_eq!(n.next_accept(at(0)), None);
        assert_eq!(n.qps_milli(), 1000);
    }
}
