//! How much memory, local ephemeral storage and CPU a pod's container uses over time, from its
//! workload's `behaviour:` entry.
//!
//! ```yaml
//! behaviour:
//!   leaky:  {memory: {start: 200Mi, leak: 1Mi/s}}
//!   steady: {memory: {constant: 300Mi}, ephemeralStorage: {constant: 1Gi}}
//!   batch:  {memory: {ramp: {from: 100Mi, to: 1Gi, over: 10m}}, cpu: {constant: 500m}}
//! ```
//!
//! Usage is a function of the time since the container started (a restarted container starts
//! over), so the instant it crosses a limit or a threshold can be computed exactly and scheduled
//! as one event instead of being polled. Everything is integer arithmetic: bytes (or millicores)
//! and nanoseconds, rounded down.

use sim_core::SimDuration;

const NANOS_PER_SEC: i128 = 1_000_000_000;

/// One resource's usage curve, in bytes (memory, ephemeral storage) or millicores (cpu).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsageModel {
    /// `{constant: 300Mi}`.
    Constant(i64),
    /// `{ramp: {from: 100Mi, to: 1Gi, over: 10m}}`: linear from `from` to `to` over `over`,
    /// then flat at `to`. `to` may be below `from` (usage that shrinks).
    Ramp {
        from: i64,
        to: i64,
        over: SimDuration,
    },
    /// `{start: 200Mi, leak: 1Mi/s}`: `start`, growing by `per_second` every second, without
    /// end (a leak only stops when the container is killed).
    Leak { start: i64, per_second: i64 },
}

fn clamp_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// `ceil(n / d)` for `n >= 0`, `d > 0`.
fn div_ceil(n: i128, d: i128) -> i128 {
    n / d + i128::from(n % d != 0)
}

fn nanos(d: i128) -> Option<SimDuration> {
    u64::try_from(d).ok().map(SimDuration::from_nanos)
}

impl UsageModel {
    /// The usage `elapsed` after the container started.
    pub fn usage_at(&self, elapsed: SimDuration) -> i64 {
        let t = i128::from(elapsed.as_nanos());
        match *self {
            UsageModel::Constant(c) => c,
            UsageModel::Ramp { from, to, over } => {
                let over = i128::from(over.as_nanos());
                if t >= over {
                    return to;
                }
                let delta = i128::from(to) - i128::from(from);
                clamp_i64(i128::from(from) + (delta * t).div_euclid(over))
            }
            UsageModel::Leak { start, per_second } => {
                let grown = (i128::from(per_second) * t).div_euclid(NANOS_PER_SEC);
                clamp_i64(i128::from(start) + grown)
            }
        }
    }

    /// The earliest time after the container started at which usage is at least `x`; `None`
    /// if it never gets there.
    pub fn time_when_usage_reaches(&self, x: i64) -> Option<SimDuration> {
        let x = i128::from(x);
        match *self {
            UsageModel::Constant(c) => (i128::from(c) >= x).then_some(SimDuration::ZERO),
            UsageModel::Ramp { from, to, over } => {
                let (from, to) = (i128::from(from), i128::from(to));
                if from >= x {
                    return Some(SimDuration::ZERO);
                }
                if to < x {
                    return None;
                }
                let over_ns = i128::from(over.as_nanos());
                if over_ns == 0 {
                    return Some(SimDuration::ZERO);
                }
                // from + floor((to - from) * t / over) >= x  <=>  (to - from) * t >= (x - from) * over
                nanos(div_ceil((x - from) * over_ns, to - from))
            }
            UsageModel::Leak { start, per_second } => {
                let start = i128::from(start);
                if start >= x {
                    return Some(SimDuration::ZERO);
                }
                if per_second <= 0 {
                    return None;
                }
                // start + floor(rate * t / 1e9) >= x  <=>  rate * t >= (x - start) * 1e9
                nanos(div_ceil(
                    (x - start) * NANOS_PER_SEC,
                    i128::from(per_second),
                ))
            }
        }
    }

    /// Where the curve bends: the end of a ramp. Between breakpoints usage is linear.
    pub fn breakpoint(&self) -> Option<SimDuration> {
        match *self {
            UsageModel::Ramp { over, .. } if over > SimDuration::ZERO => Some(over),
            _ => None,
        }
    }
}

/// What a workload's containers use; `None` for a resource the scenario does not model (it
/// then uses nothing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResourceUsage {
    /// Working set bytes (`behaviour.<workload>.memory`).
    pub memory: Option<UsageModel>,
    /// Local ephemeral storage bytes: writable layer, logs and emptyDir volumes
    /// (`behaviour.<workload>.ephemeralStorage`).
    pub ephemeral_storage: Option<UsageModel>,
    /// Millicores (`behaviour.<workload>.cpu`); CPU is compressible, so it never kills or
    /// evicts anything.
    pub cpu_milli: Option<UsageModel>,
}

impl ResourceUsage {
    pub fn is_empty(&self) -> bool {
        self.memory.is_none() && self.ephemeral_storage.is_none() && self.cpu_milli.is_none()
    }

    pub fn memory_at(&self, elapsed: SimDuration) -> i64 {
        self.memory.map_or(0, |m| m.usage_at(elapsed))
    }

    pub fn ephemeral_storage_at(&self, elapsed: SimDuration) -> i64 {
        self.ephemeral_storage.map_or(0, |m| m.usage_at(elapsed))
    }

    pub fn cpu_milli_at(&self, elapsed: SimDuration) -> i64 {
        self.cpu_milli.map_or(0, |m| m.usage_at(elapsed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MI: i64 = 1024 * 1024;

    #[test]
    fn constant() {
        let m = UsageModel::Constant(300 * MI);
        assert_eq!(m.usage_at(SimDuration::from_hours(5)), 300 * MI);
        assert_eq!(m.time_when_usage_reaches(300 * MI), Some(SimDuration::ZERO));
        assert_eq!(m.time_when_usage_reaches(300 * MI + 1), None);
    }

    #[test]
    fn leak_crossing_is_exact() {
        let m = UsageModel::Leak {
            start: 200 * MI,
            per_second: MI,
        };
        assert_eq!(m.usage_at(SimDuration::ZERO), 200 * MI);
        assert_eq!(m.usage_at(SimDuration::from_secs(56)), 256 * MI);
        // 256Mi + 1 byte needs one byte more than 56s of leaking: 1e9/2^20 ns, rounded up.
        let t = m.time_when_usage_reaches(256 * MI + 1).expect("leaks grow");
        assert_eq!(t, SimDuration::from_secs(56) + SimDuration::from_nanos(954));
        assert!(m.usage_at(t) > 256 * MI);
        assert!(m.usage_at(SimDuration::from_nanos(t.as_nanos() - 1)) <= 256 * MI);
        assert_eq!(
            m.time_when_usage_reaches(MI),
            Some(SimDuration::ZERO),
            "already above"
        );
        let stopped = UsageModel::Leak {
            start: MI,
            per_second: 0,
        };
        assert_eq!(stopped.time_when_usage_reaches(2 * MI), None);
    }

    #[test]
    fn ramp_crossing_is_exact() {
        let m = UsageModel::Ramp {
            from: 100 * MI,
            to: 1024 * MI,
            over: SimDuration::from_mins(10),
        };
        assert_eq!(m.usage_at(SimDuration::ZERO), 100 * MI);
        assert_eq!(m.usage_at(SimDuration::from_mins(5)), 562 * MI);
        assert_eq!(m.usage_at(SimDuration::from_mins(10)), 1024 * MI);
        assert_eq!(m.usage_at(SimDuration::from_hours(1)), 1024 * MI);
        assert_eq!(
            m.time_when_usage_reaches(562 * MI),
            Some(SimDuration::from_mins(5))
        );
        for x in [100 * MI + 1, 333 * MI + 7, 1024 * MI - 1, 1024 * MI] {
            let t = m.time_when_usage_reaches(x).expect("within the ramp");
            assert!(m.usage_at(t) >= x);
            assert!(m.usage_at(SimDuration::from_nanos(t.as_nanos() - 1)) < x);
        }
        assert_eq!(m.time_when_usage_reaches(1024 * MI + 1), None);
        assert_eq!(m.breakpoint(), Some(SimDuration::from_mins(10)));
    }

    #[test]
    fn shrinking_ramp_only_reaches_what_it_starts_at() {
        let m = UsageModel::Ramp {
            from: 500 * MI,
            to: 100 * MI,
            over: SimDuration::from_secs(100),
        };
        assert_eq!(m.usage_at(SimDuration::from_secs(50)), 300 * MI);
        assert_eq!(m.time_when_usage_reaches(400 * MI), Some(SimDuration::ZERO));
        assert_eq!(m.time_when_usage_reaches(501 * MI), None);
    }

    #[test]
    fn huge_values_saturate() {
        let m = UsageModel::Leak {
            start: 0,
            per_second: i64::MAX,
        };
        assert_eq!(m.usage_at(SimDuration::MAX), i64::MAX);
        let slow = UsageModel::Leak {
            start: 0,
            per_second: 1,
        };
        assert_eq!(
            slow.time_when_usage_reaches(i64::MAX),
            None,
            "past u64 nanos"
        );
    }
}
