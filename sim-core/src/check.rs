//! Determinism check: run the same scenario twice and find the first event
//! where the traces part.

use std::cell::{Cell, RefCell};
use std::fmt;

use crate::digest::Digest;
use crate::engine::{RunLimits, RunOutcome, Simulation, StopReason, World};
use crate::time::SimTime;

/// The first point where two runs of the same scenario differ.
///
/// `first` and `second` are `(time, seq, description)` of the event each run
/// processed at position `index` (0-based, counted from the start of the
/// checked run). When a run had already stopped there, its `seq` is
/// [`Divergence::ENDED`], its time is where its clock stopped, and the
/// description says why it stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    pub index: u64,
    pub first: (SimTime, u64, String),
    pub second: (SimTime, u64, String),
}

impl Divergence {
    /// The `seq` used for a run that had no event at `index`. Never a real
    /// seq: the event queue refuses to issue it.
    pub const ENDED: u64 = u64::MAX;

    pub fn first_ended_early(&self) -> bool {
        self.first.1 == Self::ENDED
    }

    pub fn second_ended_early(&self) -> bool {
        self.second.1 == Self::ENDED
    }
}

fn describe_side(f: &mut fmt::Formatter<'_>, side: &(SimTime, u64, String)) -> fmt::Result {
    let (time, seq, description) = side;
    if *seq == Divergence::ENDED {
        write!(f, "ended early at t={time} ({description})")
    } else {
        write!(f, "t={time}, seq={seq}, {description}")
    }
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "runs diverge at event #{}: first run: ", self.index)?;
        describe_side(f, &self.first)?;
        f.write_str("; second run: ")?;
        describe_side(f, &self.second)
    }
}

/// `(time, seq, running digest)` per event: 24 bytes, which is what bounds
/// the memory of a check. Use `limits.max_events` for very long scenarios.
type TraceRecord = (SimTime, u64, Digest);

fn ended(sim_now: SimTime, events: usize, reason: &StopReason) -> (SimTime, u64, String) {
    (
        sim_now,
        Divergence::ENDED,
        format!("after {events} events: {reason}"),
    )
}

/// Runs `make()` twice under `limits` and compares the traces event by event.
///
/// Returns the final digest and the number of events processed if both runs
/// agree, otherwise the first [`Divergence`]. Events are compared by time,
/// seq and the running digest after each was handled (which covers whatever
/// `digest_event` and `digest_effects` write), so the divergence names the
/// event whose handling first differed: a different event, or the same event
/// with different effects (another node chosen, another name, another
/// message).
///
/// Descriptions are produced only for the divergent event, so the normal path
/// does not allocate per event: each side is run once more up to that index
/// and described there. If such a replay does not retrace its run (the
/// scenario is non-deterministic after all), the description says so rather
/// than describing an unrelated event.
pub fn check_determinism<W: World>(
    make: impl Fn() -> Simulation<W>,
    limits: RunLimits,
) -> Result<(Digest, u64), Divergence>
where
    W::Event: Clone,
{
    let mut trace: Vec<TraceRecord> = Vec::new();
    let mut first = make();
    let first_stop = match first.run_hooked(
        limits,
        |_, _| true,
        |e, _| {
            trace.push((e.time, e.seq, e.digest));
            true
        },
    ) {
        RunOutcome::Stopped(reason) => reason,
        RunOutcome::Aborted => unreachable!("the hooks never abort"),
    };

    let mut second = make();
    let mut matched = 0usize;
    // The second run's current event, kept (events are small) so that a
    // difference found after handling it can still be described.
    let current: RefCell<Option<W::Event>> = RefCell::new(None);
    let mut mismatch: Option<(SimTime, u64, String)> = None;
    let second_outcome = second.run_hooked(
        limits,
        |_, event| {
            *current.borrow_mut() = Some(event.clone());
            true
        },
        |e, world| {
            if trace.get(matched) == Some(&(e.time, e.seq, e.digest)) {
                matched += 1;
                true
            } else {
                let event = current.borrow();
                let mut description = event.as_ref().map_or_else(String::new, W::describe_event);
                with_effects(&mut description, world);
                mismatch = Some((e.time, e.seq, description));
                false
            }
        },
    );

    let index = matched;
    let second_side = match (mismatch, second_outcome) {
        (Some(side), _) => side,
        (None, RunOutcome::Stopped(reason)) if matched < trace.len() => {
            ended(second.now(), matched, &reason)
        }
        (None, _) => return Ok((first.digest(), trace.len() as u64)),
    };
    let first_side = if index < trace.len() {
        describe_first_run_event(&make, limits, &trace, index)
    } else {
        ended(first.now(), trace.len(), &first_stop)
    };
    Err(Divergence {
        index: index as u64,
        first: first_side,
        second: second_side,
    })
}

/// Re-runs the scenario to describe the event the first run processed at
/// `index` and what handling it produced, checking on the way that it
/// retraces the first run.
fn describe_first_run_event<W: World>(
    make: &impl Fn() -> Simulation<W>,
    limits: RunLimits,
    trace: &[TraceRecord],
    index: usize,
) -> (SimTime, u64, String) {
    // Both hooks read and write these; the loop calls them one at a time.
    let position = Cell::new(0usize);
    let at: Cell<Option<(SimTime, u64)>> = Cell::new(None);
    let description: RefCell<Option<String>> = RefCell::new(None);
    let mut replay = make();
    let outcome = replay.run_hooked(
        limits,
        |e, event| {
            if position.get() == index {
                at.set(Some((e.time, e.seq)));
                *description.borrow_mut() = Some(W::describe_event(event));
            }
            true
        },
        |e, world| {
            let p = position.get();
            let retraced = trace.get(p) == Some(&(e.time, e.seq, e.digest));
            if !retraced {
                *description.borrow_mut() = Some(format!(
                    "event not reproducible: a third run diverged from the first at event #{p}"
                ));
                return false;
            }
            if p == index {
                if let Some(d) = description.borrow_mut().as_mut() {
                    with_effects(d, world);
                }
                return false;
            }
            position.set(p + 1);
            true
        },
    );
    let (time, seq) = at.get().unwrap_or_else(|| {
        trace
            .get(index)
            .map_or((replay.now(), Divergence::ENDED), |t| (t.0, t.1))
    });
    let description = description.into_inner().unwrap_or_else(|| match outcome {
        RunOutcome::Stopped(reason) => format!(
            "event not reproducible: a third run stopped after {} events ({reason})",
            position.get()
        ),
        RunOutcome::Aborted => unreachable!("aborts always set a description"),
    });
    (time, seq, description)
}

/// Appends what handling the event produced, when the world says.
fn with_effects<W: World>(description: &mut String, world: &W) {
    let effects = world.describe_effects();
    if !effects.is_empty() {
        description.push_str(" → ");
        description.push_str(&effects);
    }
}
