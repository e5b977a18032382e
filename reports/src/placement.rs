//! Where every pod ran and which nodes there were, over the whole run: `pods.jsonl` and
//! `nodes.jsonl` (one JSON object a line, written from the store at the end), and the
//! `kubectl get pods|nodes` tables read back from them at any simulated time.
//!
//! A pod's row holds the times of its life (created, scheduled, started, finished, deletion
//! requested, deleted), so the placement at any instant follows from the rows alone: a pod is
//! listed at `t` when it was created by `t` and not yet deleted, on the node it was bound to if
//! it was bound by `t`. Readiness and restarts are known only as they were at the end: a pod
//! counts as ready at an earlier `t` only if it was still ready at the end and had been since
//! before `t`.

use std::io::{self, BufRead, Write};

use models::api::{LABEL_ZONE, PodPhase};
use models::apiserver::ConditionStatus;
use models::store::Store;
use serde::{Deserialize, Serialize};
use sim_core::{SimDuration, SimTime};

/// One pod of the run, as `kubectl get pods -o wide` shows it plus the times of its life.
/// Times are seconds since the scenario start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodRow {
    pub namespace: String,
    pub name: String,
    /// `kind/name` of the controller that owns the pod (`replicaset/web-7d4b9`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The node the pod was bound to, if it ever was, with that node's pool and zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// `status.phase` at the end of the run (a deleted pod's last phase).
    pub phase: String,
    /// `status.reason` (`Evicted`) or the main container's last termination reason
    /// (`OOMKilled`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub containers: u32,
    /// The `Ready` condition at the end, and since when it held.
    pub ready: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_seconds: Option<f64>,
    /// Container restarts at the end.
    pub restarts: i32,
    pub created_seconds: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_seconds: Option<f64>,
    /// When the containers ended (Succeeded or Failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_seconds: Option<f64>,
    /// `metadata.deletionTimestamp`: graceful deletion started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminating_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_seconds: Option<f64>,
}

/// A node's allocatable resources, in the units the keys name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Allocatable {
    pub cpu_millis: i64,
    pub memory_bytes: i64,
    pub ephemeral_storage_bytes: i64,
    pub pods: i64,
    /// Extended resources (`nvidia.com/gpu`) by name, in their integer units.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub extended: std::collections::BTreeMap<String, i64>,
}

/// One node of the run. Times are seconds since the scenario start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRow {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    pub added_seconds: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_seconds: Option<f64>,
    /// The `Ready` condition at the end is `True`.
    pub ready: bool,
    /// `spec.unschedulable` (cordoned) at the end.
    pub unschedulable: bool,
    pub allocatable: Allocatable,
}

fn secs(t: SimTime) -> f64 {
    t.as_secs_f64()
}

/// The rows of every pod whose record is kept, in creation order (every pod the run had,
/// unless it retired deleted pods: see `models::retired_pods`).
pub fn pod_rows(store: &Store) -> impl Iterator<Item = PodRow> + '_ {
    store.kept_pods().map(move |r| pod_row(store, r))
}

/// A pod's `pods.jsonl` line, newline included, as [`write_jsonl`] writes it (the
/// `models::retired_pods::RowWriter` of a run's outputs).
pub fn write_pod_row(store: &Store, r: &models::store::PodRecord, out: &mut Vec<u8>) {
    // Serializing this struct into memory cannot fail (no maps with non-string keys).
    if serde_json::to_writer(&mut *out, &pod_row(store, r)).is_ok() {
        out.push(b'\n');
    }
}

/// The row of one pod.
pub fn pod_row(store: &Store, r: &models::store::PodRecord) -> PodRow {
    {
        let node = r.node.map(|id| &store.node(id).node);
        let containers = r
            .pod
            .containers
            .as_ref()
            .map_or(1, |c| c.containers.len().max(1));
        PodRow {
            namespace: r.pod.namespace.clone(),
            name: r.pod.name.clone(),
            owner: r
                .pod
                .owner
                .as_ref()
                .map(|o| format!("{}/{}", o.kind.resource(), o.name)),
            node: node.map(|n| n.name.clone()),
            pool: node.and_then(|n| n.pool.clone()),
            zone: node.and_then(|n| n.labels.get(LABEL_ZONE).map(str::to_string)),
            phase: r.phase.as_str().to_string(),
            reason: r.reason.or(r.last_termination_reason).map(str::to_string),
            containers: u32::try_from(containers).unwrap_or(u32::MAX),
            ready: r.ready,
            ready_seconds: r.ready_since.filter(|_| r.ready).map(secs),
            restarts: r.restarts,
            created_seconds: secs(r.created_at),
            scheduled_seconds: r.scheduled_at.map(secs),
            started_seconds: r.running_at.map(secs),
            finished_seconds: r.finished_at.map(secs),
            terminating_seconds: r.deletion_timestamp.map(secs),
            deleted_seconds: r.deleted_at.map(secs),
        }
    }
}

/// The rows of every node the run had, in registration order.
pub fn node_rows(store: &Store) -> impl Iterator<Item = NodeRow> + '_ {
    store.nodes.iter().map(|n| {
        let a = &n.node.allocatable;
        NodeRow {
            name: n.node.name.clone(),
            pool: n.node.pool.clone(),
            zone: n.node.labels.get(LABEL_ZONE).map(str::to_string),
            added_seconds: secs(n.added_at),
            removed_seconds: n.removed_at.map(secs),
            ready: n.conditions.ready == ConditionStatus::True,
            unschedulable: n.node.unschedulable,
            allocatable: Allocatable {
                cpu_millis: a.cpu_milli,
                memory_bytes: a.memory,
                ephemeral_storage_bytes: a.ephemeral_storage,
                pods: a.pods,
                extended: a.extended.iter().cloned().collect(),
            },
        }
    })
}

/// Writes `rows` as JSON lines.
pub fn write_jsonl<T: Serialize>(
    out: &mut impl Write,
    rows: impl Iterator<Item = T>,
) -> io::Result<()> {
    for row in rows {
        serde_json::to_writer(&mut *out, &row).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Reads JSON lines written by [`write_jsonl`]; a bad line is an error naming its number.
pub fn read_jsonl<T: for<'de> Deserialize<'de>>(input: impl BufRead) -> io::Result<Vec<T>> {
    let mut rows = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let row = serde_json::from_str(&line).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("line {}: {e}", i + 1))
        })?;
        rows.push(row);
    }
    Ok(rows)
}

/// At or before `t` (seconds), with a nanosecond of slack for the round trip through f64.
fn by(at: Option<f64>, t: f64) -> bool {
    at.is_some_and(|a| a <= t + 1e-9)
}

impl PodRow {
    /// The pod exists at `t`: created, not yet deleted.
    pub fn exists_at(&self, t: f64) -> bool {
        by(Some(self.created_seconds), t) && !by(self.deleted_seconds, t)
    }

    /// The node the pod is on at `t`, if bound by then.
    pub fn node_at(&self, t: f64) -> Option<&str> {
        if by(self.scheduled_seconds, t) {
            self.node.as_deref()
        } else {
            None
        }
    }

    /// kubectl's STATUS column at `t` (upstream `printPod`: the phase, replaced by the
    /// pod's reason, then by a container's waiting or terminated reason, and `Terminating`
    /// once a deletion is requested).
    pub fn status_at(&self, t: f64) -> String {
        let mut status = if by(self.finished_seconds, t) {
            match (&self.reason, self.phase.as_str()) {
                (Some(r), _) => r.clone(),
                (None, "Succeeded") => "Completed".to_string(),
                (None, "Failed") => "Error".to_string(),
                (None, p) => p.to_string(),
            }
        } else if by(self.started_seconds, t) {
            PodPhase::Running.as_str().to_string()
        } else if by(self.scheduled_seconds, t) {
            "ContainerCreating".to_string()
        } else {
            PodPhase::Pending.as_str().to_string()
        };
        if by(self.terminating_seconds, t) {
            status = "Terminating".to_string();
        }
        status
    }

    /// The pod's `Ready` condition at `t`, as far as the row knows it.
    pub fn ready_at(&self, t: f64) -> bool {
        self.ready && by(self.ready_seconds, t) && !by(self.terminating_seconds, t)
    }

    /// kubectl's READY column: ready containers / containers.
    pub fn ready_text(&self, t: f64) -> String {
        let ready = if self.ready_at(t) { self.containers } else { 0 };
        format!("{ready}/{}", self.containers)
    }
}

impl NodeRow {
    pub fn exists_at(&self, t: f64) -> bool {
        by(Some(self.added_seconds), t) && !by(self.removed_seconds, t)
    }

    /// kubectl's STATUS column (upstream `printNode`): `Ready` or `NotReady`, with
    /// `SchedulingDisabled` when cordoned; conditions are known as they were at the end.
    pub fn status(&self) -> String {
        let mut s = if self.ready { "Ready" } else { "NotReady" }.to_string();
        if self.unschedulable {
            s.push_str(",SchedulingDisabled");
        }
        s
    }
}

/// kubectl's AGE: the time since `since`, as `HumanDuration` prints it.
pub fn age(now: f64, since: f64) -> String {
    let d = (now - since).max(0.0);
    SimDuration::from_nanos((d * 1e9).round() as u64).human()
}

/// Columns separated by three spaces, each as wide as its widest cell (kubectl's tabwriter
/// with padding 3), the last one not padded.
pub fn aligned(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i] - cell.chars().count() + 3;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Which pods `get pods` lists: one namespace, or all of them (`-A`, with a NAMESPACE column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Namespaces {
    One(String),
    All,
}

/// The pods that exist at `t` in `namespaces`, sorted as kubectl sorts them (namespace, name).
pub fn pods_at<'a>(pods: &'a [PodRow], t: f64, namespaces: &Namespaces) -> Vec<&'a PodRow> {
    let mut shown: Vec<&PodRow> = pods
        .iter()
        .filter(|p| p.exists_at(t))
        .filter(|p| match namespaces {
            Namespaces::One(ns) => &p.namespace == ns,
            Namespaces::All => true,
        })
        .collect();
    shown.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    shown
}

/// `kubectl get pods [-o wide]` at `t`.
pub fn pods_table(pods: &[&PodRow], t: f64, wide: bool, namespaces: &Namespaces) -> String {
    let all = *namespaces == Namespaces::All;
    let mut header: Vec<&str> = Vec::new();
    if all {
        header.push("NAMESPACE");
    }
    header.extend(["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    if wide {
        header.extend(["NODE", "NOMINATED NODE", "READINESS GATES"]);
    }
    let mut rows = vec![header.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    for p in pods {
        let mut row = Vec::new();
        if all {
            row.push(p.namespace.clone());
        }
        row.extend([
            p.name.clone(),
            p.ready_text(t),
            p.status_at(t),
            p.restarts.to_string(),
            age(t, p.created_seconds),
        ]);
        if wide {
            row.extend([
                p.node_at(t).unwrap_or("<none>").to_string(),
                "<none>".to_string(),
                "<none>".to_string(),
            ]);
        }
        rows.push(row);
    }
    aligned(&rows)
}

/// The nodes that exist at `t`, by name.
pub fn nodes_at(nodes: &[NodeRow], t: f64) -> Vec<&NodeRow> {
    let mut shown: Vec<&NodeRow> = nodes.iter().filter(|n| n.exists_at(t)).collect();
    shown.sort_by(|a, b| a.name.cmp(&b.name));
    shown
}

/// `kubectl get nodes [-o wide]` at `t`; wide adds the zone and pool. The kubelet version is
/// not modelled, so VERSION reads `<unknown>` as kubectl prints unknown values.
pub fn nodes_table(nodes: &[&NodeRow], t: f64, wide: bool) -> String {
    let mut header = vec!["NAME", "STATUS", "ROLES", "AGE", "VERSION"];
    if wide {
        header.extend(["ZONE", "POOL"]);
    }
    let mut rows = vec![header.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    for n in nodes {
        let mut row = vec![
            n.name.clone(),
            n.status(),
            "<none>".to_string(),
            age(t, n.added_seconds),
            "<unknown>".to_string(),
        ];
        if wide {
            row.push(n.zone.clone().unwrap_or_else(|| "<none>".to_string()));
            row.push(n.pool.clone().unwrap_or_else(|| "<none>".to_string()));
        }
        rows.push(row);
    }
    aligned(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str) -> PodRow {
        PodRow {
            namespace: "default".into(),
            name: name.into(),
            owner: None,
            node: Some("n1".into()),
            pool: None,
            zone: None,
            phase: "Running".into(),
            reason: None,
            containers: 1,
            ready: true,
            ready_seconds: Some(12.0),
            restarts: 0,
            created_seconds: 10.0,
            scheduled_seconds: Some(11.0),
            started_seconds: Some(11.5),
            finished_seconds: None,
            terminating_seconds: None,
            deleted_seconds: None,
        }
    }

    #[test]
    fn a_pod_reads_as_kubectl_prints_it_at_each_point_of_its_life() {
        let p = pod("web");
        assert!(!p.exists_at(9.0));
        assert_eq!(p.status_at(10.5), "Pending");
        assert_eq!(p.node_at(10.5), None);
        assert_eq!(p.status_at(11.2), "ContainerCreating");
        assert_eq!(p.node_at(11.2), Some("n1"));
        assert_eq!(
            (p.status_at(11.7).as_str(), p.ready_text(11.7).as_str()),
            ("Running", "0/1")
        );
        assert_eq!(p.ready_text(13.0), "1/1");
        let mut done = pod("job");
        done.phase = "Succeeded".into();
        done.finished_seconds = Some(20.0);
        assert_eq!(done.status_at(21.0), "Completed");
        done.terminating_seconds = Some(30.0);
        done.deleted_seconds = Some(31.0);
        assert_eq!(done.status_at(30.0), "Terminating");
        assert!(!done.exists_at(31.0));
    }

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let p = pod("a-long-pod-name");
        let text = pods_table(&[&p], 70.0, true, &Namespaces::One("default".into()));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "NAME              READY   STATUS    RESTARTS   AGE   NODE   NOMINATED NODE   READINESS GATES"
        );
        assert_eq!(
            lines[1],
            "a-long-pod-name   1/1     Running   0          60s   n1     <none>           <none>"
        );
    }
}
