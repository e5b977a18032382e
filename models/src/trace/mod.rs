//! Production-trace replay: pods arrive at their recorded creation time, leave at their
//! recorded deletion time, and the kubesim scheduler places them in between, with GPU sharing
//! (`crate::gpu`, the `GPUShare` plugin). Allocation and GPU fragmentation are sampled over
//! time.
//!
//! - [`openb::load_openb`] reads the openb traces of Alibaba's GPU cluster (the FGD paper's
//!   data, `hkust-adsl/kubernetes-scheduler-simulator`) into a [`Trace`].
//! - [`replay::replay_openb`] / [`replay::replay`] run a trace from start to end and return the
//!   simulation and a [`ReplayReport`].
//! - For scenario files (`workloads: - trace: {format: openb, nodes: …, pods: …}`),
//!   [`trace_scenario_parts`] loads what the scenario needs, [`with_gpu_share`] makes its
//!   scheduler configuration GPU-aware, and [`Cluster::install_trace`](crate::cluster::Cluster)
//!   schedules the arrivals and the sampling.

pub mod metrics;
pub mod openb;
pub mod replay;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sim_core::SimDuration;

use crate::api::{Node, Pod};
use crate::gpu::{DEFAULT_TYPICAL_POD_THRESHOLD_PERCENT, TypicalMix};
use crate::scenario::Diagnostic;

pub use metrics::{Sample, Sampler, SamplingConfig, write_timeseries_csv};
pub use openb::load_openb;
pub use replay::{
    PeakMean, ReplayOptions, ReplayOutcome, ReplayReport, TraceReplay, build_replay, replay,
    replay_openb, with_gpu_share,
};

/// One pod of a trace, with its recorded times relative to the trace's first creation.
#[derive(Clone, Debug, PartialEq)]
pub struct TracePod {
    pub pod: Pod,
    /// Creation time.
    pub arrival: SimDuration,
    /// Deletion time; `None` when the trace does not say (the pod then stays to the end).
    pub departure: Option<SimDuration>,
    /// When production scheduled it (`scheduled_time`), for comparison; `None` if never.
    pub recorded_scheduled: Option<SimDuration>,
}

/// A cluster and its workload as recorded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    pub nodes: Vec<Node>,
    pub pods: Vec<TracePod>,
}

impl Trace {
    /// The typical GPU request mix the fragmentation measure is taken against (see
    /// [`TypicalMix::from_requests`]).
    pub fn typical_mix(&self, threshold_percent: u32) -> TypicalMix {
        TypicalMix::from_requests(
            self.pods
                .iter()
                .filter_map(|p| p.pod.gpu.as_ref().map(|g| (p.pod.requests.cpu_milli, g))),
            threshold_percent,
        )
    }

    /// The last recorded arrival or departure: when the replay has nothing left to do.
    pub fn end(&self) -> SimDuration {
        self.pods
            .iter()
            .map(|p| p.departure.unwrap_or(p.arrival).max(p.arrival))
            .max()
            .unwrap_or(SimDuration::ZERO)
    }
}

/// Trace formats kubesim reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceFormat {
    /// `openb_node_list_*.csv` + `openb_pod_list_*.csv`.
    Openb,
}

/// A scenario's `workloads: - trace: {format: openb, nodes: path, pods: path}` entry; paths
/// are relative to the scenario file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TraceWorkload {
    pub format: TraceFormat,
    pub nodes: PathBuf,
    pub pods: PathBuf,
    /// Sampling period of the allocation/fragmentation time series (default 1h).
    #[serde(default)]
    pub sample_interval: Option<String>,
    /// Popularity threshold of the typical request mix, percent (default 60, as upstream).
    #[serde(default)]
    pub typical_pod_threshold: Option<u32>,
    /// `false`: pods never leave, so the cluster fills up as in the FGD paper's experiments
    /// (default `true`: pods leave at their recorded deletion time).
    #[serde(default)]
    pub departures: Option<bool>,
    /// Replace the recorded creation times: pods arrive in trace order, this far apart
    /// (e.g. `1s`). Recorded times keep the production load, which for openb is light.
    #[serde(default)]
    pub arrival_interval: Option<String>,
}

/// What a scenario needs from a trace workload: the nodes to add to the cluster, and the pods
/// and sampling to hand to [`Cluster::install_trace`](crate::cluster::Cluster::install_trace).
/// The scheduler configuration must also go through [`with_gpu_share`].
#[derive(Clone, Debug)]
pub struct TraceParts {
    pub nodes: Vec<Node>,
    pub pods: Vec<TracePod>,
    pub sampling: SamplingConfig,
}

/// Default sampling period: one hour of trace time.
pub const DEFAULT_SAMPLE_INTERVAL: SimDuration = SimDuration::from_hours(1);

/// Loads a trace workload of a scenario whose file is in `base_dir`. Errors point into the
/// trace files; `sampleInterval` errors are reported against `scenario_file` line 1 (the loader
/// knows better and may re-locate them).
pub fn trace_scenario_parts(
    spec: &TraceWorkload,
    base_dir: &Path,
    scenario_file: &str,
) -> Result<TraceParts, Diagnostic> {
    let trace = match spec.format {
        TraceFormat::Openb => load_openb(&base_dir.join(&spec.nodes), &base_dir.join(&spec.pods))?,
    };
    let mut trace = trace;
    if let Some(text) = &spec.arrival_interval {
        let step = text.parse::<SimDuration>().map_err(|e| {
            Diagnostic::new(
                scenario_file,
                1,
                1,
                format!("trace arrivalInterval {text:?}: {e} (write e.g. 1s)"),
            )
        })?;
        // Trace order is creation order; keep it, and space arrivals evenly.
        trace.pods.sort_by_key(|p| p.arrival);
        for (i, p) in trace.pods.iter_mut().enumerate() {
            let length = p
                .departure
                .map(|d| d.checked_sub(p.arrival).unwrap_or(SimDuration::ZERO));
            p.arrival = step.saturating_mul(i as u64);
            p.departure = length.map(|l| p.arrival.saturating_add(l));
        }
    }
    if spec.departures == Some(false) {
        for p in &mut trace.pods {
            p.departure = None;
        }
    }
    let interval = match &spec.sample_interval {
        Some(s) => s.parse::<SimDuration>().map_err(|e| {
            Diagnostic::new(
                scenario_file,
                1,
                1,
                format!("trace sampleInterval {s:?}: {e} (write e.g. 1h or 30m)"),
            )
        })?,
        None => DEFAULT_SAMPLE_INTERVAL,
    };
    let threshold = spec
        .typical_pod_threshold
        .unwrap_or(DEFAULT_TYPICAL_POD_THRESHOLD_PERCENT);
    let sampling = SamplingConfig::for_trace(&trace, interval, threshold);
    Ok(TraceParts {
        nodes: trace.nodes,
        pods: trace.pods,
        sampling,
    })
}
