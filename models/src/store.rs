//! The object store: every node and pod of the run, indexed by dense typed ids.
//!
//! The scheduler's snapshot is the store itself: a scheduling cycle runs inside one event
//! handler, so nothing can change under it, and keeping the per-node aggregates
//! (`requested`, `non_zero_requested`) up to date on bind/unbind is what makes filtering cheap.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use sim_core::SimTime;

use crate::api::{
    LabelSelector, Labels, Node, NodeId, OwnerKind, Pod, PodId, PodPhase, ResourceList, WorkloadId,
};
use crate::gpu;

/// A node plus what the scheduler needs to know about the pods on it
/// (upstream `framework.NodeInfo`).
#[derive(Clone, Debug)]
pub struct NodeInfo {
    pub id: NodeId,
    pub node: Node,
    /// Sum of the requests of the pods assigned to this node (`NodeInfo.Requested`).
    pub requested: ResourceList,
    /// Sum of non-zero CPU/memory requests (`NodeInfo.NonZeroRequested`), for scoring.
    pub non_zero_requested_cpu_milli: i64,
    pub non_zero_requested_memory: i64,
    /// Pods assigned to this node, in assignment order.
    pub pods: Vec<PodId>,
    /// False once the node is gone (deleted or crashed); kept so ids stay dense.
    pub exists: bool,
    /// Free milli-GPUs of each GPU device (1000 when idle), one entry per allocatable
    /// `nvidia.com/gpu`; see `crate::gpu`.
    pub gpu_free: Vec<u32>,
    /// `status.conditions`: Ready and the pressure conditions.
    pub conditions: crate::apiserver::NodeConditions,
    /// When the node registered and when it was deleted, for placement over time in reports
    /// (the API server sets them; nodes created before the run starts keep zero).
    pub added_at: SimTime,
    pub removed_at: Option<SimTime>,
}

impl NodeInfo {
    pub fn name(&self) -> &str {
        &self.node.name
    }
}

/// The numbers and flags of a node that a scheduling cycle's per-node passes read (resource
/// fit, the resource scorers, the checks for taints, cordon and images), packed in 80 bytes
/// and kept in one array by node index ([`Store::node_summaries`]): scanning thousands of
/// nodes then streams through one small array instead of touching several cache lines of each
/// [`NodeInfo`]. Always equal to [`NodeSummary::of`] the node's record; the store keeps it so
/// wherever those values change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeSummary {
    pub allocatable_cpu_milli: i64,
    pub allocatable_memory: i64,
    pub allocatable_ephemeral_storage: i64,
    pub allocatable_pods: i64,
    /// `NodeInfo.requested`, without the extended resources.
    pub requested_cpu_milli: i64,
    pub requested_memory: i64,
    pub requested_ephemeral_storage: i64,
    pub non_zero_requested_cpu_milli: i64,
    pub non_zero_requested_memory: i64,
    /// `NodeInfo.pods.len()`, saturated.
    pub pod_count: u32,
    pub unschedulable: bool,
    pub has_taints: bool,
    pub has_images: bool,
    pub exists: bool,
}

impl NodeSummary {
    pub fn of(info: &NodeInfo) -> Self {
        let alloc = &info.node.allocatable;
        Self {
            allocatable_cpu_milli: alloc.cpu_milli,
            allocatable_memory: alloc.memory,
            allocatable_ephemeral_storage: alloc.ephemeral_storage,
            allocatable_pods: alloc.pods,
            requested_cpu_milli: info.requested.cpu_milli,
            requested_memory: info.requested.memory,
            requested_ephemeral_storage: info.requested.ephemeral_storage,
            non_zero_requested_cpu_milli: info.non_zero_requested_cpu_milli,
            non_zero_requested_memory: info.non_zero_requested_memory,
            pod_count: u32::try_from(info.pods.len()).unwrap_or(u32::MAX),
            unschedulable: info.node.unschedulable,
            has_taints: !info.node.taints.is_empty(),
            has_images: !info.node.images.is_empty(),
            exists: info.exists,
        }
    }
}

/// A pod plus its lifecycle in this run.
#[derive(Clone, Debug)]
pub struct PodRecord {
    pub id: PodId,
    pub pod: Pod,
    pub phase: PodPhase,
    pub node: Option<NodeId>,
    pub created_at: SimTime,
    pub scheduled_at: Option<SimTime>,
    pub running_at: Option<SimTime>,
    /// Set when the pod is deleted; the record stays for reports.
    pub deleted_at: Option<SimTime>,
    /// Indices of the GPU devices the pod got on its node (empty without a GPU request). Kept
    /// after deletion, for reports.
    pub gpu_devices: Vec<u32>,
    /// `metadata.deletionTimestamp`: graceful deletion started (e.g. a preemption victim). The
    /// pod keeps its node's resources until it is actually deleted (`deleted_at`).
    pub deletion_timestamp: Option<SimTime>,
    /// The pod carries the `DisruptionTarget` condition with reason `PreemptionByScheduler`.
    pub preempted_by_scheduler: bool,
    /// The `Ready` condition, and since when it holds.
    pub ready: bool,
    pub ready_since: Option<SimTime>,
    /// `status.startTime` of a pod from a dump, relative to the scenario start (negative:
    /// before it), in nanoseconds; pods started in the run use `running_at`.
    pub start_time_offset_ns: Option<i64>,
    /// Container restarts.
    pub restarts: i32,
    /// The pod ended (Succeeded or Failed) and gave its node's resources back, as the
    /// scheduler's cache forgets terminated pods; the record stays until the pod is deleted.
    pub released: bool,
    /// When the pod's containers ended, and the main container's exit code.
    pub finished_at: Option<SimTime>,
    pub exit_code: Option<i32>,
    /// `status.reason` and `status.message` of a pod the kubelet failed itself (`Evicted`).
    pub reason: Option<&'static str>,
    pub message: Option<String>,
    /// The main container's last termination reason as the kubelet reports it: `OOMKilled`,
    /// `Error` or `Completed`.
    pub last_termination_reason: Option<&'static str>,
}

impl PodRecord {
    /// A pod just created at `now`: Pending, on no node, nothing happened to it yet.
    fn created(id: PodId, pod: Pod, now: SimTime) -> PodRecord {
        PodRecord {
            id,
            pod,
            phase: PodPhase::Pending,
            node: None,
            created_at: now,
            scheduled_at: None,
            running_at: None,
            deleted_at: None,
            gpu_devices: Vec::new(),
            deletion_timestamp: None,
            preempted_by_scheduler: false,
            ready: false,
            ready_since: None,
            start_time_offset_ns: None,
            restarts: 0,
            released: false,
            finished_at: None,
            exit_code: None,
            reason: None,
            message: None,
            last_termination_reason: None,
        }
    }

    pub fn is_active(&self) -> bool {
        self.deleted_at.is_none()
    }

    /// The pod is still `node`'s to run, in `phase`: not deleted, not being deleted, still
    /// bound there (what a kubelet checks before acting on a timer it set earlier).
    pub fn is_live_on(&self, node: crate::api::NodeId, phase: PodPhase) -> bool {
        self.is_active()
            && self.deletion_timestamp.is_none()
            && self.node == Some(node)
            && self.phase == phase
    }

    /// `status.startTime` as nanoseconds from the scenario start (negative for pods a dump
    /// says started before it); `None` until the pod started.
    pub fn start_time_ns(&self) -> Option<i128> {
        self.start_time_offset_ns
            .map(i128::from)
            .or(self.running_at.map(|t| i128::from(t.as_nanos())))
    }
}

#[derive(Clone, Debug, Default)]
pub struct Store {
    pub nodes: Vec<NodeInfo>,
    /// [`NodeSummary`] of each node, by node index.
    summaries: Vec<NodeSummary>,
    /// Every pod of the run by id, in creation order. Records are boxed, so that the vector's
    /// spare capacity while it grows costs little; a retired pod's slot keeps only where its
    /// row went, and the slots of the oldest retired pods are forgotten (see [`PodSlots`]).
    pub pods: PodSlots,
    pub(crate) retiring: crate::retired_pods::Retiring,
    /// What `pod_mut` hands out for a retired pod: written to, never read.
    scratch: Scratch,
    /// Pods not deleted, for the API server's cap on pods at once.
    live_pods: u64,
    node_by_name: BTreeMap<String, NodeId>,
    pod_by_key: BTreeMap<(String, String), PodId>,
    /// Labels of each Namespace object, for pod affinity's `namespaceSelector`. A namespace
    /// missing here counts as one whose only label is `kubernetes.io/metadata.name`, which the
    /// API server puts on every namespace.
    pub namespace_labels: BTreeMap<String, Labels>,
    /// `spec.selector` of each Service that has one, by (namespace, name): PodTopologySpread's
    /// default constraints select the pods of the Services a pod belongs to (upstream
    /// `helper.DefaultSelector`).
    pub service_selectors: BTreeMap<(String, String), Labels>,
    /// `spec.selector` of each ReplicaSet, by the owner reference its pods carry, for the same
    /// default constraints.
    pub owner_selectors: BTreeMap<(OwnerKind, WorkloadId), LabelSelector>,
    /// Bound pods with pod affinity or anti-affinity, and those with required anti-affinity
    /// (upstream NodeInfo's `PodsWithAffinity` / `PodsWithRequiredAntiAffinity`, here for the
    /// whole cluster): InterPodAffinity skips its work when they are empty.
    pods_with_affinity: Vec<PodId>,
    pods_with_required_anti_affinity: Vec<PodId>,
    /// Bound pods whose graceful deletion was logged (see `mark_terminating`).
    termination_logged: BTreeSet<PodId>,
    /// The pods PodTopologySpread counts (bound, not deleted, graceful deletion not logged) by
    /// namespace, label key and label value, so counting the pods a selector matches need not
    /// scan every bound pod.
    counted_by_label: LabelPostings,
    /// Pods not deleted, by namespace and label (see [`crate::pod_index`]).
    active_by_label: crate::pod_index::PodLabelIndex,
    changes: ChangeLog,
    /// PodDisruptionBudgets, for preemption (see `scheduler::preemption`).
    pub pdbs: Vec<crate::api::PodDisruptionBudget>,
    /// `spec.replicas` of each workload controller, the disruption controller's "scale".
    pub workload_scales: BTreeMap<(OwnerKind, WorkloadId), i32>,
    /// StorageClasses, PersistentVolumeClaims and PersistentVolumes (written through the API
    /// server, read by the scheduler's volume plugins).
    pub storage: crate::apiserver::Storage,
    /// Pods nominated to each node by preemption (upstream `PodNominator`), in nomination order.
    pub nominated: BTreeMap<NodeId, Vec<PodId>>,
}

impl Store {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_node(&mut self, node: Node) -> NodeId {
        self.changes.node_generation += 1;
        let id = NodeId(u32::try_from(self.nodes.len()).expect("fewer than 2^32 nodes"));
        self.node_by_name.insert(node.name.clone(), id);
        let devices = gpu::device_count(node.allocatable.extended_amount(gpu::GPU_RESOURCE));
        self.nodes.push(NodeInfo {
            id,
            node,
            requested: ResourceList::default(),
            non_zero_requested_cpu_milli: 0,
            non_zero_requested_memory: 0,
            pods: Vec::new(),
            exists: true,
            gpu_free: vec![gpu::MILLI_PER_GPU; devices as usize],
            conditions: crate::apiserver::NodeConditions::default(),
            added_at: SimTime::ZERO,
            removed_at: None,
        });
        self.summaries
            .push(NodeSummary::of(&self.nodes[id.index()]));
        id
    }

    pub fn add_pod(&mut self, pod: Pod, now: SimTime) -> PodId {
        let id = PodId(u32::try_from(self.pods.len()).expect("fewer than 2^32 pods"));
        self.live_pods += 1;
        self.pod_by_key
            .insert((pod.namespace.clone(), pod.name.clone()), id);
        self.active_by_label.insert(id, &pod);
        self.pods
            .push(PodSlot::Kept(Box::new(PodRecord::created(id, pod, now))));
        id
    }

    pub fn node(&self, id: NodeId) -> &NodeInfo {
        &self.nodes[id.index()]
    }

    /// [`NodeSummary`] of every node, by node index. Debug builds check, in
    /// [`Self::node_summary`], that an entry read is what the node's record says.
    pub fn node_summaries(&self) -> &[NodeSummary] {
        &self.summaries
    }

    /// One node's [`NodeSummary`].
    #[inline]
    pub fn node_summary(&self, id: NodeId) -> &NodeSummary {
        let summary = &self.summaries[id.index()];
        debug_assert_eq!(
            *summary,
            NodeSummary::of(&self.nodes[id.index()]),
            "node summary out of date (node changed without touch_nodes?)"
        );
        summary
    }

    /// Pods created and not deleted yet.
    pub fn live_pod_count(&self) -> u64 {
        self.live_pods
    }

    pub fn pod(&self, id: PodId) -> &PodRecord {
        &self.pods[id.index()]
    }

    /// A retired pod's record is gone; changes to it go nowhere.
    pub fn pod_mut(&mut self, id: PodId) -> &mut PodRecord {
        match self.pods.get_mut(id.index()) {
            Some(PodSlot::Kept(r)) => r,
            Some(PodSlot::Retired { .. }) | None => {
                *self.scratch.0 = retired_record();
                &mut self.scratch.0
            }
        }
    }

    /// Every slot, retired ones included, by id.
    pub fn pod_slots(&self) -> &PodSlots {
        &self.pods
    }

    /// The pods whose records are kept (all of them unless the run retires pods), by id.
    pub fn kept_pods(&self) -> impl Iterator<Item = &PodRecord> + Clone {
        self.pods.iter().filter_map(PodSlot::kept)
    }

    pub(crate) fn take_kept(&mut self, id: PodId) -> Option<Box<PodRecord>> {
        let slot = self.pods.get_mut(id.index())?;
        match std::mem::replace(slot, PodSlot::Retired { row_at: 0 }) {
            PodSlot::Kept(r) => Some(r),
            retired => {
                *slot = retired;
                None
            }
        }
    }

    pub(crate) fn put_back(&mut self, id: PodId, record: Box<PodRecord>) {
        if let Some(slot) = self.pods.get_mut(id.index()) {
            *slot = PodSlot::Kept(record);
        }
    }

    pub(crate) fn set_retired(&mut self, id: PodId, row_at: u64) {
        if let Some(slot) = self.pods.get_mut(id.index()) {
            *slot = PodSlot::Retired { row_at };
        }
    }

    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.node_by_name.get(name).copied()
    }

    /// Finds a pod by `name` or `namespace/name`.
    pub fn pod_id(&self, name: &str) -> Option<PodId> {
        let (ns, n) = name.split_once('/').unwrap_or(("default", name));
        self.pod_by_key
            .get(&(ns.to_string(), n.to_string()))
            .copied()
    }

    /// Assigns a pod to a node and accounts its requests (upstream `NodeInfo.AddPod`).
    pub fn bind(&mut self, pod: PodId, node: NodeId, now: SimTime) {
        self.note_placement(pod, node, PlacementKind::Bound);
        self.clear_nomination(pod);
        let Some(record) = self.pods.get_mut(pod.index()).and_then(PodSlot::kept_mut) else {
            return;
        };
        debug_assert!(record.node.is_none(), "pod bound twice");
        record.node = Some(node);
        record.scheduled_at = Some(now);
        let info = &mut self.nodes[node.index()];
        info.requested.add(&record.pod.requests);
        info.non_zero_requested_cpu_milli += record.pod.non_zero_cpu_milli;
        info.non_zero_requested_memory += record.pod.non_zero_memory;
        info.pods.push(pod);
        self.summaries[node.index()] = NodeSummary::of(info);
        if let Some(request) = &record.pod.gpu {
            // GPUShare let the pod through, so the devices are there. A pod that bypassed it
            // (spec.nodeName, or a profile without GPUShare) onto a node without room gets no
            // device rather than over-committing one.
            if let Some(devices) = gpu::assign(&info.gpu_free, request) {
                for &d in &devices {
                    info.gpu_free[d as usize] -= request.milli;
                }
                record.gpu_devices = devices;
            }
        }
    }

    /// A pod's containers ended: it enters a terminal phase and gives back what it held on its
    /// node (upstream's scheduler cache removes terminated pods), but stays in the API until
    /// deleted.
    pub fn finish_pod(&mut self, pod: PodId, phase: PodPhase, exit_code: i32, now: SimTime) {
        let Some(record) = self.pods.get_mut(pod.index()).and_then(PodSlot::kept_mut) else {
            return;
        };
        if record.deleted_at.is_some() || record.released {
            return;
        }
        record.phase = phase;
        record.ready = false;
        record.ready_since = None;
        record.finished_at = Some(now);
        record.exit_code = Some(exit_code);
        if record.node.is_some() {
            self.release_node_resources(pod);
        }
    }

    fn release_node_resources(&mut self, pod: PodId) {
        let record = &self.pods[pod.index()];
        let Some(node) = record.node else { return };
        if record.released {
            return;
        }
        let was_terminating = self.termination_logged.remove(&pod);
        self.note_placement(pod, node, PlacementKind::Removed { was_terminating });
        let Some(record) = self.pods.get_mut(pod.index()).and_then(PodSlot::kept_mut) else {
            return;
        };
        record.released = true;
        let info = &mut self.nodes[node.index()];
        info.requested.sub(&record.pod.requests);
        info.non_zero_requested_cpu_milli -= record.pod.non_zero_cpu_milli;
        info.non_zero_requested_memory -= record.pod.non_zero_memory;
        info.pods.retain(|p| *p != pod);
        self.summaries[node.index()] = NodeSummary::of(info);
        if let Some(request) = &record.pod.gpu {
            for &d in &record.gpu_devices {
                if let Some(free) = info.gpu_free.get_mut(d as usize) {
                    *free = (*free + request.milli).min(gpu::MILLI_PER_GPU);
                }
            }
        }
    }

    /// Deletes a pod, releasing what it held on its node (upstream `NodeInfo.RemovePod`).
    pub fn delete_pod(&mut self, pod: PodId, now: SimTime) {
        if self.pods[pod.index()].deleted_at.is_none() {
            self.release_node_resources(pod);
        }
        self.clear_nomination(pod);
        let Some(record) = self.pods.get_mut(pod.index()).and_then(PodSlot::kept_mut) else {
            return;
        };
        if record.deleted_at.is_some() {
            return;
        }
        record.deleted_at = Some(now);
        self.active_by_label.remove(pod, &record.pod);
        self.live_pods = self.live_pods.saturating_sub(1);
        self.pod_by_key
            .remove(&(record.pod.namespace.clone(), record.pod.name.clone()));
        compact_deleted(&mut record.pod);
        self.note_deletion(pod, now);
    }

    /// Nodes that exist, in id order (the scheduler's node list order).
    pub fn live_nodes(&self) -> impl Iterator<Item = &NodeInfo> {
        self.nodes.iter().filter(|n| n.exists)
    }

    /// Pods not deleted, through the label index: costs the live pods, not every pod the run
    /// ever had. Namespace by namespace, in id order within each.
    pub fn active_pods_indexed(&self) -> impl Iterator<Item = &PodRecord> {
        self.active_by_label.all().map(|id| &*self.pods[id.index()])
    }

    pub fn active_pods(&self) -> impl Iterator<Item = &PodRecord> {
        self.kept_pods().filter(|p| p.is_active())
    }

    /// Pods not deleted in `namespace` that `selector` matches, in id order (a lister's
    /// `Pods(namespace).List(selector)`), found through the label index.
    pub fn active_pods_selected<'s, 'q>(
        &'s self,
        namespace: &'q str,
        selector: &'q LabelSelector,
    ) -> impl Iterator<Item = &'s PodRecord> + use<'s, 'q> {
        self.active_by_label
            .candidates(namespace, selector)
            .map(|id| &*self.pods[id.index()])
            .filter(move |r| {
                r.is_active() && r.pod.namespace == namespace && selector.matches(&r.pod.labels)
            })
    }
}

/// A pod's place in the store: its record, or, once retired, where its `pods.jsonl` row went.
/// Reads as the record; a retired pod reads as a deleted pod with nothing else known.
#[derive(Clone, Debug)]
pub enum PodSlot {
    Kept(Box<PodRecord>),
    Retired { row_at: u64 },
}

impl PodSlot {
    pub fn kept(&self) -> Option<&PodRecord> {
        match self {
            PodSlot::Kept(r) => Some(r),
            PodSlot::Retired { .. } => None,
        }
    }

    pub fn kept_mut(&mut self) -> Option<&mut PodRecord> {
        match self {
            PodSlot::Kept(r) => Some(r),
            PodSlot::Retired { .. } => None,
        }
    }
}

/// Every pod's slot by id. The slots of the oldest pods, once every one of them is retired,
/// are *forgotten*: where their rows went is written to a file in the output set (see
/// `crate::retired_pods`) and they leave memory, so that a long run's slots follow its live
/// and recently deleted pods rather than every pod it ever had. A forgotten pod reads as a
/// retired one. Indexing and `len` count every pod, forgotten ones included; iterating goes
/// over the slots still held, which are every slot unless the run retires pods.
#[derive(Clone, Debug, Default)]
pub struct PodSlots {
    forgotten: usize,
    held: Vec<PodSlot>,
}

/// What a forgotten slot reads as.
static FORGOTTEN: PodSlot = PodSlot::Retired { row_at: 0 };

impl PodSlots {
    /// Every pod the run created.
    pub fn len(&self) -> usize {
        self.forgotten + self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many of the first pods' slots are forgotten.
    pub fn forgotten(&self) -> usize {
        self.forgotten
    }

    /// The slots still held, the first being pod [`Self::forgotten`]'s.
    pub fn held(&self) -> &[PodSlot] {
        &self.held
    }

    pub fn iter(&self) -> std::slice::Iter<'_, PodSlot> {
        self.held.iter()
    }

    pub fn get(&self, index: usize) -> Option<&PodSlot> {
        match index.checked_sub(self.forgotten) {
            Some(i) => self.held.get(i),
            None => Some(&FORGOTTEN),
        }
    }

    pub fn get_mut(&mut self, index: usize) -> Option<&mut PodSlot> {
        let i = index.checked_sub(self.forgotten)?;
        self.held.get_mut(i)
    }

    /// The slots held from pod `from` on (all held ones if `from` is forgotten).
    pub fn since(&self, from: usize) -> &[PodSlot] {
        let start = from.saturating_sub(self.forgotten).min(self.held.len());
        &self.held[start..]
    }

    pub fn reserve(&mut self, additional: usize) {
        self.held.reserve(additional);
    }

    fn push(&mut self, slot: PodSlot) {
        self.held.push(slot);
    }

    /// Forgets the slots before pod `until` (all retired), handing each one's row place to
    /// `note` in id order.
    pub(crate) fn forget_until(&mut self, until: usize, mut note: impl FnMut(u64)) {
        let n = until.saturating_sub(self.forgotten).min(self.held.len());
        for slot in self.held.drain(..n) {
            if let PodSlot::Retired { row_at } = slot {
                note(row_at);
            }
        }
        self.forgotten += n;
    }
}

impl std::ops::Index<usize> for PodSlots {
    type Output = PodSlot;

    fn index(&self, index: usize) -> &PodSlot {
        self.get(index).expect("a pod id the store gave out")
    }
}

impl std::ops::Index<std::ops::RangeFrom<usize>> for PodSlots {
    type Output = [PodSlot];

    /// The slots held from `range.start` on: a forgotten pod is a deleted one, so readers of
    /// the pods created since some point lose nothing they would use.
    fn index(&self, range: std::ops::RangeFrom<usize>) -> &[PodSlot] {
        self.since(range.start)
    }
}

impl<'a> IntoIterator for &'a PodSlots {
    type Item = &'a PodSlot;
    type IntoIter = std::slice::Iter<'a, PodSlot>;

    fn into_iter(self) -> Self::IntoIter {
        self.held.iter()
    }
}

/// What a retired pod reads as.
static RETIRED: std::sync::LazyLock<PodRecord> = std::sync::LazyLock::new(retired_record);

fn retired_record() -> PodRecord {
    PodRecord {
        phase: PodPhase::Succeeded,
        deleted_at: Some(SimTime::ZERO),
        released: true,
        ..PodRecord::created(PodId(u32::MAX), Pod::default(), SimTime::ZERO)
    }
}

impl std::ops::Deref for PodSlot {
    type Target = PodRecord;

    fn deref(&self) -> &PodRecord {
        match self {
            PodSlot::Kept(r) => r,
            PodSlot::Retired { .. } => &RETIRED,
        }
    }
}

#[derive(Clone, Debug)]
struct Scratch(Box<PodRecord>);

impl Default for Scratch {
    fn default() -> Self {
        Scratch(Box::new(retired_record()))
    }
}

/// A deleted pod keeps only what reports and `explain` read of it (identity, owner, what it
/// asked for and ran, its claims, where it went) and what the incremental indexes read when
/// they take it out (labels, pod affinity terms); node constraints, tolerations, containers
/// and annotations go, so a long run's memory follows its live pods rather than every pod it
/// ever had.
pub(crate) fn compact_deleted(pod: &mut Pod) {
    let take = std::mem::take::<String>;
    let slim = Pod {
        name: take(&mut pod.name),
        namespace: take(&mut pod.namespace),
        labels: std::mem::take(&mut pod.labels),
        requests: std::mem::take(&mut pod.requests),
        non_zero_cpu_milli: pod.non_zero_cpu_milli,
        non_zero_memory: pod.non_zero_memory,
        node_name: pod.node_name.take(),
        priority: pod.priority,
        scheduler_name: take(&mut pod.scheduler_name),
        owner: pod.owner.take(),
        gpu: pod.gpu.take(),
        priority_class_name: pod.priority_class_name.take(),
        preemption_policy: pod.preemption_policy,
        termination_grace_period_seconds: pod.termination_grace_period_seconds,
        deletion_cost: pod.deletion_cost,
        restart_policy: pod.restart_policy,
        host_network: pod.host_network,
        hostname: pod.hostname.take(),
        subdomain: pod.subdomain.take(),
        pod_affinity: pod.pod_affinity.take(),
        pod_anti_affinity: pod.pod_anti_affinity.take(),
        images: std::mem::take(&mut pod.images),
        volumes: std::mem::take(&mut pod.volumes),
        // Shared with the pod's template, so keeping it costs a reference; reports count the
        // containers for READY.
        containers: pod.containers.take(),
        ..Pod::default()
    };
    *pod = slim;
}

/// Namespace → label key → label value → pods.
type LabelPostings = BTreeMap<String, BTreeMap<String, BTreeMap<String, BTreeSet<PodId>>>>;

/// What happened to a pod on a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlacementKind {
    /// Bound to the node.
    Bound,
    /// Graceful deletion started ([`Store::mark_terminating`]): upstream PodTopologySpread stops
    /// counting the pod, other plugins still see it on the node.
    Terminating,
    /// Gone from the node; `was_terminating` when a `Terminating` change came first.
    Removed { was_terminating: bool },
}

/// One change to the pods on a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlacementChange {
    pub generation: u64,
    pub pod: PodId,
    pub node: NodeId,
    pub kind: PlacementKind,
}

/// How many recent placements the log keeps: a plugin index older than that is rebuilt.
const CHANGE_LOG_CAPACITY: usize = 1024;

/// Identity of a store instance, so an index built on one store is never used on another.
static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

/// Generation counters and a short log of placements, so scheduler plugins can keep per-cycle
/// aggregates (pods matching a selector per topology domain) up to date incrementally instead of
/// scanning every node each cycle, as upstream NodeInfo generations let its snapshot do.
///
/// Code that edits a node's labels, taints or `exists` in place must call
/// [`Store::touch_nodes`]; bind, delete and add_node keep the log themselves.
#[derive(Debug)]
pub struct ChangeLog {
    /// Unique per store instance; a clone gets a new one (its future diverges).
    id: u64,
    node_generation: u64,
    pod_generation: u64,
    recent: VecDeque<PlacementChange>,
}

impl Default for ChangeLog {
    fn default() -> Self {
        ChangeLog {
            id: NEXT_STORE_ID.fetch_add(1, AtomicOrdering::Relaxed),
            node_generation: 0,
            pod_generation: 0,
            recent: VecDeque::new(),
        }
    }
}

impl Clone for ChangeLog {
    fn clone(&self) -> Self {
        ChangeLog {
            id: NEXT_STORE_ID.fetch_add(1, AtomicOrdering::Relaxed),
            node_generation: self.node_generation,
            pod_generation: self.pod_generation,
            recent: self.recent.clone(),
        }
    }
}

impl ChangeLog {
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Bumped whenever the set of nodes or a node's labels/taints may have changed.
    pub fn node_generation(&self) -> u64 {
        self.node_generation
    }

    /// Bumped on every placement change.
    pub fn pod_generation(&self) -> u64 {
        self.pod_generation
    }

    /// The placements after `generation`, oldest first; `None` when the log no longer reaches
    /// back that far.
    pub fn since(&self, generation: u64) -> Option<impl Iterator<Item = &PlacementChange>> {
        if generation == self.pod_generation {
            return Some(self.recent.range(0..0));
        }
        let oldest = self.recent.front()?.generation;
        if generation + 1 < oldest {
            return None;
        }
        let skip = usize::try_from(generation + 1 - oldest).ok()?;
        Some(self.recent.range(skip.min(self.recent.len())..))
    }
}

impl Store {
    /// Bound pods with pod affinity or anti-affinity (nodes may since have gone).
    pub fn pods_with_affinity(&self) -> &[PodId] {
        &self.pods_with_affinity
    }

    /// Bound pods with required pod anti-affinity terms.
    pub fn pods_with_required_anti_affinity(&self) -> &[PodId] {
        &self.pods_with_required_anti_affinity
    }

    pub fn change_log(&self) -> &ChangeLog {
        &self.changes
    }

    /// Tells the scheduler's indexes that nodes changed (labels, taints, existence).
    pub fn touch_nodes(&mut self) {
        self.changes.node_generation += 1;
        // Which node changed is not said; rare enough (cordon, taints, deletion) to redo all.
        self.summaries.clear();
        self.summaries
            .extend(self.nodes.iter().map(NodeSummary::of));
    }

    /// Starts a pod's graceful deletion: sets `deletion_timestamp` (upstream
    /// `metadata.deletionTimestamp`) and logs it, so PodTopologySpread stops counting the pod
    /// while it is still on its node. Setting the field directly instead leaves the pod counted
    /// until it is deleted.
    pub fn mark_terminating(&mut self, pod: PodId, now: SimTime) {
        let Some(record) = self.pods.get_mut(pod.index()).and_then(PodSlot::kept_mut) else {
            return;
        };
        if record.deletion_timestamp.is_some() || record.deleted_at.is_some() {
            return;
        }
        record.deletion_timestamp = Some(now);
        if let Some(node) = record.node {
            self.termination_logged.insert(pod);
            self.note_placement(pod, node, PlacementKind::Terminating);
        }
    }

    /// Whether the pod's graceful deletion was logged by [`Store::mark_terminating`] (the pods
    /// PodTopologySpread no longer counts).
    pub fn termination_logged(&self, pod: PodId) -> bool {
        self.termination_logged.contains(&pod)
    }

    /// The bound pods whose graceful deletion was logged, in id order: with the pods of
    /// [`Store::counted_pods_labeled`] they make up every pod on a node.
    pub fn termination_logged_pods(&self) -> impl Iterator<Item = PodId> + '_ {
        self.termination_logged.iter().copied()
    }

    /// The bound pods of `namespace` labelled `key=value` that PodTopologySpread counts: not
    /// deleted and without a logged graceful deletion ([`Store::termination_logged`]). Their
    /// nodes may since have gone.
    pub fn counted_pods_labeled(
        &self,
        namespace: &str,
        key: &str,
        value: &str,
    ) -> Option<&BTreeSet<PodId>> {
        self.counted_by_label.get(namespace)?.get(key)?.get(value)
    }

    /// The lists of [`Store::counted_pods_labeled`] for every value of `key` in `namespace`:
    /// the counted pods that carry the label at all.
    pub fn counted_pods_with_key<'s>(
        &'s self,
        namespace: &str,
        key: &str,
    ) -> impl Iterator<Item = &'s BTreeSet<PodId>> + 's {
        self.counted_by_label
            .get(namespace)
            .and_then(|by_key| by_key.get(key))
            .into_iter()
            .flat_map(|by_value| by_value.values())
    }

    /// Adds (`counted`) or removes a pod from `counted_by_label`.
    fn set_counted(&mut self, pod: PodId, counted: bool) {
        let p = &self.pods[pod.index()].pod;
        if counted {
            let by_key = self
                .counted_by_label
                .entry(p.namespace.clone())
                .or_default();
            for (k, v) in p.labels.iter() {
                by_key
                    .entry(k.to_string())
                    .or_default()
                    .entry(v.to_string())
                    .or_default()
                    .insert(pod);
            }
            return;
        }
        let Some(by_key) = self.counted_by_label.get_mut(p.namespace.as_str()) else {
            return;
        };
        for (k, v) in p.labels.iter() {
            let Some(by_value) = by_key.get_mut(k) else {
                continue;
            };
            if let Some(pods) = by_value.get_mut(v) {
                pods.remove(&pod);
                if pods.is_empty() {
                    by_value.remove(v);
                }
            }
            if by_value.is_empty() {
                by_key.remove(k);
            }
        }
        if by_key.is_empty() {
            self.counted_by_label.remove(p.namespace.as_str());
        }
    }

    fn note_placement(&mut self, pod: PodId, node: NodeId, kind: PlacementKind) {
        self.set_counted(pod, kind == PlacementKind::Bound);
        let log = &mut self.changes;
        log.pod_generation += 1;
        if log.recent.len() == CHANGE_LOG_CAPACITY {
            log.recent.pop_front();
        }
        log.recent.push_back(PlacementChange {
            generation: log.pod_generation,
            pod,
            node,
            kind,
        });
        let p = &self.pods[pod.index()].pod;
        let (affinity, required_anti) = (p.has_pod_affinity(), p.has_required_anti_affinity());
        if kind == PlacementKind::Terminating {
            return;
        }
        if kind == PlacementKind::Bound {
            if affinity {
                self.pods_with_affinity.push(pod);
            }
            if required_anti {
                self.pods_with_required_anti_affinity.push(pod);
            }
        } else {
            if affinity {
                self.pods_with_affinity.retain(|p| *p != pod);
            }
            if required_anti {
                self.pods_with_required_anti_affinity.retain(|p| *p != pod);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labeled(name: &str, pairs: &[(&str, &str)]) -> Pod {
        Pod {
            name: name.to_string(),
            namespace: "default".to_string(),
            labels: pairs.iter().copied().collect(),
            ..Pod::default()
        }
    }

    fn counted(store: &Store, key: &str, value: &str) -> Vec<PodId> {
        store
            .counted_pods_labeled("default", key, value)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    #[test]
    fn counted_pods_follow_binding_termination_and_deletion() {
        let mut store = Store::new();
        let n = store.add_node(Node {
            name: "n1".to_string(),
            ..Node::default()
        });
        let a = store.add_pod(
            labeled("a", &[("app", "x"), ("tier", "web")]),
            SimTime::ZERO,
        );
        let b = store.add_pod(labeled("b", &[("app", "x")]), SimTime::ZERO);
        let c = store.add_pod(labeled("c", &[("app", "x")]), SimTime::ZERO);
        assert!(
            counted(&store, "app", "x").is_empty(),
            "pending pods are not counted"
        );
        for id in [a, b, c] {
            store.bind(id, n, SimTime::ZERO);
        }
        assert_eq!(counted(&store, "app", "x"), vec![a, b, c]);
        assert_eq!(counted(&store, "tier", "web"), vec![a]);
        assert!(store.counted_pods_labeled("other", "app", "x").is_none());
        store.mark_terminating(a, SimTime::ZERO);
        assert_eq!(counted(&store, "app", "x"), vec![b, c]);
        assert!(
            store
                .counted_pods_labeled("default", "tier", "web")
                .is_none()
        );
        store.delete_pod(a, SimTime::ZERO);
        store.delete_pod(b, SimTime::ZERO);
        assert_eq!(counted(&store, "app", "x"), vec![c]);
        store.delete_pod(c, SimTime::ZERO);
        assert!(store.counted_by_label.is_empty());
    }
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    /// Every pod keeps its record for the whole run, so the record's own size multiplies by
    /// the pod count (and doubles while the records' vector grows): rarely set parts of a pod
    /// are boxed or shared. 832 bytes when this was pinned.
    #[test]
    fn pod_record_stays_small() {
        assert!(
            std::mem::size_of::<PodRecord>() <= 840,
            "PodRecord grew to {} bytes",
            std::mem::size_of::<PodRecord>()
        );
    }
}
