//! What a run cost the machine, for the closing line of `kubesim run`: wall time and peak
//! memory. Read outside the simulation (after it, or around it), never inside a run.

// The CLI measures its own wall time for the user; the simulation never sees it.
#![allow(clippy::disallowed_types)]

use std::time::{Duration, Instant};

/// Wall time since the CLI started the measured work.
pub struct Stopwatch(Instant);

impl Stopwatch {
    pub fn start() -> Self {
        Stopwatch(Instant::now())
    }

    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

/// The process's peak resident set (`VmHWM` of `/proc/self/status`), where the system
/// reports it (Linux); `None` elsewhere.
pub fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// `2.41 s wall, 125,000 events/s, peak memory 683.2 MiB`.
pub fn describe(wall: Duration, events: u64) -> String {
    let secs = wall.as_secs_f64();
    let mut line = format!("{secs:.2} s wall");
    if secs > 0.0 {
        line.push_str(&format!(
            ", {} events/s",
            thousands((events as f64 / secs) as u64)
        ));
    }
    if let Some(bytes) = peak_resident_bytes() {
        line.push_str(&format!(
            ", peak memory {:.1} MiB",
            bytes as f64 / (1024.0 * 1024.0)
        ));
    }
    line
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn the_line_names_wall_time_and_rate() {
        let line = describe(Duration::from_millis(2000), 10_000);
        assert!(line.starts_with("2.00 s wall, 5,000 events/s"), "{line}");
    }
}
