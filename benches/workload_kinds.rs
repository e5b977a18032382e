//! Every workload kind at cluster scale, end to end through the library's public path
//! (scenario text → `run`): DaemonSets on every node, StatefulSets with a volume per pod
//! (provisioned by the persistent-volume controller in the zone the scheduler picked), Jobs
//! and CronJobs, on one three-zone pool.
//!
//! - `workload-kinds/<n>-nodes`: `n` nodes; 5 DaemonSets (5 × `n` pods); `n`/10 StatefulSets
//!   of 3 (OrderedReady, one claim each); `n`/4 Jobs of 4 completions, 2 at a time, pods
//!   running 30 s; `n`/50 CronJobs every 5 minutes; 30 minutes simulated. The whole `run` is
//!   timed; throughput counts pods created.
//!
//! Before timing, each size runs once to check its outcome (one daemon pod per node and
//! DaemonSet, every StatefulSet ready, every Job complete) and prints its event counts and
//! single-run rates. Sizes 250 and 1,000 show how the cost grows.

// The bench times whole runs from outside the simulation; no run reads the clock.
#![allow(clippy::disallowed_types)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use models::run::{RunOptions, run};
use models::scenario::{Scenario, load_str};
use models::scheduler::Registry;

fn scenario(nodes: usize) -> String {
    let mut s = format!(
        "name: workload-kinds\nseed: 1\nduration: 30m\ncluster:\n  nodePools:\n    - {{name: n, count: {nodes}, resources: {{cpu: \"32\", memory: 128Gi, pods: 110}}, zones: [a, b, c]}}\nbehaviour:\n  podStartup: 1s..5s\nworkloads:\n"
    );
    let c = |name: &str| {
        format!(
            "containers: [{{name: c, image: \"{name}:v1\", resources: {{requests: {{cpu: 100m, memory: 128Mi}}}}}}]"
        )
    };
    for d in 0..5 {
        let _ = writeln!(
            s,
            "  - inline: {{apiVersion: apps/v1, kind: DaemonSet, metadata: {{name: ds{d}}}, spec: {{selector: {{matchLabels: {{app: ds{d}}}}}, template: {{metadata: {{labels: {{app: ds{d}}}}}, spec: {{{}}}}}}}}}",
            c("agent")
        );
    }
    for i in 0..nodes / 10 {
        let _ = writeln!(
            s,
            "  - inline: {{apiVersion: apps/v1, kind: StatefulSet, metadata: {{name: db{i}}}, spec: {{replicas: 3, serviceName: db{i}, selector: {{matchLabels: {{app: db{i}}}}}, template: {{metadata: {{labels: {{app: db{i}}}}}, spec: {{{}}}}}, volumeClaimTemplates: [{{metadata: {{name: data}}, spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 10Gi}}}}}}}}]}}}}",
            c("db")
        );
    }
    for i in 0..nodes / 4 {
        let _ = writeln!(
            s,
            "  - inline: {{apiVersion: batch/v1, kind: Job, metadata: {{name: job{i}, annotations: {{}}}}, spec: {{completions: 4, parallelism: 2, template: {{metadata: {{annotations: {{kubesim.io/run-for: 30s}}}}, spec: {{restartPolicy: Never, {}}}}}}}}}",
            c("batch")
        );
    }
    for i in 0..nodes / 50 {
        let _ = writeln!(
            s,
            "  - inline: {{apiVersion: batch/v1, kind: CronJob, metadata: {{name: cron{i}}}, spec: {{schedule: \"*/5 * * * *\", jobTemplate: {{spec: {{template: {{metadata: {{annotations: {{kubesim.io/run-for: 60s}}}}, spec: {{restartPolicy: Never, {}}}}}}}}}}}}}",
            c("cron")
        );
    }
    s
}

fn load(name: &str, text: &str) -> Scenario {
    load_str(name, text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"))
}

fn bench_workload_kinds(c: &mut Criterion) {
    let registry = Registry::default_plugins();
    let options = RunOptions::default();
    let mut group = c.benchmark_group("workload-kinds");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(10));
    for nodes in [250usize, 1_000] {
        let name = format!("{nodes}-nodes");
        let scenario = load(&format!("{name}.yaml"), &scenario(nodes));
        let started = Instant::now();
        let o = run(&scenario, &registry, &options, |_, _| {}).unwrap_or_else(|d| panic!("{d}"));
        let wall = started.elapsed();
        let api = &o.simulation.world().api;
        for ds in api.daemon_sets.live() {
            assert_eq!(ds.status.number_available, nodes as i32, "{}", ds.spec.name);
        }
        for sts in api.stateful_sets.live() {
            assert_eq!(sts.status.ready_replicas, 3, "{}", sts.spec.name);
        }
        let complete = api
            .jobs
            .live()
            .filter(|j| j.status.condition("Complete").is_some())
            .count();
        assert!(complete >= nodes / 4, "{complete} jobs complete");
        let events = o.simulation.events_processed();
        let pods = api.counters.pods_created;
        let c = &o.simulation.world().controllers;
        println!(
            "  syncs: statefulset {}, daemonset {}, job {}, cronjob {}, volume {}, gc {}",
            c.stateful_set.syncs,
            c.daemon_set.syncs,
            c.job.syncs,
            c.cron_job.syncs,
            c.volume.syncs,
            c.garbage_collector.syncs
        );
        println!(
            "workload-kinds/{name}: {events} events, {} API writes, {pods} pods created, {} claims; one run {:.1} ms = {:.0} events/s, {:.0} pods/s",
            api.resource_version(),
            api.store.storage.claims.len(),
            wall.as_secs_f64() * 1e3,
            events as f64 / wall.as_secs_f64(),
            pods as f64 / wall.as_secs_f64(),
        );
        drop(o);
        group.throughput(Throughput::Elements(pods));
        group.bench_function(&name, |b| {
            b.iter(|| {
                let o = run(&scenario, &registry, &options, |_, _| {}).expect("runs");
                black_box(o.simulation.events_processed())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_workload_kinds);
criterion_main!(benches);
