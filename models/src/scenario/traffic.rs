//! `traffic:` (where requests enter and how they fan out) and the traffic keys of a
//! workload's `behaviour:` entry.
//!
//! ```yaml
//! traffic:
//!   mode: fluid                 # or request (every request an event; the default)
//!   interval: 1s                # fluid step, and the step of λ(t)
//!   sloWindow: 1h
//!   seriesInterval: 1m
//!   balancer: random            # roundRobin (default), random, leastRequest; or by service:
//!                               # {default: random, checkout: leastRequest}
//!   entry:
//!     - service: frontend
//!       rate: 200/s             # or 12000/m, 1000/h, a number per second
//!       arrivals: uniform       # Poisson unless said
//!       daily: {amplitude: 0.6, peak: "20:00"}
//!       weekly: {weekend: 0.7}  # or seven factors, Monday first
//!       trend: 5%/week          # or 1%/day
//!       surges: [{at: 3d, factor: 5, rampUp: 1h, hold: 12h, decay: 2h}]
//!       series: {file: rates.csv, interpolation: step}   # time_s,rate; replaces `rate`
//!   calls:
//!     - {from: frontend, to: checkout, perRequest: 0.3}
//! behaviour:
//!   checkout: {cpuPerRequest: {exp: 8ms}, concurrency: 8, timeout: 2s,
//!              retries: {attempts: 2, budget: 20%}, queueLimit: 100}
//! ```
//!
//! A service is named by its Service's name; its behaviour is that of the workload of the same
//! name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_yaml::Value;
use sim_core::SimDuration;

use super::diagnostic::{Diagnostic, did_you_mean};
use super::source::{At, Seg, SourceRef, path_string};
use crate::traffic::rate::{Daily, Interpolation, Series, Surge, Weekly};
use crate::traffic::{
    Arrivals, Balancer, Call, CpuCost, Mode, RateSpec, Retries, ServiceBehaviour, ServiceSpec,
    TrafficSpec,
};

/// Keys of a workload's `behaviour:` entry read here.
pub(crate) const BEHAVIOUR_KEYS: [&str; 5] = [
    "cpuPerRequest",
    "concurrency",
    "timeout",
    "retries",
    "queueLimit",
];

const SECTION_KEYS: [&str; 7] = [
    "mode",
    "interval",
    "sloWindow",
    "seriesInterval",
    "balancer",
    "entry",
    "calls",
];
const ENTRY_KEYS: [&str; 10] = [
    "service", "rate", "arrivals", "daily", "weekly", "trend", "surges", "series", "balancer",
    "start",
];

fn key(k: &str) -> Seg {
    Seg::key(k)
}

fn sub(at: &[Seg], k: &str) -> Vec<Seg> {
    at.iter().cloned().chain([key(k)]).collect()
}

fn idx(at: &[Seg], i: usize) -> Vec<Seg> {
    at.iter().cloned().chain([Seg::Index(i)]).collect()
}

fn shown(v: &Value) -> String {
    serde_yaml::to_string(v)
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn bad(src: &SourceRef, at: &[Seg], what: impl std::fmt::Display) -> Diagnostic {
    src.at(at, At::Value, format!("{}: {what}", path_string(at)))
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|x: &f64| x.is_finite())
}

fn duration(src: &SourceRef, v: &Value, at: &[Seg]) -> Result<SimDuration, Diagnostic> {
    let text = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) if n.as_u64() == Some(0) => "0s".to_string(),
        _ => String::new(),
    };
    text.parse::<SimDuration>().map_err(|_| {
        bad(
            src,
            at,
            format!(
                "expected a duration such as 500ms, 2s or 1h, got {}",
                shown(v)
            ),
        )
    })
}

fn positive_duration(src: &SourceRef, v: &Value, at: &[Seg]) -> Result<SimDuration, Diagnostic> {
    let d = duration(src, v, at)?;
    if d.is_zero() {
        return Err(bad(src, at, "must be longer than 0s"));
    }
    Ok(d)
}

/// A fraction: `0.2` or `20%`.
fn fraction(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.trim().strip_suffix('%') {
            Some(p) => p.trim().parse::<f64>().ok().map(|p| p / 100.0),
            None => s.trim().parse().ok(),
        },
        _ => None,
    }
    .filter(|x: &f64| x.is_finite())
}

fn check_keys(
    src: &SourceRef,
    map: &serde_yaml::Mapping,
    at: &[Seg],
    allowed: &[&str],
) -> Result<(), Diagnostic> {
    for k in map.keys() {
        let name = k.as_str().unwrap_or_default();
        if !allowed.contains(&name) {
            return Err(src.at(
                &sub(at, name),
                At::Key,
                format!(
                    "unknown field \"{name}\" in {}, expected one of {}{}",
                    path_string(at),
                    allowed.join(", "),
                    did_you_mean(name, allowed.iter().copied())
                ),
            ));
        }
    }
    Ok(())
}

fn mapping<'a>(
    src: &SourceRef,
    v: &'a Value,
    at: &[Seg],
    example: &str,
) -> Result<&'a serde_yaml::Mapping, Diagnostic> {
    match v {
        Value::Mapping(m) => Ok(m),
        _ => Err(bad(
            src,
            at,
            format!("expected a mapping such as {example}"),
        )),
    }
}

fn get<'a>(m: &'a serde_yaml::Mapping, k: &str) -> Option<&'a Value> {
    m.get(Value::String(k.to_string()))
}

/// A traffic key of `behaviour.<workload>` into `out`.
pub(crate) fn behaviour_key(
    src: &SourceRef,
    field: &str,
    v: &Value,
    at: &[Seg],
    out: &mut ServiceBehaviour,
) -> Result<(), Diagnostic> {
    match field {
        "cpuPerRequest" => out.cpu_per_request = cpu_cost(src, v, at)?,
        "concurrency" => {
            out.concurrency = v
                .as_u64()
                .and_then(|c| u32::try_from(c).ok())
                .filter(|c| *c >= 1)
                .ok_or_else(|| {
                    bad(
                        src,
                        at,
                        format!(
                            "expected the number of requests a pod serves at once, an integer from 1 to 4294967295, got {}",
                            shown(v)
                        ),
                    )
                })?;
        }
        "timeout" => out.timeout = Some(positive_duration(src, v, at)?),
        "queueLimit" => {
            out.queue_limit = Some(v.as_u64().and_then(|c| u32::try_from(c).ok()).ok_or_else(
                || {
                    bad(
                        src,
                        at,
                        format!(
                            "expected how many requests may wait per pod, an integer from 0 to 4294967295, got {}",
                            shown(v)
                        ),
                    )
                },
            )?);
        }
        "retries" => out.retries = retries(src, v, at)?,
        _ => {}
    }
    Ok(())
}

fn cpu_cost(src: &SourceRef, v: &Value, at: &[Seg]) -> Result<CpuCost, Diagnostic> {
    let shape = "expected a CPU time per request such as 20ms, {exp: 8ms}, {uniform: 5ms..15ms} or {lognormal: {median: 10ms, p99: 80ms}}";
    let map = match v {
        Value::String(_) => return Ok(CpuCost::Constant(duration(src, v, at)?)),
        Value::Mapping(m) if m.len() == 1 => m,
        _ => return Err(bad(src, at, shape)),
    };
    let (k, inner) = map.iter().next().expect("one entry");
    let name = k.as_str().unwrap_or_default();
    let inner_at = sub(at, name);
    match name {
        "exp" | "exponential" => Ok(CpuCost::Exp(positive_duration(src, inner, &inner_at)?)),
        "constant" => Ok(CpuCost::Constant(duration(src, inner, &inner_at)?)),
        "uniform" => {
            let text = inner.as_str().unwrap_or_default();
            let parsed = text.split_once("..").and_then(|(a, b)| {
                Some((
                    a.trim().parse::<SimDuration>().ok()?,
                    b.trim().parse::<SimDuration>().ok()?,
                ))
            });
            match parsed {
                Some((a, b)) if a <= b => Ok(CpuCost::Uniform(a, b)),
                Some(_) => Err(bad(
                    src,
                    &inner_at,
                    "the lower bound comes first, as in 5ms..15ms",
                )),
                None => Err(bad(
                    src,
                    &inner_at,
                    format!("expected a range such as 5ms..15ms, got {}", shown(inner)),
                )),
            }
        }
        "lognormal" => {
            let m = mapping(src, inner, &inner_at, "{median: 10ms, p99: 80ms}")?;
            check_keys(src, m, &inner_at, &["median", "p99"])?;
            let field = |k: &str| {
                get(m, k).ok_or_else(|| {
                    bad(
                        src,
                        &inner_at,
                        format!("missing {k} (e.g. {{median: 10ms, p99: 80ms}})"),
                    )
                })
            };
            let median = positive_duration(src, field("median")?, &sub(&inner_at, "median"))?;
            let p99 = positive_duration(src, field("p99")?, &sub(&inner_at, "p99"))?;
            if p99 < median {
                return Err(bad(
                    src,
                    &sub(&inner_at, "p99"),
                    "p99 must be at least the median",
                ));
            }
            Ok(CpuCost::LogNormal { median, p99 })
        }
        other => Err(src.at(
            &inner_at,
            At::Key,
            format!(
                "{}: unknown distribution \"{other}\"{}: {shape}",
                path_string(at),
                did_you_mean(other, ["exp", "uniform", "lognormal", "constant"])
            ),
        )),
    }
}

fn retries(src: &SourceRef, v: &Value, at: &[Seg]) -> Result<Retries, Diagnostic> {
    let mut r = Retries::default();
    if v.is_number() {
        r.attempts = retry_attempts(src, v, at)?;
        return Ok(r);
    }
    let m = mapping(src, v, at, "{attempts: 2, budget: 20%}")?;
    check_keys(src, m, at, &["attempts", "budget", "minConcurrency"])?;
    if let Some(a) = get(m, "attempts") {
        r.attempts = retry_attempts(src, a, &sub(at, "attempts"))?;
    }
    if let Some(b) = get(m, "budget") {
        r.budget = fraction(b)
            .filter(|f| (0.0..=1.0).contains(f))
            .ok_or_else(|| {
                bad(
                    src,
                    &sub(at, "budget"),
                    format!(
                        "expected the share of requests in flight that may be retries, such as 20% or 0.2, got {}",
                        shown(b)
                    ),
                )
            })?;
    }
    if let Some(c) = get(m, "minConcurrency") {
        r.min_concurrency = c
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| {
                bad(
                    src,
                    &sub(at, "minConcurrency"),
                    format!(
                        "expected an integer from 0 to 4294967295 such as 3, got {}",
                        shown(c)
                    ),
                )
            })?;
    }
    Ok(r)
}

/// Retries of one request: each is a loop step of the fluid model and an event of the request
/// model, so a count beyond any real retry policy's is refused.
pub(crate) const MAX_RETRY_ATTEMPTS: u64 = 100;
/// One arrival per nanosecond, the clock's resolution: a faster rate could not be simulated.
pub(crate) const MAX_RATE_PER_SEC: f64 = 1e9;
/// Surge and weekly multipliers and calls per request: bounded so that their product with a
/// rate stays a number.
pub(crate) const MAX_FACTOR: f64 = 1000.0;
/// A trend's growth per period, in percent.
pub(crate) const MAX_TREND_PERCENT: f64 = 1000.0;

fn retry_attempts(src: &SourceRef, v: &Value, at: &[Seg]) -> Result<u32, Diagnostic> {
    v.as_u64()
        .filter(|n| *n <= MAX_RETRY_ATTEMPTS)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| {
            bad(
                src,
                at,
                format!(
                    "expected a count of retries from 0 to {MAX_RETRY_ATTEMPTS} such as 2, got {}",
                    shown(v)
                ),
            )
        })
}

fn rate(src: &SourceRef, v: &Value, at: &[Seg]) -> Result<f64, Diagnostic> {
    let parsed = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let s = s.trim();
            let (num, per) = s.split_once('/').unwrap_or((s, "s"));
            let secs = match per.trim() {
                "s" | "sec" | "second" => Some(1.0),
                "m" | "min" | "minute" => Some(60.0),
                "h" | "hour" => Some(3600.0),
                "d" | "day" => Some(86_400.0),
                _ => None,
            };
            num.trim()
                .parse::<f64>()
                .ok()
                .zip(secs)
                .map(|(n, secs)| n / secs)
        }
        _ => None,
    };
    match parsed {
        Some(r) if (0.0..=MAX_RATE_PER_SEC).contains(&r) => Ok(r),
        _ => Err(bad(
            src,
            at,
            format!(
                "expected a request rate such as 200/s, 12000/m or 1000/h, from 0 to 1000000000/s, got {}",
                shown(v)
            ),
        )),
    }
}

fn balancer(src: &SourceRef, v: &Value, at: &[Seg]) -> Result<Balancer, Diagnostic> {
    let text = v.as_str().unwrap_or_default();
    Balancer::parse(text.trim()).ok_or_else(|| {
        bad(
            src,
            at,
            format!(
                "expected roundRobin, random or leastRequest, got {}{}",
                shown(v),
                did_you_mean(text, ["roundRobin", "random", "leastRequest"])
            ),
        )
    })
}

/// Reads `traffic:`. `services` are the names a service may have (Services and workloads);
/// `behaviour` gives each workload's traffic behaviour; `base_dir` resolves `series.file`.
pub(crate) fn traffic(
    src: &SourceRef,
    value: Option<&Value>,
    services: &BTreeSet<String>,
    behaviour: &BTreeMap<String, ServiceBehaviour>,
    start_unix_secs: i64,
    base_dir: &Path,
    errors: &mut Vec<Diagnostic>,
) -> Option<TrafficSpec> {
    let at = [key("traffic")];
    let map = match value {
        None | Some(Value::Null) => return None,
        Some(Value::Mapping(m)) => m,
        Some(_) => {
            errors.push(bad(
                src,
                &at,
                "expected a mapping such as {mode: request, entry: [{service: frontend, rate: 200/s}]}",
            ));
            return None;
        }
    };
    if let Err(d) = check_keys(src, map, &at, &SECTION_KEYS) {
        errors.push(d);
        return None;
    }
    let before = errors.len();
    let mut spec = TrafficSpec {
        start_unix_secs,
        ..TrafficSpec::default()
    };
    if let Some(v) = get(map, "mode") {
        match v.as_str() {
            Some("request") => spec.mode = Mode::Request,
            Some("fluid") => spec.mode = Mode::Fluid,
            _ => errors.push(bad(
                src,
                &sub(&at, "mode"),
                format!(
                    "expected request (every request an event) or fluid (rates per interval), got {}",
                    shown(v)
                ),
            )),
        }
    }
    for (k, slot) in [
        ("interval", &mut spec.interval),
        ("sloWindow", &mut spec.slo_window),
        ("seriesInterval", &mut spec.series_interval),
    ] {
        if let Some(v) = get(map, k) {
            match positive_duration(src, v, &sub(&at, k)) {
                Ok(d) => *slot = d,
                Err(d) => errors.push(d),
            }
        }
    }
    let mut default_balancer = Balancer::default();
    let mut balancers: BTreeMap<String, (Balancer, Vec<Seg>)> = BTreeMap::new();
    if let Some(v) = get(map, "balancer") {
        let bat = sub(&at, "balancer");
        match v {
            Value::Mapping(m) => {
                for (k, b) in m {
                    let name = k.as_str().unwrap_or_default().to_string();
                    let kat = sub(&bat, &name);
                    match balancer(src, b, &kat) {
                        Ok(b) if name == "default" => default_balancer = b,
                        Ok(b) => {
                            balancers.insert(name, (b, kat));
                        }
                        Err(d) => errors.push(d),
                    }
                }
            }
            _ => match balancer(src, v, &bat) {
                Ok(b) => default_balancer = b,
                Err(d) => errors.push(d),
            },
        }
    }
    // Services in order of first mention.
    let mut names: Vec<String> = Vec::new();
    let mut known =
        |name: &str, at: &[Seg], what: &str, errors: &mut Vec<Diagnostic>| -> Option<usize> {
            if name.is_empty() {
                errors.push(bad(
                    src,
                    at,
                    format!("expected the name of a Service ({what})"),
                ));
                return None;
            }
            if !services.contains(name) {
                errors.push(bad(
                    src,
                    at,
                    format!(
                        "no Service or workload named \"{name}\"{} (services: {})",
                        did_you_mean(name, services.iter().map(String::as_str)),
                        services.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
                return None;
            }
            Some(match names.iter().position(|n| n == name) {
                Some(i) => i,
                None => {
                    names.push(name.to_string());
                    names.len() - 1
                }
            })
        };
    let mut entries: Vec<(usize, RateSpec, Arrivals, Option<Balancer>)> = Vec::new();
    let entry_at = sub(&at, "entry");
    match get(map, "entry") {
        None | Some(Value::Null) => {}
        Some(Value::Sequence(items)) => {
            for (i, item) in items.iter().enumerate() {
                let eat = idx(&entry_at, i);
                match entry(src, item, &eat, base_dir, errors) {
                    Ok(Some((name, rate, arrivals, b))) => {
                        if let Some(s) = known(&name, &sub(&eat, "service"), "entry", errors) {
                            if entries.iter().any(|e| e.0 == s) {
                                errors.push(bad(
                                    src,
                                    &sub(&eat, "service"),
                                    format!("{name} already has an entry: merge the two"),
                                ));
                            } else {
                                entries.push((s, rate, arrivals, b));
                            }
                        }
                    }
                    Ok(None) => {}
                    Err(d) => errors.push(d),
                }
            }
        }
        Some(_) => errors.push(bad(
            src,
            &entry_at,
            "expected a list such as [{service: frontend, rate: 200/s}]",
        )),
    }
    let mut calls: Vec<(usize, usize, f64, Vec<Seg>)> = Vec::new();
    let calls_at = sub(&at, "calls");
    match get(map, "calls") {
        None | Some(Value::Null) => {}
        Some(Value::Sequence(items)) => {
            for (i, item) in items.iter().enumerate() {
                let cat = idx(&calls_at, i);
                let m = match mapping(
                    src,
                    item,
                    &cat,
                    "{from: frontend, to: checkout, perRequest: 0.3}",
                )
                .and_then(|m| check_keys(src, m, &cat, &["from", "to", "perRequest"]).map(|()| m))
                {
                    Ok(m) => m,
                    Err(d) => {
                        errors.push(d);
                        continue;
                    }
                };
                let name_of = |k: &str| {
                    get(m, k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                let from = known(&name_of("from"), &sub(&cat, "from"), "the caller", errors);
                let to = known(&name_of("to"), &sub(&cat, "to"), "the callee", errors);
                let per = match get(m, "perRequest") {
                    None => Some(1.0),
                    Some(v) => number(v).filter(|p| (0.0..=MAX_FACTOR).contains(p)).or_else(|| {
                        errors.push(bad(
                            src,
                            &sub(&cat, "perRequest"),
                            format!("expected the mean number of calls per request, a number from 0 to 1000 such as 0.3 or 2.5, got {}", shown(v)),
                        ));
                        None
                    }),
                };
                if let (Some(f), Some(t), Some(p)) = (from, to, per) {
                    if f == t {
                        errors.push(bad(src, &cat, "a service cannot call itself"));
                        continue;
                    }
                    calls.push((f, t, p, cat));
                }
            }
        }
        Some(_) => errors.push(bad(
            src,
            &calls_at,
            "expected a list such as [{from: frontend, to: checkout, perRequest: 0.3}]",
        )),
    }
    for (name, (_, bat)) in &balancers {
        if !names.iter().any(|n| n == name) {
            errors.push(src.at(
                bat,
                At::Key,
                format!(
                    "traffic.balancer.{name}: no service \"{name}\" in traffic.entry or traffic.calls{}",
                    did_you_mean(name, names.iter().map(String::as_str))
                ),
            ));
        }
    }
    spec.services = names
        .iter()
        .map(|n| {
            let mut s = ServiceSpec::new(n.clone());
            if let Some(b) = behaviour.get(n) {
                s.behaviour = b.clone();
            }
            s.balancer = balancers.get(n).map_or(default_balancer, |b| b.0);
            s
        })
        .collect();
    for (s, rate, arrivals, b) in entries {
        let svc = &mut spec.services[s];
        svc.entry = Some(rate);
        svc.arrivals = arrivals;
        if let Some(b) = b {
            svc.balancer = b;
        }
    }
    spec.calls = calls
        .iter()
        .map(|&(from, to, per_request, _)| Call {
            from,
            to,
            per_request,
        })
        .collect();
    if let Err(cycle) = spec.topological_order() {
        let on: Vec<&str> = cycle.iter().map(|&i| names[i].as_str()).collect();
        let first = calls
            .iter()
            .find(|c| cycle.contains(&c.0) && cycle.contains(&c.1))
            .map_or_else(|| calls_at.clone(), |c| c.3.clone());
        errors.push(bad(
            src,
            &first,
            format!(
                "the calls form a cycle through {}: a request would call itself without end; remove one of these calls",
                on.join(", ")
            ),
        ));
    }
    (errors.len() == before).then_some(spec)
}

type EntryOut = (String, RateSpec, Arrivals, Option<Balancer>);

fn entry(
    src: &SourceRef,
    item: &Value,
    at: &[Seg],
    base_dir: &Path,
    errors: &mut Vec<Diagnostic>,
) -> Result<Option<EntryOut>, Diagnostic> {
    let m = mapping(src, item, at, "{service: frontend, rate: 200/s}")?;
    check_keys(src, m, at, &ENTRY_KEYS)?;
    let before = errors.len();
    let name = get(m, "service")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut r = RateSpec::default();
    match (get(m, "rate"), get(m, "series")) {
        (Some(v), _) => match rate(src, v, &sub(at, "rate")) {
            Ok(x) => r.base = x,
            Err(d) => errors.push(d),
        },
        (None, Some(_)) => {}
        (None, None) => errors.push(bad(
            src,
            at,
            "an entry needs a rate (rate: 200/s) or a series (series: {file: rates.csv})",
        )),
    }
    let mut arrivals = Arrivals::Poisson;
    if let Some(v) = get(m, "arrivals") {
        match v.as_str() {
            Some("poisson") => {}
            Some("uniform") => arrivals = Arrivals::Uniform,
            _ => errors.push(bad(
                src,
                &sub(at, "arrivals"),
                format!("expected poisson or uniform, got {}", shown(v)),
            )),
        }
    }
    if let Some(v) = get(m, "start") {
        // Traffic begins here: the shop is up before its clients arrive.
        match duration(src, v, &sub(at, "start")) {
            Ok(d) => r.start_secs = d.as_secs_f64(),
            Err(d) => errors.push(d),
        }
    }
    if let Some(v) = get(m, "daily") {
        match daily(src, v, &sub(at, "daily")) {
            Ok(d) => r.daily = Some(d),
            Err(d) => errors.push(d),
        }
    }
    if let Some(v) = get(m, "weekly") {
        match weekly(src, v, &sub(at, "weekly")) {
            Ok(w) => r.weekly = Some(w),
            Err(d) => errors.push(d),
        }
    }
    if let Some(v) = get(m, "trend") {
        match trend(v) {
            Some(t) => r.trend_log_per_sec = t,
            None => errors.push(bad(
                src,
                &sub(at, "trend"),
                format!(
                    "expected a growth above -100% and at most 1000% per period, such as 5%/week or 1%/day, got {}",
                    shown(v)
                ),
            )),
        }
    }
    if let Some(v) = get(m, "surges") {
        let sat = sub(at, "surges");
        match v {
            Value::Sequence(items) => {
                for (i, s) in items.iter().enumerate() {
                    match surge(src, s, &idx(&sat, i)) {
                        Ok(s) => r.surges.push(s),
                        Err(d) => errors.push(d),
                    }
                }
            }
            _ => errors.push(bad(
                src,
                &sat,
                "expected a list such as [{at: 3d, factor: 5, rampUp: 1h, hold: 12h}]",
            )),
        }
    }
    if let Some(v) = get(m, "series") {
        match series(src, v, &sub(at, "series"), base_dir) {
            Ok(s) => r.series = Some(s),
            Err(d) => errors.push(d),
        }
    }
    let b = match get(m, "balancer") {
        Some(v) => match balancer(src, v, &sub(at, "balancer")) {
            Ok(b) => Some(b),
            Err(d) => {
                errors.push(d);
                None
            }
        },
        None => None,
    };
    if name.is_empty() {
        return Err(bad(
            src,
            at,
            "missing service: the Service's name, e.g. service: frontend",
        ));
    }
    Ok((errors.len() == before).then_some((name, r, arrivals, b)))
}

fn daily(src: &SourceRef, v: &Value, at: &[Seg]) -> Result<Daily, Diagnostic> {
    let m = mapping(src, v, at, "{amplitude: 0.6, peak: \"20:00\"}")?;
    check_keys(src, m, at, &["amplitude", "peak"])?;
    let amplitude = match get(m, "amplitude") {
        None => 0.0,
        Some(a) => number(a)
            .filter(|a| (0.0..=1.0).contains(a))
            .ok_or_else(|| {
                bad(
                    src,
                    &sub(at, "amplitude"),
                    format!(
                        "expected a number from 0 to 1 (the rate swings by ± this share), got {}",
                        shown(a)
                    ),
                )
            })?,
    };
    let peak_secs = match get(m, "peak") {
        None => 0,
        Some(p) => {
            let text = p.as_str().unwrap_or_default();
            let parsed = text.split_once(':').and_then(|(h, mm)| {
                let h: u32 = h.trim().parse().ok()?;
                let mm: u32 = mm.trim().parse().ok()?;
                (h < 24 && mm < 60).then_some(h * 3600 + mm * 60)
            });
            parsed.ok_or_else(|| {
                bad(
                    src,
                    &sub(at, "peak"),
                    format!(
                        "expected a time of day in quotes such as \"20:00\", got {}",
                        shown(p)
                    ),
                )
            })?
        }
    };
    Ok(Daily {
        amplitude,
        peak_secs,
    })
}

fn weekly(src: &SourceRef, v: &Value, at: &[Seg]) -> Result<Weekly, Diagnostic> {
    let nonneg = |x: &Value, at: &[Seg]| {
        number(x)
            .filter(|f| (0.0..=MAX_FACTOR).contains(f))
            .ok_or_else(|| {
                bad(
                    src,
                    at,
                    format!(
                        "expected a factor from 0 to 1000 such as 0.7, got {}",
                        shown(x)
                    ),
                )
            })
    };
    match v {
        Value::Mapping(m) => {
            check_keys(src, m, at, &["weekend"])?;
            let w = match get(m, "weekend") {
                Some(x) => nonneg(x, &sub(at, "weekend"))?,
                None => 1.0,
            };
            Ok(Weekly([1.0, 1.0, 1.0, 1.0, 1.0, w, w]))
        }
        Value::Sequence(items) if items.len() == 7 => {
            let mut out = [1.0; 7];
            for (i, x) in items.iter().enumerate() {
                out[i] = nonneg(x, &idx(at, i))?;
            }
            Ok(Weekly(out))
        }
        _ => Err(bad(
            src,
            at,
            "expected {weekend: 0.7} or seven factors, Monday first, such as [1, 1, 1, 1, 1.1, 0.7, 0.6]",
        )),
    }
}

fn trend(v: &Value) -> Option<f64> {
    let text = v.as_str()?.trim();
    let (pct, per) = text.split_once('/')?;
    let fraction = pct.trim().strip_suffix('%')?.trim().parse::<f64>().ok()? / 100.0;
    let period = match per.trim() {
        "week" | "w" => SimDuration::from_days(7),
        "day" | "d" => SimDuration::from_days(1),
        "h" | "hour" => SimDuration::from_hours(1),
        _ => return None,
    };
    (fraction > -1.0 && fraction <= MAX_TREND_PERCENT / 100.0)
        .then(|| crate::traffic::rate::trend_log_rate(fraction, period))
}

fn surge(src: &SourceRef, v: &Value, at: &[Seg]) -> Result<Surge, Diagnostic> {
    let m = mapping(
        src,
        v,
        at,
        "{at: 3d, factor: 5, rampUp: 1h, hold: 12h, decay: 2h}",
    )?;
    check_keys(src, m, at, &["at", "factor", "rampUp", "hold", "decay"])?;
    let dur = |k: &str| -> Result<SimDuration, Diagnostic> {
        get(m, k).map_or(Ok(SimDuration::ZERO), |v| duration(src, v, &sub(at, k)))
    };
    let Some(at_v) = get(m, "at") else {
        return Err(bad(
            src,
            at,
            "missing at: when the surge starts, e.g. at: 3d",
        ));
    };
    let start = duration(src, at_v, &sub(at, "at"))?;
    let factor = match get(m, "factor") {
        Some(f) => number(f)
            .filter(|f| (0.0..=MAX_FACTOR).contains(f))
            .ok_or_else(|| {
                bad(
                    src,
                    &sub(at, "factor"),
                    format!(
                        "expected the rate's multiplier, a number from 0 to 1000 such as 5, got {}",
                        shown(f)
                    ),
                )
            })?,
        None => {
            return Err(bad(
                src,
                at,
                "missing factor: how many times the rate, e.g. factor: 5",
            ));
        }
    };
    Ok(Surge {
        at: start,
        factor,
        ramp_up: dur("rampUp")?,
        hold: dur("hold")?,
        decay: dur("decay")?,
    })
}

fn series(src: &SourceRef, v: &Value, at: &[Seg], base_dir: &Path) -> Result<Series, Diagnostic> {
    let m = mapping(src, v, at, "{file: rates.csv}")?;
    check_keys(src, m, at, &["file", "interpolation"])?;
    let interpolation = match get(m, "interpolation").map(|i| (i, i.as_str())) {
        None | Some((_, Some("linear"))) => Interpolation::Linear,
        Some((_, Some("step"))) => Interpolation::Step,
        Some((i, _)) => {
            return Err(bad(
                src,
                &sub(at, "interpolation"),
                format!("expected linear or step, got {}", shown(i)),
            ));
        }
    };
    let Some(file) = get(m, "file").and_then(Value::as_str) else {
        return Err(bad(
            src,
            at,
            "missing file: a CSV of time_s,rate lines, e.g. file: rates.csv",
        ));
    };
    let path = base_dir.join(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| bad(src, &sub(at, "file"), format!("cannot read {file}: {e}")))?;
    let points = crate::traffic::rate::parse_series_csv(&text).map_err(|(line, message)| {
        Diagnostic::new(
            path.display().to_string(),
            line,
            1,
            format!(
                "{message} (each line is time_s,rate: seconds after the start, requests per second)"
            ),
        )
    })?;
    Ok(Series {
        points,
        interpolation,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use sim_core::SimDuration;

    use crate::scenario::load_str;
    use crate::traffic::{Balancer, CpuCost, Mode};

    const BASE: &str = "name: t
cluster:
  nodePools:
    - {name: general, count: 2, resources: {cpu: \"4\", memory: 16Gi}}
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: frontend}
      spec:
        selector: {matchLabels: {app: frontend}}
        template:
          metadata: {labels: {app: frontend}}
          spec: {containers: [{name: app, image: frontend:1}]}
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: checkout}
      spec:
        selector: {matchLabels: {app: checkout}}
        template:
          metadata: {labels: {app: checkout}}
          spec: {containers: [{name: app, image: checkout:1}]}
";

    fn load(extra: &str) -> Result<crate::scenario::Scenario, String> {
        load_str("s.yaml", &format!("{BASE}{extra}"), Path::new("")).map_err(|d| d.to_string())
    }

    #[test]
    fn traffic_section_and_behaviour_are_read() {
        let s = load(
            "behaviour:
  checkout: {cpuPerRequest: {exp: 8ms}, concurrency: 8, timeout: 2s, retries: {attempts: 2, budget: 20%}, queueLimit: 100}
traffic:
  mode: fluid
  interval: 2s
  sloWindow: 30m
  balancer: {default: random, checkout: leastRequest}
  entry:
    - service: frontend
      rate: 12000/m
      daily: {amplitude: 0.6, peak: \"20:00\"}
      weekly: {weekend: 0.7}
      trend: 5%/week
      surges: [{at: 3d, factor: 5, rampUp: 1h, hold: 12h}]
  calls:
    - {from: frontend, to: checkout, perRequest: 0.3}
",
        )
        .expect("valid");
        let t = s.traffic.expect("traffic");
        assert_eq!(t.mode, Mode::Fluid);
        assert_eq!(t.interval, SimDuration::from_secs(2));
        assert_eq!(t.slo_window, SimDuration::from_mins(30));
        assert_eq!(t.services.len(), 2);
        let fe = &t.services[0];
        assert_eq!(fe.name, "frontend");
        assert_eq!(fe.balancer, Balancer::Random);
        let entry = fe.entry.as_ref().expect("entry");
        assert!((entry.base - 200.0).abs() < 1e-9);
        assert_eq!(entry.surges.len(), 1);
        let co = &t.services[1];
        assert_eq!(co.balancer, Balancer::LeastRequest);
        assert_eq!(
            co.behaviour.cpu_per_request,
            CpuCost::Exp(SimDuration::from_millis(8))
        );
        assert_eq!(co.behaviour.concurrency, 8);
        assert_eq!(co.behaviour.timeout, Some(SimDuration::from_secs(2)));
        assert_eq!(co.behaviour.retries.attempts, 2);
        assert_eq!(co.behaviour.queue_limit, Some(100));
        assert_eq!(t.calls.len(), 1);
        assert!((t.calls[0].per_request - 0.3).abs() < 1e-12);
    }

    #[test]
    fn mistakes_are_located_with_a_fix() {
        let cases = [
            (
                "traffic:\n  entry:\n    - {service: frontend, rate: 200/s}\n  calls:\n    - {from: frontend, to: chekout}\n",
                "s.yaml:28:",
                "did you mean \"checkout\"",
            ),
            (
                "traffic:\n  entry:\n    - {service: frontend, rate: fast}\n",
                "s.yaml:26:",
                "expected a request rate such as 200/s",
            ),
            (
                "traffic:\n  entry:\n    - {service: frontend, rate: 1/s, daily: {amplitude: -0.2}}\n",
                "s.yaml:26:",
                "expected a number from 0 to 1",
            ),
            (
                "traffic:\n  entry:\n    - {service: frontend, rate: 1/s}\n  calls:\n    - {from: frontend, to: checkout}\n    - {from: checkout, to: frontend}\n",
                "s.yaml:28:",
                "cycle",
            ),
            (
                "traffic:\n  entry:\n    - {service: frontend, series: {file: no-such.csv}}\n",
                "s.yaml:26:",
                "cannot read no-such.csv",
            ),
            (
                "behaviour:\n  checkout: {concurrency: 0}\n",
                "s.yaml:25:",
                "an integer from 1 to 4294967295",
            ),
            (
                "behaviour:\n  checkout: {cpuPerRequest: {gamma: 3ms}}\n",
                "s.yaml:25:",
                "unknown distribution",
            ),
            (
                "traffic:\n  mod: fluid\n",
                "s.yaml:25:",
                "did you mean \"mode\"",
            ),
        ];
        for (extra, place, needle) in cases {
            let err = load(extra).expect_err(extra);
            assert!(err.starts_with(place), "{extra}: {err}");
            assert!(err.contains(needle), "{extra}: {err}");
        }
    }

    #[test]
    fn series_csv_errors_name_the_csv_line() {
        let dir = std::env::temp_dir().join(format!("kubesim-traffic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("rates.csv"), "time_s,rate\n0,10\n60,oops\n").expect("write");
        let text = format!(
            "{BASE}traffic:\n  entry:\n    - {{service: frontend, series: {{file: rates.csv, interpolation: step}}}}\n"
        );
        let err = load_str("s.yaml", &text, &dir)
            .expect_err("bad csv")
            .to_string();
        assert!(err.contains("rates.csv:3:1:"), "{err}");
        std::fs::write(dir.join("rates.csv"), "0,10\n60,20\n").expect("write");
        let s = load_str("s.yaml", &text, &dir).expect("good csv");
        let t = s.traffic.expect("traffic");
        let series = t.services[0].entry.as_ref().and_then(|e| e.series.as_ref());
        assert_eq!(series.map(|s| s.points.len()), Some(2));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
