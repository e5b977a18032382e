//! Services, EndpointSlices, Ingresses and HTTPRoutes in the API server: one [`NetworkTable`]
//! per kind, with create, update and delete written once.
//!
//! Their writes commit after the API latency drawn from a stream of their own
//! (`apiserver/network`), so a run's pods and nodes commit at the same times whether or not it
//! has Services.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::{Context, SimTime};

use super::{ApiError, ApiResult, ApiServer, ObjectKind, Op, Subscriber};
use crate::api::network::{EndpointSlice, HttpRoute, Ingress, Service};
use crate::cluster::Event;

/// Index of a stored network object of one kind (ids are never reused).
pub type NetworkId = u32;

/// A stored object.
#[derive(Clone, Debug)]
pub struct Stored<T> {
    pub id: NetworkId,
    pub spec: T,
    pub created: SimTime,
    /// `metadata.generation`: bumped on every change.
    pub generation: i64,
    pub deleted: bool,
}

/// What the API server needs to know of a network kind.
pub trait NetworkKind: Clone + PartialEq + std::fmt::Debug + 'static {
    const KIND: ObjectKind;
    /// The resource as API errors name it.
    const RESOURCE: &'static str;
    fn name(&self) -> &str;
    fn namespace(&self) -> &str;
    fn table(api: &ApiServer) -> &NetworkTable<Self>;
    fn table_mut(api: &mut ApiServer) -> &mut NetworkTable<Self>;
}

/// The objects of one kind, by id, with a name index.
#[derive(Debug)]
pub struct NetworkTable<T> {
    items: Vec<Stored<T>>,
    by_name: BTreeMap<(String, String), NetworkId>,
}

impl<T> Default for NetworkTable<T> {
    fn default() -> Self {
        NetworkTable {
            items: Vec::new(),
            by_name: BTreeMap::new(),
        }
    }
}

impl<T> NetworkTable<T> {
    pub fn get(&self, id: NetworkId) -> Option<&Stored<T>> {
        self.items.get(id as usize)
    }

    /// The live object of this id.
    pub fn live_get(&self, id: NetworkId) -> Option<&Stored<T>> {
        self.get(id).filter(|o| !o.deleted)
    }

    pub fn id(&self, namespace: &str, name: &str) -> Option<NetworkId> {
        self.by_name
            .get(&(namespace.to_string(), name.to_string()))
            .copied()
    }

    /// Every object ever created, deleted ones included.
    pub fn all(&self) -> &[Stored<T>] {
        &self.items
    }

    pub fn live(&self) -> impl Iterator<Item = &Stored<T>> {
        self.items.iter().filter(|o| !o.deleted)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The network objects the API server stores.
#[derive(Debug, Default)]
pub struct NetworkObjects {
    pub services: NetworkTable<Service>,
    pub endpoint_slices: NetworkTable<EndpointSlice>,
    pub ingresses: NetworkTable<Ingress>,
    pub http_routes: NetworkTable<HttpRoute>,
    /// EndpointSlices by the Service they belong to (`namespace`, `kubernetes.io/service-name`):
    /// the controller's and the proxy's lister index.
    slices_by_service: BTreeMap<(String, String), BTreeSet<NetworkId>>,
}

impl NetworkObjects {
    /// The live EndpointSlices of Service `namespace/name`, by id.
    pub fn slices_of(&self, namespace: &str, name: &str) -> impl Iterator<Item = NetworkId> + '_ {
        self.slices_by_service
            .get(&(namespace.to_string(), name.to_string()))
            .into_iter()
            .flatten()
            .copied()
    }
}

impl NetworkKind for Service {
    const KIND: ObjectKind = ObjectKind::Service;
    const RESOURCE: &'static str = "services";
    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> &str {
        &self.namespace
    }
    fn table(api: &ApiServer) -> &NetworkTable<Self> {
        &api.network.services
    }
    fn table_mut(api: &mut ApiServer) -> &mut NetworkTable<Self> {
        &mut api.network.services
    }
}

impl NetworkKind for EndpointSlice {
    const KIND: ObjectKind = ObjectKind::EndpointSlice;
    const RESOURCE: &'static str = "endpointslices.discovery.k8s.io";
    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> &str {
        &self.namespace
    }
    fn table(api: &ApiServer) -> &NetworkTable<Self> {
        &api.network.endpoint_slices
    }
    fn table_mut(api: &mut ApiServer) -> &mut NetworkTable<Self> {
        &mut api.network.endpoint_slices
    }
}

impl NetworkKind for Ingress {
    const KIND: ObjectKind = ObjectKind::Ingress;
    const RESOURCE: &'static str = "ingresses.networking.k8s.io";
    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> &str {
        &self.namespace
    }
    fn table(api: &ApiServer) -> &NetworkTable<Self> {
        &api.network.ingresses
    }
    fn table_mut(api: &mut ApiServer) -> &mut NetworkTable<Self> {
        &mut api.network.ingresses
    }
}

impl NetworkKind for HttpRoute {
    const KIND: ObjectKind = ObjectKind::HTTPRoute;
    const RESOURCE: &'static str = "httproutes.gateway.networking.k8s.io";
    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> &str {
        &self.namespace
    }
    fn table(api: &ApiServer) -> &NetworkTable<Self> {
        &api.network.http_routes
    }
    fn table_mut(api: &mut ApiServer) -> &mut NetworkTable<Self> {
        &mut api.network.http_routes
    }
}

/// Keeps the slice index in step with a slice's (immutable) owner.
fn index_slice(api: &mut ApiServer, ns: &str, service: &str, id: NetworkId, add: bool) {
    let key = (ns.to_string(), service.to_string());
    let idx = &mut api.network.slices_by_service;
    if add {
        idx.entry(key).or_default().insert(id);
    } else if let Some(set) = idx.get_mut(&key) {
        set.remove(&id);
        if set.is_empty() {
            idx.remove(&key);
        }
    }
}

impl ApiServer {
    pub fn network_object<T: NetworkKind>(&self, id: NetworkId) -> Option<&Stored<T>> {
        T::table(self).get(id)
    }

    pub fn network_objects<T: NetworkKind>(&self) -> &NetworkTable<T> {
        T::table(self)
    }

    /// `POST`. The first Service with a selector wakes the EndpointSlice controller.
    pub fn create_network<T: NetworkKind>(
        &mut self,
        ctx: &mut Context<'_, Event>,
        spec: T,
    ) -> ApiResult<NetworkId> {
        self.check_available()?;
        let key = (spec.namespace().to_string(), spec.name().to_string());
        if T::table(self).by_name.contains_key(&key) {
            return Err(ApiError::Refused(format!(
                "{} \"{}\" already exists",
                T::RESOURCE,
                spec.name()
            )));
        }
        let id = NetworkId::try_from(T::table(self).items.len()).unwrap_or(NetworkId::MAX);
        self.before_network_write(&spec, id, true);
        let table = T::table_mut(self);
        table.by_name.insert(key, id);
        table.items.push(Stored {
            id,
            spec,
            created: ctx.now(),
            generation: 1,
            deleted: false,
        });
        self.network_changed(ctx, T::KIND, id, Op::Added);
        Ok(id)
    }

    /// `PUT`: no write when nothing changed.
    pub fn update_network<T: NetworkKind>(
        &mut self,
        ctx: &mut Context<'_, Event>,
        id: NetworkId,
        edit: impl FnOnce(&mut T),
    ) -> ApiResult<()> {
        self.check_available()?;
        let obj = T::table_mut(self)
            .items
            .get_mut(id as usize)
            .filter(|o| !o.deleted)
            .ok_or(ApiError::NotFound)?;
        let before = obj.spec.clone();
        edit(&mut obj.spec);
        if obj.spec == before {
            return Ok(());
        }
        obj.generation += 1;
        let spec = obj.spec.clone();
        self.before_network_write(&spec, id, true);
        self.network_changed(ctx, T::KIND, id, Op::Modified);
        Ok(())
    }

    /// `DELETE`: network objects have no finalizers here; the object goes at once.
    pub fn delete_network<T: NetworkKind>(
        &mut self,
        ctx: &mut Context<'_, Event>,
        id: NetworkId,
    ) -> ApiResult<()> {
        self.check_available()?;
        let obj = T::table_mut(self)
            .items
            .get_mut(id as usize)
            .filter(|o| !o.deleted)
            .ok_or(ApiError::NotFound)?;
        obj.deleted = true;
        let spec = obj.spec.clone();
        let key = (spec.namespace().to_string(), spec.name().to_string());
        T::table_mut(self).by_name.remove(&key);
        self.before_network_write(&spec, id, false);
        self.network_changed(ctx, T::KIND, id, Op::Deleted);
        Ok(())
    }

    /// Indexes kept beside the objects: the slices by Service, PodTopologySpread's Service
    /// selectors, and the wake-up of the EndpointSlice controller.
    fn before_network_write<T: NetworkKind>(&mut self, spec: &T, id: NetworkId, live: bool) {
        let any: &dyn std::any::Any = spec;
        if let Some(slice) = any.downcast_ref::<EndpointSlice>() {
            index_slice(self, &slice.namespace, &slice.service, id, live);
        } else if let Some(svc) = any.downcast_ref::<Service>() {
            let key = (svc.namespace.clone(), svc.name.clone());
            match svc.managed_selector().filter(|_| live) {
                Some(selector) => {
                    self.store.service_selectors.insert(key, selector.clone());
                    // Deliveries start with this change: the Service is its first object.
                    self.log.wake(Subscriber::EndpointSliceController);
                }
                None => {
                    self.store.service_selectors.remove(&key);
                }
            }
        }
    }

    /// A network write commits after the API latency, drawn from its own stream.
    fn network_changed(&mut self, ctx: &mut Context<'_, Event>, kind: ObjectKind, id: u32, op: Op) {
        let l = self.timing.api_latency;
        let commit = if l.hi > l.lo {
            l.draw(ctx.rng("apiserver/network"))
        } else {
            l.lo
        };
        let at = ctx.now().saturating_add(commit);
        self.log.append(ctx, at, kind, id, op, 0, &self.timing);
    }
}
