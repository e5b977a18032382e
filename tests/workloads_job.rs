//! The Job controller end to end: pod failure backoff and `backoffLimit`, parallelism and
//! completions, Indexed Jobs, `activeDeadlineSeconds` and `ttlSecondsAfterFinished`, with the
//! invariant checkers on.

use std::path::Path;

use models::api::{CompletionMode, Job, LabelSelector, Labels, Pod, PodTemplate, RestartPolicy};
use models::apiserver::JobStatus;
use models::run::{RunOptions, RunOutcome, run};
use models::scenario::load_str;
use models::scheduler::Registry;
use sim_core::SimTime;

const BASE: &str = r#"
name: jobs
seed: 7
duration: 10m
controlPlane: {watchLatency: 0s, apiLatency: 0s}
cluster:
  nodePools:
    - {name: general, count: 2, resources: {cpu: "8", memory: 32Gi, pods: 110}}
behaviour:
  podStartup: 1s
"#;

fn job(name: &str, run_for: &str, exit_code: i32) -> Job {
    let mut labels = Labels::new();
    labels.insert("app", name);
    let mut pod = Pod {
        name: name.into(),
        labels: labels.clone(),
        restart_policy: RestartPolicy::Never,
        ..Pod::default()
    };
    pod.annotations
        .insert("kubesim.io/run-for".into(), run_for.into());
    pod.annotations
        .insert("kubesim.io/exit-code".into(), exit_code.to_string());
    let mut j = Job::new(name, "default", PodTemplate { pod });
    j.selector = LabelSelector::from_match_labels([("app", name)]);
    j
}

fn run_jobs(jobs: Vec<Job>) -> RunOutcome {
    let mut s = load_str("jobs.yaml", BASE, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    s.jobs = jobs;
    run_checked(&s)
}

/// Runs with the invariant checkers on and asserts they found nothing.
fn run_checked(s: &models::scenario::Scenario) -> RunOutcome {
    let options = RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    };
    let o =
        run(s, &Registry::default_plugins(), &options, |_, _| {}).unwrap_or_else(|d| panic!("{d}"));
    let checkers = o.simulation.world().checkers.as_ref().expect("checkers on");
    assert!(
        checkers.violations.is_empty(),
        "{:#?}",
        &checkers.violations[..checkers.violations.len().min(5)]
    );
    o
}

fn status<'a>(o: &'a RunOutcome, name: &str) -> &'a JobStatus {
    let api = &o.simulation.world().api;
    let id = api
        .objects::<Job>()
        .all()
        .rev()
        .find(|j| j.spec.name == name)
        .expect("job exists")
        .id;
    &api.object::<Job>(id).status
}

fn events(o: &RunOutcome, object: &str, reason: &str) -> Vec<String> {
    o.simulation
        .world()
        .api
        .events
        .iter()
        .filter(|e| e.object == object && e.reason == reason)
        .map(|e| e.message.clone())
        .collect()
}

/// (name, created, finished) of the Job's pods, oldest first.
fn pods(o: &RunOutcome, name: &str) -> Vec<(String, SimTime, Option<SimTime>)> {
    let api = &o.simulation.world().api;
    let mut out: Vec<_> = api
        .store
        .pods
        .iter()
        .filter(|r| r.pod.owner.as_ref().is_some_and(|o| o.name == name))
        .map(|r| (r.pod.name.clone(), r.created_at, r.finished_at))
        .collect();
    out.sort_by_key(|p| p.1);
    out
}

#[test]
fn failing_pods_back_off_and_exceed_the_backoff_limit() {
    let mut j = job("fail", "5s", 1);
    j.backoff_limit = 3;
    let o = run_jobs(vec![j]);
    let s = status(&o, "fail");
    let failed = s.condition("Failed").expect("Failed condition");
    assert_eq!(failed.reason, "BackoffLimitExceeded");
    assert_eq!(
        failed.message,
        "Job has reached the specified backoff limit"
    );
    assert!(s.condition("FailureTarget").is_some());
    assert_eq!(s.failed, 4);
    assert_eq!(s.active, 0);
    assert!(s.completion_time.is_none());
    let ps = pods(&o, "fail");
    assert_eq!(ps.len(), 4, "{ps:?}");
    // upstream backoff_utils.go getRemainingTimeForFailuresCount: 10s, 20s, 40s after the
    // previous failure.
    for (i, want) in [10u64, 20, 40].into_iter().enumerate() {
        let finished = ps[i].2.expect("pod finished");
        let gap = ps[i + 1].1.since(finished).as_secs_f64();
        assert!(
            gap >= want as f64 && gap < want as f64 + 0.5,
            "pod {} created {gap}s after the failure, want {want}s",
            i + 1
        );
    }
    assert_eq!(
        events(&o, "job/fail", "BackoffLimitExceeded"),
        ["Job has reached the specified backoff limit"]
    );
    assert_eq!(events(&o, "job/fail", "SuccessfulCreate").len(), 4);
}

#[test]
fn completions_with_parallelism_complete() {
    let mut j = job("work", "10s", 0);
    j.completions = Some(5);
    j.parallelism = 2;
    let o = run_jobs(vec![j]);
    let s = status(&o, "work");
    assert_eq!(s.succeeded, 5);
    assert_eq!(s.failed, 0);
    assert!(s.condition("Complete").is_some());
    assert!(s.condition("SuccessCriteriaMet").is_some());
    assert!(s.completion_time.is_some());
    let created = events(&o, "job/work", "SuccessfulCreate");
    assert_eq!(created.len(), 5);
    assert!(created.iter().all(|m| m.starts_with("Created pod: work-")));
    assert_eq!(events(&o, "job/work", "Completed"), ["Job completed"]);
    for (name, _, _) in pods(&o, "work") {
        assert_eq!(name.len(), "work-".len() + 5, "{name}");
    }
}

#[test]
fn indexed_job_completes_every_index() {
    let mut j = job("idx", "5s", 0);
    j.completions = Some(3);
    j.parallelism = 3;
    j.completion_mode = CompletionMode::Indexed;
    let o = run_jobs(vec![j]);
    let s = status(&o, "idx");
    assert_eq!(s.completed_indexes, "0-2");
    assert_eq!(s.succeeded, 3);
    assert!(s.condition("Complete").is_some());
    let mut names: Vec<String> = pods(&o, "idx").into_iter().map(|p| p.0).collect();
    names.sort();
    assert_eq!(names.len(), 3);
    // Upstream `manageJob`: an indexed pod's hostname is `<job>-<index>`.
    let api = &o.simulation.world().api;
    for (i, n) in names.iter().enumerate() {
        let pod = api
            .store
            .pods
            .iter()
            .find(|r| &r.pod.name == n)
            .expect("pod");
        assert_eq!(
            pod.pod.hostname.as_deref(),
            Some(format!("idx-{i}").as_str())
        );
    }
    for (i, n) in names.iter().enumerate() {
        let prefix = format!("idx-{i}-");
        assert!(n.starts_with(&prefix) && n.len() == prefix.len() + 5, "{n}");
    }
}

#[test]
fn active_deadline_fails_the_job_and_ttl_deletes_it() {
    let mut j = job("slow", "5m", 0);
    j.active_deadline_seconds = Some(20);
    j.ttl_seconds_after_finished = Some(30);
    let o = run_jobs(vec![j]);
    let s = status(&o, "slow");
    let failed = s.condition("Failed").expect("Failed condition");
    assert_eq!(failed.reason, "DeadlineExceeded");
    assert_eq!(
        failed.message,
        "Job was active longer than specified deadline"
    );
    let start = s.start_time.expect("started");
    let target = s.condition("FailureTarget").expect("FailureTarget");
    assert_eq!(target.last_transition.since(start).as_secs(), 20);
    assert_eq!(events(&o, "job/slow", "SuccessfulDelete").len(), 1);
    let api = &o.simulation.world().api;
    let obj = api
        .objects::<Job>()
        .all()
        .find(|j| j.spec.name == "slow")
        .expect("job");
    assert!(obj.deleted, "the TTL controller deleted the Job");
    assert!(obj.deletion_timestamp.expect("deleted") >= failed.last_transition);
    let waited = obj
        .deletion_timestamp
        .expect("deleted")
        .since(failed.last_transition)
        .as_secs();
    assert_eq!(waited, 30);
}

#[test]
fn the_same_scenario_gives_the_same_digest() {
    let make = || {
        let mut a = job("a", "5s", 1);
        a.backoff_limit = 2;
        let mut b = job("b", "3s", 0);
        b.completions = Some(4);
        b.parallelism = 2;
        vec![a, b]
    };
    let first = run_jobs(make());
    let second = run_jobs(make());
    assert_eq!(first.summary.digest, second.summary.digest);
}

#[test]
fn a_suspended_job_creates_no_pods() {
    let mut j = job("held", "5s", 0);
    j.suspend = true;
    let o = run_jobs(vec![j]);
    let s = status(&o, "held");
    let c = s.condition("Suspended").expect("Suspended condition");
    assert_eq!(c.reason, "JobSuspended");
    assert_eq!(c.message, "Job suspended");
    assert!(s.start_time.is_none());
    assert!(pods(&o, "held").is_empty());
    assert_eq!(events(&o, "job/held", "Suspended"), ["Job suspended"]);
}

/// `podFailurePolicy` from a manifest (upstream `pod_failure_policy.go`): exit code 42 matches
/// a FailJob rule, so the first failure fails the whole Job (reason `PodFailurePolicy`) even
/// though backoffLimit allows 6; exit code 3 matches an Ignore rule, so such failures never
/// count and the Job keeps replacing its pod — after the pod-failure backoff all the same, as
/// current upstream's `getNewFinishedPods` feeds every failed pod to the backoff record.
#[test]
fn pod_failure_policy_fails_or_ignores_as_its_rules_say() {
    let manifest = |name: &str, code: i32| {
        format!(
            "  - inline:\n      apiVersion: batch/v1\n      kind: Job\n      metadata: {{name: {name}}}\n      spec:\n        podFailurePolicy:\n          rules:\n            - {{action: FailJob, onExitCodes: {{containerName: main, operator: In, values: [42]}}}}\n            - {{action: Ignore, onExitCodes: {{operator: In, values: [3]}}}}\n        template:\n          metadata: {{annotations: {{kubesim.io/run-for: 20s, kubesim.io/exit-code: \"{code}\"}}}}\n          spec:\n            restartPolicy: Never\n            containers: [{{name: main, image: busybox}}]\n"
        )
    };
    let text = format!(
        "{BASE}workloads:\n{}{}",
        manifest("fatal", 42),
        manifest("ignored", 3)
    );
    let s = load_str("jobs.yaml", &text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(s.jobs.len(), 2);
    assert_eq!(s.jobs[0].pod_failure_policy.len(), 2);
    let o = run_checked(&s);
    let fatal = status(&o, "fatal");
    let failed = fatal.finished().expect("fatal finished");
    assert_eq!(
        (failed.type_, failed.reason),
        ("Failed", "PodFailurePolicy")
    );
    assert!(
        failed
            .message
            .contains("exit code 42 matching FailJob rule at index 0"),
        "{}",
        failed.message
    );
    assert_eq!(pods(&o, "fatal").len(), 1, "no replacement after FailJob");
    let ignored = status(&o, "ignored");
    assert!(ignored.finished().is_none(), "{ignored:?}");
    assert_eq!(ignored.failed, 0, "ignored failures do not count");
    assert!(
        pods(&o, "ignored").len() >= 5,
        "the Job keeps replacing pods whose failures it ignores: {:?}",
        pods(&o, "ignored")
    );
}

/// An Indexed Job manifest in scenario text; `extra` holds more `spec` lines (8 spaces in).
fn indexed_manifest(name: &str, exit_code: i32, extra: &str) -> String {
    format!(
        "  - inline:\n      apiVersion: batch/v1\n      kind: Job\n      metadata: {{name: {name}}}\n      spec:\n        completionMode: Indexed\n{extra}        template:\n          metadata: {{annotations: {{kubesim.io/run-for: 5s, kubesim.io/exit-code: \"{exit_code}\"}}}}\n          spec:\n            restartPolicy: Never\n            containers: [{{name: main, image: busybox}}]\n"
    )
}

fn run_text(text: &str) -> RunOutcome {
    let s = load_str("jobs.yaml", text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    run_checked(&s)
}

/// The `batch.kubernetes.io/job-index-failure-count` of the Job's pods per completion index,
/// oldest pod first.
fn failure_counts_per_index(o: &RunOutcome, name: &str) -> Vec<(String, Option<String>)> {
    let api = &o.simulation.world().api;
    let mut out: Vec<_> = api
        .store
        .pods
        .iter()
        .filter(|r| r.pod.owner.as_ref().is_some_and(|o| o.name == name))
        .map(|r| {
            let a = &r.pod.annotations;
            (
                r.created_at,
                a.get("batch.kubernetes.io/job-completion-index")
                    .cloned()
                    .unwrap_or_default(),
                a.get("batch.kubernetes.io/job-index-failure-count")
                    .cloned(),
            )
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, ix, c)| (ix, c)).collect()
}

#[test]
fn backoff_limit_per_index_retries_each_index_then_fails_the_job_with_failed_indexes() {
    let text = format!(
        "{BASE}workloads:\n{}",
        indexed_manifest(
            "perindex",
            1,
            "        completions: 4\n        parallelism: 4\n        backoffLimitPerIndex: 1\n"
        )
    );
    let o = run_text(&text);
    let s = status(&o, "perindex");
    let failed = s.condition("Failed").expect("Failed condition");
    assert_eq!(failed.reason, "FailedIndexes");
    assert_eq!(failed.message, "Job has failed indexes");
    assert_eq!(s.failed_indexes.as_deref(), Some("0-3"));
    assert_eq!(s.failed, 8);
    assert_eq!(s.succeeded, 0);
    assert_eq!(s.active, 0);
    let ps = pods(&o, "perindex");
    assert_eq!(ps.len(), 8, "every index is retried exactly once: {ps:?}");
    // The first pod of each index carries failure count 0, its replacement 1.
    let counts = failure_counts_per_index(&o, "perindex");
    for ix in 0..4 {
        let of_ix: Vec<Option<&str>> = counts
            .iter()
            .filter(|(i, _)| *i == ix.to_string())
            .map(|(_, c)| c.as_deref())
            .collect();
        assert_eq!(of_ix, vec![Some("0"), Some("1")], "index {ix}");
    }
    // upstream backoff_utils.go getRemainingTimePerIndex: the replacement waits 10s (one
    // failure) after its index's pod finished.
    let (first, second) = ps.split_at(4);
    for (old, new) in first.iter().zip(second) {
        let finished = old.2.expect("first pod finished");
        assert!(
            new.1.since(finished) >= sim_core::SimDuration::from_secs(10),
            "{old:?} -> {new:?}"
        );
    }
    assert_eq!(
        events(&o, "job/perindex", "FailedIndexes"),
        vec!["Job has failed indexes".to_string()]
    );
}

#[test]
fn max_failed_indexes_fails_the_job_after_the_first_failed_index() {
    let text = format!(
        "{BASE}workloads:\n{}",
        indexed_manifest(
            "maxfailed",
            1,
            "        completions: 4\n        parallelism: 1\n        backoffLimitPerIndex: 0\n        maxFailedIndexes: 0\n"
        )
    );
    let o = run_text(&text);
    let s = status(&o, "maxfailed");
    let failed = s.condition("Failed").expect("Failed condition");
    assert_eq!(failed.reason, "MaxFailedIndexesExceeded");
    assert_eq!(
        failed.message,
        "Job has exceeded the specified maximal number of failed indexes"
    );
    assert_eq!(s.failed_indexes.as_deref(), Some("0"));
    assert_eq!(s.failed, 1);
    assert_eq!(
        pods(&o, "maxfailed").len(),
        1,
        "no pod after the index failed"
    );
}

#[test]
fn fail_index_rule_fails_the_index_without_retry() {
    let text = format!(
        "{BASE}workloads:\n{}",
        indexed_manifest(
            "failindex",
            42,
            "        completions: 2\n        parallelism: 2\n        backoffLimitPerIndex: 3\n        podFailurePolicy:\n          rules:\n            - {action: FailIndex, onExitCodes: {operator: In, values: [42]}}\n"
        )
    );
    let o = run_text(&text);
    let s = status(&o, "failindex");
    let failed = s.condition("Failed").expect("Failed condition");
    assert_eq!(failed.reason, "FailedIndexes");
    assert_eq!(s.failed_indexes.as_deref(), Some("0,1"));
    assert_eq!(s.failed, 2);
    assert_eq!(pods(&o, "failindex").len(), 2, "no retry after FailIndex");
}
