//! What the traffic model counts: per service totals, a latency histogram, summaries per SLO
//! window and per reporting interval.

use sim_core::{SimDuration, SimTime};

/// Why a request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureCause {
    /// The service had no endpoint to send it to.
    NoEndpoints,
    /// The pod serving it went away (or the request was sent to a pod that is gone).
    PodGone,
    /// No answer within the service's `timeout`.
    Timeout,
    /// The pod's queue was full (`queueLimit`).
    Rejected,
    /// It failed, was retried, and every attempt failed.
    RetriesExhausted,
}

impl FailureCause {
    pub const ALL: [FailureCause; 5] = [
        FailureCause::NoEndpoints,
        FailureCause::PodGone,
        FailureCause::Timeout,
        FailureCause::Rejected,
        FailureCause::RetriesExhausted,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// The name reports use.
    pub fn name(self) -> &'static str {
        match self {
            FailureCause::NoEndpoints => "noEndpoints",
            FailureCause::PodGone => "podGone",
            FailureCause::Timeout => "timeout",
            FailureCause::Rejected => "rejected",
            FailureCause::RetriesExhausted => "retriesExhausted",
        }
    }
}

/// Bits of sub-bucket resolution: 128 sub-buckets per power of two, so a recorded value is
/// known to within 1/128 (0.8%) of itself.
const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS;

/// A log-bucketed histogram of nanosecond values (HdrHistogram's layout with 2 significant
/// digits): exact below 128 ns, then 128 linear sub-buckets per power of two. Counts, sum and
/// maximum are exact; quantiles are exact to the bucket (reported at the bucket's midpoint).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    counts: Vec<u64>,
    /// Counts per run of `SUB` buckets, so that a quantile skips whole runs: the cluster's
    /// trace digest reads every service's p99 at each step of the traffic model.
    blocks: Vec<u64>,
    total: u64,
    sum: f64,
    max: u64,
}

fn bucket_of(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let e = 63 - v.leading_zeros(); // ≥ SUB_BITS
    let shift = e - SUB_BITS;
    let mantissa = (v >> shift) - SUB; // 0..SUB
    ((u64::from(shift) + 1) * SUB + mantissa) as usize
}

/// The smallest value and the width of bucket `i`.
fn bucket_range(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < SUB {
        return (i, 1);
    }
    let shift = i / SUB - 1;
    let mantissa = i % SUB + SUB;
    (mantissa << shift, 1 << shift)
}

impl Histogram {
    pub fn new() -> Histogram {
        Histogram::default()
    }

    pub fn record(&mut self, nanos: u64) {
        self.record_n(nanos, 1);
    }

    /// Records `n` values of `nanos`.
    pub fn record_n(&mut self, nanos: u64, n: u64) {
        if n == 0 {
            return;
        }
        let b = bucket_of(nanos);
        if b >= self.counts.len() {
            self.counts.resize(b + 1, 0);
        }
        self.counts[b] += n;
        let block = b / SUB as usize;
        if block >= self.blocks.len() {
            self.blocks.resize(block + 1, 0);
        }
        self.blocks[block] += n;
        self.total += n;
        self.sum += nanos as f64 * n as f64;
        self.max = self.max.max(nanos);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> SimDuration {
        SimDuration::from_nanos(self.max)
    }

    /// The mean, from the exact sum.
    pub fn mean(&self) -> SimDuration {
        if self.total == 0 {
            return SimDuration::ZERO;
        }
        SimDuration::from_nanos((self.sum / self.total as f64).round() as u64)
    }

    /// The mean in seconds, unrounded.
    pub fn mean_secs(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        self.sum / self.total as f64 / 1e9
    }

    /// The value at quantile `q` (0..=1): the smallest recorded bucket whose cumulative count
    /// reaches `⌈q·n⌉`, at its midpoint (never above the maximum).
    pub fn quantile(&self, q: f64) -> SimDuration {
        if self.total == 0 {
            return SimDuration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        // Skip the runs of buckets that end before the rank.
        let mut seen = 0;
        let mut first = 0;
        for &c in &self.blocks {
            if seen + c >= rank {
                break;
            }
            seen += c;
            first += SUB as usize;
        }
        for (i, &c) in self.counts.iter().enumerate().skip(first) {
            seen += c;
            if seen >= rank {
                let (lo, width) = bucket_range(i);
                return SimDuration::from_nanos((lo + width / 2).min(self.max));
            }
        }
        self.max()
    }

    pub fn clear(&mut self) {
        self.counts.clear();
        self.blocks.clear();
        self.total = 0;
        self.sum = 0.0;
        self.max = 0;
    }

    /// p50, p95, p99, max and mean.
    pub fn summary(&self) -> LatencySummary {
        LatencySummary {
            p50: self.quantile(0.50),
            p95: self.quantile(0.95),
            p99: self.quantile(0.99),
            max: self.max(),
            mean: self.mean(),
        }
    }
}

/// Latency figures of a set of requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LatencySummary {
    pub p50: SimDuration,
    pub p95: SimDuration,
    pub p99: SimDuration,
    pub max: SimDuration,
    pub mean: SimDuration,
}

/// Request counts: every request that arrived at the service (an entry request or a call from
/// another service; a retried request counts once) ends succeeded or failed by one cause.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub requests: u64,
    pub succeeded: u64,
    /// Failures by [`FailureCause::index`].
    pub failed: [u64; 5],
}

impl Counts {
    pub fn failed_total(&self) -> u64 {
        self.failed.iter().sum()
    }

    pub fn failed(&self, cause: FailureCause) -> u64 {
        self.failed[cause.index()]
    }
}

/// Totals of one service over the whole run so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceStats {
    pub counts: Counts,
    /// Attempts sent to pods, retries included.
    pub attempts: u64,
    pub retries: u64,
    /// Latency of succeeded requests, from arrival at the service to the answer (retries and
    /// downstream calls included).
    pub latency: Histogram,
    /// Time-weighted busy cores summed over the service's pods, for utilisation:
    /// `busy_core_seconds / (pods × capacity × seconds)`.
    pub busy_core_seconds: f64,
    /// Slot-seconds available on the service's pods (`concurrency` slots, or the CPU limit if
    /// lower, per pod), integrated over time.
    pub capacity_core_seconds: f64,
}

impl ServiceStats {
    /// Busy over available serving capacity.
    pub fn utilization(&self) -> f64 {
        if self.capacity_core_seconds > 0.0 {
            self.busy_core_seconds / self.capacity_core_seconds
        } else {
            0.0
        }
    }
}

/// One closed window (an SLO window or a reporting interval) of one service.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WindowStats {
    pub start: SimTime,
    pub end: SimTime,
    /// Requests that ended in the window (by when they ended).
    pub counts: Counts,
    pub latency: LatencySummary,
    /// Requests that ended in the window per second.
    pub rate: f64,
}

/// A window being filled.
#[derive(Clone, Debug, Default)]
pub(crate) struct OpenWindow {
    pub counts: Counts,
    pub latency: Histogram,
}

impl OpenWindow {
    pub(crate) fn close(&mut self, start: SimTime, end: SimTime) -> WindowStats {
        let secs = end.since(start).as_secs_f64();
        let ended = self.counts.succeeded + self.counts.failed_total();
        let w = WindowStats {
            start,
            end,
            counts: self.counts,
            latency: self.latency.summary(),
            rate: if secs > 0.0 { ended as f64 / secs } else { 0.0 },
        };
        self.counts = Counts::default();
        self.latency.clear();
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_values_within_their_precision() {
        for v in [
            0u64,
            1,
            127,
            128,
            129,
            255,
            256,
            1000,
            20_000_000,
            u64::MAX / 3,
        ] {
            let (lo, width) = bucket_range(bucket_of(v));
            assert!(lo <= v && v - lo < width, "{v}: [{lo}, +{width})");
            assert!(width == 1 || (width as f64) / (lo as f64) <= 1.0 / 128.0 + 1e-12);
        }
        assert_eq!(bucket_of(u64::MAX), 57 * 128 + 127);
    }

    #[test]
    fn quantiles_mean_and_max() {
        let mut h = Histogram::new();
        for v in 1..=1000u64 {
            h.record(v * 1_000_000); // 1ms..1s
        }
        let within = |d: SimDuration, ms: f64| {
            let got = d.as_secs_f64() * 1e3;
            (got - ms).abs() <= ms / 128.0 + 1e-9
        };
        assert!(within(h.quantile(0.5), 500.0));
        assert!(within(h.quantile(0.99), 990.0));
        assert_eq!(h.max(), SimDuration::from_millis(1000));
        assert_eq!(h.mean(), SimDuration::from_nanos(500_500_000));
        assert_eq!(h.count(), 1000);
        h.clear();
        assert_eq!(h.quantile(0.5), SimDuration::ZERO);
    }
}
