//! HorizontalPodAutoscaler manifests (`autoscaling/v2`; `autoscaling/v1` converted as upstream's
//! conversion does), defaulted as the API server stores them and validated as upstream's
//! `ValidateHorizontalPodAutoscaler` would refuse them, with located errors.
//!
//! ```yaml
//! apiVersion: autoscaling/v2
//! kind: HorizontalPodAutoscaler
//! metadata: {name: web}
//! spec:
//!   scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
//!   minReplicas: 2
//!   maxReplicas: 20
//!   metrics:
//!   - type: Resource
//!     resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
//! ```

use serde_yaml::Value;

use super::diagnostic::Diagnostic;
use super::source::{At, Seg, SourceRef};
use crate::api::Quantity;
use crate::api::autoscaling::{
    Behavior, DEFAULT_CPU_UTILIZATION, HorizontalPodAutoscaler, MetricResource, MetricSpec,
    MetricTarget, ScaleTargetKind, ScaleTargetRef, ScalingPolicy, ScalingPolicyType, ScalingRules,
    SelectPolicy,
};
use k8s_openapi::api::autoscaling::{v1, v2};

fn path(keys: &[&str]) -> Vec<Seg> {
    keys.iter()
        .map(|k| match k.parse::<usize>() {
            Ok(i) => Seg::Index(i),
            Err(_) => Seg::key(k),
        })
        .collect()
}

fn err(src: &SourceRef, keys: &[&str], message: String) -> Diagnostic {
    src.at(&path(keys), At::Value, message)
}

/// Loads one HorizontalPodAutoscaler manifest of either served version.
pub(crate) fn load(
    value: Value,
    kind: &str,
    src: &SourceRef,
) -> Result<HorizontalPodAutoscaler, Diagnostic> {
    let v1 = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .is_some_and(|v| v == "autoscaling/v1");
    if v1 {
        let h: v1::HorizontalPodAutoscaler = super::manifest::typed(value, kind, src)?;
        from_v1(&h, src)
    } else {
        let h: v2::HorizontalPodAutoscaler = super::manifest::typed(value, kind, src)?;
        from_v2(&h, src)
    }
}

fn target_kind(kind: &str, src: &SourceRef) -> Result<ScaleTargetKind, Diagnostic> {
    match kind {
        "Deployment" => Ok(ScaleTargetKind::Deployment),
        "StatefulSet" => Ok(ScaleTargetKind::StatefulSet),
        "ReplicaSet" => Ok(ScaleTargetKind::ReplicaSet),
        other => Err(err(
            src,
            &["spec", "scaleTargetRef", "kind"],
            format!(
                "spec.scaleTargetRef.kind: \"{other}\" has no scale subresource kubesim serves (use Deployment, StatefulSet or ReplicaSet)"
            ),
        )),
    }
}

fn check_replicas(min: i32, max: i32, src: &SourceRef) -> Result<(), Diagnostic> {
    if max < 1 {
        return Err(err(
            src,
            &["spec", "maxReplicas"],
            format!("spec.maxReplicas: Invalid value: {max}: must be greater than or equal to 1"),
        ));
    }
    if min < 1 {
        // minReplicas 0 needs the HPAScaleToZero feature gate, off by default.
        return Err(err(
            src,
            &["spec", "minReplicas"],
            format!("spec.minReplicas: Invalid value: {min}: must be greater than or equal to 1"),
        ));
    }
    if min > max {
        return Err(err(
            src,
            &["spec", "maxReplicas"],
            format!(
                "spec.maxReplicas: Invalid value: {max}: must be greater than or equal to `minReplicas` ({min})"
            ),
        ));
    }
    Ok(())
}

fn name_of(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    src: &SourceRef,
) -> Result<(String, String), Diagnostic> {
    let name = meta.name.clone().filter(|n| !n.is_empty()).ok_or_else(|| {
        err(
            src,
            &["metadata", "name"],
            "metadata.name: Required value".into(),
        )
    })?;
    Ok((
        meta.namespace.clone().unwrap_or_else(|| "default".into()),
        name,
    ))
}

/// Upstream's v1 → v2 conversion: `targetCPUUtilizationPercentage` becomes one CPU
/// Resource metric (80% when unset).
fn from_v1(
    h: &v1::HorizontalPodAutoscaler,
    src: &SourceRef,
) -> Result<HorizontalPodAutoscaler, Diagnostic> {
    let (namespace, name) = name_of(&h.metadata, src)?;
    let spec = h
        .spec
        .as_ref()
        .ok_or_else(|| err(src, &["spec"], "spec: Required value".into()))?;
    let min = spec.min_replicas.unwrap_or(1);
    check_replicas(min, spec.max_replicas, src)?;
    let target = spec
        .target_cpu_utilization_percentage
        .unwrap_or(DEFAULT_CPU_UTILIZATION);
    if target < 1 {
        return Err(err(
            src,
            &["spec", "targetCPUUtilizationPercentage"],
            format!(
                "spec.targetCPUUtilizationPercentage: Invalid value: {target}: must be greater than 0"
            ),
        ));
    }
    Ok(HorizontalPodAutoscaler {
        name,
        namespace,
        scale_target_ref: ScaleTargetRef {
            kind: target_kind(&spec.scale_target_ref.kind, src)?,
            name: spec.scale_target_ref.name.clone(),
        },
        min_replicas: min,
        max_replicas: spec.max_replicas,
        metrics: vec![MetricSpec::Resource {
            name: MetricResource::Cpu,
            container: None,
            target: MetricTarget::Utilization(target),
        }],
        behavior: None,
    })
}

fn milli(
    q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity,
    src: &SourceRef,
    at: &[&str],
) -> Result<i64, Diagnostic> {
    Quantity::parse(&q.0)
        .map(|q| q.milli_value())
        .map_err(|e| err(src, at, format!("{}: {e}", at.join("."))))
}

fn target(
    t: &v2::MetricTarget,
    src: &SourceRef,
    at: &[&str],
    resource: bool,
) -> Result<MetricTarget, Diagnostic> {
    let mut p: Vec<&str> = at.to_vec();
    p.push("target");
    let missing = |field: &str| {
        let mut q = p.clone();
        q.push(field);
        err(
            src,
            &q,
            format!(
                "{}.{field}: Required value: must set {field} when type is {}",
                p.join("."),
                t.type_
            ),
        )
    };
    match t.type_.as_str() {
        "Utilization" if resource => match t.average_utilization {
            Some(u) if u > 0 => Ok(MetricTarget::Utilization(u)),
            Some(u) => Err(err(
                src,
                &p,
                format!(
                    "{}.averageUtilization: Invalid value: {u}: must be greater than 0",
                    p.join(".")
                ),
            )),
            None => Err(missing("averageUtilization")),
        },
        "AverageValue" => match &t.average_value {
            // Upstream validateMetricTarget: a target value must be positive.
            Some(q) => match milli(q, src, &p)? {
                v if v > 0 => Ok(MetricTarget::AverageValue(v)),
                _ => Err(err(
                    src,
                    &p,
                    format!(
                        "{}.averageValue: Invalid value: \"{}\": must be positive",
                        p.join("."),
                        q.0
                    ),
                )),
            },
            None => Err(missing("averageValue")),
        },
        "Value" if !resource => match &t.value {
            Some(q) => match milli(q, src, &p)? {
                v if v > 0 => Ok(MetricTarget::Value(v)),
                _ => Err(err(
                    src,
                    &p,
                    format!(
                        "{}.value: Invalid value: \"{}\": must be positive",
                        p.join("."),
                        q.0
                    ),
                )),
            },
            None => Err(missing("value")),
        },
        other => {
            let mut q = p.clone();
            q.push("type");
            let allowed = if resource {
                "Utilization or AverageValue"
            } else {
                "Value or AverageValue"
            };
            Err(err(
                src,
                &q,
                format!(
                    "{}.type: Unsupported value: \"{other}\" (use {allowed})",
                    p.join(".")
                ),
            ))
        }
    }
}

fn resource_name(name: &str, src: &SourceRef, at: &[&str]) -> Result<MetricResource, Diagnostic> {
    match name {
        "cpu" => Ok(MetricResource::Cpu),
        "memory" => Ok(MetricResource::Memory),
        other => Err(err(
            src,
            at,
            format!(
                "{}: Unsupported value: \"{other}\" (use cpu or memory)",
                at.join(".")
            ),
        )),
    }
}

fn metric(m: &v2::MetricSpec, i: usize, src: &SourceRef) -> Result<MetricSpec, Diagnostic> {
    let idx = i.to_string();
    let base = ["spec", "metrics", idx.as_str()];
    let at = |field: &'static str| -> Vec<&str> {
        let mut p = base.to_vec();
        p.push(field);
        p
    };
    let required = |field: &'static str| {
        err(
            src,
            &at(field),
            format!(
                "spec.metrics[{i}].{field}: Required value: must populate information for the given metric source"
            ),
        )
    };
    match m.type_.as_str() {
        "Resource" => {
            let r = m.resource.as_ref().ok_or_else(|| required("resource"))?;
            let p = at("resource");
            let mut np = p.clone();
            np.push("name");
            Ok(MetricSpec::Resource {
                name: resource_name(&r.name, src, &np)?,
                container: None,
                target: target(&r.target, src, &p, true)?,
            })
        }
        "ContainerResource" => {
            let r = m
                .container_resource
                .as_ref()
                .ok_or_else(|| required("containerResource"))?;
            let p = at("containerResource");
            let mut np = p.clone();
            np.push("name");
            Ok(MetricSpec::Resource {
                name: resource_name(&r.name, src, &np)?,
                container: Some(r.container.clone()),
                target: target(&r.target, src, &p, true)?,
            })
        }
        "Pods" => {
            let r = m.pods.as_ref().ok_or_else(|| required("pods"))?;
            let t = target(&r.target, src, &at("pods"), false)?;
            if let MetricTarget::Value(_) = t {
                return Err(err(
                    src,
                    &at("pods"),
                    format!(
                        "spec.metrics[{i}].pods.target.type: Unsupported value: \"Value\" (use AverageValue)"
                    ),
                ));
            }
            Ok(MetricSpec::Pods {
                metric: r.metric.name.clone(),
                target: t,
            })
        }
        "Object" => {
            let r = m.object.as_ref().ok_or_else(|| required("object"))?;
            Ok(MetricSpec::Object {
                kind: r.described_object.kind.clone(),
                name: r.described_object.name.clone(),
                metric: r.metric.name.clone(),
                target: target(&r.target, src, &at("object"), false)?,
            })
        }
        "External" => {
            let r = m.external.as_ref().ok_or_else(|| required("external"))?;
            Ok(MetricSpec::External {
                metric: r.metric.name.clone(),
                target: target(&r.target, src, &at("external"), false)?,
            })
        }
        other => Err(err(
            src,
            &at("type"),
            format!(
                "spec.metrics[{i}].type: Unsupported value: \"{other}\" (use Resource, ContainerResource, Pods, Object or External)"
            ),
        )),
    }
}

/// Upstream `GenerateHPAScaleUpRules` / `GenerateHPAScaleDownRules`: the object's fields over
/// the defaults.
fn rules(
    r: Option<&v2::HPAScalingRules>,
    mut d: ScalingRules,
    dir: &str,
    src: &SourceRef,
) -> Result<ScalingRules, Diagnostic> {
    let Some(r) = r else { return Ok(d) };
    let base = ["spec", "behavior", dir];
    if let Some(s) = r.stabilization_window_seconds {
        if !(0..=3600).contains(&s) {
            let mut p = base.to_vec();
            p.push("stabilizationWindowSeconds");
            return Err(err(
                src,
                &p,
                format!(
                    "spec.behavior.{dir}.stabilizationWindowSeconds: Invalid value: {s}: must be less than or equal to 3600 and not negative"
                ),
            ));
        }
        d.stabilization_window_seconds = Some(s);
    }
    if let Some(sp) = &r.select_policy {
        d.select_policy = match sp.as_str() {
            "Max" => SelectPolicy::Max,
            "Min" => SelectPolicy::Min,
            "Disabled" => SelectPolicy::Disabled,
            other => {
                let mut p = base.to_vec();
                p.push("selectPolicy");
                return Err(err(
                    src,
                    &p,
                    format!(
                        "spec.behavior.{dir}.selectPolicy: Unsupported value: \"{other}\" (use Max, Min or Disabled)"
                    ),
                ));
            }
        };
    }
    if let Some(policies) = &r.policies {
        let mut out = Vec::new();
        for (i, p) in policies.iter().enumerate() {
            let idx = i.to_string();
            let at = ["spec", "behavior", dir, "policies", idx.as_str()];
            let type_ = match p.type_.as_str() {
                "Pods" => ScalingPolicyType::Pods,
                "Percent" => ScalingPolicyType::Percent,
                other => {
                    return Err(err(
                        src,
                        &at,
                        format!(
                            "spec.behavior.{dir}.policies[{i}].type: Unsupported value: \"{other}\" (use Pods or Percent)"
                        ),
                    ));
                }
            };
            if p.value <= 0 {
                return Err(err(
                    src,
                    &at,
                    format!(
                        "spec.behavior.{dir}.policies[{i}].value: Invalid value: {}: must be greater than zero",
                        p.value
                    ),
                ));
            }
            if !(1..=1800).contains(&p.period_seconds) {
                return Err(err(
                    src,
                    &at,
                    format!(
                        "spec.behavior.{dir}.policies[{i}].periodSeconds: Invalid value: {}: must be greater than zero and less than or equal to 1800",
                        p.period_seconds
                    ),
                ));
            }
            out.push(ScalingPolicy {
                type_,
                value: p.value,
                period_seconds: p.period_seconds,
            });
        }
        d.policies = out;
    }
    if let Some(t) = &r.tolerance {
        let mut p = base.to_vec();
        p.push("tolerance");
        let v = milli(t, src, &p)?;
        if v < 0 {
            return Err(err(
                src,
                &p,
                format!(
                    "spec.behavior.{dir}.tolerance: Invalid value: must be greater than or equal to 0"
                ),
            ));
        }
        d.tolerance_milli = Some(v);
    }
    Ok(d)
}

fn from_v2(
    h: &v2::HorizontalPodAutoscaler,
    src: &SourceRef,
) -> Result<HorizontalPodAutoscaler, Diagnostic> {
    let (namespace, name) = name_of(&h.metadata, src)?;
    let spec = h
        .spec
        .as_ref()
        .ok_or_else(|| err(src, &["spec"], "spec: Required value".into()))?;
    let min = spec.min_replicas.unwrap_or(1);
    check_replicas(min, spec.max_replicas, src)?;
    let mut metrics = Vec::new();
    for (i, m) in spec.metrics.iter().flatten().enumerate() {
        metrics.push(metric(m, i, src)?);
    }
    if metrics.is_empty() {
        metrics.push(MetricSpec::Resource {
            name: MetricResource::Cpu,
            container: None,
            target: MetricTarget::Utilization(DEFAULT_CPU_UTILIZATION),
        });
    }
    let behavior = match &spec.behavior {
        None => None,
        Some(b) => Some(Behavior {
            scale_up: rules(
                b.scale_up.as_ref(),
                ScalingRules::default_scale_up(),
                "scaleUp",
                src,
            )?,
            scale_down: rules(
                b.scale_down.as_ref(),
                ScalingRules::default_scale_down(),
                "scaleDown",
                src,
            )?,
        }),
    };
    Ok(HorizontalPodAutoscaler {
        name,
        namespace,
        scale_target_ref: ScaleTargetRef {
            kind: target_kind(&spec.scale_target_ref.kind, src)?,
            name: spec.scale_target_ref.name.clone(),
        },
        min_replicas: min,
        max_replicas: spec.max_replicas,
        metrics,
        behavior,
    })
}
