//! Property: scheduling random pods one by one onto random nodes, binding every selection,
//! never over-commits a node (requests ≤ allocatable for cpu, memory, ephemeral storage, pods
//! and extended resources).

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sim_core::SimTime;

use crate::api::{Node, NodeId, Pod, PodPhase, ResourceList};
use crate::scheduler::{Registry, Scheduler};
use crate::store::{NodeSummary, Store};

const GPU: &str = "nvidia.com/gpu";

fn arb_node() -> impl Strategy<Value = Node> {
    (1i64..=16, 1i64..=64, 0i64..=8, 1i64..=12, 0i64..=100).prop_map(
        |(cores, gib, gpus, pods, disk)| {
            let mut allocatable = ResourceList {
                cpu_milli: cores * 1000,
                memory: gib << 30,
                ephemeral_storage: disk << 30,
                pods,
                extended: Vec::new(),
            };
            if gpus > 0 {
                allocatable.extended.push((GPU.to_string(), gpus));
            }
            Node {
                allocatable,
                ..Node::default()
            }
        },
    )
}

/// A pod of 1–3 containers; a container may leave CPU or memory unset (non-zero defaults count
/// for scoring only).
fn arb_pod() -> impl Strategy<Value = Pod> {
    prop::collection::vec(
        (
            prop::option::of(0i64..=4000),
            prop::option::of(0i64..=8192),
            0i64..=2,
            0i64..=5,
        ),
        1..=3,
    )
    .prop_map(|containers| {
        let mut pod = Pod::default();
        for (cpu, mib, gpus, disk) in containers {
            pod.requests.cpu_milli += cpu.unwrap_or(0);
            pod.requests.memory += mib.unwrap_or(0) << 20;
            pod.requests.ephemeral_storage += disk << 30;
            pod.non_zero_cpu_milli += cpu.unwrap_or(100);
            pod.non_zero_memory += mib.map_or(200 << 20, |m| m << 20);
            if gpus > 0 {
                let have = pod.requests.extended_amount(GPU);
                pod.requests
                    .set(&crate::api::ResourceName::Extended(GPU.into()), have + gpus);
            }
        }
        pod
    })
}

fn assert_not_overcommitted(store: &Store) -> Result<(), TestCaseError> {
    for n in store.live_nodes() {
        let (req, alloc) = (&n.requested, &n.node.allocatable);
        prop_assert!(
            req.cpu_milli <= alloc.cpu_milli,
            "cpu over-committed on {}",
            n.name()
        );
        prop_assert!(
            req.memory <= alloc.memory,
            "memory over-committed on {}",
            n.name()
        );
        prop_assert!(
            req.ephemeral_storage <= alloc.ephemeral_storage,
            "ephemeral storage over-committed on {}",
            n.name()
        );
        prop_assert!(
            n.pods.len() as i64 <= alloc.pods,
            "too many pods on {}",
            n.name()
        );
        for (name, amount) in &req.extended {
            prop_assert!(
                *amount <= alloc.extended_amount(name),
                "{name} over-committed on {}",
                n.name()
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn binding_every_selection_never_overcommits(
        nodes in prop::collection::vec(arb_node(), 1..12),
        pods in prop::collection::vec(arb_pod(), 1..60),
        seed in any::<u64>(),
    ) {
        let mut store = Store::new();
        for (i, mut n) in nodes.into_iter().enumerate() {
            n.name = format!("node-{i}");
            store.add_node(n);
        }
        let mut scheduler = Scheduler::new(None, &Registry::default_plugins()).expect("default profile");
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for (i, mut pod) in pods.into_iter().enumerate() {
            pod.name = format!("pod-{i}");
            let id = store.add_pod(pod.clone(), SimTime::ZERO);
            let result = scheduler.schedule_one(&pod, &store, &mut rng, i % 5 == 0);
            match result.selected {
                Some(node) => store.bind(id, node, SimTime::ZERO),
                None => prop_assert!(result.message.is_some(), "an unschedulable pod says why"),
            }
            assert_not_overcommitted(&store)?;
        }
    }
}

/// One change to the store in [`node_summaries_follow_the_node_records`].
#[derive(Clone, Debug)]
enum StoreOp {
    Bind { pod: usize, node: usize },
    Finish { pod: usize },
    Delete { pod: usize },
    Terminate { pod: usize },
    Cordon { node: usize, on: bool },
}

fn arb_op() -> impl Strategy<Value = StoreOp> {
    prop_oneof![
        4 => (0usize..40, 0usize..8).prop_map(|(pod, node)| StoreOp::Bind { pod, node }),
        1 => (0usize..40).prop_map(|pod| StoreOp::Finish { pod }),
        2 => (0usize..40).prop_map(|pod| StoreOp::Delete { pod }),
        1 => (0usize..40).prop_map(|pod| StoreOp::Terminate { pod }),
        1 => (0usize..8, any::<bool>()).prop_map(|(node, on)| StoreOp::Cordon { node, on }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// After any sequence of binds, finishes, graceful and final deletions and cordons, each
    /// node's summary is what its record says.
    #[test]
    fn node_summaries_follow_the_node_records(
        nodes in prop::collection::vec(arb_node(), 1..8),
        pods in prop::collection::vec(arb_pod(), 40),
        ops in prop::collection::vec(arb_op(), 0..120),
    ) {
        let mut store = Store::new();
        let node_count = nodes.len();
        for (i, mut n) in nodes.into_iter().enumerate() {
            n.name = format!("node-{i}");
            store.add_node(n);
        }
        let ids: Vec<_> = pods
            .into_iter()
            .enumerate()
            .map(|(i, mut p)| {
                p.name = format!("pod-{i}");
                store.add_pod(p, SimTime::ZERO)
            })
            .collect();
        for op in ops {
            match op {
                StoreOp::Bind { pod, node } => {
                    let r = store.pod(ids[pod]);
                    if r.node.is_none() && r.is_active() {
                        store.bind(ids[pod], NodeId(u32::try_from(node % node_count).unwrap_or(0)), SimTime::ZERO);
                    }
                }
                StoreOp::Finish { pod } => {
                    store.finish_pod(ids[pod], PodPhase::Succeeded, 0, SimTime::ZERO);
                }
                StoreOp::Delete { pod } => store.delete_pod(ids[pod], SimTime::ZERO),
                StoreOp::Terminate { pod } => {
                    if store.pod(ids[pod]).is_active() {
                        store.mark_terminating(ids[pod], SimTime::ZERO);
                    }
                }
                StoreOp::Cordon { node, on } => {
                    store.nodes[node % node_count].node.unschedulable = on;
                    store.touch_nodes();
                }
            }
            let want: Vec<NodeSummary> = store.nodes.iter().map(NodeSummary::of).collect();
            prop_assert_eq!(store.node_summaries(), want.as_slice());
        }
    }
}
