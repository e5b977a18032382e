//! DaemonSets end to end, through the library's public path (scenario → run): one daemon pod
//! per eligible node (taints, node selectors, nodes that join, cordoned nodes), rolling
//! updates within their maxUnavailable / maxSurge bounds, and determinism. The invariant
//! checkers run after every event.

use std::collections::BTreeMap;
use std::path::Path;

use models::api::{
    DaemonSet, DaemonSetUpdateStrategy, IntOrPercent, LabelSelector, Operator, Pod, PodPhase,
    PodTemplate, Requirement, TaintEffect, Toleration, TolerationOperator,
};
use models::controllers::replicaset::is_pod_available;
use models::run::{RunOptions, RunOutcome, build, run};
use models::scenario::{Scenario, load_str};
use models::scheduler::Registry;
use sim_core::{RunLimits, SimDuration, SimTime};

const CLUSTER: &str = r#"
name: daemonset-test
seed: 7
duration: 3m
cluster:
  nodePools:
    - name: worker
      count: 3
      resources: {cpu: "4", memory: 16Gi, pods: 110}
      labels: {role: worker}
      zones: [zone-a]
    - name: tainted
      count: 1
      resources: {cpu: "4", memory: 16Gi, pods: 110}
      labels: {role: worker}
      zones: [zone-a]
      taints:
        - {key: dedicated, value: batch, effect: NoSchedule}
    - name: other
      count: 1
      resources: {cpu: "4", memory: 16Gi, pods: 110}
      zones: [zone-a]
    - name: cp
      count: 1
      resources: {cpu: "4", memory: 16Gi, pods: 110}
      labels: {role: worker}
      zones: [zone-a]
      taints:
        - {key: node-role.kubernetes.io/control-plane, effect: NoSchedule}
"#;

fn options() -> RunOptions {
    RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    }
}

fn scenario(timeline: &str, daemon_sets: Vec<DaemonSet>) -> Scenario {
    let text = format!("{CLUSTER}{timeline}");
    let mut s =
        load_str("daemonset-test.yaml", &text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    s.daemon_sets = daemon_sets;
    s
}

fn daemon_set(name: &str, worker_only: bool) -> DaemonSet {
    let labels: models::api::Labels = [("app", name)].into_iter().collect();
    let mut pod = Pod {
        name: name.into(),
        labels,
        images: vec!["agent:v1".into()].into(),
        ..Pod::default()
    };
    if worker_only {
        pod.node_selector = vec![Requirement::new(
            "role",
            Operator::In,
            vec!["worker".into()],
        )];
    }
    DaemonSet::new(
        name,
        "default",
        LabelSelector::from_match_labels([("app", name)]),
        PodTemplate { pod },
    )
}

fn assert_no_violations(o: &RunOutcome) {
    let checkers = o
        .simulation
        .world()
        .checkers
        .as_ref()
        .expect("checkers enabled");
    assert!(checkers.checks > 0);
    assert!(
        checkers.violations.is_empty(),
        "{:#?}",
        &checkers.violations[..checkers.violations.len().min(5)]
    );
}

/// Running, non-terminating pods of a DaemonSet, by node name.
fn running_by_node(api: &models::apiserver::ApiServer, ds: &str) -> BTreeMap<String, usize> {
    let id = api
        .object_id::<DaemonSet>("default", ds)
        .expect("daemon set exists");
    let mut out = BTreeMap::new();
    for p in &api.object::<DaemonSet>(id).pods {
        let r = api.store.pod(*p);
        if r.is_active() && r.deletion_timestamp.is_none() && r.phase == PodPhase::Running {
            let node = r.node.expect("running pods are bound");
            *out.entry(api.store.node(node).name().to_string())
                .or_default() += 1;
        }
    }
    out
}

fn nodes(names: &[&str]) -> BTreeMap<String, usize> {
    names.iter().map(|n| (n.to_string(), 1)).collect()
}

#[test]
fn one_pod_per_eligible_node_at_rest() {
    let o = run(
        &scenario("", vec![daemon_set("agent", true)]),
        &Registry::default_plugins(),
        &options(),
        |_, _| {},
    )
    .unwrap_or_else(|d| panic!("{d}"));
    assert_no_violations(&o);
    let api = &o.simulation.world().api;
    // Not on the tainted node (NoSchedule not tolerated), not on `other` (no role label), not
    // on the control-plane node.
    assert_eq!(
        running_by_node(api, "agent"),
        nodes(&["worker-0", "worker-1", "worker-2"])
    );
    let id = api.object_id::<DaemonSet>("default", "agent").unwrap();
    let status = &api.object::<DaemonSet>(id).status;
    assert_eq!(status.desired_number_scheduled, 3);
    assert_eq!(status.current_number_scheduled, 3);
    assert_eq!(status.number_ready, 3);
    assert_eq!(status.number_available, 3);
    assert_eq!(status.updated_number_scheduled, 3);
    assert_eq!(status.number_misscheduled, 0);
    assert_eq!(status.number_unavailable, 0);
    assert_eq!(status.observed_generation, 1);
    let created: Vec<&str> = api
        .events
        .iter()
        .filter(|e| e.reason == "SuccessfulCreate" && e.object == "daemonset/agent")
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(created.len(), 3);
    assert!(created.iter().all(|m| m.starts_with("Created pod: agent-")));
    // Every pod carries the revision labels and is pinned to its node by affinity.
    for p in &api.object::<DaemonSet>(id).pods {
        let pod = &api.store.pod(*p).pod;
        assert!(pod.labels.get("controller-revision-hash").is_some());
        assert_eq!(pod.labels.get("pod-template-generation"), Some("1"));
        assert!(
            pod.node_affinity
                .as_ref()
                .is_some_and(|a| a.required.is_some())
        );
        assert!(pod.node_name.is_none());
    }
}

#[test]
fn control_plane_taint_needs_a_toleration() {
    let mut tolerant = daemon_set("tolerant", false);
    tolerant.template.pod.tolerations.push(Toleration {
        key: "node-role.kubernetes.io/control-plane".into(),
        operator: TolerationOperator::Exists,
        value: String::new(),
        effect: Some(TaintEffect::NoSchedule),
        toleration_seconds: None,
    });
    let o = run(
        &scenario("", vec![daemon_set("plain", false), tolerant]),
        &Registry::default_plugins(),
        &options(),
        |_, _| {},
    )
    .unwrap_or_else(|d| panic!("{d}"));
    assert_no_violations(&o);
    let api = &o.simulation.world().api;
    assert_eq!(
        running_by_node(api, "plain"),
        nodes(&["other-0", "worker-0", "worker-1", "worker-2"])
    );
    assert_eq!(
        running_by_node(api, "tolerant"),
        nodes(&["cp-0", "other-0", "worker-0", "worker-1", "worker-2"])
    );
}

#[test]
fn joining_and_cordoned_nodes_run_the_daemon_pod() {
    let timeline = r#"
timeline:
  - {at: 30s, addNodes: {pool: worker, count: 2}}
  - {at: 30s, cordon: {node: worker-4}}
  - {at: 40s, cordon: {node: worker-0}}
"#;
    let o = run(
        &scenario(timeline, vec![daemon_set("agent", true)]),
        &Registry::default_plugins(),
        &options(),
        |_, _| {},
    )
    .unwrap_or_else(|d| panic!("{d}"));
    assert_no_violations(&o);
    let api = &o.simulation.world().api;
    let w4 = api.store.node_id("worker-4").expect("added");
    assert!(api.store.node(w4).node.unschedulable);
    // worker-4 was cordoned before any daemon pod was made for it: daemon pods tolerate
    // `node.kubernetes.io/unschedulable`.
    assert_eq!(
        running_by_node(api, "agent"),
        nodes(&["worker-0", "worker-1", "worker-2", "worker-3", "worker-4"])
    );
}

fn at(ms: u64) -> SimTime {
    SimTime::ZERO.saturating_add(SimDuration::from_millis(ms))
}

/// Runs a rolling update of `ds` from image v1 to v2 starting at 60s, checking every 100ms
/// how many eligible nodes lack an available, non-terminating pod; returns the worst count
/// and the final images.
fn rolling_update(ds: DaemonSet) -> (usize, Vec<String>) {
    let s = scenario("", vec![ds]);
    let registry = Registry::default_plugins();
    let mut sim = build(&s, &registry, &options()).unwrap_or_else(|d| panic!("{d}"));
    sim.run(RunLimits::until(at(60_000)));
    let id = sim
        .world()
        .api
        .object_id::<DaemonSet>("default", "agent")
        .unwrap();
    sim.with_context(|w, ctx| {
        w.api
            .update_object::<DaemonSet>(ctx, id, |d| {
                d.template.pod.images = vec!["agent:v2".into()].into();
            })
            .expect("API server up");
    });
    let eligible = ["worker-0", "worker-1", "worker-2"];
    let mut worst = 0;
    let mut t = 60_000;
    while t < 180_000 {
        t += 100;
        sim.run(RunLimits::until(at(t)));
        let api = &sim.world().api;
        let obj = api.object::<DaemonSet>(id);
        let now = sim.now();
        let mut covered = std::collections::BTreeSet::new();
        for p in &obj.pods {
            let r = api.store.pod(*p);
            if r.is_active()
                && r.deletion_timestamp.is_none()
                && is_pod_available(r, obj.spec.min_ready_seconds, now)
                && let Some(n) = r.node
            {
                covered.insert(api.store.node(n).name().to_string());
            }
        }
        let lacking = eligible.iter().filter(|n| !covered.contains(**n)).count();
        worst = worst.max(lacking);
    }
    let api = &sim.world().api;
    let mut images: Vec<String> = api
        .object::<DaemonSet>(id)
        .pods
        .iter()
        .map(|p| api.store.pod(*p))
        .filter(|r| r.is_active() && r.deletion_timestamp.is_none())
        .map(|r| r.pod.images.join(","))
        .collect();
    images.sort();
    let checkers = sim.world().checkers.as_ref().expect("checkers enabled");
    assert!(
        checkers.violations.is_empty(),
        "{:#?}",
        &checkers.violations[..checkers.violations.len().min(5)]
    );
    (worst, images)
}

fn with_strategy(max_unavailable: i32, max_surge: i32) -> DaemonSet {
    let mut ds = daemon_set("agent", true);
    ds.min_ready_seconds = 5;
    ds.update_strategy = DaemonSetUpdateStrategy::RollingUpdate {
        max_unavailable: IntOrPercent::Int(max_unavailable),
        max_surge: IntOrPercent::Int(max_surge),
    };
    ds
}

#[test]
fn rolling_update_with_max_unavailable_one() {
    let (worst, images) = rolling_update(with_strategy(1, 0));
    assert_eq!(worst, 1, "one node at a time lacks an available pod");
    assert_eq!(images, vec!["agent:v2"; 3]);
}

#[test]
fn rolling_update_with_surge_never_leaves_a_node_without_a_pod() {
    let (worst, images) = rolling_update(with_strategy(0, 1));
    assert_eq!(worst, 0);
    assert_eq!(images, vec!["agent:v2"; 3]);
}

#[test]
fn same_seed_same_digest() {
    let s = scenario(
        "timeline:\n  - {at: 30s, addNodes: {pool: worker, count: 1}}\n",
        vec![daemon_set("agent", true), daemon_set("all", false)],
    );
    let digest = || {
        run(&s, &Registry::default_plugins(), &options(), |_, _| {})
            .unwrap_or_else(|d| panic!("{d}"))
            .summary
            .digest
    };
    assert_eq!(digest(), digest());
}

/// A node that leaves (`kubectl delete node`): the DaemonSet stops counting it at once and its
/// daemon pod goes; the Deployment's pod there is removed by the pod garbage collector after
/// upstream's 40 s quarantine (marked Failed, then force-deleted) and replaced on a live node.
#[test]
fn a_node_that_leaves_loses_its_daemon_pod_and_its_other_pods_are_replaced() {
    let text = "name: node-leaves\nseed: 5\nduration: 5m\ncluster:\n  nodePools: [{name: n, count: 3, resources: {cpu: \"4\", memory: 16Gi}}]\nworkloads:\n  - inline: {apiVersion: apps/v1, kind: DaemonSet, metadata: {name: agent}, spec: {selector: {matchLabels: {app: agent}}, template: {metadata: {labels: {app: agent}}, spec: {containers: [{name: c, image: agent}]}}}}\n  - inline: {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 3, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}], containers: [{name: c, image: web, resources: {requests: {cpu: 100m}}}]}}}}\ntimeline:\n  - {at: 1m, delete: {kind: Node, name: n-1}}\n";
    let s = models::scenario::load_str("node-leaves.yaml", text, std::path::Path::new("."))
        .unwrap_or_else(|d| panic!("{d}"));
    let options = models::run::RunOptions {
        check_invariants: true,
        ..models::run::RunOptions::default()
    };
    let o = models::run::run(
        &s,
        &models::scheduler::Registry::default_plugins(),
        &options,
        |_, _| {},
    )
    .unwrap_or_else(|d| panic!("{d}"));
    let checkers = o.simulation.world().checkers.as_ref().expect("checkers on");
    assert!(checkers.violations.is_empty(), "{:?}", checkers.violations);
    let api = &o.simulation.world().api;
    let gone = api.store.node_id("n-1").expect("node n-1 existed");
    assert!(!api.store.node(gone).exists);
    // Nothing active is left on the deleted node.
    assert!(
        !api.store
            .pods
            .iter()
            .any(|r| r.is_active() && r.node == Some(gone)),
        "no active pod stays on a deleted node"
    );
    let ds = api
        .object_id::<models::api::DaemonSet>("default", "agent")
        .expect("agent");
    let ds = api.object::<models::api::DaemonSet>(ds);
    assert_eq!(ds.status.desired_number_scheduled, 2);
    assert_eq!(ds.status.number_available, 2);
    // The web pod on n-1 was force-deleted after the 40 s quarantine, not before.
    let web_on_gone: Vec<_> = api
        .store
        .pods
        .iter()
        .filter(|r| r.pod.name.starts_with("web-") && r.node == Some(gone))
        .collect();
    assert_eq!(web_on_gone.len(), 1);
    let removed = web_on_gone[0].deleted_at.expect("removed by the pod GC");
    assert!(
        removed.as_secs_f64() >= 100.0,
        "quarantine: removed at {removed}"
    );
    assert_eq!(web_on_gone[0].phase, models::api::PodPhase::Failed);
    let d = api.deployment(api.deployment_id("default", "web").expect("web"));
    assert_eq!(d.status.available_replicas, 3, "replaced on a live node");
}
