//! Upstream `pkg/controller/deployment/util/deployment_util.go` (and the few helpers of
//! `pkg/controller/controller_utils.go` and `sync.go` the Deployment algorithms lean on), as pure
//! functions over [`RsInfo`] / [`DeploymentInfo`].
//!
//! Conventions shared by every function here:
//! - Upstream's `int32` arithmetic wraps; sums here use wrapping arithmetic too, so no input can
//!   make them panic.
//! - Annotations are already parsed: an annotation that is absent *or* that upstream would fail to
//!   parse is `None` (upstream logs and treats it as missing, see
//!   [`parse_non_negative_i32_annotation`]); an absent revision annotation is revision 0, as in
//!   upstream `Revision`.
//! - Nothing here knows about `status.terminatingReplicas` or `spec.podReplacementPolicy`
//!   (KEP-3973, behind the `DeploymentPodReplacementPolicy` feature gate): the functions give
//!   upstream's behaviour with that policy unset, which is also upstream's behaviour for
//!   `TerminationStarted`.

use std::cmp::Ordering;

use sim_core::{SimDuration, SimTime};

use crate::api::IntOrPercent;

/// Upstream `RevisionAnnotation`.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// Upstream `DesiredReplicasAnnotation`.
pub const DESIRED_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/desired-replicas";
/// Upstream `MaxReplicasAnnotation`: `spec.replicas + maxSurge` when the RS was last scaled.
pub const MAX_REPLICAS_ANNOTATION: &str = "deployment.kubernetes.io/max-replicas";
/// Upstream `NewRSAvailableReason` (Progressing condition of a finished rollout).
pub const NEW_RS_AVAILABLE_REASON: &str = "NewReplicaSetAvailable";
/// Upstream `TimedOutReason` (Progressing condition once the deadline has passed).
pub const TIMED_OUT_REASON: &str = "ProgressDeadlineExceeded";

/// A ReplicaSet as the Deployment controller's algorithms see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsInfo {
    /// Opaque key; the algorithms return changes keyed by it.
    pub id: u32,
    pub name: String,
    /// `metadata.creationTimestamp`.
    pub created: SimTime,
    pub spec_replicas: i32,
    /// `status.replicas`.
    pub status_replicas: i32,
    pub ready_replicas: i32,
    /// `status.availableReplicas`.
    pub available_replicas: i32,
    /// Annotation `deployment.kubernetes.io/revision` (0 if absent).
    pub revision: i64,
    /// Annotation `deployment.kubernetes.io/desired-replicas`.
    pub desired_replicas: Option<i32>,
    /// Annotation `deployment.kubernetes.io/max-replicas`.
    pub max_replicas: Option<i32>,
}

/// `spec.strategy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    RollingUpdate {
        max_surge: IntOrPercent,
        max_unavailable: IntOrPercent,
    },
    Recreate,
}

/// The parts of a Deployment's spec the algorithms read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentInfo {
    pub replicas: i32,
    pub strategy: Strategy,
    pub min_ready_seconds: i32,
    pub progress_deadline_seconds: Option<i32>,
    pub revision_history_limit: Option<i32>,
    pub paused: bool,
}

/// The replica counts of `DeploymentStatus` that `calculateStatus` fills in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeploymentStatusCounts {
    pub replicas: i32,
    pub updated_replicas: i32,
    pub ready_replicas: i32,
    pub available_replicas: i32,
    pub unavailable_replicas: i32,
}

// ---------------------------------------------------------------------------------------------
// Parsing (what upstream does with the string forms before the algorithms see them)
// ---------------------------------------------------------------------------------------------

/// The string branch of upstream `intstr.GetScaledValueFromIntOrPercent`: a string is only valid
/// as `"<int>%"`. The error text is upstream's.
pub fn int_or_string_from_str(text: &str) -> Result<IntOrPercent, String> {
    match text.strip_suffix('%') {
        None => Err(
            "invalid value for IntOrString: invalid type: string is not a percentage".to_string(),
        ),
        Some(_) => IntOrPercent::parse_percent(text).ok_or_else(|| {
            format!("invalid value for IntOrString: invalid value {text:?}: invalid syntax")
        }),
    }
}

/// Upstream `getNonNegativeInt32FromAnnotation` (used for the desired-replicas and max-replicas
/// annotations): `strconv.ParseUint(value, 10, 32)`, then rejects values above `MaxInt32`.
/// `Ok(None)` when the annotation is absent. Upstream's callers
/// (`getNonNegativeInt32FromAnnotationVerbose`) log an error and treat it as absent, so an
/// `Err` here should become `None` in [`RsInfo`].
pub fn parse_non_negative_i32_annotation(value: Option<&str>) -> Result<Option<i32>, String> {
    let Some(text) = value else {
        return Ok(None);
    };
    // ParseUint takes only ASCII digits: no sign, no spaces, no underscores (base 10).
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "strconv.ParseUint: parsing {text:?}: invalid syntax"
        ));
    }
    let parsed = text
        .parse::<u32>()
        .map_err(|_| format!("strconv.ParseUint: parsing {text:?}: value out of range"))?;
    i32::try_from(parsed)
        .map(Some)
        .map_err(|_| format!("value {parsed} is out of range (higher than {})", i32::MAX))
}

// ---------------------------------------------------------------------------------------------
// Orderings (pkg/controller/controller_utils.go and deployment_util.go)
// ---------------------------------------------------------------------------------------------

/// Upstream `controller.ReplicaSetsByCreationTimestamp`: oldest first, ties broken by name.
pub fn cmp_by_creation(a: &RsInfo, b: &RsInfo) -> Ordering {
    a.created.cmp(&b.created).then_with(|| a.name.cmp(&b.name))
}

/// Upstream `controller.ReplicaSetsBySizeOlder`: larger `spec.replicas` first; equal sizes
/// oldest first (used when proportionally scaling down).
pub fn cmp_by_size_older(a: &RsInfo, b: &RsInfo) -> Ordering {
    b.spec_replicas
        .cmp(&a.spec_replicas)
        .then_with(|| cmp_by_creation(a, b))
}

/// Upstream `controller.ReplicaSetsBySizeNewer`: larger `spec.replicas` first; equal sizes
/// newest first (used when proportionally scaling up).
pub fn cmp_by_size_newer(a: &RsInfo, b: &RsInfo) -> Ordering {
    b.spec_replicas
        .cmp(&a.spec_replicas)
        .then_with(|| cmp_by_creation(b, a))
}

/// Upstream `deploymentutil.ReplicaSetsByRevision`: lowest revision first, equal revisions by
/// creation timestamp then name (upstream also falls back to that order when a revision does
/// not parse; kubesim's revisions are already numbers, absent = 0).
pub fn cmp_by_revision(a: &RsInfo, b: &RsInfo) -> Ordering {
    a.revision
        .cmp(&b.revision)
        .then_with(|| cmp_by_creation(a, b))
}

/// `sort.Sort(controller.ReplicaSetsByCreationTimestamp(rss))`.
pub fn sort_by_creation(rss: &mut [RsInfo]) {
    rss.sort_by(cmp_by_creation);
}

/// `sort.Sort(controller.ReplicaSetsBySizeNewer(rss))`.
pub fn sort_by_size_newer(rss: &mut [RsInfo]) {
    rss.sort_by(cmp_by_size_newer);
}

/// `sort.Sort(controller.ReplicaSetsBySizeOlder(rss))`.
pub fn sort_by_size_older(rss: &mut [RsInfo]) {
    rss.sort_by(cmp_by_size_older);
}

/// `sort.Sort(deploymentutil.ReplicaSetsByRevision(rss))`.
pub fn sort_by_revision(rss: &mut [RsInfo]) {
    rss.sort_by(cmp_by_revision);
}

/// Upstream `controller.FilterActiveReplicaSets`: the ReplicaSets with `spec.replicas > 0`, in
/// their given order.
pub fn filter_active<'a>(rss: impl IntoIterator<Item = &'a RsInfo>) -> Vec<&'a RsInfo> {
    rss.into_iter().filter(|rs| rs.spec_replicas > 0).collect()
}

// ---------------------------------------------------------------------------------------------
// Strategy arithmetic
// ---------------------------------------------------------------------------------------------

/// Upstream `ResolveFenceposts`: resolves maxSurge (percentages round up) and maxUnavailable
/// (percentages round down) against `desired`; an absent value counts as 0. If both come out 0,
/// maxUnavailable becomes 1 (validation forbids both being 0, but rounding down can produce it,
/// and surge might not work because of quota). Typed values cannot fail; the string forms fail
/// in [`int_or_string_from_str`], the one error path upstream has.
pub fn resolve_fenceposts(
    max_surge: Option<IntOrPercent>,
    max_unavailable: Option<IntOrPercent>,
    desired: i32,
) -> Result<(i32, i32), String> {
    let surge = max_surge.map_or(0, |v| v.scaled_value(desired, true));
    let mut unavailable = max_unavailable.map_or(0, |v| v.scaled_value(desired, false));
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    Ok((surge, unavailable))
}

/// Upstream `IsRollingUpdate`.
pub fn is_rolling_update(d: &DeploymentInfo) -> bool {
    matches!(d.strategy, Strategy::RollingUpdate { .. })
}

/// Upstream `MaxUnavailable`: 0 for Recreate and for a Deployment scaled to 0; otherwise the
/// resolved fencepost, clamped to `spec.replicas`.
pub fn max_unavailable(d: &DeploymentInfo) -> i32 {
    let Strategy::RollingUpdate {
        max_surge,
        max_unavailable,
    } = d.strategy
    else {
        return 0;
    };
    if d.replicas == 0 {
        return 0;
    }
    // Upstream ignores the error (validation catches it): the zero values come back.
    let (_, unavailable) =
        resolve_fenceposts(Some(max_surge), Some(max_unavailable), d.replicas).unwrap_or((0, 0));
    unavailable.min(d.replicas)
}

/// Upstream `MinAvailable`: 0 for Recreate, else `spec.replicas - MaxUnavailable`.
pub fn min_available(d: &DeploymentInfo) -> i32 {
    if !is_rolling_update(d) {
        return 0;
    }
    d.replicas.wrapping_sub(max_unavailable(d))
}

/// Upstream `MaxSurge`: 0 for Recreate; otherwise the resolved fencepost (no special case for
/// `spec.replicas == 0`: a percentage of 0 is 0, an absolute surge stays as given).
pub fn max_surge(d: &DeploymentInfo) -> i32 {
    let Strategy::RollingUpdate {
        max_surge,
        max_unavailable,
    } = d.strategy
    else {
        return 0;
    };
    let (surge, _) =
        resolve_fenceposts(Some(max_surge), Some(max_unavailable), d.replicas).unwrap_or((0, 0));
    surge
}

/// Upstream `NewRSNewReplicas`: the size the new ReplicaSet may have now. RollingUpdate: grow
/// towards `spec.replicas` while the sum of all ReplicaSets' `spec.replicas` stays within
/// `spec.replicas + maxSurge` (maxSurge taken straight from the percentage, rounded up, without
/// the fencepost rule); if the total is already at or over that, the current size. Recreate:
/// `spec.replicas`. `all` is whatever the caller passes (upstream passes old + new).
pub fn new_rs_new_replicas(
    d: &DeploymentInfo,
    all: &[RsInfo],
    new_rs: &RsInfo,
) -> Result<i32, String> {
    match d.strategy {
        Strategy::RollingUpdate { max_surge, .. } => {
            let surge = max_surge.scaled_value(d.replicas, true);
            let current_pod_count = replica_count(all);
            let max_total_pods = d.replicas.wrapping_add(surge);
            if current_pod_count >= max_total_pods {
                return Ok(new_rs.spec_replicas);
            }
            let scale_up_count =
                (max_total_pods - current_pod_count).min(d.replicas - new_rs.spec_replicas);
            Ok(new_rs.spec_replicas + scale_up_count)
        }
        Strategy::Recreate => Ok(d.replicas),
    }
}

/// Upstream `IsSaturated`: the new ReplicaSet owns the whole Deployment: its `spec.replicas`,
/// its desired-replicas annotation and its available replicas all equal `spec.replicas`.
/// False without a ReplicaSet or without the annotation.
pub fn is_saturated(d: &DeploymentInfo, rs: Option<&RsInfo>) -> bool {
    let Some(rs) = rs else {
        return false;
    };
    let Some(desired) = rs.desired_replicas else {
        return false;
    };
    rs.spec_replicas == d.replicas && desired == d.replicas && rs.available_replicas == d.replicas
}

/// Upstream `ReplicasAnnotationsNeedUpdate`: the desired-replicas or max-replicas annotation
/// differs from the given values (or is missing).
pub fn replicas_annotations_need_update(rs: &RsInfo, desired: i32, max_replicas: i32) -> bool {
    rs.desired_replicas != Some(desired) || rs.max_replicas != Some(max_replicas)
}

// ---------------------------------------------------------------------------------------------
// Counting
// ---------------------------------------------------------------------------------------------

fn sum(rss: &[RsInfo], field: impl Fn(&RsInfo) -> i32) -> i32 {
    rss.iter().fold(0i32, |acc, rs| acc.wrapping_add(field(rs)))
}

/// Upstream `GetReplicaCountForReplicaSets`: the sum of `spec.replicas`.
pub fn replica_count(rss: &[RsInfo]) -> i32 {
    sum(rss, |rs| rs.spec_replicas)
}

/// Upstream `GetActualReplicaCountForReplicaSets`: the sum of `status.replicas`.
pub fn actual_replica_count(rss: &[RsInfo]) -> i32 {
    sum(rss, |rs| rs.status_replicas)
}

/// Upstream `GetReadyReplicaCountForReplicaSets`: the sum of `status.readyReplicas`.
pub fn ready_replica_count(rss: &[RsInfo]) -> i32 {
    sum(rss, |rs| rs.ready_replicas)
}

/// Upstream `GetAvailableReplicaCountForReplicaSets`: the sum of `status.availableReplicas`.
pub fn available_replica_count(rss: &[RsInfo]) -> i32 {
    sum(rss, |rs| rs.available_replicas)
}

// ---------------------------------------------------------------------------------------------
// Revisions
// ---------------------------------------------------------------------------------------------

/// Upstream `MaxRevision`: the highest revision, 0 for none.
pub fn max_revision(rss: &[RsInfo]) -> i64 {
    rss.iter().map(|rs| rs.revision).fold(0, i64::max)
}

/// Upstream `LastRevision`: the second highest revision (the one a rollback without a target
/// goes to). A revision equal to the maximum pushes the maximum down, so two ReplicaSets sharing
/// the top revision make that revision the "last" one too.
pub fn last_revision(rss: &[RsInfo]) -> i64 {
    let (mut max, mut second) = (0i64, 0i64);
    for rs in rss {
        let v = rs.revision;
        if v >= max {
            second = max;
            max = v;
        } else if v > second {
            second = v;
        }
    }
    second
}

/// Upstream `HasRevisionHistoryLimit`: set and not `MaxInt32` (which means keep everything).
pub fn has_revision_history_limit(d: &DeploymentInfo) -> bool {
    d.revision_history_limit.is_some_and(|l| l != i32::MAX)
}

// ---------------------------------------------------------------------------------------------
// Proportional scaling helpers
// ---------------------------------------------------------------------------------------------

/// Upstream `FindActiveOrLatest`: the only active ReplicaSet (`spec.replicas > 0`) among new and
/// old; with none active, the new one, else the newest old one (by creation timestamp, then
/// name); `None` when several are active (they must be scaled proportionally) or there are no
/// ReplicaSets at all.
pub fn find_active_or_latest<'a>(
    new_rs: Option<&'a RsInfo>,
    old: &'a [RsInfo],
) -> Option<&'a RsInfo> {
    if new_rs.is_none() && old.is_empty() {
        return None;
    }
    let mut active = old.iter().chain(new_rs).filter(|rs| rs.spec_replicas > 0);
    match (active.next(), active.next()) {
        (Some(only), None) => Some(only),
        (Some(_), Some(_)) => None,
        (None, _) => new_rs.or_else(|| old.iter().max_by(|a, b| cmp_by_creation(a, b))),
    }
}

/// Upstream `getReplicaSetFraction`: how many replicas `rs` gains (or, negative, loses) when the
/// Deployment goes from the size recorded in its max-replicas annotation to
/// `spec.replicas + maxSurge`: `round(rs.spec * newMax / oldMax) - rs.spec`, in `float64` as
/// upstream (Go `math.Round` = half away from zero, like `f64::round`). Scaling to 0 gives
/// `-rs.spec`. When the annotation is missing or 0, upstream falls back to the Deployment's
/// `status.replicas` (`deployment_status_replicas` here), and if that is 0 too, gives 0.
pub fn get_replica_set_fraction(
    rs: &RsInfo,
    d: &DeploymentInfo,
    deployment_status_replicas: i32,
) -> i32 {
    if d.replicas == 0 {
        return rs.spec_replicas.wrapping_neg();
    }
    let deployment_max_replicas = d.replicas.wrapping_add(max_surge(d));
    let before_scale = match rs.max_replicas {
        Some(n) if n != 0 => n,
        _ if deployment_status_replicas == 0 => return 0,
        _ => deployment_status_replicas,
    };
    // Upstream multiplies in int32 before converting to float64.
    let scaled =
        f64::from(rs.spec_replicas.wrapping_mul(deployment_max_replicas)) / f64::from(before_scale);
    // `integer.RoundToInt32`; Go's out-of-range float conversion is unspecified, Rust's saturates.
    (scaled.round() as i32).wrapping_sub(rs.spec_replicas)
}

/// Upstream `GetReplicaSetProportion` (named `GetProportion` before 1.31): `rs`'s share of
/// `to_add` replicas, capped by what is still left to hand out (`to_add - added`): the smaller of
/// fraction and remainder when scaling up, the larger (less negative) when scaling down. 0 for an
/// empty ReplicaSet (never scale up from zero proportionally) or when nothing is left.
pub fn get_proportion(
    rs: &RsInfo,
    d: &DeploymentInfo,
    deployment_status_replicas: i32,
    to_add: i32,
    added: i32,
) -> i32 {
    if rs.spec_replicas == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = get_replica_set_fraction(rs, d, deployment_status_replicas);
    let allowed = to_add.wrapping_sub(added);
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

/// The `isScalingEvent` test of upstream `sync.go`: some active ReplicaSet carries a
/// desired-replicas annotation different from `replicas`. ReplicaSets without the annotation are
/// skipped. Inactive ReplicaSets are filtered out here as upstream does (so `all` may be passed).
pub fn desired_replicas_annotation_differs(active: &[RsInfo], replicas: i32) -> bool {
    filter_active(active)
        .into_iter()
        .filter_map(|rs| rs.desired_replicas)
        .any(|desired| desired != replicas)
}

// ---------------------------------------------------------------------------------------------
// Status and progress
// ---------------------------------------------------------------------------------------------

/// The replica counts of upstream `calculateStatus` (`sync.go`). `replicas`, `ready` and
/// `available` sum `all`; `updated` is the new ReplicaSet's `status.replicas`;
/// `unavailable = sum(spec.replicas) - available`, never negative (a Deployment scaling down can
/// have more available pods than desired). `all` should contain the new ReplicaSet, as upstream's
/// `allRSs` does.
pub fn calculate_status(
    all: &[RsInfo],
    new_rs: Option<&RsInfo>,
    _d: &DeploymentInfo,
) -> DeploymentStatusCounts {
    let available = available_replica_count(all);
    let unavailable = replica_count(all).wrapping_sub(available).max(0);
    DeploymentStatusCounts {
        replicas: actual_replica_count(all),
        updated_replicas: new_rs.map_or(0, |rs| rs.status_replicas),
        ready_replicas: ready_replica_count(all),
        available_replicas: available,
        unavailable_replicas: unavailable,
    }
}

/// The `Available` condition test of upstream `calculateStatus`: status `True`
/// (`MinimumReplicasAvailable`) iff `available >= spec.replicas - MaxUnavailable`.
pub fn has_minimum_availability(d: &DeploymentInfo, available_replicas: i32) -> bool {
    available_replicas >= d.replicas.wrapping_sub(max_unavailable(d))
}

/// Upstream `DeploymentComplete`: every desired replica is updated and available and there are
/// no others, and the status describes the current generation (`observed_current` stands for
/// `status.observedGeneration >= metadata.generation`).
pub fn deployment_complete(
    d: &DeploymentInfo,
    status: &DeploymentStatusCounts,
    observed_current: bool,
) -> bool {
    status.updated_replicas == d.replicas
        && status.replicas == d.replicas
        && status.available_replicas == d.replicas
        && observed_current
}

/// Upstream `DeploymentProgressing`: compared with the previous status, more updated replicas,
/// fewer old replicas (`replicas - updated`), more ready or more available replicas.
pub fn deployment_progressing(old: &DeploymentStatusCounts, new: &DeploymentStatusCounts) -> bool {
    let old_old_replicas = old.replicas.wrapping_sub(old.updated_replicas);
    let new_old_replicas = new.replicas.wrapping_sub(new.updated_replicas);
    new.updated_replicas > old.updated_replicas
        || new_old_replicas < old_old_replicas
        || new.ready_replicas > old.ready_replicas
        || new.available_replicas > old.available_replicas
}

/// Upstream `HasProgressDeadline`: set and not `MaxInt32` (which means no deadline).
pub fn has_progress_deadline(d: &DeploymentInfo) -> bool {
    d.progress_deadline_seconds.is_some_and(|s| s != i32::MAX)
}

/// The clock comparison of upstream `DeploymentTimedOut`: with a progress deadline,
/// `lastUpdateTime + progressDeadlineSeconds` is strictly before `now` (`from.Add(delta).Before(now)`),
/// so exactly at the deadline the Deployment has not timed out yet. The condition checks that
/// precede it upstream are in [`deployment_timed_out_with_reason`].
pub fn deployment_timed_out(
    d: &DeploymentInfo,
    last_progress_update: SimTime,
    now: SimTime,
) -> bool {
    let Some(seconds) = d
        .progress_deadline_seconds
        .filter(|_| has_progress_deadline(d))
    else {
        return false;
    };
    let deadline_nanos = i128::from(last_progress_update.as_nanos())
        + i128::from(seconds) * i128::from(SimDuration::from_secs(1).as_nanos());
    deadline_nanos < i128::from(now.as_nanos())
}

/// Upstream `DeploymentTimedOut` in full, given the current Progressing condition's reason and
/// `lastUpdateTime` (`None` when there is no Progressing condition: no base to estimate progress,
/// not timed out). A condition with [`NEW_RS_AVAILABLE_REASON`] never times out; one with
/// [`TIMED_OUT_REASON`] already has (when there is a deadline).
pub fn deployment_timed_out_with_reason(
    d: &DeploymentInfo,
    progressing: Option<(&str, SimTime)>,
    now: SimTime,
) -> bool {
    if !has_progress_deadline(d) {
        return false;
    }
    match progressing {
        None => false,
        Some((NEW_RS_AVAILABLE_REASON, _)) => false,
        Some((TIMED_OUT_REASON, _)) => true,
        Some((_, last_update)) => deployment_timed_out(d, last_update, now),
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Builders mirroring upstream's test helpers (`newDeployment`, `rs`, `generateRS`).
    use super::*;

    /// Upstream `newDeployment(name, replicas, nil, maxSurge, maxUnavailable, selector)`:
    /// RollingUpdate with both fenceposts defaulting to 0.
    pub fn deployment(
        replicas: i32,
        max_surge: Option<IntOrPercent>,
        max_unavailable: Option<IntOrPercent>,
    ) -> DeploymentInfo {
        DeploymentInfo {
            replicas,
            strategy: Strategy::RollingUpdate {
                max_surge: max_surge.unwrap_or(IntOrPercent::Int(0)),
                max_unavailable: max_unavailable.unwrap_or(IntOrPercent::Int(0)),
            },
            min_ready_seconds: 0,
            progress_deadline_seconds: None,
            revision_history_limit: None,
            paused: false,
        }
    }

    /// Upstream `rs(name, replicas, selector, timestamp)`: empty status, no annotations.
    pub fn rs(id: u32, name: &str, replicas: i32, created_secs: u64) -> RsInfo {
        RsInfo {
            id,
            name: name.to_string(),
            created: SimTime::from_nanos(created_secs * 1_000_000_000),
            spec_replicas: replicas,
            status_replicas: 0,
            ready_replicas: 0,
            available_replicas: 0,
            revision: 0,
            desired_replicas: None,
            max_replicas: None,
        }
    }

    /// Upstream `SetReplicasAnnotations(rs, desired, max)`.
    pub fn with_annotations(mut rs: RsInfo, desired: i32, max: i32) -> RsInfo {
        rs.desired_replicas = Some(desired);
        rs.max_replicas = Some(max);
        rs
    }
}

#[cfg(test)]
mod tests {
    // Upstream: pkg/controller/deployment/util/deployment_util_test.go (TestResolveFenceposts,
    // TestNewRSNewReplicas, TestMaxUnavailable, TestMinAvailable, TestDeploymentComplete,
    // TestDeploymentProgressing, TestDeploymentTimedOut, TestGetReplicaCountForReplicaSets,
    // TestGetReplicaSetFraction, TestGetNonNegativeInt32FromAnnotation,
    // TestReplicasAnnotationsNeedUpdate, TestAnnotationUtils/IsSaturated). Cases keep upstream's
    // names; the parts of upstream cases that exercise `status.terminatingReplicas` are left out
    // because kubesim does not model that field.
    use super::test_support::{deployment, rs, with_annotations};
    use super::*;

    fn secs(s: u64) -> SimTime {
        SimTime::from_nanos(s * 1_000_000_000)
    }

    #[test]
    fn resolve_fenceposts_table() {
        // (maxSurge, maxUnavailable, desired, expectSurge, expectUnavailable, expectError)
        type Case = (
            Option<&'static str>,
            Option<&'static str>,
            i32,
            i32,
            i32,
            bool,
        );
        let cases: [Case; 7] = [
            (Some("0%"), Some("0%"), 0, 0, 1, false),
            (Some("39%"), Some("39%"), 10, 4, 3, false),
            (Some("oops"), Some("39%"), 10, 0, 0, true),
            (Some("55%"), Some("urg"), 10, 0, 0, true),
            (None, Some("39%"), 10, 0, 3, false),
            (Some("39%"), None, 10, 4, 0, false),
            (None, None, 10, 0, 1, false),
        ];
        for (num, (surge, unavailable, desired, want_surge, want_unavail, want_err)) in
            cases.into_iter().enumerate()
        {
            let result = (|| {
                let surge = surge.map(int_or_string_from_str).transpose()?;
                let unavailable = unavailable.map(int_or_string_from_str).transpose()?;
                resolve_fenceposts(surge, unavailable, desired)
            })();
            assert_eq!(result.is_err(), want_err, "#{num}: {result:?}");
            let (got_surge, got_unavail) = result.unwrap_or((0, 0));
            assert_eq!(
                (got_surge, got_unavail),
                (want_surge, want_unavail),
                "#{num}"
            );
        }
    }

    #[test]
    fn int_or_string_errors_match_upstream() {
        assert_eq!(int_or_string_from_str("25%"), Ok(IntOrPercent::Percent(25)));
        assert!(
            int_or_string_from_str("5")
                .unwrap_err()
                .contains("string is not a percentage")
        );
        assert!(
            int_or_string_from_str("x%")
                .unwrap_err()
                .contains("invalid value")
        );
    }

    #[test]
    fn new_rs_new_replicas_table() {
        // (name, rolling?, depReplicas, newRSReplicas, maxSurge, expected); all = [rs5] only.
        let cases = [
            ("can not scale up - to newRSReplicas", true, 1, 5, 1, 5),
            ("scale up - to depReplicas", true, 6, 2, 10, 6),
            ("recreate - to depReplicas", false, 3, 1, 1, 3),
        ];
        let rs5 = rs(2, "rs5", 5, 0);
        for (name, rolling, dep_replicas, new_rs_replicas, surge, expected) in cases {
            let mut d = deployment(
                dep_replicas,
                Some(IntOrPercent::Int(surge)),
                Some(IntOrPercent::Int(1)),
            );
            if !rolling {
                d.strategy = Strategy::Recreate;
            }
            let new_rs = rs(1, "new", new_rs_replicas, 0);
            let got = new_rs_new_replicas(&d, std::slice::from_ref(&rs5), &new_rs);
            assert_eq!(got, Ok(expected), "{name}");
        }
    }

    #[test]
    fn max_unavailable_table() {
        let dep = |replicas, unavailable| {
            deployment(replicas, Some(IntOrPercent::Int(1)), Some(unavailable))
        };
        let recreate = DeploymentInfo {
            strategy: Strategy::Recreate,
            ..deployment(1, None, None)
        };
        let cases = [
            (
                "maxUnavailable less than replicas",
                dep(10, IntOrPercent::Int(5)),
                5,
            ),
            (
                "maxUnavailable equal replicas",
                dep(10, IntOrPercent::Int(10)),
                10,
            ),
            (
                "maxUnavailable greater than replicas",
                dep(5, IntOrPercent::Int(10)),
                5,
            ),
            (
                "maxUnavailable with replicas is 0",
                dep(0, IntOrPercent::Int(10)),
                0,
            ),
            (
                "maxUnavailable with Recreate deployment strategy",
                recreate,
                0,
            ),
            (
                "maxUnavailable less than replicas with percents",
                dep(10, IntOrPercent::Percent(50)),
                5,
            ),
            (
                "maxUnavailable equal replicas with percents",
                dep(10, IntOrPercent::Percent(100)),
                10,
            ),
            (
                "maxUnavailable greater than replicas with percents",
                dep(5, IntOrPercent::Percent(100)),
                5,
            ),
        ];
        for (name, d, expected) in cases {
            assert_eq!(max_unavailable(&d), expected, "{name}");
        }
    }

    #[test]
    fn min_available_table() {
        let dep = |replicas, unavailable| {
            deployment(replicas, Some(IntOrPercent::Int(1)), Some(unavailable))
        };
        let recreate = DeploymentInfo {
            strategy: Strategy::Recreate,
            ..deployment(10, None, None)
        };
        let cases = [
            (
                "replicas greater than maxUnavailable",
                dep(10, IntOrPercent::Int(5)),
                5,
            ),
            (
                "replicas equal maxUnavailable",
                dep(10, IntOrPercent::Int(10)),
                0,
            ),
            (
                "replicas less than maxUnavailable",
                dep(5, IntOrPercent::Int(10)),
                0,
            ),
            ("replicas is 0", dep(0, IntOrPercent::Int(10)), 0),
            (
                "minAvailable with Recreate deployment strategy",
                recreate,
                0,
            ),
            (
                "replicas greater than maxUnavailable with percents",
                dep(10, IntOrPercent::Percent(60)),
                4,
            ),
            (
                "replicas equal maxUnavailable with percents",
                dep(10, IntOrPercent::Percent(100)),
                0,
            ),
            (
                "replicas less than maxUnavailable with percents",
                dep(5, IntOrPercent::Percent(100)),
                0,
            ),
        ];
        for (name, d, expected) in cases {
            assert_eq!(min_available(&d), expected, "{name}");
        }
    }

    #[test]
    fn max_surge_follows_fenceposts() {
        // Not an upstream table: MaxSurge is only exercised indirectly upstream.
        let d = deployment(
            10,
            Some(IntOrPercent::Percent(25)),
            Some(IntOrPercent::Int(0)),
        );
        assert_eq!(max_surge(&d), 3, "25% of 10 rounds up");
        let zero = deployment(0, Some(IntOrPercent::Int(2)), None);
        assert_eq!(max_surge(&zero), 2, "no special case for replicas 0");
        let recreate = DeploymentInfo {
            strategy: Strategy::Recreate,
            ..d
        };
        assert_eq!(max_surge(&recreate), 0);
    }

    #[test]
    fn deployment_complete_table() {
        // deployment(desired, current, updated, available, maxUnavailable, maxSurge)
        let cases = [
            (
                "not complete: min but not all pods become available",
                (5, 5, 5, 4, 1, 0),
                false,
            ),
            (
                "not complete: min availability is not honored",
                (5, 5, 5, 3, 1, 0),
                false,
            ),
            ("complete", (5, 5, 5, 5, 0, 0), true),
            (
                "not complete: all pods are available but not updated",
                (5, 5, 4, 5, 0, 0),
                false,
            ),
            (
                "not complete: still running old pods",
                (1, 2, 1, 1, 0, 1),
                false,
            ),
            (
                "not complete: one replica deployment never comes up",
                (1, 1, 1, 0, 1, 1),
                false,
            ),
        ];
        for (name, (desired, current, updated, available, unavail, surge), expected) in cases {
            let d = deployment(
                desired,
                Some(IntOrPercent::Int(surge)),
                Some(IntOrPercent::Int(unavail)),
            );
            let status = DeploymentStatusCounts {
                replicas: current,
                updated_replicas: updated,
                available_replicas: available,
                ..DeploymentStatusCounts::default()
            };
            // Upstream's objects have generation 0 and observedGeneration 0.
            assert_eq!(deployment_complete(&d, &status, true), expected, "{name}");
        }
        let d = deployment(5, None, None);
        let done = DeploymentStatusCounts {
            replicas: 5,
            updated_replicas: 5,
            available_replicas: 5,
            ..DeploymentStatusCounts::default()
        };
        assert!(
            !deployment_complete(&d, &done, false),
            "stale observedGeneration"
        );
    }

    #[test]
    fn deployment_progressing_table() {
        let status = |replicas, updated, ready, available| DeploymentStatusCounts {
            replicas,
            updated_replicas: updated,
            ready_replicas: ready,
            available_replicas: available,
            unavailable_replicas: 0,
        };
        let cases = [
            (
                "progressing: updated pods",
                (10, 4, 4, 4),
                (10, 6, 4, 4),
                true,
            ),
            ("not progressing", (10, 4, 4, 4), (10, 4, 4, 4), false),
            (
                "progressing: old pods removed",
                (10, 4, 6, 6),
                (8, 4, 6, 6),
                true,
            ),
            (
                "not progressing: less new pods",
                (10, 7, 3, 3),
                (10, 6, 3, 3),
                false,
            ),
            (
                "progressing: less overall but more new pods",
                (10, 4, 7, 7),
                (8, 8, 5, 5),
                true,
            ),
            (
                "progressing: more ready pods",
                (10, 10, 9, 8),
                (10, 10, 10, 8),
                true,
            ),
            (
                "progressing: more available pods",
                (10, 10, 10, 9),
                (10, 10, 10, 10),
                true,
            ),
        ];
        for (name, old, new, expected) in cases {
            let old = status(old.0, old.1, old.2, old.3);
            let new = status(new.0, new.1, new.2, new.3);
            assert_eq!(deployment_progressing(&old, &new), expected, "{name}");
        }
    }

    #[test]
    fn deployment_timed_out_table() {
        let time = |min: u64, sec: u64| secs(min * 60 + sec);
        let with_deadline = |pds: Option<i32>| DeploymentInfo {
            progress_deadline_seconds: pds,
            ..deployment(1, None, None)
        };
        // (name, progressDeadlineSeconds, condition reason, lastUpdateTime, now, expected)
        let cases = [
            (
                "nil progressDeadlineSeconds specified - no timeout",
                None,
                "",
                time(1, 9),
                time(1, 20),
                false,
            ),
            (
                "infinite progressDeadlineSeconds specified - no timeout",
                Some(i32::MAX),
                "",
                time(1, 9),
                time(1, 20),
                false,
            ),
            (
                "progressDeadlineSeconds: 10s, now - started => 00:01:20 - 00:01:09 => 11s",
                Some(10),
                "",
                time(1, 9),
                time(1, 20),
                true,
            ),
            (
                "progressDeadlineSeconds: 10s, now - started => 00:01:20 - 00:01:11 => 9s",
                Some(10),
                "",
                time(1, 11),
                time(1, 20),
                false,
            ),
            (
                "previous status was a complete deployment",
                None,
                NEW_RS_AVAILABLE_REASON,
                SimTime::ZERO,
                SimTime::ZERO,
                false,
            ),
        ];
        for (name, pds, reason, from, now, expected) in cases {
            let d = with_deadline(pds);
            assert_eq!(
                deployment_timed_out_with_reason(&d, Some((reason, from)), now),
                expected,
                "{name}"
            );
            if reason.is_empty() {
                assert_eq!(deployment_timed_out(&d, from, now), expected, "{name}");
            }
        }
        // Not upstream cases: the comparison is strict ("Before"), and the reasons short-circuit.
        let d = with_deadline(Some(10));
        assert!(
            !deployment_timed_out(&d, time(1, 10), time(1, 20)),
            "exactly at the deadline"
        );
        assert!(deployment_timed_out(
            &d,
            time(1, 10),
            time(1, 20) + SimDuration::from_nanos(1)
        ));
        assert!(deployment_timed_out_with_reason(
            &d,
            Some((TIMED_OUT_REASON, time(1, 19))),
            time(1, 20)
        ));
        assert!(!deployment_timed_out_with_reason(
            &d,
            Some((NEW_RS_AVAILABLE_REASON, SimTime::ZERO)),
            time(59, 0)
        ));
        assert!(!deployment_timed_out_with_reason(&d, None, time(59, 0)));
    }

    #[test]
    fn get_replica_count_for_replica_sets_table() {
        let with_status = |id, name, spec, status| RsInfo {
            status_replicas: status,
            ..rs(id, name, spec, 0)
        };
        let rs1 = with_status(1, "foo-rs", 1, 2);
        let rs2 = with_status(2, "bar-rs", 2, 3);
        let rs3 = with_status(3, "unsynced-rs", 3, 0);
        let rs4 = with_status(4, "dropped-rs", 1, 1);
        let cases = [
            ("scaling down rs1", vec![rs1.clone()], 1, 2),
            (
                "scaling down rs1 and rs2",
                vec![rs1.clone(), rs2.clone()],
                3,
                5,
            ),
            ("scaling up rs3", vec![rs3.clone()], 3, 0),
            (
                "scaling down rs1 and rs2 and scaling up rs3",
                vec![rs1.clone(), rs2.clone(), rs3.clone()],
                6,
                5,
            ),
            (
                "invalid/unknown terminating status for rs4",
                vec![rs4.clone()],
                1,
                1,
            ),
            (
                "invalid/unknown terminating status for rs4 with rs1, rs2 and rs3",
                vec![rs1, rs2, rs3, rs4],
                7,
                6,
            ),
        ];
        for (name, sets, count, actual) in cases {
            assert_eq!(replica_count(&sets), count, "{name}: expectedCount");
            assert_eq!(
                actual_replica_count(&sets),
                actual,
                "{name}: expectedActual"
            );
        }
    }

    #[test]
    fn get_non_negative_int32_from_annotation_table() {
        // (name, annotation value, expected value, expected error substring)
        let max = i32::MAX.to_string();
        let over = (u64::from(i32::MAX.unsigned_abs()) + 1).to_string();
        let over2 = (u64::from(u32::MAX) + 1).to_string();
        let cases: [(&str, Option<&str>, Option<i32>, &str); 8] = [
            ("invalid empty", None, None, ""),
            ("invalid", Some("invalid"), None, "invalid syntax"),
            ("invalid negative ", Some("-1"), None, "invalid syntax"),
            ("valid zero", Some("0"), Some(0), ""),
            ("valid", Some("13"), Some(13), ""),
            ("valid max", Some(&max), Some(i32::MAX), ""),
            (
                "invalid max out of range",
                Some(&over),
                None,
                "out of range",
            ),
            (
                "invalid max out of range 2",
                Some(&over2),
                None,
                "out of range",
            ),
        ];
        for (name, value, expected, err) in cases {
            match parse_non_negative_i32_annotation(value) {
                Ok(got) => {
                    assert!(err.is_empty(), "{name}: expected error {err}");
                    assert_eq!(got, expected, "{name}");
                }
                Err(e) => {
                    assert!(!err.is_empty() && e.contains(err), "{name}: {e}");
                    assert_eq!(expected, None, "{name}");
                }
            }
        }
        assert!(
            parse_non_negative_i32_annotation(Some("+3")).is_err(),
            "ParseUint takes no sign"
        );
    }

    #[test]
    fn replicas_annotations_need_update_table() {
        // ReplicasAnnotationsNeedUpdate(rs, 10, 20)
        let base = rs(1, "hello", 0, 0);
        let cases = [
            ("test Annotations nil", base.clone(), true),
            (
                "test desiredReplicas update",
                with_annotations(base.clone(), 8, 20),
                true,
            ),
            (
                "test maxReplicas update",
                with_annotations(base.clone(), 10, 16),
                true,
            ),
            ("test needn't update", with_annotations(base, 10, 20), false),
        ];
        for (name, replica_set, expected) in cases {
            assert_eq!(
                replicas_annotations_need_update(&replica_set, 10, 20),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn annotation_utils_is_saturated() {
        // TestAnnotationUtils, "IsSaturated": desired annotation 1, available 1, spec 1.
        let d = deployment(1, None, None);
        let mut t_rs = with_annotations(rs(1, "nginx", 1, 0), 1, 1);
        t_rs.available_replicas = 1;
        assert!(is_saturated(&d, Some(&t_rs)));
        // Each of the three conditions matters (not upstream cases).
        let mut no_annotation = t_rs.clone();
        no_annotation.desired_replicas = None;
        assert!(!is_saturated(&d, Some(&no_annotation)));
        let mut unavailable = t_rs.clone();
        unavailable.available_replicas = 0;
        assert!(!is_saturated(&d, Some(&unavailable)));
        assert!(!is_saturated(&d, None));
    }

    #[test]
    fn get_replica_set_fraction_table() {
        // (name, deploymentReplicas, deploymentStatusReplicas, maxSurge, rsReplicas,
        //  max-replicas annotation, expectedFraction); maxUnavailable is 1 throughout.
        let cases = [
            (
                "empty deployment always scales to 0",
                0,
                0,
                0,
                10,
                None,
                -10,
            ),
            (
                "unsynced deployment does not scale when max-replicas annotation is missing (removed by a 3rd party)",
                10,
                0,
                0,
                5,
                None,
                0,
            ),
            (
                "unsynced deployment does not scale when max-replicas annotation is incorrectly set to 0 (by a 3rd party)",
                10,
                0,
                0,
                5,
                Some(0),
                0,
            ),
            (
                "scale up by 1/5 should increase RS replicas by 1/5 when max-replicas annotation is missing (removed by a 3rd party)",
                120,
                100,
                0,
                50,
                None,
                10,
            ),
            (
                "scale up by 1/5 should increase RS replicas by 1/5 when max-replicas annotation is incorrectly set to 0 (by a 3rd party)",
                120,
                100,
                0,
                50,
                Some(0),
                10,
            ),
            (
                "scale up by 1/5 should increase RS replicas by 1/5",
                120,
                0,
                0,
                50,
                Some(100),
                10,
            ),
            (
                "scale up with maxSurge by 1/5 should increase RS replicas approximately by 1/5",
                120,
                0,
                10,
                50,
                Some(110),
                9,
            ),
            (
                "scale down by 1/6 should decrease RS replicas by 1/6",
                10,
                0,
                0,
                6,
                Some(12),
                -1,
            ),
            (
                "scale down with maxSurge by 1/6 should decrease RS replicas approximately by 1/6",
                100,
                0,
                10,
                50,
                Some(130),
                -8,
            ),
        ];
        for (name, replicas, status_replicas, surge, rs_replicas, max_annotation, expected) in cases
        {
            let d = deployment(
                replicas,
                Some(IntOrPercent::Int(surge)),
                Some(IntOrPercent::Int(1)),
            );
            let mut t_rs = rs(1, "nginx", rs_replicas, 0);
            t_rs.max_replicas = max_annotation;
            assert_eq!(
                get_replica_set_fraction(&t_rs, &d, status_replicas),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn get_proportion_caps_by_what_is_left() {
        // Not an upstream table (upstream tests GetReplicaSetProportion only through TestScale).
        let d = deployment(20, None, None);
        let big = with_annotations(rs(1, "a", 10, 0), 10, 10);
        assert_eq!(get_proportion(&big, &d, 0, 10, 0), 10, "fraction fits");
        assert_eq!(
            get_proportion(&big, &d, 0, 10, 7),
            3,
            "capped by the remainder"
        );
        assert_eq!(get_proportion(&big, &d, 0, 10, 10), 0, "nothing left");
        let empty = with_annotations(rs(2, "b", 0, 0), 10, 10);
        assert_eq!(get_proportion(&empty, &d, 0, 10, 0), 0, "never from zero");
        let down = deployment(5, None, None);
        assert_eq!(get_proportion(&big, &down, 0, -5, 0), -5, "scale down");
        assert_eq!(
            get_proportion(&big, &down, 0, -5, -3),
            -2,
            "scale down capped"
        );
    }

    #[test]
    fn revisions_and_orderings() {
        // Not upstream tables: MaxRevision/LastRevision and the sort orders, checked against
        // upstream's definitions (and TestDeploymentController_cleanupDeploymentOrder's premise
        // that an RS without a revision sorts as revision 0).
        let mut a = rs(1, "a", 1, 10);
        a.revision = 3;
        let mut b = rs(2, "b", 3, 20);
        b.revision = 1;
        let mut c = rs(3, "c", 3, 30);
        c.revision = 4;
        let d = rs(4, "d", 1, 10); // no revision annotation, same timestamp as "a"
        let all = vec![a.clone(), b.clone(), c.clone(), d.clone()];
        assert_eq!(max_revision(&all), 4);
        assert_eq!(last_revision(&all), 3);
        let mut dup = c.clone();
        dup.id = 9;
        assert_eq!(last_revision(&[c.clone(), dup]), 4, "equal top revisions");
        assert_eq!(max_revision(&[]), 0);

        let names = |v: &[RsInfo]| v.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
        let mut v = all.clone();
        sort_by_creation(&mut v);
        assert_eq!(names(&v), ["a", "d", "b", "c"]);
        sort_by_revision(&mut v);
        assert_eq!(names(&v), ["d", "b", "a", "c"]);
        sort_by_size_newer(&mut v);
        assert_eq!(names(&v), ["c", "b", "d", "a"]);
        sort_by_size_older(&mut v);
        assert_eq!(names(&v), ["b", "c", "a", "d"]);
    }

    #[test]
    fn find_active_or_latest_cases() {
        // Not an upstream table (exercised upstream through TestScale).
        let new_rs = rs(1, "new", 0, 30);
        let old = vec![rs(2, "old1", 0, 10), rs(3, "old2", 0, 20)];
        assert_eq!(
            find_active_or_latest(Some(&new_rs), &old).map(|r| r.id),
            Some(1)
        );
        assert_eq!(
            find_active_or_latest(None, &old).map(|r| r.id),
            Some(3),
            "newest old"
        );
        let one_active = vec![rs(2, "old1", 2, 10), rs(3, "old2", 0, 20)];
        assert_eq!(
            find_active_or_latest(Some(&new_rs), &one_active).map(|r| r.id),
            Some(2)
        );
        let new_active = rs(1, "new", 1, 30);
        assert_eq!(find_active_or_latest(Some(&new_active), &one_active), None);
        assert_eq!(find_active_or_latest(None, &[]), None);
    }

    #[test]
    fn scaling_event_detection() {
        // Not an upstream table: sync.go isScalingEvent.
        let a = with_annotations(rs(1, "a", 3, 0), 5, 5);
        let inactive = with_annotations(rs(2, "b", 0, 0), 9, 9);
        let bare = rs(3, "c", 2, 0);
        assert!(!desired_replicas_annotation_differs(
            &[a.clone(), inactive.clone(), bare.clone()],
            5
        ));
        assert!(desired_replicas_annotation_differs(&[a, inactive, bare], 6));
    }

    #[test]
    fn calculate_status_never_reports_negative_unavailable() {
        // Not an upstream table: sync.go calculateStatus.
        let d = deployment(3, Some(IntOrPercent::Int(1)), Some(IntOrPercent::Int(1)));
        let mut new_rs = rs(1, "new", 3, 20);
        new_rs.status_replicas = 3;
        new_rs.ready_replicas = 3;
        new_rs.available_replicas = 2;
        let mut old = rs(2, "old", 0, 10);
        old.status_replicas = 2;
        old.ready_replicas = 2;
        old.available_replicas = 2;
        let all = vec![old, new_rs.clone()];
        let status = calculate_status(&all, Some(&new_rs), &d);
        assert_eq!(
            status,
            DeploymentStatusCounts {
                replicas: 5,
                updated_replicas: 3,
                ready_replicas: 5,
                available_replicas: 4,
                unavailable_replicas: 0,
            }
        );
        let mut short = all.clone();
        short[1].available_replicas = 0;
        short[0].available_replicas = 0;
        assert_eq!(
            calculate_status(&short, Some(&new_rs), &d).unavailable_replicas,
            3
        );
        assert_eq!(calculate_status(&short, None, &d).updated_replicas, 0);
        assert!(has_minimum_availability(&d, 2));
        assert!(!has_minimum_availability(&d, 1));
    }
}
