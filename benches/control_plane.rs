//! Control-plane throughput, end to end through the library's public path (scenario text →
//! `run`): the API server and its watch log, the Deployment and ReplicaSet controllers with
//! their work queues, the scheduler and the kubelets.
//!
//! - `rollout/<n>-nodes-<d>-deployments`: `d` Deployments of 10 replicas on `n` nodes, rolled
//!   out to a new image one after another (one every 2 s from 2m); the whole `run` is timed,
//!   and a run is 2 × 10 × `d` pod lifecycles (`Throughput::Elements`). Three sizes show how
//!   the cost grows with the cluster: 250/75, 500/150, 1,000/300.
//! - `watch-reconcile/per-pod-lifecycle`: one ReplicaSet of 200 on 4 nodes, scaled to 0 and
//!   back to 200 every 30 s for 20 cycles with zero watch and API latency; the cost of the
//!   watch + reconcile machinery per pod lifecycle (create → bind → run → delete).
//!
//! Before timing, each case runs once to check its outcome (every Deployment ends with 10
//! updated, available replicas; every ReplicaSet pod is created and removed as expected) and
//! prints its event counts and single-run rates.

// The bench times whole runs from outside the simulation (events/s); no run reads the clock.
#![allow(clippy::disallowed_types)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use models::run::{RunOptions, build, run};
use models::scenario::{Scenario, load_str};
use models::scheduler::Registry;
use sim_core::{RunLimits, SimDuration, SimTime};

const REPLICAS: usize = 10;

/// `deployments` Deployments of 10 replicas on one pool of `nodes` nodes, each rolled out to
/// `app:v2` in turn, 2 s apart, from 2m; the run lasts 5 minutes past the last rollout.
fn rollout_scenario(nodes: usize, deployments: usize) -> String {
    let duration = 120 + deployments * 2 + 300;
    let mut s = format!(
        "name: rollout-{nodes}-{deployments}\n\
         seed: 7\n\
         duration: {duration}s\n\
         cluster:\n  nodePools:\n    - {{name: general, count: {nodes}, \
         resources: {{cpu: \"16\", memory: 64Gi, pods: 110}}, zones: [zone-a, zone-b, zone-c]}}\n\
         behaviour: {{podStartup: 1s..3s}}\n\
         workloads:\n"
    );
    for i in 0..deployments {
        write!(
            s,
            "  - inline:\n      apiVersion: apps/v1\n      kind: Deployment\n      \
             metadata: {{name: d-{i}}}\n      spec:\n        replicas: {REPLICAS}\n        \
             selector: {{matchLabels: {{app: a-{i}}}}}\n        template:\n          \
             metadata: {{labels: {{app: a-{i}}}}}\n          spec:\n            containers:\n              \
             - {{name: c, image: app:v1, resources: {{requests: {{cpu: 100m, memory: 128Mi}}}}}}\n"
        )
        .unwrap();
    }
    s.push_str("timeline:\n");
    for i in 0..deployments {
        let at = 120 + i * 2;
        writeln!(
            s,
            "  - {{at: {at}s, rollout: {{deployment: d-{i}, image: app:v2}}}}"
        )
        .unwrap();
    }
    s
}

const RS_REPLICAS: usize = 200;
const CYCLES: usize = 20;
const CYCLE_SECS: usize = 30;

/// One ReplicaSet of 200 on 4 nodes, scaled to 0 at 30 s, back to 200 at 60 s, and so on for
/// 20 cycles; no watch or API latency. Pods terminate after a 1 s grace period.
fn scale_scenario() -> String {
    let end = CYCLE_SECS * 2 * CYCLES + 60;
    let mut s = format!(
        "name: watch-reconcile\n\
         seed: 7\n\
         duration: {end}s\n\
         cluster:\n  nodePools:\n    - {{name: general, count: 4, \
         resources: {{cpu: \"32\", memory: 128Gi, pods: 110}}, zones: [zone-a, zone-b]}}\n\
         controlPlane: {{watchLatency: 0s, apiLatency: 0s}}\n\
         behaviour: {{podStartup: 1s..3s}}\n\
         workloads:\n  - inline:\n      apiVersion: apps/v1\n      kind: ReplicaSet\n      \
         metadata: {{name: churn}}\n      spec:\n        replicas: {RS_REPLICAS}\n        \
         selector: {{matchLabels: {{app: churn}}}}\n        template:\n          \
         metadata: {{labels: {{app: churn}}}}\n          spec:\n            \
         terminationGracePeriodSeconds: 1\n            containers:\n              \
         - {{name: c, image: churn:v1, resources: {{requests: {{cpu: 100m, memory: 128Mi}}}}}}\n\
         timeline:\n"
    );
    for cycle in 0..CYCLES {
        let down = CYCLE_SECS * (2 * cycle + 1);
        let up = down + CYCLE_SECS;
        writeln!(
            s,
            "  - {{at: {down}s, scale: {{replicaSet: churn, replicas: 0}}}}"
        )
        .unwrap();
        writeln!(
            s,
            "  - {{at: {up}s, scale: {{replicaSet: churn, replicas: {RS_REPLICAS}}}}}"
        )
        .unwrap();
    }
    s
}

fn load(name: &str, text: &str) -> Scenario {
    load_str(name, text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"))
}

fn per_second(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn bench_rollout(c: &mut Criterion) {
    let registry = Registry::default_plugins();
    let options = RunOptions::default();
    let mut group = c.benchmark_group("rollout");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(8));
    for (nodes, deployments) in [(250usize, 75usize), (500, 150), (1_000, 300)] {
        let name = format!("{nodes}-nodes-{deployments}-deployments");
        let scenario = load(
            &format!("{name}.yaml"),
            &rollout_scenario(nodes, deployments),
        );

        // Check the outcome once, outside the timed section.
        let started = Instant::now();
        let o = run(&scenario, &registry, &options, |_, _| {}).unwrap_or_else(|d| panic!("{d}"));
        let wall = started.elapsed();
        let api = &o.simulation.world().api;
        assert_eq!(api.deployments.len(), deployments);
        for d in &api.deployments {
            let s = &d.status;
            assert_eq!(
                (s.replicas, s.updated_replicas, s.available_replicas),
                (REPLICAS as i32, REPLICAS as i32, REPLICAS as i32),
                "deployment {} did not finish its rollout: {s:?}",
                d.d.name
            );
        }
        let lifecycles = (deployments * REPLICAS * 2) as u64;
        assert_eq!(api.counters.pods_created, lifecycles);
        let events = o.simulation.events_processed();
        println!(
            "rollout/{name}: {events} events, {} API writes, {} pods created; one run {:.1} ms \
             = {:.0} events/s, {:.0} pods/s, {:.2} µs per event",
            api.resource_version(),
            api.counters.pods_created,
            wall.as_secs_f64() * 1e3,
            per_second(events, wall),
            per_second(lifecycles, wall),
            wall.as_secs_f64() * 1e6 / events as f64,
        );
        drop(o);

        group.throughput(Throughput::Elements(lifecycles));
        group.bench_function(&name, |b| {
            b.iter(|| {
                let o = run(&scenario, &registry, &options, |_, _| {}).expect("runs");
                black_box(o.simulation.events_processed())
            });
        });
    }
    group.finish();
}

fn bench_watch_reconcile(c: &mut Criterion) {
    let registry = Registry::default_plugins();
    let options = RunOptions::default();
    let scenario = load("watch-reconcile.yaml", &scale_scenario());
    let end = SimTime::ZERO.saturating_add(SimDuration::from_secs(
        (CYCLE_SECS * 2 * CYCLES + 60) as u64,
    ));

    // Check the outcome once, outside the timed section.
    let mut sim = build(&scenario, &registry, &options).unwrap_or_else(|d| panic!("{d}"));
    let started = Instant::now();
    sim.run(RunLimits::until(end));
    let wall = started.elapsed();
    let api = &sim.world().api;
    let pods = api.counters.pods_created;
    assert_eq!(pods, (RS_REPLICAS * (CYCLES + 1)) as u64);
    assert_eq!(api.counters.pods_bound, pods);
    let rs = &api.replica_sets[0];
    assert_eq!(
        (rs.status.replicas, rs.status.ready_replicas),
        (RS_REPLICAS as i32, RS_REPLICAS as i32)
    );
    assert_eq!(api.store.active_pods().count(), RS_REPLICAS);
    let events = sim.events_processed();
    let writes = api.resource_version();
    println!(
        "watch-reconcile: {events} events, {writes} API writes, {pods} pods created \
         ({:.1} events, {:.1} writes per pod); one run {:.1} ms = {:.2} µs per pod lifecycle \
         ({:.2} µs per lifecycle event, 4 per pod), {:.0} ns per event, {:.0} ns per API write",
        events as f64 / pods as f64,
        writes as f64 / pods as f64,
        wall.as_secs_f64() * 1e3,
        wall.as_secs_f64() * 1e6 / pods as f64,
        wall.as_secs_f64() * 1e6 / (4 * pods) as f64,
        wall.as_secs_f64() * 1e9 / events as f64,
        wall.as_secs_f64() * 1e9 / writes as f64,
    );
    drop(sim);

    let mut group = c.benchmark_group("watch-reconcile");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(pods));
    group.bench_function("per-pod-lifecycle", |b| {
        b.iter_batched(
            || build(&scenario, &registry, &options).expect("builds"),
            |mut sim| {
                sim.run(RunLimits::until(end));
                black_box(sim.events_processed())
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, bench_watch_reconcile, bench_rollout);
criterion_main!(benches);
