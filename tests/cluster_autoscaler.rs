//! The cluster autoscaler end to end, through the library's public path (scenario YAML →
//! simulation): pending pods trigger a scale-up of the autoscaled pool; the nodes register
//! after the provisioning delay and the pods schedule; when the Deployment scales down the
//! emptied nodes are removed after `scaleDownUnneededTime`, never below the pool's min; a pod
//! that fits no template gets `NotTriggerScaleUp`; a PodDisruptionBudget keeps a node.

use std::path::Path;

use models::cluster::Cluster;
use models::run::{RunOptions, build};
use models::scenario::load_str;
use models::scheduler::Registry;
use sim_core::{RunLimits, SimDuration, SimTime, Simulation};

const BURST: &str = r#"
name: autoscale
seed: 5
duration: 1h
cluster:
  nodePools:
    - name: base
      count: 1
      resources: {cpu: "4", memory: 16Gi, pods: 110}
    - name: burst
      count: 1
      costPerHour: 0.40
      resources: {cpu: "4", memory: 16Gi, pods: 110}
      autoscaling: {min: 1, max: 5, provisioningDelay: 90s..180s}
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 16
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec: {containers: [{name: c, image: web:v1, resources: {requests: {cpu: "1", memory: 1Gi}}}]}
  - inline:
      apiVersion: v1
      kind: Pod
      metadata: {name: giant}
      spec: {containers: [{name: c, image: giant:v1, resources: {requests: {cpu: "16"}}}]}
timeline:
  - {at: 10m, scale: {deployment: web, replicas: 2}}
"#;

fn simulate(yaml: &str) -> Simulation<Cluster> {
    let s = load_str("autoscale.yaml", yaml, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    build(&s, &Registry::default_plugins(), &RunOptions::default())
        .unwrap_or_else(|d| panic!("{d}"))
}

fn at(secs: u64) -> SimTime {
    SimTime::ZERO.saturating_add(SimDuration::from_secs(secs))
}

fn nodes_in(c: &Cluster, pool: &str) -> usize {
    c.api
        .store
        .live_nodes()
        .filter(|n| n.node.pool.as_deref() == Some(pool))
        .count()
}

fn events<'a>(c: &'a Cluster, reason: &str) -> Vec<&'a models::events::EventRecord> {
    c.api.events.iter().filter(|e| e.reason == reason).collect()
}

#[test]
fn pending_pods_scale_the_pool_up_and_empty_nodes_go_after_ten_minutes() {
    let mut sim = simulate(BURST);
    // 16 one-cpu pods: 8 fit on base-0 and burst-0, 8 wait; the first loop (10s) asks for
    // two more burst nodes.
    sim.run(RunLimits::until(at(15)));
    let c = sim.world();
    let triggered = events(c, "TriggeredScaleUp");
    assert_eq!(triggered.len(), 8, "{triggered:#?}");
    assert!(
        triggered
            .iter()
            .all(|e| e.message == "pod triggered scale-up: [{burst 1->3 (max: 5)}]"),
        "{triggered:#?}"
    );
    assert_eq!(nodes_in(c, "burst"), 1);
    // The nodes register 90s..180s after the scale-up and the pods schedule there.
    sim.run(RunLimits::until(at(80)));
    let c = sim.world();
    assert_eq!(nodes_in(c, "burst"), 1);
    // The giant fits no template. The loop that scaled up says nothing about the pods it
    // left (upstream emits NotTriggerScaleUp only after a loop without a scale-up); the next
    // loops, whose waiting web pods fit the upcoming nodes, do.
    let not = events(c, "NotTriggerScaleUp");
    assert!(!not.is_empty());
    assert!(
        not.iter().all(|e| e.object == "pod/giant"
            && e.message == "pod didn't trigger scale-up: 1 Insufficient cpu"
            && e.time() >= at(20)),
        "{not:#?}"
    );
    sim.run(RunLimits::until(at(5 * 60)));
    let c = sim.world();
    assert_eq!(nodes_in(c, "burst"), 3);
    let registered: Vec<SimTime> = events(c, "RegisteredNode")
        .iter()
        .map(|e| e.time())
        .collect();
    assert_eq!(registered.len(), 2);
    assert!(
        registered.iter().all(|t| *t >= at(100) && *t <= at(190)),
        "{registered:?}"
    );
    let web_pending = c
        .api
        .store
        .active_pods()
        .filter(|r| r.pod.name.starts_with("web") && r.node.is_none())
        .count();
    assert_eq!(web_pending, 0);
    assert_eq!(c.autoscaler.stats.nodes_added, 2);

    // At 10m web goes down to 2 pods; the emptied burst nodes are unneeded from then and go
    // 10 minutes later, down to the pool's min of 1.
    sim.run(RunLimits::until(at(19 * 60)));
    assert_eq!(nodes_in(sim.world(), "burst"), 3);
    sim.run(RunLimits::until(at(40 * 60)));
    let c = sim.world();
    assert_eq!(nodes_in(c, "burst"), 1);
    assert_eq!(nodes_in(c, "base"), 1);
    let removed: Vec<_> = events(c, "ScaleDown")
        .into_iter()
        .filter(|e| e.message == "nodes removed by cluster autoscaler")
        .collect();
    assert_eq!(removed.len(), 2, "{removed:#?}");
    assert!(
        removed.iter().all(|e| e.time() >= at(20 * 60)),
        "{removed:#?}"
    );
    let status: Vec<_> = c
        .api
        .events
        .iter()
        .filter(|e| {
            e.object == "configmap/cluster-autoscaler-status" && e.reason.starts_with("ScaleDown")
        })
        .map(|e| e.message.as_str())
        .collect();
    assert!(!status.is_empty());
    assert_eq!(c.autoscaler.stats.nodes_removed, 2);
}

const GUARDED: &str = r#"
name: guarded
seed: 2
duration: 1h
cluster:
  nodePools:
    - name: base
      count: 1
      resources: {cpu: "4", memory: 16Gi, pods: 110}
    - name: burst
      count: 0
      resources: {cpu: "4", memory: 16Gi, pods: 110}
      autoscaling: {min: 0, max: 3, provisioningDelay: 60s}
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: filler}
      spec:
        replicas: 4
        selector: {matchLabels: {app: filler}}
        template:
          metadata: {labels: {app: filler}}
          spec: {containers: [{name: c, image: filler:v1, resources: {requests: {cpu: "1"}}}]}
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: guarded}
      spec:
        replicas: 1
        selector: {matchLabels: {app: guarded}}
        template:
          metadata: {labels: {app: guarded}}
          spec: {containers: [{name: c, image: guarded:v1, resources: {requests: {cpu: 500m}}}]}
PDB
timeline:
  - {at: 5m, scale: {deployment: filler, replicas: 0}}
"#;

const PDB: &str = r#"  - inline:
      apiVersion: policy/v1
      kind: PodDisruptionBudget
      metadata: {name: guarded}
      spec:
        maxUnavailable: 0
        selector: {matchLabels: {app: guarded}}"#;

#[test]
fn a_pdb_keeps_a_node_that_could_otherwise_be_drained() {
    // Without the budget: the guarded pod could move to base-0 once the filler is gone, so
    // its node is drained (ScaleDown with drain) 10 minutes after the scale-up.
    let mut sim = simulate(&GUARDED.replace("PDB\n", ""));
    sim.run(RunLimits::until(at(40 * 60)));
    let c = sim.world();
    assert_eq!(c.autoscaler.stats.scale_ups, 1);
    assert_eq!(nodes_in(c, "burst"), 0);
    assert!(
        c.api.events.iter().any(|e| e.reason == "ScaleDown"
            && e.message == "Scale-down: node burst-0 removed with drain"),
        "{:#?}",
        events(c, "ScaleDown")
    );

    let mut sim = simulate(&GUARDED.replace("PDB", PDB));
    sim.run(RunLimits::until(at(40 * 60)));
    let c = sim.world();
    assert_eq!(c.autoscaler.stats.scale_ups, 1);
    assert_eq!(nodes_in(c, "burst"), 1);
    assert_eq!(c.autoscaler.stats.nodes_removed, 0);
}

#[test]
fn without_autoscaling_nothing_is_scheduled() {
    let yaml = BURST.replace(
        "      autoscaling: {min: 1, max: 5, provisioningDelay: 90s..180s}\n",
        "",
    );
    let mut sim = simulate(&yaml);
    sim.run(RunLimits::until(at(30 * 60)));
    let c = sim.world();
    assert!(!c.autoscaler.is_active());
    assert!(events(c, "TriggeredScaleUp").is_empty());
    assert_eq!(nodes_in(c, "burst"), 1);
}

#[test]
fn a_bad_autoscaling_key_is_located_with_a_fix() {
    let yaml = BURST.replace("{min: 1, max: 5,", "{min: 7, max: 5,");
    let err = load_str("autoscale.yaml", &yaml, Path::new(".")).expect_err("min > max");
    let text = err.to_string();
    assert!(text.contains("autoscale.yaml:"), "{text}");
    assert!(
        text.contains("min (7) is larger than max (5) (raise max or lower min)"),
        "{text}"
    );
    let yaml = format!("{BURST}clusterAutoscaler: {{expander: cheapest}}\n");
    let text = load_str("autoscale.yaml", &yaml, Path::new("."))
        .expect_err("unknown expander")
        .to_string();
    assert!(text.contains("unknown expander \"cheapest\""), "{text}");
}
