//! The `fluid` mode: per interval and service, arrival rates through queueing formulas.
//!
//! Each interval (λ held at its value at the interval's start):
//! 1. callers before callees: λ of a service is its entry rate plus, for each caller,
//!    the caller's rate of requests that got through their own CPU work × `perRequest`;
//!    retries add the previous interval's retry ratio on top;
//! 2. the rate is split over the endpoints: by weight (round-robin, random; pods of equal
//!    weight and capacity form one group computed once), or pooled over all of them
//!    (least-request: one M/M/c with every slot);
//! 3. a pod with `concurrency` c and CPU limit L is an M/M/m with m = min(c, ⌈L⌉) servers of
//!    speed min(1, L/m); waiting times follow Erlang C, scaled by the Allen–Cunneen factor
//!    `(Ca² + Cs²)/2` for non-exponential service or evenly spaced arrivals. Overload
//!    (ρ ≥ 1) builds a backlog served first-in first-out at full capacity; its wait is
//!    backlog / capacity, the part beyond `queueLimit` is rejected and the part that would
//!    wait past `timeout` times out;
//! 4. callees before callers: a request's latency is its own plus `perRequest` × each
//!    callee's mean latency; it succeeds if its own work and all its calls do.
//!
//! Latency percentiles come from samples of the per-interval distribution (a few per
//! service and interval, weighted by the requests they stand for). CPU busy per pod is
//! `λ_pod × E[S]`, accumulated per group, so an interval costs per service and group, not per
//! pod.

use rand::Rng;

use super::queueing;
use super::spec::{Arrivals, Mode};
use super::stats::FailureCause;
use super::{Balancer, Kind, TrafficModel, draw_cost, exp1};

/// Latency samples per service and interval.
const SAMPLES: u64 = 8;

/// Pods of one service that get the same load.
#[derive(Clone, Debug, Default)]
pub(super) struct Group {
    /// Pods in the group (for least-request, all the service's pods, pooled).
    pub pods: u32,
    /// Servers of one unit (a pod; the pooled servers for least-request).
    pub servers: u32,
    pub speed: f64,
    /// The fraction of the service's attempts each unit receives.
    pub share: f64,
    /// Units in the group (pods; one pooled unit for least-request).
    pub units: u32,
    /// Requests waiting beyond capacity, per unit.
    pub backlog: f64,
    /// Queue limit per unit.
    pub queue_cap: f64,
    /// Core-nanoseconds burnt per unit, cumulative.
    pub cum_busy: f64,
}

/// Fluid state of a service.
#[derive(Clone, Debug, Default)]
pub(super) struct FluidSvc {
    pub groups: Vec<Group>,
    /// Pods in the groups.
    members: Vec<u32>,
    /// Attempts per second from callers this interval.
    inbound: f64,
    /// Rates (per second) this interval.
    lambda: f64,
    attempts: f64,
    own_ok: f64,
    own_fail: [f64; 5],
    own_mean: f64,
    /// Mean latency (seconds) and success fraction including calls.
    total_mean: f64,
    success: f64,
    /// Shares of final failures by cause.
    cause_mix: [f64; 5],
    retry_ratio: f64,
    /// Fractional requests carried to the next interval: requests, succeeded, failed by cause.
    carry: [f64; 7],
}

/// What one group did this interval, per second, summed over its units.
#[derive(Default)]
struct GroupOut {
    ok: f64,
    timeout: f64,
    rejected: f64,
    /// Mean own latency (seconds) of the ok requests, times `ok`.
    latency_weighted: f64,
    busy_cores: f64,
}

impl TrafficModel {
    /// Rebuilds `service`'s groups after its endpoints or their capacities changed, keeping
    /// its backlog and settling each pod's busy time so far.
    pub(super) fn fluid_regroup(&mut self, s: usize) {
        // Settle the old members' busy time and detach them.
        let old_members = std::mem::take(&mut self.svcs[s].fluid.members);
        for &p in &old_members {
            if self.pods[p as usize].fluid_svc == s as u32 {
                self.settle_fluid_pod(p);
                let pod = &mut self.pods[p as usize];
                pod.fluid_group = u32::MAX;
                pod.fluid_svc = u32::MAX;
            }
        }
        let old_backlog: f64 = self.svcs[s]
            .fluid
            .groups
            .iter()
            .map(|g| g.backlog * f64::from(g.units))
            .sum();
        let b = self.svcs[s].spec.behaviour.clone();
        let balancer = self.svcs[s].spec.balancer;
        let eps = self.svcs[s].eps.clone();
        let total_w: f64 = eps.iter().map(|e| f64::from(e.1)).sum();
        let qcap = b.queue_limit.map_or(f64::INFINITY, f64::from);
        let mut groups: Vec<Group> = Vec::new();
        // (pod, group, share of the group's busy time)
        let mut members: Vec<(u32, u32, f64)> = Vec::with_capacity(eps.len());
        let servers_of = |limit: Option<f64>| -> (u32, f64) {
            let c = b.concurrency.max(1);
            match limit {
                Some(l) if l < f64::from(c) => {
                    let m = (l.ceil() as u32).clamp(1, c);
                    (m, (l / f64::from(m)).min(1.0))
                }
                _ => (c, 1.0),
            }
        };
        if balancer == Balancer::LeastRequest && !eps.is_empty() {
            let caps: Vec<(u32, f64)> = eps
                .iter()
                .map(|e| servers_of(self.pods[e.0 as usize].cpu_limit))
                .collect();
            let servers: u32 = caps.iter().map(|c| c.0).sum();
            let work: f64 = caps.iter().map(|c| f64::from(c.0) * c.1).sum();
            groups.push(Group {
                pods: eps.len() as u32,
                servers,
                speed: if servers > 0 {
                    work / f64::from(servers)
                } else {
                    1.0
                },
                share: 1.0,
                units: 1,
                backlog: 0.0,
                queue_cap: qcap * eps.len() as f64,
                cum_busy: 0.0,
            });
            for (e, c) in eps.iter().zip(&caps) {
                members.push((e.0, 0, f64::from(c.0) * c.1 / work.max(1e-300)));
            }
        } else {
            for e in &eps {
                let (m, speed) = servers_of(self.pods[e.0 as usize].cpu_limit);
                let share = f64::from(e.1) / total_w.max(1e-300);
                let g = match groups
                    .iter()
                    .position(|g| g.servers == m && g.speed == speed && g.share == share)
                {
                    Some(g) => g,
                    None => {
                        groups.push(Group {
                            pods: 0,
                            servers: m,
                            speed,
                            share,
                            units: 0,
                            backlog: 0.0,
                            queue_cap: qcap,
                            cum_busy: 0.0,
                        });
                        groups.len() - 1
                    }
                };
                groups[g].pods += 1;
                groups[g].units += 1;
                members.push((e.0, g as u32, 1.0));
            }
        }
        let units: f64 = groups.iter().map(|g| f64::from(g.units)).sum();
        for g in &mut groups {
            g.backlog = if units > 0.0 {
                old_backlog / units
            } else {
                0.0
            };
        }
        let mut new_members = old_members;
        new_members.clear();
        for (p, g, share) in members {
            new_members.push(p);
            let pod = &mut self.pods[p as usize];
            pod.fluid_svc = s as u32;
            pod.fluid_group = g;
            pod.fluid_share = share;
            pod.fluid_snapshot = 0.0;
        }
        self.svcs[s].fluid.groups = groups;
        self.svcs[s].fluid.members = new_members;
    }

    fn settle_fluid_pod(&mut self, p: u32) {
        let pod = &mut self.pods[p as usize];
        if let Some(svc) = self.svcs.get(pod.fluid_svc as usize)
            && let Some(g) = svc.fluid.groups.get(pod.fluid_group as usize)
        {
            pod.busy_core_ns += pod.fluid_share * (g.cum_busy - pod.fluid_snapshot);
            pod.fluid_snapshot = g.cum_busy;
        }
    }

    pub(super) fn on_fluid_tick(&mut self) {
        if self.mode != Mode::Fluid {
            return;
        }
        let now = self.now;
        let dt = self.interval as f64 / 1e9;
        let topo = std::mem::take(&mut self.topo);
        for &s in &topo {
            let entry = if self.svcs[s].spec.entry.is_some() {
                self.entry_rate(s, now)
            } else {
                0.0
            };
            let f = &mut self.svcs[s].fluid;
            let lambda = entry + f.inbound;
            f.inbound = 0.0;
            f.lambda = lambda;
            f.attempts = lambda * (1.0 + f.retry_ratio);
            self.fluid_own(s, dt);
            let f = &self.svcs[s].fluid;
            let out = f.own_ok;
            for i in 0..self.svcs[s].edges.len() {
                let (to, per) = self.svcs[s].edges[i];
                self.svcs[to as usize].fluid.inbound += out * per;
            }
        }
        for &s in topo.iter().rev() {
            self.fluid_settle(s, dt);
        }
        self.topo = topo;
        let next = now.saturating_add(self.interval);
        self.push(next, Kind::FluidTick, 0, 0);
    }

    /// Own queueing of service `s` this interval.
    fn fluid_own(&mut self, s: usize, dt: f64) {
        let b = &self.svcs[s].spec.behaviour;
        let mean_s = b.cpu_per_request.mean_secs().max(1e-12);
        let cs2 = b.cpu_per_request.scv();
        let ca2 = match self.svcs[s].spec.arrivals {
            Arrivals::Uniform if self.svcs[s].fluid.inbound == 0.0 => 0.0,
            _ => 1.0,
        };
        let ac = (ca2 + cs2) / 2.0;
        let timeout = b.timeout.map(|t| t.as_secs_f64());
        let attempts = self.svcs[s].fluid.attempts;
        let mut total = GroupOut::default();
        let mut groups = std::mem::take(&mut self.svcs[s].fluid.groups);
        if groups.is_empty() {
            let f = &mut self.svcs[s].fluid;
            f.own_ok = 0.0;
            f.own_fail = [0.0; 5];
            f.own_fail[FailureCause::NoEndpoints.index()] = attempts;
            f.own_mean = 0.0;
            return;
        }
        for g in &mut groups {
            let lam = attempts * g.share;
            let out = group_step(g, lam, dt, mean_s, ac, timeout);
            let units = f64::from(g.units);
            total.ok += out.ok * units;
            total.timeout += out.timeout * units;
            total.rejected += out.rejected * units;
            total.latency_weighted += out.latency_weighted * units;
            total.busy_cores += out.busy_cores * units;
            g.cum_busy += out.busy_cores * dt * 1e9;
        }
        let f = &mut self.svcs[s].fluid;
        f.groups = groups;
        f.own_ok = total.ok;
        f.own_fail = [0.0; 5];
        f.own_fail[FailureCause::Timeout.index()] = total.timeout;
        f.own_fail[FailureCause::Rejected.index()] = total.rejected;
        f.own_mean = if total.ok > 0.0 {
            total.latency_weighted / total.ok
        } else {
            0.0
        };
        self.svcs[s].stats.busy_core_seconds += total.busy_cores * dt;
    }

    /// Calls, retries, counts and latency samples of service `s` this interval.
    fn fluid_settle(&mut self, s: usize, dt: f64) {
        let edges = self.svcs[s].edges.len();
        let mut down_ok = 1.0;
        let mut down_mean = 0.0;
        let mut down_mix = [0.0; 5];
        for i in 0..edges {
            let (to, per) = self.svcs[s].edges[i];
            let child = &self.svcs[to as usize].fluid;
            down_ok *= child.success.clamp(0.0, 1.0).powf(per);
            down_mean += per * child.total_mean;
            let fail = per * (1.0 - child.success.clamp(0.0, 1.0));
            for (m, c) in down_mix.iter_mut().zip(child.cause_mix) {
                *m += fail * c;
            }
        }
        let retries = self.svcs[s].spec.behaviour.retries;
        let f = &mut self.svcs[s].fluid;
        let own_fail: f64 = f.own_fail.iter().sum();
        let ended = f.own_ok + own_fail;
        let ok_frac = if ended > 0.0 {
            f.own_ok / ended * down_ok
        } else {
            1.0
        };
        let fail = 1.0 - ok_frac;
        let n = retries.attempts;
        let mut r = 0.0;
        let mut fk = 1.0;
        for _ in 0..n {
            fk *= fail;
            r += fk;
        }
        r = r.min(retries.budget.max(0.0));
        let final_fail = if n == 0 {
            fail
        } else {
            (fail - r * ok_frac).max(fail.powi(n as i32 + 1))
        };
        f.retry_ratio = r;
        f.success = 1.0 - final_fail;
        f.total_mean = f.own_mean + down_mean;
        // Causes of final failures: retried ones are RetriesExhausted, the rest by cause.
        let retried = if fail > 0.0 { (r / fail).min(1.0) } else { 0.0 };
        let mut mix = [0.0; 5];
        if ended > 0.0 {
            for (m, v) in mix.iter_mut().zip(f.own_fail) {
                *m = v / ended;
            }
        }
        let own_ok = if ended > 0.0 { f.own_ok / ended } else { 1.0 };
        let dsum: f64 = down_mix.iter().sum();
        if dsum > 0.0 {
            for (m, d) in mix.iter_mut().zip(down_mix) {
                *m += own_ok * (1.0 - down_ok) * d / dsum;
            }
        }
        let msum: f64 = mix.iter().sum();
        let mut cause_mix = [0.0; 5];
        if msum > 0.0 {
            for (c, m) in cause_mix.iter_mut().zip(mix) {
                *c = m / msum * (1.0 - retried);
            }
        }
        cause_mix[FailureCause::RetriesExhausted.index()] += retried;
        f.cause_mix = cause_mix;
        // Counts: requests arriving this interval, and how they end.
        let lambda = f.lambda;
        let requests = lambda * dt;
        let mut amounts = [0.0; 7];
        amounts[0] = requests;
        amounts[1] = requests * f.success;
        for (i, c) in cause_mix.iter().enumerate() {
            amounts[2 + i] = requests * final_fail * c;
        }
        let mut whole = [0u64; 7];
        for i in 0..7 {
            let x = f.carry[i] + amounts[i];
            let w = x.floor().max(0.0);
            f.carry[i] = x - w;
            whole[i] = w as u64;
        }
        let down_mean = f.total_mean - f.own_mean;
        self.count_arrivals(s, whole[0]);
        for (i, cause) in FailureCause::ALL.iter().enumerate() {
            self.record(s, Some(*cause), 0, whole[2 + i]);
        }
        // Latency samples for the succeeded requests.
        let ok = whole[1];
        if ok == 0 {
            return;
        }
        let per = ok / SAMPLES;
        let extra = ok % SAMPLES;
        for k in 0..SAMPLES {
            let n = per + u64::from(k < extra);
            if n == 0 {
                continue;
            }
            let own = self.fluid_sample(s);
            let ns = ((own + down_mean) * 1e9).max(0.0).round() as u64;
            self.record(s, None, ns, n);
        }
    }

    /// One draw of service `s`'s own latency this interval (seconds): pick a group by its
    /// share of the load, then a wait and a service time.
    fn fluid_sample(&mut self, s: usize) -> f64 {
        let svc = &mut self.svcs[s];
        let b = &svc.spec.behaviour;
        let mean_s = b.cpu_per_request.mean_secs().max(1e-12);
        let ac = (1.0 + b.cpu_per_request.scv()) / 2.0;
        let attempts = svc.fluid.attempts;
        let rng = &mut svc.rng_cost;
        let groups = &svc.fluid.groups;
        let mut u = rng.random::<f64>();
        let mut chosen = groups.last();
        for g in groups {
            let w = g.share * f64::from(g.units);
            if u < w {
                chosen = Some(g);
                break;
            }
            u -= w;
        }
        let Some(g) = chosen else {
            return 0.0;
        };
        let service = draw_cost(&b.cpu_per_request, rng) / 1e9 / g.speed.max(1e-12);
        let mu = g.speed / mean_s;
        let cap = f64::from(g.servers) * mu;
        let lam = attempts * g.share;
        if g.backlog > 0.0 || lam >= cap {
            return g.backlog / cap.max(1e-300) + service;
        }
        let pw = queueing::erlang_c(g.servers, lam / mu).unwrap_or(1.0);
        let wait = if rng.random::<f64>() < pw {
            exp1(rng) * ac / (cap - lam)
        } else {
            0.0
        };
        wait + service
    }
}

/// One unit of group `g` for one interval at `lam` attempts per second (per unit).
fn group_step(
    g: &mut Group,
    lam: f64,
    dt: f64,
    mean_s: f64,
    ac: f64,
    timeout: Option<f64>,
) -> GroupOut {
    let mu = g.speed / mean_s;
    let cap = f64::from(g.servers) * mu;
    let service = mean_s / g.speed.max(1e-12);
    let busy_per_req = mean_s;
    if g.backlog <= 0.0 && lam < cap {
        let pw = queueing::erlang_c(g.servers, lam / mu).unwrap_or(1.0);
        let theta = (cap - lam) / ac.max(1e-12);
        let mean_wait = pw / theta;
        let timed_out = match timeout {
            Some(to) if to > service => (pw * (-theta * (to - service)).exp()).min(1.0),
            Some(_) => pw,
            None => 0.0,
        };
        let ok = lam * (1.0 - timed_out);
        return GroupOut {
            ok,
            timeout: lam * timed_out,
            rejected: 0.0,
            latency_weighted: ok * (mean_wait + service),
            busy_cores: lam * busy_per_req,
        };
    }
    let before = g.backlog;
    let arrived = lam * dt;
    let mut after = before + arrived - cap * dt;
    let served = if after < 0.0 {
        after = 0.0;
        before + arrived
    } else {
        cap * dt
    };
    let rejected = (after - g.queue_cap).max(0.0);
    after -= rejected;
    let mut timed_out = 0.0;
    if let Some(to) = timeout {
        let max_backlog = cap * (to - service).max(0.0);
        timed_out = (after - max_backlog).max(0.0);
        after -= timed_out;
    }
    g.backlog = after;
    let wait = 0.5 * (before + after) / cap.max(1e-300);
    GroupOut {
        ok: served / dt,
        timeout: timed_out / dt,
        rejected: rejected / dt,
        latency_weighted: served / dt * (wait + service),
        busy_cores: served / dt * busy_per_req,
    }
}
