//! A snapshot of a real cluster, as `kubectl get nodes,pods -o yaml` prints it, replayed: the
//! pods already bound keep their nodes (and their requests count there), new pods schedule
//! around them.

use std::path::Path;

use models::run::{RunOptions, run};
use models::scenario::load_str;

const SNAPSHOT: &str = r#"
name: import
duration: 1m
cluster:
  nodes:
    - inline_placeholder
workloads:
  - inline:
      apiVersion: v1
      kind: List
      items:
        - apiVersion: v1
          kind: Node
          metadata:
            name: ip-10-0-1-17
            labels: {kubernetes.io/hostname: ip-10-0-1-17, topology.kubernetes.io/zone: eu-west-1a}
            resourceVersion: "48213"
            uid: 0b6f7c1e-6d3c-4a8e-9a59-1d2f1f0e0a11
          spec: {providerID: "aws:///eu-west-1a/i-0abc"}
          status:
            capacity: {cpu: "4", memory: 16Gi, pods: "58"}
            allocatable: {cpu: 3920m, memory: 15Gi, pods: "58"}
            conditions: [{type: Ready, status: "True"}]
        - apiVersion: v1
          kind: Node
          metadata: {name: ip-10-0-2-33, labels: {kubernetes.io/hostname: ip-10-0-2-33}}
          status:
            allocatable: {cpu: 3920m, memory: 15Gi, pods: "58"}
        - apiVersion: v1
          kind: Pod
          metadata:
            name: api-6f9c-abcde
            namespace: prod
            labels: {app: api}
            ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-6f9c, uid: x, controller: true}]
          spec:
            nodeName: ip-10-0-1-17
            containers: [{name: api, image: api:1, resources: {requests: {cpu: "3", memory: 4Gi}}}]
          status: {phase: Running, podIP: 10.0.1.5}
        - apiVersion: v1
          kind: Pod
          metadata: {name: newcomer, namespace: prod}
          spec:
            containers: [{name: c, image: c:1, resources: {requests: {cpu: "2"}}}]
"#;

#[test]
fn bound_pods_keep_their_nodes_and_new_pods_fit_around_them() {
    let text = SNAPSHOT.replace("  nodes:\n    - inline_placeholder\n", "  nodePools: []\n");
    let s = load_str("import.yaml", &text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(s.nodes.len(), 2);
    let o = run(
        &s,
        &models::policies::registry(),
        &RunOptions::default(),
        |_, _| {},
    )
    .unwrap();
    let store = &o.simulation.world().api.store;
    let node_of = |name: &str| {
        let p = store.pod(store.pod_id(name).unwrap());
        p.node.map(|n| store.node(n).name().to_string())
    };
    assert_eq!(
        node_of("prod/api-6f9c-abcde").as_deref(),
        Some("ip-10-0-1-17")
    );
    // 3920m - 3000m leaves 920m on ip-10-0-1-17: the 2-CPU newcomer must go to the other node.
    assert_eq!(node_of("prod/newcomer").as_deref(), Some("ip-10-0-2-33"));
    // Only the newcomer went through the scheduler.
    assert_eq!(o.simulation.world().api.counters.scheduling_attempts, 1);
    assert_eq!(o.summary.pods.running, 2);
}
