//! Zones and their disruption states (upstream `node_lifecycle_controller.go`
//! `ComputeZoneState`, `ReducedQPSFunc`, `HealthyQPSFunc`, `setLimiterInZone`, and
//! component-helpers `node/topology.GetZoneKey`).

use crate::api::Labels;
use crate::api::node::{LABEL_REGION, LABEL_REGION_BETA, LABEL_ZONE, LABEL_ZONE_BETA};

/// Upstream `ZoneState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ZoneState {
    Initial,
    Normal,
    FullDisruption,
    PartialDisruption,
}

impl ZoneState {
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneState::Initial => "Initial",
            ZoneState::Normal => "Normal",
            ZoneState::FullDisruption => "FullDisruption",
            ZoneState::PartialDisruption => "PartialDisruption",
        }
    }
}

/// The controller manager's defaults (`pkg/controller/nodelifecycle/config/v1alpha1/defaults.go`,
/// `cmd/kube-controller-manager` flags): `--node-eviction-rate 0.1`,
/// `--secondary-node-eviction-rate 0.01`, `--large-cluster-size-threshold 50`,
/// `--unhealthy-zone-threshold 0.55`. Rates in thousandths of a node per second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisruptionConfig {
    pub eviction_limiter_qps_milli: u64,
    pub secondary_eviction_limiter_qps_milli: u64,
    pub large_cluster_threshold: usize,
    /// `unhealthyZoneThreshold` in thousandths.
    pub unhealthy_zone_threshold_milli: u64,
}

impl Default for DisruptionConfig {
    fn default() -> Self {
        DisruptionConfig {
            eviction_limiter_qps_milli: 100,
            secondary_eviction_limiter_qps_milli: 10,
            large_cluster_threshold: 50,
            unhealthy_zone_threshold_milli: 550,
        }
    }
}

impl DisruptionConfig {
    /// Upstream `ComputeZoneState(nodeReadyConditions)` from the zone's counts of nodes whose
    /// Ready condition is `True` and of the others: returns the unhealthy count and the state.
    /// Fully disrupted with no Ready node; partially disrupted with more than two not-Ready
    /// nodes making at least `unhealthyZoneThreshold` of the zone.
    pub fn compute_zone_state(&self, ready: usize, not_ready: usize) -> (usize, ZoneState) {
        let state = if ready == 0 && not_ready > 0 {
            ZoneState::FullDisruption
        } else if not_ready > 2
            // float32(notReady)/float32(total) >= threshold, in exact integers.
            && (not_ready as u128) * 1000
                >= (self.unhealthy_zone_threshold_milli as u128) * ((not_ready + ready) as u128)
        {
            ZoneState::PartialDisruption
        } else {
            ZoneState::Normal
        };
        (not_ready, state)
    }

    /// Upstream `ReducedQPSFunc`: a partially disrupted zone of a large cluster evicts at the
    /// secondary rate; in a small one, not at all.
    pub fn reduced_qps_milli(&self, zone_size: usize) -> u64 {
        if zone_size > self.large_cluster_threshold {
            self.secondary_eviction_limiter_qps_milli
        } else {
            0
        }
    }

    /// Upstream `HealthyQPSFunc`.
    pub fn healthy_qps_milli(&self, _zone_size: usize) -> u64 {
        self.eviction_limiter_qps_milli
    }

    /// Upstream `setLimiterInZone`: the rate the zone's NoExecute tainter gets in `state`
    /// (`None` for `Initial`, which leaves it as it is).
    pub fn zone_qps_milli(&self, zone_size: usize, state: ZoneState) -> Option<u64> {
        match state {
            ZoneState::Normal => Some(self.eviction_limiter_qps_milli),
            ZoneState::PartialDisruption => Some(self.reduced_qps_milli(zone_size)),
            ZoneState::FullDisruption => Some(self.healthy_qps_milli(zone_size)),
            ZoneState::Initial => None,
        }
    }
}

/// Upstream `GetZoneKey`: `region + ":\x00:" + zone`, the beta labels first; `""` without
/// either.
pub fn zone_key(labels: &Labels) -> String {
    let zone = labels
        .get(LABEL_ZONE_BETA)
        .or_else(|| labels.get(LABEL_ZONE))
        .unwrap_or("");
    let region = labels
        .get(LABEL_REGION_BETA)
        .or_else(|| labels.get(LABEL_REGION))
        .unwrap_or("");
    if region.is_empty() && zone.is_empty() {
        return String::new();
    }
    format!("{region}:\u{0}:{zone}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compute_zone_state_thresholds() {
        // upstream node_lifecycle_controller.go ComputeZoneState: "fullyDisrupted if there're
        // no Ready Nodes, partiallyDisrupted if at least than nc.unhealthyZoneThreshold percent
        // of Nodes are not Ready, normal otherwise" (with notReadyNodes > 2).
        let c = DisruptionConfig::default();
        // (ready, notReady) → state, from the zones of TestMonitorNodeHealthEvictPodsWithDisruption.
        let table = [
            ((0, 1), ZoneState::FullDisruption),
            ((0, 2), ZoneState::FullDisruption),
            ((1, 1), ZoneState::Normal),
            // Two of three not ready: not more than two, so Normal.
            ((1, 2), ZoneState::Normal),
            ((1, 3), ZoneState::PartialDisruption),
            // 3/6 = 0.5 < 0.55.
            ((3, 3), ZoneState::Normal),
            // 11/20 = 0.55 exactly: partially disrupted.
            ((9, 11), ZoneState::PartialDisruption),
            ((10, 0), ZoneState::Normal),
            ((0, 0), ZoneState::Normal),
        ];
        for ((ready, not_ready), want) in table {
            assert_eq!(
                c.compute_zone_state(ready, not_ready),
                (not_ready, want),
                "{ready} ready, {not_ready} not"
            );
        }
    }

    #[test]
    fn eviction_rates_by_zone_state() {
        // upstream ReducedQPSFunc / HealthyQPSFunc / setLimiterInZone, and the cases of
        // TestMonitorNodeHealthEvictPodsWithDisruption: "Partial Disruption, small cluster"
        // stops evictions, a large one (> largeClusterThreshold nodes) uses the secondary rate,
        // "Full Disruption" of one zone keeps the normal rate.
        let c = DisruptionConfig::default();
        assert_eq!(c.zone_qps_milli(3, ZoneState::Normal), Some(100));
        assert_eq!(c.zone_qps_milli(50, ZoneState::PartialDisruption), Some(0));
        assert_eq!(c.zone_qps_milli(51, ZoneState::PartialDisruption), Some(10));
        assert_eq!(c.zone_qps_milli(2, ZoneState::FullDisruption), Some(100));
        assert_eq!(c.zone_qps_milli(2, ZoneState::Initial), None);
    }

    #[test]
    fn zone_key_prefers_beta_labels() {
        // upstream component-helpers node/topology GetZoneKey and testutil.CreateZoneID.
        let mut l = Labels::new();
        assert_eq!(zone_key(&l), "");
        l.insert(LABEL_ZONE, "zone1");
        assert_eq!(zone_key(&l), ":\u{0}:zone1");
        l.insert(LABEL_REGION, "region1");
        assert_eq!(zone_key(&l), "region1:\u{0}:zone1");
        l.insert(LABEL_ZONE_BETA, "zone2");
        assert_eq!(zone_key(&l), "region1:\u{0}:zone2");
    }
}
