//! The HPA controller's reconciler (upstream `HorizontalController.reconcileAutoscaler`):
//! every sync period it reads the target's scale, the pods its selector lists and their
//! metrics, computes a recommendation per metric (the largest wins), normalizes it and writes
//! the target's `spec.replicas` through the scale subresource.

use std::collections::BTreeMap;

use sim_core::{Context, SimDuration, SimTime};

use super::behavior::{self, History};
use super::replica_calculator::{
    self as calc, Periods, PodInfo, PodMetric, PodMetricsInfo, ReadyCondition, Tolerances,
};
use crate::api::autoscaling::{
    HorizontalPodAutoscaler, HpaStatus, MetricResource, MetricSpec, MetricStatus, MetricTarget,
    ScaleTargetKind,
};
use crate::api::{LabelSelector, WorkloadId};
use crate::apiserver::{ApiServer, Change, ObjectKind, Op};
use crate::cluster::Event;
use crate::controllers::{Reconciler, SyncOutcome};
use crate::events::EventType;

/// The controller manager's HPA flags.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HpaSettings {
    /// `--horizontal-pod-autoscaler-sync-period` (15s).
    pub sync_period: SimDuration,
    /// `--horizontal-pod-autoscaler-tolerance` (0.1).
    pub tolerance: f64,
    /// `--horizontal-pod-autoscaler-downscale-stabilization` (5m).
    pub downscale_stabilization: SimDuration,
    pub periods: Periods,
}

impl Default for HpaSettings {
    fn default() -> Self {
        HpaSettings {
            sync_period: SimDuration::from_secs(15),
            tolerance: 0.1,
            downscale_stabilization: SimDuration::from_mins(5),
            periods: Periods::default(),
        }
    }
}

#[derive(Default)]
pub struct HorizontalPodAutoscalerController {
    pub settings: HpaSettings,
    history: BTreeMap<WorkloadId, History>,
}

/// The scale subresource of the target.
struct Scale {
    spec_replicas: i32,
    status_replicas: i32,
    selector: LabelSelector,
}

fn scale_of(api: &ApiServer, hpa: &HorizontalPodAutoscaler) -> Option<Scale> {
    let (ns, name) = (hpa.namespace.as_str(), hpa.scale_target_ref.name.as_str());
    match hpa.scale_target_ref.kind {
        ScaleTargetKind::Deployment => {
            let d = api.deployment(api.deployment_id(ns, name)?);
            Some(Scale {
                spec_replicas: d.d.replicas,
                status_replicas: d.status.replicas,
                selector: d.d.selector.clone(),
            })
        }
        ScaleTargetKind::ReplicaSet => {
            let r = api.replica_set(api.replica_set_id(ns, name)?);
            Some(Scale {
                spec_replicas: r.rs.replicas,
                status_replicas: r.status.replicas,
                selector: r.rs.selector.clone(),
            })
        }
        ScaleTargetKind::StatefulSet => {
            let id = api.object_id::<crate::api::StatefulSet>(ns, name)?;
            let s = api.object::<crate::api::StatefulSet>(id);
            Some(Scale {
                spec_replicas: s.spec.replicas,
                status_replicas: s.status.replicas,
                selector: s.spec.selector.clone(),
            })
        }
    }
}

fn write_scale(
    api: &mut ApiServer,
    ctx: &mut Context<'_, Event>,
    hpa: &HorizontalPodAutoscaler,
    replicas: i32,
) -> Result<(), String> {
    let (ns, name) = (hpa.namespace.as_str(), hpa.scale_target_ref.name.as_str());
    let result = match hpa.scale_target_ref.kind {
        ScaleTargetKind::Deployment => match api.deployment_id(ns, name) {
            Some(id) => api.update_deployment(ctx, id, |d| d.replicas = replicas),
            None => Err(crate::apiserver::ApiError::NotFound),
        },
        ScaleTargetKind::ReplicaSet => match api.replica_set_id(ns, name) {
            Some(id) => api.update_replica_set(ctx, id, |r| r.replicas = replicas),
            None => Err(crate::apiserver::ApiError::NotFound),
        },
        ScaleTargetKind::StatefulSet => match api.object_id::<crate::api::StatefulSet>(ns, name) {
            Some(id) => {
                api.update_object::<crate::api::StatefulSet>(ctx, id, |s| s.replicas = replicas)
            }
            None => Err(crate::apiserver::ApiError::NotFound),
        },
    };
    result.map_err(|e| e.to_string())
}

/// The pods the selector lists in the namespace, as the replica calculator reads them, with
/// their names by id.
fn list_pods<'a>(
    api: &'a ApiServer,
    namespace: &str,
    selector: &LabelSelector,
    cpu: bool,
) -> Vec<PodInfo<'a>> {
    api.store
        .active_pods_selected(namespace, selector)
        .map(|r| {
            let request = if cpu {
                r.pod.requests.cpu_milli
            } else {
                r.pod.requests.memory.saturating_mul(1000)
            };
            // The Ready condition's last transition: when it became True; a pod not Ready
            // is taken to have been so since it started.
            let ready = r.running_at.map(|started| ReadyCondition {
                status: r.ready,
                last_transition: if r.ready {
                    r.ready_since.unwrap_or(started)
                } else {
                    started
                },
            });
            PodInfo {
                id: r.id,
                name: &r.pod.name,
                phase: r.phase,
                deleting: r.deletion_timestamp.is_some(),
                ready,
                start_time: r.running_at,
                request_milli: (request > 0).then_some(request),
            }
        })
        .collect()
}

/// Upstream `GetResourceMetric`: the metrics API's PodMetrics of the listed pods.
fn resource_metrics(
    api: &ApiServer,
    pods: &[PodInfo],
    resource: MetricResource,
) -> Result<PodMetricsInfo, String> {
    let mut out = BTreeMap::new();
    for p in pods {
        if let Some(m) = api.metrics.pod_metrics(p.id) {
            let value = match resource {
                MetricResource::Cpu => m.cpu_milli,
                MetricResource::Memory => m.memory.saturating_mul(1000),
            };
            out.insert(
                p.id,
                PodMetric {
                    value,
                    timestamp: m.timestamp,
                    window: m.window,
                },
            );
        }
    }
    if out.is_empty() {
        return Err("no metrics returned from resource metrics API".into());
    }
    Ok(out)
}

/// One metric's proposal: replicas, the metric's name for events, its status.
type Proposal = Result<(i32, String, MetricStatus), (&'static str, String)>;

impl HorizontalPodAutoscalerController {
    fn tolerances(&self, hpa: &HorizontalPodAutoscaler) -> Tolerances {
        let mut t = Tolerances::both(self.settings.tolerance);
        if let Some(b) = &hpa.behavior {
            if let Some(d) = b.scale_down.tolerance_milli {
                t.scale_down = d as f64 / 1000.0;
            }
            if let Some(u) = b.scale_up.tolerance_milli {
                t.scale_up = u as f64 / 1000.0;
            }
        }
        t
    }

    /// Upstream `computeReplicasForMetric`.
    fn compute_for_metric(
        &self,
        api: &ApiServer,
        hpa: &HorizontalPodAutoscaler,
        spec: &MetricSpec,
        scale: &Scale,
        now: SimTime,
    ) -> Proposal {
        let t = self.tolerances(hpa);
        let periods = self.settings.periods;
        let ns = hpa.namespace.as_str();
        match spec {
            MetricSpec::Resource {
                name,
                container,
                target,
            } => {
                let cpu = *name == MetricResource::Cpu;
                let reason = if container.is_some() {
                    "FailedGetContainerResourceMetric"
                } else {
                    "FailedGetResourceMetric"
                };
                let listed = list_pods(api, ns, &scale.selector, cpu);
                let fail = |e: String, what: &str| {
                    (
                        reason,
                        format!(
                            "failed to get {} {what}: unable to get metrics for resource {}: {e}",
                            name.as_str(),
                            name.as_str()
                        ),
                    )
                };
                let metrics = match resource_metrics(api, &listed, *name) {
                    Ok(m) => m,
                    Err(e) => {
                        let what = match target {
                            MetricTarget::Utilization(_) => "utilization",
                            _ => "usage",
                        };
                        return Err(fail(e, what));
                    }
                };
                let pods = listed;
                match *target {
                    MetricTarget::Utilization(u) => {
                        let r = calc::resource_replicas(
                            scale.spec_replicas,
                            u,
                            cpu,
                            t,
                            &pods,
                            metrics,
                            periods,
                            now,
                        )
                        .map_err(|e| {
                            (
                                reason,
                                format!("failed to get {} utilization: {e}", name.as_str()),
                            )
                        })?;
                        let metric_name = if container.is_some() {
                            format!(
                                "{} container resource utilization (percentage of request)",
                                name.as_str()
                            )
                        } else {
                            format!(
                                "{} resource utilization (percentage of request)",
                                name.as_str()
                            )
                        };
                        Ok((
                            r.replicas,
                            metric_name.clone(),
                            MetricStatus {
                                name: metric_name,
                                average_utilization: Some(r.utilization),
                                average_value: Some(r.raw_utilization),
                                value: None,
                            },
                        ))
                    }
                    MetricTarget::AverageValue(v) | MetricTarget::Value(v) => {
                        let (replicas, usage) = calc::plain_metric_replicas(
                            scale.spec_replicas,
                            v,
                            cpu,
                            t,
                            &pods,
                            metrics,
                            periods,
                            now,
                        )
                        .map_err(|e| {
                            (
                                reason,
                                format!("failed to get {} usage: {e}", name.as_str()),
                            )
                        })?;
                        let metric_name = format!("{} resource", name.as_str());
                        Ok((
                            replicas,
                            metric_name.clone(),
                            MetricStatus {
                                name: metric_name,
                                average_value: Some(usage),
                                ..MetricStatus::default()
                            },
                        ))
                    }
                }
            }
            MetricSpec::Pods { metric, target } => {
                let listed = list_pods(api, ns, &scale.selector, false);
                let values: PodMetricsInfo = listed
                    .iter()
                    .filter_map(|p| {
                        let v = api.metrics.pod_metric(metric, p.id)?;
                        Some((
                            p.id,
                            PodMetric {
                                value: v,
                                timestamp: api.metrics.last_scrape().unwrap_or(now),
                                window: SimDuration::ZERO,
                            },
                        ))
                    })
                    .collect();
                let fail = |e: String| {
                    (
                        "FailedGetPodsMetric",
                        format!(
                            "failed to get pods metric value: unable to get metric {metric}: {e}"
                        ),
                    )
                };
                if values.is_empty() {
                    return Err(fail("no metrics returned from custom metrics API".into()));
                }
                let target = match *target {
                    MetricTarget::AverageValue(v) | MetricTarget::Value(v) => v,
                    MetricTarget::Utilization(_) => 0,
                };
                let pods = listed;
                let (replicas, usage) = calc::plain_metric_replicas(
                    scale.spec_replicas,
                    target,
                    false,
                    t,
                    &pods,
                    values,
                    periods,
                    now,
                )
                .map_err(fail)?;
                let metric_name = format!("pods metric {metric}");
                Ok((
                    replicas,
                    metric_name.clone(),
                    MetricStatus {
                        name: metric_name,
                        average_value: Some(usage),
                        ..MetricStatus::default()
                    },
                ))
            }
            MetricSpec::Object {
                kind,
                name,
                metric,
                target,
            } => {
                let fail = |e: String| {
                    (
                        "FailedGetObjectMetric",
                        format!(
                            "failed to get object metric value: unable to get metric {metric}: {kind} on {ns} {name}/{e}"
                        ),
                    )
                };
                let usage = api
                    .metrics
                    .object_metric(metric, kind, ns, name)
                    .ok_or_else(|| fail("no metric value".into()))?;
                let metric_name = format!("{kind} metric {metric}");
                match *target {
                    MetricTarget::AverageValue(v) => {
                        let (replicas, per_pod) =
                            calc::per_pod_metric_replicas(scale.status_replicas, v, usage, t);
                        Ok((
                            replicas,
                            metric_name.clone(),
                            MetricStatus {
                                name: metric_name,
                                average_value: Some(per_pod),
                                ..MetricStatus::default()
                            },
                        ))
                    }
                    MetricTarget::Value(_) | MetricTarget::Utilization(_) => {
                        let v = match *target {
                            MetricTarget::Utilization(u) => i64::from(u),
                            MetricTarget::Value(v) | MetricTarget::AverageValue(v) => v,
                        };
                        let pods = list_pods(api, ns, &scale.selector, false);
                        let (replicas, usage) =
                            calc::object_metric_replicas(scale.spec_replicas, v, usage, t, &pods)
                                .map_err(fail)?;
                        Ok((
                            replicas,
                            metric_name.clone(),
                            MetricStatus {
                                name: metric_name,
                                value: Some(usage),
                                ..MetricStatus::default()
                            },
                        ))
                    }
                }
            }
            MetricSpec::External { metric, target } => {
                let fail = |e: String| {
                    (
                        "FailedGetExternalMetric",
                        format!(
                            "failed to get external metric {metric}: unable to get external metric {ns}/{metric}: {e}"
                        ),
                    )
                };
                let usage = api
                    .metrics
                    .external_metric(metric)
                    .ok_or_else(|| fail("no metrics returned from external metrics API".into()))?;
                let metric_name = format!("external metric {metric}");
                match *target {
                    MetricTarget::AverageValue(v) => {
                        let (replicas, per_pod) =
                            calc::per_pod_metric_replicas(scale.status_replicas, v, usage, t);
                        Ok((
                            replicas,
                            metric_name.clone(),
                            MetricStatus {
                                name: metric_name,
                                average_value: Some(per_pod),
                                ..MetricStatus::default()
                            },
                        ))
                    }
                    MetricTarget::Value(_) | MetricTarget::Utilization(_) => {
                        let v = match *target {
                            MetricTarget::Utilization(u) => i64::from(u),
                            MetricTarget::Value(v) | MetricTarget::AverageValue(v) => v,
                        };
                        let pods = list_pods(api, ns, &scale.selector, false);
                        let (replicas, usage) = calc::external_metric_replicas(
                            scale.spec_replicas,
                            v,
                            &[usage],
                            t,
                            &pods,
                        )
                        .map_err(fail)?;
                        Ok((
                            replicas,
                            metric_name.clone(),
                            MetricStatus {
                                name: metric_name,
                                value: Some(usage),
                                ..MetricStatus::default()
                            },
                        ))
                    }
                }
            }
        }
    }
}

impl HorizontalPodAutoscalerController {
    /// Upstream `computeReplicasForMetrics`: the largest proposal; `Err` when every metric
    /// failed, or some failed and the rest would scale down.
    fn compute_for_metrics(
        &self,
        api: &mut ApiServer,
        hpa: &HorizontalPodAutoscaler,
        key: &str,
        scale: &Scale,
        status: &mut HpaStatus,
        now: SimTime,
    ) -> Result<(i32, String, Vec<MetricStatus>), String> {
        let mut replicas = 0;
        let mut metric = String::new();
        let mut statuses = Vec::new();
        let mut invalid = 0usize;
        let mut first_error: Option<(&'static str, String)> = None;
        for spec in &hpa.metrics {
            match self.compute_for_metric(api, hpa, spec, scale, now) {
                Ok((r, name, st)) => {
                    statuses.push(st);
                    if replicas == 0 || r > replicas {
                        replicas = r;
                        metric = name;
                    }
                }
                Err((reason, message)) => {
                    // Upstream `getUnableComputeReplicaCountCondition`: an Event per failure.
                    api.record(
                        now,
                        EventType::Warning,
                        reason,
                        key.to_string(),
                        message.clone(),
                    );
                    statuses.push(MetricStatus::default());
                    if first_error.is_none() {
                        first_error = Some((reason, message));
                    }
                    invalid += 1;
                }
            }
        }
        if let Some((reason, message)) = &first_error
            && (invalid >= hpa.metrics.len() || replicas < scale.spec_replicas)
        {
            status.set_condition(
                "ScalingActive",
                "False",
                reason,
                format!("the HPA was unable to compute the replica count: {message}"),
                now,
            );
            return Err(format!(
                "invalid metrics ({invalid} invalid out of {}), first error is: {message}",
                hpa.metrics.len()
            ));
        }
        status.set_condition(
            "ScalingActive",
            "True",
            "ValidMetricFound",
            format!("the HPA was able to successfully calculate a replica count from {metric}"),
            now,
        );
        Ok((replicas, metric, statuses))
    }

    /// Upstream `reconcileAutoscaler`.
    fn reconcile(&mut self, id: WorkloadId, api: &mut ApiServer, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let Some(obj) = api.hpa(id) else { return };
        let hpa = obj.spec.clone();
        let mut status = obj.status.clone();
        let key = format!("horizontalpodautoscaler/{}", hpa.name);
        let Some(scale) = scale_of(api, &hpa) else {
            let message = format!(
                "{}.apps \"{}\" not found",
                hpa.scale_target_ref.kind.as_str().to_lowercase() + "s",
                hpa.scale_target_ref.name
            );
            api.record(
                now,
                EventType::Warning,
                "FailedGetScale",
                key,
                message.clone(),
            );
            status.set_condition(
                "AbleToScale",
                "False",
                "FailedGetScale",
                format!(
                    "the HPA controller was unable to get the target's current scale: {message}"
                ),
                now,
            );
            let _ = api.update_hpa_status(ctx, id, status);
            return;
        };
        status.set_condition(
            "AbleToScale",
            "True",
            "SucceededGetScale",
            "the HPA controller was able to get the target's current scale".into(),
            now,
        );
        let current = scale.spec_replicas;
        let (min, max) = (hpa.min_replicas, hpa.max_replicas);
        let mut desired = 0;
        let mut rescale = true;
        let mut reason = String::new();
        let mut metric_statuses = status.current_metrics.clone();
        if current == 0 && min != 0 {
            desired = 0;
            rescale = false;
            status.set_condition(
                "ScalingActive",
                "False",
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero".into(),
                now,
            );
        } else if current > max {
            reason = "Current number of replicas above Spec.MaxReplicas".into();
            desired = max;
        } else if current < min {
            reason = "Current number of replicas below Spec.MinReplicas".into();
            desired = min;
        } else {
            match self.compute_for_metrics(api, &hpa, &key, &scale, &mut status, now) {
                Err(e) => {
                    status.current_replicas = current;
                    let _ = api.update_hpa_status(ctx, id, status);
                    api.record(
                        now,
                        EventType::Warning,
                        "FailedComputeMetricsReplicas",
                        key,
                        e,
                    );
                    return;
                }
                Ok((proposal, metric, statuses)) => {
                    metric_statuses = statuses;
                    let mut rescale_metric = String::new();
                    if proposal > desired {
                        desired = proposal;
                        rescale_metric = metric;
                    }
                    if desired > current {
                        reason = format!("{rescale_metric} above target");
                    }
                    if desired < current {
                        reason = "All metrics below target".into();
                    }
                    desired = self.normalize(id, &hpa, &mut status, current, desired, now);
                    rescale = desired != current;
                }
            }
        }
        if rescale {
            if let Err(e) = write_scale(api, ctx, &hpa, desired) {
                api.record(
                    now,
                    EventType::Warning,
                    "FailedRescale",
                    key,
                    format!("New size: {desired}; reason: {reason}; error: {e}"),
                );
                status.set_condition(
                    "AbleToScale",
                    "False",
                    "FailedUpdateScale",
                    format!("the HPA controller was unable to update the target scale: {e}"),
                    now,
                );
                let _ = api.update_hpa_status(ctx, id, status);
                return;
            }
            status.set_condition(
                "AbleToScale",
                "True",
                "SucceededRescale",
                format!("the HPA controller was able to update the target scale to {desired}"),
                now,
            );
            api.record(
                now,
                EventType::Normal,
                "SuccessfulRescale",
                key,
                format!("New size: {desired}; reason: {reason}"),
            );
            if let Some(b) = &hpa.behavior {
                let h = self.history.entry(id).or_default();
                behavior::store_scale_event(h, &b.scale_up, &b.scale_down, current, desired, now);
            }
            status.last_scale_time = Some(now);
        } else {
            desired = current;
        }
        status.current_replicas = current;
        status.desired_replicas = desired;
        status.current_metrics = metric_statuses;
        let _ = api.update_hpa_status(ctx, id, status);
    }

    /// Upstream `normalizeDesiredReplicas` / `normalizeDesiredReplicasWithBehaviors`.
    fn normalize(
        &mut self,
        id: WorkloadId,
        hpa: &HorizontalPodAutoscaler,
        status: &mut HpaStatus,
        current: i32,
        prenormalized: i32,
        now: SimTime,
    ) -> i32 {
        let h = self.history.entry(id).or_default();
        let (stabilized, stab_reason, stab_message, desired, reason, message) = match &hpa.behavior
        {
            None => {
                let s = behavior::stabilize_recommendation(
                    h,
                    prenormalized,
                    self.settings.downscale_stabilization,
                    now,
                );
                let (d, r, m) = behavior::convert_desired_replicas_with_rules(
                    current,
                    s,
                    hpa.min_replicas,
                    hpa.max_replicas,
                );
                (
                    s,
                    "ScaleDownStabilized",
                    "recent recommendations were higher than current one, applying the highest recent recommendation",
                    d,
                    r,
                    m,
                )
            }
            Some(b) => {
                let down_window = b.scale_down.stabilization_window_seconds.unwrap_or(
                    i32::try_from(self.settings.downscale_stabilization.as_secs())
                        .unwrap_or(i32::MAX),
                );
                let up_window = b.scale_up.stabilization_window_seconds.unwrap_or(0);
                let (s, sr, sm) = behavior::stabilize_recommendation_with_behaviors(
                    h,
                    current,
                    prenormalized,
                    up_window,
                    down_window,
                    now,
                );
                let (d, r, m) = behavior::convert_desired_replicas_with_behavior_rate(
                    h,
                    current,
                    s,
                    hpa.min_replicas,
                    hpa.max_replicas,
                    &b.scale_up,
                    &b.scale_down,
                    now,
                );
                (s, sr, sm, d, r, m)
            }
        };
        if stabilized != prenormalized {
            status.set_condition("AbleToScale", "True", stab_reason, stab_message.into(), now);
        } else {
            status.set_condition(
                "AbleToScale",
                "True",
                "ReadyForNewScale",
                "recommended size matches current size".into(),
                now,
            );
        }
        let limited = if desired == stabilized {
            "False"
        } else {
            "True"
        };
        status.set_condition("ScalingLimited", limited, reason, message.into(), now);
        desired
    }
}

impl Reconciler for HorizontalPodAutoscalerController {
    type Key = WorkloadId;

    fn on_change(
        &mut self,
        change: &Change,
        _api: &ApiServer,
        _now: SimTime,
        enqueue: &mut dyn FnMut(WorkloadId),
    ) {
        // Status writes are the controller's own; a new HPA starts its periodic sync.
        if change.kind == ObjectKind::HorizontalPodAutoscaler && change.op == Op::Added {
            enqueue(WorkloadId(change.id));
        }
    }

    fn sync(
        &mut self,
        key: WorkloadId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> SyncOutcome {
        if api.hpa(key).is_none_or(|h| h.deleted) {
            self.history.remove(&key);
            return SyncOutcome::Done;
        }
        api.metrics.ensure_started(ctx);
        self.reconcile(key, api, ctx);
        SyncOutcome::RequeueAfter(self.settings.sync_period)
    }
}
