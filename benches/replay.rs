//! End-to-end replay of the openb production trace (1,523 nodes, 8,152 pods): loading the
//! scenario and its CSVs, building the cluster, and simulating every arrival, scheduling
//! cycle, start and departure to the trace's end. Budget: under 2 s per replay.
//!
//! Needs `../shared/data/openb` beside the repository (the bench says so and exits if absent).

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use models::run::{RunOptions, run};
use models::scenario;

fn bench_replay(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/openb-replay.yaml");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/openb");
    if !data.is_dir() {
        eprintln!("skipping: {} not found", data.display());
        return;
    }
    let registry = models::policies::registry();
    let mut group = c.benchmark_group("openb");
    group.sample_size(10);
    for (name, file) in [
        ("replay-recorded", path.clone()),
        (
            "replay-fill",
            path.with_file_name("openb-gpu-policies.yaml"),
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let s = scenario::load(&file).expect("scenario loads");
                let o = run(&s, &registry, &RunOptions::default(), |_, _| {}).expect("runs");
                assert_eq!(o.summary.pods.total, 8152);
                o.summary.events_processed
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_replay);
criterion_main!(benches);
