//! Upstream `pkg/controller/deployment/rolling.go`: one step of a RollingUpdate rollout, as pure
//! functions. Upstream writes each resize through the API as it goes; here each function returns
//! the new `spec.replicas` it would write, per ReplicaSet id, in upstream's write order.
//!
//! Behaviour is upstream's with `spec.podReplacementPolicy` unset (or `TerminationStarted`):
//! terminating pods are ignored.

use super::util::{
    DeploymentInfo, RsInfo, available_replica_count, cmp_by_creation, max_unavailable,
    new_rs_new_replicas, replica_count,
};

/// Upstream `reconcileNewReplicaSet`: the size to give the new ReplicaSet, or `None` when it
/// stays as it is. Larger than `spec.replicas`: back to `spec.replicas`; otherwise what
/// [`new_rs_new_replicas`] allows (`None` when that is its current size: upstream's
/// `scaleReplicaSetAndRecordEvent` makes no call then).
pub fn reconcile_new_replica_set(
    d: &DeploymentInfo,
    all: &[RsInfo],
    new_rs: &RsInfo,
) -> Result<Option<i32>, String> {
    if new_rs.spec_replicas == d.replicas {
        return Ok(None);
    }
    if new_rs.spec_replicas > d.replicas {
        return Ok(Some(d.replicas));
    }
    let count = new_rs_new_replicas(d, all, new_rs)?;
    Ok((count != new_rs.spec_replicas).then_some(count))
}

/// What a scale-down pass did before it stopped: the writes, their total, and the error that
/// stopped it (upstream has already written the earlier resizes when it fails).
struct Pass {
    writes: Vec<(u32, i32)>,
    scaled_down: i32,
    error: Option<String>,
}

/// Upstream `cleanupUnhealthyReplicas` on `old`, which it sorts oldest first, resizing in place
/// as upstream replaces each entry with the updated ReplicaSet.
fn cleanup_pass(old: &mut [RsInfo], max_cleanup: i32) -> Pass {
    old.sort_by(cmp_by_creation);
    let mut pass = Pass {
        writes: Vec::new(),
        scaled_down: 0,
        error: None,
    };
    for target in old.iter_mut() {
        if pass.scaled_down >= max_cleanup {
            break;
        }
        if target.spec_replicas == 0 {
            // Cannot scale this one down.
            continue;
        }
        if target.spec_replicas == target.available_replicas {
            // No unhealthy replicas.
            continue;
        }
        // Negative when the status still counts more available pods than the spec asks for
        // (the ReplicaSet controller has not caught up with a scale-down): upstream refuses it.
        let count =
            (max_cleanup - pass.scaled_down).min(target.spec_replicas - target.available_replicas);
        let new_count = target.spec_replicas - count;
        if new_count > target.spec_replicas {
            pass.error = Some(format!(
                "when cleaning up unhealthy replicas, got invalid request to scale down {} {} -> {}",
                target.name, target.spec_replicas, new_count
            ));
            return pass;
        }
        target.spec_replicas = new_count;
        pass.writes.push((target.id, new_count));
        pass.scaled_down += count;
    }
    pass
}

/// Upstream `scaleDownOldReplicaSetsForRollingUpdate` on `old` (sorted oldest first here, as
/// upstream does), with availability counted over `all`.
fn scale_down_pass(all_available: i32, old: &mut [RsInfo], d: &DeploymentInfo) -> Pass {
    let mut pass = Pass {
        writes: Vec::new(),
        scaled_down: 0,
        error: None,
    };
    let min_available = d.replicas - max_unavailable(d);
    if all_available <= min_available {
        // Cannot scale down.
        return pass;
    }
    old.sort_by(cmp_by_creation);
    let total_to_scale_down = all_available - min_available;
    for target in old.iter_mut() {
        if pass.scaled_down >= total_to_scale_down {
            break;
        }
        if target.spec_replicas == 0 {
            continue;
        }
        let count = target
            .spec_replicas
            .min(total_to_scale_down - pass.scaled_down);
        let new_count = target.spec_replicas - count;
        if new_count > target.spec_replicas {
            pass.error = Some(format!(
                "when scaling down old RS, got invalid request to scale down {} {} -> {}",
                target.name, target.spec_replicas, new_count
            ));
            return pass;
        }
        target.spec_replicas = new_count;
        pass.writes.push((target.id, new_count));
        pass.scaled_down += count;
    }
    pass
}

/// Upstream `cleanupUnhealthyReplicas`: scales old ReplicaSets (oldest first; the input is sorted
/// again, so any order works) down by their unavailable replicas
/// (`spec.replicas - status.availableReplicas`), at most `max_cleanup` in total. Returns the new
/// sizes and the number removed. Errors, as upstream, when a ReplicaSet reports more available
/// replicas than its `spec.replicas` (the computed "scale down" would grow it); upstream has
/// already written the earlier resizes by then.
pub fn cleanup_unhealthy_replicas(
    old_sorted: &[RsInfo],
    _d: &DeploymentInfo,
    max_cleanup: i32,
) -> Result<(Vec<(u32, i32)>, i32), String> {
    let mut old = old_sorted.to_vec();
    let pass = cleanup_pass(&mut old, max_cleanup);
    match pass.error {
        Some(e) => Err(e),
        None => Ok((pass.writes, pass.scaled_down)),
    }
}

/// Upstream `scaleDownOldReplicaSetsForRollingUpdate`: if the available replicas of `all` exceed
/// `spec.replicas - MaxUnavailable`, scales the old ReplicaSets down by the excess, oldest first.
/// Returns the new sizes and the number removed.
pub fn scale_down_old_replica_sets_for_rolling_update(
    all: &[RsInfo],
    old: &[RsInfo],
    d: &DeploymentInfo,
) -> Result<(Vec<(u32, i32)>, i32), String> {
    let mut old = old.to_vec();
    let pass = scale_down_pass(available_replica_count(all), &mut old, d);
    match pass.error {
        Some(e) => Err(e),
        None => Ok((pass.writes, pass.scaled_down)),
    }
}

/// Upstream `reconcileOldReplicaSets`: how far the old ReplicaSets may shrink this step.
///
/// Nothing happens when the old ReplicaSets are already empty, nor unless
/// `maxScaledDown = sum(all spec.replicas) - minAvailable - newRSUnavailable` is positive, with
/// `minAvailable = spec.replicas - MaxUnavailable` and
/// `newRSUnavailable = newRS.spec.replicas - newRS.availableReplicas`. Then unhealthy old
/// replicas are cleaned up (at most `maxScaledDown`), and then, seeing the old ReplicaSets as
/// resized by the cleanup and counting availability over *those old ReplicaSets plus the new
/// one* (not over `all`), old replicas are scaled down as far as availability allows.
///
/// `old` is what upstream's `rolloutRolling` passes: the active old ReplicaSets. `new_rs` is
/// always present upstream (the rollout creates it first); `None` is treated as a new ReplicaSet
/// of size 0 that is left out of the availability count. Returns every resize in write order; a
/// ReplicaSet may appear twice (cleanup, then scale-down), the later entry wins.
///
/// Upstream swallows errors from both steps (`return false, nil`) after having written the
/// resizes that preceded the failure; so does this function: it returns those writes and never
/// `Err`. (One consequence upstream: when the first old ReplicaSet it looks at reports more
/// available pods than its spec, nothing is scaled down this step.)
pub fn reconcile_old_replica_sets(
    d: &DeploymentInfo,
    all: &[RsInfo],
    old: &[RsInfo],
    new_rs: Option<&RsInfo>,
) -> Result<Vec<(u32, i32)>, String> {
    if replica_count(old) == 0 {
        // Cannot scale down further.
        return Ok(Vec::new());
    }
    let all_pods = replica_count(all);
    let min_available = d.replicas - max_unavailable(d);
    let new_rs_unavailable = new_rs.map_or(0, |rs| rs.spec_replicas - rs.available_replicas);
    let max_scaled_down = all_pods - min_available - new_rs_unavailable;
    if max_scaled_down <= 0 {
        return Ok(Vec::new());
    }

    // Clean up unhealthy replicas first, otherwise they block the rollout (upstream #16737).
    let mut old = old.to_vec();
    let cleanup = cleanup_pass(&mut old, max_scaled_down);
    let mut writes = cleanup.writes;
    if cleanup.error.is_some() {
        return Ok(writes);
    }

    // Upstream: `allRSs = append(oldRSs, newRS)` with the cleaned-up old ReplicaSets.
    let available =
        available_replica_count(&old).wrapping_add(new_rs.map_or(0, |rs| rs.available_replicas));
    let scale_down = scale_down_pass(available, &mut old, d);
    writes.extend(scale_down.writes);
    Ok(writes)
}

#[cfg(test)]
mod tests {
    // Upstream: pkg/controller/deployment/rolling_test.go
    // (TestDeploymentController_reconcileNewReplicaSet,
    // TestDeploymentController_reconcileOldReplicaSets,
    // TestDeploymentController_cleanupUnhealthyReplicas,
    // TestDeploymentController_scaleDownOldReplicaSetsForRollingUpdate). Upstream checks the
    // update actions a fake client recorded; here the same expectations are asserted on the
    // returned sizes. Cases that need `spec.podReplacementPolicy: TerminationComplete` are not
    // transcribed (kubesim does not model terminating replicas); the "empty policy" and
    // "TerminationStarted" cases are, since terminating pods must be ignored there.
    use super::super::util::test_support::{deployment, rs};
    use super::super::util::{DeploymentInfo, RsInfo};
    use super::*;
    use crate::api::IntOrPercent;

    fn with_available(mut rs: RsInfo, available: i32) -> RsInfo {
        rs.available_replicas = available;
        rs
    }

    /// The final size of each ReplicaSet after applying `writes` (later writes win).
    fn final_size(writes: &[(u32, i32)], id: u32) -> Option<i32> {
        writes.iter().rev().find(|(i, _)| *i == id).map(|(_, n)| *n)
    }

    #[test]
    fn reconcile_new_replica_set_table() {
        // (name, deploymentReplicas, maxSurge, oldReplicas, newReplicas, scaleExpected,
        //  expectedNewReplicas); maxUnavailable 0.
        let cases = [
            (
                "should not scale up when old replica set is fully saturated",
                10,
                0,
                10,
                0,
                false,
                0,
            ),
            (
                "should scale up according to the maxSurge when old replica set is fully saturated",
                10,
                2,
                10,
                0,
                true,
                2,
            ),
            (
                "should scale up according to the maxSurge",
                10,
                2,
                5,
                0,
                true,
                7,
            ),
            (
                "should not scale when maxSurge is fully saturated",
                10,
                2,
                10,
                2,
                false,
                0,
            ),
            (
                "should scale down when there are replicas above maxSurge",
                10,
                2,
                2,
                11,
                true,
                10,
            ),
            (
                "should scale up according to the maxSurge with empty policy and ignore terminating pods",
                10,
                2,
                5,
                0,
                true,
                7,
            ),
            (
                "should scale up according to the maxSurge with TerminationStarted policy and ignore terminating pods",
                10,
                2,
                5,
                0,
                true,
                7,
            ),
        ];
        for (name, replicas, surge, old_replicas, new_replicas, scale_expected, expected) in cases {
            let new_rs = rs(1, "foo-v2", new_replicas, 0);
            let old_rs = rs(2, "foo-v1", old_replicas, 0);
            let all = vec![new_rs.clone(), old_rs];
            let d = deployment(
                replicas,
                Some(IntOrPercent::Int(surge)),
                Some(IntOrPercent::Int(0)),
            );
            let got = reconcile_new_replica_set(&d, &all, &new_rs).expect(name);
            if scale_expected {
                assert_eq!(got, Some(expected), "{name}");
            } else {
                assert_eq!(got, None, "{name}");
            }
        }
    }

    #[test]
    fn reconcile_old_replica_sets_table() {
        // (deploymentReplicas, maxUnavailable, oldReplicas, newReplicas, readyPodsFromOldRS,
        //  readyPodsFromNewRS, scaleExpected, expectedOldReplicas); maxSurge 0.
        let cases = [
            (10, 0, 10, 0, 10, 0, true, 9),
            (10, 2, 10, 0, 10, 0, true, 8),
            // expect unhealthy replicas from old replica sets been cleaned up
            (10, 2, 10, 0, 8, 0, true, 8),
            // expect 1 unhealthy replica from old replica sets been cleaned up, and 1 ready pod
            // been scaled down
            (10, 2, 10, 0, 9, 0, true, 8),
            // the unavailable pods from the newRS would not make us scale down old RSs in a
            // further step
            (10, 2, 8, 2, 8, 0, false, 8),
        ];
        for (i, (replicas, unavailable, old_n, new_n, old_ready, new_ready, scale, expected)) in
            cases.into_iter().enumerate()
        {
            let new_rs = with_available(rs(1, "foo-new", new_n, 0), new_ready);
            let old_rs = with_available(rs(2, "foo-old", old_n, 0), old_ready);
            let old = vec![old_rs.clone()];
            let all = vec![old_rs, new_rs.clone()];
            let d = deployment(
                replicas,
                Some(IntOrPercent::Int(0)),
                Some(IntOrPercent::Int(unavailable)),
            );
            let writes = reconcile_old_replica_sets(&d, &all, &old, Some(&new_rs))
                .unwrap_or_else(|e| panic!("scenario {i}: {e}"));
            assert_eq!(!writes.is_empty(), scale, "scenario {i}: {writes:?}");
            let size = final_size(&writes, 2).unwrap_or(old_n);
            assert_eq!(size, expected, "scenario {i}: {writes:?}");
            assert_eq!(
                final_size(&writes, 1),
                None,
                "scenario {i}: new RS untouched"
            );
        }
    }

    #[test]
    fn cleanup_unhealthy_replicas_table() {
        // (oldReplicas, readyPods, unHealthyPods, maxCleanupCount, cleanupCountExpected);
        // deployment 10 replicas, maxSurge 2, maxUnavailable 2.
        let cases = [
            (10, 8, 2, 1, 1),
            (10, 8, 2, 3, 2),
            (10, 8, 2, 0, 0),
            (10, 10, 0, 3, 0),
        ];
        let d = deployment(10, Some(IntOrPercent::Int(2)), Some(IntOrPercent::Int(2)));
        for (i, (old_replicas, ready, _unhealthy, max_cleanup, expected)) in
            cases.into_iter().enumerate()
        {
            let old = vec![with_available(rs(1, "foo-v2", old_replicas, 0), ready)];
            let (writes, count) = cleanup_unhealthy_replicas(&old, &d, max_cleanup)
                .unwrap_or_else(|e| panic!("scenario {i}: {e}"));
            assert_eq!(count, expected, "scenario {i}");
            let size = final_size(&writes, 1).unwrap_or(old_replicas);
            assert_eq!(size, old_replicas - expected, "scenario {i}");
        }
    }

    #[test]
    fn scale_down_old_replica_sets_for_rolling_update_table() {
        // (deploymentReplicas, maxUnavailable, readyPods, oldReplicas, scaleExpected,
        //  expectedOldReplicas); maxSurge 0, allRSs == oldRSs == [oldRS].
        let cases = [
            (10, 0, 10, 10, true, 9),
            (10, 2, 10, 10, true, 8),
            (10, 2, 8, 10, false, 10),
            (10, 2, 10, 0, false, 0),
            (10, 2, 1, 10, false, 10),
        ];
        for (i, (replicas, unavailable, ready, old_replicas, scale, expected)) in
            cases.into_iter().enumerate()
        {
            let old = vec![with_available(rs(1, "foo-v2", old_replicas, 0), ready)];
            let d = deployment(
                replicas,
                Some(IntOrPercent::Int(0)),
                Some(IntOrPercent::Int(unavailable)),
            );
            let (writes, scaled) = scale_down_old_replica_sets_for_rolling_update(&old, &old, &d)
                .unwrap_or_else(|e| panic!("scenario {i}: {e}"));
            assert_eq!(scaled != 0, scale, "scenario {i}");
            if scale {
                assert_eq!(
                    writes,
                    vec![(1, expected)],
                    "scenario {i}: exactly one update"
                );
            } else {
                assert!(writes.is_empty(), "scenario {i}: {writes:?}");
            }
        }
    }

    #[test]
    fn status_lag_is_an_error_in_cleanup_and_a_no_op_in_reconcile() {
        // Not an upstream case: an old RS just scaled from 5 to 3 whose status still shows 5
        // available pods. Upstream's cleanup computes a negative scale-down and errors;
        // reconcileOldReplicaSets swallows that and scales nothing this step.
        let d: DeploymentInfo =
            deployment(5, Some(IntOrPercent::Int(1)), Some(IntOrPercent::Int(1)));
        let lagging = with_available(rs(2, "old", 3, 0), 5);
        let new_rs = with_available(rs(1, "new", 3, 10), 3);
        assert!(cleanup_unhealthy_replicas(std::slice::from_ref(&lagging), &d, 5).is_err());
        let all = vec![lagging.clone(), new_rs.clone()];
        assert_eq!(
            reconcile_old_replica_sets(&d, &all, std::slice::from_ref(&lagging), Some(&new_rs)),
            Ok(Vec::new())
        );
    }

    #[test]
    fn reconcile_old_counts_availability_over_cleaned_old_and_new_only() {
        // Not an upstream case: an inactive old RS (spec 0) still reporting available pods is in
        // `all` but not in `old`; upstream's second step does not count it.
        let d = deployment(4, Some(IntOrPercent::Int(1)), Some(IntOrPercent::Int(1)));
        let ghost = with_available(rs(3, "ghost", 0, 0), 4);
        let old_rs = with_available(rs(2, "old", 3, 5), 3);
        let new_rs = with_available(rs(1, "new", 2, 10), 0);
        let all = vec![ghost, old_rs.clone(), new_rs.clone()];
        // maxScaledDown = 5 - 3 - 2 = 0: nothing.
        assert_eq!(
            reconcile_old_replica_sets(&d, &all, std::slice::from_ref(&old_rs), Some(&new_rs)),
            Ok(Vec::new())
        );
        let new_ready = with_available(new_rs, 2);
        // maxScaledDown = 5 - 3 - 0 = 2; availability (old 3 + new 2) - minAvailable 3 = 2.
        let all = vec![all[0].clone(), old_rs.clone(), new_ready.clone()];
        assert_eq!(
            reconcile_old_replica_sets(&d, &all, std::slice::from_ref(&old_rs), Some(&new_ready)),
            Ok(vec![(2, 1)])
        );
    }
}
