//! The traffic model's `request` mode against queueing theory, and `fluid` against `request`,
//! through the library API (`models::traffic`).
//!
//! Sample sizes and intervals: successive response times in a queue are correlated, so the
//! standard error of a mean shrinks like 1/√n but with a large constant. It was measured by
//! running each configuration with 12 other seeds at 400,000 requests: the relative standard
//! deviation of the mean was 1.6% at ρ = 0.8 (one pod, or four pods behind random), 0.96% at
//! ρ = 0.5 (200,000 requests) and 1.1% for least-request. The sizes below scale those to about
//! 0.8% (ρ = 0.8, 1.6 million requests) and 0.5% (ρ = 0.5, 800,000), so the 2% bounds are
//! 2.5σ and 4σ: a 99%-or-better interval. Seeds are fixed, so each run gives the same
//! numbers. Debug builds simulate about half a million requests per second here.

use models::traffic::{
    Balancer, Call, CpuCost, Endpoint, Mode, RateSpec, ServiceSpec, TrafficModel, TrafficSpec,
    queueing,
};
use sim_core::{SimDuration, SimTime};

fn endpoints(first_key: u32, n: u32) -> Vec<Endpoint> {
    (0..n)
        .map(|i| Endpoint {
            key: first_key + i,
            node: i,
            zone: 0,
            weight: 1,
            serving: true,
            terminating: false,
        })
        .collect()
}

/// One entry service with exponential service of mean `1/mu`, `pods` pods of one slot each.
fn single(lambda: f64, mu: f64, balancer: Balancer, mode: Mode) -> TrafficSpec {
    let mut s = ServiceSpec::new("api");
    s.entry = Some(RateSpec::constant(lambda));
    s.balancer = balancer;
    s.behaviour.concurrency = 1;
    s.behaviour.cpu_per_request = CpuCost::Exp(SimDuration::from_nanos((1e9 / mu).round() as u64));
    TrafficSpec {
        mode,
        services: vec![s],
        ..TrafficSpec::default()
    }
}

/// Runs `spec` for `secs` simulated seconds; returns the mean latency in seconds and the
/// number of succeeded requests.
fn run(spec: &TrafficSpec, pods: u32, secs: u64, seed: u64) -> (f64, u64) {
    let mut m = TrafficModel::new(spec, seed);
    for s in 0..spec.services.len() {
        m.set_endpoints(s, &endpoints(1000 * s as u32, pods));
    }
    m.advance_until(SimTime::from_secs(secs));
    let st = m.stats(0);
    (st.latency.mean_secs(), st.counts.succeeded)
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b
}

#[test]
fn one_pod_is_mm1_at_half_load() {
    // λ = 500/s, μ = 1000/s: T = 1/(μ−λ) = 2 ms. 400 s ≈ 200,000 requests: ≈ 0.8% standard
    // error (κ ≈ 12), bound 2%.
    let (mean, n) = run(
        &single(500.0, 1000.0, Balancer::RoundRobin, Mode::Request),
        1,
        400,
        1,
    );
    assert!(n > 190_000, "{n}");
    let want = queueing::mm1_mean_response(500.0, 1000.0).expect("stable");
    assert!(rel(mean, want) < 0.02, "mean {mean} vs {want}");
}

#[test]
fn one_pod_is_mm1_at_eighty_percent() {
    // λ = 800/s, μ = 1000/s: T = 5 ms. 500 s ≈ 400,000 requests: ≈ 1.5% standard error
    // (κ ≈ 90), bound 2%.
    let (mean, n) = run(
        &single(800.0, 1000.0, Balancer::RoundRobin, Mode::Request),
        1,
        500,
        2,
    );
    assert!(n > 390_000, "{n}");
    let want = queueing::mm1_mean_response(800.0, 1000.0).expect("stable");
    assert!(rel(mean, want) < 0.02, "mean {mean} vs {want}");
}

#[test]
fn random_balancing_makes_each_pod_mm1() {
    // Four pods, λ = 3,200/s in all, μ = 1000/s each: random splitting of a Poisson stream
    // gives each pod a Poisson stream of 800/s, so T = 1/(μ − λ/4) = 5 ms. 500 s ≈ 1.6
    // million requests: ≈ 0.8% standard error, bound 2% (2.5σ).
    let spec = single(3200.0, 1000.0, Balancer::Random, Mode::Request);
    let (mean, _) = run(&spec, 4, 500, 3);
    let want = queueing::mm1_mean_response(800.0, 1000.0).expect("stable");
    assert!(rel(mean, want) < 0.02, "mean {mean} vs {want}");
}

#[test]
fn least_request_is_close_to_mmc_and_beats_random() {
    // Same load. Joining the shortest queue with four single-slot pods comes close to the
    // pooled M/M/4 (T = 1.747 ms; join-the-shortest-queue measures 1.95 ms, 12% above it,
    // with a 1.1% standard error at 125 s ≈ 400,000 requests), and far below random's 5 ms.
    // The band [0.98, 1.2] × M/M/4 is more than 6σ on either side.
    let spec = single(3200.0, 1000.0, Balancer::LeastRequest, Mode::Request);
    let (mean, _) = run(&spec, 4, 125, 4);
    let mmc = queueing::mmc_mean_response(4, 3200.0, 1000.0).expect("stable");
    assert!(mean >= mmc * 0.98, "mean {mean} below M/M/4 {mmc}");
    assert!(mean < mmc * 1.2, "mean {mean} vs M/M/4 {mmc}");
    let random = queueing::mm1_mean_response(800.0, 1000.0).expect("stable");
    assert!(
        mean < 0.5 * random,
        "least-request {mean} vs random {random}"
    );
}

/// A 10-service call graph: `edge` → `web` → {`auth`, `catalog`, `cart`}, `catalog` →
/// {`search`, `images`}, `cart` → {`pricing`, `inventory`}, `pricing` → `tax`; fan-outs from
/// 0.3 to 2.5 calls per request; every pod at most ~60% busy.
fn graph(mode: Mode) -> (TrafficSpec, Vec<u32>) {
    let names = [
        "edge",
        "web",
        "auth",
        "catalog",
        "cart",
        "search",
        "images",
        "pricing",
        "inventory",
        "tax",
    ];
    let cost_ms = [2.0, 5.0, 1.0, 4.0, 3.0, 6.0, 2.0, 1.5, 2.5, 0.5];
    let pods = vec![2, 4, 2, 4, 2, 6, 4, 2, 2, 1];
    let mut services: Vec<ServiceSpec> = names.iter().map(|n| ServiceSpec::new(*n)).collect();
    for (i, s) in services.iter_mut().enumerate() {
        s.behaviour.concurrency = 4;
        s.behaviour.cpu_per_request =
            CpuCost::Exp(SimDuration::from_nanos((cost_ms[i] * 1e6) as u64));
        s.balancer = Balancer::Random;
    }
    services[0].entry = Some(RateSpec::constant(300.0));
    let edges = [
        (0, 1, 1.0),
        (1, 2, 1.0),
        (1, 3, 2.5),
        (1, 4, 0.3),
        (3, 5, 0.5),
        (3, 6, 1.5),
        (4, 7, 1.0),
        (4, 8, 2.0),
        (7, 9, 1.0),
    ];
    let calls = edges
        .iter()
        .map(|&(from, to, per_request)| Call {
            from,
            to,
            per_request,
        })
        .collect();
    (
        TrafficSpec {
            mode,
            services,
            calls,
            ..TrafficSpec::default()
        },
        pods,
    )
}

fn run_graph(mode: Mode, secs: u64) -> Vec<(f64, f64)> {
    let (spec, pods) = graph(mode);
    let mut m = TrafficModel::new(&spec, 9);
    for (s, &n) in pods.iter().enumerate() {
        m.set_endpoints(s, &endpoints(1000 * s as u32, n));
    }
    m.advance_until(SimTime::from_secs(secs));
    (0..spec.services.len())
        .map(|s| {
            let st = m.stats(s);
            (st.latency.mean_secs(), st.busy_core_seconds / secs as f64)
        })
        .collect()
}

#[test]
fn fluid_agrees_with_request_on_a_call_graph() {
    // 200 s at 300 entry requests per second: ≈ 60,000 entry requests and ≈ 400,000 in all;
    // per-service means have standard errors under 1.5%, and M/M/c per pod with random
    // splitting is what the fluid mode computes, so 5% on latency and 3% on busy cores holds.
    let secs = 200;
    let request = run_graph(Mode::Request, secs);
    let fluid = run_graph(Mode::Fluid, secs);
    for (s, (r, f)) in request.iter().zip(&fluid).enumerate() {
        assert!(
            rel(f.0, r.0) < 0.05,
            "service {s}: latency fluid {} vs request {}",
            f.0,
            r.0
        );
        assert!(
            rel(f.1, r.1) < 0.03,
            "service {s}: busy fluid {} vs request {}",
            f.1,
            r.1
        );
    }
}

#[test]
fn same_seed_same_stats() {
    let (spec, pods) = graph(Mode::Request);
    let once = || {
        let mut m = TrafficModel::new(&spec, 77);
        for (s, &n) in pods.iter().enumerate() {
            m.set_endpoints(s, &endpoints(1000 * s as u32, n));
        }
        m.advance_until(SimTime::from_secs(20));
        let mut cpu = Vec::new();
        m.take_cpu_busy(|k, ns| cpu.push((k, ns)));
        let stats: Vec<_> = (0..spec.services.len())
            .map(|s| m.stats(s).clone())
            .collect();
        (stats, cpu)
    };
    let a = once();
    assert_eq!(a, once());
    let mut other = TrafficModel::new(&spec, 78);
    for (s, &n) in pods.iter().enumerate() {
        other.set_endpoints(s, &endpoints(1000 * s as u32, n));
    }
    other.advance_until(SimTime::from_secs(20));
    assert_ne!(a.0[0].counts, other.stats(0).counts);
}
