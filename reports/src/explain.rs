//! The answer to `kubesim explain`: why a pod went where it went, or why it is pending, in the
//! scheduler's own terms — every node's filter verdict and, for feasible nodes, each score
//! plugin's raw score, normalised score, weight and the weighted total; and, around it, the
//! pod's whole life (see [`crate::life`]).

use std::fmt::Write;

use models::cluster::ExplainedAttempt;
use models::store::Store;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExplainReport {
    pub pod: String,
    pub attempt_at: String,
    /// How many scheduling attempts the pod had up to this one.
    pub attempt: u32,
    pub selected: Option<String>,
    pub message: String,
    pub evaluated_nodes: usize,
    pub feasible_nodes: usize,
    /// Why scores are absent, when the scheduler did not score (e.g. one feasible node).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scoring_skipped: Option<String>,
    pub nodes: Vec<ExplainNode>,
    /// What preemption decided, when the attempt failed and PostFilter ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preemption: Option<ExplainPreemption>,
}

/// The preemption decision: the node the pod was nominated to, the pods deleted for it, and
/// every candidate the dry run found.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExplainPreemption {
    pub nominated_node: Option<String>,
    pub victims: Vec<String>,
    /// Nodes whose filter failure removing pods might fix.
    pub potential_nodes: usize,
    pub candidates: Vec<ExplainCandidate>,
    /// Nodes the dry run ruled out, with why.
    pub rejected: Vec<ExplainRejected>,
    /// Which upstream criterion chose the node, or why none was chosen.
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExplainCandidate {
    pub node: String,
    pub victims: Vec<String>,
    pub num_pdb_violations: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExplainRejected {
    pub node: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExplainNode {
    pub node: String,
    pub feasible: bool,
    pub reasons: Vec<String>,
    pub scores: Vec<ExplainScore>,
    pub total: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExplainScore {
    pub plugin: String,
    pub raw: i64,
    pub normalized: i64,
    pub weight: i64,
}

/// `kubesim explain --pod`: the pod's life and, when the scheduler attempted it, its last
/// attempt. The attempt's fields stay at the top level of the JSON, where they always were;
/// they are absent for a pod the scheduler never attempted.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PodExplanation {
    #[serde(flatten)]
    pub scheduling: Option<ExplainReport>,
    pub life: crate::life::PodLife,
}

impl PodExplanation {
    /// The summary and the timeline first, then the last scheduling attempt in detail.
    pub fn to_text(&self) -> String {
        let mut out = self.life.to_text();
        out.push('\n');
        match &self.scheduling {
            Some(s) => out.push_str(&s.to_text()),
            None => {
                let _ = writeln!(
                    out,
                    "no scheduling attempt to explain: the scheduler never tried to place this pod"
                );
            }
        }
        out
    }
}

pub fn explain_report(attempt: &ExplainedAttempt, store: &Store) -> ExplainReport {
    let pod = &store.pod(attempt.pod).pod;
    let result = &attempt.result;
    let selected = result.selected.map(|n| store.node(n).name().to_string());
    let message = match (&selected, &result.message) {
        (_, Some(m)) => m.clone(),
        (Some(node), None) => format!("Successfully assigned {} to {node}", pod.key()),
        (None, None) => "not scheduled".to_string(),
    };
    let (nodes, scoring_skipped) = match &result.explanation {
        Some(e) => (
            e.nodes
                .iter()
                .map(|v| ExplainNode {
                    node: v.name.clone(),
                    feasible: v.feasible,
                    reasons: v.reasons.clone(),
                    scores: v
                        .scores
                        .iter()
                        .map(|s| ExplainScore {
                            plugin: s.plugin.clone(),
                            raw: s.raw,
                            normalized: s.normalized,
                            weight: s.weight,
                        })
                        .collect(),
                    total: v.total,
                })
                .collect(),
            e.scoring_skipped.clone(),
        ),
        None => (Vec::new(), None),
    };
    let pod_name = |id: &models::api::PodId| store.pod(*id).pod.key();
    let node_name = |id: models::api::NodeId| store.node(id).name().to_string();
    let preemption = result
        .explanation
        .as_ref()
        .and_then(|e| e.preemption.as_ref())
        .map(|p| ExplainPreemption {
            nominated_node: result.nominated_node.map(node_name),
            victims: result.victims.iter().map(pod_name).collect(),
            potential_nodes: p.potential_nodes,
            candidates: p
                .candidates
                .iter()
                .map(|c| ExplainCandidate {
                    node: c.name.clone(),
                    victims: c.victims.iter().map(pod_name).collect(),
                    num_pdb_violations: c.num_pdb_violations,
                })
                .collect(),
            rejected: p
                .rejected
                .iter()
                .map(|(n, why)| ExplainRejected {
                    node: node_name(*n),
                    reason: why.clone(),
                })
                .collect(),
            reason: p.reason.clone(),
        });
    ExplainReport {
        preemption,
        pod: pod.key(),
        attempt_at: attempt.at.to_string(),
        attempt: attempt.attempt,
        selected,
        message,
        evaluated_nodes: result.evaluated_nodes,
        feasible_nodes: result.feasible_nodes,
        scoring_skipped,
        nodes,
    }
}

impl ExplainReport {
    /// The text form: the verdict first, then one row per node with its scores.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "pod {} — scheduling attempt {} at {}",
            self.pod, self.attempt, self.attempt_at
        );
        match &self.selected {
            Some(node) => {
                let _ = writeln!(out, "selected node: {node}");
            }
            None => {
                let _ = writeln!(out, "not scheduled");
            }
        }
        let _ = writeln!(out, "{}", self.message);
        if let Some(why) = &self.scoring_skipped {
            let _ = writeln!(out, "({why})");
        }
        if let Some(p) = &self.preemption {
            match &p.nominated_node {
                Some(node) => {
                    let _ = writeln!(
                        out,
                        "preemption: nominated node {node} ({}); victims: {}",
                        p.reason,
                        p.victims.join(", ")
                    );
                }
                None => {
                    let _ = writeln!(out, "preemption: no node nominated ({})", p.reason);
                }
            }
            for c in &p.candidates {
                let marker = if Some(&c.node) == p.nominated_node.as_ref() {
                    "*"
                } else {
                    " "
                };
                let _ = writeln!(
                    out,
                    "  {marker} candidate {}: victims {} ({} PDB violation(s))",
                    c.node,
                    c.victims.join(", "),
                    c.num_pdb_violations
                );
            }
            for r in &p.rejected {
                let _ = writeln!(out, "    ruled out {}: {}", r.node, r.reason);
            }
        }
        let _ = writeln!(out);
        let plugins: Vec<&str> = self
            .nodes
            .iter()
            .flat_map(|n| n.scores.iter().map(|s| s.plugin.as_str()))
            .fold(Vec::new(), |mut acc, p| {
                if !acc.contains(&p) {
                    acc.push(p);
                }
                acc
            });
        let name_width = self
            .nodes
            .iter()
            .map(|n| n.node.len())
            .max()
            .unwrap_or(4)
            .max(4)
            + 1;
        let _ = write!(out, "{:<name_width$}  {:<8}", "NODE", "FEASIBLE");
        for p in &plugins {
            let _ = write!(out, "  {p}");
        }
        let _ = writeln!(out, "  TOTAL");
        for n in &self.nodes {
            let marker = if Some(&n.node) == self.selected.as_ref() {
                "*"
            } else {
                ""
            };
            let _ = write!(
                out,
                "{:<name_width$}  {:<8}",
                format!("{}{marker}", n.node),
                if n.feasible { "yes" } else { "no" }
            );
            if n.feasible {
                for p in &plugins {
                    let cell = n
                        .scores
                        .iter()
                        .find(|s| s.plugin == *p)
                        .map(|s| format!("{}→{}×{}", s.raw, s.normalized, s.weight))
                        .unwrap_or_else(|| "-".into());
                    let _ = write!(out, "  {cell:<width$}", width = p.len());
                }
                let _ = writeln!(out, "  {}", n.total);
            } else {
                let _ = writeln!(out, "  {}", n.reasons.join("; "));
            }
        }
        if !plugins.is_empty() {
            let _ = writeln!(
                out,
                "\nscores read raw→normalized×weight; * marks the selected node"
            );
        }
        out
    }
}
