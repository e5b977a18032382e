//! The command line, end to end: what a user types and what they get back.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kubesim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("kubesim runs")
}

fn temp_out(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kubesim-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary.json written")).unwrap()
}

#[test]
fn run_writes_outputs_and_same_seed_gives_same_digest() {
    let (a, b) = (temp_out("a"), temp_out("b"));
    for dir in [&a, &b] {
        let out = kubesim(&["run", "scenarios/quickstart.yaml", "--out", dir.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("seed       42"), "the table names the seed:\n{stdout}");
    }
    let (sa, sb) = (summary(&a), summary(&b));
    assert_eq!(sa["digest"], sb["digest"]);
    assert_eq!(sa["seed"], 42);
    assert_eq!(sa["pods"]["pending"], 0);
    let events = std::fs::read_to_string(a.join("events.jsonl")).unwrap();
    assert!(events.lines().any(|l| l.contains("\"reason\":\"Scheduled\"")));
    assert!(std::fs::read_to_string(a.join("events.txt")).unwrap().starts_with("LAST SEEN"));
}

#[test]
fn another_seed_changes_the_digest() {
    let (a, b) = (temp_out("seed1"), temp_out("seed2"));
    kubesim(&["run", "scenarios/quickstart.yaml", "--seed", "1", "--out", a.to_str().unwrap()]);
    kubesim(&["run", "scenarios/quickstart.yaml", "--seed", "2", "--out", b.to_str().unwrap()]);
    assert_eq!(summary(&a)["seed"], 1);
    assert_ne!(summary(&a)["digest"], summary(&b)["digest"]);
}

#[test]
fn check_determinism_passes_on_the_quickstart() {
    let dir = temp_out("det");
    let out = kubesim(&["run", "scenarios/quickstart.yaml", "--check-determinism", "--out", dir.to_str().unwrap()]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("determinism check: two runs agree"), "{stderr}");
}

#[test]
fn check_validates_without_running() {
    let out = kubesim(&["check", "scenarios/quickstart.yaml"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok"));
}

#[test]
fn explain_json_has_the_documented_shape() {
    let out = kubesim(&["explain", "scenarios/does-not-fit.yaml", "--pod", "cache", "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pod"], "default/cache");
    assert!(v["selected"].is_null());
    assert_eq!(
        v["message"],
        "0/4 nodes are available: 1 node(s) were unschedulable, 3 node(s) didn't match Pod's node affinity/selector."
    );
    let nodes = v["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4);
    assert!(nodes.iter().all(|n| n["feasible"] == false && !n["reasons"].as_array().unwrap().is_empty()));
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
