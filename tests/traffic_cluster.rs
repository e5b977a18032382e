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
use models::run::{RunOptions, build, run};
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
    driver.model.stats(ix).counts
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
const GOOD_PROBE: &str =
    "                readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 2}
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
        pods.iter()
            .all(|r| r.pod.images.iter().any(|i| i == "web:v2")),
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

// ---------------------------------------------------------------------------------------
// A surge, the HPA and the cluster autoscaler.

/// `web` (1-cpu pods, CPU limit 1) on one 4-cpu node of an autoscaled pool, an HPA at 50%
/// CPU, 50 requests/s of 10ms CPU each (2 pods at 25%). At 3m traffic ramps up over 1m to
/// 16 times that and holds 10m: the HPA wants 16 pods, which need 4 nodes. At 14m it is over.
const SURGE: &str = r#"
name: surge-autoscaling
seed: 4
duration: 40m
controlPlane: {watchLatency: 0s, apiLatency: 0s}
cluster:
  nodePools:
    - name: pool
      count: 1
      resources: {cpu: "4", memory: 16Gi, pods: 110}
      autoscaling: {min: 1, max: 6, provisioningDelay: 60s..120s}
workloads:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        replicas: 2
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec:
            containers:
              - name: web
                image: web:v1
                resources: {requests: {cpu: "1", memory: 1Gi}, limits: {cpu: "1"}}
  - inline:
      apiVersion: v1
      kind: Service
      metadata: {name: web}
      spec:
        selector: {app: web}
        ports: [{port: 80, targetPort: 8080}]
  - inline:
      apiVersion: autoscaling/v2
      kind: HorizontalPodAutoscaler
      metadata: {name: web}
      spec:
        scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
        minReplicas: 2
        maxReplicas: 20
        metrics:
          - type: Resource
            resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
behaviour:
  podStartup: 2s
  web: {cpuPerRequest: {exp: 10ms}, concurrency: 4, timeout: 5s}
traffic:
  mode: fluid
  seriesInterval: 30s
  entry:
    - service: web
      rate: 50/s
      surges: [{at: 3m, factor: 16, rampUp: 1m, hold: 10m}]
"#;

fn secs(t: SimTime) -> f64 {
    t.as_nanos() as f64 / 1e9
}

#[test]
fn a_surge_scales_pods_and_nodes_out_and_back_in() {
    let s = load_str("surge.yaml", SURGE, Path::new(".")).unwrap_or_else(|d| panic!("{d}"));
    let o = run(
        &s,
        &Registry::default_plugins(),
        &RunOptions::default(),
        |_, _| {},
    )
    .unwrap_or_else(|d| panic!("{d}"));
    let c = o.simulation.world();
    let events = |reason: &str| -> Vec<&models::events::EventRecord> {
        c.api.events.iter().filter(|e| e.reason == reason).collect()
    };
    let size = |m: &str| -> i32 {
        m.trim_start_matches("New size: ")
            .split(';')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(-1)
    };

    // The HPA scales out at upstream's default rate: at most max(4 pods, 100%) per 15s.
    let rescales: Vec<(SimTime, i32)> = events("SuccessfulRescale")
        .iter()
        .map(|e| (e.time(), size(&e.message)))
        .collect();
    let mut current = 2;
    let mut last_up: Option<SimTime> = None;
    let mut ups = Vec::new();
    let mut first_down = None;
    for &(t, new) in &rescales {
        if new > current {
            assert!(new - current <= 4.max(current), "{rescales:?}");
            if let Some(l) = last_up {
                assert!(t.since(l) >= SimDuration::from_secs(15), "{rescales:?}");
            }
            last_up = Some(t);
            ups.push((secs(t), new));
        } else if first_down.is_none() {
            first_down = Some(t);
        }
        current = new;
    }
    eprintln!("scale-out steps (s, replicas): {ups:?}");
    assert!(ups.len() >= 4, "{rescales:?}");
    assert!(ups.iter().any(|&(_, n)| n >= 16), "{rescales:?}");
    let surge_start = at(3 * 60);
    assert!(ups.iter().all(|&(t, _)| t >= secs(surge_start)), "{ups:?}");

    // The pods that do not fit trigger scale-ups; the nodes register after the
    // provisioning delay (60s..120s) and the pods schedule there.
    let triggered = events("TriggeredScaleUp");
    assert!(!triggered.is_empty());
    let first_trigger = triggered[0].time();
    let registered: Vec<SimTime> = events("RegisteredNode")
        .iter()
        .map(|e| e.time())
        .filter(|t| *t > SimTime::ZERO)
        .collect();
    eprintln!(
        "first TriggeredScaleUp at {}s; nodes registered at {:?}s",
        secs(first_trigger),
        registered.iter().map(|t| secs(*t)).collect::<Vec<_>>()
    );
    assert!(registered.len() >= 3, "{registered:?}");
    assert!(registered[0] >= first_trigger.saturating_add(SimDuration::from_secs(60)));
    assert!(registered[0] <= first_trigger.saturating_add(SimDuration::from_secs(130)));
    let last_node = *registered.last().expect("nodes");
    assert!(
        last_node < at(14 * 60),
        "the nodes arrived during the surge"
    );

    // Latency recovers once the nodes are there.
    let rec = c.metrics.as_ref().expect("metrics");
    let p99: Vec<(f64, f64)> = rec
        .get("latency_p99_seconds", "service/web")
        .expect("the p99 series")
        .points()
        .collect();
    let peak = p99
        .iter()
        .filter(|(t, _)| *t <= secs(last_node))
        .map(|p| p.1)
        .fold(0.0, f64::max);
    let settle = secs(last_node) + 90.0;
    let after: Vec<f64> = p99
        .iter()
        .filter(|(t, _)| *t >= settle && *t < 14.0 * 60.0)
        .map(|p| p.1)
        .collect();
    eprintln!("p99 peak {peak:.3}s before the last node, {after:?} after it (to 14m)");
    assert!(peak > 1.0, "the surge hurt: {p99:?}");
    assert!(!after.is_empty());
    assert!(after.iter().all(|v| *v < peak / 5.0), "{p99:?}");

    // The surge ends at 14m; the HPA scales down only to the highest recommendation of the
    // last 300s (its stabilization window), so back to minReplicas only 5 minutes after the
    // surge's last recommendation (HPA syncs are 15s apart).
    let &(down, last) = rescales.last().expect("rescaled");
    assert_eq!(last, 2, "back to minReplicas: {rescales:?}");
    assert!(down >= at(14 * 60 + 285), "{rescales:?}");
    // The emptied nodes go at least 10 minutes after they became unneeded (no sooner than
    // the scale-down that emptied them).
    let removed: Vec<SimTime> = events("ScaleDown")
        .iter()
        .filter(|e| e.message == "nodes removed by cluster autoscaler")
        .map(|e| e.time())
        .collect();
    eprintln!(
        "HPA back to 2 replicas at {}s; nodes removed at {:?}s",
        secs(down),
        removed.iter().map(|t| secs(*t)).collect::<Vec<_>>()
    );
    assert!(removed.len() >= 3, "{removed:?}");
    // A node is unneeded from the HPA scale-down that emptied it at the earliest: the first
    // (19 → 16, which empties the last node added) or the last (→ 2).
    let first_down = first_down.expect("scaled down");
    let ten_minutes = SimDuration::from_secs(600);
    assert!(
        removed
            .iter()
            .all(|t| *t >= first_down.saturating_add(ten_minutes)),
        "{removed:?}"
    );
    assert!(
        removed
            .iter()
            .filter(|t| **t >= down.saturating_add(ten_minutes))
            .count()
            >= removed.len() - 1,
        "{removed:?}"
    );
    let nodes = c.api.store.live_nodes().count();
    assert!((1..=2).contains(&nodes), "{nodes} nodes left");
}
