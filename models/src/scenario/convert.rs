//! k8s-openapi objects → kubesim's compact API types, with the API server's defaulting and the
//! validation rules that matter to a simulation. Every error names the field by its path in
//! the manifest and is located there.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

use super::diagnostic::{Diagnostic, did_you_mean};
use super::resources::{Amounts, ContainerRequests, PodResourceSpec, pod_level_supported};
use super::source::{At, PathDisplay, Seg, SourceRef};
use crate::api::node::WellKnownLabels;
use crate::api::pod::DEFAULT_SCHEDULER_NAME;
use crate::api::pod::{
    ContainerSpec, LifecycleHandler, PodContainers, PodResources, Probe, PullPolicy, RestartPolicy,
    default_pull_policy,
};
use crate::api::storage::PodVolume;
use crate::api::{
    Deployment, DeploymentStrategy, DumpedPodStatus, IntOrPercent, LabelSelector, Labels, Node,
    NodeAffinity, NodeSelector, NodeSelectorTerm, Operator, OwnerKind, OwnerRef, Pod, PodPhase,
    PodTemplate, PreferredSchedulingTerm, Quantity, ReplicaSet, Requirement, ResourceList,
    ResourceName, Taint, TaintEffect, Toleration, TolerationOperator, WorkloadId,
};
use crate::apiserver::admission::quota::{
    Amount, ContainerResources, ResourceList as AdmissionList,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Where errors of one object go.
pub(crate) struct Ctx<'a> {
    pub src: &'a SourceRef,
    pub warnings: &'a mut Vec<String>,
}

impl Ctx<'_> {
    pub(crate) fn err(&self, path: &[Seg], message: impl std::fmt::Display) -> Diagnostic {
        self.src
            .at(path, At::Value, format!("{}: {message}", PathDisplay(path)))
    }

    /// A warning located at `path`: `file:line:column: message`.
    pub(crate) fn warn(&mut self, path: &[Seg], message: impl std::fmt::Display) {
        let at = self.src.at(path, At::Value, String::new());
        self.warnings
            .push(format!("{}:{}:{}: {message}", at.file, at.line, at.column));
    }
}

pub(crate) fn join(base: &[Seg], tail: &[Seg]) -> Vec<Seg> {
    base.iter().chain(tail).cloned().collect()
}

pub(crate) fn k(key: &str) -> Seg {
    Seg::key(key)
}

const DEFAULT_NAMESPACE: &str = "default";

/// Which resource names a resource list may hold, as upstream validation allows them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Container requests and limits, pod overhead: standard container resources
    /// (cpu, memory, ephemeral-storage, hugepages-*) or a domain-prefixed extended resource.
    Container,
    /// Pod-level `spec.resources`: cpu, memory, hugepages-*.
    PodLevel,
    /// A node pool's capacity: container resources plus `pods`.
    NodePool,
}

pub(crate) fn resource_name(name: &str, scope: Scope) -> Result<ResourceName, String> {
    let parsed = ResourceName::parse(name);
    let ok = match (&parsed, scope) {
        (_, Scope::PodLevel) => pod_level_supported(&parsed),
        (ResourceName::Pods, Scope::Container) => false,
        (ResourceName::Extended(n), _) => n.starts_with("hugepages-") || n.contains('/'),
        _ => true,
    };
    if ok {
        return Ok(parsed);
    }
    let known: &[&str] = match scope {
        Scope::Container => &["cpu", "memory", "ephemeral-storage"],
        Scope::PodLevel => &["cpu", "memory"],
        Scope::NodePool => &["cpu", "memory", "ephemeral-storage", "pods"],
    };
    let hint = did_you_mean(name, known.iter().copied());
    Err(match scope {
        Scope::PodLevel => format!(
            "pod-level resources may only be cpu, memory or hugepages-<size>, not \"{name}\"{hint}"
        ),
        Scope::Container if parsed == ResourceName::Pods => {
            "\"pods\" is a node resource; a container cannot request it".to_string()
        }
        _ => format!(
            "unknown resource \"{name}\"{hint}: the standard resources are {} and hugepages-<size>, and extended resources need a domain prefix (e.g. example.com/{name})",
            known.join(", ")
        ),
    })
}

/// Parses one quantity, in milli-units, rejecting negative amounts.
fn amount(ctx: &Ctx<'_>, path: &[Seg], text: &str) -> Result<i128, Diagnostic> {
    let q = Quantity::parse(text).map_err(|e| ctx.err(path, e))?;
    if q.is_negative() {
        return Err(ctx.err(
            path,
            format!("must be greater than or equal to 0, got \"{text}\""),
        ));
    }
    Ok(i128::from(q.milli_value()))
}

fn amounts(
    ctx: &Ctx<'_>,
    path: &[Seg],
    list: Option<&BTreeMap<String, K8sQuantity>>,
    scope: Scope,
) -> Result<Amounts, Diagnostic> {
    let mut out = Amounts::new();
    for (name, q) in list.into_iter().flatten() {
        let at = join(path, &[k(name)]);
        let rn = resource_name(name, scope).map_err(|m| {
            ctx.src
                .at(&at, At::Key, format!("{}: {m}", PathDisplay(&at)))
        })?;
        out.insert(rn, amount(ctx, &at, &q.0)?);
    }
    Ok(out)
}

/// Extended resources and hugepages cannot be overcommitted (upstream `IsOvercommitAllowed`).
fn overcommit_allowed(name: &ResourceName) -> bool {
    !matches!(name, ResourceName::Extended(_))
}

/// A container's requests after `SetDefaults_Pod` ("If limits are specified, but requests are
/// not, default requests to limits"), validated as upstream `ValidateResourceRequirements`
/// does for what matters here: requests ≤ limits, and requests = limits for resources that
/// cannot be overcommitted.
fn container_requests(
    ctx: &Ctx<'_>,
    c: &core::Container,
    path: &[Seg],
) -> Result<Amounts, Diagnostic> {
    let res = join(path, &[k("resources")]);
    let Some(resources) = &c.resources else {
        return Ok(Amounts::new());
    };
    let req_path = join(&res, &[k("requests")]);
    let lim_path = join(&res, &[k("limits")]);
    let mut requests = amounts(
        ctx,
        &req_path,
        resources.requests.as_ref(),
        Scope::Container,
    )?;
    let limits = amounts(ctx, &lim_path, resources.limits.as_ref(), Scope::Container)?;
    for (name, request) in &requests {
        let at = join(&req_path, &[k(name.as_str())]);
        match limits.get(name) {
            Some(limit) if request > limit => {
                return Err(ctx.err(
                    &at,
                    format!(
                        "must be less than or equal to {name} limit of {}",
                        milli_text(*limit)
                    ),
                ));
            }
            Some(limit) if request != limit && !overcommit_allowed(name) => {
                return Err(ctx.err(
                    &at,
                    format!("must be equal to {name} limit of {}", milli_text(*limit)),
                ));
            }
            None if !overcommit_allowed(name) => {
                return Err(ctx.err(
                    &at,
                    format!("a limit must be set for {name}, which cannot be overcommitted"),
                ));
            }
            _ => {}
        }
    }
    for (name, limit) in limits {
        requests.entry(name).or_insert(limit);
    }
    Ok(requests)
}

fn milli_text(milli: i128) -> String {
    if milli % 1000 == 0 {
        format!("{}", milli / 1000)
    } else {
        format!("{milli}m")
    }
}

fn pod_resources(
    ctx: &Ctx<'_>,
    spec: &core::PodSpec,
    path: &[Seg],
) -> Result<(ResourceList, i64, i64), Diagnostic> {
    let mut containers = Vec::new();
    for (i, c) in spec.containers.iter().enumerate() {
        let requests = container_requests(ctx, c, &join(path, &[k("containers"), Seg::Index(i)]))?;
        containers.push(ContainerRequests {
            requests,
            sidecar: false,
        });
    }
    let mut init_containers = Vec::new();
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        let at = join(path, &[k("initContainers"), Seg::Index(i)]);
        let requests = container_requests(ctx, c, &at)?;
        let sidecar = match c.restart_policy.as_deref() {
            None | Some("") => false,
            Some("Always") => true,
            Some(other) => {
                return Err(ctx.err(
                    &join(&at, &[k("restartPolicy")]),
                    format!("unsupported value \"{other}\" (an init container's restartPolicy may only be Always)"),
                ));
            }
        };
        init_containers.push(ContainerRequests { requests, sidecar });
    }
    let overhead = amounts(
        ctx,
        &join(path, &[k("overhead")]),
        spec.overhead.as_ref(),
        Scope::Container,
    )?;
    let pod_level = join(path, &[k("resources")]);
    let (pod_requests, pod_limits) = match &spec.resources {
        Some(r) => (
            amounts(
                ctx,
                &join(&pod_level, &[k("requests")]),
                r.requests.as_ref(),
                Scope::PodLevel,
            )?,
            amounts(
                ctx,
                &join(&pod_level, &[k("limits")]),
                r.limits.as_ref(),
                Scope::PodLevel,
            )?,
        ),
        None => (Amounts::new(), Amounts::new()),
    };
    let mut resources = PodResourceSpec {
        containers,
        init_containers,
        pod_level_requests: pod_requests,
        overhead,
    };
    resources.default_pod_level_requests(&pod_limits);
    resources.compute().map_err(|m| ctx.err(path, m))
}

fn node_operator(
    ctx: &Ctx<'_>,
    path: &[Seg],
    op: &str,
    allowed: &[&str],
) -> Result<Operator, Diagnostic> {
    let parsed = match op {
        "In" => Some(Operator::In),
        "NotIn" => Some(Operator::NotIn),
        "Exists" => Some(Operator::Exists),
        "DoesNotExist" => Some(Operator::DoesNotExist),
        "Gt" => Some(Operator::Gt),
        "Lt" => Some(Operator::Lt),
        _ => None,
    };
    match parsed {
        Some(o) if allowed.contains(&op) => Ok(o),
        _ => Err(ctx.err(
            path,
            format!(
                "unsupported operator \"{op}\", expected one of {}{}",
                allowed.join(", "),
                did_you_mean(op, allowed.iter().copied())
            ),
        )),
    }
}

/// Checks the values of a selector requirement against its operator, with upstream's
/// messages (`ValidateNodeSelectorRequirement`, `ValidateLabelSelectorRequirement`).
fn check_values(
    ctx: &Ctx<'_>,
    path: &[Seg],
    op: Operator,
    values: &[String],
) -> Result<(), Diagnostic> {
    let at = join(path, &[k("values")]);
    match op {
        Operator::In | Operator::NotIn if values.is_empty() => {
            Err(ctx.err(&at, "must be specified when `operator` is 'In' or 'NotIn'"))
        }
        Operator::Exists | Operator::DoesNotExist if !values.is_empty() => Err(ctx.err(
            &at,
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        )),
        Operator::Gt | Operator::Lt => match values {
            [v] if v.parse::<i64>().is_ok() => Ok(()),
            [v] => Err(ctx.err(
                &at,
                format!("\"{v}\" must be an integer for `operator` 'Gt' or 'Lt'"),
            )),
            _ => Err(ctx.err(
                &at,
                "must be specified single value when `operator` is 'Lt' or 'Gt'",
            )),
        },
        _ => Ok(()),
    }
}

fn node_selector_term(
    ctx: &Ctx<'_>,
    term: &core::NodeSelectorTerm,
    path: &[Seg],
) -> Result<NodeSelectorTerm, Diagnostic> {
    let mut out = NodeSelectorTerm::default();
    for (i, r) in term.match_expressions.iter().flatten().enumerate() {
        let at = join(path, &[k("matchExpressions"), Seg::Index(i)]);
        let op = node_operator(
            ctx,
            &join(&at, &[k("operator")]),
            &r.operator,
            &["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"],
        )?;
        let values = r.values.clone().unwrap_or_default();
        check_values(ctx, &at, op, &values)?;
        out.match_expressions
            .push(Requirement::new(r.key.clone(), op, values));
    }
    for (i, r) in term.match_fields.iter().flatten().enumerate() {
        let at = join(path, &[k("matchFields"), Seg::Index(i)]);
        // Upstream ValidateNodeFieldSelectorRequirement: only metadata.name, In/NotIn, one value.
        if r.key != "metadata.name" {
            return Err(ctx.err(
                &join(&at, &[k("key")]),
                format!(
                    "unsupported field \"{}\" (only metadata.name is supported)",
                    r.key
                ),
            ));
        }
        let op = node_operator(
            ctx,
            &join(&at, &[k("operator")]),
            &r.operator,
            &["In", "NotIn"],
        )?;
        let values = r.values.clone().unwrap_or_default();
        if values.len() != 1 {
            return Err(ctx.err(
                &join(&at, &[k("values")]),
                "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
            ));
        }
        out.match_fields
            .push(Requirement::new(r.key.clone(), op, values));
    }
    Ok(out)
}

fn node_affinity(
    ctx: &Ctx<'_>,
    na: &core::NodeAffinity,
    path: &[Seg],
) -> Result<NodeAffinity, Diagnostic> {
    let mut out = NodeAffinity::default();
    if let Some(required) = &na.required_during_scheduling_ignored_during_execution {
        let at = join(path, &[k("requiredDuringSchedulingIgnoredDuringExecution")]);
        let mut terms = Vec::new();
        for (i, term) in required.node_selector_terms.iter().enumerate() {
            terms.push(node_selector_term(
                ctx,
                term,
                &join(&at, &[k("nodeSelectorTerms"), Seg::Index(i)]),
            )?);
        }
        out.required = Some(NodeSelector { terms });
    }
    for (i, p) in na
        .preferred_during_scheduling_ignored_during_execution
        .iter()
        .flatten()
        .enumerate()
    {
        let at = join(
            path,
            &[
                k("preferredDuringSchedulingIgnoredDuringExecution"),
                Seg::Index(i),
            ],
        );
        if !(1..=100).contains(&p.weight) {
            return Err(ctx.err(
                &join(&at, &[k("weight")]),
                format!("must be in the range 1-100, got {}", p.weight),
            ));
        }
        let preference = node_selector_term(ctx, &p.preference, &join(&at, &[k("preference")]))?;
        out.preferred.push(PreferredSchedulingTerm {
            weight: p.weight,
            preference,
        });
    }
    Ok(out)
}

fn taint_effect(ctx: &Ctx<'_>, path: &[Seg], effect: &str) -> Result<TaintEffect, Diagnostic> {
    const EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];
    TaintEffect::parse(effect).ok_or_else(|| {
        ctx.err(
            path,
            format!(
                "unsupported effect \"{effect}\", expected one of NoSchedule, PreferNoSchedule, NoExecute{}",
                did_you_mean(effect, EFFECTS)
            ),
        )
    })
}

/// Upstream `validateTolerations` rules that change meaning if violated.
fn toleration(ctx: &Ctx<'_>, t: &core::Toleration, path: &[Seg]) -> Result<Toleration, Diagnostic> {
    let operator = match t.operator.as_deref() {
        None | Some("") | Some("Equal") => TolerationOperator::Equal,
        Some("Exists") => TolerationOperator::Exists,
        Some(other) => {
            return Err(ctx.err(
                &join(path, &[k("operator")]),
                format!(
                    "unsupported operator \"{other}\", expected Equal or Exists{}",
                    did_you_mean(other, ["Equal", "Exists"])
                ),
            ));
        }
    };
    let effect = match t.effect.as_deref() {
        None | Some("") => None,
        Some(e) => Some(taint_effect(ctx, &join(path, &[k("effect")]), e)?),
    };
    let key = t.key.clone().unwrap_or_default();
    let value = t.value.clone().unwrap_or_default();
    if key.is_empty() && operator != TolerationOperator::Exists {
        return Err(ctx.err(
            &join(path, &[k("operator")]),
            "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
        ));
    }
    if operator == TolerationOperator::Exists && !value.is_empty() {
        return Err(ctx.err(
            &join(path, &[k("value")]),
            "value must be empty when `operator` is 'Exists'",
        ));
    }
    if t.toleration_seconds.is_some() && effect != Some(TaintEffect::NoExecute) {
        return Err(ctx.err(
            &join(path, &[k("tolerationSeconds")]),
            "effect must be 'NoExecute' when `tolerationSeconds` is set",
        ));
    }
    Ok(Toleration {
        key,
        operator,
        value,
        effect,
        toleration_seconds: t.toleration_seconds,
    })
}

/// Built-in priority classes every cluster has (pkg/apis/scheduling/types.go:
/// `SystemCriticalPriority = 2 * HighestUserDefinablePriority` = 2000000000 for
/// system-cluster-critical, +1000 for system-node-critical).
fn builtin_priority(class: &str) -> Option<i32> {
    match class {
        "system-cluster-critical" => Some(2_000_000_000),
        "system-node-critical" => Some(2_000_001_000),
        _ => None,
    }
}

/// A pod from its metadata and spec; `path` is where the spec sits (`spec` for a Pod,
/// `spec.template.spec` for a workload's template).
pub(crate) fn pod(
    ctx: &mut Ctx<'_>,
    name: String,
    namespace: String,
    labels: Labels,
    spec: &core::PodSpec,
    path: &[Seg],
) -> Result<Pod, Diagnostic> {
    if spec.containers.is_empty() {
        return Err(ctx.err(
            &join(path, &[k("containers")]),
            "must have at least one container",
        ));
    }
    let (requests, non_zero_cpu_milli, non_zero_memory) = pod_resources(ctx, spec, path)?;
    let node_selector = spec
        .node_selector
        .iter()
        .flatten()
        .map(|(key, value)| Requirement::new(key.clone(), Operator::Equals, vec![value.clone()]))
        .collect();
    let node_affinity = match spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
    {
        Some(na) => Some(node_affinity(
            ctx,
            na,
            &join(path, &[k("affinity"), k("nodeAffinity")]),
        )?),
        None => None,
    };
    let mut tolerations = Vec::new();
    for (i, t) in spec.tolerations.iter().flatten().enumerate() {
        tolerations.push(toleration(
            ctx,
            t,
            &join(path, &[k("tolerations"), Seg::Index(i)]),
        )?);
    }
    let class = spec
        .priority_class_name
        .as_deref()
        .filter(|c| !c.is_empty());
    let priority = match (spec.priority, class) {
        (Some(p), _) => p,
        // Unknown classes are rejected by admission once every manifest is read
        // (`priority::admit`), which also applies global defaults.
        (None, Some(c)) => builtin_priority(c).unwrap_or(0),
        (None, None) => 0,
    };
    // Init containers first, then app containers, each container once: the images
    // ImageLocality looks up on a node.
    let images = spec
        .init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
        .filter_map(|c| c.image.clone())
        .filter(|i| !i.is_empty())
        .collect();
    // Topology spread, pod (anti-)affinity and host ports; paths are relative to the spec.
    let scheduling =
        crate::api::PodSchedulingSpec::from_k8s(spec).map_err(|(suffix, message)| {
            let full = format!("{}.{suffix}", super::source::path_string(path));
            ctx.src.locate(&full, format!("{full}: {message}"))
        })?;
    let mut pod = Pod {
        name,
        namespace,
        labels,
        requests,
        non_zero_cpu_milli,
        non_zero_memory,
        node_selector,
        node_affinity: node_affinity.map(Box::new),
        tolerations: tolerations.into(),
        node_name: spec.node_name.clone().filter(|n| !n.is_empty()),
        priority,
        scheduler_name: spec
            .scheduler_name
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_SCHEDULER_NAME.to_string()),
        owner: None,
        images,
        priority_class_name: class.map(str::to_string),
        preemption_policy: super::priority::preemption_policy(
            ctx.src,
            spec.preemption_policy.as_deref(),
            path,
        )?,
        termination_grace_period_seconds: match spec.termination_grace_period_seconds {
            // Upstream validation: "must be greater than or equal to 0".
            Some(s) if s < 0 => {
                return Err(ctx.err(
                    &join(path, &[k("terminationGracePeriodSeconds")]),
                    format!("must be greater than or equal to 0, got {s}"),
                ));
            }
            Some(s) => s,
            None => crate::api::pod::DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS,
        },
        ..Pod::default()
    };
    // Upstream ValidatePodSpec: activeDeadlineSeconds is 1 to MaxInt32.
    if let Some(d) = spec.active_deadline_seconds
        && !(1..=i64::from(i32::MAX)).contains(&d)
    {
        return Err(ctx.err(
            &join(path, &[k("activeDeadlineSeconds")]),
            format!("Invalid value: {d}: must be between 1 and 2147483647, inclusive"),
        ));
    }
    pod.scheduling_gates = scheduling_gates(ctx, spec, path)?;
    pod.restart_policy = restart_policy(ctx, spec.restart_policy.as_deref(), path)?;
    pod.host_network = spec.host_network.unwrap_or(false);
    pod.hostname = spec.hostname.clone().filter(|h| !h.is_empty());
    pod.subdomain = spec.subdomain.clone().filter(|s| !s.is_empty());
    pod.volumes = pod_volumes(ctx, spec, path)?;
    pod.resources = Some(std::sync::Arc::new(admission_resources(ctx, spec, path)?));
    pod.containers = Some(std::sync::Arc::new(pod_containers(
        ctx,
        spec,
        path,
        pod.termination_grace_period_seconds,
    )?));
    scheduling.apply_to(&mut pod);
    Ok(pod)
}

/// `spec.restartPolicy` after upstream `SetDefaults_PodSpec` (empty is Always), validated as
/// upstream `validateRestartPolicy` does.
fn restart_policy(
    ctx: &Ctx<'_>,
    value: Option<&str>,
    path: &[Seg],
) -> Result<RestartPolicy, Diagnostic> {
    const POLICIES: [&str; 3] = ["Always", "OnFailure", "Never"];
    match value {
        None | Some("") | Some("Always") => Ok(RestartPolicy::Always),
        Some("OnFailure") => Ok(RestartPolicy::OnFailure),
        Some("Never") => Ok(RestartPolicy::Never),
        Some(other) => Err(ctx.err(
            &join(path, &[k("restartPolicy")]),
            format!(
                "Unsupported value: \"{other}\": supported values: \"Always\", \"OnFailure\", \"Never\"{}",
                did_you_mean(other, POLICIES)
            ),
        )),
    }
}

/// The containers as the kubelet runs them, defaulted and validated as upstream
/// `SetDefaults_Container` / `SetDefaults_Probe` and `validateProbe` /
/// `validateLifecycle` do for what kubesim reads.
fn pod_containers(
    ctx: &Ctx<'_>,
    spec: &core::PodSpec,
    path: &[Seg],
    grace: i64,
) -> Result<PodContainers, Diagnostic> {
    let mut out = PodContainers::default();
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        let at = join(path, &[k("initContainers"), Seg::Index(i)]);
        let mut container = container_spec(ctx, c, &at, grace)?;
        container.restartable = c.restart_policy.as_deref() == Some("Always");
        if !container.restartable
            && let Some(field) = [
                ("livenessProbe", c.liveness_probe.is_some()),
                ("readinessProbe", c.readiness_probe.is_some()),
                ("startupProbe", c.startup_probe.is_some()),
            ]
            .into_iter()
            .find_map(|(f, set)| set.then_some(f))
        {
            // Upstream validateInitContainers: only sidecars may have probes.
            return Err(ctx.err(
                &join(&at, &[k(field)]),
                "Forbidden: may not be set for init containers without restartPolicy=Always",
            ));
        }
        out.init_containers.push(container);
    }
    for (i, c) in spec.containers.iter().enumerate() {
        let at = join(path, &[k("containers"), Seg::Index(i)]);
        out.containers.push(container_spec(ctx, c, &at, grace)?);
    }
    Ok(out)
}

fn container_spec(
    ctx: &Ctx<'_>,
    c: &core::Container,
    path: &[Seg],
    grace: i64,
) -> Result<ContainerSpec, Diagnostic> {
    let image = c.image.clone().unwrap_or_default();
    let image_pull_policy = match c.image_pull_policy.as_deref() {
        None | Some("") => default_pull_policy(&image),
        Some("Always") => PullPolicy::Always,
        Some("IfNotPresent") => PullPolicy::IfNotPresent,
        Some("Never") => PullPolicy::Never,
        Some(other) => {
            const POLICIES: [&str; 3] = ["Always", "IfNotPresent", "Never"];
            return Err(ctx.err(
                &join(path, &[k("imagePullPolicy")]),
                format!(
                    "Unsupported value: \"{other}\": supported values: \"Always\", \"IfNotPresent\", \"Never\"{}",
                    did_you_mean(other, POLICIES)
                ),
            ));
        }
    };
    let probe = |field: &str, p: Option<&core::Probe>| -> Result<Option<Probe>, Diagnostic> {
        p.map(|p| probe(ctx, p, &join(path, &[k(field)]), field))
            .transpose()
    };
    let pre_stop = match c.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref()) {
        Some(h) => Some(lifecycle_handler(
            ctx,
            h,
            &join(path, &[k("lifecycle"), k("preStop")]),
            grace,
        )?),
        None => None,
    };
    Ok(ContainerSpec {
        name: c.name.clone(),
        image,
        image_pull_policy,
        liveness_probe: probe("livenessProbe", c.liveness_probe.as_ref())?,
        readiness_probe: probe("readinessProbe", c.readiness_probe.as_ref())?,
        startup_probe: probe("startupProbe", c.startup_probe.as_ref())?,
        pre_stop,
        restartable: false,
    })
}

/// A probe after upstream `SetDefaults_Probe` (zero means the default), validated as
/// upstream `validateProbe` does: no negative field, exactly one handler, a success
/// threshold of 1 for liveness and startup probes, no grace period on readiness probes.
fn probe(ctx: &Ctx<'_>, p: &core::Probe, path: &[Seg], field: &str) -> Result<Probe, Diagnostic> {
    let handlers = [
        p.exec.is_some(),
        p.http_get.is_some(),
        p.tcp_socket.is_some(),
        p.grpc.is_some(),
    ]
    .into_iter()
    .filter(|h| *h)
    .count();
    if handlers != 1 {
        return Err(ctx.err(
            path,
            if handlers == 0 {
                "Required value: must specify a handler type (exec, httpGet, tcpSocket or grpc)"
            } else {
                "Forbidden: may not specify more than 1 handler type"
            },
        ));
    }
    // Upstream validateHTTPGetAction / validateTCPSocketAction / the gRPC check: a numbered
    // port is 1 to 65535 (a named one is looked up in the container's ports).
    let port = [
        p.http_get.as_ref().map(|h| ("httpGet", h.port.clone())),
        p.tcp_socket.as_ref().map(|t| ("tcpSocket", t.port.clone())),
        p.grpc.as_ref().map(|g| ("grpc", IntOrString::Int(g.port))),
    ];
    if let Some((handler, IntOrString::Int(n))) = port.into_iter().flatten().next()
        && !(1..=65535).contains(&n)
    {
        return Err(ctx.err(
            &join(path, &[k(handler), k("port")]),
            format!("Invalid value: {n}: must be between 1 and 65535, inclusive"),
        ));
    }
    let defaults = Probe::default();
    let mut out = defaults;
    for (name, value, slot, default) in [
        (
            "initialDelaySeconds",
            p.initial_delay_seconds,
            &mut out.initial_delay_seconds,
            defaults.initial_delay_seconds,
        ),
        (
            "periodSeconds",
            p.period_seconds,
            &mut out.period_seconds,
            defaults.period_seconds,
        ),
        (
            "timeoutSeconds",
            p.timeout_seconds,
            &mut out.timeout_seconds,
            defaults.timeout_seconds,
        ),
        (
            "successThreshold",
            p.success_threshold,
            &mut out.success_threshold,
            defaults.success_threshold,
        ),
        (
            "failureThreshold",
            p.failure_threshold,
            &mut out.failure_threshold,
            defaults.failure_threshold,
        ),
    ] {
        match value {
            Some(v) if v < 0 => {
                return Err(ctx.err(
                    &join(path, &[k(name)]),
                    format!("must be greater than or equal to 0, got {v}"),
                ));
            }
            Some(v) if v > 0 => *slot = v,
            _ => *slot = default,
        }
    }
    if field != "readinessProbe" && out.success_threshold != 1 {
        return Err(ctx.err(
            &join(path, &[k("successThreshold")]),
            format!("Invalid value: {}: must be 1", out.success_threshold),
        ));
    }
    if let Some(g) = p.termination_grace_period_seconds {
        let at = join(path, &[k("terminationGracePeriodSeconds")]);
        if field == "readinessProbe" {
            return Err(ctx.err(&at, "Invalid value: must not be set for readinessProbes"));
        }
        if g <= 0 {
            return Err(ctx.err(&at, format!("Invalid value: {g}: must be greater than 0")));
        }
        out.termination_grace_period_seconds = Some(g);
    }
    Ok(out)
}

/// `lifecycle.preStop`, validated as upstream `validateHandler` / `validateSleepAction` do.
fn lifecycle_handler(
    ctx: &Ctx<'_>,
    h: &core::LifecycleHandler,
    path: &[Seg],
    grace: i64,
) -> Result<LifecycleHandler, Diagnostic> {
    let mut found = Vec::new();
    if h.exec.is_some() {
        found.push(LifecycleHandler::Exec);
    }
    if h.http_get.is_some() {
        found.push(LifecycleHandler::HttpGet);
    }
    if h.tcp_socket.is_some() {
        found.push(LifecycleHandler::TcpSocket);
    }
    if let Some(s) = &h.sleep {
        let at = join(path, &[k("sleep"), k("seconds")]);
        if s.seconds < 0 {
            return Err(ctx.err(
                &at,
                format!("Invalid value: {}: must be non-negative", s.seconds),
            ));
        }
        if s.seconds > grace {
            return Err(ctx.err(
                &at,
                format!(
                    "Invalid value: {}: must be less than terminationGracePeriodSeconds",
                    s.seconds
                ),
            ));
        }
        found.push(LifecycleHandler::Sleep { seconds: s.seconds });
    }
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(ctx.err(
            path,
            "Required value: must specify a handler type (exec, httpGet, tcpSocket or sleep)",
        )),
        _ => Err(ctx.err(path, "Forbidden: may not specify more than 1 handler type")),
    }
}

/// The volumes that matter to scheduling and storage: claims and emptyDirs.
fn pod_volumes(
    ctx: &Ctx<'_>,
    spec: &core::PodSpec,
    path: &[Seg],
) -> Result<Vec<PodVolume>, Diagnostic> {
    let mut out = Vec::new();
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        let at = join(path, &[k("volumes"), Seg::Index(i)]);
        if let Some(claim) = &v.persistent_volume_claim {
            if claim.claim_name.is_empty() {
                return Err(ctx.err(
                    &join(&at, &[k("persistentVolumeClaim"), k("claimName")]),
                    "Required value: the name of a PersistentVolumeClaim in the pod's namespace",
                ));
            }
            out.push(PodVolume::Claim {
                name: claim.claim_name.clone(),
                read_only: claim.read_only.unwrap_or(false),
            });
        } else if let Some(empty_dir) = &v.empty_dir {
            let size_limit = match &empty_dir.size_limit {
                Some(q) => {
                    let limit_path = join(&at, &[k("emptyDir"), k("sizeLimit")]);
                    let parsed = Quantity::parse(&q.0).map_err(|e| ctx.err(&limit_path, e))?;
                    if parsed.is_negative() {
                        return Err(ctx.err(
                            &limit_path,
                            format!("must be greater than or equal to 0, got \"{}\"", q.0),
                        ));
                    }
                    Some(parsed.value())
                }
                None => None,
            };
            out.push(PodVolume::EmptyDir { size_limit });
        }
    }
    Ok(out)
}

fn admission_list(
    ctx: &Ctx<'_>,
    path: &[Seg],
    list: Option<&BTreeMap<String, K8sQuantity>>,
) -> Result<AdmissionList, Diagnostic> {
    let mut out = AdmissionList::new();
    for (name, q) in list.into_iter().flatten() {
        let amount = Amount::parse(&q.0).map_err(|e| ctx.err(&join(path, &[k(name)]), e))?;
        out.insert(name.clone(), amount);
    }
    Ok(out)
}

fn container_resources(
    ctx: &Ctx<'_>,
    c: &core::Container,
    path: &[Seg],
    restartable_init: bool,
) -> Result<ContainerResources, Diagnostic> {
    let res = join(path, &[k("resources")]);
    let r = c.resources.as_ref();
    let mut requests = admission_list(
        ctx,
        &join(&res, &[k("requests")]),
        r.and_then(|r| r.requests.as_ref()),
    )?;
    let limits = admission_list(
        ctx,
        &join(&res, &[k("limits")]),
        r.and_then(|r| r.limits.as_ref()),
    )?;
    // Upstream SetDefaults_Pod: a limit without a request is also the request.
    for (name, limit) in &limits {
        requests.entry(name.clone()).or_insert(*limit);
    }
    Ok(ContainerResources {
        name: c.name.clone(),
        requests,
        limits,
        restartable_init,
    })
}

/// Each container's requests and limits as the API server stores them, for ResourceQuota
/// and LimitRange admission.
fn admission_resources(
    ctx: &Ctx<'_>,
    spec: &core::PodSpec,
    path: &[Seg],
) -> Result<PodResources, Diagnostic> {
    let mut out = PodResources {
        active_deadline_seconds: spec.active_deadline_seconds,
        ..PodResources::default()
    };
    for (i, c) in spec.containers.iter().enumerate() {
        let at = join(path, &[k("containers"), Seg::Index(i)]);
        out.containers
            .push(container_resources(ctx, c, &at, false)?);
    }
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        let at = join(path, &[k("initContainers"), Seg::Index(i)]);
        let sidecar = c.restart_policy.as_deref() == Some("Always");
        out.init_containers
            .push(container_resources(ctx, c, &at, sidecar)?);
    }
    out.overhead = admission_list(ctx, &join(path, &[k("overhead")]), spec.overhead.as_ref())?;
    Ok(out)
}

/// `spec.schedulingGates` names, validated as upstream `validateSchedulingGates` does: every
/// gate needs a name, and names are unique.
fn scheduling_gates(
    ctx: &Ctx<'_>,
    spec: &core::PodSpec,
    path: &[Seg],
) -> Result<Vec<String>, Diagnostic> {
    let mut names: Vec<String> = Vec::new();
    for (i, gate) in spec.scheduling_gates.iter().flatten().enumerate() {
        let at = join(path, &[k("schedulingGates"), Seg::Index(i), k("name")]);
        if gate.name.is_empty() {
            return Err(ctx.err(&at, "Required value: a scheduling gate needs a name"));
        }
        if names.contains(&gate.name) {
            return Err(ctx.err(&at, format!("Duplicate value: \"{}\"", gate.name)));
        }
        names.push(gate.name.clone());
    }
    Ok(names)
}

/// The annotation the ReplicaSet controller ranks pods by when it scales down.
pub(crate) const ANNOTATION_DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// `controller.kubernetes.io/pod-deletion-cost` (default 0), validated as upstream
/// `GetDeletionCostFromPodAnnotations` parses it: a base-10 int32 without a plus sign or
/// leading zeros. `meta_path` is where the object's metadata sits.
fn deletion_cost(
    ctx: &Ctx<'_>,
    annotations: Option<&BTreeMap<String, String>>,
    meta_path: &[Seg],
) -> Result<i32, Diagnostic> {
    let Some(value) = annotations.and_then(|a| a.get(ANNOTATION_DELETION_COST)) else {
        return Ok(0);
    };
    let valid_start = value == "0"
        || value.starts_with('-')
        || value.starts_with(|c: char| ('1'..='9').contains(&c));
    match value.parse::<i32>() {
        Ok(cost) if valid_start => Ok(cost),
        _ => Err(ctx.err(
            &join(meta_path, &[k("annotations"), k(ANNOTATION_DELETION_COST)]),
            format!("Invalid value: \"{value}\": must be a 32bit integer"),
        )),
    }
}

pub(crate) fn api_group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

/// The owner reference with `controller: true`, with its index; upstream
/// `ValidateOwnerReferences` allows at most one.
pub(crate) fn controller_ref<'m>(
    ctx: &Ctx<'_>,
    m: &'m meta::ObjectMeta,
) -> Result<Option<(usize, &'m meta::OwnerReference)>, Diagnostic> {
    let mut found: Option<(usize, &meta::OwnerReference)> = None;
    for (i, r) in m.owner_references.iter().flatten().enumerate() {
        if r.controller != Some(true) {
            continue;
        }
        if let Some((_, first)) = found {
            return Err(ctx.err(
                &[k("metadata"), k("ownerReferences"), Seg::Index(i), k("controller")],
                format!(
                    "Invalid value: only one reference can have Controller set to true, found \"true\" in references for {}/{} and {}/{}",
                    first.kind, first.name, r.kind, r.name
                ),
            ));
        }
        found = Some((i, r));
    }
    Ok(found)
}

/// A pod's controlling owner from a dump: a ReplicaSet, ReplicationController, StatefulSet,
/// DaemonSet or Job. Pods of other controllers (a Node for mirror pods) run as bare pods.
fn pod_owner(ctx: &Ctx<'_>, m: &meta::ObjectMeta) -> Result<Option<OwnerRef>, Diagnostic> {
    let Some((_, r)) = controller_ref(ctx, m)? else {
        return Ok(None);
    };
    let kind = match (api_group(&r.api_version), r.kind.as_str()) {
        ("apps", "ReplicaSet") => OwnerKind::ReplicaSet,
        ("", "ReplicationController") => OwnerKind::ReplicationController,
        ("apps", "StatefulSet") => OwnerKind::StatefulSet,
        ("apps", "DaemonSet") => OwnerKind::DaemonSet,
        ("batch", "Job") => OwnerKind::Job,
        _ => return Ok(None),
    };
    Ok(Some(OwnerRef {
        kind,
        name: r.name.clone(),
        id: WorkloadId::UNRESOLVED,
    }))
}

/// What a dump says about a pod's state, when it says anything (`status` with a phase, start
/// time, conditions or container statuses, or a `metadata.deletionTimestamp`). Times are
/// absolute (Unix seconds) here; the loader makes them relative to the dump's moment once every
/// object is read (`rebase_dumped`).
fn dumped_status(ctx: &Ctx<'_>, p: &core::Pod) -> Result<Option<DumpedPodStatus>, Diagnostic> {
    let status = p.status.as_ref();
    let deletion = p.metadata.deletion_timestamp.as_ref();
    let has_status = status.is_some_and(|s| {
        s.phase.is_some()
            || s.start_time.is_some()
            || s.conditions.as_ref().is_some_and(|c| !c.is_empty())
            || s.container_statuses.as_ref().is_some_and(|c| !c.is_empty())
    });
    if !has_status && deletion.is_none() {
        return Ok(None);
    }
    const PHASES: [&str; 5] = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];
    let phase = match status.and_then(|s| s.phase.as_deref()) {
        None | Some("") | Some("Unknown") => None,
        Some("Pending") => Some(PodPhase::Pending),
        Some("Running") => Some(PodPhase::Running),
        Some("Succeeded") => Some(PodPhase::Succeeded),
        Some("Failed") => Some(PodPhase::Failed),
        Some(other) => {
            return Err(ctx.err(
                &[k("status"), k("phase")],
                format!(
                    "Unsupported value: \"{other}\": supported values: {}{}",
                    PHASES.map(|p| format!("\"{p}\"")).join(", "),
                    did_you_mean(other, PHASES)
                ),
            ));
        }
    };
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    let restarts = status
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .fold(0i32, |sum, c| sum.saturating_add(c.restart_count.max(0)));
    Ok(Some(DumpedPodStatus {
        phase,
        start_time_offset_secs: status
            .and_then(|s| s.start_time.as_ref())
            .map(|t| t.0.as_second()),
        creation_offset_secs: p
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0.as_second()),
        ready,
        terminating: deletion.is_some(),
        restarts,
    }))
}

pub(crate) fn labels(map: Option<&BTreeMap<String, String>>) -> Labels {
    map.cloned().map(Labels::from).unwrap_or_default()
}

pub(crate) fn namespace(m: &meta::ObjectMeta) -> String {
    m.namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string())
}

/// The object's name; `metadata.generateName` gets a deterministic suffix.
pub(crate) fn object_name(
    ctx: &Ctx<'_>,
    m: &meta::ObjectMeta,
    kind: &str,
    serial: usize,
) -> Result<String, Diagnostic> {
    if let Some(name) = m.name.as_deref().filter(|n| !n.is_empty()) {
        return Ok(name.to_string());
    }
    if let Some(base) = m.generate_name.as_deref().filter(|n| !n.is_empty()) {
        return Ok(format!("{base}{serial:05}"));
    }
    Err(ctx.err(&[k("metadata")], format!("a {kind} needs metadata.name")))
}

pub(crate) fn bare_pod(ctx: &mut Ctx<'_>, p: &core::Pod, serial: usize) -> Result<Pod, Diagnostic> {
    let name = object_name(ctx, &p.metadata, "Pod", serial)?;
    let Some(spec) = &p.spec else {
        return Err(ctx.err(&[], "a Pod needs a spec"));
    };
    let mut pod = pod(
        ctx,
        name,
        namespace(&p.metadata),
        labels(p.metadata.labels.as_ref()),
        spec,
        &[k("spec")],
    )?;
    pod.deletion_cost = deletion_cost(ctx, p.metadata.annotations.as_ref(), &[k("metadata")])?;
    pod.annotations = p.metadata.annotations.clone().unwrap_or_default();
    pod.owner = pod_owner(ctx, &p.metadata)?;
    pod.nominated_node_name = p
        .status
        .as_ref()
        .and_then(|s| s.nominated_node_name.clone())
        .filter(|n| !n.is_empty());
    pod.dumped = dumped_status(ctx, p)?.map(Box::new);
    Ok(pod)
}

pub(crate) fn label_selector(
    ctx: &Ctx<'_>,
    sel: &meta::LabelSelector,
    path: &[Seg],
) -> Result<LabelSelector, Diagnostic> {
    let mut requirements: Vec<Requirement> = sel
        .match_labels
        .iter()
        .flatten()
        .map(|(key, value)| Requirement::new(key.clone(), Operator::Equals, vec![value.clone()]))
        .collect();
    for (i, r) in sel.match_expressions.iter().flatten().enumerate() {
        let at = join(path, &[k("matchExpressions"), Seg::Index(i)]);
        let op = node_operator(
            ctx,
            &join(&at, &[k("operator")]),
            &r.operator,
            &["In", "NotIn", "Exists", "DoesNotExist"],
        )?;
        let values = r.values.clone().unwrap_or_default();
        check_values(ctx, &at, op, &values)?;
        requirements.push(Requirement::new(r.key.clone(), op, values));
    }
    Ok(LabelSelector { requirements })
}

fn describe_selector(sel: &LabelSelector) -> String {
    let parts: Vec<String> = sel
        .requirements
        .iter()
        .map(|r| match r.operator {
            Operator::Equals => format!("{}={}", r.key, r.values.join(",")),
            Operator::Exists => r.key.clone(),
            Operator::DoesNotExist => format!("!{}", r.key),
            op => format!("{} {op:?} ({})", r.key, r.values.join(",")),
        })
        .collect();
    parts.join(", ")
}

fn describe_labels(l: &Labels) -> String {
    if l.is_empty() {
        return "none".to_string();
    }
    l.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a Deployment and a ReplicaSet share: replicas, selector and template, validated as
/// upstream `ValidateDeploymentSpec` / `ValidateReplicaSetSpec` do.
pub(crate) struct WorkloadParts {
    pub name: String,
    pub namespace: String,
    pub replicas: i32,
    pub selector: LabelSelector,
    pub template: PodTemplate,
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub min_ready_seconds: i32,
}

pub(crate) fn non_negative(ctx: &Ctx<'_>, path: &[Seg], value: i32) -> Result<i32, Diagnostic> {
    if value < 0 {
        return Err(ctx.err(
            path,
            format!("must be greater than or equal to 0, got {value}"),
        ));
    }
    Ok(value)
}

/// A pod count no larger than [`super::MAX_CLUSTER_PODS`], so that a stray digit cannot
/// exhaust memory.
pub(crate) fn at_most_cluster_pods(
    ctx: &Ctx<'_>,
    path: &[Seg],
    value: i32,
) -> Result<i32, Diagnostic> {
    if u64::try_from(value).is_ok_and(|n| n > super::MAX_CLUSTER_PODS) {
        return Err(ctx.err(
            path,
            format!(
                "must be at most {} (kubesim's limit on pods in a cluster), got {value}",
                super::MAX_CLUSTER_PODS
            ),
        ));
    }
    Ok(value)
}

/// `base` is where the workload's spec sits (`spec`, or `spec.jobTemplate.spec` for a
/// CronJob's Jobs).
#[allow(clippy::too_many_arguments)]
pub(crate) fn workload(
    ctx: &mut Ctx<'_>,
    base: &[Seg],
    kind: &str,
    m: &meta::ObjectMeta,
    replicas: Option<i32>,
    min_ready_seconds: Option<i32>,
    selector: &meta::LabelSelector,
    template: Option<&core::PodTemplateSpec>,
    serial: usize,
) -> Result<WorkloadParts, Diagnostic> {
    let name = object_name(ctx, m, kind, serial)?;
    let ns = namespace(m);
    let replicas = replicas.unwrap_or(1);
    if replicas < 0 {
        return Err(ctx.err(
            &join(base, &[k("replicas")]),
            format!("must be greater than or equal to 0, got {replicas}"),
        ));
    }
    let replicas = at_most_cluster_pods(ctx, &join(base, &[k("replicas")]), replicas)?;
    let sel_path = join(base, &[k("selector")]);
    let selector = label_selector(ctx, selector, &sel_path)?;
    if selector.requirements.is_empty() {
        return Err(ctx.err(
            &sel_path,
            format!(
                "empty selector is invalid for a {kind}: set matchLabels to the template's labels"
            ),
        ));
    }
    let tpl_path = join(base, &[k("template")]);
    let Some(template) = template else {
        return Err(ctx.err(base, format!("{}.template is required", PathDisplay(base))));
    };
    let tpl_labels = labels(template.metadata.as_ref().and_then(|m| m.labels.as_ref()));
    if !selector.matches(&tpl_labels) {
        return Err(ctx.err(
            &join(&tpl_path, &[k("metadata"), k("labels")]),
            format!(
                "`selector` does not match template `labels` (selector: {}; template labels: {})",
                describe_selector(&selector),
                describe_labels(&tpl_labels)
            ),
        ));
    }
    let Some(spec) = &template.spec else {
        return Err(ctx.err(
            &tpl_path,
            format!("{}.spec is required", PathDisplay(&tpl_path)),
        ));
    };
    let mut pod = pod(
        ctx,
        name.clone(),
        ns.clone(),
        tpl_labels,
        spec,
        &join(&tpl_path, &[k("spec")]),
    )?;
    let template_annotations = template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.as_ref());
    pod.deletion_cost = deletion_cost(
        ctx,
        template_annotations,
        &join(&tpl_path, &[k("metadata")]),
    )?;
    pod.annotations = template_annotations.cloned().unwrap_or_default();
    let min_ready_seconds = non_negative(
        ctx,
        &join(base, &[k("minReadySeconds")]),
        min_ready_seconds.unwrap_or(0),
    )?;
    Ok(WorkloadParts {
        name,
        namespace: ns,
        replicas,
        selector,
        template: PodTemplate { pod },
        labels: labels(m.labels.as_ref()),
        annotations: m.annotations.clone().unwrap_or_default(),
        min_ready_seconds,
    })
}

/// `maxSurge` / `maxUnavailable`, validated as upstream `ValidatePositiveIntOrPercent`: a
/// non-negative integer or a string matching `[0-9]+%`.
pub(crate) fn int_or_percent(
    ctx: &Ctx<'_>,
    path: &[Seg],
    value: &IntOrString,
) -> Result<IntOrPercent, Diagnostic> {
    match value {
        IntOrString::Int(n) => Ok(IntOrPercent::Int(non_negative(ctx, path, *n)?)),
        IntOrString::String(text) => {
            let digits = text.strip_suffix('%').unwrap_or("");
            match digits.parse::<i32>() {
                Ok(p) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                    Ok(IntOrPercent::Percent(p))
                }
                _ => Err(ctx.err(
                    path,
                    format!(
                        "Invalid value: \"{text}\": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%', or '93%'), or write a whole number without quotes"
                    ),
                )),
            }
        }
    }
}

/// `spec.strategy` after upstream `SetDefaults_Deployment` (type RollingUpdate, 25% / 25%),
/// validated as upstream `ValidateDeploymentStrategy` and `ValidateRollingUpdateDeployment`
/// do. Unlike `maxUnavailable`, `maxSurge` may exceed 100%.
fn deployment_strategy(
    ctx: &Ctx<'_>,
    strategy: Option<&apps::DeploymentStrategy>,
) -> Result<DeploymentStrategy, Diagnostic> {
    let base = [k("spec"), k("strategy")];
    let Some(strategy) = strategy else {
        return Ok(DeploymentStrategy::default());
    };
    const TYPES: [&str; 2] = ["Recreate", "RollingUpdate"];
    let ru_path = join(&base, &[k("rollingUpdate")]);
    match strategy
        .type_
        .as_deref()
        .filter(|t| !t.is_empty())
        .unwrap_or("RollingUpdate")
    {
        "Recreate" if strategy.rolling_update.is_some() => Err(ctx.src.at(
            &ru_path,
            At::Key,
            format!(
                "{}: Forbidden: may not be specified when strategy `type` is 'Recreate'",
                PathDisplay(&ru_path)
            ),
        )),
        "Recreate" => Ok(DeploymentStrategy::Recreate),
        "RollingUpdate" => {
            let ru = strategy.rolling_update.as_ref();
            let unavailable_path = join(&ru_path, &[k("maxUnavailable")]);
            let max_unavailable = match ru.and_then(|r| r.max_unavailable.as_ref()) {
                Some(v) => int_or_percent(ctx, &unavailable_path, v)?,
                None => IntOrPercent::Percent(25),
            };
            let max_surge = match ru.and_then(|r| r.max_surge.as_ref()) {
                Some(v) => int_or_percent(ctx, &join(&ru_path, &[k("maxSurge")]), v)?,
                None => IntOrPercent::Percent(25),
            };
            let number = |v: IntOrPercent| match v {
                IntOrPercent::Int(n) | IntOrPercent::Percent(n) => n,
            };
            if number(max_unavailable) == 0 && number(max_surge) == 0 {
                return Err(ctx.err(
                    &unavailable_path,
                    format!("Invalid value: {max_unavailable}: may not be 0 when `maxSurge` is 0"),
                ));
            }
            if let IntOrPercent::Percent(p) = max_unavailable
                && p > 100
            {
                return Err(ctx.err(
                    &unavailable_path,
                    format!("Invalid value: \"{p}%\": must not be greater than 100%"),
                ));
            }
            Ok(DeploymentStrategy::RollingUpdate {
                max_surge,
                max_unavailable,
            })
        }
        other => Err(ctx.err(
            &join(&base, &[k("type")]),
            format!(
                "Unsupported value: \"{other}\": supported values: \"Recreate\", \"RollingUpdate\"{}",
                did_you_mean(other, TYPES)
            ),
        )),
    }
}

pub(crate) fn deployment(
    ctx: &mut Ctx<'_>,
    d: &apps::Deployment,
    serial: usize,
) -> Result<Deployment, Diagnostic> {
    let Some(spec) = &d.spec else {
        return Err(ctx.err(&[], "a Deployment needs a spec"));
    };
    let w = workload(
        ctx,
        &[k("spec")],
        "Deployment",
        &d.metadata,
        spec.replicas,
        spec.min_ready_seconds,
        &spec.selector,
        Some(&spec.template),
        serial,
    )?;
    let strategy = deployment_strategy(ctx, spec.strategy.as_ref())?;
    let revision_history_limit = match spec.revision_history_limit {
        Some(n) => non_negative(ctx, &[k("spec"), k("revisionHistoryLimit")], n)?,
        None => crate::api::DEFAULT_REVISION_HISTORY_LIMIT,
    };
    // Upstream ValidateDeploymentSpec runs after defaulting, so a minReadySeconds of 600 or
    // more is refused against the default deadline too.
    let deadline_path = [k("spec"), k("progressDeadlineSeconds")];
    let deadline = match spec.progress_deadline_seconds {
        Some(n) => non_negative(ctx, &deadline_path, n)?,
        None => crate::api::DEFAULT_PROGRESS_DEADLINE_SECONDS,
    };
    if deadline <= w.min_ready_seconds {
        let (at, note) = match spec.progress_deadline_seconds {
            Some(_) => (deadline_path.to_vec(), String::new()),
            None => (
                vec![k("spec"), k("minReadySeconds")],
                " (the default; set progressDeadlineSeconds above minReadySeconds)".to_string(),
            ),
        };
        return Err(ctx.src.at(
            &at,
            At::Value,
            format!(
                "spec.progressDeadlineSeconds: Invalid value: {deadline}{note}: must be greater than minReadySeconds ({})",
                w.min_ready_seconds
            ),
        ));
    }
    let mut deployment = Deployment::new(w.name, w.namespace, w.replicas, w.selector, w.template);
    deployment.strategy = strategy;
    deployment.min_ready_seconds = w.min_ready_seconds;
    deployment.progress_deadline_seconds = Some(deadline);
    deployment.revision_history_limit = revision_history_limit;
    deployment.paused = spec.paused.unwrap_or(false);
    deployment.labels = w.labels;
    deployment.annotations = w.annotations;
    Ok(deployment)
}

pub(crate) fn replica_set(
    ctx: &mut Ctx<'_>,
    r: &apps::ReplicaSet,
    serial: usize,
) -> Result<ReplicaSet, Diagnostic> {
    let Some(spec) = &r.spec else {
        return Err(ctx.err(&[], "a ReplicaSet needs a spec"));
    };
    let w = workload(
        ctx,
        &[k("spec")],
        "ReplicaSet",
        &r.metadata,
        spec.replicas,
        spec.min_ready_seconds,
        &spec.selector,
        spec.template.as_ref(),
        serial,
    )?;
    let owner = match controller_ref(ctx, &r.metadata)? {
        None => None,
        Some((_, o)) if o.kind == "Deployment" && api_group(&o.api_version) == "apps" => {
            Some(OwnerRef {
                kind: OwnerKind::Deployment,
                name: o.name.clone(),
                id: WorkloadId::UNRESOLVED,
            })
        }
        Some((i, o)) => {
            ctx.warn(
                &[k("metadata"), k("ownerReferences"), Seg::Index(i)],
                format!(
                    "ReplicaSet {} is controlled by {} {} ({}), which kubesim does not simulate; it runs as a ReplicaSet without an owner",
                    w.name, o.kind, o.name, o.api_version
                ),
            );
            None
        }
    };
    Ok(ReplicaSet {
        kind: OwnerKind::ReplicaSet,
        owner,
        min_ready_seconds: w.min_ready_seconds,
        labels: w.labels,
        annotations: w.annotations,
        ..ReplicaSet::new(w.name, w.namespace, w.replicas, w.selector, w.template)
    })
}

/// A ReplicationController (core/v1), run by the ReplicaSet controller as upstream does. Its
/// selector is a plain label map; upstream `SetDefaults_ReplicationController` fills an empty
/// selector and empty labels from the template's labels.
pub(crate) fn replication_controller(
    ctx: &mut Ctx<'_>,
    r: &core::ReplicationController,
    serial: usize,
) -> Result<ReplicaSet, Diagnostic> {
    let Some(spec) = &r.spec else {
        return Err(ctx.err(&[], "a ReplicationController needs a spec"));
    };
    let template_labels = spec
        .template
        .as_ref()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .filter(|l| !l.is_empty());
    let selector = spec
        .selector
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| template_labels.clone());
    if selector.is_none() {
        return Err(ctx.err(
            &[k("spec"), k("selector")],
            "Required value: a ReplicationController needs a selector or template labels",
        ));
    }
    let mut metadata = r.metadata.clone();
    if metadata.labels.as_ref().is_none_or(BTreeMap::is_empty) {
        metadata.labels = template_labels;
    }
    let w = workload(
        ctx,
        &[k("spec")],
        "ReplicationController",
        &metadata,
        spec.replicas,
        spec.min_ready_seconds,
        &meta::LabelSelector {
            match_labels: selector,
            match_expressions: None,
        },
        spec.template.as_ref(),
        serial,
    )?;
    Ok(ReplicaSet {
        kind: OwnerKind::ReplicationController,
        min_ready_seconds: w.min_ready_seconds,
        labels: w.labels,
        annotations: w.annotations,
        ..ReplicaSet::new(w.name, w.namespace, w.replicas, w.selector, w.template)
    })
}

pub(crate) fn taint(
    ctx: &Ctx<'_>,
    key: &str,
    value: &str,
    effect: &str,
    path: &[Seg],
) -> Result<Taint, Diagnostic> {
    if key.is_empty() {
        return Err(ctx.err(&join(path, &[k("key")]), "a taint needs a key"));
    }
    let effect = taint_effect(ctx, &join(path, &[k("effect")]), effect)?;
    Ok(Taint {
        key: key.to_string(),
        value: value.to_string(),
        effect,
    })
}

/// A Node manifest (e.g. from `kubectl get nodes -o yaml`): allocatable from
/// `status.allocatable`, falling back to `status.capacity` as upstream `SetDefaults_NodeStatus`
/// does.
pub(crate) fn node(ctx: &mut Ctx<'_>, n: &core::Node, serial: usize) -> Result<Node, Diagnostic> {
    let name = object_name(ctx, &n.metadata, "Node", serial)?;
    let mut node_labels = labels(n.metadata.labels.as_ref());
    // The kubelet always sets the hostname, os and arch labels (and the beta forms of the
    // topology ones it has); hand-written Node manifests often omit them.
    WellKnownLabels {
        hostname: &name,
        os: Some("linux"),
        arch: Some("amd64"),
        ..WellKnownLabels::default()
    }
    .apply_to(&mut node_labels);
    let mut taints = Vec::new();
    let spec = n.spec.as_ref();
    for (i, t) in spec
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = [k("spec"), k("taints"), Seg::Index(i)];
        taints.push(taint(
            ctx,
            &t.key,
            t.value.as_deref().unwrap_or(""),
            &t.effect,
            &at,
        )?);
    }
    let status = n.status.as_ref();
    let (field, list) = match (
        status.and_then(|s| s.allocatable.as_ref()),
        status.and_then(|s| s.capacity.as_ref()),
    ) {
        (Some(a), _) => ("allocatable", Some(a)),
        (None, Some(c)) => ("capacity", Some(c)),
        (None, None) => ("allocatable", None),
    };
    let mut allocatable = ResourceList::default();
    for (rname, q) in list.into_iter().flatten() {
        let at = [k("status"), k(field), k(rname)];
        let rn = ResourceName::parse(rname);
        let parsed = Quantity::parse(&q.0).map_err(|e| ctx.err(&at, e))?;
        if parsed.is_negative() {
            return Err(ctx.err(
                &at,
                format!("must be greater than or equal to 0, got \"{}\"", q.0),
            ));
        }
        allocatable.set(&rn, rn.amount(&parsed));
    }
    if list.is_none_or(BTreeMap::is_empty) {
        ctx.warnings.push(format!(
            "{}: node {name} has neither status.allocatable nor status.capacity, so no pod can run on it",
            ctx.src.file
        ));
    }
    let mut images = Vec::new();
    for image in status.and_then(|s| s.images.as_ref()).into_iter().flatten() {
        let size = image.size_bytes.unwrap_or(0);
        images.extend(image.names.iter().flatten().map(|n| (n.clone(), size)));
    }
    Ok(Node {
        name,
        labels: node_labels,
        taints,
        allocatable,
        unschedulable: spec.and_then(|s| s.unschedulable).unwrap_or(false),
        pool: None,
        images,
        ..Node::default()
    })
}
