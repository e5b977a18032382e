//! `kubesim compare` through the command line: the table, the seeds' range, the files it
//! writes (CSV, JSON and the HTML report) and variants that override scenario values (`set:`).

use crate::support::kubesim;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A fresh folder for one test.
fn scratch(name: &str) -> PathBuf {
    crate::support::scratch("compare", name)
}

/// Two nodes, a Deployment that fits, and two variants that differ by name only: pod start-up
/// times drawn per seed make the scheduling latencies vary, the counts stay the same.
const SMALL: &str = "name: small-compare
seed: 5
duration: 1m
cluster:
  nodePools:
    - {name: general, count: 2, resources: {cpu: '2', memory: 8Gi, pods: 110}, costPerHour: 0.1}
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 4
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec:
            containers:
              - {name: web, image: web:v1, resources: {requests: {cpu: 500m, memory: 256Mi}}}
behaviour:
  podStartup: 2s..5s
compare:
  seeds: 3
  variants:
    - name: a
    - name: b
";

fn small(root: &Path) -> String {
    let path = root.join("small.yaml");
    std::fs::write(&path, SMALL).expect("scenario written");
    path.display().to_string()
}

/// `kubesim compare SCENARIO EXTRA… --out OUT_DIR`, which must succeed.
fn compare_into(scenario: &str, out_dir: &Path, extra: &[&str]) -> Output {
    let out_arg = out_dir.display().to_string();
    let mut args = vec!["compare", scenario];
    args.extend_from_slice(extra);
    args.extend(["--out", out_arg.as_str()]);
    let out = kubesim(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).expect("JSON")
}

#[test]
fn one_seed_shows_no_interval() {
    let root = scratch("one-seed");
    let out_dir = root.join("out");
    let out = compare_into(&small(&root), &out_dir, &["--seeds", "1"]);
    let stdout = text(&out.stdout);
    assert!(!stdout.contains('±'), "{stdout}");
    assert!(stdout.contains("n/a"), "{stdout}");
    let report = json(&out_dir.join("compare.json"));
    for m in report["metrics"].as_array().expect("metrics") {
        for v in m["variants"].as_array().expect("variants") {
            assert!(v["ci95"].is_null(), "{m}");
        }
        for d in m["differences"].as_array().expect("differences") {
            assert_eq!(d["verdict"], "notApplicable", "{m}");
        }
    }
    let html = std::fs::read_to_string(out_dir.join("compare.html")).expect("compare.html");
    assert!(!html.contains('±') && html.contains("n/a"));
}

#[test]
fn zero_seeds_are_refused_with_the_range() {
    let root = scratch("zero-seeds");
    let out = kubesim(&["compare", &small(&root), "--seeds", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("--seeds") && err.contains("1..=1000"), "{err}");
}

#[test]
fn every_file_written_is_named_and_metrics_are_listed_once() {
    let root = scratch("files");
    let out_dir = root.join("out");
    let out = compare_into(&small(&root), &out_dir, &[]);
    let stdout = text(&out.stdout);
    for name in ["compare.csv", "compare.json", "compare.html"] {
        let path = out_dir.join(name);
        assert!(path.is_file(), "{name}");
        assert!(
            stdout.contains(&path.display().to_string()),
            "{name}: {stdout}"
        );
    }
    assert!(stdout.contains("3 seeds: 5, 6, 7"), "{stdout}");
    // The table's rows: every metric once.
    let rows: Vec<&str> = stdout
        .lines()
        .skip(2)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split("  ").next().unwrap_or(l))
        .collect();
    let mut unique = rows.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(rows.len(), unique.len(), "{stdout}");
    let report = json(&out_dir.join("compare.json"));
    let names: Vec<&str> = report["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .filter_map(|m| m["metric"].as_str())
        .collect();
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(names.len(), unique.len(), "{names:?}");
    assert!(
        names.contains(&"node-hours") && names.contains(&"cost"),
        "{names:?}"
    );
    // The CSV holds one row per variant, seed and metric.
    let csv = std::fs::read_to_string(out_dir.join("compare.csv")).expect("compare.csv");
    assert_eq!(csv.lines().count(), 1 + 2 * 3 * names.len());
}

#[test]
fn json_output_is_the_report() {
    let root = scratch("json");
    let out_dir = root.join("out");
    let out = compare_into(&small(&root), &out_dir, &["--seeds", "2", "-o", "json"]);
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(printed["seeds"], serde_json::json!([5, 6]));
    assert_eq!(printed["variants"], serde_json::json!(["a", "b"]));
    assert_eq!(printed, json(&out_dir.join("compare.json")));
    // The files are named on stderr, so that stdout stays JSON.
    assert!(text(&out.stderr).contains("compare.html"));
}

#[test]
fn the_html_report_charts_each_varying_metric_offline() {
    let root = scratch("html");
    let out_dir = root.join("out");
    compare_into(&small(&root), &out_dir, &[]);
    let report = json(&out_dir.join("compare.json"));
    let metrics = report["metrics"].as_array().expect("metrics");
    let varying = metrics.iter().filter(|m| m["constant"] == false).count();
    assert!(varying >= 1 && varying < metrics.len(), "{report}");
    let html = std::fs::read_to_string(out_dir.join("compare.html")).expect("compare.html");
    assert!(html.contains("<title>kubesim compare: small-compare</title>"));
    assert_eq!(html.matches("<svg").count(), varying);
    for m in metrics {
        let name = m["metric"].as_str().expect("name");
        assert!(html.contains(&format!("<td>{name}</td>")), "{name}");
    }
    for bad in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "url(http",
    ] {
        assert!(!html.contains(bad), "{bad}");
    }
}

#[test]
fn variants_that_set_the_node_count_differ_in_node_hours_and_cost() {
    let root = scratch("set-nodes");
    let out_dir = root.join("out");
    compare_into(
        "scenarios/capacity-nodes.yaml",
        &out_dir,
        &["--seeds", "2", "-o", "json"],
    );
    let report = json(&out_dir.join("compare.json"));
    let means = |metric: &str| -> Vec<f64> {
        let m = report["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .find(|m| m["metric"] == metric)
            .unwrap_or_else(|| panic!("no {metric}"));
        m["variants"]
            .as_array()
            .expect("variants")
            .iter()
            .map(|v| v["mean"].as_f64().expect("mean"))
            .collect()
    };
    assert_eq!(
        report["variants"],
        serde_json::json!(["two-nodes", "one-node", "three-nodes"])
    );
    // 5 minutes of 2, 1 and 3 nodes.
    let hours = means("node-hours");
    for (got, nodes) in hours.iter().zip([2.0, 1.0, 3.0]) {
        assert!((got - nodes * 5.0 / 60.0).abs() < 1e-9, "{hours:?}");
    }
    let cost = means("cost");
    assert!(cost[1] < cost[0] && cost[0] < cost[2], "{cost:?}");
    // One node holds half the replicas and cannot serve the load.
    let availability = means("web availability");
    assert!(availability[1] < availability[0] - 0.1, "{availability:?}");
    assert_eq!(means("pods pending"), [0.0, 4.0, 0.0]);
}

/// SMALL with variant `b` setting `set` (a flow mapping) instead of nothing.
fn with_set(root: &Path, set: &str) -> (String, usize) {
    let text = SMALL.replace(
        "    - name: b\n",
        &format!("    - name: b\n      set: {set}\n"),
    );
    let line = text
        .lines()
        .position(|l| l.starts_with("      set:"))
        .expect("set line")
        + 1;
    let path = root.join("set.yaml");
    std::fs::write(&path, text).expect("scenario written");
    (path.display().to_string(), line)
}

#[test]
fn a_path_that_selects_nothing_is_located_and_lists_the_names() {
    let root = scratch("set-bad-path");
    let (file, line) = with_set(&root, "{cluster.nodePools.genral.count: 6}");
    let out = kubesim(&["compare", &file, "--seeds", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    // The key inside `set: {…}`: column 13 of `      set: {cluster…`.
    assert!(
        err.starts_with(&format!(
            "{file}:{line}:13: variant \"b\": set cluster.nodePools.genral.count: cluster.nodePools has no element named \"genral\""
        )),
        "{err}"
    );
    assert!(err.contains("names: general"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_bad_value_set_is_the_variants_problem_at_its_set_key() {
    let root = scratch("set-bad-value");
    let (file, line) = with_set(&root, "{cluster.nodePools.general.cuont: 6}");
    let out = kubesim(&["compare", &file, "--seeds", "1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!("{file}:{line}:7: variant \"b\": ")),
        "{err}"
    );
    assert!(err.contains("cuont"), "{err}");

    let (file, line) = with_set(&root, "[cluster.nodePools.general.count]");
    let out = kubesim(&["compare", &file, "--seeds", "1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!("{file}:{line}:")) && err.contains("set must be a mapping"),
        "{err}"
    );
}
