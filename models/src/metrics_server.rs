//! The metrics pipeline the HorizontalPodAutoscaler reads: each pod's cumulative CPU usage
//! counter (core-nanoseconds, as cAdvisor's `container_cpu_usage_seconds_total`) and working
//! set, scraped by metrics-server every `metricResolution`, and the custom and external
//! metrics APIs.
//!
//! metrics-server keeps the last two scrapes of each pod and serves the CPU rate between them,
//! stamped with the later scrape's time and the window between the two; a pod scraped fewer
//! than two times has no metric yet (upstream `storage.GetPodMetrics`). Its `--metric-resolution`
//! defaults to 60s, and its released deployment manifest sets 15s, which kubesim uses.
//!
//! The scrape runs only once some HorizontalPodAutoscaler exists (the controller starts it),
//! so runs without one are unchanged.

use std::collections::BTreeMap;

use sim_core::{Context, SimDuration, SimTime};

use crate::api::PodId;
use crate::cluster::Event;
use crate::kubelet::usage::UsageModel;

/// The released manifest's `--metric-resolution=15s`.
pub const DEFAULT_METRIC_RESOLUTION: SimDuration = SimDuration::from_secs(15);

/// One scrape of a pod.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Sample {
    at: SimTime,
    cpu_core_nanos: u64,
    memory: i64,
}

/// A pod's metrics as `metrics.k8s.io/v1beta1` PodMetrics serves them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodMetrics {
    pub timestamp: SimTime,
    pub window: SimDuration,
    pub cpu_milli: i64,
    pub memory: i64,
}

/// What a running pod's container uses, for the scrape: its CPU curve since it started, and
/// its memory curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunningUsage {
    pub started: SimTime,
    pub cpu_milli: Option<UsageModel>,
    pub memory: Option<UsageModel>,
}

/// A pod the last scrape saw.
#[derive(Clone, Copy, Debug)]
struct Scraped {
    pod: PodId,
    /// The cumulative CPU counter (core-nanoseconds).
    counter: u64,
    /// Up to when the usage curve was integrated into `counter`.
    integrated_to: SimTime,
    /// The last two scrapes, the older first.
    samples: [Option<Sample>; 2],
}

#[derive(Debug)]
pub struct MetricsServer {
    pub metric_resolution: SimDuration,
    started: bool,
    /// The pods the last scrape saw, by id: a scrape is a merge of two sorted lists and a
    /// lookup a binary search, which at 150,000 pods scraped every 15 s costs a fraction of
    /// what maps keyed by pod did.
    scraped: Vec<Scraped>,
    /// CPU time added to pods the last scrape did not see (started since).
    extra_cpu: BTreeMap<PodId, u64>,
    /// Working set set from outside the usage curves (the traffic model).
    memory_override: BTreeMap<PodId, i64>,
    pod_metrics: BTreeMap<(String, PodId), i64>,
    object_metrics: BTreeMap<(String, (String, String, String)), i64>,
    external_metrics: BTreeMap<String, i64>,
    last_scrape: Option<SimTime>,
}

impl Default for MetricsServer {
    fn default() -> Self {
        MetricsServer {
            metric_resolution: DEFAULT_METRIC_RESOLUTION,
            started: false,
            scraped: Vec::new(),
            extra_cpu: BTreeMap::new(),
            memory_override: BTreeMap::new(),
            pod_metrics: BTreeMap::new(),
            object_metrics: BTreeMap::new(),
            external_metrics: BTreeMap::new(),
            last_scrape: None,
        }
    }
}

/// `∫ usage dt` over `[a, b]` (elapsed since the container started), in millicore-nanoseconds.
fn integral(m: &UsageModel, a: SimDuration, b: SimDuration) -> i128 {
    if b <= a {
        return 0;
    }
    let (a, b) = (i128::from(a.as_nanos()), i128::from(b.as_nanos()));
    // ∫ (p + q·t/d) dt = p·(b−a) + q·(b²−a²)/(2d)
    let linear = |p: i128, q: i128, d: i128, a: i128, b: i128| -> i128 {
        p * (b - a) + (q * ((b - a) * (b + a))) / (2 * d)
    };
    match *m {
        UsageModel::Constant(c) => i128::from(c) * (b - a),
        UsageModel::Ramp { from, to, over } => {
            let o = i128::from(over.as_nanos());
            let (from, to) = (i128::from(from), i128::from(to));
            let mut sum = 0;
            if a < o {
                sum += linear(from, to - from, o, a, b.min(o));
            }
            if b > o {
                sum += to * (b - a.max(o));
            }
            sum
        }
        UsageModel::Leak { start, per_second } => linear(
            i128::from(start),
            i128::from(per_second),
            1_000_000_000,
            a,
            b,
        ),
    }
}

impl MetricsServer {
    /// Starts the periodic scrape (once): the first HorizontalPodAutoscaler asks for it.
    pub fn ensure_started(&mut self, ctx: &mut Context<'_, Event>) {
        if !self.started {
            self.started = true;
            ctx.schedule(SimDuration::ZERO, Event::MetricsScrape);
        }
    }

    pub fn is_started(&self) -> bool {
        self.started
    }

    /// CPU time a pod used beyond its behaviour's curve (the traffic model's requests).
    pub fn add_cpu_usage(&mut self, pod: PodId, core_nanos: u64) {
        match self.scraped.binary_search_by_key(&pod, |e| e.pod) {
            Ok(i) => {
                let c = &mut self.scraped[i].counter;
                *c = c.saturating_add(core_nanos);
            }
            Err(_) => {
                let c = self.extra_cpu.entry(pod).or_insert(0);
                *c = c.saturating_add(core_nanos);
            }
        }
    }

    /// The pod's working set, overriding its behaviour's curve.
    pub fn set_memory_usage(&mut self, pod: PodId, bytes: i64) {
        self.memory_override.insert(pod, bytes);
    }

    /// A per-pod custom metric (`custom.metrics.k8s.io`), in milli-units.
    pub fn set_pod_metric(&mut self, name: &str, pod: PodId, value_milli: i64) {
        self.pod_metrics
            .insert((name.to_string(), pod), value_milli);
    }

    /// A metric of an object: `(kind, namespace, name)`.
    pub fn set_object_metric(&mut self, name: &str, object: (&str, &str, &str), value_milli: i64) {
        let key = (
            object.0.to_string(),
            object.1.to_string(),
            object.2.to_string(),
        );
        self.object_metrics
            .insert((name.to_string(), key), value_milli);
    }

    /// An external metric (`external.metrics.k8s.io`).
    pub fn set_external_metric(&mut self, name: &str, value_milli: i64) {
        self.external_metrics.insert(name.to_string(), value_milli);
    }

    /// One scrape of every running pod; returns when the next one is due. Pods not in
    /// `running` are forgotten (their counters restart with their next container).
    pub fn scrape(
        &mut self,
        now: SimTime,
        running: impl Iterator<Item = (PodId, RunningUsage)>,
    ) -> SimTime {
        let mut running: Vec<(PodId, RunningUsage)> = running.collect();
        if !running.is_sorted_by_key(|r| r.0) {
            running.sort_by_key(|r| r.0);
        }
        let old = std::mem::take(&mut self.scraped);
        let mut old = old.into_iter().peekable();
        let mut scraped = Vec::with_capacity(running.len());
        for (pod, u) in running {
            // Pods not running any more were not scraped now: their entries go.
            while old.next_if(|e| e.pod < pod).is_some() {}
            let mut e = match old.next_if(|e| e.pod == pod) {
                Some(e) => e,
                None => Scraped {
                    pod,
                    counter: self.extra_cpu.get(&pod).copied().unwrap_or(0),
                    integrated_to: u.started,
                    samples: [None, None],
                },
            };
            let from = e.integrated_to.max(u.started);
            if let Some(m) = &u.cpu_milli {
                let milli_ns = integral(m, from.since(u.started), now.since(u.started));
                let core_ns = u64::try_from((milli_ns / 1000).max(0)).unwrap_or(u64::MAX);
                e.counter = e.counter.saturating_add(core_ns);
            }
            e.integrated_to = now;
            let memory = match self.memory_override.get(&pod) {
                Some(m) => *m,
                None => u.memory.map_or(0, |m| m.usage_at(now.since(u.started))),
            };
            let s = Sample {
                at: now,
                cpu_core_nanos: e.counter,
                memory,
            };
            e.samples = [e.samples[1], Some(s)];
            scraped.push(e);
        }
        self.scraped = scraped;
        // Their counters restart with their next container.
        self.extra_cpu.clear();
        self.last_scrape = Some(now);
        now.saturating_add(self.metric_resolution)
    }

    /// The pod's metrics, if it was scraped at least twice.
    pub fn pod_metrics(&self, pod: PodId) -> Option<PodMetrics> {
        let i = self.scraped.binary_search_by_key(&pod, |e| e.pod).ok()?;
        let [Some(a), Some(b)] = self.scraped[i].samples else {
            return None;
        };
        let window = b.at.since(a.at);
        if window == SimDuration::ZERO {
            return None;
        }
        let used = i128::from(b.cpu_core_nanos.saturating_sub(a.cpu_core_nanos));
        let cpu_milli = used * 1000 / i128::from(window.as_nanos());
        Some(PodMetrics {
            timestamp: b.at,
            window,
            cpu_milli: i64::try_from(cpu_milli).unwrap_or(i64::MAX),
            memory: b.memory,
        })
    }

    pub fn pod_metric(&self, name: &str, pod: PodId) -> Option<i64> {
        self.pod_metrics.get(&(name.to_string(), pod)).copied()
    }

    pub fn object_metric(
        &self,
        name: &str,
        kind: &str,
        namespace: &str,
        object: &str,
    ) -> Option<i64> {
        self.object_metrics
            .get(&(
                name.to_string(),
                (kind.to_string(), namespace.to_string(), object.to_string()),
            ))
            .copied()
    }

    pub fn external_metric(&self, name: &str) -> Option<i64> {
        self.external_metrics.get(name).copied()
    }

    /// When the custom metrics were last collected (their timestamp).
    pub fn last_scrape(&self) -> Option<SimTime> {
        self.last_scrape
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_needs_two_scrapes_and_is_the_counter_delta() {
        let mut m = MetricsServer::default();
        let p = PodId(0);
        let u = RunningUsage {
            started: SimTime::ZERO,
            cpu_milli: Some(UsageModel::Constant(500)),
            memory: Some(UsageModel::Constant(1 << 20)),
        };
        let t1 = SimTime::ZERO + SimDuration::from_secs(15);
        m.scrape(t1, [(p, u)].into_iter());
        assert_eq!(m.pod_metrics(p), None, "one sample: no metric");
        let t2 = t1 + SimDuration::from_secs(15);
        m.scrape(t2, [(p, u)].into_iter());
        let got = m.pod_metrics(p).expect("two samples");
        assert_eq!(got.cpu_milli, 500);
        assert_eq!(got.window, SimDuration::from_secs(15));
        assert_eq!(got.timestamp, t2);
        assert_eq!(got.memory, 1 << 20);
        // Extra CPU time from outside the curve: 1.5 core-seconds over 15s is 100m more.
        m.add_cpu_usage(p, 1_500_000_000);
        m.scrape(t2 + SimDuration::from_secs(15), [(p, u)].into_iter());
        assert_eq!(m.pod_metrics(p).map(|x| x.cpu_milli), Some(600));
        m.scrape(t2 + SimDuration::from_secs(30), std::iter::empty());
        assert_eq!(m.pod_metrics(p), None, "gone pods are forgotten");
    }

    #[test]
    fn ramp_integral_is_exact() {
        let r = UsageModel::Ramp {
            from: 0,
            to: 1000,
            over: SimDuration::from_secs(10),
        };
        // Average 500m over the ramp, then 1000m flat.
        assert_eq!(
            integral(&r, SimDuration::ZERO, SimDuration::from_secs(10)),
            500 * 10_000_000_000
        );
        assert_eq!(
            integral(&r, SimDuration::from_secs(5), SimDuration::from_secs(15)),
            (750 * 5 + 1000 * 5) * 1_000_000_000
        );
    }
}
