//! Headline figures: what describes the whole run next to the state at the end, GPUs counted
//! in every table, no placeholder values, time to schedule that counts pods still pending, the
//! pods pending at the end; and the headline figures of every scenario in `scenarios/`,
//! checked against `tests/golden/headlines.txt` (re-record with
//! `KUBESIM_BLESS=1 cargo test --test integration -- headline_figures::` after an intended change, and say why
//! in the commit).

use crate::golden;

use std::path::{Path, PathBuf};

use models::run::{RunOptions, RunOutcome, run};
use models::scenario;
use models::scheduler::Registry;
use models::summary::Summary;

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn run_loaded(s: &scenario::Scenario) -> RunOutcome {
    run(
        s,
        &Registry::default_plugins(),
        &RunOptions::default(),
        |_, _| {},
    )
    .unwrap_or_else(|d| panic!("{d}"))
}

fn run_scenario(file: &str) -> RunOutcome {
    let s = scenario::load(&scenarios_dir().join(file)).unwrap_or_else(|d| panic!("{d}"));
    run_loaded(&s)
}

/// A small openb trace: a CPU node and a node with two GPUs; a share of 500 milli-GPU that
/// leaves after 100 s, a share of 300 and a whole GPU that stay, and a pod no node can hold.
fn small_trace() -> RunOutcome {
    let dir = std::env::temp_dir().join(format!("kubesim-headlines-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("nodes.csv"),
        "sn,cpu_milli,memory_mib,gpu,model\n\
         openb-node-0000,32000,262144,0,\n\
         openb-node-0001,32000,262144,2,V100M16\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("pods.csv"),
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n\
         openb-pod-0000,1000,1024,1,500,,LS,Running,0,100,0\n\
         openb-pod-0001,1000,1024,1,300,,LS,Running,10,100000,10\n\
         openb-pod-0002,1000,1024,1,1000,,LS,Running,20,100000,20\n\
         openb-pod-0003,999000,1024,0,0,,LS,Running,30,100000,30\n",
    )
    .unwrap();
    let text = "name: small-trace\nseed: 3\nduration: 10m\ncluster:\n  nodePools: []\n\
                workloads:\n  - trace:\n      format: openb\n      nodes: nodes.csv\n      pods: pods.csv\n";
    let s = scenario::load_str("small-trace.yaml", text, &dir).unwrap_or_else(|d| panic!("{d}"));
    let o = run_loaded(&s);
    let _ = std::fs::remove_dir_all(&dir);
    o
}

#[test]
fn the_headline_counts_the_whole_run_next_to_the_end_state() {
    // Before: only the end state ("0 scheduled, … deleted"), though pods had been scheduled.
    let o = small_trace();
    let s = &o.summary;
    assert_eq!(
        (
            s.run.pods_created,
            s.run.pods_ever_scheduled,
            s.run.pods_never_scheduled,
            s.run.pods_pending_at_end
        ),
        (4, 3, 1, 1)
    );
    assert_eq!((s.pods.scheduled, s.pods.deleted), (2, 1));
    let table = reports::summary_table(s);
    assert!(
        table.contains(
            "whole run  4 pods created: 3 ever scheduled, 1 never scheduled, 1 still pending at the end"
        ),
        "{table}"
    );
    assert!(table.contains("pods       at the end: 4 total"), "{table}");
    let cpu = s
        .run
        .utilization
        .iter()
        .find(|u| u.resource == "cpu")
        .unwrap();
    // Three pods of 1 CPU on 64 CPUs at the peak.
    assert!((cpu.peak - 3.0 / 64.0).abs() < 1e-9, "{cpu:?}");
    assert!(cpu.mean > 0.0 && cpu.mean < cpu.peak, "{cpu:?}");
    assert!(s.run.node_hours > 0.0);
}

#[test]
fn gpu_shares_count_in_the_pool_table() {
    // Before: `nvidia.com/gpu 0 / 2 0.0%` while GPUShare held 1.3 of the 2 GPUs.
    let o = small_trace();
    let s = &o.summary;
    let gpus = s
        .pools
        .iter()
        .flat_map(|p| &p.resources)
        .find(|r| r.resource == "nvidia.com/gpu")
        .expect("a GPU row");
    assert_eq!(
        (gpus.requested, gpus.allocatable, gpus.requested_milli),
        (2, 2, Some(1300))
    );
    assert!((gpus.utilization - 0.65).abs() < 1e-9, "{gpus:?}");
    let gpu_run = s
        .run
        .utilization
        .iter()
        .find(|u| u.resource == "nvidia.com/gpu")
        .expect("GPU utilisation over the run");
    // 500 + 300 + 1000 milli-GPUs of 2000 while the first share was there.
    assert!((gpu_run.peak - 0.9).abs() < 1e-9, "{gpu_run:?}");
    let table = reports::summary_table(s);
    let line = table
        .lines()
        .find(|l| l.contains("nvidia.com/gpu") && !l.contains("peak"))
        .expect("GPU line of the pool table");
    assert!(line.contains(" 1.3 ") && line.ends_with("65.0%"), "{line}");
    let html = reports::html::run_report(s, &[], 0, &[], &[]);
    assert!(
        html.contains("<td class=\"num\">1.3</td>"),
        "GPU row in the report"
    );
}

#[test]
fn no_placeholder_pod_limit_in_any_table() {
    // Before: trace nodes showed a pods allocatable of 1000000 per node (1523000000 on openb).
    let o = small_trace();
    let s = &o.summary;
    assert!(
        s.pools
            .iter()
            .flat_map(|p| &p.resources)
            .all(|r| r.resource != "pods"),
        "{:?}",
        s.pools
    );
    let json = serde_json::to_string(s).unwrap();
    assert!(!json.contains("\"allocatable\":2000000"), "{json}");
    let html = reports::html::run_report(s, &[], 0, &[], &[]);
    assert!(!html.contains(">2000000<"));
}

#[test]
fn pods_still_pending_count_in_time_to_schedule_as_censored() {
    // Before: the pending pod was left out (max 0.050s of the pods scheduled at once).
    let o = small_trace();
    let q = &o.summary.pending_seconds;
    assert_eq!((q.count, q.censored), (4, 1));
    // Waiting since 30 s until the end at 10m.
    assert_eq!(q.max, 570.0);
    // Nearest rank: p90 and p99 of four values are the fourth, lower bounds too.
    assert_eq!(q.at_least, vec!["p90", "p99", "max"]);
    let table = reports::summary_table(&o.summary);
    assert!(
        table.contains("max ≥ 9m30s (1 of 4 pods still pending at the end"),
        "{table}"
    );
    let html = reports::html::run_report(&o.summary, &[], 0, &[], &[]);
    assert!(html.contains("≥ 9m30s"));
}

#[test]
fn pending_pods_are_listed_with_their_last_failed_scheduling_reason() {
    let o = run_scenario("does-not-fit.yaml");
    let pending = &o.summary.pending_at_end;
    assert_eq!(pending.count, 3);
    assert_eq!(pending.pods.len(), 3);
    for p in &pending.pods {
        let reason = p.last_failed_scheduling.as_deref().unwrap_or_default();
        assert!(reason.starts_with("0/4 nodes are available: "), "{p:?}");
        assert_eq!(
            p.explain,
            format!(
                "kubesim explain {} --pod default/{} --seed 11",
                scenarios_dir().join("does-not-fit.yaml").display(),
                p.name
            )
        );
    }
    // Events streamed to disk instead: the same reasons from the Events read back.
    let mut from_file = pending.clone();
    for p in &mut from_file.pods {
        p.last_failed_scheduling = None;
    }
    from_file.fill_last_failed_scheduling(o.simulation.world().api.events.iter());
    assert_eq!(&from_file, pending);
    let html = reports::html::run_report(&o.summary, &[], 0, &[], &[]);
    assert!(html.contains("<table id=\"pending-pods\">"));
    assert!(html.contains(&pending.pods[0].name));
}

#[test]
fn the_terminal_lists_ten_pending_pods_and_says_how_many_more() {
    let o = run_scenario("does-not-fit.yaml");
    let mut s: Summary = o.summary.clone();
    let first = s.pending_at_end.pods[0].clone();
    s.pending_at_end.pods = (0..15)
        .map(|i| {
            let mut p = first.clone();
            p.name = format!("pod-{i:02}");
            p.explain = format!(
                "kubesim explain <scenario> --pod default/{} --seed 11",
                p.name
            );
            p
        })
        .collect();
    s.pending_at_end.count = 1500;
    let table = reports::summary_table(&s);
    assert!(table.contains("PENDING AT THE END (1500)"), "{table}");
    assert!(table.contains("default/pod-09") && !table.contains("default/pod-10"));
    assert!(
        table.contains("  and 1490 more (summary.json lists 15)"),
        "{table}"
    );
    assert!(table.contains("kubesim explain <scenario> --pod default/pod-00 --seed 11"));
}

/// The headline line of one run: no digest (golden digests are checked by `tests/scenarios.rs`).
fn headline(s: &Summary) -> String {
    let r = &s.run;
    let q = &s.pending_seconds;
    let util: Vec<String> = r
        .utilization
        .iter()
        .map(|u| format!("{}={:.4}/{:.4}", u.resource, u.peak, u.mean))
        .collect();
    format!(
        "seed={} created={} everScheduled={} neverScheduled={} pendingAtEnd={} end:scheduled={},running={},pending={},deleted={} util:{} nodeHours={:.3} tts:p50={:.3},p99={:.3},max={:.3},censored={}",
        s.seed,
        r.pods_created,
        r.pods_ever_scheduled,
        r.pods_never_scheduled,
        r.pods_pending_at_end,
        s.pods.scheduled,
        s.pods.running,
        s.pods.pending,
        s.pods.deleted,
        util.join(","),
        r.node_hours,
        q.p50,
        q.p99,
        q.max,
        q.censored
    )
}

#[test]
fn every_scenario_matches_its_recorded_headline() {
    golden::check_every_scenario("headlines.txt", "headline_figures", |f| {
        headline(&run_scenario(f).summary)
    });
}
