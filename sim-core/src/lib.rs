//! A small deterministic discrete-event engine: virtual time, an event queue,
//! seeded random streams and a running trace digest. It knows nothing about
//! what is being simulated; a model implements [`World`].
//!
//! # Ordering contract
//!
//! Events are processed in increasing `(time, seq)` order. `seq` is a global
//! counter taken when an event is scheduled, so **events scheduled for the
//! same time run in the order they were scheduled** (FIFO), whoever scheduled
//! them. Nothing else influences the order: no hashing, no addresses, no wall
//! clock, no threads. Given the same world, the same setup and the same master
//! seed, a run processes the same events in the same order on every machine.
//!
//! Time is integer nanoseconds ([`SimTime`], [`SimDuration`]); arithmetic is
//! checked or saturating, never wrapping. The clock never moves backwards:
//! scheduling in the past clamps to `now`.
//!
//! # Handlers see a context, not the engine
//!
//! [`World::handle`] receives `&mut self` and a [`Context`], which can read the
//! clock, schedule and cancel events, draw from random streams and request a
//! halt — and nothing else. The engine owns the queue and the clock, so a
//! handler cannot reorder or skip events.
//!
//! # Bounded runs
//!
//! [`Simulation::run`] takes [`RunLimits`]: an end time (events at exactly
//! `until` still run) and a per-call event budget. It returns a
//! [`StopReason`]. Calling `run` again continues where it stopped, so a long
//! run can be cut into chunks (e.g. to drive a progress bar) without changing
//! its outcome.
//!
//! # Random streams
//!
//! Randomness comes only from named streams ([`Context::rng`]), each a
//! [`StreamRng`] derived purely from `(master seed, stream name)` by
//! [`derive_stream`]. Adding a stream or drawing more from one never changes
//! what another stream yields. The derivation is fixed and portable; see
//! [`rng`].
//!
//! # Trace digest
//!
//! For every processed event the engine folds its time, its seq and whatever
//! [`World::digest_event`] writes into a running [`Digest`]. Equal digests mean
//! (with overwhelming probability) equal traces, so determinism regressions
//! show up as a changed hex string, and [`check_determinism`] pinpoints the
//! first event where two runs part.
//!
//! # Example
//!
//! ```
//! use rand::Rng;
//! use sim_core::{Context, Digest, RunLimits, SimDuration, SimTime, Simulation, StopReason, World};
//!
//! #[derive(Clone, Debug)]
//! enum Shot {
//!     Ping(u32),
//!     Pong(u32),
//! }
//!
//! #[derive(Default)]
//! struct Table {
//!     rallies: u32,
//! }
//!
//! impl World for Table {
//!     type Event = Shot;
//!
//!     fn handle(&mut self, ctx: &mut Context<'_, Shot>, event: Shot) {
//!         match event {
//!             Shot::Ping(n) => {
//!                 // The ball takes 100-200ms to cross the table.
//!                 let flight = ctx.rng("ball").random_range(100..=200);
//!                 ctx.schedule(SimDuration::from_millis(flight), Shot::Pong(n));
//!             }
//!             Shot::Pong(n) if n == 9 => ctx.halt("ten rallies played"),
//!             Shot::Pong(n) => {
//!                 self.rallies += 1;
//!                 ctx.schedule(SimDuration::from_millis(150), Shot::Ping(n + 1));
//!             }
//!         }
//!     }
//!
//!     fn digest_event(event: &Shot, digest: &mut Digest) {
//!         match event {
//!             Shot::Ping(n) => {
//!                 digest.write_u32(0);
//!                 digest.write_u32(*n);
//!             }
//!             Shot::Pong(n) => {
//!                 digest.write_u32(1);
//!                 digest.write_u32(*n);
//!             }
//!         }
//!     }
//!
//!     fn describe_event(event: &Shot) -> String {
//!         format!("{event:?}")
//!     }
//! }
//!
//! let make = || {
//!     let mut sim = Simulation::new(Table::default(), 42);
//!     sim.schedule_at(SimTime::ZERO, Shot::Ping(0));
//!     sim
//! };
//! let mut sim = make();
//! let stop = sim.run(RunLimits::until(SimTime::ZERO + SimDuration::from_mins(1)));
//! assert_eq!(stop, StopReason::Halted("ten rallies played".into()));
//! assert_eq!(sim.world().rallies, 9);
//! assert_eq!(sim.events_processed(), 20);
//!
//! // Same seed, same trace: the check replays the scenario and compares.
//! let (digest, events) =
//!     sim_core::check_determinism(make, RunLimits::until(SimTime::MAX)).unwrap();
//! assert_eq!((digest, events), (sim.digest(), 20));
//! ```

pub mod check;
pub mod digest;
pub mod engine;
mod human;
pub mod queue;
pub mod rng;
pub mod time;

pub use check::{Divergence, check_determinism};
pub use digest::Digest;
pub use engine::{Context, RunLimits, Simulation, StopReason, TraceEntry, World};
pub use queue::{EventKey, EventQueue};
pub use rng::{RngStreams, StreamRng, derive_stream};
pub use time::{ParseDurationError, SimDuration, SimTime};
