//! The ResourceQuota admission check, as upstream's
//! `staging/src/k8s.io/apiserver/pkg/admission/plugin/resourcequota/controller.go` (`CheckRequest`)
//! with the evaluators of `pkg/quota/v1/evaluator/core` (`pods.go`, `persistent_volume_claims.go`,
//! `services.go`, `registry.go`) and `staging/src/k8s.io/apiserver/pkg/quota/v1/generic` (object
//! counts), as pure functions.
//!
//! What is modelled, and what is left out:
//! - Only creates are checked (upstream also charges updates: a PVC resize, a service changing
//!   type, a pod's `activeDeadlineSeconds` moving it across the Terminating scope, a pod resize).
//! - The admission configuration's `limitedResources` is empty (upstream's default), so
//!   "insufficient quota to consume" never arises.
//! - Pod-level resources (`spec.resources`, feature gate `PodLevelResources`) and in-place resize
//!   status are not modelled: a pod's usage comes from its containers and overhead.
//! - Amounts are held in thousandths ([`Amount`]), the precision the API server's defaulting
//!   (`SetDefaults_ResourceList` rounds every resource list up to milli scale) leaves them at.
//! - Quotas are checked in the order given; upstream checks them in its informer cache's order,
//!   which only matters for which of two exceeded quotas is named in the message.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::api::{Quantity, QuantityError};

/// Upstream `resource.Format`: how a quantity was written, which decides how it is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantityFormat {
    /// `1Ki`, `5Gi`: printed with the largest exact power-of-1024 suffix.
    BinarySI,
    /// `100m`, `2`, `1G`: printed with the largest exact power-of-1000 suffix.
    DecimalSI,
    /// `1e3`: printed as `<n>e<exp>` with a multiple-of-3 exponent.
    DecimalExponent,
}

/// A resource amount as upstream's `resource.Quantity` carries it: the value (here in exact
/// thousandths) and the format it was written in. Upstream's arithmetic keeps the format of the
/// left operand unless that operand is zero (`Quantity.Add`), and `String()` prints the value in
/// its format's canonical form; [`Amount`]'s `Display` does the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Amount {
    milli: i128,
    format: QuantityFormat,
}

impl Amount {
    /// Parses a quantity as the API server stores it: upstream `ParseQuantity`, then
    /// `SetDefaults_ResourceList` rounding up (away from zero) to milli scale.
    pub fn parse(input: &str) -> Result<Amount, QuantityError> {
        let s = input.trim();
        let (negative, magnitude) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let q = Quantity::parse(s)?;
        // Rounding is away from zero, so a negative amount rounds its magnitude up.
        let milli = if negative {
            -i128::from(Quantity::parse(magnitude)?.milli_value())
        } else {
            i128::from(q.milli_value())
        };
        Ok(Amount {
            milli,
            format: format_of(magnitude),
        })
    }

    /// `value / 1000` in `format` (upstream `NewMilliQuantity`).
    pub fn from_milli(milli: i64, format: QuantityFormat) -> Amount {
        Amount {
            milli: i128::from(milli),
            format,
        }
    }

    /// `value` units in `format` (upstream `NewQuantity`).
    pub fn from_value(value: i64, format: QuantityFormat) -> Amount {
        Amount {
            milli: i128::from(value) * 1000,
            format,
        }
    }

    /// A parsed [`Quantity`] with the format it was written in.
    pub fn from_quantity(q: Quantity, format: QuantityFormat) -> Amount {
        Amount::from_milli(q.milli_value(), format)
    }

    pub fn format(&self) -> QuantityFormat {
        self.format
    }

    /// Upstream `MilliValue()` (saturating at the i64 range).
    pub fn milli_value(&self) -> i64 {
        saturate(self.milli)
    }

    /// Upstream `Value()`: rounded up to a whole unit (saturating at the i64 range).
    pub fn value(&self) -> i64 {
        saturate(self.milli.div_euclid(1000) + i128::from(self.milli.rem_euclid(1000) != 0))
    }

    pub fn is_zero(&self) -> bool {
        self.milli == 0
    }

    pub fn sign(&self) -> Ordering {
        self.milli.cmp(&0)
    }

    /// Upstream `Cmp`: compares values, whatever the formats.
    pub fn cmp_value(&self, other: &Amount) -> Ordering {
        self.milli.cmp(&other.milli)
    }

    /// Upstream `Quantity.Add`: the sum keeps this amount's format, or `other`'s if this is zero.
    pub fn add(&self, other: &Amount) -> Amount {
        Amount {
            milli: self.milli.saturating_add(other.milli),
            format: if self.milli == 0 {
                other.format
            } else {
                self.format
            },
        }
    }

    /// Upstream `RoundUp(0)`: to a whole unit, away from zero.
    pub fn round_up_to_unit(&self) -> Amount {
        let r = self.milli % 1000;
        let milli = if r == 0 {
            self.milli
        } else if self.milli > 0 {
            self.milli - r + 1000
        } else {
            self.milli - r - 1000
        };
        Amount {
            milli,
            format: self.format,
        }
    }

    pub(crate) fn milli_exact(&self) -> i128 {
        self.milli
    }
}

fn saturate(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// The format upstream's parser gives a quantity from its suffix.
fn format_of(s: &str) -> QuantityFormat {
    let suffix = s.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    if suffix.len() > 1 && suffix.starts_with(['e', 'E']) {
        QuantityFormat::DecimalExponent
    } else if suffix.ends_with('i') {
        QuantityFormat::BinarySI
    } else {
        QuantityFormat::DecimalSI
    }
}

impl fmt::Display for Amount {
    /// Upstream `Quantity.String()` (`CanonicalizeBytes`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.milli == 0 {
            return f.write_str("0");
        }
        let sign = if self.milli < 0 { "-" } else { "" };
        let magnitude = self.milli.unsigned_abs();
        // BinarySI falls back to DecimalSI below 1024 and for fractions, so nothing is rounded.
        if self.format == QuantityFormat::BinarySI
            && magnitude >= 1024 * 1000
            && magnitude.is_multiple_of(1000)
        {
            let mut n = magnitude / 1000;
            let mut exp = 0;
            while exp < 6 && n.is_multiple_of(1024) {
                n /= 1024;
                exp += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][exp];
            return write!(f, "{sign}{n}{suffix}");
        }
        // Strip trailing zeros in groups of three, so the exponent stays a multiple of 3.
        let mut n = magnitude;
        let mut exp: i32 = -3;
        while exp < 18 && n.is_multiple_of(1000) {
            n /= 1000;
            exp += 3;
        }
        if self.format == QuantityFormat::DecimalExponent {
            return if exp == 0 {
                write!(f, "{sign}{n}")
            } else {
                write!(f, "{sign}{n}e{exp}")
            };
        }
        let suffix = match exp {
            -3 => "m",
            0 => "",
            3 => "k",
            6 => "M",
            9 => "G",
            12 => "T",
            15 => "P",
            _ => "E",
        };
        write!(f, "{sign}{n}{suffix}")
    }
}

/// Upstream `corev1.ResourceList`: resource name to amount, iterated in name order.
pub type ResourceList = BTreeMap<String, Amount>;

/// One container's `resources`, after the API server's defaulting (requests defaulted from
/// limits, see [`super::limit_range::set_defaults_pod`]) and LimitRanger's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerResources {
    pub name: String,
    pub requests: ResourceList,
    pub limits: ResourceList,
    /// An init container with `restartPolicy: Always` (a sidecar); ignored for app containers.
    pub restartable_init: bool,
}

/// What quota and LimitRanger read of a pod.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodView {
    pub name: String,
    pub namespace: String,
    pub containers: Vec<ContainerResources>,
    pub init_containers: Vec<ContainerResources>,
    /// `spec.overhead`.
    pub overhead: ResourceList,
    /// `status.phase` is Succeeded or Failed.
    pub terminal_phase: bool,
    /// Marked for deletion and past its deletion grace period (upstream `QuotaV1Pod`).
    pub deletion_grace_expired: bool,
    /// `spec.activeDeadlineSeconds`.
    pub active_deadline_seconds: Option<i64>,
    /// `spec.priorityClassName` ("" when unset).
    pub priority_class_name: String,
    /// Some pod (anti-)affinity term names namespaces or a namespace selector.
    pub cross_namespace_pod_affinity: bool,
}

/// What quota reads of a PersistentVolumeClaim.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PvcView {
    pub name: String,
    /// Upstream `GetPersistentVolumeClaimClass` ("" when none).
    pub storage_class: String,
    /// `spec.resources.requests.storage`.
    pub requested_storage: Option<Amount>,
    /// Names of the VolumeAttributesClasses the claim refers to (spec, status, target).
    pub volume_attributes_classes: BTreeSet<String>,
}

/// `spec.type` of a Service, as the service evaluator distinguishes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceType {
    ClusterIP,
    NodePort,
    LoadBalancer,
    ExternalName,
}

/// What quota reads of a Service (`allocateLoadBalancerNodePorts` is taken as its default, true).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceView {
    pub name: String,
    pub service_type: ServiceType,
    /// `len(spec.ports)`.
    pub ports: i64,
}

/// An object being created, as the quota evaluators see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuotaObject {
    Pod(PodView),
    PersistentVolumeClaim(PvcView),
    Service(ServiceView),
    /// Any other namespaced object: counted by `count/<resource>.<group>` (and the legacy name
    /// for configmaps, secrets, replicationcontrollers and resourcequotas).
    Counted {
        name: String,
        /// Plural resource, e.g. `deployments`.
        resource: String,
        /// API group, "" for the core group.
        group: String,
    },
}

impl QuotaObject {
    /// Upstream `GroupResource.String()`: `pods`, `deployments.apps`.
    pub fn group_resource(&self) -> String {
        match self {
            QuotaObject::Pod(_) => "pods".to_string(),
            QuotaObject::PersistentVolumeClaim(_) => "persistentvolumeclaims".to_string(),
            QuotaObject::Service(_) => "services".to_string(),
            QuotaObject::Counted {
                resource, group, ..
            } => group_resource_string(resource, group),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            QuotaObject::Pod(p) => &p.name,
            QuotaObject::PersistentVolumeClaim(p) => &p.name,
            QuotaObject::Service(s) => &s.name,
            QuotaObject::Counted { name, .. } => name,
        }
    }
}

fn group_resource_string(resource: &str, group: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

/// Upstream `ScopeSelectorOperator`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeSelectorOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// Upstream `ScopedResourceSelectorRequirement`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopedResourceSelectorRequirement {
    /// `Terminating`, `NotTerminating`, `BestEffort`, `NotBestEffort`, `PriorityClass`,
    /// `CrossNamespacePodAffinity`, `VolumeAttributesClass`.
    pub scope_name: String,
    pub operator: ScopeSelectorOperator,
    pub values: Vec<String>,
}

pub const SCOPE_TERMINATING: &str = "Terminating";
pub const SCOPE_NOT_TERMINATING: &str = "NotTerminating";
pub const SCOPE_BEST_EFFORT: &str = "BestEffort";
pub const SCOPE_NOT_BEST_EFFORT: &str = "NotBestEffort";
pub const SCOPE_PRIORITY_CLASS: &str = "PriorityClass";
pub const SCOPE_CROSS_NAMESPACE_POD_AFFINITY: &str = "CrossNamespacePodAffinity";
pub const SCOPE_VOLUME_ATTRIBUTES_CLASS: &str = "VolumeAttributesClass";

/// A ResourceQuota as admission reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceQuota {
    pub name: String,
    /// `status.hard` (the quota controller copies `spec.hard` there).
    pub hard: ResourceList,
    /// `status.used`; a tracked resource missing here means usage is not computed yet.
    pub used: ResourceList,
    /// `spec.scopes`.
    pub scopes: Vec<String>,
    /// `spec.scopeSelector.matchExpressions`.
    pub scope_selector: Vec<ScopedResourceSelectorRequirement>,
}

impl ResourceQuota {
    /// Upstream `getScopeSelectorsFromQuota`: each scope as an `Exists` requirement, then the
    /// selector's expressions.
    pub fn scope_selectors(&self) -> Vec<ScopedResourceSelectorRequirement> {
        self.scopes
            .iter()
            .map(|s| ScopedResourceSelectorRequirement {
                scope_name: s.clone(),
                operator: ScopeSelectorOperator::Exists,
                values: Vec::new(),
            })
            .chain(self.scope_selector.iter().cloned())
            .collect()
    }
}

const POD_OBJECT_COUNT: &str = "count/pods";
/// Upstream `podResources`.
const POD_RESOURCES: [&str; 11] = [
    POD_OBJECT_COUNT,
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
];
/// Upstream `validationSet`: quota on these makes every container state them.
const VALIDATION_SET: [&str; 6] = [
    "cpu",
    "memory",
    "requests.cpu",
    "requests.memory",
    "limits.cpu",
    "limits.memory",
];
const HUGE_PAGES_PREFIX: &str = "hugepages-";
const REQUESTS_HUGE_PAGES_PREFIX: &str = "requests.hugepages-";
const REQUESTS_PREFIX: &str = "requests.";
const DEVICE_CLASS_PREFIX: &str = "deviceclass.resource.kubernetes.io/";
const STORAGE_CLASS_SUFFIX: &str = ".storageclass.storage.k8s.io/";
const PVC_RESOURCES: [&str; 2] = ["persistentvolumeclaims", "requests.storage"];
const SERVICE_RESOURCES: [&str; 4] = [
    "count/services",
    "services",
    "services.nodeports",
    "services.loadbalancers",
];

/// Upstream `helper.IsNativeResource`: unprefixed, or in the `kubernetes.io/` domain.
pub fn is_native_resource(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

/// Upstream `helper.IsExtendedResourceName`.
pub fn is_extended_resource_name(name: &str) -> bool {
    !is_native_resource(name)
        && !name.starts_with(REQUESTS_PREFIX)
        && is_qualified_name(&format!("{REQUESTS_PREFIX}{name}"))
}

/// Upstream `schedutil.IsDRAExtendedResourceName`: also the implicit
/// `deviceclass.resource.kubernetes.io/<class>` names.
fn is_dra_extended_resource_name(name: &str) -> bool {
    is_extended_resource_name(name) || name.starts_with(DEVICE_CLASS_PREFIX)
}

/// Upstream `isExtendedResourceNameForQuota`: only `requests.<name>` quotas extended resources.
fn is_extended_resource_name_for_quota(name: &str) -> bool {
    let non_native = !is_native_resource(name);
    let implicit = name.starts_with(&format!("{REQUESTS_PREFIX}{DEVICE_CLASS_PREFIX}"));
    (non_native || implicit) && name.starts_with(REQUESTS_PREFIX)
}

/// Upstream `validation.IsQualifiedName`: `[prefix/]name`, prefix a DNS-1123 subdomain, name at
/// most 63 alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric.
fn is_qualified_name(s: &str) -> bool {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && label.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && label
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            })
    });
    name_ok && prefix_ok
}

/// Upstream `generic.ObjectCountQuotaResourceNameFor`: `count/<resource>[.<group>]`.
pub fn object_count_quota_resource_name_for(resource: &str, group: &str) -> String {
    format!("count/{}", group_resource_string(resource, group))
}

/// Upstream `legacyObjectCountAliases` (`registry.go`): the pre-`count/` names.
fn legacy_object_count_alias(resource: &str, group: &str) -> Option<&'static str> {
    if !group.is_empty() {
        return None;
    }
    match resource {
        "configmaps" => Some("configmaps"),
        "resourcequotas" => Some("resourcequotas"),
        "replicationcontrollers" => Some("replicationcontrollers"),
        "secrets" => Some("secrets"),
        _ => None,
    }
}

/// Upstream `quota.Intersection`: deduplicated and sorted.
fn intersection(input: &[String], allowed: &[&str]) -> Vec<String> {
    input
        .iter()
        .filter(|r| allowed.contains(&r.as_str()))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The evaluator's `MatchingResources`: which of `input` (a quota's hard resource names) it
/// tracks for objects of this kind.
pub fn matching_resources(object: &QuotaObject, input: &[String]) -> Vec<String> {
    match object {
        // Upstream podEvaluator.MatchingResources.
        QuotaObject::Pod(_) => {
            let mut result = intersection(input, &POD_RESOURCES);
            for r in input {
                if r.starts_with(HUGE_PAGES_PREFIX) || r.starts_with(REQUESTS_HUGE_PAGES_PREFIX) {
                    result.push(r.clone());
                }
                if is_extended_resource_name_for_quota(r) {
                    result.push(r.clone());
                }
            }
            result
        }
        // Upstream pvcEvaluator.MatchingResources.
        QuotaObject::PersistentVolumeClaim(_) => input
            .iter()
            .filter(|r| {
                r.as_str() == "count/persistentvolumeclaims"
                    || PVC_RESOURCES.contains(&r.as_str())
                    || PVC_RESOURCES
                        .iter()
                        .any(|p| r.ends_with(&format!("{STORAGE_CLASS_SUFFIX}{p}")))
            })
            .cloned()
            .collect(),
        QuotaObject::Service(_) => intersection(input, &SERVICE_RESOURCES),
        // Upstream objectCountEvaluator.MatchingResources.
        QuotaObject::Counted {
            resource, group, ..
        } => {
            let count = object_count_quota_resource_name_for(resource, group);
            let mut names = vec![count.as_str()];
            if let Some(alias) = legacy_object_count_alias(resource, group) {
                names.push(alias);
            }
            intersection(input, &names)
        }
    }
}

/// Upstream `qos.GetPodQOS(pod) == BestEffort`: no container asks for or caps cpu or memory.
pub fn is_best_effort(pod: &PodView) -> bool {
    let positive = |list: &ResourceList| {
        ["cpu", "memory"]
            .iter()
            .any(|r| list.get(*r).is_some_and(|q| q.sign() == Ordering::Greater))
    };
    !pod.containers
        .iter()
        .chain(&pod.init_containers)
        .any(|c| positive(&c.requests) || positive(&c.limits))
}

/// Upstream `IsTerminating`: `activeDeadlineSeconds` set and non-negative.
pub fn is_terminating(pod: &PodView) -> bool {
    pod.active_deadline_seconds.is_some_and(|s| s >= 0)
}

/// Upstream `labels.Requirement.Matches` over a label set holding at most `key=value`, as
/// `ScopedResourceSelectorRequirementsAsSelector` builds it. Err for requirements
/// `labels.NewRequirement` rejects (API validation rejects such quotas, so none is stored).
fn selector_matches(
    selector: &ScopedResourceSelectorRequirement,
    value: Option<&str>,
) -> Result<bool, String> {
    use ScopeSelectorOperator::*;
    let needs_values = matches!(selector.operator, In | NotIn);
    if needs_values == selector.values.is_empty() {
        return Err(format!(
            "failed to parse and convert selector: values: Invalid value: {:?}",
            selector.values
        ));
    }
    let contained = value.is_some_and(|v| selector.values.iter().any(|x| x == v));
    Ok(match selector.operator {
        In => contained,
        NotIn => !contained,
        Exists => value.is_some(),
        DoesNotExist => value.is_none(),
    })
}

/// The evaluator's scope function: upstream `podMatchesScopeFunc` for pods,
/// `pvcMatchesScopeFunc` for claims, and `MatchesNoScopeFunc` (never) for everything else.
pub fn matches_scope(
    object: &QuotaObject,
    selector: &ScopedResourceSelectorRequirement,
) -> Result<bool, String> {
    match object {
        QuotaObject::Pod(pod) => match selector.scope_name.as_str() {
            SCOPE_TERMINATING => Ok(is_terminating(pod)),
            SCOPE_NOT_TERMINATING => Ok(!is_terminating(pod)),
            SCOPE_BEST_EFFORT => Ok(is_best_effort(pod)),
            SCOPE_NOT_BEST_EFFORT => Ok(!is_best_effort(pod)),
            SCOPE_PRIORITY_CLASS => {
                if selector.operator == ScopeSelectorOperator::Exists {
                    return Ok(!pod.priority_class_name.is_empty());
                }
                let class = Some(pod.priority_class_name.as_str()).filter(|c| !c.is_empty());
                selector_matches(selector, class)
            }
            SCOPE_CROSS_NAMESPACE_POD_AFFINITY => Ok(pod.cross_namespace_pod_affinity),
            _ => Ok(false),
        },
        QuotaObject::PersistentVolumeClaim(pvc) => {
            if selector.scope_name != SCOPE_VOLUME_ATTRIBUTES_CLASS {
                return Ok(false);
            }
            if selector.operator == ScopeSelectorOperator::Exists {
                return Ok(!pvc.volume_attributes_classes.is_empty());
            }
            if pvc.volume_attributes_classes.is_empty() {
                return selector_matches(selector, None);
            }
            for class in &pvc.volume_attributes_classes {
                if selector_matches(selector, Some(class))? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        _ => Ok(false),
    }
}

/// Upstream `generic.Matches`: the quota tracks some resource of this kind and every one of its
/// scope selectors matches the object.
pub fn quota_matches(quota: &ResourceQuota, object: &QuotaObject) -> Result<bool, String> {
    let hard: Vec<String> = quota.hard.keys().cloned().collect();
    let match_resource = !matching_resources(object, &hard).is_empty();
    let mut match_scope = true;
    for selector in quota.scope_selectors() {
        let inner = matches_scope(object, &selector)?;
        match_scope = match_scope && inner;
    }
    Ok(match_resource && match_scope)
}

/// Upstream `addResourceList`.
fn add_resource_list(list: &mut ResourceList, new: &ResourceList) {
    for (name, q) in new {
        list.entry(name.clone())
            .and_modify(|v| *v = v.add(q))
            .or_insert(*q);
    }
}

/// Upstream `maxResourceList`.
fn max_resource_list(list: &mut ResourceList, new: &ResourceList) {
    for (name, q) in new {
        match list.get(name) {
            Some(v) if q.cmp_value(v) != Ordering::Greater => {}
            _ => {
                list.insert(name.clone(), *q);
            }
        }
    }
}

/// Upstream `aggregateContainerResourcesByFn` over the spec: the sum of app containers and
/// sidecars, or the largest init container step if that is larger (KEP-753: an init container
/// runs alongside the sidecars started before it).
pub fn aggregate_container_resources(
    pod: &PodView,
    get: impl Fn(&ContainerResources) -> &ResourceList,
) -> ResourceList {
    let mut result = ResourceList::new();
    for c in &pod.containers {
        add_resource_list(&mut result, get(c));
    }
    let mut restartable = ResourceList::new();
    let mut init = ResourceList::new();
    for c in &pod.init_containers {
        if c.restartable_init {
            add_resource_list(&mut result, get(c));
            add_resource_list(&mut restartable, get(c));
            max_resource_list(&mut init, &restartable);
        } else {
            let mut combined = ResourceList::new();
            add_resource_list(&mut combined, get(c));
            add_resource_list(&mut combined, &restartable);
            max_resource_list(&mut init, &combined);
        }
    }
    max_resource_list(&mut result, &init);
    result
}

/// Upstream `resourcehelper.PodRequests` (spec only, overhead included).
pub fn pod_requests(pod: &PodView) -> ResourceList {
    let mut reqs = aggregate_container_resources(pod, |c| &c.requests);
    add_resource_list(&mut reqs, &pod.overhead);
    reqs
}

/// Upstream `resourcehelper.PodLimits` (spec only): overhead is added to non-zero limits only.
pub fn pod_limits(pod: &PodView) -> ResourceList {
    let mut limits = aggregate_container_resources(pod, |c| &c.limits);
    for (name, q) in &pod.overhead {
        if let Some(v) = limits.get_mut(name)
            && !v.is_zero()
        {
            *v = v.add(q);
        }
    }
    limits
}

/// Upstream `podComputeUsageHelper`.
fn pod_compute_usage_helper(requests: &ResourceList, limits: &ResourceList) -> ResourceList {
    let mut result = ResourceList::new();
    result.insert(
        "pods".to_string(),
        Amount::from_value(1, QuantityFormat::DecimalSI),
    );
    for (resource, aliases) in [
        ("cpu", ["cpu", "requests.cpu"]),
        ("memory", ["memory", "requests.memory"]),
        (
            "ephemeral-storage",
            ["ephemeral-storage", "requests.ephemeral-storage"],
        ),
    ] {
        if let Some(q) = requests.get(resource) {
            for a in aliases {
                result.insert(a.to_string(), *q);
            }
        }
        if let Some(q) = limits.get(resource) {
            result.insert(format!("limits.{resource}"), *q);
        }
    }
    for (resource, q) in requests {
        if resource.starts_with(HUGE_PAGES_PREFIX) {
            result.insert(resource.clone(), *q);
            result.insert(format!("{REQUESTS_PREFIX}{resource}"), *q);
        }
        if is_dra_extended_resource_name(resource) {
            result.insert(format!("{REQUESTS_PREFIX}{resource}"), *q);
        }
    }
    result
}

/// Upstream `PodUsageFunc`: `count/pods` always; the compute resources and `pods` only while the
/// pod is not terminal (`QuotaV1Pod`).
pub fn pod_usage(pod: &PodView) -> ResourceList {
    let mut result = ResourceList::new();
    result.insert(
        POD_OBJECT_COUNT.to_string(),
        Amount::from_value(1, QuantityFormat::DecimalSI),
    );
    if pod.terminal_phase || pod.deletion_grace_expired {
        return result;
    }
    let usage = pod_compute_usage_helper(&pod_requests(pod), &pod_limits(pod));
    result.extend(usage);
    result
}

/// Upstream `pvcEvaluator.Usage`: the claim, its storage (rounded up to whole bytes), and both
/// again under the storage class's names.
pub fn pvc_usage(pvc: &PvcView) -> ResourceList {
    let one = Amount::from_value(1, QuantityFormat::DecimalSI);
    let mut result = ResourceList::new();
    result.insert("persistentvolumeclaims".to_string(), one);
    result.insert("count/persistentvolumeclaims".to_string(), one);
    let class = &pvc.storage_class;
    if !class.is_empty() {
        result.insert(
            format!("{class}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"),
            one,
        );
    }
    if let Some(storage) = pvc.requested_storage {
        let storage = storage.round_up_to_unit();
        result.insert("requests.storage".to_string(), storage);
        if !class.is_empty() {
            result.insert(
                format!("{class}{STORAGE_CLASS_SUFFIX}requests.storage"),
                storage,
            );
        }
    }
    result
}

/// Upstream `serviceEvaluator.Usage` (with `allocateLoadBalancerNodePorts` at its default).
pub fn service_usage(svc: &ServiceView) -> ResourceList {
    let n = |v| Amount::from_value(v, QuantityFormat::DecimalSI);
    let (node_ports, load_balancers) = match svc.service_type {
        ServiceType::NodePort => (svc.ports, 0),
        ServiceType::LoadBalancer => (svc.ports, 1),
        ServiceType::ClusterIP | ServiceType::ExternalName => (0, 0),
    };
    ResourceList::from([
        ("count/services".to_string(), n(1)),
        ("services".to_string(), n(1)),
        ("services.loadbalancers".to_string(), n(load_balancers)),
        ("services.nodeports".to_string(), n(node_ports)),
    ])
}

/// The evaluator's `Usage` for any object kind.
pub fn usage(object: &QuotaObject) -> ResourceList {
    match object {
        QuotaObject::Pod(pod) => pod_usage(pod),
        QuotaObject::PersistentVolumeClaim(pvc) => pvc_usage(pvc),
        QuotaObject::Service(svc) => service_usage(svc),
        QuotaObject::Counted {
            resource, group, ..
        } => {
            let one = Amount::from_value(1, QuantityFormat::DecimalSI);
            let mut list = ResourceList::new();
            list.insert(object_count_quota_resource_name_for(resource, group), one);
            if let Some(alias) = legacy_object_count_alias(resource, group) {
                list.insert(alias.to_string(), one);
            }
            list
        }
    }
}

/// Upstream `podEvaluator.Constraints`: a quota on cpu or memory (`validationSet`) makes every
/// container, init containers included, state that resource. Other kinds have no constraints.
pub fn constraints(object: &QuotaObject, required: &[String]) -> Result<(), String> {
    let QuotaObject::Pod(pod) = object else {
        return Ok(());
    };
    let required: BTreeSet<&str> = required
        .iter()
        .map(String::as_str)
        .filter(|r| VALIDATION_SET.contains(r))
        .collect();
    let mut missing: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for c in pod.containers.iter().chain(&pod.init_containers) {
        let usage = pod_compute_usage_helper(&c.requests, &c.limits);
        for r in &required {
            if !usage.contains_key(*r) {
                missing.entry(r).or_default().insert(c.name.as_str());
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let parts: Vec<String> = missing
        .iter()
        .map(|(r, names)| {
            let names: Vec<&str> = names.iter().copied().collect();
            format!("{r} for: {}", names.join(","))
        })
        .collect();
    Err(format!("must specify {}", parts.join("; ")))
}

/// Upstream `prettyPrint`: `name=quantity` pairs in name order, comma-separated.
pub fn pretty_print(list: &ResourceList) -> String {
    list.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Upstream `quota.Mask`.
fn mask<'a>(list: &ResourceList, names: impl IntoIterator<Item = &'a String>) -> ResourceList {
    let names: BTreeSet<&String> = names.into_iter().collect();
    list.iter()
        .filter(|(k, _)| names.contains(k))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

/// Upstream `quota.Add`.
pub fn add(a: &ResourceList, b: &ResourceList) -> ResourceList {
    let mut result = a.clone();
    add_resource_list(&mut result, b);
    result
}

/// Why a request failed quota admission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuotaRejection {
    /// Upstream wraps these with `admission.NewForbidden`: the client sees
    /// [`QuotaRejection::client_message`].
    Forbidden(String),
    /// A quota's scope selector could not be evaluated (returned unwrapped upstream).
    Error(String),
}

impl QuotaRejection {
    /// The message an API client gets, e.g. `pods "web-0" is forbidden: exceeded quota: ...`.
    pub fn client_message(&self, object: &QuotaObject) -> String {
        match self {
            QuotaRejection::Forbidden(err) => {
                forbidden_message(&object.group_resource(), object.name(), err)
            }
            QuotaRejection::Error(err) => err.clone(),
        }
    }
}

/// Upstream `apierrors.NewForbidden` as `admission.NewForbidden` calls it: the name is the
/// object's name (for a generated name, the generated one, as validating admission runs after
/// the name is generated), or "Unknown" if it has none.
pub fn forbidden_message(group_resource: &str, name: &str, err: &str) -> String {
    let name = if name.is_empty() { "Unknown" } else { name };
    format!("{group_resource} \"{name}\" is forbidden: {err}")
}

/// Upstream `CheckRequest` for a create: finds the quotas that constrain `object`, enforces the
/// pod constraints and usage-known rules, and checks the new usage against every matching
/// quota's hard limits. Returns the quotas' new `used`, index for index with `quotas`
/// (unchanged where a quota does not apply).
pub fn check_request(
    quotas: &[ResourceQuota],
    object: &QuotaObject,
) -> Result<Vec<ResourceList>, QuotaRejection> {
    let unchanged = || quotas.iter().map(|q| q.used.clone()).collect::<Vec<_>>();
    let mut interesting = Vec::new();
    for (i, quota) in quotas.iter().enumerate() {
        for selector in quota.scope_selectors() {
            matches_scope(object, &selector).map_err(|err| {
                QuotaRejection::Error(format!(
                    "error matching scopes of quota {}, err: error on matching scope {:?}: {err}",
                    quota.name, selector
                ))
            })?;
        }
        if !quota_matches(quota, object).map_err(QuotaRejection::Error)? {
            continue;
        }
        let hard: Vec<String> = quota.hard.keys().cloned().collect();
        let restricted = matching_resources(object, &hard);
        if let Err(err) = constraints(object, &restricted) {
            return Err(QuotaRejection::Forbidden(format!(
                "failed quota: {}: {err}",
                quota.name
            )));
        }
        // Upstream hasUsageStats: every tracked hard resource needs a computed usage.
        let missing_stats = quota
            .hard
            .keys()
            .any(|r| restricted.contains(r) && !quota.used.contains_key(r));
        if missing_stats {
            let names: BTreeSet<&String> = restricted.iter().collect();
            let names: Vec<&str> = names.into_iter().map(String::as_str).collect();
            return Err(QuotaRejection::Forbidden(format!(
                "status unknown for quota: {}, resources: {}",
                quota.name,
                names.join(",")
            )));
        }
        interesting.push(i);
    }

    let input_usage = usage(object);
    let negative: Vec<&str> = input_usage
        .iter()
        .filter(|(_, v)| v.sign() == Ordering::Less)
        .map(|(k, _)| k.as_str())
        .collect();
    if !negative.is_empty() {
        return Err(QuotaRejection::Forbidden(format!(
            "quota usage is negative for resource(s): {}",
            negative.join(",")
        )));
    }
    // Upstream RemoveZeros: zero usage cannot change a quota.
    let delta: ResourceList = input_usage
        .into_iter()
        .filter(|(_, v)| !v.is_zero())
        .collect();
    if interesting.is_empty() || delta.is_empty() {
        return Ok(unchanged());
    }

    let mut out = unchanged();
    for i in interesting {
        let quota = &quotas[i];
        let requested = mask(&delta, quota.hard.keys());
        let new_usage = add(&quota.used, &requested);
        let masked_new = mask(&new_usage, requested.keys());
        // Upstream quota.LessThanOrEqual: only resources this request adds to are compared.
        let exceeded: Vec<String> = quota
            .hard
            .iter()
            .filter(|(k, hard)| {
                masked_new
                    .get(*k)
                    .is_some_and(|v| v.cmp_value(hard) == Ordering::Greater)
            })
            .map(|(k, _)| k.clone())
            .collect();
        if !exceeded.is_empty() {
            return Err(QuotaRejection::Forbidden(format!(
                "exceeded quota: {}, requested: {}, used: {}, limited: {}",
                quota.name,
                pretty_print(&mask(&requested, &exceeded)),
                pretty_print(&mask(&quota.used, &exceeded)),
                pretty_print(&mask(&quota.hard, &exceeded)),
            )));
        }
        out[i] = new_usage;
    }
    Ok(out)
}

/// [`check_request`] with the rejection rendered as the API client sees it.
pub fn admit(quotas: &[ResourceQuota], object: &QuotaObject) -> Result<Vec<ResourceList>, String> {
    check_request(quotas, object).map_err(|r| r.client_message(object))
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// `resource.MustParse`.
    pub fn q(s: &str) -> Amount {
        Amount::parse(s).expect("test quantity")
    }

    pub fn list(items: &[(&str, &str)]) -> ResourceList {
        items.iter().map(|(k, v)| (k.to_string(), q(v))).collect()
    }

    /// Upstream test helper `getResourceList(cpu, memory)`.
    pub fn cpu_mem(cpu: &str, memory: &str) -> ResourceList {
        let mut l = ResourceList::new();
        if !cpu.is_empty() {
            l.insert("cpu".to_string(), q(cpu));
        }
        if !memory.is_empty() {
            l.insert("memory".to_string(), q(memory));
        }
        l
    }

    pub fn container(
        name: &str,
        requests: ResourceList,
        limits: ResourceList,
    ) -> ContainerResources {
        ContainerResources {
            name: name.to_string(),
            requests,
            limits,
            restartable_init: false,
        }
    }

    /// Upstream test helper `validPod(name, numContainers, resources)` (containers unnamed).
    pub fn valid_pod(
        name: &str,
        n: usize,
        requests: ResourceList,
        limits: ResourceList,
    ) -> PodView {
        PodView {
            name: name.to_string(),
            namespace: "test".to_string(),
            containers: (0..n)
                .map(|_| container("", requests.clone(), limits.clone()))
                .collect(),
            ..PodView::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    fn values(l: &ResourceList) -> BTreeMap<String, i64> {
        l.iter()
            .map(|(k, v)| (k.clone(), v.milli_value()))
            .collect()
    }

    #[test]
    fn canonical_form_matches_quantity_string() {
        // apimachinery quantity_test.go (TestQuantityString and friends): canonical forms.
        for (input, want) in [
            ("0", "0"),
            ("100m", "100m"),
            ("1500m", "1500m"),
            ("1.5", "1500m"),
            ("2", "2"),
            ("1000", "1k"),
            ("1500", "1500"),
            ("1Gi", "1Gi"),
            ("1024Mi", "1Gi"),
            ("1536Mi", "1536Mi"),
            ("1073741824", "1073741824"),
            ("1G", "1G"),
            ("1000M", "1G"),
            ("100Mi", "100Mi"),
            ("1023Ki", "1023Ki"),
            ("512", "512"),
            ("0.5Gi", "512Mi"),
            ("1e3", "1e3"),
            ("1.5Ki", "1536"),
            ("-1Gi", "-1Gi"),
            ("100u", "1m"),
        ] {
            assert_eq!(q(input).to_string(), want, "{input}");
        }
        // A byte count written in BinarySI prints with the largest exact suffix.
        assert_eq!(
            Amount::from_value(1_073_741_824, QuantityFormat::BinarySI).to_string(),
            "1Gi"
        );
        assert_eq!(
            Amount::from_milli(1500, QuantityFormat::DecimalSI).to_string(),
            "1500m"
        );
    }

    #[test]
    fn add_keeps_left_format_unless_zero() {
        // TestAdmitBelowQuotaLimit expects used memory 50Gi + 2Gi = "52Gi", cpu 1 + 100m = "1100m".
        assert_eq!(q("50Gi").add(&q("2Gi")).to_string(), "52Gi");
        assert_eq!(q("1").add(&q("100m")).to_string(), "1100m");
        assert_eq!(q("0").add(&q("2Gi")).to_string(), "2Gi");
    }

    /// upstream pkg/quota/v1/evaluator/core/pods_test.go TestPodEvaluatorUsage (cases without
    /// pod-level resources).
    #[test]
    fn pod_evaluator_usage() {
        let init = |requests, limits| PodView {
            init_containers: vec![container("", requests, limits)],
            ..PodView::default()
        };
        let app = |requests, limits| PodView {
            containers: vec![container("", requests, limits)],
            ..PodView::default()
        };
        let c = |cpu_req: &str,
                 mem_req: &str,
                 dongle_req: &str,
                 cpu_lim: &str,
                 mem_lim: &str,
                 dongle_lim: &str| {
            container(
                "",
                list(&[
                    ("cpu", cpu_req),
                    ("memory", mem_req),
                    ("example.com/dongle", dongle_req),
                ]),
                list(&[
                    ("cpu", cpu_lim),
                    ("memory", mem_lim),
                    ("example.com/dongle", dongle_lim),
                ]),
            )
        };
        let cases: Vec<(&str, PodView, ResourceList)> = vec![
            (
                "init container CPU",
                init(list(&[("cpu", "1m")]), list(&[("cpu", "2m")])),
                list(&[
                    ("requests.cpu", "1m"),
                    ("limits.cpu", "2m"),
                    ("pods", "1"),
                    ("cpu", "1m"),
                    ("count/pods", "1"),
                ]),
            ),
            (
                "init container MEM",
                init(list(&[("memory", "1m")]), list(&[("memory", "2m")])),
                list(&[
                    ("requests.memory", "1m"),
                    ("limits.memory", "2m"),
                    ("pods", "1"),
                    ("memory", "1m"),
                    ("count/pods", "1"),
                ]),
            ),
            (
                "init container local ephemeral storage",
                init(
                    list(&[("ephemeral-storage", "32Mi")]),
                    list(&[("ephemeral-storage", "64Mi")]),
                ),
                list(&[
                    ("ephemeral-storage", "32Mi"),
                    ("requests.ephemeral-storage", "32Mi"),
                    ("limits.ephemeral-storage", "64Mi"),
                    ("pods", "1"),
                    ("count/pods", "1"),
                ]),
            ),
            (
                "init container hugepages",
                init(list(&[("hugepages-2Mi", "100Mi")]), ResourceList::new()),
                list(&[
                    ("hugepages-2Mi", "100Mi"),
                    ("requests.hugepages-2Mi", "100Mi"),
                    ("pods", "1"),
                    ("count/pods", "1"),
                ]),
            ),
            (
                "init container extended resources",
                init(
                    list(&[("example.com/dongle", "3")]),
                    list(&[("example.com/dongle", "3")]),
                ),
                list(&[
                    ("requests.example.com/dongle", "3"),
                    ("pods", "1"),
                    ("count/pods", "1"),
                ]),
            ),
            (
                "init container implicit extended resources",
                init(
                    list(&[("deviceclass.resource.kubernetes.io/dongle", "3")]),
                    list(&[("deviceclass.resource.kubernetes.io/dongle", "3")]),
                ),
                list(&[
                    ("requests.deviceclass.resource.kubernetes.io/dongle", "3"),
                    ("pods", "1"),
                    ("count/pods", "1"),
                ]),
            ),
            (
                "container CPU",
                app(list(&[("cpu", "1m")]), list(&[("cpu", "2m")])),
                list(&[
                    ("requests.cpu", "1m"),
                    ("limits.cpu", "2m"),
                    ("pods", "1"),
                    ("cpu", "1m"),
                    ("count/pods", "1"),
                ]),
            ),
            (
                "container MEM",
                app(list(&[("memory", "1m")]), list(&[("memory", "2m")])),
                list(&[
                    ("requests.memory", "1m"),
                    ("limits.memory", "2m"),
                    ("pods", "1"),
                    ("memory", "1m"),
                    ("count/pods", "1"),
                ]),
            ),
            (
                "container extended resources",
                app(
                    list(&[("example.com/dongle", "3")]),
                    list(&[("example.com/dongle", "3")]),
                ),
                list(&[
                    ("requests.example.com/dongle", "3"),
                    ("pods", "1"),
                    ("count/pods", "1"),
                ]),
            ),
            (
                "terminated generic count still appears",
                PodView {
                    terminal_phase: true,
                    ..app(
                        list(&[("example.com/dongle", "3")]),
                        list(&[("example.com/dongle", "3")]),
                    )
                },
                list(&[("count/pods", "1")]),
            ),
            (
                "init container maximums override sum of containers",
                PodView {
                    init_containers: vec![
                        c("4", "100M", "4", "8", "200M", "4"),
                        c("1", "50M", "2", "2", "100M", "2"),
                    ],
                    containers: vec![
                        c("1", "50M", "1", "2", "100M", "1"),
                        c("2", "25M", "2", "5", "50M", "2"),
                    ],
                    ..PodView::default()
                },
                list(&[
                    ("requests.cpu", "4"),
                    ("requests.memory", "100M"),
                    ("limits.cpu", "8"),
                    ("limits.memory", "200M"),
                    ("pods", "1"),
                    ("cpu", "4"),
                    ("memory", "100M"),
                    ("requests.example.com/dongle", "4"),
                    ("count/pods", "1"),
                ]),
            ),
            (
                "pod deletion timestamp exceeded",
                PodView {
                    deletion_grace_expired: true,
                    ..app(cpu_mem("1", "50M"), cpu_mem("2", "100M"))
                },
                list(&[("count/pods", "1")]),
            ),
            (
                "pod deletion timestamp not exceeded",
                app(list(&[("cpu", "1")]), list(&[("cpu", "2")])),
                list(&[
                    ("requests.cpu", "1"),
                    ("limits.cpu", "2"),
                    ("pods", "1"),
                    ("cpu", "1"),
                    ("count/pods", "1"),
                ]),
            ),
            (
                "count pod overhead as usage",
                PodView {
                    overhead: list(&[("cpu", "1")]),
                    ..app(list(&[("cpu", "1")]), list(&[("cpu", "2")]))
                },
                list(&[
                    ("requests.cpu", "2"),
                    ("limits.cpu", "3"),
                    ("pods", "1"),
                    ("cpu", "2"),
                    ("count/pods", "1"),
                ]),
            ),
        ];
        for (name, pod, want) in cases {
            assert_eq!(values(&pod_usage(&pod)), values(&want), "{name}");
        }
    }

    #[test]
    fn sidecars_add_to_the_sum_and_to_later_init_steps() {
        // KEP-753 formula as upstream aggregateContainerResourcesByFn computes it.
        let mut sidecar = container("s", list(&[("cpu", "1")]), ResourceList::new());
        sidecar.restartable_init = true;
        let pod = PodView {
            init_containers: vec![
                sidecar,
                container("i", list(&[("cpu", "3")]), ResourceList::new()),
            ],
            containers: vec![container("a", list(&[("cpu", "1")]), ResourceList::new())],
            ..PodView::default()
        };
        // max(app 1 + sidecar 1, init 3 + sidecar 1) = 4.
        assert_eq!(pod_requests(&pod)["cpu"].to_string(), "4");
    }

    /// upstream pkg/quota/v1/evaluator/core/pods_test.go TestPodEvaluatorMatchingScopes (the
    /// cases that do not involve pod affinity terms).
    #[test]
    fn pod_evaluator_matching_scopes() {
        let sel = |scope: &str| ScopedResourceSelectorRequirement {
            scope_name: scope.to_string(),
            operator: ScopeSelectorOperator::Exists,
            values: vec![],
        };
        let class1 = ScopedResourceSelectorRequirement {
            scope_name: SCOPE_PRIORITY_CLASS.to_string(),
            operator: ScopeSelectorOperator::In,
            values: vec!["class1".to_string()],
        };
        let all = vec![
            sel(SCOPE_TERMINATING),
            sel(SCOPE_NOT_TERMINATING),
            sel(SCOPE_BEST_EFFORT),
            sel(SCOPE_NOT_BEST_EFFORT),
            class1.clone(),
            sel(SCOPE_CROSS_NAMESPACE_POD_AFFINITY),
        ];
        let not_best_effort = PodView {
            containers: vec![container(
                "",
                list(&[("cpu", "1"), ("memory", "50M"), ("example.com/dongle", "1")]),
                list(&[
                    ("cpu", "2"),
                    ("memory", "100M"),
                    ("example.com/dongle", "1"),
                ]),
            )],
            ..PodView::default()
        };
        let terminating = PodView {
            active_deadline_seconds: Some(30),
            ..PodView::default()
        };
        let cases: Vec<(
            &str,
            PodView,
            Vec<ScopedResourceSelectorRequirement>,
            Vec<ScopedResourceSelectorRequirement>,
        )> = vec![
            (
                "EmptyPod",
                PodView::default(),
                all.clone(),
                vec![sel(SCOPE_NOT_TERMINATING), sel(SCOPE_BEST_EFFORT)],
            ),
            (
                "PriorityClass",
                PodView {
                    priority_class_name: "class1".to_string(),
                    ..PodView::default()
                },
                all.clone(),
                vec![
                    sel(SCOPE_NOT_TERMINATING),
                    sel(SCOPE_BEST_EFFORT),
                    class1.clone(),
                ],
            ),
            (
                "NotBestEffort",
                not_best_effort,
                all.clone(),
                vec![sel(SCOPE_NOT_TERMINATING), sel(SCOPE_NOT_BEST_EFFORT)],
            ),
            (
                "Terminating",
                terminating.clone(),
                all.clone(),
                vec![sel(SCOPE_TERMINATING), sel(SCOPE_BEST_EFFORT)],
            ),
            (
                "OnlyTerminating",
                terminating.clone(),
                vec![sel(SCOPE_TERMINATING)],
                vec![sel(SCOPE_TERMINATING)],
            ),
            (
                "CrossNamespaceRequiredAffinity",
                PodView {
                    cross_namespace_pod_affinity: true,
                    ..terminating
                },
                all.clone(),
                vec![
                    sel(SCOPE_TERMINATING),
                    sel(SCOPE_BEST_EFFORT),
                    sel(SCOPE_CROSS_NAMESPACE_POD_AFFINITY),
                ],
            ),
        ];
        for (name, pod, selectors, want) in cases {
            let object = QuotaObject::Pod(pod);
            let got: Vec<_> = selectors
                .into_iter()
                .filter(|s| matches_scope(&object, s).unwrap())
                .collect();
            // Upstream's expectations carry no operator for scope-only selectors; compare names
            // and values.
            let key = |v: &[ScopedResourceSelectorRequirement]| {
                v.iter()
                    .map(|s| (s.scope_name.clone(), s.values.clone()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(key(&got), key(&want), "{name}");
        }
    }

    /// upstream pods_test.go TestPodConstraintsFunc (cases without pod-level resources).
    #[test]
    fn pod_constraints_func() {
        let init = |names: &[&str]| PodView {
            init_containers: names
                .iter()
                .map(|n| container(n, list(&[("cpu", "1m")]), list(&[("cpu", "2m")])))
                .collect(),
            ..PodView::default()
        };
        let app = |names: &[&str], with_cpu: bool| PodView {
            containers: names
                .iter()
                .map(|n| {
                    if with_cpu {
                        container(n, list(&[("cpu", "1m")]), list(&[("cpu", "2m")]))
                    } else {
                        container(n, ResourceList::new(), ResourceList::new())
                    }
                })
                .collect(),
            ..PodView::default()
        };
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let cases = [
            (
                "init container resource missing",
                init(&["dummy"]),
                s(&["memory"]),
                "must specify memory for: dummy",
            ),
            (
                "multiple init container resource missing",
                init(&["foo", "bar"]),
                s(&["memory"]),
                "must specify memory for: bar,foo",
            ),
            (
                "container resource missing",
                app(&["dummy"], true),
                s(&["memory"]),
                "must specify memory for: dummy",
            ),
            (
                "multiple container resource missing",
                app(&["foo", "bar"], true),
                s(&["memory"]),
                "must specify memory for: bar,foo",
            ),
            (
                "container resource missing multiple",
                app(&["foo", "bar"], false),
                s(&["memory", "cpu"]),
                "must specify cpu for: bar,foo; memory for: bar,foo",
            ),
        ];
        for (name, pod, required, want) in cases {
            assert_eq!(
                constraints(&QuotaObject::Pod(pod), &required),
                Err(want.to_string()),
                "{name}"
            );
        }
    }

    fn quota(name: &str, hard: ResourceList, used: ResourceList, scopes: &[&str]) -> ResourceQuota {
        ResourceQuota {
            name: name.to_string(),
            hard,
            used,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            scope_selector: vec![],
        }
    }

    /// The quota of TestAdmitBelowQuotaLimit and friends.
    fn standard_quota() -> ResourceQuota {
        quota(
            "quota",
            list(&[("cpu", "3"), ("memory", "100Gi"), ("pods", "5")]),
            list(&[("cpu", "1"), ("memory", "50Gi"), ("pods", "3")]),
            &[],
        )
    }

    /// upstream plugin/pkg/admission/resourcequota/admission_test.go TestAdmitBelowQuotaLimit.
    #[test]
    fn admit_below_quota_limit() {
        let pod = valid_pod("allowed-pod", 1, cpu_mem("100m", "2Gi"), cpu_mem("", ""));
        let used = check_request(&[standard_quota()], &QuotaObject::Pod(pod)).unwrap();
        let printed: BTreeMap<_, _> = used[0]
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_string()))
            .collect();
        assert_eq!(printed["cpu"], "1100m");
        assert_eq!(printed["memory"], "52Gi");
        assert_eq!(printed["pods"], "4");
    }

    /// upstream admission_test.go TestAdmitExceedQuotaLimit, with the message upstream builds.
    #[test]
    fn admit_exceed_quota_limit() {
        let pod = valid_pod("not-allowed-pod", 1, cpu_mem("3", "2Gi"), cpu_mem("", ""));
        let object = QuotaObject::Pod(pod);
        assert_eq!(
            admit(&[standard_quota()], &object),
            Err("pods \"not-allowed-pod\" is forbidden: exceeded quota: quota, requested: cpu=3, used: cpu=1, limited: cpu=3".to_string())
        );
    }

    /// upstream admission_test.go TestAdmitEnforceQuotaConstraints: a quota on limits.memory
    /// rejects a pod whose container sets no memory limit.
    #[test]
    fn admit_enforce_quota_constraints() {
        let q = quota(
            "quota",
            list(&[
                ("cpu", "3"),
                ("memory", "100Gi"),
                ("limits.memory", "200Gi"),
                ("pods", "5"),
            ]),
            list(&[
                ("cpu", "1"),
                ("memory", "50Gi"),
                ("limits.memory", "100Gi"),
                ("pods", "3"),
            ]),
            &[],
        );
        let pod = valid_pod(
            "not-allowed-pod",
            1,
            cpu_mem("100m", "2Gi"),
            cpu_mem("200m", ""),
        );
        assert_eq!(
            admit(&[q], &QuotaObject::Pod(pod)),
            Err("pods \"not-allowed-pod\" is forbidden: failed quota: quota: must specify limits.memory for: ".to_string())
        );
    }

    /// upstream admission_test.go TestAdmitBelowTerminatingQuotaLimit: a terminating pod is
    /// charged to the Terminating quota only.
    #[test]
    fn admit_below_terminating_quota_limit() {
        let hard = list(&[("cpu", "3"), ("memory", "100Gi"), ("pods", "5")]);
        let used = list(&[("cpu", "1"), ("memory", "50Gi"), ("pods", "3")]);
        let quotas = [
            quota(
                "quota-non-terminating",
                hard.clone(),
                used.clone(),
                &[SCOPE_NOT_TERMINATING],
            ),
            quota(
                "quota-terminating",
                hard,
                used.clone(),
                &[SCOPE_TERMINATING],
            ),
        ];
        let mut pod = valid_pod("allowed-pod", 1, cpu_mem("100m", "2Gi"), cpu_mem("", ""));
        pod.active_deadline_seconds = Some(30);
        let new = check_request(&quotas, &QuotaObject::Pod(pod)).unwrap();
        assert_eq!(new[0], used);
        assert_eq!(new[1]["cpu"].to_string(), "1100m");
        assert_eq!(new[1]["memory"].to_string(), "52Gi");
        assert_eq!(new[1]["pods"].to_string(), "4");
    }

    /// upstream admission_test.go TestAdmitBelowBestEffortQuotaLimit and
    /// TestAdmitBestEffortQuotaLimitIgnoresBurstable.
    #[test]
    fn best_effort_scopes() {
        let hard = list(&[("pods", "5")]);
        let used = list(&[("pods", "3")]);
        let quotas = [
            quota(
                "quota-besteffort",
                hard.clone(),
                used.clone(),
                &[SCOPE_BEST_EFFORT],
            ),
            quota(
                "quota-not-besteffort",
                hard.clone(),
                used.clone(),
                &[SCOPE_NOT_BEST_EFFORT],
            ),
        ];
        let best_effort = valid_pod("allowed-pod", 1, cpu_mem("", ""), cpu_mem("", ""));
        let new = check_request(&quotas, &QuotaObject::Pod(best_effort)).unwrap();
        assert_eq!(new[0]["pods"].to_string(), "4");
        assert_eq!(new[1], used);

        let burstable = valid_pod("allowed-pod", 1, cpu_mem("100m", "1Gi"), cpu_mem("", ""));
        let only = [quotas[0].clone()];
        assert_eq!(
            check_request(&only, &QuotaObject::Pod(burstable)).unwrap(),
            vec![used]
        );
    }

    /// upstream admission_test.go TestAdmitWhenUnrelatedResourceExceedsQuota: an already
    /// exceeded `services` does not block a pod.
    #[test]
    fn unrelated_resource_exceeding_quota_does_not_block() {
        let q = quota(
            "quota",
            list(&[("services", "3"), ("pods", "4")]),
            list(&[("services", "4"), ("pods", "1")]),
            &[],
        );
        let pod = valid_pod("allowed-pod", 1, cpu_mem("", ""), cpu_mem("", ""));
        let new = check_request(&[q], &QuotaObject::Pod(pod)).unwrap();
        assert_eq!(new[0]["pods"].to_string(), "2");
    }

    /// upstream admission_test.go TestAdmitRejectsNegativeUsage.
    #[test]
    fn rejects_negative_usage() {
        let q = quota(
            "quota",
            list(&[
                ("persistentvolumeclaims", "3"),
                ("requests.storage", "100Gi"),
            ]),
            list(&[
                ("persistentvolumeclaims", "1"),
                ("requests.storage", "10Gi"),
            ]),
            &[],
        );
        let pvc = |s: &str| {
            QuotaObject::PersistentVolumeClaim(PvcView {
                name: "not-allowed-pvc".to_string(),
                requested_storage: Some(super::test_support::q(s)),
                ..PvcView::default()
            })
        };
        assert_eq!(
            admit(std::slice::from_ref(&q), &pvc("-1Gi")),
            Err("persistentvolumeclaims \"not-allowed-pvc\" is forbidden: quota usage is negative for resource(s): requests.storage".to_string())
        );
        let new = check_request(&[q], &pvc("1Gi")).unwrap();
        assert_eq!(new[0]["requests.storage"].to_string(), "11Gi");
        assert_eq!(new[0]["persistentvolumeclaims"].to_string(), "2");
    }

    #[test]
    fn status_unknown_rejects() {
        // controller.go hasUsageStats: a tracked hard resource without usage.
        let q = quota(
            "quota",
            list(&[("count/deployments.apps", "5")]),
            ResourceList::new(),
            &[],
        );
        let d = QuotaObject::Counted {
            name: "web".to_string(),
            resource: "deployments".to_string(),
            group: "apps".to_string(),
        };
        assert_eq!(
            admit(&[q], &d),
            Err("deployments.apps \"web\" is forbidden: status unknown for quota: quota, resources: count/deployments.apps".to_string())
        );
    }

    #[test]
    fn object_counts_and_legacy_names() {
        let q = quota(
            "quota",
            list(&[
                ("count/configmaps", "1"),
                ("configmaps", "5"),
                ("count/jobs.batch", "2"),
            ]),
            list(&[
                ("count/configmaps", "1"),
                ("configmaps", "1"),
                ("count/jobs.batch", "0"),
            ]),
            &[],
        );
        let cm = QuotaObject::Counted {
            name: "b".to_string(),
            resource: "configmaps".to_string(),
            group: String::new(),
        };
        assert_eq!(
            admit(std::slice::from_ref(&q), &cm),
            Err("configmaps \"b\" is forbidden: exceeded quota: quota, requested: count/configmaps=1, used: count/configmaps=1, limited: count/configmaps=1".to_string())
        );
        let job = QuotaObject::Counted {
            name: "j".to_string(),
            resource: "jobs".to_string(),
            group: "batch".to_string(),
        };
        assert_eq!(
            check_request(std::slice::from_ref(&q), &job).unwrap()[0]["count/jobs.batch"]
                .to_string(),
            "1"
        );
        // A scoped quota never matches a plainly counted object (MatchesNoScopeFunc).
        let scoped = ResourceQuota {
            scopes: vec![SCOPE_BEST_EFFORT.to_string()],
            ..q
        };
        assert_eq!(
            check_request(std::slice::from_ref(&scoped), &job).unwrap()[0],
            scoped.used
        );
    }

    #[test]
    fn pvc_storage_class_resources() {
        let pvc = PvcView {
            name: "data".to_string(),
            storage_class: "gold".to_string(),
            requested_storage: Some(q("10Gi")),
            ..PvcView::default()
        };
        let got: BTreeMap<_, _> = pvc_usage(&pvc)
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        let want: BTreeMap<String, String> = [
            ("count/persistentvolumeclaims", "1"),
            (
                "gold.storageclass.storage.k8s.io/persistentvolumeclaims",
                "1",
            ),
            ("gold.storageclass.storage.k8s.io/requests.storage", "10Gi"),
            ("persistentvolumeclaims", "1"),
            ("requests.storage", "10Gi"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, want);
        let object = QuotaObject::PersistentVolumeClaim(pvc);
        let hard = vec![
            "gold.storageclass.storage.k8s.io/requests.storage".to_string(),
            "silver.storageclass.storage.k8s.io/persistentvolumeclaims".to_string(),
            "requests.cpu".to_string(),
        ];
        assert_eq!(matching_resources(&object, &hard), hard[..2].to_vec());
    }

    #[test]
    fn extended_resources_are_quota_d_only_as_requests() {
        let pod = PodView {
            containers: vec![container(
                "gpu",
                list(&[("nvidia.com/gpu", "1")]),
                list(&[("nvidia.com/gpu", "1")]),
            )],
            ..PodView::default()
        };
        let object = QuotaObject::Pod(pod);
        let hard = vec![
            "limits.nvidia.com/gpu".to_string(),
            "requests.nvidia.com/gpu".to_string(),
        ];
        assert_eq!(
            matching_resources(&object, &hard),
            vec!["requests.nvidia.com/gpu".to_string()]
        );
        let q = quota(
            "gpu",
            list(&[("requests.nvidia.com/gpu", "0")]),
            list(&[("requests.nvidia.com/gpu", "0")]),
            &[],
        );
        assert_eq!(
            admit(&[q], &object),
            Err("pods \"Unknown\" is forbidden: exceeded quota: gpu, requested: requests.nvidia.com/gpu=1, used: requests.nvidia.com/gpu=0, limited: requests.nvidia.com/gpu=0".to_string())
        );
    }

    #[test]
    fn priority_class_scope_selector() {
        let q = ResourceQuota {
            scope_selector: vec![ScopedResourceSelectorRequirement {
                scope_name: SCOPE_PRIORITY_CLASS.to_string(),
                operator: ScopeSelectorOperator::In,
                values: vec!["high".to_string()],
            }],
            ..quota("pc", list(&[("pods", "1")]), list(&[("pods", "1")]), &[])
        };
        let mut pod = valid_pod("web-0", 1, cpu_mem("", ""), cpu_mem("", ""));
        // No priority class: the quota does not apply.
        assert!(check_request(std::slice::from_ref(&q), &QuotaObject::Pod(pod.clone())).is_ok());
        pod.priority_class_name = "high".to_string();
        assert_eq!(
            admit(&[q], &QuotaObject::Pod(pod)),
            Err("pods \"web-0\" is forbidden: exceeded quota: pc, requested: pods=1, used: pods=1, limited: pods=1".to_string())
        );
    }
}
