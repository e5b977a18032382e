//! Fault verbs of the timeline and stochastic faults (`faults:`).
//!
//! ```yaml
//! timeline:
//!   - {at: 10m, crashNodes: {pool: general, count: 3, recoverAfter: 30m}}
//!   - {at: 20m, rebootNodes: {node: general-4, for: 2m}}
//!   - {at: 30m, zoneOutage: {zone: zone-b, for: 1h}}
//!   - {at: 40m, partition: {zone: zone-a, percent: 50, for: 5m}}
//!   - {at: 50m, stallKubelet: {node: general-1, for: 3m}}
//!   - {at: 1h, killPods: {deployment: web, count: 2}}
//!   - {at: 1h, crashContainers: {deployment: web, rate: 6/h, for: 1h}}
//!   - {at: 2h, slowImagePulls: {pool: general, factor: 10, extra: 30s, for: 1h}}
//!   - {at: 3h, apiServerOutage: {for: 2m}}
//!   - {at: 3h, schedulerOutage: {replicas: leader}}        # or all, with `for:`
//!   - {at: 3h, controllerManagerOutage: {for: 1m}}
//!   - {at: 4h, reclaimSpot: {pool: spot, count: 2, notice: 2m}}
//!   - {at: 5h, recoverNodes: {pool: general}}
//!   - {at: 6h, heal: {}}
//! faults:                                  # stochastic: per target, time between failures and to repair
//!   - crashNodes: {pool: general}
//!     mtbf: {exponential: 10d}             # or {weibull: {shape: 1.5, scale: 10d}} or 10d (fixed)
//!     mttr: {exponential: 30m}
//!     from: 1h                             # optional; `until:` likewise
//! ```
//!
//! Targets: `pool`, `zone`, `node`/`nodes`, `selector` (labels of the node, or of the pod for
//! pod faults), a workload (`deployment`, `statefulSet`, `daemonSet`, `job`, `cronJob`,
//! `replicaSet`, `pod`) with `namespace`, and `count` or `percent` of what matches.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_yaml::Value;
use sim_core::SimDuration;

use super::diagnostic::{Diagnostic, did_you_mean};
use super::format::{Dur, section};
use super::source::{At, Seg, SourceRef};
use super::timeline::{Entry, Resolver};
use super::{NodePool, ObjectKind};
use crate::faults::{
    Amount, Distribution, Fault, FaultVerb, Replicas, StochasticFault, Targets, WorkloadTarget,
};

fn key(k: &str) -> Seg {
    Seg::key(k)
}

fn join(base: &[Seg], tail: &[&str]) -> Vec<Seg> {
    base.iter()
        .cloned()
        .chain(tail.iter().map(|k| key(k)))
        .collect()
}

/// A number, or a string such as `"25%"` or `"6/h"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum NumberText {
    Number(f64),
    Text(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Body {
    pool: Option<String>,
    zone: Option<String>,
    node: Option<String>,
    nodes: Option<Vec<String>>,
    selector: Option<BTreeMap<String, String>>,
    namespace: Option<String>,
    deployment: Option<String>,
    stateful_set: Option<String>,
    daemon_set: Option<String>,
    job: Option<String>,
    cron_job: Option<String>,
    replica_set: Option<String>,
    pod: Option<String>,
    count: Option<i64>,
    percent: Option<NumberText>,
    #[serde(rename = "for")]
    for_: Option<Dur>,
    recover_after: Option<Dur>,
    rate: Option<NumberText>,
    grace_period: Option<Dur>,
    factor: Option<f64>,
    extra: Option<Dur>,
    notice: Option<Dur>,
    replicas: Option<String>,
}

/// The keys each verb takes beyond its targets.
fn extra_keys(verb: FaultVerb) -> &'static [&'static str] {
    match verb {
        FaultVerb::CrashNodes | FaultVerb::ZoneOutage => &["for", "recoverAfter"],
        FaultVerb::RebootNodes | FaultVerb::StallKubelet | FaultVerb::Partition => &["for"],
        FaultVerb::RecoverNodes => &[],
        FaultVerb::KillPods => &["gracePeriod"],
        FaultVerb::CrashContainers => &["rate", "for"],
        FaultVerb::SlowImagePulls => &["factor", "extra", "for"],
        FaultVerb::ApiServerOutage => &["for"],
        FaultVerb::SchedulerOutage | FaultVerb::ControllerManagerOutage => &["replicas", "for"],
        FaultVerb::ReclaimSpot => &["notice"],
        FaultVerb::Heal => &[],
    }
}

const NODE_TARGET_KEYS: [&str; 7] = [
    "pool", "zone", "node", "nodes", "selector", "count", "percent",
];
const POD_TARGET_KEYS: [&str; 14] = [
    "pool",
    "zone",
    "node",
    "nodes",
    "selector",
    "count",
    "percent",
    "namespace",
    "deployment",
    "statefulSet",
    "daemonSet",
    "job",
    "cronJob",
    "replicaSet",
];

fn allowed(verb: FaultVerb) -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = if verb.targets_pods() {
        POD_TARGET_KEYS.to_vec()
    } else if verb.targets_nodes() {
        NODE_TARGET_KEYS.to_vec()
    } else {
        Vec::new()
    };
    if verb.targets_pods() {
        keys.push("pod");
    }
    keys.extend_from_slice(extra_keys(verb));
    keys
}

/// Reads the fault of a timeline entry (or of a `faults:` entry, whose path is given).
pub(crate) fn fault(
    r: &mut Resolver<'_>,
    verb: FaultVerb,
    body: &Value,
    path: &[Seg],
) -> Result<Fault, Diagnostic> {
    let src = r.src;
    let keys = allowed(verb);
    match body {
        Value::Null => {}
        Value::Mapping(m) => {
            for k in m.keys() {
                let name = k.as_str().unwrap_or_default();
                if !keys.contains(&name) {
                    let expected = if keys.is_empty() {
                        "no keys".to_string()
                    } else {
                        keys.join(", ")
                    };
                    return Err(src.at(
                        &join(path, &[name]),
                        At::Key,
                        format!(
                            "{} takes {expected}, not `{name}`{}",
                            verb.as_str(),
                            did_you_mean(name, keys.iter().copied())
                        ),
                    ));
                }
            }
        }
        _ => {
            return Err(src.at(
                path,
                At::Value,
                format!(
                    "{} takes a mapping such as {}",
                    verb.as_str(),
                    example(verb)
                ),
            ));
        }
    }
    let b: Body = if body.is_null() {
        Body::default()
    } else {
        section(src, body, path)?
    };
    let mut f = Fault::new(verb);
    f.targets = targets(r, verb, &b, path)?;
    f.duration = match (b.for_, b.recover_after) {
        (Some(_), Some(_)) => {
            return Err(src.at(
                &join(path, &["recoverAfter"]),
                At::Key,
                "give `for` or `recoverAfter`, not both (they mean the same)",
            ));
        }
        (Some(d), None) | (None, Some(d)) => Some(d.0),
        (None, None) => None,
    };
    if f.duration.is_some_and(|d| d.is_zero()) {
        return Err(src.at(path, At::Value, "a fault's duration must be more than 0s"));
    }
    if verb == FaultVerb::ZoneOutage && f.targets.zone.is_none() {
        return Err(src.at(
            path,
            At::Value,
            "zoneOutage needs `zone:` (e.g. {zone: zone-b, for: 1h})",
        ));
    }
    if let Some(rate) = &b.rate {
        f.rate_per_hour = Some(rate_per_hour(rate).ok_or_else(|| {
            src.at(
                &join(path, &["rate"]),
                At::Value,
                "rate is crashes per hour: a positive number or a string such as \"6/h\", \"1/m\" or \"2/d\"",
            )
        })?);
    }
    f.grace_period = b.grace_period.map(|d| d.0);
    if let Some(factor) = b.factor {
        if !(factor.is_finite() && (1.0..=1000.0).contains(&factor)) {
            return Err(src.at(
                &join(path, &["factor"]),
                At::Value,
                format!("factor must be between 1 and 1000 (pulls take that many times longer), got {factor}"),
            ));
        }
        f.factor = factor;
    }
    if let Some(extra) = b.extra {
        f.extra = extra.0;
    }
    if verb == FaultVerb::SlowImagePulls && f.factor == 1.0 && f.extra.is_zero() {
        return Err(src.at(
            path,
            At::Value,
            "slowImagePulls needs `factor:` (e.g. 10) or `extra:` (e.g. 30s)",
        ));
    }
    if let Some(n) = b.notice {
        f.notice = n.0;
    }
    if let Some(rep) = &b.replicas {
        f.replicas = match rep.as_str() {
            "leader" => Replicas::Leader,
            "all" => Replicas::All,
            other => {
                return Err(src.at(
                    &join(path, &["replicas"]),
                    At::Value,
                    format!(
                        "replicas is `leader` (a standby takes over) or `all`, got \"{other}\""
                    ),
                ));
            }
        };
    }
    Ok(f)
}

fn example(verb: FaultVerb) -> &'static str {
    match verb {
        FaultVerb::CrashNodes => "{pool: general, count: 2, recoverAfter: 30m}",
        FaultVerb::ZoneOutage => "{zone: zone-b, for: 1h}",
        FaultVerb::KillPods | FaultVerb::CrashContainers => "{deployment: web, count: 1}",
        FaultVerb::Heal => "{}",
        _ => "{node: general-1, for: 5m}",
    }
}

fn rate_per_hour(v: &NumberText) -> Option<f64> {
    let r = match v {
        NumberText::Number(n) => *n,
        NumberText::Text(t) => {
            let (n, unit) = t.trim().split_once('/')?;
            let n: f64 = n.trim().parse().ok()?;
            let per = match unit.trim() {
                "s" => 3600.0,
                "m" | "min" => 60.0,
                "h" => 1.0,
                "d" => 1.0 / 24.0,
                _ => return None,
            };
            n * per
        }
    };
    (r.is_finite() && r > 0.0 && r <= 3.6e6).then_some(r)
}

fn targets(
    r: &mut Resolver<'_>,
    verb: FaultVerb,
    b: &Body,
    path: &[Seg],
) -> Result<Targets, Diagnostic> {
    let src = r.src;
    let mut t = Targets::default();
    if let Some(pool) = &b.pool {
        check_pool(src, r.pools, pool, &join(path, &["pool"]))?;
        t.pool = Some(pool.clone());
    }
    t.zone = b.zone.clone();
    if let Some(n) = &b.node {
        t.nodes.push(r.node_at(&join(path, &["node"]), n.clone())?);
    }
    for (i, n) in b.nodes.iter().flatten().enumerate() {
        let mut at = join(path, &["nodes"]);
        at.push(Seg::Index(i));
        t.nodes.push(r.node_at(&at, n.clone())?);
    }
    if let Some(sel) = &b.selector {
        for (k, v) in sel {
            t.selector.insert(k.clone(), v.clone());
        }
    }
    let named = [
        (ObjectKind::Deployment, "deployment", b.deployment.as_ref()),
        (
            ObjectKind::StatefulSet,
            "statefulSet",
            b.stateful_set.as_ref(),
        ),
        (ObjectKind::DaemonSet, "daemonSet", b.daemon_set.as_ref()),
        (ObjectKind::Job, "job", b.job.as_ref()),
        (ObjectKind::CronJob, "cronJob", b.cron_job.as_ref()),
        (ObjectKind::ReplicaSet, "replicaSet", b.replica_set.as_ref()),
        (ObjectKind::Pod, "pod", b.pod.as_ref()),
    ];
    let given: Vec<_> = named.iter().filter(|(_, _, n)| n.is_some()).collect();
    if given.len() > 1 {
        return Err(src.at(
            &join(path, &[given[1].1]),
            At::Key,
            format!(
                "name one workload, not both `{}` and `{}`",
                given[0].1, given[1].1
            ),
        ));
    }
    if let Some((kind, field, Some(name))) = given.first() {
        let o = r.object_ref(*kind, path, field, name, b.namespace.as_deref())?;
        t.workload = Some(WorkloadTarget {
            kind: kind.as_str(),
            namespace: o.namespace,
            name: o.name,
        });
    }
    t.namespace = b.namespace.clone();
    t.amount = match (b.count, &b.percent) {
        (Some(_), Some(_)) => {
            return Err(src.at(
                &join(path, &["percent"]),
                At::Key,
                "give `count` or `percent`, not both",
            ));
        }
        (Some(c), None) => {
            Amount::Count(u32::try_from(c).ok().filter(|c| *c >= 1).ok_or_else(|| {
                src.at(
                    &join(path, &["count"]),
                    At::Value,
                    format!("count must be 1 or more, got {c}"),
                )
            })?)
        }
        (None, Some(p)) => {
            let v = match p {
                NumberText::Number(n) => Some(*n),
                NumberText::Text(t) => t.trim().trim_end_matches('%').trim().parse::<f64>().ok(),
            };
            Amount::Percent(
                v.filter(|v| v.is_finite() && *v > 0.0 && *v <= 100.0)
                    .ok_or_else(|| {
                        src.at(
                            &join(path, &["percent"]),
                            At::Value,
                            "percent must be more than 0 and at most 100 (e.g. 25 or \"25%\")",
                        )
                    })?,
            )
        }
        (None, None) => Amount::All,
    };
    let _ = verb;
    Ok(t)
}

fn check_pool(
    src: &SourceRef,
    pools: &[NodePool],
    pool: &str,
    at: &[Seg],
) -> Result<(), Diagnostic> {
    if pools.iter().any(|p| p.name == pool) {
        return Ok(());
    }
    let names: Vec<String> = pools.iter().map(|p| p.name.clone()).collect();
    Err(src.at(
        at,
        At::Value,
        format!(
            "no node pool named \"{pool}\"{} (pools: {})",
            did_you_mean(pool, names.iter().map(String::as_str)),
            super::list_names(&names)
        ),
    ))
}

/// The fault of a timeline entry whose verb is a fault.
pub(crate) fn timeline_fault(r: &mut Resolver<'_>, e: &Entry<'_>) -> Result<Fault, Diagnostic> {
    let verb = FaultVerb::parse(e.verb).expect("entry verbs are checked against the fault verbs");
    fault(r, verb, e.body, &e.path())
}

/// A distribution as written: `10d` (fixed), `{exponential: 10d}` or
/// `{weibull: {shape: 1.5, scale: 10d}}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DistText {
    Fixed(Dur),
    Map(DistMap),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DistMap {
    #[serde(alias = "exp")]
    exponential: Option<Dur>,
    weibull: Option<WeibullText>,
    fixed: Option<Dur>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeibullText {
    shape: f64,
    scale: Dur,
}

fn distribution(src: &SourceRef, v: &Value, at: &[Seg]) -> Result<Distribution, Diagnostic> {
    let bad = || {
        src.at(
            at,
            At::Value,
            "a distribution is a duration (fixed), {exponential: <mean>} or {weibull: {shape: <k>, scale: <duration>}}",
        )
    };
    let d: DistText = serde_yaml::from_value(v.clone()).map_err(|_| bad())?;
    let d = match d {
        DistText::Fixed(d) => Distribution::Fixed(d.0),
        DistText::Map(DistMap {
            exponential: Some(m),
            weibull: None,
            fixed: None,
        }) => Distribution::Exponential { mean: m.0 },
        DistText::Map(DistMap {
            exponential: None,
            weibull: Some(w),
            fixed: None,
        }) => {
            if !(w.shape.is_finite() && w.shape > 0.0 && w.shape <= 100.0) {
                return Err(src.at(
                    at,
                    At::Value,
                    format!(
                        "a Weibull shape must be more than 0 and at most 100, got {}",
                        w.shape
                    ),
                ));
            }
            Distribution::Weibull {
                shape: w.shape,
                scale: w.scale.0,
            }
        }
        DistText::Map(DistMap {
            exponential: None,
            weibull: None,
            fixed: Some(f),
        }) => Distribution::Fixed(f.0),
        DistText::Map(_) => return Err(bad()),
    };
    let zero = match d {
        Distribution::Fixed(x) | Distribution::Exponential { mean: x } => x.is_zero(),
        Distribution::Weibull { scale, .. } => scale.is_zero(),
    };
    if zero {
        return Err(src.at(
            at,
            At::Value,
            "a time between failures or to repair must be more than 0s",
        ));
    }
    Ok(d)
}

/// Reads `faults:`, the stochastic faults.
pub(crate) fn stochastic(
    r: &mut Resolver<'_>,
    raw: &[Value],
    errors: &mut Vec<Diagnostic>,
) -> Vec<StochasticFault> {
    let src = r.src;
    let mut out = Vec::new();
    for (i, v) in raw.iter().enumerate() {
        let at = [key("faults"), Seg::Index(i)];
        match stochastic_entry(r, src, v, &at) {
            Ok(s) => out.push(s),
            Err(d) => errors.push(d),
        }
    }
    out
}

fn stochastic_entry(
    r: &mut Resolver<'_>,
    src: &SourceRef,
    v: &Value,
    at: &[Seg],
) -> Result<StochasticFault, Diagnostic> {
    let Value::Mapping(m) = v else {
        return Err(src.at(at, At::Value, "a stochastic fault is a mapping such as {crashNodes: {pool: general}, mtbf: {exponential: 10d}, mttr: {exponential: 30m}}"));
    };
    let mut verb = None;
    let (mut mtbf, mut mttr, mut from, mut until) = (None, None, SimDuration::ZERO, None);
    for (k, val) in m {
        let name = k.as_str().unwrap_or_default();
        let path: Vec<Seg> = at.iter().cloned().chain([key(name)]).collect();
        match name {
            "mtbf" => mtbf = Some(distribution(src, val, &path)?),
            "mttr" => mttr = Some(distribution(src, val, &path)?),
            "from" => from = section::<Dur>(src, val, &path)?.0,
            "until" => until = Some(section::<Dur>(src, val, &path)?.0),
            _ => match FaultVerb::parse(name) {
                Some(FaultVerb::Heal | FaultVerb::RecoverNodes) => {
                    return Err(src.at(
                        &path,
                        At::Key,
                        format!("{name} cannot be stochastic: it ends faults"),
                    ));
                }
                Some(v) if verb.is_none() => verb = Some((v, val, path)),
                Some(_) => {
                    return Err(src.at(
                        &path,
                        At::Key,
                        "a stochastic fault holds one fault verb: give each its own entry",
                    ));
                }
                None => {
                    let verbs = FaultVerb::ALL.map(FaultVerb::as_str);
                    return Err(src.at(
                        &path,
                        At::Key,
                        format!(
                            "unknown key \"{name}\": a stochastic fault has a fault verb ({}), mtbf, mttr, and optionally from and until{}",
                            verbs.join(", "),
                            did_you_mean(name, verbs.iter().copied().chain(["mtbf", "mttr", "from", "until"]))
                        ),
                    ));
                }
            },
        }
    }
    let Some((verb, body, path)) = verb else {
        return Err(src.at(
            at,
            At::Value,
            "a stochastic fault needs a fault verb, e.g. crashNodes: {pool: general}",
        ));
    };
    let (Some(mtbf), Some(mttr)) = (mtbf, mttr) else {
        return Err(src.at(
            at,
            At::Value,
            "a stochastic fault needs `mtbf:` (time between failures) and `mttr:` (time to repair)",
        ));
    };
    let fault = fault(r, verb, body, &path)?;
    if fault.duration.is_some() {
        return Err(src.at(
            &path,
            At::Value,
            "a stochastic fault's duration comes from `mttr:`: drop `for`/`recoverAfter`",
        ));
    }
    if until.is_some_and(|u| u <= from) {
        return Err(src.at(at, At::Value, "`until` must come after `from`"));
    }
    Ok(StochasticFault {
        fault,
        mtbf,
        mttr,
        from,
        until,
    })
}
