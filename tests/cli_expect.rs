//! `kubesim run --fail-on-expect`: expectations in summary.json and the table, and exit code 3
//! when one is missed.

use crate::support::kubesim;
use std::path::{Path, PathBuf};

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("kubesim-cli-expect-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A small cluster whose Deployment `web` never becomes ready when `never_ready` is set.
fn write_scenario(dir: &Path, never_ready: bool) -> PathBuf {
    let behaviour = if never_ready {
        "behaviour:\n  web: {ready: never}\n"
    } else {
        ""
    };
    let text = format!(
        r#"name: expect
seed: 3
duration: 5m
cluster:
  nodePools: [{{name: general, count: 2, resources: {{cpu: "8", memory: 32Gi}}}}]
controlPlane:
  scheduler: {{replicas: 3}}
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
{behaviour}expect:
  - {{after: 1m, within: 2m, converged: true}}
"#
    );
    let path = dir.join("expect.yaml");
    std::fs::write(&path, text).expect("scenario written");
    path
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary.json written"))
        .expect("summary.json is JSON")
}

#[test]
fn a_met_expectation_is_reported_and_exits_zero() {
    let dir = temp_dir("met");
    let scenario = write_scenario(&dir, false);
    let out_dir = dir.join("out");
    let out = kubesim(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        "--fail-on-expect",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("expect     converged after 1m within 2m: met at"),
        "{stdout}"
    );
    let s = summary(&out_dir);
    let e = &s["expectations"][0];
    assert_eq!(e["condition"], "converged");
    assert_eq!(e["met"], true);
    assert_eq!(e["after"], "1m");
    assert!(e["metAt"].is_string());
}

#[test]
fn a_missed_expectation_exits_three_only_when_asked() {
    let dir = temp_dir("missed");
    let scenario = write_scenario(&dir, true);
    let out_dir = dir.join("out");
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        "--quiet",
    ];
    let out = kubesim(&args);
    assert!(
        out.status.success(),
        "without the flag a miss is only reported"
    );
    assert_eq!(summary(&out_dir)["expectations"][0]["met"], false);
    assert!(summary(&out_dir)["expectations"][0]["metAt"].is_null());

    let mut with_flag = args.to_vec();
    with_flag.push("--fail-on-expect");
    let out = kubesim(&with_flag);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("expectation missed: converged after 1m within 2m"),
        "{stderr}"
    );
}

#[test]
fn a_bad_expectation_is_a_located_input_error() {
    let dir = temp_dir("bad");
    let path = dir.join("bad.yaml");
    std::fs::write(
        &path,
        "name: bad\ncluster:\n  nodePools: [{name: p, count: 1, resources: {cpu: \"1\", memory: 1Gi}}]\nexpect:\n  - {after: soon, converged: true}\n",
    )
    .unwrap();
    let out = kubesim(&["run", path.to_str().unwrap(), "--quiet"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.yaml:5:13: expect[0].after"),
        "{stderr}"
    );
}
