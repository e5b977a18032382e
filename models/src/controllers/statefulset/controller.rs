//! The StatefulSet controller's reconciler (upstream `pkg/controller/statefulset`:
//! `stateful_set.go` for the keys and the sync, `stateful_set_control.go` for the decisions,
//! which [`super::control::plan`] makes, and `stateful_pod_control.go` for the writes and
//! their events).
//!
//! Revisions: upstream stores each template as a ControllerRevision named
//! `<set>-<hash>`; the update revision is the one of the current template, the current revision
//! is `status.currentRevision`. Here the revision name is computed from the template alone
//! ([`revision_name`]), which gives the same name to the same template as upstream's history
//! lookup does.
//!
//! Claims: upstream's claims carry owner references that the garbage collector follows: the
//! StatefulSet's under `whenDeleted: Delete`, a condemned pod's under `whenScaled: Delete`.
//! Claim owners here can only name workloads, so the controller deletes such claims itself, when
//! the garbage collector would (and, as `kubernetes.io/pvc-protection` would hold them, only once
//! no active pod mounts them).

use std::collections::{BTreeMap, BTreeSet};

use sim_core::{Context, SimTime};

use super::control::{
    Action, FeatureGates, StatefulPodView, StatefulSetView, SyncInput, UpdateStrategy, plan,
};
use super::utils::{
    POD_INDEX_LABEL, PodManagementPolicy, PodState, STATEFUL_SET_POD_NAME_LABEL,
    STATEFUL_SET_REVISION_LABEL, get_ordinal, get_persistent_volume_claim_name, get_pod_name,
    is_member_of,
};
use crate::api::{
    OwnerKind, OwnerRef, PersistentVolumeClaim, PodId, PodVolume, StatefulSet,
    StatefulSetUpdateStrategy, WorkloadId,
};
use crate::apiserver::{ApiError, ApiServer, Change, ClaimId, ObjectKind, StatefulSetStatus};
use crate::cluster::Event;
use crate::controllers::{Reconciler, SyncOutcome};
use crate::events::EventType;

#[derive(Default)]
pub struct StatefulSetController {
    pub gates: FeatureGates,
}

/// 32-bit FNV-1a, the hash upstream's `ComputeHash` uses for ControllerRevision names.
fn fnv1a_32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// Upstream `rand.SafeEncodeString`: each byte mapped onto an alphabet without vowels or
/// look-alike characters, so a hash never spells a word.
fn safe_encode_string(s: &str) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    s.bytes()
        .map(|b| char::from(ALPHANUMS[usize::from(b) % ALPHANUMS.len()]))
        .collect()
}

/// The ControllerRevision name of the set's current template (upstream
/// `ControllerRevisionName(set.Name, ComputeHash(...))`): `<set>-<hash>`, the hash being the
/// FNV-1a of the template, encoded as upstream encodes it. Equal templates get equal names.
pub fn revision_name(set: &StatefulSet) -> String {
    let hash = fnv1a_32(format!("{:?}", set.template).as_bytes());
    // Upstream truncates the prefix so the name stays a valid object name.
    let prefix: String = set.name.chars().take(223).collect();
    format!("{prefix}-{}", safe_encode_string(&hash.to_string()))
}

/// The parts of the set's spec the decision core reads.
fn set_view(obj: &crate::apiserver::Object<StatefulSet>) -> StatefulSetView {
    let s = &obj.spec;
    StatefulSetView {
        replicas: s.replicas,
        start_ordinal: s.ordinals_start,
        pod_management_policy: match s.pod_management_policy {
            crate::api::PodManagementPolicy::OrderedReady => PodManagementPolicy::OrderedReady,
            crate::api::PodManagementPolicy::Parallel => PodManagementPolicy::Parallel,
        },
        update_strategy: match s.update_strategy {
            StatefulSetUpdateStrategy::RollingUpdate {
                partition,
                max_unavailable,
            } => UpdateStrategy::RollingUpdate {
                partition,
                max_unavailable: Some(max_unavailable),
            },
            StatefulSetUpdateStrategy::OnDelete => UpdateStrategy::OnDelete,
        },
        min_ready_seconds: s.min_ready_seconds,
        being_deleted: obj.deletion_timestamp.is_some(),
    }
}

/// The set's event target, `kind/name`.
fn event_object(set: &StatefulSet) -> String {
    format!("statefulset/{}", set.name)
}

/// The claims `(template, claim name)` of the pod with `ordinal` (upstream
/// `getPersistentVolumeClaims`, in template order where upstream ranges over a map).
fn claim_names(set: &StatefulSet, ordinal: i32) -> Vec<(usize, String)> {
    set.volume_claim_templates
        .iter()
        .enumerate()
        .map(|(i, t)| {
            (
                i,
                get_persistent_volume_claim_name(&set.name, &t.name, ordinal),
            )
        })
        .collect()
}

/// Upstream `newVersionedStatefulSetPod`: the template stamped with the pod's identity
/// (`updateIdentity`), its claims (`updateStorage`) and the revision label.
fn new_stateful_pod(
    set: &StatefulSet,
    id: WorkloadId,
    ordinal: i32,
    revision: &str,
) -> crate::api::Pod {
    let mut pod = set.template.pod.clone();
    pod.name = get_pod_name(&set.name, ordinal);
    pod.namespace = set.namespace.clone();
    // Upstream `initIdentity`: the stable network identity `<pod>.<serviceName>`.
    pod.hostname = Some(pod.name.clone());
    pod.subdomain = Some(set.service_name.clone()).filter(|s| !s.is_empty());
    pod.owner = Some(OwnerRef {
        kind: OwnerKind::StatefulSet,
        name: set.name.clone(),
        id,
    });
    pod.labels
        .insert(STATEFUL_SET_POD_NAME_LABEL, pod.name.clone());
    pod.labels.insert(POD_INDEX_LABEL, ordinal.to_string());
    pod.labels.insert(STATEFUL_SET_REVISION_LABEL, revision);
    for (_, claim) in claim_names(set, ordinal) {
        let exists = pod
            .volumes
            .iter()
            .any(|v| matches!(v, PodVolume::Claim { name, .. } if *name == claim));
        if !exists {
            pod.volumes.push(PodVolume::Claim {
                name: claim,
                read_only: false,
            });
        }
    }
    pod.dumped = None;
    pod
}

/// Whether an active pod mounts the claim `namespace/name` (what `kubernetes.io/pvc-protection`
/// waits for before a deleted claim goes).
fn claim_in_use(api: &ApiServer, pods: &BTreeSet<PodId>, namespace: &str, name: &str) -> bool {
    pods.iter().any(|p| {
        let r = api.store.pod(*p);
        r.is_active()
            && r.pod.namespace == namespace
            && r.pod
                .volumes
                .iter()
                .any(|v| matches!(v, PodVolume::Claim { name: n, .. } if n == name))
    })
}

impl StatefulSetController {
    /// Upstream `createPersistentVolumeClaims`: creates the pod's missing claims, recording an
    /// event for each; a claim being deleted is an error.
    fn create_claims(
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
        key: WorkloadId,
        ordinal: i32,
    ) -> Result<(), ApiError> {
        let now = ctx.now();
        let set = api.object::<StatefulSet>(key).spec.clone();
        let pod_name = get_pod_name(&set.name, ordinal);
        let object = event_object(&set);
        let mut first_error = None;
        for (template, name) in claim_names(&set, ordinal) {
            if api.store.storage.claim_id(&set.namespace, &name).is_some() {
                continue;
            }
            let mut claim: PersistentVolumeClaim = set.volume_claim_templates[template].clone();
            claim.name = name.clone();
            claim.namespace = set.namespace.clone();
            // `UpdatePodClaimForRetentionPolicy` right after: the set owns the claim only
            // under `whenDeleted: Delete`.
            claim.owner = set.pvc_retention.when_deleted_delete.then(|| OwnerRef {
                kind: OwnerKind::StatefulSet,
                name: set.name.clone(),
                id: key,
            });
            match api.create_claim(ctx, claim) {
                Ok(_) => api.record(
                    now,
                    EventType::Normal,
                    "SuccessfulCreate",
                    object.clone(),
                    format!(
                        "create Claim {name} Pod {pod_name} in StatefulSet {} success",
                        set.name
                    ),
                ),
                Err(e) => {
                    api.record(
                        now,
                        EventType::Warning,
                        "FailedCreate",
                        object.clone(),
                        format!(
                            "create Claim {name} for Pod {pod_name} in StatefulSet {} failed error: {e}",
                            set.name
                        ),
                    );
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Upstream `CreateStatefulPod`: the claims first, then the pod.
    fn create_pod(
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
        key: WorkloadId,
        ordinal: i32,
        revision: &str,
    ) -> Result<(), ApiError> {
        let now = ctx.now();
        let set = api.object::<StatefulSet>(key).spec.clone();
        let pod = new_stateful_pod(&set, key, ordinal, revision);
        let object = event_object(&set);
        let pod_name = pod.name.clone();
        let result = Self::create_claims(api, ctx, key, ordinal).and_then(|()| {
            // The identity is unique: a pod keeps its name until it is really gone.
            match api.store.pod_id(&format!("{}/{}", pod.namespace, pod.name)) {
                Some(p) if api.store.pod(p).is_active() => Err(ApiError::Refused(format!(
                    "pods \"{pod_name}\" already exists"
                ))),
                _ => api.create_pod(ctx, pod).map(|_| ()),
            }
        });
        match &result {
            Ok(()) => api.record(
                now,
                EventType::Normal,
                "SuccessfulCreate",
                object,
                format!(
                    "create Pod {pod_name} in StatefulSet {} successful",
                    set.name
                ),
            ),
            Err(e) => api.record(
                now,
                EventType::Warning,
                "FailedCreate",
                object,
                format!(
                    "create Pod {pod_name} in StatefulSet {} failed error: {e}",
                    set.name
                ),
            ),
        }
        result
    }

    /// Upstream `DeleteStatefulPod`.
    fn delete_pod(
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
        key: WorkloadId,
        pod: PodId,
    ) -> Result<(), ApiError> {
        let now = ctx.now();
        let set_name = api.object::<StatefulSet>(key).spec.name.clone();
        let object = format!("statefulset/{set_name}");
        let pod_name = api.store.pod(pod).pod.name.clone();
        let result = api.delete_pod(ctx, pod);
        match &result {
            Ok(()) => api.record(
                now,
                EventType::Normal,
                "SuccessfulDelete",
                object,
                format!("delete Pod {pod_name} in StatefulSet {set_name} successful"),
            ),
            Err(e) => api.record(
                now,
                EventType::Warning,
                "FailedDelete",
                object,
                format!("delete Pod {pod_name} in StatefulSet {set_name} failed error: {e}"),
            ),
        }
        result
    }

    /// The garbage collector's part for claims: under `whenScaled: Delete` the claims of
    /// ordinals scaled away go once their pod is gone; under `whenDeleted: Delete` the claims the
    /// set owns go once the set is, and no pod mounts them.
    fn collect_claims(
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
        key: WorkloadId,
    ) -> Result<(), ApiError> {
        let obj = api.object::<StatefulSet>(key);
        let set = &obj.spec;
        let deleted = obj.deleted;
        if set.volume_claim_templates.is_empty()
            || !(set.pvc_retention.when_scaled_delete || deleted)
        {
            return Ok(());
        }
        let pods = &obj.pods;
        let mut doomed: Vec<ClaimId> = Vec::new();
        for c in &api.store.storage.claims {
            if c.deleted || c.claim.namespace != set.namespace {
                continue;
            }
            if deleted {
                let owned = c
                    .claim
                    .owner
                    .as_ref()
                    .is_some_and(|o| o.kind == OwnerKind::StatefulSet && o.id == key);
                if owned && !claim_in_use(api, pods, &set.namespace, &c.claim.name) {
                    doomed.push(c.id);
                }
                continue;
            }
            // `<template>-<set>-<ordinal>` of an ordinal outside the range.
            let scaled_away = set.volume_claim_templates.iter().any(|t| {
                let Some(suffix) = c
                    .claim
                    .name
                    .strip_prefix(&format!("{}-{}-", t.name, set.name))
                else {
                    return false;
                };
                suffix.parse::<i32>().ok().is_some_and(|o| {
                    o >= 0
                        && o.to_string() == suffix
                        && !super::utils::pod_in_ordinal_range(o, set.ordinals_start, set.replicas)
                })
            });
            if scaled_away && !claim_in_use(api, pods, &set.namespace, &c.claim.name) {
                doomed.push(c.id);
            }
        }
        for c in doomed {
            api.delete_claim(ctx, c)?;
        }
        Ok(())
    }

    /// Upstream `syncStatefulSet` → `UpdateStatefulSet`: the plan's writes in order, then the
    /// status; `Err` on a failed write (the key is retried with backoff).
    fn sync_set(
        &mut self,
        key: WorkloadId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> Result<Option<sim_core::SimDuration>, ApiError> {
        let now: SimTime = ctx.now();
        let obj = api.object::<StatefulSet>(key);
        let set = &obj.spec;
        let view = set_view(obj);
        let update_revision = revision_name(set);
        let current_revision = if obj.status.current_revision.is_empty() {
            update_revision.clone()
        } else {
            obj.status.current_revision.clone()
        };
        // Upstream `getPodsForStatefulSet`: the pods it controls that are members by name.
        let mut by_ordinal: BTreeMap<i32, PodId> = BTreeMap::new();
        let mut pods: Vec<StatefulPodView> = Vec::new();
        for p in &obj.pods {
            let r = api.store.pod(*p);
            if !r.is_active() || !is_member_of(&set.name, &r.pod.name) {
                continue;
            }
            let ordinal = get_ordinal(&r.pod.name);
            if by_ordinal.contains_key(&ordinal) {
                continue;
            }
            by_ordinal.insert(ordinal, *p);
            let missing_claims = claim_names(set, ordinal)
                .iter()
                .any(|(_, c)| api.store.storage.claim_id(&set.namespace, c).is_none());
            pods.push(StatefulPodView {
                ordinal,
                revision: r
                    .pod
                    .labels
                    .get(STATEFUL_SET_REVISION_LABEL)
                    .unwrap_or("")
                    .to_string(),
                state: PodState {
                    phase: Some(r.phase),
                    ready: r.ready,
                    ready_since: r.ready_since,
                    terminating: r.deletion_timestamp.is_some(),
                },
                missing_claims,
                identity_and_storage_match: true,
                claims_match_policy: true,
            });
        }
        let generation = obj.generation;
        let stale = BTreeSet::new();
        let input = SyncInput {
            set: &view,
            current_revision: &current_revision,
            update_revision: &update_revision,
            pods: &pods,
            stale_claim_ordinals: &stale,
            now,
            gates: self.gates,
        };
        let decided = plan(&input);
        for action in &decided.actions {
            match action {
                Action::CreatePod { ordinal, revision } => {
                    Self::create_pod(api, ctx, key, *ordinal, revision)?;
                }
                Action::CreateMissingClaims { ordinal } => {
                    Self::create_claims(api, ctx, key, *ordinal)?;
                }
                Action::DeletePod { ordinal, .. } => {
                    if let Some(p) = by_ordinal.get(ordinal) {
                        Self::delete_pod(api, ctx, key, *p)?;
                    }
                }
                // Pods are only ever stamped by this controller, and claim owners follow the
                // policy from creation, so neither drifts.
                Action::UpdatePod { .. } | Action::UpdateClaimOwnerRefs { .. } => {}
            }
        }
        Self::collect_claims(api, ctx, key)?;
        let s = decided.status;
        let status = StatefulSetStatus {
            observed_generation: generation,
            replicas: s.replicas,
            ready_replicas: s.ready_replicas,
            current_replicas: s.current_replicas,
            updated_replicas: s.updated_replicas,
            available_replicas: s.available_replicas,
            current_revision: s.current_revision,
            update_revision: s.update_revision,
        };
        api.update_object_status::<StatefulSet>(ctx, key, status)?;
        Ok(decided.requeue_after)
    }
}

impl Reconciler for StatefulSetController {
    type Key = WorkloadId;

    fn on_change(
        &mut self,
        change: &Change,
        api: &ApiServer,
        _now: SimTime,
        enqueue: &mut dyn FnMut(WorkloadId),
    ) {
        match change.kind {
            ObjectKind::StatefulSet => enqueue(WorkloadId(change.id)),
            ObjectKind::Pod => {
                if let Some(o) = &api.store.pod(PodId(change.id)).pod.owner
                    && o.kind == OwnerKind::StatefulSet
                {
                    enqueue(o.id);
                }
            }
            _ => {}
        }
    }

    fn sync(
        &mut self,
        key: WorkloadId,
        api: &mut ApiServer,
        ctx: &mut Context<'_, Event>,
    ) -> SyncOutcome {
        let Some(obj) = api.objects::<StatefulSet>().get(key) else {
            return SyncOutcome::Done;
        };
        if obj.deleted {
            return match Self::collect_claims(api, ctx, key) {
                Ok(()) => SyncOutcome::Done,
                Err(_) => SyncOutcome::Failed,
            };
        }
        match self.sync_set(key, api, ctx) {
            Ok(Some(d)) => SyncOutcome::RequeueAfter(d),
            Ok(None) => SyncOutcome::Done,
            Err(_) => SyncOutcome::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_known_values() {
        // The FNV-1a 32-bit test vectors of the reference implementation.
        assert_eq!(fnv1a_32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a_32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a_32(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn safe_encode_maps_bytes_onto_the_alphabet() {
        // upstream staging/src/k8s.io/apimachinery/pkg/util/rand/rand.go SafeEncodeString:
        // byte b becomes alphanums[b % 27], alphanums = "bcdfghjklmnpqrstvwxz2456789":
        // '0' is 48, 48 % 27 = 21 → '4'; '9' is 57, 57 % 27 = 3 → 'f'.
        assert_eq!(safe_encode_string("0"), "4");
        assert_eq!(safe_encode_string("09"), "4f");
    }

    #[test]
    fn revision_names_follow_the_template() {
        let set = StatefulSet::new(
            "web",
            "default",
            3,
            crate::api::LabelSelector::default(),
            crate::api::PodTemplate {
                pod: crate::api::Pod::default(),
            },
        );
        let mut other = set.clone();
        other.replicas = 5;
        assert_eq!(revision_name(&set), revision_name(&other));
        assert!(revision_name(&set).starts_with("web-"));
        other.template.pod.images = vec!["nginx:2".into()].into();
        assert_ne!(revision_name(&set), revision_name(&other));
    }
}
