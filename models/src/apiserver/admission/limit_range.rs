//! The LimitRanger admission plugin, as upstream's `plugin/pkg/admission/limitranger/admission.go`,
//! with the API server defaulting it depends on (`pkg/apis/core/v1/defaults.go`), as pure
//! functions.
//!
//! Order on a pod create, as upstream runs it:
//! 1. Decoding applies `SetDefaults_Pod` ([`set_defaults_pod`]): a container that sets a limit but
//!    no request for a resource gets the limit as its request. This happens before admission,
//!    so a limit LimitRanger adds later does not become a request this way.
//! 2. LimitRanger's mutating phase ([`pod_mutate_limit_func`], once per LimitRange of the
//!    namespace): missing limits from `default`, missing requests from `defaultRequest`.
//!    A LimitRange was itself defaulted when it was stored ([`set_defaults_limit_range_item`]):
//!    `default` from `max`, `defaultRequest` from `default`, then from `min`.
//! 3. LimitRanger's validating phase ([`pod_validate_limit_func`]), then ResourceQuota's
//!    (see [`super::quota`]).
//!
//! Only creates are modelled (on an update upstream skips values the stored object already
//! holds). Upstream iterates each `min`/`max`/`maxLimitRequestRatio` map in Go's random map
//! order, so when one LimitRange item fails on several resources the order of the messages
//! varies between runs upstream; here it is resource-name order.

use std::cmp::Ordering;

use super::quota::{Amount, ContainerResources, PodView, ResourceList, forbidden_message};

/// Upstream `LimitType`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LimitType {
    Pod,
    Container,
    PersistentVolumeClaim,
    /// Any other type (stored, but no limit applies to it).
    Other(String),
}

impl LimitType {
    pub fn as_str(&self) -> &str {
        match self {
            LimitType::Pod => "Pod",
            LimitType::Container => "Container",
            LimitType::PersistentVolumeClaim => "PersistentVolumeClaim",
            LimitType::Other(s) => s,
        }
    }
}

/// Upstream `LimitRangeItem`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitRangeItem {
    pub limit_type: LimitType,
    pub max: ResourceList,
    pub min: ResourceList,
    /// `default`: the limit a container gets when it sets none.
    pub default: ResourceList,
    /// `defaultRequest`: the request a container gets when it sets none.
    pub default_request: ResourceList,
    pub max_limit_request_ratio: ResourceList,
}

impl LimitRangeItem {
    pub fn new(limit_type: LimitType) -> LimitRangeItem {
        LimitRangeItem {
            limit_type,
            max: ResourceList::new(),
            min: ResourceList::new(),
            default: ResourceList::new(),
            default_request: ResourceList::new(),
            max_limit_request_ratio: ResourceList::new(),
        }
    }
}

/// A LimitRange (`spec.limits`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitRange {
    pub name: String,
    pub limits: Vec<LimitRangeItem>,
}

/// A container's `resources`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceRequirements {
    pub requests: ResourceList,
    pub limits: ResourceList,
}

/// Upstream annotation `kubernetes.io/limit-ranger`, listing what LimitRanger set.
pub const LIMIT_RANGER_ANNOTATION: &str = "kubernetes.io/limit-ranger";

/// Upstream `SetDefaults_LimitRangeItem`, applied when a LimitRange is stored: for a Container
/// item, `default` is filled from `max`, then `defaultRequest` from `default`, then from `min`.
pub fn set_defaults_limit_range_item(item: &mut LimitRangeItem) {
    if item.limit_type != LimitType::Container {
        return;
    }
    for (k, v) in &item.max {
        item.default.entry(k.clone()).or_insert(*v);
    }
    for (k, v) in &item.default {
        item.default_request.entry(k.clone()).or_insert(*v);
    }
    for (k, v) in &item.min {
        item.default_request.entry(k.clone()).or_insert(*v);
    }
}

/// The part of upstream `SetDefaults_Pod` that touches resources: each container (and init
/// container) that sets a limit without a request for that resource gets the limit as request.
pub fn set_defaults_pod(pod: &mut PodView) {
    for c in pod
        .containers
        .iter_mut()
        .chain(pod.init_containers.iter_mut())
    {
        for (k, v) in &c.limits {
            c.requests.entry(k.clone()).or_insert(*v);
        }
    }
}

/// Upstream `defaultContainerResourceRequirements`: requests from `defaultRequest`, limits from
/// `default`, of every Container item (a later item overrides an earlier one).
pub fn default_container_resource_requirements(limit_range: &LimitRange) -> ResourceRequirements {
    let mut req = ResourceRequirements::default();
    for item in &limit_range.limits {
        if item.limit_type == LimitType::Container {
            req.requests
                .extend(item.default_request.iter().map(|(k, v)| (k.clone(), *v)));
            req.limits
                .extend(item.default.iter().map(|(k, v)| (k.clone(), *v)));
        }
    }
    req
}

/// Upstream `mergeContainerResources`: fills the container's missing limits and requests from
/// the defaults and appends the annotation parts (`"cpu, memory request for container foo"`).
pub fn merge_container_resources(
    container: &mut ContainerResources,
    defaults: &ResourceRequirements,
    annotation_prefix: &str,
    annotations: &mut Vec<String>,
) {
    let mut set_limits = Vec::new();
    for (k, v) in &defaults.limits {
        if !container.limits.contains_key(k) {
            container.limits.insert(k.clone(), *v);
            set_limits.push(k.as_str());
        }
    }
    let mut set_requests = Vec::new();
    for (k, v) in &defaults.requests {
        if !container.requests.contains_key(k) {
            container.requests.insert(k.clone(), *v);
            set_requests.push(k.as_str());
        }
    }
    // The lists are already in name order (upstream sorts them).
    if !set_requests.is_empty() {
        annotations.push(format!(
            "{} request for {annotation_prefix} {}",
            set_requests.join(", "),
            container.name
        ));
    }
    if !set_limits.is_empty() {
        annotations.push(format!(
            "{} limit for {annotation_prefix} {}",
            set_limits.join(", "),
            container.name
        ));
    }
}

/// Upstream `mergePodResourceRequirements`: defaults every container, then every init
/// container. Returns the `kubernetes.io/limit-ranger` annotation value if anything was set.
pub fn merge_pod_resource_requirements(
    pod: &mut PodView,
    defaults: &ResourceRequirements,
) -> Option<String> {
    let mut annotations = Vec::new();
    for c in &mut pod.containers {
        merge_container_resources(c, defaults, "container", &mut annotations);
    }
    for c in &mut pod.init_containers {
        merge_container_resources(c, defaults, "init container", &mut annotations);
    }
    (!annotations.is_empty()).then(|| format!("LimitRanger plugin set: {}", annotations.join("; ")))
}

/// Upstream `PodMutateLimitFunc`.
pub fn pod_mutate_limit_func(limit_range: &LimitRange, pod: &mut PodView) -> Option<String> {
    let defaults = default_container_resource_requirements(limit_range);
    merge_pod_resource_requirements(pod, &defaults)
}

/// Upstream `minConstraint`.
fn min_constraint(
    limit_type: &str,
    resource: &str,
    enforced: &Amount,
    request: &ResourceList,
    limit: &ResourceList,
) -> Result<(), String> {
    let Some(req) = request.get(resource) else {
        return Err(format!(
            "minimum {resource} usage per {limit_type} is {enforced}.  No request is specified"
        ));
    };
    if enforced.cmp_value(req) == Ordering::Greater {
        return Err(format!(
            "minimum {resource} usage per {limit_type} is {enforced}, but request is {req}"
        ));
    }
    if let Some(lim) = limit.get(resource)
        && enforced.cmp_value(lim) == Ordering::Greater
    {
        return Err(format!(
            "minimum {resource} usage per {limit_type} is {enforced}, but limit is {lim}"
        ));
    }
    Ok(())
}

/// Upstream `maxRequestConstraint` (for types without limits: PersistentVolumeClaim).
fn max_request_constraint(
    limit_type: &str,
    resource: &str,
    enforced: &Amount,
    request: &ResourceList,
) -> Result<(), String> {
    let Some(req) = request.get(resource) else {
        return Err(format!(
            "maximum {resource} usage per {limit_type} is {enforced}.  No request is specified"
        ));
    };
    if req.cmp_value(enforced) == Ordering::Greater {
        return Err(format!(
            "maximum {resource} usage per {limit_type} is {enforced}, but request is {req}"
        ));
    }
    Ok(())
}

/// Upstream `maxConstraint`.
fn max_constraint(
    limit_type: &str,
    resource: &str,
    enforced: &Amount,
    request: &ResourceList,
    limit: &ResourceList,
) -> Result<(), String> {
    let Some(lim) = limit.get(resource) else {
        return Err(format!(
            "maximum {resource} usage per {limit_type} is {enforced}.  No limit is specified"
        ));
    };
    if lim.cmp_value(enforced) == Ordering::Greater {
        return Err(format!(
            "maximum {resource} usage per {limit_type} is {enforced}, but limit is {lim}"
        ));
    }
    if let Some(req) = request.get(resource)
        && req.cmp_value(enforced) == Ordering::Greater
    {
        return Err(format!(
            "maximum {resource} usage per {limit_type} is {enforced}, but request is {req}"
        ));
    }
    Ok(())
}

/// Upstream `ratioString`: |limit| / |request| rounded half-even to six decimals.
fn ratio_string(limit: &Amount, request: &Amount) -> String {
    let num = limit.milli_exact().unsigned_abs();
    let den = request.milli_exact().unsigned_abs().max(1);
    let scaled = num.saturating_mul(1_000_000);
    let (mut q, r) = (scaled / den, scaled % den);
    // Round half to even.
    match (2 * r).cmp(&den) {
        Ordering::Greater => q += 1,
        Ordering::Equal if q % 2 == 1 => q += 1,
        _ => {}
    }
    format!("{}.{:06}", q / 1_000_000, q % 1_000_000)
}

/// Upstream `limitRequestRatioConstraint`: limit must not exceed request × ratio (compared
/// exactly, as upstream's `exceedsAllowed`).
fn limit_request_ratio_constraint(
    limit_type: &str,
    resource: &str,
    enforced: &Amount,
    request: &ResourceList,
    limit: &ResourceList,
) -> Result<(), String> {
    let req = match request.get(resource) {
        Some(r) if !r.is_zero() => r,
        _ => {
            return Err(format!(
                "{resource} max limit to request ratio per {limit_type} is {enforced}, but no request is specified or request is 0"
            ));
        }
    };
    let lim = match limit.get(resource) {
        Some(l) if !l.is_zero() => l,
        _ => {
            return Err(format!(
                "{resource} max limit to request ratio per {limit_type} is {enforced}, but no limit is specified or limit is 0"
            ));
        }
    };
    // |lim| > |req| × ratio, all in thousandths: lim·1000 > req·ratio.
    let lhs = lim.milli_exact().abs().saturating_mul(1000);
    let rhs = req
        .milli_exact()
        .abs()
        .saturating_mul(enforced.milli_exact());
    if lhs > rhs {
        return Err(format!(
            "{resource} max limit to request ratio per {limit_type} is {enforced}, but provided ratio is {}",
            ratio_string(lim, req)
        ));
    }
    Ok(())
}

/// Upstream `utilerrors.NewAggregate(errs).Error()`: one message as is, several deduplicated in
/// order and bracketed.
fn aggregate(errs: Vec<String>) -> Result<(), String> {
    let mut unique: Vec<String> = Vec::new();
    for e in errs {
        if !unique.contains(&e) {
            unique.push(e);
        }
    }
    match unique.len() {
        0 => Ok(()),
        1 => Err(unique.remove(0)),
        _ => Err(format!("[{}]", unique.join(", "))),
    }
}

/// The min, max and ratio checks of one item over one requests/limits pair.
fn check_item(
    item: &LimitRangeItem,
    requests: &ResourceList,
    limits: &ResourceList,
    errs: &mut Vec<String>,
) {
    let t = item.limit_type.as_str();
    for (k, v) in &item.min {
        errs.extend(min_constraint(t, k, v, requests, limits).err());
    }
    for (k, v) in &item.max {
        errs.extend(max_constraint(t, k, v, requests, limits).err());
    }
    for (k, v) in &item.max_limit_request_ratio {
        errs.extend(limit_request_ratio_constraint(t, k, v, requests, limits).err());
    }
}

/// Upstream limitranger `podRequests`/`podLimits`: like the quota's pod totals but without
/// overhead.
fn pod_totals(pod: &PodView) -> (ResourceList, ResourceList) {
    use super::quota::aggregate_container_resources;
    (
        aggregate_container_resources(pod, |c| &c.requests),
        aggregate_container_resources(pod, |c| &c.limits),
    )
}

/// Upstream `PodValidateLimitFunc` for a create: Container items check every container and init
/// container, Pod items check the pod's totals.
pub fn pod_validate_limit_func(limit_range: &LimitRange, pod: &PodView) -> Result<(), String> {
    let mut errs = Vec::new();
    for item in &limit_range.limits {
        match item.limit_type {
            LimitType::Container => {
                for c in pod.containers.iter().chain(&pod.init_containers) {
                    check_item(item, &c.requests, &c.limits, &mut errs);
                }
            }
            LimitType::Pod => {
                let (requests, limits) = pod_totals(pod);
                check_item(item, &requests, &limits, &mut errs);
            }
            _ => {}
        }
    }
    aggregate(errs)
}

/// Upstream `PersistentVolumeClaimValidateLimitFunc` for a create: min and max of
/// PersistentVolumeClaim items against the claim's requests (a claim is never defaulted).
pub fn persistent_volume_claim_validate_limit_func(
    limit_range: &LimitRange,
    requests: &ResourceList,
) -> Result<(), String> {
    let mut errs = Vec::new();
    let none = ResourceList::new();
    for item in &limit_range.limits {
        if item.limit_type != LimitType::PersistentVolumeClaim {
            continue;
        }
        let t = item.limit_type.as_str();
        for (k, v) in &item.min {
            errs.extend(min_constraint(t, k, v, requests, &none).err());
        }
        for (k, v) in &item.max {
            errs.extend(max_request_constraint(t, k, v, requests).err());
        }
    }
    aggregate(errs)
}

/// LimitRanger on a pod create (upstream `Admit` then `Validate`, `runLimitFunc`): mutates the
/// pod with every LimitRange's defaults, then validates it against each in turn; the first
/// LimitRange that fails rejects the pod with the message an API client sees
/// (`pods "web-0" is forbidden: ...`). On success returns the `kubernetes.io/limit-ranger`
/// annotation value, if any (each LimitRange that sets something replaces it, as upstream).
pub fn admit_pod(limit_ranges: &[LimitRange], pod: &mut PodView) -> Result<Option<String>, String> {
    let mut annotation = None;
    for lr in limit_ranges {
        if let Some(a) = pod_mutate_limit_func(lr, pod) {
            annotation = Some(a);
        }
    }
    for lr in limit_ranges {
        pod_validate_limit_func(lr, pod)
            .map_err(|err| forbidden_message("pods", &pod.name, &err))?;
    }
    Ok(annotation)
}

/// LimitRanger on a PersistentVolumeClaim create: the first LimitRange that fails rejects it.
pub fn admit_persistent_volume_claim(
    limit_ranges: &[LimitRange],
    name: &str,
    requests: &ResourceList,
) -> Result<(), String> {
    for lr in limit_ranges {
        persistent_volume_claim_validate_limit_func(lr, requests)
            .map_err(|err| forbidden_message("persistentvolumeclaims", name, &err))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::quota::test_support::{container, cpu_mem, list, q};
    use super::*;

    /// upstream limitranger/admission_test.go `createLimitRange`.
    fn create_limit_range(
        limit_type: LimitType,
        min: ResourceList,
        max: ResourceList,
        default: ResourceList,
        default_request: ResourceList,
        ratio: ResourceList,
    ) -> LimitRange {
        LimitRange {
            name: "abc".to_string(),
            limits: vec![LimitRangeItem {
                limit_type,
                max,
                min,
                default,
                default_request,
                max_limit_request_ratio: ratio,
            }],
        }
    }

    /// upstream admission_test.go `validLimitRange`.
    fn valid_limit_range() -> LimitRange {
        LimitRange {
            name: "abc".to_string(),
            limits: vec![
                LimitRangeItem {
                    max: cpu_mem("200m", "4Gi"),
                    min: cpu_mem("50m", "2Mi"),
                    ..LimitRangeItem::new(LimitType::Pod)
                },
                LimitRangeItem {
                    max: cpu_mem("100m", "2Gi"),
                    min: cpu_mem("25m", "1Mi"),
                    default: cpu_mem("75m", "10Mi"),
                    default_request: cpu_mem("50m", "5Mi"),
                    ..LimitRangeItem::new(LimitType::Container)
                },
            ],
        }
    }

    /// upstream admission_test.go `validPod`: containers named `foo-<i>`.
    fn valid_pod(name: &str, n: usize, requests: ResourceList, limits: ResourceList) -> PodView {
        PodView {
            name: name.to_string(),
            namespace: "test".to_string(),
            containers: (0..n)
                .map(|i| container(&format!("foo-{i}"), requests.clone(), limits.clone()))
                .collect(),
            ..PodView::default()
        }
    }

    /// upstream admission_test.go `validPodInit`.
    fn with_init(mut pod: PodView, inits: &[(ResourceList, ResourceList)]) -> PodView {
        for (i, (r, l)) in inits.iter().enumerate() {
            pod.init_containers
                .push(container(&format!("foo-{i}"), r.clone(), l.clone()));
        }
        pod
    }

    fn none() -> ResourceList {
        ResourceList::new()
    }

    /// upstream limitranger/admission_test.go TestDefaultContainerResourceRequirements.
    #[test]
    fn default_container_resource_requirements_table() {
        let actual = default_container_resource_requirements(&valid_limit_range());
        assert_eq!(
            actual,
            ResourceRequirements {
                requests: cpu_mem("50m", "5Mi"),
                limits: cpu_mem("75m", "10Mi"),
            }
        );
    }

    /// upstream limitranger/admission_test.go TestMergePodResourceRequirements.
    #[test]
    fn merge_pod_resource_requirements_table() {
        let defaults = default_container_resource_requirements(&valid_limit_range());

        // Pod with no resources enumerated gets each resource from the defaults.
        let mut pod = valid_pod("empty-resources", 1, none(), none());
        let annotation = merge_pod_resource_requirements(&mut pod, &defaults);
        assert_eq!(pod.containers[0].requests, defaults.requests);
        assert_eq!(pod.containers[0].limits, defaults.limits);
        assert_eq!(
            annotation.as_deref(),
            Some(
                "LimitRanger plugin set: cpu, memory request for container foo-0; cpu, memory limit for container foo-0"
            )
        );

        // Pod with some resources enumerated only merges the empty ones.
        let input = (cpu_mem("", "512Mi"), none());
        let mut pod = with_init(
            valid_pod("limit-memory", 1, input.0.clone(), input.1.clone()),
            &[input],
        );
        let annotation = merge_pod_resource_requirements(&mut pod, &defaults);
        let expected_requests = list(&[("cpu", "50m"), ("memory", "512Mi")]);
        for c in pod.containers.iter().chain(&pod.init_containers) {
            assert_eq!(c.requests, expected_requests);
            assert_eq!(c.limits, defaults.limits);
        }
        assert_eq!(
            annotation.as_deref(),
            Some(
                "LimitRanger plugin set: cpu request for container foo-0; cpu, memory limit for container foo-0; cpu request for init container foo-0; cpu, memory limit for init container foo-0"
            )
        );

        // Pod with all resources enumerated merges nothing.
        let input = (cpu_mem("100m", "512Mi"), cpu_mem("200m", "1G"));
        let init = (cpu_mem("200m", "1G"), cpu_mem("400m", "2G"));
        let mut pod = with_init(
            valid_pod("limit-memory", 1, input.0.clone(), input.1.clone()),
            std::slice::from_ref(&init),
        );
        let annotation = merge_pod_resource_requirements(&mut pod, &defaults);
        assert_eq!(
            (
                pod.containers[0].requests.clone(),
                pod.containers[0].limits.clone()
            ),
            input
        );
        assert_eq!(
            (
                pod.init_containers[0].requests.clone(),
                pod.init_containers[0].limits.clone()
            ),
            init
        );
        assert_eq!(annotation, None);
    }

    /// upstream limitranger/admission_test.go TestPodLimitFunc, success cases (subset): the pod is
    /// mutated then validated, as upstream's test does.
    #[test]
    fn pod_limit_func_success_cases() {
        use LimitType::{Container, Pod};
        let cases: Vec<(PodView, LimitRange)> = vec![
            (
                valid_pod("ctr-min-cpu-request", 1, cpu_mem("100m", ""), none()),
                create_limit_range(
                    Container,
                    cpu_mem("50m", ""),
                    none(),
                    none(),
                    none(),
                    none(),
                ),
            ),
            (
                valid_pod(
                    "ctr-min-cpu-request-limit",
                    1,
                    cpu_mem("100m", ""),
                    cpu_mem("200m", ""),
                ),
                create_limit_range(
                    Container,
                    cpu_mem("50m", ""),
                    none(),
                    none(),
                    none(),
                    none(),
                ),
            ),
            (
                valid_pod("ctr-min-memory-request", 1, cpu_mem("", "60Mi"), none()),
                create_limit_range(
                    Container,
                    cpu_mem("", "50Mi"),
                    none(),
                    none(),
                    none(),
                    none(),
                ),
            ),
            (
                valid_pod(
                    "ctr-max-cpu-request-limit",
                    1,
                    cpu_mem("500m", ""),
                    cpu_mem("1", ""),
                ),
                create_limit_range(Container, none(), cpu_mem("2", ""), none(), none(), none()),
            ),
            (
                valid_pod("ctr-max-cpu-limit", 1, none(), cpu_mem("1", "")),
                create_limit_range(Container, none(), cpu_mem("2", ""), none(), none(), none()),
            ),
            (
                valid_pod(
                    "ctr-max-mem-request-limit",
                    1,
                    cpu_mem("", "250Mi"),
                    cpu_mem("", "500Mi"),
                ),
                create_limit_range(
                    Container,
                    none(),
                    cpu_mem("", "1Gi"),
                    none(),
                    none(),
                    none(),
                ),
            ),
            (
                valid_pod(
                    "ctr-max-cpu-ratio",
                    1,
                    cpu_mem("500m", ""),
                    cpu_mem("750m", ""),
                ),
                create_limit_range(
                    Container,
                    none(),
                    none(),
                    none(),
                    none(),
                    cpu_mem("1.5", ""),
                ),
            ),
            (
                valid_pod("ctr-max-mem-limit", 1, none(), cpu_mem("", "500Mi")),
                create_limit_range(
                    Container,
                    none(),
                    cpu_mem("", "1Gi"),
                    none(),
                    none(),
                    none(),
                ),
            ),
            (
                valid_pod("pod-min-cpu-request", 2, cpu_mem("75m", ""), none()),
                create_limit_range(Pod, cpu_mem("100m", ""), none(), none(), none(), none()),
            ),
            (
                valid_pod(
                    "pod-min-memory-request-limit",
                    2,
                    cpu_mem("", "60Mi"),
                    cpu_mem("", "100Mi"),
                ),
                create_limit_range(Pod, cpu_mem("", "100Mi"), none(), none(), none(), none()),
            ),
            (
                with_init(
                    valid_pod(
                        "pod-init-min-memory-request",
                        2,
                        cpu_mem("", "60Mi"),
                        none(),
                    ),
                    &[(cpu_mem("", "100Mi"), none())],
                ),
                create_limit_range(Pod, cpu_mem("", "100Mi"), none(), none(), none(), none()),
            ),
            (
                valid_pod(
                    "pod-max-cpu-request-limit",
                    2,
                    cpu_mem("500m", ""),
                    cpu_mem("1", ""),
                ),
                create_limit_range(Pod, none(), cpu_mem("2", ""), none(), none(), none()),
            ),
            (
                with_init(
                    valid_pod(
                        "pod-init-max-cpu-request-limit",
                        2,
                        cpu_mem("500m", ""),
                        cpu_mem("1", ""),
                    ),
                    &[
                        (cpu_mem("1", ""), cpu_mem("2", "")),
                        (cpu_mem("1", ""), cpu_mem("1", "")),
                    ],
                ),
                create_limit_range(Pod, none(), cpu_mem("2", ""), none(), none(), none()),
            ),
        ];
        for (mut pod, lr) in cases {
            pod_mutate_limit_func(&lr, &mut pod);
            assert_eq!(pod_validate_limit_func(&lr, &pod), Ok(()), "{}", pod.name);
        }
    }

    /// upstream limitranger/admission_test.go TestPodLimitFunc, error cases (subset), with the
    /// messages of admission.go's constraint functions.
    #[test]
    fn pod_limit_func_error_cases() {
        use LimitType::{Container, Pod};
        let cases: Vec<(PodView, LimitRange, &str)> = vec![
            (
                valid_pod("ctr-min-cpu-request", 1, cpu_mem("40m", ""), none()),
                create_limit_range(
                    Container,
                    cpu_mem("50m", ""),
                    none(),
                    none(),
                    none(),
                    none(),
                ),
                "minimum cpu usage per Container is 50m, but request is 40m",
            ),
            (
                valid_pod("ctr-min-cpu-no-request-limit", 1, none(), none()),
                create_limit_range(
                    Container,
                    cpu_mem("50m", ""),
                    none(),
                    none(),
                    none(),
                    none(),
                ),
                "minimum cpu usage per Container is 50m.  No request is specified",
            ),
            (
                valid_pod(
                    "ctr-max-cpu-request-limit",
                    1,
                    cpu_mem("500m", ""),
                    cpu_mem("2500m", ""),
                ),
                create_limit_range(Container, none(), cpu_mem("2", ""), none(), none(), none()),
                "maximum cpu usage per Container is 2, but limit is 2500m",
            ),
            (
                valid_pod("ctr-max-cpu-no-request-limit", 1, none(), none()),
                create_limit_range(Container, none(), cpu_mem("2", ""), none(), none(), none()),
                "maximum cpu usage per Container is 2.  No limit is specified",
            ),
            (
                valid_pod("ctr-max-mem-limit", 1, none(), cpu_mem("", "2Gi")),
                create_limit_range(
                    Container,
                    none(),
                    cpu_mem("", "1Gi"),
                    none(),
                    none(),
                    none(),
                ),
                "maximum memory usage per Container is 1Gi, but limit is 2Gi",
            ),
            (
                valid_pod(
                    "ctr-ratio-cpu",
                    1,
                    cpu_mem("1250m", ""),
                    cpu_mem("2500m", ""),
                ),
                create_limit_range(Container, none(), none(), none(), none(), cpu_mem("1", "")),
                "cpu max limit to request ratio per Container is 1, but provided ratio is 2.000000",
            ),
            (
                valid_pod(
                    "pod-max-cpu-request-limit",
                    3,
                    cpu_mem("500m", ""),
                    cpu_mem("1", ""),
                ),
                create_limit_range(Pod, none(), cpu_mem("2", ""), none(), none(), none()),
                "maximum cpu usage per Pod is 2, but limit is 3",
            ),
            (
                valid_pod("pod-min-memory-request", 2, cpu_mem("", "60Mi"), none()),
                create_limit_range(Pod, cpu_mem("", "250Mi"), none(), none(), none(), none()),
                "minimum memory usage per Pod is 250Mi, but request is 120Mi",
            ),
        ];
        for (mut pod, lr, want) in cases {
            pod_mutate_limit_func(&lr, &mut pod);
            assert_eq!(
                pod_validate_limit_func(&lr, &pod),
                Err(want.to_string()),
                "{}",
                pod.name
            );
        }
    }

    #[test]
    fn ratio_message_and_exact_comparison() {
        let lr = create_limit_range(
            LimitType::Container,
            none(),
            none(),
            none(),
            none(),
            cpu_mem("4", ""),
        );
        let pod = valid_pod("web-0", 1, cpu_mem("100m", ""), cpu_mem("1", ""));
        assert_eq!(
            pod_validate_limit_func(&lr, &pod),
            Err("cpu max limit to request ratio per Container is 4, but provided ratio is 10.000000".to_string())
        );
        // Exactly at the ratio is allowed.
        let pod = valid_pod("web-0", 1, cpu_mem("250m", ""), cpu_mem("1", ""));
        assert_eq!(pod_validate_limit_func(&lr, &pod), Ok(()));
        // Six decimals, half to even.
        assert_eq!(ratio_string(&q("1"), &q("3")), "0.333333");
        assert_eq!(ratio_string(&q("2"), &q("3")), "0.666667");
    }

    #[test]
    fn several_failures_are_aggregated() {
        let lr = create_limit_range(
            LimitType::Container,
            cpu_mem("100m", "64Mi"),
            none(),
            none(),
            none(),
            none(),
        );
        let mut pod = valid_pod("web-0", 1, cpu_mem("50m", "32Mi"), none());
        assert_eq!(
            admit_pod(&[lr], &mut pod),
            Err("pods \"web-0\" is forbidden: [minimum cpu usage per Container is 100m, but request is 50m, minimum memory usage per Container is 64Mi, but request is 32Mi]".to_string())
        );
    }

    #[test]
    fn admit_pod_defaults_then_validates() {
        // A LimitRange with only max: stored defaulting makes it the default limit and request.
        let mut item = LimitRangeItem {
            max: cpu_mem("500m", "1Gi"),
            ..LimitRangeItem::new(LimitType::Container)
        };
        set_defaults_limit_range_item(&mut item);
        assert_eq!(item.default, cpu_mem("500m", "1Gi"));
        assert_eq!(item.default_request, cpu_mem("500m", "1Gi"));
        let lr = LimitRange {
            name: "lr".to_string(),
            limits: vec![item],
        };

        let mut pod = valid_pod("web-0", 1, none(), none());
        let annotation = admit_pod(std::slice::from_ref(&lr), &mut pod).unwrap();
        assert_eq!(
            annotation.as_deref(),
            Some(
                "LimitRanger plugin set: cpu, memory request for container foo-0; cpu, memory limit for container foo-0"
            )
        );
        assert_eq!(pod.containers[0].requests, cpu_mem("500m", "1Gi"));

        // A limit set by the user becomes the request before LimitRanger runs.
        let mut pod = valid_pod("web-1", 1, none(), cpu_mem("2", ""));
        set_defaults_pod(&mut pod);
        assert_eq!(
            admit_pod(&[lr], &mut pod),
            Err("pods \"web-1\" is forbidden: maximum cpu usage per Container is 500m, but limit is 2".to_string())
        );
    }

    #[test]
    fn persistent_volume_claim_min_max() {
        let lr = create_limit_range(
            LimitType::PersistentVolumeClaim,
            list(&[("storage", "1Gi")]),
            list(&[("storage", "10Gi")]),
            none(),
            none(),
            none(),
        );
        assert_eq!(
            admit_persistent_volume_claim(
                std::slice::from_ref(&lr),
                "data",
                &list(&[("storage", "5Gi")])
            ),
            Ok(())
        );
        assert_eq!(
            admit_persistent_volume_claim(std::slice::from_ref(&lr), "data", &list(&[("storage", "20Gi")])),
            Err("persistentvolumeclaims \"data\" is forbidden: maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi".to_string())
        );
        assert_eq!(
            admit_persistent_volume_claim(&[lr], "data", &list(&[("storage", "500Mi")])),
            Err("persistentvolumeclaims \"data\" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi".to_string())
        );
    }
}
