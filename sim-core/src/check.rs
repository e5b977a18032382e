//! Determinism check: run the same scenario twice and find the first event
//! where the traces part.

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
/// seq and running digest (which covers whatever `digest_event` writes), so a
/// difference in any earlier event shows up no later than the next event.
///
/// Descriptions are produced only for the divergent event, so the normal path
/// does not allocate per event. The second run's event is described on the
/// spot; for the first run's, the scenario is run a third time up to that
/// index. If that third run does not reproduce the first one's trace (the
/// scenario is non-deterministic after all), the description says so rather
/// than describing an unrelated event.
pub fn check_determinism<W: World>(
    make: impl Fn() -> Simulation<W>,
    limits: RunLimits,
) -> Result<(Digest, u64), Divergence> {
    let mut trace: Vec<TraceRecord> = Vec::new();
    let mut first = make();
    let first_stop = match first.run_hooked(
        limits,
        |e, _| {
            trace.push((e.time, e.seq, e.digest));
            true
        },
        |_| {},
    ) {
        RunOutcome::Stopped(reason) => reason,
        RunOutcome::Aborted => unreachable!("the hook never aborts"),
    };

    let mut second = make();
    let mut matched = 0usize;
    let mut mismatch: Option<(SimTime, u64, String)> = None;
    let second_outcome = second.run_hooked(
        limits,
        |e, event| {
            if trace.get(matched) == Some(&(e.time, e.seq, e.digest)) {
                matched += 1;
                true
            } else {
                mismatch = Some((e.time, e.seq, W::describe_event(event)));
                false
            }
        },
        |_| {},
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
/// `index`, checking on the way that it retraces the first run.
fn describe_first_run_event<W: World>(
    make: &impl Fn() -> Simulation<W>,
    limits: RunLimits,
    trace: &[TraceRecord],
    index: usize,
) -> (SimTime, u64, String) {
    let (time, seq, _) = trace[index];
    let mut position = 0usize;
    let mut description: Option<String> = None;
    let mut replay = make();
    let outcome = replay.run_hooked(
        limits,
        |e, event| {
            if trace.get(position) != Some(&(e.time, e.seq, e.digest)) {
                description = Some(format!(
                    "event not reproducible: a third run diverged from the first at event #{position}"
                ));
                return false;
            }
            if position == index {
                description = Some(W::describe_event(event));
                return false;
            }
            position += 1;
            true
        },
        |_| {},
    );
    let description = description.unwrap_or_else(|| match outcome {
        RunOutcome::Stopped(reason) => {
            format!(
                "event not reproducible: a third run stopped after {position} events ({reason})"
            )
        }
        RunOutcome::Aborted => unreachable!("aborts always set a description"),
    });
    (time, seq, description)
}
