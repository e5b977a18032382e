//! How long each Deployment had fewer available replicas than it asks for, counted from the
//! first time it had them all (its first rollout is not an outage): the availability figure of
//! a run with faults. Kept from the Deployment controller's status writes, the moments the
//! cluster itself records a Deployment's availability.

use std::collections::BTreeMap;

use sim_core::SimTime;

use crate::api::WorkloadId;

#[derive(Clone, Copy, Debug, Default)]
struct Track {
    /// The first time every replica was available.
    since: Option<SimTime>,
    /// Degraded (fewer available than desired) since this time.
    degraded_since: Option<SimTime>,
    degraded_ns: u64,
    /// When the Deployment went away; its time stops counting.
    until: Option<SimTime>,
}

#[derive(Clone, Debug, Default)]
pub struct DeploymentAvailability {
    tracks: BTreeMap<WorkloadId, Track>,
}

impl DeploymentAvailability {
    /// A status write: `available` of `desired` replicas available from `now` on.
    pub(crate) fn observe(&mut self, id: WorkloadId, now: SimTime, available: i32, desired: i32) {
        let t = self.tracks.entry(id).or_default();
        let full = available >= desired;
        match (t.since, t.degraded_since, full) {
            (None, _, true) => t.since = Some(now),
            (None, _, false) => {}
            (Some(_), None, false) => t.degraded_since = Some(now),
            (Some(_), Some(from), true) => {
                t.degraded_ns += now.since(from).as_nanos();
                t.degraded_since = None;
            }
            _ => {}
        }
    }

    /// The Deployment was deleted at `now`.
    pub(crate) fn gone(&mut self, id: WorkloadId, now: SimTime) {
        if let Some(t) = self.tracks.get_mut(&id)
            && t.until.is_none()
        {
            if let Some(from) = t.degraded_since.take() {
                t.degraded_ns += now.since(from).as_nanos();
            }
            t.until = Some(now);
        }
    }

    /// Degraded and tracked time summed over Deployments, up to `end`, in nanoseconds.
    pub fn totals(&self, end: SimTime) -> (u128, u128) {
        let mut degraded = 0u128;
        let mut tracked = 0u128;
        for t in self.tracks.values() {
            let Some(since) = t.since else { continue };
            let stop = t.until.unwrap_or(end).min(end);
            tracked += u128::from(stop.since(since).as_nanos());
            degraded += u128::from(t.degraded_ns);
            if let Some(from) = t.degraded_since {
                degraded += u128::from(stop.since(from).as_nanos());
            }
        }
        (degraded, tracked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degraded_time_counts_from_the_first_full_availability() {
        let mut a = DeploymentAvailability::default();
        let d = WorkloadId(0);
        let s = SimTime::from_secs;
        a.observe(d, s(5), 1, 3);
        a.observe(d, s(10), 3, 3);
        a.observe(d, s(100), 2, 3);
        a.observe(d, s(110), 1, 3);
        a.observe(d, s(130), 3, 3);
        a.observe(d, s(200), 2, 3);
        let (degraded, tracked) = a.totals(s(210));
        assert_eq!(tracked, 200_000_000_000);
        assert_eq!(degraded, 40_000_000_000);
        a.gone(d, s(205));
        assert_eq!(a.totals(s(300)), (35_000_000_000, 195_000_000_000));
    }
}
