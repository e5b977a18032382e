//! Where a request entering the cluster goes: a Service by name, an Ingress's host and path
//! rules, or an HTTPRoute's weighted backendRefs. Pure functions.
//!
//! Ingress semantics (`networking.k8s.io/v1` API reference, "Ingress path matching"): a host is
//! matched exactly or by a `*.` wildcard covering exactly one DNS label; `Exact` paths match
//! the whole path, `Prefix` paths match element by element split on `/` (`/foo` matches
//! `/foo`, `/foo/` and `/foo/bar`, not `/foobar`); of several matches the longest path wins,
//! and `Exact` beats `Prefix` at equal length. `ImplementationSpecific` is treated as `Prefix`.
//! A request no rule takes goes to the `defaultBackend`.
//!
//! HTTPRoute semantics (Gateway API v1 `HTTPRouteRule` precedence): an exact hostname beats a
//! wildcard, a wildcard beats none; then an `Exact` path match beats the longest `PathPrefix`;
//! ties go to the route listed first (the oldest). A backendRef's weight defaults to 1; weight
//! 0 takes no traffic.

use crate::api::network::{
    BackendRef, HttpPathMatch, HttpRoute, Ingress, IngressBackend, PathType, PortRef,
};

/// A Service a request may go to, with its share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightedBackend {
    pub namespace: String,
    pub service: String,
    pub port: Option<PortRef>,
    pub weight: u32,
}

/// How specifically a host matched: exact 2, wildcard 1, a rule for every host 0.
fn host_match(rule_host: Option<&str>, host: &str) -> Option<u8> {
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    match rule_host {
        None | Some("") => Some(0),
        Some(h) => {
            let h = h.to_ascii_lowercase();
            if let Some(suffix) = h.strip_prefix("*.") {
                let (first, rest) = host.split_once('.')?;
                (!first.is_empty() && rest == suffix).then_some(1)
            } else {
                (h == host).then_some(2)
            }
        }
    }
}

/// Element-wise prefix match: `/foo` matches `/foo`, `/foo/` and `/foo/bar`, not `/foobar`.
pub fn prefix_matches(prefix: &str, path: &str) -> bool {
    let elements = |p: &str| -> Vec<String> {
        p.split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let want = elements(prefix);
    let got = elements(path);
    got.len() >= want.len() && want.iter().zip(&got).all(|(a, b)| a == b)
}

/// Whether an Ingress path of `path_type` matches the request path.
pub fn ingress_path_matches(path_type: PathType, rule_path: &str, path: &str) -> bool {
    match path_type {
        PathType::Exact => rule_path == path,
        PathType::Prefix | PathType::ImplementationSpecific => prefix_matches(rule_path, path),
    }
}

/// The backend of `ingresses` (merged, as one controller serves them) for `host` and `path`:
/// the most specific host's rules, the longest matching path (Exact over Prefix at equal
/// length), else the first default backend. With the Ingress that holds it.
pub fn ingress_backend<'a>(
    ingresses: &[&'a Ingress],
    host: &str,
    path: &str,
) -> Option<(&'a Ingress, &'a IngressBackend)> {
    // (host specificity, path length, exact) — the greatest wins; the first of equals.
    let mut best: Option<((u8, usize, bool), &'a Ingress, &'a IngressBackend)> = None;
    for &ing in ingresses {
        for rule in &ing.rules {
            let Some(h) = host_match(rule.host.as_deref(), host) else {
                continue;
            };
            for p in &rule.paths {
                if !ingress_path_matches(p.path_type, &p.path, path) {
                    continue;
                }
                let rank = (
                    h,
                    p.path.trim_end_matches('/').len(),
                    p.path_type == PathType::Exact,
                );
                if best.as_ref().is_none_or(|(r, ..)| rank > *r) {
                    best = Some((rank, ing, &p.backend));
                }
            }
        }
    }
    if let Some((_, ing, b)) = best {
        return Some((ing, b));
    }
    ingresses
        .iter()
        .find_map(|ing| ing.default_backend.as_ref().map(|b| (*ing, b)))
}

/// The Services an Ingress request goes to: one, with all the weight.
pub fn ingress_route(ingresses: &[&Ingress], host: &str, path: &str) -> Vec<WeightedBackend> {
    ingress_backend(ingresses, host, path)
        .map(|(ing, b)| {
            vec![WeightedBackend {
                namespace: ing.namespace.clone(),
                service: b.service.clone(),
                port: b.port.clone(),
                weight: 1,
            }]
        })
        .unwrap_or_default()
}

/// How a path match ranks: Exact above every prefix, longer prefixes above shorter.
fn path_rank(m: &HttpPathMatch, path: &str) -> Option<(bool, usize)> {
    match m {
        HttpPathMatch::Exact(p) => (p == path).then_some((true, p.len())),
        HttpPathMatch::PathPrefix(p) => {
            prefix_matches(p, path).then_some((false, p.trim_end_matches('/').len()))
        }
        HttpPathMatch::RegularExpression(_) => None,
    }
}

/// The best rule so far: its rank (host specificity, exact, prefix length), route and backends.
type RouteChoice<'a> = ((u8, bool, usize), &'a HttpRoute, &'a [BackendRef]);

/// The backends of the HTTPRoute rule that takes `host` and `path`, with their weights
/// (weight-0 backends left out). Empty when no rule matches, or when every backend of the
/// matching rule has weight 0 (the gateway answers 500 then).
pub fn http_route_backends(routes: &[&HttpRoute], host: &str, path: &str) -> Vec<WeightedBackend> {
    let mut best: Option<RouteChoice<'_>> = None;
    let default_match = [HttpPathMatch::default()];
    for &route in routes {
        let h = if route.hostnames.is_empty() {
            Some(0)
        } else {
            route
                .hostnames
                .iter()
                .filter_map(|n| host_match(Some(n), host))
                .max()
        };
        let Some(h) = h else {
            continue;
        };
        for rule in &route.rules {
            let matches: &[HttpPathMatch] = if rule.matches.is_empty() {
                &default_match
            } else {
                &rule.matches
            };
            for m in matches {
                let Some((exact, len)) = path_rank(m, path) else {
                    continue;
                };
                let rank = (h, exact, len);
                if best.as_ref().is_none_or(|(r, ..)| rank > *r) {
                    best = Some((rank, route, &rule.backend_refs));
                }
            }
        }
    }
    let Some((_, route, refs)) = best else {
        return Vec::new();
    };
    refs.iter()
        .filter(|b| b.weight > 0)
        .map(|b| WeightedBackend {
            namespace: b
                .namespace
                .clone()
                .unwrap_or_else(|| route.namespace.clone()),
            service: b.name.clone(),
            port: b.port.map(PortRef::Number),
            weight: u32::try_from(b.weight).unwrap_or(0),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::network::{HttpRouteRule, IngressPath, IngressRule};

    fn backend(s: &str) -> IngressBackend {
        IngressBackend {
            service: s.into(),
            port: Some(PortRef::Number(80)),
        }
    }

    fn path(p: &str, t: PathType, s: &str) -> IngressPath {
        IngressPath {
            path: p.into(),
            path_type: t,
            backend: backend(s),
        }
    }

    #[test]
    fn ingress_prefix_matching_examples() {
        // upstream networking.k8s.io/v1 Ingress documentation, "Examples" table of path
        // matching: Prefix / matches all; Exact /foo does not match /foo/; Prefix /foo
        // matches /foo and /foo/ ; Prefix /aaa/bbb does not match /aaa/bbbxyz; Prefix
        // /aaa/bbb/ matches /aaa/bbb; Prefix /aaa/bbb matches /aaa/bbb/ccc.
        assert!(ingress_path_matches(PathType::Prefix, "/", "/anything"));
        assert!(ingress_path_matches(PathType::Exact, "/foo", "/foo"));
        assert!(!ingress_path_matches(PathType::Exact, "/foo", "/bar"));
        assert!(!ingress_path_matches(PathType::Exact, "/foo", "/foo/"));
        assert!(!ingress_path_matches(PathType::Exact, "/foo/", "/foo"));
        assert!(ingress_path_matches(PathType::Prefix, "/foo", "/foo"));
        assert!(ingress_path_matches(PathType::Prefix, "/foo", "/foo/"));
        assert!(ingress_path_matches(PathType::Prefix, "/foo/", "/foo"));
        assert!(ingress_path_matches(
            PathType::Prefix,
            "/aaa/bbb",
            "/aaa/bbb"
        ));
        assert!(ingress_path_matches(
            PathType::Prefix,
            "/aaa/bbb/",
            "/aaa/bbb"
        ));
        assert!(ingress_path_matches(
            PathType::Prefix,
            "/aaa/bbb",
            "/aaa/bbb/"
        ));
        assert!(!ingress_path_matches(
            PathType::Prefix,
            "/aaa/bbb",
            "/aaa/bbbxyz"
        ));
        assert!(ingress_path_matches(
            PathType::Prefix,
            "/aaa/bbb",
            "/aaa/bbb/ccc"
        ));
    }

    #[test]
    fn ingress_longest_path_and_exact_win() {
        // Ingress documentation, "Multiple matches": the longest matching path wins; at equal
        // length Exact is preferred over Prefix. Hosts: exact before wildcard before none.
        let ing = Ingress {
            namespace: "shop".into(),
            name: "front".into(),
            default_backend: Some(backend("fallback")),
            rules: vec![
                IngressRule {
                    host: Some("shop.example.com".into()),
                    paths: vec![
                        path("/", PathType::Prefix, "frontend"),
                        path("/api", PathType::Prefix, "api"),
                        path("/api/cart", PathType::Prefix, "cart"),
                        path("/api/cart", PathType::Exact, "cart-exact"),
                    ],
                },
                IngressRule {
                    host: Some("*.example.com".into()),
                    paths: vec![path("/", PathType::Prefix, "wild")],
                },
            ],
            ..Ingress::default()
        };
        let go =
            |host: &str, p: &str| ingress_backend(&[&ing], host, p).map(|(_, b)| b.service.clone());
        assert_eq!(go("shop.example.com", "/").as_deref(), Some("frontend"));
        assert_eq!(go("shop.example.com", "/api/items").as_deref(), Some("api"));
        assert_eq!(
            go("shop.example.com", "/api/cart/1").as_deref(),
            Some("cart")
        );
        assert_eq!(
            go("shop.example.com", "/api/cart").as_deref(),
            Some("cart-exact")
        );
        assert_eq!(go("blog.example.com", "/x").as_deref(), Some("wild"));
        // A wildcard covers one label only.
        assert_eq!(go("a.b.example.com", "/x").as_deref(), Some("fallback"));
        assert_eq!(go("other.org", "/").as_deref(), Some("fallback"));
    }

    #[test]
    fn http_route_weights_and_precedence() {
        // Gateway API v1 HTTPRoute: weights default to 1 and split traffic proportionally;
        // weight 0 takes none; Exact beats the longest prefix; a specific hostname beats a
        // route for every host.
        let refs = |xs: &[(&str, i32)]| {
            xs.iter()
                .map(|(n, w)| BackendRef {
                    name: (*n).into(),
                    namespace: None,
                    port: Some(8080),
                    weight: *w,
                })
                .collect::<Vec<_>>()
        };
        let canary = HttpRoute {
            namespace: "shop".into(),
            name: "checkout".into(),
            hostnames: vec!["shop.example.com".into()],
            rules: vec![
                HttpRouteRule {
                    matches: vec![],
                    backend_refs: refs(&[("checkout-v1", 90), ("checkout-v2", 10)]),
                },
                HttpRouteRule {
                    matches: vec![HttpPathMatch::Exact("/health".into())],
                    backend_refs: refs(&[("health", 1), ("off", 0)]),
                },
            ],
        };
        let catch_all = HttpRoute {
            namespace: "shop".into(),
            name: "all".into(),
            hostnames: vec![],
            rules: vec![HttpRouteRule {
                matches: vec![HttpPathMatch::PathPrefix("/static".into())],
                backend_refs: refs(&[("static", 1)]),
            }],
        };
        let go = |host: &str, p: &str| -> Vec<(String, u32)> {
            http_route_backends(&[&catch_all, &canary], host, p)
                .into_iter()
                .map(|b| (b.service, b.weight))
                .collect()
        };
        assert_eq!(
            go("shop.example.com", "/cart"),
            vec![("checkout-v1".into(), 90), ("checkout-v2".into(), 10)]
        );
        assert_eq!(
            go("shop.example.com", "/health"),
            vec![("health".into(), 1)]
        );
        assert_eq!(
            go("shop.example.com", "/static/x")[0].0,
            "checkout-v1",
            "a specific hostname beats a route for every host"
        );
        assert_eq!(
            go("cdn.example.org", "/static/x"),
            vec![("static".into(), 1)]
        );
        assert!(go("cdn.example.org", "/other").is_empty());
    }
}
