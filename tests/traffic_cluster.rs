//! Traffic and the cluster in one loop, through the library's public path (scenario YAML →
//! simulation):
//! - a rolling update under steady traffic loses nothing when readiness, preStop and the
//!   rollout strategy are set well, and a measured number of requests when they are not;
//! - a surge makes the HPA scale out at upstream's policy rate, the pods that do not fit
//!   trigger the cluster autoscaler, the new nodes arrive after the provisioning delay,
//!   latency recovers, and once the surge is over the HPA scales down and the autoscaler
//!   removes the nodes it no longer needs, 10 minutes after they became unneeded.

use std::path::Path;

use models::cluster::Cluster;
use models::run::{RunOptions, build};
use models::scenario::load_str;
use models::scheduler::Registry;
use models::traffic::{Counts, FailureCause};
use sim_core::{RunLimits, SimDuration, SimTime, Simulation};

fn simulate(name: &str, yaml: &str) -> Simulation<Cluster> {
    let s = load_str(name, yaml, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    build(&s, &Registry::default_plugins(), &RunOptions::default())
        .unwrap_or_else(|d| panic!("{d}"))
}

fn at(secs: u64) -> SimTime {
    SimTime::ZERO.saturating_add(SimDuration::from_secs(secs))
}

/// Runs to `t` and returns the counts of traffic service `service` up to then.
fn counts_at(sim: &mut Simulation<Cluster>, t: SimTime, service: &str) -> Counts {
    sim.run(RunLimits::until(t));
    let driver = sim.world_mut().traffic.as_mut().expect("traffic runs");
    driver.catch_up(t);
    let ix = driver.model.service_ix(service).expect("a traffic service");
    driver.model.stats(ix).counts.clone()
}

fn since(later: &Counts, earlier: &Counts) -> Counts {
    let mut d = Counts {
        requests: later.requests - earlier.requests,
        succeeded: later.succeeded - earlier.succeeded,
        failed: [0; 5],
    };
    for (i, f) in d.failed.iter_mut().enumerate() {
        *f = later.failed[i] - earlier.failed[i];
    }
    d
}

// ---------------------------------------------------------------------------------------
// A rolling update under traffic.

/// `web` behind a Service at 100 requests/s; at 1m a new image rolls out. `GOOD` settings:
/// a readinessProbe (the server needs 3s to warm up, `readiness: {passAfter: 3s}`), a preStop
/// sleep of 5s (longer than the proxy takes to learn a pod is terminating: watch latency plus
/// kube-proxy's 1s minSyncPeriod), the default 30s grace period, maxUnavailable 0.
const ROLLING: &str = r#"
name: rolling-under-traffic
seed: 3
duration: 3m
cluster:
  nodePools:
    - {name: general, count: 3, resources: {cpu: "8", memory: 32Gi, pods: 110}, zones: [a, b, c]}
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 4
        selector: {matchLabels: {app: web}}
STRATEGY
        template:
          metadata: {labels: {app: web}}
          spec:
            containers:
              - name: web
                image: web:v1
PROBE
                resources: {requests: {cpu: 250m, memory: 128Mi}, limits: {cpu: 500m}}
  - inline:
      apiVersion: v1
      kind: Service
      metadata: {name: web}
      spec:
        selector: {app: web}
        ports: [{port: 80, targetPort: 8080}]
behaviour:
  podStartup: 2s..5s
  web: {cpuPerRequest: {exp: 5ms}, concurrency: 8, timeout: 2s, readiness: {passAfter: 3s}}
traffic:
  mode: request
  seriesInterval: 15s
  entry:
    - {service: web, rate: 100/s}
timeline:
  - {at: 1m, rollout: {deployment: web, image: web:v2}}
"#;

const GOOD_STRATEGY: &str =
    "        strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}";
const GOOD_PROBE: &str = "                readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 2}
                lifecycle: {preStop: {sleep: {seconds: 5}}}";

fn rolling(good: bool) -> String {
    if good {
        ROLLING
            .replace("STRATEGY", GOOD_STRATEGY)
            .replace("PROBE", GOOD_PROBE)
    } else {
        // No probe, no preStop, the default strategy (maxSurge 25%, maxUnavailable 25%).
        ROLLING.replace("STRATEGY\n", "").replace("PROBE\n", "")
    }
}

/// Requests to `web` from just before the rollout to the end of the run, and whether the
/// rollout finished (every pod runs the new image).
fn rollout_counts(good: bool) -> (Counts, Simulation<Cluster>) {
    let mut sim = simulate("rolling.yaml", &rolling(good));
    // The first pods are up and in the proxy's rules well before the rollout at 1m.
    let before = counts_at(&mut sim, at(55), "web");
    let after = counts_at(&mut sim, at(180), "web");
    (since(&after, &before), sim)
}

fn rolled_out(sim: &Simulation<Cluster>) {
    let c = sim.world();
    let pods: Vec<_> = c
        .api
        .store
        .active_pods()
        .filter(|r| r.pod.name.starts_with("web-"))
        .collect();
    assert_eq!(pods.len(), 4, "the rollout ended with 4 pods");
    assert!(
        pods.iter().all(|r| r.pod.images.iter().any(|i| i == "web:v2")),
        "every pod runs the new image"
    );
}

#[test]
fn a_rolling_update_under_traffic_loses_nothing_with_readiness_and_prestop() {
    let (d, sim) = rollout_counts(true);
    rolled_out(&sim);
    assert!(d.requests > 10_000, "{d:?}");
    assert_eq!(
        d.failed_total(),
        0,
        "readiness, preStop and maxUnavailable 0: no request lost: {d:?}"
    );
    // All but the few still in flight at the end succeeded.
    assert!(d.requests - d.succeeded < 10, "{d:?}");
}

#[test]
fn a_rolling_update_under_traffic_loses_requests_without_readiness_or_prestop() {
    let (d, sim) = rollout_counts(false);
    rolled_out(&sim);
    let gone = d.failed(FailureCause::PodGone);
    let none = d.failed(FailureCause::NoEndpoints);
    eprintln!(
        "rolling update without readiness or preStop: {} of {} requests failed ({gone} podGone, {none} noEndpoints)",
        d.failed_total(),
        d.requests
    );
    // New pods are Ready the moment their container starts, 3s before their server
    // listens; old pods stop listening at SIGTERM, the moment they are deleted, while the
    // proxy still sends to them until it syncs. Both show as requests to a pod that is gone.
    assert!(gone > 0, "{d:?}");
    assert_eq!(d.failed_total(), gone + none, "{d:?}");
    // Bounded: a few seconds' worth of a share of 100 requests/s per pod replaced.
    assert!(d.failed_total() < 4 * 100 * 5, "{d:?}");
}
