//! The DaemonSet controller's reconciler (upstream `pkg/controller/daemon/daemon_controller.go`
//! `syncDaemonSet`, `manage`, `syncNodes`, `updateDaemonSetStatus`, and `update.go`
//! `rollingUpdate`): one daemon pod on every node that should run it, each pinned to its node by
//! a required node affinity on `metadata.name` and bound by the default scheduler.
//!
//! The pod garbage collector's part for daemon pods is done here too: a daemon pod bound to a
//! node that no longer exists is force-deleted (upstream `PodGCController.gcOrphaned`).

use std::collections::BTreeMap;
use std::ops::Range;

use sim_core::{Context, SimDuration, SimTime};

use super::placement::{
    DaemonPod, Revision, cmp_by_creation_timestamp_and_phase, daemon_pod_tolerations,
    node_should_run_with_tolerations, pods_should_be_on_node, unscheduled_pods_without_node,
};
use super::update::{NodeView, rolling_update, updated_desired_node_counts};
use super::util::{
    DAEMON_SET_TEMPLATE_GENERATION_KEY, DEFAULT_DAEMON_SET_UNIQUE_LABEL_KEY, allows_surge,
    create_pod_template, get_template_generation, replace_daemon_set_pod_node_name_node_affinity,
    target_node_name,
};
use crate::api::{
    DaemonSet, DaemonSetUpdateStrategy, NodeId, OwnerKind, OwnerRef, PodId, PodPhase, PodTemplate,
    WorkloadId,
};
use crate::apiserver::{ApiError, ApiServer, Change, DaemonSetStatus, ObjectKind, Op};
use crate::cluster::Event;
use crate::controllers::controller_utils::{
    ControllerExpectations, SLOW_START_INITIAL_BATCH_SIZE, slow_start_batch_sizes,
};
use crate::controllers::daemonset::util::is_pod_updated;
use crate::controllers::names::{fnv32a, safe_encode, unique_pod_name};
use crate::controllers::replicaset::is_pod_available;
use crate::controllers::{Reconciler, SyncOutcome};
use crate::events::EventType;
use crate::store::PodRecord;

/// Upstream `BurstReplicas`: at most this many creations and this many deletions per sync
/// ("values that are too high can cause registry DoS issues").
pub const BURST_REPLICAS: usize = 250;

/// Upstream `kube-controller-manager` `failedPodsBackoff`: `flowcontrol.NewBackOff(1s, 15m)`.
pub const FAILED_PODS_BACKOFF_INITIAL: SimDuration = SimDuration::from_secs(1);
pub const FAILED_PODS_BACKOFF_MAX: SimDuration = SimDuration::from_mins(15);

/// Upstream `flowcontrol.Backoff` without jitter: a per-key delay that starts at `initial`,
/// doubles on each `next` up to `max`, and is forgotten once nothing happened for `2 * max`.
#[derive(Clone, Debug)]
pub struct Backoff<K: Ord> {
    initial: SimDuration,
    max: SimDuration,
    entries: BTreeMap<K, BackoffEntry>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BackoffEntry {
    backoff: SimDuration,
    last_update: SimTime,
}

impl<K: Ord> Backoff<K> {
    pub fn new(initial: SimDuration, max: SimDuration) -> Self {
        Backoff {
            initial,
            max,
            entries: BTreeMap::new(),
        }
    }

    /// Upstream `hasExpired`: "consider stable if it's ok for twice the maxDuration".
    fn has_expired(&self, event_time: SimTime, last_update: SimTime) -> bool {
        event_time.since(last_update) > self.max.saturating_mul(2)
    }

    /// Upstream `Get`: the key's current delay (zero when unknown).
    pub fn get(&self, key: &K) -> SimDuration {
        self.entries
            .get(key)
            .map_or(SimDuration::ZERO, |e| e.backoff)
    }

    /// Upstream `Next`: starts the key at `initial` (new or expired) or doubles its delay.
    pub fn next(&mut self, key: K, now: SimTime) {
        let fresh = match self.entries.get(&key) {
            None => true,
            Some(e) => self.has_expired(now, e.last_update),
        };
        let backoff = if fresh {
            self.initial
        } else {
            self.get(&key).saturating_mul(2).min(self.max)
        };
        self.entries.insert(
            key,
            BackoffEntry {
                backoff,
                last_update: now,
            },
        );
    }

    /// Upstream `IsInBackOffSinceUpdate`: less than the key's delay has passed since its last
    /// `next`.
    pub fn is_in_back_off_since_update(&self, key: &K, now: SimTime) -> bool {
        match self.entries.get(key) {
            None => false,
            Some(e) if self.has_expired(now, e.last_update) => false,
            Some(e) => now.since(e.last_update) < e.backoff,
        }
    }

    /// Upstream `GC`: forgets keys not updated for `2 * max`.
    pub fn gc(&mut self, now: SimTime) {
        let max2 = self.max.saturating_mul(2);
        self.entries.retain(|_, e| now.since(e.last_update) <= max2);
    }
}

/// Upstream `failedPodsBackoffKey`: `<ds uid>/<status.observedGeneration>/<node>`.
type FailedPodsBackoffKey = (WorkloadId, i64, String);

pub struct DaemonSetController {
    expectations: ControllerExpectations,
    failed_pods_backoff: Backoff<FailedPodsBackoffKey>,
    /// Last time the backoff was garbage-collected (upstream runs `GC` every minute).
    last_backoff_gc: SimTime,
    /// Each DaemonSet's template hash at a generation (hashing formats the whole template).
    hashes: BTreeMap<WorkloadId, (i64, String)>,
}

impl Default for DaemonSetController {
    fn default() -> Self {
        DaemonSetController {
            expectations: ControllerExpectations::new(),
            failed_pods_backoff: Backoff::new(FAILED_PODS_BACKOFF_INITIAL, FAILED_PODS_BACKOFF_MAX),
            last_backoff_gc: SimTime::ZERO,
            hashes: BTreeMap::new(),
        }
    }
}

/// Upstream `BackoffGCInterval`.
const BACKOFF_GC_INTERVAL: SimDuration = SimDuration::from_mins(1);

/// The revision hash of a pod template (the `controller-revision-hash` label). Upstream hashes
/// the ControllerRevision's data with FNV-32a and encodes the decimal sum with
/// `rand.SafeEncodeString`; here the hashed bytes are the template's debug form, which is
/// stable for equal templates (ordered maps throughout).
pub fn template_hash(template: &PodTemplate) -> String {
    safe_encode(&fnv32a(format!("{template:?}").as_bytes()).to_string())
}

/// A node daemon pods may target, as one sync sees it.
struct NodeRow<'a> {
    name: &'a str,
    /// The node is in the node list; otherwise it is only named by pods (a node that is gone).
    listed: bool,
    /// `NodeShouldRunDaemonPod` (both false for a node that is not listed).
    should_run: bool,
    should_continue_running: bool,
    /// The node's pods in [`SyncView::pods`].
    pods: Range<usize>,
}

/// What one sync reads before writing anything: the informer's view, borrowed from the API
/// server (a sync looks at every node and every pod of the DaemonSet).
struct SyncView<'a> {
    /// Every live node in id order, then the nodes that are not listed but that pods target,
    /// by name.
    nodes: Vec<NodeRow<'a>>,
    /// How many of `nodes` are live (they come first).
    listed: usize,
    /// Upstream `getNodesToDaemonPods(ds, includeDeletedTerminal=false)`: the DaemonSet's pods
    /// by target node (bound node, else the node of its `metadata.name` affinity), without
    /// terminal pods that are being deleted; pods with no target node are skipped. Grouped by
    /// row, each group in pod id order.
    pods: Vec<DaemonPod<'a>>,
    /// The id of each of `pods`.
    ids: Vec<PodId>,
    /// Some active pod (terminal ones being deleted included) is not of the current revision.
    any_outdated: bool,
}

impl<'a> SyncView<'a> {
    fn node_pods(&self, row: &NodeRow<'a>) -> &[DaemonPod<'a>] {
        &self.pods[row.pods.clone()]
    }

    fn listed_nodes(&self) -> &[NodeRow<'a>] {
        &self.nodes[..self.listed]
    }

    /// The ids of the pods named in `names` (which come from this view), for `syncNodes`.
    fn resolve(&self, names: Vec<String>) -> Vec<(String, Option<PodId>)> {
        if names.is_empty() {
            return Vec::new();
        }
        let ids: BTreeMap<&str, PodId> = self
            .pods
            .iter()
            .zip(&self.ids)
            .map(|(p, id)| (p.name, *id))
            .collect();
        names
            .into_iter()
            .map(|n| {
                let id = ids.get(n.as_str()).copied();
                (n, id)
            })
            .collect()
    }
}

fn daemon_pod(r: &PodRecord, min_ready_seconds: i32, now: SimTime) -> DaemonPod<'_> {
    DaemonPod {
        name: &r.pod.name,
        phase: r.phase,
        deleting: r.deletion_timestamp.is_some(),
        created: r.created_at,
        scheduled: r.node.is_some(),
        revision_hash: r.pod.labels.get(DEFAULT_DAEMON_SET_UNIQUE_LABEL_KEY),
        template_generation: r.pod.labels.get(DAEMON_SET_TEMPLATE_GENERATION_KEY),
        ready: r.ready,
        available: is_pod_available(r, min_ready_seconds, now),
    }
}

/// Where a pod of the view goes.
enum Target<'a> {
    Row(usize),
    Unlisted(&'a str),
}

fn build_view<'a>(
    api: &'a ApiServer,
    key: WorkloadId,
    revision: Revision<'_>,
    now: SimTime,
) -> SyncView<'a> {
    const NO_ROW: u32 = u32::MAX;
    let obj = api.object::<DaemonSet>(key);
    let template = &obj.spec.template.pod;
    let tolerations = daemon_pod_tolerations(template, template.host_network);
    let mut nodes = Vec::new();
    // Node names are unique over a run, so a node's id stands for its name.
    let mut row_of_node = vec![NO_ROW; api.store.nodes.len()];
    for n in api.store.live_nodes() {
        let (run, cont) = node_should_run_with_tolerations(&n.node, template, &tolerations);
        if let Some(slot) = row_of_node.get_mut(n.id.index()) {
            *slot = u32::try_from(nodes.len()).unwrap_or(NO_ROW);
        }
        nodes.push(NodeRow {
            name: n.name(),
            listed: true,
            should_run: run,
            should_continue_running: cont,
            pods: 0..0,
        });
    }
    let listed = nodes.len();
    let row = |node: NodeId| {
        row_of_node
            .get(node.index())
            .copied()
            .filter(|&r| r != NO_ROW)
            .map(|r| r as usize)
    };
    let min_ready = obj.spec.min_ready_seconds;
    let mut any_outdated = false;
    let mut found: Vec<(Target<'a>, DaemonPod<'a>, PodId)> = Vec::with_capacity(obj.pods.len());
    let mut unlisted: BTreeMap<&'a str, usize> = BTreeMap::new();
    for &id in &obj.pods {
        let r = api.store.pod(id);
        if !r.is_active() {
            continue;
        }
        let pod = daemon_pod(r, min_ready, now);
        any_outdated |= !pod.is_updated(revision);
        let terminal = matches!(r.phase, PodPhase::Succeeded | PodPhase::Failed);
        if terminal && r.deletion_timestamp.is_some() {
            continue;
        }
        let target = match r.node {
            Some(n) => {
                row(n).map_or_else(|| Target::Unlisted(api.store.node(n).name()), Target::Row)
            }
            None => match target_node_name(&r.pod) {
                Ok(name) => api
                    .store
                    .node_id(name)
                    .and_then(row)
                    .map_or(Target::Unlisted(name), Target::Row),
                Err(_) => continue,
            },
        };
        if let Target::Unlisted(name) = target {
            unlisted.insert(name, 0);
        }
        found.push((target, pod, id));
    }
    for (name, slot) in &mut unlisted {
        *slot = nodes.len();
        nodes.push(NodeRow {
            name,
            listed: false,
            should_run: false,
            should_continue_running: false,
            pods: 0..0,
        });
    }
    let row_index = |t: &Target<'_>| match t {
        Target::Row(r) => *r,
        Target::Unlisted(name) => unlisted.get(name).copied().unwrap_or(usize::MAX),
    };
    // Stable: each node's pods stay in pod id order.
    found.sort_by_key(|(t, _, _)| row_index(t));
    let mut pods = Vec::with_capacity(found.len());
    let mut ids = Vec::with_capacity(found.len());
    let mut start = 0;
    for (i, (t, pod, id)) in found.iter().enumerate() {
        let r = row_index(t);
        if i + 1 == found.len() || row_index(&found[i + 1].0) != r {
            if let Some(n) = nodes.get_mut(r) {
                n.pods = start..i + 1;
            }
            start = i + 1;
        }
        pods.push(*pod);
        ids.push(*id);
    }
    SyncView {
        nodes,
        listed,
        pods,
        ids,
        any_outdated,
    }
}

/// The earlier of two optional requeue delays.
fn sooner(a: Option<SimDuration>, b: SimDuration) -> Option<SimDuration> {
    Some(a.map_or(b, |a| a.min(b)))
}

/// What `manage` decided from the view, for writing once the view is let go.
struct ManagePlan {
    /// `FailedDaemonPod` / `SucceededDaemonPod` events, in order.
    events: Vec<(EventType, &'static str, String)>,
    nodes_needing_daemon_pods: Vec<String>,
    pods_to_delete: Vec<(String, Option<PodId>)>,
    /// The failed-pod backoff's requeue delay.
    requeue: Option<SimDuration>,
}

/// `updateDaemonSetStatus`'s counts over the view taken before a sync's writes, and the pods
/// that were not available then (the ones that may turn available later).
struct StatusCounts {
    status: DaemonSetStatus,
    not_available: Vec<PodId>,
}

fn status_counts(view: &SyncView<'_>, revision: Revision<'_>, min_ready: i32) -> StatusCounts {
    let mut s = DaemonSetStatus::default();
    for row in view.listed_nodes() {
        let pods = view.node_pods(row);
        if !row.should_run {
            if !pods.is_empty() {
                s.number_misscheduled += 1;
            }
            continue;
        }
        s.desired_number_scheduled += 1;
        let Some(oldest) = pods
            .iter()
            .min_by(|a, b| cmp_by_creation_timestamp_and_phase(a, b))
        else {
            continue;
        };
        s.current_number_scheduled += 1;
        if oldest.ready {
            s.number_ready += 1;
            if oldest.available {
                s.number_available += 1;
            }
        }
        if oldest.is_updated(revision) {
            s.updated_number_scheduled += 1;
        }
    }
    let not_available = if min_ready > 0 {
        view.pods
            .iter()
            .zip(&view.ids)
            .filter(|(p, _)| !p.available)
            .map(|(_, id)| *id)
            .collect()
    } else {
        Vec::new()
    };
    StatusCounts {
        status: s,
        not_available,
    }
}

impl DaemonSetController {
    /// The template hash of DaemonSet `key`, computed once per generation.
    fn cached_hash(&mut self, key: WorkloadId, generation: i64, template: &PodTemplate) -> String {
        match self.hashes.get(&key) {
            Some((g, h)) if *g == generation => h.clone(),
            _ => {
                let h = template_hash(template);
                self.hashes.insert(key, (generation, h.clone()));
                h
            }
        }
    }

    /// The DaemonSet's current revision: its template hash and template generation.
    fn revision_of(&mut self, api: &ApiServer, key: WorkloadId) -> (String, Option<i64>) {
        let obj = api.object::<DaemonSet>(key);
        // The API server keeps the template generation in the deprecated annotation; without
        // one the object's generation stands in (it moves on every spec change).
        let template_generation = match get_template_generation(&obj.spec.annotations) {
            Ok(Some(g)) => Some(g),
            Ok(None) => Some(obj.generation),
            Err(_) => None,
        };
        (
            self.cached_hash(key, obj.generation, &obj.spec.template),
            template_generation,
        )
    }

    /// Upstream `manage`'s decisions: per node, which pods to create and delete
    /// (`podsShouldBeOnNode`), plus unscheduled pods whose node is gone.
    fn plan_manage(
        &mut self,
        key: WorkloadId,
        view: &SyncView<'_>,
        revision: Revision<'_>,
        api: &ApiServer,
        now: SimTime,
    ) -> ManagePlan {
        let obj = api.object::<DaemonSet>(key);
        let surge = allows_surge(&obj.spec.update_strategy);
        let observed_generation = obj.status.observed_generation;
        let namespace = &obj.spec.namespace;
        let mut plan = ManagePlan {
            events: Vec::new(),
            nodes_needing_daemon_pods: Vec::new(),
            pods_to_delete: Vec::new(),
            requeue: None,
        };
        let mut to_delete: Vec<String> = Vec::new();
        for row in view.listed_nodes() {
            let node = row.name;
            let pods = view.node_pods(row);
            // The backoff is only read for a failed pod that is not being deleted.
            let has_failed = pods
                .iter()
                .any(|p| !p.deleting && p.phase == PodPhase::Failed);
            let backoff_key = || (key, observed_generation, node.to_string());
            let in_backoff = has_failed
                && self
                    .failed_pods_backoff
                    .is_in_back_off_since_update(&backoff_key(), now);
            let d = pods_should_be_on_node(
                row.should_run,
                row.should_continue_running,
                pods,
                surge,
                revision.hash,
                in_backoff,
            );
            if d.create {
                plan.nodes_needing_daemon_pods.push(node.to_string());
            }
            if d.failed_pod_in_backoff {
                plan.requeue = sooner(plan.requeue, self.failed_pods_backoff.get(&backoff_key()));
            }
            if d.failed_pod_deleted {
                self.failed_pods_backoff.next(backoff_key(), now);
            }
            if d.delete.is_empty() {
                continue;
            }
            for p in pods.iter().filter(|p| d.delete.iter().any(|n| n == p.name)) {
                match p.phase {
                    PodPhase::Failed => plan.events.push((
                        EventType::Warning,
                        "FailedDaemonPod",
                        format!(
                            "Found failed daemon pod {namespace}/{} on node {node}, will try to kill it",
                            p.name
                        ),
                    )),
                    PodPhase::Succeeded => plan.events.push((
                        EventType::Normal,
                        "SucceededDaemonPod",
                        format!(
                            "Found succeeded daemon pod {namespace}/{} on node {node}, will try to delete it",
                            p.name
                        ),
                    )),
                    _ => {}
                }
            }
            to_delete.extend(d.delete);
        }
        to_delete.extend(unscheduled_pods_without_node(
            view.nodes.iter().map(|n| (n.listed, view.node_pods(n))),
        ));
        plan.pods_to_delete = view.resolve(to_delete);
        plan
    }

    /// Upstream `manage`'s writes: its events, then `syncNodes`.
    fn apply_manage(
        &mut self,
        key: WorkloadId,
        plan: ManagePlan,
        revision: Revision<'_>,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<Option<SimDuration>, ()> {
        let now = ctx.now();
        let object = format!("daemonset/{}", api.object::<DaemonSet>(key).spec.name);
        for (kind, reason, message) in plan.events {
            api.record(now, kind, reason, object.clone(), message);
        }
        self.sync_nodes(
            key,
            revision,
            &plan.pods_to_delete,
            &plan.nodes_needing_daemon_pods,
            api,
            ctx,
        )?;
        Ok(plan.requeue)
    }

    /// Upstream `syncNodes`: expectations first, then creations in slow-start batches (a
    /// batch with a failure ends them, and the skipped ones are no longer expected), then
    /// deletions; at most [`BURST_REPLICAS`] of each.
    fn sync_nodes(
        &mut self,
        key: WorkloadId,
        revision: Revision<'_>,
        pods_to_delete: &[(String, Option<PodId>)],
        nodes_needing_daemon_pods: &[String],
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<(), ()> {
        let now = ctx.now();
        let create_diff = nodes_needing_daemon_pods.len().min(BURST_REPLICAS);
        let delete_diff = pods_to_delete.len().min(BURST_REPLICAS);
        self.expectations
            .set_expectations(key.0, create_diff as i64, delete_diff as i64, now);
        if create_diff == 0 && delete_diff == 0 {
            return Ok(());
        }
        let obj = api.object::<DaemonSet>(key);
        let ds_name = obj.spec.name.clone();
        let namespace = obj.spec.namespace.clone();
        let object = format!("daemonset/{ds_name}");
        let template = create_pod_template(
            &obj.spec.template.pod,
            revision.template_generation,
            revision.hash,
            obj.spec.template.pod.host_network,
        );
        let mut failed = false;
        let mut pos = 0usize;
        let batches = slow_start_batch_sizes(create_diff as i32, SLOW_START_INITIAL_BATCH_SIZE);
        for batch in batches {
            let batch = usize::try_from(batch).unwrap_or(0);
            let mut errors = 0;
            for node in &nodes_needing_daemon_pods[pos..pos + batch] {
                let mut pod = template.clone();
                pod.node_affinity = Some(Box::new(replace_daemon_set_pod_node_name_node_affinity(
                    pod.node_affinity.take().map(|a| *a),
                    node,
                )));
                pod.namespace = namespace.clone();
                pod.name = unique_pod_name(api, ctx, &ds_name, &namespace);
                pod.owner = Some(OwnerRef {
                    kind: OwnerKind::DaemonSet,
                    name: ds_name.clone(),
                    id: key,
                });
                pod.dumped = None;
                let name = pod.name.clone();
                match api.create_pod(ctx, pod) {
                    Ok(_) => api.record(
                        now,
                        EventType::Normal,
                        "SuccessfulCreate",
                        object.clone(),
                        format!("Created pod: {name}"),
                    ),
                    Err(e) => {
                        errors += 1;
                        self.expectations.creation_observed(key.0);
                        api.record(
                            now,
                            EventType::Warning,
                            "FailedCreate",
                            object.clone(),
                            format!("Error creating: {e}"),
                        );
                    }
                }
            }
            pos += batch;
            if errors > 0 {
                failed = true;
                let skipped = create_diff.saturating_sub(pos);
                if skipped > 0 {
                    self.expectations
                        .lower_expectations(key.0, skipped as i64, 0);
                }
                break;
            }
        }
        for (name, id) in &pods_to_delete[..delete_diff] {
            let result = match id {
                Some(id) => api.delete_pod(ctx, *id),
                None => Err(ApiError::NotFound),
            };
            match result {
                Ok(()) => api.record(
                    now,
                    EventType::Normal,
                    "SuccessfulDelete",
                    object.clone(),
                    format!("Deleted pod: {name}"),
                ),
                Err(e) => {
                    self.expectations.deletion_observed(key.0);
                    if e != ApiError::NotFound {
                        failed = true;
                        api.record(
                            now,
                            EventType::Warning,
                            "FailedDelete",
                            object.clone(),
                            format!("Error deleting: {e}"),
                        );
                    }
                }
            }
        }
        if failed { Err(()) } else { Ok(()) }
    }

    /// Upstream `rollingUpdate`, over the pods as they are now (it runs only when `manage`
    /// wrote nothing, so this is the informer's view too). `any_outdated` is whether the view
    /// before `manage` had an outdated pod: `manage` only creates pods of the current revision,
    /// so without one there is none now either.
    fn rolling_update(
        &mut self,
        key: WorkloadId,
        revision: Revision<'_>,
        any_outdated: bool,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<(), ()> {
        if !any_outdated {
            return Ok(());
        }
        // With no outdated pod, upstream's `rollingUpdate` neither deletes nor surges: skip
        // building a second view of every node.
        {
            let obj = api.object::<DaemonSet>(key);
            let outdated = obj.pods.iter().any(|&p| {
                let r = api.store.pod(p);
                r.is_active()
                    && !is_pod_updated(&r.pod.labels, revision.hash, revision.template_generation)
            });
            if !outdated {
                return Ok(());
            }
        }
        let view = build_view(api, key, revision, ctx.now());
        let strategy = api.object::<DaemonSet>(key).spec.update_strategy;
        let desired = view.listed_nodes().iter().filter(|n| n.should_run).count();
        let desired = i32::try_from(desired).unwrap_or(i32::MAX);
        // `updatedDesiredNodeCounts` adds an empty entry for every node that should run a pod;
        // nodes are walked by name.
        let mut nodes: Vec<NodeView<'_>> = view
            .nodes
            .iter()
            .filter(|n| (n.listed && n.should_run) || !n.pods.is_empty())
            .map(|n| NodeView {
                node_name: n.name,
                pods: view.node_pods(n),
                should_run: n.listed.then_some(n.should_run),
            })
            .collect();
        nodes.sort_by(|a, b| a.node_name.cmp(b.node_name));
        let (max_surge, max_unavailable) = updated_desired_node_counts(&strategy, desired);
        let step = rolling_update(&nodes, revision, max_surge, max_unavailable, desired)
            .map_err(|_| ())?;
        let old_pods_to_delete = view.resolve(step.old_pods_to_delete);
        self.sync_nodes(
            key,
            revision,
            &old_pods_to_delete,
            &step.new_nodes_to_create,
            api,
            ctx,
        )
    }

    /// Upstream `updateDaemonSetStatus` with the counts from the view taken before this sync's
    /// writes. Returns when to look again for pods that are ready but not yet available.
    fn update_status(
        &self,
        key: WorkloadId,
        counts: StatusCounts,
        update_observed_generation: bool,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<Option<SimDuration>, ()> {
        let now = ctx.now();
        let obj = api.object::<DaemonSet>(key);
        let min_ready = obj.spec.min_ready_seconds;
        let mut s = DaemonSetStatus {
            observed_generation: if update_observed_generation {
                obj.generation
            } else {
                obj.status.observed_generation
            },
            ..counts.status
        };
        let mut requeue = None;
        // Upstream's pod handler requeues `minReadySeconds + 1s` after a pod turns ready.
        if min_ready > 0 {
            let secs = SimDuration::from_secs(u64::try_from(min_ready).unwrap_or(0));
            for &id in &counts.not_available {
                let r = api.store.pod(id);
                if r.ready
                    && let Some(since) = r.ready_since
                {
                    let at = since
                        .saturating_add(secs)
                        .saturating_add(SimDuration::from_secs(1));
                    requeue = sooner(requeue, at.since(now).max(SimDuration::from_nanos(1)));
                }
            }
        }
        s.number_unavailable = s.desired_number_scheduled - s.number_available;
        let resync = min_ready > 0 && s.number_ready != s.number_available;
        if api.update_object_status::<DaemonSet>(ctx, key, s).is_err() {
            return Err(());
        }
        // Upstream: "Resync the DaemonSet after MinReadySeconds as a last line of defense to
        // guard against clock-skew."
        if resync {
            requeue = sooner(
                requeue,
                SimDuration::from_secs(u64::try_from(min_ready).unwrap_or(0)),
            );
        }
        Ok(requeue)
    }

    /// The pod garbage collector's `gcOrphaned` for this DaemonSet's pods: a pod bound to a
    /// node that is gone is force-deleted, as no kubelet will ever stop it.
    fn remove_pods_on_deleted_nodes(
        &mut self,
        key: WorkloadId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<(), ()> {
        let orphaned: Vec<PodId> = api
            .object::<DaemonSet>(key)
            .pods
            .iter()
            .copied()
            .filter(|p| {
                let r = api.store.pod(*p);
                r.is_active() && r.node.is_some_and(|n| !api.store.node(n).exists)
            })
            .collect();
        for p in orphaned {
            match api.remove_pod(ctx, p) {
                Ok(()) | Err(ApiError::NotFound) => {}
                Err(_) => return Err(()),
            }
        }
        Ok(())
    }
}

impl Reconciler for DaemonSetController {
    type Key = WorkloadId;

    fn on_change(
        &mut self,
        change: &Change,
        api: &ApiServer,
        _now: SimTime,
        enqueue: &mut dyn FnMut(WorkloadId),
    ) {
        match change.kind {
            ObjectKind::DaemonSet => {
                let id = WorkloadId(change.id);
                if change.op == Op::Deleted {
                    self.expectations.delete_expectations(id.0);
                    self.hashes.remove(&id);
                }
                enqueue(id);
            }
            ObjectKind::Pod => {
                let r = api.store.pod(PodId(change.id));
                let Some(owner) = r
                    .pod
                    .owner
                    .as_ref()
                    .filter(|o| o.kind == OwnerKind::DaemonSet)
                else {
                    return;
                };
                if api.objects::<DaemonSet>().get(owner.id).is_none() {
                    return;
                }
                match change.op {
                    Op::Added => self.expectations.creation_observed(owner.id.0),
                    // Upstream observes a deletion both when the deletionTimestamp is set and
                    // when the pod is gone.
                    Op::Deleting | Op::Deleted => {
                        self.expectations.deletion_observed(owner.id.0);
                    }
                    Op::Modified | Op::Bound => {}
                }
                enqueue(owner.id);
            }
            // Upstream enqueues the DaemonSets whose shouldRun changed; every one is enough.
            ObjectKind::Node => {
                for ds in api.objects::<DaemonSet>().live() {
                    enqueue(ds.id);
                }
            }
            _ => {}
        }
    }

    fn sync(
        &mut self,
        key: WorkloadId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> SyncOutcome {
        let now = ctx.now();
        if now.since(self.last_backoff_gc) >= BACKOFF_GC_INTERVAL {
            self.failed_pods_backoff.gc(now);
            self.last_backoff_gc = now;
        }
        let Some(obj) = api.objects::<DaemonSet>().get(key) else {
            return SyncOutcome::Done;
        };
        if obj.deleted {
            self.expectations.delete_expectations(key.0);
            return SyncOutcome::Done;
        }
        if obj.spec.selector.requirements.is_empty() {
            let object = format!("daemonset/{}", obj.spec.name);
            api.record(
                now,
                EventType::Warning,
                "SelectingAll",
                object,
                "This daemon set is selecting all pods. A non-empty selector is required.".into(),
            );
            return SyncOutcome::Done;
        }
        // Upstream: the status of a DaemonSet being deleted cannot be computed reliably.
        if obj.deletion_timestamp.is_some() {
            return SyncOutcome::Done;
        }
        if self.remove_pods_on_deleted_nodes(key, api, ctx).is_err() {
            return SyncOutcome::Failed;
        }
        let (hash, template_generation) = self.revision_of(api, key);
        let revision = Revision {
            hash: &hash,
            template_generation,
        };
        let min_ready = api.object::<DaemonSet>(key).spec.min_ready_seconds;
        let view = build_view(api, key, revision, now);
        if !self.expectations.satisfied_expectations(key.0, now) {
            let counts = status_counts(&view, revision, min_ready);
            return match self.update_status(key, counts, false, api, ctx) {
                Ok(Some(d)) => SyncOutcome::RequeueAfter(d),
                Ok(None) => SyncOutcome::Done,
                Err(()) => SyncOutcome::Failed,
            };
        }
        // Upstream `updateDaemonSet`: manage, then the rolling update once nothing is awaited.
        // Everything is read from the view before the first write.
        let plan = self.plan_manage(key, &view, revision, api, now);
        let counts = status_counts(&view, revision, min_ready);
        let any_outdated = view.any_outdated;
        let mut failed = false;
        let mut requeue = None;
        match self.apply_manage(key, plan, revision, api, ctx) {
            Ok(r) => requeue = r,
            Err(()) => failed = true,
        }
        if !failed && self.expectations.satisfied_expectations(key.0, now) {
            let strategy = api.object::<DaemonSet>(key).spec.update_strategy;
            if matches!(strategy, DaemonSetUpdateStrategy::RollingUpdate { .. })
                && self
                    .rolling_update(key, revision, any_outdated, api, ctx)
                    .is_err()
            {
                failed = true;
            }
        }
        match self.update_status(key, counts, true, api, ctx) {
            Ok(r) => {
                if let Some(d) = r {
                    requeue = sooner(requeue, d);
                }
            }
            Err(()) => failed = true,
        }
        if failed {
            return SyncOutcome::Failed;
        }
        match requeue {
            Some(d) => SyncOutcome::RequeueAfter(d),
            None => SyncOutcome::Done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> SimTime {
        SimTime::ZERO.saturating_add(SimDuration::from_millis(ms))
    }

    #[test]
    fn failed_pods_backoff_doubles_to_its_cap_and_expires() {
        // client-go util/flowcontrol/backoff.go: Next starts at the initial delay, doubles
        // up to max; IsInBackOffSinceUpdate compares the time since the last Next with the
        // delay; an entry untouched for 2*max counts as fresh (TestBackoffHighWaterMark's
        // and TestIsInBackOffSinceUpdate's behaviour without jitter).
        let mut b = Backoff::new(FAILED_PODS_BACKOFF_INITIAL, FAILED_PODS_BACKOFF_MAX);
        let k = "n";
        assert!(!b.is_in_back_off_since_update(&k, at(0)));
        assert_eq!(b.get(&k), SimDuration::ZERO);
        b.next(k, at(0));
        assert_eq!(b.get(&k), SimDuration::from_secs(1));
        assert!(b.is_in_back_off_since_update(&k, at(999)));
        assert!(!b.is_in_back_off_since_update(&k, at(1000)));
        let mut t = 0;
        for want in [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900] {
            t += 1000;
            b.next(k, at(t));
            assert_eq!(b.get(&k), SimDuration::from_secs(want));
        }
        // Untouched for more than 2 * 15min: the next failure starts over at 1s.
        let later = t + 30 * 60 * 1000 + 1;
        assert!(!b.is_in_back_off_since_update(&k, at(later)));
        b.next(k, at(later));
        assert_eq!(b.get(&k), SimDuration::from_secs(1));
        b.gc(at(later + 30 * 60 * 1000 + 1));
        assert_eq!(b.get(&k), SimDuration::ZERO);
    }

    #[test]
    fn template_hash_is_stable_and_tracks_the_template() {
        let a = PodTemplate {
            pod: crate::api::Pod::default(),
        };
        let mut b = a.clone();
        assert_eq!(template_hash(&a), template_hash(&b));
        b.pod.images.push("nginx:2".into());
        assert_ne!(template_hash(&a), template_hash(&b));
        assert!(!template_hash(&a).is_empty());
    }
}
