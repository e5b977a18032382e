//! What a traffic model runs: services, their behaviour and entry rates, and the call graph.

use sim_core::SimDuration;

use super::balancer::Balancer;
use super::rate::RateSpec;

/// Every request an event, or rates integrated per interval with queueing formulas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Request,
    Fluid,
}

/// How entry requests are spaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Arrivals {
    /// A Poisson process of rate λ(t).
    #[default]
    Poisson,
    /// Evenly spaced at rate λ(t).
    Uniform,
}

/// CPU work per request (`cpuPerRequest`), in core-time: on an unthrottled core a request
/// takes this long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuCost {
    /// `cpuPerRequest: 20ms`.
    Constant(SimDuration),
    /// `cpuPerRequest: {exp: 8ms}`: exponential with this mean.
    Exp(SimDuration),
    /// `cpuPerRequest: {uniform: 5ms..15ms}`.
    Uniform(SimDuration, SimDuration),
    /// `cpuPerRequest: {lognormal: {median: 10ms, p99: 80ms}}`.
    LogNormal {
        median: SimDuration,
        p99: SimDuration,
    },
}

/// The standard normal quantile at 0.99.
pub(crate) const Z99: f64 = 2.326_347_874_040_841;

impl CpuCost {
    /// The mean, in seconds.
    pub fn mean_secs(&self) -> f64 {
        match *self {
            CpuCost::Constant(d) | CpuCost::Exp(d) => d.as_secs_f64(),
            CpuCost::Uniform(a, b) => 0.5 * (a.as_secs_f64() + b.as_secs_f64()),
            CpuCost::LogNormal { median, p99 } => {
                let (m, s) = lognormal_params(median, p99);
                (m + 0.5 * s * s).exp()
            }
        }
    }

    /// The squared coefficient of variation (variance / mean²).
    pub fn scv(&self) -> f64 {
        match *self {
            CpuCost::Constant(_) => 0.0,
            CpuCost::Exp(_) => 1.0,
            CpuCost::Uniform(a, b) => {
                let (a, b) = (a.as_secs_f64(), b.as_secs_f64());
                let mean = 0.5 * (a + b);
                if mean > 0.0 {
                    (b - a) * (b - a) / 12.0 / (mean * mean)
                } else {
                    0.0
                }
            }
            CpuCost::LogNormal { median, p99 } => {
                let (_, s) = lognormal_params(median, p99);
                (s * s).exp() - 1.0
            }
        }
    }
}

/// `(μ, σ)` of the underlying normal, from the median and the 99th percentile.
pub(crate) fn lognormal_params(median: SimDuration, p99: SimDuration) -> (f64, f64) {
    let m = median.as_secs_f64().max(1e-12).ln();
    let s = ((p99.as_secs_f64().max(1e-12)).ln() - m).max(0.0) / Z99;
    (m, s)
}

/// `retries: {attempts: 2, budget: 20%}`: a failed request is retried up to `attempts` times,
/// at once, while the service's retries in flight stay within the budget (Envoy's retry
/// budget: `budget` of the requests in flight, but at least `min_concurrency` retries).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Retries {
    pub attempts: u32,
    /// A fraction (0.2 for 20%).
    pub budget: f64,
    pub min_concurrency: u32,
}

// The budget is a finite fraction (the loader rejects anything else), so equality is total.
impl Eq for Retries {}

impl Default for Retries {
    fn default() -> Self {
        // Envoy's RetryBudget defaults: budget_percent 20%, min_retry_concurrency 3.
        Retries {
            attempts: 0,
            budget: 0.2,
            min_concurrency: 3,
        }
    }
}

/// How a service's pods serve (the `behaviour:` keys of its workload).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceBehaviour {
    pub cpu_per_request: CpuCost,
    /// Requests a pod serves at once; more wait in its FIFO queue.
    pub concurrency: u32,
    /// Per attempt; `None` waits forever.
    pub timeout: Option<SimDuration>,
    pub retries: Retries,
    /// Requests a pod holds waiting beyond `concurrency`; more are rejected. `None`: no limit.
    pub queue_limit: Option<u32>,
}

impl Default for ServiceBehaviour {
    fn default() -> Self {
        ServiceBehaviour {
            cpu_per_request: CpuCost::Constant(SimDuration::from_millis(10)),
            concurrency: 100,
            timeout: None,
            retries: Retries::default(),
            queue_limit: None,
        }
    }
}

/// One service.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceSpec {
    /// The Service's name.
    pub name: String,
    /// External arrivals (a `traffic.entry` item), if it is an entry point.
    pub entry: Option<RateSpec>,
    pub arrivals: Arrivals,
    pub balancer: Balancer,
    pub behaviour: ServiceBehaviour,
}

impl ServiceSpec {
    pub fn new(name: impl Into<String>) -> ServiceSpec {
        ServiceSpec {
            name: name.into(),
            entry: None,
            arrivals: Arrivals::Poisson,
            balancer: Balancer::default(),
            behaviour: ServiceBehaviour::default(),
        }
    }
}

/// `calls: [{from, to, perRequest}]`: each request `from` makes `per_request` calls to `to` on
/// average: `⌊per_request⌋` calls plus one more with probability `per_request − ⌊per_request⌋`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Call {
    pub from: usize,
    pub to: usize,
    pub per_request: f64,
}

/// The whole `traffic:` section, services by index.
#[derive(Clone, Debug, PartialEq)]
pub struct TrafficSpec {
    pub mode: Mode,
    /// The fluid mode's step, and the request mode's step of the rate function (λ is held
    /// constant over each interval).
    pub interval: SimDuration,
    /// SLO windows (`sloWindow`, default 1h).
    pub slo_window: SimDuration,
    /// The time-series interval (`seriesInterval`, default 1m).
    pub series_interval: SimDuration,
    /// The wall-clock start (Unix seconds), for the daily and weekly shapes.
    pub start_unix_secs: i64,
    pub services: Vec<ServiceSpec>,
    /// Acyclic: the loader rejects cycles.
    pub calls: Vec<Call>,
}

/// 2024-01-01T00:00:00Z, a Monday.
pub const DEFAULT_START_UNIX_SECS: i64 = 1_704_067_200;

impl Default for TrafficSpec {
    fn default() -> Self {
        TrafficSpec {
            mode: Mode::Request,
            interval: SimDuration::from_secs(1),
            slo_window: SimDuration::from_hours(1),
            series_interval: SimDuration::from_mins(1),
            start_unix_secs: DEFAULT_START_UNIX_SECS,
            services: Vec::new(),
            calls: Vec::new(),
        }
    }
}

impl TrafficSpec {
    pub fn service_ix(&self, name: &str) -> Option<usize> {
        self.services.iter().position(|s| s.name == name)
    }

    /// Services in an order where every caller comes before its callees, or the services on
    /// a cycle.
    pub fn topological_order(&self) -> Result<Vec<usize>, Vec<usize>> {
        use petgraph::graph::DiGraph;
        let mut g: DiGraph<usize, ()> = DiGraph::new();
        let nodes: Vec<_> = (0..self.services.len()).map(|i| g.add_node(i)).collect();
        for c in &self.calls {
            if let (Some(&a), Some(&b)) = (nodes.get(c.from), nodes.get(c.to)) {
                g.add_edge(a, b, ());
            }
        }
        match petgraph::algo::toposort(&g, None) {
            Ok(order) => Ok(order.into_iter().map(|n| g[n]).collect()),
            Err(cycle) => {
                let start = g[cycle.node_id()];
                let sccs = petgraph::algo::tarjan_scc(&g);
                let on = sccs
                    .into_iter()
                    .find(|c| c.iter().any(|n| g[*n] == start))
                    .map(|c| {
                        let mut v: Vec<usize> = c.into_iter().map(|n| g[n]).collect();
                        v.sort_unstable();
                        v
                    })
                    .unwrap_or_else(|| vec![start]);
                Err(on)
            }
        }
    }
}
