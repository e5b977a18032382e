//! The event log users read: Kubernetes `Event`s as `kubectl get events` shows them.
//!
//! A run keeps its Events in memory (what tests and `explain` read), streams them to disk as
//! they are recorded, or both. The stream aggregates repeated Events as client-go's
//! `EventCorrelator` does before they reach the API server (`tools/record/events_cache.go`,
//! `eventLogger.eventObserve`): an Event whose source object, type, reason and message equal one
//! seen recently is not a new object but a bump of that one's `count` and `lastTimestamp`, so a
//! pod retried for thirty days is one line, `(x8640 over 30d)`, and memory does not grow per
//! retry. "Recently" is upstream's LRU cache of 4096 keys (`maxLruCacheEntries`): an Event
//! leaves the cache, and is written, when 4096 other keys were used after it, or at the end.
//! Lines are therefore in the order of each Event's last occurrence, as
//! `kubectl get events --sort-by=.lastTimestamp` lists them.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;
use sim_core::{SimDuration, SimTime};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRecord {
    /// Nanoseconds since scenario start.
    pub time_ns: u64,
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// Upstream reason strings: `Scheduled`, `FailedScheduling`, `SuccessfulCreate`,
    /// `ScalingReplicaSet`, `Started`.
    pub reason: &'static str,
    /// `kind/name`, e.g. `pod/web-7d4b9-x2k4q`.
    pub object: String,
    pub message: String,
}

/// The header line of `events.txt`.
pub fn text_header() -> String {
    format!(
        "{:<10} {:<8} {:<18} {:<40} {}",
        "LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"
    )
}

impl EventRecord {
    pub fn time(&self) -> SimTime {
        SimTime::from_nanos(self.time_ns)
    }

    /// One line in the shape of `kubectl get events`: `LAST SEEN  TYPE  REASON  OBJECT  MESSAGE`.
    pub fn to_text_line(&self) -> String {
        let shown = SimDuration::from_nanos(self.time_ns).truncated_to(SimDuration::from_millis(1));
        text_line(&shown.to_string(), self)
    }
}

fn text_line(seen: &str, e: &EventRecord) -> String {
    format!(
        "{:<10} {:<8} {:<18} {:<40} {}",
        seen,
        e.event_type.as_str(),
        e.reason,
        e.object,
        e.message
    )
}

/// One Event object after aggregation: the last occurrence (`timeNs`, as `lastTimestamp`),
/// how many there were and when the first was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregatedEvent {
    #[serde(flatten)]
    pub last: EventRecord,
    pub count: u64,
    pub first_time_ns: u64,
}

impl AggregatedEvent {
    /// The `kubectl get events` line: LAST SEEN is `12m0s (x11 over 10m)` for a repeated
    /// Event (upstream `printOneEvent`: last seen, count, and since the first, the span in
    /// kubectl's `HumanDuration`), with times from the scenario start (to the millisecond)
    /// rather than ages.
    pub fn to_text_line(&self) -> String {
        let last = self.last.time();
        let shown =
            SimDuration::from_nanos(last.as_nanos()).truncated_to(SimDuration::from_millis(1));
        let seen = if self.count > 1 {
            let over = last.since(SimTime::from_nanos(self.first_time_ns));
            format!("{shown} (x{} over {})", self.count, over.human())
        } else {
            shown.to_string()
        };
        text_line(&seen, &self.last)
    }
}

/// Upstream `maxLruCacheEntries` (client-go `tools/record/events_cache.go`).
pub const CORRELATOR_CACHE_ENTRIES: usize = 4096;

/// How many Events the stream keeps for the HTML report (it shows the first ones).
pub const REPORT_EVENTS: usize = 300;

/// Upstream `getEventKey` without the fields every kubesim Event shares (source component
/// and host, API version, uid): what makes two Events "the same" — held as a 64-bit digest of
/// those fields, so the correlator compares integers; a hit is confirmed against the open
/// Event's own fields, so two different Events never merge.
type EventKey = u64;

fn event_key(e: &EventRecord) -> EventKey {
    let mut d = sim_core::Digest::new();
    d.write_str(&e.object);
    d.write_str(e.event_type.as_str());
    d.write_str(e.reason);
    d.write_str(&e.message);
    d.value()
}

fn same_event(a: &EventRecord, b: &EventRecord) -> bool {
    a.event_type == b.event_type
        && a.reason == b.reason
        && a.object == b.object
        && a.message == b.message
}

/// One line of `events.jsonl`: the aggregated Event's fields, flat.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonLine<'a> {
    time_ns: u64,
    #[serde(rename = "type")]
    event_type: EventType,
    reason: &'static str,
    object: &'a str,
    message: &'a str,
    count: u64,
    first_time_ns: u64,
}

/// Events aggregated and written as JSON lines and as `kubectl get events` text.
pub struct EventStream {
    jsonl: Box<dyn Write + Send>,
    text: Box<dyn Write + Send>,
    /// Open Events by key, with their last use.
    open: BTreeMap<EventKey, u64>,
    /// Open Events by last use: the first is the least recently used.
    by_use: BTreeMap<u64, AggregatedEvent>,
    next_use: u64,
    capacity: usize,
    written: u64,
    first: Vec<AggregatedEvent>,
    by_reason: BTreeMap<&'static str, u64>,
    error: Option<io::Error>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("open", &self.open.len())
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl EventStream {
    /// A stream writing JSON lines to `jsonl` and the text form (header first) to `text`.
    pub fn new(jsonl: Box<dyn Write + Send>, text: Box<dyn Write + Send>) -> Self {
        Self::with_capacity(jsonl, text, CORRELATOR_CACHE_ENTRIES)
    }

    /// As [`EventStream::new`] with another correlator cache size (tests use small ones).
    pub fn with_capacity(
        jsonl: Box<dyn Write + Send>,
        mut text: Box<dyn Write + Send>,
        capacity: usize,
    ) -> Self {
        let error = writeln!(text, "{}", text_header()).err();
        EventStream {
            jsonl,
            text,
            open: BTreeMap::new(),
            by_use: BTreeMap::new(),
            next_use: 0,
            capacity: capacity.max(1),
            written: 0,
            first: Vec::new(),
            by_reason: BTreeMap::new(),
            error,
        }
    }

    /// Observes one Event: a bump of an open one with the same key, or a new one (which may
    /// push the least recently used one out to disk).
    pub fn observe(&mut self, e: &EventRecord) {
        *self.by_reason.entry(e.reason).or_insert(0) += 1;
        let key = event_key(e);
        let use_ = self.next_use;
        self.next_use += 1;
        if let Some(&last_use) = self.open.get(&key) {
            let mut agg = self
                .by_use
                .remove(&last_use)
                .expect("every open key has its aggregate");
            if same_event(&agg.last, e) {
                agg.count += 1;
                agg.last.time_ns = e.time_ns;
                self.open.insert(key, use_);
                self.by_use.insert(use_, agg);
                return;
            }
            // Two different Events with one digest: the open one goes out first.
            self.open.remove(&key);
            self.write(agg);
        }
        self.open.insert(key, use_);
        self.by_use.insert(
            use_,
            AggregatedEvent {
                last: e.clone(),
                count: 1,
                first_time_ns: e.time_ns,
            },
        );
        if self.by_use.len() > self.capacity {
            self.evict_oldest();
        }
    }

    fn evict_oldest(&mut self) {
        let Some((_, agg)) = self.by_use.pop_first() else {
            return;
        };
        self.open.remove(&event_key(&agg.last));
        self.write(agg);
    }

    fn write(&mut self, agg: AggregatedEvent) {
        if self.error.is_none() {
            let line = JsonLine {
                time_ns: agg.last.time_ns,
                event_type: agg.last.event_type,
                reason: agg.last.reason,
                object: &agg.last.object,
                message: &agg.last.message,
                count: agg.count,
                first_time_ns: agg.first_time_ns,
            };
            let r = serde_json::to_writer(&mut self.jsonl, &line)
                .map_err(io::Error::other)
                .and_then(|()| self.jsonl.write_all(b"\n"))
                .and_then(|()| writeln!(self.text, "{}", agg.to_text_line()));
            self.error = r.err();
        }
        self.written += 1;
        if self.first.len() < REPORT_EVENTS {
            self.first.push(agg);
        }
    }

    /// Writes the Events still open and flushes both files.
    pub fn finish(&mut self) -> io::Result<()> {
        while !self.by_use.is_empty() {
            self.evict_oldest();
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.jsonl.flush()?;
        self.text.flush()
    }

    /// The first write error, if any (writing stops at it).
    pub fn error(&self) -> Option<&io::Error> {
        self.error.as_ref()
    }

    /// Event objects written so far (each may stand for many occurrences).
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The first Event objects written, for the report.
    pub fn first_written(&self) -> &[AggregatedEvent] {
        &self.first
    }

    /// Occurrences recorded per reason.
    pub fn count_by_reason(&self) -> &BTreeMap<&'static str, u64> {
        &self.by_reason
    }
}

/// A run's Events: kept in memory (every occurrence, in order), streamed, or both. Reads as
/// the slice of the kept ones, which is empty when a streaming log keeps none.
#[derive(Debug)]
pub struct EventLog {
    kept: Vec<EventRecord>,
    keep: bool,
    recorded: u64,
    stream: Option<EventStream>,
    /// Every Event's content (time, type, reason, object, message) as it was recorded: what
    /// the run digest takes in so that names, chosen nodes and messages count.
    content: sim_core::Digest,
    /// The last Event recorded when they are not kept, for describing where two runs part.
    last: Option<EventRecord>,
    /// The last FailedScheduling message of each pod not scheduled since (bounded by the
    /// pending pods), for the list of pods pending at the end.
    failed_scheduling: BTreeMap<String, String>,
}

impl Default for EventLog {
    fn default() -> Self {
        EventLog {
            kept: Vec::new(),
            keep: true,
            recorded: 0,
            stream: None,
            content: sim_core::Digest::new(),
            last: None,
            failed_scheduling: BTreeMap::new(),
        }
    }
}

impl EventLog {
    /// Every Event kept in memory, nothing written.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// Starts streaming into `stream` (the Events kept so far go first); with `keep` the
    /// Events also stay in memory (the invariant checkers read them).
    pub fn start_streaming(&mut self, mut stream: EventStream, keep: bool) {
        for e in &self.kept {
            stream.observe(e);
        }
        if !keep {
            self.kept = Vec::new();
        }
        self.keep = keep;
        self.stream = Some(stream);
    }

    pub fn push(&mut self, e: EventRecord) {
        self.recorded += 1;
        self.content.write_u64(e.time_ns);
        self.content.write_str(e.event_type.as_str());
        self.content.write_str(e.reason);
        self.content.write_str(&e.object);
        self.content.write_str(&e.message);
        match e.reason {
            // A pod retried for days records this on every attempt: reuse its entry.
            "FailedScheduling" => match self.failed_scheduling.get_mut(&e.object) {
                Some(m) => m.clone_from(&e.message),
                None => {
                    self.failed_scheduling
                        .insert(e.object.clone(), e.message.clone());
                }
            },
            "Scheduled" => {
                self.failed_scheduling.remove(&e.object);
            }
            _ => {}
        }
        if let Some(s) = &mut self.stream {
            s.observe(&e);
        }
        if self.keep {
            self.kept.push(e);
        } else {
            self.last = Some(e);
        }
    }

    /// The last FailedScheduling message about `object` (`pod/NAME`) if it has not been
    /// scheduled since.
    pub fn last_failed_scheduling(&self, object: &str) -> Option<&str> {
        self.failed_scheduling.get(object).map(String::as_str)
    }

    /// The running digest of every Event's content so far.
    pub fn content_digest(&self) -> sim_core::Digest {
        self.content
    }

    /// The last Event recorded.
    pub fn last(&self) -> Option<&EventRecord> {
        if self.keep {
            self.kept.last()
        } else {
            self.last.as_ref()
        }
    }

    /// Occurrences recorded over the run.
    pub fn recorded(&self) -> u64 {
        self.recorded
    }

    pub fn stream(&self) -> Option<&EventStream> {
        self.stream.as_ref()
    }

    pub fn stream_mut(&mut self) -> Option<&mut EventStream> {
        self.stream.as_mut()
    }
}

impl std::ops::Deref for EventLog {
    type Target = [EventRecord];
    fn deref(&self) -> &[EventRecord] {
        &self.kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("not poisoned").extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().expect("not poisoned").clone()).expect("utf-8")
        }
    }

    fn ev(secs: u64, object: &str, reason: &'static str, message: &str) -> EventRecord {
        EventRecord {
            time_ns: secs * 1_000_000_000,
            event_type: EventType::Warning,
            reason,
            object: object.into(),
            message: message.into(),
        }
    }

    #[test]
    fn repeated_events_become_one_with_a_count_and_first_and_last_time() {
        let (j, t) = (Shared::default(), Shared::default());
        let mut s = EventStream::new(Box::new(j.clone()), Box::new(t.clone()));
        for i in 0..11 {
            s.observe(&ev(60 + 30 * i, "pod/a", "FailedScheduling", "0/3 nodes"));
        }
        s.observe(&ev(400, "pod/b", "FailedScheduling", "0/3 nodes"));
        s.finish().expect("in memory");
        let lines: Vec<serde_json::Value> = j
            .text()
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["object"], "pod/a");
        assert_eq!(lines[0]["count"], 11);
        assert_eq!(lines[0]["firstTimeNs"], 60_000_000_000u64);
        assert_eq!(lines[0]["timeNs"], 360_000_000_000u64);
        assert_eq!(lines[1]["count"], 1);
        let text = t.text();
        assert!(text.starts_with("LAST SEEN"), "{text}");
        assert!(text.contains("(x11 over 5m"), "{text}");
        assert_eq!(s.count_by_reason()["FailedScheduling"], 12);
        assert_eq!(s.written(), 2);
    }

    #[test]
    fn the_least_recently_used_event_leaves_the_cache_and_a_later_repeat_starts_anew() {
        let j = Shared::default();
        let mut s = EventStream::with_capacity(Box::new(j.clone()), Box::new(io::sink()), 2);
        s.observe(&ev(1, "pod/a", "X", "m"));
        s.observe(&ev(2, "pod/b", "X", "m"));
        s.observe(&ev(3, "pod/a", "X", "m"));
        s.observe(&ev(4, "pod/c", "X", "m")); // evicts b, the least recently used
        s.observe(&ev(5, "pod/b", "X", "m"));
        s.finish().expect("in memory");
        let objects: Vec<(String, u64)> = j
            .text()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("JSON");
                (
                    v["object"].as_str().expect("object").to_string(),
                    v["count"].as_u64().expect("count"),
                )
            })
            .collect();
        let want: Vec<(String, u64)> = [("pod/b", 1), ("pod/a", 2), ("pod/c", 1), ("pod/b", 1)]
            .iter()
            .map(|(o, n)| (o.to_string(), *n))
            .collect();
        assert_eq!(objects, want);
    }

    #[test]
    fn a_streaming_log_keeps_nothing_unless_asked() {
        let mut log = EventLog::in_memory();
        log.push(ev(1, "pod/a", "X", "m"));
        log.start_streaming(
            EventStream::new(Box::new(io::sink()), Box::new(io::sink())),
            false,
        );
        log.push(ev(2, "pod/a", "X", "m"));
        assert!(log.is_empty());
        assert_eq!(log.recorded(), 2);
        assert_eq!(log.stream().map(|s| s.count_by_reason()["X"]), Some(2));
    }

    #[test]
    fn text_lines_read_to_the_millisecond_and_spans_as_kubectl_prints_them() {
        let e = EventRecord {
            time_ns: 30 * 86_400_000_000_000 + 508_764_307_112,
            event_type: EventType::Warning,
            reason: "FailedScheduling",
            object: "pod/web-0".into(),
            message: "0/3 nodes are available".into(),
        };
        assert!(
            e.to_text_line().starts_with("30d8m28.764s "),
            "{}",
            e.to_text_line()
        );
        let agg = AggregatedEvent {
            last: e,
            count: 8640,
            first_time_ns: 1_000_000_000,
        };
        let line = agg.to_text_line();
        // HumanDuration of 30 days and a bit: "30d" (upstream prints days alone past 8 days).
        assert!(line.starts_with("30d8m28.764s (x8640 over 30d) "), "{line}");
    }
}
