//! Virtual time: instants ([`SimTime`]) and spans ([`SimDuration`]), both
//! integer nanoseconds.
//!
//! Floating point never feeds back into time: the `as_secs_f64` helpers are
//! for reporting only. Arithmetic comes in `checked_*` (returns `None` on
//! overflow) and `saturating_*` (clamps to [`SimDuration::MAX`] /
//! [`SimTime::MAX`]) flavours; the operator impls (`+`, `-`) saturate, so they
//! can never panic and never wrap.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::str::FromStr;

const NANOS_PER_MICRO: u64 = 1_000;
const NANOS_PER_MILLI: u64 = 1_000_000;
const NANOS_PER_SEC: u64 = 1_000_000_000;
const NANOS_PER_MIN: u64 = 60 * NANOS_PER_SEC;
const NANOS_PER_HOUR: u64 = 60 * NANOS_PER_MIN;
const NANOS_PER_DAY: u64 = 24 * NANOS_PER_HOUR;

/// An instant of simulated time: nanoseconds since the scenario started.
///
/// Displays as the time elapsed since the start, in the same format as
/// [`SimDuration`] (`"0s"`, `"250ms"`, `"1h30m"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(u64);

impl SimTime {
    /// The start of the scenario.
    pub const ZERO: SimTime = SimTime(0);
    /// The largest representable instant (about 584 years after the start).
    pub const MAX: SimTime = SimTime(u64::MAX);

    pub const fn from_nanos(nanos: u64) -> Self {
        SimTime(nanos)
    }

    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// `secs` seconds after the start.
    pub const fn from_secs(secs: u64) -> Self {
        SimTime(secs.saturating_mul(1_000_000_000))
    }

    /// `None` if the result would not be representable.
    pub fn checked_add(self, d: SimDuration) -> Option<SimTime> {
        self.0.checked_add(d.0).map(SimTime)
    }

    /// Clamps at [`SimTime::MAX`] instead of overflowing.
    pub fn saturating_add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }

    /// Time elapsed from `earlier` to `self`; zero if `earlier` is actually
    /// later, so callers comparing possibly-reordered timestamps cannot panic.
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }

    /// Seconds since the start, for reports and plots only.
    pub fn as_secs_f64(self) -> f64 {
        SimDuration(self.0).as_secs_f64()
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&SimDuration(self.0), f)
    }
}

/// Saturates at [`SimTime::MAX`]; use [`SimTime::checked_add`] to detect it.
impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, rhs: SimDuration) -> SimTime {
        self.saturating_add(rhs)
    }
}

/// Saturates at [`SimTime::MAX`].
impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, rhs: SimDuration) {
        *self = self.saturating_add(rhs);
    }
}

/// Same as [`SimTime::since`]: saturates at zero.
impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    fn sub(self, rhs: SimTime) -> SimDuration {
        self.since(rhs)
    }
}

/// A span of simulated time in nanoseconds.
///
/// [`Display`](fmt::Display) and [`FromStr`] use the compact Go/Kubernetes
/// style (`"1h30m"`, `"250ms"`, `"1.5s"`, `"7d"`) and round-trip exactly:
/// `d.to_string().parse() == Ok(d)` for every `d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimDuration(u64);

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);
    /// About 584 years.
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    // The unit constructors saturate at `MAX` so they stay `const` and
    // panic-free; values coming from users should go through `FromStr`, which
    // reports overflow as an error instead.

    pub const fn from_nanos(nanos: u64) -> Self {
        SimDuration(nanos)
    }
    pub const fn from_micros(micros: u64) -> Self {
        SimDuration(micros.saturating_mul(NANOS_PER_MICRO))
    }
    pub const fn from_millis(millis: u64) -> Self {
        SimDuration(millis.saturating_mul(NANOS_PER_MILLI))
    }
    pub const fn from_secs(secs: u64) -> Self {
        SimDuration(secs.saturating_mul(NANOS_PER_SEC))
    }
    pub const fn from_mins(mins: u64) -> Self {
        SimDuration(mins.saturating_mul(NANOS_PER_MIN))
    }
    pub const fn from_hours(hours: u64) -> Self {
        SimDuration(hours.saturating_mul(NANOS_PER_HOUR))
    }
    pub const fn from_days(days: u64) -> Self {
        SimDuration(days.saturating_mul(NANOS_PER_DAY))
    }

    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Whole milliseconds, truncated.
    pub const fn as_millis(self) -> u64 {
        self.0 / NANOS_PER_MILLI
    }
    /// Whole seconds, truncated.
    pub const fn as_secs(self) -> u64 {
        self.0 / NANOS_PER_SEC
    }
    /// For reports and plots only.
    pub fn as_secs_f64(self) -> f64 {
        // Split so that the sub-second part keeps its precision even for very
        // long durations.
        (self.0 / NANOS_PER_SEC) as f64 + (self.0 % NANOS_PER_SEC) as f64 / NANOS_PER_SEC as f64
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn checked_add(self, rhs: SimDuration) -> Option<SimDuration> {
        self.0.checked_add(rhs.0).map(SimDuration)
    }
    pub fn saturating_add(self, rhs: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(rhs.0))
    }
    /// `None` if `rhs` is longer than `self`.
    pub fn checked_sub(self, rhs: SimDuration) -> Option<SimDuration> {
        self.0.checked_sub(rhs.0).map(SimDuration)
    }
    pub fn saturating_sub(self, rhs: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_sub(rhs.0))
    }
    pub fn checked_mul(self, factor: u64) -> Option<SimDuration> {
        self.0.checked_mul(factor).map(SimDuration)
    }
    pub fn saturating_mul(self, factor: u64) -> SimDuration {
        SimDuration(self.0.saturating_mul(factor))
    }
}

/// Saturates at [`SimDuration::MAX`].
impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, rhs: SimDuration) -> SimDuration {
        self.saturating_add(rhs)
    }
}

/// Saturates at [`SimDuration::MAX`].
impl AddAssign for SimDuration {
    fn add_assign(&mut self, rhs: SimDuration) {
        *self = self.saturating_add(rhs);
    }
}

/// Saturates at zero.
impl Sub for SimDuration {
    type Output = SimDuration;
    fn sub(self, rhs: SimDuration) -> SimDuration {
        self.saturating_sub(rhs)
    }
}

/// Saturates at zero.
impl SubAssign for SimDuration {
    fn sub_assign(&mut self, rhs: SimDuration) {
        *self = self.saturating_sub(rhs);
    }
}

/// Writes `value / unit` with the remainder as a decimal fraction without
/// trailing zeros, e.g. `1_500_000_000` with unit `1e9` -> `1.5`.
fn write_with_fraction(
    f: &mut fmt::Formatter<'_>,
    value: u64,
    unit: u64,
    suffix: &str,
) -> fmt::Result {
    let whole = value / unit;
    let frac = value % unit;
    if frac == 0 {
        return write!(f, "{whole}{suffix}");
    }
    // `unit` is a power of ten, so its digit count minus one is the width the
    // remainder must be zero-padded to.
    let width = unit.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    write!(f, "{whole}.{}{suffix}", digits.trim_end_matches('0'))
}

impl fmt::Display for SimDuration {
    /// Canonical compact form: largest units first, zero components omitted.
    /// Days, hours and minutes are whole components; the rest below one
    /// minute is written as (fractional) seconds if at least one second,
    /// otherwise in the largest of ms/us/ns that fits, so that small values
    /// read naturally (`"250ms"` rather than `"0.25s"`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n == 0 {
            return f.write_str("0s");
        }
        let days = n / NANOS_PER_DAY;
        let hours = n % NANOS_PER_DAY / NANOS_PER_HOUR;
        let mins = n % NANOS_PER_HOUR / NANOS_PER_MIN;
        let rest = n % NANOS_PER_MIN;
        if days > 0 {
            write!(f, "{days}d")?;
        }
        if hours > 0 {
            write!(f, "{hours}h")?;
        }
        if mins > 0 {
            write!(f, "{mins}m")?;
        }
        if rest >= NANOS_PER_SEC {
            write_with_fraction(f, rest, NANOS_PER_SEC, "s")
        } else if rest >= NANOS_PER_MILLI {
            write_with_fraction(f, rest, NANOS_PER_MILLI, "ms")
        } else if rest >= NANOS_PER_MICRO {
            write_with_fraction(f, rest, NANOS_PER_MICRO, "us")
        } else if rest > 0 {
            write!(f, "{rest}ns")
        } else {
            Ok(())
        }
    }
}

const UNIT_HINT: &str = "use ns, us, ms, s, m, h or d";

/// Why a duration string was rejected. Every message quotes the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseDurationError {
    #[error("empty duration (expected something like \"30s\", \"5m\" or \"1h30m\")")]
    Empty,
    #[error("negative duration \"{input}\" is not allowed")]
    Negative { input: String },
    #[error("expected a number at \"{rest}\" in duration \"{input}\"")]
    ExpectedNumber { input: String, rest: String },
    #[error("missing unit after \"{number}\" in duration \"{input}\" ({UNIT_HINT})")]
    MissingUnit { input: String, number: String },
    #[error("unknown unit \"{unit}\" in duration \"{input}\" ({UNIT_HINT})")]
    UnknownUnit { input: String, unit: String },
    #[error("duration \"{input}\" is too large (the maximum is about 213503 days)")]
    Overflow { input: String },
    #[error("duration \"{input}\" is more precise than one nanosecond (in \"{component}\")")]
    SubNanosecond { input: String, component: String },
}

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        // Both the micro sign (U+00B5) and the Greek small mu (U+03BC), since
        // they look identical and people paste either.
        "us" | "\u{b5}s" | "\u{3bc}s" => NANOS_PER_MICRO,
        "ms" => NANOS_PER_MILLI,
        "s" => NANOS_PER_SEC,
        "m" => NANOS_PER_MIN,
        "h" => NANOS_PER_HOUR,
        "d" => NANOS_PER_DAY,
        _ => return None,
    })
}

/// Nanoseconds contributed by `.frac` of `unit`, exactly, or `None` when the
/// fraction does not land on a whole nanosecond.
fn fraction_nanos(frac_digits: &str, unit: u64) -> Option<u64> {
    let digits = frac_digits.trim_end_matches('0');
    if digits.is_empty() {
        return Some(0);
    }
    // Once trailing zeros are gone, an exact result needs 10^k to divide
    // digits * unit; the largest unit (a day) has only 2^16 and 5^11 as
    // factors of ten, so k > 16 can never be exact. The cap keeps the u128
    // product below overflow (10^24 * 8.64e13 < 2^128).
    if digits.len() > 24 {
        return None;
    }
    let numerator: u128 = digits.parse().ok()?;
    let scaled = numerator * u128::from(unit);
    let denominator = 10u128.pow(digits.len() as u32);
    if !scaled.is_multiple_of(denominator) {
        return None;
    }
    // numerator < denominator, so the result is below `unit` and fits.
    u64::try_from(scaled / denominator).ok()
}

impl FromStr for SimDuration {
    type Err = ParseDurationError;

    /// Parses a sequence of `<number><unit>` components, e.g. `"1h30m"`,
    /// `"1.5s"`, `"100us"`, `"1d6h"`; `"0"` alone needs no unit. Components
    /// are summed, so order and repetition do not matter. Fractions are exact:
    /// a fraction that does not come out to a whole number of nanoseconds
    /// (`"0.5ns"`, `"1.0000000001s"`) is rejected rather than silently
    /// truncated, because such a value cannot be represented and rounding it
    /// would break the display/parse round trip.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.is_empty() {
            return Err(ParseDurationError::Empty);
        }
        if input.starts_with('-') {
            return Err(ParseDurationError::Negative {
                input: input.to_owned(),
            });
        }
        if input == "0" {
            return Ok(SimDuration::ZERO);
        }
        let overflow = || ParseDurationError::Overflow {
            input: input.to_owned(),
        };
        let mut total: u64 = 0;
        let mut rest = input;
        while !rest.is_empty() {
            let number_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let (number, after_number) = rest.split_at(number_len);
            let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
            if (whole.is_empty() && frac.is_empty()) || frac.contains('.') {
                return Err(ParseDurationError::ExpectedNumber {
                    input: input.to_owned(),
                    rest: rest.to_owned(),
                });
            }
            let unit_len = after_number
                .find(|c: char| !c.is_alphabetic())
                .unwrap_or(after_number.len());
            let (unit, after_unit) = after_number.split_at(unit_len);
            if unit.is_empty() {
                return Err(ParseDurationError::MissingUnit {
                    input: input.to_owned(),
                    number: number.to_owned(),
                });
            }
            let Some(unit_ns) = unit_nanos(unit) else {
                return Err(ParseDurationError::UnknownUnit {
                    input: input.to_owned(),
                    unit: unit.to_owned(),
                });
            };
            let whole_value: u64 = if whole.is_empty() {
                0
            } else {
                // Only ASCII digits reach here, so the sole failure is overflow.
                whole.parse().map_err(|_| overflow())?
            };
            let frac_ns =
                fraction_nanos(frac, unit_ns).ok_or_else(|| ParseDurationError::SubNanosecond {
                    input: input.to_owned(),
                    component: format!("{number}{unit}"),
                })?;
            total = whole_value
                .checked_mul(unit_ns)
                .and_then(|v| v.checked_add(frac_ns))
                .and_then(|v| v.checked_add(total))
                .ok_or_else(overflow)?;
            rest = after_unit;
        }
        Ok(SimDuration(total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> SimDuration {
        s.parse()
            .unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    fn parse_err(s: &str) -> String {
        match s.parse::<SimDuration>() {
            Ok(d) => panic!("{s:?} should not parse, got {d:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_single_units() {
        assert_eq!(parse("10ns"), SimDuration::from_nanos(10));
        assert_eq!(parse("100us"), SimDuration::from_micros(100));
        assert_eq!(parse("100\u{b5}s"), SimDuration::from_micros(100));
        assert_eq!(parse("100\u{3bc}s"), SimDuration::from_micros(100));
        assert_eq!(parse("250ms"), SimDuration::from_millis(250));
        assert_eq!(parse("90s"), SimDuration::from_secs(90));
        assert_eq!(parse("5m"), SimDuration::from_mins(5));
        assert_eq!(parse("2h"), SimDuration::from_hours(2));
        assert_eq!(parse("7d"), SimDuration::from_days(7));
        assert_eq!(parse("0"), SimDuration::ZERO);
        assert_eq!(parse("0s"), SimDuration::ZERO);
        assert_eq!(parse("0ms"), SimDuration::ZERO);
    }

    #[test]
    fn parses_compound_and_sums_components() {
        assert_eq!(parse("1h30m"), SimDuration::from_mins(90));
        assert_eq!(parse("2m30s"), SimDuration::from_secs(150));
        assert_eq!(parse("1d6h"), SimDuration::from_hours(30));
        assert_eq!(parse("30m1h"), SimDuration::from_mins(90));
        assert_eq!(parse("1s1s"), SimDuration::from_secs(2));
        assert_eq!(parse("1m500ms"), SimDuration::from_millis(60_500));
    }

    #[test]
    fn parses_fractions_exactly() {
        assert_eq!(parse("1.5s").as_nanos(), 1_500_000_000);
        assert_eq!(parse("0.1ms").as_nanos(), 100_000);
        assert_eq!(parse(".5s").as_nanos(), 500_000_000);
        assert_eq!(parse("5.s").as_nanos(), 5_000_000_000);
        assert_eq!(parse("1.5h"), SimDuration::from_mins(90));
        assert_eq!(parse("0.25d"), SimDuration::from_hours(6));
        assert_eq!(parse("1.000000001s").as_nanos(), 1_000_000_001);
        assert_eq!(
            parse("1.500000000000000000000000000000s").as_nanos(),
            1_500_000_000
        );
        assert_eq!(parse("1.5us").as_nanos(), 1_500);
        assert_eq!(parse("0.5m"), SimDuration::from_secs(30));
    }

    #[test]
    fn rejects_bad_input_with_helpful_messages() {
        assert_eq!(
            parse_err(""),
            "empty duration (expected something like \"30s\", \"5m\" or \"1h30m\")"
        );
        assert_eq!(parse_err("-5s"), "negative duration \"-5s\" is not allowed");
        assert_eq!(
            parse_err("5x"),
            "unknown unit \"x\" in duration \"5x\" (use ns, us, ms, s, m, h or d)"
        );
        assert_eq!(
            parse_err("5"),
            "missing unit after \"5\" in duration \"5\" (use ns, us, ms, s, m, h or d)"
        );
        assert_eq!(
            parse_err("1h30"),
            "missing unit after \"30\" in duration \"1h30\" (use ns, us, ms, s, m, h or d)"
        );
        assert_eq!(
            parse_err("h"),
            "expected a number at \"h\" in duration \"h\""
        );
        assert_eq!(
            parse_err("1h 30m"),
            "expected a number at \" 30m\" in duration \"1h 30m\""
        );
        assert_eq!(
            parse_err("+5s"),
            "expected a number at \"+5s\" in duration \"+5s\""
        );
        assert_eq!(
            parse_err("1.2.3s"),
            "expected a number at \"1.2.3s\" in duration \"1.2.3s\""
        );
        assert_eq!(
            parse_err(".s"),
            "expected a number at \".s\" in duration \".s\""
        );
        assert_eq!(
            parse_err("5sec"),
            "unknown unit \"sec\" in duration \"5sec\" (use ns, us, ms, s, m, h or d)"
        );
        assert_eq!(
            parse_err("0.5ns"),
            "duration \"0.5ns\" is more precise than one nanosecond (in \"0.5ns\")"
        );
        assert_eq!(
            parse_err("1s1.0000000001s"),
            "duration \"1s1.0000000001s\" is more precise than one nanosecond (in \"1.0000000001s\")"
        );
        let too_long = format!("0.{}1s", "0".repeat(40));
        assert!(parse_err(&too_long).contains("more precise than one nanosecond"));
    }

    #[test]
    fn rejects_overflow() {
        let max_days = u64::MAX / NANOS_PER_DAY;
        assert_eq!(
            parse(&format!("{max_days}d")),
            SimDuration::from_days(max_days)
        );
        let msg = parse_err(&format!("{}d", max_days + 1));
        assert_eq!(
            msg,
            format!(
                "duration \"{}d\" is too large (the maximum is about 213503 days)",
                max_days + 1
            )
        );
        assert!(parse_err("99999999999999999999999ns").contains("too large"));
        // Each component fits but the sum does not.
        assert!(parse_err(&format!("{max_days}d{max_days}d")).contains("too large"));
        assert_eq!(parse(&format!("{}ns", u64::MAX)), SimDuration::MAX);
        assert!(parse_err("18446744073709551616ns").contains("too large"));
    }

    #[test]
    fn displays_canonical_form() {
        let cases = [
            (SimDuration::ZERO, "0s"),
            (SimDuration::from_nanos(100), "100ns"),
            (SimDuration::from_nanos(1_500), "1.5us"),
            (SimDuration::from_micros(100), "100us"),
            (SimDuration::from_millis(250), "250ms"),
            (SimDuration::from_micros(100_001), "100.001ms"),
            (SimDuration::from_millis(1_500), "1.5s"),
            (SimDuration::from_nanos(1_000_000_001), "1.000000001s"),
            (SimDuration::from_secs(90), "1m30s"),
            (SimDuration::from_secs(150), "2m30s"),
            (SimDuration::from_mins(90), "1h30m"),
            (SimDuration::from_hours(1), "1h"),
            (SimDuration::from_days(7), "7d"),
            (SimDuration::from_hours(30), "1d6h"),
            (SimDuration::from_millis(60_500), "1m500ms"),
            (
                SimDuration::from_days(1) + SimDuration::from_nanos(1),
                "1d1ns",
            ),
            (SimDuration::MAX, "213503d23h34m33.709551615s"),
        ];
        for (d, want) in cases {
            assert_eq!(d.to_string(), want, "display of {d:?}");
            assert_eq!(parse(want), d, "round trip of {want}");
        }
    }

    #[test]
    fn time_displays_as_elapsed() {
        assert_eq!(SimTime::ZERO.to_string(), "0s");
        assert_eq!(
            SimTime::from_nanos(5_400 * NANOS_PER_SEC).to_string(),
            "1h30m"
        );
        assert_eq!(
            (SimTime::ZERO + SimDuration::from_millis(250)).to_string(),
            "250ms"
        );
    }

    #[test]
    fn constructors_saturate() {
        assert_eq!(SimDuration::from_days(u64::MAX), SimDuration::MAX);
        assert_eq!(SimDuration::from_micros(u64::MAX), SimDuration::MAX);
        assert_eq!(SimDuration::from_secs(3).as_nanos(), 3 * NANOS_PER_SEC);
        assert_eq!(SimDuration::from_nanos(1_999_999_999).as_secs(), 1);
        assert_eq!(SimDuration::from_nanos(1_999_999).as_millis(), 1);
    }

    #[test]
    fn time_arithmetic_never_wraps() {
        let near_end = SimTime::from_nanos(u64::MAX - 10);
        assert_eq!(
            near_end.checked_add(SimDuration::from_nanos(10)),
            Some(SimTime::MAX)
        );
        assert_eq!(near_end.checked_add(SimDuration::from_nanos(11)), None);
        assert_eq!(
            near_end.saturating_add(SimDuration::from_secs(1)),
            SimTime::MAX
        );
        assert_eq!(near_end + SimDuration::MAX, SimTime::MAX);
        let mut t = near_end;
        t += SimDuration::from_secs(1);
        assert_eq!(t, SimTime::MAX);

        let a = SimTime::from_nanos(100);
        let b = SimTime::from_nanos(300);
        assert_eq!(b.since(a), SimDuration::from_nanos(200));
        assert_eq!(a.since(b), SimDuration::ZERO);
        assert_eq!(b - a, SimDuration::from_nanos(200));
        assert_eq!(a - b, SimDuration::ZERO);
    }

    #[test]
    fn duration_arithmetic_never_wraps() {
        let one = SimDuration::from_nanos(1);
        assert_eq!(SimDuration::MAX.checked_add(one), None);
        assert_eq!(SimDuration::MAX + one, SimDuration::MAX);
        assert_eq!(SimDuration::ZERO.checked_sub(one), None);
        assert_eq!(SimDuration::ZERO - one, SimDuration::ZERO);
        assert_eq!(
            SimDuration::from_secs(5).checked_sub(SimDuration::from_secs(2)),
            Some(SimDuration::from_secs(3))
        );
        assert_eq!(
            SimDuration::from_secs(2).checked_mul(3),
            Some(SimDuration::from_secs(6))
        );
        assert_eq!(SimDuration::MAX.checked_mul(2), None);
        assert_eq!(
            SimDuration::from_days(200_000).saturating_mul(2),
            SimDuration::MAX
        );
        let mut d = SimDuration::from_secs(1);
        d += SimDuration::MAX;
        assert_eq!(d, SimDuration::MAX);
        d -= SimDuration::MAX;
        assert_eq!(d, SimDuration::ZERO);
    }

    #[test]
    fn secs_f64_keeps_subsecond_precision() {
        assert_eq!(SimDuration::from_millis(1_500).as_secs_f64(), 1.5);
        assert_eq!(SimTime::from_nanos(250_000_000).as_secs_f64(), 0.25);
    }
}
