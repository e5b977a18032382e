//! The cluster's own series: cluster-wide, per pool, per node (opt-in) and per workload.
//!
//! A sample costs O(nodes + pods alive or created since the last sample + workloads): the
//! pods are scanned from a list of those alive at the last sample plus the ones created
//! since, not from every pod the run ever had. Series ids are cached per pool, node and
//! workload, so a sample names nothing and allocates nothing once its objects are known.

use std::collections::BTreeMap;

use sim_core::SimTime;

use super::{Recorder, SeriesId};
use crate::api::{OwnerKind, PodId, PodPhase};
use crate::apiserver::ConditionStatus;
use crate::cluster::Cluster;
use crate::gpu::{GPU_RESOURCE, MILLI_PER_GPU};
use crate::summary::MANIFEST_POOL;

/// The object name of the cluster-wide series.
pub const CLUSTER: &str = "cluster";

#[derive(Clone, Copy, Debug)]
struct ClusterIds {
    nodes: SeriesId,
    nodes_ready: SeriesId,
    pods_pending: SeriesId,
    pods_running: SeriesId,
    pods_succeeded: SeriesId,
    pods_failed: SeriesId,
    pods_unschedulable: SeriesId,
    resources: ResourceIds,
    utilization_cpu: SeriesId,
    utilization_memory: SeriesId,
    node_hours: SeriesId,
}

#[derive(Clone, Copy, Debug)]
struct ResourceIds {
    cpu_requested: SeriesId,
    cpu_allocatable: SeriesId,
    memory_requested: SeriesId,
    memory_allocatable: SeriesId,
}

impl ResourceIds {
    fn new(rec: &mut Recorder, object: &str) -> Self {
        ResourceIds {
            cpu_requested: rec.series("cpu_requested_millis", object),
            cpu_allocatable: rec.series("cpu_allocatable_millis", object),
            memory_requested: rec.series("memory_requested_bytes", object),
            memory_allocatable: rec.series("memory_allocatable_bytes", object),
        }
    }

    fn set(&self, rec: &mut Recorder, t: &Tally) {
        rec.set(self.cpu_requested, t.cpu_requested as f64);
        rec.set(self.cpu_allocatable, t.cpu_allocatable as f64);
        rec.set(self.memory_requested, t.memory_requested as f64);
        rec.set(self.memory_allocatable, t.memory_allocatable as f64);
    }
}

#[derive(Clone, Debug)]
struct PoolState {
    nodes: SeriesId,
    resources: ResourceIds,
    node_hours_id: SeriesId,
    cost: Option<(SeriesId, f64)>,
    /// Nodes at the last sample, and node-hours up to it.
    last_nodes: u64,
    node_hours: f64,
    tally: Tally,
}

/// Sums over the nodes of a pool or of the cluster at one sample.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    nodes: u64,
    cpu_requested: i64,
    cpu_allocatable: i64,
    memory_requested: i64,
    memory_allocatable: i64,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.nodes += other.nodes;
        self.cpu_requested += other.cpu_requested;
        self.cpu_allocatable += other.cpu_allocatable;
        self.memory_requested += other.memory_requested;
        self.memory_allocatable += other.memory_allocatable;
    }
}

#[derive(Clone, Copy, Debug)]
struct NodeIds {
    ready: SeriesId,
    pods: SeriesId,
    cpu_requested: SeriesId,
    memory_requested: SeriesId,
}

/// What the cluster's sampling carries from one sample to the next.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClusterState {
    cost_per_hour: BTreeMap<String, f64>,
    ids: Option<ClusterIds>,
    /// `gpus_requested`, `gpus_allocatable`, `utilization_gpu`: named once the cluster has a GPU.
    gpu_ids: Option<[SeriesId; 3]>,
    /// The cluster's total cost, named when some pool has a price.
    cost_id: Option<SeriesId>,
    pools: Vec<PoolState>,
    pool_by_name: BTreeMap<String, usize>,
    /// Each node's pool (index into `pools`), by node index.
    node_pool: Vec<usize>,
    node_ids: Vec<Option<NodeIds>>,
    last_nodes: u64,
    node_hours: f64,
    /// Pods not deleted at the last sample, and how many pod records were seen then.
    live_pods: Vec<PodId>,
    pods_seen: usize,
    workloads: BTreeMap<(OwnerKind, u32), [SeriesId; 3]>,
}

impl ClusterState {
    pub(crate) fn new(cost_per_hour: BTreeMap<String, f64>) -> Self {
        ClusterState {
            cost_per_hour,
            ..ClusterState::default()
        }
    }
}

/// A workload's object name: `deployment/frontend`, or `team-a/deployment/frontend` outside
/// the `default` namespace.
pub fn workload_object(kind: OwnerKind, namespace: &str, name: &str) -> String {
    if namespace == "default" || namespace.is_empty() {
        format!("{}/{name}", kind.resource())
    } else {
        format!("{namespace}/{}/{name}", kind.resource())
    }
}

/// A pool's object name: `pool/<name>`.
pub fn pool_object(pool: &str) -> String {
    format!("pool/{pool}")
}

fn pool_index(st: &mut ClusterState, rec: &mut Recorder, name: &str) -> usize {
    if let Some(&i) = st.pool_by_name.get(name) {
        return i;
    }
    let object = pool_object(name);
    let cost = st
        .cost_per_hour
        .get(name)
        .map(|&c| (rec.series("cost_dollars", &object), c));
    let pool = PoolState {
        nodes: rec.series("nodes", &object),
        resources: ResourceIds::new(rec, &object),
        node_hours_id: rec.series("node_hours", &object),
        cost,
        last_nodes: 0,
        node_hours: 0.0,
        tally: Tally::default(),
    };
    st.pools.push(pool);
    st.pool_by_name.insert(name.to_owned(), st.pools.len() - 1);
    st.pools.len() - 1
}

pub(super) fn sample(cluster: &Cluster, _now: SimTime, rec: &mut Recorder) {
    let mut st = std::mem::take(&mut rec.cluster);
    let hours = rec.resolution().as_secs_f64() / 3600.0;
    let first = rec.samples() == 0;
    let ids = match st.ids {
        Some(ids) => ids,
        None => {
            let ids = ClusterIds {
                nodes: rec.series("nodes", CLUSTER),
                nodes_ready: rec.series("nodes_ready", CLUSTER),
                pods_pending: rec.series("pods_pending", CLUSTER),
                pods_running: rec.series("pods_running", CLUSTER),
                pods_succeeded: rec.series("pods_succeeded", CLUSTER),
                pods_failed: rec.series("pods_failed", CLUSTER),
                pods_unschedulable: rec.series("pods_unschedulable", CLUSTER),
                resources: ResourceIds::new(rec, CLUSTER),
                utilization_cpu: rec.series("utilization_cpu", CLUSTER),
                utilization_memory: rec.series("utilization_memory", CLUSTER),
                node_hours: rec.series("node_hours", CLUSTER),
            };
            if !st.cost_per_hour.is_empty() {
                st.cost_id = Some(rec.series("cost_dollars", CLUSTER));
            }
            st.ids = Some(ids);
            ids
        }
    };
    let store = &cluster.api.store;

    // Nodes, by pool.
    for p in &mut st.pools {
        p.tally = Tally::default();
    }
    let mut total = Tally::default();
    let (mut ready, mut gpu_requested_milli, mut gpu_allocatable) = (0u64, 0i64, 0i64);
    let per_node = rec.config().nodes;
    for info in &store.nodes {
        let i = info.id.index();
        if st.node_pool.len() <= i {
            let pool = info
                .node
                .pool
                .as_deref()
                .unwrap_or(MANIFEST_POOL)
                .to_owned();
            let p = pool_index(&mut st, rec, &pool);
            st.node_pool.push(p);
        }
        if !info.exists {
            continue;
        }
        let node_ready = info.conditions.ready == ConditionStatus::True;
        ready += u64::from(node_ready);
        let t = Tally {
            nodes: 1,
            cpu_requested: info.requested.cpu_milli,
            cpu_allocatable: info.node.allocatable.cpu_milli,
            memory_requested: info.requested.memory,
            memory_allocatable: info.node.allocatable.memory,
        };
        let gpus = info.node.allocatable.extended_amount(GPU_RESOURCE);
        if gpus > 0 {
            // Shares placed by GPUShare are held on the devices, not requested as
            // `nvidia.com/gpu`: both count.
            let shared: i64 = info
                .gpu_free
                .iter()
                .map(|f| i64::from(MILLI_PER_GPU.saturating_sub(*f)))
                .sum();
            gpu_requested_milli +=
                info.requested.extended_amount(GPU_RESOURCE) * i64::from(MILLI_PER_GPU) + shared;
            gpu_allocatable += gpus;
        }
        total.add(&t);
        if let Some(p) = st.node_pool.get(i).and_then(|&p| st.pools.get_mut(p)) {
            p.tally.add(&t);
        }
        if per_node {
            if st.node_ids.len() <= i {
                st.node_ids.resize(i + 1, None);
            }
            let n = *st.node_ids[i].get_or_insert_with(|| {
                let object = format!("node/{}", info.node.name);
                NodeIds {
                    ready: rec.series("ready", &object),
                    pods: rec.series("pods", &object),
                    cpu_requested: rec.series("cpu_requested_millis", &object),
                    memory_requested: rec.series("memory_requested_bytes", &object),
                }
            });
            rec.set(n.ready, f64::from(u8::from(node_ready)));
            rec.set(n.pods, info.pods.len() as f64);
            rec.set(n.cpu_requested, t.cpu_requested as f64);
            rec.set(n.memory_requested, t.memory_requested as f64);
        }
    }

    // Node-hours and cost: each sample's node count held until the next sample.
    let mut cost_total = 0.0;
    for p in &mut st.pools {
        if !first {
            p.node_hours += p.last_nodes as f64 * hours;
        }
        p.last_nodes = p.tally.nodes;
        rec.set(p.nodes, p.tally.nodes as f64);
        p.resources.set(rec, &p.tally);
        rec.set(p.node_hours_id, p.node_hours);
        if let Some((id, per_hour)) = p.cost {
            rec.set(id, p.node_hours * per_hour);
            cost_total += p.node_hours * per_hour;
        }
    }
    if !first {
        st.node_hours += st.last_nodes as f64 * hours;
    }
    st.last_nodes = total.nodes;
    rec.set(ids.nodes, total.nodes as f64);
    rec.set(ids.nodes_ready, ready as f64);
    ids.resources.set(rec, &total);
    let ratio = |a: i64, b: i64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    rec.set(
        ids.utilization_cpu,
        ratio(total.cpu_requested, total.cpu_allocatable),
    );
    rec.set(
        ids.utilization_memory,
        ratio(total.memory_requested, total.memory_allocatable),
    );
    rec.set(ids.node_hours, st.node_hours);
    if let Some(id) = st.cost_id {
        rec.set(id, cost_total);
    }
    if gpu_allocatable > 0 && st.gpu_ids.is_none() {
        st.gpu_ids = Some([
            rec.series("gpus_requested", CLUSTER),
            rec.series("gpus_allocatable", CLUSTER),
            rec.series("utilization_gpu", CLUSTER),
        ]);
    }
    if let Some([req, alloc, util]) = st.gpu_ids {
        let milli = f64::from(MILLI_PER_GPU);
        rec.set(req, gpu_requested_milli as f64 / milli);
        rec.set(alloc, gpu_allocatable as f64);
        rec.set(
            util,
            ratio(
                gpu_requested_milli,
                gpu_allocatable * i64::from(MILLI_PER_GPU),
            ),
        );
    }

    // Pods by phase: those alive at the last sample and those created since.
    let seen = st.pods_seen.min(store.pods.len());
    st.live_pods.retain(|p| store.pod(*p).is_active());
    st.live_pods.extend(
        store.pods[seen..]
            .iter()
            .filter(|p| p.is_active())
            .map(|p| p.id),
    );
    st.pods_seen = store.pods.len();
    let mut phases = [0u64; 4];
    for p in &st.live_pods {
        let i = match store.pod(*p).phase {
            PodPhase::Pending => 0,
            PodPhase::Running => 1,
            PodPhase::Succeeded => 2,
            PodPhase::Failed => 3,
        };
        phases[i] += 1;
    }
    rec.set(ids.pods_pending, phases[0] as f64);
    rec.set(ids.pods_running, phases[1] as f64);
    rec.set(ids.pods_succeeded, phases[2] as f64);
    rec.set(ids.pods_failed, phases[3] as f64);
    rec.set(
        ids.pods_unschedulable,
        cluster.scheduler.queue.unschedulable_len() as f64,
    );

    // Workloads: desired, ready and available replicas.
    let api = &cluster.api;
    let mut workload = |st: &mut ClusterState,
                        kind: OwnerKind,
                        id: u32,
                        namespace: &str,
                        name: &str,
                        values: [i32; 3]| {
        let ids = *st.workloads.entry((kind, id)).or_insert_with(|| {
            let object = workload_object(kind, namespace, name);
            [
                rec.series("replicas_desired", &object),
                rec.series("replicas_ready", &object),
                rec.series("replicas_available", &object),
            ]
        });
        for (id, v) in ids.into_iter().zip(values) {
            rec.set(id, f64::from(v));
        }
    };
    for d in api.deployments.iter().filter(|d| d.exists()) {
        let s = &d.status;
        workload(
            &mut st,
            OwnerKind::Deployment,
            d.id.0,
            &d.d.namespace,
            &d.d.name,
            [d.d.replicas, s.ready_replicas, s.available_replicas],
        );
    }
    for r in api
        .replica_sets
        .iter()
        .filter(|r| !r.deleted && r.rs.owner.is_none())
    {
        let s = &r.status;
        workload(
            &mut st,
            r.rs.kind,
            r.id.0,
            &r.rs.namespace,
            &r.rs.name,
            [r.rs.replicas, s.ready_replicas, s.available_replicas],
        );
    }
    for o in api.stateful_sets.live() {
        let s = &o.status;
        workload(
            &mut st,
            OwnerKind::StatefulSet,
            o.id.0,
            &o.spec.namespace,
            &o.spec.name,
            [o.spec.replicas, s.ready_replicas, s.available_replicas],
        );
    }
    for o in api.daemon_sets.live() {
        let s = &o.status;
        workload(
            &mut st,
            OwnerKind::DaemonSet,
            o.id.0,
            &o.spec.namespace,
            &o.spec.name,
            [
                s.desired_number_scheduled,
                s.number_ready,
                s.number_available,
            ],
        );
    }
    rec.cluster = st;
}
