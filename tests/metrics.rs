//! The metrics recorder through the command line: `metrics.csv` and `metrics.json` of a run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const SCENARIO: &str = r#"
name: metrics-check
seed: 7
duration: 5m
cluster:
  nodePools:
    - {name: general, count: 2, resources: {cpu: "4", memory: 16Gi}, costPerHour: 0.36}
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
            containers:
              - name: web
                image: web:v1
                resources: {requests: {cpu: 500m, memory: 256Mi}}
behaviour:
  podStartup: 5s..10s
timeline:
  - {at: 2m, addNodes: {pool: general, count: 2}}
"#;

fn scratch(name: &str, scenario: &str) -> (PathBuf, PathBuf) {
    let root = std::env::temp_dir().join(format!("kubesim-metrics-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("temp folder");
    let file = root.join("scenario.yaml");
    std::fs::write(&file, scenario).expect("scenario written");
    (root, file)
}

fn run(file: &Path, out: &Path, extra: &[&str]) {
    let status = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .arg("run")
        .arg(file)
        .arg("--out")
        .arg(out)
        .arg("-q")
        .args(extra)
        .status()
        .expect("kubesim runs");
    assert!(status.success(), "kubesim run {}: {status}", file.display());
}

/// (time, metric, object, value) rows of `metrics.csv`, after checking its header.
fn rows(out: &Path) -> Vec<(f64, String, String, f64)> {
    let text = std::fs::read_to_string(out.join("metrics.csv")).expect("metrics.csv");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("time_s,metric,object,value"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 4, "{l}");
            (
                f[0].parse().expect("time"),
                f[1].to_owned(),
                f[2].to_owned(),
                f[3].parse().expect("value"),
            )
        })
        .collect()
}

/// The series `metric` of `object` as (time, value).
fn series(rows: &[(f64, String, String, f64)], metric: &str, object: &str) -> Vec<(f64, f64)> {
    rows.iter()
        .filter(|r| r.1 == metric && r.2 == object)
        .map(|r| (r.0, r.3))
        .collect()
}

#[test]
fn metrics_follow_the_run_and_json_agrees_with_csv() {
    let (root, file) = scratch("short", SCENARIO);
    let out = root.join("out");
    run(&file, &out, &[]);
    let rows = rows(&out);

    // Times never go back, step by the 15 s resolution, and cover 0..=5m.
    let mut times: Vec<f64> = rows.iter().map(|r| r.0).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "sorted by time");
    times.dedup();
    let expected: Vec<f64> = (0..=20).map(|i| f64::from(i) * 15.0).collect();
    assert_eq!(times, expected);

    // The Deployment reaches its replicas.
    let desired = series(&rows, "replicas_desired", "deployment/web");
    assert!(desired.iter().all(|p| p.1 == 3.0), "{desired:?}");
    let ready = series(&rows, "replicas_ready", "deployment/web");
    assert_eq!(ready.first(), Some(&(0.0, 0.0)));
    assert_eq!(ready.last(), Some(&(300.0, 3.0)), "{ready:?}");

    // Two nodes until the action at 2m, four from then on (the sample at 2m is taken after
    // the events at 2m).
    let nodes = series(&rows, "nodes", "pool/general");
    for (t, n) in &nodes {
        assert_eq!(*n, if *t < 120.0 { 2.0 } else { 4.0 }, "at {t}s: {nodes:?}");
    }

    // Cost grows linearly with the nodes held: 2 nodes × $0.36/h × 15 s per step up to 2m,
    // 4 nodes' worth after.
    let cost = series(&rows, "cost_dollars", "pool/general");
    assert_eq!(cost.len(), 21);
    for w in cost.windows(2) {
        let ((t0, c0), (_, c1)) = (w[0], w[1]);
        let held = if t0 < 120.0 { 2.0 } else { 4.0 };
        let step = held * 0.36 * 15.0 / 3600.0;
        assert!((c1 - c0 - step).abs() < 1e-12, "at {t0}s: {c0} → {c1}");
    }
    let node_hours = series(&rows, "node_hours", "cluster");
    // 8 steps of 2 nodes then 12 steps of 4: (16 + 48) × 15 s.
    let total = node_hours.last().expect("node_hours").1;
    assert!((total - 64.0 * 15.0 / 3600.0).abs() < 1e-12, "{total}");

    // metrics.json holds the same points, series by series.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("metrics.json")).expect("metrics.json"))
            .expect("metrics.json is JSON");
    assert_eq!(json["resolutionSeconds"], 15);
    let mut from_json: BTreeMap<(String, String), Vec<(f64, f64)>> = BTreeMap::new();
    let mut points = 0;
    for s in json["series"].as_array().expect("series") {
        assert!(s["unit"].is_string());
        let key = (
            s["metric"].as_str().expect("metric").to_owned(),
            s["object"].as_str().expect("object").to_owned(),
        );
        let pts: Vec<(f64, f64)> = s["points"]
            .as_array()
            .expect("points")
            .iter()
            .map(|p| (p[0].as_f64().expect("t"), p[1].as_f64().expect("v")))
            .collect();
        points += pts.len();
        assert!(from_json.insert(key, pts).is_none(), "each series once");
    }
    assert_eq!(points, rows.len());
    // serde_json's default float parsing may be off by one in the last place.
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0);
    for ((metric, object), pts) in &from_json {
        let csv = series(&rows, metric, object);
        assert!(
            csv.len() == pts.len()
                && csv
                    .iter()
                    .zip(pts)
                    .all(|(a, b)| a.0 == b.0 && close(a.1, b.1)),
            "{metric} {object}: {csv:?} {pts:?}"
        );
    }
    assert_eq!(
        json["series"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["metric"] == "cost_dollars"))
            .map(|s| s["unit"].clone()),
        Some(serde_json::json!("dollars"))
    );

    // The charts drawn from the recorder.
    for chart in ["replicas", "nodes-per-pool", "cost"] {
        assert!(
            out.join("charts").join(format!("{chart}.png")).is_file(),
            "{chart}"
        );
    }
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    assert!(html.contains("id=\"chart-replicas\"") && html.contains("Nodes per pool"));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn without_metrics_nothing_is_recorded_and_the_digest_is_the_same() {
    let (root, file) = scratch("off", SCENARIO);
    let (on, off) = (root.join("on"), root.join("off"));
    run(&file, &on, &[]);
    run(&file, &off, &["--no-metrics"]);
    assert!(!off.join("metrics.csv").exists() && !off.join("metrics.json").exists());
    let digest = |dir: &Path| -> serde_json::Value {
        let s: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary"))
                .expect("JSON");
        s["digest"].clone()
    };
    assert_eq!(
        digest(&on),
        digest(&off),
        "recording changes nothing in the run"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_month_long_run_keeps_its_samples_bounded() {
    let scenario = r#"
name: metrics-month
duration: 30d
cluster:
  nodePools:
    - {name: general, count: 1, resources: {cpu: "4", memory: 16Gi}}
metrics: {resolution: 15s}
"#;
    let (root, file) = scratch("month", scenario);
    let out = root.join("out");
    run(&file, &out, &[]);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("metrics.json")).expect("metrics.json"))
            .expect("JSON");
    // 30 days at 15 s would be 172_800 samples; the run coarsens to 15 s × 30 = 7m30s:
    // 2_592_000 s / 450 s = 5760 steps, plus the sample at 0.
    assert_eq!(json["resolutionSeconds"], 450);
    let nodes = json["series"]
        .as_array()
        .and_then(|s| {
            s.iter()
                .find(|s| s["metric"] == "nodes" && s["object"] == "cluster")
        })
        .expect("nodes of the cluster");
    let points = nodes["points"].as_array().expect("points");
    assert_eq!(points.len(), 5761);
    assert_eq!(
        points.last().map(|p| p[0].clone()),
        Some(serde_json::json!(2_592_000))
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_bad_metrics_section_is_located() {
    let (root, file) = scratch("bad", &format!("{SCENARIO}metrics: {{resolution: 0s}}\n"));
    let out = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .arg("check")
        .arg(&file)
        .output()
        .expect("kubesim runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("metrics.resolution: must be more than 0"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&root);
}
