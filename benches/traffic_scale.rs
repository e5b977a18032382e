//! The traffic-shaped capacity question at scale, end to end: a shop of 50 services on
//! thousands of nodes, in `fluid` traffic mode, with an HPA per service, an autoscaled node
//! pool, a daily cycle, a surge and nodes failing at random — the whole `kubesim run` (load,
//! simulate, write every output) as a user runs it.
//!
//! A size is `nodes` and simulated `hours`. It has `nodes × 30` pods at the start, spread over
//! 50 Deployments (between half and one and a half times the mean), each behind a Service and
//! scaled by an autoscaling/v2 HPA on CPU utilization (target 60%, min half, max three times
//! the starting replicas). `svc-0` takes the traffic; each service calls the next three
//! (a ternary tree, one call each) and services from `svc-10` on are also called by the
//! service seven before them (half a call per request), so the call graph fans out over four
//! levels with shared callees. Each service's CPU cost per request is set so that at the mean
//! rate its pods run at 55% of their CPU request (inside the HPA's tolerance of the target).
//! The entry rate follows a daily cycle (±30%, peak at 20:00) and a ×1.5 surge from 3h
//! (30 min ramp, 1 h hold, 30 min decay). Nodes: 80% in a fixed pool, 20% in a pool the
//! cluster autoscaler grows (to 60% of `nodes`) and shrinks (to 10%); fixed-pool nodes crash
//! at random (exponential MTBF 20 days, MTTR 1 h: ~`nodes`/25 crashes a day).
//!
//! ```text
//! cargo bench --bench traffic_scale                                   # 500, 1667, 5000 nodes; 24 h
//! KUBESIM_TRAFFIC_SCALE=5000:6,5000:24 cargo bench --bench traffic_scale
//! cargo bench --bench traffic_scale -- --write DIR                    # only write the scenarios
//! ```
//!
//! Each run is its own `kubesim` process (so its peak memory is its own), timed once: a run
//! of half a minute repeated the ten times a criterion sample set needs would take longer than
//! the question is worth. Prints one row per size: wall time, events, peak RSS, and growth
//! against the previous row.

// The bench times whole processes from outside; no simulation reads the clock.
#![allow(clippy::disallowed_types)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[path = "common/timed_run.rs"]
mod timed_run;
use timed_run::timed_run;

const PODS_PER_NODE: usize = 30;
const SERVICES: usize = 50;
/// Requests per second entering `svc-0` at the mean of the daily cycle.
const ENTRY_RATE: f64 = 20_000.0;
const CPU_REQUEST_MILLIS: f64 = 500.0;
/// Pods' CPU use at the mean rate, as a fraction of their request.
const BASE_UTILIZATION: f64 = 0.55;

/// `(from, to, per_request)` of the call graph.
fn calls() -> Vec<(usize, usize, f64)> {
    let mut edges = Vec::new();
    for to in 1..SERVICES {
        edges.push(((to - 1) / 3, to, 1.0));
        if to >= 10 && to - 7 != (to - 1) / 3 {
            edges.push((to - 7, to, 0.5));
        }
    }
    edges
}

/// Starting replicas of each service, summing to about `pods`.
fn replicas(pods: usize) -> Vec<usize> {
    let mean = pods as f64 / SERVICES as f64;
    (0..SERVICES)
        .map(|i| ((mean * (0.5 + (i % 11) as f64 / 10.0)).round() as usize).max(2))
        .collect()
}

/// The scenario of one size, as a user would write it.
fn scenario(nodes: usize, hours: u32) -> String {
    let pods = nodes * PODS_PER_NODE;
    let replicas = replicas(pods);
    let edges = calls();
    // Mean request rate of each service (callers come before callees).
    let mut rate = vec![0.0; SERVICES];
    rate[0] = ENTRY_RATE;
    for &(from, to, per) in &edges {
        rate[to] += rate[from] * per;
    }
    let fixed = nodes * 8 / 10;
    let burst = nodes - fixed;
    let mut s = format!(
        "name: traffic-scale-{nodes}-{hours}h\n\
         seed: 11\n\
         duration: {hours}h\n\
         scheduler:\n  config: {{apiVersion: kubescheduler.config.k8s.io/v1, \
         kind: KubeSchedulerConfiguration, clientConnection: {{qps: -1}}}}\n\
         cluster:\n  nodePools:\n\
         \x20   - {{name: fixed, count: {fixed}, costPerHour: 0.80, \
         resources: {{cpu: \"20\", memory: 80Gi, pods: 110}}, zones: [zone-a, zone-b, zone-c]}}\n\
         \x20   - {{name: burst, count: {burst}, costPerHour: 0.30, spot: true, \
         resources: {{cpu: \"20\", memory: 80Gi, pods: 110}}, zones: [zone-a, zone-b, zone-c], \
         autoscaling: {{min: {min}, max: {max}, provisioningDelay: 60s..180s}}}}\n\
         faults:\n\
         \x20 - crashNodes: {{pool: fixed}}\n\
         \x20   mtbf: {{exponential: 20d}}\n\
         \x20   mttr: {{exponential: 1h}}\n\
         traffic:\n\
         \x20 mode: fluid\n\
         \x20 seriesInterval: 1m\n\
         \x20 sloWindow: 1h\n\
         \x20 balancer: random\n\
         \x20 entry:\n\
         \x20   - service: svc-0\n\
         \x20     rate: {ENTRY_RATE}/s\n\
         \x20     daily: {{amplitude: 0.3, peak: \"20:00\"}}\n\
         \x20     surges: [{{at: 3h, factor: 1.5, rampUp: 30m, hold: 1h, decay: 30m}}]\n\
         \x20 calls:\n",
        min = (nodes / 10).max(1),
        max = (nodes * 6 / 10).max(burst),
    );
    for &(from, to, per) in &edges {
        writeln!(
            s,
            "    - {{from: svc-{from}, to: svc-{to}, perRequest: {per}}}"
        )
        .expect("writing to a String cannot fail");
    }
    s.push_str("slo: {availability: 99.9%, latencyP99: 300ms, window: 1h}\nbehaviour:\n");
    for (i, (&r, &n)) in rate.iter().zip(&replicas).enumerate() {
        // Core-seconds per request so that n pods run at BASE_UTILIZATION of their request.
        let busy_cores = n as f64 * CPU_REQUEST_MILLIS / 1000.0 * BASE_UTILIZATION;
        let micros = (busy_cores / r * 1e6).round().max(1.0) as u64;
        writeln!(
            s,
            "  svc-{i}: {{cpuPerRequest: {{exp: {micros}us}}, concurrency: 8, timeout: 2s}}"
        )
        .expect("writing to a String cannot fail");
    }
    s.push_str("workloads:\n");
    for (i, &n) in replicas.iter().enumerate() {
        write!(
            s,
            "  - inline:\n      apiVersion: apps/v1\n      kind: Deployment\n      \
             metadata: {{name: svc-{i}}}\n      spec:\n        replicas: {n}\n        \
             selector: {{matchLabels: {{app: svc-{i}}}}}\n        template:\n          \
             metadata: {{labels: {{app: svc-{i}}}}}\n          spec:\n            containers:\n              \
             - {{name: c, image: svc-{i}:v1, resources: {{requests: {{cpu: {cpu}m, memory: 256Mi}}, \
             limits: {{cpu: \"1\", memory: 512Mi}}}}}}\n\
             \x20 - inline:\n      apiVersion: v1\n      kind: Service\n      \
             metadata: {{name: svc-{i}}}\n      spec: {{selector: {{app: svc-{i}}}, \
             ports: [{{port: 80, targetPort: 8080}}]}}\n\
             \x20 - inline:\n      apiVersion: autoscaling/v2\n      kind: HorizontalPodAutoscaler\n      \
             metadata: {{name: svc-{i}}}\n      spec:\n        \
             scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: svc-{i}}}\n        \
             minReplicas: {min}\n        maxReplicas: {max}\n        metrics:\n          \
             - {{type: Resource, resource: {{name: cpu, target: {{type: Utilization, \
             averageUtilization: 60}}}}}}\n",
            cpu = CPU_REQUEST_MILLIS as u32,
            min = (n / 2).max(1),
            max = n * 3,
        )
        .expect("writing to a String cannot fail");
    }
    s
}

struct Measured {
    nodes: usize,
    hours: u32,
    wall_s: f64,
    events: u64,
    peak_bytes: Option<u64>,
}

fn run_one(binary: &Path, work: &Path, nodes: usize, hours: u32) -> Measured {
    let file = work.join(format!("traffic-scale-{nodes}-{hours}h.yaml"));
    std::fs::write(&file, scenario(nodes, hours)).expect("cannot write the scenario");
    let out = work.join(format!("out-{nodes}-{hours}h"));
    let run = timed_run(binary, &file, &out, &format!("{nodes} nodes, {hours} h"));
    Measured {
        nodes,
        hours,
        wall_s: run.wall_s,
        events: run.events,
        peak_bytes: run.peak_bytes,
    }
}

/// `nodes:hours` pairs (hours 24 when left out).
fn sizes(text: &str) -> Vec<(usize, u32)> {
    text.split(',')
        .filter_map(|s| {
            let (n, h) = s.trim().split_once(':').unwrap_or((s.trim(), "24"));
            Some((n.parse().ok()?, h.parse().ok()?))
        })
        .collect()
}

fn main() {
    let sizes = std::env::var("KUBESIM_TRAFFIC_SCALE")
        .ok()
        .map(|v| sizes(&v))
        .unwrap_or_else(|| vec![(500, 24), (1_667, 24), (5_000, 24)]);
    let args: Vec<String> = std::env::args().collect();
    if let Some(dir) = args
        .iter()
        .position(|a| a == "--write")
        .and_then(|i| args.get(i + 1))
    {
        std::fs::create_dir_all(dir).expect("cannot create the folder");
        for &(nodes, hours) in &sizes {
            let file = Path::new(dir).join(format!("traffic-scale-{nodes}-{hours}h.yaml"));
            std::fs::write(&file, scenario(nodes, hours)).expect("cannot write the scenario");
            println!("{}", file.display());
        }
        return;
    }
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_kubesim"));
    let work = std::env::temp_dir().join(format!("kubesim-traffic-scale-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("cannot create a work folder");

    println!(
        "{:>7} {:>8} {:>6} {:>9} {:>10} {:>12} {:>10} {:>16}",
        "nodes", "pods", "hours", "wall", "events", "events/s", "peak RSS", "wall growth"
    );
    let mut previous: Option<Measured> = None;
    for &(nodes, hours) in &sizes {
        let m = run_one(&binary, &work, nodes, hours);
        let growth = previous.as_ref().map_or(String::new(), |p| {
            let wall = m.wall_s / p.wall_s;
            let size =
                (m.nodes as f64 * f64::from(m.hours)) / (p.nodes as f64 * f64::from(p.hours));
            format!("×{wall:.1} / ×{size:.1} = {:.2}", wall / size)
        });
        let peak = m
            .peak_bytes
            .map_or("?".into(), |b| format!("{} MiB", b / (1024 * 1024)));
        println!(
            "{:>7} {:>8} {:>6} {:>8.2}s {:>10} {:>12.0} {:>10} {:>16}",
            m.nodes,
            m.nodes * PODS_PER_NODE,
            m.hours,
            m.wall_s,
            m.events,
            m.events as f64 / m.wall_s,
            peak,
            growth
        );
        previous = Some(m);
    }
    let _ = std::fs::remove_dir_all(&work);
}
