//! Nodes that fail and heal at scale, end to end through the library's public path
//! (scenario text → `run`): `faults/1000-nodes-24h` runs 1,000 nodes in three zones with 100
//! Deployments of 300 pods (30,000 pods), every pod with a liveness and a readiness probe
//! every 10 s, for 24 simulated hours under a stochastic fault plan: nodes crash (MTBF 10
//! days, MTTR 1 hour, exponential) and reboot (MTBF 20 days, 2 minutes), and one Deployment
//! in ten has a flaky readiness probe (one check in 500 fails) and one in twenty a liveness
//! probe that fails one check in 2,000.
//!
//! Probes must not dominate: a healthy probe sets no timer at all, and a flaky one only a
//! timer at the check that changes the outcome (see `kubelet/probe.rs`), so the event count
//! is that of the state changes, not of the 260 million checks the probes make in a day.
//!
//! Before timing, the run is made once to check its outcome (the faults struck; the
//! Deployments are back to full strength by the end) and to print its event counts and
//! single-run rates.

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

const NODES: usize = 1_000;
const DEPLOYMENTS: usize = 100;
const REPLICAS: usize = 300;

fn scenario() -> String {
    let mut s = format!(
        "name: faults-at-scale\nseed: 1\nduration: 24h\ncluster:\n  nodePools:\n    - {{name: n, count: {NODES}, resources: {{cpu: \"32\", memory: 128Gi, pods: 110}}, zones: [a, b, c]}}\nbehaviour:\n  podStartup: 1s..5s\n"
    );
    for d in 0..DEPLOYMENTS {
        if d % 10 == 0 {
            let _ = writeln!(s, "  app{d}: {{readiness: {{failureProbability: 0.002}}}}");
        } else if d % 20 == 5 {
            let _ = writeln!(s, "  app{d}: {{liveness: {{failureProbability: 0.0005}}}}");
        }
    }
    s.push_str("faults:\n");
    s.push_str(
        "  - crashNodes: {pool: n}\n    mtbf: {exponential: 10d}\n    mttr: {exponential: 1h}\n",
    );
    s.push_str("  - rebootNodes: {pool: n}\n    mtbf: {exponential: 20d}\n    mttr: 2m\n");
    s.push_str("workloads:\n");
    let probe = "{httpGet: {path: /healthz, port: 8080}, periodSeconds: 10}";
    for d in 0..DEPLOYMENTS {
        let _ = writeln!(
            s,
            "  - inline: {{apiVersion: apps/v1, kind: Deployment, metadata: {{name: app{d}}}, spec: {{replicas: {REPLICAS}, selector: {{matchLabels: {{app: app{d}}}}}, template: {{metadata: {{labels: {{app: app{d}}}}}, spec: {{containers: [{{name: c, image: \"app{d}:v1\", livenessProbe: {probe}, readinessProbe: {probe}, resources: {{requests: {{cpu: 100m, memory: 128Mi}}}}}}]}}}}}}}}"
        );
    }
    s
}

fn load(name: &str, text: &str) -> Scenario {
    load_str(name, text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"))
}

fn bench_faults(c: &mut Criterion) {
    let registry = Registry::default_plugins();
    let options = RunOptions::default();
    let mut group = c.benchmark_group("faults");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(30));
    let name = format!("{NODES}-nodes-24h");
    let scenario = load(&format!("{name}.yaml"), &scenario());
    let started = Instant::now();
    let o = run(&scenario, &registry, &options, |_, _| {}).unwrap_or_else(|d| panic!("{d}"));
    let wall = started.elapsed();
    let world = o.simulation.world();
    let api = &world.api;
    let f = &world.faults.record;
    let struck: u64 = f.started.values().sum();
    assert!(struck > 50, "{struck} faults struck");
    let full = api
        .deployments
        .iter()
        .filter(|d| d.status.available_replicas >= REPLICAS as i32)
        .count();
    let events = o.simulation.events_processed();
    let restarts: i64 = api.store.pods.iter().map(|p| i64::from(p.restarts)).sum();
    println!(
        "faults/{name}: {events} events, {} API writes, {} pods created, {struck} faults ({:?}), {} node-hours down, {restarts} restarts, {} pods lost readiness, {full}/{DEPLOYMENTS} Deployments at full strength at the end; one run {:.2} s = {:.0} events/s",
        api.resource_version(),
        api.counters.pods_created,
        f.started,
        f.node_down_ns / 3_600_000_000_000,
        api.counters.readiness_lost,
        wall.as_secs_f64(),
        events as f64 / wall.as_secs_f64(),
    );
    drop(o);
    group.throughput(Throughput::Elements(events));
    group.bench_function(&name, |b| {
        b.iter(|| {
            let o = run(&scenario, &registry, &options, |_, _| {}).expect("runs");
            black_box(o.simulation.events_processed())
        });
    });
    group.finish();
}

criterion_group!(benches, bench_faults);
criterion_main!(benches);
