//! `kubesim get`, `events`, `report` and `--output json` through the command line, on the
//! outputs of one preemption run.

use crate::support::kubesim;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).expect("utf-8")
}

/// The preemption scenario's outputs, written once for every test here.
fn outputs() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("kubesim-get-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let o = kubesim(&[
            "run",
            "scenarios/preemption.yaml",
            "--out",
            dir.to_str().expect("utf-8 path"),
            "-q",
        ]);
        stdout(&o);
        dir
    })
}

fn out() -> &'static str {
    outputs().to_str().expect("utf-8 path")
}

fn pods_jsonl() -> Vec<serde_json::Value> {
    std::fs::read_to_string(outputs().join("pods.jsonl"))
        .expect("pods.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a pod per line"))
        .collect()
}

#[test]
fn get_pods_wide_has_kubectls_columns_and_each_pods_node() {
    let text = stdout(&kubesim(&["get", "pods", out(), "-o", "wide"]));
    let header: Vec<&str> = text
        .lines()
        .next()
        .expect("header")
        .split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "NODE",
            "NOMINATED NODE",
            "READINESS GATES"
        ]
    );
    // A pod still running at the end is listed on the node pods.jsonl names.
    let pods = pods_jsonl();
    let running = pods
        .iter()
        .find(|p| p["phase"] == "Running" && p.get("deletedSeconds").is_none())
        .expect("a running pod");
    let name = running["name"].as_str().expect("name");
    let node = running["node"].as_str().expect("node");
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} in\n{text}"));
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cells[2], "Running", "{line}");
    assert_eq!(cells[5], node, "{line}");
    // Columns line up: every row's NODE starts where the header's does.
    let column = text
        .lines()
        .next()
        .and_then(|h| h.find("NODE"))
        .expect("NODE");
    assert_eq!(&line[column..column + node.len()], node, "{text}");
}

#[test]
fn at_a_time_before_a_pod_existed_hides_it() {
    let pods = pods_jsonl();
    let late = pods
        .iter()
        .filter(|p| p.get("deletedSeconds").is_none())
        .max_by(|a, b| {
            a["createdSeconds"]
                .as_f64()
                .partial_cmp(&b["createdSeconds"].as_f64())
                .expect("times")
        })
        .expect("pods");
    let created = late["createdSeconds"].as_f64().expect("created");
    assert!(created > 1.0, "the scenario creates pods after the start");
    let name = late["name"].as_str().expect("name");
    let at_end = stdout(&kubesim(&["get", "pods", out()]));
    assert!(at_end.contains(name), "{at_end}");
    let before = format!("{}s", (created - 1.0).floor() as u64);
    let earlier = stdout(&kubesim(&["get", "pods", out(), "--at", &before]));
    assert!(
        !earlier.contains(name),
        "{name} listed at {before}:\n{earlier}"
    );
    // After the end is bad input.
    let o = kubesim(&["get", "pods", out(), "--at", "400d"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn events_type_warning_keeps_only_warnings() {
    let all = stdout(&kubesim(&["events", out()]));
    assert!(all.starts_with("NAMESPACE   LAST SEEN"), "{all}");
    assert!(all.contains(" Normal "), "{all}");
    let warnings = stdout(&kubesim(&["events", out(), "--type", "Warning"]));
    let rows: Vec<&str> = warnings.lines().skip(1).collect();
    assert!(!rows.is_empty(), "the preemption run has warnings");
    for r in rows {
        assert!(r.contains(" Warning "), "{r}");
    }
    // --for keeps one object's Events.
    let pod = warnings
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().find(|c| c.starts_with("pod/")))
        .expect("a pod's warning");
    let one = stdout(&kubesim(&["events", out(), "--for", pod]));
    for r in one.lines().skip(1) {
        assert!(r.contains(pod), "{r}");
    }
}

#[test]
fn report_rebuilds_an_identical_page() {
    let dir = std::env::temp_dir().join(format!("kubesim-get-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    stdout(&kubesim(&[
        "run",
        "scenarios/quickstart.yaml",
        "--out",
        dir.to_str().expect("utf-8"),
        "-q",
    ]));
    let written = std::fs::read(dir.join("report.html")).expect("report.html");
    std::fs::remove_file(dir.join("report.html")).expect("remove");
    stdout(&kubesim(&["report", dir.to_str().expect("utf-8")]));
    let rebuilt = std::fs::read(dir.join("report.html")).expect("rebuilt");
    assert!(written == rebuilt, "the rebuilt report differs");
    let html = String::from_utf8(rebuilt).expect("utf-8");
    assert!(html.contains("id=\"placement\"") && html.contains("id=\"event-log\""));
    let _ = std::fs::remove_dir_all(&dir);
    let o = kubesim(&["report", "no-such-folder"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn output_json_parses_for_every_command() {
    let scratch = std::env::temp_dir().join(format!("kubesim-get-json-{}", std::process::id()));
    let scratch_s = scratch.to_str().expect("utf-8").to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec![
            "run",
            "scenarios/quickstart.yaml",
            "--out",
            &scratch_s,
            "-q",
            "-o",
            "json",
        ],
        vec!["check", "scenarios/quickstart.yaml", "-o", "json"],
        vec![
            "explain",
            "scenarios/does-not-fit.yaml",
            "--pod",
            "cache",
            "-o",
            "json",
        ],
        vec!["get", "pods", out(), "-o", "json"],
        vec!["get", "nodes", out(), "-o", "json"],
        vec!["events", out(), "-o", "json"],
    ];
    for args in &commands {
        let text = stdout(&kubesim(args));
        let v: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}\n{text}"));
        assert!(v.is_object() || v.is_array(), "{args:?}");
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
