//! Topology spread and pod anti-affinity written in real manifests, end to end through the
//! scenario loader, the controllers and the scheduler.

use std::collections::BTreeMap;
use std::path::Path;

use models::run::{RunOptions, RunOutcome, run};
use models::scenario::load_str;

fn run_text(text: &str) -> RunOutcome {
    let s = load_str("topology-test.yaml", text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    run(
        &s,
        &models::policies::registry(),
        &RunOptions::default(),
        |_, _| {},
    )
    .unwrap_or_else(|d| panic!("{d}"))
}

/// Running pods of `app` per zone label value.
fn per_zone(o: &RunOutcome, app: &str) -> BTreeMap<String, usize> {
    let store = &o.simulation.world().api.store;
    let mut zones = BTreeMap::new();
    for p in store
        .active_pods()
        .filter(|p| p.pod.labels.get("app") == Some(app))
    {
        if let Some(n) = p.node {
            let zone = store
                .node(n)
                .node
                .labels
                .get("topology.kubernetes.io/zone")
                .unwrap_or("?");
            *zones.entry(zone.to_string()).or_default() += 1;
        }
    }
    zones
}

#[test]
fn zone_spread_deployment_stays_within_max_skew_as_nodes_fill() {
    // Zone a has 3 nodes, b and c one each: without the constraint the scheduler would put
    // most replicas in zone a (more room). Each node fits 4 replicas (4 CPU / 1 CPU).
    let o = run_text(
        r#"
name: spread
duration: 2m
cluster:
  nodePools:
    - {name: a, count: 3, resources: {cpu: "4", memory: 16Gi}, zones: [zone-a]}
    - {name: b, count: 1, resources: {cpu: "4", memory: 16Gi}, zones: [zone-b]}
    - {name: c, count: 1, resources: {cpu: "4", memory: 16Gi}, zones: [zone-c]}
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 15
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec:
            topologySpreadConstraints:
              - maxSkew: 1
                topologyKey: topology.kubernetes.io/zone
                whenUnsatisfiable: DoNotSchedule
                labelSelector: {matchLabels: {app: web}}
            containers:
              - {name: web, image: web, resources: {requests: {cpu: "1", memory: 1Gi}}}
"#,
    );
    let zones = per_zone(&o, "web");
    // Zones b and c hold 4 each when full; maxSkew 1 caps zone a at 5. The other 2 stay
    // Pending, as upstream: DoNotSchedule would rather not place them than exceed the skew.
    assert_eq!(zones.values().sum::<usize>(), 13, "{zones:?}");
    let (min, max) = (zones.values().min().unwrap(), zones.values().max().unwrap());
    assert!(max - min <= 1, "skew exceeds maxSkew 1: {zones:?}");
    assert_eq!(o.summary.pods.pending, 2);
    let events = &o.simulation.world().api.events;
    assert!(
        events.iter().any(|e| e.reason == "FailedScheduling"
            && e.message
                .contains("node(s) didn't match pod topology spread constraints")),
        "the pending pods say why"
    );
}

#[test]
fn required_anti_affinity_puts_one_replica_per_node() {
    let o = run_text(
        r#"
name: anti
duration: 2m
cluster:
  nodePools:
    - {name: n, count: 3, resources: {cpu: "8", memory: 32Gi}}
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: db}
      spec:
        replicas: 4
        selector: {matchLabels: {app: db}}
        template:
          metadata: {labels: {app: db}}
          spec:
            affinity:
              podAntiAffinity:
                requiredDuringSchedulingIgnoredDuringExecution:
                  - labelSelector: {matchLabels: {app: db}}
                    topologyKey: kubernetes.io/hostname
            containers:
              - {name: db, image: db, resources: {requests: {cpu: 500m}}}
"#,
    );
    let store = &o.simulation.world().api.store;
    let per_node: Vec<usize> = store.live_nodes().map(|n| n.pods.len()).collect();
    assert_eq!(
        per_node,
        vec![1, 1, 1],
        "one db per node; the 4th cannot be placed"
    );
    assert_eq!(o.summary.pods.pending, 1);
}

#[test]
fn bad_spread_constraint_is_located() {
    let text = r#"
name: bad
cluster:
  nodePools: [{name: n, count: 1, resources: {cpu: "1", memory: 1Gi}}]
workloads:
  - inline:
      apiVersion: v1
      kind: Pod
      metadata: {name: p}
      spec:
        topologySpreadConstraints:
          - {maxSkew: 0, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}
        containers: [{name: c, image: c}]
"#;
    let err = load_str("topology-test.yaml", text, Path::new(".")).unwrap_err();
    let line = text.lines().position(|l| l.contains("maxSkew: 0")).unwrap() + 1;
    assert_eq!(err.line, line, "{err}");
    assert!(err.message.contains("maxSkew"), "{err}");
}
