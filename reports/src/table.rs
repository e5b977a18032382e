//! The summary table printed at the end of `kubesim run`.

use std::fmt::Write;

use models::summary::Summary;

/// Formats an amount the way a person reads it for its resource: cores, GiB, counts.
pub fn human_amount(resource: &str, amount: i64) -> String {
    match resource {
        "cpu" => {
            if amount % 1000 == 0 {
                format!("{}", amount / 1000)
            } else {
                format!("{:.2}", amount as f64 / 1000.0)
            }
        }
        "memory" | "ephemeral-storage" => format!("{:.1}Gi", amount as f64 / f64::from(1u32 << 30)),
        _ => amount.to_string(),
    }
}

/// Workload rows shown in the terminal table; summary.json has them all.
const MAX_WORKLOAD_ROWS: usize = 20;
/// Pending pods shown in the terminal table; summary.json lists more.
const MAX_PENDING_ROWS: usize = 10;

/// What a pool's pods hold of a resource: for GPUs, whole GPUs and GPUShare shares, in GPUs.
pub(crate) fn requested_text(r: &models::summary::ResourceUsage) -> String {
    match r.requested_milli {
        Some(m) if m % 1000 == 0 => (m / 1000).to_string(),
        Some(m) => format!("{:.1}", m as f64 / 1000.0),
        None => human_amount(&r.resource, r.requested),
    }
}

/// Seconds as a person reads them: `0.050s` under a minute, `5m0s` above.
pub(crate) fn duration_text(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.3}s")
    } else {
        // Whole seconds: a wait of minutes is not read to the nanosecond.
        sim_core::SimDuration::from_secs(seconds as u64).to_string()
    }
}

/// One percentile of the time to schedule, `≥` when pods still pending make it a lower bound.
pub(crate) fn percentile_text(q: &models::summary::Percentiles, which: &str) -> String {
    let v = match which {
        "p50" => q.p50,
        "p90" => q.p90,
        "p99" => q.p99,
        _ => q.max,
    };
    if q.is_lower_bound(which) {
        format!("≥ {}", duration_text(v))
    } else {
        duration_text(v)
    }
}

/// How many of the times are pods still pending at the end.
pub(crate) fn censored_text(q: &models::summary::Percentiles) -> String {
    if q.censored == 0 {
        String::new()
    } else {
        format!(
            " ({} of {} pods still pending at the end, counted as waiting at least until then)",
            q.censored, q.count
        )
    }
}

/// Peak and mean utilisation over the run, and node-hours.
pub(crate) fn utilization_text(s: &Summary) -> String {
    let parts: Vec<String> = s
        .run
        .utilization
        .iter()
        .map(|u| {
            format!(
                "{} {:.1}% / {:.1}%",
                u.resource,
                u.peak * 100.0,
                u.mean * 100.0
            )
        })
        .collect();
    format!(
        "requested/allocatable peak / mean: {}; {:.1} node-hours",
        if parts.is_empty() {
            "no nodes".to_string()
        } else {
            parts.join(", ")
        },
        s.run.node_hours
    )
}

pub fn summary_table(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "scenario   {}", s.scenario);
    let _ = writeln!(out, "seed       {}", s.seed);
    let _ = writeln!(out, "digest     {}", s.digest);
    let _ = writeln!(
        out,
        "simulated  {} ({} events, stopped: {})",
        s.simulated, s.events_processed, s.stop_reason
    );
    let _ = writeln!(out);
    let r = &s.run;
    let _ = writeln!(
        out,
        "whole run  {} pods created: {} ever scheduled, {} never scheduled, {} still pending at the end",
        r.pods_created, r.pods_ever_scheduled, r.pods_never_scheduled, r.pods_pending_at_end
    );
    let _ = writeln!(out, "           {}", utilization_text(s));
    let p = &s.pods;
    let _ = writeln!(
        out,
        "pods       at the end: {} total: {} scheduled ({} running), {} pending{}{}",
        p.total,
        p.scheduled,
        p.running,
        p.pending,
        if p.deleted > 0 {
            format!(", {} deleted", p.deleted)
        } else {
            String::new()
        },
        if p.succeeded + p.failed > 0 {
            format!("; {} succeeded, {} failed", p.succeeded, p.failed)
        } else {
            String::new()
        }
    );
    if s.pending_seconds.count > 0 {
        let q = &s.pending_seconds;
        let _ = writeln!(
            out,
            "pending    time to schedule p50 {}  p90 {}  p99 {}  max {}{}",
            percentile_text(q, "p50"),
            percentile_text(q, "p90"),
            percentile_text(q, "p99"),
            percentile_text(q, "max"),
            censored_text(q)
        );
    }
    let _ = writeln!(
        out,
        "scheduler  {} attempts, {} unschedulable",
        s.scheduler.attempts, s.scheduler.failed_attempts
    );
    for e in &s.expectations {
        let _ = writeln!(
            out,
            "expect     {} after {} within {}: {}",
            e.condition,
            e.after,
            e.within,
            match &e.met_at {
                Some(t) => format!("met at {t}"),
                None => "MISSED".to_string(),
            }
        );
    }
    if s.pending_at_end.count > 0 {
        let pending = &s.pending_at_end;
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "PENDING AT THE END ({}), last FailedScheduling reason and how to see every attempt:",
            pending.count
        );
        for pod in pending.pods.iter().take(MAX_PENDING_ROWS) {
            let _ = writeln!(
                out,
                "  {}/{}  pending {}  {}",
                pod.namespace,
                pod.name,
                duration_text(pod.pending_seconds),
                pod.last_failed_scheduling
                    .as_deref()
                    .unwrap_or("(no FailedScheduling Event kept: see events.txt)")
            );
            let _ = writeln!(out, "    {}", pod.explain);
        }
        let shown = pending.pods.len().min(MAX_PENDING_ROWS) as u64;
        if pending.count > shown {
            let _ = writeln!(
                out,
                "  and {} more (summary.json lists {})",
                pending.count - shown,
                pending.pods.len()
            );
        }
    }
    if !s.workloads.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<40} {:>7} {:>10} {:>9}  PROGRESSING",
            "WORKLOAD", "READY", "UP-TO-DATE", "AVAILABLE"
        );
        for w in s.workloads.iter().take(MAX_WORKLOAD_ROWS) {
            let _ = writeln!(
                out,
                "{:<40} {:>7} {:>10} {:>9}  {}",
                format!("{}/{}", w.kind, w.name),
                format!("{}/{}", w.ready, w.replicas),
                w.up_to_date,
                w.available,
                progress_text(w)
            );
        }
        if s.workloads.len() > MAX_WORKLOAD_ROWS {
            let _ = writeln!(
                out,
                "... and {} more (summary.json lists them all)",
                s.workloads.len() - MAX_WORKLOAD_ROWS
            );
        }
        let c = &s.control_plane;
        let _ = writeln!(
            out,
            "control plane: {} writes, {} controller syncs, {} evictions{}",
            c.writes,
            c.controller_syncs,
            c.evictions,
            if c.rejected_writes > 0 {
                format!(
                    ", {} writes refused while the API server was down",
                    c.rejected_writes
                )
            } else {
                String::new()
            }
        );
    }
    if let Some(f) = &s.faults {
        let started: Vec<String> = f.started.iter().map(|(v, n)| format!("{n} {v}")).collect();
        let _ = writeln!(
            out,
            "faults: {}; nodes down {:.2} node-hours (node availability {:.3}%), Deployments short of replicas {:.2} hours (availability {:.3}%), {} pods killed, {} container crashes injected, {} restarts, {} pods lost readiness",
            if started.is_empty() {
                "none struck".to_string()
            } else {
                started.join(", ")
            },
            f.node_down_hours,
            f.node_availability * 100.0,
            f.deployment_degraded_hours,
            f.deployment_availability * 100.0,
            f.pods_killed,
            f.containers_crashed,
            f.container_restarts,
            f.readiness_lost
        );
    }
    services_table(&mut out, s);
    let _ = writeln!(out);
    let _ = writeln!(out, "NODES = nodes in use / nodes");
    let _ = writeln!(
        out,
        "{:<24} {:>9} {:>6}  {:<18} {:>12} {:>12} {:>6}",
        "POOL", "NODES", "PODS", "RESOURCE", "REQUESTED", "ALLOCATABLE", "USED"
    );
    for pool in &s.pools {
        if pool.resources.is_empty() {
            // No node left at the end (an autoscaled pool scaled to zero): the pool still ran
            // and cost something.
            let _ = writeln!(
                out,
                "{:<24} {:>9} {:>6}  {:<18}",
                pool.pool,
                format!("{}/{}", pool.nodes_in_use, pool.nodes),
                pool.pods,
                "(no nodes at the end)"
            );
        }
        for (i, r) in pool.resources.iter().enumerate() {
            let (name, nodes, pods) = if i == 0 {
                (
                    pool.pool.as_str(),
                    format!("{}/{}", pool.nodes_in_use, pool.nodes),
                    pool.pods.to_string(),
                )
            } else {
                ("", String::new(), String::new())
            };
            let _ = writeln!(
                out,
                "{:<24} {:>9} {:>6}  {:<18} {:>12} {:>12} {:>5.1}%",
                name,
                nodes,
                pods,
                r.resource,
                requested_text(r),
                human_amount(&r.resource, r.allocatable),
                r.utilization * 100.0
            );
        }
        match pool.cost {
            Some(cost) => {
                let _ = writeln!(
                    out,
                    "{:<24} {:.1} node-hours, cost {:.2}",
                    "", pool.node_hours, cost
                );
            }
            None => {
                let _ = writeln!(out, "{:<24} {:.1} node-hours", "", pool.node_hours);
            }
        }
    }
    if let Some(t) = &s.trace {
        let pct = |x: f64| x * 100.0;
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "trace      {} pods ({} with GPUs) on {} nodes ({} GPUs): {} scheduled, {} never scheduled",
            t.pods, t.gpu_pods, t.nodes, t.gpus, t.scheduled, t.never_scheduled
        );
        let _ = writeln!(
            out,
            "allocation peak / mean: cpu {:.1}% / {:.1}%, memory {:.1}% / {:.1}%, GPU {:.1}% / {:.1}%",
            pct(t.cpu_allocation.peak),
            pct(t.cpu_allocation.mean),
            pct(t.memory_allocation.peak),
            pct(t.memory_allocation.mean),
            pct(t.gpu_allocation.peak),
            pct(t.gpu_allocation.mean)
        );
        let _ = writeln!(
            out,
            "GPU fragmentation (FGD) peak / mean: {:.1} / {:.1} GPUs ({:.2}% / {:.2}% of all GPUs); {} samples, timeseries.csv",
            t.gpu_frag_milli.peak / 1000.0,
            t.gpu_frag_milli.mean / 1000.0,
            pct(t.gpu_frag_ratio.peak),
            pct(t.gpu_frag_ratio.mean),
            t.samples
        );
    }
    if !s.scheduler.unmodelled_plugins.is_empty() {
        let _ = writeln!(
            out,
            "\nnote: plugins not modelled yet (skipped): {}",
            s.scheduler.unmodelled_plugins.join(", ")
        );
    }
    if !s.ignored_objects.is_empty() {
        // "Kind/name" → count per kind: the full list is in summary.json.
        let mut kinds: Vec<(&str, usize)> = Vec::new();
        for o in &s.ignored_objects {
            let kind = o.split('/').next().unwrap_or(o);
            match kinds.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, n)) => *n += 1,
                None => kinds.push((kind, 1)),
            }
        }
        let listed: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let _ = writeln!(
            out,
            "note: accepted but not simulated: {} (listed in summary.json)",
            listed.join(", ")
        );
    }
    for w in &s.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

/// The PROGRESSING column: a Deployment's reason, a Job's state with its pod outcomes.
pub(crate) fn progress_text(w: &models::summary::WorkloadStatus) -> String {
    let state = w.progressing.as_deref().unwrap_or("");
    match (w.succeeded, w.failed) {
        (Some(s), Some(f)) => format!("{state} ({s} succeeded, {f} failed)"),
        _ => state.to_string(),
    }
}

/// Requests per Service (entry services first) and the SLO verdicts, when there was traffic.
fn services_table(out: &mut String, s: &Summary) {
    if s.services.is_empty() {
        return;
    }
    let ms = |secs: f64| format!("{:.0}ms", secs * 1000.0);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<28} {:>11} {:>9} {:>8} {:>8} {:>8} {:>8} {:>6}  FAILED BY CAUSE",
        "SERVICE", "REQUESTS", "SUCCESS", "P50", "P95", "P99", "MAX", "BUSY"
    );
    let mut rows: Vec<_> = s.services.iter().collect();
    rows.sort_by_key(|(name, v)| (!v.entry, (*name).clone()));
    for (name, v) in rows {
        let causes: Vec<String> = v.failed.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let _ = writeln!(
            out,
            "{:<28} {:>11} {:>8.3}% {:>8} {:>8} {:>8} {:>8} {:>5.0}%  {}",
            if v.entry {
                format!("{name} (entry)")
            } else {
                name.clone()
            },
            v.requests,
            v.availability * 100.0,
            ms(v.latency_seconds.p50),
            ms(v.latency_seconds.p95),
            ms(v.latency_seconds.p99),
            ms(v.latency_seconds.max),
            v.utilization * 100.0,
            if causes.is_empty() {
                "-".to_string()
            } else {
                causes.join(", ")
            }
        );
    }
    for v in &s.slo {
        let actual = match v.actual {
            Some(a) if v.objective.starts_with("availability") => format!("{:.3}%", a * 100.0),
            Some(a) => ms(a),
            None => "no requests".into(),
        };
        let windows = if v.windows_judged > 0 {
            format!(
                "; {} of {} windows missed{}",
                v.windows_missed,
                v.windows_judged,
                v.first_missed_seconds
                    .map(|t| {
                        format!(
                            ", first at {}",
                            sim_core::SimDuration::from_nanos((t * 1e9) as u64)
                        )
                    })
                    .unwrap_or_default()
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "SLO {} {}: {} (was {actual}{windows})",
            v.service,
            v.objective,
            if v.met { "met" } else { "MISSED" }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_people_write_them() {
        assert_eq!(human_amount("cpu", 4000), "4");
        assert_eq!(human_amount("cpu", 1250), "1.25");
        assert_eq!(human_amount("memory", 16 << 30), "16.0Gi");
        assert_eq!(human_amount("nvidia.com/gpu", 3), "3");
    }

    #[test]
    fn a_pool_scaled_to_zero_keeps_its_row_and_cost() {
        // Two spot nodes that nothing needs: the cluster autoscaler removes them, so the pool
        // ends with no node, but it ran (and cost) for a while.
        let text = "name: t\nseed: 1\nduration: 30m\ncluster:\n  nodePools:\n    \
            - {name: general, count: 1, costPerHour: 0.2, resources: {cpu: '4', memory: 16Gi, pods: 110}}\n    \
            - {name: spot, count: 2, costPerHour: 0.07, spot: true, resources: {cpu: '4', memory: 16Gi, pods: 110}, \
            autoscaling: {min: 0, max: 3}}\n";
        let scenario =
            models::scenario::load_str("t.yaml", text, std::path::Path::new(".")).expect("valid");
        let outcome = models::run::run(
            &scenario,
            &models::scheduler::Registry::default_plugins(),
            &models::run::RunOptions::default(),
            |_, _| {},
        )
        .expect("runs");
        let spot = outcome.summary.pools.iter().find(|p| p.pool == "spot");
        assert_eq!(
            spot.map(|p| p.nodes),
            Some(0),
            "the spot nodes were removed"
        );
        let table = summary_table(&outcome.summary);
        let row = table
            .lines()
            .find(|l| l.starts_with("spot "))
            .unwrap_or_else(|| panic!("no spot row in\n{table}"));
        assert!(row.contains("0/0"), "{row}");
        assert!(table.contains("cost 0.0"), "{table}");
    }
}
