//! The comparison as one self-contained HTML page: the seeds, a table of every metric (mean ±
//! 95% CI per variant, paired difference to the baseline with better/worse), and one chart
//! per metric that varies (inline SVG: means with their 95% CI as error bars). No external
//! files: it opens anywhere, offline.

use std::fmt::Write;

use crate::compare::{ComparisonReport, Verdict, difference_text, mean_text};
use crate::html::esc;
use crate::plot::interval_chart_svg;

const STYLE: &str = "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}\
h1{margin-bottom:0}.sub{color:#666;margin-top:.2em}table{border-collapse:collapse;margin:1em 0}\
td,th{padding:3px 10px;text-align:left;border-bottom:1px solid #eee}th{background:#f6f6f6}\
td.num{text-align:right;white-space:nowrap}td.better{color:#17703a;font-weight:bold}\
td.worse{color:#b3261e;font-weight:bold}.const{color:#888}code{background:#f4f4f4;padding:1px 4px}\
figure{margin:1em 0;display:inline-block}figure svg{max-width:100%;height:auto}";

/// The page for `report` of the scenario `scenario`.
pub fn comparison_html(scenario: &str, report: &ComparisonReport) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>kubesim compare: {}</title><style>{STYLE}</style></head><body>",
        esc(scenario)
    );
    let seeds = report
        .seeds
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let baseline = report.variants.first().map_or("", String::as_str);
    let _ = write!(
        h,
        "<h1>{} — comparison</h1><p class=\"sub\">{} variants on {} seed{}: <code>{}</code> · baseline <code>{}</code></p>",
        esc(scenario),
        report.variants.len(),
        report.seeds.len(),
        if report.seeds.len() == 1 { "" } else { "s" },
        esc(&seeds),
        esc(baseline)
    );
    if report.seeds.len() < 2 {
        h.push_str("<p>One run per variant: no confidence interval (n/a) and no verdict. Run with <code>--seeds 2</code> or more to compare.</p>");
    } else {
        let _ = write!(
            h,
            "<p>Each cell is the mean over the seeds ± the half-width of its 95% confidence interval (Student's t). Δ is the paired difference to <code>{}</code>, seed by seed; it is better or worse when its interval excludes zero.</p>",
            esc(baseline)
        );
    }

    h.push_str("<h2>Metrics</h2><table><tr><th>metric</th><th>better</th>");
    for v in &report.variants {
        let _ = write!(h, "<th>{}</th>", esc(v));
    }
    for v in report.variants.iter().skip(1) {
        let _ = write!(h, "<th>Δ {}</th>", esc(v));
    }
    h.push_str("</tr>");
    for m in &report.metrics {
        let class = if m.constant { " class=\"const\"" } else { "" };
        let better = match m.better {
            crate::compare::Better::Higher => "higher",
            crate::compare::Better::Lower => "lower",
        };
        let _ = write!(h, "<tr{class}><td>{}</td><td>{better}</td>", esc(&m.metric));
        for f in &m.variants {
            let _ = write!(
                h,
                "<td class=\"num\">{}</td>",
                esc(&mean_text(f.mean, f.ci95))
            );
        }
        for d in &m.differences {
            let cell = match d.verdict {
                Verdict::Better => "num better",
                Verdict::Worse => "num worse",
                Verdict::NoDifference | Verdict::NotApplicable => "num",
            };
            let _ = write!(h, "<td class=\"{cell}\">{}</td>", esc(&difference_text(d)));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    let constant: Vec<&str> = report
        .metrics
        .iter()
        .filter(|m| m.constant)
        .map(|m| m.metric.as_str())
        .collect();
    if !constant.is_empty() {
        let _ = write!(
            h,
            "<p class=\"const\">The same in every run, not charted: {}.</p>",
            esc(&constant.join(", "))
        );
    }

    h.push_str("<h2>Charts</h2>");
    for m in report.metrics.iter().filter(|m| !m.constant) {
        let means: Vec<(String, f64, Option<f64>)> = m
            .variants
            .iter()
            .map(|f| (f.variant.clone(), f.mean, f.ci95))
            .collect();
        match interval_chart_svg(&m.metric, "mean, 95% CI", &means) {
            Ok(svg) => {
                let _ = write!(h, "<figure>{svg}</figure>");
            }
            Err(e) => {
                let _ = write!(
                    h,
                    "<p class=\"const\">{}: {}</p>",
                    esc(&m.metric),
                    esc(&e.to_string())
                );
            }
        }
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{Better, Difference, MetricComparison, VariantFigure};

    fn metric(name: &str, constant: bool, means: [f64; 2]) -> MetricComparison {
        MetricComparison {
            metric: name.into(),
            better: Better::Lower,
            constant,
            variants: vec![
                VariantFigure {
                    variant: "a".into(),
                    mean: means[0],
                    ci95: Some(0.5),
                },
                VariantFigure {
                    variant: "b<x>".into(),
                    mean: means[1],
                    ci95: Some(0.25),
                },
            ],
            differences: vec![Difference {
                variant: "b<x>".into(),
                mean: means[1] - means[0],
                ci95: Some(0.1),
                verdict: Verdict::Worse,
            }],
        }
    }

    fn report() -> ComparisonReport {
        ComparisonReport {
            seeds: vec![1, 2, 3],
            variants: vec!["a".into(), "b<x>".into()],
            metrics: vec![
                metric("node-hours", false, [2.0, 3.0]),
                metric("pods pending", true, [0.0, 0.0]),
                metric("cost", false, [1.0, 1.5]),
            ],
            runs: Vec::new(),
        }
    }

    #[test]
    fn one_chart_per_varying_metric_and_every_metric_in_the_table() {
        let html = comparison_html("cap", &report());
        assert_eq!(html.matches("<svg").count(), 2, "{html}");
        for m in ["node-hours", "pods pending", "cost"] {
            assert!(html.contains(&format!("<td>{m}</td>")), "{m}");
        }
        assert!(html.contains("b&lt;x&gt;") && !html.contains("b<x>"));
        assert!(html.contains("class=\"num worse\""));
        assert!(html.contains("<code>1, 2, 3</code>"));
    }

    #[test]
    fn the_page_is_deterministic_and_self_contained() {
        let a = comparison_html("cap", &report());
        assert_eq!(a, comparison_html("cap", &report()));
        for bad in ["src=\"http", "href=\"http", "<script", "<link"] {
            assert!(!a.contains(bad), "{bad}");
        }
    }
}
