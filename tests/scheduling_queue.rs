//! The scheduling queue as a user sees it: unschedulable pods come back when the cluster
//! changes (upstream's cluster events), not only on the periodic leftover flush.

use std::path::Path;

use models::run::{RunOptions, RunOutcome, run};
use models::scenario::load_str;
use models::scheduler::Registry;
use sim_core::{SimDuration, SimTime};

fn run_text(text: &str) -> RunOutcome {
    let s = load_str("queue-test.yaml", text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    run(
        &s,
        &Registry::default_plugins(),
        &RunOptions::default(),
        |_, _| {},
    )
    .unwrap_or_else(|d| panic!("{d}"))
}

const CLUSTER: &str = r#"
name: queue
seed: 5
duration: 4m
controlPlane: {watchLatency: 50ms, apiLatency: 0s}   # fixed, for exact times below
scheduler: {schedulingCost: 0}                         # idealised: the times below are upstream queue arithmetic
cluster:
  nodePools:
    - {name: small, count: 1, resources: {cpu: "2", memory: 8Gi}}
    - {name: big, count: 0, resources: {cpu: "8", memory: 32Gi}}
workloads:
  - inline:
      apiVersion: v1
      kind: Pod
      metadata: {name: wide}
      spec:
        containers:
          - {name: c, image: x, resources: {requests: {cpu: "3"}}}
"#;

fn wide_pod(o: &RunOutcome) -> &models::store::PodRecord {
    let store = &o.simulation.world().api.store;
    store.pod(store.pod_id("wide").expect("pod wide"))
}

#[test]
fn a_node_joining_retries_the_unschedulable_pod_at_once() {
    let o = run_text(&format!(
        "{CLUSTER}timeline:\n  - {{at: 1m, addNodes: {{pool: big, count: 1}}}}\n"
    ));
    let pod = wide_pod(&o);
    let node = pod
        .node
        .map(|n| o.simulation.world().api.store.node(n).name().to_string());
    assert_eq!(node.as_deref(), Some("big-0"));
    // The node registers at 1m, the informer sees it 50 ms later, the 1 s backoff of the one
    // failed attempt (at 50 ms) has long expired: the pod is scheduled at 1m + 50 ms.
    let at = pod.scheduled_at.unwrap();
    assert_eq!(
        at,
        SimTime::ZERO.saturating_add(SimDuration::from_millis(60_050))
    );
    let events = &o.simulation.world().api.events;
    assert!(
        events
            .iter()
            .any(|e| e.reason == "RegisteredNode" && e.object == "node/big-0")
    );
}

#[test]
fn without_a_cluster_change_the_pod_waits_for_the_five_minute_flush() {
    let o = run_text(CLUSTER);
    assert!(wide_pod(&o).node.is_none());
    // One attempt at 50 ms; the leftover flush retries only pods unschedulable for > 5 min,
    // and the scenario lasts 4 min.
    assert_eq!(o.simulation.world().api.counters.scheduling_attempts, 1);
}

#[test]
fn timeline_errors_are_located() {
    let text = format!("{CLUSTER}timeline:\n  - {{at: 1m, addNodes: {{pool: huge, count: 1}}}}\n");
    let err = load_str("queue-test.yaml", &text, Path::new(".")).unwrap_err();
    let line = text.lines().position(|l| l.contains("pool: huge")).unwrap() + 1;
    assert_eq!((err.file.as_str(), err.line), ("queue-test.yaml", line));
    assert!(
        err.message.contains("no node pool named \"huge\""),
        "{}",
        err.message
    );
}
