//! Node failure end to end, through the library's public path (scenario → simulation): a
//! node's kubelet stops renewing its Lease; the node lifecycle controller marks the node
//! `Ready=Unknown` once `nodeMonitorGracePeriod` (50 s) has passed since it last saw a renewal,
//! taints it `unreachable` (NoSchedule at once, NoExecute through the zone's rate limiter), and
//! the taint eviction controller deletes its pods when their `tolerationSeconds` run out (300 s
//! by default admission). The pods' controllers replace them on the healthy nodes. The
//! invariant checkers run after every event.

use std::path::Path;

use models::api::{NodeId, PodId, TaintEffect};
use models::apiserver::ConditionStatus;
use models::cluster::Cluster;
use models::run::{RunOptions, build};
use models::scenario::load_str;
use models::scheduler::Registry;
use sim_core::{RunLimits, SimDuration, SimTime, Simulation};

const SCENARIO: &str = r#"
name: node-failure
seed: 11
duration: 15m
cluster:
  nodePools:
    - name: worker
      count: 4
      resources: {cpu: "8", memory: 32Gi, pods: 110}
      zones: [zone-a]
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 8
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec: {containers: [{name: c, image: web:v1, resources: {requests: {cpu: 500m}}}]}
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: patient}
      spec:
        replicas: 1
        selector: {matchLabels: {app: patient}}
        template:
          metadata: {labels: {app: patient}}
          spec:
            nodeSelector: {kubernetes.io/hostname: worker-0}
            tolerations:
              - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 600}
            containers: [{name: c, image: patient:v1, resources: {requests: {cpu: 100m}}}]
"#;

const T0: SimTime = SimTime::from_nanos(100_000_000_000);

fn secs(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}

fn simulate() -> Simulation<Cluster> {
    let s =
        load_str("node-failure.yaml", SCENARIO, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    let options = RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    };
    let mut sim =
        build(&s, &Registry::default_plugins(), &options).unwrap_or_else(|d| panic!("{d}"));
    sim.run(RunLimits::until(T0));
    sim.with_context(|cluster, ctx| {
        let node = cluster.api.store.node_id("worker-0").expect("worker-0");
        cluster.api.lease_renewals_stopped(ctx, node);
    });
    sim.run(RunLimits::until(SimTime::from_nanos(900_000_000_000)));
    sim
}

fn event_times(c: &Cluster, reason: &str, object: &str) -> Vec<SimTime> {
    c.api
        .events
        .iter()
        .filter(|e| e.reason == reason && e.object == object)
        .map(|e| e.time())
        .collect()
}

fn pods_named(c: &Cluster, prefix: &str) -> Vec<PodId> {
    c.api
        .store
        .pods
        .iter()
        .filter(|r| r.pod.name.starts_with(prefix))
        .map(|r| r.id)
        .collect()
}

#[test]
fn an_unreachable_node_is_tainted_and_its_pods_evicted_after_their_tolerations() {
    let sim = simulate();
    let c = sim.world();
    // The rollout checker counts evictions, preemptions and pod GC as disruptions, not a
    // node's failure: the pods marked not Ready on the dead node are its only findings.
    let checkers = c.checkers.as_ref().expect("checkers enabled");
    let other: Vec<_> = checkers
        .violations
        .iter()
        .filter(|v| v.invariant != "rollout-availability" || v.at < T0 + secs(55))
        .collect();
    assert!(other.is_empty(), "{:#?}", &other[..other.len().min(5)]);
    let dead = c.api.store.node_id("worker-0").expect("worker-0");
    let info = c.api.store.node(dead);

    // The last renewal was at 100 s; the controller saw it at its 100 s poll; Ready goes
    // Unknown at the first poll after 100 s + 50 s.
    assert_eq!(info.conditions.ready, ConditionStatus::Unknown);
    let not_ready = event_times(c, "NodeNotReady", "node/worker-0");
    assert_eq!(not_ready, vec![T0 + secs(55)]);
    let msg = c
        .api
        .events
        .iter()
        .find(|e| e.reason == "NodeNotReady" && e.object == "node/worker-0")
        .map(|e| e.message.clone());
    assert_eq!(
        msg.as_deref(),
        Some("Node worker-0 status is now: NodeNotReady")
    );
    assert_eq!(info.conditions.ready_transition, T0 + secs(55));
    for (key, effect) in [
        ("node.kubernetes.io/unreachable", TaintEffect::NoSchedule),
        ("node.kubernetes.io/unreachable", TaintEffect::NoExecute),
    ] {
        assert!(
            info.node
                .taints
                .iter()
                .any(|t| t.key == key && t.effect == effect),
            "{key}:{effect:?} missing: {:?}",
            info.node.taints
        );
    }
    // The other nodes are untouched.
    for n in 1..4 {
        let other = c.api.store.node(NodeId(n));
        assert_eq!(other.conditions.ready, ConditionStatus::True);
        assert!(other.node.taints.is_empty(), "{:?}", other.node.taints);
    }

    // The NoExecute taint goes on at the next poll (the first one to observe Unknown); the
    // taint eviction controller sees it one watch delivery later.
    let tainted = T0 + secs(60);
    let evictions: Vec<(String, SimTime)> = c
        .api
        .events
        .iter()
        .filter(|e| e.reason == "TaintManagerEviction")
        .map(|e| (e.message.clone(), e.time()))
        .collect();
    assert!(!evictions.is_empty());
    let mut web_on_dead = 0;
    for pod in pods_named(c, "web-")
        .into_iter()
        .chain(pods_named(c, "patient-"))
    {
        let r = c.api.store.pod(pod);
        if r.node != Some(dead) {
            continue;
        }
        let name = &r.pod.name;
        // Marked not Ready when the node went Unknown.
        assert_eq!(
            event_times(c, "NodeNotReady", &format!("pod/{name}")),
            vec![T0 + secs(55)],
            "{name}"
        );
        let toleration = if name.starts_with("patient-") {
            600
        } else {
            300
        };
        let deleted = r.deletion_timestamp.expect("evicted");
        assert!(
            deleted >= tainted + secs(toleration) && deleted <= tainted + secs(toleration + 2),
            "{name} deleted at {deleted}"
        );
        let marked: Vec<_> = evictions
            .iter()
            .filter(|(m, _)| *m == format!("Marking for deletion Pod default/{name}"))
            .collect();
        assert_eq!(marked.len(), 1, "{name}: {evictions:?}");
        assert_eq!(marked[0].1, deleted);
        if name.starts_with("web-") {
            web_on_dead += 1;
        }
    }
    assert!(web_on_dead > 0, "no web pod landed on worker-0");

    // Replacements run elsewhere: the NoSchedule taint keeps them off the dead node.
    let running_elsewhere = pods_named(c, "web-")
        .into_iter()
        .map(|p| c.api.store.pod(p))
        .filter(|r| r.is_active() && r.deletion_timestamp.is_none() && r.ready)
        .inspect(|r| assert_ne!(r.node, Some(dead), "{} placed on the dead node", r.pod.name))
        .count();
    assert_eq!(running_elsewhere, 8);
}

#[test]
fn runs_are_deterministic() {
    let a = simulate();
    let b = simulate();
    assert_eq!(a.digest(), b.digest());
    assert_eq!(a.world().api.events.len(), b.world().api.events.len());
}
