//! Scenario loading: one YAML file in kubesim's own format names the cluster, the workloads
//! (real Kubernetes manifests, inline or in files) and the scheduler configuration.
//!
//! Every problem is reported as a [`Diagnostic`] at `file:line:column`, never as a panic: a
//! typo in a scenario field or in a manifest (`replicsa`), a bad quantity, an unknown kind, a
//! missing file. One pass reports every problem it finds (one per bad object, pool, entry or
//! file), combined into one diagnostic whose lines each read `file:line:column: message`.
//! Kinds that do not matter to the simulation (ServiceAccount, ConfigMap, CRDs and custom
//! resources, …) are accepted and listed in [`Scenario::ignored`].
//!
//! Real inputs are first-class: `kubectl get -o yaml` dumps keep their owners
//! (`metadata.ownerReferences`), pod status (phase, startTime, Ready, restarts,
//! deletionTimestamp: see [`crate::api::DumpedPodStatus`], times relative to the latest
//! time the dump records), scheduling gates, nominated nodes and deletion costs.
//!
//! ```yaml
//! name: quickstart
//! seed: 42
//! duration: 1h
//! cluster:
//!   nodePools:
//!     - {name: general, count: 3, resources: {cpu: "4", memory: 16Gi}, zones: [zone-a, zone-b]}
//!   nodes:
//!     - file: nodes.yaml           # Node manifests, e.g. `kubectl get nodes -o yaml`
//! workloads:
//!   - file: manifests/shop.yaml    # multi-document YAML or a `kind: List`, relative to this file
//!   - inline: {apiVersion: v1, kind: Pod, ...}
//! scheduler:
//!   config: {apiVersion: kubescheduler.config.k8s.io/v1, kind: KubeSchedulerConfiguration, ...}
//! controlPlane: {watchLatency: 10ms..100ms, apiLatency: 2ms..10ms}
//! behaviour:
//!   podStartup: 1s..3s
//!   failingImages: [web:v2-typo]
//!   frontend: {startup: 5s..20s, ready: never}   # by workload name
//! timeline:                                       # see `timeline.rs` for every action
//!   - {at: 10m, rollout: {deployment: frontend, image: frontend:v2}}
//!   - {at: 20m, drain: {node: general-1}}
//! ```
//!
//! Pool nodes are labelled as a kubelet and a cloud provider label real ones (hostname, os,
//! arch, zone, region, instance type, with the beta forms; see [`NodePool::node`]) and have
//! 100Gi of `ephemeral-storage` unless the pool says otherwise.

mod autoscaler;
mod behaviour;
mod control_plane;
mod convert;
mod diagnostic;
mod faults;
mod format;
mod hpa;
mod input;
mod manifest;
mod metrics;
pub mod network;
mod priority;
mod probe;
mod resources;
mod scheduler_timing;
mod slo;
mod source;
mod timeline;
mod traffic;
mod variant;
mod workloads;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_yaml::Value;
use sim_core::{SimDuration, SimTime};

pub use behaviour::{ImageBehaviour, ImagesBehaviour, LifecycleBehaviour, ProbeBehaviour};
pub use diagnostic::Diagnostic;
pub use input::{
    FOLDER_CAP_FILES, InputKind, MAX_FOLDER_MIB_VAR, MAX_TRACE_BYTES, MAX_TRACE_MIB_VAR,
    MAX_YAML_BYTES, MAX_YAML_MIB_VAR, MAX_YAML_NESTING, read_input,
};
pub use priority::Workloads;
pub use source::SourceRef;
pub use timeline::ANNOTATION_RESTARTED_AT;
pub use variant::SetValue;

use crate::api::node::{LABEL_ZONE_BETA, WellKnownLabels, region_of_zone};
use crate::api::{
    Deployment, LABEL_ZONE, Labels, Node, OwnerKind, Pod, ReplicaSet, ResourceList, ResourceName,
    Taint,
};
use crate::apiserver::admission::limit_range::LimitRange;
use crate::apiserver::admission::quota::ResourceQuota;
use convert::{Ctx, Scope};
use format::{CompareSection, NodePoolSection, ScenarioFile, describe_serde_error};
use source::{At, Document, Seg, decode, parse_documents, path_string, segs_from_path};

/// The label kubesim puts on every node created from a pool.
pub const LABEL_POOL: &str = "kubesim.io/pool";

/// Default time from bind to Running when the scenario does not say.
pub const DEFAULT_POD_STARTUP: (SimDuration, SimDuration) =
    (SimDuration::from_secs(1), SimDuration::from_secs(3));

/// Pods a node accepts when its pool does not say (the kubelet's `maxPods` default).
pub const DEFAULT_MAX_PODS: i64 = 110;

/// A pool node's `ephemeral-storage` when its pool does not say: a common root disk size.
pub const DEFAULT_POOL_EPHEMERAL_STORAGE: i64 = 100 << 30;

/// A sanity bound on one pool, so that a stray digit cannot exhaust memory.
const MAX_POOL_NODES: i64 = 100_000;
/// The most nodes a run's cluster may ever have: its pools and Node manifests at the start
/// plus every `addNodes` (upstream Kubernetes supports 5,000; kubesim goes further, within
/// what a run can hold in memory).
pub const MAX_CLUSTER_NODES: u64 = 100_000;
/// The most pods one workload may ask for (`replicas`, a Job's `parallelism` and
/// `completions`, a timeline `scale`), and the most the workloads at the start may ask for
/// together: ten pods per node of the largest cluster, within what a run holds in memory
/// (~4.5 KB a pod).
pub const MAX_CLUSTER_PODS: u64 = 1_000_000;

/// A pool of identical nodes, as declared.
#[derive(Clone, Debug, PartialEq)]
pub struct NodePool {
    pub name: String,
    pub count: u32,
    /// Zones assigned round-robin: node `i` is in `zones[i % zones.len()]`.
    pub zones: Vec<String>,
    pub instance_type: Option<String>,
    /// `region:` of the pool; when absent, each node's region is derived from its zone
    /// (`us-east-1a` → `us-east-1`, see [`region_of_zone`]).
    pub region: Option<String>,
    pub cost_per_hour: Option<f64>,
    /// The labels the pool declares (without the generated ones).
    pub labels: Labels,
    pub taints: Vec<Taint>,
    pub allocatable: ResourceList,
    /// `autoscaling: {min, max, provisioningDelay, maxNodeProvisionTime}`: a node group of
    /// the cluster autoscaler.
    pub autoscaling: Option<crate::autoscaler::NodeGroupSpec>,
    /// `spot: true`: the pool runs on interruptible capacity (priced by its `costPerHour`).
    pub spot: bool,
}

impl NodePool {
    pub fn node_name(&self, index: usize) -> String {
        format!("{}-{index}", self.name)
    }

    /// The pool's `index`-th node: the pool's labels, plus what every kubelet and cloud
    /// provider sets unless the pool's labels say otherwise — `kubernetes.io/hostname`,
    /// `kubernetes.io/os: linux`, `kubernetes.io/arch: amd64`, `topology.kubernetes.io/zone`
    /// (the pool's zones round-robin) and `region`, `node.kubernetes.io/instance-type`, each
    /// with its deprecated beta form — and `kubesim.io/pool`.
    pub fn node(&self, index: usize) -> Node {
        let name = self.node_name(index);
        let mut labels = self.labels.clone();
        let zone = labels
            .get(LABEL_ZONE)
            .or_else(|| labels.get(LABEL_ZONE_BETA))
            .map(str::to_string)
            .or_else(|| {
                self.zones
                    .get(index.checked_rem(self.zones.len()).unwrap_or(0))
                    .cloned()
            });
        let region = self
            .region
            .clone()
            .or_else(|| zone.as_deref().map(|z| region_of_zone(z).to_string()));
        WellKnownLabels {
            hostname: &name,
            os: Some("linux"),
            arch: Some("amd64"),
            zone: zone.as_deref(),
            region: region.as_deref(),
            instance_type: self.instance_type.as_deref(),
        }
        .apply_to(&mut labels);
        labels.insert(LABEL_POOL, self.name.clone());
        Node {
            name,
            labels,
            taints: self.taints.clone(),
            allocatable: self.allocatable.clone(),
            unschedulable: false,
            pool: Some(self.name.clone()),
            ..Node::default()
        }
    }
}

/// A scripted change to the cluster at a point in simulated time.
#[derive(Clone, Debug)]
pub struct TimelineAction {
    pub at: SimDuration,
    pub action: Action,
}

#[derive(Clone, Debug)]
pub enum Action {
    /// Nodes join the pool (index into `Scenario::pools`), named after the pool's existing ones.
    AddNodes {
        pool: usize,
        count: u32,
    },
    /// `rollout: {deployment | statefulSet | daemonSet, image?, container?, annotations?}`: a
    /// change to the pod template,
    /// as `kubectl set image` would make it. `image` replaces the image of the container named
    /// `container` (the first app container when not named); `container` is that container's
    /// index in the template pod's [`Pod::images`] (init containers' images come first), set
    /// whenever `image` is. `annotations` are added to the template (any template change starts
    /// a rollout); a rollout with neither image nor annotations is `kubectl rollout restart`,
    /// which sets the `kubectl.kubernetes.io/restartedAt` annotation (here: the entry's `at`).
    Rollout {
        target: ObjectRef,
        image: Option<String>,
        container: Option<usize>,
        template_annotations: Vec<(String, String)>,
    },
    /// `scale: {deployment | replicaSet | replicationController | statefulSet, replicas}`.
    Scale {
        target: ObjectRef,
        replicas: i32,
    },
    /// `rollback: {deployment, toRevision?}`: `kubectl rollout undo` (0 = the previous revision).
    Rollback {
        target: ObjectRef,
        to_revision: i64,
    },
    /// `suspend: {cronJob | job}` / `unsuspend: {…}`: sets `spec.suspend`.
    Suspend {
        target: ObjectRef,
        suspend: bool,
    },
    /// `pause: {deployment}` / `resume: {deployment}`.
    Pause {
        target: ObjectRef,
    },
    Resume {
        target: ObjectRef,
    },
    /// `apply: {file | inline}`: manifests created (or, for existing Deployments, updated) then.
    Apply(Box<Workloads>),
    /// `delete: {kind, name, namespace?, propagationPolicy?}` (kubectl's default Background).
    Delete {
        target: ObjectRef,
        propagation: Propagation,
    },
    /// A fault verb (`crashNodes`, `partition`, `heal`, …; see [`crate::faults`]).
    Fault(Box<crate::faults::Fault>),
    /// `cordon: {node}` / `uncordon: {node}`.
    Cordon {
        node: String,
    },
    Uncordon {
        node: String,
    },
    /// `drain: {node, timeout?}`: cordon, then evict every pod but DaemonSet and mirror pods
    /// through the Eviction API, retrying every 5s while a PodDisruptionBudget refuses
    /// (kubectl drain), giving up after `timeout` (kubectl's default: never).
    Drain {
        node: String,
        timeout: Option<SimDuration>,
    },
}

impl Action {
    /// The timeline verb as a scenario writes it, with what it names: `rollout deployment/web`.
    pub fn describe(&self) -> String {
        let object = |t: &ObjectRef| format!("{}/{}", t.kind.as_str().to_lowercase(), t.name);
        match self {
            Action::AddNodes { count, .. } => format!("addNodes {count}"),
            Action::Rollout { target, .. } => format!("rollout {}", object(target)),
            Action::Scale { target, replicas } => format!("scale {} to {replicas}", object(target)),
            Action::Rollback { target, .. } => format!("rollback {}", object(target)),
            Action::Suspend { target, suspend } => {
                let verb = if *suspend { "suspend" } else { "unsuspend" };
                format!("{verb} {}", object(target))
            }
            Action::Pause { target } => format!("pause {}", object(target)),
            Action::Resume { target } => format!("resume {}", object(target)),
            Action::Apply(_) => "apply".to_owned(),
            Action::Delete { target, .. } => format!("delete {}", object(target)),
            Action::Fault(f) => f.verb.as_str().to_owned(),
            Action::Cordon { node } => format!("cordon {node}"),
            Action::Uncordon { node } => format!("uncordon {node}"),
            Action::Drain { node, .. } => format!("drain {node}"),
        }
    }
}

/// An object a timeline action names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRef {
    pub kind: ObjectKind,
    pub namespace: String,
    pub name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    Deployment,
    ReplicaSet,
    ReplicationController,
    Pod,
    Node,
    PodDisruptionBudget,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Deployment => "Deployment",
            ObjectKind::ReplicaSet => "ReplicaSet",
            ObjectKind::ReplicationController => "ReplicationController",
            ObjectKind::Pod => "Pod",
            ObjectKind::Node => "Node",
            ObjectKind::PodDisruptionBudget => "PodDisruptionBudget",
            ObjectKind::StatefulSet => "StatefulSet",
            ObjectKind::DaemonSet => "DaemonSet",
            ObjectKind::Job => "Job",
            ObjectKind::CronJob => "CronJob",
        }
    }
}

/// `propagationPolicy` of a delete (upstream `metav1.DeletionPropagation`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Propagation {
    #[default]
    Background,
    Foreground,
    Orphan,
}

/// 2024-01-01T00:00:00Z.
pub const DEFAULT_START_UNIX_SECS: i64 = 1_704_067_200;

/// Simulation-only facts about how pods behave (`behaviour:`), until the kubelet issue brings
/// probes and resource usage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Behaviour {
    /// Time from the kubelet seeing its pod to the pod Running and Ready (`podStartup`).
    pub pod_startup: (SimDuration, SimDuration),
    /// Per workload (Deployment, ReplicaSet, ReplicationController or bare Pod name):
    /// overrides.
    pub workloads: BTreeMap<String, WorkloadBehaviour>,
    /// Images whose pull fails (`failingImages: [web:v2-typo]`): such pods stay Pending with
    /// ErrImagePull / ImagePullBackOff and never become Ready.
    pub failing_images: BTreeSet<String>,
    /// Pull times by image (`images`, `imagePullRate`).
    pub images: behaviour::ImagesBehaviour,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            pod_startup: DEFAULT_POD_STARTUP,
            workloads: BTreeMap::new(),
            failing_images: BTreeSet::new(),
            images: behaviour::ImagesBehaviour::default(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkloadBehaviour {
    /// `startup: 5s..20s`.
    pub startup: Option<(SimDuration, SimDuration)>,
    /// `ready: never`: the pods run but never pass readiness.
    pub never_ready: bool,
    /// `runFor: 10m..30m`: the main container exits by itself after this long (batch pods).
    pub run_for: Option<(SimDuration, SimDuration)>,
    /// `exitCode: 1`: the code it exits with (default 0, success).
    pub exit_code: Option<i32>,
    /// `failureProbability: 0.2`: each run fails (exit code 1, or `exitCode` if that is
    /// non-zero) with this probability, in parts per million.
    pub failure_ppm: u32,
    /// `memory`, `ephemeralStorage`, `cpu`: what the containers use over time.
    pub usage: crate::kubelet::usage::ResourceUsage,
    /// Image pulls, probes, preStop hooks, crashes and init containers.
    pub lifecycle: behaviour::LifecycleBehaviour,
    /// How its pods serve requests (`cpuPerRequest`, `concurrency`, `timeout`, `retries`,
    /// `queueLimit`), when any of those is given.
    pub traffic: Option<crate::traffic::ServiceBehaviour>,
}

/// Variants of a scenario run side by side on the same seeds.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub seeds: Vec<u64>,
    pub variants: Vec<Variant>,
}

/// One variant: a name, the scenario values it overrides and the scheduler configuration it
/// runs with.
#[derive(Clone, Debug)]
pub struct Variant {
    pub name: String,
    pub scheduler_config: Option<serde_json::Value>,
    pub scheduler_config_origin: Option<SourceRef>,
    /// `set:`, in the order written.
    pub set: Vec<SetValue>,
    /// The scenario loaded from its document with `set` applied, when `set` is not empty.
    pub scenario: Option<Box<Scenario>>,
}

impl Scenario {
    /// This scenario with `variant`'s values (`set:`) and scheduler configuration (its own when
    /// the variant names none).
    pub fn with_variant(&self, variant: &Variant) -> Scenario {
        let mut s = match &variant.scenario {
            Some(patched) => (**patched).clone(),
            None => self.clone(),
        };
        if variant.scheduler_config.is_some() {
            s.scheduler_config.clone_from(&variant.scheduler_config);
            s.scheduler_config_origin
                .clone_from(&variant.scheduler_config_origin);
        }
        s.compare = None;
        s
    }
}

/// An object that was accepted but is not simulated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoredObject {
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub file: String,
    pub line: usize,
}

impl std::fmt::Display for IgnoredObject {
    /// `Kind/name`, as kubectl names objects.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// Everything a run needs, loaded and validated.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub seed: u64,
    pub duration: SimDuration,
    /// The scenario file's path as given.
    pub file: String,
    pub pools: Vec<NodePool>,
    /// Pool nodes (pool by pool, in index order), then Node manifests in file order.
    pub nodes: Vec<Node>,
    /// Bare Pod manifests; a pod with `spec.nodeName` starts bound to that node.
    pub pods: Vec<Pod>,
    pub replica_sets: Vec<ReplicaSet>,
    pub deployments: Vec<Deployment>,
    /// The wall-clock instant the scenario starts at, in Unix seconds (`startTime:`; a
    /// dump's latest timestamp; else 2024-01-01T00:00:00Z, a Monday). CronJob schedules and
    /// daily traffic read the calendar from it.
    pub start_unix_secs: i64,
    pub stateful_sets: Vec<crate::api::StatefulSet>,
    pub daemon_sets: Vec<crate::api::DaemonSet>,
    pub jobs: Vec<crate::api::Job>,
    pub cron_jobs: Vec<crate::api::CronJob>,
    pub claims: Vec<crate::api::PersistentVolumeClaim>,
    pub volumes: Vec<crate::api::PersistentVolume>,
    /// StorageClasses, the built-in default first unless the scenario turned it off
    /// (`storage: {defaultClass: false}`) or brings its own default.
    pub storage_classes: Vec<crate::api::StorageClass>,
    /// ResourceQuota manifests, with their namespace.
    pub resource_quotas: Vec<(String, ResourceQuota)>,
    /// LimitRange manifests (defaulted as the API server stores them), with their namespace.
    pub limit_ranges: Vec<(String, LimitRange)>,
    /// The KubeSchedulerConfiguration, as JSON, for the scheduler to validate.
    pub scheduler_config: Option<serde_json::Value>,
    /// Where the scheduler configuration came from: `origin.locate(json_path, message)` turns
    /// a scheduler validation error into a located [`Diagnostic`].
    pub scheduler_config_origin: Option<SourceRef>,
    /// Scheduling cycle cost and binding latency (`scheduler: {schedulingCost, bindingLatency}`);
    /// the calibrated model unless the scenario says otherwise.
    pub scheduler_timing: crate::scheduler::cost::SchedulerTiming,
    /// `clusterAutoscaler:` options (upstream defaults when absent).
    pub cluster_autoscaler: crate::autoscaler::AutoscalerOptions,
    /// Pods the workloads ask for at the start (replicas, parallelism, bare pods): what the
    /// store makes room for up front, so its pod records do not grow by doubling.
    pub starting_pods: u64,
    /// Time from bind to Running, drawn uniformly from `[lo, hi]` (also `behaviour.pod_startup`).
    pub pod_startup: (SimDuration, SimDuration),
    /// How pods behave (`behaviour:`).
    pub behaviour: Behaviour,
    /// Control-plane latencies (`controlPlane: {watchLatency, apiLatency}`).
    pub control_plane: crate::apiserver::ControlPlaneTiming,
    /// Replicas of the leader-elected components (`controlPlane: {scheduler: {replicas: 3}}`).
    pub control_plane_replicas: crate::controlplane::ControlPlaneSettings,
    /// `controlPlane.controllerManager.horizontalPodAutoscaler`: the HPA controller's flags.
    pub hpa_settings: crate::controllers::hpa::controller::HpaSettings,
    /// Convergence checks (`expect:`).
    pub expectations: Vec<crate::controlplane::Expectation>,
    pub ignored: Vec<IgnoredObject>,
    pub warnings: Vec<String>,
    /// Scripted changes, sorted by time.
    pub timeline: Vec<TimelineAction>,
    /// Stochastic faults (`faults:`).
    pub stochastic_faults: Vec<crate::faults::StochasticFault>,
    /// Variants for `kubesim compare`, if the scenario declares them.
    pub compare: Option<Comparison>,
    /// The cluster's PriorityClasses (the system ones and the scenario's).
    pub priority_classes: crate::api::PriorityClasses,
    pub pdbs: Vec<crate::api::PodDisruptionBudget>,
    /// Workloads entries with `at:`, created at that time instead of at the start.
    pub delayed_workloads: Vec<Workloads>,
    /// A production trace to replay (nodes are already in `nodes`).
    pub trace: Option<crate::trace::TraceParts>,
    /// Selectors of Services (namespace, name), read by PodTopologySpread's default constraints.
    pub service_selectors: BTreeMap<(String, String), crate::api::Labels>,
    /// Labels of Namespace manifests, for namespaceSelector terms.
    pub namespace_labels: BTreeMap<String, crate::api::Labels>,
    /// Service-level objectives (`slo:`), judged against the traffic model's figures.
    pub slo: Option<crate::slo::SloSpec>,
    /// HorizontalPodAutoscaler manifests.
    pub hpas: Vec<crate::api::autoscaling::HorizontalPodAutoscaler>,
    /// Services, Ingresses and HTTPRoutes that exist from the start.
    pub network: network::NetworkManifests,
    /// The metrics recorder's settings (`metrics:`).
    pub metrics: crate::metrics::MetricsConfig,
    /// Entry rates, call graph and per-service behaviour (`traffic:`).
    pub traffic: Option<crate::traffic::TrafficSpec>,
}

/// Objects gathered from manifests, each with the location of its name (for duplicates).
#[derive(Default)]
pub(crate) struct Collected {
    pub manifest_nodes: Vec<(Node, Diagnostic)>,
    pub pods: Vec<(Pod, Diagnostic)>,
    pub replica_sets: Vec<(ReplicaSet, Diagnostic)>,
    pub deployments: Vec<(Deployment, Diagnostic)>,
    pub ignored: Vec<IgnoredObject>,
    pub warnings: Vec<String>,
    pub priority_classes: Vec<(crate::api::PriorityClass, Diagnostic)>,
    pub pdbs: Vec<(crate::api::PodDisruptionBudget, Diagnostic)>,
    /// Pod specs awaiting priority admission (`priority::admit`).
    pub admission: Vec<priority::AdmissionRef>,
    pub service_selectors: BTreeMap<(String, String), crate::api::Labels>,
    pub namespace_labels: BTreeMap<String, crate::api::Labels>,
    pub network: network::NetworkManifests,
    /// Every problem found so far, in the order found.
    pub errors: Vec<Diagnostic>,
    /// `(kind, namespace, name)` of simulated objects that failed to load: names that refer
    /// to them are not reported again.
    pub failed: BTreeSet<(String, String, String)>,
    /// The latest time (Unix seconds) any loaded object records (see `manifest::TIME_KEYS`).
    pub latest_timestamp: Option<i64>,
    /// Container names of each Deployment's, StatefulSet's and DaemonSet's template, by
    /// (kind, namespace, name).
    pub template_containers: BTreeMap<(&'static str, String, String), ContainerNames>,
    pub stateful_sets: Vec<(crate::api::StatefulSet, Diagnostic)>,
    pub daemon_sets: Vec<(crate::api::DaemonSet, Diagnostic)>,
    pub jobs: Vec<(crate::api::Job, Diagnostic)>,
    pub cron_jobs: Vec<(crate::api::CronJob, Diagnostic)>,
    pub claims: Vec<(crate::api::PersistentVolumeClaim, Diagnostic)>,
    pub volumes: Vec<(crate::api::PersistentVolume, Diagnostic)>,
    pub storage_classes: Vec<(crate::api::StorageClass, Diagnostic)>,
    /// (namespace, quota).
    pub resource_quotas: Vec<((String, ResourceQuota), Diagnostic)>,
    /// (namespace, limit range).
    pub limit_ranges: Vec<((String, LimitRange), Diagnostic)>,
    pub hpas: Vec<(crate::api::autoscaling::HorizontalPodAutoscaler, Diagnostic)>,
}

/// The containers of a pod template, by name.
#[derive(Clone, Debug, Default)]
pub(crate) struct ContainerNames {
    pub app: Vec<String>,
    pub init: Vec<String>,
    /// For each app container, the index of its image in the template pod's
    /// [`Pod::images`] (init containers' images first, containers without an image left out).
    pub image_index: Vec<usize>,
}

impl ContainerNames {
    pub(crate) fn of(spec: Option<&k8s_openapi::api::core::v1::PodSpec>) -> ContainerNames {
        let has_image = |c: &k8s_openapi::api::core::v1::Container| {
            c.image.as_deref().is_some_and(|i| !i.is_empty())
        };
        let init: Vec<&k8s_openapi::api::core::v1::Container> = spec
            .and_then(|s| s.init_containers.as_ref())
            .into_iter()
            .flatten()
            .collect();
        let app: Vec<&k8s_openapi::api::core::v1::Container> = spec
            .map(|s| s.containers.iter().collect())
            .unwrap_or_default();
        let mut next = init.iter().filter(|c| has_image(c)).count();
        let image_index = app
            .iter()
            .map(|c| {
                let i = next;
                if has_image(c) {
                    next += 1;
                }
                i
            })
            .collect();
        ContainerNames {
            app: app.iter().map(|c| c.name.clone()).collect(),
            init: init.iter().map(|c| c.name.clone()).collect(),
            image_index,
        }
    }
}

impl Collected {
    fn into_workloads(self, at: SimDuration) -> Workloads {
        Workloads {
            at,
            pods: self.pods.into_iter().map(|(p, _)| p).collect(),
            replica_sets: self.replica_sets.into_iter().map(|(r, _)| r).collect(),
            deployments: self.deployments.into_iter().map(|(d, _)| d).collect(),
            stateful_sets: self.stateful_sets.into_iter().map(|(x, _)| x).collect(),
            daemon_sets: self.daemon_sets.into_iter().map(|(x, _)| x).collect(),
            jobs: self.jobs.into_iter().map(|(x, _)| x).collect(),
            cron_jobs: self.cron_jobs.into_iter().map(|(x, _)| x).collect(),
            claims: self.claims.into_iter().map(|(x, _)| x).collect(),
            volumes: self.volumes.into_iter().map(|(x, _)| x).collect(),
            pdbs: self.pdbs.into_iter().map(|(p, _)| p).collect(),
            hpas: self.hpas.into_iter().map(|(h, _)| h).collect(),
            network: self.network,
        }
    }
}

/// What a scenario defines, by name: for the names timeline actions and `behaviour:` use.
#[derive(Default)]
pub(crate) struct Known {
    objects: BTreeSet<(&'static str, String, String)>,
    failed: BTreeSet<(String, String, String)>,
    pub template_containers: BTreeMap<(&'static str, String, String), ContainerNames>,
    /// Kind and name of each object accepted but not simulated.
    ignored: Vec<(String, String)>,
    pub nodes: BTreeSet<String>,
}

impl Known {
    fn new<'c>(
        collections: impl Iterator<Item = &'c Collected>,
        nodes: impl Iterator<Item = String>,
    ) -> Known {
        let mut known = Known {
            nodes: nodes.collect(),
            ..Known::default()
        };
        for c in collections {
            let mut add = |kind: ObjectKind, ns: &str, name: &str| {
                known
                    .objects
                    .insert((kind.as_str(), ns.to_string(), name.to_string()));
            };
            for (d, _) in &c.deployments {
                add(ObjectKind::Deployment, &d.namespace, &d.name);
            }
            for (r, _) in &c.replica_sets {
                let kind = match r.kind {
                    OwnerKind::ReplicationController => ObjectKind::ReplicationController,
                    _ => ObjectKind::ReplicaSet,
                };
                add(kind, &r.namespace, &r.name);
            }
            for (p, _) in &c.pods {
                add(ObjectKind::Pod, &p.namespace, &p.name);
            }
            for (p, _) in &c.pdbs {
                add(ObjectKind::PodDisruptionBudget, &p.namespace, &p.name);
            }
            for (x, _) in &c.stateful_sets {
                add(ObjectKind::StatefulSet, &x.namespace, &x.name);
            }
            for (x, _) in &c.daemon_sets {
                add(ObjectKind::DaemonSet, &x.namespace, &x.name);
            }
            for (x, _) in &c.jobs {
                add(ObjectKind::Job, &x.namespace, &x.name);
            }
            for (x, _) in &c.cron_jobs {
                add(ObjectKind::CronJob, &x.namespace, &x.name);
            }
            known.failed.extend(c.failed.iter().cloned());
            known.template_containers.extend(
                c.template_containers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
            known
                .ignored
                .extend(c.ignored.iter().map(|i| (i.kind.clone(), i.name.clone())));
        }
        known
    }

    pub(crate) fn exists(&self, kind: ObjectKind, namespace: &str, name: &str) -> bool {
        self.objects
            .contains(&(kind.as_str(), namespace.to_string(), name.to_string()))
    }

    /// An object of this kind and name failed to load (its problem is reported already).
    pub(crate) fn failed(&self, kind: &str, namespace: &str, name: &str) -> bool {
        self.failed
            .contains(&(kind.to_string(), namespace.to_string(), name.to_string()))
    }

    /// `(name, namespace)` of every object of `kind`.
    pub(crate) fn names(&self, kind: ObjectKind) -> Vec<(String, String)> {
        self.objects
            .iter()
            .filter(|(k, ..)| *k == kind.as_str())
            .map(|(_, ns, name)| (name.clone(), ns.clone()))
            .collect()
    }

    const WORKLOAD_KINDS: [ObjectKind; 8] = [
        ObjectKind::Deployment,
        ObjectKind::ReplicaSet,
        ObjectKind::ReplicationController,
        ObjectKind::Pod,
        ObjectKind::StatefulSet,
        ObjectKind::DaemonSet,
        ObjectKind::Job,
        ObjectKind::CronJob,
    ];

    /// A Deployment, ReplicaSet, ReplicationController, Pod, StatefulSet, DaemonSet, Job or
    /// CronJob of this name, in any namespace.
    pub(crate) fn is_workload(&self, name: &str) -> bool {
        self.objects
            .iter()
            .any(|(k, _, n)| n == name && Self::WORKLOAD_KINDS.iter().any(|w| w.as_str() == *k))
    }

    pub(crate) fn failed_workload(&self, name: &str) -> bool {
        self.failed
            .iter()
            .any(|(k, _, n)| n == name && Self::WORKLOAD_KINDS.iter().any(|w| w.as_str() == k))
    }

    /// The kind of an accepted but not simulated object of this name.
    pub(crate) fn ignored_kind(&self, name: &str) -> Option<&str> {
        self.ignored
            .iter()
            .find(|(_, n)| n == name)
            .map(|(k, _)| k.as_str())
    }

    pub(crate) fn workload_names(&self) -> Vec<String> {
        let names: BTreeSet<&String> = self
            .objects
            .iter()
            .filter(|(k, ..)| Self::WORKLOAD_KINDS.iter().any(|w| w.as_str() == *k))
            .map(|(_, _, n)| n)
            .collect();
        names.into_iter().cloned().collect()
    }
}

/// Names for a message: all of them up to ten, else the first ten and a count; `none` when
/// there are none.
pub(crate) fn list_names(names: &[String]) -> String {
    const SHOWN: usize = 10;
    match names.len() {
        0 => "none".to_string(),
        n if n <= SHOWN => names.join(", "),
        n => format!("{}, … ({} more)", names[..SHOWN].join(", "), n - SHOWN),
    }
}

/// Owners that no manifest defines are dropped, with a warning: upstream's garbage collector
/// would delete such objects, which is never what replaying a partial dump means.
fn check_owners(known: &Known, out: &mut Collected) {
    let mut warn = |at: &Diagnostic, message: String| {
        out.warnings
            .push(format!("{}:{}:{}: {message}", at.file, at.line, at.column));
    };
    for (rs, at) in &mut out.replica_sets {
        let Some(owner) = &rs.owner else { continue };
        let kind = ObjectKind::Deployment;
        if known.exists(kind, &rs.namespace, &owner.name)
            || known.failed(kind.as_str(), &rs.namespace, &owner.name)
        {
            continue;
        }
        warn(
            at,
            format!(
                "{} {}/{} is controlled by Deployment {}, which no manifest defines; it runs without an owner",
                rs.kind.as_str(),
                rs.namespace,
                rs.name,
                owner.name
            ),
        );
        rs.owner = None;
    }
    for (job, at) in &mut out.jobs {
        let Some(owner) = &job.owner else { continue };
        let kind = ObjectKind::CronJob;
        if known.exists(kind, &job.namespace, &owner.name)
            || known.failed(kind.as_str(), &job.namespace, &owner.name)
        {
            continue;
        }
        warn(
            at,
            format!(
                "Job {}/{} is controlled by CronJob {}, which no manifest defines; it runs without an owner",
                job.namespace, job.name, owner.name
            ),
        );
        job.owner = None;
    }
    for (pod, at) in &mut out.pods {
        let Some(owner) = &pod.owner else { continue };
        let kind = match owner.kind {
            OwnerKind::ReplicationController => ObjectKind::ReplicationController,
            OwnerKind::ReplicaSet => ObjectKind::ReplicaSet,
            OwnerKind::Deployment => ObjectKind::Deployment,
            OwnerKind::StatefulSet => ObjectKind::StatefulSet,
            OwnerKind::DaemonSet => ObjectKind::DaemonSet,
            OwnerKind::Job => ObjectKind::Job,
            OwnerKind::CronJob => ObjectKind::CronJob,
        };
        if known.exists(kind, &pod.namespace, &owner.name)
            || known.failed(kind.as_str(), &pod.namespace, &owner.name)
        {
            continue;
        }
        warn(
            at,
            format!(
                "pod {} is controlled by {} {}, which no manifest defines; it runs as a bare pod",
                pod.key(),
                kind.as_str(),
                owner.name
            ),
        );
        pod.owner = None;
    }
}

/// The pods the loaded workloads ask for at the start: bare pods, and the replicas of every
/// Deployment, StatefulSet, ReplicaSet no Deployment owns, and Job (its parallelism).
fn starting_pods(out: &Collected) -> u64 {
    let replicas = |n: i32| u64::try_from(n).unwrap_or(0);
    let bare = out.pods.iter().filter(|(p, _)| p.owner.is_none()).count() as u64;
    let deployments: u64 = out
        .deployments
        .iter()
        .map(|(d, _)| replicas(d.replicas))
        .sum();
    let sets: u64 = out
        .replica_sets
        .iter()
        .filter(|(rs, _)| rs.owner.is_none())
        .map(|(rs, _)| replicas(rs.replicas))
        .sum();
    let stateful: u64 = out
        .stateful_sets
        .iter()
        .map(|(s, _)| replicas(s.replicas))
        .sum();
    let jobs: u64 = out.jobs.iter().map(|(j, _)| replicas(j.parallelism)).sum();
    bare.saturating_add(deployments)
        .saturating_add(sets)
        .saturating_add(stateful)
        .saturating_add(jobs)
}

/// Problems file by file (in the order the files were first found to have one), each file's
/// top to bottom.
fn reading_order(mut errors: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut files: Vec<String> = Vec::new();
    for e in &errors {
        if !files.contains(&e.file) {
            files.push(e.file.clone());
        }
    }
    errors.sort_by_key(|e| (files.iter().position(|f| *f == e.file), e.line, e.column));
    errors
}

/// Makes the times of dumped pods relative to `reference`, the dump's moment (the scenario's
/// start), so that they are 0 or negative.
fn rebase_dumped(pods: &mut [(Pod, Diagnostic)], reference: Option<i64>) {
    let Some(reference) = reference else { return };
    for (pod, _) in pods {
        if let Some(d) = pod.dumped.as_deref_mut() {
            for t in [&mut d.start_time_offset_secs, &mut d.creation_offset_secs] {
                *t = t.map(|secs| secs.saturating_sub(reference));
            }
        }
    }
}

/// Loads and validates the scenario at `path`; files it names are relative to its folder.
pub fn load(path: &Path) -> Result<Scenario, Diagnostic> {
    let label = path.display().to_string();
    let bytes = read_input(path, InputKind::Yaml)
        .map_err(|why| Diagnostic::new(&label, 1, 1, format!("cannot read {label}: {why}")))?;
    let text = decode(&label, bytes)?;
    let base_dir = path.parent().unwrap_or(Path::new(""));
    load_str(&label, &text, base_dir)
}

/// Loads a scenario from text; `file_label` names it in diagnostics and files it names are
/// relative to `base_dir`.
pub fn load_str(file_label: &str, text: &str, base_dir: &Path) -> Result<Scenario, Diagnostic> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut docs = parse_documents(file_label, text)?.into_iter();
    let Some(doc) = docs.next() else {
        return Err(Diagnostic::new(
            file_label,
            1,
            1,
            "the scenario file is empty (it needs at least `name:` and a cluster)",
        ));
    };
    if let Some(extra) = docs.next() {
        return Err(extra.source.here(
            "a scenario file holds one YAML document; put Kubernetes manifests in files listed under `workloads:`",
        ));
    }
    // A variant's `set:` patches the document as written, so it is kept for them.
    let document = variant::has_set(&doc.value).then(|| doc.value.clone());
    let mut scenario = Loader {
        base_dir: base_dir.to_path_buf(),
        out: Collected::default(),
    }
    .scenario(file_label, doc)?;
    if let (Some(document), Some(comparison)) = (document, scenario.compare.as_mut()) {
        for v in comparison.variants.iter_mut().filter(|v| !v.set.is_empty()) {
            let patched = variant::patched(file_label, &document, v)?;
            let loaded = Loader {
                base_dir: base_dir.to_path_buf(),
                out: Collected::default(),
            }
            .scenario(file_label, patched)
            .map_err(|d| variant::in_variant(&v.name, d))?;
            v.scenario = Some(Box::new(loaded));
        }
    }
    Ok(scenario)
}

/// "cannot read x: reason", naming the resolved path too when it differs from what the
/// scenario says, so that a wrong base folder is easy to spot.
fn cannot_read(written: &str, resolved: &Path, why: &str) -> String {
    let shown = resolved.display().to_string();
    if shown == written {
        format!("cannot read {written}: {why}")
    } else {
        format!("cannot read {written}: {why} (looked for {shown})")
    }
}

struct Loader {
    base_dir: PathBuf,
    out: Collected,
}

fn key(k: &str) -> Seg {
    Seg::key(k)
}

impl Loader {
    fn scenario(mut self, file_label: &str, doc: Document) -> Result<Scenario, Diagnostic> {
        let src = doc.source;
        let Value::Mapping(map) = &doc.value else {
            return Err(
                src.here("a scenario must be a mapping with at least `name:` and `cluster:`")
            );
        };
        if let Some(kind) = map.get("kind").and_then(Value::as_str)
            && map.contains_key("apiVersion")
        {
            return Err(src.at(
                &[key("kind")],
                At::Value,
                format!("this is a Kubernetes manifest ({kind}), not a kubesim scenario: list it under `workloads:` in a scenario file"),
            ));
        }
        // The scenario's own structure is read in one go: a problem here stops the loading.
        // Everything below reports every problem it finds (`self.out.errors`).
        let file: ScenarioFile = serde_path_to_error::deserialize(doc.value).map_err(|err| {
            let segs = segs_from_path(err.path());
            let (message, unknown) =
                describe_serde_error(&path_string(&segs), &err.inner().to_string());
            src.at(
                &segs,
                if unknown.is_some() {
                    At::Key
                } else {
                    At::Value
                },
                message,
            )
        })?;

        let mut pools = Vec::new();
        let mut failed_pools = BTreeSet::new();
        let mut nodes: Vec<(Node, Diagnostic)> = Vec::new();
        let cluster = file.cluster.as_ref();
        for (i, section) in cluster
            .and_then(|c| c.node_pools.as_ref())
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = [key("cluster"), key("nodePools"), Seg::Index(i)];
            let pool = match self.pool(&src, section, &at) {
                Ok(pool) => pool,
                Err(d) => {
                    self.out.errors.push(d);
                    failed_pools.insert(section.name.clone());
                    continue;
                }
            };
            let name_path: Vec<Seg> = at.iter().cloned().chain([key("name")]).collect();
            let name_at = src.at(&name_path, At::Value, String::new());
            if pools.iter().any(|p: &NodePool| p.name == pool.name) {
                self.out.errors.push(Diagnostic {
                    message: format!("duplicate node pool name \"{}\"", pool.name),
                    ..name_at
                });
                continue;
            }
            for index in 0..pool.count as usize {
                nodes.push((pool.node(index), name_at.clone()));
            }
            pools.push(pool);
        }
        for (i, item) in cluster
            .and_then(|c| c.nodes.as_ref())
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = [key("cluster"), key("nodes"), Seg::Index(i)];
            if let Err(d) = self.manifests(&src, item, &at) {
                self.out.errors.push(d);
            }
        }
        let mut arrivals = Vec::new();
        let mut trace: Option<crate::trace::TraceParts> = None;
        for (i, item) in file.workloads.iter().flatten().enumerate() {
            let at = [key("workloads"), Seg::Index(i)];
            if let Some(spec) = item.get("trace") {
                match self.trace(&src, item, spec, &at, trace.is_some(), file_label) {
                    Ok(mut parts) => {
                        let spec_at: Vec<Seg> = at.iter().cloned().chain([key("trace")]).collect();
                        let name_at = src.at(&spec_at, At::Key, String::new());
                        for node in &mut parts.nodes {
                            // Trace nodes form their own pool in reports.
                            node.pool.get_or_insert_with(|| "trace".to_string());
                            nodes.push((node.clone(), name_at.clone()));
                        }
                        trace = Some(parts);
                    }
                    Err(d) => self.out.errors.push(d),
                }
                continue;
            }
            // `at:` delays an entry's objects (see `priority::split_arrival`).
            let (item, arrival) = match priority::split_arrival(&src, item, &at) {
                Ok(split) => split,
                Err(d) => {
                    self.out.errors.push(d);
                    continue;
                }
            };
            let before = self.out.counts();
            if let Err(d) = self.manifests(&src, &item, &at) {
                self.out.errors.push(d);
            }
            if let Some(t) = arrival {
                arrivals.push((t, before, self.out.counts()));
            }
        }
        let cluster_autoscaler = autoscaler::options(
            &src,
            file.cluster_autoscaler.as_ref(),
            &pools,
            &mut self.out.warnings,
            &mut self.out.errors,
        );
        let metrics = metrics::metrics(&src, file.metrics.as_ref(), &mut self.out.errors);
        let (scheduler_timing, scheduler_section) =
            scheduler_timing::scheduler_timing(&src, file.scheduler.as_ref(), &mut self.out.errors);
        let (scheduler_config, scheduler_config_origin) = match &scheduler_section {
            Some(Value::Null) | None => (None, None),
            Some(section) => match self.scheduler(&src, section, &[key("scheduler")]) {
                Ok((config, origin)) => (Some(config), Some(origin)),
                Err(d) => {
                    self.out.errors.push(d);
                    (None, None)
                }
            },
        };

        let seed = file.seed.as_ref().map_or(1, |s| s.0);
        let start_time = match file.start_time.as_deref() {
            None => None,
            Some(text) => match text.trim().parse::<k8s_openapi::jiff::Timestamp>() {
                Ok(t) => Some(t.as_second()),
                Err(e) => {
                    self.out.errors.push(src.at(
                        &[key("startTime")],
                        At::Value,
                        format!(
                            "startTime: \"{text}\" is not an RFC 3339 time such as 2025-11-28T00:00:00Z ({e})"
                        ),
                    ));
                    None
                }
            },
        };
        let default_class = file
            .storage
            .as_ref()
            .and_then(|s| s.default_class)
            .unwrap_or(true);
        let compare = match &file.compare {
            None => None,
            Some(c) => match self.comparison(&src, c, seed) {
                Ok(c) => Some(c),
                Err(d) => {
                    self.out.errors.push(d);
                    None
                }
            },
        };

        let priority_classes = priority::admit(&mut self.out);

        // Objects the timeline applies are read before the rest of the timeline, whose
        // actions may name them.
        let mut entry_errors = Vec::new();
        let entries = timeline::entries(&src, &file.timeline, &mut entry_errors);
        self.out.errors.append(&mut entry_errors);
        let mut applied: BTreeMap<usize, Collected> = BTreeMap::new();
        for e in entries.iter().filter(|e| e.verb == "apply") {
            let got = self.apply(&src, e, &priority_classes);
            applied.insert(e.index, got);
        }

        let mut out = self.out;
        nodes.append(&mut out.manifest_nodes);
        let mut errors = std::mem::take(&mut out.errors);
        check_unique(&nodes, "node", |n| n.name.clone(), &mut errors);
        check_collected_unique(&out, &mut errors);
        if nodes.len() as u64 > MAX_CLUSTER_NODES {
            errors.push(src.at(
                &[key("cluster")],
                At::Key,
                format!(
                    "the cluster starts with {} nodes, more than kubesim's limit of {MAX_CLUSTER_NODES} nodes in all: lower the pools' counts",
                    nodes.len()
                ),
            ));
        }
        let asked = starting_pods(&out);
        if asked > MAX_CLUSTER_PODS {
            errors.push(src.at(
                &[key("workloads")],
                At::Key,
                format!(
                    "the workloads ask for {asked} pods at the start, more than kubesim's limit of {MAX_CLUSTER_PODS} pods in all: lower their replicas"
                ),
            ));
        }
        if nodes.is_empty() {
            if pools.is_empty() && failed_pools.is_empty() && errors.is_empty() {
                errors.push(src.at(
                    &[key("cluster")],
                    At::Key,
                    "the cluster has no nodes: add cluster.nodePools, or Node manifests under cluster.nodes or workloads",
                ));
            } else if !pools.is_empty() {
                out.warnings.push(format!(
                    "{file_label}: every node pool has count 0, so the cluster starts with no nodes"
                ));
            }
        }
        let node_names: BTreeSet<&str> = nodes.iter().map(|(n, _)| n.name.as_str()).collect();
        for (pod, at) in &out.pods {
            if let Some(node) = &pod.node_name
                && !node_names.contains(node.as_str())
            {
                out.warnings.push(format!(
                    "{}:{}:{}: pod {} is bound to node {node}, which does not exist; it will stay Pending",
                    at.file,
                    at.line,
                    at.column,
                    pod.key()
                ));
            }
        }

        let known = Known::new(
            std::iter::once(&out).chain(applied.values()),
            nodes.iter().map(|(n, _)| n.name.clone()),
        );
        // A dump's moment is the latest time any object records: the scenario's start.
        let reference = std::iter::once(&out)
            .chain(applied.values())
            .filter_map(|c| c.latest_timestamp)
            .max();
        check_owners(&known, &mut out);
        rebase_dumped(&mut out.pods, reference);
        for c in applied.values_mut() {
            check_owners(&known, c);
            rebase_dumped(&mut c.pods, reference);
            out.warnings.append(&mut c.warnings);
        }

        let behaviour = behaviour::behaviour(
            &src,
            file.behaviour.as_ref(),
            &known,
            &mut out.warnings,
            &mut errors,
        );
        let control_plane::ControlPlaneSection {
            replicas: control_plane_replicas,
            hpa: hpa_settings,
            rest: timing,
        } = control_plane::control_plane(&src, file.control_plane.as_ref(), &mut errors);
        let control_plane = behaviour::control_plane(&src, timing.as_ref()).unwrap_or_else(|d| {
            errors.push(d);
            crate::apiserver::ControlPlaneTiming::default()
        });

        // A trace runs to its end unless the scenario says otherwise.
        let duration = file.duration.as_ref().map_or_else(
            || {
                trace.as_ref().map_or(SimDuration::from_hours(1), |t| {
                    t.sampling.until.since(SimTime::ZERO)
                })
            },
            |d| d.0,
        );
        for e in entries.iter().filter(|e| e.at > duration) {
            let at = src.at(
                &[key("timeline"), Seg::Index(e.index), key("at")],
                At::Value,
                String::new(),
            );
            out.warnings.push(format!(
                "{}:{}:{}: this {} happens at {}, after the run ends ({duration}), so it never runs",
                at.file, at.line, at.column, e.verb, e.at
            ));
        }
        let expectations = control_plane::expectations(
            &src,
            file.expect.as_ref(),
            duration,
            &mut out.warnings,
            &mut errors,
        );
        let slo = slo::slo(&src, file.slo.as_ref(), &mut errors);
        let mut timeline = Vec::with_capacity(entries.len());
        let mut resolver =
            timeline::Resolver::new(&src, &pools, &failed_pools, &known, &mut out.warnings);
        for e in &entries {
            if e.verb == "apply" {
                let c = applied.remove(&e.index).unwrap_or_default();
                timeline.push(TimelineAction {
                    at: e.at,
                    action: Action::Apply(Box::new(c.into_workloads(e.at))),
                });
                continue;
            }
            match resolver.action(e) {
                Ok(Some(action)) => timeline.push(TimelineAction { at: e.at, action }),
                Ok(None) => {}
                Err(d) => errors.push(d),
            }
        }
        let stochastic_faults = faults::stochastic(&mut resolver, &file.faults, &mut errors);
        let traffic = {
            let services: BTreeSet<String> = out
                .service_selectors
                .keys()
                .map(|(_, n)| n.clone())
                .chain(known.workload_names())
                .collect();
            let serving: BTreeMap<String, crate::traffic::ServiceBehaviour> = behaviour
                .workloads
                .iter()
                .filter_map(|(n, w)| w.traffic.clone().map(|t| (n.clone(), t)))
                .collect();
            traffic::traffic(
                &src,
                file.traffic.as_ref(),
                &services,
                &serving,
                start_time.or(reference).unwrap_or(DEFAULT_START_UNIX_SECS),
                &self.base_dir,
                &mut errors,
            )
        };
        resolver.check_nodes(&mut errors);
        // Same-time actions keep their file order: the engine runs same-time events FIFO.
        timeline.sort_by_key(|a| a.at);

        if let Some(all) = Diagnostic::combine(reading_order(errors)) {
            return Err(all);
        }

        out.network.check_backends(&mut out.warnings);
        let delayed_workloads = priority::take_delayed(&mut out, &arrivals);
        let pdbs = out.pdbs.into_iter().map(|(p, _)| p).collect();
        let start_unix_secs = start_time.or(reference).unwrap_or(DEFAULT_START_UNIX_SECS);
        let mut storage_classes: Vec<crate::api::StorageClass> =
            out.storage_classes.into_iter().map(|(c, _)| c).collect();
        // A manifest's default class replaces the built-in one.
        if default_class && !storage_classes.iter().any(|c| c.is_default) {
            storage_classes.insert(0, crate::api::StorageClass::default_class());
        }
        let pod_startup = behaviour.pod_startup;
        Ok(Scenario {
            starting_pods: asked,
            name: file.name,
            seed,
            duration,
            file: file_label.to_string(),
            pools,
            nodes: nodes.into_iter().map(|(n, _)| n).collect(),
            pods: out.pods.into_iter().map(|(p, _)| p).collect(),
            replica_sets: out.replica_sets.into_iter().map(|(r, _)| r).collect(),
            deployments: out.deployments.into_iter().map(|(d, _)| d).collect(),
            start_unix_secs,
            stateful_sets: out.stateful_sets.into_iter().map(|(x, _)| x).collect(),
            daemon_sets: out.daemon_sets.into_iter().map(|(x, _)| x).collect(),
            jobs: out.jobs.into_iter().map(|(x, _)| x).collect(),
            cron_jobs: out.cron_jobs.into_iter().map(|(x, _)| x).collect(),
            claims: out.claims.into_iter().map(|(x, _)| x).collect(),
            volumes: out.volumes.into_iter().map(|(x, _)| x).collect(),
            hpas: out.hpas.into_iter().map(|(x, _)| x).collect(),
            storage_classes,
            resource_quotas: out.resource_quotas.into_iter().map(|(x, _)| x).collect(),
            limit_ranges: out.limit_ranges.into_iter().map(|(x, _)| x).collect(),
            scheduler_config,
            scheduler_config_origin,
            scheduler_timing,
            cluster_autoscaler,
            pod_startup,
            behaviour,
            control_plane,
            control_plane_replicas,
            hpa_settings,
            expectations,
            timeline,
            stochastic_faults,
            compare,
            trace,
            service_selectors: std::mem::take(&mut out.service_selectors),
            namespace_labels: std::mem::take(&mut out.namespace_labels),
            network: std::mem::take(&mut out.network),
            traffic,
            ignored: out.ignored,
            warnings: out.warnings,
            priority_classes,
            pdbs,
            delayed_workloads,
            slo,
            metrics,
        })
    }

    /// A `workloads` entry `{trace: …}`.
    fn trace(
        &self,
        src: &SourceRef,
        item: &Value,
        spec: &Value,
        at: &[Seg],
        have_one: bool,
        file_label: &str,
    ) -> Result<crate::trace::TraceParts, Diagnostic> {
        let spec_at: Vec<Seg> = at.iter().cloned().chain([key("trace")]).collect();
        if have_one {
            return Err(src.at(&spec_at, At::Key, "a scenario replays at most one trace"));
        }
        if let Value::Mapping(m) = item
            && let Some(other) = m.keys().filter_map(|k| k.as_str()).find(|k| *k != "trace")
        {
            let path: Vec<Seg> = at.iter().cloned().chain([key(other)]).collect();
            return Err(src.at(
                &path,
                At::Key,
                format!("unknown field \"{other}\" next to `trace:`"),
            ));
        }
        let spec: crate::trace::TraceWorkload = format::section(src, spec, &spec_at)?;
        if let Some(percent) = spec.typical_pod_threshold.filter(|p| *p > 100) {
            let path: Vec<Seg> = spec_at
                .iter()
                .cloned()
                .chain([key("typicalPodThreshold")])
                .collect();
            return Err(src.at(
                &path,
                At::Value,
                format!("typicalPodThreshold is a percentage from 0 to 100, got {percent}"),
            ));
        }
        crate::trace::trace_scenario_parts(&spec, &self.base_dir, file_label)
    }

    /// The objects of a timeline `apply`, admitted against the scenario's PriorityClasses.
    /// Problems go to `self.out.errors`, ignored objects to `self.out.ignored`; warnings stay
    /// with the returned objects until their owners are checked.
    fn apply(
        &mut self,
        src: &SourceRef,
        e: &timeline::Entry<'_>,
        classes: &crate::api::PriorityClasses,
    ) -> Collected {
        let saved = std::mem::take(&mut self.out);
        let result = self.manifests(src, e.body, &e.path());
        let mut got = std::mem::replace(&mut self.out, saved);
        if let Err(d) = result {
            got.errors.push(d);
        }
        priority::admit_with(classes, &mut got);
        for (node, at) in std::mem::take(&mut got.manifest_nodes) {
            got.errors.push(Diagnostic {
                message: format!(
                    "Node {}: the timeline cannot apply Node manifests; add nodes with `addNodes` or list them under cluster.nodes",
                    node.name
                ),
                ..at
            });
        }
        for (class, at) in std::mem::take(&mut got.priority_classes) {
            got.errors.push(Diagnostic {
                message: format!(
                    "PriorityClass {}: PriorityClasses must exist from the start: list them under workloads",
                    class.name
                ),
                ..at
            });
        }
        let start_only: Vec<(String, Diagnostic)> = std::mem::take(&mut got.storage_classes)
            .into_iter()
            .map(|(c, at)| (format!("StorageClass {}", c.name), at))
            .chain(
                std::mem::take(&mut got.resource_quotas)
                    .into_iter()
                    .map(|((_, q), at)| (format!("ResourceQuota {}", q.name), at)),
            )
            .chain(
                std::mem::take(&mut got.limit_ranges)
                    .into_iter()
                    .map(|((_, l), at)| (format!("LimitRange {}", l.name), at)),
            )
            .collect();
        for (what, at) in start_only {
            got.errors.push(Diagnostic {
                message: format!(
                    "{what}: StorageClasses, ResourceQuotas and LimitRanges must exist from the start: list them under workloads"
                ),
                ..at
            });
        }
        let mut errors = std::mem::take(&mut got.errors);
        check_collected_unique(&got, &mut errors);
        self.out.errors.append(&mut errors);
        self.out.ignored.append(&mut got.ignored);
        self.out.failed.append(&mut got.failed);
        self.out
            .service_selectors
            .append(&mut got.service_selectors);
        self.out.namespace_labels.append(&mut got.namespace_labels);
        got
    }

    fn pool(
        &mut self,
        src: &SourceRef,
        s: &NodePoolSection,
        at: &[Seg],
    ) -> Result<NodePool, Diagnostic> {
        let field = |name: &str| -> Vec<Seg> { at.iter().cloned().chain([key(name)]).collect() };
        let err = |path: Vec<Seg>, message: String| {
            src.at(
                &path,
                At::Value,
                format!("{}: {message}", path_string(&path)),
            )
        };
        if s.name.is_empty() {
            return Err(err(field("name"), "a node pool needs a name".to_string()));
        }
        if !(0..=MAX_POOL_NODES).contains(&s.count) {
            return Err(err(
                field("count"),
                format!("must be between 0 and {MAX_POOL_NODES}, got {}", s.count),
            ));
        }
        let mut allocatable = ResourceList {
            pods: DEFAULT_MAX_PODS,
            ..ResourceList::default()
        };
        for (name, q) in &s.resources {
            let path: Vec<Seg> = field("resources").into_iter().chain([key(name)]).collect();
            let rn = convert::resource_name(name, Scope::NodePool)
                .map_err(|m| src.at(&path, At::Key, format!("{}: {m}", path_string(&path))))?;
            let parsed =
                crate::api::Quantity::parse(&q.0).map_err(|e| err(path.clone(), e.to_string()))?;
            if parsed.is_negative() {
                return Err(err(
                    path,
                    format!("must be greater than or equal to 0, got \"{}\"", q.0),
                ));
            }
            allocatable.set(&rn, rn.amount(&parsed));
        }
        if !s
            .resources
            .contains_key(ResourceName::EphemeralStorage.as_str())
        {
            allocatable.ephemeral_storage = DEFAULT_POOL_EPHEMERAL_STORAGE;
        }
        if s.region.as_deref() == Some("") {
            return Err(err(
                field("region"),
                "a region name may not be empty".to_string(),
            ));
        }
        for required in [ResourceName::Cpu, ResourceName::Memory] {
            if !s.resources.contains_key(required.as_str()) {
                return Err(err(
                    field("resources"),
                    format!("a node pool must declare {required}"),
                ));
            }
        }
        if let Some(cost) = s.cost_per_hour
            && !(cost.is_finite() && cost >= 0.0)
        {
            return Err(err(
                field("costPerHour"),
                format!("must be a non-negative number, got {cost}"),
            ));
        }
        if let Some(i) = s.zones.iter().position(String::is_empty) {
            return Err(err(
                field("zones").into_iter().chain([Seg::Index(i)]).collect(),
                "a zone name may not be empty".to_string(),
            ));
        }
        let mut warnings = Vec::new();
        let ctx = Ctx {
            src,
            warnings: &mut warnings,
        };
        let mut taints = Vec::new();
        for (i, t) in s.taints.iter().enumerate() {
            let path: Vec<Seg> = field("taints").into_iter().chain([Seg::Index(i)]).collect();
            taints.push(convert::taint(&ctx, &t.key, &t.value, &t.effect, &path)?);
        }
        Ok(NodePool {
            name: s.name.clone(),
            count: u32::try_from(s.count).unwrap_or(0),
            zones: s.zones.clone(),
            instance_type: s.instance_type.clone(),
            region: s.region.clone(),
            cost_per_hour: s.cost_per_hour,
            labels: Labels::from(s.labels.clone()),
            taints,
            allocatable,
            autoscaling: match &s.autoscaling {
                Some(v) => Some(autoscaler::node_group(
                    src,
                    v,
                    &field("autoscaling"),
                    s.count,
                )?),
                None => None,
            },
            spot: s.spot.unwrap_or(false),
        })
    }

    /// Resolves a path written in the scenario. Diagnostics name the resolved path, which is
    /// valid from where kubesim was started.
    fn resolve(&self, written: &str) -> PathBuf {
        self.base_dir.join(written)
    }

    /// A `{file: path}` or `{inline: object}` entry of `workloads` or `cluster.nodes`.
    fn manifests(&mut self, src: &SourceRef, item: &Value, at: &[Seg]) -> Result<(), Diagnostic> {
        let Value::Mapping(map) = item else {
            return Err(src.at(
                at,
                At::Value,
                "expected {file: path} or {inline: <Kubernetes object>}",
            ));
        };
        if map.contains_key("apiVersion") || map.contains_key("kind") {
            return Err(src.at(
                at,
                At::Value,
                "a Kubernetes object here must go under `inline:` (or into a file listed with `file:`)",
            ));
        }
        for k in map.keys() {
            let name = k.as_str().unwrap_or("?");
            if name != "file" && name != "inline" {
                let path: Vec<Seg> = at.iter().cloned().chain([key(name)]).collect();
                return Err(src.at(
                    &path,
                    At::Key,
                    format!(
                        "unknown field \"{name}\", expected file or inline{}",
                        diagnostic::did_you_mean(name, ["file", "inline"])
                    ),
                ));
            }
        }
        match (map.get("file"), map.get("inline")) {
            (Some(_), Some(_)) => {
                Err(src.at(at, At::Value, "use either `file` or `inline`, not both"))
            }
            (None, None) => Err(src.at(
                at,
                At::Value,
                "expected {file: path} or {inline: <Kubernetes object>}",
            )),
            (None, Some(inline)) => {
                let path: Vec<Seg> = at.iter().cloned().chain([key("inline")]).collect();
                manifest::load_object(inline.clone(), &src.child(&path), &mut self.out);
                Ok(())
            }
            (Some(file), None) => {
                let path: Vec<Seg> = at.iter().cloned().chain([key("file")]).collect();
                let Some(written) = file.as_str() else {
                    return Err(src.at(&path, At::Value, "file must be a path (a string)"));
                };
                self.load_manifest_files(src, &path, written)
            }
        }
    }

    /// Loads a manifest file, or every `.yaml`/`.yml`/`.json` file of a folder in name order.
    ///
    /// Each document is converted as soon as it is parsed and then dropped, so a manifest of
    /// many objects costs the memory of the objects plus one document's values and positions,
    /// not of every document's at once.
    fn load_manifest_files(
        &mut self,
        src: &SourceRef,
        at: &[Seg],
        written: &str,
    ) -> Result<(), Diagnostic> {
        let resolved = self.resolve(written);
        let cannot = |p: &Path, why: &str| src.at(at, At::Value, cannot_read(written, p, why));
        let io = |e: std::io::Error| input::io_message(&e);
        let mut files = Vec::new();
        if resolved.is_dir() {
            let entries = std::fs::read_dir(&resolved).map_err(|e| cannot(&resolved, &io(e)))?;
            for entry in entries {
                let path = entry.map_err(|e| cannot(&resolved, &io(e)))?.path();
                let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
                if path.is_file() && matches!(ext, "yaml" | "yml" | "json") {
                    files.push(path);
                }
            }
            files.sort();
            input::check_folder_total(&files).map_err(|why| cannot(&resolved, &why))?;
        } else {
            files.push(resolved);
        }
        // A file that cannot be read or parsed is one problem and loads nothing; the other
        // files still load. Every file is checked before any is converted, so that problems
        // come in the same order as when each file was parsed whole first.
        let mut texts = Vec::new();
        for path in files {
            let label = path.display().to_string();
            let text = read_input(&path, InputKind::Yaml)
                .map_err(|why| cannot(&path, &why))
                .and_then(|bytes| decode(&label, bytes))
                .and_then(|text| source::check_documents(&label, &text).map(|()| text));
            match text {
                Ok(text) => texts.push((label, text)),
                Err(e) => self.out.errors.push(e),
            }
        }
        for (label, text) in texts {
            // Checked above: every document parses.
            for doc in source::documents(&label, &text)?.flatten() {
                manifest::load_object(doc.value, &doc.source, &mut self.out);
            }
        }
        Ok(())
    }

    /// The `scheduler:` section: `{file: path}` or `{config: <KubeSchedulerConfiguration>}`.
    fn comparison(
        &self,
        src: &SourceRef,
        c: &CompareSection,
        seed: u64,
    ) -> Result<Comparison, Diagnostic> {
        let at = [key("compare")];
        let seeds_at = [key("compare"), key("seeds")];
        let seeds = match &c.seeds {
            None => (0..5).map(|i| seed.wrapping_add(i)).collect(),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(count @ 1..=1000) => (0..count).map(|i| seed.wrapping_add(i)).collect(),
                _ => {
                    return Err(src.at(
                        &seeds_at,
                        At::Value,
                        "seeds must be a count from 1 to 1000 or a list of seeds",
                    ));
                }
            },
            Some(Value::Sequence(list)) if list.len() > 1000 => {
                return Err(src.at(
                    &seeds_at,
                    At::Value,
                    format!(
                        "{} seeds listed: a comparison runs on 1 to 1000 seeds",
                        list.len()
                    ),
                ));
            }
            Some(Value::Sequence(list)) if !list.is_empty() => {
                let mut seeds = Vec::with_capacity(list.len());
                for (i, v) in list.iter().enumerate() {
                    let Some(s) = v.as_u64() else {
                        let mut p = seeds_at.to_vec();
                        p.push(Seg::Index(i));
                        return Err(src.at(&p, At::Value, "a seed is a non-negative whole number"));
                    };
                    seeds.push(s);
                }
                seeds
            }
            Some(_) => {
                return Err(src.at(
                    &seeds_at,
                    At::Value,
                    "seeds must be a count from 1 to 1000 or a list of seeds",
                ));
            }
        };
        if c.variants.len() < 2 {
            return Err(src.at(
                &at,
                At::Key,
                "compare needs at least two variants to compare",
            ));
        }
        let mut variants: Vec<Variant> = Vec::with_capacity(c.variants.len());
        for (i, v) in c.variants.iter().enumerate() {
            let vat = [key("compare"), key("variants"), Seg::Index(i)];
            if variants.iter().any(|x| x.name == v.name) {
                let mut p = vat.to_vec();
                p.push(key("name"));
                return Err(src.at(
                    &p,
                    At::Value,
                    format!("duplicate variant name \"{}\"", v.name),
                ));
            }
            let (config, origin) = match &v.scheduler {
                None | Some(Value::Null) => (None, None),
                Some(section) => {
                    let mut p = vat.to_vec();
                    p.push(key("scheduler"));
                    let (config, origin) = self.scheduler(src, section, &p)?;
                    (Some(config), Some(origin))
                }
            };
            let set = match &v.set {
                None | Some(Value::Null) => Vec::new(),
                Some(section) => {
                    let mut p = vat.to_vec();
                    p.push(key("set"));
                    variant::set_values(src, section, &p)?
                }
            };
            variants.push(Variant {
                name: v.name.clone(),
                scheduler_config: config,
                scheduler_config_origin: origin,
                set,
                scenario: None,
            });
        }
        Ok(Comparison { seeds, variants })
    }

    fn scheduler(
        &self,
        src: &SourceRef,
        section: &Value,
        at: &[Seg],
    ) -> Result<(serde_json::Value, SourceRef), Diagnostic> {
        let under = |name: &str| -> Vec<Seg> { at.iter().cloned().chain([key(name)]).collect() };
        let Value::Mapping(map) = section else {
            return Err(src.at(
                at,
                At::Value,
                "expected {file: path} or {config: <KubeSchedulerConfiguration>}",
            ));
        };
        // The top-level section also takes the timing keys (read before this).
        let known: &[&str] = if at.len() == 1 {
            &[
                "file",
                "config",
                scheduler_timing::SCHEDULING_COST,
                scheduler_timing::BINDING_LATENCY,
            ]
        } else {
            &["file", "config"]
        };
        for k in map.keys() {
            let name = k.as_str().unwrap_or("?");
            if name != "file" && name != "config" {
                let expected = match known {
                    [a, b] => format!("{a} or {b}"),
                    _ => format!("one of {}", known.join(", ")),
                };
                return Err(src.at(
                    &under(name),
                    At::Key,
                    format!(
                        "unknown field \"{name}\", expected {expected}{}",
                        diagnostic::did_you_mean(name, known.iter().copied())
                    ),
                ));
            }
        }
        let (value, origin, strict) = match (map.get("file"), map.get("config")) {
            (Some(_), Some(_)) => {
                return Err(src.at(at, At::Value, "use either `file` or `config`, not both"));
            }
            (None, None) => {
                return Err(src.at(
                    at,
                    At::Value,
                    "expected {file: path} or {config: <KubeSchedulerConfiguration>}",
                ));
            }
            (None, Some(config)) => (config.clone(), src.child(&under("config")), false),
            (Some(file), None) => {
                let path = under("file");
                let Some(written) = file.as_str() else {
                    return Err(src.at(&path, At::Value, "file must be a path (a string)"));
                };
                let resolved = self.resolve(written);
                let bytes = read_input(&resolved, InputKind::Yaml).map_err(|why| {
                    src.at(&path, At::Value, cannot_read(written, &resolved, &why))
                })?;
                let label = resolved.display().to_string();
                let text = decode(&label, bytes)?;
                let mut docs = parse_documents(&label, &text)?.into_iter();
                let Some(doc) = docs.next() else {
                    return Err(Diagnostic::new(
                        label,
                        1,
                        1,
                        "the scheduler configuration file is empty",
                    ));
                };
                if let Some(extra) = docs.next() {
                    return Err(extra
                        .source
                        .here("a scheduler configuration file holds one YAML document"));
                }
                (doc.value, doc.source, true)
            }
        };
        check_scheduler_header(&value, &origin, strict)?;
        let json = serde_json::to_value(&value).map_err(|e| {
            origin.here(format!(
                "the scheduler configuration cannot be read as JSON: {e}"
            ))
        })?;
        Ok((json, origin))
    }
}

/// kube-scheduler reads `kubescheduler.config.k8s.io/v1` only (v1beta3 was removed in 1.29).
/// Inline configurations may leave apiVersion and kind out.
fn check_scheduler_header(
    value: &Value,
    origin: &SourceRef,
    strict: bool,
) -> Result<(), Diagnostic> {
    const API_VERSION: &str = "kubescheduler.config.k8s.io/v1";
    const KIND: &str = "KubeSchedulerConfiguration";
    if !value.is_mapping() {
        return Err(origin.here("a KubeSchedulerConfiguration must be a mapping"));
    }
    match value.get("kind") {
        Some(Value::String(k)) if k == KIND => {}
        None if !strict => {}
        None => return Err(origin.here(format!("missing `kind: {KIND}`"))),
        Some(other) => {
            let shown = other
                .as_str()
                .map_or_else(|| format!("{other:?}"), str::to_string);
            return Err(origin.locate("kind", format!("expected kind {KIND}, found \"{shown}\"")));
        }
    }
    match value.get("apiVersion") {
        Some(Value::String(v)) if v == API_VERSION => Ok(()),
        None if !strict => Ok(()),
        None => Err(origin.here(format!("missing `apiVersion: {API_VERSION}`"))),
        Some(other) => {
            let shown = other
                .as_str()
                .map_or_else(|| format!("{other:?}"), str::to_string);
            Err(origin.locate(
                "apiVersion",
                format!("unsupported apiVersion \"{shown}\" (use {API_VERSION})"),
            ))
        }
    }
}

fn check_unique<T>(
    items: &[(T, Diagnostic)],
    what: &str,
    key: impl Fn(&T) -> String,
    errors: &mut Vec<Diagnostic>,
) {
    let mut seen: BTreeMap<String, &Diagnostic> = BTreeMap::new();
    for (item, at) in items {
        let k = key(item);
        if let Some(first) = seen.get(&k) {
            errors.push(Diagnostic {
                message: format!(
                    "duplicate {what} \"{k}\" (first defined at {}:{}:{})",
                    first.file, first.line, first.column
                ),
                ..at.clone()
            });
            continue;
        }
        seen.insert(k, at);
    }
}

/// Names are unique per kind and namespace.
fn check_collected_unique(out: &Collected, errors: &mut Vec<Diagnostic>) {
    check_unique(&out.pods, "Pod", |p| p.key(), errors);
    check_unique(
        &out.deployments,
        "Deployment",
        |d| format!("{}/{}", d.namespace, d.name),
        errors,
    );
    for kind in [OwnerKind::ReplicaSet, OwnerKind::ReplicationController] {
        let of_kind: Vec<(&ReplicaSet, Diagnostic)> = out
            .replica_sets
            .iter()
            .filter(|(r, _)| r.kind == kind)
            .map(|(r, at)| (r, at.clone()))
            .collect();
        check_unique(
            &of_kind,
            kind.as_str(),
            |r| format!("{}/{}", r.namespace, r.name),
            errors,
        );
    }
    check_unique(
        &out.pdbs,
        "PodDisruptionBudget",
        |p| format!("{}/{}", p.namespace, p.name),
        errors,
    );
    let key = |ns: &str, name: &str| format!("{ns}/{name}");
    check_unique(
        &out.stateful_sets,
        "StatefulSet",
        |x| key(&x.namespace, &x.name),
        errors,
    );
    check_unique(
        &out.daemon_sets,
        "DaemonSet",
        |x| key(&x.namespace, &x.name),
        errors,
    );
    check_unique(&out.jobs, "Job", |x| key(&x.namespace, &x.name), errors);
    check_unique(
        &out.cron_jobs,
        "CronJob",
        |x| key(&x.namespace, &x.name),
        errors,
    );
    check_unique(
        &out.claims,
        "PersistentVolumeClaim",
        |x| key(&x.namespace, &x.name),
        errors,
    );
    check_unique(&out.volumes, "PersistentVolume", |x| x.name.clone(), errors);
    check_unique(
        &out.storage_classes,
        "StorageClass",
        |x| x.name.clone(),
        errors,
    );
    check_unique(
        &out.resource_quotas,
        "ResourceQuota",
        |(ns, q)| key(ns, &q.name),
        errors,
    );
    check_unique(
        &out.limit_ranges,
        "LimitRange",
        |(ns, l)| key(ns, &l.name),
        errors,
    );
}

#[cfg(test)]
mod tests;
