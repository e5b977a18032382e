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

use serde::{Deserialize, Serialize};
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
            .resize_with(self.api.store.nodes.len(), NodeCache::default);
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
            pods_pending: (self.scheduler.queue.active_len()
                + self.scheduler.queue.backoff_len()
                + self.scheduler.queue.unschedulable_len()) as u64,
            gpu_frag_milli: 0.0,
            gpu_frag_ratio: 0.0,
            gpu_frag_partial_milli: 0.0,
            gpu_frag_partial_ratio: 0.0,
        };
        let (mut fgd, mut partial) = (0u128, 0u128);
        for (info, cache) in self.api.store.nodes.iter().zip(sampler.cache.iter_mut()) {
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

impl Cluster {
    /// The sampler, when sampling is on (its configuration holds the mix fragmentation is
    /// measured against).
    pub fn sampler(&self) -> Option<&Sampler> {
        self.sampler.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use sim_core::{RunLimits, Simulation};

    use super::*;
    use crate::api::{Node, NodeId, Pod, ResourceList, ResourceName};
    use crate::apiserver::{ApiServer, ControlPlaneTiming as Timing};
    use crate::gpu::{GPU_RESOURCE, GpuRequest, MixEntry};
    use crate::kubelet::Kubelets;
    use crate::scheduler::{Registry, Scheduler};
    use crate::store::Store;

    fn node(name: &str, gpus: i64) -> Node {
        let mut allocatable = ResourceList {
            cpu_milli: 8000,
            memory: 32 << 30,
            pods: 110,
            ..Default::default()
        };
        allocatable.set(&ResourceName::Extended(GPU_RESOURCE.into()), gpus);
        Node {
            name: name.into(),
            allocatable,
            gpu_model: Some("T4".into()),
            ..Node::default()
        }
    }

    fn share(name: &str, milli: u32) -> Pod {
        Pod {
            name: name.into(),
            requests: ResourceList {
                cpu_milli: 1000,
                memory: 1 << 30,
                pods: 1,
                ..Default::default()
            },
            gpu: Some(GpuRequest::shared(milli)),
            ..Pod::default()
        }
    }

    /// Samples taken as pods are bound and deleted between them agree with fragmentation
    /// computed from scratch: the per-node cache is refreshed when a node changes.
    #[test]
    fn samples_follow_binds_and_deletes() {
        let mut store = Store::new();
        store.add_node(node("a", 2));
        store.add_node(node("b", 1));
        let scheduler = Scheduler::new(None, &Registry::default_plugins()).unwrap();
        let mut sim = Simulation::new(
            Cluster::new(
                ApiServer::new(store, Timing::default()),
                scheduler,
                Kubelets::default(),
            ),
            1,
        );
        let mix = TypicalMix {
            entries: vec![MixEntry {
                cpu_milli: 1000,
                gpu: GpuRequest::shared(500),
                weight: 1,
            }],
        };
        let interval = SimDuration::from_secs(10);
        let until = SimTime::ZERO.saturating_add(SimDuration::from_secs(30));
        sim.with_context(|c, ctx| {
            c.enable_sampling(
                ctx,
                SamplingConfig {
                    interval,
                    until,
                    mix: mix.clone(),
                },
            )
        });
        let at = |s: u64| SimTime::ZERO.saturating_add(SimDuration::from_secs(s));
        // t=0: empty. Then 600 on a's device 0 (a: 400, 1000; b: 1000).
        sim.run(RunLimits::until(at(5)));
        let p = sim.world_mut().api.store.add_pod(share("p", 600), at(5));
        sim.world_mut().api.store.bind(p, NodeId(0), at(5));
        // Then 800 on b (b: 200).
        sim.run(RunLimits::until(at(15)));
        let q = sim.world_mut().api.store.add_pod(share("q", 800), at(15));
        sim.world_mut().api.store.bind(q, NodeId(1), at(15));
        // Then p leaves (a: 1000, 1000).
        sim.run(RunLimits::until(at(25)));
        sim.world_mut().api.store.delete_pod(p, at(25));
        sim.run(RunLimits::until(at(40)));
        let samples = &sim.world().samples;
        assert_eq!(
            samples.iter().map(|s| s.time_s).collect::<Vec<_>>(),
            vec![0.0, 10.0, 20.0, 30.0]
        );
        // A 500 share fits a (device 1) and, until q, b. FGD counts the free milli on devices
        // too small for 500: a's 400 from 10 s, b's 200 from 20 s; b cannot take the share after
        // q, but its only device is partly used (200), so the simple measure counts it too.
        let fgd: Vec<f64> = samples.iter().map(|s| s.gpu_frag_milli).collect();
        assert_eq!(fgd, vec![0.0, 400.0, 600.0, 200.0]);
        let partial: Vec<f64> = samples.iter().map(|s| s.gpu_frag_partial_milli).collect();
        assert_eq!(partial, vec![0.0, 0.0, 200.0, 200.0]);
        let used: Vec<u64> = samples.iter().map(|s| s.gpu_requested_milli).collect();
        assert_eq!(used, vec![0, 600, 1400, 800]);
        assert_eq!(samples[2].gpus_partly_used, 2);
        assert_eq!(samples[2].pods_running, 2);
        assert_eq!(samples[3].gpu_allocatable_milli, 3000);
        assert!((samples[3].gpu_frag_ratio - 200.0 / 3000.0).abs() < 1e-12);
        // Cross-check the last sample against a from-scratch computation.
        let store = &sim.world().api.store;
        let direct: u64 = store
            .nodes
            .iter()
            .map(|n| {
                let cpu_free = n.node.allocatable.cpu_milli - n.requested.cpu_milli;
                node_frag(&n.gpu_free, n.node.gpu_model.as_deref(), cpu_free, &mix).fgd
            })
            .sum();
        assert_eq!(direct as f64, samples[3].gpu_frag_milli);
        let mut csv = Vec::new();
        write_timeseries_csv(samples, &mut csv).unwrap();
        let text = String::from_utf8(csv).unwrap();
        assert!(
            text.starts_with("time_s,metric,value\n0,cpu_requested_milli,0\n"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1 + 4 * 16);
    }
}
