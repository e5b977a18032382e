//! Pods as the scheduler and controllers see them.

use super::{
    HostPort, Labels, OwnerRef, PodAffinity, Requirement, ResourceList, Toleration,
    TopologySpreadConstraint,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
}

impl PodPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            PodPhase::Pending => "Pending",
            PodPhase::Running => "Running",
            PodPhase::Succeeded => "Succeeded",
            PodPhase::Failed => "Failed",
        }
    }
}

/// `spec.restartPolicy`: what the kubelet does when a container exits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RestartPolicy {
    #[default]
    Always,
    OnFailure,
    Never,
}

/// One term of a node selector: all expressions and fields must match. Upstream: an empty
/// term (no expressions and no fields) matches no node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSelectorTerm {
    pub match_expressions: Vec<Requirement>,
    /// Requirements on node fields; upstream supports only `metadata.name`.
    pub match_fields: Vec<Requirement>,
}

/// Terms are ORed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSelector {
    pub terms: Vec<NodeSelectorTerm>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreferredSchedulingTerm {
    pub weight: i32,
    pub preference: NodeSelectorTerm,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeAffinity {
    /// `requiredDuringSchedulingIgnoredDuringExecution`.
    pub required: Option<NodeSelector>,
    /// `preferredDuringSchedulingIgnoredDuringExecution`.
    pub preferred: Vec<PreferredSchedulingTerm>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Pod {
    pub name: String,
    pub namespace: String,
    pub labels: Labels,
    /// The pod's effective request, as upstream `resource.PodRequests` computes it: the sum of
    /// the containers, at least the largest init container, plus overhead. Counts one pod.
    pub requests: ResourceList,
    /// CPU (millicores) and memory (bytes) requests where every container without a request
    /// counts 100m / 200Mi (upstream `schedutil.GetNonzeroRequests`); used only for scoring.
    pub non_zero_cpu_milli: i64,
    pub non_zero_memory: i64,
    /// `spec.nodeSelector`, as Equals requirements.
    pub node_selector: Vec<Requirement>,
    /// Boxed: rarely set, and every pod record carries the field.
    pub node_affinity: Option<Box<NodeAffinity>>,
    /// Shared by every pod stamped from one template, and the default pair admission adds
    /// by every pod that named none.
    pub tolerations: SharedList<Toleration>,
    /// `spec.nodeName`: the pod is bound from the start (or must go to this node).
    pub node_name: Option<String>,
    pub priority: i32,
    pub scheduler_name: String,
    pub owner: Option<OwnerRef>,
    /// Container images, for ImageLocality.
    pub images: SharedList<String>,
    /// `spec.topologySpreadConstraints`, for PodTopologySpread.
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// `spec.affinity.podAffinity`, for InterPodAffinity.
    pub pod_affinity: Option<Box<PodAffinity>>,
    /// `spec.affinity.podAntiAffinity`, for InterPodAffinity.
    pub pod_anti_affinity: Option<Box<PodAffinity>>,
    /// Container ports with a `hostPort` (upstream `schedutil.GetHostPorts`), for NodePorts.
    pub host_ports: Vec<HostPort>,
    /// GPUs, or shares of one, on the node's devices (see `crate::gpu`). Such a pod carries no
    /// `nvidia.com/gpu` request: the `GPUShare` plugin checks the fit, `Store::bind` assigns the
    /// devices.
    pub gpu: Option<crate::gpu::GpuRequest>,
    /// `spec.priorityClassName` after admission (the global default's name when the pod named
    /// none); `priority` and `preemption_policy` come from it (`crate::api::priority`).
    pub priority_class_name: Option<String>,
    /// `spec.preemptionPolicy`: `Never` keeps the pod from preempting others.
    pub preemption_policy: super::PreemptionPolicy,
    /// `spec.terminationGracePeriodSeconds` (API default 30): how long a deleted pod keeps its
    /// node's resources while it shuts down, e.g. a preemption victim.
    pub termination_grace_period_seconds: i64,
    /// `status.nominatedNodeName`: the node a preemption freed for this pod. The scheduler
    /// tries it first and counts the pod there for pods of lower or equal priority.
    pub nominated_node_name: Option<String>,
    /// `spec.schedulingGates` names: the pod is not scheduled while any remain (upstream
    /// SchedulingGates PreEnqueue plugin).
    pub scheduling_gates: Vec<String>,
    /// `metadata.annotations` of the pod (or of a workload's template: changing one starts a
    /// rollout, e.g. `kubectl rollout restart`'s `restartedAt`).
    pub annotations: std::collections::BTreeMap<String, String>,
    /// `controller.kubernetes.io/pod-deletion-cost` (default 0): the ReplicaSet controller
    /// deletes pods of lower cost first.
    pub deletion_cost: i32,
    /// What a `kubectl get -o yaml` dump said of the pod's state; `None` for pods created by the
    /// simulation. The API server starts such a pod in that state.
    pub dumped: Option<Box<DumpedPodStatus>>,
    pub restart_policy: RestartPolicy,
    /// `spec.hostNetwork` (the DaemonSet controller adds a toleration for such pods).
    pub host_network: bool,
    /// `spec.hostname` and `spec.subdomain`: a StatefulSet pod's stable network identity
    /// (`web-0.nginx`), an Indexed Job pod's `<job>-<index>`.
    pub hostname: Option<String>,
    pub subdomain: Option<String>,
    /// Each container's requests and limits as written, for ResourceQuota and LimitRange
    /// admission; shared by every pod stamped from one template. `None` for pods that carry
    /// only their effective request (traces).
    pub resources: Option<std::sync::Arc<PodResources>>,
    /// `spec.volumes` that matter to scheduling and storage (claims, emptyDir).
    pub volumes: Vec<super::PodVolume>,
    /// The containers as the kubelet runs them (images, pull policies, probes, preStop
    /// hooks, init containers and sidecars); shared by every pod stamped from one template.
    /// `None` for pods that carry no container list (traces, pods built in code).
    pub containers: Option<std::sync::Arc<PodContainers>>,
}

/// `spec.initContainers` and `spec.containers`, as the kubelet reads them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodContainers {
    pub init_containers: Vec<ContainerSpec>,
    pub containers: Vec<ContainerSpec>,
}

impl PodContainers {
    /// Anything beyond "start the containers and report them Ready": init containers,
    /// probes or preStop hooks.
    pub fn has_lifecycle(&self) -> bool {
        !self.init_containers.is_empty()
            || self.containers.iter().any(|c| {
                c.liveness_probe.is_some()
                    || c.readiness_probe.is_some()
                    || c.startup_probe.is_some()
                    || c.pre_stop.is_some()
            })
    }
}

/// One container of a pod spec.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    /// After defaulting (upstream `SetDefaults_Container`, see [`default_pull_policy`]).
    pub image_pull_policy: PullPolicy,
    pub liveness_probe: Option<Probe>,
    pub readiness_probe: Option<Probe>,
    pub startup_probe: Option<Probe>,
    /// `lifecycle.preStop`.
    pub pre_stop: Option<LifecycleHandler>,
    /// An init container with `restartPolicy: Always`: a sidecar, started in order with the
    /// other init containers and kept running beside the app containers.
    pub restartable: bool,
}

/// `imagePullPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PullPolicy {
    Always,
    #[default]
    IfNotPresent,
    Never,
}

impl PullPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "Always",
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Never => "Never",
        }
    }
}

/// Upstream `SetDefaults_Container`: an empty `imagePullPolicy` is `Always` when the image's
/// tag is `latest` (no tag and no digest counts as `latest`, upstream
/// `parsers.ParseImageName`), else `IfNotPresent`.
pub fn default_pull_policy(image: &str) -> PullPolicy {
    match image_tag(image) {
        Some("latest") => PullPolicy::Always,
        Some(_) => PullPolicy::IfNotPresent,
        // A digest without a tag pins the image.
        None if image.contains('@') => PullPolicy::IfNotPresent,
        None => PullPolicy::Always,
    }
}

/// The tag of an image reference: after the last `:` of the last path component, before
/// any `@digest`.
fn image_tag(image: &str) -> Option<&str> {
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split_once(':').map(|(_, tag)| tag)
}

/// A probe's timing (upstream `v1.Probe` after `SetDefaults_Probe`); what it checks (exec,
/// httpGet, tcpSocket, grpc) does not matter here: its result comes from `behaviour`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    pub initial_delay_seconds: i32,
    /// Default 10.
    pub period_seconds: i32,
    /// Default 1.
    pub timeout_seconds: i32,
    /// Default 1 (and must be 1 for liveness and startup probes).
    pub success_threshold: i32,
    /// Default 3.
    pub failure_threshold: i32,
    /// The probe-level `terminationGracePeriodSeconds` a liveness or startup failure kills
    /// the container with, instead of the pod's.
    pub termination_grace_period_seconds: Option<i64>,
}

impl Default for Probe {
    /// Upstream `SetDefaults_Probe`.
    fn default() -> Self {
        Probe {
            initial_delay_seconds: 0,
            period_seconds: 10,
            timeout_seconds: 1,
            success_threshold: 1,
            failure_threshold: 3,
            termination_grace_period_seconds: None,
        }
    }
}

/// A `lifecycle.preStop` handler: how long it takes comes from `behaviour` (`preStop: 5s`)
/// except for `sleep`, which takes its `seconds`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifecycleHandler {
    Exec,
    HttpGet,
    TcpSocket,
    Sleep { seconds: i64 },
}

/// The containers' resources of a pod spec, as admission reads them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodResources {
    pub containers: Vec<crate::apiserver::admission::quota::ContainerResources>,
    pub init_containers: Vec<crate::apiserver::admission::quota::ContainerResources>,
    /// `spec.overhead`.
    pub overhead: crate::apiserver::admission::quota::ResourceList,
    /// `spec.activeDeadlineSeconds`.
    pub active_deadline_seconds: Option<i64>,
}

/// A pod's state as a dump records it (`status`, `metadata.deletionTimestamp`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DumpedPodStatus {
    /// `status.phase`.
    pub phase: Option<PodPhase>,
    /// `status.startTime`, as seconds relative to the scenario's start (negative: before it).
    /// Loaders take the latest timestamp of the dump as the scenario's start.
    pub start_time_offset_secs: Option<i64>,
    /// `metadata.creationTimestamp`, relative to the scenario's start like `start_time`.
    pub creation_offset_secs: Option<i64>,
    /// The `Ready` condition is `True`.
    pub ready: bool,
    /// `metadata.deletionTimestamp` is set: the pod is terminating.
    pub terminating: bool,
    /// `status.containerStatuses[*].restartCount`, summed.
    pub restarts: i32,
}

/// Upstream `DefaultTerminationGracePeriodSeconds`.
pub const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS: i64 = 30;

pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

impl Default for Pod {
    fn default() -> Self {
        Pod {
            name: String::new(),
            namespace: "default".to_string(),
            labels: Labels::new(),
            requests: ResourceList {
                pods: 1,
                ..Default::default()
            },
            non_zero_cpu_milli: 0,
            non_zero_memory: 0,
            node_selector: Vec::new(),
            node_affinity: None,
            tolerations: SharedList::new(),
            node_name: None,
            priority: 0,
            scheduler_name: DEFAULT_SCHEDULER_NAME.to_string(),
            owner: None,
            images: SharedList::new(),
            topology_spread_constraints: Vec::new(),
            pod_affinity: None,
            pod_anti_affinity: None,
            host_ports: Vec::new(),
            gpu: None,
            priority_class_name: None,
            preemption_policy: super::PreemptionPolicy::PreemptLowerPriority,
            termination_grace_period_seconds: DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS,
            nominated_node_name: None,
            scheduling_gates: Vec::new(),
            annotations: std::collections::BTreeMap::new(),
            deletion_cost: 0,
            dumped: None,
            restart_policy: RestartPolicy::Always,
            host_network: false,
            hostname: None,
            subdomain: None,
            resources: None,
            volumes: Vec::new(),
            containers: None,
        }
    }
}

impl Pod {
    /// `namespace/name`, the key users see in events.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Upstream `podWithAffinity`: the pod has pod affinity or anti-affinity (NodeInfo's
    /// `PodsWithAffinity` list).
    pub fn has_pod_affinity(&self) -> bool {
        self.pod_affinity.is_some() || self.pod_anti_affinity.is_some()
    }

    /// Upstream `len(podInfo.RequiredAntiAffinityTerms) > 0` (NodeInfo's
    /// `PodsWithRequiredAntiAffinity` list).
    pub fn has_required_anti_affinity(&self) -> bool {
        self.pod_anti_affinity
            .as_ref()
            .is_some_and(|a| !a.required.is_empty())
    }
}

/// An immutable list shared by every pod stamped from one template (tolerations, images, ...):
/// cloning a pod copies a pointer, not the list. Reads go through the slice it derefs to;
/// the rare writer replaces the whole list (copy on write). Empty lists allocate nothing.
pub struct SharedList<T>(Option<std::sync::Arc<[T]>>);

impl<T> SharedList<T> {
    pub const fn new() -> Self {
        SharedList(None)
    }

    /// Both lists are the same allocation (or both empty): equal without comparing items.
    pub fn ptr_eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => std::sync::Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }

    pub fn clear(&mut self) {
        self.0 = None;
    }
}

impl<T: Clone> SharedList<T> {
    /// Appends `item` to a private copy of the list.
    pub fn push(&mut self, item: T) {
        let mut items = self.to_vec();
        items.push(item);
        *self = items.into();
    }

    /// Edits a private copy of the list, then shares it again.
    pub fn update(&mut self, edit: impl FnOnce(&mut Vec<T>)) {
        let mut items = self.to_vec();
        edit(&mut items);
        *self = items.into();
    }
}

impl<T> Default for SharedList<T> {
    fn default() -> Self {
        SharedList(None)
    }
}

impl<T> Clone for SharedList<T> {
    fn clone(&self) -> Self {
        SharedList(self.0.clone())
    }
}

impl<T> std::ops::Deref for SharedList<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.0.as_deref().unwrap_or(&[])
    }
}

impl<T> From<Vec<T>> for SharedList<T> {
    fn from(items: Vec<T>) -> Self {
        if items.is_empty() {
            SharedList(None)
        } else {
            SharedList(Some(items.into()))
        }
    }
}

impl<T: Clone> From<&[T]> for SharedList<T> {
    fn from(items: &[T]) -> Self {
        items.to_vec().into()
    }
}

impl<T, const N: usize> From<[T; N]> for SharedList<T> {
    fn from(items: [T; N]) -> Self {
        Vec::from(items).into()
    }
}

impl<T> FromIterator<T> for SharedList<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        iter.into_iter().collect::<Vec<T>>().into()
    }
}

impl<'a, T> IntoIterator for &'a SharedList<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for SharedList<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: PartialEq> PartialEq for SharedList<T> {
    fn eq(&self, other: &Self) -> bool {
        self.ptr_eq(other) || **self == **other
    }
}

impl<T: Eq> Eq for SharedList<T> {}

impl<T: PartialEq> PartialEq<Vec<T>> for SharedList<T> {
    fn eq(&self, other: &Vec<T>) -> bool {
        **self == **other
    }
}

impl<T: PartialEq> PartialEq<[T]> for SharedList<T> {
    fn eq(&self, other: &[T]) -> bool {
        **self == *other
    }
}

impl<T: PartialEq> PartialEq<SharedList<T>> for Vec<T> {
    fn eq(&self, other: &SharedList<T>) -> bool {
        **self == **other
    }
}

impl<T: PartialEq<U>, U, const N: usize> PartialEq<[U; N]> for SharedList<T> {
    fn eq(&self, other: &[U; N]) -> bool {
        **self == other[..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// upstream pkg/apis/core/v1/defaults.go SetDefaults_Container ("Check image tag": tag
    /// `latest` → Always, else IfNotPresent) over the tags upstream
    /// pkg/util/parsers/parsers_test.go TestParseImageName gets: no tag means `latest`, a
    /// registry port is not a tag, a digest without a tag has no tag.
    #[test]
    fn image_pull_policy_defaults_as_upstream() {
        for (image, policy) in [
            ("root", PullPolicy::Always),
            ("root:tag", PullPolicy::IfNotPresent),
            ("root:latest", PullPolicy::Always),
            (
                "root@sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582",
                PullPolicy::IfNotPresent,
            ),
            ("user/repo", PullPolicy::Always),
            ("user/repo:tag", PullPolicy::IfNotPresent),
            ("url:5000/repo", PullPolicy::Always),
            ("url:5000/repo:tag", PullPolicy::IfNotPresent),
            (
                "url:5000/repo:latest@sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582",
                PullPolicy::Always,
            ),
        ] {
            assert_eq!(default_pull_policy(image), policy, "{image}");
        }
    }
}
