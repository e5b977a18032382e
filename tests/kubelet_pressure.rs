//! Containers' memory usage end to end, through scenario text: a leak past the container's
//! limit is OOM-killed at the exact crossing and restarted with back-off; a node short of
//! memory evicts its pods in the kubelet's order (BestEffort, then Burstable over its request,
//! Guaranteed never), reports MemoryPressure, is tainted so nothing new lands there, and the
//! evicted pods' ReplicaSets replace them.

use std::path::Path;

use models::api::PodPhase;
use models::events::EventRecord;
use models::run::{RunOptions, RunOutcome, run};
use models::scenario::load_str;
use models::scheduler::Registry;
use sim_core::{SimDuration, SimTime};

fn run_text(text: &str) -> RunOutcome {
    let s =
        load_str("kubelet-pressure.yaml", text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    let options = RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    };
    let o = run(&s, &Registry::default_plugins(), &options, |_, _| {})
        .unwrap_or_else(|d| panic!("{d}"));
    let checkers = o.simulation.world().checkers.as_ref().expect("checkers on");
    assert!(checkers.violations.is_empty(), "{:?}", checkers.violations);
    o
}

fn events<'a>(o: &'a RunOutcome, reason: &str) -> Vec<&'a EventRecord> {
    o.simulation
        .world()
        .api
        .events
        .iter()
        .filter(|e| e.reason == reason)
        .collect()
}

fn deployment(name: &str, resources: &str) -> String {
    format!(
        "
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {{name: {name}}}
      spec:
        replicas: 1
        selector: {{matchLabels: {{app: {name}}}}}
        template:
          metadata: {{labels: {{app: {name}}}}}
          spec: {{containers: [{{name: {name}, image: app, resources: {resources}}}]}}
"
    )
}

const LEAKY: &str = "name: leaky\nseed: 7\nduration: 20m\ncluster:\n  nodePools: [{name: general, count: 1, resources: {cpu: \"4\", memory: 16Gi}, zones: [a]}]\nworkloads:\n";

fn leaky_scenario() -> String {
    format!(
        "{LEAKY}{}behaviour:\n  podStartup: 2s..8s\n  leaky: {{memory: {{start: 100Mi, leak: 1Mi/s}}}}\n",
        deployment(
            "leaky",
            "{requests: {memory: 128Mi}, limits: {memory: 256Mi}}"
        )
    )
}

/// 100Mi leaking 1Mi/s passes 256Mi (by one byte) 156 s and 954 ns after each start: the first
/// kill is at `running_at` + that, each later one that long after its restart.
#[test]
fn a_leak_past_the_limit_is_oom_killed_at_the_crossing_and_restarts_with_back_off() {
    let o = run_text(&leaky_scenario());
    let api = &o.simulation.world().api;
    let r = api
        .store
        .pods
        .iter()
        .find(|r| r.pod.name.starts_with("leaky-"))
        .expect("the leaky pod");
    let crossing = SimDuration::from_secs(156) + SimDuration::from_nanos(954);
    let running_at = r.running_at.expect("it ran");
    let ooms = events(&o, "OOMKilling");
    assert!(ooms.len() >= 3, "{ooms:?}");
    assert_eq!(
        ooms[0].time_ns,
        (running_at + crossing).as_nanos(),
        "first kill at the crossing"
    );
    assert_eq!(ooms[0].object, format!("pod/{}", r.pod.name));
    assert_eq!(
        ooms[0].message,
        "Memory cgroup out of memory: Killed process (container leaky)"
    );
    // Each restart starts the leak over: the first restart is at once, the next after 10 s,
    // then 20 s (CrashLoopBackOff).
    let gaps: Vec<u64> = ooms
        .windows(2)
        .map(|w| w[1].time_ns - w[0].time_ns)
        .collect();
    assert_eq!(gaps[0], crossing.as_nanos());
    assert_eq!(gaps[1], (crossing + SimDuration::from_secs(10)).as_nanos());
    let backoffs = events(&o, "BackOff");
    assert!(
        backoffs.iter().all(|e| e
            .message
            .starts_with("Back-off restarting failed container leaky")),
        "{backoffs:?}"
    );
    assert!(!backoffs.is_empty());
    assert_eq!(r.restarts, i32::try_from(ooms.len()).expect("few"));
    assert_eq!(r.last_termination_reason, Some("OOMKilled"));
    assert_eq!(r.phase, PodPhase::Running, "restartPolicy Always");
    // The life story names the cause of the last restart.
    let life = reports::life::pod_life(&api.store, &api.events, r.id, o.simulation.now());
    assert_eq!(life.last_restart_reason.as_deref(), Some("OOMKilled"));
    // No node pressure: 16Gi is far away.
    assert!(events(&o, "EvictionThresholdMet").is_empty());
}

/// One 2Gi node (capacity 2Gi + the 100Mi hard threshold): a BestEffort pod using 1Gi, a
/// Burstable one (request 256Mi) leaking from 300Mi at 4Mi/s, a Guaranteed one (500Mi) using
/// 400Mi. `memory.available < 100Mi` is met when the pods use more than 2Gi.
fn pressure_scenario(seed: u64) -> String {
    format!(
        "name: pressure\nseed: {seed}\nduration: 20m\ncluster:\n  nodePools: [{{name: small, count: 1, resources: {{cpu: \"4\", memory: 2Gi}}, zones: [a]}}]\nworkloads:\n{}{}{}behaviour:\n  podStartup: 2s..8s\n  besteffort: {{memory: {{constant: 1Gi}}}}\n  burstable: {{memory: {{start: 300Mi, leak: 4Mi/s}}}}\n  guaranteed: {{memory: {{constant: 400Mi}}}}\n",
        deployment("besteffort", "{}"),
        deployment(
            "burstable",
            "{requests: {memory: 256Mi}, limits: {memory: 4Gi}}"
        ),
        deployment(
            "guaranteed",
            "{requests: {cpu: 100m, memory: 500Mi}, limits: {cpu: 100m, memory: 500Mi}}"
        ),
    )
}

#[test]
fn memory_pressure_evicts_best_effort_then_burstable_never_guaranteed() {
    let o = run_text(&pressure_scenario(11));
    let api = &o.simulation.world().api;
    let evicted = events(&o, "Evicted");
    assert!(evicted.len() >= 2, "{evicted:?}");
    let owner = |e: &EventRecord| {
        let name = e.object.trim_start_matches("pod/");
        name.split('-').next().unwrap_or_default().to_string()
    };
    assert_eq!(owner(evicted[0]), "besteffort");
    assert_eq!(owner(evicted[1]), "burstable");
    assert!(evicted.iter().all(|e| owner(e) != "guaranteed"));
    assert!(
        evicted[0].message.starts_with(
            "The node was low on resource: memory. Threshold quantity: 100Mi, available: "
        ),
        "{}",
        evicted[0].message
    );
    assert!(
        evicted[0].message.contains(
            "Container besteffort was using 1Gi, request is 0, has larger consumption of memory."
        ),
        "{}",
        evicted[0].message
    );
    // Synchronizes are on the eviction manager's 10 s grid.
    assert_eq!(evicted[0].time_ns % 10_000_000_000, 0);
    let threshold = events(&o, "EvictionThresholdMet");
    assert_eq!(threshold[0].object, "node/small-0");
    assert_eq!(threshold[0].message, "Attempting to reclaim memory");
    assert_eq!(threshold[0].time_ns, evicted[0].time_ns);
    let pressure = events(&o, "NodeHasInsufficientMemory");
    assert_eq!(pressure[0].time_ns, evicted[0].time_ns);
    assert_eq!(
        pressure[0].message,
        "Node small-0 status is now: NodeHasInsufficientMemory"
    );

    // The evicted pod failed with reason Evicted, gave its memory back, and was replaced.
    let first = evicted[0].object.trim_start_matches("pod/");
    let r = &api.store.pods[api.store.pod_id(first).expect("kept").index()];
    assert_eq!(r.phase, PodPhase::Failed);
    assert_eq!(r.reason, Some("Evicted"));
    assert_eq!(r.message.as_deref(), Some(evicted[0].message.as_str()));
    assert!(r.released);
    assert_eq!(
        r.finished_at,
        Some(SimTime::from_nanos(evicted[0].time_ns) + SimDuration::from_secs(1)),
        "killed with the 1 s grace period of a hard threshold"
    );
    let replacement = api
        .store
        .pods
        .iter()
        .find(|p| {
            p.pod.name.starts_with("besteffort-")
                && p.created_at > SimTime::from_nanos(evicted[0].time_ns)
        })
        .expect("the ReplicaSet replaced the evicted pod");
    // The node is tainted while under pressure: the replacement waits.
    let failed: Vec<_> = events(&o, "FailedScheduling")
        .into_iter()
        .filter(|e| e.object == format!("pod/{}", replacement.pod.name))
        .collect();
    assert!(
        failed
            .iter()
            .any(|e| e.message.contains("node.kubernetes.io/memory-pressure")),
        "{failed:?}"
    );
    // The guaranteed pod ran throughout.
    let g = api
        .store
        .pods
        .iter()
        .find(|p| p.pod.name.starts_with("guaranteed-"))
        .expect("guaranteed pod");
    assert_eq!(g.phase, PodPhase::Running);
    assert_eq!(g.restarts, 0);
}

#[test]
fn same_seed_same_digest() {
    let a = run_text(&pressure_scenario(5));
    let b = run_text(&pressure_scenario(5));
    assert_eq!(a.summary.digest, b.summary.digest);
    let c = run_text(&leaky_scenario());
    let d = run_text(&leaky_scenario());
    assert_eq!(c.summary.digest, d.summary.digest);
}
