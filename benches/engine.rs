//! Engine throughput under the classic "hold" model: a fixed number of
//! pending events, and every handled event schedules exactly one successor.
//!
//! Increments come from a precomputed table so the numbers measure the queue
//! and the engine loop (including the per-event digest), not the RNG.
//!
//! Run with `cargo bench --bench engine`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use sim_core::{Context, Digest, RunLimits, SimDuration, SimTime, Simulation, World};

/// Events processed per measured iteration.
const EVENTS_PER_ITER: u64 = 1_000_000;
/// Power of two so the table index is a mask; small enough to stay in L1/L2
/// and not compete with the heap for cache.
const TABLE_LEN: usize = 4096;
const MEAN_INCREMENT_NS: f64 = 1_000_000.0;

struct Hold {
    increments: Vec<SimDuration>,
    cursor: usize,
}

impl Hold {
    fn new(seed: u64) -> Self {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        // Exponential increments: the textbook hold-model distribution, and a
        // realistic mix of near and far future events for the heap.
        let increments = (0..TABLE_LEN)
            .map(|_| {
                let u: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
                SimDuration::from_nanos((-u.ln() * MEAN_INCREMENT_NS) as u64)
            })
            .collect();
        Hold {
            increments,
            cursor: 0,
        }
    }

    fn next_increment(&mut self) -> SimDuration {
        let d = self.increments[self.cursor & (TABLE_LEN - 1)];
        self.cursor = self.cursor.wrapping_add(1);
        d
    }
}

impl World for Hold {
    type Event = u32;

    fn handle(&mut self, ctx: &mut Context<'_, u32>, event: u32) {
        let after = self.next_increment();
        ctx.schedule(after, event);
    }

    fn digest_event(event: &u32, digest: &mut Digest) {
        digest.write_u32(*event);
    }

    fn describe_event(event: &u32) -> String {
        format!("hold #{event}")
    }
}

/// A simulation with `pending` events in steady state: pre-filled, then run
/// for a few rounds so the heap shape reflects the hold process rather than
/// the initial fill.
fn steady_state(pending: u32) -> Simulation<Hold> {
    let mut sim = Simulation::new(Hold::new(7), 1);
    for id in 0..pending {
        let at = SimTime::ZERO + sim.world_mut().next_increment();
        sim.schedule_at(at, id);
    }
    sim.run(RunLimits::until(SimTime::MAX).with_max_events(2 * u64::from(pending)));
    sim
}

fn hold(c: &mut Criterion) {
    let mut group = c.benchmark_group("hold");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.throughput(Throughput::Elements(EVENTS_PER_ITER));
    for (pending, measure_secs) in [(10_000u32, 5), (200_000, 8), (1_000_000, 15)] {
        group.measurement_time(Duration::from_secs(measure_secs));
        let mut sim = steady_state(pending);
        group.bench_function(format!("pending_{pending}"), |b| {
            b.iter(|| {
                let stop = sim.run(RunLimits::until(SimTime::MAX).with_max_events(EVENTS_PER_ITER));
                black_box(stop);
            });
        });
        assert_eq!(
            sim.pending(),
            pending as usize,
            "the hold model keeps the queue size constant"
        );
        black_box(sim.digest());
    }
    group.finish();
}

criterion_group!(benches, hold);
criterion_main!(benches);
