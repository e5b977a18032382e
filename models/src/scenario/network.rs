//! Services (`v1`), Ingresses (`networking.k8s.io/v1`) and Gateway API HTTPRoutes
//! (`gateway.networking.k8s.io/v1`) from manifests, with located errors; backends that name
//! no Service of the scenario are warnings (a real cluster accepts them too).

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_yaml::Value;

use super::convert::Ctx;
use super::diagnostic::Diagnostic;
use super::source::{At, Seg, SourceRef};
use crate::api::Protocol;
use crate::api::network::{
    BackendRef, HttpPathMatch, HttpRoute, HttpRouteRule, Ingress, IngressBackend, IngressPath,
    IngressRule, PathType, PortRef, Service, ServicePort, ServiceType, SessionAffinity, TargetPort,
    TrafficPolicy,
};

/// The network objects of a scenario (or of one `workloads` entry or timeline `apply`).
#[derive(Clone, Debug, Default)]
pub struct NetworkManifests {
    pub services: Vec<Service>,
    pub ingresses: Vec<Ingress>,
    pub http_routes: Vec<HttpRoute>,
    /// Where each Ingress was (same order), for backend warnings.
    pub(crate) ingress_locations: Vec<Diagnostic>,
    /// Where each HTTPRoute was (same order).
    pub(crate) route_locations: Vec<Diagnostic>,
}

impl NetworkManifests {
    pub fn is_empty(&self) -> bool {
        self.services.is_empty() && self.ingresses.is_empty() && self.http_routes.is_empty()
    }

    pub(crate) fn counts(&self) -> [usize; 3] {
        [
            self.services.len(),
            self.ingresses.len(),
            self.http_routes.len(),
        ]
    }

    /// Takes the objects collected between `from` and `to` (counts), for a delayed entry.
    pub(crate) fn take_range(&mut self, from: [usize; 3], to: [usize; 3]) -> NetworkManifests {
        fn cut<T>(v: &mut Vec<T>, lo: usize, hi: usize) -> Vec<T> {
            let hi = hi.min(v.len());
            let lo = lo.min(hi);
            v.drain(lo..hi).collect()
        }
        NetworkManifests {
            services: cut(&mut self.services, from[0], to[0]),
            ingresses: cut(&mut self.ingresses, from[1], to[1]),
            http_routes: cut(&mut self.http_routes, from[2], to[2]),
            ingress_locations: Vec::new(),
            route_locations: Vec::new(),
        }
    }

    /// Warns of Ingress and HTTPRoute backends that name no Service of the scenario.
    pub(crate) fn check_backends(&self, warnings: &mut Vec<String>) {
        let known: BTreeSet<(&str, &str)> = self
            .services
            .iter()
            .map(|s| (s.namespace.as_str(), s.name.as_str()))
            .collect();
        let mut warn = |loc: Option<&Diagnostic>, what: String, ns: &str, name: &str| {
            if !known.contains(&(ns, name)) {
                let place = loc.map_or(String::new(), |d| {
                    format!("{}:{}:{}: ", d.file, d.line, d.column)
                });
                warnings.push(format!(
                    "{place}{what}: backend Service {ns}/{name} is not defined in the scenario (requests routed there fail)"
                ));
            }
        };
        let mut at = self.ingress_locations.iter();
        for ing in &self.ingresses {
            let loc = at.next();
            let backends = ing.default_backend.iter().chain(
                ing.rules
                    .iter()
                    .flat_map(|r| r.paths.iter().map(|p| &p.backend)),
            );
            for b in backends {
                warn(
                    loc,
                    format!("Ingress {}", ing.name),
                    &ing.namespace,
                    &b.service,
                );
            }
        }
        let mut at = self.route_locations.iter();
        for route in &self.http_routes {
            let loc = at.next();
            for b in route.rules.iter().flat_map(|r| &r.backend_refs) {
                let ns = b.namespace.as_deref().unwrap_or(&route.namespace);
                warn(loc, format!("HTTPRoute {}", route.name), ns, &b.name);
            }
        }
    }
}

fn key(k: &str) -> Seg {
    Seg::key(k)
}

fn path(parts: &[Seg]) -> Vec<Seg> {
    parts.to_vec()
}

/// A Service manifest.
pub(crate) fn service(
    ctx: &Ctx<'_>,
    s: &k8s_openapi::api::core::v1::Service,
) -> Result<Service, Diagnostic> {
    let meta = &s.metadata;
    let spec = s.spec.clone().unwrap_or_default();
    let spec_at = |k: &str| path(&[key("spec"), key(k)]);
    let parse = |field: &str, v: Option<&String>, expected: &str| -> Result<(), Diagnostic> {
        Err(ctx.err(
            &spec_at(field),
            format!(
                "{:?} is not a valid {field} (use {expected})",
                v.map_or("", String::as_str)
            ),
        ))
    };
    let type_ = match ServiceType::parse(spec.type_.as_deref().unwrap_or("")) {
        Some(t) => t,
        None => {
            parse(
                "type",
                spec.type_.as_ref(),
                "ClusterIP, NodePort, LoadBalancer or ExternalName",
            )?;
            ServiceType::ClusterIP
        }
    };
    let policy = |field: &str, v: &Option<String>| -> Result<TrafficPolicy, Diagnostic> {
        match TrafficPolicy::parse(v.as_deref().unwrap_or("")) {
            Some(p) => Ok(p),
            None => Err(ctx.err(
                &spec_at(field),
                format!(
                    "{:?} is not a valid traffic policy (use Cluster or Local)",
                    v.as_deref().unwrap_or("")
                ),
            )),
        }
    };
    let internal_traffic_policy = policy("internalTrafficPolicy", &spec.internal_traffic_policy)?;
    let external_traffic_policy = policy("externalTrafficPolicy", &spec.external_traffic_policy)?;
    let session_affinity = match spec.session_affinity.as_deref() {
        None | Some("" | "None") => SessionAffinity::None,
        Some("ClientIP") => SessionAffinity::ClientIP,
        Some(other) => {
            return Err(ctx.err(
                &spec_at("sessionAffinity"),
                format!("{other:?} is not a valid sessionAffinity (use None or ClientIP)"),
            ));
        }
    };
    let mut ports = Vec::new();
    for (i, p) in spec.ports.iter().flatten().enumerate() {
        let at = |k: &str| path(&[key("spec"), key("ports"), Seg::Index(i), key(k)]);
        if !(1..=65535).contains(&p.port) {
            return Err(ctx.err(
                &at("port"),
                format!("must be between 1 and 65535, got {}", p.port),
            ));
        }
        let target_port = match &p.target_port {
            None => TargetPort::Number(p.port),
            Some(IntOrString::Int(n)) if (1..=65535).contains(n) => TargetPort::Number(*n),
            Some(IntOrString::Int(n)) => {
                return Err(ctx.err(
                    &at("targetPort"),
                    format!("must be between 1 and 65535, got {n}"),
                ));
            }
            Some(IntOrString::String(s)) => match s.parse::<i32>() {
                Ok(n) if (1..=65535).contains(&n) => TargetPort::Number(n),
                _ if s.is_empty() => TargetPort::Number(p.port),
                _ => TargetPort::Name(s.clone()),
            },
        };
        if let Some(n) = p.node_port
            && !(0..=65535).contains(&n)
        {
            return Err(ctx.err(
                &at("nodePort"),
                format!("must be between 1 and 65535, got {n}"),
            ));
        }
        let Some(protocol) = Protocol::parse(p.protocol.as_deref().unwrap_or("")) else {
            return Err(ctx.err(&at("protocol"), "must be TCP, UDP or SCTP".to_string()));
        };
        ports.push(ServicePort {
            name: p.name.clone().unwrap_or_default(),
            port: p.port,
            target_port,
            protocol,
            node_port: p.node_port.filter(|n| *n > 0),
        });
    }
    Ok(Service {
        namespace: meta
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_string()),
        name: meta.name.clone().unwrap_or_default(),
        labels: meta
            .labels
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
        annotations: meta.annotations.clone().unwrap_or_default(),
        type_,
        selector: spec
            .selector
            .as_ref()
            .filter(|s| !s.is_empty())
            .map(|s| s.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()),
        ports,
        headless: spec.cluster_ip.as_deref() == Some("None"),
        internal_traffic_policy,
        external_traffic_policy,
        publish_not_ready_addresses: spec.publish_not_ready_addresses.unwrap_or(false),
        session_affinity,
        traffic_distribution: spec.traffic_distribution.clone(),
        external_name: spec.external_name.clone(),
    })
}

fn ingress_backend(
    ctx: &Ctx<'_>,
    b: &k8s_openapi::api::networking::v1::IngressBackend,
    at: &[Seg],
) -> Result<IngressBackend, Diagnostic> {
    let Some(svc) = &b.service else {
        let here: Vec<Seg> = at.to_vec();
        return Err(ctx.err(
            &here,
            "only Service backends are simulated (resource backends are not)".to_string(),
        ));
    };
    let port = match &svc.port {
        Some(p) => match (&p.number, &p.name) {
            (Some(n), _) if (1..=65535).contains(n) => Some(PortRef::Number(*n)),
            (Some(n), _) => {
                let here: Vec<Seg> = at
                    .iter()
                    .cloned()
                    .chain([key("service"), key("port"), key("number")])
                    .collect();
                return Err(ctx.err(&here, format!("must be between 1 and 65535, got {n}")));
            }
            (None, Some(name)) => Some(PortRef::Name(name.clone())),
            (None, None) => None,
        },
        None => None,
    };
    Ok(IngressBackend {
        service: svc.name.clone(),
        port,
    })
}

/// An Ingress manifest.
pub(crate) fn ingress(
    ctx: &Ctx<'_>,
    i: &k8s_openapi::api::networking::v1::Ingress,
) -> Result<Ingress, Diagnostic> {
    let spec = i.spec.clone().unwrap_or_default();
    let default_backend = match &spec.default_backend {
        Some(b) => Some(ingress_backend(
            ctx,
            b,
            &[key("spec"), key("defaultBackend")],
        )?),
        None => None,
    };
    let mut rules = Vec::new();
    for (r, rule) in spec.rules.iter().flatten().enumerate() {
        let mut paths = Vec::new();
        for (p, hp) in rule.http.iter().flat_map(|h| &h.paths).enumerate() {
            let at = |k: &str| {
                path(&[
                    key("spec"),
                    key("rules"),
                    Seg::Index(r),
                    key("http"),
                    key("paths"),
                    Seg::Index(p),
                    key(k),
                ])
            };
            let Some(path_type) = PathType::parse(&hp.path_type) else {
                return Err(ctx.err(
                    &at("pathType"),
                    format!(
                        "{:?} is not a valid pathType (use Exact, Prefix or ImplementationSpecific)",
                        hp.path_type
                    ),
                ));
            };
            let path_text = hp.path.clone().unwrap_or_else(|| "/".to_string());
            if path_type != PathType::ImplementationSpecific && !path_text.starts_with('/') {
                return Err(ctx.err(
                    &at("path"),
                    format!("must be an absolute path starting with /, got {path_text:?}"),
                ));
            }
            paths.push(IngressPath {
                path: path_text,
                path_type,
                backend: ingress_backend(ctx, &hp.backend, &at("backend"))?,
            });
        }
        rules.push(IngressRule {
            host: rule.host.clone().filter(|h| !h.is_empty()),
            paths,
        });
    }
    Ok(Ingress {
        namespace: i
            .metadata
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_string()),
        name: i.metadata.name.clone().unwrap_or_default(),
        ingress_class_name: spec.ingress_class_name.clone(),
        default_backend,
        rules,
    })
}

/// An HTTPRoute (`gateway.networking.k8s.io/v1` or `v1beta1`) read from its YAML: the fields
/// routing needs; the others (parentRefs, filters, header matches) are accepted and not
/// simulated.
pub(crate) fn http_route(value: &Value, src: &SourceRef) -> Result<HttpRoute, Diagnostic> {
    let err = |segs: &[Seg], message: String| src.at(segs, At::Value, message);
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let meta = value.get("metadata");
    let name = text(meta.and_then(|m| m.get("name"))).unwrap_or_default();
    let namespace = text(meta.and_then(|m| m.get("namespace")))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".to_string());
    let spec = value.get("spec");
    let list = |v: Option<&Value>, segs: &[Seg]| -> Result<Vec<Value>, Diagnostic> {
        match v {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Sequence(items)) => Ok(items.clone()),
            Some(_) => Err(err(segs, format!("{} must be a list", seg_text(segs)))),
        }
    };
    let mut hostnames = Vec::new();
    let host_at = [key("spec"), key("hostnames")];
    for (i, h) in list(spec.and_then(|s| s.get("hostnames")), &host_at)?
        .into_iter()
        .enumerate()
    {
        match h.as_str() {
            Some(h) => hostnames.push(h.to_string()),
            None => {
                return Err(err(
                    &[key("spec"), key("hostnames"), Seg::Index(i)],
                    "a hostname must be a string".to_string(),
                ));
            }
        }
    }
    let mut rules = Vec::new();
    let rules_at = [key("spec"), key("rules")];
    for (r, rule) in list(spec.and_then(|s| s.get("rules")), &rules_at)?
        .iter()
        .enumerate()
    {
        let here = |tail: &[Seg]| -> Vec<Seg> {
            [key("spec"), key("rules"), Seg::Index(r)]
                .into_iter()
                .chain(tail.iter().cloned())
                .collect()
        };
        let mut matches = Vec::new();
        for (m, mv) in list(rule.get("matches"), &here(&[key("matches")]))?
            .iter()
            .enumerate()
        {
            let p = mv.get("path");
            let kind = text(p.and_then(|p| p.get("type"))).unwrap_or_else(|| "PathPrefix".into());
            let val = text(p.and_then(|p| p.get("value"))).unwrap_or_else(|| "/".into());
            matches.push(match kind.as_str() {
                "Exact" => HttpPathMatch::Exact(val),
                "PathPrefix" => HttpPathMatch::PathPrefix(val),
                "RegularExpression" => HttpPathMatch::RegularExpression(val),
                other => {
                    return Err(err(
                        &here(&[key("matches"), Seg::Index(m), key("path"), key("type")]),
                        format!(
                            "{other:?} is not a valid path match type (use Exact, PathPrefix or RegularExpression)"
                        ),
                    ));
                }
            });
        }
        let mut backend_refs = Vec::new();
        for (b, bv) in list(rule.get("backendRefs"), &here(&[key("backendRefs")]))?
            .iter()
            .enumerate()
        {
            let at = |k: &str| here(&[key("backendRefs"), Seg::Index(b), key(k)]);
            let kind = text(bv.get("kind")).unwrap_or_else(|| "Service".into());
            if kind != "Service" {
                continue;
            }
            let Some(name) = text(bv.get("name")) else {
                return Err(err(&at("name"), "a backendRef needs a name".to_string()));
            };
            let weight = match bv.get("weight") {
                None | Some(Value::Null) => 1,
                Some(w) => match w.as_i64() {
                    Some(w) if (0..=1_000_000).contains(&w) => i32::try_from(w).unwrap_or(1),
                    _ => {
                        return Err(err(
                            &at("weight"),
                            format!(
                                "weight must be a whole number from 0 to 1000000, got {}",
                                yaml_text(w)
                            ),
                        ));
                    }
                },
            };
            let port = match bv.get("port") {
                None | Some(Value::Null) => None,
                Some(p) => match p.as_i64() {
                    Some(p) if (1..=65535).contains(&p) => i32::try_from(p).ok(),
                    _ => {
                        return Err(err(
                            &at("port"),
                            format!("port must be between 1 and 65535, got {}", yaml_text(p)),
                        ));
                    }
                },
            };
            backend_refs.push(BackendRef {
                name,
                namespace: text(bv.get("namespace")),
                port,
                weight,
            });
        }
        rules.push(HttpRouteRule {
            matches,
            backend_refs,
        });
    }
    Ok(HttpRoute {
        namespace,
        name,
        hostnames,
        rules,
    })
}

fn seg_text(segs: &[Seg]) -> String {
    super::source::PathDisplay(segs).to_string()
}

fn yaml_text(v: &Value) -> String {
    serde_yaml::to_string(v)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
