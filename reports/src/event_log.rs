//! The event log read back from `events.jsonl` and printed as `kubectl events -A` prints it:
//! NAMESPACE, LAST SEEN (the age at the end of the run, as kubectl prints ages), TYPE, REASON,
//! OBJECT, MESSAGE, in columns as wide as their widest cell. Written as `events.txt` in two
//! passes over `events.jsonl` (widths, then lines), so memory does not grow with the log.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};

use serde::{Deserialize, Serialize};
use sim_core::{SimDuration, SimTime};

/// One line of `events.jsonl`: an Event object after aggregation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventLine {
    /// Nanoseconds since the scenario start of the last occurrence (`lastTimestamp`).
    pub time_ns: u64,
    #[serde(rename = "type")]
    pub event_type: String,
    pub reason: String,
    /// `kind/name`.
    pub object: String,
    pub message: String,
    pub count: u64,
    /// Nanoseconds since the scenario start of the first occurrence (`firstTimestamp`).
    pub first_time_ns: u64,
}

/// The namespace of an Event's object. Events name their object `kind/name`; pods outside
/// `default` are looked up by name, everything else (nodes, and objects of `default`) is in
/// `default`, where kubectl lists a node's Events.
#[derive(Clone, Debug, Default)]
pub struct Namespaces {
    pods: BTreeMap<String, String>,
}

impl Namespaces {
    /// From `(namespace, name)` of pods; only those outside `default` are kept.
    pub fn of_pods<'a>(pods: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        Namespaces {
            pods: pods
                .filter(|(ns, _)| *ns != "default")
                .map(|(ns, name)| (name.to_string(), ns.to_string()))
                .collect(),
        }
    }

    pub fn of(&self, object: &str) -> &str {
        match object.split_once('/') {
            Some(("pod", name)) => self.pods.get(name).map_or("default", String::as_str),
            _ => "default",
        }
    }
}

/// kubectl's age of an instant at `end` (`HumanDuration(time.Since(t))`).
fn age(end: SimTime, t_ns: u64) -> String {
    end.since(SimTime::from_nanos(t_ns)).human()
}

impl EventLine {
    /// LAST SEEN as `kubectl events` prints it (upstream `getInterval`): the age of the last
    /// occurrence, and for a repeated Event `(xCOUNT over AGE-OF-THE-FIRST)`.
    pub fn last_seen(&self, end: SimTime) -> String {
        if self.count > 1 {
            format!(
                "{} (x{} over {})",
                age(end, self.time_ns),
                self.count,
                age(end, self.first_time_ns)
            )
        } else {
            age(end, self.first_time_ns)
        }
    }

    pub fn cells(&self, end: SimTime, namespaces: &Namespaces) -> [String; 6] {
        [
            namespaces.of(&self.object).to_string(),
            self.last_seen(end),
            self.event_type.clone(),
            self.reason.clone(),
            self.object.clone(),
            self.message.trim().to_string(),
        ]
    }
}

pub const HEADER: [&str; 6] = [
    "NAMESPACE",
    "LAST SEEN",
    "TYPE",
    "REASON",
    "OBJECT",
    "MESSAGE",
];

/// What `kubesim events` keeps: `--for kind/name` (or a bare name), `--type`.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub object: Option<String>,
    pub event_type: Option<String>,
}

impl Filter {
    pub fn keeps(&self, e: &EventLine) -> bool {
        let object_ok = match &self.object {
            None => true,
            Some(want) if want.contains('/') => {
                let (kind, name) = want.split_once('/').unwrap_or(("", want));
                e.object.split_once('/').is_some_and(|(k, n)| {
                    n == name && k.eq_ignore_ascii_case(kind.trim_end_matches('s'))
                        || e.object.eq_ignore_ascii_case(want)
                })
            }
            Some(want) => e.object.split_once('/').is_some_and(|(_, n)| n == want),
        };
        let type_ok = self
            .event_type
            .as_ref()
            .is_none_or(|t| e.event_type.eq_ignore_ascii_case(t));
        object_ok && type_ok
    }
}

/// Reads `events.jsonl`, calling `each` with every line that parses; a bad line is an error
/// naming its number.
pub fn for_each_line(input: impl BufRead, mut each: impl FnMut(EventLine)) -> io::Result<()> {
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let e: EventLine = serde_json::from_str(&line).map_err(|err| {
            io::Error::new(io::ErrorKind::InvalidData, format!("line {}: {err}", i + 1))
        })?;
        each(e);
    }
    Ok(())
}

/// Column widths of the header and `lines`.
#[derive(Clone, Debug)]
pub struct Widths([usize; 6]);

impl Default for Widths {
    fn default() -> Self {
        Widths(HEADER.map(|h| h.chars().count()))
    }
}

impl Widths {
    pub fn fit(&mut self, cells: &[String; 6]) {
        for (w, c) in self.0.iter_mut().zip(cells) {
            *w = (*w).max(c.chars().count());
        }
    }

    /// One line, columns separated by three spaces as kubectl's tabwriter pads them.
    pub fn line(&self, cells: &[&str; 6]) -> String {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            out.push_str(c);
            if i + 1 < cells.len() {
                let pad = self.0[i].saturating_sub(c.chars().count()) + 3;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.truncate(out.trim_end().len());
        out
    }
}

/// The whole table for `events` (already filtered), with the header.
pub fn table(events: &[EventLine], end: SimTime, namespaces: &Namespaces) -> String {
    let cells: Vec<[String; 6]> = events.iter().map(|e| e.cells(end, namespaces)).collect();
    let mut widths = Widths::default();
    cells.iter().for_each(|c| widths.fit(c));
    let mut out = widths.line(&HEADER);
    out.push('\n');
    for c in &cells {
        out.push_str(&widths.line(&c.each_ref().map(String::as_str)));
        out.push('\n');
    }
    out
}

/// Writes `events.txt` from `events.jsonl`: one pass for the column widths, one for the lines.
pub fn write_text(
    jsonl: &std::path::Path,
    out: &mut impl Write,
    end: SimTime,
    namespaces: &Namespaces,
) -> io::Result<()> {
    let open = || std::fs::File::open(jsonl).map(io::BufReader::new);
    let mut widths = Widths::default();
    for_each_line(open()?, |e| widths.fit(&e.cells(end, namespaces)))?;
    writeln!(out, "{}", widths.line(&HEADER))?;
    let mut result = Ok(());
    for_each_line(open()?, |e| {
        if result.is_ok() {
            let c = e.cells(end, namespaces);
            result = writeln!(out, "{}", widths.line(&c.each_ref().map(String::as_str)));
        }
    })?;
    result?;
    out.flush()
}

/// The run's end as a [`SimTime`] from `summary.json`'s `simulatedSeconds`.
pub fn end_from_seconds(seconds: f64) -> SimTime {
    SimTime::ZERO.saturating_add(SimDuration::from_nanos(
        (seconds.max(0.0) * 1e9).round() as u64
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(t_s: u64, count: u64, first_s: u64) -> EventLine {
        EventLine {
            time_ns: t_s * 1_000_000_000,
            event_type: "Warning".into(),
            reason: "FailedScheduling".into(),
            object: "pod/web-1".into(),
            message: "0/3 nodes are available".into(),
            count,
            first_time_ns: first_s * 1_000_000_000,
        }
    }

    #[test]
    fn last_seen_is_the_age_at_the_end_and_a_repeat_says_since_when() {
        let end = SimTime::from_nanos(3600 * 1_000_000_000);
        // Seen once 5 minutes before the end.
        assert_eq!(line(3300, 1, 3300).last_seen(end), "5m");
        // upstream getInterval: "%s (x%d over %s)", last seen and the first occurrence's age.
        assert_eq!(line(3540, 11, 600).last_seen(end), "60s (x11 over 50m)");
    }

    #[test]
    fn the_table_is_aligned_and_namespaced() {
        let ns = Namespaces::of_pods([("shop", "web-1")].into_iter());
        let end = SimTime::from_nanos(3600 * 1_000_000_000);
        let text = table(&[line(3300, 1, 3300)], end, &ns);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "NAMESPACE   LAST SEEN   TYPE      REASON             OBJECT      MESSAGE"
        );
        assert_eq!(
            lines[1],
            "shop        5m          Warning   FailedScheduling   pod/web-1   0/3 nodes are available"
        );
    }

    #[test]
    fn filters_keep_an_object_and_a_type() {
        let e = line(1, 1, 1);
        let f = |object: Option<&str>, t: Option<&str>| Filter {
            object: object.map(str::to_string),
            event_type: t.map(str::to_string),
        };
        assert!(f(Some("pod/web-1"), None).keeps(&e));
        assert!(f(Some("pods/web-1"), None).keeps(&e));
        assert!(f(Some("web-1"), Some("warning")).keeps(&e));
        assert!(!f(Some("node/web-1"), None).keeps(&e));
        assert!(!f(None, Some("Normal")).keeps(&e));
    }
}
