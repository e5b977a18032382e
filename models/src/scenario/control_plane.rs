//! `controlPlane:` replica counts of the leader-elected components, and `expect:`, the
//! convergence checks of a run.
//!
//! ```yaml
//! controlPlane:
//!   watchLatency: 10ms..100ms                 # read by `behaviour.rs`
//!   scheduler: {replicas: 3}                  # one leads, the others stand by
//!   controllerManager:
//!     replicas: 3
//!     horizontalPodAutoscaler:                # kube-controller-manager's --horizontal-pod-autoscaler-* flags
//!       syncPeriod: 15s
//!       tolerance: 0.1
//!       downscaleStabilization: 5m
//!       cpuInitializationPeriod: 5m
//!       initialReadinessDelay: 30s
//! expect:
//!   - {after: 5d, within: 10m, converged: true}
//!   - {after: 2h, noTaintedNodes: true, noPendingPods: true}
//! ```
//!
//! `converged` is `allWorkloadsAvailable`, `noPendingPods` and `noTaintedNodes` together.

use serde::Deserialize;
use serde_yaml::Value;
use sim_core::SimDuration;

use super::diagnostic::{Diagnostic, did_you_mean};
use super::format::{Dur, section};
use super::source::{At, Seg, SourceRef, path_string};
use crate::controllers::hpa::controller::HpaSettings;
use crate::controlplane::{Conditions, ControlPlaneSettings, Expectation};

/// Keys of `controlPlane:`; the latencies are read by `behaviour::control_plane`.
const KEYS: [&str; 4] = [
    "watchLatency",
    "apiLatency",
    "scheduler",
    "controllerManager",
];

fn key(k: &str) -> Seg {
    Seg::key(k)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ComponentSection {
    #[serde(default)]
    replicas: Option<i64>,
    /// `controllerManager` only.
    #[serde(default)]
    horizontal_pod_autoscaler: Option<HpaFlags>,
}

/// kube-controller-manager's `--horizontal-pod-autoscaler-*` flags.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct HpaFlags {
    #[serde(default)]
    sync_period: Option<Dur>,
    #[serde(default)]
    tolerance: Option<f64>,
    #[serde(default)]
    downscale_stabilization: Option<Dur>,
    #[serde(default)]
    cpu_initialization_period: Option<Dur>,
    #[serde(default)]
    initial_readiness_delay: Option<Dur>,
}

/// What `controlPlane:` sets: replica counts, the HPA controller's flags, and the rest of the
/// section (the latencies) for `behaviour::control_plane`.
pub(crate) struct ControlPlaneSection {
    pub replicas: ControlPlaneSettings,
    pub hpa: HpaSettings,
    pub rest: Option<Value>,
}

/// The longest period a flag may take: a day (the HPA would then hardly act at all).
const MAX_FLAG_PERIOD: SimDuration = SimDuration::from_hours(24);

fn hpa_flags(
    src: &SourceRef,
    flags: &HpaFlags,
    settings: &mut HpaSettings,
    errors: &mut Vec<Diagnostic>,
) {
    let at = |k: &str| {
        [
            key("controlPlane"),
            key("controllerManager"),
            key("horizontalPodAutoscaler"),
            key(k),
        ]
    };
    let mut period = |name: &str, d: &Option<Dur>, min: SimDuration, slot: &mut SimDuration| {
        let Some(Dur(d)) = *d else { return };
        if d < min || d > MAX_FLAG_PERIOD {
            let at = at(name);
            errors.push(src.at(
                &at,
                At::Value,
                format!(
                    "{}: expected a duration from {min} to {MAX_FLAG_PERIOD}, got {d}",
                    path_string(&at)
                ),
            ));
        } else {
            *slot = d;
        }
    };
    period(
        "syncPeriod",
        &flags.sync_period,
        SimDuration::from_secs(1),
        &mut settings.sync_period,
    );
    period(
        "downscaleStabilization",
        &flags.downscale_stabilization,
        SimDuration::ZERO,
        &mut settings.downscale_stabilization,
    );
    period(
        "cpuInitializationPeriod",
        &flags.cpu_initialization_period,
        SimDuration::ZERO,
        &mut settings.periods.cpu_initialization_period,
    );
    period(
        "initialReadinessDelay",
        &flags.initial_readiness_delay,
        SimDuration::ZERO,
        &mut settings.periods.delay_of_initial_readiness_status,
    );
    if let Some(t) = flags.tolerance {
        if (0.0..=1.0).contains(&t) {
            settings.tolerance = t;
        } else {
            let at = at("tolerance");
            errors.push(src.at(
                &at,
                At::Value,
                format!(
                    "{}: expected a fraction from 0 to 1 (0.1 is upstream's default: no scaling while usage is within 10% of the target), got {t}",
                    path_string(&at)
                ),
            ));
        }
    }
}

/// Reads the replica counts and the HPA flags of `controlPlane:`. Problems go to `errors`.
pub(crate) fn control_plane(
    src: &SourceRef,
    value: Option<&Value>,
    errors: &mut Vec<Diagnostic>,
) -> ControlPlaneSection {
    let mut settings = ControlPlaneSettings::default();
    let mut hpa = HpaSettings::default();
    let Some(Value::Mapping(map)) = value else {
        return ControlPlaneSection {
            replicas: settings,
            hpa,
            rest: value.cloned(),
        };
    };
    let mut rest = map.clone();
    for (k, v) in map {
        let Some(name) = k.as_str() else { continue };
        let slot = match name {
            "scheduler" => &mut settings.scheduler_replicas,
            "controllerManager" => &mut settings.controller_manager_replicas,
            "watchLatency" | "apiLatency" => continue,
            other => {
                errors.push(src.at(
                    &[key("controlPlane"), key(other)],
                    At::Key,
                    format!(
                        "unknown field \"{other}\", expected one of {}{}",
                        KEYS.join(", "),
                        did_you_mean(other, KEYS)
                    ),
                ));
                rest.remove(k);
                continue;
            }
        };
        rest.remove(k);
        let at = [key("controlPlane"), key(name)];
        let s: ComponentSection = match section(src, v, &at) {
            Ok(s) => s,
            Err(d) => {
                errors.push(d);
                continue;
            }
        };
        if let Some(flags) = &s.horizontal_pod_autoscaler {
            if name == "controllerManager" {
                hpa_flags(src, flags, &mut hpa, errors);
            } else {
                let at = [
                    key("controlPlane"),
                    key(name),
                    key("horizontalPodAutoscaler"),
                ];
                errors.push(src.at(
                    &at,
                    At::Key,
                    format!(
                        "{}: the HPA controller runs in the controller manager: move this under controlPlane.controllerManager",
                        path_string(&at)
                    ),
                ));
            }
        }
        if let Some(n) = s.replicas {
            match u8::try_from(n) {
                Ok(n) if n >= 1 => *slot = n,
                _ => {
                    let at = [key("controlPlane"), key(name), key("replicas")];
                    errors.push(src.at(
                        &at,
                        At::Value,
                        format!(
                            "{}: expected a whole number of replicas from 1 to 255 (one leads, the others stand by), got {n}",
                            path_string(&at)
                        ),
                    ));
                }
            }
        }
    }
    ControlPlaneSection {
        replicas: settings,
        hpa,
        rest: Some(Value::Mapping(rest)),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ExpectSection {
    after: Dur,
    #[serde(default)]
    within: Option<Dur>,
    #[serde(default)]
    converged: Option<bool>,
    #[serde(default)]
    all_workloads_available: Option<bool>,
    #[serde(default)]
    no_pending_pods: Option<bool>,
    #[serde(default)]
    no_tainted_nodes: Option<bool>,
}

/// Reads `expect:`, one entry at a time so that every bad entry is reported. An entry whose
/// check would start after the run ends is kept (it is reported as missed) with a warning.
pub(crate) fn expectations(
    src: &SourceRef,
    value: Option<&Value>,
    duration: SimDuration,
    warnings: &mut Vec<String>,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Expectation> {
    let mut out = Vec::new();
    let items = match value {
        None | Some(Value::Null) => return out,
        Some(Value::Sequence(items)) => items,
        Some(_) => {
            errors.push(src.at(
                &[key("expect")],
                At::Value,
                "expect must be a list, e.g. [{after: 5d, within: 10m, converged: true}]",
            ));
            return out;
        }
    };
    for (i, item) in items.iter().enumerate() {
        let at = [key("expect"), Seg::Index(i)];
        let s: ExpectSection = match section(src, item, &at) {
            Ok(s) => s,
            Err(d) => {
                errors.push(d);
                continue;
            }
        };
        let converged = s.converged == Some(true);
        let conditions = Conditions {
            all_workloads_available: converged || s.all_workloads_available == Some(true),
            no_pending_pods: converged || s.no_pending_pods == Some(true),
            no_tainted_nodes: converged || s.no_tainted_nodes == Some(true),
        };
        if conditions == Conditions::default() {
            errors.push(src.at(
                &at,
                At::Value,
                format!(
                    "{}: names no condition: add converged: true, or one of allWorkloadsAvailable, noPendingPods, noTaintedNodes: true",
                    path_string(&at)
                ),
            ));
            continue;
        }
        let e = Expectation {
            after: s.after.0,
            within: s.within.map_or(SimDuration::ZERO, |d| d.0),
            conditions,
        };
        if e.after > duration {
            let d = src.at(
                &[key("expect"), Seg::Index(i), key("after")],
                At::Value,
                String::new(),
            );
            warnings.push(format!(
                "{}:{}:{}: this expectation is checked from {}, after the run ends ({duration}), so it cannot be met",
                d.file, d.line, d.column, e.after
            ));
        }
        out.push(e);
    }
    out
}
