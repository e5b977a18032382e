use std::sync::atomic::{AtomicU64, Ordering};

use rand::{Rng, RngCore};
use sim_core::{
    Context, Digest, Divergence, EventKey, RngStreams, RunLimits, SimDuration, SimTime, Simulation,
    StopReason, World, check_determinism, derive_stream,
};

fn t(nanos: u64) -> SimTime {
    SimTime::from_nanos(nanos)
}

fn until(nanos: u64) -> RunLimits {
    RunLimits::until(t(nanos))
}

fn forever() -> RunLimits {
    RunLimits::until(SimTime::MAX)
}

/// Records what it sees; events can ask for follow-ups, cancellations and
/// halts, so one world covers the engine's mechanics.
#[derive(Default)]
struct Recorder {
    seen: Vec<(SimTime, u32)>,
    keys: Vec<EventKey>,
    cancelled: Vec<bool>,
}

#[derive(Clone, Debug)]
enum Ev {
    Mark(u32),
    /// Schedule `Mark(id)` after `delay` ns.
    Spawn {
        id: u32,
        delay: u64,
    },
    /// Cancel the key stored at this index of `Recorder::keys`.
    Cancel(usize),
    Halt(&'static str),
}

impl World for Recorder {
    type Event = Ev;

    fn handle(&mut self, ctx: &mut Context<'_, Ev>, event: Ev) {
        match event {
            Ev::Mark(id) => self.seen.push((ctx.now(), id)),
            Ev::Spawn { id, delay } => {
                self.seen.push((ctx.now(), id));
                let key = ctx.schedule(SimDuration::from_nanos(delay), Ev::Mark(id + 1000));
                self.keys.push(key);
            }
            Ev::Cancel(i) => {
                let ok = ctx.cancel(self.keys[i]);
                self.cancelled.push(ok);
            }
            Ev::Halt(reason) => ctx.halt(reason),
        }
    }

    fn digest_event(event: &Ev, digest: &mut Digest) {
        match event {
            Ev::Mark(id) => {
                digest.write_u32(0);
                digest.write_u32(*id);
            }
            Ev::Spawn { id, delay } => {
                digest.write_u32(1);
                digest.write_u32(*id);
                digest.write_u64(*delay);
            }
            Ev::Cancel(i) => {
                digest.write_u32(2);
                digest.write_u64(*i as u64);
            }
            Ev::Halt(reason) => {
                digest.write_u32(3);
                digest.write_str(reason);
            }
        }
    }

    fn describe_event(event: &Ev) -> String {
        format!("{event:?}")
    }
}

fn ids(sim: &Simulation<Recorder>) -> Vec<u32> {
    sim.world().seen.iter().map(|&(_, id)| id).collect()
}

#[test]
fn same_time_events_run_in_scheduling_order() {
    let mut sim = Simulation::new(Recorder::default(), 1);
    for id in 0..50 {
        sim.schedule_at(t(10), Ev::Mark(id));
    }
    // Scheduled later for the same instant, from a handler: runs after all
    // of the above even though its own event happened earlier.
    sim.schedule_at(t(5), Ev::Spawn { id: 99, delay: 5 });
    sim.schedule_at(t(10), Ev::Mark(50));
    assert_eq!(sim.run(forever()), StopReason::QueueEmpty);
    let mut expected = vec![99];
    expected.extend(0..=50);
    expected.push(1099);
    assert_eq!(ids(&sim), expected);
}

#[test]
fn scheduling_in_the_past_clamps_to_now() {
    let mut sim = Simulation::new(Recorder::default(), 1);
    sim.schedule_at(t(100), Ev::Mark(0));
    sim.run(forever());
    assert_eq!(sim.now(), t(100));
    sim.schedule_at(t(3), Ev::Mark(1));
    sim.with_context(|_, ctx| {
        assert_eq!(ctx.now(), t(100));
        ctx.schedule_at(t(7), Ev::Mark(2));
        ctx.schedule(SimDuration::MAX, Ev::Mark(3));
    });
    sim.run(until(100));
    assert_eq!(
        sim.world().seen,
        vec![(t(100), 0), (t(100), 1), (t(100), 2)]
    );
    // Saturated at the end of time, still pending.
    assert_eq!(sim.pending(), 1);
    assert_eq!(sim.run(forever()), StopReason::QueueEmpty);
    assert_eq!(sim.now(), SimTime::MAX);
}

#[test]
fn cancel_from_setup_and_from_handlers() {
    let mut sim = Simulation::new(Recorder::default(), 1);
    let doomed = sim.schedule_at(t(30), Ev::Mark(1));
    sim.schedule_at(t(10), Ev::Spawn { id: 2, delay: 100 }); // schedules Mark(1002) at 110, keys[0]
    sim.schedule_at(t(50), Ev::Cancel(0));
    sim.schedule_at(t(200), Ev::Cancel(0)); // second cancel of the same key
    sim.schedule_at(t(40), Ev::Mark(3));
    assert!(sim.with_context(|_, ctx| ctx.cancel(doomed)));
    assert!(!sim.with_context(|_, ctx| ctx.cancel(doomed)));
    assert_eq!(sim.pending(), 4);
    assert_eq!(sim.run(forever()), StopReason::QueueEmpty);
    assert_eq!(ids(&sim), vec![2, 3]);
    assert_eq!(sim.world().cancelled, vec![true, false]);
    assert_eq!(sim.events_processed(), 4);
}

#[test]
fn cancelling_an_event_that_already_ran_fails() {
    let mut sim = Simulation::new(Recorder::default(), 1);
    sim.schedule_at(t(1), Ev::Spawn { id: 0, delay: 1 }); // Mark(1000) at 2
    sim.schedule_at(t(3), Ev::Cancel(0));
    sim.run(forever());
    assert_eq!(ids(&sim), vec![0, 1000]);
    assert_eq!(sim.world().cancelled, vec![false]);
}

fn three_marks() -> Simulation<Recorder> {
    let mut sim = Simulation::new(Recorder::default(), 1);
    for (i, time) in [10, 20, 30].into_iter().enumerate() {
        sim.schedule_at(t(time), Ev::Mark(i as u32));
    }
    sim
}

#[test]
fn end_time_is_inclusive_and_moves_the_clock() {
    let mut sim = three_marks();
    assert_eq!(sim.run(until(20)), StopReason::EndTime);
    assert_eq!(ids(&sim), vec![0, 1]);
    assert_eq!(sim.now(), t(20));
    assert_eq!(sim.run(until(25)), StopReason::EndTime);
    assert_eq!(sim.now(), t(25));
    assert_eq!(sim.events_processed(), 2);
    // An end before `now` does nothing and does not rewind the clock.
    assert_eq!(sim.run(until(5)), StopReason::EndTime);
    assert_eq!(sim.now(), t(25));
    assert_eq!(sim.pending(), 1);
}

#[test]
fn max_events_stops_at_the_last_processed_event() {
    let mut sim = three_marks();
    assert_eq!(sim.run(forever().with_max_events(0)), StopReason::MaxEvents);
    assert_eq!(sim.events_processed(), 0);
    assert_eq!(sim.now(), SimTime::ZERO);
    assert_eq!(sim.run(forever().with_max_events(2)), StopReason::MaxEvents);
    assert_eq!(sim.now(), t(20));
    assert_eq!(sim.events_processed(), 2);
    // The budget is per call, and running out of work wins over running out
    // of budget on the same event.
    assert_eq!(
        sim.run(forever().with_max_events(1)),
        StopReason::QueueEmpty
    );
    assert_eq!(sim.now(), t(30));
    let mut sim = three_marks();
    assert_eq!(sim.run(until(20).with_max_events(2)), StopReason::EndTime);
    assert_eq!(sim.now(), t(20));
}

#[test]
fn queue_empty_leaves_the_clock_at_the_last_event() {
    let mut sim = three_marks();
    assert_eq!(sim.run(until(1_000)), StopReason::QueueEmpty);
    assert_eq!(sim.now(), t(30));
    assert_eq!(sim.events_processed(), 3);
    assert_eq!(sim.run(until(2_000)), StopReason::QueueEmpty);
    assert_eq!(sim.now(), t(30));
}

#[test]
fn halt_stops_after_the_handler_and_the_run_can_continue() {
    let mut sim = three_marks();
    sim.schedule_at(t(15), Ev::Halt("enough"));
    sim.schedule_at(t(15), Ev::Mark(7));
    assert_eq!(sim.run(forever()), StopReason::Halted("enough".to_owned()));
    assert_eq!(sim.now(), t(15));
    assert_eq!(sim.events_processed(), 2);
    assert_eq!(ids(&sim), vec![0]);
    assert_eq!(sim.run(forever()), StopReason::QueueEmpty);
    assert_eq!(ids(&sim), vec![0, 7, 1, 2]);
}

#[test]
fn halt_during_setup_stops_the_next_run_only() {
    let mut sim = three_marks();
    sim.with_context(|_, ctx| {
        ctx.halt("first");
        ctx.halt("second");
    });
    assert_eq!(sim.run(forever()), StopReason::Halted("first".to_owned()));
    assert_eq!(sim.events_processed(), 0);
    assert_eq!(sim.run(forever()), StopReason::QueueEmpty);
    assert_eq!(sim.events_processed(), 3);
}

#[test]
fn stop_reasons_read_as_plain_words() {
    assert_eq!(StopReason::EndTime.to_string(), "reached the end time");
    assert_eq!(StopReason::MaxEvents.to_string(), "reached the event limit");
    assert_eq!(
        StopReason::QueueEmpty.to_string(),
        "no events left to process"
    );
    assert_eq!(
        StopReason::Halted("cluster full".into()).to_string(),
        "halted: cluster full"
    );
}

#[test]
fn observer_sees_every_event_with_running_digest() {
    let mut sim = three_marks();
    let mut entries = Vec::new();
    sim.run_observed(forever(), &mut |e| entries.push(e.clone()));
    assert_eq!(
        entries.iter().map(|e| e.index).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert_eq!(
        entries.iter().map(|e| e.time).collect::<Vec<_>>(),
        vec![t(10), t(20), t(30)]
    );
    assert_eq!(
        entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert_eq!(entries.last().map(|e| e.digest), Some(sim.digest()));
    assert_ne!(entries[0].digest, entries[1].digest);
}

/// A randomised workload: jobs arrive, run for a random time drawn from one
/// stream, and sometimes spawn a child picked from another stream.
struct Jobs {
    done: u64,
    total_work: u64,
}

#[derive(Clone, Debug)]
enum JobEv {
    Arrive(u64),
    Finish(u64),
}

impl World for Jobs {
    type Event = JobEv;

    fn handle(&mut self, ctx: &mut Context<'_, JobEv>, event: JobEv) {
        match event {
            JobEv::Arrive(id) => {
                let work = ctx.rng("work").random_range(1..1_000);
                self.total_work += work;
                ctx.schedule(SimDuration::from_millis(work), JobEv::Finish(id));
                if ctx.rng("arrivals").random_bool(0.6) {
                    let gap = ctx.rng("arrivals").random_range(1..500);
                    ctx.schedule(SimDuration::from_millis(gap), JobEv::Arrive(id + 1));
                }
            }
            JobEv::Finish(_) => self.done += 1,
        }
    }

    fn digest_event(event: &JobEv, digest: &mut Digest) {
        let (kind, id) = match event {
            JobEv::Arrive(id) => (0, id),
            JobEv::Finish(id) => (1, id),
        };
        digest.write_u32(kind);
        digest.write_u64(*id);
    }

    fn describe_event(event: &JobEv) -> String {
        format!("{event:?}")
    }
}

fn jobs(seed: u64) -> Simulation<Jobs> {
    let mut sim = Simulation::new(
        Jobs {
            done: 0,
            total_work: 0,
        },
        seed,
    );
    for i in 0..20 {
        sim.schedule_at(t(i * 1_000_000), JobEv::Arrive(i * 1_000));
    }
    sim
}

#[test]
fn chunked_runs_match_one_run() {
    let mut whole = jobs(5);
    let end = t(60_000_000_000);
    whole.run(RunLimits::until(end));
    assert!(
        whole.events_processed() > 50,
        "workload too small to be meaningful"
    );

    let mut by_count = jobs(5);
    while by_count.run(RunLimits::until(end).with_max_events(7)) == StopReason::MaxEvents {}
    let mut by_time = jobs(5);
    let mut step = t(0);
    while step < end {
        step = step.saturating_add(SimDuration::from_millis(333)).min(end);
        by_time.run(RunLimits::until(step));
    }
    for sim in [&by_count, &by_time] {
        assert_eq!(sim.digest(), whole.digest());
        assert_eq!(sim.events_processed(), whole.events_processed());
        assert_eq!(sim.world().total_work, whole.world().total_work);
        assert_eq!(sim.now(), whole.now());
    }
}

#[test]
fn seed_determines_the_digest() {
    let run = |seed| {
        let mut sim = jobs(seed);
        sim.run(forever());
        (sim.digest(), sim.events_processed(), sim.seed())
    };
    assert_eq!(run(11), run(11));
    assert_eq!(run(11).2, 11);
    assert_ne!(run(11).0, run(12).0);
}

#[test]
fn rng_streams_are_independent() {
    let draws_of_b = |draws_of_a: usize| {
        let mut sim = jobs(3);
        sim.with_context(|_, ctx| {
            for _ in 0..draws_of_a {
                ctx.rng("a").next_u64();
            }
            (0..4).map(|_| ctx.rng("b").next_u64()).collect::<Vec<_>>()
        })
    };
    assert_eq!(draws_of_b(0), draws_of_b(1));
    assert_eq!(draws_of_b(0), draws_of_b(1000));
    // And a stream is exactly its derivation, regardless of creation order.
    let mut streams = RngStreams::new(3);
    streams.stream("z").next_u64();
    let mut b = derive_stream(3, "b");
    assert_eq!(streams.stream("b").next_u64(), b.next_u64());
}

#[test]
fn derive_stream_is_pinned() {
    // Golden value computed once. It pins the derivation (SplitMix64 key
    // expansion, FNV-1a stream id, ChaCha8): if it changes, every recorded
    // seed -> outcome mapping changes, on this platform or another.
    assert_eq!(
        derive_stream(42, "scheduler").next_u64(),
        9_878_885_000_602_631_053
    );
}

#[test]
fn check_determinism_accepts_a_deterministic_world() {
    let mut reference = jobs(9);
    reference.run(forever());
    let result = check_determinism(|| jobs(9), forever());
    assert_eq!(
        result,
        Ok((reference.digest(), reference.events_processed()))
    );
    // Limits apply to both runs.
    let mut bounded = jobs(9);
    bounded.run(forever().with_max_events(10));
    assert_eq!(
        check_determinism(|| jobs(9), forever().with_max_events(10)),
        Ok((bounded.digest(), 10))
    );
}

/// Behaves differently on exactly one run (its `run` number is `odd_run`),
/// from event `from` on, the way a hidden global (a static counter, an
/// address, a HashMap order) would make a real model misbehave.
struct Flaky {
    run: u64,
    odd_run: u64,
    from: u64,
    stop_early: bool,
}

impl World for Flaky {
    type Event = u64;

    fn handle(&mut self, ctx: &mut Context<'_, u64>, n: u64) {
        if n >= 30 {
            return;
        }
        let odd = self.run == self.odd_run && ctx.events_processed() >= self.from;
        if odd && self.stop_early {
            ctx.halt("gave up");
            return;
        }
        let next = if odd { n + 100 } else { n + 1 };
        ctx.schedule(SimDuration::from_secs(1), next);
    }

    fn digest_event(n: &u64, digest: &mut Digest) {
        digest.write_u64(*n);
    }

    fn describe_event(n: &u64) -> String {
        format!("tick {n}")
    }
}

fn flaky(
    counter: &'static AtomicU64,
    odd_run: u64,
    from: u64,
    stop_early: bool,
) -> impl Fn() -> Simulation<Flaky> {
    move || {
        let run = counter.fetch_add(1, Ordering::SeqCst);
        let mut sim = Simulation::new(
            Flaky {
                run,
                odd_run,
                from,
                stop_early,
            },
            1,
        );
        sim.schedule_at(SimTime::ZERO, 0);
        sim
    }
}

#[test]
fn check_determinism_names_the_first_divergent_event() {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    // The second run (run 1) schedules tick 104 instead of tick 5 when
    // handling its event #4 (tick 4), so the traces part at event #5.
    let err = check_determinism(flaky(&RUNS, 1, 4, false), forever()).unwrap_err();
    assert_eq!(
        err,
        Divergence {
            index: 5,
            first: (t(5_000_000_000), 5, "tick 5".to_owned()),
            second: (t(5_000_000_000), 5, "tick 104".to_owned()),
        }
    );
    assert_eq!(
        err.to_string(),
        "runs diverge at event #5: first run: t=5s, seq=5, tick 5; second run: t=5s, seq=5, tick 104"
    );
    assert!(!err.first_ended_early() && !err.second_ended_early());
}

#[test]
fn check_determinism_reports_a_run_that_ends_early() {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let err = check_determinism(flaky(&RUNS, 1, 3, true), forever()).unwrap_err();
    // The second run handles event #3 but halts instead of scheduling tick 4.
    assert_eq!(err.index, 4);
    assert_eq!(err.first, (t(4_000_000_000), 4, "tick 4".to_owned()));
    assert!(err.second_ended_early());
    assert_eq!(
        err.to_string(),
        "runs diverge at event #4: first run: t=4s, seq=4, tick 4; \
         second run: ended early at t=3s (after 4 events: halted: gave up)"
    );

    static RUNS_FIRST: AtomicU64 = AtomicU64::new(0);
    let err = check_determinism(flaky(&RUNS_FIRST, 0, 3, true), forever()).unwrap_err();
    assert_eq!(err.index, 4);
    assert!(err.first_ended_early());
    assert_eq!(err.second, (t(4_000_000_000), 4, "tick 4".to_owned()));
    assert!(
        err.to_string()
            .contains("first run: ended early at t=3s (after 4 events: halted: gave up)")
    );
}

#[test]
fn check_determinism_admits_an_unreproducible_first_run() {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    // Run 0 is the odd one: the second and third runs agree with each other
    // but not with the first, so the first run's event cannot be replayed.
    let err = check_determinism(flaky(&RUNS, 0, 2, false), forever()).unwrap_err();
    assert_eq!(err.index, 3);
    assert_eq!(err.second.2, "tick 3");
    assert_eq!(err.first.0, t(3_000_000_000));
    assert_eq!(
        err.first.2,
        "event not reproducible: a third run diverged from the first at event #3"
    );
}

/// Same events in both runs, but the second run gives one of them a different
/// name: only the effects digest can see it.
struct Namer {
    run: u64,
    last_name: String,
}

impl World for Namer {
    type Event = u64;

    fn handle(&mut self, ctx: &mut Context<'_, u64>, n: u64) {
        self.last_name = if self.run == 1 && n == 3 {
            format!("pod-{n}-renamed")
        } else {
            format!("pod-{n}")
        };
        if n < 6 {
            ctx.schedule(SimDuration::from_secs(1), n + 1);
        }
    }

    fn digest_event(n: &u64, digest: &mut Digest) {
        digest.write_u64(*n);
    }

    fn describe_event(n: &u64) -> String {
        format!("create {n}")
    }

    fn digest_effects(&mut self, digest: &mut Digest) {
        digest.write_str(&self.last_name);
    }

    fn describe_effects(&self) -> String {
        format!("named {}", self.last_name)
    }
}

#[test]
fn check_determinism_sees_content_the_events_do_not_carry() {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let make = || {
        let run = RUNS.fetch_add(1, Ordering::SeqCst);
        let mut sim = Simulation::new(
            Namer {
                run,
                last_name: String::new(),
            },
            1,
        );
        sim.schedule_at(SimTime::ZERO, 0);
        sim
    };
    let err = check_determinism(make, forever()).unwrap_err();
    // Event #3 is the same event in both runs; what it produced differs.
    assert_eq!(err.index, 3);
    assert_eq!(err.first.2, "create 3 → named pod-3");
    assert_eq!(err.second.2, "create 3 → named pod-3-renamed");
}

/// A handler sees when the next pending event is due (cancelled ones skipped), which is what
/// lets a subsystem with its own fine-grained queue advance itself up to that instant.
#[test]
fn a_handler_sees_the_next_pending_events_time() {
    struct Peek {
        seen: Vec<(SimTime, Option<SimTime>)>,
        cancel: Option<EventKey>,
    }
    impl World for Peek {
        type Event = u32;
        fn handle(&mut self, ctx: &mut Context<'_, u32>, event: u32) {
            if event == 1
                && let Some(k) = self.cancel.take()
            {
                ctx.cancel(k);
            }
            let next = ctx.next_event_time();
            self.seen.push((ctx.now(), next));
        }
        fn digest_event(e: &u32, d: &mut Digest) {
            d.write_u32(*e);
        }
        fn describe_event(e: &u32) -> String {
            e.to_string()
        }
    }
    let mut sim = Simulation::new(
        Peek {
            seen: Vec::new(),
            cancel: None,
        },
        1,
    );
    sim.schedule_at(t(10), 1);
    let k = sim.schedule_at(t(20), 2);
    sim.schedule_at(t(30), 3);
    sim.world_mut().cancel = Some(k);
    sim.run(forever());
    assert_eq!(
        sim.world().seen,
        vec![(t(10), Some(t(30))), (t(30), None)],
        "the cancelled event at 20 is skipped, and the last event sees none after it"
    );
}
