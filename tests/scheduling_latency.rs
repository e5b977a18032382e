//! Scheduling takes simulated time: a burst of pods queues behind kube-scheduler's cycles
//! (`scheduler: {schedulingCost, bindingLatency}`, see `models::scheduler::cost`).

use std::path::Path;

use models::run::{RunOptions, RunOutcome, run};
use models::scenario::{Scenario, load_str};
use models::scheduler::Registry;
use models::scheduler::cost::{ClientRateLimit, SchedulerTiming, SchedulingCost, nodes_scored};
use models::scheduler::num_feasible_nodes_to_find;
use sim_core::SimDuration;

const NODES: usize = 1000;
const PODS: usize = 5000;

/// `NODES` nodes and a burst of `PODS` bare pods created at once, with fixed control-plane
/// latencies (a write commits in 2ms, a watcher sees it 10ms later) so the expected times are
/// exact; `scheduler` is the scheduler section, if any.
fn burst(scheduler: &str) -> String {
    let mut items = String::new();
    for i in 0..PODS {
        items.push_str(&format!(
            "        - {{apiVersion: v1, kind: Pod, metadata: {{name: p{i}}}, spec: {{containers: [{{name: c, image: app, resources: {{requests: {{cpu: 10m, memory: 16Mi}}}}}}]}}}}\n"
        ));
    }
    format!(
        r#"
name: burst
duration: 5m
controlPlane: {{watchLatency: 10ms, apiLatency: 2ms}}
cluster:
  nodePools:
    - {{name: pool, count: {NODES}, resources: {{cpu: "4", memory: 16Gi}}, zones: [a, b, c]}}
workloads:
  - inline:
      apiVersion: v1
      kind: List
      items:
{items}
{scheduler}
"#
    )
}

fn load(text: &str) -> Scenario {
    load_str("burst.yaml", text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"))
}

fn run_scenario(s: &Scenario) -> RunOutcome {
    run(
        s,
        &Registry::default_plugins(),
        &RunOptions::default(),
        |_, _| {},
    )
    .unwrap_or_else(|d| panic!("{d}"))
}

/// The scheduler's client without a rate limit (client-go makes none for a negative qps), so
/// only the cycles' cost paces the burst.
const UNLIMITED_CLIENT: &str = "scheduler:\n  config: {apiVersion: kubescheduler.config.k8s.io/v1, kind: KubeSchedulerConfiguration, clientConnection: {qps: -1}}";

#[test]
fn a_burst_queues_behind_the_calibrated_scheduling_cycles() {
    let s = load(&burst(UNLIMITED_CLIENT));
    assert_eq!(s.scheduler_timing, SchedulerTiming::default());
    let o = run_scenario(&s);
    let p = &o.summary.pending_seconds;
    assert_eq!(p.count, PODS as u64);
    assert_eq!(o.summary.pods.pending, 0);
    // Every node fits every pod, so each cycle filters the adaptive share of the nodes and
    // scores them all: 1000 nodes → 42% → 420.
    let filtered = num_feasible_nodes_to_find(None, 0, NODES);
    assert_eq!(filtered, 420);
    let cycle = SchedulingCost::CALIBRATED.cycle(filtered, nodes_scored(filtered));
    assert_eq!(cycle, SimDuration::from_nanos(1_173_000));
    // The pods reach the scheduler 12ms after they are created (commit + watch); then the
    // k-th pod (1-based) is bound when k cycles have run. Nearest-rank p99 of 5000 is the
    // 4950th.
    let seen = 0.012;
    let expect_p99 = seen + 4950.0 * cycle.as_secs_f64();
    let expect_max = seen + PODS as f64 * cycle.as_secs_f64();
    let slack = cycle.as_secs_f64() + 0.001;
    assert!(
        (p.p99 - expect_p99).abs() <= slack,
        "p99 {} s, model says {expect_p99} s",
        p.p99
    );
    assert!(
        (p.max - expect_max).abs() <= slack,
        "max {} s, model says {expect_max} s",
        p.max
    );
    // About 850 pods/s: the burst takes seconds, not the instant of an idealised scheduler.
    assert!(p.max > 5.0 && p.max < 7.0, "{}", p.max);
}

#[test]
fn with_defaults_a_burst_binds_at_the_clients_50_per_second_after_the_first_100() {
    let s = load(&burst(""));
    assert_eq!(s.scheduler_timing, SchedulerTiming::default());
    let o = run_scenario(&s);
    let p = &o.summary.pending_seconds;
    assert_eq!(p.count, PODS as u64);
    assert_eq!(o.summary.pods.pending, 0);
    // The cycles (1.173 ms each) outrun the client's token bucket (QPS 50, burst 100, full at
    // the start): the k-th bind goes when its token arrives, (k − 100) × 20 ms after the
    // first pod's cycle ended (12 ms + one cycle); the pod counts as scheduled then.
    let first = 0.012 + 0.001_173;
    let expect = |k: f64| first + (k - 100.0) * 0.020;
    let slack = 0.002;
    assert!((p.p99 - expect(4950.0)).abs() <= slack, "p99 {} s", p.p99);
    assert!((p.max - expect(5000.0)).abs() <= slack, "max {} s", p.max);
    // Minutes-scale, as on a real cluster: 98 s for the last pod.
    assert!(p.max > 90.0, "{}", p.max);
    // The kubelets learn of each bind when it commits, so no pod runs before it is scheduled.
    let store = &o.simulation.world().api.store;
    for r in store.pods.iter() {
        if let (Some(s), Some(running)) = (r.scheduled_at, r.running_at) {
            assert!(
                running >= s,
                "{} ran at {running} before its bind at {s}",
                r.pod.name
            );
        }
    }
}

#[test]
fn with_the_model_at_zero_every_pod_is_scheduled_within_50ms() {
    let s = load(&burst("scheduler: {schedulingCost: 0}"));
    assert_eq!(s.scheduler_timing, SchedulerTiming::ZERO);
    let o = run_scenario(&s);
    let p = &o.summary.pending_seconds;
    assert_eq!(p.count, PODS as u64);
    assert!(p.max <= 0.050, "max {} s", p.max);
}

/// A small cluster where the figures are easy to follow: 3 nodes, 4 pods.
fn small(scheduler: &str) -> String {
    format!(
        r#"
name: small
duration: 1m
controlPlane: {{watchLatency: 0s, apiLatency: 0s}}
cluster:
  nodePools:
    - {{name: pool, count: 3, resources: {{cpu: "4", memory: 16Gi}}}}
workloads:
  - inline:
      apiVersion: apps/v1
      kind: ReplicaSet
      metadata: {{name: web}}
      spec:
        replicas: 4
        selector: {{matchLabels: {{app: web}}}}
        template:
          metadata: {{labels: {{app: web}}}}
          spec: {{containers: [{{name: c, image: web, resources: {{requests: {{cpu: 100m}}}}}}]}}
{scheduler}
"#
    )
}

#[test]
fn cycle_cost_and_binding_latency_add_up_per_pod() {
    // 3 nodes: each cycle filters and scores all 3, 1ms + 3 × 1ms + 3 × 1ms = 7ms; binding
    // adds 100ms to each pod without delaying the next cycle.
    let s = load(&small(
        "scheduler:\n  schedulingCost: {perPod: 1ms, perNodeFiltered: 1ms, perNodeScored: 1ms}\n  bindingLatency: 100ms",
    ));
    assert_eq!(
        s.scheduler_timing,
        SchedulerTiming {
            cost: SchedulingCost {
                per_pod: SimDuration::from_millis(1),
                per_node_filtered: SimDuration::from_millis(1),
                per_node_scored: SimDuration::from_millis(1),
            },
            binding_latency: SimDuration::from_millis(100),
            client: Some(ClientRateLimit::SCHEDULER_DEFAULT),
        }
    );
    let o = run_scenario(&s);
    let store = o.simulation.world().store();
    let mut times: Vec<u64> = store
        .active_pods()
        .map(|p| {
            let at = p.scheduled_at.expect("scheduled");
            at.as_nanos() - p.created_at.as_nanos()
        })
        .collect();
    times.sort_unstable();
    let ms = SimDuration::from_millis(1).as_nanos();
    assert_eq!(times, vec![107 * ms, 114 * ms, 121 * ms, 128 * ms]);
    // Same placements as the idealised scheduler: the pods took their nodes' room at the end
    // of their cycles, so later cycles saw them.
    let ideal = run_scenario(&load(&small("scheduler: {schedulingCost: 0}")));
    let nodes = |o: &RunOutcome| -> Vec<Option<u32>> {
        o.simulation
            .world()
            .store()
            .active_pods()
            .map(|p| p.node.map(|n| n.0))
            .collect()
    };
    assert_eq!(nodes(&o), nodes(&ideal));
    assert_eq!(o.summary.pods.scheduled, 4);
}

#[test]
fn timing_keys_read_alongside_a_configuration_and_partial_costs_keep_defaults() {
    let s = load(&small(
        "scheduler:\n  config: {apiVersion: kubescheduler.config.k8s.io/v1, kind: KubeSchedulerConfiguration}\n  schedulingCost: {perPod: 2ms}\n  bindingLatency: 5ms",
    ));
    assert!(s.scheduler_config.is_some());
    assert_eq!(s.scheduler_timing.cost.per_pod, SimDuration::from_millis(2));
    assert_eq!(
        s.scheduler_timing.cost.per_node_filtered,
        SchedulingCost::CALIBRATED.per_node_filtered
    );
    assert_eq!(
        s.scheduler_timing.binding_latency,
        SimDuration::from_millis(5)
    );
    let s = load(&small("scheduler: {schedulingCost: 0s}"));
    assert!(s.scheduler_config.is_none());
    assert!(s.scheduler_timing.cost.is_zero());
}

fn error(scheduler: &str) -> String {
    match load_str("bad.yaml", &small(scheduler), Path::new(".")) {
        Ok(_) => panic!("{scheduler:?} loaded"),
        Err(d) => d.to_string(),
    }
}

#[test]
fn bad_timing_values_are_located() {
    // The scheduler section starts on line 19 of `small`.
    let e = error("scheduler:\n  schedulingCost: {perPod: 1 ms}");
    assert!(e.starts_with("bad.yaml:20:"), "{e}");
    assert!(e.contains("schedulingCost.perPod"), "{e}");
    let e = error("scheduler:\n  schedulingCost: {perpod: 1ms}");
    assert!(e.starts_with("bad.yaml:20:"), "{e}");
    assert!(e.contains("perpod") && e.contains("perPod"), "{e}");
    let e = error("scheduler:\n  schedulingCost: fast");
    assert!(e.starts_with("bad.yaml:20:"), "{e}");
    assert!(e.contains("expected 0 or {perPod"), "{e}");
    let e = error("scheduler:\n  bindingLatency: -5ms");
    assert!(e.starts_with("bad.yaml:20:"), "{e}");
    assert!(e.contains("bindingLatency"), "{e}");
    let e = error("scheduler:\n  schedulingcost: 0");
    assert!(e.starts_with("bad.yaml:20:"), "{e}");
    assert!(e.contains("did you mean \"schedulingCost\""), "{e}");
}
