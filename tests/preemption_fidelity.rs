//! Preemption decisions that depend on the PreFilter extensions (`AddPod` / `RemovePod`) and on
//! pods' `status.startTime`, end to end through the scenario loader, the control plane and the
//! scheduler: each cluster is built so that upstream kube-scheduler takes exactly one decision,
//! and the test checks kubesim takes it.
//!
//! - Topology spread: every node fails a `DoNotSchedule` constraint; only removing a
//!   lower-priority pod of the same spread group helps, and upstream's dry run sees that removal
//!   in PodTopologySpread's counts (RemovePod on a copy of the cycle state).
//! - Required anti-affinity: the pod that repels the preemptor is of lower priority; RemovePod
//!   takes its term out of InterPodAffinity's counts.
//! - Start times: with equal priorities the node whose victims started latest wins
//!   (`pickOneNodeForPreemption` criterion 5), read from the manifests' `status.startTime`.

use std::path::Path;

use models::run::{RunOptions, RunOutcome, run};
use models::scenario::load_str;
use models::scheduler::Registry;
use models::store::{PodRecord, Store};
use sim_core::{SimDuration, SimTime};

const HEADER: &str = r#"
seed: 11
duration: 5m
controlPlane: {watchLatency: 50ms, apiLatency: 0s}   # fixed, for exact times below
scheduler: {schedulingCost: 0}                         # idealised: the times below are upstream queue arithmetic
"#;

const CLASSES: &str = r#"
workloads:
  - inline:
      apiVersion: v1
      kind: List
      items:
        - {apiVersion: scheduling.k8s.io/v1, kind: PriorityClass, metadata: {name: low}, value: 100, globalDefault: true}
        - {apiVersion: scheduling.k8s.io/v1, kind: PriorityClass, metadata: {name: mid}, value: 1000}
        - {apiVersion: scheduling.k8s.io/v1, kind: PriorityClass, metadata: {name: high}, value: 100000}
"#;

fn load(text: &str) -> models::scenario::Scenario {
    load_str("preemption-fidelity.yaml", text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"))
}

fn run_text(text: &str) -> RunOutcome {
    run(
        &load(text),
        &Registry::default_plugins(),
        &RunOptions::default(),
        |_, _| {},
    )
    .unwrap_or_else(|d| panic!("{d}"))
}

fn record<'a>(store: &'a Store, name: &str) -> &'a PodRecord {
    store
        .pods
        .iter()
        .find(|r| r.pod.name == name)
        .unwrap_or_else(|| panic!("no pod {name}"))
}

fn preempted(o: &RunOutcome) -> Vec<(String, String)> {
    o.simulation
        .world()
        .api
        .events
        .iter()
        .filter(|e| e.reason == "Preempted")
        .map(|e| (e.object.clone(), e.message.clone()))
        .collect()
}

fn at(secs: u64, millis: u64) -> SimTime {
    SimTime::ZERO
        .saturating_add(SimDuration::from_secs(secs))
        .saturating_add(SimDuration::from_millis(millis))
}

/// A pod pinned to `node` with `spec.nodeName`, in `class`, labelled `labels` (flow mapping
/// text), requesting `cpu`; `extra` is appended to its spec (indented six spaces).
fn pinned(name: &str, node: &str, class: &str, labels: &str, cpu: &str, extra: &str) -> String {
    format!(
        r#"
  - inline:
      apiVersion: v1
      kind: Pod
      metadata: {{name: {name}, labels: {labels}}}
      spec:
        nodeName: {node}
        priorityClassName: {class}
        terminationGracePeriodSeconds: 10
        containers: [{{name: c, image: x, resources: {{requests: {{cpu: "{cpu}"}}}}}}]
{extra}"#
    )
}

/// The preemptor, arriving at 1m.
fn preemptor(labels: &str, cpu: &str, extra: &str) -> String {
    format!(
        r#"
  - at: 1m
    inline:
      apiVersion: v1
      kind: Pod
      metadata: {{name: p, labels: {labels}}}
      spec:
        priorityClassName: high
        containers: [{{name: c, image: x, resources: {{requests: {{cpu: "{cpu}"}}}}}}]
{extra}"#
    )
}

/// The victims were deleted gracefully (50ms watch + 10s grace) after the preemption at 1m, and
/// `p` then ran on `node`; the others were left alone.
fn assert_outcome(o: &RunOutcome, node: &str, victims: &[&str], untouched: &[&str]) {
    let store = &o.simulation.world().api.store;
    let want: Vec<(String, String)> = victims
        .iter()
        .map(|v| {
            (
                format!("pod/{v}"),
                format!("Preempted by pod default/p on node {node}"),
            )
        })
        .collect();
    assert_eq!(preempted(o), want);
    for v in victims {
        let r = record(store, v);
        assert_eq!(r.deletion_timestamp, Some(at(60, 50)), "{v}");
        assert_eq!(r.deleted_at, Some(at(70, 100)), "{v}");
        assert!(r.preempted_by_scheduler, "{v}");
    }
    for u in untouched {
        assert!(
            record(store, u).deletion_timestamp.is_none(),
            "{u} survives"
        );
    }
    let p = record(store, "p");
    assert_eq!(p.node, store.node_id(node));
    assert_eq!(p.phase, models::api::PodPhase::Running);
    assert!(p.scheduled_at.unwrap() >= at(70, 100));
    assert_eq!(
        o.simulation.world().scheduler.preemption.victims,
        victims.len() as u64
    );
}

// Upstream default_preemption_test.go TestDryRunPreemption "preemption to resolve pod topology
// spread filter failure", with pod-b1 raised to `mid` so that `pickOneNodeForPreemption` has one
// answer. zone-1 (a-0, a-1) holds 3 `app: web` pods, zone-2 (x-0) 2; `p` spreads by zone and
// by hostname with maxSkew 1, so every node fails PodTopologySpread:
//
//   a-0: web-a1 (mid), web-a2 (low)   zone-1 3 + 1 − 2 > 1
//   a-1: web-b1 (mid)                 zone-1 3 + 1 − 2 > 1
//   x-0: web-x1, web-x2 (high)        hostname 2 + 1 − 1 > 1
//
// Dry run (RemovePod / AddPod on a copy of the PreFilter state): on a-0 both go (zone-1 1,
// a-0 0), web-a1 is reprieved (zone-1 2, a-0 1: skews 1 and 1), web-a2 is not; on a-1 web-b1
// goes and cannot come back; x-0 has no lower-priority pod. Candidates a-0 [web-a2 (low)] and
// a-1 [web-b1 (mid)]: criterion 2, the lowest highest-priority victim, picks a-0.
#[test]
fn topology_spread_is_resolved_by_preempting_a_pod_of_the_same_group() {
    let spread = r#"        topologySpreadConstraints:
          - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}
          - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}
"#;
    let web = "{app: web}";
    let mut text = format!(
        r#"name: spread-preemption{HEADER}
cluster:
  nodePools:
    - {{name: a, count: 2, resources: {{cpu: "8", memory: 16Gi, pods: 110}}, zones: [zone-1]}}
    - {{name: x, count: 1, resources: {{cpu: "8", memory: 16Gi, pods: 110}}, zones: [zone-2]}}
{CLASSES}"#
    );
    for (name, node, class) in [
        ("web-a1", "a-0", "mid"),
        ("web-a2", "a-0", "low"),
        ("web-b1", "a-1", "mid"),
        ("web-x1", "x-0", "high"),
        ("web-x2", "x-0", "high"),
    ] {
        text.push_str(&pinned(name, node, class, web, "1", ""));
    }
    text.push_str(&preemptor(web, "1", spread));
    let o = run_text(&text);
    assert_outcome(
        &o,
        "a-0",
        &["web-a2"],
        &["web-a1", "web-b1", "web-x1", "web-x2"],
    );
    // The first attempt failed on spreading alone.
    let failed = o
        .simulation
        .world()
        .api
        .events
        .iter()
        .find(|e| e.reason == "FailedScheduling" && e.object == "pod/p")
        .map(|e| e.message.clone());
    assert_eq!(
        failed.as_deref(),
        Some("0/3 nodes are available: 3 node(s) didn't match pod topology spread constraints.")
    );
}

// Upstream TestDryRunPreemption "pod with anti-affinity is preempted": repel (low) carries a
// required anti-affinity against every `foo` pod on its host, so `p` (foo) fails on general-0;
// general-1 is full with a high-priority pod. On general-0 RemovePod takes repel's term out of
// InterPodAffinity's existing anti-affinity counts, bystander (mid) is reprieved, repel is not.
#[test]
fn required_anti_affinity_is_resolved_by_preempting_the_conflicting_pod() {
    let anti = r#"        affinity:
          podAntiAffinity:
            requiredDuringSchedulingIgnoredDuringExecution:
              - {topologyKey: kubernetes.io/hostname, labelSelector: {matchExpressions: [{key: foo, operator: Exists}]}}
"#;
    let mut text = format!(
        r#"name: anti-affinity-preemption{HEADER}
cluster:
  nodePools:
    - {{name: general, count: 2, resources: {{cpu: "4", memory: 16Gi, pods: 110}}}}
{CLASSES}"#
    );
    text.push_str(&pinned("repel", "general-0", "low", "{foo: x}", "1", anti));
    text.push_str(&pinned(
        "bystander",
        "general-0",
        "mid",
        "{app: b}",
        "1",
        "",
    ));
    text.push_str(&pinned("keeper", "general-0", "high", "{app: k}", "1", ""));
    text.push_str(&pinned("big", "general-1", "high", "{app: big}", "4", ""));
    text.push_str(&preemptor("{foo: y}", "1", ""));
    let o = run_text(&text);
    assert_outcome(&o, "general-0", &["repel"], &["bystander", "keeper", "big"]);
    let failed = o
        .simulation
        .world()
        .api
        .events
        .iter()
        .find(|e| e.reason == "FailedScheduling" && e.object == "pod/p")
        .map(|e| e.message.clone());
    assert_eq!(
        failed.as_deref(),
        Some(
            "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) didn't satisfy existing pods anti-affinity rules."
        )
    );
}

// `pickOneNodeForPreemption` criterion 5 with start times from the manifests. Each node runs
// one 3-CPU `low` pod; `p` needs 2 CPU, so each node is a candidate with one victim of the same
// priority, and the node whose victim started latest wins. The dump says `recent` (general-0)
// started at 10:00 and `veteran` (general-1) at 08:00 — but `recent` is created first (0s) and
// `veteran` at 10s, so the simulation's own start order is the opposite: only the dumped
// `status.startTime` leads to general-0.
#[test]
fn victims_are_ordered_by_their_dumped_start_times() {
    let running = |start: &str| {
        format!(
            "      status: {{phase: Running, startTime: \"{start}\", conditions: [{{type: Ready, status: \"True\"}}]}}\n"
        )
    };
    let mut text = format!(
        r#"name: start-time-preemption{HEADER}
cluster:
  nodePools:
    - {{name: general, count: 2, resources: {{cpu: "4", memory: 16Gi, pods: 110}}}}
{CLASSES}"#
    );
    text.push_str(&pinned(
        "recent",
        "general-0",
        "low",
        "{app: batch}",
        "3",
        &running("2024-05-01T10:00:00Z"),
    ));
    text.push_str(
        &pinned(
            "veteran",
            "general-1",
            "low",
            "{app: batch}",
            "3",
            &running("2024-05-01T08:00:00Z"),
        )
        .replacen("  - inline:", "  - at: 10s\n    inline:", 1),
    );
    text.push_str(&preemptor("{app: p}", "2", ""));

    // The decision, explained (stopping just after it).
    let options = RunOptions {
        explain_pod: Some("p".into()),
        until: Some(SimDuration::from_secs(61)),
        ..RunOptions::default()
    };
    let o = run(
        &load(&text),
        &Registry::default_plugins(),
        &options,
        |_, _| {},
    )
    .unwrap();
    let world = o.simulation.world();
    let store = &world.api.store;
    let (recent, veteran) = (record(store, "recent"), record(store, "veteran"));
    // The dump's moment is the latest time it records (10:00): recent started then, veteran
    // two hours before; in the run, recent became Running first.
    assert_eq!(recent.start_time_ns(), Some(0));
    assert_eq!(veteran.start_time_ns(), Some(-2 * 3600 * 1_000_000_000));
    assert!(veteran.running_at > recent.running_at);
    let (_, explanation) = world.explanation().expect("p was attempted");
    let p = explanation
        .and_then(|e| e.preemption.as_ref())
        .expect("preemption ran");
    assert_eq!(p.candidates.len(), 2);
    assert_eq!(p.chosen, store.node_id("general-0"));
    assert_eq!(
        p.reason,
        "latest start time of the highest-priority victims"
    );

    // And the whole run: recent is preempted, p runs on general-0.
    let o = run_text(&text);
    assert_outcome(&o, "general-0", &["recent"], &["veteran"]);
}
