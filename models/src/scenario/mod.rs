//! Scenario loading: one YAML file in kubesim's own format names the cluster, the workloads
//! (real Kubernetes manifests, inline or in files) and the scheduler configuration.
//!
//! Every problem is reported as a [`Diagnostic`] at `file:line:column`, never as a panic: a
//! typo in a scenario field or in a manifest (`replicsa`), a bad quantity, an unknown kind, a
//! missing file. Kinds that do not matter to the simulation (ServiceAccount, ConfigMap, …) are
//! accepted and listed in [`Scenario::ignored`].
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
//! behaviour:
//!   podStartup: 1s..3s
//! ```

mod convert;
mod diagnostic;
mod format;
mod manifest;
mod priority;
mod probe;
mod resources;
mod source;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_yaml::Value;
use sim_core::{SimDuration, SimTime};

pub use diagnostic::Diagnostic;
pub use priority::Workloads;
pub use source::SourceRef;

use crate::api::{
    Deployment, LABEL_HOSTNAME, LABEL_INSTANCE_TYPE, LABEL_ZONE, Labels, Node, Pod, ReplicaSet,
    ResourceList, ResourceName, Taint,
};
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

/// A sanity bound on one pool, so that a stray digit cannot exhaust memory.
const MAX_POOL_NODES: i64 = 100_000;

/// A pool of identical nodes, as declared.
#[derive(Clone, Debug, PartialEq)]
pub struct NodePool {
    pub name: String,
    pub count: u32,
    /// Zones assigned round-robin: node `i` is in `zones[i % zones.len()]`.
    pub zones: Vec<String>,
    pub instance_type: Option<String>,
    pub cost_per_hour: Option<f64>,
    /// The labels the pool declares (without the generated ones).
    pub labels: Labels,
    pub taints: Vec<Taint>,
    pub allocatable: ResourceList,
}

impl NodePool {
    pub fn node_name(&self, index: usize) -> String {
        format!("{}-{index}", self.name)
    }

    /// The pool's `index`-th node: the pool's labels plus hostname, zone (round-robin),
    /// instance type and `kubesim.io/pool`.
    pub fn node(&self, index: usize) -> Node {
        let name = self.node_name(index);
        let mut labels = self.labels.clone();
        labels.insert(LABEL_HOSTNAME, name.clone());
        if let Some(zone) = self
            .zones
            .get(index.checked_rem(self.zones.len()).unwrap_or(0))
        {
            labels.insert(LABEL_ZONE, zone.clone());
        }
        if let Some(t) = &self.instance_type {
            labels.insert(LABEL_INSTANCE_TYPE, t.clone());
        }
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
    AddNodes { pool: usize, count: u32 },
    /// `rollout: {deployment, image?, container?, env?}`: a change to the pod template, as
    /// `kubectl set image` would make it. `image` replaces the image of `container` (the first
    /// container when not named); `annotations` are added to the template (any template change
    /// starts a rollout, e.g. `kubectl rollout restart`'s restartedAt annotation).
    Rollout {
        target: ObjectRef,
        image: Option<String>,
        container: Option<usize>,
        template_annotations: Vec<(String, String)>,
    },
    /// `scale: {deployment | replicaSet | replicationController, replicas}`.
    Scale { target: ObjectRef, replicas: i32 },
    /// `rollback: {deployment, toRevision?}`: `kubectl rollout undo` (0 = the previous revision).
    Rollback { target: ObjectRef, to_revision: i64 },
    /// `pause: {deployment}` / `resume: {deployment}`.
    Pause { target: ObjectRef },
    Resume { target: ObjectRef },
    /// `apply: {file | inline}`: manifests created (or, for existing Deployments, updated) then.
    Apply(Box<Workloads>),
    /// `delete: {kind, name, namespace?, propagationPolicy?}` (kubectl's default Background).
    Delete {
        target: ObjectRef,
        propagation: Propagation,
    },
    /// `cordon: {node}` / `uncordon: {node}`.
    Cordon { node: String },
    Uncordon { node: String },
    /// `drain: {node, timeout?}`: cordon, then evict every pod but DaemonSet and mirror pods
    /// through the Eviction API, retrying every 5s while a PodDisruptionBudget refuses
    /// (kubectl drain), giving up after `timeout` (kubectl's default: never).
    Drain {
        node: String,
        timeout: Option<SimDuration>,
    },
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

/// Simulation-only facts about how pods behave (`behaviour:`), until the kubelet issue brings
/// probes and resource usage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Behaviour {
    /// Time from the kubelet seeing its pod to the pod Running and Ready (`podStartup`).
    pub pod_startup: (SimDuration, SimDuration),
    /// Per workload (Deployment, ReplicaSet or bare Pod name): overrides.
    pub workloads: BTreeMap<String, WorkloadBehaviour>,
    /// Images whose pull fails (`failingImages: [web:v2-typo]`): such pods stay Pending with
    /// ErrImagePull / ImagePullBackOff and never become Ready.
    pub failing_images: BTreeSet<String>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            pod_startup: DEFAULT_POD_STARTUP,
            workloads: BTreeMap::new(),
            failing_images: BTreeSet::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkloadBehaviour {
    /// `startup: 5s..20s`.
    pub startup: Option<(SimDuration, SimDuration)>,
    /// `ready: never`: the pods run but never pass readiness.
    pub never_ready: bool,
}

/// Variants of a scenario run side by side on the same seeds.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub seeds: Vec<u64>,
    pub variants: Vec<Variant>,
}

/// One variant: a name and the scheduler configuration it runs with.
#[derive(Clone, Debug)]
pub struct Variant {
    pub name: String,
    pub scheduler_config: Option<serde_json::Value>,
    pub scheduler_config_origin: Option<SourceRef>,
}

impl Scenario {
    /// This scenario with `variant`'s scheduler configuration (its own when the variant names none).
    pub fn with_variant(&self, variant: &Variant) -> Scenario {
        let mut s = self.clone();
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
    /// The KubeSchedulerConfiguration, as JSON, for the scheduler to validate.
    pub scheduler_config: Option<serde_json::Value>,
    /// Where the scheduler configuration came from: `origin.locate(json_path, message)` turns
    /// a scheduler validation error into a located [`Diagnostic`].
    pub scheduler_config_origin: Option<SourceRef>,
    /// Time from bind to Running, drawn uniformly from `[lo, hi]` (also `behaviour.pod_startup`).
    pub pod_startup: (SimDuration, SimDuration),
    /// How pods behave (`behaviour:`).
    pub behaviour: Behaviour,
    /// Control-plane latencies (`controlPlane: {watchLatency, apiLatency}`).
    pub control_plane: crate::apiserver::ControlPlaneTiming,
    pub ignored: Vec<IgnoredObject>,
    pub warnings: Vec<String>,
    /// Scripted changes, sorted by time.
    pub timeline: Vec<TimelineAction>,
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
}

/// Loads and validates the scenario at `path`; files it names are relative to its folder.
pub fn load(path: &Path) -> Result<Scenario, Diagnostic> {
    let label = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        Diagnostic::new(
            &label,
            1,
            1,
            format!("cannot read {label}: {}", io_message(&e)),
        )
    })?;
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
    Loader {
        base_dir: base_dir.to_path_buf(),
        out: Collected::default(),
    }
    .scenario(file_label, doc)
}

fn io_message(err: &std::io::Error) -> String {
    let text = err.to_string();
    // "No such file or directory (os error 2)": the code adds nothing for a reader.
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// "cannot read x: reason", naming the resolved path too when it differs from what the
/// scenario says, so that a wrong base folder is easy to spot.
fn cannot_read(written: &str, resolved: &Path, err: &std::io::Error) -> String {
    let shown = resolved.display().to_string();
    if shown == written {
        format!("cannot read {written}: {}", io_message(err))
    } else {
        format!(
            "cannot read {written}: {} (looked for {shown})",
            io_message(err)
        )
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
        let mut nodes: Vec<(Node, Diagnostic)> = Vec::new();
        let cluster = file.cluster.as_ref();
        for (i, section) in cluster
            .and_then(|c| c.node_pools.as_ref())
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = [key("cluster"), key("nodePools"), Seg::Index(i)];
            let pool = self.pool(&src, section, &at)?;
            let name_path: Vec<Seg> = at.iter().cloned().chain([key("name")]).collect();
            let name_at = src.at(&name_path, At::Value, String::new());
            if pools.iter().any(|p: &NodePool| p.name == pool.name) {
                return Err(Diagnostic {
                    message: format!("duplicate node pool name \"{}\"", pool.name),
                    ..name_at
                });
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
            self.manifests(&src, item, &[key("cluster"), key("nodes"), Seg::Index(i)])?;
        }
        let mut arrivals = Vec::new();
        let mut trace: Option<crate::trace::TraceParts> = None;
        for (i, item) in file.workloads.iter().flatten().enumerate() {
            let at = [key("workloads"), Seg::Index(i)];
            if let Some(spec) = item.get("trace") {
                let spec_at: Vec<Seg> = at.iter().cloned().chain([key("trace")]).collect();
                if trace.is_some() {
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
                let spec: crate::trace::TraceWorkload = serde_yaml::from_value(spec.clone())
                    .map_err(|e| src.at(&spec_at, At::Value, format!("trace: {e}")))?;
                let parts = crate::trace::trace_scenario_parts(&spec, &self.base_dir, file_label)?;
                let name_at = src.at(&spec_at, At::Key, String::new());
                let mut parts = parts;
                for node in &mut parts.nodes {
                    // Trace nodes form their own pool in reports.
                    node.pool.get_or_insert_with(|| "trace".to_string());
                    nodes.push((node.clone(), name_at.clone()));
                }
                trace = Some(parts);
                continue;
            }
            // `at:` delays an entry's objects (see `priority::split_arrival`).
            let (item, arrival) = priority::split_arrival(&src, item, &at)?;
            let before = self.out.counts();
            self.manifests(&src, &item, &at)?;
            if let Some(t) = arrival {
                arrivals.push((t, before, self.out.counts()));
            }
        }
        let (scheduler_config, scheduler_config_origin) = match &file.scheduler {
            Some(Value::Null) | None => (None, None),
            Some(section) => {
                let (config, origin) = self.scheduler(&src, section, &[key("scheduler")])?;
                (Some(config), Some(origin))
            }
        };

        let seed = file.seed.as_ref().map_or(1, |s| s.0);
        let compare = match &file.compare {
            None => None,
            Some(c) => Some(self.comparison(&src, c, seed)?),
        };

        let mut out = self.out;
        let priority_classes = priority::admit(&mut out)?;
        nodes.append(&mut out.manifest_nodes);
        check_unique(&nodes, "node", |n| n.name.clone())?;
        check_unique(&out.pods, "Pod", |p| p.key())?;
        check_unique(&out.deployments, "Deployment", |d| {
            format!("{}/{}", d.namespace, d.name)
        })?;
        check_unique(&out.replica_sets, "ReplicaSet", |r| {
            format!("{}/{}", r.namespace, r.name)
        })?;
        if nodes.is_empty() {
            if pools.is_empty() {
                return Err(src.at(
                    &[key("cluster")],
                    At::Key,
                    "the cluster has no nodes: add cluster.nodePools, or Node manifests under cluster.nodes or workloads",
                ));
            }
            out.warnings.push(format!(
                "{file_label}: every node pool has count 0, so the cluster starts with no nodes"
            ));
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

        let mut timeline = Vec::with_capacity(file.timeline.len());
        for (i, entry) in file.timeline.iter().enumerate() {
            let at = [key("timeline"), Seg::Index(i)];
            let Some(add) = &entry.add_nodes else {
                return Err(src.at(
                    &at,
                    At::Key,
                    "a timeline entry needs an action, e.g. `addNodes: {pool: general, count: 1}`",
                ));
            };
            let field = |name: &str| -> Vec<Seg> {
                at.iter()
                    .cloned()
                    .chain([key("addNodes"), key(name)])
                    .collect()
            };
            let Some(pool) = pools.iter().position(|p| p.name == add.pool) else {
                let known: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
                return Err(src.at(
                    &field("pool"),
                    At::Value,
                    format!(
                        "no node pool named \"{}\" (pools: {})",
                        add.pool,
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            };
            let count = u32::try_from(add.count)
                .ok()
                .filter(|c| *c >= 1 && *c <= 100_000)
                .ok_or_else(|| {
                    src.at(
                        &field("count"),
                        At::Value,
                        format!("count must be between 1 and 100000, got {}", add.count),
                    )
                })?;
            timeline.push(TimelineAction {
                at: entry.at.0,
                action: Action::AddNodes { pool, count },
            });
        }
        // Same-time actions keep their file order: the engine runs same-time events FIFO.
        timeline.sort_by_key(|a| a.at);

        let delayed_workloads = priority::take_delayed(&mut out, &arrivals);
        let pdbs = out.pdbs.into_iter().map(|(p, _)| p).collect();
        let pod_startup = match file.behaviour.as_ref().and_then(|b| b.pod_startup.as_ref()) {
            Some(r) => (r.0, r.1),
            None => DEFAULT_POD_STARTUP,
        };
        Ok(Scenario {
            name: file.name,
            seed,
            // A trace runs to its end unless the scenario says otherwise.
            duration: file.duration.map_or_else(
                || {
                    trace.as_ref().map_or(SimDuration::from_hours(1), |t| {
                        t.sampling.until.since(SimTime::ZERO)
                    })
                },
                |d| d.0,
            ),
            file: file_label.to_string(),
            pools,
            nodes: nodes.into_iter().map(|(n, _)| n).collect(),
            pods: out.pods.into_iter().map(|(p, _)| p).collect(),
            replica_sets: out.replica_sets.into_iter().map(|(r, _)| r).collect(),
            deployments: out.deployments.into_iter().map(|(d, _)| d).collect(),
            scheduler_config,
            scheduler_config_origin,
            pod_startup,
            behaviour: Behaviour {
                pod_startup,
                ..Behaviour::default()
            },
            control_plane: crate::apiserver::ControlPlaneTiming::default(),
            timeline,
            compare,
            trace,
            service_selectors: std::mem::take(&mut out.service_selectors),
            namespace_labels: std::mem::take(&mut out.namespace_labels),
            ignored: out.ignored,
            warnings: out.warnings,
            priority_classes,
            pdbs,
            delayed_workloads,
        })
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
            cost_per_hour: s.cost_per_hour,
            labels: Labels::from(s.labels.clone()),
            taints,
            allocatable,
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
                manifest::load_object(inline.clone(), &src.child(&path), &mut self.out)
            }
            (Some(file), None) => {
                let path: Vec<Seg> = at.iter().cloned().chain([key("file")]).collect();
                let Some(written) = file.as_str() else {
                    return Err(src.at(&path, At::Value, "file must be a path (a string)"));
                };
                for doc in self.read_manifest_files(src, &path, written)? {
                    manifest::load_object(doc.value, &doc.source, &mut self.out)?;
                }
                Ok(())
            }
        }
    }

    /// Reads a manifest file, or every `.yaml`/`.yml`/`.json` file of a folder in name order.
    fn read_manifest_files(
        &self,
        src: &SourceRef,
        at: &[Seg],
        written: &str,
    ) -> Result<Vec<Document>, Diagnostic> {
        let resolved = self.resolve(written);
        let cannot =
            |p: &Path, e: &std::io::Error| src.at(at, At::Value, cannot_read(written, p, e));
        let mut files = Vec::new();
        if resolved.is_dir() {
            let entries = std::fs::read_dir(&resolved).map_err(|e| cannot(&resolved, &e))?;
            for entry in entries {
                let path = entry.map_err(|e| cannot(&resolved, &e))?.path();
                let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
                if path.is_file() && matches!(ext, "yaml" | "yml" | "json") {
                    files.push(path);
                }
            }
            files.sort();
        } else {
            files.push(resolved);
        }
        let mut docs = Vec::new();
        for path in files {
            let label = path.display().to_string();
            let bytes = std::fs::read(&path).map_err(|e| cannot(&path, &e))?;
            let text = decode(&label, bytes)?;
            docs.extend(parse_documents(&label, &text)?);
        }
        Ok(docs)
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
            variants.push(Variant {
                name: v.name.clone(),
                scheduler_config: config,
                scheduler_config_origin: origin,
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
        for k in map.keys() {
            let name = k.as_str().unwrap_or("?");
            if name != "file" && name != "config" {
                return Err(src.at(
                    &under(name),
                    At::Key,
                    format!(
                        "unknown field \"{name}\", expected file or config{}",
                        diagnostic::did_you_mean(name, ["file", "config"])
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
                let bytes = std::fs::read(&resolved)
                    .map_err(|e| src.at(&path, At::Value, cannot_read(written, &resolved, &e)))?;
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
) -> Result<(), Diagnostic> {
    let mut seen: BTreeMap<String, &Diagnostic> = BTreeMap::new();
    for (item, at) in items {
        let k = key(item);
        if let Some(first) = seen.get(&k) {
            return Err(Diagnostic {
                message: format!(
                    "duplicate {what} \"{k}\" (first defined at {}:{}:{})",
                    first.file, first.line, first.column
                ),
                ..at.clone()
            });
        }
        seen.insert(k, at);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
