//! Failure injection through the public path (scenario text → run): what each fault verb does
//! to the machines and pods it targets, stochastic faults drawn from the `faults` stream, and
//! the located errors of bad fault entries.

use std::path::Path;

use models::api::PodPhase;
use models::run::{RunOptions, RunOutcome, run};
use models::scenario::load_str;
use models::scheduler::Registry;

const CLUSTER: &str = r#"
name: faults-test
seed: 7
duration: 40m
cluster:
  nodePools:
    - name: general
      count: 4
      resources: {cpu: "8", memory: 32Gi, pods: 110}
      zones: [zone-a, zone-b]
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 6
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec: {containers: [{name: app, image: web:1, resources: {requests: {cpu: 500m}}}]}
"#;

fn scenario(extra: &str) -> models::scenario::Scenario {
    let text = format!("{CLUSTER}{extra}");
    load_str("faults-test.yaml", &text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"))
}

fn run_scenario(s: &models::scenario::Scenario) -> RunOutcome {
    let options = RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    };
    let o =
        run(s, &Registry::default_plugins(), &options, |_, _| {}).unwrap_or_else(|d| panic!("{d}"));
    let checkers = o.simulation.world().checkers.as_ref().expect("checkers on");
    assert!(
        checkers.violations.is_empty(),
        "{:#?}",
        &checkers.violations[..checkers.violations.len().min(5)]
    );
    o
}

fn events<'a>(o: &'a RunOutcome, reason: &str) -> Vec<&'a models::events::EventRecord> {
    o.simulation
        .world()
        .api
        .events
        .iter()
        .filter(|e| e.reason == reason)
        .collect()
}

/// Pods running and not being deleted.
fn running_pods(world: &models::cluster::Cluster) -> usize {
    world
        .api
        .store
        .active_pods()
        .filter(|r| r.phase == PodPhase::Running && r.deletion_timestamp.is_none())
        .count()
}

fn load_err(extra: &str) -> String {
    let text = format!("{CLUSTER}{extra}");
    match load_str("faults-test.yaml", &text, Path::new(".")) {
        Ok(_) => panic!("loaded:\n{extra}"),
        Err(d) => d.to_string(),
    }
}

#[test]
fn a_crashed_node_boots_after_recover_after_and_its_pods_restart() {
    let o = run_scenario(&scenario(
        "timeline:\n  - {at: 2m, crashNodes: {node: general-0, recoverAfter: 10m}}\n",
    ));
    let world = o.simulation.world();
    let injected = events(&o, "FaultInjected");
    assert_eq!(injected.len(), 1);
    assert_eq!(injected[0].object, "node/general-0");
    assert_eq!(injected[0].time_ns, 120_000_000_000);
    let starting = events(&o, "Starting");
    assert_eq!(starting.len(), 1, "the kubelet starts again once");
    assert_eq!(starting[0].time_ns, 720_000_000_000);
    assert!(!world.kubelets.node(models::api::NodeId(0)).down);
    assert_eq!(world.faults.record.node_down_ns, 600_000_000_000);
    // The pods on the node were still there (no node lifecycle controller acted before 5m
    // + 300s? whatever it did, every pod bound to general-0 that survived restarted once).
    for r in world.api.store.active_pods() {
        if r.node == Some(models::api::NodeId(0)) && r.deletion_timestamp.is_none() {
            assert!(
                r.restarts >= 1,
                "{} did not restart after the reboot",
                r.pod.name
            );
        }
    }
}

#[test]
fn kill_pods_and_crash_containers_take_the_count_asked_for() {
    let o = run_scenario(&scenario(
        "timeline:\n  - {at: 3m, killPods: {deployment: web, count: 2}}\n  - {at: 6m, crashContainers: {selector: {app: web}, count: 3}}\n",
    ));
    let world = o.simulation.world();
    assert_eq!(world.faults.record.pods_killed, 2);
    assert_eq!(world.faults.record.containers_crashed, 3);
    // A first crash restarts at once (upstream's back-off starts with the second).
    assert!(events(&o, "BackOff").is_empty());
    let restarted = world
        .api
        .store
        .active_pods()
        .filter(|r| r.restarts == 1)
        .count();
    assert_eq!(restarted, 3);
    // The Deployment replaced the killed pods: six run at the end.
    assert_eq!(running_pods(world), 6);
}

#[test]
fn crash_containers_at_a_rate_stops_when_the_fault_ends() {
    let o = run_scenario(&scenario(
        "timeline:\n  - {at: 1m, crashContainers: {deployment: web, rate: 60/h, for: 20m}}\n",
    ));
    let world = o.simulation.world();
    let crashes = world.faults.record.containers_crashed;
    // A Poisson process of 60/h over 20 minutes: 20 expected; far outside [5, 45] is a bug.
    assert!((5..=45).contains(&crashes), "{crashes} crashes");
    let last = events(&o, "FaultInjected")
        .last()
        .map(|e| e.time_ns)
        .unwrap();
    assert!(
        last <= 21 * 60 * 1_000_000_000,
        "a crash after the fault ended: {last}"
    );
}

#[test]
fn a_zone_outage_takes_every_node_of_the_zone_and_heal_brings_them_back() {
    let o = run_scenario(&scenario(
        "timeline:\n  - {at: 5m, zoneOutage: {zone: zone-b}}\n  - {at: 15m, heal: {}}\n",
    ));
    let injected: Vec<String> = events(&o, "FaultInjected")
        .iter()
        .map(|e| e.object.clone())
        .collect();
    assert_eq!(injected, ["node/general-1", "node/general-3"]);
    let world = o.simulation.world();
    assert_eq!(events(&o, "Starting").len(), 2);
    assert_eq!(world.faults.record.node_down_ns, 2 * 600_000_000_000);
    assert!(world.faults.instances.iter().all(|i| i.ended.is_some()));
}

#[test]
fn a_partitioned_node_stops_renewing_its_lease_and_renews_again_after() {
    let o = run_scenario(&scenario(
        "timeline:\n  - {at: 4m, partition: {node: general-2, for: 3m}}\n",
    ));
    let world = o.simulation.world();
    let lease = world.api.leases.get(models::api::NodeId(2));
    assert!(lease.is_renewing());
    let end = sim_core::SimTime::from_secs(40 * 60);
    // Renewals restarted at 7m, every 10 s since.
    assert_eq!(
        lease.renew_time(end),
        Some(sim_core::SimTime::from_secs(40 * 60))
    );
    assert!(!world.kubelets.node(models::api::NodeId(2)).partitioned);
}

#[test]
fn stochastic_faults_strike_reproducibly_and_only_until_heal() {
    let text = "faults:\n  - rebootNodes: {pool: general}\n    mtbf: {exponential: 20m}\n    mttr: 1m\ntimeline:\n  - {at: 30m, heal: {}}\n";
    let a = run_scenario(&scenario(text));
    let b = run_scenario(&scenario(text));
    assert_eq!(a.summary.digest, b.summary.digest);
    let strikes = events(&a, "FaultInjected");
    // Four nodes failing every 20 minutes on average for 30 minutes: 6 expected.
    assert!(
        !strikes.is_empty() && strikes.len() < 20,
        "{} strikes",
        strikes.len()
    );
    assert!(strikes.iter().all(|e| e.time_ns < 30 * 60 * 1_000_000_000));
    let mut other = scenario(text);
    other.seed += 1;
    let c = run_scenario(&other);
    let times = |o: &RunOutcome| -> Vec<u64> {
        events(o, "FaultInjected")
            .iter()
            .map(|e| e.time_ns)
            .collect()
    };
    assert_ne!(times(&a), times(&c), "another seed, other failures");
}

#[test]
fn reclaimed_spot_nodes_are_drained_then_go() {
    let o = run_scenario(&scenario(
        "timeline:\n  - {at: 5m, reclaimSpot: {node: general-1, notice: 90s}}\n",
    ));
    let world = o.simulation.world();
    assert_eq!(events(&o, "SpotInterruption").len(), 1);
    let node = world.api.store.node(models::api::NodeId(1));
    assert!(!node.exists, "the reclaimed node's Node object is deleted");
    assert!(
        world
            .api
            .store
            .active_pods()
            .all(|r| r.node != Some(models::api::NodeId(1)))
    );
    assert_eq!(running_pods(world), 6);
}

#[test]
fn bad_fault_entries_are_located_with_the_fix() {
    let e = load_err("timeline:\n  - {at: 1m, zoneOutage: {for: 1h}}\n");
    assert!(
        e.contains("faults-test.yaml:") && e.contains("zoneOutage needs `zone:`"),
        "{e}"
    );
    let e = load_err("timeline:\n  - {at: 1m, crashNodes: {pool: genral}}\n");
    assert!(
        e.contains("no node pool named \"genral\"") && e.contains("general"),
        "{e}"
    );
    let e = load_err("timeline:\n  - {at: 1m, crashNodes: {node: general-9}}\n");
    assert!(e.contains("no node named \"general-9\""), "{e}");
    let e = load_err("timeline:\n  - {at: 1m, killPods: {deployment: wbe}}\n");
    assert!(e.contains("wbe") && e.contains("web"), "{e}");
    let e = load_err("timeline:\n  - {at: 1m, crashNodes: {pool: general, recoverafter: 5m}}\n");
    assert!(
        e.contains("not `recoverafter`") && e.contains("recoverAfter"),
        "{e}"
    );
    let e = load_err("timeline:\n  - {at: 1m, crashNodes: {pool: general, percent: 150}}\n");
    assert!(
        e.contains("percent must be more than 0 and at most 100"),
        "{e}"
    );
    let e = load_err("timeline:\n  - {at: 1m, crashContainers: {deployment: web, rate: fast}}\n");
    assert!(e.contains("rate is crashes per hour"), "{e}");
    let e = load_err("faults:\n  - crashNodes: {pool: general}\n    mtbf: 1h\n");
    assert!(e.contains("needs `mtbf:`") && e.contains("`mttr:`"), "{e}");
    let e = load_err(
        "faults:\n  - crashNodes: {pool: general}\n    mtbf: {weibull: {shape: -1, scale: 1h}}\n    mttr: 1m\n",
    );
    assert!(e.contains("Weibull shape"), "{e}");
    let e = load_err("faults:\n  - heal: {}\n    mtbf: 1h\n    mttr: 1m\n");
    assert!(e.contains("heal cannot be stochastic"), "{e}");
    let e = load_err("timeline:\n  - {at: 1m, schedulerOutage: {replicas: some}}\n");
    assert!(e.contains("replicas is `leader`"), "{e}");
    // Each error names its line.
    let e = load_err("timeline:\n  - {at: 1m, zoneOutage: {for: 1h}}\n");
    let line = CLUSTER.lines().count() + 2;
    assert!(e.contains(&format!("faults-test.yaml:{line}:")), "{e}");
}

#[test]
fn stochastic_pod_and_control_plane_faults_strike_as_processes() {
    // killPods over a Deployment as a process (one pod per strike), and API-server outages
    // of a fixed 30 s: both recur for the whole run.
    let o = run_scenario(&scenario(
        "faults:\n  - killPods: {deployment: web}\n    mtbf: {exponential: 5m}\n    mttr: 1s\n  - apiServerOutage: {}\n    mtbf: {exponential: 10m}\n    mttr: 30s\n    until: 35m\n",
    ));
    let world = o.simulation.world();
    let f = &world.faults.record;
    let kills = f.started.get("killPods").copied().unwrap_or(0);
    let outages = f.started.get("apiServerOutage").copied().unwrap_or(0);
    // 40 minutes: about 8 kills and 4 outages expected.
    assert!((2..=20).contains(&kills), "{kills} kills");
    assert!((1..=10).contains(&outages), "{outages} outages");
    // One pod per strike, except a strike during an API-server outage: pod-kill goes through
    // the API server, which refuses it.
    assert!(
        f.pods_killed <= kills && f.pods_killed + outages >= kills,
        "{} killed of {kills}",
        f.pods_killed
    );
    assert!(
        world.api.counters.rejected_writes > 0,
        "writes refused during the outages"
    );
    assert!(world.api.is_available(), "every outage ended");
    // The Deployment is back to six running pods at the end.
    assert_eq!(running_pods(world), 6);
}
