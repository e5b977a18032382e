//! The kubelet's container lifecycle through whole runs: probes, CrashLoopBackOff, init
//! containers, image pulls and graceful termination, read back from the event log.

use std::path::Path;

use models::events::EventRecord;
use models::run::{RunOptions, RunOutcome, run};
use models::scenario::load_str;
use models::scheduler::Registry;

fn run_text(text: &str) -> RunOutcome {
    let s = load_str("kubelet-test.yaml", text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    let options = RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    };
    run(&s, &Registry::default_plugins(), &options, |_, _| {}).unwrap_or_else(|d| panic!("{d}"))
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

fn secs(e: &EventRecord) -> f64 {
    e.time().as_secs_f64()
}

/// A one-node cluster with one Deployment whose pod spec is `spec` (indented for the
/// template), plus `extra` top-level YAML.
fn scenario(duration: &str, spec: &str, extra: &str) -> String {
    format!(
        r#"name: kubelet-test
seed: 3
duration: {duration}
cluster:
  nodePools:
    - {{name: pool, count: 1, resources: {{cpu: "8", memory: 32Gi}}}}
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {{name: app}}
      spec:
        replicas: 1
        selector: {{matchLabels: {{app: app}}}}
        template:
          metadata: {{labels: {{app: app}}}}
          spec:
{spec}
{extra}
"#
    )
}

#[test]
fn readiness_failing_after_a_while_makes_the_deployment_unavailable() {
    let spec = r#"            containers:
              - name: app
                image: app:v1
                readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 10}"#;
    let o = run_text(&scenario(
        "5m",
        spec,
        "behaviour:\n  podStartup: 2s\n  app: {readiness: {failAfter: 1m}}",
    ));
    let started = events(&o, "Started");
    let unhealthy = events(&o, "Unhealthy");
    assert_eq!(started.len(), 1);
    assert_eq!(unhealthy.len(), 1, "{unhealthy:?}");
    assert!(unhealthy[0].message.starts_with("Readiness probe failed: "));
    // Checks at s+0, s+10, …: failing from s+60; the third failure in a row (the default
    // failureThreshold) is the check at s+80, known when it times out 1s later.
    assert_eq!(secs(unhealthy[0]) - secs(started[0]), 81.0);
    let api = &o.simulation.world().api;
    let ready = api
        .store
        .pods
        .iter()
        .filter(|r| r.is_active() && r.ready)
        .count();
    assert_eq!(ready, 0, "the pod is no longer Ready");
    assert!(api.store.pods.iter().all(|r| r.restarts == 0));
}

#[test]
fn liveness_failures_restart_the_container_with_crash_loop_back_off() {
    let spec = r#"            terminationGracePeriodSeconds: 10
            containers:
              - name: app
                image: app:v1
                livenessProbe: {exec: {command: ['true']}, periodSeconds: 5, failureThreshold: 2}"#;
    let o = run_text(&scenario(
        "10m",
        spec,
        "behaviour:\n  podStartup: 1s\n  app: {liveness: {failAfter: 20s}}",
    ));
    let killing = events(&o, "Killing");
    assert!(
        killing
            .iter()
            .all(|e| e.message == "Container app failed liveness probe, will be restarted")
    );
    let started: Vec<f64> = events(&o, "Started").iter().map(|e| secs(e)).collect();
    let gaps: Vec<f64> = started.windows(2).map(|w| gap(w[0], w[1])).collect();
    // Each run: checks at s+0, s+5, …, failing from s+20; the second failure in a row is
    // the check at s+25, known at s+26; the kill takes the 10s grace period; the restart
    // waits 0, 10s, 20s, 40s (upstream CrashLoopBackOff).
    assert_eq!(&gaps[..4], &[36.0, 46.0, 56.0, 76.0], "{started:?}");
    let back_off = events(&o, "BackOff");
    assert!(
        back_off[0]
            .message
            .starts_with("Back-off restarting failed container app in pod app-")
    );
    let unhealthy = events(&o, "Unhealthy");
    assert!(unhealthy[0].message.starts_with("Liveness probe failed: "));
}

#[test]
fn init_containers_run_in_order_before_the_app_container() {
    let spec = r#"            initContainers:
              - {name: migrate, image: app:v1}
              - {name: proxy, image: proxy:v1, restartPolicy: Always}
              - {name: warm, image: app:v1}
            containers:
              - name: app
                image: app:v1"#;
    let o = run_text(&scenario(
        "2m",
        spec,
        "behaviour:\n  podStartup: 3s\n  app: {initContainers: 5s}",
    ));
    let started: Vec<(String, f64)> = events(&o, "Started")
        .iter()
        .map(|e| (e.message.clone(), secs(e)))
        .collect();
    let names: Vec<&str> = started.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        names,
        [
            "Started container migrate",
            "Started container proxy",
            "Started container warm",
            "Started container app"
        ]
    );
    let t: Vec<f64> = started.iter().map(|(_, t)| *t).collect();
    // migrate runs 5s; the sidecar starts and the next one right after; warm runs 5s; the
    // app container runs after the startup time.
    assert_eq!(gap(t[0], t[1]), 5.0);
    assert_eq!(gap(t[1], t[2]), 0.0);
    assert_eq!(gap(t[2], t[3]), 8.0);
}

const PULL_TIMELINE: &str = r#"timeline:
  - {at: 2m, scale: {deployment: app, replicas: 2}}"#;

#[test]
fn an_image_is_pulled_once_per_node() {
    let spec = r#"            containers:
              - name: app
                image: repo/app:1.0"#;
    let extra = format!(
        "behaviour:\n  podStartup: 1s\n  images: {{\"repo/app:1.0\": {{size: 500Mi, pull: 20s}}}}\n{PULL_TIMELINE}"
    );
    let o = run_text(&scenario("5m", spec, &extra));
    let pulling = events(&o, "Pulling");
    let pulled: Vec<&str> = events(&o, "Pulled")
        .iter()
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(pulling.len(), 1);
    assert_eq!(pulling[0].message, "Pulling image \"repo/app:1.0\"");
    assert_eq!(
        pulled,
        [
            "Successfully pulled image \"repo/app:1.0\" in 20s (20s including waiting). Image size: 524288000 bytes.",
            "Container image \"repo/app:1.0\" already present on machine",
        ]
    );
}

#[test]
fn pull_policy_always_pulls_every_time() {
    let spec = r#"            containers:
              - name: app
                image: repo/app:1.0
                imagePullPolicy: Always"#;
    let extra = format!(
        "behaviour:\n  podStartup: 1s\n  images: {{\"repo/app:1.0\": {{pull: 20s}}}}\n{PULL_TIMELINE}"
    );
    let o = run_text(&scenario("5m", spec, &extra));
    assert_eq!(events(&o, "Pulling").len(), 2);
    assert!(
        events(&o, "Pulled")
            .iter()
            .all(|e| e.message.starts_with("Successfully pulled image"))
    );
}

#[test]
fn pre_stop_runs_inside_the_grace_period_and_sigkill_follows() {
    let spec = r#"            terminationGracePeriodSeconds: 20
            containers:
              - name: app
                image: app:v1
                lifecycle: {preStop: {exec: {command: [drain]}}}"#;
    let extra = "behaviour:\n  podStartup: 1s\n  app: {preStop: 30s}\ntimeline:\n  - {at: 1m, scale: {deployment: app, replicas: 0}}";
    let o = run_text(&scenario("5m", spec, extra));
    let killing = events(&o, "Killing");
    assert_eq!(killing.len(), 1);
    assert_eq!(killing[0].message, "Stopping container app");
    let api = &o.simulation.world().api;
    let r = &api.store.pods[0];
    let deleted = r.deleted_at.expect("the pod is gone").as_secs_f64();
    // The hook is cut off at the 20s grace period; the container then still gets the
    // 2s minimum before SIGKILL.
    assert!((deleted - secs(killing[0]) - 22.0).abs() < 1e-6);
}

/// Seconds from `a` to `b`, to the millisecond (times carry the scheduler's cycle cost, so
/// their float difference is not exact).
fn gap(a: f64, b: f64) -> f64 {
    ((b - a) * 1000.0).round() / 1000.0
}
