//! Priority and preemption end to end, through the public library path: PriorityClasses
//! resolved at admission, DefaultPreemption choosing the node and victims upstream would, the
//! victims' graceful deletion, and the preemptor running on its nominated node afterwards.
//!
//! The cluster: two 4-CPU nodes, filled by pods pinned with `spec.nodeName` so the starting
//! placement is exact:
//!
//! ```text
//! general-0: low-a (1 CPU, batch-low 100), low-b (1 CPU, batch-low), mid-a (2 CPU, batch-mid 1000)
//! general-1: mid-b (2 CPU, batch-mid),     mid-c (2 CPU, batch-mid)
//! ```
//!
//! At 1m `checkout` (2 CPU, critical 100000) arrives. Dry run, as upstream's
//! `SelectVictimsOnNode`: on general-0 all three go, then mid-a is reprieved (2 + 2 = 4 fits)
//! and low-a, low-b stay victims (highest victim priority 100); on general-1 one mid pod is
//! reprieved and the other is a victim (highest victim priority 1000). `pickOneNodeForPreemption`
//! criterion 2 (lowest highest-priority victim) picks general-0.

use std::path::Path;

use models::run::{RunOptions, RunOutcome, run};
use models::scenario::load_str;
use models::scheduler::Registry;
use models::store::Store;
use sim_core::{SimDuration, SimTime};

fn run_text(text: &str) -> RunOutcome {
    let s =
        load_str("preemption-test.yaml", text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    run(
        &s,
        &Registry::default_plugins(),
        &RunOptions::default(),
        |_, _| {},
    )
    .unwrap_or_else(|d| panic!("{d}"))
}

fn pinned(name: &str, node: &str, class: &str, cpu: &str, app: &str) -> String {
    format!(
        r#"
  - inline:
      apiVersion: v1
      kind: Pod
      metadata: {{name: {name}, labels: {{app: {app}}}}}
      spec:
        nodeName: {node}
        priorityClassName: {class}
        terminationGracePeriodSeconds: 10
        containers: [{{name: c, image: x, resources: {{requests: {{cpu: "{cpu}"}}}}}}]
"#
    )
}

/// The starting pods: (name, node, class, CPU, app label).
type Layout<'a> = &'a [(&'a str, &'a str, &'a str, &'a str, &'a str)];

const LAYOUT: Layout<'static> = &[
    ("low-a", "general-0", "batch-low", "1", "low"),
    ("low-b", "general-0", "batch-low", "1", "low"),
    ("mid-a", "general-0", "batch-mid", "2", "mid"),
    ("mid-b", "general-1", "batch-mid", "2", "mid"),
    ("mid-c", "general-1", "batch-mid", "2", "mid"),
];

fn scenario(checkout_class: &str, extra: &str) -> String {
    scenario_with(LAYOUT, checkout_class, extra)
}

/// The scenario, with `checkout` in `checkout_class` and extra manifests appended.
fn scenario_with(layout: Layout<'_>, checkout_class: &str, extra: &str) -> String {
    let mut s = String::from(
        r#"
name: preemption-test
seed: 7
duration: 5m
controlPlane: {watchLatency: 50ms, apiLatency: 0s}   # fixed, for exact times below
scheduler: {schedulingCost: 0}                         # idealised: the times below are upstream queue arithmetic
cluster:
  nodePools:
    - {name: general, count: 2, resources: {cpu: "4", memory: 16Gi, pods: 110}}
workloads:
  - inline:
      apiVersion: v1
      kind: List
      items:
        - {apiVersion: scheduling.k8s.io/v1, kind: PriorityClass, metadata: {name: batch-low}, value: 100, globalDefault: true}
        - {apiVersion: scheduling.k8s.io/v1, kind: PriorityClass, metadata: {name: batch-mid}, value: 1000}
        - {apiVersion: scheduling.k8s.io/v1, kind: PriorityClass, metadata: {name: critical}, value: 100000}
        - {apiVersion: scheduling.k8s.io/v1, kind: PriorityClass, metadata: {name: critical-no-preempt}, value: 100000, preemptionPolicy: Never}
"#,
    );
    for (name, node, class, cpu, app) in layout {
        s.push_str(&pinned(name, node, class, cpu, app));
    }
    s.push_str(&format!(
        r#"
  - at: 1m
    inline:
      apiVersion: v1
      kind: Pod
      metadata: {{name: checkout}}
      spec:
        priorityClassName: {checkout_class}
        containers: [{{name: c, image: x, resources: {{requests: {{cpu: "2"}}}}}}]
"#
    ));
    s.push_str(extra);
    s
}

fn record<'a>(store: &'a Store, name: &str) -> &'a models::store::PodRecord {
    store.pod(store.pod_id(name).unwrap_or_else(|| {
        // Deleted pods leave the name index; find them among all records.
        store
            .pods
            .iter()
            .find(|r| r.pod.name == name)
            .map(|r| r.id)
            .unwrap_or_else(|| panic!("no pod {name}"))
    }))
}

fn preempted_events(o: &RunOutcome) -> Vec<(String, String)> {
    o.simulation
        .world()
        .api
        .events
        .iter()
        .filter(|e| e.reason == "Preempted")
        .map(|e| (e.object.clone(), e.message.clone()))
        .collect()
}

fn secs(s: u64) -> SimTime {
    SimTime::ZERO.saturating_add(SimDuration::from_secs(s))
}

#[test]
fn a_critical_pod_preempts_exactly_the_victims_upstream_would() {
    let o = run_text(&scenario("critical", ""));
    let store = &o.simulation.world().api.store;
    assert_eq!(
        preempted_events(&o),
        [
            (
                "pod/low-a".to_string(),
                "Preempted by pod default/checkout on node general-0".to_string()
            ),
            (
                "pod/low-b".to_string(),
                "Preempted by pod default/checkout on node general-0".to_string()
            ),
        ]
    );
    // Admission resolved every class; the global default would apply to pods naming none.
    assert_eq!(record(store, "checkout").pod.priority, 100_000);
    assert_eq!(record(store, "low-a").pod.priority, 100);
    // The victims held their CPU while terminating: deleted 50ms (watch) + 10s (their grace
    // period) after the preemption at 1m.
    for v in ["low-a", "low-b"] {
        let r = record(store, v);
        let started = r.deletion_timestamp.expect("graceful deletion started");
        assert_eq!(
            started,
            secs(60).saturating_add(SimDuration::from_millis(50))
        );
        assert_eq!(
            r.deleted_at,
            Some(
                started
                    .saturating_add(SimDuration::from_millis(50))
                    .saturating_add(SimDuration::from_secs(10))
            )
        );
        assert!(r.preempted_by_scheduler);
    }
    // Nobody else was touched.
    for p in ["mid-a", "mid-b", "mid-c"] {
        assert!(
            record(store, p).deletion_timestamp.is_none(),
            "{p} survives"
        );
    }
    // The preemptor runs on the node it was nominated to, after the victims are gone.
    let checkout = record(store, "checkout");
    assert_eq!(checkout.node, store.node_id("general-0"));
    assert_eq!(
        checkout.pod.nominated_node_name, None,
        "binding clears the nomination"
    );
    let victims_gone = record(store, "low-a").deleted_at.unwrap();
    assert!(checkout.scheduled_at.unwrap() >= victims_gone);
    assert_eq!(checkout.phase, models::api::PodPhase::Running);
    assert_eq!(o.simulation.world().scheduler.preemption.victims, 2);
    // The first attempt's FailedScheduling event names the fit error (preemption succeeded, so
    // PostFilter adds no message).
    let failed: Vec<&str> = o
        .simulation
        .world()
        .api
        .events
        .iter()
        .filter(|e| e.reason == "FailedScheduling" && e.object == "pod/checkout")
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(
        failed.first().copied(),
        Some("0/2 nodes are available: 2 Insufficient cpu.")
    );
}

#[test]
fn preemption_policy_never_waits_instead_of_preempting() {
    let o = run_text(&scenario("critical-no-preempt", ""));
    let store = &o.simulation.world().api.store;
    assert!(preempted_events(&o).is_empty());
    let checkout = record(store, "checkout");
    assert_eq!(
        (checkout.node, checkout.phase),
        (None, models::api::PodPhase::Pending)
    );
    assert_eq!(
        checkout.pod.preemption_policy,
        models::api::PreemptionPolicy::Never
    );
    let message = o
        .simulation
        .world()
        .api
        .events
        .iter()
        .rfind(|e| e.reason == "FailedScheduling" && e.object == "pod/checkout")
        .map(|e| e.message.clone());
    assert_eq!(
        message.as_deref(),
        Some(
            "0/2 nodes are available: 2 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."
        )
    );
}

#[test]
fn a_pod_disruption_budget_steers_preemption_to_the_other_node() {
    // general-0 holds two 2-CPU low pods, general-1 two 2-CPU mid pods: each node must lose one
    // pod. Without a budget general-0 wins (criterion 2: its victim has priority 100). With a
    // budget over the low pods that allows no disruption, general-0's victim violates it and
    // general-1 (no violation) wins by criterion 1.
    const TWO_LOWS: Layout<'static> = &[
        ("low-a", "general-0", "batch-low", "2", "low"),
        ("low-b", "general-0", "batch-low", "2", "low"),
        ("mid-b", "general-1", "batch-mid", "2", "mid"),
        ("mid-c", "general-1", "batch-mid", "2", "mid"),
    ];
    let o = run_text(&scenario_with(TWO_LOWS, "critical", ""));
    let events = preempted_events(&o);
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].1.ends_with("on node general-0"), "{events:?}");
    let pdb = r#"
  - inline:
      apiVersion: policy/v1
      kind: PodDisruptionBudget
      metadata: {name: low-pdb}
      spec:
        minAvailable: 2
        selector: {matchLabels: {app: low}}
"#;
    let o = run_text(&scenario_with(TWO_LOWS, "critical", pdb));
    let store = &o.simulation.world().api.store;
    let events = preempted_events(&o);
    assert_eq!(events.len(), 1, "{events:?}");
    // Of mid-b and mid-c, the one that started later is less important (MoreImportantPod:
    // equal priority, earlier start first), so it is the one not reprieved.
    let (b, c) = (record(store, "mid-b"), record(store, "mid-c"));
    let later = if (b.running_at, b.id) > (c.running_at, c.id) {
        "mid-b"
    } else {
        "mid-c"
    };
    assert_eq!(
        events[0],
        (
            format!("pod/{later}"),
            "Preempted by pod default/checkout on node general-1".to_string()
        )
    );
    assert_eq!(record(store, "checkout").node, store.node_id("general-1"));
    for p in ["low-a", "low-b"] {
        assert!(record(store, p).deletion_timestamp.is_none());
    }
}

#[test]
fn an_unknown_priority_class_is_rejected_where_it_is_named() {
    let text = scenario("critcal", "");
    let err = load_str("preemption-test.yaml", &text, Path::new(".")).unwrap_err();
    assert!(
        err.message
            .starts_with("pods \"forbidden\": no PriorityClass with name critcal was found"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("did you mean \"critical\""),
        "{}",
        err.message
    );
    let line = text
        .lines()
        .position(|l| l.contains("priorityClassName: critcal"))
        .unwrap()
        + 1;
    assert_eq!(err.line, line);
}

#[test]
fn the_teaching_scenario_preempts_the_batch_tier() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/preemption.yaml");
    let s = models::scenario::load(&path).unwrap_or_else(|d| panic!("{d}"));
    let o = run(
        &s,
        &Registry::default_plugins(),
        &RunOptions::default(),
        |_, _| {},
    )
    .unwrap_or_else(|d| panic!("{d}"));
    let world = o.simulation.world();
    assert!(world.scheduler.preemption.victims > 0);
    // Every critical replica ends up running.
    let critical: Vec<_> = world
        .api
        .store
        .active_pods()
        .filter(|r| r.pod.priority_class_name.as_deref() == Some("critical-service"))
        .collect();
    assert!(!critical.is_empty());
    assert!(
        critical
            .iter()
            .all(|r| r.phase == models::api::PodPhase::Running)
    );
}

#[test]
fn explain_shows_the_preemption_decision() {
    let s = load_str(
        "preemption-test.yaml",
        &scenario("critical", ""),
        Path::new("."),
    )
    .unwrap();
    // Stop just after the preemption, so the attempt explained is the one that preempted.
    let options = RunOptions {
        explain_pod: Some("checkout".into()),
        until: Some(SimDuration::from_secs(61)),
        ..RunOptions::default()
    };
    let o = run(&s, &Registry::default_plugins(), &options, |_, _| {}).unwrap();
    let world = o.simulation.world();
    let (attempt, _) = world.explanation().expect("checkout was attempted");
    let report = reports::explain::explain_report(attempt, &world.api.store);
    let p = report.preemption.as_ref().expect("preemption ran");
    assert_eq!(p.nominated_node.as_deref(), Some("general-0"));
    assert_eq!(p.victims, ["default/low-a", "default/low-b"]);
    assert_eq!(p.candidates.len(), 2);
    assert_eq!(p.reason, "lowest highest-priority victim");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["preemption"]["nominatedNode"], "general-0");
    assert_eq!(json["preemption"]["victims"][1], "default/low-b");
    let text = report.to_text();
    assert!(
        text.contains(
            "preemption: nominated node general-0 (lowest highest-priority victim); victims: default/low-a, default/low-b"
        ),
        "{text}"
    );
}
