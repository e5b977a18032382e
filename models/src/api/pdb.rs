//! PodDisruptionBudgets (`policy/v1`) and the disruption controller's arithmetic
//! (upstream `pkg/controller/disruption/disruption.go`: `getExpectedPodCount`,
//! `countHealthyPods`, `updatePdbStatus`).
//!
//! kubesim computes `status.disruptionsAllowed` on demand from the store, as if the disruption
//! controller had synced at that very instant: the scheduler's preemption is the only reader.

use super::{LabelSelector, OwnerRef, Pod};

/// `intstr.IntOrString` as PDBs use it: a count or a percentage (`"50%"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOrPercent {
    Int(i32),
    Percent(i32),
}

impl IntOrPercent {
    /// Parses the string form; only `N%` is valid as a string upstream.
    pub fn parse_percent(text: &str) -> Option<IntOrPercent> {
        let n = text.strip_suffix('%')?.parse::<i32>().ok()?;
        Some(IntOrPercent::Percent(n))
    }

    /// Upstream `intstr.GetScaledValueFromIntOrPercent`: a percentage of `total`, rounded up
    /// or down (`int(math.Ceil(float64(value) * float64(total) / 100))`), done here in integers.
    pub fn scaled_value(self, total: i32, round_up: bool) -> i32 {
        match self {
            IntOrPercent::Int(n) => n,
            IntOrPercent::Percent(p) => {
                let product = i64::from(p) * i64::from(total);
                let value = if round_up {
                    product.div_euclid(100) + i64::from(product.rem_euclid(100) != 0)
                } else {
                    product.div_euclid(100)
                };
                i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
            }
        }
    }
}

impl std::fmt::Display for IntOrPercent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IntOrPercent::Int(n) => write!(f, "{n}"),
            IntOrPercent::Percent(p) => write!(f, "{p}%"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodDisruptionBudget {
    pub name: String,
    pub namespace: String,
    /// `None` when the manifest has no selector (it then selects nothing).
    pub selector: Option<LabelSelector>,
    pub min_available: Option<IntOrPercent>,
    pub max_unavailable: Option<IntOrPercent>,
}

/// What the disruption controller would write into `status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PdbStatus {
    pub expected_pods: i32,
    pub desired_healthy: i32,
    pub current_healthy: i32,
    pub disruptions_allowed: i32,
}

/// One pod as the disruption controller sees it.
#[derive(Clone, Copy, Debug)]
pub struct PdbPod<'a> {
    pub pod: &'a Pod,
    /// Ready and not being deleted (`countHealthyPods`). kubesim models no readiness probes,
    /// so Running counts as Ready.
    pub healthy: bool,
}

impl PodDisruptionBudget {
    /// The scheduler's matching (preemption `filterPodsWithPDBViolation`): same namespace, and
    /// "A PDB with a nil or empty selector matches nothing"; a pod without labels matches none.
    pub fn matches_for_preemption(&self, pod: &Pod) -> bool {
        pod.namespace == self.namespace
            && !pod.labels.is_empty()
            && self
                .selector
                .as_ref()
                .is_some_and(|s| !s.requirements.is_empty() && s.matches(&pod.labels))
    }

    /// The disruption controller's matching (`getPodsForPdb` with
    /// `metav1.LabelSelectorAsSelector`): a nil selector selects nothing, an empty one every pod
    /// of the namespace — unlike the scheduler, as upstream.
    pub fn selects(&self, pod: &Pod) -> bool {
        pod.namespace == self.namespace
            && self
                .selector
                .as_ref()
                .is_some_and(|s| s.matches(&pod.labels))
    }

    /// Upstream `getExpectedPodCount` + `countHealthyPods` + `updatePdbStatus` over the pods
    /// the PDB selects. `scale` gives the replicas of a pod's controller (upstream
    /// `getExpectedScale` sums each controller once); pods without a controller are
    /// "unmanaged" and add nothing to a percentage's or maxUnavailable's base.
    pub fn status<'a>(
        &self,
        pods: impl Iterator<Item = PdbPod<'a>>,
        scale: impl Fn(&OwnerRef) -> Option<i32>,
    ) -> PdbStatus {
        let mut selected = 0i32;
        let mut current_healthy = 0i32;
        let mut owners: Vec<&OwnerRef> = Vec::new();
        for p in pods.filter(|p| self.selects(p.pod)) {
            selected = selected.saturating_add(1);
            if p.healthy {
                current_healthy = current_healthy.saturating_add(1);
            }
            if let Some(owner) = &p.pod.owner
                && !owners
                    .iter()
                    .any(|o| o.kind == owner.kind && o.id == owner.id)
            {
                owners.push(owner);
            }
        }
        let expected_scale = || {
            owners
                .iter()
                .filter_map(|o| scale(o))
                .fold(0i32, i32::saturating_add)
        };
        let (expected_pods, desired_healthy) = match (self.max_unavailable, self.min_available) {
            (Some(max), _) => {
                let expected = expected_scale();
                let max = max.scaled_value(expected, true);
                (expected, expected.saturating_sub(max).max(0))
            }
            (None, Some(IntOrPercent::Int(n))) => (selected, n),
            (None, Some(min @ IntOrPercent::Percent(_))) => {
                let expected = expected_scale();
                (expected, min.scaled_value(expected, true))
            }
            (None, None) => (0, 0),
        };
        let mut disruptions_allowed = current_healthy.saturating_sub(desired_healthy);
        if expected_pods <= 0 || disruptions_allowed <= 0 {
            disruptions_allowed = 0;
        }
        PdbStatus {
            expected_pods,
            desired_healthy,
            current_healthy,
            disruptions_allowed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Labels, OwnerKind, WorkloadId};

    fn pod(app: &str, owner: Option<u32>) -> Pod {
        Pod {
            name: format!("{app}-x"),
            labels: [("app", app)].into_iter().collect::<Labels>(),
            owner: owner.map(|i| OwnerRef {
                kind: OwnerKind::ReplicaSet,
                name: format!("rs-{i}"),
                id: WorkloadId(i),
            }),
            ..Pod::default()
        }
    }

    fn pdb(min: Option<IntOrPercent>, max: Option<IntOrPercent>) -> PodDisruptionBudget {
        PodDisruptionBudget {
            name: "web".into(),
            namespace: "default".into(),
            selector: Some(LabelSelector::from_match_labels([("app", "web")])),
            min_available: min,
            max_unavailable: max,
        }
    }

    #[test]
    fn percentages_round_up_as_get_scaled_value_from_int_or_percent() {
        // intstr: ceil(50 * 3 / 100) = 2; floor = 1.
        assert_eq!(IntOrPercent::Percent(50).scaled_value(3, true), 2);
        assert_eq!(IntOrPercent::Percent(50).scaled_value(3, false), 1);
        assert_eq!(IntOrPercent::Int(4).scaled_value(3, true), 4);
        assert_eq!(
            IntOrPercent::parse_percent("25%"),
            Some(IntOrPercent::Percent(25))
        );
        assert_eq!(IntOrPercent::parse_percent("25"), None);
    }

    #[test]
    fn disruptions_allowed_follow_the_disruption_controller() {
        let pods: Vec<Pod> = (0..3).map(|_| pod("web", Some(0))).collect();
        let other = pod("db", Some(1));
        let view = |healthy: [bool; 3]| {
            pods.iter()
                .zip(healthy)
                .map(|(p, healthy)| PdbPod { pod: p, healthy })
                .chain(std::iter::once(PdbPod {
                    pod: &other,
                    healthy: true,
                }))
                .collect::<Vec<_>>()
        };
        let scale = |_: &OwnerRef| Some(3);
        // minAvailable 2 of 3 healthy: 3 - 2 = 1 disruption allowed.
        let s = pdb(Some(IntOrPercent::Int(2)), None).status(view([true; 3]).into_iter(), scale);
        assert_eq!(
            (s.expected_pods, s.desired_healthy, s.disruptions_allowed),
            (3, 2, 1)
        );
        // One pod unhealthy: 2 - 2 = 0.
        let s = pdb(Some(IntOrPercent::Int(2)), None)
            .status(view([true, true, false]).into_iter(), scale);
        assert_eq!(s.disruptions_allowed, 0);
        // maxUnavailable 1 of a scale of 3: desired 2, allowed 1.
        let s = pdb(None, Some(IntOrPercent::Int(1))).status(view([true; 3]).into_iter(), scale);
        assert_eq!((s.desired_healthy, s.disruptions_allowed), (2, 1));
        // minAvailable 50% of 3 = ceil(1.5) = 2 → allowed 1.
        let s =
            pdb(Some(IntOrPercent::Percent(50)), None).status(view([true; 3]).into_iter(), scale);
        assert_eq!((s.desired_healthy, s.disruptions_allowed), (2, 1));
        // maxUnavailable 0: nothing may be disrupted.
        let s = pdb(None, Some(IntOrPercent::Int(0))).status(view([true; 3]).into_iter(), scale);
        assert_eq!(s.disruptions_allowed, 0);
    }

    #[test]
    fn empty_selectors_differ_between_scheduler_and_controller() {
        let p = pod("web", None);
        let mut b = pdb(Some(IntOrPercent::Int(1)), None);
        b.selector = Some(LabelSelector::default());
        // Upstream: the scheduler's "nil or empty selector matches nothing", while
        // LabelSelectorAsSelector(&{}) is labels.Everything() for the controller.
        assert!(!b.matches_for_preemption(&p));
        assert!(b.selects(&p));
        b.selector = None;
        assert!(!b.matches_for_preemption(&p) && !b.selects(&p));
    }
}
