//! Property test, "safety, then liveness": random small clusters (two or three zones, four to
//! eight nodes, an HA control plane of three schedulers and three controller managers) run
//! random workloads — Deployments (some with a PodDisruptionBudget), maybe a StatefulSet and a
//! DaemonSet — through a random plan of faults and changes in their first minutes, then
//! `heal: {}`.
//!
//! Safety: after every event, faults or not, the invariant checkers (kept apart from the
//! models) find nothing — node capacity, rollout bounds, one daemon pod per node, StatefulSet
//! identities, and the node checks (`models::checkers::nodes`): no container runs on a dead
//! machine, the pods of a silent node stop being Ready in time, the unreachable taint goes
//! with `Ready=Unknown`, and no taint eviction comes before its `tolerationSeconds`.
//!
//! Liveness: from the heal on, the cluster converges (every workload available, no pod
//! waiting for a node it could get, no unhealthy-node taint) within [`CONVERGE_WITHIN`].
//!
//! Same seed, same digest. A failure prints the seed and writes the scenario to a file in the
//! system's temp directory, which `kubesim run <file>` replays.
//!
//! `PROPTEST_CASES` raises the number of cases for a long run (the default keeps CI quick).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use models::run::{RunOptions, run};
use models::scenario::load_str;
use models::scheduler::Registry;
use proptest::prelude::*;

/// When `heal: {}` ends every fault: faults start in the first five and a half minutes.
const HEAL_AT_SECS: u32 = 420;
/// How long the cluster may take to converge after the heal, in minutes. Every node whose Node
/// still exists boots at the heal and reports Ready at once, so no pod waits out its 300 s
/// toleration after it; what is left is, in the worst case, in sequence:
/// - a new leader for each control-plane component: the old Lease expires (15 s) and a
///   standby's next retry (2 s) takes it;
/// - the unreachable taints go at the node lifecycle controller's next pass (5 s);
/// - a container that crashed during the faults waits out its CrashLoopBackOff, at most 5 m;
/// - a pod found unschedulable during the faults waits in the unschedulable queue until a
///   node change moves it, at most `podMaxInUnschedulablePodsDuration`, 5 m;
/// - pods evicted from a reclaimed node terminate (30 s grace), replacements are scheduled,
///   pull their image (at most 10 s, or 3 × 10 s + 20 s for a pull slowed before the heal,
///   five images queued on one node: 250 s) and start (at most 10 s), a StatefulSet's three
///   pods one after another;
/// - the controllers report it (status writes within a second).
///
/// The sum stays under 15 m.
const CONVERGE_WITHIN_MINS: u32 = 15;

#[derive(Clone, Debug)]
struct Cluster {
    zones: u8,
    nodes: u8,
    /// Replicas of each Deployment, and whether it has a PodDisruptionBudget.
    deployments: Vec<(u8, bool)>,
    stateful_set: Option<u8>,
    daemon_set: bool,
}

fn cluster() -> impl Strategy<Value = Cluster> {
    (
        2..=3u8,
        4..=8u8,
        proptest::collection::vec((1..=6u8, any::<bool>()), 1..=3),
        proptest::option::of(1..=3u8),
        any::<bool>(),
    )
        .prop_map(
            |(zones, nodes, deployments, stateful_set, daemon_set)| Cluster {
                zones,
                nodes,
                deployments,
                stateful_set,
                daemon_set,
            },
        )
}

#[derive(Clone, Debug)]
enum Fault {
    CrashNodes {
        count: u8,
        recover_after: Option<u16>,
    },
    RebootNodes {
        node: u8,
        secs: u16,
    },
    ZoneOutage {
        zone: u8,
        secs: u16,
    },
    Partition {
        zone: u8,
        percent: u8,
        secs: u16,
    },
    StallKubelet {
        node: u8,
        secs: u16,
    },
    KillPods {
        workload: u8,
        count: u8,
    },
    CrashContainers {
        workload: u8,
        rate: Option<u8>,
        secs: u16,
    },
    ApiServerOutage {
        secs: u16,
    },
    SchedulerOutage {
        leader: bool,
        secs: Option<u16>,
    },
    ControllerManagerOutage {
        leader: bool,
        secs: Option<u16>,
    },
    ReclaimSpot {
        count: u8,
        notice: u16,
    },
    SlowImagePulls {
        factor: u8,
        extra: u8,
        secs: u16,
    },
    Scale {
        workload: u8,
        replicas: u8,
    },
    Rollout {
        workload: u8,
    },
}

fn fault() -> impl Strategy<Value = Fault> {
    let secs = || 10..240u16;
    prop_oneof![
        (1..=2u8, proptest::option::of(30..300u16)).prop_map(|(count, recover_after)| {
            Fault::CrashNodes {
                count,
                recover_after,
            }
        }),
        (0..8u8, secs()).prop_map(|(node, secs)| Fault::RebootNodes { node, secs }),
        (0..3u8, secs()).prop_map(|(zone, secs)| Fault::ZoneOutage { zone, secs }),
        (0..3u8, 25..=100u8, secs()).prop_map(|(zone, percent, secs)| Fault::Partition {
            zone,
            percent,
            secs
        }),
        (0..8u8, secs()).prop_map(|(node, secs)| Fault::StallKubelet { node, secs }),
        (0..4u8, 1..=3u8).prop_map(|(workload, count)| Fault::KillPods { workload, count }),
        (0..4u8, proptest::option::of(30..240u8), secs()).prop_map(|(workload, rate, secs)| {
            Fault::CrashContainers {
                workload,
                rate,
                secs,
            }
        }),
        secs().prop_map(|secs| Fault::ApiServerOutage { secs }),
        (any::<bool>(), proptest::option::of(secs()))
            .prop_map(|(leader, secs)| Fault::SchedulerOutage { leader, secs }),
        (any::<bool>(), proptest::option::of(secs()))
            .prop_map(|(leader, secs)| Fault::ControllerManagerOutage { leader, secs }),
        (1..=2u8, 10..90u16).prop_map(|(count, notice)| Fault::ReclaimSpot { count, notice }),
        (2..=3u8, 0..=20u8, secs()).prop_map(|(factor, extra, secs)| Fault::SlowImagePulls {
            factor,
            extra,
            secs
        }),
        (0..4u8, 0..=6u8).prop_map(|(workload, replicas)| Fault::Scale { workload, replicas }),
        (0..4u8).prop_map(|workload| Fault::Rollout { workload }),
    ]
}

/// The workload a fault names: a Deployment `d<i>`, or the StatefulSet `s` for the index past
/// them.
fn workload_target(c: &Cluster, w: u8) -> Option<String> {
    let w = usize::from(w);
    if w < c.deployments.len() {
        Some(format!("deployment: d{w}"))
    } else if c.stateful_set.is_some() {
        Some("statefulSet: s".into())
    } else {
        None
    }
}

fn scenario(seed: u64, c: &Cluster, plan: &[(u16, Fault)]) -> String {
    let zones: Vec<String> = (0..c.zones).map(|z| format!("z{z}")).collect();
    let mut s = format!(
        "name: faults-props\nseed: {seed}\nduration: {}s\ncluster:\n  nodePools:\n    - {{name: n, count: {}, resources: {{cpu: \"4\", memory: 16Gi}}, zones: [{}]}}\n",
        HEAL_AT_SECS + CONVERGE_WITHIN_MINS * 60 + 30,
        c.nodes,
        zones.join(", ")
    );
    s.push_str("controlPlane:\n  scheduler: {replicas: 3}\n  controllerManager: {replicas: 3}\n");
    s.push_str("behaviour:\n  podStartup: 2s..10s\n");
    for i in 0..c.deployments.len() {
        let _ = writeln!(s, "  d{i}: {{imagePull: 2s..10s}}");
    }
    s.push_str("workloads:\n");
    let container = |name: &str, cpu: &str| {
        format!(
            "containers: [{{name: c, image: \"{name}:v1\", resources: {{requests: {{cpu: {cpu}, memory: 256Mi}}}}}}]"
        )
    };
    for (i, (replicas, pdb)) in c.deployments.iter().enumerate() {
        let _ = writeln!(
            s,
            "  - inline: {{apiVersion: apps/v1, kind: Deployment, metadata: {{name: d{i}}}, spec: {{replicas: {replicas}, selector: {{matchLabels: {{app: d{i}}}}}, template: {{metadata: {{labels: {{app: d{i}}}}}, spec: {{{}}}}}}}}}",
            container(&format!("d{i}"), "200m")
        );
        if *pdb {
            let _ = writeln!(
                s,
                "  - inline: {{apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {{name: d{i}}}, spec: {{maxUnavailable: 1, selector: {{matchLabels: {{app: d{i}}}}}}}}}"
            );
        }
    }
    if let Some(replicas) = c.stateful_set {
        let _ = writeln!(
            s,
            "  - inline: {{apiVersion: apps/v1, kind: StatefulSet, metadata: {{name: s}}, spec: {{replicas: {replicas}, serviceName: s, selector: {{matchLabels: {{app: s}}}}, template: {{metadata: {{labels: {{app: s}}}}, spec: {{{}}}}}}}}}",
            container("s", "200m")
        );
    }
    if c.daemon_set {
        let _ = writeln!(
            s,
            "  - inline: {{apiVersion: apps/v1, kind: DaemonSet, metadata: {{name: ds}}, spec: {{selector: {{matchLabels: {{app: ds}}}}, template: {{metadata: {{labels: {{app: ds}}}}, spec: {{{}}}}}}}}}",
            container("ds", "50m")
        );
    }
    s.push_str("timeline:\n");
    let node = |n: u8| format!("n-{}", n % c.nodes);
    let zone = |z: u8| format!("z{}", z % c.zones);
    // At most two nodes reclaimed: the workloads fit on the two left of four.
    let mut reclaimed = 0u8;
    let mut rollouts = 0u32;
    for (t, f) in plan {
        let line = match f {
            Fault::CrashNodes {
                count,
                recover_after: Some(r),
            } => format!("crashNodes: {{pool: n, count: {count}, recoverAfter: {r}s}}"),
            Fault::CrashNodes {
                count,
                recover_after: None,
            } => format!("crashNodes: {{pool: n, count: {count}}}"),
            Fault::RebootNodes { node: n, secs } => {
                format!("rebootNodes: {{node: {}, for: {secs}s}}", node(*n))
            }
            Fault::ZoneOutage { zone: z, secs } => {
                format!("zoneOutage: {{zone: {}, for: {secs}s}}", zone(*z))
            }
            Fault::Partition {
                zone: z,
                percent,
                secs,
            } => format!(
                "partition: {{zone: {}, percent: {percent}, for: {secs}s}}",
                zone(*z)
            ),
            Fault::StallKubelet { node: n, secs } => {
                format!("stallKubelet: {{node: {}, for: {secs}s}}", node(*n))
            }
            Fault::KillPods { workload, count } => match workload_target(c, *workload) {
                Some(w) => format!("killPods: {{{w}, count: {count}}}"),
                None => continue,
            },
            Fault::CrashContainers {
                workload,
                rate,
                secs,
            } => match (workload_target(c, *workload), rate) {
                (Some(w), Some(r)) => {
                    format!("crashContainers: {{{w}, rate: \"{r}/h\", for: {secs}s}}")
                }
                (Some(w), None) => format!("crashContainers: {{{w}, count: 1}}"),
                (None, _) => continue,
            },
            Fault::ApiServerOutage { secs } => format!("apiServerOutage: {{for: {secs}s}}"),
            Fault::SchedulerOutage { leader, secs }
            | Fault::ControllerManagerOutage { leader, secs } => {
                let verb = if matches!(f, Fault::SchedulerOutage { .. }) {
                    "schedulerOutage"
                } else {
                    "controllerManagerOutage"
                };
                let replicas = if *leader { "leader" } else { "all" };
                match secs {
                    Some(d) => format!("{verb}: {{replicas: {replicas}, for: {d}s}}"),
                    None => format!("{verb}: {{replicas: {replicas}}}"),
                }
            }
            Fault::ReclaimSpot { count, notice } => {
                let count = (*count).min(2 - reclaimed);
                if count == 0 {
                    continue;
                }
                reclaimed += count;
                format!("reclaimSpot: {{pool: n, count: {count}, notice: {notice}s}}")
            }
            Fault::SlowImagePulls {
                factor,
                extra,
                secs,
            } => format!(
                "slowImagePulls: {{pool: n, factor: {factor}, extra: {extra}s, for: {secs}s}}"
            ),
            Fault::Scale { workload, replicas } => match workload_target(c, *workload) {
                Some(w) => format!("scale: {{{w}, replicas: {replicas}}}"),
                None => continue,
            },
            Fault::Rollout { workload } => match workload_target(c, *workload) {
                Some(w) => {
                    rollouts += 1;
                    let name = w.rsplit(' ').next().unwrap_or_default();
                    format!(
                        "rollout: {{{w}, image: \"{name}:v{}\", container: c}}",
                        rollouts + 1
                    )
                }
                None => continue,
            },
        };
        let _ = writeln!(s, "  - {{at: {}s, {line}}}", 30 + u32::from(*t));
    }
    let _ = writeln!(s, "  - {{at: {HEAL_AT_SECS}s, heal: {{}}}}");
    let _ = writeln!(
        s,
        "expect:\n  - {{after: {HEAL_AT_SECS}s, within: {CONVERGE_WITHIN_MINS}m, converged: true}}"
    );
    s
}

/// Writes a failing case's scenario where `kubesim run` can replay it; returns the path.
fn keep(seed: u64, text: &str) -> PathBuf {
    // FNV-1a: a name per scenario, stable across runs.
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = std::env::temp_dir().join(format!("faults-props-{seed}-{hash:016x}.yaml"));
    if let Err(e) = std::fs::write(&path, text) {
        eprintln!("could not write {}: {e}", path.display());
    }
    path
}

fn check(seed: u64, c: &Cluster, plan: &[(u16, Fault)]) -> Result<(), String> {
    let text = scenario(seed, c, plan);
    let s = load_str("faults-props.yaml", &text, Path::new(".")).map_err(|d| format!("{d}"))?;
    let registry = Registry::default_plugins();
    let options = RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    };
    let a = run(&s, &registry, &options, |_, _| {}).map_err(|d| d.to_string())?;
    let world = a.simulation.world();
    let checkers = world.checkers.as_ref().expect("enabled");
    if !checkers.violations.is_empty() {
        return Err(format!(
            "invariants broken: {:#?}",
            &checkers.violations[..checkers.violations.len().min(3)]
        ));
    }
    let expectations = &world.control_plane.expectations;
    let missed: Vec<_> = expectations
        .iter()
        .filter(|e| e.met_at.is_none_or(|t| t > e.expectation.deadline()))
        .collect();
    if expectations.is_empty() || !missed.is_empty() {
        return Err(format!(
            "not converged within {CONVERGE_WITHIN_MINS}m of the heal: {missed:?}"
        ));
    }
    let b = run(&s, &registry, &options, |_, _| {}).map_err(|d| d.to_string())?;
    if a.summary.digest != b.summary.digest {
        return Err(format!(
            "same seed, different digests: {:?} and {:?}",
            a.summary.digest, b.summary.digest
        ));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(16),
        ..ProptestConfig::default()
    })]

    #[test]
    fn faults_keep_the_invariants_and_the_cluster_converges_after_the_heal(
        seed in 0u64..1_000_000,
        c in cluster(),
        mut plan in proptest::collection::vec((0u16..330, fault()), 1..8),
    ) {
        plan.sort_by_key(|(t, _)| *t);
        if let Err(why) = check(seed, &c, &plan) {
            let text = scenario(seed, &c, &plan);
            let path = keep(seed, &text);
            prop_assert!(
                false,
                "seed {seed}: {why}\nscenario written to {} (replay: kubesim run <file>):\n{text}",
                path.display()
            );
        }
    }
}
