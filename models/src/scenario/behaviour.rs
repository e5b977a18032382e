//! `behaviour:` (how pods behave, by workload name) and `controlPlane:` (latencies).
//!
//! ```yaml
//! behaviour:
//!   podStartup: 1s..3s              # every pod, unless its workload says otherwise
//!   failingImages: [web:v2-typo]    # pulls of these images fail
//!   frontend: {startup: 5s..20s}    # by the name of a workload (Deployment, StatefulSet, Job, Pod, …)
//!   flaky: {ready: never}
//!   nightly-report: {runFor: 10m..30m, exitCode: 0}   # batch pods end by themselves
//!   flaky-batch: {runFor: 20s, failureProbability: 0.3}
//!   api: {imagePull: 2s..10s, crashAfter: 30m..2h, preStop: 5s,  # container lifecycle
//!         liveness: {failAfter: 10m}, readiness: {failureProbability: 0.01},
//!         startupProbe: {passAfter: 40s}, initContainers: 5s}
//!   images: {"repo/x:1": {size: 500Mi, pull: 20s}}   # per image; or
//!   imagePullRate: 50Mi                               # bytes per second, for sized images
//! controlPlane:
//!   watchLatency: 10ms..100ms
//!   apiLatency: 0s
//! ```

use serde_yaml::Value;
use sim_core::SimDuration;

use super::diagnostic::{Diagnostic, did_you_mean};
use super::format::{DurRange, section};
use super::source::{At, Seg, SourceRef, path_string};
use super::{Behaviour, Known, WorkloadBehaviour};
use crate::apiserver::{ControlPlaneTiming, Latency};

/// Keys of a workload's entry that kubesim reads.
const WORKLOAD_KEYS: [&str; 5] = [
    "startup",
    "ready",
    "runFor",
    "exitCode",
    "failureProbability",
];

/// Keys of a workload's entry for its containers' resource usage (see `crate::kubelet::usage`).
const USAGE_KEYS: [&str; 3] = ["memory", "ephemeralStorage", "cpu"];

/// Keys of a workload's entry about serving requests (read by `traffic.rs`).
use super::traffic::BEHAVIOUR_KEYS as TRAFFIC_KEYS;

/// Keys of `behaviour:` that are not workload names.
const GLOBAL_KEYS: [&str; 4] = ["podStartup", "failingImages", "images", "imagePullRate"];

/// Keys of a workload's entry about its containers' lifecycle (read by [`lifecycle_key`]).
const LIFECYCLE_KEYS: [&str; 7] = [
    "imagePull",
    "liveness",
    "readiness",
    "startupProbe",
    "preStop",
    "crashAfter",
    "initContainers",
];

fn key(k: &str) -> Seg {
    Seg::key(k)
}

/// Reads `behaviour:`; problems go to `errors` (one per bad entry), so that every one is
/// reported.
pub(crate) fn behaviour(
    src: &SourceRef,
    value: Option<&Value>,
    known: &Known,
    warnings: &mut Vec<String>,
    errors: &mut Vec<Diagnostic>,
) -> Behaviour {
    let mut out = Behaviour::default();
    let at = [key("behaviour")];
    let map = match value {
        None | Some(Value::Null) => return out,
        Some(Value::Mapping(map)) => map,
        Some(_) => {
            errors.push(src.at(
                &at,
                At::Value,
                "behaviour must be a mapping, e.g. {podStartup: 1s..3s, frontend: {startup: 5s..20s}}",
            ));
            return out;
        }
    };
    for (k, v) in map {
        let Some(name) = k.as_str() else {
            errors.push(src.at(&at, At::Value, "behaviour keys must be names (strings)"));
            continue;
        };
        let path = [key("behaviour"), key(name)];
        let result = match name {
            "podStartup" => section::<DurRange>(src, v, &path).map(|r| {
                out.pod_startup = (r.0, r.1);
            }),
            "failingImages" => section::<Vec<String>>(src, v, &path).and_then(|images| {
                if let Some(i) = images.iter().position(String::is_empty) {
                    let mut p = path.to_vec();
                    p.push(Seg::Index(i));
                    return Err(src.at(&p, At::Value, "an image name may not be empty"));
                }
                out.failing_images.extend(images);
                Ok(())
            }),
            "images" => images(src, v, &path).map(|i| out.images.images = i),
            "imagePullRate" => quantity(
                src,
                v,
                &path,
                "a pull rate in bytes per second such as 50Mi",
            )
            .map(|r| out.images.pull_rate = Some(r)),
            _ => workload_entry(src, name, v, known, warnings).map(|w| {
                if let Some(w) = w {
                    out.workloads.insert(name.to_string(), w);
                }
            }),
        };
        if let Err(d) = result {
            errors.push(d);
        }
    }
    out
}

/// One workload's entry; `None` when it names a workload that is not simulated.
fn workload_entry(
    src: &SourceRef,
    name: &str,
    value: &Value,
    known: &Known,
    warnings: &mut Vec<String>,
) -> Result<Option<WorkloadBehaviour>, Diagnostic> {
    let path = [key("behaviour"), key(name)];
    let warn = |warnings: &mut Vec<String>, at: &[Seg], message: String| {
        let d = src.at(at, At::Key, String::new());
        warnings.push(format!("{}:{}:{}: {message}", d.file, d.line, d.column));
    };
    let simulated = known.is_workload(name);
    if !simulated && !known.failed_workload(name) {
        if let Some(kind) = known.ignored_kind(name) {
            warn(
                warnings,
                &path,
                format!(
                    "behaviour.{name}: {kind} {name} is not simulated yet, so this entry has no effect"
                ),
            );
        } else {
            let names = known.workload_names();
            let candidates = names.iter().map(String::as_str).chain(GLOBAL_KEYS);
            return Err(src.at(
                &path,
                At::Key,
                format!(
                    "behaviour.{name}: no workload named \"{name}\"{}: entries under behaviour are podStartup, failingImages, or the name of a Deployment, ReplicaSet, ReplicationController, StatefulSet, DaemonSet, Job, CronJob or Pod ({})",
                    did_you_mean(name, candidates),
                    super::list_names(&names)
                ),
            ));
        }
    }
    let Value::Mapping(map) = value else {
        return Err(src.at(
            &path,
            At::Value,
            format!(
                "behaviour.{name} must be a mapping such as {{startup: 5s..20s}} or {{ready: never}}"
            ),
        ));
    };
    let mut out = WorkloadBehaviour::default();
    for (k, v) in map {
        let Some(field) = k.as_str() else {
            return Err(src.at(&path, At::Value, "field names must be strings"));
        };
        let at: Vec<Seg> = path.iter().cloned().chain([key(field)]).collect();
        match field {
            "startup" => {
                let r: DurRange = section(src, v, &at)?;
                out.startup = Some((r.0, r.1));
            }
            "runFor" => {
                let r: DurRange = section(src, v, &at)?;
                out.run_for = Some((r.0, r.1));
            }
            "exitCode" => match v.as_i64().and_then(|c| i32::try_from(c).ok()) {
                Some(c) if (0..=255).contains(&c) => out.exit_code = Some(c),
                _ => {
                    return Err(src.at(
                        &at,
                        At::Value,
                        format!(
                            "{}: expected a container exit code, an integer from 0 to 255 (0 is success)",
                            path_string(&at)
                        ),
                    ));
                }
            },
            "failureProbability" => match probability(v) {
                Some(p) => out.failure_ppm = p,
                None => {
                    return Err(src.at(
                        &at,
                        At::Value,
                        format!(
                            "{}: expected a probability such as 0.2 or 20%",
                            path_string(&at)
                        ),
                    ));
                }
            },
            "ready" => match v.as_str() {
                Some("never") => out.never_ready = true,
                Some("always") => out.never_ready = false,
                _ => {
                    let shown = serde_yaml::to_string(v).unwrap_or_default();
                    let shown = shown.trim();
                    return Err(src.at(
                        &at,
                        At::Value,
                        format!(
                            "{}: expected `never` (the pods run but never pass readiness) or `always`, got {shown}{}",
                            path_string(&at),
                            did_you_mean(shown, ["never", "always"])
                        ),
                    ));
                }
            },
            "memory" => out.usage.memory = Some(usage_model(src, v, &at, UsageUnit::Bytes)?),
            "ephemeralStorage" => {
                out.usage.ephemeral_storage = Some(usage_model(src, v, &at, UsageUnit::Bytes)?);
            }
            "cpu" => out.usage.cpu_milli = Some(usage_model(src, v, &at, UsageUnit::Millicores)?),
            f if LIFECYCLE_KEYS.contains(&f) => lifecycle_key(src, f, v, &at, &mut out.lifecycle)?,
            f if TRAFFIC_KEYS.contains(&f) => super::traffic::behaviour_key(
                src,
                f,
                v,
                &at,
                out.traffic.get_or_insert_with(Default::default),
            )?,
            other => {
                let all = WORKLOAD_KEYS
                    .iter()
                    .chain(&LIFECYCLE_KEYS)
                    .chain(&TRAFFIC_KEYS)
                    .chain(&USAGE_KEYS)
                    .copied();
                return Err(src.at(
                    &at,
                    At::Key,
                    format!(
                        "unknown field \"{other}\" in behaviour.{name}, expected one of {}{}",
                        all.clone().collect::<Vec<_>>().join(", "),
                        did_you_mean(other, all)
                    ),
                ));
            }
        }
    }
    Ok(simulated.then_some(out))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum UsageUnit {
    Bytes,
    Millicores,
}

/// A non-negative quantity (`300Mi`, `500m`, `2`) in bytes or millicores.
fn usage_amount(v: &Value, unit: UsageUnit) -> Option<i64> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let q = crate::api::Quantity::parse(text.trim()).ok()?;
    let n = match unit {
        UsageUnit::Bytes => q.value(),
        UsageUnit::Millicores => q.milli_value(),
    };
    (n >= 0).then_some(n)
}

/// `behaviour.<workload>.memory` (and `ephemeralStorage`, `cpu`): `{constant: 300Mi}`,
/// `{start: 200Mi, leak: 1Mi/s}` or `{ramp: {from: 100Mi, to: 1Gi, over: 10m}}`; a bare
/// quantity is a constant.
fn usage_model(
    src: &SourceRef,
    v: &Value,
    at: &[Seg],
    unit: UsageUnit,
) -> Result<crate::kubelet::usage::UsageModel, Diagnostic> {
    use crate::kubelet::usage::UsageModel;
    let example = match unit {
        UsageUnit::Bytes => "300Mi",
        UsageUnit::Millicores => "500m",
    };
    let shape = format!(
        "{}: expected {{constant: {example}}}, {{start: {example}, leak: 1Mi/s}} or {{ramp: {{from: {example}, to: 1Gi, over: 10m}}}}",
        path_string(at)
    );
    let sub = |k: &str| -> Vec<Seg> { at.iter().cloned().chain([key(k)]).collect() };
    let amount = |v: &Value, at: &[Seg]| {
        usage_amount(v, unit).ok_or_else(|| {
            src.at(
                at,
                At::Value,
                format!(
                    "{}: expected a non-negative quantity such as {example}",
                    path_string(at)
                ),
            )
        })
    };
    let map = match v {
        Value::Mapping(map) => map,
        Value::String(_) | Value::Number(_) => return amount(v, at).map(UsageModel::Constant),
        _ => return Err(src.at(at, At::Value, shape)),
    };
    let get = |k: &str| map.get(Value::String(k.to_string()));
    for k in map.keys() {
        let name = k.as_str().unwrap_or_default();
        if !["constant", "start", "leak", "ramp"].contains(&name) {
            return Err(src.at(
                &sub(name),
                At::Key,
                format!(
                    "unknown field \"{name}\" in {}, expected constant, start and leak, or ramp{}",
                    path_string(at),
                    did_you_mean(name, ["constant", "start", "leak", "ramp"])
                ),
            ));
        }
    }
    if let Some(c) = get("constant") {
        if map.len() != 1 {
            return Err(src.at(at, At::Value, shape));
        }
        return amount(c, &sub("constant")).map(UsageModel::Constant);
    }
    if let Some(r) = get("ramp") {
        if map.len() != 1 {
            return Err(src.at(at, At::Value, shape));
        }
        let ramp_at = sub("ramp");
        let Value::Mapping(r) = r else {
            return Err(src.at(&ramp_at, At::Value, shape));
        };
        let field = |k: &str| -> Result<(&Value, Vec<Seg>), Diagnostic> {
            let p: Vec<Seg> = ramp_at.iter().cloned().chain([key(k)]).collect();
            match r.get(Value::String(k.to_string())) {
                Some(v) => Ok((v, p)),
                None => Err(src.at(
                    &ramp_at,
                    At::Value,
                    format!("{}: missing {k}", path_string(&ramp_at)),
                )),
            }
        };
        if let Some(k) = r
            .keys()
            .filter_map(Value::as_str)
            .find(|k| !["from", "to", "over"].contains(k))
        {
            let p: Vec<Seg> = ramp_at.iter().cloned().chain([key(k)]).collect();
            return Err(src.at(
                &p,
                At::Key,
                format!(
                    "unknown field \"{k}\" in {}, expected from, to, over",
                    path_string(&ramp_at)
                ),
            ));
        }
        let (from, from_at) = field("from")?;
        let (to, to_at) = field("to")?;
        let (over, over_at) = field("over")?;
        let over = over
            .as_str()
            .and_then(|s| s.trim().parse::<SimDuration>().ok())
            .ok_or_else(|| {
                src.at(
                    &over_at,
                    At::Value,
                    format!("{}: expected a duration such as 10m", path_string(&over_at)),
                )
            })?;
        return Ok(UsageModel::Ramp {
            from: amount(from, &from_at)?,
            to: amount(to, &to_at)?,
            over,
        });
    }
    let Some(l) = get("leak") else {
        return Err(src.at(at, At::Value, shape));
    };
    let leak_at = sub("leak");
    let start = match get("start") {
        Some(s) => amount(s, &sub("start"))?,
        None => 0,
    };
    let per_second = l
        .as_str()
        .and_then(|s| s.trim().strip_suffix("/s"))
        .and_then(|q| usage_amount(&Value::String(q.to_string()), unit))
        .ok_or_else(|| {
            src.at(
                &leak_at,
                At::Value,
                format!(
                    "{}: expected a rate per second such as {example}/s",
                    path_string(&leak_at)
                ),
            )
        })?;
    Ok(UsageModel::Leak { start, per_second })
}

/// How a workload's containers behave over their lifecycle (`behaviour.<workload>`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LifecycleBehaviour {
    /// `imagePull: 2s..10s`: how long pulling each of its images takes when the image has no
    /// entry under `behaviour.images`.
    pub image_pull: Option<(SimDuration, SimDuration)>,
    pub liveness: ProbeBehaviour,
    pub readiness: ProbeBehaviour,
    pub startup_probe: ProbeBehaviour,
    /// `preStop: 5s`: how long an exec or httpGet preStop hook runs.
    pub pre_stop: Option<(SimDuration, SimDuration)>,
    /// `crashAfter: 30m..2h`: a long-running main container exits with an error after this
    /// long (from each start).
    pub crash_after: Option<(SimDuration, SimDuration)>,
    /// `initContainers: 5s`: how long each (non-sidecar) init container runs.
    pub init_run_for: Option<(SimDuration, SimDuration)>,
}

impl LifecycleBehaviour {
    /// Some entry changes what the kubelet does beyond "start, then Running and Ready".
    pub fn is_set(&self) -> bool {
        *self != LifecycleBehaviour::default()
    }
}

/// What a probe's checks return, from the container's start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProbeBehaviour {
    /// `healthy`: every check passes.
    #[default]
    Healthy,
    /// `{failAfter: 10m}`: checks pass until this long after the start, then fail.
    FailAfter(SimDuration, SimDuration),
    /// `{passAfter: 40s}`: checks fail until this long after the start, then pass.
    PassAfter(SimDuration, SimDuration),
    /// `{failureProbability: 0.01}`: each check fails on its own with this probability
    /// (parts per million).
    FailureProbability(u32),
}

/// Pull times by image (`behaviour.images`, `behaviour.imagePullRate`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImagesBehaviour {
    pub images: std::collections::BTreeMap<String, ImageBehaviour>,
    /// Bytes per second: an image with a size and no `pull` time takes size / rate.
    pub pull_rate: Option<i64>,
}

impl ImagesBehaviour {
    pub fn is_set(&self) -> bool {
        !self.images.is_empty() || self.pull_rate.is_some()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageBehaviour {
    /// Bytes.
    pub size: Option<i64>,
    pub pull: Option<(SimDuration, SimDuration)>,
}

fn lifecycle_key(
    src: &SourceRef,
    field: &str,
    v: &Value,
    at: &[Seg],
    out: &mut LifecycleBehaviour,
) -> Result<(), Diagnostic> {
    let range = |v: &Value| -> Result<(SimDuration, SimDuration), Diagnostic> {
        section::<DurRange>(src, v, at).map(|r| (r.0, r.1))
    };
    match field {
        "imagePull" => out.image_pull = Some(range(v)?),
        "preStop" => out.pre_stop = Some(range(v)?),
        "crashAfter" => out.crash_after = Some(range(v)?),
        "initContainers" => out.init_run_for = Some(range(v)?),
        "liveness" => out.liveness = probe_behaviour(src, v, at)?,
        "readiness" => out.readiness = probe_behaviour(src, v, at)?,
        _ => out.startup_probe = probe_behaviour(src, v, at)?,
    }
    Ok(())
}

/// `healthy`, `{failAfter: 10m}`, `{passAfter: 30s}` or `{failureProbability: 0.01}`.
fn probe_behaviour(src: &SourceRef, v: &Value, at: &[Seg]) -> Result<ProbeBehaviour, Diagnostic> {
    let expected = || {
        src.at(
            at,
            At::Value,
            format!(
                "{}: expected `healthy`, {{failAfter: 10m}}, {{passAfter: 30s}} or {{failureProbability: 0.01}}",
                path_string(at)
            ),
        )
    };
    if v.as_str() == Some("healthy") {
        return Ok(ProbeBehaviour::Healthy);
    }
    let Value::Mapping(map) = v else {
        return Err(expected());
    };
    let mut entries = map.iter();
    let (Some((k, value)), None) = (entries.next(), entries.next()) else {
        return Err(expected());
    };
    let field = k.as_str().unwrap_or_default();
    let inner: Vec<Seg> = at.iter().cloned().chain([key(field)]).collect();
    match field {
        "failAfter" => {
            let r: DurRange = section(src, value, &inner)?;
            Ok(ProbeBehaviour::FailAfter(r.0, r.1))
        }
        "passAfter" => {
            let r: DurRange = section(src, value, &inner)?;
            Ok(ProbeBehaviour::PassAfter(r.0, r.1))
        }
        "failureProbability" => probability(value)
            .map(ProbeBehaviour::FailureProbability)
            .ok_or_else(|| {
                src.at(
                    &inner,
                    At::Value,
                    format!(
                        "{}: expected a probability such as 0.01 or 1%",
                        path_string(&inner)
                    ),
                )
            }),
        _ => Err(expected()),
    }
}

/// `behaviour.images: {"repo/x:1": {size: 500Mi, pull: 20s}}`.
fn images(
    src: &SourceRef,
    v: &Value,
    at: &[Seg],
) -> Result<std::collections::BTreeMap<String, ImageBehaviour>, Diagnostic> {
    let Value::Mapping(map) = v else {
        return Err(src.at(
            at,
            At::Value,
            "behaviour.images must map image names to {size: 500Mi, pull: 20s}",
        ));
    };
    let mut out = std::collections::BTreeMap::new();
    for (k, entry) in map {
        let Some(image) = k.as_str().filter(|i| !i.is_empty()) else {
            return Err(src.at(at, At::Value, "image names must be non-empty strings"));
        };
        let path: Vec<Seg> = at.iter().cloned().chain([key(image)]).collect();
        let Value::Mapping(fields) = entry else {
            return Err(src.at(
                &path,
                At::Value,
                format!(
                    "{}: expected {{size: 500Mi, pull: 20s}}",
                    path_string(&path)
                ),
            ));
        };
        let mut image_out = ImageBehaviour::default();
        for (f, value) in fields {
            let name = f.as_str().unwrap_or_default();
            let inner: Vec<Seg> = path.iter().cloned().chain([key(name)]).collect();
            match name {
                "size" => {
                    image_out.size = Some(quantity(src, value, &inner, "a size such as 500Mi")?);
                }
                "pull" => {
                    let r: DurRange = section(src, value, &inner)?;
                    image_out.pull = Some((r.0, r.1));
                }
                other => {
                    return Err(src.at(
                        &inner,
                        At::Key,
                        format!(
                            "unknown field \"{other}\" in {}, expected size or pull{}",
                            path_string(&path),
                            did_you_mean(other, ["size", "pull"])
                        ),
                    ));
                }
            }
        }
        out.insert(image.to_string(), image_out);
    }
    Ok(out)
}

/// A positive quantity (`500Mi`, `1G`, `1000000`).
fn quantity(src: &SourceRef, v: &Value, at: &[Seg], what: &str) -> Result<i64, Diagnostic> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    match crate::api::Quantity::parse(&text) {
        Ok(q) if q.value() > 0 => Ok(q.value()),
        _ => Err(src.at(
            at,
            At::Value,
            format!("{}: expected {what}", path_string(at)),
        )),
    }
}

/// `0.2` or `"20%"`, in parts per million; `None` outside [0, 1].
fn probability(v: &Value) -> Option<u32> {
    let p = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().strip_suffix('%')?.trim().parse::<f64>().ok()? / 100.0,
        _ => return None,
    };
    if !(0.0..=1.0).contains(&p) {
        return None;
    }
    // In [0, 1e6], so the conversion cannot truncate.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some((p * 1e6).round() as u32)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ControlPlaneSection {
    #[serde(default)]
    watch_latency: Option<DurRange>,
    #[serde(default)]
    api_latency: Option<DurRange>,
}

/// `controlPlane: {watchLatency, apiLatency}`: a duration (`50ms`, `0s`) or a range
/// (`10ms..100ms`) each; what is left out keeps its default.
pub(crate) fn control_plane(
    src: &SourceRef,
    value: Option<&Value>,
) -> Result<ControlPlaneTiming, Diagnostic> {
    let mut timing = ControlPlaneTiming::default();
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(timing);
    };
    let s: ControlPlaneSection = section(src, value, &[key("controlPlane")])?;
    if let Some(r) = s.watch_latency {
        timing.watch_latency = Latency { lo: r.0, hi: r.1 };
    }
    if let Some(r) = s.api_latency {
        timing.api_latency = Latency { lo: r.0, hi: r.1 };
    }
    Ok(timing)
}

#[cfg(test)]
mod usage_tests {
    use std::path::Path;

    use sim_core::SimDuration;

    use crate::kubelet::usage::UsageModel;

    const MI: i64 = 1024 * 1024;

    const BASE: &str = "name: t
cluster:
  nodePools:
    - {name: general, count: 1, resources: {cpu: \"4\", memory: 16Gi}}
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: leaky}
      spec:
        selector: {matchLabels: {app: leaky}}
        template:
          metadata: {labels: {app: leaky}}
          spec: {containers: [{name: app, image: leaky:1}]}
behaviour:
  leaky: {memory: {start: 200Mi, leak: 1Mi/s}, ephemeralStorage: {ramp: {from: 100Mi, to: 1Gi, over: 10m}}, cpu: 500m}
";

    fn find(text: &str, token: &str) -> (usize, usize) {
        let at = text.find(token).expect("token in text");
        let line = text[..at].matches('\n').count() + 1;
        let column = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, column)
    }

    #[test]
    fn usage_is_read() {
        let s = crate::scenario::load_str("t.yaml", BASE, Path::new(".")).expect("loads");
        let u = s.behaviour.workloads["leaky"].usage;
        assert_eq!(
            u.memory,
            Some(UsageModel::Leak {
                start: 200 * MI,
                per_second: MI
            })
        );
        assert_eq!(
            u.ephemeral_storage,
            Some(UsageModel::Ramp {
                from: 100 * MI,
                to: 1024 * MI,
                over: SimDuration::from_mins(10)
            })
        );
        assert_eq!(u.cpu_milli, Some(UsageModel::Constant(500)));
        let text = BASE.replace("{start: 200Mi, leak: 1Mi/s}", "{constant: 300Mi}");
        let s = crate::scenario::load_str("t.yaml", &text, Path::new(".")).expect("loads");
        assert_eq!(
            s.behaviour.workloads["leaky"].usage.memory,
            Some(UsageModel::Constant(300 * MI))
        );
    }

    #[test]
    fn usage_mistakes_are_located() {
        let cases: &[(&str, &str, &str, &str)] = &[
            (
                "leak: 1Mi/s",
                "leak: 1Mi",
                "1Mi}",
                "expected a rate per second such as 300Mi/s",
            ),
            (
                "start: 200Mi",
                "start: -5Mi",
                "-5Mi",
                "expected a non-negative quantity",
            ),
            (
                "start: 200Mi",
                "strat: 200Mi",
                "strat",
                "unknown field \"strat\" in behaviour.leaky.memory",
            ),
            (
                "over: 10m",
                "over: soon",
                "soon",
                "expected a duration such as 10m",
            ),
            ("to: 1Gi", "too: 1Gi", "too", "unknown field \"too\""),
            ("cpu: 500m", "cpu: [1]", "[1]", "expected {constant: 500m}"),
            (
                "cpu: 500m",
                "cpuu: 500m",
                "cpuu",
                "memory, ephemeralStorage, cpu (did you mean \"cpu\"?)",
            ),
        ];
        for (from, to, token, message) in cases {
            let text = BASE.replacen(from, to, 1);
            assert_ne!(text, BASE, "{from}");
            let err = crate::scenario::load_str("t.yaml", &text, Path::new(".")).unwrap_err();
            let d = err;
            assert_eq!((d.line, d.column), find(&text, token), "{d:?}");
            assert!(d.message.contains(message), "{}", d.message);
        }
    }
}
