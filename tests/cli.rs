//! The command line, end to end: what a user types and what they get back.

use crate::support::kubesim;
use std::path::{Path, PathBuf};

fn temp_out(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kubesim-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary.json written"))
        .unwrap()
}

#[test]
fn run_writes_outputs_and_same_seed_gives_same_digest() {
    let (a, b) = (temp_out("a"), temp_out("b"));
    for dir in [&a, &b] {
        let out = kubesim(&[
            "run",
            "scenarios/quickstart.yaml",
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("seed       42"),
            "the table names the seed:\n{stdout}"
        );
    }
    let (sa, sb) = (summary(&a), summary(&b));
    assert_eq!(sa["digest"], sb["digest"]);
    assert_eq!(sa["seed"], 42);
    assert_eq!(sa["pods"]["pending"], 0);
    let events = std::fs::read_to_string(a.join("events.jsonl")).unwrap();
    assert!(
        events
            .lines()
            .any(|l| l.contains("\"reason\":\"Scheduled\""))
    );
    assert!(
        std::fs::read_to_string(a.join("events.txt"))
            .unwrap()
            .starts_with("NAMESPACE   LAST SEEN")
    );
    let html = std::fs::read_to_string(a.join("report.html")).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("<h1>quickstart</h1>"));
    assert!(
        html.contains("<svg") && html.contains("Pods pending and running"),
        "a chart of the run"
    );
    assert!(
        !html.contains("<script src") && !html.contains("src="),
        "self-contained: inline script only, no external files"
    );
}

#[test]
fn another_seed_changes_the_digest() {
    let (a, b) = (temp_out("seed1"), temp_out("seed2"));
    kubesim(&[
        "run",
        "scenarios/quickstart.yaml",
        "--seed",
        "1",
        "--out",
        a.to_str().unwrap(),
    ]);
    kubesim(&[
        "run",
        "scenarios/quickstart.yaml",
        "--seed",
        "2",
        "--out",
        b.to_str().unwrap(),
    ]);
    assert_eq!(summary(&a)["seed"], 1);
    assert_ne!(summary(&a)["digest"], summary(&b)["digest"]);
}

#[test]
fn check_determinism_passes_on_the_quickstart() {
    let dir = temp_out("det");
    let out = kubesim(&[
        "run",
        "scenarios/quickstart.yaml",
        "--check-determinism",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("determinism check: two runs agree"),
        "{stderr}"
    );
}

#[test]
fn check_validates_without_running() {
    let out = kubesim(&["check", "scenarios/quickstart.yaml"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok"));
}

#[test]
fn check_counts_the_workload_kinds_and_run_lists_them() {
    let out = kubesim(&["check", "scenarios/namespace-quota.yaml"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("also: 1 resourcequota(s), 1 limitrange(s)"),
        "{stdout}"
    );
    let dir = std::env::temp_dir().join(format!("kubesim-cli-kinds-{}", std::process::id()));
    let out = kubesim(&[
        "run",
        "scenarios/indexed-job-backoff.yaml",
        "--out",
        dir.to_str().expect("temp dir is UTF-8"),
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("job/shard-import") && stdout.contains("Failed ("),
        "{stdout}"
    );
    let pods_line = stdout
        .lines()
        .find(|l| l.starts_with("pods "))
        .expect("pods line");
    assert!(
        pods_line.contains(" succeeded, ") && pods_line.ends_with(" failed"),
        "{pods_line}"
    );
    let events = std::fs::read_to_string(dir.join("events.txt")).expect("events.txt");
    assert!(events.contains("Job has reached the specified backoff limit"));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).expect("summary"))
            .expect("summary.json is JSON");
    assert!(summary["pods"]["failed"].as_u64().is_some_and(|n| n >= 4));
    assert_eq!(summary["workloads"][0]["kind"], "job");
    assert_eq!(summary["workloads"][0]["progressing"], "Failed");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn explain_json_has_the_documented_shape() {
    let out = kubesim(&[
        "explain",
        "scenarios/does-not-fit.yaml",
        "--pod",
        "cache",
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pod"], "default/cache");
    assert!(v["selected"].is_null());
    assert_eq!(
        v["message"],
        // DefaultPreemption's PostFilter message follows, as upstream: every failure here is
        // UnschedulableAndUnresolvable, so no node is a preemption candidate.
        "0/4 nodes are available: 1 node(s) were unschedulable, 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling."
    );
    assert_eq!(v["preemption"]["nominatedNode"], serde_json::Value::Null);
    let nodes = v["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4);
    assert!(
        nodes
            .iter()
            .all(|n| n["feasible"] == false && !n["reasons"].as_array().unwrap().is_empty())
    );
}

#[test]
fn bad_flags_and_bad_files_exit_2_with_a_location() {
    let out = kubesim(&["run", "scenarios/quickstart.yaml", "--until", "5x"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // "kubesim run scenarios/quickstart.yaml --until 5x": "5x" starts at column 47.
    assert!(stderr.starts_with("command line:1:47: "), "{stderr}");

    let out = kubesim(&["run", "no/such/scenario.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("no/such/scenario.yaml:1:1: "));
}

#[test]
fn explain_reproduces_upstream_least_allocated_and_balanced_scores() {
    // least_allocated_test.go / balanced_allocation_test.go, "nothing scheduled, resources
    // requested, differently sized nodes": LeastAllocated 37 / 50, BalancedAllocation 87 / 100.
    let out = kubesim(&[
        "explain",
        "tests/fixtures/explain/upstream-least-allocated.yaml",
        "--pod",
        "p",
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let score = |node: usize, plugin: &str| {
        v["nodes"][node]["scores"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["plugin"] == plugin)
            .map(|s| {
                (
                    s["raw"].as_i64().unwrap(),
                    s["normalized"].as_i64().unwrap(),
                    s["weight"].as_i64().unwrap(),
                )
            })
            .unwrap_or_else(|| panic!("no {plugin} score for node {node}: {v}"))
    };
    assert_eq!(v["nodes"][0]["node"], "node1");
    assert_eq!(score(0, "NodeResourcesFit"), (37, 37, 1));
    assert_eq!(score(1, "NodeResourcesFit"), (50, 50, 1));
    assert_eq!(score(0, "NodeResourcesBalancedAllocation"), (87, 87, 1));
    assert_eq!(score(1, "NodeResourcesBalancedAllocation"), (100, 100, 1));
    // The total is the weighted sum of the normalised scores, and the higher total wins.
    for node in 0..2 {
        let sum: i64 = v["nodes"][node]["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["normalized"].as_i64().unwrap() * s["weight"].as_i64().unwrap())
            .sum();
        assert_eq!(v["nodes"][node]["total"].as_i64().unwrap(), sum);
    }
    assert_eq!(v["selected"], "node2");
}

#[test]
fn every_broken_fixture_exits_2_with_file_line_column() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/broken");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml")
            || path.to_string_lossy().contains("manifest")
        {
            continue;
        }
        let rel = path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        for command in ["run", "check"] {
            let out = kubesim(
                &[command, &rel, "--out", temp_out("broken").to_str().unwrap()]
                    [..if command == "run" { 4 } else { 2 }],
            );
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command} {rel}: {stderr}");
            // `file:line:column: message`, the file being the scenario or a manifest it names.
            let first = stderr.lines().next().unwrap_or_default();
            let mut parts = first.splitn(4, ':');
            let (file, line, col) = (
                parts.next().unwrap(),
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
            );
            assert!(
                file.ends_with(".yaml") || file.ends_with(".yml") || file.contains("fixtures"),
                "{first}"
            );
            assert!(
                line.parse::<u32>().is_ok_and(|l| l >= 1),
                "line in {first:?}"
            );
            assert!(
                col.parse::<u32>().is_ok_and(|c| c >= 1),
                "column in {first:?}"
            );
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
        checked += 1;
    }
    assert!(
        checked >= 8,
        "expected the broken fixtures, found {checked}"
    );
}

#[test]
fn compare_seeds_outside_their_range_are_refused_up_front() {
    // A count of seeds that could never run (or allocate) is an input error, not a crash.
    for n in ["18446744073709551615", "1000000000", "0"] {
        let out = kubesim(&["compare", "--seeds", n, "scenarios/quickstart.yaml"]);
        assert_eq!(out.status.code(), Some(2), "--seeds {n}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("invalid value '{n}' for '--seeds <SEEDS>'"))
                && err.contains("1..=1000"),
            "{err}"
        );
    }
}

#[test]
fn an_unwritable_out_folder_is_refused_before_the_run() {
    let out = kubesim(&[
        "run",
        "scenarios/quickstart.yaml",
        "--out",
        "/dev/null/kubesim-out",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("/dev/null/kubesim-out: cannot write the run's outputs there:")
            && err.contains("--out"),
        "{err}"
    );
    // Refused up front: the run never started.
    assert!(!err.contains("simulating"), "{err}");
}

#[test]
fn a_missing_argument_is_named() {
    // Before: "the following required arguments were not provided:" and nothing after it.
    let out = kubesim(&["run"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the following required arguments were not provided:\n  <SCENARIO>"),
        "{stderr}"
    );
    assert!(stderr.contains("Usage: kubesim run <SCENARIO>"), "{stderr}");
}

#[test]
fn an_invalid_value_lists_the_allowed_ones() {
    // Before: "invalid value 'yaml' for '--format <FORMAT>'" without the values allowed.
    let out = kubesim(&["explain", "scenarios/quickstart.yaml", "--output", "xml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "invalid value 'xml' for '--output <FORMAT>'\n  [possible values: text, json, yaml]"
        ),
        "{stderr}"
    );
}
