//! Upstream admission plugins that decide on an object as it is created: ResourceQuota and LimitRanger.

pub mod limit_range;
pub mod quota;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use limit_range::LimitRange;
use quota::{Amount, ContainerResources, PodView, QuantityFormat, QuotaObject, ResourceQuota};

use super::{ApiError, ApiResult, ApiServer};
use crate::api::{OwnerKind, Pod, PodId, PodPhase, PodResources, ResourceList, ResourceName};

/// The namespaced admission policies: each namespace's ResourceQuotas (with their `used`,
/// which upstream's quota controller keeps and admission reads) and LimitRanges, and the pods
/// whose usage is charged to the quotas.
#[derive(Clone, Debug, Default)]
pub struct Admission {
    pub quotas: BTreeMap<String, Vec<ResourceQuota>>,
    pub limit_ranges: BTreeMap<String, Vec<LimitRange>>,
    /// Pods whose compute usage is counted in their namespace's quotas.
    charged: BTreeSet<PodId>,
}

impl Admission {
    pub fn is_empty(&self) -> bool {
        self.quotas.is_empty() && self.limit_ranges.is_empty()
    }
}

/// Upstream `schedutil` defaults for scoring: a container without a CPU or memory request
/// counts 100m / 200Mi.
const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// What quota and LimitRanger read of a pod. A pod without container resources (a trace's)
/// is one container requesting its effective request.
pub(crate) fn pod_view(pod: &Pod, terminal: bool) -> PodView {
    let (containers, init_containers, overhead, deadline) = match &pod.resources {
        Some(r) => (
            r.containers.clone(),
            r.init_containers.clone(),
            r.overhead.clone(),
            r.active_deadline_seconds,
        ),
        None => (
            vec![ContainerResources {
                name: "main".into(),
                requests: to_quota_list(&pod.requests),
                limits: quota::ResourceList::new(),
                restartable_init: false,
            }],
            Vec::new(),
            quota::ResourceList::new(),
            None,
        ),
    };
    PodView {
        name: pod.name.clone(),
        namespace: pod.namespace.clone(),
        containers,
        init_containers,
        overhead,
        terminal_phase: terminal,
        deletion_grace_expired: false,
        active_deadline_seconds: deadline,
        priority_class_name: pod.priority_class_name.clone().unwrap_or_default(),
        cross_namespace_pod_affinity: false,
    }
}

fn to_quota_list(r: &ResourceList) -> quota::ResourceList {
    let mut out = quota::ResourceList::new();
    if r.cpu_milli != 0 {
        out.insert(
            "cpu".into(),
            Amount::from_milli(r.cpu_milli, QuantityFormat::DecimalSI),
        );
    }
    if r.memory != 0 {
        out.insert(
            "memory".into(),
            Amount::from_value(r.memory, QuantityFormat::BinarySI),
        );
    }
    if r.ephemeral_storage != 0 {
        out.insert(
            "ephemeral-storage".into(),
            Amount::from_value(r.ephemeral_storage, QuantityFormat::BinarySI),
        );
    }
    for (k, v) in &r.extended {
        out.insert(k.clone(), Amount::from_value(*v, QuantityFormat::DecimalSI));
    }
    out
}

/// The effective request of a pod view (upstream `resource.PodRequests`) in the scheduler's
/// units, with `pods: 1`.
fn requests_of(view: &PodView) -> ResourceList {
    let q = quota::pod_requests(view);
    let mut out = ResourceList {
        pods: 1,
        ..ResourceList::default()
    };
    for (k, v) in &q {
        match k.as_str() {
            "cpu" => out.cpu_milli = v.milli_value(),
            "memory" => out.memory = v.value(),
            "ephemeral-storage" => out.ephemeral_storage = v.value(),
            "pods" => {}
            name => out.set(&ResourceName::Extended(name.to_string()), v.value()),
        }
    }
    out
}

/// Upstream `GetNonzeroRequests` summed over app containers (init containers by max).
fn non_zero_of(view: &PodView) -> (i64, i64) {
    let nz = |c: &ContainerResources| {
        let cpu = c
            .requests
            .get("cpu")
            .map_or(DEFAULT_MILLI_CPU_REQUEST, Amount::milli_value);
        let mem = c
            .requests
            .get("memory")
            .map_or(DEFAULT_MEMORY_REQUEST, Amount::value);
        (cpu, mem)
    };
    let (mut cpu, mut mem) = view
        .containers
        .iter()
        .map(nz)
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    for c in &view.init_containers {
        let (c_cpu, c_mem) = nz(c);
        cpu = cpu.max(c_cpu);
        mem = mem.max(c_mem);
    }
    (cpu, mem)
}

fn negate(list: &quota::ResourceList) -> quota::ResourceList {
    list.iter()
        .map(|(k, v)| (k.clone(), Amount::from_milli(-v.milli_value(), v.format())))
        .collect()
}

impl ApiServer {
    /// A ResourceQuota of `namespace`. Its usage starts at what the namespace's objects use
    /// now (the quota controller's first sync).
    pub fn add_resource_quota(&mut self, namespace: &str, mut q: ResourceQuota) {
        for k in q.hard.keys() {
            q.used
                .entry(k.clone())
                .or_insert_with(|| Amount::from_value(0, QuantityFormat::DecimalSI));
        }
        let pods: Vec<PodId> = self
            .store
            .active_pods()
            .filter(|r| r.pod.namespace == namespace)
            .map(|r| r.id)
            .collect();
        for p in pods {
            let r = self.store.pod(p);
            let terminal = matches!(r.phase, PodPhase::Succeeded | PodPhase::Failed);
            let object = QuotaObject::Pod(pod_view(&r.pod, terminal));
            if quota::quota_matches(&q, &object).unwrap_or(false) {
                let usage = quota::usage(&object);
                q.used = quota::add(&q.used, &mask(&usage, &q));
            }
            if !terminal {
                self.admission.charged.insert(p);
            }
        }
        self.admission
            .quotas
            .entry(namespace.to_string())
            .or_default()
            .push(q);
    }

    pub fn add_limit_range(&mut self, namespace: &str, lr: LimitRange) {
        self.admission
            .limit_ranges
            .entry(namespace.to_string())
            .or_default()
            .push(lr);
    }

    /// LimitRanger then ResourceQuota on a pod create (upstream runs mutating LimitRanger
    /// before validating ResourceQuota). LimitRange defaults change the pod's requests.
    pub(crate) fn admit_pod_resources(&mut self, pod: &mut Pod) -> ApiResult<()> {
        if self.admission.is_empty() {
            return Ok(());
        }
        let ns = pod.namespace.clone();
        if let Some(lrs) = self.admission.limit_ranges.get(&ns) {
            let mut view = pod_view(pod, false);
            let before = view.clone();
            limit_range::admit_pod(lrs, &mut view).map_err(ApiError::Forbidden)?;
            if view != before {
                let (cpu, mem) = non_zero_of(&view);
                pod.requests = requests_of(&view);
                pod.non_zero_cpu_milli = cpu;
                pod.non_zero_memory = mem;
                pod.resources = Some(Arc::new(PodResources {
                    containers: view.containers,
                    init_containers: view.init_containers,
                    overhead: view.overhead,
                    active_deadline_seconds: view.active_deadline_seconds,
                }));
            }
        }
        if let Some(quotas) = self.admission.quotas.get_mut(&ns) {
            let object = QuotaObject::Pod(pod_view(pod, false));
            let used = quota::admit(quotas, &object).map_err(ApiError::Forbidden)?;
            for (q, u) in quotas.iter_mut().zip(used) {
                q.used = u;
            }
        }
        Ok(())
    }

    /// Marks a created pod as charged to its namespace's quotas.
    pub(crate) fn charge_pod(&mut self, pod: PodId) {
        if self
            .admission
            .quotas
            .contains_key(&self.store.pod(pod).pod.namespace)
        {
            self.admission.charged.insert(pod);
        }
    }

    /// A pod ended or went: the quota controller gives its compute usage back (and, once
    /// it is gone, its `count/pods`).
    pub(crate) fn release_pod_quota(&mut self, pod: PodId, gone: bool) {
        let r = self.store.pod(pod);
        let Some(quotas) = self.admission.quotas.get_mut(&r.pod.namespace) else {
            return;
        };
        let was_charged = self.admission.charged.remove(&pod);
        let running = QuotaObject::Pod(pod_view(&r.pod, false));
        let terminal = QuotaObject::Pod(pod_view(&r.pod, true));
        let mut give_back = quota::ResourceList::new();
        if was_charged {
            give_back = quota::usage(&running);
            if !gone {
                // Still there: keep counting the object itself.
                for k in quota::usage(&terminal).keys() {
                    give_back.remove(k);
                }
            }
        } else if gone {
            give_back = quota::usage(&terminal);
        }
        if give_back.is_empty() {
            return;
        }
        for q in quotas.iter_mut() {
            if quota::quota_matches(q, &running).unwrap_or(false) {
                q.used = quota::add(&q.used, &negate(&mask(&give_back, q)));
            }
        }
    }

    /// Object-count quotas (`count/statefulsets.apps`, `count/jobs.batch`, …) on a create.
    pub(crate) fn admit_object_count(
        &mut self,
        kind: OwnerKind,
        namespace: &str,
        name: &str,
        sign: i64,
    ) -> ApiResult<()> {
        let Some(quotas) = self.admission.quotas.get_mut(namespace) else {
            return Ok(());
        };
        let (resource, group) = match kind {
            OwnerKind::StatefulSet => ("statefulsets", "apps"),
            OwnerKind::DaemonSet => ("daemonsets", "apps"),
            OwnerKind::Deployment => ("deployments", "apps"),
            OwnerKind::ReplicaSet => ("replicasets", "apps"),
            OwnerKind::ReplicationController => ("replicationcontrollers", ""),
            OwnerKind::Job => ("jobs", "batch"),
            OwnerKind::CronJob => ("cronjobs", "batch"),
        };
        let object = QuotaObject::Counted {
            name: name.to_string(),
            resource: resource.into(),
            group: group.into(),
        };
        if sign > 0 {
            let used = quota::admit(quotas, &object).map_err(ApiError::Forbidden)?;
            for (q, u) in quotas.iter_mut().zip(used) {
                q.used = u;
            }
        } else {
            let usage = quota::usage(&object);
            for q in quotas.iter_mut() {
                if quota::quota_matches(q, &object).unwrap_or(false) {
                    q.used = quota::add(&q.used, &negate(&mask(&usage, q)));
                }
            }
        }
        Ok(())
    }
}

/// What quota reads of a claim (after the default StorageClass was written into it).
fn claim_view(claim: &crate::api::PersistentVolumeClaim) -> QuotaObject {
    QuotaObject::PersistentVolumeClaim(quota::PvcView {
        name: claim.name.clone(),
        storage_class: claim.storage_class.clone().unwrap_or_default(),
        requested_storage: Some(Amount::from_value(
            claim.request_bytes,
            QuantityFormat::BinarySI,
        )),
        volume_attributes_classes: BTreeSet::new(),
    })
}

impl ApiServer {
    /// LimitRanger (type PersistentVolumeClaim) then ResourceQuota (`persistentvolumeclaims`,
    /// `requests.storage` and their per-StorageClass forms) on a claim create.
    pub(crate) fn admit_claim(
        &mut self,
        claim: &crate::api::PersistentVolumeClaim,
    ) -> ApiResult<()> {
        if self.admission.is_empty() {
            return Ok(());
        }
        if let Some(lrs) = self.admission.limit_ranges.get(&claim.namespace) {
            let mut requests = quota::ResourceList::new();
            requests.insert(
                "storage".into(),
                Amount::from_value(claim.request_bytes, QuantityFormat::BinarySI),
            );
            limit_range::admit_persistent_volume_claim(lrs, &claim.name, &requests)
                .map_err(ApiError::Forbidden)?;
        }
        if let Some(quotas) = self.admission.quotas.get_mut(&claim.namespace) {
            let used = quota::admit(quotas, &claim_view(claim)).map_err(ApiError::Forbidden)?;
            for (q, u) in quotas.iter_mut().zip(used) {
                q.used = u;
            }
        }
        Ok(())
    }

    /// A claim went: its quota usage is given back.
    pub(crate) fn release_claim_quota(&mut self, claim: &crate::api::PersistentVolumeClaim) {
        let Some(quotas) = self.admission.quotas.get_mut(&claim.namespace) else {
            return;
        };
        let object = claim_view(claim);
        let usage = quota::usage(&object);
        for q in quotas.iter_mut() {
            if quota::quota_matches(q, &object).unwrap_or(false) {
                q.used = quota::add(&q.used, &negate(&mask(&usage, q)));
            }
        }
    }
}

/// The part of `usage` a quota tracks.
fn mask(usage: &quota::ResourceList, q: &ResourceQuota) -> quota::ResourceList {
    usage
        .iter()
        .filter(|(k, _)| q.hard.contains_key(*k))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}
