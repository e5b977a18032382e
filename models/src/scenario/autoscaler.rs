//! The cluster autoscaler's keys (see [`crate::autoscaler`]):
//!
//! ```yaml
//! cluster:
//!   nodePools:
//!     - name: burst
//!       count: 1
//!       costPerHour: 0.40
//!       spot: true                   # interruptible capacity, priced by costPerHour
//!       autoscaling: {min: 1, max: 10, provisioningDelay: 90s..180s, maxNodeProvisionTime: 15m}
//! clusterAutoscaler:                 # every key optional, upstream's defaults
//!   expander: least-waste            # random | most-pods | priority
//!   priorities: {10: [".*spot.*"], 1: [".*"]}   # for expander: priority
//!   scanInterval: 10s
//!   scaleDownEnabled: true
//!   scaleDownUnneededTime: 10m
//!   scaleDownUtilizationThreshold: 0.5
//!   scaleDownDelayAfterAdd: 10m
//!   scaleDownDelayAfterDelete: 0s
//!   scaleDownDelayAfterFailure: 3m
//!   maxNodeProvisionTime: 15m
//!   maxGracefulTerminationSec: 600
//!   maxNodesTotal: 0                 # 0: no limit
//!   newPodScaleUpDelay: 0s
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml::Value;

use super::NodePool;
use super::diagnostic::Diagnostic;
use super::format::{Dur, DurRange, section};
use super::source::{At, Seg, SourceRef, path_string};
use crate::autoscaler::expander::{Expander, Priorities};
use crate::autoscaler::{AutoscalerOptions, NodeGroupSpec};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NodeGroupSection {
    #[serde(default)]
    min: Option<i64>,
    max: i64,
    #[serde(default)]
    provisioning_delay: Option<DurRange>,
    #[serde(default)]
    max_node_provision_time: Option<Dur>,
}

/// A pool's `autoscaling:` value at `at`.
pub(crate) fn node_group(
    src: &SourceRef,
    value: &Value,
    at: &[Seg],
    count: i64,
) -> Result<NodeGroupSpec, Diagnostic> {
    if !matches!(value, Value::Mapping(_)) {
        return Err(src.at(
            at,
            At::Value,
            format!(
                "{}: expected a mapping such as {{min: 1, max: 10, provisioningDelay: 90s..180s}}",
                path_string(at)
            ),
        ));
    }
    let s: NodeGroupSection = section(src, value, at)?;
    let field = |name: &str| -> Vec<Seg> { at.iter().cloned().chain([Seg::key(name)]).collect() };
    let min = s.min.unwrap_or(0);
    let err = |name: &str, message: String| {
        let path = field(name);
        src.at(
            &path,
            At::Value,
            format!("{}: {message}", path_string(&path)),
        )
    };
    if !(0..=super::MAX_POOL_NODES).contains(&min) {
        return Err(err(
            "min",
            format!("must be between 0 and {}, got {min}", super::MAX_POOL_NODES),
        ));
    }
    if !(1..=super::MAX_POOL_NODES).contains(&s.max) {
        return Err(err(
            "max",
            format!(
                "must be between 1 and {}, got {}",
                super::MAX_POOL_NODES,
                s.max
            ),
        ));
    }
    if min > s.max {
        return Err(err(
            "min",
            format!(
                "min ({min}) is larger than max ({}) (raise max or lower min)",
                s.max
            ),
        ));
    }
    if count > s.max {
        return Err(err(
            "max",
            format!(
                "the pool starts with {count} nodes, more than max ({}) (raise max to at least {count})",
                s.max
            ),
        ));
    }
    let defaults = NodeGroupSpec::default();
    Ok(NodeGroupSpec {
        min: u32::try_from(min).unwrap_or(0),
        max: u32::try_from(s.max).unwrap_or(0),
        provisioning_delay: s
            .provisioning_delay
            .map_or(defaults.provisioning_delay, |r| (r.0, r.1)),
        max_node_provision_time: s.max_node_provision_time.map(|d| d.0),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OptionsSection {
    #[serde(default)]
    expander: Option<String>,
    #[serde(default)]
    priorities: Option<BTreeMap<i64, Vec<String>>>,
    #[serde(default)]
    scan_interval: Option<Dur>,
    #[serde(default)]
    scale_down_enabled: Option<bool>,
    #[serde(default)]
    scale_down_unneeded_time: Option<Dur>,
    #[serde(default)]
    scale_down_utilization_threshold: Option<f64>,
    #[serde(default)]
    scale_down_delay_after_add: Option<Dur>,
    #[serde(default)]
    scale_down_delay_after_delete: Option<Dur>,
    #[serde(default)]
    scale_down_delay_after_failure: Option<Dur>,
    #[serde(default)]
    max_node_provision_time: Option<Dur>,
    #[serde(default)]
    max_graceful_termination_sec: Option<i64>,
    #[serde(default)]
    max_nodes_total: Option<i64>,
    #[serde(default)]
    new_pod_scale_up_delay: Option<Dur>,
}

const EXPANDERS: &[&str] = &["least-waste", "most-pods", "random", "priority"];

/// Reads `clusterAutoscaler:`; problems go to `errors`.
pub(crate) fn options(
    src: &SourceRef,
    value: Option<&Value>,
    pools: &[NodePool],
    warnings: &mut Vec<String>,
    errors: &mut Vec<Diagnostic>,
) -> AutoscalerOptions {
    let mut o = AutoscalerOptions::default();
    let Some(value) = value else {
        return o;
    };
    let at = [Seg::key("clusterAutoscaler")];
    if matches!(value, Value::Null) {
        return o;
    }
    let s: OptionsSection = match section(src, value, &at) {
        Ok(s) => s,
        Err(d) => {
            errors.push(d);
            return o;
        }
    };
    let field = |name: &str| -> Vec<Seg> { at.iter().cloned().chain([Seg::key(name)]).collect() };
    let err = |name: &str, message: String| {
        let path = field(name);
        src.at(
            &path,
            At::Value,
            format!("{}: {message}", path_string(&path)),
        )
    };
    if !pools.iter().any(|p| p.autoscaling.is_some()) {
        let d = src.at(&at, At::Key, String::new());
        warnings.push(format!(
            "{}:{}:{}: clusterAutoscaler is set but no node pool has autoscaling: {{min, max}}, so it does nothing",
            d.file, d.line, d.column
        ));
    }
    let priorities = match &s.priorities {
        None => None,
        Some(raw) => match Priorities::compile(raw) {
            Ok(p) => Some(p),
            Err(m) => {
                errors.push(err("priorities", m));
                None
            }
        },
    };
    match s.expander.as_deref() {
        None | Some("least-waste") => {}
        Some("most-pods") => o.expander = Expander::MostPods,
        Some("random") => o.expander = Expander::Random,
        Some("priority") => match priorities {
            Some(p) if !p.0.is_empty() => o.expander = Expander::Priority(p),
            Some(_) | None if s.priorities.is_some() && priorities_failed(&s) => {}
            _ => errors.push(err(
                "expander",
                "the priority expander needs priorities (add priorities: {10: [\".*spot.*\"], 1: [\".*\"]})".into(),
            )),
        },
        Some(other) => errors.push(err(
            "expander",
            format!(
                "unknown expander \"{other}\" (use one of {})",
                EXPANDERS.join(", ")
            ),
        )),
    }
    let positive = |name: &str, d: Option<Dur>, errors: &mut Vec<Diagnostic>| -> Option<_> {
        let d = d?.0;
        if d.is_zero() {
            errors.push(err(name, "must be longer than 0s (e.g. 10s)".into()));
            return None;
        }
        Some(d)
    };
    if let Some(d) = positive("scanInterval", s.scan_interval, errors) {
        o.scan_interval = d;
    }
    if let Some(d) = positive("maxNodeProvisionTime", s.max_node_provision_time, errors) {
        o.max_node_provision_time = d;
    }
    if let Some(b) = s.scale_down_enabled {
        o.scale_down_enabled = b;
    }
    for (d, slot) in [
        (s.scale_down_unneeded_time, &mut o.scale_down_unneeded_time),
        (
            s.scale_down_delay_after_add,
            &mut o.scale_down_delay_after_add,
        ),
        (
            s.scale_down_delay_after_delete,
            &mut o.scale_down_delay_after_delete,
        ),
        (
            s.scale_down_delay_after_failure,
            &mut o.scale_down_delay_after_failure,
        ),
        (s.new_pod_scale_up_delay, &mut o.new_pod_scale_up_delay),
    ] {
        if let Some(d) = d {
            *slot = d.0;
        }
    }
    if let Some(t) = s.scale_down_utilization_threshold {
        if (0.0..=1.0).contains(&t) {
            o.scale_down_utilization_threshold = t;
        } else {
            errors.push(err(
                "scaleDownUtilizationThreshold",
                format!("must be between 0 and 1, got {t} (e.g. 0.5)"),
            ));
        }
    }
    if let Some(g) = s.max_graceful_termination_sec {
        if g >= 0 {
            o.max_graceful_termination_sec = g;
        } else {
            errors.push(err(
                "maxGracefulTerminationSec",
                format!("must be 0 or more, got {g} (e.g. 600)"),
            ));
        }
    }
    if let Some(n) = s.max_nodes_total {
        match u32::try_from(n) {
            Ok(n) => o.max_nodes_total = n,
            Err(_) => errors.push(err(
                "maxNodesTotal",
                format!("must be 0 (no limit) or more, got {n}"),
            )),
        }
    }
    o
}

/// The priorities key was given but did not compile (already reported).
fn priorities_failed(s: &OptionsSection) -> bool {
    s.priorities
        .as_ref()
        .is_some_and(|raw| Priorities::compile(raw).is_err())
}
