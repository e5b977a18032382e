//! Scheduler throughput: pods scheduled (and bound) per second of wall time on clusters of
//! 100 to 15,000 nodes, with the default profile, once with upstream's adaptive
//! `percentageOfNodesToScore` and once scoring every node.
//!
//! Each iteration schedules a batch of pods from a ReplicaSet-like template onto a fresh copy
//! of the cluster (the copy is made, and dropped, outside the timed section), binding each pod as the
//! scheduler decides, so later pods see a fuller cluster as they would in a real run.
//!
//! The many-Deployments case is the scale scenario's steady state: 5,000 nodes in 3 zones
//! already running 1,490 Deployments of 100 replicas each (distinct `app` labels, each
//! ReplicaSet's selector registered, so PodTopologySpread's system default constraints apply
//! to every pod), then each iteration schedules 10 more Deployments' 1,000 pods — every 100
//! pods a selector no cycle has seen.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use models::api::{
    LabelSelector, Labels, Node, NodeId, OwnerKind, OwnerRef, Pod, ResourceList, WorkloadId,
};
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

/// Deployments in the many-Deployments cluster before the timed batch, and their replicas.
const DEPLOYMENTS_BOUND: usize = 1_490;
const REPLICAS: usize = 100;
const MANY_DEPLOYMENTS_NODES: usize = 5_000;

fn pods(n: usize) -> Vec<Pod> {
    replica_set_pods("web", 0, n)
}

/// `n` pods of the ReplicaSet `app` (workload `id`), labelled `app=<app>`.
fn replica_set_pods(app: &str, id: u32, n: usize) -> Vec<Pod> {
    (0..n)
        .map(|i| Pod {
            name: format!("{app}-{i}"),
            labels: [("app", app)].into_iter().collect(),
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
                name: app.into(),
                id: WorkloadId(id),
            }),
            ..Default::default()
        })
        .collect()
}

fn deployment_name(d: usize) -> String {
    format!("deploy-{d}")
}

/// Registers Deployment `d`'s ReplicaSet selector, as the API server does when it is created.
fn register_selector(store: &mut Store, d: usize) {
    let app = deployment_name(d);
    store.owner_selectors.insert(
        (OwnerKind::ReplicaSet, WorkloadId(d as u32)),
        LabelSelector::from_match_labels([("app", app.as_str())]),
    );
}

/// The many-Deployments cluster: `DEPLOYMENTS_BOUND` Deployments' pods bound round-robin over
/// the nodes (a Deployment's replicas on consecutive nodes, so each spreads over all zones),
/// and the selectors of the Deployments the timed batch creates.
fn many_deployments_cluster() -> Store {
    let mut store = cluster(MANY_DEPLOYMENTS_NODES);
    let nodes: Vec<NodeId> = store.live_nodes().map(|n| n.id).collect();
    let mut next = 0;
    for d in 0..DEPLOYMENTS_BOUND {
        register_selector(&mut store, d);
        for pod in replica_set_pods(&deployment_name(d), d as u32, REPLICAS) {
            let id = store.add_pod(pod, SimTime::ZERO);
            store.bind(id, nodes[next % nodes.len()], SimTime::ZERO);
            next += 1;
        }
    }
    for d in DEPLOYMENTS_BOUND..DEPLOYMENTS_BOUND + PODS_PER_BATCH / REPLICAS {
        register_selector(&mut store, d);
    }
    store
}

/// The timed batch of the many-Deployments case: the next Deployments' pods, one Deployment
/// after the other.
fn many_deployments_batch() -> Vec<Pod> {
    (DEPLOYMENTS_BOUND..DEPLOYMENTS_BOUND + PODS_PER_BATCH / REPLICAS)
        .flat_map(|d| replica_set_pods(&deployment_name(d), d as u32, REPLICAS))
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
                        let bound = schedule_batch(&mut store, &mut sched, &batch, &mut rng);
                        // Returned, so the copy is dropped outside the timed section too.
                        (black_box(bound), store)
                    },
                    BatchSize::LargeInput,
                );
            });
        }
        group.finish();
    }
}

fn bench_many_deployments(c: &mut Criterion) {
    let base = many_deployments_cluster();
    let batch = many_deployments_batch();
    for (label, percentage) in [("adaptive", None), ("all-nodes", Some(100))] {
        let mut group = c.benchmark_group(format!("many_deployments/{label}"));
        group.sample_size(10);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(5));
        group.throughput(Throughput::Elements(batch.len() as u64));
        group.bench_function(format!("{MANY_DEPLOYMENTS_NODES}-nodes"), |b| {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            b.iter_batched(
                || (base.clone(), scheduler(percentage)),
                |(mut store, mut sched)| {
                    let bound = schedule_batch(&mut store, &mut sched, &batch, &mut rng);
                    (black_box(bound), store)
                },
                BatchSize::LargeInput,
            );
        });
        group.finish();
    }
}

criterion_group!(benches, bench_scheduler, bench_many_deployments);
criterion_main!(benches);
