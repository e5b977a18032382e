//! `scheduler:` keys that time kube-scheduler (see [`crate::scheduler::cost`]):
//!
//! ```yaml
//! scheduler:
//!   config: {...}                     # optional, as before
//!   schedulingCost: {perPod: 900us, perNodeFiltered: 300ns, perNodeScored: 350ns}
//!   bindingLatency: 0s
//! ```
//!
//! `schedulingCost: 0` makes scheduling instantaneous (the idealised scheduler); a key left
//! out of the mapping keeps its calibrated default.

use serde::Deserialize;
use serde_yaml::Value;

use super::diagnostic::Diagnostic;
use super::format::{Dur, section};
use super::source::{At, Seg, SourceRef};
use crate::scheduler::cost::{SchedulerTiming, SchedulingCost};

pub(crate) const SCHEDULING_COST: &str = "schedulingCost";
pub(crate) const BINDING_LATENCY: &str = "bindingLatency";

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CostSection {
    #[serde(default)]
    per_pod: Option<Dur>,
    #[serde(default)]
    per_node_filtered: Option<Dur>,
    #[serde(default)]
    per_node_scored: Option<Dur>,
}

/// Reads the timing keys of `scheduler:` and returns the rest of the section (`file` or
/// `config`), or `None` when nothing else is there. Problems go to `errors`.
pub(crate) fn scheduler_timing(
    src: &SourceRef,
    value: Option<&Value>,
    errors: &mut Vec<Diagnostic>,
) -> (SchedulerTiming, Option<Value>) {
    let mut timing = SchedulerTiming::default();
    let Some(Value::Mapping(map)) = value else {
        return (timing, value.cloned());
    };
    let mut rest = map.clone();
    if let Some(v) = rest.remove(SCHEDULING_COST) {
        let at = [Seg::key("scheduler"), Seg::key(SCHEDULING_COST)];
        match cost(src, &v, &at) {
            Ok(c) => {
                timing.cost = c;
                if c.is_zero() {
                    // The idealised scheduler: no client rate limit either.
                    timing.client = None;
                }
            }
            Err(d) => errors.push(d),
        }
    }
    if let Some(v) = rest.remove(BINDING_LATENCY) {
        let at = [Seg::key("scheduler"), Seg::key(BINDING_LATENCY)];
        match section::<Dur>(src, &v, &at) {
            Ok(d) => timing.binding_latency = d.0,
            Err(d) => errors.push(d),
        }
    }
    // A section that held only timing keys configures no scheduler; an empty one stays an
    // error for the configuration reader.
    let rest = (map.is_empty() || !rest.is_empty()).then_some(Value::Mapping(rest));
    (timing, rest)
}

fn cost(src: &SourceRef, v: &Value, at: &[Seg]) -> Result<SchedulingCost, Diagnostic> {
    let zero = match v {
        Value::Number(n) => n.as_u64() == Some(0),
        Value::String(s) => s
            .trim()
            .parse::<sim_core::SimDuration>()
            .is_ok_and(|d| d.is_zero()),
        _ => false,
    };
    if zero {
        return Ok(SchedulingCost::ZERO);
    }
    if !matches!(v, Value::Mapping(_)) {
        return Err(src.at(
            at,
            At::Value,
            "schedulingCost: expected 0 or {perPod: 900us, perNodeFiltered: 300ns, perNodeScored: 350ns}",
        ));
    }
    let s: CostSection = section(src, v, at)?;
    let d = SchedulingCost::default();
    Ok(SchedulingCost {
        per_pod: s.per_pod.map_or(d.per_pod, |x| x.0),
        per_node_filtered: s.per_node_filtered.map_or(d.per_node_filtered, |x| x.0),
        per_node_scored: s.per_node_scored.map_or(d.per_node_scored, |x| x.0),
    })
}
