//! Property test: random timelines of rollouts, scales, pauses, deletions and drains on a small
//! cluster. After every event the invariant checkers (kept apart from the controllers) check
//! rollout surge and availability, PDBs on eviction and node capacity; and the same seed gives
//! the same digest. A failure prints the seed and the scenario text that reproduce it.
//!
//! d0 is protected by a PDB and only ever drained: a rollout of a Deployment racing a drain of
//! its pods can take its budget below the minimum, upstream as here, because the Eviction API
//! trusts the disruption controller's last status, which lags the rollout's changes. The PDB
//! invariant is checked where Kubernetes promises it.
//!
//! `PROPTEST_CASES` raises the number of cases for a long run (the default keeps CI quick).

use std::fmt::Write;
use std::path::Path;

use models::run::{RunOptions, run};
use models::scenario::load_str;
use models::scheduler::Registry;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Step {
    Rollout(usize, u8),
    Scale(usize, u8),
    Pause(usize),
    Resume(usize),
    DeleteDeployment(usize),
    Drain(u8),
    Uncordon(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1..3usize, 1..9u8).prop_map(|(d, v)| Step::Rollout(d, v)),
        3 => (1..3usize, 0..12u8).prop_map(|(d, r)| Step::Scale(d, r)),
        1 => (1..3usize).prop_map(Step::Pause),
        1 => (1..3usize).prop_map(Step::Resume),
        1 => (1..3usize).prop_map(Step::DeleteDeployment),
        1 => (0..4u8).prop_map(Step::Drain),
        1 => (0..4u8).prop_map(Step::Uncordon),
    ]
}

const STRATEGIES: [&str; 3] = [
    "{type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}}",
    "{type: RollingUpdate, rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}",
    "{type: Recreate}",
];

fn scenario(seed: u64, steps: &[(u16, Step)]) -> String {
    let mut s = format!(
        "name: props\nseed: {seed}\nduration: 20m\ncluster:\n  nodePools: [{{name: n, count: 4, resources: {{cpu: \"8\", memory: 32Gi}}, zones: [a, b]}}]\nbehaviour: {{podStartup: 2s..10s}}\nworkloads:\n"
    );
    for (d, strategy) in STRATEGIES.iter().enumerate() {
        let _ = writeln!(
            s,
            "  - inline: {{apiVersion: apps/v1, kind: Deployment, metadata: {{name: d{d}}}, spec: {{replicas: 4, minReadySeconds: {min_ready}, strategy: {strategy}, selector: {{matchLabels: {{app: d{d}}}}}, template: {{metadata: {{labels: {{app: d{d}}}}}, spec: {{containers: [{{name: c, image: \"d{d}:v0\", resources: {{requests: {{cpu: 200m}}}}}}]}}}}}}}}",
            min_ready = d * 3
        );
    }
    s.push_str(
        "  - inline: {apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: d0}, spec: {maxUnavailable: 1, selector: {matchLabels: {app: d0}}}}\n",
    );
    s.push_str("timeline:\n");
    for (t, step) in steps {
        let at = format!("{}s", 30 + u32::from(*t));
        let line = match step {
            Step::Rollout(d, v) => format!("rollout: {{deployment: d{d}, image: \"d{d}:v{v}\"}}"),
            Step::Scale(d, r) => format!("scale: {{deployment: d{d}, replicas: {r}}}"),
            Step::Pause(d) => format!("pause: {{deployment: d{d}}}"),
            Step::Resume(d) => format!("resume: {{deployment: d{d}}}"),
            Step::DeleteDeployment(d) => format!("delete: {{kind: Deployment, name: d{d}}}"),
            Step::Drain(n) => format!("drain: {{node: n-{n}}}"),
            Step::Uncordon(n) => format!("uncordon: {{node: n-{n}}}"),
        };
        let _ = writeln!(s, "  - {{at: {at}, {line}}}");
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_timelines_keep_the_invariants_and_replay_identically(
        seed in 0u64..1_000_000,
        mut steps in proptest::collection::vec((0u16..600, step()), 1..12),
    ) {
        steps.sort_by_key(|(t, _)| *t);
        // Deleting a Deployment ends its story: drop later steps on it.
        let text = scenario(seed, &steps);
        let s = load_str("props.yaml", &text, Path::new(".")).map_err(|d| TestCaseError::fail(format!("{d}\n{text}")))?;
        let registry = Registry::default_plugins();
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
