//! Scale-down (upstream `core/scaledown`): a node of an autoscaled group is unneeded when its
//! utilization (max of cpu and memory requested / allocatable, `utilization.Calculate`) is
//! below `scaleDownUtilizationThreshold` and every pod that would have to move can move
//! (drainability rules, PodDisruptionBudgets) and fits on another node (the scheduler's
//! filters on the snapshot). After `scaleDownUnneededTime` unneeded and out of cool-down,
//! empty nodes go in bulk and one non-empty node is drained at a time, never below the group's
//! min size: the node is tainted `ToBeDeletedByClusterAutoscaler`, its pods are evicted, then
//! the Node is deleted (the instance is gone).

use std::collections::BTreeMap;

use sim_core::{Context, SimDuration, SimTime};

use super::{Autoscaler, AutoscalerEvent, DRAIN_POLL, Deletion, NodeLifetime, STATUS_CONFIG_MAP};
use crate::api::{NodeId, OwnerKind, Pod, PodId, PodPhase, PodVolume, Taint, TaintEffect};
use crate::apiserver::{ApiError, ApiServer, ConditionStatus};
use crate::cluster::Event;
use crate::events::EventType;

/// Upstream `taints.ToBeDeletedTaint`.
pub const TO_BE_DELETED_TAINT: &str = "ToBeDeletedByClusterAutoscaler";
/// Upstream `drain.PodSafeToEvictKey`.
pub const SAFE_TO_EVICT: &str = "cluster-autoscaler.kubernetes.io/safe-to-evict";
/// Upstream `MaxPodEvictionTime`: how long refused evictions are retried.
pub const MAX_POD_EVICTION_TIME: SimDuration = SimDuration::from_secs(120);
/// Upstream `PodEvictionHeadroom`: extra wait beyond the graceful termination.
pub const POD_EVICTION_HEADROOM: SimDuration = SimDuration::from_secs(30);

/// Upstream `utilization.Info` (cpu and memory only).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Utilization {
    pub cpu: f64,
    pub memory: f64,
    /// The larger of the two.
    pub utilization: f64,
    pub resource: &'static str,
}

impl std::fmt::Display for Utilization {
    /// Go's `%v` of upstream's `Info{CpuUtil, MemUtil, GpuUtil, DynamicResourceUtil,
    /// ResourceName, Utilization}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{{{} {} 0 0 {} {}}}",
            self.cpu, self.memory, self.resource, self.utilization
        )
    }
}

/// One pod on a node as the utilization counts it: cpu (milli) and memory requests.
#[derive(Clone, Copy, Debug)]
pub struct PodUsage {
    pub cpu_milli: i64,
    pub memory: i64,
    pub daemon_set: bool,
    pub mirror: bool,
}

/// Upstream `utilization.Calculate` / `CalculateUtilizationOfResource`: per resource the pods'
/// requests over allocatable; DaemonSet (mirror) pods are taken out of both sides when asked
/// to ignore them. The node's utilization is the larger (memory on a tie).
pub fn calculate(
    alloc_cpu_milli: i64,
    alloc_memory: i64,
    pods: &[PodUsage],
    skip_daemon_sets: bool,
    skip_mirror: bool,
) -> Option<Utilization> {
    let of = |alloc: i64, value: fn(&PodUsage) -> i64| -> Option<f64> {
        if alloc == 0 {
            return None;
        }
        let (mut requested, mut excluded) = (0i64, 0i64);
        for p in pods {
            if (skip_daemon_sets && p.daemon_set) || (skip_mirror && p.mirror) {
                excluded += value(p);
            } else {
                requested += value(p);
            }
        }
        Some(requested as f64 / (alloc - excluded) as f64)
    };
    let cpu = of(alloc_cpu_milli, |p| p.cpu_milli)?;
    // Upstream divides MilliValues for memory too: the ratio is the same.
    let memory = of(alloc_memory, |p| p.memory)?;
    Some(if cpu > memory {
        Utilization {
            cpu,
            memory,
            utilization: cpu,
            resource: "cpu",
        }
    } else {
        Utilization {
            cpu,
            memory,
            utilization: memory,
            resource: "memory",
        }
    })
}

/// Upstream `drain.BlockingPodReason` for a pod that must move off a node to be deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockingReason {
    NotReplicated,
    LocalStorageRequested,
    NotSafeToEvictAnnotation,
    UnmovableKubeSystemPod,
    NotEnoughPdb,
}

/// Upstream's default drainability rules (`simulator/drainability/rules`) for one pod:
/// `None` when it may be evicted. `has_pdb` says whether a PDB selects it.
pub fn blocking_reason(
    pod: &Pod,
    has_pdb: bool,
    skip_nodes_with_system_pods: bool,
    skip_nodes_with_local_storage: bool,
) -> Option<BlockingReason> {
    match pod.annotations.get(SAFE_TO_EVICT).map(String::as_str) {
        Some("true") => return None,
        Some("false") => return Some(BlockingReason::NotSafeToEvictAnnotation),
        _ => {}
    }
    if pod.owner.is_none() {
        return Some(BlockingReason::NotReplicated);
    }
    if skip_nodes_with_system_pods && pod.namespace == "kube-system" && !has_pdb {
        return Some(BlockingReason::UnmovableKubeSystemPod);
    }
    if skip_nodes_with_local_storage
        && pod
            .volumes
            .iter()
            .any(|v| matches!(v, PodVolume::EmptyDir { .. }))
    {
        return Some(BlockingReason::LocalStorageRequested);
    }
    None
}

fn is_daemon_set(pod: &Pod) -> bool {
    pod.owner
        .as_ref()
        .is_some_and(|o| o.kind == OwnerKind::DaemonSet)
}

impl Autoscaler {
    /// Upstream `Planner.UpdateClusterState`: which nodes are unneeded now, and since when.
    pub(crate) fn update_unneeded(&mut self, api: &ApiServer, now: SimTime) {
        let Some(mut checker) = self.checker.take() else {
            return;
        };
        // The cluster as the simulation leaves it: copied the first time a node's pods need
        // moving (most scans have none to move), and changed in place after that, a failed
        // move undone, rather than a copy of the whole store per node (upstream forks and
        // reverts its delta snapshot the same way).
        let mut snap: Option<crate::store::Store> = None;
        let mut pdb_left: Vec<i32> = api
            .pdb_status
            .iter()
            .map(|s| if s.observed { s.disruptions_allowed } else { 0 })
            .collect();
        let mut unneeded: BTreeMap<NodeId, SimTime> = BTreeMap::new();
        let candidates: Vec<NodeId> = api
            .store
            .live_nodes()
            .filter(|n| {
                self.groups.iter().any(|g| g.owns(&n.node))
                    && !self.deleting.contains_key(&n.id)
                    && n.conditions.ready == ConditionStatus::True
                    && !n.node.taints.iter().any(|t| t.key == TO_BE_DELETED_TAINT)
            })
            .map(|n| n.id)
            .collect();
        for node in candidates {
            let info = api.store.node(node);
            let pods: Vec<PodId> = info
                .pods
                .iter()
                .copied()
                .filter(|p| {
                    let r = api.store.pod(*p);
                    r.is_active() && !matches!(r.phase, PodPhase::Succeeded | PodPhase::Failed)
                })
                .collect();
            let usage: Vec<PodUsage> = pods
                .iter()
                .map(|p| {
                    let pod = &api.store.pod(*p).pod;
                    PodUsage {
                        cpu_milli: pod.requests.cpu_milli,
                        memory: pod.requests.memory,
                        daemon_set: is_daemon_set(pod),
                        mirror: false,
                    }
                })
                .collect();
            let Some(util) = calculate(
                info.node.allocatable.cpu_milli,
                info.node.allocatable.memory,
                &usage,
                self.options.ignore_daemonsets_utilization,
                false,
            ) else {
                continue;
            };
            if util.utilization >= self.options.scale_down_utilization_threshold {
                continue;
            }
            // Pods that must move: all but DaemonSet pods (their controller does not recreate
            // them elsewhere) and pods already terminating.
            let to_move: Vec<PodId> = pods
                .iter()
                .copied()
                .filter(|p| {
                    let r = api.store.pod(*p);
                    !is_daemon_set(&r.pod) && r.deletion_timestamp.is_none()
                })
                .collect();
            let mut budget = pdb_left.clone();
            let mut blocked = false;
            for &p in &to_move {
                let pod = &api.store.pod(p).pod;
                let matching: Vec<usize> = api
                    .store
                    .pdbs
                    .iter()
                    .enumerate()
                    .filter(|(_, pdb)| pdb.selects(pod))
                    .map(|(i, _)| i)
                    .collect();
                if blocking_reason(
                    pod,
                    !matching.is_empty(),
                    self.options.skip_nodes_with_system_pods,
                    self.options.skip_nodes_with_local_storage,
                )
                .is_some()
                {
                    blocked = true;
                    break;
                }
                for i in matching {
                    budget[i] -= 1;
                    if budget[i] < 0 {
                        blocked = true;
                    }
                }
                if blocked {
                    break;
                }
            }
            if blocked {
                continue;
            }
            if to_move.is_empty() {
                pdb_left = budget;
                let since = self.unneeded_since.get(&node).copied().unwrap_or(now);
                unneeded.insert(node, since);
                continue;
            }
            // Simulate the pods elsewhere: other nodes, not ones going away.
            let snap = snap.get_or_insert_with(|| api.store.clone());
            let destinations: Vec<NodeId> = snap
                .live_nodes()
                .filter(|n| {
                    n.id != node
                        && !unneeded.contains_key(&n.id)
                        && !self.deleting.contains_key(&n.id)
                        && !n.node.taints.iter().any(|t| t.key == TO_BE_DELETED_TAINT)
                })
                .map(|n| n.id)
                .collect();
            // (copy placed elsewhere, if it was, and the pod's spec) of each pod moved so far.
            let mut moved: Vec<(Option<PodId>, Pod)> = Vec::new();
            let mut fits = true;
            for &p in &to_move {
                let pod = snap.pod(p).pod.clone();
                snap.delete_pod(p, now);
                let copy = snap.add_pod(pod.clone(), now);
                match checker.first_fit(&pod, snap, destinations.iter().copied()) {
                    Some(dest) => {
                        snap.bind(copy, dest, now);
                        moved.push((Some(copy), pod));
                    }
                    None => {
                        snap.delete_pod(copy, now);
                        moved.push((None, pod));
                        fits = false;
                        break;
                    }
                }
            }
            if !fits {
                // Undo: each pod back on this node, as a new record with the same spec (the
                // snapshot is this scan's alone; ids in it are not the API server's).
                for (copy, pod) in moved.into_iter().rev() {
                    if let Some(copy) = copy {
                        snap.delete_pod(copy, now);
                    }
                    let back = snap.add_pod(pod, now);
                    snap.bind(back, node, now);
                }
                continue;
            }
            pdb_left = budget;
            let since = self.unneeded_since.get(&node).copied().unwrap_or(now);
            unneeded.insert(node, since);
        }
        self.unneeded_since = unneeded;
        self.checker = Some(checker);
    }

    /// Upstream `Planner.NodesToDelete` + `Actuator.StartDeletion`: nodes unneeded long
    /// enough, empty ones in bulk, at most `max_drain_parallelism` drained at once, no group
    /// below its min size.
    pub(crate) fn scale_down(&mut self, api: &mut ApiServer, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let registered = self.registered(api);
        let mut size: Vec<usize> = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| g.target_size(registered[i]))
            .collect();
        for n in self.deleting.keys() {
            let node = &api.store.node(*n).node;
            if let Some(i) = self.groups.iter().position(|g| g.owns(node)) {
                size[i] = size[i].saturating_sub(1);
            }
        }
        let mut draining = self
            .deleting
            .values()
            .filter(|d| !d.pods.is_empty())
            .count();
        let mut started = 0;
        let ready: Vec<NodeId> = self
            .unneeded_since
            .iter()
            .filter(|(_, since)| now.since(**since) >= self.options.scale_down_unneeded_time)
            .map(|(n, _)| *n)
            .collect();
        for node in ready {
            if started >= self.options.max_scale_down_parallelism {
                break;
            }
            let info = api.store.node(node);
            let Some(gi) = self.groups.iter().position(|g| g.owns(&info.node)) else {
                continue;
            };
            if size[gi] <= self.groups[gi].spec.min as usize {
                continue;
            }
            let pods: Vec<PodId> = info
                .pods
                .iter()
                .copied()
                .filter(|p| {
                    let r = api.store.pod(*p);
                    r.is_active()
                        && !matches!(r.phase, PodPhase::Succeeded | PodPhase::Failed)
                        && !is_daemon_set(&r.pod)
                })
                .collect();
            if !pods.is_empty() && draining >= self.options.max_drain_parallelism {
                continue;
            }
            if self.start_deletion(node, pods.clone(), api, ctx).is_err() {
                self.last_scale_down_failure = Some(now);
                continue;
            }
            size[gi] -= 1;
            started += 1;
            if !pods.is_empty() {
                draining += 1;
            }
        }
    }

    fn start_deletion(
        &mut self,
        node: NodeId,
        pods: Vec<PodId>,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<(), ApiError> {
        let now = ctx.now();
        let name = api.store.node(node).name().to_string();
        let taint = Taint {
            key: TO_BE_DELETED_TAINT.into(),
            value: (now.as_nanos() / 1_000_000_000).to_string(),
            effect: TaintEffect::NoSchedule,
        };
        if let Err(e) = api.add_node_taint(ctx, node, taint) {
            api.record(
                now,
                EventType::Warning,
                "ScaleDownFailed",
                format!("node/{name}"),
                format!("failed to mark the node as toBeDeleted/unschedulable: {e}"),
            );
            return Err(e);
        }
        api.record(
            now,
            EventType::Normal,
            "ScaleDown",
            format!("node/{name}"),
            "marked the node as toBeDeleted/unschedulable".into(),
        );
        self.unneeded_since.remove(&node);
        if pods.is_empty() {
            api.record(
                now,
                EventType::Normal,
                "ScaleDownEmpty",
                STATUS_CONFIG_MAP.into(),
                format!("Scale-down: removing empty node {name:?}"),
            );
            self.deleting.insert(
                node,
                Deletion {
                    started: now,
                    pods,
                    refused_since: None,
                },
            );
            self.drain_step(node, api, ctx);
            return Ok(());
        }
        let usage: Vec<PodUsage> = api
            .store
            .node(node)
            .pods
            .iter()
            .map(|p| {
                let pod = &api.store.pod(*p).pod;
                PodUsage {
                    cpu_milli: pod.requests.cpu_milli,
                    memory: pod.requests.memory,
                    daemon_set: is_daemon_set(pod),
                    mirror: false,
                }
            })
            .collect();
        let alloc = &api.store.node(node).node.allocatable;
        let util = calculate(
            alloc.cpu_milli,
            alloc.memory,
            &usage,
            self.options.ignore_daemonsets_utilization,
            false,
        );
        let names: Vec<&str> = pods
            .iter()
            .map(|p| api.store.pod(*p).pod.name.as_str())
            .collect();
        let message = format!(
            "Scale-down: removing node {name}, utilization: {}, pods to reschedule: {}",
            util.map_or_else(|| "{0 0 0 0  0}".to_string(), |u| u.to_string()),
            names.join(",")
        );
        api.record(
            now,
            EventType::Normal,
            "ScaleDown",
            STATUS_CONFIG_MAP.into(),
            message,
        );
        self.deleting.insert(
            node,
            Deletion {
                started: now,
                pods,
                refused_since: None,
            },
        );
        self.drain_step(node, api, ctx);
        Ok(())
    }

    /// Evicts what is left on a node being deleted; deletes the node once its pods are gone
    /// (or their graceful termination ran out); gives up when evictions stay refused.
    pub(crate) fn drain_step(
        &mut self,
        node: NodeId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let now = ctx.now();
        let Some(d) = self.deleting.get(&node).cloned() else {
            return;
        };
        let mut refused = false;
        let mut left = false;
        for &p in &d.pods {
            let r = api.store.pod(p);
            if !r.is_active() || r.node != Some(node) {
                continue;
            }
            left = true;
            if r.deletion_timestamp.is_some() {
                continue;
            }
            let object = format!("pod/{}", r.pod.name);
            match api.evict(ctx, p) {
                Ok(()) => api.record(
                    now,
                    EventType::Normal,
                    "ScaleDown",
                    object,
                    "deleting pod for node scale down".into(),
                ),
                Err(ApiError::NotFound) => {}
                Err(_) => refused = true,
            }
        }
        let name = api.store.node(node).name().to_string();
        if refused {
            let since = self
                .deleting
                .get_mut(&node)
                .map_or(now, |d| *d.refused_since.get_or_insert(now));
            if now.since(since) >= MAX_POD_EVICTION_TIME {
                // Upstream gives the node back: the taint goes, scale-down cools down.
                self.deleting.remove(&node);
                let _ =
                    api.remove_node_taint(ctx, node, TO_BE_DELETED_TAINT, TaintEffect::NoSchedule);
                api.record(
                    now,
                    EventType::Warning,
                    "ScaleDownFailed",
                    format!("node/{name}"),
                    "failed to drain the node, aborting ScaleDown".into(),
                );
                self.last_scale_down_failure = Some(now);
                return;
            }
            ctx.schedule(DRAIN_POLL, Event::Autoscaler(AutoscalerEvent::Drain(node)));
            return;
        }
        let grace = SimDuration::from_secs(
            u64::try_from(self.options.max_graceful_termination_sec).unwrap_or(0),
        )
        .saturating_add(POD_EVICTION_HEADROOM);
        if left && now.since(d.started) < grace {
            ctx.schedule(DRAIN_POLL, Event::Autoscaler(AutoscalerEvent::Drain(node)));
            return;
        }
        // The instance goes; the cloud's node controller deletes its Node.
        if api.delete_node(ctx, node).is_err() {
            ctx.schedule(DRAIN_POLL, Event::Autoscaler(AutoscalerEvent::Drain(node)));
            return;
        }
        api.lease_renewals_stopped(ctx, node);
        self.deleting.remove(&node);
        let empty = d.pods.is_empty();
        api.record(
            now,
            EventType::Normal,
            "ScaleDown",
            format!("node/{name}"),
            "nodes removed by cluster autoscaler".into(),
        );
        let (reason, message) = if empty {
            (
                "ScaleDownEmpty",
                format!("Scale-down: empty node {name} removed"),
            )
        } else {
            (
                "ScaleDown",
                format!("Scale-down: node {name} removed with drain"),
            )
        };
        api.record(
            now,
            EventType::Normal,
            reason,
            STATUS_CONFIG_MAP.into(),
            message,
        );
        self.stats.scale_downs += 1;
        self.stats.nodes_removed += 1;
        if empty {
            self.stats.empty_nodes_removed += 1;
        }
        self.last_scale_down_delete = Some(now);
        let pool = api.store.node(node).node.pool.clone().unwrap_or_default();
        self.lifetimes
            .entry(node)
            .or_insert(NodeLifetime {
                pool,
                added: None,
                removed: None,
            })
            .removed = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(cpu: i64, mem: i64, ds: bool, mirror: bool) -> PodUsage {
        PodUsage {
            cpu_milli: cpu,
            memory: mem,
            daemon_set: ds,
            mirror,
        }
    }

    // upstream simulator/utilization/info_test.go TestCalculate: node 2000m / 2000000;
    // pods 100m/200000 each.
    #[test]
    fn calculate_table() {
        let p = pod(100, 200_000, false, false);
        // "Utilization for a node with two pods": cpu 0.1, memory 0.2 → 0.2 (memory).
        let u = calculate(2000, 2_000_000, &[p, p], false, false).expect("allocatable");
        assert!((u.cpu - 0.1).abs() < 1e-9 && (u.memory - 0.2).abs() < 1e-9);
        assert_eq!(u.resource, "memory");
        // DaemonSet pod counted by default ...
        let ds = pod(100, 200_000, true, false);
        let u = calculate(2000, 2_000_000, &[p, p, ds], false, false).expect("allocatable");
        assert!((u.cpu - 0.15).abs() < 1e-9, "{u:?}");
        // ... and out of both sides with --ignore-daemonsets-utilization: 200m / 1900m.
        let u = calculate(2000, 2_000_000, &[p, p, ds], true, false).expect("allocatable");
        assert!((u.cpu - 200.0 / 1900.0).abs() < 1e-9, "{u:?}");
        // Mirror pods likewise with --ignore-mirror-pods-utilization.
        let m = pod(100, 200_000, false, true);
        let u = calculate(2000, 2_000_000, &[p, p, m], false, true).expect("allocatable");
        assert!((u.cpu - 200.0 / 1900.0).abs() < 1e-9, "{u:?}");
        // No allocatable: an error upstream.
        assert!(calculate(0, 2_000_000, &[p], false, false).is_none());
    }

    // upstream utils/drain/drain_test.go TestDrain: a pod without a controller blocks
    // (NotReplicated), kube-system pods without a PDB block, emptyDir blocks
    // (LocalStorageRequested), the safe-to-evict annotation overrides both ways.
    #[test]
    fn drainability_rules() {
        let owned = |ns: &str| Pod {
            namespace: ns.into(),
            owner: Some(crate::api::OwnerRef {
                kind: OwnerKind::ReplicaSet,
                name: "rs".into(),
                id: crate::api::WorkloadId(0),
            }),
            ..Pod::default()
        };
        assert_eq!(blocking_reason(&owned("default"), false, true, true), None);
        assert_eq!(
            blocking_reason(&Pod::default(), false, true, true),
            Some(BlockingReason::NotReplicated)
        );
        assert_eq!(
            blocking_reason(&owned("kube-system"), false, true, true),
            Some(BlockingReason::UnmovableKubeSystemPod)
        );
        assert_eq!(
            blocking_reason(&owned("kube-system"), true, true, true),
            None
        );
        let mut local = owned("default");
        local.volumes.push(PodVolume::EmptyDir { size_limit: None });
        assert_eq!(
            blocking_reason(&local, false, true, true),
            Some(BlockingReason::LocalStorageRequested)
        );
        local
            .annotations
            .insert(SAFE_TO_EVICT.into(), "true".into());
        assert_eq!(blocking_reason(&local, false, true, true), None);
        let mut pinned = owned("default");
        pinned
            .annotations
            .insert(SAFE_TO_EVICT.into(), "false".into());
        assert_eq!(
            blocking_reason(&pinned, false, true, true),
            Some(BlockingReason::NotSafeToEvictAnnotation)
        );
    }

    #[test]
    fn utilization_prints_as_go_struct() {
        let u = calculate(1000, 1000, &[pod(250, 100, false, false)], false, false)
            .expect("allocatable");
        assert_eq!(u.to_string(), "{0.25 0.1 0 0 cpu 0.25}");
    }
}
