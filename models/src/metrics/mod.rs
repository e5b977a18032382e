//! The metrics recorder: tidy time series of the run, sampled at a fixed simulated resolution.
//!
//! Sampling adds no engine event (an added event would change every run's digest). The
//! cluster's state only changes when an event is handled, so it is sampled lazily: before the
//! cluster handles an event at `t`, every sample instant before `t` not yet recorded is
//! recorded from the current state, which is the state at those instants; the run's end
//! records the instants up to the end ([`Cluster::finish_metrics`]). A sample at `s` is the
//! state after every event at or before `s`.
//!
//! Memory is bounded by the number of samples, not the number of events: the resolution
//! grows for long runs so that a run has at most [`MAX_SAMPLES`] + 1 samples
//! ([`MetricsConfig::resolution_for`]), and values are stored by column: a series (metric and
//! object) is named once, then holds one `f64` per sample. Counts and byte figures are exact
//! in an `f64` up to 2^53.
//!
//! Other subsystems add their own series through [`Recorder::series`] and [`Recorder::set`],
//! by implementing [`MetricSource`] and being sampled in [`Cluster::record_metrics`].

mod output;
mod state;

use std::collections::BTreeMap;

use sim_core::{SimDuration, SimTime};

use crate::apiserver::ApiServer;
use crate::cluster::Cluster;

pub use output::{MetricsJson, Num, SeriesJson, read_json, read_json_from, write_csv, write_json};
pub use state::{CLUSTER, pool_object, workload_object};

/// The finest resolution by default, and the unit every automatic resolution is a multiple of.
pub const DEFAULT_RESOLUTION: SimDuration = SimDuration::from_secs(15);
/// Samples a run keeps at most (plus the one at t = 0): 24 hours at 15 s. Longer runs sample
/// more coarsely.
pub const MAX_SAMPLES: u64 = 5760;

/// `metrics: {enabled: true, resolution: 15s, nodes: false}` of a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricsConfig {
    pub enabled: bool,
    /// The resolution asked for; [`MetricsConfig::resolution_for`] coarsens it for long runs.
    pub resolution: SimDuration,
    /// Per-node series (`node/<name>`): off by default, as a large cluster has many nodes.
    pub nodes: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            resolution: DEFAULT_RESOLUTION,
            nodes: false,
        }
    }
}

impl MetricsConfig {
    /// The resolution a run of `duration` samples at: the smallest whole multiple of the asked
    /// resolution that keeps the run to [`MAX_SAMPLES`] steps, that is
    /// `resolution × ceil(duration / (resolution × MAX_SAMPLES))`. A 30-day run at the
    /// default 15 s samples every 450 s (7m30s).
    pub fn resolution_for(&self, duration: SimDuration) -> SimDuration {
        let base = self.resolution.as_nanos().max(1);
        let per_window = u128::from(base) * u128::from(MAX_SAMPLES);
        let multiple = u128::from(duration.as_nanos()).div_ceil(per_window).max(1);
        let nanos = u128::from(base) * multiple;
        SimDuration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

/// A series: a metric of an object, interned once per run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesId(u32);

impl SeriesId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One series' name and values by column.
#[derive(Clone, Debug)]
struct SeriesData {
    metric: String,
    object: String,
    unit: &'static str,
    /// The sample index of `values[0]`.
    first: u32,
    /// One value per sample from `first`; NaN where the series was not set (its object did
    /// not exist at that sample).
    values: Vec<f64>,
}

/// A view of one series, for writers and charts.
#[derive(Clone, Copy, Debug)]
pub struct SeriesView<'a> {
    pub id: SeriesId,
    pub metric: &'a str,
    pub object: &'a str,
    pub unit: &'static str,
    first: u32,
    values: &'a [f64],
    resolution: SimDuration,
}

impl<'a> SeriesView<'a> {
    /// (seconds of simulated time, value) of every sample the series was set at.
    pub fn points(&self) -> impl Iterator<Item = (f64, f64)> + 'a {
        let (first, step) = (self.first, self.resolution.as_secs_f64());
        self.values
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_nan())
            .map(move |(i, v)| ((f64::from(first) + i as f64) * step, *v))
    }

    /// The value at sample `index`, if the series was set then.
    pub fn at(&self, index: u32) -> Option<f64> {
        let i = index.checked_sub(self.first)? as usize;
        self.values.get(i).copied().filter(|v| !v.is_nan())
    }

    /// The last value set.
    pub fn last(&self) -> Option<f64> {
        self.values.iter().rev().copied().find(|v| !v.is_nan())
    }
}

/// Something that adds series at each sample: traffic, SLOs, autoscalers. Called once per
/// sample instant with the state at that instant.
pub trait MetricSource {
    fn sample(&self, api: &ApiServer, now: SimTime, rec: &mut Recorder);
}

/// The recorder: the series, their values, and what sampling the cluster needs to remember.
#[derive(Clone, Debug)]
pub struct Recorder {
    config: MetricsConfig,
    resolution: SimDuration,
    /// No sample after this instant (the run's end).
    end: SimTime,
    /// Samples recorded so far; the next one is at `recorded × resolution`.
    recorded: u32,
    /// Series by metric, then object: looked up by `&str` without building a key.
    ids: BTreeMap<String, BTreeMap<String, SeriesId>>,
    series: Vec<SeriesData>,
    /// The cluster's own series and what they carry from sample to sample.
    pub(crate) cluster: state::ClusterState,
    /// Each traffic service's object name and series, named on first use (in the order the
    /// series first get a value, which is the order of their rows).
    pub(crate) services: Vec<ServiceSeries>,
}

/// A traffic service's series ids: `service/<name>` and one slot per metric of
/// [`SERVICE_METRICS`], filled when the metric first gets a value.
#[derive(Clone, Debug)]
pub(crate) struct ServiceSeries {
    pub(crate) object: String,
    pub(crate) ids: [Option<SeriesId>; SERVICE_METRICS.len()],
}

/// The series of a traffic service, in the order [`ServiceSeries::ids`] holds them.
pub(crate) const SERVICE_METRICS: [&str; 6] = [
    "requests_per_second",
    "errors_per_second",
    "availability",
    "latency_p50_seconds",
    "latency_p95_seconds",
    "latency_p99_seconds",
];

impl ServiceSeries {
    pub(crate) fn new(object: String) -> Self {
        ServiceSeries {
            object,
            ids: [None; SERVICE_METRICS.len()],
        }
    }

    /// Sets metric `SERVICE_METRICS[m]` of this service, naming its series on first use.
    pub(crate) fn set(&mut self, rec: &mut Recorder, m: usize, value: f64) {
        let Some(slot) = self.ids.get_mut(m) else {
            return;
        };
        let id = *slot.get_or_insert_with(|| rec.series(SERVICE_METRICS[m], &self.object));
        rec.set(id, value);
    }
}

impl Recorder {
    /// A recorder for a run ending at `end` (its resolution follows from the run's length).
    pub fn new(config: MetricsConfig, end: SimTime, cost_per_hour: BTreeMap<String, f64>) -> Self {
        let resolution = config.resolution_for(end.since(SimTime::ZERO));
        Recorder {
            config,
            resolution,
            end,
            recorded: 0,
            ids: BTreeMap::new(),
            series: Vec::new(),
            cluster: state::ClusterState::new(cost_per_hour),
            services: Vec::new(),
        }
    }

    pub fn config(&self) -> &MetricsConfig {
        &self.config
    }

    /// The time between samples.
    pub fn resolution(&self) -> SimDuration {
        self.resolution
    }

    /// Samples recorded.
    pub fn samples(&self) -> u32 {
        self.recorded
    }

    /// The instant of sample `index`.
    pub fn time_of(&self, index: u32) -> SimTime {
        SimTime::from_nanos(self.resolution.as_nanos().saturating_mul(u64::from(index)))
    }

    /// The next instant to record, if any is left before the run's end.
    fn next_instant(&self) -> Option<SimTime> {
        let t = self.time_of(self.recorded);
        (t <= self.end).then_some(t)
    }

    /// Some sample instant before `now` is not recorded yet.
    pub fn due_before(&self, now: SimTime) -> bool {
        self.next_instant().is_some_and(|t| t < now)
    }

    /// The series `metric` of `object`, named on first use. Its unit is the built-in
    /// metric's (see [`unit_of`]), or none.
    pub fn series(&mut self, metric: &str, object: &str) -> SeriesId {
        self.series_with_unit(metric, object, unit_of(metric))
    }

    /// [`Recorder::series`] with the unit given (for metrics the recorder does not know).
    pub fn series_with_unit(&mut self, metric: &str, object: &str, unit: &'static str) -> SeriesId {
        if let Some(id) = self.ids.get(metric).and_then(|m| m.get(object)) {
            return *id;
        }
        let id = SeriesId(u32::try_from(self.series.len()).expect("fewer than 2^32 series"));
        self.ids
            .entry(metric.to_owned())
            .or_default()
            .insert(object.to_owned(), id);
        self.series.push(SeriesData {
            metric: metric.to_owned(),
            object: object.to_owned(),
            unit,
            first: self.recorded,
            values: Vec::new(),
        });
        id
    }

    /// Sets the series' value at the sample being taken.
    pub fn set(&mut self, id: SeriesId, value: f64) {
        let at = self.recorded;
        let Some(s) = self.series.get_mut(id.index()) else {
            return;
        };
        if s.values.is_empty() {
            s.first = at;
        }
        let i = (at - s.first.min(at)) as usize;
        if s.values.len() <= i {
            s.values.resize(i, f64::NAN);
            s.values.push(value);
        } else {
            s.values[i] = value;
        }
    }

    /// Every series, in id (first use) order.
    pub fn iter(&self) -> impl Iterator<Item = SeriesView<'_>> {
        (0..self.series.len()).map(|i| self.view(SeriesId(i as u32), &self.series[i]))
    }

    fn view<'a>(&'a self, id: SeriesId, s: &'a SeriesData) -> SeriesView<'a> {
        SeriesView {
            id,
            metric: &s.metric,
            object: &s.object,
            unit: s.unit,
            first: s.first,
            values: &s.values,
            resolution: self.resolution,
        }
    }

    /// The series `metric` of `object`, if it was recorded.
    pub fn get(&self, metric: &str, object: &str) -> Option<SeriesView<'_>> {
        let id = *self.ids.get(metric)?.get(object)?;
        Some(self.view(id, self.series.get(id.index())?))
    }

    /// Values held, over every series (what the recorder's memory grows with).
    pub fn values_held(&self) -> usize {
        self.series.iter().map(|s| s.values.len()).sum()
    }
}

/// The unit of each built-in metric, as the README lists them.
pub fn unit_of(metric: &str) -> &'static str {
    match metric {
        "nodes" | "nodes_ready" => "nodes",
        "pods" | "pods_pending" | "pods_running" | "pods_succeeded" | "pods_failed"
        | "pods_unschedulable" => "pods",
        "cpu_requested_millis" | "cpu_allocatable_millis" => "millicores",
        "memory_requested_bytes" | "memory_allocatable_bytes" => "bytes",
        "gpus_requested" | "gpus_allocatable" => "GPUs",
        "utilization_cpu" | "utilization_memory" | "utilization_gpu" => "ratio",
        "node_hours" => "node-hours",
        "cost_dollars" => "dollars",
        "replicas_desired" | "replicas_ready" | "replicas_available" => "replicas",
        "requests_per_second" | "errors_per_second" => "requests/s",
        "latency_p99_seconds" | "latency_p50_seconds" | "latency_p95_seconds" => "seconds",
        "availability" => "ratio",
        "errors" => "requests",
        _ => "",
    }
}

impl Cluster {
    /// Records every sample instant before `now` not yet recorded, from the current state.
    pub(crate) fn record_metrics(&mut self, now: SimTime) {
        let Some(mut rec) = self.metrics.take() else {
            return;
        };
        while rec.due_before(now) {
            self.record_one(&mut rec);
        }
        self.metrics = Some(rec);
    }

    /// Records the instants up to `end` not yet recorded: called when the run stops, as
    /// no event comes after the last one to trigger them.
    pub fn finish_metrics(&mut self, end: SimTime) {
        let Some(mut rec) = self.metrics.take() else {
            return;
        };
        while rec.next_instant().is_some_and(|t| t <= end) {
            self.record_one(&mut rec);
        }
        self.metrics = Some(rec);
    }

    fn record_one(&self, rec: &mut Recorder) {
        let now = rec.time_of(rec.recorded);
        state::sample(self, now, rec);
        // Sources of other subsystems are sampled here, each with the same instant.
        if let Some(t) = &self.traffic {
            t.sample_metrics(rec);
        }
        rec.recorded += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_grows_for_long_runs_in_whole_multiples() {
        let c = MetricsConfig::default();
        let h = |n: u64| SimDuration::from_secs(n * 3600);
        // 24 h at 15 s is exactly MAX_SAMPLES steps.
        assert_eq!(c.resolution_for(h(1)), SimDuration::from_secs(15));
        assert_eq!(c.resolution_for(h(24)), SimDuration::from_secs(15));
        // 24 h and a second needs 30 s; 30 days 2_592_000 s / (15 × 5760) = 30 → 450 s.
        assert_eq!(
            c.resolution_for(h(24) + SimDuration::from_secs(1)),
            SimDuration::from_secs(30)
        );
        assert_eq!(c.resolution_for(h(720)), SimDuration::from_secs(450));
        let asked = MetricsConfig {
            resolution: SimDuration::from_secs(60),
            ..c
        };
        assert_eq!(asked.resolution_for(h(1)), SimDuration::from_secs(60));
        assert_eq!(asked.resolution_for(h(720)), SimDuration::from_secs(480));
    }

    #[test]
    fn series_are_interned_and_hold_gaps_as_missing() {
        let end = SimTime::ZERO.saturating_add(SimDuration::from_secs(60));
        let mut r = Recorder::new(MetricsConfig::default(), end, BTreeMap::new());
        let a = r.series("nodes", "cluster");
        assert_eq!(r.series("nodes", "cluster"), a);
        r.set(a, 3.0);
        r.recorded += 1;
        let b = r.series("replicas_ready", "deployment/web");
        assert_ne!(a, b);
        r.set(b, 1.0);
        r.recorded += 2;
        r.set(b, 2.0);
        r.set(a, 4.0);
        r.recorded += 1;
        let web = r.get("replicas_ready", "deployment/web").unwrap();
        assert_eq!(web.unit, "replicas");
        assert_eq!(web.points().collect::<Vec<_>>(), [(15.0, 1.0), (45.0, 2.0)]);
        assert_eq!(web.at(2), None);
        let nodes = r.get("nodes", "cluster").unwrap();
        assert_eq!(
            nodes.points().collect::<Vec<_>>(),
            [(0.0, 3.0), (45.0, 4.0)]
        );
        assert_eq!(r.values_held(), 3 + 4);

        // metrics.json is written from the recorder as it is read; the same bytes as the
        // copied form, a name that needs quoting and a fraction included.
        let odd = r.series("cpu_cores", "pod/a,\"b\"");
        r.set(odd, 0.25);
        r.recorded += 1;
        let mut streamed = Vec::new();
        write_json(&r, &mut streamed).expect("writes");
        assert_eq!(
            streamed,
            serde_json::to_vec(&MetricsJson::of(&r)).expect("serializes")
        );
        let mut csv = Vec::new();
        write_csv(&r, &mut csv).expect("writes");
        let csv = String::from_utf8(csv).expect("utf-8");
        assert!(
            csv.starts_with("time_s,metric,object,value\n0,nodes,cluster,3\n"),
            "{csv}"
        );
        assert!(
            csv.contains(",cpu_cores,\"pod/a,\"\"b\"\"\",0.25\n"),
            "{csv}"
        );

        // Read back, every series has the same points (and a gap stays a gap).
        let back = read_json(&streamed).expect("reads");
        let from_reader = read_json_from(&streamed[..]).expect("reads");
        assert_eq!(from_reader.values_held(), back.values_held());
        assert_eq!(back.samples(), r.samples());
        let (a, b): (Vec<_>, Vec<_>) = (r.iter().collect(), back.iter().collect());
        assert_eq!(a.len(), b.len());
        for (a, b) in a.iter().zip(&b) {
            assert_eq!((a.metric, a.object), (b.metric, b.object));
            assert_eq!(
                a.points().collect::<Vec<_>>(),
                b.points().collect::<Vec<_>>()
            );
        }
        assert_eq!(
            back.get("replicas_ready", "deployment/web").unwrap().at(2),
            None
        );
        // Fields in another order (a file written by hand) read the same.
        let text = String::from_utf8(streamed).expect("utf-8");
        let (head, series) = text.split_once(",\"series\":").expect("series");
        let reordered = format!(
            "{{\"series\":{},{}}}",
            series.trim_end().trim_end_matches('}'),
            head.trim_start_matches('{')
        );
        let again = read_json(reordered.as_bytes()).expect("reads reordered");
        assert_eq!(
            again
                .get("nodes", "cluster")
                .unwrap()
                .points()
                .collect::<Vec<_>>(),
            [(0.0, 3.0), (45.0, 4.0)]
        );
        assert!(read_json(b"{\"resolutionSeconds\": 0, \"series\": []}").is_err());
        assert!(read_json(b"{\"series\": []}").is_err());
    }

    #[test]
    fn csv_values_print_as_rust_prints_them() {
        for v in [
            0.0,
            -0.0,
            3.0,
            -7.0,
            0.25,
            1e15,
            9_007_199_254_740_992.0,
            1e21,
            1e-7,
            f64::INFINITY,
            123_456_789.5,
        ] {
            let mut row = Vec::new();
            output::write_value_for_test(&mut row, v);
            assert_eq!(String::from_utf8(row).unwrap(), format!("{v}\n"), "{v}");
        }
    }
}
