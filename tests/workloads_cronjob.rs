//! The CronJob controller end to end, through the library's public path: Jobs created at the
//! scheduled instants (plus upstream's 100 ms requeue padding), concurrency policies, time
//! zones, starting deadlines, suspension, history limits. The Jobs' templates are suspended so
//! that no pod ever runs them: where a run must finish, the test writes the Job's status as the
//! Job controller would.

use std::path::Path;

use models::api::{ConcurrencyPolicy, CronJob, Job, Pod, PodTemplate};
use models::apiserver::{Condition, JobStatus};
use models::cluster::Cluster;
use models::controllers::cronjob::controller::CRON_JOB_SCHEDULED_TIMESTAMP_ANNOTATION;
use models::run::{RunOptions, RunOutcome, build, run};
use models::scenario::{Scenario, Workloads, load_str};
use models::scheduler::Registry;
use sim_core::{RunLimits, SimDuration, SimTime, Simulation};

const MIN: u64 = 60;
/// Upstream `nextScheduleDelta`: the controller wakes this long after each schedule time.
const DELTA: SimDuration = SimDuration::from_millis(100);

fn options() -> RunOptions {
    RunOptions {
        check_invariants: true,
        ..RunOptions::default()
    }
}

/// A one-node cluster with an instantaneous control plane (so times are exact).
fn scenario(duration: &str) -> Scenario {
    let text = format!(
        "name: cronjob-test\nduration: {duration}\ncontrolPlane: {{watchLatency: 0s, apiLatency: 0s}}\ncluster:\n  nodePools: [{{name: general, count: 1, resources: {{cpu: \"4\", memory: 16Gi}}}}]\n"
    );
    load_str("cronjob-test.yaml", &text, Path::new(".")).unwrap_or_else(|d| panic!("{d}"))
}

fn cron_job(name: &str, schedule: &str) -> CronJob {
    let pod = Pod {
        name: "work".into(),
        labels: [("app", name)].into_iter().collect(),
        ..Pod::default()
    };
    let mut template = Job::new("", "default", PodTemplate { pod });
    // No pod ever runs: a run finishes only when a test says so.
    template.suspend = true;
    CronJob {
        name: name.into(),
        namespace: "default".into(),
        schedule: schedule.into(),
        time_zone: None,
        concurrency_policy: ConcurrencyPolicy::Allow,
        starting_deadline_seconds: None,
        successful_jobs_history_limit: 3,
        failed_jobs_history_limit: 1,
        suspend: false,
        job_template: template,
        labels: Default::default(),
        annotations: Default::default(),
    }
}

fn run_scenario(s: &Scenario) -> RunOutcome {
    run(s, &Registry::default_plugins(), &options(), |_, _| {}).unwrap_or_else(|d| panic!("{d}"))
}

fn at(secs: u64) -> SimTime {
    SimTime::ZERO + SimDuration::from_secs(secs)
}

/// Every Job ever created (deleted ones too): name and creation time.
fn jobs_created(c: &Cluster) -> Vec<(String, SimTime)> {
    c.api
        .objects::<Job>()
        .all()
        .map(|j| (j.spec.name.clone(), j.created))
        .collect()
}

fn live_jobs(c: &Cluster) -> Vec<String> {
    c.api
        .objects::<Job>()
        .live()
        .map(|j| j.spec.name.clone())
        .collect()
}

fn events(c: &Cluster, reason: &str) -> Vec<(SimTime, String)> {
    c.api
        .events
        .iter()
        .filter(|e| e.reason == reason)
        .map(|e| (SimTime::from_nanos(e.time_ns), e.message.clone()))
        .collect()
}

fn assert_no_violations(c: &Cluster) {
    let checkers = c.checkers.as_ref().expect("checkers enabled");
    assert!(checkers.checks > 0);
    assert!(checkers.violations.is_empty(), "{:#?}", checkers.violations);
}

/// `<cronjob>-<unix minutes>` for the schedule time `secs` after the scenario start.
fn name_at(s: &Scenario, cj: &str, secs: u64) -> String {
    let unix = s.start_unix_secs + i64::try_from(secs).expect("small");
    format!("{cj}-{}", unix / 60)
}

/// The Job controller's verdict, written by hand: `Complete` or `Failed` now.
fn finish(sim: &mut Simulation<Cluster>, name: &str, condition: &'static str) {
    sim.with_context(|cluster, ctx| {
        let api = &mut cluster.api;
        let id = api.object_id::<Job>("default", name).expect("job exists");
        let now = ctx.now();
        let status = JobStatus {
            start_time: Some(api.object::<Job>(id).created),
            completion_time: (condition == "Complete").then_some(now),
            conditions: vec![Condition {
                type_: condition,
                status: "True",
                reason: "",
                message: String::new(),
                last_update: now,
                last_transition: now,
            }],
            ..JobStatus::default()
        };
        api.update_object_status::<Job>(ctx, id, status)
            .expect("API server up");
    });
}

fn step_to(sim: &mut Simulation<Cluster>, t: SimTime) {
    sim.run(RunLimits::until(t));
}

fn simulation(s: &Scenario) -> Simulation<Cluster> {
    build(s, &Registry::default_plugins(), &options()).unwrap_or_else(|d| panic!("{d}"))
}

#[test]
fn every_five_minutes_for_an_hour_creates_twelve_jobs_at_the_scheduled_times() {
    let mut s = scenario("3601s");
    s.cron_jobs.push(cron_job("tick", "*/5 * * * *"));
    let o = run_scenario(&s);
    let c = o.simulation.world();
    // Schedule times strictly after the CronJob's creation at 00:00: 00:05 ... 01:00.
    let want: Vec<(String, SimTime)> = (1..=12)
        .map(|k| (name_at(&s, "tick", k * 5 * MIN), at(k * 5 * MIN) + DELTA))
        .collect();
    assert_eq!(jobs_created(c), want);
    let created = events(c, "SuccessfulCreate");
    assert_eq!(created.len(), 12);
    assert_eq!(created[0].1, format!("Created job {}", want[0].0));
    let first = c
        .api
        .objects::<Job>()
        .all()
        .next()
        .expect("one object")
        .clone();
    assert_eq!(
        first.spec.annotations[CRON_JOB_SCHEDULED_TIMESTAMP_ANNOTATION],
        "2024-01-01T00:05:00Z"
    );
    assert!(first.spec.selector.matches(&first.spec.template.pod.labels));
    let cj = &c.api.objects::<CronJob>().all().next().expect("one object");
    assert_eq!(cj.status.active.len(), 12);
    assert_eq!(cj.status.last_schedule_time, Some(at(60 * MIN)));
    assert_no_violations(c);
}

#[test]
fn hourly_and_a_new_york_daily_schedule_fire_on_the_calendar() {
    let mut s = scenario("32h");
    // 2024-01-01T00:00:00Z is 2023-12-31 19:00 in New York (EST, UTC-5).
    assert_eq!(s.start_unix_secs, 1_704_067_200);
    s.cron_jobs.push(cron_job("hourly", "@hourly"));
    let mut daily = cron_job("daily", "0 2 * * *");
    daily.time_zone = Some("America/New_York".into());
    s.cron_jobs.push(daily);
    let o = run_scenario(&s);
    let c = o.simulation.world();
    let daily: Vec<(String, SimTime)> = jobs_created(c)
        .into_iter()
        .filter(|(n, _)| n.starts_with("daily-"))
        .collect();
    // 02:00 EST is 07:00Z: 7 h and 31 h into the run.
    assert_eq!(
        daily,
        vec![
            (name_at(&s, "daily", 7 * 60 * MIN), at(7 * 60 * MIN) + DELTA),
            (
                name_at(&s, "daily", 31 * 60 * MIN),
                at(31 * 60 * MIN) + DELTA
            ),
        ]
    );
    let id = c
        .api
        .object_id::<Job>("default", &daily[0].0)
        .expect("kept");
    assert_eq!(
        c.api.object::<Job>(id).spec.annotations[CRON_JOB_SCHEDULED_TIMESTAMP_ANNOTATION],
        "2024-01-01T02:00:00-05:00"
    );
    let hourly: Vec<SimTime> = jobs_created(c)
        .into_iter()
        .filter(|(n, _)| n.starts_with("hourly-"))
        .map(|(_, t)| t)
        .collect();
    assert_eq!(
        hourly,
        (1..=31)
            .map(|h| at(h * 60 * MIN) + DELTA)
            .collect::<Vec<_>>()
    );
    assert_no_violations(c);
}

#[test]
fn forbid_skips_runs_while_one_is_unfinished() {
    let mut s = scenario("31m");
    let mut cj = cron_job("solo", "*/5 * * * *");
    cj.concurrency_policy = ConcurrencyPolicy::Forbid;
    s.cron_jobs.push(cj);
    let mut sim = simulation(&s);
    step_to(&mut sim, at(12 * MIN));
    finish(&mut sim, &name_at(&s, "solo", 5 * MIN), "Complete");
    step_to(&mut sim, at(31 * MIN));
    let c = sim.world();
    // A skipped run does not move `lastScheduleTime`, so when the first run completes the
    // 00:10 run, still unmet and with no starting deadline, starts at once (as upstream).
    assert_eq!(
        jobs_created(c),
        vec![
            (name_at(&s, "solo", 5 * MIN), at(5 * MIN) + DELTA),
            (name_at(&s, "solo", 10 * MIN), at(12 * MIN)),
        ]
    );
    let skipped: Vec<SimTime> = events(c, "JobAlreadyActive")
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(
        skipped,
        [10, 15, 20, 25, 30].map(|m| at(m * MIN) + DELTA).to_vec()
    );
    assert_eq!(
        events(c, "JobAlreadyActive")[0].1,
        "Not starting job because prior execution is running and concurrency policy is Forbid"
    );
    assert_eq!(
        events(c, "SawCompletedJob"),
        vec![(
            at(12 * MIN),
            format!(
                "Saw completed job: {}, condition: Complete",
                name_at(&s, "solo", 5 * MIN)
            )
        )]
    );
    let cj = &c.api.objects::<CronJob>().all().next().expect("one object");
    assert_eq!(cj.status.last_successful_time, Some(at(12 * MIN)));
    assert_no_violations(c);
}

#[test]
fn replace_deletes_the_running_job_and_starts_a_new_one() {
    let mut s = scenario("16m");
    let mut cj = cron_job("swap", "*/5 * * * *");
    cj.concurrency_policy = ConcurrencyPolicy::Replace;
    s.cron_jobs.push(cj);
    let o = run_scenario(&s);
    let c = o.simulation.world();
    assert_eq!(jobs_created(c).len(), 3);
    assert_eq!(live_jobs(c), vec![name_at(&s, "swap", 15 * MIN)]);
    assert_eq!(
        events(c, "SuccessfulDelete"),
        vec![
            (
                at(10 * MIN) + DELTA,
                format!("Deleted job {}", name_at(&s, "swap", 5 * MIN))
            ),
            (
                at(15 * MIN) + DELTA,
                format!("Deleted job {}", name_at(&s, "swap", 10 * MIN))
            ),
        ]
    );
    let cj = &c.api.objects::<CronJob>().all().next().expect("one object");
    let active: Vec<&str> = cj
        .status
        .active
        .iter()
        .map(|id| c.api.object::<Job>(*id).spec.name.as_str())
        .collect();
    assert_eq!(active, vec![name_at(&s, "swap", 15 * MIN)]);
    assert_no_violations(c);
}

/// Suspended from the start, resumed at 12 min.
fn resumed(starting_deadline_seconds: Option<i64>) -> (Scenario, RunOutcome) {
    let mut s = scenario("13m");
    let mut cj = cron_job("late", "*/5 * * * *");
    cj.suspend = true;
    cj.starting_deadline_seconds = starting_deadline_seconds;
    s.cron_jobs.push(cj.clone());
    cj.suspend = false;
    s.delayed_workloads.push(Workloads {
        at: SimDuration::from_secs(12 * MIN),
        cron_jobs: vec![cj],
        ..Workloads::default()
    });
    let o = run_scenario(&s);
    (s, o)
}

#[test]
fn resuming_starts_the_missed_run_late_unless_past_the_starting_deadline() {
    // Without a deadline the most recent missed time (00:10) runs at once on resume.
    let (s, o) = resumed(None);
    let c = o.simulation.world();
    assert_eq!(
        jobs_created(c),
        vec![(name_at(&s, "late", 10 * MIN), at(12 * MIN))]
    );
    assert_no_violations(c);
    // With a 60 s deadline the controller never looks before now - 60 s: 00:10 is skipped
    // (upstream reports no MissSchedule for it either) and nothing runs until 00:15.
    let (_, o) = resumed(Some(60));
    let c = o.simulation.world();
    assert!(jobs_created(c).is_empty());
    assert!(events(c, "MissSchedule").is_empty());
    assert_no_violations(c);
}

#[test]
fn too_many_missed_start_times_warns_and_starts_the_most_recent() {
    let mut s = scenario("121m");
    let mut cj = cron_job("minutely", "* * * * *");
    cj.suspend = true;
    s.cron_jobs.push(cj.clone());
    cj.suspend = false;
    s.delayed_workloads.push(Workloads {
        at: SimDuration::from_secs(120 * MIN + 30),
        cron_jobs: vec![cj],
        ..Workloads::default()
    });
    let o = run_scenario(&s);
    let c = o.simulation.world();
    assert_eq!(
        events(c, "TooManyMissedTimes"),
        vec![(
            at(120 * MIN + 30),
            "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew".to_string()
        )]
    );
    assert_eq!(
        jobs_created(c)[0],
        (name_at(&s, "minutely", 120 * MIN), at(120 * MIN + 30))
    );
    assert_no_violations(c);
}

#[test]
fn history_limits_keep_three_complete_and_one_failed_job() {
    let mut s = scenario("61m");
    s.cron_jobs.push(cron_job("hist", "*/5 * * * *"));
    let mut sim = simulation(&s);
    // Runs at 5..=45 min: the first six complete, the next three fail, a minute after each.
    for k in 1..=9u64 {
        step_to(&mut sim, at(k * 5 * MIN + MIN));
        let condition = if k <= 6 { "Complete" } else { "Failed" };
        finish(&mut sim, &name_at(&s, "hist", k * 5 * MIN), condition);
    }
    step_to(&mut sim, at(61 * MIN));
    let c = sim.world();
    let name = |k: u64| name_at(&s, "hist", k * 5 * MIN);
    // Kept: complete 4, 5, 6; failed 9; unfinished 10, 11, 12.
    assert_eq!(live_jobs(c), [4, 5, 6, 9, 10, 11, 12].map(name).to_vec());
    let deleted: Vec<String> = events(c, "SuccessfulDelete")
        .into_iter()
        .map(|e| e.1)
        .collect();
    assert_eq!(
        deleted,
        [1, 2, 3, 7, 8]
            .map(|k| format!("Deleted job {}", name(k)))
            .to_vec()
    );
    assert_no_violations(c);
}

#[test]
fn same_scenario_same_digest() {
    let mut s = scenario("31m");
    s.cron_jobs.push(cron_job("tick", "*/5 * * * *"));
    let mut forbid = cron_job("solo", "*/3 * * * *");
    forbid.concurrency_policy = ConcurrencyPolicy::Forbid;
    s.cron_jobs.push(forbid);
    let a = run_scenario(&s);
    let b = run_scenario(&s);
    assert_eq!(a.summary.digest, b.summary.digest);
    assert_eq!(
        jobs_created(a.simulation.world()),
        jobs_created(b.simulation.world())
    );
}

#[test]
fn an_unknown_zone_or_unparseable_schedule_warns_once_and_creates_nothing() {
    let mut s = scenario("2h");
    let mut zone = cron_job("zone", "@hourly");
    zone.time_zone = Some("Mars/Olympus".into());
    s.cron_jobs.push(zone);
    s.cron_jobs.push(cron_job("bad", "61 * * * *"));
    let o = run_scenario(&s);
    let c = o.simulation.world();
    assert!(jobs_created(c).is_empty());
    // No requeue: each warns once, at its first sync.
    assert_eq!(
        events(c, "UnknownTimeZone"),
        vec![(
            SimTime::ZERO,
            "invalid timeZone: \"Mars/Olympus\": unknown time zone Mars/Olympus".to_string()
        )]
    );
    let unparseable = events(c, "UnparseableSchedule");
    assert_eq!(unparseable.len(), 1);
    assert!(
        unparseable[0]
            .1
            .starts_with("unparseable schedule: \"61 * * * *\" : "),
        "{unparseable:?}"
    );
    assert_no_violations(c);
}
