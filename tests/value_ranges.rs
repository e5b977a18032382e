//! Every numeric scenario value and command-line flag has a stated range: a value just outside
//! it is refused before the run with a located message naming the range (exit 2), and the
//! boundary value itself is accepted. One row per range of README "Value ranges".

use std::path::Path;
use std::process::Command;

struct Case {
    key: &'static str,
    /// Text of the base scenario to replace.
    find: &'static str,
    /// Just outside the range.
    bad: &'static str,
    /// The boundary, inside.
    good: &'static str,
    /// What the message must say.
    says: &'static str,
}

const CASES: &[Case] = &[
    Case {
        key: "nodePools.count",
        find: "count: 3,",
        bad: "count: -1,",
        good: "count: 0,",
        says: "between 0 and 100000",
    },
    Case {
        key: "autoscaling.max",
        find: "max: 10, prov",
        bad: "max: 100001, prov",
        good: "max: 100000, prov",
        says: "between 1 and 100000",
    },
    Case {
        key: "costPerHour",
        find: "costPerHour: 0.384",
        bad: "costPerHour: -0.1",
        good: "costPerHour: 0",
        says: "non-negative",
    },
    Case {
        key: "replicas",
        find: "replicas: 2",
        bad: "replicas: 1000001",
        good: "replicas: 1000000",
        says: "at most 1000000",
    },
    Case {
        key: "hpa minReplicas",
        find: "minReplicas: 1",
        bad: "minReplicas: 0",
        good: "minReplicas: 1",
        says: "greater than or equal to 1",
    },
    Case {
        key: "service port",
        find: "ports: [{port: 80",
        bad: "ports: [{port: 65536",
        good: "ports: [{port: 65535",
        says: "between 1 and 65535",
    },
    Case {
        key: "concurrency",
        find: "concurrency: 16",
        bad: "concurrency: 4294967296",
        good: "concurrency: 4294967295",
        says: "from 1 to 4294967295",
    },
    Case {
        key: "queueLimit",
        find: "queueLimit: 100",
        bad: "queueLimit: -1",
        good: "queueLimit: 0",
        says: "from 0 to 4294967295",
    },
    Case {
        key: "retries bare",
        find: "retries: {attempts: 2, budget: 20%}",
        bad: "retries: 101",
        good: "retries: 100",
        says: "from 0 to 100",
    },
    Case {
        key: "retries.attempts",
        find: "attempts: 2",
        bad: "attempts: 101",
        good: "attempts: 100",
        says: "from 0 to 100",
    },
    Case {
        key: "retries.budget",
        find: "budget: 20%",
        bad: "budget: 101%",
        good: "budget: 100%",
        says: "20% or 0.2",
    },
    Case {
        key: "minConcurrency",
        find: "budget: 20%}",
        bad: "budget: 20%, minConcurrency: -1}",
        good: "budget: 20%, minConcurrency: 0}",
        says: "from 0 to 4294967295",
    },
    Case {
        key: "rate",
        find: "rate: 60/s",
        bad: "rate: 1000000001/s",
        good: "rate: 1000000000/s",
        says: "from 0 to 1000000000/s",
    },
    Case {
        key: "daily.amplitude",
        find: "amplitude: 0.5",
        bad: "amplitude: 1.01",
        good: "amplitude: 1",
        says: "from 0 to 1",
    },
    Case {
        key: "surge factor",
        find: "daily: {amplitude: 0.5, peak: \"20:00\"}",
        bad: "surges: [{at: 3m, factor: 1001}]",
        good: "surges: [{at: 3m, factor: 1000}]",
        says: "from 0 to 1000",
    },
    Case {
        key: "weekly factor",
        find: "daily: {amplitude: 0.5, peak: \"20:00\"}",
        bad: "weekly: {weekend: 1001}",
        good: "weekly: {weekend: 1000}",
        says: "from 0 to 1000",
    },
    Case {
        key: "trend",
        find: "daily: {amplitude: 0.5, peak: \"20:00\"}",
        bad: "trend: 1001%/day",
        good: "trend: 1000%/day",
        says: "at most 1000%",
    },
    Case {
        key: "slo availability",
        find: "availability: 99.9%",
        bad: "availability: 100.1%",
        good: "availability: 100%",
        says: "at most 100%",
    },
    Case {
        key: "exitCode",
        find: "frontend: {cpuPerRequest",
        bad: "frontend: {exitCode: 256, cpuPerRequest",
        good: "frontend: {exitCode: 255, cpuPerRequest",
        says: "from 0 to 255",
    },
    Case {
        key: "activeDeadlineSeconds",
        find: "containers:",
        bad: "activeDeadlineSeconds: 0\n            containers:",
        good: "activeDeadlineSeconds: 1\n            containers:",
        says: "between 1 and 2147483647",
    },
    Case {
        key: "probe port",
        find: "image: web:v1,",
        bad: "image: web:v1, readinessProbe: {tcpSocket: {port: 65536}},",
        good: "image: web:v1, readinessProbe: {tcpSocket: {port: 65535}},",
        says: "between 1 and 65535",
    },
    Case {
        key: "preferred weight",
        find: "containers:",
        bad: "affinity: {nodeAffinity: {preferredDuringSchedulingIgnoredDuringExecution: [{weight: 101, preference: {matchExpressions: [{key: a, operator: Exists}]}}]}}\n            containers:",
        good: "affinity: {nodeAffinity: {preferredDuringSchedulingIgnoredDuringExecution: [{weight: 100, preference: {matchExpressions: [{key: a, operator: Exists}]}}]}}\n            containers:",
        says: "range 1-100",
    },
    Case {
        key: "hpa averageValue",
        find: "averageUtilization: 60",
        bad: "averageUtilization: 60}}}, {type: Resource, resource: {name: memory, target: {type: AverageValue, averageValue: \"0\"",
        good: "averageUtilization: 60}}}, {type: Resource, resource: {name: memory, target: {type: AverageValue, averageValue: \"1\"",
        says: "must be positive",
    },
    Case {
        key: "hpa stabilizationWindowSeconds",
        find: "maxReplicas: 10",
        bad: "maxReplicas: 10\n        behavior: {scaleDown: {stabilizationWindowSeconds: 3601}}",
        good: "maxReplicas: 10\n        behavior: {scaleDown: {stabilizationWindowSeconds: 3600}}",
        says: "less than or equal to 3600",
    },
    Case {
        key: "metrics.resolution",
        find: "resolution: 15s",
        bad: "resolution: 0s",
        good: "resolution: 1ns",
        says: "more than 0",
    },
    Case {
        key: "duration",
        find: "duration: 1h",
        bad: "duration: 300000d",
        good: "duration: 213503d",
        says: "213503 days",
    },
    Case {
        key: "clusterAutoscaler threshold",
        find: "metrics: {resolution: 15s}",
        bad: "metrics: {resolution: 15s}\nclusterAutoscaler: {scaleDownUtilizationThreshold: 1.01}",
        good: "metrics: {resolution: 15s}\nclusterAutoscaler: {scaleDownUtilizationThreshold: 1}",
        says: "between 0 and 1",
    },
    Case {
        key: "fault percent",
        find: "metrics: {resolution: 15s}",
        bad: "metrics: {resolution: 15s}\nfaults: [{crashNodes: {pool: general, percent: 101}, mtbf: 1d, mttr: 1m}]",
        good: "metrics: {resolution: 15s}\nfaults: [{crashNodes: {pool: general, percent: 100}, mtbf: 1d, mttr: 1m}]",
        says: "at most 100",
    },
    Case {
        key: "slowImagePulls factor",
        find: "metrics: {resolution: 15s}",
        bad: "metrics: {resolution: 15s}\nfaults: [{slowImagePulls: {factor: 1001}, mtbf: 1d, mttr: 1m}]",
        good: "metrics: {resolution: 15s}\nfaults: [{slowImagePulls: {factor: 1000}, mtbf: 1d, mttr: 1m}]",
        says: "between 1 and 1000",
    },
    Case {
        key: "timeline addNodes",
        find: "metrics: {resolution: 15s}",
        bad: "metrics: {resolution: 15s}\ntimeline: [{at: 1m, addNodes: {pool: general, count: 100001}}]",
        good: "metrics: {resolution: 15s}\ntimeline: [{at: 1m, addNodes: {pool: general, count: 100}}]",
        says: "between 1 and 100000",
    },
    Case {
        key: "compare seeds",
        find: "metrics: {resolution: 15s}",
        bad: "metrics: {resolution: 15s}\ncompare: {seeds: 1001, variants: [{name: a}, {name: b}]}",
        good: "metrics: {resolution: 15s}\ncompare: {seeds: 1000, variants: [{name: a}, {name: b}]}",
        says: "from 1 to 1000",
    },
    Case {
        key: "indexed Job parallelism",
        find: "workloads:",
        bad: "workloads:\n  - inline: {apiVersion: batch/v1, kind: Job, metadata: {name: j}, spec: {completionMode: Indexed, completions: 2, parallelism: 100001, template: {spec: {restartPolicy: Never, containers: [{name: a, image: a}]}}}}",
        good: "workloads:\n  - inline: {apiVersion: batch/v1, kind: Job, metadata: {name: j}, spec: {completionMode: Indexed, completions: 2, parallelism: 100000, template: {spec: {restartPolicy: Never, containers: [{name: a, image: a}]}}}}",
        says: "less than or equal to 100000",
    },
];

fn base() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/value-ranges.yaml");
    std::fs::read_to_string(path).expect("fixture")
}

fn load(text: &str) -> Result<models::scenario::Scenario, models::scenario::Diagnostic> {
    models::scenario::load_str("ranges.yaml", text, Path::new("."))
}

#[test]
fn scenario_values_outside_their_range_are_refused_with_the_range() {
    let base = base();
    load(&base).expect("the base scenario loads");
    for c in CASES {
        assert!(
            base.contains(c.find),
            "{}: {:?} not in the base",
            c.key,
            c.find
        );
        let good = base.replacen(c.find, c.good, 1);
        if let Err(e) = load(&good) {
            panic!("{}: the boundary {:?} is refused: {e}", c.key, c.good);
        }
        let bad = base.replacen(c.find, c.bad, 1);
        let err = match load(&bad) {
            Ok(_) => panic!("{}: {:?} is accepted", c.key, c.bad),
            Err(e) => e.to_string(),
        };
        assert!(
            err.starts_with("ranges.yaml:") && err.contains(c.says),
            "{}: {:?} gave {err:?}, expected a located message saying {:?}",
            c.key,
            c.bad,
            c.says
        );
    }
}

/// `(subcommand and flag, just outside, boundary)`: clap refuses the first with exit 2 and
/// the range; the boundary gets past the command line (to the missing scenario file).
const FLAGS: &[(&[&str], &str, &str)] = &[
    (&["compare", "missing.yaml", "--jobs"], "1025", "1024"),
    (&["compare", "missing.yaml", "--jobs"], "0", "1"),
    (&["compare", "missing.yaml", "--seeds"], "1001", "1000"),
    (&["run", "missing.yaml", "--max-events"], "0", "1"),
    (
        &["run", "missing.yaml", "--seed"],
        "18446744073709551616",
        "18446744073709551615",
    ),
    (&["run", "missing.yaml", "--until"], "213504d", "213503d"),
    (
        &["get", "pods", "missing-folder", "--at"],
        "213504d",
        "213503d",
    ),
];

#[test]
fn numeric_flags_outside_their_range_exit_2_naming_the_flag() {
    for (args, bad, good) in FLAGS {
        let flag = args[args.len() - 1];
        let run = |value: &str| {
            Command::new(env!("CARGO_BIN_EXE_kubesim"))
                .args(*args)
                .arg(value)
                .output()
                .expect("kubesim runs")
        };
        let out = run(bad);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {bad}: {err}");
        assert!(
            err.starts_with("command line:1:") && err.contains(flag),
            "{flag} {bad}: {err}"
        );
        let out = run(good);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.starts_with("command line:"),
            "{flag} {good} is refused: {err}"
        );
    }
}

#[test]
fn every_numeric_flag_states_its_range_in_help() {
    for (sub, flag, range) in [
        ("run", "--seed", "0 to 18446744073709551615"),
        ("run", "--until", "0s to about 213503d"),
        ("run", "--max-events", "1 to 18446744073709551615"),
        ("compare", "--seeds", "1 to 1000"),
        ("compare", "--jobs", "1 to 1024"),
        ("get", "--at", "0s to about 213503d"),
        ("events", "--seed", "0 to 18446744073709551615"),
        ("events", "--until", "0s to about 213503d"),
        ("explain", "--seed", "0 to 18446744073709551615"),
        ("explain", "--until", "0s to about 213503d"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_kubesim"))
            .args([sub, "--help"])
            .output()
            .expect("kubesim runs");
        let help = String::from_utf8_lossy(&out.stdout).replace('\n', " ");
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        let at = help
            .find(flag)
            .unwrap_or_else(|| panic!("{sub} --help lacks {flag}"));
        assert!(
            help[at..]
                .split("--")
                .nth(1)
                .unwrap_or_default()
                .contains(range)
                || help[at..].contains(range),
            "{sub} --help: {flag} does not state {range}"
        );
    }
}
