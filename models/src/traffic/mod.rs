//! The traffic model: requests entering services at a rate λ(t), spread over the services'
//! endpoints by the proxy's balancer, served by pods with a CPU cost per request and a
//! concurrency limit, fanning out along a call graph. It counts requests, failures by cause
//! and latencies per service, and reports the CPU each pod burns.
//!
//! The model stands alone: it owns its own event queue (ties broken by insertion order) and is
//! driven from outside. Whoever runs the cluster tells it which pods back each service
//! ([`TrafficModel::set_endpoints`]), each pod's CPU limit, when a pod goes away, and calls
//! [`TrafficModel::advance_until`] with the time of its own next event.
//!
//! Two fidelity modes share the bookkeeping:
//! - `request` (`request.rs`): every request is an event; exact latency distributions.
//! - `fluid` (`fluid.rs`): per interval and service, rates through queueing formulas.
//!
//! Serving model (both modes): a pod serves up to `concurrency` requests at once; more wait in
//! its FIFO queue (beyond `queueLimit` they are rejected). A request's CPU work is done first;
//! then its pod's slot is freed and the request makes its downstream calls one after another
//! (the server waits for them asynchronously, holding no slot); it answers when the last one
//! answers. So its latency is its own queueing and service plus its calls' latencies.
//!
//! CPU throttling: the requests in service on a pod share its CPU limit `L` cores equally
//! (processor sharing, the fluid limit of the kernel's CFS quota): with `k` requests in service
//! each progresses at `min(1, L/k)` cores; without a limit each has a core of its own.

pub mod balancer;
mod fluid;
pub mod queueing;
pub mod rate;
mod request;
pub mod spec;
pub mod stats;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use rand::Rng;
use sim_core::SimTime;
use sim_core::rng::{StreamRng, derive_stream};

pub use balancer::Balancer;
pub use rate::RateSpec;
pub use spec::{
    Arrivals, Call, CpuCost, Mode, Retries, ServiceBehaviour, ServiceSpec, TrafficSpec,
};
pub use stats::{Counts, FailureCause, Histogram, LatencySummary, ServiceStats, WindowStats};

/// A service, by its index in [`TrafficSpec::services`].
pub type ServiceIx = usize;

/// One endpoint in the proxy's view of a service (an EndpointSlice endpoint).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The pod's id; it names the pod for the model's lifetime.
    pub key: u32,
    pub node: u32,
    pub zone: u32,
    pub weight: u32,
    /// `conditions.serving`: the pod passes readiness (terminating or not).
    pub serving: bool,
    /// `conditions.terminating`.
    pub terminating: bool,
}

/// A kind of internal event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// An entry request arrives at service `a` (or, with `b == 1`, the arrival search
    /// resumes after a long stretch of zero rate).
    Arrival,
    /// The earliest request in service on pod `a` finishes its CPU work (valid if the pod's
    /// finish generation is still `b`).
    PodFinish,
    /// Attempt generation `b` of call `a` times out.
    Timeout,
    /// The fluid mode's step.
    FluidTick,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Ev {
    time: u64,
    seq: u64,
    kind: Kind,
    a: u32,
    b: u32,
}

/// A request in service on a pod: its virtual finish (see [`Pod::v`]).
#[derive(Clone, Copy, Debug)]
struct InService {
    v_finish: f64,
    call: u32,
    epoch: u32,
}

impl PartialEq for InService {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == std::cmp::Ordering::Equal
    }
}
impl Eq for InService {}
impl PartialOrd for InService {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for InService {
    /// Reversed, so that the max-heap pops the earliest finish; ties by call slot.
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        o.v_finish
            .total_cmp(&self.v_finish)
            .then(o.call.cmp(&self.call))
            .then(o.epoch.cmp(&self.epoch))
    }
}

/// One pod: a server with `concurrency` slots and a FIFO queue.
#[derive(Clone, Debug)]
struct Pod {
    key: u32,
    /// The service whose behaviour it follows (the first that listed it).
    service: u32,
    gone: bool,
    cpu_limit: Option<f64>,
    in_service: BinaryHeap<InService>,
    queue: VecDeque<(u32, u32)>,
    /// Virtual time: the CPU work (core-nanoseconds) each in-service request has received
    /// since the pod started. A request needing `w` that starts at `v0` finishes when
    /// `v = v0 + w`; `v` advances at `min(1, L/k)` per nanosecond.
    v: f64,
    last: u64,
    /// Bumped whenever the pending finish event is replaced.
    finish_epoch: u32,
    finish_at: u64,
    /// Core-nanoseconds burnt since the last [`TrafficModel::take_cpu_busy`].
    busy_core_ns: f64,
    /// Fluid mode: this pod's share of its group's cumulative busy time, and the group's
    /// cumulative value when last read.
    fluid_share: f64,
    fluid_svc: u32,
    fluid_group: u32,
    fluid_snapshot: f64,
    /// `(service, endpoint index)` of the [`Svc::least_loaded`] indexes listing this pod.
    least_loaded_at: Vec<(u32, u32)>,
    /// How many services' endpoints list it.
    listed_by: u32,
    /// Out of [`TrafficModel::busy_ix`].
    idle_for_good: bool,
}

impl Pod {
    fn new(key: u32, service: u32) -> Pod {
        Pod {
            key,
            service,
            gone: false,
            cpu_limit: None,
            in_service: BinaryHeap::new(),
            queue: VecDeque::new(),
            v: 0.0,
            last: 0,
            finish_epoch: 0,
            finish_at: u64::MAX,
            busy_core_ns: 0.0,
            fluid_share: 0.0,
            fluid_svc: u32::MAX,
            fluid_group: u32::MAX,
            fluid_snapshot: 0.0,
            least_loaded_at: Vec::new(),
            listed_by: 0,
            idle_for_good: false,
        }
    }

    /// Requests at the pod: in service and queued (what least-request counts).
    fn in_flight(&self) -> u32 {
        (self.in_service.len() + self.queue.len()) as u32
    }

    /// Per-request progress rate with `k` requests in service.
    fn speed(&self, k: usize) -> f64 {
        match self.cpu_limit {
            Some(l) if (k as f64) > l => l / k as f64,
            _ => 1.0,
        }
    }

    /// Brings `v` and the busy time up to `now`.
    fn catch_up(&mut self, now: u64) {
        if now <= self.last {
            return;
        }
        let dt = (now - self.last) as f64;
        let k = self.in_service.len();
        if k > 0 {
            self.v += dt * self.speed(k);
            let cores = match self.cpu_limit {
                Some(l) => (k as f64).min(l),
                None => k as f64,
            };
            self.busy_core_ns += dt * cores;
        }
        self.last = now;
    }
}

/// A logical request to a service (retries reuse it).
#[derive(Clone, Copy, Debug)]
struct CallRec {
    service: u32,
    /// Bumped at every new attempt and when the call ends: stale queue entries, timers and
    /// children's answers carry an older generation.
    epoch: u32,
    live: bool,
    parent: u32,
    parent_epoch: u32,
    arrived: u64,
    attempt: u32,
    retrying: bool,
    pod: u32,
    /// The next edge of the service's calls, and calls left on it.
    edge: u32,
    remaining: u32,
}

const NONE: u32 = u32::MAX;

/// A service's state.
#[derive(Clone, Debug)]
struct Svc {
    spec: ServiceSpec,
    /// `(to, per_request)` in the order of `calls:`.
    edges: Vec<(u32, f64)>,
    /// Endpoints the proxy sends to: `(pod, weight)`.
    eps: Vec<(u32, u32)>,
    cum: Vec<u64>,
    /// Every endpoint has the same weight (least-request then compares loads alone).
    equal_weights: bool,
    /// Least-request with equal weights in `request` mode: the endpoints' loads, indexed.
    least_loaded: Option<balancer::LeastLoaded>,
    cursor: u64,
    rng_balance: StreamRng,
    rng_cost: StreamRng,
    rng_calls: StreamRng,
    rng_arrivals: StreamRng,
    in_flight: u64,
    retries_in_flight: u64,
    /// Arrivals: integrated-rate still to cover before the next arrival.
    pending_need: f64,
    rate_interval: u64,
    rate_cached: f64,
    stats: ServiceStats,
    slo: stats::OpenWindow,
    series: stats::OpenWindow,
    slo_closed: Vec<WindowStats>,
    /// Reporting intervals closed and not yet handed over ([`TrafficModel::take_series`]):
    /// the metrics recorder keeps what it samples, so these do not grow with the run.
    series_closed: Vec<WindowStats>,
    /// Reporting intervals closed so far.
    series_count: u64,
    /// Serving capacity (slots, or the CPU limit if lower) summed over the endpoints' pods.
    capacity: f64,
    fluid: fluid::FluidSvc,
}

/// The traffic model. See the module documentation.
pub struct TrafficModel {
    mode: Mode,
    interval: u64,
    slo_window: u64,
    series_interval: u64,
    start_unix_secs: i64,
    now: u64,
    seq: u64,
    events: BinaryHeap<Reverse<Ev>>,
    svcs: Vec<Svc>,
    topo: Vec<usize>,
    pods: Vec<Pod>,
    pod_ix: BTreeMap<u32, u32>,
    /// The pods of `pod_ix` that may still burn CPU: a pod that is gone, listed by no
    /// service and idle leaves it, so that handing the CPU over costs the live pods rather
    /// than every pod the run ever had.
    busy_ix: BTreeMap<u32, u32>,
    calls: Vec<CallRec>,
    free_calls: Vec<u32>,
    /// Reused buffer of requests that finished together on a pod.
    done: Vec<InService>,
    next_boundary: u64,
    capacity_last: u64,
}

fn uniform01(rng: &mut StreamRng) -> f64 {
    rng.random::<f64>()
}

/// Exp(1): `−ln U` with `U` in (0, 1].
fn exp1(rng: &mut StreamRng) -> f64 {
    -(1.0 - uniform01(rng)).ln()
}

fn std_normal(rng: &mut StreamRng) -> f64 {
    let u1 = 1.0 - uniform01(rng);
    let u2 = uniform01(rng);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// One CPU cost draw, in core-nanoseconds.
fn draw_cost(cost: &CpuCost, rng: &mut StreamRng) -> f64 {
    match *cost {
        CpuCost::Constant(d) => d.as_nanos() as f64,
        CpuCost::Exp(mean) => mean.as_nanos() as f64 * exp1(rng),
        CpuCost::Uniform(a, b) => {
            let (a, b) = (a.as_nanos() as f64, b.as_nanos() as f64);
            a + (b - a) * uniform01(rng)
        }
        CpuCost::LogNormal { median, p99 } => {
            let (m, s) = spec::lognormal_params(median, p99);
            (m + s * std_normal(rng)).exp() * 1e9
        }
    }
}

impl TrafficModel {
    /// A model of `spec`, its random streams derived from `seed` (`traffic/arrivals/<service>`,
    /// `traffic/balance/<service>`, `traffic/cost/<service>`, `traffic/calls/<service>`).
    pub fn new(spec: &TrafficSpec, seed: u64) -> TrafficModel {
        let topo = spec
            .topological_order()
            .unwrap_or_else(|_| (0..spec.services.len()).collect());
        let svcs: Vec<Svc> = spec
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| Svc {
                spec: s.clone(),
                edges: spec
                    .calls
                    .iter()
                    .filter(|c| c.from == i && c.to < spec.services.len())
                    .map(|c| (c.to as u32, c.per_request.max(0.0)))
                    .collect(),
                eps: Vec::new(),
                cum: Vec::new(),
                equal_weights: true,
                least_loaded: None,
                cursor: 0,
                rng_balance: derive_stream(seed, &format!("traffic/balance/{}", s.name)),
                rng_cost: derive_stream(seed, &format!("traffic/cost/{}", s.name)),
                rng_calls: derive_stream(seed, &format!("traffic/calls/{}", s.name)),
                rng_arrivals: derive_stream(seed, &format!("traffic/arrivals/{}", s.name)),
                in_flight: 0,
                retries_in_flight: 0,
                pending_need: 0.0,
                rate_interval: u64::MAX,
                rate_cached: 0.0,
                stats: ServiceStats::default(),
                slo: stats::OpenWindow::default(),
                series: stats::OpenWindow::default(),
                slo_closed: Vec::new(),
                series_closed: Vec::new(),
                series_count: 0,
                capacity: 0.0,
                fluid: fluid::FluidSvc::default(),
            })
            .collect();
        let n = svcs.len();
        let mut m = TrafficModel {
            mode: spec.mode,
            interval: spec.interval.as_nanos().max(1),
            slo_window: spec.slo_window.as_nanos().max(1),
            series_interval: spec.series_interval.as_nanos().max(1),
            start_unix_secs: spec.start_unix_secs,
            now: 0,
            seq: 0,
            events: BinaryHeap::new(),
            svcs,
            topo,
            pods: Vec::new(),
            pod_ix: BTreeMap::new(),
            busy_ix: BTreeMap::new(),
            calls: Vec::new(),
            free_calls: Vec::new(),
            done: Vec::new(),
            next_boundary: 0,
            capacity_last: 0,
        };
        m.next_boundary = m.slo_window.min(m.series_interval);
        match m.mode {
            Mode::Request => {
                for s in 0..n {
                    if m.svcs[s].spec.entry.is_some() {
                        m.schedule_next_arrival(s, 0);
                    }
                }
            }
            Mode::Fluid => m.push(0, Kind::FluidTick, 0, 0),
        }
        m
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The index of the service named `name`.
    pub fn service_ix(&self, name: &str) -> Option<ServiceIx> {
        self.svcs.iter().position(|s| s.spec.name == name)
    }

    pub fn service_count(&self) -> usize {
        self.svcs.len()
    }

    pub fn service_name(&self, service: ServiceIx) -> &str {
        self.svcs.get(service).map_or("", |s| s.spec.name.as_str())
    }

    /// The time of the model's next internal event.
    pub fn next_time(&self) -> Option<SimTime> {
        self.events
            .peek()
            .map(|Reverse(e)| SimTime::from_nanos(e.time))
    }

    /// The time up to which the model has run.
    pub fn now(&self) -> SimTime {
        SimTime::from_nanos(self.now)
    }

    /// Processes every internal event before `t`; the model then stands at `t`.
    pub fn advance_until(&mut self, t: SimTime) {
        let t = t.as_nanos();
        while let Some(Reverse(e)) = self.events.peek().copied() {
            if e.time >= t {
                break;
            }
            self.events.pop();
            if e.time >= self.next_boundary {
                self.close_windows(e.time);
            }
            self.now = self.now.max(e.time);
            match e.kind {
                Kind::Arrival => self.on_arrival(e.a as usize, e.b == 1),
                Kind::PodFinish => self.on_pod_finish(e.a, e.b),
                Kind::Timeout => self.on_timeout(e.a, e.b),
                Kind::FluidTick => self.on_fluid_tick(),
            }
        }
        if t > self.now {
            self.now = t;
        }
        self.integrate_capacity();
        if self.now >= self.next_boundary {
            self.close_windows(self.now);
        }
    }

    /// The proxy's endpoints of `service` changed. Requests only go to ready endpoints
    /// (serving and not terminating); when there are none, to serving terminating ones
    /// (kube-proxy's fallback for terminating endpoints). Requests already at a pod that
    /// left the list carry on.
    pub fn set_endpoints(&mut self, service: ServiceIx, endpoints: &[Endpoint]) {
        if service >= self.svcs.len() {
            return;
        }
        self.integrate_capacity();
        self.unindex_least_loaded(service);
        let any_ready = endpoints.iter().any(|e| e.serving && !e.terminating);
        let mut eps = std::mem::take(&mut self.svcs[service].eps);
        for &(p, _) in &eps {
            let pod = &mut self.pods[p as usize];
            pod.listed_by = pod.listed_by.saturating_sub(1);
        }
        eps.clear();
        for e in endpoints {
            let usable = if any_ready {
                e.serving && !e.terminating
            } else {
                e.serving
            };
            if !usable || e.weight == 0 {
                continue;
            }
            let pod = self.pod_of(e.key, service as u32);
            self.pods[pod as usize].listed_by += 1;
            eps.push((pod, e.weight));
        }
        let svc = &mut self.svcs[service];
        balancer::cumulative(eps.iter().map(|e| e.1), &mut svc.cum);
        svc.equal_weights = eps.windows(2).all(|w| w[0].1 == w[1].1);
        svc.eps = eps;
        self.index_least_loaded(service);
        self.refresh_capacity(service);
        if self.mode == Mode::Fluid {
            self.fluid_regroup(service);
        }
    }

    /// The pod's CPU limit in millicores (`None`: unlimited).
    pub fn set_pod_capacity(&mut self, key: u32, cpu_limit_millis: Option<u32>) {
        let Some(&p) = self.pod_ix.get(&key) else {
            let service = u32::MAX;
            let p = self.pod_of(key, service);
            self.pods[p as usize].cpu_limit = cpu_limit_millis.map(|m| f64::from(m) / 1000.0);
            return;
        };
        let now = self.now;
        let limit = cpu_limit_millis.map(|m| f64::from(m) / 1000.0);
        let pod = &mut self.pods[p as usize];
        pod.catch_up(now);
        if pod.cpu_limit == limit {
            // No capacity or group to recompute. (The driver tells every endpoint's limit at
            // each push; walking every service's endpoints here made a push quadratic.)
            self.integrate_capacity();
            if self.mode == Mode::Request {
                self.reschedule_pod(p);
            }
            return;
        }
        pod.cpu_limit = limit;
        self.integrate_capacity();
        for s in 0..self.svcs.len() {
            if self.svcs[s].eps.iter().any(|e| e.0 == p) {
                self.refresh_capacity(s);
                if self.mode == Mode::Fluid {
                    self.fluid_regroup(s);
                }
            }
        }
        if self.mode == Mode::Request {
            self.reschedule_pod(p);
        }
    }

    /// The pod went away at `now` (killed, deleted, its node failed): requests queued or in
    /// service on it fail with [`FailureCause::PodGone`], and so do requests later sent to
    /// it by a stale view of the endpoints. The key stays gone.
    pub fn pod_gone(&mut self, key: u32, now: SimTime) {
        self.advance_until(now);
        let Some(&p) = self.pod_ix.get(&key) else {
            return;
        };
        self.pod_gone_request(p);
    }

    /// CPU burnt per pod since the last call, in core-nanoseconds (`f(pod key, core_nanos)`),
    /// pods in key order; pods that burnt nothing are skipped.
    pub fn take_cpu_busy(&mut self, mut f: impl FnMut(u32, u64)) {
        let now = self.now;
        let mode = self.mode;
        let mut idle = Vec::new();
        for (&key, &p) in &self.busy_ix {
            let pod = &mut self.pods[p as usize];
            if mode == Mode::Fluid {
                if let Some(svc) = self.svcs.get(pod.fluid_svc as usize)
                    && let Some(g) = svc.fluid.groups.get(pod.fluid_group as usize)
                {
                    pod.busy_core_ns += pod.fluid_share * (g.cum_busy - pod.fluid_snapshot);
                    pod.fluid_snapshot = g.cum_busy;
                }
            } else {
                pod.catch_up(now);
            }
            let ns = pod.busy_core_ns.round();
            if ns >= 1.0 {
                pod.busy_core_ns -= ns;
                f(pod.key, ns as u64);
            }
            // Nothing can add to a pod that is gone, listed nowhere and holds no request: what
            // is left is under half a nanosecond, which no later call would hand over either.
            if pod.gone
                && pod.listed_by == 0
                && pod.fluid_svc == u32::MAX
                && pod.in_service.is_empty()
                && pod.queue.is_empty()
            {
                pod.idle_for_good = true;
                idle.push(key);
            }
        }
        for key in idle {
            self.busy_ix.remove(&key);
        }
    }

    /// Totals of `service` so far.
    pub fn stats(&self, service: ServiceIx) -> &ServiceStats {
        static EMPTY: std::sync::OnceLock<ServiceStats> = std::sync::OnceLock::new();
        self.svcs
            .get(service)
            .map_or_else(|| EMPTY.get_or_init(ServiceStats::default), |s| &s.stats)
    }

    /// Closed SLO windows (`sloWindow`) of `service`, oldest first.
    pub fn slo_windows(&self, service: ServiceIx) -> &[WindowStats] {
        self.svcs.get(service).map_or(&[], |s| &s.slo_closed)
    }

    /// Hands over the reporting intervals (`seriesInterval`) closed since the last call:
    /// `f(service, window)`, service by service, oldest first.
    pub fn take_series(&mut self, mut f: impl FnMut(ServiceIx, &WindowStats)) {
        for (s, svc) in self.svcs.iter_mut().enumerate() {
            for w in svc.series_closed.drain(..) {
                f(s, &w);
            }
        }
    }

    /// The endpoint keys `service` currently sends to.
    pub fn endpoint_keys(&self, service: ServiceIx) -> Vec<u32> {
        self.svcs.get(service).map_or_else(Vec::new, |s| {
            s.eps.iter().map(|e| self.pods[e.0 as usize].key).collect()
        })
    }

    // ---- shared bookkeeping ----

    fn push(&mut self, time: u64, kind: Kind, a: u32, b: u32) {
        self.seq += 1;
        self.events.push(Reverse(Ev {
            time,
            seq: self.seq,
            kind,
            a,
            b,
        }));
    }

    fn pod_of(&mut self, key: u32, service: u32) -> u32 {
        if let Some(&p) = self.pod_ix.get(&key) {
            let pod = &mut self.pods[p as usize];
            if pod.service == u32::MAX {
                pod.service = service;
            }
            if pod.idle_for_good {
                // Listed again by a stale view of the endpoints.
                pod.idle_for_good = false;
                self.busy_ix.insert(key, p);
            }
            return p;
        }
        let p = self.pods.len() as u32;
        let mut pod = Pod::new(key, service);
        pod.last = self.now;
        self.pods.push(pod);
        self.pod_ix.insert(key, p);
        self.busy_ix.insert(key, p);
        p
    }

    fn unindex_least_loaded(&mut self, service: usize) {
        if self.svcs[service].least_loaded.take().is_none() {
            return;
        }
        for &(p, _) in &self.svcs[service].eps {
            self.pods[p as usize]
                .least_loaded_at
                .retain(|&(s, _)| s as usize != service);
        }
    }

    /// Indexes `service`'s endpoints by load when its picks are least-request over equal
    /// weights (in `request` mode, the only one that picks per request).
    fn index_least_loaded(&mut self, service: usize) {
        let svc = &self.svcs[service];
        if self.mode != Mode::Request
            || svc.spec.balancer != Balancer::LeastRequest
            || !svc.equal_weights
        {
            return;
        }
        let pods = &mut self.pods;
        let index =
            balancer::LeastLoaded::new(svc.eps.iter().map(|&(p, _)| pods[p as usize].in_flight()));
        for (i, &(p, _)) in svc.eps.iter().enumerate() {
            pods[p as usize]
                .least_loaded_at
                .push((service as u32, i as u32));
        }
        self.svcs[service].least_loaded = Some(index);
    }

    /// Pod `p`'s requests in flight changed: updates the least-request indexes listing it.
    fn loads_changed(&mut self, p: u32) {
        let pod = &self.pods[p as usize];
        if pod.least_loaded_at.is_empty() {
            return;
        }
        let load = pod.in_flight();
        for &(s, i) in &pod.least_loaded_at {
            if let Some(index) = &mut self.svcs[s as usize].least_loaded {
                index.set(i as usize, load);
            }
        }
    }

    /// Serving capacity of one pod for `service`: slots, or the CPU limit if lower.
    fn pod_capacity(&self, service: usize, p: u32) -> f64 {
        let conc = f64::from(self.svcs[service].spec.behaviour.concurrency.max(1));
        match self.pods[p as usize].cpu_limit {
            Some(l) => conc.min(l),
            None => conc,
        }
    }

    fn refresh_capacity(&mut self, service: usize) {
        let cap: f64 = self.svcs[service]
            .eps
            .iter()
            .map(|&(p, _)| self.pod_capacity(service, p))
            .sum();
        self.svcs[service].capacity = cap;
    }

    fn integrate_capacity(&mut self) {
        if self.now <= self.capacity_last {
            return;
        }
        let dt = (self.now - self.capacity_last) as f64 / 1e9;
        for s in &mut self.svcs {
            s.stats.capacity_core_seconds += s.capacity * dt;
        }
        self.capacity_last = self.now;
    }

    /// Closes every SLO window and reporting interval that ends at or before `t`.
    fn close_windows(&mut self, t: u64) {
        let (w, si) = (self.slo_window, self.series_interval);
        for svc in &mut self.svcs {
            loop {
                let start = svc.slo_closed.len() as u64 * w;
                let end = start.saturating_add(w);
                if end > t {
                    break;
                }
                let closed = svc
                    .slo
                    .close(SimTime::from_nanos(start), SimTime::from_nanos(end));
                svc.slo_closed.push(closed);
            }
            loop {
                let start = svc.series_count * si;
                let end = start.saturating_add(si);
                if end > t {
                    break;
                }
                let closed = svc
                    .series
                    .close(SimTime::from_nanos(start), SimTime::from_nanos(end));
                svc.series_closed.push(closed);
                svc.series_count += 1;
            }
        }
        let next_slo = (t / w + 1).saturating_mul(w);
        let next_series = (t / si + 1).saturating_mul(si);
        self.next_boundary = next_slo.min(next_series);
    }

    /// Counts `n` requests that ended in `outcome` (`None`: succeeded) with latency
    /// `latency_ns` (succeeded only).
    fn record(&mut self, service: usize, outcome: Option<FailureCause>, latency_ns: u64, n: u64) {
        let svc = &mut self.svcs[service];
        for c in [
            &mut svc.stats.counts,
            &mut svc.slo.counts,
            &mut svc.series.counts,
        ] {
            match outcome {
                None => c.succeeded += n,
                Some(cause) => c.failed[cause.index()] += n,
            }
        }
        if outcome.is_none() {
            svc.stats.latency.record_n(latency_ns, n);
            svc.slo.latency.record_n(latency_ns, n);
            svc.series.latency.record_n(latency_ns, n);
        }
    }

    fn count_arrivals(&mut self, service: usize, n: u64) {
        let svc = &mut self.svcs[service];
        svc.stats.counts.requests += n;
        svc.slo.counts.requests += n;
        svc.series.counts.requests += n;
    }

    /// λ of entry service `s` over the rate interval holding `t`.
    fn entry_rate(&mut self, s: usize, t: u64) -> f64 {
        let k = t / self.interval;
        let start = self.start_unix_secs;
        let interval = self.interval;
        let svc = &mut self.svcs[s];
        if svc.rate_interval != k {
            svc.rate_interval = k;
            svc.rate_cached = svc.spec.entry.as_ref().map_or(0.0, |r| {
                r.rate_at(SimTime::from_nanos(k.saturating_mul(interval)), start)
            });
        }
        svc.rate_cached
    }

    /// Draws the amount of integrated rate to the next arrival, then schedules it.
    fn schedule_next_arrival(&mut self, s: usize, from: u64) {
        let need = match self.svcs[s].spec.arrivals {
            Arrivals::Poisson => exp1(&mut self.svcs[s].rng_arrivals),
            Arrivals::Uniform => 1.0,
        };
        self.svcs[s].pending_need = need;
        self.search_arrival(s, from);
    }

    /// Walks the piecewise-constant λ from `from` until the pending integrated rate is used
    /// up (inversion of the cumulative rate: exact for a rate constant per interval).
    fn search_arrival(&mut self, s: usize, from: u64) {
        let mut t = from;
        let mut need = self.svcs[s].pending_need;
        // A day of one-second intervals at zero rate, then look again later.
        for _ in 0..86_400 {
            let end = (t / self.interval + 1).saturating_mul(self.interval);
            let rate = self.entry_rate(s, t);
            if rate > 0.0 {
                let span = need / rate * 1e9;
                let at = t as f64 + span;
                if at < end as f64 {
                    self.svcs[s].pending_need = 0.0;
                    let at = (at.ceil() as u64).max(from);
                    self.push(at, Kind::Arrival, s as u32, 0);
                    return;
                }
                need -= rate * (end - t) as f64 / 1e9;
            }
            t = end;
            if t == u64::MAX {
                return;
            }
        }
        self.svcs[s].pending_need = need;
        self.push(t, Kind::Arrival, s as u32, 1);
    }
}

#[cfg(test)]
mod tests;
