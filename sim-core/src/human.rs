//! Durations for people to read: the limited-precision forms `kubectl` prints (ages, "LAST
//! SEEN", `(x11 over 5m)`), and a timestamp rounded to what a reader can use.
//!
//! [`SimDuration`]'s own `Display` is exact (it round-trips through `FromStr`), which is right
//! for scenario files and wrong for a table: `8m28.764307112s` says more than anyone reads.

use crate::SimDuration;

const SEC: u64 = 1_000_000_000;
const MIN: u64 = 60 * SEC;
const HOUR: u64 = 60 * MIN;
const DAY: u64 = 24 * HOUR;
const YEAR: u64 = 365 * DAY;

impl SimDuration {
    /// Upstream `duration.HumanDuration` (apimachinery `pkg/util/duration`): about two or three
    /// significant figures, what `kubectl get` prints in AGE and LAST SEEN columns.
    pub fn human(self) -> String {
        let d = self.as_nanos();
        let seconds = d / SEC;
        if seconds < 120 {
            return format!("{seconds}s");
        }
        let minutes = d / MIN;
        if minutes < 10 {
            return with_rest(minutes, "m", seconds % 60, "s");
        }
        if minutes < 180 {
            return format!("{minutes}m");
        }
        let hours = d / HOUR;
        if hours < 8 {
            return with_rest(hours, "h", minutes % 60, "m");
        }
        if hours < 48 {
            return format!("{hours}h");
        }
        let days = hours / 24;
        if hours < 24 * 8 {
            return with_rest(days, "d", hours % 24, "h");
        }
        if hours < 24 * 365 * 2 {
            return format!("{days}d");
        }
        let years = days / 365;
        if hours < 24 * 365 * 8 {
            return with_rest(years, "y", days % 365, "d");
        }
        format!("{years}y")
    }

    /// Upstream `duration.ShortHumanDuration`: one unit, truncated (`59m`, `1h`, `364d`).
    pub fn short_human(self) -> String {
        let d = self.as_nanos();
        if d < MIN {
            format!("{}s", d / SEC)
        } else if d < HOUR {
            format!("{}m", d / MIN)
        } else if d < DAY {
            format!("{}h", d / HOUR)
        } else if d < YEAR {
            format!("{}d", d / DAY)
        } else {
            format!("{}y", d / YEAR)
        }
    }

    /// Truncated to a multiple of `unit` (a zero unit leaves the duration as it is), so that
    /// the exact `Display` prints no more digits than the unit: a timestamp to the
    /// millisecond reads `8m28.764s`.
    pub fn truncated_to(self, unit: SimDuration) -> SimDuration {
        match unit.as_nanos() {
            0 => self,
            u => SimDuration::from_nanos(self.as_nanos() / u * u),
        }
    }
}

fn with_rest(whole: u64, unit: &str, rest: u64, rest_unit: &str) -> String {
    if rest == 0 {
        format!("{whole}{unit}")
    } else {
        format!("{whole}{unit}{rest}{rest_unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn d(nanos: u64) -> SimDuration {
        SimDuration::from_nanos(nanos)
    }

    /// Upstream apimachinery `pkg/util/duration/duration_test.go`, `TestHumanDuration` and
    /// `TestHumanDurationBoundaries` (the negative cases do not apply: a `SimDuration` is
    /// never negative).
    #[test]
    fn human_duration_matches_upstream_tables() {
        let cases: &[(u64, &str)] = &[
            (SEC, "1s"),
            (70 * SEC, "70s"),
            (190 * SEC, "3m10s"),
            (70 * MIN, "70m"),
            (47 * HOUR, "47h"),
            (49 * HOUR, "2d1h"),
            ((8 * 24 + 2) * HOUR, "8d"),
            (367 * 24 * HOUR, "367d"),
            ((365 * 2 * 24 + 25) * HOUR, "2y1d"),
            ((365 * 8 * 24 + 2) * HOUR, "8y"),
            // Boundaries.
            (0, "0s"),
            (SEC - MS, "0s"),
            (2 * MIN - MS, "119s"),
            (2 * MIN, "2m"),
            (2 * MIN + SEC, "2m1s"),
            (10 * MIN - MS, "9m59s"),
            (10 * MIN, "10m"),
            (10 * MIN + SEC, "10m"),
            (3 * HOUR - MS, "179m"),
            (3 * HOUR, "3h"),
            (3 * HOUR + MIN, "3h1m"),
            (8 * HOUR - MS, "7h59m"),
            (8 * HOUR, "8h"),
            (8 * HOUR + 59 * MIN, "8h"),
            (2 * DAY - MS, "47h"),
            (2 * DAY, "2d"),
            (2 * DAY + HOUR, "2d1h"),
            (8 * DAY - MS, "7d23h"),
            (8 * DAY, "8d"),
            (8 * DAY + 23 * HOUR, "8d"),
            (2 * YEAR - MS, "729d"),
            (2 * YEAR, "2y"),
            (2 * YEAR + 23 * HOUR, "2y"),
            (2 * YEAR + 23 * HOUR + 59 * MIN, "2y"),
            (2 * YEAR + DAY - MS, "2y"),
            (2 * YEAR + DAY, "2y1d"),
            (3 * YEAR, "3y"),
            (7 * YEAR, "7y"),
            (8 * YEAR - MS, "7y364d"),
            (8 * YEAR, "8y"),
            (8 * YEAR + 364 * DAY, "8y"),
            (9 * YEAR, "9y"),
        ];
        for &(nanos, want) in cases {
            assert_eq!(d(nanos).human(), want, "HumanDuration({nanos}ns)");
        }
    }

    /// Upstream `TestShortHumanDurationBoundaries` (non-negative cases).
    #[test]
    fn short_human_duration_matches_upstream_table() {
        let cases: &[(u64, &str)] = &[
            (0, "0s"),
            (SEC - MS, "0s"),
            (SEC, "1s"),
            (2 * SEC - MS, "1s"),
            (MIN - MS, "59s"),
            (MIN, "1m"),
            (2 * MIN - MS, "1m"),
            (HOUR - MS, "59m"),
            (HOUR, "1h"),
            (2 * HOUR - MS, "1h"),
            (DAY - MS, "23h"),
            (DAY, "1d"),
            (2 * DAY - MS, "1d"),
            (YEAR - MS, "364d"),
            (YEAR, "1y"),
            (2 * YEAR - MS, "1y"),
            (2 * YEAR, "2y"),
        ];
        for &(nanos, want) in cases {
            assert_eq!(
                d(nanos).short_human(),
                want,
                "ShortHumanDuration({nanos}ns)"
            );
        }
    }

    #[test]
    fn truncation_keeps_only_the_digits_asked_for() {
        let t = d(8 * MIN + 28 * SEC + 764_307_112);
        assert_eq!(t.to_string(), "8m28.764307112s");
        assert_eq!(
            t.truncated_to(SimDuration::from_millis(1)).to_string(),
            "8m28.764s"
        );
        assert_eq!(
            t.truncated_to(SimDuration::from_secs(1)).to_string(),
            "8m28s"
        );
        assert_eq!(t.truncated_to(SimDuration::ZERO), t);
        assert_eq!(
            d(149 * DAY + 7 * HOUR + 845_787_562)
                .truncated_to(SimDuration::from_millis(1))
                .to_string(),
            "149d7h845ms"
        );
    }
}
