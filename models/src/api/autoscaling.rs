//! The HorizontalPodAutoscaler (`autoscaling/v2`, as the API server stores it after defaulting;
//! `autoscaling/v1` objects are converted to it as upstream's conversion does).
//!
//! Quantities are kept as milli-values (upstream `MilliValue()`), the unit the HPA controller
//! computes in.

use sim_core::SimTime;

/// The kinds whose scale subresource the simulation serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ScaleTargetKind {
    Deployment,
    StatefulSet,
    ReplicaSet,
}

impl ScaleTargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScaleTargetKind::Deployment => "Deployment",
            ScaleTargetKind::StatefulSet => "StatefulSet",
            ScaleTargetKind::ReplicaSet => "ReplicaSet",
        }
    }
}

/// `spec.scaleTargetRef`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScaleTargetRef {
    pub kind: ScaleTargetKind,
    pub name: String,
}

/// The resources a `Resource` metric may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricResource {
    Cpu,
    Memory,
}

impl MetricResource {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricResource::Cpu => "cpu",
            MetricResource::Memory => "memory",
        }
    }
}

/// `MetricTarget`: which of `averageUtilization`, `averageValue` and `value` is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricTarget {
    /// `type: Utilization`, percent of the pods' requests.
    Utilization(i32),
    /// `type: AverageValue`, milli-units per pod.
    AverageValue(i64),
    /// `type: Value`, milli-units.
    Value(i64),
}

/// One entry of `spec.metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetricSpec {
    /// `type: Resource` (or `ContainerResource` when `container` is set).
    Resource {
        name: MetricResource,
        container: Option<String>,
        target: MetricTarget,
    },
    /// `type: Pods`: a per-pod custom metric, averaged.
    Pods {
        metric: String,
        target: MetricTarget,
    },
    /// `type: Object`: a metric of one object (`describedObject` kind and name).
    Object {
        kind: String,
        name: String,
        metric: String,
        target: MetricTarget,
    },
    /// `type: External`: a metric from outside the cluster.
    External {
        metric: String,
        target: MetricTarget,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalingPolicyType {
    Pods,
    Percent,
}

/// `HPAScalingPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalingPolicy {
    pub type_: ScalingPolicyType,
    pub value: i32,
    pub period_seconds: i32,
}

/// `selectPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectPolicy {
    Max,
    Min,
    Disabled,
}

/// `HPAScalingRules`, with upstream's defaults filled in (`GenerateHPAScaleUpRules` /
/// `GenerateHPAScaleDownRules`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScalingRules {
    /// `None` only for scale-down, where the controller's
    /// `--horizontal-pod-autoscaler-downscale-stabilization` applies.
    pub stabilization_window_seconds: Option<i32>,
    pub select_policy: SelectPolicy,
    pub policies: Vec<ScalingPolicy>,
    /// `tolerance` (KEP-4951), in thousandths; `None`: the controller's tolerance.
    pub tolerance_milli: Option<i64>,
}

/// `spec.behavior`, defaulted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Behavior {
    pub scale_up: ScalingRules,
    pub scale_down: ScalingRules,
}

impl ScalingRules {
    /// Upstream `defaultHPAScaleUpRules`: no stabilization, the larger of 4 pods and 100%
    /// every 15s.
    pub fn default_scale_up() -> ScalingRules {
        ScalingRules {
            stabilization_window_seconds: Some(0),
            select_policy: SelectPolicy::Max,
            policies: vec![
                ScalingPolicy {
                    type_: ScalingPolicyType::Pods,
                    value: 4,
                    period_seconds: 15,
                },
                ScalingPolicy {
                    type_: ScalingPolicyType::Percent,
                    value: 100,
                    period_seconds: 15,
                },
            ],
            tolerance_milli: None,
        }
    }

    /// Upstream `defaultHPAScaleDownRules`: 100% every 15s; the window comes from the
    /// controller's flag.
    pub fn default_scale_down() -> ScalingRules {
        ScalingRules {
            stabilization_window_seconds: None,
            select_policy: SelectPolicy::Max,
            policies: vec![ScalingPolicy {
                type_: ScalingPolicyType::Percent,
                value: 100,
                period_seconds: 15,
            }],
            tolerance_milli: None,
        }
    }
}

/// Upstream `autoscaling.DefaultCPUUtilization`: the target of an HPA without metrics
/// (and of a v1 HPA without `targetCPUUtilizationPercentage`).
pub const DEFAULT_CPU_UTILIZATION: i32 = 80;

/// A HorizontalPodAutoscaler's spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HorizontalPodAutoscaler {
    pub name: String,
    pub namespace: String,
    pub scale_target_ref: ScaleTargetRef,
    /// Defaults to 1.
    pub min_replicas: i32,
    pub max_replicas: i32,
    /// Never empty: defaulted to CPU at 80% utilization.
    pub metrics: Vec<MetricSpec>,
    /// `None` when the object has none: the controller then uses its legacy normalization
    /// (upstream `normalizeDesiredReplicas`).
    pub behavior: Option<Behavior>,
}

/// `MetricValueStatus` of one metric, milli-values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricStatus {
    /// What the metric is, as upstream names it in events (`cpu resource utilization
    /// (percentage of request)`).
    pub name: String,
    pub average_utilization: Option<i32>,
    pub average_value: Option<i64>,
    pub value: Option<i64>,
}

/// A status condition (`AbleToScale`, `ScalingActive`, `ScalingLimited`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HpaCondition {
    pub type_: &'static str,
    pub status: &'static str,
    pub reason: &'static str,
    pub message: String,
    pub last_transition: SimTime,
}

/// `HorizontalPodAutoscalerStatus`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HpaStatus {
    pub current_replicas: i32,
    pub desired_replicas: i32,
    pub last_scale_time: Option<SimTime>,
    pub current_metrics: Vec<MetricStatus>,
    pub conditions: Vec<HpaCondition>,
}

impl HpaStatus {
    pub fn condition(&self, type_: &str) -> Option<&HpaCondition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }

    /// Upstream `setConditionInList`: the transition time moves only when the status does.
    pub fn set_condition(
        &mut self,
        type_: &'static str,
        status: &'static str,
        reason: &'static str,
        message: String,
        now: SimTime,
    ) {
        match self.conditions.iter_mut().find(|c| c.type_ == type_) {
            Some(c) => {
                if c.status != status {
                    c.last_transition = now;
                }
                c.status = status;
                c.reason = reason;
                c.message = message;
            }
            None => self.conditions.push(HpaCondition {
                type_,
                status,
                reason,
                message,
                last_transition: now,
            }),
        }
    }
}
