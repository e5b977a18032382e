//! Upstream `pkg/controller/job/backoff_utils.go`: the exponential delay before a Job replaces
//! failed pods, kept per Job in a backoff record (and, with `backoffLimitPerIndex`, per index
//! from the failed pod's annotations).
//!
//! Times are [`SimTime`]s; upstream's "zero time" (a container terminated without `finishedAt`)
//! is `None` here.

use sim_core::{SimDuration, SimTime};

/// Upstream `DefaultJobPodFailureBackOff` (`job_controller.go`): the delay after the first
/// failure.
pub const DEFAULT_JOB_POD_FAILURE_BACK_OFF: SimDuration = SimDuration::from_secs(10);
/// Upstream `MaxJobPodFailureBackOff` (`job_controller.go`): the cap on the doubling delay.
pub const MAX_JOB_POD_FAILURE_BACK_OFF: SimDuration = SimDuration::from_mins(10);

/// A pod that finished since the last sync, as the backoff and index arithmetic see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FinishedPod {
    /// Upstream `getFinishedTime` (see [`get_finished_time`]).
    pub finish_time: SimTime,
    /// Counted as failed (upstream `isPodFailed`); otherwise it succeeded.
    pub failed: bool,
    /// Completion index (annotation `batch.kubernetes.io/job-completion-index`), if valid.
    pub index: Option<i64>,
}

/// Upstream `backoffRecord`: consecutive failures since the last success, and when the last
/// of them happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackoffRecord<K> {
    pub key: K,
    pub failures_after_last_success: i32,
    pub last_failure_time: Option<SimTime>,
}

/// Upstream `backoffStore.newBackoffRecord`: the record after the newly finished pods, starting
/// from the stored one (`previous`, or an empty record for `key`).
///
/// Any new success resets the count; then only the failures that finished strictly after the
/// latest success count, and the latest of them is the last failure.
pub fn new_backoff_record<K: Clone>(
    key: K,
    previous: Option<&BackoffRecord<K>>,
    newly_finished: &[FinishedPod],
) -> BackoffRecord<K> {
    let mut record = match previous {
        Some(old) => old.clone(),
        None => BackoffRecord {
            key,
            failures_after_last_success: 0,
            last_failure_time: None,
        },
    };
    let mut failed: Vec<SimTime> = newly_finished
        .iter()
        .filter(|p| p.failed)
        .map(|p| p.finish_time)
        .collect();
    failed.sort_unstable();
    let last_success = newly_finished
        .iter()
        .filter(|p| !p.failed)
        .map(|p| p.finish_time)
        .max();

    let Some(last_success) = last_success else {
        let Some(&latest_failure) = failed.last() else {
            return record;
        };
        let new_failures = i32::try_from(failed.len()).unwrap_or(i32::MAX);
        record.failures_after_last_success = record
            .failures_after_last_success
            .wrapping_add(new_failures);
        record.last_failure_time = Some(latest_failure);
        return record;
    };

    record.failures_after_last_success = 0;
    record.last_failure_time = None;
    for &failed_at in failed.iter().rev() {
        if failed_at <= last_success {
            break;
        }
        if record.last_failure_time.is_none() {
            record.last_failure_time = Some(failed_at);
        }
        record.failures_after_last_success += 1;
    }
    record
}

/// Upstream `backoffRecord.getRemainingTime`: how long pod creation must still wait.
pub fn get_remaining_time<K>(
    record: &BackoffRecord<K>,
    now: SimTime,
    default_backoff: SimDuration,
    max_backoff: SimDuration,
) -> SimDuration {
    get_remaining_time_for_failures_count(
        now,
        default_backoff,
        max_backoff,
        record.failures_after_last_success,
        record.last_failure_time,
    )
}

/// Upstream `getRemainingTimePerIndex`: the wait before replacing the last failed pod of an
/// index. `last_failed_pod` is that pod's absolute failure count (upstream
/// `getIndexAbsoluteFailureCount`, see [`super::indexed::get_index_absolute_failure_count`]) and
/// its finish time; `None` when the index has no failed pod.
pub fn get_remaining_time_per_index(
    now: SimTime,
    default_backoff: SimDuration,
    max_backoff: SimDuration,
    last_failed_pod: Option<(i32, SimTime)>,
) -> SimDuration {
    let Some((absolute_failure_count, finish_time)) = last_failed_pod else {
        return SimDuration::ZERO;
    };
    get_remaining_time_for_failures_count(
        now,
        default_backoff,
        max_backoff,
        absolute_failure_count.wrapping_add(1),
        Some(finish_time),
    )
}

/// Upstream `getRemainingTimeForFailuresCount`: `default · 2^(failures-1)`, capped at `max`,
/// minus the time since the last failure.
///
/// Upstream dereferences the last failure time whenever the count is non-zero; a record without
/// one (which upstream never builds) waits for nothing here.
pub fn get_remaining_time_for_failures_count(
    now: SimTime,
    default_backoff: SimDuration,
    max_backoff: SimDuration,
    failures_count: i32,
    last_failure_time: Option<SimTime>,
) -> SimDuration {
    if failures_count == 0 {
        return SimDuration::ZERO;
    }
    let Some(last_failure_time) = last_failure_time else {
        return SimDuration::ZERO;
    };
    let mut backoff = default_backoff;
    for _ in 1..failures_count {
        backoff = backoff.saturating_mul(2);
        if backoff >= max_backoff {
            backoff = max_backoff;
            break;
        }
    }
    // A failure stamped after `now` (clock skew) makes the elapsed time negative, and upstream
    // then waits longer than the full backoff.
    let elapsed = i128::from(now.as_nanos()) - i128::from(last_failure_time.as_nanos());
    let backoff_nanos = i128::from(backoff.as_nanos());
    if backoff_nanos < elapsed {
        return SimDuration::ZERO;
    }
    let remaining = backoff_nanos - elapsed;
    SimDuration::from_nanos(u64::try_from(remaining).unwrap_or(u64::MAX))
}

/// What upstream `getFinishedTime` reads from a pod.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FinishTimeInputs {
    /// `status.containerStatuses[*].state.terminated.finishedAt`, in order; `None` for a
    /// container not terminated (or terminated without a time).
    pub containers: Vec<Option<SimTime>>,
    /// The same for the restartable init (sidecar) containers only.
    pub sidecars: Vec<Option<SimTime>>,
    /// `lastTransitionTime` of the pod's `Ready` condition when its status is `False`.
    pub ready_false_since: Option<SimTime>,
    /// `metadata.deletionTimestamp` and `metadata.deletionGracePeriodSeconds` (0 if absent).
    pub deletion: Option<(SimTime, i64)>,
    pub created: SimTime,
}

/// Upstream `getFinishedTime`: the latest container finish (sidecars included), else the time
/// `Ready` turned `False`, else the deletion time minus its grace period, else the creation
/// time.
pub fn get_finished_time(pod: &FinishTimeInputs) -> SimTime {
    let regular = latest_finish_time(None, &pod.containers);
    // Upstream carries on from the regular containers' result even when that is "none", so
    // terminated sidecars alone can give the finish time.
    if let Some(t) = latest_finish_time(regular, &pod.sidecars) {
        return t;
    }
    if let Some(t) = pod.ready_false_since {
        return t;
    }
    if let Some((deleted_at, grace_seconds)) = pod.deletion {
        let nanos = i128::from(deleted_at.as_nanos())
            - i128::from(grace_seconds).saturating_mul(1_000_000_000);
        let nanos = nanos.clamp(0, i128::from(u64::MAX));
        return SimTime::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
    }
    pod.created
}

/// Upstream `latestFinishTime`: `None` as soon as one container has not terminated.
fn latest_finish_time(previous: Option<SimTime>, finished: &[Option<SimTime>]) -> Option<SimTime> {
    let mut latest = previous;
    for f in finished {
        let t = (*f)?;
        if latest.is_none_or(|l| l < t) {
            latest = Some(t);
        }
    }
    latest
}

#[cfg(test)]
mod tests {
    use super::*;

    // The tables' `defaultTestTime` (2009-11-10 23:00:00 UTC) is an arbitrary instant; only
    // the offsets from it matter.
    const T: SimTime = SimTime::from_nanos(1_000_000_000_000);

    fn minus_ms(ms: u64) -> SimTime {
        SimTime::from_nanos(T.as_nanos() - ms * 1_000_000)
    }

    fn pods(succeeded: &[SimTime], failed: &[SimTime]) -> Vec<FinishedPod> {
        let s = succeeded.iter().map(|&t| FinishedPod {
            finish_time: t,
            failed: false,
            index: None,
        });
        let f = failed.iter().map(|&t| FinishedPod {
            finish_time: t,
            failed: true,
            index: None,
        });
        s.chain(f).collect()
    }

    // upstream pkg/controller/job/backoff_utils_test.go TestNewBackoffRecord
    #[test]
    fn new_backoff_record_table() {
        let stored = BackoffRecord {
            key: "key",
            failures_after_last_success: 2,
            last_failure_time: None,
        };
        #[allow(clippy::type_complexity)]
        let cases: Vec<(
            &str,
            Option<&BackoffRecord<&str>>,
            Vec<SimTime>,
            Vec<SimTime>,
            i32,
            Option<SimTime>,
        )> = vec![
            (
                "Empty backoff store and one new failure",
                None,
                vec![],
                vec![T],
                1,
                Some(T),
            ),
            (
                "Empty backoff store and two new failures",
                None,
                vec![],
                vec![T, minus_ms(1)],
                2,
                Some(T),
            ),
            (
                "Empty backoff store, two failures followed by success",
                None,
                vec![T],
                vec![minus_ms(2), minus_ms(1)],
                0,
                None,
            ),
            (
                "Empty backoff store, two failures, one success and two more failures",
                None,
                vec![minus_ms(2)],
                vec![T, minus_ms(4), minus_ms(3), minus_ms(1)],
                2,
                Some(T),
            ),
            (
                "Backoff store having failure count 2 and one new failure",
                Some(&stored),
                vec![],
                vec![T],
                3,
                Some(T),
            ),
            (
                "Empty backoff store with success and failure at same timestamp",
                None,
                vec![T],
                vec![T],
                0,
                None,
            ),
            (
                "Empty backoff store with no success/failure",
                None,
                vec![],
                vec![],
                0,
                None,
            ),
            (
                "Empty backoff store with one success",
                None,
                vec![T],
                vec![],
                0,
                None,
            ),
        ];
        for (name, previous, succeeded, failed, want_count, want_last) in cases {
            let got = new_backoff_record("key", previous, &pods(&succeeded, &failed));
            let want = BackoffRecord {
                key: "key",
                failures_after_last_success: want_count,
                last_failure_time: want_last,
            };
            assert_eq!(got, want, "{name}");
        }
    }

    // upstream pkg/controller/job/backoff_utils_test.go TestGetRemainingBackoffTime
    #[test]
    fn get_remaining_backoff_time_table() {
        let s = SimDuration::from_secs;
        let at = |secs: u64| T + s(secs);
        let cases: Vec<(&str, i32, Option<SimTime>, SimTime, SimDuration)> = vec![
            ("no failures", 0, None, SimTime::ZERO, s(0)),
            (
                "one failure; current time and failure time are same",
                1,
                Some(T),
                T,
                s(5),
            ),
            (
                "one failure; current time == 1 second + failure time",
                1,
                Some(T),
                at(1),
                s(4),
            ),
            (
                "one failure; current time == expected backoff time",
                1,
                Some(T),
                at(5),
                s(0),
            ),
            (
                "one failure; current time == expected backoff time + 1 Second",
                1,
                Some(T),
                at(6),
                s(0),
            ),
            (
                "three failures; current time and failure time are same",
                3,
                Some(T),
                T,
                s(20),
            ),
            (
                "eight failures; current time and failure time are same; backoff not exceeding maxBackoff",
                8,
                Some(T),
                T,
                s(640),
            ),
            (
                "nine failures; current time and failure time are same; backoff exceeding maxBackoff",
                9,
                Some(T),
                T,
                s(700),
            ),
        ];
        for (name, failures, last, now, want) in cases {
            let record = BackoffRecord {
                key: (),
                failures_after_last_success: failures,
                last_failure_time: last,
            };
            assert_eq!(
                get_remaining_time(&record, now, s(5), s(700)),
                want,
                "{name}"
            );
        }
    }

    // upstream pkg/controller/job/backoff_utils_test.go TestGetRemainingBackoffTimePerIndex
    // (the failed pod's finish time is its deletion timestamp there).
    #[test]
    fn get_remaining_backoff_time_per_index_table() {
        let s = SimDuration::from_secs;
        #[allow(clippy::type_complexity)]
        let cases: Vec<(&str, Option<(i32, SimTime)>, SimDuration)> = vec![
            ("no failures", None, s(0)),
            (
                "two prev failures; current time and failure time are same",
                Some((2, T)),
                s(20),
            ),
            (
                "one prev failure counted and one ignored; current time and failure time are same",
                Some((1 + 1, T)),
                s(20),
            ),
        ];
        for (name, last_failed, want) in cases {
            assert_eq!(
                get_remaining_time_per_index(T, s(5), s(700), last_failed),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn production_constants_double_from_ten_seconds_to_ten_minutes() {
        let record = |n| BackoffRecord {
            key: (),
            failures_after_last_success: n,
            last_failure_time: Some(T),
        };
        let wait = |n| {
            get_remaining_time(
                &record(n),
                T,
                DEFAULT_JOB_POD_FAILURE_BACK_OFF,
                MAX_JOB_POD_FAILURE_BACK_OFF,
            )
        };
        assert_eq!(wait(1), SimDuration::from_secs(10));
        assert_eq!(wait(2), SimDuration::from_secs(20));
        assert_eq!(wait(6), SimDuration::from_secs(320));
        assert_eq!(wait(7), SimDuration::from_mins(10));
        assert_eq!(wait(i32::MAX), SimDuration::from_mins(10));
    }

    // upstream pkg/controller/job/backoff_utils_test.go TestGetFinishedTime
    #[test]
    fn get_finished_time_table() {
        let secs = |n: u64| SimDuration::from_secs(n);
        let minus = |d: SimDuration| SimTime::from_nanos(T.as_nanos() - d.as_nanos());
        let cases: Vec<(&str, FinishTimeInputs, SimTime)> = vec![
            (
                "Pod with multiple containers and all containers terminated",
                FinishTimeInputs {
                    containers: vec![Some(minus(secs(1))), Some(T), Some(minus(secs(2)))],
                    ..Default::default()
                },
                T,
            ),
            (
                "Pod with multiple containers; two containers in terminated state and one in running state; fallback to deletionTimestamp",
                FinishTimeInputs {
                    containers: vec![Some(minus(secs(1))), None, Some(minus(secs(2)))],
                    deletion: Some((T, 0)),
                    ..Default::default()
                },
                T,
            ),
            (
                "fallback to deletionTimestamp",
                FinishTimeInputs {
                    containers: vec![None],
                    deletion: Some((T, 0)),
                    ..Default::default()
                },
                T,
            ),
            (
                "fallback to deletionTimestamp, decremented by grace period",
                FinishTimeInputs {
                    containers: vec![None],
                    deletion: Some((T, 30)),
                    ..Default::default()
                },
                minus(secs(30)),
            ),
            (
                "fallback to PodReady.LastTransitionTime when status of the condition is False",
                FinishTimeInputs {
                    containers: vec![None],
                    ready_false_since: Some(T),
                    ..Default::default()
                },
                T,
            ),
            (
                "skip fallback to PodReady.LastTransitionTime when status of the condition is True",
                FinishTimeInputs {
                    containers: vec![None],
                    deletion: Some((T, 0)),
                    ..Default::default()
                },
                T,
            ),
            (
                "fallback to creationTimestamp",
                FinishTimeInputs {
                    containers: vec![None],
                    created: T,
                    ..Default::default()
                },
                T,
            ),
            (
                "Pod with sidecar container and all containers terminated",
                FinishTimeInputs {
                    containers: vec![Some(minus(secs(1)))],
                    sidecars: vec![Some(T)],
                    ..Default::default()
                },
                T,
            ),
        ];
        for (name, pod, want) in cases {
            assert_eq!(get_finished_time(&pod), want, "{name}");
        }
    }
}
