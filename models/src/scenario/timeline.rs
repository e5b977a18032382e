//! Timeline entries: `{at: <when>, <action>: {...}}`, one action per entry.
//!
//! ```yaml
//! timeline:
//!   - {at: 5m, addNodes: {pool: general, count: 2}}
//!   - {at: 1h, rollout: {deployment: frontend, image: frontend:v2, container: app}}
//!   - {at: 1h, rollout: {deployment: frontend, annotations: {kubectl.kubernetes.io/restartedAt: "1h"}}}
//!   - {at: 2h, scale: {deployment: checkout, replicas: 20}}          # or replicaSet / replicationController / statefulSet
//!   - {at: 2h, rollout: {statefulSet: db, image: postgres:17}}       # or daemonSet
//!   - {at: 2h, suspend: {cronJob: nightly}}                          # or job; unsuspend likewise
//!   - {at: 3h, rollback: {deployment: frontend, toRevision: 1}}      # 0 or absent: the previous revision
//!   - {at: 4h, pause: {deployment: frontend}}
//!   - {at: 5h, resume: {deployment: frontend}}
//!   - {at: 6h, apply: {file: manifests/v3.yaml}}                     # or {inline: <object>}
//!   - {at: 7h, delete: {kind: Deployment, name: old, propagationPolicy: Foreground}}
//!   - {at: 8h, cordon: {node: general-1}}
//!   - {at: 9h, uncordon: {node: general-1}}
//!   - {at: 10h, drain: {node: general-2, timeout: 5m}}
//! ```
//!
//! Every action may say `namespace:` (default `default`). Objects an action names must be
//! defined by the scenario (at the start, by a delayed `workloads:` entry or by an `apply`), and
//! nodes must be a pool's (including those `addNodes` adds) or a Node manifest's.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_yaml::Value;
use sim_core::SimDuration;

use super::diagnostic::{Diagnostic, did_you_mean};
use super::format::{Dur, section};
use super::source::{At, Seg, SourceRef, path_string};
use super::{Action, Known, NodePool, ObjectKind, ObjectRef, Propagation};

/// The actions a timeline entry may take.
pub(crate) const ACTIONS: [&str; 13] = [
    "addNodes",
    "rollout",
    "scale",
    "rollback",
    "pause",
    "resume",
    "suspend",
    "unsuspend",
    "apply",
    "delete",
    "cordon",
    "uncordon",
    "drain",
];

/// Fault verbs (`crate::faults`), read by `faults.rs`.
const FAULTS: [&str; 14] = [
    "crashNodes",
    "rebootNodes",
    "recoverNodes",
    "stallKubelet",
    "zoneOutage",
    "partition",
    "killPods",
    "crashContainers",
    "slowImagePulls",
    "apiServerOutage",
    "schedulerOutage",
    "controllerManagerOutage",
    "reclaimSpot",
    "heal",
];

/// The annotation `kubectl rollout restart` sets on the pod template.
pub const ANNOTATION_RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

const DEFAULT_NAMESPACE: &str = "default";

fn key(k: &str) -> Seg {
    Seg::key(k)
}

fn join(base: &[Seg], tail: &[&str]) -> Vec<Seg> {
    base.iter()
        .cloned()
        .chain(tail.iter().map(|k| key(k)))
        .collect()
}

/// A timeline entry whose shape is right: when, which action, and the action's body.
pub(crate) struct Entry<'v> {
    pub index: usize,
    pub at: SimDuration,
    pub verb: &'v str,
    pub body: &'v Value,
}

impl Entry<'_> {
    /// `timeline[i].<verb>`.
    pub(crate) fn path(&self) -> Vec<Seg> {
        vec![key("timeline"), Seg::Index(self.index), key(self.verb)]
    }
}

/// Checks each entry's shape (a mapping with `at` and exactly one action); a bad entry is
/// reported in `errors` and left out.
pub(crate) fn entries<'v>(
    src: &SourceRef,
    raw: &'v [Value],
    errors: &mut Vec<Diagnostic>,
) -> Vec<Entry<'v>> {
    let mut out = Vec::new();
    for (index, value) in raw.iter().enumerate() {
        match entry(src, index, value) {
            Ok(e) => out.push(e),
            Err(d) => errors.push(d),
        }
    }
    out
}

fn actions_list() -> String {
    ACTIONS.join(", ")
}

fn entry<'v>(src: &SourceRef, index: usize, value: &'v Value) -> Result<Entry<'v>, Diagnostic> {
    let at = [key("timeline"), Seg::Index(index)];
    let Value::Mapping(map) = value else {
        return Err(src.at(
            &at,
            At::Value,
            "a timeline entry is a mapping such as {at: 5m, scale: {deployment: web, replicas: 3}}",
        ));
    };
    let mut verbs: Vec<(&str, &Value)> = Vec::new();
    for (k, v) in map {
        let Some(name) = k.as_str() else {
            return Err(src.at(&at, At::Value, "timeline entry keys must be strings"));
        };
        if name == "at" {
            continue;
        }
        let path: Vec<Seg> = at.iter().cloned().chain([key(name)]).collect();
        if FAULTS.contains(&name) {
            verbs.push((name, v));
            continue;
        }
        if !ACTIONS.contains(&name) {
            return Err(src.at(
                &path,
                At::Key,
                format!(
                    "unknown timeline action \"{name}\", expected one of {} or a fault ({}){}",
                    actions_list(),
                    FAULTS.join(", "),
                    did_you_mean(name, ACTIONS.iter().copied().chain(FAULTS).chain(["at"]))
                ),
            ));
        }
        verbs.push((name, v));
    }
    let Some(when) = map.get("at") else {
        return Err(src.at(
            &at,
            At::Value,
            "a timeline entry needs `at:`, the time of the action (e.g. `at: 5m`)",
        ));
    };
    let when: Dur = section(src, when, &[key("timeline"), Seg::Index(index), key("at")])?;
    match verbs.as_slice() {
        [] => Err(src.at(
            &at,
            At::Value,
            format!(
                "a timeline entry needs an action, one of {} (e.g. `scale: {{deployment: web, replicas: 3}}`)",
                actions_list()
            ),
        )),
        [(verb, body)] => Ok(Entry {
            index,
            at: when.0,
            verb,
            body,
        }),
        [(first, _), (second, _), ..] => Err(src.at(
            &[key("timeline"), Seg::Index(index), key(second)],
            At::Key,
            format!(
                "a timeline entry holds one action, but this one has `{first}` and `{second}`: give each its own entry (entries at the same time run in file order)"
            ),
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AddNodes {
    pool: String,
    count: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Rollout {
    #[serde(default)]
    deployment: Option<String>,
    #[serde(default)]
    stateful_set: Option<String>,
    #[serde(default)]
    daemon_set: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    container: Option<String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Scale {
    #[serde(default)]
    deployment: Option<String>,
    #[serde(default)]
    replica_set: Option<String>,
    #[serde(default)]
    replication_controller: Option<String>,
    #[serde(default)]
    stateful_set: Option<String>,
    replicas: i64,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Rollback {
    deployment: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    to_revision: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Suspend {
    #[serde(default)]
    cron_job: Option<String>,
    #[serde(default)]
    job: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DeploymentOnly {
    deployment: String,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Delete {
    kind: String,
    name: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    propagation_policy: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NodeOnly {
    node: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Drain {
    node: String,
    #[serde(default)]
    timeout: Option<Dur>,
}

const DELETE_KINDS: [ObjectKind; 10] = [
    ObjectKind::Deployment,
    ObjectKind::ReplicaSet,
    ObjectKind::ReplicationController,
    ObjectKind::Pod,
    ObjectKind::Node,
    ObjectKind::PodDisruptionBudget,
    ObjectKind::StatefulSet,
    ObjectKind::DaemonSet,
    ObjectKind::Job,
    ObjectKind::CronJob,
];

/// Turns entries into actions, checking the names they use against the scenario.
pub(crate) struct Resolver<'a> {
    pub src: &'a SourceRef,
    pub pools: &'a [NodePool],
    /// Pools whose declaration was bad (already reported): names in them are not checked.
    pub failed_pools: &'a BTreeSet<String>,
    pub known: &'a Known,
    pub warnings: &'a mut Vec<String>,
    /// Nodes named by actions, checked once every `addNodes` is known.
    node_refs: Vec<(String, Vec<Seg>)>,
    /// Nodes each pool gains from the timeline's `addNodes`.
    added: BTreeMap<usize, u64>,
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(
        src: &'a SourceRef,
        pools: &'a [NodePool],
        failed_pools: &'a BTreeSet<String>,
        known: &'a Known,
        warnings: &'a mut Vec<String>,
    ) -> Self {
        Resolver {
            src,
            pools,
            failed_pools,
            known,
            warnings,
            node_refs: Vec::new(),
            added: BTreeMap::new(),
        }
    }

    pub(super) fn err(&self, path: &[Seg], message: impl Into<String>) -> Diagnostic {
        self.src.at(path, At::Value, message)
    }

    fn warn(&mut self, path: &[Seg], message: String) {
        let d = self.src.at(path, At::Value, String::new());
        self.warnings
            .push(format!("{}:{}:{}: {message}", d.file, d.line, d.column));
    }

    /// The action of `e` (not `apply`, which the loader reads itself). `Ok(None)` when the
    /// entry refers to something whose own error is already reported.
    pub(crate) fn action(&mut self, e: &Entry<'_>) -> Result<Option<Action>, Diagnostic> {
        let path = e.path();
        let src = self.src;
        Ok(Some(match e.verb {
            "addNodes" => {
                let a: AddNodes = section(src, e.body, &path)?;
                let Some(pool) = self.pools.iter().position(|p| p.name == a.pool) else {
                    if self.failed_pools.contains(&a.pool) {
                        return Ok(None);
                    }
                    let known: Vec<String> = self.pools.iter().map(|p| p.name.clone()).collect();
                    return Err(self.err(
                        &join(&path, &["pool"]),
                        format!(
                            "no node pool named \"{}\"{} (pools: {})",
                            a.pool,
                            did_you_mean(&a.pool, known.iter().map(String::as_str)),
                            super::list_names(&known)
                        ),
                    ));
                };
                let count = u32::try_from(a.count)
                    .ok()
                    .filter(|c| (1..=100_000).contains(c))
                    .ok_or_else(|| {
                        self.err(
                            &join(&path, &["count"]),
                            format!("count must be between 1 and 100000, got {}", a.count),
                        )
                    })?;
                let total = self.known.nodes.len() as u64
                    + self.added.values().sum::<u64>()
                    + u64::from(count);
                if total > super::MAX_CLUSTER_NODES {
                    return Err(self.err(
                        &join(&path, &["count"]),
                        format!(
                            "with this addNodes the cluster would have {total} nodes, more than kubesim's limit of {} nodes in all (its nodes at the start plus every addNodes)",
                            super::MAX_CLUSTER_NODES
                        ),
                    ));
                }
                *self.added.entry(pool).or_default() += u64::from(count);
                Action::AddNodes { pool, count }
            }
            "rollout" => return self.rollout(e, &path),
            "scale" => return self.scale(e, &path),
            "rollback" => {
                let r: Rollback = section(src, e.body, &path)?;
                let target = self.object(
                    ObjectKind::Deployment,
                    &path,
                    "deployment",
                    &r.deployment,
                    r.namespace.as_deref(),
                )?;
                let to_revision = r.to_revision.unwrap_or(0);
                if to_revision < 0 {
                    return Err(self.err(
                        &join(&path, &["toRevision"]),
                        format!(
                            "toRevision must be 0 (the previous revision) or more, got {to_revision}"
                        ),
                    ));
                }
                Action::Rollback {
                    target,
                    to_revision,
                }
            }
            "pause" | "resume" => {
                let r: DeploymentOnly = section(src, e.body, &path)?;
                let target = self.object(
                    ObjectKind::Deployment,
                    &path,
                    "deployment",
                    &r.deployment,
                    r.namespace.as_deref(),
                )?;
                if e.verb == "pause" {
                    Action::Pause { target }
                } else {
                    Action::Resume { target }
                }
            }
            "delete" => return self.delete(e, &path),
            "suspend" | "unsuspend" => {
                let r: Suspend = section(src, e.body, &path)?;
                let named = [
                    (ObjectKind::CronJob, "cronJob", r.cron_job.as_ref()),
                    (ObjectKind::Job, "job", r.job.as_ref()),
                ];
                let (kind, field, name) =
                    self.one_named(&path, e.verb, "cronJob or job", &named)?;
                let target = self.object(kind, &path, field, name, r.namespace.as_deref())?;
                Action::Suspend {
                    target,
                    suspend: e.verb == "suspend",
                }
            }
            "cordon" | "uncordon" => {
                let r: NodeOnly = section(src, e.body, &path)?;
                let node = self.node(&path, r.node)?;
                if e.verb == "cordon" {
                    Action::Cordon { node }
                } else {
                    Action::Uncordon { node }
                }
            }
            verb if FAULTS.contains(&verb) => {
                Action::Fault(Box::new(super::faults::timeline_fault(self, e)?))
            }
            "drain" => {
                let r: Drain = section(src, e.body, &path)?;
                let node = self.node(&path, r.node)?;
                // kubectl drain: a timeout of 0 means wait forever.
                let timeout = r.timeout.map(|d| d.0).filter(|d| *d > SimDuration::ZERO);
                Action::Drain { node, timeout }
            }
            other => {
                return Err(self.err(
                    &path,
                    format!(
                        "`{other}` cannot be used here (timeline actions: {})",
                        actions_list()
                    ),
                ));
            }
        }))
    }

    fn rollout(&mut self, e: &Entry<'_>, path: &[Seg]) -> Result<Option<Action>, Diagnostic> {
        let r: Rollout = section(self.src, e.body, path)?;
        let named = [
            (ObjectKind::Deployment, "deployment", r.deployment.as_ref()),
            (
                ObjectKind::StatefulSet,
                "statefulSet",
                r.stateful_set.as_ref(),
            ),
            (ObjectKind::DaemonSet, "daemonSet", r.daemon_set.as_ref()),
        ];
        let (kind, field, name) = self.one_named(
            path,
            "rollout",
            "deployment, statefulSet or daemonSet",
            &named,
        )?;
        let target = self.object(kind, path, field, name, r.namespace.as_deref())?;
        if r.image.as_deref() == Some("") {
            return Err(self.err(&join(path, &["image"]), "image may not be empty"));
        }
        if r.container.is_some() && r.image.is_none() {
            return Err(self.err(
                &join(path, &["container"]),
                "container names the container whose image changes: add `image:`",
            ));
        }
        let names = self.known.template_containers.get(&(
            kind.as_str(),
            target.namespace.clone(),
            target.name.clone(),
        ));
        let container = match (&r.container, names) {
            (Some(c), Some(names)) => match names.app.iter().position(|n| n == c) {
                Some(i) => names.image_index.get(i).copied(),
                None if names.init.contains(c) => {
                    return Err(self.err(
                        &join(path, &["container"]),
                        format!(
                            "container \"{c}\" is an init container of {} {}; rollout sets the image of a container of spec.template.spec.containers ({})",
                            kind.as_str(),
                            target.name,
                            names.app.join(", ")
                        ),
                    ));
                }
                None => {
                    return Err(self.err(
                        &join(path, &["container"]),
                        format!(
                            "{} {} has no container named \"{c}\"{} (containers: {})",
                            kind.as_str(),
                            target.name,
                            did_you_mean(c, names.app.iter().map(String::as_str)),
                            names.app.join(", ")
                        ),
                    ));
                }
            },
            (None, Some(names)) => {
                if r.image.is_some() && names.app.len() > 1 {
                    self.warn(
                        &join(path, &["image"]),
                        format!(
                            "rollout of {} {} names no container, so the image goes to its first container, {} (add `container:` to choose)",
                            kind.as_str(),
                            target.name,
                            names.app[0]
                        ),
                    );
                }
                r.image.as_ref().and(names.image_index.first().copied())
            }
            // The workload failed to load; its error is reported already.
            (_, None) => None,
        };
        let mut template_annotations: Vec<(String, String)> = r.annotations.into_iter().collect();
        if r.image.is_none() && template_annotations.is_empty() {
            // `kubectl rollout restart`: a new template annotation, the time of the restart.
            template_annotations.push((ANNOTATION_RESTARTED_AT.to_string(), e.at.to_string()));
        }
        Ok(Some(Action::Rollout {
            target,
            image: r.image,
            container,
            template_annotations,
        }))
    }

    fn scale(&mut self, e: &Entry<'_>, path: &[Seg]) -> Result<Option<Action>, Diagnostic> {
        let r: Scale = section(self.src, e.body, path)?;
        let named = [
            (ObjectKind::Deployment, "deployment", r.deployment.as_ref()),
            (ObjectKind::ReplicaSet, "replicaSet", r.replica_set.as_ref()),
            (
                ObjectKind::ReplicationController,
                "replicationController",
                r.replication_controller.as_ref(),
            ),
            (
                ObjectKind::StatefulSet,
                "statefulSet",
                r.stateful_set.as_ref(),
            ),
        ];
        let (kind, field, name) = self.one_named(
            path,
            "scale",
            "deployment, replicaSet, replicationController or statefulSet",
            &named,
        )?;
        let target = self.object(kind, path, field, name, r.namespace.as_deref())?;
        let at = join(path, &["replicas"]);
        let limit = super::MAX_CLUSTER_PODS;
        let replicas = match i32::try_from(r.replicas) {
            Ok(n) if n >= 0 && u64::try_from(n).is_ok_and(|n| n <= limit) => n,
            _ if r.replicas < 0 => {
                return Err(self.err(
                    &at,
                    format!(
                        "{}: must be greater than or equal to 0, got {}",
                        path_string(&at),
                        r.replicas
                    ),
                ));
            }
            _ => {
                return Err(self.err(
                    &at,
                    format!(
                        "{}: must be at most {limit} (kubesim's limit on pods in a cluster), got {}",
                        path_string(&at),
                        r.replicas
                    ),
                ));
            }
        };
        Ok(Some(Action::Scale { target, replicas }))
    }

    fn delete(&mut self, e: &Entry<'_>, path: &[Seg]) -> Result<Option<Action>, Diagnostic> {
        let r: Delete = section(self.src, e.body, path)?;
        let Some(kind) = DELETE_KINDS.iter().copied().find(|k| k.as_str() == r.kind) else {
            let names = DELETE_KINDS.map(ObjectKind::as_str);
            return Err(self.err(
                &join(path, &["kind"]),
                format!(
                    "delete cannot delete kind \"{}\"{}: expected one of {}",
                    r.kind,
                    did_you_mean(&r.kind, names),
                    names.join(", ")
                ),
            ));
        };
        const POLICIES: [&str; 3] = ["Background", "Foreground", "Orphan"];
        let propagation = match r.propagation_policy.as_deref() {
            None | Some("Background") => Propagation::Background,
            Some("Foreground") => Propagation::Foreground,
            Some("Orphan") => Propagation::Orphan,
            Some(other) => {
                return Err(self.err(
                    &join(path, &["propagationPolicy"]),
                    format!(
                        "unsupported propagationPolicy \"{other}\", expected one of {}{}",
                        POLICIES.join(", "),
                        did_you_mean(other, POLICIES)
                    ),
                ));
            }
        };
        let target = match kind {
            ObjectKind::Node => {
                if r.namespace.is_some() {
                    return Err(self.src.at(
                        &join(path, &["namespace"]),
                        At::Key,
                        "a Node belongs to no namespace: remove `namespace`",
                    ));
                }
                let name = self.node_at(&join(path, &["name"]), r.name)?;
                ObjectRef {
                    kind,
                    namespace: String::new(),
                    name,
                }
            }
            ObjectKind::Pod => {
                let namespace = r
                    .namespace
                    .clone()
                    .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
                if r.name.is_empty() {
                    return Err(self.err(&join(path, &["name"]), "name may not be empty"));
                }
                if !self.known.exists(kind, &namespace, &r.name) {
                    self.warn(
                        &join(path, &["name"]),
                        format!(
                            "no Pod manifest defines pod {namespace}/{}; the delete does nothing unless a pod of that name exists then",
                            r.name
                        ),
                    );
                }
                ObjectRef {
                    kind,
                    namespace,
                    name: r.name,
                }
            }
            _ => self.object(kind, path, "name", &r.name, r.namespace.as_deref())?,
        };
        Ok(Some(Action::Delete {
            target,
            propagation,
        }))
    }

    /// The one object an action names among `named` (kind, field, name if given).
    fn one_named<'n>(
        &self,
        path: &[Seg],
        verb: &str,
        fields: &str,
        named: &[(ObjectKind, &'static str, Option<&'n String>)],
    ) -> Result<(ObjectKind, &'static str, &'n String), Diagnostic> {
        let given: Vec<(ObjectKind, &'static str, &'n String)> = named
            .iter()
            .filter_map(|(k, f, n)| Some((*k, *f, (*n)?)))
            .collect();
        match given.as_slice() {
            [] => {
                let what = if verb == "scale" {
                    "to scale"
                } else {
                    "it acts on"
                };
                Err(self.err(path, format!("{verb} needs the object {what}: {fields}")))
            }
            [one] => Ok(*one),
            [(_, first, _), (_, second, _), ..] => Err(self.src.at(
                &join(path, &[second]),
                At::Key,
                format!("{verb} names one object, but this one has `{first}` and `{second}`"),
            )),
        }
    }

    /// An object the scenario defines, named at `path.field` (for `faults.rs`).
    pub(super) fn object_ref(
        &self,
        kind: ObjectKind,
        path: &[Seg],
        field: &str,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<ObjectRef, Diagnostic> {
        self.object(kind, path, field, name, namespace)
    }

    /// An object the scenario defines, named at `path.field`.
    fn object(
        &self,
        kind: ObjectKind,
        path: &[Seg],
        field: &str,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<ObjectRef, Diagnostic> {
        let at = join(path, &[field]);
        let ns = namespace.unwrap_or(DEFAULT_NAMESPACE);
        if name.is_empty() {
            return Err(self.err(&at, format!("{field} may not be empty")));
        }
        if !self.known.exists(kind, ns, name) && !self.known.failed(kind.as_str(), ns, name) {
            let all = self.known.names(kind);
            let elsewhere: Vec<&str> = all
                .iter()
                .filter(|(n, other)| n == name && other != ns)
                .map(|(_, other)| other.as_str())
                .collect();
            let hint = match elsewhere.first() {
                Some(other) => {
                    format!(" (it is in namespace \"{other}\": add `namespace: {other}`)")
                }
                None => did_you_mean(
                    name,
                    all.iter().filter(|(_, n)| n == ns).map(|(n, _)| n.as_str()),
                ),
            };
            let shown: Vec<String> = all
                .iter()
                .map(|(n, other)| {
                    if other == DEFAULT_NAMESPACE {
                        n.clone()
                    } else {
                        format!("{other}/{n}")
                    }
                })
                .collect();
            return Err(self.err(
                &at,
                format!(
                    "no {kind} named \"{name}\" in namespace \"{ns}\"{hint} ({kind}s defined: {})",
                    super::list_names(&shown),
                    kind = kind.as_str()
                ),
            ));
        }
        Ok(ObjectRef {
            kind,
            namespace: ns.to_string(),
            name: name.to_string(),
        })
    }

    fn node(&mut self, path: &[Seg], name: String) -> Result<String, Diagnostic> {
        self.node_at(&join(path, &["node"]), name)
    }

    pub(super) fn node_at(&mut self, at: &[Seg], name: String) -> Result<String, Diagnostic> {
        if name.is_empty() {
            return Err(self.err(at, "a node name may not be empty"));
        }
        self.node_refs.push((name.clone(), at.to_vec()));
        Ok(name)
    }

    /// Checks the nodes actions named: a node of the cluster at the start, or one that a pool
    /// gains from `addNodes` (`<pool>-<index>` below the pool's count plus what is added).
    pub(crate) fn check_nodes(&self, errors: &mut Vec<Diagnostic>) {
        for (name, at) in &self.node_refs {
            if self.known.nodes.contains(name) {
                continue;
            }
            let added = self.pools.iter().enumerate().any(|(i, pool)| {
                let total = u64::from(pool.count) + self.added.get(&i).copied().unwrap_or_default();
                name.strip_prefix(&pool.name)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .and_then(|index| index.parse::<u64>().ok())
                    .is_some_and(|index| index < total)
            });
            let in_failed_pool = self.failed_pools.iter().any(|p| {
                name.strip_prefix(p.as_str())
                    .is_some_and(|r| r.starts_with('-'))
            });
            if added || in_failed_pool {
                continue;
            }
            let names: Vec<String> = self.known.nodes.iter().cloned().collect();
            errors.push(self.err(
                at,
                format!(
                    "no node named \"{name}\"{} (nodes: {})",
                    did_you_mean(name, names.iter().map(String::as_str)),
                    super::list_names(&names)
                ),
            ));
        }
    }
}
