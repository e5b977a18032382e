//! EndpointSlice controller (upstream `pkg/controller/endpointslice` and its reconciler in
//! `staging/src/k8s.io/endpointslice`): for every Service with a selector, publishes the pods
//! it selects as EndpointSlices of at most `maxEndpointsPerSlice` (100) endpoints, with the
//! ready / serving / terminating conditions the proxies route by.
//!
//! What kubesim simplifies: one address type (IPv4, a single-stack cluster's); a pod has its IP
//! once its containers started (the sandbox is not modelled apart); a named `targetPort` is
//! not resolved to a number (container ports are not kept), so every pod of a Service shares
//! one port mapping; endpoints are placed in pod order where upstream pops them from a map in
//! random order; the slices of a deleted Service are deleted here, standing in for the
//! garbage collector's ownerReference cascade; topology hints come from `trafficDistribution`
//! only (the `service.kubernetes.io/topology-mode: Auto` heuristic is not modelled).

use std::collections::{BTreeMap, BTreeSet};

use sim_core::{Context, SimTime};

use super::{Reconciler, SyncOutcome};
use crate::api::labels::Interned;
use crate::api::network::{
    AddressType, ENDPOINTSLICE_CONTROLLER_NAME, Endpoint, EndpointConditions, EndpointPort,
    EndpointSlice, LABEL_HEADLESS, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, Service, ServiceType,
    TargetPort,
};
use crate::api::{LABEL_ZONE, Labels, PodId, PodPhase};
use crate::apiserver::network::NetworkId;
use crate::apiserver::{ApiServer, Change, ObjectKind, Op};
use crate::cluster::Event;
use crate::store::PodRecord;

/// Upstream `--max-endpoints-per-slice` default.
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;

/// Upstream `names.SimpleNameGenerator`: `maxNameLength` 63 less the 5 random characters.
const MAX_GENERATED_NAME_BASE: usize = 58;

/// What the controller knows of a pod, as `podToEndpoint` and `ShouldPodBeInEndpoints` read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodState {
    /// The Ready condition is True (upstream `IsPodReady`).
    pub ready: bool,
    /// `metadata.deletionTimestamp` is set.
    pub terminating: bool,
    /// Succeeded or Failed.
    pub terminal: bool,
    /// `status.podIPs` is not empty.
    pub has_ip: bool,
}

impl PodState {
    pub fn of(r: &PodRecord) -> PodState {
        PodState {
            ready: r.ready,
            terminating: r.deletion_timestamp.is_some(),
            terminal: matches!(r.phase, PodPhase::Succeeded | PodPhase::Failed),
            has_ip: r.node.is_some() && (r.running_at.is_some() || r.phase == PodPhase::Running),
        }
    }
}

/// Upstream `ShouldPodBeInEndpoints(pod, includeTerminating = true)`, as the EndpointSlice
/// reconciler calls it: terminal pods and pods without an IP are left out; terminating ones
/// stay (with their conditions saying so).
pub fn should_pod_be_in_endpoints(p: PodState) -> bool {
    !p.terminal && p.has_ip
}

/// Upstream `podToEndpoint`'s conditions: serving is Ready; terminating is the deletion
/// timestamp; ready is never true for a terminating pod unless the Service publishes
/// not-ready addresses.
pub fn endpoint_conditions(p: PodState, publish_not_ready_addresses: bool) -> EndpointConditions {
    let serving = p.ready;
    let terminating = p.terminating;
    EndpointConditions {
        ready: publish_not_ready_addresses || (serving && !terminating),
        serving,
        terminating,
    }
}

/// Upstream `getEndpointSlicePrefix` then the name generator's truncation: `<service>-`.
pub fn slice_name_base(service: &str) -> String {
    let mut base = format!("{service}-");
    if base.len() > MAX_GENERATED_NAME_BASE {
        let mut cut = MAX_GENERATED_NAME_BASE;
        while !base.is_char_boundary(cut) {
            cut -= 1;
        }
        base.truncate(cut);
    }
    base
}

/// Upstream `setEndpointSliceLabels`: the Service's labels less the reserved ones, then the
/// headless marker and the service-name and managed-by labels.
pub fn slice_labels(service: &Service) -> Labels {
    let reserved =
        |k: &str| k == LABEL_SERVICE_NAME || k == LABEL_MANAGED_BY || k == LABEL_HEADLESS;
    let mut labels: Labels = service
        .labels
        .iter()
        .filter(|(k, _)| !reserved(k))
        .collect();
    if service.headless {
        labels.insert(LABEL_HEADLESS, "");
    }
    labels.insert(LABEL_SERVICE_NAME, &service.name);
    labels.insert(LABEL_MANAGED_BY, ENDPOINTSLICE_CONTROLLER_NAME);
    labels
}

/// Upstream `getEndpointPorts`: one port per Service port (a numeric `targetPort` as is).
pub fn endpoint_ports(service: &Service) -> Vec<EndpointPort> {
    service
        .ports
        .iter()
        .map(|p| EndpointPort {
            name: p.name.clone(),
            port: match &p.target_port {
                TargetPort::Number(n) => Some(*n),
                TargetPort::Name(_) => None,
            },
            protocol: p.protocol,
        })
        .collect()
}

/// Upstream `getSliceToFill`: of `slices` (their endpoint counts), the one closest to full
/// once `num_endpoints` are added, if any can take them all.
pub fn slice_to_fill(
    slices: &[usize],
    num_endpoints: usize,
    max_endpoints: usize,
) -> Option<usize> {
    let mut closest_diff = max_endpoints;
    let mut closest = None;
    for (i, &len) in slices.iter().enumerate() {
        let Some(diff) = max_endpoints.checked_sub(num_endpoints + len) else {
            continue;
        };
        if diff < closest_diff {
            closest_diff = diff;
            closest = Some(i);
            if diff == 0 {
                return closest;
            }
        }
    }
    closest
}

/// Writes one sync decided: slices to create (named by the API server's generator), to update
/// in place, and to delete.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlicePlan {
    pub create: Vec<EndpointSlice>,
    pub update: Vec<(NetworkId, EndpointSlice)>,
    pub delete: Vec<NetworkId>,
}

/// Upstream `reconcileByAddressType` + `reconcileByPortMapping` + `finalize` for one Service:
/// `desired` are its endpoints by pod (all with the Service's one port mapping `ports`),
/// `existing` its slices.
pub fn reconcile(
    service: &Service,
    ports: &[EndpointPort],
    mut desired: BTreeMap<PodId, Endpoint>,
    existing: &[(NetworkId, &EndpointSlice)],
    max_endpoints: usize,
) -> SlicePlan {
    let labels = slice_labels(service);
    let new_slice = |ports: Vec<EndpointPort>| EndpointSlice {
        namespace: service.namespace.clone(),
        name: String::new(),
        labels: labels.clone(),
        service: service.name.clone(),
        address_type: AddressType::IPv4,
        endpoints: Vec::new(),
        ports,
    };
    let mut to_delete: Vec<NetworkId> = Vec::new();
    let mut to_update: BTreeMap<NetworkId, EndpointSlice> = BTreeMap::new();
    let mut unchanged: BTreeSet<NetworkId> = BTreeSet::new();
    let mut to_create: Vec<EndpointSlice> = Vec::new();
    let want_ports = !desired.is_empty();
    // Slices of another port mapping (or when no endpoint is desired) go.
    let (same, other): (Vec<_>, Vec<_>) = existing
        .iter()
        .partition(|(_, s)| want_ports && s.ports == ports && s.address_type == AddressType::IPv4);
    to_delete.extend(other.iter().map(|(id, _)| *id));
    // 1. Keep the desired endpoints where they are, updated; drop the others.
    for (id, slice) in &same {
        let mut kept = Vec::with_capacity(slice.endpoints.len());
        let mut endpoint_updated = false;
        for ep in &slice.endpoints {
            if let Some(got) = desired.remove(&ep.pod) {
                endpoint_updated |= got != *ep;
                kept.push(got);
            }
        }
        let labels_changed = slice.labels != labels;
        if endpoint_updated || kept.len() != slice.endpoints.len() {
            if kept.is_empty() {
                to_delete.push(*id);
            } else {
                let mut s = (*slice).clone();
                s.endpoints = kept;
                s.labels = labels.clone();
                to_update.insert(*id, s);
            }
        } else if labels_changed {
            let mut s = (*slice).clone();
            s.labels = labels.clone();
            to_update.insert(*id, s);
        } else {
            unchanged.insert(*id);
        }
    }
    let mut remaining = desired.into_values();
    let mut pending = remaining.len();
    // 2. Fill the slices being updated anyway, fullest first.
    if pending > 0 && !to_update.is_empty() {
        let mut order: Vec<NetworkId> = to_update.keys().copied().collect();
        order.sort_by_key(|id| std::cmp::Reverse(to_update[id].endpoints.len()));
        for id in order {
            let Some(s) = to_update.get_mut(&id) else {
                continue;
            };
            while pending > 0 && s.endpoints.len() < max_endpoints {
                if let Some(ep) = remaining.next() {
                    s.endpoints.push(ep);
                }
                pending -= 1;
            }
        }
    }
    // 3. What is left goes into an unchanged slice that can take it all, or new slices.
    while pending > 0 {
        let mut target: Option<(Option<NetworkId>, EndpointSlice)> = None;
        if pending < max_endpoints && !unchanged.is_empty() {
            let ids: Vec<NetworkId> = unchanged.iter().copied().collect();
            let lens: Vec<usize> = ids
                .iter()
                .map(|id| {
                    same.iter()
                        .find(|(i, _)| i == id)
                        .map_or(0, |(_, s)| s.endpoints.len())
                })
                .collect();
            if let Some(i) = slice_to_fill(&lens, pending, max_endpoints)
                && let Some((_, s)) = same.iter().find(|(sid, _)| *sid == ids[i])
            {
                target = Some((Some(ids[i]), (*s).clone()));
            }
        }
        let (id, mut slice) = target.unwrap_or_else(|| (None, new_slice(ports.to_vec())));
        while pending > 0 && slice.endpoints.len() < max_endpoints {
            if let Some(ep) = remaining.next() {
                slice.endpoints.push(ep);
            }
            pending -= 1;
        }
        match id {
            Some(id) => {
                unchanged.remove(&id);
                to_update.insert(id, slice);
            }
            None => to_create.push(slice),
        }
    }
    // A Service with no endpoints keeps one empty placeholder slice.
    if existing.len() == to_delete.len() && to_create.is_empty() {
        let placeholder = new_slice(Vec::new());
        let same_placeholder = to_delete.len() == 1
            && existing.iter().any(|(id, s)| {
                *id == to_delete[0]
                    && s.endpoints.is_empty()
                    && s.ports.is_empty()
                    && s.labels == placeholder.labels
                    && s.namespace == placeholder.namespace
            });
        if same_placeholder {
            to_delete.clear();
        } else {
            to_create.push(placeholder);
        }
    }
    // finalize: a slice to create replaces one to delete, as an update under its name (every
    // slice here is this Service's and IPv4, the conditions upstream checks first).
    while !to_delete.is_empty() {
        let Some(mut slice) = to_create.pop() else {
            break;
        };
        let id = to_delete.remove(0);
        if let Some((_, old)) = existing.iter().find(|(e, _)| *e == id) {
            slice.name.clone_from(&old.name);
        }
        to_update.insert(id, slice);
    }
    SlicePlan {
        create: to_create,
        update: to_update.into_iter().collect(),
        delete: to_delete,
    }
}

#[derive(Default)]
pub struct EndpointSliceController {
    /// Pods each Service selects (pod labels never change in kubesim, so membership changes
    /// only with pods coming and Services' selectors).
    members: BTreeMap<NetworkId, BTreeSet<PodId>>,
    /// Services with a selector, by namespace: the Services a pod change concerns (upstream
    /// `GetPodServiceMemberships`).
    selecting: BTreeMap<String, BTreeSet<NetworkId>>,
    /// Writes made (creates, updates and deletes of slices), for reports.
    pub writes: u64,
}

impl EndpointSliceController {
    /// Re-reads which pods Service `id` selects (its selector is new or changed).
    fn relist(&mut self, id: NetworkId, api: &ApiServer) {
        for set in self.selecting.values_mut() {
            set.remove(&id);
        }
        self.members.remove(&id);
        let Some(svc) = api.network.services.live_get(id) else {
            return;
        };
        let svc = &svc.spec;
        if svc.managed_selector().is_none() || svc.type_ == ServiceType::ExternalName {
            return;
        }
        self.selecting
            .entry(svc.namespace.clone())
            .or_default()
            .insert(id);
        let pods = api
            .store
            .active_pods()
            .filter(|r| svc.selects(&r.pod.namespace, &r.pod.labels))
            .map(|r| r.id)
            .collect();
        self.members.insert(id, pods);
    }

    /// `zone_key`: the zone label's key, interned once per sync (`None` when no label uses it).
    fn endpoint(
        api: &ApiServer,
        svc: &Service,
        r: &PodRecord,
        zone_key: Option<&Interned>,
    ) -> Option<Endpoint> {
        let state = PodState::of(r);
        if !should_pod_be_in_endpoints(state) {
            return None;
        }
        let node = r.node?;
        let info = api.store.nodes.get(node.index())?;
        if !info.exists && !svc.publish_not_ready_addresses {
            // Upstream skips a pod whose Node is gone (and retries); the pod garbage collector
            // removes it soon.
            return None;
        }
        let conditions = endpoint_conditions(state, svc.publish_not_ready_addresses);
        let zone = zone_key
            .and_then(|k| info.node.labels.get_interned(k))
            .map(Interned::as_str)
            .filter(|z| !z.is_empty())
            .map(str::to_string);
        let close = matches!(
            svc.traffic_distribution.as_deref(),
            Some("PreferClose" | "PreferSameZone" | "PreferSameNode")
        );
        let zone_hints = match (&zone, close && conditions.ready) {
            (Some(z), true) => vec![z.clone()],
            _ => Vec::new(),
        };
        // Upstream `ShouldSetHostname`: the pod's hostname, when its subdomain is this Service.
        let hostname = match (&r.pod.hostname, &r.pod.subdomain) {
            (Some(h), Some(sub)) if *sub == svc.name && !h.is_empty() => Some(h.clone()),
            _ => None,
        };
        Some(Endpoint {
            pod: r.id,
            pod_name: r.pod.name.clone(),
            node: Some(node),
            zone,
            conditions,
            hostname,
            zone_hints,
        })
    }
}

impl Reconciler for EndpointSliceController {
    type Key = NetworkId;

    fn on_change(
        &mut self,
        change: &Change,
        api: &ApiServer,
        _now: SimTime,
        enqueue: &mut dyn FnMut(NetworkId),
    ) {
        match change.kind {
            ObjectKind::Service => {
                self.relist(change.id, api);
                enqueue(change.id);
            }
            ObjectKind::Pod => {
                let pod = PodId(change.id);
                let r = api.store.pod(pod);
                let Some(ids) = self.selecting.get(r.pod.namespace.as_str()) else {
                    return;
                };
                for &id in ids {
                    let Some(set) = self.members.get_mut(&id) else {
                        continue;
                    };
                    if set.contains(&pod) {
                        enqueue(id);
                    } else if change.op == Op::Added
                        && api
                            .network
                            .services
                            .live_get(id)
                            .is_some_and(|s| s.spec.selects(&r.pod.namespace, &r.pod.labels))
                    {
                        set.insert(pod);
                        enqueue(id);
                    }
                }
            }
            _ => {}
        }
    }

    fn sync(
        &mut self,
        key: NetworkId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> SyncOutcome {
        let Some(stored) = api.network.services.get(key) else {
            return SyncOutcome::Done;
        };
        let svc = stored.spec.clone();
        let existing_ids: Vec<NetworkId> =
            api.network.slices_of(&svc.namespace, &svc.name).collect();
        if stored.deleted {
            // The garbage collector deletes the slices the Service owned.
            for id in existing_ids {
                match api.delete_network::<EndpointSlice>(ctx, id) {
                    Ok(()) => self.writes += 1,
                    Err(crate::apiserver::ApiError::Unavailable) => return SyncOutcome::Failed,
                    Err(_) => {}
                }
            }
            return SyncOutcome::Done;
        }
        if svc.type_ == ServiceType::ExternalName || svc.managed_selector().is_none() {
            return SyncOutcome::Done;
        }
        // Pods gone for good leave the member list.
        let mut desired = BTreeMap::new();
        let zone_key = Interned::existing(LABEL_ZONE);
        if let Some(members) = self.members.get_mut(&key) {
            members.retain(|p| api.store.pod(*p).is_active());
            for &p in members.iter() {
                if let Some(ep) = Self::endpoint(api, &svc, api.store.pod(p), zone_key.as_ref()) {
                    desired.insert(p, ep);
                }
            }
        }
        // Read in place: the plan owns what it writes, so nothing is copied for slices that
        // stay as they are (most of them, when one pod of a large Service changes).
        let existing: Vec<(NetworkId, &EndpointSlice)> = existing_ids
            .iter()
            .filter_map(|&id| {
                api.network
                    .endpoint_slices
                    .live_get(id)
                    .map(|s| (id, &s.spec))
            })
            .collect();
        let plan = reconcile(
            &svc,
            &endpoint_ports(&svc),
            desired,
            &existing,
            MAX_ENDPOINTS_PER_SLICE,
        );
        let failed = |r: Result<(), crate::apiserver::ApiError>| {
            matches!(r, Err(crate::apiserver::ApiError::Unavailable))
        };
        for mut slice in plan.create {
            let base = slice_name_base(&svc.name);
            slice.name = loop {
                let name = format!(
                    "{base}{}",
                    super::names::random_suffix(ctx.rng("names/endpointslice"))
                );
                if api
                    .network
                    .endpoint_slices
                    .id(&svc.namespace, &name)
                    .is_none()
                {
                    break name;
                }
            };
            if failed(api.create_network(ctx, slice).map(|_| ())) {
                return SyncOutcome::Failed;
            }
            self.writes += 1;
        }
        for (id, slice) in plan.update {
            if failed(api.update_network::<EndpointSlice>(ctx, id, |s| *s = slice)) {
                return SyncOutcome::Failed;
            }
            self.writes += 1;
        }
        for id in plan.delete {
            if failed(api.delete_network::<EndpointSlice>(ctx, id)) {
                return SyncOutcome::Failed;
            }
            self.writes += 1;
        }
        SyncOutcome::Done
    }

    fn restart(&mut self, api: &ApiServer, _now: SimTime, enqueue: &mut dyn FnMut(NetworkId)) {
        // A new leader's informers list every Service and its pods.
        let ids: Vec<NetworkId> = api.network.services.live().map(|s| s.id).collect();
        for id in ids {
            self.relist(id, api);
            enqueue(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Protocol;
    use crate::api::network::ServicePort;

    fn state(ready: bool, terminating: bool) -> PodState {
        PodState {
            ready,
            terminating,
            terminal: false,
            has_ip: true,
        }
    }

    fn conds(ready: bool, serving: bool, terminating: bool) -> EndpointConditions {
        EndpointConditions {
            ready,
            serving,
            terminating,
        }
    }

    #[test]
    fn pod_to_endpoint_conditions() {
        // upstream staging/src/k8s.io/endpointslice/utils_test.go TestPodToEndpoint: the
        // conditions of each case ("Ready pod", "Ready pod + publishNotReadyAddresses",
        // "Unready pod", "Unready pod + publishNotReadyAddresses", "Ready terminating pod",
        // "Not ready terminating pod").
        let cases = [
            (
                "Ready pod",
                state(true, false),
                false,
                conds(true, true, false),
            ),
            (
                "Ready pod + publishNotReadyAddresses",
                state(true, false),
                true,
                conds(true, true, false),
            ),
            (
                "Unready pod",
                state(false, false),
                false,
                conds(false, false, false),
            ),
            (
                "Unready pod + publishNotReadyAddresses",
                state(false, false),
                true,
                conds(true, false, false),
            ),
            (
                "Ready terminating pod",
                state(true, true),
                false,
                conds(false, true, true),
            ),
            (
                "Not ready terminating pod",
                state(false, true),
                false,
                conds(false, false, true),
            ),
        ];
        for (name, pod, publish, want) in cases {
            assert_eq!(endpoint_conditions(pod, publish), want, "{name}");
        }
    }

    #[test]
    fn should_pod_be_in_endpoints_with_terminating() {
        // upstream staging/src/k8s.io/endpointslice/util/controller_utils.go
        // ShouldPodBeInEndpoints(pod, includeTerminating=true): terminal pods and pods
        // without an IP are out; terminating ones stay.
        assert!(should_pod_be_in_endpoints(state(true, false)));
        assert!(should_pod_be_in_endpoints(state(false, true)));
        let mut terminal = state(false, false);
        terminal.terminal = true;
        assert!(!should_pod_be_in_endpoints(terminal));
        let mut no_ip = state(false, false);
        no_ip.has_ip = false;
        assert!(!should_pod_be_in_endpoints(no_ip));
    }

    #[test]
    fn slice_to_fill_picks_the_closest_to_full() {
        // upstream staging/src/k8s.io/endpointslice/utils.go getSliceToFill's contract: no
        // slices → none; the slice closest to full that can take them all wins, the first of
        // equals; nothing fits → none.
        assert_eq!(slice_to_fill(&[], 5, 100), None);
        assert_eq!(slice_to_fill(&[95], 5, 100), Some(0));
        assert_eq!(slice_to_fill(&[96], 5, 100), None);
        assert_eq!(slice_to_fill(&[20, 80, 90], 5, 100), Some(2));
        assert_eq!(slice_to_fill(&[20, 60, 94, 10], 6, 100), Some(2));
        assert_eq!(slice_to_fill(&[50, 55], 49, 100), Some(0));
    }

    #[test]
    fn new_slice_labels() {
        // upstream staging/src/k8s.io/endpointslice/utils_test.go TestNewEndpointSlice:
        // "Service with labels", "Headless Service with labels", "Evil service hijacking
        // endpoint slices labels".
        let mut svc = service("foo");
        svc.labels.insert("foo", "bar");
        let l = slice_labels(&svc);
        assert_eq!(l.get(LABEL_SERVICE_NAME), Some("foo"));
        assert_eq!(l.get(LABEL_MANAGED_BY), Some(ENDPOINTSLICE_CONTROLLER_NAME));
        assert_eq!(l.get("foo"), Some("bar"));
        assert_eq!(l.len(), 3);
        svc.headless = true;
        assert_eq!(slice_labels(&svc).get(LABEL_HEADLESS), Some(""));
        let mut evil = service("foo");
        evil.labels.insert(LABEL_SERVICE_NAME, "bad");
        evil.labels.insert(LABEL_MANAGED_BY, "actor");
        let l = slice_labels(&evil);
        assert_eq!(l.get(LABEL_SERVICE_NAME), Some("foo"));
        assert_eq!(l.get(LABEL_MANAGED_BY), Some(ENDPOINTSLICE_CONTROLLER_NAME));
        assert_eq!(slice_name_base("foo"), "foo-");
        assert_eq!(slice_name_base(&"x".repeat(63)).len(), 58);
    }

    fn service(name: &str) -> Service {
        Service {
            namespace: "default".into(),
            name: name.into(),
            selector: Some([("app", "web")].into_iter().collect()),
            ports: vec![ServicePort {
                name: String::new(),
                port: 80,
                target_port: TargetPort::Number(8080),
                protocol: Protocol::Tcp,
                node_port: None,
            }],
            ..Service::default()
        }
    }

    fn endpoints(n: u32) -> BTreeMap<PodId, Endpoint> {
        (0..n)
            .map(|i| {
                (
                    PodId(i),
                    Endpoint {
                        pod: PodId(i),
                        pod_name: format!("p{i}"),
                        node: None,
                        zone: None,
                        conditions: conds(true, true, false),
                        hostname: None,
                        zone_hints: Vec::new(),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn reconcile_creates_placeholder_and_splits_at_max() {
        // upstream staging/src/k8s.io/endpointslice/reconciler_test.go TestReconcileEmpty (a
        // Service with no pods gets one placeholder slice without endpoints or ports) and
        // TestReconcileManyPods (250 pods → slices of 100, 100 and 50).
        let svc = service("foo");
        let ports = endpoint_ports(&svc);
        let plan = reconcile(&svc, &ports, BTreeMap::new(), &[], 100);
        assert_eq!(plan.create.len(), 1);
        assert!(plan.create[0].endpoints.is_empty() && plan.create[0].ports.is_empty());
        let plan = reconcile(&svc, &ports, endpoints(250), &[], 100);
        let sizes: Vec<usize> = plan.create.iter().map(|s| s.endpoints.len()).collect();
        assert_eq!(sizes, vec![100, 100, 50]);
        assert!(plan.update.is_empty() && plan.delete.is_empty());
    }

    #[test]
    fn reconcile_replaces_placeholder_in_place_and_keeps_it_when_empty() {
        // upstream reconciler.go finalize: a slice to create takes the name of one to delete
        // (the placeholder becomes the first real slice); and a placeholder that would be
        // deleted and recreated is kept (TestReconcileEmpty on an existing placeholder).
        let svc = service("foo");
        let ports = endpoint_ports(&svc);
        let mut placeholder = reconcile(&svc, &ports, BTreeMap::new(), &[], 100).create[0].clone();
        placeholder.name = "foo-abcde".into();
        let plan = reconcile(&svc, &ports, endpoints(3), &[(7, &placeholder)], 100);
        assert!(plan.create.is_empty() && plan.delete.is_empty());
        assert_eq!(plan.update.len(), 1);
        assert_eq!(plan.update[0].0, 7);
        assert_eq!(plan.update[0].1.name, "foo-abcde");
        assert_eq!(plan.update[0].1.endpoints.len(), 3);
        let plan = reconcile(&svc, &ports, BTreeMap::new(), &[(7, &placeholder)], 100);
        assert_eq!(plan, SlicePlan::default());
    }

    #[test]
    fn reconcile_updates_changed_endpoints_and_fills_unchanged_slices() {
        // upstream reconciler.go reconcileByPortMapping steps 1 and 3: an endpoint whose
        // conditions changed updates its slice; a new endpoint goes into an unchanged slice
        // with room rather than a new slice.
        let svc = service("foo");
        let ports = endpoint_ports(&svc);
        let mut first = reconcile(&svc, &ports, endpoints(3), &[], 100).create[0].clone();
        first.name = "foo-aaaaa".into();
        let mut want = endpoints(4);
        let plan = reconcile(&svc, &ports, want.clone(), &[(1, &first)], 100);
        assert_eq!(plan.update.len(), 1);
        assert_eq!(plan.update[0].1.endpoints.len(), 4);
        want.remove(&PodId(3));
        if let Some(e) = want.get_mut(&PodId(0)) {
            e.conditions = conds(false, true, true);
        }
        let plan = reconcile(&svc, &ports, want, &[(1, &first)], 100);
        assert_eq!(plan.update.len(), 1);
        assert_eq!(
            plan.update[0].1.endpoints[0].conditions,
            conds(false, true, true)
        );
        let plan = reconcile(&svc, &ports, endpoints(3), &[(1, &first)], 100);
        assert_eq!(plan, SlicePlan::default());
    }

    #[test]
    fn reconcile_some_preexisting_slices() {
        // upstream reconciler_test.go TestReconcileEndpointSlicesSomePreexisting: slices of 62
        // and 61 desired endpoints, 250 pods: one new slice of 100 and the remaining 27 into
        // the slice closest to full (lengths 89, 61, 100).
        let svc = service("foo");
        let ports = endpoint_ports(&svc);
        let all = endpoints(250);
        let mut a = reconcile(&svc, &ports, BTreeMap::new(), &[], 100).create[0].clone();
        a.ports.clone_from(&ports);
        let mut b = a.clone();
        a.name = "foo-a".into();
        b.name = "foo-b".into();
        a.endpoints = all.values().take(62).cloned().collect();
        b.endpoints = all.values().skip(62).take(61).cloned().collect();
        let plan = reconcile(&svc, &ports, all, &[(0, &a), (1, &b)], 100);
        assert_eq!(plan.create.len(), 1);
        assert_eq!(plan.create[0].endpoints.len(), 100);
        assert_eq!(plan.update.len(), 1);
        assert_eq!(
            (plan.update[0].0, plan.update[0].1.endpoints.len()),
            (0, 89)
        );
        assert!(plan.delete.is_empty());
    }
}
