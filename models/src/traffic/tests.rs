use sim_core::{SimDuration, SimTime};

use super::*;

fn ep(key: u32) -> Endpoint {
    Endpoint {
        key,
        node: 0,
        zone: 0,
        weight: 1,
        serving: true,
        terminating: false,
    }
}

fn one(rate: f64, cost: CpuCost, f: impl FnOnce(&mut ServiceBehaviour)) -> TrafficSpec {
    let mut s = ServiceSpec::new("api");
    s.entry = Some(RateSpec::constant(rate));
    s.behaviour.cpu_per_request = cost;
    f(&mut s.behaviour);
    TrafficSpec {
        services: vec![s],
        ..TrafficSpec::default()
    }
}

fn ms(n: u64) -> SimDuration {
    SimDuration::from_millis(n)
}

#[test]
fn no_endpoints_fail_every_request() {
    let mut m = TrafficModel::new(&one(100.0, CpuCost::Constant(ms(1)), |_| {}), 1);
    m.advance_until(SimTime::from_secs(10));
    let c = m.stats(0).counts;
    assert!(c.requests > 900);
    assert_eq!(c.failed(FailureCause::NoEndpoints), c.requests);
}

#[test]
fn uniform_arrivals_are_evenly_spaced() {
    let mut spec = one(100.0, CpuCost::Constant(ms(1)), |_| {});
    spec.services[0].arrivals = Arrivals::Uniform;
    let mut m = TrafficModel::new(&spec, 1);
    m.set_endpoints(0, &[ep(1)]);
    m.advance_until(SimTime::from_secs(10));
    let st = m.stats(0);
    // Arrivals at 10 ms, 20 ms, …, 9.99 s (the one at exactly 10 s is not yet processed).
    assert_eq!(st.counts.requests, 999);
    // Never any queueing: every latency is exactly the service time.
    assert_eq!(st.latency.max(), ms(1));
}

#[test]
fn pod_gone_fails_what_it_holds_and_draining_keeps_the_rest() {
    let spec = one(1000.0, CpuCost::Constant(ms(50)), |b| b.concurrency = 1000);
    let mut m = TrafficModel::new(&spec, 1);
    m.set_endpoints(0, &[ep(1), ep(2)]);
    m.advance_until(SimTime::from_secs(1));
    // Pod 2 leaves the endpoints: its requests drain, none fail.
    m.set_endpoints(0, &[ep(1)]);
    m.advance_until(SimTime::from_secs(2));
    assert_eq!(m.stats(0).counts.failed_total(), 0);
    // Pod 1 goes: about 50 requests in service fail.
    m.pod_gone(1, SimTime::from_secs(2));
    let gone = m.stats(0).counts.failed(FailureCause::PodGone);
    assert!((30..=70).contains(&gone), "{gone}");
    // The stale view still lists pod 1: more requests fail there.
    m.advance_until(SimTime::from_secs(3));
    assert!(m.stats(0).counts.failed(FailureCause::PodGone) > gone + 500);
}

#[test]
fn timeouts_and_queue_limits_fail_requests() {
    // One slot, 20 ms per request at 100/s: ρ = 2, the queue grows without end.
    let spec = one(100.0, CpuCost::Constant(ms(20)), |b| {
        b.concurrency = 1;
        b.timeout = Some(ms(500));
    });
    let mut m = TrafficModel::new(&spec, 3);
    m.set_endpoints(0, &[ep(1)]);
    m.advance_until(SimTime::from_secs(60));
    let c = m.stats(0).counts;
    assert!(c.failed(FailureCause::Timeout) > c.requests / 3, "{c:?}");
    assert!(m.stats(0).latency.max() <= ms(500));
    let spec = one(100.0, CpuCost::Constant(ms(20)), |b| {
        b.concurrency = 1;
        b.queue_limit = Some(5);
    });
    let mut m = TrafficModel::new(&spec, 3);
    m.set_endpoints(0, &[ep(1)]);
    m.advance_until(SimTime::from_secs(60));
    let c = m.stats(0).counts;
    assert!(c.failed(FailureCause::Rejected) > c.requests / 3, "{c:?}");
    // At most six ahead: 7 × 20 ms.
    assert!(m.stats(0).latency.max() <= ms(140));
}

#[test]
fn retries_recover_from_a_dead_endpoint() {
    let spec = one(100.0, CpuCost::Constant(ms(1)), |b| {
        b.retries = Retries {
            attempts: 2,
            budget: 1.0,
            min_concurrency: 3,
        };
    });
    let mut m = TrafficModel::new(&spec, 5);
    m.set_endpoints(0, &[ep(1), ep(2)]);
    m.pod_gone(2, SimTime::ZERO);
    m.advance_until(SimTime::from_secs(10));
    let st = m.stats(0);
    // Round-robin: every other first attempt hits the dead pod and is retried on the live one.
    assert_eq!(st.counts.failed_total(), 0, "{:?}", st.counts);
    assert!(st.retries > st.counts.requests / 3);
}

#[test]
fn cpu_limit_throttles_by_processor_sharing() {
    // Four requests at once on a pod limited to one core: each gets a quarter core, so each
    // 10 ms request takes 40 ms.
    let mut spec = one(0.0, CpuCost::Constant(ms(10)), |b| b.concurrency = 4);
    spec.services[0].entry = None;
    spec.services[0].arrivals = Arrivals::Uniform;
    let mut s = ServiceSpec::new("gateway");
    s.entry = Some(RateSpec::constant(1.0));
    s.arrivals = Arrivals::Uniform;
    s.behaviour.cpu_per_request = CpuCost::Constant(SimDuration::ZERO);
    spec.services.push(s);
    spec.calls.push(Call {
        from: 1,
        to: 0,
        per_request: 1.0,
    });
    let mut m = TrafficModel::new(&spec, 1);
    m.set_endpoints(0, &[ep(1)]);
    m.set_endpoints(1, &[ep(2)]);
    m.set_pod_capacity(1, Some(250));
    m.advance_until(SimTime::from_secs(10));
    // One request at a time: a quarter core makes 10 ms of work take 40 ms.
    assert_eq!(m.stats(0).latency.max(), ms(40));
    let mut busy = Vec::new();
    m.take_cpu_busy(|k, ns| busy.push((k, ns)));
    // Nine requests, 10 ms of CPU each.
    assert_eq!(busy, vec![(1, 90_000_000)]);
}

#[test]
fn windows_and_series_close_on_time() {
    let mut spec = one(10.0, CpuCost::Constant(ms(1)), |_| {});
    spec.slo_window = SimDuration::from_mins(10);
    spec.series_interval = SimDuration::from_mins(1);
    let mut m = TrafficModel::new(&spec, 1);
    m.set_endpoints(0, &[ep(1)]);
    m.advance_until(SimTime::from_secs(1800));
    assert_eq!(m.slo_windows(0).len(), 3);
    let mut n = 0;
    m.take_series(|s, w| {
        assert_eq!(s, 0);
        assert_eq!(w.end.since(w.start), SimDuration::from_mins(1));
        n += 1;
    });
    assert_eq!(n, 30);
    let w = m.slo_windows(0)[1];
    assert!((w.rate - 10.0).abs() < 1.0, "{w:?}");
    m.take_series(|_, _| n += 1);
    assert_eq!(n, 30);
}

#[test]
fn fluid_overload_builds_a_backlog_that_times_out() {
    let mut spec = one(200.0, CpuCost::Exp(ms(10)), |b| {
        b.concurrency = 1;
        b.timeout = Some(SimDuration::from_secs(2));
    });
    spec.mode = Mode::Fluid;
    let mut m = TrafficModel::new(&spec, 1);
    m.set_endpoints(0, &[ep(1)]);
    m.advance_until(SimTime::from_secs(100));
    let c = m.stats(0).counts;
    // Capacity 100/s of 200/s: about half time out once the backlog is 2 s deep.
    let share = c.failed(FailureCause::Timeout) as f64 / c.requests as f64;
    assert!((0.4..0.55).contains(&share), "{c:?}");
    let mut busy = 0;
    m.take_cpu_busy(|_, ns| busy += ns);
    // Saturated: one core busy all the time.
    assert!((busy as f64 / 1e9 - 100.0).abs() < 2.0, "{busy}");
}
