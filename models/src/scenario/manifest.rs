//! Kubernetes manifests: recognise the kind, deserialize into the k8s-openapi type while
//! catching unknown fields, and convert.

use serde::de::DeserializeOwned;
use serde_yaml::Value;

use super::convert::{self, Ctx};
use super::diagnostic::{Diagnostic, closest, did_you_mean};
use super::probe::expected_fields;
use super::source::{At, PathDisplay, Seg, SourceRef, segs_from_ignored, segs_from_path};
use super::workloads;
use super::{Collected, IgnoredObject};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Handling {
    Pod,
    Node,
    Deployment,
    ReplicaSet,
    ReplicationController,
    PriorityClass,
    PodDisruptionBudget,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
    PersistentVolumeClaim,
    PersistentVolume,
    StorageClass,
    ResourceQuota,
    LimitRange,
    HorizontalPodAutoscaler,
    Service,
    Ingress,
    /// Accepted and listed as ignored: it does not affect the simulation.
    Ignore,
    /// Accepted and listed as ignored, with a warning: it would affect a real cluster.
    NotSimulatedYet,
}

const CORE: &[&str] = &["v1"];
const APPS: &[&str] = &["apps/v1"];
const RBAC: &[&str] = &["rbac.authorization.k8s.io/v1"];
const NETWORKING: &[&str] = &["networking.k8s.io/v1"];
const STORAGE: &[&str] = &["storage.k8s.io/v1"];
const ADMISSION: &[&str] = &["admissionregistration.k8s.io/v1"];
const RESOURCE: &[&str] = &["resource.k8s.io/v1"];

/// Kinds served by a Kubernetes 1.34 API server, with the versions it serves them at.
const KINDS: &[(&str, &[&str], Handling)] = &[
    ("Pod", CORE, Handling::Pod),
    ("Node", CORE, Handling::Node),
    ("Deployment", APPS, Handling::Deployment),
    ("ReplicaSet", APPS, Handling::ReplicaSet),
    ("StatefulSet", APPS, Handling::StatefulSet),
    ("DaemonSet", APPS, Handling::DaemonSet),
    ("Job", &["batch/v1"], Handling::Job),
    ("CronJob", &["batch/v1"], Handling::CronJob),
    (
        "HorizontalPodAutoscaler",
        &["autoscaling/v2", "autoscaling/v1"],
        Handling::HorizontalPodAutoscaler,
    ),
    (
        "PodDisruptionBudget",
        &["policy/v1"],
        Handling::PodDisruptionBudget,
    ),
    (
        "PriorityClass",
        &["scheduling.k8s.io/v1"],
        Handling::PriorityClass,
    ),
    (
        "ReplicationController",
        CORE,
        Handling::ReplicationController,
    ),
    ("LimitRange", CORE, Handling::LimitRange),
    ("ResourceQuota", CORE, Handling::ResourceQuota),
    (
        "RuntimeClass",
        &["node.k8s.io/v1"],
        Handling::NotSimulatedYet,
    ),
    ("Namespace", CORE, Handling::Ignore),
    ("ServiceAccount", CORE, Handling::Ignore),
    ("ConfigMap", CORE, Handling::Ignore),
    ("Secret", CORE, Handling::Ignore),
    ("Service", CORE, Handling::Service),
    ("Endpoints", CORE, Handling::Ignore),
    (
        "PersistentVolumeClaim",
        CORE,
        Handling::PersistentVolumeClaim,
    ),
    ("PersistentVolume", CORE, Handling::PersistentVolume),
    ("PodTemplate", CORE, Handling::Ignore),
    ("Event", &["v1", "events.k8s.io/v1"], Handling::Ignore),
    ("EndpointSlice", &["discovery.k8s.io/v1"], Handling::Ignore),
    ("ControllerRevision", APPS, Handling::Ignore),
    ("Role", RBAC, Handling::Ignore),
    ("RoleBinding", RBAC, Handling::Ignore),
    ("ClusterRole", RBAC, Handling::Ignore),
    ("ClusterRoleBinding", RBAC, Handling::Ignore),
    ("Ingress", NETWORKING, Handling::Ingress),
    ("IngressClass", NETWORKING, Handling::Ignore),
    ("NetworkPolicy", NETWORKING, Handling::Ignore),
    ("StorageClass", STORAGE, Handling::StorageClass),
    ("CSIDriver", STORAGE, Handling::Ignore),
    ("CSINode", STORAGE, Handling::Ignore),
    ("VolumeAttachment", STORAGE, Handling::Ignore),
    // v1beta1 was removed in 1.22, but old operator bundles still carry it; a CRD is
    // ignored either way.
    (
        "CustomResourceDefinition",
        &["apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1"],
        Handling::Ignore,
    ),
    ("MutatingWebhookConfiguration", ADMISSION, Handling::Ignore),
    (
        "ValidatingWebhookConfiguration",
        ADMISSION,
        Handling::Ignore,
    ),
    ("ValidatingAdmissionPolicy", ADMISSION, Handling::Ignore),
    (
        "ValidatingAdmissionPolicyBinding",
        ADMISSION,
        Handling::Ignore,
    ),
    ("Lease", &["coordination.k8s.io/v1"], Handling::Ignore),
    (
        "APIService",
        &["apiregistration.k8s.io/v1"],
        Handling::Ignore,
    ),
    (
        "CertificateSigningRequest",
        &["certificates.k8s.io/v1"],
        Handling::Ignore,
    ),
    (
        "FlowSchema",
        &["flowcontrol.apiserver.k8s.io/v1"],
        Handling::Ignore,
    ),
    (
        "PriorityLevelConfiguration",
        &["flowcontrol.apiserver.k8s.io/v1"],
        Handling::Ignore,
    ),
    ("DeviceClass", RESOURCE, Handling::Ignore),
    ("ResourceClaim", RESOURCE, Handling::Ignore),
    ("ResourceClaimTemplate", RESOURCE, Handling::Ignore),
    ("ResourceSlice", RESOURCE, Handling::Ignore),
];

/// API groups a Kubernetes 1.34 API server serves itself (`""` is the core group). Any other
/// group with a dot in its name is a custom resource's (CRD groups must contain a dot) or an
/// aggregated API's, such as `metrics.k8s.io`.
const BUILTIN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "extensions",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "internal.apiserver.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "rbac.authorization.k8s.io",
    "resource.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
    "storagemigration.k8s.io",
];

fn api_group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

/// Keys whose values are moments something was observed or done. The latest of them over all
/// objects is the moment of the dump. `deletionTimestamp` is left out: it is a deadline (now
/// plus the grace period), so it may lie after the dump.
const TIME_KEYS: &[&str] = &[
    "acquireTime",
    "completionTime",
    "creationTimestamp",
    "eventTime",
    "finishedAt",
    "firstTimestamp",
    "lastHeartbeatTime",
    "lastProbeTime",
    "lastScaleTime",
    "lastScheduleTime",
    "lastSuccessfulTime",
    "lastTimestamp",
    "lastTransitionTime",
    "lastUpdateTime",
    "renewTime",
    "startTime",
    "startedAt",
    "time",
];

/// Raises `latest` to the latest RFC 3339 timestamp under a [`TIME_KEYS`] key in `value`
/// (labels and annotations are not looked into).
fn note_timestamps(value: &Value, latest: &mut Option<i64>) {
    match value {
        Value::Mapping(map) => {
            for (k, v) in map {
                let key = k.as_str().unwrap_or("");
                if key == "labels" || key == "annotations" {
                    continue;
                }
                if TIME_KEYS.contains(&key)
                    && let Some(text) = v.as_str()
                    && let Ok(t) = text.parse::<k8s_openapi::jiff::Timestamp>()
                {
                    let secs = t.as_second();
                    *latest = Some(latest.map_or(secs, |l| l.max(secs)));
                }
                note_timestamps(v, latest);
            }
        }
        Value::Sequence(items) => items.iter().for_each(|v| note_timestamps(v, latest)),
        Value::Tagged(t) => note_timestamps(&t.value, latest),
        _ => {}
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

fn string_field<'v>(
    value: &'v Value,
    key: &str,
    src: &SourceRef,
) -> Result<Option<&'v str>, Diagnostic> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(src.at(
            &[Seg::key(key)],
            At::Value,
            format!("{key} must be a string, not {}", describe(other)),
        )),
    }
}

/// Deserializes `value` into the k8s-openapi type `T`. Type errors are located at their path;
/// fields that k8s-openapi would silently skip are errors, with the closest known field
/// suggested.
pub(super) fn typed<T: DeserializeOwned>(
    value: Value,
    kind: &str,
    src: &SourceRef,
) -> Result<T, Diagnostic> {
    let mut unknown: Vec<Vec<Seg>> = Vec::new();
    let mut record = |path: serde_ignored::Path<'_>| unknown.push(segs_from_ignored(&path));
    let result: Result<T, _> =
        serde_path_to_error::deserialize(serde_ignored::Deserializer::new(value, &mut record));
    // An unknown field seen before a failure is the likelier cause: `metdata` leads to
    // "missing field metadata", but the fix is the typo.
    if let Some(path) = unknown.into_iter().next() {
        let Some((Seg::Key(field), parent)) = path.split_last() else {
            return Err(src.at(&path, At::Key, format!("unexpected value in {kind}")));
        };
        let place = if parent.is_empty() {
            kind.to_string()
        } else {
            format!("{kind} {}", PathDisplay(parent))
        };
        let hint = expected_fields::<T>(parent)
            .map(|(_, fields)| did_you_mean(field, fields.iter().copied()))
            .unwrap_or_default();
        return Err(src.at(
            &path,
            At::Key,
            format!("unknown field \"{field}\" in {place}{hint}"),
        ));
    }
    result.map_err(|err| {
        let segs = segs_from_path(err.path());
        let mut message = super::source::clean_yaml_message(err.inner());
        if message.contains("expected a string")
            && ["integer", "floating point", "boolean"]
                .iter()
                .any(|t| message.contains(&format!("invalid type: {t}")))
        {
            message.push_str(" (quote the value to make it a string)");
        }
        let text = if segs.is_empty() {
            message
        } else {
            format!("{}: {message}", PathDisplay(&segs))
        };
        src.at(&segs, At::Value, text)
    })
}

fn location(src: &SourceRef, path: &[Seg]) -> Diagnostic {
    src.at(path, At::Value, String::new())
}

/// Loads one Kubernetes object (or a `List` of them) into `out`. A bad object is recorded in
/// `out.errors` (one diagnostic per object, the first problem found in it) and loading goes
/// on, so that one pass reports every bad object.
pub(crate) fn load_object(value: Value, src: &SourceRef, out: &mut Collected) {
    if let Err(d) = load_one(value, src, out) {
        out.errors.push(d);
    }
}

/// `(kind, namespace, name)` of an object, as far as its raw value says.
fn identity(value: &Value, kind: &str) -> (String, String, String) {
    let text = |key: &str| {
        value
            .get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    (
        kind.to_string(),
        text("namespace").unwrap_or("default").to_string(),
        text("name").unwrap_or("").to_string(),
    )
}

/// The items of a `List` (or a typed list such as `PodList`), each loaded on its own; items of
/// a typed list may leave out their kind and apiVersion, as the API server's lists do.
fn load_items(
    value: &mut Value,
    src: &SourceRef,
    item_default: Option<(&str, &str)>,
    out: &mut Collected,
) -> Result<(), Diagnostic> {
    let items = match value.get_mut("items") {
        Some(Value::Sequence(items)) => std::mem::take(items),
        None | Some(Value::Null) => Vec::new(),
        Some(other) => {
            return Err(src.at(
                &[Seg::key("items")],
                At::Value,
                format!("items must be a list, not {}", describe(other)),
            ));
        }
    };
    for (i, mut item) in items.into_iter().enumerate() {
        if let (Some((kind, version)), Value::Mapping(m)) = (item_default, &mut item) {
            m.entry(Value::from("kind"))
                .or_insert_with(|| Value::from(kind));
            m.entry(Value::from("apiVersion"))
                .or_insert_with(|| Value::from(version));
        }
        load_object(item, &src.child(&[Seg::key("items"), Seg::Index(i)]), out);
    }
    Ok(())
}

fn load_one(mut value: Value, src: &SourceRef, out: &mut Collected) -> Result<(), Diagnostic> {
    if !value.is_mapping() {
        return Err(src.here(format!(
            "expected a Kubernetes object (a mapping with apiVersion and kind), found {}",
            describe(&value)
        )));
    }
    let Some(kind) = string_field(&value, "kind", src)?.map(str::to_string) else {
        return Err(src.here(
            "this object has no `kind` (every Kubernetes object needs apiVersion and kind)",
        ));
    };
    let Some(api_version) = string_field(&value, "apiVersion", src)?.map(str::to_string) else {
        return Err(src.here(format!("this {kind} has no `apiVersion`")));
    };
    let group = api_group(&api_version);
    let custom = group.contains('.') && !BUILTIN_GROUPS.contains(&group);
    if let Some(item_kind) = kind.strip_suffix("List") {
        let typed_item = KINDS.iter().find(|(k, ..)| *k == item_kind);
        if kind == "List" {
            return load_items(&mut value, src, None, out);
        }
        if let Some((k, versions, _)) = typed_item
            && !custom
        {
            let version = versions.first().copied().unwrap_or("v1");
            return load_items(&mut value, src, Some((k, version)), out);
        }
        if custom && value.get("items").is_some_and(Value::is_sequence) {
            // `kubectl get prometheuses -o yaml` of a custom resource.
            return load_items(&mut value, src, Some((item_kind, &api_version)), out);
        }
    }
    note_timestamps(&value, &mut out.latest_timestamp);
    let known = KINDS.iter().find(|(k, ..)| *k == kind);
    if custom {
        // A built-in kind at a misspelt group (`app.k8s.io/v1`) is a typo, not a custom resource.
        // So is one at a made-up `*.k8s.io` group (`apps.k8s.io/v1`): custom resources there
        // (Gateway API, snapshots, metrics) never reuse a built-in kind's name.
        if let Some((_, versions, _)) = known {
            let hint = closest(&api_version, versions.iter().copied());
            if hint.is_some() || group.ends_with(".k8s.io") {
                return Err(src.at(
                    &[Seg::key("apiVersion")],
                    At::Value,
                    format!(
                        "{kind} is not served at apiVersion \"{api_version}\" (use {})",
                        versions.join(" or ")
                    ),
                ));
            }
        }
        if group == "gateway.networking.k8s.io" && kind == "HTTPRoute" {
            let route = super::network::http_route(&value, src)?;
            out.network.http_routes.push(route);
            out.network.route_locations.push(location(src, &[]));
            return Ok(());
        }
        ignore(&value, kind, false, src, out);
        return Ok(());
    }
    let Some((_, versions, handling)) = known else {
        let suggested = closest(&kind, KINDS.iter().map(|(k, ..)| *k));
        if let Some(k) = suggested {
            // `kind: Deploymnet` is a Deployment that failed to load: names that refer to it
            // are not reported again.
            out.failed.insert(identity(&value, k));
        }
        let hint = did_you_mean(&kind, suggested);
        let message = if !BUILTIN_GROUPS.contains(&group) {
            format!(
                "unknown API group \"{group}\" (apiVersion {api_version}){}: custom resources are accepted and ignored, and their API group is a domain name such as example.com",
                did_you_mean(
                    group,
                    BUILTIN_GROUPS.iter().copied().filter(|g| !g.is_empty())
                )
            )
        } else if hint.is_empty() {
            format!(
                "unknown kind \"{kind}\" (apiVersion {api_version}): kubesim simulates Pod, Node, Deployment, ReplicaSet, ReplicationController, StatefulSet, DaemonSet, Job, CronJob and the storage kinds, accepts the other built-in Kubernetes kinds, and accepts custom resources of their own API group (such as example.com/v1)"
            )
        } else {
            format!("unknown kind \"{kind}\"{hint}")
        };
        let at = if BUILTIN_GROUPS.contains(&group) {
            "kind"
        } else {
            "apiVersion"
        };
        return Err(src.at(&[Seg::key(at)], At::Value, message));
    };
    if !versions.contains(&api_version.as_str()) {
        return Err(src.at(
            &[Seg::key("apiVersion")],
            At::Value,
            format!(
                "{kind} is not served at apiVersion \"{api_version}\" (use {})",
                versions.join(" or ")
            ),
        ));
    }
    if matches!(handling, Handling::Ignore | Handling::NotSimulatedYet) {
        ignore(
            &value,
            kind,
            *handling == Handling::NotSimulatedYet,
            src,
            out,
        );
        return Ok(());
    }
    let id = identity(&value, &kind);
    let result = convert_object(value, &kind, *handling, src, out);
    if result.is_err() {
        out.failed.insert(id);
    }
    result
}

/// Converts an object of a kind kubesim simulates and adds it to `out`.
fn convert_object(
    value: Value,
    kind: &str,
    handling: Handling,
    src: &SourceRef,
    out: &mut Collected,
) -> Result<(), Diagnostic> {
    let mut ctx = Ctx {
        src,
        warnings: &mut out.warnings,
    };
    let name_at = [Seg::key("metadata"), Seg::key("name")];
    match handling {
        Handling::Pod => {
            let p: k8s_openapi::api::core::v1::Pod = typed(value, kind, src)?;
            let pod = convert::bare_pod(&mut ctx, &p, out.pods.len())?;
            let target = super::priority::Target::Pod(out.pods.len());
            out.pods.push((pod, location(src, &name_at)));
            if let Some(spec) = &p.spec {
                super::priority::note_spec(out, src, target, spec, &[Seg::key("spec")]);
            }
        }
        Handling::Node => {
            let n: k8s_openapi::api::core::v1::Node = typed(value, kind, src)?;
            let node = convert::node(&mut ctx, &n, out.manifest_nodes.len())?;
            out.manifest_nodes.push((node, location(src, &name_at)));
        }
        Handling::Deployment => {
            let d: k8s_openapi::api::apps::v1::Deployment = typed(value, kind, src)?;
            let deployment = convert::deployment(&mut ctx, &d, out.deployments.len())?;
            let target = super::priority::Target::Deployment(out.deployments.len());
            let spec = d.spec.as_ref().and_then(|s| s.template.spec.as_ref());
            out.template_containers.insert(
                (
                    "Deployment",
                    deployment.namespace.clone(),
                    deployment.name.clone(),
                ),
                super::ContainerNames::of(spec),
            );
            out.deployments.push((deployment, location(src, &name_at)));
            if let Some(spec) = d.spec.as_ref().and_then(|s| s.template.spec.as_ref()) {
                let path = [Seg::key("spec"), Seg::key("template"), Seg::key("spec")];
                super::priority::note_spec(out, src, target, spec, &path);
            }
        }
        Handling::ReplicaSet => {
            let r: k8s_openapi::api::apps::v1::ReplicaSet = typed(value, kind, src)?;
            let rs = convert::replica_set(&mut ctx, &r, out.replica_sets.len())?;
            let target = super::priority::Target::ReplicaSet(out.replica_sets.len());
            out.replica_sets.push((rs, location(src, &name_at)));
            let spec = r
                .spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .and_then(|t| t.spec.as_ref());
            if let Some(spec) = spec {
                let path = [Seg::key("spec"), Seg::key("template"), Seg::key("spec")];
                super::priority::note_spec(out, src, target, spec, &path);
            }
        }
        Handling::ReplicationController => {
            let r: k8s_openapi::api::core::v1::ReplicationController = typed(value, kind, src)?;
            let rc = convert::replication_controller(&mut ctx, &r, out.replica_sets.len())?;
            let target = super::priority::Target::ReplicaSet(out.replica_sets.len());
            out.replica_sets.push((rc, location(src, &name_at)));
            let spec = r
                .spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .and_then(|t| t.spec.as_ref());
            if let Some(spec) = spec {
                let path = [Seg::key("spec"), Seg::key("template"), Seg::key("spec")];
                super::priority::note_spec(out, src, target, spec, &path);
            }
        }
        Handling::PriorityClass => {
            let c: k8s_openapi::api::scheduling::v1::PriorityClass = typed(value, kind, src)?;
            let class = super::priority::priority_class(&ctx, &c, out.priority_classes.len())?;
            out.priority_classes.push((class, location(src, &name_at)));
        }
        Handling::PodDisruptionBudget => {
            let p: k8s_openapi::api::policy::v1::PodDisruptionBudget = typed(value, kind, src)?;
            let pdb = super::priority::pdb(&ctx, &p, out.pdbs.len())?;
            out.pdbs.push((pdb, location(src, &name_at)));
        }
        Handling::HorizontalPodAutoscaler => {
            let h = super::hpa::load(value, kind, src)?;
            out.hpas.push((h, location(src, &name_at)));
        }
        Handling::StatefulSet => {
            let w: k8s_openapi::api::apps::v1::StatefulSet = typed(value, kind, src)?;
            let set = workloads::stateful_set(&mut ctx, &w, out.stateful_sets.len())?;
            out.template_containers.insert(
                ("StatefulSet", set.namespace.clone(), set.name.clone()),
                super::ContainerNames::of(w.spec.as_ref().and_then(|s| s.template.spec.as_ref())),
            );
            let target = super::priority::Target::StatefulSet(out.stateful_sets.len());
            out.stateful_sets.push((set, location(src, &name_at)));
            if let Some(spec) = w.spec.as_ref().and_then(|s| s.template.spec.as_ref()) {
                let path = [Seg::key("spec"), Seg::key("template"), Seg::key("spec")];
                super::priority::note_spec(out, src, target, spec, &path);
            }
        }
        Handling::DaemonSet => {
            let w: k8s_openapi::api::apps::v1::DaemonSet = typed(value, kind, src)?;
            let set = workloads::daemon_set(&mut ctx, &w, out.daemon_sets.len())?;
            out.template_containers.insert(
                ("DaemonSet", set.namespace.clone(), set.name.clone()),
                super::ContainerNames::of(w.spec.as_ref().and_then(|s| s.template.spec.as_ref())),
            );
            let target = super::priority::Target::DaemonSet(out.daemon_sets.len());
            out.daemon_sets.push((set, location(src, &name_at)));
            if let Some(spec) = w.spec.as_ref().and_then(|s| s.template.spec.as_ref()) {
                let path = [Seg::key("spec"), Seg::key("template"), Seg::key("spec")];
                super::priority::note_spec(out, src, target, spec, &path);
            }
        }
        Handling::Job => {
            let w: k8s_openapi::api::batch::v1::Job = typed(value, kind, src)?;
            let job = workloads::job(&mut ctx, &w, out.jobs.len())?;
            let target = super::priority::Target::Job(out.jobs.len());
            out.jobs.push((job, location(src, &name_at)));
            if let Some(spec) = w.spec.as_ref().and_then(|s| s.template.spec.as_ref()) {
                let path = [Seg::key("spec"), Seg::key("template"), Seg::key("spec")];
                super::priority::note_spec(out, src, target, spec, &path);
            }
        }
        Handling::CronJob => {
            let w: k8s_openapi::api::batch::v1::CronJob = typed(value, kind, src)?;
            let cron_job = workloads::cron_job(&mut ctx, &w, out.cron_jobs.len())?;
            let target = super::priority::Target::CronJob(out.cron_jobs.len());
            out.cron_jobs.push((cron_job, location(src, &name_at)));
            let spec = w
                .spec
                .as_ref()
                .and_then(|s| s.job_template.spec.as_ref())
                .and_then(|s| s.template.spec.as_ref());
            if let Some(spec) = spec {
                let path = [
                    Seg::key("spec"),
                    Seg::key("jobTemplate"),
                    Seg::key("spec"),
                    Seg::key("template"),
                    Seg::key("spec"),
                ];
                super::priority::note_spec(out, src, target, spec, &path);
            }
        }
        Handling::PersistentVolumeClaim => {
            let c: k8s_openapi::api::core::v1::PersistentVolumeClaim = typed(value, kind, src)?;
            let claim = workloads::claim(&ctx, &c, out.claims.len())?;
            out.claims.push((claim, location(src, &name_at)));
        }
        Handling::PersistentVolume => {
            let v: k8s_openapi::api::core::v1::PersistentVolume = typed(value, kind, src)?;
            let volume = workloads::volume(&ctx, &v, out.volumes.len())?;
            out.volumes.push((volume, location(src, &name_at)));
        }
        Handling::StorageClass => {
            let c: k8s_openapi::api::storage::v1::StorageClass = typed(value, kind, src)?;
            let class = workloads::storage_class(&ctx, &c, out.storage_classes.len())?;
            out.storage_classes.push((class, location(src, &name_at)));
        }
        Handling::ResourceQuota => {
            let q: k8s_openapi::api::core::v1::ResourceQuota = typed(value, kind, src)?;
            let quota = workloads::resource_quota(&ctx, &q, out.resource_quotas.len())?;
            out.resource_quotas.push((quota, location(src, &name_at)));
        }
        Handling::LimitRange => {
            let l: k8s_openapi::api::core::v1::LimitRange = typed(value, kind, src)?;
            let range = workloads::limit_range(&ctx, &l, out.limit_ranges.len())?;
            out.limit_ranges.push((range, location(src, &name_at)));
        }
        Handling::Service => {
            let s: k8s_openapi::api::core::v1::Service = typed(value, kind, src)?;
            let svc = super::network::service(&ctx, &s)?;
            // PodTopologySpread's default constraints read the selectors of Services.
            if let Some(selector) = svc.managed_selector() {
                out.service_selectors
                    .insert((svc.namespace.clone(), svc.name.clone()), selector.clone());
            }
            out.network.services.push(svc);
        }
        Handling::Ingress => {
            let i: k8s_openapi::api::networking::v1::Ingress = typed(value, kind, src)?;
            let ing = super::network::ingress(&ctx, &i)?;
            out.network.ingresses.push(ing);
            out.network.ingress_locations.push(location(src, &[]));
        }
        Handling::Ignore | Handling::NotSimulatedYet => ignore(
            &value,
            kind.to_string(),
            handling == Handling::NotSimulatedYet,
            src,
            out,
        ),
    }
    Ok(())
}

/// Lists an accepted object that is not simulated in `out.ignored`, with a warning when it
/// would matter in a real cluster (`warn`).
fn ignore(value: &Value, kind: String, warn: bool, src: &SourceRef, out: &mut Collected) {
    let metadata = value.get("metadata");
    let text = |key: &str| {
        metadata
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let name = text("name")
        .or_else(|| text("generateName"))
        .unwrap_or_else(|| "<unnamed>".to_string());
    let namespace = text("namespace");
    // Services and Namespaces are not simulated, but the scheduler reads their labels:
    // a Service's selector makes PodTopologySpread's default constraints apply to the
    // pods it selects, and namespaceSelector terms match Namespace labels.
    let string_map = |v: Option<&Value>| -> crate::api::Labels {
        v.and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
            .collect()
    };
    if kind == "Service"
        && api_group(
            value
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or(""),
        )
        .is_empty()
    {
        let selector = string_map(value.get("spec").and_then(|s| s.get("selector")));
        if !selector.is_empty() {
            let ns = namespace.clone().unwrap_or_else(|| "default".to_string());
            out.service_selectors.insert((ns, name.clone()), selector);
        }
    } else if kind == "Namespace" && value.get("apiVersion").and_then(Value::as_str) == Some("v1") {
        out.namespace_labels.insert(
            name.clone(),
            string_map(metadata.and_then(|m| m.get("labels"))),
        );
    }
    let at = location(src, &[]);
    if warn {
        out.warnings.push(format!(
            "{}:{}:{}: {kind} {name} is not simulated yet and was ignored",
            at.file, at.line, at.column
        ));
    }
    out.ignored.push(IgnoredObject {
        kind,
        name,
        namespace,
        file: at.file,
        line: at.line,
    });
}

#[cfg(test)]
mod tests {
    use super::super::source::parse_documents;
    use super::*;

    fn load(text: &str) -> Result<Collected, Diagnostic> {
        let mut out = Collected::default();
        for doc in parse_documents("m.yaml", text)? {
            load_object(doc.value, &doc.source, &mut out);
        }
        match Diagnostic::combine(std::mem::take(&mut out.errors)) {
            Some(d) => Err(d),
            None => Ok(out),
        }
    }

    const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web, tier: front}
    spec:
      containers:
      - name: c
        image: nginx:1.27
        resources:
          requests: {cpu: 250m, memory: 64Mi}
";

    #[test]
    fn kind_list_items_are_loaded_and_located() {
        let text = "apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: cfg}
- apiVersion: v1
  kind: Pod
  metadata: {name: p}
  spec:
    containers:
    - name: c
      image: busybox
      resources: {requests: {cpu: 1x}}
";
        let err = load(text).err().unwrap();
        assert_eq!((err.line, err.column), (14, 35), "{err}");
        assert!(
            err.message.starts_with(
                "spec.containers[0].resources.requests.cpu: \"1x\" is not a Kubernetes quantity"
            ),
            "{err}"
        );
        let ok = load(&text.replace("1x", "1")).unwrap();
        assert_eq!(ok.pods.len(), 1);
        assert_eq!(ok.pods[0].0.requests.cpu_milli, 1000);
        assert_eq!(ok.ignored.len(), 1);
        assert_eq!(
            (ok.ignored[0].kind.as_str(), ok.ignored[0].name.as_str()),
            ("ConfigMap", "cfg")
        );
    }

    #[test]
    fn typed_lists_default_item_kinds() {
        let text = "apiVersion: v1\nkind: NodeList\nitems:\n- metadata: {name: n1}\n  status: {capacity: {cpu: '2', memory: 4Gi, pods: '110'}}\n";
        let out = load(text).unwrap();
        assert_eq!(out.manifest_nodes.len(), 1);
        let node = &out.manifest_nodes[0].0;
        assert_eq!(
            (
                node.allocatable.cpu_milli,
                node.allocatable.memory,
                node.allocatable.pods
            ),
            (2000, 4 << 30, 110)
        );
        assert_eq!(node.labels.get("kubernetes.io/hostname"), Some("n1"));
    }

    #[test]
    fn unknown_fields_are_errors_with_suggestions() {
        let text = DEPLOYMENT.replace("  replicas: 3", "  replicsa: 3");
        let err = load(&text).err().unwrap();
        assert_eq!((err.line, err.column), (6, 3));
        assert_eq!(
            err.message,
            "unknown field \"replicsa\" in Deployment spec (did you mean \"replicas\"?)"
        );
        let text = DEPLOYMENT.replace("        image: nginx:1.27", "        imgae: nginx:1.27");
        let err = load(&text).err().unwrap();
        assert_eq!((err.line, err.column), (15, 9));
        assert_eq!(
            err.message,
            "unknown field \"imgae\" in Deployment spec.template.spec.containers[0] (did you mean \"image\"?)"
        );
    }

    #[test]
    fn a_misspelt_required_field_is_reported_as_the_typo() {
        let text = DEPLOYMENT.replace("  selector:", "  selectr:");
        let err = load(&text).err().unwrap();
        assert_eq!((err.line, err.column), (7, 3));
        assert_eq!(
            err.message,
            "unknown field \"selectr\" in Deployment spec (did you mean \"selector\"?)"
        );
    }

    #[test]
    fn type_errors_name_the_path() {
        let text = DEPLOYMENT.replace("replicas: 3", "replicas: three");
        let err = load(&text).err().unwrap();
        assert_eq!((err.line, err.column), (6, 13));
        assert!(
            err.message
                .starts_with("spec.replicas: invalid type: string \"three\""),
            "{}",
            err.message
        );
    }

    #[test]
    fn kinds_and_versions_are_checked() {
        let err = load(&DEPLOYMENT.replace("kind: Deployment", "kind: Deploymnet"))
            .err()
            .unwrap();
        assert_eq!((err.line, err.column), (2, 7));
        assert_eq!(
            err.message,
            "unknown kind \"Deploymnet\" (did you mean \"Deployment\"?)"
        );
        let err = load(&DEPLOYMENT.replace("apps/v1", "extensions/v1beta1"))
            .err()
            .unwrap();
        assert_eq!((err.line, err.column), (1, 13));
        assert!(err.message.contains("use apps/v1"));
        // Custom resources are accepted and ignored, not errors.
        let out = load("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n").unwrap();
        assert_eq!(out.ignored.len(), 1);
        assert_eq!(out.ignored[0].to_string(), "Widget/w");
        let err = load("apiVersion: v1\nkind: Widget\nmetadata: {name: w}\n")
            .err()
            .unwrap();
        assert!(err.message.contains("custom resources"), "{}", err.message);
    }

    #[test]
    fn ignored_kinds_and_not_yet_simulated_warnings() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n---\napiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: gvisor}\nhandler: runsc\n";
        let out = load(text).unwrap();
        assert_eq!(out.ignored.len(), 2);
        assert_eq!(out.warnings.len(), 1);
        assert!(
            out.warnings[0].starts_with("m.yaml:5:1: RuntimeClass gvisor is not simulated yet"),
            "{}",
            out.warnings[0]
        );
    }

    #[test]
    fn deployment_converts_with_template_and_selector() {
        let out = load(DEPLOYMENT).unwrap();
        let d = &out.deployments[0].0;
        assert_eq!(
            (d.name.as_str(), d.namespace.as_str(), d.replicas),
            ("web", "default", 3)
        );
        assert_eq!(d.template.pod.name, "web");
        assert_eq!(d.template.pod.requests.cpu_milli, 250);
        assert_eq!(d.template.pod.requests.memory, 64 << 20);
        assert_eq!(d.template.pod.images, vec!["nginx:1.27".to_string()]);
        assert!(d.selector.matches(&d.template.pod.labels));
        let err = load(&DEPLOYMENT.replace("matchLabels: {app: web}", "matchLabels: {app: shop}"))
            .err()
            .unwrap();
        assert_eq!((err.line, err.column), (11, 15));
        assert!(
            err.message
                .contains("`selector` does not match template `labels`"),
            "{}",
            err.message
        );
        let err = load(&DEPLOYMENT.replace("replicas: 3", "replicas: -2"))
            .err()
            .unwrap();
        assert_eq!((err.line, err.column), (6, 13));
        assert_eq!(
            err.message,
            "spec.replicas: must be greater than or equal to 0, got -2"
        );
    }
}
