//! Scale-up (upstream `core/scaleup/orchestrator`): the pods the scheduler marked
//! unschedulable (PodScheduled=False, reason Unschedulable), less those that fit on existing
//! or upcoming nodes (`FilterOutSchedulable`), are grouped into equivalence groups; for each
//! node group whose template node takes a group's exemplar, the binpacking estimator says how
//! many nodes the pods need; the expander picks one option, capped by the group's max and
//! `--max-nodes-total`, and the group's target size goes up. Pods get `TriggeredScaleUp`, or
//! when there was no scale-up, `NotTriggerScaleUp` with the reasons each group gave.

use std::collections::BTreeMap;

use sim_core::Context;

use super::estimator::{self, EstimationSnapshot};
use super::expander::{self, ExpansionOption};
use super::predicates::PredicateChecker;
use super::{Autoscaler, PRIORITY_CONFIG_MAP, STATUS_CONFIG_MAP};
use crate::api::{NodeId, PodId, PodPhase};
use crate::apiserver::ApiServer;
use crate::cluster::Event;
use crate::events::EventType;
use crate::store::Store;

/// Upstream `MaxLimitReachedReason`.
pub const MAX_LIMIT_REACHED: &str = "max node group size reached";
/// Upstream `BackoffReason`.
pub const BACKOFF: &str = "in backoff after failed scale-up";
/// Upstream `ReasonsMessage` when `ScaleUpLimitedByMaxNodesTotal`.
pub const MAX_TOTAL_REACHED: &str = "max total nodes in cluster reached";

/// Upstream `ScaleUpInfo.String()`: `{group 0->2 (max: 10)}`.
pub fn scale_up_info(group: &str, current: usize, new: usize, max: u32) -> String {
    format!("{{{group} {current}->{new} (max: {max})}}")
}

/// Upstream `ReasonsMessage`: each reason any node group gave, with how many groups gave it
/// (sorted, where upstream follows map order).
pub fn reasons_message(per_group: &[Vec<String>]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for reasons in per_group {
        for r in reasons {
            *counts.entry(r.as_str()).or_default() += 1;
        }
    }
    counts
        .iter()
        .map(|(r, n)| format!("{n} {r}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The estimation's fork of the snapshot: template nodes added on demand, the first one
/// already there (the exemplar check added it).
struct Fork<'a> {
    store: Store,
    checker: &'a mut PredicateChecker,
    group: &'a super::NodeGroup,
    pods: &'a [PodId],
    nodes: Vec<NodeId>,
    first_index: usize,
    now: sim_core::SimTime,
}

impl Fork<'_> {
    fn add_node(&mut self) -> NodeId {
        let mut node = self.group.template(self.first_index + self.nodes.len());
        // Never the name of a node that exists.
        node.name = format!("template-node-for-{}-{}", self.group.id, self.nodes.len());
        node.labels
            .insert(crate::api::LABEL_HOSTNAME, node.name.clone());
        let id = self.store.add_node(node);
        self.nodes.push(id);
        id
    }
}

impl EstimationSnapshot for Fork<'_> {
    fn add_template_node(&mut self) -> usize {
        self.add_node();
        self.nodes.len() - 1
    }

    fn try_schedule(&mut self, pod: usize, node: usize) -> bool {
        let (Some(&p), Some(&n)) = (self.pods.get(pod), self.nodes.get(node)) else {
            return false;
        };
        let fits = self
            .checker
            .check(&self.store.pod(p).pod, &self.store, n)
            .is_ok();
        if fits {
            self.store.bind(p, n, self.now);
        }
        fits
    }
}

impl Autoscaler {
    /// Pods the scheduler gave up on for now, oldest first (upstream sorts candidates by
    /// priority, highest first).
    fn unschedulable_pods(&self, api: &ApiServer, now: sim_core::SimTime) -> Vec<PodId> {
        let mut pods: Vec<PodId> = api
            .store
            .active_pods()
            .filter(|r| {
                r.node.is_none()
                    && r.deletion_timestamp.is_none()
                    && !matches!(r.phase, PodPhase::Succeeded | PodPhase::Failed)
                    && r.pod.scheduler_name == crate::api::pod::DEFAULT_SCHEDULER_NAME
                    && now.since(r.created_at) >= self.options.new_pod_scale_up_delay
                    && api
                        .events
                        .last_failed_scheduling(&format!("pod/{}", r.pod.name))
                        .is_some()
            })
            .map(|r| r.id)
            .collect();
        pods.sort_by_key(|p| std::cmp::Reverse(api.store.pod(*p).pod.priority));
        pods
    }

    /// One scale-up attempt; true when a group's size went up.
    pub(crate) fn scale_up(&mut self, api: &mut ApiServer, ctx: &mut Context<'_, Event>) -> bool {
        let now = ctx.now();
        let pending = self.unschedulable_pods(api, now);
        if pending.is_empty() {
            return false;
        }
        let Some(mut checker) = self.checker.take() else {
            return false;
        };
        let result = self.plan_and_execute(&mut checker, pending, api, ctx);
        self.checker = Some(checker);
        result
    }

    fn plan_and_execute(
        &mut self,
        checker: &mut PredicateChecker,
        pending: Vec<PodId>,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> bool {
        let now = ctx.now();
        let registered = self.registered(api);
        // Upcoming nodes join the snapshot; pods that fit on any node there are left to the
        // scheduler.
        let mut snap = api.store.clone();
        for g in &self.groups {
            for u in &g.upcoming {
                snap.add_node(g.template(u.index));
            }
        }
        let nodes: Vec<NodeId> = snap.live_nodes().map(|n| n.id).collect();
        let mut remaining = Vec::new();
        for p in pending {
            let pod = snap.pod(p).pod.clone();
            match checker.first_fit(&pod, &snap, nodes.iter().copied()) {
                Some(n) => snap.bind(p, n, now),
                None => remaining.push(p),
            }
        }
        if remaining.is_empty() {
            return false;
        }
        let total_nodes: usize = registered.iter().sum::<usize>()
            + api
                .store
                .live_nodes()
                .filter(|n| !self.groups.iter().any(|g| g.owns(&n.node)))
                .count()
            + self.groups.iter().map(|g| g.upcoming.len()).sum::<usize>();
        let max_total = self.options.max_nodes_total as usize;
        if max_total > 0 && total_nodes >= max_total {
            for p in remaining {
                let object = format!("pod/{}", api.store.pod(p).pod.name);
                self.record_filtered(
                    api,
                    now,
                    "NotTriggerScaleUp",
                    object,
                    format!("pod didn't trigger scale-up: {MAX_TOTAL_REACHED}"),
                );
            }
            return false;
        }

        // Equivalence groups: pods of one controller with the same requests, in order.
        let mut eq_groups: Vec<Vec<PodId>> = Vec::new();
        let mut by_key: BTreeMap<(String, String, i64, i64), usize> = BTreeMap::new();
        for &p in &remaining {
            let r = &api.store.pod(p).pod;
            let key = match &r.owner {
                Some(o) => (
                    o.kind.as_str().to_string(),
                    format!("{}/{}", r.namespace, o.name),
                    r.requests.cpu_milli,
                    r.requests.memory,
                ),
                None => ("Pod".into(), format!("{}/{}", r.namespace, r.name), 0, 0),
            };
            match by_key.get(&key) {
                Some(&i) => eq_groups[i].push(p),
                None => {
                    by_key.insert(key, eq_groups.len());
                    eq_groups.push(vec![p]);
                }
            }
        }

        // Per pod, the reasons of each node group that cannot take it.
        let mut reasons: BTreeMap<PodId, Vec<Vec<String>>> = BTreeMap::new();
        let mut options: Vec<(usize, ExpansionOption, Vec<PodId>)> = Vec::new();
        for (gi, g) in self.groups.iter().enumerate() {
            let target = g.target_size(registered[gi]);
            let skipped = if g.backoff.is_backed_off(now) {
                Some(BACKOFF)
            } else if target >= g.spec.max as usize {
                Some(MAX_LIMIT_REACHED)
            } else {
                None
            };
            if let Some(reason) = skipped {
                for &p in &remaining {
                    reasons.entry(p).or_default().push(vec![reason.to_string()]);
                }
                continue;
            }
            let pods: Vec<PodId> = remaining.clone();
            let mut fork = Fork {
                store: snap.clone(),
                checker: &mut *checker,
                group: g,
                pods: &pods,
                nodes: Vec::new(),
                first_index: g.next_index,
                now,
            };
            let probe = fork.add_node();
            let mut groups_in = Vec::new();
            let template = fork.store.node(probe).node.allocatable.clone();
            for eq in &eq_groups {
                let exemplar = fork.store.pod(eq[0]).pod.clone();
                match fork.checker.check(&exemplar, &fork.store, probe) {
                    Ok(()) => {
                        let indices = eq
                            .iter()
                            .filter_map(|p| pods.iter().position(|q| q == p))
                            .collect();
                        let score = estimator::pod_score(
                            exemplar.requests.cpu_milli,
                            exemplar.requests.memory,
                            template.cpu_milli,
                            template.memory,
                        );
                        groups_in.push((score, indices));
                    }
                    Err(status) => {
                        for &p in eq {
                            reasons.entry(p).or_default().push(status.reasons.clone());
                        }
                    }
                }
            }
            if groups_in.is_empty() {
                continue;
            }
            let mut limit = (g.spec.max as usize).saturating_sub(target);
            limit = limit.min(self.options.max_nodes_per_scale_up);
            if max_total > 0 {
                limit = limit.min(max_total.saturating_sub(total_nodes));
            }
            let estimate = estimator::estimate(&groups_in, limit, &mut fork);
            if estimate.node_count == 0 {
                continue;
            }
            let placed: Vec<PodId> = estimate.scheduled.iter().map(|&i| pods[i]).collect();
            let option = ExpansionOption {
                group: g.id.clone(),
                node_count: estimate.node_count,
                pods: placed.len(),
                pods_cpu_milli: placed
                    .iter()
                    .map(|p| api.store.pod(*p).pod.requests.cpu_milli)
                    .sum(),
                pods_memory: placed
                    .iter()
                    .map(|p| api.store.pod(*p).pod.requests.memory)
                    .sum(),
                node_cpu_milli: template.cpu_milli,
                node_memory: template.memory,
            };
            options.push((gi, option, placed));
        }

        if options.is_empty() {
            for p in remaining {
                let message = format!(
                    "pod didn't trigger scale-up: {}",
                    reasons_message(reasons.get(&p).map_or(&[][..], Vec::as_slice))
                );
                let object = format!("pod/{}", api.store.pod(p).pod.name);
                self.record_filtered(api, now, "NotTriggerScaleUp", object, message);
            }
            return false;
        }
        let plain: Vec<ExpansionOption> = options.iter().map(|o| o.1.clone()).collect();
        let (best, unmatched) = expander::best_option(
            &self.options.expander,
            &plain,
            ctx.rng("autoscaler/expander"),
        );
        for group in unmatched {
            api.record(
                now,
                EventType::Warning,
                "PriorityConfigMapNotMatchedGroup",
                PRIORITY_CONFIG_MAP.into(),
                format!(
                    "Priority expander: node group {group} not found in priority expander configuration. The group won't be used."
                ),
            );
        }
        let Some(best) = best else {
            return false;
        };
        let (gi, option, placed) = options.swap_remove(best);
        let g = &self.groups[gi];
        let current = g.target_size(registered[gi]);
        let mut new_nodes = option.node_count;
        if max_total > 0 {
            new_nodes = new_nodes.min(max_total.saturating_sub(total_nodes));
        }
        let new_size = (current + new_nodes).min(g.spec.max as usize);
        if new_size <= current {
            return false;
        }
        let (id, max) = (g.id.clone(), g.spec.max);
        api.record(
            now,
            EventType::Normal,
            "ScaledUpGroup",
            STATUS_CONFIG_MAP.into(),
            format!(
                "Scale-up: setting group {id} size to {new_size} instead of {current} (max: {max})"
            ),
        );
        self.increase_size(gi, new_size - current, api, ctx);
        api.record(
            now,
            EventType::Normal,
            "ScaledUpGroup",
            STATUS_CONFIG_MAP.into(),
            format!(
                "Scale-up: group {id} size set to {new_size} instead of {current} (max: {max})"
            ),
        );
        self.last_scale_up = Some(now);
        self.stats.scale_ups += 1;
        let info = format!("[{}]", scale_up_info(&id, current, new_size, max));
        for p in placed {
            let object = format!("pod/{}", api.store.pod(p).pod.name);
            self.record_filtered(
                api,
                now,
                "TriggeredScaleUp",
                object,
                format!("pod triggered scale-up: {info}"),
            );
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // upstream processors/nodegroupset/nodegroup_set_processor.go ScaleUpInfo.String and
    // processors/status/eventing_scale_up_processor.go "pod triggered scale-up: %v".
    #[test]
    fn scale_up_info_format() {
        assert_eq!(
            format!("[{}]", scale_up_info("burst", 0, 2, 10)),
            "[{burst 0->2 (max: 10)}]"
        );
    }

    // upstream processors/status/eventing_scale_up_processor_test.go TestReasonsMessage:
    // groups 1, 2 "not schedulable", group 3 "also not schedulable" (rejected), groups 4, 6
    // "max limit reached" and group 5 "not ready" (skipped); the groups that do not exist
    // ("tmp group") are not considered.
    #[test]
    fn reasons_message_table() {
        let r = |s: &str| vec![s.to_string()];
        let groups = vec![
            r("not schedulable"),
            r("not schedulable"),
            r("also not schedulable"),
            r("max limit reached"),
            r("not ready"),
            r("max limit reached"),
        ];
        let result = reasons_message(&groups);
        for part in [
            "2 not schedulable",
            "1 also not schedulable",
            "2 max limit reached",
            "1 not ready",
        ] {
            assert!(result.contains(part), "{result}");
        }
        assert_eq!(reasons_message(&[]), "");
    }
}
