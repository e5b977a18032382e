//! A run that retires deleted pods (what `kubesim run` does, so that memory follows live
//! pods) gives the same outputs as one that keeps every record: the summary, the
//! pods-over-time chart and `pods.jsonl`, byte for byte.

use std::path::{Path, PathBuf};

use models::retired_pods::Retirement;
use models::run::{RunControl, RunOptions, RunOutcome, run, run_with};
use models::scenario;
use models::scheduler::Registry;

/// A CronJob every minute whose Job runs two pods for 20 s; the garbage collector deletes the
/// older Jobs' pods. With `steady`, a Deployment's pods created first live for the whole run
/// (so no retired instant can be swept ahead of them), some in another namespace.
fn churn(steady: bool) -> String {
    let mut s = String::from(
        "name: churn\nseed: 3\nduration: 150m\nstartTime: 2025-11-27T00:00:00Z\n\
         cluster:\n  nodePools:\n    - {name: general, count: 2, resources: {cpu: \"2\", memory: 8Gi}}\n\
         workloads:\n",
    );
    if steady {
        s.push_str(
            "  - inline:\n      apiVersion: apps/v1\n      kind: Deployment\n      \
             metadata: {name: steady, namespace: shop}\n      spec:\n        replicas: 2\n        \
             selector: {matchLabels: {app: steady}}\n        template:\n          \
             metadata: {labels: {app: steady}}\n          spec:\n            containers:\n              \
             - {name: c, image: s:v1, resources: {requests: {cpu: 300m, memory: 1Gi}}}\n",
        );
    }
    s.push_str(
        "  - inline:\n      apiVersion: batch/v1\n      kind: CronJob\n      \
         metadata: {name: every-minute}\n      spec:\n        schedule: \"* * * * *\"\n        \
         jobTemplate:\n          spec:\n            parallelism: 2\n            completions: 2\n            \
         template:\n              spec:\n                restartPolicy: Never\n                \
         containers:\n                  - {name: c, image: tick:v1, resources: {requests: {cpu: 700m, memory: 64Mi}}}\n\
         behaviour:\n  every-minute: {runFor: 20s}\n",
    );
    s
}

fn scratch(name: &str) -> PathBuf {
    crate::support::scratch("memory", name)
}

/// `pods.jsonl` as the run's outputs write it.
fn pods_jsonl(outcome: &RunOutcome, dir: &Path) -> Vec<u8> {
    // The tables' writer turns events.jsonl into events.txt; these runs keep Events in memory.
    std::fs::write(dir.join("events.jsonl"), b"").expect("events.jsonl");
    reports::write_run_tables(
        dir,
        &outcome.simulation.world().api.store,
        outcome.simulation.now(),
    )
    .expect("tables");
    std::fs::read(dir.join("pods.jsonl")).expect("pods.jsonl")
}

fn same_outputs(steady: bool) {
    let text = churn(steady);
    let s =
        scenario::load_str("churn.yaml", &text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    let registry = Registry::default_plugins();
    let options = RunOptions::default();
    let kept = run(&s, &registry, &options, |_, _| {}).unwrap_or_else(|d| panic!("{d}"));

    let dir = scratch(if steady { "steady" } else { "churn" });
    let to = Retirement::create(&dir, reports::placement::write_pod_row, 8).expect("retirement");
    let control = RunControl {
        retire_pods: Some(to),
        ..RunControl::default()
    };
    let mut retired =
        run_with(&s, &registry, &options, control, |_, _| {}).unwrap_or_else(|d| panic!("{d}"));
    let store = &mut retired.simulation.world_mut().api.store;
    let retirement = store.retirement().expect("retiring");
    retirement.finish().expect("flushed");
    let times_path = retirement.times_path().to_path_buf();
    let slots = store.pod_slots();
    let count = slots.forgotten() + slots.iter().filter(|s| s.kept().is_none()).count();
    assert!(count > 200, "only {count} pods retired");
    if !steady {
        // Nothing holds the oldest slots back: most of them leave memory.
        assert!(
            slots.held().len() < 100 && slots.forgotten() > 200,
            "{} slots held, {} forgotten",
            slots.held().len(),
            slots.forgotten()
        );
    }

    assert_eq!(
        serde_json::to_string_pretty(&kept.summary).unwrap(),
        serde_json::to_string_pretty(&retired.summary).unwrap(),
        "the summary does not depend on retiring"
    );
    let now = retired.simulation.now();
    let times = models::retired_pods::read_times(&times_path)
        .expect("times")
        .map(|t| t.expect("time"));
    assert_eq!(
        models::summary::pods_over_time(kept.simulation.world(), kept.simulation.now(), 200),
        models::summary::pods_over_time_with(retired.simulation.world(), now, 200, times),
    );
    let kept_dir = scratch(if steady { "steady-kept" } else { "churn-kept" });
    let kept_rows = pods_jsonl(&kept, &kept_dir);
    let retired_rows = pods_jsonl(&retired, &dir);
    assert!(kept_rows == retired_rows, "pods.jsonl differs");
    assert!(!dir.join(models::retired_pods::ROWS_FILE).exists());
    assert!(!dir.join(models::retired_pods::TIMES_FILE).exists());
    assert!(!dir.join(models::retired_pods::WAITS_FILE).exists());
    assert!(!dir.join(models::retired_pods::INDEX_FILE).exists());
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&kept_dir);
}

#[test]
fn retiring_deleted_pods_changes_no_output() {
    same_outputs(false);
}

#[test]
fn retiring_behind_long_lived_pods_changes_no_output() {
    same_outputs(true);
}
