//! Replays the real openb default trace (1523 nodes, 8152 pods over ~149 days) with GPU
//! sharing, from `../shared/data/openb` next to the repository. Skipped, with a note, when the
//! data is not there.

use std::path::{Path, PathBuf};

use models::gpu::MILLI_PER_GPU;
use models::scheduler::Registry;
use models::trace::{ReplayOptions, ReplayReport, build_replay, load_openb, replay_openb};
use sim_core::{RunLimits, SimDuration, SimTime, StopReason};

const SEED: u64 = 42;
const PODS: usize = 8152;
const NODES: usize = 1523;

fn data() -> Option<(PathBuf, PathBuf)> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/openb"));
    let (nodes, pods) = (
        dir.join("openb_node_list_all_node.csv"),
        dir.join("openb_pod_list_default.csv"),
    );
    if nodes.is_file() && pods.is_file() {
        Some((nodes, pods))
    } else {
        eprintln!(
            "note: {} not found; skipping the openb replay test",
            dir.display()
        );
        None
    }
}

fn check_report(r: &ReplayReport) {
    assert_eq!(r.nodes, NODES);
    assert_eq!(r.pods, PODS);
    assert_eq!(
        r.scheduled + r.never_scheduled,
        PODS,
        "every pod accounted for: {r:#?}"
    );
    assert_eq!(
        r.never_scheduled as u64,
        r.left_unscheduled + r.pending_at_end as u64 + r.not_arrived as u64,
        "{r:#?}"
    );
    assert_eq!(
        (r.pending_at_end, r.not_arrived),
        (0, 0),
        "the replay ran to the trace's end: {r:#?}"
    );
    // The one pod whose deletion equals its creation never gets scheduled.
    assert_eq!(r.zero_length, 1);
    assert!(r.never_scheduled >= 1);
    assert!(r.scheduled > PODS * 9 / 10, "{r:#?}");
    // 1 h samples over ~149 days.
    assert!(r.samples > 3500, "{}", r.samples);
    for a in [
        r.cpu_allocation,
        r.memory_allocation,
        r.gpu_allocation,
        r.gpu_frag_ratio,
        r.gpu_frag_partial_ratio,
    ] {
        assert!((0.0..=1.0).contains(&a.peak) && a.mean <= a.peak, "{a:?}");
    }
}

#[test]
fn default_trace_replays_with_every_pod_accounted_for() {
    let Some((nodes, pods)) = data() else { return };
    let out =
        replay_openb(&nodes, &pods, SEED, &ReplayOptions::default()).expect("the trace loads");
    let r = &out.report;
    println!("{}", serde_json::to_string_pretty(r).unwrap_or_default());
    check_report(r);
    let cluster = out.simulation.world();
    // Every sample: nothing allocated beyond capacity, GPU included.
    for s in &cluster.samples {
        assert!(s.cpu_requested_milli <= s.cpu_allocatable_milli, "{s:?}");
        assert!(
            s.memory_requested_bytes <= s.memory_allocatable_bytes,
            "{s:?}"
        );
        assert!(s.gpu_requested_milli <= s.gpu_allocatable_milli, "{s:?}");
        assert!(
            s.gpu_frag_milli
                <= s.gpu_allocatable_milli as f64 - s.gpu_requested_milli as f64 + 1e-6,
            "{s:?}"
        );
    }
    // Every pod has a recorded deletion time, so at the end every device is idle again.
    assert!(
        cluster
            .store()
            .nodes
            .iter()
            .all(|n| n.gpu_free.iter().all(|&f| f == MILLI_PER_GPU))
    );
    assert!(
        cluster
            .store()
            .nodes
            .iter()
            .all(|n| n.pods.is_empty() && n.requested.cpu_milli == 0)
    );
}

/// Runs the replay hour by hour (chunked runs process the same events as one run) and checks
/// every node between chunks: requests within allocatable, device accounting equal to the
/// devices recorded on the pods bound there.
#[test]
fn replay_is_deterministic_and_never_overcommits_a_node() {
    let Some((nodes, pods)) = data() else { return };
    let options = ReplayOptions::default();
    let first = replay_openb(&nodes, &pods, SEED, &options).expect("the trace loads");

    let trace = load_openb(&nodes, &pods).expect("the trace loads");
    let (mut sim, end) =
        build_replay(trace, SEED, &options, &Registry::default_plugins()).expect("builds");
    let mut next = SimTime::ZERO;
    let mut stop = StopReason::EndTime;
    while next < end {
        next = next.saturating_add(SimDuration::from_hours(1)).min(end);
        stop = sim.run(RunLimits::until(next));
        let store = &sim.world().api.store;
        for n in &store.nodes {
            assert!(
                n.requested.cpu_milli <= n.node.allocatable.cpu_milli,
                "{} at {next}",
                n.node.name
            );
            assert!(
                n.requested.memory <= n.node.allocatable.memory,
                "{} at {next}",
                n.node.name
            );
            let mut used = vec![0u32; n.gpu_free.len()];
            for p in &n.pods {
                let r = store.pod(*p);
                let milli = r.pod.gpu.as_ref().map_or(0, |g| g.milli);
                assert_eq!(
                    r.gpu_devices.len(),
                    r.pod.gpu.as_ref().map_or(0, |g| g.count as usize),
                    "{}",
                    r.pod.name
                );
                for &d in &r.gpu_devices {
                    used[d as usize] += milli;
                }
            }
            for (u, f) in used.iter().zip(&n.gpu_free) {
                assert!(
                    *u <= MILLI_PER_GPU,
                    "{} over-committed at {next}",
                    n.node.name
                );
                assert_eq!(
                    u + f,
                    MILLI_PER_GPU,
                    "{} device accounting at {next}",
                    n.node.name
                );
            }
        }
        if stop == StopReason::QueueEmpty {
            break;
        }
    }
    assert_eq!(
        sim.digest(),
        first.simulation.digest(),
        "same seed, same digest (chunked or not)"
    );
    assert_eq!(sim.events_processed(), first.simulation.events_processed());
    let second = ReplayReport::new(&sim, &stop, &options);
    assert_eq!(second, first.report);
    check_report(&second);
}
