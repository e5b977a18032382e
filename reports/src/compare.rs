//! Side-by-side comparison of scenario variants over the same seeds: per-metric mean with a
//! 95% confidence interval, and the paired difference to the first variant (the baseline),
//! which is what tells whether a policy is better — the seeds pair the runs.
//!
//! With a single seed there is no interval: the figures are shown without one ("n/a"), and no
//! difference is called better or worse.

use std::fmt::Write;

use models::summary::Summary;
use serde::Serialize;

pub use models::summary::Better;

/// One headline figure of a run: name, value, and which direction is better.
pub type Metric = (String, f64, Better);

/// The headline metrics compared, with the direction that is better. A name given twice
/// (a model's extra metric named like a built-in one) is kept once, the first time.
pub fn metrics(s: &Summary) -> Vec<Metric> {
    let (mut req, mut alloc, mut nodes_in_use) = (0i64, 0i64, 0u64);
    let mut cost: Option<f64> = None;
    for p in &s.pools {
        nodes_in_use += p.nodes_in_use;
        if let Some(cpu) = p.resources.iter().find(|r| r.resource == "cpu") {
            req += cpu.requested;
            alloc += cpu.allocatable;
        }
        if let Some(c) = p.cost {
            *cost.get_or_insert(0.0) += c;
        }
    }
    let mut m: Vec<Metric> = vec![
        (
            "pods scheduled".into(),
            s.pods.scheduled as f64,
            Better::Higher,
        ),
        ("pods pending".into(), s.pods.pending as f64, Better::Lower),
        (
            "time to schedule p50 (s)".into(),
            s.pending_seconds.p50,
            Better::Lower,
        ),
        (
            "time to schedule p99 (s)".into(),
            s.pending_seconds.p99,
            Better::Lower,
        ),
        ("nodes in use".into(), nodes_in_use as f64, Better::Lower),
        (
            "cpu requested / allocatable".into(),
            if alloc > 0 {
                req as f64 / alloc as f64
            } else {
                0.0
            },
            Better::Higher,
        ),
        (
            "unschedulable attempts".into(),
            s.scheduler.failed_attempts as f64,
            Better::Lower,
        ),
        ("node-hours".into(), s.run.node_hours, Better::Lower),
    ];
    // What a capacity plan trades: money against the service its users get.
    if let Some(c) = cost {
        m.push(("cost".into(), c, Better::Lower));
    }
    for (name, svc) in &s.services {
        if svc.requests == 0 {
            continue;
        }
        m.push((
            format!("{name} availability"),
            svc.availability,
            Better::Higher,
        ));
        m.push((
            format!("{name} latency p99 (s)"),
            svc.latency_seconds.p99,
            Better::Lower,
        ));
    }
    if !s.slo.is_empty() {
        let missed = s.slo.iter().filter(|v| !v.met).count();
        m.push(("SLO objectives missed".into(), missed as f64, Better::Lower));
        let windows: u32 = s.slo.iter().map(|v| v.windows_missed).sum();
        m.push((
            "SLO windows missed".into(),
            f64::from(windows),
            Better::Lower,
        ));
    }
    for (name, value, better) in &s.extra_metrics {
        m.push((name.to_string(), *value, *better));
    }
    let mut seen = std::collections::BTreeSet::new();
    m.retain(|(name, _, _)| seen.insert(name.clone()));
    m
}

/// Two-sided 95% Student-t critical values for 1..=30 degrees of freedom.
const T95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// Mean and the half-width of its 95% confidence interval; no interval below two values.
pub fn mean_ci(values: &[f64]) -> (f64, Option<f64>) {
    let n = values.len();
    if n == 0 {
        return (0.0, None);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return (mean, None);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let t = T95.get(n - 2).copied().unwrap_or(1.960);
    (mean, Some(t * (var / n as f64).sqrt()))
}

/// One variant's figure for a metric over the seeds.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantFigure {
    pub variant: String,
    pub mean: f64,
    /// Half-width of the 95% confidence interval of the mean; `null` with fewer than 2 seeds.
    pub ci95: Option<f64>,
}

/// Whether a variant's paired difference to the baseline is an improvement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    Better,
    Worse,
    /// The interval includes zero: no difference shown on these seeds.
    NoDifference,
    /// Fewer than 2 seeds: no interval, so no verdict.
    NotApplicable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::NoDifference => "no difference",
            Verdict::NotApplicable => "n/a",
        }
    }
}

/// A variant's mean paired difference (variant − baseline, seed by seed) for a metric.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Difference {
    pub variant: String,
    pub mean: f64,
    /// Half-width of the 95% confidence interval; `null` with fewer than 2 seeds.
    pub ci95: Option<f64>,
    pub verdict: Verdict,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricComparison {
    pub metric: String,
    pub better: Better,
    /// The same value in every run of every variant: nothing to compare.
    pub constant: bool,
    /// Per variant, in the comparison's order.
    pub variants: Vec<VariantFigure>,
    /// Per non-baseline variant: the paired difference to the baseline (the first variant).
    pub differences: Vec<Difference>,
}

/// One figure of one run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunFigure {
    pub variant: String,
    pub seed: u64,
    pub metric: String,
    pub value: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComparisonReport {
    pub seeds: Vec<u64>,
    /// Variant names; the first is the baseline of the differences.
    pub variants: Vec<String>,
    pub metrics: Vec<MetricComparison>,
    /// Every figure of every run.
    pub runs: Vec<RunFigure>,
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
                runs.push(RunFigure {
                    variant: name.clone(),
                    seed: *seed,
                    metric: metric.clone(),
                    value: *value,
                });
            }
        }
    }
    // Every metric any run has, once, in the order the runs name them: a variant may have
    // figures the baseline lacks (a Service only it creates).
    let mut metric_names: Vec<(&str, Better)> = Vec::new();
    for (name, _, better) in per_variant.iter().flatten().flatten() {
        if !metric_names.iter().any(|(n, _)| *n == name.as_str()) {
            metric_names.push((name.as_str(), *better));
        }
    }
    let value = |v: usize, seed: usize, metric: &str| -> Option<f64> {
        per_variant[v]
            .get(seed)?
            .iter()
            .find(|(n, _, _)| n == metric)
            .map(|(_, x, _)| *x)
    };
    let metrics = metric_names
        .iter()
        .map(|&(metric, better)| {
            let column = |v: usize| -> Vec<Option<f64>> {
                (0..seeds.len()).map(|s| value(v, s, metric)).collect()
            };
            let columns: Vec<Vec<Option<f64>>> = (0..variants.len()).map(column).collect();
            let all: Vec<f64> = columns.iter().flatten().flatten().copied().collect();
            let constant = all.windows(2).all(|w| w[0] == w[1]);
            let base = columns.first().cloned().unwrap_or_default();
            MetricComparison {
                metric: metric.to_string(),
                better,
                constant,
                variants: variants
                    .iter()
                    .zip(&columns)
                    .map(|((name, _), col)| {
                        let present: Vec<f64> = col.iter().flatten().copied().collect();
                        let (mean, ci95) = mean_ci(&present);
                        VariantFigure {
                            variant: name.clone(),
                            mean,
                            ci95,
                        }
                    })
                    .collect(),
                differences: variants
                    .iter()
                    .zip(&columns)
                    .skip(1)
                    .map(|((name, _), col)| {
                        // Paired: only seeds both runs have a figure for.
                        let diffs: Vec<f64> = col
                            .iter()
                            .zip(&base)
                            .filter_map(|(x, b)| Some(paired_difference((*x)?, (*b)?)))
                            .collect();
                        let (mean, ci95) = mean_ci(&diffs);
                        let base_mean =
                            mean_ci(&base.iter().flatten().copied().collect::<Vec<_>>()).0;
                        Difference {
                            variant: name.clone(),
                            mean,
                            ci95,
                            verdict: verdict(mean, ci95, better, base_mean),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    ComparisonReport {
        seeds: seeds.to_vec(),
        variants: variants.iter().map(|(n, _)| n.clone()).collect(),
        metrics,
        runs,
    }
}

/// `x − b`, with the rounding noise of sums computed in another order (a node-hours total
/// over other pools) taken as no difference: it would otherwise be called better or worse
/// with a zero-width interval.
fn paired_difference(x: f64, b: f64) -> f64 {
    let d = x - b;
    if d.abs() <= 1e-9 * x.abs().max(b.abs()) {
        0.0
    } else {
        d
    }
}

/// Better or worse when the interval excludes zero and the difference is at least 0.1% of the
/// baseline's mean: a consistent difference of a microsecond on a 90 ms figure is real on
/// these seeds but not a difference anyone should act on (and prints as `+0.000`).
fn verdict(mean: f64, ci95: Option<f64>, better: Better, baseline: f64) -> Verdict {
    let Some(ci) = ci95 else {
        return Verdict::NotApplicable;
    };
    if mean.abs() <= ci || mean == 0.0 || mean.abs() < 1e-3 * baseline.abs() {
        return Verdict::NoDifference;
    }
    match (mean > 0.0, better) {
        (true, Better::Higher) | (false, Better::Lower) => Verdict::Better,
        _ => Verdict::Worse,
    }
}

/// `mean ± ci`, or the mean alone without an interval.
pub fn mean_text(mean: f64, ci95: Option<f64>) -> String {
    match ci95 {
        Some(ci) => format!("{} ± {}", fmt_num(mean), fmt_num(ci)),
        None => fmt_num(mean),
    }
}

/// `+d ± ci better`, or the signed difference alone without an interval.
pub fn difference_text(d: &Difference) -> String {
    let mut s = format!("{}", Signed(d.mean));
    if let Some(ci) = d.ci95 {
        let _ = write!(s, " ± {}", fmt_num(ci));
    }
    if matches!(d.verdict, Verdict::Better | Verdict::Worse) {
        let _ = write!(s, " {}", d.verdict.as_str());
    }
    s
}

impl ComparisonReport {
    /// The line above the table: seeds, and what the columns mean.
    pub fn heading(&self) -> String {
        let baseline = self.variants.first().map_or("", String::as_str);
        let seeds = self
            .seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        if self.seeds.len() < 2 {
            format!(
                "{} seed: {seeds}   (one run per variant: 95% CI n/a, use --seeds 2 or more; Δ = difference to {baseline})",
                self.seeds.len()
            )
        } else {
            format!(
                "{} seeds: {seeds}   (mean ± 95% CI; Δ = paired difference to {baseline})",
                self.seeds.len()
            )
        }
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if self.metrics.is_empty() {
            return out;
        }
        let _ = writeln!(out, "{}", self.heading());
        let width = self
            .metrics
            .iter()
            .map(|m| m.metric.chars().count())
            .max()
            .unwrap_or(0)
            .max(30);
        let _ = write!(out, "{:<width$}", "METRIC");
        for n in &self.variants {
            let _ = write!(out, " {n:>22}");
        }
        for n in self.variants.iter().skip(1) {
            let _ = write!(out, " {:>26}", format!("Δ {n}"));
        }
        let _ = writeln!(out);
        for m in &self.metrics {
            let _ = write!(out, "{:<width$}", m.metric);
            for f in &m.variants {
                let _ = write!(out, " {:>22}", mean_text(f.mean, f.ci95));
            }
            for d in &m.differences {
                let _ = write!(out, " {:>26}", difference_text(d));
            }
            let _ = writeln!(out);
        }
        out
    }

    /// Tidy CSV: variant,seed,metric,value.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("variant,seed,metric,value\n");
        for r in &self.runs {
            let _ = writeln!(
                out,
                "{},{},{},{}",
                csv_field(&r.variant),
                r.seed,
                csv_field(&r.metric),
                r.value
            );
        }
        out
    }
}

/// A CSV field, quoted (with quotes doubled) when it holds a comma, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn fmt_num(x: f64) -> String {
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
        assert!(ci.is_some_and(|ci| (ci - 4.9686).abs() < 1e-3), "{ci:?}");
        assert_eq!(mean_ci(&[7.0]), (7.0, None));
    }

    #[test]
    fn verdicts_follow_the_better_direction_and_need_an_interval() {
        assert_eq!(
            verdict(2.0, Some(1.0), Better::Higher, 10.0),
            Verdict::Better
        );
        assert_eq!(verdict(2.0, Some(1.0), Better::Lower, 10.0), Verdict::Worse);
        assert_eq!(
            verdict(-2.0, Some(1.0), Better::Lower, 10.0),
            Verdict::Better
        );
        assert_eq!(
            verdict(0.5, Some(1.0), Better::Lower, 10.0),
            Verdict::NoDifference
        );
        assert_eq!(
            verdict(0.0, Some(0.0), Better::Lower, 10.0),
            Verdict::NoDifference
        );
        assert_eq!(
            verdict(3.0, None, Better::Lower, 10.0),
            Verdict::NotApplicable
        );
        // Consistent but under 0.1% of the baseline: not a difference to act on.
        assert_eq!(
            verdict(1e-6, Some(1e-7), Better::Lower, 0.09),
            Verdict::NoDifference
        );
    }

    #[test]
    fn rounding_noise_is_no_difference() {
        assert_eq!(paired_difference(0.1 + 0.2, 0.3), 0.0);
        assert_eq!(paired_difference(3.0, 1.0), 2.0);
    }

    #[test]
    fn csv_fields_with_commas_are_quoted() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
