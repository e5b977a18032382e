//! The failure scenarios of `scenarios/` teach a timeline in their header comments; these
//! tests hold the runs to it, from the event log and the records, with the invariant
//! checkers on.

use std::path::Path;

use models::api::{PodPhase, TaintEffect};
use models::cluster::Cluster;
use models::events::EventRecord;
use models::run::{RunOptions, RunOutcome, run};
use models::scenario;
use models::scheduler::Registry;
use sim_core::{SimDuration, SimTime};

fn run_scenario(file: &str) -> RunOutcome {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(file);
    let s = scenario::load(&path).unwrap_or_else(|d| panic!("{d}"));
    let options = RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    };
    let o = run(&s, &Registry::default_plugins(), &options, |_, _| {})
        .unwrap_or_else(|d| panic!("{d}"));
    let checkers = o.simulation.world().checkers.as_ref().expect("checkers on");
    assert!(
        checkers.violations.is_empty(),
        "{file}: {:#?}",
        &checkers.violations[..checkers.violations.len().min(5)]
    );
    o
}

fn at(s: u64) -> SimTime {
    SimTime::ZERO.saturating_add(SimDuration::from_secs(s))
}

fn secs(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}

/// A watch delivery and a controller's sync come after the moment they react to.
const WATCH_SLACK: SimDuration = SimDuration::from_secs(1);

fn events<'a>(c: &'a Cluster, reason: &str) -> Vec<&'a EventRecord> {
    c.api.events.iter().filter(|e| e.reason == reason).collect()
}

fn event_times(c: &Cluster, reason: &str, object: &str) -> Vec<SimTime> {
    events(c, reason)
        .into_iter()
        .filter(|e| e.object == object)
        .map(EventRecord::time)
        .collect()
}

/// Names of the pods (ever) bound to `node` whose name starts with `prefix`.
fn pods_bound_to(c: &Cluster, node: &str, prefix: &str) -> Vec<String> {
    let id = c.api.store.node_id(node).expect("node exists");
    c.api
        .store
        .pods
        .iter()
        .filter(|r| r.node == Some(id) && r.pod.name.starts_with(prefix))
        .map(|r| r.pod.name.clone())
        .collect()
}

/// The live pods named `prefix…` that run, with the name of their node.
fn running(c: &Cluster, prefix: &str) -> Vec<(String, String)> {
    c.api
        .store
        .active_pods()
        .filter(|r| {
            r.pod.name.starts_with(prefix)
                && r.deletion_timestamp.is_none()
                && r.phase == PodPhase::Running
                && r.ready
        })
        .filter_map(|r| {
            r.node
                .map(|n| (r.pod.name.clone(), c.api.store.node(n).name().to_string()))
        })
        .collect()
}

fn eviction_time(c: &Cluster, pod: &str) -> SimTime {
    let marked: Vec<SimTime> = events(c, "TaintManagerEviction")
        .into_iter()
        .filter(|e| e.message == format!("Marking for deletion Pod default/{pod}"))
        .map(EventRecord::time)
        .collect();
    assert_eq!(marked.len(), 1, "{pod}: {marked:?}");
    marked[0]
}

#[test]
fn node_dies_follows_the_50s_plus_300s_timeline() {
    let o = run_scenario("node-dies.yaml");
    let c = o.simulation.world();
    let crash = at(120);
    assert_eq!(
        event_times(c, "FaultInjected", "node/worker-0"),
        vec![crash]
    );
    // The last renewal was at the crash; the 5s poll after the 50s grace period sees it.
    assert_eq!(
        event_times(c, "NodeNotReady", "node/worker-0"),
        vec![crash + secs(55)]
    );
    let dead = c.api.store.node_id("worker-0").expect("worker-0");
    let taints = &c.api.store.node(dead).node.taints;
    for effect in [TaintEffect::NoSchedule, TaintEffect::NoExecute] {
        assert!(
            taints
                .iter()
                .any(|t| t.key == "node.kubernetes.io/unreachable" && t.effect == effect),
            "{effect:?}: {taints:?}"
        );
    }
    // The NoExecute taint goes on at the poll after NodeNotReady (+60s); each pod goes when
    // its toleration of it runs out.
    let tainted = crash + secs(60);
    let mut moved = 0;
    for prefix in ["web-", "strict-", "patient-"] {
        for pod in pods_bound_to(c, "worker-0", prefix) {
            assert_eq!(
                event_times(c, "NodeNotReady", &format!("pod/{pod}")),
                vec![crash + secs(55)],
                "{pod} marked not Ready with its node"
            );
            let toleration = if prefix == "patient-" { 600 } else { 300 };
            let evicted = eviction_time(c, &pod);
            let due = tainted + secs(toleration);
            assert!(
                evicted >= due && evicted <= due + WATCH_SLACK,
                "{pod} evicted at {evicted}, due {due}"
            );
            moved += 1;
        }
    }
    assert_eq!(
        moved, 4,
        "two web pods, one strict and patient were on worker-0"
    );
    // Replacements run elsewhere: 8 web pods and patient.
    let web = running(c, "web-");
    assert_eq!(web.len(), 8, "{web:?}");
    assert!(web.iter().all(|(_, n)| n != "worker-0"), "{web:?}");
    let patient = running(c, "patient-");
    assert_eq!(patient.len(), 1);
    assert_ne!(patient[0].1, "worker-0");
    // strict's DoNotSchedule spread still counts worker-0's domain (nodeTaintsPolicy Ignore):
    // its replacement stays Pending.
    assert_eq!(running(c, "strict-").len(), 3);
    assert_eq!(o.summary.pods.pending, 1);
    let failed = events(c, "FailedScheduling");
    assert!(
        !failed.is_empty()
            && failed.iter().all(|e| e.object.starts_with("pod/strict-")
                && e.message
                    .contains("3 node(s) didn't match pod topology spread constraints")),
        "{failed:#?}"
    );
}

#[test]
fn zone_outage_in_a_rollout_converges_after_the_zone_returns() {
    let o = run_scenario("zone-outage-rollout.yaml");
    let c = o.simulation.world();
    let outage = at(150);
    let back = outage + secs(480);
    for node in ["worker-2", "worker-5"] {
        let object = format!("node/{node}");
        assert_eq!(event_times(c, "FaultInjected", &object), vec![outage]);
        assert_eq!(
            event_times(c, "NodeNotReady", &object),
            vec![outage + secs(55)]
        );
        assert_eq!(event_times(c, "NodeReady", &object), vec![back]);
        let id = c.api.store.node_id(node).expect("node");
        assert!(c.api.store.node(id).node.taints.is_empty());
    }
    // Both zone-c nodes went unreachable at the same poll; the healthy-zone rate (0.1 node/s)
    // taints them 10s apart, so their pods go 300s after 3m30s and 3m40s.
    let mut evicted: Vec<SimTime> = events(c, "TaintManagerEviction")
        .into_iter()
        .map(EventRecord::time)
        .collect();
    evicted.dedup();
    assert_eq!(evicted.len(), 2, "{evicted:?}");
    let first = outage + secs(60 + 300);
    assert!(evicted[0] >= first && evicted[0] <= first + WATCH_SLACK);
    assert!(evicted[1] >= first + secs(10) && evicted[1] <= first + secs(10) + WATCH_SLACK);
    // New pods were bound to zone-c in the blind spot before NodeNotReady.
    let blind: Vec<_> = c
        .api
        .store
        .pods
        .iter()
        .filter(|r| {
            r.scheduled_at
                .is_some_and(|t| t > outage && t < outage + secs(55))
                && r.node
                    .is_some_and(|n| ["worker-2", "worker-5"].contains(&c.api.store.node(n).name()))
        })
        .collect();
    assert!(
        !blind.is_empty(),
        "no pod bound to a dead node before it was noticed"
    );
    // The rollout finished on v2 and the expectation was met within its bound.
    let d = c.api.deployment_id("default", "web").expect("web");
    assert_eq!(c.api.deployment(d).status.available_replicas, 12);
    assert_eq!(c.api.deployment(d).status.updated_replicas, 12);
    let e = &c.control_plane.expectations;
    assert_eq!(e.len(), 1);
    let met = e[0].met_at.expect("converged");
    assert!(met >= back && met <= back + secs(300), "{met}");
}

#[test]
fn crashloop_rollout_exceeds_its_deadline_and_is_rolled_back() {
    let o = run_scenario("crashloop-rollback.yaml");
    let c = o.simulation.world();
    let back_offs = events(c, "BackOff");
    assert!(!back_offs.is_empty());
    let broken: Vec<&str> = back_offs.iter().map(|e| e.object.as_str()).collect();
    // Only the v2 pods crash: the three the rollout created (2 surge + 1 for the one deleted).
    let mut pods = broken.clone();
    pods.sort_unstable();
    pods.dedup();
    assert_eq!(pods.len(), 3, "{pods:?}");
    // One pod's BackOff events, one per exit after the first: it exits 10s after each start
    // and is restarted at once, then after 10s, 20s, 40s, 80s (upstream's back-off doubles
    // from 10s), so its exits are 10s + the back-off apart.
    let first = pods[0];
    let times = event_times(c, "BackOff", first);
    let gaps: Vec<u64> = times
        .windows(2)
        .map(|w| w[1].since(w[0]).as_nanos() / 1_000_000_000)
        .collect();
    assert_eq!(gaps, vec![20, 30, 50, 90], "{first}: {times:?}");
    // Last progress: the new ReplicaSet's scale-up just after 1m; 120s later, plus the
    // second upstream adds to the requeue.
    let exceeded = events(c, "ProgressDeadlineExceeded");
    assert_eq!(exceeded.len(), 1);
    let t = exceeded[0].time();
    assert!(t >= at(181) && t <= at(182), "{t}");
    assert_eq!(
        event_times(c, "DeploymentRollback", "deployment/checkout"),
        vec![at(300)]
    );
    let d = c
        .api
        .deployment_id("default", "checkout")
        .expect("checkout");
    let status = &c.api.deployment(d).status;
    assert_eq!((status.available_replicas, status.updated_replicas), (6, 6));
    let pods = running(c, "checkout-");
    assert_eq!(pods.len(), 6);
    assert!(
        pods.iter()
            .all(|(p, _)| !broken.contains(&format!("pod/{p}").as_str())),
        "{pods:?}"
    );
}

#[test]
fn oom_and_pressure_kills_the_leak_and_evicts_best_effort_first() {
    let o = run_scenario("oom-and-pressure.yaml");
    let c = o.simulation.world();
    let store = &c.api.store;
    // 1. The leak: 200Mi + 2Mi/s reaches the 512Mi limit 156 s after each start.
    let leaky = store
        .active_pods()
        .find(|r| r.pod.name.starts_with("leaky-"))
        .expect("leaky pod");
    assert_eq!(store.node(leaky.node.expect("bound")).name(), "general-1");
    let ooms = event_times(c, "OOMKilling", &format!("pod/{}", leaky.pod.name));
    assert!(ooms.len() >= 4, "{ooms:?}");
    let first_start = events(c, "Started")
        .into_iter()
        .find(|e| e.object == format!("pod/{}", leaky.pod.name))
        .expect("started")
        .time();
    let first = ooms[0].since(first_start);
    assert!(
        first >= secs(155) && first <= secs(157),
        "first OOM {first} after the start"
    );
    // Restarted at once, then after 10 s, 20 s of back-off: each gap is 156 s plus the delay.
    let gaps: Vec<u64> = ooms
        .windows(2)
        .map(|w| w[1].since(w[0]).as_secs())
        .collect();
    assert_eq!(&gaps[..3], &[156, 166, 176], "{gaps:?}");
    assert_eq!(leaky.last_termination_reason, Some("OOMKilled"));
    assert!(leaky.restarts >= 4);

    // 2. Node pressure on general-0: one BestEffort scratch pod is evicted, never the
    // Guaranteed cache that stays within its request.
    let evicted = events(c, "Evicted");
    assert_eq!(evicted.len(), 1, "{evicted:#?}");
    assert!(evicted[0].object.starts_with("pod/scratch-"));
    assert!(
        evicted[0]
            .message
            .starts_with("The node was low on resource: memory. Threshold quantity: 100Mi"),
        "{}",
        evicted[0].message
    );
    let threshold = event_times(c, "EvictionThresholdMet", "node/general-0");
    assert_eq!(threshold.first(), Some(&evicted[0].time()));
    assert_eq!(
        event_times(c, "NodeHasInsufficientMemory", "node/general-0").len(),
        1
    );
    let cache = store
        .active_pods()
        .find(|r| r.pod.name.starts_with("cache-"))
        .expect("cache pod");
    assert_eq!(cache.restarts, 0);
    assert!(cache.deletion_timestamp.is_none());
    // The evicted pod ended Failed/Evicted; its replacement runs, on general-1 (the
    // memory-pressure taint keeps it off general-0).
    let name = evicted[0].object.trim_start_matches("pod/");
    let gone = store
        .pods
        .iter()
        .find(|r| r.pod.name == name)
        .expect("evicted pod");
    assert_eq!(gone.phase, PodPhase::Failed);
    let scratch = running(c, "scratch-");
    assert_eq!(scratch.len(), 3, "{scratch:?}");
    assert_eq!(
        scratch.iter().filter(|(_, n)| n == "general-1").count(),
        1,
        "{scratch:?}"
    );
}

#[test]
fn scheduler_leader_killed_pauses_scheduling_until_a_standby_leads() {
    let o = run_scenario("scheduler-leader-killed.yaml");
    let c = o.simulation.world();
    let kill = at(65);
    let elected: Vec<&EventRecord> = events(c, "LeaderElection")
        .into_iter()
        .filter(|e| e.object == "lease/kube-scheduler")
        .collect();
    assert_eq!(elected.len(), 1, "{elected:#?}");
    assert!(elected[0].message.ends_with(" became leader"));
    assert!(
        !elected[0].message.starts_with("control-plane-0_"),
        "a standby"
    );
    let t = elected[0].time();
    // The standby last observed a renewal within one jittered retry (≤ 4.4s) before the
    // kill; it acquires at its first retry after that observation + 15s.
    assert!(t > kill + secs(10) && t <= kill + secs(20), "{t}");
    let scheduled = events(c, "Scheduled");
    assert!(
        scheduled.iter().all(|e| e.time() <= kill || e.time() >= t),
        "a pod was scheduled with no leader"
    );
    let after = scheduled.iter().filter(|e| e.time() >= t).count();
    assert_eq!(after, 28, "the pods of the 1m10s and 1m15s steps");
    assert_eq!(c.control_plane.scheduler.lease.leader_transitions, 1);
    let e = &c.control_plane.expectations;
    assert_eq!(e.len(), 1);
    let met = e[0].met_at.expect("converged");
    assert!(met > t && met <= t + secs(10), "{met}");
    assert_eq!(running(c, "web-").len(), 40);
}

#[test]
fn stochastic_month_reports_its_node_availability() {
    let o = run_scenario("stochastic-month.yaml");
    let f = o.summary.faults.as_ref().expect("a faults line");
    // Per node MTBF 30d, MTTR 2h: about 30 crashes and 90 reboots in the month.
    let crashes = f.started.get("crashNodes").copied().unwrap_or(0);
    let reboots = f.started.get("rebootNodes").copied().unwrap_or(0);
    assert!((15..=50).contains(&crashes), "{crashes} crashes");
    assert!((60..=130).contains(&reboots), "{reboots} reboots");
    assert!(
        f.node_availability > 0.99 && f.node_availability < 1.0,
        "{}",
        f.node_availability
    );
    // The Deployments lose replicas with each crash (until the replacements are Ready) and
    // with each reboot: short of replicas for a few hours in the month, not more.
    assert!(
        f.deployment_availability > 0.95 && f.deployment_availability < 1.0,
        "{}",
        f.deployment_availability
    );
    assert!(
        f.deployment_degraded_hours > 0.1,
        "{}",
        f.deployment_degraded_hours
    );
    // Nothing is polled while all is well: the month stays cheap.
    assert!(
        o.summary.events_processed < 200_000,
        "{} events",
        o.summary.events_processed
    );
    let c = o.simulation.world();
    assert_eq!(running(c, "web-").len(), 60);
    // Reboots (3m) end before the 300s tolerations: those evictions are cancelled.
    assert!(
        events(c, "TaintManagerEviction")
            .iter()
            .any(|e| e.message.starts_with("Cancelling deletion of Pod"))
    );
}
