//! One `kubesim run` as its own process, timed from outside (so its peak memory is its own):
//! what the end-to-end benches measure.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

pub struct TimedRun {
    pub wall_s: f64,
    /// Events simulated, from the run's `simulated … (N events …)` line.
    pub events: u64,
    /// The process's peak RSS, from the run's closing `peak memory … MiB` line.
    pub peak_bytes: Option<u64>,
}

/// Runs `kubesim run SCENARIO --out OUT`; panics naming `what` if the run fails.
pub fn timed_run(binary: &Path, scenario: &Path, out: &Path, what: &str) -> TimedRun {
    let started = Instant::now();
    let output = Command::new(binary)
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .output()
        .expect("cannot start kubesim");
    let wall_s = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "kubesim run failed for {what}:\n{stderr}"
    );
    let events = stdout
        .lines()
        .chain(stderr.lines())
        .find_map(|l| {
            let rest = l.split_once("simulated")?.1;
            let inside = rest.split_once('(')?.1;
            inside.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or(0);
    let peak_bytes = stderr.lines().find_map(|l| {
        let rest = l.split_once("peak memory ")?.1;
        let mib: f64 = rest.split_whitespace().next()?.parse().ok()?;
        Some((mib * 1024.0 * 1024.0) as u64)
    });
    TimedRun {
        wall_s,
        events,
        peak_bytes,
    }
}
