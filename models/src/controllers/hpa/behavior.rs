//! Upstream `pkg/controller/podautoscaler/horizontal.go`'s normalization of a recommendation:
//! the stabilization windows, the scaling policies with their history of scale events, and the
//! min/max clamps with the `ScalingLimited` reasons — as pure functions over an HPA's
//! [`History`].

use sim_core::{SimDuration, SimTime};

use crate::api::autoscaling::{ScalingPolicyType, ScalingRules, SelectPolicy};

/// Upstream `scaleUpLimitFactor` / `scaleUpLimitMinimum` (the legacy rate limit).
const SCALE_UP_LIMIT_FACTOR: f64 = 2.0;
const SCALE_UP_LIMIT_MINIMUM: f64 = 4.0;

/// Upstream `timestampedRecommendation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recommendation {
    pub recommendation: i32,
    pub timestamp: SimTime,
}

/// Upstream `timestampedScaleEvent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleEvent {
    pub replica_change: i32,
    pub timestamp: SimTime,
    pub outdated: bool,
}

/// What the controller remembers of one HPA between syncs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    pub recommendations: Vec<Recommendation>,
    pub scale_up_events: Vec<ScaleEvent>,
    pub scale_down_events: Vec<ScaleEvent>,
}

fn secs(s: i32) -> SimDuration {
    SimDuration::from_secs(u64::try_from(s).unwrap_or(0))
}

fn cutoff(now: SimTime, d: SimDuration) -> SimTime {
    SimTime::ZERO + now.since(SimTime::ZERO).saturating_sub(d)
}

/// A time strictly before `cutoff`, with Go's `time.Before` semantics.
fn before(t: SimTime, c: SimTime, now: SimTime, d: SimDuration) -> bool {
    // A cutoff before the epoch (the window is longer than the run so far) is before
    // everything.
    now.since(SimTime::ZERO) >= d && t < c
}

fn after(t: SimTime, c: SimTime, now: SimTime, d: SimDuration) -> bool {
    now.since(SimTime::ZERO) < d || t > c
}

/// Upstream `stabilizeRecommendation` (no `behavior`): the highest recommendation of the
/// downscale stabilization window; the oldest stale entry is reused for this one.
pub fn stabilize_recommendation(
    h: &mut History,
    prenormalized: i32,
    window: SimDuration,
    now: SimTime,
) -> i32 {
    let mut max = prenormalized;
    let c = cutoff(now, window);
    let mut old = None;
    for (i, r) in h.recommendations.iter().enumerate() {
        if before(r.timestamp, c, now, window) {
            old = Some(i);
        } else if r.recommendation > max {
            max = r.recommendation;
        }
    }
    let rec = Recommendation {
        recommendation: prenormalized,
        timestamp: now,
    };
    match old {
        Some(i) => h.recommendations[i] = rec,
        None => h.recommendations.push(rec),
    }
    max
}

/// Upstream `calculateScaleUpLimit`.
pub fn calculate_scale_up_limit(current: i32) -> i32 {
    (SCALE_UP_LIMIT_FACTOR * f64::from(current)).max(SCALE_UP_LIMIT_MINIMUM) as i32
}

/// Upstream `convertDesiredReplicasWithRules`: (replicas, reason, message).
pub fn convert_desired_replicas_with_rules(
    current: i32,
    desired: i32,
    min: i32,
    max: i32,
) -> (i32, &'static str, &'static str) {
    let scale_up_limit = calculate_scale_up_limit(current);
    let (maximum, mut reason, mut message) = if max > scale_up_limit {
        (
            scale_up_limit,
            "ScaleUpLimit",
            "the desired replica count is increasing faster than the maximum scale rate",
        )
    } else {
        (
            max,
            "TooManyReplicas",
            "the desired replica count is more than the maximum replica count",
        )
    };
    if desired < min {
        reason = "TooFewReplicas";
        message = "the desired replica count is less than the minimum replica count";
        return (min, reason, message);
    }
    if desired > maximum {
        return (maximum, reason, message);
    }
    (
        desired,
        "DesiredWithinRange",
        "the desired count is within the acceptable range",
    )
}

/// Upstream `stabilizeRecommendationWithBehaviors`: the recommendation brought within the
/// lowest of the scale-up window and the highest of the scale-down window; (replicas, reason,
/// message).
pub fn stabilize_recommendation_with_behaviors(
    h: &mut History,
    current: i32,
    desired: i32,
    up_window_seconds: i32,
    down_window_seconds: i32,
    now: SimTime,
) -> (i32, &'static str, &'static str) {
    let (up_d, down_d) = (secs(up_window_seconds), secs(down_window_seconds));
    let (up_c, down_c) = (cutoff(now, up_d), cutoff(now, down_d));
    let (mut up, mut down) = (desired, desired);
    let mut old = None;
    for (i, r) in h.recommendations.iter().enumerate() {
        if after(r.timestamp, up_c, now, up_d) {
            up = up.min(r.recommendation);
        }
        if after(r.timestamp, down_c, now, down_d) {
            down = down.max(r.recommendation);
        }
        if before(r.timestamp, up_c, now, up_d) && before(r.timestamp, down_c, now, down_d) {
            old = Some(i);
        }
    }
    let mut recommendation = current;
    if recommendation < up {
        recommendation = up;
    }
    if recommendation > down {
        recommendation = down;
    }
    let rec = Recommendation {
        recommendation: desired,
        timestamp: now,
    };
    match old {
        Some(i) => h.recommendations[i] = rec,
        None => h.recommendations.push(rec),
    }
    if desired >= current {
        (
            recommendation,
            "ScaleUpStabilized",
            "recent recommendations were lower than current one, applying the lowest recent recommendation",
        )
    } else {
        (
            recommendation,
            "ScaleDownStabilized",
            "recent recommendations were higher than current one, applying the highest recent recommendation",
        )
    }
}

/// Upstream `getReplicasChangePerPeriod`: the replicas changed by events after the period's
/// start.
pub fn replicas_change_per_period(period_seconds: i32, events: &[ScaleEvent], now: SimTime) -> i32 {
    let d = secs(period_seconds);
    let c = cutoff(now, d);
    events
        .iter()
        .filter(|e| after(e.timestamp, c, now, d))
        .fold(0i32, |a, e| a.wrapping_add(e.replica_change))
}

/// Upstream `calculateScaleUpLimitWithScalingRules`.
pub fn calculate_scale_up_limit_with_scaling_rules(
    current: i32,
    up_events: &[ScaleEvent],
    down_events: &[ScaleEvent],
    rules: &ScalingRules,
    now: SimTime,
) -> i32 {
    let (mut result, select): (i32, fn(i32, i32) -> i32) = match rules.select_policy {
        SelectPolicy::Disabled => return current,
        SelectPolicy::Min => (i32::MAX, i32::min),
        SelectPolicy::Max => (i32::MIN, i32::max),
    };
    for p in &rules.policies {
        let added = replicas_change_per_period(p.period_seconds, up_events, now);
        let deleted = replicas_change_per_period(p.period_seconds, down_events, now);
        let start = current.wrapping_sub(added).wrapping_add(deleted);
        let proposed = match p.type_ {
            ScalingPolicyType::Pods => start.wrapping_add(p.value),
            // Rounded up: a small percentage of a few pods must still add one.
            ScalingPolicyType::Percent => {
                (f64::from(start) * (1.0 + f64::from(p.value) / 100.0)).ceil() as i32
            }
        };
        result = select(result, proposed);
    }
    result
}

/// Upstream `calculateScaleDownLimitWithBehaviors`.
pub fn calculate_scale_down_limit_with_behaviors(
    current: i32,
    up_events: &[ScaleEvent],
    down_events: &[ScaleEvent],
    rules: &ScalingRules,
    now: SimTime,
) -> i32 {
    let (mut result, select): (i32, fn(i32, i32) -> i32) = match rules.select_policy {
        SelectPolicy::Disabled => return current,
        SelectPolicy::Min => (i32::MIN, i32::max),
        SelectPolicy::Max => (i32::MAX, i32::min),
    };
    for p in &rules.policies {
        let added = replicas_change_per_period(p.period_seconds, up_events, now);
        let deleted = replicas_change_per_period(p.period_seconds, down_events, now);
        let start = current.wrapping_sub(added).wrapping_add(deleted);
        let proposed = match p.type_ {
            ScalingPolicyType::Pods => start.wrapping_sub(p.value),
            ScalingPolicyType::Percent => {
                (f64::from(start) * (1.0 - f64::from(p.value) / 100.0)) as i32
            }
        };
        result = select(result, proposed);
    }
    result
}

/// Upstream `convertDesiredReplicasWithBehaviorRate`: the policies' rate limits and the
/// min/max clamps; (replicas, reason, message).
#[allow(clippy::too_many_arguments)] // upstream's NormalizationArg, field by field
pub fn convert_desired_replicas_with_behavior_rate(
    h: &History,
    current: i32,
    desired: i32,
    min: i32,
    max: i32,
    up: &ScalingRules,
    down: &ScalingRules,
    now: SimTime,
) -> (i32, &'static str, &'static str) {
    if desired > current {
        let limit = calculate_scale_up_limit_with_scaling_rules(
            current,
            &h.scale_up_events,
            &h.scale_down_events,
            up,
            now,
        )
        .max(current);
        let (maximum, reason, message) = if max > limit {
            (
                limit,
                "ScaleUpLimit",
                "the desired replica count is increasing faster than the maximum scale rate",
            )
        } else {
            (
                max,
                "TooManyReplicas",
                "the desired replica count is more than the maximum replica count",
            )
        };
        if desired > maximum {
            return (maximum, reason, message);
        }
    } else if desired < current {
        let limit = calculate_scale_down_limit_with_behaviors(
            current,
            &h.scale_up_events,
            &h.scale_down_events,
            down,
            now,
        )
        .min(current);
        let (minimum, reason, message) = if min < limit {
            (
                limit,
                "ScaleDownLimit",
                "the desired replica count is decreasing faster than the maximum scale rate",
            )
        } else {
            (
                min,
                "TooFewReplicas",
                "the desired replica count is less than the minimum replica count",
            )
        };
        if desired < minimum {
            return (minimum, reason, message);
        }
    }
    (
        desired,
        "DesiredWithinRange",
        "the desired count is within the acceptable range",
    )
}

/// Upstream `getLongestPolicyPeriod`.
fn longest_policy_period(rules: &ScalingRules) -> i32 {
    rules
        .policies
        .iter()
        .map(|p| p.period_seconds)
        .max()
        .unwrap_or(0)
        .max(0)
}

/// Upstream `markScaleEventsOutdated`.
fn mark_outdated(events: &mut [ScaleEvent], longest: i32, now: SimTime) {
    let d = secs(longest);
    let c = cutoff(now, d);
    for e in events {
        if before(e.timestamp, c, now, d) {
            e.outdated = true;
        }
    }
}

/// Upstream `storeScaleEvent`: records a rescale, reusing the last outdated entry.
pub fn store_scale_event(
    h: &mut History,
    up: &ScalingRules,
    down: &ScalingRules,
    prev: i32,
    new: i32,
    now: SimTime,
) {
    let (events, rules, change) = if new > prev {
        (&mut h.scale_up_events, up, new - prev)
    } else {
        (&mut h.scale_down_events, down, prev - new)
    };
    mark_outdated(events, longest_policy_period(rules), now);
    let e = ScaleEvent {
        replica_change: change,
        timestamp: now,
        outdated: false,
    };
    match events.iter().rposition(|e| e.outdated) {
        Some(i) => events[i] = e,
        None => events.push(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::autoscaling::ScalingPolicy;

    fn now() -> SimTime {
        SimTime::ZERO + SimDuration::from_hours(2)
    }

    fn ago(s: u64) -> SimTime {
        SimTime::ZERO + (SimDuration::from_hours(2) - SimDuration::from_secs(s))
    }

    /// upstream horizontal_test.go `generateScalingRules`.
    fn rules(
        pods: i32,
        pods_period: i32,
        percent: i32,
        percent_period: i32,
        window: i32,
    ) -> ScalingRules {
        let mut policies = Vec::new();
        if pods != 0 {
            policies.push(ScalingPolicy {
                type_: ScalingPolicyType::Pods,
                value: pods,
                period_seconds: pods_period,
            });
        }
        if percent != 0 {
            policies.push(ScalingPolicy {
                type_: ScalingPolicyType::Percent,
                value: percent,
                period_seconds: percent_period,
            });
        }
        ScalingRules {
            stabilization_window_seconds: Some(window),
            select_policy: SelectPolicy::Max,
            policies,
            tolerance_milli: None,
        }
    }

    fn recs(list: &[(i32, u64)]) -> Vec<Recommendation> {
        list.iter()
            .map(|&(r, s)| Recommendation {
                recommendation: r,
                timestamp: ago(s),
            })
            .collect()
    }

    #[test]
    fn normalize_desired_replicas_with_behavior() {
        // upstream horizontal_test.go TestNormalizeDesiredReplicasWithBehavior:
        // (name, recommendations (value, seconds ago), current, prenormalized, expected,
        //  expected stored values, up window, down window)
        type Row = (
            &'static str,
            Vec<(i32, u64)>,
            i32,
            i32,
            i32,
            Vec<i32>,
            i32,
            i32,
        );
        let rows: Vec<Row> = vec![
            (
                "empty recommendations for scaling down",
                vec![],
                100,
                5,
                5,
                vec![5],
                0,
                0,
            ),
            (
                "simple scale down stabilization",
                vec![(4, 120), (5, 60)],
                100,
                3,
                5,
                vec![4, 5, 3],
                0,
                180,
            ),
            (
                "simple scale up stabilization",
                vec![(4, 120), (5, 60)],
                1,
                7,
                4,
                vec![4, 5, 7],
                300,
                0,
            ),
            (
                "no scale down stabilization",
                vec![(1, 120), (2, 60)],
                100,
                3,
                3,
                vec![1, 2, 3],
                300,
                0,
            ),
            (
                "no scale up stabilization",
                vec![(4, 120), (5, 60)],
                1,
                3,
                3,
                vec![4, 5, 3],
                0,
                300,
            ),
            (
                "no scale down stabilization, reuse recommendation element",
                vec![(10, 600), (9, 540)],
                100,
                3,
                3,
                vec![10, 3],
                0,
                0,
            ),
            (
                "no scale up stabilization, reuse recommendation element",
                vec![(10, 600), (9, 540)],
                1,
                100,
                100,
                vec![10, 100],
                0,
                0,
            ),
            (
                "scale down stabilization, reuse one of obsolete recommendation element",
                vec![(10, 600), (4, 60), (5, 120), (9, 540)],
                100,
                3,
                5,
                vec![10, 4, 5, 3],
                0,
                180,
            ),
            (
                "scale up stabilization, reuse one of obsolete recommendation element",
                vec![(10, 6000), (6, 60), (5, 120), (9, 180)],
                1,
                100,
                5,
                vec![100, 6, 5, 9],
                300,
                0,
            ),
        ];
        for (name, r, current, pre, expected, stored, up, down) in rows {
            let mut h = History {
                recommendations: recs(&r),
                ..History::default()
            };
            let (got, _, _) =
                stabilize_recommendation_with_behaviors(&mut h, current, pre, up, down, now());
            assert_eq!(got, expected, "{name}");
            let values: Vec<i32> = h.recommendations.iter().map(|r| r.recommendation).collect();
            assert_eq!(values, stored, "{name}");
        }
    }

    #[test]
    fn normalize_desired_replicas_legacy() {
        // upstream horizontal_test.go TestNormalizeDesiredReplicas (window 5m):
        // (name, recommendations, prenormalized, expected, log length)
        type Row = (&'static str, Vec<(i32, u64)>, i32, i32, usize);
        let rows: Vec<Row> = vec![
            ("empty log", vec![], 5, 5, 1),
            ("stabilize", vec![(4, 120), (5, 60)], 3, 5, 3),
            ("no stabilize", vec![(1, 120), (2, 60)], 3, 3, 3),
            (
                "no stabilize - old recommendations",
                vec![(10, 600), (9, 540)],
                3,
                3,
                2,
            ),
            (
                "stabilize - old recommendations",
                vec![(10, 600), (4, 60), (5, 120), (9, 540)],
                3,
                5,
                4,
            ),
        ];
        for (name, r, pre, expected, len) in rows {
            let mut h = History {
                recommendations: recs(&r),
                ..History::default()
            };
            let got = stabilize_recommendation(&mut h, pre, SimDuration::from_mins(5), now());
            assert_eq!(got, expected, "{name}");
            assert_eq!(h.recommendations.len(), len, "{name}");
        }
    }

    #[test]
    fn convert_desired_replicas_with_rules_table() {
        // upstream horizontal_test.go TestConvertDesiredReplicasWithRules:
        // (current, desired, min, max, expected, condition)
        let rows = [
            (1, 0, 0, 10, 0, "DesiredWithinRange"),
            (20, 1000, 1, 10, 10, "TooManyReplicas"),
            (
                3,
                1000,
                1,
                2000,
                calculate_scale_up_limit(3),
                "ScaleUpLimit",
            ),
        ];
        for (current, desired, min, max, expected, condition) in rows {
            let (got, reason, _) = convert_desired_replicas_with_rules(current, desired, min, max);
            assert_eq!(
                (got, reason),
                (expected, condition),
                "{current} -> {desired}"
            );
        }
        assert_eq!(calculate_scale_up_limit(3), 6);
        assert_eq!(calculate_scale_up_limit(1), 4);
    }

    #[test]
    fn scaling_with_rules() {
        // upstream horizontal_test.go TestScalingWithRules (rows without scale events):
        // (name, min, max, up rules, down rules, current, prenormalized, expected, condition)
        type Row = (
            &'static str,
            i32,
            i32,
            Option<ScalingRules>,
            Option<ScalingRules>,
            i32,
            i32,
            i32,
            &'static str,
        );
        let rows: Vec<Row> = vec![
            (
                "prenormalized desired replicas within range",
                3,
                8,
                None,
                None,
                5,
                7,
                7,
                "DesiredWithinRange",
            ),
            (
                "prenormalized desired replicas < minReplicas",
                2,
                8,
                None,
                None,
                3,
                1,
                2,
                "TooFewReplicas",
            ),
            (
                "prenormalized desired replicas within range when minReplicas is 0",
                0,
                10,
                None,
                None,
                1,
                0,
                0,
                "DesiredWithinRange",
            ),
            (
                "maxReplicas is the limit because maxReplicas < scaleUpLimit",
                1,
                10,
                None,
                None,
                20,
                1000,
                10,
                "TooManyReplicas",
            ),
            (
                "desired replica count is more than the maximum replica count",
                100,
                150,
                None,
                None,
                100,
                1000,
                150,
                "TooManyReplicas",
            ),
            (
                "scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies",
                1,
                2000,
                Some(rules(0, 0, 1, 60, 0)),
                None,
                3,
                1000,
                4,
                "ScaleUpLimit",
            ),
            (
                "scaleDownLimit is the limit because scaleDownLimit > minReplicas with user defined policies",
                3,
                2000,
                None,
                Some(rules(20, 60, 0, 0, 0)),
                1000,
                3,
                980,
                "ScaleDownLimit",
            ),
            (
                "scaleUp with default behavior",
                1,
                1000,
                None,
                None,
                10,
                50,
                20,
                "ScaleUpLimit",
            ),
            (
                "scaleUp with pods policy larger than percent policy",
                1,
                1000,
                Some(rules(100, 60, 100, 60, 0)),
                None,
                10,
                500,
                110,
                "ScaleUpLimit",
            ),
            (
                "scaleUp with percent policy larger than pods policy",
                1,
                1000,
                Some(rules(2, 60, 100, 60, 0)),
                None,
                10,
                500,
                20,
                "ScaleUpLimit",
            ),
            (
                "scaleUp with spec MaxReplicas limitation with large pod policy",
                1,
                1000,
                Some(rules(100, 60, 0, 0, 0)),
                None,
                10,
                50,
                50,
                "DesiredWithinRange",
            ),
            (
                "scaleUp with spec MaxReplicas limitation with large percent policy",
                1,
                1000,
                Some(rules(10000, 60, 0, 0, 0)),
                None,
                10,
                50,
                50,
                "DesiredWithinRange",
            ),
            (
                "scaleUp with pod policy limitation",
                1,
                1000,
                Some(rules(30, 60, 0, 0, 0)),
                None,
                10,
                50,
                40,
                "ScaleUpLimit",
            ),
            (
                "scaleUp with percent policy limitation",
                1,
                1000,
                Some(rules(0, 0, 200, 60, 0)),
                None,
                10,
                50,
                30,
                "ScaleUpLimit",
            ),
            (
                "scaleDown with percent policy larger than pod policy",
                1,
                1000,
                None,
                Some(rules(20, 60, 1, 60, 300)),
                100,
                2,
                80,
                "ScaleDownLimit",
            ),
            (
                "scaleDown with pod policy larger than percent policy",
                1,
                1000,
                None,
                Some(rules(2, 60, 1, 60, 300)),
                100,
                2,
                98,
                "ScaleDownLimit",
            ),
            (
                "scaleDown with spec MinReplicas=nil limitation with large pod policy",
                1,
                1000,
                None,
                Some(rules(100, 60, 0, 0, 300)),
                10,
                0,
                1,
                "TooFewReplicas",
            ),
            (
                "scaleDown with spec MinReplicas limitation with large percent policy",
                5,
                1000,
                None,
                Some(rules(0, 0, 100, 60, 300)),
                10,
                2,
                5,
                "TooFewReplicas",
            ),
            (
                "scaleDown with pod policy limitation",
                1,
                1000,
                None,
                Some(rules(5, 60, 0, 0, 300)),
                10,
                2,
                5,
                "ScaleDownLimit",
            ),
            (
                "scaleDown with percent policy limitation",
                1,
                1000,
                None,
                Some(rules(0, 0, 50, 60, 300)),
                10,
                5,
                5,
                "DesiredWithinRange",
            ),
        ];
        for (name, min, max, up, down, current, pre, expected, condition) in rows {
            let up = up.unwrap_or_else(ScalingRules::default_scale_up);
            let down = down.unwrap_or_else(ScalingRules::default_scale_down);
            let (got, reason, _) = convert_desired_replicas_with_behavior_rate(
                &History::default(),
                current,
                pre,
                min,
                max,
                &up,
                &down,
                now(),
            );
            assert_eq!((got, reason), (expected, condition), "{name}");
        }
    }

    #[test]
    fn calculate_limits_with_min_select_policy() {
        // upstream horizontal_test.go TestCalculateScaleUpLimitWithScalingRules and
        // TestCalculateScaleDownLimitWithBehaviors
        let mut r = rules(2, 60, 50, 60, 300);
        r.select_policy = SelectPolicy::Min;
        assert_eq!(
            calculate_scale_up_limit_with_scaling_rules(1, &[], &[], &r, now()),
            2
        );
        assert_eq!(
            calculate_scale_down_limit_with_behaviors(5, &[], &[], &r, now()),
            3
        );
    }

    fn events(list: &[(i32, u64, bool)]) -> Vec<ScaleEvent> {
        list.iter()
            .map(|&(c, s, o)| ScaleEvent {
                replica_change: c,
                timestamp: ago(s),
                outdated: o,
            })
            .collect()
    }

    #[test]
    fn store_scale_events() {
        // upstream horizontal_test.go TestStoreScaleEvents (rows with a behavior):
        // (name, prev events, rules, expected change in the last 60s, new events)
        type Row = (
            &'static str,
            Vec<(i32, u64, bool)>,
            ScalingRules,
            i32,
            Vec<(i32, bool)>,
        );
        let rows: Vec<Row> = vec![
            (
                "empty entries with two-policy-behavior",
                vec![],
                rules(10, 60, 100, 60, 0),
                0,
                vec![(5, false)],
            ),
            (
                "one outdated entry to be replaced with behavior",
                vec![(7, 61, false)],
                rules(10, 60, 100, 60, 0),
                0,
                vec![(5, false)],
            ),
            (
                "one actual entry to be not touched with behavior",
                vec![(7, 58, false)],
                rules(10, 60, 100, 60, 0),
                7,
                vec![(7, false), (5, false)],
            ),
            (
                "two entries, one of them to be replaced",
                vec![(7, 61, false), (6, 59, false)],
                rules(10, 60, 0, 0, 0),
                6,
                vec![(5, false), (6, false)],
            ),
            (
                "replace one entry, use policies with different periods",
                vec![
                    (8, 29, false),
                    (6, 59, false),
                    (7, 61, false),
                    (9, 61, false),
                ],
                rules(10, 60, 100, 30, 0),
                14,
                vec![(8, false), (6, false), (7, true), (5, false)],
            ),
            (
                "two entries, both actual",
                vec![(7, 58, false), (6, 59, false)],
                rules(10, 120, 100, 30, 0),
                13,
                vec![(7, false), (6, false), (5, false)],
            ),
        ];
        for (name, prev, r, change, new) in rows {
            for up in [true, false] {
                let mut h = History::default();
                let list = if up {
                    &mut h.scale_up_events
                } else {
                    &mut h.scale_down_events
                };
                *list = events(&prev);
                assert_eq!(
                    replicas_change_per_period(60, list, now()),
                    change,
                    "{name}"
                );
                let new_replicas = if up { 15 } else { 5 };
                store_scale_event(&mut h, &r, &r, 10, new_replicas, now());
                let list = if up {
                    &h.scale_up_events
                } else {
                    &h.scale_down_events
                };
                let got: Vec<(i32, bool)> = list
                    .iter()
                    .map(|e| (e.replica_change, e.outdated))
                    .collect();
                assert_eq!(got, new, "{name} (up: {up})");
            }
        }
    }
}
