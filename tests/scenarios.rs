//! Golden scenarios: every scenario in `scenarios/` runs with its fixed seed, the lesson it
//! teaches is checked on the result, and its digest must match the recorded one in
//! `tests/golden/digests.txt` (re-record with `KUBESIM_BLESS=1 cargo test --test integration -- scenarios::`
//! after an intended behaviour change, and say why in the commit).

use crate::golden;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use models::run::{RunOptions, RunOutcome, run};
use models::scenario;
use models::scheduler::Registry;

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn run_scenario(file: &str) -> RunOutcome {
    let path = scenarios_dir().join(file);
    let s = scenario::load(&path).unwrap_or_else(|d| panic!("{d}"));
    run(
        &s,
        &Registry::default_plugins(),
        &RunOptions::default(),
        |_, _| {},
    )
    .unwrap_or_else(|d| panic!("{d}"))
}

/// Pods per node name, for placement lessons.
fn pods_per_node(outcome: &RunOutcome) -> BTreeMap<String, usize> {
    let store = &outcome.simulation.world().api.store;
    store
        .live_nodes()
        .map(|n| (n.name().to_string(), n.pods.len()))
        .collect()
}

fn pod_nodes_with_prefix(outcome: &RunOutcome, prefix: &str) -> Vec<Option<String>> {
    let store = &outcome.simulation.world().api.store;
    store
        .active_pods()
        .filter(|p| p.pod.name.starts_with(prefix))
        .map(|p| p.node.map(|n| store.node(n).name().to_string()))
        .collect()
}

#[test]
fn quickstart_places_every_shop_pod_and_runs_them() {
    let o = run_scenario("quickstart.yaml");
    let pods = &o.summary.pods;
    // shop.yaml: 3+2+3+2+2+2+1+1+1+1+1 = 19 replicas, each well under a 4-CPU node.
    assert_eq!(pods.total, 19);
    assert_eq!((pods.scheduled, pods.running, pods.pending), (19, 19, 0));
    // The 11 ServiceAccounts are accepted and listed; the 11 Services are simulated.
    assert_eq!(
        o.summary.ignored_objects.len(),
        11,
        "{:?}",
        o.summary.ignored_objects
    );
}

#[test]
fn spreading_puts_two_workers_on_each_node() {
    let o = run_scenario("spreading.yaml");
    let per_node = pods_per_node(&o);
    assert_eq!(per_node.len(), 6);
    assert!(
        per_node.values().all(|&n| n == 2),
        "LeastAllocated spreads evenly: {per_node:?}"
    );
}

#[test]
fn bin_packing_fills_three_nodes_and_leaves_three_empty() {
    let o = run_scenario("bin-packing.yaml");
    let mut counts: Vec<usize> = pods_per_node(&o).into_values().collect();
    counts.sort_unstable();
    assert_eq!(
        counts,
        vec![0, 0, 0, 4, 4, 4],
        "MostAllocated packs 4 × 1-CPU workers per 4-CPU node"
    );
}

#[test]
fn gpu_taint_keeps_web_pods_on_the_cpu_pool() {
    let o = run_scenario("gpu-taints.yaml");
    let web = pod_nodes_with_prefix(&o, "web-");
    assert_eq!(web.len(), 6);
    assert!(
        web.iter()
            .all(|n| n.as_deref().is_some_and(|n| n.starts_with("cpu-"))),
        "{web:?}"
    );
    let trainers = pod_nodes_with_prefix(&o, "trainer-");
    assert_eq!(trainers.len(), 3);
    assert!(
        trainers
            .iter()
            .all(|n| n.as_deref().is_some_and(|n| n.starts_with("gpu-"))),
        "{trainers:?}"
    );
    // 4 GPUs per node, 2 per trainer: two trainers on one node, one on the other.
    let gpu_pool = o.summary.pools.iter().find(|p| p.pool == "gpu").unwrap();
    let gpus = gpu_pool
        .resources
        .iter()
        .find(|r| r.resource == "nvidia.com/gpu")
        .unwrap();
    assert_eq!((gpus.requested, gpus.allocatable), (6, 8));
}

#[test]
fn does_not_fit_leaves_pods_pending_with_the_upstream_message() {
    let o = run_scenario("does-not-fit.yaml");
    assert_eq!(
        o.summary.pods.pending, 3,
        "two analytics pods and the cache pod"
    );
    let events = &o.simulation.world().api.events;
    let analytics = events
        .iter()
        .find(|e| e.reason == "FailedScheduling" && e.object.starts_with("pod/analytics-"))
        .expect("a FailedScheduling event for analytics");
    assert_eq!(
        analytics.message,
        // Then DefaultPreemption's message, as upstream (requests above the nodes' allocatable
        // are UnschedulableAndUnresolvable: no preemption candidate).
        "0/4 nodes are available: 1 node(s) were unschedulable, 3 Insufficient cpu. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling."
    );
    let cache = events
        .iter()
        .find(|e| e.reason == "FailedScheduling" && e.object == "pod/cache")
        .unwrap();
    assert_eq!(
        cache.message,
        "0/4 nodes are available: 1 node(s) were unschedulable, 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling."
    );
}

#[test]
fn every_scenario_matches_its_recorded_digest() {
    golden::check_every_scenario("digests.txt", "scenarios", |f| {
        let o = run_scenario(f);
        format!(
            "{} seed={} scheduled={} pending={}",
            o.summary.digest, o.summary.seed, o.summary.pods.scheduled, o.summary.pods.pending
        )
    });
}
