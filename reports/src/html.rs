//! One self-contained HTML page per run: the headline figures, per-pool utilisation, charts
//! over time (inline SVG), the placement view and the filterable event log (a small inline
//! script, see `report_views`). No external files: it opens anywhere, offline.

use std::fmt::Write;

use models::events::EventRecord;
use models::summary::Summary;
use models::trace::Sample;

use crate::plot::Marker;
use crate::table::human_amount;

/// `s` as HTML text or attribute value.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}\
h1{margin-bottom:0}.sub{color:#666;margin-top:.2em}table{border-collapse:collapse;margin:1em 0}\
td,th{padding:3px 10px;text-align:left;border-bottom:1px solid #eee}th{background:#f6f6f6}\
td.ok{color:#17703a;font-weight:bold}td.bad{color:#b3261e;font-weight:bold}.num{text-align:right}.bar{background:#e8eef7;width:160px;height:12px;display:inline-block}\
.fill{background:#1f77b4;height:12px}.warn{color:#b00}.kpi{display:inline-block;margin:0 2em 1em 0}\
.kpi b{font-size:1.6em;display:block}code{background:#f4f4f4;padding:1px 4px}\
figure{margin:1em 0}figure svg{max-width:100%;height:auto}";

/// The report. `events` are the first Events of the run (of `total_events`); `pods_over_time`
/// is (hours, pending, running); `samples` are a trace's samples.
pub fn run_report(
    s: &Summary,
    events: &[EventRecord],
    total_events: u64,
    pods_over_time: &[(f64, u64, u64)],
    samples: &[Sample],
) -> String {
    run_report_with_markers(s, events, total_events, pods_over_time, samples, &[], None)
}

/// The report, with `markers` (faults, timeline actions) drawn on every chart, and the
/// recorder's charts when `metrics` is given.
pub fn run_report_with_markers(
    s: &Summary,
    events: &[EventRecord],
    total_events: u64,
    pods_over_time: &[(f64, u64, u64)],
    samples: &[Sample],
    markers: &[Marker],
    metrics: Option<&models::metrics::Recorder>,
) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>kubesim: {}</title><style>{STYLE}</style></head><body>",
        esc(&s.scenario)
    );
    let _ = write!(
        h,
        "<h1>{}</h1><p class=\"sub\">seed <code>{}</code> · digest <code>{}</code> · simulated {} · {} events · stopped: {}</p>",
        esc(&s.scenario),
        s.seed,
        esc(&s.digest),
        esc(&s.simulated),
        s.events_processed,
        esc(&s.stop_reason)
    );
    let r = &s.run;
    services_section(&mut h, s);
    h.push_str("<h2>Over the whole run</h2>");
    let mut kpis: Vec<(String, String)> = vec![
        (r.pods_created.to_string(), "pods created".into()),
        (
            r.pods_ever_scheduled.to_string(),
            "pods ever scheduled".into(),
        ),
        (
            r.pods_never_scheduled.to_string(),
            "pods never scheduled".into(),
        ),
        (
            r.pods_pending_at_end.to_string(),
            "pods still pending at the end".into(),
        ),
    ];
    for u in &r.utilization {
        kpis.push((
            format!("{:.1}% / {:.1}%", u.peak * 100.0, u.mean * 100.0),
            format!("{} requested/allocatable, peak / mean", u.resource),
        ));
    }
    kpis.push((format!("{:.1}", r.node_hours), "node-hours".into()));
    let q = &s.pending_seconds;
    kpis.push((
        crate::table::percentile_text(q, "p99"),
        format!(
            "time to schedule, p99{}",
            if q.censored > 0 {
                format!(" ({} pods still pending counted as censored)", q.censored)
            } else {
                String::new()
            }
        ),
    ));
    kpis.push((
        crate::table::percentile_text(q, "max"),
        "time to schedule, max".into(),
    ));
    kpis.push((
        s.scheduler.failed_attempts.to_string(),
        "unschedulable attempts".into(),
    ));
    for (value, what) in &kpis {
        let _ = write!(
            h,
            "<div class=\"kpi\"><b>{}</b>{}</div>",
            esc(value),
            esc(what)
        );
    }
    let p = &s.pods;
    h.push_str("<h2>At the end</h2>");
    let mut end_kpis = vec![
        (p.total, "pods"),
        (p.scheduled, "bound to a node"),
        (p.running, "running"),
        (p.pending, "pending"),
        (p.deleted, "deleted"),
    ];
    if p.succeeded + p.failed > 0 {
        end_kpis.push((p.succeeded, "pods succeeded"));
        end_kpis.push((p.failed, "pods failed"));
    }
    for (value, what) in end_kpis {
        let _ = write!(h, "<div class=\"kpi\"><b>{value}</b>{what}</div>");
    }
    if s.pending_at_end.count > 0 {
        let pending = &s.pending_at_end;
        let _ = write!(
            h,
            "<h2>Pending at the end</h2><p>{} pods{}.</p><table id=\"pending-pods\"><tr><th>pod</th><th class=\"num\">pending</th><th>last FailedScheduling</th><th>every attempt</th></tr>",
            pending.count,
            if pending.count > pending.pods.len() as u64 {
                format!(", the first {} listed", pending.pods.len())
            } else {
                String::new()
            }
        );
        for pod in &pending.pods {
            let _ = write!(
                h,
                "<tr><td>{}/{}</td><td class=\"num\">{}</td><td>{}</td><td><code>{}</code></td></tr>",
                esc(&pod.namespace),
                esc(&pod.name),
                esc(&crate::table::duration_text(pod.pending_seconds)),
                esc(pod
                    .last_failed_scheduling
                    .as_deref()
                    .unwrap_or("(see events.txt)")),
                esc(&pod.explain)
            );
        }
        h.push_str("</table>");
    }
    if !s.workloads.is_empty() {
        h.push_str("<h2>Workloads</h2><table><tr><th>workload</th><th class=\"num\">ready</th><th class=\"num\">up-to-date</th><th class=\"num\">available</th><th>progressing</th><th class=\"num\">revision</th></tr>");
        for w in &s.workloads {
            let _ = write!(
                h,
                "<tr><td>{}/{}</td><td class=\"num\">{}/{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                esc(&w.kind),
                esc(&w.name),
                w.ready,
                w.replicas,
                w.up_to_date,
                w.available,
                esc(&crate::table::progress_text(w)),
                w.revision.map(|r| r.to_string()).unwrap_or_default()
            );
        }
        let c = &s.control_plane;
        let _ = write!(
            h,
            "</table><p>Control plane: {} API writes, {} controller syncs, {} evictions, {} writes refused while the API server was down.</p>",
            c.writes, c.controller_syncs, c.evictions, c.rejected_writes
        );
    }
    h.push_str("<h2>Node pools</h2><table><tr><th>pool</th><th>nodes in use</th><th>resource</th><th class=\"num\">requested</th><th class=\"num\">allocatable</th><th>used</th></tr>");
    for pool in &s.pools {
        for (i, r) in pool.resources.iter().enumerate() {
            let first = i == 0;
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td><span class=\"bar\"><div class=\"fill\" style=\"width:{:.1}%\"></div></span> {:.1}%</td></tr>",
                if first {
                    esc(&pool.pool)
                } else {
                    String::new()
                },
                if first {
                    format!("{}/{}", pool.nodes_in_use, pool.nodes)
                } else {
                    String::new()
                },
                esc(&r.resource),
                esc(&crate::table::requested_text(r)),
                human_amount(&r.resource, r.allocatable),
                (r.utilization * 100.0).min(100.0),
                r.utilization * 100.0
            );
        }
    }
    h.push_str("</table>");

    if let Some(t) = &s.trace {
        let _ = write!(
            h,
            "<h2>Trace replay</h2><p>{} pods ({} with GPUs) on {} nodes ({} GPUs): {} scheduled, {} never scheduled. GPU fragmentation (FGD) peak {:.1} GPUs, mean {:.1}.</p>",
            t.pods,
            t.gpu_pods,
            t.nodes,
            t.gpus,
            t.scheduled,
            t.never_scheduled,
            t.gpu_frag_milli.peak / 1000.0,
            t.gpu_frag_milli.mean / 1000.0
        );
    }
    let charts = crate::plot::all_charts(pods_over_time, samples, markers, metrics);
    if !charts.is_empty() {
        h.push_str("<h2>Over time</h2>");
    }
    for c in &charts {
        match c.chart.svg() {
            Ok(svg) => {
                let _ = write!(h, "<figure id=\"chart-{}\">{svg}</figure>", c.name);
            }
            Err(e) => {
                let _ = write!(h, "<p class=\"warn\">{}</p>", esc(&e.to_string()));
            }
        }
    }

    const SHOWN: usize = 300;
    h.push_str(&crate::report_views::event_log_section(
        events,
        total_events,
        SHOWN,
    ));
    if !s.warnings.is_empty() {
        h.push_str("<h2>Warnings</h2><ul>");
        for w in &s.warnings {
            let _ = write!(h, "<li>{}</li>", esc(w));
        }
        h.push_str("</ul>");
    }
    h.push_str(crate::report_views::SCRIPT);
    h.push_str("</body></html>\n");
    h
}

/// SLO verdicts first (what a capacity planner opens the report for), then requests per
/// Service; nothing without traffic.
fn services_section(h: &mut String, s: &Summary) {
    if s.services.is_empty() && s.slo.is_empty() {
        return;
    }
    let ms = |secs: f64| format!("{:.1} ms", secs * 1000.0);
    if !s.slo.is_empty() {
        h.push_str("<h2 id=\"slo\">Service-level objectives</h2><table><tr><th>service</th><th>objective</th><th>verdict</th><th class=\"num\">over the run</th><th class=\"num\">windows missed</th><th>worst window</th></tr>");
        for v in &s.slo {
            let availability = v.objective.starts_with("availability");
            let figure = |x: f64| {
                if availability {
                    format!("{:.3}%", x * 100.0)
                } else {
                    ms(x)
                }
            };
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                esc(&v.service),
                esc(&v.objective),
                if v.met { "ok" } else { "bad" },
                if v.met { "met" } else { "missed" },
                v.actual.map_or_else(|| "no requests".into(), figure),
                if v.windows_judged > 0 {
                    format!("{} of {}", v.windows_missed, v.windows_judged)
                } else {
                    "—".into()
                },
                v.worst_window.map_or_else(
                    || "—".into(),
                    |(t, x)| format!(
                        "{} at {}",
                        figure(x),
                        sim_core::SimDuration::from_nanos((t * 1e9) as u64)
                    )
                )
            );
        }
        h.push_str("</table>");
    }
    if !s.services.is_empty() {
        h.push_str("<h2 id=\"services\">Services</h2><table><tr><th>service</th><th class=\"num\">requests</th><th class=\"num\">succeeded</th><th class=\"num\">p50</th><th class=\"num\">p95</th><th class=\"num\">p99</th><th class=\"num\">max</th><th class=\"num\">busy</th><th>failed by cause</th></tr>");
        for (name, v) in &s.services {
            let causes: Vec<String> = v.failed.iter().map(|(c, n)| format!("{c} {n}")).collect();
            let _ = write!(
                h,
                "<tr><td>{}{}</td><td class=\"num\">{}</td><td class=\"num\">{:.3}%</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.0}%</td><td>{}</td></tr>",
                esc(name),
                if v.entry { " (entry)" } else { "" },
                v.requests,
                v.availability * 100.0,
                ms(v.latency_seconds.p50),
                ms(v.latency_seconds.p95),
                ms(v.latency_seconds.p99),
                ms(v.latency_seconds.max),
                v.utilization * 100.0,
                esc(&causes.join(", "))
            );
        }
        h.push_str("</table>");
    }
}
