//! A node fails, through the public path (a scenario with a fault verb → `models::run`): at
//! t0 the kubelet of `general-0` hangs (`stallKubelet`), so its Lease stops being renewed.
//! Every step of upstream's timeline is asserted from the event log:
//! - `Ready=Unknown` (`NodeNotReady`) once node-monitor-grace-period (50 s) has passed since
//!   the controller saw the last renewal, on its 5 s monitor grid: t0 + 50 s … t0 + 55 s;
//! - the `unreachable` NoExecute taint on the next monitor pass (observed through the pods'
//!   eviction times and the node's taints);
//! - the taint eviction controller deletes the default pods 300 s (DefaultTolerationSeconds)
//!   after the taint, and a pod tolerating `unreachable` for 600 s only after 600 s;
//! - the Deployments replace them on the healthy nodes (the NoSchedule taint keeps them off).

use std::path::Path;

use models::api::{NodeId, PodPhase, TaintEffect};
use models::apiserver::ConditionStatus;
use models::run::{RunOptions, RunOutcome, run};
use models::scenario::load_str;
use models::scheduler::Registry;
use sim_core::SimDuration;

const T0: u64 = 120;

const SCENARIO: &str = r#"
name: node-failure-public
seed: 5
duration: 20m
cluster:
  nodePools:
    - name: general
      count: 3
      resources: {cpu: "4", memory: 16Gi, pods: 110}
      zones: [zone-a]
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 3
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec:
            topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: web}}}]
            containers: [{name: app, image: web:1, resources: {requests: {cpu: 500m}}}]
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: patient}
      spec:
        replicas: 3
        selector: {matchLabels: {app: patient}}
        template:
          metadata: {labels: {app: patient}}
          spec:
            topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: patient}}}]
            tolerations: [{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 600}]
            containers: [{name: app, image: patient:1, resources: {requests: {cpu: 500m}}}]
timeline:
  - {at: 2m, stallKubelet: {node: general-0}}
"#;

fn run_until(until: Option<SimDuration>) -> RunOutcome {
    run_text(SCENARIO, until)
}

/// Runs a variant of the scenario with the invariant checkers on; none may break.
fn run_text(text: &str, until: Option<SimDuration>) -> RunOutcome {
    let s = load_str("node-failure.yaml", text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    let options = RunOptions {
        check_invariants: true,
        until,
        ..RunOptions::default()
    };
    let o = run(&s, &Registry::default_plugins(), &options, |_, _| {})
        .unwrap_or_else(|d| panic!("{d}"));
    let checkers = o.simulation.world().checkers.as_ref().expect("on");
    assert!(
        checkers.violations.is_empty(),
        "{:#?}",
        &checkers.violations[..checkers.violations.len().min(3)]
    );
    o
}

const S: u64 = 1_000_000_000;

/// Times (ns) of the events with this reason on objects starting with `prefix`.
fn times(o: &RunOutcome, reason: &str, prefix: &str) -> Vec<u64> {
    o.simulation
        .world()
        .api
        .events
        .iter()
        .filter(|e| e.reason == reason && e.object.starts_with(prefix))
        .map(|e| e.time_ns)
        .collect()
}

#[test]
fn a_node_whose_lease_stops_is_marked_unknown_tainted_and_emptied_on_upstreams_timeline() {
    let o = run_until(None);
    let world = o.simulation.world();
    let api = &world.api;
    let node0 = NodeId(0);
    // Which pods were on general-0 when it stopped.
    let on_node: Vec<_> = api
        .store
        .pods
        .iter()
        .filter(|r| r.node == Some(node0) && r.created_at.as_nanos() < T0 * S)
        .collect();
    let web: Vec<_> = on_node
        .iter()
        .filter(|r| r.pod.name.starts_with("web-"))
        .collect();
    let patient: Vec<_> = on_node
        .iter()
        .filter(|r| r.pod.name.starts_with("patient-"))
        .collect();
    assert_eq!(
        (web.len(), patient.len()),
        (1, 1),
        "one of each on general-0"
    );

    // Ready=Unknown: the last renewal was at t0 (renewals every 10 s from 0), the controller
    // saw it at its tick at t0, and marks the node at the first tick strictly after t0 + 50 s.
    let not_ready = times(&o, "NodeNotReady", "node/general-0");
    assert_eq!(not_ready, [(T0 + 55) * S], "NodeNotReady");
    // The pods on it are marked not Ready at the same pass.
    let pods_not_ready = times(&o, "NodeNotReady", "pod/");
    assert_eq!(pods_not_ready.len(), 2);
    assert!(pods_not_ready.iter().all(|t| *t == (T0 + 55) * S));

    // The NoExecute taint goes on at the next pass (t0 + 60 s); the taint eviction controller
    // sees it after its watch latency and deletes the default pods 300 s later.
    let evictions = times(
        &o,
        "TaintManagerEviction",
        &format!("pod/{}", web[0].pod.name),
    );
    assert_eq!(evictions.len(), 1);
    let taint_at = (T0 + 60) * S;
    assert!(
        (taint_at + 300 * S..taint_at + 301 * S).contains(&evictions[0]),
        "web evicted at {} s",
        evictions[0] as f64 / 1e9
    );
    let web_deleted = web[0]
        .deletion_timestamp
        .expect("web pod deleted")
        .as_nanos();
    assert_eq!(web_deleted, evictions[0]);
    // The pod tolerating unreachable for 600 s stays until then.
    let patient_evicted = times(
        &o,
        "TaintManagerEviction",
        &format!("pod/{}", patient[0].pod.name),
    );
    assert_eq!(patient_evicted.len(), 1);
    assert!((taint_at + 600 * S..taint_at + 601 * S).contains(&patient_evicted[0]));
    assert!(
        patient[0]
            .deletion_timestamp
            .is_some_and(|t| t.as_nanos() == patient_evicted[0])
    );

    // The replacements run on the healthy nodes.
    for app in ["web-", "patient-"] {
        let running: Vec<_> = api
            .store
            .active_pods()
            .filter(|r| {
                r.pod.name.starts_with(app)
                    && r.deletion_timestamp.is_none()
                    && r.phase == PodPhase::Running
            })
            .collect();
        assert_eq!(running.len(), 3, "{app} replicas");
        assert!(
            running.iter().all(|r| r.node != Some(node0)),
            "{app} replacement on the dead node"
        );
    }
    // A stalled kubelet never confirms the deletions: the pods stay Terminating on the node.
    assert!(web[0].is_active() && web[0].node == Some(node0));
}

#[test]
fn in_between_the_node_is_unknown_and_carries_both_unreachable_taints() {
    let o = run_until(Some(SimDuration::from_secs(T0 + 2 * 60)));
    let node = o.simulation.world().api.store.node(NodeId(0));
    assert_eq!(node.conditions.ready, ConditionStatus::Unknown);
    assert_eq!(node.conditions.ready_transition.as_nanos(), (T0 + 55) * S);
    let mut taints: Vec<(String, TaintEffect)> = node
        .node
        .taints
        .iter()
        .map(|t| (t.key.clone(), t.effect))
        .collect();
    taints.sort_by(|a, b| a.0.cmp(&b.0).then((a.1 as u8).cmp(&(b.1 as u8))));
    assert_eq!(taints.len(), 2, "{taints:?}");
    assert!(
        taints
            .iter()
            .all(|(k, _)| k == "node.kubernetes.io/unreachable")
    );
    assert!(taints.iter().any(|(_, e)| *e == TaintEffect::NoExecute));
    assert!(taints.iter().any(|(_, e)| *e == TaintEffect::NoSchedule));
}

#[test]
fn a_node_that_comes_back_is_untainted_and_its_kubelet_reconciles_its_pods() {
    // The kubelet hangs for 8 minutes: the web pod is evicted meanwhile (at t0 + 60 s + 300 s),
    // the patient one is not (600 s), and the node is Ready again at t0 + 8m.
    let text = SCENARIO.replace(
        "stallKubelet: {node: general-0}",
        "stallKubelet: {node: general-0, for: 8m}",
    );
    let o = run_text(&text, None);
    let world = o.simulation.world();
    let api = &world.api;
    let back = (T0 + 8 * 60) * S;
    assert_eq!(times(&o, "NodeReady", "node/general-0"), [back]);
    let node = api.store.node(NodeId(0));
    assert_eq!(node.conditions.ready, ConditionStatus::True);
    assert!(node.node.taints.is_empty(), "{:?}", node.node.taints);
    let on_node = |app: &str| {
        api.store
            .pods
            .iter()
            .find(|r| {
                r.node == Some(NodeId(0))
                    && r.pod.name.starts_with(app)
                    && r.created_at.as_nanos() < T0 * S
            })
            .expect("pod on general-0")
    };
    // The evicted web pod: its kubelet learns of the deletion when it is back and stops it
    // (its grace period, 30 s), then it is gone.
    let web = on_node("web-");
    let deleted = web.deleted_at.expect("web pod removed").as_nanos();
    assert!(
        (back..=back + 31 * S).contains(&deleted),
        "removed at {} s",
        deleted as f64 / 1e9
    );
    // The patient pod's eviction was cancelled with the taint: it still runs there.
    let patient = on_node("patient-");
    assert!(patient.is_active() && patient.deletion_timestamp.is_none());
    // Upstream records "Marking for deletion" only when an eviction fires, and "Cancelling
    // deletion" when a scheduled one is cancelled.
    let object = format!("pod/{}", patient.pod.name);
    let messages: Vec<&str> = api
        .events
        .iter()
        .filter(|e| e.reason == "TaintManagerEviction" && e.object == object)
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(
        messages,
        [format!(
            "Cancelling deletion of Pod default/{}",
            patient.pod.name
        )]
    );
}

#[test]
fn a_new_controller_manager_leader_starts_the_eviction_clock_afresh() {
    // The node dies at t0; its NoExecute taint goes on at t0 + 60 s and its pods' deletions
    // are due 300 s later. At t0 + 3m the controller manager's leader dies: the standby that
    // takes over runs new controllers, whose taint eviction queue is empty — upstream's new
    // process handles the tainted node as new and gives its pods 300 s from then.
    let text = SCENARIO
        .replace(
            "timeline:\n",
            "controlPlane:\n  controllerManager: {replicas: 3}\ntimeline:\n",
        )
        .replace(
            "  - {at: 2m, stallKubelet: {node: general-0}}\n",
            "  - {at: 2m, crashNodes: {node: general-0}}\n  - {at: 5m, controllerManagerOutage: {replicas: leader}}\n",
        );
    let o = run_text(&text, None);
    let elected = times(&o, "LeaderElection", "lease/kube-controller-manager");
    assert_eq!(elected.len(), 1, "one takeover");
    let takeover = elected[0];
    // The Lease expires 15 s after the standby last saw it renewed; it retries every 2 s
    // with jitter up to 1.2 × 2 s, so it takes over 15–25 s after the kill.
    assert!(
        (300 * S + 15 * S..300 * S + 25 * S).contains(&takeover),
        "takeover at {} s",
        takeover as f64 / 1e9
    );
    let marked: Vec<u64> = o
        .simulation
        .world()
        .api
        .events
        .iter()
        .filter(|e| {
            e.reason == "TaintManagerEviction"
                && e.message
                    .starts_with("Marking for deletion Pod default/web-")
        })
        .map(|e| e.time_ns)
        .collect();
    assert_eq!(marked.len(), 1, "{marked:?}");
    // Not at t0 + 60 s + 300 s (the old leader's clock) but 300 s after the takeover.
    assert!(marked[0] > (T0 + 60 + 300) * S);
    assert!(
        (takeover + 300 * S..takeover + 301 * S).contains(&marked[0]),
        "evicted at {} s",
        marked[0] as f64 / 1e9
    );
}
