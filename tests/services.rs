//! Services through whole runs: the EndpointSlice controller publishes the pods a Service
//! selects, kube-proxy's view follows after its watch latency and sync rate limit, and
//! Ingresses and HTTPRoutes route to Services.

use std::path::Path;

use models::api::network::{EndpointSlice, HttpRoute, Ingress, LABEL_MANAGED_BY};
use models::cluster::Cluster;
use models::network::routing::{http_route_backends, ingress_route};
use models::run::{RunOptions, build};
use models::scenario::{Scenario, load_str};
use models::scheduler::Registry;
use sim_core::{RunLimits, SimDuration, SimTime, Simulation};

fn load(text: &str) -> Scenario {
    load_str("services-test.yaml", text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"))
}

fn simulate(s: &Scenario) -> Simulation<Cluster> {
    let options = RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    };
    build(s, &Registry::default_plugins(), &options).unwrap_or_else(|d| panic!("{d}"))
}

fn at(ms: u64) -> SimTime {
    SimTime::ZERO.saturating_add(SimDuration::from_millis(ms))
}

/// The live EndpointSlices of Service `default/name`.
fn slices<'a>(c: &'a Cluster, name: &str) -> Vec<&'a EndpointSlice> {
    c.api
        .network
        .slices_of("default", name)
        .filter_map(|id| c.api.network.endpoint_slices.live_get(id))
        .map(|s| &s.spec)
        .collect()
}

/// (ready, serving, terminating) endpoint counts in the API server.
fn published(c: &Cluster, name: &str) -> (usize, usize, usize) {
    let eps: Vec<_> = slices(c, name)
        .into_iter()
        .flat_map(|s| &s.endpoints)
        .collect();
    (
        eps.iter().filter(|e| e.conditions.ready).count(),
        eps.iter().filter(|e| e.conditions.serving).count(),
        eps.iter().filter(|e| e.conditions.terminating).count(),
    )
}

/// Ready endpoints in kube-proxy's rules.
fn proxied_ready(c: &Cluster, name: &str) -> usize {
    c.proxy.service("default", name).map_or(0, |ix| {
        c.proxy.endpoints(ix).iter().filter(|e| e.ready).count()
    })
}

fn scenario(replicas: u32, extra_docs: &str, tail: &str) -> String {
    format!(
        r#"name: services-test
seed: 5
duration: 10m
cluster:
  nodePools:
    - {{name: pool, count: 3, resources: {{cpu: "64", memory: 256Gi, pods: 110}}, zones: [zone-a, zone-b, zone-c]}}
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {{name: web}}
      spec:
        replicas: {replicas}
        selector: {{matchLabels: {{app: web}}}}
        template:
          metadata: {{labels: {{app: web, track: stable}}}}
          spec:
            terminationGracePeriodSeconds: 30
            containers:
              - name: web
                image: web:v1
                resources: {{requests: {{cpu: 10m}}}}
                lifecycle: {{preStop: {{exec: {{command: [drain]}}}}}}
  - inline:
      apiVersion: v1
      kind: Service
      metadata: {{name: web}}
      spec:
        selector: {{app: web}}
        ports: [{{name: http, port: 80, targetPort: 8080}}]
{extra_docs}
behaviour:
  podStartup: 2s
  web: {{preStop: 5s}}
{tail}
"#
    )
}

#[test]
fn a_service_publishes_its_ready_pods_and_the_proxy_follows_later() {
    let s = load(&scenario(3, "", ""));
    let mut sim = simulate(&s);
    let mut api_ready_at = None;
    let mut proxy_ready_at = None;
    let mut t = 0;
    while t < 60_000 && proxy_ready_at.is_none() {
        t += 5;
        sim.run(RunLimits::until(at(t)));
        let c = sim.world();
        if api_ready_at.is_none() && published(c, "web").0 == 3 {
            api_ready_at = Some(t);
        }
        if proxied_ready(c, "web") == 3 {
            proxy_ready_at = Some(t);
        }
    }
    let (api_t, proxy_t) = (
        api_ready_at.expect("published"),
        proxy_ready_at.expect("proxied"),
    );
    // Pods are Ready after their 2s start; the slice follows the controller's watch.
    assert!(api_t >= 2_000, "published at {api_t}ms");
    // The proxy learns after its watch latency (10–100ms after the commit), and its sync
    // may wait for the rate limit (one per second after a burst of two).
    let lag = proxy_t - api_t;
    assert!((5..=1_200).contains(&lag), "proxy lag {lag}ms");
    let c = sim.world();
    let all = slices(c, "web");
    assert_eq!(all.len(), 1);
    assert!(
        all[0].name.starts_with("web-") && all[0].name.len() == 9,
        "{}",
        all[0].name
    );
    assert_eq!(
        all[0].labels.get(LABEL_MANAGED_BY),
        Some("endpointslice-controller.k8s.io")
    );
    assert_eq!(all[0].endpoints.len(), 3);
    assert!(
        all[0]
            .endpoints
            .iter()
            .all(|e| e.zone.is_some() && e.node.is_some())
    );
    // Every change the proxy applied was announced.
    let changed = sim.world_mut().proxy.take_changed();
    assert!(!changed.is_empty());
}

#[test]
fn a_rolling_update_marks_old_endpoints_terminating_then_drops_them() {
    let s = load(&scenario(
        2,
        "",
        "timeline:\n  - {at: 1m, rollout: {deployment: web, image: web:v2}}",
    ));
    let mut sim = simulate(&s);
    sim.run(RunLimits::until(at(60_000)));
    let before: Vec<_> = {
        let c = sim.world();
        slices(c, "web")
            .into_iter()
            .flat_map(|s| s.endpoints.iter().map(|e| e.pod))
            .collect()
    };
    assert_eq!(before.len(), 2);
    let mut saw_terminating_serving = false;
    let mut proxy_kept_dying = false;
    let mut t = 60_000;
    while t < 300_000 {
        t += 100;
        sim.run(RunLimits::until(at(t)));
        let c = sim.world();
        for s in slices(c, "web") {
            for e in &s.endpoints {
                if e.conditions.terminating {
                    assert!(!e.conditions.ready, "a terminating endpoint is never ready");
                    saw_terminating_serving |= e.conditions.serving;
                }
            }
        }
        // The proxy still lists a pod the API server already marked terminating or dropped.
        if let Some(ix) = c.proxy.service("default", "web") {
            for e in c.proxy.endpoints(ix) {
                let r = c.api.store.pod(e.pod);
                if e.ready && (r.deletion_timestamp.is_some() || !r.is_active()) {
                    proxy_kept_dying = true;
                }
            }
        }
    }
    assert!(
        saw_terminating_serving,
        "old pods were published serving and terminating"
    );
    assert!(proxy_kept_dying, "the proxy lags the API server");
    let c = sim.world();
    let after: Vec<_> = slices(c, "web")
        .into_iter()
        .flat_map(|s| s.endpoints.iter().map(|e| e.pod))
        .collect();
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(
        after.iter().all(|p| !before.contains(p)),
        "old pods are gone"
    );
    assert_eq!(published(c, "web"), (2, 2, 0));
    assert_eq!(proxied_ready(c, "web"), 2);
}

#[test]
fn a_service_without_selector_has_no_endpoints() {
    let extra = r#"  - inline:
      apiVersion: v1
      kind: Service
      metadata: {name: external-db}
      spec:
        ports: [{port: 5432}]"#;
    let s = load(&scenario(2, extra, ""));
    let mut sim = simulate(&s);
    sim.run(RunLimits::until(at(30_000)));
    let c = sim.world();
    assert!(slices(c, "external-db").is_empty());
    let ix = c
        .proxy
        .service("default", "external-db")
        .expect("the proxy knows it");
    assert!(c.proxy.endpoints(ix).is_empty());
    let mut out = Vec::new();
    c.proxy.eligible(ix, None, false, &mut out);
    assert!(out.is_empty());
}

#[test]
fn more_than_a_hundred_pods_split_across_slices() {
    let s = load(&scenario(150, "", ""));
    let mut sim = simulate(&s);
    sim.run(RunLimits::until(at(60_000)));
    let c = sim.world();
    let mut sizes: Vec<usize> = slices(c, "web").iter().map(|s| s.endpoints.len()).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![50, 100]);
    assert_eq!(published(c, "web").0, 150);
    assert_eq!(proxied_ready(c, "web"), 150);
}

#[test]
fn two_deployments_behind_one_service_split_by_ready_endpoints() {
    let canary = r#"  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web-canary}
      spec:
        replicas: 1
        selector: {matchLabels: {app: web, track: canary}}
        template:
          metadata: {labels: {app: web, track: canary}}
          spec:
            containers: [{name: web, image: web:v2, resources: {requests: {cpu: 10m}}}]"#;
    let s = load(&scenario(3, canary, ""));
    let mut sim = simulate(&s);
    sim.run(RunLimits::until(at(30_000)));
    let c = sim.world();
    let ix = c.proxy.service("default", "web").expect("proxied");
    let mut out = Vec::new();
    c.proxy.eligible(ix, None, false, &mut out);
    let eps = c.proxy.endpoints(ix);
    let canary_share = out
        .iter()
        .filter(|&&i| c.api.store.pod(eps[i].pod).pod.labels.get("track") == Some("canary"))
        .count();
    assert_eq!(
        (out.len(), canary_share),
        (4, 1),
        "one in four goes to the canary"
    );
}

#[test]
fn ingress_and_http_route_route_as_configured() {
    let extra = r#"  - inline:
      apiVersion: v1
      kind: Service
      metadata: {name: api}
      spec:
        selector: {app: api}
        ports: [{port: 80}]
  - inline:
      apiVersion: networking.k8s.io/v1
      kind: Ingress
      metadata: {name: front}
      spec:
        defaultBackend: {service: {name: web, port: {number: 80}}}
        rules:
          - host: shop.example.com
            http:
              paths:
                - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}
                - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
  - inline:
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: {name: canary}
      spec:
        parentRefs: [{name: gateway}]
        hostnames: [shop.example.com]
        rules:
          - backendRefs: [{name: web, port: 80, weight: 90}, {name: api, port: 80, weight: 10}]
  - inline:
      apiVersion: gateway.networking.k8s.io/v1
      kind: Gateway
      metadata: {name: gateway}
      spec: {gatewayClassName: example, listeners: [{name: http, port: 80, protocol: HTTP}]}"#;
    let s = load(&scenario(1, extra, ""));
    assert!(
        s.ignored.iter().any(|o| o.kind == "Gateway"),
        "{:?}",
        s.ignored
    );
    let mut sim = simulate(&s);
    sim.run(RunLimits::until(at(1_000)));
    let c = sim.world();
    let ingresses: Vec<&Ingress> = c.api.network.ingresses.live().map(|o| &o.spec).collect();
    let routes: Vec<&HttpRoute> = c.api.network.http_routes.live().map(|o| &o.spec).collect();
    let to = |host: &str, path: &str| -> Vec<String> {
        ingress_route(&ingresses, host, path)
            .into_iter()
            .map(|b| b.service)
            .collect()
    };
    assert_eq!(to("shop.example.com", "/api/cart"), vec!["api"]);
    assert_eq!(to("shop.example.com", "/apix"), vec!["web"]);
    assert_eq!(
        to("other.example.com", "/api"),
        vec!["web"],
        "default backend"
    );
    let split: Vec<(String, u32)> = http_route_backends(&routes, "shop.example.com", "/")
        .into_iter()
        .map(|b| (b.service, b.weight))
        .collect();
    assert_eq!(split, vec![("web".into(), 90), ("api".into(), 10)]);
}

#[test]
fn bad_service_fields_are_located_errors_and_unknown_backends_warnings() {
    let bad_port = scenario(1, "", "").replace("port: 80, targetPort: 8080", "port: 70000");
    let err =
        load_str("services-test.yaml", &bad_port, Path::new(".")).expect_err("port out of range");
    assert!(
        err.message
            .contains("spec.ports[0].port: must be between 1 and 65535"),
        "{err}"
    );
    let bad_selector = scenario(1, "", "").replace("selector: {app: web}\n", "selector: [web]\n");
    let err = load_str("services-test.yaml", &bad_selector, Path::new("."))
        .expect_err("selector must be a map");
    assert!(err.message.contains("spec.selector"), "{err}");
    let weight = r#"  - inline:
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: {name: r}
      spec:
        rules:
          - backendRefs: [{name: web, weight: -1}]"#;
    let err = load_str(
        "services-test.yaml",
        &scenario(1, weight, ""),
        Path::new("."),
    )
    .expect_err("negative weight");
    assert!(
        err.message.contains("weight must be a whole number"),
        "{err}"
    );
    let missing = r#"  - inline:
      apiVersion: networking.k8s.io/v1
      kind: Ingress
      metadata: {name: front}
      spec:
        defaultBackend: {service: {name: nowhere, port: {number: 80}}}"#;
    let s = load(&scenario(1, missing, ""));
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("Ingress front: backend Service default/nowhere is not defined")),
        "{:?}",
        s.warnings
    );
}
