//! The HA control plane end to end: leader election of kube-scheduler and
//! kube-controller-manager, outages of either and of the API server driven through the
//! cluster's fault entry points, and the scenario's expectations.

use std::path::Path;

use models::cluster::{Cluster, Event};
use models::controlplane::{Component, ControlPlaneEvent, ControlPlaneFault, Outage};
use models::run::{RunOptions, build, run};
use models::scenario::{Scenario, load_str};
use models::scheduler::Registry;
use sim_core::{RunLimits, SimDuration, SimTime, Simulation};

fn at(s: u64) -> SimTime {
    SimTime::ZERO.saturating_add(SimDuration::from_secs(s))
}

fn options() -> RunOptions {
    RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    }
}

fn load(text: &str) -> Scenario {
    load_str("ha.yaml", text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"))
}

fn sim(text: &str) -> Simulation<Cluster> {
    build(&load(text), &Registry::default_plugins(), &options()).unwrap_or_else(|d| panic!("{d}"))
}

fn scenario(replicas: u8, extra: &str) -> String {
    format!(
        r#"
name: ha
duration: 10m
cluster:
  nodePools: [{{name: general, count: 2, resources: {{cpu: "8", memory: 32Gi}}}}]
controlPlane:
  scheduler: {{replicas: {replicas}}}
  controllerManager: {{replicas: {replicas}}}
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {{name: web}}
      spec:
        replicas: 2
        selector: {{matchLabels: {{app: web}}}}
        template:
          metadata: {{labels: {{app: web}}}}
          spec: {{containers: [{{name: c, image: web:v1}}]}}
{extra}"#
    )
}

fn leader_events(c: &Cluster, lease: &str) -> Vec<(SimTime, String)> {
    c.api
        .events
        .iter()
        .filter(|e| e.reason == "LeaderElection" && e.object == format!("lease/{lease}"))
        .map(|e| (SimTime::from_nanos(e.time_ns), e.message.clone()))
        .collect()
}

fn pod_bound_at(c: &Cluster, name: &str) -> Option<SimTime> {
    let id = c.api.store.pod_id(name)?;
    c.api.store.pod(id).scheduled_at
}

fn assert_no_violations(c: &Cluster) {
    let checkers = c.checkers.as_ref().expect("checkers enabled");
    assert!(checkers.violations.is_empty(), "{:#?}", checkers.violations);
}

#[test]
fn a_standby_scheduler_takes_over_after_the_lease_expires_and_scheduling_resumes() {
    let text = scenario(
        3,
        "  - at: 62s\n    inline: {apiVersion: v1, kind: Pod, metadata: {name: late}, spec: {containers: [{name: c, image: x}]}}\n",
    );
    let mut s = sim(&text);
    s.run(RunLimits::until(at(60)));
    assert!(leader_events(s.world(), "kube-scheduler").is_empty());
    s.with_context(|c, ctx| c.scheduler_outage(ctx, Outage::Leader));
    assert!(!s.world().control_plane.scheduler.has_leader());
    s.run(RunLimits::until(at(70)));
    assert_eq!(pod_bound_at(s.world(), "late"), None, "no scheduler leads");
    s.run(RunLimits::until(at(120)));
    let c = s.world();
    let events = leader_events(c, "kube-scheduler");
    assert_eq!(events.len(), 1, "{events:?}");
    let (elected, message) = &events[0];
    assert!(message.ends_with(" became leader"), "{message}");
    assert!(
        !message.starts_with("control-plane-0_"),
        "a standby: {message}"
    );
    // It last saw a renewal within one jittered retry of the kill; it takes the Lease one
    // lease duration later, at its next retry.
    assert!(*elected >= at(70) && *elected <= at(80), "{elected}");
    let bound = pod_bound_at(c, "late").expect("scheduled once a leader was elected");
    assert!(bound >= *elected && bound < *elected + SimDuration::from_secs(1));
    assert_eq!(c.control_plane.scheduler.lease.leader_transitions, 1);
    assert_no_violations(c);
}

#[test]
fn a_dead_controller_manager_holds_the_scale_until_it_is_restored() {
    let text = scenario(
        1,
        "timeline:\n  - {at: 1m, scale: {deployment: web, replicas: 6}}\n",
    );
    let mut s = sim(&text);
    s.run(RunLimits::until(at(50)));
    s.with_context(|c, ctx| c.controller_manager_outage(ctx, Outage::All));
    s.run(RunLimits::until(at(200)));
    let running = |c: &Cluster| c.api.store.active_pods().count();
    assert_eq!(running(s.world()), 2, "no controller acts without a leader");
    s.with_context(|c, ctx| c.controller_manager_restore(ctx));
    s.run(RunLimits::until(at(214)));
    assert_eq!(
        running(s.world()),
        2,
        "the fresh process waits a lease duration for its predecessor's Lease"
    );
    s.run(RunLimits::until(at(300)));
    let c = s.world();
    let id = c.api.deployment_id("default", "web").unwrap();
    assert_eq!(c.api.deployment(id).status.available_replicas, 6);
    let events = leader_events(c, "kube-controller-manager");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].1, "control-plane-0_1 became leader");
    assert!(events[0].0 >= at(215) && events[0].0 < at(220));
    assert_no_violations(c);
}

#[test]
fn an_api_server_outage_stops_watches_and_node_leases_and_costs_the_leaders_their_lease() {
    let text = scenario(1, "");
    let mut s = sim(&text);
    s.run(RunLimits::until(at(61)));
    s.with_context(|c, ctx| c.api_server_outage_start(ctx));
    s.run(RunLimits::until(at(100)));
    let c = s.world();
    let node = c.api.store.live_nodes().next().unwrap().id;
    assert_eq!(c.api.leases.get(node).renew_time(at(95)), Some(at(60)));
    // Last renewal at 60 s, first failure at 62 s, renew deadline at 72 s.
    assert!(!c.control_plane.scheduler.has_leader());
    assert!(!c.control_plane.controller_manager.has_leader());
    assert!(
        leader_events(c, "kube-scheduler").is_empty(),
        "an Event cannot be written while the API server is down"
    );
    s.with_context(|c, ctx| c.api_server_outage_end(ctx));
    let c = s.world();
    assert_eq!(
        c.api.leases.get(node).renew_time(at(100)),
        Some(at(100)),
        "kubelets renew at once"
    );
    s.run(RunLimits::until(at(130)));
    let c = s.world();
    for lease in ["kube-scheduler", "kube-controller-manager"] {
        let events = leader_events(c, lease);
        assert_eq!(events.len(), 1, "{lease}: {events:?}");
        assert!(
            events[0].0 >= at(115) && events[0].0 < at(120),
            "{events:?}"
        );
    }
    assert_no_violations(c);
}

#[test]
fn a_short_api_server_outage_keeps_the_leaders() {
    let text = scenario(3, "");
    let mut s = sim(&text);
    s.run(RunLimits::until(at(61)));
    s.with_context(|c, ctx| c.api_server_outage_start(ctx));
    s.run(RunLimits::until(at(66)));
    s.with_context(|c, ctx| c.api_server_outage_end(ctx));
    s.run(RunLimits::until(at(200)));
    let c = s.world();
    assert!(leader_events(c, "kube-scheduler").is_empty());
    assert_eq!(
        c.control_plane.scheduler.leader().map(|l| l.replica),
        Some(0)
    );
    assert_eq!(c.control_plane.scheduler.lease.leader_transitions, 0);
}

#[test]
fn faults_scheduled_as_events_and_the_same_seed_gives_the_same_run() {
    let digest = || {
        let mut s = sim(&scenario(2, ""));
        for (t, f) in [
            (
                30,
                ControlPlaneFault::Outage(Component::ControllerManager, Outage::Leader),
            ),
            (
                40,
                ControlPlaneFault::Outage(Component::Scheduler, Outage::Leader),
            ),
            (90, ControlPlaneFault::ApiServerDown),
            (130, ControlPlaneFault::ApiServerUp),
            (150, ControlPlaneFault::Restore(Component::Scheduler)),
        ] {
            s.schedule_at(at(t), Event::ControlPlane(ControlPlaneEvent::Fault(f)));
        }
        s.run(RunLimits::until(at(300)));
        let c = s.world();
        assert!(c.control_plane.scheduler.has_leader());
        assert!(c.control_plane.controller_manager.has_leader());
        assert_eq!(c.control_plane.scheduler.replicas_up(), 2);
        assert!(!leader_events(c, "kube-controller-manager").is_empty());
        assert_no_violations(c);
        s.digest().to_string()
    };
    assert_eq!(digest(), digest());
}

#[test]
fn expectations_report_when_they_were_met_or_that_they_were_missed() {
    let text = scenario(
        1,
        r#"  - at: 40s
    inline: {apiVersion: v1, kind: Pod, metadata: {name: huge}, spec: {containers: [{name: c, image: x, resources: {requests: {cpu: "64"}}}]}}
expect:
  - {after: 2m, within: 1m, converged: true}
  - {after: 30s, within: 10s, allWorkloadsAvailable: true}
"#,
    );
    let o = run(
        &load(&text),
        &Registry::default_plugins(),
        &options(),
        |_, _| {},
    )
    .unwrap();
    let e = &o.summary.expectations;
    assert_eq!(e.len(), 2);
    // The pod that fits nowhere does not hold convergence up.
    assert!(e[0].met, "{e:?}");
    assert_eq!(e[0].condition, "converged");
    assert_eq!(e[0].met_at.as_deref(), Some(at(120).to_string().as_str()));
    assert!(e[1].met);
    assert_eq!(e[1].condition, "allWorkloadsAvailable");

    // With the scheduler down, a new pod is never tried: not converged.
    let text = scenario(
        1,
        r#"  - at: 40s
    inline: {apiVersion: v1, kind: Pod, metadata: {name: late}, spec: {containers: [{name: c, image: x}]}}
expect:
  - {after: 1m, within: 30s, noPendingPods: true}
"#,
    );
    let mut s = sim(&text);
    s.run(RunLimits::until(at(30)));
    s.with_context(|c, ctx| c.scheduler_outage(ctx, Outage::All));
    s.run(RunLimits::until(at(600)));
    let state = &s.world().control_plane.expectations[0];
    assert_eq!(state.met_at, None);
    assert_eq!(state.checks, 31, "once a second from 60 s to 90 s");
}

#[test]
fn scenario_keys_are_read_and_their_errors_located() {
    let s = load(&scenario(
        3,
        "expect:\n  - {after: 5m, within: 10m, noTaintedNodes: true}\n",
    ));
    assert_eq!(s.control_plane_replicas.scheduler_replicas, 3);
    assert_eq!(s.control_plane_replicas.controller_manager_replicas, 3);
    assert_eq!(s.expectations.len(), 1);
    assert_eq!(s.expectations[0].after, SimDuration::from_mins(5));

    let err = |text: &str| match load_str("bad.yaml", text, Path::new(".")) {
        Ok(_) => panic!("an error expected"),
        Err(d) => d.to_string(),
    };
    let base = "name: x\ncluster:\n  nodePools: [{name: p, count: 1, resources: {cpu: \"1\", memory: 1Gi}}]\n";
    let e = err(&format!(
        "{base}controlPlane:\n  scheduler: {{replicas: 0}}\n"
    ));
    assert!(
        e.starts_with("bad.yaml:5:25: controlPlane.scheduler.replicas: expected a whole number"),
        "{e}"
    );
    let e = err(&format!(
        "{base}controlPlane:\n  schedular: {{replicas: 2}}\n"
    ));
    assert!(
        e.starts_with("bad.yaml:5:3: unknown field \"schedular\"")
            && e.contains("did you mean \"scheduler\"?"),
        "{e}"
    );
    let e = err(&format!(
        "{base}expect:\n  - {{after: 5m, convergd: true}}\n"
    ));
    assert!(
        e.starts_with("bad.yaml:5:17: unknown field \"convergd\"")
            && e.contains("did you mean \"converged\"?"),
        "{e}"
    );
    let e = err(&format!("{base}expect:\n  - {{after: 5m}}\n"));
    assert!(
        e.starts_with("bad.yaml:5:5: expect[0]: names no condition"),
        "{e}"
    );
    let e = err(&format!(
        "{base}expect:\n  - {{within: 5m, converged: true}}\n"
    ));
    assert!(e.contains("missing the required field \"after\""), "{e}");
    // The latencies are still read next to the replica counts.
    let s = load(&format!(
        "{base}controlPlane: {{watchLatency: 5ms, controllerManager: {{replicas: 2}}}}\n"
    ));
    assert_eq!(s.control_plane_replicas.controller_manager_replicas, 2);
    assert_eq!(
        s.control_plane.watch_latency.lo,
        SimDuration::from_millis(5)
    );
}
