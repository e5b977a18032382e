//! Several scheduler profiles in one KubeSchedulerConfiguration, chosen per pod by
//! `spec.schedulerName`, as kube-scheduler does.

use std::collections::BTreeMap;
use std::path::Path;

use models::run::{RunOptions, run};
use models::scenario::load_str;

const SCENARIO: &str = r#"
name: profiles
duration: 1m
cluster:
  nodePools:
    - {name: n, count: 4, resources: {cpu: "4", memory: 16Gi}}
scheduler:
  config:
    apiVersion: kubescheduler.config.k8s.io/v1
    kind: KubeSchedulerConfiguration
    profiles:
      - schedulerName: default-scheduler
      - schedulerName: bin-packer
        plugins:
          score:
            disabled: [{name: NodeResourcesBalancedAllocation}]
        pluginConfig:
          - name: PodTopologySpread
            args: {defaultingType: List, defaultConstraints: []}
          - name: NodeResourcesFit
            args: {scoringStrategy: {type: MostAllocated}}
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: packed}
      spec:
        replicas: 4
        selector: {matchLabels: {app: packed}}
        template:
          metadata: {labels: {app: packed}}
          spec:
            schedulerName: bin-packer
            containers: [{name: c, image: c, resources: {requests: {cpu: "1"}}}]
  - inline:
      apiVersion: v1
      kind: Pod
      metadata: {name: orphan}
      spec:
        schedulerName: no-such-scheduler
        containers: [{name: c, image: c}]
"#;

#[test]
fn each_pod_is_scheduled_by_the_profile_it_names() {
    let s = load_str("profiles.yaml", SCENARIO, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    let o = run(
        &s,
        &models::policies::registry(),
        &RunOptions::default(),
        |_, _| {},
    )
    .unwrap();
    let store = &o.simulation.world().api.store;
    let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
    for p in store
        .active_pods()
        .filter(|p| p.pod.labels.get("app") == Some("packed"))
    {
        *per_node
            .entry(store.node(p.node.expect("bound")).name().to_string())
            .or_default() += 1;
    }
    // The bin-packer profile (MostAllocated) puts all four 1-CPU pods on one 4-CPU node; the
    // default profile would have spread them one per node.
    assert_eq!(
        per_node.values().copied().collect::<Vec<_>>(),
        vec![4],
        "{per_node:?}"
    );

    // No profile claims the orphan: it stays Pending and is never attempted, as upstream.
    let orphan = store.pod(store.pod_id("orphan").unwrap());
    assert!(orphan.node.is_none());
    assert_eq!(o.simulation.world().api.counters.scheduling_attempts, 4);
    assert!(
        o.simulation
            .world()
            .api
            .events
            .iter()
            .any(|e| e.object == "pod/orphan" && e.reason == "NoScheduler")
    );
}
