//! The inter-pod parts of a pod's scheduling spec: topology spread constraints, pod affinity and
//! anti-affinity, and host ports, with their conversion from `k8s-openapi` types.
//!
//! Conversion validates as the API server would (`pkg/apis/core/validation`): a manifest the API
//! server rejects is an error here, so the scheduler plugins never see a selector that does not
//! parse. Each `from_k8s` returns `Err((path, message))` with `path` relative to the object
//! converted (`labelSelector.matchExpressions[0].values`), for the scenario loader to prefix.
//!
//! `matchLabelKeys` / `mismatchLabelKeys` are kept as written instead of being merged into the
//! label selector: upstream merges them with the labels of the pod itself (the API server for
//! pod affinity, the scheduler for topology spread), and a pod stamped from a template only
//! gets some of those labels (`pod-template-hash`) when its controller creates it. The plugins
//! apply them against the pod's own labels, which gives the merged selector's matches.

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

use super::{LabelSelector, Operator, Requirement};
use crate::api::validation::{label_value_error, qualified_name_error};

/// A conversion error: the path of the offending field, relative to the converted object, and
/// what is wrong with it.
pub type ConvertError = (String, String);

fn at(prefix: &str, (path, message): ConvertError) -> ConvertError {
    let path = match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path,
        (_, true) => prefix.to_string(),
        _ if path.starts_with('[') => format!("{prefix}{path}"),
        _ => format!("{prefix}.{path}"),
    };
    (path, message)
}

/// Upstream `UnsatisfiableConstraintAction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum WhenUnsatisfiable {
    DoNotSchedule,
    ScheduleAnyway,
}

impl WhenUnsatisfiable {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "DoNotSchedule" => Some(Self::DoNotSchedule),
            "ScheduleAnyway" => Some(Self::ScheduleAnyway),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DoNotSchedule => "DoNotSchedule",
            Self::ScheduleAnyway => "ScheduleAnyway",
        }
    }
}

/// Upstream `NodeInclusionPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeInclusionPolicy {
    Honor,
    Ignore,
}

impl NodeInclusionPolicy {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Honor" => Some(Self::Honor),
            "Ignore" => Some(Self::Ignore),
            _ => None,
        }
    }
}

/// `spec.topologySpreadConstraints[*]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopologySpreadConstraint {
    pub max_skew: i32,
    pub topology_key: String,
    pub when_unsatisfiable: WhenUnsatisfiable,
    /// `None` is a nil selector, which matches no pod (`metav1.LabelSelectorAsSelector(nil)` is
    /// `labels.Nothing()`); `Some` of no requirements is `{}`.
    pub label_selector: Option<LabelSelector>,
    /// `None` means 1, as upstream reads it.
    pub min_domains: Option<i32>,
    /// `None` means Honor.
    pub node_affinity_policy: Option<NodeInclusionPolicy>,
    /// `None` means Ignore.
    pub node_taints_policy: Option<NodeInclusionPolicy>,
    pub match_label_keys: Vec<String>,
}

impl TopologySpreadConstraint {
    /// A constraint with upstream's defaults for the optional fields.
    pub fn new(
        max_skew: i32,
        topology_key: impl Into<String>,
        when_unsatisfiable: WhenUnsatisfiable,
        label_selector: Option<LabelSelector>,
    ) -> Self {
        TopologySpreadConstraint {
            max_skew,
            topology_key: topology_key.into(),
            when_unsatisfiable,
            label_selector,
            min_domains: None,
            node_affinity_policy: None,
            node_taints_policy: None,
            match_label_keys: Vec::new(),
        }
    }

    /// One constraint, validated as upstream `validateTopologySpreadConstraints` does for a
    /// single entry (duplicates across entries are checked by [`topology_spread_from_k8s`]).
    pub fn from_k8s(c: &core::TopologySpreadConstraint) -> Result<Self, ConvertError> {
        if c.max_skew <= 0 {
            return Err((
                "maxSkew".into(),
                format!("Invalid value: {}: must be greater than zero", c.max_skew),
            ));
        }
        topology_key_error(&c.topology_key).map_or(Ok(()), |m| Err(("topologyKey".into(), m)))?;
        let when = match c.when_unsatisfiable.as_str() {
            "" => {
                return Err((
                    "whenUnsatisfiable".into(),
                    "Required value: can not be empty".into(),
                ));
            }
            s => WhenUnsatisfiable::parse(s).ok_or_else(|| {
                (
                    "whenUnsatisfiable".to_string(),
                    format!(
                        "Unsupported value: {s:?}: supported values: \"DoNotSchedule\", \"ScheduleAnyway\""
                    ),
                )
            })?,
        };
        if let Some(m) = c.min_domains {
            if m <= 0 {
                return Err((
                    "minDomains".into(),
                    format!("Invalid value: {m}: must be greater than zero"),
                ));
            }
            if when != WhenUnsatisfiable::DoNotSchedule {
                return Err((
                    "minDomains".into(),
                    format!(
                        "Invalid value: {m}: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {}",
                        when.as_str()
                    ),
                ));
            }
        }
        let policy = |field: &str, v: &Option<String>| -> Result<_, ConvertError> {
            match v.as_deref() {
                None => Ok(None),
                Some(s) => NodeInclusionPolicy::parse(s).map(Some).ok_or_else(|| {
                    (
                        field.to_string(),
                        format!(
                            "Unsupported value: {s:?}: supported values: \"Honor\", \"Ignore\""
                        ),
                    )
                }),
            }
        };
        let node_affinity_policy = policy("nodeAffinityPolicy", &c.node_affinity_policy)?;
        let node_taints_policy = policy("nodeTaintsPolicy", &c.node_taints_policy)?;
        let label_selector = c
            .label_selector
            .as_ref()
            .map(label_selector_from_k8s)
            .transpose()
            .map_err(|e| at("labelSelector", e))?;
        let match_label_keys = c.match_label_keys.clone().unwrap_or_default();
        label_keys_error(&match_label_keys, label_selector.as_ref())
            .map_or(Ok(()), |(i, m)| Err((format!("matchLabelKeys[{i}]"), m)))?;
        Ok(TopologySpreadConstraint {
            max_skew: c.max_skew,
            topology_key: c.topology_key.clone(),
            when_unsatisfiable: when,
            label_selector,
            min_domains: c.min_domains,
            node_affinity_policy,
            node_taints_policy,
            match_label_keys,
        })
    }
}

/// `spec.topologySpreadConstraints`, with upstream's check that no two constraints share a
/// `{topologyKey, whenUnsatisfiable}` pair. Paths start at the list: `[1].maxSkew`.
pub fn topology_spread_from_k8s(
    list: &[core::TopologySpreadConstraint],
) -> Result<Vec<TopologySpreadConstraint>, ConvertError> {
    let mut out: Vec<TopologySpreadConstraint> = Vec::with_capacity(list.len());
    for (i, c) in list.iter().enumerate() {
        let c = TopologySpreadConstraint::from_k8s(c).map_err(|e| at(&format!("[{i}]"), e))?;
        if out.iter().any(|o| {
            o.topology_key == c.topology_key && o.when_unsatisfiable == c.when_unsatisfiable
        }) {
            return Err((
                format!("[{i}]"),
                format!(
                    "Duplicate value: \"{{{}, {}}}\"",
                    c.topology_key,
                    c.when_unsatisfiable.as_str()
                ),
            ));
        }
        out.push(c);
    }
    Ok(out)
}

/// `podAffinityTerm`: pods selected by `label_selector` in `namespaces` (or in the namespaces
/// `namespace_selector` selects) co-located in the same `topology_key` domain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodAffinityTerm {
    /// `None` is a nil selector: the term matches no pod.
    pub label_selector: Option<LabelSelector>,
    pub namespaces: Vec<String>,
    /// `None` is nil; `Some` of no requirements (`{}`) selects every namespace.
    pub namespace_selector: Option<LabelSelector>,
    pub topology_key: String,
    pub match_label_keys: Vec<String>,
    pub mismatch_label_keys: Vec<String>,
}

impl PodAffinityTerm {
    /// A term selecting pods of the owning pod's namespace.
    pub fn new(label_selector: Option<LabelSelector>, topology_key: impl Into<String>) -> Self {
        PodAffinityTerm {
            label_selector,
            topology_key: topology_key.into(),
            ..Default::default()
        }
    }

    /// Validated as upstream `validatePodAffinityTerm`.
    pub fn from_k8s(t: &core::PodAffinityTerm) -> Result<Self, ConvertError> {
        topology_key_error(&t.topology_key).map_or(Ok(()), |m| Err(("topologyKey".into(), m)))?;
        let namespaces = t.namespaces.clone().unwrap_or_default();
        for (i, ns) in namespaces.iter().enumerate() {
            if !is_dns1123_label(ns) {
                return Err((
                    format!("namespaces[{i}]"),
                    format!(
                        "Invalid value: {ns:?}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
                    ),
                ));
            }
        }
        let label_selector = t
            .label_selector
            .as_ref()
            .map(label_selector_from_k8s)
            .transpose()
            .map_err(|e| at("labelSelector", e))?;
        let namespace_selector = t
            .namespace_selector
            .as_ref()
            .map(label_selector_from_k8s)
            .transpose()
            .map_err(|e| at("namespaceSelector", e))?;
        let match_label_keys = t.match_label_keys.clone().unwrap_or_default();
        let mismatch_label_keys = t.mismatch_label_keys.clone().unwrap_or_default();
        label_keys_error(&match_label_keys, label_selector.as_ref())
            .map_or(Ok(()), |(i, m)| Err((format!("matchLabelKeys[{i}]"), m)))?;
        label_keys_error(&mismatch_label_keys, label_selector.as_ref())
            .map_or(Ok(()), |(i, m)| Err((format!("mismatchLabelKeys[{i}]"), m)))?;
        if let Some(i) = mismatch_label_keys
            .iter()
            .position(|k| match_label_keys.contains(k))
        {
            return Err((
                format!("mismatchLabelKeys[{i}]"),
                format!(
                    "Invalid value: {:?}: exists in both matchLabelKeys and mismatchLabelKeys",
                    mismatch_label_keys[i]
                ),
            ));
        }
        Ok(PodAffinityTerm {
            label_selector,
            namespaces,
            namespace_selector,
            topology_key: t.topology_key.clone(),
            match_label_keys,
            mismatch_label_keys,
        })
    }
}

/// `weightedPodAffinityTerm`: a preferred term; `weight` is 1–100.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightedPodAffinityTerm {
    pub weight: i32,
    pub term: PodAffinityTerm,
}

impl WeightedPodAffinityTerm {
    pub fn from_k8s(w: &core::WeightedPodAffinityTerm) -> Result<Self, ConvertError> {
        if !(1..=100).contains(&w.weight) {
            return Err((
                "weight".into(),
                format!("Invalid value: {}: must be in the range 1-100", w.weight),
            ));
        }
        Ok(WeightedPodAffinityTerm {
            weight: w.weight,
            term: PodAffinityTerm::from_k8s(&w.pod_affinity_term)
                .map_err(|e| at("podAffinityTerm", e))?,
        })
    }
}

/// `spec.affinity.podAffinity` or `spec.affinity.podAntiAffinity` (same shape upstream).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodAffinity {
    /// `requiredDuringSchedulingIgnoredDuringExecution`.
    pub required: Vec<PodAffinityTerm>,
    /// `preferredDuringSchedulingIgnoredDuringExecution`.
    pub preferred: Vec<WeightedPodAffinityTerm>,
}

impl PodAffinity {
    fn convert(
        required: Option<&Vec<core::PodAffinityTerm>>,
        preferred: Option<&Vec<core::WeightedPodAffinityTerm>>,
    ) -> Result<Self, ConvertError> {
        let mut out = PodAffinity::default();
        for (i, t) in required.into_iter().flatten().enumerate() {
            out.required.push(PodAffinityTerm::from_k8s(t).map_err(|e| {
                at(
                    &format!("requiredDuringSchedulingIgnoredDuringExecution[{i}]"),
                    e,
                )
            })?);
        }
        for (i, t) in preferred.into_iter().flatten().enumerate() {
            out.preferred
                .push(WeightedPodAffinityTerm::from_k8s(t).map_err(|e| {
                    at(
                        &format!("preferredDuringSchedulingIgnoredDuringExecution[{i}]"),
                        e,
                    )
                })?);
        }
        Ok(out)
    }

    /// `spec.affinity.podAffinity`.
    pub fn from_k8s(a: &core::PodAffinity) -> Result<Self, ConvertError> {
        Self::convert(
            a.required_during_scheduling_ignored_during_execution
                .as_ref(),
            a.preferred_during_scheduling_ignored_during_execution
                .as_ref(),
        )
    }

    /// `spec.affinity.podAntiAffinity`.
    pub fn from_k8s_anti(a: &core::PodAntiAffinity) -> Result<Self, ConvertError> {
        Self::convert(
            a.required_during_scheduling_ignored_during_execution
                .as_ref(),
            a.preferred_during_scheduling_ignored_during_execution
                .as_ref(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.required.is_empty() && self.preferred.is_empty()
    }
}

/// Upstream `v1.Protocol`; `""` defaults to TCP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "" | "TCP" => Some(Self::Tcp),
            "UDP" => Some(Self::Udp),
            "SCTP" => Some(Self::Sctp),
            _ => None,
        }
    }
}

/// Upstream `DefaultBindAllHostIP`: an empty `hostIP` binds every address.
pub const DEFAULT_BIND_ALL_HOST_IP: &str = "0.0.0.0";

/// A container port with a `hostPort`: what NodePorts checks for conflicts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HostPort {
    /// `hostIP`, with `""` already replaced by `0.0.0.0` (upstream `HostPortInfo.sanitize`).
    pub host_ip: String,
    pub protocol: Protocol,
    pub port: i32,
}

impl HostPort {
    pub fn new(host_ip: &str, protocol: Protocol, port: i32) -> Self {
        HostPort {
            host_ip: if host_ip.is_empty() {
                DEFAULT_BIND_ALL_HOST_IP.to_string()
            } else {
                host_ip.to_string()
            },
            protocol,
            port,
        }
    }
}

/// Upstream `schedutil.GetHostPorts`: the ports with `hostPort > 0` of the restartable
/// (sidecar) init containers, then of the containers. Paths start at the spec:
/// `containers[0].ports[1].hostPort`.
pub fn host_ports_from_k8s(spec: &core::PodSpec) -> Result<Vec<HostPort>, ConvertError> {
    let mut out = Vec::new();
    let init = spec
        .init_containers
        .iter()
        .flatten()
        .enumerate()
        .filter(|(_, c)| c.restart_policy.as_deref() == Some("Always"))
        .map(|(i, c)| (format!("initContainers[{i}]"), c));
    let main = spec
        .containers
        .iter()
        .enumerate()
        .map(|(i, c)| (format!("containers[{i}]"), c));
    for (path, c) in init.chain(main) {
        for (j, p) in c.ports.iter().flatten().enumerate() {
            let here = format!("{path}.ports[{j}]");
            if !(1..=65535).contains(&p.container_port) {
                return Err((
                    format!("{here}.containerPort"),
                    format!(
                        "Invalid value: {}: must be between 1 and 65535, inclusive",
                        p.container_port
                    ),
                ));
            }
            let host_port = p.host_port.unwrap_or(0);
            if !(0..=65535).contains(&host_port) {
                return Err((
                    format!("{here}.hostPort"),
                    format!("Invalid value: {host_port}: must be between 1 and 65535, inclusive"),
                ));
            }
            let protocol =
                Protocol::parse(p.protocol.as_deref().unwrap_or("")).ok_or_else(|| {
                    (
                        format!("{here}.protocol"),
                        format!(
                            "Unsupported value: {:?}: supported values: \"SCTP\", \"TCP\", \"UDP\"",
                            p.protocol.as_deref().unwrap_or("")
                        ),
                    )
                })?;
            if host_port > 0 {
                out.push(HostPort::new(
                    p.host_ip.as_deref().unwrap_or(""),
                    protocol,
                    host_port,
                ));
            }
        }
    }
    Ok(out)
}

/// Every inter-pod scheduling field of a pod spec, converted at once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodSchedulingSpec {
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    pub pod_affinity: Option<PodAffinity>,
    pub pod_anti_affinity: Option<PodAffinity>,
    pub host_ports: Vec<HostPort>,
}

impl PodSchedulingSpec {
    /// Converts `topologySpreadConstraints`, `affinity.podAffinity`,
    /// `affinity.podAntiAffinity` and the containers' host ports of `spec`. Paths start at the
    /// spec (`affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]…`).
    pub fn from_k8s(spec: &core::PodSpec) -> Result<Self, ConvertError> {
        let topology_spread_constraints =
            topology_spread_from_k8s(spec.topology_spread_constraints.as_deref().unwrap_or(&[]))
                .map_err(|e| at("topologySpreadConstraints", e))?;
        let affinity = spec.affinity.as_ref();
        let pod_affinity = affinity
            .and_then(|a| a.pod_affinity.as_ref())
            .map(PodAffinity::from_k8s)
            .transpose()
            .map_err(|e| at("affinity.podAffinity", e))?;
        let pod_anti_affinity = affinity
            .and_then(|a| a.pod_anti_affinity.as_ref())
            .map(PodAffinity::from_k8s_anti)
            .transpose()
            .map_err(|e| at("affinity.podAntiAffinity", e))?;
        Ok(PodSchedulingSpec {
            topology_spread_constraints,
            pod_affinity,
            pod_anti_affinity,
            host_ports: host_ports_from_k8s(spec)?,
        })
    }

    /// Moves the converted fields into `pod`.
    pub fn apply_to(self, pod: &mut super::Pod) {
        pod.topology_spread_constraints = self.topology_spread_constraints;
        pod.pod_affinity = self.pod_affinity.map(Box::new);
        pod.pod_anti_affinity = self.pod_anti_affinity.map(Box::new);
        pod.host_ports = self.host_ports;
    }
}

/// Upstream `metav1.LabelSelectorAsSelector` with its parse errors: `matchLabels` become
/// equality requirements, `matchExpressions` set-based ones. Paths start at the selector.
pub fn label_selector_from_k8s(sel: &meta::LabelSelector) -> Result<LabelSelector, ConvertError> {
    let mut requirements = Vec::new();
    for (k, v) in sel.match_labels.iter().flatten() {
        if let Some(m) = qualified_name_error(k) {
            return Err(("matchLabels".into(), format!("Invalid value: {k:?}: {m}")));
        }
        if let Some(m) = label_value_error(v) {
            return Err(("matchLabels".into(), format!("Invalid value: {v:?}: {m}")));
        }
        requirements.push(Requirement::new(
            k.clone(),
            Operator::Equals,
            vec![v.clone()],
        ));
    }
    for (i, r) in sel.match_expressions.iter().flatten().enumerate() {
        let here = format!("matchExpressions[{i}]");
        let op = match r.operator.as_str() {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            other => {
                return Err((
                    format!("{here}.operator"),
                    format!("Invalid value: {other:?}: not a valid selector operator"),
                ));
            }
        };
        let values = r.values.clone().unwrap_or_default();
        if let Some(m) = qualified_name_error(&r.key) {
            return Err((
                format!("{here}.key"),
                format!("Invalid value: {:?}: {m}", r.key),
            ));
        }
        match op {
            Operator::In | Operator::NotIn if values.is_empty() => {
                return Err((
                    format!("{here}.values"),
                    "Required value: must be specified when `operator` is 'In' or 'NotIn'".into(),
                ));
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                return Err((
                    format!("{here}.values"),
                    "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
                        .into(),
                ));
            }
            _ => {}
        }
        for (j, v) in values.iter().enumerate() {
            if let Some(m) = label_value_error(v) {
                return Err((
                    format!("{here}.values[{j}]"),
                    format!("Invalid value: {v:?}: {m}"),
                ));
            }
        }
        requirements.push(Requirement::new(r.key.clone(), op, values));
    }
    Ok(LabelSelector { requirements })
}

/// apimachinery `ValidateLabelName` plus the "can not be empty" of topology keys.
fn topology_key_error(key: &str) -> Option<String> {
    if key.is_empty() {
        return Some("Required value: can not be empty".into());
    }
    qualified_name_error(key).map(|m| format!("Invalid value: {key:?}: {m}"))
}

/// `matchLabelKeys` / `mismatchLabelKeys` checks: valid label names that the label selector
/// does not already name (upstream `validateMatchLabelKeys…`).
fn label_keys_error(keys: &[String], selector: Option<&LabelSelector>) -> Option<(usize, String)> {
    if !keys.is_empty() && selector.is_none() {
        return Some((
            0,
            "Forbidden: must not be specified when labelSelector is not set".into(),
        ));
    }
    for (i, k) in keys.iter().enumerate() {
        if let Some(m) = qualified_name_error(k) {
            return Some((i, format!("Invalid value: {k:?}: {m}")));
        }
        if selector.is_some_and(|s| s.requirements.iter().any(|r| &r.key == k)) {
            return Some((
                i,
                format!("Invalid value: {k:?}: exists in both matchLabelKeys and labelSelector"),
            ));
        }
    }
    None
}

/// apimachinery `IsDNS1123Label`.
fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    let ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            b.len() <= 63 && ok(f) && ok(l) && b.iter().all(|&c| ok(c) || c == b'-')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tsc(v: serde_json::Value) -> Result<Vec<TopologySpreadConstraint>, ConvertError> {
        let list: Vec<core::TopologySpreadConstraint> = serde_json::from_value(v).unwrap();
        topology_spread_from_k8s(&list)
    }

    #[test]
    fn topology_spread_constraints_convert_and_validate() {
        let got = tsc(json!([{
            "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "web"}},
            "matchLabelKeys": ["pod-template-hash"], "minDomains": 3,
            "nodeTaintsPolicy": "Honor"
        }]))
        .unwrap();
        assert_eq!(got.len(), 1);
        let c = &got[0];
        assert_eq!(c.when_unsatisfiable, WhenUnsatisfiable::DoNotSchedule);
        assert_eq!(c.min_domains, Some(3));
        assert_eq!(c.node_taints_policy, Some(NodeInclusionPolicy::Honor));
        assert_eq!(c.node_affinity_policy, None);
        assert_eq!(
            c.label_selector,
            Some(LabelSelector::from_match_labels([("app", "web")]))
        );
        assert_eq!(c.match_label_keys, ["pod-template-hash"]);
        // A nil selector stays nil (matches nothing); `{}` is the empty selector.
        let got = tsc(json!([{"maxSkew": 1, "topologyKey": "k", "whenUnsatisfiable": "ScheduleAnyway"},
                             {"maxSkew": 1, "topologyKey": "k", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {}}]))
        .unwrap();
        assert_eq!(got[0].label_selector, None);
        assert_eq!(got[1].label_selector, Some(LabelSelector::default()));

        let err = |v| tsc(v).unwrap_err();
        assert_eq!(
            err(json!([{"maxSkew": 0, "topologyKey": "k", "whenUnsatisfiable": "DoNotSchedule"}]))
                .0,
            "[0].maxSkew"
        );
        assert_eq!(
            err(json!([{"maxSkew": 1, "topologyKey": "", "whenUnsatisfiable": "DoNotSchedule"}])).0,
            "[0].topologyKey"
        );
        assert_eq!(
            err(json!([{"maxSkew": 1, "topologyKey": "k", "whenUnsatisfiable": "Maybe"}])).0,
            "[0].whenUnsatisfiable"
        );
        assert_eq!(
            err(json!([{"maxSkew": 1, "topologyKey": "k", "whenUnsatisfiable": "ScheduleAnyway", "minDomains": 2}])).0,
            "[0].minDomains"
        );
        let (path, msg) = err(json!([
            {"maxSkew": 1, "topologyKey": "k", "whenUnsatisfiable": "DoNotSchedule"},
            {"maxSkew": 2, "topologyKey": "k", "whenUnsatisfiable": "DoNotSchedule"}
        ]));
        assert_eq!(path, "[1]");
        assert_eq!(msg, "Duplicate value: \"{k, DoNotSchedule}\"");
        assert_eq!(
            err(json!([{"maxSkew": 1, "topologyKey": "k", "whenUnsatisfiable": "DoNotSchedule",
                        "labelSelector": {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}}])).0,
            "[0].labelSelector.matchExpressions[0].values"
        );
        assert_eq!(
            err(
                json!([{"maxSkew": 1, "topologyKey": "k", "whenUnsatisfiable": "DoNotSchedule",
                        "labelSelector": {"matchLabels": {"app": "x"}}, "matchLabelKeys": ["app"]}])
            )
            .0,
            "[0].matchLabelKeys[0]"
        );
    }

    #[test]
    fn pod_affinity_converts_and_validates() {
        let a: core::PodAntiAffinity = serde_json::from_value(json!({
            "requiredDuringSchedulingIgnoredDuringExecution": [{
                "labelSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]},
                "topologyKey": "kubernetes.io/hostname",
                "namespaceSelector": {}
            }],
            "preferredDuringSchedulingIgnoredDuringExecution": [{
                "weight": 10,
                "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "zone", "namespaces": ["prod"]}
            }]
        }))
        .unwrap();
        let got = PodAffinity::from_k8s_anti(&a).unwrap();
        assert_eq!(got.required.len(), 1);
        assert_eq!(
            got.required[0].namespace_selector,
            Some(LabelSelector::default())
        );
        assert_eq!(got.preferred[0].weight, 10);
        assert_eq!(got.preferred[0].term.namespaces, ["prod"]);

        let bad: core::PodAffinity = serde_json::from_value(json!({
            "preferredDuringSchedulingIgnoredDuringExecution": [{
                "weight": 101, "podAffinityTerm": {"topologyKey": "zone"}
            }]
        }))
        .unwrap();
        assert_eq!(
            PodAffinity::from_k8s(&bad).unwrap_err().0,
            "preferredDuringSchedulingIgnoredDuringExecution[0].weight"
        );
        let bad: core::PodAffinity = serde_json::from_value(json!({
            "requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": ""}]
        }))
        .unwrap();
        assert_eq!(
            PodAffinity::from_k8s(&bad).unwrap_err().0,
            "requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey"
        );
    }

    #[test]
    fn host_ports_follow_get_host_ports() {
        let spec: core::PodSpec = serde_json::from_value(json!({
            "initContainers": [
                {"name": "init", "ports": [{"containerPort": 1, "hostPort": 1000}]},
                {"name": "sidecar", "restartPolicy": "Always", "ports": [{"containerPort": 2, "hostPort": 2000, "protocol": "UDP"}]}
            ],
            "containers": [{"name": "c", "ports": [
                {"containerPort": 80, "hostPort": 8080, "hostIP": "10.0.0.1"},
                {"containerPort": 81}
            ]}],
            "affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "zone"}]}}
        }))
        .unwrap();
        let got = PodSchedulingSpec::from_k8s(&spec).unwrap();
        assert_eq!(
            got.host_ports,
            [
                HostPort::new("", Protocol::Udp, 2000),
                HostPort::new("10.0.0.1", Protocol::Tcp, 8080)
            ]
        );
        assert_eq!(got.host_ports[0].host_ip, "0.0.0.0");
        assert!(got.pod_affinity.is_some());
        let spec: core::PodSpec = serde_json::from_value(json!({
            "containers": [{"name": "c", "ports": [{"containerPort": 80, "protocol": "HTTP"}]}]
        }))
        .unwrap();
        assert_eq!(
            PodSchedulingSpec::from_k8s(&spec).unwrap_err().0,
            "containers[0].ports[0].protocol"
        );
    }
}
