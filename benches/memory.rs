//! Peak memory of loading and of long runs, each measured in its own `kubesim` process.
//!
//! - **Loading**: `kubesim check` on a manifest folder of 200,000 small Pods (one YAML
//!   document each, about 22 MB): bytes in, peak resident set, amplification.
//! - **Pending**: 500 pods that fit on no node, run for 1, 7 and 30 simulated days; the
//!   scheduler retries each of them for the whole run.
//! - **Churn**: a CronJob every minute whose Job runs two pods for 20 s; the CronJob keeps
//!   three finished Jobs, the garbage collector deletes the older Jobs' pods, so about 86,000
//!   pods are created and deleted over 30 days while the live state stays the same.
//!
//! ```text
//! cargo bench --bench memory                       # every case, one process at a time
//! KUBESIM_MEMORY_CASES=loading cargo bench --bench memory
//! KUBESIM_MEMORY_WRITE=some/folder cargo bench --bench memory   # only write the inputs
//! ```
//!
//! With `KUBESIM_MEMORY_WRITE` the inputs are written and nothing is run, so they can be
//! measured by hand, e.g. `/usr/bin/time -v kubesim check some/folder/loading.yaml`.
//! Peak memory is the process's `VmHWM`: `kubesim run` prints it; for `check` the bench reads
//! it from `/usr/bin/time -v` where that exists.

// The bench times whole processes from outside; no simulation reads the clock.
#![allow(clippy::disallowed_types)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Pods of the loading case.
const LOADING_PODS: usize = 200_000;
/// Pods that stay pending in the pending case.
const PENDING_PODS: usize = 500;
/// Simulated durations of the long runs.
const DAYS: [u32; 3] = [1, 7, 30];

/// One small Pod per document, as `kubectl get pods -o yaml` splits would give them.
fn loading_manifest(pods: usize) -> String {
    let mut s = String::with_capacity(pods * 120);
    for i in 0..pods {
        write!(
            s,
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p-{i}, labels: {{app: a}}}}\n\
             spec: {{containers: [{{name: c, image: app:v1}}]}}\n"
        )
        .expect("writing to a String cannot fail");
    }
    s
}

fn loading_scenario() -> &'static str {
    "name: memory-loading\nseed: 1\nduration: 1m\n\
     cluster:\n  nodePools:\n    - {name: general, count: 10, resources: {cpu: \"32\", memory: 128Gi}}\n\
     workloads:\n  - file: loading-pods\n"
}

fn pending_scenario() -> String {
    format!(
        "name: memory-pending\nseed: 1\nduration: 30d\n\
         cluster:\n  nodePools:\n    - {{name: general, count: 10, resources: {{cpu: \"8\", memory: 32Gi}}}}\n\
         workloads:\n  - inline:\n      apiVersion: apps/v1\n      kind: Deployment\n      \
         metadata: {{name: too-big}}\n      spec:\n        replicas: {PENDING_PODS}\n        \
         selector: {{matchLabels: {{app: too-big}}}}\n        template:\n          \
         metadata: {{labels: {{app: too-big}}}}\n          spec:\n            containers:\n              \
         - {{name: c, image: big:v1, resources: {{requests: {{cpu: \"64\", memory: 1Gi}}}}}}\n"
    )
}

fn churn_scenario() -> &'static str {
    "name: memory-churn\nseed: 1\nduration: 30d\nstartTime: 2025-11-27T00:00:00Z\n\
     cluster:\n  nodePools:\n    - {name: general, count: 4, resources: {cpu: \"8\", memory: 32Gi}}\n\
     workloads:\n  - inline:\n      apiVersion: batch/v1\n      kind: CronJob\n      \
     metadata: {name: every-minute}\n      spec:\n        schedule: \"* * * * *\"\n        \
     jobTemplate:\n          spec:\n            parallelism: 2\n            completions: 2\n            \
     template:\n              spec:\n                restartPolicy: Never\n                \
     containers:\n                  - {name: c, image: tick:v1, resources: {requests: {cpu: 100m, memory: 64Mi}}}\n\
     behaviour:\n  every-minute: {runFor: 20s}\n"
}

/// Writes every input under `dir`; returns the loading manifest's size in bytes.
fn write_inputs(dir: &Path) -> u64 {
    let pods = dir.join("loading-pods");
    std::fs::create_dir_all(&pods).expect("cannot create the manifest folder");
    let manifest = loading_manifest(LOADING_PODS);
    std::fs::write(pods.join("pods.yaml"), &manifest).expect("cannot write the manifest");
    std::fs::write(dir.join("loading.yaml"), loading_scenario()).expect("cannot write");
    std::fs::write(dir.join("pending.yaml"), pending_scenario()).expect("cannot write");
    std::fs::write(dir.join("churn.yaml"), churn_scenario()).expect("cannot write");
    manifest.len() as u64
}

/// Peak resident set from `/usr/bin/time -v`'s "Maximum resident set size (kbytes)".
fn time_v_peak(stderr: &str) -> Option<u64> {
    stderr.lines().find_map(|l| {
        let kib: u64 = l
            .trim()
            .strip_prefix("Maximum resident set size (kbytes):")?
            .trim()
            .parse()
            .ok()?;
        Some(kib * 1024)
    })
}

/// Peak resident set from the closing line of `kubesim run` ("peak memory 683.2 MiB").
fn run_peak(stderr: &str) -> Option<u64> {
    stderr.lines().find_map(|l| {
        let rest = l.split_once("peak memory ")?.1;
        let mib: f64 = rest.split_whitespace().next()?.parse().ok()?;
        Some((mib * 1024.0 * 1024.0) as u64)
    })
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(
        || "?".to_string(),
        |b| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    )
}

fn loading(binary: &Path, dir: &Path, bytes_in: u64) {
    let time = Path::new("/usr/bin/time");
    let started = Instant::now();
    let output = if time.exists() {
        Command::new(time)
            .arg("-v")
            .arg(binary)
            .arg("check")
            .arg(dir.join("loading.yaml"))
            .output()
    } else {
        Command::new(binary)
            .arg("check")
            .arg(dir.join("loading.yaml"))
            .output()
    }
    .expect("cannot start kubesim");
    let wall = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "kubesim check failed:\n{stderr}");
    let peak = time_v_peak(&stderr);
    let amplification = peak.map_or_else(
        || "?".to_string(),
        |p| format!("{:.1}×", p as f64 / bytes_in as f64),
    );
    println!(
        "loading: {LOADING_PODS} pods, {:.1} MB in, peak {}, amplification {amplification}, {wall:.2} s",
        bytes_in as f64 / 1e6,
        mib(peak)
    );
}

fn long_run(binary: &Path, dir: &Path, case: &str) {
    for days in DAYS {
        let out = dir.join(format!("out-{case}-{days}d"));
        let started = Instant::now();
        let output = Command::new(binary)
            .arg("run")
            .arg(dir.join(format!("{case}.yaml")))
            .arg("--until")
            .arg(format!("{days}d"))
            .arg("--out")
            .arg(&out)
            .output()
            .expect("cannot start kubesim");
        let wall = started.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "kubesim run failed:\n{stderr}");
        println!(
            "{case}: {days:>2} days, peak {}, {wall:.2} s",
            mib(run_peak(&stderr))
        );
        let _ = std::fs::remove_dir_all(&out);
    }
}

fn main() {
    if let Some(dir) = std::env::var_os("KUBESIM_MEMORY_WRITE") {
        let dir = PathBuf::from(dir);
        let bytes = write_inputs(&dir);
        println!(
            "wrote the inputs to {} ({bytes} bytes of Pods)",
            dir.display()
        );
        return;
    }
    let cases: Vec<String> = std::env::var("KUBESIM_MEMORY_CASES")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_else(|| vec!["loading".into(), "pending".into(), "churn".into()]);
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_kubesim"));
    let work = std::env::temp_dir().join(format!("kubesim-memory-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("cannot create a work folder");
    let bytes_in = write_inputs(&work);
    for case in &cases {
        match case.as_str() {
            "loading" => loading(&binary, &work, bytes_in),
            "pending" | "churn" => long_run(&binary, &work, case),
            other => eprintln!("unknown case {other}: expected loading, pending or churn"),
        }
    }
    let _ = std::fs::remove_dir_all(&work);
}
