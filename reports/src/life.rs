//! A pod's or a node's whole life in a run, for `kubesim explain`: the event log's entries about
//! it and what its record says (created, bound, running, ready, finished, deleted), in time
//! order, with a one-paragraph summary. Any event reason is listed; the reasons Kubernetes
//! components record about pods and nodes also get their meaning.

use std::collections::BTreeMap;
use std::fmt::Write;

use models::api::taints::TaintEffect;
use models::api::{NodeId, PodId, PodPhase};
use models::apiserver::ConditionStatus;
use models::events::EventRecord;
use models::store::{NodeInfo, PodRecord, Store};
use serde::Serialize;
use sim_core::SimTime;

use crate::table::human_amount;

/// One line of a life: an event from the log, or a moment the object's record keeps.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LifeEntry {
    /// Time since the start of the run, e.g. `2m50s`.
    pub at: String,
    pub at_ns: u64,
    /// `event` (the event log) or `status` (the object's record: timestamps, phase).
    pub source: &'static str,
    /// `Normal` or `Warning` for events; absent for status entries.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub event_type: Option<&'static str>,
    /// The object the event is about, `kind/name` (another object's event can name this one).
    pub object: String,
    pub reason: String,
    pub message: String,
    /// What the reason means, for the reasons Kubernetes components record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meaning: Option<&'static str>,
}

/// How a pod was evicted or preempted.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Eviction {
    pub at: String,
    /// `taint`, `pressure`, `drain`, `preemption` or `spot`.
    pub by: &'static str,
    /// The taint, the kubelet's message, the drained node, …
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodLife {
    /// `namespace/name`.
    pub pod: String,
    pub summary: String,
    /// The controller that owns the pod, `kind/name`.
    pub owner: Option<String>,
    pub phase: &'static str,
    /// The node it is (or was last) bound to.
    pub node: Option<String>,
    pub created_at: String,
    pub scheduled_at: Option<String>,
    /// `scheduler`, or `spec.nodeName` when the pod was created bound.
    pub bound_by: Option<&'static str>,
    pub scheduling_attempts: usize,
    pub failed_scheduling: usize,
    pub running_at: Option<String>,
    pub ready: bool,
    pub ready_since: Option<String>,
    pub restarts: i32,
    pub last_restart_reason: Option<String>,
    pub evictions: Vec<Eviction>,
    pub finished_at: Option<String>,
    pub exit_code: Option<i32>,
    pub deletion_timestamp: Option<String>,
    pub deleted_at: Option<String>,
    /// Earlier pods of the same name in this run (a StatefulSet's pods come back by name).
    pub earlier_pods_with_this_name: usize,
    pub run_ended_at: String,
    pub timeline: Vec<LifeEntry>,
}

/// A pod that was bound to the node.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePod {
    pub pod: String,
    pub bound_at: Option<String>,
    /// `bound` (still there), `finished` (ended, resources given back) or `deleted`.
    pub state: &'static str,
    pub phase: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeAllocation {
    pub resource: String,
    pub requested: i64,
    pub allocatable: i64,
    /// `requested` as a percentage of `allocatable` (0 when nothing is allocatable).
    pub percent: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeLife {
    pub node: String,
    pub summary: String,
    pub pool: Option<String>,
    pub zone: Option<String>,
    /// False once the node is gone (deleted or its machine crashed).
    pub exists: bool,
    /// The `Ready` condition at the end of the run and its `lastTransitionTime`.
    pub ready: &'static str,
    pub ready_since: String,
    pub memory_pressure: bool,
    pub disk_pressure: bool,
    pub unschedulable: bool,
    /// `key=value:effect`.
    pub taints: Vec<String>,
    /// Every pod that was bound to the node, in creation order.
    pub pods: Vec<NodePod>,
    pub pods_still_bound: usize,
    pub evictions: usize,
    pub allocation: Vec<NodeAllocation>,
    pub run_ended_at: String,
    pub timeline: Vec<LifeEntry>,
}

/// What a known event reason means; `None` for reasons kubesim has no gloss for (they are
/// still listed).
pub fn meaning(reason: &str, message: &str) -> Option<&'static str> {
    let m = message.to_ascii_lowercase();
    Some(match reason {
        "Scheduled" => "the scheduler bound the pod to a node",
        "FailedScheduling" => {
            "a scheduling attempt found no node; the pod waits for a cluster change or its back-off"
        }
        "Preempted" => "deleted to make room for a pod of higher priority",
        "Preempting" => "the kubelet stopped the container to make room for a critical pod",
        "Pulling" => "the kubelet started pulling the image",
        "Pulled" => "the image is on the node",
        "Failed" if m.contains("pull") => "the image could not be pulled (ErrImagePull)",
        "Failed" => "the kubelet could not create or start the container",
        "ErrImageNeverPull" => "the image is absent and imagePullPolicy is Never",
        "BackOff" if m.contains("pulling image") => {
            "waiting before the next pull attempt (ImagePullBackOff)"
        }
        "BackOff" => "the container keeps exiting; its restart is delayed (CrashLoopBackOff)",
        "Created" => "the container was created",
        "Started" => "the container started",
        "Unhealthy" => "a probe failed",
        "ProbeWarning" => "a probe succeeded with a warning",
        "Killing" if m.contains("probe") => "a failed probe made the kubelet restart the container",
        "Killing" => "the kubelet is stopping the container (the pod is being deleted)",
        "ExceededGracePeriod" => "the container outlived its grace period and was killed",
        "TaintManagerEviction" if m.starts_with("cancelling") => {
            "the taint went away in time: the eviction was cancelled"
        }
        "TaintManagerEviction" => {
            "evicted: the node has a NoExecute taint the pod does not tolerate (or no longer tolerates)"
        }
        "Evicted" => "evicted by the kubelet: the node ran short of a resource",
        "OOMKilling" | "SystemOOM" => "the kernel's OOM killer killed a process on the node",
        "OOMKilled" => "the container went over its memory limit and was OOM-killed",
        "FaultInjected" => "a fault from the scenario's timeline or fault model",
        "SuccessfulCreate" => "its controller created the pod",
        "SuccessfulDelete" => "its controller deleted the pod",
        "Drain" if m.starts_with("error") => "the eviction was refused; kubectl drain retries",
        "Drain" if m.starts_with("evicting") => "kubectl drain evicted the pod",
        "Drain" => "kubectl drain finished: the node's pods are gone",
        "DrainFailed" => "kubectl drain gave up",
        "NodeReady" => "the node's Ready condition became True",
        "NodeNotReady" if m.starts_with("node is not ready") => {
            "its node is not Ready: the pod was marked not ready"
        }
        "NodeNotReady" => "the node's Ready condition is no longer True",
        "NodeSchedulable" => "the node was uncordoned",
        "NodeNotSchedulable" => "the node was cordoned",
        "Starting" => "the kubelet started (the node booted or its kubelet restarted)",
        "Rebooted" => "the node rebooted",
        "RegisteredNode" => "the node joined the cluster",
        "RemovingNode" => "the node left the cluster",
        "SpotInterruption" => "the cloud reclaims the spot instance: its pods are evicted",
        "EvictionThresholdMet" => "the kubelet's eviction threshold is met",
        "NodeHasSufficientMemory" | "NodeHasNoDiskPressure" => "node pressure is over",
        "NodeHasInsufficientMemory" | "NodeHasDiskPressure" => "the node is under pressure",
        _ => return None,
    })
}

fn at(t: SimTime) -> String {
    t.to_string()
}

fn event_entry(e: &EventRecord) -> LifeEntry {
    LifeEntry {
        at: at(e.time()),
        at_ns: e.time_ns,
        source: "event",
        event_type: Some(match e.event_type {
            models::events::EventType::Normal => "Normal",
            models::events::EventType::Warning => "Warning",
        }),
        object: e.object.clone(),
        reason: e.reason.to_string(),
        message: e.message.clone(),
        meaning: meaning(e.reason, &e.message),
    }
}

fn status_entry(t: SimTime, object: &str, reason: &str, message: String) -> LifeEntry {
    LifeEntry {
        at: at(t),
        at_ns: t.as_nanos(),
        source: "status",
        event_type: None,
        object: object.to_string(),
        reason: reason.to_string(),
        message,
        meaning: None,
    }
}

/// Whether `message` names `name` as a whole word (`web-1` is not named by `web-10`).
fn mentions(message: &str, name: &str) -> bool {
    message
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
        .any(|w| w.trim_end_matches('.') == name)
}

/// The pod record called `name` (`name` or `namespace/name`): the live one, else the last
/// one created, as a deleted pod's name can be taken again.
pub fn find_pod(store: &Store, name: &str) -> Option<PodId> {
    if let Some(id) = store.pod_id(name) {
        return Some(id);
    }
    let (ns, n) = name.split_once('/').unwrap_or(("default", name));
    store
        .pods
        .iter()
        .rev()
        .find(|r| r.pod.name == n && r.pod.namespace == ns)
        .map(|r| r.id)
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions, so `cahce`
/// is one edit from `cache`), for did-you-mean suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

/// Names close to `want`: those it starts or is part of (generated pod names carry random
/// suffixes, so `web` should find `web-7d4b9-x2k4q`), then those a typo or two away, at most
/// `limit`, each once.
pub fn similar_names<'a>(
    want: &str,
    names: impl IntoIterator<Item = &'a str>,
    limit: usize,
) -> Vec<String> {
    let want = want.rsplit('/').next().unwrap_or(want);
    let lower = want.to_lowercase();
    let mut ranked: BTreeMap<(usize, String), ()> = BTreeMap::new();
    for name in names {
        let n = name.to_lowercase();
        let distance = edit_distance(&lower, &n);
        let budget = (want.chars().count() / 3).clamp(1, 3);
        let rank = if n.starts_with(&lower) {
            0
        } else if n.contains(&lower) {
            1
        } else if distance <= budget {
            1 + distance
        } else {
            continue;
        };
        ranked.insert((rank, name.to_string()), ());
    }
    let mut out: Vec<String> = Vec::new();
    for ((_, name), ()) in ranked {
        if !out.contains(&name) {
            out.push(name);
        }
        if out.len() == limit {
            break;
        }
    }
    out
}

/// Reasons by which a pod leaves its node against its will.
fn eviction_kind(reason: &str, message: &str) -> Option<&'static str> {
    match reason {
        "TaintManagerEviction" if !message.to_ascii_lowercase().starts_with("cancelling") => {
            Some("taint")
        }
        "Evicted" => Some("pressure"),
        "Drain" => Some("drain"),
        "Preempted" => Some("preemption"),
        "SpotInterruption" => Some("spot"),
        _ => None,
    }
}

const WELL_KNOWN_NO_EXECUTE_TAINTS: [&str; 3] = [
    "node.kubernetes.io/unreachable",
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/out-of-service",
];

/// The taint behind a taint-manager eviction: upstream's message ("Marking for deletion Pod
/// ns/name") does not name it, so it is looked for in the message, then in the node's events
/// before the eviction, then among the node's NoExecute taints at the end of the run.
fn evicting_taint(
    store: &Store,
    events: &[EventRecord],
    node: Option<NodeId>,
    e: &EventRecord,
) -> String {
    let info = node.map(|n| store.node(n));
    let mut keys: Vec<String> = WELL_KNOWN_NO_EXECUTE_TAINTS
        .iter()
        .map(|k| k.to_string())
        .collect();
    if let Some(info) = info {
        for t in &info.node.taints {
            if t.effect == TaintEffect::NoExecute && !keys.contains(&t.key) {
                keys.push(t.key.clone());
            }
        }
    }
    if let Some(k) = keys.iter().find(|k| e.message.contains(k.as_str())) {
        return k.clone();
    }
    if let Some(info) = info {
        let object = format!("node/{}", info.name());
        if let Some(k) = events
            .iter()
            .take_while(|n| n.time_ns <= e.time_ns)
            .filter(|n| n.object == object)
            .filter_map(|n| keys.iter().find(|k| n.message.contains(k.as_str())))
            .last()
        {
            return k.clone();
        }
        let now: Vec<String> = info
            .node
            .taints
            .iter()
            .filter(|t| t.effect == TaintEffect::NoExecute)
            .map(|t| t.key.clone())
            .collect();
        if !now.is_empty() {
            return now.join(", ");
        }
        return format!("a NoExecute taint of node {}", info.name());
    }
    "a NoExecute taint".into()
}

/// The first sentence of a scheduler message, enough for a summary.
fn first_sentence(message: &str) -> &str {
    match message.find(". ") {
        Some(i) => &message[..i],
        None => message.trim_end_matches('.'),
    }
}

fn fault_verb(message: &str) -> &str {
    message
        .strip_prefix("fault ")
        .and_then(|m| m.split_whitespace().next())
        .unwrap_or("fault")
}

/// The pod's life from its record and the event log, up to `end` (the end of the run).
pub fn pod_life(store: &Store, events: &[EventRecord], id: PodId, end: SimTime) -> PodLife {
    let record = store.pod(id);
    let name = &record.pod.name;
    let subject = format!("pod/{name}");
    let same_name: Vec<&PodRecord> = store
        .pods
        .iter()
        .map(|r| &**r)
        .filter(|r| r.pod.name == *name && r.pod.namespace == record.pod.namespace)
        .collect();
    let earlier = same_name.iter().filter(|r| r.id < id).count();
    // Events carry only the pod's name: each pod of that name owns the events from its
    // creation until the next one's.
    let from = record.created_at.as_nanos();
    let until = same_name
        .iter()
        .filter(|r| r.id > id)
        .map(|r| r.created_at.as_nanos())
        .min();
    let in_window = |e: &EventRecord| e.time_ns >= from && until.is_none_or(|u| e.time_ns < u);
    let own: Vec<&EventRecord> = events
        .iter()
        .filter(|e| e.object == subject && in_window(e))
        .collect();
    let key = record.pod.key();
    let node_name = record.node.map(|n| store.node(n).name().to_string());
    // What happened to its node while the pod was bound there explains restarts and
    // evictions.
    let node_object = node_name.as_ref().map(|n| format!("node/{n}"));
    let bound_from = record.scheduled_at.map(SimTime::as_nanos);
    let bound_until = record
        .deleted_at
        .or(record.finished_at)
        .map(SimTime::as_nanos);
    let on_node = |e: &EventRecord| {
        node_object.as_ref() == Some(&e.object)
            && node_health_reason(e.reason)
            && bound_from.is_some_and(|t| e.time_ns >= t)
            && bound_until.is_none_or(|t| e.time_ns <= t)
    };
    let mut entries: Vec<(u64, u8, usize, LifeEntry)> = Vec::new();
    let mut context: Vec<&EventRecord> = Vec::new();
    for (seq, e) in events.iter().enumerate() {
        if !in_window(e) {
            continue;
        }
        let about_it = e.object == subject
            || (!e.object.starts_with("pod/")
                && e.message.to_ascii_lowercase().contains("pod")
                && (mentions(&e.message, name) || e.message.contains(&key)));
        let node_health = !about_it && on_node(e);
        if about_it || node_health {
            entries.push((e.time_ns, 1, seq, event_entry(e)));
        }
        if e.object == subject || node_health {
            context.push(e);
        }
    }
    let owner = record
        .pod
        .owner
        .as_ref()
        .map(|o| format!("{}/{}", o.kind.resource(), o.name));
    let scheduled_events = own.iter().filter(|e| e.reason == "Scheduled").count();
    let failed: Vec<&&EventRecord> = own
        .iter()
        .filter(|e| e.reason == "FailedScheduling")
        .collect();
    let bound_by = match (record.scheduled_at, scheduled_events) {
        (Some(_), 0) => Some("spec.nodeName"),
        (Some(_), _) => Some("scheduler"),
        (None, _) => None,
    };
    // Status entries sort after the events of their instant, in the order written here, except
    // creation and the deletion request, which come first as the causes of what follows.
    let mut status = |t: SimTime, rank: u8, reason: &str, message: String| {
        let seq = events.len() + entries.len();
        entries.push((
            t.as_nanos(),
            rank,
            seq,
            status_entry(t, &subject, reason, message),
        ));
    };
    status(
        record.created_at,
        0,
        "created",
        match &owner {
            Some(o) => format!("pod {key} created by {o}"),
            None => format!("pod {key} created"),
        },
    );
    if let (Some(t), Some("spec.nodeName"), Some(n)) = (record.scheduled_at, bound_by, &node_name) {
        status(
            t,
            2,
            "bound",
            format!("bound to {n} by spec.nodeName (the scheduler was not involved)"),
        );
    }
    if let Some(t) = record.running_at {
        status(t, 2, "running", "phase Running".into());
    }
    if let (true, Some(t)) = (record.ready, record.ready_since) {
        status(t, 2, "ready", "condition Ready=True".into());
    }
    if let Some(t) = record.finished_at {
        status(
            t,
            2,
            "terminated",
            format!(
                "phase {}, exit code {}",
                record.phase.as_str(),
                record.exit_code.unwrap_or_default()
            ),
        );
    }
    if let Some(t) = record.deletion_timestamp {
        status(
            t,
            0,
            "deletionRequested",
            "deletionTimestamp set: graceful deletion started".into(),
        );
    }
    if let Some(t) = record.deleted_at {
        status(t, 2, "deleted", "removed from the API server".into());
    }
    entries.sort_by_key(|e| (e.0, e.1, e.2));
    let timeline: Vec<LifeEntry> = entries.into_iter().map(|e| e.3).collect();

    let mut evictions = Vec::new();
    for e in events.iter().filter(|e| in_window(e)) {
        let about_it = e.object == subject || mentions(&e.message, name);
        let Some(by) = eviction_kind(e.reason, &e.message) else {
            continue;
        };
        let detail = match by {
            "taint" if e.object == subject => evicting_taint(store, events, record.node, e),
            "pressure" if e.object == subject => e.message.clone(),
            "preemption" if e.object == subject => e.message.clone(),
            "drain" if about_it && e.message.starts_with("evicting pod") => {
                e.object.trim_start_matches("node/").to_string()
            }
            _ => continue,
        };
        evictions.push(Eviction {
            at: at(e.time()),
            by,
            detail,
        });
    }
    let last_restart_reason = (record.restarts > 0)
        .then(|| restart_reason(&context, record))
        .flatten();

    let mut life = PodLife {
        pod: key,
        summary: String::new(),
        owner,
        phase: record.phase.as_str(),
        node: node_name,
        created_at: at(record.created_at),
        scheduled_at: record.scheduled_at.map(at),
        bound_by,
        scheduling_attempts: failed.len() + scheduled_events,
        failed_scheduling: failed.len(),
        running_at: record.running_at.map(at),
        ready: record.ready,
        ready_since: record.ready_since.filter(|_| record.ready).map(at),
        restarts: record.restarts,
        last_restart_reason,
        evictions,
        finished_at: record.finished_at.map(at),
        exit_code: record.exit_code,
        deletion_timestamp: record.deletion_timestamp.map(at),
        deleted_at: record.deleted_at.map(at),
        earlier_pods_with_this_name: earlier,
        run_ended_at: at(end),
        timeline,
    };
    life.summary = pod_summary(&life, record, &own, &context, &failed);
    life
}

/// Why the container last restarted: the cause nearest before the last restart back-off
/// (or the end), among the pod's events and its node's.
fn restart_reason(context: &[&EventRecord], record: &PodRecord) -> Option<String> {
    let last_backoff = context
        .iter()
        .rposition(|e| e.reason == "BackOff" && !e.message.contains("pulling image"))
        .map_or(context.len(), |i| i + 1);
    context[..last_backoff]
        .iter()
        .rev()
        .find_map(|e| {
            let m = &e.message;
            let on_node = e.object.starts_with("node/");
            match e.reason {
                "OOMKilled" | "OOMKilling" if !on_node => Some("OOMKilled".to_string()),
                "Unhealthy" => Some(format!("probe failed: {m}")),
                "Killing" if m.contains("probe") => Some(m.clone()),
                "FaultInjected" if on_node => Some(format!(
                    "fault {} on its node {}",
                    fault_verb(m),
                    e.object.trim_start_matches("node/")
                )),
                "FaultInjected" => Some(format!("fault {}", fault_verb(m))),
                "Starting" | "Rebooted" if on_node => Some(format!(
                    "its node {} restarted",
                    e.object.trim_start_matches("node/")
                )),
                _ if !on_node && m.contains("OOMKilled") => Some("OOMKilled".to_string()),
                _ => None,
            }
        })
        .or_else(|| record.exit_code.map(|c| format!("Error, exit code {c}")))
        .or_else(|| Some("the container exited".to_string()))
}

/// Reasons of node events that matter to the pods bound to the node.
fn node_health_reason(reason: &str) -> bool {
    matches!(
        reason,
        "FaultInjected"
            | "Starting"
            | "Rebooted"
            | "NodeReady"
            | "NodeNotReady"
            | "SpotInterruption"
            | "RemovingNode"
            | "SystemOOM"
            | "OOMKilling"
            | "EvictionThresholdMet"
            | "NodeHasInsufficientMemory"
            | "NodeHasDiskPressure"
            | "NodeHasInsufficientPID"
    ) || reason.contains("Taint")
}

fn pod_summary(
    life: &PodLife,
    record: &PodRecord,
    own: &[&EventRecord],
    context: &[&EventRecord],
    failed: &[&&EventRecord],
) -> String {
    let mut parts: Vec<String> = Vec::new();
    let by = life
        .owner
        .as_ref()
        .map(|o| format!(" by {o}"))
        .unwrap_or_default();
    parts.push(format!(
        "pod {} was created{by} at {}",
        life.pod, life.created_at
    ));
    let last_failure = failed
        .last()
        .map(|e| format!("; last: {}", first_sentence(&e.message)))
        .unwrap_or_default();
    match (life.bound_by, &life.node, &life.scheduled_at) {
        (Some("spec.nodeName"), Some(n), Some(t)) => parts.push(format!(
            "bound to {n} at {t} by spec.nodeName (the scheduler was not involved)"
        )),
        (Some(_), Some(n), Some(t)) if failed.is_empty() => {
            parts.push(format!("scheduled to {n} at {t}"))
        }
        (Some(_), Some(n), Some(t)) => parts.push(format!(
            "scheduled to {n} at {t} after {} failed attempt(s){last_failure}",
            failed.len()
        )),
        _ if !failed.is_empty() => parts.push(format!(
            "could not be scheduled ({} failed attempt(s){last_failure})",
            failed.len()
        )),
        _ => parts.push("was never attempted by the scheduler".into()),
    }
    let pull_failures = own
        .iter()
        .filter(|e| e.reason == "Failed" && e.message.contains("ErrImagePull"))
        .count();
    if pull_failures > 0 {
        parts.push(format!("failed to pull its image {pull_failures} time(s)"));
    }
    if let Some(t) = &life.running_at {
        parts.push(format!("was running at {t}"));
    }
    let unhealthy = own.iter().filter(|e| e.reason == "Unhealthy").count();
    if unhealthy > 0 {
        parts.push(format!("failed {unhealthy} probe(s)"));
    }
    if life.restarts > 0 {
        parts.push(format!(
            "restarted {} time(s) (last: {})",
            life.restarts,
            life.last_restart_reason.as_deref().unwrap_or("unknown")
        ));
    }
    let faults: Vec<String> = context
        .iter()
        .filter(|e| e.reason == "FaultInjected")
        .map(|e| match e.object.strip_prefix("node/") {
            Some(node) => format!("{} of {node} at {}", fault_verb(&e.message), e.time()),
            None => format!("{} at {}", fault_verb(&e.message), e.time()),
        })
        .collect();
    if !faults.is_empty() {
        parts.push(format!("was hit by fault(s): {}", faults.join(", ")));
    }
    for ev in &life.evictions {
        parts.push(match ev.by {
            "taint" => format!("was evicted at {} by taint {}", ev.at, ev.detail),
            "pressure" => format!("was evicted at {} by the kubelet ({})", ev.at, ev.detail),
            "drain" => format!("was evicted at {} by the drain of {}", ev.at, ev.detail),
            "preemption" => format!("was preempted at {} ({})", ev.at, ev.detail),
            _ => format!("was evicted at {} ({})", ev.at, ev.detail),
        });
    }
    if let Some(t) = &life.finished_at {
        let verb = if record.phase == PodPhase::Succeeded {
            "succeeded"
        } else {
            "failed"
        };
        parts.push(format!(
            "{verb} at {t} (exit code {})",
            life.exit_code.unwrap_or_default()
        ));
    }
    match (&life.deletion_timestamp, &life.deleted_at) {
        (Some(a), Some(b)) if a != b => {
            parts.push(format!("was marked for deletion at {a}, deleted at {b}"))
        }
        (_, Some(b)) => parts.push(format!("was deleted at {b}")),
        (Some(a), None) => parts.push(format!("was marked for deletion at {a}")),
        (None, None) => {}
    }
    let mut out = join_clauses(&parts);
    let _ = write!(out, ". At the end of the run ({})", life.run_ended_at);
    if record.deleted_at.is_some() {
        out.push_str(" it no longer exists");
    } else {
        let _ = write!(out, " it is {}", life.phase);
        if let Some(n) = &life.node {
            let _ = write!(out, " on {n}");
        }
        match &life.ready_since {
            Some(t) => {
                let _ = write!(out, ", Ready since {t}");
            }
            None if record.phase == PodPhase::Running => out.push_str(", not Ready"),
            None => {}
        }
    }
    if life.earlier_pods_with_this_name > 0 {
        let _ = write!(
            out,
            " ({} earlier pod(s) of this name are not part of this story)",
            life.earlier_pods_with_this_name
        );
    }
    out.push('.');
    out
}

/// `a, b, c and d`.
fn join_clauses(parts: &[String]) -> String {
    match parts.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// Reasons of pod events that belong in their node's story too.
fn pod_reason_for_node(reason: &str, message: &str) -> bool {
    eviction_kind(reason, message).is_some()
        || matches!(reason, "OOMKilling" | "OOMKilled" | "FaultInjected")
}

/// The node's life from its record, the event log and the pods bound to it.
pub fn node_life(store: &Store, events: &[EventRecord], id: NodeId, end: SimTime) -> NodeLife {
    let info: &NodeInfo = store.node(id);
    let name = info.name();
    let subject = format!("node/{name}");
    // The pods that were bound here, by name, with the time each one's events start: event
    // objects carry names only.
    let mut by_name: BTreeMap<&str, Vec<&PodRecord>> = BTreeMap::new();
    for r in store.kept_pods() {
        by_name.entry(r.pod.name.as_str()).or_default().push(r);
    }
    let on_this_node = |pod_name: &str, t: u64| -> bool {
        by_name.get(pod_name).is_some_and(|records| {
            records
                .iter()
                .rev()
                .find(|r| r.created_at.as_nanos() <= t)
                .is_some_and(|r| r.node == Some(id))
        })
    };
    let mut entries: Vec<(u64, u8, usize, LifeEntry)> = Vec::new();
    let mut registered = false;
    let mut evictions = 0;
    for (seq, e) in events.iter().enumerate() {
        let include = if e.object == subject {
            registered |= e.reason == "RegisteredNode";
            true
        } else if let Some(pod) = e.object.strip_prefix("pod/") {
            pod_reason_for_node(e.reason, &e.message) && on_this_node(pod, e.time_ns)
        } else {
            false
        };
        if include {
            let drained_pod = e.reason == "Drain" && e.message.starts_with("evicting pod");
            if drained_pod || (e.object != subject && eviction_kind(e.reason, &e.message).is_some())
            {
                evictions += 1;
            }
            entries.push((e.time_ns, 1, seq, event_entry(e)));
        }
    }
    if !registered {
        entries.push((
            0,
            0,
            0,
            status_entry(
                SimTime::ZERO,
                &subject,
                "registered",
                "a node of the scenario, there from the start".into(),
            ),
        ));
    }
    let c = &info.conditions;
    if c.ready_transition > SimTime::ZERO {
        entries.push((
            c.ready_transition.as_nanos(),
            2,
            usize::MAX,
            status_entry(
                c.ready_transition,
                &subject,
                "readyCondition",
                format!(
                    "Ready={} (lastTransitionTime, as the run ends)",
                    c.ready.as_str()
                ),
            ),
        ));
    }
    entries.sort_by_key(|e| (e.0, e.1, e.2));
    let timeline: Vec<LifeEntry> = entries.into_iter().map(|e| e.3).collect();

    let pods: Vec<NodePod> = store
        .pods
        .iter()
        .filter(|r| r.node == Some(id))
        .map(|r| NodePod {
            pod: r.pod.key(),
            bound_at: r.scheduled_at.map(at),
            state: if r.deleted_at.is_some() {
                "deleted"
            } else if info.pods.contains(&r.id) {
                "bound"
            } else {
                "finished"
            },
            phase: r.phase.as_str(),
            deleted_at: r.deleted_at.map(at),
        })
        .collect();
    let mut allocation = Vec::new();
    let alloc = &info.node.allocatable;
    let req = &info.requested;
    let mut push = |resource: &str, requested: i64, allocatable: i64| {
        if requested == 0 && allocatable == 0 {
            return;
        }
        allocation.push(NodeAllocation {
            resource: resource.to_string(),
            requested,
            allocatable,
            percent: if allocatable > 0 {
                (requested as f64 * 1000.0 / allocatable as f64).round() / 10.0
            } else {
                0.0
            },
        });
    };
    push("cpu", req.cpu_milli, alloc.cpu_milli);
    push("memory", req.memory, alloc.memory);
    push(
        "ephemeral-storage",
        req.ephemeral_storage,
        alloc.ephemeral_storage,
    );
    push(
        "pods",
        i64::try_from(info.pods.len()).unwrap_or(i64::MAX),
        alloc.pods,
    );
    for (resource, amount) in &alloc.extended {
        push(resource, req.extended_amount(resource), *amount);
    }
    let mut life = NodeLife {
        node: name.to_string(),
        summary: String::new(),
        pool: info.node.pool.clone(),
        zone: info
            .node
            .labels
            .get(models::api::LABEL_ZONE)
            .map(str::to_string),
        exists: info.exists,
        ready: c.ready.as_str(),
        ready_since: at(c.ready_transition),
        memory_pressure: c.memory_pressure,
        disk_pressure: c.disk_pressure,
        unschedulable: info.node.unschedulable,
        taints: info
            .node
            .taints
            .iter()
            .map(|t| {
                if t.value.is_empty() {
                    format!("{}:{}", t.key, t.effect.as_str())
                } else {
                    format!("{}={}:{}", t.key, t.value, t.effect.as_str())
                }
            })
            .collect(),
        pods_still_bound: info.pods.len(),
        pods,
        evictions,
        allocation,
        run_ended_at: at(end),
        timeline,
    };
    life.summary = node_summary(&life, c.ready);
    life
}

/// How many names a summary lists before it says "and N more".
const SUMMARY_NAMES: usize = 5;

fn names_list(names: &[&str]) -> String {
    let shown: Vec<&str> = names.iter().take(SUMMARY_NAMES).copied().collect();
    let more = names.len().saturating_sub(SUMMARY_NAMES);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

fn node_summary(life: &NodeLife, ready: ConditionStatus) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut whereabouts: Vec<String> = Vec::new();
    if let Some(p) = &life.pool {
        whereabouts.push(format!("pool {p}"));
    }
    if let Some(z) = &life.zone {
        whereabouts.push(format!("zone {z}"));
    }
    let whereabouts = if whereabouts.is_empty() {
        String::new()
    } else {
        format!(" ({})", whereabouts.join(", "))
    };
    let registered = life
        .timeline
        .iter()
        .find(|e| e.reason == "RegisteredNode" || e.reason == "registered")
        .map_or_else(|| "0s".to_string(), |e| e.at.clone());
    parts.push(format!(
        "node {}{whereabouts} was registered at {registered}",
        life.node
    ));
    let own = format!("node/{}", life.node);
    let moments: Vec<String> = life
        .timeline
        .iter()
        .filter(|e| e.object == own && e.source == "event")
        .filter_map(|e| {
            let what = match e.reason.as_str() {
                "FaultInjected" => format!("fault {}", fault_verb(&e.message)),
                "NodeNotReady" => "NotReady".into(),
                "NodeReady" => "Ready".into(),
                "Starting" => "kubelet started".into(),
                "SpotInterruption" => "spot interruption".into(),
                "RemovingNode" => "removed".into(),
                "Rebooted" => "rebooted".into(),
                "NodeNotSchedulable" => "cordoned".into(),
                "NodeSchedulable" => "uncordoned".into(),
                r if r.contains("Taint") => r.to_string(),
                _ => return None,
            };
            Some(format!("{what} at {}", e.at))
        })
        .collect();
    const MOMENTS: usize = 8;
    if !moments.is_empty() {
        let more = moments.len().saturating_sub(MOMENTS);
        let mut s = moments[..moments.len().min(MOMENTS)].join(", ");
        if more > 0 {
            let _ = write!(s, " and {more} more");
        }
        parts.push(format!("saw {s}"));
    }
    if life.evictions > 0 {
        parts.push(format!(
            "{} pod eviction(s) took place on it",
            life.evictions
        ));
    }
    let bound: Vec<&str> = life
        .pods
        .iter()
        .filter(|p| p.state == "bound")
        .map(|p| p.pod.as_str())
        .collect();
    parts.push(if life.pods.is_empty() {
        "no pod ran on it".into()
    } else if bound.is_empty() {
        format!("{} pod(s) ran on it, none is left", life.pods.len())
    } else {
        format!(
            "{} pod(s) ran on it, {} still bound ({})",
            life.pods.len(),
            bound.len(),
            names_list(&bound)
        )
    });
    let mut out = join_clauses(&parts);
    let _ = write!(
        out,
        ". At the end of the run ({}) it is ",
        life.run_ended_at
    );
    if !life.exists {
        out.push_str("gone");
    } else {
        let _ = write!(out, "Ready={} since {}", ready.as_str(), life.ready_since);
        if life.memory_pressure {
            out.push_str(", under memory pressure");
        }
        if life.disk_pressure {
            out.push_str(", under disk pressure");
        }
        out.push_str(if life.unschedulable {
            ", cordoned"
        } else {
            ", schedulable"
        });
        if life.taints.is_empty() {
            out.push_str(", untainted");
        } else {
            let _ = write!(out, ", tainted {}", life.taints.join(", "));
        }
    }
    let allocation: Vec<String> = life
        .allocation
        .iter()
        .map(|a| {
            let amount = |v: i64| {
                if a.resource == "pods" {
                    v.to_string()
                } else {
                    human_amount(&a.resource, v)
                }
            };
            format!(
                "{} {}/{} ({}%)",
                a.resource,
                amount(a.requested),
                amount(a.allocatable),
                a.percent
            )
        })
        .collect();
    if !allocation.is_empty() {
        let _ = write!(out, "; requested {}", allocation.join(", "));
    }
    out.push('.');
    out
}

/// The timeline as aligned columns: time (right-aligned), type, reason, message and, for
/// known reasons, their meaning. Another object's entries name it.
pub fn timeline_text(subject: &str, timeline: &[LifeEntry]) -> String {
    let time_width = timeline
        .iter()
        .map(|e| e.at.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let reason_width = timeline
        .iter()
        .map(|e| e.reason.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>time_width$}  {:<7}  {:<reason_width$}  MESSAGE",
        "TIME", "TYPE", "REASON"
    );
    for e in timeline {
        let mut message = if e.object == subject {
            e.message.clone()
        } else {
            format!("[{}] {}", e.object, e.message)
        };
        if let Some(m) = e.meaning {
            let _ = write!(message, " — {m}");
        }
        let _ = writeln!(
            out,
            "{:>time_width$}  {:<7}  {:<reason_width$}  {message}",
            e.at,
            e.event_type.unwrap_or("status"),
            e.reason
        );
    }
    out
}

impl PodLife {
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}\n", self.summary);
        let name = self.pod.rsplit('/').next().unwrap_or(&self.pod);
        out.push_str(&timeline_text(&format!("pod/{name}"), &self.timeline));
        out
    }
}

impl NodeLife {
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}\n", self.summary);
        out.push_str(&timeline_text(
            &format!("node/{}", self.node),
            &self.timeline,
        ));
        if !self.pods.is_empty() {
            let width = self
                .pods
                .iter()
                .map(|p| p.pod.len())
                .max()
                .unwrap_or(3)
                .max(3);
            let bound_width = self
                .pods
                .iter()
                .filter_map(|p| p.bound_at.as_ref().map(String::len))
                .max()
                .unwrap_or(5)
                .max(5);
            let _ = writeln!(out, "\npods that ran on {}:", self.node);
            let _ = writeln!(
                out,
                "{:<width$}  {:<8}  {:<9}  {:>bound_width$}  DELETED",
                "POD", "STATE", "PHASE", "BOUND"
            );
            for p in &self.pods {
                let _ = writeln!(
                    out,
                    "{:<width$}  {:<8}  {:<9}  {:>bound_width$}  {}",
                    p.pod,
                    p.state,
                    p.phase,
                    p.bound_at.as_deref().unwrap_or("-"),
                    p.deleted_at.as_deref().unwrap_or("-")
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::api::taints::Taint;
    use models::api::{Node, Pod};
    use models::events::EventType;

    fn event(secs: u64, reason: &'static str, object: &str, message: &str) -> EventRecord {
        EventRecord {
            time_ns: secs * 1_000_000_000,
            event_type: EventType::Warning,
            reason,
            object: object.into(),
            message: message.into(),
        }
    }

    /// One node, one pod bound to it at 1s, the node tainted unreachable.
    fn store() -> (Store, PodId, NodeId) {
        let mut store = Store::new();
        let node = store.add_node(Node {
            name: "general-1".into(),
            taints: vec![Taint {
                key: "node.kubernetes.io/unreachable".into(),
                value: String::new(),
                effect: TaintEffect::NoExecute,
            }],
            ..Node::default()
        });
        let pod = store.add_pod(
            Pod {
                name: "web-abc".into(),
                ..Pod::default()
            },
            SimTime::ZERO,
        );
        store.bind(pod, node, SimTime::from_nanos(100_000_000));
        (store, pod, node)
    }

    #[test]
    fn the_pod_story_is_in_time_order_with_meanings_and_unknown_reasons_kept() {
        let (mut store, pod, node) = store();
        store.pod_mut(pod).restarts = 3;
        store.delete_pod(pod, SimTime::from_secs(351));
        let events = vec![
            event(
                0,
                "Scheduled",
                "pod/web-abc",
                "Successfully assigned default/web-abc to general-1",
            ),
            event(
                60,
                "Unhealthy",
                "pod/web-abc",
                "Liveness probe failed: HTTP probe failed with statuscode: 500",
            ),
            event(
                120,
                "OOMKilled",
                "pod/web-abc",
                "Container app was OOMKilled",
            ),
            event(
                120,
                "BackOff",
                "pod/web-abc",
                "Back-off restarting failed container",
            ),
            event(
                200,
                "SomethingNew",
                "pod/web-abc",
                "a reason kubesim has no gloss for",
            ),
            event(
                300,
                "NodeNotReady",
                "node/general-1",
                "Node general-1 status is now: NodeNotReady",
            ),
            event(
                350,
                "TaintManagerEviction",
                "pod/web-abc",
                "Marking for deletion Pod default/web-abc",
            ),
            event(360, "Scheduled", "pod/web-abcd", "not about this pod"),
        ];
        let life = pod_life(&store, &events, pod, SimTime::from_secs(600));
        let reasons: Vec<&str> = life.timeline.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "created",
                "Scheduled",
                "Unhealthy",
                "OOMKilled",
                "BackOff",
                "SomethingNew",
                "NodeNotReady",
                "TaintManagerEviction",
                "deleted"
            ]
        );
        let unknown = &life.timeline[5];
        assert_eq!(unknown.meaning, None);
        assert_eq!(unknown.at, "3m20s");
        assert!(
            life.timeline[7]
                .meaning
                .is_some_and(|m| m.contains("NoExecute"))
        );
        assert_eq!(life.last_restart_reason.as_deref(), Some("OOMKilled"));
        assert_eq!(
            life.evictions,
            [Eviction {
                at: "5m50s".into(),
                by: "taint",
                detail: "node.kubernetes.io/unreachable".into()
            }]
        );
        assert_eq!(life.bound_by, Some("scheduler"));
        assert_eq!(
            life.summary,
            "pod default/web-abc was created at 0s, scheduled to general-1 at 100ms, failed 1 \
             probe(s), restarted 3 time(s) (last: OOMKilled), was evicted at 5m50s by taint \
             node.kubernetes.io/unreachable and was deleted at 5m51s. At the end of the run \
             (10m) it no longer exists."
        );
        let _ = node;
    }

    #[test]
    fn the_node_story_has_its_events_its_pods_evictions_and_allocation() {
        let (store, _, node) = store();
        let events = vec![
            event(
                120,
                "FaultInjected",
                "node/general-1",
                "fault crashNodes injected: machine down",
            ),
            event(
                300,
                "NodeNotReady",
                "node/general-1",
                "Node general-1 status is now: NodeNotReady",
            ),
            event(
                350,
                "TaintManagerEviction",
                "pod/web-abc",
                "Marking for deletion Pod default/web-abc",
            ),
            event(
                360,
                "Unhealthy",
                "pod/web-abc",
                "pod events other than evictions stay out",
            ),
            event(420, "Starting", "node/general-1", "Starting kubelet."),
        ];
        let life = node_life(&store, &events, node, SimTime::from_secs(600));
        let reasons: Vec<&str> = life.timeline.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "registered",
                "FaultInjected",
                "NodeNotReady",
                "TaintManagerEviction",
                "Starting"
            ]
        );
        assert_eq!(life.evictions, 1);
        assert_eq!(life.pods.len(), 1);
        assert_eq!(life.pods[0].state, "bound");
        assert_eq!(life.taints, ["node.kubernetes.io/unreachable:NoExecute"]);
        assert!(
            life.summary
                .contains("saw fault crashNodes at 2m, NotReady at 5m, kubelet started at 7m"),
            "{}",
            life.summary
        );
        let text = life.to_text();
        assert!(
            text.contains("[pod/web-abc] Marking for deletion"),
            "{text}"
        );
    }

    #[test]
    fn a_message_names_a_pod_only_as_a_whole_word() {
        assert!(mentions("Created pod: web-1", "web-1"));
        assert!(mentions("evicting pod default/web-1.", "web-1"));
        assert!(!mentions("Created pod: web-10", "web-1"));
        assert!(!mentions("Created pod: my-web-1", "web-1"));
    }

    #[test]
    fn close_names_are_suggested_prefixes_first() {
        let names = ["web-7d4b9-x2k4q", "web-7d4b9-aaaaa", "cache", "api"];
        assert_eq!(
            similar_names("web", names, 5),
            ["web-7d4b9-aaaaa", "web-7d4b9-x2k4q"]
        );
        assert_eq!(similar_names("cahce", names, 5), ["cache"]);
        assert_eq!(similar_names("default/cahce", names, 5), ["cache"]);
        assert!(similar_names("zzzzzz", names, 5).is_empty());
        assert_eq!(edit_distance("cahce", "cache"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn known_reasons_mean_what_their_message_says() {
        assert!(
            meaning("BackOff", "Back-off pulling image \"x\"")
                .is_some_and(|m| m.contains("ImagePullBackOff"))
        );
        assert!(
            meaning("BackOff", "Back-off restarting failed container")
                .is_some_and(|m| m.contains("CrashLoopBackOff"))
        );
        assert!(meaning("Failed", "Error: ErrImagePull").is_some_and(|m| m.contains("pulled")));
        assert_eq!(meaning("NoSuchReason", ""), None);
        assert_eq!(
            first_sentence("0/4 nodes are available: x. preemption: y"),
            "0/4 nodes are available: x"
        );
        assert_eq!(
            join_clauses(&["a".into(), "b".into(), "c".into()]),
            "a, b and c"
        );
    }
}
