//! Side-by-side comparison of scenario variants over the same seeds: per-metric mean with a
//! 95% confidence interval, and the paired difference to the first variant (the baseline),
//! which is what tells whether a policy is better — the seeds pair the runs.

use std::fmt::Write;

use models::summary::Summary;
use serde::Serialize;

/// One headline figure of a run: name, value, and which direction is better.
pub type Metric = (&'static str, f64, Better);

/// The headline metrics compared, with the direction that is better.
pub fn metrics(s: &Summary) -> Vec<Metric> {
    let (mut req, mut alloc, mut nodes_in_use) = (0i64, 0i64, 0u64);
    for p in &s.pools {
        nodes_in_use += p.nodes_in_use;
        if let Some(cpu) = p.resources.iter().find(|r| r.resource == "cpu") {
            req += cpu.requested;
            alloc += cpu.allocatable;
        }
    }
    let mut m = vec![
        ("pods scheduled", s.pods.scheduled as f64, Better::Higher),
        ("pods pending", s.pods.pending as f64, Better::Lower),
        (
            "time to schedule p50 (s)",
            s.pending_seconds.p50,
            Better::Lower,
        ),
        (
            "time to schedule p99 (s)",
            s.pending_seconds.p99,
            Better::Lower,
        ),
        ("nodes in use", nodes_in_use as f64, Better::Lower),
        (
            "cpu requested / allocatable",
            if alloc > 0 {
                req as f64 / alloc as f64
            } else {
                0.0
            },
            Better::Higher,
        ),
        (
            "unschedulable attempts",
            s.scheduler.failed_attempts as f64,
            Better::Lower,
        ),
    ];
    for (name, value, better) in &s.extra_metrics {
        m.push((name, *value, *better));
    }
    m
}

pub use models::summary::Better;

/// Two-sided 95% Student-t critical values for 1..=30 degrees of freedom.
const T95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// Mean and the half-width of its 95% confidence interval (0 for a single value).
pub fn mean_ci(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let t = T95.get(n - 2).copied().unwrap_or(1.960);
    (mean, t * (var / n as f64).sqrt())
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricComparison {
    pub metric: String,
    pub better: Better,
    /// Per variant: mean and 95% CI half-width.
    pub variants: Vec<(String, f64, f64)>,
    /// Per non-baseline variant: mean paired difference to the baseline, CI half-width, and
    /// whether the interval excludes zero.
    pub differences: Vec<(String, f64, f64, bool)>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComparisonReport {
    pub seeds: Vec<u64>,
    pub metrics: Vec<MetricComparison>,
    /// Tidy rows: variant, seed, metric, value.
    pub runs: Vec<(String, u64, String, f64)>,
}

pub fn comparison_report(seeds: &[u64], variants: &[(String, Vec<Summary>)]) -> ComparisonReport {
    // variant → seed → metrics
    let per_variant: Vec<Vec<Vec<Metric>>> = variants
        .iter()
        .map(|(_, sums)| sums.iter().map(metrics).collect())
        .collect();
    let mut runs = Vec::new();
    for ((name, _), rows) in variants.iter().zip(&per_variant) {
        for (seed, m) in seeds.iter().zip(rows) {
            for (metric, value, _) in m {
                runs.push((name.clone(), *seed, metric.to_string(), *value));
            }
        }
    }
    let metric_names: Vec<(&'static str, Better)> = per_variant
        .first()
        .and_then(|v| v.first())
        .map(|m| m.iter().map(|(n, _, b)| (*n, *b)).collect())
        .unwrap_or_default();
    let value = |v: usize, seed: usize, metric: &str| -> Option<f64> {
        per_variant[v]
            .get(seed)?
            .iter()
            .find(|(n, _, _)| *n == metric)
            .map(|(_, x, _)| *x)
    };
    let metrics = metric_names
        .iter()
        .map(|(metric, better)| {
            let column = |v: usize| -> Vec<f64> {
                (0..seeds.len())
                    .filter_map(|s| value(v, s, metric))
                    .collect()
            };
            let base = column(0);
            MetricComparison {
                metric: metric.to_string(),
                better: *better,
                variants: variants
                    .iter()
                    .enumerate()
                    .map(|(v, (name, _))| {
                        let (m, ci) = mean_ci(&column(v));
                        (name.clone(), m, ci)
                    })
                    .collect(),
                differences: variants
                    .iter()
                    .enumerate()
                    .skip(1)
                    .map(|(v, (name, _))| {
                        let diffs: Vec<f64> =
                            column(v).iter().zip(&base).map(|(x, b)| x - b).collect();
                        let (m, ci) = mean_ci(&diffs);
                        (name.clone(), m, ci, m.abs() > ci && diffs.len() > 1)
                    })
                    .collect(),
            }
        })
        .collect();
    ComparisonReport {
        seeds: seeds.to_vec(),
        metrics,
        runs,
    }
}

impl ComparisonReport {
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let Some(first) = self.metrics.first() else {
            return out;
        };
        let names: Vec<&str> = first.variants.iter().map(|(n, _, _)| n.as_str()).collect();
        let _ = writeln!(
            out,
            "{} seeds: {}   (mean ± 95% CI; Δ = paired difference to {})",
            self.seeds.len(),
            self.seeds
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            names[0]
        );
        let _ = write!(out, "{:<30}", "METRIC");
        for n in &names {
            let _ = write!(out, " {n:>22}");
        }
        for n in names.iter().skip(1) {
            let _ = write!(out, " {:>26}", format!("Δ {n}"));
        }
        let _ = writeln!(out);
        for m in &self.metrics {
            let _ = write!(out, "{:<30}", m.metric);
            for (_, mean, ci) in &m.variants {
                let _ = write!(
                    out,
                    " {:>22}",
                    format!("{} ± {}", fmt_num(*mean), fmt_num(*ci))
                );
            }
            for (_, d, ci, significant) in &m.differences {
                let verdict = match (significant, d.partial_cmp(&0.0), m.better) {
                    (false, _, _) => "",
                    (true, Some(std::cmp::Ordering::Greater), Better::Higher)
                    | (true, Some(std::cmp::Ordering::Less), Better::Lower) => " better",
                    (true, _, _) => " worse",
                };
                let _ = write!(
                    out,
                    " {:>26}",
                    format!("{:+} ± {}{verdict}", Signed(*d), fmt_num(*ci))
                );
            }
            let _ = writeln!(out);
        }
        out
    }

    /// Tidy CSV: variant,seed,metric,value.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("variant,seed,metric,value\n");
        for (variant, seed, metric, value) in &self.runs {
            let _ = writeln!(out, "{variant},{seed},\"{metric}\",{value}");
        }
        out
    }
}

fn fmt_num(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e9 {
        format!("{x:.0}")
    } else if x.abs() >= 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

struct Signed(f64);

impl std::fmt::Display for Signed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = fmt_num(self.0.abs());
        if self.0 < 0.0 {
            write!(f, "-{s}")
        } else {
            write!(f, "+{s}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_interval_uses_student_t() {
        // 2, 4, 6: mean 4, sd 2, n 3 → half-width t(0.975, 2) × 2/√3 = 4.303 × 1.1547 = 4.969.
        let (m, ci) = mean_ci(&[2.0, 4.0, 6.0]);
        assert_eq!(m, 4.0);
        assert!((ci - 4.9686).abs() < 1e-3, "{ci}");
        assert_eq!(mean_ci(&[7.0]), (7.0, 0.0));
    }
}
