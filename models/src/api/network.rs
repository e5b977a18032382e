//! Services, EndpointSlices (`discovery.k8s.io/v1`), Ingresses (`networking.k8s.io/v1`) and
//! Gateway API HTTPRoutes (`gateway.networking.k8s.io/v1`), as kubesim keeps them.

use std::collections::BTreeMap;

use super::{Labels, NodeId, PodId, Protocol};

/// `spec.type`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ServiceType {
    #[default]
    ClusterIP,
    NodePort,
    LoadBalancer,
    /// A DNS alias: no endpoints, no proxying.
    ExternalName,
}

impl ServiceType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "" | "ClusterIP" => Some(Self::ClusterIP),
            "NodePort" => Some(Self::NodePort),
            "LoadBalancer" => Some(Self::LoadBalancer),
            "ExternalName" => Some(Self::ExternalName),
            _ => None,
        }
    }

    /// NodePort and LoadBalancer Services take traffic from outside the cluster, where
    /// `externalTrafficPolicy` applies.
    pub fn is_external(self) -> bool {
        matches!(self, Self::NodePort | Self::LoadBalancer)
    }
}

/// `spec.internalTrafficPolicy` / `spec.externalTrafficPolicy` (API default `Cluster`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TrafficPolicy {
    #[default]
    Cluster,
    /// Only endpoints on the node the traffic arrived at.
    Local,
}

impl TrafficPolicy {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "" | "Cluster" => Some(Self::Cluster),
            "Local" => Some(Self::Local),
            _ => None,
        }
    }
}

/// `spec.sessionAffinity`: read, not simulated (requests carry no client identity).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SessionAffinity {
    #[default]
    None,
    ClientIP,
}

/// A Service port's `targetPort`: a number, or the name of a container port.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TargetPort {
    Number(i32),
    Name(String),
}

/// One of `spec.ports`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePort {
    pub name: String,
    pub port: i32,
    /// API default: the same number as `port`.
    pub target_port: TargetPort,
    pub protocol: Protocol,
    pub node_port: Option<i32>,
}

/// A Service (`v1`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Service {
    pub namespace: String,
    pub name: String,
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub type_: ServiceType,
    /// `spec.selector`; `None` (or empty, as upstream treats it) for a Service whose endpoints
    /// someone else manages: the EndpointSlice controller leaves it alone.
    pub selector: Option<Labels>,
    pub ports: Vec<ServicePort>,
    /// `spec.clusterIP: None`: a headless Service.
    pub headless: bool,
    pub internal_traffic_policy: TrafficPolicy,
    pub external_traffic_policy: TrafficPolicy,
    pub publish_not_ready_addresses: bool,
    pub session_affinity: SessionAffinity,
    /// `spec.trafficDistribution` (`PreferClose`, `PreferSameZone`, `PreferSameNode`).
    pub traffic_distribution: Option<String>,
    pub external_name: Option<String>,
}

impl Service {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The selector the EndpointSlice controller acts on: upstream skips a Service whose
    /// selector is nil, and an empty map is stored as nil (protobuf does not tell them apart).
    pub fn managed_selector(&self) -> Option<&Labels> {
        self.selector.as_ref().filter(|s| !s.is_empty())
    }

    /// Whether the pod's labels match the selector (every selector pair present).
    pub fn selects(&self, namespace: &str, labels: &Labels) -> bool {
        namespace == self.namespace
            && self
                .managed_selector()
                .is_some_and(|s| s.iter().all(|(k, v)| labels.get(k) == Some(v)))
    }
}

/// `addressType` of an EndpointSlice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum AddressType {
    #[default]
    IPv4,
    IPv6,
    Fqdn,
}

/// `endpoints[].conditions`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EndpointConditions {
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
}

/// One endpoint of a slice: a pod.
#[derive(Clone, Debug, Eq)]
pub struct Endpoint {
    /// `targetRef` (kind Pod).
    pub pod: PodId,
    pub pod_name: String,
    /// `nodeName`.
    pub node: Option<NodeId>,
    /// `zone`: the node's `topology.kubernetes.io/zone` label.
    pub zone: Option<String>,
    pub conditions: EndpointConditions,
    /// `hostname`, set for a pod whose `spec.hostname` is set and whose `spec.subdomain` names
    /// the Service (upstream `ShouldSetHostname`).
    pub hostname: Option<String>,
    /// `hints.forZones`.
    pub zone_hints: Vec<String>,
}

impl PartialEq for Endpoint {
    /// Field by field, without the pod's name: the id names the pod, and a pod's name never
    /// changes. (The EndpointSlice controller compares every endpoint of a Service on each
    /// sync; comparing the equal names was a tenth of a 150,000-pod run.)
    fn eq(&self, o: &Self) -> bool {
        self.pod == o.pod
            && self.node == o.node
            && self.conditions == o.conditions
            && self.zone == o.zone
            && self.hostname == o.hostname
            && self.zone_hints == o.zone_hints
    }
}

/// `ports[]` of a slice.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EndpointPort {
    pub name: String,
    /// The container port; `None` for a named `targetPort` (kubesim does not keep container
    /// ports, so it cannot resolve names to numbers).
    pub port: Option<i32>,
    pub protocol: Protocol,
}

/// `discovery.kubernetes.io/v1` EndpointSlice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointSlice {
    pub namespace: String,
    pub name: String,
    /// `kubernetes.io/service-name`, `endpointslice.kubernetes.io/managed-by` and the
    /// Service's own labels.
    pub labels: Labels,
    /// The Service of its controller ownerReference.
    pub service: String,
    pub address_type: AddressType,
    pub endpoints: Vec<Endpoint>,
    pub ports: Vec<EndpointPort>,
}

/// `kubernetes.io/service-name`.
pub const LABEL_SERVICE_NAME: &str = "kubernetes.io/service-name";
/// `endpointslice.kubernetes.io/managed-by`.
pub const LABEL_MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
/// The EndpointSlice controller's value of the managed-by label.
pub const ENDPOINTSLICE_CONTROLLER_NAME: &str = "endpointslice-controller.k8s.io";
/// `service.kubernetes.io/headless`.
pub const LABEL_HEADLESS: &str = "service.kubernetes.io/headless";

/// A Service port named by a backend: a number or a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortRef {
    Number(i32),
    Name(String),
}

/// An Ingress backend (`service.name`, `service.port`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngressBackend {
    pub service: String,
    pub port: Option<PortRef>,
}

/// `pathType`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PathType {
    Exact,
    #[default]
    Prefix,
    /// Left to the controller; kubesim (as ingress-nginx does by default) treats it as Prefix.
    ImplementationSpecific,
}

impl PathType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Exact" => Some(Self::Exact),
            "Prefix" => Some(Self::Prefix),
            "ImplementationSpecific" => Some(Self::ImplementationSpecific),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngressPath {
    /// API default for ImplementationSpecific without a path: `/`.
    pub path: String,
    pub path_type: PathType,
    pub backend: IngressBackend,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngressRule {
    /// `None`: every host.
    pub host: Option<String>,
    pub paths: Vec<IngressPath>,
}

/// `networking.k8s.io/v1` Ingress.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ingress {
    pub namespace: String,
    pub name: String,
    pub ingress_class_name: Option<String>,
    pub default_backend: Option<IngressBackend>,
    pub rules: Vec<IngressRule>,
}

/// An HTTPRoute path match (`type`, `value`; API default `PathPrefix` `/`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpPathMatch {
    Exact(String),
    PathPrefix(String),
    /// Not evaluated: kubesim matches no request to it.
    RegularExpression(String),
}

impl Default for HttpPathMatch {
    fn default() -> Self {
        HttpPathMatch::PathPrefix("/".to_string())
    }
}

/// `rules[].backendRefs[]` of kind Service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendRef {
    pub name: String,
    /// Cross-namespace references need a ReferenceGrant; `None` is the route's namespace.
    pub namespace: Option<String>,
    pub port: Option<i32>,
    /// API default 1; 0 takes no traffic.
    pub weight: i32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRouteRule {
    /// Path matches, ORed; none means one `PathPrefix /` match.
    pub matches: Vec<HttpPathMatch>,
    pub backend_refs: Vec<BackendRef>,
}

/// `gateway.networking.k8s.io/v1` HTTPRoute.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRoute {
    pub namespace: String,
    pub name: String,
    /// Empty: every host.
    pub hostnames: Vec<String>,
    pub rules: Vec<HttpRouteRule>,
}
