//! The event log users read: Kubernetes `Event`s as `kubectl get events` shows them.

use serde::Serialize;
use sim_core::SimTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum EventType {
    Normal,
    Warning,
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

impl EventRecord {
    pub fn time(&self) -> SimTime {
        SimTime::from_nanos(self.time_ns)
    }

    /// One line in the shape of `kubectl get events`: `LAST SEEN  TYPE  REASON  OBJECT  MESSAGE`.
    pub fn to_text_line(&self) -> String {
        format!(
            "{:<10} {:<8} {:<18} {:<40} {}",
            self.time().to_string(),
            match self.event_type {
                EventType::Normal => "Normal",
                EventType::Warning => "Warning",
            },
            self.reason,
            self.object,
            self.message
        )
    }
}
