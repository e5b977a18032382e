//! Service-level objectives: what a scenario promises its users (`slo:`), and whether the run
//! kept the promise — over the whole run and, when a window is set, in every window.
//!
//! An objective is checked against figures the traffic model measured for a service: the
//! fraction of requests that succeeded, and latency quantiles. A verdict says met or missed,
//! by how much, and when (the first window that missed, and the worst one), because "99.8%
//! over the week" hides the hour the shop was down.

use sim_core::{SimDuration, SimTime};

/// A latency quantile an objective can bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Quantile {
    P50,
    P90,
    P95,
    P99,
    P999,
}

impl Quantile {
    pub const ALL: [Quantile; 5] = [
        Quantile::P50,
        Quantile::P90,
        Quantile::P95,
        Quantile::P99,
        Quantile::P999,
    ];

    /// The quantile as a fraction (0.99 for p99).
    pub fn fraction(self) -> f64 {
        match self {
            Quantile::P50 => 0.50,
            Quantile::P90 => 0.90,
            Quantile::P95 => 0.95,
            Quantile::P99 => 0.99,
            Quantile::P999 => 0.999,
        }
    }

    /// `p99`, as reports name it.
    pub fn name(self) -> &'static str {
        match self {
            Quantile::P50 => "p50",
            Quantile::P90 => "p90",
            Quantile::P95 => "p95",
            Quantile::P99 => "p99",
            Quantile::P999 => "p99.9",
        }
    }

    /// The scenario key that bounds it (`latencyP99`).
    pub fn key(self) -> &'static str {
        match self {
            Quantile::P50 => "latencyP50",
            Quantile::P90 => "latencyP90",
            Quantile::P95 => "latencyP95",
            Quantile::P99 => "latencyP99",
            Quantile::P999 => "latencyP999",
        }
    }
}

/// One promise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// At least this fraction of requests succeed (`availability: 99.9%` is 0.999).
    Availability(f64),
    /// The quantile of successful requests' latency is at most this.
    Latency(Quantile, SimDuration),
}

/// An objective for one service, or for every service where traffic enters the cluster (the
/// latency and errors its clients see) when `service` is `None`.
#[derive(Clone, Debug, PartialEq)]
pub struct Objective {
    pub service: Option<String>,
    pub target: Target,
}

/// The scenario's `slo:` section.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SloSpec {
    pub objectives: Vec<Objective>,
    /// Also judge each window of this length (`window: 1h`); a window without requests is
    /// not judged.
    pub window: Option<SimDuration>,
    /// Windows that start before this are not judged (`warmUp: 1h`): a simulation starts
    /// cold (replicas at their manifests' counts, caches empty), which no real shop is at
    /// the moment its clients arrive. The whole-run figures still count every request.
    pub warm_up: SimDuration,
}

/// What the traffic model measured for one service over a span of time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    pub requests: u64,
    pub succeeded: u64,
    /// Latency quantiles of succeeded requests, in `Quantile::ALL` order; `None` without any.
    pub latency: [Option<SimDuration>; 5],
}

impl Figures {
    pub fn availability(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.succeeded as f64 / self.requests as f64)
    }

    pub fn quantile(&self, q: Quantile) -> Option<SimDuration> {
        let i = Quantile::ALL.iter().position(|x| *x == q)?;
        self.latency[i]
    }
}

/// The measured figures of one service, whole-run and per window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceFigures {
    pub service: String,
    /// Whether traffic enters the cluster here (objectives without a service apply to it).
    pub entry: bool,
    pub total: Figures,
    /// `(window start, figures)`, in time order.
    pub windows: Vec<(SimTime, Figures)>,
}

/// The verdict on one objective for one service.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub service: String,
    pub target: Target,
    /// Over the whole run and in every judged window.
    pub met: bool,
    /// The whole run's figure: availability as a fraction, or latency in seconds; `None` when
    /// the service saw no request (nothing to judge: counted as met).
    pub actual: Option<f64>,
    /// Windows judged and missed.
    pub windows_judged: u32,
    pub windows_missed: u32,
    /// The first window that missed, and the worst window (its start and figure).
    pub first_missed: Option<SimTime>,
    pub worst: Option<(SimTime, f64)>,
}

impl Verdict {
    /// The target as a number in the same unit as `actual`.
    pub fn target_value(&self) -> f64 {
        match self.target {
            Target::Availability(a) => a,
            Target::Latency(_, d) => d.as_secs_f64(),
        }
    }

    /// How far the whole-run figure is on the good side of the target (negative: missed by):
    /// percentage points of availability, or seconds of latency.
    pub fn margin(&self) -> Option<f64> {
        let actual = self.actual?;
        Some(match self.target {
            Target::Availability(a) => (actual - a) * 100.0,
            Target::Latency(_, d) => d.as_secs_f64() - actual,
        })
    }

    /// `availability ≥ 99.9%`, `p99 ≤ 300ms`.
    pub fn objective(&self) -> String {
        describe_target(self.target)
    }
}

pub fn describe_target(target: Target) -> String {
    match target {
        Target::Availability(a) => format!("availability ≥ {}%", trim_percent(a * 100.0)),
        Target::Latency(q, d) => format!("{} latency ≤ {d}", q.name()),
    }
}

fn trim_percent(p: f64) -> String {
    let s = format!("{p:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The figure an objective looks at, and whether it is met.
fn judge(target: Target, f: &Figures) -> Option<(f64, bool)> {
    match target {
        Target::Availability(a) => f.availability().map(|x| (x, x >= a)),
        Target::Latency(q, bound) => f.quantile(q).map(|x| (x.as_secs_f64(), x <= bound)),
    }
}

/// Whether `a` is a worse figure than `b` for this target.
fn worse(target: Target, a: f64, b: f64) -> bool {
    match target {
        Target::Availability(_) => a < b,
        Target::Latency(..) => a > b,
    }
}

/// Judges every objective against every service it applies to, in the spec's order, then
/// service order. Objectives naming a service the run did not measure are judged on no
/// requests (met, with `actual: None`).
pub fn evaluate(spec: &SloSpec, services: &[ServiceFigures]) -> Vec<Verdict> {
    let mut out = Vec::new();
    for objective in &spec.objectives {
        let applies: Vec<&ServiceFigures> = match &objective.service {
            Some(name) => services.iter().filter(|s| &s.service == name).collect(),
            None => services.iter().filter(|s| s.entry).collect(),
        };
        if applies.is_empty()
            && let Some(name) = &objective.service
        {
            out.push(Verdict {
                service: name.clone(),
                target: objective.target,
                met: true,
                actual: None,
                windows_judged: 0,
                windows_missed: 0,
                first_missed: None,
                worst: None,
            });
        }
        for s in applies {
            out.push(verdict(
                objective.target,
                s,
                spec.window.is_some(),
                SimTime::ZERO + spec.warm_up,
            ));
        }
    }
    out
}

fn verdict(target: Target, s: &ServiceFigures, windowed: bool, judged_from: SimTime) -> Verdict {
    let whole = judge(target, &s.total);
    let mut v = Verdict {
        service: s.service.clone(),
        target,
        met: whole.is_none_or(|(_, ok)| ok),
        actual: whole.map(|(x, _)| x),
        windows_judged: 0,
        windows_missed: 0,
        first_missed: None,
        worst: None,
    };
    if windowed {
        for (start, f) in s.windows.iter().filter(|(start, _)| *start >= judged_from) {
            let Some((x, ok)) = judge(target, f) else {
                continue;
            };
            v.windows_judged += 1;
            if !ok {
                v.windows_missed += 1;
                v.first_missed.get_or_insert(*start);
            }
            if v.worst.is_none_or(|(_, w)| worse(target, x, w)) {
                v.worst = Some((*start, x));
            }
        }
        v.met &= v.windows_missed == 0;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> SimDuration {
        SimDuration::from_millis(n)
    }

    fn figures(requests: u64, succeeded: u64, p99_ms: u64) -> Figures {
        let mut f = Figures {
            requests,
            succeeded,
            ..Figures::default()
        };
        f.latency[3] = Some(ms(p99_ms));
        f
    }

    fn service(name: &str, entry: bool, total: Figures, windows: Vec<Figures>) -> ServiceFigures {
        ServiceFigures {
            service: name.into(),
            entry,
            total,
            windows: windows
                .into_iter()
                .enumerate()
                .map(|(i, f)| (SimTime::ZERO + SimDuration::from_secs(3600 * i as u64), f))
                .collect(),
        }
    }

    #[test]
    fn an_hour_of_outage_misses_a_windowed_objective_that_the_week_meets() {
        // 7 × 24 windows of 10,000 requests; one hour loses 5% of them. The week's
        // availability is 99.97% (met at 99.9%), the bad hour's 95% (missed).
        let mut windows = vec![figures(10_000, 10_000, 100); 168];
        windows[50] = figures(10_000, 9_500, 900);
        let total = figures(1_680_000, 1_679_500, 120);
        let spec = SloSpec {
            objectives: vec![
                Objective {
                    service: None,
                    target: Target::Availability(0.999),
                },
                Objective {
                    service: None,
                    target: Target::Latency(Quantile::P99, ms(300)),
                },
            ],
            window: Some(SimDuration::from_secs(3600)),
            warm_up: SimDuration::ZERO,
        };
        let services = [
            service("frontend", true, total.clone(), windows.clone()),
            service("checkout", false, figures(5, 0, 10), vec![]),
        ];
        let v = evaluate(&spec, &services);
        assert_eq!(
            v.len(),
            2,
            "objectives without a service judge entry services only"
        );
        let a = &v[0];
        assert!(!a.met);
        assert!((a.actual.unwrap() - 1_679_500.0 / 1_680_000.0).abs() < 1e-12);
        assert!(a.margin().unwrap() > 0.0, "the week alone meets the target");
        assert_eq!((a.windows_judged, a.windows_missed), (168, 1));
        let hour50 = SimTime::ZERO + SimDuration::from_secs(50 * 3600);
        assert_eq!(a.first_missed, Some(hour50));
        assert_eq!(a.worst, Some((hour50, 0.95)));
        let l = &v[1];
        assert!(!l.met);
        assert_eq!(l.worst, Some((hour50, 0.9)));
        assert_eq!(l.objective(), "p99 latency ≤ 300ms");
        assert_eq!(a.objective(), "availability ≥ 99.9%");

        // A warm-up ending after the bad hour: no window before it is judged.
        let warm = SloSpec {
            warm_up: SimDuration::from_secs(51 * 3600),
            ..spec
        };
        let v = evaluate(&warm, &[service("frontend", true, total, windows)]);
        assert!(v[0].met, "{:?}", v[0]);
        assert_eq!((v[0].windows_judged, v[0].windows_missed), (168 - 51, 0));
    }

    #[test]
    fn without_a_window_only_the_whole_run_counts_and_a_named_service_is_judged() {
        let spec = SloSpec {
            objectives: vec![
                Objective {
                    service: Some("checkout".into()),
                    target: Target::Latency(Quantile::P99, ms(300)),
                },
                Objective {
                    service: Some("nosuch".into()),
                    target: Target::Availability(0.99),
                },
            ],
            window: None,
            warm_up: SimDuration::ZERO,
        };
        let services = [service(
            "checkout",
            false,
            figures(100, 100, 350),
            vec![figures(1, 1, 1)],
        )];
        let v = evaluate(&spec, &services);
        assert!(!v[0].met);
        assert_eq!(v[0].windows_judged, 0);
        assert!(
            (v[0].margin().unwrap() + 0.05).abs() < 1e-9,
            "missed by 50ms"
        );
        assert!(
            v[1].met && v[1].actual.is_none(),
            "no requests: nothing to judge"
        );
    }
}
