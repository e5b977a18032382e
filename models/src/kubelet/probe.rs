//! Probe results without probing.
//!
//! Upstream, a prober worker (`pkg/kubelet/prober/worker.go`) checks its container every
//! `periodSeconds` once `initialDelaySeconds` have passed since the container started, and
//! changes the probe's result only when `failureThreshold` failures (or `successThreshold`
//! successes) come in a row. Simulating every check would cost one engine event per probe
//! per period: 30,000 pods probed every 10s make 260 million events a day, nearly all of
//! them changing nothing. So checks are never simulated one by one: from the container's
//! behaviour the kubelet computes when the result will next *change* and sets one timer for
//! that moment. Checks that always pass cost nothing; checks that fail after a time are one
//! timer; checks that fail at random walk over the failing checks only (the index of the
//! next failing check is drawn geometrically, then whether the checks after it fail until
//! the threshold is met or one passes), a day of checks at a time, so a pod costs one
//! timer per day plus one per result change.

use rand::Rng;
use sim_core::{SimDuration, SimTime};

use crate::api::pod::Probe;

/// The time of check `k` (from 0) of a container started at `start`: the first check comes
/// once the initial delay has passed, the others a period apart.
pub fn check_time(p: &Probe, start: SimTime, k: u64) -> SimTime {
    start + secs(p.initial_delay_seconds) + secs(p.period_seconds).saturating_mul(k)
}

/// The first check at or after `t`.
pub fn first_check_at_or_after(p: &Probe, start: SimTime, t: SimTime) -> u64 {
    let first = check_time(p, start, 0);
    if t <= first {
        return 0;
    }
    let period = secs(p.period_seconds).as_nanos().max(1);
    t.since(first).as_nanos().div_ceil(period)
}

/// When a failing check's result is in: a check of a hung container times out.
pub fn failure_known(p: &Probe, start: SimTime, k: u64) -> SimTime {
    check_time(p, start, k) + secs(p.timeout_seconds)
}

pub(crate) fn secs(s: i32) -> SimDuration {
    SimDuration::from_secs(u64::try_from(s).unwrap_or(0))
}

/// Where a run of checks ends up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crossing {
    /// The threshold is reached at this check (counted from the walk's first check).
    At(u64),
    /// Not within the horizon; `run` checks in a row ended with the awaited result.
    NotBefore { run: u32 },
}

/// Walks the checks from index 0 where each check comes out with the awaited result (the
/// one that would change the probe's result) with probability `ppm` per million, and
/// returns the check at which `threshold` such results in a row are reached (upstream
/// `resultRun` against `FailureThreshold` / `SuccessThreshold`), or where the walk stopped
/// at `horizon` checks. `run` is how many came in a row before index 0.
pub fn next_crossing<R: Rng + ?Sized>(
    rng: &mut R,
    ppm: u32,
    threshold: u32,
    mut run: u32,
    horizon: u64,
) -> Crossing {
    let threshold = threshold.max(1);
    if ppm == 0 {
        return Crossing::NotBefore { run: 0 };
    }
    let mut k = 0u64;
    loop {
        if run >= threshold {
            return Crossing::At(k.saturating_sub(1));
        }
        if k >= horizon {
            return Crossing::NotBefore { run };
        }
        if run == 0 {
            k = k.saturating_add(geometric(rng, ppm));
            if k >= horizon {
                return Crossing::NotBefore { run: 0 };
            }
        } else if rng.random_range(0..1_000_000u32) >= ppm {
            run = 0;
            k += 1;
            continue;
        }
        run += 1;
        k += 1;
    }
}

/// How many checks without the awaited result come before the next one with it, each
/// having it with probability `ppm` per million (inverse-CDF sampling).
pub fn geometric<R: Rng + ?Sized>(rng: &mut R, ppm: u32) -> u64 {
    if ppm >= 1_000_000 {
        return 0;
    }
    let p = f64::from(ppm) / 1e6;
    // u in (0, 1]: ln(u) is finite.
    let u = 1.0 - rng.random::<f64>();
    let g = (u.ln() / (1.0 - p).ln()).floor();
    if (0.0..1e18).contains(&g) {
        // Checked above: a non-negative whole number below 1e18.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let g = g as u64;
        g
    } else {
        u64::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn probe() -> Probe {
        Probe::default()
    }

    /// upstream pkg/apis/core/v1/defaults.go SetDefaults_Probe: timeoutSeconds 1,
    /// periodSeconds 10, successThreshold 1, failureThreshold 3.
    #[test]
    fn probe_defaults_are_upstream() {
        let p = probe();
        assert_eq!(
            (p.initial_delay_seconds, p.period_seconds, p.timeout_seconds),
            (0, 10, 1)
        );
        assert_eq!((p.success_threshold, p.failure_threshold), (1, 3));
    }

    /// worker.go doProbe: no check before initialDelaySeconds, then one per period.
    #[test]
    fn checks_start_after_the_initial_delay() {
        let p = Probe {
            initial_delay_seconds: 15,
            period_seconds: 5,
            ..probe()
        };
        let s = SimTime::from_secs(100);
        assert_eq!(check_time(&p, s, 0), SimTime::from_secs(115));
        assert_eq!(check_time(&p, s, 3), SimTime::from_secs(130));
        assert_eq!(first_check_at_or_after(&p, s, SimTime::from_secs(50)), 0);
        assert_eq!(first_check_at_or_after(&p, s, SimTime::from_secs(115)), 0);
        assert_eq!(first_check_at_or_after(&p, s, SimTime::from_secs(116)), 1);
        assert_eq!(first_check_at_or_after(&p, s, SimTime::from_secs(130)), 3);
    }

    /// worker.go doProbe: the result changes only on the `failureThreshold`-th failure in
    /// a row: with checks always failing the third check (index 2) crosses, with the default
    /// threshold; one success in between starts the count again.
    #[test]
    fn threshold_counts_consecutive_results() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        assert_eq!(
            next_crossing(&mut rng, 1_000_000, 3, 0, 100),
            Crossing::At(2)
        );
        assert_eq!(
            next_crossing(&mut rng, 1_000_000, 3, 2, 100),
            Crossing::At(0)
        );
        assert_eq!(
            next_crossing(&mut rng, 1_000_000, 1, 0, 100),
            Crossing::At(0)
        );
        assert_eq!(
            next_crossing(&mut rng, 0, 3, 0, 100),
            Crossing::NotBefore { run: 0 }
        );
        assert_eq!(
            next_crossing(&mut rng, 1_000_000, 3, 0, 2),
            Crossing::NotBefore { run: 2 }
        );
    }

    /// With failure probability p per check and threshold F, the expected number of checks
    /// until F failures in a row is (1 - p^F) / ((1 - p) p^F); for p = 0.5, F = 3: 14.
    #[test]
    fn random_failures_cross_at_the_expected_rate() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let n = 20_000;
        let mut total = 0u64;
        for _ in 0..n {
            match next_crossing(&mut rng, 500_000, 3, 0, u64::MAX) {
                Crossing::At(k) => total += k + 1,
                Crossing::NotBefore { .. } => panic!("no horizon"),
            }
        }
        let mean = total as f64 / f64::from(n);
        assert!((mean - 14.0).abs() < 0.5, "mean {mean}");
    }
}
