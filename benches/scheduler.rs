//! Scheduler throughput: pods scheduled (and bound) per second of wall time on clusters of
//! 100 to 15,000 nodes, with the default profile, once with upstream's adaptive
//! `percentageOfNodesToScore` and once scoring every node.
//!
//! Each iteration schedules a batch of pods from a ReplicaSet-like template onto a fresh copy
//! of the cluster (the copy is made outside the timed section), binding each pod as the
//! scheduler decides, so later pods see a fuller cluster as they would in a real run.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use models::api::{Labels, Node, OwnerKind, OwnerRef, Pod, ResourceList, WorkloadId};
use models::scheduler::config::parse_config;
use models::scheduler::{Registry, Scheduler};
use models::store::Store;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sim_core::SimTime;

const PODS_PER_BATCH: usize = 1_000;
const ZONES: [&str; 3] = ["zone-a", "zone-b", "zone-c"];

fn cluster(nodes: usize) -> Store {
    let mut store = Store::new();
    for i in 0..nodes {
        let name = format!("node-{i}");
        let labels: Labels = [
            ("kubernetes.io/hostname", name.as_str()),
            ("topology.kubernetes.io/zone", ZONES[i % ZONES.len()]),
        ]
        .into_iter()
        .collect();
        store.add_node(Node {
            name: name.clone(),
            labels,
            allocatable: ResourceList {
                cpu_milli: 32_000,
                memory: 128 << 30,
                pods: 110,
                ..Default::default()
            },
            ..Default::default()
        });
    }
    store
}

fn pods(n: usize) -> Vec<Pod> {
    (0..n)
        .map(|i| Pod {
            name: format!("web-{i}"),
            labels: [("app", "web")].into_iter().collect(),
            requests: ResourceList {
                cpu_milli: 250,
                memory: 256 << 20,
                pods: 1,
                ..Default::default()
            },
            non_zero_cpu_milli: 250,
            non_zero_memory: 256 << 20,
            owner: Some(OwnerRef {
                kind: OwnerKind::ReplicaSet,
                name: "web".into(),
                id: WorkloadId(0),
            }),
            ..Default::default()
        })
        .collect()
}

fn scheduler(percentage: Option<u32>) -> Scheduler {
    let registry = Registry::default_plugins();
    match percentage {
        None => Scheduler::new(None, &registry).expect("default profile"),
        Some(p) => {
            let value = serde_json::json!({
                "apiVersion": "kubescheduler.config.k8s.io/v1",
                "kind": "KubeSchedulerConfiguration",
                "percentageOfNodesToScore": p,
            });
            let config = parse_config(&value).expect("valid config");
            Scheduler::new(Some(&config), &registry).expect("profile")
        }
    }
}

fn schedule_batch(
    store: &mut Store,
    scheduler: &mut Scheduler,
    pods: &[Pod],
    rng: &mut ChaCha8Rng,
) -> usize {
    let mut bound = 0;
    for pod in pods {
        let id = store.add_pod(pod.clone(), SimTime::ZERO);
        let result = scheduler.schedule_one(pod, store, rng, false);
        if let Some(node) = result.selected {
            store.bind(id, node, SimTime::ZERO);
            bound += 1;
        }
    }
    bound
}

fn bench_scheduler(c: &mut Criterion) {
    let batch = pods(PODS_PER_BATCH);
    for (label, percentage) in [("adaptive", None), ("all-nodes", Some(100))] {
        let mut group = c.benchmark_group(format!("schedule_one/{label}"));
        group.sample_size(10);
        group.throughput(Throughput::Elements(PODS_PER_BATCH as u64));
        for nodes in [100usize, 1_000, 5_000, 15_000] {
            let base = cluster(nodes);
            group.bench_function(format!("{nodes}-nodes"), |b| {
                let mut rng = ChaCha8Rng::seed_from_u64(1);
                b.iter_batched(
                    || (base.clone(), scheduler(percentage)),
                    |(mut store, mut sched)| {
                        black_box(schedule_batch(&mut store, &mut sched, &batch, &mut rng))
                    },
                    BatchSize::LargeInput,
                );
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench_scheduler);
criterion_main!(benches);
