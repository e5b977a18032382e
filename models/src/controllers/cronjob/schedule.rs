//! The pure schedule arithmetic of the CronJob controller: the cron parser and `Next` of
//! `github.com/robfig/cron/v3` (v3.0.1, the version Kubernetes vendors), and upstream
//! `pkg/controller/cronjob/utils.go` (`mostRecentScheduleTime`, `nextScheduleTime`,
//! `nextScheduleTimeDuration`, `getTimeHashInMinutes`), `cronjob_controllerv2.go` (`getJobName`,
//! `nextScheduleDelta`) and the schedule and time zone checks of
//! `pkg/apis/batch/validation/validation.go`.
//!
//! Conventions shared by every function here:
//! - Wall-clock instants are `DateTime<Utc>`; [`wall_time`] and [`sim_time`] convert them to and
//!   from [`SimTime`] given the scenario's start as unix seconds.
//! - Where upstream uses Go's zero `time.Time` (robfig returns it when no activation exists
//!   within five years), the arithmetic carries the same value (`0001-01-01T00:00:00Z`) so that
//!   the comparisons and differences upstream makes on it come out the same; the public results
//!   say `None` instead.
//! - Local calendar arithmetic follows Go's `time` package: `time.Date` resolves a local time
//!   that does not exist or exists twice exactly as Go does, `AddDate` normalises through
//!   `time.Date`, `Add` is absolute. Time zone data is the IANA database compiled in by
//!   `chrono-tz` (so every machine computes the same instants); it lists transitions up to 2100,
//!   after which each zone stays on its last offset, where Go would extend the rules.
//! - A CronJob without `spec.timeZone` is scheduled in the controller manager's local zone,
//!   which here is UTC.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Offset, TimeDelta, TimeZone as _, Timelike, Utc};
use sim_core::{SimDuration, SimTime};

// ---------------------------------------------------------------------------------------------
// Wall clock
// ---------------------------------------------------------------------------------------------

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// The wall-clock instant of simulated time `t`, for a scenario that starts at
/// `epoch_unix_secs`. Clamps at the ends of the representable calendar instead of overflowing.
pub fn wall_time(epoch_unix_secs: i64, t: SimTime) -> DateTime<Utc> {
    let nanos = t.as_nanos();
    let secs = i64::try_from(nanos / NANOS_PER_SEC as u64).unwrap_or(i64::MAX);
    let subsec = u32::try_from(nanos % NANOS_PER_SEC as u64).expect("below one second");
    epoch_unix_secs
        .checked_add(secs)
        .and_then(|s| DateTime::from_timestamp(s, subsec))
        .unwrap_or(if epoch_unix_secs < 0 {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
}

/// The simulated time of wall-clock instant `wall`, for a scenario that starts at
/// `epoch_unix_secs`: `None` before the start or beyond [`SimTime::MAX`].
pub fn sim_time(epoch_unix_secs: i64, wall: DateTime<Utc>) -> Option<SimTime> {
    let since_start = i128::from(wall.timestamp()) - i128::from(epoch_unix_secs);
    let nanos = since_start * i128::from(NANOS_PER_SEC) + i128::from(wall.timestamp_subsec_nanos());
    u64::try_from(nanos).ok().map(SimTime::from_nanos)
}

/// Go's zero `time.Time`, January 1 of year 1, 00:00:00 UTC.
fn go_zero_time() -> DateTime<Utc> {
    DateTime::from_timestamp(-62_135_596_800, 0).expect("year 1 is representable")
}

/// Go `t.Sub(u)`: nanoseconds, saturating at the ends of `time.Duration`.
fn go_sub(t: DateTime<Utc>, u: DateTime<Utc>) -> i64 {
    (t - u)
        .num_nanoseconds()
        .unwrap_or(if t > u { i64::MAX } else { i64::MIN })
}

/// Go `t.Add(d)` for `d` nanoseconds (clamping where Go's own representation would wrap, which
/// no input reachable here does).
fn go_add(t: DateTime<Utc>, nanos: i64) -> DateTime<Utc> {
    t.checked_add_signed(TimeDelta::nanoseconds(nanos))
        .unwrap_or(if nanos > 0 {
            DateTime::<Utc>::MAX_UTC
        } else {
            DateTime::<Utc>::MIN_UTC
        })
}

/// Go `time.Duration.Seconds()` truncated by `int64(...)`, as upstream converts durations to
/// whole seconds (through a float, whose rounding this keeps).
fn go_duration_whole_seconds(d: i64) -> i64 {
    let secs = d / NANOS_PER_SEC;
    let nanos = d % NANOS_PER_SEC;
    (secs as f64 + nanos as f64 / 1e9) as i64
}

/// Go `time.Duration.Round(time.Second)`: halves away from zero, saturating.
fn go_round_to_second(d: i64) -> i64 {
    let m = NANOS_PER_SEC;
    let less_than_half = |r: i64| (r as u64).wrapping_add(r as u64) < m as u64;
    let r = d % m;
    if d < 0 {
        let r = -r;
        if less_than_half(r) {
            return d + r;
        }
        match (d - m).checked_add(r) {
            Some(d1) if d1 < d => d1,
            _ => i64::MIN,
        }
    } else {
        if less_than_half(r) {
            return d - r;
        }
        match d.checked_add(m - r) {
            Some(d1) if d1 > d => d1,
            _ => i64::MAX,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Time zones
// ---------------------------------------------------------------------------------------------

/// A `*time.Location`: UTC, or a zone of the IANA database.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeZone {
    #[default]
    Utc,
    Iana(chrono_tz::Tz),
}

impl TimeZone {
    /// Go `time.LoadLocation`, with its error texts. `""` and `"UTC"` are UTC; `"Local"` is the
    /// controller manager's zone, UTC here.
    pub fn load_location(name: &str) -> Result<TimeZone, String> {
        if name.is_empty() || name == "UTC" || name == "Local" {
            return Ok(TimeZone::Utc);
        }
        if name.contains("..") || name.starts_with('/') || name.starts_with('\\') {
            return Err("time: invalid location name".to_string());
        }
        name.parse::<chrono_tz::Tz>()
            .map(TimeZone::Iana)
            .map_err(|_| format!("unknown time zone {name}"))
    }

    /// The offset east of UTC, in seconds, in force at unix second `unix`.
    fn offset_at(self, unix: i64) -> Option<i64> {
        match self {
            TimeZone::Utc => Some(0),
            TimeZone::Iana(tz) => {
                let utc = DateTime::from_timestamp(unix, 0)?.naive_utc();
                Some(i64::from(
                    tz.offset_from_utc_datetime(&utc).fix().local_minus_utc(),
                ))
            }
        }
    }

    /// The local calendar fields of unix second `unix` (Go `t.In(loc)` then `Year()`, ...).
    fn civil(self, unix: i64) -> Option<Civil> {
        let local = DateTime::from_timestamp(unix.checked_add(self.offset_at(unix)?)?, 0)?;
        Some(Civil {
            year: i64::from(local.year()),
            month: i64::from(local.month()),
            day: i64::from(local.day()),
            hour: i64::from(local.hour()),
            minute: i64::from(local.minute()),
            second: i64::from(local.second()),
            weekday: i64::from(local.weekday().num_days_from_sunday()),
        })
    }

    /// Go `time.Date(year, month, day, hour, min, sec, 0, loc)` as a unix second: fields out of
    /// range are normalised, and a local time that a transition skips or repeats is resolved as
    /// Go does (look up the offset at the local time read as UTC; if the instant it gives lies
    /// outside that offset's span, take the offset in force at that instant instead).
    fn date(self, year: i64, month: i64, day: i64, hour: i64, min: i64, sec: i64) -> Option<i64> {
        let month0 = month.checked_sub(1)?;
        let year = year.checked_add(month0.div_euclid(12))?;
        let month = u32::try_from(month0.rem_euclid(12) + 1).ok()?;
        let first = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, 1)?;
        // Days from 0001-01-01 to 1970-01-01.
        let days = i64::from(first.num_days_from_ce()) - 719_163 + day.checked_sub(1)?;
        let local = days
            .checked_mul(86_400)?
            .checked_add(hour.checked_mul(3600)?)?
            .checked_add(min.checked_mul(60)?)?
            .checked_add(sec)?;
        let guess = self.offset_at(local)?;
        if guess == 0 {
            return Some(local);
        }
        local.checked_sub(self.offset_at(local.checked_sub(guess)?)?)
    }
}

/// Local calendar fields, as Go's accessors give them.
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    /// 0 = Sunday.
    weekday: i64,
}

// ---------------------------------------------------------------------------------------------
// Parsing (robfig/cron v3 `ParseStandard`)
// ---------------------------------------------------------------------------------------------

/// robfig's `starBit`: set when a field was written `*` or `?` (with no step above 1).
const STAR_BIT: u64 = 1 << 63;

/// The five fields of a standard cron spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CronField {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

impl CronField {
    fn bounds(self) -> Bounds {
        match self {
            CronField::Minute => Bounds {
                min: 0,
                max: 59,
                names: &[],
            },
            CronField::Hour => Bounds {
                min: 0,
                max: 23,
                names: &[],
            },
            CronField::DayOfMonth => Bounds {
                min: 1,
                max: 31,
                names: &[],
            },
            CronField::Month => Bounds {
                min: 1,
                max: 12,
                names: &[
                    ("jan", 1),
                    ("feb", 2),
                    ("mar", 3),
                    ("apr", 4),
                    ("may", 5),
                    ("jun", 6),
                    ("jul", 7),
                    ("aug", 8),
                    ("sep", 9),
                    ("oct", 10),
                    ("nov", 11),
                    ("dec", 12),
                ],
            },
            CronField::DayOfWeek => Bounds {
                min: 0,
                max: 6,
                names: &[
                    ("sun", 0),
                    ("mon", 1),
                    ("tue", 2),
                    ("wed", 3),
                    ("thu", 4),
                    ("fri", 5),
                    ("sat", 6),
                ],
            },
        }
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::DayOfMonth => "day of month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day of week",
        })
    }
}

/// robfig's `bounds`: a field's range and its names (matched lower-cased).
struct Bounds {
    min: u64,
    max: u64,
    names: &'static [(&'static str, u64)],
}

/// Why a schedule does not parse. Displays as robfig's own message (which is what Kubernetes
/// shows, e.g. in `spec.schedule: Invalid value: ...`); `field` says which field it is about
/// when the error concerns one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleParseError {
    pub field: Option<CronField>,
    pub message: String,
}

impl ScheduleParseError {
    fn whole(message: String) -> Self {
        ScheduleParseError {
            field: None,
            message,
        }
    }
}

impl fmt::Display for ScheduleParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScheduleParseError {}

/// robfig `SpecSchedule`: one bit per allowed value (plus [`STAR_BIT`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SpecBits {
    second: u64,
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ScheduleKind {
    Spec(SpecBits),
    /// robfig `ConstantDelaySchedule` (`@every <duration>`): whole seconds, at least one.
    Every {
        delay_nanos: i64,
    },
}

/// A parsed cron schedule (robfig `cron.Schedule`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CronSchedule {
    kind: ScheduleKind,
    /// From a `TZ=`/`CRON_TZ=` prefix; `None` is robfig's `time.Local`: the zone of the time
    /// given to [`CronSchedule::next_after`].
    location: Option<TimeZone>,
}

impl CronSchedule {
    /// robfig `cron.ParseStandard`: five fields (minute, hour, day of month, month, day of
    /// week), or a descriptor (`@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
    /// `@midnight`, `@hourly`, `@every <Go duration>`), optionally after a `TZ=<zone> ` or
    /// `CRON_TZ=<zone> ` prefix. Error messages are robfig's.
    pub fn parse_standard(spec: &str) -> Result<CronSchedule, ScheduleParseError> {
        if spec.is_empty() {
            return Err(ScheduleParseError::whole("empty spec string".to_string()));
        }
        let mut spec = spec;
        let mut location = None;
        if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
            let eq = spec.find('=').expect("the prefix has one");
            // Upstream slices up to the first space and panics without one.
            let Some(space) = spec.find(' ') else {
                return Err(ScheduleParseError::whole(format!(
                    "provided bad location {}: no space after it",
                    &spec[eq + 1..]
                )));
            };
            let name = &spec[eq + 1..space];
            let zone = TimeZone::load_location(name).map_err(|err| {
                ScheduleParseError::whole(format!("provided bad location {name}: {err}"))
            })?;
            location = Some(zone);
            spec = spec[space..].trim();
        }
        if spec.starts_with('@') {
            let kind = parse_descriptor(spec)?;
            return Ok(CronSchedule { kind, location });
        }
        let fields: Vec<&str> = spec.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(ScheduleParseError::whole(format!(
                "expected exactly 5 fields, found {}: [{}]",
                fields.len(),
                fields.join(" ")
            )));
        }
        let field = |i: usize, f: CronField| {
            get_field(fields[i], &f.bounds()).map_err(|message| ScheduleParseError {
                field: Some(f),
                message,
            })
        };
        let bits = SpecBits {
            second: 1,
            minute: field(0, CronField::Minute)?,
            hour: field(1, CronField::Hour)?,
            dom: field(2, CronField::DayOfMonth)?,
            month: field(3, CronField::Month)?,
            dow: field(4, CronField::DayOfWeek)?,
        };
        Ok(CronSchedule {
            kind: ScheduleKind::Spec(bits),
            location,
        })
    }

    /// robfig `Schedule.Next`: the first activation strictly after `t`, read in the schedule's
    /// own `TZ=` zone if it has one and otherwise in `tz` (the CronJob's `spec.timeZone`, UTC
    /// when unset). `None` when no activation exists within five years (robfig's zero time).
    ///
    /// Activations are whole seconds (whole minutes for five-field specs). Across a DST change a
    /// local time the clocks skip does not fire that day, and one they repeat fires twice when
    /// the schedule names every hour (robfig's `TestNext` cases).
    pub fn next_after(&self, t: DateTime<Utc>, tz: TimeZone) -> Option<DateTime<Utc>> {
        match self.kind {
            ScheduleKind::Every { delay_nanos } => Some(go_add(
                t,
                delay_nanos - i64::from(t.timestamp_subsec_nanos()),
            )),
            ScheduleKind::Spec(bits) => {
                let loc = self.location.unwrap_or(tz);
                spec_next(&bits, t.timestamp(), loc).and_then(|s| DateTime::from_timestamp(s, 0))
            }
        }
    }

    /// [`Self::next_after`], with Go's zero time where robfig returns it.
    fn next_or_zero(&self, t: DateTime<Utc>, tz: TimeZone) -> DateTime<Utc> {
        self.next_after(t, tz).unwrap_or_else(go_zero_time)
    }
}

/// robfig `parseDescriptor` (descriptors match exactly, case included).
fn parse_descriptor(descriptor: &str) -> Result<ScheduleKind, ScheduleParseError> {
    let all = |f: CronField| {
        let b = f.bounds();
        get_bits(b.min, b.max, 1) | STAR_BIT
    };
    let midnight = |dom: u64, month: u64, dow: u64, hour: u64| {
        ScheduleKind::Spec(SpecBits {
            second: 1,
            minute: 1,
            hour,
            dom,
            month,
            dow,
        })
    };
    let (dom, month, dow, hour) = (1 << 1, 1 << 1, 1, 1);
    let kind = match descriptor {
        "@yearly" | "@annually" => midnight(dom, month, all(CronField::DayOfWeek), hour),
        "@monthly" => midnight(dom, all(CronField::Month), all(CronField::DayOfWeek), hour),
        "@weekly" => midnight(all(CronField::DayOfMonth), all(CronField::Month), dow, hour),
        "@daily" | "@midnight" => midnight(
            all(CronField::DayOfMonth),
            all(CronField::Month),
            all(CronField::DayOfWeek),
            hour,
        ),
        "@hourly" => midnight(
            all(CronField::DayOfMonth),
            all(CronField::Month),
            all(CronField::DayOfWeek),
            all(CronField::Hour),
        ),
        _ => {
            let Some(text) = descriptor.strip_prefix("@every ") else {
                return Err(ScheduleParseError::whole(format!(
                    "unrecognized descriptor: {descriptor}"
                )));
            };
            let d = go_parse_duration(text).map_err(|err| {
                ScheduleParseError::whole(format!("failed to parse duration {descriptor}: {err}"))
            })?;
            // robfig `Every`: at least a second, and whole seconds.
            let d = d.max(NANOS_PER_SEC);
            ScheduleKind::Every {
                delay_nanos: d - d % NANOS_PER_SEC,
            }
        }
    };
    Ok(kind)
}

/// robfig `getField`: a comma-separated list of ranges (empty items are skipped).
fn get_field(field: &str, bounds: &Bounds) -> Result<u64, String> {
    field
        .split(',')
        .filter(|r| !r.is_empty())
        .try_fold(0, |bits, expr| Ok(bits | get_range(expr, bounds)?))
}

/// robfig `getRange`: `*` / `?` / `number` / `number-number`, then an optional `/step`.
fn get_range(expr: &str, r: &Bounds) -> Result<u64, String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single_digit = low_and_high.len() == 1;

    let (start, mut end, mut extra) = if low_and_high[0] == "*" || low_and_high[0] == "?" {
        // Anything after `*-` is ignored, as upstream does.
        (r.min, r.max, STAR_BIT)
    } else {
        let start = parse_int_or_name(low_and_high[0], r.names)?;
        let end = match low_and_high.len() {
            1 => start,
            2 => parse_int_or_name(low_and_high[1], r.names)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        (start, end, 0)
    };

    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = must_parse_int(range_and_step[1])?;
            // `N/step` means `N-max/step`.
            if single_digit {
                end = r.max;
            }
            if step > 1 {
                extra = 0;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };

    if start < r.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            r.min
        ));
    }
    if end > r.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            r.max
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(get_bits(start, end, step) | extra)
}

/// robfig `parseIntOrName`.
fn parse_int_or_name(expr: &str, names: &[(&str, u64)]) -> Result<u64, String> {
    let lower = expr.to_lowercase();
    match names.iter().find(|(name, _)| *name == lower) {
        Some((_, value)) => Ok(*value),
        None => must_parse_int(expr),
    }
}

/// robfig `mustParseInt`: Go `strconv.Atoi`, then no negatives.
fn must_parse_int(expr: &str) -> Result<u64, String> {
    let num = go_atoi(expr).map_err(|err| format!("failed to parse int from {expr}: {err}"))?;
    u64::try_from(num).map_err(|_| format!("negative number ({num}) not allowed: {expr}"))
}

/// robfig `getBits`: the values `min..=max` stepping by `step` (`max` is at most 59).
fn get_bits(min: u64, max: u64, step: u64) -> u64 {
    (min..=max)
        .step_by(usize::try_from(step).unwrap_or(usize::MAX))
        .fold(0, |bits, i| bits | (1 << i))
}

/// Go `strconv.Atoi` (64-bit `int`), with its error texts.
fn go_atoi(s: &str) -> Result<i64, String> {
    let syntax = || format!("strconv.Atoi: parsing {}: invalid syntax", go_quote(s));
    let range = || format!("strconv.Atoi: parsing {}: value out of range", go_quote(s));
    let (neg, digits) = match s.as_bytes().first() {
        None => return Err(syntax()),
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        Some(_) => (false, s),
    };
    if digits.is_empty() {
        return Err(syntax());
    }
    let mut n: u64 = 0;
    for c in digits.bytes() {
        if !c.is_ascii_digit() {
            return Err(syntax());
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(c - b'0')))
            .ok_or_else(range)?;
    }
    let cutoff = 1u64 << 63;
    match (neg, n) {
        (false, n) if n >= cutoff => Err(range()),
        (true, n) if n > cutoff => Err(range()),
        (true, n) => Ok(0i64.wrapping_sub_unsigned(n)),
        (false, n) => Ok(n as i64),
    }
}

/// Go `strconv.Quote`, close enough for error texts (non-ASCII printable characters are kept).
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go `time.ParseDuration`, with its error texts: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`.
fn go_parse_duration(text: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(text));
    let mut s = text.as_bytes();
    let mut neg = false;
    if let Some(&c) = s.first()
        && (c == b'-' || c == b'+')
    {
        neg = c == b'-';
        s = &s[1..];
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    const LIMIT: u64 = 1 << 63;
    let mut d: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // Leading integer.
        let mut v: u64 = 0;
        let int_len = s.iter().take_while(|c| c.is_ascii_digit()).count();
        for &c in &s[..int_len] {
            if v > LIMIT / 10 {
                return Err(invalid());
            }
            v = v * 10 + u64::from(c - b'0');
            if v > LIMIT {
                return Err(invalid());
            }
        }
        let pre = int_len > 0;
        s = &s[int_len..];
        // Fraction.
        let (mut f, mut scale, mut post) = (0u64, 1f64, false);
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let frac_len = s.iter().take_while(|c| c.is_ascii_digit()).count();
            let mut overflow = false;
            for &c in &s[..frac_len] {
                if overflow {
                    continue;
                }
                if f > (LIMIT - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let y = f * 10 + u64::from(c - b'0');
                if y > LIMIT {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10.0;
            }
            post = frac_len > 0;
            s = &s[frac_len..];
        }
        if !pre && !post {
            return Err(invalid());
        }
        // Unit.
        let unit_len = s
            .iter()
            .take_while(|&&c| !(c == b'.' || c.is_ascii_digit()))
            .count();
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {}", go_quote(text)));
        }
        let unit_text = String::from_utf8_lossy(&s[..unit_len]);
        s = &s[unit_len..];
        let unit: u64 = match unit_text.as_ref() {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            other => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(other),
                    go_quote(text)
                ));
            }
        };
        if v > LIMIT / unit {
            return Err(invalid());
        }
        v *= unit;
        if f > 0 {
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > LIMIT {
                return Err(invalid());
            }
        }
        d += v;
        if d > LIMIT {
            return Err(invalid());
        }
    }
    if neg {
        return Ok(0i64.wrapping_sub_unsigned(d));
    }
    i64::try_from(d).map_err(|_| invalid())
}

// ---------------------------------------------------------------------------------------------
// Next activation (robfig `SpecSchedule.Next`)
// ---------------------------------------------------------------------------------------------

/// A bound on the steps of one search. Upstream has none; the longest legitimate search (a
/// field that matches nothing, walked minute by minute through five years) takes about three
/// million.
const MAX_SEARCH_STEPS: u32 = 50_000_000;

/// robfig `dayMatches`: when either day field was written with `*` or `?`, both must match;
/// when both are restricted, either may.
fn day_matches(s: &SpecBits, c: &Civil) -> bool {
    let dom_match = s.dom & (1 << c.day) != 0;
    let dow_match = s.dow & (1 << c.weekday) != 0;
    if s.dom & STAR_BIT != 0 || s.dow & STAR_BIT != 0 {
        dom_match && dow_match
    } else {
        dom_match || dow_match
    }
}

/// robfig `SpecSchedule.Next` on unix seconds: walk month, day, hour, minute, second forward
/// until each matches, starting over from the month whenever a field wraps. `None` when nothing
/// matches within five years of `t`.
fn spec_next(s: &SpecBits, t: i64, loc: TimeZone) -> Option<i64> {
    // The upcoming whole second.
    let mut t = t.checked_add(1)?;
    let mut added = false;
    let year_limit = loc.civil(t)?.year + 5;
    let mut steps = 0u32;
    let mut step = || {
        steps += 1;
        (steps <= MAX_SEARCH_STEPS).then_some(())
    };

    'wrap: loop {
        step()?;
        if loc.civil(t)?.year > year_limit {
            return None;
        }

        loop {
            let c = loc.civil(t)?;
            if s.month & (1 << c.month) != 0 {
                break;
            }
            step()?;
            if !added {
                added = true;
                t = loc.date(c.year, c.month, 1, 0, 0, 0)?;
            }
            let c = loc.civil(t)?;
            t = loc.date(c.year, c.month + 1, c.day, c.hour, c.minute, c.second)?;
            if loc.civil(t)?.month == 1 {
                continue 'wrap;
            }
        }

        loop {
            let c = loc.civil(t)?;
            if day_matches(s, &c) {
                break;
            }
            step()?;
            if !added {
                added = true;
                t = loc.date(c.year, c.month, c.day, 0, 0, 0)?;
            }
            let c = loc.civil(t)?;
            t = loc.date(c.year, c.month, c.day + 1, c.hour, c.minute, c.second)?;
            // Where DST moves midnight, land back on the day's first hour.
            let hour = loc.civil(t)?.hour;
            if hour != 0 {
                if hour > 12 {
                    t += (24 - hour) * 3600;
                } else {
                    t -= hour * 3600;
                }
            }
            if loc.civil(t)?.day == 1 {
                continue 'wrap;
            }
        }

        loop {
            let c = loc.civil(t)?;
            if s.hour & (1 << c.hour) != 0 {
                break;
            }
            step()?;
            if !added {
                added = true;
                t = loc.date(c.year, c.month, c.day, c.hour, 0, 0)?;
            }
            t += 3600;
            if loc.civil(t)?.hour == 0 {
                continue 'wrap;
            }
        }

        loop {
            let c = loc.civil(t)?;
            if s.minute & (1 << c.minute) != 0 {
                break;
            }
            step()?;
            if !added {
                added = true;
                // Go `Truncate(time.Minute)`: on the absolute instant, not the local clock.
                t = t.div_euclid(60) * 60;
            }
            t += 60;
            if loc.civil(t)?.minute == 0 {
                continue 'wrap;
            }
        }

        loop {
            let c = loc.civil(t)?;
            if s.second & (1 << c.second) != 0 {
                break;
            }
            step()?;
            // `added` and truncation to the second change nothing on whole seconds.
            added = true;
            t += 1;
            if loc.civil(t)?.second == 0 {
                continue 'wrap;
            }
        }

        return Some(t);
    }
}

// ---------------------------------------------------------------------------------------------
// The controller's arithmetic (upstream utils.go, cronjob_controllerv2.go)
// ---------------------------------------------------------------------------------------------

/// Upstream `nextScheduleDelta`: the padding added to every requeue, against clock skew.
pub const NEXT_SCHEDULE_DELTA: SimDuration = SimDuration::from_millis(100);

/// Upstream's threshold: more missed start times than this is "too many".
pub const MAX_MISSED_SCHEDULES: i64 = 100;

/// Reason and message of the Warning event `nextScheduleTime` records when
/// [`UnmetSchedule::too_many_missed`].
pub const TOO_MANY_MISSED_TIMES_REASON: &str = "TooManyMissedTimes";
pub const TOO_MANY_MISSED_TIMES_MESSAGE: &str = "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew";

/// The error `mostRecentScheduleTime` returns for a schedule that parses but whose activations
/// are less than a second apart or absent (e.g. `59 23 31 2 *`).
pub const SCHEDULES_TOO_CLOSE_MESSAGE: &str =
    "time difference between two schedules is less than 1 second";

/// The parts of a CronJob the schedule arithmetic reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CronJobTimes {
    /// `metadata.creationTimestamp`.
    pub creation_timestamp: DateTime<Utc>,
    /// `status.lastScheduleTime`.
    pub last_schedule_time: Option<DateTime<Utc>>,
    /// `spec.startingDeadlineSeconds`.
    pub starting_deadline_seconds: Option<i64>,
}

/// Upstream `missedSchedulesType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissedSchedules {
    NoneMissed,
    FewMissed,
    /// More than [`MAX_MISSED_SCHEDULES`].
    ManyMissed,
}

/// What upstream `mostRecentScheduleTime` returns without error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MostRecentSchedule {
    /// The last schedule time or the creation time, moved up to `now - startingDeadlineSeconds`
    /// when that is later (and asked for).
    pub earliest_time: DateTime<Utc>,
    /// The most recent activation at or before `now`, if any after `earliest_time`.
    pub most_recent_time: Option<DateTime<Utc>>,
    pub missed: MissedSchedules,
}

/// Upstream `mostRecentScheduleTime(cj, now, schedule, includeStartingDeadlineSeconds)`.
///
/// Counts missed activations without listing them: from the interval between the first two
/// activations after `earliest_time`, it estimates how many fit before `now`, jumps to one
/// interval before the estimated last one and walks forward from there with `Next` (so
/// irregular schedules such as `30 6-16/4 * * 1-5` still find the true most recent one).
pub fn most_recent_schedule_time(
    cj: &CronJobTimes,
    now: DateTime<Utc>,
    schedule: &CronSchedule,
    tz: TimeZone,
    include_starting_deadline_seconds: bool,
) -> Result<MostRecentSchedule, String> {
    let mut earliest_time = cj.last_schedule_time.unwrap_or(cj.creation_timestamp);
    if include_starting_deadline_seconds && let Some(sds) = cj.starting_deadline_seconds {
        // The controller is not going to schedule anything before this point.
        let scheduling_deadline = go_add(now, sds.wrapping_mul(-NANOS_PER_SEC));
        if scheduling_deadline > earliest_time {
            earliest_time = scheduling_deadline;
        }
    }
    let none = |missed| MostRecentSchedule {
        earliest_time,
        most_recent_time: None,
        missed,
    };

    let t1 = schedule.next_or_zero(earliest_time, tz);
    let t2 = schedule.next_or_zero(t1, tz);
    if now < t1 {
        return Ok(none(MissedSchedules::NoneMissed));
    }
    if now < t2 {
        return Ok(MostRecentSchedule {
            earliest_time,
            most_recent_time: Some(t1),
            missed: MissedSchedules::NoneMissed,
        });
    }

    // Both zero (no activation at all) or less than a second apart.
    let time_between_two_schedules = go_duration_whole_seconds(go_round_to_second(go_sub(t2, t1)));
    if time_between_two_schedules < 1 {
        return Err(SCHEDULES_TOO_CLOSE_MESSAGE.to_string());
    }
    let time_elapsed = go_duration_whole_seconds(go_sub(now, t1));
    let number_of_missed_schedules = time_elapsed / time_between_two_schedules + 1;

    // Start one interval before the estimated last activation, so that schedules whose
    // intervals vary still land on the true most recent one.
    let potential_earliest = go_add(
        t1,
        (number_of_missed_schedules - 2)
            .wrapping_mul(time_between_two_schedules)
            .wrapping_mul(NANOS_PER_SEC),
    );
    let mut most_recent_time = None;
    let mut t = schedule.next_after(potential_earliest, tz);
    while let Some(at) = t
        && at <= now
    {
        most_recent_time = Some(at);
        t = schedule.next_after(at, tz);
    }

    let missed = if number_of_missed_schedules > MAX_MISSED_SCHEDULES {
        MissedSchedules::ManyMissed
    } else if number_of_missed_schedules > 0 {
        MissedSchedules::FewMissed
    } else {
        MissedSchedules::NoneMissed
    };
    Ok(MostRecentSchedule {
        earliest_time,
        most_recent_time,
        missed,
    })
}

/// An activation that has come and has not been acted on (upstream `nextScheduleTime`'s result).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnmetSchedule {
    /// The most recent unmet activation: the one to start a Job for.
    pub scheduled_time: DateTime<Utc>,
    /// More than [`MAX_MISSED_SCHEDULES`] were missed: upstream records the Warning event
    /// [`TOO_MANY_MISSED_TIMES_REASON`] and still returns the time.
    pub too_many_missed: bool,
}

/// Upstream `nextScheduleTime`: the most recent activation after the last schedule time (or
/// creation, or `now - startingDeadlineSeconds`) and not after `now`; `Ok(None)` when there is
/// none, `Err` with [`SCHEDULES_TOO_CLOSE_MESSAGE`] for a schedule that never really fires.
pub fn next_schedule_time(
    cj: &CronJobTimes,
    now: DateTime<Utc>,
    schedule: &CronSchedule,
    tz: TimeZone,
) -> Result<Option<UnmetSchedule>, String> {
    let recent = most_recent_schedule_time(cj, now, schedule, tz, true)?;
    Ok(recent
        .most_recent_time
        .filter(|t| *t <= now)
        .map(|scheduled_time| UnmetSchedule {
            scheduled_time,
            too_many_missed: recent.missed == MissedSchedules::ManyMissed,
        }))
}

/// Upstream `nextScheduleTimeDuration`: how long until the sync after `now`, i.e. until the
/// activation after the most recent one (or after `earliest_time` when none was missed, or
/// after `now` when some were missed but none found, or the schedule is invalid), plus
/// [`NEXT_SCHEDULE_DELTA`]. A negative wait (only when no activation exists: upstream then
/// waits until Go's zero time) is zero, which is what the work queue makes of it.
pub fn next_schedule_time_duration(
    cj: &CronJobTimes,
    now: DateTime<Utc>,
    schedule: &CronSchedule,
    tz: TimeZone,
) -> SimDuration {
    let most_recent = match most_recent_schedule_time(cj, now, schedule, tz, false) {
        // Requeue all the same: aim for the next slot after now.
        Err(_) => now,
        Ok(MostRecentSchedule {
            most_recent_time: Some(t),
            ..
        }) => t,
        Ok(MostRecentSchedule {
            earliest_time,
            most_recent_time: None,
            missed,
        }) => {
            if missed == MissedSchedules::NoneMissed {
                earliest_time
            } else {
                now
            }
        }
    };
    let next = schedule.next_or_zero(most_recent, tz);
    let delta = i64::try_from(NEXT_SCHEDULE_DELTA.as_nanos()).expect("100ms fits");
    let wait = go_sub(go_add(next, delta), now);
    SimDuration::from_nanos(u64::try_from(wait).unwrap_or(0))
}

/// Upstream `getTimeHashInMinutes`: unix minutes of the scheduled time.
pub fn time_hash_in_minutes(scheduled_time: DateTime<Utc>) -> i64 {
    scheduled_time.timestamp() / 60
}

/// Upstream `getJobName`: `<cronjob name>-<unix minutes of the scheduled time>`, the same name
/// for the same activation, so a Job is never created twice for it.
pub fn job_name(cron_job_name: &str, scheduled_time: DateTime<Utc>) -> String {
    format!("{cron_job_name}-{}", time_hash_in_minutes(scheduled_time))
}

// ---------------------------------------------------------------------------------------------
// Validation (upstream pkg/apis/batch/validation)
// ---------------------------------------------------------------------------------------------

/// Upstream `validateScheduleFormat` for `spec.schedule`: the `Invalid value: ...` bodies of its
/// field errors. `allow_tz_in_schedule` is upstream's: true only on an update whose old schedule
/// already contained `TZ`; on create any `TZ` is rejected.
pub fn validate_schedule_format(
    schedule: &str,
    allow_tz_in_schedule: bool,
    time_zone_set: bool,
) -> Vec<String> {
    let invalid = |detail: &str| format!("Invalid value: {}: {detail}", go_quote(schedule));
    let mut errs = Vec::new();
    if let Err(err) = CronSchedule::parse_standard(schedule) {
        errs.push(invalid(&err.message));
    }
    if schedule.contains("TZ") {
        if !allow_tz_in_schedule {
            errs.push(invalid(
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            ));
        } else if time_zone_set {
            errs.push(invalid(
                "cannot use both timeZone field and TZ or CRON_TZ in schedule",
            ));
        }
    }
    errs
}

/// Upstream `validateTimeZone` for `spec.timeZone`: the `Invalid value: ...` bodies of its field
/// errors.
pub fn validate_time_zone(time_zone: Option<&str>) -> Vec<String> {
    let Some(tz) = time_zone else {
        return Vec::new();
    };
    let invalid = |detail: &str| format!("Invalid value: {}: {detail}", go_quote(tz));
    if tz.is_empty() {
        return vec![invalid("timeZone must be nil or non-empty string")];
    }
    // IANA naming rules, tolerating digits and `+` for legacy names.
    let valid_part = |part: &str| {
        (1..=14).contains(&part.len())
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+'))
    };
    if tz
        .split('/')
        .any(|p| p == "." || p == ".." || p.starts_with('-') || !valid_part(p))
    {
        return vec![invalid(&format!("unknown time zone {tz}"))];
    }
    let mut errs = Vec::new();
    if tz.eq_ignore_ascii_case("Local") {
        errs.push(invalid(
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        ));
    }
    if let Err(err) = TimeZone::load_location(tz) {
        errs.push(invalid(&err));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .expect("test time")
            .with_timezone(&Utc)
    }

    fn zone(name: &str) -> TimeZone {
        TimeZone::load_location(name).expect("test zone")
    }

    /// robfig `getTime`/`getTimeTZ`: the layouts its tests write times in; `""` is the zero time.
    fn robfig_time(value: &str) -> Option<DateTime<Utc>> {
        if value.is_empty() {
            return None;
        }
        // Go's time.Parse does not check the weekday (robfig writes "Tue Aug 1 2012", a
        // Wednesday), so it is dropped here.
        let without_weekday = value.split_once(' ').map_or(value, |(_, rest)| rest);
        for layout in ["%b %d %H:%M %Y", "%b %d %H:%M:%S %Y"] {
            if let Ok(t) = chrono::NaiveDateTime::parse_from_str(without_weekday, layout) {
                return Some(t.and_utc());
            }
        }
        Some(
            DateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%z")
                .unwrap_or_else(|e| panic!("test time {value}: {e}"))
                .with_timezone(&Utc),
        )
    }

    fn parse(spec: &str) -> CronSchedule {
        CronSchedule::parse_standard(spec).expect("test schedule")
    }

    fn bits(spec: &str) -> SpecBits {
        match parse(spec).kind {
            ScheduleKind::Spec(b) => b,
            ScheduleKind::Every { .. } => panic!("not a spec schedule"),
        }
    }

    fn all(f: CronField) -> u64 {
        let b = f.bounds();
        get_bits(b.min, b.max, 1) | STAR_BIT
    }

    // upstream robfig/cron v3 parser_test.go TestRange
    #[test]
    fn get_range_table() {
        let cases: &[(&str, u64, u64, u64, &str)] = &[
            ("5", 0, 7, 1 << 5, ""),
            ("0", 0, 7, 1 << 0, ""),
            ("7", 0, 7, 1 << 7, ""),
            ("5-5", 0, 7, 1 << 5, ""),
            ("5-6", 0, 7, 1 << 5 | 1 << 6, ""),
            ("5-7", 0, 7, 1 << 5 | 1 << 6 | 1 << 7, ""),
            ("5-6/2", 0, 7, 1 << 5, ""),
            ("5-7/2", 0, 7, 1 << 5 | 1 << 7, ""),
            ("5-7/1", 0, 7, 1 << 5 | 1 << 6 | 1 << 7, ""),
            ("*", 1, 3, 1 << 1 | 1 << 2 | 1 << 3 | STAR_BIT, ""),
            ("*/2", 1, 3, 1 << 1 | 1 << 3, ""),
            ("5--5", 0, 0, 0, "too many hyphens"),
            ("jan-x", 0, 0, 0, "failed to parse int from"),
            ("2-x", 1, 5, 0, "failed to parse int from"),
            ("*/-12", 0, 0, 0, "negative number"),
            ("*//2", 0, 0, 0, "too many slashes"),
            ("1", 3, 5, 0, "below minimum"),
            ("6", 3, 5, 0, "above maximum"),
            ("5-3", 3, 5, 0, "beyond end of range"),
            ("*/0", 0, 0, 0, "should be a positive number"),
        ];
        for &(expr, min, max, expected, err) in cases {
            let got = get_range(
                expr,
                &Bounds {
                    min,
                    max,
                    names: &[],
                },
            );
            if err.is_empty() {
                assert_eq!(got, Ok(expected), "{expr}");
            } else {
                let msg = got.expect_err(expr);
                assert!(msg.contains(err), "{expr}: {msg}");
            }
        }
    }

    // upstream robfig/cron v3 parser_test.go TestField, TestAll, TestBits
    #[test]
    fn fields_all_and_bits() {
        for (expr, expected) in [
            ("5", 1 << 5),
            ("5,6", 1 << 5 | 1 << 6),
            ("5,6,7", 1 << 5 | 1 << 6 | 1 << 7),
            ("1,5-7/2,3", 1 << 1 | 1 << 5 | 1 << 7 | 1 << 3),
        ] {
            let b = Bounds {
                min: 1,
                max: 7,
                names: &[],
            };
            assert_eq!(get_field(expr, &b), Ok(expected), "{expr}");
        }
        assert_eq!(all(CronField::Minute), 0xfffffffffffffff | STAR_BIT);
        assert_eq!(all(CronField::Hour), 0xffffff | STAR_BIT);
        assert_eq!(all(CronField::DayOfMonth), 0xfffffffe | STAR_BIT);
        assert_eq!(all(CronField::Month), 0x1ffe | STAR_BIT);
        assert_eq!(all(CronField::DayOfWeek), 0x7f | STAR_BIT);
        assert_eq!(get_bits(0, 0, 1), 0x1);
        assert_eq!(get_bits(1, 1, 1), 0x2);
        assert_eq!(get_bits(1, 5, 2), 0x2a);
        assert_eq!(get_bits(1, 4, 2), 0xa);
    }

    // upstream robfig/cron v3 parser_test.go TestParseSchedule (the standard-parser and
    // descriptor rows) and TestStandardSpecSchedule
    #[test]
    fn parse_standard_and_descriptors() {
        let every5min = SpecBits {
            second: 1,
            minute: 1 << 5,
            hour: all(CronField::Hour),
            dom: all(CronField::DayOfMonth),
            month: all(CronField::Month),
            dow: all(CronField::DayOfWeek),
        };
        assert_eq!(bits("5 * * * *"), every5min);
        let utc = parse("CRON_TZ=UTC  5 * * * *");
        assert_eq!(utc.kind, ScheduleKind::Spec(every5min));
        assert_eq!(utc.location, Some(TimeZone::Utc));
        let tokyo = parse("TZ=Asia/Tokyo @midnight");
        assert_eq!(tokyo.location, Some(zone("Asia/Tokyo")));
        let midnight = SpecBits {
            second: 1,
            minute: 1,
            hour: 1,
            dom: all(CronField::DayOfMonth),
            month: all(CronField::Month),
            dow: all(CronField::DayOfWeek),
        };
        assert_eq!(bits("@midnight"), midnight);
        let annual = SpecBits {
            dom: 1 << 1,
            month: 1 << 1,
            ..midnight
        };
        assert_eq!(bits("@yearly"), annual);
        assert_eq!(bits("@annually"), annual);
        assert_eq!(
            parse("@every 5m").kind,
            ScheduleKind::Every {
                delay_nanos: 5 * 60 * NANOS_PER_SEC
            }
        );
        for (spec, err) in [
            ("5 j * * *", "failed to parse int from"),
            ("* * * *", "expected exactly 5 fields"),
            // TestParseScheduleErrors
            ("@every Xm", "failed to parse duration"),
            ("@unrecognized", "unrecognized descriptor"),
            ("", "empty spec string"),
        ] {
            let msg = CronSchedule::parse_standard(spec).expect_err(spec).message;
            assert!(msg.contains(err), "{spec}: {msg}");
        }
    }

    // upstream robfig/cron v3 spec_test.go TestErrors and TestSlash0NoHang
    #[test]
    fn parse_errors() {
        for spec in [
            "xyz",
            "60 0 * * *",
            "0 60 * * *",
            "0 0 * * XYZ",
            "TZ=America/New_York 15/0 * * * *",
        ] {
            assert!(CronSchedule::parse_standard(spec).is_err(), "{spec}");
        }
    }

    #[test]
    fn parse_error_messages_name_the_field() {
        // Day of week is 0-6 in robfig: 7 is out of range.
        let err = CronSchedule::parse_standard("0 0 * * 7").expect_err("7");
        assert_eq!(err.field, Some(CronField::DayOfWeek));
        assert_eq!(err.to_string(), "end of range (7) above maximum (6): 7");
        let err = CronSchedule::parse_standard("61 * * * *").expect_err("61");
        assert_eq!(err.field, Some(CronField::Minute));
        assert_eq!(err.to_string(), "end of range (61) above maximum (59): 61");
        let err = CronSchedule::parse_standard("* * * * * *").expect_err("6 fields");
        assert_eq!(err.field, None);
        assert_eq!(
            err.to_string(),
            "expected exactly 5 fields, found 6: [* * * * * *]"
        );
        assert_eq!(
            CronSchedule::parse_standard("5 j * * *")
                .expect_err("j")
                .to_string(),
            "failed to parse int from j: strconv.Atoi: parsing \"j\": invalid syntax"
        );
        assert_eq!(
            CronSchedule::parse_standard("@every Xm")
                .expect_err("Xm")
                .to_string(),
            "failed to parse duration @every Xm: time: invalid duration \"Xm\""
        );
        assert_eq!(
            CronSchedule::parse_standard("TZ=Nowhere/Land * * * * *")
                .expect_err("zone")
                .to_string(),
            "provided bad location Nowhere/Land: unknown time zone Nowhere/Land"
        );
        // Names are case-insensitive, descriptors are not.
        assert_eq!(bits("0 0 * JAN-mar sUn"), bits("0 0 * 1-3 0"));
        assert!(CronSchedule::parse_standard("@Daily").is_err());
    }

    #[test]
    fn every_takes_go_durations_in_whole_seconds() {
        let every = |spec: &str| match parse(spec).kind {
            ScheduleKind::Every { delay_nanos } => delay_nanos,
            ScheduleKind::Spec(_) => panic!("not @every"),
        };
        assert_eq!(every("@every 1h30m"), 5400 * NANOS_PER_SEC);
        assert_eq!(every("@every 1.5s"), NANOS_PER_SEC);
        assert_eq!(every("@every 500ms"), NANOS_PER_SEC);
        assert_eq!(every("@every -5m"), NANOS_PER_SEC);
        let start = at("2016-05-19T10:00:00.250Z");
        assert_eq!(
            parse("@every 1h30m").next_after(start, TimeZone::Utc),
            Some(at("2016-05-19T11:30:00Z"))
        );
    }

    // upstream robfig/cron v3 spec_test.go TestActivation (run in UTC)
    #[test]
    fn activation_table() {
        let cases = [
            ("Mon Jul 9 15:00 2012", "0/15 * * * *", true),
            ("Mon Jul 9 15:45 2012", "0/15 * * * *", true),
            ("Mon Jul 9 15:40 2012", "0/15 * * * *", false),
            ("Mon Jul 9 15:05 2012", "5/15 * * * *", true),
            ("Mon Jul 9 15:20 2012", "5/15 * * * *", true),
            ("Mon Jul 9 15:50 2012", "5/15 * * * *", true),
            ("Sun Jul 15 15:00 2012", "0/15 * * Jul *", true),
            ("Sun Jul 15 15:00 2012", "0/15 * * Jun *", false),
            ("Sun Jul 15 08:30 2012", "30 08 ? Jul Sun", true),
            ("Sun Jul 15 08:30 2012", "30 08 15 Jul ?", true),
            ("Mon Jul 16 08:30 2012", "30 08 ? Jul Sun", false),
            ("Mon Jul 16 08:30 2012", "30 08 15 Jul ?", false),
            ("Mon Jul 9 15:00 2012", "@hourly", true),
            ("Mon Jul 9 15:04 2012", "@hourly", false),
            ("Mon Jul 9 15:00 2012", "@daily", false),
            ("Mon Jul 9 00:00 2012", "@daily", true),
            ("Mon Jul 9 00:00 2012", "@weekly", false),
            ("Sun Jul 8 00:00 2012", "@weekly", true),
            ("Sun Jul 8 01:00 2012", "@weekly", false),
            ("Sun Jul 8 00:00 2012", "@monthly", false),
            ("Sun Jul 1 00:00 2012", "@monthly", true),
            // If both day fields are restricted, only one needs to match.
            ("Sun Jul 15 00:00 2012", "* * 1,15 * Sun", true),
            ("Fri Jun 15 00:00 2012", "* * 1,15 * Sun", true),
            ("Wed Aug 1 00:00 2012", "* * 1,15 * Sun", true),
            ("Sun Jul 15 00:00 2012", "* * */10 * Sun", true),
            // However, if one has a star, then both need to match.
            ("Sun Jul 15 00:00 2012", "* * * * Mon", false),
            ("Mon Jul 9 00:00 2012", "* * 1,15 * *", false),
            ("Sun Jul 15 00:00 2012", "* * 1,15 * *", true),
            ("Sun Jul 15 00:00 2012", "* * */2 * Sun", true),
        ];
        for (time, spec, expected) in cases {
            let t = robfig_time(time).expect("time");
            let got = parse(spec).next_after(t - TimeDelta::seconds(1), TimeZone::Utc);
            assert_eq!(got == Some(t), expected, "{spec} at {time}: {got:?}");
        }
    }

    // upstream robfig/cron v3 spec_test.go TestNext: the rows whose seconds field is 0, written
    // as five-field specs (the seconds field dropped); a `TZ=` before the time is the zone the
    // time is read in (here: passed to `next_after`). Run in UTC.
    #[test]
    fn next_table() {
        let cases = [
            (
                "Mon Jul 9 14:45 2012",
                "0/15 * * * *",
                "Mon Jul 9 15:00 2012",
            ),
            (
                "Mon Jul 9 14:59 2012",
                "0/15 * * * *",
                "Mon Jul 9 15:00 2012",
            ),
            (
                "Mon Jul 9 14:59:59 2012",
                "0/15 * * * *",
                "Mon Jul 9 15:00 2012",
            ),
            // Wrap around hours
            (
                "Mon Jul 9 15:45 2012",
                "20-35/15 * * * *",
                "Mon Jul 9 16:20 2012",
            ),
            // Wrap around days
            (
                "Mon Jul 9 23:46 2012",
                "*/15 * * * *",
                "Tue Jul 10 00:00 2012",
            ),
            (
                "Mon Jul 9 23:45 2012",
                "20-35/15 * * * *",
                "Tue Jul 10 00:20 2012",
            ),
            // Wrap around months
            (
                "Mon Jul 9 23:35 2012",
                "0 0 9 Apr-Oct ?",
                "Thu Aug 9 00:00 2012",
            ),
            (
                "Mon Jul 9 23:35 2012",
                "0 0 */5 Apr,Aug,Oct Mon",
                "Tue Aug 1 00:00 2012",
            ),
            (
                "Mon Jul 9 23:35 2012",
                "0 0 */5 Oct Mon",
                "Mon Oct 1 00:00 2012",
            ),
            // Wrap around years
            (
                "Mon Jul 9 23:35 2012",
                "0 0 * Feb Mon",
                "Mon Feb 4 00:00 2013",
            ),
            (
                "Mon Jul 9 23:35 2012",
                "0 0 * Feb Mon/2",
                "Fri Feb 1 00:00 2013",
            ),
            // Wrap around minute, hour, day, month, and year
            (
                "Mon Dec 31 23:59:45 2012",
                "* * * * *",
                "Tue Jan 1 00:00:00 2013",
            ),
            // Leap year
            (
                "Mon Jul 9 23:35 2012",
                "0 0 29 Feb ?",
                "Mon Feb 29 00:00 2016",
            ),
            // Daylight savings time 2am EST (-5) -> 3am EDT (-4)
            (
                "2012-03-11T00:00:00-0500",
                "TZ=America/New_York 30 2 11 Mar ?",
                "2013-03-11T02:30:00-0400",
            ),
            // hourly job
            (
                "2012-03-11T00:00:00-0500",
                "TZ=America/New_York 0 * * * ?",
                "2012-03-11T01:00:00-0500",
            ),
            (
                "2012-03-11T01:00:00-0500",
                "TZ=America/New_York 0 * * * ?",
                "2012-03-11T03:00:00-0400",
            ),
            (
                "2012-03-11T03:00:00-0400",
                "TZ=America/New_York 0 * * * ?",
                "2012-03-11T04:00:00-0400",
            ),
            (
                "2012-03-11T04:00:00-0400",
                "TZ=America/New_York 0 * * * ?",
                "2012-03-11T05:00:00-0400",
            ),
            // hourly job using CRON_TZ
            (
                "2012-03-11T00:00:00-0500",
                "CRON_TZ=America/New_York 0 * * * ?",
                "2012-03-11T01:00:00-0500",
            ),
            (
                "2012-03-11T01:00:00-0500",
                "CRON_TZ=America/New_York 0 * * * ?",
                "2012-03-11T03:00:00-0400",
            ),
            // 1am nightly job
            (
                "2012-03-11T00:00:00-0500",
                "TZ=America/New_York 0 1 * * ?",
                "2012-03-11T01:00:00-0500",
            ),
            (
                "2012-03-11T01:00:00-0500",
                "TZ=America/New_York 0 1 * * ?",
                "2012-03-12T01:00:00-0400",
            ),
            // 2am nightly job (skipped)
            (
                "2012-03-11T00:00:00-0500",
                "TZ=America/New_York 0 2 * * ?",
                "2012-03-12T02:00:00-0400",
            ),
            // Daylight savings time 2am EDT (-4) => 1am EST (-5)
            (
                "2012-11-04T00:00:00-0400",
                "TZ=America/New_York 30 2 04 Nov ?",
                "2012-11-04T02:30:00-0500",
            ),
            (
                "2012-11-04T01:45:00-0400",
                "TZ=America/New_York 30 1 04 Nov ?",
                "2012-11-04T01:30:00-0500",
            ),
            // hourly job
            (
                "2012-11-04T00:00:00-0400",
                "TZ=America/New_York 0 * * * ?",
                "2012-11-04T01:00:00-0400",
            ),
            (
                "2012-11-04T01:00:00-0400",
                "TZ=America/New_York 0 * * * ?",
                "2012-11-04T01:00:00-0500",
            ),
            (
                "2012-11-04T01:00:00-0500",
                "TZ=America/New_York 0 * * * ?",
                "2012-11-04T02:00:00-0500",
            ),
            // 1am nightly job (runs twice)
            (
                "2012-11-04T00:00:00-0400",
                "TZ=America/New_York 0 1 * * ?",
                "2012-11-04T01:00:00-0400",
            ),
            (
                "2012-11-04T01:00:00-0400",
                "TZ=America/New_York 0 1 * * ?",
                "2012-11-04T01:00:00-0500",
            ),
            (
                "2012-11-04T01:00:00-0500",
                "TZ=America/New_York 0 1 * * ?",
                "2012-11-05T01:00:00-0500",
            ),
            // 2am nightly job
            (
                "2012-11-04T00:00:00-0400",
                "TZ=America/New_York 0 2 * * ?",
                "2012-11-04T02:00:00-0500",
            ),
            (
                "2012-11-04T02:00:00-0500",
                "TZ=America/New_York 0 2 * * ?",
                "2012-11-05T02:00:00-0500",
            ),
            // 3am nightly job
            (
                "2012-11-04T00:00:00-0400",
                "TZ=America/New_York 0 3 * * ?",
                "2012-11-04T03:00:00-0500",
            ),
            (
                "2012-11-04T03:00:00-0500",
                "TZ=America/New_York 0 3 * * ?",
                "2012-11-05T03:00:00-0500",
            ),
            // Unsatisfiable
            ("Mon Jul 9 23:35 2012", "0 0 30 Feb ?", ""),
            ("Mon Jul 9 23:35 2012", "0 0 31 Apr ?", ""),
            // Test the scenario of DST resulting in midnight not being a valid time.
            (
                "2018-10-17T05:00:00-0400",
                "TZ=America/Sao_Paulo 0 9 10 * ?",
                "2018-11-10T06:00:00-0500",
            ),
            (
                "2018-02-14T05:00:00-0500",
                "TZ=America/Sao_Paulo 0 9 22 * ?",
                "2018-02-22T07:00:00-0500",
            ),
        ];
        for (time, spec, expected) in cases {
            let t = robfig_time(time).expect("time");
            let got = parse(spec).next_after(t, TimeZone::Utc);
            assert_eq!(got, robfig_time(expected), "{spec} after {time}");
        }
        // The rows whose time is read in America/New_York and whose spec has no zone.
        let new_york = zone("America/New_York");
        let cases = [
            (
                "2012-11-04T00:00:00-0400",
                "0 * * * ?",
                "2012-11-04T01:00:00-0400",
            ),
            (
                "2012-11-04T01:00:00-0400",
                "0 * * * ?",
                "2012-11-04T01:00:00-0500",
            ),
            (
                "2012-11-04T01:00:00-0500",
                "0 * * * ?",
                "2012-11-04T02:00:00-0500",
            ),
            (
                "2012-11-04T00:00:00-0400",
                "0 1 * * ?",
                "2012-11-04T01:00:00-0400",
            ),
            (
                "2012-11-04T01:00:00-0400",
                "0 1 * * ?",
                "2012-11-04T01:00:00-0500",
            ),
            (
                "2012-11-04T01:00:00-0500",
                "0 1 * * ?",
                "2012-11-05T01:00:00-0500",
            ),
            (
                "2012-11-04T00:00:00-0400",
                "0 2 * * ?",
                "2012-11-04T02:00:00-0500",
            ),
            (
                "2012-11-04T02:00:00-0500",
                "0 2 * * ?",
                "2012-11-05T02:00:00-0500",
            ),
            (
                "2012-11-04T00:00:00-0400",
                "0 3 * * ?",
                "2012-11-04T03:00:00-0500",
            ),
            (
                "2012-11-04T03:00:00-0500",
                "0 3 * * ?",
                "2012-11-05T03:00:00-0500",
            ),
            // Monthly job
            (
                "2012-11-04T00:00:00-0400",
                "0 3 3 * ?",
                "2012-12-03T03:00:00-0500",
            ),
        ];
        for (time, spec, expected) in cases {
            let t = robfig_time(time).expect("time");
            let got = parse(spec).next_after(t, new_york);
            assert_eq!(got, robfig_time(expected), "{spec} after {time}");
        }
    }

    // upstream robfig/cron v3 spec_test.go TestNextWithTz (times at +0530, Asia/Kolkata here)
    #[test]
    fn next_in_the_zone_of_the_time() {
        let kolkata = zone("Asia/Kolkata");
        for (time, spec, expected) in [
            (
                "2016-01-03T13:09:03+0530",
                "14 14 * * *",
                "2016-01-03T14:14:00+0530",
            ),
            (
                "2016-01-03T04:09:03+0530",
                "14 14 * * ?",
                "2016-01-03T14:14:00+0530",
            ),
            (
                "2016-01-03T14:09:03+0530",
                "14 14 * * *",
                "2016-01-03T14:14:00+0530",
            ),
            (
                "2016-01-03T14:00:00+0530",
                "14 14 * * ?",
                "2016-01-03T14:14:00+0530",
            ),
        ] {
            let t = robfig_time(time).expect("time");
            assert_eq!(
                parse(spec).next_after(t, kolkata),
                robfig_time(expected),
                "{spec} after {time}"
            );
        }
    }

    #[test]
    fn time_zone_follows_daylight_saving() {
        let new_york = zone("America/New_York");
        let nine = parse("0 9 * * *");
        // EST (UTC-5) in winter, EDT (UTC-4) in summer.
        assert_eq!(
            nine.next_after(at("2024-01-15T00:00:00Z"), new_york),
            Some(at("2024-01-15T14:00:00Z"))
        );
        assert_eq!(
            nine.next_after(at("2024-07-15T00:00:00Z"), new_york),
            Some(at("2024-07-15T13:00:00Z"))
        );
        assert_eq!(
            nine.next_after(at("2024-07-15T00:00:00Z"), TimeZone::Utc),
            Some(at("2024-07-15T09:00:00Z"))
        );
        assert_eq!(
            TimeZone::load_location("America/New_Yrok"),
            Err("unknown time zone America/New_Yrok".to_string())
        );
        assert_eq!(TimeZone::load_location("UTC"), Ok(TimeZone::Utc));
    }

    // upstream pkg/controller/cronjob/utils_test.go topOfTheHour / deltaTimeAfterTopOfTheHour
    fn top_of_the_hour() -> DateTime<Utc> {
        at("2016-05-19T10:00:00Z")
    }

    fn delta_after_top_of_the_hour(d: TimeDelta) -> DateTime<Utc> {
        top_of_the_hour() + d
    }

    fn mins(m: i64) -> TimeDelta {
        TimeDelta::minutes(m)
    }

    fn hours(h: i64) -> TimeDelta {
        TimeDelta::hours(h)
    }

    fn cron_job(
        created: DateTime<Utc>,
        last: Option<DateTime<Utc>>,
        sds: Option<i64>,
    ) -> CronJobTimes {
        CronJobTimes {
            creation_timestamp: created,
            last_schedule_time: last,
            starting_deadline_seconds: sds,
        }
    }

    // upstream pkg/controller/cronjob/utils_test.go TestMostRecentScheduleTime
    #[test]
    fn most_recent_schedule_time_table() {
        use MissedSchedules::*;
        let top = top_of_the_hour();
        let half_past = delta_after_top_of_the_hour(mins(30));
        let minute_after = delta_after_top_of_the_hour(mins(1));
        let d = delta_after_top_of_the_hour;
        struct Case {
            name: &'static str,
            schedule: &'static str,
            cj: CronJobTimes,
            include_sds: bool,
            now: DateTime<Utc>,
            earliest: DateTime<Utc>,
            recent: Option<DateTime<Utc>>,
            missed: MissedSchedules,
            want_err: bool,
        }
        let case = |name, schedule, cj, now, earliest, recent, missed| Case {
            name,
            schedule,
            cj,
            include_sds: false,
            now,
            earliest,
            recent,
            missed,
            want_err: false,
        };
        let cases = [
            case(
                "now before next schedule",
                "0 * * * *",
                cron_job(top, None, None),
                top + TimeDelta::seconds(30),
                top,
                None,
                NoneMissed,
            ),
            case(
                "now just after next schedule",
                "0 * * * *",
                cron_job(top, None, None),
                top + mins(61),
                top,
                Some(d(mins(60))),
                NoneMissed,
            ),
            case(
                "missed 5 schedules",
                "0 * * * *",
                cron_job(d(TimeDelta::seconds(10)), None, None),
                d(mins(301)),
                d(TimeDelta::seconds(10)),
                Some(d(mins(300))),
                FewMissed,
            ),
            case(
                "complex schedule",
                "30 6-16/4 * * 1-5",
                cron_job(top, Some(half_past), None),
                d(hours(24) + mins(31)),
                half_past,
                Some(d(hours(24) + mins(30))),
                FewMissed,
            ),
            case(
                "another complex schedule",
                "30 10,11,12 * * 1-5",
                cron_job(top, Some(half_past), None),
                d(hours(30) + mins(30)),
                half_past,
                None,
                FewMissed,
            ),
            case(
                "complex schedule with longer diff between executions",
                "30 6-16/4 * * 1-5",
                cron_job(top, Some(half_past), None),
                d(hours(96) + mins(31)),
                half_past,
                Some(d(hours(96) + mins(30))),
                FewMissed,
            ),
            case(
                "complex schedule with shorter diff between executions",
                "30 6-16/4 * * 1-5",
                cron_job(top, None, None),
                d(hours(24) + mins(31)),
                top,
                Some(d(hours(24) + mins(30))),
                FewMissed,
            ),
            case(
                "@every schedule",
                "@every 1h",
                cron_job(d(mins(-59)), Some(minute_after), Some(10)),
                d(hours(7 * 24)),
                minute_after,
                Some(d(hours(6 * 24 + 23) + mins(1))),
                ManyMissed,
            ),
            Case {
                want_err: true,
                ..case(
                    "rogue cronjob",
                    "59 23 31 2 *",
                    cron_job(d(TimeDelta::seconds(10)), None, None),
                    d(hours(1)),
                    top,
                    None,
                    NoneMissed,
                )
            },
            case(
                "earliestTime being CreationTimestamp and LastScheduleTime",
                "0 * * * *",
                cron_job(top, Some(top), None),
                d(TimeDelta::seconds(30)),
                top,
                None,
                NoneMissed,
            ),
            case(
                "earliestTime being LastScheduleTime",
                "*/5 * * * *",
                cron_job(top, Some(half_past), None),
                d(mins(31)),
                half_past,
                None,
                NoneMissed,
            ),
            case(
                "earliestTime being LastScheduleTime (within StartingDeadlineSeconds)",
                "*/5 * * * *",
                cron_job(top, Some(half_past), Some(60)),
                d(mins(31)),
                half_past,
                None,
                NoneMissed,
            ),
            Case {
                include_sds: true,
                ..case(
                    "earliestTime being LastScheduleTime (outside StartingDeadlineSeconds)",
                    "*/5 * * * *",
                    cron_job(top, Some(half_past), Some(60)),
                    d(mins(32)),
                    d(mins(31)),
                    None,
                    NoneMissed,
                )
            },
        ];
        for c in cases {
            let got = most_recent_schedule_time(
                &c.cj,
                c.now,
                &parse(c.schedule),
                TimeZone::Utc,
                c.include_sds,
            );
            if c.want_err {
                assert_eq!(
                    got,
                    Err(SCHEDULES_TOO_CLOSE_MESSAGE.to_string()),
                    "{}",
                    c.name
                );
                continue;
            }
            assert_eq!(
                got,
                Ok(MostRecentSchedule {
                    earliest_time: c.earliest,
                    most_recent_time: c.recent,
                    missed: c.missed,
                }),
                "{}",
                c.name
            );
        }
    }

    // upstream pkg/controller/cronjob/utils_test.go TestNextScheduleTimeDuration
    #[test]
    fn next_schedule_time_duration_table() {
        let top = top_of_the_hour();
        let d = delta_after_top_of_the_hour;
        let delta = NEXT_SCHEDULE_DELTA;
        let cases = [
            (
                "complex schedule skipping weekend",
                "30 6-16/4 * * 1-5",
                cron_job(top, Some(d(mins(30))), None),
                d(hours(24) + mins(31)),
                SimDuration::from_hours(3) + SimDuration::from_mins(59) + delta,
            ),
            (
                "another complex schedule skipping weekend",
                "30 10,11,12 * * 1-5",
                cron_job(top, Some(d(mins(30))), None),
                d(hours(30) + mins(30)),
                SimDuration::from_hours(66) + delta,
            ),
            (
                "once a week cronjob, missed two runs",
                "0 12 * * 4",
                cron_job(top, Some(d(hours(2))), None),
                d(hours(19 * 24 + 1) + mins(30)),
                SimDuration::from_hours(48) + SimDuration::from_mins(30) + delta,
            ),
            (
                "no previous run of a cronjob",
                "0 12 * * 5",
                cron_job(top, None, None),
                d(hours(6)),
                SimDuration::from_hours(20) + delta,
            ),
        ];
        for (name, schedule, cj, now, expected) in cases {
            let got = next_schedule_time_duration(&cj, now, &parse(schedule), TimeZone::Utc);
            assert_eq!(got, expected, "{name}");
        }
    }

    // upstream pkg/controller/cronjob/utils_test.go TestNextScheduleTime
    #[test]
    fn next_schedule_time_table() {
        let hourly = parse("0 * * * ?");
        let t1 = top_of_the_hour();
        let t2 = delta_after_top_of_the_hour(hours(1));
        let next = |cj: CronJobTimes, now, schedule: &CronSchedule| {
            next_schedule_time(&cj, now, schedule, TimeZone::Utc)
        };
        let scheduled = |t| {
            Ok(Some(UnmetSchedule {
                scheduled_time: t,
                too_many_missed: false,
            }))
        };
        // Case 1: no known start times, and none needed yet.
        let cj = cron_job(t1 - mins(10), None, None);
        assert_eq!(next(cj, t1 - mins(7), &hourly), Ok(None));
        // Case 2: no known start times, and one needed.
        assert_eq!(next(cj, t1 + TimeDelta::seconds(2), &hourly), scheduled(t1));
        // Case 3: known LastScheduleTime, no start needed.
        let cj = cron_job(t1 - mins(10), Some(t1), None);
        assert_eq!(next(cj, t1 + mins(2), &hourly), Ok(None));
        // Case 4: known LastScheduleTime, a start needed.
        assert_eq!(next(cj, t2 + mins(5), &hourly), scheduled(t2));
        // Case 5: known LastScheduleTime, two starts needed.
        let cj = cron_job(t1 - hours(2), Some(t1 - hours(1)), None);
        assert_eq!(next(cj, t2 + mins(5), &hourly), scheduled(t2));
        // Case 6: now is way way ahead of last start time, and there is no deadline.
        let now = t2 + hours(10 * 24);
        let got = next(cj, now, &hourly)
            .expect("no error")
            .expect("missed times");
        assert_eq!(got.scheduled_time, now);
        assert!(got.too_many_missed);
        // Case 7: now is way way ahead of last start time, but there is a short deadline.
        let cj = cron_job(t1 - hours(2), Some(t1 - hours(1)), Some(2 * 60 * 60));
        let got = next(cj, now, &hourly)
            .expect("no error")
            .expect("missed times");
        assert_eq!(got.scheduled_time, now);
        assert!(!got.too_many_missed);
        // Case 8: ensure the error from mostRecentScheduleTime gets populated up.
        let cj = cron_job(t1 + TimeDelta::seconds(10), None, None);
        assert_eq!(
            next(cj, t2, &parse("59 23 31 2 *")),
            Err(SCHEDULES_TOO_CLOSE_MESSAGE.to_string())
        );
    }

    // upstream cronjob_controllerv2.go getJobName / utils.go getTimeHashInMinutes
    #[test]
    fn job_name_is_the_scheduled_unix_minute() {
        let t = top_of_the_hour();
        assert_eq!(t.timestamp(), 1_463_652_000);
        assert_eq!(time_hash_in_minutes(t), 24_394_200);
        assert_eq!(job_name("mycronjob", t), "mycronjob-24394200");
        // Seconds within the minute do not change the name.
        assert_eq!(
            job_name("mycronjob", t + TimeDelta::seconds(59)),
            "mycronjob-24394200"
        );
    }

    // upstream pkg/apis/batch/validation/validation_test.go TestValidateCronJobScheduleTZ and
    // TestValidateCronJobSpec (time zones "broken", "still broken", "America/New_York")
    #[test]
    fn validation_rejects_tz_in_schedule_and_unknown_zones() {
        assert!(validate_schedule_format("0 * * * *", false, false).is_empty());
        assert_eq!(
            validate_schedule_format("TZ=UTC 0 * * * *", false, false),
            vec![
                "Invalid value: \"TZ=UTC 0 * * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
                    .to_string()
            ]
        );
        // An update that keeps an old TZ schedule passes, unless it also sets timeZone.
        assert!(validate_schedule_format("TZ=UTC 0 * * * *", true, false).is_empty());
        assert_eq!(
            validate_schedule_format("TZ=UTC 0 * * * *", true, true),
            vec![
                "Invalid value: \"TZ=UTC 0 * * * *\": cannot use both timeZone field and TZ or CRON_TZ in schedule"
                    .to_string()
            ]
        );
        assert_eq!(
            validate_schedule_format("61 * * * *", false, false),
            vec![
                "Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61"
                    .to_string()
            ]
        );
        assert!(validate_time_zone(None).is_empty());
        assert!(validate_time_zone(Some("America/New_York")).is_empty());
        assert!(validate_time_zone(Some("Etc/GMT+5")).is_empty());
        assert_eq!(
            validate_time_zone(Some("broken")),
            vec!["Invalid value: \"broken\": unknown time zone broken".to_string()]
        );
        assert_eq!(
            validate_time_zone(Some("still broken")),
            vec!["Invalid value: \"still broken\": unknown time zone still broken".to_string()]
        );
        assert_eq!(
            validate_time_zone(Some("")),
            vec!["Invalid value: \"\": timeZone must be nil or non-empty string".to_string()]
        );
        assert_eq!(
            validate_time_zone(Some("local")),
            vec!["Invalid value: \"local\": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones".to_string(),
                 "Invalid value: \"local\": unknown time zone local".to_string()]
        );
    }

    #[test]
    fn sim_time_and_wall_time_round_trip() {
        let epoch = 1_463_652_000;
        let t = SimTime::from_nanos(90 * NANOS_PER_SEC as u64 + 5);
        let wall = wall_time(epoch, t);
        assert_eq!(wall.timestamp(), epoch + 90);
        assert_eq!(wall.timestamp_subsec_nanos(), 5);
        assert_eq!(sim_time(epoch, wall), Some(t));
        assert_eq!(sim_time(epoch, at("2016-05-19T09:59:59Z")), None);
        assert_eq!(sim_time(epoch, top_of_the_hour()), Some(SimTime::ZERO));
    }
}
