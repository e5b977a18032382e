//! End-to-end scale: the whole `kubesim run` (load, simulate, write every output) on clusters
//! of 1,000, 5,000 and 15,000 nodes holding 30 pods per node, so that growth between sizes is
//! measured where users meet it — not in a micro-bench that one ReplicaSet can fool.
//!
//! Each size is `nodes` nodes over 3 zones and `nodes × 30 / 100` Deployments of 100 replicas
//! (default scheduler profile, so PodTopologySpread's default constraints apply to every
//! pod), simulated for 1 hour. The scheduler's cycles cost their calibrated time, but its API
//! client is not rate-limited (`clientConnection.qps: -1`): at the default 50 binds/s the
//! 15,000-node cluster could not even be filled within the hour, and sizes would not do the
//! same work. Each run is a separate `kubesim` process, so its peak memory is
//! its own (the CLI reports its peak resident set on Linux).
//!
//! ```text
//! cargo bench --bench scale                       # 1k, 5k and 15k nodes
//! KUBESIM_SCALE_NODES=1000,5000 cargo bench --bench scale
//! ```
//!
//! Prints one row per size — wall time, events, events/s, peak RSS, bytes per pod — and the
//! growth factor of wall time against the growth of the pod count.

// The bench times whole processes from outside; no simulation reads the clock.
#![allow(clippy::disallowed_types)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[path = "common/timed_run.rs"]
mod timed_run;
use timed_run::timed_run;

const PODS_PER_NODE: usize = 30;
const REPLICAS: usize = 100;

/// The scenario of one size, as a user would write it.
fn scenario(nodes: usize) -> String {
    let deployments = nodes * PODS_PER_NODE / REPLICAS;
    let mut s = format!(
        "name: scale-{nodes}\n\
         seed: 7\n\
         duration: 1h\n\
         scheduler:\n  config: {{apiVersion: kubescheduler.config.k8s.io/v1, \
         kind: KubeSchedulerConfiguration, clientConnection: {{qps: -1}}}}\n\
         cluster:\n  nodePools:\n    - {{name: general, count: {nodes}, \
         resources: {{cpu: \"32\", memory: 128Gi, pods: 110}}, zones: [zone-a, zone-b, zone-c]}}\n\
         workloads:\n"
    );
    for i in 0..deployments {
        write!(
            s,
            "  - inline:\n      apiVersion: apps/v1\n      kind: Deployment\n      \
             metadata: {{name: d-{i}}}\n      spec:\n        replicas: {REPLICAS}\n        \
             selector: {{matchLabels: {{app: a-{i}}}}}\n        template:\n          \
             metadata: {{labels: {{app: a-{i}}}}}\n          spec:\n            containers:\n              \
             - {{name: c, image: app:v1, resources: {{requests: {{cpu: 100m, memory: 128Mi}}}}}}\n"
        )
        .expect("writing to a String cannot fail");
    }
    s
}

struct Measured {
    nodes: usize,
    pods: usize,
    wall_s: f64,
    events: u64,
    peak_bytes: Option<u64>,
}

fn run_one(binary: &Path, work: &Path, nodes: usize) -> Measured {
    let file = work.join(format!("scale-{nodes}.yaml"));
    std::fs::write(&file, scenario(nodes)).expect("cannot write the scenario");
    let out = work.join(format!("out-{nodes}"));
    let run = timed_run(binary, &file, &out, &format!("{nodes} nodes"));
    Measured {
        nodes,
        pods: nodes * PODS_PER_NODE,
        wall_s: run.wall_s,
        events: run.events,
        peak_bytes: run.peak_bytes,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument selects nothing here.
    let sizes: Vec<usize> = std::env::var("KUBESIM_SCALE_NODES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 5_000, 15_000]);
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_kubesim"));
    let work = std::env::temp_dir().join(format!("kubesim-scale-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("cannot create a work folder");

    println!(
        "{:>7} {:>8} {:>9} {:>9} {:>12} {:>10} {:>9} {:>14}",
        "nodes", "pods", "wall", "events", "events/s", "peak RSS", "per pod", "wall growth"
    );
    let mut previous: Option<Measured> = None;
    for &nodes in &sizes {
        let m = run_one(&binary, &work, nodes);
        let growth = previous.as_ref().map_or(String::new(), |p| {
            let wall = m.wall_s / p.wall_s;
            let pods = m.pods as f64 / p.pods as f64;
            format!("×{wall:.1} / ×{pods:.0} = {:.2}", wall / pods)
        });
        let (peak, per_pod) = match m.peak_bytes {
            Some(b) => (
                format!("{} MiB", b / (1024 * 1024)),
                format!("{} B", b / m.pods as u64),
            ),
            None => ("?".into(), "?".into()),
        };
        println!(
            "{:>7} {:>8} {:>8.2}s {:>9} {:>12.0} {:>10} {:>9} {:>14}",
            m.nodes,
            m.pods,
            m.wall_s,
            m.events,
            m.events as f64 / m.wall_s,
            peak,
            per_pod,
            growth
        );
        previous = Some(m);
    }
    let _ = std::fs::remove_dir_all(&work);
}
