//! Control-plane latencies: how long a write takes to commit and a watcher to see it.

use rand::Rng;
use sim_core::SimDuration;

/// A latency drawn uniformly from `[lo, hi]` (a fixed one when `lo == hi`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latency {
    pub lo: SimDuration,
    pub hi: SimDuration,
}

impl Latency {
    pub const ZERO: Latency = Latency::fixed(SimDuration::ZERO);

    pub const fn fixed(d: SimDuration) -> Self {
        Latency { lo: d, hi: d }
    }

    pub fn draw(&self, rng: &mut impl Rng) -> SimDuration {
        if self.hi > self.lo {
            SimDuration::from_nanos(rng.random_range(self.lo.as_nanos()..=self.hi.as_nanos()))
        } else {
            self.lo
        }
    }

    pub fn is_zero(&self) -> bool {
        self.hi == SimDuration::ZERO
    }
}

/// The control plane's latencies (scenario `controlPlane:`).
///
/// Defaults: a watch event reaches an informer 10–100 ms after the write commits (etcd
/// notification plus watch cache fan-out in a healthy cluster), and a write takes 2–10 ms to
/// commit (an etcd round trip). A scenario can set either to `0s`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlPlaneTiming {
    pub watch_latency: Latency,
    pub api_latency: Latency,
}

impl Default for ControlPlaneTiming {
    fn default() -> Self {
        ControlPlaneTiming {
            watch_latency: Latency {
                lo: SimDuration::from_millis(10),
                hi: SimDuration::from_millis(100),
            },
            api_latency: Latency {
                lo: SimDuration::from_millis(2),
                hi: SimDuration::from_millis(10),
            },
        }
    }
}
