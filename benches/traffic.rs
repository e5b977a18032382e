//! The traffic model's cost: simulated requests per second of wall time in `request` mode
//! (one service, 100 pods, exponential service, least-request and random balancing), and the
//! cost of one service-interval in `fluid` mode (100 services of 1,500 pods each, one second
//! steps).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use models::traffic::{
    Balancer, CpuCost, Endpoint, Mode, RateSpec, ServiceSpec, TrafficModel, TrafficSpec,
};
use sim_core::{SimDuration, SimTime};

fn endpoints(first: u32, n: u32) -> Vec<Endpoint> {
    (0..n)
        .map(|i| Endpoint {
            key: first + i,
            node: i,
            zone: i % 3,
            weight: 1,
            serving: true,
            terminating: false,
        })
        .collect()
}

/// 100 pods of 4 slots, 5 ms per request, 50,000 requests per second: 62.5% busy.
fn request_spec(balancer: Balancer) -> TrafficSpec {
    let mut s = ServiceSpec::new("api");
    s.entry = Some(RateSpec::constant(50_000.0));
    s.balancer = balancer;
    s.behaviour.concurrency = 4;
    s.behaviour.cpu_per_request = CpuCost::Exp(SimDuration::from_millis(5));
    TrafficSpec {
        services: vec![s],
        ..TrafficSpec::default()
    }
}

fn request_mode(c: &mut Criterion) {
    const SECS: u64 = 10;
    let mut g = c.benchmark_group("traffic/request");
    g.sample_size(10);
    g.throughput(Throughput::Elements(50_000 * SECS));
    for (name, balancer) in [
        ("random", Balancer::Random),
        ("least-request", Balancer::LeastRequest),
    ] {
        let spec = request_spec(balancer);
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut m = TrafficModel::new(&spec, 1);
                m.set_endpoints(0, &endpoints(0, 100));
                m.advance_until(SimTime::from_secs(SECS));
                black_box(m.stats(0).counts.succeeded)
            });
        });
    }
    g.finish();
}

fn fluid_mode(c: &mut Criterion) {
    const SERVICES: usize = 100;
    const SECS: u64 = 3600;
    let services = (0..SERVICES)
        .map(|i| {
            let mut s = ServiceSpec::new(format!("svc-{i}"));
            s.entry = Some(RateSpec::constant(10_000.0));
            s.behaviour.concurrency = 8;
            s.behaviour.cpu_per_request = CpuCost::Exp(SimDuration::from_millis(20));
            s.balancer = Balancer::Random;
            s
        })
        .collect();
    let spec = TrafficSpec {
        mode: Mode::Fluid,
        services,
        ..TrafficSpec::default()
    };
    let mut g = c.benchmark_group("traffic/fluid");
    g.sample_size(10);
    // One element per service-interval.
    g.throughput(Throughput::Elements(SERVICES as u64 * SECS));
    g.bench_function("100x1500-pods-1h", |b| {
        b.iter(|| {
            let mut m = TrafficModel::new(&spec, 1);
            for s in 0..SERVICES {
                m.set_endpoints(s, &endpoints(1500 * s as u32, 1500));
            }
            m.advance_until(SimTime::from_secs(SECS));
            let mut busy = 0u64;
            m.take_cpu_busy(|_, ns| busy += ns);
            black_box(busy)
        });
    });
    g.finish();
}

criterion_group!(benches, request_mode, fluid_mode);
criterion_main!(benches);
