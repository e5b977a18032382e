//! StatefulSet guarantees (upstream's documented ones, checked from the pods alone):
//! - Ordered creation: under `OrderedReady`, pod `N` of a set is only created while pod `N-1`
//!   exists, is Running and Ready, and is not terminating.
//! - Identity: at most one non-terminating pod holds a set's ordinal at any time.

use std::collections::BTreeMap;

use sim_core::SimTime;

use super::Checkers;
use crate::api::{OwnerKind, PodManagementPolicy, PodPhase, StatefulSet};
use crate::apiserver::ApiServer;
use crate::controllers::statefulset::utils::{get_ordinal, is_member_of};

/// What the StatefulSet checks remember between events.
#[derive(Debug, Default)]
pub struct StatefulSetChecks {
    /// Pod records already looked at (the store only appends).
    pods_seen: usize,
    /// Pods checked at their creation against the ordering guarantee.
    pub creations_checked: u64,
}

impl Checkers {
    pub(super) fn stateful_sets(&mut self, api: &ApiServer, now: SimTime) {
        if api.objects::<StatefulSet>().is_empty() {
            return;
        }
        self.ordered_creation(api, now);
        self.unique_identity(api, now);
    }

    /// Every pod created since the last event, checked against its predecessor as it is now,
    /// which is as the controller saw it (nothing else happened in between).
    fn ordered_creation(&mut self, api: &ApiServer, now: SimTime) {
        let from = self.stateful_set_checks.pods_seen;
        self.stateful_set_checks.pods_seen = api.store.pods.len();
        for r in api.store.pods.since(from) {
            let Some(owner) = r
                .pod
                .owner
                .as_ref()
                .filter(|o| o.kind == OwnerKind::StatefulSet)
            else {
                continue;
            };
            let Some(set) = api.objects::<StatefulSet>().get(owner.id) else {
                continue;
            };
            let spec = &set.spec;
            if spec.pod_management_policy != PodManagementPolicy::OrderedReady
                || !is_member_of(&spec.name, &r.pod.name)
            {
                continue;
            }
            self.stateful_set_checks.creations_checked += 1;
            let ordinal = get_ordinal(&r.pod.name);
            if ordinal <= spec.ordinals_start {
                continue;
            }
            let previous = format!("{}-{}", spec.name, ordinal - 1);
            let ok = set.pods.iter().any(|p| {
                let q = api.store.pod(*p);
                q.is_active()
                    && q.pod.name == previous
                    && q.phase == PodPhase::Running
                    && q.ready
                    && q.deletion_timestamp.is_none()
            });
            if !ok {
                self.violate(
                    now,
                    "statefulset-ordered-creation",
                    format!(
                        "statefulset/{}: pod {} created while {previous} is not Running and Ready",
                        spec.name, r.pod.name
                    ),
                );
            }
        }
    }

    fn unique_identity(&mut self, api: &ApiServer, now: SimTime) {
        let mut found = Vec::new();
        for set in api.objects::<StatefulSet>().all() {
            let mut holders: BTreeMap<&str, u32> = BTreeMap::new();
            for p in &set.pods {
                let r = api.store.pod(*p);
                if r.is_active() && r.deletion_timestamp.is_none() {
                    *holders.entry(r.pod.name.as_str()).or_default() += 1;
                }
            }
            for (name, n) in holders.into_iter().filter(|(_, n)| *n > 1) {
                found.push(format!(
                    "statefulset/{}: {n} non-terminating pods named {name}",
                    set.spec.name
                ));
            }
        }
        for detail in found {
            self.violate(now, "statefulset-unique-identity", detail);
        }
    }
}
