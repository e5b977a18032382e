//! Namespaces with ResourceQuotas and LimitRanges, end to end through scenario text: admission
//! refuses what would exceed a quota with upstream's message, as a `FailedCreate` event on the
//! controller that tried; LimitRange defaults become the pods' requests; usage is given back
//! when pods go, so a controller that retries gets its pods once there is room.

use std::path::Path;

use models::run::{RunOptions, RunOutcome, run};
use models::scenario::load_str;
use models::scheduler::Registry;

fn run_text(text: &str) -> RunOutcome {
    let s = load_str("quota.yaml", text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
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

fn events(o: &RunOutcome, object_prefix: &str, reason: &str) -> Vec<String> {
    o.simulation
        .world()
        .api
        .events
        .iter()
        .filter(|e| e.object.starts_with(object_prefix) && e.reason == reason)
        .map(|e| e.message.clone())
        .collect()
}

const NAMESPACE: &str = "
  - inline: {apiVersion: v1, kind: Namespace, metadata: {name: team-a}}
  - inline:
      apiVersion: v1
      kind: ResourceQuota
      metadata: {name: compute, namespace: team-a}
      spec: {hard: {requests.cpu: \"2\", persistentvolumeclaims: \"2\", count/jobs.batch: \"1\"}}
  - inline:
      apiVersion: v1
      kind: LimitRange
      metadata: {name: defaults, namespace: team-a}
      spec:
        limits:
          - {type: Container, defaultRequest: {cpu: 250m, memory: 256Mi}, default: {cpu: 500m, memory: 512Mi}}
";

fn scenario(workloads: &str, timeline: &str) -> String {
    format!(
        "name: quota\nseed: 3\nduration: 10m\ncluster:\n  nodePools: [{{name: general, count: 3, resources: {{cpu: \"8\", memory: 32Gi}}, zones: [a, b, c]}}]\nworkloads:\n{NAMESPACE}{workloads}timeline:\n{timeline}"
    )
}

const WEB: &str = "
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web, namespace: team-a}
      spec:
        replicas: 10
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec: {containers: [{name: web, image: nginx}]}
";

/// 2 CPUs of quota and 250m per pod from the LimitRange: 8 of 10 pods. Scaled down to 4, the
/// usage is given back; scaled up again to 10, the ReplicaSet again gets exactly 8.
#[test]
fn a_quota_caps_a_deployment_and_gives_usage_back() {
    let o = run_text(&scenario(
        WEB,
        "  - {at: 3m, scale: {deployment: web, namespace: team-a, replicas: 4}}\n  - {at: 5m, scale: {deployment: web, namespace: team-a, replicas: 10}}\n",
    ));
    let api = &o.simulation.world().api;
    let active: Vec<_> = api
        .store
        .active_pods()
        .filter(|r| r.pod.namespace == "team-a" && r.deletion_timestamp.is_none())
        .collect();
    assert_eq!(active.len(), 8, "2 CPUs / 250m");
    for r in &active {
        assert_eq!(r.pod.requests.cpu_milli, 250, "LimitRange defaultRequest");
        assert_eq!(r.pod.requests.memory, 256 * 1024 * 1024);
    }
    let refused = events(&o, "replicaset/web-", "FailedCreate");
    assert!(!refused.is_empty());
    let m = &refused[0];
    assert!(
        m.starts_with("Error creating: pods \"web-")
            && m.ends_with(
                "\" is forbidden: exceeded quota: compute, requested: requests.cpu=250m, used: requests.cpu=2, limited: requests.cpu=2"
            ),
        "{m}"
    );
    // After the scale down to 4 and back up, pods were created again: usage was given back.
    let created_after_5m = api
        .store
        .pods
        .iter()
        .filter(|r| r.pod.namespace == "team-a" && r.created_at.as_secs_f64() >= 300.0)
        .count();
    assert_eq!(created_after_5m, 4, "room for 4 more once 4 had gone");
    let quota = &api.admission.quotas["team-a"][0];
    assert_eq!(quota.used["requests.cpu"].milli_value(), 2000);
}

/// A `persistentvolumeclaims: 2` quota lets a StatefulSet of 3 create two claims; the third
/// pod's claim is refused (`FailedCreate` on the StatefulSet) and that pod never exists.
/// `count/jobs.batch: 1` refuses the second Job at apply time.
#[test]
fn claim_and_object_count_quotas_refuse_what_exceeds_them() {
    let sts = "
  - inline:
      apiVersion: apps/v1
      kind: StatefulSet
      metadata: {name: db, namespace: team-a}
      spec:
        replicas: 3
        serviceName: db
        selector: {matchLabels: {app: db}}
        template:
          metadata: {labels: {app: db}}
          spec: {containers: [{name: db, image: postgres}]}
        volumeClaimTemplates:
          - metadata: {name: data}
            spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
  - inline: {apiVersion: batch/v1, kind: Job, metadata: {name: first, namespace: team-a}, spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}}}}
  - inline: {apiVersion: batch/v1, kind: Job, metadata: {name: second, namespace: team-a}, spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}}}}
";
    let o = run_text(&scenario(sts, "  []\n"));
    let api = &o.simulation.world().api;
    let claims: Vec<_> = api
        .store
        .storage
        .claims
        .iter()
        .map(|c| c.claim.name.clone())
        .collect();
    assert_eq!(claims, ["data-db-0", "data-db-1"]);
    let refused = events(&o, "statefulset/db", "FailedCreate");
    assert!(
        refused.iter().any(|m| m.contains(
            "persistentvolumeclaims \"data-db-2\" is forbidden: exceeded quota: compute, requested: persistentvolumeclaims=1, used: persistentvolumeclaims=2, limited: persistentvolumeclaims=2"
        )),
        "{refused:?}"
    );
    assert!(api.store.pod_id("team-a/db-2").is_none());
    assert!(
        api.object_id::<models::api::Job>("team-a", "first")
            .is_some()
    );
    assert!(
        api.object_id::<models::api::Job>("team-a", "second")
            .is_none()
    );
    let job_refused = events(&o, "job/second", "FailedCreate");
    assert_eq!(
        job_refused,
        [
            "jobs.batch \"second\" is forbidden: exceeded quota: compute, requested: count/jobs.batch=1, used: count/jobs.batch=1, limited: count/jobs.batch=1"
        ]
    );
}
