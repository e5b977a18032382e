//! Property test: random mixes of every workload kind — Deployments, StatefulSets (with volume
//! claims), DaemonSets, Jobs (NonIndexed and Indexed, flaky pods) and CronJobs — on a small
//! three-zone cluster, with random scales, deletions, drains, nodes joining and nodes deleted. After every
//! event the invariant checkers (kept apart from the controllers) check node capacity, the
//! rollout bounds, one daemon pod per node, StatefulSet ordering, Job parallelism, CronJob
//! Forbid and that no pod runs outside its volume's zone; the same seed gives the same digest.
//! A failure prints the seed and the scenario text that reproduce it.
//!
//! `PROPTEST_CASES` raises the number of cases for a long run (the default keeps CI quick).

use std::fmt::Write;
use std::path::Path;

use models::run::{RunOptions, run};
use models::scenario::load_str;
use models::scheduler::Registry;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Workload {
    Deployment {
        replicas: u8,
    },
    StatefulSet {
        replicas: u8,
        parallel: bool,
    },
    DaemonSet {
        tolerate_all: bool,
    },
    Job {
        completions: u8,
        parallelism: u8,
        indexed: bool,
        flaky: bool,
    },
    CronJob {
        every_minutes: u8,
        forbid: bool,
    },
}

fn workload() -> impl Strategy<Value = Workload> {
    prop_oneof![
        (1..6u8).prop_map(|replicas| Workload::Deployment { replicas }),
        (1..5u8, any::<bool>())
            .prop_map(|(replicas, parallel)| Workload::StatefulSet { replicas, parallel }),
        any::<bool>().prop_map(|tolerate_all| Workload::DaemonSet { tolerate_all }),
        (1..6u8, 1..4u8, any::<bool>(), any::<bool>()).prop_map(
            |(completions, parallelism, indexed, flaky)| {
                Workload::Job {
                    completions,
                    parallelism,
                    indexed,
                    flaky,
                }
            }
        ),
        (2..10u8, any::<bool>()).prop_map(|(every_minutes, forbid)| Workload::CronJob {
            every_minutes,
            forbid
        }),
    ]
}

#[derive(Clone, Debug)]
enum Step {
    Scale(usize, u8),
    Delete(usize),
    Drain(u8),
    Uncordon(u8),
    AddNodes(u8),
    DeleteNode(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..6usize, 0..6u8).prop_map(|(w, r)| Step::Scale(w, r)),
        1 => (0..6usize).prop_map(Step::Delete),
        1 => (0..6u8).prop_map(Step::Drain),
        1 => (0..6u8).prop_map(Step::Uncordon),
        1 => (1..3u8).prop_map(Step::AddNodes),
        1 => (0..6u8).prop_map(Step::DeleteNode),
    ]
}

fn kind_of(w: &Workload) -> &'static str {
    match w {
        Workload::Deployment { .. } => "Deployment",
        Workload::StatefulSet { .. } => "StatefulSet",
        Workload::DaemonSet { .. } => "DaemonSet",
        Workload::Job { .. } => "Job",
        Workload::CronJob { .. } => "CronJob",
    }
}

fn scenario(seed: u64, workloads: &[Workload], steps: &[(u16, Step)]) -> String {
    let mut s = format!(
        "name: props\nseed: {seed}\nduration: 15m\ncluster:\n  nodePools:\n    - {{name: n, count: 6, resources: {{cpu: \"8\", memory: 32Gi}}, zones: [a, b, c]}}\n    - {{name: t, count: 1, resources: {{cpu: \"8\", memory: 32Gi}}, taints: [{{key: dedicated, value: x, effect: NoSchedule}}]}}\nbehaviour:\n  podStartup: 2s..10s\n"
    );
    for (i, w) in workloads.iter().enumerate() {
        match w {
            Workload::Job { flaky: true, .. } | Workload::CronJob { .. } => {
                let _ = writeln!(s, "  w{i}: {{runFor: 10s..40s, failureProbability: 0.3}}");
            }
            Workload::Job { .. } => {
                let _ = writeln!(s, "  w{i}: {{runFor: 10s..40s}}");
            }
            _ => {}
        }
    }
    s.push_str("workloads:\n");
    let container = |i: usize| {
        format!(
            "containers: [{{name: c, image: \"w{i}:v1\", resources: {{requests: {{cpu: 300m, memory: 256Mi}}}}}}]"
        )
    };
    for (i, w) in workloads.iter().enumerate() {
        let labels = format!("{{matchLabels: {{app: w{i}}}}}");
        let meta = format!("{{labels: {{app: w{i}}}}}");
        let line = match w {
            Workload::Deployment { replicas } => format!(
                "{{apiVersion: apps/v1, kind: Deployment, metadata: {{name: w{i}}}, spec: {{replicas: {replicas}, selector: {labels}, template: {{metadata: {meta}, spec: {{{c}}}}}}}}}",
                c = container(i)
            ),
            Workload::StatefulSet { replicas, parallel } => format!(
                "{{apiVersion: apps/v1, kind: StatefulSet, metadata: {{name: w{i}}}, spec: {{replicas: {replicas}, serviceName: w{i}, podManagementPolicy: {policy}, selector: {labels}, template: {{metadata: {meta}, spec: {{{c}}}}}, volumeClaimTemplates: [{{metadata: {{name: data}}, spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}}}}}]}}}}",
                policy = if *parallel {
                    "Parallel"
                } else {
                    "OrderedReady"
                },
                c = container(i)
            ),
            Workload::DaemonSet { tolerate_all } => format!(
                "{{apiVersion: apps/v1, kind: DaemonSet, metadata: {{name: w{i}}}, spec: {{selector: {labels}, template: {{metadata: {meta}, spec: {{{tol}containers: [{{name: c, image: \"w{i}:v1\", resources: {{requests: {{cpu: 50m}}}}}}]}}}}}}}}",
                tol = if *tolerate_all {
                    "tolerations: [{operator: Exists}], "
                } else {
                    ""
                }
            ),
            Workload::Job {
                completions,
                parallelism,
                indexed,
                ..
            } => format!(
                "{{apiVersion: batch/v1, kind: Job, metadata: {{name: w{i}}}, spec: {{completions: {completions}, parallelism: {parallelism}, completionMode: {mode}, backoffLimit: 3, template: {{spec: {{restartPolicy: Never, {c}}}}}}}}}",
                mode = if *indexed { "Indexed" } else { "NonIndexed" },
                c = container(i)
            ),
            Workload::CronJob {
                every_minutes,
                forbid,
            } => format!(
                "{{apiVersion: batch/v1, kind: CronJob, metadata: {{name: w{i}}}, spec: {{schedule: \"*/{every_minutes} * * * *\", concurrencyPolicy: {policy}, jobTemplate: {{spec: {{template: {{spec: {{restartPolicy: Never, {c}}}}}}}}}}}}}",
                policy = if *forbid { "Forbid" } else { "Allow" },
                c = container(i)
            ),
        };
        let _ = writeln!(s, "  - inline: {line}");
    }
    s.push_str("timeline:\n");
    for (t, step) in steps {
        let at = format!("{}s", 30 + u32::from(*t));
        let line = match step {
            Step::Scale(w, r) => match workloads.get(*w) {
                Some(Workload::Deployment { .. }) => {
                    format!("scale: {{deployment: w{w}, replicas: {r}}}")
                }
                Some(Workload::StatefulSet { .. }) => {
                    format!("scale: {{statefulSet: w{w}, replicas: {r}}}")
                }
                _ => continue,
            },
            Step::Delete(w) => match workloads.get(*w) {
                Some(x) => format!("delete: {{kind: {}, name: w{w}}}", kind_of(x)),
                None => continue,
            },
            Step::Drain(n) => format!("drain: {{node: n-{n}}}"),
            Step::Uncordon(n) => format!("uncordon: {{node: n-{n}}}"),
            Step::AddNodes(c) => format!("addNodes: {{pool: n, count: {c}}}"),
            Step::DeleteNode(n) => format!("delete: {{kind: Node, name: n-{n}}}"),
        };
        let _ = writeln!(s, "  - {{at: {at}, {line}}}");
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_workload_mixes_keep_the_invariants_and_replay_identically(
        seed in 0u64..1_000_000,
        workloads in proptest::collection::vec(workload(), 1..6),
        mut steps in proptest::collection::vec((0u16..600, step()), 0..8),
    ) {
        steps.sort_by_key(|(t, _)| *t);
        let text = scenario(seed, &workloads, &steps);
        let s = load_str("props.yaml", &text, Path::new(".")).map_err(|d| TestCaseError::fail(format!("{d}\n{text}")))?;
        let registry = Registry::default_plugins();
        // Drains and deletions take pods away behind the controllers' backs: the rollout
        // availability bound does not apply; every other invariant does.
        let options = RunOptions { check_invariants: true, ..RunOptions::default() };
        let a = run(&s, &registry, &options, |_, _| {}).map_err(|d| TestCaseError::fail(d.to_string()))?;
        let checkers = a.simulation.world().checkers.as_ref().expect("enabled");
        prop_assert!(
            checkers.violations.is_empty(),
            "seed {seed}: {:?}\nscenario:\n{text}",
            &checkers.violations[..checkers.violations.len().min(3)]
        );
        let b = run(&s, &registry, &options, |_, _| {}).map_err(|d| TestCaseError::fail(d.to_string()))?;
        prop_assert_eq!(&a.summary.digest, &b.summary.digest, "seed {}: same seed, different digest\n{}", seed, text);
    }
}
