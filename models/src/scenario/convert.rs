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
use crate::api::pod::DEFAULT_SCHEDULER_NAME;
use crate::api::{
    Deployment, LABEL_HOSTNAME, LabelSelector, Labels, Node, NodeAffinity, NodeSelector,
    NodeSelectorTerm, Operator, Pod, PodTemplate, PreferredSchedulingTerm, Quantity, ReplicaSet,
    Requirement, ResourceList, ResourceName, Taint, TaintEffect, Toleration, TolerationOperator,
};

/// Where errors of one object go.
pub(crate) struct Ctx<'a> {
    pub src: &'a SourceRef,
    pub warnings: &'a mut Vec<String>,
}

impl Ctx<'_> {
    fn err(&self, path: &[Seg], message: impl std::fmt::Display) -> Diagnostic {
        self.src
            .at(path, At::Value, format!("{}: {message}", PathDisplay(path)))
    }
}

fn join(base: &[Seg], tail: &[Seg]) -> Vec<Seg> {
    base.iter().chain(tail).cloned().collect()
}

fn k(key: &str) -> Seg {
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
        node_affinity,
        tolerations,
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
    scheduling.apply_to(&mut pod);
    Ok(pod)
}

fn labels(map: Option<&BTreeMap<String, String>>) -> Labels {
    map.cloned().map(Labels::from).unwrap_or_default()
}

fn namespace(m: &meta::ObjectMeta) -> String {
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
    pod(
        ctx,
        name,
        namespace(&p.metadata),
        labels(p.metadata.labels.as_ref()),
        spec,
        &[k("spec")],
    )
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
struct WorkloadParts {
    name: String,
    namespace: String,
    replicas: i32,
    selector: LabelSelector,
    template: PodTemplate,
}

fn workload(
    ctx: &mut Ctx<'_>,
    kind: &str,
    m: &meta::ObjectMeta,
    replicas: Option<i32>,
    selector: &meta::LabelSelector,
    template: Option<&core::PodTemplateSpec>,
    serial: usize,
) -> Result<WorkloadParts, Diagnostic> {
    let name = object_name(ctx, m, kind, serial)?;
    let ns = namespace(m);
    let replicas = replicas.unwrap_or(1);
    if replicas < 0 {
        return Err(ctx.err(
            &[k("spec"), k("replicas")],
            format!("must be greater than or equal to 0, got {replicas}"),
        ));
    }
    let sel_path = [k("spec"), k("selector")];
    let selector = label_selector(ctx, selector, &sel_path)?;
    if selector.requirements.is_empty() {
        return Err(ctx.err(
            &sel_path,
            format!(
                "empty selector is invalid for a {kind}: set matchLabels to the template's labels"
            ),
        ));
    }
    let tpl_path = [k("spec"), k("template")];
    let Some(template) = template else {
        return Err(ctx.err(&[k("spec")], "spec.template is required"));
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
        return Err(ctx.err(&tpl_path, "spec.template.spec is required"));
    };
    let pod = pod(
        ctx,
        name.clone(),
        ns.clone(),
        tpl_labels,
        spec,
        &join(&tpl_path, &[k("spec")]),
    )?;
    Ok(WorkloadParts {
        name,
        namespace: ns,
        replicas,
        selector,
        template: PodTemplate { pod },
    })
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
        "Deployment",
        &d.metadata,
        spec.replicas,
        &spec.selector,
        Some(&spec.template),
        serial,
    )?;
    Ok(Deployment::new(
        w.name,
        w.namespace,
        w.replicas,
        w.selector,
        w.template,
    ))
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
        "ReplicaSet",
        &r.metadata,
        spec.replicas,
        &spec.selector,
        spec.template.as_ref(),
        serial,
    )?;
    Ok(ReplicaSet::new(
        w.name,
        w.namespace,
        w.replicas,
        w.selector,
        w.template,
    ))
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
    // The kubelet always sets the hostname label; hand-written Node manifests often omit it.
    if !node_labels.contains_key(LABEL_HOSTNAME) {
        node_labels.insert(LABEL_HOSTNAME, name.clone());
    }
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
