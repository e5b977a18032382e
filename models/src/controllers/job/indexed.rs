//! Upstream `pkg/controller/job/indexed_job_utils.go`: Indexed Jobs' completion indexes, kept as
//! ordered intervals written `"1,3-5,7"` in `status.completedIndexes` / `status.failedIndexes`,
//! the next indexes to create, per-index failure counts and pod names.
//!
//! Indexes are `i64` because upstream keeps them in Go's 64-bit `int`: an annotation may hold a
//! number far beyond `completions`, and upstream compares it rather than rejecting it.

use std::collections::BTreeSet;
use std::fmt;

use crate::api::PodPhase;

use super::failure_policy::PodFailurePolicyAction;

/// Upstream `batch.JobCompletionIndexAnnotation` (also used as the label of the same name).
pub const JOB_COMPLETION_INDEX_ANNOTATION: &str = "batch.kubernetes.io/job-completion-index";
/// Upstream `batch.JobIndexFailureCountAnnotation`.
pub const JOB_INDEX_FAILURE_COUNT_ANNOTATION: &str = "batch.kubernetes.io/job-index-failure-count";
/// Upstream `batch.JobIndexIgnoredFailureCountAnnotation`.
pub const JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION: &str =
    "batch.kubernetes.io/job-index-ignored-failure-count";
/// Upstream `completionIndexEnvName`: the variable each container gets, read from the
/// annotation (or label) above.
pub const COMPLETION_INDEX_ENV_NAME: &str = "JOB_COMPLETION_INDEX";
/// Upstream `names.MaxGeneratedNameLength`: 63 minus the 5-character random suffix.
pub const MAX_GENERATED_NAME_LENGTH: usize = 63 - 5;

/// Upstream `interval`: `first..=last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval {
    pub first: i64,
    pub last: i64,
}

/// Upstream `orderedIntervals`: sorted, non-adjacent intervals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderedIntervals(pub Vec<Interval>);

impl OrderedIntervals {
    /// Upstream `orderedIntervals.withOrderedIndexes`: adds indexes given in increasing order.
    pub fn with_ordered_indexes(&self, new_indexes: &[i64]) -> OrderedIntervals {
        let singles: Vec<Interval> = new_indexes
            .iter()
            .map(|&ix| Interval {
                first: ix,
                last: ix,
            })
            .collect();
        self.merge(&OrderedIntervals(singles))
    }

    /// Upstream `orderedIntervals.merge`: the union of two ordered lists, merging overlapping
    /// and adjacent intervals.
    pub fn merge(&self, other: &OrderedIntervals) -> OrderedIntervals {
        let mut result: Vec<Interval> = Vec::with_capacity(self.0.len() + other.0.len());
        let mut push = |iv: Interval| match result.last_mut() {
            Some(last) if iv.first <= last.last.saturating_add(1) => {
                if last.last < iv.last {
                    last.last = iv.last;
                }
            }
            _ => result.push(iv),
        };
        let (mut i, mut j) = (0, 0);
        while i < self.0.len() && j < other.0.len() {
            if self.0[i].first < other.0[j].first {
                push(self.0[i]);
                i += 1;
            } else {
                push(other.0[j]);
                j += 1;
            }
        }
        self.0[i..].iter().for_each(|&iv| push(iv));
        other.0[j..].iter().for_each(|&iv| push(iv));
        OrderedIntervals(result)
    }

    /// Upstream `orderedIntervals.total`: how many indexes the intervals hold.
    pub fn total(&self) -> i64 {
        self.0.iter().fold(0i64, |n, iv| {
            n.wrapping_add(iv.last.wrapping_sub(iv.first).wrapping_add(1))
        })
    }

    /// Upstream `orderedIntervals.has` (binary search).
    pub fn has(&self, ix: i64) -> bool {
        let hi = self.0.partition_point(|iv| iv.last < ix);
        self.0.get(hi).is_some_and(|iv| iv.first <= ix)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Upstream `orderedIntervals.String`: `"0,2-4,6,7"` (a two-index interval is written with a
/// comma).
impl fmt::Display for OrderedIntervals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, iv) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}", iv.first)?;
            if iv.last > iv.first {
                let sep = if iv.last == iv.first.wrapping_add(1) {
                    ','
                } else {
                    '-'
                };
                write!(f, "{sep}{}", iv.last)?;
            }
        }
        Ok(())
    }
}

/// Go's `strconv.Atoi`: an optional sign and decimal digits that fit in 64 bits.
pub fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // `i64::from_str` takes the same sign and digits and fails on overflow, as Go does.
    s.parse().ok()
}

/// Upstream `parseIndexesFromString`: reads `status.completedIndexes` / `status.failedIndexes`.
///
/// Like upstream: a corrupted interval is skipped; the list stops at the first interval that
/// starts at or past `completions`; an interval's end is clamped to `completions - 1`; an
/// interval right after the previous one is merged into it (overlaps are kept as written).
pub fn parse_indexes_from_string(indexes: &str, completions: i64) -> OrderedIntervals {
    let mut result: Vec<Interval> = Vec::new();
    if indexes.is_empty() {
        return OrderedIntervals(result);
    }
    for interval in indexes.split(',') {
        let mut limits = interval.split('-');
        let Some(first) = limits.next().and_then(go_atoi) else {
            continue;
        };
        if first >= completions {
            break;
        }
        let last = match limits.next() {
            Some(last) => match go_atoi(last) {
                Some(last) => last.min(completions.saturating_sub(1)),
                None => continue,
            },
            None => first,
        };
        match result.last_mut() {
            Some(prev) if prev.last == first.wrapping_sub(1) => prev.last = last,
            _ => result.push(Interval { first, last }),
        }
    }
    OrderedIntervals(result)
}

/// Upstream `getCompletionIndex`: the value of annotation
/// `batch.kubernetes.io/job-completion-index`; `None` (upstream `unknownCompletionIndex`) when
/// absent, not a number or negative.
pub fn get_completion_index(annotation: Option<&str>) -> Option<i64> {
    annotation.and_then(go_atoi).filter(|&ix| ix >= 0)
}

/// A pod of an Indexed Job as the index bookkeeping sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexedPod {
    /// [`get_completion_index`] of the pod.
    pub index: Option<i64>,
    pub phase: PodPhase,
    /// Has the `batch.kubernetes.io/job-tracking` finalizer (not yet counted in the status).
    pub has_tracking_finalizer: bool,
}

/// Upstream `calculateSucceededIndexes`: the intervals in `status.completedIndexes`, and those
/// plus the indexes of succeeded pods not yet counted (valid index below `completions`, with the
/// tracking finalizer).
pub fn calculate_succeeded_indexes(
    completed_indexes: &str,
    completions: i32,
    pods: &[IndexedPod],
) -> (OrderedIntervals, OrderedIntervals) {
    let completions = i64::from(completions);
    let prev = parse_indexes_from_string(completed_indexes, completions);
    let new_succeeded: BTreeSet<i64> = pods
        .iter()
        .filter(|p| p.phase == PodPhase::Succeeded && p.has_tracking_finalizer)
        .filter_map(|p| p.index)
        .filter(|&ix| ix < completions)
        .collect();
    let new: Vec<i64> = new_succeeded.into_iter().collect();
    let result = prev.with_ordered_indexes(&new);
    (prev, result)
}

/// Upstream `calculateFailedIndexes` (with `backoffLimitPerIndex`): `status.failedIndexes` plus
/// the indexes of pods not yet counted (valid index below `completions`, with the tracking
/// finalizer) for which `is_index_failed` (upstream `isIndexFailed`, see [`is_index_failed`])
/// holds.
///
/// `view` gives each pod's [`IndexedPod`]; `is_index_failed` sees the whole pod, as it needs the
/// failure count and the pod failure policy's verdict.
pub fn calculate_failed_indexes<T>(
    failed_indexes: Option<&str>,
    completions: i32,
    pods: &[T],
    view: impl Fn(&T) -> IndexedPod,
    is_index_failed: impl Fn(&T) -> bool,
) -> OrderedIntervals {
    let completions = i64::from(completions);
    let prev = failed_indexes
        .map(|s| parse_indexes_from_string(s, completions))
        .unwrap_or_default();
    let new_failed: BTreeSet<i64> = pods
        .iter()
        .filter(|p| {
            let v = view(p);
            v.has_tracking_finalizer && v.index.is_some_and(|ix| ix < completions)
        })
        .filter(|p| is_index_failed(p))
        .filter_map(|p| view(p).index)
        .collect();
    let new: Vec<i64> = new_failed.into_iter().collect();
    prev.with_ordered_indexes(&new)
}

/// Upstream `isIndexFailed`: a failed pod fails its index when it matched a `FailIndex` rule, or
/// when it counts as a failure and its index already used up `backoffLimitPerIndex`.
///
/// `policy_match` is the `(countFailed, action)` of
/// [`super::failure_policy::match_pod_failure_policy`], `None` when the Job has no pod failure
/// policy; `index_failure_count` is [`get_index_failure_count`] of the pod.
pub fn is_index_failed(
    pod_failed: bool,
    policy_match: Option<(bool, Option<&PodFailurePolicyAction>)>,
    index_failure_count: i32,
    backoff_limit_per_index: i32,
) -> bool {
    if !pod_failed {
        return false;
    }
    let counted = match policy_match {
        Some((_, Some(PodFailurePolicyAction::FailIndex))) => return true,
        Some((count_failed, _)) => count_failed,
        None => true,
    };
    counted && index_failure_count >= backoff_limit_per_index
}

/// Upstream `getIndexes`: the valid completion indexes of the pods.
pub fn get_indexes(indexes: impl IntoIterator<Item = Option<i64>>) -> BTreeSet<i64> {
    indexes.into_iter().flatten().collect()
}

/// Upstream `firstPendingIndexes`: up to `count` indexes below `completions`, lowest first,
/// held by no active pod and neither succeeded nor failed.
///
/// `terminating` holds the indexes of terminating pods, and is given only when the Job replaces
/// pods once they have failed (upstream `onlyReplaceFailedPods`): their indexes are not pending
/// yet.
pub fn first_pending_indexes(
    active: &BTreeSet<i64>,
    terminating: Option<&BTreeSet<i64>>,
    succeeded: &OrderedIntervals,
    failed: Option<&OrderedIntervals>,
    count: i64,
    completions: i64,
) -> Vec<i64> {
    if count <= 0 {
        return Vec::new();
    }
    let active: Vec<i64> = active.iter().copied().collect();
    let mut non_pending = succeeded.with_ordered_indexes(&active);
    if let Some(terminating) = terminating {
        let terminating: Vec<i64> = terminating.iter().copied().collect();
        non_pending = non_pending.with_ordered_indexes(&terminating);
    }
    if let Some(failed) = failed {
        non_pending = non_pending.merge(failed);
    }
    let wanted = usize::try_from(count).unwrap_or(usize::MAX);
    let mut result = Vec::new();
    let mut candidate: i64 = 0;
    for iv in &non_pending.0 {
        while candidate < completions && result.len() < wanted && candidate < iv.first {
            result.push(candidate);
            candidate += 1;
        }
        if candidate < iv.last.saturating_add(1) {
            candidate = iv.last.saturating_add(1);
        }
    }
    while candidate < completions && result.len() < wanted {
        result.push(candidate);
        candidate += 1;
    }
    result
}

/// Upstream `parseInt32`: an annotation's count, 0 when unparsable, negative or beyond `int32`.
pub fn parse_int32(value: &str) -> i32 {
    go_atoi(value)
        .filter(|&v| v >= 0)
        .and_then(|v| i32::try_from(v).ok())
        .unwrap_or(0)
}

/// Upstream `getIndexFailureCount` / `parseIndexFailureCountAnnotation`: annotation
/// `batch.kubernetes.io/job-index-failure-count`, 0 when absent or invalid.
pub fn get_index_failure_count(annotation: Option<&str>) -> i32 {
    annotation.map(parse_int32).unwrap_or(0)
}

/// Upstream `getIndexAbsoluteFailureCount`: failures counted plus failures ignored by the pod
/// failure policy (annotations `job-index-failure-count` and `job-index-ignored-failure-count`).
pub fn get_index_absolute_failure_count(
    failure_count: Option<&str>,
    ignored_failure_count: Option<&str>,
) -> i32 {
    get_index_failure_count(failure_count)
        .wrapping_add(ignored_failure_count.map(parse_int32).unwrap_or(0))
}

/// Upstream `getNewIndexFailureCounts`: the `(failure, ignored failure)` counts the pod replacing
/// `pod_being_replaced` is annotated with.
///
/// `pod_being_replaced` is the failed pod's two counts and, when the Job has a pod failure
/// policy, the `countFailed` its failure matched (`None` without a policy).
pub fn get_new_index_failure_counts(
    pod_being_replaced: Option<(i32, i32, Option<bool>)>,
) -> (i32, i32) {
    let Some((failures, ignored, count_failed)) = pod_being_replaced else {
        return (0, 0);
    };
    if count_failed == Some(false) {
        (failures, ignored.wrapping_add(1))
    } else {
        (failures.wrapping_add(1), ignored)
    }
}

/// Upstream `podGenerateNameWithIndex`: `generateName` `<job>-<index>-`, the job name cut so the
/// prefix stays within [`MAX_GENERATED_NAME_LENGTH`] (the API server appends 5 random
/// characters).
///
/// Upstream cuts bytes; a valid job name is ASCII, and a cut inside a multi-byte character here
/// falls back to the character's start.
pub fn pod_generate_name_with_index(job_name: &str, index: i64) -> String {
    let append_index = format!("-{index}-");
    if job_name.len() + append_index.len() <= MAX_GENERATED_NAME_LENGTH {
        return format!("{job_name}{append_index}");
    }
    let mut keep = MAX_GENERATED_NAME_LENGTH
        .saturating_sub(append_index.len())
        .min(job_name.len());
    while !job_name.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}{append_index}", &job_name[..keep])
}

/// The `spec.hostname` upstream `manageJob` gives an Indexed Job's pod: `<job>-<index>`.
pub fn pod_hostname_with_index(job_name: &str, index: i64) -> String {
    format!("{job_name}-{index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ivs(pairs: &[(i64, i64)]) -> OrderedIntervals {
        OrderedIntervals(
            pairs
                .iter()
                .map(|&(first, last)| Interval { first, last })
                .collect(),
        )
    }

    /// Upstream `hollowPodsWithIndexPhase` with the tracking finalizer: `"-"` is no annotation.
    fn pods(descs: &[(&str, PodPhase)]) -> Vec<IndexedPod> {
        descs
            .iter()
            .map(|&(ix, phase)| IndexedPod {
                index: if ix == "-" {
                    None
                } else {
                    get_completion_index(Some(ix))
                },
                phase,
                has_tracking_finalizer: true,
            })
            .collect()
    }

    use PodPhase::{Failed, Pending, Running, Succeeded};

    // upstream pkg/controller/job/indexed_job_utils_test.go TestCalculateSucceededIndexes
    #[test]
    fn calculate_succeeded_indexes_table() {
        #[allow(clippy::type_complexity)]
        let cases: Vec<(
            &str,
            &str,
            Vec<(&str, PodPhase)>,
            i32,
            Vec<(i64, i64)>,
            Vec<(i64, i64)>,
        )> = vec![
            (
                "one index",
                "",
                vec![("1", Succeeded)],
                2,
                vec![],
                vec![(1, 1)],
            ),
            (
                "two separate",
                "",
                vec![
                    ("2", Failed),
                    ("5", Succeeded),
                    ("5", Succeeded),
                    ("10", Failed),
                    ("10", Succeeded),
                ],
                11,
                vec![],
                vec![(5, 5), (10, 10)],
            ),
            (
                "two intervals",
                "",
                vec![
                    ("0", Running),
                    ("1", Pending),
                    ("2", Succeeded),
                    ("3", Succeeded),
                    ("5", Succeeded),
                    ("6", Succeeded),
                    ("7", Succeeded),
                ],
                8,
                vec![],
                vec![(2, 3), (5, 7)],
            ),
            (
                "one index and one interval",
                "",
                vec![
                    ("0", Succeeded),
                    ("1", Failed),
                    ("2", Succeeded),
                    ("3", Succeeded),
                    ("4", Succeeded),
                    ("5", Succeeded),
                    ("-", Succeeded),
                    ("-2", Succeeded),
                ],
                6,
                vec![],
                vec![(0, 0), (2, 5)],
            ),
            (
                "out of range",
                "",
                vec![
                    ("0", Succeeded),
                    ("1", Succeeded),
                    ("2", Succeeded),
                    ("3", Failed),
                    ("4", Succeeded),
                    ("5", Succeeded),
                    ("-", Succeeded),
                    ("-2", Succeeded),
                ],
                5,
                vec![],
                vec![(0, 2), (4, 4)],
            ),
            (
                "prev interval out of range",
                "0-5,8-10",
                vec![],
                8,
                vec![(0, 5)],
                vec![(0, 5)],
            ),
            (
                "prev interval partially out of range",
                "0-5,8-10",
                vec![],
                10,
                vec![(0, 5), (8, 9)],
                vec![(0, 5), (8, 9)],
            ),
            (
                "prev and new separate",
                "0,4,5,10-12",
                vec![("2", Succeeded), ("7", Succeeded), ("8", Succeeded)],
                13,
                vec![(0, 0), (4, 5), (10, 12)],
                vec![(0, 0), (2, 2), (4, 5), (7, 8), (10, 12)],
            ),
            (
                "prev between new",
                "3,4,6",
                vec![("2", Succeeded), ("7", Succeeded), ("8", Succeeded)],
                9,
                vec![(3, 4), (6, 6)],
                vec![(2, 4), (6, 8)],
            ),
            (
                "new between prev",
                "2,7,8",
                vec![("3", Succeeded), ("4", Succeeded), ("6", Succeeded)],
                9,
                vec![(2, 2), (7, 8)],
                vec![(2, 4), (6, 8)],
            ),
            (
                "new within prev",
                "2-7",
                vec![
                    ("0", Succeeded),
                    ("3", Succeeded),
                    ("5", Succeeded),
                    ("9", Succeeded),
                ],
                10,
                vec![(2, 7)],
                vec![(0, 0), (2, 7), (9, 9)],
            ),
            (
                "corrupted interval",
                "0,1-foo,bar",
                vec![("3", Succeeded)],
                4,
                vec![(0, 0)],
                vec![(0, 0), (3, 3)],
            ),
        ];
        for (name, prev, descs, completions, want_status, want) in cases {
            let (got_status, got) = calculate_succeeded_indexes(prev, completions, &pods(&descs));
            assert_eq!(got_status, ivs(&want_status), "{name}: status");
            assert_eq!(got, ivs(&want), "{name}");
        }
    }

    // upstream pkg/controller/job/indexed_job_utils_test.go TestIsIndexFailed
    #[test]
    fn is_index_failed_table() {
        assert!(
            is_index_failed(true, None, 0, 0),
            "failed pod exceeding backoffLimitPerIndex, when backoffLimitPerIndex=0"
        );
        assert!(
            is_index_failed(true, None, 1, 1),
            "failed pod exceeding backoffLimitPerIndex, when backoffLimitPerIndex=1"
        );
        assert!(
            is_index_failed(
                true,
                Some((true, Some(&PodFailurePolicyAction::FailIndex))),
                0,
                1
            ),
            "matching FailIndex pod failure policy"
        );
        assert!(!is_index_failed(true, None, 0, 1));
        assert!(!is_index_failed(false, None, 5, 1));
        assert!(!is_index_failed(
            true,
            Some((false, Some(&PodFailurePolicyAction::Ignore))),
            5,
            1
        ));
    }

    // upstream pkg/controller/job/indexed_job_utils_test.go TestCalculateFailedIndexes
    // (every pod there is failed with no pod failure policy).
    #[test]
    fn calculate_failed_indexes_table() {
        let pod = |ix: i64, finalizer: bool| IndexedPod {
            index: Some(ix),
            phase: Failed,
            has_tracking_finalizer: finalizer,
        };
        // (name, prev failed, completions, backoffLimitPerIndex, [(pod, failure count)], want)
        #[allow(clippy::type_complexity)]
        let cases: Vec<(
            &str,
            Option<&str>,
            i32,
            i32,
            Vec<(IndexedPod, i32)>,
            Vec<(i64, i64)>,
        )> = vec![
            (
                "one new index failed",
                None,
                2,
                1,
                vec![(pod(0, true), 0), (pod(1, true), 1)],
                vec![(1, 1)],
            ),
            (
                "pod without finalizer is ignored",
                None,
                2,
                0,
                vec![(pod(0, false), 0)],
                vec![],
            ),
            (
                "pod outside completions is ignored",
                None,
                2,
                0,
                vec![(pod(3, false), 0)],
                vec![],
            ),
            (
                "extend the failed indexes",
                Some("0"),
                2,
                0,
                vec![(pod(1, true), 0)],
                vec![(0, 1)],
            ),
            (
                "prev failed indexes empty",
                Some(""),
                2,
                0,
                vec![(pod(1, true), 0)],
                vec![(1, 1)],
            ),
            (
                "prev failed indexes outside the completions",
                Some("9"),
                2,
                0,
                vec![(pod(1, true), 0)],
                vec![(1, 1)],
            ),
        ];
        for (name, prev, completions, limit, pods_counts, want) in cases {
            let got = calculate_failed_indexes(
                prev,
                completions,
                &pods_counts,
                |(p, _)| *p,
                |(p, count)| is_index_failed(p.phase == Failed, None, *count, limit),
            );
            assert_eq!(got, ivs(&want), "{name}");
        }
    }

    // upstream pkg/controller/job/indexed_job_utils_test.go TestGetNewIndexFailureCountValue
    #[test]
    fn get_new_index_failure_counts_table() {
        assert_eq!(
            get_new_index_failure_counts(None),
            (0, 0),
            "first pod created"
        );
        assert_eq!(
            get_new_index_failure_counts(Some((0, 0, None))),
            (1, 0),
            "failed pod being replaced with 0 index failure count"
        );
        assert_eq!(
            get_new_index_failure_counts(Some((3, 0, None))),
            (4, 0),
            "failed pod being replaced with >0 index failure count"
        );
        assert_eq!(
            get_new_index_failure_counts(Some((3, 0, Some(false)))),
            (3, 1),
            "failed pod being replaced, matching the ignore rule"
        );
    }

    // upstream pkg/controller/job/indexed_job_utils_test.go TestIntervalsHaveIndex
    #[test]
    fn intervals_have_index_table() {
        #[allow(clippy::type_complexity)]
        let cases: Vec<(&str, Vec<(i64, i64)>, i64, bool)> = vec![
            ("empty", vec![], 4, false),
            ("before all", vec![(2, 4), (5, 7)], 1, false),
            ("after all", vec![(2, 4), (6, 8)], 9, false),
            ("in between", vec![(2, 4), (6, 8)], 5, false),
            ("in first", vec![(2, 4), (6, 8)], 2, true),
            ("in second", vec![(2, 4), (6, 8)], 8, true),
        ];
        for (name, intervals, ix, want) in cases {
            assert_eq!(ivs(&intervals).has(ix), want, "{name}");
        }
    }

    // upstream pkg/controller/job/indexed_job_utils_test.go TestFirstPendingIndexes
    // (its Job has no pod replacement policy `Failed`, so terminating pods do not count).
    #[test]
    fn first_pending_indexes_table() {
        #[allow(clippy::type_complexity)]
        let cases: Vec<(
            &str,
            i64,
            i64,
            Vec<&str>,
            Vec<(i64, i64)>,
            Option<Vec<(i64, i64)>>,
            Vec<i64>,
        )> = vec![
            (
                "cnt greater than completions",
                5,
                3,
                vec![],
                vec![],
                None,
                vec![0, 1, 2],
            ),
            (
                "cnt less than completions",
                2,
                5,
                vec![],
                vec![],
                None,
                vec![0, 1],
            ),
            (
                "first pods active",
                3,
                10,
                vec!["0", "1"],
                vec![],
                None,
                vec![2, 3, 4],
            ),
            (
                "last pods active or succeeded",
                6,
                6,
                vec!["6"],
                vec![(4, 5)],
                None,
                vec![0, 1, 2, 3],
            ),
            (
                "mixed",
                5,
                20,
                vec!["3", "5", "8", "-", "-3"],
                vec![(2, 4), (9, 9)],
                None,
                vec![0, 1, 6, 7, 10],
            ),
            (
                "with failed indexes",
                5,
                20,
                vec!["3", "9"],
                vec![(1, 1), (5, 5), (9, 9)],
                Some(vec![(2, 2), (6, 7)]),
                vec![0, 4, 8, 10, 11],
            ),
        ];
        for (name, cnt, completions, active, succeeded, failed, want) in cases {
            let active = get_indexes(active.iter().map(|&a| {
                if a == "-" {
                    None
                } else {
                    get_completion_index(Some(a))
                }
            }));
            let failed = failed.map(|f| ivs(&f));
            let got = first_pending_indexes(
                &active,
                None,
                &ivs(&succeeded),
                failed.as_ref(),
                cnt,
                completions,
            );
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn first_pending_indexes_skips_terminating_indexes_when_replacing_only_failed_pods() {
        let terminating = BTreeSet::from([0, 2]);
        let got = first_pending_indexes(
            &BTreeSet::from([1]),
            Some(&terminating),
            &OrderedIntervals::default(),
            None,
            2,
            5,
        );
        assert_eq!(got, vec![3, 4]);
    }

    // upstream pkg/controller/job/indexed_job_utils_test.go TestPodGenerateNameWithIndex
    #[test]
    fn pod_generate_name_with_index_table() {
        let cases = [
            ("short job name", "indexed-job", 1, "indexed-job-1-"),
            (
                "job name exceeds MaxGeneneratedNameLength",
                "hhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhhooooo",
                1,
                "hhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhh-1-",
            ),
            (
                "job name with index suffix exceeds MaxGeneratedNameLength",
                "hhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhhoo",
                1,
                "hhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhhooooohhhhh-1-",
            ),
        ];
        for (name, job, ix, want) in cases {
            assert_eq!(pod_generate_name_with_index(job, ix), want, "{name}");
        }
        assert_eq!(pod_hostname_with_index("indexed-job", 3), "indexed-job-3");
        // A cut inside a multi-byte character cannot panic.
        let long = "é".repeat(40);
        assert!(pod_generate_name_with_index(&long, 1).ends_with("-1-"));
    }

    // upstream pkg/controller/job/indexed_job_utils_test.go TestGetIndexFailureCount
    #[test]
    fn get_index_failure_count_table() {
        let cases = [
            ("no annotation", None, 0),
            ("valid value", Some("2"), 2),
            ("valid maxint32 value", Some("2147483647"), i32::MAX),
            ("too large value", Some("2147483648"), 0),
            ("negative value", Some("-1"), 0),
            ("invalid int value", Some("xyz"), 0),
        ];
        for (name, annotation, want) in cases {
            assert_eq!(get_index_failure_count(annotation), want, "{name}");
        }
        assert_eq!(get_index_absolute_failure_count(Some("1"), Some("1")), 2);
    }

    #[test]
    fn intervals_print_and_parse_like_upstream() {
        let iv = ivs(&[(1, 1), (3, 5), (7, 8), (10, 10)]);
        assert_eq!(iv.to_string(), "1,3-5,7,8,10");
        assert_eq!(iv.total(), 7);
        // Parsing merges only intervals that touch the previous one.
        assert_eq!(
            parse_indexes_from_string("1,3-5,7,8,10", 100),
            ivs(&[(1, 1), (3, 5), (7, 8), (10, 10)])
        );
        assert_eq!(parse_indexes_from_string("1,2,3", 100), ivs(&[(1, 3)]));
        assert_eq!(
            parse_indexes_from_string("", 100),
            OrderedIntervals::default()
        );
        // A negative start ("-3" splits into "" and "3") is corrupted and skipped.
        assert_eq!(parse_indexes_from_string("-3,4", 100), ivs(&[(4, 4)]));
        assert_eq!(parse_indexes_from_string("+2", 100), ivs(&[(2, 2)]));
        assert_eq!(
            parse_indexes_from_string("99999999999999999999,1", 100),
            ivs(&[(1, 1)])
        );
    }

    #[test]
    fn completion_index_annotation_like_upstream() {
        assert_eq!(get_completion_index(None), None);
        assert_eq!(get_completion_index(Some("")), None);
        assert_eq!(get_completion_index(Some("invalid")), None);
        assert_eq!(get_completion_index(Some("-2")), None);
        assert_eq!(get_completion_index(Some("+7")), Some(7));
        assert_eq!(get_completion_index(Some("007")), Some(7));
        assert_eq!(get_completion_index(Some(" 7")), None);
    }
}
