//! The HorizontalPodAutoscaler end to end: pods' CPU usage (behaviour `cpu`) goes through
//! metrics-server's scrape to the HPA controller, which scales the Deployment at upstream's
//! default policy rate, stops at maxReplicas, and scales down only after the stabilization
//! window.

use std::path::Path;

use models::run::{RunOptions, RunOutcome, run};
use models::scenario::load_str;
use models::scheduler::Registry;

const SECOND: i64 = 1_000_000_000;

fn scenario(hpa: &str, cpu: &str) -> String {
    format!(
        r#"name: hpa
seed: 7
duration: 20m
controlPlane: {{watchLatency: 0s, apiLatency: 0s}}
cluster:
  nodePools: [{{name: general, count: 4, resources: {{cpu: "16", memory: 64Gi, pods: 110}}}}]
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {{name: web}}
      spec:
        replicas: 1
        selector: {{matchLabels: {{app: web}}}}
        template:
          metadata: {{labels: {{app: web}}}}
          spec: {{containers: [{{name: web, image: app, resources: {{requests: {{cpu: 100m}}}}}}]}}
  - inline:
{hpa}
behaviour:
  podStartup: 1s
  web: {{cpu: {cpu}}}
"#
    )
}

const HPA_V2: &str = r#"      apiVersion: autoscaling/v2
      kind: HorizontalPodAutoscaler
      metadata: {name: web}
      spec:
        scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
        minReplicas: 1
        maxReplicas: 10
        metrics:
        - type: Resource
          resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
        behavior: {scaleDown: {stabilizationWindowSeconds: 300}}"#;

fn run_text(text: &str) -> RunOutcome {
    let s = load_str("hpa.yaml", text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    run(
        &s,
        &Registry::default_plugins(),
        &RunOptions::default(),
        |_, _| {},
    )
    .unwrap_or_else(|d| panic!("{d}"))
}

/// (time in seconds, new size, message) of every SuccessfulRescale.
fn rescales(o: &RunOutcome) -> Vec<(i64, i32, String)> {
    o.simulation
        .world()
        .api
        .events
        .iter()
        .filter(|e| e.reason == "SuccessfulRescale")
        .map(|e| {
            let size = e
                .message
                .trim_start_matches("New size: ")
                .split(';')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(-1);
            (e.time_ns as i64 / SECOND, size, e.message.clone())
        })
        .collect()
}

#[test]
fn scales_out_at_the_default_rate_stops_at_max_and_scales_down_after_the_window() {
    // Each pod starts busy (400m of a 100m request) and calms down to 10m over 4 minutes.
    let o = run_text(&scenario(HPA_V2, "{ramp: {from: 400m, to: 10m, over: 4m}}"));
    let r = rescales(&o);
    assert!(!r.is_empty(), "the HPA rescaled");
    assert_eq!(
        r[0].2,
        "New size: 5; reason: cpu resource utilization (percentage of request) above target",
        "the first step is the larger of 4 pods and 100%"
    );
    let mut size = 1;
    let mut last_up = 0;
    let mut first_down = None;
    for (t, new, _) in &r {
        assert!(*new <= 10, "never above maxReplicas");
        if *new > size {
            assert!(
                *new - size <= 4.max(size),
                "at most max(4 pods, 100%) per 15s"
            );
            last_up = *t;
        } else if first_down.is_none() {
            first_down = Some(*t);
        }
        size = *new;
    }
    assert!(
        r.iter().any(|(_, n, _)| *n == 10),
        "reached maxReplicas: {r:?}"
    );
    let down = first_down.expect("usage fell: the HPA scaled down");
    assert!(
        down - last_up >= 300,
        "scale-down waits for the 300s stabilization window: {r:?}"
    );
    let down_event = r.iter().find(|(t, _, _)| *t == down).expect("found");
    assert!(down_event.2.ends_with("reason: All metrics below target"));
    let world = o.simulation.world();
    let d = world
        .api
        .deployment(world.api.deployment_id("default", "web").expect("web"));
    assert!(d.d.replicas < 10, "scaled down from the maximum");
}

#[test]
fn a_v1_hpa_works() {
    let v1 = r#"      apiVersion: autoscaling/v1
      kind: HorizontalPodAutoscaler
      metadata: {name: web}
      spec:
        scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
        maxReplicas: 3
        targetCPUUtilizationPercentage: 50"#;
    let o = run_text(&scenario(v1, "{constant: 200m}"));
    let r = rescales(&o);
    assert!(!r.is_empty());
    assert!(
        r[0].2
            .contains("cpu resource utilization (percentage of request) above target")
    );
    let world = o.simulation.world();
    let d = world
        .api
        .deployment(world.api.deployment_id("default", "web").expect("web"));
    assert_eq!(d.d.replicas, 3, "held at maxReplicas");
}

#[test]
fn bad_fields_are_located_errors() {
    let bad = HPA_V2.replace("minReplicas: 1", "minReplicas: 12");
    let e = load_str(
        "hpa.yaml",
        &scenario(&bad, "{constant: 200m}"),
        Path::new("."),
    )
    .expect_err("minReplicas > maxReplicas")
    .to_string();
    assert!(e.starts_with("hpa.yaml:"), "{e}");
    assert!(
        e.contains("must be greater than or equal to `minReplicas` (12)"),
        "{e}"
    );
    let bad = HPA_V2.replace("type: Resource", "type: Cheddar");
    let e = load_str(
        "hpa.yaml",
        &scenario(&bad, "{constant: 200m}"),
        Path::new("."),
    )
    .expect_err("unknown metric type")
    .to_string();
    assert!(
        e.contains("spec.metrics[0].type: Unsupported value: \"Cheddar\""),
        "{e}"
    );
    let bad = HPA_V2.replace("kind: Deployment, name: web", "kind: DaemonSet, name: web");
    let e = load_str(
        "hpa.yaml",
        &scenario(&bad, "{constant: 200m}"),
        Path::new("."),
    )
    .expect_err("not scalable")
    .to_string();
    assert!(e.contains("no scale subresource"), "{e}");
    let bad = HPA_V2.replace("        maxReplicas: 10\n", "");
    assert!(
        load_str(
            "hpa.yaml",
            &scenario(&bad, "{constant: 200m}"),
            Path::new(".")
        )
        .is_err()
    );
}

/// The HPA without `behavior:`, so that the controller manager's downscale-stabilization flag
/// is the window that applies.
fn hpa_without_behavior() -> String {
    HPA_V2.replace(
        "\n        behavior: {scaleDown: {stabilizationWindowSeconds: 300}}",
        "",
    )
}

fn with_flags(flags: &str, cpu: &str) -> String {
    scenario(&hpa_without_behavior(), cpu).replace(
        "controlPlane: {watchLatency: 0s, apiLatency: 0s}",
        &format!(
            "controlPlane:\n  watchLatency: 0s\n  apiLatency: 0s\n  controllerManager:\n    horizontalPodAutoscaler: {flags}"
        ),
    )
}

#[test]
fn the_controller_managers_hpa_flags_apply() {
    let busy_then_calm = "{ramp: {from: 400m, to: 10m, over: 4m}}";
    // --horizontal-pod-autoscaler-sync-period: rescales come a sync period apart at least.
    let every_minute = rescales(&run_text(&with_flags("{syncPeriod: 1m}", busy_then_calm)));
    let default = rescales(&run_text(&with_flags("{}", busy_then_calm)));
    assert!(every_minute.len() >= 2, "{every_minute:?}");
    assert!(
        every_minute.windows(2).all(|w| w[1].0 - w[0].0 >= 60),
        "one sync a minute: {every_minute:?}"
    );
    assert!(
        default.windows(2).any(|w| w[1].0 - w[0].0 < 60),
        "the default syncs every 15s: {default:?}"
    );
    // --horizontal-pod-autoscaler-downscale-stabilization: with 0s the HPA scales down as soon
    // as usage falls, well before upstream's default 5 minutes after the last scale-up.
    let first_down_after_last_up = |r: &[(i64, i32, String)]| {
        let mut size = 1;
        let mut last_up = 0;
        for (t, new, _) in r {
            if *new > size {
                last_up = *t;
            } else {
                return *t - last_up;
            }
            size = *new;
        }
        panic!("no scale-down: {r:?}")
    };
    let no_window = rescales(&run_text(&with_flags(
        "{downscaleStabilization: 0s}",
        busy_then_calm,
    )));
    assert!(first_down_after_last_up(&default) >= 300, "{default:?}");
    assert!(first_down_after_last_up(&no_window) < 300, "{no_window:?}");
    // --horizontal-pod-autoscaler-tolerance: 60m of a 100m request against a 50% target is a
    // ratio of 1.2: outside the default 0.1, inside 0.25.
    let steady = "{constant: 60m}";
    assert!(!rescales(&run_text(&with_flags("{}", steady))).is_empty());
    assert!(rescales(&run_text(&with_flags("{tolerance: 0.25}", steady))).is_empty());
}

#[test]
fn bad_hpa_flags_are_located_errors_with_their_range() {
    let load = |flags: &str| {
        load_str(
            "hpa.yaml",
            &with_flags(flags, "{constant: 60m}"),
            Path::new("."),
        )
        .expect_err(flags)
        .to_string()
    };
    let e = load("{tolerance: 1.5}");
    assert!(e.starts_with("hpa.yaml:8:42: "), "{e}");
    assert!(e.contains("expected a fraction from 0 to 1"), "{e}");
    let e = load("{syncPeriod: 0s}");
    assert!(
        e.contains("syncPeriod: expected a duration from 1s to 1d"),
        "{e}"
    );
    let e = load("{syncPeriod: 15s, downscaleStabilisation: 5m}");
    assert!(
        e.contains("unknown field \"downscaleStabilisation\""),
        "{e}"
    );
    assert!(
        e.contains("(did you mean \"downscaleStabilization\"?)"),
        "{e}"
    );
}
