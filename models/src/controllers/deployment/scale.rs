//! Upstream `pkg/controller/deployment/sync.go` `scale`: what a scaling event (a change of
//! `spec.replicas` or of maxSurge, or a sync of a paused Deployment) does to the ReplicaSets, as a
//! pure function.
//!
//! Behaviour is upstream's with `spec.podReplacementPolicy` unset (or `TerminationStarted`), which
//! is what upstream's `scale` does and what its feature-gated `scaleV2` reduces to for those
//! policies: terminating pods are ignored.

use super::util::{
    DeploymentInfo, RsInfo, actual_replica_count, cmp_by_size_newer, cmp_by_size_older,
    filter_active, find_active_or_latest, get_proportion, is_rolling_update, is_saturated,
    max_surge,
};

/// Upstream `scale`, with the Deployment's `status.replicas` (used by proportional scaling when
/// a ReplicaSet lacks its max-replicas annotation) taken to be what upstream's `calculateStatus`
/// would have recorded for these ReplicaSets: the sum of their `status.replicas`. Use
/// [`scale_with_status_replicas`] to pass the recorded value itself.
pub fn scale(d: &DeploymentInfo, new_rs: Option<&RsInfo>, old: &[RsInfo]) -> Vec<(u32, i32)> {
    let status_replicas =
        actual_replica_count(old).wrapping_add(new_rs.map_or(0, |rs| rs.status_replicas));
    scale_with_status_replicas(d, status_replicas, new_rs, old)
}

/// Upstream `scale` (`sync.go`). Returns the new `spec.replicas` of every ReplicaSet whose size
/// changes, in upstream's write order.
///
/// 1. At most one active ReplicaSet (`spec.replicas > 0`): it (or, with none active, the new
///    ReplicaSet, else the newest old one) gets the full `spec.replicas`.
/// 2. The new ReplicaSet is saturated ([`is_saturated`]): every active old ReplicaSet goes to 0
///    (adoption of old ReplicaSets while the rollout is already done).
/// 3. RollingUpdate: the difference between `spec.replicas + maxSurge` (0 when scaling to 0)
///    and the sum of the active ReplicaSets' sizes is spread over them in proportion to their
///    size relative to the max-replicas recorded on each ([`get_proportion`]), biggest first
///    (newest first among equals when growing, oldest first when shrinking); whatever rounding
///    leaves over goes to the first one, never below 0.
/// 4. Recreate with several active ReplicaSets: nothing.
///
/// `deployment_status_replicas` is the Deployment's `status.replicas`, the fallback for a
/// ReplicaSet whose max-replicas annotation is missing or 0.
pub fn scale_with_status_replicas(
    d: &DeploymentInfo,
    deployment_status_replicas: i32,
    new_rs: Option<&RsInfo>,
    old: &[RsInfo],
) -> Vec<(u32, i32)> {
    if let Some(target) = find_active_or_latest(new_rs, old) {
        if target.spec_replicas == d.replicas {
            return Vec::new();
        }
        return vec![(target.id, d.replicas)];
    }

    if is_saturated(d, new_rs) {
        return filter_active(old)
            .into_iter()
            .map(|rs| (rs.id, 0))
            .collect();
    }

    if !is_rolling_update(d) {
        return Vec::new();
    }

    let mut active = filter_active(old.iter().chain(new_rs));
    let active_replicas = active
        .iter()
        .fold(0i32, |acc, rs| acc.wrapping_add(rs.spec_replicas));
    let allowed_size = if d.replicas > 0 {
        d.replicas.wrapping_add(max_surge(d))
    } else {
        0
    };
    let to_add = allowed_size.wrapping_sub(active_replicas);
    if to_add == 0 {
        // Every size stays; upstream only refreshes the annotations.
        return Vec::new();
    }
    if to_add > 0 {
        active.sort_by(|a, b| cmp_by_size_newer(a, b));
    } else {
        active.sort_by(|a, b| cmp_by_size_older(a, b));
    }

    let mut added = 0i32;
    let mut sizes: Vec<i32> = active
        .iter()
        .map(|rs| {
            let proportion = get_proportion(rs, d, deployment_status_replicas, to_add, added);
            added = added.wrapping_add(proportion);
            rs.spec_replicas.wrapping_add(proportion)
        })
        .collect();
    if let Some(first) = sizes.first_mut() {
        // The leftover from rounding goes to the largest ReplicaSet.
        *first = first.wrapping_add(to_add.wrapping_sub(added)).max(0);
    }

    active
        .iter()
        .zip(sizes)
        .filter(|(rs, size)| rs.spec_replicas != *size)
        .map(|(rs, size)| (rs.id, size))
        .collect()
}

#[cfg(test)]
mod tests {
    // Upstream: pkg/controller/deployment/sync_test.go, TestScale. Upstream compares the sizes
    // in the update actions of a fake client (an RS absent from them keeps its size); here the
    // returned resizes are applied to the inputs and the same final sizes asserted. The
    // pre-existing desired/max-replicas annotations are set as upstream's test harness sets
    // them: from `oldDeployment` (or `desiredReplicasAnnotations`). Cases that need
    // `spec.podReplacementPolicy: TerminationComplete` are not transcribed (kubesim does not
    // model terminating replicas); the "empty policy" and "TerminationStarted" cases are, since
    // there terminating pods must be ignored.
    use super::super::util::test_support::{deployment, rs, with_annotations};
    use super::super::util::{DeploymentInfo, RsInfo, Strategy, max_surge};
    use super::*;
    use crate::api::IntOrPercent;

    const NEW: u64 = 7200; // 2016-05-20 02:00, as seconds after 00:00
    const OLD: u64 = 3600;
    const OLDER: u64 = 0;

    struct Case {
        name: &'static str,
        deployment: DeploymentInfo,
        old_deployment: DeploymentInfo,
        new_rs: Option<(&'static str, i32, u64)>,
        old_rss: Vec<(&'static str, i32, u64)>,
        expected_new: Option<i32>,
        expected_old: Vec<i32>,
        /// `desiredReplicasAnnotations`: per-RS override of the replicas the annotations record.
        desired_overrides: Vec<(&'static str, i32)>,
        /// Mutates the new RS after it is built (upstream's inline `func() *apps.ReplicaSet`).
        tweak_new: fn(&mut RsInfo),
    }

    fn new_deployment(replicas: i32) -> DeploymentInfo {
        deployment(replicas, None, None)
    }

    fn with_surge(replicas: i32, surge: i32) -> DeploymentInfo {
        deployment(replicas, Some(IntOrPercent::Int(surge)), None)
    }

    fn case(
        name: &'static str,
        deployment: DeploymentInfo,
        old_deployment: DeploymentInfo,
        new_rs: Option<(&'static str, i32, u64)>,
        old_rss: Vec<(&'static str, i32, u64)>,
        expected_new: Option<i32>,
        expected_old: Vec<i32>,
    ) -> Case {
        Case {
            name,
            deployment,
            old_deployment,
            new_rs,
            old_rss,
            expected_new,
            expected_old,
            desired_overrides: Vec::new(),
            tweak_new: |_| {},
        }
    }

    /// Upstream's harness: `SetReplicasAnnotations(rs, desired, desired + MaxSurge(oldDeployment
    /// with replicas = desired))`, `desired` being `oldDeployment.spec.replicas` unless overridden.
    fn annotate(id: u32, (name, replicas, created): (&str, i32, u64), c: &Case) -> RsInfo {
        let desired = c
            .desired_overrides
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(c.old_deployment.replicas, |(_, d)| *d);
        let at_desired = DeploymentInfo {
            replicas: desired,
            ..c.old_deployment.clone()
        };
        with_annotations(
            rs(id, name, replicas, created),
            desired,
            desired + max_surge(&at_desired),
        )
    }

    fn run(c: &Case) {
        let new_rs = c.new_rs.map(|spec| {
            let mut built = annotate(100, spec, c);
            (c.tweak_new)(&mut built);
            built
        });
        let old: Vec<RsInfo> = c
            .old_rss
            .iter()
            .enumerate()
            .map(|(i, spec)| annotate(i as u32 + 1, *spec, c))
            .collect();
        let writes = scale(&c.deployment, new_rs.as_ref(), &old);
        let size_of = |rs: &RsInfo| {
            writes
                .iter()
                .rev()
                .find(|(id, _)| *id == rs.id)
                .map_or(rs.spec_replicas, |(_, n)| *n)
        };
        assert_eq!(
            writes
                .iter()
                .map(|(id, _)| id)
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            writes.len(),
            "{}: one write per RS: {writes:?}",
            c.name
        );
        if let (Some(expected), Some(new_rs)) = (c.expected_new, new_rs.as_ref()) {
            assert_eq!(
                size_of(new_rs),
                expected,
                "{}: new replicas ({writes:?})",
                c.name
            );
        }
        assert_eq!(old.len(), c.expected_old.len(), "{}", c.name);
        for (rs, expected) in old.iter().zip(&c.expected_old) {
            assert_eq!(
                size_of(rs),
                *expected,
                "{}: old {} ({writes:?})",
                c.name,
                rs.name
            );
        }
        for (id, size) in &writes {
            let before = old
                .iter()
                .chain(new_rs.as_ref())
                .find(|rs| rs.id == *id)
                .map(|rs| rs.spec_replicas);
            assert_ne!(
                before,
                Some(*size),
                "{}: only size changes are returned",
                c.name
            );
        }
    }

    #[test]
    fn scale_table() {
        let cases = vec![
            case(
                "normal scaling event: 10 -> 12",
                new_deployment(12),
                new_deployment(10),
                Some(("foo-v1", 10, NEW)),
                vec![],
                Some(12),
                vec![],
            ),
            case(
                "normal scaling event: 10 -> 5",
                new_deployment(5),
                new_deployment(10),
                Some(("foo-v1", 10, NEW)),
                vec![],
                Some(5),
                vec![],
            ),
            case(
                "proportional scaling: 5 -> 10",
                new_deployment(10),
                new_deployment(5),
                Some(("foo-v2", 2, NEW)),
                vec![("foo-v1", 3, OLD)],
                Some(4),
                vec![6],
            ),
            case(
                "proportional scaling: 5 -> 3",
                new_deployment(3),
                new_deployment(5),
                Some(("foo-v2", 2, NEW)),
                vec![("foo-v1", 3, OLD)],
                Some(1),
                vec![2],
            ),
            case(
                "proportional scaling: 9 -> 4",
                new_deployment(4),
                new_deployment(9),
                Some(("foo-v2", 8, NEW)),
                vec![("foo-v1", 1, OLD)],
                Some(4),
                vec![0],
            ),
            case(
                "proportional scaling: 7 -> 10",
                new_deployment(10),
                new_deployment(7),
                Some(("foo-v3", 2, NEW)),
                vec![("foo-v2", 3, OLD), ("foo-v1", 2, OLDER)],
                Some(3),
                vec![4, 3],
            ),
            case(
                "proportional scaling: 13 -> 8",
                new_deployment(8),
                new_deployment(13),
                Some(("foo-v3", 2, NEW)),
                vec![("foo-v2", 8, OLD), ("foo-v1", 3, OLDER)],
                Some(1),
                vec![5, 2],
            ),
            // Scales up the new replica set.
            case(
                "leftover distribution: 3 -> 4",
                new_deployment(4),
                new_deployment(3),
                Some(("foo-v3", 1, NEW)),
                vec![("foo-v2", 1, OLD), ("foo-v1", 1, OLDER)],
                Some(2),
                vec![1, 1],
            ),
            // Scales down the older replica set.
            case(
                "leftover distribution: 3 -> 2",
                new_deployment(2),
                new_deployment(3),
                Some(("foo-v3", 1, NEW)),
                vec![("foo-v2", 1, OLD), ("foo-v1", 1, OLDER)],
                Some(1),
                vec![1, 0],
            ),
            // Scales up the latest replica set first.
            case(
                "proportional scaling (no new rs): 4 -> 5",
                new_deployment(5),
                new_deployment(4),
                None,
                vec![("foo-v2", 2, OLD), ("foo-v1", 2, OLDER)],
                None,
                vec![3, 2],
            ),
            // Scales down to zero
            case(
                "proportional scaling: 6 -> 0",
                new_deployment(0),
                new_deployment(6),
                Some(("foo-v3", 3, NEW)),
                vec![("foo-v2", 2, OLD), ("foo-v1", 1, OLDER)],
                Some(0),
                vec![0, 0],
            ),
            // Scales up from zero
            case(
                "proportional scaling: 0 -> 6",
                new_deployment(6),
                new_deployment(6),
                Some(("foo-v3", 0, NEW)),
                vec![("foo-v2", 0, OLD), ("foo-v1", 0, OLDER)],
                Some(6),
                vec![0, 0],
            ),
            // Scenario: deployment.spec.replicas == 3 ( foo-v1.spec.replicas ==
            // foo-v2.spec.replicas == foo-v3.spec.replicas == 1 ). Deployment is scaled to 5.
            // foo-v3.spec.replicas and foo-v2.spec.replicas should increment by 1 but foo-v2
            // fails to update. (Upstream simulates the failure with `wasntUpdated`; only foo-v2
            // changes size.)
            Case {
                desired_overrides: vec![("foo-v2", 3)],
                ..case(
                    "failed rs update",
                    new_deployment(5),
                    new_deployment(5),
                    Some(("foo-v3", 2, NEW)),
                    vec![("foo-v2", 1, OLD), ("foo-v1", 1, OLDER)],
                    Some(2),
                    vec![2, 1],
                )
            },
            case(
                "deployment with surge pods",
                with_surge(20, 2),
                with_surge(10, 2),
                Some(("foo-v2", 6, NEW)),
                vec![("foo-v1", 6, OLD)],
                Some(11),
                vec![11],
            ),
            case(
                "change both surge and size",
                with_surge(50, 6),
                with_surge(10, 3),
                Some(("foo-v2", 5, NEW)),
                vec![("foo-v1", 8, OLD)],
                Some(22),
                vec![34],
            ),
            // (upstream also changes the template; the new RS is nil either way)
            case(
                "change both size and template",
                new_deployment(14),
                new_deployment(10),
                None,
                vec![("foo-v2", 7, NEW), ("foo-v1", 3, OLD)],
                None,
                vec![10, 4],
            ),
            Case {
                tweak_new: |rs| rs.available_replicas = 0,
                ..case(
                    "saturated but broken new replica set does not affect old pods",
                    deployment(2, Some(IntOrPercent::Int(1)), Some(IntOrPercent::Int(1))),
                    deployment(2, Some(IntOrPercent::Int(1)), Some(IntOrPercent::Int(1))),
                    Some(("foo-v2", 2, NEW)),
                    vec![("foo-v1", 1, OLD)],
                    Some(2),
                    vec![1],
                )
            },
            // Ignores terminating pods.
            case(
                "scaling event with terminating pods is not partial with empty policy:: 10 -> 14",
                new_deployment(14),
                new_deployment(10),
                Some(("foo-v1", 10, NEW)),
                vec![],
                Some(14),
                vec![],
            ),
            // Ignores terminating pods.
            case(
                "scaling event with terminating pods is not partial with TerminationStarted policy:: 10 -> 14",
                new_deployment(14),
                new_deployment(10),
                Some(("foo-v1", 10, NEW)),
                vec![],
                Some(14),
                vec![],
            ),
            // Ignores terminating pods.
            case(
                "proportional scaling with terminating pods is not partial with empty policy: 5 -> 10",
                new_deployment(10),
                new_deployment(5),
                Some(("foo-v2", 2, NEW)),
                vec![("foo-v1", 3, OLD)],
                Some(4),
                vec![6],
            ),
            // Ignores terminating pods.
            case(
                "proportional scaling with terminating pods is not partial with TerminationStarted policy: 5 -> 10",
                new_deployment(10),
                new_deployment(5),
                Some(("foo-v2", 2, NEW)),
                vec![("foo-v1", 3, OLD)],
                Some(4),
                vec![6],
            ),
        ];
        for c in &cases {
            run(c);
        }
    }

    #[test]
    fn saturated_new_rs_scales_active_old_to_zero() {
        // Not an upstream case: sync.go's adoption branch.
        let d = new_deployment(3);
        let mut new_rs = with_annotations(rs(100, "new", 3, NEW), 3, 3);
        new_rs.available_replicas = 3;
        let old = vec![
            with_annotations(rs(1, "adopted", 2, OLD), 3, 3),
            rs(2, "empty", 0, OLDER),
        ];
        assert_eq!(scale(&d, Some(&new_rs), &old), vec![(1, 0)]);
    }

    #[test]
    fn recreate_with_several_active_does_nothing() {
        // Not an upstream case: proportional scaling is for RollingUpdate only.
        let d = DeploymentInfo {
            strategy: Strategy::Recreate,
            ..new_deployment(10)
        };
        let new_rs = with_annotations(rs(100, "new", 2, NEW), 5, 5);
        let old = vec![with_annotations(rs(1, "old", 3, OLD), 5, 5)];
        assert_eq!(scale(&d, Some(&new_rs), &old), Vec::new());
    }

    #[test]
    fn missing_annotation_falls_back_to_status_replicas() {
        // Not an upstream case: getReplicaSetFraction's fallback through `scale`.
        let d = new_deployment(20);
        let mut new_rs = rs(100, "new", 5, NEW);
        new_rs.status_replicas = 5;
        let mut old_rs = rs(1, "old", 5, OLD);
        old_rs.status_replicas = 5;
        let old = vec![old_rs];
        // status.replicas 10 -> each doubles.
        assert_eq!(scale(&d, Some(&new_rs), &old), vec![(100, 10), (1, 10)]);
        // Recorded status.replicas 0: fractions are 0, the leftover goes to the first (newest).
        assert_eq!(
            scale_with_status_replicas(&d, 0, Some(&new_rs), &old),
            vec![(100, 15)]
        );
    }
}
