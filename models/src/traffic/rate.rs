//! The arrival rate λ(t) of an entry service: a base rate (or a replayed series) shaped by a
//! daily sinusoid, a weekly shape, a compound trend and surges. Pure: the same `(spec, t,
//! start)` always gives the same rate.
//!
//! λ(t) = level(t) × daily(t) × weekly(t) × trend(t) × Π surge(t), where level is the base rate
//! or the series; the calendar (time of day, weekday) is UTC, counted from the scenario's
//! wall-clock start.

use sim_core::{SimDuration, SimTime};

const DAY: f64 = 86_400.0;
const WEEK: f64 = 7.0 * DAY;

/// `daily: {amplitude: 0.6, peak: "20:00"}`: `1 + amplitude·cos(2π(time of day − peak)/1 day)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Daily {
    /// From 0 to 1 (the rate never goes negative).
    pub amplitude: f64,
    /// Seconds after midnight UTC.
    pub peak_secs: u32,
}

/// A factor per weekday, Monday first: `weekly: {weekend: 0.7}` is `[1, 1, 1, 1, 1, 0.7, 0.7]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Weekly(pub [f64; 7]);

/// `surges: [{at: 3d, factor: 5, rampUp: 1h, hold: 12h, decay: 2h}]`: the rate multiplies by a
/// factor that rises linearly from 1 to `factor` over `ramp_up` from `at`, holds for `hold`,
/// then falls linearly back to 1 over `decay`.
#[derive(Clone, Debug, PartialEq)]
pub struct Surge {
    pub at: SimDuration,
    pub factor: f64,
    pub ramp_up: SimDuration,
    pub hold: SimDuration,
    pub decay: SimDuration,
}

/// How a replayed series reads between its points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Interpolation {
    #[default]
    Linear,
    /// The last point's rate holds until the next point.
    Step,
}

/// `series: {file: rates.csv}`: `(seconds after the start, requests per second)` points,
/// sorted by time; before the first point the first rate holds, after the last the last.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Series {
    pub points: Vec<(f64, f64)>,
    pub interpolation: Interpolation,
}

/// Everything that shapes one entry service's rate.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RateSpec {
    /// Requests per second (`rate: 200/s`); ignored when `series` is set.
    pub base: f64,
    pub daily: Option<Daily>,
    pub weekly: Option<Weekly>,
    /// Compound growth per second as a natural-log rate: `trend: 5%/week` is
    /// `ln(1.05)/week`, so λ grows by 5% each week.
    pub trend_log_per_sec: f64,
    pub surges: Vec<Surge>,
    pub series: Option<Series>,
    /// No traffic before this many seconds of simulated time (`start: 1m`).
    pub start_secs: f64,
}

impl RateSpec {
    /// A constant rate.
    pub fn constant(per_second: f64) -> RateSpec {
        RateSpec {
            base: per_second,
            ..RateSpec::default()
        }
    }

    /// λ at `t` (requests per second), for a run that starts at `start_unix_secs`. Never
    /// negative; zero for nonsense inputs rather than NaN.
    pub fn rate_at(&self, t: SimTime, start_unix_secs: i64) -> f64 {
        let secs = t.as_secs_f64();
        if secs < self.start_secs {
            return 0.0;
        }
        let level = match &self.series {
            Some(s) => s.at(secs),
            None => self.base,
        };
        let mut r = level;
        // Calendar seconds since the Unix epoch; the epoch was a Thursday, 00:00 UTC.
        let unix = start_unix_secs as f64 + secs;
        if let Some(d) = &self.daily {
            let tod = unix.rem_euclid(DAY);
            let phase = 2.0 * std::f64::consts::PI * (tod - f64::from(d.peak_secs)) / DAY;
            r *= 1.0 + d.amplitude * phase.cos();
        }
        if let Some(w) = &self.weekly {
            let day = (unix / DAY).floor() as i64;
            // 1970-01-01 was a Thursday: Monday-first index 3.
            let weekday = (day + 3).rem_euclid(7) as usize;
            r *= w.0[weekday];
        }
        if self.trend_log_per_sec != 0.0 {
            r *= (self.trend_log_per_sec * secs).exp();
        }
        for s in &self.surges {
            r *= s.factor_at(secs);
        }
        if r.is_finite() && r > 0.0 { r } else { 0.0 }
    }
}

impl Surge {
    fn factor_at(&self, secs: f64) -> f64 {
        let at = self.at.as_secs_f64();
        let up = self.ramp_up.as_secs_f64();
        let hold = self.hold.as_secs_f64();
        let decay = self.decay.as_secs_f64();
        let x = secs - at;
        let extra = self.factor - 1.0;
        if x < 0.0 {
            1.0
        } else if x < up {
            1.0 + extra * x / up
        } else if x < up + hold {
            self.factor
        } else if x < up + hold + decay {
            self.factor - extra * (x - up - hold) / decay
        } else {
            1.0
        }
    }
}

impl Series {
    fn at(&self, secs: f64) -> f64 {
        let p = &self.points;
        let Some(first) = p.first() else {
            return 0.0;
        };
        // The first point at or after `secs`.
        let i = p.partition_point(|&(t, _)| t < secs);
        if i == 0 {
            return first.1;
        }
        let Some(&(t1, r1)) = p.get(i) else {
            return p[p.len() - 1].1;
        };
        let (t0, r0) = p[i - 1];
        if t1 == secs {
            return r1;
        }
        match self.interpolation {
            Interpolation::Step => r0,
            Interpolation::Linear => r0 + (r1 - r0) * (secs - t0) / (t1 - t0),
        }
    }
}

/// Parses a rate series: one `time_s,rate` pair per line, times strictly increasing, rates
/// non-negative; a first line that is not numeric is a header; blank lines and `#` comments
/// are skipped. Errors carry the 1-based line number.
pub fn parse_series_csv(text: &str) -> Result<Vec<(f64, f64)>, (usize, String)> {
    let mut points: Vec<(f64, f64)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split(',').map(str::trim);
        let (Some(a), Some(b), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err((
                line_no,
                format!("expected two columns `time_s,rate`, got \"{line}\""),
            ));
        };
        let (Ok(t), Ok(r)) = (a.parse::<f64>(), b.parse::<f64>()) else {
            if points.is_empty() && n == 0 {
                continue; // a header
            }
            return Err((
                line_no,
                format!("expected numbers `time_s,rate` such as 3600,250.5, got \"{line}\""),
            ));
        };
        if !t.is_finite() || t < 0.0 {
            return Err((line_no, format!("time {a} must be seconds ≥ 0")));
        }
        // One arrival per nanosecond, the clock's resolution, is the fastest rate there is.
        if !(0.0..=1e9).contains(&r) {
            return Err((
                line_no,
                format!("rate {b} must be requests per second from 0 to 1000000000"),
            ));
        }
        if let Some(&(last, _)) = points.last()
            && t <= last
        {
            return Err((
                line_no,
                format!("times must increase: {t} comes after {last} (sort the file by time)"),
            ));
        }
        points.push((t, r));
    }
    if points.is_empty() {
        return Err((1, "the file has no `time_s,rate` lines".to_string()));
    }
    Ok(points)
}

/// `ln(1 + fraction)` per second for a trend of `fraction` per `period`.
pub fn trend_log_rate(fraction: f64, period: SimDuration) -> f64 {
    let secs = period.as_secs_f64();
    if secs <= 0.0 || fraction <= -1.0 {
        return 0.0;
    }
    (1.0 + fraction).ln() / secs
}

/// Exposed for the loader: one week in seconds.
pub const WEEK_SECS: f64 = WEEK;

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-01-01T00:00:00Z, a Monday.
    const MONDAY: i64 = 1_704_067_200;

    fn at(secs: u64) -> SimTime {
        SimTime::from_secs(secs)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn base_rate_is_constant() {
        let r = RateSpec::constant(200.0);
        assert_eq!(r.rate_at(at(0), MONDAY), 200.0);
        assert_eq!(r.rate_at(at(123_456), MONDAY), 200.0);
    }

    #[test]
    fn daily_peaks_at_the_peak_and_bottoms_twelve_hours_later() {
        let r = RateSpec {
            base: 100.0,
            daily: Some(Daily {
                amplitude: 0.6,
                peak_secs: 20 * 3600,
            }),
            ..RateSpec::default()
        };
        assert!(close(r.rate_at(at(20 * 3600), MONDAY), 160.0));
        assert!(close(r.rate_at(at(8 * 3600), MONDAY), 40.0));
        // Six hours off the peak the cosine is zero.
        assert!(close(r.rate_at(at(14 * 3600), MONDAY), 100.0));
        // The next day repeats.
        assert!(close(r.rate_at(at(86_400 + 20 * 3600), MONDAY), 160.0));
        // A start at 18:00 reaches the peak two hours in.
        assert!(close(r.rate_at(at(2 * 3600), MONDAY + 18 * 3600), 160.0));
    }

    #[test]
    fn weekly_shape_follows_the_calendar() {
        let r = RateSpec {
            base: 10.0,
            weekly: Some(Weekly([1.0, 1.0, 1.0, 1.0, 1.0, 0.7, 0.7])),
            ..RateSpec::default()
        };
        assert!(close(r.rate_at(at(0), MONDAY), 10.0));
        assert!(close(r.rate_at(at(4 * 86_400 + 5), MONDAY), 10.0)); // Friday
        assert!(close(r.rate_at(at(5 * 86_400), MONDAY), 7.0)); // Saturday
        assert!(close(r.rate_at(at(6 * 86_400 + 86_399), MONDAY), 7.0)); // Sunday night
        assert!(close(r.rate_at(at(7 * 86_400), MONDAY), 10.0)); // Monday again
        // Starting on a Saturday.
        assert!(close(r.rate_at(at(0), MONDAY + 5 * 86_400), 7.0));
    }

    #[test]
    fn trend_compounds() {
        let r = RateSpec {
            base: 100.0,
            trend_log_per_sec: trend_log_rate(0.05, SimDuration::from_days(7)),
            ..RateSpec::default()
        };
        assert!(close(r.rate_at(at(7 * 86_400), MONDAY), 105.0));
        assert!(close(r.rate_at(at(14 * 86_400), MONDAY), 110.25));
    }

    #[test]
    fn surge_ramps_holds_and_decays() {
        let h = 3600;
        let r = RateSpec {
            base: 10.0,
            surges: vec![Surge {
                at: SimDuration::from_days(3),
                factor: 5.0,
                ramp_up: SimDuration::from_hours(1),
                hold: SimDuration::from_hours(12),
                decay: SimDuration::from_hours(2),
            }],
            ..RateSpec::default()
        };
        let d3 = 3 * 86_400;
        assert!(close(r.rate_at(at(d3 - 1), MONDAY), 10.0));
        assert!(close(r.rate_at(at(d3 + h / 2), MONDAY), 30.0));
        assert!(close(r.rate_at(at(d3 + h), MONDAY), 50.0));
        assert!(close(r.rate_at(at(d3 + 13 * h - 1), MONDAY), 50.0));
        assert!(close(r.rate_at(at(d3 + 14 * h), MONDAY), 30.0));
        assert!(close(r.rate_at(at(d3 + 15 * h), MONDAY), 10.0));
    }

    #[test]
    fn series_interpolates_linearly_or_in_steps() {
        let mut r = RateSpec {
            series: Some(Series {
                points: vec![(0.0, 10.0), (100.0, 20.0), (200.0, 0.0)],
                interpolation: Interpolation::Linear,
            }),
            ..RateSpec::default()
        };
        assert!(close(r.rate_at(at(50), MONDAY), 15.0));
        assert!(close(r.rate_at(at(100), MONDAY), 20.0));
        assert!(close(r.rate_at(at(150), MONDAY), 10.0));
        assert_eq!(r.rate_at(at(500), MONDAY), 0.0);
        if let Some(s) = &mut r.series {
            s.interpolation = Interpolation::Step;
        }
        assert!(close(r.rate_at(at(50), MONDAY), 10.0));
        assert!(close(r.rate_at(at(150), MONDAY), 20.0));
    }

    #[test]
    fn series_csv_parses_and_reports_bad_lines() {
        let ok = parse_series_csv("time_s,rate\n0,10\n\n# comment\n60, 12.5\n").expect("valid");
        assert_eq!(ok, vec![(0.0, 10.0), (60.0, 12.5)]);
        assert_eq!(parse_series_csv("0,10\n5,x\n").map_err(|e| e.0), Err(2));
        assert_eq!(parse_series_csv("0,10\n0,11\n").map_err(|e| e.0), Err(2));
        assert_eq!(parse_series_csv("0,-1\n").map_err(|e| e.0), Err(1));
        assert_eq!(parse_series_csv("0,1,2\n").map_err(|e| e.0), Err(1));
        assert!(parse_series_csv("time_s,rate\n").is_err());
    }
}
