//! The network: kube-proxy's view of Services and their endpoints ([`proxy`]) and where a
//! request entering the cluster is routed ([`routing`]).

pub mod proxy;
pub mod routing;

pub use proxy::{NetworkEvent, Proxy, ProxyEndpoint, ProxyService, ProxyTiming, ServiceIx};
pub use routing::WeightedBackend;
