//! The control plane end to end, through the library's public path (scenario text → run):
//! rollouts checked after every event by the invariant checkers, which live apart from the
//! controllers; a ReplicaSet larger than one burst; a stuck rollout and its rollback; a drain
//! that a PodDisruptionBudget slows down; garbage collection; an API server outage.

use std::path::Path;

use models::api::PodPhase;
use models::run::{RunOptions, RunOutcome, build, run};
use models::scenario::load_str;
use models::scheduler::Registry;
use sim_core::{RunLimits, SimDuration, SimTime};

fn options(check: bool) -> RunOptions {
    RunOptions {
        check_invariants: check,
        ..RunOptions::default()
    }
}

fn run_text(text: &str) -> RunOutcome {
    let s =
        load_str("control-plane-test.yaml", text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    run(&s, &Registry::default_plugins(), &options(true), |_, _| {})
        .unwrap_or_else(|d| panic!("{d}"))
}

fn run_file(file: &str) -> RunOutcome {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(file);
    let s = models::scenario::load(&path).unwrap_or_else(|d| panic!("{d}"));
    run(&s, &Registry::default_plugins(), &options(true), |_, _| {})
        .unwrap_or_else(|d| panic!("{d}"))
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
        "seed {}: {:#?}",
        o.summary.seed,
        &checkers.violations[..checkers.violations.len().min(5)]
    );
}

/// Running, non-terminating pods of a Deployment, by image.
fn pods_by_image(o: &RunOutcome, deployment: &str) -> Vec<(String, usize)> {
    let api = &o.simulation.world().api;
    let id = api
        .deployment_id("default", deployment)
        .expect("deployment exists");
    let mut out: std::collections::BTreeMap<String, usize> = Default::default();
    for rs in &api.deployment(id).replica_sets {
        for p in &api.replica_set(*rs).pods {
            let r = api.store.pod(*p);
            if r.is_active() && r.deletion_timestamp.is_none() && r.phase == PodPhase::Running {
                *out.entry(r.pod.images.join(",")).or_default() += 1;
            }
        }
    }
    out.into_iter().collect()
}

fn messages(o: &RunOutcome, reason: &str) -> Vec<String> {
    o.simulation
        .world()
        .api
        .events
        .iter()
        .filter(|e| e.reason == reason)
        .map(|e| e.message.clone())
        .collect()
}

#[test]
fn rolling_updates_stay_within_surge_and_availability_and_finish() {
    let o = run_file("rolling-update.yaml");
    assert_no_violations(&o);
    let checked = o
        .simulation
        .world()
        .checkers
        .as_ref()
        .unwrap()
        .rollout_checks;
    assert!(
        checked > 1000,
        "the bounds were checked through the rollouts: {checked}"
    );
    assert_eq!(pods_by_image(&o, "web"), vec![("web:v2".to_string(), 10)]);
    assert_eq!(pods_by_image(&o, "api"), vec![("api:v2".to_string(), 10)]);
    let scaling = messages(&o, "ScalingReplicaSet");
    // 25% of 10: surge 3 (rounded up), unavailable 2 (rounded down): the new ReplicaSet starts
    // at 3 and the old one drops to 8 at once.
    assert!(
        scaling
            .iter()
            .any(|m| m.starts_with("Scaled up replica set web-") && m.ends_with("from 0 to 3")),
        "{scaling:#?}"
    );
    assert!(
        scaling
            .iter()
            .any(|m| m.starts_with("Scaled down replica set web-") && m.ends_with("from 10 to 8")),
        "{scaling:#?}"
    );
    // maxSurge 0, maxUnavailable 1: the old ReplicaSet goes down first, one at a time, and
    // the new one is created at 0 ("Scaled up ... from 0 to" is never logged for 0).
    assert!(
        scaling
            .iter()
            .any(|m| m.starts_with("Scaled down replica set api-") && m.ends_with("from 10 to 9"))
    );
    assert!(
        scaling
            .iter()
            .any(|m| m.starts_with("Scaled up replica set api-") && m.ends_with("from 0 to 1"))
    );
    let api = &o.simulation.world().api;
    let web = api.deployment(api.deployment_id("default", "web").unwrap());
    assert_eq!(web.status.updated_replicas, 10);
    assert_eq!(web.status.available_replicas, 10);
    assert_eq!(
        web.status.condition("Progressing").map(|c| c.reason),
        Some("NewReplicaSetAvailable")
    );
    // Two ReplicaSets: revision 1 scaled to 0 and kept (history limit 10), revision 2 live.
    let revisions: Vec<(i64, i32)> = web
        .replica_sets
        .iter()
        .map(|r| {
            (
                api.replica_set(*r).revision(),
                api.replica_set(*r).rs.replicas,
            )
        })
        .collect();
    assert_eq!(revisions, vec![(1, 0), (2, 10)]);
}

#[test]
fn a_replica_set_larger_than_a_burst_converges() {
    // Upstream burstReplicas is 500: 1,200 replicas take three syncs, each waiting for the
    // previous burst's creations to come back through the watch (expectations).
    let o = run_text(
        r#"
name: big-rs
duration: 5m
cluster:
  nodePools: [{name: big, count: 12, resources: {cpu: "200", memory: 800Gi, pods: 200}}]
workloads:
  - inline:
      apiVersion: apps/v1
      kind: ReplicaSet
      metadata: {name: many}
      spec:
        replicas: 1200
        selector: {matchLabels: {app: many}}
        template:
          metadata: {labels: {app: many}}
          spec: {containers: [{name: c, image: x, resources: {requests: {cpu: 100m}}}]}
"#,
    );
    assert_no_violations(&o);
    let api = &o.simulation.world().api;
    let rs = api.replica_set(api.replica_set_id("default", "many").unwrap());
    assert_eq!(rs.status.replicas, 1200);
    assert_eq!(rs.status.ready_replicas, 1200);
    assert_eq!(messages(&o, "SuccessfulCreate").len(), 1200);
}

#[test]
fn a_stuck_rollout_hits_its_deadline_and_is_rolled_back() {
    let o = run_file("stuck-rollout.yaml");
    assert_no_violations(&o);
    let exceeded = messages(&o, "ProgressDeadlineExceeded");
    assert_eq!(exceeded.len(), 1, "{exceeded:?}");
    let at = o
        .simulation
        .world()
        .api
        .events
        .iter()
        .find(|e| e.reason == "ProgressDeadlineExceeded")
        .unwrap()
        .time();
    // The rollout starts at 1m; nothing progresses once the 2 surge pods fail to pull; the
    // deadline is 120s after the last progress.
    assert!(
        at >= SimTime::ZERO.saturating_add(SimDuration::from_secs(180)),
        "{at}"
    );
    assert!(
        at < SimTime::ZERO.saturating_add(SimDuration::from_secs(240)),
        "{at}"
    );
    assert!(
        messages(&o, "Failed")
            .iter()
            .any(|m| m == "Error: ErrImagePull")
    );
    assert_eq!(
        messages(&o, "DeploymentRollback"),
        vec!["Rolled back deployment \"cart\" to revision 1".to_string()]
    );
    assert_eq!(
        pods_by_image(&o, "cart"),
        vec![("shop/cart:v1".to_string(), 6)]
    );
    // Upstream: the rolled-back-to ReplicaSet becomes the newest revision (max + 1 = 3), and
    // the summary reports the Deployment complete again.
    let w = &o.summary.workloads[0];
    assert_eq!(
        (w.name.as_str(), w.available, w.revision),
        ("cart", 6, Some(3))
    );
    assert_eq!(w.progressing.as_deref(), Some("NewReplicaSetAvailable"));
}

#[test]
fn a_drain_waits_for_the_disruption_budget() {
    let o = run_file("drain-with-pdb.yaml");
    assert_no_violations(&o);
    let world = o.simulation.world();
    assert!(world.checkers.as_ref().unwrap().evictions_checked >= 4);
    let drain = messages(&o, "Drain");
    let evicting = drain
        .iter()
        .filter(|m| m.starts_with("evicting pod"))
        .count();
    let refused = drain
        .iter()
        .filter(|m| m.contains("disruption budget"))
        .count();
    assert_eq!(evicting, 4, "{drain:#?}");
    assert!(
        refused >= 3,
        "each of the last three evictions waits at least once: {drain:#?}"
    );
    assert_eq!(
        drain.last().map(String::as_str),
        Some("node/general-0 drained")
    );
    let api = &world.api;
    let node = api.store.node_id("general-0").unwrap();
    assert!(api.store.node(node).node.unschedulable);
    assert!(
        api.store
            .node(node)
            .pods
            .iter()
            .all(|p| !api.store.pod(*p).is_active())
    );
    assert_eq!(
        pods_by_image(&o, "checkout"),
        vec![("checkout:v1".to_string(), 4)]
    );
}

fn gc_scenario(policy: &str) -> String {
    format!(
        r#"
name: gc-{policy}
duration: 3m
cluster:
  nodePools: [{{name: general, count: 2, resources: {{cpu: "8", memory: 32Gi}}}}]
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {{name: web}}
      spec:
        replicas: 3
        selector: {{matchLabels: {{app: web}}}}
        template:
          metadata: {{labels: {{app: web}}}}
          spec: {{containers: [{{name: c, image: web:v1}}]}}
timeline:
  - {{at: 1m, delete: {{kind: Deployment, name: web, propagationPolicy: {policy}}}}}
"#
    )
}

#[test]
fn deleting_a_deployment_collects_or_orphans_its_dependents() {
    for policy in ["Background", "Foreground"] {
        let o = run_text(&gc_scenario(policy));
        let api = &o.simulation.world().api;
        assert!(api.deployment_id("default", "web").is_none(), "{policy}");
        assert!(api.replica_sets.iter().all(|rs| rs.deleted), "{policy}");
        assert_eq!(api.store.active_pods().count(), 0, "{policy}");
    }
    let o = run_text(&gc_scenario("Orphan"));
    let api = &o.simulation.world().api;
    assert!(api.deployment_id("default", "web").is_none());
    let live: Vec<_> = api.replica_sets.iter().filter(|rs| rs.exists()).collect();
    assert_eq!(live.len(), 1);
    assert!(
        live[0].rs.owner.is_none(),
        "the ReplicaSet lost its ownerReference"
    );
    assert_eq!(live[0].pods.len(), 3, "its pods stay, still owned by it");
    assert_eq!(api.store.active_pods().count(), 3);
}

#[test]
fn writes_during_an_api_server_outage_are_retried_and_converge() {
    let text = r#"
name: outage
duration: 5m
cluster:
  nodePools: [{name: general, count: 2, resources: {cpu: "8", memory: 32Gi}}]
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 2
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec: {containers: [{name: c, image: web:v1}]}
  - at: 90s                           # arrives while the API server is down
    inline: {apiVersion: v1, kind: Pod, metadata: {name: late}, spec: {containers: [{name: c, image: x}]}}
timeline:
  - {at: 1m, scale: {deployment: web, replicas: 6}}
"#;
    let s = load_str("outage.yaml", text, Path::new(".")).unwrap();
    let registry = Registry::default_plugins();
    let mut sim = build(&s, &registry, &options(true)).unwrap();
    let at = |s: u64| SimTime::ZERO.saturating_add(SimDuration::from_secs(s));
    sim.run(RunLimits::until(at(50)));
    sim.world_mut().api.set_available(false);
    sim.run(RunLimits::until(at(120)));
    let api = &sim.world().api;
    assert!(
        api.counters.rejected_writes > 0,
        "the scale was refused while down"
    );
    assert_eq!(
        api.store.active_pods().count(),
        2,
        "nothing changed while down"
    );
    sim.world_mut().api.set_available(true);
    sim.run(RunLimits::until(at(300)));
    let api = &sim.world().api;
    let id = api.deployment_id("default", "web").unwrap();
    assert_eq!(api.deployment(id).d.replicas, 6);
    assert_eq!(api.deployment(id).status.available_replicas, 6);
    // The pod refused at 90s was created once the API server was back, and runs.
    let late = api
        .store
        .pod(api.store.pod_id("late").expect("created after the outage"));
    assert!(late.created_at > at(120) && late.ready);
}

#[test]
fn pause_holds_the_rollout_and_a_scale_goes_to_the_active_replica_set() {
    let o = run_text(
        r#"
name: proportional
duration: 10m
cluster:
  nodePools: [{name: general, count: 4, resources: {cpu: "16", memory: 64Gi}}]
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 10
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec: {containers: [{name: c, image: web:v1}]}
behaviour:
  podStartup: 20s..30s
timeline:
  - {at: 1m, rollout: {deployment: web, image: web:v2}}
  - {at: 1m, pause: {deployment: web}}
  - {at: 2m, scale: {deployment: web, replicas: 20}}
  - {at: 5m, resume: {deployment: web}}
"#,
    );
    assert_no_violations(&o);
    let scaling = messages(&o, "ScalingReplicaSet");
    // Paused at once: the new ReplicaSet is created only on resume. Meanwhile the scale to 20
    // goes to the only active ReplicaSet.
    assert!(
        scaling.iter().any(|m| m.contains("from 10 to 20")),
        "{scaling:#?}"
    );
    assert_eq!(pods_by_image(&o, "web"), vec![("web:v2".to_string(), 20)]);
}

#[test]
fn scaling_mid_rollout_spreads_the_new_replicas_in_proportion() {
    // Upstream `scale()` (sync.go) with the Deployment mid-rollout. 10 replicas, surge 3,
    // unavailable 2: new 0 -> 3, old 10 -> 8, then `reconcileNewReplicaSet` fills the surge
    // (13 - 11 = 2): new 3 -> 5. The new pods take 60s to start, so the rollout waits at
    // old 8 / new 5. Scaling to 20: allowed = 20 + maxSurge(25% of 20 = 5) = 25, to add =
    // 25 - 13 = 12. Fractions against the max-replicas annotation (13): old round(8*25/13) =
    // round(15.4) = 15 (+7), new round(5*25/13) = round(9.6) = 10 (+5); nothing left over:
    // old 8 -> 15, new 5 -> 10.
    let o = run_text(
        r#"
name: proportional-exact
duration: 10m
controlPlane: {watchLatency: 50ms, apiLatency: 0s}
cluster:
  nodePools: [{name: general, count: 4, resources: {cpu: "16", memory: 64Gi}}]
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 10
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec: {containers: [{name: c, image: web:v1}]}
behaviour:
  podStartup: 60s
timeline:
  - {at: 2m, rollout: {deployment: web, image: web:v2}}
  - {at: 2m20s, scale: {deployment: web, replicas: 20}}
"#,
    );
    assert_no_violations(&o);
    let scaling = messages(&o, "ScalingReplicaSet");
    let at_scale: Vec<&String> = scaling
        .iter()
        .filter(|m| m.ends_with("from 8 to 15") || m.ends_with("from 5 to 10"))
        .collect();
    assert_eq!(at_scale.len(), 2, "{scaling:#?}");
    assert!(
        scaling.iter().any(|m| m.ends_with("from 3 to 5")),
        "{scaling:#?}"
    );
    assert_eq!(pods_by_image(&o, "web"), vec![("web:v2".to_string(), 20)]);
}

#[test]
fn recreate_empties_the_old_pods_first_and_history_is_pruned_to_its_limit() {
    let o = run_text(
        r#"
name: recreate
duration: 15m
cluster:
  nodePools: [{name: general, count: 2, resources: {cpu: "8", memory: 32Gi}}]
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: db}
      spec:
        replicas: 3
        revisionHistoryLimit: 1
        strategy: {type: Recreate}
        selector: {matchLabels: {app: db}}
        template:
          metadata: {labels: {app: db}}
          spec: {containers: [{name: c, image: db:v1}], terminationGracePeriodSeconds: 20}
timeline:
  - {at: 2m, rollout: {deployment: db, image: db:v2}}
  - {at: 5m, rollout: {deployment: db, image: db:v3}}
  - {at: 8m, rollout: {deployment: db, image: db:v4}}
"#,
    );
    assert_no_violations(&o);
    let world = o.simulation.world();
    let api = &world.api;
    // Recreate: the first v2 pod is created only after every v1 pod is gone (their 20s grace
    // period included).
    let events = &api.events;
    let first_v2 = events
        .iter()
        .find(|e| e.reason == "SuccessfulCreate" && e.time_ns > 120_000_000_000)
        .map(|e| e.time())
        .unwrap();
    let v1_gone = api
        .store
        .pods
        .iter()
        .filter(|p| p.pod.images == ["db:v1"])
        .map(|p| p.deleted_at.expect("every v1 pod went"))
        .max()
        .unwrap();
    assert!(first_v2 >= v1_gone, "{first_v2} before {v1_gone}");
    assert!(v1_gone.since(sim_core::SimTime::ZERO) >= SimDuration::from_secs(140));
    assert_eq!(pods_by_image(&o, "db"), vec![("db:v4".to_string(), 3)]);
    // revisionHistoryLimit 1: of the three old ReplicaSets, only the newest old one is kept.
    let id = api.deployment_id("default", "db").unwrap();
    let mut revisions: Vec<i64> = api
        .deployment(id)
        .replica_sets
        .iter()
        .map(|r| api.replica_set(*r).revision())
        .collect();
    revisions.sort();
    assert_eq!(revisions, vec![3, 4]);
}

#[test]
fn a_binding_refused_during_an_outage_is_retried_after_its_backoff() {
    let text = r#"
name: bind-outage
duration: 2m
controlPlane: {watchLatency: 50ms, apiLatency: 0s}
scheduler: {schedulingCost: 0}    # the backoff arithmetic below, to the millisecond
cluster:
  nodePools: [{name: general, count: 1, resources: {cpu: "8", memory: 32Gi}}]
workloads:
  - at: 30s
    inline: {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: x}]}}
"#;
    let s = load_str("bind-outage.yaml", text, Path::new(".")).unwrap();
    let mut sim = build(&s, &Registry::default_plugins(), &options(true)).unwrap();
    let ms = |m: u64| SimTime::ZERO.saturating_add(SimDuration::from_millis(m));
    // Created at 30s; the scheduler sees it and binds at 30.05s — while the API is down.
    sim.run(RunLimits::until(ms(30_010)));
    sim.world_mut().api.set_available(false);
    sim.run(RunLimits::until(ms(40_000)));
    let api = &sim.world().api;
    let pod = api.store.pod_id("p").unwrap();
    assert!(api.store.pod(pod).node.is_none());
    assert!(
        api.events
            .iter()
            .any(|e| e.reason == "FailedScheduling" && e.message.starts_with("Binding rejected"))
    );
    sim.world_mut().api.set_available(true);
    sim.run(RunLimits::until(ms(120_000)));
    let r = sim.world().api.store.pod(pod);
    // Each refusal puts the pod in the backoff queue (not the unschedulable one), so it is
    // retried as its backoff (1s, 2s, 4s, 8s: doubling per attempt) expires, at the queue's
    // next 1s flush: four refusals while down, then bound at 46s — not after the 5-minute
    // leftover flush of unschedulable pods.
    let bound = r.scheduled_at.expect("bound after the outage");
    assert_eq!(bound, ms(46_000));
    let refused = sim
        .world()
        .api
        .events
        .iter()
        .filter(|e| e.message.starts_with("Binding rejected"))
        .count();
    assert_eq!(refused, 4);
}

#[test]
fn a_replication_controller_runs_and_scales_like_a_replica_set() {
    let o = run_text(
        r#"
name: rc
duration: 3m
cluster:
  nodePools: [{name: general, count: 2, resources: {cpu: "8", memory: 32Gi}}]
workloads:
  - inline:
      apiVersion: v1
      kind: ReplicationController
      metadata: {name: legacy}
      spec:
        replicas: 2
        template:
          metadata: {labels: {app: legacy}}
          spec: {containers: [{name: c, image: legacy:v1}]}
timeline:
  - {at: 1m, scale: {replicationController: legacy, replicas: 5}}
  - {at: 2m, scale: {replicationController: legacy, replicas: 1}}
"#,
    );
    assert_no_violations(&o);
    let api = &o.simulation.world().api;
    let rc = api.replica_set(api.replica_set_id("default", "legacy").unwrap());
    assert_eq!(rc.rs.kind, models::api::OwnerKind::ReplicationController);
    assert_eq!((rc.status.replicas, rc.status.ready_replicas), (1, 1));
    let created = messages(&o, "SuccessfulCreate");
    let deleted = messages(&o, "SuccessfulDelete");
    assert_eq!((created.len(), deleted.len()), (5, 4));
    assert!(
        o.simulation
            .world()
            .api
            .events
            .iter()
            .any(|e| e.object == "replicationcontroller/legacy")
    );
}

/// `kubectl drain` evicts the pods it listed when it started and waits for those to go: a
/// StatefulSet's replacement that lands on the node again (it was uncordoned meanwhile) keeps
/// the name but is another pod, and is left alone; DaemonSet pods are never evicted
/// (`--ignore-daemonsets`).
#[test]
fn drain_evicts_the_pods_it_listed_and_ignores_daemon_set_pods() {
    let o = run_text(
        "name: drain-listed\nseed: 2\nduration: 5m\ncluster:\n  nodePools: [{name: n, count: 1, resources: {cpu: \"4\", memory: 16Gi}}]\nworkloads:\n  - inline: {apiVersion: apps/v1, kind: StatefulSet, metadata: {name: w}, spec: {replicas: 1, serviceName: w, selector: {matchLabels: {app: w}}, template: {metadata: {labels: {app: w}}, spec: {containers: [{name: c, image: w}]}}}}\n  - inline: {apiVersion: apps/v1, kind: DaemonSet, metadata: {name: agent}, spec: {selector: {matchLabels: {app: agent}}, template: {metadata: {labels: {app: agent}}, spec: {containers: [{name: c, image: agent}]}}}}\ntimeline:\n  - {at: 1m, drain: {node: n-0}}\n  - {at: 1m5s, uncordon: {node: n-0}}\n",
    );
    let drain: Vec<String> = o
        .simulation
        .world()
        .api
        .events
        .iter()
        .filter(|e| e.reason == "Drain")
        .map(|e| e.message.clone())
        .collect();
    assert_eq!(
        drain,
        ["evicting pod default/w-0", "node/n-0 drained"],
        "one eviction, of the pod listed at the start"
    );
    let api = &o.simulation.world().api;
    let w0 = api.store.pod_id("default/w-0").expect("w-0 replaced");
    let r = api.store.pod(w0);
    assert!(
        r.is_active() && r.ready,
        "the replacement runs on the uncordoned node"
    );
    let agents = api
        .store
        .pods
        .iter()
        .filter(|p| p.pod.name.starts_with("agent-"))
        .count();
    assert_eq!(
        agents, 1,
        "the DaemonSet pod was never evicted nor replaced"
    );
}
