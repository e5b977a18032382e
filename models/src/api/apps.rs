//! StatefulSets and DaemonSets (apps/v1), with upstream's defaults
//! (`pkg/apis/apps/v1/defaults.go`).

use std::collections::BTreeMap;

use super::storage::PersistentVolumeClaim;
use super::{IntOrPercent, LabelSelector, Labels, PodTemplate};

/// `spec.podManagementPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PodManagementPolicy {
    /// One pod at a time, in ordinal order, each Running and Ready before the next (default).
    #[default]
    OrderedReady,
    /// Pods are created and deleted in parallel.
    Parallel,
}

/// `spec.updateStrategy` of a StatefulSet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatefulSetUpdateStrategy {
    /// Pods with ordinal ≥ `partition` are replaced, from the highest ordinal down, at most
    /// `max_unavailable` at a time (default 1).
    RollingUpdate {
        partition: i32,
        max_unavailable: IntOrPercent,
    },
    /// Pods are replaced only when someone deletes them.
    OnDelete,
}

impl Default for StatefulSetUpdateStrategy {
    fn default() -> Self {
        StatefulSetUpdateStrategy::RollingUpdate {
            partition: 0,
            max_unavailable: IntOrPercent::Int(1),
        }
    }
}

/// `spec.persistentVolumeClaimRetentionPolicy`: `Retain` (default) or `Delete` for each case.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PvcRetentionPolicy {
    pub when_deleted_delete: bool,
    pub when_scaled_delete: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StatefulSet {
    pub name: String,
    pub namespace: String,
    pub replicas: i32,
    pub selector: LabelSelector,
    pub template: PodTemplate,
    /// `spec.serviceName`: the governing Service (pods get `<pod>.<service>` host names).
    pub service_name: String,
    pub pod_management_policy: PodManagementPolicy,
    pub update_strategy: StatefulSetUpdateStrategy,
    pub min_ready_seconds: i32,
    /// `spec.volumeClaimTemplates`: each pod gets claim `<template>-<set>-<ordinal>`.
    pub volume_claim_templates: Vec<PersistentVolumeClaim>,
    pub pvc_retention: PvcRetentionPolicy,
    /// `spec.ordinals.start` (default 0).
    pub ordinals_start: i32,
    pub revision_history_limit: i32,
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
}

impl StatefulSet {
    pub fn new(
        name: impl Into<String>,
        namespace: impl Into<String>,
        replicas: i32,
        selector: LabelSelector,
        template: PodTemplate,
    ) -> Self {
        StatefulSet {
            name: name.into(),
            namespace: namespace.into(),
            replicas,
            selector,
            template,
            service_name: String::new(),
            pod_management_policy: PodManagementPolicy::OrderedReady,
            update_strategy: StatefulSetUpdateStrategy::default(),
            min_ready_seconds: 0,
            volume_claim_templates: Vec::new(),
            pvc_retention: PvcRetentionPolicy::default(),
            ordinals_start: 0,
            revision_history_limit: super::DEFAULT_REVISION_HISTORY_LIMIT,
            labels: Labels::new(),
            annotations: BTreeMap::new(),
        }
    }
}

/// `spec.updateStrategy` of a DaemonSet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DaemonSetUpdateStrategy {
    RollingUpdate {
        max_unavailable: IntOrPercent,
        max_surge: IntOrPercent,
    },
    OnDelete,
}

impl Default for DaemonSetUpdateStrategy {
    /// Upstream `SetDefaults_DaemonSet`: RollingUpdate, maxUnavailable 1, maxSurge 0.
    fn default() -> Self {
        DaemonSetUpdateStrategy::RollingUpdate {
            max_unavailable: IntOrPercent::Int(1),
            max_surge: IntOrPercent::Int(0),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct DaemonSet {
    pub name: String,
    pub namespace: String,
    pub selector: LabelSelector,
    pub template: PodTemplate,
    pub update_strategy: DaemonSetUpdateStrategy,
    pub min_ready_seconds: i32,
    pub revision_history_limit: i32,
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
}

impl DaemonSet {
    pub fn new(
        name: impl Into<String>,
        namespace: impl Into<String>,
        selector: LabelSelector,
        template: PodTemplate,
    ) -> Self {
        DaemonSet {
            name: name.into(),
            namespace: namespace.into(),
            selector,
            template,
            update_strategy: DaemonSetUpdateStrategy::default(),
            min_ready_seconds: 0,
            revision_history_limit: super::DEFAULT_REVISION_HISTORY_LIMIT,
            labels: Labels::new(),
            annotations: BTreeMap::new(),
        }
    }
}
