//! The event loop: pops events in `(time, seq)` order, digests them, and hands
//! them to the [`World`] together with a [`Context`].

use std::fmt;

use crate::digest::Digest;
use crate::queue::{EventKey, EventQueue};
use crate::rng::{RngStreams, StreamRng};
use crate::time::{SimDuration, SimTime};

/// The model being simulated: its state plus how it reacts to events.
pub trait World {
    type Event;
    /// Handle one event. The handler sees the world mutably and a context, never the engine.
    fn handle(&mut self, ctx: &mut Context<'_, Self::Event>, event: Self::Event);
    /// Feed the event's kind and key fields into the digest (called for every processed event, before handle).
    fn digest_event(event: &Self::Event, digest: &mut Digest);
    /// Human-readable one-line description, used only when reporting a divergence.
    fn describe_event(event: &Self::Event) -> String;
    /// Feed what handling the last event changed into the digest (called after every handle):
    /// the content an event's key fields do not carry — names, chosen nodes, messages — so two
    /// runs that differ only in content still differ in digest, at the event that caused it.
    fn digest_effects(&mut self, _digest: &mut Digest) {}
    /// What handling the last event produced, in a line; only for reporting a divergence.
    fn describe_effects(&self) -> String {
        String::new()
    }
}

/// What a handler (or setup code) may do to the simulation: read the clock,
/// schedule and cancel events, draw randomness, and ask to stop.
///
/// It deliberately exposes no way to pop events or move the clock, so a
/// handler cannot break the ordering contract.
pub struct Context<'a, E> {
    now: SimTime,
    queue: &'a mut EventQueue<E>,
    rngs: &'a mut RngStreams,
    halt: &'a mut Option<String>,
    events_processed: u64,
}

impl<E> Context<'_, E> {
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at `now + after`. A sum past [`SimTime::MAX`] is
    /// clamped to it, which means "never within any finite run limit".
    pub fn schedule(&mut self, after: SimDuration, event: E) -> EventKey {
        self.queue.push(self.now.saturating_add(after), event)
    }

    /// Schedules `event` at `at`; a time in the past is clamped to `now`, since
    /// the clock never runs backwards. Such an event runs after everything
    /// already scheduled for `now`.
    pub fn schedule_at(&mut self, at: SimTime, event: E) -> EventKey {
        self.queue.push(at.max(self.now), event)
    }

    /// Cancels a pending event; `false` if it already ran or was cancelled.
    pub fn cancel(&mut self, key: EventKey) -> bool {
        self.queue.cancel(key).is_some()
    }

    /// The time of the next pending event, if any. A subsystem that keeps its own fine-grained
    /// event queue (request-level traffic) may advance itself up to this instant in one go:
    /// nothing else can happen before it, so the result is the same as interleaving.
    pub fn next_event_time(&mut self) -> Option<SimTime> {
        self.queue.peek_time()
    }

    /// The named random stream (see [`crate::rng`]).
    pub fn rng(&mut self, stream: &str) -> &mut StreamRng {
        self.rngs.stream(stream)
    }

    /// Stops the run once the current handler returns. If called more than
    /// once before that, the first reason wins.
    pub fn halt(&mut self, reason: impl Into<String>) {
        if self.halt.is_none() {
            *self.halt = Some(reason.into());
        }
    }

    /// Events processed before the one being handled (so the current event's
    /// 0-based index).
    pub fn events_processed(&self) -> u64 {
        self.events_processed
    }
}

/// Bounds for one call to [`Simulation::run`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunLimits {
    /// Process events with time `<= until`.
    pub until: SimTime,
    /// Process at most this many events in this call (not in total), which is
    /// what makes chunked runs for progress reporting easy.
    pub max_events: u64,
}

impl RunLimits {
    pub fn until(until: SimTime) -> Self {
        RunLimits {
            until,
            max_events: u64::MAX,
        }
    }

    pub fn with_max_events(self, max_events: u64) -> Self {
        RunLimits { max_events, ..self }
    }
}

/// Why [`Simulation::run`] returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The next event is after `until`; `now` was advanced to `until`.
    EndTime,
    /// `max_events` events were processed and more are due before `until`.
    MaxEvents,
    /// Nothing is scheduled any more; `now` stays at the last event's time.
    QueueEmpty,
    /// A handler called [`Context::halt`] with this reason.
    Halted(String),
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::EndTime => f.write_str("reached the end time"),
            StopReason::MaxEvents => f.write_str("reached the event limit"),
            StopReason::QueueEmpty => f.write_str("no events left to process"),
            StopReason::Halted(reason) => write!(f, "halted: {reason}"),
        }
    }
}

/// One processed event, as seen by a [`Simulation::run_observed`] observer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEntry {
    /// 0-based position among all events this simulation has processed.
    pub index: u64,
    pub time: SimTime,
    pub seq: u64,
    /// The running digest after this event and what handling it changed
    /// ([`World::digest_effects`]).
    pub digest: Digest,
}

/// How a hooked run ended: normally, or because the pre-handle hook asked to
/// abandon it (only the determinism checker does that).
pub(crate) enum RunOutcome {
    Stopped(StopReason),
    Aborted,
}

/// A world, its pending events, clock, random streams and trace digest.
pub struct Simulation<W: World> {
    world: W,
    queue: EventQueue<W::Event>,
    rngs: RngStreams,
    now: SimTime,
    digest: Digest,
    events_processed: u64,
    halt: Option<String>,
}

impl<W: World> Simulation<W> {
    pub fn new(world: W, master_seed: u64) -> Self {
        Simulation {
            world,
            queue: EventQueue::new(),
            rngs: RngStreams::new(master_seed),
            now: SimTime::ZERO,
            digest: Digest::new(),
            events_processed: 0,
            halt: None,
        }
    }

    pub fn seed(&self) -> u64 {
        self.rngs.master_seed()
    }
    pub fn now(&self) -> SimTime {
        self.now
    }
    pub fn digest(&self) -> Digest {
        self.digest
    }
    pub fn events_processed(&self) -> u64 {
        self.events_processed
    }
    /// Number of scheduled, not yet processed, not cancelled events.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }
    pub fn world(&self) -> &W {
        &self.world
    }
    pub fn world_mut(&mut self) -> &mut W {
        &mut self.world
    }
    pub fn into_world(self) -> W {
        self.world
    }

    /// Schedules an event from outside any handler (typically during setup);
    /// a time before `now` is clamped to `now`, as in [`Context::schedule_at`].
    pub fn schedule_at(&mut self, at: SimTime, event: W::Event) -> EventKey {
        self.queue.push(at.max(self.now), event)
    }

    /// Runs `f` with the same powers a handler has, for setup code that wants
    /// to schedule events or draw randomness. A [`Context::halt`] issued here
    /// makes the next [`run`](Self::run) return `Halted` before processing
    /// anything.
    pub fn with_context<R>(
        &mut self,
        f: impl FnOnce(&mut W, &mut Context<'_, W::Event>) -> R,
    ) -> R {
        let mut ctx = Context {
            now: self.now,
            queue: &mut self.queue,
            rngs: &mut self.rngs,
            halt: &mut self.halt,
            events_processed: self.events_processed,
        };
        f(&mut self.world, &mut ctx)
    }

    /// Processes events in `(time, seq)` order until one of `limits` is
    /// reached, the queue runs dry, or a handler halts.
    ///
    /// When stopping, "nothing left to do before `until`" wins over "event
    /// budget used up": `EndTime` and `QueueEmpty` are reported even if the
    /// budget ran out on the very last event, so `MaxEvents` always means
    /// there is more work within the window. On `EndTime` the clock moves to
    /// `until` (never backwards). Calling `run` again continues exactly where
    /// the previous call stopped, so a run split into chunks yields the same
    /// trace and digest as one long run; a halt only ends the call it
    /// happened in.
    pub fn run(&mut self, limits: RunLimits) -> StopReason {
        match self.run_hooked(limits, |_, _| true, |_, _| true) {
            RunOutcome::Stopped(reason) => reason,
            RunOutcome::Aborted => unreachable!("the hook never aborts"),
        }
    }

    /// Like [`run`](Self::run), calling `observer` after each event has been
    /// handled.
    pub fn run_observed(
        &mut self,
        limits: RunLimits,
        observer: &mut impl FnMut(&TraceEntry),
    ) -> StopReason {
        match self.run_hooked(
            limits,
            |_, _| true,
            |entry, _| {
                observer(entry);
                true
            },
        ) {
            RunOutcome::Stopped(reason) => reason,
            RunOutcome::Aborted => unreachable!("the hook never aborts"),
        }
    }

    /// The one event loop. `before` sees each event after it has been
    /// digested and before it is handled, and may abandon the run by returning
    /// `false` (the event is then dropped unhandled); `after` sees the entry
    /// (its digest now covering the event's effects) and the world once the
    /// handler returned, and may abandon the run the same way. Both are
    /// generic so that the plain `run` compiles down to the bare loop.
    pub(crate) fn run_hooked(
        &mut self,
        limits: RunLimits,
        mut before: impl FnMut(&TraceEntry, &W::Event) -> bool,
        mut after: impl FnMut(&TraceEntry, &W) -> bool,
    ) -> RunOutcome {
        if let Some(reason) = self.halt.take() {
            return RunOutcome::Stopped(StopReason::Halted(reason));
        }
        let mut budget = limits.max_events;
        loop {
            let Some(next) = self.queue.peek_time() else {
                return RunOutcome::Stopped(StopReason::QueueEmpty);
            };
            if next > limits.until {
                self.now = self.now.max(limits.until);
                return RunOutcome::Stopped(StopReason::EndTime);
            }
            if budget == 0 {
                return RunOutcome::Stopped(StopReason::MaxEvents);
            }
            budget -= 1;
            let Some((time, key, event)) = self.queue.pop() else {
                unreachable!("peek_time saw a live event");
            };
            self.now = time;
            self.digest.write_u64(time.as_nanos());
            self.digest.write_u64(key.seq());
            W::digest_event(&event, &mut self.digest);
            let mut entry = TraceEntry {
                index: self.events_processed,
                time,
                seq: key.seq(),
                digest: self.digest,
            };
            if !before(&entry, &event) {
                return RunOutcome::Aborted;
            }
            let mut ctx = Context {
                now: time,
                queue: &mut self.queue,
                rngs: &mut self.rngs,
                halt: &mut self.halt,
                events_processed: self.events_processed,
            };
            self.world.handle(&mut ctx, event);
            self.world.digest_effects(&mut self.digest);
            entry.digest = self.digest;
            // Unreachable in practice (centuries at any realistic rate), but
            // a wrapped counter would silently corrupt trace indices.
            self.events_processed = self
                .events_processed
                .checked_add(1)
                .expect("event counter overflow");
            if !after(&entry, &self.world) {
                return RunOutcome::Aborted;
            }
            if let Some(reason) = self.halt.take() {
                return RunOutcome::Stopped(StopReason::Halted(reason));
            }
        }
    }
}
