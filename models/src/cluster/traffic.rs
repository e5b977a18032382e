//! Traffic in the cluster: connects the traffic model (`crate::traffic`, which knows requests,
//! queues and balancers but nothing of Kubernetes) to what the cluster does.
//!
//! - **Where requests go** is kube-proxy's view (`crate::network::Proxy`), learned by watch:
//!   when the proxy's rules for a Service change, the model gets that Service's endpoints. A
//!   proxy that has not yet heard a pod is terminating keeps sending to it, as upstream.
//! - **Whether a pod answers** is the kubelet's: when a pod's container stops (killed, crashed,
//!   its node died), requests at it fail and later ones sent there by a stale view fail too.
//!   A container that starts again is a new server (a new key for the model).
//! - **The CPU requests burn** goes to the metrics pipeline (`api.metrics`), which the HPA
//!   reads, at each metrics-server scrape.
//!
//! The model keeps its own queue of request events. Its timer `Event::Traffic` advances it up
//! to the next event of the cluster (`Context::next_event_time`): nothing in the cluster can
//! change before then, so this is the same as interleaving every request with the cluster's
//! events, at a fraction of the cost.

use std::collections::BTreeMap;

use sim_core::{Context, EventKey, SimTime};

use super::Event;
use crate::api::PodId;
use crate::apiserver::ApiServer;
use crate::network::{Proxy, ServiceIx as ProxyService};
use crate::traffic::{Endpoint, ServiceIx, TrafficModel, TrafficSpec, WindowStats};

/// The traffic model's timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrafficEvent {
    /// The model's next internal event is due.
    Advance,
}

/// The traffic model with what ties it to the cluster.
pub struct TrafficDriver {
    pub model: TrafficModel,
    end: SimTime,
    armed: Option<(SimTime, EventKey)>,
    /// Each traffic service's Service in the proxy, once the proxy knows it.
    services: Vec<Option<ProxyService>>,
    /// The pod each model key stands for (keys are never reused).
    pods_by_key: Vec<PodId>,
    /// The key of each pod's running container; pods whose container is not running have a
    /// dead key (requests sent there fail at once).
    live: BTreeMap<PodId, u32>,
    dead: BTreeMap<PodId, u32>,
    /// The last reporting interval closed per service, for the metrics recorder.
    pub latest: Vec<Option<WindowStats>>,
    zones: BTreeMap<String, u32>,
    scratch: Vec<Endpoint>,
    /// The last event was this driver's timer (its figures go into the digest then).
    advanced: bool,
    /// Whether traffic enters the cluster at each service.
    entry: Vec<bool>,
    /// The reporting interval (`seriesInterval`), in nanoseconds.
    series_interval: u64,
    /// The pods each service's last push listed (sorted), or `None` before its first push:
    /// a container that starts or stops changes its pod's key, so only the services listing
    /// that pod need pushing again.
    pushed: Vec<Option<Vec<PodId>>>,
}

impl TrafficDriver {
    pub fn new(spec: &TrafficSpec, seed: u64, end: SimTime) -> Self {
        let model = TrafficModel::new(spec, seed);
        let n = model.service_count();
        TrafficDriver {
            model,
            end,
            armed: None,
            services: vec![None; n],
            pods_by_key: Vec::new(),
            live: BTreeMap::new(),
            dead: BTreeMap::new(),
            latest: vec![None; n],
            zones: BTreeMap::new(),
            scratch: Vec::new(),
            advanced: false,
            entry: spec.services.iter().map(|s| s.entry.is_some()).collect(),
            series_interval: spec.series_interval.as_nanos().max(1),
            pushed: vec![None; n],
        }
    }

    /// Arms the timer at the model's next event (if it moved earlier than the armed one).
    pub fn arm(&mut self, ctx: &mut Context<'_, Event>) {
        let Some(next) = self.model.next_time() else {
            return;
        };
        let next = next.min(self.boundary_after(self.model.now()));
        // The model runs what happens before the end (`finish` brings it there); a timer at
        // the end itself could advance nothing and would fire forever.
        if next >= self.end {
            return;
        }
        if let Some((at, key)) = self.armed {
            if at <= next {
                return;
            }
            ctx.cancel(key);
        }
        let key = ctx.schedule_at(next, Event::Traffic(TrafficEvent::Advance));
        self.armed = Some((next.max(ctx.now()), key));
    }

    pub fn handle(&mut self, _e: TrafficEvent, ctx: &mut Context<'_, Event>) {
        self.armed = None;
        self.advanced = true;
        // Never past the next reporting boundary: the metrics recorder samples between
        // events, and a stretch without cluster events must not skip an interval.
        let until = ctx
            .next_event_time()
            .unwrap_or(self.end)
            .min(self.end)
            .min(self.boundary_after(ctx.now()));
        self.model.advance_until(until);
        self.collect_series();
        self.arm(ctx);
    }

    /// The first reporting boundary after `t`.
    fn boundary_after(&self, t: SimTime) -> SimTime {
        let si = self.series_interval;
        SimTime::from_nanos((t.as_nanos() / si).saturating_add(1).saturating_mul(si))
    }

    /// Whether the last event advanced the model (reset by asking).
    pub fn take_advanced(&mut self) -> bool {
        std::mem::take(&mut self.advanced)
    }

    /// Every service's counts so far: two runs that served requests differently differ here.
    pub fn digest(&self, digest: &mut sim_core::Digest) {
        for s in 0..self.model.service_count() {
            let st = self.model.stats(s);
            digest.write_u64(st.counts.requests);
            digest.write_u64(st.counts.succeeded);
            digest.write_u64(st.latency.quantile(0.99).as_nanos());
        }
    }

    /// Runs the model up to `now` (every request event before it).
    pub fn catch_up(&mut self, now: SimTime) {
        if now > self.model.now() {
            self.model.advance_until(now.min(self.end));
        }
    }

    fn collect_series(&mut self) {
        let latest = &mut self.latest;
        self.model.take_series(|s, w| {
            if let Some(slot) = latest.get_mut(s) {
                *slot = Some(*w);
            }
        });
    }

    /// Applies what changed since the last event: containers that stopped or started, and the
    /// proxy's rules. Called after every event while traffic runs; cheap when nothing changed.
    pub fn sync(
        &mut self,
        containers: &mut Vec<(PodId, bool)>,
        proxy: &mut Proxy,
        api: &ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let changed = proxy.take_changed();
        if containers.is_empty() && changed.is_empty() {
            return;
        }
        let now = ctx.now();
        self.catch_up(now);
        let mut rekeyed: Vec<PodId> = Vec::new();
        for (pod, running) in containers.drain(..) {
            if running {
                if !self.live.contains_key(&pod) {
                    self.dead.remove(&pod);
                    let key = self.new_key(pod);
                    self.live.insert(pod, key);
                    rekeyed.push(pod);
                }
            } else if let Some(key) = self.live.remove(&pod) {
                // The key stays gone: a proxy that still lists the pod sends requests to a
                // dead container, and they fail.
                self.model.pod_gone(key, now);
                self.dead.insert(pod, key);
                rekeyed.push(pod);
            }
        }
        // Services the proxy learned of since.
        for (s, slot) in self.services.iter_mut().enumerate() {
            if slot.is_none() {
                let name = self.model.service_name(s);
                let (ns, name) = name.split_once('/').unwrap_or(("default", name));
                *slot = proxy.service(ns, name);
            }
        }
        for s in 0..self.services.len() {
            let Some(ix) = self.services[s] else { continue };
            let stale = match &self.pushed[s] {
                None => !rekeyed.is_empty(),
                Some(pods) => rekeyed.iter().any(|p| pods.binary_search(p).is_ok()),
            };
            if stale || changed.contains(&ix) {
                self.push_endpoints(s, ix, proxy, api);
            }
        }
        self.arm(ctx);
    }

    fn new_key(&mut self, pod: PodId) -> u32 {
        let key = self.pods_by_key.len() as u32;
        self.pods_by_key.push(pod);
        key
    }

    fn push_endpoints(&mut self, s: ServiceIx, ix: ProxyService, proxy: &Proxy, api: &ApiServer) {
        let mut eps = std::mem::take(&mut self.scratch);
        eps.clear();
        let mut listed = self.pushed[s].take().unwrap_or_default();
        listed.clear();
        for e in proxy.endpoints(ix) {
            listed.push(e.pod);
            let (key, newly_dead) = match self.live.get(&e.pod) {
                Some(&k) => (k, false),
                None => match self.dead.get(&e.pod) {
                    Some(&k) => (k, false),
                    None => {
                        // The proxy lists a pod whose container is not running (it died, or
                        // has not started): requests sent to it fail.
                        let k = self.new_key(e.pod);
                        self.dead.insert(e.pod, k);
                        (k, true)
                    }
                },
            };
            // The model learns of a key here; only a key it knows can be marked gone.
            self.model
                .set_pod_capacity(key, cpu_limit_millis(api, e.pod));
            if newly_dead {
                self.model.pod_gone(key, self.model.now());
            }
            let zones = self.zones.len() as u32;
            let zone = e
                .zone
                .as_ref()
                .map_or(u32::MAX, |z| *self.zones.entry(z.clone()).or_insert(zones));
            eps.push(Endpoint {
                key,
                node: e.node.map_or(u32::MAX, |n| n.0),
                zone,
                weight: e.weight,
                serving: e.serving,
                terminating: e.terminating,
            });
        }
        self.model.set_endpoints(s, &eps);
        self.scratch = eps;
        listed.sort_unstable();
        listed.dedup();
        self.pushed[s] = Some(listed);
    }

    /// Hands the CPU the pods burned since the last call to the metrics pipeline.
    pub fn flush_cpu(&mut self, api: &mut ApiServer, now: SimTime) {
        self.catch_up(now);
        let pods = &self.pods_by_key;
        let metrics = &mut api.metrics;
        self.model.take_cpu_busy(|key, core_nanos| {
            if let Some(&pod) = pods.get(key as usize) {
                metrics.add_cpu_usage(pod, core_nanos);
            }
        });
    }

    /// Each service's figures over the run, by name.
    pub fn service_summaries(&self) -> BTreeMap<String, crate::summary::ServiceSummary> {
        use crate::summary::{LatencySeconds, ServiceSummary};
        use crate::traffic::FailureCause;
        (0..self.model.service_count())
            .map(|s| {
                let st = self.model.stats(s);
                let l = st.latency.summary();
                let failed = FailureCause::ALL
                    .iter()
                    .map(|c| (c.name().to_string(), st.counts.failed(*c)))
                    .filter(|(_, n)| *n > 0)
                    .collect();
                let summary = ServiceSummary {
                    entry: self.entry.get(s).copied().unwrap_or(false),
                    requests: st.counts.requests,
                    succeeded: st.counts.succeeded,
                    failed,
                    availability: if st.counts.requests == 0 {
                        1.0
                    } else {
                        st.counts.succeeded as f64 / st.counts.requests as f64
                    },
                    latency_seconds: LatencySeconds {
                        p50: l.p50.as_secs_f64(),
                        p95: l.p95.as_secs_f64(),
                        p99: l.p99.as_secs_f64(),
                        max: l.max.as_secs_f64(),
                        mean: l.mean.as_secs_f64(),
                    },
                    retries: st.retries,
                    utilization: st.utilization(),
                };
                (self.model.service_name(s).to_string(), summary)
            })
            .collect()
    }

    /// What the SLO evaluation reads: each service's figures over the run and per SLO window.
    pub fn slo_figures(&self) -> Vec<crate::slo::ServiceFigures> {
        use crate::slo::{Figures, Quantile, ServiceFigures};
        (0..self.model.service_count())
            .map(|s| {
                let st = self.model.stats(s);
                let mut total = Figures {
                    requests: st.counts.requests,
                    succeeded: st.counts.succeeded,
                    latency: [None; 5],
                };
                if st.counts.succeeded > 0 {
                    for (i, q) in Quantile::ALL.iter().enumerate() {
                        total.latency[i] = Some(st.latency.quantile(q.fraction()));
                    }
                }
                let windows = self
                    .model
                    .slo_windows(s)
                    .iter()
                    .map(|w| {
                        let ok = w.counts.succeeded > 0;
                        let mut f = Figures {
                            requests: w.counts.requests,
                            succeeded: w.counts.succeeded,
                            latency: [None; 5],
                        };
                        if ok {
                            f.latency[0] = Some(w.latency.p50);
                            f.latency[2] = Some(w.latency.p95);
                            f.latency[3] = Some(w.latency.p99);
                        }
                        (w.start, f)
                    })
                    .collect();
                ServiceFigures {
                    service: self.model.service_name(s).to_string(),
                    entry: self.entry.get(s).copied().unwrap_or(false),
                    total,
                    windows,
                }
            })
            .collect()
    }

    /// The last closed reporting interval of each service, as series of the metrics
    /// recorder (`service/<name>`): rate, latency percentiles, errors and availability.
    /// Series ids are kept in the recorder per service, so a sample names nothing.
    pub fn sample_metrics(&self, rec: &mut crate::metrics::Recorder) {
        use crate::metrics::ServiceSeries;
        let mut services = std::mem::take(&mut rec.services);
        for (s, w) in self.latest.iter().enumerate() {
            let Some(w) = w else { continue };
            while services.len() <= s {
                let name = self.model.service_name(services.len());
                services.push(ServiceSeries::new(format!("service/{name}")));
            }
            let ids = &mut services[s];
            let seconds = w.end.since(w.start).as_secs_f64().max(1e-9);
            let failed = w.counts.failed_total();
            ids.set(rec, 0, w.rate);
            ids.set(rec, 1, failed as f64 / seconds);
            if w.counts.requests > 0 {
                ids.set(rec, 2, w.counts.succeeded as f64 / w.counts.requests as f64);
            }
            if w.counts.succeeded > 0 {
                ids.set(rec, 3, w.latency.p50.as_secs_f64());
                ids.set(rec, 4, w.latency.p95.as_secs_f64());
                ids.set(rec, 5, w.latency.p99.as_secs_f64());
            }
        }
        rec.services = services;
    }

    /// The run ended at `end`: every request event before it is processed.
    pub fn finish(&mut self, end: SimTime) {
        self.catch_up(end);
        self.collect_series();
    }
}

/// The pod's CPU limit: the sum of its app containers' limits, when every one has a limit
/// (a container without one may use the whole node).
fn cpu_limit_millis(api: &ApiServer, pod: PodId) -> Option<u32> {
    let resources = api.store.pod(pod).pod.resources.as_ref()?;
    let mut total: i64 = 0;
    for c in &resources.containers {
        total = total.saturating_add(c.limits.get("cpu")?.milli_value());
    }
    u32::try_from(total).ok().filter(|m| *m > 0)
}
