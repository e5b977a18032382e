//! Restart and pull back-off as the kubelet keeps it: one `flowcontrol.Backoff` entry per
//! container (upstream `client-go/util/flowcontrol/backoff.go`), checked by
//! `kuberuntime_manager.go` `doBackOff` against the finish time of the container's last exit.

use sim_core::{SimDuration, SimTime};

/// Upstream kubelet `backOffPeriod` (10s): the first back-off of a container restart or an
/// image pull.
pub const CONTAINER_BACKOFF_INITIAL: SimDuration = SimDuration::from_secs(10);
/// Upstream kubelet `MaxContainerBackOff` (300s); the image pull back-off has the same cap
/// (`images.NewImageManager(…, flowcontrol.NewBackOff(backOffPeriod, MaxContainerBackOff))`).
pub const CONTAINER_BACKOFF_MAX: SimDuration = SimDuration::from_secs(300);

/// One `backoffEntry`: the current back-off and when it was last moved on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffEntry {
    pub backoff: SimDuration,
    pub last_update: SimTime,
}

/// Upstream `hasExpired`: an entry untouched for more than twice the maximum (10 minutes)
/// starts over: a container that ran that long since its last restart restarts at once.
fn has_expired(event: SimTime, last_update: SimTime) -> bool {
    event.since(last_update) > CONTAINER_BACKOFF_MAX.saturating_mul(2)
}

/// A container exited at `finished`: how long until the kubelet starts it again, moving the
/// entry on as upstream does. `doBackOff` finds the container in back-off while
/// `now - finished < backoff` (`IsInBackOffSince`), and when the window has passed calls
/// `Next`, which doubles the back-off (capped) and stamps `lastUpdate` with the restart
/// time. Without an entry (or with an expired one) `Next` creates one at 10s and the
/// container restarts at once; so the delays run 0, 10s, 20s, 40s, … 300s.
pub fn restart_delay(entry: &mut Option<BackoffEntry>, finished: SimTime) -> SimDuration {
    match entry {
        Some(e) if !has_expired(finished, e.last_update) => {
            let delay = e.backoff;
            e.backoff = e.backoff.saturating_mul(2).min(CONTAINER_BACKOFF_MAX);
            e.last_update = finished + delay;
            delay
        }
        _ => {
            *entry = Some(BackoffEntry {
                backoff: CONTAINER_BACKOFF_INITIAL,
                last_update: finished,
            });
            SimDuration::ZERO
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> SimDuration {
        SimDuration::from_secs(secs)
    }

    /// upstream staging/src/k8s.io/client-go/util/flowcontrol/backoff_test.go
    /// TestSlowBackoff / TestBackoffReset: "Next" doubles from the initial value up to the
    /// maximum ("expected %v, got %v" over `step*2` up to `maxDuration`), and an entry left
    /// alone for more than 2*maxDuration starts again at the initial value. With the kubelet's
    /// 10s and 300s (`backOffPeriod`, `MaxContainerBackOff` in pkg/kubelet/kubelet.go) and
    /// `doBackOff` restarting at once when no entry is in back-off, a container that crashes
    /// right after each start waits 0, 10, 20, 40, 80, 160, 300, 300 seconds.
    #[test]
    fn crash_loop_back_off_table() {
        let mut entry = None;
        let mut t = SimTime::ZERO;
        let mut delays = Vec::new();
        for _ in 0..8 {
            let d = restart_delay(&mut entry, t);
            delays.push(d.as_secs_f64() as u64);
            // The container crashes right after it started again.
            t = t + d + s(1);
        }
        assert_eq!(delays, [0, 10, 20, 40, 80, 160, 300, 300]);
    }

    /// upstream backoff.go `hasExpired`: "consider stable if it's ok for twice the
    /// maxDuration": after more than 10 minutes of running the next crash restarts at once
    /// and the back-off starts over at 10s; exactly 10 minutes is not enough.
    #[test]
    fn ten_minutes_of_running_resets_the_back_off() {
        let mut entry = None;
        let t0 = SimTime::ZERO;
        assert_eq!(restart_delay(&mut entry, t0), SimDuration::ZERO);
        assert_eq!(restart_delay(&mut entry, t0 + s(5)), s(10));
        // Restarted at 15s; runs exactly 600s: still in the same series.
        assert_eq!(restart_delay(&mut entry, t0 + s(15 + 600)), s(20));
        // Restarted at 635s; runs 601s: the series starts over.
        assert_eq!(
            restart_delay(&mut entry, t0 + s(635 + 601)),
            SimDuration::ZERO
        );
        assert_eq!(restart_delay(&mut entry, t0 + s(635 + 602)), s(10));
    }
}
