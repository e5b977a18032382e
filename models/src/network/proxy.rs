//! kube-proxy's view of Services and their endpoints (upstream `pkg/proxy`): it learns Services
//! and EndpointSlices by watch, and its rules change only when it syncs, which its
//! `BoundedFrequencyRunner` allows at most `burstSyncs` (2) times back to back and then once
//! per `minSyncPeriod` (iptables mode default 1s, `pkg/proxy/apis/config/v1alpha1/defaults.go`).
//! So a proxy keeps sending to a dying pod until it learns otherwise.
//!
//! What kubesim simplifies: every node's kube-proxy is modelled by one view (they watch with the
//! same latency and sync under the same limit); a sync takes no time. The periodic
//! `syncPeriod` (30s) resync only repairs rules changed behind kube-proxy's back, which nothing
//! does here, so it is not scheduled.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::{Context, SimDuration, SimTime};

use crate::api::network::{EndpointSlice, Service, ServiceType, TrafficPolicy};
use crate::api::{LABEL_ZONE, NodeId, PodId};
use crate::apiserver::network::NetworkId;
use crate::apiserver::{ApiServer, Change, ObjectKind};
use crate::cluster::Event;

/// A Service as the proxy knows it: the API server's Service id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceIx(pub u32);

/// One endpoint in the proxy's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyEndpoint {
    pub pod: PodId,
    pub node: Option<NodeId>,
    pub zone: Option<String>,
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
    /// `hints.forZones`.
    pub zone_hints: Vec<String>,
    /// kube-proxy spreads evenly over the endpoints it uses: 1 for each.
    pub weight: u32,
}

/// A Service in the proxy's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyService {
    pub namespace: String,
    pub name: String,
    pub type_: ServiceType,
    pub internal_traffic_policy: TrafficPolicy,
    pub external_traffic_policy: TrafficPolicy,
    /// In pod order; a pod published by two slices at once (while it moves) counts once.
    pub endpoints: Vec<ProxyEndpoint>,
}

/// The proxy's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkEvent {
    /// The sync runner's timer: the next sync the rate limit allows.
    ProxySync,
}

/// kube-proxy's sync settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyTiming {
    /// `iptables.minSyncPeriod` (default 1s).
    pub min_sync_period: SimDuration,
    /// `burstSyncs` of the iptables proxier's runner (2).
    pub burst_syncs: u32,
}

impl Default for ProxyTiming {
    fn default() -> Self {
        ProxyTiming {
            min_sync_period: SimDuration::from_secs(1),
            burst_syncs: 2,
        }
    }
}

/// Upstream `async.BoundedFrequencyRunner` with its token-bucket limiter (rate one per
/// `min_interval`, burst `burst`, full at the start): a run asked for runs at once if a token
/// is there, else when the next one is, `min_interval` after the last run.
#[derive(Clone, Debug)]
pub struct SyncRunner {
    min_interval: SimDuration,
    burst: u32,
    /// Tokens, in nanoseconds of refill (one token = `min_interval`), as of `updated`.
    credit: u64,
    updated: SimTime,
    last_run: Option<SimTime>,
    /// The timer is set for this time.
    armed: Option<SimTime>,
}

impl SyncRunner {
    pub fn new(timing: ProxyTiming) -> Self {
        let unit = timing.min_sync_period.as_nanos().max(1);
        SyncRunner {
            min_interval: timing.min_sync_period,
            burst: timing.burst_syncs.max(1),
            credit: unit.saturating_mul(u64::from(timing.burst_syncs.max(1))),
            updated: SimTime::ZERO,
            last_run: None,
            armed: None,
        }
    }

    fn try_accept(&mut self, now: SimTime) -> bool {
        let unit = self.min_interval.as_nanos().max(1);
        let cap = unit.saturating_mul(u64::from(self.burst));
        let elapsed = now.as_nanos().saturating_sub(self.updated.as_nanos());
        self.credit = self.credit.saturating_add(elapsed).min(cap);
        self.updated = now;
        if self.credit >= unit {
            self.credit -= unit;
            true
        } else {
            false
        }
    }

    /// `tryRun`: `Ok(())` runs now; `Err(at)` is when to try again (already armed if
    /// `None`-worthy: the caller schedules only a new, earlier time).
    pub fn try_run(&mut self, now: SimTime) -> Result<(), Option<SimTime>> {
        if self.try_accept(now) {
            self.last_run = Some(now);
            self.armed = None;
            return Ok(());
        }
        let next = self
            .last_run
            .map_or(now, |t| t.saturating_add(self.min_interval))
            .max(now);
        if self.armed.is_some_and(|a| a <= next && a >= now) {
            return Err(None);
        }
        self.armed = Some(next);
        Err(Some(next))
    }

    /// The timer fired.
    fn fired(&mut self, now: SimTime) {
        if self.armed.is_some_and(|a| a <= now) {
            self.armed = None;
        }
    }
}

/// kube-proxy's view.
#[derive(Debug)]
pub struct Proxy {
    services: Vec<Option<ProxyService>>,
    by_name: BTreeMap<(String, String), ServiceIx>,
    /// What the informers hold and the rules do not yet: applied at the next sync.
    pending: BTreeMap<ServiceIx, Option<ProxyService>>,
    changed: BTreeSet<ServiceIx>,
    node_zones: BTreeMap<NodeId, String>,
    runner: SyncRunner,
    pub timing: ProxyTiming,
    /// Syncs done, for reports.
    pub syncs: u64,
    /// When the rules last changed.
    pub last_sync: Option<SimTime>,
}

impl Default for Proxy {
    fn default() -> Self {
        Proxy::new(ProxyTiming::default())
    }
}

impl Proxy {
    pub fn new(timing: ProxyTiming) -> Self {
        Proxy {
            services: Vec::new(),
            by_name: BTreeMap::new(),
            pending: BTreeMap::new(),
            changed: BTreeSet::new(),
            node_zones: BTreeMap::new(),
            runner: SyncRunner::new(timing),
            timing,
            syncs: 0,
            last_sync: None,
        }
    }

    /// The Service `namespace/name`, if the proxy's rules have it.
    pub fn service(&self, namespace: &str, name: &str) -> Option<ServiceIx> {
        self.by_name
            .get(&(namespace.to_string(), name.to_string()))
            .copied()
    }

    /// The Service's entry in the rules.
    pub fn service_info(&self, svc: ServiceIx) -> Option<&ProxyService> {
        self.services.get(svc.0 as usize).and_then(Option::as_ref)
    }

    /// Every endpoint the rules hold for the Service (usable or not).
    pub fn endpoints(&self, svc: ServiceIx) -> &[ProxyEndpoint] {
        self.service_info(svc).map_or(&[], |s| &s.endpoints)
    }

    /// The zone of a node, as the proxy learned it from the Node's labels.
    pub fn node_zone(&self, node: NodeId) -> Option<&str> {
        self.node_zones.get(&node).map(String::as_str)
    }

    /// Services whose rules changed since the last call.
    pub fn take_changed(&mut self) -> Vec<ServiceIx> {
        std::mem::take(&mut self.changed).into_iter().collect()
    }

    /// Indexes (into [`Proxy::endpoints`]) of the endpoints a connection to `svc` may go to,
    /// upstream `CategorizeEndpoints`: ready endpoints, else serving-and-terminating ones
    /// (KEP-1669); `internalTrafficPolicy: Local` (or, for `external` traffic to a NodePort
    /// or LoadBalancer Service, `externalTrafficPolicy: Local`) keeps only the endpoints on
    /// `from_node`, with that fallback decided among them alone; Cluster policy honours
    /// same-zone hints when every ready endpoint has one and one is for `from_node`'s zone.
    /// External Local traffic with no `from_node` is the load balancer's view: every node
    /// with usable local endpoints takes traffic, so their endpoints are all eligible (the
    /// balancer spreads over nodes, each node over its endpoints).
    pub fn eligible(
        &self,
        svc: ServiceIx,
        from_node: Option<NodeId>,
        external: bool,
        out: &mut Vec<usize>,
    ) {
        out.clear();
        let Some(s) = self.service_info(svc) else {
            return;
        };
        let eps = &s.endpoints;
        let policy = if external && s.type_.is_external() {
            s.external_traffic_policy
        } else {
            s.internal_traffic_policy
        };
        match policy {
            TrafficPolicy::Cluster => {
                let zone = from_node.and_then(|n| self.node_zone(n));
                let topology = zone.filter(|z| same_zone_topology(eps, z));
                out.extend((0..eps.len()).filter(|&i| eps[i].ready).filter(|&i| {
                    topology.is_none_or(|z| eps[i].zone_hints.iter().any(|h| h == z))
                }));
                if out.is_empty() {
                    out.extend((0..eps.len()).filter(|&i| eps[i].serving && eps[i].terminating));
                }
            }
            TrafficPolicy::Local => match from_node {
                Some(node) => local_usable(eps, node, out),
                None if external => {
                    let nodes: BTreeSet<NodeId> = eps.iter().filter_map(|e| e.node).collect();
                    let mut one = Vec::new();
                    for n in nodes {
                        local_usable(eps, n, &mut one);
                        out.append(&mut one);
                    }
                    out.sort_unstable();
                }
                None => {}
            },
        }
    }

    /// A watch delivery: the informers' caches take the changes; the rules follow at the next
    /// sync the rate limit allows.
    pub fn on_changes(
        &mut self,
        changes: &[Change],
        api: &ApiServer,
        ctx: &mut Context<'_, Event>,
    ) {
        let mut touched: BTreeSet<NetworkId> = BTreeSet::new();
        let mut nodes = self.node_zones.is_empty();
        for c in changes {
            match c.kind {
                ObjectKind::Service => {
                    touched.insert(c.id);
                }
                ObjectKind::EndpointSlice => {
                    if let Some(slice) = api.network.endpoint_slices.get(c.id)
                        && let Some(id) = api
                            .network
                            .services
                            .id(&slice.spec.namespace, &slice.spec.service)
                    {
                        touched.insert(id);
                    }
                }
                ObjectKind::Node => nodes = true,
                _ => {}
            }
        }
        if nodes {
            self.node_zones = api
                .store
                .live_nodes()
                .filter_map(|n| Some((n.id, n.node.labels.get(LABEL_ZONE)?.to_string())))
                .collect();
        }
        if touched.is_empty() {
            return;
        }
        for id in touched {
            self.pending.insert(ServiceIx(id), snapshot(api, id));
        }
        self.request_sync(ctx);
    }

    /// The sync runner's timer.
    pub fn handle(&mut self, event: NetworkEvent, ctx: &mut Context<'_, Event>) {
        match event {
            NetworkEvent::ProxySync => {
                self.runner.fired(ctx.now());
                if !self.pending.is_empty() {
                    self.request_sync(ctx);
                }
            }
        }
    }

    fn request_sync(&mut self, ctx: &mut Context<'_, Event>) {
        match self.runner.try_run(ctx.now()) {
            Ok(()) => self.sync(ctx.now()),
            Err(Some(at)) => {
                ctx.schedule_at(at, Event::Network(NetworkEvent::ProxySync));
            }
            Err(None) => {}
        }
    }

    /// `syncProxyRules`: the rules become what the informers hold.
    fn sync(&mut self, now: SimTime) {
        self.syncs += 1;
        self.last_sync = Some(now);
        for (ix, view) in std::mem::take(&mut self.pending) {
            let i = ix.0 as usize;
            if self.services.len() <= i {
                self.services.resize(i + 1, None);
            }
            if self.services[i] == view {
                continue;
            }
            if let Some(old) = &self.services[i] {
                self.by_name
                    .remove(&(old.namespace.clone(), old.name.clone()));
            }
            if let Some(new) = &view {
                self.by_name
                    .insert((new.namespace.clone(), new.name.clone()), ix);
            }
            self.services[i] = view;
            self.changed.insert(ix);
        }
    }
}

/// Upstream `topologyModeFromHints` for zones: every ready endpoint has a zone hint and one
/// is for `zone`.
fn same_zone_topology(eps: &[ProxyEndpoint], zone: &str) -> bool {
    let mut any_ready = false;
    let mut for_zone = false;
    for e in eps.iter().filter(|e| e.ready) {
        any_ready = true;
        if e.zone_hints.is_empty() {
            return false;
        }
        for_zone |= e.zone_hints.iter().any(|h| h == zone);
    }
    any_ready && for_zone
}

/// Local policy on `node`: its ready endpoints, else its serving-and-terminating ones.
fn local_usable(eps: &[ProxyEndpoint], node: NodeId, out: &mut Vec<usize>) {
    let local = |i: &usize| eps[*i].node == Some(node);
    out.extend((0..eps.len()).filter(local).filter(|&i| eps[i].ready));
    if out.is_empty() {
        out.extend(
            (0..eps.len())
                .filter(local)
                .filter(|&i| eps[i].serving && eps[i].terminating),
        );
    }
}

/// What the informers hold for Service `id`: the Service and the endpoints of its slices.
fn snapshot(api: &ApiServer, id: NetworkId) -> Option<ProxyService> {
    let svc: &Service = &api.network.services.live_get(id)?.spec;
    if svc.type_ == ServiceType::ExternalName {
        return None;
    }
    let mut by_pod: BTreeMap<PodId, ProxyEndpoint> = BTreeMap::new();
    for sid in api.network.slices_of(&svc.namespace, &svc.name) {
        let Some(slice) = api.network.endpoint_slices.live_get(sid) else {
            continue;
        };
        let slice: &EndpointSlice = &slice.spec;
        for e in &slice.endpoints {
            by_pod.entry(e.pod).or_insert_with(|| ProxyEndpoint {
                pod: e.pod,
                node: e.node,
                zone: e.zone.clone(),
                ready: e.conditions.ready,
                serving: e.conditions.serving,
                terminating: e.conditions.terminating,
                zone_hints: e.zone_hints.clone(),
                weight: 1,
            });
        }
    }
    Some(ProxyService {
        namespace: svc.namespace.clone(),
        name: svc.name.clone(),
        type_: svc.type_,
        internal_traffic_policy: svc.internal_traffic_policy,
        external_traffic_policy: svc.external_traffic_policy,
        endpoints: by_pod.into_values().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(pod: u32, node: u32, ready: bool, serving: bool, terminating: bool) -> ProxyEndpoint {
        ProxyEndpoint {
            pod: PodId(pod),
            node: Some(NodeId(node)),
            zone: None,
            ready,
            serving,
            terminating,
            zone_hints: Vec::new(),
            weight: 1,
        }
    }

    fn proxy_with(svc: ProxyService) -> Proxy {
        let mut p = Proxy::default();
        p.pending.insert(ServiceIx(0), Some(svc));
        p.sync(SimTime::ZERO);
        p
    }

    fn service(
        eps: Vec<ProxyEndpoint>,
        internal: TrafficPolicy,
        external: TrafficPolicy,
    ) -> ProxyService {
        ProxyService {
            namespace: "ns".into(),
            name: "svc".into(),
            type_: ServiceType::LoadBalancer,
            internal_traffic_policy: internal,
            external_traffic_policy: external,
            endpoints: eps,
        }
    }

    fn eligible(p: &Proxy, from: Option<u32>, external: bool) -> Vec<u32> {
        let mut out = Vec::new();
        p.eligible(ServiceIx(0), from.map(NodeId), external, &mut out);
        out.into_iter()
            .map(|i| p.endpoints(ServiceIx(0))[i].pod.0)
            .collect()
    }

    #[test]
    fn categorize_endpoints_ready_then_terminating_fallback() {
        // upstream pkg/proxy/topology.go CategorizeEndpoints: Cluster policy uses the ready
        // endpoints, and with none falls back to serving+terminating ones (never to
        // non-serving ones); Local policy uses the node's own, falling back on its own; a
        // node without local endpoints drops the traffic.
        let eps = vec![
            ep(1, 1, true, true, false),
            ep(2, 2, false, true, true),
            ep(3, 2, false, false, true),
            ep(4, 3, false, false, false),
        ];
        let p = proxy_with(service(
            eps.clone(),
            TrafficPolicy::Cluster,
            TrafficPolicy::Cluster,
        ));
        assert_eq!(eligible(&p, Some(9), false), vec![1]);
        let mut only_terminating = eps.clone();
        only_terminating.remove(0);
        let p = proxy_with(service(
            only_terminating,
            TrafficPolicy::Cluster,
            TrafficPolicy::Cluster,
        ));
        assert_eq!(eligible(&p, Some(9), false), vec![2]);
        let p = proxy_with(service(
            eps.clone(),
            TrafficPolicy::Local,
            TrafficPolicy::Cluster,
        ));
        assert_eq!(eligible(&p, Some(1), false), vec![1]);
        assert_eq!(eligible(&p, Some(2), false), vec![2]);
        assert_eq!(eligible(&p, Some(3), false), Vec::<u32>::new());
        // External traffic follows externalTrafficPolicy; internal the internal one.
        let p = proxy_with(service(eps, TrafficPolicy::Cluster, TrafficPolicy::Local));
        assert_eq!(eligible(&p, Some(3), true), Vec::<u32>::new());
        assert_eq!(eligible(&p, Some(3), false), vec![1]);
        assert_eq!(eligible(&p, None, true), vec![1, 2]);
    }

    #[test]
    fn zone_hints_apply_only_when_every_ready_endpoint_has_one() {
        // upstream pkg/proxy/topology.go topologyModeFromHints: hints are used when all ready
        // endpoints carry one and one is for this zone; otherwise every ready endpoint.
        let mut a = ep(1, 1, true, true, false);
        a.zone_hints = vec!["a".into()];
        let mut b = ep(2, 2, true, true, false);
        b.zone_hints = vec!["b".into()];
        let mut p = proxy_with(service(
            vec![a.clone(), b.clone()],
            TrafficPolicy::Cluster,
            TrafficPolicy::Cluster,
        ));
        p.node_zones.insert(NodeId(7), "a".into());
        p.node_zones.insert(NodeId(8), "c".into());
        assert_eq!(eligible(&p, Some(7), false), vec![1]);
        assert_eq!(eligible(&p, Some(8), false), vec![1, 2]);
        b.zone_hints.clear();
        let mut p = proxy_with(service(
            vec![a, b],
            TrafficPolicy::Cluster,
            TrafficPolicy::Cluster,
        ));
        p.node_zones.insert(NodeId(7), "a".into());
        assert_eq!(eligible(&p, Some(7), false), vec![1, 2]);
    }

    #[test]
    fn bounded_frequency_runner_bursts_two_then_one_per_min_interval() {
        // upstream pkg/util/async/bounded_frequency_runner.go with the iptables proxier's
        // burstSyncs = 2 and minSyncPeriod = 1s: two runs back to back, then the next one
        // waits until a second after the last.
        let mut r = SyncRunner::new(ProxyTiming::default());
        let t = |ms: u64| SimTime::ZERO.saturating_add(SimDuration::from_millis(ms));
        assert_eq!(r.try_run(t(0)), Ok(()));
        assert_eq!(r.try_run(t(10)), Ok(()));
        assert_eq!(r.try_run(t(20)), Err(Some(t(1010))));
        assert_eq!(r.try_run(t(30)), Err(None));
        r.fired(t(1010));
        assert_eq!(r.try_run(t(1010)), Ok(()));
        assert_eq!(r.try_run(t(1500)), Err(Some(t(2010))));
    }
}
