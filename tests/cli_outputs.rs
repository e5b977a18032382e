//! A run's outputs through the command line: one complete, consistent set, replaced whole;
//! a write error or an interrupt leaves the previous set and no temporaries.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const SET: [&str; 10] = [
    "charts",
    "events.jsonl",
    "events.txt",
    "metrics.csv",
    "metrics.json",
    "nodes.jsonl",
    "pods.jsonl",
    "report-data.json",
    "report.html",
    "summary.json",
];

fn kubesim() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kubesim"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn run(args: &[&str]) -> Output {
    kubesim().args(args).output().expect("kubesim runs")
}

/// A fresh folder holding the output folder `out`, so leftovers beside it can be seen.
fn scratch(name: &str) -> (PathBuf, PathBuf) {
    let root = std::env::temp_dir().join(format!("kubesim-outputs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("temp folder");
    let out = root.join("out");
    (root, out)
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The whole set as bytes, file by file (the charts folder's files as `charts/NAME`).
fn snapshot(out: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for n in names(out) {
        let path = out.join(&n);
        if path.is_dir() {
            for inner in names(&path) {
                let bytes = read(&path.join(&inner));
                files.push((format!("{n}/{inner}"), bytes));
            }
        } else {
            let bytes = read(&path);
            files.push((n, bytes));
        }
    }
    files
}

fn assert_complete(out: &Path) {
    assert_eq!(names(out), SET, "{}", out.display());
    let summary: serde_json::Value =
        serde_json::from_slice(&read(&out.join("summary.json"))).expect("summary.json is JSON");
    assert!(summary["digest"].is_string());
    let jsonl = String::from_utf8(read(&out.join("events.jsonl"))).expect("utf-8");
    let text = String::from_utf8(read(&out.join("events.txt"))).expect("utf-8");
    // One text line per JSON line, plus the header.
    assert_eq!(jsonl.lines().count() + 1, text.lines().count());
    for l in jsonl.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("an event per line");
        assert!(v["count"].as_u64().is_some_and(|n| n >= 1), "{l}");
        assert!(v["firstTimeNs"].as_u64() <= v["timeNs"].as_u64(), "{l}");
    }
}

#[test]
fn a_run_writes_one_complete_set_replacing_the_previous_one_whole() {
    let (root, out) = scratch("set");
    std::fs::create_dir_all(&out).expect("out");
    std::fs::write(out.join("stale.csv"), b"from an older version").expect("stale file");
    let o = run(&[
        "run",
        "scenarios/quickstart.yaml",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_complete(&out);
    assert_eq!(names(&root), ["out"], "no temporaries beside the outputs");
    // Same seed, same bytes.
    let first = snapshot(&out);
    let o = run(&[
        "run",
        "scenarios/quickstart.yaml",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success());
    assert_eq!(snapshot(&out), first);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn repeated_events_are_one_line_with_a_count() {
    let (root, out) = scratch("aggregate");
    let o = run(&[
        "run",
        "scenarios/does-not-fit.yaml",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_complete(&out);
    let jsonl = String::from_utf8(read(&out.join("events.jsonl"))).expect("utf-8");
    let retried = jsonl
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON"))
        .find(|v| v["reason"] == "FailedScheduling" && v["count"].as_u64() > Some(1))
        .expect("a pending pod's retries are one Event with a count");
    let text = String::from_utf8(read(&out.join("events.txt"))).expect("utf-8");
    let needle = format!("(x{} over ", retried["count"]);
    assert!(text.contains(&needle), "{needle} in\n{text}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_write_error_leaves_the_previous_set_and_no_temporaries() {
    let (root, out) = scratch("write-error");
    let o = run(&[
        "run",
        "scenarios/quickstart.yaml",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success());
    let before = snapshot(&out);
    // Files may not grow past 1 block: the event stream's writes fail (EFBIG, the signal
    // that would otherwise kill the process being ignored).
    let o = Command::new("sh")
        .args([
            "-c",
            "trap '' XFSZ; ulimit -f 1; exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_kubesim"),
            "run",
            "scenarios/quickstart.yaml",
            "--out",
            out.to_str().unwrap(),
            "--seed",
            "9",
            "-q",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("sh runs");
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("cannot write outputs"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(snapshot(&out), before, "the previous set is untouched");
    assert_eq!(names(&root), ["out"], "no temporaries beside the outputs");
    let _ = std::fs::remove_dir_all(&root);
}

/// A scenario long enough to be interrupted: 300 nodes, 90 Deployments of 100 replicas.
fn long_scenario(root: &Path) -> PathBuf {
    let mut s = String::from(
        "name: long\nseed: 7\nduration: 1h\ncluster:\n  nodePools:\n    - {name: general, count: 300, resources: {cpu: \"32\", memory: 128Gi, pods: 110}, zones: [zone-a, zone-b, zone-c]}\nworkloads:\n",
    );
    for i in 0..90 {
        s.push_str(&format!(
            "  - inline:\n      apiVersion: apps/v1\n      kind: Deployment\n      metadata: {{name: d-{i}}}\n      spec:\n        replicas: 100\n        selector: {{matchLabels: {{app: a-{i}}}}}\n        template:\n          metadata: {{labels: {{app: a-{i}}}}}\n          spec:\n            containers:\n              - {{name: c, image: app:v1, resources: {{requests: {{cpu: 100m, memory: 128Mi}}}}}}\n"
        ));
    }
    let path = root.join("long.yaml");
    std::fs::write(&path, s).expect("scenario written");
    path
}

#[test]
fn an_interrupt_at_any_moment_leaves_the_old_set_or_the_new_one_and_no_temporaries() {
    let (root, out) = scratch("interrupt");
    let scenario = long_scenario(&root);
    let scenario = scenario.to_str().unwrap();
    let out_arg = out.to_str().unwrap();
    // The previous set: a short run of the same scenario.
    let o = run(&["run", scenario, "--out", out_arg, "--until", "1m", "-q"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let old = snapshot(&out);
    let mut outcomes = Vec::new();
    for delay_ms in [0u64, 30, 200, 1000, 4000] {
        for signal in ["INT", "TERM"] {
            let mut child = kubesim()
                .args(["run", scenario, "--out", out_arg, "-q"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("kubesim starts");
            std::thread::sleep(Duration::from_millis(delay_ms));
            let _ = Command::new("kill")
                .args([&format!("-{signal}"), &child.id().to_string()])
                .status();
            let status = child.wait().expect("kubesim ends");
            let now = snapshot(&out);
            assert_complete(&out);
            let names_beside: Vec<String> = names(&root)
                .into_iter()
                .filter(|n| n != "long.yaml")
                .collect();
            assert_eq!(names_beside, ["out"], "no temporaries after {delay_ms} ms");
            if now == old {
                outcomes.push("old");
            } else {
                assert!(status.success(), "a new set only from a finished run");
                outcomes.push("new");
                // Back to the old set for the next round.
                let o = run(&["run", scenario, "--out", out_arg, "--until", "1m", "-q"]);
                assert!(o.status.success());
                assert_eq!(snapshot(&out), old);
            }
        }
    }
    assert!(
        outcomes.contains(&"old"),
        "some interrupt landed mid-run: {outcomes:?}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn charts_come_as_png_files_and_mark_the_timeline_and_the_faults() {
    let (_root, out) = scratch("charts");
    let o = run(&[
        "run",
        "scenarios/zone-outage-rollout.yaml",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let charts = names(&out.join("charts"));
    assert!(
        charts.contains(&"pods-by-phase.png".to_owned()),
        "{charts:?}"
    );
    for c in &charts {
        let png = read(&out.join("charts").join(c));
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{c} is a PNG");
    }
    // The scenario's rollout and its zone outage are marked on the report's charts.
    let html = String::from_utf8(read(&out.join("report.html"))).expect("utf-8");
    assert!(html.contains("rollout deployment/web"), "rollout marker");
    assert!(html.contains("zoneOutage"), "fault marker");
}
