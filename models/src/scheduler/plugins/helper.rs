//! Upstream `pkg/scheduler/framework/plugins/helper`: score normalization and the broken-linear
//! "shape" function, plus the apimachinery name/value syntax checks the plugins rely on.

pub use crate::api::validation::{
    is_dns1123_subdomain, label_value_error, matches_qualified_name_part, qualified_name_error,
};
use crate::scheduler::framework::NodeScore;

/// Upstream `helper.DefaultNormalizeScore` (normalize_score.go): maps `[0, max(scores)]` onto
/// `[0, max_priority]` with integer division, reversed (`max_priority - score`) when asked.
///
/// ```go
/// if maxCount == 0 { if reverse { for i := range scores { scores[i].Score = maxPriority } }; return nil }
/// score = maxPriority * score / maxCount
/// if reverse { score = maxPriority - score }
/// ```
pub fn default_normalize_score(max_priority: i64, reverse: bool, scores: &mut [NodeScore]) {
    let max_count = scores.iter().map(|s| s.score).fold(0, i64::max);
    if max_count == 0 {
        if reverse {
            for s in scores {
                s.score = max_priority;
            }
        }
        return;
    }
    for s in scores {
        // Go's int64 division truncates toward zero, as Rust's does.
        let mut score = max_priority.saturating_mul(s.score) / max_count;
        if reverse {
            score = max_priority - score;
        }
        s.score = score;
    }
}

/// Upstream `helper.FunctionShapePoint`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FunctionShapePoint {
    pub utilization: i64,
    pub score: i64,
}

/// Upstream `helper.BuildBrokenLinearFunction` (shape_score.go), evaluated at `p`:
/// `shape[0].score` below the first point, `shape[n-1].score` above the last, and integer
/// linear interpolation in between.
///
/// An empty shape or two points with the same utilization cannot come out of validation
/// (`validateFunctionShape`); they give 0 and the left point's score instead of panicking.
pub fn broken_linear(shape: &[FunctionShapePoint], p: i64) -> i64 {
    for (i, point) in shape.iter().enumerate() {
        if p <= point.utilization {
            if i == 0 {
                return point.score;
            }
            let prev = shape[i - 1];
            let rise = (point.score - prev.score).saturating_mul(p - prev.utilization);
            let run = point.utilization - prev.utilization;
            return prev.score + rise.checked_div(run).unwrap_or(0);
        }
    }
    shape.last().map_or(0, |last| last.score)
}

/// Puts `entry` into a bounded cache of kept per-shape state and returns its slot: a new slot
/// while there is room, else the least recently used slot not in `pinned` (still in use by
/// this cycle), else a new slot after all.
pub fn insert_lru<T>(
    entries: &mut Vec<T>,
    capacity: usize,
    pinned: &[usize],
    last_used: impl Fn(&T) -> u64,
    entry: T,
) -> usize {
    if entries.len() >= capacity
        && let Some(victim) = entries
            .iter()
            .enumerate()
            .filter(|(i, _)| !pinned.contains(i))
            .min_by_key(|(_, e)| last_used(e))
            .map(|(i, _)| i)
    {
        entries[victim] = entry;
        return victim;
    }
    entries.push(entry);
    entries.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::NodeId;

    fn scores(raw: &[i64]) -> Vec<NodeScore> {
        raw.iter()
            .enumerate()
            .map(|(i, &score)| NodeScore {
                node: NodeId(i as u32),
                score,
            })
            .collect()
    }

    fn values(s: &[NodeScore]) -> Vec<i64> {
        s.iter().map(|s| s.score).collect()
    }

    // helper/normalize_score_test.go TestDefaultNormalizeScore: the whole upstream table.
    #[test]
    fn default_normalize_score_matches_upstream_table() {
        let cases: &[(bool, &[i64], &[i64])] = &[
            (false, &[1, 2, 3, 4], &[25, 50, 75, 100]),
            (true, &[1, 2, 3, 4], &[75, 50, 25, 0]),
            (false, &[1000, 10, 20, 30], &[100, 1, 2, 3]),
            (true, &[1000, 10, 20, 30], &[0, 99, 98, 97]),
            (false, &[1, 1, 1, 1], &[100, 100, 100, 100]),
            (false, &[1000, 1, 1, 1], &[100, 0, 0, 0]),
            (true, &[0, 1, 1, 1], &[100, 0, 0, 0]),
        ];
        for (reverse, input, want) in cases {
            let mut s = scores(input);
            default_normalize_score(100, *reverse, &mut s);
            assert_eq!(values(&s), *want, "reverse={reverse} input={input:?}");
        }
    }

    #[test]
    fn all_zero_scores_reverse_to_the_maximum() {
        let mut s = scores(&[0, 0]);
        default_normalize_score(100, true, &mut s);
        assert_eq!(values(&s), [100, 100]);
        let mut s = scores(&[0, 0]);
        default_normalize_score(100, false, &mut s);
        assert_eq!(values(&s), [0, 0]);
    }

    // noderesources/requested_to_capacity_ratio_test.go TestBrokenLinearFunction: all three
    // shapes and every assertion of the upstream table.
    #[test]
    fn broken_linear_matches_upstream_table() {
        let pt = |utilization, score| FunctionShapePoint { utilization, score };
        type Case = (Vec<FunctionShapePoint>, Vec<(i64, i64)>);
        let cases: Vec<Case> = vec![
            (
                vec![pt(10, 1), pt(90, 9)],
                vec![
                    (-10, 1),
                    (0, 1),
                    (9, 1),
                    (10, 1),
                    (15, 1),
                    (19, 1),
                    (20, 2),
                    (89, 8),
                    (90, 9),
                    (99, 9),
                    (100, 9),
                    (110, 9),
                ],
            ),
            (
                vec![pt(0, 2), pt(40, 10), pt(100, 0)],
                vec![
                    (-10, 2),
                    (0, 2),
                    (20, 6),
                    (30, 8),
                    (40, 10),
                    (70, 5),
                    (100, 0),
                    (110, 0),
                ],
            ),
            (
                vec![pt(0, 2), pt(40, 2), pt(100, 2)],
                vec![
                    (-10, 2),
                    (0, 2),
                    (20, 2),
                    (30, 2),
                    (40, 2),
                    (70, 2),
                    (100, 2),
                    (110, 2),
                ],
            ),
        ];
        for (shape, assertions) in cases {
            for (p, want) in assertions {
                assert_eq!(broken_linear(&shape, p), want, "shape={shape:?} p={p}");
            }
        }
    }

    #[test]
    fn degenerate_shapes_do_not_panic() {
        assert_eq!(broken_linear(&[], 50), 0);
        let flat = [
            FunctionShapePoint {
                utilization: 10,
                score: 3,
            },
            FunctionShapePoint {
                utilization: 10,
                score: 7,
            },
        ];
        assert_eq!(broken_linear(&flat, 20), 7);
    }

    #[test]
    fn qualified_names_and_label_values() {
        assert_eq!(qualified_name_error("nvidia.com/gpu"), None);
        assert_eq!(qualified_name_error("kernel-version"), None);
        assert!(qualified_name_error("invalid key").is_some());
        assert!(qualified_name_error("/name").is_some());
        assert!(qualified_name_error("a/b/c").is_some());
        assert!(qualified_name_error("UPPER.example/x").is_some());
        assert_eq!(label_value_error(""), None);
        assert_eq!(label_value_error("NVIDIA-GRID-K1"), None);
        assert!(label_value_error("invalid value: ___@#$%^").is_some());
        assert!(label_value_error(&"a".repeat(64)).is_some());
    }
}
