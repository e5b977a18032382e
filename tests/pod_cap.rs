//! The cluster's cap on pods at once holds at run time: a Deployment scaled past it by the
//! timeline gets as many pods as the cap allows, and its ReplicaSet's refused creations are
//! `FailedCreate` Events naming the cap, as a ResourceQuota's refusals are.

use std::path::Path;

use models::run::{RunOptions, build};
use models::scenario::load_str;
use models::scheduler::Registry;
use sim_core::{RunLimits, SimDuration, SimTime};

#[test]
fn a_timeline_scale_stops_at_the_pod_cap_with_failed_create_events() {
    let text = "name: cap\nduration: 10m\ncluster:\n  nodePools: [{name: general, count: 2, resources: {cpu: \"16\", memory: 64Gi}}]\n\
        workloads:\n  - inline:\n      apiVersion: apps/v1\n      kind: Deployment\n      metadata: {name: web}\n      spec:\n        replicas: 3\n        selector: {matchLabels: {app: web}}\n        template:\n          metadata: {labels: {app: web}}\n          spec:\n            containers: [{name: c, image: web:v1, resources: {requests: {cpu: 100m}}}]\n\
        timeline:\n  - {at: 1m, scale: {deployment: web, replicas: 20}}\n";
    let scenario = load_str("cap.yaml", text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    let mut sim = build(
        &scenario,
        &Registry::default_plugins(),
        &RunOptions::default(),
    )
    .unwrap_or_else(|d| panic!("{d}"));
    sim.world_mut().api.pod_cap = 8;
    sim.run(RunLimits::until(
        SimTime::ZERO + SimDuration::from_secs(300),
    ));
    let api = &sim.world().api;
    assert_eq!(api.store.live_pod_count(), 8);
    assert_eq!(api.store.active_pods().count(), 8);
    let refused: Vec<&str> = api
        .events
        .iter()
        .filter(|e| e.reason == "FailedCreate")
        .map(|e| e.message.as_str())
        .collect();
    assert!(!refused.is_empty());
    assert!(
        refused
            .iter()
            .all(|m| m.contains("is forbidden: exceeds the cluster's pod cap: 8 pods exist")),
        "{refused:?}"
    );
}
