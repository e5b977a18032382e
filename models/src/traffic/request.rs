//! The `request` mode: every request is an event.
//!
//! A call (a logical request to a service) lives in a slab slot, reused when it ends, so the
//! request path allocates nothing. Each attempt picks an endpoint with the service's balancer
//! and joins the pod (in service, queued, or rejected when the queue is full). Timeouts are per
//! attempt: at `timeout` the attempt fails; a queued attempt is then skipped when it reaches
//! the head of the queue, but one already in service keeps its slot and burns its CPU until its
//! work is done (the server does not notice the caller gave up). A failed attempt is retried at
//! once while attempts and the retry budget allow.

use super::balancer;
use super::stats::FailureCause;
use super::{Balancer, CallRec, InService, Kind, NONE, TrafficModel, draw_cost};
use rand::{Rng, RngCore};

/// Tolerance when comparing virtual finish times (core-nanoseconds): finish events are
/// rounded up to whole nanoseconds.
const V_EPS: f64 = 1e-3;

impl TrafficModel {
    pub(super) fn on_arrival(&mut self, s: usize, resume: bool) {
        let now = self.now;
        if resume {
            self.search_arrival(s, now);
            return;
        }
        self.new_call(s, NONE, 0);
        self.schedule_next_arrival(s, now);
    }

    /// A new call to service `s` from `parent` (or from outside).
    fn new_call(&mut self, s: usize, parent: u32, parent_epoch: u32) {
        let now = self.now;
        let c = match self.free_calls.pop() {
            Some(c) => c,
            None => {
                self.calls.push(CallRec {
                    service: 0,
                    epoch: 0,
                    live: false,
                    parent: NONE,
                    parent_epoch: 0,
                    arrived: 0,
                    attempt: 0,
                    retrying: false,
                    pod: NONE,
                    edge: 0,
                    remaining: 0,
                });
                (self.calls.len() - 1) as u32
            }
        };
        let rec = &mut self.calls[c as usize];
        rec.service = s as u32;
        rec.epoch = rec.epoch.wrapping_add(1);
        rec.live = true;
        rec.parent = parent;
        rec.parent_epoch = parent_epoch;
        rec.arrived = now;
        rec.attempt = 0;
        rec.retrying = false;
        rec.pod = NONE;
        self.count_arrivals(s, 1);
        self.svcs[s].in_flight += 1;
        self.start_attempt(c);
    }

    fn start_attempt(&mut self, c: u32) {
        let now = self.now;
        let rec = &mut self.calls[c as usize];
        rec.attempt += 1;
        let epoch = rec.epoch;
        let s = rec.service as usize;
        self.svcs[s].stats.attempts += 1;
        if let Some(timeout) = self.svcs[s].spec.behaviour.timeout {
            self.push(
                now.saturating_add(timeout.as_nanos()),
                Kind::Timeout,
                c,
                epoch,
            );
        }
        let Some(p) = self.pick(s) else {
            self.attempt_failed(c, FailureCause::NoEndpoints);
            return;
        };
        self.calls[c as usize].pod = p;
        let pod = &self.pods[p as usize];
        if pod.gone {
            self.attempt_failed(c, FailureCause::PodGone);
            return;
        }
        let b = &self.svcs[s].spec.behaviour;
        if (pod.in_service.len() as u32) < b.concurrency.max(1) {
            self.start_service(p, c, epoch);
            self.reschedule_pod(p);
            self.loads_changed(p);
        } else if b.queue_limit.is_some_and(|l| pod.queue.len() as u32 >= l) {
            self.attempt_failed(c, FailureCause::Rejected);
        } else {
            self.pods[p as usize].queue.push_back((c, epoch));
            self.loads_changed(p);
        }
    }

    /// The endpoint (pod) for the next request to `s`.
    fn pick(&mut self, s: usize) -> Option<u32> {
        let svc = &mut self.svcs[s];
        let i = match svc.spec.balancer {
            Balancer::RoundRobin => balancer::pick_round_robin(&svc.cum, &mut svc.cursor),
            Balancer::Random => {
                let draw = svc.rng_balance.next_u64();
                balancer::pick_random(&svc.cum, draw)
            }
            Balancer::LeastRequest if svc.least_loaded.is_some() => {
                let index = svc.least_loaded.as_ref()?;
                let i = index.pick(&mut svc.cursor);
                debug_assert_eq!(
                    i,
                    least_loaded(&svc.eps, &self.pods, &mut svc.cursor.wrapping_sub(1)),
                    "the least-request index disagrees with a scan"
                );
                i
            }
            Balancer::LeastRequest if svc.equal_weights => {
                least_loaded(&svc.eps, &self.pods, &mut svc.cursor)
            }
            Balancer::LeastRequest => {
                let eps = &svc.eps;
                let pods = &self.pods;
                balancer::pick_least_request(
                    eps.len(),
                    |i| eps[i].1,
                    |i| pods[eps[i].0 as usize].in_flight(),
                    &mut svc.cursor,
                )
            }
        }?;
        Some(svc.eps[i].0)
    }

    /// Starts call `c` on pod `p` (the caller reschedules the pod's finish event).
    fn start_service(&mut self, p: u32, c: u32, epoch: u32) {
        let now = self.now;
        let s = self.calls[c as usize].service as usize;
        let svc = &mut self.svcs[s];
        let work = draw_cost(&svc.spec.behaviour.cpu_per_request, &mut svc.rng_cost).max(0.0);
        svc.stats.busy_core_seconds += work / 1e9;
        let pod = &mut self.pods[p as usize];
        pod.catch_up(now);
        let v_finish = pod.v + work;
        pod.in_service.push(InService {
            v_finish,
            call: c,
            epoch,
        });
    }

    /// Replaces pod `p`'s pending finish event if the earliest finish moved.
    pub(super) fn reschedule_pod(&mut self, p: u32) {
        let now = self.now;
        let pod = &mut self.pods[p as usize];
        pod.catch_up(now);
        let at = match pod.in_service.peek() {
            None => u64::MAX,
            Some(first) => {
                let speed = pod.speed(pod.in_service.len());
                let left = ((first.v_finish - pod.v).max(0.0) / speed).ceil();
                now.saturating_add(left as u64)
            }
        };
        if at == pod.finish_at {
            return;
        }
        pod.finish_epoch = pod.finish_epoch.wrapping_add(1);
        pod.finish_at = at;
        let epoch = pod.finish_epoch;
        if at != u64::MAX {
            self.push(at, Kind::PodFinish, p, epoch);
        }
    }

    pub(super) fn on_pod_finish(&mut self, p: u32, epoch: u32) {
        let now = self.now;
        let pod = &mut self.pods[p as usize];
        if pod.finish_epoch != epoch {
            return;
        }
        pod.finish_at = u64::MAX;
        pod.catch_up(now);
        let mut done = std::mem::take(&mut self.done);
        done.clear();
        while let Some(first) = pod.in_service.peek() {
            if first.v_finish > pod.v + V_EPS {
                break;
            }
            done.extend(pod.in_service.pop());
        }
        self.fill_slots(p);
        self.reschedule_pod(p);
        self.loads_changed(p);
        for d in &done {
            self.cpu_done(d.call, d.epoch);
        }
        self.done = done;
    }

    /// Moves queued requests into free slots, skipping those whose attempt already ended.
    fn fill_slots(&mut self, p: u32) {
        loop {
            let pod = &self.pods[p as usize];
            let s = pod.service as usize;
            let conc = self
                .svcs
                .get(s)
                .map_or(1, |svc| svc.spec.behaviour.concurrency.max(1));
            if pod.in_service.len() as u32 >= conc {
                return;
            }
            let Some((c, epoch)) = self.pods[p as usize].queue.pop_front() else {
                return;
            };
            let rec = &self.calls[c as usize];
            if rec.live && rec.epoch == epoch {
                self.start_service(p, c, epoch);
            }
        }
    }

    /// Call `c`'s CPU work is done: it makes its downstream calls, then answers.
    fn cpu_done(&mut self, c: u32, epoch: u32) {
        let rec = &mut self.calls[c as usize];
        if !rec.live || rec.epoch != epoch {
            return; // the attempt timed out or failed meanwhile
        }
        rec.edge = 0;
        rec.remaining = NONE;
        self.continue_calls(c);
    }

    /// Makes call `c`'s next downstream call, or answers when there is none left.
    fn continue_calls(&mut self, c: u32) {
        let s = self.calls[c as usize].service as usize;
        loop {
            let rec = self.calls[c as usize];
            let Some(&(to, per)) = self.svcs[s].edges.get(rec.edge as usize) else {
                self.succeed(c);
                return;
            };
            if rec.remaining == NONE {
                let whole = per.floor();
                let extra = u32::from(self.svcs[s].rng_calls.random::<f64>() < per - whole);
                self.calls[c as usize].remaining = whole as u32 + extra;
                continue;
            }
            if rec.remaining == 0 {
                let r = &mut self.calls[c as usize];
                r.edge += 1;
                r.remaining = NONE;
                continue;
            }
            self.calls[c as usize].remaining -= 1;
            // The child may fail at once (and fail this call); nothing here runs after it.
            self.new_call(to as usize, c, rec.epoch);
            return;
        }
    }

    fn succeed(&mut self, c: u32) {
        let now = self.now;
        let rec = self.calls[c as usize];
        let s = rec.service as usize;
        if rec.pod != NONE && self.pods[rec.pod as usize].gone {
            // It answered through a pod that is gone: the connection broke.
            self.attempt_failed(c, FailureCause::PodGone);
            return;
        }
        self.record(s, None, now - rec.arrived, 1);
        self.end_call(c);
        if rec.parent != NONE {
            let p = self.calls[rec.parent as usize];
            if p.live && p.epoch == rec.parent_epoch {
                self.continue_calls(rec.parent);
            }
        }
    }

    fn end_call(&mut self, c: u32) {
        let rec = &mut self.calls[c as usize];
        let s = rec.service as usize;
        rec.live = false;
        rec.epoch = rec.epoch.wrapping_add(1);
        let retrying = rec.retrying;
        let svc = &mut self.svcs[s];
        svc.in_flight -= 1;
        if retrying {
            svc.retries_in_flight -= 1;
        }
        self.free_calls.push(c);
    }

    /// The current attempt of call `c` failed: retry, or fail the call (and its caller's
    /// attempt).
    fn attempt_failed(&mut self, c: u32, cause: FailureCause) {
        let rec = &mut self.calls[c as usize];
        rec.epoch = rec.epoch.wrapping_add(1);
        let s = rec.service as usize;
        let attempt = rec.attempt;
        let svc = &mut self.svcs[s];
        let retries = svc.spec.behaviour.retries;
        if rec.retrying {
            rec.retrying = false;
            svc.retries_in_flight -= 1;
        }
        // Envoy's retry budget: retries in flight stay under budget × requests in flight,
        // but at least min_retry_concurrency are allowed.
        let allowed =
            (retries.budget * svc.in_flight as f64).max(f64::from(retries.min_concurrency));
        if attempt <= retries.attempts && ((svc.retries_in_flight + 1) as f64) <= allowed {
            svc.retries_in_flight += 1;
            svc.stats.retries += 1;
            rec.retrying = true;
            self.start_attempt(c);
            return;
        }
        let final_cause = if attempt > 1 {
            FailureCause::RetriesExhausted
        } else {
            cause
        };
        let rec = *rec;
        self.record(s, Some(final_cause), 0, 1);
        self.end_call(c);
        if rec.parent != NONE {
            let p = self.calls[rec.parent as usize];
            if p.live && p.epoch == rec.parent_epoch {
                self.attempt_failed(rec.parent, final_cause);
            }
        }
    }

    pub(super) fn on_timeout(&mut self, c: u32, epoch: u32) {
        let rec = &self.calls[c as usize];
        if rec.live && rec.epoch == epoch {
            self.attempt_failed(c, FailureCause::Timeout);
        }
    }

    /// Fails what pod `p` holds and marks it gone.
    pub(super) fn pod_gone_request(&mut self, p: u32) {
        let now = self.now;
        let pod = &mut self.pods[p as usize];
        if pod.gone {
            return;
        }
        pod.catch_up(now);
        pod.gone = true;
        pod.finish_epoch = pod.finish_epoch.wrapping_add(1);
        pod.finish_at = u64::MAX;
        let mut held = std::mem::take(&mut self.done);
        held.clear();
        held.extend(pod.in_service.drain());
        held.sort_by(|a, b| b.cmp(a)); // earliest finish first, deterministic
        let queued: Vec<(u32, u32)> = pod.queue.drain(..).collect();
        self.loads_changed(p);
        for d in &held {
            let rec = &self.calls[d.call as usize];
            if rec.live && rec.epoch == d.epoch {
                self.attempt_failed(d.call, FailureCause::PodGone);
            }
        }
        for (c, epoch) in queued {
            let rec = &self.calls[c as usize];
            if rec.live && rec.epoch == epoch {
                self.attempt_failed(c, FailureCause::PodGone);
            }
        }
        self.done = held;
    }
}

/// [`balancer::pick_least_request`] when every endpoint has the same (non-zero) weight: the
/// fewest requests in flight, ties to the first at or after the cursor. The same pick, without
/// the weighted comparison, and stopping at an idle pod (nothing beats it).
fn least_loaded(eps: &[(u32, u32)], pods: &[super::Pod], cursor: &mut u64) -> Option<usize> {
    let n = eps.len();
    if n == 0 {
        return None;
    }
    let start = (*cursor % n as u64) as usize;
    *cursor = cursor.wrapping_add(1);
    let mut best = (start, u32::MAX);
    for i in (start..n).chain(0..start) {
        let f = pods[eps[i].0 as usize].in_flight();
        if f < best.1 {
            best = (i, f);
            if f == 0 {
                break;
            }
        }
    }
    Some(best.0)
}
