//! Allocation and GPU fragmentation over time: an `Event::Sample` every `interval` records one
//! [`Sample`] in `Cluster::samples`.
//!
//! Fragmentation is measured against the workload's typical GPU request mix
//! ([`crate::gpu::TypicalMix`]), as the FGD paper does: a free milli-GPU is a fragment when the
//! requests the cluster typically gets cannot use it. Two measures ([`crate::gpu::NodeFrag`]):
//! FGD's own (`gpu_frag_*`), and the simpler "free GPU on partly used devices of nodes where
//! the request cannot fit" (`gpu_frag_partial_*`). Both are averaged over the mix by weight.
//!
//! The mix is fixed for a run rather than taken from the pods pending at each sample: that
//! keeps samples comparable across time and across scheduling policies (a policy that leaves
//! fewer pods pending must not look less fragmented for it), and it makes a node's value a
//! function of the node alone, so it is cached and recomputed only for nodes whose CPU or GPU
//! use changed since the last sample. A sample costs O(nodes).

use std::io;

use serde::Serialize;
use sim_core::{Context, SimDuration, SimTime};

use super::Trace;
use crate::cluster::{Cluster, Event};
use crate::gpu::{MILLI_PER_GPU, NodeFrag, TypicalMix, node_frag};

/// When and against what to sample.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingConfig {
    /// Time between samples; zero takes a single sample.
    pub interval: SimDuration,
    /// No sample is taken after this instant (so a finished replay's queue runs dry).
    pub until: SimTime,
    pub mix: TypicalMix,
}

impl SamplingConfig {
    /// Samples every `interval` up to the trace's end, against its typical GPU mix.
    pub fn for_trace(trace: &Trace, interval: SimDuration, threshold_percent: u32) -> Self {
        SamplingConfig {
            interval,
            until: SimTime::ZERO.saturating_add(trace.end()),
            mix: trace.typical_mix(threshold_percent),
        }
    }
}

/// The sampler's state: its configuration and each node's cached fragmentation.
#[derive(Clone, Debug)]
pub struct Sampler {
    config: SamplingConfig,
    total_weight: u64,
    cache: Vec<NodeCache>,
}

/// What a node's fragmentation was computed from, and the result.
#[derive(Clone, Debug, Default)]
struct NodeCache {
    valid: bool,
    cpu_free: i64,
    gpu_free: Vec<u32>,
    frag: NodeFrag,
}

impl Sampler {
    pub fn new(config: SamplingConfig) -> Self {
        let total_weight = config.mix.total_weight();
        Sampler {
            config,
            total_weight,
            cache: Vec::new(),
        }
    }

    pub fn config(&self) -> &SamplingConfig {
        &self.config
    }
}

/// The cluster at one instant. Requests are what bound pods asked for; GPU figures are in
/// milli-GPUs (1000 = one device).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sample {
    pub time_s: f64,
    pub cpu_requested_milli: i64,
    pub cpu_allocatable_milli: i64,
    pub memory_requested_bytes: i64,
    pub memory_allocatable_bytes: i64,
    pub gpu_requested_milli: u64,
    pub gpu_allocatable_milli: u64,
    /// Devices neither idle nor full.
    pub gpus_partly_used: u64,
    /// Pods bound to a node and not deleted.
    pub pods_running: u64,
    /// Pods in the scheduling queue (active, backoff and unschedulable).
    pub pods_pending: u64,
    /// FGD fragmentation, milli-GPUs, and as a share of all GPU capacity.
    pub gpu_frag_milli: f64,
    pub gpu_frag_ratio: f64,
    /// Free milli-GPUs on partly used devices of nodes the typical request cannot use.
    pub gpu_frag_partial_milli: f64,
    pub gpu_frag_partial_ratio: f64,
}

fn ratio(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { part / whole } else { 0.0 }
}

impl Sample {
    pub fn cpu_allocation(&self) -> f64 {
        ratio(
            self.cpu_requested_milli as f64,
            self.cpu_allocatable_milli as f64,
        )
    }

    pub fn memory_allocation(&self) -> f64 {
        ratio(
            self.memory_requested_bytes as f64,
            self.memory_allocatable_bytes as f64,
        )
    }

    pub fn gpu_allocation(&self) -> f64 {
        ratio(
            self.gpu_requested_milli as f64,
            self.gpu_allocatable_milli as f64,
        )
    }

    /// Every figure by metric name, for tidy (time, metric, value) tables.
    pub fn metrics(&self) -> [(&'static str, f64); 16] {
        [
            ("cpu_requested_milli", self.cpu_requested_milli as f64),
            ("cpu_allocatable_milli", self.cpu_allocatable_milli as f64),
            ("cpu_allocation", self.cpu_allocation()),
            ("memory_requested_bytes", self.memory_requested_bytes as f64),
            (
                "memory_allocatable_bytes",
                self.memory_allocatable_bytes as f64,
            ),
            ("memory_allocation", self.memory_allocation()),
            ("gpu_requested_milli", self.gpu_requested_milli as f64),
            ("gpu_allocatable_milli", self.gpu_allocatable_milli as f64),
            ("gpu_allocation", self.gpu_allocation()),
            ("gpus_partly_used", self.gpus_partly_used as f64),
            ("pods_running", self.pods_running as f64),
            ("pods_pending", self.pods_pending as f64),
            ("gpu_frag_milli", self.gpu_frag_milli),
            ("gpu_frag_ratio", self.gpu_frag_ratio),
            ("gpu_frag_partial_milli", self.gpu_frag_partial_milli),
            ("gpu_frag_partial_ratio", self.gpu_frag_partial_ratio),
        ]
    }
}

/// Writes samples as a tidy CSV, `time_s,metric,value`, one row per sample and metric.
pub fn write_timeseries_csv<W: io::Write>(samples: &[Sample], out: W) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["time_s", "metric", "value"])?;
    for s in samples {
        let time = s.time_s.to_string();
        for (metric, value) in s.metrics() {
            w.write_record([time.as_str(), metric, value.to_string().as_str()])?;
        }
    }
    w.flush()?;
    Ok(())
}

impl Cluster {
    /// Starts sampling now, then every `config.interval` up to `config.until`.
    pub fn enable_sampling(&mut self, ctx: &mut Context<'_, Event>, config: SamplingConfig) {
        self.sampler = Some(Sampler::new(config));
        ctx.schedule(SimDuration::ZERO, Event::Sample);
    }

    pub(crate) fn take_sample(&mut self, ctx: &mut Context<'_, Event>) {
        let Some(sampler) = self.sampler.as_mut() else {
            return;
        };
        let now = ctx.now();
        sampler
            .cache
            .resize_with(self.store.nodes.len(), NodeCache::default);
        let mut s = Sample {
            time_s: now.as_secs_f64(),
            cpu_requested_milli: 0,
            cpu_allocatable_milli: 0,
            memory_requested_bytes: 0,
            memory_allocatable_bytes: 0,
            gpu_requested_milli: 0,
            gpu_allocatable_milli: 0,
            gpus_partly_used: 0,
            pods_running: 0,
            pods_pending: (self.queue.active_len()
                + self.queue.backoff_len()
                + self.queue.unschedulable_len()) as u64,
            gpu_frag_milli: 0.0,
            gpu_frag_ratio: 0.0,
            gpu_frag_partial_milli: 0.0,
            gpu_frag_partial_ratio: 0.0,
        };
        let (mut fgd, mut partial) = (0u128, 0u128);
        for (info, cache) in self.store.nodes.iter().zip(sampler.cache.iter_mut()) {
            if !info.exists {
                cache.valid = false;
                continue;
            }
            let alloc = &info.node.allocatable;
            s.cpu_requested_milli += info.requested.cpu_milli;
            s.cpu_allocatable_milli += alloc.cpu_milli;
            s.memory_requested_bytes += info.requested.memory;
            s.memory_allocatable_bytes += alloc.memory;
            s.pods_running += info.pods.len() as u64;
            if info.gpu_free.is_empty() {
                continue;
            }
            s.gpu_allocatable_milli += info.gpu_free.len() as u64 * u64::from(MILLI_PER_GPU);
            for &f in &info.gpu_free {
                s.gpu_requested_milli += u64::from(MILLI_PER_GPU.saturating_sub(f));
                s.gpus_partly_used += u64::from(f > 0 && f < MILLI_PER_GPU);
            }
            let cpu_free = alloc.cpu_milli - info.requested.cpu_milli;
            if !(cache.valid && cache.cpu_free == cpu_free && cache.gpu_free == info.gpu_free) {
                cache.frag = node_frag(
                    &info.gpu_free,
                    info.node.gpu_model.as_deref(),
                    cpu_free,
                    &sampler.config.mix,
                );
                cache.cpu_free = cpu_free;
                cache.gpu_free.clone_from(&info.gpu_free);
                cache.valid = true;
            }
            fgd += u128::from(cache.frag.fgd);
            partial += u128::from(cache.frag.partial);
        }
        if sampler.total_weight > 0 {
            let w = sampler.total_weight as f64;
            s.gpu_frag_milli = fgd as f64 / w;
            s.gpu_frag_partial_milli = partial as f64 / w;
        }
        let capacity = s.gpu_allocatable_milli as f64;
        s.gpu_frag_ratio = ratio(s.gpu_frag_milli, capacity);
        s.gpu_frag_partial_ratio = ratio(s.gpu_frag_partial_milli, capacity);
        let (interval, until) = (sampler.config.interval, sampler.config.until);
        self.samples.push(s);
        if interval > SimDuration::ZERO && now.saturating_add(interval) <= until {
            ctx.schedule(interval, Event::Sample);
        }
    }
}
